// The current selection shared between screens: the model and the data file the user picked, the
// task and the columns. The Models and Data screens write it; the Train screen reads it to
// prefill its form (and writes back what the user typed there), so a choice made on one screen is
// waiting on the next and survives navigating away.
//
// Column names use the spelling of the training request (`text_column`, ...) so they pass through
// unchanged.

import { untrack } from "svelte";
import type { Fixes } from "../bindings";
import { asObject, KEYS } from "./persist";
import { Persisted } from "./persisted.svelte";

/** What the user is working with. Every field is optional: a screen fills in what it knows. */
export interface Selection {
  /** A local model folder, a `.gguf` file, or a hub id already downloaded. */
  model?: string;
  /** The dataset file (CSV, TSV, JSONL). */
  data?: string;
  /** `classify` (texts with labels) or `generate` (prompts with responses). */
  task?: "classify" | "generate";
  /** The text column (classification). */
  text_column?: string;
  /** The label column (classification). */
  label_column?: string;
  /** The prompt column (generation). */
  prompt_column?: string;
  /** The response column (generation). */
  response_column?: string;
  /** The dataset's columns, when a screen has read the file (for the column pickers). */
  columns?: string[];
  /** Rows training would use, when a screen has inspected the file (drives method advice). */
  rows?: number;
  /** The data doctor's fixes chosen for the file `fixesFor` (training applies them to that file only). */
  fixes?: Fixes;
  /** The file `fixes` were chosen for: another file in `data` trains without them. */
  fixesFor?: string;
  /** Rows per label in the usable data (classification), when the Data screen read it. */
  labelCounts?: Record<string, number>;
  /** The run the user last trained or opened (the Chat & Compare screen preselects it). */
  runId?: string;
}

/**
 * A selection read back from storage: each field kept only when it has the right type (a value
 * from an older version of the app, or edited by hand, is dropped rather than trusted).
 */
export function acceptSelection(raw: unknown): Selection | null {
  const o = asObject(raw);
  if (o === null) return null;
  const out: Selection = {};
  for (const key of ["model", "data", "text_column", "label_column", "prompt_column", "response_column", "fixesFor", "runId"] as const) {
    if (typeof o[key] === "string") out[key] = o[key] as string;
  }
  if (o.task === "classify" || o.task === "generate") out.task = o.task;
  if (Array.isArray(o.columns) && o.columns.every((c) => typeof c === "string")) out.columns = o.columns as string[];
  if (typeof o.rows === "number" && Number.isFinite(o.rows)) out.rows = o.rows;
  const fixes = asObject(o.fixes);
  if (fixes !== null && Object.values(fixes).every((v) => typeof v === "boolean")) out.fixes = fixes as unknown as Fixes;
  const counts = asObject(o.labelCounts);
  if (counts !== null && Object.values(counts).every((v) => typeof v === "number")) out.labelCounts = counts as Record<string, number>;
  return out;
}

/**
 * The one shared selection: components read `selection.current` (reactive). Kept across restarts:
 * after a crash the app reopens with the same model, file and columns.
 */
export const selection = new Persisted<Selection>(KEYS.selection, {}, acceptSelection);

/**
 * Changes some fields of the selection and keeps the others. A field given as `undefined` is
 * cleared (so choosing a new data file can forget the old file's columns).
 */
export function updateSelection(patch: Partial<Selection>): void {
  selection.update((current) => {
    const next: Selection = { ...current, ...patch };
    for (const key of Object.keys(next) as (keyof Selection)[]) {
      if (next[key] === undefined) delete next[key];
    }
    return next;
  });
}

/** The doctor's fixes chosen for `file`, or `undefined` when the fixes in the selection belong to another file. */
export function fixesForFile(s: Selection, file: string): Fixes | undefined {
  return s.fixes !== undefined && s.fixesFor !== undefined && s.fixesFor === file.trim() ? s.fixes : undefined;
}

/**
 * The selection as it is now, for code outside components: read without subscribing, so an effect
 * that calls it (or a function that writes the selection) does not run again on its every change.
 */
export function currentSelection(): Selection {
  return untrack(() => selection.current);
}
