// Alerts in plain language, read off the curves.
import { describe, expect, it } from "vitest";
import { alertsFor, chanceAccuracy, formatMetric, isDiverging, isMemorising, isNotLearning } from "./alerts";
import { applyEvent, emptyChart } from "./chart";
import { runEvents } from "./fixtures";
import type { RunEvent } from "./types";

const replay = (events: RunEvent[]) => events.reduce(applyEvent, emptyChart());

describe("alerts", () => {
  it("says the model is memorising when validation loss rises twice while training loss falls", () => {
    const m = replay(runEvents("r", 40, 10, (k) => [1, 0.8, 0.9, 1.1][k]));
    expect(isMemorising(m)).toBe(true);
    const alert = alertsFor(m).find((a) => a.id === "memorising");
    expect(alert?.message).toContain("starting to memorise");
    expect(alert?.message).toContain("best checkpoint so far (step 10) is kept");
    const ended = applyEvent(m, { run_id: "r", event: "finished", metrics: {}, steps: 40, best_step: 10, stopped_early: true });
    expect(alertsFor(ended).map((a) => a.id)).toEqual(["stopped_early"]);
  });

  it("stays quiet while validation loss falls, or rises only once", () => {
    expect(isMemorising(replay(runEvents("r", 40, 10)))).toBe(false);
    expect(isMemorising(replay(runEvents("r", 40, 10, (k) => [1, 0.8, 0.7, 0.9][k])))).toBe(false);
  });

  it("says the loss is exploding when it is not a number or has tripled", () => {
    const nan = replay([...runEvents("r", 4, 10), { run_id: "r", event: "step", step: 5, total_steps: 10, epoch: 1, loss: Number.NaN, lr: 1, grad_norm: 1, tokens_per_s: 1, elapsed: 1, eta: 1 }]);
    expect(isDiverging(nan)).toBe(true);
    // JSON has no NaN: the app sends a loss that is not a number as null.
    const nullLoss = replay([...runEvents("r", 4, 10), { run_id: "r", event: "step", step: 5, total_steps: 10, epoch: 1, loss: null, lr: 1, grad_norm: null, tokens_per_s: null, elapsed: null, eta: null }]);
    expect(isDiverging(nullLoss)).toBe(true);
    expect(nullLoss.trainLoss.at(-1)).toBeNull();
    expect(nullLoss.elapsed).toBe(4);
    expect(alertsFor(nan)[0].message).toContain("learning rate");
    const rising: RunEvent[] = Array.from({ length: 30 }, (_, i) => ({ run_id: "r", event: "step", step: i + 1, total_steps: 30, epoch: 1, loss: i < 5 ? 1 : 10, lr: 1, grad_norm: 1, tokens_per_s: 1, elapsed: 1, eta: 1 }));
    expect(isDiverging(replay(rising))).toBe(true);
    expect(isDiverging(replay(runEvents("r", 30, 10)))).toBe(false);
  });

  it("says the model is not learning when a whole epoch leaves the loss where it was", () => {
    const [started] = runEvents("r", 20, 100);
    const flat: RunEvent[] = Array.from({ length: 10 }, (_, i) => ({ run_id: "r", event: "step", step: i + 1, total_steps: 20, epoch: 1, loss: 0.69, lr: 1e-4, grad_norm: 1, tokens_per_s: 1, elapsed: 1, eta: 1 }));
    expect(isNotLearning(replay([started, ...flat]))).toBe(true);
    expect(isNotLearning(replay(runEvents("r", 20, 100)))).toBe(false);
  });

  it("says how a run ended, early stopping included, with the kept checkpoint and score", () => {
    const m = replay([...runEvents("r", 4, 2), { run_id: "r", event: "finished", metrics: { accuracy: 0.875 }, steps: 4, best_step: 2, stopped_early: true }]);
    const a = alertsFor(m).find((x) => x.id === "stopped_early");
    expect(a?.message).toContain("stopped early");
    expect(a?.message).toContain("step 2");
    expect(a?.message).toContain("87.5 %");
  });

  it("formats shares as percentages and other metrics plainly", () => {
    expect(formatMetric("accuracy", 0.5)).toBe("50.0 %");
    expect(formatMetric("perplexity", 12.3456)).toBe("12.3");
  });

  it("warns in plain words when a classifier finished at chance level, with the usual causes", () => {
    const run = replay(runEvents("r", 10, 5));
    const ended = applyEvent(run, { run_id: "r", event: "finished", metrics: { accuracy: 0.5 }, steps: 10, best_step: 5, stopped_early: false });
    const chance = alertsFor(ended, { labelCounts: { positive: 55, negative: 45 } }).find((a) => a.id === "chance");
    expect(chance?.tone).toBe("warning");
    expect(chance?.message).toContain('always guessing "positive"');
    expect(chance?.message).toContain("55.0 %");
    expect(chance?.message).toContain("too few epochs");
    expect(chance?.message).toContain("learning rate");
    expect(chance?.message).toContain("too little data");
    // A model that learned something, or a run whose label shares are unknown: no such warning.
    const good = applyEvent(run, { run_id: "r", event: "finished", metrics: { accuracy: 0.82 }, steps: 10, best_step: 5, stopped_early: false });
    expect(alertsFor(good, { labelCounts: { positive: 55, negative: 45 } }).map((a) => a.id)).not.toContain("chance");
    expect(alertsFor(ended).map((a) => a.id)).not.toContain("chance");
  });

  it("takes the most common label's share as chance", () => {
    expect(chanceAccuracy({ a: 1, b: 3 })).toEqual({ accuracy: 0.75, label: "b" });
    expect(chanceAccuracy({ a: 4 })).toBeNull();
    expect(chanceAccuracy(undefined)).toBeNull();
  });

  it("says which rows a generation run's perplexity is measured on", () => {
    const run = replay(runEvents("r", 4, 2));
    const m = { ...run, metricName: "perplexity" };
    const ended = applyEvent(m, { run_id: "r", event: "finished", metrics: { perplexity: 18.3 }, steps: 4, best_step: 2, stopped_early: false });
    const message = alertsFor(ended).find((a) => a.id === "finished")?.message ?? "";
    expect(message).toContain("Perplexity on the validation rows: 18.3");
    expect(message).toContain("test rows");
  });
});
