// The estimate that follows the form: debounced, skipped when nothing changed, failures said.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TrainBackend } from "./backend";
import type { EstimateOptions } from "./types";
import { Estimator } from "./estimator.svelte";
import { estimateReport } from "./fixtures";

function backend(estimate: TrainBackend["estimate"]): TrainBackend {
  const no = () => Promise.reject(new Error("not used"));
  return { trainStart: no, trainResume: no, trainLonger: no, jobCancel: no, estimate, runsList: no, runsShow: no, evalRun: no, evalGenerationRun: no };
}
const opts: EstimateOptions = { method: "lora", batch: 16, max_len: 128, device: "auto", calibrate: "cached" };

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("estimator", () => {
  it("shows the verdict after the debounce, then skips a request with the same settings", async () => {
    const estimate = vi.fn(() => Promise.resolve(estimateReport("tight")));
    const e = new Estimator(backend(estimate), 100);
    e.request("/m", opts, "lora");
    expect(e.state.kind).toBe("loading");
    await vi.advanceTimersByTimeAsync(100);
    expect(e.state).toMatchObject({ kind: "ready", method: "lora", report: { verdict: "tight" } });
    e.request("/m", opts, "lora");
    await vi.advanceTimersByTimeAsync(100);
    expect(estimate).toHaveBeenCalledTimes(1);
    e.request("/m", { ...opts, batch: 8 }, "lora");
    await vi.advanceTimersByTimeAsync(100);
    expect(estimate).toHaveBeenCalledTimes(2);
  });

  it("keeps the previous verdict visible while a new one is on its way", async () => {
    const e = new Estimator(backend(() => Promise.resolve(estimateReport("fits"))), 100);
    e.request("/m", opts, "lora");
    await vi.advanceTimersByTimeAsync(100);
    e.request("/m", { ...opts, max_len: 512 }, "lora");
    expect(e.state).toMatchObject({ kind: "loading", previous: { verdict: "fits" } });
  });

  it("measures the speed at once for the last settings, then keeps the measured answer", async () => {
    const asked: string[] = [];
    const e = new Estimator(
      backend((_m, options) => {
        asked.push(options.calibrate ?? "");
        return Promise.resolve(estimateReport("fits"));
      }),
      100,
    );
    e.request("/m", opts, "lora");
    await vi.advanceTimersByTimeAsync(100);
    e.measure();
    expect(e.state).toMatchObject({ kind: "loading", measuring: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(asked).toEqual(["cached", "measure"]);
    e.request("/m", opts, "lora");
    await vi.advanceTimersByTimeAsync(100);
    expect(asked).toHaveLength(2);
  });

  it("reports a failed estimate with its message, and clears when the model is removed", async () => {
    const e = new Estimator(backend(() => Promise.reject(new Error("config.json has no hidden_size"))), 100);
    e.request("/m", opts, "lora");
    await vi.advanceTimersByTimeAsync(100);
    expect(e.state).toMatchObject({ kind: "failed", message: "config.json has no hidden_size" });
    expect(e.state).toHaveProperty("action", expect.stringContaining("Models screen"));
    e.request("", null, "lora");
    expect(e.state.kind).toBe("none");
  });
});
