#!/usr/bin/env node
// Headless Chromium on the demo page, for record-corpus.sh:
//
//     node chromium-demo.js http://HOST:PORT/ USER_DATA_DIR
//
// Loads `/`, waits until both WebSockets are open, sends a line through the echo box and
// one through the chat room, waits for each to come back, then closes the page (Chromium
// closes its WebSockets with 1001 on unload) and the browser. Every wait is bounded; exits
// 1 with what it expected when something does not happen.
"use strict";

const { chromium } = require("playwright-core");
const chromiumLaunch = require("./chromium-launch.cjs");

const TIMEOUT = 15000; // ms, for every single wait

async function main() {
  const [url, userDataDir] = process.argv.slice(2);
  if (!url || !userDataDir) {
    console.error("usage: chromium-demo.js URL USER_DATA_DIR");
    process.exit(2);
  }
  const context = await chromium.launchPersistentContext(userDataDir, chromiumLaunch(TIMEOUT));
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(TIMEOUT);
    await page.goto(url, { waitUntil: "load" });
    await page.locator("#echo-status", { hasText: "open" }).waitFor();
    await page.locator("#chat-status", { hasText: "open" }).waitFor();

    const echoLine = "hello from chromium";
    await page.fill("#echo-input", echoLine);
    await page.click("#echo-form button");
    await page.locator("#echo-log li", { hasText: echoLine }).waitFor();

    const chatLine = "chromium says hi to the room";
    await page.fill("#chat-input", chatLine);
    await page.click("#chat-form button");
    await page.locator("#chat-log li", { hasText: chatLine }).waitFor();

    await page.close({ runBeforeUnload: false });
    // Give the close frames a moment to be answered before the browser goes away.
    await new Promise((resolve) => setTimeout(resolve, 300));
    console.log("ok chromium-demo");
  } finally {
    await context.close();
  }
}

const watchdog = setTimeout(() => {
  console.log("UNEXPECTED chromium-demo: still running after 60s, given up");
  process.exit(3);
}, 60000);
watchdog.unref();

main().catch((e) => {
  console.log(`UNEXPECTED chromium-demo: ${e.message.split("\n")[0]}`);
  process.exit(1);
});
