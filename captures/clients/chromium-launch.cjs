// Chromium's launch options for every headless run of ours: the corpus recorder next to
// this file (chromium-demo.js) and the browser test (tests/browser/inspector.mjs) share
// them, so both run the same browser the same way.
//
// The Debian binary (or $CHROMIUM); no sandbox, since CI runs as root; and nothing that
// talks to the network on its own (no QUIC, background fetches, component updates, sync
// or proxy lookups), so a run touches loopback only.
"use strict";

module.exports = function chromiumLaunch(timeout) {
  return {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    timeout,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-proxy-server",
    ],
  };
};
