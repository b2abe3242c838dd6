import { describe, expect, it } from "vitest";
import { ariaSort, DEFAULT_SORT, filterRuns, nextSort, sortRuns } from "./table";
import type { RunSummary } from "./types";

const run = (id: string, over: Partial<RunSummary> = {}): RunSummary => ({
  id,
  name: `run ${id}`,
  task: "classify",
  method: "lora",
  model: "o/bert",
  dataset: "/d/reviews.csv",
  status: "finished",
  best_metric: null,
  started_at: null,
  created_at: 0,
  duration_ms: null,
  ...over,
});

const runs = [
  run("a", { created_at: 1, best_metric: { name: "accuracy", split: "validation", value: 0.8 }, duration_ms: 5000 }),
  run("b", { created_at: 3, status: "failed", model: "o/qwen", task: "generate", method: "qlora" }),
  run("c", { created_at: 2, best_metric: { name: "accuracy", split: "validation", value: 0.9 }, name: "Alpha" }),
];

describe("run table", () => {
  it("lists the newest run first by default", () => {
    expect(sortRuns(runs, DEFAULT_SORT).map((r) => r.id)).toEqual(["b", "c", "a"]);
  });

  it("sorts by best metric and keeps runs without one last in both directions", () => {
    expect(sortRuns(runs, { key: "metric", descending: true }).map((r) => r.id)).toEqual(["c", "a", "b"]);
    expect(sortRuns(runs, { key: "metric", descending: false }).map((r) => r.id)).toEqual(["a", "c", "b"]);
  });

  it("sorts names case-insensitively", () => {
    expect(sortRuns(runs, { key: "name", descending: false }).map((r) => r.id)).toEqual(["c", "a", "b"]);
  });

  it("filters by every word in any field and by status", () => {
    expect(filterRuns(runs, { text: "qwen", status: "" }).map((r) => r.id)).toEqual(["b"]);
    expect(filterRuns(runs, { text: "lora bert", status: "" }).map((r) => r.id)).toEqual(["a", "c"]);
    expect(filterRuns(runs, { text: "", status: "failed" }).map((r) => r.id)).toEqual(["b"]);
    expect(filterRuns(runs, { text: "Failed", status: "" }).map((r) => r.id)).toEqual(["b"]);
    expect(filterRuns(runs, { text: "nothing-like-this", status: "" })).toEqual([]);
  });

  it("flips the direction on a second click and says so to screen readers", () => {
    const s = nextSort(DEFAULT_SORT, "name");
    expect(s).toEqual({ key: "name", descending: false });
    expect(nextSort(s, "name")).toEqual({ key: "name", descending: true });
    expect(ariaSort(s, "name")).toBe("ascending");
    expect(ariaSort(s, "model")).toBe("none");
  });
});
