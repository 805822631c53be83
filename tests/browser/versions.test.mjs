// Named versions in the browser studio: name a version, change the board, compare, view a
// version read-only, restore it while another person is connected, and undo the restore by
// restoring the automatic version taken before it. Real headless Chromium, the real
// sync-server binary.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { startServer, launchBrowser, person, artifactPath } from "./harness.mjs";
import { until, createProject, shareLink, openLink, waitConn, tab, cards, waitCards, TIMEOUT } from "./helpers.mjs";

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

function assertNoConsoleErrors(...people) {
  for (const p of people) {
    assert.deepEqual(p.errors, [], `console errors in ${p.name}'s page`);
  }
}

/** A predicate over `cards(page)`: exactly these descriptions, in this order. */
function exactly(texts) {
  return new Function("c", `return JSON.stringify(c.map(x => x.text)) === ${JSON.stringify(JSON.stringify(texts))}`);
}

/** Types a description into a card's own field. */
async function describe(page, id, text) {
  const field = page.locator(`.shot-card[data-shot-id="${id}"] .shot-description`);
  await field.fill(text);
  await field.blur();
}

/** The versions list as shown: name, kind, shots count text. */
function versionRows(page) {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll(".version-list .version")).map((v) => ({
      id: v.dataset.versionId,
      kind: v.dataset.kind,
      name: v.querySelector(".version-name").textContent,
      shots: v.querySelector(".version-shots").textContent,
    })));
}

/** Like `shareLink`, for a page whose Share menu still shows the `previous` link it made. */
async function anotherShareLink(page, role, previous) {
  await page.click(".share-button");
  await page.click(`.share-menu [data-role=${role}]`);
  const link = await until(page, `a ${role} link`, (old) => {
    const value = document.querySelector(".share-link input")?.value;
    return value && value !== old ? value : null;
  }, previous);
  await page.click(".share-button");
  return link;
}

async function restore(page, versionId) {
  await page.click(`.version[data-version-id="${versionId}"] .restore-version`);
  await page.waitForSelector(".confirm.confirm-restore", { timeout: TIMEOUT });
  const text = await page.textContent(".confirm.confirm-restore");
  assert.match(text, /automatic version of the current state is taken first/);
  // The confirming button has the focus: Enter confirms, as a keyboard user would.
  await until(page, "focus on the confirm button", () => document.activeElement?.classList.contains("confirm-yes"));
  await page.keyboard.press("Enter");
  await until(page, "the restore's notice", () => /^Restored /.test(document.querySelector(".notice")?.textContent ?? ""));
}

