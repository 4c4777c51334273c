//! WebSocket: generators of client frame streams, valid and broken, and the comparison of
//! `wiretap::ws` with tungstenite on the same bytes.

use std::io::{self, Cursor, Read, Write};
use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use tungstenite::protocol::frame::FrameHeader as TFrameHeader;
use tungstenite::protocol::{Role as TRole, WebSocket, WebSocketConfig};
use wiretap::ws::{
    Connection, Error, Event, FrameDecoder, FrameEvent, Limits, Message, Role, Status,
};

use crate::{Disagreement, Outcome};

// -------------------------------------------------------------------------------------------
// Frame headers.

/// One header (or part of one, or one and some payload): ours vs `FrameHeader::parse`.
pub(crate) fn compare_frame_header(input: &[u8]) -> Result<Outcome, String> {
    // The role that expects the MASK bit as sent: masking by role is the messages' business.
    let role = match input.get(1) {
        Some(b1) if b1 & 0x80 == 0 => Role::Client,
        _ => Role::Server,
    };
    // No size limit either: FrameHeader::parse has none (WebSocket::read has, and the
    // messages comparison sets both to the same).
    let limits = Limits {
        max_frame: usize::MAX,
        ..Limits::DEFAULT
    };
    let ours = FrameDecoder::new(role, &limits).decode(input);
    let mut cursor = Cursor::new(input);
    let theirs = TFrameHeader::parse(&mut cursor);
    match (ours, theirs) {
        (
            Ok(Status::Complete {
                value: FrameEvent::Header(h),
                consumed,
            }),
            Ok(Some((t, len))),
        ) => {
            let ours = (
                h.fin,
                h.rsv,
                h.opcode.as_u8(),
                h.mask,
                h.payload_len,
                consumed as u64,
            );
            let rsv = u8::from(t.rsv1) << 2 | u8::from(t.rsv2) << 1 | u8::from(t.rsv3);
            let reference = (
                t.is_final,
                rsv,
                u8::from(t.opcode),
                t.mask,
                len,
                cursor.position(),
            );
            if ours == reference {
                Ok(Outcome::Agree)
            } else {
                Err(format!(
                    "both decode, fields differ (fin, rsv, opcode, mask, len, header len):\n  \
                     ours       {ours:?}\n  tungstenite {reference:?}"
                ))
            }
        }
        (Ok(Status::Partial), Ok(None)) | (Err(_), Err(_)) => Ok(Outcome::Agree),
        (Err(e), Ok(t)) => classify_header(e, input, t.is_none())
            .map(Outcome::Disagree)
            .ok_or_else(|| format!("unlisted: we reject ({e:?}), tungstenite: {t:?}")),
        (ours, theirs) => Err(format!("ours {ours:?}, tungstenite {theirs:?}")),
    }
}

/// Whether the frame starting at `start` encodes its length in more bytes than needed, as
/// far as the bytes present decide it: a 16-bit field under 126, or a 64-bit field whose
/// first six bytes are zero (under 65536 whatever the last two are).
fn non_minimal_at(input: &[u8], start: usize) -> bool {
    let field = |n: usize| input.get(start + 2..start + 2 + n);
    match input.get(start + 1).map(|b| b & 0x7F) {
        Some(126) => field(2).is_some_and(|f| u16::from_be_bytes([f[0], f[1]]) < 126),
        Some(127) => field(6).is_some_and(|f| f.iter().all(|&b| b == 0)),
        _ => false,
    }
}

/// The payload length the header at `start` announces, if its length field is all there.
fn announced_length(input: &[u8], start: usize) -> Option<u64> {
    let len7 = input.get(start + 1)? & 0x7F;
    let ext = match len7 {
        126 => 2,
        127 => 8,
        _ => return Some(u64::from(len7)),
    };
    let field = input.get(start + 2..start + 2 + ext)?;
    Some(field.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b)))
}

/// Whether the frame starting at `start` has a 64-bit length with the top bit set.
fn top_bit_at(input: &[u8], start: usize) -> bool {
    input.get(start + 1).is_some_and(|b| b & 0x7F == 127)
        && input.get(start + 2).is_some_and(|b| b & 0x80 != 0)
}

