// Presets and the request built from the form.
import { describe, expect, it } from "vitest";
import { buildRequest, initialForm, presetParams } from "./settings";
import { acceptForm } from "./session.svelte";

describe("presets", () => {
  it("Balanced takes the engine's defaults for the method and data size", () => {
    const p = presetParams("balanced", "lora", "classify", 1250);
    expect(p).toMatchObject({ epochs: 5, lr: 2e-4, batch: 16, max_len: 128, lora_rank: 8, lora_alpha: 16, seed: 42 });
    expect(presetParams("balanced", "full", "classify", 50_000).epochs).toBe(2);
  });

  it("Quick look trains one short pass and Best quality more, longer passes", () => {
    const quick = presetParams("quick", "lora", "classify", 5000);
    const balanced = presetParams("balanced", "lora", "classify", 5000);
    const best = presetParams("best", "lora", "classify", 5000);
    expect(quick.epochs).toBeLessThan(balanced.epochs as number);
    expect(best.epochs).toBeGreaterThan(balanced.epochs as number);
    expect(quick.max_len).toBeLessThan(balanced.max_len as number);
    expect(best.max_len).toBeGreaterThan(balanced.max_len as number);
    expect(best.lora_rank).toBeGreaterThan(balanced.lora_rank as number);
  });

  it("keeps the split the user chose when a preset is applied", () => {
    const p = presetParams("best", "lora", "generate", null, { val_fraction: 0.2, test_fraction: 0.05 });
    expect([p.val_fraction, p.test_fraction]).toEqual([0.2, 0.05]);
  });
});

describe("buildRequest", () => {
  it("sends the columns of the task only, empty ones as null for the data crate to guess", () => {
    const form = { ...initialForm(), model: " /m ", data: "/d.csv", text_column: "review", label_column: "", prompt_column: "q" };
    const req = buildRequest(form);
    expect(req).toMatchObject({ model: "/m", data: "/d.csv", task: "classify", method: "lora", text_column: "review", label_column: null, prompt_column: null });
  });

  it("leaves LoRA settings out for methods without adapters", () => {
    const form = { ...initialForm(), method: "full" as const, model: "/m", data: "/d" };
    const req = buildRequest(form);
    expect([req.lora_rank, req.lora_alpha]).toEqual([null, null]);
    expect(req.epochs).toBe(form.params.epochs);
    expect(req.device).toBe("auto");
  });
});

describe("the forgetting check after training", () => {
  it("is on by default (the engine's default) and the request carries the form's choice", () => {
    const form = { ...initialForm(), model: "/m", data: "/d.csv", task: "generate" as const };
    expect(form.forgetting_check).toBe(true);
    expect(buildRequest(form).forgetting_check).toBe(true);
    expect(buildRequest({ ...form, forgetting_check: false }).forgetting_check).toBe(false);
  });

  it("a stored form keeps its choice; a missing or wrong value falls back to on", () => {
    expect(acceptForm({ ...initialForm(), forgetting_check: false })?.forgetting_check).toBe(false);
    expect(acceptForm({ ...initialForm(), forgetting_check: "no" })?.forgetting_check).toBe(true);
  });
});

describe("activation checkpointing", () => {
  it("is automatic by default (the engine's default) and the request carries the form's choice", () => {
    const form = { ...initialForm(), model: "/m", data: "/d.csv" };
    expect(form.checkpointing).toBe("auto");
    expect(buildRequest(form).checkpointing).toBe("auto");
    expect(buildRequest({ ...form, checkpointing: "on" }).checkpointing).toBe("on");
    expect(buildRequest({ ...form, checkpointing: "off" }).checkpointing).toBe("off");
  });

  it("a stored form keeps its choice; an unknown or missing value falls back to automatic", () => {
    expect(acceptForm({ ...initialForm(), checkpointing: "on" })?.checkpointing).toBe("on");
    expect(acceptForm({ ...initialForm(), checkpointing: "sometimes" })?.checkpointing).toBe("auto");
    const { checkpointing: _, ...older } = initialForm();
    expect(acceptForm(older)?.checkpointing).toBe("auto");
  });
});

describe("number format (issue 13)", () => {
  it("is automatic by default and the request carries the form's choice", () => {
    const form = { ...initialForm(), model: "/m", data: "/d.csv" };
    expect(form.precision).toBe("auto");
    expect(buildRequest(form).precision).toBe("auto");
    expect(buildRequest({ ...form, precision: "bf16" }).precision).toBe("bf16");
    expect(buildRequest({ ...form, precision: "f32" }).precision).toBe("f32");
  });

  it("a stored form keeps its choice; an unknown or missing value falls back to automatic", () => {
    expect(acceptForm({ ...initialForm(), precision: "bf16" })?.precision).toBe("bf16");
    expect(acceptForm({ ...initialForm(), precision: "fp8" })?.precision).toBe("auto");
    const { precision: _, ...older } = initialForm();
    expect(acceptForm(older)?.precision).toBe("auto");
  });
});
