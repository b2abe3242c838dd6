// Blind A/B rating on the Chat & Compare screen: the round in progress (what is rated, the two
// columns, the order the app drew, where the expert is), each choice recorded in the history as it
// is made, the tally in plain words, and the export of preference pairs.
//
// Promises:
// - The source of each answer stays hidden until that question is rated; the order comes from the
//   app's seed and the app re-draws it when recording, so what is stored un-blinds correctly.
// - A failure is kept as a message next to what caused it; nothing is swallowed. Rating a question
//   again replaces the earlier rating (the app keeps one per question and pair).

import { commands } from "../../bindings";
import { errorMessage, unwrap } from "../../shared/api";
import { defaultPair, ratableColumns, type RatingSource } from "./rating";
import type { BlindOrder, Choice, ColumnId, RateArgs, Rating, RatingsExport, RatingsTally } from "./types";

/** What rating needs from the app. */
export interface RatingBackend {
  /** A fresh seed and the order of `items` questions. */
  blind(items: number): Promise<BlindOrder>;
  /** Records one rating. */
  add(args: RateArgs): Promise<Rating>;
  /** The win rates (of one run, or all). */
  tally(run: string | null): Promise<RatingsTally>;
  /** Writes the preference pairs and corrected rows into the app's ratings folder. */
  exportAll(run: string | null): Promise<RatingsExport>;
}

/**
 * A tally read defensively, as the screen's lists are (see backend.ts): an answer of another shape
 * reads as no ratings, so the panel never breaks on an app that answers differently.
 */
export function tallyOf(value: unknown): RatingsTally {
  const t = value as Partial<RatingsTally> | null;
  if (t !== null && typeof t === "object" && Array.isArray(t.pairs)) return t as RatingsTally;
  return { ratings: 0, pairs: [], rule: "" };
}

/** The real backend: the app's generated commands. */
export const tauriRatingBackend: RatingBackend = {
  blind: (items) => unwrap(commands.ratingsBlind(items)),
  add: (args) => unwrap(commands.ratingsAdd(args)),
  tally: async (run) => tallyOf(await unwrap(commands.ratingsTally(run))),
  exportAll: (run) => unwrap(commands.ratingsExport({ run })),
};

/** One round of blind ratings. */
export class BlindRating {
  /** What is being rated (null: no round started). */
  source = $state<RatingSource | null>(null);
  a = $state<ColumnId>("base");
  b = $state<ColumnId>("fine_tuned");
  order = $state<BlindOrder | null>(null);
  /** The question shown (index into `source.items`). */
  index = $state(0);
  /** The choice recorded for each question rated in this round. */
  choices = $state<Record<number, Choice>>({});
  corrected = $state("");
  saving = $state(false);
  error = $state<string | null>(null);
  tally = $state<RatingsTally | null>(null);
  exported = $state<RatingsExport | null>(null);
  exporting = $state(false);
  exportError = $state<string | null>(null);

  constructor(private readonly backend: RatingBackend = tauriRatingBackend) {}

  /** Whether a round is under way. */
  get active(): boolean {
    return this.source !== null && this.order !== null;
  }

  /** The question shown, if any. */
  get current() {
    return this.source?.items[this.index] ?? null;
  }

  /** The column shown first for the question shown. */
  get first() {
    return this.order?.first[this.index] ?? "a";
  }

  /** The choice already made for the question shown, if any (then its sources are shown). */
  get currentChoice(): Choice | null {
    return this.choices[this.index] ?? null;
  }

  /** How many questions of the round are rated. */
  get rated(): number {
    return Object.keys(this.choices).length;
  }

  /** Why a round of `source` with columns a/b cannot start, or `null` when it can. */
  problemFor(source: RatingSource | null, a: ColumnId, b: ColumnId): string | null {
    if (source === null) return "Ask a question above or compare over a question set first: rating needs two columns' answers.";
    const columns = ratableColumns(source);
    if (columns.length < 2) return "Only one column answered: rating needs the answers of two columns.";
    if (a === b) return "Pick two different columns.";
    if (!columns.includes(a) || !columns.includes(b)) return "Pick two columns that answered.";
    return null;
  }

  /** Picks the default pair for `source`'s columns when the current pair does not fit. */
  fitPair(source: RatingSource | null): void {
    const columns = ratableColumns(source);
    // Two equal columns are the user's choice in progress (the panel says so); only a column that
    // did not answer is replaced.
    if (columns.includes(this.a) && columns.includes(this.b)) return;
    const pair = defaultPair(columns);
    if (pair) [this.a, this.b] = pair;
  }

  /** Starts a round over `source` with the chosen columns: the app draws the blind order. */
  async start(source: RatingSource): Promise<void> {
    if (this.problemFor(source, this.a, this.b) !== null) return;
    this.error = null;
    try {
      const order = await this.backend.blind(source.items.length);
      this.source = source;
      this.order = order;
      this.index = 0;
      this.choices = {};
      this.corrected = "";
    } catch (e) {
      this.error = `Could not start rating: ${errorMessage(e)}`;
    }
  }

  /** Records `choice` for the question shown (with the corrected answer, if written). */
  async choose(choice: Choice): Promise<void> {
    const source = this.source;
    const order = this.order;
    const item = this.current;
    if (source === null || order === null || item === null || this.saving) return;
    this.saving = true;
    this.error = null;
    try {
      await this.backend.add({
        run: source.run,
        comparison: source.comparison,
        item: item.item,
        prompt: item.prompt,
        reference: item.reference,
        a: { configuration: this.a, text: item.answers[this.a] ?? "" },
        b: { configuration: this.b, text: item.answers[this.b] ?? "" },
        seed: order.seed,
        choice,
        corrected: this.corrected.trim() === "" ? null : this.corrected.trim(),
      });
      this.choices = { ...this.choices, [this.index]: choice };
      await this.refreshTally();
    } catch (e) {
      this.error = `Could not record the rating: ${errorMessage(e)}`;
    } finally {
      this.saving = false;
    }
  }

  /** Shows question `index` (its corrected answer starts empty). */
  goTo(index: number): void {
    const n = this.source?.items.length ?? 0;
    if (index < 0 || index >= n) return;
    this.index = index;
    this.corrected = "";
  }

  /** Shows the next question not yet rated, else the next one. */
  next(): void {
    const n = this.source?.items.length ?? 0;
    for (let step = 1; step <= n; step++) {
      const i = (this.index + step) % n;
      if (this.choices[i] === undefined) return this.goTo(i);
    }
    this.goTo(Math.min(this.index + 1, n - 1));
  }

  /** Ends the round (the ratings stay in the history). */
  stop(): void {
    this.source = null;
    this.order = null;
    this.choices = {};
    this.corrected = "";
  }

  /** Reads the tally again: of `run`, by default the round's run (or of every rating without one). */
  async refreshTally(run: string | null = this.source?.run ?? null): Promise<void> {
    try {
      this.tally = await this.backend.tally(run);
    } catch (e) {
      this.error = `Could not tally the ratings: ${errorMessage(e)}`;
    }
  }

  /** Exports the ratings as preference pairs (and corrected answers as training rows). */
  async exportRatings(): Promise<void> {
    this.exporting = true;
    this.exportError = null;
    this.exported = null;
    try {
      this.exported = await this.backend.exportAll(this.source?.run ?? null);
    } catch (e) {
      this.exportError = errorMessage(e);
    } finally {
      this.exporting = false;
    }
  }
}

/** The one round the app's screen uses, alive for the whole app. */
export const blindRating = new BlindRating();
