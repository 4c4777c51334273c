#!/usr/bin/env node
// The inspector page in headless Chromium, against a running wiretap (tests/browser.rs):
//
//     node inspector.mjs http://127.0.0.1:PORT/ SCREENSHOT_DIR
//
// Sends a line through the demo page's echo box, then finds that WebSocket connection in
// the inspector and reads the frame carrying the line back out of the hex pane, byte by
// byte: the claim under test is that the page shows the bytes that were on the wire, each
// one under the field the server named, so unmasking the `payload` bytes with the `mask
// key` bytes must give the line again. Then a second line must reach the open inspector
// through the live feed within 2 s.
//
// Every wait is bounded; exits 1 with what it expected when something does not happen.
// Screenshots (demo.png, inspector.png) go to SCREENSHOT_DIR.

import { chromium } from "playwright-core";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import chromiumLaunch from "../../captures/clients/chromium-launch.cjs";

const TIMEOUT = 15000; // ms, for every single wait
const LIVE_WITHIN = 2000; // ms, from the send of a line to its frame in the inspector

class Failure extends Error {}

function check(condition, message) {
  if (!condition) throw new Failure(message);
}

const started = Date.now();
function step(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(2)}s] ${message}`);
}

// The inspector page once open: what a failed wait reports of it, and a screenshot.
let inspectorPage = null;

// What the inspector shows that could explain a failure: its error banner and feed status.
async function inspectorState() {
  if (!inspectorPage) return "";
  const said = await inspectorPage.evaluate(() => {
    const error = document.getElementById("error");
    const banner = error && !error.hidden ? `error banner: ${document.getElementById("error-text").textContent}; ` : "";
    return `${banner}${document.getElementById("feed-status").textContent}`;
  }).catch(() => "");
  return said ? ` [inspector: ${said}]` : "";
}

// A bounded wait that fails with `what` was expected rather than a bare timeout.
async function waitFor(locator, what, timeout = TIMEOUT) {
  try {
    await locator.waitFor({ timeout });
  } catch (e) {
    if (e.name !== "TimeoutError") throw e;
    throw new Failure(`${what}: not there after ${timeout} ms${await inspectorState()}`);
  }
}

// Sends `line` from the demo page and waits for the echo to come back.
async function echo(demo, line) {
  await demo.fill("#echo-input", line);
  await demo.click("#echo-form button");
  await waitFor(demo.locator("#echo-log li", { hasText: line }), `the echo of ${JSON.stringify(line)} on the demo page`);
}

// The timeline row of the frame that carries `line` in direction `dir`.
function frameRow(inspector, dir, line) {
  return inspector.locator(`li.event[data-kind="frame"][data-dir="${dir}"]`, { hasText: line });
}

// Selects a timeline row and returns what the hex pane shows for it once loaded: every
// legend entry and every byte, as the page renders them.
async function openEvent(inspector, row) {
  const index = await row.getAttribute("data-index");
  await row.click();
  await waitFor(inspector.locator(`#hex[data-state="ready"][data-index="${index}"]`), `the bytes of event ${index} in the hex pane`);
  return inspector.evaluate(() => ({
    fields: [...document.querySelectorAll("#fields li.field")].map((li) => ({
      name: li.dataset.field,
      start: Number(li.dataset.start),
      end: Number(li.dataset.end),
    })),
    bytes: [...document.querySelectorAll("#hex span.byte")].map((span) => ({
      off: Number(span.dataset.off),
      field: span.dataset.field,
      text: span.textContent,
    })),
  }));
}

// The bytes the hex pane shows under the legend entry `name`, checked against the entry's
// range: one span per offset, in order, each hex pair parsed back.
function fieldBytes(pane, name) {
  const fields = pane.fields.filter((f) => f.name === name);
  check(fields.length === 1, `one legend entry "${name}", found ${fields.length} among ${JSON.stringify(pane.fields.map((f) => f.name))}`);
  const [field] = fields;
  const spans = pane.bytes.filter((b) => b.field === name);
  check(spans.length === field.end - field.start, `"${name}" is [${field.start}, ${field.end}) but ${spans.length} bytes are marked with it`);
  spans.forEach((b, i) => {
    check(b.off === field.start + i, `byte ${i} of "${name}" is at offset ${b.off}, expected ${field.start + i}`);
    check(/^[0-9a-f]{2}$/.test(b.text), `byte at offset ${b.off} shows "${b.text}", not two hex digits`);
  });
  return Buffer.from(spans.map((b) => parseInt(b.text, 16)));
}

