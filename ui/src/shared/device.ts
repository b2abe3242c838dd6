// How the device report reads to a person: "CPU · 8 threads", "CUDA GPU (cuda:0)".

import type { DoctorReport } from "./api";

/** A short name for the device training uses, for the status bar. */
export function deviceLabel(report: DoctorReport): string {
  const { selected, cpu_threads } = report.device;
  const threads = `${cpu_threads} thread${cpu_threads === 1 ? "" : "s"}`;
  if (selected.startsWith("cuda")) return `CUDA GPU (${selected}) · ${threads} CPU`;
  if (selected.startsWith("metal")) return `Apple GPU (${selected}) · ${threads} CPU`;
  return `CPU · ${threads}`;
}

/** What each accelerator's state means, one line each, for the Home screen. */
export function acceleratorLines(report: DoctorReport): string[] {
  const { cuda_compiled, cuda_available, metal_compiled, metal_available } = report.device;
  return [
    `CUDA: ${!cuda_compiled ? "not included in this build" : cuda_available ? "available" : "included, but no GPU found"}`,
    `Metal: ${!metal_compiled ? "not included in this build" : metal_available ? "available" : "included, but no GPU found"}`,
  ];
}
