//! Encoders for what we send: response heads (the server), request heads (tests and tools
//! acting as a client), chunks. They append to a caller-owned `Vec<u8>` and build no
//! intermediate strings.
//!
//! Everything is checked before the first byte is written: on error `out` is unchanged. The
//! checks are those our own parsers apply, so we never emit what we would refuse. A failed
//! check is our bug, not the peer's, hence [`WriteError`] rather than [`Error`](super::Error).

use std::fmt;

use super::token;

/// A misuse of the encoders by our own code: what was asked cannot go on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// The status code is not in 100–599 (RFC 9110 §15).
    InvalidStatus(u16),
    /// The method is not a token (RFC 9110 §9.1).
    InvalidMethod,
    /// The request-target is empty or holds a byte our parser refuses (RFC 9112 §3.2).
    InvalidTarget,
    /// The field at this index has a name that is not a token (RFC 9110 §5.1).
    InvalidFieldName(usize),
    /// The field at this index has a value with CR, LF, NUL or another control byte, or
    /// surrounding whitespace a reader would strip (RFC 9110 §5.5).
    InvalidFieldValue(usize),
    /// Both Content-Length and Transfer-Encoding were given (RFC 9112 §6.2: "A sender MUST
    /// NOT send a Content-Length header field in any message that contains a
    /// Transfer-Encoding header field").
    ConflictingFraming,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidStatus(code) => write!(f, "status code {code} is not in 100-599"),
            Self::InvalidMethod => f.write_str("method is not a token"),
            Self::InvalidTarget => f.write_str("invalid request target"),
            Self::InvalidFieldName(i) => write!(f, "field {i}: name is not a token"),
            Self::InvalidFieldValue(i) => write!(f, "field {i}: value has a forbidden byte"),
            Self::ConflictingFraming => {
                f.write_str("both content-length and transfer-encoding given")
            }
        }
    }
}

impl std::error::Error for WriteError {}

/// The reason phrase registered for `status` (RFC 9110 §15, plus 103 from RFC 8297 and
/// 428/429/431/511 from RFC 6585), or `""` for codes without one, which the grammar allows.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        511 => "Network Authentication Required",
        _ => "",
    }
}

/// A `u64` in decimal, formatted on the stack: a field value for Content-Length without a
/// `String`.
///
/// ```
/// assert_eq!(wiretap::http::Decimal::new(1024).as_bytes(), b"1024");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    /// `n` in decimal.
    pub fn new(mut n: u64) -> Self {
        let mut digits = [b'0'; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            // `n % 10` is a single digit.
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Self { digits, start }
    }

    /// The ASCII digits.
    pub fn as_bytes(&self) -> &[u8] {
        self.digits.get(self.start..).unwrap_or_default()
    }
}

/// Checks field lines the way our parser will read them.
fn check_fields(fields: &[(&str, &[u8])]) -> Result<(), WriteError> {
    let mut length = false;
    let mut coding = false;
    for (i, (name, value)) in fields.iter().enumerate() {
        if !token::is_token(name.as_bytes()) {
            return Err(WriteError::InvalidFieldName(i));
        }
        // field-value: no controls but HTAB, and no OWS at the edges, which a reader strips
        // (so what we meant and what arrives would differ).
        let clean = value.iter().all(|&b| token::is_field_value_byte(b));
        let edges = [value.first(), value.last()]
            .into_iter()
            .flatten()
            .all(|&b| !token::is_ows(b));
        if !clean || !edges {
            return Err(WriteError::InvalidFieldValue(i));
        }
        length |= name.eq_ignore_ascii_case("content-length");
        coding |= name.eq_ignore_ascii_case("transfer-encoding");
    }
    if length && coding {
        return Err(WriteError::ConflictingFraming);
    }
    Ok(())
}

