// The run page's Export section with the IPC mocked: the formats a run offers, the request the
// Export button sends (format, GGUF precision, chosen folder), what was written, and an error.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ExportSummary, RunRecord } from "../history/types";
import { runDetails } from "../train/fixtures";
import ExportPanel from "./ExportPanel.svelte";
import { eventually } from "../../shared/testing/eventually";

let app: ReturnType<typeof mount> | undefined;

const $ = <T extends HTMLElement = HTMLElement>(css: string) => document.querySelector<T>(css);
const testId = (id: string) => `[data-testid="${id}"]`;
const offered = () => [...document.querySelectorAll<HTMLElement>('[data-testid^="export-format-"]')].map((e) => e.dataset.testid);

const record = (task: string, method: string): RunRecord => ({
  ...runDetails("20261128-1542-a1b2c3", task).run,
  name: "qwen-support",
  method,
});

const summary = (request: { format: string }): ExportSummary => ({
  run_id: "20261128-1542-a1b2c3",
  format: request.format as ExportSummary["format"],
  folder: "/home/me/models/qwen-support-gguf",
  files: [
    { name: "qwen-support-f16.gguf", bytes: 1_230_000_000 },
    { name: "Modelfile", bytes: 120 },
  ],
  how_to_use: "Run `ollama create qwen-support -f Modelfile` in the folder, then `ollama run qwen-support`.",
});

const calls: { cmd: string; args: Record<string, unknown> }[] = [];
let exportError: { code: string; message: string } | null = null;
let chosenFolder: string | null = null;

beforeEach(() => {
  document.body.innerHTML = "";
  calls.length = 0;
  exportError = null;
  chosenFolder = null;
  mockIPC((cmd, raw) => {
    const args = (raw ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    switch (cmd) {
      case "plugin:dialog|open":
        return chosenFolder;
      case "runs_export":
        if (exportError) throw exportError;
        return summary(args.request as { format: string });
      default:
        throw new Error(`unexpected ${cmd}`);
    }
  });
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  clearMocks();
});

function pick(id: string) {
  const input = $<HTMLInputElement>(`${testId(id)} input`);
  if (!input) throw new Error(`no ${id}`);
  input.click();
  flushSync();
}

describe("the Export section", () => {
  it("offers adapter, merged and GGUF for a LoRA generation run, GGUF picked with F16", () => {
    app = mount(ExportPanel, { target: document.body, props: { run: record("generate", "lora") } });
    flushSync();
    expect(offered()).toEqual(["export-format-adapter", "export-format-merged", "export-format-gguf"]);
    expect($<HTMLInputElement>(`${testId("export-format-gguf")} input`)?.checked).toBe(true);
    expect($<HTMLInputElement>(`${testId("export-precision-f16")} input`)?.checked).toBe(true);
    expect($(testId("export-format-adapter"))?.textContent).toContain("PEFT applies to the base model");
    expect($("[data-export-destination]")?.textContent).toContain("Tunesmith's exports folder");
  });

  it("offers no adapter for a full fine-tune, and GGUF's precision only for GGUF", () => {
    app = mount(ExportPanel, { target: document.body, props: { run: record("generate", "full") } });
    flushSync();
    expect(offered()).toEqual(["export-format-merged", "export-format-gguf"]);
    pick("export-format-merged");
    expect($(testId("export-precision-f16"))).toBeNull();
  });

  it("offers a classification run the classifier folder and sends that format", async () => {
    app = mount(ExportPanel, { target: document.body, props: { run: record("classify", "lora") } });
    flushSync();
    expect(offered()).toEqual(["export-format-classifier"]);
    expect($(testId("export-precision-f16"))).toBeNull();
    $<HTMLButtonElement>(testId("export-start"))?.click();
    await eventually(() => expect($(testId("export-result"))).not.toBeNull());
    expect(calls.find((c) => c.cmd === "runs_export")?.args).toEqual({
      request: { run: "20261128-1542-a1b2c3", format: "classifier", gguf: "f16", into: null, out: null },
    });
  });

  it("sends the format, precision and chosen folder, then shows the folder, files and how to use them", async () => {
    chosenFolder = "/home/me/models";
    app = mount(ExportPanel, { target: document.body, props: { run: record("generate", "qlora") } });
    flushSync();
    pick("export-precision-q8_0");
    $<HTMLButtonElement>('[data-action="export-choose-folder"]')?.click();
    await eventually(() => expect($("[data-export-destination]")?.textContent).toContain("/home/me/models"));
    expect(calls[0]).toMatchObject({ cmd: "plugin:dialog|open", args: { options: { directory: true } } });

    $<HTMLButtonElement>(testId("export-start"))?.click();
    flushSync();
    expect($<HTMLButtonElement>(testId("export-start"))?.disabled).toBe(true);
    await eventually(() => expect($(testId("export-result"))).not.toBeNull());
    expect(calls.find((c) => c.cmd === "runs_export")?.args).toEqual({
      request: { run: "20261128-1542-a1b2c3", format: "gguf", gguf: "q8_0", into: "/home/me/models", out: null },
    });
    expect($(testId("export-folder"))?.textContent).toBe("/home/me/models/qwen-support-gguf");
    const files = [...document.querySelectorAll<HTMLElement>(testId("export-file"))].map((f) => f.textContent?.replace(/\s+/g, " ").trim());
    expect(files).toEqual(["qwen-support-f16.gguf 1.23 GB", "Modelfile 120 B"]);
    expect($(testId("export-result"))?.textContent).toContain("ollama create");
    expect($<HTMLButtonElement>(testId("export-start"))?.disabled).toBe(false);
  });

  it("sends the adapter format to the exports folder when no folder was chosen, then tells the page", async () => {
    let exported = 0;
    app = mount(ExportPanel, { target: document.body, props: { run: record("generate", "lora"), onExported: () => exported++ } });
    flushSync();
    pick("export-format-adapter");
    expect($(testId("export-precision-f16"))).toBeNull();
    $<HTMLButtonElement>(testId("export-start"))?.click();
    await eventually(() => expect($(testId("export-result"))).not.toBeNull());
    expect(calls.find((c) => c.cmd === "runs_export")?.args).toEqual({
      request: { run: "20261128-1542-a1b2c3", format: "adapter", gguf: "f16", into: null, out: null },
    });
    expect(exported).toBe(1);
  });

  it("shows why an export failed in a banner that can be dismissed", async () => {
    exportError = { code: "export", message: "the disk is full: 2 GB needed in /home/me/models" };
    app = mount(ExportPanel, { target: document.body, props: { run: record("generate", "lora") } });
    flushSync();
    $<HTMLButtonElement>(testId("export-start"))?.click();
    await eventually(() => expect($('[data-banner="export-error"]')?.textContent).toContain("the disk is full"));
    expect($(testId("export-result"))).toBeNull();
    expect($<HTMLButtonElement>(testId("export-start"))?.disabled).toBe(false);
    $<HTMLButtonElement>('[data-banner="export-error"] button')?.click();
    flushSync();
    expect($('[data-banner="export-error"]')).toBeNull();
  });
});
