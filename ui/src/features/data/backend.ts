// The one data command the Data screen uses: `data_inspect` (the doctor's report and a preview of
// the first rows). A thin layer over the generated command, so the screen can be tested with the
// IPC mocked.

import { commands } from "../../bindings";
import { checked, isObject, unwrap } from "../../shared/api";
import type { DataInspection, DataInspectRequest } from "./types";

/** Inspects a dataset file with the user's choices. */
export function inspectData(request: DataInspectRequest): Promise<DataInspection> {
  return unwrap(commands.dataInspect(request)).then(
    checked("data_inspect", (v) => isObject(v) && isObject(v.report) && isObject(v.preview) && Array.isArray(v.preview.rows)),
  );
}
