//! Incremental RFC 9112 (HTTP/1.1) parsers, a body decoder and a writer.
//!
//! What it is for: turning the bytes of an HTTP/1.1 connection into typed heads and body
//! data, for the live server and for replaying captures, and encoding what the server sends.
//! What it is not: it knows no sockets and no clock. Bytes go in, values come out; nothing
//! blocks, awaits, reads a file or looks at the time, and nothing allocates without a limit.
//!
//! # The pieces
//! - [`RequestParser`] turns the head of a request into a [`RequestHead`];
//!   [`ResponseParser`] does the same for a response head ([`ResponseHead`]), given the
//!   method of the request it answers.
//! - [`BodyDecoder`] takes the body that [`RequestHead::body`] or [`ResponseHead::body`]
//!   announced (Content-Length, chunked, or until close) and hands out payload ranges
//!   without copying.
//! - [`encode_response_head`], [`encode_request_head`], [`encode_chunk`] and
//!   [`encode_last_chunk`] write into a caller-owned `Vec<u8>`; misuse is a [`WriteError`],
//!   never a peer [`Error`].
//!
//! # Call order
//! 1. Append what arrived to a buffer and call [`RequestParser::parse`] on the whole
//!    buffer until it answers [`Status::Complete`]; [`Status::Partial`] means "append more
//!    and call again". The parser remembers how far it scanned, so byte-at-a-time feeding
//!    costs O(n) in total.
//! 2. Drain `consumed` bytes; build `BodyDecoder::with_limits(head.body(), &limits)` and feed
//!    it the following bytes, draining what each call consumed, until it reports `done`.
//! 3. What is left is the next pipelined request: go to 1 (the parser resets itself after
//!    every `Complete` or `Err`).
//!
//! # Strictness
//! Every rejection carries an [`ErrorKind`], the byte offset of the breach, the status a
//! server answers with ([`Error::status`]) and the rule ([`Error::rule`]). Where the RFC
//! leaves a choice, this module takes the strict one and says why.
//!
//! | input (smallest example) | answer | rule |
//! |---|---|---|
//! | `GET / HTTP/1.1\r\nHost: a\r\n\r\n` | accepted | |
//! | `\r\nGET / HTTP/1.1…` (empty lines before the request line) | skipped, counted in `max_head_bytes` | RFC 9112 §2.2 (SHOULD ignore) |
//! | `GET / HTTP/1.1\n` (bare LF anywhere in a head or chunk line) | 400 | RFC 9112 §2.2: MAY accept; rejected because a proxy that disagrees about line ends is a request-smuggling vector |
//! | `GET / HTTP/1.1\rX` (bare CR) | 400 | RFC 9112 §2.2 (MUST reject or replace) |
//! | `G@T / HTTP/1.1` (method not a token) | 400 | RFC 9110 §9.1, §5.6.2 |
//! | `GET  / HTTP/1.1` (not exactly one SP) | 400 | RFC 9112 §3 |
//! | `GET /a\x01 HTTP/1.1`, `GET /a#f HTTP/1.1` (target byte outside VCHAR, or a fragment) | 400 | RFC 9112 §3.2 |
//! | `GET example.com:80 HTTP/1.1`, `GET * HTTP/1.1`, `CONNECT / HTTP/1.1` (form not allowed for the method) | 400 | RFC 9112 §3.2.1–§3.2.4 |
//! | `GET / HTTP/1.2`, `GET / HTTP/2.0` (well-formed, unsupported version) | 505 | RFC 9110 §15.6.6; RFC 9110 §2.5 would let 1.2 be treated as 1.1, no such version exists |
//! | `GET / http/1.1` (not `HTTP/` DIGIT `.` DIGIT) | 400 | RFC 9112 §2.3 |
//! | request line longer than [`Limits::max_request_line`] | 414, as soon as the limit is passed | RFC 9112 §3 |
//! | head longer than [`Limits::max_head_bytes`], more than [`Limits::max_fields`] fields | 431 | RFC 6585 §5 |
//! | `Host : a` (whitespace before the colon) | 400 | RFC 9112 §5.1 (MUST reject) |
//! | `X: a\r\n b` (obs-fold) | 400 | RFC 9112 §5.2 (MAY reject) |
//! | `GET / HTTP/1.1\r\n X: a` (whitespace after the start line) | 400 | RFC 9112 §2.2 |
//! | `X\r\n` (no colon), `: a`, `X@: a` (empty or non-token name) | 400 | RFC 9112 §5; RFC 9110 §5.1 |
//! | `X: a\x00b` (NUL, DEL or another CTL except HTAB in a value) | 400 | RFC 9110 §5.5 |
//! | HTTP/1.1 without Host, two Host fields, `Host: a b` / `Host: u@h` | 400 | RFC 9112 §3.2 (MUST) |
//! | `Content-Length: +1`, `1 2`, `0x1`, empty | 400 | RFC 9110 §8.6 |
//! | `Content-Length: 18446744073709551616` | 400 | RFC 9112 §6.3 rule 5 |
//! | `Content-Length: 5, 5` (identical duplicates) | accepted as 5 | RFC 9110 §8.6 (MAY) |
//! | `Content-Length: 5, 6` or two fields that differ | 400 | RFC 9112 §6.3 rule 5 |
//! | Transfer-Encoding and Content-Length | 400 | RFC 9112 §6.1, §6.3 rule 3 (smuggling) |
//! | Transfer-Encoding in an HTTP/1.0 message | 400 | RFC 9112 §6.1 |
//! | `Transfer-Encoding: gzip` (final coding not chunked) | 400 in a request, until close in a response | RFC 9112 §6.3 rule 4 |
//! | `Transfer-Encoding: chunked, chunked` | 400 | RFC 9112 §6.1 |
//! | `Transfer-Encoding: gzip, chunked` (a coding other than chunked) | 501 in a request, passed through in a response | RFC 9112 §6.1 (SHOULD 501): only chunked is implemented |
//! | Content-Length over [`Limits::max_body`], or a chunked body growing past it | 413 | RFC 9110 §15.5.14 |
//! | chunk size `+1`, `0x1`, ` 1`, or 17 hex digits | 400 | RFC 9112 §7.1 |
//! | chunk extension not `;token[=token/quoted-string]`, or over [`Limits::max_chunk_extensions`] | 400 | RFC 9112 §7.1.1 |
//! | chunk data not followed by CRLF | 400 | RFC 9112 §7.1 |
//! | trailer section: same field rules; over [`Limits::max_trailer_bytes`] | 400 / 431 | RFC 9112 §7.1.2; trailers are kept, never used for framing |
//! | body cut short by the end of the stream ([`BodyDecoder::finish`]) | 400 | RFC 9112 §8 |
//! | status line `HTTP/1.1 200` (no SP before the empty reason), code outside 100–599 | error | RFC 9112 §4; RFC 9110 §15 |
//!
//! Limits are checked while scanning, so an over-long line is refused when its limit is
//! passed, not when it ends. Control bytes and line ends are judged as the scan meets them;
//! the grammar of a line (token, colon, spaces) is judged once the line is complete. Either
//! way the answer, offset included, depends only on the bytes, never on how they were split.
//!
//! ```
//! use wiretap::http::{BodyKind, RequestParser, Status};
//!
//! let mut parser = RequestParser::new();
//! let wire = b"POST /chat HTTP/1.1\r\nHost: example.com\r\nContent-Length: 2\r\n\r\nhi";
//! let Ok(Status::Complete { value: head, consumed }) = parser.parse(wire) else {
//!     panic!("a complete head");
//! };
//! assert_eq!(head.method(), "POST");
//! assert_eq!(head.field("host"), Some(&b"example.com"[..]));
//! assert_eq!(head.body(), BodyKind::Length(2));
//! assert_eq!(&wire[consumed..], b"hi");
//! ```

