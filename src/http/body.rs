//! Incremental message body decoder (RFC 9112 §6, §7): Content-Length, chunked (with chunk
//! extensions and a trailer section) and until-close bodies. Knows no sockets and no clock.
//!
//! The decoder consumes what it is given and hands payload out as ranges of the caller's
//! buffer, so data is never copied here; only a trailer section is kept (bounded).

use std::ops::Range;

use super::head::{field_accessors, Bounds, FieldSpan, Scanner};
use super::token::{self, TCHAR};
use super::{BodyKind, Error, ErrorKind, Limits};

/// What one call to [`BodyDecoder::decode`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyProgress {
    /// How many bytes of the buffer were used (framing and payload); drain them.
    pub consumed: usize,
    /// Payload found by this call, as a range of the buffer (empty if none). At most one
    /// range per call: call again with the rest to get the next.
    pub data: Range<usize>,
    /// The body is complete: bytes after `consumed` belong to the next message.
    pub done: bool,
}

impl BodyProgress {
    fn at(consumed: usize, done: bool) -> Self {
        Self {
            consumed,
            data: consumed..consumed,
            done,
        }
    }
}

/// The trailer section of a chunked body (RFC 9112 §7.1.2), checked with the same field
/// rules and limits as a head.
///
/// Kept so it can be shown, never trusted: fields such as Content-Length, Transfer-Encoding
/// or Host mean nothing here and no framing decision reads them (RFC 9110 §6.5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailers {
    bytes: Box<[u8]>,
    fields: Box<[FieldSpan]>,
    offset: u64,
}

impl Trailers {
    /// Where the trailer section starts, counted from the first byte of the body. Spans are
    /// relative to this.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    field_accessors!();
}

/// What the decoder waits for. The chunked states follow RFC 9112 §7.1:
/// ```text
/// chunked-body   = *chunk last-chunk trailer-section CRLF
/// chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
/// chunk-size     = 1*HEXDIG
/// last-chunk     = 1*("0") [ chunk-ext ] CRLF
/// chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
/// chunk-ext-name = token
/// chunk-ext-val  = token / quoted-string
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Content-Length: this many payload bytes still to come.
    Length(u64),
    /// Everything until the stream ends is payload.
    UntilClose,
    /// The first hex digit of a chunk-size.
    Size,
    /// More hex digits, or what ends the size.
    SizeDigits,
    /// BWS, then the ";" that starts a chunk extension.
    ExtSemicolon,
    /// BWS, then a chunk-ext-name.
    ExtName,
    /// More of the name, BWS, "=", ";" or the CR.
    ExtNameRest,
    /// BWS after a name: "=" or ";".
    ExtEquals,
    /// BWS, then a token or quoted-string value.
    ExtValue,
    /// More of a token value, or what follows it.
    ExtToken,
    /// Inside a quoted-string value.
    ExtQuoted,
    /// The byte after a backslash in a quoted-string.
    ExtQuotedPair,
    /// What follows a quoted-string value: BWS, ";" or the CR.
    ExtAfterQuoted,
    /// The LF after the CR that ends a chunk-size line.
    SizeLf,
    /// chunk-data: `remaining` bytes to go.
    Data,
    /// The CR after chunk-data.
    DataCr,
    /// The LF after chunk-data.
    DataLf,
    /// The trailer section and the final CRLF.
    Trailers,
    /// The body is complete.
    Done,
}

/// Decodes one message body, fed in pieces.
///
/// ```
/// use wiretap::http::{BodyDecoder, BodyKind};
///
/// let mut decoder = BodyDecoder::new(BodyKind::Chunked);
/// let mut buf = b"5\r\nhello\r\n0\r\n\r\nNEXT".to_vec();
/// let mut payload = Vec::new();
/// loop {
///     let progress = decoder.decode(&buf).unwrap();
///     payload.extend_from_slice(&buf[progress.data.clone()]);
///     buf.drain(..progress.consumed);
///     if progress.done {
///         break;
///     }
/// }
/// assert_eq!(payload, b"hello");
/// assert_eq!(buf, b"NEXT");
/// ```
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    state: State,
    /// Body bytes consumed so far (framing included): the offset of the next byte.
    position: u64,
    /// Payload bytes handed out so far.
    received: u64,
    /// The chunk-size being read, then the bytes of chunk-data still to come.
    size: u64,
    /// Where the current chunk-size starts.
    size_start: u64,
    /// Chunk extension bytes seen in this body.
    extensions: usize,
    /// Chunks with data seen so far (the last-chunk not counted).
    chunks: u64,
    max_body: u64,
    max_extensions: usize,
    trailer_bounds: Bounds,
    /// Where the trailer section starts.
    trailer_start: u64,
    /// The trailer section as it arrives (bounded by `trailer_bounds`).
    trailer_bytes: Vec<u8>,
    trailer_scanner: Scanner,
    trailers: Option<Trailers>,
    failed: Option<Error>,
}

