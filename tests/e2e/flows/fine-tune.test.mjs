// The fine-tuning path, end to end on the real app, by clicks (paths are typed into the path
// fields: native file dialogs cannot be driven): Models (import two tiny models) -> Data (the
// doctor's findings on a small CSV) -> Train (features on a classifier, then LoRA on a generator,
// loss points arriving while each runs) -> Evaluate (metrics of both runs) -> Chat & Compare (a
// document index, one question answered in all four columns, a question set scored into a verdict,
// three of its answers rated blind and exported as preference pairs)
// -> History (both runs in the table, a run's page, the LoRA run exported as GGUF and as an adapter).
// Screenshots: tests/e2e/output/fine-tune/.
//
// Nothing reaches the network: the harness gives the app an empty HF_HOME and HF_HUB_OFFLINE=1. The
// document index embeds with all-MiniLM-L6-v2 (the folder scripts/fetch-models writes, typed in as
// "another model" next to the Build button) when it is there, and is keyword-only when it is not.
//
// The generator is tests/fixtures/tiny-llama with its context raised from 128 to 4096 positions
// (a copy made here; RoPE has no position table, so only the limit changes): with a byte-level
// tokenizer, one retrieved passage alone is longer than 128 tokens, and the app offers no passage
// size, so the "+ documents" columns could not answer with the original.

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { By } from "selenium-webdriver";
import { REPO, startApp } from "../harness/app.mjs";

const FIXTURES = path.join(REPO, "tests/e2e/fixtures");
const TINY_BERT = path.join(REPO, "tests/fixtures/tiny-bert");
const TICKETS = path.join(FIXTURES, "support-tickets.csv");
const FACTS = path.join(FIXTURES, "project-facts.csv");
const DOCUMENTS = path.join(REPO, "assets/rag-sample/documents");
const QUESTIONS = path.join(REPO, "assets/rag-sample/questions.csv");
const MINILM = path.join(os.homedir(), ".cache/tunesmith/models/all-MiniLM-L6-v2");

/** How long one training run, evaluation or comparison may take (the CPU is shared). */
const JOB_MS = 150_000;

let app;
let scratch;
/** The first step that failed: the steps after it depend on it and are skipped. */
let broken = null;
let tinyLlama;
const runs = {};

/** A copy of tiny-llama whose context holds retrieved passages. */
function longContextLlama(dir) {
  const source = path.join(REPO, "tests/fixtures/tiny-llama");
  fs.mkdirSync(dir, { recursive: true });
  for (const file of ["model.safetensors", "tokenizer.json", "generation_config.json"]) {
    fs.copyFileSync(path.join(source, file), path.join(dir, file));
  }
  const config = JSON.parse(fs.readFileSync(path.join(source, "config.json"), "utf8"));
  config.max_position_embeddings = 4096;
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
  const tokenizer = JSON.parse(fs.readFileSync(path.join(source, "tokenizer_config.json"), "utf8"));
  tokenizer.model_max_length = 4096;
  fs.writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(tokenizer, null, 2));
  return dir;
}

/** Types `text` into the field matching `css`, replacing what it held. */
async function type(css, text) {
  const field = await app.find(css);
  // clear() then typing: a Ctrl+A chord leaves Ctrl held in WebKitWebDriver and the text is lost.
  await field.clear();
  await field.sendKeys(text);
}

/** The button inside `scope` whose visible text is `label`. */
async function button(label, scope = "//main") {
  return app.driver.findElement(By.xpath(`${scope}//button[normalize-space(.)='${label}']`));
}

/**
 * Scrolls the element matching `css` to the top of the window, or with "main" the screen back to
 * its top (main is the scrolling box), for the screenshot that follows.
 */
async function scrollTo(css) {
  await app.run(
    `const e = document.querySelector(arguments[0]);
     if (e?.tagName === "MAIN") e.scrollTop = 0; else e?.scrollIntoView({ block: "start" });`,
    css,
  );
  await app.driver.sleep(200);
}