use std::fmt;

mod body;
mod head;
mod request;
mod response;
mod token;
mod writer;

#[cfg(test)]
mod testing;

pub use body::{BodyDecoder, BodyProgress, Trailers};
pub use head::{FieldIter, FieldSpan, Values};
pub use request::{Method, RequestHead, RequestParser, RequestTarget, TargetForm};
pub use response::{ResponseHead, ResponseParser};
pub use token::{is_token, list_items, ListItems};
pub use writer::{
    encode_chunk, encode_last_chunk, encode_request_head, encode_response_head, reason_phrase,
    Decimal, WriteError,
};

/// The answer of an incremental parser: a value and how many bytes it took, or a request
/// for more bytes. Short input is `Partial`, never an error (the httparse contract).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status<T> {
    /// The value is complete; it took the first `consumed` bytes of the buffer.
    Complete {
        /// What was parsed.
        value: T,
        /// How many bytes of the buffer it took; the rest belongs to what follows.
        consumed: usize,
    },
    /// The bytes so far are a valid prefix; append more and call again.
    Partial,
}

/// A violation by the peer: what rule it broke and where.
///
/// `offset` counts from the first byte given to the parser for this message (for a head) or
/// from the first byte of the body (for [`BodyDecoder`]). It names the byte at which the
/// breach was found; for a limit it is the first byte past the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    /// Which rule was broken.
    pub kind: ErrorKind,
    /// Where.
    pub offset: usize,
}

