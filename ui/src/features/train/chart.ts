// The live curves of a run, built from its event stream: training loss, learning rate and
// tokens/s at every step, validation loss and the task's metric at every evaluation, progress and
// ETA. `applyEvent` is the only way in, so the charts show exactly what the events said; a resumed
// run drops the points after the checkpoint it continues from (those steps are trained again).

import type { Metrics, PrepStage, RunEvent } from "./types";

/** The preparation's latest stage, as the app reported it (before the first step). */
export interface Preparation {
  stage: PrepStage;
  /** Items of the stage done, where it counts them. */
  done: number | null;
  total: number | null;
  /** Seconds since the preparation began (`null`: not a number). */
  elapsed: number | null;
}

/** One validation measurement. */
export interface EvalPoint {
  step: number;
  loss: number | null;
  /** The task's metric (accuracy for classification, perplexity for generation). */
  metric: number | null;
  best: boolean;
}

/** Everything the charts and the progress line show. */
export interface ChartModel {
  runId: string | null;
  totalSteps: number;
  stepsPerEpoch: number;
  epochs: number;
  trainExamples: number;
  valExamples: number;
  trainableParams: number;
  /** The step a resumed run continued from, if it did. */
  resumedFrom: number | null;
  steps: number[];
  /** `null` where the loss was not a number (JSON has no NaN: the run is diverging). */
  trainLoss: (number | null)[];
  lr: (number | null)[];
  tokensPerS: (number | null)[];
  evals: EvalPoint[];
  /** The metric the validation curve shows, once an evaluation named one. */
  metricName: string | null;
  epoch: number;
  elapsed: number;
  eta: number | null;
  /** The app's resident memory at the last event (bytes), where the OS reports it. */
  memoryBytes: number | null;
  bestStep: number | null;
  lastCheckpoint: number | null;
  /** Set when the run ended normally. */
  finished: { metrics: Metrics; steps: number; bestStep: number | null; stoppedEarly: boolean } | null;
  /** Set when the run was cancelled (or paused) at a step. */
  cancelledAt: number | null;
  failed: string | null;
  /** The preparation's latest stage, until the run starts. */
  preparing: Preparation | null;
}

/** A model with no points yet. */
export function emptyChart(): ChartModel {
  return {
    runId: null,
    totalSteps: 0,
    stepsPerEpoch: 0,
    epochs: 0,
    trainExamples: 0,
    valExamples: 0,
    trainableParams: 0,
    resumedFrom: null,
    steps: [],
    trainLoss: [],
    lr: [],
    tokensPerS: [],
    evals: [],
    metricName: null,
    epoch: 0,
    elapsed: 0,
    eta: null,
    memoryBytes: null,
    bestStep: null,
    lastCheckpoint: null,
    finished: null,
    cancelledAt: null,
    failed: null,
    preparing: null,
  };
}

/** The metric a run's evaluations are judged by, in order of preference. */
const METRIC_PREFERENCE = ["accuracy", "macro_f1", "perplexity"];

/** The metric of an evaluation's metrics to chart (besides the loss). */
export function pickMetric(metrics: Metrics): string | null {
  for (const name of METRIC_PREFERENCE) if (typeof metrics[name] === "number") return name;
  return Object.keys(metrics).find((k) => k !== "loss" && typeof metrics[k] === "number") ?? null;
}

/** Keeps the points at or before `step` (a resumed run trains the later ones again). */
function truncateAfter(m: ChartModel, step: number): ChartModel {
  const keep = m.steps.findIndex((s) => s > step);
  if (keep === -1) return { ...m, evals: m.evals.filter((e) => e.step <= step) };
  return {
    ...m,
    steps: m.steps.slice(0, keep),
    trainLoss: m.trainLoss.slice(0, keep),
    lr: m.lr.slice(0, keep),
    tokensPerS: m.tokensPerS.slice(0, keep),
    evals: m.evals.filter((e) => e.step <= step),
  };
}

