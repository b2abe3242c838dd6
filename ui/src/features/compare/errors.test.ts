import { describe, expect, it } from "vitest";
import { ApiError } from "../../shared/api";
import { actionFor, bannerFor, dismiss } from "./errors";

describe("error banners", () => {
  it("show the app's message as it is, with what was being done", () => {
    const b = bannerFor(
      "Could not build the index",
      new ApiError({ code: "rag", message: "`my docs` cannot name an index: use letters" }),
    );
    expect(b.title).toBe("Could not build the index");
    expect(b.message).toBe("`my docs` cannot name an index: use letters");
    // The app's own messages say what to do; no second action is added.
    expect(b.action).toBeNull();
  });

  it("add the action for refusals the app's message cannot explain", () => {
    expect(actionFor(new ApiError({ code: "ipc", message: "command chat not found" }))).toMatch(/cannot do this yet/);
    expect(actionFor(new ApiError({ code: "ipc", message: "connection reset" }))).toMatch(/Try again/);
    expect(actionFor(new Error("boom"))).toMatch(/restart/);
  });

  it("are dismissed one at a time", () => {
    const a = bannerFor("A", "x");
    const b = bannerFor("B", "y");
    expect(a.id).not.toBe(b.id);
    expect(dismiss([a, b], a.id)).toEqual([b]);
  });
});
