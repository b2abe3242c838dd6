import { describe, expect, it } from "vitest";
import { compareReport } from "./fixtures";
import {
  applyCompareProgress,
  compareFraction,
  configurationsFor,
  initialProgress,
  overallProgressText,
  scoreRows,
  verdictView,
} from "./questions";

describe("a question-set comparison", () => {
  it("answers with the configurations the app will run, in its order of work", () => {
    expect(configurationsFor(false, false)).toEqual(["base"]);
    expect(configurationsFor(true, false)).toEqual(["base", "fine_tuned"]);
    expect(configurationsFor(true, true)).toEqual(["base", "base_rag", "fine_tuned", "fine_tuned_rag"]);
  });

  it("counts answers over every configuration for its progress", () => {
    let p = initialProgress(2);
    expect(compareFraction(p)).toBeNull();
    p = applyCompareProgress(p, { event: "loading", configuration: "base" });
    expect(p.text).toBe("Loading the base model…");
    p = applyCompareProgress(p, { event: "answered", configuration: "base", question: 1, of: 4, answered: 1, total: 8 });
    p = applyCompareProgress(p, { event: "answered", configuration: "base", question: 2, of: 4, answered: 2, total: 8 });
    expect(compareFraction(p)).toBe(0.25);
    p = applyCompareProgress(p, { event: "answered", configuration: "fine_tuned_rag", question: 3, of: 4, answered: 7, total: 8 });
    expect(p.text).toBe("Fine-tuned + documents: question 3 of 4 answered.");
  });

  it("marks the best value of each metric, lower latency being better", () => {
    const rows = scoreRows(compareReport());
    expect(rows.map((r) => r.configuration)).toEqual(["base", "fine_tuned", "base_rag", "fine_tuned_rag"]);
    const best = (key: string) => rows.filter((r) => r.cells.find((c) => c.key === key)?.best).map((r) => r.configuration);
    expect(best("token_f1")).toEqual(["base_rag"]);
    expect(best("bleu")).toEqual(["base_rag"]);
    expect(best("mean_latency_s")).toEqual(["base"]);
    // Answer length is neither better nor worse.
    expect(best("mean_answer_tokens")).toEqual([]);
    expect(rows.find((r) => r.winner)?.configuration).toBe("base_rag");
    const f1 = rows[2].cells.find((c) => c.key === "token_f1");
    expect(f1?.text).toBe("0.51");
  });

  it("shows a score the app could not compute as a dash, never as the best", () => {
    const report = compareReport();
    report.configurations[2] = { ...report.configurations[2], token_f1: null };
    const rows = scoreRows(report);
    const f1 = (i: number) => rows[i].cells.find((c) => c.key === "token_f1");
    expect(f1(2)).toEqual({ key: "token_f1", text: "–", best: false });
    expect(f1(1)?.best).toBe(true);
  });

  it("marks nothing when every configuration scored the same", () => {
    const report = compareReport();
    report.configurations = report.configurations.map((c) => ({ ...c, token_f1: 0.4 }));
    const rows = scoreRows(report);
    expect(rows.some((r) => r.cells.find((c) => c.key === "token_f1")?.best)).toBe(false);
  });

  it("shows the verdict sentence with its winner, runner-up and margin", () => {
    const v = verdictView(compareReport());
    expect(v).toEqual({
      sentence: "Your documents are enough: base + documents beats fine-tuned by 0.21 token F1 over 10 questions.",
      winner: "base + documents",
      runnerUp: "fine-tuned",
      margin: "+0.21 token F1",
      tooClose: false,
      basis: "over 1 question",
    });
  });

  it("says when the lead is too small to call, and has no margin for a single configuration", () => {
    const close = compareReport();
    close.verdict = { ...close.verdict, margin: 0.002, text: "Too close to call: …" };
    expect(verdictView(close).tooClose).toBe(true);
    close.verdict = { ...close.verdict, margin: null };
    expect([verdictView(close).margin, verdictView(close).tooClose]).toEqual([null, false]);
    const single = compareReport();
    single.configurations = single.configurations.slice(0, 1);
    single.verdict = { text: "Only base was evaluated …", metric: "token_f1", winner: "base", runner_up: null, margin: 0, details: "Only base was evaluated …" };
    const v = verdictView(single);
    expect([v.margin, v.winner, v.tooClose]).toEqual([null, null, false]);
    expect(scoreRows(single)[0].winner).toBe(false);
  });

  it("takes the number of answers from the app, so a quick check's progress is right", () => {
    let p = initialProgress(4, 0);
    p = applyCompareProgress(p, { event: "answered", configuration: "base", question: 1, of: 5, answered: 1, total: 10 }, 10_000);
    expect(overallProgressText(p)).toBe("1 of 10 answers · about 2 min left");
    expect(compareFraction(p)).toBe(0.1);
  });

  it("says the overall progress as answers of all answers, with the time left", () => {
    let p = initialProgress(4, 0);
    expect(overallProgressText(p)).toBe("Starting…");
    p = applyCompareProgress(p, { event: "loading", configuration: "base" }, 5_000);
    p = applyCompareProgress(p, { event: "answered", configuration: "base", question: 1, of: 10, answered: 1, total: 40 }, 15_000);
    p = applyCompareProgress(p, { event: "answered", configuration: "base", question: 2, of: 10, answered: 2, total: 40 }, 30_000);
    // 2 of 40 in 30 s: 15 s an answer, 38 to go, about 10 min.
    expect(overallProgressText(p)).toBe("2 of 40 answers · about 10 min left");
  });
});
