// The Chat & Compare screen's state and actions, kept outside the screen so nothing is lost by
// navigating away: the choices, the streaming answers (a job keeps streaming into them while another
// screen is shown), the documents panel, the question set and the predict box.
//
// Promises:
// - The columns answer one after another (one model in memory at a time on one machine), each
//   from its own job; Stop cancels the running job and skips the columns still waiting.
// - Every failure becomes a dismissible banner (or, for one column, that column's message); none is
//   swallowed. Every long job can be cancelled.

import { errorMessage } from "../../shared/api";
import { COMPARE_QUICK_QUESTIONS } from "../../bindings";
import { asObject, browserStorage, KEYS, load, save } from "../../shared/persist";
import { bannerFor, dismiss, type Banner } from "./errors";
import {
  applyChatEvent,
  fail,
  finish,
  IDLE,
  isActive,
  queued,
  started,
  stop,
  type ColumnAnswer,
} from "./answers";
import { newJobId, tauriBackend, type CompareBackend } from "./backend";
import {
  availableColumns,
  baseModelFor,
  COLUMNS,
  isClassifier,
  planColumns,
  type Choices,
  type ColumnPlan,
} from "./columns";
import { embedChoices, embedModelFor, indexNameProblem, parsePaths, suggestIndexName, type EmbedChoice } from "./documents";
import { predictTextProblem } from "./predict";
import {
  applyCompareProgress,
  configurationsFor,
  initialProgress,
  type CompareProgressState,
} from "./questions";
import type {
  ColumnId,
  CompareReport,
  IndexEntry,
  IngestProgress,
  IngestReport,
  ModelRecord,
  Prediction,
  RunSummary,
} from "./types";

/** The lists the pickers offer, and whether they arrived. */
export type ListsState = "loading" | "ready" | "failed";


/** Everything on the Chat & Compare screen. */
/** The Chat & Compare choices kept across restarts. */
export type CompareChoices = {
  model: string;
  runId: string | null;
  index: string | null;
  questionsFile: string;
  indexName: string;
  pathsText: string;
  embedChoice: string | null;
  embedModel: string;
  maxTokens: number | null;
  system: string;
  quick: boolean;
};

export class CompareSession {
  // The pickers' lists.
  lists = $state<ListsState>("loading");
  models = $state<ModelRecord[]>([]);
  runs = $state<RunSummary[]>([]);
  indexes = $state<IndexEntry[]>([]);

  // The user's choices.
  model = $state("");
  runId = $state<string | null>(null);
  index = $state<string | null>(null);

  // Chat.
  question = $state("");
  system = $state("");
  /** The user's answer length; `null` (an empty field): fitted to the run's training answers. */
  maxTokens = $state<number | null>(null);
  asked = $state<string | null>(null);
  answers = $state<Record<ColumnId, ColumnAnswer>>(idleAnswers());
  asking = $state(false);
  now = $state(Date.now());
  private chatJob: string | null = null;
  private stopRequested = false;
  private ticker: ReturnType<typeof setInterval> | null = null;

  // Documents.
  indexName = $state("");
  pathsText = $state("");
  /** The embedding model typed for "another model": a hub id or a folder ("none": keywords only). */
  embedModel = $state("");
  /**
   * How the index finds passages, as chosen next to the button (see `embedChoices`); `null` until
   * the user chooses: then a model already on this computer, else the default download.
   */
  embedChoice = $state<string | null>(null);
  /** Why the last indexing failed, shown next to the button that started it. */
  indexError = $state<Banner | null>(null);
  indexing = $state(false);
  ingestProgress = $state<IngestProgress | null>(null);
  ingestReport = $state<IngestReport | null>(null);

  // Question set.
  questionsFile = $state("");
  /** A quick check: only `COMPARE_QUICK_QUESTIONS` questions, spread over the set. */
  quick = $state(false);
  comparing = $state(false);
  compareProgress = $state<CompareProgressState | null>(null);
  compareReport = $state<CompareReport | null>(null);
  private compareJob: string | null = null;

  // Predict.
  predictText = $state("");
  predicting = $state(false);
  prediction = $state<Prediction | null>(null);

  banners = $state<Banner[]>([]);

