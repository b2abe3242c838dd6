// The Chat & Compare screen's door to the app: the generated commands it calls (models, runs,
// indexes, chat, indexing, question sets, predict, cancel), each a promise of its data that throws
// an `ApiError` on failure, with long jobs streaming typed events through a per-job Channel.
//
// An interface, so the screen's session logic is tested with a fake; `tauriBackend` is the real one.
// Lists are read defensively: an answer of the wrong shape reads as an empty list, so the screen
// never breaks on an app that answers differently (and its empty state stays honest).

import { Channel } from "@tauri-apps/api/core";
import { commands } from "../../bindings";
import { unwrap } from "../../shared/api";
import type {
  ChatAnswer,
  ChatEvent,
  ChatRequest,
  CompareProgress,
  CompareReport,
  CompareRequest,
  IndexEntry,
  IndexRequest,
  IngestProgress,
  IngestReport,
  ModelRecord,
  Prediction,
  RunSummary,
} from "./types";

/** What the screen needs from the app. */
export interface CompareBackend {
  /** Cached and imported models. */
  modelsList(): Promise<ModelRecord[]>;
  /** The run history. */
  runsList(): Promise<RunSummary[]>;
  /** The document indexes. */
  ragList(): Promise<IndexEntry[]>;
  /** Answers one question, streaming `ChatEvent`s. */
  chat(jobId: string, request: ChatRequest, onEvent: (e: ChatEvent) => void): Promise<ChatAnswer>;
  /** Builds or updates an index, streaming progress. */
  ragIndex(
    jobId: string,
    request: IndexRequest,
    onEvent: (e: IngestProgress) => void,
  ): Promise<IngestReport>;
  /** Answers a question set with every configuration, streaming progress. */
  compareQuestions(
    jobId: string,
    request: CompareRequest,
    onEvent: (e: CompareProgress) => void,
  ): Promise<CompareReport>;
  /** Classifies a text with a classification run. */
  predict(run: string, text: string): Promise<Prediction>;
  /** Cancels a job started with `jobId`. */
  jobCancel(jobId: string): Promise<void>;
}

/** `value` if it is an array, else an empty one. */
function list<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

/** Whether `value` is an object with a string `field`. */
function named(value: unknown, field: string): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Record<string, unknown>)[field] === "string"
  );
}

/** The models of a `ModelList` (`{ models: [...] }`), or of a bare array. */
export function modelsOf(value: unknown): ModelRecord[] {
  const raw = Array.isArray(value)
    ? value
    : typeof value === "object" && value !== null
      ? (value as { models?: unknown }).models
      : [];
  return list<ModelRecord>(raw).filter((m) => named(m, "id") && named(m, "path"));
}

/** The indexes of a `rag_list` answer: `[{ name, path, settings, documents, chunks }]`. */
export function indexesOf(value: unknown): IndexEntry[] {
  return list<IndexEntry>(value).filter((e) => named(e, "name"));
}

/** The runs of a `runs_list` answer. */
export function runsOf(value: unknown): RunSummary[] {
  return list<RunSummary>(value).filter((r) => named(r, "id") && named(r, "name"));
}

/** The real backend: the app's generated commands over Tauri's IPC. */
export const tauriBackend: CompareBackend = {
  modelsList: async () => modelsOf(await unwrap(commands.modelsList())),
  runsList: async () => runsOf(await unwrap(commands.runsList())),
  ragList: async () => indexesOf(await unwrap(commands.ragList())),
  chat: (jobId, request, onEvent) =>
    unwrap(commands.chat(jobId, request, new Channel<ChatEvent>(onEvent))),
  ragIndex: (jobId, request, onEvent) =>
    unwrap(commands.ragIndex(jobId, request, new Channel<IngestProgress>(onEvent))),
  compareQuestions: (jobId, request, onEvent) =>
    unwrap(commands.compareQuestions(jobId, request, new Channel<CompareProgress>(onEvent))),
  predict: (run, text) => unwrap(commands.predict(run, text)),
  jobCancel: async (jobId) => {
    await unwrap(commands.jobCancel(jobId));
  },
};

/** A fresh job id for a long job (the one definition is in `../api`). */
export { newJobId } from "../../shared/api";
