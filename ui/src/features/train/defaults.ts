// The Train form's defaults, read from the generated bindings' `TRAIN_DEFAULTS` (made in Rust by
// `TrainDefaults::current` from the engine's tables, the LoRA defaults and the run module's
// constants): the presets start from them and the form shows them, so what the user sees is what
// the engine would pick, with no copy of the numbers kept here.

import { TRAIN_DEFAULTS } from "../../bindings";
import type { Method, Task } from "./types";

/** Rows per optimiser step. */
export const DEFAULT_BATCH = TRAIN_DEFAULTS.batch;
/** Fraction of the steps spent warming the learning rate up (fixed by the engine). */
export const WARMUP_RATIO = TRAIN_DEFAULTS.warmup_ratio;
/** Decoupled weight decay of AdamW (fixed by the engine). */
export const WEIGHT_DECAY = TRAIN_DEFAULTS.weight_decay;
/** LoRA rank and alpha. */
export const DEFAULT_LORA_RANK = TRAIN_DEFAULTS.lora_rank;
export const DEFAULT_LORA_ALPHA = TRAIN_DEFAULTS.lora_alpha;
/** Split fractions and seed (the CLI's defaults). */
export const DEFAULT_VAL_FRACTION = TRAIN_DEFAULTS.val_fraction;
export const DEFAULT_TEST_FRACTION = TRAIN_DEFAULTS.test_fraction;
export const DEFAULT_SEED = TRAIN_DEFAULTS.seed;
/** Activation checkpointing: automatic (on only when the run would not fit otherwise). */
export const DEFAULT_CHECKPOINTING = TRAIN_DEFAULTS.checkpointing;
/** Whether a generation run checks what it forgot after training, unless turned off. */
export const DEFAULT_FORGETTING_CHECK = TRAIN_DEFAULTS.forgetting_check;

/** The learning rate the literature recommends for `method`. */
export function defaultLr(method: Method): number {
  return TRAIN_DEFAULTS.lr[method];
}

/** Epochs for `rows` training examples: fewer as the data grows; a cheap head needs more. */
export function defaultEpochs(method: Method, rows: number): number {
  const steps = TRAIN_DEFAULTS.epochs[method];
  const step = steps.find((s) => s.up_to_rows === null || rows <= s.up_to_rows) ?? steps[steps.length - 1];
  return step.epochs;
}

/** The longest input in tokens the engine uses when none is given. */
export function defaultMaxLen(task: Task): number {
  return task === "generate" ? TRAIN_DEFAULTS.generate_max_len : TRAIN_DEFAULTS.classify_max_len;
}

/** Rows that reach training once validation and test are held out. */
export function trainingRows(rows: number, valFraction: number, testFraction: number): number {
  return Math.max(0, Math.round(rows * (1 - valFraction - testFraction)));
}
