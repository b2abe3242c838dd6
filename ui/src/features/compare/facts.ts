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
  /** "base + documents" style short name. */
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
 * The counts in one plain line, best first: "base + documents 6 of 10 · fine-tuned 2 of 10 · base 0 of 10".
 * Shown beside the app's verdict once the user corrected a judgement.
 */
export function countsLine(counts: FactCount[]): string {
  return [...counts]
    .sort((a, b) => b.correct / Math.max(b.total, 1) - a.correct / Math.max(a.total, 1))
    .map((c) => `${c.label} ${c.correct} of ${c.total}`)
    .join(" · ");
}

/** What the app's fact check found in one answer, in plain words. */
export type FactFinding =
  | { kind: "right"; words: string }
  | { kind: "partly"; words: string }
  | { kind: "missing"; words: string }
  | { kind: "unknown"; words: string };

/**
 * The app's own reading of an answer, honest about answers that state some of the reference's
 * facts: the rule (every key fact, see the engine's `metrics::facts`) still counts such an answer
 * as not right, but "✗ missing the fact" would hide that it has "24 hours"; it reads
 * "partly right: has 24 hours, lacks $30" instead.
 */
export function factFinding(answer: ScoredAnswer): FactFinding {
  if (answer.contains_fact === null) return { kind: "unknown", words: "not checkable" };
  if (answer.contains_fact) return { kind: "right", words: "✓ right fact" };
  if (answer.facts_found.length > 0) {
    return {
      kind: "partly",
      words: `◐ partly right: has ${answer.facts_found.join(", ")}, lacks ${answer.facts_missing.join(", ")}`,
    };
  }
  const missing = answer.facts_missing;
  return {
    kind: "missing",
    words: missing.length > 0 ? `✗ missing ${missing.join(", ")}` : "✗ missing the fact",
  };
}

/**
 * How the judgement of one answer reads: the user's correction when there is one ("✓ right (your
 * correction)"), else the app's finding.
 */
export function judgementWords(line: number, answer: ScoredAnswer, overrides: Overrides): FactFinding {
  const k = judgementKey(line, answer.configuration);
  if (k in overrides) {
    return overrides[k]
      ? { kind: "right", words: "✓ right (your correction)" }
      : { kind: "missing", words: "✗ wrong (your correction)" };
  }
  return factFinding(answer);
}

/**
 * Partly right answers per configuration (some of the reference's facts, not all), by the app's
 * check and without the user's corrections: "base + documents 3 · fine-tuned + documents 1".
 * Empty when there are none.
 */
export function partlyRightLine(report: CompareReport, overrides: Overrides): string {
  return report.configurations
    .map((c) => {
      let n = 0;
      for (const q of report.questions) {
        const a = q.answers.find((x) => x.configuration === c.configuration);
        if (!a || judgementKey(q.line, a.configuration) in overrides) continue;
        if (factFinding(a).kind === "partly") n += 1;
      }
      return { label: columnInfo(c.configuration).short, n };
    })
    .filter((c) => c.n > 0)
    .map((c) => `${c.label} ${c.n}`)
    .join(" · ");
}
