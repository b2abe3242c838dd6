// The question-set comparison's logic: which configurations a request will answer, progress from
// `CompareProgress`, the score table (best value per metric marked) and the verdict with its margin.

import { columnInfo } from "./columns";
import { formatBleu, formatScore, formatSeconds, isNumber, plural } from "./format";
import type { ColumnId, CompareProgress, CompareReport, ConfigurationScores } from "./types";

/** The configurations `compare::compare` answers for a request, in its order of work. */
export function configurationsFor(hasRun: boolean, hasIndex: boolean): ColumnId[] {
  // One model in memory at a time: the base (alone, then with RAG), then the fine-tuned model.
  const out: ColumnId[] = ["base"];
  if (hasIndex) out.push("base_rag");
  if (hasRun) out.push("fine_tuned");
  if (hasRun && hasIndex) out.push("fine_tuned_rag");
  return out;
}

/** Progress through a comparison. */
export type CompareProgressState = {
  /** Answers given so far, over every configuration. */
  answered: number;
  /** Questions in the set, once the first answer says. */
  questions: number | null;
  /** Configurations to answer. */
  configurations: number;
  /** Answers the whole comparison gives, as the app counts them (once the first answer says). */
  total: number | null;
  /** What is happening now, in words. */
  text: string;
  /** When the comparison started (ms, the window's clock), for the time left. */
  startedAt: number | null;
  /** When the latest answer came (ms). */
  lastAnswerAt: number | null;
};

/** Before the first event. */
export function initialProgress(configurations: number, now: number | null = null): CompareProgressState {
  return {
    answered: 0,
    questions: null,
    configurations,
    total: null,
    text: "Reading the questions…",
    startedAt: now,
    lastAnswerAt: null,
  };
}

/** The progress after `event`. */
export function applyCompareProgress(
  state: CompareProgressState,
  event: CompareProgress,
  now: number | null = null,
): CompareProgressState {
  const name = columnInfo(event.configuration).short;
  if (event.event === "loading") {
    return { ...state, text: `Loading the ${name} model…` };
  }
  return {
    ...state,
    // The app counts answers over the whole comparison (a quick check answers fewer questions).
    answered: event.answered,
    total: event.total,
    questions: event.of,
    lastAnswerAt: now ?? state.lastAnswerAt,
    text: `${capitalised(name)}: question ${event.question} of ${event.of} answered.`,
  };
}

/** The fraction done (0..1), or `null` before the number of questions is known. */
export function compareFraction(state: CompareProgressState): number | null {
  const total = totalAnswers(state);
  if (total === null || total === 0) return null;
  return Math.min(1, state.answered / total);
}

/** The answers the comparison gives, or `null` before the first answer says. */
function totalAnswers(state: CompareProgressState): number | null {
  if (state.total !== null) return state.total;
  if (state.questions === null) return null;
  return state.questions * state.configurations;
}

/**
 * The whole comparison in one line: "7 of 40 answers · about 3 min left". The time left is the
 * average time per answer so far (model loading included, as it recurs for each model) times the
 * answers to go; it is left out until the first answer.
 */
export function overallProgressText(state: CompareProgressState): string {
  const total = totalAnswers(state);
  if (total === null) return "Starting…";
  const head = `${state.answered} of ${total} answers`;
  if (state.startedAt === null || state.lastAnswerAt === null || state.answered === 0 || state.answered >= total) return head;
  const perAnswer = (state.lastAnswerAt - state.startedAt) / 1000 / state.answered;
  return `${head} · about ${formatTimeLeft(perAnswer * (total - state.answered))} left`;
}

