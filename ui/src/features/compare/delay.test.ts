import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DelayedFlag } from "./delay";

describe("the activity indicator's delay", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("shows only after the wait has lasted 200 ms", () => {
    const seen: boolean[] = [];
    const flag = new DelayedFlag((v) => seen.push(v));
    flag.set(true);
    vi.advanceTimersByTime(199);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(seen).toEqual([true]);
    flag.set(true);
    flag.set(false);
    expect(seen).toEqual([true, false]);
  });

  it("never flashes for a quick wait", () => {
    const seen: boolean[] = [];
    const flag = new DelayedFlag((v) => seen.push(v));
    flag.set(true);
    vi.advanceTimersByTime(150);
    flag.set(false);
    vi.advanceTimersByTime(500);
    expect(seen).toEqual([]);
  });

  it("stops its timer when disposed", () => {
    const seen: boolean[] = [];
    const flag = new DelayedFlag((v) => seen.push(v), 50);
    flag.set(true);
    flag.dispose();
    vi.advanceTimersByTime(100);
    expect(seen).toEqual([]);
  });
});
