// Generation, import and export in the browser studio: real headless Chromium (Debian's), the
// real sync-server binary with its built-in offline renderer, two people in separate browser
// contexts. Run by `cargo xtask test`; screenshots go to tests/browser/artifacts/ (gitignored).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { startServer, launchBrowser, person, artifactPath } from "./harness.mjs";
import { until, createProject, shareLink, openLink, waitConn, waitCards, png, TIMEOUT } from "./helpers.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const SHARED_DATA = process.env.SHOTWEAVE_SHARED_DATA ?? path.resolve(here, "../../../shared/data");

let server;
let browser;
let fakeOpenAi;

/**
 * A stand-in for OpenAI's images API that holds each request for `holdMs`, then refuses it the
 * way the real API refuses a prompt its safety system blocks.
 */
async function startRefusingImagesApi(holdMs) {
  const requests = [];
  const srv = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => { body += d; });
    req.on("end", () => {
      requests.push({ path: req.url, body });
      setTimeout(() => {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: {
          message: "Your request was rejected by the safety system.",
          type: "image_generation_user_error", param: null, code: "moderation_blocked",
        } }));
      }, holdMs);
    });
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${srv.address().port}/v1`,
    requests,
    close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }),
  };
}

before(async () => {
  fakeOpenAi = await startRefusingImagesApi(4_000);
  // Only this file's server (each test file runs in its own process) sends OpenAI image jobs
  // to the fake.
  process.env.SHOTWEAVE_PROVIDER_URLS = `openai-images=${fakeOpenAi.url}`;
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await fakeOpenAi?.close();
});

/**
 * Asserts that a page logged no console errors except, in order, the HTTP refusals the test
 * provoked on purpose (Chromium logs every 4xx response as a console error).
 */
function assertConsoleErrors(p, expectedStatuses = []) {
  const refused = [];
  const other = [];
  for (const e of p.errors) {
    const m = e.match(/^Failed to load resource: the server responded with a status of (\d+)/);
    if (m) refused.push(Number(m[1]));
    else other.push(e);
  }
  assert.deepEqual(other, [], `console errors in ${p.name}'s page`);
  assert.deepEqual(refused, expectedStatuses, `refused requests in ${p.name}'s page`);
}

/**
 * Records, from now on, every generation status a shot card shows (even for a moment), when
 * each card first shows a loaded picture, and whether the server's peer ever appeared as a
 * person in the status bar.
 */
async function recordBoard(page) {
  await page.evaluate(() => {
    const log = { statuses: [], pictures: {}, serverAsPerson: false };
    window.__board = log;
    const record = (s) => {
      const card = s.closest(".shot-card");
      if (!card) return;
      const button = card.querySelector(".gen-frame");
      log.statuses.push({
        shot: card.dataset.shotId, status: s.dataset.status, t: performance.now(),
        buttonDisabled: button ? button.getAttribute("aria-disabled") === "true" : null,
      });
    };
    const seen = (el) => {
      for (const s of el.querySelectorAll?.(".gen-status") ?? []) record(s);
      if (el.matches?.(".gen-status")) record(el);
    };
    const picture = () => {
      for (const img of document.querySelectorAll(".shot-card .thumb img")) {
        const id = img.closest(".shot-card").dataset.shotId;
        if (!(id in log.pictures) && img.complete && img.naturalWidth > 0) log.pictures[id] = performance.now();
      }
    };
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) if (n.nodeType === 1) seen(n);
      if ([...document.querySelectorAll(".peers .peer-name")].some((n) => n.textContent === "Shotweave")) {
        log.serverAsPerson = true;
      }
      picture();
    }).observe(document.body, { childList: true, subtree: true });
    // A picture finishes loading without a DOM mutation.
    document.addEventListener("load", picture, true);
  });
}

const boardLog = (page) => page.evaluate(() => window.__board);

