// "Bring back a run" with the IPC mocked: the folder chosen is imported, the run's id reaches the
// History screen, and a refusal is shown with its reason.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import BringBackRun from "./BringBackRun.svelte";
import { eventually } from "../../shared/testing/eventually";

let app: ReturnType<typeof mount> | undefined;
const $ = <T extends HTMLElement = HTMLElement>(css: string) => document.querySelector<T>(css);
const calls: { cmd: string; args: Record<string, unknown> }[] = [];
let chosen: string | null = "/home/me/jobs/tiny-job";
let failWith: { code: string; message: string } | null = null;

beforeEach(() => {
  document.body.innerHTML = "";
  calls.length = 0;
  chosen = "/home/me/jobs/tiny-job";
  failWith = null;
  mockIPC((cmd, raw) => {
    const args = (raw ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    if (cmd === "plugin:dialog|open") return chosen;
    if (cmd === "job_import") {
      if (failWith) throw failWith;
      return { run_id: "r9", dir: "/h/runs/r9", kind: "adapter", steps: 20, loss_points: 20, metrics: { loss: 1.0 }, world_size: 2 };
    }
    throw new Error(`unexpected ${cmd}`);
  });
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  clearMocks();
});

describe("Bring back a run", () => {
  it("imports the chosen job folder and hands the run's id on", async () => {
    const imported: string[] = [];
    app = mount(BringBackRun, { target: document.body, props: { onImported: (id: string) => imported.push(id) } });
    $<HTMLButtonElement>('[data-action="bring-back"]')!.click();
    await eventually(() => expect(imported).toEqual(["r9"]));
    expect(calls.find((c) => c.cmd === "job_import")!.args.dir).toBe("/home/me/jobs/tiny-job");
    expect($('[data-testid="job-imported"]')!.textContent).toContain("Run r9 is back");
  });

  it("does nothing when the dialog is cancelled", async () => {
    chosen = null;
    app = mount(BringBackRun, { target: document.body, props: {} });
    $<HTMLButtonElement>('[data-action="bring-back"]')!.click();
    await eventually(() => expect(calls.some((c) => c.cmd === "plugin:dialog|open")).toBe(true));
    expect(calls.some((c) => c.cmd === "job_import")).toBe(false);
  });

  it("shows why an output was refused", async () => {
    failWith = { code: "invalid", message: "the adapter was trained on `someone/else`, but the job's base model is `base-model`" };
    app = mount(BringBackRun, { target: document.body, props: {} });
    $<HTMLButtonElement>('[data-action="bring-back"]')!.click();
    await eventually(() => expect($('[data-banner="job-import-error"]')!.textContent).toContain("someone/else"));
  });
});
