// The live curves are built from the event stream only.
import { describe, expect, it } from "vitest";
import { applyEvent, currentStep, emptyChart, lossPoints, lossSeries, lrSeries, metricSeries, pickMetric, progress, recentTokensPerSecond } from "./chart";
import { runEvents } from "./fixtures";
import type { RunEvent } from "./types";

const replay = (events: RunEvent[], from = emptyChart()) => events.reduce(applyEvent, from);

describe("chart model", () => {
  it("adds a training point per step and a validation point per evaluation", () => {
    const m = replay(runEvents("r1", 10, 5));
    expect(m.runId).toBe("r1");
    expect(m.steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(m.evals.map((e) => e.step)).toEqual([5, 10]);
    expect(m.metricName).toBe("accuracy");
    expect(lossPoints(m)).toBe(12);
    expect(currentStep(m)).toBe(10);
    expect(progress(m)).toBe(1);
    expect(m.bestStep).toBe(5);
  });

  it("puts training and validation loss on one shared step axis with gaps", () => {
    const m = replay(runEvents("r1", 4, 2));
    const [x, train, val] = lossSeries(m);
    expect(x).toEqual([1, 2, 3, 4]);
    expect(train).toEqual([2, 1, 2 / 3, 0.5]);
    expect(val).toEqual([null, 1, null, 0.5]);
    expect(metricSeries(m)).toEqual([[2, 4], [0.5, 0.51]]);
    expect(lrSeries(m)[1]).toHaveLength(4);
  });

  it("places a base evaluation at step 0 before the first step (generation runs)", () => {
    const [started, ...rest] = runEvents("g", 2, 2);
    const base: RunEvent = { run_id: "g", event: "eval", step: 0, metrics: { loss: 3, perplexity: 20 }, best: false };
    const m = replay([started, base, ...rest]);
    expect(m.metricName).toBe("perplexity");
    expect(lossSeries(m)[0]).toEqual([0, 1, 2]);
    expect(m.evals[0]).toMatchObject({ step: 0, metric: 20 });
  });

  it("drops the points after the checkpoint a resumed run continues from", () => {
    const first = replay(runEvents("r1", 10, 5));
    const resumed = applyEvent(first, { run_id: "r1", event: "started", total_steps: 10, epochs: 2, steps_per_epoch: 5, train_examples: 80, val_examples: 10, trainable_params: 1000, resumed_from: 6 });
    expect(resumed.steps).toEqual([1, 2, 3, 4, 5, 6]);
    expect(resumed.evals.map((e) => e.step)).toEqual([5]);
    expect(resumed.resumedFrom).toBe(6);
    const next = applyEvent(resumed, { run_id: "r1", event: "step", step: 7, total_steps: 10, epoch: 2, loss: 0.1, lr: 1e-4, grad_norm: 1, tokens_per_s: 900, elapsed: 7, eta: 3 });
    expect(next.steps.at(-1)).toBe(7);
  });

  it("replaces repeated steps instead of drawing the curve back over itself", () => {
    const m = replay(runEvents("r1", 4, 10));
    const again = applyEvent(m, { run_id: "r1", event: "step", step: 3, total_steps: 4, epoch: 2, loss: 9, lr: 1e-4, grad_norm: 1, tokens_per_s: 1, elapsed: 3, eta: 1 });
    expect(again.steps).toEqual([1, 2, 3]);
    expect(again.trainLoss.at(-1)).toBe(9);
  });

  it("records how the run ended", () => {
    const m = replay(runEvents("r1", 2, 2));
    expect(applyEvent(m, { run_id: "r1", event: "finished", metrics: { accuracy: 0.9 }, steps: 2, best_step: 2, stopped_early: false }).finished?.bestStep).toBe(2);
    expect(applyEvent(m, { run_id: "r1", event: "cancelled", step: 2 }).cancelledAt).toBe(2);
    expect(applyEvent(m, { run_id: "r1", event: "failed", error: "out of memory" }).failed).toBe("out of memory");
    expect(applyEvent(m, { run_id: "r1", event: "checkpoint", step: 2, path: "/c" }).lastCheckpoint).toBe(2);
  });

  it("averages the speed over recent steps and prefers accuracy as the metric", () => {
    expect(recentTokensPerSecond(replay(runEvents("r1", 4, 10)))).toBe(1000);
    expect(recentTokensPerSecond(emptyChart())).toBeNull();
    expect(pickMetric({ loss: 1, macro_f1: 0.5, accuracy: 0.6 })).toBe("accuracy");
    expect(pickMetric({ loss: 1 })).toBeNull();
  });
});
