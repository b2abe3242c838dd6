// The estimate's options, its verdict in words, the time sentence, and the latest-wins debounce.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { estimateReport } from "./fixtures";
import {
  breakdownRows,
  describeTime,
  formatStepTime,
  describeVerdict,
  estimateKey,
  estimateOptions,
  formatBytes,
  formatDuration,
  canMeasure,
  describeCheckpointing,
  latestOnly,
} from "./estimate";
import { initialForm } from "./settings";

describe("activation checkpointing in the estimate", () => {
  it("the options carry the form's setting", () => {
    const form = { ...initialForm(), model: "/m", checkpointing: "on" as const };
    expect(estimateOptions(form, 128, null)?.checkpointing).toBe("on");
  });

  it("says when the automatic setting turned it on to make the run fit, with both totals", () => {
    const r = { ...estimateReport("tight", 6e9, 7e9), checkpointing: "auto" as const, activation_checkpointing: true, total_with_checkpointing: 6e9, total_without_checkpointing: 9e9 };
    const s = describeCheckpointing(r);
    expect(s).toContain("turned on to make this run fit");
    expect(s).toContain("6.0 GB instead of 9.0 GB");
    expect(s).toContain("a third slower");
  });

  it("says it is on when asked, and suggests it when only it would make the run fit", () => {
    const on = { ...estimateReport("fits", 2e9, 8e9), checkpointing: "on" as const, activation_checkpointing: true };
    expect(describeCheckpointing(on)).toMatch(/^Activation checkpointing is on/);
    const off = { ...estimateReport("does_not_fit", 9e9, 8e9), total_without_checkpointing: 9e9, total_with_checkpointing: 7e9 };
    expect(describeCheckpointing(off)).toContain("would need about 7.0 GB and fit");
  });

  it("says nothing when it is off and would not change the verdict", () => {
    expect(describeCheckpointing(estimateReport("fits", 2e9, 8e9))).toBeNull();
    expect(describeCheckpointing(estimateReport("fits", 2e9, null))).toBeNull();
  });
});

describe("estimate options", () => {
  it("are asked only once a model is chosen, with the form's own method", () => {
    expect(estimateOptions(initialForm(), 128, null)).toBeNull();
    const form = { ...initialForm(), model: "/m", method: "features" as const };
    expect(estimateOptions(form, 128, 1000)).toEqual({
      method: "features",
      batch: 16,
      max_len: 128,
      device: "auto",
      checkpointing: "auto",
      calibrate: "cached",
      rows: 1000,
      // Balanced leaves the passes to the schedule chosen from the data.
      epochs: null,
    });
    expect(estimateOptions({ ...form, preset: "custom" }, 128, 1000)?.epochs).toBe(form.params.epochs);
  });

  it("fall back to the defaults while a batch or length field is invalid", () => {
    const form = { ...initialForm(), model: "/m" };
    form.params = { ...form.params, batch: null, max_len: 0 };
    form.params = { ...form.params, epochs: null };
    expect(estimateOptions(form, 256, null, "measure")).toMatchObject({ batch: 16, max_len: 256, epochs: null, calibrate: "measure" });
  });

  it("have a key that changes with any option and the model", () => {
    const a = estimateKey("/m", { method: "lora", batch: 16, max_len: 128, device: "cpu" });
    expect(estimateKey("/m ", { method: "lora", batch: 16, max_len: 128, device: "cpu" })).toBe(a);
    expect(estimateKey("/m", { method: "lora", batch: 8, max_len: 128, device: "cpu" })).not.toBe(a);
    expect(estimateKey("/m", null)).toBe("");
  });
});