impl Error {
    pub(crate) const fn new(kind: ErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }

    /// The status code a server answers this error with.
    pub fn status(self) -> u16 {
        self.kind.status()
    }

    /// The rule that was broken, as "RFC NNNN §x.y".
    pub fn rule(self) -> &'static str {
        self.kind.rule()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)
    }
}

impl std::error::Error for Error {}

/// One variant per rule the parsers enforce. Each variant names its rule; the status it maps
/// to is [`ErrorKind::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// RFC 9112 §2.2: a CR not followed by LF ("a recipient of such a bare CR MUST consider
    /// that element to be invalid").
    BareCr,
    /// RFC 9112 §2.2: a line ended by LF alone. The RFC lets a recipient accept it; we do not,
    /// because two parsers that disagree on line ends can be smuggled past each other.
    BareLf,
    /// RFC 9112 §3: `request-line = method SP request-target SP HTTP-version`; a part is
    /// missing or the parts are not separated by exactly one SP.
    InvalidRequestLine,
    /// RFC 9110 §9.1: `method = token`.
    InvalidMethod,
    /// RFC 9112 §3.2: a request-target byte that is not VCHAR (or is `#`), or an empty target.
    InvalidTarget,
    /// RFC 9112 §3.2.1–§3.2.4: authority-form is only for CONNECT (which needs it),
    /// asterisk-form only for OPTIONS; anything else must be origin-form or absolute-form.
    InvalidTargetForm,
    /// RFC 9112 §2.3: `HTTP-version = HTTP-name "/" DIGIT "." DIGIT`, `HTTP-name` = `HTTP`.
    InvalidVersion,
    /// RFC 9110 §15.6.6: a well-formed version other than HTTP/1.0 and HTTP/1.1.
    UnsupportedVersion,
    /// RFC 9112 §3: the request line passed [`Limits::max_request_line`] (414).
    RequestLineTooLong,
    /// RFC 9112 §4: `status-line = HTTP-version SP status-code SP [ reason-phrase ]`.
    InvalidStatusLine,
    /// RFC 9110 §15: a status code is three digits from 100 to 599.
    InvalidStatusCode,
    /// RFC 9112 §2.2: a line that starts with whitespace right after the start line.
    WhitespaceAfterStartLine,
    /// RFC 9112 §5.2: obs-fold, a field line continued on a line that starts with whitespace.
    ObsoleteLineFolding,
    /// RFC 9110 §5.1: `field-name = token`, not empty.
    InvalidFieldName,
    /// RFC 9112 §5.1: "No whitespace is allowed between the field name and colon".
    WhitespaceBeforeColon,
    /// RFC 9112 §5: `field-line = field-name ":" OWS field-value OWS`; the colon is missing.
    MissingColon,
    /// RFC 9110 §5.5: a field value byte that is a CTL other than HTAB (NUL, DEL, …).
    InvalidFieldValue,
    /// The head passed [`Limits::max_head_bytes`] (431).
    HeadTooLarge,
    /// The head has more than [`Limits::max_fields`] field lines (431).
    TooManyFields,
    /// RFC 9112 §3.2: an HTTP/1.1 request without Host.
    MissingHost,
    /// RFC 9112 §3.2: more than one Host field line.
    DuplicateHost,
    /// RFC 9112 §3.2: `Host = uri-host [ ":" port ]` (RFC 9110 §7.2) does not match.
    InvalidHost,
    /// RFC 9110 §8.6: `Content-Length = 1*DIGIT`.
    InvalidContentLength,
    /// RFC 9112 §6.3 rule 5: a Content-Length that does not fit in 64 bits.
    ContentLengthOverflow,
    /// RFC 9112 §6.3 rule 5: Content-Length values that differ.
    ConflictingContentLength,
    /// RFC 9112 §6.1, §6.3 rule 3: both Transfer-Encoding and Content-Length.
    ConflictingFraming,
    /// RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message ("MUST treat the message as if
    /// the framing is faulty").
    TransferEncodingInHttp10,
    /// RFC 9112 §6.1: `transfer-coding = token *( OWS ";" OWS transfer-parameter )`; chunked
    /// takes no parameters.
    InvalidTransferEncoding,
    /// RFC 9112 §6.1: "A sender MUST NOT apply the chunked transfer coding more than once".
    ChunkedTwice,
    /// RFC 9112 §6.3 rule 4: a request whose final transfer coding is not chunked.
    ChunkedNotFinal,
    /// RFC 9112 §6.1: a transfer coding other than chunked, which we do not implement (501).
    UnsupportedTransferCoding,
    /// The body passed [`Limits::max_body`] (413).
    BodyTooLarge,
    /// RFC 9112 §7.1: `chunk-size = 1*HEXDIG`.
    InvalidChunkSize,
    /// RFC 9112 §7.1: a chunk size that does not fit in 64 bits.
    ChunkSizeOverflow,
    /// RFC 9112 §7.1.1: `chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )`.
    InvalidChunkExtension,
    /// The chunk extensions of one body passed [`Limits::max_chunk_extensions`].
    ChunkExtensionsTooLong,
    /// RFC 9112 §7.1: `chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF`; the CRLF after
    /// the data is missing.
    MissingChunkCrlf,
    /// The trailer section passed [`Limits::max_trailer_bytes`] (431).
    TrailersTooLarge,
    /// RFC 9112 §8: the stream ended before the body did.
    TruncatedBody,
}

