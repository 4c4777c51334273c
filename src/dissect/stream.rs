//! One direction of a connection as a state machine: HTTP heads and bodies, then WebSocket
//! frames after an upgrade, fed chunk by chunk. Emits events; keeps no payload.

use sha2::{Digest, Sha256};

use super::event::{
    Body, Close, Control, End, Event, Frame, Kind, Leftover, Message, Preview, ProtocolError,
    Request, Response, Truncated, Upgrade, PREVIEW_BYTES,
};
use super::Limits;
use crate::capture::{Capture, Direction};
use crate::http::{self, BodyDecoder, BodyKind, Method, RequestParser, ResponseParser};
use crate::ws::{self, ClosePayload, FrameDecoder, FrameEvent, FrameHeader, Opcode, Role};

/// How much of a chunk one call to a head parser sees: the head buffer stays within the head
/// limit plus this, whatever the chunk size.
const HEAD_STEP: usize = 8 * 1024;

/// How much payload is unmasked at a time (the scratch buffer's size).
const UNMASK_STEP: usize = 8 * 1024;

/// Most state changes without a byte in a row before `feed` gives up: a guard against a
/// bug turning into a hang, never reached by the state machine as written.
const MAX_IDLE_STEPS: usize = 8;

/// What the two directions tell each other. The client's stream says which method each
/// response answers; the server's says whether a request that asked to switch protocols
/// was answered by a switch.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// The method of every request head, in order.
    pub(super) methods: Vec<Method>,
    /// The client's stream will add no more methods (it ended, failed or left HTTP).
    pub(super) c2s_done: bool,
    /// Final (non-1xx, or 101) responses seen: the index of the request answered next.
    pub(super) finals: usize,
    /// The response to this request switched the connection, in the chunk at this time
    /// and capture index.
    pub(super) switch: Option<(usize, Switch, u64, usize)>,
    /// The server's stream will answer no more requests.
    pub(super) s2c_done: bool,
}

/// What a connection switched to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Switch {
    WebSocket,
    Tunnel,
    /// An Upgrade token we do not dissect.
    Other(String),
}

impl Switch {
    fn name(&self) -> String {
        match self {
            Self::WebSocket => "websocket".to_owned(),
            Self::Tunnel => "tunnel".to_owned(),
            Self::Other(token) => token.clone(),
        }
    }
}

impl Shared {
    /// The method of the request that response `index` answers: known, or GET when the
    /// client's stream has no such request (it failed, ended, or the server spoke first),
    /// or `None` while it may still come.
    fn method_for(&self, index: usize) -> Option<Method> {
        match self.methods.get(index) {
            Some(&method) => Some(method),
            None if self.c2s_done => Some(Method::Get),
            None => None,
        }
    }
}

/// Length, digest and first bytes of a payload that flows through in pieces.
#[derive(Debug)]
struct Summary {
    length: u64,
    first: Vec<u8>,
    sha: Option<Sha256>,
}

