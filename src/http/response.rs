//! Incremental RFC 9112 response parser: status line (§4), field lines (§5) and body framing
//! (§6.3), which depends on the request being answered. Used to dissect what a server sent.
//! Knows no sockets and no clock.

use std::ops::Range;

use super::head::{field_accessors, Bounds, FieldSpan, Framing, KnownField, Scanner};
use super::request::{supported, version_digits};
use super::{BodyKind, Error, ErrorKind, Limits, Method, Status, Version};

/// Where the parts of the status line sit, and what they say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StatusLine {
    // Offsets from the first byte of the head; u32 because heads are capped below 4 GiB.
    start: u32,
    end: u32,
    status: u16,
    version: Version,
}

/// A complete, valid response head. Like [`RequestHead`](super::RequestHead) it owns one copy
/// of its bytes plus a span per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    bytes: Box<[u8]>,
    fields: Box<[FieldSpan]>,
    line: StatusLine,
    body: BodyKind,
}

impl ResponseHead {
    /// The protocol version.
    pub fn version(&self) -> Version {
        self.line.version
    }

    /// The status code, 100 to 599.
    pub fn status(&self) -> u16 {
        self.line.status
    }

    /// The reason phrase (possibly empty; it may hold obs-text, hence bytes).
    pub fn reason(&self) -> &[u8] {
        self.bytes.get(self.reason_span()).unwrap_or_default()
    }

    /// How the body that follows the head is framed, given the request it answers.
    pub fn body(&self) -> BodyKind {
        self.body
    }

    /// Whether this is an interim response (1xx other than 101): another head follows for
    /// the same request (RFC 9110 §15.2).
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.line.status) && self.line.status != 101
    }

    /// Whether the connection may carry another exchange after this one (RFC 9112 §9.3): as
    /// for requests, and never after a body that runs until close.
    pub fn keep_alive(&self) -> bool {
        let asked = match self.line.version {
            Version::Http11 => !self.has_token("connection", "close"),
            Version::Http10 => {
                self.has_token("connection", "keep-alive") && !self.has_token("connection", "close")
            }
        };
        asked && self.body != BodyKind::UntilClose
    }

    /// Length of the head in bytes, final CRLF included: where the body starts.
    pub fn head_len(&self) -> usize {
        self.bytes.len()
    }

    /// The status line, CRLF excluded.
    pub fn status_line_span(&self) -> Range<usize> {
        self.line.start as usize..self.line.end as usize
    }

    /// The three digits of the status code.
    pub fn status_span(&self) -> Range<usize> {
        let start = self.line.start as usize + 9;
        start..start + 3
    }

    /// The reason phrase (empty range if there is none).
    pub fn reason_span(&self) -> Range<usize> {
        self.line.start as usize + 13..self.line.end as usize
    }

    field_accessors!();
}

/// Parses response heads from a buffer that the caller grows as bytes arrive; the framing of
/// the body depends on the method of the request being answered.
///
/// ```
/// use wiretap::http::{BodyKind, Method, ResponseParser, Status};
///
/// let mut parser = ResponseParser::new();
/// let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
/// let Ok(Status::Complete { value: head, consumed }) = parser.parse(wire, Method::Get) else {
///     panic!()
/// };
/// assert_eq!((head.status(), head.reason()), (200, &b"OK"[..]));
/// assert_eq!(head.body(), BodyKind::Length(5));
/// assert_eq!(consumed, wire.len() - 5);
///
/// // The same head answering HEAD has no body.
/// let Ok(Status::Complete { value: head, .. }) = parser.parse(wire, Method::Head) else {
///     panic!()
/// };
/// assert_eq!(head.body(), BodyKind::None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ResponseParser {
    limits: Limits,
    scanner: Scanner,
    state: Head,
}

/// What the parser waits for.
#[derive(Debug, Clone, Copy, Default)]
enum Head {
    /// The status line.
    #[default]
    StatusLine,
    /// The field lines, the status line being known.
    Fields(StatusLine),
}

impl ResponseParser {
    /// A parser with the default [`Limits`] (`max_request_line` does not apply to status
    /// lines; `max_body` does not apply to responses, which are not ours to refuse).
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser with `limits`.
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Forgets a partly parsed head. Not needed after `Complete` or `Err`.
    pub fn reset(&mut self) {
        self.scanner.reset();
        self.state = Head::StatusLine;
    }

    /// Parses the head at the start of `buf`, a response to a request with `method`.
    ///
    /// Same contract as [`RequestParser::parse`](super::RequestParser::parse): `buf` holds
    /// every byte of this message so far and only grows between calls; after `Complete` or
    /// `Err` the parser is ready for the next head (an interim 1xx is followed by another).
    pub fn parse(&mut self, buf: &[u8], method: Method) -> Result<Status<ResponseHead>, Error> {
        if buf.len() < self.scanner.pos() {
            self.reset();
        }
        let result = self.advance(buf, method);
        if !matches!(result, Ok(Status::Partial)) {
            self.reset();
        }
        result
    }

