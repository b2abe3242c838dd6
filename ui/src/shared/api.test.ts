import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { api, ApiError, errorMessage } from "./api";
import type { DoctorReport } from "./api";

const report: DoctorReport = {
  device: {
    selected: "cpu",
    cpu_threads: 8,
    cuda_compiled: false,
    cuda_available: false,
    metal_compiled: false,
    metal_available: false,
  },
  home: "/home/ada/.local/share/tunesmith",
  versions: { tunesmith: "0.1.0", sqlite: "3.50.0" },
};

afterEach(() => clearMocks());

describe("api", () => {
  it("calls the doctor command over IPC and returns its report", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      return report;
    });
    await expect(api.doctor()).resolves.toEqual(report);
    expect(calls).toEqual(["doctor"]);
  });

  it("turns an error from the app into an ApiError with its code and message", async () => {
    mockIPC(() => {
      throw { code: "home", message: "the Tunesmith folder /x cannot be used" };
    });
    const error = await api.doctor().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("home");
    expect(errorMessage(error)).toBe("the Tunesmith folder /x cannot be used");
  });

  it("reports a refusal by Tauri itself with the code ipc", async () => {
    mockIPC(() => {
      throw "command doctor not allowed by ACL";
    });
    const error = await api.doctor().catch((e: unknown) => e);
    expect((error as ApiError).code).toBe("ipc");
    expect((error as ApiError).message).toBe("command doctor not allowed by ACL");
  });

  it("gives a readable message for anything thrown", () => {
    expect(errorMessage("plain text")).toBe("plain text");
    expect(errorMessage(42)).toBe("Something went wrong talking to the app.");
  });
});
