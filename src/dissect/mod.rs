//! The dissector: a [`Capture`] in, a [`Transcript`] of protocol events out, both directions
//! read by the same sans-IO parsers that serve live connections ([`http`](crate::http) and
//! [`ws`](crate::ws)).
//!
//! What it is for: explaining what happened on a recorded connection (every HTTP head and
//! body, every WebSocket frame and message, and the first rule each side broke, with byte
//! offsets), and giving replay tests a stable, readable value to diff against a blessed
//! one. What it is not: it opens no file and no socket and looks at no clock (bytes and
//! the capture's times in, events out); it keeps no payload (a digest and a preview stand
//! for it); and it does not judge the server's decisions (that a 404 was right), only the
//! wire.
//!
//! # Events
//!
//! Every event has a time `t` (microseconds since the connection started: the time of the
//! chunk in which its last byte arrived), a direction `dir` and a byte range `at`
//! (`[start, end)` in that direction's stream), then one key naming its kind:
//!
//! | kind | fields | when |
//! |---|---|---|
//! | `request` | `method`, `target`, `version`, `headers` (`[name, value]` pairs), `body` (framing: a length, `none`, `chunked`) | a request head |
//! | `response` | `version`, `status`, `reason`, `headers`, `body` (a length, `none`, `chunked`, `until-close`, `upgrade`, `tunnel`) | a response head, 1xx included |
//! | `body` | `length`, `chunks`?, `trailers`?, `sha256`?, `text` or `hex` | a body (Content-Length, chunked or until close), framing in the range |
//! | `upgrade` | `to` (`websocket`, `tunnel` or the Upgrade token) | the stream stops being HTTP |
//! | `frame` | `fin`, `opcode`, `rsv`?, `mask`? (hex), `header_len`, `length`, `text` or `hex` (unmasked) | a WebSocket frame |
//! | `message` | `opcode` (`text`, `binary`), `length`, `frames`? (if more than 1), `sha256`?, `text` or `hex` | a complete data message, range from its first frame to its last |
//! | `ping`, `pong` | `length`, `text` or `hex` | a control frame (after its `frame`) |
//! | `close` | `code`?, `reason` | a valid Close (after its `frame`); the direction is not read further |
//! | `error` | `offset` (of the offending byte), `rule`, `message`, `status` (HTTP) or `close_code` (WebSocket) | the first rule broken; range from the start of the failed unit; the direction is not read further |
//! | `eof` | `by`, `detail`?, `inside`?, `stopped`?, `skipped`? | the direction's end in a complete capture |
//! | `truncated` | `reason`, `by`, `inside`?, `stopped`?, `skipped`? | the direction's end in a capture that stopped recording early |
//!
//! A payload shows as `"text"` (its first [`PREVIEW_BYTES`] bytes, when they are printable
//! UTF-8) or `"hex"`; `sha256` is there only when the payload is longer than the preview.
//! `inside` names the unit a stream ended in (`head`, `body`, `frame`, `message`);
//! `stopped` says why reading stopped early (`error`, `close`, `tunnel`, `upgrade`,
//! `event-limit`) and `skipped` how many bytes were left unread. A body cut by the end of a
//! complete capture is an `error` (RFC 9112 §8); cut by truncation, it is only `inside`.
//!
//! [`Transcript::to_json`] writes one event per line; this is the blessed form:
//!
//! ```json
//! {"events":[
//! {"t":0,"dir":"c2s","at":[0,27],"request":{"method":"GET","target":"/","version":"HTTP/1.1","headers":[["Host","a"]],"body":"none"}},
//! {"t":100,"dir":"s2c","at":[0,38],"response":{"version":"HTTP/1.1","status":200,"reason":"OK","headers":[["Content-Length","2"]],"body":2}},
//! {"t":100,"dir":"s2c","at":[38,40],"body":{"length":2,"text":"hi"}},
//! {"t":200,"dir":"c2s","at":[27,27],"eof":{"by":"client"}},
//! {"t":200,"dir":"s2c","at":[40,40],"eof":{"by":"client"}}
//! ]}
//! ```
//!
//! [`render_line`] gives the same event as one line of text, tshark-like:
//! `  0.000100 s2c [0..38) HTTP/1.1 200 OK (1 header, body 2)`.
//!
//! [`diff_transcripts`] compares two transcripts event by event (what the replay tests,
//! `wiretap replay --check` and `wiretap diff` print); the files around it (the corpus,
//! blessing) are [`replay`](crate::replay)'s.
//!
//! # Two directions, one order
//!
//! Each direction is a stream of its own, fed chunk by chunk through its own state machine
//! (`HTTP heads and bodies → upgrade → frames`), with two facts passed between them:
//!
//! - **Methods, client to server.** Response framing depends on the request it answers
//!   (HEAD and 1xx/204/304 have no body, a 2xx to CONNECT is a tunnel), and responses
//!   answer requests in order (pipelining). The server's stream waits, before each head, for
//!   the method of the request it answers; if the client's stream has no such request (it
//!   failed, ended, or the server spoke first) the answer is read as answering GET.
//! - **Switches, server to client.** After a request that asks to switch (Upgrade, or
//!   CONNECT) the client's stream waits for the answer: a 101 (or a 2xx to CONNECT) switches
//!   it at the end of that request, any other final answer (or none) leaves it HTTP. A
//!   client's Upgrade answered with 426 goes on as HTTP, as the server read it.
//!
//! The driver runs the client's stream until it waits or ends, then the server's, and again
//! until neither moves. A wait always resolves (the server's stream only waits for a method
//! of a request at or before the one the client's stream waits on), so the order in which
//! chunks of the two directions were interleaved does not matter at all: each direction's
//! events depend only on its own bytes and the facts above. That is chunking invariance by
//! construction; only `t` and the interleaving of the two directions in the final list
//! depend on chunks, and [`Transcript::untimed`] drops both.
//!
//! Events are merged by the capture position of the chunk each one completed in (ties: the
//! client first); end events come last.
//!
//! # Limits
//!
//! Dissection is linear in the capture and bounded in memory whatever it holds: a head is
//! buffered up to the head limit (16 KiB by default, as the server), a payload is never
//! kept (it flows through a SHA-256, a 64-byte preview and, for text, the incremental UTF-8
//! validator; masked bytes are unmasked 8 KiB at a time), and a control payload is at most
//! 125 bytes. Body and WebSocket size limits are lifted by default ([`Limits::default`]),
//! since a replay reports what was sent rather than refusing it; [`Limits::max_events`]
//! caps the events of one direction (a capture of 2-byte frames would otherwise make
//! events faster than bytes).
//!
//! ```
//! use wiretap::capture::{Capture, Chunk, Direction};
//! use wiretap::dissect::{dissect, Kind};
//!
//! let mut capture = Capture::new("x", "2026-01-01T00:00:00.000000Z", "127.0.0.1:1", "127.0.0.1:2");
//! capture.chunks.push(Chunk {
//!     t: 0,
//!     dir: Direction::ClientToServer,
//!     bytes: b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
//! });
//! capture.chunks.push(Chunk {
//!     t: 412,
//!     dir: Direction::ServerToClient,
//!     bytes: b"HTTP/1.1 204 No Content\r\n\r\n".to_vec(),
//! });
//! let transcript = dissect(&capture);
//! assert!(matches!(&transcript.events[0].kind, Kind::Request(r) if r.target == "/"));
//! assert!(matches!(&transcript.events[1].kind, Kind::Response(r) if r.status == 204));
//! assert_eq!(transcript.events.len(), 4); // and an eof for each direction
//! ```

