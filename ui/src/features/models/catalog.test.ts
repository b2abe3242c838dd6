import { describe, expect, it } from "vitest";
import {
  hubAdvice,
  isHubUnreachable,
  localFor,
  localIds,
  registryOrder,
  suggestionsByTask,
  supportedFirst,
  taskLabel,
  taskOfFamily,
} from "./catalog";
import type { ModelRecord, ModelSummary, Suggestion } from "./types";

const suggestion = (id: string, task: string): Suggestion => ({
  id,
  task,
  title: id,
  why: "because",
  architecture: "BertModel",
  parameters: 1,
  license: "mit",
});

const summary = (id: string, supported: boolean): ModelSummary => ({
  id,
  task: "text-classification",
  parameters: null,
  download_bytes: null,
  license: null,
  gated: false,
  downloads: null,
  likes: null,
  last_modified: null,
  support: { supported, family: null, architecture: null, reason: supported ? null : "GPT-2 is not supported" },
});

const record = (id: string, supported: boolean): ModelRecord => ({
  id,
  source: "hub",
  path: `/cache/${id}`,
  revision: null,
  architecture: null,
  family: null,
  supported,
  unsupported_reason: null,
  parameters: null,
  context_length: null,
  size_on_disk: 1,
});

describe("catalog", () => {
  it("groups suggestions by task in the filter's order", () => {
    const groups = suggestionsByTask([
      suggestion("gen", "text-generation"),
      suggestion("cls", "text-classification"),
      suggestion("gen2", "text-generation"),
    ]);
    expect(groups.map((g) => g.task)).toEqual(["text-classification", "text-generation"]);
    expect(groups[1].items.map((s) => s.id)).toEqual(["gen", "gen2"]);
    expect(groups[0].label).toBe("Sort texts into classes");
  });

  it("names unknown tasks by their tag", () => {
    expect(taskLabel("fill-mask")).toBe("fill-mask");
    expect(taskLabel(null)).toBe("unknown task");
  });

  it("treats network and offline errors as an unreachable hub, not a failure", () => {
    expect(isHubUnreachable("network")).toBe(true);
    expect(isHubUnreachable("offline")).toBe(true);
    expect(isHubUnreachable("hub")).toBe(false);
    expect(isHubUnreachable(undefined)).toBe(false);
    expect(hubAdvice("token_required")).toContain("huggingface-cli login");
  });

  it("puts supported results first without reordering within each group", () => {
    const out = supportedFirst([summary("a", false), summary("b", true), summary("c", false), summary("d", true)]);
    expect(out.map((r) => r.id)).toEqual(["b", "d", "a", "c"]);
  });

  it("orders the registry supported first, then by id", () => {
    const out = registryOrder([record("z", true), record("b", false), record("a", true)]);
    expect(out.map((r) => r.id)).toEqual(["a", "z", "b"]);
    expect(localIds(out).has("z")).toBe(true);
  });

  it("maps a model family to the task it trains", () => {
    expect(taskOfFamily("encoder")).toBe("classify");
    expect(taskOfFamily("decoder")).toBe("generate");
    expect(taskOfFamily(null)).toBeUndefined();
  });

  it("finds a hub model imported from a folder or a .gguf file of the same name", () => {
    const folder = { ...record("local/all-MiniLM-L6-v2", true), source: "local" as const };
    const gguf = { ...record("gguf/SmolLM2-135M-Instruct-Q4_1.gguf", true), source: "gguf" as const };
    expect(localFor([folder, gguf], "sentence-transformers/all-MiniLM-L6-v2")).toBe(folder);
    expect(localFor([folder, gguf], "HuggingFaceTB/SmolLM2-135M-Instruct")).toBe(gguf);
    expect(localFor([folder, gguf], "HuggingFaceTB/SmolLM2-360M-Instruct")).toBeNull();
  });
});
