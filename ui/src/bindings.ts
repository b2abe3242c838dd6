// bootstrap; replaced by the generated file
import { invoke as __TAURI_INVOKE } from "@tauri-apps/api/core";
async function typedError<T, E>(result: Promise<T>): Promise<{ status: "ok"; data: T } | { status: "error"; error: E }> {
    try { return { status: "ok", data: await result }; } catch (e) { if (e instanceof Error) throw e; return { status: "error", error: e as any }; }
}
export const commands = {
  doctor: () => typedError<DoctorReport, ErrorPayload>(__TAURI_INVOKE("doctor")),
};
export type DeviceReport = { selected: string; cpu_threads: number; cuda_compiled: boolean; cuda_available: boolean; metal_compiled: boolean; metal_available: boolean };
export type DoctorReport = { device: DeviceReport; home: string; versions: Versions };
export type ErrorPayload = { code: string; message: string };
export type Versions = { tunesmith: string; sqlite: string };
