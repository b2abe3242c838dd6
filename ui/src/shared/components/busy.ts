// How long a wait lasts before the activity indicator appears: quick answers show nothing, so the
// screen does not flicker; anything slower says it is working.

/** Milliseconds before a wait shows its indicator. */
export const BUSY_DELAY_MS = 200;
