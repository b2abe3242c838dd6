// Errors as the screen shows them: dismissible banners saying what failed and what to do. The
// app's messages already name the problem and the fix; this adds the context (what the user was
// doing) and, for the few errors whose message cannot know it, the action.

import { ApiError, errorMessage } from "../../shared/api";

/** A banner: what was being done, the app's message, and the action to take. */
export type Banner = { id: number; title: string; message: string; action: string | null };

let nextId = 1;

/** The action to suggest for an error the app's message cannot explain by itself. */
export function actionFor(error: unknown): string | null {
  if (error instanceof ApiError) {
    if (error.code === "ipc") {
      return /not found|unknown command|not allowed|denied/i.test(error.message)
        ? "This version of the app cannot do this yet; update Tunesmith, or use the tunesmith command line."
        : "Try again; if it keeps failing, restart Tunesmith.";
    }
    return null;
  }
  return "Try again; if it keeps failing, restart Tunesmith.";
}

/** A banner for `error` thrown while doing `title` ("Could not build the index"). */
export function bannerFor(title: string, error: unknown): Banner {
  return { id: nextId++, title, message: errorMessage(error), action: actionFor(error) };
}

/** `banners` without the one with `id`. */
export function dismiss(banners: Banner[], id: number): Banner[] {
  return banners.filter((b) => b.id !== id);
}
