//! Differential tests: our parsers and a reference implementation judge the same bytes, and
//! every difference in their verdicts is either on the NON-STRICT list below or a failure.
//!
//! | ours | reference | layer |
//! |---|---|---|
//! | `http::RequestParser` | `httparse::Request::parse` (128 headers) | [`Layer::Request`] |
//! | `http::ResponseParser` | `httparse::Response::parse` | [`Layer::Response`] |
//! | `ws::FrameDecoder`, first event | `tungstenite` `FrameHeader::parse` | [`Layer::FrameHeader`] |
//! | `ws::Connection` as a server | tungstenite's `WebSocket` as a server, run synchronously over an in-memory stream | [`Layer::Messages`] |
//!
//! What the properties prove, on generated valid inputs and on mutations of them (flipped,
//! inserted, deleted bytes, bare LF / CR / NUL, SP before a colon, obs-fold, duplicated or
//! conflicting framing fields, truncation; for WebSocket: bad UTF-8, bad close codes,
//! reserved opcodes and bits, unmasked, oversized or fragmented control frames, interleaved
//! fragments, non-minimal lengths):
//!
//! - **HTTP**: whenever httparse rejects, we reject too (we are never more lenient about
//!   syntax); whenever we accept, httparse accepts with the same method, target, version,
//!   status, reason, field list (names and values, in order) and consumed length. When we
//!   reject and httparse does not, a classifier must name the reason from [`NON_STRICT`],
//!   checking the reason on httparse's own reading of the bytes (not on our error alone).
//! - **WebSocket frames**: same verdict (header, partial, error) and same fields (FIN, RSV,
//!   opcode, mask, payload length, header length), or a listed reason.
//! - **WebSocket messages**: the same messages, pings, pongs and close (code and reason) in
//!   the same order, and the same ending: open, closed by the peer, or failed with the same
//!   close code (tungstenite's errors map to codes: `Protocol` 1002, `Utf8` 1007, `Capacity`
//!   1009; its reply 1002 "Protocol violation" to a Close with a bad code counts as failing
//!   with 1002). *When* a failure happens may differ (tungstenite validates a frame once it
//!   has all of it, we at the offending byte): such a case is accepted only if tungstenite,
//!   given the frame completed without a fault of its own (a minimal length, a mask, payload
//!   that unmasks to spaces), then fails with our code.
//!
//! **Disagreements** are handled like Autobahn's NON-STRICT list: [`NON_STRICT`] is the one
//! committed table of intended differences, each with the rule and a one-line justification,
//! and one or more concrete inputs. `every_listed_disagreement_still_happens` runs those
//! inputs, so an entry that no longer happens fails, and a difference that fits no entry fails
//! the property that found it. Limits (`max_fields`, `max_head_bytes`, …) are not part of the
//! comparison: generated heads stay far below them, except Content-Length against
//! `max_body`, which is listed.
//!
//! Where the references are as strict as we are, nothing is listed: httparse (default
//! configuration) also refuses obs-fold, whitespace before a colon or after the start line,
//! bare CR, controls in values, versions other than 1.0 and 1.1; tungstenite also refuses
//! unmasked client frames, fragmented or long control frames, RSV bits, reserved opcodes,
//! bad UTF-8, bad close codes other than 1014 and one-byte Close payloads. Where a reference
//! is stricter or reads differently, it is listed like the rest: `LineJudgedAtItsEnd`,
//! `ReasonWithObsText`, `BadGatewayCloseCode`, and the cases where it reports another rule
//! first.
//!
//! **Cases**: 512 per property (`PROPTEST_CASES` overrides), random seed each run,
//! `failure_persistence: None`. A failure prints the shrunk input; it then becomes a plain
//! `#[test]` in this file with that input (the house habit: a named smallest input, not a
//! proptest-regressions file of opaque seeds that go stale when a generator changes).

use proptest::prelude::*;

// A crate root's modules live beside it, not under `differential/`; say where they are.
#[path = "differential/heads.rs"]
mod heads;
#[path = "differential/websocket.rs"]
mod websocket;

/// Where a disagreement shows, and against which reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    /// `RequestParser` vs `httparse::Request::parse`.
    Request,
    /// `ResponseParser` vs `httparse::Response::parse`; the examples answer a GET.
    Response,
    /// `FrameDecoder`'s first event vs tungstenite's `FrameHeader::parse`, with the decoder's
    /// role set to expect the MASK bit as sent and no frame size limit.
    FrameHeader,
    /// `ws::Connection` (server) vs tungstenite's `WebSocket` (server); examples are masked
    /// with the all-zero key, so the payload reads plainly, unless masking is the point.
    Messages,
}

