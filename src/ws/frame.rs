//! The frame codec (RFC 6455 §5.2): an incremental decoder and an encoder.
//!
//! For: cutting a byte stream into frame headers and payload pieces, enforcing every rule
//! that a single frame can break (reserved bits and opcodes, masking by role, length
//! encoding, control frame limits, the frame size limit), and writing frames. Not for:
//! messages (fragmentation, UTF-8, close payloads), which [`Assembler`](super::Assembler)
//! checks across frames, nor replies, which [`Connection`](super::Connection) sends.
//!
//! The decoder never holds a payload: it keeps at most the 14 bytes of a header, then hands
//! out payload pieces as positions in the caller's buffer, so a 16 MiB frame flows through
//! without a 16 MiB copy. It knows the stream offset of every byte, so a dissector can mark
//! each header field and name the offending byte of an error.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! | Masking-key (continued)       |          Payload Data         |
//! +-------------------------------- - - - - - - - - - - - - - - - +
//! ```

use std::fmt;

use super::{apply_mask, Error, Limits, Role, Status};

/// RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less and
/// MUST NOT be fragmented."
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The longest frame header: 2 fixed bytes, an 8-byte extended length and a 4-byte masking
/// key.
pub const MAX_HEADER_LEN: usize = 14;

/// A frame's opcode (RFC 6455 §5.2, "Opcode: 4 bits"). The reserved values (3-7 and 0xB-0xF)
/// have no variant: [`Opcode::from_u8`] returns `None` and the decoder fails with
/// [`Error::ReservedOpcode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// 0x0: "denotes a continuation frame".
    Continuation,
    /// 0x1: "denotes a text frame".
    Text,
    /// 0x2: "denotes a binary frame".
    Binary,
    /// 0x8: "denotes a connection close".
    Close,
    /// 0x9: "denotes a ping".
    Ping,
    /// 0xA: "denotes a pong".
    Pong,
}

impl Opcode {
    /// The opcode for the low 4 bits of `value`'s number, or `None` if it is reserved (or
    /// above 0xF).
    pub const fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// The opcode's number on the wire.
    pub const fn as_u8(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// RFC 6455 §5.5: "Control frames are identified by opcodes where the most significant bit
    /// of the opcode is 1."
    pub const fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Continuation => "continuation",
            Self::Text => "text",
            Self::Binary => "binary",
            Self::Close => "close",
            Self::Ping => "ping",
            Self::Pong => "pong",
        })
    }
}

/// A decoded (or to be encoded) frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// "Indicates that this is the final fragment in a message."
    pub fin: bool,
    /// RSV1, RSV2, RSV3 as the low 3 bits (RSV1 = 0b100). Always 0 in a decoded header: we
    /// negotiate no extension.
    pub rsv: u8,
    /// The frame's opcode.
    pub opcode: Opcode,
    /// The masking key, present exactly when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// The header's length on the wire, 2 to 14 bytes. Exact for decoded headers too: the
    /// decoder only accepts minimal length encodings, which are what this counts.
    #[inline]
    pub fn encoded_len(&self) -> usize {
        let ext = match self.payload_len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        2 + ext + if self.mask.is_some() { 4 } else { 0 }
    }

    /// The offset in the header of the payload length field: byte 1 for a 7-bit length,
    /// byte 2 for an extended one (where the dissector marks a length error).
    #[inline]
    pub fn length_field_offset(&self) -> usize {
        if self.payload_len <= 125 {
            1
        } else {
            2
        }
    }

    /// Appends the header, with the minimal length encoding that RFC 6455 §5.2 demands ("the
    /// minimal number of bytes MUST be used to encode the length").
    pub fn encode(&self, out: &mut Vec<u8>) {
        let b0 = (u8::from(self.fin) << 7) | ((self.rsv & 0b111) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        out.push(b0);
        match self.payload_len {
            len @ 0..=125 => out.push(mask_bit | len as u8),
            len @ 126..=0xFFFF => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
        }
    }

    /// Unmasks (or masks) a piece of this frame's payload in place; `offset` is the piece's
    /// position in the payload, as given by [`FrameEvent::Payload`]. Does nothing for an
    /// unmasked frame.
    #[inline]
    pub fn unmask(&self, piece: &mut [u8], offset: u64) {
        if let Some(key) = self.mask {
            apply_mask(piece, key, (offset % 4) as usize);
        }
    }
}

