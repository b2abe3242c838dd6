// The shared selection: screens fill in what they know; clearing a field removes it.
import { beforeEach, describe, expect, it } from "vitest";
import { currentSelection, fixesForFile, selection, updateSelection } from "./selection.svelte";

beforeEach(() => {
  selection.current = {};
});

describe("selection", () => {
  it("keeps the fields a patch does not name", () => {
    updateSelection({ model: "/models/minilm", task: "classify" });
    updateSelection({ data: "/data/reviews.csv" });
    expect(selection.current).toEqual({ model: "/models/minilm", task: "classify", data: "/data/reviews.csv" });
  });

  it("forgets a field given as undefined, so a new file drops the old file's columns", () => {
    updateSelection({ data: "/a.csv", columns: ["text", "label"], text_column: "text" });
    updateSelection({ data: "/b.csv", columns: undefined, text_column: undefined });
    expect(currentSelection()).toEqual({ data: "/b.csv" });
  });

  it("gives the doctor's fixes only to the file they were chosen for", () => {
    const fixes = { drop_duplicates: true, drop_conflicts: false, drop_empty: false, merge_labels: false, skip_bad_rows: false };
    updateSelection({ data: "/reviews.csv", fixes, fixesFor: "/reviews.csv" });
    expect(fixesForFile(currentSelection(), "/reviews.csv")).toEqual(fixes);
    expect(fixesForFile(currentSelection(), " /reviews.csv ")).toEqual(fixes);
    // The next file, typed on the Train screen: the old file's fixes stay with the old file.
    updateSelection({ data: "/faq.csv" });
    expect(fixesForFile(currentSelection(), "/faq.csv")).toBeUndefined();
    // Fixes with no file named belong to none.
    selection.current = { data: "/x.csv", fixes };
    expect(fixesForFile(currentSelection(), "/x.csv")).toBeUndefined();
  });
});
