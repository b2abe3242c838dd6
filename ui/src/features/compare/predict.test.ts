import { describe, expect, it } from "vitest";
import { prediction } from "./fixtures";
import { predictionBars, predictTextProblem } from "./predict";

describe("prediction bars", () => {
  it("shows every label, most likely first, with its share as text and width", () => {
    const p = prediction();
    p.probabilities.reverse();
    const bars = predictionBars(p);
    expect(bars.map((b) => [b.label, b.text, b.width, b.top])).toEqual([
      ["billing", "87.3 %", 87.3, true],
      ["technical", "10.0 %", 10, false],
      ["other", "2.7 %", 2.7, false],
    ]);
  });

  it("keeps bar widths inside the track whatever arrives", () => {
    const p = prediction();
    p.probabilities = [
      { label: "a", probability: 1.2 },
      { label: "b", probability: Number.NaN },
      { label: "c", probability: null },
    ];
    expect(predictionBars(p).map((b) => b.width)).toEqual([100, 0, 0]);
    expect(predictionBars(p)[2].text).toBe("–");
  });

  it("asks for a text before classifying", () => {
    expect(predictTextProblem("  ")).toMatch(/Type a text/);
    expect(predictTextProblem("hello")).toBeNull();
  });
});