fn classify_header(error: Error, input: &[u8], their_partial: bool) -> Option<Disagreement> {
    use Disagreement as D;
    let b0 = *input.first()?;
    let opcode = b0 & 0x0F;
    let control = opcode & 0x08 != 0;
    match error {
        Error::ReservedBits if b0 & 0x70 != 0 => Some(D::ReservedBitsLeftToCaller),
        Error::FragmentedControl if control && b0 & 0x80 == 0 => Some(D::ControlRulesLeftToCaller),
        Error::ControlTooLong if control && input.get(1).is_some_and(|b| b & 0x7F > 125) => {
            Some(D::ControlRulesLeftToCaller)
        }
        Error::ReservedOpcode if their_partial && matches!(opcode, 3..=7 | 0xB..=0xF) => {
            Some(D::ReservedOpcodeBeforeHeaderEnd)
        }
        Error::NonMinimalLength if non_minimal_at(input, 0) => Some(D::NonMinimalLength),
        Error::LengthOverflow if top_bit_at(input, 0) => Some(D::LengthTopBit),
        _ => None,
    }
}

/// A header with biased length fields, then a few payload bytes, often cut short.
pub(crate) fn frame_header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let b1 = prop_oneof![
        any::<u8>(),
        (select(vec![0u8, 1, 125, 126, 127]), any::<bool>())
            .prop_map(|(len, masked)| len | if masked { 0x80 } else { 0 }),
    ];
    let ext16 = prop_oneof![any::<u16>(), 0u16..126, Just(126u16), Just(u16::MAX)];
    let ext64 = prop_oneof![
        any::<u64>(),
        0u64..0x1_0000,
        Just(0x1_0000u64),
        0x1_0000u64..1 << 32,
        (1u64 << 63)..=u64::MAX,
    ];
    // Half the time a defined opcode and no RSV, so that the rules after byte 0 get their turn.
    let b0 = prop_oneof![
        any::<u8>(),
        (any::<bool>(), select(vec![0x0u8, 0x1, 0x2, 0x8, 0x9, 0xA]))
            .prop_map(|(fin, opcode)| u8::from(fin) << 7 | opcode),
    ];
    (
        b0,
        b1,
        ext16,
        ext64,
        any::<[u8; 4]>(),
        vec(any::<u8>(), 0..4),
        proptest::option::of(any::<Index>()),
    )
        .prop_map(|(b0, b1, ext16, ext64, key, payload, cut)| {
            let mut out = vec![b0, b1];
            match b1 & 0x7F {
                126 => out.extend_from_slice(&ext16.to_be_bytes()),
                127 => out.extend_from_slice(&ext64.to_be_bytes()),
                _ => {}
            }
            if b1 & 0x80 != 0 {
                out.extend_from_slice(&key);
            }
            out.extend(payload);
            if let Some(cut) = cut {
                out.truncate(cut.index(out.len() + 1));
            }
            out
        })
}

// -------------------------------------------------------------------------------------------
// Message streams.

/// What a server application sees.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

/// How the connection ended, once the input ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// Still open, waiting for more bytes.
    Open,
    /// The peer's Close was received (and answered).
    Closed { code: Option<u16>, reason: String },
    /// The connection failed with this close code.
    Failed(u16),
}

#[derive(Debug)]
struct Run {
    seen: Vec<Seen>,
    end: End,
    /// Ours only: the rule broken and the stream offset of the offending byte.
    error: Option<(Error, u64)>,
}

fn run_ours(input: &[u8]) -> Run {
    let mut conn = Connection::new(Role::Server, Limits::default());
    conn.handle_input(input, Duration::ZERO);
    let mut seen = Vec::new();
    let mut end = End::Open;
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Message(Message::Text(text)) => seen.push(Seen::Text(text)),
            Event::Message(Message::Binary(bytes)) => seen.push(Seen::Binary(bytes)),
            Event::Ping(payload) => seen.push(Seen::Ping(payload)),
            Event::Pong(payload) => seen.push(Seen::Pong(payload)),
            Event::Close { code, reason } => {
                end = End::Closed {
                    code: code.map(|c| c.0),
                    reason,
                }
            }
            Event::ProtocolError(error) => end = End::Failed(error.close_code().0),
        }
    }
    Run {
        seen,
        end,
        error: conn.error(),
    }
}

