// The export command the run page's Export section uses. A thin layer over the generated command,
// so the panel can be tested with the IPC mocked.

import { commands } from "../../bindings";
import { checked, isObject, unwrap } from "../../shared/api";
import type { ExportRequest, ExportSummary } from "../history/types";

/** Exports a run's model as `request` asks, into a new folder; answers the folder and its files. */
export function exportRun(request: ExportRequest): Promise<ExportSummary> {
  return unwrap(commands.runsExport(request)).then(
    checked("runs_export", (v) => isObject(v) && typeof v.folder === "string" && Array.isArray(v.files)),
  );
}
