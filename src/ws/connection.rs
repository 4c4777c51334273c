//! The sans-IO WebSocket endpoint: bytes and time in, events and bytes out.
//!
//! For: one open WebSocket connection after the handshake, on the server side (and on the
//! client side for tests and replay): decoding and assembling what the peer sends, answering
//! pings, running the closing handshake, failing the connection on a protocol error, and
//! framing what we send. Not for: sockets, timers or threads; the shell owns those and calls
//! in.

use std::fmt;
use std::time::Duration;

use super::utf8::first_invalid;
use super::{
    encode_frame, Assembler, CloseCode, Error, Event, FrameDecoder, FrameEvent, FrameHeader,
    Limits, Message, Opcode, Role, Status, MAX_CLOSE_REASON, MAX_CONTROL_PAYLOAD,
};

/// Where the closing handshake stands (RFC 6455 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a Close and wait for the peer's (until [`Limits::close_timeout`]). Messages
    /// from the peer are still delivered; we send nothing more.
    Closing,
    /// Done: both Close frames were exchanged, or the connection failed, or the peer did not
    /// answer our Close in time. Flush [`Connection::poll_transmit`], then close the TCP
    /// connection. RFC 6455 §7.1.1: "the underlying TCP connection, in most normal cases,
    /// SHOULD be closed first by the server"; a server half-closes (shutdown of the write
    /// side) and may drain the peer briefly, so that a reset does not discard the Close frame
    /// in flight. A client waits for the server to close it.
    Closed,
}

/// A command of ours that the connection refused: our own misuse, never the peer's fault
/// (for that, see [`Error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsageError {
    /// A Close was already sent or received, or the connection failed. RFC 6455 §5.5.1:
    /// "The application MUST NOT send any more data frames after sending a Close frame."
    Closed,
    /// A ping or pong payload over 125 bytes (RFC 6455 §5.5: "All control frames MUST have a
    /// payload length of 125 bytes or less").
    ControlTooLong,
    /// A close reason over [`MAX_CLOSE_REASON`] bytes (the code takes 2 of the 125).
    ReasonTooLong,
    /// A close code that may not be sent ([`CloseCode::is_valid_on_wire`]), such as 1005.
    InvalidCloseCode,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Closed => "connection is closing or closed",
            Self::ControlTooLong => "control frame payload over 125 bytes",
            Self::ReasonTooLong => "close reason over 123 bytes",
            Self::InvalidCloseCode => "close code not allowed on the wire",
        })
    }
}

impl std::error::Error for UsageError {}

/// Capacity the transmit buffer and the event queue may keep while idle: the server aims at
/// 4 KiB or less per idle connection, and the `Connection` itself is about 500 bytes.
const IDLE_CAPACITY: usize = 1024;

/// From this payload size on, a server's [`Connection::send`] keeps the message's buffer
/// instead of copying it behind the frame header. Below it, one copy into the shared
/// transmit buffer costs less than a buffer of its own and a longer vectored write.
pub const OWNED_PAYLOAD_MIN: usize = 16 * 1024;

/// One WebSocket connection, sans-IO.
///
/// Call order, in a loop:
/// 1. [`handle_input`](Self::handle_input) with the bytes read from the socket (first the
///    ones that followed the handshake), and [`handle_timeout`](Self::handle_timeout) when
///    the deadline of [`poll_timeout`](Self::poll_timeout) passes;
/// 2. [`poll_event`](Self::poll_event) until `None`, acting on each event (our commands,
///    [`send`](Self::send), [`send_ping`](Self::send_ping), [`close`](Self::close), may come
///    at any time);
/// 3. [`poll_transmit`](Self::poll_transmit) and write what it appended;
/// 4. stop when [`state`](Self::state) is [`State::Closed`] and everything is written.
///
/// The connection answers pings, echoes the peer's Close, and on a protocol error queues a
/// Close with the error's code and reads nothing more; the application only sees events.
/// Time is whatever clock the caller uses (the socket's live, the capture's in replay), so a
/// replay is exact.
///
/// ```
/// use std::time::Duration;
/// use wiretap::ws::{encode_frame, Connection, Event, Limits, Message, Opcode, Role, State};
///
/// let mut conn = Connection::new(Role::Server, Limits::default());
/// // A client sends a masked text frame and a masked ping.
/// let mut wire = Vec::new();
/// encode_frame(&mut wire, true, Opcode::Text, b"hi", Some([1, 2, 3, 4]));
/// encode_frame(&mut wire, true, Opcode::Ping, b"p", Some([5, 6, 7, 8]));
/// conn.handle_input(&wire, Duration::ZERO);
///
/// assert_eq!(conn.poll_event(), Some(Event::Message(Message::Text("hi".into()))));
/// assert_eq!(conn.poll_event(), Some(Event::Ping(b"p".to_vec())));
/// assert_eq!(conn.poll_event(), None);
/// conn.send(Message::Text("echo: hi".into())).unwrap();
///
/// let mut out = Vec::new();
/// conn.poll_transmit(&mut out);
/// // The automatic pong (queued first), then our message; server frames are unmasked.
/// assert_eq!(&out[..3], [0x8a, 0x01, b'p']);
/// assert_eq!(&out[3..5], [0x81, 0x08]);
/// assert_eq!(conn.state(), State::Open);
/// ```
#[derive(Debug, Clone)]
pub struct Connection {
    role: Role,
    limits: Limits,
    decoder: FrameDecoder,
    assembler: Assembler,
    /// Stream offset of the current frame's first byte (for error offsets).
    frame_start: u64,
    /// The event decoded but not polled yet. There is at most one: decoding stops at each
    /// event until it is polled.
    event: Option<Event>,
    /// Input not decoded yet because an earlier event waits to be polled, from `rx_start`.
    rx: Vec<u8>,
    rx_start: usize,
    /// Whole buffers to send before `tx`: the header bytes queued so far, then a large
    /// payload that was handed over by value and is sent from its own buffer (see
    /// [`poll_transmit_vectored`](Self::poll_transmit_vectored)).
    tx_parts: Vec<Vec<u8>>,
    /// Encoded frames waiting for `poll_transmit`, after `tx_parts`.
    tx: Vec<u8>,
    /// Our Close is queued: it is the last frame we send.
    close_sent: bool,
    /// The peer's Close arrived.
    close_received: bool,
    /// The peer broke a rule: the error and the stream offset of the offending byte.
    failed: Option<(Error, u64)>,
    /// When to give up waiting for the peer's Close.
    close_deadline: Option<Duration>,
    timed_out: bool,
    /// Client role only: state of the masking key generator.
    mask_seed: u64,
}