/** Waits until `check()` returns something truthy (polling), and returns it. */
async function until(what, check, timeoutMs = JOB_MS, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
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

/** The value of the <option> of `selectCss` whose text includes `text`. */
async function optionValue(selectCss, text) {
  const options = await app.findAll(`${selectCss} option`);
  for (const o of options) {
    if ((await o.getText()).includes(text)) return o.getAttribute("value");
  }
  const all = await Promise.all(options.map((o) => o.getText()));
  throw new Error(`${selectCss} has no option with "${text}"; it offers ${JSON.stringify(all)}`);
}

/** Imports the model folder `dir` on the Models screen and returns its registry row id. */
async function importModel(dir) {
  await type("#import-path", dir);
  await app.click('[data-path-picker="import-model"] button[type=submit]');
  await app.waitForText("[data-import-result]", "Imported", JOB_MS);
  return (await modelRow(dir)).getAttribute("data-model-row");
}

/** The row of the Models screen's table that holds the model in `dir` (its path is the title). */
async function modelRow(dir) {
  const rows = await app.driver.findElements(By.xpath(`//tr[@data-model-row][.//*[@title='${dir}']]`));
  if (rows.length === 0) {
    const shown = await app.texts("[data-model-row]");
    throw new Error(`no row on the Models screen holds ${dir}; rows: ${JSON.stringify(shown)}`);
  }
  return rows[0];
}

/** Chooses the model whose row shows `dir` with "Use this model". */
async function useModel(dir) {
  await app.clickNav("models");
  const row = await modelRow(dir);
  const [use] = await row.findElements(By.css('[data-action="use-model"]'));
  if (use) await use.click();
  await app.driver.wait(async () => (await (await modelRow(dir)).findElements(By.css("[data-in-use]"))).length > 0, 5000);
}

/** Checks `file` on the Data screen and waits for the doctor's report. */
async function checkData(file) {
  await app.clickNav("data");
  await type("#data-path", file);
  await app.click('[data-path-picker="data-file"] button[type=submit]');
  await app.waitForText('[data-section="data-summary"]', path.basename(file), JOB_MS);
}

/**
 * Presses Start on the Train screen and follows the run to its end. Returns every distinct count
 * of loss points the chart showed, in order (recorded in the page by a MutationObserver, so even
 * a run of a second shows its points arriving).
 */
async function trainAndWatch() {
  await app.run(`
    window.__points = [];
    const note = () => {
      const e = document.querySelector("[data-chart-points]");
      const n = e ? Number(e.dataset.chartPoints) : null;
      if (n !== null && n !== window.__points.at(-1)) window.__points.push(n);
    };
    window.__pointsObserver?.disconnect();
    window.__pointsObserver = new MutationObserver(note);
    window.__pointsObserver.observe(document.querySelector("main"), {
      subtree: true, childList: true, attributes: true, attributeFilter: ["data-chart-points"],
    });`);
  const start = await button("Start");
  assert.equal(await start.isEnabled(), true, `Start is disabled: ${await app.texts("#start-blockers li")}`);
  await start.click();
  const phase = await until("the run to end", async () => {
    const p = await attr("[data-train-status]", "data-train-status");
    return ["finished", "failed", "cancelled"].includes(p) ? p : null;
  });
  const seen = await app.run("window.__pointsObserver.disconnect(); return window.__points;");
  if (phase !== "finished") {
    const problem = await app.texts("main [role=alert]");
    throw new Error(`the run ended ${phase}: ${JSON.stringify(problem)}`);
  }
  return seen;
}

/**
 * Asserts that the chart of the new run (from where it was emptied: the previous run's chart is
 * shown until the new one starts) received its loss points while training, not all at the end.
 */
function assertArrivedOneByOne(seen) {
  const run = seen.slice(Math.max(0, seen.lastIndexOf(0)));
  const last = run.at(-1);
  assert.ok(last > 1, `loss points on the chart at the end: ${seen}`);
  const between = run.filter((n) => n > 0 && n < last);
  assert.ok(between.length >= 2, `points arrived one by one while training: ${seen}`);
}

/**
 * On an open run page: picks export format `format` (and GGUF `precision`), presses Export, waits
 * for the new export (its folder ends in `-<format>`) and returns its folder and file names.
 */
async function exportAs(format, precision) {
  await app.click(`[data-testid="export-format-${format}"] input`);
  if (precision) await app.click(`[data-testid="export-precision-${precision}"] input`);
  await app.click('[data-testid="export-start"]');
  const folder = await until(`the ${format} export`, async () => {
    const errors = await app.texts('[data-banner="export-error"]');
    if (errors.length > 0) throw new Error(`the ${format} export failed: ${errors[0]}`);
    const [shown] = await app.texts('[data-testid="export-result"] [data-testid="export-folder"]');
    return shown?.endsWith(`-${format}`) ? shown : null;
  });
  const rows = await app.findAll('[data-testid="export-file"]');
  const files = await Promise.all(rows.map((r) => r.getAttribute("data-name")));
  return { folder, files };
}

/**
 * One step of the flow: skipped when an earlier step failed; on failure, a screenshot and the
 * screen's text go with the error.
 */
function step(name, body) {
  test(name, async (t) => {
    if (broken) {
      t.skip(`needs "${broken}", which failed`);
      return;
    }
    try {
      await body(t);
    } catch (e) {
      broken = name;
      let seen = "";
      try {
        const file = await app.screenshot("FAILED");
        seen = `\nscreenshot: ${file}\non screen: ${(await app.text("main")).slice(0, 1500)}`;
      } catch {
        // The window is gone; the error says enough.
      }
      e.message += seen;
      throw e;
    }
  });
}

before(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tunesmith-e2e-"));
  tinyLlama = longContextLlama(path.join(scratch, "tiny-llama-long"));
  app = await startApp("fine-tune");
});

