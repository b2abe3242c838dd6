// What the Evaluate screen shows, computed from `eval_run`'s report: each metric for the base and
// the fine-tuned model with a one-line meaning and whether fine-tuning helped, the confusion
// matrix's shading, and, for generation runs, the perplexities side by side from the run history.

import { formatWhen, statusLabel } from "../history/format";
import { methodName } from "../history/labels";
import type { ChartModel } from "../train/chart";
import type { BaselineReport, ClassificationReport, EvalReport, RunDetails, RunSummary } from "../train/types";

/** One metric, base against fine-tuned. */
export interface MetricRow {
  key: string;
  label: string;
  meaning: string;
  /** `null`: not a number (e.g. an infinite loss). */
  base: number | null;
  fineTuned: number | null;
  /** The word-count model's value and always-guessing's, when the report has baselines. */
  bagOfWords: number | null;
  majority: number | null;
  higherIsBetter: boolean;
  /**
   * Whether fine-tuning improved it (by more than a rounding difference), made it worse, neither,
   * or cannot be told (a value is not a number).
   */
  change: "better" | "worse" | "same" | "unknown";
  /** As shown: percentages for shares, plain numbers for the loss, a dash for not a number. */
  format: (x: number | null) => string;
}

/** What a value that is not a number shows. */
export const NOT_A_NUMBER = "n/a";

export const percent = (x: number | null) => (x === null ? NOT_A_NUMBER : `${(x * 100).toFixed(1)} %`);
const plain = (x: number | null) => (x === null ? NOT_A_NUMBER : x.toFixed(3));

const CLASSIFICATION_METRICS: {
  key: keyof Pick<ClassificationReport, "accuracy" | "macro_precision" | "macro_recall" | "macro_f1" | "loss">;
  label: string;
  meaning: string;
  higherIsBetter: boolean;
  format: (x: number | null) => string;
}[] = [
  { key: "accuracy", label: "Accuracy", meaning: "The share of test rows given the right label.", higherIsBetter: true, format: percent },
  {
    key: "macro_f1",
    label: "Macro F1",
    meaning: "Precision and recall together, every class counted equally: the fairest single score when some labels are rare.",
    higherIsBetter: true,
    format: percent,
  },
  {
    key: "macro_precision",
    label: "Macro precision",
    meaning: "When the model names a class, how often it is right (averaged over the classes).",
    higherIsBetter: true,
    format: percent,
  },
  {
    key: "macro_recall",
    label: "Macro recall",
    meaning: "Of each class's rows, the share the model finds (averaged over the classes).",
    higherIsBetter: true,
    format: percent,
  },
  {
    key: "loss",
    label: "Loss",
    meaning: "How surprised the model is by the true labels; lower means more confident and right.",
    higherIsBetter: false,
    format: plain,
  },
];

function change(base: number | null, fine: number | null, higherIsBetter: boolean, tolerance: number): MetricRow["change"] {
  if (base === null || fine === null) return "unknown";
  if (Math.abs(fine - base) <= tolerance) return "same";
  return fine > base === higherIsBetter ? "better" : "worse";
}

/** The metric rows of an evaluation. */
export function metricRows(report: EvalReport): MetricRow[] {
  return CLASSIFICATION_METRICS.map((m) => ({
    key: m.key,
    label: m.label,
    meaning: m.meaning,
    base: report.base[m.key],
    fineTuned: report.fine_tuned[m.key],
    bagOfWords: report.baselines ? report.baselines.bag_of_words[m.key] : null,
    majority: report.baselines ? report.baselines.majority[m.key] : null,
    higherIsBetter: m.higherIsBetter,
    change: change(report.base[m.key], report.fine_tuned[m.key], m.higherIsBetter, 0.0005),
    format: m.format,
  }));
}

/**
 * Whether the run's "base" is the fine-tuned model itself: feature extraction trains only a head on
 * the frozen model, which is exactly how the base is scored, so the two are identical by
 * construction and only the simple baselines say whether the model helps.
 */
export function baseIsItself(method: string | null | undefined): boolean {
  return method === "features";
}

