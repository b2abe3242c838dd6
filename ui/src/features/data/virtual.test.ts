import { describe, expect, it } from "vitest";
import { visibleWindow } from "./virtual";

describe("visibleWindow", () => {
  it("renders only the visible rows plus the overscan at the top", () => {
    const w = visibleWindow({ scrollTop: 0, viewportHeight: 300, rowHeight: 30, total: 200, overscan: 5 });
    expect(w).toEqual({ start: 0, end: 16, padTop: 0, padBottom: 184 * 30 });
  });

  it("moves the window with the scroll and keeps the total height constant", () => {
    const w = visibleWindow({ scrollTop: 3000, viewportHeight: 300, rowHeight: 30, total: 200, overscan: 5 });
    expect(w.start).toBe(95);
    expect(w.end).toBe(116);
    expect(w.padTop + (w.end - w.start) * 30 + w.padBottom).toBe(200 * 30);
  });

  it("clamps at the end of the table, even scrolled past it", () => {
    const w = visibleWindow({ scrollTop: 999_999, viewportHeight: 300, rowHeight: 30, total: 200, overscan: 5 });
    expect(w.end).toBe(200);
    expect(w.padBottom).toBe(0);
    expect(w.start).toBeLessThan(200);
  });

  it("renders every row of a table shorter than the viewport", () => {
    expect(visibleWindow({ scrollTop: 0, viewportHeight: 600, rowHeight: 30, total: 3 })).toEqual({
      start: 0,
      end: 3,
      padTop: 0,
      padBottom: 0,
    });
  });

  it("renders nothing for an empty table or a nonsensical row height", () => {
    expect(visibleWindow({ scrollTop: 0, viewportHeight: 300, rowHeight: 30, total: 0 }).end).toBe(0);
    expect(visibleWindow({ scrollTop: 0, viewportHeight: 300, rowHeight: 0, total: 10 }).end).toBe(0);
  });
});
