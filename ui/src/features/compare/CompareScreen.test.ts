// The Chat & Compare screen as a whole, in happy-dom with the app's IPC mocked: the honest empty
// state, disabled columns with reasons, streaming answers with citations, the documents report,
// the question-set verdict, the predict bars, and dismissible error banners.
import type { Channel } from "@tauri-apps/api/core";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chatAnswer, compareReport, ingestReport, model, passage, prediction, run } from "./fixtures";
import { CompareSession } from "./session.svelte";
import type { ChatEvent, ChatRequest, IngestProgress } from "./types";
import Compare from "./CompareScreen.svelte";
import { eventually } from "../../shared/testing/eventually";

let screen: ReturnType<typeof mount> | undefined;

function $(selector: string): HTMLElement | null {
  return document.querySelector<HTMLElement>(selector);
}

function text(selector: string): string {
  return $(selector)?.textContent?.replace(/\s+/g, " ").trim() ?? "";
}

function type(selector: string, value: string) {
  const el = document.querySelector<HTMLInputElement | HTMLTextAreaElement>(selector);
  if (!el) throw new Error(`no ${selector}`);
  el.value = value;
  el.dispatchEvent(new Event("input", { bubbles: true }));
  flushSync();
}

function choose(selector: string, value: string) {
  const el = document.querySelector<HTMLSelectElement>(selector);
  if (!el) throw new Error(`no ${selector}`);
  el.value = value;
  el.dispatchEvent(new Event("change", { bubbles: true }));
  flushSync();
}

function click(selector: string) {
  const el = $(selector);
  if (!el) throw new Error(`no ${selector}`);
  el.click();
  flushSync();
}

/** The app with some models, runs and an index; chat answers "<column> answer" in two pieces. */
function mockApp(overrides: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  const chats: ChatRequest[] = [];
  mockIPC((cmd, raw) => {
    const args = (raw ?? {}) as Record<string, unknown>;
    if (overrides[cmd]) return overrides[cmd](args);
    switch (cmd) {
      case "models_list":
        return { cache_dir: "/c", offline: false, models: [model()] };
      case "runs_list":
        return [run(), run({ id: "run-cls-1", name: "tickets", task: "classify", method: "features" })];
      case "rag_list":
        return [{ name: "clinic-docs", path: "/r/c.sqlite3", settings: null, documents: 3, chunks: 7 }];
      case "chat": {
        const request = args.request as ChatRequest;
        chats.push(request);
        const channel = args.onEvent as Channel<ChatEvent>;
        const label = `${request.run ? "tuned" : "base"}${request.rag ? "+rag" : ""}`;
        channel.onmessage({ event: "delta", text: `${label} ` });
        channel.onmessage({ event: "delta", text: "answer" });
        const answer = chatAnswer({
          text: `${label} answer`,
          passages: request.rag ? [passage(1), passage(2, { source: "/docs/faq.txt", location: "row 4" })] : [],
        });
        channel.onmessage({ event: "done", ...answer });
        return answer;
      }
      case "job_cancel":
        return null;
      case "ratings_tally":
        return { ratings: 0, pairs: [], rule: "" };
      default:
        throw `command ${cmd} not found`;
    }
  });
  return { chats };
}

function open(session = new CompareSession()) {
  screen = mount(Compare, { target: document.body, props: { session } });
  flushSync();
  return session;
}

beforeEach(() => {
  document.body.innerHTML = "";
});

afterEach(() => {
  if (screen) unmount(screen);
  screen = undefined;
  clearMocks();
});

