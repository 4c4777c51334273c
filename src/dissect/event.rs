//! The transcript as values: the events, their JSON form (serde), the canonical layout of a
//! transcript document (one event per line) and the one-line text rendering.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::capture::{Direction, EndBy, TruncationReason};

/// The most payload bytes an event shows ([`Preview`]); a longer payload also gets a
/// digest.
pub const PREVIEW_BYTES: usize = 64;

/// The dissection of one capture: every event of both directions.
///
/// Order: by the capture position of the chunk in which each event's last byte arrived
/// (for end events, after every chunk), client to server first on a tie; within one
/// direction, always stream order. Only the interleaving of the two directions depends on
/// how the bytes were chunked: compare [`untimed`](Self::untimed) forms to ignore it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Transcript {
    /// The events, in the order above.
    pub events: Vec<Event>,
}

impl Transcript {
    /// The events without what depends on chunking: every `t` set to 0, and the client's
    /// events before the server's (each direction in stream order). Two chunkings of the same
    /// streams give equal `untimed` forms.
    pub fn untimed(&self) -> Vec<Event> {
        let mut events: Vec<Event> = self
            .events
            .iter()
            .map(|e| Event { t: 0, ..e.clone() })
            .collect();
        // Stable: each direction keeps its stream order.
        events.sort_by_key(|e| e.dir.index());
        events
    }

    /// The canonical JSON document: `{"events":[`, one event per line, `]}`. Valid JSON that
    /// `git diff` shows event by event; this is what gets blessed.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"events\":[\n");
        for (i, event) in self.events.iter().enumerate() {
            if i > 0 {
                out.push_str(",\n");
            }
            // An event is plain data (strings, numbers, lists): serializing cannot fail.
            out.push_str(&serde_json::to_string(event).unwrap_or_default());
        }
        out.push_str("\n]}\n");
        out
    }

    /// The text view: [`render_line`] for each event, one per line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for event in &self.events {
            out.push_str(&render_line(event));
            out.push('\n');
        }
        out
    }
}

/// One thing that happened on the wire.
///
/// JSON: `{"t":412,"dir":"c2s","at":[0,78],"request":{...}}`: the time, the direction, the
/// byte range, then one key naming the kind with its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Microseconds since the connection started: the time of the chunk in which the event's
    /// last byte arrived. Error events take the time of the chunk in which the error was
    /// found; end events the capture's end (or truncation) time.
    pub t: u64,
    /// The stream the event belongs to.
    pub dir: Direction,
    /// `[start, end)`: the bytes of that direction's stream the event covers (a message
    /// covers its frames and any control frame between them; an upgrade or end is empty).
    pub at: [u64; 2],
    /// What happened.
    #[serde(flatten)]
    pub kind: Kind,
}

/// What an event says; in JSON the key that names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An HTTP request head.
    Request(Request),
    /// An HTTP response head (interim 1xx ones included).
    Response(Response),
    /// An HTTP message body, framing included in the range.
    Body(Body),
    /// The stream stops being HTTP after this point.
    Upgrade(Upgrade),
    /// A WebSocket frame, header and payload.
    Frame(Frame),
    /// A complete WebSocket data message.
    Message(Message),
    /// A WebSocket Ping.
    Ping(Control),
    /// A WebSocket Pong.
    Pong(Control),
    /// A WebSocket Close.
    Close(Close),
    /// A protocol error: the stream broke a rule. Dissection of the direction stops here.
    Error(ProtocolError),
    /// The capture ends: the connection ended after the last chunk.
    Eof(End),
    /// The capture ends early: recording stopped (a cap or a write error).
    Truncated(Truncated),
}

/// `request`: an HTTP request head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The method as sent.
    pub method: String,
    /// The request-target as sent.
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// The field lines in wire order, `[name, value]` (values as lossy UTF-8).
    pub headers: Vec<[String; 2]>,
    /// How the body that follows is framed.
    pub body: Framing,
}

/// `response`: an HTTP response head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase (lossy UTF-8).
    pub reason: String,
    /// The field lines in wire order, `[name, value]`.
    pub headers: Vec<[String; 2]>,
    /// How the body that follows is framed, given the request it answers.
    pub body: Framing,
}

/// How a message body is framed: a number for Content-Length, else a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Framing {
    /// Content-Length: this many bytes.
    Length(u64),
    /// Any other framing.
    Named(FramingName),
}

/// The framings without a length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FramingName {
    /// No body.
    None,
    /// Chunked transfer coding.
    Chunked,
    /// A response body that runs until the connection closes.
    UntilClose,
    /// A 101: the stream switches protocols.
    Upgrade,
    /// A 2xx answer to CONNECT: the stream becomes a tunnel.
    Tunnel,
}