impl Summary {
    fn new(digest: bool) -> Self {
        Self {
            length: 0,
            first: Vec::new(),
            sha: digest.then(Sha256::new),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        self.length += bytes.len() as u64;
        let room = PREVIEW_BYTES.saturating_sub(self.first.len());
        self.first
            .extend_from_slice(bytes.get(..room).unwrap_or(bytes));
        if let Some(sha) = &mut self.sha {
            sha.update(bytes);
        }
    }

    fn preview(&self) -> Preview {
        Preview::of(&self.first, self.length)
    }

    /// The digest, only when the preview does not already show every byte.
    fn digest(&self) -> Option<String> {
        let sha = self.sha.as_ref()?;
        (self.length > PREVIEW_BYTES as u64).then(|| hex::encode(sha.clone().finalize()))
    }
}

/// What a direction is doing.
#[derive(Debug)]
enum Mode {
    /// Reading a message head that starts at `start`; `buf` holds its bytes so far.
    Head { buf: Vec<u8>, start: u64 },
    /// Reading a body.
    Body(Box<InBody>),
    /// Client only: request `request` asked to switch protocols (Upgrade or CONNECT) and
    /// ended at the current position; whether the next byte is HTTP depends on its answer.
    Wait { request: usize },
    /// WebSocket frames.
    Ws(Box<WsState>),
    /// Nothing more is dissected: the bytes are counted.
    Stopped,
}

/// A body that starts at `start`; `then` says what follows it.
#[derive(Debug)]
struct InBody {
    decoder: BodyDecoder,
    start: u64,
    summary: Summary,
    chunked: bool,
    then: After,
}

/// What follows a body.
#[derive(Debug, Clone, Copy)]
enum After {
    Head,
    Wait(usize),
}

#[derive(Debug)]
struct WsState {
    decoder: FrameDecoder,
    /// Stream offset of the decoder's byte 0.
    base: u64,
    /// Where the frame whose header is arriving starts.
    frame_start: Option<u64>,
    frame: Option<InFrame>,
    message: Option<InMessage>,
}

#[derive(Debug)]
struct InFrame {
    header: FrameHeader,
    start: u64,
    header_len: u64,
    /// Message bytes before this frame: maps UTF-8 offsets to stream offsets.
    message_before: u64,
    preview: Summary,
    /// A control frame's payload, unmasked (at most 125 bytes).
    control: Vec<u8>,
}

#[derive(Debug)]
struct InMessage {
    text: bool,
    start: u64,
    frames: u64,
    summary: Summary,
    utf8: ws::Utf8Validator,
}

/// One direction of the connection being dissected.
#[derive(Debug)]
pub(super) struct Stream {
    dir: Direction,
    limits: Limits,
    mode: Mode,
    requests: RequestParser,
    responses: ResponseParser,
    /// Events so far, each with its merge key: the capture index of its chunk, and whether
    /// it goes after the other direction's events of that chunk.
    pub(super) events: Vec<((usize, bool), Event)>,
    /// Stream offset of the next byte.
    pos: u64,
    /// Time and capture index of the chunk being fed.
    t: u64,
    seq: usize,
    /// Why dissection stopped, and from which offset bytes were skipped.
    stop: Option<(&'static str, u64)>,
    scratch: Vec<u8>,
}

/// Capture index used for end events: after every chunk.
pub(super) const END_SEQ: usize = usize::MAX;

impl Stream {
    pub(super) fn new(dir: Direction, limits: &Limits) -> Self {
        Self {
            dir,
            limits: limits.clone(),
            mode: Mode::Head {
                buf: Vec::new(),
                start: 0,
            },
            requests: RequestParser::with_limits(limits.http.clone()),
            responses: ResponseParser::with_limits(limits.http.clone()),
            events: Vec::new(),
            pos: 0,
            t: 0,
            seq: 0,
            stop: None,
            scratch: Vec::new(),
        }
    }

    /// The bytes that follow are from the chunk at capture index `seq`, recorded at `t`.
    pub(super) fn begin_chunk(&mut self, t: u64, seq: usize) {
        self.t = t;
        self.seq = seq;
    }

    /// True once this stream can no longer speak HTTP (it switched or stopped).
    pub(super) fn left_http(&self) -> bool {
        matches!(self.mode, Mode::Ws(_) | Mode::Stopped)
    }

    /// Feeds the next bytes of the stream (possibly none, to retry a wait). Returns how many
    /// were taken, fewer than given when the stream waits for the other direction, and
    /// whether anything changed.
    pub(super) fn feed(&mut self, piece: &[u8], shared: &mut Shared) -> (usize, bool) {
        let mut i = 0;
        let mut moved = false;
        let mut idle = 0;
        while idle < MAX_IDLE_STEPS {
            let rest = piece.get(i..).unwrap_or_default();
            match self.step(rest, shared) {
                None => break,
                Some(0) => idle += 1,
                Some(n) => {
                    idle = 0;
                    i += n.min(rest.len());
                }
            }
            moved = true;
        }
        (i, moved)
    }

    fn emit(&mut self, at: [u64; 2], kind: Kind) {
        self.emit_at(self.t, (self.seq, false), at, kind);
    }

    fn emit_at(&mut self, t: u64, key: (usize, bool), at: [u64; 2], kind: Kind) {
        let dir = self.dir;
        self.events.push((key, Event { t, dir, at, kind }));
    }

