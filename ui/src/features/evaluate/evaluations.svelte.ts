// The Evaluate screen's state, at module level: the runs that can be evaluated, the one picked,
// and each run's result (loading, ready or failed). An evaluation keeps going, and its result is
// kept, when the user leaves the screen, so coming back shows it without asking again. The screen
// lists the runs from an effect: the methods read the state untracked, so that effect does not
// run again on the changes they make.

import { untrack } from "svelte";
import { type TrainBackend, tauriBackend } from "../train/backend";
import { type Problem, problemFrom } from "../train/errors";
import type { EvalReport, RunDetails, RunSummary, SampleAnswer } from "../train/types";

/** One run's evaluation. */
export type Result =
  | { kind: "loading" }
  | { kind: "classification"; report: EvalReport }
  | { kind: "generation"; details: RunDetails; samples: SampleAnswer[] }
  | { kind: "failed"; problem: Problem };

/** The screen's state. */
export interface EvaluateState {
  /** `null` until the list arrived. */
  runs: RunSummary[] | null;
  listing: boolean;
  listProblem: Problem | null;
  selected: string | null;
  results: Record<string, Result>;
}

/** Runs with weights to evaluate: finished, or stopped after a checkpoint. */
export function evaluable(runs: RunSummary[]): RunSummary[] {
  return runs.filter((r) => r.status === "finished" || r.status === "cancelled" || r.status === "interrupted");
}

/** The evaluate state bound to `backend`; the screen reads `state` (reactive). */
export class Evaluations {
  /** Held as given and replaced whole on each change. */
  state = $state.raw<EvaluateState>({ runs: null, listing: false, listProblem: null, selected: null, results: {} });

  constructor(private readonly backend: TrainBackend) {}

  /** Replaces the state by `f` of the state now (read untracked). */
  #update(f: (s: EvaluateState) => EvaluateState): void {
    this.state = f(untrack(() => this.state));
  }

  #setResult(id: string, result: Result): void {
    this.#update((s) => ({ ...s, results: { ...s.results, [id]: result } }));
  }

  /** Lists the runs again; picks `prefer` (e.g. the run just trained) or keeps the current pick. */
  async refresh(prefer: string | null = null): Promise<void> {
    this.#update((s) => ({ ...s, listing: true }));
    try {
      const runs = await this.backend.runsList();
      this.#update((s) => {
        const usable = evaluable(runs);
        const keep = [prefer, s.selected].find((id) => id !== null && usable.some((r) => r.id === id));
        return { ...s, runs, listing: false, listProblem: null, selected: keep ?? usable[0]?.id ?? null };
      });
    } catch (error) {
      this.#update((s) => ({ ...s, listing: false, listProblem: problemFrom(error) }));
    }
  }

  /** Picks run `id`. */
  select(id: string): void {
    this.#update((s) => ({ ...s, selected: id }));
  }

  /** Evaluates run `id` on its test rows, base against fine-tuned (generation: perplexity, recorded in its history). */
  async evaluate(id: string): Promise<void> {
    const s = untrack(() => this.state);
    if (s.results[id]?.kind === "loading") return;
    const run = s.runs?.find((r) => r.id === id);
    this.#setResult(id, { kind: "loading" });
    try {
      if (run?.task === "generate") {
        // Scored on the test responses and recorded; the details then carry both perplexities.
        const samples = await this.backend.evalGenerationRun(id);
        this.#setResult(id, { kind: "generation", details: await this.backend.runsShow(id), samples });
      }
      else this.#setResult(id, { kind: "classification", report: await this.backend.evalRun(id) });
    } catch (error) {
      this.#setResult(id, { kind: "failed", problem: problemFrom(error) });
    }
  }

  /** Hides the error of run `id` (or of the list). */
  dismiss(id: string | null): void {
    this.#update((s) => {
      if (id === null) return { ...s, listProblem: null };
      const results = { ...s.results };
      delete results[id];
      return { ...s, results };
    });
  }
}

/** The app's one evaluate state. */
export const evaluations = new Evaluations(tauriBackend);
