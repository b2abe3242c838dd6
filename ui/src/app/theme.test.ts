import { describe, expect, it, vi } from "vitest";
import {
  applyTheme,
  loadPreference,
  resolveTheme,
  savePreference,
  THEME_STORAGE_KEY,
  watchSystemTheme,
} from "./theme";

function memoryStorage(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial));
  return {
    data,
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
    removeItem: (k: string) => void data.delete(k),
  };
}

describe("theme", () => {
  it("follows the operating system when the preference is system", () => {
    expect(resolveTheme("system", true)).toBe("dark");
    expect(resolveTheme("system", false)).toBe("light");
  });

  it("lets an explicit choice win over the operating system", () => {
    expect(resolveTheme("light", true)).toBe("light");
    expect(resolveTheme("dark", false)).toBe("dark");
  });

  it("loads a saved choice and treats anything else as system", () => {
    expect(loadPreference(memoryStorage({ [THEME_STORAGE_KEY]: "dark" }))).toBe("dark");
    expect(loadPreference(memoryStorage({ [THEME_STORAGE_KEY]: "purple" }))).toBe("system");
    expect(loadPreference(memoryStorage())).toBe("system");
    expect(loadPreference(undefined)).toBe("system");
  });

  it("survives storage that throws", () => {
    const broken = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("denied");
      },
      removeItem: () => {
        throw new Error("denied");
      },
    };
    expect(loadPreference(broken)).toBe("system");
    expect(() => savePreference(broken, "dark")).not.toThrow();
  });

  it("saves an explicit choice and forgets it when going back to system", () => {
    const storage = memoryStorage();
    savePreference(storage, "light");
    expect(storage.data.get(THEME_STORAGE_KEY)).toBe("light");
    savePreference(storage, "system");
    expect(storage.data.has(THEME_STORAGE_KEY)).toBe(false);
  });

  it("marks the root element with the theme and its colour scheme", () => {
    const root = document.createElement("html");
    applyTheme(root, "dark");
    expect(root.dataset.theme).toBe("dark");
    expect(root.style.colorScheme).toBe("dark");
    applyTheme(root, "light");
    expect(root.dataset.theme).toBe("light");
  });

  it("reports operating-system theme changes until unsubscribed", () => {
    const listeners = new Set<(e: MediaQueryListEvent) => void>();
    const media = {
      addEventListener: (_: string, l: (e: MediaQueryListEvent) => void) => void listeners.add(l),
      removeEventListener: (_: string, l: (e: MediaQueryListEvent) => void) =>
        void listeners.delete(l),
    } as unknown as MediaQueryList;
    const onChange = vi.fn();

    const stop = watchSystemTheme(media, onChange);
    for (const l of listeners) l({ matches: true } as MediaQueryListEvent);
    expect(onChange).toHaveBeenCalledWith(true);

    stop();
    expect(listeners.size).toBe(0);
  });
});
