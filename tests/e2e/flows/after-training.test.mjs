// After training (issue 16), by clicks on the real app: a classifier trained on the support tickets
// (set up through the CLI, which shares the app's home folder, so the flow starts where a user
// would after training) is trusted and used: Evaluate's error grid (a relabel and a leave-out
// written as a corrected copy beside the data, whose original stays byte-for-byte the same, then a
// retrain linked to the run), "Run on a file" (every row of a CSV predicted into a new file with
// progress), History's Export of the classifier as a sentence-transformers folder, and "Why this
// answer?" under a prediction in Chat & Compare (the closest training tickets); and for a
// generation run (tiny Llama, trained with the automatic check off), Evaluate's "Check what it
// forgot" and the result on its History page.
// Screenshots: tests/e2e/output/after-training/.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { By } from "selenium-webdriver";
import { REPO, appBinary, startApp } from "../harness/app.mjs";

const TINY_BERT = path.join(REPO, "tests/fixtures/tiny-bert");
const TINY_LLAMA = path.join(REPO, "tests/fixtures/tiny-llama");
const TICKETS = path.join(REPO, "tests/e2e/fixtures/support-tickets.csv");
const JOB_MS = 150_000;

let app;
let scratch;
let data;
let run;
let generation;
let broken = null;

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

/** Types `text` into the field matching `css`, replacing what it held. */
async function type(css, text) {
  const field = await app.find(css);
  await field.clear();
  await field.sendKeys(text);
}

/** One step: skipped after a failed one; a failure carries a screenshot and the screen's text. */
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
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tunesmith-e2e-after-"));
  data = path.join(scratch, "tickets.csv");
  fs.copyFileSync(TICKETS, data);
  app = await startApp("after-training");
  const cli = path.join(path.dirname(appBinary()), "tunesmith");
  const out = execFileSync(cli, [
    "--home", app.home, "train", "--json", "--task", "classify", "--method", "features",
    "--epochs", "3", "--lr", "0.05", "--test-fraction", "0.3", "--model", TINY_BERT, "--data", data,
  ]);
  // The last line is the run's end (the first ones report its preparation, before it has an id).
  run = JSON.parse(out.toString().trim().split("\n").pop()).run_id;
  // A generation run with the automatic check off, so Evaluate's button is what checks it.
  const facts = path.join(scratch, "facts.csv");
  const rows = ["prompt,response"];
  for (let i = 0; i < 12; i++) rows.push(`"Code word for project ${i % 2 ? "Alder" : "Birch"} (${i})?",${i % 2 ? "Bluebird" : "Copperfox"}`);
  fs.writeFileSync(facts, rows.join("\n") + "\n");
  const gen = execFileSync(cli, [
    "--home", app.home, "train", "--json", "--task", "generate", "--method", "lora", "--epochs", "1",
    "--prompt-column", "prompt", "--response-column", "response", "--no-forgetting-check",
    "--model", TINY_LLAMA, "--data", facts,
  ]);
  generation = JSON.parse(gen.toString().trim().split("\n").pop()).run_id;
});

