import { describe, expect, it } from "vitest";
import { attention, percentRead, summaryHeadline, timeLeft } from "./progress";
import type { PredictFileProgress, PredictFileSummary } from "./backend";

const progress = (bytes_read: number, eta_s: number | null): PredictFileProgress => ({
  rows: 10,
  bytes_read,
  total_bytes: 200,
  elapsed_s: 1,
  eta_s,
});

const summary = (over: Partial<PredictFileSummary> = {}): PredictFileSummary => ({
  run_id: "r",
  task: "classify",
  data: "/d/in.csv",
  out: "/d/in.predicted.csv",
  input_columns: ["text"],
  columns: ["text", "prediction", "confidence"],
  rows: 1200,
  predicted: 1199,
  empty: 1,
  unreadable: 2,
  problems: [],
  seconds: 3.25,
  ...over,
});

describe("file prediction progress", () => {
  it("reads the share of the file from its bytes, never past 100", () => {
    expect(percentRead(progress(50, 3))).toBe(25);
    expect(percentRead(progress(500, 3))).toBe(100);
    expect(percentRead({ ...progress(0, null), total_bytes: 0 })).toBe(0);
  });

  it("says the time left in seconds, minutes or hours, and nothing without a pace", () => {
    expect(timeLeft(progress(1, null))).toBe("");
    expect(timeLeft(progress(1, 12.4))).toBe("about 12 s left");
    expect(timeLeft(progress(1, 150))).toBe("about 3 min left");
    expect(timeLeft(progress(1, 7500))).toBe("about 2 h 5 min left");
  });

  it("sums up what was predicted and which rows need attention", () => {
    expect(summaryHeadline(summary())).toBe("1,199 of 1,200 rows classified in 3.3 s");
    expect(summaryHeadline(summary({ task: "generate" }))).toContain("answered");
    expect(attention(summary())).toBe("1 row has no prediction; 2 rows could not be read and are not in the output");
    expect(attention(summary({ empty: 0, unreadable: 0 }))).toBe("");
  });
});
