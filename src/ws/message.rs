//! Messages, and the [`Assembler`] that builds them from frames (RFC 6455 §5.4-§5.6).
//!
//! For: the rules that span frames. Fragmentation ("continuation" needs a message in
//! progress, a new message must wait for the last fragment), control frames interleaved
//! between fragments, the message size limit, UTF-8 of text messages checked as the bytes
//! arrive, and Close payloads. Not for: single-frame rules (the [`FrameDecoder`] checks
//! them) or replies (the [`Connection`] sends pongs and closes).
//!
//! A dissector drives a [`FrameDecoder`] and an `Assembler` per direction; the
//! [`Connection`] does the same and adds the replies.
//!
//! [`FrameDecoder`]: super::FrameDecoder
//! [`Connection`]: super::Connection

use super::close::ClosePayload;
use super::utf8::first_invalid;
use super::{CloseCode, Error, FrameHeader, Limits, Opcode, Utf8Validator, MAX_CONTROL_PAYLOAD};

/// A complete data message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// A text message: its payload is valid UTF-8 (RFC 6455 §5.6).
    Text(String),
    /// A binary message: "The "Payload data" is arbitrary binary data".
    Binary(Vec<u8>),
}

impl Message {
    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Binary(bytes) => bytes,
        }
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// The opcode of the message's first frame.
    pub fn opcode(&self) -> Opcode {
        match self {
            Self::Text(_) => Opcode::Text,
            Self::Binary(_) => Opcode::Binary,
        }
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<Vec<u8>> for Message {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Binary(bytes)
    }
}

impl From<&[u8]> for Message {
    fn from(bytes: &[u8]) -> Self {
        Self::Binary(bytes.to_vec())
    }
}

/// What the peer did, as the [`Assembler`] and the [`Connection`](super::Connection) report
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Event {
    /// A complete text or binary message.
    Message(Message),
    /// A ping with its payload (the connection answers it by itself).
    Ping(Vec<u8>),
    /// A pong with its payload, solicited or not (RFC 6455 §5.5.3: "A Pong frame MAY be sent
    /// unsolicited").
    Pong(Vec<u8>),
    /// The peer's Close frame: its code (`None` for an empty payload) and reason.
    Close {
        /// The status code, `None` when the payload was empty.
        code: Option<CloseCode>,
        /// The reason, possibly empty.
        reason: String,
    },
    /// The peer broke a rule; the connection sent (or will send) a Close with
    /// [`Error::close_code`] and reads nothing more. Only [`Connection`](super::Connection)
    /// emits it; the `Assembler` returns the error instead.
    ProtocolError(Error),
}

/// The message in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Data {
    /// Between messages.
    Idle,
    Text,
    Binary,
}

/// Builds messages and control events from the headers and payload pieces of a
/// [`FrameDecoder`](super::FrameDecoder), enforcing the rules that span frames.
///
/// Call order: [`handle_header`](Self::handle_header) for each header, then
/// [`handle_payload`](Self::handle_payload) for each payload piece (still masked, exactly as
/// the decoder delimits them). After an error the assembler's state is unspecified: stop.
///
/// Buffers: control payloads live in a fixed 125-byte array; a data message's buffer is
/// handed over to the [`Message`], so an assembler between messages holds no heap memory.
///
/// ```
/// use wiretap::ws::{Assembler, Event, FrameHeader, Limits, Message, Opcode};
///
/// let mut assembler = Assembler::new(&Limits::default());
/// let frame = |fin, opcode, len| FrameHeader { fin, rsv: 0, opcode, mask: None, payload_len: len };
/// assembler.handle_header(&frame(false, Opcode::Text, 3)).unwrap();
/// assert_eq!(assembler.handle_payload(b"Hel", true).unwrap(), None);
/// // A ping between the fragments is delivered at once.
/// assembler.handle_header(&frame(true, Opcode::Ping, 1)).unwrap();
/// assert_eq!(assembler.handle_payload(b"?", true).unwrap(), Some(Event::Ping(b"?".to_vec())));
/// assembler.handle_header(&frame(true, Opcode::Continuation, 2)).unwrap();
/// let event = assembler.handle_payload(b"lo", true).unwrap();
/// assert_eq!(event, Some(Event::Message(Message::Text("Hello".into()))));
/// ```
#[derive(Debug, Clone)]
pub struct Assembler {
    max_message: usize,
    /// The frame whose payload is arriving, and how much of it has.
    frame: Option<FrameHeader>,
    frame_offset: u64,
    /// The data message in progress and its bytes so far (unmasked).
    data: Data,
    buf: Vec<u8>,
    /// `buf.len()` when the current data frame began: maps UTF-8 offsets to frame offsets.
    frame_data_start: usize,
    utf8: Utf8Validator,
    /// The current control frame's payload.
    control: [u8; MAX_CONTROL_PAYLOAD],
    control_len: usize,
    error_offset: Option<u64>,
}

