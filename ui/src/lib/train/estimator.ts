// The estimate that follows the form: asks `models_estimate` 400 ms after the last change of the
// model, method, batch, length or device, skips the call when nothing it depends on changed, and
// keeps only the latest answer. Module-level state, so the verdict is still there after navigating.

import { get, writable, type Readable } from "svelte/store";
import { ApiError } from "../api";
import { problemFrom } from "./errors";
import { type TrainBackend, tauriBackend } from "./backend";
import { type EstimateState, estimateKey, latestOnly } from "./estimate";
import type { EstimateOptions, EstimateReport, Method } from "./types";

/** Debounce of the estimate after a change, in ms. */
export const ESTIMATE_DELAY_MS = 400;

/** What to do when an estimate fails: almost always, the model named is not one it can read. */
function estimateAction(error: unknown): string {
  if (error instanceof ApiError && error.code === "ipc") return problemFrom(error).action;
  return "Check the model: pick it on the Models screen, or give the folder that holds its config.json. Training settings can still be chosen meanwhile.";
}

/** Estimates bound to `backend`. */
export function createEstimator(backend: TrainBackend, delay = ESTIMATE_DELAY_MS) {
  const state = writable<EstimateState>({ kind: "none" });
  type Ask = { key: string; model: string; options: EstimateOptions; method: Method };
  const runner = latestOnly<Ask, { ask: Ask; report: EstimateReport }>(
    async (ask) => ({ ask, report: await backend.estimate(ask.model, ask.options) }),
    delay,
    (outcome) => {
      if (outcome.ok) state.set({ kind: "ready", key: outcome.value.ask.key, report: outcome.value.report, method: outcome.value.ask.method });
      else
        state.update((s) => ({
          kind: "failed",
          key: "key" in s ? s.key : "",
          message: problemFrom(outcome.error).message,
          action: estimateAction(outcome.error),
        }));
    },
  );

  let last: Ask | null = null;

  return {
    state: state as Readable<EstimateState>,

    /** Times a few training steps for the last settings asked about (seconds to a minute). */
    measure(): void {
      if (last === null) return;
      const ask: Ask = { ...last, options: { ...last.options, calibrate: "measure" } };
      const now = get(state);
      const previous = now.kind === "ready" ? now.report : now.kind === "loading" ? now.previous : null;
      // The measured answer carries the key of the settings, so the next instant request for the
      // same settings is skipped (it would only repeat the calibration now remembered).
      state.set({ kind: "loading", key: ask.key, previous, measuring: true });
      runner.schedule(ask, true);
    },
    /** Asks for an estimate of `model` with `options` (null: nothing to estimate). */
    request(model: string, options: EstimateOptions | null, method: Method): void {
      const key = estimateKey(model, options);
      const now = get(state);
      if (options === null) {
        runner.cancel();
        if (now.kind !== "none") state.set({ kind: "none" });
        return;
      }
      if ("key" in now && now.key === key && now.kind !== "failed") return;
      const previous = now.kind === "ready" ? now.report : now.kind === "loading" ? now.previous : null;
      state.set({ kind: "loading", key, previous, measuring: false });
      last = { key, model: model.trim(), options, method };
      runner.schedule(last);
    },
  };
}

/** The app's one estimator. */
export const estimator = createEstimator(tauriBackend);
