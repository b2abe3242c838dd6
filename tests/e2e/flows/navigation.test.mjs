// The app frame, end to end: the real binary starts, `doctor` answers over IPC into the status
// bar, every navigation item opens its screen with an honest empty state, the keyboard moves
// through the navigation, and the dark theme applies. Screenshots: tests/e2e/output/navigation/.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startApp, workspaceVersion } from "../harness/app.mjs";

/** What each screen must show: its heading, and for screens later issues fill, the empty state. */
const SCREENS = [
  { id: "home", label: "Home", empty: "No runs yet" },
  { id: "models", label: "Models", empty: "No models yet" },
  { id: "data", label: "Data", empty: "No dataset loaded" },
  { id: "train", label: "Train", empty: "No runs yet" },
  { id: "evaluate", label: "Evaluate", empty: "Nothing to evaluate yet" },
  { id: "compare", label: "Chat & Compare", empty: "Nothing to compare yet" },
  { id: "history", label: "History", empty: "No runs yet" },
];

let app;

before(async () => {
  app = await startApp("navigation");
});

after(async () => {
  await app?.stop();
});

test("the status bar shows the device and version that doctor reports", async () => {
  const device = await app.waitForText("[data-status=device]", /^Device: /);
  assert.match(device, /^Device: (CPU · \d+ threads?|CUDA GPU|Apple GPU)/);
  assert.equal(await app.text("[data-status=version]"), `Tunesmith ${workspaceVersion()}`);
});

test("the home screen shows the home folder the app was started with", async () => {
  assert.equal(await app.text("main h1"), "Home");
  await app.waitForText("[data-fact=home]", app.home);
  assert.match(await app.text("[data-fact=versions]"), /SQLite \d+\.\d+/);
  await app.screenshot("home");
});

test("the navigation lists every screen in order", async () => {
  assert.deepEqual(await app.navLabels(), SCREENS.map((s) => s.label));
});

test("each navigation item opens its screen with an honest empty state", async () => {
  for (const screen of SCREENS) {
    await app.clickNav(screen.id);
    assert.equal(await app.text("main h1"), screen.label, `heading of ${screen.id}`);
    assert.equal(await app.text("[aria-current=page]"), screen.label, `current item for ${screen.id}`);
    // Screens load their lists asynchronously: wait for the empty state rather than read at once.
    let empties = [];
    await app.driver
      .wait(async () => {
        empties = await app.texts("main [data-empty-state] h2");
        return empties.includes(screen.empty);
      }, 15000)
      .catch(() => undefined);
    assert.ok(empties.includes(screen.empty), `${screen.id} shows "${screen.empty}", saw ${JSON.stringify(empties)}`);
    await app.screenshot(screen.id);
  }
});

test("the arrow keys move through the navigation", async () => {
  await app.clickNav("data");
  const item = await app.find('[data-nav="data"]');
  await item.sendKeys("\uE015"); // ArrowDown
  await app.find('main[data-screen="train"]');
  assert.equal(await app.run("return document.activeElement.dataset.nav"), "train");
  await (await app.find('[data-nav="train"]')).sendKeys("\uE011"); // Home
  await app.find('main[data-screen="home"]');
});

test("choosing the dark theme restyles the window", async () => {
  const light = await app.run("return getComputedStyle(document.body).backgroundColor");
  await app.select("#theme-select", "dark");
  await app.driver.wait(async () => (await app.run("return document.documentElement.dataset.theme")) === "dark", 5000);
  const dark = await app.run("return getComputedStyle(document.body).backgroundColor");
  assert.notEqual(dark, light);
  await app.screenshot("home-dark");
  await app.select("#theme-select", "light");
});

test("each screen opens at its top, whatever the previous screen's scroll position", async () => {
  await app.clickNav("models");
  // A fresh home's screens are short: a tall spacer makes the content area scroll.
  const scrolled = await app.run(`
    const main = document.querySelector("main");
    const spacer = document.createElement("div");
    spacer.id = "e2e-spacer";
    spacer.style.height = "3000px";
    main.appendChild(spacer);
    main.scrollTop = 614;
    return main.scrollTop;`);
  assert.ok(scrolled > 0, `the content area scrolled (${scrolled})`);
  await app.clickNav("data");
  await app.find('main[data-screen="data"]');
  await app.driver.wait(async () => (await app.run("return document.querySelector('main').scrollTop")) === 0, 5000);
  await app.run(`document.getElementById("e2e-spacer")?.remove()`);
});

test("the skip link moves the focus to the content and stays on the screen", async () => {
  await app.clickNav("train");
  await app.run(`document.querySelector(".skip-link").click()`);
  assert.equal(await app.run("return document.activeElement.id"), "main");
  assert.equal(await app.text("main h1"), "Train");
});
