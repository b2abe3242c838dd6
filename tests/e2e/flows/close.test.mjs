// Closing the window while a training run is running, end to end on the real app: the close is
// held back and the close dialog asks; "Keep working" keeps the window and the run going; closing
// again asks again, and "Pause and quit" checkpoints the run and ends the app. Screenshots:
// tests/e2e/output/close/.
//
// How the window is closed: WebDriver's "close window" cannot be used. WebKitWebDriver closes the
// *page* (WebKitWebView's `close` signal, which wry answers by destroying the web view), which
// never reaches the GTK window, so Tauri's WindowEvent::CloseRequested (src-tauri/src/close.rs)
// is not raised and nothing asks. A user's click on the title bar's × makes the window manager
// send the window a WM_DELETE_WINDOW message; Xvfb has no window manager, so this flow sends that
// same message itself (python3 + libX11 through ctypes, below), which GTK turns into the
// delete-event that tao reports as CloseRequested.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { REPO, startApp } from "../harness/app.mjs";

const TINY_BERT = path.join(REPO, "tests/fixtures/tiny-bert");
const TICKETS = path.join(REPO, "tests/e2e/fixtures/support-tickets.csv");

/** How long setting up, checkpointing and quitting may take (the CPU is shared). */
const JOB_MS = 150_000;

/** Sends WM_DELETE_WINDOW to the top-level X windows titled argv[1], as a window manager does. */
const CLOSE_WINDOW_PY = String.raw`import ctypes, sys
from ctypes import POINTER, Structure, Union, byref, c_char_p, c_int, c_long, c_uint, c_ulong, c_void_p

title = sys.argv[1].encode()
x = ctypes.cdll.LoadLibrary("libX11.so.6")
x.XOpenDisplay.restype = c_void_p
x.XOpenDisplay.argtypes = [c_char_p]
x.XDefaultRootWindow.restype = c_ulong
x.XDefaultRootWindow.argtypes = [c_void_p]
x.XInternAtom.restype = c_ulong
x.XInternAtom.argtypes = [c_void_p, c_char_p, c_int]
x.XQueryTree.argtypes = [c_void_p, c_ulong, POINTER(c_ulong), POINTER(c_ulong), POINTER(POINTER(c_ulong)), POINTER(c_uint)]
x.XFetchName.argtypes = [c_void_p, c_ulong, POINTER(c_char_p)]
x.XGetWMProtocols.argtypes = [c_void_p, c_ulong, POINTER(POINTER(c_ulong)), POINTER(c_int)]
x.XSendEvent.argtypes = [c_void_p, c_ulong, c_int, c_long, c_void_p]
x.XFlush.argtypes = [c_void_p]
x.XFree.argtypes = [c_void_p]

class ClientMessage(Structure):
    _fields_ = [("type", c_int), ("serial", c_ulong), ("send_event", c_int), ("display", c_void_p),
                ("window", c_ulong), ("message_type", c_ulong), ("format", c_int), ("l", c_long * 5)]

class XEvent(Union):
    _fields_ = [("xclient", ClientMessage), ("pad", c_long * 24)]

dpy = x.XOpenDisplay(None)
if not dpy:
    sys.exit("cannot open the X display")
protocols = x.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
delete = x.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)

def children(w):
    root, parent, kids, n = c_ulong(), c_ulong(), POINTER(c_ulong)(), c_uint()
    if not x.XQueryTree(dpy, w, byref(root), byref(parent), byref(kids), byref(n)):
        return []
    out = [kids[i] for i in range(n.value)]
    if kids:
        x.XFree(kids)
    return out

def named(w):
    name = c_char_p()
    if x.XFetchName(dpy, w, byref(name)) and name.value is not None:
        return name.value
    return None

def takes_delete(w):
    atoms, n = POINTER(c_ulong)(), c_int()
    if not x.XGetWMProtocols(dpy, w, byref(atoms), byref(n)):
        return False
    ok = any(atoms[i] == delete for i in range(n.value))
    x.XFree(atoms)
    return ok

# Without a window manager the app's top-level windows are the root's children; with one, they
# may sit one level down inside its frames.
found = []
for w in children(x.XDefaultRootWindow(dpy)):
    for c in [w] + children(w):
        if named(c) == title and takes_delete(c):
            found.append(c)
if not found:
    sys.exit("no window titled %r takes WM_DELETE_WINDOW" % title.decode())
for w in found:
    ev = XEvent()
    ev.xclient.type = 33  # ClientMessage
    ev.xclient.window = w
    ev.xclient.message_type = protocols
    ev.xclient.format = 32
    ev.xclient.l[0] = delete
    ev.xclient.l[1] = 0  # CurrentTime
    x.XSendEvent(dpy, w, 0, 0, byref(ev))
x.XFlush(dpy)
print(len(found))
`;

