// Review in the browser studio: an owner and a reviewer with a commenter link, in real headless
// Chromium against the real sync-server binary. The reviewer gives a name once, comments on a
// shot and on a script range; the owner sees both live and resolves one; the range follows
// the owner's edits; the reviewer cannot edit the project (the UI is read-only and the server
// refuses raw writes); a comment written offline is posted once on reconnect; a deleted shot's
// thread stays, orphaned; keyboard shortcuts; a revoked link stops working on the open page.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { startServer, launchBrowser, person, artifactPath } from "./harness.mjs";
import {
  until, createProject, shareLink, openLink, waitConn, tab, waitScript, caretToEnd, waitCards,
} from "./helpers.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The token this page keeps for its (only) project. */
function storedToken(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem("shotweave.projects"))[0].token);
}

/** Selects `words` in the script (the line holding them is on screen). */
async function selectWords(page, words) {
  const found = await page.evaluate((w) => {
    for (const ln of document.querySelectorAll(".script-text .ln")) {
      const node = ln.firstChild;
      if (node?.nodeType !== Node.TEXT_NODE) continue;
      const i = node.data.indexOf(w);
      if (i < 0) continue;
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + w.length);
      const selection = getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      return true;
    }
    return false;
  }, words);
  assert.ok(found, `"${words}" is not on screen`);
}

/** Puts the caret right before `words` in the (editable) script. */
async function caretBefore(page, words) {
  await page.evaluate((w) => {
    const root = document.querySelector(".script-text");
    root.focus();
    for (const ln of root.querySelectorAll(".ln")) {
      const node = ln.firstChild;
      if (node?.nodeType !== Node.TEXT_NODE) continue;
      const i = node.data.indexOf(w);
      if (i < 0) continue;
      getSelection().collapse(node, i);
      return;
    }
    throw new Error(`"${w}" is not on screen`);
  }, words);
}

/** The threads the panel lists: anchor kind, anchor text, status and comment texts. */
function threads(page) {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll(".review-panel .thread[data-thread-id]")).map((t) => ({
      anchor: t.dataset.anchor,
      label: t.querySelector(".anchor-label").textContent,
      status: t.dataset.status,
      comments: Array.from(t.querySelectorAll(".comment:not(.pending) .comment-text")).map((c) => c.textContent),
      authors: Array.from(t.querySelectorAll(".comment .author")).map((c) => c.textContent),
    })));
}

async function waitThreads(page, what, predicate) {
  return until(page, what, (src) => {
    const list = Array.from(document.querySelectorAll(".review-panel .thread[data-thread-id]")).map((t) => ({
      anchor: t.dataset.anchor,
      label: t.querySelector(".anchor-label").textContent,
      status: t.dataset.status,
      comments: Array.from(t.querySelectorAll(".comment:not(.pending) .comment-text")).map((c) => c.textContent),
    }));
    // eslint-disable-next-line no-new-func
    return new Function("threads", `return (${src})(threads)`)(list) ? list : null;
  }, predicate.toString());
}

/**
 * Sends one y-websocket update (inserting "HACK" into the root text `script`, hand-encoded as
 * Yjs update v1) on a fresh raw connection to `doc` with `token`, and resolves to the
 * permission-denied reason the server answers with (or null after 5 s).
 */
function rawWrite(page, doc, token) {
  return page.evaluate(async ([doc, token]) => {
    const enc = new TextEncoder();
    const varUint = (n) => {
      const out = [];
      while (n > 0x7f) { out.push(0x80 | (n & 0x7f)); n = Math.floor(n / 128); }
      out.push(n);
      return out;
    };
    const str = (s) => { const b = enc.encode(s); return [...varUint(b.length), ...b]; };
    // One client, one struct: an item with string content (info 4) whose parent is the root
    // type named "script" (parent info 1), clock 0; then an empty delete set.
    const update = [1, 1, ...varUint(424242), 0, 4, 1, ...str("script"), ...str("HACK"), 0];
    const frame = new Uint8Array([0, 2, ...varUint(update.length), ...update]);
    const ws = new WebSocket(`${location.origin.replace("http", "ws")}/sync/${doc}?token=${encodeURIComponent(token)}`);
    ws.binaryType = "arraybuffer";
    return new Promise((resolve) => {
      const timer = setTimeout(() => { ws.close(); resolve(null); }, 5000);
      ws.onopen = () => ws.send(frame);
      ws.onmessage = (e) => {
        const b = new Uint8Array(e.data);
        // messageAuth (2), permission denied (0), then the reason as a var string.
        if (b[0] === 2 && b[1] === 0) {
          let i = 2, len = 0, shift = 0;
          for (;;) { const x = b[i++]; len |= (x & 0x7f) << shift; shift += 7; if (x < 0x80) break; }
          clearTimeout(timer);
          ws.close();
          resolve(new TextDecoder().decode(b.slice(i, i + len)));
        }
      };
      ws.onclose = () => { clearTimeout(timer); resolve(null); };
    });
  }, [doc, token]);
}

