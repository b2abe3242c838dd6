// The Documents panel's logic: a valid index name, the list of files and folders to index, progress
// from `IngestProgress`, and the indexing report summed up with every problem document listed (a
// document that was too large, unreadable or empty is shown, never hidden).

import { fileName, formatBytes, plural } from "./format";
import { displayName } from "../history/labels";
import type { FileReport, IndexEntry, IngestProgress, IngestReport, ModelRecord, Problem } from "./types";

/** Why `name` cannot name an index (the rules of `rag::index_path`), or `null` when it can. */
export function indexNameProblem(name: string): string | null {
  if (name === "") return "Give the index a name, such as clinic-docs.";
  if (name.length > 64) return "The name is too long: use at most 64 characters.";
  if (name.startsWith(".")) return "The name cannot start with a dot.";
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    return "Use only letters, digits, '-', '_' or '.' in the name (no spaces).";
  }
  return null;
}

/** The paths in the path field: one per line, blank lines and surrounding spaces ignored. */
export function parsePaths(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const path = line.trim();
    if (path !== "" && !seen.has(path)) {
      seen.add(path);
      out.push(path);
    }
  }
  return out;
}

/** The path field after adding `added` (from a Browse dialog) to what it held. */
export function addPaths(text: string, added: string[]): string {
  return parsePaths([text, ...added].join("\n")).join("\n");
}

/** A name for a new index, from the first path: "/home/ada/Clinic docs" -> "Clinic-docs". */
export function suggestIndexName(paths: string[]): string {
  const first = paths[0];
  if (first === undefined) return "";
  const base = fileName(first)
    .replace(/\.[A-Za-z0-9]{1,5}$/, "")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[.-]+|-+$/g, "")
    .slice(0, 64);
  return base;
}

/** Progress as a fraction 0..1 for a progress bar, or `null` while it cannot be known. */
export function ingestFraction(p: IngestProgress): number | null {
  switch (p.stage) {
    case "found":
      return null;
    case "reading":
      // Reading is the first half, embedding the second (embedding dominates with a model, but
      // a keyword-only index never sends it; the bar then ends at the report).
      return p.total > 0 ? (p.done / p.total) * 0.5 : null;
    case "embedding":
      return p.total > 0 ? 0.5 + (p.done / p.total) * 0.5 : null;
  }
}

/** Progress in words. */
export function ingestProgressText(p: IngestProgress): string {
  switch (p.stage) {
    case "found":
      return `Found ${plural(p.files, "file")} to index.`;
    case "reading":
      return `Reading ${fileName(p.source)} (file ${p.done + 1} of ${p.total}).`;
    case "embedding":
      return `Embedding passages: ${p.done} of ${p.total}.`;
  }
}

/** A problem in plain words, for when the report carries no message. */
export function describeProblem(problem: Problem): string {
  switch (problem.kind) {
    case "too_large":
      return `too large: ${formatBytes(problem.bytes)}, over the ${formatBytes(problem.limit)} limit; split it into smaller files`;
    case "empty":
      return "empty: it holds no text";
    case "unreadable":
      return `unreadable: ${problem.reason}`;
    case "no_text_layer":
      return `no text layer: its ${plural(problem.pages, "page")} are images (a scan?); run it through OCR and index the result`;
    case "unsupported":
      return problem.extension === ""
        ? "not a supported format (no extension)"
        : `not a supported format (.${problem.extension})`;
  }
}

/** One skipped document, ready to show. */
export type ProblemLine = {
  source: string;
  name: string;
  kind: Problem["kind"] | "unknown";
  message: string;
};

/** The documents that were not indexed, each with why, in the order found. */
export function problemLines(report: IngestReport): ProblemLine[] {
  return report.files
    .filter((f) => f.status === "skipped")
    .map((f: FileReport) => ({
      source: f.source,
      name: fileName(f.source),
      kind: f.problem?.kind ?? "unknown",
      message:
        f.message ?? (f.problem ? describeProblem(f.problem) : "skipped without a reason given"),
    }));
}

/** Documents indexed with a warning worth reading (they were indexed). */
export function warningLines(report: IngestReport): { source: string; name: string; warning: string }[] {
  return report.files.flatMap((f) =>
    f.warnings.map((warning) => ({ source: f.source, name: fileName(f.source), warning })),
  );
}

/** How many files ended with each status. */
export function statusCounts(report: IngestReport): Record<FileReport["status"], number> {
  const counts = { added: 0, updated: 0, unchanged: 0, skipped: 0 };
  for (const f of report.files) counts[f.status] += 1;
  return counts;
}

/** The report's headline: "12 documents, 340 passages in the index. 3 added, 1 skipped." */
export function reportSummary(report: IngestReport): string {
  const c = statusCounts(report);
  const parts = [
    c.added > 0 ? `${c.added} added` : null,
    c.updated > 0 ? `${c.updated} updated` : null,
    c.unchanged > 0 ? `${c.unchanged} unchanged` : null,
    c.skipped > 0 ? `${c.skipped} skipped` : null,
    report.removed.length > 0 ? `${report.removed.length} removed (no longer among the inputs)` : null,
  ].filter((p): p is string => p !== null);
  const head = `${plural(report.documents, "document")}, ${plural(report.chunks, "passage")} in the index.`;
  return parts.length > 0 ? `${head} ${capitalise(parts.join(", "))}.` : head;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** An index as the index list shows it: "clinic-docs: 12 documents, 340 passages". */
export function indexLabel(entry: IndexEntry): string {
  const kind = entry.settings && entry.settings.embed_model === null ? ", keywords only" : "";
  return `${entry.name}: ${plural(entry.documents, "document")}, ${plural(entry.chunks, "passage")}${kind}`;
}

/** One way for an index to find passages, as the choice next to the Build button offers it. */
export interface EmbedChoice {
  /** `model:<folder>`, `keywords`, `default` or `other`. */
  value: string;
  label: string;
  /** The model's folder, for the tooltip. */
  title?: string;
}

/** The default embedding model, downloaded from the hub the first time. */
export const DEFAULT_EMBEDDER = "all-MiniLM-L6-v2";

/**
 * The ways to find passages, the first the default: by meaning with each encoder model already on
 * this computer (works offline), by meaning with the default model (a download the first time), by
 * keywords only (no model at all), or with another model typed in.
 */
export function embedChoices(localEncoders: ModelRecord[]): EmbedChoice[] {
  const local = localEncoders.map((m) => ({
    value: `model:${m.path}`,
    label: `By meaning, with ${displayName(m.id)} (on this computer)`,
    title: m.path,
  }));
  return [
    ...local,
    { value: "default", label: `By meaning, with ${DEFAULT_EMBEDDER} (downloaded once; needs the internet)` },
    { value: "keywords", label: "By keywords only (no model needed)" },
    { value: "other", label: "By meaning, with another model…" },
  ];
}

/** The `embed_model` of the indexing request for `choice` (`typed` for "another model"). */
export function embedModelFor(choice: string, typed: string): string | null {
  if (choice.startsWith("model:")) return choice.slice("model:".length);
  if (choice === "keywords") return "none";
  if (choice === "other") return typed.trim() === "" ? null : typed.trim();
  return null;
}
