// The run-history commands the Home and History screens use: list, show, compare, delete, open
// the folder and re-run (exporting is features/export/backend.ts). A thin layer over the generated
// commands, so the screens can be tested with the IPC mocked.

import { Channel } from "@tauri-apps/api/core";
import { commands } from "../../bindings";
import { checked, isObject, unwrap } from "../../shared/api";
import type {
  DeletedRun,
  RunComparison,
  RunDetails,
  RunEvent,
  RunSummary,
  TrainSummary,
} from "./types";

/** Every run, newest first. */
export function listRuns(): Promise<RunSummary[]> {
  return unwrap(commands.runsList()).then(checked("runs_list", Array.isArray));
}

/** Everything about one run. */
export function showRun(run: string): Promise<RunDetails> {
  return unwrap(commands.runsShow(run)).then(checked("runs_show", (v) => isObject(v) && isObject(v.run)));
}

/** Two runs side by side. */
export function compareRuns(left: string, right: string): Promise<RunComparison> {
  return unwrap(commands.runsCompare(left, right)).then(
    checked("runs_compare", (v) => isObject(v) && Array.isArray(v.config_differences)),
  );
}

/** Deletes a run's record and files. */
export function deleteRun(run: string): Promise<DeletedRun> {
  return unwrap(commands.runsDelete(run));
}

/** Opens `run`'s folder in the file manager; answers the folder's path. */
export function openRunFolder(run: string): Promise<string> {
  return unwrap(commands.runsOpenFolder(run));
}

/** Re-runs `run` exactly (same config, data and seed) under `jobId`; `onEvent` sees its training events. */
export function rerun(jobId: string, run: string, onEvent: (event: RunEvent) => void): Promise<TrainSummary> {
  const channel = new Channel<RunEvent>();
  channel.onmessage = onEvent;
  return unwrap(commands.trainRerun(jobId, run, channel));
}
