// The memory and time estimate shown before Start: the options `models_estimate` gets for the form,
// the verdict in words, the time from the measured step time, and a debounced, latest-wins runner
// so typing in a field asks once, and a slow old answer never replaces a newer one.

import { DEFAULT_BATCH } from "./defaults";
import type { TrainForm } from "./settings";
import type { EstimateOptions, EstimateReport, Method, Verdict } from "./types";

/**
 * The estimate's options for `form`, or `null` while there is no model to estimate. `rows` (the
 * data's usable rows, when known) lets the estimate count the run's steps for the total time; the
 * time itself comes from a calibration remembered on this machine (`cached`, instant) unless a
 * measurement is asked for (`measure`, seconds to a minute).
 */
export function estimateOptions(
  form: TrainForm,
  defaultMaxLen: number,
  rows: number | null,
  calibrate: "cached" | "measure" = "cached",
): EstimateOptions | null {
  if (form.model.trim() === "") return null;
  const batch = form.params.batch;
  const maxLen = form.params.max_len;
  const epochs = form.params.epochs;
  const whole = (x: number | null): x is number => x !== null && Number.isInteger(x) && x >= 1;
  return {
    method: form.method,
    batch: whole(batch) ? batch : DEFAULT_BATCH,
    max_len: whole(maxLen) ? maxLen : defaultMaxLen,
    device: form.device,
    checkpointing: form.checkpointing,
    calibrate,
    rows,
    // Balanced leaves the passes to the schedule chosen from the data (the estimate returns it).
    epochs: form.preset !== "balanced" && whole(epochs) ? epochs : null,
  };
}

/** A key that changes exactly when the estimate would (so equal keys skip the call). */
export function estimateKey(model: string, options: EstimateOptions | null): string {
  return options === null ? "" : JSON.stringify([model.trim(), options]);
}

/** Bytes as a person reads them: 512 MB, 1.4 GB. */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(v)} bytes` : `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** Seconds as a person reads them: 45 s, 12 min, 2 h 05 min. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "unknown";
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  return `${h} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** A verdict as the panel shows it. */
export interface VerdictView {
  verdict: Verdict | "unknown";
  label: string;
  sentence: string;
}

/** What the estimate's verdict means for the user. */
export function describeVerdict(report: EstimateReport): VerdictView {
  const need = formatBytes(report.breakdown.total);
  const free = report.free_memory === null ? null : formatBytes(report.free_memory);
  switch (report.verdict) {
    case "fits":
      return { verdict: "fits", label: "Fits", sentence: `Needs about ${need} of the ${free} free: it fits with room to spare.` };
    case "tight":
      return { verdict: "tight", label: "Tight", sentence: `Needs about ${need} of the ${free} free: it may just fit if nothing else grows.` };
    case "does_not_fit":
      return { verdict: "does_not_fit", label: "Does not fit", sentence: `Needs about ${need}, more than the ${free} free: training would run out of memory.` };
    default:
      return {
        verdict: "unknown",
        label: "Unknown",
        sentence: `Needs about ${need}; the free memory of this device cannot be read (${report.device.source}).`,
      };
  }
}

/**
 * What activation checkpointing does to this estimate, in one sentence, or `null` when it is off
 * and would not change the verdict: turned on by the automatic setting to make the run fit, on as
 * asked, or off although the run would fit only with it.
 */
export function describeCheckpointing(report: EstimateReport): string | null {
  const without = formatBytes(report.total_without_checkpointing);
  const withIt = formatBytes(report.total_with_checkpointing);
  if (report.activation_checkpointing) {
    return report.checkpointing === "auto"
      ? `Activation checkpointing was turned on to make this run fit: about ${withIt} instead of ${without}, with each step about a third slower.`
      : `Activation checkpointing is on: about ${withIt} instead of ${without}, with each step about a third slower.`;
  }
  const free = report.free_memory;
  if (free !== null && report.total_without_checkpointing > free && report.total_with_checkpointing <= free)
    return `With activation checkpointing (Advanced settings) it would need about ${withIt} and fit, with each step about a third slower.`;
  return null;
}

/**
 * Time per training step as the user reads it: milliseconds below a second (feature extraction's
 * steps take a few), never "0.00 s"; a step not measured yet says so.
 */
export function formatStepTime(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds <= 0) return "step time not measured yet";
  if (seconds < 0.001) return "under 1 ms per step";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms per step`;
  return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s per step`;
}

/** The time estimate in one sentence: the measured step time and the run's total, or why there is none. */
export function describeTime(report: EstimateReport): string {
  const t = report.time;
  if (!t.calibrated || t.seconds_per_step === null || !(t.seconds_per_step > 0)) return `Time: ${t.note}.`;
  const where = t.cached ? "measured earlier on this machine" : "just measured on this machine";
  const perStep = `${formatStepTime(t.seconds_per_step)}, ${where}`;
  if (t.total_seconds === null || t.steps === null)
    return `Time: ${perStep}; the total follows once the data size is known (choose the data on the Data screen).`;
  const setup = t.setup_seconds !== null && t.setup_seconds >= 1 ? `, including ${formatDuration(t.setup_seconds)} of preparation` : "";
  return `Time: about ${formatDuration(t.total_seconds)} for ${t.steps} steps${setup} (${perStep}).`;
}

/** Whether measuring the speed would add something: no calibration yet, and the run fits. */
export function canMeasure(report: EstimateReport): boolean {
  return !report.time.calibrated && report.verdict !== "does_not_fit";
}

/** The breakdown as labelled rows, largest first. */
export function breakdownRows(report: EstimateReport): { label: string; bytes: number }[] {
  const b = report.breakdown;
  return [
    { label: "Model weights", bytes: b.weights },
    { label: "Trainable parameters", bytes: b.trainable_parameters },
    { label: "Gradients", bytes: b.gradients },
    { label: "Optimiser state", bytes: b.optimizer_state },
    { label: "Activations", bytes: b.activations },
    { label: "Runtime and slack", bytes: b.overhead },
  ]
    .filter((r) => r.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
}

/**
 * Runs `task` `delay` ms after the last `schedule` call (or at once with `now`); `onResult` only
 * hears the answer of the latest call (an older answer arriving late is dropped).
 */
export function latestOnly<A, R>(
  task: (arg: A) => Promise<R>,
  delay: number,
  onResult: (outcome: { ok: true; value: R } | { ok: false; error: unknown }) => void,
  onStart: () => void = () => {},
) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let generation = 0;
  return {
    schedule(arg: A, now = false) {
      clearTimeout(timer);
      const mine = ++generation;
      const run = () => {
        onStart();
        task(arg).then(
          (value) => mine === generation && onResult({ ok: true, value }),
          (error: unknown) => mine === generation && onResult({ ok: false, error }),
        );
      };
      if (now) run();
      else timer = setTimeout(run, delay);
    },
    /** Drops the pending call and any answer still on its way. */
    cancel() {
      clearTimeout(timer);
      generation++;
    },
  };
}

/** The estimate panel's state. */
export type EstimateState =
  | { kind: "none" }
  | { kind: "loading"; key: string; previous: EstimateReport | null; measuring: boolean }
  | { kind: "ready"; key: string; report: EstimateReport; method: Method }
  | { kind: "failed"; key: string; message: string; action: string };
