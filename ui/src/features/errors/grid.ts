// The error grid's logic, apart from the screen: which rows show (wrong, least sure, a class),
// in which order, and the user's edits turned into the corrections the app writes.

import type { Corrections, ErrorRow } from "./backend";

/** Which rows to show. */
export type Show = "all" | "wrong" | "unsure";
/** The column to sort by. */
export type SortKey = "confidence" | "line" | "label" | "prediction";

/** The grid's view settings. */
export type View = { show: Show; cls: string; sort: SortKey; descending: boolean };

/** The first view: every listed row, the report's own order (wrong surest first). */
export const initialView: View = { show: "all", cls: "", sort: "confidence", descending: true };

/** One user edit to a row: a new label, or left out. */
export type Edit = { kind: "relabel"; label: string } | { kind: "leave_out" };

/** The rows `view` shows: filtered by kind and class (a row's label or prediction), then sorted. */
export function visibleRows(rows: ErrorRow[], view: View): ErrorRow[] {
  const shown = rows.filter(
    (r) =>
      (view.show === "all" || (view.show === "wrong" ? !r.correct : r.correct)) &&
      (view.cls === "" || r.label === view.cls || r.prediction === view.cls),
  );
  const key = (r: ErrorRow): number | string => (view.sort === "confidence" ? (r.confidence ?? 0) : view.sort === "line" ? r.line : r[view.sort]);
  const sign = view.descending ? -1 : 1;
  return [...shown].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return c === 0 ? a.line - b.line : sign * c;
  });
}

/** Clicking a column header: the same column flips the order, another starts descending by it. */
export function sortBy(view: View, key: SortKey): View {
  return view.sort === key ? { ...view, descending: !view.descending } : { ...view, sort: key, descending: key === "confidence" };
}

/** Sets (or clears, when the label is the row's own) the edit of the row on `line`. */
export function withEdit(edits: Record<number, Edit>, row: ErrorRow, edit: Edit | null): Record<number, Edit> {
  const next = { ...edits };
  if (edit === null || (edit.kind === "relabel" && edit.label === row.label)) delete next[row.line];
  else next[row.line] = edit;
  return next;
}

/** The edits as the corrections the app writes (lines in order). */
export function correctionsOf(edits: Record<number, Edit>): Corrections {
  const lines = Object.keys(edits)
    .map(Number)
    .sort((a, b) => a - b);
  return {
    relabel: lines.flatMap((line) => {
      const e = edits[line];
      return e.kind === "relabel" ? [{ line, label: e.label }] : [];
    }),
    leave_out: lines.filter((line) => edits[line].kind === "leave_out"),
  };
}

/** What the doctor's marks mean, for a row's badge. */
export function flagText(flag: string): string {
  return flag === "conflict" ? "same text, other label" : flag === "duplicate" ? "duplicate" : flag;
}
