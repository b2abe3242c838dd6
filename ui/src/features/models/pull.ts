// A download's progress as the Models screen shows it, folded from the pull's event stream
// (`PullEvent`, in order: started, per file ..., finished). Pure: the screen keeps the state, this
// says how each event changes it.

import type { PullEvent } from "./types";

/** Where a download is. */
export type PullPhase = "starting" | "downloading" | "finished" | "cancelled" | "failed";

/** What the screen shows about one download. */
export type PullState = {
  /** The hub id being pulled. */
  id: string;
  /** The job id the pull runs under (what Cancel sends). */
  jobId: string;
  phase: PullPhase;
  /** Bytes done over the whole pull (cached and resumed bytes included). */
  bytesDone: number;
  /** Bytes of the whole pull; 0 until the plan arrives. */
  totalBytes: number;
  /** Bytes per second over this pull. */
  rate: number;
  /** Seconds left, when they can be told. */
  eta: number | null;
  /** The file being fetched. */
  file: string | null;
  /** Files planned and files done (downloaded or found in the cache). */
  filesTotal: number;
  filesDone: number;
  /** The latest notice worth reading (a retry, a corrupted file, offline), or the failure. */
  notice: string | null;
  /** The error code the pull ended with, when it did not finish. */
  code: string | null;
};

/** The state of a pull that has just been asked for. */
export function startingPull(id: string, jobId: string): PullState {
  return {
    id,
    jobId,
    phase: "starting",
    bytesDone: 0,
    totalBytes: 0,
    rate: 0,
    eta: null,
    file: null,
    filesTotal: 0,
    filesDone: 0,
    notice: null,
    code: null,
  };
}

/** The state after `event`. */
export function applyPullEvent(state: PullState, event: PullEvent): PullState {
  switch (event.event) {
    case "started":
      return {
        ...state,
        phase: "downloading",
        totalBytes: event.total_bytes,
        filesTotal: event.files.length,
        filesDone: 0,
      };
    case "file_started":
      return { ...state, phase: "downloading", file: event.file };
    case "progress":
      return {
        ...state,
        phase: "downloading",
        file: event.file,
        bytesDone: event.bytes_done,
        totalBytes: event.total_bytes,
        rate: event.rate_bytes_per_s ?? 0,
        eta: event.eta_s,
      };
    case "retrying":
      return {
        ...state,
        notice: `The transfer of ${event.file} broke (${event.reason}); trying again (attempt ${event.attempt}).`,
      };
    case "corrupted":
      return {
        ...state,
        notice: `${event.file} did not match the hub's checksum; it was deleted and is fetched again.`,
      };
    case "file_done":
    case "file_cached":
      return { ...state, filesDone: Math.min(state.filesTotal || Infinity, state.filesDone + 1) };
    case "offline":
      return { ...state, notice: `The hub could not be reached (${event.reason}); the copy on this computer is used.` };
    case "finished":
      return { ...state, phase: "finished", bytesDone: Math.max(state.bytesDone, state.totalBytes), eta: 0, file: null };
  }
}

/** The state of a pull that ended with an error; a cancellation reads as cancelled, not failed. */
export function endedPull(state: PullState, error: { code: string; message: string }): PullState {
  const cancelled = error.code === "cancelled" || /cancel/i.test(error.code);
  return {
    ...state,
    phase: cancelled ? "cancelled" : "failed",
    code: error.code,
    rate: 0,
    eta: null,
    notice: cancelled ? "Download cancelled; what was downloaded is kept and a new download resumes from it." : error.message,
  };
}

/** Whether the pull is still running (Cancel is offered). */
export function isActive(state: PullState): boolean {
  return state.phase === "starting" || state.phase === "downloading";
}
