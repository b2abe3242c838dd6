// The Train screen in happy-dom with a fake app: cards, prefill, the estimate before Start, a run
// streaming into the charts that survives leaving the screen, pause, and the settings warnings.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Train from "./TrainScreen.svelte";
import { selection } from "../../shared/selection.svelte";
import { Estimator } from "./estimator.svelte";
import { fakeBackend, settle } from "./fake-backend";
import { estimateReport, runEvents, runSummary } from "./fixtures";
import { TrainSession, trainForm } from "./session.svelte";
import { initialForm } from "./settings";

let screen: ReturnType<typeof mount> | undefined;

function open(fake = fakeBackend({ estimate: () => Promise.resolve(estimateReport("does_not_fit", 9e9, 8e9)) })) {
  const session = new TrainSession(fake.backend, () => `job-${fake.jobs.length + 1}`);
  const estimator = new Estimator(fake.backend, 0);
  const show = () => {
    screen = mount(Train, { target: document.body, props: { session, estimator, backend: fake.backend } });
    flushSync();
  };
  show();
  return { fake, session, estimator, reopen: () => (unmount(screen!), show()) };
}

const $ = <T extends Element = HTMLElement>(sel: string) => document.querySelector<T>(sel) as T;
const button = (name: string) =>
  [...document.querySelectorAll<HTMLButtonElement>("button")].find((b) => b.textContent?.trim() === name) as HTMLButtonElement;
async function until(check: () => void) {
  for (let i = 0; i < 50; i++) {
    try {
      check();
      return;
    } catch {
      await settle();
      flushSync();
    }
  }
  check();
}

beforeEach(() => {
  document.body.innerHTML = "";
  trainForm.current = initialForm();
  selection.current = {};
  mockIPC(() => ({ device: { selected: "cpu", cpu_threads: 4 }, home: "/h", versions: { tunesmith: "0", sqlite: "3" } }));
});

afterEach(() => {
  if (screen) unmount(screen);
  screen = undefined;
  clearMocks();
});

