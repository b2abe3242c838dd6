// The Rate blind panel in happy-dom with a fake app: the answers shown as Answer 1 / Answer 2 in the
// order the app drew, the sources hidden until a choice, choices by key and by click (with a
// corrected answer), each recorded with the round's seed, the tally in words, and the export.
import { flushSync, mount, unmount } from "svelte";
import { afterEach, describe, expect, it } from "vitest";
import { compareReport, run } from "./fixtures";
import { BlindRating, type RatingBackend } from "./rating.svelte";
import { CompareSession } from "./session.svelte";
import type { CompareBackend } from "./backend";
import type { CompareReport, RateArgs, RatingsTally } from "./types";
import RateBlind from "./RateBlind.svelte";

let panel: ReturnType<typeof mount> | undefined;

afterEach(() => {
  if (panel) unmount(panel);
  panel = undefined;
  document.body.innerHTML = "";
});

async function settle() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  flushSync();
}

function text(selector: string): string {
  return document.querySelector(selector)?.textContent?.replace(/\s+/g, " ").trim() ?? "";
}

function click(selector: string) {
  const el = document.querySelector<HTMLElement>(selector);
  if (!el) throw new Error(`no ${selector}`);
  el.click();
  flushSync();
}

/** A question set of two questions answered by the base and the fine-tuned columns. */
function report(): CompareReport {
  const r = compareReport();
  const [q] = r.questions;
  const answer = (configuration: "base" | "fine_tuned", t: string) => ({ ...q.answers[0], configuration, text: t });
  r.questions = [
    { ...q, answers: [answer("base", "base one"), answer("fine_tuned", "tuned one")] },
    { ...q, line: 3, question: "Who answers the phone?", answers: [answer("base", "base two"), answer("fine_tuned", "tuned two")] },
  ];
  return r;
}

function tallyOf(calls: RateArgs[]): RatingsTally {
  if (calls.length === 0) return { ratings: 0, rule: "", pairs: [] };
  return {
    ratings: calls.length,
    rule: "Ties and \"both wrong\" are shown apart.",
    pairs: [
      {
        challenger: "fine_tuned",
        baseline: "base",
        challenger_preferred: 1,
        baseline_preferred: 0,
        ties: 0,
        both_wrong: calls.length - 1,
        corrected: 0,
        ratings: calls.length,
        win_rate: 1,
        low: 0.21,
        high: 1,
        text: `The fine-tuned model was preferred to the base model in 1 of 1 (${calls.length} rated).`,
      },
    ],
  };
}

function setup() {
  const added: RateArgs[] = [];
  const backend: RatingBackend = {
    // The fine-tuned column (b) first for question 1, the base column (a) first for question 2.
    blind: async (items) => ({ seed: 1234, first: ["b", "a"].slice(0, items) as ("a" | "b")[] }),
    add: async (args) => {
      added.push(args);
      return {} as never;
    },
    tally: async () => tallyOf(added),
    exportAll: async () => ({
      out: "/home/ratings/preference-pairs-20261204-235900.jsonl",
      pairs: 3,
      rows_file: "/home/ratings/corrected-rows-20261204-235900.csv",
      rows: 1,
      ratings: 2,
      ties: 0,
      both_wrong: 0,
    }),
  };
  const session = new CompareSession({} as CompareBackend);
  session.compareReport = report();
  const rating = new BlindRating(backend);
  panel = mount(RateBlind, { target: document.body, props: { session, rating } });
  flushSync();
  return { added, rating };
}

