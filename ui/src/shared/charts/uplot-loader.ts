// Loads the charting library (uPlot) on first use, safely.
//
// uPlot builds `new Intl.NumberFormat(navigator.language)` when its module is evaluated. Under a
// C/POSIX locale (LANG=C.UTF-8, as on CI machines and the E2E display) WebKitGTK reports the
// language "C", which is not a valid language tag: the constructor throws a RangeError, and a
// static import would take the whole UI down with it. So the module is imported lazily, with a
// valid language shown to it for the duration of its evaluation only.

import type uPlot from "uplot";

let loading: Promise<typeof uPlot> | null = null;

/** Whether `tag` is a language tag `Intl` accepts. */
export function isValidLanguage(tag: string | undefined): boolean {
  if (!tag) return false;
  try {
    new Intl.NumberFormat(tag);
    return true;
  } catch {
    return false;
  }
}

/** uPlot's constructor, imported once. */
export function loadUPlot(): Promise<typeof uPlot> {
  loading ??= (async () => {
    const patch = !isValidLanguage(navigator.language);
    if (patch) Object.defineProperty(navigator, "language", { value: "en-US", configurable: true });
    try {
      return (await import("uplot")).default;
    } finally {
      // The own property shadows Navigator.prototype's getter; removing it restores the original.
      if (patch) delete (navigator as { language?: string }).language;
    }
  })();
  return loading;
}
