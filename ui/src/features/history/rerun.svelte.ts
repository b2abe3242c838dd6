// A re-run started from the History screen, kept outside the screen so it is still shown (and can
// be cancelled) after visiting another screen. The new run appears in the table as soon as it is
// recorded; its live curves are on the Train screen's run page.

import { ApiError, errorMessage, newJobId } from "../../shared/api";
import { cancelJob } from "../models/backend";
import { rerun } from "./backend";

/** The re-run in progress or last ended. */
export type RerunState = {
  /** The run being repeated. */
  of: string;
  jobId: string;
  phase: "running" | "finished" | "cancelled" | "failed";
  /** Training events received so far (shows that it is alive). */
  events: number;
  /** The new run's id, once its first event names it. */
  newRun: string | null;
  /** The failure, when it failed. */
  message: string | null;
};

/** The latest re-run of this window, held as given and replaced whole on each change. */
export class LatestRerun {
  current = $state.raw<RerunState | null>(null);
}

/** The re-run of this window, if any, in `rerunState.current`. */
export const rerunState = new LatestRerun();

/** Changes the re-run of job `jobId`, if it is still the latest one. */
function update(jobId: string, f: (s: RerunState) => RerunState): void {
  const s = rerunState.current;
  if (s && s.jobId === jobId) rerunState.current = f(s);
}

/** Re-runs `run` and resolves when it ends; `onRecorded` is called once the first event arrives. */
export async function startRerun(run: string, onRecorded: () => void): Promise<void> {
  if (rerunState.current?.phase === "running") return;
  const jobId = newJobId();
  rerunState.current = { of: run, jobId, phase: "running", events: 0, newRun: null, message: null };
  try {
    const summary = await rerun(jobId, run, (event) => {
      const s = rerunState.current;
      if (s && s.jobId === jobId) {
        rerunState.current = { ...s, events: s.events + 1, newRun: s.newRun ?? runIdOf(event) };
        if (s.events === 0) onRecorded();
      }
    });
    const cancelled = statusOf(summary) === "cancelled";
    update(jobId, (s) => ({ ...s, phase: cancelled ? "cancelled" : "finished", newRun: runIdOf(summary) ?? s.newRun }));
  } catch (e) {
    const cancelled = e instanceof ApiError && /cancel/i.test(e.code);
    update(jobId, (s) => ({ ...s, phase: cancelled ? "cancelled" : "failed", message: cancelled ? null : errorMessage(e) }));
  }
}

/** The `run_id` a training event or summary carries. */
export function runIdOf(value: unknown): string | null {
  const id = typeof value === "object" && value !== null ? (value as { run_id?: unknown }).run_id : undefined;
  return typeof id === "string" ? id : null;
}

/** The `status` a training summary carries. */
function statusOf(value: unknown): string | null {
  const status = typeof value === "object" && value !== null ? (value as { status?: unknown }).status : undefined;
  return typeof status === "string" ? status : null;
}

/** Cancels the running re-run (training stops after its current step; the run is kept as cancelled). */
export async function cancelRerun(): Promise<void> {
  const s = rerunState.current;
  if (s?.phase === "running") await cancelJob(s.jobId);
}
