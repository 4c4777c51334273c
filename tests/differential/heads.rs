//! HTTP heads: generators of valid and broken requests and responses, and the comparison of
//! `wiretap::http` with httparse on the same bytes.

use std::ops::Range;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use wiretap::http::{ErrorKind, Method, RequestParser, ResponseParser, Status, Version};

use crate::{Disagreement, Outcome};

/// More field lines than our parser takes (`Limits::max_fields` is 100), so that httparse's
/// array is never why it refuses.
const MAX_HEADERS: usize = 128;

/// What `Limits::default().max_body` allows.
const MAX_BODY: u64 = 1024 * 1024;

// -------------------------------------------------------------------------------------------
// What each parser saw.

/// httparse's answer and whatever fields it filled in, as far as it got (httparse sets the
/// request line's parts as it parses them, also when it then answers Partial).
#[derive(Debug, Default)]
struct Reference {
    answer: Answer,
    method: Option<String>,
    path: Option<Vec<u8>>,
    version: Option<u8>,
    code: Option<u16>,
    reason: Option<Vec<u8>>,
    /// Only for a complete head.
    fields: Option<Vec<(String, Vec<u8>)>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Complete(usize),
    #[default]
    Partial,
    Rejected,
}

fn answer(result: httparse::Result<usize>) -> Answer {
    match result {
        Ok(httparse::Status::Complete(n)) => Answer::Complete(n),
        Ok(httparse::Status::Partial) => Answer::Partial,
        Err(_) => Answer::Rejected,
    }
}

fn owned_fields(headers: &[httparse::Header<'_>]) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .map(|h| (h.name.to_owned(), h.value.to_vec()))
        .collect()
}

fn httparse_request(input: &[u8]) -> Reference {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let answer = answer(request.parse(input));
    Reference {
        answer,
        method: request.method.map(str::to_owned),
        path: request.path.map(|p| p.as_bytes().to_vec()),
        version: request.version,
        fields: matches!(answer, Answer::Complete(_)).then(|| owned_fields(request.headers)),
        ..Reference::default()
    }
}

fn httparse_response(input: &[u8]) -> Reference {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let answer = answer(response.parse(input));
    Reference {
        answer,
        version: response.version,
        code: response.code,
        reason: response.reason.map(|r| r.as_bytes().to_vec()),
        fields: matches!(answer, Answer::Complete(_)).then(|| owned_fields(response.headers)),
        ..Reference::default()
    }
}

fn minor(version: Version) -> u8 {
    match version {
        Version::Http10 => 0,
        Version::Http11 => 1,
    }
}

fn our_fields<'a>(fields: impl Iterator<Item = (&'a str, &'a [u8])>) -> Vec<(String, Vec<u8>)> {
    fields.map(|(n, v)| (n.to_owned(), v.to_vec())).collect()
}

// -------------------------------------------------------------------------------------------
// The comparisons.

/// Request heads: ours vs httparse; see the crate doc for the rule.
pub(crate) fn compare_request(input: &[u8]) -> Result<Outcome, String> {
    let theirs = httparse_request(input);
    match (RequestParser::new().parse(input), theirs.answer) {
        (Ok(Status::Complete { value, consumed }), Answer::Complete(n)) => {
            let ours = (
                Some(value.method().to_owned()),
                Some(value.target_bytes().to_vec()),
                Some(minor(value.version())),
                Some(our_fields(value.fields())),
                consumed,
            );
            let reference = (theirs.method, theirs.path, theirs.version, theirs.fields, n);
            if ours == reference {
                Ok(Outcome::Agree)
            } else {
                Err(format!(
                    "both accept, fields differ:\n  ours     {ours:?}\n  httparse {reference:?}"
                ))
            }
        }
        (Ok(Status::Complete { .. }), other) => Err(format!("we accept, httparse: {other:?}")),
        (Ok(Status::Partial), Answer::Partial) | (Err(_), Answer::Rejected) => Ok(Outcome::Agree),
        (Ok(Status::Partial), Answer::Rejected) => line_judged_at_its_end(
            input,
            |b| httparse_request(b).answer,
            |b| RequestParser::new().parse(b).is_err(),
        ),
        (Ok(Status::Partial), Answer::Complete(_)) => {
            Err("we wait for more, httparse accepts".to_owned())
        }
        (Err(e), other) => classify_request(e.kind, input, &theirs)
            .map(Outcome::Disagree)
            .ok_or_else(|| {
                format!(
                    "unlisted: we reject ({e}, {:?}), httparse: {other:?}",
                    e.kind
                )
            }),
    }
}

