// The training session: start, stream, pause (cancel + resume), cancel, failures, stale events.
import { describe, expect, it } from "vitest";
import { ApiError } from "../../shared/api";
import { fakeBackend, settle } from "./fake-backend";
import { runEvents } from "./fixtures";
import { controls, elapsedSeconds, isPreparing, TrainSession } from "./session.svelte";
import { buildRequest, initialForm } from "./settings";

const request = buildRequest({ ...initialForm(), model: "/models/minilm", data: "/data/reviews.csv" });
let ids = 0;
const session = (fake: ReturnType<typeof fakeBackend>) => new TrainSession(fake.backend, () => `job-${++ids}`);

describe("training session", () => {
  it("starts a job, streams its events into the chart, and ends finished", async () => {
    const fake = fakeBackend();
    const s = session(fake);
    const done = s.start(request);
    expect(s.run.phase).toBe("starting");
    expect(fake.jobs[0]).toMatchObject({ command: "train_start", arg: request });
    for (const e of runEvents("run-1", 4, 2)) fake.jobs[0].emit(e);
    expect(s.run).toMatchObject({ phase: "running", runId: "run-1" });
    expect(s.run.chart.steps).toHaveLength(4);
    fake.jobs[0].finish({ run_id: "run-1", dir: "/runs/run-1", status: "finished", metrics: { accuracy: 0.9 } });
    await done;
    expect(s.run).toMatchObject({ phase: "finished", jobId: null });
    expect(controls(s.run)).toEqual({ start: true, pause: false, cancel: false, resume: false });
  });

  it("pauses by cancelling the job, then resumes the same run from its checkpoint", async () => {
    const fake = fakeBackend();
    const s = session(fake);
    const first = s.start(request);
    for (const e of runEvents("run-1", 4, 2)) fake.jobs[0].emit(e);
    await s.pause();
    expect(fake.cancelled).toEqual([fake.jobs[0].jobId]);
    expect(s.run.phase).toBe("pausing");
    fake.jobs[0].emit({ run_id: "run-1", event: "cancelled", step: 4 });
    fake.jobs[0].finish({ run_id: "run-1", dir: "/r", status: "cancelled", metrics: {} });
    await first;
    expect(s.run.phase).toBe("paused");
    expect(controls(s.run)).toMatchObject({ start: false, resume: true, cancel: true, pause: false });

    const second = s.resume();
    expect(fake.jobs[1]).toMatchObject({ command: "train_resume", arg: "run-1" });
    fake.jobs[1].emit({ run_id: "run-1", event: "started", total_steps: 8, epochs: 2, steps_per_epoch: 4, train_examples: 80, val_examples: 10, trainable_params: 1000, resumed_from: 4 });
    expect(s.run.phase).toBe("running");
    expect(s.run.chart.steps).toHaveLength(4); // kept across the pause
    fake.jobs[1].finish({ run_id: "run-1", dir: "/r", status: "finished", metrics: {} });
    await second;
    expect(s.run.phase).toBe("finished");
  });

  it("trains a finished run longer as the same run, its chart continuing, and only once it has finished", async () => {
    const fake = fakeBackend();
    const s = session(fake);
    await s.longer(); // nothing has finished yet
    expect(fake.jobs).toHaveLength(0);
    const first = s.start(request);
    for (const e of runEvents("run-1", 4, 2)) fake.jobs[0].emit(e);
    fake.jobs[0].finish({ run_id: "run-1", dir: "/r", status: "finished", metrics: {} });
    await first;

    const longer = s.longer();
    expect(fake.jobs[1]).toMatchObject({ command: "train_longer", arg: "run-1" });
    expect(s.run).toMatchObject({ phase: "starting", summary: null });
    fake.jobs[1].emit({ run_id: "run-1", event: "started", total_steps: 6, epochs: 3, steps_per_epoch: 2, train_examples: 8, val_examples: 2, trainable_params: 1000, resumed_from: 4 });
    expect(s.run.chart.steps).toHaveLength(4); // the curve goes on from the finished run's
    fake.jobs[1].finish({ run_id: "run-1", dir: "/r", status: "finished", metrics: {} });
    await longer;
    expect(s.run).toMatchObject({ phase: "finished", runId: "run-1" });
  });

  it("cancels a running job for good, and a paused run without a job", async () => {
    const fake = fakeBackend();
    const s = session(fake);
    const run = s.start(request);
    fake.jobs[0].emit(runEvents("run-2", 2, 2)[0]);
    await s.cancel();
    expect(s.run.phase).toBe("cancelling");
    fake.jobs[0].finish({ run_id: "run-2", dir: "/r", status: "cancelled", metrics: {} });
    await run;
    expect(s.run.phase).toBe("cancelled");
    expect(controls(s.run).resume).toBe(true);
  });

  it("shows a failed start as a banner with the action to take", async () => {
    const fake = fakeBackend();
    const s = session(fake);
    const run = s.start(request);
    fake.jobs[0].fail(new ApiError({ code: "data_unusable", message: "reviews.csv cannot be used for training: row 4 has no label" }));
    await run;
    const state = s.run;
    expect(state.phase).toBe("failed");
    expect(state.problem?.message).toContain("row 4 has no label");
    expect(state.problem?.action).toContain("Data screen");
    s.dismissProblem();
    expect(s.run.problem).toBeNull();
  });

  it("keeps running and says why when the app refuses to pause", async () => {
    const fake = fakeBackend({ jobCancel: () => Promise.reject(new ApiError({ code: "ipc", message: "job_cancel not found" })) });
    const s = session(fake);
    void s.start(request);
    fake.jobs[0].emit(runEvents("run-3", 2, 2)[0]);
    await s.pause();
    expect(s.run.phase).toBe("running");
    expect(s.run.problem?.message).toBe("job_cancel not found");
  });

  it("ignores a second Start while a job runs, and late events of an earlier job", async () => {
    const fake = fakeBackend();
    const s = session(fake);
    const first = s.start(request);
    void s.start(request);
    expect(fake.jobs).toHaveLength(1);
    const old = fake.jobs[0];
    old.emit(runEvents("old", 2, 2)[0]);
    await s.cancel();
    old.finish({ run_id: "old", dir: "/r", status: "cancelled", metrics: {} });
    await first;
    void s.start(request);
    old.emit(runEvents("old", 2, 2)[1]);
    expect(s.run.chart.steps).toHaveLength(0);
    expect(s.run.runId).toBeNull();
  });

  it("still takes the last events of a job that arrive just after its command answered", async () => {
    const fake = fakeBackend();
    const s = session(fake);
    const run = s.start(request);
    const events = runEvents("run-5", 4, 2);
    for (const e of events) fake.jobs[0].emit(e);
    fake.jobs[0].finish({ run_id: "run-5", dir: "/r", status: "finished", metrics: {} });
    await run;
    fake.jobs[0].emit({ run_id: "run-5", event: "finished", metrics: { accuracy: 0.5 }, steps: 4, best_step: 2, stopped_early: false });
    expect(s.run.phase).toBe("finished");
    expect(s.run.chart.finished?.bestStep).toBe(2);
  });

  it("continues an earlier run from the history", async () => {
    const fake = fakeBackend();
    const s = session(fake);
    const run = s.resumeRun("run-old");
    expect(fake.jobs[0]).toMatchObject({ command: "train_resume", arg: "run-old" });
    fake.jobs[0].finish({ run_id: "run-old", dir: "/r", status: "finished", metrics: {} });
    await run;
    await settle();
    expect(s.run).toMatchObject({ phase: "finished", runId: "run-old" });
  });

  it("counts the preparation before the first step in the elapsed time, and says it is preparing", async () => {
    const fake = fakeBackend();
    let now = 1_000_000;
    const s = new TrainSession(fake.backend, () => "job-1", () => now);
    const done = s.start(request);
    const events = runEvents("run-1", 4, 2);
    fake.jobs[0].emit(events[0]); // started: tokenising and caching, no step yet
    now += 15_000;
    expect(isPreparing(s.run)).toBe(true);
    expect(elapsedSeconds(s.run, now)).toBe(15);
    for (const e of events.slice(1)) fake.jobs[0].emit(e); // steps report 4 s of training
    expect(isPreparing(s.run)).toBe(false);
    now += 1_000;
    fake.jobs[0].finish({ run_id: "run-1", dir: "/r", status: "finished", metrics: {} });
    await done;
    // 16 s from Start to the end, not the 4 s of training steps; the clock stops at the end.
    expect(elapsedSeconds(s.run, now + 60_000)).toBe(16);
  });
});
