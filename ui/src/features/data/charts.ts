// The numbers behind the Data screen's small charts: label balance as bars and the split's parts.

import type { SplitSummary } from "./types";

/** One bar: a label, its rows, its share of all rows, and its length relative to the largest. */
export type Bar = { label: string; count: number; share: number; width: number };

/** Bars for the label counts, largest first (ties by label), widths in percent of the largest. */
export function labelBars(counts: Partial<Record<string, number>>): Bar[] {
  const entries = Object.entries(counts).filter((e): e is [string, number] => typeof e[1] === "number");
  const total = entries.reduce((sum, [, c]) => sum + c, 0);
  const max = entries.reduce((m, [, c]) => Math.max(m, c), 0);
  return entries
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([label, count]) => ({
      label,
      count,
      share: total > 0 ? count / total : 0,
      width: max > 0 ? Math.max(1, Math.round((count / max) * 100)) : 0,
    }));
}

/** A share as a percentage to show: `12 %`, `0.4 %`, `< 0.1 %`. */
export function formatShare(share: number): string {
  if (!(share > 0)) return "0 %";
  const p = share * 100;
  if (p < 0.1) return "< 0.1 %";
  return p < 10 ? `${p.toFixed(1).replace(/\.0$/, "")} %` : `${Math.round(p)} %`;
}

/** The split's three parts with their share of the rows. */
export function splitParts(split: SplitSummary): { name: string; rows: number; share: number }[] {
  const total = split.train + split.validation + split.test;
  return (
    [
      ["Training", split.train],
      ["Validation", split.validation],
      ["Test", split.test],
    ] as const
  ).map(([name, rows]) => ({ name, rows, share: total > 0 ? rows / total : 0 }));
}