impl From<crate::http::BodyKind> for Framing {
    fn from(kind: crate::http::BodyKind) -> Self {
        use crate::http::BodyKind;
        match kind {
            BodyKind::Length(n) => Self::Length(n),
            BodyKind::None => Self::Named(FramingName::None),
            BodyKind::Chunked => Self::Named(FramingName::Chunked),
            BodyKind::UntilClose => Self::Named(FramingName::UntilClose),
            BodyKind::Upgrade => Self::Named(FramingName::Upgrade),
            BodyKind::Tunnel => Self::Named(FramingName::Tunnel),
        }
    }
}

/// A short look at a payload: its first [`PREVIEW_BYTES`] bytes, as text when they are
/// printable UTF-8 (a character cut by the limit is left out), else as hex. In JSON, a
/// `"text"` or a `"hex"` field of the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preview {
    /// Printable UTF-8 (tabs and line ends allowed).
    Text(String),
    /// Anything else, lowercase hex.
    Hex(String),
}

impl Preview {
    /// The preview of a payload of `length` bytes that starts with `first` (only the first
    /// [`PREVIEW_BYTES`] of it are looked at). A character cut at the end of the preview is
    /// left out when the payload goes on; at the payload's end it makes the preview hex.
    pub fn of(first: &[u8], length: u64) -> Self {
        let bytes = &first[..first.len().min(PREVIEW_BYTES)];
        let goes_on = length > bytes.len() as u64;
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(e) if e.error_len().is_none() && goes_on => {
                std::str::from_utf8(&bytes[..e.valid_up_to()]).ok()
            }
            Err(_) => None,
        };
        match text {
            Some(text)
                if !text
                    .chars()
                    .any(|c| c.is_control() && !"\t\r\n".contains(c)) =>
            {
                Self::Text(text.to_owned())
            }
            _ => Self::Hex(hex::encode(bytes)),
        }
    }

    /// How many payload bytes the preview shows.
    pub fn shown(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Hex(hex) => hex.len() / 2,
        }
    }
}

/// `body`: an HTTP message body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// Payload bytes (after removing the chunked framing).
    pub length: u64,
    /// For a chunked body, how many chunks carried data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks: Option<u64>,
    /// The trailer fields of a chunked body, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trailers: Vec<[String; 2]>,
    /// SHA-256 of the payload, lowercase hex, when it is longer than the preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The first bytes of the payload.
    #[serde(flatten)]
    pub preview: Preview,
}

/// `upgrade`: the stream stops being HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upgrade {
    /// What follows: `websocket` (dissected), `tunnel` (CONNECT) or the Upgrade token of a
    /// protocol we do not know (not dissected).
    pub to: String,
}

/// `frame`: a WebSocket frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// FIN.
    pub fin: bool,
    /// `continuation`, `text`, `binary`, `close`, `ping` or `pong`.
    pub opcode: String,
    /// RSV1-3 as the low 3 bits, when not 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rsv: u8,
    /// The masking key, hex, for a masked frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<String>,
    /// Header length in bytes (2 to 14).
    pub header_len: u8,
    /// Payload length in bytes.
    pub length: u64,
    /// The first bytes of the unmasked payload.
    #[serde(flatten)]
    pub preview: Preview,
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

/// `message`: a complete WebSocket data message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `text` or `binary`.
    pub opcode: String,
    /// Payload bytes, summed over the fragments.
    pub length: u64,
    /// How many frames carried it, when more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<u64>,
    /// SHA-256 of the payload, lowercase hex, when it is longer than the preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The first bytes of the payload.
    #[serde(flatten)]
    pub preview: Preview,
}

/// `ping` and `pong`: a control frame's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    /// Payload bytes (at most 125).
    pub length: u64,
    /// The first bytes of the payload.
    #[serde(flatten)]
    pub preview: Preview,
}

/// `close`: a WebSocket Close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Close {
    /// The status code; absent for an empty Close payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// The reason (possibly empty).
    pub reason: String,
}

/// `error`: a rule the stream broke, as our parsers judge it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolError {
    /// Stream offset of the offending byte (the stream's length when it ended too early).
    pub offset: u64,
    /// The rule, `RFC NNNN §x.y`.
    pub rule: String,
    /// What was wrong, lowercase.
    pub message: String,
    /// HTTP: the status a server answers with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// WebSocket: the close code that fails the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_code: Option<u16>,
}

/// Where a stream stood when its bytes ran out, and what was left undissected. Shared by
/// [`End`] and [`Truncated`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Leftover {
    /// The stream ended inside a unit: `head`, `body`, `frame` or `message` (between the
    /// fragments of a message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inside: Option<String>,
    /// Why dissection stopped before the end: `error`, `close` (bytes after a Close),
    /// `tunnel`, `upgrade` (a protocol we do not dissect), `event-limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Bytes not dissected after that stop.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub skipped: u64,
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

/// `eof`: the end of a direction's stream in a complete capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct End {
    /// Who or what ended the connection (the capture's `end.by`).
    pub by: EndBy,
    /// The capture's `end.detail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Where the stream stood.
    #[serde(flatten)]
    pub left: Leftover,
}

