// The run table's sorting and filtering, kept pure so the order of every column is unit-tested.

import { statusLabel } from "./format";
import type { RunStatus, RunSummary } from "./types";

/** The columns the table sorts by. */
export type SortKey = "name" | "status" | "model" | "method" | "metric" | "created" | "duration";

/** A sort: the column and the direction. */
export type Sort = { key: SortKey; descending: boolean };

/** The default order: newest first. */
export const DEFAULT_SORT: Sort = { key: "created", descending: true };

/** What the filter row holds: free text and a status (`""` for every status). */
export type RunFilter = { text: string; status: RunStatus | "" };

function sortValue(run: RunSummary, key: SortKey): string | number | null {
  switch (key) {
    case "name":
      return run.name.toLowerCase();
    case "status":
      return run.status;
    case "model":
      return run.model.toLowerCase();
    case "method":
      return run.method;
    case "metric":
      return run.best_metric?.value ?? null;
    case "created":
      return run.created_at;
    case "duration":
      return run.duration_ms;
  }
}

/** `runs` in the order of `sort`; runs without a value for the column always go last. */
export function sortRuns(runs: RunSummary[], sort: Sort): RunSummary[] {
  const sign = sort.descending ? -1 : 1;
  return [...runs].sort((a, b) => {
    const x = sortValue(a, sort.key);
    const y = sortValue(b, sort.key);
    if (x === null && y === null) return b.created_at - a.created_at;
    if (x === null) return 1;
    if (y === null) return -1;
    const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return order !== 0 ? sign * order : b.created_at - a.created_at;
  });
}

/** The runs matching `filter`: the text in id, name, model, dataset, task, method or status. */
export function filterRuns(runs: RunSummary[], filter: RunFilter): RunSummary[] {
  const words = filter.text.toLowerCase().split(/\s+/).filter(Boolean);
  return runs.filter((run) => {
    if (filter.status && run.status !== filter.status) return false;
    const haystack = [run.id, run.name, run.model, run.dataset, run.task, run.method, statusLabel(run.status)]
      .join(" ")
      .toLowerCase();
    return words.every((w) => haystack.includes(w));
  });
}

/** The sort after clicking `key`'s header: the same column flips, a new one starts descending for numbers and dates, ascending for words. */
export function nextSort(current: Sort, key: SortKey): Sort {
  if (current.key === key) return { key, descending: !current.descending };
  return { key, descending: key === "created" || key === "duration" || key === "metric" };
}

/** The `aria-sort` value of a column header. */
export function ariaSort(current: Sort, key: SortKey): "ascending" | "descending" | "none" {
  if (current.key !== key) return "none";
  return current.descending ? "descending" : "ascending";
}
