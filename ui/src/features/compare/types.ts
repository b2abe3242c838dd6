// The shapes the Chat & Compare screen exchanges with the app: the generated `bindings.ts` types
// (from the facade's serde types: src/chat.rs, src/compare.rs, src/ratings*.rs, src/rag.rs + crates/rag,
// src/predict.rs, crates/store, crates/hub), under the names this screen uses. Numbers that may be
// non-finite on the Rust side (scores, seconds, rates) arrive as `number | null`.

import type { ChatArgs, CompareArgs, Configuration, RagIndexArgs } from "../../bindings";

export type {
  BlindOrder,
  ChatAnswer,
  ChatEvent,
  Choice,
  CitedPassage,
  CompareProgress,
  CompareReport,
  ConfigurationScores,
  FileReport,
  FileStatus,
  IndexEntry,
  IndexSettings,
  IngestProgress,
  IngestReport,
  LabelProbability,
  ModelList,
  ModelRecord,
  Passage,
  Prediction,
  Problem,
  QuestionResult,
  PairTally,
  RateArgs,
  Rating,
  RatingsExport,
  RatingsTally,
  RunStatus,
  RunSummary,
  ScoredAnswer,
  Side,
  StopReason,
  Verdict,
} from "../../bindings";

/** One of the four ways of answering, as `compare::Configuration` names it. */
export type ColumnId = Configuration;

/** The `chat` command's request. */
export type ChatRequest = ChatArgs;

/** The `rag_index` command's request. */
export type IndexRequest = RagIndexArgs;

/** The `compare_questions` command's request. */
export type CompareRequest = CompareArgs;
