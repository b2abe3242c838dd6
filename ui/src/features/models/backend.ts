// The model commands the Models screen uses: the local registry, suggestions, hub search, pull with
// progress, import, and cancel. A thin layer over the generated commands, so the screen's logic
// can be tested with the IPC mocked.

import { Channel } from "@tauri-apps/api/core";
import { commands } from "../../bindings";
import { checked, isObject, unwrap } from "../../shared/api";
import type { ModelList, ModelRecord, PullEvent, PullReport, SearchResults, Suggestion } from "./types";

/** The models on this computer (hub cache and imports); works offline. */
export function listModels(): Promise<ModelList> {
  return unwrap(commands.modelsList()).then(checked("models_list", (v) => isObject(v) && Array.isArray(v.models)));
}

/** The curated suggestions, every task. */
export function suggestedModels(): Promise<Suggestion[]> {
  return unwrap(commands.modelsSuggested()).then(checked("models_suggested", Array.isArray));
}

/** Searches the hub, optionally for one task tag. */
export function searchModels(query: string, task: string | null): Promise<SearchResults> {
  return unwrap(commands.modelsSearch(query, task)).then(
    checked("models_search", (v) => isObject(v) && Array.isArray(v.results)),
  );
}

/** Pulls `id` into the HF cache under `jobId`, calling `onEvent` for each progress event. */
export function pullModel(jobId: string, id: string, onEvent: (e: PullEvent) => void): Promise<PullReport> {
  const channel = new Channel<PullEvent>();
  channel.onmessage = onEvent;
  return unwrap(commands.modelsPull(jobId, id, null, channel));
}

/** Imports a model folder or a `.gguf` file. */
export function importModel(path: string): Promise<ModelRecord> {
  return unwrap(commands.modelsImport(path)).then(checked("models_import", (v) => isObject(v) && typeof v.id === "string"));
}

/** Cancels the job `jobId` (a pull, a training run ...). */
export function cancelJob(jobId: string): Promise<void> {
  return unwrap(commands.jobCancel(jobId)).then(() => undefined);
}