/// One row of [`NON_STRICT`].
#[derive(Debug)]
struct Entry {
    id: Disagreement,
    /// The rule that decides, as "RFC NNNN §x.y".
    rule: &'static str,
    /// Why we differ, in one line.
    why: &'static str,
    /// Inputs on which the disagreement happens, per layer; a layer without an example may
    /// not report this disagreement.
    examples: &'static [(Layer, &'static [u8])],
}

/// Declares [`Disagreement`] and [`NON_STRICT`] from one list, so neither can drift.
macro_rules! non_strict {
    ($( #[doc = $why:literal] $id:ident, $rule:literal, [$($layer:ident: $example:expr),+ $(,)?]; )+) => {
        /// An intended disagreement with a reference implementation; see [`NON_STRICT`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Disagreement { $( #[doc = $why] $id, )+ }

        /// The NON-STRICT list: every intended difference between our verdicts and the
        /// references', with its rule, justification and examples.
        const NON_STRICT: &[Entry] = &[$(
            Entry {
                id: Disagreement::$id,
                rule: $rule,
                why: $why,
                examples: &[$((Layer::$layer, $example)),+],
            },
        )+];
    };
}

non_strict! {
    // ---- HTTP heads vs httparse: where we reject and httparse does not (yet) ----

    /// A recipient MAY take a lone LF as a line end; we refuse it, as parsers that disagree on line ends can be smuggled past each other (httparse accepts).
    BareLf, "RFC 9112 §2.2", [
        Request: b"GET / HTTP/1.1\nHost: a\r\n\r\n",
        Response: b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
    ];
    /// Timing only: we judge a line's grammar when its CRLF arrives (Partial before), httparse at the first bad byte; the line completed with CRLF must then be refused.
    LineJudgedAtItsEnd, "src/http/mod.rs, Strictness", [
        Request: b"G@T / HTTP/1.1",
        Response: b"HTTP/1.1 2x",
    ];
    /// A URI is ASCII (RFC 3986 §2: other octets are percent-encoded); httparse accepts UTF-8 in the request-target.
    NonAsciiTarget, "RFC 9112 §3.2; RFC 3986 §2", [
        Request: b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
    ];
    /// origin-form = absolute-path [ "?" query ]: a fragment is never sent in a request-target; httparse accepts `#`.
    FragmentInTarget, "RFC 9112 §3.2.1", [
        Request: b"GET /a#f HTTP/1.1\r\nHost: a\r\n\r\n",
    ];
    /// authority-form only and always for CONNECT, asterisk-form only for OPTIONS, absolute-form read as scheme "://" authority without userinfo; httparse checks no form.
    TargetFormForMethod, "RFC 9112 §3.2.2-§3.2.4; RFC 9110 §4.2.4", [
        Request: b"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
    ];
    /// "A server MUST respond with a 400 (Bad Request) ... to any HTTP/1.1 request message that lacks a Host header field".
    MissingHost, "RFC 9112 §3.2", [
        Request: b"GET / HTTP/1.1\r\n\r\n",
    ];
    /// "... and to any request message that contains more than one Host header field line".
    DuplicateHost, "RFC 9112 §3.2", [
        Request: b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
    ];
    /// "... or a Host header field with an invalid field value" (Host = uri-host [ ":" port ]).
    InvalidHost, "RFC 9112 §3.2; RFC 9110 §7.2", [
        Request: b"GET / HTTP/1.1\r\nHost: u@h\r\n\r\n",
    ];
    /// Content-Length = 1*DIGIT, fitting in 64 bits; httparse leaves framing fields to its caller.
    InvalidContentLength, "RFC 9110 §8.6", [
        Request: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n",
        Response: b"HTTP/1.1 200 OK\r\nContent-Length: 0x1\r\n\r\n",
    ];
    /// Content-Length values that differ are an unrecoverable framing error.
    ConflictingContentLength, "RFC 9112 §6.3 rule 5", [
        Request: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        Response: b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
    ];
    /// Transfer-Encoding with Content-Length "ought to be handled as an error" (a server MAY reject): the classic smuggling shape.
    ConflictingFraming, "RFC 9112 §6.1, §6.3 rule 3", [
        Request: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        Response: b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    ];
    /// An HTTP/1.0 message with Transfer-Encoding MUST be treated "as if the framing is faulty".
    TransferEncodingInHttp10, "RFC 9112 §6.1", [
        Request: b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        Response: b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    ];
    /// Codings are tokens and chunked comes once; a request's final coding must be chunked (400) and the only one we implement (501).
    UnusableTransferEncoding, "RFC 9112 §6.1, §6.3 rule 4", [
        Request: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
        Response: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
    ];
    /// A Content-Length over Limits::max_body (1 MiB) is answered with 413 before any body arrives.
    BodyTooLarge, "RFC 9110 §15.5.14", [
        Request: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n",
    ];
    /// Only a server expecting a request-line SHOULD skip empty lines before it; httparse skips them before a status-line too.
    EmptyLineBeforeStatusLine, "RFC 9112 §2.2", [
        Response: b"\r\nHTTP/1.1 200 OK\r\n\r\n",
    ];
    /// status-line = HTTP-version SP status-code SP [ reason-phrase ]; httparse accepts a line that ends right after the code.
    NoSpaceAfterStatusCode, "RFC 9112 §4", [
        Response: b"HTTP/1.1 200\r\n\r\n",
    ];
    /// "All valid status codes are within the range of 100 to 599, inclusive"; httparse accepts any three digits.
    StatusCodeOutOfRange, "RFC 9110 §15", [
        Response: b"HTTP/1.1 600 X\r\n\r\n",
    ];

    // ---- HTTP heads vs httparse: both accept, a field differs ----

    /// reason-phrase may hold obs-text; httparse then reports an empty reason (its documented fallback), we keep the bytes.
    ReasonWithObsText, "RFC 9112 §4", [
        Response: b"HTTP/1.1 200 \xe9t\xe9\r\n\r\n",
    ];

    // ---- WebSocket frame headers vs tungstenite's FrameHeader::parse ----

    /// RSV1-3 "MUST be 0 unless an extension is negotiated": we fail at the header, tungstenite in WebSocket::read after the payload (1002 both).
    ReservedBitsLeftToCaller, "RFC 6455 §5.2", [
        FrameHeader: b"\xc1\x80\x00\x00\x00\x00",
    ];
    /// Control frames "MUST have a payload length of 125 bytes or less and MUST NOT be fragmented": our header decoder checks, tungstenite's WebSocket::read does (1002 both).
    ControlRulesLeftToCaller, "RFC 6455 §5.5", [
        FrameHeader: b"\x09\x80\x00\x00\x00\x00",
        FrameHeader: b"\x89\xfe\x00\x7e\x00\x00\x00\x00",
    ];
    /// An unknown opcode MUST fail the connection: we fail at byte 0, tungstenite once the whole header has arrived.
    ReservedOpcodeBeforeHeaderEnd, "RFC 6455 §5.2", [
        FrameHeader: b"\x83",
    ];

    // ---- WebSocket, both layers ----

    /// "the minimal number of bytes MUST be used to encode the length": we fail (1002; a control frame with 126 or 127 counts as too long), tungstenite accepts a longer encoding.
    NonMinimalLength, "RFC 6455 §5.2", [
        FrameHeader: b"\x82\x7e\x00\x05",
        Messages: b"\x82\xfe\x00\x01\x00\x00\x00\x00x",
    ];
    /// A 64-bit length's "most significant bit MUST be 0": we fail with 1002; tungstenite takes the length and its size limit answers 1009.
    LengthTopBit, "RFC 6455 §5.2", [
        FrameHeader: b"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00",
        Messages: b"\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    ];

    // ---- WebSocket messages vs tungstenite's WebSocket ----

    /// A frame that breaks a header rule and announces more than the 16 MiB frame limit: we report the rule (1002), tungstenite the size, checked first (1009); the RFC orders neither.
    SizeCheckedBeforeHeaderRules, "RFC 6455 §5.2, §10.4", [
        Messages: b"\xc2\xff\x00\x00\x00\x00\x10\x00\x00\x01\x00\x00\x00\x00",
        Messages: b"\x89\xff\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    ];
    /// A Close with a bad code and a non-UTF-8 reason breaks two rules and the RFC orders neither: we check the code (1002), tungstenite the reason (1007).
    CloseCodeCheckedBeforeReason, "RFC 6455 §7.4, §8.1", [
        Messages: b"\x88\x83\x00\x00\x00\x00\x03\xe7\xff",
    ];
    /// 1014 (Bad Gateway) is in the IANA close code registry, so we echo it; tungstenite treats it as unassigned and answers 1002.
    BadGatewayCloseCode, "RFC 6455 §7.4.2; IANA WebSocket Close Code Number Registry", [
        Messages: b"\x88\x82\x00\x00\x00\x00\x03\xf6",
    ];
    /// Timing only: we fail at the offending header field or first hopeless UTF-8 byte, tungstenite once it has read the whole frame (then with the same code).
    FailsBeforeFrameEnd, "RFC 6455 §5.1, §8.1", [
        Messages: b"\x81\x05ab",
        Messages: b"\x81\x85\x00\x00\x00\x00\xff",
    ];
}

/// The verdict of one differential comparison that passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Same verdict, same fields.
    Agree,
    /// A difference that the NON-STRICT list names.
    Disagree(Disagreement),
}

/// Runs one comparison. `Err` describes a difference that fits no listed entry, or a listed
/// one that shows in a layer the entry has no example for.
fn compare(layer: Layer, input: &[u8]) -> Result<Outcome, String> {
    let outcome = match layer {
        Layer::Request => heads::compare_request(input),
        Layer::Response => heads::compare_response(input, wiretap::http::Method::Get),
        Layer::FrameHeader => websocket::compare_frame_header(input),
        Layer::Messages => websocket::compare_messages(input),
    }?;
    check_layer(layer, outcome)
}

/// A disagreement counts only in the layers its entry gives an example for.
fn check_layer(layer: Layer, outcome: Outcome) -> Result<Outcome, String> {
    let Outcome::Disagree(id) = outcome else {
        return Ok(outcome);
    };
    let entry = entry(id);
    if entry.examples.iter().any(|&(l, _)| l == layer) {
        Ok(outcome)
    } else {
        Err(format!(
            "{id:?} showed in {layer:?}, which its entry does not list"
        ))
    }
}

fn entry(id: Disagreement) -> &'static Entry {
    NON_STRICT
        .iter()
        .find(|e| e.id == id)
        .expect("the macro lists every variant")
}

/// Bytes as an escaped string, for failure messages.
fn show(bytes: &[u8]) -> String {
    format!("b\"{}\"", bytes.escape_ascii())
}

/// 512 cases per property unless `PROPTEST_CASES` says otherwise; no persistence file (see
/// the module doc).
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(512);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Valid requests: both accept, with identical fields.
    #[test]
    fn request_heads_agree_with_httparse(request in heads::valid_request()) {
        let input = request.render();
        let outcome = compare(Layer::Request, &input);
        prop_assert_eq!(outcome, Ok(Outcome::Agree), "{}", show(&input));
    }

    /// Mutated requests: never accepted where httparse rejects; every other difference listed.
    #[test]
    fn never_more_lenient_than_httparse(input in heads::broken_request()) {
        let outcome = compare(Layer::Request, &input);
        prop_assert!(outcome.is_ok(), "{}\n{}", outcome.unwrap_err(), show(&input));
    }

    /// Valid responses: both accept, with identical fields.
    #[test]
    fn response_heads_agree_with_httparse((response, method) in heads::valid_response()) {
        let input = response.render();
        let outcome = heads::compare_response(&input, method)
            .and_then(|o| check_layer(Layer::Response, o));
        prop_assert_eq!(outcome, Ok(Outcome::Agree), "{} answering {:?}", show(&input), method);
    }

    /// Mutated responses: never accepted where httparse rejects; every other difference listed.
    #[test]
    fn never_more_lenient_than_httparse_on_responses(
        (input, method) in heads::broken_response()
    ) {
        let outcome = heads::compare_response(&input, method)
            .and_then(|o| check_layer(Layer::Response, o));
        let shown = show(&input);
        prop_assert!(outcome.is_ok(), "{}\n{shown} answering {method:?}", outcome.unwrap_err());
    }

    /// Any 0-14 byte header (and prefixes of it, and a few payload bytes after it): the same
    /// verdict and fields, or a listed difference.
    #[test]
    fn frame_headers_agree_with_tungstenite(input in websocket::frame_header_bytes()) {
        let outcome = compare(Layer::FrameHeader, &input);
        prop_assert!(outcome.is_ok(), "{}\n{}", outcome.unwrap_err(), show(&input));
    }

    /// Valid client streams: the same messages, pings, pongs and close, in order.
    #[test]
    fn messages_agree_with_tungstenite(input in websocket::valid_stream()) {
        let outcome = compare(Layer::Messages, &input);
        prop_assert_eq!(outcome, Ok(Outcome::Agree), "{}", show(&input));
    }

    /// Broken client streams: the same events and the same close code, or a listed
    /// difference.
    #[test]
    fn broken_messages_disagree_only_as_listed(input in websocket::broken_stream()) {
        let outcome = compare(Layer::Messages, &input);
        prop_assert!(outcome.is_ok(), "{}\n{}", outcome.unwrap_err(), show(&input));
    }
}

