// The shapes the job hand-off commands exchange, as generated from the Rust types (src/job/request.rs)
// into `bindings.ts`. Re-exported so the components have one import path.

export type { JobExportRequest, JobExportSummary, JobImportSummary, Trainer } from "../../bindings";
