// The "Why this answer?" disclosure in happy-dom with a fake backend: nothing is asked until it is
// opened; then the closest examples are listed best first with their labels; a failure is shown.
import { flushSync, mount, unmount } from "svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { ExplainBackend, Explanation } from "./backend";
import { eventually } from "../../shared/testing/eventually";
import ClosestExamples from "./ClosestExamples.svelte";

let shown: ReturnType<typeof mount> | undefined;
afterEach(() => {
  if (shown) unmount(shown);
  shown = undefined;
  document.body.innerHTML = "";
});

const answer: Explanation = {
  run_id: "r1",
  text: "good fine",
  examples: [
    { text: "good fine great", label: "pos", similarity: 0.97, line: 3 },
    { text: "good awful", label: "neg", similarity: 0.41, line: 9 },
  ],
  embed_model: "keywords",
  searched_rows: 40,
  skipped_rows: 0,
};

function open() {
  const details = document.querySelector<HTMLDetailsElement>("[data-explain]");
  if (!details) throw new Error("no disclosure");
  details.open = true;
  details.dispatchEvent(new Event("toggle"));
  flushSync();
}

describe("ClosestExamples", () => {
  it("asks for the run's closest examples only when opened, and lists them with their labels", async () => {
    const asked: [string, string][] = [];
    const backend: ExplainBackend = {
      explain: async (run, text) => {
        asked.push([run, text]);
        return answer;
      },
    };
    shown = mount(ClosestExamples, { target: document.body, props: { run: "r1", text: "good fine", backend } });
    flushSync();
    expect(asked).toEqual([]);
    open();
    await eventually(() => expect(document.querySelectorAll("[data-explain-line]").length).toBe(2));
    expect(asked).toEqual([["r1", "good fine"]]);
    const first = document.querySelector("[data-explain-line]");
    expect(first?.getAttribute("data-explain-line")).toBe("3");
    expect(first?.textContent).toContain("label: pos");
    expect(first?.textContent).toContain("97 %");
    expect(document.querySelector("[data-explain-method]")?.textContent).toContain("shared words");
  });

  it("shows why when the app cannot explain", async () => {
    const backend: ExplainBackend = {
      explain: async () => {
        throw new Error("no run matches `gone`");
      },
    };
    shown = mount(ClosestExamples, { target: document.body, props: { run: "gone", text: "x", backend } });
    flushSync();
    open();
    await eventually(() => expect(document.querySelector("[data-explain-error]")?.textContent).toContain("gone"));
  });
});