fn push_fields(out: &mut Vec<u8>, fields: &[(&str, &[u8])]) {
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends an HTTP/1.1 response head to `out`: the status line with the registered reason
/// phrase for `status`, the fields in order, and the empty line. Framing fields
/// (Content-Length, Transfer-Encoding, Connection) are the caller's to choose.
///
/// ```
/// use wiretap::http::{encode_response_head, Decimal};
///
/// let mut out = Vec::new();
/// let len = Decimal::new(5);
/// encode_response_head(&mut out, 200, &[("Content-Length", len.as_bytes())]).unwrap();
/// assert_eq!(out, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
///
/// // Misuse is refused and nothing is written.
/// assert!(encode_response_head(&mut out, 200, &[("Bad Name", b"x")]).is_err());
/// assert_eq!(out.len(), 38);
/// ```
pub fn encode_response_head(
    out: &mut Vec<u8>,
    status: u16,
    fields: &[(&str, &[u8])],
) -> Result<(), WriteError> {
    if !(100..=599).contains(&status) {
        return Err(WriteError::InvalidStatus(status));
    }
    check_fields(fields)?;
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(Decimal::new(u64::from(status)).as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    push_fields(out, fields);
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Appends an HTTP/1.1 request head to `out`: `method SP target SP HTTP/1.1`, the fields,
/// the empty line. Host is the caller's to include (our parser requires it).
///
/// ```
/// use wiretap::http::encode_request_head;
///
/// let mut out = Vec::new();
/// encode_request_head(&mut out, "GET", "/", &[("Host", b"example.com")]).unwrap();
/// assert_eq!(out, b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
/// ```
pub fn encode_request_head(
    out: &mut Vec<u8>,
    method: &str,
    target: &str,
    fields: &[(&str, &[u8])],
) -> Result<(), WriteError> {
    if !token::is_token(method.as_bytes()) {
        return Err(WriteError::InvalidMethod);
    }
    let target_ok = !target.is_empty() && target.bytes().all(|b| token::TARGET[usize::from(b)]);
    if !target_ok {
        return Err(WriteError::InvalidTarget);
    }
    check_fields(fields)?;
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    push_fields(out, fields);
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Appends `data` as one chunk (RFC 9112 §7.1): size in hex, CRLF, data, CRLF. Empty `data`
/// writes nothing, since a zero-size chunk would end the body; use [`encode_last_chunk`].
///
/// ```
/// let mut out = Vec::new();
/// wiretap::http::encode_chunk(&mut out, b"hello, world");
/// assert_eq!(out, b"c\r\nhello, world\r\n");
/// ```
pub fn encode_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let mut hex = [0u8; 16];
    let mut start = hex.len();
    let mut n = data.len() as u64;
    while n > 0 {
        start -= 1;
        // `n & 0xF` indexes a 16-byte table.
        hex[start] = b"0123456789abcdef"[(n & 0xF) as usize];
        n >>= 4;
    }
    out.extend_from_slice(hex.get(start..).unwrap_or_default());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends the last chunk, the trailer fields and the final CRLF that end a chunked body.
///
/// ```
/// let mut out = Vec::new();
/// wiretap::http::encode_last_chunk(&mut out, &[("Digest", b"x")]).unwrap();
/// assert_eq!(out, b"0\r\nDigest: x\r\n\r\n");
/// ```
pub fn encode_last_chunk(out: &mut Vec<u8>, trailers: &[(&str, &[u8])]) -> Result<(), WriteError> {
    check_fields(trailers)?;
    out.extend_from_slice(b"0\r\n");
    push_fields(out, trailers);
    out.extend_from_slice(b"\r\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_formats_the_edges() {
        assert_eq!(Decimal::new(0).as_bytes(), b"0");
        assert_eq!(Decimal::new(9).as_bytes(), b"9");
        assert_eq!(Decimal::new(10).as_bytes(), b"10");
        assert_eq!(Decimal::new(u64::MAX).as_bytes(), b"18446744073709551615");
    }

    #[test]
    fn every_status_has_a_known_or_empty_reason() {
        assert_eq!(reason_phrase(404), "Not Found");
        assert_eq!(reason_phrase(413), "Content Too Large");
        assert_eq!(reason_phrase(299), "");
        for status in 100..=599 {
            let mut out = Vec::new();
            encode_response_head(&mut out, status, &[]).unwrap();
            assert!(out.starts_with(format!("HTTP/1.1 {status} ").as_bytes()));
        }
    }

    #[test]
    fn rejects_status_outside_the_valid_range() {
        let mut out = Vec::new();
        assert_eq!(
            encode_response_head(&mut out, 99, &[]),
            Err(WriteError::InvalidStatus(99))
        );
        assert_eq!(
            encode_response_head(&mut out, 600, &[]),
            Err(WriteError::InvalidStatus(600))
        );
        assert!(out.is_empty());
    }

    #[test]
    fn rejects_header_injection_in_values() {
        let mut out = Vec::new();
        for value in [
            &b"a\r\nSet-Cookie: x"[..],
            b"a\nb",
            b"a\0b",
            b"a\x7fb",
            b" a",
            b"a\t",
        ] {
            assert_eq!(
                encode_response_head(&mut out, 200, &[("Ok", b"1"), ("X", value)]),
                Err(WriteError::InvalidFieldValue(1)),
                "{value:?}"
            );
        }
        assert!(out.is_empty());
    }

    #[test]
    fn rejects_names_that_are_not_tokens() {
        let mut out = Vec::new();
        for name in ["", "a b", "a:b", "é"] {
            assert_eq!(
                encode_response_head(&mut out, 200, &[(name, b"1")]),
                Err(WriteError::InvalidFieldName(0))
            );
        }
    }

    #[test]
    fn rejects_content_length_with_transfer_encoding() {
        let mut out = Vec::new();
        let fields: [(&str, &[u8]); 2] =
            [("content-length", b"1"), ("Transfer-Encoding", b"chunked")];
        assert_eq!(
            encode_response_head(&mut out, 200, &fields),
            Err(WriteError::ConflictingFraming)
        );
    }

    #[test]
    fn rejects_bad_request_lines() {
        let mut out = Vec::new();
        assert_eq!(
            encode_request_head(&mut out, "G T", "/", &[]),
            Err(WriteError::InvalidMethod)
        );
        assert_eq!(
            encode_request_head(&mut out, "GET", "/a b", &[]),
            Err(WriteError::InvalidTarget)
        );
        assert_eq!(
            encode_request_head(&mut out, "GET", "", &[]),
            Err(WriteError::InvalidTarget)
        );
    }

    #[test]
    fn chunk_sizes_are_hex() {
        let mut out = Vec::new();
        encode_chunk(&mut out, &[b'x'; 255]);
        assert!(out.starts_with(b"ff\r\n"));
        out.clear();
        encode_chunk(&mut out, b"");
        assert!(out.is_empty());
    }
}
