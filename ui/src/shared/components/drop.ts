// Files dropped on the window. In the app, the webview hands dropped files to Tauri, which reports
// their paths as drag-and-drop events (an HTML drop event carries no path); in a plain browser
// nothing is reported and the screens fall back to the path field and the Browse button.

import { isTauri } from "@tauri-apps/api/core";

/** What a screen does while files are dragged over the window and when they are dropped. */
export type DropHandlers = {
  /** Files are over the window (highlight the drop zone). */
  over: () => void;
  /** They left, or the drag was cancelled. */
  leave: () => void;
  /** They were dropped: their absolute paths. */
  drop: (paths: string[]) => void;
};

/**
 * Listens for dropped files while a screen is shown. Resolves to a function that stops listening,
 * or to `null` when drops cannot be received here (a browser, or the window may not listen).
 */
export async function listenForDrops(handlers: DropHandlers): Promise<(() => void) | null> {
  if (!isTauri()) return null;
  try {
    const { getCurrentWebview } = await import("@tauri-apps/api/webview");
    const unlisten = await getCurrentWebview().onDragDropEvent((event) => {
      const p = event.payload;
      if (p.type === "enter" || p.type === "over") handlers.over();
      else if (p.type === "leave") handlers.leave();
      else if (p.type === "drop") {
        handlers.leave();
        if (p.paths.length > 0) handlers.drop(p.paths);
      }
    });
    return () => void unlisten();
  } catch {
    // The window's capabilities do not allow listening for events: drops are simply not offered.
    return null;
  }
}

/** The first dropped path `accept` takes, or `null` (with the first path, for the message). */
export function pickDropped(paths: string[], accept: (path: string) => boolean): { path: string | null; first: string | null } {
  return { path: paths.find(accept) ?? null, first: paths[0] ?? null };
}