/// An in-memory socket: reads serve the input, then `WouldBlock` (never EOF, which
/// tungstenite would report as a reset); writes are collected.
#[derive(Debug)]
struct Pipe {
    input: Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.input.read(buf)? {
            0 if !buf.is_empty() => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn run_tungstenite(input: &[u8]) -> Run {
    let config = WebSocketConfig::default()
        .max_frame_size(Some(Limits::DEFAULT.max_frame))
        .max_message_size(Some(Limits::DEFAULT.max_message));
    let pipe = Pipe {
        input: Cursor::new(input.to_vec()),
        output: Vec::new(),
    };
    let mut socket = WebSocket::from_raw_socket(pipe, TRole::Server, Some(config));
    let mut seen = Vec::new();
    let mut end = End::Open;
    loop {
        match socket.read() {
            Ok(tungstenite::Message::Text(text)) => seen.push(Seen::Text(text.as_str().to_owned())),
            Ok(tungstenite::Message::Binary(bytes)) => seen.push(Seen::Binary(bytes.to_vec())),
            Ok(tungstenite::Message::Ping(bytes)) => seen.push(Seen::Ping(bytes.to_vec())),
            Ok(tungstenite::Message::Pong(bytes)) => seen.push(Seen::Pong(bytes.to_vec())),
            Ok(tungstenite::Message::Close(close)) => {
                end = match close {
                    None => End::Closed {
                        code: None,
                        reason: String::new(),
                    },
                    // Its answer to a Close with a code not allowed on the wire: it fails the
                    // connection with 1002 this way (our generators never send this reason).
                    Some(c)
                        if c.code == TCloseCode::Protocol
                            && c.reason.as_str() == "Protocol violation" =>
                    {
                        End::Failed(1002)
                    }
                    Some(c) => End::Closed {
                        code: Some(c.code.into()),
                        reason: c.reason.as_str().to_owned(),
                    },
                };
            }
            Ok(tungstenite::Message::Frame(_)) => unreachable!("read() never returns raw frames"),
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => break,
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(tungstenite::Error::Protocol(_)) => {
                end = End::Failed(1002);
                break;
            }
            Err(tungstenite::Error::Utf8(_)) => {
                end = End::Failed(1007);
                break;
            }
            Err(tungstenite::Error::Capacity(_)) => {
                end = End::Failed(1009);
                break;
            }
            Err(e) => panic!(
                "tungstenite: unexpected error {e:?} on {}",
                crate::show(input)
            ),
        }
    }
    Run {
        seen,
        end,
        error: None,
    }
}

/// A client's byte stream: ours vs tungstenite, as servers.
pub(crate) fn compare_messages(input: &[u8]) -> Result<Outcome, String> {
    let ours = run_ours(input);
    let theirs = run_tungstenite(input);
    if ours.seen == theirs.seen && ours.end == theirs.end {
        return Ok(Outcome::Agree);
    }
    classify_messages(input, &ours, &theirs)
        .map(Outcome::Disagree)
        .ok_or_else(|| {
            format!(
                "unlisted:\n  ours        {:?} {:?} (error {:?})\n  tungstenite {:?} {:?}",
                ours.seen, ours.end, ours.error, theirs.seen, theirs.end
            )
        })
}

fn classify_messages(input: &[u8], ours: &Run, theirs: &Run) -> Option<Disagreement> {
    use Disagreement as D;
    let same_seen = ours.seen == theirs.seen;
    if let End::Closed {
        code: Some(1014), ..
    } = ours.end
    {
        return (same_seen && theirs.end == End::Failed(1002)).then_some(D::BadGatewayCloseCode);
    }
    let (error, offset) = ours.error?;
    let at = usize::try_from(offset).ok()?;
    let End::Failed(code) = ours.end else {
        return None;
    };
    // Where the failing frame starts, for the errors found in its header: our offset names
    // byte 0 (bits, opcode), byte 1 (MASK, 7-bit length) or byte 2 (extended length).
    let header_frame = match error {
        Error::ReservedBits | Error::ReservedOpcode | Error::FragmentedControl => Some(at),
        Error::UnmaskedFrame | Error::ControlTooLong => at.checked_sub(1),
        Error::NonMinimalLength | Error::LengthOverflow => at.checked_sub(2),
        _ => None,
    };
    let announced = header_frame.and_then(|s| announced_length(input, s));
    let over_limit = announced.is_some_and(|n| n > Limits::DEFAULT.max_frame as u64);
    match error {
        // We stop at the frame; tungstenite takes it and goes on.
        Error::NonMinimalLength | Error::ControlTooLong
            if header_frame.is_some_and(|s| non_minimal_at(input, s))
                && theirs.seen.starts_with(&ours.seen) =>
        {
            Some(D::NonMinimalLength)
        }
        Error::LengthOverflow
            if header_frame.is_some_and(|s| top_bit_at(input, s))
                && same_seen
                && theirs.end == End::Failed(1009) =>
        {
            Some(D::LengthTopBit)
        }
        _ if over_limit && code == 1002 && same_seen && theirs.end == End::Failed(1009) => {
            Some(D::SizeCheckedBeforeHeaderRules)
        }
        Error::InvalidCloseCode if same_seen && theirs.end == End::Failed(1007) => {
            Some(D::CloseCodeCheckedBeforeReason)
        }
        _ if same_seen && theirs.end == End::Open && fails_once_complete(input, at, code) => {
            Some(D::FailsBeforeFrameEnd)
        }
        _ => None,
    }
}

/// Where tungstenite's reading of `input` stops inside a frame: that frame's first byte.
/// `None` when the input ends between frames or tungstenite rejects a header.
fn unfinished_frame(input: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < input.len() {
        let rest = &input[at..];
        let mut cursor = Cursor::new(rest);
        match TFrameHeader::parse(&mut cursor) {
            Ok(Some((_, len))) => {
                let end = cursor.position().checked_add(len)?;
                if end > rest.len() as u64 {
                    return Some(at);
                }
                at += end as usize;
            }
            Ok(None) => return Some(at),
            Err(_) => return None,
        }
    }
    None
}

/// The bytes that complete the header that starts `rest` without breaking a rule of their
/// own: MASK set if the byte is missing, the length field filled to a minimal encoding when
/// the bytes present still allow one, a zero masking key.
fn header_completion(rest: &[u8]) -> Vec<u8> {
    let Some(&b1) = rest.get(1) else {
        return vec![0x80, 0, 0, 0, 0];
    };
    let (ext, minimal): (usize, &[u8]) = match b1 & 0x7F {
        126 => (2, &[0, 0x7E]),
        127 => (8, &[0, 0, 0, 0, 0, 1, 0, 0]),
        _ => (0, &[]),
    };
    let need = 2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 };
    let have = rest.len().min(2 + ext) - 2;
    let present = &rest[2..2 + have];
    let large = present.iter().any(|&b| b != 0);
    let mut out: Vec<u8> = (have..ext)
        .map(|i| if large { 0 } else { minimal[i] })
        .collect();
    out.resize(need.saturating_sub(rest.len().max(2 + ext)) + out.len(), 0);
    out
}

/// We failed with `code` at `at`, tungstenite waits for the rest of a frame: true when the
/// frame we failed in is that unfinished one and tungstenite, given the frame completed
/// (header by [`header_completion`], payload with bytes that unmask to spaces), fails with
/// our code too. Payloads missing more than 1 MiB are not completed; then only the position
/// is checked.
fn fails_once_complete(input: &[u8], at: usize, code: u16) -> bool {
    let Some(start) = unfinished_frame(input) else {
        return false;
    };
    if at < start {
        return false;
    }
    let mut padded = input.to_vec();
    padded.extend(header_completion(&input[start..]));
    let mut cursor = Cursor::new(&padded[start..]);
    if let Ok(Some((header, len))) = TFrameHeader::parse(&mut cursor) {
        let have = (padded.len() - start) as u64 - cursor.position();
        if len - have > 1 << 20 {
            return true;
        }
        let key = header.mask.unwrap_or_default();
        padded.extend((have..len).map(|i| b' ' ^ key[(i % 4) as usize]));
    }
    run_tungstenite(&padded).end == End::Failed(code)
}

// -------------------------------------------------------------------------------------------
// Generators.

/// How a frame encodes its payload length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Length {
    /// The shortest encoding, as RFC 6455 §5.2 demands.
    Minimal,
    /// 126 and 16 bits, even for 125 bytes or less.
    Wide16,
    /// 127 and 64 bits, even for less than 64 KiB.
    Wide64,
    /// 127 and 64 bits with the top bit set.
    TopBit,
}

