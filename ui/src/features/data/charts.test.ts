import { describe, expect, it } from "vitest";
import { formatShare, labelBars, splitParts } from "./charts";

describe("label bars", () => {
  it("sorts labels by count and scales bars to the largest", () => {
    const bars = labelBars({ spam: 25, ham: 75, eggs: 0 });
    expect(bars.map((b) => b.label)).toEqual(["ham", "spam", "eggs"]);
    expect(bars[0]).toEqual({ label: "ham", count: 75, share: 0.75, width: 100 });
    expect(bars[1].width).toBe(33);
    expect(bars[2].width).toBe(1);
  });

  it("draws nothing for a report without labels", () => {
    expect(labelBars({})).toEqual([]);
  });

  it("writes shares as readable percentages", () => {
    expect(formatShare(0.75)).toBe("75 %");
    expect(formatShare(0.004)).toBe("0.4 %");
    expect(formatShare(0.0001)).toBe("< 0.1 %");
    expect(formatShare(0)).toBe("0 %");
  });
});

describe("split parts", () => {
  it("gives each part its rows and share", () => {
    const parts = splitParts({ train: 80, validation: 10, test: 10, seed: 42, stratified: true, groups: 0, small_classes: [] });
    expect(parts).toEqual([
      { name: "Training", rows: 80, share: 0.8 },
      { name: "Validation", rows: 10, share: 0.1 },
      { name: "Test", rows: 10, share: 0.1 },
    ]);
  });
});
