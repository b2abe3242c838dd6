// The states of the one `doctor` call the frame makes at start: the status bar and the Home
// screen both show it.

import type { DoctorReport } from "./api";

/** Loading, answered, or failed with a message to show. */
export type DoctorState =
  | { kind: "loading" }
  | { kind: "ready"; report: DoctorReport }
  | { kind: "failed"; message: string };
