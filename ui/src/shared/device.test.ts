import { describe, expect, it } from "vitest";
import { acceleratorLines, deviceLabel } from "./device";
import type { DoctorReport } from "./api";

function report(device: Partial<DoctorReport["device"]>): DoctorReport {
  return {
    device: {
      selected: "cpu",
      cpu_threads: 4,
      cuda_compiled: false,
      cuda_available: false,
      metal_compiled: false,
      metal_available: false,
      ...device,
    },
    home: "/tmp/home",
    versions: { tunesmith: "0.1.0", sqlite: "3.50.0" },
  };
}

describe("device", () => {
  it("names the CPU with its thread count", () => {
    expect(deviceLabel(report({}))).toBe("CPU · 4 threads");
    expect(deviceLabel(report({ cpu_threads: 1 }))).toBe("CPU · 1 thread");
  });

  it("names a selected GPU", () => {
    expect(deviceLabel(report({ selected: "cuda:0" }))).toBe("CUDA GPU (cuda:0) · 4 threads CPU");
    expect(deviceLabel(report({ selected: "metal:0" }))).toContain("Apple GPU");
  });

  it("explains each accelerator's state", () => {
    expect(acceleratorLines(report({}))).toEqual([
      "CUDA: not included in this build",
      "Metal: not included in this build",
    ]);
    expect(acceleratorLines(report({ cuda_compiled: true }))[0]).toBe(
      "CUDA: included, but no GPU found",
    );
    expect(acceleratorLines(report({ cuda_compiled: true, cuda_available: true }))[0]).toBe(
      "CUDA: available",
    );
  });
});
