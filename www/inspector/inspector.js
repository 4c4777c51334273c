// wiretap inspector: the recorded connections, the dissector's events of one of them, and
// the bytes of one event with the fields the server names in them.
//
// Everything comes from the server's own API (/api/captures..., /api/live): the page
// parses no protocol itself, so what it shows is what `wiretap replay` would say. No build
// step and no dependency: it must work offline, from the folder the server serves.
"use strict";

// ---------------------------------------------------------------------------------------
// API access

// The API may require a token (`?token=T` on the page): every request carries it on.
const TOKEN = new URLSearchParams(location.search).get("token");

function withToken(path) {
  if (TOKEN === null) return path;
  return `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(TOKEN)}`;
}

function captureUrl(id) {
  return `/api/captures/${encodeURIComponent(id)}`;
}

// GET a JSON document; rejects with the server's `{"error": ...}` text on a non-2xx answer.
async function getJson(path) {
  let response;
  try {
    response = await fetch(withToken(path), { cache: "no-store" });
  } catch (e) {
    throw new Error(`${path}: server unreachable (${e.message})`);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: reported below with the status.
  }
  if (!response.ok) {
    const why = body && typeof body.error === "string" ? body.error : response.statusText;
    const hint = response.status === 403 && TOKEN === null && !/token/i.test(why) ? " (open this page with ?token=…)" : "";
    throw new Error(`${path}: ${response.status} ${why}${hint}`);
  }
  if (body === null) throw new Error(`${path}: the answer is not JSON`);
  return body;
}

// ---------------------------------------------------------------------------------------
// State

