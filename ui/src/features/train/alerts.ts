// Plain-language alerts about a run, read off its curves: the model starting to memorise (the
// validation loss rising while the training loss falls), a loss that explodes or is not a number,
// a loss that has not moved after a whole epoch, and how a run ended. Pure; the screen shows them.

import { type ChartModel, metricLabel } from "./chart";

/** One alert. */
export interface Alert {
  id: "memorising" | "diverging" | "not_learning" | "stopped_early" | "finished" | "failed" | "chance";
  tone: "info" | "warning" | "error";
  message: string;
}

/** Mean of the finite values (a `null` loss is left out; it is reported as diverging). */
function mean(values: (number | null)[]): number {
  const xs = values.filter((x): x is number => x !== null && Number.isFinite(x));
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Mean training loss over steps in (from, to]. */
function trainLossBetween(m: ChartModel, from: number, to: number): number {
  const xs: (number | null)[] = [];
  for (let i = 0; i < m.steps.length; i++) if (m.steps[i] > from && m.steps[i] <= to) xs.push(m.trainLoss[i]);
  return mean(xs);
}

/**
 * Whether the validation loss rose at the last two evaluations while the training loss fell over
 * the same stretch: the model is fitting its training rows better and unseen rows worse.
 */
export function isMemorising(m: ChartModel): boolean {
  const evals = m.evals.filter((e) => e.loss !== null && e.step > 0);
  if (evals.length < 3) return false;
  const [a, b, c] = evals.slice(-3);
  const rising = (c.loss as number) > (b.loss as number) && (b.loss as number) > (a.loss as number);
  if (!rising) return false;
  const before = trainLossBetween(m, Number.NEGATIVE_INFINITY, a.step);
  const after = trainLossBetween(m, b.step, c.step);
  return Number.isFinite(before) && Number.isFinite(after) && after < before;
}

/** Whether the last training loss is not a number, or far above where training started. */
export function isDiverging(m: ChartModel): boolean {
  const n = m.trainLoss.length;
  if (n === 0) return false;
  const last = m.trainLoss[n - 1];
  if (last === null || !Number.isFinite(last)) return true;
  if (n < 20) return false;
  const start = mean(m.trainLoss.slice(0, 5));
  const recent = mean(m.trainLoss.slice(-5));
  return recent > 3 * start;
}

/** Whether a whole epoch has passed without the training loss falling by even 2 %. */
export function isNotLearning(m: ChartModel): boolean {
  if (m.stepsPerEpoch < 5 || m.steps.length < m.stepsPerEpoch) return false;
  const k = Math.max(2, Math.floor(m.stepsPerEpoch / 5));
  const start = mean(m.trainLoss.slice(0, k));
  const recent = mean(m.trainLoss.slice(-k));
  return Number.isFinite(start) && Number.isFinite(recent) && recent >= 0.98 * start;
}

/**
 * The accuracy a classifier gets without learning anything: always answering the most common
 * label (its share of the rows), or one label in k by luck when the shares are unknown but
 * the number of labels is. `null` when neither is known.
 */
export function chanceAccuracy(labelCounts: Record<string, number> | undefined): { accuracy: number; label: string | null } | null {
  if (!labelCounts) return null;
  const entries = Object.entries(labelCounts).filter(([, n]) => n > 0);
  const total = entries.reduce((a, [, n]) => a + n, 0);
  if (entries.length < 2 || total === 0) return null;
  const [label, n] = entries.reduce((best, e) => (e[1] > best[1] ? e : best));
  return { accuracy: n / total, label };
}

/**
 * Whether a finished classification run's accuracy is no better than chance: within 2 points of
 * always guessing the most common label (or one in k, for k labels).
 */
export function isAtChance(accuracy: number, chance: number): boolean {
  return accuracy <= chance + 0.02;
}

/** What the alerts know besides the curves. */
export interface AlertContext {
  /** Rows per label of the training data (classification), when known. */
  labelCounts?: Record<string, number>;
}

/** The alerts for `m`, the most urgent first. */
export function alertsFor(m: ChartModel, context: AlertContext = {}): Alert[] {
  const out: Alert[] = [];
  if (m.failed !== null) out.push({ id: "failed", tone: "error", message: `Training stopped with an error: ${m.failed}` });
  if (isDiverging(m))
    out.push({
      id: "diverging",
      tone: "error",
      message:
        "The training loss is exploding: the learning rate is probably too high. Cancel, halve the learning rate in Advanced settings, and start again.",
    });
  const best = m.bestStep !== null ? ` (step ${m.bestStep})` : "";
  // Once the run ended, how it ended says it better (early stopping kept the best checkpoint).
  if (m.finished === null && isMemorising(m))
    out.push({
      id: "memorising",
      tone: "warning",
      message: `Validation loss is rising while training loss falls: the model is starting to memorise its examples instead of learning the task. The best checkpoint so far${best} is kept, and training stops by itself if this goes on.`,
    });
  if (m.finished === null && isNotLearning(m))
    out.push({
      id: "not_learning",
      tone: "warning",
      message:
        "After a whole epoch the training loss has hardly moved. Try a higher learning rate, or check on the Data screen that the labels belong to the texts.",
    });
  if (m.finished !== null) {
    const accuracy = m.finished.metrics.accuracy;
    const chance = chanceAccuracy(context.labelCounts);
    if (typeof accuracy === "number" && chance !== null && isAtChance(accuracy, chance.accuracy))
      out.push({
        id: "chance",
        tone: "warning",
        message:
          `The model has not learned the task: its accuracy (${formatMetric("accuracy", accuracy)}) is what always guessing ` +
          `"${chance.label}" scores (${formatMetric("accuracy", chance.accuracy)} of the rows). The usual causes: too few epochs ` +
          `(try the Balanced or Best quality preset), a learning rate too low or too high for the method (Advanced settings), ` +
          `or too little data (a few hundred examples per label help). Feature extraction is a quick check that the texts carry the labels.`,
      });
    const metricName = m.metricName;
    const value = metricName !== null ? m.finished.metrics[metricName] : undefined;
    const score =
      typeof value === "number"
        ? ` ${metricLabel(metricName)} on the validation rows: ${formatMetric(metricName, value)}${metricName === "perplexity" ? " (the Evaluate screen measures it on the test rows, which training never saw, so its number differs)" : ""}.`
        : "";
    if (m.finished.stoppedEarly)
      out.push({
        id: "stopped_early",
        tone: "info",
        message: `Training stopped early because the validation score stopped improving; the best checkpoint${m.finished.bestStep !== null ? ` (step ${m.finished.bestStep})` : ""} is kept.${score}`,
      });
    else
      out.push({
        id: "finished",
        tone: "info",
        message: `Training finished after ${m.finished.steps} steps; the best checkpoint${m.finished.bestStep !== null ? ` (step ${m.finished.bestStep})` : ""} is kept.${score}`,
      });
  }
  return out;
}

/** A metric value as shown: accuracy and F1 as percentages, the rest with 3 significant digits. */
export function formatMetric(name: string | null, value: number): string {
  if (name === "accuracy" || name === "macro_f1" || name === "macro_precision" || name === "macro_recall")
    return `${(value * 100).toFixed(1)} %`;
  return Number(value.toPrecision(3)).toString();
}