/// What [`FrameDecoder::decode`] found at the start of the buffer it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameEvent {
    /// A complete header. Its payload follows as one or more [`FrameEvent::Payload`]s.
    Header(FrameHeader),
    /// The next piece of the current frame's payload: the first `len` bytes of the buffer
    /// given to `decode`, still masked. `offset` is the piece's position in the payload (for
    /// [`FrameHeader::unmask`]). `last` marks the piece that ends the frame; a frame with an
    /// empty payload gets exactly one piece, empty and last.
    Payload {
        /// Bytes of payload at the start of the buffer.
        len: usize,
        /// Position of the piece's first byte in the frame's payload.
        offset: u64,
        /// The frame ends with this piece.
        last: bool,
    },
}

/// Incremental frame decoder for one direction of a connection.
///
/// The `role` is that of the endpoint that *reads* the frames: a [`Role::Server`] decoder
/// reads a client's frames, which must be masked; a [`Role::Client`] decoder reads a server's,
/// which must not be.
///
/// Feed it any slice. [`Status::Complete`] says what starts the buffer and how many bytes it
/// took; [`Status::Partial`] means every byte of the buffer was taken (a header cut short is
/// kept inside, at most 14 bytes) and more input is needed. An error is sticky: the decoder
/// repeats it, and [`error_offset`](Self::error_offset) names the offending byte.
///
/// ```
/// use wiretap::ws::{FrameDecoder, FrameEvent, Limits, Role, Status};
///
/// // RFC 6455 §5.7: a masked "Hello" from a client, arriving in two reads.
/// let wire = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let mut decoder = FrameDecoder::new(Role::Server, &Limits::default());
/// let mut text = Vec::new();
/// let mut header = None;
/// for read in [&wire[..4], &wire[4..]] {
///     let mut buf = read;
///     while let Status::Complete { value, consumed } = decoder.decode(buf).unwrap() {
///         match value {
///             FrameEvent::Header(h) => header = Some(h),
///             FrameEvent::Payload { len, offset, .. } => {
///                 let start = text.len();
///                 text.extend_from_slice(&buf[..len]);
///                 header.unwrap().unmask(&mut text[start..], offset);
///             }
///         }
///         buf = &buf[consumed..];
///     }
/// }
/// assert_eq!(text, b"Hello");
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    role: Role,
    max_frame: u64,
    /// The header so far, when it arrived in pieces.
    head: [u8; MAX_HEADER_LEN],
    have: u8,
    /// Between a header and the end of its payload.
    in_payload: bool,
    remaining: u64,
    payload_offset: u64,
    /// Stream offset of the next byte, and of the current frame's first byte.
    position: u64,
    frame_start: u64,
    failed: Option<(Error, u64)>,
}

impl FrameDecoder {
    /// A decoder at the start of a stream, reading frames sent to a `role` endpoint, with
    /// `limits.max_frame` as the largest payload it accepts.
    pub fn new(role: Role, limits: &Limits) -> Self {
        Self {
            role,
            max_frame: limits.max_frame as u64,
            head: [0; MAX_HEADER_LEN],
            have: 0,
            in_payload: false,
            remaining: 0,
            payload_offset: 0,
            position: 0,
            frame_start: 0,
            failed: None,
        }
    }

