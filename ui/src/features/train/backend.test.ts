// The real backend over a mocked IPC: the generated commands with their argument names, events
// through the channel, errors as ApiError, and a clear error for an answer of the wrong shape.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError } from "../../shared/api";
import { tauriBackend } from "./backend";
import { estimateReport, runEvents } from "./fixtures";
import { buildRequest, initialForm } from "./settings";
import type { EstimateOptions, RunEvent } from "./types";

afterEach(() => clearMocks());

describe("tauriBackend", () => {
  it("starts training with the job id, the request and a channel that delivers the events", async () => {
    const request = buildRequest({ ...initialForm(), model: "/m", data: "/d.csv" });
    let seen: Record<string, unknown> = {};
    mockIPC((cmd, args) => {
      seen = { cmd, ...(args as Record<string, unknown>) };
      const channel = (args as { onEvent: { onmessage: (e: RunEvent) => void } }).onEvent;
      for (const e of runEvents("run-1", 2, 2)) channel.onmessage(e);
      return { run_id: "run-1", dir: "/r", status: "finished", metrics: {} };
    });
    const events: RunEvent[] = [];
    const summary = await tauriBackend.trainStart("job-1", request, (e) => events.push(e));
    expect(seen).toMatchObject({ cmd: "train_start", jobId: "job-1", request });
    expect(events.map((e) => e.event)).toEqual(["started", "step", "step", "eval"]);
    expect(summary.status).toBe("finished");
  });

  it("passes the estimate's model and options under their command's names", async () => {
    let seen: unknown;
    mockIPC((cmd, args) => {
      seen = { cmd, args };
      return estimateReport("fits");
    });
    const options: EstimateOptions = { method: "lora", batch: 16, max_len: 128, device: "cpu", calibrate: "cached" };
    await tauriBackend.estimate("/m", options);
    expect(seen).toEqual({ cmd: "models_estimate", args: { model: "/m", options } });
  });

  it("turns the app's error payload into an ApiError with its code", async () => {
    mockIPC(() => {
      throw { code: "run_not_found", message: "no run named x" };
    });
    const error = await tauriBackend.evalRun("x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: "run_not_found", message: "no run named x" });
  });

  it("says so when the app answers with something of another shape", async () => {
    mockIPC(() => ({ device: "cpu" }));
    await expect(tauriBackend.runsList()).rejects.toThrow("unexpected answer to runs_list");
    await expect(tauriBackend.jobCancel("job-1")).resolves.toBeUndefined();
  });
});