/// Response heads answering `method`: ours vs httparse.
pub(crate) fn compare_response(input: &[u8], method: Method) -> Result<Outcome, String> {
    let theirs = httparse_response(input);
    let ours = ResponseParser::new().parse(input, method);
    match (ours, theirs.answer) {
        (Ok(Status::Complete { value, consumed }), Answer::Complete(n)) => {
            let ours = (
                Some(minor(value.version())),
                Some(value.status()),
                Some(our_fields(value.fields())),
                consumed,
            );
            let reference = (theirs.version, theirs.code, theirs.fields, n);
            let reason = value.reason();
            let their_reason = theirs.reason.unwrap_or_default();
            if ours != reference {
                Err(format!(
                    "both accept, fields differ:\n  ours     {ours:?}\n  httparse {reference:?}"
                ))
            } else if reason == their_reason {
                Ok(Outcome::Agree)
            } else if reason.iter().any(|&b| b >= 0x80) && their_reason.is_empty() {
                Ok(Outcome::Disagree(Disagreement::ReasonWithObsText))
            } else {
                Err(format!(
                    "reasons differ: ours {}, httparse {}",
                    crate::show(reason),
                    crate::show(&their_reason)
                ))
            }
        }
        (Ok(Status::Complete { .. }), other) => Err(format!("we accept, httparse: {other:?}")),
        (Ok(Status::Partial), Answer::Partial) | (Err(_), Answer::Rejected) => Ok(Outcome::Agree),
        (Ok(Status::Partial), Answer::Rejected) => line_judged_at_its_end(
            input,
            |b| httparse_response(b).answer,
            |b| ResponseParser::new().parse(b, method).is_err(),
        ),
        (Ok(Status::Partial), Answer::Complete(_)) => {
            Err("we wait for more, httparse accepts".to_owned())
        }
        (Err(e), other) => classify_response(e.kind, input, &theirs, method)
            .map(Outcome::Disagree)
            .ok_or_else(|| {
                format!(
                    "unlisted: we reject ({e}, {:?}), httparse: {other:?}",
                    e.kind
                )
            }),
    }
}

/// httparse rejects while we still wait: allowed when httparse's reason lies in the
/// unfinished last line (the bytes before it do not make httparse reject) and we reject that
/// line once it ends with CRLF.
fn line_judged_at_its_end(
    input: &[u8],
    reference: impl Fn(&[u8]) -> Answer,
    we_reject: impl Fn(&[u8]) -> bool,
) -> Result<Outcome, String> {
    let last_line = input.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if reference(&input[..last_line]) == Answer::Rejected {
        return Err("httparse rejects a finished line that we accept".to_owned());
    }
    let mut finished = input.to_vec();
    finished.extend_from_slice(b"\r\n");
    if we_reject(&finished) {
        Ok(Outcome::Disagree(Disagreement::LineJudgedAtItsEnd))
    } else {
        Err("httparse rejects the last line, we accept it once it ends".to_owned())
    }
}

// -------------------------------------------------------------------------------------------
// Naming the reason. Each predicate reads httparse's view of the bytes (or the bytes), not
// our error alone; our error kind must also be the one the reason produces.

/// A line ended by LF without CR, within what httparse took as the head.
fn has_bare_lf(input: &[u8], reference: &Reference) -> bool {
    let head = match reference.answer {
        Answer::Complete(n) => &input[..n],
        _ => input,
    };
    head.iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || head[i - 1] != b'\r'))
}

