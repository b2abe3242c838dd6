import { describe, expect, it } from "vitest";
import {
  addPaths,
  describeProblem,
  indexLabel,
  indexNameProblem,
  ingestFraction,
  ingestProgressText,
  parsePaths,
  problemLines,
  reportSummary,
  statusCounts,
  suggestIndexName,
  warningLines,
} from "./documents";
import { ingestReport } from "./fixtures";

describe("index names", () => {
  it("accepts what the app accepts and explains what it refuses", () => {
    expect(indexNameProblem("clinic-docs_v2.1")).toBeNull();
    expect(indexNameProblem("")).toMatch(/Give the index a name/);
    expect(indexNameProblem("my docs")).toMatch(/no spaces/);
    expect(indexNameProblem(".hidden")).toMatch(/dot/);
    expect(indexNameProblem("x".repeat(65))).toMatch(/64/);
    expect(indexNameProblem("x".repeat(64))).toBeNull();
  });

  it("suggests a usable name from the first path", () => {
    expect(suggestIndexName(["/home/ada/Clinic docs"])).toBe("Clinic-docs");
    expect(suggestIndexName(["/home/ada/handbook.pdf", "/x"])).toBe("handbook");
    expect(suggestIndexName([])).toBe("");
    for (const p of ["/a/ b c /", "/a/..weird", "/a/été"]) {
      const name = suggestIndexName([p]);
      if (name !== "") expect(indexNameProblem(name)).toBeNull();
    }
  });
});

describe("the path field", () => {
  it("reads one path per line, ignoring blanks, spaces and repeats", () => {
    expect(parsePaths(" /a \n\n/b\r\n/a\n")).toEqual(["/a", "/b"]);
  });

  it("adds browsed paths after the typed ones", () => {
    expect(addPaths("/a", ["/b", "/a"])).toBe("/a\n/b");
    expect(addPaths("", ["/b"])).toBe("/b");
  });
});

describe("indexing progress", () => {
  it("cannot say how far it is until files are read", () => {
    expect(ingestFraction({ stage: "found", files: 3 })).toBeNull();
    expect(ingestProgressText({ stage: "found", files: 1 })).toBe("Found 1 file to index.");
  });

  it("fills the first half while reading and the second while embedding", () => {
    expect(ingestFraction({ stage: "reading", done: 1, total: 4, source: "/d/a.md" })).toBe(0.125);
    expect(ingestFraction({ stage: "embedding", done: 5, total: 10 })).toBe(0.75);
    expect(ingestProgressText({ stage: "reading", done: 1, total: 4, source: "/d/a.md" })).toBe(
      "Reading a.md (file 2 of 4).",
    );
    expect(ingestProgressText({ stage: "embedding", done: 5, total: 10 })).toBe(
      "Embedding passages: 5 of 10.",
    );
  });
});

describe("the indexing report", () => {
  it("lists every skipped document with its reason, the app's words first", () => {
    const lines = problemLines(ingestReport());
    expect(lines.map((l) => [l.name, l.kind])).toEqual([
      ["empty.txt", "empty"],
      ["huge.txt", "too_large"],
    ]);
    expect(lines[0].message).toBe("empty: it holds no text");
    // Without a message from the app, the problem itself is put in words.
    expect(lines[1].message).toBe("too large: 52.4 MB, over the 20.0 MB limit; split it into smaller files");
  });

  it("puts every kind of problem in words", () => {
    expect(describeProblem({ kind: "unreadable", reason: "not a zip" })).toBe("unreadable: not a zip");
    expect(describeProblem({ kind: "no_text_layer", pages: 2 })).toMatch(/2 pages are images/);
    expect(describeProblem({ kind: "unsupported", extension: "xls" })).toMatch(/\.xls/);
    expect(describeProblem({ kind: "unsupported", extension: "" })).toMatch(/no extension/);
  });

  it("counts outcomes and sums them up", () => {
    const report = ingestReport();
    expect(statusCounts(report)).toEqual({ added: 2, updated: 0, unchanged: 1, skipped: 2 });
    expect(reportSummary(report)).toBe(
      "3 documents, 7 passages in the index. 2 added, 1 unchanged, 2 skipped, 1 removed (no longer among the inputs).",
    );
    expect(warningLines(report)).toEqual([
      { source: "/docs/latin1.txt", name: "latin1.txt", warning: "not UTF-8: read as Windows-1252" },
    ]);
  });

  it("labels indexes with their size, and keyword-only ones as such", () => {
    const settings = { embed_model: null, dimension: 0, tokenizer: "ws", chunk_tokens: 200, overlap_tokens: 40 };
    expect(indexLabel({ name: "docs", path: "/r/docs.sqlite3", settings, documents: 1, chunks: 12 })).toBe(
      "docs: 1 document, 12 passages, keywords only",
    );
    expect(
      indexLabel({ name: "docs", path: "", settings: { ...settings, embed_model: "m" }, documents: 2, chunks: 1 }),
    ).toBe("docs: 2 documents, 1 passage");
  });
});
