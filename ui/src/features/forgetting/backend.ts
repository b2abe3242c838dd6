// "Check what it forgot"'s door to the app: a generation run's base and fine-tuned model answer
// general questions and read a general text. An interface, so the panel is tested with a fake;
// `tauriForgettingBackend` is the real one.

import { commands, type ForgettingReport, type ProbeAnswer } from "../../bindings";
import { unwrap } from "../../shared/api";

export type { ForgettingReport, ProbeAnswer };

/** What the panel needs from the app. */
export interface ForgettingBackend {
  /** Checks what run `run` forgot, with the questions in `probes` (a JSONL or CSV file) or the built-in set. */
  check(run: string, probes: string | null): Promise<ForgettingReport>;
  /** The run's latest check as its history keeps it (after training, or an earlier click), if any. */
  recorded(run: string): Promise<ForgettingReport | null>;
}

/** The real app. */
export const tauriForgettingBackend: ForgettingBackend = {
  check: (run, probes) => unwrap(commands.forgettingCheck(run, probes)),
  recorded: (run) => unwrap(commands.runsShow(run)).then((d) => d.forgetting ?? null),
};

/** The perplexity change in words: "12.10 → 13.05 (+7.9 %)". */
export function perplexityChange(before: number | null, after: number | null): string {
  const f = (x: number | null) => (x === null || !Number.isFinite(x) ? "not a number" : x.toFixed(2));
  if (before === null || after === null || !Number.isFinite(before) || !Number.isFinite(after) || before <= 0) {
    return `${f(before)} → ${f(after)}`;
  }
  const pct = (after / before - 1) * 100;
  // One decimal, so a small change does not read as none ("+0 %").
  return `${f(before)} → ${f(after)} (${pct >= 0 ? "+" : "−"}${Math.abs(pct).toFixed(1)} %)`;
}
