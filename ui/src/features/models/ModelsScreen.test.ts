// The Models screen with the IPC mocked: the local registry, "Use this model", the offline banner,
// the greyed unsupported result, and a download's progress and cancel.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { downloads } from "./downloads.svelte";
import { searchState } from "./search-state.svelte";
import type { ModelList, ModelSummary, PullEvent } from "./types";
import { currentSelection, selection } from "../../shared/selection.svelte";
import Models from "./ModelsScreen.svelte";
import { eventually } from "../../shared/testing/eventually";

let app: ReturnType<typeof mount> | undefined;

const $ = <T extends HTMLElement = HTMLElement>(css: string) => document.querySelector<T>(css);
const text = (css: string) => $(css)?.textContent?.replace(/\s+/g, " ").trim() ?? "";

const list: ModelList = {
  cache_dir: "/home/ada/.cache/huggingface/hub",
  offline: false,
  models: [
    {
      id: "sentence-transformers/all-MiniLM-L6-v2",
      source: "hub",
      path: "/cache/snap",
      revision: "abc",
      architecture: "BertModel",
      family: "encoder",
      supported: true,
      unsupported_reason: null,
      parameters: 22_713_216,
      context_length: 512,
      size_on_disk: 90_900_000,
    },
  ],
};

const result = (id: string, supported: boolean): ModelSummary => ({
  id,
  task: "text-generation",
  parameters: 124_000_000,
  download_bytes: 500_000_000,
  license: "mit",
  gated: false,
  downloads: 1000,
  likes: 1,
  last_modified: null,
  support: { supported, family: supported ? "decoder" : null, architecture: null, reason: supported ? null : "GPT-2 (GPT2LMHeadModel) is not supported yet" },
});

beforeEach(() => {
  document.body.innerHTML = "";
  selection.current = {};
  downloads.all = {};
  searchState.query = "";
  searchState.task = "";
  searchState.results = null;
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  clearMocks();
});