/// `truncated`: the end of a direction's stream in a capture that stopped recording early;
/// a unit cut short here is not the peer's fault and is not an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncated {
    /// Why recording stopped.
    pub reason: TruncationReason,
    /// Who or what ended the connection afterwards (the capture's `end.by`).
    pub by: EndBy,
    /// Where the stream stood.
    #[serde(flatten)]
    pub left: Leftover,
}

/// One event as one line of text, tshark-like: time in seconds, direction, byte range,
/// then a summary.
///
/// ```text
///   0.000412 c2s [0..78) GET /index.html HTTP/1.1 (3 headers)
/// ```
pub fn render_line(event: &Event) -> String {
    let mut line = format!(
        "{:>3}.{:06} {} [{}..{}) ",
        event.t / 1_000_000,
        event.t % 1_000_000,
        event.dir,
        event.at[0],
        event.at[1]
    );
    // Writing to a String cannot fail.
    let _ = summary(&mut line, &event.kind);
    line
}

/// The part of a line after the range.
fn summary(out: &mut String, kind: &Kind) -> std::fmt::Result {
    match kind {
        Kind::Request(r) => write!(
            out,
            "{} {} {} ({}{})",
            r.method,
            r.target,
            r.version,
            headers(r.headers.len()),
            framing(r.body)
        ),
        Kind::Response(r) => write!(
            out,
            "{} {} {} ({}{})",
            r.version,
            r.status,
            r.reason,
            headers(r.headers.len()),
            framing(r.body)
        ),
        Kind::Body(b) => {
            let chunks = b.chunks.map_or(String::new(), |n| format!(", {n} chunks"));
            write!(
                out,
                "body {} bytes{chunks} {}",
                b.length,
                preview(&b.preview, b.length)
            )
        }
        Kind::Upgrade(u) => write!(out, "upgrade to {}", u.to),
        Kind::Frame(f) => {
            write!(out, "frame {}{}", f.opcode, if f.fin { " fin" } else { "" })?;
            if f.rsv != 0 {
                write!(out, " rsv={}", f.rsv)?;
            }
            if let Some(mask) = &f.mask {
                write!(out, " mask={mask}")?;
            }
            write!(out, " len={} {}", f.length, preview(&f.preview, f.length))
        }
        Kind::Message(m) => {
            let frames = m
                .frames
                .map_or(String::new(), |n| format!(" in {n} frames"));
            write!(
                out,
                "message {} {} bytes{frames} {}",
                m.opcode,
                m.length,
                preview(&m.preview, m.length)
            )
        }
        Kind::Ping(c) => write!(out, "ping {}", preview(&c.preview, c.length)),
        Kind::Pong(c) => write!(out, "pong {}", preview(&c.preview, c.length)),
        Kind::Close(c) => match c.code {
            Some(code) => write!(out, "close {code} {:?}", c.reason),
            None => write!(out, "close (no code)"),
        },
        Kind::Error(e) => {
            write!(out, "error at {}: {} ({})", e.offset, e.message, e.rule)?;
            if let Some(status) = e.status {
                write!(out, " -> {status}")?;
            }
            if let Some(code) = e.close_code {
                write!(out, " -> close {code}")?;
            }
            Ok(())
        }
        Kind::Eof(end) => {
            write!(out, "eof by {}", by(end.by))?;
            leftover(out, &end.left)
        }
        Kind::Truncated(t) => {
            write!(out, "truncated ({}), then end by {}", t.reason, by(t.by))?;
            leftover(out, &t.left)
        }
    }
}

fn headers(n: usize) -> String {
    if n == 1 {
        "1 header".to_owned()
    } else {
        format!("{n} headers")
    }
}

fn framing(f: Framing) -> String {
    match f {
        Framing::Length(n) => format!(", body {n}"),
        Framing::Named(FramingName::None) => String::new(),
        Framing::Named(FramingName::Chunked) => ", chunked".to_owned(),
        Framing::Named(FramingName::UntilClose) => ", until close".to_owned(),
        Framing::Named(FramingName::Upgrade) => ", upgrade".to_owned(),
        Framing::Named(FramingName::Tunnel) => ", tunnel".to_owned(),
    }
}

fn preview(p: &Preview, length: u64) -> String {
    let more = if (p.shown() as u64) < length {
        "…"
    } else {
        ""
    };
    match p {
        Preview::Text(text) => format!("{text:?}{more}"),
        Preview::Hex(hex) => format!("hex:{hex}{more}"),
    }
}

fn by(by: EndBy) -> &'static str {
    match by {
        EndBy::Client => "client",
        EndBy::Server => "server",
        EndBy::Reset => "reset",
        EndBy::Timeout => "timeout",
        EndBy::Shutdown => "shutdown",
        EndBy::Error => "error",
        EndBy::Crash => "crash",
    }
}

fn leftover(out: &mut String, left: &Leftover) -> std::fmt::Result {
    if let Some(inside) = &left.inside {
        write!(out, ", inside a {inside}")?;
    }
    if let Some(stopped) = &left.stopped {
        write!(out, ", stopped ({stopped}), {} bytes skipped", left.skipped)?;
    }
    Ok(())
}
