// The Data screen's state, kept outside the screen so the file, the choices and the report are
// still there when the user comes back from another screen.

import { asObject, browserStorage, KEYS, load, save } from "../../shared/persist";
import { freshChoices, type DataChoices } from "./choices";
import type { DataInspection } from "./types";


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
 * The file being worked on, what was chosen for it, and its latest inspection. The choices (file,
 * task, columns, fixes) are kept across restarts: each new value is saved as it is set. The
 * inspection is read again from the file when the screen opens. Both are held as given (not
 * deeply proxied), so a newer choice can be told from an older one by identity.
 */
export class DataState {
  #choices = $state.raw<DataChoices | null>(load(browserStorage(), KEYS.dataChoices, acceptChoices));
  inspection = $state.raw<DataInspection | null>(null);

  get choices(): DataChoices | null {
    return this.#choices;
  }

  set choices(next: DataChoices | null) {
    this.#choices = next;
    save(browserStorage(), KEYS.dataChoices, next);
  }
}

/** The one Data screen state of this window. */
export const dataState = new DataState();
