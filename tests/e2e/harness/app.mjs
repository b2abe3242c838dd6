// The end-to-end harness: the real Tunesmith binary (UI embedded) in a private Xvfb display,
// driven through tauri-driver and WebKitWebDriver with selenium-webdriver.
//
// A flow does:
//   const app = await startApp("my-flow");      // fresh home folder, fresh window
//   await app.clickNav("models");               // click a navigation item, wait for its screen
//   await app.waitForText("main h1", "Models"); // read what the screen shows
//   await app.screenshot("models");             // tests/e2e/output/my-flow/NN-models.png
//   await app.stop();
//
// The binary is `target/debug/tunesmith-app` (or $TUNESMITH_APP_BIN); `tests/e2e/run` builds it.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Builder, By, until } from "selenium-webdriver";
import { freePort, start, startXvfb, stop, waitForPort } from "./processes.mjs";

/** The repository root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** Where flows write screenshots and logs (gitignored). */
export const OUTPUT = path.join(REPO, "tests/e2e/output");

/** How long a wait for something on screen may take before the test fails. */
const WAIT_MS = 15000;

/** How long the app may take to open its window. */
const START_MS = 60000;

/** The app binary the harness drives. */
export function appBinary() {
  if (process.env.TUNESMITH_APP_BIN) return path.resolve(process.env.TUNESMITH_APP_BIN);
  const target = process.env.CARGO_TARGET_DIR
    ? path.resolve(REPO, process.env.CARGO_TARGET_DIR)
    : path.join(REPO, "target");
  return path.join(target, "debug", "tunesmith-app");
}

/** tauri-driver: on PATH, or where `cargo install` puts it. */
function tauriDriver() {
  const candidates = (process.env.PATH ?? "").split(path.delimiter).map((d) => path.join(d, "tauri-driver"));
  candidates.push(path.join(os.homedir(), ".cargo", "bin", "tauri-driver"));
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error("tauri-driver is not installed: run `cargo install tauri-driver --locked` (scripts/setup does)");
  }
  return found;
}

/** The version in the workspace's Cargo.toml, which the app reports. */
export function workspaceVersion() {
  const manifest = fs.readFileSync(path.join(REPO, "Cargo.toml"), "utf8");
  const section = manifest.split("[workspace.package]")[1] ?? "";
  const match = section.match(/^version\s*=\s*"([^"]+)"/m);
  if (!match) throw new Error("no version in [workspace.package] of Cargo.toml");
  return match[1];
}

/** Text with runs of whitespace collapsed, as a person reads it. */
function tidy(text) {
  return text.replace(/\s+/g, " ").trim();
}

/** A running app window and the helpers flows use on it. */
export class App {
  constructor({ name, driver, outputDir, home, children, display }) {
    this.name = name;
    /** The private X display the window is on (for screenshots). */
    this.display = display;
    /** The window's place on the display once `resize` moved it (screenshots are cut to it). */
    this.rect = null;
    this.driver = driver;
    this.outputDir = outputDir;
    /** The app's home folder (TUNESMITH_HOME) for this run: fresh and empty at start. */
    this.home = home;
    this.children = children;
    this.shots = 0;
  }

  /** The first element matching `css`, waiting for it to appear. */
  async find(css, timeoutMs = WAIT_MS) {
    return this.driver.wait(until.elementLocated(By.css(css)), timeoutMs, `nothing matches ${css}`);
  }

  /** All elements matching `css` now. */
  async findAll(css) {
    return this.driver.findElements(By.css(css));
  }

  /** The visible text of the first element matching `css`, whitespace collapsed. */
  async text(css) {
    return tidy(await (await this.find(css)).getText());
  }

  /** The visible texts of every element matching `css`. */
  async texts(css) {
    const elements = await this.findAll(css);
    return Promise.all(elements.map(async (e) => tidy(await e.getText())));
  }

  /**
   * Waits until the text of `css` satisfies `expected` (a string it must contain, a RegExp, or a
   * predicate), and returns the text. Fails with what was last seen.
   */
  async waitForText(css, expected, timeoutMs = WAIT_MS) {
    const ok =
      typeof expected === "function"
        ? expected
        : expected instanceof RegExp
          ? (t) => expected.test(t)
          : (t) => t.includes(expected);
    let last = "<nothing>";
    try {
      await this.driver.wait(
        async () => {
          const elements = await this.findAll(css);
          if (elements.length === 0) return false;
          last = tidy(await elements[0].getText());
          return ok(last);
        },
        timeoutMs,
      );
    } catch {
      throw new Error(`${css} never showed ${expected}; last saw "${last}"`);
    }
    return last;
  }

  /** Clicks the element matching `css`. */
  async click(css) {
    const element = await this.find(css);
    await this.driver.wait(until.elementIsVisible(element), WAIT_MS);
    await element.click();
  }

  /**
   * Opens the <details> drawer matching `css` by clicking its summary, and waits until it is open.
   * A click can miss when the layout above moves under the pointer (an estimate arriving on a
   * loaded machine pushes the drawer down), so it clicks again until the drawer says it is open.
   */
  async openDrawer(css) {
    const isOpen = () => this.run("return document.querySelector(arguments[0]).open === true", css);
    await this.driver.wait(
      async () => {
        if (await isOpen()) return true;
        await this.click(`${css} > summary`);
        return isOpen();
      },
      WAIT_MS,
      `the drawer ${css} did not open`,
    );
  }

  /**
   * Picks `value` in the <select> matching `css`. WebDriver selects a clicked <option> without
   * opening the native popup (which would hold the pointer grab under Xvfb).
   */
  async select(css, value) {
    const option = await this.find(`${css} option[value="${value}"]`);
    await option.click();
  }

