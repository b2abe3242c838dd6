import { describe, expect, it } from "vitest";
import { ApiError } from "../../shared/api";
import type { CompareBackend } from "./backend";
import { chatAnswer, compareReport, ingestReport, model, passage, prediction, run } from "./fixtures";
import { CompareSession } from "./session.svelte";
import type { ChatEvent, ChatRequest, CompareProgress, IngestProgress } from "./types";

/** A chat call the test answers by hand. */
type PendingChat = {
  request: ChatRequest;
  jobId: string;
  emit: (e: ChatEvent) => void;
  resolve: (text?: string) => void;
  reject: (e: unknown) => void;
};

/** A backend whose answers the test controls. */
function fakeBackend(overrides: Partial<CompareBackend> = {}) {
  const chats: PendingChat[] = [];
  const cancelled: string[] = [];
  const backend: CompareBackend = {
    modelsList: async () => [model()],
    runsList: async () => [run(), run({ id: "run-cls-1", name: "tickets", task: "classify" })],
    ragList: async () => [{ name: "clinic-docs", path: "/r/c.sqlite3", settings: null, documents: 3, chunks: 7 }],
    chat: (jobId, request, onEvent) =>
      new Promise((resolve, reject) => {
        chats.push({
          request,
          jobId,
          emit: onEvent,
          resolve: (text = "ok") => resolve(chatAnswer({ text })),
          reject,
        });
      }),
    ragIndex: async () => ingestReport(),
    compareQuestions: async () => compareReport(),
    predict: async () => prediction(),
    jobCancel: async (jobId) => {
      cancelled.push(jobId);
    },
    ...overrides,
  };
  return { backend, chats, cancelled };
}