/** The baselines in one plain sentence, accuracy first, with what they say about the model. */
export function baselineSentence(fine: ClassificationReport, baselines: BaselineReport): string {
  const own = fine.accuracy;
  const words = baselines.bag_of_words.accuracy;
  const guess = baselines.majority.accuracy;
  const lead = `Your model ${percent(own)}, a simple word-count model ${percent(words)}, always guessing “${baselines.majority_label}” ${percent(guess)}.`;
  if (own === null || words === null || guess === null) return lead;
  if (own <= guess + 0.02)
    return `${lead} Your model does no better than always guessing the most common label: it has not learned the task yet (try more epochs, another learning rate, or more data).`;
  const diff = (own - words) * 100;
  if (diff < -0.5)
    return `${lead} The word-count model does better: the words alone carry the labels. Try more epochs, LoRA, or a larger model before relying on this one.`;
  if (diff <= 0.5) return `${lead} Your model does as well as the word-count model, and better than guessing.`;
  return `${lead} Your model beats the word-count model by ${diff.toFixed(1)} points.`;
}

/**
 * One sentence on whether fine-tuning helped: against the simple baselines when the report has
 * them, then against the base model (from the macro F1, fair to rare classes), except for feature
 * extraction, whose base is the same model.
 */
export function headline(report: EvalReport, method?: string | null): string {
  const baselines = report.baselines ? `${baselineSentence(report.fine_tuned, report.baselines)} ` : "";
  if (baseIsItself(method))
    return `${baselines}Feature extraction keeps the model as it is, so its “base” (the same model with the same kind of head) scores the same by construction; the simple models are the honest comparison.`.trim();
  const base = report.base.macro_f1;
  const fine = report.fine_tuned.macro_f1;
  if (base === null || fine === null)
    return `${baselines}Scored on ${report.rows} test rows; the macro F1 could not be computed, so compare the metrics below.`;
  const diff = (fine - base) * 100;
  if (Math.abs(diff) < 0.05)
    return `${baselines}Against the base model, fine-tuning made no difference on the ${report.rows} test rows (macro F1 ${percent(fine)} for both).`;
  return diff > 0
    ? `${baselines}Fine-tuning helped: macro F1 rose from ${percent(base)} to ${percent(fine)} on ${report.rows} test rows the model never saw.`
    : `${baselines}Fine-tuning made it worse: macro F1 fell from ${percent(base)} to ${percent(fine)} on ${report.rows} test rows. Try more epochs, a different learning rate, or more data.`;
}

/** A confusion-matrix cell: its count, its share of the true class's rows, and whether it is correct. */
export interface Cell {
  count: number;
  share: number;
  correct: boolean;
}

/** The matrix with each cell's share of its row (the true class), for the heat map's shading. */
export function heatMap(confusion: number[][]): Cell[][] {
  return confusion.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((count, p) => ({ count, share: total === 0 ? 0 : count / total, correct: t === p }));
  });
}

/** Perplexity of the base and the fine-tuned model for a generation run, with where they came from. */
export interface GenerationScores {
  base: number | null;
  fineTuned: number | null;
  source: string;
}

/** Reads a number field of a JSON value. */
function numberField(value: unknown, key: string): number | null {
  if (typeof value !== "object" || value === null) return null;
  const v = (value as Record<string, unknown>)[key];
  return typeof v === "number" ? v : null;
}

/**
 * A generation run's perplexities: from its recorded evaluations when there are any, else the best
 * validation perplexity from the history and the base model's measurement at step 0 when this
 * session trained the run (the history's summary keeps only the smallest and largest values).
 */
export function generationScores(run: RunSummary, details: RunDetails | null, chart: ChartModel | null): GenerationScores {
  const evals = details?.evaluations ?? [];
  const pick = (model: string) => {
    const e = evals.filter((x) => x.model === model).at(-1);
    return e ? numberField(e.metrics, "perplexity") : null;
  };
  const recordedBase = pick("base");
  const recordedFine = pick("fine_tuned");
  if (recordedBase !== null || recordedFine !== null)
    return { base: recordedBase, fineTuned: recordedFine, source: "the run's recorded evaluations" };
  const fromBest = run.best_metric !== null && run.best_metric.name === "perplexity" ? run.best_metric.value : null;
  const fromSummary = details?.metrics.find((m) => m.name === "perplexity" && m.split === "validation")?.min ?? null;
  const fine = fromBest ?? fromSummary;
  const baseEval = chart !== null && chart.runId === run.id ? chart.evals.find((e) => e.step === 0) : undefined;
  return {
    base: baseEval?.metric ?? null,
    fineTuned: fine,
    source: "validation rows (the best checkpoint; the base measured before the first step)",
  };
}

/** A run's line in the run picker: its name, method and status in words, and the one date format. */
export function runLabel(run: RunSummary): string {
  const when = run.started_at ?? run.created_at;
  const date = Number.isFinite(when) ? ` · ${formatWhen(when)}` : "";
  return `${run.name || run.id} · ${methodName(run.method)} · ${statusLabel(run.status)}${date}`;
}
