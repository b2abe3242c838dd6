import { describe, expect, it } from "vitest";
import { deltaText, flattenConfig, formatDuration, formatMetric, formatNamedMetric, formatValue, formatWhen, statusLabel } from "./format";

describe("history formatting", () => {
  it("writes durations in the largest sensible units", () => {
    expect(formatDuration(45_000)).toBe("45 s");
    expect(formatDuration(725_000)).toBe("12 min 5 s");
    expect(formatDuration(600_000)).toBe("10 min");
    expect(formatDuration(7_380_000)).toBe("2 h 3 min");
    expect(formatDuration(null)).toBe("—");
  });

  it("writes metric values with four significant digits", () => {
    expect(formatMetric(0.912345)).toBe("0.9123");
    expect(formatMetric(2.5)).toBe("2.5");
    expect(formatMetric(0.00002)).toBe("2.00e-5");
    expect(formatMetric(null)).toBe("—");
  });

  it("compares two metric values with a signed difference", () => {
    expect(deltaText(0.8, 0.85)).toBe("+0.05");
    expect(deltaText(0.85, 0.8)).toBe("−0.05");
    expect(deltaText(1, 1)).toBe("same");
    expect(deltaText(null, 1)).toBe("");
  });

  it("flattens a config into sorted dotted keys", () => {
    expect(flattenConfig({ optimizer: { lr: 0.0002, betas: [0.9, 0.999] }, method: "lora", extra: {} })).toEqual([
      { key: "extra", value: "{}" },
      { key: "method", value: "lora" },
      { key: "optimizer.betas[0]", value: "0.9" },
      { key: "optimizer.betas[1]", value: "0.999" },
      { key: "optimizer.lr", value: "0.0002" },
    ]);
    expect(formatValue(true)).toBe("true");
  });

  it("names statuses and dates for people", () => {
    expect(statusLabel("interrupted")).toBe("Interrupted");
    expect(formatWhen(null)).toBe("—");
    expect(formatWhen(Date.UTC(2026, 10, 28, 12, 0))).toMatch(/28 Nov 2026/);
  });
});

describe("run page values", () => {
  it("keeps only the top-level numbers of an evaluation", async () => {
    const { scalarMetrics } = await import("./format");
    expect(scalarMetrics({ accuracy: 0.9, macro_f1: 0.88, per_class: { a: 1 }, confusion: [[1]] })).toEqual([
      { name: "accuracy", key: "accuracy", value: 0.9 },
      { name: "macro f1", key: "macro_f1", value: 0.88 },
    ]);
    expect(scalarMetrics(null)).toEqual([]);
  });

  it("names evaluated models and artefacts in words", async () => {
    const { artefactLabel, evalModelLabel } = await import("./format");
    expect(evalModelLabel("fine_tuned_rag")).toBe("Fine-tuned + documents");
    expect(artefactLabel("best_checkpoint")).toBe("Best checkpoint");
  });
});

describe("formatNamedMetric", () => {
  it("shows shares of the rows as percentages, like the Evaluate screen", () => {
    expect(formatNamedMetric("accuracy", 1 / 3)).toBe("33.3 %");
    expect(formatNamedMetric("macro_f1", 0.5)).toBe("50.0 %");
  });

  it("leaves losses and perplexities as numbers", () => {
    expect(formatNamedMetric("loss", 1.0986)).toBe("1.099");
    expect(formatNamedMetric("perplexity", 12.5)).toBe("12.5");
  });
});

describe("formatDuration of a run shorter than a second", () => {
  it("says under a second rather than 0 s", () => {
    expect(formatDuration(400)).toBe("under 1 s");
  });
});
