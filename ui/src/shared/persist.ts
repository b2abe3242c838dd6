// The user's choices kept across a restart of the app, even one the user did not ask for (the
// system ended it for memory): the model and file chosen, the Data screen's choices, the Train
// form, the Chat & Compare choices. Kept in the window's local storage, as JSON, one key each;
// what cannot be read back (an older shape, a hand edit) is dropped, never trusted. A value kept
// this way and read by the screens is a `Persisted` (persisted.svelte.ts).

/** The part of `Storage` used here (tests pass a map). */
export type KeyValueStore = Pick<Storage, "getItem" | "setItem" | "removeItem">;

/** The window's local storage, or `null` where there is none (or it refuses access). */
export function browserStorage(): KeyValueStore | null {
  try {
    return typeof window !== "undefined" && window.localStorage ? window.localStorage : null;
  } catch {
    return null;
  }
}

/** The value stored under `key`, if it is there and `accept` takes it. */
export function load<T>(storage: KeyValueStore | null, key: string, accept: (raw: unknown) => T | null): T | null {
  if (storage === null) return null;
  try {
    const text = storage.getItem(key);
    return text === null ? null : accept(JSON.parse(text));
  } catch {
    return null;
  }
}

/** Stores `value` under `key`; a full or refused storage only loses the keeping, not the choice. */
export function save(storage: KeyValueStore | null, key: string, value: unknown): void {
  if (storage === null) return;
  try {
    storage.setItem(key, JSON.stringify(value));
  } catch {
    // Nothing to do: the choice stays in memory for this session.
  }
}

/** `raw` when it is a plain object (not an array, not null), for the `accept` functions. */
export function asObject(raw: unknown): Record<string, unknown> | null {
  return raw !== null && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>) : null;
}

/** The storage keys, in one place. */
export const KEYS = {
  selection: "tunesmith.selection.v1",
  dataChoices: "tunesmith.data-choices.v1",
  trainForm: "tunesmith.train-form.v1",
  compare: "tunesmith.compare-choices.v1",
} as const;
