// The close question: shown when the shell holds a close back, answered with the shell's commands.
import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { flushSync, mount, unmount } from "svelte";
import { afterEach, describe, expect, it } from "vitest";
import CloseDialog from "./CloseDialog.svelte";

let component: ReturnType<typeof mount> | undefined;

afterEach(() => {
  if (component) unmount(component);
  component = undefined;
  clearMocks();
  document.body.innerHTML = "";
});

async function settle() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  flushSync();
}

describe("the close dialog", () => {
  it("stays hidden until the app says a close was held back", async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    component = mount(CloseDialog, { target: document.body });
    await settle();
    expect(document.querySelector("[data-close-dialog]")).toBeNull();
  });

  it("names the running work and pauses it before quitting when asked", async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      return null;
    }, { shouldMockEvents: true });
    component = mount(CloseDialog, { target: document.body });
    await settle();
    await emit("close-requested", { jobs: [{ job_id: "j1", kind: "train" }] });
    await settle();

    expect(document.querySelector("[data-close-dialog]")?.textContent).toContain("a training run");
    (document.querySelector("[data-action=pause-and-quit]") as HTMLButtonElement).click();
    await settle();
    expect(calls).toContainEqual(["app_quit", { pauseJobs: true }]);
  });

  it("keeps the app open and hides itself when the user keeps working", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      return null;
    }, { shouldMockEvents: true });
    component = mount(CloseDialog, { target: document.body });
    await settle();
    await emit("close-requested", { jobs: [{ job_id: "j1", kind: "pull" }] });
    await settle();

    (document.querySelector("[data-action=keep-open]") as HTMLButtonElement).click();
    await settle();
    expect(calls).toContain("app_keep_open");
    expect(document.querySelector("[data-close-dialog]")).toBeNull();
  });
});
