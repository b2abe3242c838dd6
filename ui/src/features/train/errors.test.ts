// Each error banner says what to do, chosen by the error's code.
import { describe, expect, it } from "vitest";
import { ApiError } from "../../shared/api";
import { actionFor, problemFrom } from "./errors";

describe("errors", () => {
  it("keeps the app's message and adds the action for its code", () => {
    const p = problemFrom(new ApiError({ code: "store_corrupt", message: "the history file is damaged" }));
    expect(p.message).toBe("the history file is damaged");
    expect(p.action).toContain("History screen");
  });

  it("says what to do for a job too big for the memory, an unusable model and an invalid request", () => {
    expect(problemFrom(new ApiError({ code: "memory", message: "needs 9 GB, 2 GB free" })).action).toContain("smaller batch");
    expect(actionFor("model")).toContain("Models screen");
    expect(actionFor("invalid")).toContain("Change what the message names");
  });

  it("has a general action for unknown codes and plain errors", () => {
    expect(problemFrom(new Error("boom")).action).toBe(actionFor(null));
    expect(actionFor("ipc")).toContain("command line");
  });
});

describe("errors from a plain payload", () => {
  it("reads the code and message a command rejected with", () => {
    expect(problemFrom({ code: "data_unusable", message: "row 3" })).toEqual({ message: "row 3", action: actionFor("data_unusable") });
  });
});