impl Connection {
    /// A connection whose handshake just completed, as `role`.
    ///
    /// A [`Role::Client`] masks with keys from a seeded generator: deterministic, which suits
    /// tests and replay, but not the "strong source of entropy" that RFC 6455 §5.3 asks of a
    /// real client.
    pub fn new(role: Role, limits: Limits) -> Self {
        Self {
            role,
            limits,
            decoder: FrameDecoder::new(role, &limits),
            assembler: Assembler::new(&limits),
            frame_start: 0,
            event: None,
            rx: Vec::new(),
            rx_start: 0,
            tx_parts: Vec::new(),
            tx: Vec::new(),
            close_sent: false,
            close_received: false,
            failed: None,
            close_deadline: None,
            timed_out: false,
            mask_seed: 0x5EED_5EED_5EED_5EED,
        }
    }

    /// Where the closing handshake stands.
    pub fn state(&self) -> State {
        if self.failed.is_some() || self.close_received || self.timed_out {
            State::Closed
        } else if self.close_sent {
            State::Closing
        } else {
            State::Open
        }
    }

    /// The rule the peer broke, if it did, with the offset (in the bytes given to
    /// `handle_input` since the start) of the offending byte.
    pub fn error(&self) -> Option<(Error, u64)> {
        self.failed
    }

    /// Takes bytes read from the peer. Events become available through
    /// [`poll_event`](Self::poll_event) and replies through
    /// [`poll_transmit`](Self::poll_transmit). Input after the peer's Close, after a protocol
    /// error, or after the close deadline (`now` past it) is ignored.
    ///
    /// Frames are decoded only as far as the next event: the rest of `bytes` waits (copied
    /// once) until every earlier event has been polled. So whatever the application sends in
    /// answer to a message goes out before the connection's own reaction to a later frame,
    /// as a peer expects when it sends a message and a broken frame in one write (Autobahn
    /// 3.2, 4.1.3). Poll events until `None` before feeding more; the shell reads a bounded
    /// chunk at a time, which bounds what waits here.
    pub fn handle_input(&mut self, bytes: &[u8], now: Duration) {
        self.handle_timeout(now);
        if self.state() == State::Closed {
            return;
        }
        if self.rx_start < self.rx.len() {
            self.rx.extend_from_slice(bytes);
            return;
        }
        let mut used = 0;
        if self.event.is_none() {
            self.event = self.process(bytes, &mut used);
        }
        if used < bytes.len() && self.state() != State::Closed {
            self.rx.clear();
            self.rx_start = 0;
            self.rx.extend_from_slice(&bytes[used..]);
        }
    }

    /// Decodes `buf` until the next event, the end of the input or the closing of the
    /// connection; returns the event and sets `used` to how many bytes it took. The caller
    /// holds no event (there is at most one waiting), and hands this one to the application
    /// directly or keeps it.
    // Inlined into its two callers: so the event is built where `poll_event` returns it,
    // instead of being copied through return slots (a copy right after the fields were
    // written stalls on store forwarding, which cost more than decoding a small frame).
    #[inline(always)]
    fn process(&mut self, buf: &[u8], used: &mut usize) -> Option<Event> {
        *used = 0;
        while self.state() != State::Closed {
            let rest = &buf[*used..];
            if !self.assembler.is_in_message() {
                if let Some((event, len)) = self.whole_message(rest) {
                    *used += len;
                    return Some(event);
                }
            }
            let (event, consumed) = match self.decoder.decode(rest) {
                Ok(Status::Partial) => {
                    *used = buf.len();
                    return None;
                }
                Ok(Status::Complete { value, consumed }) => (value, consumed),
                Err(error) => {
                    let offset = self.decoder.error_offset().unwrap_or(self.frame_start);
                    *used = buf.len();
                    return Some(self.fail(error, offset));
                }
            };
            let result = match event {
                FrameEvent::Header(header) => {
                    self.frame_start = self
                        .decoder
                        .position()
                        .saturating_sub(header.encoded_len() as u64);
                    self.assembler.handle_header(&header).map(|()| None)
                }
                FrameEvent::Payload { len, last, .. } => {
                    self.assembler.handle_payload(&rest[..len], last)
                }
            };
            *used += consumed;
            match result {
                Ok(None) => {}
                Ok(Some(event)) => {
                    self.react(&event);
                    return Some(event);
                }
                Err(error) => {
                    let at = self.assembler.error_frame_offset().unwrap_or(0);
                    *used = buf.len();
                    return Some(self.fail(error, self.frame_start + at));
                }
            }
        }
        None
    }