  constructor(
    private readonly backend: CompareBackend = tauriBackend,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The chosen run, if any. */
  get run(): RunSummary | null {
    return this.runs.find((r) => r.id === this.runId) ?? null;
  }

  /** What is chosen, as the column rules read it. */
  get choices(): Choices {
    return { model: this.model, run: this.resolvedRun, index: this.index };
  }

  /** The chosen run with its model named as the app can load it (a registry id read as its path). */
  private get resolvedRun(): RunSummary | null {
    const run = this.run;
    if (run === null) return null;
    const record = this.models.find((m) => m.id === run.model);
    return record ? { ...run, model: record.path } : run;
  }

  /** Whether the chosen run is a classifier (the predict box replaces chat). */
  get classifier(): boolean {
    return isClassifier(this.run);
  }

  /** Each column's plan for the current choices. */
  get plans(): ColumnPlan[] {
    return planColumns(this.choices, { maxTokens: this.maxTokens ?? null, system: this.system });
  }

  /** Whether the screen has nothing to compare with: no model known and no run. */
  get nothingYet(): boolean {
    return this.lists === "loading" || (this.models.length === 0 && this.runs.length === 0);
  }

  /** The base model the base columns will use, or `null`. */
  get baseModel(): string | null {
    return baseModelFor(this.choices);
  }

  /** Decoder models (the ones that can answer in words), for the base-model picker. */
  get chatModels(): ModelRecord[] {
    return this.models.filter((m) => m.family !== "encoder");
  }

  /** Encoder models on this computer, which can embed passages without a download. */
  get embeddingModels(): ModelRecord[] {
    return this.models.filter((m) => m.family === "encoder" && m.supported);
  }

  /** The ways an index can find passages, first the ones that work offline. */
  get embedChoices(): EmbedChoice[] {
    return embedChoices(this.embeddingModels);
  }

  /** The choice in force: the user's, else the first local model, else the default download. */
  get embedChoiceInForce(): string {
    const choices = this.embedChoices;
    if (this.embedChoice !== null && choices.some((c) => c.value === this.embedChoice)) return this.embedChoice;
    return choices[0].value;
  }

  /** What `rag_index` gets as `embed_model` for the choice in force. */
  get embedModelRequest(): string | null {
    return embedModelFor(this.embedChoiceInForce, this.embedModel);
  }

  /** The choices worth keeping across a restart (not answers or reports: those are recomputed). */
  choicesSnapshot(): CompareChoices {
    return {
      model: this.model,
      runId: this.runId,
      index: this.index,
      questionsFile: this.questionsFile,
      indexName: this.indexName,
      pathsText: this.pathsText,
      embedChoice: this.embedChoice,
      embedModel: this.embedModel,
      maxTokens: this.maxTokens ?? null,
      system: this.system,
      quick: this.quick,
    };
  }

  /** Takes back the choices of `raw` (a snapshot read from storage), each only when of the right type. */
  restoreChoices(raw: Record<string, unknown> | null): void {
    if (raw === null) return;
    const text = (v: unknown): v is string => typeof v === "string";
    if (text(raw.model)) this.model = raw.model;
    if (text(raw.runId) || raw.runId === null) this.runId = raw.runId;
    if (text(raw.index) || raw.index === null) this.index = raw.index;
    if (text(raw.questionsFile)) this.questionsFile = raw.questionsFile;
    if (text(raw.indexName)) this.indexName = raw.indexName;
    if (text(raw.pathsText)) this.pathsText = raw.pathsText;
    if (text(raw.embedChoice) || raw.embedChoice === null) this.embedChoice = raw.embedChoice;
    if (text(raw.embedModel)) this.embedModel = raw.embedModel;
    if (typeof raw.maxTokens === "number" && Number.isInteger(raw.maxTokens) && raw.maxTokens > 0) this.maxTokens = raw.maxTokens;
    else if (raw.maxTokens === null) this.maxTokens = null;
    if (text(raw.system)) this.system = raw.system;
    if (typeof raw.quick === "boolean") this.quick = raw.quick;
  }

  /** Loads the lists the pickers offer. Each failure is a banner; the others still load. */
  async refresh(): Promise<void> {
    const results = await Promise.allSettled([
      this.backend.modelsList(),
      this.backend.runsList(),
      this.backend.ragList(),
    ]);
    const [models, runs, indexes] = results;
    if (models.status === "fulfilled") this.models = models.value;
    else this.report("Could not list your models", models.reason);
    if (runs.status === "fulfilled") this.runs = runs.value;
    else this.report("Could not list your runs", runs.reason);
    if (indexes.status === "fulfilled") this.indexes = indexes.value;
    else this.report("Could not list your document indexes", indexes.reason);
    this.lists = results.every((r) => r.status === "fulfilled") ? "ready" : "failed";
    // A choice that no longer exists is dropped; a single index is chosen for the user.
    if (this.runId !== null && this.run === null) this.runId = null;
    if (this.index !== null && !this.indexes.some((i) => i.name === this.index)) this.index = null;
    if (this.index === null && this.indexes.length === 1) this.index = this.indexes[0].name;
  }

  /**
   * Takes the model chosen on another screen (the shared selection) as the base model, when none is
   * chosen here yet and it is a model that answers in words (not a classifier's encoder).
   */
  adoptSelection(selection: { model?: string; task?: string; runId?: string }): void {
    if (this.model === "" && selection.model && selection.task !== "classify") {
      const record = this.models.find((m) => m.id === selection.model || m.path === selection.model);
      if (record?.family !== "encoder") this.model = record?.path ?? selection.model;
    }
    if (this.runId === null && selection.runId && this.runs.some((r) => r.id === selection.runId)) {
      this.chooseRun(selection.runId);
    }
  }

  /** Chooses run `id` (or none). */
  chooseRun(id: string | null): void {
    this.runId = id;
    this.prediction = null;
  }

  /** Why Ask cannot start now, or `null` when it can. */
  get askProblem(): string | null {
    if (this.asking) return "An answer is being written; wait for it or press Stop.";
    if (this.question.trim() === "") return "Type a question first.";
    if (availableColumns(this.plans).length === 0) {
      return "No column can answer yet: choose a base model or a fine-tuned run above.";
    }
    // An emptied number field binds as null or undefined: the fitted length.
    if (this.maxTokens != null && (!Number.isInteger(this.maxTokens) || this.maxTokens < 1)) {
      return "The answer length must be a whole number of tokens, at least 1.";
    }
    return null;
  }

  /** Asks the question: every available column in turn, each streaming its answer. */
  async ask(): Promise<void> {
    if (this.askProblem !== null) return;
    const prompt = this.question.trim();
    const plans = this.plans;
    this.asked = prompt;
    this.asking = true;
    this.stopRequested = false;
    const fresh = idleAnswers();
    for (const p of plans) if (p.available) fresh[p.info.id] = queued();
    this.answers = fresh;
    this.startTicker();
    try {
      for (const plan of plans) {
        if (!plan.available) continue;
        const id = plan.info.id;
        if (this.stopRequested) {
          this.answers[id] = stop(this.answers[id], this.clock());
          continue;
        }
        const job = newJobId();
        this.chatJob = job;
        this.answers[id] = started(this.clock());
        try {
          const answer = await this.backend.chat(job, { ...plan.request, prompt }, (event) => {
            this.answers[id] = applyChatEvent(this.answers[id], event, this.clock());
          });
          this.answers[id] = finish(this.answers[id], answer, this.clock());
        } catch (e) {
          this.answers[id] = this.stopRequested
            ? stop(this.answers[id], this.clock())
            : fail(this.answers[id], errorMessage(e), this.clock());
        } finally {
          this.chatJob = null;
        }
      }
    } finally {
      this.asking = false;
      this.stopTicker();
    }
  }

  /** Stops the answer being written and skips the columns still waiting. */
  async stopAsking(): Promise<void> {
    if (!this.asking) return;
    this.stopRequested = true;
    const job = this.chatJob;
    if (job !== null) await this.cancel(job);
  }

  /** Whether any column is waiting or streaming. */
  get streaming(): boolean {
    return COLUMNS.some((c) => isActive(this.answers[c.id]));
  }

  /** Why indexing cannot start now, or `null` when it can. */
  get indexProblem(): string | null {
    if (this.indexing) return "An index is being built; it runs to its end once started.";
    if (parsePaths(this.pathsText).length === 0) {
      return "Add the files or folders to index: type their paths, one per line, or use Browse.";
    }
    return indexNameProblem(this.indexName.trim());
  }

  /** Adds paths chosen in a dialog, and names the index after the first when it has no name. */
  addPaths(paths: string[]): void {
    const all = parsePaths([this.pathsText, ...paths].join("\n"));
    this.pathsText = all.join("\n");
    if (this.indexName.trim() === "") this.indexName = suggestIndexName(all);
  }

  /**
   * Builds (or brings up to date) the index, then lists the indexes again and chooses it. The app
   * cannot stop indexing halfway (no safe point yet), so there is no cancel.
   */
  async buildIndex(): Promise<void> {
    if (this.indexProblem !== null) return;
    const name = this.indexName.trim();
    const job = newJobId();
    this.indexing = true;
    this.ingestProgress = null;
    this.ingestReport = null;
    this.indexError = null;
    try {
      this.ingestReport = await this.backend.ragIndex(
        job,
        {
          name,
          paths: parsePaths(this.pathsText),
          embed_model: this.embedModelRequest,
          chunk_tokens: null,
          overlap_tokens: null,
        },
        (p) => (this.ingestProgress = p),
      );
      try {
        this.indexes = await this.backend.ragList();
      } catch (e) {
        this.report("The index was built, but the list of indexes could not be read again", e);
      }
      this.index = name;
    } catch (e) {
      // Shown in the documents panel, next to the choices and the button that caused it.
      this.indexError = bannerFor(`Could not build the index "${name}"`, e);
    } finally {
      this.indexing = false;
    }
  }

  /** The configurations a question-set comparison would answer now. */
  get compareConfigurations(): ColumnId[] {
    const run = this.run !== null && !this.classifier ? this.run : null;
    return configurationsFor(run !== null, this.index !== null);
  }

  /** Why a question-set comparison cannot start now, or `null` when it can. */
  get compareProblem(): string | null {
    if (this.comparing) return "A comparison is running; wait for it or press Cancel.";
    if (this.classifier) return "A classification run answers with labels; use the predict box.";
    if (this.questionsFile.trim() === "") {
      return "Choose a question file: a CSV with a question column and a reference-answer column.";
    }
    if (this.baseModel === null) return "Choose a base model or a fine-tuned run above.";
    return null;
  }

  /** Answers the question set with every available configuration and scores the answers. */
  async runQuestionSet(): Promise<void> {
    if (this.compareProblem !== null) return;
    const job = newJobId();
    const run = this.resolvedRun;
    this.compareJob = job;
    this.comparing = true;
    this.compareReport = null;
    this.compareProgress = initialProgress(this.compareConfigurations.length, this.clock());
    try {
      this.compareReport = await this.backend.compareQuestions(
        job,
        {
          questions: this.questionsFile.trim(),
          // Without a typed model the app uses the run's own base model.
          model: this.model.trim() !== "" ? this.model.trim() : null,
          run: run?.id ?? null,
          rag: this.index,
          // The app fits the answer length to the data's answers.
          max_tokens: null,
          max_questions: this.quick ? COMPARE_QUICK_QUESTIONS : null,
        },
        (event) => {
          if (this.compareProgress) {
            this.compareProgress = applyCompareProgress(this.compareProgress, event, this.clock());
          }
        },
      );
    } catch (e) {
      this.report("Could not compare over the question set", e);
    } finally {
      this.comparing = false;
      this.compareJob = null;
    }
  }

  /** Cancels the comparison in progress. */
  async cancelQuestionSet(): Promise<void> {
    if (this.compareJob !== null) await this.cancel(this.compareJob);
  }

  /** Why predict cannot run now, or `null` when it can. */
  get predictProblem(): string | null {
    if (this.predicting) return "Classifying…";
    if (this.run === null || !this.classifier) return "Choose a classification run above.";
    return predictTextProblem(this.predictText);
  }

  /** Classifies the text with the chosen classification run. */
  async predict(): Promise<void> {
    const run = this.run;
    if (this.predictProblem !== null || run === null) return;
    this.predicting = true;
    try {
      this.prediction = await this.backend.predict(run.id, this.predictText);
    } catch (e) {
      this.report(`Could not classify with run "${run.name}"`, e);
    } finally {
      this.predicting = false;
    }
  }

  /** Removes a banner. */
  dismiss(id: number): void {
    this.banners = dismiss(this.banners, id);
  }

  /** Adds a banner for `error`. */
  report(title: string, error: unknown): void {
    this.banners = [...this.banners, bannerFor(title, error)];
  }

  private async cancel(job: string): Promise<void> {
    try {
      await this.backend.jobCancel(job);
    } catch (e) {
      this.report("Could not stop the job", e);
    }
  }

  private startTicker(): void {
    this.now = this.clock();
    this.ticker ??= setInterval(() => (this.now = this.clock()), 100);
  }

  private stopTicker(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    this.now = this.clock();
  }
}

function idleAnswers(): Record<ColumnId, ColumnAnswer> {
  return { base: IDLE, fine_tuned: IDLE, base_rag: IDLE, fine_tuned_rag: IDLE };
}

/** The one session the app's screen uses, alive for the whole app. */
export const compareSession = new CompareSession();
// The choices survive a restart (even one the system forced): read back now, stored on change.
compareSession.restoreChoices(load(browserStorage(), KEYS.compare, asObject));
$effect.root(() => {
  $effect(() => save(browserStorage(), KEYS.compare, compareSession.choicesSnapshot()));
});
