// The hub search of the Models screen, kept outside the screen so the query and its results are
// still there after visiting another screen.

import type { ModelSummary } from "./types";

/** The last search: what was asked and what came back. */
export class SearchState {
  query = $state("");
  task = $state("");
  /** `null` before the first search. */
  results = $state<ModelSummary[] | null>(null);
}

/** The one search state of this window. */
export const searchState = new SearchState();
