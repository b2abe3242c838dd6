// The training schedule the app chose from the data (`SchedulePlan`, from the estimate before
// Start and from the run's summary after): how it reads on the Train screen, and how the Balanced
// preset takes its numbers, so the form shows and sends what the engine chose (the engine does not
// count a value equal to its own choice as "set by you").

import type { SchedulePlan } from "../../bindings";
import type { Hyperparameters } from "./settings";

export type { SchedulePlan };

/** A learning rate as people write it: 5e-4, 2e-5. */
export function formatRate(lr: number | null): string {
  if (lr === null || !Number.isFinite(lr)) return "—";
  const [mantissa, exponent] = lr.toExponential().split("e");
  const m = Number(mantissa);
  return `${Number.isInteger(m) ? m : m.toFixed(1)}e${Number(exponent)}`;
}

/** The plan as short facts for the screen, e.g. ["25 epochs", "150 steps (batch 4)", ...]. */
export function scheduleFacts(s: SchedulePlan): string[] {
  const facts = [
    `${s.epochs} ${s.epochs === 1 ? "epoch" : "epochs"}`,
    `${s.total_steps} ${s.total_steps === 1 ? "step" : "steps"} (batch ${s.batch_size})`,
    `learning rate ${formatRate(s.lr)}`,
  ];
  if (s.lora_rank !== null) facts.push(`LoRA rank ${s.lora_rank} on every linear layer`);
  if (s.loss_on_answers_only) facts.push("learns the answers only");
  if (s.min_steps > 0) facts.push(`early stopping not before step ${s.min_steps}`);
  return facts;
}

/**
 * The form's hyperparameters with the plan's epochs, learning rate, batch and LoRA settings, or
 * `null` when they already match (so adopting never loops).
 */
export function adoptSchedule(params: Hyperparameters, s: SchedulePlan): Hyperparameters | null {
  const next: Hyperparameters = {
    ...params,
    epochs: s.epochs,
    lr: s.lr ?? params.lr,
    batch: s.batch_size,
    lora_rank: s.lora_rank ?? params.lora_rank,
    lora_alpha: s.lora_alpha ?? params.lora_alpha,
  };
  const same = (Object.keys(next) as (keyof Hyperparameters)[]).every((k) => next[k] === params[k]);
  return same ? null : next;
}
