//! Response parser tests, all through `testing::check`.

use super::super::testing::{check, Outcome, Responding};
use super::super::*;

const NEXT_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

fn parse(method: Method, input: &[u8]) -> Outcome<ResponseHead> {
    check(input, NEXT_RESPONSE, || {
        Responding(ResponseParser::new(), method)
    })
}

fn failed(kind: ErrorKind, offset: usize) -> Outcome<ResponseHead> {
    Outcome::Failed(Error::new(kind, offset))
}

macro_rules! rejects {
    ($($name:ident: $input:expr => $kind:ident @ $offset:expr;)*) => {$(
        #[test]
        fn $name() {
            assert_eq!(parse(Method::Get, $input), failed(ErrorKind::$kind, $offset));
        }
    )*};
}

rejects! {
    rejects_status_line_without_reason_separator: b"HTTP/1.1 200\r\n" => InvalidStatusLine @ 12;
    rejects_status_code_with_four_digits: b"HTTP/1.1 2000 OK\r\n" => InvalidStatusLine @ 12;
    rejects_two_spaces_before_status_code: b"HTTP/1.1  200 OK\r\n" => InvalidStatusCode @ 9;
    rejects_status_code_with_letters: b"HTTP/1.1 20x OK\r\n" => InvalidStatusCode @ 11;
    rejects_status_code_below_100: b"HTTP/1.1 099 X\r\n" => InvalidStatusCode @ 9;
    rejects_status_code_above_599: b"HTTP/1.1 600 X\r\n" => InvalidStatusCode @ 9;
    rejects_missing_space_after_version: b"HTTP/1.1_200 OK\r\n" => InvalidStatusLine @ 8;
    rejects_short_version_in_status_line: b"HTTP/2 200 OK\r\n" => InvalidVersion @ 6;
    rejects_unsupported_version_in_status_line: b"HTTP/2.0 200 OK\r\n" => UnsupportedVersion @ 0;
    rejects_control_byte_in_reason: b"HTTP/1.1 200 O\x00K\r\n" => InvalidStatusLine @ 14;
    rejects_bare_lf_after_status_line: b"HTTP/1.1 200 OK\n" => BareLf @ 15;
    rejects_whitespace_before_colon_in_response: b"HTTP/1.1 200 OK\r\nX : y\r\n" => WhitespaceBeforeColon @ 18;
    rejects_transfer_encoding_with_content_length_in_response:
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
        => ConflictingFraming @ 36;
    rejects_transfer_encoding_in_http10_response:
        b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" => TransferEncodingInHttp10 @ 17;
    rejects_bad_content_length_in_response:
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n" => InvalidContentLength @ 33;
}

/// One test per framing rule of RFC 9112 §6.3: method, response, the body kind it implies.
macro_rules! frames {
    ($($name:ident: $method:ident, $input:expr => $body:expr;)*) => {$(
        #[test]
        fn $name() {
            let input: &[u8] = $input;
            let head = parse(Method::$method, input).value();
            assert_eq!(head.body(), $body);
            assert_eq!(head.head_len(), input.len());
        }
    )*};
}

frames! {
    frames_by_content_length: Get, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" => BodyKind::Length(5);
    frames_by_chunked: Get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" => BodyKind::Chunked;
    passes_other_codings_through_when_chunked_is_last:
        Get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" => BodyKind::Chunked;
    reads_until_close_when_chunked_is_not_last:
        Get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n" => BodyKind::UntilClose;
    reads_until_close_without_framing: Get, b"HTTP/1.0 200 OK\r\n\r\n" => BodyKind::UntilClose;
    has_no_body_for_head: Head, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" => BodyKind::None;
    has_no_body_for_204: Get, b"HTTP/1.1 204 No Content\r\n\r\n" => BodyKind::None;
    has_no_body_for_304_despite_content_length:
        Get, b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n" => BodyKind::None;
    has_no_body_for_interim_responses: Get, b"HTTP/1.1 100 Continue\r\n\r\n" => BodyKind::None;
    switches_protocols_after_101:
        Get, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        => BodyKind::Upgrade;
    tunnels_after_a_2xx_to_connect: Connect, b"HTTP/1.1 200 Connection established\r\n\r\n" => BodyKind::Tunnel;
    frames_a_refused_connect_as_usual:
        Connect, b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
        => BodyKind::Length(0);
    allows_an_empty_reason: Get, b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n" => BodyKind::Length(0);
}

#[test]
fn exposes_status_reason_and_spans() {
    let input = b"HTTP/1.1 404 Not\tFound \xe2\x9c\x97\r\nContent-Length: 0\r\n\r\n";
    let head = parse(Method::Get, input).value();
    assert_eq!(head.status(), 404);
    assert_eq!(head.version(), Version::Http11);
    assert_eq!(head.reason(), b"Not\tFound \xe2\x9c\x97");
    assert_eq!(&input[head.status_span()], b"404");
    assert_eq!(
        &input[head.status_line_span()],
        b"HTTP/1.1 404 Not\tFound \xe2\x9c\x97"
    );
    assert_eq!(&input[head.field_spans()[0].value()], b"0");
    assert_eq!(head.field("content-length"), Some(&b"0"[..]));
}

#[test]
fn interim_responses_are_followed_by_the_final_one() {
    let wire: &[u8] =
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let mut parser = ResponseParser::new();
    let mut rest = wire;
    let mut statuses = Vec::new();
    loop {
        let Ok(Status::Complete {
            value: head,
            consumed,
        }) = parser.parse(rest, Method::Post)
        else {
            panic!("a complete head");
        };
        rest = &rest[consumed..];
        statuses.push((head.status(), head.is_interim()));
        if !head.is_interim() {
            assert_eq!(head.body(), BodyKind::Length(2));
            break;
        }
    }
    assert_eq!(statuses, [(100, true), (103, true), (200, false)]);
    assert_eq!(rest, b"ok");
}

#[test]
fn keep_alive_is_off_after_an_until_close_body() {
    let head = parse(Method::Get, b"HTTP/1.1 200 OK\r\n\r\n").value();
    assert!(!head.keep_alive());
    let head = parse(Method::Get, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").value();
    assert!(head.keep_alive());
    let head = parse(
        Method::Get,
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    )
    .value();
    assert!(!head.keep_alive());
}

#[test]
fn a_status_line_is_bounded_by_the_head_limit() {
    let limits = Limits {
        max_head_bytes: 20,
        ..Limits::default()
    };
    let got = check(b"HTTP/1.1 200 OKOKOKOKOK", NEXT_RESPONSE, || {
        Responding(ResponseParser::with_limits(limits.clone()), Method::Get)
    });
    assert_eq!(got, failed(ErrorKind::HeadTooLarge, 20));
}

#[test]
fn parses_what_the_writer_writes() {
    for status in [100, 101, 200, 204, 304, 404, 431, 599] {
        let mut out = Vec::new();
        encode_response_head(&mut out, status, &[("Content-Length", b"0")]).unwrap();
        let head = parse(Method::Get, &out).value();
        assert_eq!(head.status(), status);
        assert_eq!(head.reason(), reason_phrase(status).as_bytes());
    }
}
