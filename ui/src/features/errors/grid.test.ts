import { describe, expect, it } from "vitest";
import { correctionsOf, initialView, sortBy, visibleRows, withEdit } from "./grid";
import type { ErrorRow } from "./backend";

const row = (line: number, label: string, prediction: string, confidence: number): ErrorRow => ({
  line,
  text: `text ${line}`,
  label,
  prediction,
  confidence,
  label_probability: label === prediction ? confidence : 1 - confidence,
  correct: label === prediction,
  flags: [],
  same_text_lines: [],
});

const rows = [row(5, "neg", "pos", 0.9), row(9, "pos", "neg", 0.6), row(2, "pos", "pos", 0.4), row(7, "neutral", "neutral", 0.5)];

describe("error grid", () => {
  it("filters by wrong or least sure, and by a class as label or prediction", () => {
    expect(visibleRows(rows, { ...initialView, show: "wrong" }).map((r) => r.line)).toEqual([5, 9]);
    expect(visibleRows(rows, { ...initialView, show: "unsure" }).map((r) => r.line)).toEqual([7, 2]);
    expect(visibleRows(rows, { ...initialView, cls: "neg" }).map((r) => r.line)).toEqual([5, 9]);
  });

  it("sorts by a clicked column and flips on a second click", () => {
    const byLine = sortBy(initialView, "line");
    expect(visibleRows(rows, byLine).map((r) => r.line)).toEqual([2, 5, 7, 9]);
    expect(visibleRows(rows, sortBy(byLine, "line")).map((r) => r.line)).toEqual([9, 7, 5, 2]);
    expect(visibleRows(rows, sortBy(initialView, "label")).map((r) => r.label)).toEqual(["neg", "neutral", "pos", "pos"]);
  });

  it("turns edits into corrections, and a label set back to the row's own is no edit", () => {
    let edits = withEdit({}, rows[0], { kind: "relabel", label: "pos" });
    edits = withEdit(edits, rows[1], { kind: "leave_out" });
    edits = withEdit(edits, rows[2], { kind: "relabel", label: "pos" });
    expect(correctionsOf(edits)).toEqual({ relabel: [{ line: 5, label: "pos" }], leave_out: [9] });
    expect(correctionsOf(withEdit(edits, rows[1], null))).toEqual({ relabel: [{ line: 5, label: "pos" }], leave_out: [] });
  });
});
