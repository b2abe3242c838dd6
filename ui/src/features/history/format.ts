// How run history values read: dates, durations, statuses, metric values and config values.

import type { JsonValue, RunStatus } from "./types";

/** A time (ms since the epoch) as a short local date and time: `28 Nov 2026, 15:42`. */
export function formatWhen(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  return new Date(ms).toLocaleString("en-GB", {
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** A duration: `45 s`, `12 min 5 s`, `2 h 3 min`; `—` when it never started. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "—";
  const s = Math.round(ms / 1000);
  if (s === 0) return "under 1 s";
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}

const STATUS: Record<RunStatus, string> = {
  queued: "Queued",
  running: "Running",
  paused: "Paused",
  interrupted: "Interrupted",
  finished: "Finished",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** A status in words. */
export function statusLabel(status: RunStatus): string {
  return STATUS[status] ?? status;
}

/** Every status, for the filter. */
export const STATUSES = Object.keys(STATUS) as RunStatus[];

/** A metric value: four significant digits, no exponent for everyday numbers; `—` when absent. */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs >= 1e5 || abs < 1e-3) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

/** Metrics that are shares of the rows (accuracy, F1, ...), shown as percentages like Evaluate does. */
const SHARE_METRICS = /(^|_)(accuracy|f1|precision|recall|exact_match)$/;

/** A named metric: shares as `33.3 %`, everything else as {@link formatMetric}. */
export function formatNamedMetric(name: string, value: number | null | undefined): string {
  if (value !== null && value !== undefined && Number.isFinite(value) && SHARE_METRICS.test(name)) {
    return `${(value * 100).toFixed(1)} %`;
  }
  return formatMetric(value);
}

/** A config or JSON value as one line: strings bare, the rest as JSON; `—` when absent. */
export function formatValue(value: JsonValue | null | undefined): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value;
  // Settings print exactly as given (a learning rate of 0.0002 stays 0.0002).
  if (typeof value === "number") return String(value);
  return JSON.stringify(value);
}

/** How a right-hand value compares with the left one for a metric where larger is better. */
export function deltaText(left: number | null, right: number | null): string {
  if (left === null || right === null || !Number.isFinite(left) || !Number.isFinite(right)) return "";
  const d = right - left;
  if (d === 0) return "same";
  return `${d > 0 ? "+" : "−"}${formatMetric(Math.abs(d))}`;
}

/** A run config flattened to `key -> value` lines (objects by `.key`, arrays by `[i]`), in key order. */
export function flattenConfig(value: JsonValue, prefix = ""): { key: string; value: string }[] {
  if (value !== null && typeof value === "object") {
    const entries: [string, JsonValue][] = Array.isArray(value)
      ? value.map((v, i) => [`${prefix}[${i}]`, v])
      : Object.keys(value)
          .sort()
          .map((k) => [prefix ? `${prefix}.${k}` : k, value[k]]);
    if (entries.length === 0) return prefix ? [{ key: prefix, value: Array.isArray(value) ? "[]" : "{}" }] : [];
    return entries.flatMap(([k, v]) => flattenConfig(v, k));
  }
  return [{ key: prefix || "value", value: formatValue(value) }];
}

/** The numbers at the top level of an evaluation's metrics (nested tables such as `per_class` are left out). */
export function scalarMetrics(metrics: JsonValue): { name: string; key: string; value: number }[] {
  if (metrics === null || typeof metrics !== "object" || Array.isArray(metrics)) return [];
  return Object.keys(metrics)
    .sort()
    .flatMap((name) => {
      const v = metrics[name];
      return typeof v === "number" ? [{ name: name.replace(/_/g, " "), key: name, value: v }] : [];
    });
}

/** Which model an evaluation measured, in words. */
export function evalModelLabel(model: string): string {
  const labels: Record<string, string> = {
    base: "Base model",
    fine_tuned: "Fine-tuned",
    base_rag: "Base + documents",
    fine_tuned_rag: "Fine-tuned + documents",
  };
  return labels[model] ?? model;
}

/** What kind of file an artefact is, in words. */
export function artefactLabel(kind: string): string {
  const labels: Record<string, string> = {
    checkpoint: "Checkpoint (resumable)",
    best_checkpoint: "Best checkpoint",
    adapter: "Adapter (PEFT)",
    merged: "Merged weights",
    export: "Export",
  };
  return labels[kind] ?? kind;
}
