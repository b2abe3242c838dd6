// The hub search of the Models screen, kept outside the screen so the query and its results are
// still there after visiting another screen.

import { writable } from "svelte/store";
import type { ModelSummary } from "./types";

/** The last search: what was asked and what came back. */
export type SearchState = {
  query: string;
  task: string;
  /** `null` before the first search. */
  results: ModelSummary[] | null;
};

/** The one search state of this window. */
export const searchState = writable<SearchState>({ query: "", task: "", results: null });
