// How the Chat & Compare screen writes numbers and states for people: durations, speeds, scores,
// why an answer ended, where a passage comes from. Pure, so every wording is unit-tested.

import type { ChatAnswer, StopReason } from "./types";

/** Whether `v` is a usable number (the app sends `null` for a value it could not compute). */
export function isNumber(v: number | null | undefined): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** A duration: "0.84 s", "12.3 s", "2 min 05 s"; a dash when unknown. */
export function formatSeconds(seconds: number | null): string {
  if (!isNumber(seconds) || seconds < 0) return "–";
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  const rest = whole % 60;
  return `${minutes} min ${String(rest).padStart(2, "0")} s`;
}

/** A generation speed: "23.4 tokens/s"; a dash when nothing was generated. */
export function formatRate(tokensPerSecond: number | null): string {
  if (!isNumber(tokensPerSecond) || tokensPerSecond <= 0) return "–";
  const digits = tokensPerSecond < 10 ? 2 : 1;
  return `${tokensPerSecond.toFixed(digits)} tokens/s`;
}

/** A score between 0 and 1, as the verdict writes it: "0.53". */
export function formatScore(value: number | null): string {
  return isNumber(value) ? value.toFixed(2) : "–";
}

/** A BLEU score (0-100): "27.4". */
export function formatBleu(value: number | null): string {
  return isNumber(value) ? value.toFixed(1) : "–";
}

/** A count with its noun: "1 token", "12 tokens". */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}

/** A probability as a percentage: "87.3 %"; under 0.1 % reads "< 0.1 %". */
export function formatPercent(probability: number | null): string {
  if (!isNumber(probability)) return "–";
  const pct = probability * 100;
  if (pct > 0 && pct < 0.1) return "< 0.1 %";
  return `${pct.toFixed(1)} %`;
}

/** Why an answer ended, in words; `null` when it ended the ordinary way (an end token). */
export function describeStop(stop: StopReason, maxTokens: number | null): string | null {
  switch (stop.reason) {
    case "stop_token":
      return null;
    case "max_tokens":
      return maxTokens === null
        ? "Cut at the answer length limit; raise the limit for longer answers."
        : `Cut at the answer length limit (${plural(maxTokens, "token")}); raise it for longer answers.`;
    case "context_full":
      return "Cut because the model's context is full: ask a shorter question, or use fewer passages.";
    case "cancelled":
      return "Stopped: the answer is what was written before Stop.";
  }
}

/** The timing line under an answer: "42 tokens · 1.84 s · 22.8 tokens/s". */
export function answerStats(answer: ChatAnswer): string {
  const parts = [answer.prompt_seconds, answer.generation_seconds].filter(isNumber);
  const seconds = parts.length > 0 ? parts.reduce((a, b) => a + b, 0) : null;
  return [plural(answer.tokens, "token"), formatSeconds(seconds), formatRate(answer.tokens_per_s)].join(
    " · ",
  );
}

/** A path's last part, for compact source names: "/docs/clinic-hours.md" -> "clinic-hours.md". */
export function fileName(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p !== "");
  return parts.length > 0 ? parts[parts.length - 1] : path;
}

/** A size in bytes for people: "950 B", "12.4 kB", "51.2 MB". */
export function formatBytes(bytes: number | null): string {
  if (!isNumber(bytes) || bytes < 0) return "–";
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}
