// The native file dialogs the Chat & Compare screen opens (Tauri's dialog plugin, `open` only, as the
// app's capability allows): documents to index, a folder of them, a question set, a model.

import { open } from "@tauri-apps/plugin-dialog";

/** The document formats the indexer reads (crates/rag `Format::SUPPORTED`). */
export const DOCUMENT_EXTENSIONS = ["txt", "text", "md", "markdown", "csv", "pdf", "docx", "html", "htm"];

/** What a dialog returned, as a list of paths (none when it was closed). */
export function pathsOf(picked: string | string[] | null): string[] {
  if (picked === null) return [];
  return Array.isArray(picked) ? picked : [picked];
}

/** Asks for documents to index. */
export async function browseDocuments(): Promise<string[]> {
  return pathsOf(
    await open({
      title: "Documents to index",
      multiple: true,
      filters: [{ name: "Documents", extensions: DOCUMENT_EXTENSIONS }],
    }),
  );
}

/** Asks for a folder of documents. */
export async function browseFolder(title: string): Promise<string[]> {
  return pathsOf(await open({ title, directory: true, multiple: false }));
}

/** Asks for a question set. */
export async function browseQuestionSet(): Promise<string | null> {
  const [first] = pathsOf(
    await open({
      title: "Question set (question, reference answer)",
      multiple: false,
      filters: [{ name: "Question sets", extensions: ["csv", "tsv", "jsonl"] }],
    }),
  );
  return first ?? null;
}

/** Asks for a `.gguf` model file. */
export async function browseGguf(): Promise<string | null> {
  const [first] = pathsOf(
    await open({
      title: "A model file",
      multiple: false,
      filters: [{ name: "GGUF models", extensions: ["gguf"] }],
    }),
  );
  return first ?? null;
}
