import { describe, expect, it } from "vitest";
import { applyPullEvent, endedPull, isActive, startingPull } from "./pull";
import type { PullEvent } from "./types";

const events: PullEvent[] = [
  {
    event: "started",
    repo: "o/m",
    revision: "main",
    commit: "abc",
    files: [
      { file: "config.json", size: 500, lfs: false },
      { file: "model.safetensors", size: 9500, lfs: true },
    ],
    total_bytes: 10_000,
  },
  { event: "file_cached", file: "config.json" },
  { event: "file_started", file: "model.safetensors", size: 9500, resumed_from: 0 },
  {
    event: "progress",
    file: "model.safetensors",
    file_bytes: 4500,
    bytes_done: 5000,
    total_bytes: 10_000,
    rate_bytes_per_s: 1000,
    eta_s: 5,
  },
];

describe("pull progress", () => {
  it("folds the plan and progress events into bytes, rate, ETA and files", () => {
    const s = events.reduce(applyPullEvent, startingPull("o/m", "job-1"));
    expect(s.phase).toBe("downloading");
    expect(s.bytesDone).toBe(5000);
    expect(s.totalBytes).toBe(10_000);
    expect(s.rate).toBe(1000);
    expect(s.eta).toBe(5);
    expect(s.file).toBe("model.safetensors");
    expect(s.filesTotal).toBe(2);
    expect(s.filesDone).toBe(1);
    expect(isActive(s)).toBe(true);
  });

  it("ends finished with every byte counted", () => {
    const s = [
      ...events,
      { event: "file_done", file: "model.safetensors", verified: "sha256" } as const,
      { event: "finished", repo: "o/m", commit: "abc", snapshot: "/c/s", bytes_downloaded: 9500 } as const,
    ].reduce(applyPullEvent, startingPull("o/m", "job-1"));
    expect(s.phase).toBe("finished");
    expect(s.bytesDone).toBe(10_000);
    expect(s.filesDone).toBe(2);
    expect(isActive(s)).toBe(false);
  });

  it("keeps a retry as a notice without losing the progress", () => {
    const s = applyPullEvent(events.reduce(applyPullEvent, startingPull("o/m", "j")), {
      event: "retrying",
      file: "model.safetensors",
      attempt: 2,
      reason: "connection reset",
    });
    expect(s.bytesDone).toBe(5000);
    expect(s.notice).toContain("attempt 2");
  });

  it("reads a cancellation as cancelled and any other error as failed with its message", () => {
    const running = startingPull("o/m", "j");
    expect(endedPull(running, { code: "cancelled", message: "cancelled" }).phase).toBe("cancelled");
    const failed = endedPull(running, { code: "hub", message: "the hub refused: 401; log in" });
    expect(failed.phase).toBe("failed");
    expect(failed.notice).toBe("the hub refused: 401; log in");
    expect(failed.code).toBe("hub");
  });
});
