// What the "Run on a file" panel says while it works and when it is done: the share of the file
// read, the time left in words, and the summary's lines. Pure functions, tested apart.

import type { PredictFileProgress, PredictFileSummary } from "./backend";

/** The share of the file read, 0..100. */
export function percentRead(p: PredictFileProgress): number {
  if (p.total_bytes <= 0) return 0;
  return Math.min(100, Math.max(0, (100 * p.bytes_read) / p.total_bytes));
}

/** The time left in words ("about 2 min left"), or "" while there is no pace yet. */
export function timeLeft(p: PredictFileProgress): string {
  if (p.eta_s === null || !Number.isFinite(p.eta_s)) return "";
  const s = Math.round(p.eta_s);
  if (s < 60) return `about ${Math.max(1, s)} s left`;
  const m = Math.round(s / 60);
  if (m < 60) return `about ${m} min left`;
  const h = Math.floor(m / 60);
  return `about ${h} h ${m % 60} min left`;
}

/** The headline of a finished prediction. */
export function summaryHeadline(s: PredictFileSummary): string {
  const what = s.task === "classify" ? "classified" : "answered";
  return `${s.predicted.toLocaleString("en")} of ${s.rows.toLocaleString("en")} rows ${what} in ${(s.seconds ?? 0).toFixed(1)} s`;
}

/** The rows that need the user's attention, in words ("" when none). */
export function attention(s: PredictFileSummary): string {
  const parts: string[] = [];
  if (s.empty > 0) parts.push(`${s.empty} ${s.empty === 1 ? "row has" : "rows have"} no prediction`);
  if (s.unreadable > 0)
    parts.push(`${s.unreadable} ${s.unreadable === 1 ? "row" : "rows"} could not be read and ${s.unreadable === 1 ? "is" : "are"} not in the output`);
  return parts.join("; ");
}