/** Lets pending promise callbacks run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

async function readySession(overrides: Partial<CompareBackend> = {}) {
  const fake = fakeBackend(overrides);
  let t = 0;
  const session = new CompareSession(fake.backend, () => (t += 100));
  await session.refresh();
  return { session, ...fake };
}

describe("the compare session", () => {
  it("loads the lists and chooses the only index for the user", async () => {
    const { session } = await readySession();
    expect(session.lists).toBe("ready");
    expect(session.models).toHaveLength(1);
    expect(session.runs).toHaveLength(2);
    expect(session.index).toBe("clinic-docs");
    expect(session.nothingYet).toBe(false);
  });

  it("says there is nothing yet on a fresh home, and a failed list is a banner", async () => {
    const { session } = await readySession({
      modelsList: async () => [],
      runsList: async () => {
        throw new ApiError({ code: "store", message: "the history is damaged; start a fresh one" });
      },
    });
    expect(session.nothingYet).toBe(true);
    expect(session.lists).toBe("failed");
    expect(session.banners.map((b) => b.message)).toEqual(["the history is damaged; start a fresh one"]);
  });

  it("answers the available columns one after another, each streaming its own text", async () => {
    const { session, chats } = await readySession();
    session.chooseRun("run-gen-1");
    session.question = "  When is the clinic open on Saturday? ";
    const done = session.ask();
    await settle();
    // One at a time: only the base column has been asked.
    expect(chats).toHaveLength(1);
    expect(chats[0].request).toMatchObject({
      prompt: "When is the clinic open on Saturday?",
      model: model().path,
      run: null,
      rag: null,
    });
    expect(session.answers.fine_tuned.status).toBe("waiting");
    chats[0].emit({ event: "delta", text: "Satur" });
    chats[0].emit({ event: "delta", text: "days" });
    expect(session.answers.base.text).toBe("Saturdays");
    expect(session.answers.base.status).toBe("streaming");
    chats[0].resolve("Saturdays.");
    await settle();
    expect(session.answers.base.status).toBe("done");
    expect(chats).toHaveLength(2);
    expect(chats[1].request).toMatchObject({ run: "run-gen-1", rag: null });
    chats[1].resolve();
    await settle();
    expect(chats[2].request).toMatchObject({ run: null, rag: "clinic-docs" });
    chats[2].emit({
      event: "done",
      ...chatAnswer({ text: "From 9 to 12 [1].", passages: [passage(1)] }),
    });
    chats[2].resolve("From 9 to 12 [1].");
    await settle();
    expect(session.answers.base_rag.answer?.passages).toHaveLength(1);
    chats[3].resolve();
    await done;
    expect(session.asking).toBe(false);
    expect(new Set(chats.map((c) => c.jobId)).size).toBe(4);
    expect(Object.values(session.answers).map((a) => a.status)).toEqual(["done", "done", "done", "done"]);
  });

  it("keeps going after one column fails, showing the failure in that column", async () => {
    const { session, chats } = await readySession();
    session.model = "/models/smol";
    session.index = null;
    session.question = "Hi?";
    const done = session.ask();
    await settle();
    chats[0].reject(new ApiError({ code: "chat", message: "/models/smol has no tokenizer.json" }));
    await done;
    expect(session.answers.base).toMatchObject({ status: "failed", message: "/models/smol has no tokenizer.json" });
    // No run chosen and no index: the other columns never ran.
    expect(session.answers.fine_tuned.status).toBe("idle");
    expect(chats).toHaveLength(1);
  });

  it("stops the answer being written and skips the columns still waiting", async () => {
    const { session, chats, cancelled } = await readySession();
    session.chooseRun("run-gen-1");
    session.question = "Hi?";
    const done = session.ask();
    await settle();
    chats[0].emit({ event: "delta", text: "Hel" });
    await session.stopAsking();
    expect(cancelled).toEqual([chats[0].jobId]);
    // The app ends a cancelled generation with what it had.
    chats[0].resolve("Hel");
    await done;
    expect(chats).toHaveLength(1);
    expect(session.answers.base.status).toBe("done");
    expect(session.answers.fine_tuned.status).toBe("skipped");
    expect(session.answers.fine_tuned_rag.status).toBe("skipped");
  });

  it("refuses to ask without a question or with nothing to answer it", async () => {
    const { session } = await readySession({ runsList: async () => [], ragList: async () => [] });
    expect(session.askProblem).toBe("Type a question first.");
    session.question = "Hi?";
    expect(session.askProblem).toMatch(/No column can answer yet/);
    session.model = "/m";
    expect(session.askProblem).toBeNull();
    session.maxTokens = 0;
    expect(session.askProblem).toMatch(/at least 1/);
  });

  it("builds an index with progress, then lists and chooses it", async () => {
    const progress: IngestProgress[] = [];
    let listed = 0;
    const { session } = await readySession({
      ragIndex: async (_job, request, onEvent) => {
        expect(request).toEqual({
          name: "handbook",
          paths: ["/docs/handbook.pdf", "/docs/faq"],
          embed_model: null,
          chunk_tokens: null,
          overlap_tokens: null,
        });
        onEvent({ stage: "found", files: 2 });
        progress.push({ stage: "found", files: 2 });
        expect(session.indexing).toBe(true);
        return ingestReport();
      },
      ragList: async () => {
        listed += 1;
        return listed === 1
          ? []
          : [{ name: "handbook", path: "/r/h.sqlite3", settings: null, documents: 3, chunks: 7 }];
      },
    });
    expect(session.indexProblem).toMatch(/Add the files or folders/);
    session.addPaths(["/docs/handbook.pdf", "/docs/faq"]);
    expect(session.indexName).toBe("handbook");
    await session.buildIndex();
    expect(session.ingestProgress).toEqual({ stage: "found", files: 2 });
    expect(session.ingestReport?.documents).toBe(3);
    expect(session.index).toBe("handbook");
    expect(session.indexing).toBe(false);
  });

  it("sends the embedding model chosen: the default, keywords only, or one typed in", async () => {
    const sent: (string | null | undefined)[] = [];
    const { session } = await readySession({
      ragIndex: async (_job, request) => {
        sent.push(request.embed_model);
        return ingestReport();
      },
    });
    session.addPaths(["/docs"]);
    await session.buildIndex();
    session.embedChoice = "keywords";
    await session.buildIndex();
    session.embedChoice = "other";
    session.embedModel = " /models/minilm ";
    await session.buildIndex();
    expect(sent).toEqual([null, "none", "/models/minilm"]);
  });

  it("reports a failed indexing next to the documents, naming the index", async () => {
    const { session } = await readySession({
      ragIndex: async () => {
        throw new ApiError({ code: "rag", message: "the embedding model is not in the cache" });
      },
    });
    session.addPaths(["/docs"]);
    await session.buildIndex();
    expect(session.indexError).toMatchObject({
      title: 'Could not build the index "docs"',
      message: "the embedding model is not in the cache",
    });
    expect(session.banners).toEqual([]);
  });

  it("compares a question set with every configuration and keeps the report", async () => {
    const events: CompareProgress[] = [
      { event: "loading", configuration: "base" },
      { event: "answered", configuration: "base", question: 1, of: 2, answered: 1, total: 8 },
    ];
    const { session } = await readySession({
      compareQuestions: async (_job, request, onEvent) => {
        expect(request).toEqual({
          questions: "/data/q.csv",
          model: null,
          run: "run-gen-1",
          rag: "clinic-docs",
          max_tokens: null,
          max_questions: null,
        });
        for (const e of events) onEvent(e);
        expect(session.compareProgress?.answered).toBe(1);
        return compareReport();
      },
    });
    session.chooseRun("run-gen-1");
    expect(session.compareConfigurations).toEqual(["base", "base_rag", "fine_tuned", "fine_tuned_rag"]);
    expect(session.compareProblem).toMatch(/Choose a question file/);
    session.questionsFile = " /data/q.csv ";
    await session.runQuestionSet();
    expect(session.compareReport?.verdict.winner).toBe("base_rag");
    expect(session.comparing).toBe(false);
  });

  it("classifies with a classification run instead of chatting", async () => {
    const { session } = await readySession();
    session.chooseRun("run-cls-1");
    expect(session.classifier).toBe(true);
    expect(session.predictProblem).toMatch(/Type a text/);
    session.predictText = "My card was charged twice";
    await session.predict();
    expect(session.prediction?.label).toBe("billing");
    expect(session.compareProblem).toMatch(/classification run/);
  });

  it("reads a run's registry model as the path the app can load", async () => {
    const { session } = await readySession({
      runsList: async () => [run({ model: model().id })],
    });
    session.chooseRun("run-gen-1");
    expect(session.baseModel).toBe(model().path);
  });

  it("dismisses banners one by one", async () => {
    const { session } = await readySession();
    session.report("A", new Error("a"));
    session.report("B", new Error("b"));
    session.dismiss(session.banners[0].id);
    expect(session.banners.map((b) => b.title)).toEqual(["B"]);
  });
});

describe("the shared selection", () => {
  it("gives the base model chosen on the Models screen, as the path the app loads", async () => {
    const { session } = await readySession();
    session.adoptSelection({ model: model().id, task: "generate" });
    expect(session.model).toBe(model().path);
  });

  it("never replaces a model chosen here, nor takes a classifier's model", async () => {
    const { session } = await readySession();
    session.adoptSelection({ model: "bert-base-uncased", task: "classify" });
    expect(session.model).toBe("");
    session.model = "/models/mine";
    session.adoptSelection({ model: model().id });
    expect(session.model).toBe("/models/mine");
  });

  it("chooses the run another screen points at, when it exists", async () => {
    const { session } = await readySession();
    session.adoptSelection({ runId: "nope" });
    expect(session.runId).toBeNull();
    session.adoptSelection({ runId: "run-gen-1" });
    expect(session.runId).toBe("run-gen-1");
  });

  it("keeps its choices across a restart: the snapshot restores into a new session", async () => {
    const { session } = await readySession();
    session.model = "/models/smol.gguf";
    session.questionsFile = "/data/questions.csv";
    session.pathsText = "/docs";
    session.indexName = "clinic";
    session.embedChoice = "keywords";
    const restarted = new CompareSession();
    restarted.restoreChoices(JSON.parse(JSON.stringify(session.choicesSnapshot())));
    expect(restarted.choicesSnapshot()).toEqual(session.choicesSnapshot());
    // A snapshot of another shape changes nothing.
    const other = new CompareSession();
    other.restoreChoices({ model: 3, maxTokens: -1 });
    expect(other.model).toBe("");
  });
});