    fn stop_at(&mut self, why: &'static str, from: u64) {
        self.stop = Some((why, from));
        self.mode = Mode::Stopped;
    }

    /// One move: `Some(n)` took `n` bytes of `rest` (0 for a change of state without a
    /// byte), `None` can do nothing more with `rest`.
    fn step(&mut self, rest: &[u8], shared: &mut Shared) -> Option<usize> {
        if self.events.len() >= self.limits.max_events && !matches!(self.mode, Mode::Stopped) {
            self.stop_at("event-limit", self.pos);
            return Some(0);
        }
        match self.mode {
            Mode::Stopped => {
                // Counted at the end from the stop offset.
                self.pos += rest.len() as u64;
                (!rest.is_empty()).then_some(rest.len())
            }
            Mode::Wait { request } => self.resolve_wait(request, shared),
            Mode::Head { .. } if rest.is_empty() => None,
            Mode::Head { .. } => match self.dir {
                Direction::ClientToServer => self.request_head(rest, shared),
                Direction::ServerToClient => self.response_head(rest, shared),
            },
            Mode::Body(_) if rest.is_empty() => None,
            Mode::Body(_) => Some(self.body(rest)),
            Mode::Ws(_) if rest.is_empty() => None,
            Mode::Ws(_) => Some(self.frames(rest)),
        }
    }

    // HTTP.

    /// Appends up to [`HEAD_STEP`] bytes of `rest` to the head buffer. Returns the buffer's
    /// length before, the number appended and the head's start.
    fn grow_head(&mut self, rest: &[u8]) -> (usize, usize, u64) {
        let Mode::Head { buf, start } = &mut self.mode else {
            return (0, 0, self.pos);
        };
        let before = buf.len();
        let take = rest.len().min(HEAD_STEP);
        buf.extend_from_slice(&rest[..take]);
        self.pos += take as u64;
        (before, take, *start)
    }

    fn request_head(&mut self, rest: &[u8], shared: &mut Shared) -> Option<usize> {
        let (before, take, start) = self.grow_head(rest);
        let Mode::Head { buf, .. } = &self.mode else {
            return None;
        };
        match self.requests.parse(buf) {
            Ok(http::Status::Partial) => Some(take),
            Ok(http::Status::Complete {
                value: head,
                consumed,
            }) => {
                // The head ends in the bytes just appended (it was partial before them).
                let used = consumed.saturating_sub(before).min(take);
                self.pos = start + consumed as u64;
                let index = shared.methods.len();
                shared.methods.push(head.method_kind());
                let request = Request {
                    method: head.method().to_owned(),
                    target: head.target().as_str().to_owned(),
                    version: head.version().as_str().to_owned(),
                    headers: fields(head.fields()),
                    body: head.body().into(),
                };
                self.emit([start, self.pos], Kind::Request(request));
                let switches = head.is_upgrade() || head.method_kind() == Method::Connect;
                let then = if switches {
                    After::Wait(index)
                } else {
                    After::Head
                };
                self.start_body(head.body(), then);
                Some(used)
            }
            Err(e) => {
                self.http_error(start, e, None);
                Some(take)
            }
        }
    }