mod diff;
mod event;
mod fields;
mod stream;

#[cfg(test)]
mod tests;

pub use diff::diff_transcripts;
pub use event::{
    render_line, Body, Close, Control, End, Event, Frame, Framing, FramingName, Kind, Leftover,
    Message, Preview, ProtocolError, Request, Response, Transcript, Truncated, Upgrade,
    PREVIEW_BYTES,
};
pub use fields::{fields, hex_dump, Field, ROW_BYTES};

use crate::capture::{Capture, Chunk, Direction};
use stream::{Shared, Stream};

/// How much the dissector accepts and makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The HTTP parsers' limits. Default: the server's head limits (a head is buffered
    /// whole, so it stays bounded) and no body limit (a body is never kept).
    pub http: crate::http::Limits,
    /// The WebSocket limits. Default: no frame or message limit (payloads are never kept;
    /// the server's 16 MiB frames and 64 MiB messages replay as sent).
    pub ws: crate::ws::Limits,
    /// Most events for one direction; past it the direction stops with `event-limit`.
    /// Default 1 000 000 (about 200 MB of events at worst, for a capture of at least 2 MB).
    pub max_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            http: crate::http::Limits {
                max_body: u64::MAX,
                ..crate::http::Limits::default()
            },
            ws: crate::ws::Limits {
                max_frame: usize::MAX,
                max_message: usize::MAX,
                ..crate::ws::Limits::DEFAULT
            },
            max_events: 1_000_000,
        }
    }
}