/** Waits until every card (or the cards `ids`) shows a decoded picture; returns the count. */
function waitPictures(page, what, ids) {
  return until(page, what, (ids) => {
    const all = Array.from(document.querySelectorAll(".shot-card"));
    const cards = ids ? all.filter((c) => ids.includes(c.dataset.shotId)) : all;
    if (cards.length === 0 || (ids && cards.length !== ids.length)) return null;
    const ok = cards.every((c) => {
      const img = c.querySelector(".thumb img");
      return img && img.complete && img.naturalWidth > 0;
    });
    return ok ? cards.length : null;
  }, ids ?? null);
}

/** A scene with `n` new shots, each described; returns the shot ids in order. */
async function boardWithShots(page, n) {
  await page.click(".add-scene");
  await page.waitForSelector(".scene .add-shot");
  for (let i = 1; i <= n; i++) {
    await page.click(".scene .add-shot");
    await waitCards(page, `${i} cards`, new Function("c", `return c.length === ${i}`));
    await page.fill("#shot-description", `Shot ${i}: the white rabbit runs past, checking its watch`);
    await page.press("#shot-description", "Tab");
  }
  await page.click(".close-panel");
  const cards = await waitCards(page, "the described shots", new Function("c",
    `return c.length === ${n} && c.every(x => x.text.startsWith("Shot "))`));
  return cards.map((c) => c.id);
}

