// "Check what it forgot" in happy-dom with a fake backend: a generation run is checked on a click
// (with the user's probe file when one is typed) and the result says what was kept and lost, with
// the warning; a failure is shown; a classification run gets the plain note and no button.
import { flushSync, mount, unmount } from "svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { ForgettingBackend, ForgettingReport } from "./backend";
import { perplexityChange } from "./backend";
import { eventually } from "../../shared/testing/eventually";
import ForgettingPanel from "./ForgettingPanel.svelte";

let shown: ReturnType<typeof mount> | undefined;
afterEach(() => {
  if (shown) unmount(shown);
  shown = undefined;
  document.body.innerHTML = "";
});

const q = (question: string, base: string, fine: string, baseOk: boolean, fineOk: boolean) => ({
  kind: "fact",
  question,
  accepted: [base],
  base_answer: base,
  base_correct: baseOk,
  fine_tuned_answer: fine,
  fine_tuned_correct: fineOk,
});

const report: ForgettingReport = {
  run_id: "r1",
  probes: "built-in general probes",
  kept: 2,
  total: 4,
  base_correct: 3,
  fine_tuned_correct: 2,
  base_perplexity: 10,
  fine_tuned_perplexity: 13,
  summary: "kept 2 of 3 general answers (the base model got 3 of 4 general questions right); general-text perplexity 10.00 -> 13.00",
  warning: "Fine-tuning made the model forget some of what it knew: it lost 1 of the 3. The usual remedies: a lower learning rate, fewer epochs",
  lost: [q("What is 2 + 2?", "4", "five", true, false)],
  questions: [
    q("Capital of France?", "Paris", "Paris", true, true),
    q("What is 2 + 2?", "4", "five", true, false),
    q("Sky colour?", "blue", "blue", true, true),
    q("Moo?", "x", "y", false, false),
  ],
  base_cached: true,
};

function click(selector: string) {
  const b = document.querySelector<HTMLButtonElement>(selector);
  if (!b) throw new Error(`no ${selector}`);
  b.click();
  flushSync();
}

describe("ForgettingPanel", () => {
  it("checks a generation run on a click and shows what it kept, lost and the warning", async () => {
    const asked: [string, string | null][] = [];
    const backend: ForgettingBackend = {
      check: async (run, probes) => {
        asked.push([run, probes]);
        return report;
      },
      recorded: async () => null,
    };
    shown = mount(ForgettingPanel, { target: document.body, props: { runId: "r1", task: "generate", backend } });
    flushSync();
    expect(document.querySelector("[data-forgetting-result]")).toBeNull();
    click("[data-action=check-forgetting]");
    await eventually(() => expect(document.querySelector("[data-forgetting-kept]")?.textContent).toContain("Kept 2 of 3"));
    expect(asked).toEqual([["r1", null]]);
    expect(document.querySelector("[data-forgetting-kept]")?.textContent).toContain("3 of 4 general questions");
    expect(document.querySelector("[data-forgetting-perplexity]")?.textContent).toContain("10.00 → 13.00 (+30.0 %)");
    expect(document.querySelector("[data-forgetting-warning]")?.textContent).toContain("lower learning rate");
    const lost = document.querySelectorAll("[data-forgetting-lost] li");
    expect(lost.length).toBe(1);
    expect(lost[0].textContent).toContain("What is 2 + 2?");
    expect(lost[0].textContent).toContain("fine-tuned: five");
    expect(document.querySelectorAll("[data-forgetting-question]").length).toBe(4);
  });

  it("passes the user's probe file and shows why a check failed", async () => {
    const asked: (string | null)[] = [];
    const backend: ForgettingBackend = {
      check: async (_run, probes) => {
        asked.push(probes);
        throw new Error("mine.jsonl line 2: no `answers` (or `answer`); give the accepted answers");
      },
      recorded: async () => null,
    };
    shown = mount(ForgettingPanel, { target: document.body, props: { runId: "r1", task: "generate", backend } });
    flushSync();
    const input = document.querySelector<HTMLInputElement>("[data-forgetting-probes]");
    if (!input) throw new Error("no probe field");
    input.value = " /data/mine.jsonl ";
    input.dispatchEvent(new Event("input"));
    flushSync();
    click("[data-action=check-forgetting]");
    await eventually(() => expect(document.querySelector("[data-forgetting-error]")?.textContent).toContain("mine.jsonl line 2"));
    expect(asked).toEqual(["/data/mine.jsonl"]);
  });

  it("shows the run's last check from its history without checking again, and a base that knew nothing in plain words", async () => {
    const none = { ...report, kept: 0, base_correct: 0, fine_tuned_correct: 0, lost: [], warning: null };
    const looked: string[] = [];
    const backend: ForgettingBackend = {
      check: async () => {
        throw new Error("not asked");
      },
      recorded: async (run) => {
        looked.push(run);
        return none;
      },
    };
    shown = mount(ForgettingPanel, { target: document.body, props: { runId: "r1", task: "generate", backend } });
    flushSync();
    await eventually(() => expect(document.querySelector("[data-forgetting-kept]")?.textContent).toContain("none of the 4 general questions"));
    expect(looked).toEqual(["r1"]);
    expect(document.querySelector("[data-forgetting-fine]")).not.toBeNull();
  });

  it("tells a classification run the check applies to generation runs, with nothing to press", () => {
    const backend: ForgettingBackend = { check: async () => report, recorded: async () => report };
    shown = mount(ForgettingPanel, { target: document.body, props: { runId: "c1", task: "classify", backend } });
    flushSync();
    expect(document.querySelector("[data-forgetting-not-applicable]")?.textContent).toContain("applies to generation runs");
    expect(document.querySelector("[data-action=check-forgetting]")).toBeNull();
  });

  it("writes a perplexity change with its share, and a number that is not one in words", () => {
    expect(perplexityChange(12.1, 11.5)).toBe("12.10 → 11.50 (−5.0 %)");
    expect(perplexityChange(326.93, 326.49)).toBe("326.93 → 326.49 (−0.1 %)");
    expect(perplexityChange(10, Number.NaN)).toBe("10.00 → not a number");
  });
});