describe("the Chat & Compare screen", () => {
  it("shows the honest empty state on a fresh home, and every column disabled with its reason", async () => {
    mockIPC((cmd) => (cmd === "models_list" ? { models: [] } : []));
    const session = open();
    expect(text("[data-empty-state] h2")).toBe("Nothing to compare yet");
    await eventually(() => expect(session.lists).toBe("ready"));
    flushSync();
    expect(text("[data-empty-state] h2")).toBe("Nothing to compare yet");
    for (const id of ["base", "fine_tuned", "base_rag", "fine_tuned_rag"]) {
      expect($(`[data-column="${id}"]`)?.dataset.status).toBe("disabled");
      expect(text(`[data-column="${id}"] [data-reason]`)).toMatch(/^Not available: /);
    }
    expect(document.querySelectorAll("table")).toHaveLength(0);
    expect(($("[data-action=ask]") as HTMLButtonElement).disabled).toBe(true);
  });

  it("lets a typed model folder answer in the base column when no model is known", async () => {
    const { chats } = mockApp({ models_list: () => ({ models: [] }), runs_list: () => [], rag_list: () => [] });
    const session = open();
    await eventually(() => expect(session.lists).toBe("ready"));
    flushSync();
    expect(text("[data-empty-state] h2")).toBe("Nothing to compare yet");
    type("[data-choice=model-path]", "/models/smol");
    expect($('[data-column="base"]')?.dataset.status).toBe("idle");
    expect($('[data-column="fine_tuned"]')?.dataset.status).toBe("disabled");
    type("#cmp-question", "Hello?");
    click("[data-action=ask]");
    await eventually(() => expect(session.asking).toBe(false));
    flushSync();
    expect(chats.map((c) => c.model)).toEqual(["/models/smol"]);
    expect(text('[data-column="base"] [data-answer]')).toBe("base answer");
  });

  it("streams each column's answer in turn, with the passages under the RAG columns", async () => {
    const { chats } = mockApp();
    const session = open();
    await eventually(() => expect(session.lists).toBe("ready"));
    flushSync();
    expect($("[data-empty-state]")).toBeNull();
    choose("#cmp-run-select", "run-gen-1");
    type("#cmp-question", "When is the clinic open on Saturday?");
    click("[data-action=ask]");
    await eventually(() => expect(session.asking).toBe(false));
    flushSync();
    expect(chats.map((c) => [c.run, c.rag])).toEqual([
      [null, null],
      ["run-gen-1", null],
      [null, "clinic-docs"],
      ["run-gen-1", "clinic-docs"],
    ]);
    expect(text('[data-column="base"] [data-answer]')).toBe("base answer");
    expect(text('[data-column="fine_tuned"] [data-answer]')).toBe("tuned answer");
    expect(text('[data-column="fine_tuned_rag"] [data-answer]')).toBe("tuned+rag answer");
    expect(text('[data-column="base"] [data-stats]')).toBe("8 tokens · 0.50 s · 20.0 tokens/s");
    // No length typed: every column's length is fitted to the run's training answers, and says so.
    expect(chats.map((c) => [c.max_tokens, c.fit_to])).toEqual([
      [null, "run-gen-1"],
      [null, null],
      [null, "run-gen-1"],
      [null, null],
    ]);
    expect(text('[data-column="base"] [data-answer-length]')).toBe(
      "Up to 48 tokens: the 95th percentile of 400 training answers (48 tokens).",
    );
    expect(document.querySelectorAll('[data-column="base"] [data-passage]')).toHaveLength(0);
    const passages = document.querySelectorAll('[data-column="base_rag"] [data-passage]');
    expect(passages).toHaveLength(2);
    expect(text('[data-column="base_rag"] [data-passage="2"] [data-passage-source]')).toBe("faq.txt");
    expect(text('[data-column="base_rag"] [data-passage="2"] [data-passage-location]')).toBe("row 4");
    expect(text('[data-column="base_rag"] [data-passage="1"] [data-passage-text]')).toBe(passage(1).text);
    // The line read first names the source; the search's score is a detail inside the fold.
    expect(text('[data-column="base_rag"] [data-passage="1"] summary')).not.toMatch(/score/);
    expect(text('[data-column="base_rag"] [data-passage="1"] [data-passage-details]')).toMatch(/search score \d\.\d{3}/);
    expect(text("[data-asked]")).toBe("When is the clinic open on Saturday?");
    // "Why this answer?" under the answers of the columns that use the fine-tuned run only.
    expect($('[data-column="fine_tuned"] [data-explain]')).not.toBeNull();
    expect($('[data-column="fine_tuned_rag"] [data-explain]')).not.toBeNull();
    expect($('[data-column="base"] [data-explain]')).toBeNull();
    expect($('[data-column="base_rag"] [data-explain]')).toBeNull();
  });

  it("asks with Ctrl+Enter, and Stop cancels the answer being written and skips the rest", async () => {
    let release: (() => void) | null = null;
    const cancelled: unknown[] = [];
    mockApp({
      chat: (args) => {
        const channel = args.onEvent as Channel<ChatEvent>;
        channel.onmessage({ event: "delta", text: "Partial" });
        // The app ends a cancelled generation with what it had written.
        return new Promise((resolve) => {
          release = () => resolve(chatAnswer({ text: "Partial", stop: { reason: "cancelled" } }));
        });
      },
      job_cancel: (args) => {
        cancelled.push(args.jobId);
        release?.();
        return null;
      },
    });
    const session = open();
    await eventually(() => expect(session.lists).toBe("ready"));
    choose("#cmp-run-select", "run-gen-1");
    type("#cmp-question", "Hi?");
    $("#cmp-question")?.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", ctrlKey: true, bubbles: true }));
    await eventually(() => expect(text('[data-column="base"] [data-answer]')).toBe("Partial"));
    expect(($("[data-action=stop]") as HTMLButtonElement).disabled).toBe(false);
    click("[data-action=stop]");
    await eventually(() => expect(session.asking).toBe(false));
    flushSync();
    expect(cancelled).toHaveLength(1);
    expect($('[data-column="base"]')?.dataset.status).toBe("stopped");
    expect(text('[data-column="base"] [data-stop]')).toMatch(/Stopped/);
    for (const id of ["fine_tuned", "base_rag", "fine_tuned_rag"]) {
      expect($(`[data-column="${id}"]`)?.dataset.status).toBe("skipped");
    }
  });

  it("shows a column's failure in that column and keeps the others", async () => {
    mockApp({
      chat: (args) => {
        const request = args.request as ChatRequest;
        if (request.run) throw { code: "chat", message: 'run `clinic-lora` has no adapter on disk yet' };
        return chatAnswer({ text: "fine" });
      },
    });
    const session = open();
    await eventually(() => expect(session.lists).toBe("ready"));
    choose("#cmp-run-select", "run-gen-1");
    choose("#cmp-index-select", "");
    type("#cmp-question", "Hi?");
    click("[data-action=ask]");
    await eventually(() => expect(session.asking).toBe(false));
    flushSync();
    expect(text('[data-column="base"] [data-answer]')).toBe("fine");
    expect(text('[data-column="fine_tuned"] [data-column-error]')).toMatch(/no adapter on disk yet/);
    expect($('[data-column="base_rag"]')?.dataset.status).toBe("disabled");
  });

  it("builds an index and lists every document it could not use", async () => {
    let indexed = false;
    mockApp({
      rag_index: (args) => {
        const channel = args.onEvent as Channel<IngestProgress>;
        channel.onmessage({ stage: "found", files: 5 });
        indexed = true;
        return ingestReport();
      },
      rag_list: () =>
        indexed ? [{ name: "docs", path: "/r/docs.sqlite3", settings: null, documents: 3, chunks: 7 }] : [],
    });
    const session = open();
    await eventually(() => expect(session.lists).toBe("ready"));
    flushSync();
    type("[data-doc-paths]", "/docs");
    expect(($("[data-action=index]") as HTMLButtonElement).disabled).toBe(true);
    type("[data-index-name]", "docs");
    click("[data-action=index]");
    await eventually(() => expect(session.indexing).toBe(false));
    flushSync();
    expect(text("[data-ingest-report] strong")).toMatch(/^3 documents, 7 passages in the index\./);
    const problems = [...document.querySelectorAll<HTMLElement>("[data-problem]")];
    expect(problems.map((p) => p.dataset.problem)).toEqual(["empty", "too_large"]);
    expect(problems[1].textContent).toMatch(/huge\.txt: too large: 52\.4 MB/);
    expect(($("#cmp-index-select") as HTMLSelectElement).value).toBe("docs");
  });

  it("offers the embedding models on this computer and keyword search next to the button, and shows a failure there", async () => {
    const requests: Record<string, unknown>[] = [];
    mockApp({
      models_list: () => ({
        cache_dir: "/c",
        offline: true,
        models: [
          model(),
          model({ id: "gguf/SmolLM2-135M-Instruct.Q4_1.gguf", source: "gguf", path: "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }),
          model({ id: "local/all-MiniLM-L6-v2", path: "/models/all-MiniLM-L6-v2", family: "encoder", architecture: "BertModel" }),
        ],
      }),
      rag_index: (args) => {
        requests.push(args.request as Record<string, unknown>);
        throw { code: "network", message: "the hub cannot be reached (offline)" };
      },
    });
    const session = open();
    await eventually(() => expect(session.lists).toBe("ready"));
    flushSync();
    const options = [...document.querySelectorAll<HTMLOptionElement>("#cmp-embed-choice option")].map((o) => o.textContent);
    expect(options[0]).toBe("By meaning, with all-MiniLM-L6-v2 (on this computer)");
    // The base models by name too, without the registry's "local/" or "gguf/" prefix.
    const models = [...document.querySelectorAll<HTMLOptionElement>("#cmp-model-select option")].map((o) => o.textContent?.trim());
    expect(models).toContain("SmolLM2-135M-Instruct.Q4_1.gguf");
    expect(models.some((m) => /^(local|gguf)\//.test(m ?? ""))).toBe(false);
    expect(options).toContain("By keywords only (no model needed)");
    expect(($("#cmp-embed-choice") as HTMLSelectElement).value).toBe("model:/models/all-MiniLM-L6-v2");
    type("[data-doc-paths]", "/docs");
    type("[data-index-name]", "docs");
    click("[data-action=index]");
    await eventually(() => expect(session.indexing).toBe(false));
    expect(requests[0].embed_model).toBe("/models/all-MiniLM-L6-v2");
    choose("#cmp-embed-choice", "keywords");
    click("[data-action=index]");
    await eventually(() => expect(requests).toHaveLength(2));
    expect(requests[1].embed_model).toBe("none");
    await eventually(() => expect(session.indexing).toBe(false));
    flushSync();
    // The failure is shown in the documents panel, next to the button, not as a banner at the top.
    const error = $('[data-section="documents"] [data-index-error]');
    expect(error?.textContent).toContain("the hub cannot be reached");
    expect($("[data-banner]")).toBeNull();
  });

  it("issue 18: a quick check asks for a few questions and the report says how many and how long the answers were", async () => {
    let asked: Record<string, unknown> | null = null;
    mockApp({
      compare_questions: (args) => {
        asked = args.request as Record<string, unknown>;
        return { ...compareReport(), questions_in_file: 12 };
      },
    });
    const session = open();
    await eventually(() => expect(session.lists).toBe("ready"));
    choose("#cmp-run-select", "run-gen-1");
    type("[data-questions-file]", "/data/questions.csv");
    const quick = $("[data-compare-quick]") as HTMLInputElement;
    quick.click();
    flushSync();
    expect(session.quick).toBe(true);
    click("[data-action=compare]");
    await eventually(() => expect(session.comparing).toBe(false));
    flushSync();
    expect(asked).toMatchObject({ max_questions: 5, max_tokens: null });
    expect(text("[data-compare-length]")).toContain("A quick check: 1 of 12 questions");
    expect(text("[data-compare-length]")).toContain(
      "Answers up to 48 tokens (the 95th percentile of 400 training answers (48 tokens))",
    );
  });

  it("compares over a question set and shows the table and the verdict with its margin", async () => {
    mockApp({ compare_questions: () => compareReport() });
    const session = open();
    await eventually(() => expect(session.lists).toBe("ready"));
    choose("#cmp-run-select", "run-gen-1");
    type("[data-questions-file]", "/data/questions.csv");
    click("[data-action=compare]");
    await eventually(() => expect(session.comparing).toBe(false));
    flushSync();
    expect(text("[data-verdict] .cmp-verdict-sentence")).toBe(compareReport().verdict.text);
    expect(text("[data-margin]")).toMatch(/ahead of fine-tuned by \+0\.21 token F1/);
    const rows = [...document.querySelectorAll<HTMLElement>("[data-score-table] tbody tr")];
    expect(rows.map((r) => r.dataset.configuration)).toEqual(["base", "fine_tuned", "base_rag", "fine_tuned_rag"]);
    expect(text('[data-configuration="base_rag"] [data-metric="token_f1"]')).toBe("0.51");
    expect($('[data-configuration="base_rag"] [data-metric="token_f1"]')?.classList.contains("cmp-best")).toBe(true);
    // The saved report is named for a person; its path is on hover.
    expect(text("[data-compare-saved]")).not.toContain("/home/runs");
  });

  it("shows the question set's overall progress as answers of all answers, with the time left", async () => {
    let finish: (v: unknown) => void = () => {};
    mockApp({
      compare_questions: (args) => {
        const channel = args.onEvent as Channel<unknown>;
        channel.onmessage({ event: "loading", configuration: "base" });
        channel.onmessage({ event: "answered", configuration: "base", question: 1, of: 10, answered: 1, total: 40 });
        channel.onmessage({ event: "answered", configuration: "base", question: 2, of: 10, answered: 2, total: 40 });
        return new Promise((resolve) => (finish = resolve));
      },
    });
    let t = 0;
    const session = open(new CompareSession(undefined, () => (t += 10_000)));
    await eventually(() => expect(session.lists).toBe("ready"));
    choose("#cmp-run-select", "run-gen-1");
    choose("#cmp-index-select", "clinic-docs");
    type("[data-questions-file]", "/data/questions.csv");
    click("[data-action=compare]");
    // Four configurations (base and fine-tuned, each with and without documents) for 10 questions.
    await eventually(() => expect(text("[data-compare-overall]")).toMatch(/^2 of 40 answers · about \d+ min left$/));
    finish(compareReport());
    await eventually(() => expect(session.comparing).toBe(false));
  });

  it("offers a predict box with label bars for a classification run", async () => {
    let asked: unknown = null;
    mockApp({
      predict: (args) => {
        asked = args;
        return prediction();
      },
    });
    const session = open();
    await eventually(() => expect(session.lists).toBe("ready"));
    choose("#cmp-run-select", "run-cls-1");
    expect($("[data-section=ask]")).toBeNull();
    type("[data-predict-text]", "My card was charged twice");
    click("[data-action=predict]");
    await eventually(() => expect($("[data-prediction]")).not.toBeNull());
    expect(asked).toEqual({ run: "run-cls-1", text: "My card was charged twice" });
    expect($("[data-prediction]")?.dataset.prediction).toBe("billing");
    const bars = [...document.querySelectorAll<HTMLElement>("[data-prediction] li")];
    expect(bars.map((b) => b.dataset.label)).toEqual(["billing", "technical", "other"]);
    expect(bars[0].textContent).toMatch(/87\.3 %/);
  });

  it("explains a prediction with the run's closest training examples when asked", async () => {
    let asked: unknown = null;
    mockApp({
      predict: () => prediction(),
      explain: (args) => {
        asked = args;
        return {
          run_id: "run-cls-1",
          text: "My card was charged twice",
          examples: [{ text: "I was billed two times", label: "billing", similarity: 0.91, line: 12 }],
          embed_model: "sentence-transformers/all-MiniLM-L6-v2",
          searched_rows: 800,
          skipped_rows: 0,
        };
      },
    });
    const session = open();
    await eventually(() => expect(session.lists).toBe("ready"));
    choose("#cmp-run-select", "run-cls-1");
    type("[data-predict-text]", "My card was charged twice");
    click("[data-action=predict]");
    await eventually(() => expect($("[data-explain]")).not.toBeNull());
    const details = $("[data-explain]") as HTMLDetailsElement;
    details.open = true;
    details.dispatchEvent(new Event("toggle"));
    await eventually(() => expect(text("[data-explain-line='12']")).toMatch(/91 % I was billed two times label: billing/));
    expect(asked).toEqual({ request: { run: "run-cls-1", text: "My card was charged twice", top_k: null, embed_model: null } });
  });

  it("shows a failed list as a dismissible banner", async () => {
    mockApp({
      runs_list: () => {
        throw { code: "store", message: "the run history cannot be read; start a fresh one from History" };
      },
    });
    const session = open();
    await eventually(() => expect(session.lists).toBe("failed"));
    flushSync();
    expect(text("[data-banner]")).toMatch(/Could not list your runs\. the run history cannot be read/);
    click("[data-banner] button");
    expect($("[data-banner]")).toBeNull();
  });
});
