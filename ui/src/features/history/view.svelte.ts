// What the History screen shows (the table, one run's page, or two runs compared), the table's
// sort and filter, and the runs picked for comparison. Kept outside the screen so coming back
// finds it as it was left.

import { DEFAULT_SORT, type RunFilter, type Sort } from "./table";

/** The History screen's page. */
export type HistoryPage = { kind: "list" } | { kind: "run"; id: string } | { kind: "compare"; left: string; right: string };

/** The History screen's state. Each field is held as given and replaced whole on a change. */
export class HistoryView {
  page = $state.raw<HistoryPage>({ kind: "list" });
  sort = $state.raw<Sort>(DEFAULT_SORT);
  filter = $state.raw<RunFilter>({ text: "", status: "" });
  picked = $state.raw<string[]>([]);
}

/** The one History view of this window. */
export const historyView = new HistoryView();

/** The runs picked for comparison after toggling `id`: at most two, the older pick gives way. */
export function togglePick(picked: string[], id: string): string[] {
  if (picked.includes(id)) return picked.filter((p) => p !== id);
  return [...picked, id].slice(-2);
}

/** Picks of runs that no longer exist are dropped (after a delete, or a list from another window). */
export function keepExisting(picked: string[], ids: string[]): string[] {
  const known = new Set(ids);
  return picked.filter((p) => known.has(p));
}