impl Reference {
    fn values(&self, name: &str) -> Vec<&[u8]> {
        self.fields
            .iter()
            .flatten()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    /// The comma-separated elements of every field named `name`, OWS trimmed.
    fn elements(&self, name: &str) -> Vec<&[u8]> {
        self.values(name)
            .into_iter()
            .flat_map(|v| v.split(|&b| b == b','))
            .map(trim_ows)
            .collect()
    }

    fn content_lengths(&self) -> Vec<Option<u64>> {
        self.elements("content-length")
            .into_iter()
            .map(|e| {
                let digits = !e.is_empty() && e.iter().all(u8::is_ascii_digit);
                digits
                    .then(|| std::str::from_utf8(e).ok()?.parse().ok())
                    .flatten()
            })
            .collect()
    }

    fn has(&self, name: &str) -> bool {
        !self.values(name).is_empty()
    }
}

/// Without leading and trailing OWS (SP, HTAB).
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// The coding of a transfer-coding element, before its parameters.
fn coding_name(element: &[u8]) -> &[u8] {
    trim_ows(element.split(|&b| b == b';').next().unwrap_or_default())
}

/// `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2), written apart from the parser.
fn valid_host(value: &[u8]) -> bool {
    const SUB_DELIMS: &[u8] = b"!$&'()*+,;=";
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
    let (host_ok, rest) = if let Some(inner) = value.strip_prefix(b"[") {
        match inner.iter().position(|&b| b == b']') {
            Some(close) => {
                let literal = &inner[..close];
                let ok = !literal.is_empty()
                    && literal
                        .iter()
                        .all(|&b| unreserved(b) || SUB_DELIMS.contains(&b) || b == b':');
                (ok, &inner[close + 1..])
            }
            None => (false, &b""[..]),
        }
    } else {
        let end = value.iter().position(|&b| b == b':').unwrap_or(value.len());
        let host = &value[..end];
        let mut ok = true;
        let mut i = 0;
        while i < host.len() {
            if host[i] == b'%' {
                ok &= host
                    .get(i + 1..i + 3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
                i += 3;
            } else {
                ok &= unreserved(host[i]) || SUB_DELIMS.contains(&host[i]);
                i += 1;
            }
        }
        (ok, &value[end..])
    };
    let port_ok = match rest.split_first() {
        None => true,
        Some((b':', port)) => port.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    };
    host_ok && port_ok
}

/// Whether `method` may use `target`'s form (RFC 9112 §3.2.1-§3.2.4), written apart from
/// the parser: CONNECT takes `host:port` only; OPTIONS also `*`; the rest origin-form or
/// absolute-form, which we read as `scheme "://" authority` with a non-empty authority and no
/// userinfo (RFC 9110 §4.2.1, §4.2.4).
fn form_allowed(method: &[u8], target: &[u8]) -> bool {
    if method == b"CONNECT" {
        // uri-host ":" port, both non-empty.
        let host_end = match target.first() {
            Some(b'[') => target.iter().position(|&b| b == b']').map(|i| i + 1),
            _ => target.iter().position(|&b| b == b':'),
        };
        return host_end.is_some_and(|end| {
            end > 0 && target.get(end) == Some(&b':') && end + 1 < target.len()
        }) && valid_host(target);
    }
    if target.starts_with(b"/") || (method == b"OPTIONS" && target == b"*") {
        return true;
    }
    let Some(sep) = target.windows(3).position(|w| w == b"://") else {
        return false;
    };
    let scheme = &target[..sep];
    let authority = target[sep + 3..]
        .split(|&b| b == b'/' || b == b'?')
        .next()
        .unwrap_or_default();
    scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && !authority.is_empty()
        && !authority.contains(&b'@')
}

/// The framing reasons, shared by requests and responses.
fn classify_framing(kind: ErrorKind, r: &Reference, request: bool) -> Option<Disagreement> {
    use Disagreement as D;
    use ErrorKind as K;
    let lengths = r.content_lengths();
    let codings: Vec<&[u8]> = r
        .elements("transfer-encoding")
        .into_iter()
        .filter(|e| !e.is_empty())
        .collect();
    let is_chunked = |c: &&[u8]| c.eq_ignore_ascii_case(b"chunked");
    let unusable = if request {
        codings.len() != 1 || !codings.iter().all(is_chunked)
    } else {
        let coding_names_ok = codings.iter().all(|c| {
            let name = coding_name(c);
            !name.is_empty() && name.iter().all(|&b| TCHAR.contains(&b))
        });
        let chunked = codings
            .iter()
            .filter(|c| coding_name(c).eq_ignore_ascii_case(b"chunked"))
            .count();
        let chunked_with_params = codings
            .iter()
            .any(|c| c.contains(&b';') && coding_name(c).eq_ignore_ascii_case(b"chunked"));
        !coding_names_ok || chunked > 1 || chunked_with_params
    };
    let distinct = {
        let mut values: Vec<u64> = lengths.iter().flatten().copied().collect();
        values.sort_unstable();
        values.dedup();
        values.len()
    };
    [
        (
            D::InvalidContentLength,
            matches!(kind, K::InvalidContentLength | K::ContentLengthOverflow)
                && lengths.iter().any(Option::is_none),
        ),
        (
            D::ConflictingContentLength,
            kind == K::ConflictingContentLength && distinct > 1,
        ),
        (
            D::ConflictingFraming,
            kind == K::ConflictingFraming && r.has("content-length") && r.has("transfer-encoding"),
        ),
        (
            D::TransferEncodingInHttp10,
            kind == K::TransferEncodingInHttp10
                && r.version == Some(0)
                && r.has("transfer-encoding"),
        ),
        (
            D::UnusableTransferEncoding,
            matches!(
                kind,
                K::InvalidTransferEncoding
                    | K::ChunkedTwice
                    | K::ChunkedNotFinal
                    | K::UnsupportedTransferCoding
            ) && r.has("transfer-encoding")
                && unusable,
        ),
        (
            D::BodyTooLarge,
            request && kind == K::BodyTooLarge && lengths.iter().flatten().any(|&n| n > MAX_BODY),
        ),
    ]
    .into_iter()
    .find_map(|(d, applies)| applies.then_some(d))
}

fn classify_request(kind: ErrorKind, input: &[u8], r: &Reference) -> Option<Disagreement> {
    use Disagreement as D;
    use ErrorKind as K;
    let path = r.path.as_deref().unwrap_or_default();
    let complete = r.fields.is_some();
    let hosts = r.values("host");
    [
        (D::BareLf, kind == K::BareLf && has_bare_lf(input, r)),
        (
            D::NonAsciiTarget,
            kind == K::InvalidTarget && path.iter().any(|&b| b >= 0x80),
        ),
        (
            D::FragmentInTarget,
            kind == K::InvalidTarget && path.contains(&b'#'),
        ),
        (
            D::TargetFormForMethod,
            kind == K::InvalidTargetForm
                && r.method
                    .as_deref()
                    .is_some_and(|m| !form_allowed(m.as_bytes(), path)),
        ),
        (
            D::MissingHost,
            kind == K::MissingHost && complete && r.version == Some(1) && hosts.is_empty(),
        ),
        (
            D::DuplicateHost,
            kind == K::DuplicateHost && hosts.len() > 1,
        ),
        (
            D::InvalidHost,
            kind == K::InvalidHost && hosts.iter().any(|h| !valid_host(h)),
        ),
    ]
    .into_iter()
    .find_map(|(d, applies)| applies.then_some(d))
    .or_else(|| complete.then(|| classify_framing(kind, r, true)).flatten())
}

fn classify_response(
    kind: ErrorKind,
    input: &[u8],
    r: &Reference,
    method: Method,
) -> Option<Disagreement> {
    use Disagreement as D;
    use ErrorKind as K;
    let status_line_len = input
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(input.len());
    // RFC 9112 §6.3 rules 1 and 2: these answers have no body, so no framing to judge.
    let framing_examined = r.code.is_some_and(|code| {
        !(method == Method::Head
            || (100..200).contains(&code)
            || code == 204
            || code == 304
            || (method == Method::Connect && (200..300).contains(&code)))
    });
    [
        (D::BareLf, kind == K::BareLf && has_bare_lf(input, r)),
        (
            D::EmptyLineBeforeStatusLine,
            kind == K::InvalidVersion && input.starts_with(b"\r\n"),
        ),
        (
            D::NoSpaceAfterStatusCode,
            kind == K::InvalidStatusLine && r.code.is_some() && status_line_len == 12,
        ),
        (
            D::StatusCodeOutOfRange,
            kind == K::InvalidStatusCode && r.code.is_some_and(|c| !(100..=599).contains(&c)),
        ),
    ]
    .into_iter()
    .find_map(|(d, applies)| applies.then_some(d))
    .or_else(|| {
        (r.fields.is_some() && framing_examined)
            .then(|| classify_framing(kind, r, false))
            .flatten()
    })
}

// -------------------------------------------------------------------------------------------
// Byte classes for the generators.

/// RFC 9110 §5.6.2 tchar.
const TCHAR: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// RFC 3986 pchar (without pct-encoded) and "/": the bytes of an absolute-path.
const PATH: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/";
/// The bytes of a query: pchar, "/" and "?".
const QUERY: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?";
/// A plain reg-name.
const HOST: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-.";
/// reason-phrase without obs-text: HTAB, SP, VCHAR.
const REASON: &[u8] = b"\t !\"#$%&'()*+,-./0123456789:;<=>?@\
    ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

fn bytes_of(class: &'static [u8], len: Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    vec(select(class), len)
}

/// field-vchar / obs-text with SP and HTAB between (RFC 9110 §5.5).
fn field_value() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            8 => 0x21u8..=0x7E,
            1 => Just(b' '),
            1 => Just(b'\t'),
            1 => 0x80u8..=0xFF,
        ],
        0..24,
    )
}

