import { describe, expect, it } from "vitest";
import type { Explanation } from "./backend";
import { exampleRow, methodNote } from "./closest";

const explanation = (over: Partial<Explanation> = {}): Explanation => ({
  run_id: "r1",
  text: "good",
  examples: [],
  embed_model: "sentence-transformers/all-MiniLM-L6-v2",
  searched_rows: 40,
  skipped_rows: 0,
  ...over,
});

describe("closest training examples", () => {
  it("shows a classifier's example with its label and its similarity as a percentage", () => {
    expect(exampleRow({ text: "good fine", label: "pos", similarity: 0.926, line: 4 })).toEqual({
      line: 4,
      text: "good fine",
      taught: "label: pos",
      similarity: "93 %",
    });
  });

  it("shows an unknown similarity as unknown, not as zero", () => {
    expect(exampleRow({ text: "t", label: "pos", similarity: null, line: 2 }).similarity).toBe("?");
  });

  it("shows a generation example with its answer", () => {
    expect(exampleRow({ text: "Capital of France?", response: "Paris", similarity: 1, line: 2 }).taught).toBe(
      "answer: Paris",
    );
  });

  it("says when keywords stood in for the embedding model, and how many rows were skipped", () => {
    expect(methodNote(explanation())).toBe(
      "Similarity by meaning (sentence-transformers/all-MiniLM-L6-v2), over 40 training examples.",
    );
    expect(methodNote(explanation({ embed_model: "keywords", searched_rows: 5000, skipped_rows: 12 }))).toBe(
      "Similarity by shared words (no embedding model is available offline), over 5000 training examples; 12 more were not compared.",
    );
  });
});
