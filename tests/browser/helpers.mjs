// Page-level helpers shared by the browser tests and the benchmark. Every wait is for a
// condition in the page, never a fixed sleep.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";

export const TIMEOUT = 20_000;

/** Waits until `fn(arg)` is truthy in the page; `what` names the condition in the error. */
export async function until(page, what, fn, arg) {
  try {
    const handle = await page.waitForFunction(fn, arg, { timeout: TIMEOUT, polling: 50 });
    return await handle.jsonValue();
  } catch (e) {
    throw new Error(`timed out waiting for ${what}: ${e.message.split("\n")[0]}`);
  }
}

export async function createProject(page, baseUrl, title) {
  await page.goto(`${baseUrl}/`);
  await page.fill("#new-project-title", title);
  await page.click(".new-project button[type=submit]");
  await page.waitForSelector("[data-ready=true]", { timeout: TIMEOUT });
  return page.evaluate(() => location.hash.split("/")[2]);
}

/** An owner mints a share link through the Share menu. */
export async function shareLink(page, role) {
  await page.click(".share-button");
  await page.click(`.share-menu [data-role=${role}]`);
  const link = await until(page, `a ${role} link`, () => {
    const input = document.querySelector(".share-link input");
    return input && input.value ? input.value : null;
  });
  await page.click(".share-button");
  return link;
}

export async function openLink(page, link) {
  await page.goto(link);
  await page.waitForSelector("[data-ready=true]", { timeout: TIMEOUT });
}

export async function waitConn(page, state) {
  await page.waitForSelector(`.conn[data-state=${state}]`, { timeout: TIMEOUT });
}

export async function tab(page, name) {
  await page.click(`[data-tab=${name}]`);
  if (name === "script") await page.waitForSelector(".script-text .ln", { timeout: TIMEOUT });
}

/** The script as the page shows it, one line per line element. */
export function scriptText(page) {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll(".script-text .ln")).map((l) => l.textContent).join("\n"));
}

export async function waitScript(page, what, predicate) {
  return until(page, what, (src) => {
    const text = Array.from(document.querySelectorAll(".script-text .ln"))
      .map((l) => l.textContent).join("\n");
    // eslint-disable-next-line no-new-func
    return new Function("text", `return (${src})(text)`)(text) ? text : null;
  }, predicate.toString());
}

/** Places the caret at the very end of the script. */
export async function caretToEnd(page) {
  await page.click(".script-text");
  await page.keyboard.press("Control+End");
}

/** The board's shot cards in the DOM, in order: id and description (edited in place on the card). */
export function cards(page) {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll(".shot-card")).map((c) => ({
      id: c.dataset.shotId,
      text: ((d) => d.value ?? d.textContent)(c.querySelector(".shot-description")),
    })));
}

export async function waitCards(page, what, predicate) {
  return until(page, what, (src) => {
    const list = Array.from(document.querySelectorAll(".shot-card")).map((c) => ({
      id: c.dataset.shotId,
      text: ((d) => d.value ?? d.textContent)(c.querySelector(".shot-description")),
    }));
    // eslint-disable-next-line no-new-func
    return new Function("cards", `return (${src})(cards)`)(list) ? list : null;
  }, predicate.toString());
}

// ---- a small PNG, so that uploads are real images the browser decodes ----

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A `width` x `height` PNG in one colour with a diagonal stripe. */
export function png(width, height, [r, g, b]) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      const stripe = Math.abs(x - Math.round((y * width) / height)) < 3;
      row.set(stripe ? [255, 255, 255] : [r, g, b], 1 + x * 3);
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

// ---- a big board ----

/**
 * Imports the first fifth of 三国演义 through the API: about 3,700 shots in about 120 scenes,
 * the size of the board issue 12 measured (Pride and Prejudice after generate-all). Resolves
 * to the server's answer (project id, owner token, shot and scene counts).
 */
export async function importBigBoard(baseUrl, fraction = 0.205) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const data = process.env.SHOTWEAVE_SHARED_DATA ?? path.resolve(here, "../../../shared/data");
  const novel = readFileSync(path.join(data, "novels/sanguo-full.zh.txt"), "utf8");
  const text = novel.slice(0, Math.floor(novel.length * fraction));
  const res = await fetch(`${baseUrl}/api/import?file_name=sanguo.txt&title=${encodeURIComponent("三国演义 board")}`, {
    method: "POST",
    body: Buffer.from(text, "utf8"),
  });
  if (res.status !== 201) throw new Error(`import answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** Every node in the page (elements, text, comments), as the DOM holds them. */
export function domNodes(page) {
  return page.evaluate(() => {
    const walker = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
    let n = 0;
    while (walker.nextNode()) n++;
    return n;
  });
}