impl ErrorKind {
    /// The status code a server answers with: 400 unless a more precise one exists.
    pub fn status(self) -> u16 {
        match self {
            Self::RequestLineTooLong => 414,
            Self::HeadTooLarge | Self::TooManyFields | Self::TrailersTooLarge => 431,
            Self::BodyTooLarge => 413,
            Self::UnsupportedTransferCoding => 501,
            Self::UnsupportedVersion => 505,
            _ => 400,
        }
    }

    /// The rule this kind enforces, as "RFC NNNN §x.y" (or the limit it enforces).
    pub fn rule(self) -> &'static str {
        match self {
            Self::BareCr | Self::BareLf | Self::WhitespaceAfterStartLine => "RFC 9112 §2.2",
            Self::InvalidVersion => "RFC 9112 §2.3",
            Self::InvalidRequestLine | Self::RequestLineTooLong => "RFC 9112 §3",
            Self::InvalidMethod => "RFC 9110 §9.1",
            Self::InvalidTarget
            | Self::InvalidTargetForm
            | Self::MissingHost
            | Self::DuplicateHost
            | Self::InvalidHost => "RFC 9112 §3.2",
            Self::UnsupportedVersion => "RFC 9110 §15.6.6",
            Self::InvalidStatusLine => "RFC 9112 §4",
            Self::InvalidStatusCode => "RFC 9110 §15",
            Self::ObsoleteLineFolding => "RFC 9112 §5.2",
            Self::InvalidFieldName => "RFC 9110 §5.1",
            Self::WhitespaceBeforeColon => "RFC 9112 §5.1",
            Self::MissingColon => "RFC 9112 §5",
            Self::InvalidFieldValue => "RFC 9110 §5.5",
            Self::HeadTooLarge | Self::TooManyFields | Self::TrailersTooLarge => "RFC 6585 §5",
            Self::InvalidContentLength => "RFC 9110 §8.6",
            Self::ContentLengthOverflow | Self::ConflictingContentLength => "RFC 9112 §6.3",
            Self::ConflictingFraming
            | Self::TransferEncodingInHttp10
            | Self::InvalidTransferEncoding
            | Self::ChunkedTwice
            | Self::UnsupportedTransferCoding => "RFC 9112 §6.1",
            Self::ChunkedNotFinal => "RFC 9112 §6.3",
            Self::BodyTooLarge => "RFC 9110 §15.5.14",
            Self::InvalidChunkSize | Self::ChunkSizeOverflow | Self::MissingChunkCrlf => {
                "RFC 9112 §7.1"
            }
            Self::InvalidChunkExtension | Self::ChunkExtensionsTooLong => "RFC 9112 §7.1.1",
            Self::TruncatedBody => "RFC 9112 §8",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::BareCr => "carriage return not followed by line feed",
            Self::BareLf => "line feed without carriage return",
            Self::InvalidRequestLine => "malformed request line",
            Self::InvalidMethod => "method is not a token",
            Self::InvalidTarget => "invalid byte in request target",
            Self::InvalidTargetForm => "request target form not allowed for this method",
            Self::InvalidVersion => "malformed http version",
            Self::UnsupportedVersion => "unsupported http version",
            Self::RequestLineTooLong => "request line too long",
            Self::InvalidStatusLine => "malformed status line",
            Self::InvalidStatusCode => "invalid status code",
            Self::WhitespaceAfterStartLine => "whitespace after the start line",
            Self::ObsoleteLineFolding => "obsolete line folding",
            Self::InvalidFieldName => "field name is not a token",
            Self::WhitespaceBeforeColon => "whitespace between field name and colon",
            Self::MissingColon => "field line without colon",
            Self::InvalidFieldValue => "control character in field value",
            Self::HeadTooLarge => "head too large",
            Self::TooManyFields => "too many fields",
            Self::MissingHost => "missing host",
            Self::DuplicateHost => "more than one host",
            Self::InvalidHost => "invalid host",
            Self::InvalidContentLength => "invalid content-length",
            Self::ContentLengthOverflow => "content-length overflows 64 bits",
            Self::ConflictingContentLength => "conflicting content-length values",
            Self::ConflictingFraming => "both transfer-encoding and content-length",
            Self::TransferEncodingInHttp10 => "transfer-encoding in an http/1.0 message",
            Self::InvalidTransferEncoding => "invalid transfer-encoding",
            Self::ChunkedTwice => "chunked applied more than once",
            Self::ChunkedNotFinal => "final transfer coding is not chunked",
            Self::UnsupportedTransferCoding => "unsupported transfer coding",
            Self::BodyTooLarge => "body too large",
            Self::InvalidChunkSize => "invalid chunk size",
            Self::ChunkSizeOverflow => "chunk size overflows 64 bits",
            Self::InvalidChunkExtension => "invalid chunk extension",
            Self::ChunkExtensionsTooLong => "chunk extensions too long",
            Self::MissingChunkCrlf => "chunk data not followed by crlf",
            Self::TrailersTooLarge => "trailer section too large",
            Self::TruncatedBody => "stream ended inside the body",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl std::error::Error for ErrorKind {}

/// How much a peer may make us scan and keep. Every buffer the parsers grow is bounded by one
/// of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line, CRLF excluded; past it the answer is 414, sent as soon as this
    /// many bytes arrived without a line end.
    ///
    /// Default 8 KiB; nginx: 8 KiB (one `large_client_header_buffers` buffer), Apache: 8190
    /// (`LimitRequestLine`), tomcat: 8 KiB (`maxHttpHeaderSize`, whole head).
    pub max_request_line: usize,
    /// Longest head, from its first byte (leading empty lines included) to the CRLF that
    /// ends it; past it the answer is 431. Capped at `u32::MAX` whatever is set here.
    ///
    /// Default 16 KiB; node.js: 16 KiB (`--max-http-header-size`), h11: 16 KiB
    /// (`max_incomplete_event_size`), nginx: 32 KiB (4 × 8 KiB buffers), tomcat: 8 KiB.
    pub max_head_bytes: usize,
    /// Most field lines in one head or trailer section; past it the answer is 431.
    ///
    /// Default 100; Apache: 100 (`LimitRequestFields`), hyper: 100, node.js: 2000
    /// (`maxHeadersCount`).
    pub max_fields: usize,
    /// Largest body: a larger Content-Length, or a chunked body that grows past it, is 413.
    ///
    /// Default 1 MiB; nginx: 1 MiB (`client_max_body_size`), Apache: 1 GiB (`LimitRequestBody`),
    /// node.js and hyper: unlimited. Our server takes small uploads at most; a dissector of
    /// responses should raise this (responses are not ours to refuse).
    pub max_body: u64,
    /// Most bytes of chunk extensions in one body (all chunks together): they carry nothing
    /// we use, so they must not be a way to make us scan forever.
    ///
    /// Default 16 KiB; hyper: 16 KiB per body (`CHUNKED_EXTENSIONS_LIMIT`), node.js: 16 KiB
    /// (`HPE_CHUNK_EXTENSIONS_OVERFLOW`).
    pub max_chunk_extensions: usize,
    /// Longest trailer section, final CRLF included; past it the answer is 431.
    ///
    /// Default 16 KiB; hyper: 16 KiB (`TRAILER_LIMIT`); node.js counts trailers into its 16 KiB
    /// header limit.
    pub max_trailer_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_line: 8 * 1024,
            max_head_bytes: 16 * 1024,
            max_fields: 100,
            max_body: 1024 * 1024,
            max_chunk_extensions: 16 * 1024,
            max_trailer_bytes: 16 * 1024,
        }
    }
}

