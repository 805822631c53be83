// The browser studio's benchmark, run by hand (figures go to README, not to a timed test):
//
//   cargo xtask web && cargo build -p sync-server
//   node tests/browser/bench.mjs            # SHOTWEAVE_DATA_DIR or ../shared/data for the novel
//   SHOTWEAVE_BENCH=keys node tests/browser/bench.mjs   # keystroke latency only (3.)
//   SHOTWEAVE_BENCH=board node tests/browser/bench.mjs  # the 3,700-shot board only (4.)
//   SHOTWEAVE_SERVER_BIN=$CARGO_TARGET_DIR/release/sync-server ...  # against a release server
//
// 1. the gzipped size of the bundle (wasm + JS);
// 2. time from navigation to an interactive board (cold: empty cache; warm: service worker and
//    IndexedDB), on a project holding the whole novel as its script and a 60-shot board;
// 3. keystroke-to-screen latency in the script editor with the whole of
//    sanguo-full.zh.txt (1.75 MB) loaded: from the key event to the frame after the DOM change,
//    next to three baselines: the editor with a 40-line script, the browser's own editing of
//    the novel in a plain contenteditable, and of one paragraph (the floor). All of it twice:
//    with headless Chromium's 60 Hz frame clock, and without it (frames as soon as there is
//    something to show), which leaves the editor's and the browser's own work per key;
// 4. a board of about 3,700 shots (the first fifth of 三国演义 imported through the API, every
//    shot given a frame by the offline renderer unless SHOTWEAVE_BENCH_THUMBS=0): time from
//    navigation to the first card, and the DOM nodes and images in the page once it is shown.

import { readFileSync, readdirSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { startServer, launchBrowser, person } from "./harness.mjs";
import {
  until, createProject, shareLink, openLink, waitConn, tab, waitCards, importBigBoard, domNodes,
} from "./helpers.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const dataDir = process.env.SHOTWEAVE_DATA_DIR ?? path.resolve(root, "../shared/data");
const novel = readFileSync(path.join(dataDir, "novels/sanguo-full.zh.txt"), "utf8").replace(/\r\n?/g, "\n");
const webDir = process.env.SHOTWEAVE_WEB_DIR ?? path.join(root, "client-wasm/dist");

/**
 * Types into a long paragraph (`where` in the text: 0.5 is the middle) and measures, per key: from the key event's
 * timestamp to the frame after the DOM change ("screen"), and to the end of the editor's own
 * synchronous handling of the key ("handler").
 */
async function typingLatency(page, text, where = 0.5) {
  await page.evaluate(() => {
    window.__screen = [];
    window.__handler = [];
    let start = null;
    const editor = document.querySelector(".script-text");
    // The key event's own timestamp: when the browser created it, before any of our code.
    window.addEventListener("keydown", (e) => { start = e.timeStamp; }, true);
    editor.addEventListener("beforeinput", (e) => {
      if (start === null) start = e.timeStamp;
    }, true);
    new MutationObserver(() => {
      if (start === null) return;
      const t = start;
      start = null;
      // Mutation observers run at the first microtask checkpoint, which is right after the
      // editor's listener has returned.
      window.__handler.push(performance.now() - t);
      // The frame that shows the change: after its animation-frame callbacks and paint.
      requestAnimationFrame(() => {
        const ch = new MessageChannel();
        ch.port1.onmessage = () => window.__screen.push(performance.now() - t);
        ch.port2.postMessage(null);
      });
    }).observe(editor, { childList: true, subtree: true, characterData: true });
  });
  // Somewhere in the middle, in the longest nearby paragraph (always the same one for a given
  // text). The editor keeps only the lines near the viewport in the DOM, so the paragraph is
  // found by scrolling to it, starting a little before where its characters put it.
  const lines = text.split("\n");
  let target = Math.floor(lines.length * where);
  for (let i = target; i < Math.min(lines.length, target + 40); i++) {
    if (lines[i].length > lines[target].length) target = i;
  }
  const before = lines.slice(0, target).join("\n").length / text.length;
  const index = await page.evaluate(async ([want, before]) => {
    const scroller = document.querySelector(".script-scroll");
    const shown = () => Array.from(document.querySelectorAll(".script-text .ln"));
    const find = () => shown().find((l) => l.textContent === want);
    // Two frames and a moment: without a frame clock two frames can pass before the editor's
    // scroll listener has re-windowed.
    const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 20))));
    scroller.scrollTop = Math.max(0, scroller.scrollHeight * before - 2 * scroller.clientHeight);
    await frames();
    for (let i = 0; i < 1000 && !find(); i++) {
      scroller.scrollTop += scroller.clientHeight * 0.75;
      await frames();
    }
    const line = find();
    if (!line) return -1;
    line.scrollIntoView({ block: "start" });
    await frames();
    return shown().indexOf(find());
  }, [lines[target], before]);
  if (index < 0) throw new Error("the paragraph to type in was not found");
  const line = page.locator(".script-text .ln").nth(index);
  await line.click({ position: { x: 40, y: 8 } });
  const typed = "The brothers ride out at dawn. ";
  for (let round = 0; round < 4; round++) {
    for (const ch of typed) {
      await page.keyboard.press(ch === " " ? "Space" : ch);
      await page.waitForTimeout(25);
    }
    await page.keyboard.press("Enter");
    await page.waitForTimeout(25);
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press("Backspace");
      await page.waitForTimeout(25);
    }
    await page.keyboard.insertText("刘备关羽张飞");
    await page.waitForTimeout(25);
  }
  await page.waitForTimeout(200);
  const [screen, handler] = await page.evaluate(() => [window.__screen, window.__handler]);
  return { screen: stats(screen), handler: stats(handler) };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), max: s.at(-1), mean };
}

