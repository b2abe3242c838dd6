import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { rerunState, startRerun } from "./rerun.svelte";

afterEach(() => {
  clearMocks();
  rerunState.current = null;
});

describe("re-run", () => {
  it("learns the new run's id from its first event and ends finished", async () => {
    let recorded = 0;
    mockIPC((cmd, raw) => {
      expect(cmd).toBe("train_rerun");
      const args = raw as { run: string; onEvent: { onmessage: (e: unknown) => void } };
      expect(args.run).toBe("old");
      args.onEvent.onmessage({ run_id: "new", event: "started" });
      args.onEvent.onmessage({ run_id: "new", event: "step" });
      return { run_id: "new", dir: "/runs/new", status: "finished", metrics: {} };
    });
    await startRerun("old", () => (recorded += 1));
    expect(rerunState.current).toMatchObject({ of: "old", phase: "finished", events: 2, newRun: "new" });
    expect(recorded).toBe(1);
  });

  it("keeps the reason when the re-run fails", async () => {
    mockIPC(() => {
      throw { code: "data", message: "the dataset /d.csv changed since the run; its fingerprint differs" };
    });
    await startRerun("old", () => {});
    expect(rerunState.current).toMatchObject({ phase: "failed", message: "the dataset /d.csv changed since the run; its fingerprint differs" });
  });
});
