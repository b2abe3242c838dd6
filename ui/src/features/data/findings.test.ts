import { describe, expect, it } from "vitest";
import { appliedFixes, cardAction, findingCards, findingTitle, NO_FIXES, suggestedMaxLen, type FixOptions } from "./findings";
import type { Finding } from "./types";

const finding = (code: string, fix: string | null, severity: "error" | "warning" = "warning"): Finding => ({
  code,
  severity,
  message: `${code} found`,
  why: `why ${code}`,
  fix,
  count: 3,
  rows: [2, 5, 9],
});

const fresh: FixOptions = { fixes: NO_FIXES, max_len: null };

describe("finding cards", () => {
  it("turns duplicates into a one-click fix that sets drop_duplicates", () => {
    const action = cardAction(finding("duplicates", "--drop-duplicates"), fresh);
    expect(action.kind).toBe("fix");
    if (action.kind !== "fix") return;
    expect(action.label).toBe("Leave out duplicates");
    expect(action.apply(fresh).fixes.drop_duplicates).toBe(true);
    expect(action.apply(fresh).fixes.drop_conflicts).toBe(false);
  });

  it("offers to undo a fix that is already applied", () => {
    const applied: FixOptions = { fixes: { ...NO_FIXES, drop_conflicts: true }, max_len: null };
    const action = cardAction(finding("conflicts", "--drop-conflicts (applied)"), applied);
    expect(action.kind).toBe("undo");
    if (action.kind === "undo") expect(action.apply(applied).fixes.drop_conflicts).toBe(false);
  });

  it("maps every switch the data crate has to its finding", () => {
    const flags = ["empty_cells", "label_spellings", "unreadable_rows", "near_duplicates"].map((code) => {
      const a = cardAction(finding(code, "--x"), fresh);
      return a.kind === "fix" ? Object.entries(a.apply(fresh).fixes).find(([, v]) => v)?.[0] : undefined;
    });
    expect(flags).toEqual(["drop_empty", "merge_labels", "skip_bad_rows", "drop_duplicates"]);
  });

  it("reads the suggested maximum length from a truncation finding", () => {
    expect(suggestedMaxLen("--max-len 384")).toBe(384);
    expect(suggestedMaxLen("add rows")).toBeNull();
    const a = cardAction(finding("truncated", "--max-len 384"), fresh);
    expect(a.kind === "fix" && a.apply(fresh).max_len).toBe(384);
  });

  it("points a missing column at the column choices and keeps plain advice as text", () => {
    expect(cardAction(finding("no_label_column", "--label-column NAME", "error"), fresh).kind).toBe("choose_column");
    expect(cardAction(finding("few_rows", "add more rows"), fresh)).toEqual({ kind: "advice", text: "add more rows" });
    expect(cardAction(finding("class_missing_from_split", null), fresh).kind).toBe("none");
  });

  it("lists blocking findings first with readable titles", () => {
    const cards = findingCards([finding("one_class", "x", "error")], [finding("pii_email", "remove them")], fresh);
    expect(cards.map((c) => c.title)).toEqual(["Only one class", "E-mail addresses"]);
    expect(cards[0].severity).toBe("error");
    expect(cards[1].why).toBe("why pii_email");
    expect(findingTitle("brand_new_code")).toBe("Brand new code");
  });

  it("lists the fixes in force with a way back", () => {
    const options: FixOptions = { fixes: { ...NO_FIXES, drop_empty: true }, max_len: 256 };
    const applied = appliedFixes(options);
    expect(applied.map((a) => a.label)).toEqual(["Empty rows left out", "Maximum length 256 tokens"]);
    expect(applied[1].remove(options).max_len).toBeNull();
    expect(appliedFixes(fresh)).toEqual([]);
  });
});
