// The shapes `data_inspect` exchanges, as generated from the Rust types into `bindings.ts`
// (src/data.rs and the data crate's report, finding, roles, split and length types).

export type {
  Column,
  DataInspection,
  Finding,
  Fixes,
  InspectReport,
  LabelMerge,
  LengthStats,
  Role,
  SmallClass,
  SplitSummary,
  Task,
} from "../../bindings";

export type {
  /** What `data_inspect` is asked. */
  DataInspectArgs as DataInspectRequest,
  /** The first rows of the file, as read, with the line each starts on. */
  DataPreview as Preview,
} from "../../bindings";
