import { describe, expect, it } from "vitest";
import { importedSummary } from "./summary";

describe("the imported run's sentence", () => {
  it("names the run, what came back, the processes and the validation score", () => {
    const s = importedSummary({
      run_id: "r1",
      dir: "/h/runs/r1",
      kind: "adapter",
      steps: 20,
      loss_points: 20,
      metrics: { loss: 1.5, perplexity: 4.4817 },
      world_size: 2,
    });
    expect(s).toBe("Run r1 is back: a LoRA adapter trained for 20 steps on 2 processes; validation perplexity 4.482. It is in the table below.");
  });

  it("shows accuracy as a percentage and leaves out what the trainer did not say", () => {
    const s = importedSummary({ run_id: "r2", dir: "/d", kind: "full", steps: 3, loss_points: 3, metrics: { accuracy: 0.75 } });
    expect(s).toBe("Run r2 is back: a whole fine-tuned model trained for 3 steps; validation accuracy 75.0 %. It is in the table below.");
  });
});
