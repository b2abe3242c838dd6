// "Why this answer?"'s door to the app: the run's training examples closest to a text. An
// interface, so the disclosure is tested with a fake; `tauriExplainBackend` is the real one.

import { commands, type ClosestExample, type Explanation } from "../../bindings";
import { unwrap } from "../../shared/api";

export type { ClosestExample, Explanation };

/** What the disclosure needs from the app. */
export interface ExplainBackend {
  /** The training examples of run `run` closest to `text`, best first. */
  explain(run: string, text: string): Promise<Explanation>;
}

/** The real app (the default embedding model, keywords when it is not available offline). */
export const tauriExplainBackend: ExplainBackend = {
  explain: (run, text) => unwrap(commands.explain({ run, text, top_k: null, embed_model: null })),
};