/// Dissects `capture` with the default [`Limits`].
pub fn dissect(capture: &Capture) -> Transcript {
    dissect_with(capture, &Limits::default())
}

/// Dissects `capture` under `limits`. Never fails: what breaks a rule is an `error` event.
pub fn dissect_with(capture: &Capture, limits: &Limits) -> Transcript {
    let chunks = capture.chunks.as_slice();
    let mut shared = Shared::default();
    let mut c2s = Cursor::new(Direction::ClientToServer, limits);
    let mut s2c = Cursor::new(Direction::ServerToClient, limits);
    // Each round with progress takes a byte or resolves a wait (one per request at most):
    // the bound is never reached; it only makes "never loops" obvious.
    let total: usize = chunks.iter().map(|c| c.bytes.len() + 1).sum();
    for _ in 0..=total.saturating_mul(2).saturating_add(4) {
        let moved_c2s = c2s.run(chunks, &mut shared);
        shared.c2s_done = c2s.at_end(chunks) || c2s.stream.left_http();
        let moved_s2c = s2c.run(chunks, &mut shared);
        shared.s2c_done = s2c.at_end(chunks) || s2c.stream.left_http();
        if !moved_c2s && !moved_s2c {
            break;
        }
    }
    c2s.stream.finish(capture, c2s.total(chunks));
    s2c.stream.finish(capture, s2c.total(chunks));
    Transcript {
        events: merge(c2s.stream.events, s2c.stream.events),
    }
}

/// A direction's stream and where it is in the capture.
struct Cursor {
    dir: Direction,
    stream: Stream,
    /// The next chunk to look at (any direction), and the bytes of it already taken.
    chunk: usize,
    offset: usize,
}

impl Cursor {
    fn new(dir: Direction, limits: &Limits) -> Self {
        Self {
            dir,
            stream: Stream::new(dir, limits),
            chunk: 0,
            offset: 0,
        }
    }

    /// Moves to the next chunk of this direction with bytes left; false at the end.
    fn seek(&mut self, chunks: &[Chunk]) -> bool {
        while let Some(chunk) = chunks.get(self.chunk) {
            if chunk.dir == self.dir && self.offset < chunk.bytes.len() {
                return true;
            }
            self.chunk += 1;
            self.offset = 0;
        }
        false
    }

    fn at_end(&mut self, chunks: &[Chunk]) -> bool {
        !self.seek(chunks)
    }

    fn total(&self, chunks: &[Chunk]) -> u64 {
        chunks
            .iter()
            .filter(|c| c.dir == self.dir)
            .map(|c| c.bytes.len() as u64)
            .sum()
    }

    /// Feeds chunks until the stream waits or they run out; true if anything moved.
    fn run(&mut self, chunks: &[Chunk], shared: &mut Shared) -> bool {
        let mut moved = false;
        while self.seek(chunks) {
            let chunk = &chunks[self.chunk];
            self.stream.begin_chunk(chunk.t, self.chunk);
            let rest = &chunk.bytes[self.offset..];
            let (taken, changed) = self.stream.feed(rest, shared);
            moved |= changed || taken > 0;
            self.offset += taken;
            if taken < rest.len() {
                return moved;
            }
        }
        // No bytes left: a wait may still resolve.
        let (_, changed) = self.stream.feed(&[], shared);
        moved | changed
    }
}

/// Both directions' events in one list: by merge key (chunk position, then whether the
/// event goes late), the client first on a tie, each direction's own order kept.
fn merge(c2s: Vec<((usize, bool), Event)>, s2c: Vec<((usize, bool), Event)>) -> Vec<Event> {
    let mut out = Vec::with_capacity(c2s.len() + s2c.len());
    let mut a = c2s.into_iter().peekable();
    let mut b = s2c.into_iter().peekable();
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some((sa, _)), Some((sb, _))) => sa <= sb,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_a { a.next() } else { b.next() };
        out.extend(next.map(|(_, event)| event));
    }
    out
}