const state = {
  captures: new Map(), // id -> SUMMARY
  selectedId: null,
  events: [], // of the selected capture
  // Whether the feed has delivered events for the selected capture: from then on, a slower
  // HTTP answer for the same capture is older than what is shown and must not replace it.
  eventsFromFeed: false,
  selectedIndex: null, // into state.events
  followTail: false, // whether the timeline keeps its newest events in view
  live: true,
  socket: null,
  reconnectTimer: null,
  // Answers that arrive after the user moved on are dropped by these sequence numbers.
  captureSeq: 0,
  detailSeq: 0,
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------
// Formatting

const KINDS = ["request", "response", "body", "upgrade", "frame", "message", "ping", "pong",
  "close", "error", "eof", "truncated"];

function kindOf(event) {
  return KINDS.find((k) => k in event) || "unknown";
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function bytes(n) {
  if (n < 10000) return `${n} B`;
  if (n < 10000 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

// `t` is microseconds since the connection started.
function seconds(t) {
  return (t / 1e6).toFixed(6);
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

// A capture's start ("2026-11-24T21:56:12.123456Z") in local time; the date only when it
// is not today, since most captures a tool user looks at are from the last minutes.
function localTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

// The preview of a payload (body, frame, message, ping, pong): quoted text with escapes
// visible, or hex; an ellipsis when the payload is longer than the preview (the dissector
// adds a digest exactly then).
function preview(p) {
  let shown;
  if (typeof p.text === "string") shown = JSON.stringify(p.text);
  else if (typeof p.hex === "string" && p.hex !== "") shown = `0x${p.hex}`;
  else return "";
  return p.sha256 ? `${shown}…` : shown;
}

function framing(body) {
  return typeof body === "number" ? `body ${bytes(body)}` : `body ${body}`;
}

function leftover(x) {
  const parts = [];
  if (x.inside) parts.push(`inside ${x.inside}`);
  if (x.stopped) parts.push(`stopped: ${x.stopped}`);
  if (x.skipped) parts.push(`${bytes(x.skipped)} unread`);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

// One line per event, in the words of `wiretap replay`'s rendering.
function summarize(event) {
  const kind = kindOf(event);
  const x = event[kind];
  switch (kind) {
    case "request":
      return `${x.method} ${x.target} ${x.version} · ${plural(x.headers.length, "header")}, ${framing(x.body)}`;
    case "response":
      return `${x.version} ${x.status} ${x.reason} · ${plural(x.headers.length, "header")}, ${framing(x.body)}`;
    case "body": {
      const extra = [];
      if (x.chunks !== undefined) extra.push(plural(x.chunks, "chunk"));
      if (x.trailers && x.trailers.length) extra.push(plural(x.trailers.length, "trailer"));
      return `body ${bytes(x.length)}${extra.length ? ` (${extra.join(", ")})` : ""} ${preview(x)}`;
    }
    case "upgrade":
      return `upgrade → ${x.to}`;
    case "frame":
      return [
        x.fin ? "FIN" : "---",
        x.opcode,
        x.rsv ? `RSV ${x.rsv}` : null,
        x.mask ? `MASK ${x.mask}` : "no mask",
        `len ${x.length}`,
        preview(x),
      ].filter((s) => s !== null && s !== "").join(" ");
    case "message":
      return `${x.opcode} message ${bytes(x.length)}${x.frames ? ` in ${x.frames} frames` : ""} ${preview(x)}`;
    case "ping":
    case "pong":
      return `${kind} ${bytes(x.length)} ${preview(x)}`;
    case "close":
      return `close ${x.code !== undefined ? x.code : "(no code)"}${x.reason ? ` ${JSON.stringify(x.reason)}` : ""}`;
    case "error": {
      const answer = x.status !== undefined ? ` → ${x.status}` : x.close_code !== undefined ? ` → close ${x.close_code}` : "";
      return `ERROR ${x.rule}: ${x.message}${answer} @${x.offset}`;
    }
    case "eof":
      return `eof by ${x.by}${x.detail ? `: ${x.detail}` : ""}${leftover(x)}`;
    case "truncated":
      return `TRUNCATED ${x.reason} by ${x.by}${leftover(x)}`;
    default:
      return JSON.stringify(event);
  }
}

// ---------------------------------------------------------------------------------------
// Errors and the feed's status

function showError(message) {
  $("error-text").textContent = message;
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
}

function setFeedStatus(stateName, text) {
  const el = $("feed-status");
  el.dataset.state = stateName;
  el.textContent = `feed: ${text}`;
}

// ---------------------------------------------------------------------------------------
// The list of connections

const captureRows = new Map(); // id -> li, reused so that updates do not rebuild the list

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function kindLabel(kind) {
  return kind === "http" ? "HTTP" : kind === "websocket" ? "WebSocket" : "other";
}

// The API names the reason; a capture file's own `truncated` object says more, read it too.
function truncation(c) {
  return typeof c.truncated === "string" ? c.truncated : c.truncated.reason || JSON.stringify(c.truncated);
}

function fillCaptureRow(li, c) {
  li.dataset.id = c.id;
  li.dataset.kind = c.kind;
  li.dataset.live = String(Boolean(c.live));
  li.title = `${c.id}\n${c.client} → ${c.server}\n${c.start}`;
  li.replaceChildren();
  const top = el("div", "row");
  top.append(el("span", `badge kind-${c.kind}`, kindLabel(c.kind)));
  top.append(el("span", "title", c.title || "(nothing parsed)"));
  const marks = el("span", "state");
  if (c.live) marks.append(el("span", "live-mark", "● live"));
  if (c.truncated) marks.append(el("span", "trunc", `✂ ${truncation(c)}`));
  if (c.end) {
    const end = el("span", "end", `by ${c.end.by}`);
    if (c.end.detail) end.title = c.end.detail;
    marks.append(end);
  }
  top.append(marks);
  li.append(top);
  const bottom = el("div", "row meta");
  bottom.append(el("span", "time", localTime(c.start)));
  bottom.append(el("span", "client", c.client));
  bottom.append(el("span", "c2s", `→${bytes(c.bytes.c2s)}`));
  bottom.append(el("span", "s2c", `←${bytes(c.bytes.s2c)}`));
  li.append(bottom);
}

// Newest first; the id ends in the connection's number, which breaks ties in `start`.
function newestFirst(a, b) {
  if (a.start !== b.start) return a.start < b.start ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function renderCaptures() {
  const list = $("captures");
  const sorted = [...state.captures.values()].sort(newestFirst);
  for (const id of captureRows.keys()) {
    if (!state.captures.has(id)) {
      captureRows.get(id).remove();
      captureRows.delete(id);
    }
  }
  // Re-appending existing nodes moves them: one pass puts the list in order without
  // rebuilding rows (and keeps the selected row's focus and scroll position).
  let previous = null;
  for (const c of sorted) {
    let li = captureRows.get(c.id);
    if (!li) {
      li = el("li", "capture");
      fillCaptureRow(li, c);
      captureRows.set(c.id, li);
    }
    li.classList.toggle("selected", c.id === state.selectedId);
    const expected = previous ? previous.nextSibling : list.firstChild;
    if (expected !== li) list.insertBefore(li, expected);
    previous = li;
  }
  $("capture-count").textContent = `(${state.captures.size})`;
  $("captures-empty").hidden = state.captures.size > 0;
}

function setCaptures(list) {
  state.captures = new Map(list.map((c) => [c.id, c]));
  for (const [id, li] of captureRows) {
    if (state.captures.has(id)) fillCaptureRow(li, state.captures.get(id));
  }
  renderCaptures();
  if (state.selectedId !== null && state.captures.has(state.selectedId)) renderCaptureHead();
}

function updateCapture(c) {
  state.captures.set(c.id, c);
  const li = captureRows.get(c.id);
  if (li) fillCaptureRow(li, c);
  renderCaptures();
  if (c.id === state.selectedId) renderCaptureHead();
}

function removeCapture(id) {
  state.captures.delete(id);
  renderCaptures();
  if (id === state.selectedId) showError(`capture ${id} was deleted on the server; what is shown is what was loaded`);
}

async function loadCaptureList() {
  try {
    const answer = await getJson("/api/captures");
    $("captures-dir").textContent = answer.dir || "";
    setCaptures(answer.captures);
    clearError();
  } catch (e) {
    showError(e.message);
  }
}

// ---------------------------------------------------------------------------------------
// The selected connection and its timeline

function renderCaptureHead() {
  const c = state.captures.get(state.selectedId);
  const title = $("capture-title");
  const meta = $("capture-meta");
  const download = $("download");
  if (!c) {
    title.textContent = state.selectedId ? state.selectedId : "Select a connection.";
    meta.textContent = "";
    download.hidden = state.selectedId === null;
    return;
  }
  title.replaceChildren(el("span", `badge kind-${c.kind}`, kindLabel(c.kind)), el("strong", null, ` ${c.title || "(nothing parsed)"} `), el("span", "muted", c.id));
  const facts = [
    `${c.client} → ${c.server}`,
    c.start,
    `${(c.duration_us / 1e6).toFixed(6)} s`,
    `c2s ${bytes(c.bytes.c2s)}, s2c ${bytes(c.bytes.s2c)}`,
    `${plural(c.chunks, "chunk")}, ${plural(c.events, "event")}`,
    c.live ? "live" : c.end ? `ended by ${c.end.by}${c.end.detail ? ` (${c.end.detail})` : ""}` : "no end recorded",
  ];
  if (c.truncated) facts.push(`TRUNCATED: ${truncation(c)}`);
  meta.textContent = facts.join(" · ");
  download.hidden = false;
}

// Shows capture `id`; `eventIndex` then selects an event, `reload` fetches it again even
// when it is the one shown.
function selectCapture(id, { eventIndex = null, reload = false } = {}) {
  if (id === state.selectedId && eventIndex === null && !reload) return;
  state.selectedId = id;
  state.events = [];
  state.eventsFromFeed = false;
  state.selectedIndex = null;
  // A live capture opens at its newest events and follows them, like `tail -f`, until the
  // user scrolls up; a finished one opens at its start.
  state.followTail = Boolean(state.captures.get(id) && state.captures.get(id).live);
  const download = $("download");
  download.href = withToken(`${captureUrl(id)}/raw`);
  download.setAttribute("download", `${id}.json`);
  renderCaptures();
  renderCaptureHead();
  renderEvents();
  clearDetail("Select an event.");
  updateHash();
  watchSelected();
  const seq = ++state.captureSeq;
  getJson(captureUrl(id)).then(
    (answer) => {
      if (seq !== state.captureSeq) return;
      if (answer.capture) updateCapture(answer.capture);
      if (!state.eventsFromFeed) {
        state.events = answer.events;
        renderEvents();
      }
      if (eventIndex !== null && eventIndex < state.events.length) selectEvent(eventIndex);
    },
    (e) => {
      if (seq === state.captureSeq) showError(e.message);
    },
  );
}

// The filters' values, read once per render rather than once per event.
function currentFilter() {
  return {
    dir: $("filter-dir").value,
    want: $("filter-kind").value,
    text: $("filter-text").value.trim().toLowerCase(),
  };
}

// What the filters say of one event.
function passes(filter, event, kind, summary) {
  const { dir, want, text } = filter;
  if (dir !== "all" && event.dir !== dir) return false;
  if (want !== "all") {
    const x = event[kind];
    const opcode = (kind === "frame" || kind === "message") ? x.opcode : null;
    const ok = {
      http: ["request", "response", "body", "upgrade"].includes(kind),
      frame: kind === "frame",
      message: kind === "message",
      text: opcode === "text",
      binary: opcode === "binary",
      // A control frame shows twice (its frame, then what it means): both match.
      ping: kind === "ping" || opcode === "ping",
      pong: kind === "pong" || opcode === "pong",
      close: kind === "close" || opcode === "close",
      error: kind === "error",
    }[want];
    if (!ok) return false;
  }
  return text === "" || summary.toLowerCase().includes(text);
}

function eventRow(event, index, kind, summary) {
  const li = el("li", `event dir-${event.dir} kind-${kind}`);
  li.dataset.index = String(index);
  li.dataset.kind = kind;
  li.dataset.dir = event.dir;
  li.append(el("span", "t", seconds(event.t)));
  li.append(el("span", "arrow", event.dir === "c2s" ? "c2s →" : "← s2c"));
  li.append(el("span", "at", `${event.at[0]}..${event.at[1]}`));
  li.append(el("span", "k", kind));
  li.append(el("span", "summary", summary));
  li.title = summary;
  if (index === state.selectedIndex) li.classList.add("selected");
  return li;
}

// The timeline is virtual: a transcript can hold tens of thousands of events, and only the
// rows in view (plus a margin) exist in the DOM. Rows have one fixed height (the CSS says
// the same), so a row's position is its place in `timeline.rows` times ROW_PX; a spacer
// above and one below the rendered rows stand in for the others. (Not padding: with
// border-box sizing, padding would grow the scroll box itself.)
const ROW_PX = 18;
const OVERSCAN = 20;

const timeline = {
  kinds: [], // per event index, computed once as events arrive
  summaries: [],
  rows: [], // the event indexes the filters let through, ascending
};

// Brings kinds and summaries up to date with state.events, from index `from` on.
function describeEvents(from) {
  timeline.kinds.length = from;
  timeline.summaries.length = from;
  for (let i = from; i < state.events.length; i += 1) {
    timeline.kinds.push(kindOf(state.events[i]));
    timeline.summaries.push(summarize(state.events[i]));
  }
}

// The filtered rows, all of them (from 0) or only the new events' (from the first new one).
function filterRows(from) {
  const filter = currentFilter();
  if (from === 0) timeline.rows = [];
  else {
    while (timeline.rows.length && timeline.rows[timeline.rows.length - 1] >= from) timeline.rows.pop();
  }
  for (let i = from; i < state.events.length; i += 1) {
    if (passes(filter, state.events[i], timeline.kinds[i], timeline.summaries[i])) timeline.rows.push(i);
  }
}

// Draws the rows in view.
function renderWindow() {
  const list = $("events");
  const rows = timeline.rows;
  const first = Math.max(0, Math.floor(list.scrollTop / ROW_PX) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((list.scrollTop + list.clientHeight) / ROW_PX) + OVERSCAN);
  const fragment = document.createDocumentFragment();
  fragment.append(spacer(first));
  for (let r = first; r < last; r += 1) {
    const index = rows[r];
    fragment.append(eventRow(state.events[index], index, timeline.kinds[index], timeline.summaries[index]));
  }
  fragment.append(spacer(Math.max(0, rows.length - last)));
  list.replaceChildren(fragment);
}

function spacer(rows) {
  const li = el("li", "spacer");
  li.setAttribute("aria-hidden", "true");
  li.style.height = `${rows * ROW_PX}px`;
  return li;
}

// Re-describes and re-filters events from index `from` on (0: everything, as after a new
// capture or a filter change) and redraws. A live capture grows by a few events at a time:
// from its first new one, the work is proportional to what is new.
function renderEvents(from = 0) {
  const list = $("events");
  describeEvents(from);
  filterRows(from);
  // Drawn once at the old position so that the spacers give the list its new height, then
  // again where it is scrolled to.
  renderWindow();
  if (state.followTail && state.live) {
    list.scrollTop = list.scrollHeight;
    renderWindow();
  }
  const total = state.events.length;
  const shown = timeline.rows.length;
  $("event-count").textContent = state.selectedId === null ? "" : shown === total ? plural(total, "event") : `${shown} of ${plural(total, "event")}`;
}

// The feed's `events` message: keep the first `from`, append the rest.
function applyFeedEvents(from, events) {
  // The first answer to a watch repeats what the HTTP answer may already have drawn.
  const redrawFrom = state.eventsFromFeed ? Math.min(from, state.events.length) : 0;
  const selectedChanged = state.selectedIndex !== null && state.selectedIndex >= from;
  state.events = state.events.slice(0, from).concat(events);
  state.eventsFromFeed = true;
  if (state.selectedIndex !== null && state.selectedIndex >= state.events.length) {
    state.selectedIndex = null;
    clearDetail("The selected event is gone.");
  }
  renderEvents(redrawFrom);
  if (selectedChanged && state.selectedIndex !== null) selectEvent(state.selectedIndex);
}

// Where event `index` is among the filtered rows: its position, or where it would go.
function rowPosition(index) {
  const rows = timeline.rows;
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid] < index) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Scrolls the least that brings row position `r` into view.
function scrollToRow(r) {
  const list = $("events");
  const top = r * ROW_PX;
  if (top < list.scrollTop) list.scrollTop = top;
  else if (top + ROW_PX > list.scrollTop + list.clientHeight) list.scrollTop = top + ROW_PX - list.clientHeight;
}

function selectEvent(index) {
  state.selectedIndex = index;
  const r = rowPosition(index);
  if (timeline.rows[r] === index) scrollToRow(r);
  renderWindow();
  updateHash();
  loadDetail(state.selectedId, index);
}

// The keys walk the rows the filters show, not the whole transcript: up/down by one,
// page up/down by a screenful, home/end to either end.
function moveSelection(step) {
  const rows = timeline.rows;
  if (rows.length === 0) return;
  let next;
  if (Math.abs(step) === Infinity) next = step > 0 ? rows.length - 1 : 0;
  else if (state.selectedIndex === null) next = step > 0 ? 0 : rows.length - 1;
  else {
    const r = rowPosition(state.selectedIndex);
    // Off the filtered rows, the selection sits between two: step from that gap.
    const here = rows[r] === state.selectedIndex ? r : step > 0 ? r - 1 : r;
    next = Math.min(rows.length - 1, Math.max(0, here + step));
  }
  selectEvent(rows[next]);
}

// ---------------------------------------------------------------------------------------
// The bytes of one event

// Enough rows to read any head or frame at once; a 64 KiB body renders in full on demand
// (131 072 spans are a noticeable pause, not worth paying for every click).
const FIRST_ROWS = 512;

function clearDetail(message) {
  $("detail-head").textContent = message;
  $("detail-head").classList.add("muted");
  $("hex").replaceChildren();
  $("unmask-box").hidden = true;
  $("fields").replaceChildren();
  $("hex-more").hidden = true;
  $("event-json").textContent = "";
  $("event-json-box").hidden = true;
  $("hex").dataset.state = "empty";
}

async function loadDetail(id, index) {
  const seq = ++state.detailSeq;
  const event = state.events[index];
  if (event) {
    $("event-json").textContent = prettyJson(event);
    $("event-json-box").hidden = false;
  }
  $("hex").dataset.state = "loading";
  try {
    const answer = await getJson(`${captureUrl(id)}/events/${index}`);
    if (seq !== state.detailSeq) return;
    renderDetail(answer, index);
  } catch (e) {
    if (seq !== state.detailSeq) return;
    $("hex").dataset.state = "error";
    showError(e.message);
  }
}

// The order the dissector writes keys in (src/dissect/mod.rs), which is the order its
// documentation explains them in; the API's JSON may come with keys sorted.
const TOP_ORDER = ["t", "dir", "at", ...KINDS];
const FIELD_ORDER = ["method", "target", "version", "status", "reason", "headers", "body",
  "fin", "opcode", "rsv", "mask", "header_len", "length", "frames", "chunks", "trailers",
  "code", "offset", "rule", "message", "close_code", "to", "by", "detail", "inside",
  "stopped", "skipped", "sha256", "text", "hex"];

function keyRank(order, key) {
  const rank = order.indexOf(key);
  return rank === -1 ? order.length : rank;
}

// JSON for reading: one key per line, but arrays of scalars (`at`, a header pair) on one
// line, where JSON.stringify's indentation would spend a line per number.
function prettyJson(value, indent = "") {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.every((x) => x === null || typeof x !== "object")) return JSON.stringify(value);
    return `[\n${value.map((x) => inner + prettyJson(x, inner)).join(",\n")}\n${indent}]`;
  }
  if (value !== null && typeof value === "object") {
    const order = indent === "" ? TOP_ORDER : FIELD_ORDER;
    const entries = Object.entries(value).sort(([a], [b]) => keyRank(order, a) - keyRank(order, b));
    if (entries.length === 0) return "{}";
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${prettyJson(v, inner)}`).join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(value);
}

const escapeHtml = (s) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function hexByte(b) {
  return b.toString(16).padStart(2, "0");
}

function printable(b) {
  return b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
}

function parseHex(hex) {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// A field's colour class: its place in the palette, but red for the byte an error names.
function fieldColour(field, fi) {
  return field.name === "offending byte" ? "fbad" : `fc${fi % 8}`;
}

// For each shown byte, the index of the field it belongs to (-1: none).
function fieldIndexes(answer, count) {
  const of = new Int32Array(count).fill(-1);
  (answer.fields || []).forEach((f, fi) => {
    const from = Math.max(f.start, answer.start) - answer.start;
    const to = Math.min(f.end, answer.start + count) - answer.start;
    for (let i = from; i < to; i += 1) of[i] = fi;
  });
  return of;
}

// The hex dump as one HTML string: tens of thousands of spans go in far faster through
// innerHTML than node by node.
function hexRows(answer, data, textData, of, rowLimit) {
  const names = (answer.fields || []).map((f) => escapeHtml(f.name));
  const colours = (answer.fields || []).map(fieldColour);
  const rows = Math.min(rowLimit, Math.ceil(data.length / 16));
  const html = [];
  for (let r = 0; r < rows; r += 1) {
    const rowStart = answer.start + r * 16;
    let hex = "";
    let text = "";
    for (let i = 0; i < 16; i += 1) {
      const k = r * 16 + i;
      const gap = i === 8 ? " gap" : "";
      if (k >= data.length) {
        hex += `<span class="pad${gap}">  </span>`;
        continue;
      }
      const fi = of[k];
      const attrs = fi >= 0 ? ` data-field="${names[fi]}" data-fi="${fi}"` : "";
      const colour = fi >= 0 ? ` ${colours[fi]}` : "";
      hex += `<span class="byte${colour}${gap}" data-off="${answer.start + k}"${attrs}>${hexByte(data[k])}</span>`;
      text += `<span class="chr${colour}" data-off="${answer.start + k}"${attrs}>${escapeHtml(printable(textData[k]))}</span>`;
    }
    html.push(`<div class="hexrow"><span class="off" title="0x${rowStart.toString(16)}">${rowStart}</span><span class="hexbytes">${hex}</span><span class="text">${text}</span></div>`);
  }
  return html.join("");
}

// The shown bytes with a client frame's payload unmasked (RFC 6455 §5.3: byte i of the
// payload XOR byte i mod 4 of the key), or null when the event is no masked frame.
function unmaskedCopy(answer, event, data) {
  const frame = event.frame;
  const payload = (answer.fields || []).find((f) => f.name === "payload");
  if (!frame || !frame.mask || !payload) return null;
  const key = parseHex(frame.mask);
  const out = data.slice();
  const from = Math.max(0, payload.start - answer.start);
  const to = Math.min(data.length, payload.end - answer.start);
  for (let k = from; k < to; k += 1) out[k] ^= key[(answer.start + k - payload.start) % 4];
  return out;
}

// What a legend entry shows of its bytes: the text when a field is a printable line, else
// hex, cut short either way.
function fieldBytes(data, from, to) {
  const slice = data.subarray(from, Math.min(to, from + 60));
  const cut = to - from > slice.length;
  const isText = slice.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0d || b === 0x0a || b === 0x09);
  if (isText && to - from > 4) {
    const quoted = JSON.stringify(String.fromCharCode(...slice));
    return cut ? `${quoted}…` : quoted;
  }
  const hex = Array.from(slice.subarray(0, 16), hexByte).join(" ");
  return to - from > 16 ? `${hex} …` : hex;
}

function renderDetail(answer, index) {
  const event = answer.event || state.events[index];
  const kind = kindOf(event);
  const data = parseHex(answer.hex || "");
  const of = fieldIndexes(answer, data.length);
  const head = $("detail-head");
  head.classList.remove("muted");
  head.replaceChildren(
    el("span", `k kind-${kind}`, `#${index} ${kind}`),
    el("span", `arrow dir-${answer.dir}`, answer.dir === "c2s" ? " c2s → " : " ← s2c "),
    el("span", null, `[${answer.start}, ${answer.end}) of the ${answer.dir} stream, ${bytes(answer.end - answer.start)}`),
  );
  $("event-json").textContent = prettyJson(event);
  $("event-json-box").hidden = false;

  const hex = $("hex");
  hex.dataset.index = String(index);
  hex.dataset.start = String(answer.start);
  hex.dataset.end = String(answer.end);
  const unmasked = unmaskedCopy(answer, event, data);
  let rowLimit = FIRST_ROWS;
  const dump = () => {
    const textData = unmasked && $("unmask").checked ? unmasked : data;
    hex.innerHTML = hexRows(answer, data, textData, of, rowLimit);
  };
  $("unmask-box").hidden = unmasked === null;
  $("unmask").onchange = dump;
  if (data.length === 0) {
    hex.innerHTML = `<p class="empty">No bytes: this event marks a point in the stream.</p>`;
  } else {
    dump();
  }
  const notShown = answer.end - answer.start - data.length;
  const renderedRows = Math.min(FIRST_ROWS, Math.ceil(data.length / 16));
  const more = $("hex-more");
  more.replaceChildren();
  if (renderedRows * 16 < data.length) {
    const button = el("button", null, `show all ${bytes(data.length)} (${bytes(renderedRows * 16)} shown)`);
    button.type = "button";
    button.id = "hex-all";
    button.addEventListener("click", () => {
      rowLimit = Infinity;
      dump();
      button.remove();
    });
    more.append(button, " ");
  }
  if (notShown > 0) more.append(`${notShown} more bytes not shown (the API sends at most ${bytes(data.length)}).`);
  more.hidden = more.childNodes.length === 0;
  hex.dataset.state = "ready";

  const legend = $("fields");
  legend.replaceChildren();
  (answer.fields || []).forEach((f, fi) => {
    const li = el("li", `field ${fieldColour(f, fi)}`);
    li.dataset.field = f.name;
    li.dataset.fi = String(fi);
    li.dataset.start = String(f.start);
    li.dataset.end = String(f.end);
    li.append(el("span", "swatch"));
    const name = el("span", "name", f.name);
    name.title = f.name;
    li.append(name);
    li.append(el("span", "range", `[${f.start}, ${f.end}) ${f.end - f.start} B`));
    const from = Math.max(0, f.start - answer.start);
    const to = Math.min(data.length, f.end - answer.start);
    li.append(el("span", "bytes", to > from ? fieldBytes(data, from, to) : ""));
    // The wire carries a client's payload masked; say what it reads as.
    if (f.name === "payload" && event.frame && event.frame.mask) {
      li.append(el("span", "note", `masked with ${event.frame.mask}; unmasked: ${preview(event.frame) || "(empty)"}`));
    }
    legend.append(li);
  });
}

// Highlighting a field: one generated rule instead of touching every span of it.
const hotStyle = document.createElement("style");
document.head.append(hotStyle);

function highlightField(fi) {
  hotStyle.textContent = fi === null ? "" : `#hex .byte[data-fi="${fi}"], #fields li[data-fi="${fi}"] { outline: 1px solid var(--hot); } #hex [data-fi="${fi}"], #fields li[data-fi="${fi}"] { background-color: var(--hot-bg) !important; color: #000; }`;
  $("hex").dataset.hot = fi === null ? "" : String(fi);
}

// The line under the dump names what the pointer is on: the offset in both bases, since
// the ranges everywhere else are decimal and a protocol reader thinks in hex.
function describeByte(target) {
  const span = target.closest("[data-off]");
  const status = $("hex-status");
  if (!span) {
    status.textContent = "\u00a0";
    return;
  }
  const off = Number(span.dataset.off);
  const value = $("hex").querySelector(`.byte[data-off="${off}"]`);
  const field = span.dataset.field ? ` · ${span.dataset.field}` : "";
  status.textContent = `offset ${off} (0x${off.toString(16)}) · byte ${value ? `0x${value.textContent}` : "?"}${field}`;
}

function fieldIndexAt(target) {
  const node = target.closest("[data-fi]");
  return node ? Number(node.dataset.fi) : null;
}

// ---------------------------------------------------------------------------------------
// The live feed

function feedUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return withToken(`${scheme}//${location.host}/api/live`);
}

function send(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(message));
}

function watchSelected() {
  send({ watch: state.live ? state.selectedId : null });
}

function connectFeed() {
  clearTimeout(state.reconnectTimer);
  if (!state.live) return;
  setFeedStatus("connecting", "connecting…");
  const socket = new WebSocket(feedUrl());
  state.socket = socket;
  socket.onopen = () => {
    setFeedStatus("open", "live");
    watchSelected();
  };
  socket.onmessage = (e) => {
    let message;
    try {
      message = JSON.parse(e.data);
    } catch {
      showError(`feed: a message that is not JSON: ${String(e.data).slice(0, 80)}`);
      return;
    }
    onFeedMessage(message);
  };
  socket.onclose = (e) => {
    if (state.socket !== socket) return; // replaced or switched off on purpose
    state.socket = null;
    if (!state.live) return;
    setFeedStatus("closed", `closed (${e.code}${e.reason ? ` ${e.reason}` : ""}), reconnecting…`);
    state.reconnectTimer = setTimeout(connectFeed, 1000);
  };
}

function disconnectFeed() {
  clearTimeout(state.reconnectTimer);
  const socket = state.socket;
  state.socket = null;
  if (socket) socket.close(1000, "live mode off");
  setFeedStatus("off", "off");
}

function onFeedMessage(message) {
  switch (message.type) {
    case "captures":
      setCaptures(message.captures);
      break;
    case "capture":
      updateCapture(message.capture);
      break;
    case "removed":
      removeCapture(message.id);
      break;
    case "events":
      if (message.id === state.selectedId) applyFeedEvents(message.from, message.events);
      break;
    case "error":
      showError(`feed: ${message.error || JSON.stringify(message)}`);
      break;
    default:
      // A newer server may say more; nothing here depends on it.
      break;
  }
}

function setLive(on) {
  state.live = on;
  if (on) {
    connectFeed();
    // The feed starts with the full list, and a watch answers with all events: what
    // happened while live mode was off comes back without a reload.
  } else {
    disconnectFeed();
  }
}

// ---------------------------------------------------------------------------------------
// The address bar remembers the selection (#c=ID&e=N), so a view can be reloaded and shared.

function updateHash() {
  const params = new URLSearchParams();
  if (state.selectedId !== null) params.set("c", state.selectedId);
  if (state.selectedIndex !== null) params.set("e", String(state.selectedIndex));
  const hash = params.toString();
  history.replaceState(null, "", `${location.pathname}${location.search}${hash ? `#${hash}` : ""}`);
}

function restoreFromHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const id = params.get("c");
  if (!id) return;
  const e = params.get("e");
  selectCapture(id, { eventIndex: e !== null && /^\d+$/.test(e) ? Number(e) : null });
}

// ---------------------------------------------------------------------------------------
// Wiring

function init() {
  $("captures").addEventListener("click", (e) => {
    const li = e.target.closest("li.capture");
    if (li) selectCapture(li.dataset.id);
  });
  let windowQueued = false;
  $("events").addEventListener("scroll", () => {
    const list = $("events");
    state.followTail = list.scrollTop + list.clientHeight >= list.scrollHeight - ROW_PX;
    if (windowQueued) return;
    windowQueued = true;
    requestAnimationFrame(() => {
      windowQueued = false;
      renderWindow();
    });
  });
  window.addEventListener("resize", () => renderWindow());
  $("events").addEventListener("click", (e) => {
    const li = e.target.closest("li.event");
    if (li) selectEvent(Number(li.dataset.index));
  });
  document.addEventListener("keydown", (e) => {
    const page = Math.max(1, Math.floor($("events").clientHeight / ROW_PX) - 1);
    const step = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, End: Infinity, Home: -Infinity }[e.key];
    if (step === undefined || e.altKey || e.ctrlKey || e.metaKey) return;
    const tag = document.activeElement ? document.activeElement.tagName : "";
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    e.preventDefault();
    moveSelection(step);
  });
  for (const id of ["filter-dir", "filter-kind"]) $(id).addEventListener("change", () => renderEvents());
  $("filter-text").addEventListener("input", () => renderEvents());

  for (const pane of [$("hex"), $("fields")]) {
    pane.addEventListener("mouseover", (e) => highlightField(fieldIndexAt(e.target)));
    pane.addEventListener("mouseleave", () => highlightField(null));
  }
  $("hex").addEventListener("mouseover", (e) => describeByte(e.target));
  $("hex").addEventListener("mouseleave", () => describeByte(document.body));
  // Clicking a byte finds its legend entry; clicking an entry finds its first byte.
  $("hex").addEventListener("click", (e) => {
    const fi = fieldIndexAt(e.target);
    if (fi === null) return;
    const entry = $("fields").querySelector(`li[data-fi="${fi}"]`);
    if (entry) entry.scrollIntoView({ block: "nearest" });
  });
  $("fields").addEventListener("click", (e) => {
    const fi = fieldIndexAt(e.target);
    if (fi === null) return;
    const first = $("hex").querySelector(`.byte[data-fi="${fi}"]`);
    if (first) first.scrollIntoView({ block: "nearest" });
  });

  $("live-toggle").addEventListener("change", (e) => setLive(e.target.checked));
  $("refresh").addEventListener("click", () => {
    loadCaptureList();
    if (state.selectedId !== null) selectCapture(state.selectedId, { eventIndex: state.selectedIndex, reload: true });
  });
  $("error-close").addEventListener("click", clearError);

  loadCaptureList();
  setLive($("live-toggle").checked);
  restoreFromHash();
}

init();