describe("Train screen", () => {
  it("shows the four methods, an honest empty state, and why Start is not possible yet", () => {
    open();
    expect([...document.querySelectorAll("[data-method]")].map((e) => e.getAttribute("data-method"))).toEqual(["full", "features", "lora", "qlora"]);
    expect($("[data-recommended=true]").getAttribute("data-method")).toBe("lora");
    expect($("[data-method=qlora] input").hasAttribute("disabled")).toBe(true);
    expect($("[data-empty-state] h2").textContent).toBe("No runs yet");
    expect($("[data-train-status]").getAttribute("data-train-status")).toBe("idle");
    expect(button("Start").disabled).toBe(true);
    expect($("#start-blockers").textContent).toContain("Choose a model");
  });

  it("prefills from the shared selection and recommends by data size", () => {
    selection.current = { model: "/models/minilm", data: "/data/small.csv", rows: 200, text_column: "review" };
    open();
    expect($<HTMLInputElement>("#train-model").value).toBe("/models/minilm");
    expect($<HTMLInputElement>("#train-data").value).toBe("/data/small.csv");
    expect($<HTMLInputElement>("#train-text_column").value).toBe("review");
    expect($("[data-recommended=true]").getAttribute("data-method")).toBe("features");
  });

  it("shows the memory verdict and its suggestion before Start is pressed", async () => {
    selection.current = { model: "/models/minilm", data: "/data/reviews.csv" };
    const { fake } = open();
    await until(() => expect($("[data-estimate-verdict]").getAttribute("data-estimate-verdict")).toBe("does_not_fit"));
    expect($("[data-verdict]").textContent).toContain("Does not fit");
    expect($("[data-estimate-suggestion]").textContent).toContain("qlora");
    expect($("[data-start-caution]").textContent).toContain("does not fit");
    expect(fake.jobs).toHaveLength(0);
  });

  it("issue 16: a generation run's Advanced drawer turns the forgetting check off, and the request says so", () => {
    selection.current = { model: "/models/llama", data: "/data/qa.csv" };
    const { fake } = open();
    // Classification has no forgetting check to offer.
    expect(document.querySelector("[data-setting=forgetting-check]")).toBeNull();
    trainForm.update((f) => ({ ...f, task: "generate" }));
    flushSync();
    const box = $<HTMLInputElement>("[data-setting=forgetting-check]");
    expect(box.checked).toBe(true);
    expect(box.closest("label")?.textContent).toContain("Check what it forgot after training");
    box.checked = false;
    box.dispatchEvent(new Event("change", { bubbles: true }));
    flushSync();
    expect(trainForm.current.forgetting_check).toBe(false);
    button("Start").click();
    flushSync();
    expect(fake.jobs[0].arg).toMatchObject({ task: "generate", forgetting_check: false });
  });

  it("issue 12: the Advanced drawer's Save memory setting goes into the run's request", () => {
    selection.current = { model: "/models/minilm", data: "/data/reviews.csv" };
    const { fake } = open();
    const select = $<HTMLSelectElement>("[data-setting=checkpointing]");
    expect(select.value).toBe("auto");
    expect(select.closest("[data-advanced]")?.textContent).toContain("Save memory (activation checkpointing)");
    select.value = "on";
    select.dispatchEvent(new Event("change", { bubbles: true }));
    flushSync();
    expect(trainForm.current.checkpointing).toBe("on");
    button("Start").click();
    flushSync();
    expect(fake.jobs[0].arg).toMatchObject({ model: "/models/minilm", checkpointing: "on" });
  });

  it("issue 13: the Advanced drawer's number format goes into the run's request", () => {
    selection.current = { model: "/models/minilm", data: "/data/reviews.csv" };
    const { fake } = open();
    const select = $<HTMLSelectElement>("[data-setting=precision]");
    expect(select.value).toBe("auto");
    expect(select.closest("[data-advanced]")?.textContent).toContain("Number format");
    select.value = "bf16";
    select.dispatchEvent(new Event("change", { bubbles: true }));
    flushSync();
    expect(trainForm.current.precision).toBe("bf16");
    button("Start").click();
    flushSync();
    expect(fake.jobs[0].arg).toMatchObject({ model: "/models/minilm", precision: "bf16" });
  });

  it("issue 12: the estimate says when checkpointing was turned on to make the run fit", async () => {
    selection.current = { model: "/models/minilm", data: "/data/reviews.csv" };
    const report = { ...estimateReport("tight", 6e9, 7e9), checkpointing: "auto" as const, activation_checkpointing: true, total_with_checkpointing: 6e9, total_without_checkpointing: 9e9 };
    open(fakeBackend({ estimate: () => Promise.resolve(report) }));
    await until(() => expect($("[data-estimate-checkpointing]").textContent).toContain("turned on to make this run fit"));
  });

  it("typing writes back to the shared selection", () => {
    open();
    const input = $<HTMLInputElement>("#train-model");
    input.value = "/models/other";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    flushSync();
    expect(selection.current.model).toBe("/models/other");
  });

  it("starts a run whose curves keep filling after leaving the screen and coming back", async () => {
    selection.current = { model: "/models/minilm", data: "/data/reviews.csv" };
    const { fake, reopen } = open();
    button("Start").click();
    flushSync();
    expect(fake.jobs[0].arg).toMatchObject({ model: "/models/minilm", data: "/data/reviews.csv", method: "lora" });
    const events = runEvents("run-1", 10, 5);
    for (const e of events.slice(0, 7)) fake.jobs[0].emit(e); // started, 5 steps, 1 evaluation
    flushSync();
    expect($("[data-train-status]").getAttribute("data-train-status")).toBe("running");
    expect(Number($("[data-chart-points]").getAttribute("data-chart-points"))).toBe(6);
    expect($("[data-empty-state]")).toBeNull();

    unmount(screen!);
    screen = undefined;
    for (const e of events.slice(7)) fake.jobs[0].emit(e); // while another screen is shown
    reopen();
    expect(Number($("[data-chart-points]").getAttribute("data-chart-points"))).toBe(12);
    expect($("[data-chart=loss]").getAttribute("data-chart-points")).toBe("12");
    expect($("[data-chart=metric]").getAttribute("data-chart-points")).toBe("2");

    button("Pause").click();
    await settle();
    expect(fake.cancelled).toEqual(["job-1"]);
    fake.jobs[0].finish({ run_id: "run-1", dir: "/r", status: "cancelled", metrics: {} });
    await until(() => expect($("[data-train-status]").getAttribute("data-train-status")).toBe("paused"));
    expect(button("Resume").disabled).toBe(false);
    button("Resume").click();
    flushSync();
    expect(fake.jobs[1]).toMatchObject({ command: "train_resume", arg: "run-1" });
  });

  it("warns next to a learning rate outside the recommended range", () => {
    open();
    const lr = $<HTMLInputElement>("#hp-lr");
    lr.value = "0.01";
    lr.dispatchEvent(new Event("input", { bubbles: true }));
    flushSync();
    expect($("[data-field=lr] [data-level=warning]").textContent).toContain("1e-5 to 2e-3");
    expect($("[data-preset][aria-pressed=true]")).toBeNull();
    button("Balanced").click();
    flushSync();
    expect($<HTMLInputElement>("#hp-lr").value).toBe("0.0002");
  });

  it("offers to continue a run the app was closed during, from its last checkpoint", async () => {
    const fake = fakeBackend({ runs: () => Promise.resolve([runSummary("run-9", { status: "interrupted" }), runSummary("run-8")]) });
    open(fake);
    await until(() => expect($("[data-resumable-runs]").textContent).toContain("run-9"));
    expect($("[data-empty-state] h2").textContent).toBe("No run in progress");
    $<HTMLButtonElement>("[data-resumable-runs] button").click();
    flushSync();
    expect(fake.jobs[0]).toMatchObject({ command: "train_resume", arg: "run-9" });
    expect($("[data-train-status]").getAttribute("data-train-status")).toBe("starting");
  });

  it("shows a failed start as a dismissible banner with the action to take", async () => {
    selection.current = { model: "/m", data: "/d.csv" };
    const { fake } = open();
    button("Start").click();
    fake.jobs[0].fail({ code: "data", message: "cannot read /d.csv" });
    await until(() => expect($("[data-error-banner]").textContent).toContain("cannot read /d.csv"));
    button("Dismiss").click();
    flushSync();
    expect($("[data-error-banner]")).toBeNull();
  });

  it("selects the method it marks Recommended, until the user picks another", () => {
    selection.current = { model: "/models/minilm", data: "/data/small.csv", rows: 200 };
    open();
    expect($("[data-recommended=true]").getAttribute("data-method")).toBe("features");
    expect($<HTMLInputElement>("[data-method=features] input").checked).toBe(true);
    expect($<HTMLInputElement>("[data-method=lora] input").checked).toBe(false);
    $<HTMLInputElement>("[data-method=lora] input").click();
    flushSync();
    expect(trainForm.current.method).toBe("lora");
    // More data changes the advice, not the user's own choice.
    selection.current = { ...selection.current, rows: 100 };
    flushSync();
    expect(trainForm.current.method).toBe("lora");
  });

  it("applies the doctor's fixes to the file they were chosen for, not to the next file", () => {
    const fixes = { drop_duplicates: true, drop_conflicts: true, drop_empty: false, merge_labels: false, skip_bad_rows: false };
    selection.current = { model: "/m", data: "/data/reviews.csv", fixes, fixesFor: "/data/reviews.csv" };
    const { fake } = open();
    expect($("[data-train-fixes]").textContent).toContain("Duplicates left out");
    const data = $<HTMLInputElement>("#train-data");
    data.value = "/data/faq.csv";
    data.dispatchEvent(new Event("input", { bubbles: true }));
    flushSync();
    expect($("[data-train-fixes]")).toBeNull();
    button("Start").click();
    flushSync();
    expect(fake.jobs[0].arg).toMatchObject({ data: "/data/faq.csv" });
    expect((fake.jobs[0].arg as { fixes?: unknown }).fixes).toBeUndefined();
  });

  it("shows the preparation with a moving bar and the time since Start, before the first step", () => {
    selection.current = { model: "/models/minilm", data: "/data/reviews.csv" };
    const { fake } = open();
    button("Start").click();
    flushSync();
    const events = runEvents("run-1", 10, 5);
    fake.jobs[0].emit(events[0]); // started; tokenising and caching
    flushSync();
    expect($("[data-preparing]").textContent).toContain("Preparing");
    expect($("[data-preparing] [role=progressbar]")).not.toBeNull();
    fake.jobs[0].emit(events[1]); // the first step
    flushSync();
    expect($("[data-preparing]")).toBeNull();
  });

  it("issue 18: follows the app's preparing events with their stage and a filling bar where the stage counts", () => {
    selection.current = { model: "/models/minilm", data: "/data/reviews.csv" };
    const { fake } = open();
    button("Start").click();
    flushSync();
    fake.jobs[0].emit({ run_id: "", event: "preparing", stage: "loading_model", done: null, total: null, elapsed: 1 });
    flushSync();
    expect($("[data-preparing-what]").textContent).toBe("loading the model");
    expect($("[data-preparing] [data-preparing-fraction]")).toBeNull();
    fake.jobs[0].emit({ run_id: "", event: "preparing", stage: "caching_features", done: 30, total: 120, elapsed: 6 });
    flushSync();
    expect($("[data-preparing-what]").textContent).toBe("reading each example once through the frozen model");
    expect($("[data-preparing]").textContent).toContain("30 of 120 examples");
    expect($("[data-preparing] [data-preparing-fraction]").getAttribute("aria-valuenow")).toBe("25");
  });

  it("warns when a classifier ends at chance level", async () => {
    selection.current = { model: "/models/minilm", data: "/data/reviews.csv", labelCounts: { positive: 50, negative: 50 } };
    const { fake } = open();
    button("Start").click();
    flushSync();
    for (const e of runEvents("run-1", 4, 2)) fake.jobs[0].emit(e);
    fake.jobs[0].emit({ run_id: "run-1", event: "finished", metrics: { accuracy: 0.5 }, steps: 4, best_step: 2, stopped_early: false });
    fake.jobs[0].finish({ run_id: "run-1", dir: "/r", status: "finished", metrics: { accuracy: 0.5 } });
    await until(() => expect($("[data-alert=chance]").textContent).toContain("has not learned the task"));
    expect($("[data-alert=chance]").getAttribute("data-tone")).toBe("warning");
  });
});