const hex = (buf) => buf.toString("hex");

// A single-frame text message of fewer than 126 bytes, as RFC 6455 §5.2 lays it out:
// 0x81, then the mask bit and the 7-bit length, then (client only) the key, then the
// payload, masked from the client and in the clear from the server.
function checkTextFrame(pane, line, fromClient) {
  const text = Buffer.from(line, "utf8");
  check(text.length < 126, "the test line must fit the 7-bit length");
  const names = pane.fields.map((f) => f.name);
  const expected = fromClient ? ["fin+opcode", "mask+len", "mask key", "payload"] : ["fin+opcode", "mask+len", "payload"];
  check(JSON.stringify(names) === JSON.stringify(expected), `fields ${JSON.stringify(names)}, expected ${JSON.stringify(expected)}`);
  // The fields tile the shown bytes: each starts where the previous one ended.
  for (let i = 1; i < pane.fields.length; i += 1) {
    check(pane.fields[i].start === pane.fields[i - 1].end, `"${names[i]}" starts at ${pane.fields[i].start}, "${names[i - 1]}" ends at ${pane.fields[i - 1].end}`);
  }
  check(pane.bytes.length === pane.fields.at(-1).end - pane.fields[0].start, `${pane.bytes.length} bytes shown for a frame of ${pane.fields.at(-1).end - pane.fields[0].start}`);

  const first = fieldBytes(pane, "fin+opcode");
  check(hex(first) === "81", `fin+opcode is ${hex(first)}, expected 81 (FIN, text)`);
  const second = fieldBytes(pane, "mask+len");
  const want = (fromClient ? 0x80 : 0) | text.length;
  check(second.length === 1 && second[0] === want, `mask+len is ${hex(second)}, expected ${want.toString(16)} (${fromClient ? "mask bit, " : ""}length ${text.length})`);
  const payload = fieldBytes(pane, "payload");
  check(payload.length === text.length, `payload is ${payload.length} bytes, the line ${text.length}`);
  if (!fromClient) {
    check(payload.equals(text), `payload ${hex(payload)} is not the line ${hex(text)}`);
    return;
  }
  const key = fieldBytes(pane, "mask key");
  check(key.length === 4, `mask key is ${key.length} bytes`);
  const unmasked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]));
  check(unmasked.equals(text), `payload ${hex(payload)} unmasked with ${hex(key)} is ${JSON.stringify(unmasked.toString("latin1"))}, expected ${JSON.stringify(line)}`);
}

