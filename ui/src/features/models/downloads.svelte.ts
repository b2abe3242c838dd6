// The downloads in progress, kept outside the Models screen so a download goes on (and its progress
// is still shown) when the user moves to another screen and back.

import { ApiError, errorMessage, newJobId } from "../../shared/api";
import { cancelJob, pullModel } from "./backend";
import { applyPullEvent, endedPull, isActive, startingPull, type PullState } from "./pull";
import type { PullReport } from "./types";

/** Every download of this session by hub id, the latest state of each (replaced whole on each change). */
export class Downloads {
  all = $state.raw<Record<string, PullState>>({});
}

/** The downloads of this window. */
export const downloads = new Downloads();

function update(id: string, f: (s: PullState) => PullState) {
  const all = downloads.all;
  if (all[id]) downloads.all = { ...all, [id]: f(all[id]) };
}

/**
 * Starts pulling `id` (unless it is already downloading) and resolves when it ends: with the
 * report when it finished, `null` when it was cancelled or failed (the state says which and why).
 */
export async function startDownload(id: string): Promise<PullReport | null> {
  const current = downloads.all[id];
  if (current && isActive(current)) return null;
  const jobId = newJobId();
  downloads.all = { ...downloads.all, [id]: startingPull(id, jobId) };
  try {
    const report = await pullModel(jobId, id, (event) => update(id, (s) => applyPullEvent(s, event)));
    update(id, (s) => (s.phase === "finished" ? s : applyPullEvent(s, { event: "finished", repo: report.repo, commit: report.commit, snapshot: report.snapshot, bytes_downloaded: report.bytes_downloaded })));
    return report;
  } catch (e) {
    const code = e instanceof ApiError ? e.code : "ipc";
    update(id, (s) => endedPull(s, { code, message: errorMessage(e) }));
    return null;
  }
}

/** Asks the app to cancel the download of `id`; the pull then ends as cancelled. */
export async function cancelDownload(id: string): Promise<void> {
  const state = downloads.all[id];
  if (!state || !isActive(state)) return;
  await cancelJob(state.jobId);
}

/** Forgets a download that has ended (the row's progress disappears). */
export function dismissDownload(id: string): void {
  const all = downloads.all;
  if (!all[id] || isActive(all[id])) return;
  const { [id]: _gone, ...rest } = all;
  downloads.all = rest;
}
