// Checks the training form before Start: errors (the engine would refuse, or the value makes no
// sense) block Start; warnings say a value is outside the range the fine-tuning literature
// recommends, and why that matters, but let the user go on; notes are for the informed choice of a
// preset (a Quick look trains fewer passes on purpose). Pure, so every rule is unit-tested.

import { trainingRows } from "./defaults";
import type { Hyperparameters, PresetId, TrainForm } from "./settings";
import type { Method, Task } from "./types";

/** The form's fields a finding can point at. */
export type Field = keyof Hyperparameters | "model" | "data" | "method";

/** How much a finding matters. */
export type Level = "error" | "warning" | "note";

/** One finding about one field. */
export interface Issue {
  field: Field;
  level: Level;
  message: string;
}

/** What the rules depend on besides the values themselves. */
export interface Context {
  task: Task;
  method: Method;
  /** Usable rows of the data, when known. */
  rows: number | null;
  /** The model's context length in tokens, when known. */
  contextLength: number | null;
  preset: PresetId | "custom";
}

/** A recommended range with the reason for it, as the form shows it next to a field. */
export interface Range {
  low: number;
  high: number;
  /** The range in words, e.g. "1e-5 to 5e-4". */
  text: string;
  /** Where the range comes from, in one sentence. */
  why: string;
}

/** Formats a learning rate the way papers write it (2e-5). */
export function formatRate(x: number): string {
  if (x === 0) return "0";
  const [m, e] = x.toExponential().split("e");
  const mantissa = Number(Number(m).toPrecision(3));
  return `${mantissa}e${Number(e)}`;
}

/** Training rows for the context (validation and test held out), or `null` when unknown. */
function trainRows(ctx: Context, p: Hyperparameters): number | null {
  if (ctx.rows === null) return null;
  return trainingRows(ctx.rows, p.val_fraction ?? 0.1, p.test_fraction ?? 0.1);
}

/** The recommended range of `field`, or `null` for fields without one (seed). */
export function recommendedRange(field: keyof Hyperparameters, ctx: Context, p: Hyperparameters): Range | null {
  switch (field) {
    case "lr":
      if (ctx.method === "features")
        return {
          low: 1e-4,
          high: 1e-2,
          text: "1e-4 to 1e-2",
          why: "Only a small classifier learns on frozen features; it takes larger steps than a whole model.",
        };
      if (ctx.method === "full")
        return {
          low: 1e-5,
          high: 1e-4,
          text: "1e-5 to 1e-4",
          why: "Changing every weight with large steps wipes out what the model already knows (BERT paper: 2e-5 to 5e-5).",
        };
      return {
        low: 1e-5,
        high: 2e-3,
        text: "1e-5 to 2e-3",
        why: "Adapters tolerate larger steps than full fine-tuning: 1e-4 to 1e-3 in the QLoRA paper, the top of it for small models and small sets.",
      };
    case "batch":
      return {
        low: 4,
        high: 64,
        text: "4 to 64",
        why: "Smaller batches give noisy steps (small sets of questions and answers train well at 4); larger ones need more memory and often a higher learning rate.",
      };
    case "epochs": {
      const rows = trainRows(ctx, p);
      const factor = ctx.method === "features" ? 4 : 1;
      const [low, high, size] =
        rows === null || rows <= 2_000 ? [5, 10, "small"] : rows <= 10_000 ? [3, 5, "medium"] : [2, 3, "large"];
      const known = rows === null ? "(data size not known yet: the range for small data)" : `(${rows} training rows)`;
      return {
        low: low * factor,
        high: high * factor,
        text: `${low * factor} to ${high * factor}`,
        why:
          `Passes over the data for a ${size} dataset ${known}: small data needs more passes, large data overfits with them.` +
          (factor > 1 ? " A head on frozen features is cheap and needs about four times as many." : ""),
      };
    }
    case "max_len": {
      const high = ctx.contextLength ?? 512;
      return {
        low: 32,
        high,
        text: `32 to ${high}`,
        why:
          ctx.contextLength === null
            ? "Longer inputs cost memory and time in proportion (attention grows with the square); texts longer than this are cut."
            : `The model reads at most ${ctx.contextLength} tokens; longer texts are cut.`,
      };
    }
    case "lora_rank":
      return {
        low: 4,
        high: 64,
        text: "4 to 64",
        why: "The size of the adapters: 8 to 16 suits most tasks; larger ranks learn more and use more memory.",
      };
    case "lora_alpha": {
      const r = p.lora_rank ?? 8;
      return {
        low: r / 2,
        high: r * 4,
        text: `${r / 2} to ${r * 4}`,
        why: "Scales the adapters' effect; usually one to two times the rank.",
      };
    }
    case "val_fraction":
      return {
        low: 0.05,
        high: 0.2,
        text: "5 % to 20 %",
        why: "Rows kept aside to pick the best checkpoint and to stop when the model stops improving.",
      };
    case "test_fraction":
      return {
        low: 0.05,
        high: 0.2,
        text: "5 % to 20 %",
        why: "Rows never seen in training, on which Evaluate compares the base and the fine-tuned model.",
      };
    case "checkpoint_every":
      return {
        low: 10,
        high: Number.POSITIVE_INFINITY,
        text: "10 steps or more, or once per epoch (empty)",
        why: "A checkpoint lets a paused or crashed run continue; writing one takes time.",
      };
    case "seed":
      return null;
  }
}

function isInt(x: number): boolean {
  return Number.isFinite(x) && Math.floor(x) === x;
}

