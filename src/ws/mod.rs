//! RFC 6455 WebSocket, sans-IO: the opening handshake, the frame codec, message assembly and
//! the [`Connection`] state machine.
//!
//! For: everything between "these bytes arrived" and "this message, ping or close happened",
//! and between "send this" and "these bytes must go out", for the live server and for the
//! dissector alike. Not for: sockets, clocks, async or the HTTP request line and head (the
//! `http` room parses those; [`validate_request`] takes the fields it found). It knows no
//! extensions: it offers and accepts none (so `permessage-deflate` is declined and RSV bits
//! are errors).
//!
//! | piece | role |
//! |---|---|
//! | [`handshake`] | accept key, validation of the client's request, 101 / 400 / 426 responses, the client side for tests |
//! | [`FrameDecoder`], [`encode_frame`] | frames: incremental decode with stream offsets, encode |
//! | [`apply_mask`] | masking a word at a time, phase carried across pieces |
//! | [`Utf8Validator`] | UTF-8 checked as pieces arrive, failing at the first hopeless byte |
//! | [`Assembler`] | fragmentation, message size, text UTF-8, control frames, Close payloads |
//! | [`Connection`] | the sans-IO endpoint: automatic pongs, the closing handshake, failing the connection |
//!
//! # Strictness
//!
//! What the peer sends, what we answer, and the rule. Frame and message errors fail the
//! connection (RFC 6455 §7.1.7): a Close frame with the code, an
//! [`Event::ProtocolError`], nothing more read. Each [`Error`] variant names its rule.
//!
//! | input | answer | rule |
//! |---|---|---|
//! | request method other than GET | 400 | §4.1, §4.2.1 item 1 |
//! | request version below HTTP/1.1 | 400 | §4.2.1 item 1 |
//! | no `Host`, or more than one | 400 | §4.2.1 item 2; RFC 9112 §3.2 |
//! | `Upgrade` without the `websocket` token (case-insensitive, any of several fields) | 400 | §4.2.1 item 3 |
//! | `Connection` without the `upgrade` token (`keep-alive, Upgrade` is fine) | 400 | §4.2.1 item 4 |
//! | `Sec-WebSocket-Key` absent, repeated, or not base64 of exactly 16 bytes | 400 | §4.2.1 item 5 |
//! | `Sec-WebSocket-Version` absent or other than `13` | 426 with `Sec-WebSocket-Version: 13` | §4.2.1 item 6, §4.4 |
//! | `Sec-WebSocket-Protocol` element that is not a token | 400 | §4.1 ("MUST be non-empty strings ... token") |
//! | `Sec-WebSocket-Extensions` offered | ignored: none accepted | §9.1 |
//! | RSV1/RSV2/RSV3 set | close 1002 | §5.2 |
//! | opcode 3-7 or 0xB-0xF | close 1002 | §5.2 |
//! | client frame without MASK (server side) | close 1002 | §5.1 |
//! | server frame with MASK (client side) | close 1002 | §5.1 |
//! | control frame with FIN = 0 | close 1002 | §5.5 |
//! | control frame payload over 125 bytes | close 1002 | §5.5 |
//! | 64-bit length with the most significant bit set | close 1002 | §5.2 |
//! | length not minimally encoded (126 + value < 126, 127 + value < 65536) | close 1002 (**deliberate**: tungstenite accepts) | §5.2 "the minimal number of bytes MUST be used" |
//! | frame payload over [`Limits::max_frame`] | close 1009, at the header | §10.4, §7.4.1 |
//! | message over [`Limits::max_message`] (summed across fragments) | close 1009, at the header that crosses it | §10.4, §7.4.1 |
//! | continuation frame with no message in progress | close 1002 | §5.4 |
//! | text or binary frame while a fragmented message is in progress | close 1002 | §5.4 |
//! | ping, pong or close between fragments | accepted | §5.4 "Control frames MAY be injected in the middle" |
//! | text message with invalid UTF-8 | close 1007, at the first hopeless byte, before the last fragment | §8.1 |
//! | ping | pong with the same payload, each ping answered | §5.5.2, §5.5.3 |
//! | unsolicited pong | [`Event::Pong`], no answer | §5.5.3 |
//! | close with empty payload | empty close echoed, then closed | §5.5.1 |
//! | close with a 1-byte payload | close 1002 | §5.5.1 |
//! | close code 0-999, 1004-1006, 1015-2999, 5000+ | close 1002 | §7.4, IANA registry |
//! | close code 1012-1014, 3000-4999 | accepted | IANA registry, §7.4.2 |
//! | close reason not UTF-8 | close 1007 | §5.5.1, §8.1 |
//! | valid close | the code echoed (no reason), then closed | §5.5.1 "typically echos the status code it received" |
//! | bytes after the peer's close, or after an error | ignored | §5.5.1, §7.1.7 |
//! | ping after we sent close | not answered: our Close is our last frame | §5.5.1 |
//! | no close reply within [`Limits::close_timeout`] after ours | closed | §7.1.1 |
//!
//! # Call order
//!
//! Handshake first ([`validate_request`], then [`ClientHandshake::encode_response`]), then a
//! [`Connection`] fed with whatever bytes followed the request head. See [`Connection`] for
//! its loop.
//!
//! ```
//! use std::time::Duration;
//! use wiretap::ws::{self, Connection, Event, Limits, Role, State};
//!
//! // The request's header fields, as the http parser yields them.
//! let fields: [(&[u8], &[u8]); 5] = [
//!     (b"Host", b"localhost"),
//!     (b"Upgrade", b"websocket"),
//!     (b"Connection", b"keep-alive, Upgrade"),
//!     (b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
//!     (b"Sec-WebSocket-Version", b"13"),
//! ];
//! let mut out = Vec::new();
//! match ws::validate_request("GET", true, fields) {
//!     Ok(hs) => hs.encode_response(&mut out, hs.select_protocol(&["chat"])),
//!     Err(refused) => return refused.encode_response(&mut out), // then close the socket
//! }
//! assert!(out.starts_with(b"HTTP/1.1 101 "));
//!
//! // An echo server: a client's masked "Hello" (RFC 6455 §5.7), then its Close (1000).
//! let mut conn = Connection::new(Role::Server, Limits::default());
//! let reads: [&[u8]; 2] = [
//!     &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58],
//!     &[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8],
//! ];
//! out.clear();
//! for read in reads {
//!     conn.handle_input(read, Duration::ZERO);
//!     while let Some(event) = conn.poll_event() {
//!         if let Event::Message(message) = event {
//!             conn.send(message).unwrap();
//!         }
//!     }
//!     conn.poll_transmit(&mut out); // then write `out` to the socket
//! }
//! // Our echo of "Hello" (unmasked), then the echo of the Close code.
//! assert_eq!(out, [0x81, 0x05, b'H', b'e', b'l', b'l', b'o', 0x88, 0x02, 0x03, 0xe8]);
//! assert_eq!(conn.state(), State::Closed); // flush, then close the TCP connection
//! ```

