// Evaluate's sample answers in happy-dom: under each fine-tuned answer, "Why this answer?" asks the
// run for the training examples closest to that prompt (issue 16, item 3: evaluate samples too).
import { flushSync, mount, unmount } from "svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { ExplainBackend } from "../explain/backend";
import { eventually } from "../../shared/testing/eventually";
import SampleAnswers from "./SampleAnswers.svelte";

let shown: ReturnType<typeof mount> | undefined;
afterEach(() => {
  if (shown) unmount(shown);
  shown = undefined;
  document.body.innerHTML = "";
});

const samples = [
  { prompt: "When do you open?", reference: "At 9.", base: "Whenever.", fine_tuned: "We open at 9." },
  { prompt: "Where are you?", reference: "Main Street 4.", base: "Here.", fine_tuned: "Main Street 4." },
];

describe("SampleAnswers", () => {
  it("offers the closest training examples under each fine-tuned answer, asked for that prompt", async () => {
    const asked: [string, string][] = [];
    const backend: ExplainBackend = {
      explain: async (run, text) => {
        asked.push([run, text]);
        return {
          run_id: run,
          text,
          examples: [{ text: "When are you open?", response: "From 9 to 5.", similarity: 0.93, line: 2 }],
          embed_model: "keywords",
          searched_rows: 12,
          skipped_rows: 0,
        };
      },
    };
    shown = mount(SampleAnswers, { target: document.body, props: { samples, run: "gen-1", explainBackend: backend } });
    flushSync();
    const disclosures = document.querySelectorAll<HTMLDetailsElement>("[data-sample] [data-explain]");
    expect(disclosures.length).toBe(2);
    expect(asked).toEqual([]);
    disclosures[0].open = true;
    disclosures[0].dispatchEvent(new Event("toggle"));
    flushSync();
    await eventually(() => expect(document.querySelector("[data-explain-line='2']")?.textContent).toContain("When are you open?"));
    expect(asked).toEqual([["gen-1", "When do you open?"]]);
  });

  it("shows no explanation without a run to ask", () => {
    shown = mount(SampleAnswers, { target: document.body, props: { samples } });
    flushSync();
    expect(document.querySelector("[data-explain]")).toBeNull();
    expect(document.querySelector('[data-sample="1"] [data-model="fine_tuned"]')?.textContent).toContain("Main Street 4.");
  });
});
