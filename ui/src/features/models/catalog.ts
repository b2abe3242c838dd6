// The Models screen's choices and verdicts, kept out of the markup: the task filter, suggestions
// grouped by task, whether an error means "the hub is out of reach" (a banner, not a broken
// screen), and which hub models are already on this computer.

import type { ModelRecord, ModelSummary, Suggestion } from "./types";

/** The task filter of the hub search: hub pipeline tags, in plain words. */
export const TASK_FILTERS = [
  { value: "", label: "Any task" },
  { value: "text-classification", label: "Sort texts into classes" },
  { value: "text-generation", label: "Answer or write text" },
  { value: "feature-extraction", label: "Embed texts (features)" },
  { value: "sentence-similarity", label: "Compare sentences" },
] as const;

/** The plain-words name of a hub task tag (the tag itself when unknown). */
export function taskLabel(task: string | null | undefined): string {
  if (!task) return "unknown task";
  return TASK_FILTERS.find((t) => t.value === task)?.label ?? task;
}

/** Suggestions grouped by task, in the order of {@link TASK_FILTERS}. */
export function suggestionsByTask(suggestions: Suggestion[]): { task: string; label: string; items: Suggestion[] }[] {
  const tasks = [...new Set(suggestions.map((s) => s.task))];
  const order = (t: string) => {
    const i = TASK_FILTERS.findIndex((f) => f.value === t);
    return i < 0 ? TASK_FILTERS.length : i;
  };
  return tasks
    .sort((a, b) => order(a) - order(b))
    .map((task) => ({ task, label: taskLabel(task), items: suggestions.filter((s) => s.task === task) }));
}

/** Error codes meaning the hub could not be asked (offline mode, no network): shown as a banner. */
const UNREACHABLE = new Set(["network", "offline"]);

/** Whether an error code means the hub is out of reach rather than that something is broken. */
export function isHubUnreachable(code: string | undefined): boolean {
  return code !== undefined && UNREACHABLE.has(code);
}

/** What to do about a hub error, in one sentence, by its code. */
export function hubAdvice(code: string | undefined): string {
  switch (code) {
    case "network":
    case "offline":
      return "Models already on this computer still work; import a folder or a .gguf file, or try again when online.";
    case "token_required":
      return "This model is gated: accept its licence on huggingface.co, then log in with `huggingface-cli login` (or set HF_TOKEN) and try again.";
    case "not_found":
      return "Check the model id (owner/name) for a typo.";
    case "no_weights":
      return "Pick another model: this one has no weights Tunesmith can load.";
    case "checksum":
      return "Try the download again; the damaged file was removed.";
    default:
      return "Try again; if it keeps failing, the message above says what went wrong.";
  }
}

/** Hub ids of the models already on this computer. */
export function localIds(models: ModelRecord[]): Set<string> {
  return new Set(models.map((m) => m.id));
}

/** A model name compared loosely: lower case, no `.gguf`, no quantisation suffix (`-Q4_1`, `.f16`). */
function looseName(name: string): string {
  return name
    .toLowerCase()
    .replace(/\.gguf$/, "")
    .replace(/[-._](q\d(_[0-9a-z]+)*|f16|f32|bf16)$/, "");
}

/**
 * The model on this computer that is hub model `hubId`: downloaded under that id, or imported from
 * a folder or a `.gguf` file of the same name (all-MiniLM-L6-v2 imported from a folder is
 * sentence-transformers/all-MiniLM-L6-v2; SmolLM2-135M-Instruct-Q4_1.gguf is
 * HuggingFaceTB/SmolLM2-135M-Instruct).
 */
export function localFor(models: ModelRecord[], hubId: string): ModelRecord | null {
  const exact = models.find((m) => m.id === hubId);
  if (exact) return exact;
  const wanted = looseName(hubId.split("/").at(-1) ?? hubId);
  return (
    models.find((m) => m.source !== "hub" && looseName(m.id.replace(/^(gguf|local)\//, "").split(/[\\/]/).at(-1) ?? "") === wanted) ?? null
  );
}

/** Search results with the supported ones first, keeping the hub's order (downloads) within each. */
export function supportedFirst(results: ModelSummary[]): ModelSummary[] {
  return [...results.filter((r) => r.support.supported), ...results.filter((r) => !r.support.supported)];
}

/** Local models: the supported ones first, then by id. */
export function registryOrder(models: ModelRecord[]): ModelRecord[] {
  return [...models].sort(
    (a, b) => Number(b.supported) - Number(a.supported) || a.id.localeCompare(b.id),
  );
}

/** Where a local model came from, in words. */
export function sourceLabel(source: ModelRecord["source"]): string {
  switch (source) {
    case "hub":
      return "Downloaded from the hub";
    case "local":
      return "Imported folder";
    case "gguf":
      return "Imported .gguf file";
  }
}

/** The Tunesmith task (`classify` / `generate`) a model family is for. */
export function taskOfFamily(family: "encoder" | "decoder" | null | undefined): "classify" | "generate" | undefined {
  if (family === "encoder") return "classify";
  if (family === "decoder") return "generate";
  return undefined;
}
