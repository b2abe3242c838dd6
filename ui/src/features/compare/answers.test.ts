import { describe, expect, it } from "vitest";
import {
  applyChatEvent,
  elapsedSeconds,
  fail,
  finish,
  IDLE,
  isActive,
  queued,
  started,
  stop,
} from "./answers";
import { chatAnswer } from "./fixtures";

describe("a column's streaming answer", () => {
  it("accumulates deltas in order and remembers when the first text arrived", () => {
    let a = started(1000);
    expect(a.status).toBe("waiting");
    a = applyChatEvent(a, { event: "delta", text: "Satur" }, 1500);
    a = applyChatEvent(a, { event: "delta", text: "days" }, 1600);
    expect(a.status).toBe("streaming");
    expect(a.text).toBe("Saturdays");
    expect(a.firstTextAt).toBe(1500);
    expect(isActive(a)).toBe(true);
  });

  it("takes the whole answer from the done event, and ignores anything after it", () => {
    let a = applyChatEvent(started(0), { event: "delta", text: "Sat" }, 10);
    a = applyChatEvent(a, { event: "done", ...chatAnswer() }, 500);
    expect(a.status).toBe("done");
    expect(a.text).toBe("Saturdays 9 to 12.");
    expect(a.answer?.tokens).toBe(8);
    expect(a.endedAt).toBe(500);
    const after = applyChatEvent(a, { event: "delta", text: "late" }, 600);
    expect(after).toBe(a);
    // The command resolving after the done event changes nothing either.
    expect(finish(a, chatAnswer({ text: "other" }), 700)).toBe(a);
  });

  it("is done when the command resolves even if no done event came", () => {
    const a = finish(started(0), chatAnswer(), 250);
    expect(a.status).toBe("done");
    expect(elapsedSeconds(a, 9999)).toBe(0.25);
  });

  it("reads as stopped when the app says generation was cancelled", () => {
    const a = finish(started(0), chatAnswer({ stop: { reason: "cancelled" } }), 100);
    expect(a.status).toBe("stopped");
  });

  it("keeps what arrived when it fails or is stopped", () => {
    const partial = applyChatEvent(started(0), { event: "delta", text: "Satur" }, 10);
    const failed = fail(partial, "the model folder has no tokenizer.json", 20);
    expect(failed).toMatchObject({ status: "failed", text: "Satur", message: "the model folder has no tokenizer.json" });
    const stopped = stop(partial, 30);
    expect(stopped).toMatchObject({ status: "stopped", text: "Satur", endedAt: 30 });
  });

  it("is skipped, not stopped, when Stop came before its turn", () => {
    expect(stop(queued(), 5)).toMatchObject({ status: "skipped", message: "Stopped before its turn came." });
  });

  it("has no elapsed time before it starts, and counts up while running", () => {
    expect(elapsedSeconds(IDLE, 100)).toBeNull();
    expect(elapsedSeconds(started(1000), 3500)).toBe(2.5);
  });
});