pub mod close;
pub mod connection;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod message;
pub mod utf8;

use std::fmt;
use std::time::Duration;

pub use close::{encode_close_payload, CloseCode, ClosePayload, MAX_CLOSE_REASON};
pub use connection::{Connection, State, UsageError, OWNED_PAYLOAD_MIN};
pub use frame::{
    encode_frame, FrameDecoder, FrameEvent, FrameHeader, Opcode, MAX_CONTROL_PAYLOAD,
    MAX_HEADER_LEN,
};
pub use handshake::{
    accept_key, encode_client_request, encode_key, validate_request, validate_response,
    ClientHandshake, HandshakeError, ResponseError, ServerHandshake, GUID,
};
pub use mask::apply_mask;
pub use message::{Assembler, Event, Message};
pub use utf8::{InvalidUtf8, Utf8Validator};

/// The outcome of an incremental decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// `value` was decoded from the first `consumed` bytes of the buffer.
    Complete {
        /// What was decoded.
        value: T,
        /// How many bytes of the buffer it took.
        consumed: usize,
    },
    /// More input is needed; what the buffer held was taken (see the decoder's doc).
    Partial,
}

/// Which end of the connection we are. It decides masking: RFC 6455 §5.1 "a client MUST mask
/// all frames that it sends to the server", "A server MUST NOT mask any frames that it sends
/// to the client".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We accepted the connection: we read masked frames and send unmasked ones.
    Server,
    /// We opened it (tests and replay): we read unmasked frames and send masked ones.
    Client,
}

