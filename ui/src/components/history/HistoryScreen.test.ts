// The History screen with the IPC mocked: the run table sorts and filters, a run's page opens,
// delete asks first, and two picked runs are compared.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_SORT } from "../../lib/history/table";
import type { RunComparison, RunDetails, RunRecord, RunSummary } from "../../lib/history/types";
import { historyView } from "../../lib/history/view";
import History from "../../screens/History.svelte";
import { eventually } from "../../testing/eventually";

let app: ReturnType<typeof mount> | undefined;

const $ = <T extends HTMLElement = HTMLElement>(css: string) => document.querySelector<T>(css);
const rowIds = () => [...document.querySelectorAll<HTMLElement>("[data-run-row]")].map((r) => r.dataset.runRow);

const summary = (id: string, over: Partial<RunSummary>): RunSummary => ({
  id,
  name: id,
  task: "classify",
  method: "lora",
  model: "o/bert",
  dataset: "/d/reviews.csv",
  status: "finished",
  best_metric: null,
  started_at: 1,
  created_at: 1,
  duration_ms: 60_000,
  ...over,
});

const record = (id: string, method: string): RunRecord => ({
  id,
  name: id,
  task: "classify",
  method,
  model_id: null,
  model_ref: "o/bert",
  dataset_id: null,
  dataset_ref: "/d/reviews.csv",
  data_fingerprint: "0123456789abcdef",
  config: { method, optimizer: { lr: 0.0002 } },
  status: "finished",
  device: "cpu",
  hardware: {},
  versions: {},
  seed: 42,
  split: {},
  primary_metric: null,
  parent_run: null,
  error: null,
  pid: null,
  heartbeat_at: null,
  created_at: 1,
  started_at: 1,
  finished_at: 2,
});

let runs: RunSummary[] = [];
const calls: { cmd: string; args: Record<string, unknown> }[] = [];

beforeEach(() => {
  document.body.innerHTML = "";
  calls.length = 0;
  historyView.set({ page: { kind: "list" }, sort: DEFAULT_SORT, filter: { text: "", status: "" }, picked: [] });
  runs = [
    summary("lora-old", { created_at: 1, best_metric: { name: "accuracy", split: "validation", value: 0.91 } }),
    summary("full-new", { created_at: 3, method: "full", best_metric: { name: "accuracy", split: "validation", value: 0.85 } }),
    summary("qwen-failed", { created_at: 2, status: "failed", model: "o/qwen", task: "generate" }),
  ];
  mockIPC((cmd, raw) => {
    const args = (raw ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    switch (cmd) {
      case "runs_list":
        return runs;
      case "runs_show": {
        const details: RunDetails = {
          run: record(args.run as string, "lora"),
          duration_ms: 60_000,
          metrics: [{ name: "loss", split: "train", points: 30, last: 0.2, last_step: 30, min: 0.2, max: 0.9 }],
          artefacts: [{ id: 1, run_id: args.run as string, kind: "adapter", path: "/runs/x/adapter", size_bytes: 2_000_000, sha256: "s", step: 30, created_at: 2 }],
          evaluations: [{ id: 1, run_id: args.run as string, model: "fine_tuned", split: "test", rows: 100, metrics: { accuracy: 0.9 }, created_at: 2 }],
          notes: [],
          disk_bytes: 5_000_000,
          curves: [],
        };
        return details;
      }
      case "runs_delete":
        runs = runs.filter((r) => r.id !== args.run);
        return { id: args.run, freed_bytes: 5_000_000, kept_files: [] };
      case "runs_compare": {
        const cmp: RunComparison = {
          left: record(args.left as string, "lora"),
          right: record(args.right as string, "full"),
          config_differences: [{ key: "method", left: "lora", right: "full" }],
          metrics: [{ metric: "validation accuracy", left: 0.91, right: 0.85 }],
        };
        return cmp;
      }
      default:
        throw new Error(`unexpected ${cmd}`);
    }
  });
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  clearMocks();
});

describe("History screen", () => {
  it("says No runs yet when there are none", async () => {
    runs = [];
    app = mount(History, { target: document.body });
    await eventually(() => expect($("[data-empty-state] h2")?.textContent).toBe("No runs yet"));
  });

  it("lists runs newest first, sorts by a header and filters by text and status", async () => {
    app = mount(History, { target: document.body });
    await eventually(() => expect(rowIds()).toEqual(["full-new", "qwen-failed", "lora-old"]));
    $('[data-sort="metric"]')?.click();
    flushSync();
    expect(rowIds()).toEqual(["lora-old", "full-new", "qwen-failed"]);
    expect($('[data-sort="metric"]')?.closest("th")?.getAttribute("aria-sort")).toBe("descending");
    const filter = $<HTMLInputElement>("[data-run-filter]");
    if (!filter) return;
    filter.value = "qwen";
    filter.dispatchEvent(new Event("input", { bubbles: true }));
    flushSync();
    expect(rowIds()).toEqual(["qwen-failed"]);
  });

  it("opens a run's page with its metrics, evaluation and files", async () => {
    app = mount(History, { target: document.body });
    await eventually(() => expect($('[data-open-run="lora-old"]')).not.toBeNull());
    $('[data-open-run="lora-old"]')?.click();
    await eventually(() => expect($('[data-run-page="lora-old"]')).not.toBeNull());
    expect($('[data-metric="train.loss"]')?.textContent).toContain("0.2");
    expect($('[data-evaluation="fine_tuned"]')?.textContent).toContain("0.9");
    expect($('[data-artefact="adapter"]')?.textContent).toContain("2 MB");
  });

  it("deletes a run only after the confirmation", async () => {
    app = mount(History, { target: document.body });
    await eventually(() => expect($('[data-open-run="lora-old"]')).not.toBeNull());
    $('[data-open-run="lora-old"]')?.click();
    await eventually(() => expect($('[data-action="delete-run"]')).not.toBeNull());
    $('[data-action="delete-run"]')?.click();
    flushSync();
    expect(calls.some((c) => c.cmd === "runs_delete")).toBe(false);
    expect($('[data-confirm="delete"]')).not.toBeNull();
    $('[data-action="confirm-delete"]')?.click();
    await eventually(() => expect(rowIds()).toEqual(["full-new", "qwen-failed"]));
    expect(calls.find((c) => c.cmd === "runs_delete")?.args.run).toBe("lora-old");
    expect($('[data-banner="history-news"]')?.textContent).toContain("5 MB freed");
  });

  it("compares the two picked runs side by side", async () => {
    app = mount(History, { target: document.body });
    await eventually(() => expect($('[data-pick="lora-old"]')).not.toBeNull());
    const compare = () => $<HTMLButtonElement>('[data-action="compare-runs"]');
    expect(compare()?.disabled).toBe(true);
    $('[data-pick="lora-old"]')?.click();
    $('[data-pick="full-new"]')?.click();
    flushSync();
    expect(compare()?.disabled).toBe(false);
    compare()?.click();
    await eventually(() => expect($("[data-run-compare]")).not.toBeNull());
    expect(calls.find((c) => c.cmd === "runs_compare")?.args).toEqual({ left: "lora-old", right: "full-new" });
    expect($('[data-config-diff="method"]')?.textContent).toContain("full");
    expect($('[data-metric-row="validation accuracy"]')?.textContent).toContain("−0.06");
  });
});
