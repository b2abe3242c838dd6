import { describe, expect, it } from "vitest";
import { applyEvent, emptyChart } from "./chart";
import { preparationView } from "./preparing";

describe("the preparation before the first step", () => {
  it("says what the method's preparation does before the app reports a stage", () => {
    expect(preparationView(emptyChart(), "features").what).toContain("through the frozen model");
    expect(preparationView(emptyChart(), "lora").fraction).toBeNull();
  });

  it("follows the app's preparing events, with a fraction where the stage counts, and keeps no empty run id", () => {
    let c = applyEvent({ ...emptyChart(), runId: "run-1" }, {
      run_id: "",
      event: "preparing",
      stage: "tokenising",
      done: null,
      total: null,
      elapsed: 2,
    });
    expect(c.runId).toBe("run-1");
    expect(preparationView(c, "features")).toEqual({ what: "tokenising the examples", fraction: null, count: null });
    c = applyEvent(c, { run_id: "", event: "preparing", stage: "caching_features", done: 100, total: 400, elapsed: 9 });
    expect(preparationView(c, "features")).toEqual({
      what: "reading each example once through the frozen model",
      fraction: 0.25,
      count: "100 of 400 examples",
    });
    c = applyEvent(c, {
      run_id: "run-2",
      event: "started",
      total_steps: 10,
      epochs: 1,
      steps_per_epoch: 10,
      train_examples: 320,
      val_examples: 80,
      trainable_params: 3,
      resumed_from: null,
    });
    expect(c.preparing).toBeNull();
    expect(c.runId).toBe("run-2");
  });
});
