import { describe, expect, it } from "vitest";
import { availableColumns, baseModelFor, planColumns, type Choices } from "./columns";
import { run } from "./fixtures";

const settings = { maxTokens: 128, system: null };

function choices(overrides: Partial<Choices> = {}): Choices {
  return { model: "", run: null, index: null, ...overrides };
}

describe("planColumns", () => {
  it("offers nothing, with a reason for each column, when nothing is chosen", () => {
    const plans = planColumns(choices(), settings);
    expect(availableColumns(plans)).toEqual([]);
    for (const p of plans) {
      expect(p.available).toBe(false);
      if (!p.available) expect(p.reason.length).toBeGreaterThan(10);
    }
  });

  it("offers only the base column for a model alone, and says what the others lack", () => {
    const plans = planColumns(choices({ model: " /models/smol " }), settings);
    expect(availableColumns(plans)).toEqual(["base"]);
    const base = plans[0];
    expect(base.available && base.request).toEqual({
      model: "/models/smol",
      run: null,
      rag: null,
      system: null,
      max_tokens: 128,
      temperature: null,
      seed: null,
      fit_to: null,
    });
    const ft = plans[1];
    expect(!ft.available && ft.reason).toMatch(/fine-tuned run/);
    const rag = plans[2];
    expect(!rag.available && rag.reason).toMatch(/document index/);
  });

  it("offers all four columns with a generation run and an index", () => {
    const plans = planColumns(choices({ run: run(), index: "clinic-docs" }), settings);
    expect(availableColumns(plans)).toEqual(["base", "fine_tuned", "base_rag", "fine_tuned_rag"]);
    const req = (i: number) => {
      const p = plans[i];
      return p.available ? p.request : null;
    };
    // Without a typed model, the base columns use the run's base and the run applies its own.
    expect(req(0)).toMatchObject({ model: run().model, run: null, rag: null });
    expect(req(1)).toMatchObject({ model: null, run: "run-gen-1", rag: null });
    expect(req(2)).toMatchObject({ model: run().model, run: null, rag: "clinic-docs" });
    expect(req(3)).toMatchObject({ model: null, run: "run-gen-1", rag: "clinic-docs" });
  });

  it("applies the run on the typed base model when one is typed", () => {
    const plans = planColumns(choices({ model: "/models/other", run: run() }), settings);
    const ft = plans[1];
    expect(ft.available && ft.request.model).toBe("/models/other");
  });

  it("disables the fine-tuned columns for a classifier, a queued run and a failed run", () => {
    for (const [r, pattern] of [
      [run({ task: "classify" }), /classifier/],
      [run({ status: "queued" }), /not started/],
      [run({ status: "failed" }), /failed/],
    ] as const) {
      const plans = planColumns(choices({ model: "/m", run: r, index: "docs" }), settings);
      expect(availableColumns(plans)).toEqual(["base", "base_rag"]);
      const ft = plans[3];
      expect(!ft.available && ft.reason).toMatch(pattern);
    }
  });

  it("sends a system prompt only when it has text", () => {
    const blank = planColumns(choices({ model: "/m" }), { maxTokens: 10, system: "  " })[0];
    expect(blank.available && blank.request.system).toBeNull();
    const set = planColumns(choices({ model: "/m" }), { maxTokens: 10, system: "Be brief." })[0];
    expect(set.available && set.request.system).toBe("Be brief.");
  });
});

describe("baseModelFor", () => {
  it("prefers the typed model, then the run's model, and never a classifier's", () => {
    expect(baseModelFor(choices({ model: "/m", run: run() }))).toBe("/m");
    expect(baseModelFor(choices({ run: run() }))).toBe(run().model);
    expect(baseModelFor(choices({ run: run({ task: "classify" }) }))).toBeNull();
    expect(baseModelFor(choices())).toBeNull();
  });

  it("leaves the answer length to the backend to fit, every column to the chosen run's training answers", () => {
    const plans = planColumns(choices({ run: run(), index: "docs" }), { maxTokens: null, system: null });
    for (const p of plans) {
      expect(p.available && p.request.max_tokens).toBeNull();
      // The fine-tuned columns fit to their own run; the base columns are told which run to fit to.
      expect(p.available && p.request.fit_to).toBe(p.info.fineTuned ? null : "run-gen-1");
    }
    // A length the user names is sent as given, with nothing to fit.
    const named = planColumns(choices({ run: run() }), { maxTokens: 40, system: null })[0];
    expect(named.available && named.request).toMatchObject({ max_tokens: 40, fit_to: null });
  });
});