async function main() {
  const [base, shots] = process.argv.slice(2);
  if (!base || !shots) {
    console.error("usage: inspector.mjs http://HOST:PORT/ SCREENSHOT_DIR");
    process.exit(2);
  }
  mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch(chromiumLaunch(TIMEOUT));
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 900 } });
    context.setDefaultTimeout(TIMEOUT);
    const pageErrors = [];

    const demo = await context.newPage();
    demo.on("pageerror", (e) => pageErrors.push(`demo page: ${e.message}`));
    await demo.goto(base, { waitUntil: "load" });
    await waitFor(demo.locator("#echo-status", { hasText: "open" }), "the demo page's echo socket open");
    const line = `hello inspector ${randomBytes(6).toString("hex")}`;
    await echo(demo, line);
    step(`echoed ${JSON.stringify(line)}`);
    await demo.screenshot({ path: join(shots, "demo.png") });

    // The demo page stays open: its echo connection is the live capture under test.
    const inspector = await context.newPage();
    inspectorPage = inspector;
    inspector.on("pageerror", (e) => pageErrors.push(`inspector: ${e.message}`));
    await inspector.goto(new URL("inspector/", base).href, { waitUntil: "load" });
    const echoCaptures = inspector.locator('li.capture[data-kind="websocket"]', { hasText: "GET /echo" });
    await waitFor(echoCaptures.first(), "a WebSocket capture of GET /echo in the list");
    check(await echoCaptures.count() === 1, `one WebSocket capture of GET /echo, found ${await echoCaptures.count()}`);
    check(await echoCaptures.getAttribute("data-live") === "true", "the echo connection is still open: its capture must be live");
    await echoCaptures.click();
    step(`selected capture ${await echoCaptures.getAttribute("data-id")}`);

    const c2s = frameRow(inspector, "c2s", line);
    await waitFor(c2s, "the c2s frame of the line in the timeline");
    checkTextFrame(await openEvent(inspector, c2s), line, true);
    step("c2s frame: 81, 80|len, mask key, payload unmasks to the line");
    const s2c = frameRow(inspector, "s2c", line);
    checkTextFrame(await openEvent(inspector, s2c), line, false);
    step("s2c frame: 81, len, payload is the line");

    // Up/down walk the timeline.
    const s2cIndex = Number(await s2c.getAttribute("data-index"));
    await inspector.locator("#events").focus();
    await inspector.keyboard.press("ArrowUp");
    const above = Number(await inspector.locator("li.event.selected").getAttribute("data-index"));
    check(above < s2cIndex, `ArrowUp from event ${s2cIndex} selected ${above}`);
    await inspector.keyboard.press("ArrowDown");
    check(Number(await inspector.locator("li.event.selected").getAttribute("data-index")) === s2cIndex, "ArrowDown did not come back");

    // The direction filter leaves only that direction.
    await inspector.selectOption("#filter-dir", "s2c");
    const dirs = await inspector.locator("li.event").evaluateAll((rows) => rows.map((r) => r.dataset.dir));
    check(dirs.length > 0 && dirs.every((d) => d === "s2c"), `filter s2c shows ${JSON.stringify(dirs)}`);
    await inspector.selectOption("#filter-dir", "all");

    // The download link is the capture itself.
    const download = inspector.locator("#download");
    check(await download.getAttribute("download") !== null, "the download link has no download attribute");
    const raw = await inspector.evaluate(async (href) => {
      const response = await fetch(href);
      return { status: response.status, disposition: response.headers.get("content-disposition") || "" };
    }, await download.getAttribute("href"));
    check(raw.status === 200 && raw.disposition.includes("attachment"), `download link answers ${JSON.stringify(raw)}`);

    // Live: a second line must show up in the open inspector without a reload.
    // Not an extension of the first line: its row must not match the first line's.
    const second = `hello again ${randomBytes(6).toString("hex")}`;
    const sent = Date.now();
    await echo(demo, second);
    await waitFor(frameRow(inspector, "c2s", second), `the second line's c2s frame, through the live feed, ${LIVE_WITHIN} ms after its send`,
      Math.max(1, LIVE_WITHIN - (Date.now() - sent)));
    step(`live: second frame in the timeline ${Date.now() - sent} ms after the send`);

    checkTextFrame(await openEvent(inspector, frameRow(inspector, "c2s", second)), second, true);
    // The text column can show the payload unmasked (the hex column stays the wire).
    await inspector.locator("#unmask").check();
    const text = await inspector.locator('#hex span.chr[data-field="payload"]').allTextContents();
    check(text.join("") === second, `unmasked text column reads ${JSON.stringify(text.join(""))}, expected ${JSON.stringify(second)}`);
    await inspector.locator('li.field[data-field="payload"]').hover();
    await inspector.screenshot({ path: join(shots, "inspector.png") });

    check(await inspector.locator("#error").isHidden(), `the inspector shows an error: ${await inspector.locator("#error").textContent()}`);
    check(pageErrors.length === 0, `uncaught errors: ${pageErrors.join("; ")}`);
    step(`ok inspector; screenshots in ${shots}`);
  } catch (e) {
    // What the page looked like when it went wrong is most of the diagnosis.
    if (inspectorPage) await inspectorPage.screenshot({ path: join(shots, "failure.png") }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
}

const watchdog = setTimeout(() => {
  console.log("FAIL inspector: still running after 55s, given up");
  process.exit(3);
}, 55000);
watchdog.unref();

main().then(
  () => process.exit(0),
  (e) => {
    const what = e instanceof Failure ? e.message : `${e.name}: ${e.message.split("\n")[0]}`;
    console.log(`FAIL inspector: ${what}`);
    process.exit(1);
  },
);