/// The most a header makes the assembler reserve ahead of the payload: the peer may
/// announce a large frame and then send nothing.
const RESERVE_AHEAD: u64 = 64 * 1024;

impl Assembler {
    /// An assembler between messages, enforcing `limits.max_message`.
    pub fn new(limits: &Limits) -> Self {
        Self {
            max_message: limits.max_message,
            frame: None,
            frame_offset: 0,
            data: Data::Idle,
            buf: Vec::new(),
            frame_data_start: 0,
            utf8: Utf8Validator::new(),
            control: [0; MAX_CONTROL_PAYLOAD],
            control_len: 0,
            error_offset: None,
        }
    }

    /// The heap capacity held for the message in progress (0 between messages).
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// True while a fragmented message has started and its last fragment has not arrived.
    pub fn is_in_message(&self) -> bool {
        self.data != Data::Idle
    }

    /// The offset, counted from the first byte of the current frame's header, of the byte
    /// that broke the rule in the last error: byte 0 for the fragmentation rules, the length
    /// field for the size limit, the offending payload byte for UTF-8 and Close payloads.
    pub fn error_frame_offset(&self) -> Option<u64> {
        self.error_offset
    }

    /// Takes the next frame header, checking the fragmentation rules and the message size.
    pub fn handle_header(&mut self, header: &FrameHeader) -> Result<(), Error> {
        self.frame = Some(*header);
        self.frame_offset = 0;
        match header.opcode {
            Opcode::Text | Opcode::Binary => {
                // RFC 6455 §5.4: "The fragments of one message MUST NOT be interleaved between
                // the fragments of another message unless an extension has been negotiated".
                if self.data != Data::Idle {
                    return Err(self.fail(Error::ExpectedContinuation, 0));
                }
                self.data = if header.opcode == Opcode::Text {
                    Data::Text
                } else {
                    Data::Binary
                };
                self.buf.clear();
                self.utf8.reset();
            }
            Opcode::Continuation => {
                // RFC 6455 §5.4: a fragmented message is "a single frame with the FIN bit
                // clear and an opcode other than 0, followed by zero or more frames with the
                // FIN bit clear and the opcode set to 0"; a continuation needs that start.
                if self.data == Data::Idle {
                    return Err(self.fail(Error::UnexpectedContinuation, 0));
                }
            }
            Opcode::Close | Opcode::Ping | Opcode::Pong => {
                self.control_len = 0;
                return Ok(());
            }
        }
        // RFC 6455 §10.4: "Implementations that have implementation- and/or platform-specific
        // limitations regarding the frame size or total message size after reassembly from
        // multiple frames MUST protect themselves against exceeding those limits." Checked on
        // the announced length, before any payload arrives.
        let total = (self.buf.len() as u64).saturating_add(header.payload_len);
        if total > self.max_message as u64 {
            return Err(self.fail(Error::MessageTooLarge, header.length_field_offset() as u64));
        }
        self.frame_data_start = self.buf.len();
        // Within `max_message`, so within usize; capped so a bare header costs little.
        let ahead = header.payload_len.min(RESERVE_AHEAD) as usize;
        if self.buf.capacity() == 0 {
            // The first frame of a message (the last one's buffer went with it): one exact
            // allocation, without the growth path of `reserve`.
            self.buf = Vec::with_capacity(ahead);
        } else {
            self.buf.reserve(ahead);
        }
        Ok(())
    }

