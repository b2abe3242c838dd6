// Exporting a run's model from its page: which formats a run can use (as src/export.rs
// `formats_for` decides), the plain words for each, and the request the Export button sends.

import type { ExportFormat, ExportRequest, GgufPrecision } from "../history/types";

/** One format as the run page offers it. */
export type FormatChoice = { id: ExportFormat; name: string; text: string };

/** One GGUF precision as the run page offers it. */
export type PrecisionChoice = { id: GgufPrecision; name: string; text: string };

/** Every export format, in the order the page shows them. */
export const FORMATS: FormatChoice[] = [
  {
    id: "adapter",
    name: "Adapter (PEFT)",
    text: "Small file that PEFT applies to the base model; share it when the other side has the base.",
  },
  {
    id: "merged",
    name: "Merged model",
    text: "The base model with your fine-tuning folded in, for transformers or for importing back into Tunesmith.",
  },
  {
    id: "gguf",
    name: "GGUF",
    text: "One file for llama.cpp, LM Studio or Ollama (with a Modelfile).",
  },
];

/** The one format of a classification run. */
export const CLASSIFIER_FORMAT: FormatChoice = {
  id: "classifier",
  name: "Classifier (sentence-transformers)",
  text: "A folder Python loads with SentenceTransformer: the same pooling and head, so the same predictions (labels in labels.json).",
};

/** How a GGUF export can store its weights. */
export const PRECISIONS: PrecisionChoice[] = [
  { id: "f16", name: "F16", text: "as trained" },
  { id: "q8_0", name: "Q8_0", text: "half the size, nearly no loss" },
];

/** What the run page says when a run offers no format (none does today; kept for a task without one). */
export const CLASSIFIER_NOTE = "This run cannot be exported; its weights stay in its folder.";

/** What the destination reads when no folder was chosen. */
export const DEFAULT_DESTINATION = "Tunesmith's exports folder";

/**
 * The formats a run of `task` trained with `method` can be exported as: the classifier folder for
 * classification; adapter, merged and GGUF for LoRA and QLoRA; merged and GGUF for the rest (a full
 * fine-tune has no adapter).
 */
export function formatsFor(task: string, method: string): FormatChoice[] {
  if (task !== "generate") return [CLASSIFIER_FORMAT];
  const adapter = method === "lora" || method === "qlora";
  return FORMATS.filter((f) => adapter || f.id !== "adapter");
}

/** The format picked first: GGUF, the one most people take elsewhere, when the run offers it. */
export function defaultFormat(formats: FormatChoice[]): ExportFormat | null {
  return formats.find((f) => f.id === "gguf")?.id ?? formats[0]?.id ?? null;
}

/**
 * The request for exporting `run` as `format`: into folder `into` when one was chosen (a new
 * `<run name>-<format>` folder inside it), else into Tunesmith's exports folder. The precision only
 * matters to GGUF but is always sent (the command takes it as it is).
 */
export function exportRequest(run: string, format: ExportFormat, gguf: GgufPrecision, into: string | null): ExportRequest {
  return { run, format, gguf, into: into ?? null, out: null };
}

/** What the busy indicator says while `format` is being written. */
export function busyLabel(format: ExportFormat): string {
  const name = [...FORMATS, CLASSIFIER_FORMAT].find((f) => f.id === format)?.name ?? format;
  return `Exporting ${name}… this can take a few minutes for a large model.`;
}
