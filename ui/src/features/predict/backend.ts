// "Run on a file"'s door to the app: the `predict_file` command (progress over a per-job Channel)
// and `job_cancel`. An interface, so the panel is tested with a fake; `tauriPredictBackend` is the
// real one.

import { Channel } from "@tauri-apps/api/core";
import { commands, type PredictFileProgress, type PredictFileRequest, type PredictFileSummary } from "../../bindings";
import { unwrap } from "../../shared/api";

export type { PredictFileProgress, PredictFileRequest, PredictFileSummary };

/** What the panel needs from the app. */
export interface PredictBackend {
  /** Predicts every row of `request.data` as job `jobId`, streaming progress. */
  predictFile(
    jobId: string,
    request: PredictFileRequest,
    onProgress: (p: PredictFileProgress) => void,
  ): Promise<PredictFileSummary>;
  /** Stops job `jobId` (its output is not written). */
  jobCancel(jobId: string): Promise<void>;
}

/** The real app. */
export const tauriPredictBackend: PredictBackend = {
  predictFile: (jobId, request, onProgress) =>
    unwrap(commands.predictFile(jobId, request, new Channel<PredictFileProgress>(onProgress))),
  jobCancel: async (jobId) => {
    await unwrap(commands.jobCancel(jobId));
  },
};
