// The job hand-off commands: "Run elsewhere" (job_export) and "Bring back a run" (job_import).
// A thin layer over the generated commands, so the components can be tested with the IPC mocked.

import { commands } from "../../bindings";
import { unwrap } from "../../shared/api";
import type { JobExportRequest, JobExportSummary, JobImportSummary } from "./types";

/** Writes the job `request` describes into a new folder and queues its run in the history. */
export function exportJob(request: JobExportRequest): Promise<JobExportSummary> {
  return unwrap(commands.jobExport(request));
}

/** Brings the trainer's output in job folder `dir` back as the job's run. */
export function importJob(dir: string): Promise<JobImportSummary> {
  return unwrap(commands.jobImport(dir));
}