/// Resource limits for one connection. Each default comes with its precedents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest frame payload accepted, in bytes; beyond it the connection fails with 1009
    /// as soon as the length field is read. Default 16 MiB: tungstenite 16 MiB
    /// (`max_frame_size`), Autobahn 9.1.6 / 9.2.6 send 16 MiB in a single frame.
    pub max_frame: usize,
    /// The largest message accepted, summed over its fragments; beyond it the connection
    /// fails with 1009 at the header that would cross it. Default 64 MiB: tungstenite 64 MiB
    /// (`max_message_size`), node ws 100 MiB (`maxPayload`), Python websockets 1 MiB
    /// (`max_size`); Autobahn 9.x needs at least 16 MiB.
    pub max_message: usize,
    /// How long to wait for the peer's Close after sending ours, before giving up (the state
    /// becomes [`State::Closed`]). Default 10 s: Python websockets 10 s (`close_timeout`),
    /// node ws 30 s (`closeTimeout`), Autobahn waits 2 s for a server to close.
    pub close_timeout: Duration,
}

impl Limits {
    /// The defaults, as a constant.
    pub const DEFAULT: Self = Self {
        max_frame: 16 << 20,
        max_message: 64 << 20,
        close_timeout: Duration::from_secs(10),
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A rule the peer broke, after the handshake. Each one fails the connection with
/// [`close_code`](Self::close_code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// RFC 6455 §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated that defines
    /// meanings for non-zero values" (we negotiate none).
    ReservedBits,
    /// RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the
    /// WebSocket Connection_."
    ReservedOpcode,
    /// RFC 6455 §5.5: control frames "MUST NOT be fragmented" (FIN = 0).
    FragmentedControl,
    /// RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    ControlTooLong,
    /// RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that is not
    /// masked."
    UnmaskedFrame,
    /// RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame."
    MaskedFrame,
    /// RFC 6455 §5.2: a 64-bit length has "the most significant bit MUST be 0".
    LengthOverflow,
    /// RFC 6455 §5.2: "In all cases, the minimal number of bytes MUST be used to encode the
    /// length".
    NonMinimalLength,
    /// The frame's payload is over [`Limits::max_frame`]. RFC 6455 §10.4: implementations
    /// "MUST protect themselves against exceeding those limits"; §7.4.1 1009: "a message that
    /// is too big for it to process".
    FrameTooLarge,
    /// The message, summed over its fragments, is over [`Limits::max_message`] (§10.4,
    /// §7.4.1 1009).
    MessageTooLarge,
    /// RFC 6455 §5.4: a continuation frame (opcode 0) with no fragmented message to continue.
    UnexpectedContinuation,
    /// RFC 6455 §5.4: "The fragments of one message MUST NOT be interleaved between the
    /// fragments of another message unless an extension has been negotiated".
    ExpectedContinuation,
    /// RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that
    /// the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the
    /// WebSocket Connection_." (a text message).
    InvalidUtf8,
    /// RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte
    /// unsigned integer": a 1-byte Close payload.
    CloseTooShort,
    /// RFC 6455 §7.4: a Close code that may not be sent (0-999, 1004-1006, 1015-2999, 5000+;
    /// see [`CloseCode::is_valid_on_wire`]).
    InvalidCloseCode,
    /// RFC 6455 §5.5.1: "the body MAY contain UTF-8-encoded data with value /reason/": the
    /// reason is not UTF-8 (§8.1).
    InvalidCloseReason,
}

impl Error {
    /// The code of the Close frame that fails the connection: 1007 for bad UTF-8 ("data
    /// within a message that was not consistent with the type of the message"), 1009 for the
    /// size limits ("a message that is too big"), 1002 ("protocol error") for the rest.
    pub fn close_code(self) -> CloseCode {
        match self {
            Self::InvalidUtf8 | Self::InvalidCloseReason => CloseCode::INVALID_PAYLOAD,
            Self::FrameTooLarge | Self::MessageTooLarge => CloseCode::TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// The section of RFC 6455 that the peer broke.
    pub fn rule(self) -> &'static str {
        match self {
            Self::ReservedBits | Self::ReservedOpcode => "RFC 6455 §5.2",
            Self::LengthOverflow | Self::NonMinimalLength => "RFC 6455 §5.2",
            Self::UnmaskedFrame | Self::MaskedFrame => "RFC 6455 §5.1",
            Self::FragmentedControl | Self::ControlTooLong => "RFC 6455 §5.5",
            Self::FrameTooLarge | Self::MessageTooLarge => "RFC 6455 §10.4",
            Self::UnexpectedContinuation | Self::ExpectedContinuation => "RFC 6455 §5.4",
            Self::InvalidUtf8 => "RFC 6455 §8.1",
            Self::CloseTooShort | Self::InvalidCloseReason => "RFC 6455 §5.5.1",
            Self::InvalidCloseCode => "RFC 6455 §7.4",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ReservedBits => "reserved bits set with no extension negotiated",
            Self::ReservedOpcode => "reserved opcode",
            Self::FragmentedControl => "fragmented control frame",
            Self::ControlTooLong => "control frame payload over 125 bytes",
            Self::UnmaskedFrame => "unmasked frame from a client",
            Self::MaskedFrame => "masked frame from a server",
            Self::LengthOverflow => "64-bit payload length with the top bit set",
            Self::NonMinimalLength => "payload length not minimally encoded",
            Self::FrameTooLarge => "frame payload over the size limit",
            Self::MessageTooLarge => "message over the size limit",
            Self::UnexpectedContinuation => "continuation frame with no message in progress",
            Self::ExpectedContinuation => "new data frame inside a fragmented message",
            Self::InvalidUtf8 => "invalid utf-8 in a text message",
            Self::CloseTooShort => "close payload of one byte",
            Self::InvalidCloseCode => "close code not allowed on the wire",
            Self::InvalidCloseReason => "invalid utf-8 in a close reason",
        })
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Error; 16] = [
        Error::ReservedBits,
        Error::ReservedOpcode,
        Error::FragmentedControl,
        Error::ControlTooLong,
        Error::UnmaskedFrame,
        Error::MaskedFrame,
        Error::LengthOverflow,
        Error::NonMinimalLength,
        Error::FrameTooLarge,
        Error::MessageTooLarge,
        Error::UnexpectedContinuation,
        Error::ExpectedContinuation,
        Error::InvalidUtf8,
        Error::CloseTooShort,
        Error::InvalidCloseCode,
        Error::InvalidCloseReason,
    ];