describe("Models screen", () => {
  it("says No models yet on a fresh home", async () => {
    mockIPC((cmd) => (cmd === "models_list" ? { ...list, models: [] } : []));
    app = mount(Models, { target: document.body });
    await eventually(() => expect(text("[data-empty-state] h2")).toBe("No models yet"));
  });

  it("lists local models with their size and makes one the selection", async () => {
    mockIPC((cmd) => (cmd === "models_list" ? list : []));
    app = mount(Models, { target: document.body });
    await eventually(() => expect($('[data-model-row="sentence-transformers/all-MiniLM-L6-v2"]')).not.toBeNull());
    expect(text("[data-size-on-disk]")).toBe("90.9 MB");
    $('[data-model-row] [data-action="use-model"]')?.click();
    flushSync();
    expect(currentSelection()).toEqual({ model: "sentence-transformers/all-MiniLM-L6-v2", task: "classify" });
    expect(text("[data-selected-model]")).toBe("sentence-transformers/all-MiniLM-L6-v2");
    expect($("[data-in-use]")).not.toBeNull();
  });

  it("names an imported GGUF model by its file, with the path on hover, not gguf/ or a path", async () => {
    const gguf = "/home/ada/models/SmolLM2-135M-Instruct-Q4_1.gguf";
    const imported = { ...list.models[0], id: "gguf/SmolLM2-135M-Instruct-Q4_1.gguf", source: "gguf" as const, path: gguf, family: "decoder" as const };
    mockIPC((cmd) => (cmd === "models_list" ? { ...list, models: [imported] } : []));
    app = mount(Models, { target: document.body });
    await eventually(() => expect($("[data-model-name]")).not.toBeNull());
    expect(text("[data-model-name]")).toBe("SmolLM2-135M-Instruct-Q4_1.gguf");
    expect($("[data-model-name]")?.getAttribute("title")).toBe("gguf/SmolLM2-135M-Instruct-Q4_1.gguf");
    $('[data-model-row] [data-action="use-model"]')?.click();
    flushSync();
    expect(text("[data-selected-model]")).toBe("SmolLM2-135M-Instruct-Q4_1.gguf");
  });

  it("says an import worked by the model's name, not its registry id", async () => {
    const gguf = "/home/ada/models/SmolLM2-135M-Instruct.Q4_1.gguf";
    const imported = { ...list.models[0], id: "gguf/SmolLM2-135M-Instruct.Q4_1", source: "gguf" as const, path: gguf, family: "decoder" as const };
    let models: ModelList["models"] = [];
    mockIPC((cmd) => {
      if (cmd === "models_list") return { ...list, models };
      if (cmd === "models_import") return (models = [imported]), imported;
      return [];
    });
    app = mount(Models, { target: document.body });
    await eventually(() => expect(text("[data-empty-state] h2")).toBe("No models yet"));
    const field = $<HTMLInputElement>("#import-path")!;
    field.value = gguf;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    flushSync();
    $<HTMLButtonElement>('[data-path-picker="import-model"] button[type=submit]')!.click();
    await eventually(() => expect(text("[data-import-result]")).toBe("Imported SmolLM2-135M-Instruct.Q4_1."));
  });

  it("shows an unreachable hub as a banner and keeps the local models", async () => {
    mockIPC((cmd) => {
      if (cmd === "models_list") return list;
      if (cmd === "models_search") throw { code: "network", message: "the hub at https://huggingface.co cannot be reached" };
      return [];
    });
    app = mount(Models, { target: document.body });
    await eventually(() => expect($("[data-model-row]")).not.toBeNull());
    $<HTMLFormElement>('form[role="search"]')?.requestSubmit();
    await eventually(() => expect($('[data-banner="hub-unreachable"]')).not.toBeNull());
    expect(text('[data-banner="hub-unreachable"]')).toContain("cannot be reached");
    expect($("[data-model-row]")).not.toBeNull();
    expect($('[role="alert"]')).toBeNull();
  });

  it("greys an unsupported result with its reason and offers no download", async () => {
    mockIPC((cmd) => {
      if (cmd === "models_list") return { ...list, models: [] };
      if (cmd === "models_search") return { results: [result("openai-community/gpt2", false), result("o/llama", true)], suggestions: [] };
      return [];
    });
    app = mount(Models, { target: document.body });
    $<HTMLFormElement>('form[role="search"]')?.requestSubmit();
    await eventually(() => expect($('[data-search-result="openai-community/gpt2"]')).not.toBeNull());
    const bad = $('[data-search-result="openai-community/gpt2"]');
    expect(bad?.dataset.supported).toBe("false");
    expect(bad?.textContent).toContain("GPT-2 (GPT2LMHeadModel) is not supported yet");
    expect(bad?.querySelector<HTMLButtonElement>('[data-action="download"]')?.disabled).toBe(true);
    expect($('[data-search-result="o/llama"] [data-action="download"]')?.hasAttribute("disabled")).toBe(false);
    // Supported results come first.
    expect(document.querySelectorAll("[data-search-result]")[0].getAttribute("data-search-result")).toBe("o/llama");
  });

  it("shows a download's bytes, rate and time left, and cancels it", async () => {
    let send: (e: PullEvent) => void = () => {};
    let reject: (e: unknown) => void = () => {};
    const cancelled: string[] = [];
    mockIPC((cmd, raw) => {
      const args = raw as Record<string, unknown>;
      if (cmd === "models_list") return { ...list, models: [] };
      if (cmd === "models_suggested")
        return [{ id: "HuggingFaceTB/SmolLM2-135M-Instruct", task: "text-generation", title: "Tiny", why: "small", architecture: "LlamaForCausalLM", parameters: 134_515_008, license: "apache-2.0" }];
      if (cmd === "models_pull") {
        send = (args.onEvent as { onmessage: (e: PullEvent) => void }).onmessage;
        return new Promise((_, r) => (reject = r));
      }
      if (cmd === "job_cancel") {
        cancelled.push(args.jobId as string);
        reject({ code: "cancelled", message: "cancelled" });
        return null;
      }
      return [];
    });
    app = mount(Models, { target: document.body });
    await eventually(() => expect($('[data-suggested] [data-action="download"]')).not.toBeNull());
    $('[data-suggested] [data-action="download"]')?.click();
    await eventually(() => expect($("[data-download]")).not.toBeNull());
    send({ event: "started", repo: "r", revision: "main", commit: "c", files: [{ file: "m", size: 1000, lfs: true }], total_bytes: 270_000_000 });
    send({ event: "progress", file: "m", file_bytes: 1, bytes_done: 135_000_000, total_bytes: 270_000_000, rate_bytes_per_s: 10_000_000, eta_s: 13.5 });
    flushSync();
    expect(text("[data-download-bytes]")).toBe("135 MB of 270 MB (50 %)");
    expect(text("[data-download-rate]")).toBe("10 MB/s");
    expect(text("[data-download-eta]")).toBe("15 s left");
    expect($('[role="progressbar"]')?.getAttribute("aria-valuenow")).toBe("50");
    $('[data-action="cancel-download"]')?.click();
    await eventually(() => expect($("[data-download]")?.dataset.phase).toBe("cancelled"));
    expect(cancelled).toHaveLength(1);
  });

  it("recognises a suggested model imported from a folder, and offers no download while offline", async () => {
    const suggested = [
      { id: "sentence-transformers/all-MiniLM-L6-v2", task: "text-classification", title: "MiniLM", why: "small", architecture: "BertModel", parameters: 22_713_216, license: "apache-2.0" },
      { id: "HuggingFaceTB/SmolLM2-135M-Instruct", task: "text-generation", title: "Tiny", why: "small", architecture: "LlamaForCausalLM", parameters: 134_515_008, license: "apache-2.0" },
    ];
    const imported = { ...list.models[0], id: "local/all-MiniLM-L6-v2", source: "local" as const, path: "/home/ada/models/all-MiniLM-L6-v2" };
    mockIPC((cmd) => {
      if (cmd === "models_list") return { ...list, offline: true, models: [imported] };
      if (cmd === "models_suggested") return suggested;
      return [];
    });
    app = mount(Models, { target: document.body });
    await eventually(() => expect($('[data-suggested="sentence-transformers/all-MiniLM-L6-v2"] [data-action="use-model"]')).not.toBeNull());
    // Offline: the model that is not here offers no Download, and says how to bring it in.
    expect($('[data-suggested="HuggingFaceTB/SmolLM2-135M-Instruct"] [data-action="download"]')).toBeNull();
    expect(text('[data-suggested="HuggingFaceTB/SmolLM2-135M-Instruct"] [data-offline-note]')).toContain("Import");
    $('[data-suggested="sentence-transformers/all-MiniLM-L6-v2"] [data-action="use-model"]')?.click();
    flushSync();
    expect(currentSelection().model).toBe("/home/ada/models/all-MiniLM-L6-v2");
  });
});
