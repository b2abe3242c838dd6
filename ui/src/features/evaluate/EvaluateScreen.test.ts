// The Evaluate screen with a fake app: the empty state, then a run's scores, heat map, bars and
// worst examples; a generation run's perplexities; errors as banners.
import { clearMocks } from "@tauri-apps/api/mocks";
import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Evaluate from "./EvaluateScreen.svelte";
import { Evaluations } from "./evaluations.svelte";
import { fakeBackend, settle } from "../train/fake-backend";
import { evalReport, runDetails, runSummary } from "../train/fixtures";
import { TrainSession } from "../train/session.svelte";

let screen: ReturnType<typeof mount> | undefined;

async function open(fake: ReturnType<typeof fakeBackend>) {
  const evaluations = new Evaluations(fake.backend);
  const session = new TrainSession(fake.backend);
  screen = mount(Evaluate, { target: document.body, props: { evaluations, session } });
  await settle();
  flushSync();
  return evaluations;
}

const $ = <T extends Element = HTMLElement>(sel: string) => document.querySelector<T>(sel) as T;
const button = (name: string) =>
  [...document.querySelectorAll<HTMLButtonElement>("button")].find((b) => b.textContent?.trim() === name) as HTMLButtonElement;

beforeEach(() => (document.body.innerHTML = ""));
afterEach(() => {
  if (screen) unmount(screen);
  screen = undefined;
  clearMocks();
});

describe("Evaluate screen", () => {
  it("says there is nothing to evaluate when no run has finished", async () => {
    await open(fakeBackend({ runs: () => Promise.resolve([runSummary("r", { status: "running" })]) }));
    expect($("[data-empty-state] h2").textContent).toBe("Nothing to evaluate yet");
    expect(document.querySelectorAll("table")).toHaveLength(0);
  });

  it("shows base against fine-tuned with meanings, the heat map, bars and the worst examples", async () => {
    await open(fakeBackend({ runs: () => Promise.resolve([runSummary("run-1")]), evalRun: () => Promise.resolve(evalReport()) }));
    expect($<HTMLSelectElement>("#eval-run").value).toBe("run-1");
    button("Run evaluation").click();
    await settle();
    flushSync();
    expect($("[data-eval-headline]").textContent).toContain("helped");
    expect($("[data-metric=accuracy] [data-model=base]").textContent).toBe("60.0 %");
    expect($("[data-metric=accuracy] [data-model=fine_tuned]").textContent).toBe("85.0 %");
    expect($("[data-metric=accuracy] [data-change]").textContent).toBe("better");
    const cell = $("[data-confusion-matrix] [data-cell='0-1']");
    expect(cell.getAttribute("aria-label")).toContain("2 rows labelled neg predicted as pos (20 %)");
    expect(document.querySelectorAll("[data-per-class] [data-class]")).toHaveLength(2);
    expect($("[data-worst='3']").textContent).toContain("not bad at all");
  });

  it("shows the simple baselines beside the fine-tuned model, and both numbers of each F1 bar", async () => {
    await open(fakeBackend({ runs: () => Promise.resolve([runSummary("run-1")]), evalRun: () => Promise.resolve(evalReport()) }));
    button("Run evaluation").click();
    await settle();
    flushSync();
    expect($("[data-eval-headline]").textContent).toContain("Your model 85.0 %, a simple word-count model 78.0 %, always guessing “pos” 55.0 %");
    expect($("[data-metric=accuracy] [data-model=majority]").textContent).toBe("55.0 %");
    expect($("[data-metric=accuracy] [data-model=bag_of_words]").textContent).toBe("78.0 %");
    expect($("[data-baselines-note]").textContent).toContain("training rows only");
    const bar = $("[data-per-class] [data-class=neg] [data-bar-values]").textContent ?? "";
    expect(bar).toContain("base 59.0 %");
    expect(bar).toContain("fine-tuned 84.0 %");
    // The caption reads true in both themes.
    expect($("[data-confusion-matrix]").textContent).not.toContain("Darker");
  });

  it("measures a feature-extraction run against the simple models, not against its identical base", async () => {
    await open(
      fakeBackend({ runs: () => Promise.resolve([runSummary("run-1", { method: "features" })]), evalRun: () => Promise.resolve(evalReport()) }),
    );
    button("Run evaluation").click();
    await settle();
    flushSync();
    expect($("[data-eval-headline]").textContent).toContain("same by construction");
    expect($("[data-metric=accuracy] [data-model=base]")).toBeNull();
    expect([...document.querySelectorAll("[data-confusion-matrix] h2")].map((h) => h.textContent)).toEqual([
      "Confusion matrix (fine-tuned)",
      "Confusion matrix (word-count model)",
    ]);
    expect($("[data-per-class] [data-class=neg] [data-bar-values]").textContent).toContain("word-count model");
  });

  it("shows a generation run's perplexity and sample answers side by side", async () => {
    const details = runDetails("g", "generate", [
      { model: "base", split: "test", rows: 5, metrics: { perplexity: 30.5 } },
      { model: "fine_tuned", split: "test", rows: 5, metrics: { perplexity: 12.25 } },
    ]);
    await open(
      fakeBackend({
        runs: () => Promise.resolve([runSummary("g", { task: "generate" })]),
        evalGenerationRun: () =>
          Promise.resolve([
            { prompt: "Code word for Alder?", reference: "Bluebird", base: "Alder is a tree.", fine_tuned: "Bluebird" },
            { prompt: "Code word for Elm?", reference: "Redkite", base: "", fine_tuned: "Redkite" },
          ]),
        runsShow: () => Promise.resolve(details),
      }),
    );
    button("Run evaluation").click();
    await settle();
    flushSync();
    expect($("[data-eval-result=generation] [data-model=base]").textContent).toBe("30.50");
    expect($("[data-eval-result=generation] [data-model=fine_tuned]").textContent).toBe("12.25");
    expect($("[data-sample='0'] [data-model=base]").textContent).toBe("Alder is a tree.");
    expect($("[data-sample='0'] [data-model=fine_tuned]").textContent).toBe("Bluebird");
    expect($("[data-sample='1'] [data-model=base]").textContent).toBe("(no answer)");
    // Says which rows each perplexity is measured on, so Train's number and this one can differ.
    expect($("[data-perplexity-rows]").textContent).toContain("validation rows");
    expect($("[data-perplexity-rows]").textContent).toContain("test rows");
  });

  it("shows a failed evaluation as a dismissible banner", async () => {
    await open(fakeBackend({ runs: () => Promise.resolve([runSummary("run-1")]), evalRun: () => Promise.reject({ code: "engine", message: "cannot read run.json" }) }));
    button("Run evaluation").click();
    await settle();
    flushSync();
    expect($("[data-error-banner]").textContent).toContain("cannot read run.json");
    button("Dismiss").click();
    flushSync();
    expect($("[data-error-banner]")).toBeNull();
  });
});
