// How a run's recorded names read to a person: a model or data file by its name (the path stays for
// hover and details), a method and a task in words, a setting's dotted key ("config.request.lr")
// as its label ("Learning rate"), and a metric row ("eval test fine_tuned accuracy") as a sentence
// part ("Accuracy, fine-tuned model, test rows"). Pure; the History screens use them.

import { methodInfo } from "../train/methods";
import { formatWhen } from "./format";
import type { Method } from "../train/types";

/** Prefixes the model registry puts on imports (`gguf/...`, `local/...`). */
const REGISTRY_PREFIX = /^(gguf|local)\//;

/** Whether `ref` is a file-system path rather than a hub id. */
export function isPath(ref: string): boolean {
  return /^([/~.]|[A-Za-z]:[\\/]|\\\\)/.test(ref) || ref.includes("\\") || ref.split("/").length > 2;
}

/**
 * The short name of a model or data file: the file or folder name of a path (a model in the
 * Hugging Face cache by its repository name, not its snapshot hash), a hub id as it is, an import
 * without its registry prefix. The full reference goes in a tooltip.
 */
export function displayName(ref: string): string {
  const trimmed = ref.trim();
  if (trimmed === "") return "—";
  const bare = trimmed.replace(REGISTRY_PREFIX, "");
  const parts = bare.split(/[\\/]+/).filter((p) => p !== "");
  // A model in the HF cache: .../models--owner--name/snapshots/<hash>[/file].
  const cached = parts.find((p) => p.startsWith("models--"));
  if (cached) return cached.split("--").slice(-1)[0] || bare;
  // A hub id (`owner/name`) is the model's name as the hub and the user know it.
  if (!isPath(bare)) return bare;
  return parts.at(-1) ?? bare;
}

/**
 * A file the app wrote, named for a person: a saved comparison (`compare-<ms>.json`) as "the
 * comparison of 4 Dec 2026, 17:05"; any other file by its name.
 */
export function savedFileLabel(path: string): string {
  const name = displayName(path);
  const stamp = name.match(/^compare-(\d{10,})\.json$/);
  return stamp ? `the comparison of ${formatWhen(Number(stamp[1]))}` : name;
}

/** A method in words (`LoRA`, `Feature extraction`); an unknown one as recorded. */
export function methodName(method: string): string {
  const known: Method[] = ["full", "features", "lora", "qlora"];
  return known.includes(method as Method) ? methodInfo(method as Method).name : method;
}

/** A task in words. */
export function taskName(task: string): string {
  return task === "classify" ? "Classification" : task === "generate" ? "Text generation" : task;
}

/** Labels of the settings a person chooses or reads, by their last key. */
const SETTING_LABELS: Record<string, string> = {
  lr: "Learning rate",
  epochs: "Epochs",
  batch: "Batch size",
  batch_size: "Batch size",
  grad_accum: "Batches per step (accumulation)",
  max_len: "Maximum length (tokens)",
  seed: "Seed",
  lora_rank: "LoRA rank",
  rank: "LoRA rank",
  lora_alpha: "LoRA alpha",
  alpha: "LoRA alpha",
  val_fraction: "Validation share",
  test_fraction: "Test share",
  device: "Device",
  method: "Method",
  task: "Task",
  model: "Model",
  data: "Data file",
  dataset: "Data file",
  data_fingerprint: "Data fingerprint",
  text_column: "Text column",
  label_column: "Label column",
  prompt_column: "Prompt column",
  response_column: "Response column",
  warmup_ratio: "Warm-up share",
  weight_decay: "Weight decay",
  max_grad_norm: "Gradient clipping",
  eval_every: "Evaluate every (steps)",
  checkpoint_every: "Checkpoint every (steps)",
  patience: "Early-stopping patience",
  decay: "Learning-rate decay",
  drop_duplicates: "Leave out duplicates",
  drop_conflicts: "Leave out conflicting rows",
  drop_empty: "Leave out empty rows",
  merge_labels: "Merge similar labels",
  skip_bad_rows: "Skip unreadable rows",
  beta1: "Adam beta 1",
  beta2: "Adam beta 2",
  eps: "Adam epsilon",
};

/**
 * The settings a person reads first; the rest are technical details. The method, model and data are
 * not among them: a comparison already leads with them by name, and their recorded values are
 * paths and keys (`/home/ada/.cache/...`, `features`), for the details.
 */
const MAIN_SETTINGS = new Set(["lr", "epochs", "batch", "batch_size", "max_len", "lora_rank", "lora_alpha", "seed", "device"]);

/**
 * A dotted setting key (`config.request.lr`, `run.model`, `config.train.optimizer.beta1`) as its
 * label (`Learning rate`). Unknown keys read as their last part in words.
 */
export function settingLabel(key: string): string {
  const parts = key.split(".");
  const last = parts.at(-1) ?? key;
  const [name, index] = [last.replace(/\[\d+\]$/, ""), last.match(/\[(\d+)\]$/)?.[1]];
  const label = SETTING_LABELS[name] ?? sentence(name.replace(/_/g, " "));
  const suffix = index !== undefined ? ` (${Number(index) + 1})` : "";
  // The same name in the engine's resolved config and in the request: say which.
  const from = parts.includes("train") ? " (as trained)" : "";
  return `${label}${suffix}${from}`;
}