impl BodyDecoder {
    /// A decoder for a body framed as `kind`, under the default [`Limits`].
    ///
    /// `None`, `Upgrade` and `Tunnel` have no body: the decoder is done at once and consumes
    /// nothing (after an upgrade or a tunnel the bytes belong to another protocol).
    pub fn new(kind: BodyKind) -> Self {
        Self::with_limits(kind, &Limits::default())
    }

    /// A decoder for a body framed as `kind`, enforcing `limits.max_body`,
    /// `limits.max_chunk_extensions`, `limits.max_trailer_bytes` and `limits.max_fields`.
    pub fn with_limits(kind: BodyKind, limits: &Limits) -> Self {
        let state = match kind {
            BodyKind::None | BodyKind::Upgrade | BodyKind::Tunnel | BodyKind::Length(0) => {
                State::Done
            }
            BodyKind::Length(n) => State::Length(n),
            BodyKind::Chunked => State::Size,
            BodyKind::UntilClose => State::UntilClose,
        };
        Self {
            state,
            position: 0,
            received: 0,
            size: 0,
            size_start: 0,
            extensions: 0,
            chunks: 0,
            max_body: limits.max_body,
            max_extensions: limits.max_chunk_extensions,
            trailer_bounds: Bounds {
                // Room for the final CRLF at least, and offsets that fit in a u32.
                max_bytes: limits.max_trailer_bytes.clamp(2, u32::MAX as usize),
                max_fields: limits.max_fields,
                too_large: ErrorKind::TrailersTooLarge,
            },
            trailer_start: 0,
            trailer_bytes: Vec::new(),
            trailer_scanner: Scanner::default(),
            trailers: None,
            failed: None,
        }
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Payload bytes handed out so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Body bytes consumed so far, framing included.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// For a chunked body, the chunks with data whose size line has been read so far (the
    /// zero-size last-chunk is not counted); 0 for other framings. The dissector reports it.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// The trailer section of a chunked body, once decoded, if it had any field.
    pub fn trailers(&self) -> Option<&Trailers> {
        self.trailers.as_ref()
    }

    /// Takes the trailer section out of the decoder.
    pub fn take_trailers(&mut self) -> Option<Trailers> {
        self.trailers.take()
    }

    /// Decodes from `buf`, the body bytes that follow those consumed so far.
    ///
    /// Returns after the first stretch of payload, when the body is done, or when `buf` is
    /// used up; drain `consumed` bytes and call again with what is left plus what arrives.
    /// Errors carry offsets from the first byte of the body. After an error, every call
    /// returns the same error.
    pub fn decode(&mut self, buf: &[u8]) -> Result<BodyProgress, Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        match self.step(buf) {
            Ok(progress) => {
                self.position += progress.consumed as u64;
                Ok(progress)
            }
            Err(e) => {
                self.failed = Some(e);
                Err(e)
            }
        }
    }