fn ows() -> impl Strategy<Value = Vec<u8>> {
    bytes_of(b" \t", 0..3)
}

// -------------------------------------------------------------------------------------------
// Heads.

/// One field line, each part under the test's control.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    name: Vec<u8>,
    /// Between the name and the colon: empty unless a test breaks RFC 9112 §5.1.
    before_colon: Vec<u8>,
    pre: Vec<u8>,
    value: Vec<u8>,
    post: Vec<u8>,
}

impl Field {
    fn new(name: &str, value: &[u8]) -> Self {
        Self {
            name: name.as_bytes().to_vec(),
            before_colon: Vec::new(),
            pre: b" ".to_vec(),
            value: value.to_vec(),
            post: Vec::new(),
        }
    }

    fn render(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.name);
        out.extend_from_slice(&self.before_colon);
        out.push(b':');
        out.extend_from_slice(&self.pre);
        out.extend_from_slice(&self.value);
        out.extend_from_slice(&self.post);
        out.extend_from_slice(b"\r\n");
    }

    fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }
}

prop_compose! {
    /// A field whose name is none of those with rules of their own.
    fn field()(
        name in bytes_of(TCHAR, 1..16),
        pre in ows(),
        value in field_value(),
        post in ows(),
    ) -> Field {
        let mut field = Field { name, before_colon: Vec::new(), pre, value, post };
        if ["host", "content-length", "transfer-encoding"].iter().any(|n| field.is_named(n)) {
            field.name.push(b'x');
        }
        field
    }
}

