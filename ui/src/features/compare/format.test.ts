import { describe, expect, it } from "vitest";
import { chatAnswer } from "./fixtures";
import {
  answerStats,
  describeStop,
  fileName,
  formatBleu,
  formatBytes,
  formatPercent,
  formatRate,
  formatScore,
  formatSeconds,
  plural,
} from "./format";

describe("format", () => {
  it("writes durations for people", () => {
    expect(formatSeconds(0.842)).toBe("0.84 s");
    expect(formatSeconds(12.34)).toBe("12.3 s");
    expect(formatSeconds(125)).toBe("2 min 05 s");
    expect(formatSeconds(Number.NaN)).toBe("–");
    // The app sends null for a number it could not compute.
    expect(formatSeconds(null)).toBe("–");
  });

  it("writes speeds, and a dash when nothing was generated", () => {
    expect(formatRate(22.84)).toBe("22.8 tokens/s");
    expect(formatRate(3.456)).toBe("3.46 tokens/s");
    expect(formatRate(0)).toBe("–");
    expect(formatRate(null)).toBe("–");
  });

  it("writes scores as the verdict does", () => {
    expect(formatScore(0.5123)).toBe("0.51");
    expect(formatBleu(27.44)).toBe("27.4");
    expect(formatPercent(0.8734)).toBe("87.3 %");
    expect(formatPercent(0.0004)).toBe("< 0.1 %");
    expect(formatPercent(0)).toBe("0.0 %");
  });

  it("counts with the right noun", () => {
    expect(plural(1, "token")).toBe("1 token");
    expect(plural(3, "passage")).toBe("3 passages");
  });

  it("sums up an answer's length, time and speed", () => {
    expect(answerStats(chatAnswer())).toBe("8 tokens · 0.50 s · 20.0 tokens/s");
    expect(answerStats(chatAnswer({ prompt_seconds: null, tokens_per_s: null }))).toBe("8 tokens · 0.40 s · –");
    expect(answerStats(chatAnswer({ prompt_seconds: null, generation_seconds: null }))).toBe(
      "8 tokens · – · 20.0 tokens/s",
    );
  });

  it("says why an answer ended only when it was not the ordinary end", () => {
    expect(describeStop({ reason: "stop_token", token: 2 }, 256)).toBeNull();
    expect(describeStop({ reason: "max_tokens" }, 256)).toMatch(/256 tokens/);
    expect(describeStop({ reason: "context_full" }, null)).toMatch(/context is full/);
    expect(describeStop({ reason: "cancelled" }, null)).toMatch(/Stop/);
  });

  it("names files by their last part on any platform", () => {
    expect(fileName("/docs/clinic-hours.md")).toBe("clinic-hours.md");
    expect(fileName("C:\\Users\\ada\\notes.txt")).toBe("notes.txt");
    expect(fileName("/docs/")).toBe("docs");
  });

  it("writes sizes", () => {
    expect(formatBytes(950)).toBe("950 B");
    expect(formatBytes(52_428_800)).toBe("52.4 MB");
  });
});
