// The form's checks: errors block Start, warnings explain a value outside the recommended range.
import { describe, expect, it } from "vitest";
import { initialForm, presetParams, type TrainForm } from "./settings";
import { formatRate, hasErrors, issuesFor, recommendedRange, validate } from "./validation";

function form(patch: Partial<TrainForm> = {}, params: Partial<TrainForm["params"]> = {}): TrainForm {
  const base = { ...initialForm(), model: "/models/minilm", data: "/data/reviews.csv", ...patch };
  return { ...base, params: { ...presetParams("balanced", base.method, base.task, 1000), ...params } };
}
const ctx = { rows: 1000, contextLength: 512 };

describe("validate", () => {
  it("finds nothing wrong with the Balanced preset", () => {
    expect(validate(form(), ctx)).toEqual([]);
  });

  it("asks for a model and data before anything else", () => {
    const issues = validate(form({ model: " ", data: "" }), ctx);
    expect(issuesFor(issues, "model")[0].level).toBe("error");
    expect(issuesFor(issues, "data")[0].level).toBe("error");
    expect(hasErrors(issues)).toBe(true);
  });

  it("warns about a learning rate outside 1e-5 to 2e-3 for LoRA, and refuses 0 or 1", () => {
    expect(issuesFor(validate(form({}, { lr: 5e-3 }), ctx), "lr")).toMatchObject([{ level: "warning" }]);
    expect(issuesFor(validate(form({}, { lr: 1e-3 }), ctx), "lr")).toEqual([]);
    expect(issuesFor(validate(form({}, { lr: 5e-6 }), ctx), "lr")[0].message).toContain("1e-5 to 2e-3");
    expect(issuesFor(validate(form({}, { lr: 0 }), ctx), "lr")[0].level).toBe("error");
    expect(issuesFor(validate(form({}, { lr: 1 }), ctx), "lr")[0].level).toBe("error");
    expect(issuesFor(validate(form({}, { lr: 3e-4 }), ctx), "lr")).toEqual([]);
  });

  it("judges the learning rate by method: a head on features takes 1e-3, full fine-tuning not", () => {
    expect(issuesFor(validate(form({ method: "features" }, { lr: 1e-3 }), ctx), "lr")).toEqual([]);
    expect(issuesFor(validate(form({ method: "full" }, { lr: 3e-4 }), ctx), "lr")[0].level).toBe("warning");
  });

  it("warns about a batch outside 4 to 64 and refuses a fractional one", () => {
    expect(issuesFor(validate(form({}, { batch: 2 }), ctx), "batch")[0].message).toContain("4 to 64");
    expect(issuesFor(validate(form({}, { batch: 4 }), ctx), "batch")).toEqual([]);
    expect(issuesFor(validate(form({}, { batch: 128 }), ctx), "batch")[0].level).toBe("warning");
    expect(issuesFor(validate(form({}, { batch: 2.5 }), ctx), "batch")[0].level).toBe("error");
  });

  it("recommends 5 to 10 epochs for small data and 2 to 3 for large data", () => {
    expect(issuesFor(validate(form({}, { epochs: 2 }), { ...ctx, rows: 500 }), "epochs")[0].message).toContain("5 to 10");
    expect(issuesFor(validate(form({}, { epochs: 8 }), { ...ctx, rows: 100_000 }), "epochs")[0].message).toContain("2 to 3");
    expect(issuesFor(validate(form({}, { epochs: 3 }), { ...ctx, rows: 100_000 }), "epochs")).toEqual([]);
    expect(issuesFor(validate(form({}, { epochs: 0 }), ctx), "epochs")[0].level).toBe("error");
    // One epoch is "1 epoch", not "1 epochs".
    const one = issuesFor(validate(form({}, { epochs: 1 }), { ...ctx, rows: 500 }), "epochs")[0].message;
    expect(one).toContain("1 epoch ");
    expect(one).not.toContain("1 epochs");
  });

  it("turns the epochs warning into a note under the Quick look preset, which is short on purpose", () => {
    const quick = { ...form(), preset: "quick" as const, params: presetParams("quick", "lora", "classify", 1000) };
    const issues = validate(quick, ctx);
    expect(issuesFor(issues, "epochs")).toMatchObject([{ level: "note" }]);
    expect(hasErrors(issues)).toBe(false);
  });

  it("warns when the maximum length is longer than the model reads", () => {
    expect(issuesFor(validate(form({}, { max_len: 1024 }), ctx), "max_len")[0].message).toContain("512");
  });

  it("checks LoRA rank and alpha only for adapter methods", () => {
    expect(issuesFor(validate(form({}, { lora_rank: 0 }), ctx), "lora_rank")[0].level).toBe("error");
    expect(issuesFor(validate(form({}, { lora_rank: 128 }), ctx), "lora_rank")[0].level).toBe("warning");
    expect(issuesFor(validate(form({}, { lora_alpha: 100 }), ctx), "lora_alpha")[0].level).toBe("warning");
    expect(issuesFor(validate(form({ method: "full" }, { lora_rank: 0, lr: 2e-5 }), ctx), "lora_rank")).toEqual([]);
  });

  it("needs validation rows, warns when there are no test rows, and refuses splits that leave too little to train", () => {
    expect(issuesFor(validate(form({}, { val_fraction: 0 }), ctx), "val_fraction")[0].level).toBe("error");
    expect(issuesFor(validate(form({}, { test_fraction: 0 }), ctx), "test_fraction")[0].message).toContain("Evaluate");
    expect(issuesFor(validate(form({}, { val_fraction: 0.4, test_fraction: 0.4 }), ctx), "val_fraction").some((i) => i.level === "error")).toBe(true);
  });

  it("accepts an empty checkpoint interval (once per epoch) and warns about a very short one", () => {
    expect(issuesFor(validate(form({}, { checkpoint_every: null }), ctx), "checkpoint_every")).toEqual([]);
    expect(issuesFor(validate(form({}, { checkpoint_every: 2 }), ctx), "checkpoint_every")[0].level).toBe("warning");
    expect(issuesFor(validate(form({}, { checkpoint_every: -1 }), ctx), "checkpoint_every")[0].level).toBe("error");
  });

  it("refuses a method the task cannot use", () => {
    expect(issuesFor(validate(form({ method: "qlora" }), ctx), "method")[0].level).toBe("error");
    expect(issuesFor(validate(form({ task: "generate", method: "features" }), ctx), "method")[0].level).toBe("error");
  });

  it("warns when very few rows are left for training", () => {
    expect(issuesFor(validate(form(), { ...ctx, rows: 15 }), "data")[0].level).toBe("warning");
  });

  it("refuses a negative or fractional seed", () => {
    expect(issuesFor(validate(form({}, { seed: -1 }), ctx), "seed")[0].level).toBe("error");
    expect(issuesFor(validate(form({}, { seed: 1.5 }), ctx), "seed")[0].level).toBe("error");
  });
});

describe("recommendedRange and formatRate", () => {
  it("states the epochs range for unknown data as the small-data one, and says so", () => {
    const f = form();
    const r = recommendedRange("epochs", { task: "classify", method: "lora", rows: null, contextLength: null, preset: "balanced" }, f.params);
    expect(r?.text).toBe("5 to 10");
    expect(r?.why).toContain("not known");
  });

  it("writes learning rates the way papers do", () => {
    expect(formatRate(2e-5)).toBe("2e-5");
    expect(formatRate(0.0005)).toBe("5e-4");
    expect(formatRate(1.5e-4)).toBe("1.5e-4");
  });
});