fn render_fields(fields: &[Field], out: &mut Vec<u8>) {
    for field in fields {
        field.render(out);
    }
    out.extend_from_slice(b"\r\n");
}

/// A request head, each part under the test's control, then whatever follows it.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    leading: usize,
    method: Vec<u8>,
    target: Vec<u8>,
    version: Vec<u8>,
    fields: Vec<Field>,
    after: Vec<u8>,
}

impl Request {
    pub(crate) fn render(&self) -> Vec<u8> {
        let mut out = b"\r\n".repeat(self.leading);
        for (part, end) in [(&self.method, b" "), (&self.target, b" ")] {
            out.extend_from_slice(part);
            out.extend_from_slice(end);
        }
        out.extend_from_slice(&self.version);
        out.extend_from_slice(b"\r\n");
        render_fields(&self.fields, &mut out);
        out.extend_from_slice(&self.after);
        out
    }
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "CONNECT",
];

fn method() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => select(METHODS).prop_map(|m| m.as_bytes().to_vec()),
        1 => bytes_of(TCHAR, 1..12),
    ]
}

fn host() -> impl Strategy<Value = Vec<u8>> {
    (bytes_of(HOST, 1..16), proptest::option::of(any::<u16>())).prop_map(|(mut host, port)| {
        if let Some(port) = port {
            host.extend_from_slice(format!(":{port}").as_bytes());
        }
        host
    })
}

fn origin() -> impl Strategy<Value = Vec<u8>> {
    (
        bytes_of(PATH, 0..24),
        proptest::option::of(bytes_of(QUERY, 0..12)),
    )
        .prop_map(|(path, query)| {
            let mut target = b"/".to_vec();
            target.extend(path);
            if let Some(query) = query {
                target.push(b'?');
                target.extend(query);
            }
            target
        })
}

fn absolute() -> impl Strategy<Value = Vec<u8>> {
    (
        select(vec!["http", "https", "ws", "x+y.z-1"]),
        host(),
        proptest::option::of(origin()),
    )
        .prop_map(|(scheme, host, path)| {
            let mut target = format!("{scheme}://").into_bytes();
            target.extend(host);
            target.extend(path.unwrap_or_default());
            target
        })
}

fn authority() -> impl Strategy<Value = Vec<u8>> {
    (bytes_of(HOST, 1..16), any::<u16>()).prop_map(|(mut host, port)| {
        host.extend_from_slice(format!(":{port}").as_bytes());
        host
    })
}

/// A target of a form the method may use (RFC 9112 §3.2.1-§3.2.4).
fn target_for(method: &[u8]) -> BoxedStrategy<Vec<u8>> {
    match method {
        b"CONNECT" => authority().boxed(),
        b"OPTIONS" => prop_oneof![3 => origin(), 1 => absolute(), 1 => Just(b"*".to_vec())].boxed(),
        _ => prop_oneof![4 => origin(), 1 => absolute()].boxed(),
    }
}

fn field_of(name: &str, value: String) -> Field {
    Field::new(name, value.as_bytes())
}

