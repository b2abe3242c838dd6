// The error grid's door to the app: the wrong and least-sure test rows, the corrected copy, and the
// retrain on it (a training job streaming its events). An interface, so the grid is tested with a
// fake; `tauriErrorsBackend` is the real one.

import { Channel } from "@tauri-apps/api/core";
import { commands, type CorrectedCopy, type Corrections, type ErrorRow, type ErrorsReport, type RunEvent, type TrainSummary } from "../../bindings";
import { unwrap } from "../../shared/api";

export type { CorrectedCopy, Corrections, ErrorRow, ErrorsReport, RunEvent, TrainSummary };

/** What the grid needs from the app. */
export interface ErrorsBackend {
  /** The wrong and least-sure test rows of `run`. */
  errorsList(run: string): Promise<ErrorsReport>;
  /** Writes a corrected copy of `run`'s data beside it (the original is never edited). */
  errorsCorrect(run: string, corrections: Corrections): Promise<CorrectedCopy>;
  /** Trains `run`'s settings on `data` as a new run linked to it, streaming its events. */
  trainCorrected(jobId: string, run: string, data: string, onEvent: (e: RunEvent) => void): Promise<TrainSummary>;
  /** Stops job `jobId` (training stops after its current step). */
  jobCancel(jobId: string): Promise<void>;
}

/** The real app. */
export const tauriErrorsBackend: ErrorsBackend = {
  errorsList: (run) => unwrap(commands.errorsList(run)),
  errorsCorrect: (run, corrections) => unwrap(commands.errorsCorrect(run, corrections)),
  trainCorrected: (jobId, run, data, onEvent) => unwrap(commands.trainCorrected(jobId, run, data, new Channel<RunEvent>(onEvent))),
  jobCancel: async (jobId) => {
    await unwrap(commands.jobCancel(jobId));
  },
};