after(async () => {
  await app?.stop();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

step("Evaluate: the error grid lists the test rows, and a relabel and a leave-out make a corrected copy", async () => {
  const before = fs.readFileSync(data);
  await app.clickNav("evaluate");
  await app.select("#eval-run", run);
  await app.click('[data-action="load-errors"]');
  await app.find("[data-errors-table]", JOB_MS);
  const rows = await app.findAll("[data-error-row]");
  assert.ok(rows.length > 0, "the grid lists test rows");
  const lines = await Promise.all(rows.map((r) => r.getAttribute("data-error-row")));
  const [first, second] = lines;
  // Relabel the first row to a label it does not have, leave the second out.
  const select = await app.find(`[data-relabel="${first}"]`);
  const current = await select.getAttribute("value");
  const options = await select.findElements(By.css("option"));
  const values = await Promise.all(options.map((o) => o.getAttribute("value")));
  await app.select(`[data-relabel="${first}"]`, values.find((v) => v !== current));
  if (second) await app.click(`[data-leave-out="${second}"]`);
  await app.run(`document.querySelector("[data-error-grid]")?.scrollIntoView({ block: "start" });`);
  await app.screenshot("error-grid");
  await app.click('[data-action="save-corrected"]');
  const copy = await app.text("[data-copy-path]");
  assert.equal(copy, path.join(scratch, "tickets.corrected.csv"));
  assert.ok(fs.existsSync(copy));
  assert.deepEqual(fs.readFileSync(data), before, "the user's file is unchanged");
});

step("Evaluate: retraining on the corrected copy makes a new run linked to this one", async () => {
  await app.click('[data-action="retrain-corrected"]');
  const state = await until("the retrain to end", async () => {
    const [s] = await app.findAll("[data-retrain-state]");
    const phase = s ? await s.getAttribute("data-retrain-state") : null;
    return phase && phase !== "running" ? phase : null;
  });
  assert.equal(state, "finished", await app.text("[data-corrected-copy]"));
  const newRun = await app.text("[data-new-run]");
  const record = JSON.parse(fs.readFileSync(path.join(app.home, "runs", newRun, "run.json"), "utf8"));
  assert.equal(record.request.data, path.join(scratch, "tickets.corrected.csv"));
  await app.screenshot("retrained");
});

step("Evaluate: Run on a file predicts every row into a new file beside it", async () => {
  await app.select("#eval-run", run);
  await type("#predict-data", data);
  await app.click('[data-path-picker="predict-data"] button[type=submit]');
  await app.click('[data-action="predict-file"]');
  await app.find("[data-predict-summary]", JOB_MS);
  const out = await app.text("[data-predict-out]");
  assert.equal(out, path.join(scratch, "tickets.predicted.csv"));
  const written = fs.readFileSync(out, "utf8").trim().split("\n");
  assert.equal(written[0], "text,label,prediction,confidence");
  assert.equal(written.length, fs.readFileSync(data, "utf8").trim().split("\n").length);
  await app.run(`document.querySelector("[data-run-on-file]")?.scrollIntoView({ block: "start" });`);
  await app.screenshot("run-on-file");
});

step("History: the run page lists what it was used for and exports the classifier", async () => {
  await app.clickNav("history");
  await app.click(`[data-open-run="${run}"]`);
  await app.waitForText("[data-run-outputs]", "Corrected copy");
  await app.click('[data-testid="export-format-classifier"] input');
  await app.click('[data-testid="export-start"]');
  const folder = await until("the classifier export", async () => {
    const errors = await app.texts('[data-banner="export-error"]');
    if (errors.length > 0) throw new Error(`the export failed: ${errors[0]}`);
    const [shown] = await app.texts('[data-testid="export-result"] [data-testid="export-folder"]');
    return shown?.endsWith("-classifier") ? shown : null;
  });
  for (const f of ["modules.json", "labels.json", "1_Pooling/config.json", "model.safetensors"]) {
    assert.ok(fs.existsSync(path.join(folder, f)), `${f} in ${folder}`);
  }
  await app.screenshot("export-classifier");
});

step("Chat & Compare: Why this answer? lists the training tickets closest to a classified text", async () => {
  await app.clickNav("compare");
  await app.select("#cmp-run-select", run);
  await type("#cmp-predict-text", "I was charged twice for the same order");
  await app.click('[data-action="predict"]');
  const label = await app.waitForText("[data-predicted-label]", /\w/, JOB_MS);
  await app.click("[data-prediction] [data-explain] summary");
  const lines = await until("the closest training examples", async () => {
    const [error] = await app.texts("[data-explain-error]");
    if (error) throw new Error(`no explanation: ${error}`);
    const found = await app.findAll("[data-explain-line]");
    return found.length > 0 ? found : null;
  });
  assert.ok(lines.length <= 3, `the top 3 at most, saw ${lines.length}`);
  const first = await lines[0].getText();
  assert.match(first, /label: \w+/, `each example shows its label: ${first}`);
  assert.ok(label.length > 0);
  await app.run(`document.querySelector("[data-section=predict]")?.scrollIntoView({ block: "start" });`);
  await app.screenshot("why-this-answer");
});

step("Evaluate: Check what it forgot asks both models the general questions and shows what was kept", async () => {
  await app.clickNav("evaluate");
  await app.select("#eval-run", run);
  await app.waitForText("[data-forgetting-not-applicable]", "applies to generation runs");
  await app.select("#eval-run", generation);
  await app.click('[data-action="check-forgetting"]');
  await app.find("[data-forgetting-result]", JOB_MS);
  const kept = await app.text("[data-forgetting-kept]");
  assert.match(kept, /general questions/);
  assert.match(await app.text("[data-forgetting-perplexity]"), /→/);
  assert.ok(fs.existsSync(path.join(app.home, "runs", generation, "forgetting.json")), "kept with the run");
  await app.run(`document.querySelector("[data-forgetting]")?.scrollIntoView({ block: "start" });`);
  await app.screenshot("forgetting-check");
});

step("History: the generation run's page says what it forgot", async () => {
  await app.clickNav("history");
  // The classifier's page may still be open from the step before: back to the list first.
  if ((await app.findAll('[data-action="back-to-runs"]')).length > 0) await app.click('[data-action="back-to-runs"]');
  await app.click(`[data-open-run="${generation}"]`);
  await app.waitForText("[data-run-forgetting]", "general");
  await app.run(`document.querySelector("[data-run-forgetting]")?.scrollIntoView({ block: "start" });`);
  await app.screenshot("history-forgetting");
});
