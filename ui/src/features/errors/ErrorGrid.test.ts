// The error grid with a fake app: rows with the doctor's marks, filter by class, sort by a header,
// a relabel and a leave-out written as a corrected copy, then a retrain linked to the run.
import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import ErrorGrid from "./ErrorGrid.svelte";
import type { ErrorRow, ErrorsBackend, ErrorsReport, RunEvent, TrainSummary } from "./backend";

let grid: ReturnType<typeof mount> | undefined;
const $ = <T extends Element = HTMLElement>(sel: string) => document.querySelector<T>(sel) as T;
const tick = () => new Promise((r) => setTimeout(r, 0));
const settle = async () => {
  await tick();
  flushSync();
};

const row = (line: number, label: string, prediction: string, confidence: number, flags: ErrorRow["flags"] = []): ErrorRow => ({
  line,
  text: `text on line ${line}`,
  label,
  prediction,
  confidence,
  label_probability: 0.1,
  correct: label === prediction,
  flags,
  same_text_lines: flags.length ? [line + 1] : [],
});

const report: ErrorsReport = {
  run_id: "run-1",
  data: "/d/reviews.csv",
  label_column: "label",
  labels: ["neg", "pos"],
  test_rows: 10,
  wrong: 2,
  rows: [row(12, "neg", "pos", 0.9, ["conflict"]), row(4, "pos", "neg", 0.7), row(8, "pos", "pos", 0.55)],
};

function fake() {
  const backend: ErrorsBackend = {
    errorsList: vi.fn(() => Promise.resolve(report)),
    errorsCorrect: vi.fn((run, corrections) =>
      Promise.resolve({
        run_id: run,
        original: "/d/reviews.csv",
        copy: "/d/reviews.corrected.csv",
        rows: 9,
        relabelled: corrections.relabel.length,
        left_out: corrections.leave_out.length,
        unreadable: 0,
      }),
    ),
    trainCorrected: vi.fn((_job, _run, _data, onEvent: (e: RunEvent) => void) => {
      onEvent({ run_id: "run-2" } as RunEvent);
      return Promise.resolve({ run_id: "run-2", status: "finished" } as unknown as TrainSummary);
    }),
    jobCancel: vi.fn(() => Promise.resolve()),
  };
  return backend;
}

const lines = () => [...document.querySelectorAll("[data-error-row]")].map((r) => Number(r.getAttribute("data-error-row")));

beforeEach(() => (document.body.innerHTML = ""));
afterEach(() => {
  if (grid) unmount(grid);
  grid = undefined;
});

describe("error grid", () => {
  it("lists the rows with the doctor's marks, filters by class and sorts by a clicked header", async () => {
    grid = mount(ErrorGrid, { target: document.body, props: { runId: "run-1", backend: fake() } });
    $<HTMLButtonElement>("[data-action=load-errors]").click();
    await settle();
    expect(lines()).toEqual([12, 4, 8]);
    expect($("[data-error-row='12'] [data-flag=conflict]").textContent).toBe("same text, other label");
    const cls = $<HTMLSelectElement>("#errors-class");
    cls.value = "neg";
    cls.dispatchEvent(new Event("change", { bubbles: true }));
    flushSync();
    expect(lines()).toEqual([12, 4]);
    [...document.querySelectorAll<HTMLButtonElement>("th button")].find((b) => b.textContent === "Line")!.click();
    flushSync();
    expect(lines()).toEqual([4, 12]);
  });

  it("writes a corrected copy from a relabel and a leave-out, then retrains on it as a linked run", async () => {
    const backend = fake();
    grid = mount(ErrorGrid, { target: document.body, props: { runId: "run-1", backend } });
    $<HTMLButtonElement>("[data-action=load-errors]").click();
    await settle();
    const relabel = $<HTMLSelectElement>("[data-relabel='12']");
    relabel.value = "pos";
    relabel.dispatchEvent(new Event("change", { bubbles: true }));
    $<HTMLInputElement>("[data-leave-out='4']").click();
    flushSync();
    expect($("[data-action=save-corrected]").textContent).toContain("2 changes");
    $<HTMLButtonElement>("[data-action=save-corrected]").click();
    await settle();
    expect(backend.errorsCorrect).toHaveBeenCalledWith("run-1", { relabel: [{ line: 12, label: "pos" }], leave_out: [4] });
    expect($("[data-copy-path]").textContent).toBe("/d/reviews.corrected.csv");
    expect($("[data-corrected-copy]").textContent).toContain("is unchanged");
    $<HTMLButtonElement>("[data-action=retrain-corrected]").click();
    await settle();
    expect(backend.trainCorrected).toHaveBeenCalledWith(expect.any(String), "run-1", "/d/reviews.corrected.csv", expect.any(Function));
    expect($("[data-new-run]").textContent).toBe("run-2");
  });
});