const fmt = (x) => x.toFixed(1);

/** Lines in the editor's model: the editor renders only those near the viewport and says how
 * many it holds in `data-lines`. */
const lineCount = () => {
  const el = document.querySelector(".script-text");
  return el?.dataset.lines ? Number(el.dataset.lines) : document.querySelectorAll(".script-text .ln").length;
};
const only = process.env.SHOTWEAVE_BENCH ?? "all";

// ---- 1. bundle size ----

function files(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const bundle = files(webDir).filter((f) => /\.(wasm|js)$/.test(f) && !f.endsWith("sw.js"));
let raw = 0;
let gz = 0;
for (const f of bundle) {
  const bytes = readFileSync(f);
  raw += bytes.length;
  gz += gzipSync(bytes, { level: 9 }).length;
}
console.log(`bundle (wasm + js, ${bundle.length} files): ${(raw / 1024).toFixed(0)} KiB raw, ${(gz / 1024).toFixed(0)} KiB gzipped`);

const keyErrors = [];

/** Section 3 in one browser: the editor with the novel, with a short script, and the browser's
 * own contenteditable with the novel and with one paragraph. */
async function keystrokes(browser, link, clock, where) {
  console.log(`-- keystroke -> screen, ${clock}:`);
  const writer = await person(browser, "Writer", "#3cb44b");
  await openLink(writer.page, link);
  await waitConn(writer.page, "online");
  await tab(writer.page, "script");
  await until(writer.page, "the novel", `(${lineCount})() === ${novel.split("\n").length}`);
  const k = await typingLatency(writer.page, novel, where);
  console.log(`keystroke -> screen, 1.75 MB script: p50 ${fmt(k.screen.p50)} ms, p95 ${fmt(k.screen.p95)} ms, max ${fmt(k.screen.max)} ms (n=${k.screen.n}); our handler: p50 ${fmt(k.handler.p50)} ms, p95 ${fmt(k.handler.p95)} ms`);

  // The same typing in a short script, for the floor that frame scheduling alone sets.
  const small = await person(browser, "Small", "#3cb44b");
  await createProject(small.page, server.url, "small");
  await tab(small.page, "script");
  await small.page.click(".script-text");
  const short = novel.split("\n").slice(0, 40).join("\n");
  await small.page.keyboard.insertText(short);
  await until(small.page, "the short script", `(${lineCount})() === 40`);
  const s2 = await typingLatency(small.page, short);
  console.log(`keystroke -> screen, 40-line script (baseline): p50 ${fmt(s2.screen.p50)} ms, p95 ${fmt(s2.screen.p95)} ms; our handler: p50 ${fmt(s2.handler.p50)} ms, p95 ${fmt(s2.handler.p95)} ms`);
  // The browser's own editing of the same novel in a plain contenteditable (every line in the
  // DOM, grouped in chunks of 32 lines skipped while off screen with `content-visibility: auto`,
  // as the studio did before it windowed; no application code): what the browser alone costs
  // per keystroke with the whole text in the page.
  const plain = await person(browser, "Plain", "#3cb44b");
  const esc = (t) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const novelLines = novel.split("\n");
  const chunks = [];
  for (let i = 0; i < novelLines.length; i += 32) {
    chunks.push(`<div class="chunk">${novelLines.slice(i, i + 32).map((l) => `<div class="ln">${esc(l) || "<br>"}</div>`).join("")}</div>`);
  }
  await plain.page.goto(`${server.url}/style.css`);
  const css = await plain.page.evaluate(() => document.body.innerText);
  // The page scrolls inside .script-scroll, as in the studio.
  await plain.page.setContent(`<html><head><style>${css}\n.script-text .chunk { content-visibility: auto; contain-intrinsic-size: auto 1200px; }</style></head><body style="margin:0;height:100vh;display:flex;flex-direction:column"><div class="script-scroll"><div class="script-page"><div class="script-text" contenteditable="plaintext-only" spellcheck="false">${chunks.join("")}</div></div></div></body></html>`);
  const n = await typingLatency(plain.page, novel);
  console.log(`keystroke -> screen, same novel in a plain contenteditable (the browser's own editing): p50 ${fmt(n.screen.p50)} ms, p95 ${fmt(n.screen.p95)} ms`);

  // The floor of this measurement: one short paragraph in a plain contenteditable. With the
  // 60 Hz clock frames come every 16.7 ms whatever happens, so a key waits up to a frame before
  // any work is shown.
  const floor = await person(browser, "Floor", "#3cb44b");
  await floor.page.setContent(`<html><head><style>${css}</style></head><body style="margin:0;height:100vh;display:flex;flex-direction:column"><div class="script-scroll"><div class="script-page"><div class="script-text" contenteditable="plaintext-only" spellcheck="false"><div class="ln">${esc(novelLines[1])}</div></div></div></div></body></html>`);
  const f = await typingLatency(floor.page, novelLines[1]);
  console.log(`keystroke -> screen, one paragraph in a plain contenteditable (the floor): p50 ${fmt(f.screen.p50)} ms, p95 ${fmt(f.screen.p95)} ms`);

  keyErrors.push(...writer.errors, ...small.errors);
  for (const p of [writer, small, plain, floor]) await p.context.close();
}

// ---- 4. a board of thousands of shots ----

/** Records when the first focusable shot card appears, from navigation start. */
const boardProbe = () => {
  const seen = () => {
    if (document.querySelector(".shot-card[tabindex]") && !window.__boardReady) {
      window.__boardReady = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true });
};

async function bigBoard(browser) {
  const big = await importBigBoard(server.url);
  console.log(`-- board of ${big.shots} shots in ${big.scenes} scenes (first fifth of 三国演义, imported):`);
  const auth = { Authorization: `Bearer ${big.token}` };
  if (process.env.SHOTWEAVE_BENCH_THUMBS !== "0") {
    const t0 = Date.now();
    const res = await fetch(`${server.url}/api/projects/${big.project_id}/generate`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ provider: "offline", kind: "frame", scope: "missing" }),
    });
    if (!res.ok) throw new Error(`generate-all answered ${res.status}: ${await res.text()}`);
    for (;;) {
      const jobs = await (await fetch(`${server.url}/api/projects/${big.project_id}/jobs`, { headers: auth })).json();
      const list = Array.isArray(jobs) ? jobs : jobs.jobs ?? [];
      if (!list.some((j) => j.status === "queued" || j.status === "running")) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    console.log(`generate-all with the offline renderer: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const link = `${server.url}/#/p/${big.project_id}/board?token=${encodeURIComponent(big.token)}`;
  const cold = [];
  const warm = [];
  let nodes = 0;
  let images = 0;
  for (let run = 0; run < 3; run++) {
    const p = await person(browser, `Board ${run}`, "#4363d8");
    await p.context.addInitScript(boardProbe);
    await p.page.goto(link);
    await until(p.page, "the whole board in the model", (n) =>
      Number(document.querySelector(".scenes")?.dataset.shots) === n && document.querySelector(".shot-card"), big.shots);
    cold.push(await p.page.evaluate(() => window.__boardReady));
    await p.page.waitForTimeout(500);
    nodes = Math.max(nodes, await domNodes(p.page));
    images = Math.max(images, await p.page.evaluate(() => document.images.length));
    await until(p.page, "the service worker", () => navigator.serviceWorker.controller !== null);
    await waitConn(p.page, "online");
    await p.page.waitForSelector(".saved[data-saved=true]", { timeout: 60_000 });
    await p.page.reload();
    await p.page.waitForSelector(".shot-card", { timeout: 60_000 });
    warm.push(await p.page.evaluate(() => window.__boardReady));
    keyErrors.push(...p.errors);
    await p.context.close();
  }
  const c = stats(cold);
  const w = stats(warm);
  console.log(`navigation -> first card, ${big.shots}-shot board, cold: median ${fmt(c.p50)} ms, max ${fmt(c.max)} ms (n=${c.n})`);
  console.log(`navigation -> first card, warm (service worker + IndexedDB): median ${fmt(w.p50)} ms, max ${fmt(w.max)} ms (n=${w.n})`);
  console.log(`DOM once shown: ${nodes} nodes, ${images} images`);
}

// ---- set-up: a project with the novel and a board ----

const server = await startServer();
const browser = await launchBrowser();
if (only === "board") {
  try {
    await bigBoard(browser);
    if (keyErrors.length) console.log("console errors:", keyErrors);
  } finally {
    await browser.close();
    await server.stop();
  }
  process.exit(0);
}
try {
  const owner = await person(browser, "Owner", "#e6194b");
  await createProject(owner.page, server.url, "三国演义 benchmark");
  await tab(owner.page, "script");
  await owner.page.click(".script-text");
  const t0 = Date.now();
  // One insertion, as a paste would make it.
  await owner.page.keyboard.insertText(novel);
  await until(owner.page, "the novel in the editor", `(${lineCount})() === ${novel.split("\n").length}`);
  console.log(`loading the novel into the editor (one paste): ${Date.now() - t0} ms`);
  await owner.page.waitForSelector(".saved[data-saved=true]", { timeout: 60_000 });

  if (only !== "keys") {
  await tab(owner.page, "board");
  for (let scene = 0; scene < 4; scene++) {
    await owner.page.click(".add-scene");
    await owner.page.waitForSelector(`.scene:nth-of-type(${scene + 1}) .add-shot`);
    for (let i = 0; i < 15; i++) {
      await owner.page.locator(".scene .add-shot").nth(scene).click();
    }
  }
  await waitCards(owner.page, "60 shots", (c) => c.length === 60);
  }
  const link = await shareLink(owner.page, "editor");
  await owner.page.waitForSelector(".saved[data-saved=true]", { timeout: 60_000 });
  // Everything below runs alone in the project: on 2 cores a second page rendering every
  // keystroke (and the debug server) would be measured too.
  await owner.context.close();

  // ---- 2. navigation to an interactive board ----

  const cold = [];
  const warm = [];
  for (let run = 0; run < (only === "keys" ? 0 : 5); run++) {
    const p = await person(browser, `Reader ${run}`, "#4363d8");
    await p.context.addInitScript(boardProbe);
    await p.page.goto(link);
    await waitCards(p.page, "the board", (c) => c.length === 60);
    cold.push(await p.page.evaluate(() => window.__boardReady));
    await until(p.page, "the service worker", () => navigator.serviceWorker.controller !== null);
    await waitConn(p.page, "online");
    await p.page.waitForSelector(".saved[data-saved=true]", { timeout: 60_000 });
    await p.page.reload();
    await waitCards(p.page, "the board after reload", (c) => c.length === 60);
    warm.push(await p.page.evaluate(() => window.__boardReady));
    await p.context.close();
  }
  if (only !== "keys") {
    const c = stats(cold);
    const w = stats(warm);
    console.log(`navigation -> interactive board (60 shots, 1.75 MB script), cold: median ${fmt(c.p50)} ms, max ${fmt(c.max)} ms (n=${c.n})`);
    console.log(`navigation -> interactive board, warm (service worker + IndexedDB): median ${fmt(w.p50)} ms, max ${fmt(w.max)} ms (n=${w.n})`);
  }

  // ---- 3. keystroke to screen in the script editor ----

  await keystrokes(browser, link, "60 Hz frame clock", 0.5);
  // The same with frames made as soon as there is something to show, as on a display much
  // faster than 60 Hz: what is left is the editor's and the browser's own work per key,
  // without the wait for the next 16.7 ms frame, which no page can shorten.
  const unthrottled = await launchBrowser(["--disable-frame-rate-limit", "--disable-gpu-vsync"]);
  try {
    // Elsewhere in the novel: the first pass has changed the paragraph it typed in.
    await keystrokes(unthrottled, link, "no frame clock", 0.3);
  } finally {
    await unthrottled.close();
  }

  await bigBoard(browser);

  const errors = [...owner.errors, ...keyErrors];
  if (errors.length) console.log("console errors:", errors);
} finally {
  await browser.close();
  await server.stop();
}