    /// Decodes what starts `buf`: a header, a payload piece, or `Partial` when `buf` is used
    /// up without completing a header (or is empty in the middle of a payload).
    // Inlined, with the common cases (a payload piece, a whole header in `buf`) kept small:
    // a frame takes two calls, and an out-of-line call returning the 32-byte result through
    // memory cost more than the decoding itself for small frames. `always`: with a second
    // caller inside the crate (the connection's loop), LTO stopped inlining it on its own.
    #[inline(always)]
    pub fn decode(&mut self, buf: &[u8]) -> Result<Status<FrameEvent>, Error> {
        // `in_payload` is only ever set by a header that passed every check, and a failure
        // leaves it unset, so a payload piece needs no look at `failed`.
        if self.in_payload {
            return Ok(self.decode_payload(buf));
        }
        if self.have == 0 && self.failed.is_none() {
            if let Some((header, len)) = parse_whole_header(buf, self.role, self.max_frame) {
                return Ok(self.start_payload(header, len));
            }
        }
        self.decode_header(buf)
    }

    /// The fast path for a caller that wants whole frames, such as
    /// [`Connection`](super::Connection): when the decoder is between frames and `buf` starts
    /// with a whole frame, header and payload, that breaks no rule and that `accept` takes,
    /// returns its header and header length and moves past the frame, as its `Header` event
    /// and a single last `Payload` event would have. Otherwise returns `None` and takes
    /// nothing: [`decode`](Self::decode) then handles the frame.
    #[inline]
    pub(crate) fn decode_whole_frame(
        &mut self,
        buf: &[u8],
        accept: impl FnOnce(&FrameHeader) -> bool,
    ) -> Option<(FrameHeader, usize)> {
        if self.in_payload || self.have != 0 || self.failed.is_some() {
            return None;
        }
        let (header, head_len) = parse_whole_header(buf, self.role, self.max_frame)?;
        // The payload is within `max_frame`, a `usize`, so the conversion cannot truncate.
        let end = head_len.checked_add(header.payload_len as usize)?;
        if end > buf.len() || !accept(&header) {
            return None;
        }
        self.position += end as u64;
        self.frame_start = self.position;
        Some((header, head_len))
    }

    /// The stream offset of the next byte to decode (bytes taken so far). After an error, the
    /// offset of the offending byte.
    #[inline]
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The stream offset of the byte that broke a rule, once `decode` has failed: the first
    /// byte of the offending field (byte 0 for bits and opcode, byte 1 for MASK and the 7-bit
    /// length, the first extended length byte for an extended length).
    pub fn error_offset(&self) -> Option<u64> {
        self.failed.map(|(_, offset)| offset)
    }

    /// True between frames: no header bytes pending and no payload left. At the end of a
    /// capture, false means the stream stopped in the middle of a frame.
    #[inline]
    pub fn is_between_frames(&self) -> bool {
        !self.in_payload && self.have == 0 && self.failed.is_none()
    }

    #[inline]
    fn decode_payload(&mut self, buf: &[u8]) -> Status<FrameEvent> {
        let offset = self.payload_offset;
        // The common case first: the rest of the payload is in `buf` (small frames, and an
        // empty payload's single empty piece). At most `buf.len()`, so `len` cannot truncate.
        if self.remaining <= buf.len() as u64 {
            let len = self.remaining as usize;
            self.remaining = 0;
            self.position += len as u64;
            self.in_payload = false;
            self.have = 0;
            self.frame_start = self.position;
            return Status::Complete {
                value: FrameEvent::Payload {
                    len,
                    offset,
                    last: true,
                },
                consumed: len,
            };
        }
        if buf.is_empty() {
            return Status::Partial;
        }
        let len = buf.len();
        self.remaining -= len as u64;
        self.payload_offset += len as u64;
        self.position += len as u64;
        Status::Complete {
            value: FrameEvent::Payload {
                len,
                offset,
                last: false,
            },
            consumed: len,
        }
    }

