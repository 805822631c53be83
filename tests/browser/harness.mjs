// Shared set-up for the browser tests and the benchmark: the real sync-server binary on a free
// loopback port with a temporary data directory, and Debian's Chromium driven by playwright-core.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");

export const ARTIFACTS = path.join(here, "artifacts");

/** Starts `sync-server serve` on port 0 and resolves once it prints its URL. */
export async function startServer() {
  const bin = process.env.SHOTWEAVE_SERVER_BIN
    ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(root, "target"), "debug/sync-server");
  const webDir = process.env.SHOTWEAVE_WEB_DIR ?? path.join(root, "client-wasm/dist");
  const dataDir = mkdtempSync(path.join(tmpdir(), "shotweave-browser-"));
  const child = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--web-dir", webDir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" },
  });
  let log = "";
  child.stderr.on("data", (d) => { log += d; });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}\n${log}`)), 30_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  return {
    url,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...extraArgs,
    ],
  });
}

/**
 * A browser context playing one person: a name and colour in localStorage, and every console
 * error and uncaught exception collected so that a test can assert there were none.
 */
export async function person(browser, name, color, viewport = { width: 1280, height: 720 }) {
  const context = await browser.newContext({ viewport, locale: "en-US" });
  await context.addInitScript(([n, c]) => {
    if (!localStorage.getItem("shotweave.user")) {
      localStorage.setItem("shotweave.user", JSON.stringify({ name: n, color: c }));
    }
  }, [name, color]);
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  return { context, page, errors, name };
}

export function artifactPath(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}
