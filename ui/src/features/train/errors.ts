// An error as the Train and Evaluate screens show it: the app's message as it is, and the action
// to take, chosen by the error's code (the message already says what went wrong; the action says
// where in the app to fix it).

import { ApiError, errorMessage } from "../../shared/api";

/** What a banner shows. */
export interface Problem {
  message: string;
  action: string;
}

/** The action for an error `code`. */
export function actionFor(code: string | null): string {
  switch (code) {
    case "data_unusable":
      return "Open the Data screen, apply the fixes it suggests, then press Start again.";
    case "data":
      return "Check the data file and its columns (the Data screen shows what Tunesmith reads), then try again.";
    case "engine":
      return "Change the setting the message names, then try again.";
    case "invalid":
      return "Change what the message names (a setting, the run, or the file), then try again.";
    case "model":
      return "The model cannot be used as it is: choose another on the Models screen, or import it again.";
    case "disk_full":
      return "Free some space on the disk that holds the Tunesmith folder (or choose another folder with TUNESMITH_HOME), then try again.";
    case "memory":
      return "Make the job smaller as the message says (a smaller batch, shorter texts, another method), or close other programs to free memory, then try again.";
    case "home":
      return "Choose another Tunesmith folder (set TUNESMITH_HOME) and restart the app.";
    case "ipc":
      return "This version of the app cannot do this yet: update Tunesmith, or use the tunesmith command line for this step.";
    case "store_corrupt":
      return "Open the History screen to set the damaged history aside and start a fresh one.";
    case "store_read_only":
      return "Make the Tunesmith folder writable (or choose another with TUNESMITH_HOME), then restart the app.";
    case "run_not_found":
      return "Pick the run again from the list; it may have been deleted.";
    case "run_active":
      return "Wait for the run to finish, or pause it first.";
    default:
      return "Fix what the message names, then try again.";
  }
}

/** The banner for anything a call threw. */
export function problemFrom(error: unknown): Problem {
  if (error instanceof ApiError) return { message: error.message, action: actionFor(error.code) };
  // The `{ code, message }` payload itself, as a command rejects with it.
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    const code = "code" in error && typeof error.code === "string" ? error.code : null;
    return { message: error.message, action: actionFor(code) };
  }
  return { message: errorMessage(error), action: actionFor(null) };
}
