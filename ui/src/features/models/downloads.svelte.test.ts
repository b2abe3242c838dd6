import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { cancelDownload, downloads, startDownload } from "./downloads.svelte";
import type { PullEvent } from "./types";

afterEach(() => {
  clearMocks();
  downloads.all = {};
});

type Args = { jobId: string; id: string; onEvent: { onmessage: (e: PullEvent) => void } };

describe("downloads", () => {
  it("streams the pull's events into the download's state and ends finished", async () => {
    const seen: number[] = [];
    mockIPC((cmd, raw) => {
      const args = raw as unknown as Args;
      expect(cmd).toBe("models_pull");
      args.onEvent.onmessage({ event: "started", repo: args.id, revision: "main", commit: "c", files: [{ file: "w", size: 100, lfs: true }], total_bytes: 100 });
      args.onEvent.onmessage({ event: "progress", file: "w", file_bytes: 40, bytes_done: 40, total_bytes: 100, rate_bytes_per_s: 10, eta_s: 6 });
      seen.push(downloads.all[args.id].bytesDone);
      return { repo: args.id, commit: "c", snapshot: "/s", files: ["w"], bytes_downloaded: 100, offline: false };
    });
    const report = await startDownload("o/m");
    expect(report?.snapshot).toBe("/s");
    expect(seen).toEqual([40]);
    expect(downloads.all["o/m"].phase).toBe("finished");
    expect(downloads.all["o/m"].bytesDone).toBe(100);
  });

  it("sends the download's job id to job_cancel and ends cancelled", async () => {
    let release: (v: unknown) => void = () => {};
    const cancelled: string[] = [];
    let pullJob = "";
    mockIPC((cmd, raw) => {
      const args = raw as unknown as Args;
      if (cmd === "models_pull") {
        pullJob = args.jobId;
        return new Promise((_, reject) => (release = reject));
      }
      if (cmd === "job_cancel") {
        cancelled.push(args.jobId);
        release({ code: "cancelled", message: "the download of o/m was cancelled" });
        return null;
      }
      throw new Error(`unexpected ${cmd}`);
    });
    const pulling = startDownload("o/m");
    await Promise.resolve();
    await cancelDownload("o/m");
    expect(await pulling).toBeNull();
    expect(cancelled).toEqual([pullJob]);
    expect(downloads.all["o/m"].phase).toBe("cancelled");
  });

  it("keeps the hub's message when a download fails", async () => {
    mockIPC(() => {
      throw { code: "token_required", message: "o/m is gated: log in" };
    });
    expect(await startDownload("o/m")).toBeNull();
    expect(downloads.all["o/m"].phase).toBe("failed");
    expect(downloads.all["o/m"].notice).toBe("o/m is gated: log in");
  });
});
