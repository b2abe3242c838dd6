// The guided path through the whole frame, with the IPC mocked: Home's "Start a fine-tune" opens
// Models; choosing a model offers the Data screen; a checked dataset offers Train.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import App from "./App.svelte";
import { dataState } from "../features/data/state.svelte";
import type { DataInspectRequest } from "../features/data/types";
import { selection } from "../shared/selection.svelte";
import { eventually } from "../shared/testing/eventually";

let app: ReturnType<typeof mount> | undefined;

const $ = <T extends HTMLElement = HTMLElement>(css: string) => document.querySelector<T>(css);
const heading = () => $("main h1")?.textContent;

beforeEach(() => {
  history.replaceState(null, "", "#");
  document.body.innerHTML = "";
  selection.current = {};
  dataState.choices = null;
  dataState.inspection = null;
  mockIPC((cmd, raw) => {
    switch (cmd) {
      case "doctor":
        return {
          device: { selected: "cpu", cpu_threads: 4, cuda_compiled: false, cuda_available: false, metal_compiled: false, metal_available: false },
          home: "/h",
          versions: { tunesmith: "0.1.0", sqlite: "3" },
        };
      case "models_list":
        return {
          cache_dir: "/c",
          offline: false,
          models: [
            { id: "o/bert", source: "hub", path: "/c/bert", revision: "r", architecture: "BertModel", family: "encoder", supported: true, unsupported_reason: null, parameters: 1000, context_length: 512, size_on_disk: 4000 },
          ],
        };
      case "data_inspect": {
        const request = (raw as { request: DataInspectRequest }).request;
        return {
          report: {
            file: request.file, format: "csv", encoding: "utf-8", has_header: true, task: "classify", rows: 2, usable_rows: 2,
            columns: [{ name: "text", role: "text", guessed_from: "name" }, { name: "label", role: "label", guessed_from: "name" }],
            label_counts: { a: 1, b: 1 }, label_suggestions: [], duplicates: 0, near_duplicates: 0, conflicts: 0, empty: 0, unreadable: 0, pii: {},
            length: { method: "estimate", max_len: 512, min: 1, median: 1, p95: 1, max: 1, mean: 1, truncated: 0 },
            split: { train: 2, validation: 0, test: 0, seed: 42, stratified: true, groups: 0, small_classes: [] },
            fingerprint: "f", warnings: [], errors: [],
          },
          preview: { columns: ["text", "label"], rows: [["hi", "a"], ["yo", "b"]], lines: [2, 3], truncated: false },
        };
      }
      default:
        return cmd.endsWith("_list") || cmd === "models_suggested" ? [] : null;
    }
  });
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  clearMocks();
});

describe("the guided path", () => {
  it("goes from Home to Models to Data to Train by clicks", async () => {
    app = mount(App, { target: document.body });
    $('[data-action="start-fine-tune"]')?.click();
    flushSync();
    expect(heading()).toBe("Models");

    await eventually(() => expect($('[data-model-row="o/bert"] [data-action="use-model"]')).not.toBeNull());
    $('[data-model-row="o/bert"] [data-action="use-model"]')?.click();
    flushSync();
    $('[data-next-step="data"] button')?.click();
    flushSync();
    expect(heading()).toBe("Data");
    expect(document.querySelector("[aria-current=page]")?.getAttribute("data-nav")).toBe("data");

    const input = $<HTMLInputElement>("#data-path");
    if (!input) throw new Error("no path field");
    input.value = "/d/examples.csv";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    $<HTMLFormElement>("[data-path-picker] form")?.requestSubmit();
    await eventually(() => expect($('[data-action="use-dataset"]')).not.toBeNull());
    $('[data-action="use-dataset"]')?.click();
    flushSync();
    $('[data-next-step="train"] button')?.click();
    flushSync();
    expect(heading()).toBe("Train");
    expect(window.location.hash).toBe("#/train");
  });
});
