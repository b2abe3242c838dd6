// The shapes the model commands exchange, as generated from the Rust types into `bindings.ts`
// (src/models.rs and the hub crate). Re-exported here so the Models screen has one import path.

export type {
  Family,
  ModelList,
  ModelRecord,
  ModelSource,
  ModelSummary,
  PlannedFile,
  PullEvent,
  PullReport,
  SearchResults,
  Suggestion,
  Support,
} from "../../bindings";