    /// The slow path of [`decode`](Self::decode): after an error, for a header cut short or
    /// broken. Gathers the header in `head`, checking each stage as it completes, so that
    /// the verdict and its offset do not depend on how the stream was cut.
    #[cold]
    #[inline(never)]
    fn decode_header(&mut self, buf: &[u8]) -> Result<Status<FrameEvent>, Error> {
        if let Some((error, _)) = self.failed {
            return Err(error);
        }
        let mut taken = 0;
        loop {
            let have = usize::from(self.have);
            let need = match check_header(&self.head[..have], self.role, self.max_frame) {
                Ok(need) => need,
                Err((error, at)) => return Err(self.fail(error, at)),
            };
            if have == need {
                let header = parse_checked_header(&self.head[..need]);
                return Ok(self.start_payload(header, taken));
            }
            let n = (need - have).min(buf.len() - taken);
            if n == 0 {
                self.position += taken as u64;
                return Ok(Status::Partial);
            }
            self.head[have..have + n].copy_from_slice(&buf[taken..taken + n]);
            self.have += n as u8;
            taken += n;
        }
    }

    /// Enters the payload of the checked, complete `header`, of which `consumed` bytes came
    /// from the caller's current buffer.
    #[inline]
    fn start_payload(&mut self, header: FrameHeader, consumed: usize) -> Status<FrameEvent> {
        self.position += consumed as u64;
        self.in_payload = true;
        self.remaining = header.payload_len;
        self.payload_offset = 0;
        Status::Complete {
            value: FrameEvent::Header(header),
            consumed,
        }
    }

    fn fail(&mut self, error: Error, at: usize) -> Error {
        let offset = self.frame_start + at as u64;
        self.position = offset;
        self.failed = Some((error, offset));
        error
    }
}

/// Checks the header bytes available in `head` (any length; bytes past the header are not
/// looked at) and returns the header's full length as far as it is known (2 until byte 1 is
/// in). Each rule is checked as soon as its byte is there, so the verdict does not depend on
/// how the stream was cut. An error comes with the offset of the offending field.
fn check_header(head: &[u8], role: Role, max_frame: u64) -> Result<usize, (Error, usize)> {
    let Some(&b0) = head.first() else {
        return Ok(2);
    };
    // RFC 6455 §5.2: "MUST be 0 unless an extension is negotiated that defines meanings for
    // non-zero values." We negotiate none.
    if b0 & 0x70 != 0 {
        return Err((Error::ReservedBits, 0));
    }
    // RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the
    // WebSocket Connection_."
    let Some(opcode) = Opcode::from_u8(b0 & 0x0F) else {
        return Err((Error::ReservedOpcode, 0));
    };
    // RFC 6455 §5.5: control frames "MUST NOT be fragmented".
    if opcode.is_control() && b0 & 0x80 == 0 {
        return Err((Error::FragmentedControl, 0));
    }
    let Some(&b1) = head.get(1) else {
        return Ok(2);
    };
    let masked = b1 & 0x80 != 0;
    match role {
        // RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that is
        // not masked."
        Role::Server if !masked => return Err((Error::UnmaskedFrame, 1)),
        // RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame."
        Role::Client if masked => return Err((Error::MaskedFrame, 1)),
        _ => {}
    }
    let len7 = b1 & 0x7F;
    // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    if opcode.is_control() && len7 > 125 {
        return Err((Error::ControlTooLong, 1));
    }
    let ext = match len7 {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let need = 2 + ext + if masked { 4 } else { 0 };
    if ext == 0 {
        if u64::from(len7) > max_frame {
            return Err((Error::FrameTooLarge, 1));
        }
        return Ok(need);
    }
    // RFC 6455 §5.2: "If 127, the following 8 bytes interpreted as a 64-bit unsigned integer
    // (the most significant bit MUST be 0)". Known from the first length byte.
    if ext == 8 && head.get(2).is_some_and(|&b| b & 0x80 != 0) {
        return Err((Error::LengthOverflow, 2));
    }
    let Some(field) = head.get(2..2 + ext) else {
        return Ok(need);
    };
    let len = field.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    // RFC 6455 §5.2: "In all cases, the minimal number of bytes MUST be used to encode the
    // length". We hold the peer to it (see the strictness table in `ws`).
    let minimal = if ext == 2 { 126 } else { 0x1_0000 };
    if len < minimal {
        return Err((Error::NonMinimalLength, 2));
    }
    if len > max_frame {
        return Err((Error::FrameTooLarge, 2));
    }
    Ok(need)
}