    /// Takes the next piece of the current frame's payload, still masked; `last` marks the
    /// piece that ends the frame. Returns an event when a message or control frame is
    /// complete.
    // Inlined with `data_payload` into the connection's decoding loop: the finished message
    // is then built where it is returned instead of being copied out of a return slot right
    // after its fields were written (a store-forwarding stall per copy, which cost as much
    // as the rest of a small message's handling).
    #[inline(always)]
    pub fn handle_payload(&mut self, piece: &[u8], last: bool) -> Result<Option<Event>, Error> {
        let Some(header) = self.frame else {
            // No header came first: a caller bug, not a peer's. Nothing to attach it to.
            return Ok(None);
        };
        let offset = self.frame_offset;
        self.frame_offset += piece.len() as u64;
        if header.opcode.is_control() {
            self.control_payload(&header, piece, offset, last)
        } else {
            self.data_payload(&header, piece, offset, last)
        }
    }

    fn control_payload(
        &mut self,
        header: &FrameHeader,
        piece: &[u8],
        offset: u64,
        last: bool,
    ) -> Result<Option<Event>, Error> {
        let start = self.control_len;
        let Some(room) = self.control.get_mut(start..start + piece.len()) else {
            // Only reachable when the headers did not come from a `FrameDecoder`.
            return Err(self.fail(Error::ControlTooLong, 1));
        };
        room.copy_from_slice(piece);
        header.unmask(room, offset);
        self.control_len += piece.len();
        if !last {
            return Ok(None);
        }
        self.frame = None;
        let payload = &self.control[..self.control_len];
        Ok(Some(match header.opcode {
            Opcode::Ping => Event::Ping(payload.to_vec()),
            Opcode::Pong => Event::Pong(payload.to_vec()),
            _ => match ClosePayload::parse_at(payload) {
                Ok(close) => Event::Close {
                    code: close.code,
                    reason: close.reason.to_owned(),
                },
                Err((error, at)) => {
                    let at = header.encoded_len() + at;
                    return Err(self.fail(error, at as u64));
                }
            },
        }))
    }

    #[inline(always)]
    fn data_payload(
        &mut self,
        header: &FrameHeader,
        piece: &[u8],
        offset: u64,
        last: bool,
    ) -> Result<Option<Event>, Error> {
        let start = self.buf.len();
        if start.saturating_add(piece.len()) > self.max_message {
            // Only reachable when the headers did not come from a `FrameDecoder`.
            return Err(self.fail(Error::MessageTooLarge, 1));
        }
        self.buf.extend_from_slice(piece);
        header.unmask(&mut self.buf[start..], offset);
        // The whole message in one piece (one unfragmented frame, or the first bytes of a
        // message after empty fragments): its text is checked once, by `String::from_utf8`
        // below, which fails no later than the per-piece check would, since nothing follows.
        let whole_message = start == 0 && last && header.fin;
        if self.data == Data::Text && !whole_message {
            // RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but
            // finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint
            // MUST _Fail the WebSocket Connection_." Checked per piece, to fail fast.
            let fin = last && header.fin;
            let checked = self.utf8.feed(&self.buf[start..]);
            if let Err(bad) = checked.and_then(|()| if fin { self.utf8.finish() } else { Ok(()) }) {
                let in_frame = bad.offset.saturating_sub(self.frame_data_start as u64);
                return Err(self.fail(Error::InvalidUtf8, header.encoded_len() as u64 + in_frame));
            }
        }
        if !last {
            return Ok(None);
        }
        self.frame = None;
        if !header.fin {
            return Ok(None);
        }
        // Hand the buffer to the message: between messages we hold no heap memory.
        let bytes = std::mem::take(&mut self.buf);
        let data = std::mem::replace(&mut self.data, Data::Idle);
        let message = if data == Data::Text {
            // A whole message in one piece is checked here only; any other was validated
            // piece by piece above, and `String::from_utf8` checks once more because that is
            // the only safe way to make a `String` (no `unsafe` here).
            match String::from_utf8(bytes) {
                Ok(text) => Message::Text(text),
                Err(error) => {
                    // Only a whole message gets here. The offending offset is the one the
                    // per-piece check reports for the same bytes fed at once.
                    let in_frame = first_invalid(error.as_bytes()).map_or(0, |bad| bad.offset);
                    return Err(
                        self.fail(Error::InvalidUtf8, header.encoded_len() as u64 + in_frame)
                    );
                }
            }
        } else {
            Message::Binary(bytes)
        };
        Ok(Some(Event::Message(message)))
    }