/** Whether a setting is one of those a person chose or reads first. */
export function isMainSetting(key: string): boolean {
  const last = (key.split(".").at(-1) ?? key).replace(/\[\d+\]$/, "");
  return MAIN_SETTINGS.has(last) && !key.includes(".train.");
}

/** Which model an evaluation row measured, in words. */
const MODEL_WORDS: Record<string, string> = {
  base: "base model",
  fine_tuned: "fine-tuned model",
  base_rag: "base model + documents",
  fine_tuned_rag: "fine-tuned model + documents",
};

/** The simple baselines a classifier's evaluation records, in words. */
const BASELINE_WORDS: Record<string, string> = {
  majority: "always the most common label",
  bag_of_words: "word-count model",
};

/** Metric names in words. */
const METRIC_WORDS: Record<string, string> = {
  accuracy: "Accuracy",
  macro_f1: "Macro F1",
  macro_precision: "Macro precision",
  macro_recall: "Macro recall",
  loss: "Loss",
  f1: "F1",
  precision: "Precision",
  recall: "Recall",
  perplexity: "Perplexity",
  lr: "Learning rate",
  tokens_per_s: "Speed (tokens/s)",
  grad_norm: "Gradient norm",
  rows: "Rows",
  exact_match: "Exact match",
  token_f1: "Token F1",
  // "Did it learn?" after a generation run: held-out questions answered with the right fact.
  fact_recall: "Right facts in the answers",
  fact_recall_base: "Right facts, base model (answers)",
  fact_recall_total: "Questions checked for facts",
};

/** A metric name in words. */
export function metricName(name: string): string {
  return METRIC_WORDS[name] ?? sentence(name.replace(/_/g, " "));
}

/** One row of a run comparison, read. */
export interface MetricRowLabel {
  label: string;
  /** The metric's own name (`accuracy`), for formatting its value. */
  metric: string;
  /** Rows of detail (a confusion-matrix cell, a worst example's probability, one label's F1) rather than a headline number. */
  detail: boolean;
}

/**
 * A comparison row's key as words: `validation accuracy (best)` is "Accuracy on the validation rows
 * (best)", `eval test fine_tuned accuracy` "Accuracy, fine-tuned model, test rows";
 * `eval test base confusion[0][0]` and `worst[3].true_probability` are details.
 */
export function metricRowLabel(key: string): MetricRowLabel {
  const evalMatch = key.match(/^eval (\w+) (\w+) (.+)$/);
  if (evalMatch) {
    const [, split, model, path] = evalMatch;
    // The simple models a classifier's evaluation records beside its base: headline numbers of
    // their own (`baselines.bag_of_words.accuracy`), their details (`...confusion[0][1]`) apart.
    const baseline = path.match(/^baselines\.(majority|bag_of_words)\.(.+)$/);
    const [who, rest] = baseline ? [BASELINE_WORDS[baseline[1]], baseline[2]] : [MODEL_WORDS[model] ?? model.replace(/_/g, " "), path];
    return evalRowLabel(split, who, rest);
  }
  const series = key.match(/^(train|validation|test) (\w+)(?: \((last|best)\))?$/);
  if (series) {
    const [, split, metric, which] = series;
    const rows = split === "train" ? "training batches" : `${split} rows`;
    // A count of what was measured (`fact_recall_total`) is a detail beside the score it counts for.
    const detail = (split === "train" && metric !== "loss") || metric.endsWith("_total");
    return { label: `${metricName(metric)} on the ${rows}${which ? ` (${which})` : ""}`, metric, detail };
  }
  return { label: key, metric: key.split(" ").at(-1) ?? key, detail: false };
}

/** An evaluation's number `path` (`accuracy`, `confusion[0][1]`) of model `who` on `split` rows. */
function evalRowLabel(split: string, who: string, path: string): MetricRowLabel {
  const detail = /[[.]/.test(path);
  const metric = path.split(/[.[\]]/).filter(Boolean).at(-1) ?? path;
  const what = detail ? detailWords(path) : metricName(path);
  return { label: `${what}, ${who}, ${split} rows`, metric, detail };
}

/** `confusion[0][1]`, `per_class[1].f1`, `worst[3].true_probability` in words. */
function detailWords(path: string): string {
  const confusion = path.match(/^confusion\[(\d+)\]\[(\d+)\]$/);
  if (confusion) return `Confusion matrix, true label ${Number(confusion[1]) + 1} predicted as ${Number(confusion[2]) + 1}`;
  const perClass = path.match(/^per_class\[(\d+)\]\.(\w+)$/);
  if (perClass) return `${metricName(perClass[2])} of label ${Number(perClass[1]) + 1}`;
  const worst = path.match(/^worst\[(\d+)\]\.(\w+)$/);
  if (worst) return `Wrong example ${Number(worst[1]) + 1}: ${worst[2].replace(/_/g, " ")}`;
  return sentence(path.replace(/[_.]/g, " ").replace(/\[(\d+)\]/g, " $1"));
}

function sentence(s: string): string {
  return s.length === 0 ? s : s[0].toUpperCase() + s.slice(1);
}
