// One column's answer as it streams: the pieces accumulated from `ChatEvent` deltas, then the
// finished answer with its timings, or why it failed or stopped. Pure functions from one state to
// the next, so the screen only stores what these return.

import type { ChatAnswer, ChatEvent } from "./types";

/** Where a column's answer is. */
export type AnswerStatus =
  | "idle"
  | "waiting"
  | "streaming"
  | "done"
  | "stopped"
  | "failed"
  | "skipped";

/** A column's answer so far. */
export type ColumnAnswer = {
  status: AnswerStatus;
  /** The text received so far (the whole answer once done). */
  text: string;
  /** The finished answer, once `done` arrived. */
  answer: ChatAnswer | null;
  /** What went wrong (failed) or why it did not run (skipped). */
  message: string | null;
  /** Milliseconds (any clock) when the request was sent. */
  startedAt: number | null;
  /** Milliseconds when the first piece of text arrived. */
  firstTextAt: number | null;
  /** Milliseconds when it ended, however it ended. */
  endedAt: number | null;
};

/** A column that has not been asked anything. */
export const IDLE: ColumnAnswer = {
  status: "idle",
  text: "",
  answer: null,
  message: null,
  startedAt: null,
  firstTextAt: null,
  endedAt: null,
};

/** A column waiting its turn: the columns run one after another on one machine. */
export function queued(): ColumnAnswer {
  return { ...IDLE, status: "waiting" };
}

/** The request has just been sent. */
export function started(now: number): ColumnAnswer {
  return { ...IDLE, status: "waiting", startedAt: now };
}

/** The state after `event` arrived at `now`. Events after the end are ignored. */
export function applyChatEvent(state: ColumnAnswer, event: ChatEvent, now: number): ColumnAnswer {
  if (isFinished(state)) return state;
  if (event.event === "delta") {
    return {
      ...state,
      status: "streaming",
      text: state.text + event.text,
      firstTextAt: state.firstTextAt ?? now,
    };
  }
  const { event: _tag, ...answer } = event;
  return finish(state, answer, now);
}

/** The state once the command resolved with `answer` (the `done` event may not have arrived). */
export function finish(state: ColumnAnswer, answer: ChatAnswer, now: number): ColumnAnswer {
  if (state.status === "done" || state.status === "stopped") return state;
  return {
    ...state,
    status: answer.stop.reason === "cancelled" ? "stopped" : "done",
    text: answer.text,
    answer,
    endedAt: state.endedAt ?? now,
  };
}

/** The state once the command failed with `message`. */
export function fail(state: ColumnAnswer, message: string, now: number): ColumnAnswer {
  if (isFinished(state)) return state;
  return { ...state, status: "failed", message, endedAt: now };
}

/** The state once the user stopped it: what arrived so far stays visible. */
export function stop(state: ColumnAnswer, now: number): ColumnAnswer {
  if (isFinished(state)) return state;
  if (state.startedAt === null) {
    return { ...state, status: "skipped", message: "Stopped before its turn came." };
  }
  return { ...state, status: "stopped", endedAt: now };
}

/** Whether nothing more will change it. */
export function isFinished(state: ColumnAnswer): boolean {
  return ["done", "stopped", "failed", "skipped"].includes(state.status);
}

/** Whether it is waiting or streaming now. */
export function isActive(state: ColumnAnswer): boolean {
  return state.status === "waiting" || state.status === "streaming";
}

/** Seconds from request to now (while running) or to the end; `null` before it started. */
export function elapsedSeconds(state: ColumnAnswer, now: number): number | null {
  if (state.startedAt === null) return null;
  return Math.max(0, ((state.endedAt ?? now) - state.startedAt) / 1000);
}