/// Every entry of the NON-STRICT list still happens on its examples, and the list is
/// well formed: an entry that no longer applies must be removed, not kept as a comment.
#[test]
fn every_listed_disagreement_still_happens() {
    let mut stale = Vec::new();
    for entry in NON_STRICT {
        assert!(
            entry.rule.starts_with("RFC ") || entry.rule.starts_with("src/"),
            "{:?}: rule {:?}",
            entry.id,
            entry.rule
        );
        assert!(
            !entry.why.trim().is_empty(),
            "{:?}: no justification",
            entry.id
        );
        for &(layer, example) in entry.examples {
            let got = compare(layer, example);
            if got != Ok(Outcome::Disagree(entry.id)) {
                stale.push(format!(
                    "{:?} in {layer:?}: {} gives {got:?}",
                    entry.id,
                    show(example)
                ));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale NON-STRICT entries:\n{}",
        stale.join("\n")
    );
}

/// Inputs on which both sides are plainly right (valid, or broken alike): the harness
/// reports agreement, so a listed disagreement is never an artefact of the harness.
#[test]
fn agrees_on_plain_inputs() {
    let cases: &[(Layer, &[u8])] = &[
        (Layer::Request, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        (
            Layer::Request,
            b"\r\nPOST /x?y HTTP/1.0\r\nContent-Length: 5, 5\r\n\r\nhello",
        ),
        (
            Layer::Request,
            b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
        ),
        (
            Layer::Request,
            b"OPTIONS * HTTP/1.1\r\nHost: a\r\nX:  \xff \t\r\n\r\n",
        ),
        (Layer::Request, b"GET / HTTP/1.1\r\nHo"),
        (Layer::Request, b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
        (
            Layer::Request,
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
        ),
        (
            Layer::Response,
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        ),
        (Layer::Response, b"HTTP/1.0 200 \r\n\r\n"),
        (
            Layer::FrameHeader,
            b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
        ),
        (
            Layer::FrameHeader,
            b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00",
        ),
        (Layer::FrameHeader, b"\x82\x7e\x01"),
        (
            Layer::Messages,
            b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
        ),
        (
            Layer::Messages,
            b"\x89\x80\x00\x00\x00\x00\x88\x82\x00\x00\x00\x00\x03\xe8",
        ),
        (
            Layer::Messages,
            b"\x81\x80\x00\x00\x00\x00\x88\x82\x00\x00\x00\x00\x03\xed",
        ),
        (Layer::Messages, b"\x81\x00"),
    ];
    for &(layer, input) in cases {
        assert_eq!(
            compare(layer, input),
            Ok(Outcome::Agree),
            "{layer:?} {}",
            show(input)
        );
    }
}

/// Every byte value, substituted for and inserted before every byte of a small request and
/// response: each single-byte corruption is judged alike or as listed.
#[test]
fn every_single_byte_change_is_judged_alike() {
    let bases: &[(Layer, &[u8])] = &[
        (
            Layer::Request,
            b"GET /a?b HTTP/1.1\r\nHost: h:1\r\nContent-Length: 1\r\nX: v\r\n\r\n",
        ),
        (
            Layer::Response,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: v\r\n\r\n",
        ),
    ];
    let mut failures = Vec::new();
    for &(layer, base) in bases {
        for at in 0..=base.len() {
            for byte in 0..=255u8 {
                let inserted = [&base[..at], &[byte], &base[at..]].concat();
                let mut changed = base.to_vec();
                if let Some(b) = changed.get_mut(at) {
                    *b = byte;
                }
                for input in [inserted, changed] {
                    if let Err(e) = compare(layer, &input) {
                        failures.push(format!("{layer:?} {}: {e}", show(&input)));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// All 65536 values of frame bytes 0 and 1, followed by bytes that make a minimal 16-bit
/// (126) or 64-bit length, and a key: the same verdict and fields, or a listed difference.
#[test]
fn every_first_two_bytes_of_a_frame_header_are_judged_alike() {
    let mut failures = Vec::new();
    for b0 in 0..=255u8 {
        for b1 in 0..=255u8 {
            let input = [b0, b1, 0x00, 0x7E, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
            if let Err(e) = compare(Layer::FrameHeader, &input) {
                failures.push(format!("{}: {e}", show(&input)));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
