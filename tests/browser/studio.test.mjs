// The browser studio end to end: real headless Chromium (Debian's), the real sync-server binary,
// two or three people in separate browser contexts. Run by `cargo xtask test`; screenshots go to
// tests/browser/artifacts/ (gitignored).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { startServer, launchBrowser, person, artifactPath } from "./harness.mjs";
import {
  until, createProject, shareLink, openLink, waitConn, tab, scriptText, waitScript, caretToEnd,
  cards, waitCards, png,
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

/** Fails with the collected console errors of everyone in the test. */
function assertNoConsoleErrors(...people) {
  for (const p of people) {
    assert.deepEqual(p.errors, [], `console errors in ${p.name}'s page`);
  }
}

async function assertFits(page, who) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${who}: the page is ${overflow}px wider than the window`);
}

test("two people co-edit the script and the storyboard and see each other", async () => {
  const alice = await person(browser, "Alice", "#e6194b");
  // Bob works on a large screen with the interface in Chinese.
  const bob = await person(browser, "Bob", "#4363d8", { width: 1920, height: 1080 });
  await bob.context.addInitScript(() => localStorage.setItem("shotweave.lang", "zh"));
  try {
    await createProject(alice.page, server.url, "Three Kingdoms 三国演义");
    const link = await shareLink(alice.page, "editor");
    await openLink(bob.page, link);
    await waitConn(alice.page, "online");
    await waitConn(bob.page, "online");
    assert.equal(await bob.page.textContent("[data-tab=board]"), "分镜");
    assert.equal(await bob.page.textContent(".project-title"), "Three Kingdoms 三国演义");

    // ---- script ----
    await tab(alice.page, "script");
    await tab(bob.page, "script");
    await caretToEnd(alice.page);
    await alice.page.keyboard.type("第一回 宴桃园豪杰三结义\nINT. PEACH GARDEN - DAY");
    await waitScript(bob.page, "Alice's lines at Bob", (t) => t.includes("INT. PEACH GARDEN - DAY"));
    await caretToEnd(bob.page);
    await bob.page.keyboard.type("\n刘备 (Liu Bei) enters.");
    const expected = "第一回 宴桃园豪杰三结义\nINT. PEACH GARDEN - DAY\n刘备 (Liu Bei) enters.";
    await waitScript(alice.page, "Bob's line at Alice", (t) => t.endsWith("enters."));
    assert.equal(await scriptText(alice.page), expected);
    assert.equal(await scriptText(bob.page), expected);

    // Alice types in the middle of the line Bob's caret is in; Bob's caret stays put.
    await alice.page.locator(".script-text .ln").nth(2).click();
    await alice.page.keyboard.press("Home");
    await alice.page.keyboard.type(">> ");
    await waitScript(bob.page, "Alice's prefix at Bob", (t) => t.includes(">> 刘备"));
    await bob.page.keyboard.type(" Bows.");
    await waitScript(alice.page, "Bob's typing after the concurrent edit",
      (t) => t.endsWith(">> 刘备 (Liu Bei) enters. Bows."));

    // Presence: each sees the other's named cursor and where they are.
    await alice.page.waitForSelector(".script-overlay .peer-caret .peer-label:text('Bob')", { timeout: 20_000 });
    await bob.page.waitForSelector(".script-overlay .peer-caret .peer-label:text('Alice')", { timeout: 20_000 });
    await until(alice.page, "Bob shown in the script", () =>
      document.querySelector(".peer[data-peer=Bob] .peer-place")?.textContent === "Script");
    await alice.page.screenshot({ path: artifactPath("script-1280x720.png") });
    await bob.page.screenshot({ path: artifactPath("script-zh-1920x1080.png") });

    // ---- storyboard ----
    await tab(alice.page, "board");
    await tab(bob.page, "board");
    await alice.page.click(".add-scene");
    await alice.page.waitForSelector(".scene .add-shot");
    const title = alice.page.locator(".scene-title").first();
    await title.fill("桃园 Peach garden");
    await title.press("Enter");
    await title.blur();
    for (let i = 1; i <= 3; i++) {
      await alice.page.click(".scene .add-shot");
      await waitCards(alice.page, `${i} cards at Alice`, new Function("c", `return c.length === ${i}`));
    }
    await waitCards(bob.page, "3 cards at Bob", (c) => c.length === 3);
    await until(bob.page, "the scene title at Bob", () =>
      document.querySelector(".scene-title").value === "桃园 Peach garden");

    // Bob describes and times the first shot; Alice sees it, and the total running time.
    const first = (await cards(bob.page))[0].id;
    await bob.page.click(`[data-shot-id="${first}"]`);
    await bob.page.fill("#shot-description", "Wide: three brothers swear an oath 结义");
    await bob.page.press("#shot-description", "Tab");
    await bob.page.fill("#shot-duration", "4.5");
    await bob.page.press("#shot-duration", "Tab");
    await waitCards(alice.page, "Bob's description at Alice", (c) => c[0].text.includes("结义"));
    await until(alice.page, "the total running time", () =>
      document.querySelector("[data-testid=total-time]").textContent === "0:10.5");

    // Alice sees which shot Bob is looking at, on the card and in the status bar.
    await alice.page.waitForSelector(`[data-shot-id="${first}"] .peer-dot[title=Bob]`, { timeout: 20_000 });
    await until(alice.page, "Bob on shot #1 in the status bar", () =>
      document.querySelector(".peer[data-peer=Bob] .peer-place")?.textContent === "Shot #1");

    // Reorder by drag: Alice drags the third shot onto the first.
    const [a, b, c] = (await cards(alice.page)).map((x) => x.id);
    await alice.page.dragAndDrop(`[data-shot-id="${c}"]`, `[data-shot-id="${a}"]`);
    const dragged = new Function("c", `return c.map(x => x.id).join() === ${JSON.stringify([c, a, b].join())}`);
    await waitCards(alice.page, "the dragged order at Alice", dragged);
    await waitCards(bob.page, "the dragged order at Bob", dragged);

    // Reorder by keyboard: Bob moves the (now) first shot one place later.
    await bob.page.focus(`[data-shot-id="${c}"]`);
    await bob.page.keyboard.press("Alt+ArrowRight");
    const nudged = new Function("c", `return c.map(x => x.id).join() === ${JSON.stringify([a, c, b].join())}`);
    await waitCards(bob.page, "the nudged order at Bob", nudged);
    await waitCards(alice.page, "the nudged order at Alice", nudged);
    // Focus follows the moved card, so the keyboard user can keep going.
    await until(bob.page, "focus on the moved card", (id) =>
      document.activeElement?.dataset?.shotId === id, c);

    // Keyboard navigation and deletion: Bob steps to the last shot and deletes it.
    await bob.page.keyboard.press("ArrowRight");
    await until(bob.page, "focus on the last card", (id) =>
      document.activeElement?.dataset?.shotId === id, b);
    await bob.page.keyboard.press("Delete");
    const deleted = new Function("c", `return c.map(x => x.id).join() === ${JSON.stringify([a, c].join())}`);
    await waitCards(alice.page, "the deletion at Alice", deleted);
    await waitCards(bob.page, "the deletion at Bob", deleted);

    // Takes: Alice uploads two takes for the first shot and picks the first one.
    await alice.page.click(`[data-shot-id="${a}"]`);
    const upload = alice.page.locator(".takes input[type=file]");
    await upload.setInputFiles({ name: "take-1.png", mimeType: "image/png", buffer: png(64, 36, [200, 60, 40]) });
    await until(alice.page, "the first take", () => document.querySelectorAll(".take").length === 1);
    await upload.setInputFiles({ name: "take-2.png", mimeType: "image/png", buffer: png(64, 36, [40, 90, 200]) });
    await until(alice.page, "the second take", () => document.querySelectorAll(".take").length === 2);
    const firstTake = await alice.page.evaluate(() =>
      Array.from(document.querySelectorAll(".take")).at(-1).dataset.assetId);
    await alice.page.click(`.take[data-asset-id="${firstTake}"] .pick-take`);
    for (const p of [alice.page, bob.page]) {
      await until(p, "the picked take as the card's thumbnail", ([shot, asset]) => {
        const img = document.querySelector(`[data-shot-id="${shot}"] .thumb img`);
        return img && img.src.includes(asset) && img.complete && img.naturalWidth === 64;
      }, [a, firstTake]);
    }

    // Characters: a sheet with a reference image, seen by Bob.
    await tab(alice.page, "characters");
    await alice.page.click(".add-character");
    const name = alice.page.locator(".character-name").first();
    await name.fill("刘备");
    await name.press("Tab");
    await alice.page.locator(".sheet input[type=file]").first()
      .setInputFiles({ name: "liubei.png", mimeType: "image/png", buffer: png(40, 60, [30, 140, 60]) });
    await tab(bob.page, "characters");
    await until(bob.page, "Liu Bei's sheet with its reference image", () => {
      const sheet = document.querySelector(".sheet");
      const img = sheet?.querySelector("img.ref");
      return sheet?.querySelector(".character-name").value === "刘备" && img?.complete && img.naturalWidth === 40;
    });
    await tab(bob.page, "assets");
    await until(bob.page, "three assets", () => document.querySelectorAll(".asset").length === 3);

    await tab(alice.page, "board");
    await tab(bob.page, "board");
    await alice.page.click(`[data-shot-id="${a}"]`);
    await bob.page.waitForSelector(`[data-shot-id="${a}"] .peer-dot[title=Alice]`, { timeout: 20_000 });
    await alice.page.screenshot({ path: artifactPath("board-1280x720.png") });
    await bob.page.screenshot({ path: artifactPath("board-zh-1920x1080.png") });
    await assertFits(alice.page, "Alice (1280x720)");
    await assertFits(bob.page, "Bob (1920x1080)");
    assertNoConsoleErrors(alice, bob);
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

test("Chinese typed through an input method lands once, between concurrent edits", async () => {
  const alice = await person(browser, "Alice", "#e6194b");
  const bob = await person(browser, "Bob", "#4363d8");
  try {
    await createProject(alice.page, server.url, "输入法");
    await openLink(bob.page, await shareLink(alice.page, "editor"));
    await tab(alice.page, "script");
    await tab(bob.page, "script");
    await caretToEnd(alice.page);
    await alice.page.keyboard.type("桃园：");
    await waitScript(bob.page, "the first line at Bob", (t) => t === "桃园：");
    // An IME composition the way Chromium delivers one (pinyin shown while composing, the
    // characters committed at the end), with Bob editing the same line meanwhile.
    const cdp = await alice.context.newCDPSession(alice.page);
    await cdp.send("Input.imeSetComposition", { text: "liu", selectionStart: 3, selectionEnd: 3 });
    await cdp.send("Input.imeSetComposition", { text: "liubei", selectionStart: 6, selectionEnd: 6 });
    await caretToEnd(bob.page);
    await bob.page.keyboard.press("Home");
    await bob.page.keyboard.type(">");
    // Frames arrive in order: once Alice sees Bob's later presence (he moves to the board),
    // his edit is in her document, still waiting behind her composition.
    await tab(bob.page, "board");
    await until(alice.page, "Bob on the board", () =>
      document.querySelector(".peer[data-peer=Bob] .peer-place")?.textContent === "Storyboard");
    await cdp.send("Input.insertText", { text: "刘备" });
    const expected = ">桃园：刘备";
    await waitScript(alice.page, "the committed characters at Alice", (t) => t === ">桃园：刘备");
    await tab(bob.page, "script");
    await waitScript(bob.page, "the committed characters at Bob", (t) => t === ">桃园：刘备");
    assert.equal(await scriptText(alice.page), expected);
    assertNoConsoleErrors(alice, bob);
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

test("edits made offline survive a reload and merge when the connection returns", async () => {
  const alice = await person(browser, "Alice", "#e6194b");
  const bob = await person(browser, "Bob", "#4363d8");
  try {
    await createProject(alice.page, server.url, "Offline test");
    await tab(alice.page, "script");
    await caretToEnd(alice.page);
    await alice.page.keyboard.type("Act one.");
    await tab(alice.page, "board");
    await alice.page.click(".add-scene");
    await alice.page.click(".scene .add-shot");
    await waitCards(alice.page, "Alice's shot", (c) => c.length === 1);

    await openLink(bob.page, await shareLink(alice.page, "editor"));
    await waitConn(bob.page, "online");
    await waitCards(bob.page, "the shot at Bob", (c) => c.length === 1);
    // The service worker must hold the app before the network goes away.
    await until(bob.page, "the service worker", () => navigator.serviceWorker.controller !== null);

    await bob.context.setOffline(true);
    await waitConn(bob.page, "offline");
    await tab(bob.page, "script");
    await waitScript(bob.page, "the synced script at Bob", (t) => t === "Act one.");
    await caretToEnd(bob.page);
    await bob.page.keyboard.type("\nBob wrote this on a train.");
    await tab(bob.page, "board");
    await bob.page.click(".scene .add-shot");
    await waitCards(bob.page, "Bob's offline shot", (c) => c.length === 2);
    await bob.page.waitForSelector(".saved[data-saved=true]", { timeout: 20_000 });

    // Meanwhile Alice keeps working online.
    await tab(alice.page, "script");
    await caretToEnd(alice.page);
    await alice.page.keyboard.type("\nAlice stayed online.");
    await tab(alice.page, "board");
    // The board renders after the tab switch: wait for it rather than read it at once.
    const only = (await waitCards(alice.page, "Alice's board again", (c) => c.length === 1))[0].id;
    await alice.page.click(`[data-shot-id="${only}"]`);
    await alice.page.fill("#shot-description", "Establishing shot, 桃园");
    await alice.page.press("#shot-description", "Tab");

    // Bob reloads without a network: the last state is there and still editable.
    await bob.page.reload();
    await bob.page.waitForSelector("[data-ready=true]", { timeout: 20_000 });
    await waitConn(bob.page, "offline");
    await waitCards(bob.page, "Bob's shots after the reload", (c) => c.length === 2);
    await tab(bob.page, "script");
    await waitScript(bob.page, "Bob's offline line after the reload",
      (t) => t === "Act one.\nBob wrote this on a train.");
    await caretToEnd(bob.page);
    await bob.page.keyboard.type(" (after reload)");
    await bob.page.waitForSelector(".saved[data-saved=true]", { timeout: 20_000 });

    // Back online: both converge on everything.
    await bob.context.setOffline(false);
    await waitConn(bob.page, "online");
    const all = (t) => t.includes("Bob wrote this on a train. (after reload)") && t.includes("Alice stayed online.");
    const bobText = await waitScript(bob.page, "everything at Bob", all);
    await tab(alice.page, "script");
    const aliceText = await waitScript(alice.page, "everything at Alice", all);
    assert.equal(aliceText, bobText);
    await tab(alice.page, "board");
    await tab(bob.page, "board");
    const both = (c) => c.length === 2 && c.some((x) => x.text === "Establishing shot, 桃园");
    const aliceCards = await waitCards(alice.page, "both shots at Alice", both);
    const bobCards = await waitCards(bob.page, "both shots at Bob", both);
    assert.deepEqual(aliceCards, bobCards);
    assertNoConsoleErrors(alice, bob);
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

test("a viewer link shows the project read-only, and a bad link shows an error", async () => {
  const alice = await person(browser, "Alice", "#e6194b");
  const viewer = await person(browser, "Vera", "#911eb4");
  const stranger = await person(browser, "Mallory", "#9a6324");
  try {
    const id = await createProject(alice.page, server.url, "Read-only test");
    await tab(alice.page, "script");
    await caretToEnd(alice.page);
    await alice.page.keyboard.type("Only the owner writes here.");
    await tab(alice.page, "board");
    await alice.page.click(".add-scene");
    await alice.page.click(".scene .add-shot");
    const [shot] = (await waitCards(alice.page, "Alice's shot", (c) => c.length === 1));
    await alice.page.click(`[data-shot-id="${shot.id}"]`);
    await alice.page.fill("#shot-description", "The owner's shot");
    await alice.page.press("#shot-description", "Tab");
    await alice.page.click(".close-panel");

    await openLink(viewer.page, await shareLink(alice.page, "viewer"));
    await waitConn(viewer.page, "online");
    await waitCards(viewer.page, "the owner's shot at the viewer", (c) => c[0]?.text === "The owner's shot");
    await viewer.page.waitForSelector(".role-badge.readonly", { timeout: 20_000 });
    assert.equal(await viewer.page.locator(".add-scene, .add-shot, .delete-scene, .share-button").count(), 0);

    // The board: no dragging, a disabled panel, keys that edit do nothing.
    const card = `[data-shot-id="${shot.id}"]`;
    assert.equal(await viewer.page.getAttribute(card, "draggable"), "false");
    await viewer.page.focus(card);
    await viewer.page.keyboard.press("Enter");
    await viewer.page.waitForSelector("#shot-description:disabled", { timeout: 20_000 });
    await viewer.page.focus(card);
    for (const key of ["Delete", "Alt+ArrowRight", "n"]) await viewer.page.keyboard.press(key);

    // The script: not editable; typing changes nothing.
    await tab(viewer.page, "script");
    await waitScript(viewer.page, "the script at the viewer", (t) => t === "Only the owner writes here.");
    assert.equal(await viewer.page.getAttribute(".script-text", "contenteditable"), "false");
    await viewer.page.click(".script-text");
    await viewer.page.keyboard.type("vandalism");
    await viewer.page.keyboard.press("Enter");

    // Once the owner sees the viewer's presence from after those keys, every key has been
    // handled; nothing changed anywhere.
    await tab(viewer.page, "board");
    await viewer.page.click(card);
    await until(alice.page, "the viewer on shot #1", () =>
      document.querySelector(".peer[data-peer=Vera] .peer-place")?.textContent === "Shot #1");
    assert.deepEqual(await cards(alice.page), [{ id: shot.id, text: "The owner's shot" }]);
    assert.deepEqual(await cards(viewer.page), [{ id: shot.id, text: "The owner's shot" }]);
    await tab(alice.page, "script");
    assert.equal(await scriptText(alice.page), "Only the owner writes here.");
    await tab(viewer.page, "script");
    assert.equal(await scriptText(viewer.page), "Only the owner writes here.");
    assertNoConsoleErrors(alice, viewer);

    // A forged link: the error banner says so.
    await stranger.page.goto(`${server.url}/#/p/${id}/board?token=not-a-real-token`);
    await stranger.page.waitForSelector(".banner", { timeout: 20_000 });
    assert.match(await stranger.page.textContent(".banner-text"), /invalid or has expired/);
  } finally {
    await alice.context.close();
    await viewer.context.close();
    await stranger.context.close();
  }
});

