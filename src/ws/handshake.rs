//! The opening handshake (RFC 6455 §4): accept key, request validation, responses, and the
//! client side for tests and replay.
//!
//! For: deciding whether an HTTP request is a valid WebSocket opening handshake and writing
//! the answer (101, 400, or 426). Not for: parsing HTTP. The caller hands over the method,
//! whether the version is HTTP/1.1, and the header fields as `(name, value)` byte pairs, in
//! order, one pair per field line (repeated fields stay repeated), exactly as the `http` room's
//! request parser yields them. So this module does not depend on it.
//!
//! Subprotocols: we select by the server's preference order (see
//! [`ClientHandshake::select_protocol`]). Extensions: none are negotiated; offers are kept
//! raw for the transcript and then ignored (RFC 6455 §9.1: the server answers with the ones
//! it accepts, here none).

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha1::{Digest, Sha1};

/// RFC 6455 §1.3: the GUID concatenated with the client's key before hashing, "which is
/// unlikely to be used by network endpoints that do not understand the WebSocket Protocol".
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`: RFC 6455 §4.2.2 "the
/// base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key| (as a string, not
/// base64-decoded) with the string "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"".
///
/// ```
/// use wiretap::ws::accept_key;
///
/// // The example of RFC 6455 §1.3.
/// assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    BASE64.encode(sha.finalize())
}

/// A `Sec-WebSocket-Key` for a client: the base64 of a 16-byte nonce. RFC 6455 §4.1 wants
/// the nonce "randomly selected"; the caller supplies it (tests use fixed ones).
pub fn encode_key(nonce: [u8; 16]) -> String {
    BASE64.encode(nonce)
}

/// A valid client opening handshake: what the server needs to answer it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientHandshake {
    /// The `Sec-WebSocket-Key`, trimmed, as sent (base64 of 16 bytes).
    pub key: String,
    /// The offered subprotocols in the client's order, from every `Sec-WebSocket-Protocol`
    /// field.
    pub protocols: Vec<String>,
    /// The raw `Sec-WebSocket-Extensions` values, one per field. Kept for the record; we
    /// negotiate none.
    pub extensions: Vec<String>,
    /// The `Origin` field, if any (RFC 6455 §4.2.1 item 7; §10.2: the server may use it to
    /// refuse cross-origin browser connections).
    pub origin: Option<String>,
}

impl ClientHandshake {
    /// The subprotocol to accept: the first of `supported` (the server's preference order)
    /// that the client offered, compared exactly. The server picks by its own order because
    /// it knows which of its protocols is best; RFC 6455 §4.2.2 only says it "MUST be one of
    /// the values the client offered".
    ///
    /// ```
    /// use wiretap::ws::validate_request;
    ///
    /// let fields: [(&[u8], &[u8]); 6] = [
    ///     (b"Host", b"example.com"),
    ///     (b"Upgrade", b"websocket"),
    ///     (b"Connection", b"Upgrade"),
    ///     (b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
    ///     (b"Sec-WebSocket-Version", b"13"),
    ///     (b"Sec-WebSocket-Protocol", b"chat.v1, chat.v2"),
    /// ];
    /// let hs = validate_request("GET", true, fields).unwrap();
    /// assert_eq!(hs.select_protocol(&["chat.v2", "chat.v1"]), Some("chat.v2"));
    /// assert_eq!(hs.select_protocol(&["mqtt"]), None);
    /// ```
    pub fn select_protocol(&self, supported: &[&str]) -> Option<&str> {
        supported.iter().find_map(|wanted| {
            self.protocols
                .iter()
                .find(|offered| offered == wanted)
                .map(String::as_str)
        })
    }

