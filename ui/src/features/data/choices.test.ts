import { describe, expect, it } from "vitest";
import {
  chooseColumn,
  chooseTask,
  freshChoices,
  inspectRequest,
  isDatasetPath,
  roleLabel,
  roleSlots,
  selectionFor,
  withFix,
} from "./choices";
import type { InspectReport } from "./types";

const report = (task: "classify" | "generate"): InspectReport => ({
  file: "/d/x.csv",
  format: "csv",
  encoding: "utf-8",
  has_header: true,
  task,
  rows: 100,
  usable_rows: 97,
  columns:
    task === "classify"
      ? [
          { name: "id", role: "id", guessed_from: "name" },
          { name: "review", role: "text", guessed_from: "content" },
          { name: "sentiment", role: "label", guessed_from: "name" },
        ]
      : [
          { name: "question", role: "prompt", guessed_from: "name" },
          { name: "answer", role: "response", guessed_from: "name" },
        ],
  label_counts: {},
  label_suggestions: [],
  duplicates: 0,
  near_duplicates: 0,
  conflicts: 0,
  empty: 0,
  unreadable: 0,
  pii: {},
  length: { method: "estimate", max_len: 512, min: 1, median: 5, p95: 9, max: 10, mean: 5, truncated: 0 },
  split: { train: 77, validation: 10, test: 10, seed: 42, stratified: true, groups: 0, small_classes: [] },
  fingerprint: "f",
  warnings: [],
  errors: [],
});

describe("data choices", () => {
  it("asks for a fresh file with every role guessed and no fix", () => {
    const req = inspectRequest(freshChoices("/d/x.csv"), undefined);
    expect(req.file).toBe("/d/x.csv");
    expect(req.text_column).toBeNull();
    expect(req.model).toBeNull();
    expect(req.fixes?.drop_duplicates).toBe(false);
  });

  it("sends a column the user chose and the model that counts tokens", () => {
    const choices = chooseColumn(freshChoices("/d/x.csv"), "label_column", "sentiment");
    const req = inspectRequest(choices, "o/bert");
    expect(req.label_column).toBe("sentiment");
    expect(req.model).toBe("o/bert");
  });

  it("switches the task and forgets the old task's columns", () => {
    const c = chooseTask(chooseColumn(freshChoices("/f"), "label_column", "sentiment"), "generate");
    const req = inspectRequest(c, undefined);
    expect(req.task).toBe("generate");
    expect(req.label_column).toBeNull();
    expect(inspectRequest(freshChoices("/f"), undefined).task).toBeNull();
  });

  it("applies a fix from a finding card to the choices", () => {
    const c = withFix(freshChoices("/f"), (o) => ({ ...o, max_len: 256 }));
    expect(c.max_len).toBe(256);
    expect(c.file).toBe("/f");
  });

  it("asks text and label for classification, prompt and response for generation", () => {
    expect(roleSlots("classify").map((s) => s.key)).toEqual(["text_column", "label_column"]);
    expect(roleSlots("generate").map((s) => s.key)).toEqual(["prompt_column", "response_column"]);
    expect(roleLabel("id")).toContain("not trained on");
  });

  it("puts the task, the role columns and the usable rows into the selection", () => {
    expect(selectionFor(report("classify"), "/d/x.csv", ["id", "review", "sentiment"])).toEqual({
      data: "/d/x.csv",
      task: "classify",
      text_column: "review",
      label_column: "sentiment",
      prompt_column: undefined,
      response_column: undefined,
      columns: ["id", "review", "sentiment"],
      rows: 97,
    });
    const gen = selectionFor(report("generate"), "/d/q.jsonl", ["question", "answer"]);
    expect(gen.prompt_column).toBe("question");
    expect(gen.text_column).toBeUndefined();
  });

  it("recognises dataset files by extension", () => {
    expect(isDatasetPath("/home/a/reviews.CSV")).toBe(true);
    expect(isDatasetPath("C:\\data\\chat.jsonl")).toBe(true);
    expect(isDatasetPath("/home/a/model.gguf")).toBe(false);
    expect(isDatasetPath("/home/a/folder")).toBe(false);
  });

  it("ties the chosen fixes to the file they were chosen for, with the label shares", () => {
    const fixes = { ...freshChoices("/d/x.csv").fixes, drop_duplicates: true };
    const withLabels = { ...report("classify"), label_counts: { pos: 60, neg: 37 } };
    const picked = selectionFor(withLabels, "/d/x.csv", ["review", "sentiment"], fixes);
    expect(picked.fixesFor).toBe("/d/x.csv");
    expect(picked.fixes).toEqual(fixes);
    expect(picked.labelCounts).toEqual({ pos: 60, neg: 37 });
  });
});
