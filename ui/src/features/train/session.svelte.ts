// The training session: the form the user is filling in and the run in progress, held at module
// level so leaving the Train screen and coming back loses nothing, and a run keeps streaming its
// events into the charts while another screen is shown.
//
// One run at a time. Pause is "cancel after a checkpoint" (job_cancel) and Resume continues from
// that checkpoint (train_resume), as the app's command contract defines them; Cancel stops the run
// for good from the screen's point of view (it stays resumable from History).

import { untrack } from "svelte";
import { type TrainBackend, tauriBackend } from "./backend";
import { applyEvent, type ChartModel, emptyChart } from "./chart";
import { type Problem, problemFrom } from "./errors";
import { asObject, KEYS } from "../../shared/persist";
import { Persisted } from "../../shared/persisted.svelte";
import { updateSelection } from "../../shared/selection.svelte";
import { initialForm, type TrainForm } from "./settings";
import type { RunEvent, TrainRequest, TrainSummary } from "./types";

/** Where the session's run is. */
export type Phase =
  | "idle"
  | "starting"
  | "running"
  | "pausing"
  | "paused"
  | "cancelling"
  | "cancelled"
  | "finished"
  | "failed";

/** The run as the screen shows it. */
export interface RunState {
  phase: Phase;
  /** The job the app is running now, while one is. */
  jobId: string | null;
  /** The run's id in the history, once the first event named it. */
  runId: string | null;
  /** The request the run started with. */
  request: TrainRequest | null;
  chart: ChartModel;
  summary: TrainSummary | null;
  problem: Problem | null;
  /**
   * When this session's job started (ms since the epoch, the window's clock): the elapsed time
   * counts from here, so the preparation before the first step (tokenising, caching features) is
   * part of it, as it is part of the user's wait.
   */
  startedAt: number | null;
  /** When the job ended, once it has. */
  endedAt: number | null;
}

/** A session that has not trained anything. */
export function idleRun(): RunState {
  return {
    phase: "idle",
    jobId: null,
    runId: null,
    request: null,
    chart: emptyChart(),
    summary: null,
    problem: null,
    startedAt: null,
    endedAt: null,
  };
}

/** Whether a job is running in the app for this session. */
export function isBusy(phase: Phase): boolean {
  return phase === "starting" || phase === "running" || phase === "pausing" || phase === "cancelling";
}

/** What the screen can do in each phase. */
export function controls(state: RunState): { start: boolean; pause: boolean; cancel: boolean; resume: boolean } {
  const p = state.phase;
  return {
    start: !isBusy(p) && p !== "paused",
    pause: p === "running",
    cancel: p === "starting" || p === "running" || p === "paused",
    resume: state.runId !== null && (p === "paused" || p === "cancelled" || p === "failed"),
  };
}

/**
 * Whether the job is still preparing: started, but no training step yet (the data is being read,
 * tokenised, and for feature extraction run once through the model).
 */
export function isPreparing(state: RunState): boolean {
  return (state.phase === "starting" || state.phase === "running") && state.chart.steps.length === 0 && state.chart.failed === null;
}

/**
 * Seconds the run has taken as the user waited for it, preparation included: the wall clock from
 * Start to the end (or to `now` while it runs), and never less than the training time the events
 * report (a resumed run's earlier sessions count too).
 */
export function elapsedSeconds(state: RunState, now: number): number {
  const wall = state.startedAt === null ? 0 : Math.max(0, ((state.endedAt ?? now) - state.startedAt) / 1000);
  return Math.max(wall, state.chart.elapsed);
}

/**
 * A training session bound to `backend`; the screens read `run` (reactive). Its methods read the
 * run untracked (they are actions, not views), so an effect that calls one does not follow `run`.
 */