    /// Appends the 101 response that accepts this handshake (RFC 6455 §4.2.2), with
    /// `protocol` (which should come from [`select_protocol`](Self::select_protocol)) in
    /// `Sec-WebSocket-Protocol` when given.
    ///
    /// ```
    /// use wiretap::ws::validate_request;
    ///
    /// let fields: [(&[u8], &[u8]); 5] = [
    ///     (b"Host", b"server.example.com"),
    ///     (b"Upgrade", b"websocket"),
    ///     (b"Connection", b"Upgrade"),
    ///     (b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
    ///     (b"Sec-WebSocket-Version", b"13"),
    /// ];
    /// let mut out = Vec::new();
    /// validate_request("GET", true, fields).unwrap().encode_response(&mut out, None);
    /// assert_eq!(
    ///     out,
    ///     b"HTTP/1.1 101 Switching Protocols\r\n\
    ///       Upgrade: websocket\r\n\
    ///       Connection: Upgrade\r\n\
    ///       Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    /// );
    /// ```
    pub fn encode_response(&self, out: &mut Vec<u8>, protocol: Option<&str>) {
        out.extend_from_slice(
            b"HTTP/1.1 101 Switching Protocols\r\n\
              Upgrade: websocket\r\n\
              Connection: Upgrade\r\n\
              Sec-WebSocket-Accept: ",
        );
        out.extend_from_slice(accept_key(self.key.as_bytes()).as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(protocol) = protocol {
            out.extend_from_slice(b"Sec-WebSocket-Protocol: ");
            out.extend_from_slice(protocol.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Why a client's opening handshake was refused. [`status`](Self::status) is the HTTP status
/// to answer with; [`encode_response`](Self::encode_response) writes that answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandshakeError {
    /// RFC 6455 §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
    MethodNotGet,
    /// RFC 6455 §4.2.1 item 1: the version is below HTTP/1.1.
    VersionBelowHttp11,
    /// RFC 6455 §4.2.1 item 2: "A |Host| header field containing the server's authority."
    MissingHost,
    /// RFC 9112 §3.2: a server "MUST respond with a 400 (Bad Request) status code to any
    /// HTTP/1.1 request message that ... contains more than one Host header field line".
    DuplicateHost,
    /// RFC 6455 §4.2.1 item 3: "An |Upgrade| header field containing the value "websocket",
    /// treated as an ASCII case-insensitive value."
    MissingUpgrade,
    /// RFC 6455 §4.2.1 item 4: "A |Connection| header field that includes the token
    /// "Upgrade", treated as an ASCII case-insensitive value."
    MissingConnectionUpgrade,
    /// RFC 6455 §4.2.1 item 6: "A |Sec-WebSocket-Version| header field, with a value of 13";
    /// absent, repeated, or another value. §4.4: answered with 426 and the versions we speak.
    UnsupportedVersion,
    /// RFC 6455 §4.2.1 item 5: "A |Sec-WebSocket-Key| header field" is absent.
    MissingKey,
    /// RFC 6455 §11.3.1: "The |Sec-WebSocket-Key| header field MUST NOT appear more than once
    /// in an HTTP request."
    DuplicateKey,
    /// RFC 6455 §4.2.1 item 5: the key must be "a base64-encoded value that, when decoded, is
    /// 16 bytes in length".
    InvalidKey,
    /// RFC 6455 §4.1: subprotocol "elements ... MUST be non-empty strings with characters in
    /// the range U+0021 to U+007E not including separator characters" (a token).
    InvalidProtocol,
}

impl HandshakeError {
    /// The HTTP status to answer with: 426 Upgrade Required for the version (RFC 6455 §4.4),
    /// 400 Bad Request for the rest (§4.2.1: "an appropriate error code (such as 400 Bad
    /// Request)").
    pub fn status(self) -> u16 {
        match self {
            Self::UnsupportedVersion => 426,
            _ => 400,
        }
    }

    /// The rule the request broke.
    pub fn rule(self) -> &'static str {
        match self {
            Self::DuplicateHost => "RFC 9112 §3.2",
            Self::DuplicateKey => "RFC 6455 §11.3.1",
            Self::InvalidProtocol => "RFC 6455 §4.1",
            Self::UnsupportedVersion => "RFC 6455 §4.4",
            _ => "RFC 6455 §4.2.1",
        }
    }

    /// Appends the refusal: status line, `Sec-WebSocket-Version: 13` (and the `Upgrade` that
    /// RFC 9110 §15.5.22 requires) on a 426, a short plain-text body naming the problem, and
    /// `Connection: close`: after a refused handshake we hang up.
    ///
    /// ```
    /// use wiretap::ws::HandshakeError;
    ///
    /// let mut out = Vec::new();
    /// HandshakeError::UnsupportedVersion.encode_response(&mut out);
    /// let text = String::from_utf8(out).unwrap();
    /// assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
    /// assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    /// ```
    pub fn encode_response(self, out: &mut Vec<u8>) {
        self.encode_response_with(out, &[]);
    }

    /// [`encode_response`](Self::encode_response) with `extra` fields after the status
    /// line: the shell adds `Date` (RFC 9110 §6.6.1: an origin server with a clock "MUST
    /// generate a Date header field" in 4xx responses; this sans-IO room has no clock).
    ///
    /// ```
    /// use wiretap::ws::HandshakeError;
    ///
    /// let mut out = Vec::new();
    /// HandshakeError::MissingKey.encode_response_with(&mut out, &[("Date", b"Tue, 24 Nov 2026 19:00:00 GMT")]);
    /// let text = String::from_utf8(out).unwrap();
    /// assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\nDate: Tue, 24 Nov 2026 19:00:00 GMT\r\n"));
    /// ```
    pub fn encode_response_with(self, out: &mut Vec<u8>, extra: &[(&str, &[u8])]) {
        let body = format!("{self}\n");
        out.extend_from_slice(match self.status() {
            426 => b"HTTP/1.1 426 Upgrade Required\r\n",
            _ => b"HTTP/1.1 400 Bad Request\r\n",
        });
        for (name, value) in extra {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        if self.status() == 426 {
            out.extend_from_slice(
                b"Sec-WebSocket-Version: 13\r\n\
                  Upgrade: websocket\r\n\
                  Connection: Upgrade, close\r\n",
            );
        } else {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        out.extend_from_slice(body.as_bytes());
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MethodNotGet => "websocket handshake must be a GET request",
            Self::VersionBelowHttp11 => "websocket handshake needs HTTP/1.1",
            Self::MissingHost => "missing host field",
            Self::DuplicateHost => "more than one host field",
            Self::MissingUpgrade => "upgrade field does not name websocket",
            Self::MissingConnectionUpgrade => "connection field lacks the upgrade token",
            Self::UnsupportedVersion => "unsupported websocket version, expected 13",
            Self::MissingKey => "missing sec-websocket-key field",
            Self::DuplicateKey => "more than one sec-websocket-key field",
            Self::InvalidKey => "sec-websocket-key is not base64 of 16 bytes",
            Self::InvalidProtocol => "sec-websocket-protocol holds a non-token",
        })
    }
}

impl std::error::Error for HandshakeError {}

/// Validates a client's opening handshake (RFC 6455 §4.2.1).
///
/// `method` is the request method, `http11` whether the version is HTTP/1.1 or later, and
/// `fields` the header fields as `(name, value)` pairs in order, one per field line. Names
/// are matched case-insensitively; values are trimmed of optional whitespace; list fields
/// (`Upgrade`, `Connection`, `Sec-WebSocket-Protocol`) may be split over several lines.
/// Checks run in the order of the [`HandshakeError`] variants, except that the version is
/// checked before the key, so that a client of an older draft (no key at all) learns which
/// version we speak.
///
/// ```
/// use wiretap::ws::{validate_request, HandshakeError};
///
/// let fields: [(&[u8], &[u8]); 5] = [
///     (b"host", b"example.com"),
///     (b"upgrade", b"WebSocket"),
///     (b"connection", b"keep-alive, Upgrade"),
///     (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
///     (b"sec-websocket-version", b"8"),
/// ];
/// let err = validate_request("GET", true, fields).unwrap_err();
/// assert_eq!(err, HandshakeError::UnsupportedVersion);
/// assert_eq!(err.status(), 426);
/// ```
pub fn validate_request<'a, I>(
    method: &str,
    http11: bool,
    fields: I,
) -> Result<ClientHandshake, HandshakeError>
where
    I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
{
    if method != "GET" {
        return Err(HandshakeError::MethodNotGet);
    }
    if !http11 {
        return Err(HandshakeError::VersionBelowHttp11);
    }
    let mut hosts = 0usize;
    let mut upgrade = false;
    let mut connection = false;
    let mut versions = 0usize;
    let mut version_13 = false;
    let mut keys = 0usize;
    let mut key: &[u8] = b"";
    let mut protocols = Vec::new();
    let mut protocol_ok = true;
    let mut extensions = Vec::new();
    let mut origin = None;
    for (name, value) in fields {
        let value = trim_ows(value);
        let is = |wanted: &str| name.eq_ignore_ascii_case(wanted.as_bytes());
        if is("host") {
            hosts += 1;
        } else if is("upgrade") {
            upgrade |= has_token(value, "websocket");
        } else if is("connection") {
            connection |= has_token(value, "upgrade");
        } else if is("sec-websocket-version") {
            versions += 1;
            version_13 = value == b"13";
        } else if is("sec-websocket-key") {
            keys += 1;
            key = value;
        } else if is("sec-websocket-protocol") {
            for element in list(value) {
                match std::str::from_utf8(element) {
                    Ok(token) if element.iter().all(|&b| is_tchar(b)) => {
                        protocols.push(token.to_owned());
                    }
                    _ => protocol_ok = false,
                }
            }
        } else if is("sec-websocket-extensions") {
            extensions.push(String::from_utf8_lossy(value).into_owned());
        } else if is("origin") {
            origin = Some(String::from_utf8_lossy(value).into_owned());
        }
    }
    match hosts {
        0 => return Err(HandshakeError::MissingHost),
        1 => {}
        _ => return Err(HandshakeError::DuplicateHost),
    }
    if !upgrade {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !connection {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    if versions != 1 || !version_13 {
        return Err(HandshakeError::UnsupportedVersion);
    }
    match keys {
        0 => return Err(HandshakeError::MissingKey),
        1 => {}
        _ => return Err(HandshakeError::DuplicateKey),
    }
    // 16 bytes are always 24 base64 characters with "==" padding: checking the length first
    // also bounds the decode buffer.
    let mut nonce = [0u8; 18];
    let decoded = (key.len() == 24)
        .then(|| BASE64.decode_slice(key, &mut nonce).ok())
        .flatten();
    let key = match (decoded, std::str::from_utf8(key)) {
        (Some(16), Ok(key)) => key.to_owned(),
        _ => return Err(HandshakeError::InvalidKey),
    };
    if !protocol_ok {
        return Err(HandshakeError::InvalidProtocol);
    }
    Ok(ClientHandshake {
        key,
        protocols,
        extensions,
        origin,
    })
}

/// Appends a client's opening handshake (RFC 6455 §4.1) for `path` on `host`, offering
/// `protocols` if any. For tests and replay: a real client would pick a random key.
///
/// ```
/// use wiretap::ws::{encode_client_request, encode_key};
///
/// let mut out = Vec::new();
/// encode_client_request(&mut out, "localhost:8080", "/echo", &encode_key([7; 16]), &[]);
/// assert!(out.starts_with(b"GET /echo HTTP/1.1\r\nHost: localhost:8080\r\n"));
/// ```
pub fn encode_client_request(
    out: &mut Vec<u8>,
    host: &str,
    path: &str,
    key: &str,
    protocols: &[&str],
) {
    let mut head = format!(
        "GET {path} HTTP/1.1\r\n\
         Host: {host}\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\n\
         Sec-WebSocket-Version: 13\r\n"
    );
    if !protocols.is_empty() {
        head.push_str("Sec-WebSocket-Protocol: ");
        head.push_str(&protocols.join(", "));
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    out.extend_from_slice(head.as_bytes());
}

/// What a valid server answer agreed to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerHandshake {
    /// The subprotocol the server selected, one of those offered.
    pub protocol: Option<String>,
}

/// Why a client refuses the server's answer to its handshake (RFC 6455 §4.1: "the client
/// MUST _Fail the WebSocket Connection_").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseError {
    /// "If the status code received from the server is not 101, the client handles the
    /// response per HTTP \[RFC2616\] procedures."
    NotSwitchingProtocols,
    /// "If the response lacks an |Upgrade| header field or the |Upgrade| header field
    /// contains a value that is not an ASCII case-insensitive match for the value
    /// "websocket"".
    MissingUpgrade,
    /// "If the response lacks a |Connection| header field or the |Connection| header field
    /// doesn't contain a token that is an ASCII case-insensitive match for the value
    /// "Upgrade"".
    MissingConnectionUpgrade,
    /// "If the response lacks a |Sec-WebSocket-Accept| header field or the
    /// |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of the
    /// concatenation of the |Sec-WebSocket-Key| ... with the string" [`GUID`].
    AcceptMismatch,
    /// "If the response includes a |Sec-WebSocket-Protocol| header field and this header
    /// field indicates the use of a subprotocol that was not present in the client's
    /// handshake".
    UnexpectedProtocol,
    /// "If the response includes a |Sec-WebSocket-Extensions| header field and this header
    /// field indicates the use of an extension that was not present in the client's
    /// handshake" (we offer none).
    UnexpectedExtension,
}

impl ResponseError {
    /// The rule the response broke: all of them are in RFC 6455 §4.1.
    pub fn rule(self) -> &'static str {
        "RFC 6455 §4.1"
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotSwitchingProtocols => "server did not answer 101 switching protocols",
            Self::MissingUpgrade => "server's upgrade field does not name websocket",
            Self::MissingConnectionUpgrade => "server's connection field lacks upgrade",
            Self::AcceptMismatch => "sec-websocket-accept missing or wrong",
            Self::UnexpectedProtocol => "server selected a subprotocol that was not offered",
            Self::UnexpectedExtension => "server selected an extension that was not offered",
        })
    }
}

