// The Data screen with the IPC mocked: a file is inspected; the preview renders only the rows in
// view; a finding's one-click fix inspects again with the fix; a role dropdown inspects again
// with the column; "Use this dataset" fills the selection.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dataState } from "./state.svelte";
import { freshChoices } from "./choices";
import type { DataInspection, DataInspectRequest, InspectReport } from "./types";
import { currentSelection, selection } from "../../shared/selection.svelte";
import Data from "./DataScreen.svelte";
import { eventually } from "../../shared/testing/eventually";

let app: ReturnType<typeof mount> | undefined;

const $ = <T extends HTMLElement = HTMLElement>(css: string) => document.querySelector<T>(css);
const all = (css: string) => document.querySelectorAll(css);

function report(request: DataInspectRequest): InspectReport {
  const dropped = request.fixes?.drop_duplicates ?? false;
  return {
    file: request.file,
    format: "csv",
    encoding: "utf-8",
    has_header: true,
    task: "classify",
    rows: 1000,
    usable_rows: dropped ? 990 : 1000,
    columns: [
      { name: "text", role: "text", guessed_from: "name" },
      { name: "label", role: "label", guessed_from: "name" },
      { name: "note", role: "ignore", guessed_from: "content" },
    ],
    label_counts: { positive: 600, negative: 400 },
    label_suggestions: [],
    duplicates: 10,
    near_duplicates: 0,
    conflicts: 0,
    empty: 0,
    unreadable: 0,
    pii: {},
    length: { method: "estimate", max_len: 512, min: 2, median: 20, p95: 60, max: 90, mean: 25, truncated: 0 },
    split: { train: 800, validation: 100, test: 100, seed: 42, stratified: true, groups: 10, small_classes: [] },
    fingerprint: "abc",
    warnings: [
      {
        code: "duplicates",
        severity: "warning",
        message: dropped ? "10 rows repeat an earlier row exactly; they were left out" : "10 rows repeat an earlier row exactly; they are kept together in one split",
        why: "Repeated rows count several times in training, tilting the model toward them.",
        fix: dropped ? "--drop-duplicates (applied)" : "--drop-duplicates",
        count: 10,
        rows: [5, 9],
      },
    ],
    errors: [],
  };
}

function answer(request: DataInspectRequest): DataInspection {
  return {
    report: report(request),
    preview: {
      columns: ["text", "label", "note"],
      rows: Array.from({ length: 200 }, (_, i) => [`text ${i}`, i % 2 ? "positive" : "negative", ""]),
      lines: Array.from({ length: 200 }, (_, i) => i + 2),
      truncated: true,
    },
  };
}

let requests: DataInspectRequest[] = [];

beforeEach(() => {
  document.body.innerHTML = "";
  selection.current = {};
  dataState.choices = null;
  dataState.inspection = null;
  requests = [];
  mockIPC((cmd, raw) => {
    if (cmd !== "data_inspect") throw new Error(`unexpected ${cmd}`);
    const request = (raw as { request: DataInspectRequest }).request;
    requests.push(request);
    return answer(request);
  });
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  clearMocks();
});

async function load(path: string) {
  const input = $<HTMLInputElement>("#data-path");
  if (!input) throw new Error("no path field");
  input.value = path;
  input.dispatchEvent(new Event("input", { bubbles: true }));
  flushSync();
  $<HTMLFormElement>("[data-path-picker] form")?.requestSubmit();
  await eventually(() => expect($("[data-finding]")).not.toBeNull());
}

