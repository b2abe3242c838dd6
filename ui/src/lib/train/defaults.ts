// The engine's hyperparameter defaults, mirrored for the form (crates/engine/src/train/defaults.rs,
// src/train.rs, the CLI's `train` flags): the presets start from them and the form shows them, so
// what the user sees is what the engine would pick. The tests pin them to the engine's table.

import type { Method, Task } from "./types";

/** Rows per optimiser step. */
export const DEFAULT_BATCH = 16;
/** Fraction of the steps spent warming the learning rate up (fixed by the engine). */
export const WARMUP_RATIO = 0.1;
/** Decoupled weight decay of AdamW (fixed by the engine). */
export const WEIGHT_DECAY = 0.01;
/** LoRA rank and alpha. */
export const DEFAULT_LORA_RANK = 8;
export const DEFAULT_LORA_ALPHA = 16;
/** Split fractions and seed (the CLI's defaults). */
export const DEFAULT_VAL_FRACTION = 0.1;
export const DEFAULT_TEST_FRACTION = 0.1;
export const DEFAULT_SEED = 42;

/** The learning rate the literature recommends for `method`. */
export function defaultLr(method: Method): number {
  switch (method) {
    case "full":
      return 2e-5;
    case "lora":
    case "qlora":
      return 2e-4;
    case "features":
      return 1e-3;
  }
}

/** Epochs for `rows` training examples: fewer as the data grows; a cheap head needs more. */
export function defaultEpochs(method: Method, rows: number): number {
  const base = rows <= 500 ? 10 : rows <= 2_000 ? 5 : rows <= 10_000 ? 3 : 2;
  return method === "features" ? base * 4 : base;
}

/** The longest input in tokens the engine uses when none is given. */
export function defaultMaxLen(task: Task): number {
  return task === "generate" ? 256 : 128;
}

/** Rows that reach training once validation and test are held out. */
export function trainingRows(rows: number, valFraction: number, testFraction: number): number {
  return Math.max(0, Math.round(rows * (1 - valFraction - testFraction)));
}
