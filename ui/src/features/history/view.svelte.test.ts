import { describe, expect, it } from "vitest";
import { keepExisting, togglePick } from "./view.svelte";

describe("picking runs to compare", () => {
  it("toggles a run in and out of the comparison", () => {
    expect(togglePick([], "a")).toEqual(["a"]);
    expect(togglePick(["a"], "a")).toEqual([]);
  });

  it("keeps the two latest picks", () => {
    expect(togglePick(["a", "b"], "c")).toEqual(["b", "c"]);
  });

  it("forgets picks of runs that are gone", () => {
    expect(keepExisting(["a", "b"], ["b", "c"])).toEqual(["b"]);
  });
});
