import { describe, expect, it } from "vitest";
import {
  DEFAULT_SCREEN,
  hashFor,
  isScreenId,
  neighbour,
  SCREENS,
  screenById,
  screenForKey,
  screenFromHash,
} from "./navigation";

describe("navigation", () => {
  it("lists the seven screens in the order of the flow", () => {
    expect(SCREENS.map((s) => s.label)).toEqual([
      "Home",
      "Models",
      "Data",
      "Train",
      "Evaluate",
      "Chat & Compare",
      "History",
    ]);
  });

  it("round-trips every screen through its location hash", () => {
    for (const s of SCREENS) expect(screenFromHash(hashFor(s.id))).toBe(s.id);
  });

  it("falls back to Home for an empty, unknown or malformed hash", () => {
    expect(screenFromHash("")).toBe(DEFAULT_SCREEN);
    expect(screenFromHash("#/nowhere")).toBe("home");
    expect(screenFromHash("#")).toBe("home");
    expect(screenFromHash("#/constructor")).toBe("home");
  });

  it("ignores what follows the screen in the hash", () => {
    expect(screenFromHash("#/history/run-12")).toBe("history");
    expect(screenFromHash("#models?q=bert")).toBe("models");
  });

  it("recognises only real screen ids", () => {
    expect(isScreenId("train")).toBe(true);
    expect(isScreenId("Train")).toBe(false);
    expect(screenById("compare").label).toBe("Chat & Compare");
  });

  it("moves to the neighbouring screen and wraps at both ends", () => {
    expect(neighbour("home", 1)).toBe("models");
    expect(neighbour("home", -1)).toBe("history");
    expect(neighbour("history", 1)).toBe("home");
    expect(neighbour("data", 8)).toBe("train");
  });

  it("answers the arrow, Home and End keys and ignores the rest", () => {
    expect(screenForKey("data", "ArrowDown")).toBe("train");
    expect(screenForKey("data", "ArrowUp")).toBe("models");
    expect(screenForKey("data", "Home")).toBe("home");
    expect(screenForKey("data", "End")).toBe("history");
    expect(screenForKey("data", "Enter")).toBeNull();
    expect(screenForKey("data", "a")).toBeNull();
  });
});
