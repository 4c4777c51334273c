//! Incremental RFC 9112 request parser: request line (§3), field lines (§5), Host (§3.2) and
//! message body framing (§6). Knows no sockets and no clock.

use std::ops::Range;

use super::head::{field_accessors, Bounds, FieldSpan, Framing, KnownField, Scanner};
use super::token::{REG_NAME, TARGET, TCHAR};
use super::{BodyKind, Error, ErrorKind, Limits, Status, Version};

/// A request method (RFC 9110 §9). The parser accepts any token; this names the ones the
/// server and the framing rules care about. Methods are case-sensitive: `get` is `Extension`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: its response has no body (RFC 9112 §6.3 rule 1).
    Head,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
    /// `CONNECT`: authority-form target; a 2xx answer turns the stream into a tunnel.
    Connect,
    /// `OPTIONS`: the one method that may use the asterisk-form target.
    Options,
    /// `TRACE`.
    Trace,
    /// `PATCH` (RFC 5789).
    Patch,
    /// Any other token; [`RequestHead::method`] has its name.
    Extension,
}

impl Method {
    /// The method named by `bytes` (exact, case-sensitive match), `Extension` otherwise.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        match bytes {
            b"GET" => Self::Get,
            b"HEAD" => Self::Head,
            b"POST" => Self::Post,
            b"PUT" => Self::Put,
            b"DELETE" => Self::Delete,
            b"CONNECT" => Self::Connect,
            b"OPTIONS" => Self::Options,
            b"TRACE" => Self::Trace,
            b"PATCH" => Self::Patch,
            _ => Self::Extension,
        }
    }
}

/// The four forms of request-target (RFC 9112 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetForm {
    /// `absolute-path [ "?" query ]`: `/where?q`. The usual form.
    Origin,
    /// `absolute-URI`: `http://host/where`, which a server must accept (§3.2.2). We require
    /// `scheme "://" authority`, so that `host:port` cannot pass for a URI.
    Absolute,
    /// `uri-host ":" port`, only and always for CONNECT (§3.2.3).
    Authority,
    /// `*`, only for a server-wide OPTIONS (§3.2.4).
    Asterisk,
}

/// The request-target of a [`RequestHead`], with its form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTarget<'a> {
    form: TargetForm,
    raw: &'a str,
}

impl<'a> RequestTarget<'a> {
    /// Which form the target has.
    pub fn form(&self) -> TargetForm {
        self.form
    }

    /// The target as sent (its bytes are checked to be visible ASCII).
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The authority of an absolute-form or authority-form target.
    pub fn authority(&self) -> Option<&'a str> {
        match self.form {
            TargetForm::Authority => Some(self.raw),
            TargetForm::Absolute => {
                let rest = self.after_scheme();
                let end = rest.find(['/', '?']).unwrap_or(rest.len());
                rest.get(..end)
            }
            TargetForm::Origin | TargetForm::Asterisk => None,
        }
    }

    /// The path: before `?` in origin-form, after the authority in absolute-form (empty if
    /// there is none), `*` in asterisk-form, empty in authority-form. Not percent-decoded.
    pub fn path(&self) -> &'a str {
        let path_and_query = match self.form {
            TargetForm::Origin | TargetForm::Asterisk => self.raw,
            TargetForm::Authority => "",
            TargetForm::Absolute => {
                let rest = self.after_scheme();
                let start = rest.find(['/', '?']).unwrap_or(rest.len());
                rest.get(start..).unwrap_or_default()
            }
        };
        let end = path_and_query.find('?').unwrap_or(path_and_query.len());
        path_and_query.get(..end).unwrap_or_default()
    }

    /// The query, after the first `?`, if there is one.
    pub fn query(&self) -> Option<&'a str> {
        match self.form {
            TargetForm::Origin | TargetForm::Absolute => {
                self.raw.split_once('?').map(|(_, query)| query)
            }
            TargetForm::Authority | TargetForm::Asterisk => None,
        }
    }

    fn after_scheme(&self) -> &'a str {
        self.raw.split_once("://").map_or("", |(_, rest)| rest)
    }
}

