// Which method the screen recommends, and which ones a task allows.
import { describe, expect, it } from "vitest";
import { METHODS, recommend, unavailableReason } from "./methods";

describe("methods", () => {
  it("explains all four methods in the order full, features, lora, qlora", () => {
    expect(METHODS.map((m) => m.id)).toEqual(["full", "features", "lora", "qlora"]);
    for (const m of METHODS) expect([m.changes, m.memory, m.speed, m.when].every((t) => t.length > 5)).toBe(true);
  });

  it("allows QLoRA for generation only and feature extraction for classification only", () => {
    expect(unavailableReason("qlora", "classify")).toContain("LoRA");
    expect(unavailableReason("features", "generate")).not.toBeNull();
    expect(unavailableReason("lora", "classify")).toBeNull();
    expect(unavailableReason("qlora", "generate")).toBeNull();
  });
});

describe("recommend", () => {
  it("recommends a head on frozen features for a few hundred examples", () => {
    const r = recommend({ task: "classify", rows: 200, gpu: false, estimate: null });
    expect(r.method).toBe("features");
    expect(r.why).toContain("200 examples");
  });

  it("recommends LoRA for mid-sized classification data, on a CPU", () => {
    const r = recommend({ task: "classify", rows: 5000, gpu: false, estimate: null });
    expect(r.method).toBe("lora");
    expect(r.why).toContain("CPU");
  });

  it("recommends full fine-tuning for large data on a GPU unless it does not fit", () => {
    expect(recommend({ task: "classify", rows: 50_000, gpu: true, estimate: null }).method).toBe("full");
    expect(recommend({ task: "classify", rows: 50_000, gpu: true, estimate: { method: "full", verdict: "does_not_fit" } }).method).toBe("lora");
    expect(recommend({ task: "classify", rows: 50_000, gpu: false, estimate: null }).method).toBe("lora");
  });

  it("recommends LoRA for generation, and QLoRA when LoRA does not fit in memory", () => {
    expect(recommend({ task: "generate", rows: 1000, gpu: false, estimate: null }).method).toBe("lora");
    const r = recommend({ task: "generate", rows: 1000, gpu: false, estimate: { method: "lora", verdict: "does_not_fit" } });
    expect(r.method).toBe("qlora");
    expect(r.why).toContain("does not fit");
  });
});