    fn response_head(&mut self, rest: &[u8], shared: &mut Shared) -> Option<usize> {
        let index = shared.finals;
        // Without the method there is no framing: wait for the client's stream.
        let method = shared.method_for(index)?;
        let (before, take, start) = self.grow_head(rest);
        let Mode::Head { buf, .. } = &self.mode else {
            return None;
        };
        match self.responses.parse(buf, method) {
            Ok(http::Status::Partial) => Some(take),
            Ok(http::Status::Complete {
                value: head,
                consumed,
            }) => {
                let used = consumed.saturating_sub(before).min(take);
                self.pos = start + consumed as u64;
                let response = Response {
                    version: head.version().as_str().to_owned(),
                    status: head.status(),
                    reason: String::from_utf8_lossy(head.reason()).into_owned(),
                    headers: fields(head.fields()),
                    body: head.body().into(),
                };
                self.emit([start, self.pos], Kind::Response(response));
                if head.is_interim() {
                    self.mode = Mode::Head {
                        buf: Vec::new(),
                        start: self.pos,
                    };
                    return Some(used);
                }
                shared.finals += 1;
                let switch = match head.body() {
                    BodyKind::Upgrade if head.has_token("upgrade", "websocket") => {
                        Some(Switch::WebSocket)
                    }
                    BodyKind::Upgrade => {
                        let token = head.field("upgrade").unwrap_or(b"unknown");
                        Some(Switch::Other(String::from_utf8_lossy(token).into_owned()))
                    }
                    BodyKind::Tunnel => Some(Switch::Tunnel),
                    _ => None,
                };
                match switch {
                    Some(switch) => {
                        shared.switch = Some((index, switch.clone(), self.t, self.seq));
                        self.switch_to(&switch, self.t, self.seq);
                    }
                    None => self.start_body(head.body(), After::Head),
                }
                Some(used)
            }
            Err(e) => {
                self.http_error(start, e, None);
                Some(take)
            }
        }
    }

    /// After a head: its body, or what follows directly.
    fn start_body(&mut self, kind: BodyKind, then: After) {
        let decoder = BodyDecoder::with_limits(kind, &self.limits.http);
        if decoder.is_done() {
            self.after(then);
        } else {
            self.mode = Mode::Body(Box::new(InBody {
                decoder,
                start: self.pos,
                summary: Summary::new(true),
                chunked: kind == BodyKind::Chunked,
                then,
            }));
        }
    }

    fn after(&mut self, then: After) {
        self.mode = match then {
            After::Head => Mode::Head {
                buf: Vec::new(),
                start: self.pos,
            },
            After::Wait(request) => Mode::Wait { request },
        };
    }

    fn body(&mut self, rest: &[u8]) -> usize {
        let Mode::Body(body) = &mut self.mode else {
            return 0;
        };
        let InBody {
            decoder,
            start,
            summary,
            ..
        } = &mut **body;
        let start = *start;
        match decoder.decode(rest) {
            Ok(progress) => {
                if let Some(data) = rest.get(progress.data.clone()) {
                    summary.update(data);
                }
                let used = progress.consumed.min(rest.len());
                self.pos += used as u64;
                if progress.done {
                    self.end_body();
                } else if used == 0 {
                    // Not reachable with a decoder that keeps its contract; never spin.
                    self.stop_at("error", self.pos);
                }
                used
            }
            Err(e) => {
                self.http_error(start, e, Some(rest.len()));
                0
            }
        }
    }

    /// The body is complete: its event, then what follows it.
    fn end_body(&mut self) {
        let mode = std::mem::replace(&mut self.mode, Mode::Stopped);
        let Mode::Body(body) = mode else {
            return;
        };
        let InBody {
            decoder,
            start,
            summary,
            chunked,
            then,
        } = *body;
        let body = Body {
            length: summary.length,
            chunks: chunked.then(|| decoder.chunks()),
            trailers: decoder
                .trailers()
                .map(|t| fields(t.fields()))
                .unwrap_or_default(),
            sha256: summary.digest(),
            preview: summary.preview(),
        };
        self.emit([start, self.pos], Kind::Body(body));
        self.after(then);
    }

    /// An HTTP error at `start + e.offset`: the event, then stop. `pending` is the number
    /// of bytes offered but not taken (they count as skipped).
    fn http_error(&mut self, start: u64, e: http::Error, pending: Option<usize>) {
        let offset = start.saturating_add(e.offset as u64);
        let seen = self.pos + pending.unwrap_or(0) as u64;
        // The range takes the offending byte; a size limit's offset is the limit itself, a
        // byte that may not have arrived when the parser gave up (it does so once the
        // limit is reached), so its range ends there, whatever the chunking.
        let at_limit = matches!(
            e.kind,
            http::ErrorKind::HeadTooLarge | http::ErrorKind::TrailersTooLarge
        );
        let end = if at_limit {
            offset
        } else {
            offset.saturating_add(1)
        };
        let end = end.min(seen).max(start);
        let error = ProtocolError {
            offset,
            rule: e.rule().to_owned(),
            message: e.kind.to_string(),
            status: Some(e.status()),
            close_code: None,
        };
        self.emit([start, end], Kind::Error(error));
        self.stop_at("error", end);
    }