/// The fast path of the decoder: the header at the start of `buf` and its length, when the
/// whole header is there and breaks no rule; `None` otherwise (cut short or broken), and the
/// staged [`check_header`] then decides. It accepts exactly what `check_header` accepts in
/// full, reading each byte once.
#[inline]
fn parse_whole_header(buf: &[u8], role: Role, max_frame: u64) -> Option<(FrameHeader, usize)> {
    let [b0, b1, ..] = *buf else {
        return None;
    };
    let opcode = Opcode::from_u8(b0 & 0x0F)?;
    let fin = b0 & 0x80 != 0;
    // Reserved bits, and a control frame without FIN.
    if b0 & 0x70 != 0 || (opcode.is_control() && !fin) {
        return None;
    }
    // Masked exactly when a client sent it.
    let masked = b1 & 0x80 != 0;
    if masked != (role == Role::Server) {
        return None;
    }
    let (payload_len, len_end) = match b1 & 0x7F {
        126 => {
            let &[hi, lo] = buf.get(2..4)? else {
                return None;
            };
            (u64::from(u16::from_be_bytes([hi, lo])), 4)
        }
        127 => {
            let field: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(field), 10)
        }
        len7 => (u64::from(len7), 2),
    };
    // Minimal encodings only (126 for the 16-bit field, 64 Ki for the 64-bit one, whose most
    // significant bit must be 0), within the frame limit, and at most 125 for control frames.
    let minimal = match len_end {
        4 => 126,
        10 => 0x1_0000,
        _ => 0,
    };
    if payload_len < minimal
        || payload_len >> 63 != 0
        || payload_len > max_frame
        || (opcode.is_control() && payload_len > MAX_CONTROL_PAYLOAD as u64)
    {
        return None;
    }
    let (mask, end) = if masked {
        let &[a, b, c, d] = buf.get(len_end..len_end + 4)? else {
            return None;
        };
        (Some([a, b, c, d]), len_end + 4)
    } else {
        (None, len_end)
    };
    let header = FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask,
        payload_len,
    };
    Some((header, end))
}

/// Builds the header from bytes that [`check_header`] accepted in full.
fn parse_checked_header(head: &[u8]) -> FrameHeader {
    let (b0, b1) = (head[0], head[1]);
    let (payload_len, rest) = match b1 & 0x7F {
        126 => (
            u64::from(u16::from_be_bytes([head[2], head[3]])),
            &head[4..],
        ),
        127 => {
            let mut len = [0; 8];
            len.copy_from_slice(&head[2..10]);
            (u64::from_be_bytes(len), &head[10..])
        }
        len => (u64::from(len), &head[2..]),
    };
    let mask = (b1 & 0x80 != 0).then(|| [rest[0], rest[1], rest[2], rest[3]]);
    FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0b111,
        // `check_header` rejected the reserved opcodes.
        opcode: Opcode::from_u8(b0 & 0x0F).unwrap_or(Opcode::Binary),
        mask,
        payload_len,
    }
}

