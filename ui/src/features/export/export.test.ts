import { describe, expect, it } from "vitest";
import { busyLabel, defaultFormat, exportRequest, formatsFor } from "./export";

const ids = (task: string, method: string) => formatsFor(task, method).map((f) => f.id);

describe("export choices", () => {
  it("offers adapter, merged and GGUF for LoRA and QLoRA generation runs", () => {
    expect(ids("generate", "lora")).toEqual(["adapter", "merged", "gguf"]);
    expect(ids("generate", "qlora")).toEqual(["adapter", "merged", "gguf"]);
  });

  it("offers no adapter for a full fine-tune, which has none", () => {
    expect(ids("generate", "full")).toEqual(["merged", "gguf"]);
  });

  it("offers the sentence-transformers classifier folder for a classification run", () => {
    expect(ids("classify", "lora")).toEqual(["classifier"]);
    expect(ids("classify", "features")).toEqual(["classifier"]);
    expect(defaultFormat(formatsFor("classify", "full"))).toBe("classifier");
  });

  it("picks GGUF first, and nothing when nothing is offered", () => {
    expect(defaultFormat(formatsFor("generate", "lora"))).toBe("gguf");
    expect(defaultFormat([])).toBeNull();
  });

  it("every choice has one plain sentence", () => {
    for (const f of formatsFor("generate", "lora")) expect(f.text).toMatch(/^[A-Z].*\.$/);
  });
});

describe("the export request", () => {
  it("goes to Tunesmith's exports folder when no folder was chosen", () => {
    expect(exportRequest("run-1", "gguf", "q8_0", null)).toEqual({ run: "run-1", format: "gguf", gguf: "q8_0", into: null, out: null });
  });

  it("goes into the chosen folder, never to an exact path", () => {
    expect(exportRequest("run-1", "adapter", "f16", "/home/me/models")).toEqual({
      run: "run-1",
      format: "adapter",
      gguf: "f16",
      into: "/home/me/models",
      out: null,
    });
  });

  it("names the format while it is written", () => {
    expect(busyLabel("gguf")).toContain("GGUF");
  });
});