after(async () => {
  await app?.stop();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

step("Models: two imported tiny models are listed as trainable, and one is chosen", async () => {
  await app.clickNav("models");
  const bert = await importModel(TINY_BERT);
  const llama = await importModel(tinyLlama);
  for (const id of [bert, llama]) {
    assert.equal(await attr(`[data-model-row="${id}"]`, "data-supported"), "true", `${id} can be trained`);
  }
  await useModel(TINY_BERT);
  // The chosen model by its name; the path on hover.
  await app.waitForText("[data-selected-model]", "tiny-bert");
  assert.equal(await attr("[data-selected-model]", "title"), TINY_BERT);
  // Offline (the harness sets HF_HUB_OFFLINE), suggestions offer no Download that would fail.
  assert.deepEqual(await app.findAll('[data-suggested] [data-action="download"]'), []);
  await app.screenshot("models");
});

step("Models and Data offer dropping a file on the window", async () => {
  await app.clickNav("data");
  // The hint says "drop" once the window's drop listener is registered (asynchronous at start).
  await app.waitForText('[data-path-picker="data-file"] .drop-hint', /drop/i);
});

step("Data: the doctor reads the tickets, finds the repeated rows, and the fix drops them", async () => {
  await checkData(TICKETS);
  assert.match(await app.text('[data-fact="rows"]'), /62 read, 62 usable/);
  const duplicates = await app.text('[data-finding="duplicates"]');
  assert.match(duplicates, /2 rows repeat an earlier row/);
  assert.equal(await attr('[data-finding="duplicates"]', "data-severity"), "warning");
  assert.equal(await attr('[data-column="label"]', "data-role"), "label", "the label column is guessed");
  await scrollTo('[aria-labelledby="doctor-title"]');
  await app.screenshot("data-findings");

  await app.click('[data-fix="duplicates"]');
  await app.find('[data-applied-fix]');
  await app.waitForText('[data-fact="rows"]', "60 usable", JOB_MS);
  await app.click('[data-action="use-dataset"]');
  await app.waitForText('[data-next-step="train"]', "chosen for training");
  await scrollTo("main");
  await app.screenshot("data-chosen");
});

step("Train: features on the classifier streams loss points and finishes", async (t) => {
  await app.clickNav("train");
  assert.equal(await (await app.find("#train-model")).getAttribute("value"), TINY_BERT);
  assert.equal(await (await app.find("#train-data")).getAttribute("value"), TICKETS);
  // The card marked Recommended (feature extraction, for 60 rows) is the one selected.
  assert.equal(await attr("[data-recommended=true]", "data-method"), "features");
  assert.equal(await app.run("return document.querySelector('[data-recommended=true] input').checked"), true);
  // The doctor's fix chosen for this file is shown, not applied silently.
  await app.waitForText("[data-train-fixes]", /Duplicates left out/);
  await app.click('[data-method="features"] input');
  await app.click('[data-preset="quick"]');
  // The memory estimate gives its verdict before Start is pressed.
  const verdict = await until("the memory verdict", async () => {
    const v = await attr("[data-estimate-verdict]", "data-estimate-verdict");
    return ["fits", "tight", "does_not_fit"].includes(v) ? v : null;
  });
  assert.equal(verdict, "fits", "a tiny model fits in memory");
  const seen = await trainAndWatch();
  t.diagnostic(`loss points on the chart as they arrived: ${seen.join(" ")}`);
  assertArrivedOneByOne(seen);
  assert.match(await app.text('[data-stat="step"]'), /^\d+ of \d+$/);
  assert.match(await app.text('[data-stat="memory"]'), /\d+(\.\d+)? [KMG]B/, "the memory in use is shown");
  // The time includes the preparation, and no step time reads as zero.
  assert.match(await app.text('[data-stat="elapsed"]'), /^\d+ (s|min)/);
  assert.doesNotMatch(await app.text("main"), /0\.00 s per step/);
  // The doctor's fix chosen on the Data screen reached training: the run split 60 rows, not 62.
  const runs = path.join(app.home, "runs");
  const records = fs.readdirSync(runs).map((id) => JSON.parse(fs.readFileSync(path.join(runs, id, "run.json"), "utf8")));
  const sizes = records.find((r) => r.request.method === "features")?.split_sizes ?? [];
  assert.equal(sizes.reduce((a, b) => a + b, 0), 60, `rows the run trained, validated and tested on: ${sizes}`);
  await scrollTo("[data-chart-points]");
  await app.screenshot("train-features");
});

step("Train: LoRA on the generator, chosen through Models and Data, streams and finishes", async (t) => {
  await useModel(tinyLlama);
  await checkData(FACTS);
  assert.match(await app.text('[data-fact="rows"]'), /40 read, 40 usable/);
  await app.click('[data-action="use-dataset"]');
  await app.waitForText('[data-next-step="train"]', "chosen for training");

  await app.clickNav("train");
  assert.equal(await (await app.find("#train-model")).getAttribute("value"), tinyLlama);
  assert.equal(await (await app.find("#train-task")).getAttribute("value"), "generate");
  // The tickets file's fixes stay with the tickets file.
  assert.deepEqual(await app.texts("[data-train-fixes]"), []);
  await app.click('[data-method="lora"] input');
  await app.click('[data-preset="balanced"]');
  await scrollTo('[data-method="lora"]');
  await app.screenshot("train-lora-settings");
  const seen = await trainAndWatch();
  t.diagnostic(`loss points on the chart as they arrived: ${seen.join(" ")}`);
  assertArrivedOneByOne(seen);
  await scrollTo("[data-chart-points]");
  await app.screenshot("train-lora");
});

step("Evaluate: the classifier's scores sit next to the base model's, and the generator's perplexity", async () => {
  await app.clickNav("evaluate");
  const features = await optionValue("#eval-run", "Feature extraction");
  await app.select("#eval-run", features);
  runs.features = features;
  await app.click('[data-action="evaluate"]');
  await app.find("[data-eval-metrics]", JOB_MS);
  // Feature extraction is measured against the honest baselines (its "base" is the same model).
  for (const model of ["majority", "bag_of_words", "fine_tuned"]) {
    const score = await app.text(`[data-metric="accuracy"] [data-model="${model}"]`);
    assert.match(score, /\d/, `${model} accuracy shows a number, saw "${score}"`);
  }
  const verdict = await app.text("[data-eval-headline]");
  assert.match(verdict, /^Your model \d+\.\d %, a simple word-count model \d+\.\d %, always guessing “\w+” \d+\.\d %/);
  assert.doesNotMatch(verdict, /made no difference/);
  await app.find("[data-confusion-matrix] [data-cell]");
  await scrollTo("[data-eval-metrics]");
  await app.screenshot("evaluate-classifier");

  const lora = await optionValue("#eval-run", "LoRA");
  runs.lora = lora;
  await app.select("#eval-run", lora);
  await app.click('[data-action="evaluate"]');
  await app.find('[data-eval-result="generation"]', JOB_MS);
  for (const model of ["base", "fine_tuned"]) {
    const ppl = await app.text(`[data-eval-result="generation"] [data-model="${model}"]`);
    assert.match(ppl, /^\d+(\.\d+)?$/, `${model} perplexity is a number, saw "${ppl}"`);
  }
  // Held-out prompts answered by both models, beside the answer in the data.
  const prompt = await app.text('[data-sample-answers] [data-sample="0"] td');
  assert.match(prompt, /code word/i, `a held-out prompt is shown, saw "${prompt}"`);
  await app.find('[data-sample-answers] [data-sample="0"] [data-model="fine_tuned"]');
  await scrollTo("[data-sample-answers]");
  await app.screenshot("evaluate-generator");
});

step("Chat & Compare: with a document index, one question is answered in all four columns", async (t) => {
  await app.clickNav("compare");
  await app.select("#cmp-model-select", tinyLlama);
  await app.select("#cmp-run-select", runs.lora);
  await type("#cmp-doc-paths", DOCUMENTS);
  await type("#cmp-index-name", "clinic");
  // The ways to find passages sit next to the button: the encoder imported on Models (tiny-bert)
  // is offered as a model on this computer, and keyword search needs none.
  const choices = await app.texts("#cmp-embed-choice option");
  assert.ok(choices.some((c) => /on this computer/.test(c)), `a local embedding model is offered: ${JSON.stringify(choices)}`);
  assert.ok(choices.includes("By keywords only (no model needed)"), JSON.stringify(choices));
  if (fs.existsSync(path.join(MINILM, "model.safetensors"))) {
    await app.select("#cmp-embed-choice", "other");
    await type("#cmp-embed-model", MINILM);
  } else {
    t.diagnostic(`no ${MINILM} (scripts/fetch-models): the index is keyword-only`);
    await app.select("#cmp-embed-choice", "keywords");
  }
  await app.click('[data-action="index"]');
  const report = await app.waitForText("[data-ingest-report]", /\d/, JOB_MS);
  assert.match(report, /^13 documents, \d+ passages in the index\. 13 added\./, `all 13 sample documents indexed: ${report}`);
  await app.driver.wait(async () => (await attr("#cmp-index-select", "value")) === "clinic", 5000);
  await app.click('[data-section="ask"] details summary');
  await type("#cmp-max-tokens", "24");
  await type("#cmp-question", "What is the code word for project Alder?");
  await app.click('[data-action="ask"]');
  const columns = ["base", "fine_tuned", "base_rag", "fine_tuned_rag"];
  await until("every column to answer", async () => {
    const states = await Promise.all(columns.map((c) => attr(`[data-column="${c}"]`, "data-status")));
    if (states.includes("failed")) {
      throw new Error(`a column failed: ${JSON.stringify(await app.texts("[data-column-error]"))}`);
    }
    return states.every((s) => s === "done");
  });
  for (const c of columns) {
    const answer = await app.text(`[data-column="${c}"] [data-answer]`);
    assert.ok(answer.length > 0, `column ${c} wrote an answer`);
  }
  await scrollTo('[data-section="ask"]');
  await app.screenshot("compare-answers");

  await type("#cmp-questions-file", QUESTIONS);
  await app.click('[data-action="compare"]');
  await app.find("[data-verdict]", JOB_MS * 2);
  const rows = await app.findAll("[data-score-table] [data-configuration]");
  assert.equal(rows.length, columns.length, "one score row per configuration");
  await scrollTo('[data-section="question-set"]');
  await app.screenshot("compare-question-set");
});

step("Chat & Compare: three of the question set's answers are rated blind by clicks and a key, tallied and exported", async () => {
  await scrollTo('[data-section="rate"]');
  const pair = await app.run(
    `return [document.querySelector("#cmp-rate-a").value, document.querySelector("#cmp-rate-b").value];`,
  );
  assert.deepEqual(pair, ["base", "fine_tuned"], "the fine-tuned model against the base model is offered first");
  await app.click('[data-action="rate-start"]');
  await app.waitForText("[data-rate-progress]", "Question 1 of 10 · 0 rated");
  assert.equal((await app.findAll("[data-rate-source]")).length, 0, "the sources are hidden until rated");
  await app.click('[data-rate-choice="answer_1"]');
  await app.waitForText("[data-rate-reveal]", /^You preferred Answer 1: (Base model|Fine-tuned)\. Answer 1 was/);
  assert.equal((await app.findAll("[data-rate-source]")).length, 2, "both sources shown once rated");
  // The keyboard: Next leaves the focus on the question, where T rates a tie.
  await app.click('[data-action="rate-next"]');
  await app.waitForText("[data-rate-progress]", "Question 2 of 10 · 1 rated");
  await app.driver.actions().sendKeys("t").perform();
  await app.waitForText("[data-rate-reveal]", /^A tie\./);
  await app.click('[data-action="rate-next"]');
  await type("[data-rate-corrected]", "The code word for project Alder is Bluebird.");
  await app.click('[data-rate-choice="both_wrong"]');
  await app.waitForText("[data-rate-progress]", "Question 3 of 10 · 3 rated");
  const tally = await app.waitForText("[data-rate-tally]", /preferred to the base model in [01] of 1 \(95 % interval \d+-\d+ %\); 1 tie and 1 both wrong not counted\./);
  assert.ok(tally.includes("not counted as half a win"), tally);
  await app.click('[data-action="rate-export"]');
  const exported = await app.waitForText("[data-rate-exported]", /^Wrote \d+ preference pairs? to preference-pairs-/, JOB_MS);
  const dir = path.join(app.home, "ratings");
  const jsonl = fs.readdirSync(dir).find((f) => f.endsWith(".jsonl"));
  const lines = fs.readFileSync(path.join(dir, jsonl), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(exported.startsWith(`Wrote ${lines.length} preference`), `${exported} vs ${lines.length} lines`);
  // The corrected answer is chosen over both answers (unless an answer was the same text).
  assert.ok(lines.filter((l) => l.chosen === "The code word for project Alder is Bluebird.").length >= 1, JSON.stringify(lines));
  for (const l of lines) assert.deepEqual(Object.keys(l).sort(), ["chosen", "prompt", "rejected"]);
  assert.ok(fs.readdirSync(dir).some((f) => f.endsWith(".csv")), "the corrected answer as a training row");
  await scrollTo('[data-section="rate"]');
  await app.screenshot("compare-rate-blind");
});

step("Chat & Compare: the classification run gets a predict box with label probabilities", async () => {
  await app.select("#cmp-run-select", runs.features);
  await type("#cmp-predict-text", "I was charged twice for the same order");
  await app.click('[data-action="predict"]');
  const label = await app.waitForText("[data-predicted-label]", /\w/, JOB_MS);
  assert.ok(["billing", "shipping", "technical"].includes(label), `a label of the tickets, saw "${label}"`);
  assert.equal((await app.findAll("[data-prediction] [data-label]")).length, 3, "one bar per label");
  await scrollTo('[data-section="predict"]');
  await app.screenshot("compare-predict");
});

step("History: both runs are in the table, finished, and a run's page opens", async () => {
  await app.clickNav("history");
  for (const id of [runs.features, runs.lora]) {
    const row = await app.find(`[data-run-row="${id}"]`);
    assert.equal(await row.getAttribute("data-status"), "finished");
  }
  assert.match(await app.text(`[data-run-row="${runs.features}"]`), /Feature extraction/);
  assert.match(await app.text(`[data-run-row="${runs.lora}"]`), /LoRA/);
  // Models by name, not by path: the table shows no folder.
  const featuresRow = await app.text(`[data-run-row="${runs.features}"]`);
  assert.ok(!featuresRow.includes(TINY_BERT) && !featuresRow.includes(TICKETS), `no path in the run's row: ${featuresRow}`);
  await app.screenshot("history");
  await app.click(`[data-open-run="${runs.lora}"]`);
  await app.find(`[data-run-page="${runs.lora}"]`);
  // The run's recorded curves are drawn on its page (the loss chart first).
  const drawn = await until("the run page's loss curve", async () => {
    const n = Number(await attr("[data-run-charts] [data-chart-points]", "data-chart-points"));
    return n > 0 ? n : null;
  });
  assert.ok(drawn > 1, `loss points on the run page: ${drawn}`);
  // A plain summary first, by name; the details (paths, every setting) behind a closed toggle.
  assert.match(await app.text('[data-summary="method"]'), /Text generation with LoRA/);
  const runSummary = await app.text("[data-run-summary]");
  assert.ok(!runSummary.includes(tinyLlama) && !runSummary.includes(FACTS) && !runSummary.includes("config."), `no path or setting key in the summary: ${runSummary}`);
  assert.equal(await app.run("return document.querySelector('[data-run-details]').open"), false);
  await scrollTo("[data-run-charts]");
  await app.screenshot("history-run");

  await app.clickNav("home");
  for (const id of [runs.features, runs.lora]) await app.find(`main [data-run-row="${id}"]`);
  await app.screenshot("home-recent-runs");
});

step("History: the LoRA run's page exports it as GGUF with a Modelfile, and as a PEFT adapter", async () => {
  await app.clickNav("history");
  // The screen reopens the page it was left on (the LoRA run); from the table, open it.
  await until("the run page or the table", async () => (await app.findAll(`[data-run-page="${runs.lora}"], [data-open-run="${runs.lora}"]`)).length > 0, 15_000);
  if ((await app.findAll(`[data-run-page="${runs.lora}"]`)).length === 0) await app.click(`[data-open-run="${runs.lora}"]`);
  await app.find(`[data-run-page="${runs.lora}"] [data-testid="export-panel"]`);
  const offered = await Promise.all(
    (await app.findAll('[data-testid^="export-format-"]')).map((e) => e.getAttribute("data-testid")),
  );
  assert.deepEqual(offered, ["export-format-adapter", "export-format-merged", "export-format-gguf"]);
  assert.match(await app.text('[data-testid="export-panel"]'), /Tunesmith's exports folder/);

  const gguf = await exportAs("gguf", "f16");
  assert.ok(gguf.folder.startsWith(path.join(app.home, "exports")), `into the exports folder: ${gguf.folder}`);
  assert.ok(gguf.files.some((f) => f.endsWith(".gguf")), `a .gguf file among ${JSON.stringify(gguf.files)}`);
  assert.ok(gguf.files.includes("Modelfile"), `a Modelfile among ${JSON.stringify(gguf.files)}`);
  for (const f of gguf.files) assert.ok(fs.existsSync(path.join(gguf.folder, f)), `${f} is on disk`);
  assert.match(await app.text('[data-testid="export-result"]'), /\d+(\.\d+)? (B|KB|MB|GB)/, "sizes are shown");
  // The export joins the run's files (the page reads its details again).
  await until("the export among the run's files", async () => (await app.findAll('[data-artefact="export"]')).length > 0, 15_000);
  await scrollTo('[data-testid="export-panel"]');
  await app.screenshot("history-export-gguf");

  const adapter = await exportAs("adapter");
  assert.ok(adapter.files.includes("adapter_model.safetensors"), `the adapter's weights among ${JSON.stringify(adapter.files)}`);
  assert.ok(adapter.files.includes("adapter_config.json"), `the adapter's config among ${JSON.stringify(adapter.files)}`);
  await scrollTo('[data-testid="export-panel"]');
  await app.screenshot("history-export-adapter");
});