/// Where the parts of the request line sit, and what they say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RequestLine {
    // Offsets from the first byte of the head; u32 because heads are capped below 4 GiB.
    start: u32,
    method_end: u32,
    target_end: u32,
    end: u32,
    method: Method,
    form: TargetForm,
    version: Version,
}

/// A complete, valid request head. It owns one copy of its bytes and a small span per field,
/// nothing per header; every accessor borrows from them.
///
/// [`RequestParser::parse_into`] refills a head in place, reusing both buffers, so a loop
/// that parses many heads allocates only while they grow; [`Default`] gives the empty head
/// to start from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    // Vecs, not boxed slices, so that `parse_into` can keep their capacity.
    bytes: Vec<u8>,
    fields: Vec<FieldSpan>,
    line: RequestLine,
    body: BodyKind,
}

impl Default for RequestHead {
    /// An empty head, no bytes and no fields (`GET`-less: the method and target are empty,
    /// the version HTTP/1.1, no body): a buffer for [`RequestParser::parse_into`] to fill.
    fn default() -> Self {
        Self {
            bytes: Vec::new(),
            fields: Vec::new(),
            line: RequestLine {
                start: 0,
                method_end: 0,
                target_end: 0,
                end: 0,
                method: Method::Extension,
                form: TargetForm::Origin,
                version: Version::Http11,
            },
            body: BodyKind::None,
        }
    }
}

impl RequestHead {
    fn text(&self, range: Range<usize>) -> &str {
        // Method and target bytes are checked to be ASCII, so this never falls back.
        let bytes = self.bytes.get(range).unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    /// The method as sent (a token, so ASCII).
    pub fn method(&self) -> &str {
        self.text(self.method_span())
    }

    /// The method, with the ones that matter to framing and routing named.
    pub fn method_kind(&self) -> Method {
        self.line.method
    }

    /// The request-target, with its form.
    pub fn target(&self) -> RequestTarget<'_> {
        RequestTarget {
            form: self.line.form,
            raw: self.text(self.target_span()),
        }
    }

    /// The request-target as sent.
    pub fn target_bytes(&self) -> &[u8] {
        self.bytes.get(self.target_span()).unwrap_or_default()
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.line.version
    }

    /// How the body that follows the head is framed: `None`, `Length(n)` or `Chunked`.
    pub fn body(&self) -> BodyKind {
        self.body
    }

    /// Whether the connection may carry another request after this one (RFC 9112 §9.3):
    /// HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        match self.line.version {
            Version::Http11 => !self.has_token("connection", "close"),
            Version::Http10 => {
                self.has_token("connection", "keep-alive") && !self.has_token("connection", "close")
            }
        }
    }

    /// Whether the client asks to switch protocols (RFC 9110 §7.8): an Upgrade field named
    /// in Connection. "A server MUST ignore an Upgrade header field that is received in an
    /// HTTP/1.0 request", so HTTP/1.0 never upgrades.
    pub fn is_upgrade(&self) -> bool {
        self.line.version == Version::Http11
            && self.has_token("connection", "upgrade")
            && self.field("upgrade").is_some()
    }

    /// Length of the head in bytes, final CRLF included: where the body starts.
    pub fn head_len(&self) -> usize {
        self.bytes.len()
    }

    /// The request line, CRLF excluded (after any empty lines that preceded it).
    pub fn request_line_span(&self) -> Range<usize> {
        self.line.start as usize..self.line.end as usize
    }

    /// The method.
    pub fn method_span(&self) -> Range<usize> {
        self.line.start as usize..self.line.method_end as usize
    }

    /// The request-target.
    pub fn target_span(&self) -> Range<usize> {
        self.line.method_end as usize + 1..self.line.target_end as usize
    }

    /// The HTTP-version.
    pub fn version_span(&self) -> Range<usize> {
        self.line.target_end as usize + 1..self.line.end as usize
    }

    field_accessors!();
}

