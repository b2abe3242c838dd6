import { describe, expect, it } from "vitest";
import { adoptSchedule, formatRate, scheduleFacts, type SchedulePlan } from "./schedule";
import { initialForm } from "./settings";

function plan(overrides: Partial<SchedulePlan> = {}): SchedulePlan {
  return {
    train_rows: 24,
    epochs: 25,
    batch_size: 4,
    steps_per_epoch: 6,
    total_steps: 150,
    lr: 5e-4,
    warmup_ratio: 0.1,
    weight_decay: 0.01,
    lora_rank: 16,
    lora_alpha: 32,
    lora_targets: "all-linear",
    loss_on_answers_only: true,
    min_steps: 75,
    patience: 3,
    reason:
      "24 training rows: 25 epochs, 150 steps (batch 4), learning rate 5e-4, LoRA rank 16 on every linear layer, because small sets need many passes to learn their facts; early stopping on validation loss, not before step 75.",
    ...overrides,
  };
}

describe("the schedule chosen from the data", () => {
  it("reads as short facts", () => {
    expect(scheduleFacts(plan())).toEqual([
      "25 epochs",
      "150 steps (batch 4)",
      "learning rate 5e-4",
      "LoRA rank 16 on every linear layer",
      "learns the answers only",
      "early stopping not before step 75",
    ]);
    expect(scheduleFacts(plan({ epochs: 1, lora_rank: null, loss_on_answers_only: false, min_steps: 0 }))).toEqual([
      "1 epoch",
      "150 steps (batch 4)",
      "learning rate 5e-4",
    ]);
    expect(formatRate(2.5e-5)).toBe("2.5e-5");
    expect(formatRate(null)).toBe("—");
  });

  it("fills the Balanced form with the plan's numbers once, then leaves it alone", () => {
    const params = initialForm().params;
    const next = adoptSchedule(params, plan());
    expect(next).toMatchObject({ epochs: 25, lr: 5e-4, batch: 4, lora_rank: 16, lora_alpha: 32 });
    expect(next && adoptSchedule(next, plan())).toBeNull();
    // A method without adapters keeps the form's LoRA fields as they were.
    const full = adoptSchedule(params, plan({ lora_rank: null, lora_alpha: null }));
    expect(full?.lora_rank).toBe(params.lora_rank);
  });
});
