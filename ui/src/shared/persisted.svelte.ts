// A value the screens read (reactive, as `$state`) that is kept in storage across restarts: it
// starts from what its key holds and every new value is stored as it is set.

import { untrack } from "svelte";
import { browserStorage, load, save, type KeyValueStore } from "./persist";

/**
 * One kept value. It starts from what `key` holds (when `accept` takes it, else `initial`) and
 * stores every value it is given. The value is held as given (not deeply proxied): it is replaced
 * whole, never changed in place, so a change is always a new value and always stored.
 */
export class Persisted<T> {
  #current = $state.raw<T>() as T;

  constructor(
    private readonly key: string,
    initial: T,
    accept: (raw: unknown) => T | null,
    private readonly storage: KeyValueStore | null = browserStorage(),
  ) {
    this.#current = load(storage, key, accept) ?? initial;
    // Stored at once too, so what is kept is always a shape this version reads.
    save(storage, key, this.#current);
  }

  /** The value now. */
  get current(): T {
    return this.#current;
  }

  set current(next: T) {
    this.#current = next;
    save(this.storage, this.key, next);
  }

  /**
   * Replaces the value by `f` of the value now, read untracked: an effect that changes the value
   * this way does not also start following it.
   */
  update(f: (value: T) => T): void {
    this.current = f(untrack(() => this.#current));
  }
}
