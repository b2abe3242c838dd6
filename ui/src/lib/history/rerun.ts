// A re-run started from the History screen, kept outside the screen so it is still shown (and can
// be cancelled) after visiting another screen. The new run appears in the table as soon as it is
// recorded; its live curves are on the Train screen's run page.

import { get, writable } from "svelte/store";
import { ApiError, errorMessage, newJobId } from "../api";
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

/** The re-run of this window, if any. */
export const rerunState = writable<RerunState | null>(null);

/** Re-runs `run` and resolves when it ends; `onRecorded` is called once the first event arrives. */
export async function startRerun(run: string, onRecorded: () => void): Promise<void> {
  const current = get(rerunState);
  if (current?.phase === "running") return;
  const jobId = newJobId();
  rerunState.set({ of: run, jobId, phase: "running", events: 0, newRun: null, message: null });
  try {
    const summary = await rerun(jobId, run, (event) => {
      const s = get(rerunState);
      if (s && s.jobId === jobId) {
        rerunState.set({ ...s, events: s.events + 1, newRun: s.newRun ?? runIdOf(event) });
        if (s.events === 0) onRecorded();
      }
    });
    const cancelled = statusOf(summary) === "cancelled";
    rerunState.update((s) =>
      s && s.jobId === jobId ? { ...s, phase: cancelled ? "cancelled" : "finished", newRun: runIdOf(summary) ?? s.newRun } : s,
    );
  } catch (e) {
    const cancelled = e instanceof ApiError && /cancel/i.test(e.code);
    rerunState.update((s) =>
      s && s.jobId === jobId ? { ...s, phase: cancelled ? "cancelled" : "failed", message: cancelled ? null : errorMessage(e) } : s,
    );
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
  const s = get(rerunState);
  if (s?.phase === "running") await cancelJob(s.jobId);
}