export class TrainSession {
  /** The run's state, held as given and replaced whole on each change. */
  run = $state.raw<RunState>(idleRun());
  /** What the user asked the running job to do: stop to pause, or stop for good. */
  #intent: "pause" | "cancel" | null = null;
  /**
   * The latest job started. Its events are taken even after its command resolved: channel
   * messages and the command's answer travel separately, so the last events (`finished` with the
   * kept checkpoint) may arrive just after it. Events of an earlier job are dropped.
   */
  #currentJob: string | null = null;

  constructor(
    private readonly backend: TrainBackend,
    private readonly newJobId: () => string = () => crypto.randomUUID(),
    private readonly clock: () => number = () => Date.now(),
  ) {}

  /** The run now, read untracked. */
  #now(): RunState {
    return untrack(() => this.run);
  }

  /** Replaces the run by `f` of the run now. */
  #update(f: (s: RunState) => RunState): void {
    this.run = f(this.#now());
  }

  #onEventFor(jobId: string) {
    return (event: RunEvent) => {
      this.#update((s) => {
        if (jobId !== this.#currentJob) return s; // a late event of an earlier job
        const chart = applyEvent(s.chart, event);
        const phase = event.event === "started" && s.phase === "starting" ? "running" : s.phase;
        // A new run's `preparing` events come before it has an id.
        return { ...s, chart, runId: event.run_id === "" ? s.runId : event.run_id, phase };
      });
    };
  }

  async #drive(jobId: string, call: (onEvent: (e: RunEvent) => void) => Promise<TrainSummary>) {
    this.#intent = null;
    try {
      const summary = await call(this.#onEventFor(jobId));
      if (summary.status === "finished") updateSelection({ runId: summary.run_id });
      this.#update((s) => {
        if (s.jobId !== jobId) return s;
        const phase: Phase = summary.status === "finished" ? "finished" : this.#intent === "pause" ? "paused" : "cancelled";
        return { ...s, phase, jobId: null, runId: summary.run_id, summary, endedAt: this.clock() };
      });
    } catch (error) {
      this.#update((s) =>
        s.jobId !== jobId ? s : { ...s, phase: "failed", jobId: null, problem: problemFrom(error), endedAt: this.clock() },
      );
    } finally {
      this.#intent = null;
    }
  }

  /** Starts a new run with `request` (ignored while a job runs). */
  start(request: TrainRequest): Promise<void> {
    if (isBusy(this.#now().phase)) return Promise.resolve();
    const jobId = this.newJobId();
    this.#currentJob = jobId;
    this.run = { ...idleRun(), phase: "starting", jobId, request, startedAt: this.clock() };
    return this.#drive(jobId, (onEvent) => this.backend.trainStart(jobId, request, onEvent));
  }

  /** Continues the session's run (paused, cancelled or failed) from its last checkpoint. */
  resume(): Promise<void> {
    const s = this.#now();
    if (!controls(s).resume || s.runId === null) return Promise.resolve();
    const runId = s.runId;
    const jobId = this.newJobId();
    this.#currentJob = jobId;
    this.run = { ...s, phase: "starting", jobId, problem: null, summary: null, startedAt: this.clock(), endedAt: null };
    return this.#drive(jobId, (onEvent) => this.backend.trainResume(jobId, runId, onEvent));
  }

  /** "Train longer": the session's finished run continues from its last checkpoint with more epochs. */
  longer(): Promise<void> {
    const s = this.#now();
    if (s.phase !== "finished" || s.runId === null) return Promise.resolve();
    const runId = s.runId;
    const jobId = this.newJobId();
    this.#currentJob = jobId;
    this.run = { ...s, phase: "starting", jobId, problem: null, summary: null, startedAt: this.clock(), endedAt: null };
    return this.#drive(jobId, (onEvent) => this.backend.trainLonger(jobId, runId, null, onEvent));
  }

  /** Continues an earlier run from the history (interrupted by a crash, cancelled, failed). */
  resumeRun(runId: string): Promise<void> {
    if (isBusy(this.#now().phase)) return Promise.resolve();
    const jobId = this.newJobId();
    this.#currentJob = jobId;
    this.run = { ...idleRun(), phase: "starting", jobId, runId, startedAt: this.clock() };
    return this.#drive(jobId, (onEvent) => this.backend.trainResume(jobId, runId, onEvent));
  }

  /** Asks the running job to stop after a checkpoint, to be resumed later. */
  async pause(): Promise<void> {
    const s = this.#now();
    if (!controls(s).pause || s.jobId === null) return;
    this.#intent = "pause";
    this.run = { ...s, phase: "pausing" };
    await this.#stopJob(s.jobId, "running");
  }

  /** Stops the run: the running job after a checkpoint, or a paused run as it stands. */
  async cancel(): Promise<void> {
    const s = this.#now();
    if (!controls(s).cancel) return;
    if (s.phase === "paused" || s.jobId === null) {
      this.run = { ...s, phase: "cancelled" };
      return;
    }
    this.#intent = "cancel";
    this.run = { ...s, phase: "cancelling" };
    await this.#stopJob(s.jobId, s.phase);
  }

  /** Hides the error banner. */
  dismissProblem(): void {
    this.#update((s) => ({ ...s, problem: null }));
  }

  /** Shows `problem` in the banner (for errors outside the run, e.g. a refused Start). */
  report(problem: Problem): void {
    this.#update((s) => ({ ...s, problem }));
  }

  async #stopJob(jobId: string, previous: Phase) {
    try {
      await this.backend.jobCancel(jobId);
    } catch (error) {
      this.#intent = null;
      this.#update((s) => (s.jobId !== jobId ? s : { ...s, phase: previous, problem: problemFrom(error) }));
    }
  }
}

/** The app's one training session. */
export const trainSession = new TrainSession(tauriBackend);

/**
 * A form read back from storage, on top of a fresh one: a field of the wrong type keeps its fresh
 * value.
 */
export function acceptForm(raw: unknown): TrainForm | null {
  const o = asObject(raw);
  if (o === null) return null;
  const out = initialForm();
  for (const key of ["model", "data", "text_column", "label_column", "prompt_column", "response_column"] as const) {
    if (typeof o[key] === "string") out[key] = o[key] as string;
  }
  if (o.task === "classify" || o.task === "generate") out.task = o.task;
  if (o.method === "full" || o.method === "features" || o.method === "lora" || o.method === "qlora") out.method = o.method;
  if (typeof o.methodChosen === "boolean") out.methodChosen = o.methodChosen;
  if (o.device === "auto" || o.device === "cpu" || o.device === "cuda" || o.device === "metal") out.device = o.device;
  if (o.checkpointing === "auto" || o.checkpointing === "on" || o.checkpointing === "off") out.checkpointing = o.checkpointing;
  if (typeof o.forgetting_check === "boolean") out.forgetting_check = o.forgetting_check;
  if (o.precision === "auto" || o.precision === "f32" || o.precision === "bf16") out.precision = o.precision;
  if (o.preset === "quick" || o.preset === "balanced" || o.preset === "best" || o.preset === "custom") out.preset = o.preset;
  const params = asObject(o.params);
  if (params !== null) {
    for (const key of Object.keys(out.params) as (keyof TrainForm["params"])[]) {
      const v = params[key];
      if (v === null || (typeof v === "number" && Number.isFinite(v))) out.params[key] = v;
    }
  }
  return out;
}

/** The app's one training form (kept while other screens are shown, and across restarts). */
export const trainForm = new Persisted<TrainForm>(KEYS.trainForm, initialForm(), acceptForm);

/**
 * Whether a training job is running now: the frame asks this before the window closes ("closing
 * stops the run; it can be resumed from its last checkpoint").
 */
export function trainingInProgress(): boolean {
  return isBusy(untrack(() => trainSession.run).phase);
}
