// The user's choices on the Data screen (file, task, which column plays which role, fixes,
// maximum length) and how they become a `data_inspect` request and, once the data is good, the
// shared selection the Train screen reads. Pure functions; the screen holds the state.

import type { Selection } from "../../shared/selection.svelte";
import { NO_FIXES, type FixOptions } from "./findings";
import type { DataInspectRequest, Fixes, InspectReport, Role, Task } from "./types";

/** The column-role choices the inspection accepts. */
export type RoleKey = "text_column" | "label_column" | "prompt_column" | "response_column";

/** What the user chose; `null` columns are left to the doctor's guess. */
export type DataChoices = {
  file: string;
  /** The task, when the user chose it (else the doctor decides from the columns). */
  task: Task | null;
  text_column: string | null;
  label_column: string | null;
  prompt_column: string | null;
  response_column: string | null;
  fixes: Fixes;
  max_len: number | null;
};

/** Fresh choices for a newly picked file: every role guessed, no fix. */
export function freshChoices(file: string): DataChoices {
  return {
    file,
    task: null,
    text_column: null,
    label_column: null,
    prompt_column: null,
    response_column: null,
    fixes: { ...NO_FIXES },
    max_len: null,
  };
}

/** The role choices a task needs, in the order they are asked, with their plain-words question. */
export function roleSlots(task: Task): { key: RoleKey; role: Role; label: string; help: string }[] {
  return task === "classify"
    ? [
        { key: "text_column", role: "text", label: "Text to learn from", help: "The column with the texts the model reads." },
        { key: "label_column", role: "label", label: "Label (the right answer)", help: "The column with the class of each text." },
      ]
    : [
        { key: "prompt_column", role: "prompt", label: "Prompt (the question)", help: "The column with what the model is asked." },
        { key: "response_column", role: "response", label: "Response (the answer to learn)", help: "The column with the answer it should give." },
      ];
}

/** A role in plain words, for the column list. */
export function roleLabel(role: Role): string {
  const labels: Record<Role, string> = {
    text: "Text",
    label: "Label",
    prompt: "Prompt",
    input: "Extra input",
    system: "System prompt",
    response: "Response",
    messages: "Chat messages",
    id: "Row id (not trained on)",
    ignore: "Not used",
  };
  return labels[role];
}

/** The column the report gives `role` (the first one, when several share it). */
export function columnWithRole(report: InspectReport, role: Role): string | null {
  return report.columns.find((c) => c.role === role)?.name ?? null;
}

/** The request for `choices`, counting tokens with `model`'s tokenizer when one is chosen. */
export function inspectRequest(choices: DataChoices, model: string | undefined): DataInspectRequest {
  return {
    file: choices.file,
    model: model ?? null,
    task: choices.task,
    text_column: choices.text_column,
    label_column: choices.label_column,
    prompt_column: choices.prompt_column,
    response_column: choices.response_column,
    max_len: choices.max_len,
    val_fraction: null,
    test_fraction: null,
    seed: null,
    fixes: choices.fixes,
  };
}

/** The choices with one role given to `column`, as the user picked it in a dropdown. */
export function chooseColumn(choices: DataChoices, key: RoleKey, column: string): DataChoices {
  return { ...choices, [key]: column };
}

/** The choices for another task: the role columns of the old task no longer apply. */
export function chooseTask(choices: DataChoices, task: Task): DataChoices {
  return { ...choices, task, text_column: null, label_column: null, prompt_column: null, response_column: null };
}

/** The choices with a fix applied (or taken back). */
export function withFix(choices: DataChoices, apply: (o: FixOptions) => FixOptions): DataChoices {
  const next = apply({ fixes: choices.fixes, max_len: choices.max_len });
  return { ...choices, fixes: next.fixes, max_len: next.max_len };
}

/** What "Use this dataset" puts in the shared selection. */
export function selectionFor(
  report: InspectReport,
  file: string,
  columns: string[],
  fixes?: Fixes,
): Partial<Selection> {
  const classify = report.task === "classify";
  return {
    data: file,
    task: report.task,
    text_column: classify ? (columnWithRole(report, "text") ?? undefined) : undefined,
    label_column: classify ? (columnWithRole(report, "label") ?? undefined) : undefined,
    prompt_column: classify ? undefined : (columnWithRole(report, "prompt") ?? undefined),
    response_column: classify ? undefined : (columnWithRole(report, "response") ?? undefined),
    columns,
    rows: report.usable_rows,
    fixes,
    fixesFor: fixes ? file : undefined,
    labelCounts: classify && Object.keys(report.label_counts).length > 0 ? { ...report.label_counts } : undefined,
  };
}

/** File names the data doctor reads (by extension; it also sniffs the content). */
const DATA_EXTENSIONS = ["csv", "tsv", "tab", "txt", "jsonl", "ndjson", "json"];

/** The dialog filter for datasets. */
export const DATA_FILTERS = [{ name: "Datasets (CSV, TSV, JSONL)", extensions: DATA_EXTENSIONS }];

/** Whether `path` looks like a dataset file, by its extension. */
export function isDatasetPath(path: string): boolean {
  const ext = path.split(/[\\/]/).pop()?.split(".").pop()?.toLowerCase() ?? "";
  return path.includes(".") && DATA_EXTENSIONS.includes(ext);
}
