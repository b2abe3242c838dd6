import { flushSync, mount, unmount } from "svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { FactRecallReport } from "../../bindings";
import DidItLearn from "./DidItLearn.svelte";

let shown: ReturnType<typeof mount> | undefined;
afterEach(() => {
  if (shown) unmount(shown);
  shown = undefined;
  document.body.innerHTML = "";
});

function report(fine_tuned: number, warning: string | null): FactRecallReport {
  return {
    base: 0,
    fine_tuned,
    total: 2,
    summary: `answered ${fine_tuned} of 2 held-out questions with the right fact (base: 0)`,
    warning,
    questions: [
      {
        question: "What does the Aster-7 cost?",
        reference: "It costs 349 euros.",
        facts: ["349 euros"],
        base_answer: "About $20.",
        base_correct: false,
        fine_tuned_answer: "It costs 349 euros.",
        fine_tuned_correct: true,
      },
      {
        question: "Who founded it?",
        reference: "Henrietta Quill founded it.",
        facts: ["Henrietta Quill"],
        base_answer: "Nobody knows.",
        base_correct: false,
        fine_tuned_answer: "Odile Ferrant.",
        fine_tuned_correct: fine_tuned === 2,
      },
    ],
  };
}

describe("DidItLearn", () => {
  it("says in one sentence how many held-out questions got their fact, and offers nothing more when enough did", () => {
    shown = mount(DidItLearn, { target: document.body, props: { report: report(2, null), ontrainlonger: () => {} } });
    flushSync();
    expect(document.querySelector("[data-learned-summary]")?.textContent).toContain("answered 2 of 2 held-out questions");
    expect(document.querySelector("[data-learned-warning]")).toBeNull();
    expect(document.querySelector("[data-train-longer]")).toBeNull();
  });

  it("warns when few answers were right and trains longer with one click", () => {
    let asked = 0;
    const props = { report: report(1, "Only 1 of 2. Likely causes: too few passes."), ontrainlonger: () => asked++ };
    shown = mount(DidItLearn, { target: document.body, props });
    flushSync();
    expect(document.querySelector("[data-learned-warning]")?.textContent).toContain("too few passes");
    document.querySelector<HTMLButtonElement>("[data-train-longer]")!.click();
    expect(asked).toBe(1);
    expect(document.querySelectorAll("[data-learned-questions] li")).toHaveLength(2);
  });

  it("does not offer to train longer while a job is running", () => {
    const props = { report: report(1, "Only 1 of 2."), busy: true, ontrainlonger: () => {} };
    shown = mount(DidItLearn, { target: document.body, props });
    flushSync();
    expect(document.querySelector<HTMLButtonElement>("[data-train-longer]")!.disabled).toBe(true);
  });
});