    fn fail(&mut self, error: Error, frame_offset: u64) -> Error {
        self.error_offset = Some(frame_offset);
        // Nothing more will be assembled: release the partial message.
        self.buf = Vec::new();
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(fin: bool, opcode: Opcode, payload_len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// Feeds frames (fin, opcode, payload) whole; returns the events, or the first error with
    /// the frame index and frame offset.
    fn assemble(
        limits: &Limits,
        frames: &[(bool, Opcode, &[u8])],
    ) -> Result<Vec<Event>, (Error, usize, u64)> {
        let mut assembler = Assembler::new(limits);
        let mut events = Vec::new();
        for (i, &(fin, opcode, payload)) in frames.iter().enumerate() {
            let fail = |a: &Assembler, e| (e, i, a.error_frame_offset().unwrap());
            let h = header(fin, opcode, payload.len() as u64);
            assembler
                .handle_header(&h)
                .map_err(|e| fail(&assembler, e))?;
            match assembler.handle_payload(payload, true) {
                Ok(event) => events.extend(event),
                Err(e) => return Err(fail(&assembler, e)),
            }
        }
        Ok(events)
    }

    fn text(s: &str) -> Event {
        Event::Message(Message::Text(s.into()))
    }

    #[test]
    fn assembles_fragments_with_control_frames_between() {
        let got = assemble(
            &Limits::default(),
            &[
                (false, Opcode::Binary, b"ab"),
                (true, Opcode::Pong, b"p"),
                (false, Opcode::Continuation, b""),
                (true, Opcode::Ping, b""),
                (true, Opcode::Continuation, b"c"),
                (true, Opcode::Text, b"t"),
            ],
        );
        assert_eq!(
            got,
            Ok(vec![
                Event::Pong(b"p".to_vec()),
                Event::Ping(Vec::new()),
                Event::Message(Message::Binary(b"abc".to_vec())),
                text("t"),
            ])
        );
    }

    #[test]
    fn rejects_continuation_with_no_message_in_progress() {
        let got = assemble(&Limits::default(), &[(true, Opcode::Continuation, b"x")]);
        assert_eq!(got, Err((Error::UnexpectedContinuation, 0, 0)));
    }

    #[test]
    fn rejects_new_message_while_fragmented_one_is_in_progress() {
        let got = assemble(
            &Limits::default(),
            &[(false, Opcode::Text, b"a"), (true, Opcode::Binary, b"b")],
        );
        assert_eq!(got, Err((Error::ExpectedContinuation, 1, 0)));
    }

    #[test]
    fn rejects_message_over_the_limit_across_fragments_before_its_payload() {
        let limits = Limits {
            max_message: 4,
            ..Limits::default()
        };
        let ok = assemble(
            &limits,
            &[
                (false, Opcode::Text, b"ab"),
                (true, Opcode::Continuation, b"cd"),
            ],
        );
        assert_eq!(ok, Ok(vec![text("abcd")]));
        let got = assemble(
            &limits,
            &[
                (false, Opcode::Text, b"abc"),
                (true, Opcode::Continuation, b"de"),
            ],
        );
        assert_eq!(got, Err((Error::MessageTooLarge, 1, 1)));
    }

    #[test]
    fn fails_fast_on_invalid_utf8_in_first_fragment() {
        // The first fragment already holds a surrogate: no need to wait for the rest.
        let got = assemble(
            &Limits::default(),
            &[(false, Opcode::Text, b"ok\xed\xa0\x80")],
        );
        assert_eq!(got, Err((Error::InvalidUtf8, 0, 2 + 3)));
    }

    #[test]
    fn fails_on_utf8_sequence_split_across_fragments_at_the_bad_byte() {
        let got = assemble(
            &Limits::default(),
            &[
                (false, Opcode::Text, b"a\xf4"),
                (true, Opcode::Continuation, b"\x90\x80\x80"),
            ],
        );
        // The offending 0x90 is byte 0 of the second frame's payload, after a 2-byte header.
        assert_eq!(got, Err((Error::InvalidUtf8, 1, 2)));
    }

    #[test]
    fn rejects_text_that_ends_mid_sequence() {
        let got = assemble(
            &Limits::default(),
            &[
                (false, Opcode::Text, b"\xce"),
                (true, Opcode::Continuation, b""),
            ],
        );
        assert_eq!(got, Err((Error::InvalidUtf8, 1, 2)));
    }

    #[test]
    fn accepts_utf8_split_across_fragments() {
        let got = assemble(
            &Limits::default(),
            &[
                (false, Opcode::Text, b"\xce"),
                (true, Opcode::Continuation, b"\xba"),
            ],
        );
        assert_eq!(got, Ok(vec![text("κ")]));
    }

    #[test]
    fn binary_messages_are_not_checked_for_utf8() {
        let got = assemble(&Limits::default(), &[(true, Opcode::Binary, b"\xff")]);
        assert_eq!(got, Ok(vec![Event::Message(Message::Binary(vec![0xff]))]));
    }

    #[test]
    fn parses_close_payloads_and_reports_their_errors() {
        type Case = (&'static [u8], Result<Vec<Event>, (Error, usize, u64)>);
        let cases: &[Case] = &[
            (
                b"",
                Ok(vec![Event::Close {
                    code: None,
                    reason: String::new(),
                }]),
            ),
            (
                b"\x03\xe8bye",
                Ok(vec![Event::Close {
                    code: Some(CloseCode::NORMAL),
                    reason: "bye".into(),
                }]),
            ),
            (b"\x03", Err((Error::CloseTooShort, 0, 2))),
            (b"\x03\xee", Err((Error::InvalidCloseCode, 0, 2))),
            (b"\x03\xe8\xff", Err((Error::InvalidCloseReason, 0, 4))),
        ];
        for (payload, expected) in cases {
            let got = assemble(&Limits::default(), &[(true, Opcode::Close, payload)]);
            assert_eq!(&got, expected, "{payload:02x?}");
        }
    }

    #[test]
    fn unmasks_pieces_with_the_phase_carried() {
        let key = [1, 2, 3, 4];
        let mut wire = b"Hello, world".to_vec();
        crate::ws::apply_mask(&mut wire, key, 0);
        let h = FrameHeader {
            mask: Some(key),
            ..header(true, Opcode::Text, wire.len() as u64)
        };
        let mut assembler = Assembler::new(&Limits::default());
        assembler.handle_header(&h).unwrap();
        assert_eq!(assembler.handle_payload(&wire[..5], false), Ok(None));
        assert_eq!(
            assembler.handle_payload(&wire[5..], true),
            Ok(Some(text("Hello, world")))
        );
    }

    #[test]
    fn holds_no_heap_memory_between_messages() {
        let mut assembler = Assembler::new(&Limits::default());
        let big = vec![0u8; 1 << 20];
        assembler
            .handle_header(&header(true, Opcode::Binary, big.len() as u64))
            .unwrap();
        assert!(assembler.handle_payload(&big, true).unwrap().is_some());
        assert_eq!(assembler.buffer_capacity(), 0);
    }

    #[test]
    fn reserves_little_for_an_announced_but_absent_payload() {
        let mut assembler = Assembler::new(&Limits::default());
        assembler
            .handle_header(&header(true, Opcode::Binary, 16 << 20))
            .unwrap();
        assert!(assembler.buf.capacity() <= RESERVE_AHEAD as usize);
    }
}