test("a reviewer comments through a link; the owner sees it live, resolves, edits around it, and revokes the link", async () => {
  const owner = await person(browser, "Olivia", "#e6194b");
  const reviewer = await person(browser, "Guest 4321", "#4363d8");
  try {
    const id = await createProject(owner.page, server.url, "Peach garden review");

    // The owner writes a script and a shot.
    await tab(owner.page, "script");
    await caretToEnd(owner.page);
    await owner.page.keyboard.type("INT. PEACH GARDEN - DAY\nLiu Bei swears an oath with his brothers.\nThe end.");
    await tab(owner.page, "board");
    await owner.page.click(".add-scene");
    await owner.page.click(".scene .add-shot");
    const [shot] = await waitCards(owner.page, "the owner's shot", (c) => c.length === 1);
    await owner.page.click(`[data-shot-id="${shot.id}"]`);
    await owner.page.fill("#shot-description", "Three brothers kneel under the blossoms");
    await owner.page.press("#shot-description", "Tab");
    await owner.page.click(".close-panel");

    // ---- identity: the reviewer opens the link and gives a name once ----
    const link = await shareLink(owner.page, "commenter");
    await openLink(reviewer.page, link);
    await reviewer.page.waitForSelector("[data-testid=join]", { timeout: 20_000 });
    const linkToken = await storedToken(reviewer.page);
    await reviewer.page.fill("#join-name", "Cora");
    await reviewer.page.press("#join-name", "Enter");
    await reviewer.page.waitForSelector("[data-testid=join]", { state: "detached", timeout: 20_000 });
    await reviewer.page.waitForSelector("[data-ready=true]", { timeout: 20_000 });
    const personal = await storedToken(reviewer.page);
    assert.notEqual(personal, linkToken, "the personal token replaces the link's");
    const me = await reviewer.page.evaluate(async ([id, token]) =>
      (await fetch(`/api/projects/${id}/me`, { headers: { Authorization: `Bearer ${token}` } })).json(), [id, personal]);
    assert.equal(me.person?.name, "Cora");
    assert.equal(me.role, "commenter");
    await waitConn(reviewer.page, "online");
    // A reload does not ask again.
    await reviewer.page.reload();
    await reviewer.page.waitForSelector("[data-ready=true]", { timeout: 20_000 });
    await waitConn(reviewer.page, "online");
    assert.equal(await reviewer.page.locator("[data-testid=join]").count(), 0);

    // ---- the reviewer cannot edit: read-only UI ----
    await waitCards(reviewer.page, "the shot at the reviewer", (c) => c[0]?.text === "Three brothers kneel under the blossoms");
    assert.equal(await reviewer.page.locator(".add-scene, .add-shot, .share-button").count(), 0);
    await reviewer.page.click(`[data-shot-id="${shot.id}"]`);
    await reviewer.page.waitForSelector("#shot-description:disabled", { timeout: 20_000 });

    // ---- a comment on the shot, with an @mention ----
    await reviewer.page.click(`[data-shot-id="${shot.id}"] .shot-comments`);
    const composer = ".review-panel .composer.new textarea";
    await reviewer.page.waitForSelector(composer, { timeout: 20_000 });
    await reviewer.page.click(composer);
    await reviewer.page.keyboard.type("Wider, please @Oli");
    await reviewer.page.click(".review-panel .composer.new .mention:text('@Olivia')", { timeout: 20_000 });
    await reviewer.page.keyboard.type("the oath needs the whole garden");
    assert.equal(await reviewer.page.inputValue(composer), "Wider, please @Olivia the oath needs the whole garden");
    await reviewer.page.click(".review-panel .composer.new .send");
    await waitThreads(reviewer.page, "the shot thread at the reviewer", (t) =>
      t.some((x) => x.anchor === "shot" && x.comments[0]?.startsWith("Wider, please @Olivia")));
    await reviewer.page.waitForSelector(".review-panel [data-pending]", { state: "detached", timeout: 20_000 });

    // ---- a comment on a script range ----
    await tab(reviewer.page, "script");
    await waitScript(reviewer.page, "the script at the reviewer", (t) => t.includes("swears an oath"));
    assert.equal(await reviewer.page.getAttribute(".script-text", "contenteditable"), "false");
    await selectWords(reviewer.page, "swears an oath");
    await reviewer.page.click(".comment-selection", { timeout: 20_000 });
    await reviewer.page.waitForSelector(".new-thread .anchor-label:text('“swears an oath”')", { timeout: 20_000 });
    await reviewer.page.fill(composer, "Too abrupt: give the oath a beat");
    await reviewer.page.press(composer, "Control+Enter");
    await waitThreads(reviewer.page, "the script thread at the reviewer", (t) =>
      t.some((x) => x.anchor === "script" && x.label === "“swears an oath”"));
    // The margin marks the line.
    await reviewer.page.waitForSelector(".review-margin .margin-mark[data-count='1']", { timeout: 20_000 });

    // ---- the owner sees both live ----
    await owner.page.click(".review-toggle");
    const both = await waitThreads(owner.page, "both threads at the owner", (t) =>
      t.length === 2 && t.some((x) => x.anchor === "shot") && t.some((x) => x.anchor === "script"));
    assert.deepEqual(both.find((x) => x.anchor === "script").comments, ["Too abrupt: give the oath a beat"]);
    assert.equal(both.find((x) => x.anchor === "shot").label, "Shot #1");
    assert.deepEqual(
      (await threads(owner.page)).flatMap((x) => x.authors), ["Cora", "Cora"], "the server names the author");
    await owner.page.waitForSelector(`[data-shot-id="${shot.id}"] .shot-comments[data-count='1']`, { timeout: 20_000 });
    assert.equal(await owner.page.textContent("[data-testid=open-threads]"), "2");
    // Only the author may edit or delete a comment.
    assert.equal(await owner.page.locator(".review-panel .edit-comment, .review-panel .delete-comment").count(), 0);
    assert.equal(await reviewer.page.locator(".review-panel .comment.own .edit-comment").count(), 2);
    await owner.page.screenshot({ path: artifactPath("review-owner-1280x720.png") });
    // `]` and `[` step through the listed threads.
    await owner.page.click(".review-head h2");
    await owner.page.keyboard.press("]");
    await owner.page.waitForSelector(".thread.focused[data-anchor=shot]", { timeout: 20_000 });
    await owner.page.keyboard.press("]");
    await owner.page.waitForSelector(".thread.focused[data-anchor=script]", { timeout: 20_000 });
    await owner.page.keyboard.press("[");
    await owner.page.waitForSelector(".thread.focused[data-anchor=shot]", { timeout: 20_000 });

    // ---- the owner resolves the shot thread; the reviewer sees it ----
    await owner.page.click(".review-panel .thread[data-anchor=shot] .resolve");
    await until(reviewer.page, "one open thread at the reviewer", () =>
      document.querySelector("[data-testid=open-threads]")?.textContent === "1");
    await waitThreads(reviewer.page, "the resolved thread gone from the open list", (t) =>
      t.length === 1 && t[0].anchor === "script");
    await reviewer.page.click(".review-filters [data-filter=resolved]");
    await waitThreads(reviewer.page, "the resolved thread at the reviewer", (t) =>
      t.length === 1 && t[0].anchor === "shot" && t[0].status === "resolved");
    await reviewer.page.click(".review-filters [data-filter=open]");

    // ---- the owner types before and inside the range: the thread keeps its words ----
    await tab(owner.page, "script");
    await caretBefore(owner.page, "Liu Bei");
    await owner.page.keyboard.type("Then ");
    await caretBefore(owner.page, "oath with");
    await owner.page.keyboard.type("old ");
    await waitScript(owner.page, "the owner's edits", (t) => t.includes("Then Liu Bei swears an old oath with"));
    for (const p of [owner.page, reviewer.page]) {
      await waitThreads(p, "the range following the edits", (t) =>
        t.some((x) => x.anchor === "script" && x.label === "“swears an old oath”"));
    }

    // ---- the server refuses the reviewer's raw writes to either document ----
    const deniedProject = await rawWrite(reviewer.page, id, personal);
    assert.match(deniedProject ?? "", /permission denied/);
    const deniedReview = await rawWrite(reviewer.page, `${id}.review`, personal);
    assert.match(deniedReview ?? "", /permission denied/);

    assert.deepEqual(owner.errors, [], "console errors in the owner's page");
    assert.deepEqual(reviewer.errors, [], "console errors in the reviewer's page");

    // ---- a reply written offline waits on the device, then is posted once ----
    await reviewer.context.setOffline(true);
    await reviewer.page.fill(".review-panel .thread[data-anchor=script] .composer.reply textarea", "Written on the train");
    await reviewer.page.click(".review-panel .thread[data-anchor=script] .composer.reply .send");
    await reviewer.page.waitForSelector(".review-panel .comment.pending", { timeout: 20_000 });
    const kept = await reviewer.page.evaluate((id) => localStorage.getItem(`shotweave.pending.${id}`), id);
    assert.match(kept, /Written on the train/);
    await reviewer.context.setOffline(false);
    for (const p of [owner.page, reviewer.page]) {
      await waitThreads(p, "the offline reply posted", (t) =>
        t.some((x) => x.anchor === "script" && x.comments.includes("Written on the train")));
    }
    await reviewer.page.waitForSelector(".review-panel .comment.pending", { state: "detached", timeout: 20_000 });
    const script = (await threads(owner.page)).find((x) => x.anchor === "script");
    assert.equal(script.comments.filter((c) => c === "Written on the train").length, 1, "posted once");
    // Nothing of the refused raw writes reached anyone.
    assert.ok(!(await owner.page.textContent(".script-text")).includes("HACK"));

    // ---- the shot is deleted: its thread is kept, orphaned, with the words it was about ----
    await tab(owner.page, "board");
    await owner.page.click(`[data-shot-id="${shot.id}"]`);
    await owner.page.keyboard.press("Delete");
    await waitCards(owner.page, "the shot deleted", (c) => c.length === 0);
    await owner.page.click(".review-filters [data-filter=orphaned]");
    const orphans = await waitThreads(owner.page, "the orphaned shot thread", (t) =>
      t.length === 1 && t[0].anchor === "shot");
    assert.equal(orphans[0].label, "Shot “Three brothers kneel under the blossoms”");
    assert.equal(await owner.page.textContent(".thread.orphaned .orphaned-mark"), "orphaned");

    // Esc closes the panel.
    await owner.page.click(".review-head h2");
    await owner.page.keyboard.press("Escape");
    await owner.page.waitForSelector("[data-testid=review-panel]", { state: "detached", timeout: 20_000 });

    // The review speaks Chinese too.
    await owner.page.click(".lang");
    await until(owner.page, "the review toggle in Chinese", () =>
      document.querySelector(".review-toggle")?.textContent.startsWith("评审"));

    // ---- the owner revokes the link; the reviewer's open page says so ----
    await owner.page.click(".share-button");
    const row = ".share-menu .link-row[data-link-role=commenter]:not(.revoked)";
    await owner.page.waitForSelector(row, { timeout: 20_000 });
    assert.equal(await owner.page.locator(row).count(), 1);
    assert.equal(await owner.page.textContent(`${row} td:nth-child(3)`), "", "a shared link names no one");
    await owner.page.click(`${row} .revoke`);
    await owner.page.waitForSelector(".share-menu .link-row[data-link-role=commenter].revoked", { timeout: 20_000 });
    await reviewer.page.waitForSelector("[data-testid=revoked]", { timeout: 20_000 });
    assert.equal(
      await reviewer.page.textContent("[data-testid=revoked] strong"),
      "This link was revoked by the project's owner");
    // Nothing offers to write any more.
    await until(reviewer.page, "the review read-only after the revocation", () =>
      document.querySelectorAll(".review-panel .composer, .review-panel .resolve, .review-panel .edit-comment").length === 0);
    await reviewer.page.screenshot({ path: artifactPath("review-revoked-1280x720.png") });
    // And the server refuses the personal token too.
    const status = await reviewer.page.evaluate(async ([id, token]) =>
      (await fetch(`/api/projects/${id}/me`, { headers: { Authorization: `Bearer ${token}` } })).status, [id, personal]);
    assert.equal(status, 401);
  } finally {
    await owner.context.close();
    await reviewer.context.close();
  }
});
