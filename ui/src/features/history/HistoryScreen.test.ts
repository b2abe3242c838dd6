// The History screen with the IPC mocked: the run table sorts and filters, a run's page opens,
// delete asks first, and two picked runs are compared.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_SORT } from "./table";
import type { RunComparison, RunDetails, RunRecord, RunSummary } from "./types";
import { historyView } from "./view.svelte";
import History from "./HistoryScreen.svelte";
import { eventually } from "../../shared/testing/eventually";

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
  Object.assign(historyView, { page: { kind: "list" }, sort: DEFAULT_SORT, filter: { text: "", status: "" }, picked: [] });
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
          outputs: [],
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
    expect($('[data-evaluation="fine_tuned"]')?.textContent).toContain("90.0 %");
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
    expect($('[data-metric-row="validation accuracy"]')?.textContent).toContain("−6.0 points");
  });

  it("leads a run's page with a plain summary, names instead of paths, and keeps the details behind a toggle", async () => {
    const cached = "/home/ada/.cache/huggingface/hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/8b3219a";
    mockIPC((cmd, raw) => {
      const args = (raw ?? {}) as Record<string, unknown>;
      if (cmd === "runs_list") return runs;
      if (cmd !== "runs_show") throw new Error(`unexpected ${cmd}`);
      const details: RunDetails = {
        run: { ...record(args.run as string, "features"), model_ref: cached, dataset_ref: "/home/ada/data/reviews.csv", config: { request: { lr: 0.001 } } },
        duration_ms: 16_000,
        metrics: [],
        artefacts: [],
        evaluations: [
          {
            id: 1,
            run_id: "x",
            model: "base",
            split: "test",
            rows: 40,
            metrics: {
              accuracy: 0.825,
              baselines: { majority_label: "positive", majority: { accuracy: 0.55 }, bag_of_words: { accuracy: 0.78 } },
            },
            created_at: 2,
          },
          { id: 2, run_id: "x", model: "fine_tuned", split: "test", rows: 40, metrics: { accuracy: 0.825 }, created_at: 3 },
        ],
        notes: [],
        outputs: [],
        disk_bytes: 1,
        curves: [],
      };
      return details;
    });
    historyView.page = { kind: "run", id: "lora-old" };
    app = mount(History, { target: document.body });
    await eventually(() => expect($("[data-run-summary]")).not.toBeNull());
    expect($('[data-summary="method"]')?.textContent).toBe("Classification with Feature extraction");
    expect($('[data-summary="model"]')?.textContent).toBe("all-MiniLM-L6-v2");
    expect($('[data-summary="model"]')?.getAttribute("title")).toBe(cached);
    expect($('[data-summary="data"]')?.textContent).toBe("reviews.csv");
    const result = ($('[data-summary="result"]')?.textContent ?? "").replace(/\s+/g, " ");
    // Feature extraction against the simple models, not against its base (the same model and head).
    expect(result).toContain("82.5 % for your model, a simple word-count model 78.0 %, always guessing “positive” 55.0 %");
    expect(result).not.toContain("base model");
    expect(result).not.toContain("(the same)");
    expect(result).not.toContain("0.825");
    expect($('[data-summary="time"]')?.textContent).toContain("16 s");
    // The summary comes before the details, which are closed until asked for.
    const details = $<HTMLDetailsElement>("[data-run-details]");
    expect(details?.open).toBe(false);
    expect($("[data-run-summary]")!.compareDocumentPosition(details!) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(details?.textContent).toContain(cached);
    expect(details?.textContent).toContain("Learning rate");
    expect(details?.textContent).not.toContain("request.lr");
    expect($("[data-run-summary]")?.textContent).not.toContain("/home/ada");
  });

  it("compares two runs in words: labels instead of keys, percentages, details behind a toggle", async () => {
    mockIPC((cmd) => {
      if (cmd === "runs_list") return runs;
      const cmp: RunComparison = {
        left: { ...record("lora-old", "lora"), model_ref: "gguf/SmolLM2-135M-Instruct-Q4_1.gguf" },
        right: { ...record("full-new", "features"), model_ref: "local/all-MiniLM-L6-v2" },
        config_differences: [
          { key: "config.request.lr", left: 0.0002, right: 0.001 },
          { key: "config.train.optimizer.beta2", left: 0.999, right: 0.99 },
        ],
        metrics: [
          { metric: "eval test fine_tuned accuracy", left: 0.825, right: 0.78 },
          { metric: "eval test base confusion[0][0]", left: 8, right: 9 },
          { metric: "eval test fine_tuned worst[3].true_probability", left: 0.1, right: 0.2 },
        ],
      };
      return cmp;
    });
    historyView.page = { kind: "compare", left: "lora-old", right: "full-new" };
    app = mount(History, { target: document.body });
    await eventually(() => expect($("[data-run-compare]")).not.toBeNull());
    expect($("[data-compare-model]")?.textContent).toContain("SmolLM2-135M-Instruct-Q4_1.gguf");
    expect($("[data-compare-model]")?.textContent).not.toContain("gguf/");
    expect($("[data-compare-model]")?.textContent).not.toContain("local/");
    expect($("[data-compare-result]")?.textContent).toContain("82.5 %");
    expect($("[data-compare-result]")?.textContent).toContain("−4.5 points");
    expect($('[data-config-diff="config.request.lr"]')?.textContent).toContain("Learning rate");
    const details = $<HTMLDetailsElement>("[data-compare-details]");
    expect(details?.open).toBe(false);
    expect(details?.querySelector('[data-metric-row="eval test base confusion[0][0]"]')?.textContent).toContain("Confusion matrix");
    expect(details?.querySelector('[data-config-diff="config.train.optimizer.beta2"]')?.textContent).toContain("Adam beta 2");
    expect(document.body.textContent).not.toContain("config.request.lr");
    expect(document.body.textContent).not.toContain("worst[3]");
  });
});