/** `m` after `event`: a new model object (its step arrays may be `m`'s, grown in place). */
export function applyEvent(m: ChartModel, event: RunEvent): ChartModel {
  switch (event.event) {
    case "preparing":
      // A new run has no id until it starts: keep the one known, if any.
      return {
        ...m,
        runId: event.run_id === "" ? m.runId : event.run_id,
        preparing: { stage: event.stage, done: event.done, total: event.total, elapsed: event.elapsed },
      };
    case "started": {
      const base = event.resumed_from !== null ? truncateAfter(m, event.resumed_from) : { ...emptyChart() };
      return {
        ...base,
        runId: event.run_id,
        totalSteps: event.total_steps,
        stepsPerEpoch: event.steps_per_epoch,
        epochs: event.epochs,
        trainExamples: event.train_examples,
        valExamples: event.val_examples,
        trainableParams: event.trainable_params,
        resumedFrom: event.resumed_from,
        finished: null,
        cancelledAt: null,
        failed: null,
        eta: null,
        preparing: null,
      };
    }
    case "step": {
      const next = { ...m, runId: event.run_id };
      // A step at or before the last one recorded is a repeat after a resume: replace from there.
      const at = next.steps.length > 0 && event.step <= next.steps[next.steps.length - 1] ? next.steps.findIndex((s) => s >= event.step) : -1;
      // Appending reuses the arrays (a long run has many thousand steps); the old model must not be
      // kept by the caller, which the training session never does.
      const cut = <T>(xs: T[]) => (at >= 0 ? xs.slice(0, at) : xs);
      next.steps = cut(m.steps);
      next.trainLoss = cut(m.trainLoss);
      next.lr = cut(m.lr);
      next.tokensPerS = cut(m.tokensPerS);
      next.steps.push(event.step);
      next.trainLoss.push(event.loss);
      next.lr.push(event.lr);
      next.tokensPerS.push(event.tokens_per_s);
      next.totalSteps = event.total_steps;
      next.epoch = event.epoch;
      next.elapsed = event.elapsed ?? m.elapsed;
      next.eta = event.eta;
      next.memoryBytes = event.memory_bytes ?? m.memoryBytes;
      return next;
    }
    case "eval": {
      const metricName = m.metricName ?? pickMetric(event.metrics);
      const point: EvalPoint = {
        step: event.step,
        loss: typeof event.metrics.loss === "number" ? event.metrics.loss : null,
        metric: metricName !== null && typeof event.metrics[metricName] === "number" ? (event.metrics[metricName] ?? null) : null,
        best: event.best,
      };
      const evals = m.evals.filter((e) => e.step !== event.step).concat(point);
      evals.sort((a, b) => a.step - b.step);
      return { ...m, runId: event.run_id, evals, metricName, bestStep: event.best ? event.step : m.bestStep };
    }
    case "checkpoint":
      return { ...m, lastCheckpoint: event.step };
    case "finished":
      return {
        ...m,
        eta: 0,
        finished: { metrics: event.metrics, steps: event.steps, bestStep: event.best_step, stoppedEarly: event.stopped_early },
        bestStep: event.best_step ?? m.bestStep,
      };
    case "cancelled":
      return { ...m, cancelledAt: event.step, eta: null };
    case "failed":
      return { ...m, failed: event.error, eta: null };
  }
}

/** The step of the last point, or 0. */
export function currentStep(m: ChartModel): number {
  return m.steps.length === 0 ? 0 : m.steps[m.steps.length - 1];
}

/** Progress from 0 to 1. */
export function progress(m: ChartModel): number {
  if (m.finished) return 1;
  return m.totalSteps > 0 ? Math.min(1, currentStep(m) / m.totalSteps) : 0;
}

/** Points of the loss chart: training loss at every step and validation loss at evaluations. */
export function lossPoints(m: ChartModel): number {
  return m.trainLoss.length + m.evals.filter((e) => e.loss !== null).length;
}

/**
 * The loss chart's data as uPlot wants it: one x axis (steps) shared by training and validation
 * loss, `null` where a series has no value at that step.
 */
export function lossSeries(m: ChartModel): [number[], (number | null)[], (number | null)[]] {
  const evals = m.evals.filter((e) => e.loss !== null);
  const xs: number[] = [];
  const train: (number | null)[] = [];
  const val: (number | null)[] = [];
  let i = 0;
  let j = 0;
  while (i < m.steps.length || j < evals.length) {
    const s = i < m.steps.length ? m.steps[i] : Number.POSITIVE_INFINITY;
    const e = j < evals.length ? evals[j].step : Number.POSITIVE_INFINITY;
    const x = Math.min(s, e);
    xs.push(x);
    train.push(s === x ? m.trainLoss[i++] : null);
    val.push(e === x ? evals[j++].loss : null);
  }
  return [xs, train, val];
}

/** The metric chart's data: the task's metric at each evaluation. */
export function metricSeries(m: ChartModel): [number[], (number | null)[]] {
  const evals = m.evals.filter((e) => e.metric !== null);
  return [evals.map((e) => e.step), evals.map((e) => e.metric)];
}

/** The learning-rate chart's data. */
export function lrSeries(m: ChartModel): [number[], (number | null)[]] {
  return [m.steps.slice(), m.lr.slice()];
}

/** Mean tokens per second over the last `n` steps (a steadier number than the last step's). */
export function recentTokensPerSecond(m: ChartModel, n = 10): number | null {
  const xs = m.tokensPerS.slice(-n).filter((x): x is number => x !== null);
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** A metric's name as the screen shows it. */
export function metricLabel(name: string | null): string {
  switch (name) {
    case "accuracy":
      return "Accuracy";
    case "macro_f1":
      return "Macro F1";
    case "perplexity":
      return "Perplexity";
    case null:
      return "Metric";
    default:
      return name.replace(/_/g, " ");
  }
}
