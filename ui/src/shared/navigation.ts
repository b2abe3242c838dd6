// The app's screens and how the current one is chosen. Pure functions, so the navigation rules
// are unit-tested without a DOM; `App.svelte` holds the current screen as state.

/** Every screen of the app, in the order the navigation lists them. */
export const SCREENS = [
  { id: "home", label: "Home", description: "What Tunesmith does and the device it uses" },
  { id: "models", label: "Models", description: "Find, download or import a language model" },
  { id: "data", label: "Data", description: "Load a spreadsheet of examples and check it" },
  { id: "train", label: "Train", description: "Pick a method and fine-tune" },
  { id: "evaluate", label: "Evaluate", description: "Base model against fine-tuned on held-out data" },
  { id: "compare", label: "Chat & Compare", description: "One question, answered side by side" },
  { id: "history", label: "History", description: "Every run with its settings and results" },
] as const;

/** A screen's identifier, e.g. `"models"`. */
export type ScreenId = (typeof SCREENS)[number]["id"];

/** One entry of {@link SCREENS}. */
export type Screen = (typeof SCREENS)[number];

/** The screen shown when nothing else is asked for. */
export const DEFAULT_SCREEN: ScreenId = "home";

/** Whether `value` names a screen. */
export function isScreenId(value: string): value is ScreenId {
  return SCREENS.some((s) => s.id === value);
}

/** The screen with identifier `id`. */
export function screenById(id: ScreenId): Screen {
  // `id` is a ScreenId, so the screen exists; the fallback only satisfies the type checker.
  return SCREENS.find((s) => s.id === id) ?? SCREENS[0];
}

/** The screen a location hash (`#/models`) names, or the default one for anything else. */
export function screenFromHash(hash: string): ScreenId {
  const id = hash.replace(/^#\/?/, "").split(/[/?]/)[0] ?? "";
  return isScreenId(id) ? id : DEFAULT_SCREEN;
}

/** The location hash for a screen, so each screen has an address the window can restore. */
export function hashFor(id: ScreenId): string {
  return `#/${id}`;
}

/**
 * The screen `delta` places away from `id` in the navigation, wrapping around: the arrow keys
 * move through the navigation list with it, Home and End jump to the ends.
 */
export function neighbour(id: ScreenId, delta: number): ScreenId {
  const index = SCREENS.findIndex((s) => s.id === id);
  const n = SCREENS.length;
  return SCREENS[(((index + delta) % n) + n) % n].id;
}

/** The navigation's answer to a key press on the item for `current`, or `null` to ignore it. */
export function screenForKey(current: ScreenId, key: string): ScreenId | null {
  switch (key) {
    case "ArrowDown":
      return neighbour(current, 1);
    case "ArrowUp":
      return neighbour(current, -1);
    case "Home":
      return SCREENS[0].id;
    case "End":
      return SCREENS[SCREENS.length - 1].id;
    default:
      return null;
  }
}
