import { flushSync, mount, unmount } from "svelte";
import { afterEach, describe, expect, it } from "vitest";
import { compareReport, factReport } from "./fixtures";
import FactVerdict from "./FactVerdict.svelte";

let shown: ReturnType<typeof mount> | undefined;

afterEach(() => {
  if (shown) unmount(shown);
  shown = undefined;
  document.body.innerHTML = "";
});

const text = (sel: string) => document.querySelector(sel)?.textContent?.replace(/\s+/g, " ").trim() ?? "";

describe("FactVerdict", () => {
  it("leads with plain words and shows each answer's judgement", () => {
    shown = mount(FactVerdict, { target: document.body, props: { report: factReport() } });
    flushSync();
    expect(text("[data-verdict-sentence]")).toBe(
      "Your documents helped. The base model with your documents: 1 of 2 answers contained the right fact; the base model alone: 0.",
    );
    const marks = [...document.querySelectorAll("[data-judgement]")].map((e) => e.getAttribute("data-right"));
    expect(marks).toEqual(["false", "true", "false", "false"]);
    // Apart from the reference's last word ("…$30. — looked for"), not glued to it.
    expect(text("[data-fact-judgements]")).toMatch(/\S — looked for: 58 euros/);
  });

  it("lets the expert overrule a judgement and shows the corrected counts", () => {
    shown = mount(FactVerdict, { target: document.body, props: { report: factReport() } });
    flushSync();
    expect(document.querySelector("[data-verdict-corrected]")).toBeNull();
    (document.querySelector('[data-overrule="3:base_rag"]') as HTMLButtonElement).click();
    flushSync();
    expect(text("[data-verdict-corrected]")).toBe("With your corrections: base + documents 2 of 2 · base 0 of 2.");
    expect(document.querySelector('[data-judgement="base_rag"][data-right="true"]')).not.toBeNull();
  });

  it("says the verdict compares wording when no reference has a fact to check", () => {
    shown = mount(FactVerdict, { target: document.body, props: { report: compareReport() } });
    flushSync();
    expect(text("[data-verdict]")).toContain("No reference answer has a number, name or date");
    expect(document.querySelector("[data-fact-judgements]")).toBeNull();
  });

  it("reads an answer with some of the reference's facts as partly right, names what it has and lacks, and counts them", () => {
    const report = factReport();
    const q = report.questions[1];
    q.reference = "You can cancel up to 24 hours before; later cancellations cost $30.";
    q.facts = ["24 hours", "$30"];
    q.answers[1] = { ...q.answers[1], text: "You can cancel at least 24 hours before.", contains_fact: false, facts_found: ["24 hours"], facts_missing: ["$30"] };
    shown = mount(FactVerdict, { target: document.body, props: { report } });
    flushSync();
    const partly = document.querySelector('[data-overrule="3:base_rag"]')!.closest("li")!;
    expect(partly.getAttribute("data-finding")).toBe("partly");
    expect(partly.getAttribute("data-right")).toBe("false");
    expect(partly.querySelector(".cmp-judgement")!.textContent).toBe("◐ partly right: has 24 hours, lacks $30");
    expect(text("[data-verdict-partly]")).toContain("base + documents 1");
    // A wholly wrong answer names the fact it lacks.
    const wrong = document.querySelector('[data-overrule="2:base"]')!.closest("li")!;
    expect(wrong.querySelector(".cmp-judgement")!.textContent).toBe("✗ missing 58 euros");
    // The expert's overrule still decides, and a corrected answer leaves the partly-right count.
    (document.querySelector('[data-overrule="3:base_rag"]') as HTMLButtonElement).click();
    flushSync();
    expect(partly.querySelector(".cmp-judgement")!.textContent).toBe("✓ right (your correction)");
    expect(text("[data-verdict-corrected]")).toBe("With your corrections: base + documents 2 of 2 · base 0 of 2.");
    expect(document.querySelector("[data-verdict-partly]")).toBeNull();
  });
});