describe("the Rate blind panel", () => {
  it("shows two answers blind in the drawn order, records a key press with the seed, then reveals the sources", async () => {
    const { added } = setup();
    expect((document.querySelector("#cmp-rate-a") as HTMLSelectElement).value).toBe("base");
    expect((document.querySelector("#cmp-rate-b") as HTMLSelectElement).value).toBe("fine_tuned");
    click('[data-action="rate-start"]');
    await settle();
    expect(text("[data-rate-prompt]")).toBe("When is the clinic open on Saturday?");
    expect(text('[data-rate-answer="1"] p')).toBe("tuned one");
    expect(text('[data-rate-answer="2"] p')).toBe("base one");
    expect(document.querySelector("[data-rate-source]")).toBeNull();
    expect(document.body.textContent).not.toMatch(/Fine-tuned|Base model/);

    const card = document.querySelector<HTMLElement>("[data-rate-card]")!;
    expect(document.activeElement).toBe(card);
    card.dispatchEvent(new KeyboardEvent("keydown", { key: "1", bubbles: true }));
    await settle();
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      comparison: "/home/runs/run-gen-1/compare/compare-1.json",
      run: "run-gen-1",
      item: 0,
      seed: 1234,
      choice: "answer_1",
      corrected: null,
      a: { configuration: "base", text: "base one" },
      b: { configuration: "fine_tuned", text: "tuned one" },
    });
    expect(text("[data-rate-reveal]")).toBe(
      "You preferred Answer 1: Fine-tuned. Answer 1 was Fine-tuned; Answer 2 was Base model.",
    );
    expect(text('[data-rate-source="1"]')).toBe("· Fine-tuned");
    expect(text("[data-rate-tally]")).toContain("The fine-tuned model was preferred to the base model in 1 of 1");
  });

  it("moves on with N, records a click with a corrected answer, and typing never chooses", async () => {
    const { added } = setup();
    click('[data-action="rate-start"]');
    await settle();
    const card = document.querySelector<HTMLElement>("[data-rate-card]")!;
    card.dispatchEvent(new KeyboardEvent("keydown", { key: "n", bubbles: true }));
    flushSync();
    expect(text("[data-rate-progress]")).toBe("Question 2 of 2 · 0 rated");
    expect(text('[data-rate-answer="1"] p')).toBe("base two");

    const box = document.querySelector<HTMLTextAreaElement>("[data-rate-corrected]")!;
    box.value = "Nobody on Sundays.";
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.dispatchEvent(new KeyboardEvent("keydown", { key: "w", bubbles: true }));
    await settle();
    expect(added).toHaveLength(0);

    click('[data-rate-choice="both_wrong"]');
    await settle();
    expect(added[0]).toMatchObject({ item: 1, choice: "both_wrong", corrected: "Nobody on Sundays." });
    expect(text("[data-rate-reveal]")).toBe("Both wrong. Answer 1 was Base model; Answer 2 was Fine-tuned.");
    expect(document.querySelector('[data-rate-choice="both_wrong"]')?.getAttribute("aria-pressed")).toBe("true");
  });

  it("exports the ratings and says what was written where", async () => {
    setup();
    click('[data-action="rate-export"]');
    await settle();
    expect(text("[data-rate-exported]")).toBe(
      "Wrote 3 preference pairs to preference-pairs-20261204-235900.jsonl and 1 corrected answer as training rows to corrected-rows-20261204-235900.csv.",
    );
  });

  it("tallies the chosen run's ratings already in the history before a round starts", async () => {
    const asked: (string | null)[] = [];
    const session = new CompareSession({} as CompareBackend);
    session.runs = [run()];
    session.runId = "run-gen-1";
    const backend = {
      tally: async (r: string | null) => {
        asked.push(r);
        return tallyOf([{} as RateArgs, {} as RateArgs]);
      },
    } as RatingBackend;
    panel = mount(RateBlind, { target: document.body, props: { session, rating: new BlindRating(backend) } });
    await settle();
    expect(asked).toEqual(["run-gen-1"]);
    expect(text("[data-rate-tally]")).toContain("The fine-tuned model was preferred to the base model in 1 of 1 (2 rated).");
  });

  it("says why rating cannot start when only one column answered", () => {
    const session = new CompareSession({} as CompareBackend);
    const r = report();
    r.questions = r.questions.map((q) => ({ ...q, answers: q.answers.slice(0, 1) }));
    session.compareReport = r;
    panel = mount(RateBlind, { target: document.body, props: { session, rating: new BlindRating({} as RatingBackend) } });
    flushSync();
    expect((document.querySelector('[data-action="rate-start"]') as HTMLButtonElement).disabled).toBe(true);
    expect(text("[data-rate-problem]")).toBe("Only one column answered: rating needs the answers of two columns.");
  });
});
