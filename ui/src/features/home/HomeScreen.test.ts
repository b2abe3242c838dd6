// The Home screen with the IPC mocked: the guided path starts at the first missing choice, and
// the recent runs open in History.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_SORT } from "../history/table";
import { historyView } from "../history/view.svelte";
import type { ScreenId } from "../../shared/navigation";
import { selection } from "../../shared/selection.svelte";
import Home from "./HomeScreen.svelte";
import { eventually } from "../../shared/testing/eventually";

let app: ReturnType<typeof mount> | undefined;
let went: ScreenId[] = [];

const $ = (css: string) => document.querySelector<HTMLElement>(css);

function show(runs: unknown[]) {
  mockIPC((cmd) => (cmd === "runs_list" ? runs : null));
  app = mount(Home, { target: document.body, props: { doctor: { kind: "loading" }, navigate: (id: ScreenId) => went.push(id) } });
}

beforeEach(() => {
  document.body.innerHTML = "";
  went = [];
  selection.current = {};
  Object.assign(historyView, { page: { kind: "list" }, sort: DEFAULT_SORT, filter: { text: "", status: "" }, picked: [] });
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  clearMocks();
});

describe("Home screen", () => {
  it("starts the guided path at Models, then Data, then Train as choices are made", () => {
    show([]);
    const start = () => $('[data-action="start-fine-tune"]')?.click();
    start();
    selection.current = { model: "o/bert" };
    start();
    selection.current = { model: "o/bert", data: "/d.csv" };
    start();
    expect(went).toEqual(["models", "data", "train"]);
  });

  it("says No runs yet on a fresh home", async () => {
    show([]);
    await eventually(() => expect($("[data-empty-state] h2")?.textContent).toBe("No runs yet"));
  });

  it("lists recent runs and opens one in History", async () => {
    show([
      { id: "r1", name: "First run", task: "classify", method: "lora", model: "o/bert", dataset: "/d.csv", status: "finished", best_metric: { name: "accuracy", split: "validation", value: 0.9 }, started_at: 1, created_at: 1, duration_ms: 1000 },
    ]);
    await eventually(() => expect($('[data-run-row="r1"]')).not.toBeNull());
    expect($('[data-run-row="r1"]')?.textContent).toContain("validation accuracy 0.9");
    $('[data-run-row="r1"] button')?.click();
    expect(went).toEqual(["history"]);
    expect(historyView.page).toEqual({ kind: "run", id: "r1" });
  });
});
