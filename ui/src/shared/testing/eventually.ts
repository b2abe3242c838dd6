// For component tests: waits until an assertion about the rendered page holds (IPC answers and
// Svelte updates arrive asynchronously), checking every 10 ms; after `tries` failed checks the
// last check's failure is the test's.

/** Runs `check` until it stops throwing, at most `tries` times 10 ms apart, then once more. */
export async function eventually(check: () => void, tries = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    try {
      check();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  check();
}