/// A frame with every field under the test's control.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload: Vec<u8>,
    length: Length,
}

impl Frame {
    fn client(fin: bool, opcode: u8, payload: Vec<u8>, key: [u8; 4]) -> Self {
        Self {
            fin,
            rsv: 0,
            opcode,
            mask: Some(key),
            payload,
            length: Length::Minimal,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.fin) << 7 | (self.rsv & 0b111) << 4 | (self.opcode & 0x0F));
        let masked = if self.mask.is_some() { 0x80 } else { 0 };
        let n = self.payload.len() as u64;
        let length = match self.length {
            Length::Minimal | Length::Wide16 if n > 0xFFFF => Length::Wide64,
            Length::Minimal if n > 125 => Length::Wide16,
            other => other,
        };
        match length {
            Length::Minimal => out.push(masked | n as u8),
            Length::Wide16 => {
                out.push(masked | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            Length::Wide64 => {
                out.push(masked | 127);
                out.extend_from_slice(&n.to_be_bytes());
            }
            Length::TopBit => {
                out.push(masked | 127);
                out.extend_from_slice(&(n | 1 << 63).to_be_bytes());
            }
        }
        match self.mask {
            Some(key) => {
                out.extend_from_slice(&key);
                out.extend(self.payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            }
            None => out.extend_from_slice(&self.payload),
        }
    }
}

fn encode(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        frame.encode(&mut out);
    }
    out
}

/// What a well-behaved client sends.
#[derive(Debug, Clone)]
enum Item {
    /// A text or binary message, cut into fragments at `cuts`, with a control frame after
    /// one of the fragments.
    Data {
        text: bool,
        payload: Vec<u8>,
        cuts: Vec<Index>,
        between: Option<(Index, u8, Vec<u8>)>,
    },
    Control(u8, Vec<u8>),
    Close(Option<(u16, String)>),
}

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// Valid close codes, 1014 excepted (listed: tungstenite refuses it).
const GOOD_CODES: &[u16] = &[
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 3000, 3999, 4000, 4999,
];
/// Codes no endpoint may send (RFC 6455 §7.4; IANA registry).
const BAD_CODES: &[u16] = &[
    0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
];
/// Bytes that are not UTF-8, alone or where they land.
const NOT_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\x80",
    b"\xe2\x82",
    b"\xf0\x9f",
    b"\xc3",
];