test("name a version, compare it with now, view it, restore it live and undo the restore", async () => {
  const lin = await person(browser, "Lin", "#e6194b");
  const bob = await person(browser, "Bob", "#4363d8");
  const vera = await person(browser, "Vera", "#911eb4");
  try {
    // ---- a board of four shots, seen by an editor in a second browser ----
    const project = await createProject(lin.page, server.url, "Versions 版本");
    await lin.page.click(".add-scene");
    await lin.page.waitForSelector(".scene .add-shot");
    for (let i = 1; i <= 4; i++) {
      await lin.page.click(".scene .add-shot");
      await waitCards(lin.page, `${i} cards`, new Function("c", `return c.length === ${i}`));
    }
    const [s1, s2, s3, s4] = (await cards(lin.page)).map((c) => c.id);
    const v1Texts = ["Shot one: the gate", "Shot two: the road", "Shot three: the bridge", "Shot four: the river"];
    for (const [id, text] of [[s1, v1Texts[0]], [s2, v1Texts[1]], [s3, v1Texts[2]], [s4, v1Texts[3]]]) {
      await describe(lin.page, id, text);
    }
    const editorLink = await shareLink(lin.page, "editor");
    await openLink(bob.page, editorLink);
    await waitConn(bob.page, "online");
    // Bob seeing them means the server has them, so the version named next holds them.
    await waitCards(bob.page, "the four shots at Bob", exactly(v1Texts));
    await until(bob.page, "v1's running time at Bob", () =>
      document.querySelector("[data-testid=total-time]")?.textContent === "0:12.0");

    // ---- name v1 ----
    await tab(lin.page, "versions");
    await lin.page.waitForSelector(".no-versions", { timeout: TIMEOUT });
    await lin.page.fill("#version-name", "v1");
    await lin.page.fill("#version-note", "first cut for the director");
    await lin.page.press("#version-name", "Enter");
    await until(lin.page, "v1 in the list", () =>
      document.querySelector(".version-list .version .version-name")?.textContent === "v1");
    let rows = await versionRows(lin.page);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].kind, "named");
    assert.match(rows[0].shots, /^4 /);
    const v1 = rows[0].id;
    assert.match(await lin.page.textContent(".version .version-note"), /first cut for the director/);

    // ---- change three shots: a description on the card, a duration, a deletion; add one ----
    await tab(lin.page, "board");
    await waitCards(lin.page, "the board again", exactly(v1Texts));
    await describe(lin.page, s1, "Shot one: the gate at night");
    await lin.page.click(`.shot-card[data-shot-id="${s2}"]`);
    await lin.page.fill("#shot-duration", "5");
    await lin.page.press("#shot-duration", "Tab");
    await lin.page.click(".close-panel");
    await lin.page.focus(`.shot-card[data-shot-id="${s4}"]`);
    await lin.page.keyboard.press("Delete");
    await waitCards(lin.page, "three shots after the delete", (c) => c.length === 3);
    await lin.page.click(".scene .add-shot");
    await waitCards(lin.page, "the added shot", (c) => c.length === 4);
    const s5 = (await cards(lin.page)).map((c) => c.id).find((id) => ![s1, s2, s3, s4].includes(id));
    await describe(lin.page, s5, "Shot five: the boat");
    const nowTexts = ["Shot one: the gate at night", v1Texts[1], v1Texts[2], "Shot five: the boat"];
    await waitCards(bob.page, "the changes at Bob", exactly(nowTexts));
    await until(bob.page, "the new duration at Bob", () =>
      document.querySelector("[data-testid=total-time]")?.textContent === "0:14.0");

    // ---- compare v1 with now: exactly those changes, field by field ----
    await tab(lin.page, "versions");
    await lin.page.click(`.version[data-version-id="${v1}"] .compare-now`);
    await lin.page.waitForSelector(".diff-view .diff-shots .change", { timeout: TIMEOUT });
    const diff = await lin.page.evaluate(() => ({
      shots: Array.from(document.querySelectorAll(".diff-shots .shot-change")).map((c) => ({
        id: c.dataset.shotId,
        kind: c.dataset.kind,
        fields: Array.from(c.querySelectorAll("tr.field")).map((r) => ({
          field: r.dataset.field,
          old: r.querySelector("td.old").textContent,
          new: r.querySelector("td.new").textContent,
        })),
      })),
      scenes: Array.from(document.querySelectorAll(".diff-scenes .change")).map((c) => c.textContent),
      characters: Array.from(document.querySelectorAll(".diff-characters .change")).map((c) => c.textContent),
      summary: document.querySelector(".diff-summary").textContent,
    }));
    const byId = Object.fromEntries(diff.shots.map((s) => [s.id, s]));
    assert.deepEqual(diff.shots.map((s) => s.id).sort(), [s1, s2, s4, s5].sort(), JSON.stringify(diff.shots));
    assert.equal(byId[s1].kind, "changed");
    assert.deepEqual(byId[s1].fields, [
      { field: "description", old: "Shot one: the gate", new: "Shot one: the gate at night" },
    ]);
    assert.equal(byId[s2].kind, "changed");
    assert.deepEqual(byId[s2].fields.map((f) => f.field), ["duration_ms"]);
    assert.match(byId[s2].fields[0].old, /\b3(\.0+)?\s*s/);
    assert.match(byId[s2].fields[0].new, /\b5(\.0+)?\s*s/);
    assert.equal(byId[s4].kind, "removed");
    assert.equal(byId[s5].kind, "added");
    assert.deepEqual(diff.scenes, []);
    assert.deepEqual(diff.characters, []);
    assert.equal(diff.summary, "Shots: 1 added · 1 removed · 2 changed");
    await lin.page.screenshot({ path: artifactPath("versions-diff-1280x720.png") });

    // The removed shot opens in v1's read-only view, pointed at; the URL says where.
    await lin.page.click(`.shot-change[data-shot-id="${s4}"] .open-shot`);
    await lin.page.waitForSelector(`.version-view .shot-card.highlight[data-shot-id="${s4}"]`, { timeout: TIMEOUT });
    assert.match(await lin.page.textContent(".version-banner-text"), /^Viewing “v1” — .* by /);
    assert.equal(await lin.page.evaluate(() => location.hash), `#/p/${project}/versions/${v1}?shot=${s4}`);
    const viewed = await lin.page.evaluate(() =>
      Array.from(document.querySelectorAll(".version-board .shot-card .shot-description")).map((d) => d.textContent));
    assert.deepEqual(viewed, v1Texts);
    assert.equal(await lin.page.locator(".version-view textarea, .version-view input").count(), 0);
    assert.equal(await lin.page.textContent("[data-testid=version-total-time]"), "0:12.0");
    await lin.page.screenshot({ path: artifactPath("versions-view-1280x720.png") });
    // Back to the diff, and from a changed shot to the live board with that shot selected.
    await lin.page.goBack();
    await lin.page.waitForSelector(`.shot-change[data-shot-id="${s1}"] .open-shot`, { timeout: TIMEOUT });
    await lin.page.click(`.shot-change[data-shot-id="${s1}"] .open-shot`);
    await lin.page.waitForSelector(`.board .shot-card.selected[data-shot-id="${s1}"]`, { timeout: TIMEOUT });
    await until(lin.page, "the shot's card focused", (id) => document.activeElement?.dataset?.shotId === id, s1);

    // ---- roles: a viewer sees the list and can compare, but has no mutating button ----
    await openLink(vera.page, await anotherShareLink(lin.page, "viewer", editorLink));
    await tab(vera.page, "versions");
    await vera.page.waitForSelector(`.version[data-version-id="${v1}"]`, { timeout: TIMEOUT });
    assert.equal(await vera.page.locator(".name-version, .restore-version, .delete-version").count(), 0);
    assert.equal(await vera.page.locator(".view-version, .compare-now").count(), 2);
    // An editor restores but does not delete.
    await tab(bob.page, "versions");
    await bob.page.waitForSelector(`.version[data-version-id="${v1}"] .restore-version`, { timeout: TIMEOUT });
    assert.equal(await bob.page.locator(".delete-version").count(), 0);
    await tab(bob.page, "board");
    await waitCards(bob.page, "Bob's board", exactly(nowTexts));

    // ---- restore v1 while Bob is connected: his board becomes v1 ----
    await tab(lin.page, "versions");
    await lin.page.waitForSelector(`.version[data-version-id="${v1}"]`, { timeout: TIMEOUT });
    await restore(lin.page, v1);
    await waitCards(bob.page, "v1 restored at Bob", exactly(v1Texts));
    assert.deepEqual((await cards(bob.page)).map((c) => c.id), [s1, s2, s3, s4]);
    await until(bob.page, "v1's running time at Bob after the restore", () =>
      document.querySelector("[data-testid=total-time]")?.textContent === "0:12.0");

    // The automatic version taken before the restore heads the list.
    await until(lin.page, "the automatic version", () =>
      document.querySelector(".version-list .version")?.dataset.kind === "auto");
    rows = await versionRows(lin.page);
    assert.equal(rows.length, 2);
    assert.equal(rows[0].kind, "auto");
    assert.match(rows[0].name, /^Before restoring “v1”/);
    assert.match(await lin.page.textContent(".notice"), new RegExp(`To undo it, restore “${rows[0].name}”`));
    assert.match(await lin.page.textContent(".version[data-kind=auto] .auto-badge"), /automatic/);
    await lin.page.screenshot({ path: artifactPath("versions-list-1280x720.png") });
    // Two versions picked in the list compare older → newer: v1 against the state before the
    // restore holds the same four changes.
    await lin.page.check(`.version[data-version-id="${rows[0].id}"] .pick-version`);
    await lin.page.check(`.version[data-version-id="${v1}"] .pick-version`);
    await lin.page.click(".compare-picked");
    await lin.page.waitForSelector(`.diff-view[data-from="${v1}"][data-to="${rows[0].id}"] .diff-shots`, { timeout: TIMEOUT });
    const picked = await lin.page.evaluate(() =>
      Array.from(document.querySelectorAll(".diff-shots .shot-change")).map((c) => `${c.dataset.shotId}:${c.dataset.kind}`));
    assert.deepEqual(picked.sort(), [`${s1}:changed`, `${s2}:changed`, `${s4}:removed`, `${s5}:added`].sort());
    await lin.page.goBack();
    await lin.page.waitForSelector(`.version[data-version-id="${v1}"] .compare-now`, { timeout: TIMEOUT });
    // Compared with now, v1 has no differences any more.
    await lin.page.click(`.version[data-version-id="${v1}"] .compare-now`);
    await lin.page.waitForSelector(".no-differences", { timeout: TIMEOUT });
    await lin.page.goBack();

    // ---- restoring the automatic version undoes the restore ----
    await lin.page.waitForSelector(`.version[data-version-id="${rows[0].id}"] .restore-version`, { timeout: TIMEOUT });
    await restore(lin.page, rows[0].id);
    await waitCards(bob.page, "the changes back at Bob", exactly(nowTexts));
    assert.deepEqual((await cards(bob.page)).map((c) => c.id), [s1, s2, s3, s5]);
    await until(bob.page, "the changed running time back at Bob", () =>
      document.querySelector("[data-testid=total-time]")?.textContent === "0:14.0");
    await tab(lin.page, "board");
    await waitCards(lin.page, "the changes back at Lin", exactly(nowTexts));

    // ---- the owner deletes v1 after a confirmation ----
    await tab(lin.page, "versions");
    await lin.page.click(`.version[data-version-id="${v1}"] .delete-version`);
    await lin.page.waitForSelector(".confirm.confirm-delete", { timeout: TIMEOUT });
    await lin.page.click(".confirm-delete .confirm-yes");
    await until(lin.page, "v1 gone from the list", (id) =>
      !document.querySelector(`.version[data-version-id="${id}"]`) && document.querySelectorAll(".version").length > 0, v1);

    // ---- the activity says who changed the shots: Lin by her edits, the server by the restores ----
    await until(lin.page, "Lin's edits in the activity", () =>
      Array.from(document.querySelectorAll(".activity-group")).some((g) => /^Lin changed \d+ shots/.test(g.textContent)));
    await until(lin.page, "the restores in the activity, by the server", () =>
      Array.from(document.querySelectorAll(".activity-group")).some((g) => /^Shotweave changed \d+ shots/.test(g.textContent)));

    assertNoConsoleErrors(lin, bob, vera);
  } finally {
    for (const p of [lin, bob, vera]) await p.context.close();
  }
});
