// The shared selection: screens fill in what they know; clearing a field removes it.
import { get } from "svelte/store";
import { beforeEach, describe, expect, it } from "vitest";
import { currentSelection, selection, updateSelection } from "./selection";

beforeEach(() => selection.set({}));

describe("selection", () => {
  it("keeps the fields a patch does not name", () => {
    updateSelection({ model: "/models/minilm", task: "classify" });
    updateSelection({ data: "/data/reviews.csv" });
    expect(get(selection)).toEqual({ model: "/models/minilm", task: "classify", data: "/data/reviews.csv" });
  });

  it("forgets a field given as undefined, so a new file drops the old file's columns", () => {
    updateSelection({ data: "/a.csv", columns: ["text", "label"], text_column: "text" });
    updateSelection({ data: "/b.csv", columns: undefined, text_column: undefined });
    expect(currentSelection()).toEqual({ data: "/b.csv" });
  });
});