/// Content-Length or Transfer-Encoding, valid for a request of either version (the caller
/// drops Transfer-Encoding from HTTP/1.0).
fn request_framing() -> impl Strategy<Value = Option<Field>> {
    prop_oneof![
        2 => Just(None),
        2 => (0..=MAX_BODY).prop_map(|n| Some(field_of("Content-Length", n.to_string()))),
        1 => (0u64..1000).prop_map(|n| Some(field_of("content-length", format!("{n}, 0{n}")))),
        1 => select(vec!["chunked", "Chunked", " chunked ,"])
            .prop_map(|c| Some(Field::new("Transfer-Encoding", c.as_bytes()))),
    ]
}

/// Requests that both parsers must accept, alike.
pub(crate) fn valid_request() -> impl Strategy<Value = Request> {
    let line = method().prop_flat_map(|m| {
        let target = target_for(&m);
        (Just(m), target)
    });
    (
        line,
        0usize..3,
        any::<bool>(),
        prop_oneof![4 => host(), 1 => Just(Vec::new())],
        vec(field(), 0..8),
        any::<Index>(),
        request_framing(),
        vec(any::<u8>(), 0..8),
    )
        .prop_map(
            |((method, target), leading, http11, host, mut fields, at, framing, after)| {
                fields.insert(at.index(fields.len() + 1), Field::new("Host", &host));
                let framing = framing.filter(|f| http11 || !f.is_named("transfer-encoding"));
                fields.extend(framing);
                let version = if http11 { "HTTP/1.1" } else { "HTTP/1.0" };
                Request {
                    leading,
                    method,
                    target,
                    version: version.as_bytes().to_vec(),
                    fields,
                    after,
                }
            },
        )
}

/// A status line and fields.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    leading: usize,
    version: Vec<u8>,
    code: Vec<u8>,
    /// `None`: the line ends right after the code, without the SP.
    reason: Option<Vec<u8>>,
    fields: Vec<Field>,
    after: Vec<u8>,
}

impl Response {
    pub(crate) fn render(&self) -> Vec<u8> {
        let mut out = b"\r\n".repeat(self.leading);
        out.extend_from_slice(&self.version);
        out.push(b' ');
        out.extend_from_slice(&self.code);
        if let Some(reason) = &self.reason {
            out.push(b' ');
            out.extend_from_slice(reason);
        }
        out.extend_from_slice(b"\r\n");
        render_fields(&self.fields, &mut out);
        out.extend_from_slice(&self.after);
        out
    }
}

const RESPONSE_METHODS: &[Method] = &[
    Method::Get,
    Method::Head,
    Method::Post,
    Method::Connect,
    Method::Options,
    Method::Extension,
];

fn response_framing() -> impl Strategy<Value = Option<Field>> {
    prop_oneof![
        2 => Just(None),
        2 => any::<u64>().prop_map(|n| Some(field_of("Content-Length", n.to_string()))),
        1 => (0u64..1000).prop_map(|n| Some(field_of("Content-Length", format!("{n},{n}")))),
        1 => select(vec!["chunked", "gzip, chunked", "gzip", "x;q=1, CHUNKED"])
            .prop_map(|c| Some(Field::new("Transfer-Encoding", c.as_bytes()))),
    ]
}

/// Responses that both parsers must accept, alike, with the method they answer.
pub(crate) fn valid_response() -> impl Strategy<Value = (Response, Method)> {
    (
        any::<bool>(),
        100u16..600,
        bytes_of(REASON, 0..20),
        vec(field(), 0..8),
        response_framing(),
        select(RESPONSE_METHODS),
        vec(any::<u8>(), 0..8),
    )
        .prop_map(
            |(http11, code, reason, mut fields, framing, method, after)| {
                fields.extend(framing.filter(|f| http11 || !f.is_named("transfer-encoding")));
                let version = if http11 { "HTTP/1.1" } else { "HTTP/1.0" };
                let response = Response {
                    leading: 0,
                    version: version.as_bytes().to_vec(),
                    code: code.to_string().into_bytes(),
                    reason: Some(reason),
                    fields,
                    after,
                };
                (response, method)
            },
        )
}

// -------------------------------------------------------------------------------------------
// Mutations.

/// Bytes that parsers trip on.
const TRICKY: &[&[u8]] = &[
    b"\n",
    b"\r",
    b"\0",
    b" ",
    b"\t",
    b"#",
    b"\x7f",
    b"\xc3\xa9",
    b"\xff",
    b":",
    b"\r\n",
    b"\r\n ",
    b"\r\n\r\n",
    b"@",
    b"%",
    b",",
];

