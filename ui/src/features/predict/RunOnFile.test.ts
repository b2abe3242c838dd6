// "Run on a file" with a fake app: progress with the time left, Cancel reaching the job, the
// summary with the output path and every row that needs attention, and a failure as a message.
import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import RunOnFile from "./RunOnFile.svelte";
import { ApiError } from "../../shared/api";
import type { PredictBackend, PredictFileProgress, PredictFileSummary } from "./backend";

let panel: ReturnType<typeof mount> | undefined;
const $ = <T extends Element = HTMLElement>(sel: string) => document.querySelector<T>(sel) as T;
const tick = () => new Promise((r) => setTimeout(r, 0));

const summary: PredictFileSummary = {
  run_id: "run-1",
  task: "classify",
  data: "/d/new.csv",
  out: "/d/new.predicted.csv",
  input_columns: ["sentence"],
  columns: ["id", "sentence", "prediction", "confidence"],
  rows: 3,
  predicted: 2,
  empty: 1,
  unreadable: 1,
  problems: [
    { line: 3, message: "the text is empty: nothing to classify" },
    { line: 5, message: "line 5 has 4 fields, the header has 3 (this row is not in the output)" },
  ],
  seconds: 0.5,
};

function fake() {
  let emit: (p: PredictFileProgress) => void = () => {};
  let finish: (s: PredictFileSummary) => void = () => {};
  let fail: (e: unknown) => void = () => {};
  const backend: PredictBackend = {
    predictFile: vi.fn((_job, _req, onProgress) => {
      emit = onProgress;
      return new Promise<PredictFileSummary>((res, rej) => {
        finish = res;
        fail = rej;
      });
    }),
    jobCancel: vi.fn(() => Promise.resolve()),
  };
  return { backend, emit: (p: PredictFileProgress) => emit(p), finish: (s: PredictFileSummary) => finish(s), fail: (e: unknown) => fail(e) };
}

async function choose(path: string) {
  const input = $<HTMLInputElement>("#predict-data");
  input.value = path;
  input.dispatchEvent(new Event("input"));
  input.form!.requestSubmit();
  await tick();
  flushSync();
}

beforeEach(() => (document.body.innerHTML = ""));
afterEach(() => {
  if (panel) unmount(panel);
  panel = undefined;
});

describe("Run on a file", () => {
  it("shows progress with the time left, then where the file went and the rows that need attention", async () => {
    const f = fake();
    panel = mount(RunOnFile, { target: document.body, props: { runId: "run-1", task: "classify", backend: f.backend } });
    await choose("/d/new.csv");
    $<HTMLButtonElement>("[data-action=predict-file]").click();
    flushSync();
    expect(f.backend.predictFile).toHaveBeenCalledWith(expect.stringContaining("run-1"), { run: "run-1", data: "/d/new.csv", out: null }, expect.any(Function));
    f.emit({ rows: 64, bytes_read: 50, total_bytes: 100, elapsed_s: 2, eta_s: 2 });
    flushSync();
    expect($("[data-predict-progress]").textContent).toContain("64 rows done · 50 % of the file · about 2 s left");
    f.finish(summary);
    await tick();
    flushSync();
    expect($("[data-predict-out]").textContent).toBe("/d/new.predicted.csv");
    expect($("[data-predict-summary]").textContent).toContain("2 of 3 rows classified");
    expect($("[data-predict-attention]").textContent).toContain("1 row could not be read");
    expect(document.querySelectorAll("[data-predict-problems] li")).toHaveLength(2);
  });

  it("cancels the running job and reports how it ended", async () => {
    const f = fake();
    panel = mount(RunOnFile, { target: document.body, props: { runId: "run-1", task: "generate", backend: f.backend } });
    await choose("/d/q.jsonl");
    $<HTMLButtonElement>("[data-action=predict-file]").click();
    flushSync();
    $<HTMLButtonElement>("[data-action=cancel-predict-file]").click();
    await tick();
    flushSync();
    const job = (f.backend.predictFile as ReturnType<typeof vi.fn>).mock.calls[0][0];
    expect(f.backend.jobCancel).toHaveBeenCalledWith(job);
    f.fail(new ApiError({ code: "invalid", message: "the file prediction was cancelled; no output was written" }));
    await tick();
    flushSync();
    expect($("[data-predict-problem]").textContent).toContain("cancelled");
    expect($("[data-action=predict-file]")).not.toBeNull();
  });
});
