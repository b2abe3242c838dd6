// Blind A/B rating, the pure part: which questions can be rated (the question set's answers, or the
// one question asked in the columns), the two answers of a question in the blind order the app drew,
// the keys that choose, and how a choice reads once un-blinded. The order itself comes from the app
// (`ratings_blind`, seeded and recorded), never from here, so the stored rating un-blinds the same way.

import { columnInfo } from "./columns";
import type { ColumnAnswer } from "./answers";
import type { Choice, ColumnId, CompareReport, Side } from "./types";

/** One question with the answers of every column that answered it. */
export type RatingItem = {
  /** The question's place in what is rated (0-based; the blind order is drawn per place). */
  item: number;
  prompt: string;
  reference: string | null;
  answers: Partial<Record<ColumnId, string>>;
};

/** What the expert rates: a question set's results or the one question asked. */
export type RatingSource = {
  kind: "question_set" | "chat";
  /** Names the comparison in the history (a rating given again replaces the earlier one). */
  comparison: string;
  /** The run judged, if any. */
  run: string | null;
  items: RatingItem[];
};

/** The question set's results as something to rate (its saved report names the comparison). */
export function sourceFromReport(report: CompareReport): RatingSource {
  return {
    kind: "question_set",
    comparison: report.saved ?? report.questions_file,
    run: report.run,
    items: report.questions.map((q, item) => ({
      item,
      prompt: q.question,
      reference: q.reference,
      answers: Object.fromEntries(q.answers.map((a) => [a.configuration, a.text])),
    })),
  };
}

/** The question asked in the columns, with the answers that finished. */
export function sourceFromChat(
  question: string | null,
  answers: Record<ColumnId, ColumnAnswer>,
  run: string | null,
): RatingSource | null {
  if (question === null) return null;
  const done = Object.entries(answers).filter(([, a]) => a.status === "done") as [ColumnId, ColumnAnswer][];
  if (done.length < 2) return null;
  return {
    kind: "chat",
    comparison: `chat: ${question}`,
    run,
    items: [{ item: 0, prompt: question, reference: null, answers: Object.fromEntries(done.map(([c, a]) => [c, a.text])) }],
  };
}

/** The columns that answered every question of `source`, in column order. */
export function ratableColumns(source: RatingSource | null): ColumnId[] {
  if (source === null || source.items.length === 0) return [];
  const order: ColumnId[] = ["base", "fine_tuned", "base_rag", "fine_tuned_rag"];
  return order.filter((c) => source.items.every((i) => typeof i.answers[c] === "string"));
}

/**
 * The pair offered first: the fine-tuned model against the base model when both answered (the
 * question a fine-tune asks), else the first two columns.
 */
export function defaultPair(columns: ColumnId[]): [ColumnId, ColumnId] | null {
  if (columns.length < 2) return null;
  if (columns.includes("base") && columns.includes("fine_tuned")) return ["base", "fine_tuned"];
  return [columns[0], columns[1]];
}

/** The two answers of `item` in the order shown: `first` is the column shown as "Answer 1". */
export function blindAnswers(item: RatingItem, a: ColumnId, b: ColumnId, first: Side): [string, string] {
  const [ta, tb] = [item.answers[a] ?? "", item.answers[b] ?? ""];
  return first === "a" ? [ta, tb] : [tb, ta];
}

/** The column shown as "Answer 1" or "Answer 2". */
export function columnShown(place: 1 | 2, a: ColumnId, b: ColumnId, first: Side): ColumnId {
  const firstColumn = first === "a" ? a : b;
  const secondColumn = first === "a" ? b : a;
  return place === 1 ? firstColumn : secondColumn;
}

/** The choice a key press makes (1, 2, T for a tie, W for both wrong), or `null`. */
export function choiceForKey(key: string): Choice | null {
  switch (key.toLowerCase()) {
    case "1":
      return "answer_1";
    case "2":
      return "answer_2";
    case "t":
      return "tie";
    case "w":
      return "both_wrong";
    default:
      return null;
  }
}

/** The buttons, in order, with their keys. */
export const CHOICES: readonly { choice: Choice; label: string; key: string }[] = [
  { choice: "answer_1", label: "Answer 1 is better", key: "1" },
  { choice: "answer_2", label: "Answer 2 is better", key: "2" },
  { choice: "tie", label: "As good as each other", key: "T" },
  { choice: "both_wrong", label: "Both wrong", key: "W" },
];

/** The choice un-blinded, in plain words ("You preferred Answer 2: Fine-tuned."). */
export function revealText(choice: Choice, a: ColumnId, b: ColumnId, first: Side): string {
  const one = columnInfo(columnShown(1, a, b, first)).title;
  const two = columnInfo(columnShown(2, a, b, first)).title;
  const sources = `Answer 1 was ${one}; Answer 2 was ${two}.`;
  switch (choice) {
    case "answer_1":
      return `You preferred Answer 1: ${one}. ${sources}`;
    case "answer_2":
      return `You preferred Answer 2: ${two}. ${sources}`;
    case "tie":
      return `A tie. ${sources}`;
    case "both_wrong":
      return `Both wrong. ${sources}`;
  }
}
