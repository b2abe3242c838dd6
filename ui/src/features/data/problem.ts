// The Data screen's banner when a file cannot be inspected: who is at fault decides the title and
// the action. A `model` error is the chosen model's (its tokenizer, for token counts), never the
// user's file; `invalid` is a setting the message names; `data` is the file itself.

import { ApiError, errorMessage } from "../../shared/api";

/** What the banner shows. */
export type DataProblem = { title: string; message: string; action: string };

/** The banner for `error`, thrown while inspecting `file` with the model `model` (if any). */
export function dataProblem(error: unknown, file: string, model: string | null): DataProblem {
  const code = error instanceof ApiError ? error.code : "";
  const message = errorMessage(error);
  switch (code) {
    case "model":
      return {
        title: model ? `The model ${nameOf(model)} could not be used to count tokens` : "The model could not be used to count tokens",
        message,
        action: `Your file is not the problem. Choose another model on the Models screen (or import this one again), then check ${file} again.`,
      };
    case "invalid":
      return {
        title: `${file} cannot be checked with these settings`,
        message,
        action: "Change the setting the message names, then check the file again.",
      };
    case "data":
      return {
        title: `${file} could not be read`,
        message,
        action: "Check the path, and that the file is a CSV, TSV or JSONL file with a header row.",
      };
    default:
      return { title: `${file} could not be read`, message, action: "Check the path and try again." };
  }
}

/** A model's name from its path or id: the last part ("smollm2.gguf", "all-MiniLM-L6-v2"). */
function nameOf(model: string): string {
  return model.split(/[\\/]/).filter((p) => p !== "").pop() ?? model;
}