impl Item {
    fn lower(&self, keys: &mut impl Iterator<Item = [u8; 4]>, out: &mut Vec<Frame>) {
        let mut key = || keys.next().unwrap_or_default();
        match self {
            Self::Data {
                text,
                payload,
                cuts,
                between,
            } => {
                let mut points: Vec<usize> =
                    cuts.iter().map(|c| c.index(payload.len() + 1)).collect();
                points.push(0);
                points.push(payload.len());
                points.sort_unstable();
                points.dedup();
                if points.len() == 1 {
                    points.push(payload.len());
                }
                let pieces = points.len() - 1;
                let after = between.as_ref().map(|(i, _, _)| i.index(pieces));
                for (k, pair) in points.windows(2).enumerate() {
                    let opcode = match (k, text) {
                        (0, true) => TEXT,
                        (0, false) => BINARY,
                        _ => 0,
                    };
                    let piece = payload[pair[0]..pair[1]].to_vec();
                    out.push(Frame::client(k + 1 == pieces, opcode, piece, key()));
                    if after == Some(k) && k + 1 < pieces {
                        let (_, opcode, control) = between.as_ref().expect("after is Some");
                        out.push(Frame::client(true, *opcode, control.clone(), key()));
                    }
                }
            }
            Self::Control(opcode, payload) => {
                out.push(Frame::client(true, *opcode, payload.clone(), key()));
            }
            Self::Close(close) => {
                let payload = close.as_ref().map_or_else(Vec::new, |(code, reason)| {
                    [&code.to_be_bytes()[..], reason.as_bytes()].concat()
                });
                out.push(Frame::client(true, CLOSE, payload, key()));
            }
        }
    }
}

