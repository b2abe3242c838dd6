import { flushSync, mount, unmount } from "svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { SchedulePlan as Plan } from "./schedule";
import { initialForm, type Hyperparameters } from "./settings";
import SchedulePlan from "./SchedulePlan.svelte";

let shown: ReturnType<typeof mount> | undefined;
afterEach(() => {
  if (shown) unmount(shown);
  shown = undefined;
  document.body.innerHTML = "";
});

const plan: Plan = {
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
  reason: "24 training rows: 25 epochs, 150 steps (batch 4), learning rate 5e-4, because small sets need many passes to learn their facts.",
};

describe("SchedulePlan", () => {
  it("shows the chosen schedule with its reason and gives its numbers to the Balanced form", () => {
    const adopted: Hyperparameters[] = [];
    shown = mount(SchedulePlan, {
      target: document.body,
      props: { schedule: plan, params: initialForm().params, preset: "balanced", onadopt: (p) => adopted.push(p) },
    });
    flushSync();
    expect(document.querySelector("[data-schedule-reason]")?.textContent).toBe(plan.reason);
    expect(document.querySelector("[data-schedule-facts]")?.textContent).toContain("150 steps (batch 4)");
    expect(adopted.at(-1)).toMatchObject({ epochs: 25, lr: 5e-4, batch: 4 });
  });

  it("keeps the user's own numbers under another preset and shows nothing without a plan", () => {
    const adopted: Hyperparameters[] = [];
    shown = mount(SchedulePlan, {
      target: document.body,
      props: { schedule: plan, params: initialForm().params, preset: "custom", onadopt: (p) => adopted.push(p) },
    });
    flushSync();
    expect(adopted).toEqual([]);
    unmount(shown);
    shown = mount(SchedulePlan, {
      target: document.body,
      props: { schedule: null, params: initialForm().params, preset: "balanced", onadopt: () => {} },
    });
    flushSync();
    expect(document.querySelector("[data-schedule-plan]")).toBeNull();
  });
});