  /** Clicks the navigation item of screen `id` (e.g. "models") and waits for its screen. */
  async clickNav(id) {
    await this.click(`[data-nav="${id}"]`);
    await this.find(`main[data-screen="${id}"]`);
  }

  /** The labels of the navigation items, in order. */
  async navLabels() {
    return this.texts("nav [data-nav]");
  }

  /** Runs `script` in the page and returns its result. */
  async run(script, ...args) {
    return this.driver.executeScript(script, ...args);
  }

  /**
   * Resizes the window to `width` x `height` pixels at the display's top left corner (the display
   * must be at least that big: `startApp`'s `screen`), and waits until the page has the new size.
   * Later screenshots show the window alone.
   */
  async resize(width, height) {
    await this.driver.manage().window().setRect({ x: 0, y: 0, width, height });
    await this.driver.wait(
      async () => {
        const [w, h] = await this.run("return [window.innerWidth, window.innerHeight]");
        return Math.abs(w - width) <= 2 && Math.abs(h - height) <= 2;
      },
      WAIT_MS,
      `the window never became ${width}x${height}`,
    );
    this.rect = await this.driver.manage().window().getRect();
  }

  /** Saves a screenshot of the window as `NN-name.png` in this flow's folder; returns the path. */
  async screenshot(name) {
    this.shots += 1;
    const file = path.join(this.outputDir, `${String(this.shots).padStart(2, "0")}-${name}.png`);
    // The X server's picture of the window, not WebDriver's: WebKitWebDriver's screenshot hangs
    // for good on the second call after a screen change (seen here under Xvfb), and then every
    // later command waits behind it. ImageMagick's `import` reads the display directly.
    const cut = this.rect
      ? ["-crop", `${this.rect.width}x${this.rect.height}+${this.rect.x}+${this.rect.y}`, "+repage"]
      : [];
    execFileSync("import", ["-display", this.display, "-window", "root", ...cut, file], { timeout: 20000 });
    return file;
  }

  /** Closes the window and stops the driver and the display. */
  async stop() {
    try {
      await this.driver.quit();
    } catch {
      // The session may already be gone (the app crashed); the processes are stopped anyway.
    }
    for (const child of [...this.children].reverse()) await stop(child);
  }
}

/**
 * Starts the app for flow `name`: a private Xvfb display, tauri-driver on free ports, a fresh
 * home folder, and a WebDriver session on the app's window (waited for until the UI is mounted).
 * The app sees an empty Hugging Face cache (`HF_HOME` in the flow's folder) in offline mode
 * (`HF_HUB_OFFLINE=1`); `env` adds environment variables for the app, or replaces those. `screen`
 * ("WIDTHxHEIGHT") makes the display larger than the window, for flows that resize it.
 */
export async function startApp(name, { env = {}, screen } = {}) {
  const binary = appBinary();
  if (!fs.existsSync(binary)) {
    throw new Error(`the app binary ${binary} does not exist: build it with tests/e2e/run (or scripts/test)`);
  }
  const outputDir = path.join(OUTPUT, name);
  fs.rmSync(outputDir, { recursive: true, force: true });
  fs.mkdirSync(outputDir, { recursive: true });
  const home = path.join(outputDir, "home");
  fs.mkdirSync(home);

  const children = [];
  try {
    const xvfb = await startXvfb({
      logFile: path.join(outputDir, "xvfb.log"),
      ...(screen ? { size: `${screen}x24` } : {}),
    });
    children.push(xvfb.child);

    const port = await freePort();
    const nativePort = await freePort();
    // Nothing of the developer's leaks in and nothing reaches the network: an empty Hugging Face
    // cache and offline mode, unless the flow brings its own.
    const hfHome = path.join(outputDir, "hf");
    fs.mkdirSync(hfHome);
    const driverEnv = {
      ...process.env,
      HF_HOME: hfHome,
      HF_HUB_OFFLINE: "1",
      ...env,
      DISPLAY: xvfb.display,
      TUNESMITH_HOME: home,
      // The window's own storage (the choices the app keeps across restarts, the theme) lives in
      // the app's data folder: one per flow, so no flow starts with another's choices.
      XDG_DATA_HOME: path.join(outputDir, "xdg-data"),
      // Software rendering: Xvfb has no GPU, and WebKit's compositing otherwise logs EGL noise.
      WEBKIT_DISABLE_COMPOSITING_MODE: "1",
      LIBGL_ALWAYS_SOFTWARE: "1",
      NO_AT_BRIDGE: "1",
    };
    const driver = start(tauriDriver(), ["--port", String(port), "--native-port", String(nativePort)], {
      env: driverEnv,
      logFile: path.join(outputDir, "tauri-driver.log"),
    });
    children.push(driver);
    await waitForPort(port, { child: driver, what: "tauri-driver" });

    const building = new Builder()
      .usingServer(`http://127.0.0.1:${port}/`)
      .withCapabilities({
        browserName: "wry",
        // Must be absolute: a relative path is resolved from tauri-driver's folder.
        "tauri:options": { application: binary, args: [] },
      })
      .build();
    // Once the race below is lost, the session request's own failure is of no interest.
    building.catch(() => {});
    // WebKitWebDriver waits forever for a binary that never opens a window: bound the wait.
    let timer;
    const session = await Promise.race([
      building,
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `${binary} did not open a window within ${START_MS / 1000} s (logs in ${outputDir})`,
              ),
            ),
          START_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    const app = new App({ name, driver: session, outputDir, home, children, display: xvfb.display });
    // The frame is mounted once the navigation exists.
    await app.find("nav [data-nav]");
    return app;
  } catch (e) {
    for (const child of children.reverse()) await stop(child);
    throw e;
  }
}