    /// Client only: decides what follows a request that asked to switch, once the server's
    /// stream has answered it (or can no longer).
    /// The client's `upgrade` event takes the time of the answer that switched: the bytes
    /// before it were ambiguous until then.
    fn resolve_wait(&mut self, request: usize, shared: &Shared) -> Option<usize> {
        match &shared.switch {
            Some((index, switch, t, seq)) if *index == request => {
                let (t, seq) = (*t, *seq);
                let switch = switch.clone();
                self.switch_to(&switch, t, seq);
            }
            _ if shared.finals > request || shared.s2c_done => {
                // Answered without a switch, or never answered: still HTTP.
                self.mode = Mode::Head {
                    buf: Vec::new(),
                    start: self.pos,
                };
            }
            _ => return None,
        }
        Some(0)
    }

    /// The stream switches protocols at the current position: an `upgrade` event, then
    /// frames or nothing.
    fn switch_to(&mut self, switch: &Switch, t: u64, seq: usize) {
        let at = self.pos;
        // The client's switch follows the server's answer in the merged order.
        let late = self.dir == Direction::ClientToServer;
        let kind = Kind::Upgrade(Upgrade { to: switch.name() });
        self.emit_at(t, (seq, late), [at, at], kind);
        match switch {
            Switch::WebSocket => {
                // A server reads masked client frames; a client reads unmasked server ones.
                let role = match self.dir {
                    Direction::ClientToServer => Role::Server,
                    Direction::ServerToClient => Role::Client,
                };
                self.mode = Mode::Ws(Box::new(WsState {
                    decoder: FrameDecoder::new(role, &self.limits.ws),
                    base: at,
                    frame_start: None,
                    frame: None,
                    message: None,
                }));
            }
            Switch::Tunnel => self.stop_at("tunnel", at),
            Switch::Other(_) => self.stop_at("upgrade", at),
        }
    }

    // WebSocket.

    fn frames(&mut self, rest: &[u8]) -> usize {
        let Mode::Ws(ws) = &mut self.mode else {
            return 0;
        };
        if ws.frame.is_none() && ws.frame_start.is_none() {
            ws.frame_start = Some(self.pos);
        }
        match ws.decoder.decode(rest) {
            Err(e) => {
                let offset = ws.base + ws.decoder.error_offset().unwrap_or(ws.decoder.position());
                let start = ws.frame_start.unwrap_or(offset);
                self.ws_error(start, offset, e, rest.len());
                0
            }
            Ok(ws::Status::Partial) => {
                self.pos += rest.len() as u64;
                rest.len()
            }
            Ok(ws::Status::Complete {
                value: FrameEvent::Header(header),
                consumed,
            }) => {
                self.pos += consumed as u64;
                self.frame_header(header);
                consumed
            }
            Ok(ws::Status::Complete {
                value: FrameEvent::Payload { len, offset, last },
                consumed,
            }) => {
                let piece = rest.get(..len).unwrap_or(rest);
                self.payload(piece, offset, last);
                consumed
            }
        }
    }

