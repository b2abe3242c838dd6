// The form's defaults are the engine's, read from the generated TRAIN_DEFAULTS (these numbers are
// the engine's table: crates/engine/src/train/defaults.rs tests the same).
import { describe, expect, it } from "vitest";
import { DEFAULT_BATCH, WARMUP_RATIO, WEIGHT_DECAY, defaultEpochs, defaultLr, defaultMaxLen, trainingRows } from "./defaults";

describe("defaults", () => {
  it("learning rates follow the method as in the engine", () => {
    expect(defaultLr("full")).toBe(2e-5);
    expect(defaultLr("lora")).toBe(2e-4);
    expect(defaultLr("qlora")).toBe(2e-4);
    expect(defaultLr("features")).toBe(1e-3);
    expect([DEFAULT_BATCH, WEIGHT_DECAY, WARMUP_RATIO]).toEqual([16, 0.01, 0.1]);
  });

  it("epochs fall as the data grows, at the engine's boundaries, and a head gets four times as many", () => {
    expect([500, 501, 2_000, 2_001, 10_000, 10_001].map((n) => defaultEpochs("lora", n))).toEqual([10, 5, 5, 3, 3, 2]);
    expect(defaultEpochs("features", 100)).toBe(40);
  });

  it("the maximum length defaults to 128 for classification and 256 for generation", () => {
    expect(defaultMaxLen("classify")).toBe(128);
    expect(defaultMaxLen("generate")).toBe(256);
  });

  it("training rows leave out the validation and test shares", () => {
    expect(trainingRows(1000, 0.1, 0.1)).toBe(800);
    expect(trainingRows(10, 0.6, 0.6)).toBe(0);
  });
});
