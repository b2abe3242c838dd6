// The shapes of the training, estimate and evaluation commands, as generated into `bindings.ts`
// from the Rust types (field names are the serde names), re-exported so the Train and Evaluate
// code imports them from one place.
//
// Numbers the Rust side holds as f64 arrive as `number | null`: JSON has no NaN or infinity, and
// serde writes them as null (a diverging loss is exactly that), so every reader handles null.

import type { MemoryVerdict } from "../../bindings";

export type {
  BaselineReport,
  Breakdown,
  Checkpointing,
  ClassificationReport,
  ClassScores,
  DeviceRequest,
  EstimateOptions,
  EstimateReport,
  EvalReport,
  EvaluationRecord,
  Method,
  MetricSummary,
  Precision,
  PrepStage,
  RunDetails,
  RunEvent,
  RunStatus,
  RunSummary,
  SampleAnswer,
  Task,
  TrainRequest,
  TrainSummary,
  WorstExample,
} from "../../bindings";

/** Named scalar metrics (`loss`, `accuracy`, `macro_f1`, `perplexity`, ...). */
export type Metrics = { [key in string]: number | null };

/** fits / tight / does_not_fit against the device's free memory. */
export type Verdict = MemoryVerdict;