    /// A frame header: the rules that span frames (RFC 6455 §5.4 fragmentation, the message
    /// size), as [`ws::Assembler::handle_header`] checks them, then the frame begins.
    fn frame_header(&mut self, header: FrameHeader) {
        let Mode::Ws(ws) = &mut self.mode else {
            return;
        };
        let start = ws.frame_start.take().unwrap_or(self.pos);
        let mut message_before = 0;
        let broken = match header.opcode {
            Opcode::Text | Opcode::Binary if ws.message.is_some() => {
                Some((ws::Error::ExpectedContinuation, 0))
            }
            Opcode::Continuation if ws.message.is_none() => {
                Some((ws::Error::UnexpectedContinuation, 0))
            }
            Opcode::Text | Opcode::Binary | Opcode::Continuation => {
                let message = ws.message.get_or_insert_with(|| InMessage {
                    text: header.opcode == Opcode::Text,
                    start,
                    frames: 0,
                    summary: Summary::new(true),
                    utf8: ws::Utf8Validator::new(),
                });
                message.frames += 1;
                message_before = message.summary.length;
                let total = message_before.saturating_add(header.payload_len);
                (total > self.limits.ws.max_message as u64).then(|| {
                    let at = header.length_field_offset() as u64;
                    (ws::Error::MessageTooLarge, at)
                })
            }
            Opcode::Close | Opcode::Ping | Opcode::Pong => None,
        };
        if let Some((error, at)) = broken {
            self.ws_error(start, start + at, error, 0);
            return;
        }
        let header_len = self.pos - start;
        let Mode::Ws(ws) = &mut self.mode else {
            return;
        };
        ws.frame = Some(InFrame {
            header,
            start,
            header_len,
            message_before,
            preview: Summary::new(false),
            control: Vec::new(),
        });
    }

    /// A piece of the current frame's payload, still masked.
    fn payload(&mut self, piece: &[u8], offset: u64, last: bool) {
        let Mode::Ws(ws) = &mut self.mode else {
            return;
        };
        let Some(frame) = &mut ws.frame else {
            return;
        };
        let payload_start = frame.start + frame.header_len;
        let mut bad_utf8 = None;
        let mut done = 0u64;
        for block in piece.chunks(UNMASK_STEP) {
            // Unmasked (server) payloads are read in place; masked ones through the scratch.
            let data: &[u8] = if frame.header.mask.is_some() {
                self.scratch.clear();
                self.scratch.extend_from_slice(block);
                frame.header.unmask(&mut self.scratch, offset + done);
                &self.scratch
            } else {
                block
            };
            done += block.len() as u64;
            frame.preview.update(data);
            if frame.header.opcode.is_control() {
                // The decoder keeps control payloads within 125 bytes.
                let room = ws::MAX_CONTROL_PAYLOAD.saturating_sub(frame.control.len());
                let kept = data.get(..room).unwrap_or(data);
                frame.control.extend_from_slice(kept);
            } else if let Some(message) = &mut ws.message {
                message.summary.update(data);
                if message.text {
                    if let Err(bad) = message.utf8.feed(data) {
                        bad_utf8 = Some(bad.offset);
                        break;
                    }
                }
            }
        }
        self.pos += piece.len() as u64;
        if let Some(at) = bad_utf8 {
            let offset = payload_start + at.saturating_sub(frame.message_before);
            let start = frame.start;
            self.ws_error(start, offset, ws::Error::InvalidUtf8, 0);
            return;
        }
        if last {
            self.end_frame();
        }
    }

    /// The frame is complete: its event, then the control event or the message's end.
    fn end_frame(&mut self) {
        let Mode::Ws(ws) = &mut self.mode else {
            return;
        };
        let Some(frame) = ws.frame.take() else {
            return;
        };
        let header = frame.header;
        let payload_start = frame.start + frame.header_len;
        let event = Frame {
            fin: header.fin,
            opcode: header.opcode.to_string(),
            rsv: header.rsv,
            mask: header.mask.map(hex::encode),
            header_len: frame.header_len as u8,
            length: header.payload_len,
            preview: frame.preview.preview(),
        };
        let message = if header.fin && !header.opcode.is_control() {
            ws.message.take()
        } else {
            None
        };
        self.emit([frame.start, self.pos], Kind::Frame(event));
        let at = [frame.start, self.pos];
        let control = Control {
            length: frame.control.len() as u64,
            preview: Preview::of(&frame.control, frame.control.len() as u64),
        };
        match header.opcode {
            Opcode::Ping => self.emit(at, Kind::Ping(control)),
            Opcode::Pong => self.emit(at, Kind::Pong(control)),
            Opcode::Close => match ClosePayload::parse_at(&frame.control) {
                Ok(close) => {
                    let close = Close {
                        code: close.code.map(|c| c.0),
                        reason: close.reason.to_owned(),
                    };
                    self.emit(at, Kind::Close(close));
                    // RFC 6455 §5.5.1: nothing may follow a Close; what does is not read.
                    self.stop_at("close", self.pos);
                }
                Err((error, offset)) => {
                    let offset = payload_start + offset as u64;
                    self.ws_error(frame.start, offset, error, 0);
                }
            },
            _ => {}
        }
        let Some(message) = message else {
            return;
        };
        if message.text {
            if let Err(bad) = message.utf8.finish() {
                let offset = payload_start + bad.offset.saturating_sub(frame.message_before);
                self.ws_error(frame.start, offset, ws::Error::InvalidUtf8, 0);
                return;
            }
        }
        let event = Message {
            opcode: if message.text { "text" } else { "binary" }.to_owned(),
            length: message.summary.length,
            frames: (message.frames > 1).then_some(message.frames),
            sha256: message.summary.digest(),
            preview: message.summary.preview(),
        };
        self.emit([message.start, self.pos], Kind::Message(event));
    }

