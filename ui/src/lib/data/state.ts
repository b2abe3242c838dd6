// The Data screen's state, kept outside the screen so the file, the choices and the report are
// still there when the user comes back from another screen.

import { writable } from "svelte/store";
import { asObject, browserStorage, KEYS, load, save } from "../persist";
import { freshChoices, type DataChoices } from "./choices";
import type { DataInspection } from "./types";

/** The file being worked on, what was chosen for it, and its latest inspection. */
export type DataState = {
  choices: DataChoices | null;
  inspection: DataInspection | null;
};

/**
 * Choices read back from storage, on top of fresh ones for the same file (a field of the wrong
 * type keeps its fresh value).
 */
export function acceptChoices(raw: unknown): DataChoices | null {
  const o = asObject(raw);
  if (o === null || typeof o.file !== "string" || o.file === "") return null;
  const out = freshChoices(o.file);
  if (o.task === "classify" || o.task === "generate") out.task = o.task;
  for (const key of ["text_column", "label_column", "prompt_column", "response_column"] as const) {
    if (typeof o[key] === "string") out[key] = o[key] as string;
  }
  if (typeof o.max_len === "number" && Number.isFinite(o.max_len)) out.max_len = o.max_len;
  const fixes = asObject(o.fixes);
  if (fixes !== null) {
    for (const flag of Object.keys(out.fixes) as (keyof DataChoices["fixes"])[]) {
      if (typeof fixes[flag] === "boolean") out.fixes[flag] = fixes[flag] as boolean;
    }
  }
  return out;
}

/**
 * The one Data screen state of this window. The choices (file, task, columns, fixes) are kept
 * across restarts; the inspection is read again from the file when the screen opens.
 */
export const dataState = writable<DataState>({ choices: load(browserStorage(), KEYS.dataChoices, acceptChoices), inspection: null });
dataState.subscribe((s) => save(browserStorage(), KEYS.dataChoices, s.choices));
