// The run page's charts from a run's recorded curves: series put on one shared step axis (uPlot's
// aligned data), a gap (null) where a series has no value at a step.

import type { Curve } from "../../bindings";
import { lrTitle } from "../../shared/charts/lrShape";
import { metricName } from "./labels";

/** One chart: the steps, then one row of values per series, and the series' names. */
export interface ChartData {
  data: [number[], ...(number | null)[][]];
  labels: string[];
}

/** Puts `curves` on the union of their steps, in the order given. */
export function align(curves: Curve[]): ChartData {
  const steps = [...new Set(curves.flatMap((c) => c.steps))].sort((a, b) => a - b);
  const index = new Map(steps.map((s, i) => [s, i]));
  const rows = curves.map((c) => {
    const row: (number | null)[] = steps.map(() => null);
    c.steps.forEach((s, i) => (row[index.get(s) ?? 0] = c.values[i] ?? null));
    return row;
  });
  return { data: [steps, ...rows], labels: curves.map((c) => (c.split === "train" ? "training" : c.split)) };
}

/** The charts a run page shows: losses, validation scores (one chart each), learning rate. */
export function runCharts(curves: Curve[]): { id: string; title: string; yLabel: string; chart: ChartData }[] {
  const out = [];
  const losses = curves.filter((c) => c.name === "loss");
  if (losses.length > 0) out.push({ id: "loss", title: "Loss (lower is better)", yLabel: "loss", chart: align(losses) });
  // A score measured once (a generation run's fact recall, at its end) is not a curve: the run's
  // summary and scores have it. Nor is a count of questions checked (`fact_recall_total`).
  const measured = (c: Curve) => c.values.filter((v) => v !== null).length >= 2;
  for (const c of curves.filter((c) => c.split !== "train" && c.name !== "loss" && !c.name.endsWith("_total") && measured(c))) {
    const better = c.name === "perplexity" ? "lower is better" : "higher is better";
    out.push({ id: `${c.split}-${c.name}`, title: `${metricName(c.name)} on the ${c.split} rows (${better})`, yLabel: c.name.replace(/_/g, " "), chart: align([c]) });
  }
  const lr = curves.filter((c) => c.name === "lr");
  if (lr.length > 0) out.push({ id: "lr", title: lrTitle(lr.flatMap((c) => c.values)), yLabel: "lr", chart: align(lr) });
  return out;
}