    /// A WebSocket error at stream offset `offset` in the unit that starts at `start`; then
    /// stop. `pending` is the number of bytes offered but not taken.
    fn ws_error(&mut self, start: u64, offset: u64, e: ws::Error, pending: usize) {
        let seen = self.pos + pending as u64;
        let end = offset.saturating_add(1).min(seen).max(start);
        let error = ProtocolError {
            offset,
            rule: e.rule().to_owned(),
            message: e.to_string(),
            status: None,
            close_code: Some(e.close_code().0),
        };
        self.emit([start.min(end), end], Kind::Error(error));
        self.stop_at("error", end);
    }

    // The end.

    /// The stream's bytes ran out at `total`: a body that runs until close ends here, one
    /// that does not is an error (unless the capture was truncated), and the end event says
    /// where the stream stood.
    pub(super) fn finish(&mut self, capture: &Capture, total: u64) {
        let truncated = capture.truncated.as_ref();
        let end_t = truncated.map_or(capture.end.t, |tr| tr.t);
        // Bytes never taken (a wait that nothing resolved) count as skipped.
        if self.pos < total && self.stop.is_none() {
            self.stop = Some(("blocked", self.pos));
        }
        let mut inside = match &self.mode {
            Mode::Head { buf, .. } if !buf.is_empty() => Some("head"),
            Mode::Body(_) => Some("body"),
            Mode::Ws(ws) if ws.frame.is_some() || !ws.decoder.is_between_frames() => Some("frame"),
            Mode::Ws(ws) if ws.message.is_some() => Some("message"),
            _ => None,
        };
        if truncated.is_none() {
            if let Mode::Body(body) = &mut self.mode {
                let start = body.start;
                let decoder = &mut body.decoder;
                match decoder.finish() {
                    Ok(()) => {
                        // Until close: the last byte arrived with the last chunk fed.
                        self.end_body();
                        inside = None;
                    }
                    Err(e) => {
                        let (t, seq) = (self.t, self.seq);
                        self.begin_chunk(end_t, END_SEQ);
                        self.http_error(start, e, None);
                        self.begin_chunk(t, seq);
                    }
                }
            }
        }
        let skipped = self.stop.map_or(0, |(_, from)| total.saturating_sub(from));
        let left = Leftover {
            inside: inside.map(str::to_owned),
            // Stopping matters only where bytes went unread.
            stopped: self
                .stop
                .filter(|_| skipped > 0)
                .map(|(why, _)| why.to_owned()),
            skipped,
        };
        let kind = match truncated {
            Some(tr) => Kind::Truncated(Truncated {
                reason: tr.reason,
                by: capture.end.by,
                left,
            }),
            None => Kind::Eof(End {
                by: capture.end.by,
                detail: capture.end.detail.clone(),
                left,
            }),
        };
        self.emit_at(end_t, (END_SEQ, true), [total, total], kind);
    }
}

/// Field lines as `[name, value]` strings (lossy UTF-8).
fn fields<'a>(iter: impl Iterator<Item = (&'a str, &'a [u8])>) -> Vec<[String; 2]> {
    iter.map(|(name, value)| [name.to_owned(), String::from_utf8_lossy(value).into_owned()])
        .collect()
}
