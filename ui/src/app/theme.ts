// Light and dark themes: follow the operating system unless the person picked one, and remember
// the choice. Pure functions over the storage, the media query and the root element, so each rule
// is unit-tested; `ThemePicker.svelte` wires them to the page.

/** What the person chose. `system` follows the operating system's setting. */
export type ThemePreference = "system" | "light" | "dark";

/** The theme actually shown. */
export type Theme = "light" | "dark";

/** The choices, in the order the picker offers them. */
export const THEME_PREFERENCES: readonly { value: ThemePreference; label: string }[] = [
  { value: "system", label: "System" },
  { value: "light", label: "Light" },
  { value: "dark", label: "Dark" },
];

/** The storage key of the preference. */
export const THEME_STORAGE_KEY = "tunesmith.theme";

/** The media query that tells whether the operating system is in dark mode. */
export const DARK_QUERY = "(prefers-color-scheme: dark)";

/** The theme to show for a preference, given whether the OS prefers dark. */
export function resolveTheme(preference: ThemePreference, systemPrefersDark: boolean): Theme {
  if (preference === "system") return systemPrefersDark ? "dark" : "light";
  return preference;
}

/** The saved preference; anything missing, unreadable or unknown means `system`. */
export function loadPreference(storage: Pick<Storage, "getItem"> | undefined): ThemePreference {
  let saved: string | null = null;
  try {
    saved = storage?.getItem(THEME_STORAGE_KEY) ?? null;
  } catch {
    // Storage can be disabled; the OS setting is a fine answer then.
  }
  return saved === "light" || saved === "dark" ? saved : "system";
}

/** Remembers the preference; `system` removes the entry so a later OS change wins again. */
export function savePreference(
  storage: Pick<Storage, "setItem" | "removeItem"> | undefined,
  preference: ThemePreference,
): void {
  try {
    if (preference === "system") storage?.removeItem(THEME_STORAGE_KEY);
    else storage?.setItem(THEME_STORAGE_KEY, preference);
  } catch {
    // Not remembering the theme is harmless: it still applies to this session.
  }
}

/** Shows `theme` on the page: the stylesheet keys off `data-theme`, form controls off `color-scheme`. */
export function applyTheme(root: HTMLElement, theme: Theme): void {
  root.dataset.theme = theme;
  root.style.colorScheme = theme;
}

/** Calls `onChange` whenever the OS switches between light and dark; returns the unsubscribe. */
export function watchSystemTheme(
  media: Pick<MediaQueryList, "addEventListener" | "removeEventListener">,
  onChange: (prefersDark: boolean) => void,
): () => void {
  const listener = (event: MediaQueryListEvent) => onChange(event.matches);
  media.addEventListener("change", listener);
  return () => media.removeEventListener("change", listener);
}