fn text() -> impl Strategy<Value = String> {
    vec(
        select(vec![
            'a',
            'Z',
            '0',
            ' ',
            '\0',
            '\u{7f}',
            '\u{e9}',
            '\u{20ac}',
            '\u{1d11e}',
            '\u{10ffff}',
        ]),
        0..40,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn binary() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => vec(any::<u8>(), 0..64),
        2 => (126usize..400, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
        1 => (0x1_0000usize..0x1_0040, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
    ]
}

fn control_payload() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=125)
}

/// Reasons never spell tungstenite's "Protocol violation" (see `run_tungstenite`).
fn reason() -> impl Strategy<Value = String> {
    vec(
        select(vec!['a', 'q', 'z', ' ', '\u{e9}', '\u{20ac}', '\u{1d11e}']),
        0..20,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn item() -> impl Strategy<Value = Item> {
    let between = proptest::option::of((
        any::<Index>(),
        select(vec![PING, PONG]),
        vec(any::<u8>(), 0..8),
    ));
    let data = prop_oneof![
        text().prop_map(|t| (true, t.into_bytes())),
        binary().prop_map(|b| (false, b)),
    ];
    prop_oneof![
        4 => (data, vec(any::<Index>(), 0..4), between).prop_map(
            |((text, payload), cuts, between)| Item::Data { text, payload, cuts, between }
        ),
        1 => (select(vec![PING, PONG]), control_payload()).prop_map(|(op, p)| Item::Control(op, p)),
    ]
}

fn close() -> impl Strategy<Value = Item> {
    proptest::option::of((select(GOOD_CODES), reason())).prop_map(Item::Close)
}

/// A well-behaved client's frames: messages, pings and pongs, maybe a Close and then
/// whatever a client might still send after it (which both sides must ignore).
fn valid_frames() -> impl Strategy<Value = Vec<Frame>> {
    (
        vec(item(), 0..6),
        proptest::option::of((close(), vec(item(), 0..2))),
        any::<u32>(),
    )
        .prop_map(|(items, close, seed)| {
            let mut keys =
                (0u32..).map(|i| seed.wrapping_add(i).wrapping_mul(0x9E37_79B1).to_le_bytes());
            let mut frames = Vec::new();
            for item in &items {
                item.lower(&mut keys, &mut frames);
            }
            if let Some((close, after)) = close {
                close.lower(&mut keys, &mut frames);
                for item in &after {
                    item.lower(&mut keys, &mut frames);
                }
            }
            frames
        })
}

pub(crate) fn valid_stream() -> impl Strategy<Value = Vec<u8>> {
    valid_frames().prop_map(|frames| encode(&frames))
}

/// An edit of one frame (chosen by index), or a frame inserted.
#[derive(Debug, Clone)]
enum FrameEdit {
    Opcode(Index, u8),
    ToggleFin(Index),
    Rsv(Index, u8),
    Unmask(Index),
    Length(Index, Length),
    /// Bytes spliced into the payload (for text: usually not UTF-8; for a Close: the code).
    Splice(Index, Index, Vec<u8>),
    Insert(Index, Frame),
}

impl FrameEdit {
    fn apply(&self, frames: &mut Vec<Frame>) {
        if let Self::Insert(at, frame) = self {
            frames.insert(at.index(frames.len() + 1), frame.clone());
            return;
        }
        let (Self::Opcode(i, _)
        | Self::ToggleFin(i)
        | Self::Rsv(i, _)
        | Self::Unmask(i)
        | Self::Length(i, _)
        | Self::Splice(i, _, _)
        | Self::Insert(i, _)) = self;
        if frames.is_empty() {
            return;
        }
        let len = frames.len();
        let frame = &mut frames[i.index(len)];
        match self {
            Self::Opcode(_, opcode) => frame.opcode = *opcode,
            Self::ToggleFin(_) => frame.fin = !frame.fin,
            Self::Rsv(_, rsv) => frame.rsv = *rsv,
            Self::Unmask(_) => frame.mask = None,
            Self::Length(_, length) => frame.length = *length,
            Self::Splice(_, at, bytes) => {
                let at = at.index(frame.payload.len() + 1);
                frame.payload = [&frame.payload[..at], &bytes[..], &frame.payload[at..]].concat();
            }
            Self::Insert(..) => {}
        }
    }
}

/// A frame that may break any rule: odd opcodes, bits, masks, lengths and payloads.
fn odd_frame() -> impl Strategy<Value = Frame> {
    let payload = prop_oneof![
        4 => vec(any::<u8>(), 0..8),
        1 => (126usize..200).prop_map(|n| vec![b'p'; n]),
        1 => Just(vec![0x03]),
    ];
    let random = (
        any::<bool>(),
        prop_oneof![6 => Just(0u8), 1 => 1u8..8],
        0u8..16,
        proptest::option::weighted(0.85, any::<[u8; 4]>()),
        payload,
        select(vec![
            Length::Minimal,
            Length::Minimal,
            Length::Wide16,
            Length::Wide64,
            Length::TopBit,
        ]),
    )
        .prop_map(|(fin, rsv, opcode, mask, payload, length)| Frame {
            fin,
            rsv,
            opcode,
            mask,
            payload,
            length,
        });
    let bad_close = (
        prop_oneof![select(BAD_CODES), Just(1014u16), select(GOOD_CODES)],
        prop_oneof![
            reason().prop_map(String::into_bytes),
            select(NOT_UTF8).prop_map(<[u8]>::to_vec)
        ],
        any::<[u8; 4]>(),
    )
        .prop_map(|(code, reason, key)| {
            Frame::client(
                true,
                CLOSE,
                [&code.to_be_bytes()[..], &reason[..]].concat(),
                key,
            )
        });
    prop_oneof![3 => random, 1 => bad_close]
}

fn frame_edit() -> impl Strategy<Value = FrameEdit> {
    prop_oneof![
        1 => (any::<Index>(), 0u8..16).prop_map(|(i, op)| FrameEdit::Opcode(i, op)),
        1 => any::<Index>().prop_map(FrameEdit::ToggleFin),
        1 => (any::<Index>(), 1u8..8).prop_map(|(i, rsv)| FrameEdit::Rsv(i, rsv)),
        1 => any::<Index>().prop_map(FrameEdit::Unmask),
        1 => (any::<Index>(), select(vec![Length::Wide16, Length::Wide64, Length::TopBit]))
            .prop_map(|(i, l)| FrameEdit::Length(i, l)),
        3 => (any::<Index>(), any::<Index>(), select(NOT_UTF8))
            .prop_map(|(i, at, bytes)| FrameEdit::Splice(i, at, bytes.to_vec())),
        3 => (any::<Index>(), odd_frame()).prop_map(|(i, f)| FrameEdit::Insert(i, f)),
    ]
}

/// A byte-level edit of the encoded stream.
#[derive(Debug, Clone)]
enum ByteEdit {
    Flip(Index, u8),
    Truncate(Index),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        (any::<Index>(), 1u8..).prop_map(|(i, x)| ByteEdit::Flip(i, x)),
        any::<Index>().prop_map(ByteEdit::Truncate),
    ]
}

/// Valid frames after one or two frame edits and up to two byte edits.
pub(crate) fn broken_stream() -> impl Strategy<Value = Vec<u8>> {
    (
        valid_frames(),
        vec(frame_edit(), 1..3),
        vec(byte_edit(), 0..2),
    )
        .prop_map(|(mut frames, frame_edits, byte_edits)| {
            for edit in &frame_edits {
                edit.apply(&mut frames);
            }
            let mut bytes = encode(&frames);
            for edit in &byte_edits {
                match edit {
                    ByteEdit::Flip(at, x) if !bytes.is_empty() => {
                        let i = at.index(bytes.len());
                        bytes[i] ^= x;
                    }
                    ByteEdit::Truncate(at) => bytes.truncate(at.index(bytes.len() + 1)),
                    ByteEdit::Flip(..) => {}
                }
            }
            bytes
        })
}