/** A time left: "under a minute", "about 3 min", "1 h 05 min". */
function formatTimeLeft(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "an unknown time";
  if (seconds < 60) return `${Math.max(5, Math.round(seconds / 5) * 5)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

function capitalised(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A metric column of the table. */
export type Metric = {
  key: keyof Pick<
    ConfigurationScores,
    "exact_match" | "token_f1" | "rouge_l" | "bleu" | "mean_answer_tokens" | "mean_latency_s"
  >;
  label: string;
  /** What it measures, in one sentence (the column header's description). */
  explain: string;
  /** Which way is better, or `null` when neither is (answer length). */
  better: "higher" | "lower" | null;
  format: (v: number | null) => string;
};

/** The table's metrics, left to right. */
export const METRICS: readonly Metric[] = [
  {
    key: "exact_match",
    label: "Exact match",
    explain: "Share of answers equal to the reference, ignoring case and punctuation (0 to 1).",
    better: "higher",
    format: formatScore,
  },
  {
    key: "token_f1",
    label: "Token F1",
    explain: "Word overlap with the reference (0 to 1); the verdict ranks by it.",
    better: "higher",
    format: formatScore,
  },
  {
    key: "rouge_l",
    label: "ROUGE-L",
    explain: "Longest shared word sequence with the reference (0 to 1).",
    better: "higher",
    format: formatScore,
  },
  {
    key: "bleu",
    label: "BLEU",
    explain: "Shared word sequences with the reference, over the whole set (0 to 100).",
    better: "higher",
    format: formatBleu,
  },
  {
    key: "mean_answer_tokens",
    label: "Answer length",
    explain: "Mean answer length in tokens.",
    better: null,
    format: (v) => (isNumber(v) ? v.toFixed(1) : "–"),
  },
  {
    key: "mean_latency_s",
    label: "Latency",
    explain: "Mean time per answer, document search included.",
    better: "lower",
    format: formatSeconds,
  },
];

/** One cell of the table. */
export type Cell = { key: Metric["key"]; text: string; best: boolean };

/** One row of the table: a configuration and its scores. */
export type Row = { configuration: ColumnId; label: string; winner: boolean; cells: Cell[] };

/** The table rows, in the report's order, with the best value of each metric marked. */
export function scoreRows(report: CompareReport): Row[] {
  const scores = report.configurations;
  const best = new Map<Metric["key"], number>();
  for (const m of METRICS) {
    if (m.better === null || scores.length < 2) continue;
    const values = scores.map((s) => s[m.key]).filter(isNumber);
    if (values.length === 0) continue;
    best.set(m.key, m.better === "higher" ? Math.max(...values) : Math.min(...values));
  }
  return scores.map((s) => ({
    configuration: s.configuration,
    label: columnInfo(s.configuration).title,
    winner: s.configuration === report.verdict.winner && report.verdict.runner_up !== null,
    cells: METRICS.map((m) => ({
      key: m.key,
      text: m.format(s[m.key]),
      // Marked only where it stands out: equal to the best and not every row equal.
      best:
        best.has(m.key) &&
        s[m.key] === best.get(m.key) &&
        scores.some((o) => o[m.key] !== best.get(m.key)),
    })),
  }));
}

/** The verdict as the screen shows it. */
export type VerdictView = {
  /** The verdict sentence as the app wrote it. */
  sentence: string;
  /** The winner's name, or `null` for a single configuration. */
  winner: string | null;
  runnerUp: string | null;
  /** "+0.21 token F1", or "+40 % of answers with the right fact" when the verdict is by facts */
  margin: string | null;
  /** Whether the margin is too small to call (the app's tie margin). */
  tooClose: boolean;
  /** How much evidence stands behind it: "over 10 questions". */
  basis: string;
};

/** The token-F1 difference below which the app calls it too close (`compare::TIE_MARGIN`). */
export const TIE_MARGIN = 0.005;

/** The verdict of `report`, with its margin. */
export function verdictView(report: CompareReport): VerdictView {
  const v = report.verdict;
  const runnerUp = v.runner_up === null ? null : columnInfo(v.runner_up).short;
  return {
    sentence: v.text,
    winner: runnerUp === null ? null : columnInfo(v.winner).short,
    runnerUp,
    margin:
      runnerUp === null || !isNumber(v.margin)
        ? null
        : v.metric === "fact_recall"
          ? `+${Math.round(v.margin * 100)} % of answers with the right fact`
          : `+${v.margin.toFixed(2)} token F1`,
    tooClose: runnerUp !== null && isNumber(v.margin) && (v.metric === "fact_recall" ? v.margin <= 0 : v.margin < TIE_MARGIN),
    basis: `over ${plural(report.questions.length, "question")}`,
  };
}