    /// The fast path of [`process`](Self::process), between messages: when `rest` starts
    /// with a whole unfragmented text or binary frame within the limits, its message, built
    /// straight from `rest` (one exact allocation, one UTF-8 pass), and the frame's length.
    /// The assembler, idle before, would be idle after it too, so it is skipped. `None`
    /// for anything else, with nothing taken.
    #[inline(always)]
    fn whole_message(&mut self, rest: &[u8]) -> Option<(Event, usize)> {
        let frame_start = self.decoder.position();
        let max_message = self.limits.max_message as u64;
        let (header, head_len) = self.decoder.decode_whole_frame(rest, |header| {
            header.fin
                && matches!(header.opcode, Opcode::Text | Opcode::Binary)
                && header.payload_len <= max_message
        })?;
        // `decode_whole_frame` checked that the payload is in `rest`.
        let end = head_len + header.payload_len as usize;
        let mut bytes = rest[head_len..end].to_vec();
        header.unmask(&mut bytes, 0);
        let message = if header.opcode == Opcode::Text {
            match String::from_utf8(bytes) {
                Ok(text) => Message::Text(text),
                Err(error) => {
                    // The offset the assembler's per-piece check gives for the same bytes.
                    self.frame_start = frame_start;
                    let in_frame = first_invalid(error.as_bytes()).map_or(0, |bad| bad.offset);
                    let offset = frame_start + head_len as u64 + in_frame;
                    return Some((self.fail(Error::InvalidUtf8, offset), end));
                }
            }
        } else {
            Message::Binary(bytes)
        };
        Some((Event::Message(message), end))
    }

