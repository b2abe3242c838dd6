// The downloads in progress, kept outside the Models screen so a download goes on (and its progress
// is still shown) when the user moves to another screen and back.

import { get, writable } from "svelte/store";
import { ApiError, errorMessage } from "../api";
import { cancelJob, pullModel } from "./backend";
import { applyPullEvent, endedPull, isActive, startingPull, type PullState } from "./pull";
import type { PullReport } from "./types";

/** Every download of this session by hub id, the latest state of each. */
export const downloads = writable<Record<string, PullState>>({});

/** A fresh job id for a long command. */
export function newJobId(): string {
  if (typeof crypto !== "undefined" && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function update(id: string, f: (s: PullState) => PullState) {
  downloads.update((all) => (all[id] ? { ...all, [id]: f(all[id]) } : all));
}

/**
 * Starts pulling `id` (unless it is already downloading) and resolves when it ends: with the
 * report when it finished, `null` when it was cancelled or failed (the state says which and why).
 */
export async function startDownload(id: string): Promise<PullReport | null> {
  const current = get(downloads)[id];
  if (current && isActive(current)) return null;
  const jobId = newJobId();
  downloads.update((all) => ({ ...all, [id]: startingPull(id, jobId) }));
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
  const state = get(downloads)[id];
  if (!state || !isActive(state)) return;
  await cancelJob(state.jobId);
}

/** Forgets a download that has ended (the row's progress disappears). */
export function dismissDownload(id: string): void {
  downloads.update((all) => {
    if (!all[id] || isActive(all[id])) return all;
    const { [id]: _gone, ...rest } = all;
    return rest;
  });
}
