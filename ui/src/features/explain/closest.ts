// How the closest training examples read on screen: what each example taught (its label or its
// answer), its similarity as a percentage, and how similarity was measured. Pure, so it is
// unit-tested without a DOM.

import type { ClosestExample, Explanation } from "./backend";

/** The name `embed_model` carries when keyword similarity was used. */
export const KEYWORDS = "keywords";

/** One example as a row of the disclosure. */
export type ExampleRow = {
  line: number;
  text: string;
  /** "label: pos" or "answer: …"; "" for plain text rows. */
  taught: string;
  /** "93 %" ("?" when unknown). */
  similarity: string;
};

/** The row of `example`. */
export function exampleRow(example: ClosestExample): ExampleRow {
  const taught =
    example.label != null ? `label: ${example.label}` : example.response != null ? `answer: ${example.response}` : "";
  // A float that is not a number arrives as null: shown as unknown rather than as 0.
  const s = example.similarity;
  const similarity = s === null ? "?" : `${Math.round(Math.max(-1, Math.min(1, s)) * 100)} %`;
  return { line: example.line, text: example.text, taught, similarity };
}

/** One plain sentence: how similarity was measured, and how much of the training data was compared. */
export function methodNote(e: Explanation): string {
  const how =
    e.embed_model === KEYWORDS
      ? "Similarity by shared words (no embedding model is available offline)"
      : `Similarity by meaning (${e.embed_model})`;
  const skipped = e.skipped_rows > 0 ? `; ${e.skipped_rows} more were not compared` : "";
  return `${how}, over ${e.searched_rows} training examples${skipped}.`;
}