    /// The next thing the peer did, in order.
    #[must_use]
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.event.is_some() {
            return self.event.take();
        }
        if self.rx_start == self.rx.len() {
            return None;
        }
        // The event goes straight to the caller, not through `self.event` (see `process`).
        let rx = std::mem::take(&mut self.rx);
        let mut used = 0;
        let event = self.process(&rx[self.rx_start..], &mut used);
        self.rx_start += used;
        self.rx = rx;
        if self.rx_start == self.rx.len() || self.state() == State::Closed {
            self.rx.clear();
            self.rx_start = 0;
            if self.rx.capacity() > IDLE_CAPACITY {
                self.rx = Vec::new();
            }
        }
        event
    }

    /// Appends the bytes to send to `out` and returns how many. When `out` is empty the
    /// buffers are swapped instead of copied, so a caller that reuses one `Vec` moves no
    /// payload twice and allocates nothing per frame.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        let mut parts = Vec::new();
        let mut n = self.poll_transmit_parts(&mut parts);
        for part in &parts {
            out.extend_from_slice(part);
        }
        n += self.poll_transmit_tx(out);
        n
    }

    /// Like [`poll_transmit`](Self::poll_transmit), without copying large payloads: first
    /// appends to `parts` whole buffers to send in order (a payload of at least
    /// [`OWNED_PAYLOAD_MIN`] bytes that [`send`](Self::send) took by value, with the header
    /// bytes queued before it), then the remaining bytes to `out`. What goes on the wire is
    /// `parts` in order, then `out`: one vectored write, and an echo of a 64 KiB message
    /// copies nothing in user space. Returns the total length.
    pub fn poll_transmit_vectored(&mut self, parts: &mut Vec<Vec<u8>>, out: &mut Vec<u8>) -> usize {
        self.poll_transmit_parts(parts) + self.poll_transmit_tx(out)
    }

    fn poll_transmit_parts(&mut self, parts: &mut Vec<Vec<u8>>) -> usize {
        let n = self.tx_parts.iter().map(Vec::len).sum();
        if parts.is_empty() {
            // Swapped, so that the caller's emptied list comes back here for reuse.
            std::mem::swap(parts, &mut self.tx_parts);
        } else {
            parts.append(&mut self.tx_parts);
        }
        n
    }

    fn poll_transmit_tx(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.tx.len();
        if n == 0 {
            return 0;
        }
        if out.is_empty() {
            std::mem::swap(out, &mut self.tx);
        } else {
            out.extend_from_slice(&self.tx);
            self.tx.clear();
        }
        // Keep small buffers for reuse, drop big ones: an idle connection stays small.
        if self.tx.capacity() > IDLE_CAPACITY {
            self.tx = Vec::new();
        }
        n
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called: the close deadline,
    /// while we wait for the peer's Close.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match self.state() {
            State::Closing => self.close_deadline,
            _ => None,
        }
    }

    /// Tells the connection the time is `now`: past the close deadline it gives up on the
    /// peer's Close and becomes [`State::Closed`].
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.state() == State::Closing && self.close_deadline.is_some_and(|d| now >= d) {
            self.timed_out = true;
        }
    }

    /// Queues a message, as a single frame. As a server, a payload of at least
    /// [`OWNED_PAYLOAD_MIN`] bytes is kept as it is and sent from its own buffer (see
    /// [`poll_transmit_vectored`](Self::poll_transmit_vectored)) instead of being copied.
    pub fn send(&mut self, message: Message) -> Result<(), UsageError> {
        self.check_open()?;
        let opcode = message.opcode();
        if self.role == Role::Server && message.as_bytes().len() >= OWNED_PAYLOAD_MIN {
            let payload = match message {
                Message::Text(text) => text.into_bytes(),
                Message::Binary(bytes) => bytes,
            };
            let header = FrameHeader {
                fin: true,
                rsv: 0,
                opcode,
                mask: None,
                payload_len: payload.len() as u64,
            };
            header.encode(&mut self.tx);
            self.tx_parts.push(std::mem::take(&mut self.tx));
            self.tx_parts.push(payload);
        } else {
            self.queue(true, opcode, message.as_bytes());
        }
        Ok(())
    }

    /// Queues a ping; the peer's pong comes back as [`Event::Pong`].
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), UsageError> {
        self.send_control(Opcode::Ping, payload)
    }

    /// Queues an unsolicited pong: RFC 6455 §5.5.3 "A Pong frame MAY be sent unsolicited.
    /// This serves as a unidirectional heartbeat."
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), UsageError> {
        self.send_control(Opcode::Pong, payload)
    }

    /// Starts the closing handshake: queues our Close with `code` and `reason`, then waits for
    /// the peer's Close until `now` + [`Limits::close_timeout`] (see
    /// [`poll_timeout`](Self::poll_timeout)). A server shutting down sends
    /// [`CloseCode::GOING_AWAY`].
    pub fn close(
        &mut self,
        code: CloseCode,
        reason: &str,
        now: Duration,
    ) -> Result<(), UsageError> {
        self.check_open()?;
        if !code.is_valid_on_wire() {
            return Err(UsageError::InvalidCloseCode);
        }
        if reason.len() > MAX_CLOSE_REASON {
            return Err(UsageError::ReasonTooLong);
        }
        self.queue_close(Some(code), reason);
        self.close_deadline = Some(now.saturating_add(self.limits.close_timeout));
        Ok(())
    }

    fn check_open(&self) -> Result<(), UsageError> {
        if self.state() == State::Open {
            Ok(())
        } else {
            Err(UsageError::Closed)
        }
    }

    fn send_control(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), UsageError> {
        self.check_open()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(UsageError::ControlTooLong);
        }
        self.queue(true, opcode, payload);
        Ok(())
    }

    /// Reacts to what the assembler completed (by reference: moving an `Event` through calls
    /// costs more than a small frame's decoding).
    #[inline(always)]
    fn react(&mut self, event: &Event) {
        match event {
            // RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong
            // frame in response, unless it already received a Close frame." Each ping gets its
            // pong (§5.5.3 allows answering only the latest; answering all is simpler). Not
            // after our own Close, which must be our last frame.
            Event::Ping(payload) if !self.close_sent => {
                self.queue(true, Opcode::Pong, payload);
            }
            // RFC 6455 §5.5.1: "If an endpoint receives a Close frame and did not previously
            // send a Close frame, the endpoint MUST send a Close frame in response. ... it
            // typically echos the status code it received." An empty Close gets an empty one.
            Event::Close { code, .. } => {
                self.close_received = true;
                if !self.close_sent {
                    self.queue_close(*code, "");
                }
            }
            _ => {}
        }
    }

    /// RFC 6455 §7.1.7 "_Fail the WebSocket Connection_": "the endpoint SHOULD send a Close
    /// frame with an appropriate status code before proceeding to _Close the WebSocket
    /// Connection_", and reads nothing more. Returns the event that reports it.
    fn fail(&mut self, error: Error, offset: u64) -> Event {
        self.failed = Some((error, offset));
        if !self.close_sent {
            // The reason helps whoever reads the peer's logs; every `Display` of `Error` fits.
            let reason = error.to_string();
            let reason = if reason.len() <= MAX_CLOSE_REASON {
                reason.as_str()
            } else {
                ""
            };
            self.queue_close(Some(error.close_code()), reason);
        }
        Event::ProtocolError(error)
    }

    fn queue_close(&mut self, code: Option<CloseCode>, reason: &str) {
        // Built on the stack: a Close payload is at most 125 bytes.
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let len = match code {
            None => 0,
            Some(code) => {
                let reason = &reason.as_bytes()[..reason.len().min(MAX_CLOSE_REASON)];
                payload[..2].copy_from_slice(&code.0.to_be_bytes());
                payload[2..2 + reason.len()].copy_from_slice(reason);
                2 + reason.len()
            }
        };
        self.queue(true, Opcode::Close, &payload[..len]);
        self.close_sent = true;
    }

    /// Encodes one frame into the transmit buffer, masked when we are the client.
    fn queue(&mut self, fin: bool, opcode: Opcode, payload: &[u8]) {
        let mask = match self.role {
            Role::Server => None,
            Role::Client => Some(self.next_mask()),
        };
        encode_frame(&mut self.tx, fin, opcode, payload, mask);
    }

    /// splitmix64: a deterministic sequence of masking keys for the test client.
    fn next_mask(&mut self) -> [u8; 4] {
        self.mask_seed = self.mask_seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.mask_seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let [a, b, c, d, ..] = z.to_le_bytes();
        [a, b, c, d]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::{decode_frames, run_connection_every_way, ConnectionRun};
    use crate::ws::FrameHeader;

    const KEY: Option<[u8; 4]> = Some([0xa1, 0xb2, 0xc3, 0xd4]);

    /// Client-to-server wire bytes for frames `(fin, opcode, payload)`, masked.
    fn client_frames(frames: &[(bool, Opcode, &[u8])]) -> Vec<u8> {
        let mut wire = Vec::new();
        for &(fin, opcode, payload) in frames {
            encode_frame(&mut wire, fin, opcode, payload, KEY);
        }
        wire
    }

    /// Server-to-client wire bytes, unmasked.
    fn server_frames(frames: &[(Opcode, &[u8])]) -> Vec<u8> {
        let mut wire = Vec::new();
        for &(opcode, payload) in frames {
            encode_frame(&mut wire, true, opcode, payload, None);
        }
        wire
    }

    /// THE helper: a server connection fed `wire` whole, byte at a time, at every split point
    /// and in random splits; all must agree.
    fn serve(wire: &[u8]) -> ConnectionRun {
        serve_with(Limits::default(), wire)
    }

    fn serve_with(limits: Limits, wire: &[u8]) -> ConnectionRun {
        run_connection_every_way(Role::Server, limits, wire, 8, wire.len() as u64)
    }

    fn text(s: &str) -> Event {
        Event::Message(Message::Text(s.into()))
    }

    fn close_payload(code: u16, reason: &str) -> Vec<u8> {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_bytes());
        payload
    }

    /// The transmitted frames, decoded as a client would.
    fn sent(run: &ConnectionRun) -> Vec<(FrameHeader, Vec<u8>)> {
        let decoded = decode_frames(Role::Client, &Limits::default(), &[&run.transmitted]);
        assert_eq!(decoded.error, None);
        decoded.frames
    }

    fn sent_simple(run: &ConnectionRun) -> Vec<(Opcode, Vec<u8>)> {
        sent(run).into_iter().map(|(h, p)| (h.opcode, p)).collect()
    }

    /// The Close frame a failure with `error` sends.
    fn failure_close(error: Error) -> (Opcode, Vec<u8>) {
        (
            Opcode::Close,
            close_payload(error.close_code().0, &error.to_string()),
        )
    }

    #[test]
    fn delivers_messages_and_sends_nothing_unasked() {
        let wire = client_frames(&[
            (true, Opcode::Text, b"hello"),
            (true, Opcode::Binary, b"\0\xff"),
        ]);
        let run = serve(&wire);
        assert_eq!(
            run.events,
            [
                text("hello"),
                Event::Message(Message::Binary(vec![0, 0xff]))
            ]
        );
        assert!(run.transmitted.is_empty());
        assert_eq!(run.state, State::Open);
    }

    #[test]
    fn answers_every_ping_with_a_pong_of_the_same_payload() {
        let wire = client_frames(&[(true, Opcode::Ping, b"one"), (true, Opcode::Ping, b"")]);
        let run = serve(&wire);
        assert_eq!(
            run.events,
            [Event::Ping(b"one".to_vec()), Event::Ping(Vec::new())]
        );
        assert_eq!(
            sent_simple(&run),
            [(Opcode::Pong, b"one".to_vec()), (Opcode::Pong, Vec::new())]
        );
    }

    #[test]
    fn reports_unsolicited_pongs_without_answering() {
        let run = serve(&client_frames(&[(true, Opcode::Pong, b"beat")]));
        assert_eq!(run.events, [Event::Pong(b"beat".to_vec())]);
        assert!(run.transmitted.is_empty());
    }

    #[test]
    fn answers_pings_between_fragments_before_the_message_completes() {
        let wire = client_frames(&[
            (false, Opcode::Text, b"frag"),
            (true, Opcode::Ping, b"p"),
            (false, Opcode::Continuation, b"men"),
            (true, Opcode::Continuation, b"ted"),
        ]);
        let run = serve(&wire);
        assert_eq!(run.events, [Event::Ping(b"p".to_vec()), text("fragmented")]);
        assert_eq!(sent_simple(&run), [(Opcode::Pong, b"p".to_vec())]);
    }

    #[test]
    fn rejects_unmasked_client_frame() {
        let mut wire = server_frames(&[(Opcode::Text, b"hi")]);
        // Anything after the violation is not read.
        wire.extend_from_slice(&client_frames(&[(true, Opcode::Ping, b"x")]));
        let run = serve(&wire);
        assert_eq!(run.events, [Event::ProtocolError(Error::UnmaskedFrame)]);
        assert_eq!(sent_simple(&run), [failure_close(Error::UnmaskedFrame)]);
        assert_eq!(run.state, State::Closed);
        assert_eq!(run.error, Some((Error::UnmaskedFrame, 1)));
    }

    #[test]
    fn fails_each_rule_with_its_close_code() {
        let limits = Limits {
            max_frame: 100,
            max_message: 150,
            ..Limits::default()
        };
        // (frames, expected error, offset of the offending byte in the stream)
        type Case = (Vec<u8>, Error, u64);
        let cases: Vec<Case> = vec![
            (vec![0xC1, 0x80, 0, 0, 0, 0], Error::ReservedBits, 0),
            (vec![0x83, 0x80, 0, 0, 0, 0], Error::ReservedOpcode, 0),
            (vec![0x09, 0x80, 0, 0, 0, 0], Error::FragmentedControl, 0),
            (vec![0x89, 0xFE, 0, 126], Error::ControlTooLong, 1),
            (vec![0x82, 0xFF, 0x80], Error::LengthOverflow, 2),
            (vec![0x82, 0xFE, 0x00, 0x10], Error::NonMinimalLength, 2),
            (vec![0x82, 0xE5], Error::FrameTooLarge, 1),
            (
                client_frames(&[
                    (false, Opcode::Binary, &[0; 100]),
                    (true, Opcode::Continuation, &[0; 51]),
                ]),
                Error::MessageTooLarge,
                106 + 1,
            ),
            (
                client_frames(&[(true, Opcode::Continuation, b"x")]),
                Error::UnexpectedContinuation,
                0,
            ),
            (
                client_frames(&[(false, Opcode::Text, b"a"), (true, Opcode::Text, b"b")]),
                Error::ExpectedContinuation,
                7,
            ),
            (
                client_frames(&[(true, Opcode::Text, b"\xff")]),
                Error::InvalidUtf8,
                6,
            ),
            (
                client_frames(&[(true, Opcode::Close, b"\x03")]),
                Error::CloseTooShort,
                6,
            ),
            (
                client_frames(&[(true, Opcode::Close, b"\x03\xed")]),
                Error::InvalidCloseCode,
                6,
            ),
            (
                client_frames(&[(true, Opcode::Close, b"\x03\xe8ok\xc0")]),
                Error::InvalidCloseReason,
                10,
            ),
        ];
        for (wire, error, offset) in cases {
            let run = serve_with(limits, &wire);
            assert_eq!(run.events, [Event::ProtocolError(error)], "{error:?}");
            assert_eq!(sent_simple(&run), [failure_close(error)], "{error:?}");
            assert_eq!(run.error, Some((error, offset)), "{error:?}");
            assert_eq!(run.state, State::Closed);
        }
    }

    #[test]
    fn fails_fast_on_invalid_utf8_in_first_fragment() {
        // Only the first fragment ever arrives, "κόσμε" then ED A0: it cannot become valid.
        let mut payload = "κόσμε".as_bytes().to_vec();
        payload.extend_from_slice(&[0xed, 0xa0]);
        let bad = client_frames(&[(false, Opcode::Text, &payload)]);
        // The A0: after the 6-byte header, the 10 bytes of text and the ED.
        let at = 6 + 10 + 1;
        let run = serve(&bad);
        assert_eq!(run.events, [Event::ProtocolError(Error::InvalidUtf8)]);
        assert_eq!(run.error, Some((Error::InvalidUtf8, at)));
        assert_eq!(sent_simple(&run), [failure_close(Error::InvalidUtf8)]);
    }

    #[test]
    fn fails_fast_on_invalid_utf8_inside_one_frame_before_it_ends() {
        // A single text frame announced as 10 bytes, cut after the bad byte: already failed.
        let mut wire = vec![0x81, 0x8A, 0, 0, 0, 0];
        wire.extend_from_slice(b"ok\xf4\x90");
        let run = serve(&wire);
        assert_eq!(run.events, [Event::ProtocolError(Error::InvalidUtf8)]);
        assert_eq!(run.error, Some((Error::InvalidUtf8, 9)));
    }

    #[test]
    fn whole_and_piecewise_text_fail_at_the_same_byte() {
        // A whole frame in one read takes the one-pass path (`whole_message`), every other
        // split the per-piece check; `serve` asserts that all agree, and here on the offset.
        let cases: &[(&[u8], u64)] = &[
            (b"\xff", 0),
            (b"ok\xc0\xaf", 2),
            (b"ab\xed\xa0\x80cd", 3),
            (b"a\xce\xbaz\xf4\x90\x80\x80z", 5),
            (b"cut \xf0\x90\x80", 7),
            (b"\xe1\x80\x41", 2),
        ];
        for &(text, at) in cases {
            let run = serve(&client_frames(&[(true, Opcode::Text, text)]));
            assert_eq!(run.events, [Event::ProtocolError(Error::InvalidUtf8)]);
            assert_eq!(run.error, Some((Error::InvalidUtf8, 6 + at)), "{text:02x?}");
        }
    }

    #[test]
    fn echoes_the_peers_close_code_then_ignores_everything() {
        let mut wire = client_frames(&[(true, Opcode::Close, &close_payload(4001, "bye"))]);
        wire.extend_from_slice(&client_frames(&[(true, Opcode::Text, b"late")]));
        wire.extend_from_slice(&[0xff; 8]); // not even a valid frame: unread
        let run = serve(&wire);
        assert_eq!(
            run.events,
            [Event::Close {
                code: Some(CloseCode(4001)),
                reason: "bye".into()
            }]
        );
        assert_eq!(
            sent_simple(&run),
            [(Opcode::Close, close_payload(4001, ""))]
        );
        assert_eq!(run.state, State::Closed);
        assert_eq!(run.error, None);
    }

    #[test]
    fn answers_an_empty_close_with_an_empty_close() {
        let run = serve(&client_frames(&[(true, Opcode::Close, b"")]));
        assert_eq!(
            run.events,
            [Event::Close {
                code: None,
                reason: String::new()
            }]
        );
        assert_eq!(sent_simple(&run), [(Opcode::Close, Vec::new())]);
    }

    #[test]
    fn accepts_a_close_between_fragments() {
        let wire = client_frames(&[(false, Opcode::Text, b"a"), (true, Opcode::Close, b"")]);
        let run = serve(&wire);
        assert_eq!(
            run.events,
            [Event::Close {
                code: None,
                reason: String::new()
            }]
        );
        assert_eq!(run.state, State::Closed);
    }

    #[test]
    fn server_close_waits_for_the_peer_then_closes() {
        let mut conn = Connection::new(Role::Server, Limits::default());
        let t0 = Duration::from_secs(100);
        conn.close(CloseCode::GOING_AWAY, "restart", t0).unwrap();
        assert_eq!(conn.state(), State::Closing);
        assert_eq!(
            conn.poll_timeout(),
            Some(t0 + Limits::default().close_timeout)
        );
        assert_eq!(conn.send(Message::from("x")), Err(UsageError::Closed));
        assert_eq!(
            conn.close(CloseCode::NORMAL, "", t0),
            Err(UsageError::Closed)
        );
        // The peer still talks: messages are delivered, pings are not answered any more.
        let wire = client_frames(&[
            (true, Opcode::Text, b"in flight"),
            (true, Opcode::Ping, b""),
        ]);
        conn.handle_input(&wire, t0);
        assert_eq!(conn.poll_event(), Some(text("in flight")));
        assert_eq!(conn.poll_event(), Some(Event::Ping(Vec::new())));
        // Then its Close arrives: closed, and nothing is echoed.
        conn.handle_input(
            &client_frames(&[(true, Opcode::Close, &close_payload(1001, ""))]),
            t0,
        );
        assert!(matches!(conn.poll_event(), Some(Event::Close { .. })));
        assert_eq!(conn.state(), State::Closed);
        assert_eq!(conn.poll_timeout(), None);
        let mut out = Vec::new();
        conn.poll_transmit(&mut out);
        let frames = decode_frames(Role::Client, &Limits::default(), &[&out]).frames;
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].1, close_payload(1001, "restart"));
    }

    #[test]
    fn gives_up_on_a_silent_peer_at_the_close_deadline() {
        let limits = Limits {
            close_timeout: Duration::from_secs(2),
            ..Limits::default()
        };
        let mut conn = Connection::new(Role::Server, limits);
        conn.close(CloseCode::NORMAL, "", Duration::from_secs(1))
            .unwrap();
        conn.handle_timeout(Duration::from_millis(2999));
        assert_eq!(conn.state(), State::Closing);
        conn.handle_timeout(Duration::from_secs(3));
        assert_eq!(conn.state(), State::Closed);
        // Input arriving after the deadline is too late.
        conn.handle_input(
            &client_frames(&[(true, Opcode::Text, b"late")]),
            Duration::from_secs(4),
        );
        assert_eq!(conn.poll_event(), None);
    }

    #[test]
    fn refuses_our_own_misuse() {
        let mut conn = Connection::new(Role::Server, Limits::default());
        let now = Duration::ZERO;
        assert_eq!(conn.send_ping(&[0; 126]), Err(UsageError::ControlTooLong));
        assert_eq!(conn.send_pong(&[0; 126]), Err(UsageError::ControlTooLong));
        assert_eq!(conn.send_ping(&[0; 125]), Ok(()));
        let long = "r".repeat(124);
        assert_eq!(
            conn.close(CloseCode::NORMAL, &long, now),
            Err(UsageError::ReasonTooLong)
        );
        for code in [
            CloseCode::NO_STATUS,
            CloseCode::ABNORMAL,
            CloseCode::TLS,
            CloseCode(999),
        ] {
            assert_eq!(conn.close(code, "", now), Err(UsageError::InvalidCloseCode));
        }
        assert_eq!(conn.state(), State::Open);
        conn.close(CloseCode::NORMAL, &long[..123], now).unwrap();
        assert_eq!(conn.send_ping(b""), Err(UsageError::Closed));
        assert_eq!(
            UsageError::Closed.to_string(),
            "connection is closing or closed"
        );
    }

    #[test]
    fn a_client_and_a_server_talk() {
        let mut client = Connection::new(Role::Client, Limits::default());
        let mut server = Connection::new(Role::Server, Limits::default());
        let now = Duration::ZERO;
        let mut wire = Vec::new();
        client.send(Message::from("question")).unwrap();
        client.send_ping(b"rtt").unwrap();
        client.poll_transmit(&mut wire);
        // Client frames are masked, with a different key each time.
        let frames = decode_frames(Role::Server, &Limits::default(), &[&wire]).frames;
        assert!(frames.iter().all(|(h, _)| h.mask.is_some()));
        assert_ne!(frames[0].0.mask, frames[1].0.mask);

        server.handle_input(&wire, now);
        assert_eq!(server.poll_event(), Some(text("question")));
        assert_eq!(server.poll_event(), Some(Event::Ping(b"rtt".to_vec())));
        server.send(Message::from("answer")).unwrap();
        server.close(CloseCode::NORMAL, "done", now).unwrap();
        wire.clear();
        server.poll_transmit(&mut wire);

        client.handle_input(&wire, now);
        assert_eq!(client.poll_event(), Some(Event::Pong(b"rtt".to_vec())));
        assert_eq!(client.poll_event(), Some(text("answer")));
        assert_eq!(
            client.poll_event(),
            Some(Event::Close {
                code: Some(CloseCode::NORMAL),
                reason: "done".into()
            })
        );
        assert_eq!(client.state(), State::Closed);
        wire.clear();
        client.poll_transmit(&mut wire);
        server.handle_input(&wire, now);
        assert_eq!(
            server.poll_event(),
            Some(Event::Close {
                code: Some(CloseCode::NORMAL),
                reason: String::new()
            })
        );
        assert_eq!(server.state(), State::Closed);
    }

    #[test]
    fn client_rejects_masked_server_frames() {
        let wire = client_frames(&[(true, Opcode::Text, b"masked")]);
        let run = run_connection_every_way(Role::Client, Limits::default(), &wire, 4, 1);
        assert_eq!(run.events, [Event::ProtocolError(Error::MaskedFrame)]);
        // Even its failure Close is masked, as a client's must be.
        let frames = decode_frames(Role::Server, &Limits::default(), &[&run.transmitted]);
        assert_eq!(frames.error, None);
        assert_eq!(frames.frames[0].0.opcode, Opcode::Close);
    }

    #[test]
    fn keeps_little_memory_after_a_big_message() {
        let mut conn = Connection::new(Role::Server, Limits::default());
        let big = vec![b'x'; 4 << 20];
        let wire = client_frames(&[(true, Opcode::Binary, &big)]);
        for piece in wire.chunks(64 * 1024) {
            conn.handle_input(piece, Duration::ZERO);
        }
        let Some(Event::Message(message)) = conn.poll_event() else {
            panic!("no message");
        };
        // Echo it: the transmit buffer grows, is handed over, and is not kept.
        conn.send(message).unwrap();
        let mut out = Vec::new();
        assert_eq!(conn.poll_transmit(&mut out), 10 + (4 << 20));
        out.clear();
        assert_eq!(conn.poll_transmit(&mut out), 0);
        assert!(!conn.assembler.is_in_message());
        assert!(conn.poll_event().is_none());
        assert!(idle_bytes(&conn) <= 4096, "{}", idle_bytes(&conn));
    }

    /// The connection's size plus the heap capacity it keeps.
    fn idle_bytes(conn: &Connection) -> usize {
        size_of::<Connection>() + conn.tx.capacity() + conn.assembler.buffer_capacity()
    }

    #[test]
    fn keeps_little_memory_after_a_burst_of_pings() {
        let mut conn = Connection::new(Role::Server, Limits::default());
        let frames: Vec<(bool, Opcode, &[u8])> = vec![(true, Opcode::Ping, b"0123456789"); 1000];
        conn.handle_input(&client_frames(&frames), Duration::ZERO);
        let mut events = 0;
        while conn.poll_event().is_some() {
            events += 1;
        }
        assert_eq!(events, 1000);
        let mut out = Vec::new();
        assert_eq!(conn.poll_transmit(&mut out), 1000 * 12);
        assert!(idle_bytes(&conn) <= 4096, "{}", idle_bytes(&conn));
    }

    #[test]
    fn large_payloads_leave_from_their_own_buffer_in_order() {
        let mut conn = Connection::new(Role::Server, Limits::default());
        let big = vec![0xa5u8; OWNED_PAYLOAD_MIN];
        conn.send(Message::from("a")).unwrap();
        conn.send(Message::Binary(big.clone())).unwrap();
        conn.send(Message::from("b")).unwrap();
        conn.send_ping(b"p").unwrap();
        let mut copied = conn.clone();

        let (mut parts, mut out) = (Vec::new(), Vec::new());
        let n = conn.poll_transmit_vectored(&mut parts, &mut out);
        // The first part ends with the big frame's header; the payload is the message's own
        // buffer; what came after goes to `out`.
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0],
            [&[0x81, 0x01, b'a'][..], &[0x82, 126, 0x40, 0x00]].concat()
        );
        assert_eq!(parts[1], big);
        assert_eq!(out, b"\x81\x01b\x89\x01p");
        let wire = [parts.concat(), out.clone()].concat();
        assert_eq!(n, wire.len());

        // The copying form sends the same bytes.
        let mut flat = Vec::new();
        assert_eq!(copied.poll_transmit(&mut flat), n);
        assert_eq!(flat, wire);
        assert_eq!(
            conn.poll_transmit_vectored(&mut Vec::new(), &mut Vec::new()),
            0
        );

        // A client masks: it always copies.
        let mut client = Connection::new(Role::Client, Limits::default());
        client.send(Message::Binary(big)).unwrap();
        let mut parts = Vec::new();
        client.poll_transmit_vectored(&mut parts, &mut out);
        assert!(parts.is_empty());
    }

    #[test]
    fn poll_transmit_appends_after_existing_bytes() {
        let mut conn = Connection::new(Role::Server, Limits::default());
        conn.send(Message::from("a")).unwrap();
        let mut out = b"head".to_vec();
        assert_eq!(conn.poll_transmit(&mut out), 3);
        assert_eq!(out, b"head\x81\x01a");
    }
}
