// The pure rules of blind rating: what can be rated, the answers in the order drawn, the keys, and
// the choice un-blinded in words.
import { describe, expect, it } from "vitest";
import { IDLE } from "./answers";
import { compareReport } from "./fixtures";
import {
  blindAnswers,
  choiceForKey,
  columnShown,
  defaultPair,
  ratableColumns,
  revealText,
  sourceFromChat,
  sourceFromReport,
} from "./rating";
import { tallyOf } from "./rating.svelte";

describe("blind rating", () => {
  it("rates a question set by its saved report, with every column that answered all questions", () => {
    const report = compareReport();
    const [q] = report.questions;
    const tuned = { ...q.answers[0], configuration: "fine_tuned" as const, text: "From 9 to 12." };
    report.questions = [
      { ...q, answers: [...q.answers, tuned] },
      { ...q, line: 3, answers: [tuned] },
    ];
    const source = sourceFromReport(report);
    expect(source.kind).toBe("question_set");
    expect(source.comparison).toBe("/home/runs/run-gen-1/compare/compare-1.json");
    expect(source.run).toBe("run-gen-1");
    expect(source.items.map((i) => i.item)).toEqual([0, 1]);
    expect(source.items[0].answers).toEqual({ base: "I do not know.", fine_tuned: "From 9 to 12." });
    // The base model did not answer the second question: only the fine-tuned column answered all.
    expect(ratableColumns(source)).toEqual(["fine_tuned"]);
  });

  it("rates the question asked only when at least two columns finished their answers", () => {
    const done = (text: string) => ({ ...IDLE, status: "done" as const, text });
    const answers = { base: done("Sunday"), fine_tuned: done("Saturday"), base_rag: IDLE, fine_tuned_rag: IDLE };
    const source = sourceFromChat("When?", answers, "run-1");
    expect(source?.comparison).toBe("chat: When?");
    expect(ratableColumns(source)).toEqual(["base", "fine_tuned"]);
    expect(sourceFromChat("When?", { ...answers, fine_tuned: IDLE }, null)).toBeNull();
    expect(sourceFromChat(null, answers, null)).toBeNull();
  });

  it("offers the fine-tuned model against the base model first", () => {
    expect(defaultPair(["base", "fine_tuned", "base_rag"])).toEqual(["base", "fine_tuned"]);
    expect(defaultPair(["base", "base_rag"])).toEqual(["base", "base_rag"]);
    expect(defaultPair(["base"])).toBeNull();
  });

  it("shows the answers in the order drawn and names the column in each place", () => {
    const item = { item: 0, prompt: "q", reference: null, answers: { base: "B", fine_tuned: "T" } };
    expect(blindAnswers(item, "base", "fine_tuned", "a")).toEqual(["B", "T"]);
    expect(blindAnswers(item, "base", "fine_tuned", "b")).toEqual(["T", "B"]);
    expect(columnShown(1, "base", "fine_tuned", "b")).toBe("fine_tuned");
    expect(columnShown(2, "base", "fine_tuned", "b")).toBe("base");
  });

  it("maps the keys 1, 2, T and W to the choices and ignores others", () => {
    expect(["1", "2", "t", "W", "x"].map(choiceForKey)).toEqual(["answer_1", "answer_2", "tie", "both_wrong", null]);
  });

  it("un-blinds a choice in plain words", () => {
    expect(revealText("answer_1", "base", "fine_tuned", "b")).toBe(
      "You preferred Answer 1: Fine-tuned. Answer 1 was Fine-tuned; Answer 2 was Base model.",
    );
    expect(revealText("tie", "base", "fine_tuned", "a")).toBe("A tie. Answer 1 was Base model; Answer 2 was Fine-tuned.");
  });

  it("reads a tally of another shape as no ratings", () => {
    expect(tallyOf(null).pairs).toEqual([]);
    expect(tallyOf({ ratings: 3 }).pairs).toEqual([]);
    const t = { ratings: 1, pairs: [], rule: "r" };
    expect(tallyOf(t)).toBe(t);
  });
});