test("one person generates a frame and everyone sees progress, then the take; generate all fills the board", async () => {
  const alice = await person(browser, "Alice", "#e6194b");
  // Bob is an editor working in Chinese.
  const bob = await person(browser, "Bob", "#4363d8", { width: 1920, height: 1080 });
  await bob.context.addInitScript(() => localStorage.setItem("shotweave.lang", "zh"));
  try {
    await createProject(alice.page, server.url, "Generate together");
    const shots = await boardWithShots(alice.page, 3);
    await openLink(bob.page, await shareLink(alice.page, "editor"));
    await waitConn(alice.page, "online");
    await waitConn(bob.page, "online");
    await waitCards(bob.page, "the three shots at Bob", (c) => c.length === 3);

    // Owners and editors get the generate controls, in their language; only owners the settings.
    assert.equal(await alice.page.inputValue("#gen-provider"), "offline");
    // The picker offers what the server says it can run.
    const offered = await alice.page.evaluate(async () => {
      const { providers } = await (await fetch("/api/providers")).json();
      return providers.filter((p) => p.kinds.includes("frame") || p.kinds.includes("clip")).map((p) => p.name);
    });
    assert.ok(offered.includes("offline") && offered.includes("kling"), JSON.stringify(offered));
    assert.deepEqual(
      await alice.page.locator("#gen-provider option").evaluateAll((os) => os.map((o) => o.value)), offered);
    assert.equal(await alice.page.locator(".shot-card .gen-frame").count(), 3);
    assert.equal(await alice.page.locator(".shot-card .gen-clip").count(), 0);
    assert.equal(await alice.page.locator(".settings-button").count(), 1);
    assert.equal(await bob.page.locator(".settings-button").count(), 0);
    assert.equal((await bob.page.textContent(".generate-all")).trim(), "全部生成");
    assert.equal((await bob.page.textContent(`[data-shot-id="${shots[0]}"] .gen-frame`)).trim(), "生成画面");

    await recordBoard(alice.page);
    await recordBoard(bob.page);
    await bob.page.evaluate(() => { window.__sameDocument = true; });

    // Alice generates the first shot's frame with the offline renderer, from the keyboard.
    await alice.page.focus(`[data-shot-id="${shots[0]}"] .gen-frame`);
    await alice.page.keyboard.press("Enter");
    await waitPictures(alice.page, "the take on Alice's first card", [shots[0]]);
    // The take re-created the card; the keyboard focus stayed on its Generate button.
    await until(alice.page, "the focus back on the new card's button", (id) =>
      document.activeElement?.matches(`[data-shot-id="${id}"] .gen-frame`), shots[0]);
    await waitPictures(bob.page, "the take on Bob's first card, without a reload", [shots[0]]);
    assert.equal(await bob.page.evaluate(() => window.__sameDocument), true, "Bob's page reloaded");

    // Alice's card showed the job (queued or running) before the picture arrived.
    const aliceLog = await boardLog(alice.page);
    const shown = aliceLog.statuses.filter((s) => s.shot === shots[0]);
    assert.ok(shown.length > 0, "Alice's card never showed the job's progress");
    assert.ok(shown[0].t < aliceLog.pictures[shots[0]], "the progress showed only after the take");
    assert.ok(shown.every((s) => s.status === "queued" || s.status === "running"), JSON.stringify(shown));
    // While its job is under way, the shot cannot be sent again.
    assert.ok(shown.every((s) => s.buttonDisabled === true), JSON.stringify(shown));
    // The other shots have no take yet.
    assert.equal(await alice.page.locator(".shot-card .thumb img").count(), 1);
    await alice.page.screenshot({ path: artifactPath("generate-one-1280x720.png") });

    // Generate all: only the two shots without a take are queued, and both get one everywhere.
    await alice.page.click(".generate-all");
    await until(alice.page, "the queued notice", () =>
      document.querySelector(".gen-notice")?.textContent === "2 jobs queued");
    assert.equal(await waitPictures(alice.page, "a take on every card at Alice"), 3);
    assert.equal(await waitPictures(bob.page, "a take on every card at Bob"), 3);
    const bobLog = await boardLog(bob.page);
    const running = new Set(bobLog.statuses.filter((s) => s.status === "running").map((s) => s.shot));
    assert.ok(running.size > 0 && [...running].every((s) => shots.includes(s)),
      `Bob saw no job running: ${JSON.stringify(bobLog.statuses)}`);
    assert.equal(bobLog.serverAsPerson, false, "the server's peer was listed as a person at Bob");
    assert.equal((await boardLog(alice.page)).serverAsPerson, false,
      "the server's peer was listed as a person at Alice");

    // Once everything is done the cards show no job state and no job failed.
    await until(alice.page, "the cards to settle", () => document.querySelectorAll(".gen-status").length === 0);
    assert.equal(await alice.page.locator(".job[data-status=failed]").count(), 0);
    assert.equal(await alice.page.locator(".gen-error").count(), 0);
    await alice.page.screenshot({ path: artifactPath("generate-all-1280x720.png") });
    await bob.page.screenshot({ path: artifactPath("generate-all-zh-1920x1080.png") });
    assertConsoleErrors(alice);
    assertConsoleErrors(bob);
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

test("a missing key and an exhausted budget refuse generation with a clear message; keys are write-only", async () => {
  const alice = await person(browser, "Alice", "#e6194b");
  const vera = await person(browser, "Vera", "#911eb4");
  const colm = await person(browser, "Colm", "#0f9fb4");
  const SECRET = "sk-browser-test-0123456789abcdef";
  try {
    await createProject(alice.page, server.url, "Budgets");
    const [shot] = await boardWithShots(alice.page, 1);

    // Settings, from the keyboard: a one-cent budget and an OpenAI key.
    await alice.page.focus(".settings-button");
    await alice.page.keyboard.press("Enter");
    await alice.page.waitForSelector(".settings-menu .key-row[data-provider=openai-images]");
    await until(alice.page, "the budget loaded", () => document.querySelector(".budget-now")?.textContent.includes("$0.00"));
    await alice.page.fill("#budget-limit", "0.01");
    await alice.page.press("#budget-limit", "Enter");
    await until(alice.page, "the saved budget", () =>
      document.querySelector(".budget-now")?.textContent.includes("$0.01")
      && document.querySelector(".settings-saved") !== null);
    const keyState = ".key-row[data-provider=openai-images] .key-state";
    assert.equal(await alice.page.getAttribute(keyState, "data-set"), "false");
    assert.equal(await alice.page.getAttribute("#key-openai-images", "type"), "password");
    await alice.page.fill("#key-openai-images", SECRET);
    await alice.page.press("#key-openai-images", "Enter");
    await alice.page.waitForSelector(`${keyState}[data-set=true]`, { timeout: TIMEOUT });
    assert.equal(await alice.page.inputValue("#key-openai-images"), "");
    // Closing with Escape returns focus to the button; reopening reads the state back from
    // the server, which says only that a key is set.
    await alice.page.keyboard.press("Escape");
    assert.equal(await alice.page.evaluate(() => document.activeElement?.className), "settings-button");
    await alice.page.click(".settings-button");
    await alice.page.waitForSelector(`${keyState}[data-set=true]`, { timeout: TIMEOUT });
    assert.equal((await alice.page.textContent(keyState)).trim(), "key set");
    assert.equal(await alice.page.inputValue("#key-openai-images"), "");
    assert.ok(!(await alice.page.content()).includes(SECRET), "the key is in the page");
    await alice.page.screenshot({ path: artifactPath("settings-1280x720.png") });
    await alice.page.click(".close-settings");

    // No key for Gemini: refused, and the message names the missing key.
    await alice.page.selectOption("#gen-provider", "gemini");
    await alice.page.click(`[data-shot-id="${shot}"] .gen-frame`);
    await alice.page.waitForSelector(".gen-error[role=alert]", { timeout: TIMEOUT });
    assert.equal(await alice.page.textContent(".gen-error-text"),
      "no gemini key is set for this project: an owner can add one in Settings");

    // OpenAI with a key, but a frame costs more than the one-cent budget.
    await alice.page.selectOption("#gen-provider", "openai-images");
    await alice.page.click(`[data-shot-id="${shot}"] .gen-frame`);
    await until(alice.page, "the budget refusal", () =>
      document.querySelector(".gen-error-text")?.textContent.startsWith("budget exceeded"));
    assert.match(await alice.page.textContent(".gen-error-text"), /\$0\.01 budget/);
    // Nothing was queued and the shot has no take.
    assert.equal(await alice.page.locator(".shot-card .gen-status, .shot-card .thumb img").count(), 0);
    await alice.page.screenshot({ path: artifactPath("generate-refused-1280x720.png") });

    // A video provider offers clips instead of frames.
    await alice.page.selectOption("#gen-provider", "kling");
    await alice.page.waitForSelector(`[data-shot-id="${shot}"] .gen-clip`);
    assert.equal(await alice.page.locator(".shot-card .gen-frame").count(), 0);
    // The offline renderer costs nothing, so the budget does not stop it: "Generate scene".
    await alice.page.selectOption("#gen-provider", "offline");
    await alice.page.click(".scene .gen-scene");
    await waitPictures(alice.page, "the scene's take", [shot]);
    await until(alice.page, "the finished job in the panel", () =>
      document.querySelector(".jobs-panel .jobs-counts")?.textContent.includes("Done: 1 ·"));

    // A viewer and a commenter see the board, its take and the Export menu, but get no
    // generate or settings controls.
    for (const [p, role] of [[vera, "viewer"], [colm, "commenter"]]) {
      await openLink(p.page, await shareLink(alice.page, role));
      await waitConn(p.page, "online");
      await waitCards(p.page, `the shot at the ${role}`, (c) => c.length === 1);
      await p.page.waitForSelector(".role-badge.readonly", { timeout: TIMEOUT });
      await waitPictures(p.page, `the take at the ${role}`, [shot]);
      assert.equal(await p.page.locator(
        ".gen-frame, .gen-clip, .gen-scene, .generate-all, #gen-provider, .settings-button, .cancel-job").count(), 0);
      assert.equal(await p.page.locator(".export-button").count(), 1);
    }

    assertConsoleErrors(alice, [400, 402]);
    assertConsoleErrors(vera);
    assertConsoleErrors(colm);
  } finally {
    await alice.context.close();
    await vera.context.close();
    await colm.context.close();
  }
});

test("a provider's refusal shows on the cards of everyone, and a queued job can be cancelled", async () => {
  const alice = await person(browser, "Alice", "#e6194b");
  const bob = await person(browser, "Bob", "#4363d8");
  try {
    await createProject(alice.page, server.url, "Refusals");
    const shots = await boardWithShots(alice.page, 6);
    await openLink(bob.page, await shareLink(alice.page, "editor"));
    await waitConn(bob.page, "online");
    await waitCards(bob.page, "the six shots at Bob", (c) => c.length === 6);

    await alice.page.click(".settings-button");
    await alice.page.fill("#key-openai-images", "sk-refusal-test");
    await alice.page.press("#key-openai-images", "Enter");
    await alice.page.waitForSelector(".key-row[data-provider=openai-images] .key-state[data-set=true]");
    await alice.page.click(".close-settings");
    const before = fakeOpenAi.requests.length;

    // Four jobs run at once (the server's default), so two wait in the queue; Alice cancels
    // the last of them while the provider still holds the first four.
    await alice.page.selectOption("#gen-provider", "openai-images");
    await alice.page.click(".generate-all");
    await until(alice.page, "two queued jobs in the panel", () =>
      document.querySelectorAll(".job-list[data-list=queued] .job").length === 2);
    const cancelled = await alice.page.getAttribute(".job-list[data-list=queued] .job:last-child", "data-job-id");
    await alice.page.click(`.job[data-job-id="${cancelled}"] .cancel-job`);
    await until(alice.page, "the cancelled job gone from the queue", (id) =>
      !document.querySelector(`.job[data-job-id="${id}"]`), cancelled);

    // Every other job is refused: each card says so, with the provider's reason, at Bob too.
    const failed = (page) => until(page, "five refused shots", () => {
      const cards = Array.from(document.querySelectorAll(".shot-card"));
      const refused = cards.filter((c) => c.querySelector(".gen-status[data-status=failed]"));
      const working = cards.filter((c) => c.querySelector(".gen-status:not([data-status=failed])"));
      return refused.length === 5 && working.length === 0
        ? refused.map((c) => [c.dataset.shotId, c.querySelector(".gen-reason").textContent])
        : null;
    });
    for (const page of [alice.page, bob.page]) {
      const refused = await failed(page);
      assert.equal(refused.length, 5);
      for (const [, reason] of refused) assert.match(reason, /rejected by the safety system/);
      assert.equal(new Set(refused.map(([id]) => id)).size, 5);
      assert.ok(refused.every(([id]) => shots.includes(id)));
      assert.equal(await page.locator(".shot-card .thumb img").count(), 0);
    }
    // The panel counts five failures and lists the latest three with their reason.
    await until(alice.page, "five failures in the jobs panel", () =>
      document.querySelector(".jobs-counts")?.textContent.endsWith("Failed: 5"));
    const listed = await alice.page.locator(".job-list[data-list=failed] .job .job-error").allTextContents();
    assert.equal(listed.length, 3);
    for (const reason of listed) assert.match(reason, /rejected by the safety system/);
    // The cancelled job never reached the provider.
    assert.equal(fakeOpenAi.requests.length - before, 5);
    assert.ok(fakeOpenAi.requests.slice(before).every((r) => r.path.endsWith("/images/generations")));
    await alice.page.screenshot({ path: artifactPath("generate-refused-by-provider-1280x720.png") });
    await bob.page.screenshot({ path: artifactPath("generate-refused-by-provider-bob-1280x720.png") });
    assertConsoleErrors(alice);
    assertConsoleErrors(bob);
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

test("a novel imported through the file input becomes a board, and its export downloads", async () => {
  const alice = await person(browser, "Alice", "#e6194b");
  try {
    const novel = readFileSync(path.join(SHARED_DATA, "novels/alice-in-wonderland.en.txt"), "utf8");
    const end = novel.indexOf("CHAPTER III.");
    assert.ok(end > 0, "the novel's third chapter heading");
    const twoChapters = Buffer.from(novel.slice(0, end), "utf8");

    await alice.page.goto(`${server.url}/`);
    await alice.page.waitForSelector("#import-novel-file", { state: "attached" });
    // A picture is not a novel: a clear error, and the list stays.
    await alice.page.setInputFiles("#import-novel-file", {
      name: "cover.txt", mimeType: "text/plain", buffer: png(64, 48, [200, 40, 40]),
    });
    await alice.page.waitForSelector(".import-error[role=alert]", { timeout: TIMEOUT });
    assert.match(await alice.page.textContent(".import-error"), /^Could not import: the file does not look like text/);
    assert.equal(await alice.page.evaluate(() => location.hash), "");
    await alice.page.screenshot({ path: artifactPath("import-refused-1280x720.png") });

    // Two chapters of Alice: a spinner while the server breaks them down, then the board.
    await alice.page.evaluate(() => {
      window.__spinner = false;
      new MutationObserver(() => {
        if (document.querySelector(".import-progress .spinner")) window.__spinner = true;
      }).observe(document.body, { childList: true, subtree: true });
    });
    await alice.page.setInputFiles("#import-novel-file", {
      name: "alice-two-chapters.txt", mimeType: "text/plain", buffer: twoChapters,
    });
    await alice.page.waitForSelector("[data-ready=true]", { timeout: TIMEOUT });
    assert.equal(await alice.page.evaluate(() => window.__spinner), true, "no progress shown during the import");
    assert.equal(await alice.page.locator(".import-error").count(), 0);
    const board = await waitCards(alice.page, "the imported board", (c) => c.length >= 10);
    // The board is windowed: the scene count comes from the board, not from the sections shown.
    const scenes = await alice.page.evaluate(() => Number(document.querySelector(".scenes").dataset.scenes));
    assert.ok(scenes >= 2, `two chapters gave ${scenes} scenes`);
    assert.ok(board.some((c) => /rabbit/i.test(c.text)), "no shot mentions the rabbit");
    await waitConn(alice.page, "online");
    await alice.page.screenshot({ path: artifactPath("imported-novel-1280x720.png") });

    // The Export menu, by keyboard: Enter opens it, Tab reaches the first link.
    await alice.page.focus(".export-button");
    await alice.page.keyboard.press("Enter");
    await alice.page.waitForSelector(".export-menu .export-link[data-format=otio]");
    await alice.page.keyboard.press("Tab");
    assert.equal(await alice.page.evaluate(() => document.activeElement?.dataset.format), "otio");
    const [download] = await Promise.all([
      alice.page.waitForEvent("download", { timeout: TIMEOUT }),
      alice.page.keyboard.press("Enter"),
    ]);
    assert.equal(download.suggestedFilename(), "storyboard.otio");
    const otio = readFileSync(await download.path(), "utf8");
    assert.ok(otio.length > 0, "the .otio is empty");
    const timeline = JSON.parse(otio);
    assert.match(timeline.OTIO_SCHEMA, /^Timeline\./);
    // One item per shot, in the board's order (gaps, since no frame was generated yet). The
    // board is windowed: the cards in the page are the first ones, the count is the board's.
    const items = timeline.tracks.children.flatMap((t) => t.children);
    const shots = await alice.page.evaluate(() => Number(document.querySelector(".scenes").dataset.shots));
    assert.equal(items.length, shots);
    assert.deepEqual(items.slice(0, board.length).map((i) => i.metadata.shotweave.shot_id), board.map((c) => c.id));

    // The review report is in the same menu (still open): the PDF downloads as one.
    const reviewPdf = alice.page.locator(".export-menu .export-link[data-format=review-pdf]");
    assert.equal((await reviewPdf.textContent()).trim(), "Review report (PDF)");
    assert.equal(await alice.page.locator(".export-menu .export-link[data-format=review-html]").count(), 1);
    const [report] = await Promise.all([
      alice.page.waitForEvent("download", { timeout: TIMEOUT }),
      reviewPdf.click(),
    ]);
    assert.equal(report.suggestedFilename(), "storyboard.review.pdf");
    assert.equal(readFileSync(await report.path()).subarray(0, 5).toString("latin1"), "%PDF-");

    assertConsoleErrors(alice, [400]);
  } finally {
    await alice.context.close();
  }
});