    #[test]
    fn error_is_one_byte() {
        assert_eq!(std::mem::size_of::<Error>(), 1);
    }

    #[test]
    fn errors_map_to_the_close_codes_of_the_strictness_table() {
        for error in ALL {
            let expected = match error {
                Error::InvalidUtf8 | Error::InvalidCloseReason => 1007,
                Error::FrameTooLarge | Error::MessageTooLarge => 1009,
                _ => 1002,
            };
            assert_eq!(error.close_code().0, expected, "{error:?}");
            assert!(error.close_code().is_valid_on_wire());
            assert!(error.rule().starts_with("RFC 6455 §"));
        }
    }

    #[test]
    fn error_messages_are_lowercase_without_a_period() {
        for error in ALL {
            let text = error.to_string();
            assert!(!text.ends_with('.'), "{text}");
            assert!(!text.starts_with(char::is_uppercase), "{text}");
            // Short enough to travel as a close reason.
            assert!(text.len() <= MAX_CLOSE_REASON, "{text}");
        }
    }

    #[test]
    fn default_limits_take_autobahn_16_mib_messages() {
        let limits = Limits::default();
        assert!(limits.max_frame >= 16 << 20);
        assert!(limits.max_message >= 16 << 20);
        assert!(limits.max_message >= limits.max_frame);
    }
}
