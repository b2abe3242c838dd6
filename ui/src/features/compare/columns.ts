// Which of the four answer columns can run with the user's current choices, why not when one
// cannot, and the chat request each one sends. Pure, so the rules are unit-tested without a DOM.

import type { ChatRequest, ColumnId, RunSummary } from "./types";

/** A column's identity and how people call it. */
export type ColumnInfo = {
  id: ColumnId;
  /** The column's heading. */
  title: string;
  /** The short name the comparison report uses (`base + documents`). */
  short: string;
  /** One plain sentence: what this column shows. */
  explain: string;
  fineTuned: boolean;
  rag: boolean;
};

/** The four columns, left to right. */
export const COLUMNS: readonly ColumnInfo[] = [
  {
    id: "base",
    title: "Base model",
    short: "base",
    explain: "The model as downloaded, before your training.",
    fineTuned: false,
    rag: false,
  },
  {
    id: "fine_tuned",
    title: "Fine-tuned",
    short: "fine-tuned",
    explain: "The model after training on your examples.",
    fineTuned: true,
    rag: false,
  },
  {
    id: "base_rag",
    title: "Base + documents",
    short: "base + documents",
    explain: "The base model reading passages found in your documents.",
    fineTuned: false,
    rag: true,
  },
  {
    id: "fine_tuned_rag",
    title: "Fine-tuned + documents",
    short: "fine-tuned + documents",
    explain: "Your fine-tuned model reading passages found in your documents.",
    fineTuned: true,
    rag: true,
  },
];

/** The column with identifier `id`. */
export function columnInfo(id: ColumnId): ColumnInfo {
  return COLUMNS.find((c) => c.id === id) ?? COLUMNS[0];
}

/** What the user has chosen on the screen. */
export type Choices = {
  /** The base model as typed or picked: a folder, a `.gguf` file or a hub id; "" for none. */
  model: string;
  /** The fine-tuned run, if any. */
  run: RunSummary | null;
  /** The document index's name, if any. */
  index: string | null;
};

/** A column ready to run (with its request, less the question) or disabled with the reason. */
export type ColumnPlan =
  | { info: ColumnInfo; available: true; request: Omit<ChatRequest, "prompt"> }
  | { info: ColumnInfo; available: false; reason: string };

/** Whether a run trained a classifier (answers with labels, through predict, never chat). */
export function isClassifier(run: RunSummary | null): boolean {
  return run?.task === "classify";
}

/** The base model the base columns use: the one chosen, else the model the run was trained on. */
export function baseModelFor(choices: Choices): string | null {
  const typed = choices.model.trim();
  if (typed !== "") return typed;
  if (choices.run && !isClassifier(choices.run) && choices.run.model.trim() !== "") {
    return choices.run.model;
  }
  return null;
}

/** Why a run cannot answer yet, or `null` when it can. */
function runProblem(run: RunSummary | null): string | null {
  if (run === null) return "Choose a fine-tuned run above to see what training changed.";
  if (isClassifier(run)) {
    return `Run "${run.name}" is a classifier: it answers with labels, so try it in the predict box instead.`;
  }
  if (run.status === "queued") {
    return `Run "${run.name}" has not started training, so it has no fine-tuned weights yet.`;
  }
  if (run.status === "failed") {
    return `Run "${run.name}" failed before saving fine-tuned weights it can answer with; pick another run.`;
  }
  return null;
}

/** Settings shared by every column's chat request. */
export type AnswerSettings = { maxTokens: number | null; system: string | null };

/** The plan for each column, in {@link COLUMNS} order. */
export function planColumns(choices: Choices, settings: AnswerSettings): ColumnPlan[] {
  const base = baseModelFor(choices);
  const typedModel = choices.model.trim() === "" ? null : choices.model.trim();
  const noRun = runProblem(choices.run);
  const common = {
    system: settings.system && settings.system.trim() !== "" ? settings.system : null,
    max_tokens: settings.maxTokens,
    temperature: null,
    seed: null,
  };
  return COLUMNS.map((info): ColumnPlan => {
    const reasons: string[] = [];
    if (info.fineTuned) {
      if (noRun) reasons.push(noRun);
    } else if (base === null) {
      reasons.push("Choose a base model above: pick one from the list or type the folder of a model.");
    }
    if (info.rag && choices.index === null) {
      reasons.push("Choose a document index, or build one in Documents below.");
    }
    if (reasons.length > 0) return { info, available: false, reason: reasons.join(" ") };
    return {
      info,
      available: true,
      request: {
        ...common,
        // The fine-tuned columns apply the run's adapter on the chosen base, or on the run's own.
        model: info.fineTuned ? typedModel : base,
        run: info.fineTuned ? (choices.run?.id ?? null) : null,
        rag: info.rag ? choices.index : null,
        // With no length named, every column's answers are fitted to the same training answers:
        // the run's, when one is chosen, the base columns' too.
        fit_to: !info.fineTuned && settings.maxTokens === null && choices.run && !isClassifier(choices.run) ? choices.run.id : null,
      },
    };
  });
}

/** The columns that can run now. */
export function availableColumns(plans: ColumnPlan[]): ColumnId[] {
  return plans.filter((p) => p.available).map((p) => p.info.id);
}
