import { describe, expect, it } from "vitest";
import { lrShape, lrTitle } from "./lrShape";

describe("the learning-rate chart's title", () => {
  it("says warms up, then decays only for a rate that rose and then fell", () => {
    expect(lrTitle([0.0001, 0.0002, 0.00015, 0.00005])).toBe("Learning rate (warms up, then decays)");
  });

  it("calls a 2-step run's flat rate constant, not a warm-up and decay", () => {
    expect(lrTitle([0.0002, 0.0002])).toBe("Learning rate (constant)");
    expect(lrTitle([0.0002])).toBe("Learning rate (constant)");
  });

  it("describes a rate still warming up, one holding at its peak, and one that only decays", () => {
    expect(lrShape([0.00001, 0.00002, 0.00003])).toBe("warms up");
    expect(lrShape([0.00001, 0.00003, 0.00003])).toBe("warms up, then holds");
    expect(lrShape([0.0003, 0.0002, 0.0001])).toBe("decays");
  });

  it("ignores gaps and has no shape to tell before the first value", () => {
    expect(lrShape([null, 0.0001, null, 0.0002, 0.0001])).toBe("warms up, then decays");
    expect(lrTitle([])).toBe("Learning rate");
    expect(lrTitle([null, undefined])).toBe("Learning rate");
  });
});