describe("Data screen", () => {
  it("reads the file again with the kept choices when it opens after a restart", async () => {
    dataState.choices = { ...freshChoices("/data/reviews.csv"), fixes: { ...freshChoices("").fixes, drop_duplicates: true } };
    dataState.inspection = null;
    app = mount(Data, { target: document.body });
    await eventually(() => expect(requests).toHaveLength(1));
    expect(requests[0]).toMatchObject({ file: "/data/reviews.csv", fixes: { drop_duplicates: true } });
    await eventually(() => expect($('[data-fact="rows"]')).not.toBeNull());
  });

  it("says No dataset loaded before a file is chosen", () => {
    app = mount(Data, { target: document.body });
    expect($("[data-empty-state] h2")?.textContent).toBe("No dataset loaded");
  });

  it("inspects the file and renders only the preview rows in view", async () => {
    app = mount(Data, { target: document.body });
    await load("/data/reviews.csv");
    expect(requests[0].file).toBe("/data/reviews.csv");
    expect($("[data-preview]")?.dataset.previewTotal).toBe("200");
    const rendered = all("[data-preview-row]").length;
    expect(rendered).toBeGreaterThan(0);
    expect(rendered).toBeLessThan(40);
    expect($('[data-label-bar="positive"]')?.textContent).toContain("600 (60 %)");
    expect($('[data-split-part="training"]')?.textContent).toContain("800 rows");
    expect($("[data-empty-state]")).toBeNull();
  });

  it("re-inspects with drop_duplicates when the duplicates card's fix is clicked", async () => {
    app = mount(Data, { target: document.body });
    await load("/data/reviews.csv");
    const card = $('[data-finding="duplicates"]');
    expect(card?.textContent).toContain("Why it matters");
    card?.querySelector<HTMLButtonElement>('[data-fix="duplicates"]')?.click();
    await eventually(() => expect(requests).toHaveLength(2));
    expect(requests[1].fixes?.drop_duplicates).toBe(true);
    await eventually(() => expect($('[data-fact="rows"]')?.textContent).toContain("990 usable"));
    expect($('[data-applied-fix="drop_duplicates"]')).not.toBeNull();
    expect($('[data-fix="duplicates"]')?.textContent?.trim()).toBe("Keep duplicates");
  });

  it("re-inspects with the column chosen in a role dropdown", async () => {
    app = mount(Data, { target: document.body });
    await load("/data/reviews.csv");
    const select = $<HTMLSelectElement>('[data-role-select="text_column"]');
    expect(select?.value).toBe("text");
    if (!select) return;
    select.value = "note";
    select.dispatchEvent(new Event("change", { bubbles: true }));
    await eventually(() => expect(requests).toHaveLength(2));
    expect(requests[1].text_column).toBe("note");
  });

  it("re-inspects as generation when the task is switched", async () => {
    app = mount(Data, { target: document.body });
    await load("/data/reviews.csv");
    const task = $<HTMLSelectElement>("#data-task");
    if (!task) throw new Error("no task choice");
    task.value = "generate";
    task.dispatchEvent(new Event("change", { bubbles: true }));
    await eventually(() => expect(requests).toHaveLength(2));
    expect(requests[1].task).toBe("generate");
  });

  it("numbers preview rows by their line in the file and moves the window on scroll", async () => {
    app = mount(Data, { target: document.body });
    await load("/data/reviews.csv");
    expect($('[data-preview-row="0"] td')?.textContent).toBe("2");
    const region = $("[data-preview]");
    if (!region) throw new Error("no preview");
    region.scrollTop = 3200;
    region.dispatchEvent(new Event("scroll"));
    flushSync();
    expect($('[data-preview-row="0"]')).toBeNull();
    expect($('[data-preview-row="100"]')).not.toBeNull();
  });

  it("puts file, task and columns into the selection with Use this dataset", async () => {
    app = mount(Data, { target: document.body });
    await load("/data/reviews.csv");
    $('[data-action="use-dataset"]')?.click();
    flushSync();
    expect(currentSelection()).toMatchObject({
      data: "/data/reviews.csv",
      task: "classify",
      text_column: "text",
      label_column: "label",
      columns: ["text", "label", "note"],
      rows: 1000,
    });
    expect($('[data-next-step="train"]')?.textContent).toContain("Next: train");
  });

  it("gives the text column of the preview room, and cuts other columns sooner", async () => {
    app = mount(Data, { target: document.body });
    await load("/data/reviews.csv");
    const cells = [...document.querySelectorAll<HTMLElement>('[data-preview-row="0"] .cell')];
    // Columns: text (the text to learn from), label, note (not used).
    expect(cells.map((c) => c.classList.contains("wide"))).toEqual([true, false, false]);
  });

  it("keeps the fixes in the selection with the file they were chosen for, also after Use this dataset", async () => {
    app = mount(Data, { target: document.body });
    await load("/data/reviews.csv");
    $('[data-action="use-dataset"]')?.click();
    flushSync();
    expect(currentSelection()).toMatchObject({ fixesFor: "/data/reviews.csv", fixes: { drop_duplicates: false } });
    $('[data-fix="duplicates"]')?.click();
    await eventually(() => expect(currentSelection().fixes?.drop_duplicates).toBe(true));
    expect(currentSelection()).toMatchObject({ data: "/data/reviews.csv", fixesFor: "/data/reviews.csv", rows: 990 });
  });

  it("shows a file the doctor cannot read as a dismissible banner", async () => {
    mockIPC(() => {
      throw { code: "data", message: "/data/missing.csv cannot be opened: no such file" };
    });
    app = mount(Data, { target: document.body });
    const input = $<HTMLInputElement>("#data-path");
    if (!input) return;
    input.value = "/data/missing.csv";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    $<HTMLFormElement>("[data-path-picker] form")?.requestSubmit();
    await eventually(() => expect($('[data-banner="data-error"]')).not.toBeNull());
    expect($('[data-banner="data-error"]')?.textContent).toContain("no such file");
    $<HTMLButtonElement>('[data-banner="data-error"] button')?.click();
    flushSync();
    expect($('[data-banner="data-error"]')).toBeNull();
    expect($("[data-empty-state]")).not.toBeNull();
  });
});
