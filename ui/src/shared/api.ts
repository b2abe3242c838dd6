// The UI's only door to the app: a small typed wrapper over the generated `bindings.ts`.
//
// The generated functions return `{ status, data | error }`; `unwrap` returns the data and throws
// an `ApiError` carrying the `{ code, message }` the Rust side sent, so screens use plain
// `try`/`await`, and `checked` refuses an answer of the wrong shape. Each feature calls its commands
// through these in its own `backend.ts`; `api` holds the frame's one call (`doctor`).

import { commands, type DoctorReport, type ErrorPayload } from "../bindings";

/** An error reported by the app: `code` to branch on, `message` to show as it is. */
export class ApiError extends Error {
  readonly code: string;

  constructor(payload: ErrorPayload) {
    super(payload.message);
    this.name = "ApiError";
    this.code = payload.code;
  }
}

/** The shape every generated command returns. */
type CommandResult<T> = { status: "ok"; data: T } | { status: "error"; error: ErrorPayload };

/** Whether a rejected value is the `{ code, message }` the app's commands send. */
function isErrorPayload(value: unknown): value is ErrorPayload {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as ErrorPayload).code === "string" &&
    typeof (value as ErrorPayload).message === "string"
  );
}

/**
 * Returns the data of a command's result, or throws its error as an {@link ApiError}. Tauri's own
 * refusals (an unknown command, a denied permission) arrive as plain strings: code `ipc`.
 */
export async function unwrap<T>(result: Promise<CommandResult<T>>): Promise<T> {
  const r = await result;
  if (r.status === "ok") return r.data;
  const error: unknown = r.error;
  throw new ApiError(isErrorPayload(error) ? error : { code: "ipc", message: String(error) });
}

/** Refuses an answer that is not the shape asked for, instead of letting the screen crash on it. */
export function checked<T>(command: string, ok: (v: unknown) => boolean) {
  return (value: T): T => {
    if (ok(value)) return value;
    throw new ApiError({
      code: "bad_response",
      message: `The app answered \`${command}\` with something unexpected; restart Tunesmith and try again.`,
    });
  };
}

/** Whether `v` is a non-null object. */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/** A message fit to show for anything a call threw. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  return "Something went wrong talking to the app.";
}

/** A fresh id for a long job (a download, a training run, a comparison), so it can be cancelled. */
export function newJobId(): string {
  if (typeof crypto !== "undefined" && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The commands the UI uses, typed end to end. */
export const api = {
  /** The device, home folder and versions. */
  doctor: (): Promise<DoctorReport> => unwrap(commands.doctor()),
};

export type { DoctorReport, ErrorPayload };
