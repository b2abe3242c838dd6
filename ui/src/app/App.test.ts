// The frame as a whole, in happy-dom with the IPC mocked: navigation, status bar, empty states.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import App from "./App.svelte";
import type { DoctorReport } from "../shared/api";
import { SCREENS } from "../shared/navigation";
import { eventually } from "../shared/testing/eventually";

const report: DoctorReport = {
  device: {
    selected: "cpu",
    cpu_threads: 8,
    cuda_compiled: false,
    cuda_available: false,
    metal_compiled: false,
    metal_available: false,
  },
  home: "/home/ada/.local/share/tunesmith",
  versions: { tunesmith: "0.1.0", sqlite: "3.50.0" },
};

let app: ReturnType<typeof mount> | undefined;

function text(selector: string): string {
  return document.querySelector(selector)?.textContent?.replace(/\s+/g, " ").trim() ?? "";
}

beforeEach(() => {
  window.location.hash = "";
  document.body.innerHTML = "";
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  clearMocks();
});

describe("App", () => {
  it("shows the device and version from doctor in the status bar", async () => {
    mockIPC(() => report);
    app = mount(App, { target: document.body });
    await eventually(() => expect(text("[data-status=device]")).toBe("Device: CPU · 8 threads"));
    expect(text("[data-status=version]")).toBe("Tunesmith 0.1.0");
    expect(text("[data-fact=home]")).toBe(report.home);
  });

  it("says why when doctor fails, instead of showing a device", async () => {
    mockIPC(() => {
      throw { code: "home", message: "the Tunesmith folder /x cannot be used" };
    });
    app = mount(App, { target: document.body });
    await eventually(() =>
      expect(text("[data-status=device]")).toContain("the Tunesmith folder /x cannot be used"),
    );
  });

  it("opens each screen from the navigation and marks it current", async () => {
    mockIPC(() => report);
    app = mount(App, { target: document.body });
    for (const screen of SCREENS) {
      document.querySelector<HTMLButtonElement>(`[data-nav="${screen.id}"]`)?.click();
      flushSync();
      expect(text("main h1")).toBe(screen.label);
      expect(document.querySelector("[aria-current=page]")?.getAttribute("data-nav")).toBe(screen.id);
      expect(window.location.hash).toBe(`#/${screen.id}`);
    }
  });

  it("shows an empty state, not sample data, on every screen of a fresh home", async () => {
    // A fresh home: no model, no run, no index. Screens load their lists asynchronously, so each
    // empty state is waited for.
    mockIPC((cmd) => {
      if (cmd === "doctor") return report;
      if (cmd === "models_list") return { cache_dir: "/cache", offline: false, models: [] };
      if (cmd.endsWith("_list") || cmd === "models_suggested") return [];
      return null;
    });
    app = mount(App, { target: document.body });
    for (const screen of SCREENS) {
      document.querySelector<HTMLButtonElement>(`[data-nav="${screen.id}"]`)?.click();
      flushSync();
      await eventually(() => expect(document.querySelector("main [data-empty-state]")).not.toBeNull());
      // The empty state's picture is a tray, not a dashed ring that reads as a loading spinner.
      expect(document.querySelector("main [data-empty-state] [data-empty-icon=tray]")).not.toBeNull();
      expect(document.querySelectorAll("main table").length).toBe(0);
    }
  });

  it("moves through the navigation with the arrow keys", async () => {
    mockIPC(() => report);
    app = mount(App, { target: document.body });
    const home = document.querySelector<HTMLButtonElement>('[data-nav="home"]');
    home?.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true }));
    flushSync();
    expect(text("main h1")).toBe("Models");
    await eventually(() =>
      expect(document.activeElement?.getAttribute("data-nav")).toBe("models"),
    );
  });

  it("opens each screen at its top, not at the previous screen's scroll position", async () => {
    mockIPC(() => report);
    app = mount(App, { target: document.body });
    const main = document.querySelector<HTMLElement>("main")!;
    document.querySelector<HTMLButtonElement>('[data-nav="models"]')?.click();
    flushSync();
    main.scrollTop = 614;
    expect(main.scrollTop).toBe(614);
    document.querySelector<HTMLButtonElement>('[data-nav="data"]')?.click();
    flushSync();
    await eventually(() => expect(main.scrollTop).toBe(0));
    expect(text("main h1")).toBe("Data");
  });

  it("skips to the content without leaving the current screen", async () => {
    mockIPC(() => report);
    app = mount(App, { target: document.body });
    document.querySelector<HTMLButtonElement>('[data-nav="train"]')?.click();
    flushSync();
    const skip = document.querySelector<HTMLAnchorElement>(".skip-link")!;
    expect(skip.compareDocumentPosition(document.querySelector("nav")!) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    skip.click();
    flushSync();
    expect(document.activeElement?.id).toBe("main");
    expect(text("main h1")).toBe("Train");
    expect(window.location.hash).toBe("#/train");
  });
});