/// A byte-level edit of a rendered head.
#[derive(Debug, Clone)]
pub(crate) enum Edit {
    /// XOR one byte with a non-zero value.
    Flip(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index),
    Truncate(Index),
    /// One CRLF loses its CR (a bare LF) or its LF (a bare CR).
    LoneLineEnd(Index, bool),
}

impl Edit {
    fn apply(&self, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        match self {
            Self::Flip(at, x) if len > 0 => bytes[at.index(len)] ^= x,
            Self::Insert(at, new) => {
                let at = at.index(len + 1);
                *bytes = [&bytes[..at], &new[..], &bytes[at..]].concat();
            }
            Self::Delete(at) if len > 0 => {
                bytes.remove(at.index(len));
            }
            Self::Truncate(at) => bytes.truncate(at.index(len + 1)),
            Self::LoneLineEnd(at, keep_lf) => {
                let crlfs: Vec<usize> = bytes
                    .windows(2)
                    .enumerate()
                    .filter(|(_, w)| *w == b"\r\n")
                    .map(|(i, _)| i)
                    .collect();
                if !crlfs.is_empty() {
                    let i = crlfs[at.index(crlfs.len())];
                    bytes.remove(if *keep_lf { i } else { i + 1 });
                }
            }
            _ => {}
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), 1u8..).prop_map(|(i, x)| Edit::Flip(i, x)),
        (any::<Index>(), select(TRICKY)).prop_map(|(i, b)| Edit::Insert(i, b.to_vec())),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, vec![b])),
        any::<Index>().prop_map(Edit::Delete),
        any::<Index>().prop_map(Edit::Truncate),
        (any::<Index>(), any::<bool>()).prop_map(|(i, lf)| Edit::LoneLineEnd(i, lf)),
    ]
}

/// Framing fields that break a rule, or make a pair that does.
const FRAMING: &[(&str, &str)] = &[
    ("Content-Length", "+1"),
    ("Content-Length", "1 2"),
    ("Content-Length", "0x1"),
    ("Content-Length", ""),
    ("Content-Length", "18446744073709551616"),
    ("Content-Length", "5, 6"),
    ("Content-Length", "2000000"),
    ("Content-Length", "7"),
    ("Content-Length", "7, 7"),
    ("Transfer-Encoding", "chunked"),
    ("Transfer-Encoding", "gzip"),
    ("Transfer-Encoding", "gzip, chunked"),
    ("Transfer-Encoding", "chunked, chunked"),
    ("Transfer-Encoding", "chunked;x=1"),
    ("Transfer-Encoding", ""),
    ("Transfer-Encoding", "ch@nked"),
    ("Transfer-Encoding", "chunked, gzip"),
];

/// Reasons to swap in: none (no SP after the code), empty, obs-text, DEL, HTAB.
const REASONS: &[Option<&[u8]>] = &[
    None,
    Some(b"" as &[u8]),
    Some(b"\xe9t\xe9" as &[u8]),
    Some(b"OK\x7f" as &[u8]),
    Some(b"a\tb" as &[u8]),
    Some(b"\xff" as &[u8]),
];

