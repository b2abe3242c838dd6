// "Did it contain the right fact?": the comparison's judgement per question and configuration
// (made by the app: `ScoredAnswer.contains_fact`), with the user's corrections over it, and the
// counts the plain verdict is made of. A person who knows the domain can see each judgement and
// overrule it; the counts follow.

import { columnInfo } from "./columns";
import type { CompareReport, ScoredAnswer } from "./types";

/** The user's corrections: "<line>:<configuration>" -> right (true) or wrong (false). */
export type Overrides = Record<string, boolean>;

/** The key of one answer's judgement. */
export function judgementKey(line: number, configuration: string): string {
  return `${line}:${configuration}`;
}

/** An answer's judgement: the user's correction, else the app's; `null` when nothing is checkable. */
export function judgement(line: number, answer: ScoredAnswer, overrides: Overrides): boolean | null {
  const k = judgementKey(line, answer.configuration);
  if (k in overrides) return overrides[k];
  return answer.contains_fact;
}

/** Right answers per configuration, in the report's configuration order. */
export type FactCount = {
  configuration: string;
  /** "base + RAG" style short name. */
  label: string;
  correct: number;
  /** Questions with a judgement (a key fact, or a user's correction). */
  total: number;
};

/** The counts over `report` with the user's `overrides`. */
export function factCounts(report: CompareReport, overrides: Overrides): FactCount[] {
  return report.configurations.map((c) => {
    let correct = 0;
    let total = 0;
    for (const q of report.questions) {
      const a = q.answers.find((x) => x.configuration === c.configuration);
      if (!a) continue;
      const j = judgement(q.line, a, overrides);
      if (j === null) continue;
      total += 1;
      if (j) correct += 1;
    }
    return { configuration: c.configuration, label: columnInfo(c.configuration).short, correct, total };
  });
}

/** Whether any answer of `report` could be judged by facts (else the verdict is word overlap). */
export function hasFacts(report: CompareReport): boolean {
  return report.questions.some((q) => q.facts.length > 0);
}

/**
 * The counts in one plain line, best first: "base + RAG 6 of 10 · fine-tuned 2 of 10 · base 0 of 10".
 * Shown beside the app's verdict once the user corrected a judgement.
 */
export function countsLine(counts: FactCount[]): string {
  return [...counts]
    .sort((a, b) => b.correct / Math.max(b.total, 1) - a.correct / Math.max(a.total, 1))
    .map((c) => `${c.label} ${c.correct} of ${c.total}`)
    .join(" · ");
}
