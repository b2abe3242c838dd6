import { describe, expect, it } from "vitest";
import type { Curve } from "../../bindings";
import { align, runCharts } from "./curves";

const trainLoss: Curve = { name: "loss", split: "train", steps: [1, 2, 3, 4], values: [1.2, 1.0, null, 0.7] };
const valLoss: Curve = { name: "loss", split: "validation", steps: [2, 4], values: [1.1, 0.9] };
const valAcc: Curve = { name: "accuracy", split: "validation", steps: [2, 4], values: [0.5, 0.75] };
const lr: Curve = { name: "lr", split: "train", steps: [1, 2, 3, 4], values: [1e-4, 2e-4, 2e-4, 1e-4] };

describe("the run page's curves", () => {
  it("share one step axis, with gaps where a series was not measured", () => {
    const { data, labels } = align([trainLoss, valLoss]);
    expect(data[0]).toEqual([1, 2, 3, 4]);
    expect(data[1]).toEqual([1.2, 1.0, null, 0.7]);
    expect(data[2]).toEqual([null, 1.1, null, 0.9]);
    expect(labels).toEqual(["training", "validation"]);
  });

  it("become a loss chart, one chart per validation score, and the learning rate", () => {
    const charts = runCharts([trainLoss, lr, valLoss, valAcc]);
    expect(charts.map((c) => c.id)).toEqual(["loss", "validation-accuracy", "lr"]);
    // Named as the Train screen names it ("Accuracy", "Macro F1"), not by its key.
    expect(charts[1].title).toBe("Accuracy on the validation rows (higher is better)");
  });

  it("chart the right facts of a generation run, not the count of questions checked", () => {
    const facts: Curve = { name: "fact_recall", split: "validation", steps: [0, 2], values: [0, 0.5] };
    const total: Curve = { name: "fact_recall_total", split: "validation", steps: [0, 2], values: [2, 2] };
    const charts = runCharts([trainLoss, facts, total]);
    expect(charts.map((c) => c.id)).toEqual(["loss", "validation-fact_recall"]);
    expect(charts[1].title).toBe("Right facts in the answers on the validation rows (higher is better)");
    expect(charts[1].yLabel).toBe("fact recall");
  });

  it("draw no chart of a score measured once (a single dot is not a curve)", () => {
    const once: Curve = { name: "fact_recall_base", split: "validation", steps: [2], values: [0] };
    expect(runCharts([trainLoss, once]).map((c) => c.id)).toEqual(["loss"]);
  });

  it("are none for a run that recorded nothing", () => {
    expect(runCharts([])).toEqual([]);
  });
});