impl std::error::Error for ResponseError {}

/// Validates the server's answer to a handshake sent with `key`, offering `offered`
/// subprotocols (RFC 6455 §4.1, client side). `fields` as in [`validate_request`].
///
/// ```
/// use wiretap::ws::{validate_response, ResponseError};
///
/// let key = "dGhlIHNhbXBsZSBub25jZQ==";
/// let fields: [(&[u8], &[u8]); 3] = [
///     (b"Upgrade", b"websocket"),
///     (b"Connection", b"Upgrade"),
///     (b"Sec-WebSocket-Accept", b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
/// ];
/// assert_eq!(validate_response(101, fields, key, &[]).unwrap().protocol, None);
/// assert_eq!(validate_response(200, fields, key, &[]), Err(ResponseError::NotSwitchingProtocols));
/// ```
pub fn validate_response<'a, I>(
    status: u16,
    fields: I,
    key: &str,
    offered: &[&str],
) -> Result<ServerHandshake, ResponseError>
where
    I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
{
    if status != 101 {
        return Err(ResponseError::NotSwitchingProtocols);
    }
    let expected = accept_key(key.as_bytes());
    let mut upgrade = false;
    let mut connection = false;
    let mut accepts = 0usize;
    let mut accept_ok = false;
    let mut protocols = 0usize;
    let mut protocol = None;
    let mut extension = false;
    for (name, value) in fields {
        let value = trim_ows(value);
        let is = |wanted: &str| name.eq_ignore_ascii_case(wanted.as_bytes());
        if is("upgrade") {
            upgrade |= has_token(value, "websocket");
        } else if is("connection") {
            connection |= has_token(value, "upgrade");
        } else if is("sec-websocket-accept") {
            accepts += 1;
            accept_ok = value == expected.as_bytes();
        } else if is("sec-websocket-protocol") {
            protocols += 1;
            protocol = offered
                .iter()
                .find(|p| p.as_bytes() == value)
                .map(|p| (*p).to_owned());
        } else if is("sec-websocket-extensions") {
            extension = true;
        }
    }
    if !upgrade {
        return Err(ResponseError::MissingUpgrade);
    }
    if !connection {
        return Err(ResponseError::MissingConnectionUpgrade);
    }
    if accepts != 1 || !accept_ok {
        return Err(ResponseError::AcceptMismatch);
    }
    if protocols > 1 || (protocols == 1 && protocol.is_none()) {
        return Err(ResponseError::UnexpectedProtocol);
    }
    if extension {
        return Err(ResponseError::UnexpectedExtension);
    }
    Ok(ServerHandshake { protocol })
}

