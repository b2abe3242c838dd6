// The preparation before a run's first step, in words and as a fraction for its progress bar: what
// the app says it is doing (its `preparing` events), or, before the first such event, what the
// method's preparation does.

import type { ChartModel } from "./chart";
import type { Method, PrepStage } from "./types";

/** What the Train screen shows while a run prepares. */
export type PreparationView = {
  /** What is being done, in words ("reading each example once through the frozen model"). */
  what: string;
  /** The share of the stage done (0..1), or `null` where the stage does not count. */
  fraction: number | null;
  /** "120 of 400 examples", where the stage counts. */
  count: string | null;
};

const STAGE_WORDS: Record<PrepStage, string> = {
  reading_data: "reading and checking the data",
  loading_model: "loading the model",
  tokenising: "tokenising the examples",
  caching_features: "reading each example once through the frozen model",
  measuring_base: "measuring the untouched model on the held-out rows",
};

/** The preparation of the run in `chart`, trained with `method`. */
export function preparationView(chart: ChartModel, method: Method | null): PreparationView {
  const p = chart.preparing;
  if (p === null) {
    return {
      what:
        method === "features"
          ? "reading and tokenising the examples, then reading each one once through the frozen model"
          : "reading and tokenising the examples and loading the model",
      fraction: null,
      count: null,
    };
  }
  const counted = p.done !== null && p.total !== null && p.total > 0;
  return {
    what: STAGE_WORDS[p.stage],
    fraction: counted ? Math.min(1, (p.done as number) / (p.total as number)) : null,
    count: counted ? `${p.done} of ${p.total} examples` : null,
  };
}
