// The data doctor's findings as the cards of the Data screen: a short title, what was found, why
// it matters, and the one-click fix where the inspection has an option for it (the data crate's
// `Fixes` and maximum length; crates/data/src/doctor.rs names each finding's fix). Findings whose
// fix is to pick another column point at the column choices; the rest keep the doctor's advice.

import type { Finding, Fixes } from "./types";

/** The options a fix changes: the doctor's fixes and the maximum token length. */
export type FixOptions = { fixes: Fixes; max_len: number | null };

/** What a card offers. */
export type CardAction =
  /** One click re-inspects with this option changed. */
  | { kind: "fix"; label: string; apply: (o: FixOptions) => FixOptions }
  /** The fix is applied; one click takes it back. */
  | { kind: "undo"; label: string; apply: (o: FixOptions) => FixOptions }
  /** The fix is to choose another column in the role choices. */
  | { kind: "choose_column"; label: string }
  /** Only the user can fix it, in the file; the advice says how. */
  | { kind: "advice"; text: string }
  | { kind: "none" };

/** One finding's card. */
export type FindingCard = {
  code: string;
  severity: "error" | "warning";
  title: string;
  message: string;
  why: string;
  count: number;
  rows: number[];
  action: CardAction;
};

const TITLES: Record<string, string> = {
  unreadable_rows: "Rows that cannot be read",
  header_only: "Only a header, no rows",
  no_rows: "No rows",
  no_text_column: "No text column",
  no_label_column: "No label column",
  no_prompt_column: "No prompt or response column",
  no_usable_rows: "No usable rows",
  one_class: "Only one class",
  label_looks_like_text: "The labels look like text",
  encoding_converted: "Converted to UTF-8",
  mixed_encoding: "Mixed text encodings",
  empty_cells: "Empty cells",
  duplicates: "Exact duplicates",
  near_duplicates: "Near duplicates",
  conflicts: "Same text, different labels",
  label_spellings: "One class, several spellings",
  multi_label: "Several labels in one cell",
  imbalance: "Imbalanced classes",
  small_classes: "Small classes",
  class_missing_from_split: "A class is missing from a split",
  few_rows: "Few examples",
  truncated: "Too long for the maximum length",
  pii_email: "E-mail addresses",
  pii_phone: "Phone numbers",
  pii_card: "Payment card numbers",
  pii_iban: "Bank account numbers (IBAN)",
};

/** A finding's short title (its code in words when the code is new). */
export function findingTitle(code: string): string {
  const known = TITLES[code];
  if (known) return known;
  const words = code.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

type Toggle = { flag: keyof Fixes; on: string; off: string };

/** Findings fixed by one of the doctor's switches. */
const TOGGLES: Record<string, Toggle> = {
  duplicates: { flag: "drop_duplicates", on: "Leave out duplicates", off: "Keep duplicates" },
  near_duplicates: { flag: "drop_duplicates", on: "Leave out duplicates", off: "Keep duplicates" },
  conflicts: { flag: "drop_conflicts", on: "Leave out conflicting rows", off: "Keep conflicting rows" },
  empty_cells: { flag: "drop_empty", on: "Leave out empty rows", off: "Show empty rows again" },
  label_spellings: { flag: "merge_labels", on: "Merge the spellings", off: "Keep the spellings apart" },
  unreadable_rows: { flag: "skip_bad_rows", on: "Skip unreadable rows", off: "Stop skipping them" },
};

/** Findings fixed by choosing another column. */
const CHOOSE_COLUMN = new Set(["no_text_column", "no_label_column", "no_prompt_column", "label_looks_like_text"]);

/** The maximum length a `--max-len N` fix names, if any. */
export function suggestedMaxLen(fix: string | null): number | null {
  const m = fix?.match(/--max-len\s+(\d+)/);
  return m ? Number(m[1]) : null;
}

/** The action a finding's card offers, given the options the report was made with. */
export function cardAction(finding: Finding, options: FixOptions): CardAction {
  const toggle = TOGGLES[finding.code];
  if (toggle) {
    const flag = toggle.flag;
    return options.fixes[flag]
      ? { kind: "undo", label: toggle.off, apply: (o) => ({ ...o, fixes: { ...o.fixes, [flag]: false } }) }
      : { kind: "fix", label: toggle.on, apply: (o) => ({ ...o, fixes: { ...o.fixes, [flag]: true } }) };
  }
  if (finding.code === "truncated") {
    const len = suggestedMaxLen(finding.fix);
    if (len !== null) return { kind: "fix", label: `Use a maximum length of ${len} tokens`, apply: (o) => ({ ...o, max_len: len }) };
  }
  if (CHOOSE_COLUMN.has(finding.code)) return { kind: "choose_column", label: "Choose the column" };
  if (finding.fix && !finding.fix.startsWith("--")) return { kind: "advice", text: finding.fix };
  return { kind: "none" };
}

/** The cards for a report: blocking findings first, each group in the doctor's order. */
export function findingCards(errors: Finding[], warnings: Finding[], options: FixOptions): FindingCard[] {
  return [...errors, ...warnings].map((f) => ({
    code: f.code,
    severity: f.severity,
    title: findingTitle(f.code),
    message: f.message,
    why: f.why,
    count: f.count,
    rows: f.rows,
    action: cardAction(f, options),
  }));
}

/** No fix chosen: what a fresh file is inspected with. */
export const NO_FIXES: Fixes = {
  drop_duplicates: false,
  drop_conflicts: false,
  drop_empty: false,
  merge_labels: false,
  skip_bad_rows: false,
};

const APPLIED_LABELS: Record<keyof Fixes, string> = {
  drop_duplicates: "Duplicates left out",
  drop_conflicts: "Conflicting rows left out",
  drop_empty: "Empty rows left out",
  merge_labels: "Label spellings merged",
  skip_bad_rows: "Unreadable rows skipped",
};

/** A fix in force and how to take it back. */
export type AppliedFix = { key: string; label: string; remove: (o: FixOptions) => FixOptions };

/** The fixes in force, each with how to take it back (some silence their finding when applied). */
export function appliedFixes(options: FixOptions): AppliedFix[] {
  const out: AppliedFix[] = (Object.keys(APPLIED_LABELS) as (keyof Fixes)[])
    .filter((flag) => options.fixes[flag])
    .map((flag) => ({
      key: flag,
      label: APPLIED_LABELS[flag],
      remove: (o: FixOptions) => ({ ...o, fixes: { ...o.fixes, [flag]: false } }),
    }));
  if (options.max_len !== null) {
    out.push({ key: "max_len", label: `Maximum length ${options.max_len} tokens`, remove: (o) => ({ ...o, max_len: null }) });
  }
  return out;
}
