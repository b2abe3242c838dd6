// The Train and Evaluate screens' door to the app: the generated commands they use, behind one
// interface so the run controller and the screens are tested with a fake.
//
// Answers are also checked for their shape: an app older than this UI (or a test double that
// answers something else) gives a clear error, never a crash further on.

import { Channel } from "@tauri-apps/api/core";
import { commands } from "../../bindings";
import { ApiError, unwrap } from "../../shared/api";
import type {
  EstimateOptions,
  EstimateReport,
  EvalReport,
  RunDetails,
  RunEvent,
  RunSummary,
  SampleAnswer,
  TrainRequest,
  TrainSummary,
} from "./types";

/** What the screens need from the app. */
export interface TrainBackend {
  /** Starts a run; `onEvent` gets each event; resolves when the run ends. */
  trainStart(jobId: string, request: TrainRequest, onEvent: (e: RunEvent) => void): Promise<TrainSummary>;
  /** Continues a paused, cancelled or interrupted run from its last checkpoint. */
  trainResume(jobId: string, run: string, onEvent: (e: RunEvent) => void): Promise<TrainSummary>;
  /** Trains a finished run longer from its last checkpoint (`moreEpochs` null: half as many again). */
  trainLonger(jobId: string, run: string, moreEpochs: number | null, onEvent: (e: RunEvent) => void): Promise<TrainSummary>;
  /** Asks a job to stop (training stops after writing a checkpoint). */
  jobCancel(jobId: string): Promise<void>;
  /** Peak memory, verdict and time per step for a model and settings. */
  estimate(model: string, options: EstimateOptions): Promise<EstimateReport>;
  /** Every run, newest first. */
  runsList(): Promise<RunSummary[]>;
  /** One run's details (metrics summaries, evaluations). */
  runsShow(run: string): Promise<RunDetails>;
  /** Base against fine-tuned on the run's held-out rows (classification runs). */
  evalRun(run: string): Promise<EvalReport>;
  /** Scores a generation run's test responses (base and fine-tuned) into its history; answers a few held-out prompts
   * answered by both models. */
  evalGenerationRun(run: string): Promise<SampleAnswer[]>;
}

/** Whether `value` is an object with every key in `keys`. */
export function hasKeys(value: unknown, keys: string[]): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && keys.every((k) => k in value);
}

/** Returns `answer` when `valid` says it has the expected shape, else an error naming `command`. */
function checked<T>(command: string, valid: (v: unknown) => boolean) {
  return (answer: T): T => {
    if (valid(answer)) return answer;
    throw new ApiError({
      code: "ipc",
      message: `The app gave an unexpected answer to ${command}; this version of the app may not support it yet. Update Tunesmith, or use the tunesmith command line for this step.`,
    });
  };
}

const isSummary = (v: unknown) => hasKeys(v, ["run_id", "status"]);

/** The real app, over Tauri's IPC. */
export const tauriBackend: TrainBackend = {
  trainStart(jobId, request, onEvent) {
    return unwrap(commands.trainStart(jobId, request, new Channel<RunEvent>(onEvent))).then(checked("train_start", isSummary));
  },
  trainResume(jobId, run, onEvent) {
    return unwrap(commands.trainResume(jobId, run, new Channel<RunEvent>(onEvent))).then(checked("train_resume", isSummary));
  },
  trainLonger(jobId, run, moreEpochs, onEvent) {
    return unwrap(commands.trainLonger(jobId, run, moreEpochs, new Channel<RunEvent>(onEvent))).then(checked("train_longer", isSummary));
  },
  async jobCancel(jobId) {
    await unwrap(commands.jobCancel(jobId));
  },
  estimate(model, options) {
    return unwrap(commands.modelsEstimate(model, options)).then(
      checked("models_estimate", (v) => hasKeys(v, ["breakdown", "verdict", "time"])),
    );
  },
  runsList() {
    return unwrap(commands.runsList()).then(checked("runs_list", Array.isArray));
  },
  runsShow(run) {
    return unwrap(commands.runsShow(run)).then(checked("runs_show", (v) => hasKeys(v, ["run", "metrics", "evaluations"])));
  },
  evalGenerationRun(run) {
    return unwrap(commands.evalGenerationRun(run));
  },
  evalRun(run) {
    return unwrap(commands.evalRun(run)).then(checked("eval_run", (v) => hasKeys(v, ["fine_tuned", "base", "rows"])));
  },
};