/// Parses request heads from a buffer that the caller grows as bytes arrive.
///
/// ```
/// use wiretap::http::{RequestParser, Status, Version};
///
/// let mut parser = RequestParser::new();
/// let mut buf = Vec::new();
/// // The head arrives in two pieces; the parser resumes where it stopped.
/// buf.extend_from_slice(b"GET /index.html HTTP/1.1\r\nHo");
/// assert_eq!(parser.parse(&buf), Ok(Status::Partial));
/// buf.extend_from_slice(b"st: example.com\r\n\r\nGET /next");
/// let Ok(Status::Complete { value: head, consumed }) = parser.parse(&buf) else { panic!() };
/// assert_eq!(head.target().path(), "/index.html");
/// assert_eq!(head.version(), Version::Http11);
/// // The next request starts after `consumed`; the parser is ready for it.
/// buf.drain(..consumed);
/// assert_eq!(parser.parse(&buf), Ok(Status::Partial));
/// ```
#[derive(Debug, Clone, Default)]
pub struct RequestParser {
    limits: Limits,
    scanner: Scanner,
    state: Head,
}

/// What the parser waits for.
#[derive(Debug, Clone, Copy, Default)]
enum Head {
    /// The request line, after any empty lines.
    #[default]
    RequestLine,
    /// The field lines, the request line being known.
    Fields(RequestLine),
}

impl RequestParser {
    /// A parser with the default [`Limits`].
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

    /// The limits this parser enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Forgets a partly parsed head. Not needed after `Complete` or `Err`, which reset the
    /// parser themselves.
    pub fn reset(&mut self) {
        self.scanner.reset();
        self.state = Head::RequestLine;
    }

