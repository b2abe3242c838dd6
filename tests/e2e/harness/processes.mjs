// Child processes the harness owns (Xvfb, tauri-driver): started with their output logged to a
// file, and always stopped, even when a test throws or the runner is interrupted.

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";

const running = new Set();

function stopAll() {
  for (const child of running) {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
  }
  running.clear();
}

process.on("exit", stopAll);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    stopAll();
    process.exit(130);
  });
}

/**
 * Starts `command` with `args`, its stdout and stderr appended to `logFile`. `extraFds` opens
 * additional pipes (fd 3 and up) that the caller reads.
 */
export function start(command, args, { env = process.env, logFile, extraFds = 0 } = {}) {
  const log = fs.openSync(logFile, "a");
  const stdio = ["ignore", log, log, ...Array(extraFds).fill("pipe")];
  const child = spawn(command, args, { env, stdio });
  fs.closeSync(log);
  running.add(child);
  child.on("exit", () => running.delete(child));
  child.on("error", () => running.delete(child));
  return child;
}

/** Stops `child` and waits for it to be gone (SIGKILL after `graceMs`). */
export async function stop(child, graceMs = 3000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await gone;
  clearTimeout(timer);
}

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on `port`, or rejects after `timeoutMs`. */
export async function waitForPort(port, { timeoutMs = 20000, child, what = `port ${port}` } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) {
      throw new Error(`${what} exited with code ${child.exitCode} before listening`);
    }
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start listening within ${timeoutMs} ms`);
}

/** Starts a private Xvfb display the size of the app's window (tauri.conf.json: 1200x800), so a
 * screenshot of the display is the window; returns `{ display: ":N", child }`. */
export async function startXvfb({ logFile, size = "1200x800x24", timeoutMs = 10000 }) {
  // `-displayfd 3` lets Xvfb pick a free display number and write it to fd 3 once it is ready,
  // so parallel runs and a developer's own display never collide.
  const child = start("Xvfb", ["-displayfd", "3", "-screen", "0", size, "-nolisten", "tcp"], {
    logFile,
    extraFds: 1,
  });
  const number = await new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(
      () => reject(new Error(`Xvfb did not report a display within ${timeoutMs} ms (see ${logFile})`)),
      timeoutMs,
    );
    child.stdio[3].on("data", (chunk) => {
      text += chunk.toString();
      if (text.includes("\n")) {
        clearTimeout(timer);
        resolve(text.trim());
      }
    });
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb could not start (${e.message}); run scripts/setup to install xvfb`));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited with code ${code} (see ${logFile})`));
    });
  });
  return { display: `:${number}`, child };
}
