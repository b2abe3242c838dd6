import { describe, expect, it } from "vitest";
import { countsLine, factCounts, hasFacts, judgement, judgementKey } from "./facts";
import { compareReport, factReport } from "./fixtures";
import { verdictView } from "./questions";

describe("fact judgements", () => {
  it("counts the right answers per configuration from the app's judgement", () => {
    const counts = factCounts(factReport(), {});
    expect(counts.map((c) => [c.label, c.correct, c.total])).toEqual([
      ["base", 0, 2],
      ["base + documents", 1, 2],
    ]);
    expect(countsLine(counts)).toBe("base + documents 1 of 2 · base 0 of 2");
  });

  it("lets the expert overrule a judgement and the counts follow", () => {
    const r = factReport();
    const overrides = { [judgementKey(3, "base_rag")]: true };
    expect(judgement(3, r.questions[1].answers[1], overrides)).toBe(true);
    expect(factCounts(r, overrides).find((c) => c.configuration === "base_rag")?.correct).toBe(2);
  });

  it("says when nothing could be judged by facts", () => {
    expect(hasFacts(compareReport())).toBe(false);
    expect(hasFacts(factReport())).toBe(true);
    expect(factCounts(compareReport(), {}).every((c) => c.total === 0)).toBe(true);
  });

  it("writes a fact verdict's margin as a share of right answers, not token F1", () => {
    const v = verdictView(factReport());
    expect(v.margin).toBe("+50 % of answers with the right fact");
    expect(v.tooClose).toBe(false);
  });
});