/// Appends a whole frame: header, then `payload`, masked with `mask` when given (a client
/// masks every frame, a server none: RFC 6455 §5.1).
///
/// ```
/// use wiretap::ws::{encode_frame, Opcode};
///
/// let mut out = Vec::new();
/// encode_frame(&mut out, true, Opcode::Text, b"Hello", None);
/// assert_eq!(out, [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
///
/// out.clear();
/// encode_frame(&mut out, true, Opcode::Text, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d]));
/// assert_eq!(out, [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// ```
pub fn encode_frame(
    out: &mut Vec<u8>,
    fin: bool,
    opcode: Opcode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let header = FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    out.reserve(header.encoded_len() + payload.len());
    header.encode(out);
    let start = out.len();
    out.extend_from_slice(payload);
    header.unmask(&mut out[start..], 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::{decode_frames_every_way, DecodedFrames as Decoded};

    /// THE helper: decodes `input` whole, byte at a time, at every split point (inputs up to
    /// 4 KiB) and in random splits; all must agree (`crate::fuzzing::decode_frames` also
    /// asserts the decoder's invariants on every call).
    fn decode(role: Role, limits: &Limits, input: &[u8]) -> Decoded {
        let random = if input.len() > 4096 { 3 } else { 8 };
        decode_frames_every_way(role, limits, input, random, input.len() as u64 + 1)
    }

    fn server(input: &[u8]) -> Decoded {
        decode(Role::Server, &Limits::default(), input)
    }

    fn client(input: &[u8]) -> Decoded {
        decode(Role::Client, &Limits::default(), input)
    }

    fn header(fin: bool, opcode: Opcode, mask: Option<[u8; 4]>, len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask,
            payload_len: len,
        }
    }

    fn ok(frames: Vec<(FrameHeader, Vec<u8>)>) -> Decoded {
        Decoded {
            frames,
            error: None,
            mid_frame: false,
        }
    }

    fn failed(error: Error, offset: u64) -> Decoded {
        Decoded {
            frames: Vec::new(),
            error: Some((error, offset)),
            mid_frame: false,
        }
    }

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    #[test]
    fn decodes_the_rfc_6455_examples() {
        // §5.7 "A single-frame unmasked text message".
        assert_eq!(
            client(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
            ok(vec![(
                header(true, Opcode::Text, None, 5),
                b"Hello".to_vec()
            )])
        );
        // "A single-frame masked text message".
        assert_eq!(
            server(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]),
            ok(vec![(
                header(true, Opcode::Text, Some(KEY), 5),
                b"Hello".to_vec()
            )])
        );
        // "A fragmented unmasked text message".
        assert_eq!(
            client(&[0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]),
            ok(vec![
                (header(false, Opcode::Text, None, 3), b"Hel".to_vec()),
                (header(true, Opcode::Continuation, None, 2), b"lo".to_vec()),
            ])
        );
        // "Unmasked Ping request and masked Ping response" (the response is a pong).
        assert_eq!(
            client(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
            ok(vec![(
                header(true, Opcode::Ping, None, 5),
                b"Hello".to_vec()
            )])
        );
        assert_eq!(
            server(&[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]),
            ok(vec![(
                header(true, Opcode::Pong, Some(KEY), 5),
                b"Hello".to_vec()
            )])
        );
        // "256 bytes binary message in a single unmasked frame".
        let mut wire = vec![0x82, 0x7E, 0x01, 0x00];
        let payload: Vec<u8> = (0..256).map(|i| i as u8).collect();
        wire.extend_from_slice(&payload);
        assert_eq!(
            client(&wire),
            ok(vec![(header(true, Opcode::Binary, None, 256), payload)])
        );
        // "64KiB binary message in a single unmasked frame".
        let mut wire = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
        let payload: Vec<u8> = (0..65536).map(|i| (i * 7) as u8).collect();
        wire.extend_from_slice(&payload);
        assert_eq!(
            client(&wire),
            ok(vec![(header(true, Opcode::Binary, None, 65536), payload)])
        );
    }

    #[test]
    fn rejects_the_smallest_input_for_each_frame_rule() {
        let tiny = Limits {
            max_frame: 3,
            ..Limits::default()
        };
        let cases: &[(Role, &Limits, &[u8], Error, u64)] = &[
            (
                Role::Server,
                &Limits::DEFAULT,
                &[0xC1],
                Error::ReservedBits,
                0,
            ),
            (
                Role::Server,
                &Limits::DEFAULT,
                &[0xA1],
                Error::ReservedBits,
                0,
            ),
            (
                Role::Server,
                &Limits::DEFAULT,
                &[0x91],
                Error::ReservedBits,
                0,
            ),
            (
                Role::Server,
                &Limits::DEFAULT,
                &[0x83],
                Error::ReservedOpcode,
                0,
            ),
            (
                Role::Server,
                &Limits::DEFAULT,
                &[0x8B],
                Error::ReservedOpcode,
                0,
            ),
            (
                Role::Server,
                &Limits::DEFAULT,
                &[0x09],
                Error::FragmentedControl,
                0,
            ),
            (
                Role::Server,
                &Limits::DEFAULT,
                &[0x81, 0x00],
                Error::UnmaskedFrame,
                1,
            ),
            (
                Role::Client,
                &Limits::DEFAULT,
                &[0x81, 0x80],
                Error::MaskedFrame,
                1,
            ),
            (
                Role::Server,
                &Limits::DEFAULT,
                &[0x89, 0xFE],
                Error::ControlTooLong,
                1,
            ),
            (
                Role::Client,
                &Limits::DEFAULT,
                &[0x88, 0x7E],
                Error::ControlTooLong,
                1,
            ),
            (
                Role::Client,
                &Limits::DEFAULT,
                &[0x82, 0x7F, 0x80],
                Error::LengthOverflow,
                2,
            ),
            (
                Role::Client,
                &Limits::DEFAULT,
                &[0x82, 0x7E, 0x00, 0x7D],
                Error::NonMinimalLength,
                2,
            ),
            (
                Role::Client,
                &Limits::DEFAULT,
                &[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF],
                Error::NonMinimalLength,
                2,
            ),
            (Role::Client, &tiny, &[0x82, 0x04], Error::FrameTooLarge, 1),
            (
                Role::Client,
                &tiny,
                &[0x82, 0x7E, 0x01, 0x00],
                Error::FrameTooLarge,
                2,
            ),
            (
                Role::Client,
                &Limits::DEFAULT,
                &[0x82, 0x7F, 0, 0, 0, 0, 0x10, 0, 0, 1],
                Error::FrameTooLarge,
                2,
            ),
        ];
        for &(role, limits, input, error, offset) in cases {
            assert_eq!(
                decode(role, limits, input),
                failed(error, offset),
                "{input:02x?}"
            );
        }
    }

    #[test]
    fn accepts_minimal_length_encodings_at_each_boundary() {
        let cases: &[(&[u8], u64)] = &[
            (&[0x82, 0x7D], 125),
            (&[0x82, 0x7E, 0x00, 0x7E], 126),
            (&[0x82, 0x7E, 0xFF, 0xFF], 65535),
            (&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0], 65536),
            (&[0x82, 0x7F, 0, 0, 0, 0, 0x01, 0, 0, 0], 16 << 20),
        ];
        for &(input, len) in cases {
            let got = client(input);
            assert_eq!(got.frames[0].0.payload_len, len);
            assert_eq!(got.frames[0].0.encoded_len(), input.len());
            assert!(got.mid_frame && got.error.is_none());
        }
    }

    #[test]
    fn every_value_of_byte_0_gets_the_right_verdict() {
        for b0 in 0..=255u8 {
            let input = [b0, 0x80, 1, 2, 3, 4];
            let opcode = Opcode::from_u8(b0 & 0x0F);
            let expected = if b0 & 0x70 != 0 {
                failed(Error::ReservedBits, 0)
            } else if opcode.is_none() {
                failed(Error::ReservedOpcode, 0)
            } else if opcode.is_some_and(Opcode::is_control) && b0 & 0x80 == 0 {
                failed(Error::FragmentedControl, 0)
            } else {
                let h = header(b0 & 0x80 != 0, opcode.unwrap(), Some([1, 2, 3, 4]), 0);
                ok(vec![(h, Vec::new())])
            };
            assert_eq!(server(&input), expected, "byte 0 = {b0:#04x}");
        }
    }

    #[test]
    fn every_value_of_byte_1_gets_the_right_verdict() {
        for role in [Role::Server, Role::Client] {
            for opcode in [Opcode::Binary, Opcode::Ping] {
                for b1 in 0..=255u8 {
                    let masked = b1 & 0x80 != 0;
                    let len7 = b1 & 0x7F;
                    // Complete the header with a minimal length for 126/127, then the payload.
                    let mut input = vec![0x80 | opcode.as_u8(), b1];
                    let len: u64 = match len7 {
                        126 => {
                            input.extend_from_slice(&[0, 200]);
                            200
                        }
                        127 => {
                            input.extend_from_slice(&0x1_0000u64.to_be_bytes());
                            0x1_0000
                        }
                        n => u64::from(n),
                    };
                    let mask = masked.then_some([5, 6, 7, 8]);
                    if let Some(key) = mask {
                        input.extend_from_slice(&key);
                    }
                    input.resize(input.len() + len as usize, 0xAA);
                    let expected = match (role, masked) {
                        (Role::Server, false) => failed(Error::UnmaskedFrame, 1),
                        (Role::Client, true) => failed(Error::MaskedFrame, 1),
                        _ if opcode.is_control() && len7 > 125 => failed(Error::ControlTooLong, 1),
                        _ => {
                            let mut payload = vec![0xAA; len as usize];
                            if let Some(key) = mask {
                                apply_mask(&mut payload, key, 0);
                            }
                            ok(vec![(header(true, opcode, mask, len), payload)])
                        }
                    };
                    // The 64 KiB frames skip the every-split pass (over 4 KiB) but still go
                    // whole, byte at a time and in random splits.
                    let got = decode(role, &Limits::default(), &input);
                    assert_eq!(got, expected, "{role:?} {opcode} byte 1 = {b1:#04x}");
                }
            }
        }
    }

    #[test]
    fn round_trips_every_opcode_and_length_masked_and_unmasked() {
        let opcodes = [
            Opcode::Continuation,
            Opcode::Text,
            Opcode::Binary,
            Opcode::Close,
            Opcode::Ping,
            Opcode::Pong,
        ];
        for len in [0usize, 1, 125, 126, 127, 65535, 65536, 70000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            for opcode in opcodes {
                for (role, mask) in [(Role::Client, None), (Role::Server, Some(KEY))] {
                    let mut wire = Vec::new();
                    encode_frame(&mut wire, true, opcode, &payload, mask);
                    let h = header(true, opcode, mask, len as u64);
                    assert_eq!(wire.len(), h.encoded_len() + len);
                    let expected = if opcode.is_control() && len > 125 {
                        failed(Error::ControlTooLong, 1)
                    } else {
                        ok(vec![(h, payload.clone())])
                    };
                    let got = decode(role, &Limits::default(), &wire);
                    assert_eq!(got, expected, "{opcode} len {len} mask {mask:?}");
                }
            }
        }
    }

    #[test]
    fn header_encoding_keeps_fin_and_rsv_bits() {
        let mut out = Vec::new();
        let h = FrameHeader {
            fin: false,
            rsv: 0b101,
            opcode: Opcode::Binary,
            mask: None,
            payload_len: 0,
        };
        h.encode(&mut out);
        assert_eq!(out, [0x52, 0x00]);
    }

    #[test]
    fn reports_stream_offsets_across_frames() {
        // Two good frames (7 + 6 bytes), then an unmasked one from a "client".
        let mut wire = Vec::new();
        encode_frame(&mut wire, true, Opcode::Text, b"abc", Some(KEY));
        encode_frame(&mut wire, true, Opcode::Ping, b"", Some(KEY));
        let bad_at = wire.len() as u64;
        wire.extend_from_slice(&[0x82, 0x01, 0xFF]);
        let got = server(&wire);
        assert_eq!(got.frames.len(), 2);
        assert_eq!(got.error, Some((Error::UnmaskedFrame, bad_at + 1)));
    }

    #[test]
    fn stops_mid_frame_without_error_on_short_input() {
        let got = server(&[0x81, 0x85, 0x37, 0xfa]);
        assert_eq!(got.frames, []);
        assert!(got.mid_frame);
        assert_eq!(got.error, None);
        let got = server(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f]);
        assert_eq!(got.frames[0].1, b"H");
        assert!(got.mid_frame);
    }

    #[test]
    fn opcode_numbers_round_trip() {
        for n in 0..=255u8 {
            match Opcode::from_u8(n) {
                Some(op) => {
                    assert_eq!(op.as_u8(), n);
                    assert_eq!(op.is_control(), n >= 8);
                }
                None => assert!(matches!(n, 3..=7 | 0xB..)),
            }
        }
    }
}