/** The issues with the hyperparameters `p` in `ctx`. */
function paramIssues(p: Hyperparameters, ctx: Context): Issue[] {
  const issues: Issue[] = [];
  const err = (field: Field, message: string) => issues.push({ field, level: "error", message });
  const outside = (field: keyof Hyperparameters, value: number, shown: string, level: Level = "warning") => {
    const r = recommendedRange(field, ctx, p);
    if (r && (value < r.low || value > r.high)) {
      issues.push({ field, level, message: `${shown} is outside the recommended ${r.text}. ${r.why}` });
    }
  };
  const lora = ctx.method === "lora" || ctx.method === "qlora";

  if (p.epochs === null || !isInt(p.epochs) || p.epochs < 1) err("epochs", "Epochs must be a whole number, 1 or more.");
  else if (p.epochs > 1000) err("epochs", "More than 1000 epochs would run for days and overfit; choose fewer.");
  else outside("epochs", p.epochs, `${p.epochs} ${p.epochs === 1 ? "epoch" : "epochs"}`, ctx.preset === "quick" ? "note" : "warning");

  if (p.lr === null || !Number.isFinite(p.lr) || p.lr <= 0) err("lr", "The learning rate must be a number above 0, e.g. 2e-4.");
  else if (p.lr >= 1) err("lr", "A learning rate of 1 or more makes the loss explode; use something like 2e-4.");
  else outside("lr", p.lr, `A learning rate of ${formatRate(p.lr)}`);

  if (p.batch === null || !isInt(p.batch) || p.batch < 1) err("batch", "The batch size must be a whole number, 1 or more.");
  else outside("batch", p.batch, `A batch of ${p.batch}`);

  if (p.max_len === null || !isInt(p.max_len) || p.max_len < 8)
    err("max_len", "The maximum length must be a whole number of tokens, 8 or more.");
  else outside("max_len", p.max_len, `A maximum length of ${p.max_len} tokens`);

  if (p.seed === null || !isInt(p.seed) || p.seed < 0 || p.seed > Number.MAX_SAFE_INTEGER)
    err("seed", "The seed must be a whole number, 0 or more (any one works; the same seed repeats the same run).");

  if (lora) {
    if (p.lora_rank === null || !isInt(p.lora_rank) || p.lora_rank < 1)
      err("lora_rank", "The LoRA rank must be a whole number, 1 or more.");
    else outside("lora_rank", p.lora_rank, `A rank of ${p.lora_rank}`);
    if (p.lora_alpha === null || !Number.isFinite(p.lora_alpha) || p.lora_alpha <= 0)
      err("lora_alpha", "LoRA alpha must be a number above 0, usually twice the rank.");
    else if (p.lora_rank !== null && p.lora_rank >= 1) outside("lora_alpha", p.lora_alpha, `An alpha of ${p.lora_alpha}`);
  }

  const val = p.val_fraction;
  const test = p.test_fraction;
  if (val === null || !Number.isFinite(val) || val <= 0 || val >= 0.5)
    err("val_fraction", "The validation share must be above 0 % and under 50 %: training needs some rows to check itself on.");
  else outside("val_fraction", val, `A validation share of ${Math.round(val * 100)} %`);
  if (test === null || !Number.isFinite(test) || test < 0 || test >= 0.5)
    err("test_fraction", "The test share must be between 0 % and 50 %.");
  else if (test === 0)
    issues.push({
      field: "test_fraction",
      level: "warning",
      message: "No test rows: Evaluate will have no unseen rows to compare the base and the fine-tuned model on.",
    });
  else outside("test_fraction", test, `A test share of ${Math.round(test * 100)} %`);
  if (val !== null && test !== null && val > 0 && test >= 0 && val < 0.5 && test < 0.5 && val + test > 0.6)
    err("val_fraction", "Validation and test together take more than 60 % of the rows, leaving too few to train on.");

  if (p.checkpoint_every !== null) {
    if (!isInt(p.checkpoint_every) || p.checkpoint_every < 1)
      err("checkpoint_every", "Checkpoint every must be a whole number of steps, 1 or more, or empty for once per epoch.");
    else outside("checkpoint_every", p.checkpoint_every, `A checkpoint every ${p.checkpoint_every} steps`);
  }
  return issues;
}

/** Every issue with `form` (model, data, method against task, hyperparameters). */
export function validate(form: TrainForm, ctx: Omit<Context, "task" | "method" | "preset">): Issue[] {
  const full: Context = { ...ctx, task: form.task, method: form.method, preset: form.preset };
  const issues: Issue[] = [];
  if (form.model.trim() === "")
    issues.push({ field: "model", level: "error", message: "Choose a model: pick one on the Models screen, or type the path of a model folder." });
  if (form.data.trim() === "")
    issues.push({ field: "data", level: "error", message: "Choose your data: a CSV, TSV or JSONL file of examples (see the Data screen)." });
  if (form.task === "classify" && form.method === "qlora")
    issues.push({ field: "method", level: "error", message: "QLoRA is for text-generation models; for classification choose LoRA, Features or Full." });
  if (form.task === "generate" && form.method === "features")
    issues.push({ field: "method", level: "error", message: "Feature extraction trains a classifier; for text generation choose LoRA, QLoRA or Full." });
  const rows = ctx.rows === null ? null : trainingRows(ctx.rows, form.params.val_fraction ?? 0.1, form.params.test_fraction ?? 0.1);
  if (rows !== null && rows < 20)
    issues.push({
      field: "data",
      level: "warning",
      message: `Only ${rows} ${rows === 1 ? "row is" : "rows are"} left for training; a model learns little from so few. Aim for a few hundred examples.`,
    });
  return issues.concat(paramIssues(form.params, full));
}

/** Whether any issue blocks Start. */
export function hasErrors(issues: Issue[]): boolean {
  return issues.some((i) => i.level === "error");
}

/** The issues about one field. */
export function issuesFor(issues: Issue[], field: Field): Issue[] {
  return issues.filter((i) => i.field === field);
}
