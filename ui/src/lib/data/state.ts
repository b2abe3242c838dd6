// The Data screen's state, kept outside the screen so the file, the choices and the report are
// still there when the user comes back from another screen.

import { writable } from "svelte/store";
import type { DataChoices } from "./choices";
import type { DataInspection } from "./types";

/** The file being worked on, what was chosen for it, and its latest inspection. */
export type DataState = {
  choices: DataChoices | null;
  inspection: DataInspection | null;
};

/** The one Data screen state of this window. */
export const dataState = writable<DataState>({ choices: null, inspection: null });
