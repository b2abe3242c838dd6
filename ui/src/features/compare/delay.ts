// A flag that turns on only after a wait has lasted `ms` (200 ms for the activity indicator), so
// quick answers do not flash a spinner, and turns off at once when the wait ends.

/** Timer functions, injectable so tests control time. */
export type Timers = {
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
};

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The delay the app waits before showing that it is busy. */
export const BUSY_DELAY_MS = 200;

/** Calls `onChange(true)` once `active` has stayed true for `ms`, `onChange(false)` when it ends. */
export class DelayedFlag {
  private handle: unknown = null;
  private shown = false;

  constructor(
    private readonly onChange: (shown: boolean) => void,
    private readonly ms = BUSY_DELAY_MS,
    private readonly timers: Timers = defaultTimers,
  ) {}

  /** Says whether the wait is on. */
  set(active: boolean): void {
    if (active) {
      if (this.handle !== null || this.shown) return;
      this.handle = this.timers.setTimeout(() => {
        this.handle = null;
        this.shown = true;
        this.onChange(true);
      }, this.ms);
      return;
    }
    this.dispose();
    if (this.shown) {
      this.shown = false;
      this.onChange(false);
    }
  }

  /** Stops a pending timer (on unmount). */
  dispose(): void {
    if (this.handle !== null) {
      this.timers.clearTimeout(this.handle);
      this.handle = null;
    }
  }
}
