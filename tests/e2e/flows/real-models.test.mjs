// The real-model tier of the end-to-end tests (issue 18): the walkthrough a domain expert makes, by
// clicks on the real app, with the two real small models of scripts/fetch-models —
// all-MiniLM-L6-v2 (a model folder) and SmolLM2-135M-Instruct (a .gguf file):
//   Models (both imported, shown by name) -> Data (a messy review spreadsheet: the doctor's
//   findings and one-click fixes; the clinic FAQ counted in the GGUF's own tokens) -> Train
//   (feature extraction on MiniLM; a short generation LoRA on the GGUF) -> Evaluate (the
//   classifier beside always-the-majority and a word-count model) -> Chat & Compare (an index built
//   with the MiniLM imported on Models, one question in four columns, the question set in quick
//   mode with overall progress) -> History (the run page's plain summary, two runs compared, an
//   export).
// Each step also checks the walkthrough's problems stay fixed: names where paths were, no raw
// dumps or jargon, "1 epoch", each screen opening at its top, percentages as on other screens.
// Screenshots (tests/e2e/output/real-models/): the first half in the light theme at 1440x900,
// the second in the dark theme at 1024x700 (the window's smallest size).
//
// Where the models are absent: in CI (CI is set; scripts/test fetches them first) the flow fails
// and says so; run by hand, it skips with the command that fetches them, like the Rust tier.
// Kept short for CI (a few minutes on two cores): the Quick look preset (one epoch, 64 tokens),
// 107 review rows, 24 FAQ rows, a 5-question quick comparison.

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { By } from "selenium-webdriver";
import { REPO, startApp } from "../harness/app.mjs";