    fn advance(&mut self, buf: &[u8], method: Method) -> Result<Status<ResponseHead>, Error> {
        let bounds = Bounds::head(&self.limits);
        let line = match self.state {
            Head::Fields(line) => line,
            Head::StatusLine => {
                // A status line is bounded by the head limit alone; 414 is a request's answer.
                let found = self.scanner.start_line(
                    buf,
                    usize::MAX,
                    &bounds,
                    false,
                    ErrorKind::HeadTooLarge,
                )?;
                let Some(span) = found else {
                    return Ok(Status::Partial);
                };
                let line = status_line(buf, span)?;
                self.state = Head::Fields(line);
                line
            }
        };
        let Some(end) = self.scanner.fields(buf, &bounds)? else {
            return Ok(Status::Partial);
        };
        let bytes = buf.get(..end).unwrap_or_default();
        let spans = self.scanner.spans.as_slice();
        let known = self.scanner.known.as_slice();
        let body = response_body(bytes, spans, known, &line, method)?;
        Ok(Status::Complete {
            value: ResponseHead {
                bytes: bytes.into(),
                fields: spans.into(),
                line,
                body,
            },
            consumed: end,
        })
    }
}

/// ```text
/// status-line   = HTTP-version SP status-code SP [ reason-phrase ]
/// status-code   = 3DIGIT
/// reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
/// ```
/// RFC 9112 §4 lets a client accept a status line without the SP before an empty reason; we
/// require it, as the grammar does.
fn status_line(buf: &[u8], span: Range<usize>) -> Result<StatusLine, Error> {
    let start = span.start;
    let end = span.end;
    let line = buf.get(span).unwrap_or_default();
    let err = |kind, i: usize| Err(Error::new(kind, start + i));

    let digits = version_digits(line, start)?;
    if line.get(8) != Some(&b' ') {
        return err(ErrorKind::InvalidStatusLine, 8.min(line.len()));
    }
    let version = supported(digits, start)?;

    let mut status: u16 = 0;
    for i in 9..12 {
        match line.get(i) {
            Some(&b) if b.is_ascii_digit() => status = status * 10 + u16::from(b - b'0'),
            _ => return err(ErrorKind::InvalidStatusCode, i.min(line.len())),
        }
    }
    // RFC 9110 §15: "All valid status codes are within the range of 100 to 599, inclusive."
    if !(100..=599).contains(&status) {
        return err(ErrorKind::InvalidStatusCode, 9);
    }
    if line.get(12) != Some(&b' ') {
        return err(ErrorKind::InvalidStatusLine, 12.min(line.len()));
    }
    let reason = line.get(13..).unwrap_or_default();
    if let Some(bad) = reason
        .iter()
        .position(|&b| !super::token::is_field_value_byte(b))
    {
        return err(ErrorKind::InvalidStatusLine, 13 + bad);
    }
    // Offsets are below `Bounds::max_bytes`, itself at most `u32::MAX`.
    Ok(StatusLine {
        start: start as u32,
        end: end as u32,
        status,
        version,
    })
}

/// RFC 9112 §6.3 for a response, rules 1 to 8 in order.
fn response_body(
    bytes: &[u8],
    spans: &[FieldSpan],
    known: &[(KnownField, u32)],
    line: &StatusLine,
    method: Method,
) -> Result<BodyKind, Error> {
    let status = line.status;
    // Rule 1 and RFC 9110 §15.2.2: after 101 the connection speaks the new protocol.
    if status == 101 {
        return Ok(BodyKind::Upgrade);
    }
    // Rule 1: "Any response to a HEAD request and any response with a 1xx (Informational),
    // 204 (No Content), or 304 (Not Modified) status code is always terminated by the first
    // empty line after the header fields". Their framing fields are not examined.
    if method == Method::Head || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(BodyKind::None);
    }
    // Rule 2: "Any 2xx (Successful) response to a CONNECT request implies that the connection
    // will become a tunnel immediately after the empty line that concludes the header fields."
    if method == Method::Connect && (200..300).contains(&status) {
        return Ok(BodyKind::Tunnel);
    }
    let framing = Framing::read(bytes, spans, known)?;
    if let Some(te) = framing.transfer_encoding {
        if line.version == Version::Http10 {
            return Err(Error::new(ErrorKind::TransferEncodingInHttp10, te));
        }
        // Rule 3: Transfer-Encoding overrides Content-Length, but the pair "ought to be
        // handled as an error".
        if let Some((_, cl)) = framing.content_length {
            return Err(Error::new(ErrorKind::ConflictingFraming, te.max(cl)));
        }
        // Rule 4: chunked last frames the body; otherwise it runs until close. Other codings
        // stay in the payload for whoever reads it.
        return Ok(if framing.chunked_last {
            BodyKind::Chunked
        } else {
            BodyKind::UntilClose
        });
    }
    Ok(match framing.content_length {
        // Rule 6.
        Some((n, _)) => BodyKind::Length(n),
        // Rule 8: "the message body length is determined by the number of octets received
        // prior to the server closing the connection".
        None => BodyKind::UntilClose,
    })
}

#[cfg(test)]
mod tests;