let app;
/** The first step that failed: the steps after it depend on it and are skipped. */
let broken = null;

/** Asks the app's window to close as the title bar's × does. */
function closeWindow() {
  execFileSync("python3", ["-c", CLOSE_WINDOW_PY, "Tunesmith"], {
    env: { ...process.env, DISPLAY: app.display },
    timeout: 10_000,
  });
}

/** Types `text` into the field matching `css`, replacing what it held. */
async function type(css, text) {
  const field = await app.find(css);
  await field.clear();
  await field.sendKeys(text);
}

/** Waits until `check()` returns something truthy (polling), and returns it. */
async function until(what, check, timeoutMs = JOB_MS, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Attribute `name` of the first element matching `css`, or null. */
async function attr(css, name) {
  const [e] = await app.findAll(css);
  return e ? e.getAttribute(name) : null;
}

/** The training step the Train screen shows (`12 of 40000` -> 12). */
async function stepShown() {
  const [shown] = await app.texts('[data-stat="step"]');
  return Number((shown ?? "").split(" ")[0]) || 0;
}

/** One step of the flow, skipped when an earlier one failed; a failure saves a screenshot. */
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
        e.message += `\nscreenshot: ${await app.screenshot("FAILED")}`;
      } catch {
        // The window is gone; the error says enough.
      }
      throw e;
    }
  });
}

before(async () => {
  app = await startApp("close");
});

after(async () => {
  await app?.stop();
});

step("a long training run starts (tiny BERT, 1000 epochs at a tiny learning rate)", async () => {
  await app.clickNav("models");
  await type("#import-path", TINY_BERT);
  await app.click('[data-path-picker="import-model"] button[type=submit]');
  await app.waitForText("[data-import-result]", "Imported", JOB_MS);
  const [use] = await app.findAll('[data-action="use-model"]');
  if (use) await use.click();

  await app.clickNav("data");
  await type("#data-path", TICKETS);
  await app.click('[data-path-picker="data-file"] button[type=submit]');
  await app.waitForText('[data-section="data-summary"]', path.basename(TICKETS), JOB_MS);
  await app.click('[data-action="use-dataset"]');
  await app.waitForText('[data-next-step="train"]', "chosen for training");

  await app.clickNav("train");
  await app.click('[data-method="full"] input');
  await app.click('[data-preset="balanced"]');
  await app.openDrawer("[data-advanced]");
  // Long enough to close twice while it runs: many small steps, and a learning rate so small the
  // validation loss keeps inching down, so early stopping (patience 3 on the loss) never ends it.
  await type("#hp-epochs", "1000");
  await type("#hp-batch", "1");
  await type("#hp-lr", "0.000001");
  await app.click('[data-action="start"]');
  await until("the first training steps", async () => (await attr("[data-train-status]", "data-train-status")) === "running" && (await stepShown()) > 0);
  await app.screenshot("training");
});

step("closing the window while it trains asks first, and Keep working keeps the app and the run", async () => {
  closeWindow();
  const dialog = await app.find("[data-close-dialog]");
  assert.match(await dialog.getText(), /a training run/);
  await app.screenshot("close-dialog");

  await app.click('[data-close-dialog] [data-action="keep-open"]');
  await until("the dialog to go", async () => (await app.findAll("[data-close-dialog]")).length === 0, 5_000);
  const before = await stepShown();
  await until("training to go on", async () => (await stepShown()) > before, 30_000);
  assert.equal(await attr("[data-train-status]", "data-train-status"), "running");
  await app.screenshot("kept-training");
});

step("closing again asks again, and Pause and quit checkpoints the run and ends the app", async () => {
  closeWindow();
  await app.find("[data-close-dialog]");
  await app.click('[data-close-dialog] [data-action="pause-and-quit"]');
  // The app exits once the run has written its checkpoint: the WebDriver session then fails.
  await until(
    "the app to quit",
    async () => {
      try {
        await app.driver.getTitle();
        return false;
      } catch {
        return true;
      }
    },
    JOB_MS,
    500,
  );
  const runs = path.join(app.home, "runs");
  const [id] = fs.readdirSync(runs);
  const checkpoints = path.join(runs, id, "checkpoints");
  assert.ok(fs.existsSync(checkpoints) && fs.readdirSync(checkpoints).length > 0, `a checkpoint in ${checkpoints}`);
});
