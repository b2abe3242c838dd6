// A run in a few plain lines, as the top of its page shows it: what was trained (method, model,
// data, by name), the result on held-out rows beside the base model's (or, before an evaluation,
// the best validation score), and how long it took. Pure; the run page renders it.

import { formatDuration, formatNamedMetric } from "./format";
import { displayName, methodName, metricName, taskName } from "./labels";
import type { EvaluationRecord, JsonValue, RunDetails } from "./types";

/** A name with the full reference it stands for (shown on hover and in the details). */
export interface Named {
  name: string;
  full: string;
}

/** The run's result in words, and its numbers for the page to mark up. */
export interface ResultLine {
  /** `Accuracy on 40 test rows`. */
  what: string;
  fineTuned: string;
  /**
   * The base model's score on the same rows, when it was evaluated and is a fair comparison (a
   * feature-extraction run's base is the run's own model with the same kind of head: never shown).
   */
  base: string | null;
  /** The simple models scored on the same rows (`a simple word-count model 78.0 %, always guessing “positive” 55.0 %`). */
  baselines: string | null;
  /** Where the number comes from, when it is not a held-out evaluation. */
  note: string | null;
  /** Whether the fine-tuned model is better, worse or the same as the base (by the metric's direction). */
  change: "better" | "worse" | "same" | null;
}

/** What the top of the run page says. */
export interface RunSummaryView {
  task: string;
  method: string;
  model: Named;
  data: Named;
  result: ResultLine | null;
  time: string;
}

/** The metric an evaluation of this task is read by, and whether smaller is better. */
function headline(task: string): { name: string; smaller: boolean } {
  return task === "generate" ? { name: "perplexity", smaller: true } : { name: "accuracy", smaller: false };
}

function field(metrics: JsonValue | undefined, name: string): JsonValue | undefined {
  if (metrics === null || metrics === undefined || typeof metrics !== "object" || Array.isArray(metrics)) return undefined;
  return metrics[name];
}

function numberAt(metrics: JsonValue | undefined, name: string): number | null {
  const v = field(metrics, name);
  return typeof v === "number" ? v : null;
}

/**
 * The simple models a classifier's evaluation recorded beside the base (`baselines` in the base's
 * record: the most common label, and a word-count model), as words; `null` when not recorded.
 */
function baselinesLine(base: EvaluationRecord | undefined, name: string): string | null {
  const recorded = field(base?.metrics, "baselines");
  const words = numberAt(field(recorded, "bag_of_words"), name);
  const guess = numberAt(field(recorded, "majority"), name);
  const label = field(recorded, "majority_label");
  if (words === null || guess === null || typeof label !== "string") return null;
  return `a simple word-count model ${formatNamedMetric(name, words)}, always guessing “${label}” ${formatNamedMetric(name, guess)}`;
}

/** The newest evaluation of `model` (the history keeps every one). */
function latest(evaluations: EvaluationRecord[], model: string): EvaluationRecord | undefined {
  return evaluations.filter((e) => e.model === model).sort((a, b) => b.created_at - a.created_at)[0];
}

/** The run's result: the latest held-out evaluation against the base, else the best validation score. */
export function resultLine(details: RunDetails): ResultLine | null {
  const { name, smaller } = headline(details.run.task);
  const fine = latest(details.evaluations, "fine_tuned");
  const fineValue = fine ? numberAt(fine.metrics, name) : null;
  if (fine && fineValue !== null) {
    const base = latest(details.evaluations, "base");
    const itself = details.run.method === "features";
    const baseValue = base && !itself ? numberAt(base.metrics, name) : null;
    const change =
      baseValue === null
        ? null
        : Math.abs(fineValue - baseValue) < 1e-9
          ? "same"
          : (fineValue < baseValue) === smaller
            ? "better"
            : "worse";
    return {
      what: `${metricName(name)} on ${fine.rows} held-out ${fine.split} ${fine.rows === 1 ? "row" : "rows"}`,
      fineTuned: formatNamedMetric(name, fineValue),
      base: baseValue === null ? null : formatNamedMetric(name, baseValue),
      baselines: baselinesLine(base, name),
      note: itself
        ? "Feature extraction keeps the model as it is, so its base (the same model with the same kind of head) is not a comparison; the simple models are."
        : null,
      change,
    };
  }
  const primary = details.run.primary_metric;
  const series = primary ? details.metrics.find((m) => m.name === primary.name && m.split === primary.split) : undefined;
  if (primary && series) {
    const best = primary.goal === "min" ? series.min : series.max;
    if (best === null) return null;
    return {
      what: `Best ${metricName(primary.name).toLowerCase()} on the ${primary.split} rows during training`,
      fineTuned: formatNamedMetric(primary.name, best),
      base: null,
      baselines: null,
      note: "Not evaluated on the held-out test rows yet: the Evaluate screen compares it with the base model.",
      change: null,
    };
  }
  return null;
}

/** The summary at the top of a run's page. */
export function runSummaryView(details: RunDetails): RunSummaryView {
  const run = details.run;
  return {
    task: taskName(run.task),
    method: methodName(run.method),
    model: { name: displayName(run.model_ref), full: run.model_ref },
    data: { name: displayName(run.dataset_ref), full: run.dataset_ref },
    result: resultLine(details),
    time: formatDuration(details.duration_ms),
  };
}
