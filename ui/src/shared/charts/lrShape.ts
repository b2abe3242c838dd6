// The learning-rate chart's title, from the values it shows: "warms up, then decays" only on a run
// whose rate did that. A 2-step run or a constant schedule has a flat rate, and a title promising
// a warm-up and decay the chart does not show misleads the reader. Used by Train's live charts and
// History's run page, so both say the same thing of the same curve.

/** The shape of a learning-rate curve. */
export type LrShape = "none" | "flat" | "warms up" | "warms up, then holds" | "warms up, then decays" | "decays";

/** Changes smaller than this share of the peak are noise in the recorded rate, not a schedule. */
const TOLERANCE = 1e-6;

/** What `values` (the rate at each recorded step, in order; gaps skipped) does. */
export function lrShape(values: readonly (number | null | undefined)[]): LrShape {
  const v = values.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  if (v.length === 0) return "none";
  const peak = Math.max(...v);
  const eps = Math.abs(peak) * TOLERANCE;
  const at = v.indexOf(peak);
  const rises = peak - v[0] > eps;
  const falls = peak - v[v.length - 1] > eps;
  if (!rises && !falls) return "flat";
  if (rises && falls) return "warms up, then decays";
  if (!rises) return "decays";
  // Risen to the peak: still climbing at the last step, or staying there since.
  return at === v.length - 1 && v.length > 1 && v[v.length - 2] < peak - eps ? "warms up" : "warms up, then holds";
}

/** The chart's title: "Learning rate (warms up, then decays)", "Learning rate (flat)", ... */
export function lrTitle(values: readonly (number | null | undefined)[]): string {
  const shape = lrShape(values);
  if (shape === "none") return "Learning rate";
  if (shape === "flat") return "Learning rate (constant)";
  return `Learning rate (${shape})`;
}