/// The protocol version of a message (RFC 9112 §2.3). Only these two are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `HTTP/1.0`.
    Http10,
    /// `HTTP/1.1`.
    Http11,
}

impl Version {
    /// The version as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http10 => "HTTP/1.0",
            Self::Http11 => "HTTP/1.1",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the body of a message is framed (RFC 9112 §6.3), decided from its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyKind {
    /// No body: the next message starts right after the head.
    None,
    /// Exactly this many bytes (Content-Length).
    Length(u64),
    /// Chunked transfer coding (RFC 9112 §7.1).
    Chunked,
    /// A response body that runs until the server closes the connection (§6.3 rule 8).
    UntilClose,
    /// A 101 response: after the head, the stream belongs to the protocol switched to.
    Upgrade,
    /// A 2xx answer to CONNECT: after the head, the stream is a tunnel (§6.3 rule 2).
    Tunnel,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_small() {
        assert!(std::mem::size_of::<Error>() <= 16);
        assert_eq!(std::mem::size_of::<ErrorKind>(), 1);
    }

    #[test]
    fn error_display_is_lowercase_without_period() {
        let e = Error::new(ErrorKind::WhitespaceBeforeColon, 20);
        assert_eq!(
            e.to_string(),
            "whitespace between field name and colon at byte 20"
        );
        assert_eq!(e.status(), 400);
        assert_eq!(e.rule(), "RFC 9112 §5.1");
    }

    /// Every kind; `listed` fails to compile when a kind is added and not listed here.
    const ALL_KINDS: [ErrorKind; 39] = {
        use ErrorKind::*;
        [
            BareCr,
            BareLf,
            InvalidRequestLine,
            InvalidMethod,
            InvalidTarget,
            InvalidTargetForm,
            InvalidVersion,
            UnsupportedVersion,
            RequestLineTooLong,
            InvalidStatusLine,
            InvalidStatusCode,
            WhitespaceAfterStartLine,
            ObsoleteLineFolding,
            InvalidFieldName,
            WhitespaceBeforeColon,
            MissingColon,
            InvalidFieldValue,
            HeadTooLarge,
            TooManyFields,
            MissingHost,
            DuplicateHost,
            InvalidHost,
            InvalidContentLength,
            ContentLengthOverflow,
            ConflictingContentLength,
            ConflictingFraming,
            TransferEncodingInHttp10,
            InvalidTransferEncoding,
            ChunkedTwice,
            ChunkedNotFinal,
            UnsupportedTransferCoding,
            BodyTooLarge,
            InvalidChunkSize,
            ChunkSizeOverflow,
            InvalidChunkExtension,
            ChunkExtensionsTooLong,
            MissingChunkCrlf,
            TrailersTooLarge,
            TruncatedBody,
        ]
    };

    fn listed(kind: ErrorKind) -> usize {
        use ErrorKind::*;
        match kind {
            BareCr
            | BareLf
            | InvalidRequestLine
            | InvalidMethod
            | InvalidTarget
            | InvalidTargetForm
            | InvalidVersion
            | UnsupportedVersion
            | RequestLineTooLong
            | InvalidStatusLine
            | InvalidStatusCode
            | WhitespaceAfterStartLine
            | ObsoleteLineFolding
            | InvalidFieldName
            | WhitespaceBeforeColon
            | MissingColon
            | InvalidFieldValue
            | HeadTooLarge
            | TooManyFields
            | MissingHost
            | DuplicateHost
            | InvalidHost
            | InvalidContentLength
            | ContentLengthOverflow
            | ConflictingContentLength
            | ConflictingFraming
            | TransferEncodingInHttp10
            | InvalidTransferEncoding
            | ChunkedTwice
            | ChunkedNotFinal
            | UnsupportedTransferCoding
            | BodyTooLarge
            | InvalidChunkSize
            | ChunkSizeOverflow
            | InvalidChunkExtension
            | ChunkExtensionsTooLong
            | MissingChunkCrlf
            | TrailersTooLarge
            | TruncatedBody => ALL_KINDS.iter().filter(|&&k| k == kind).count(),
        }
    }

    #[test]
    fn every_kind_has_a_rule_a_status_and_a_lowercase_message() {
        for kind in ALL_KINDS {
            assert_eq!(listed(kind), 1, "{kind:?} listed once");
            assert!(kind.rule().starts_with("RFC "), "{kind:?}");
            assert!(
                [400, 413, 414, 431, 501, 505].contains(&kind.status()),
                "{kind:?}"
            );
            let text = kind.to_string();
            assert!(!text.is_empty() && !text.ends_with('.'), "{kind:?}");
            assert!(!text.starts_with(char::is_uppercase), "{kind:?}");
        }
    }

    #[test]
    fn limit_errors_map_to_their_status() {
        assert_eq!(ErrorKind::RequestLineTooLong.status(), 414);
        assert_eq!(ErrorKind::HeadTooLarge.status(), 431);
        assert_eq!(ErrorKind::TooManyFields.status(), 431);
        assert_eq!(ErrorKind::BodyTooLarge.status(), 413);
        assert_eq!(ErrorKind::UnsupportedTransferCoding.status(), 501);
        assert_eq!(ErrorKind::UnsupportedVersion.status(), 505);
    }
}
