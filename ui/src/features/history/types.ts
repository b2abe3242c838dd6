// The shapes the run-history commands exchange, as generated from the Rust types into
// `bindings.ts` (crates/store and src/runs.rs). Re-exported so the screens have one import path.

export type {
  ArtefactRecord,
  BestMetric,
  ConfigDifference,
  DeletedRun,
  EvaluationRecord,
  ExportFormat,
  ExportRequest,
  ExportSummary,
  ExportedFile,
  GgufPrecision,
  MetricRow,
  MetricSummary,
  NoteRecord,
  PrimaryMetric,
  RunComparison,
  RunDetails,
  RunEvent,
  RunRecord,
  RunStatus,
  RunSummary,
  Split,
  TrainSummary,
  /** Any JSON value (a run's config, hardware, metrics). */
  Value as JsonValue,
} from "../../bindings";