test("undo and redo take back only the local user's own edits, for everyone", async () => {
  const alice = await person(browser, "Alice", "#e6194b");
  const bob = await person(browser, "Bob", "#4363d8");
  try {
    await createProject(alice.page, server.url, "Undo");
    await openLink(bob.page, await shareLink(alice.page, "editor"));
    await tab(alice.page, "script");
    await tab(bob.page, "script");
    await caretToEnd(alice.page);
    await alice.page.keyboard.type("Alice wrote this.");
    await waitScript(bob.page, "Alice's line at Bob", (t) => t === "Alice wrote this.");
    await caretToEnd(bob.page);
    await bob.page.keyboard.type("\nBob wrote this.");
    await waitScript(alice.page, "Bob's line at Alice", (t) => t === "Alice wrote this.\nBob wrote this.");

    // Alice's typing was one burst: one undo takes it all back, and none of Bob's text.
    await alice.page.keyboard.press("Control+z");
    for (const p of [alice.page, bob.page]) {
      await waitScript(p, "Alice's typing undone", (t) => t === "\nBob wrote this.");
    }
    await alice.page.keyboard.press("Control+Shift+z");
    for (const p of [alice.page, bob.page]) {
      await waitScript(p, "Alice's typing redone", (t) => t === "Alice wrote this.\nBob wrote this.");
    }
    await alice.page.keyboard.press("Control+z");
    await waitScript(alice.page, "undone again", (t) => t === "\nBob wrote this.");
    await alice.page.keyboard.press("Control+y");
    await waitScript(alice.page, "redone with Ctrl+Y", (t) => t === "Alice wrote this.\nBob wrote this.");
    // The caret is back after the redone text.
    await alice.page.keyboard.type("!");
    for (const p of [alice.page, bob.page]) {
      await waitScript(p, "typing after the redo", (t) => t === "Alice wrote this.!\nBob wrote this.");
    }

    // Bob's undo takes back his line only.
    await bob.page.keyboard.press("Control+z");
    for (const p of [alice.page, bob.page]) {
      await waitScript(p, "Bob's line undone", (t) => t === "Alice wrote this.!");
    }
    assert.equal(await scriptText(alice.page), "Alice wrote this.!");
    assertNoConsoleErrors(alice, bob);
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

test("a long script is windowed: few lines in the page, editing anywhere still works", async () => {
  const alice = await person(browser, "Alice", "#e6194b");
  const bob = await person(browser, "Bob", "#4363d8");
  try {
    await createProject(alice.page, server.url, "Long script");
    await openLink(bob.page, await shareLink(alice.page, "editor"));
    await tab(alice.page, "script");
    await tab(bob.page, "script");
    await caretToEnd(alice.page);
    const lines = Array.from({ length: 3000 }, (_, i) => `line ${i} ${"桃园".repeat(i % 7)}`);
    await alice.page.keyboard.insertText(lines.join("\n"));
    for (const p of [alice.page, bob.page]) {
      await until(p, "3,000 lines in the model", () =>
        document.querySelector(".script-text").dataset.lines === "3000");
      await until(p, "only lines near the viewport in the page", () =>
        document.querySelectorAll(".script-text .ln").length < 300);
    }
    // The page is as tall as the whole script would be.
    const tall = await bob.page.evaluate(() => document.querySelector(".script-scroll").scrollHeight);
    assert.ok(tall > 3000 * 20, `the script scrolls over ${tall}px`);

    // Bob goes to the end (not in his page yet) and types there.
    await bob.page.click(".script-text .ln >> nth=0");
    await bob.page.keyboard.press("Control+End");
    await bob.page.keyboard.type(" THE END");
    // Alice scrolls to the end (polling scrolls again as the window and its heights settle).
    await until(alice.page, "Bob's words at the end, at Alice", (last) => {
      const scroller = document.querySelector(".script-scroll");
      scroller.scrollTop = scroller.scrollHeight;
      const shown = Array.from(document.querySelectorAll(".script-text .ln"));
      return shown.at(-1)?.textContent === last;
    }, `${lines.at(-1)} THE END`);

    // Alice's caret stayed at the end, after Bob's words; she types Chinese through an IME there.
    await alice.page.click(".script-text .ln >> nth=-1");
    await alice.page.keyboard.press("End");
    const cdp = await alice.context.newCDPSession(alice.page);
    await cdp.send("Input.imeSetComposition", { text: "tao", selectionStart: 3, selectionEnd: 3 });
    await cdp.send("Input.insertText", { text: "桃" });
    await until(bob.page, "Alice's composed character at Bob", (last) =>
      Array.from(document.querySelectorAll(".script-text .ln")).at(-1)?.textContent === last,
    `${lines.at(-1)} THE END桃`);

    // Scrolling to the middle shows the middle.
    await bob.page.evaluate(() => {
      const scroller = document.querySelector(".script-scroll");
      scroller.scrollTop = scroller.scrollHeight / 2;
    });
    await until(bob.page, "lines from the middle", () =>
      Array.from(document.querySelectorAll(".script-text .ln"))
        .some((l) => /^line 1[45]\d\d /.test(l.textContent)));

    // Select all and type: the whole script is replaced, lines not in the page included.
    await bob.page.click(".script-text .ln >> nth=3");
    await bob.page.keyboard.press("Control+a");
    await bob.page.keyboard.type("短");
    for (const p of [alice.page, bob.page]) {
      await waitScript(p, "the script replaced", (t) => t === "短");
    }
    // And undo brings all of it back.
    await bob.page.keyboard.press("Control+z");
    await until(alice.page, "the long script back at Alice", () =>
      document.querySelector(".script-text").dataset.lines === "3000");
    assertNoConsoleErrors(alice, bob);
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

test("the owner's Share menu stays open when the token check answers late", async () => {
  const alice = await person(browser, "Alice", "#e6194b");
  try {
    // The studio asks the API what its token grants when a project opens; hold that answer
    // until the menu is open, as a slow network would.
    let release;
    const released = new Promise((r) => { release = r; });
    await alice.page.route("**/api/projects", async (route) => {
      if (route.request().method() !== "GET") return route.continue();
      await released;
      return route.continue();
    });
    await createProject(alice.page, server.url, "Late check");
    await alice.page.click(".share-button");
    await alice.page.waitForSelector(".share-menu [data-role=editor]");
    const answered = alice.page.waitForResponse((r) =>
      r.url().endsWith("/api/projects") && r.request().method() === "GET");
    release();
    await answered;
    // Let the page apply the answer (the same role) and render: two frames after a macrotask.
    await alice.page.evaluate(() => new Promise((r) =>
      setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(r)), 50)));
    assert.ok(await alice.page.isVisible(".share-menu [data-role=editor]"),
      "the menu the owner opened is still open");
    // And it works.
    await alice.page.click(".share-menu [data-role=editor]");
    await until(alice.page, "an editor link", () =>
      document.querySelector(".share-link input")?.value.includes("token="));
    assertNoConsoleErrors(alice);
  } finally {
    await alice.context.close();
  }
});
