// "Run elsewhere" with the IPC mocked: the trainer choice, the folder, the request sent (the Train
// form's request unchanged), the summary shown, and an error.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import RunElsewhere from "./RunElsewhere.svelte";
import { eventually } from "../../shared/testing/eventually";
import type { TrainRequest } from "../train/types";

let app: ReturnType<typeof mount> | undefined;
const $ = <T extends HTMLElement = HTMLElement>(css: string) => document.querySelector<T>(css);

const request = {
  model: "/models/tiny-llama",
  data: "/data/facts.csv",
  task: "generate",
  method: "lora",
  seed: 7,
} as TrainRequest;

const calls: { cmd: string; args: Record<string, unknown> }[] = [];
let failWith: { code: string; message: string } | null = null;

beforeEach(() => {
  document.body.innerHTML = "";
  calls.length = 0;
  failWith = null;
  mockIPC((cmd, raw) => {
    const args = (raw ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    if (cmd === "plugin:dialog|open") return "/home/me/jobs";
    if (cmd === "job_export") {
      if (failWith) throw failWith;
      return {
        run_id: "20261204-1800-abcdef",
        dir: (args.request as { out: string }).out,
        trainer: "axolotl",
        train_rows: 32,
        validation_rows: 4,
        base_model: "base-model",
        files: ["job.json"],
        launch: "axolotl train axolotl.yaml",
      };
    }
    throw new Error(`unexpected ${cmd}`);
  });
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  clearMocks();
});

function open(props: { request: TrainRequest; blocked?: string | null }) {
  app = mount(RunElsewhere, { target: document.body, props });
  $<HTMLButtonElement>('[data-action="run-elsewhere"]')!.click();
  flushSync();
}

describe("Run elsewhere", () => {
  it("sends the Train form's request for the chosen trainer into the chosen folder and shows the launch command", async () => {
    open({ request });
    expect($('[data-testid="job-why"]')!.textContent).toMatch(/Choose the folder/);
    $<HTMLInputElement>('[data-testid="job-trainer-axolotl"] input')!.click();
    $<HTMLButtonElement>('[data-action="job-folder"]')!.click();
    await eventually(() => expect($('[data-testid="job-parent"]')!.textContent).toBe("/home/me/jobs"));
    $<HTMLButtonElement>('[data-action="job-write"]')!.click();
    await eventually(() => expect($('[data-testid="job-written"]')).not.toBeNull());
    const sent = calls.find((c) => c.cmd === "job_export")!.args.request;
    expect(sent).toEqual({ train: request, trainer: "axolotl", out: "/home/me/jobs/tiny-llama-lora-job" });
    expect($('[data-testid="job-written"]')!.textContent).toContain("axolotl train axolotl.yaml");
    expect($('[data-testid="job-written"]')!.textContent).toContain("20261204-1800-abcdef");
  });

  it("offers no Axolotl for a classifier and stays disabled while the form is blocked", () => {
    open({ request: { ...request, task: "classify" }, blocked: "Pick a data file first." });
    expect($('[data-testid="job-trainer-axolotl"]')).toBeNull();
    expect($<HTMLButtonElement>('[data-action="job-write"]')!.disabled).toBe(true);
    expect($('[data-testid="job-why"]')!.textContent).toBe("Pick a data file first.");
  });

  it("shows the app's message when the job cannot be written", async () => {
    failWith = { code: "invalid", message: "/home/me/jobs/x already exists and is not empty" };
    open({ request });
    $<HTMLButtonElement>('[data-action="job-folder"]')!.click();
    await eventually(() => expect($<HTMLButtonElement>('[data-action="job-write"]')!.disabled).toBe(false));
    $<HTMLButtonElement>('[data-action="job-write"]')!.click();
    await eventually(() => expect($('[data-banner="job-export-error"]')!.textContent).toContain("is not empty"));
  });
});
