// What the Evaluate screen computes from an evaluation.
import { describe, expect, it } from "vitest";
import { applyEvent, emptyChart } from "../train/chart";
import { classification, evalReport, runDetails, runSummary } from "../train/fixtures";
import { baselineSentence, generationScores, headline, heatMap, metricRows, runLabel } from "./evaluation";

describe("evaluation", () => {
  it("lists each metric base against fine-tuned with its meaning and whether it improved", () => {
    const rows = metricRows(evalReport());
    expect(rows.map((r) => r.key)).toEqual(["accuracy", "macro_f1", "macro_precision", "macro_recall", "loss"]);
    const acc = rows[0];
    expect([acc.format(acc.base), acc.format(acc.fineTuned), acc.change]).toEqual(["60.0 %", "85.0 %", "better"]);
    expect(rows.find((r) => r.key === "loss")?.change).toBe("better"); // the loss fell
    expect(rows.every((r) => r.meaning.length > 20)).toBe(true);
  });

  it("cannot tell a change when a value is not a number", () => {
    const report = evalReport();
    report.fine_tuned = { ...report.fine_tuned, loss: null, macro_f1: null };
    const loss = metricRows(report).find((r) => r.key === "loss");
    expect([loss?.change, loss?.format(loss.fineTuned ?? null)]).toEqual(["unknown", "n/a"]);
    expect(headline(report)).toContain("could not be computed");
  });

  it("says in one sentence whether fine-tuning helped", () => {
    expect(headline(evalReport())).toContain("helped");
    const worse = evalReport();
    worse.fine_tuned = { ...worse.fine_tuned, macro_f1: 0.2 };
    expect(headline(worse)).toContain("worse");
  });

  it("shades each confusion cell by its share of the true label's rows", () => {
    const cells = heatMap([
      [8, 2],
      [0, 0],
    ]);
    expect(cells[0][0]).toEqual({ count: 8, share: 0.8, correct: true });
    expect(cells[0][1]).toMatchObject({ share: 0.2, correct: false });
    expect(cells[1][1].share).toBe(0);
  });

  it("takes a generation run's perplexities from its recorded evaluations when there are any", () => {
    const details = runDetails("g", "generate", [
      { model: "base", split: "test", rows: 5, metrics: { perplexity: 30 } },
      { model: "fine_tuned", split: "test", rows: 5, metrics: { perplexity: 12 } },
    ]);
    expect(generationScores(runSummary("g", { task: "generate" }), details, null)).toMatchObject({ base: 30, fineTuned: 12 });
  });

  it("otherwise uses the best validation perplexity and the base measured at step 0 in this session", () => {
    const run = runSummary("g", { task: "generate", best_metric: { name: "perplexity", split: "validation", value: 9.5 } });
    const chart = applyEvent(emptyChart(), { run_id: "g", event: "eval", step: 0, metrics: { loss: 3, perplexity: 21 }, best: false });
    expect(generationScores(run, runDetails("g", "generate"), chart)).toMatchObject({ base: 21, fineTuned: 9.5 });
    expect(generationScores(run, null, null).base).toBeNull();
  });

  it("leads with the honest baselines in plain words", () => {
    const r = evalReport();
    expect(headline(r)).toMatch(/^Your model 85\.0 %, a simple word-count model 78\.0 %, always guessing “pos” 55\.0 %\./);
    expect(headline(r)).toContain("beats the word-count model by 7.0 points");
    const atChance = { ...r, fine_tuned: classification(0.56) };
    expect(baselineSentence(atChance.fine_tuned, r.baselines)).toContain("no better than always guessing");
    const beaten = { ...r, fine_tuned: classification(0.7) };
    expect(baselineSentence(beaten.fine_tuned, r.baselines)).toContain("The word-count model does better");
  });

  it("does not call feature extraction's identical base a lack of difference", () => {
    const r = { ...evalReport(), base: { ...classification(0.85), note: "same" } };
    const sentence = headline(r, "features");
    expect(sentence).not.toContain("made no difference");
    expect(sentence).toContain("same by construction");
    expect(sentence).toContain("word-count model 78.0 %");
  });

  it("names a run in the picker with its method and status in words and the one date format", () => {
    const label = runLabel(runSummary("run-7", { method: "features", started_at: Date.UTC(2026, 11, 4, 17, 5) }));
    expect(label).toContain("Feature extraction · Finished · ");
    expect(label).toMatch(/4 Dec 2026/);
  });
});
