// The one activity indicator: its live region is in the page from the start, and the spinner with
// its label appears only once a wait has lasted BUSY_DELAY_MS, going away as soon as it ends.
import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import Busy from "./Busy.svelte";
import { BUSY_DELAY_MS } from "./busy";

let component: ReturnType<typeof mount> | undefined;
const status = () => document.querySelector<HTMLElement>("[role=status]");

beforeEach(() => {
  vi.useFakeTimers();
  document.body.innerHTML = "";
});

afterEach(() => {
  if (component) unmount(component);
  component = undefined;
  vi.useRealTimers();
});

function show(active: boolean) {
  const props = $state({ active, label: "Loading the model…" });
  component = mount(Busy, { target: document.body, props });
  flushSync();
  return props;
}

describe("Busy", () => {
  it("keeps a polite live region in the page while nothing is happening", () => {
    show(false);
    expect(status()?.getAttribute("aria-live")).toBe("polite");
    expect(status()?.textContent?.trim()).toBe("");
    expect(status()?.hasAttribute("data-busy")).toBe(false);
  });

  it("says nothing for a quick wait and shows its label once the wait has lasted the delay", () => {
    show(true);
    vi.advanceTimersByTime(BUSY_DELAY_MS - 1);
    flushSync();
    expect(status()?.textContent?.trim()).toBe("");
    vi.advanceTimersByTime(1);
    flushSync();
    expect(status()?.textContent?.trim()).toBe("Loading the model…");
    expect(status()?.hasAttribute("data-busy")).toBe(true);
  });

  it("goes quiet as soon as the wait ends", () => {
    const props = show(true);
    vi.advanceTimersByTime(BUSY_DELAY_MS);
    flushSync();
    props.active = false;
    flushSync();
    expect(status()?.textContent?.trim()).toBe("");
  });
});