/// An edit that knows the structure of a head.
#[derive(Debug, Clone)]
pub(crate) enum HeadEdit {
    Method(&'static str),
    Target(&'static str),
    Version(&'static str),
    RemoveHost,
    DuplicateHost,
    HostValue(&'static str),
    AddField(&'static str, &'static str, Index),
    SpaceBeforeColon(Index),
    ObsFold(Index),
    /// A field line that starts with whitespace right after the start line.
    SpaceAfterStartLine,
    /// Responses: the status code.
    Code(&'static str),
    /// Responses: the reason (`None`: no SP after the code).
    Reason(Option<&'static [u8]>),
    LeadingEmptyLine,
}

fn head_edit() -> impl Strategy<Value = HeadEdit> {
    prop_oneof![
        select(vec![
            "CONNECT", "OPTIONS", "get", "PRI", "M-SEARCH", "G\u{e9}T"
        ])
        .prop_map(HeadEdit::Method),
        select(vec![
            "*",
            "example.com:80",
            "/a#f",
            "http://u@h/",
            "/caf\u{e9}",
            "http:/x",
            "//x",
            "x",
            "[::1]:80",
            "http://[::1]:8080/p?q",
            "?q",
            "http://",
            "/%zz",
        ])
        .prop_map(HeadEdit::Target),
        select(vec![
            "HTTP/1.0",
            "HTTP/1.1",
            "HTTP/1.2",
            "HTTP/2.0",
            "http/1.1",
            "HTTP/1.10",
            "HTTP/1",
            "HTTP/1.1 ",
            "HTTP/ 1.1",
        ])
        .prop_map(HeadEdit::Version),
        Just(HeadEdit::RemoveHost),
        Just(HeadEdit::DuplicateHost),
        select(vec![
            "u@h", "a b", "[::1]:80", "", "a:b", "a:80:90", "[zz]", "%41", "%4", "a:", "[::1",
            "\u{e9}", "a/b",
        ])
        .prop_map(HeadEdit::HostValue),
        (select(FRAMING), any::<Index>()).prop_map(|((n, v), i)| HeadEdit::AddField(n, v, i)),
        any::<Index>().prop_map(HeadEdit::SpaceBeforeColon),
        any::<Index>().prop_map(HeadEdit::ObsFold),
        Just(HeadEdit::SpaceAfterStartLine),
        select(vec!["000", "099", "100", "600", "999", "20", "2000", "2x0"])
            .prop_map(HeadEdit::Code),
        select(REASONS).prop_map(HeadEdit::Reason),
        Just(HeadEdit::LeadingEmptyLine),
    ]
}

impl HeadEdit {
    /// Edits the field lines; false when the edit is not about them.
    fn apply_fields(&self, fields: &mut Vec<Field>) -> bool {
        match self {
            Self::RemoveHost => fields.retain(|f| !f.is_named("host")),
            Self::DuplicateHost => {
                if let Some(host) = fields.iter().find(|f| f.is_named("host")).cloned() {
                    fields.push(host);
                } else {
                    fields.push(Field::new("host", b"a"));
                }
            }
            Self::HostValue(value) => {
                fields.retain(|f| !f.is_named("host"));
                fields.insert(0, Field::new("Host", value.as_bytes()));
            }
            Self::AddField(name, value, at) => {
                let at = at.index(fields.len() + 1);
                fields.insert(at, Field::new(name, value.as_bytes()));
            }
            Self::SpaceBeforeColon(at) if !fields.is_empty() => {
                let i = at.index(fields.len());
                fields[i].before_colon = b" ".to_vec();
            }
            Self::ObsFold(at) if !fields.is_empty() => {
                let i = at.index(fields.len());
                fields[i].value.extend_from_slice(b"\r\n folded");
            }
            Self::SpaceAfterStartLine => match fields.first_mut() {
                Some(first) => first.name.insert(0, b' '),
                None => fields.push(Field::new(" X", b"y")),
            },
            _ => return false,
        }
        true
    }

    fn apply_request(&self, request: &mut Request) {
        if self.apply_fields(&mut request.fields) {
            return;
        }
        match self {
            Self::Method(m) => request.method = m.as_bytes().to_vec(),
            Self::Target(t) => request.target = t.as_bytes().to_vec(),
            Self::Version(v) => request.version = v.as_bytes().to_vec(),
            Self::LeadingEmptyLine => request.leading += 1,
            _ => {}
        }
    }

    fn apply_response(&self, response: &mut Response) {
        if self.apply_fields(&mut response.fields) {
            return;
        }
        match self {
            Self::Version(v) => response.version = v.as_bytes().to_vec(),
            Self::Code(c) => response.code = c.as_bytes().to_vec(),
            Self::Reason(r) => response.reason = r.map(<[u8]>::to_vec),
            Self::LeadingEmptyLine => response.leading += 1,
            _ => {}
        }
    }
}

/// Valid requests after a few structural and byte edits, and now and then plain noise
/// after a request-line prefix.
pub(crate) fn broken_request() -> impl Strategy<Value = Vec<u8>> {
    let edited = (valid_request(), vec(head_edit(), 0..3), vec(edit(), 0..3)).prop_map(
        |(mut request, structural, bytes)| {
            for e in &structural {
                e.apply_request(&mut request);
            }
            let mut out = request.render();
            for e in &bytes {
                e.apply(&mut out);
            }
            out
        },
    );
    let noise =
        vec(any::<u8>(), 0..40).prop_map(|noise| [&b"GET / HTTP/1.1\r\n"[..], &noise].concat());
    prop_oneof![9 => edited, 1 => noise]
}

/// Valid responses after a few structural and byte edits, with the method they answer.
pub(crate) fn broken_response() -> impl Strategy<Value = (Vec<u8>, Method)> {
    (valid_response(), vec(head_edit(), 0..3), vec(edit(), 0..3)).prop_map(
        |((mut response, method), structural, bytes)| {
            for e in &structural {
                e.apply_response(&mut response);
            }
            let mut out = response.render();
            for e in &bytes {
                e.apply(&mut out);
            }
            (out, method)
        },
    )
}
