// The training form: what the user chose (model, data, task, columns, method) and every
// hyperparameter of the request, the presets that fill them, and the request built from them.
// Pure functions; the form's state lives in `session.ts` so navigating away keeps it.

import {
  DEFAULT_BATCH,
  DEFAULT_CHECKPOINTING,
  DEFAULT_FORGETTING_CHECK,
  DEFAULT_LORA_ALPHA,
  DEFAULT_LORA_RANK,
  DEFAULT_SEED,
  DEFAULT_TEST_FRACTION,
  DEFAULT_VAL_FRACTION,
  defaultEpochs,
  defaultLr,
  defaultMaxLen,
  trainingRows,
} from "./defaults";
import type { Fixes } from "../../bindings";
import type { Checkpointing, DeviceRequest, Method, Precision, Task, TrainRequest } from "./types";

/** Every hyperparameter of a training request. `null` is an empty field. */
export interface Hyperparameters {
  epochs: number | null;
  lr: number | null;
  batch: number | null;
  max_len: number | null;
  seed: number | null;
  lora_rank: number | null;
  lora_alpha: number | null;
  val_fraction: number | null;
  test_fraction: number | null;
  /** Steps between resumable checkpoints; `null`: at the end of each epoch. */
  checkpoint_every: number | null;
}

/** The preset names, in the order they are offered. */
export const PRESET_IDS = ["quick", "balanced", "best"] as const;
/** A preset's identifier. */
export type PresetId = (typeof PRESET_IDS)[number];

/** The whole form. */
export interface TrainForm {
  model: string;
  data: string;
  task: Task;
  method: Method;
  text_column: string;
  label_column: string;
  prompt_column: string;
  response_column: string;
  device: DeviceRequest;
  /**
   * Activation checkpointing (recompute each block in the backward pass: less memory, about a
   * third slower): `auto` turns it on only when the run would not fit otherwise.
   */
  checkpointing: Checkpointing;
  /** Generation: check what the model forgot after training (general questions, general text). */
  forgetting_check: boolean;
  /** The number format: `auto` (bf16 mixed precision on a GPU, f32 on the CPU), `f32` or `bf16`. */
  precision: Precision;
  /**
   * Whether the user picked the method. Until they do, the form follows the recommendation, so the
   * card marked Recommended is the one selected.
   */
  methodChosen?: boolean;
  /** The preset last applied, or `custom` once a field was changed by hand. */
  preset: PresetId | "custom";
  params: Hyperparameters;
}

/** A preset: its name, what it is for, and the settings it picks. */
export interface Preset {
  id: PresetId;
  label: string;
  description: string;
}

/** The activation checkpointing choices, as the Advanced drawer offers them. */
export const CHECKPOINTING_CHOICES: { value: Checkpointing; label: string }[] = [
  { value: "auto", label: "Automatic" },
  { value: "on", label: "On" },
  { value: "off", label: "Off" },
];

/** The number formats, as the Advanced drawer offers them. */
export const PRECISION_CHOICES: { value: Precision; label: string }[] = [
  { value: "auto", label: "Automatic (bf16 on a GPU, f32 on the CPU)" },
  { value: "f32", label: "f32 (full precision)" },
  { value: "bf16", label: "bf16 (mixed precision)" },
];

/** The presets as the screen offers them. */
export const PRESETS: Preset[] = [
  {
    id: "quick",
    label: "Quick look",
    description:
      "A short run on shortened texts to see within minutes whether the model learns your task at all. Not a final model.",
  },
  {
    id: "balanced",
    label: "Balanced",
    description: "The settings the fine-tuning literature recommends for this method and amount of data.",
  },
  {
    id: "best",
    label: "Best quality",
    description:
      "More passes over the data, longer texts and larger adapters; slower, and worth it once the quick look works.",
  },
];

/**
 * The hyperparameters `preset` picks for `method` on `rows` usable rows (unknown: `null`, taken
 * as a small dataset, the safer guess for the number of epochs).
 */
export function presetParams(
  preset: PresetId,
  method: Method,
  task: Task,
  rows: number | null,
  split: { val_fraction: number; test_fraction: number } = {
    val_fraction: DEFAULT_VAL_FRACTION,
    test_fraction: DEFAULT_TEST_FRACTION,
  },
): Hyperparameters {
  const trainRows = rows === null ? 0 : trainingRows(rows, split.val_fraction, split.test_fraction);
  const epochs = defaultEpochs(method, trainRows);
  const maxLen = defaultMaxLen(task);
  const common = {
    lr: defaultLr(method),
    batch: DEFAULT_BATCH,
    seed: DEFAULT_SEED,
    val_fraction: split.val_fraction,
    test_fraction: split.test_fraction,
    checkpoint_every: null,
  };
  switch (preset) {
    case "quick":
      return {
        ...common,
        epochs: method === "features" ? 4 : 1,
        max_len: Math.min(64, maxLen),
        lora_rank: 4,
        lora_alpha: 8,
      };
    case "balanced":
      return { ...common, epochs, max_len: maxLen, lora_rank: DEFAULT_LORA_RANK, lora_alpha: DEFAULT_LORA_ALPHA };
    case "best":
      return {
        ...common,
        epochs: Math.ceil(epochs * 1.5),
        max_len: maxLen * 2,
        lora_rank: 16,
        lora_alpha: 32,
      };
  }
}

/** A fresh form: nothing chosen yet, classification with LoRA, the Balanced preset. */
export function initialForm(): TrainForm {
  return {
    model: "",
    data: "",
    task: "classify",
    method: "lora",
    methodChosen: false,
    text_column: "",
    label_column: "",
    prompt_column: "",
    response_column: "",
    device: "auto",
    checkpointing: DEFAULT_CHECKPOINTING,
    forgetting_check: DEFAULT_FORGETTING_CHECK,
    precision: "auto",
    preset: "balanced",
    params: presetParams("balanced", "lora", "classify", null),
  };
}

/** `text` trimmed, or `null` when empty (an empty column field lets the data crate guess). */
function column(text: string): string | null {
  const t = text.trim();
  return t === "" ? null : t;
}

/**
 * The request `train_start` gets for `form`. Call only once validation found no errors: empty
 * required fields fall back to the engine's defaults here rather than failing.
 */
export function buildRequest(form: TrainForm, fixes?: Fixes): TrainRequest {
  const p = form.params;
  const lora = form.method === "lora" || form.method === "qlora";
  const classify = form.task === "classify";
  return {
    model: form.model.trim(),
    data: form.data.trim(),
    task: form.task,
    method: form.method,
    text_column: classify ? column(form.text_column) : null,
    label_column: classify ? column(form.label_column) : null,
    prompt_column: classify ? null : column(form.prompt_column),
    response_column: classify ? null : column(form.response_column),
    epochs: p.epochs,
    lr: p.lr,
    batch: p.batch,
    max_len: p.max_len,
    seed: p.seed ?? DEFAULT_SEED,
    lora_rank: lora ? p.lora_rank : null,
    lora_alpha: lora ? p.lora_alpha : null,
    val_fraction: p.val_fraction ?? DEFAULT_VAL_FRACTION,
    test_fraction: p.test_fraction ?? DEFAULT_TEST_FRACTION,
    device: form.device,
    checkpoint_every: p.checkpoint_every,
    checkpointing: form.checkpointing,
    forgetting_check: form.forgetting_check,
    precision: form.precision,
    ...(fixes ? { fixes } : {}),
  };
}