/// RFC 9110 §5.6.3: `OWS = *( SP / HTAB )`, stripped from both ends of a field value.
fn trim_ows(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

/// The non-empty elements of a comma-separated list (RFC 9110 §5.6.1: "a recipient MUST
/// parse and ignore a reasonable number of empty list elements").
fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// True when the list `value` holds `token`, compared ASCII case-insensitively.
fn has_token(value: &[u8], token: &str) -> bool {
    list(value).any(|e| e.eq_ignore_ascii_case(token.as_bytes()))
}

/// RFC 9110 §5.6.2: `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
/// "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    /// Owned header fields, as `(name, value)`.
    type Fields = Vec<(Vec<u8>, Vec<u8>)>;
    /// Borrowed header fields.
    type FieldRefs<'a> = Vec<(&'a [u8], &'a [u8])>;

    /// The RFC 6455 §1.3 request's fields, with `changes` applied: `(name, Some(value))`
    /// replaces (or adds) a field, `(name, None)` removes it.
    fn fields(changes: &[(&str, Option<&str>)]) -> Fields {
        let mut fields: Vec<(String, String)> = [
            ("Host", "server.example.com"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", KEY),
            ("Origin", "http://example.com"),
            ("Sec-WebSocket-Protocol", "chat, superchat"),
            ("Sec-WebSocket-Version", "13"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        for (name, value) in changes {
            fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            if let Some(value) = value {
                fields.push((name.to_string(), value.to_string()));
            }
        }
        fields
            .into_iter()
            .map(|(n, v)| (n.into_bytes(), v.into_bytes()))
            .collect()
    }

    fn validate(
        method: &str,
        http11: bool,
        fields: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<ClientHandshake, HandshakeError> {
        validate_request(
            method,
            http11,
            fields.iter().map(|(n, v)| (n.as_slice(), v.as_slice())),
        )
    }

    #[test]
    fn computes_the_rfc_6455_accept_key() {
        assert_eq!(accept_key(KEY.as_bytes()), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn accepts_the_rfc_6455_example_request() {
        let hs = validate("GET", true, &fields(&[])).unwrap();
        assert_eq!(hs.key, KEY);
        assert_eq!(hs.protocols, ["chat", "superchat"]);
        assert_eq!(hs.origin.as_deref(), Some("http://example.com"));
        assert!(hs.extensions.is_empty());
    }

    #[test]
    fn accepts_tokens_in_lists_any_case_and_over_several_fields() {
        let mut f = fields(&[
            ("connection", Some("keep-alive, Upgrade")),
            ("UPGRADE", Some("h2c")),
            ("Sec-WebSocket-Protocol", Some(" a ,, b ")),
            (
                "Sec-WebSocket-Extensions",
                Some("permessage-deflate; client_max_window_bits"),
            ),
            ("Sec-WebSocket-Key", Some(&format!(" {KEY}\t"))),
        ]);
        f.push((b"Upgrade".to_vec(), b"WebSocket".to_vec()));
        f.push((b"Sec-WebSocket-Protocol".to_vec(), b"c".to_vec()));
        let hs = validate("GET", true, &f).unwrap();
        assert_eq!(hs.protocols, ["a", "b", "c"]);
        assert_eq!(
            hs.extensions,
            ["permessage-deflate; client_max_window_bits"]
        );
        assert_eq!(hs.key, KEY);
    }

    #[test]
    fn rejects_each_broken_rule_with_its_status() {
        type Case = (
            &'static str,
            bool,
            Vec<(&'static str, Option<&'static str>)>,
            HandshakeError,
            u16,
        );
        let cases: Vec<Case> = vec![
            ("POST", true, vec![], HandshakeError::MethodNotGet, 400),
            ("get", true, vec![], HandshakeError::MethodNotGet, 400),
            (
                "GET",
                false,
                vec![],
                HandshakeError::VersionBelowHttp11,
                400,
            ),
            (
                "GET",
                true,
                vec![("Host", None)],
                HandshakeError::MissingHost,
                400,
            ),
            (
                "GET",
                true,
                vec![("Upgrade", None)],
                HandshakeError::MissingUpgrade,
                400,
            ),
            (
                "GET",
                true,
                vec![("Upgrade", Some("websocket2"))],
                HandshakeError::MissingUpgrade,
                400,
            ),
            (
                "GET",
                true,
                vec![("Connection", Some("keep-alive"))],
                HandshakeError::MissingConnectionUpgrade,
                400,
            ),
            (
                "GET",
                true,
                vec![("Connection", Some("upgrades"))],
                HandshakeError::MissingConnectionUpgrade,
                400,
            ),
            (
                "GET",
                true,
                vec![("Sec-WebSocket-Version", None)],
                HandshakeError::UnsupportedVersion,
                426,
            ),
            (
                "GET",
                true,
                vec![("Sec-WebSocket-Version", Some("8"))],
                HandshakeError::UnsupportedVersion,
                426,
            ),
            (
                "GET",
                true,
                vec![("Sec-WebSocket-Version", Some("13, 8"))],
                HandshakeError::UnsupportedVersion,
                426,
            ),
            (
                "GET",
                true,
                vec![("Sec-WebSocket-Key", None)],
                HandshakeError::MissingKey,
                400,
            ),
            (
                "GET",
                true,
                vec![("Sec-WebSocket-Key", Some("dGhlIHNhbXBsZSBub25jZQ"))],
                HandshakeError::InvalidKey,
                400,
            ),
            (
                "GET",
                true,
                vec![("Sec-WebSocket-Key", Some("AAAAAAAAAAAAAAAAAAAAAAAA"))],
                HandshakeError::InvalidKey,
                400,
            ),
            (
                "GET",
                true,
                vec![("Sec-WebSocket-Key", Some("dGhlIHNhbXBsZSBub25jZQ=!"))],
                HandshakeError::InvalidKey,
                400,
            ),
            (
                "GET",
                true,
                vec![("Sec-WebSocket-Key", Some(""))],
                HandshakeError::InvalidKey,
                400,
            ),
            (
                "GET",
                true,
                vec![("Sec-WebSocket-Protocol", Some("chat, a b"))],
                HandshakeError::InvalidProtocol,
                400,
            ),
            (
                "GET",
                true,
                vec![("Sec-WebSocket-Protocol", Some("chät"))],
                HandshakeError::InvalidProtocol,
                400,
            ),
        ];
        for (method, http11, changes, error, status) in cases {
            let got = validate(method, http11, &fields(&changes));
            assert_eq!(got, Err(error), "{method} {changes:?}");
            assert_eq!(error.status(), status);
            assert!(error.rule().starts_with("RFC "));
        }
    }

    #[test]
    fn rejects_repeated_host_and_key() {
        let mut f = fields(&[]);
        f.push((b"host".to_vec(), b"other".to_vec()));
        assert_eq!(
            validate("GET", true, &f),
            Err(HandshakeError::DuplicateHost)
        );
        let mut f = fields(&[]);
        f.push((b"sec-websocket-key".to_vec(), KEY.as_bytes().to_vec()));
        assert_eq!(validate("GET", true, &f), Err(HandshakeError::DuplicateKey));
    }

    #[test]
    fn checks_the_version_before_the_key_so_old_clients_learn_ours() {
        // A hixie-76 style request: no Sec-WebSocket-Key, no version.
        let f = fields(&[("Sec-WebSocket-Key", None), ("Sec-WebSocket-Version", None)]);
        assert_eq!(
            validate("GET", true, &f),
            Err(HandshakeError::UnsupportedVersion)
        );
    }

    #[test]
    fn selects_protocols_in_server_preference_order() {
        let hs = validate("GET", true, &fields(&[])).unwrap();
        assert_eq!(
            hs.select_protocol(&["superchat", "chat"]),
            Some("superchat")
        );
        assert_eq!(hs.select_protocol(&["x", "chat"]), Some("chat"));
        assert_eq!(hs.select_protocol(&["CHAT"]), None);
        assert_eq!(hs.select_protocol(&[]), None);
    }

    #[test]
    fn writes_a_101_with_the_selected_protocol() {
        let hs = validate("GET", true, &fields(&[])).unwrap();
        let mut out = Vec::new();
        hs.encode_response(&mut out, hs.select_protocol(&["chat"]));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
             Sec-WebSocket-Protocol: chat\r\n\r\n"
        );
    }

    #[test]
    fn writes_refusals_with_a_consistent_content_length() {
        for error in [
            HandshakeError::InvalidKey,
            HandshakeError::UnsupportedVersion,
        ] {
            let mut out = Vec::new();
            error.encode_response(&mut out);
            let text = String::from_utf8(out).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            assert!(head.starts_with(&format!("HTTP/1.1 {} ", error.status())));
            assert!(head.contains(&format!("\r\nContent-Length: {}", body.len())));
            assert!(head.to_ascii_lowercase().contains("\r\nconnection: "));
            assert!(head.contains("close"));
            assert_eq!(
                head.contains("Sec-WebSocket-Version: 13"),
                error == HandshakeError::UnsupportedVersion
            );
        }
    }

    /// Splits an encoded head into its fields (the test stands in for the http parser).
    fn parse_head(head: &[u8]) -> (String, Fields) {
        let text = std::str::from_utf8(head).unwrap();
        let mut lines = text.split("\r\n");
        let start = lines.next().unwrap().to_owned();
        let fields = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.as_bytes().to_vec(), v.as_bytes().to_vec())
            })
            .collect();
        (start, fields)
    }

    #[test]
    fn client_request_and_server_response_agree() {
        let key = encode_key(*b"0123456789abcdef");
        let mut request = Vec::new();
        encode_client_request(&mut request, "localhost", "/chat", &key, &["v2", "v1"]);
        let (start, f) = parse_head(&request);
        assert_eq!(start, "GET /chat HTTP/1.1");
        let hs = validate("GET", true, &f).unwrap();
        assert_eq!(hs.key, key);
        let mut response = Vec::new();
        hs.encode_response(&mut response, hs.select_protocol(&["v1"]));
        let (start, f) = parse_head(&response);
        assert_eq!(start, "HTTP/1.1 101 Switching Protocols");
        let iter = || f.iter().map(|(n, v)| (n.as_slice(), v.as_slice()));
        let server = validate_response(101, iter(), &key, &["v2", "v1"]).unwrap();
        assert_eq!(server.protocol.as_deref(), Some("v1"));
        // The same answer is wrong for another key, or when "v1" was not offered.
        let other = encode_key([0; 16]);
        assert_eq!(
            validate_response(101, iter(), &other, &["v1"]),
            Err(ResponseError::AcceptMismatch)
        );
        assert_eq!(
            validate_response(101, iter(), &key, &["v2"]),
            Err(ResponseError::UnexpectedProtocol)
        );
    }

    #[test]
    fn client_rejects_each_broken_response_rule() {
        let accept = accept_key(KEY.as_bytes());
        let good: Vec<(&[u8], &[u8])> = vec![
            (b"Upgrade", b"websocket"),
            (b"Connection", b"Upgrade"),
            (b"Sec-WebSocket-Accept", accept.as_bytes()),
        ];
        let without = |name: &str| -> Vec<(&[u8], &[u8])> {
            good.iter()
                .copied()
                .filter(|(n, _)| !n.eq_ignore_ascii_case(name.as_bytes()))
                .collect()
        };
        let with = |extra: (&'static [u8], &'static [u8])| {
            let mut f = good.clone();
            f.push(extra);
            f
        };
        let cases: Vec<(FieldRefs<'_>, ResponseError)> = vec![
            (without("upgrade"), ResponseError::MissingUpgrade),
            (
                without("connection"),
                ResponseError::MissingConnectionUpgrade,
            ),
            (
                without("sec-websocket-accept"),
                ResponseError::AcceptMismatch,
            ),
            (
                with((b"Sec-WebSocket-Accept", b"x")),
                ResponseError::AcceptMismatch,
            ),
            (
                with((b"Sec-WebSocket-Protocol", b"chat")),
                ResponseError::UnexpectedProtocol,
            ),
            (
                with((b"Sec-WebSocket-Extensions", b"permessage-deflate")),
                ResponseError::UnexpectedExtension,
            ),
        ];
        assert!(validate_response(101, good.iter().copied(), KEY, &[]).is_ok());
        for (f, error) in cases {
            assert_eq!(validate_response(101, f, KEY, &[]), Err(error));
            assert_eq!(error.rule(), "RFC 6455 §4.1");
        }
    }
}