const MODELS = process.env.TUNESMITH_MODELS ?? path.join(os.homedir(), ".cache/tunesmith/models");
const MINILM = path.join(MODELS, "all-MiniLM-L6-v2");
const SMOLLM2 = path.join(MODELS, "SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
const FIXTURES = path.join(REPO, "tests/e2e/fixtures");
const REVIEWS = path.join(FIXTURES, "messy-reviews.csv");
const FAQ = path.join(FIXTURES, "clinic-faq.csv");
const DOCUMENTS = path.join(REPO, "assets/rag-sample/documents");
const QUESTIONS = path.join(REPO, "assets/rag-sample/questions.csv");

/** How long one training run, evaluation or comparison may take (the CPU is shared). */
// A loaded machine (other builds beside the flow) may need longer: E2E_JOB_MS=600000.
const JOB_MS = Number(process.env.E2E_JOB_MS ?? 240_000);

/** The real models this flow needs that are not on this computer. */
const missing = [path.join(MINILM, "model.safetensors"), SMOLLM2].filter((p) => !fs.existsSync(p));
const absent = missing.length > 0 ? `the real small models are missing (${missing.join(", ")}): run scripts/fetch-models` : null;

let app;
const started = Date.now();
/** The first step that failed: the steps after it depend on it and are skipped. */
let broken = null;
const runs = {};

/** Types `text` into the field matching `css`, replacing what it held. */
async function type(css, text) {
  const field = await app.find(css);
  // clear() then typing: a Ctrl+A chord leaves Ctrl held in WebKitWebDriver and the text is lost.
  await field.clear();
  await field.sendKeys(text);
}

/** Waits until `check()` returns something truthy (polling), and returns it. */
async function until(what, check, timeoutMs = JOB_MS, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const last = await check();
    if (last) return last;
    await app.driver.sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Attribute `name` of the first element matching `css`, or null. */
async function attr(css, name) {
  const [e] = await app.findAll(css);
  return e ? e.getAttribute(name) : null;
}

/** Scrolls the element matching `css` to the top of the window (or "main" back to its top). */
async function scrollTo(css) {
  await app.run(
    `const e = document.querySelector(arguments[0]);
     if (e?.tagName === "MAIN") e.scrollTop = 0; else e?.scrollIntoView({ block: "start" });`,
    css,
  );
  await app.driver.sleep(200);
}

/** The value of the <option> of `selectCss` whose text includes `text`. */
async function optionValue(selectCss, text) {
  const options = await app.findAll(`${selectCss} option`);
  for (const o of options) {
    if ((await o.getText()).includes(text)) return o.getAttribute("value");
  }
  const all = await Promise.all(options.map((o) => o.getText()));
  throw new Error(`${selectCss} has no option with "${text}"; it offers ${JSON.stringify(all)}`);
}

/**
 * Opens screen `id` from the navigation, after scrolling the current one down: the new screen must
 * open at its top (walkthrough item 9), its heading in view.
 */
async function open(id) {
  const here = await app.run(`const m = document.querySelector("main");
    if (m && m.dataset.screen !== arguments[0]) m.scrollTop = m.scrollHeight;
    return m?.dataset.screen === arguments[0];`, id);
  await app.clickNav(id);
  if (here) await scrollTo("main");
  await app.driver.wait(async () => (await app.run("return document.querySelector('main').scrollTop")) === 0, 5000, `${id} did not open at its top`);
}

/**
 * What the walkthrough found wrong in any screen's text, checked on every screen shown: no "1
 * epochs" or "1 rows have", no step time of zero, no model path into the cache or registry prefix.
 */
async function assertReadable(where) {
  // What the screen says before anything is unfolded: closed details (where paths belong) left out.
  const text = await app.run(`const m = document.querySelector("main").cloneNode(true);
    for (const d of m.querySelectorAll("details:not([open])"))
      for (const c of [...d.children]) if (c.tagName !== "SUMMARY") c.remove();
    return m.textContent.replace(/\\s+/g, " ");`);
  assert.doesNotMatch(text, /\b1 (epochs|rows have|questions|answers)\b/, `${where}: a plural after 1`);
  assert.doesNotMatch(text, /0\.00 s per step/, `${where}: a step time of zero`);
  assert.doesNotMatch(text, /\b(gguf|local)\/\S/, `${where}: a registry prefix instead of a name`);
  assert.doesNotMatch(text, /tokenizer\.json could not be read/, `${where}: the GGUF's tokenizer was looked for as a file`);
  // Plain words: "documents", not the jargon "RAG" (issue 18 item 5).
  assert.doesNotMatch(text, /\bRAG\b/, `${where}: "RAG" where the user reads`);
  for (const p of [MINILM, SMOLLM2]) {
    // The model is shown by name; its path only where the screen lists paths on purpose (the
    // Models screen's table, the path fields Train and Compare let the user type into).
    if (where !== "models") assert.ok(!text.includes(p), `${where}: the model's path ${p} is shown as text`);
  }
}

/** Imports the model folder or file `p` on the Models screen. */
async function importModel(p) {
  await type("#import-path", p);
  await app.click('[data-path-picker="import-model"] button[type=submit]');
  await app.waitForText("[data-import-result]", "Imported", JOB_MS);
  return modelRow(p);
}

/** The row of the Models screen's table that holds the model at `p` (its path is a title there). */
async function modelRow(p) {
  // The screen lists the models again each time it opens: wait for the list.
  const xpath = `//tr[@data-model-row][.//*[@title='${p}']]`;
  try {
    return await until(`the row of ${p}`, async () => (await app.driver.findElements(By.xpath(xpath)))[0], 15_000);
  } catch {
    throw new Error(`no row on the Models screen holds ${p}; rows: ${JSON.stringify(await app.texts("[data-model-row]"))}`);
  }
}

/** Chooses the model at `p` with "Use this model" on the Models screen. */
async function useModel(p) {
  await open("models");
  const [use] = await (await modelRow(p)).findElements(By.css('[data-action="use-model"]'));
  if (use) await use.click();
  await app.driver.wait(async () => (await (await modelRow(p)).findElements(By.css("[data-in-use]"))).length > 0, 5000);
}

/** Checks `file` on the Data screen and waits for the doctor's report. */
async function checkData(file) {
  await open("data");
  await type("#data-path", file);
  await app.click('[data-path-picker="data-file"] button[type=submit]');
  await app.waitForText('[data-section="data-summary"]', path.basename(file), JOB_MS);
}

/**
 * Presses the one-click fix on the doctor's card `code` and waits for the file to be read again
 * with it (the card then offers to undo it, or is gone).
 */
async function applyFix(code) {
  const offered = await app.text(`[data-fix="${code}"]`);
  await app.click(`[data-fix="${code}"]`);
  // Read in one script: the card is re-rendered while the file is read again.
  await until(`the fix "${offered}"`, () =>
    app.run(
      `const b = document.querySelector(arguments[0]);
       return !b || (!b.disabled && b.textContent.trim() !== arguments[1]);`,
      `[data-fix="${code}"]`,
      offered,
    ),
  );
}

/**
 * Waits until the Train screen's memory estimate has its answer. A new estimate (after a method or
 * preset is chosen) lands above the Advanced drawer and Start and moves them: a click aimed at them
 * while it lands can miss.
 */
async function estimateSettled() {
  await until("the memory estimate", async () => {
    const v = await attr("[data-estimate-verdict]", "data-estimate-verdict");
    return v && v !== "loading" ? v : null;
  });
}

/** Presses Start on the Train screen and waits for the run to end; fails unless it finished. */
async function train() {
  await estimateSettled();
  const start = await app.driver.findElement(By.xpath("//main//button[normalize-space(.)='Start']"));
  assert.equal(await start.isEnabled(), true, `Start is disabled: ${await app.texts("#start-blockers li")}`);
  await start.click();
  // The preparation shows progress before the first step (walkthrough item 10).
  const phase = await until("the run to end", async () => {
    const p = await attr("[data-train-status]", "data-train-status");
    return ["finished", "failed", "cancelled"].includes(p) ? p : null;
  });
  if (phase !== "finished") throw new Error(`the run ended ${phase}: ${JSON.stringify(await app.texts("main [role=alert]"))}`);
  assert.match(await app.text('[data-stat="elapsed"]'), /^\d+ (s|min)/);
}

/** The newest run's id in the home folder whose method is `method`. */
function runOf(method) {
  const dir = path.join(app.home, "runs");
  const found = fs
    .readdirSync(dir)
    .map((id) => ({ id, record: JSON.parse(fs.readFileSync(path.join(dir, id, "run.json"), "utf8")) }))
    .filter((r) => r.record.request.method === method);
  assert.equal(found.length, 1, `one ${method} run in ${dir}`);
  return found[0].id;
}

/**
 * One step of the flow: skipped when the models are absent or an earlier step failed; on failure,
 * a screenshot and the screen's text go with the error.
 */
function step(name, body) {
  test(name, { skip: absent && !process.env.CI ? absent : false }, async (t) => {
    if (broken) {
      t.skip(`needs "${broken}", which failed`);
      return;
    }
    try {
      await body(t);
    } catch (e) {
      broken = name;
      try {
        const file = await app.screenshot("FAILED");
        e.message += `\nscreenshot: ${file}\non screen: ${(await app.text("main")).slice(0, 1500)}`;
      } catch {
        // The window is gone; the error says enough.
      }
      throw e;
    }
  });
}

before(async () => {
  if (absent) {
    if (process.env.CI) throw new Error(`${absent} (CI fetches them before this step: did scripts/fetch-models fail?)`);
    return;
  }
  app = await startApp("real-models", { screen: "1440x900" });
  await app.resize(1440, 900);
});

after(async () => {
  await app?.stop();
  if (app) console.log(`# real-models flow: ${((Date.now() - started) / 1000).toFixed(0)} s`);
});

step("Models: the MiniLM folder and the SmolLM2 .gguf import, shown by their names", async () => {
  await open("models");
  for (const p of [MINILM, SMOLLM2]) {
    const row = await importModel(p);
    assert.equal(await row.getAttribute("data-supported"), "true", `${p} can be trained`);
    const name = (await (await row.findElement(By.css("[data-model-name]"))).getText()).trim();
    assert.equal(name, path.basename(p, ".gguf"), "the model by its file or folder name");
  }
  // The suggestions recognise both imports (Use, not Download; and offline, no Download at all).
  for (const id of ["sentence-transformers/all-MiniLM-L6-v2", "HuggingFaceTB/SmolLM2-135M-Instruct"]) {
    await app.find(`[data-suggested="${id}"] [data-action="use-model"]`);
  }
  assert.deepEqual(await app.findAll('[data-suggested] [data-action="download"]'), []);
  await useModel(MINILM);
  await app.waitForText("[data-selected-model]", "all-MiniLM-L6-v2");
  await assertReadable("models");
  await app.screenshot("models-light-1440");
});

step("Data: the doctor finds the messy rows of the reviews, and its one-click fixes clear them", async () => {
  await checkData(REVIEWS);
  // A row with three fields blocks training until it is skipped.
  assert.equal(await attr('[data-finding="unreadable_rows"]', "data-severity"), "error");
  await app.find('[data-next-step="blocked"]');
  for (const code of ["duplicates", "near_duplicates", "conflicts", "empty_cells", "label_spellings", "pii_email"]) {
    await app.find(`[data-finding="${code}"]`);
  }
  assert.match(await app.text('[data-section="data-summary"]'), /counted with the model's tokenizer/);
  await scrollTo('[aria-labelledby="doctor-title"]');
  await app.screenshot("data-findings-light-1440");

  for (const code of ["unreadable_rows", "conflicts", "label_spellings", "duplicates"]) await applyFix(code);
  await app.waitForText('[data-section="data-summary"]', /usable/);
  assert.equal(await attr('[data-finding="unreadable_rows"]', "data-severity"), "warning", "the unreadable row is now skipped");
  await app.click('[data-action="use-dataset"]');
  await app.waitForText('[data-next-step="train"]', "chosen for training");
  await assertReadable("data");
  await scrollTo("main");
  await app.screenshot("data-fixed-light-1440");
});

step("Train: feature extraction on MiniLM, recommended and preselected, finishes", async () => {
  await open("train");
  assert.equal(await attr("[data-recommended=true]", "data-method"), "features");
  assert.equal(await app.run("return document.querySelector('[data-recommended=true] input').checked"), true);
  await app.waitForText("[data-train-fixes]", /Duplicates left out/);
  await app.click('[data-preset="quick"]');
  await train();
  runs.features = runOf("features");
  await assertReadable("train");
  await scrollTo("[data-chart-points]");
  await app.screenshot("train-features-light-1440");
});

step("Evaluate: the classifier beside always-the-majority and a word-count model, in percent", async () => {
  await open("evaluate");
  await app.select("#eval-run", runs.features);
  await app.click('[data-action="evaluate"]');
  await app.find("[data-eval-metrics]", JOB_MS);
  for (const model of ["majority", "bag_of_words", "fine_tuned"]) {
    const score = await app.text(`[data-metric="accuracy"] [data-model="${model}"]`);
    assert.match(score, /^\d+(\.\d)? %$/, `${model} accuracy in percent, saw "${score}"`);
  }
  const headline = await app.text("[data-eval-headline]");
  assert.match(headline, /^Your model \d+\.\d %, a simple word-count model \d+\.\d %, always guessing “(positive|negative)” \d+\.\d %/);
  assert.doesNotMatch(headline, /made no difference/);
  await assertReadable("evaluate");
  await scrollTo("[data-eval-metrics]");
  await app.screenshot("evaluate-classifier-light-1440");
});

step("Data: with the SmolLM2 .gguf chosen, the clinic FAQ is counted in the GGUF's own tokens", async () => {
  await useModel(SMOLLM2);
  await checkData(FAQ);
  assert.match(await app.text('[data-fact="rows"]'), /24 read, 24 usable/);
  assert.match(await app.text('[data-section="data-summary"]'), /counted with the model's tokenizer/);
  assert.deepEqual(await app.findAll('[data-banner="data-error"]'), [], "no problem reading the file");
  await app.click('[data-action="use-dataset"]');
  await app.waitForText('[data-next-step="train"]', "chosen for training");
  await assertReadable("data");
  await app.screenshot("data-gguf-light-1440");
});

step("Train: a short generation LoRA on the GGUF finishes", async () => {
  await open("train");
  assert.equal(await (await app.find("#train-task")).getAttribute("value"), "generate");
  // The reviews' fixes stay with the reviews.
  assert.deepEqual(await app.texts("[data-train-fixes]"), []);
  await app.click('[data-method="lora"] input');
  await app.click('[data-preset="quick"]');
  // The check of what it forgot answers 100 general questions with each model, minutes on this
  // debug build; after-training.test.mjs drives it by clicks on the tiny model. Off here, by the
  // user's own switch, so the flow stays within CI's time.
  await estimateSettled();
  await app.openDrawer("[data-advanced]");
  const forgetting = () => app.run("return document.querySelector('[data-setting=\"forgetting-check\"]').checked");
  if ((await forgetting()) === true) await app.click('[data-setting="forgetting-check"]');
  assert.equal(await forgetting(), false);
  await train();
  runs.lora = runOf("lora");
  await assertReadable("train");
  await scrollTo("[data-chart-points]");
  await app.screenshot("train-lora-gguf-light-1440");
});

step("Chat & Compare (dark, 1024x700): an index with the imported MiniLM, one question in four columns", async () => {
  await app.select("#theme-select", "dark");
  await app.driver.wait(async () => (await app.run("return document.documentElement.dataset.theme")) === "dark", 5000);
  await app.resize(1024, 700);
  await open("compare");
  await app.select("#cmp-run-select", runs.lora);
  await type("#cmp-doc-paths", DOCUMENTS);
  await type("#cmp-index-name", "clinic");
  // The MiniLM imported on Models is offered by name as a model on this computer.
  const minilm = await optionValue("#cmp-embed-choice", "all-MiniLM-L6-v2");
  await app.select("#cmp-embed-choice", minilm);
  await app.click('[data-action="index"]');
  const report = await app.waitForText("[data-ingest-report]", /\d/, JOB_MS);
  assert.match(report, /^13 documents, \d+ passages in the index\. 13 added\./, report);
  await app.driver.wait(async () => (await attr("#cmp-index-select", "value")) === "clinic", 5000);
  // One question's answers get the length the question set gets: fitted to the run's training
  // answers, said under each column; the field stays empty for the user to fill (issue 18 item 4).
  await app.click('[data-section="ask"] details summary');
  assert.equal(await attr("#cmp-max-tokens", "value"), "", "no fixed answer length by default");
  await type("#cmp-question", "Who can I phone for medical advice at night?");
  await app.click('[data-action="ask"]');
  const columns = ["base", "fine_tuned", "base_rag", "fine_tuned_rag"];
  await until("every column to answer", async () => {
    const states = await Promise.all(columns.map((c) => attr(`[data-column="${c}"]`, "data-status")));
    if (states.includes("failed")) throw new Error(`a column failed: ${JSON.stringify(await app.texts("[data-column-error]"))}`);
    return states.every((s) => s === "done");
  });
  for (const c of columns) assert.ok((await app.text(`[data-column="${c}"] [data-answer]`)).length > 0, `column ${c} answered`);
  const lengths = await Promise.all(columns.map((c) => app.text(`[data-column="${c}"] [data-answer-length]`)));
  assert.match(lengths[0], /^Up to \d+ tokens: the 95th percentile of \d+ training answers/, lengths[0]);
  assert.deepEqual(new Set(lengths).size, 1, `every column the same fitted length: ${JSON.stringify(lengths)}`);
  // Sources by file name; the path only inside the folded passage.
  for (const source of await app.texts("[data-passage-source]")) assert.doesNotMatch(source, /\//, `a source by name: ${source}`);
  await assertReadable("compare");
  await scrollTo('[data-section="ask"]');
  await app.screenshot("compare-answers-dark-1024");
  await scrollTo('[data-column="base_rag"]');
  await app.screenshot("compare-sources-dark-1024");
});

step("Chat & Compare: the question set in quick mode, with overall progress, ends in plain words", async () => {
  // At 1024x700 the section's buttons sit under the status bar until it is scrolled up.
  await scrollTo('[data-section="question-set"]');
  await type("#cmp-questions-file", QUESTIONS);
  await app.click("[data-compare-quick]");
  await app.click('[data-action="compare"]');
  // Progress over the whole comparison, with the time left once an answer has come.
  await app.waitForText("[data-compare-overall]", /^\d+ of 20 answers · about .+ left$/, JOB_MS);
  await scrollTo('[data-section="question-set"]');
  await app.screenshot("compare-progress-dark-1024");
  await app.find("[data-verdict]", JOB_MS * 2);
  assert.match(await app.text("[data-compare-length]"), /A quick check: 5 of 10 questions/);
  const verdict = await app.text("[data-verdict-sentence]");
  assert.doesNotMatch(verdict, /token F1|ROUGE|BLEU/, `the verdict in plain words: ${verdict}`);
  assert.equal(await app.run("return document.querySelector('[data-verdict-details]').open"), false, "the metrics are behind a toggle");
  assert.equal((await app.findAll("[data-fact-judgements] [data-judgement]")).length, 20, "a judgement per answer");
  await assertReadable("compare");
  await scrollTo("[data-verdict]");
  await app.screenshot("compare-verdict-dark-1024");
});

step("History: the run page's plain summary, two runs compared, the LoRA run exported", async () => {
  await open("history");
  for (const id of [runs.features, runs.lora]) assert.equal(await attr(`[data-run-row="${id}"]`, "data-status"), "finished");
  await assertReadable("history");
  await app.screenshot("history-dark-1024");

  await app.click(`[data-open-run="${runs.features}"]`);
  await app.find(`[data-run-page="${runs.features}"]`);
  const summary = await app.text("[data-run-summary]");
  assert.ok(!summary.includes("config.") && !summary.includes(REVIEWS), `a plain summary: ${summary}`);
  assert.match(summary, /\d+(\.\d)? %/, `the result in percent as on Evaluate: ${summary}`);
  assert.equal(await app.run("return document.querySelector('[data-run-details]').open"), false);
  await assertReadable("history run page");
  await app.screenshot("history-run-dark-1024");

  await app.click('[data-action="back-to-runs"]');
  for (const id of [runs.features, runs.lora]) await app.click(`[data-pick="${id}"]`);
  await app.click('[data-action="compare-runs"]');
  await app.find("[data-run-compare] [data-compare-summary]");
  const compared = await app.text("[data-compare-summary]");
  assert.match(compared, /Feature extraction/);
  assert.match(compared, /LoRA/);
  assert.match(await app.text("[data-compare-model]"), /all-MiniLM-L6-v2.*SmolLM2-135M-Instruct\.Q4_1/);
  await assertReadable("history compare");
  await app.screenshot("history-compare-dark-1024");
  await scrollTo('[aria-label="Scores side by side"]');
  await app.screenshot("history-compare-scores-dark-1024");

  await app.click('[data-action="back-to-runs"]');
  await app.click(`[data-open-run="${runs.lora}"]`);
  await app.find(`[data-run-page="${runs.lora}"] [data-testid="export-panel"]`);
  await assertReadable("history LoRA run page");
  await scrollTo("[data-run-charts]");
  await app.screenshot("history-run-lora-dark-1024");
  await app.click('[data-testid="export-format-adapter"] input');
  await app.click('[data-testid="export-start"]');
  const folder = await until("the adapter export", async () => {
    const errors = await app.texts('[data-banner="export-error"]');
    if (errors.length > 0) throw new Error(`the export failed: ${errors[0]}`);
    const [shown] = await app.texts('[data-testid="export-result"] [data-testid="export-folder"]');
    return shown?.endsWith("-adapter") ? shown : null;
  });
  assert.ok(fs.existsSync(path.join(folder, "adapter_model.safetensors")), `the adapter's weights in ${folder}`);
  await scrollTo('[data-testid="export-panel"]');
  await app.screenshot("history-export-dark-1024");
});
