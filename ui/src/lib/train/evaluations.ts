// The Evaluate screen's state, at module level: the runs that can be evaluated, the one picked,
// and each run's result (loading, ready or failed). An evaluation keeps going, and its result is
// kept, when the user leaves the screen, so coming back shows it without asking again.

import { get, writable, type Readable } from "svelte/store";
import { type TrainBackend, tauriBackend } from "./backend";
import { type Problem, problemFrom } from "./errors";
import type { EvalReport, RunDetails, RunSummary, SampleAnswer } from "./types";

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

/** The evaluate state bound to `backend`. */
export function createEvaluations(backend: TrainBackend) {
  const state = writable<EvaluateState>({ runs: null, listing: false, listProblem: null, selected: null, results: {} });

  function setResult(id: string, result: Result) {
    state.update((s) => ({ ...s, results: { ...s.results, [id]: result } }));
  }

  return {
    state: state as Readable<EvaluateState>,

    /** Lists the runs again; picks `prefer` (e.g. the run just trained) or keeps the current pick. */
    async refresh(prefer: string | null = null): Promise<void> {
      state.update((s) => ({ ...s, listing: true }));
      try {
        const runs = await backend.runsList();
        state.update((s) => {
          const usable = evaluable(runs);
          const keep = [prefer, s.selected].find((id) => id !== null && usable.some((r) => r.id === id));
          return { ...s, runs, listing: false, listProblem: null, selected: keep ?? usable[0]?.id ?? null };
        });
      } catch (error) {
        state.update((s) => ({ ...s, listing: false, listProblem: problemFrom(error) }));
      }
    },

    /** Picks run `id`. */
    select(id: string): void {
      state.update((s) => ({ ...s, selected: id }));
    },

    /** Evaluates run `id` on its test rows, base against fine-tuned (generation: perplexity, recorded in its history). */
    async evaluate(id: string): Promise<void> {
      const s = get(state);
      if (s.results[id]?.kind === "loading") return;
      const run = s.runs?.find((r) => r.id === id);
      setResult(id, { kind: "loading" });
      try {
        if (run?.task === "generate") {
          // Scored on the test responses and recorded; the details then carry both perplexities.
          const samples = await backend.evalGenerationRun(id);
          setResult(id, { kind: "generation", details: await backend.runsShow(id), samples });
        }
        else setResult(id, { kind: "classification", report: await backend.evalRun(id) });
      } catch (error) {
        setResult(id, { kind: "failed", problem: problemFrom(error) });
      }
    },

    /** Hides the error of run `id` (or of the list). */
    dismiss(id: string | null): void {
      state.update((s) => {
        if (id === null) return { ...s, listProblem: null };
        const results = { ...s.results };
        delete results[id];
        return { ...s, results };
      });
    },
  };
}

/** The evaluate state. */
export type Evaluations = ReturnType<typeof createEvaluations>;

/** The app's one evaluate state. */
export const evaluations: Evaluations = createEvaluations(tauriBackend);
