// The estimate that follows the form: asks `models_estimate` 400 ms after the last change of the
// model, method, batch, length or device, skips the call when nothing it depends on changed, and
// keeps only the latest answer. Module-level state, so the verdict is still there after navigating.
// The screen calls `request` from an effect: the methods read the state untracked, so the effect
// follows the form's settings only, not the estimate it causes.

import { untrack } from "svelte";
import { ApiError } from "../../shared/api";
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

type Ask = { key: string; model: string; options: EstimateOptions; method: Method };
type Answer = { ask: Ask; report: EstimateReport };

/** Estimates bound to `backend`; the verdict is in `state` (reactive). */
export class Estimator {
  /** The latest verdict, held as given and replaced whole on each change. */
  state = $state.raw<EstimateState>({ kind: "none" });
  #last: Ask | null = null;
  readonly #runner: ReturnType<typeof latestOnly<Ask, Answer>>;

  constructor(backend: TrainBackend, delay = ESTIMATE_DELAY_MS) {
    this.#runner = latestOnly<Ask, Answer>(
      async (ask) => ({ ask, report: await backend.estimate(ask.model, ask.options) }),
      delay,
      (outcome) => {
        if (outcome.ok) this.state = { kind: "ready", key: outcome.value.ask.key, report: outcome.value.report, method: outcome.value.ask.method };
        else {
          const s = untrack(() => this.state);
          this.state = {
            kind: "failed",
            key: "key" in s ? s.key : "",
            message: problemFrom(outcome.error).message,
            action: estimateAction(outcome.error),
          };
        }
      },
    );
  }

  /** Times a few training steps for the last settings asked about (seconds to a minute). */
  measure(): void {
    if (this.#last === null) return;
    const ask: Ask = { ...this.#last, options: { ...this.#last.options, calibrate: "measure" } };
    const now = untrack(() => this.state);
    const previous = now.kind === "ready" ? now.report : now.kind === "loading" ? now.previous : null;
    // The measured answer carries the key of the settings, so the next instant request for the
    // same settings is skipped (it would only repeat the calibration now remembered).
    this.state = { kind: "loading", key: ask.key, previous, measuring: true };
    this.#runner.schedule(ask, true);
  }

  /** Asks for an estimate of `model` with `options` (null: nothing to estimate). */
  request(model: string, options: EstimateOptions | null, method: Method): void {
    const key = estimateKey(model, options);
    const now = untrack(() => this.state);
    if (options === null) {
      this.#runner.cancel();
      if (now.kind !== "none") this.state = { kind: "none" };
      return;
    }
    if ("key" in now && now.key === key && now.kind !== "failed") return;
    const previous = now.kind === "ready" ? now.report : now.kind === "loading" ? now.previous : null;
    this.state = { kind: "loading", key, previous, measuring: false };
    this.#last = { key, model: model.trim(), options, method };
    this.#runner.schedule(this.#last);
  }
}

/** The app's one estimator. */
export const estimator = new Estimator(tauriBackend);