    /// The stream ended: fine if the body is done or runs until close, a
    /// [`TruncatedBody`](ErrorKind::TruncatedBody) error otherwise.
    pub fn finish(&mut self) -> Result<(), Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        match self.state {
            State::Done => Ok(()),
            State::UntilClose => {
                self.state = State::Done;
                Ok(())
            }
            _ => {
                let e = Error::new(ErrorKind::TruncatedBody, self.offset(0));
                self.failed = Some(e);
                Err(e)
            }
        }
    }

    /// The body offset of `buf[i]` in the current call.
    fn offset(&self, i: usize) -> usize {
        usize::try_from(self.position)
            .unwrap_or(usize::MAX)
            .saturating_add(i)
    }

    fn step(&mut self, buf: &[u8]) -> Result<BodyProgress, Error> {
        match self.state {
            State::Done => Ok(BodyProgress::at(0, true)),
            State::Length(remaining) => {
                if self.received == 0 && remaining > self.max_body {
                    // Declared too large: refuse before reading any of it.
                    return Err(Error::new(ErrorKind::BodyTooLarge, self.offset(0)));
                }
                let n = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
                let remaining = remaining - n as u64;
                self.received += n as u64;
                self.state = if remaining == 0 {
                    State::Done
                } else {
                    State::Length(remaining)
                };
                Ok(BodyProgress {
                    consumed: n,
                    data: 0..n,
                    done: remaining == 0,
                })
            }
            State::UntilClose => {
                // Payload up to the limit is handed out; the first byte past it is refused.
                let room = self.max_body.saturating_sub(self.received);
                let n = usize::try_from(room).map_or(buf.len(), |room| room.min(buf.len()));
                if n == 0 && !buf.is_empty() {
                    return Err(Error::new(ErrorKind::BodyTooLarge, self.offset(0)));
                }
                self.received += n as u64;
                Ok(BodyProgress {
                    consumed: n,
                    data: 0..n,
                    done: false,
                })
            }
            _ => self.chunked(buf),
        }
    }

    /// The chunked states, byte by byte except for chunk-data and the trailer section.
    fn chunked(&mut self, buf: &[u8]) -> Result<BodyProgress, Error> {
        let mut i = 0;
        loop {
            match self.state {
                State::Data => {
                    let left = buf.len() - i;
                    let n = usize::try_from(self.size).map_or(left, |size| size.min(left));
                    if n == 0 {
                        return Ok(BodyProgress::at(i, false));
                    }
                    self.size -= n as u64;
                    self.received += n as u64;
                    if self.size == 0 {
                        self.state = State::DataCr;
                    }
                    return Ok(BodyProgress {
                        consumed: i + n,
                        data: i..i + n,
                        done: false,
                    });
                }
                State::Trailers => return self.trailer_section(buf, i),
                State::Done => return Ok(BodyProgress::at(i, true)),
                _ => {}
            }
            let Some(&b) = buf.get(i) else {
                return Ok(BodyProgress::at(i, false));
            };
            let at = self.offset(i);
            self.state = self.chunk_line(b, at)?;
            if matches!(
                self.state,
                State::ExtSemicolon
                    | State::ExtName
                    | State::ExtNameRest
                    | State::ExtEquals
                    | State::ExtValue
                    | State::ExtToken
                    | State::ExtQuoted
                    | State::ExtQuotedPair
                    | State::ExtAfterQuoted
            ) {
                // Extensions carry nothing we use; they must not make us scan forever.
                self.extensions += 1;
                if self.extensions > self.max_extensions {
                    return Err(Error::new(ErrorKind::ChunkExtensionsTooLong, at));
                }
            }
            i += 1;
        }
    }

    /// One byte of a chunk-size line or of the CRLF after chunk-data; `at` is its offset.
    fn chunk_line(&mut self, b: u8, at: usize) -> Result<State, Error> {
        let fail = |kind| Err(Error::new(kind, at));
        let bad_ext = || Err(Error::new(ErrorKind::InvalidChunkExtension, at));
        let ows = token::is_ows(b);
        let tchar = TCHAR[usize::from(b)];
        if b == b'\n'
            && !matches!(
                self.state,
                State::Size | State::SizeLf | State::DataCr | State::DataLf
            )
        {
            return fail(ErrorKind::BareLf);
        }
        match self.state {
            // chunk-size = 1*HEXDIG: no sign, no "0x", no whitespace before it.
            State::Size => match hex(b) {
                Some(d) => {
                    self.size = u64::from(d);
                    self.size_start = at as u64;
                    Ok(State::SizeDigits)
                }
                None => fail(ErrorKind::InvalidChunkSize),
            },
            State::SizeDigits => {
                if let Some(d) = hex(b) {
                    if self.size > u64::MAX >> 4 {
                        return fail(ErrorKind::ChunkSizeOverflow);
                    }
                    self.size = self.size << 4 | u64::from(d);
                    return Ok(State::SizeDigits);
                }
                let next = match b {
                    b' ' | b'\t' => State::ExtSemicolon,
                    b';' => State::ExtName,
                    b'\r' => State::SizeLf,
                    _ => return fail(ErrorKind::InvalidChunkSize),
                };
                // The size is known: refuse a body that would grow past the limit before its
                // data arrives.
                let total = self.received.checked_add(self.size);
                if total.is_none_or(|total| total > self.max_body) {
                    let start = usize::try_from(self.size_start).unwrap_or(usize::MAX);
                    return Err(Error::new(ErrorKind::BodyTooLarge, start));
                }
                Ok(next)
            }
            State::ExtSemicolon => match b {
                _ if ows => Ok(State::ExtSemicolon),
                b';' => Ok(State::ExtName),
                _ => bad_ext(),
            },
            State::ExtName => match b {
                _ if ows => Ok(State::ExtName),
                _ if tchar => Ok(State::ExtNameRest),
                _ => bad_ext(),
            },
            State::ExtNameRest => match b {
                _ if tchar => Ok(State::ExtNameRest),
                _ if ows => Ok(State::ExtEquals),
                b'=' => Ok(State::ExtValue),
                b';' => Ok(State::ExtName),
                b'\r' => Ok(State::SizeLf),
                _ => bad_ext(),
            },
            // BWS is allowed before "=" or the next ";", not before the CRLF.
            State::ExtEquals => match b {
                _ if ows => Ok(State::ExtEquals),
                b'=' => Ok(State::ExtValue),
                b';' => Ok(State::ExtName),
                _ => bad_ext(),
            },
            State::ExtValue => match b {
                _ if ows => Ok(State::ExtValue),
                b'"' => Ok(State::ExtQuoted),
                _ if tchar => Ok(State::ExtToken),
                _ => bad_ext(),
            },
            State::ExtToken => match b {
                _ if tchar => Ok(State::ExtToken),
                _ if ows => Ok(State::ExtSemicolon),
                b';' => Ok(State::ExtName),
                b'\r' => Ok(State::SizeLf),
                _ => bad_ext(),
            },
            // RFC 9110 §5.6.4:
            // quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
            // qdtext        = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
            // quoted-pair   = "\" ( HTAB / SP / VCHAR / obs-text )
            State::ExtQuoted => match b {
                b'"' => Ok(State::ExtAfterQuoted),
                b'\\' => Ok(State::ExtQuotedPair),
                _ if token::is_field_value_byte(b) => Ok(State::ExtQuoted),
                _ => bad_ext(),
            },
            State::ExtQuotedPair if token::is_field_value_byte(b) => Ok(State::ExtQuoted),
            State::ExtQuotedPair => bad_ext(),
            State::ExtAfterQuoted => match b {
                _ if ows => Ok(State::ExtSemicolon),
                b';' => Ok(State::ExtName),
                b'\r' => Ok(State::SizeLf),
                _ => bad_ext(),
            },
            State::SizeLf => match b {
                b'\n' if self.size == 0 => {
                    self.trailer_start = at as u64 + 1;
                    Ok(State::Trailers)
                }
                b'\n' => {
                    self.chunks += 1;
                    Ok(State::Data)
                }
                // The CR just before this byte stands alone.
                _ => Err(Error::new(ErrorKind::BareCr, at.saturating_sub(1))),
            },
            State::DataCr if b == b'\r' => Ok(State::DataLf),
            State::DataLf if b == b'\n' => Ok(State::Size),
            State::DataCr | State::DataLf => fail(ErrorKind::MissingChunkCrlf),
            // Handled by the caller before any byte is read.
            State::Length(_) | State::UntilClose | State::Data | State::Trailers | State::Done => {
                Ok(self.state)
            }
        }
    }

    /// The trailer section, from `buf[i..]`: buffered (bounded) and scanned with the same
    /// field rules as a head.
    fn trailer_section(&mut self, buf: &[u8], i: usize) -> Result<BodyProgress, Error> {
        let rest = buf.get(i..).unwrap_or_default();
        // The usual case: no trailer fields, only the final CRLF. Nothing to keep.
        if self.trailer_bytes.is_empty() && rest.starts_with(b"\r\n") {
            self.state = State::Done;
            return Ok(BodyProgress::at(i + 2, true));
        }
        if rest.is_empty() {
            return Ok(BodyProgress::at(i, false));
        }
        let before = self.trailer_bytes.len();
        let room = self.trailer_bounds.max_bytes.saturating_sub(before);
        let taken = rest.get(..room).unwrap_or(rest);
        self.trailer_bytes.extend_from_slice(taken);
        let scanned = self
            .trailer_scanner
            .fields(&self.trailer_bytes, &self.trailer_bounds);
        match scanned {
            Err(e) => {
                let start = usize::try_from(self.trailer_start).unwrap_or(usize::MAX);
                Err(Error::new(e.kind, start.saturating_add(e.offset)))
            }
            Ok(None) => Ok(BodyProgress::at(i + taken.len(), false)),
            Ok(Some(end)) => {
                self.trailer_bytes.truncate(end);
                let bytes = std::mem::take(&mut self.trailer_bytes);
                let fields: Box<[FieldSpan]> = self.trailer_scanner.spans.as_slice().into();
                // An empty section reads the same as the fast path above: no trailers.
                if !fields.is_empty() {
                    self.trailers = Some(Trailers {
                        bytes: bytes.into_boxed_slice(),
                        fields,
                        offset: self.trailer_start,
                    });
                }
                self.state = State::Done;
                // The section ends in bytes taken by this call: `end > before`.
                Ok(BodyProgress::at(i + end.saturating_sub(before), true))
            }
        }
    }
}

/// The value of a HEXDIG.
fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