describe("the verdict in words", () => {
  it("says fits, tight or does not fit with the memory needed and free", () => {
    expect(describeVerdict(estimateReport("fits"))).toMatchObject({ verdict: "fits", label: "Fits" });
    expect(describeVerdict(estimateReport("tight")).sentence).toContain("may just fit");
    const no = describeVerdict(estimateReport("does_not_fit", 9e9, 8e9));
    expect(no.label).toBe("Does not fit");
    expect(no.sentence).toContain("9.0 GB");
    expect(no.sentence).toContain("8.0 GB");
  });

  it("says why when the free memory is unknown", () => {
    const v = describeVerdict(estimateReport(null, 2e9, null));
    expect(v.verdict).toBe("unknown");
    expect(v.sentence).toContain("MemAvailable");
  });

  it("lists the breakdown largest first, without empty parts", () => {
    const rows = breakdownRows(estimateReport("fits"));
    expect(rows[0].label).toBe("Model weights");
    expect(rows.every((r, i) => i === 0 || rows[i - 1].bytes >= r.bytes)).toBe(true);
  });
});

describe("the time estimate", () => {
  it("gives the run's total from the step time measured on this machine", () => {
    const r = estimateReport("fits");
    r.time = { calibrated: true, seconds_per_step: 0.5, steps: 150, epochs: 3, setup_seconds: 0, total_seconds: 75, cached: true, note: "" };
    expect(describeTime(r)).toBe("Time: about 1 min for 150 steps (500 ms per step, measured earlier on this machine).");
    r.time = { ...r.time, steps: null, total_seconds: null, cached: false };
    expect(describeTime(r)).toContain("500 ms per step, just measured");
    expect(describeTime(r)).toContain("Data screen");
    expect(canMeasure(r)).toBe(false);
  });

  it("says it is not measured rather than inventing a number, and offers to measure when it fits", () => {
    expect(describeTime(estimateReport("fits"))).toBe("Time: not measured yet for these settings.");
    expect(canMeasure(estimateReport("fits"))).toBe(true);
    expect(canMeasure(estimateReport("does_not_fit"))).toBe(false);
  });

  it("formats sizes and durations for people", () => {
    expect(formatBytes(512)).toBe("512 bytes");
    expect(formatBytes(1_400_000_000)).toBe("1.4 GB");
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(7260)).toBe("2 h 01 min");
    expect(formatDuration(Number.NaN)).toBe("unknown");
  });
});

describe("latestOnly", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("calls once after the last change and keeps only the latest answer", async () => {
    const calls: number[] = [];
    const results: unknown[] = [];
    const resolvers: ((v: number) => void)[] = [];
    const runner = latestOnly<number, number>(
      (x) => {
        calls.push(x);
        return new Promise((r) => resolvers.push(r));
      },
      300,
      (o) => results.push(o),
    );
    runner.schedule(1);
    runner.schedule(2);
    await vi.advanceTimersByTimeAsync(300);
    expect(calls).toEqual([2]);
    runner.schedule(3);
    await vi.advanceTimersByTimeAsync(300);
    resolvers[1](30); // the newer answer first
    resolvers[0](20); // the older one late: dropped
    await vi.runAllTimersAsync();
    expect(results).toEqual([{ ok: true, value: 30 }]);
  });
});

describe("the time per step", () => {
  it("never reads 0.00 s: fast steps in milliseconds, an unmeasured one says so", () => {
    expect(formatStepTime(0.002)).toBe("2 ms per step");
    expect(formatStepTime(0.0001)).toBe("under 1 ms per step");
    expect(formatStepTime(0)).toBe("step time not measured yet");
    expect(formatStepTime(null)).toBe("step time not measured yet");
    expect(formatStepTime(3.25)).toBe("3.3 s per step");
    expect(formatStepTime(42)).toBe("42 s per step");
  });

  it("gives the note, not a zero step time, when the measurement came back as zero", () => {
    const r = estimateReport("fits");
    r.time = { calibrated: true, seconds_per_step: 0, steps: 150, epochs: 3, setup_seconds: 0, total_seconds: 0, cached: true, note: "measuring" };
    expect(describeTime(r)).toBe("Time: measuring.");
  });
});