    /// Parses the head at the start of `buf`.
    ///
    /// `buf` holds every byte of this message received so far, from its first byte: after
    /// `Partial`, append to it and call again (the scan resumes where it stopped). `Complete`
    /// says how many bytes the head took; the body (see [`RequestHead::body`]) or the next
    /// request follows. After `Complete` or `Err` the parser is ready for a new message.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Status<RequestHead>, Error> {
        let mut head = RequestHead::default();
        Ok(match self.parse_into(buf, &mut head)? {
            Status::Complete {
                value: (),
                consumed,
            } => Status::Complete {
                value: head,
                consumed,
            },
            Status::Partial => Status::Partial,
        })
    }

    /// Like [`parse`](Self::parse), but `Complete` writes the head into `head`, reusing the
    /// capacity of its buffers instead of allocating new ones: the steady-state loop of a
    /// connection or a replay allocates nothing. On `Partial` or `Err`, `head` is untouched.
    ///
    /// ```
    /// use wiretap::http::{RequestHead, RequestParser, Status};
    ///
    /// let mut parser = RequestParser::new();
    /// let mut head = RequestHead::default();
    /// let wire = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    /// let mut buf = &wire[..];
    /// let mut paths = Vec::new();
    /// while let Ok(Status::Complete { consumed, .. }) = parser.parse_into(buf, &mut head) {
    ///     paths.push(head.target().path().to_owned());
    ///     buf = &buf[consumed..];
    /// }
    /// assert_eq!(paths, ["/a", "/b"]);
    /// ```
    pub fn parse_into(&mut self, buf: &[u8], head: &mut RequestHead) -> Result<Status<()>, Error> {
        if buf.len() < self.scanner.pos() {
            // Not the growing buffer of the contract; start over rather than trust old state.
            self.reset();
        }
        let result = self.advance(buf, head);
        if !matches!(result, Ok(Status::Partial)) {
            self.reset();
        }
        result
    }

    fn advance(&mut self, buf: &[u8], head: &mut RequestHead) -> Result<Status<()>, Error> {
        let bounds = Bounds::head(&self.limits);
        let line = match self.state {
            Head::Fields(line) => line,
            Head::RequestLine => {
                let found = self.scanner.start_line(
                    buf,
                    self.limits.max_request_line,
                    &bounds,
                    true,
                    ErrorKind::RequestLineTooLong,
                )?;
                let Some(span) = found else {
                    return Ok(Status::Partial);
                };
                let line = request_line(buf, span)?;
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
        check_host(bytes, spans, known, line.version, end)?;
        let framing = Framing::read(bytes, spans, known)?;
        let body = request_body(&framing, line.version, &self.limits)?;
        head.bytes.clear();
        head.bytes.extend_from_slice(bytes);
        head.fields.clear();
        head.fields.extend_from_slice(spans);
        head.line = line;
        head.body = body;
        Ok(Status::Complete {
            value: (),
            consumed: end,
        })
    }
}

/// ```text
/// request-line = method SP request-target SP HTTP-version
/// ```
/// `span` is the line without its CRLF; offsets in errors are absolute.
fn request_line(buf: &[u8], span: Range<usize>) -> Result<RequestLine, Error> {
    let start = span.start;
    let end = span.end;
    let line = buf.get(span).unwrap_or_default();
    let err = |kind, i: usize| Err(Error::new(kind, start + i));

    // method = token
    let method_len = line
        .iter()
        .position(|&b| !TCHAR[usize::from(b)])
        .unwrap_or(line.len());
    match line.get(method_len) {
        _ if method_len == 0 => return err(ErrorKind::InvalidMethod, 0),
        Some(b' ') => {}
        Some(_) => return err(ErrorKind::InvalidMethod, method_len),
        None => return err(ErrorKind::InvalidRequestLine, line.len()),
    }

    // request-target: no whitespace, no controls (RFC 9112 §3.2).
    let target_start = method_len + 1;
    let rest = line.get(target_start..).unwrap_or_default();
    let target_len = rest
        .iter()
        .position(|&b| !TARGET[usize::from(b)])
        .unwrap_or(rest.len());
    let target_end = target_start + target_len;
    match line.get(target_end) {
        // A second SP, or nothing at all, where the target should be.
        Some(b' ') | None if target_len == 0 => {
            return err(ErrorKind::InvalidRequestLine, target_end)
        }
        Some(b' ') => {}
        Some(_) => return err(ErrorKind::InvalidTarget, target_end),
        None => return err(ErrorKind::InvalidRequestLine, line.len()),
    }

    // HTTP-version, and nothing after it.
    let version_start = target_end + 1;
    let rest = line.get(version_start..).unwrap_or_default();
    if rest.first() == Some(&b' ') {
        return err(ErrorKind::InvalidRequestLine, version_start);
    }
    let digits = version_digits(rest, start + version_start)?;
    if rest.len() > 8 {
        return err(ErrorKind::InvalidRequestLine, version_start + 8);
    }
    let version = supported(digits, start + version_start)?;

    let method = Method::from_bytes(line.get(..method_len).unwrap_or_default());
    let target = line.get(target_start..target_end).unwrap_or_default();
    let form = target_form(method, target, start + target_start)?;
    // All offsets are below `Bounds::max_bytes`, itself at most `u32::MAX`.
    Ok(RequestLine {
        start: start as u32,
        method_end: (start + method_len) as u32,
        target_end: (start + target_end) as u32,
        end: end as u32,
        method,
        form,
        version,
    })
}

/// The digits of `HTTP-version = HTTP-name "/" DIGIT "." DIGIT` (RFC 9112 §2.3) in the first
/// eight bytes of `bytes`; `HTTP-name` is case-sensitive. `at` is the offset of `bytes`.
pub(crate) fn version_digits(bytes: &[u8], at: usize) -> Result<(u8, u8), Error> {
    const SHAPE: &[u8; 8] = b"HTTP/0.0";
    for (i, &want) in SHAPE.iter().enumerate() {
        let ok = match bytes.get(i) {
            Some(b) if want == b'0' => b.is_ascii_digit(),
            Some(&b) => b == want,
            None => false,
        };
        if !ok {
            return Err(Error::new(ErrorKind::InvalidVersion, at + i));
        }
    }
    let digit = |i: usize| bytes.get(i).map_or(0, |b| b - b'0');
    Ok((digit(5), digit(7)))
}

/// HTTP/1.0 and HTTP/1.1 are all we speak; any other well-formed version is 505.
pub(crate) fn supported(digits: (u8, u8), at: usize) -> Result<Version, Error> {
    match digits {
        (1, 1) => Ok(Version::Http11),
        (1, 0) => Ok(Version::Http10),
        _ => Err(Error::new(ErrorKind::UnsupportedVersion, at)),
    }
}

/// RFC 9112 §3.2: which target forms each method may use.
fn target_form(method: Method, target: &[u8], at: usize) -> Result<TargetForm, Error> {
    let wrong = Err(Error::new(ErrorKind::InvalidTargetForm, at));
    // §3.2.3: "a client MUST send only the host and port of the tunnel destination as the
    // request-target" of CONNECT, and authority-form "is only used for CONNECT requests".
    if method == Method::Connect {
        return match split_host(target) {
            Ok((host_len, Some(port))) if host_len > 0 && !port.is_empty() => {
                Ok(TargetForm::Authority)
            }
            _ => wrong,
        };
    }
    match target {
        [b'/', ..] => Ok(TargetForm::Origin),
        // §3.2.4: "The asterisk-form of request-target is only used for a server-wide
        // OPTIONS request".
        b"*" if method == Method::Options => Ok(TargetForm::Asterisk),
        _ if is_absolute_form(target) => Ok(TargetForm::Absolute),
        _ => wrong,
    }
}

/// `scheme "://" authority …` with `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`
/// (RFC 3986 §3.1) and a non-empty authority without userinfo. RFC 9112 §3.2.2 allows any
/// absolute-URI; we ask for the hierarchical shape so that a bare `host:port` reads as
/// authority-form, not a URI. RFC 9110 §4.2.4: a recipient "SHOULD parse for userinfo and
/// treat its presence as an error".
fn is_absolute_form(target: &[u8]) -> bool {
    let Some(colon) = target.iter().position(|&b| b == b':') else {
        return false;
    };
    let (scheme, rest) = target.split_at(colon);
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let authority = rest.get(3..).unwrap_or_default();
    let authority = authority
        .split(|&b| b == b'/' || b == b'?')
        .next()
        .unwrap_or_default();
    scheme_ok && rest.starts_with(b"://") && !authority.is_empty() && !authority.contains(&b'@')
}

/// Splits `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2–§3.2.3): the length of the
/// host and the port, if a colon follows the host. `Err(i)`: byte `i` is out of place.
/// ```text
/// uri-host    = IP-literal / IPv4address / reg-name
/// IP-literal  = "[" ( IPv6address / IPvFuture ) "]"
/// reg-name    = *( unreserved / pct-encoded / sub-delims )
/// port        = *DIGIT
/// ```
/// IP literals are checked for their byte classes only; an IPv4address is a reg-name by bytes.
fn split_host(value: &[u8]) -> Result<(usize, Option<&[u8]>), usize> {
    // The usual Host, a reg-name without port or percent sign, in one pass with no branch
    // per byte; the walk below gives the same answer for it, and judges everything else.
    if value
        .iter()
        .fold(true, |ok, &b| ok & REG_NAME[usize::from(b)])
    {
        return Ok((value.len(), None));
    }
    let host_len = if value.first() == Some(&b'[') {
        let close = value.iter().position(|&b| b == b']').ok_or(value.len())?;
        let inside = value.get(1..close).unwrap_or_default();
        if inside.is_empty() {
            return Err(close);
        }
        // IPv6address is HEXDIG, ":" and "."; IPvFuture adds unreserved and sub-delims.
        if let Some(bad) = inside
            .iter()
            .position(|&b| !(b == b':' || REG_NAME[usize::from(b)]))
        {
            return Err(1 + bad);
        }
        close + 1
    } else {
        let mut i = 0;
        while let Some(&b) = value.get(i) {
            if REG_NAME[usize::from(b)] {
                i += 1;
            } else if b == b'%' {
                // pct-encoded = "%" HEXDIG HEXDIG
                let hex = |j| value.get(j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return Err(i);
                }
                i += 3;
            } else {
                break;
            }
        }
        i
    };
    match value.get(host_len) {
        None => Ok((host_len, None)),
        Some(b':') => {
            let port = value.get(host_len + 1..).unwrap_or_default();
            match port.iter().position(|b| !b.is_ascii_digit()) {
                Some(bad) => Err(host_len + 1 + bad),
                None => Ok((host_len, Some(port))),
            }
        }
        Some(_) => Err(host_len),
    }
}

/// RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
/// request message that lacks a Host header field and to any request message that contains
/// more than one Host header field line or a Host header field with an invalid field value."
fn check_host(
    bytes: &[u8],
    spans: &[FieldSpan],
    known: &[(KnownField, u32)],
    version: Version,
    end: usize,
) -> Result<(), Error> {
    let mut seen = false;
    for &(kind, index) in known {
        if kind != KnownField::Host {
            continue;
        }
        let Some(span) = spans.get(index as usize) else {
            continue;
        };
        if seen {
            return Err(Error::new(ErrorKind::DuplicateHost, span.name().start));
        }
        seen = true;
        // An empty Host is valid: it is what a client sends for a URI without authority.
        let value = bytes.get(span.value()).unwrap_or_default();
        if let Err(bad) = split_host(value) {
            return Err(Error::new(ErrorKind::InvalidHost, span.value().start + bad));
        }
    }
    if !seen && version == Version::Http11 {
        // Found missing at the empty line that ends the head.
        return Err(Error::new(ErrorKind::MissingHost, end - 2));
    }
    Ok(())
}

/// RFC 9112 §6.3, rules 3 to 7, for a request.
fn request_body(framing: &Framing, version: Version, limits: &Limits) -> Result<BodyKind, Error> {
    if let Some(te) = framing.transfer_encoding {
        // §6.1: "A server or client that receives an HTTP/1.0 message containing a
        // Transfer-Encoding header field MUST treat the message as if the framing is faulty".
        if version == Version::Http10 {
            return Err(Error::new(ErrorKind::TransferEncodingInHttp10, te));
        }
        // §6.3 rule 3: "ought to be handled as an error"; §6.1: a server MAY reject it. Both
        // fields at once is the classic smuggling shape, so we do.
        if let Some((_, cl)) = framing.content_length {
            return Err(Error::new(ErrorKind::ConflictingFraming, te.max(cl)));
        }
        // §6.3 rule 4: "If a Transfer-Encoding header field is present in a request and the
        // chunked transfer coding is not the final encoding, the message body length cannot
        // be determined reliably; the server MUST respond with the 400 (Bad Request)".
        if !framing.chunked_last {
            return Err(Error::new(ErrorKind::ChunkedNotFinal, framing.last_coding));
        }
        // §6.1: "A server that receives a request message with a transfer coding it does not
        // understand SHOULD respond with 501 (Not Implemented)."
        if let Some(at) = framing.other_coding {
            return Err(Error::new(ErrorKind::UnsupportedTransferCoding, at));
        }
        return Ok(BodyKind::Chunked);
    }
    match framing.content_length {
        Some((n, at)) if n > limits.max_body => Err(Error::new(ErrorKind::BodyTooLarge, at)),
        Some((n, _)) => Ok(BodyKind::Length(n)),
        // §6.3 rule 7: "the message body length is zero".
        None => Ok(BodyKind::None),
    }
}

#[cfg(test)]
mod tests;
