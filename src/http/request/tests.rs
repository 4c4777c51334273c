//! Request parser tests. Every case goes through `testing::check`: fed whole, byte at a time,
//! at every split point, at random points, and followed by another request.

use super::super::testing::{check, drive, Outcome, NEXT_REQUEST};
use super::super::*;

fn parse(input: &[u8]) -> Outcome<RequestHead> {
    check(input, NEXT_REQUEST, RequestParser::new)
}

fn parse_with(limits: &Limits, input: &[u8]) -> Outcome<RequestHead> {
    check(input, NEXT_REQUEST, || {
        RequestParser::with_limits(limits.clone())
    })
}

fn failed(kind: ErrorKind, offset: usize) -> Outcome<RequestHead> {
    Outcome::Failed(Error::new(kind, offset))
}

/// One test per rule: the smallest input that breaks it, the kind, the offset of the breach
/// and the status a server answers with.
macro_rules! rejects {
    ($($name:ident: $input:expr => $kind:ident @ $offset:expr, $status:expr;)*) => {$(
        #[test]
        fn $name() {
            let input: &[u8] = $input;
            assert_eq!(parse(input), failed(ErrorKind::$kind, $offset));
            assert_eq!(ErrorKind::$kind.status(), $status);
        }
    )*};
}

rejects! {
    rejects_bare_lf_after_request_line: b"GET / HTTP/1.1\n" => BareLf @ 14, 400;
    rejects_bare_lf_in_field_line: b"GET / HTTP/1.1\r\nHost: a\n" => BareLf @ 23, 400;
    rejects_bare_lf_ending_the_head: b"GET / HTTP/1.1\r\nHost: a\r\n\n" => BareLf @ 25, 400;
    rejects_bare_lf_before_request_line: b"\nGET / HTTP/1.1\r\n" => BareLf @ 0, 400;
    rejects_bare_cr_in_request_line: b"GET / HTTP/1.1\rX" => BareCr @ 14, 400;
    rejects_bare_cr_in_field_value: b"GET / HTTP/1.1\r\nX: a\rb" => BareCr @ 20, 400;
    rejects_bare_cr_ending_the_head: b"GET / HTTP/1.1\r\nHost: a\r\n\rX" => BareCr @ 25, 400;
    rejects_bare_cr_before_request_line: b"\rGET" => BareCr @ 0, 400;
    rejects_method_that_is_not_a_token: b"G@T / HTTP/1.1\r\n" => InvalidMethod @ 1, 400;
    rejects_empty_method: b" / HTTP/1.1\r\n" => InvalidMethod @ 0, 400;
    rejects_tab_after_method: b"GET\t/ HTTP/1.1\r\n" => InvalidMethod @ 3, 400;
    rejects_two_spaces_after_method: b"GET  / HTTP/1.1\r\n" => InvalidRequestLine @ 4, 400;
    rejects_two_spaces_before_version: b"GET /  HTTP/1.1\r\n" => InvalidRequestLine @ 6, 400;
    rejects_missing_target: b"GET\r\n" => InvalidRequestLine @ 3, 400;
    rejects_missing_version: b"GET /\r\n" => InvalidRequestLine @ 5, 400;
    rejects_space_after_version: b"GET / HTTP/1.1 \r\n" => InvalidRequestLine @ 14, 400;
    rejects_control_byte_in_target: b"GET /a\x01b HTTP/1.1\r\n" => InvalidTarget @ 6, 400;
    rejects_fragment_in_target: b"GET /a#f HTTP/1.1\r\n" => InvalidTarget @ 6, 400;
    rejects_obs_text_in_target: b"GET /\xff HTTP/1.1\r\n" => InvalidTarget @ 5, 400;
    rejects_lowercase_http_name: b"GET / http/1.1\r\n" => InvalidVersion @ 6, 400;
    rejects_version_that_is_not_digits: b"GET / HTTP/1.x\r\n" => InvalidVersion @ 13, 400;
    rejects_short_version: b"GET / HTTP/1\r\n" => InvalidVersion @ 12, 400;
    answers_505_to_http_2: b"GET / HTTP/2.0\r\n" => UnsupportedVersion @ 6, 505;
    answers_505_to_http_1_2: b"GET / HTTP/1.2\r\n" => UnsupportedVersion @ 6, 505;
    rejects_asterisk_form_for_get: b"GET * HTTP/1.1\r\n" => InvalidTargetForm @ 4, 400;
    rejects_authority_form_for_get: b"GET example.com:80 HTTP/1.1\r\n" => InvalidTargetForm @ 4, 400;
    rejects_relative_target: b"GET a/b HTTP/1.1\r\n" => InvalidTargetForm @ 4, 400;
    rejects_absolute_form_without_authority: b"GET http:///a HTTP/1.1\r\n" => InvalidTargetForm @ 4, 400;
    rejects_userinfo_in_absolute_form: b"GET http://u@h/ HTTP/1.1\r\n" => InvalidTargetForm @ 4, 400;
    rejects_origin_form_for_connect: b"CONNECT / HTTP/1.1\r\n" => InvalidTargetForm @ 8, 400;
    rejects_connect_without_port: b"CONNECT example.com HTTP/1.1\r\n" => InvalidTargetForm @ 8, 400;
    rejects_whitespace_before_colon: b"GET / HTTP/1.1\r\nHost : a\r\n" => WhitespaceBeforeColon @ 20, 400;
    rejects_tab_before_colon: b"GET / HTTP/1.1\r\nHost\t: a\r\n" => WhitespaceBeforeColon @ 20, 400;
    rejects_obs_fold: b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n" => ObsoleteLineFolding @ 31, 400;
    rejects_whitespace_after_start_line: b"GET / HTTP/1.1\r\n Host: a\r\n" => WhitespaceAfterStartLine @ 16, 400;
    rejects_field_line_without_colon: b"GET / HTTP/1.1\r\nHost\r\n" => MissingColon @ 20, 400;
    rejects_empty_field_name: b"GET / HTTP/1.1\r\n: a\r\n" => InvalidFieldName @ 16, 400;
    rejects_field_name_that_is_not_a_token: b"GET / HTTP/1.1\r\nX@: a\r\n" => InvalidFieldName @ 17, 400;
    rejects_space_inside_field_name: b"GET / HTTP/1.1\r\nX Y: a\r\n" => InvalidFieldName @ 17, 400;
    rejects_control_byte_in_field_name: b"GET / HTTP/1.1\r\nX\x01: a\r\n" => InvalidFieldName @ 17, 400;
    rejects_nul_in_field_value: b"GET / HTTP/1.1\r\nX: a\x00b\r\n" => InvalidFieldValue @ 20, 400;
    rejects_del_in_field_value: b"GET / HTTP/1.1\r\nX: \x7f\r\n" => InvalidFieldValue @ 19, 400;
    rejects_escape_in_field_value: b"GET / HTTP/1.1\r\nX: \x1b[0m\r\n" => InvalidFieldValue @ 19, 400;
    rejects_missing_host: b"GET / HTTP/1.1\r\n\r\n" => MissingHost @ 16, 400;
    rejects_duplicate_host: b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n" => DuplicateHost @ 25, 400;
    rejects_duplicate_host_in_http10: b"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n" => DuplicateHost @ 25, 400;
    rejects_host_with_whitespace: b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n" => InvalidHost @ 23, 400;
    rejects_host_with_userinfo: b"GET / HTTP/1.1\r\nHost: u@h\r\n\r\n" => InvalidHost @ 23, 400;
    rejects_host_with_bad_port: b"GET / HTTP/1.1\r\nHost: h:8x\r\n\r\n" => InvalidHost @ 25, 400;
    rejects_host_with_bad_percent: b"GET / HTTP/1.1\r\nHost: %zz\r\n\r\n" => InvalidHost @ 22, 400;
    rejects_host_with_path: b"GET / HTTP/1.1\r\nHost: h/p\r\n\r\n" => InvalidHost @ 23, 400;
    rejects_content_length_with_sign:
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n" => InvalidContentLength @ 42, 400;
    rejects_content_length_with_inner_space:
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n" => InvalidContentLength @ 43, 400;
    rejects_hex_content_length:
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x1\r\n\r\n" => InvalidContentLength @ 43, 400;
    rejects_empty_content_length:
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n" => InvalidContentLength @ 42, 400;
    rejects_content_length_with_empty_element:
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,\r\n\r\n" => InvalidContentLength @ 44, 400;
    rejects_content_length_overflow:
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n"
        => ContentLengthOverflow @ 61, 400;
    rejects_different_content_lengths_in_one_field:
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n" => ConflictingContentLength @ 45, 400;
    rejects_different_content_length_fields:
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
        => ConflictingContentLength @ 61, 400;
    rejects_transfer_encoding_with_content_length:
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"
        => ConflictingFraming @ 54, 400;
    rejects_transfer_encoding_in_http10:
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" => TransferEncodingInHttp10 @ 17, 400;
    rejects_final_coding_other_than_chunked:
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n" => ChunkedNotFinal @ 45, 400;
    rejects_coding_after_chunked:
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n" => ChunkedNotFinal @ 54, 400;
    rejects_empty_transfer_encoding:
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n" => ChunkedNotFinal @ 45, 400;
    rejects_chunked_twice:
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n" => ChunkedTwice @ 54, 400;
    rejects_chunked_twice_across_fields:
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
        => ChunkedTwice @ 73, 400;
    rejects_chunked_with_parameters:
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;a=b\r\n\r\n"
        => InvalidTransferEncoding @ 45, 400;
    rejects_transfer_coding_that_is_not_a_token:
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ch@nked\r\n\r\n"
        => InvalidTransferEncoding @ 45, 400;
    answers_501_to_an_unknown_coding:
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n"
        => UnsupportedTransferCoding @ 45, 501;
    answers_501_to_gzip_before_chunked:
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        => UnsupportedTransferCoding @ 45, 501;
    answers_413_to_content_length_over_max_body:
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n" => BodyTooLarge @ 26, 413;
}

/// One test per valid request: method, target, version, fields in wire order, body framing.
macro_rules! accepts {
    ($($name:ident: $input:expr => ($method:expr, $target:expr, $version:ident,
        [$(($fname:expr, $fvalue:expr)),* $(,)?], $body:expr);)*) => {$(
        #[test]
        fn $name() {
            let input: &[u8] = $input;
            let Outcome::Complete { value: head, consumed } = parse(input) else {
                panic!("{:?}", parse(input));
            };
            assert_eq!(consumed, input.len());
            assert_eq!(head.head_len(), input.len());
            assert_eq!(head.method(), $method);
            assert_eq!(head.target().as_str(), $target);
            assert_eq!(head.version(), Version::$version);
            let want: Vec<(&str, &[u8])> = vec![$(($fname, &$fvalue[..])),*];
            assert_eq!(head.fields().collect::<Vec<_>>(), want);
            assert_eq!(head.body(), $body);
        }
    )*};
}

accepts! {
    accepts_a_simple_get: b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => ("GET", "/", Http11, [("Host", b"a")], BodyKind::None);
    accepts_http10_without_host: b"GET /x HTTP/1.0\r\n\r\n"
        => ("GET", "/x", Http10, [], BodyKind::None);
    skips_empty_lines_before_the_request_line: b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => ("GET", "/", Http11, [("Host", b"a")], BodyKind::None);
    strips_ows_around_values: b"GET / HTTP/1.1\r\nHost: a\r\nX: \t a b \t\r\n\r\n"
        => ("GET", "/", Http11, [("Host", b"a"), ("X", b"a b")], BodyKind::None);
    accepts_empty_values: b"GET / HTTP/1.1\r\nHost: a\r\nX:\r\nY: \r\n\r\n"
        => ("GET", "/", Http11, [("Host", b"a"), ("X", b""), ("Y", b"")], BodyKind::None);
    accepts_obs_text_and_tabs_in_values: b"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\tok\r\n\r\n"
        => ("GET", "/", Http11, [("Host", b"a"), ("X", b"caf\xc3\xa9\tok")], BodyKind::None);
    keeps_the_case_of_names: b"GET / HTTP/1.1\r\nhOsT: a\r\n\r\n"
        => ("GET", "/", Http11, [("hOsT", b"a")], BodyKind::None);
    accepts_an_extension_method: b"PURGE /cache HTTP/1.1\r\nHost: a\r\n\r\n"
        => ("PURGE", "/cache", Http11, [("Host", b"a")], BodyKind::None);
    accepts_absolute_form: b"GET http://example.com:8080/a?b HTTP/1.1\r\nHost: x\r\n\r\n"
        => ("GET", "http://example.com:8080/a?b", Http11, [("Host", b"x")], BodyKind::None);
    accepts_asterisk_form_for_options: b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"
        => ("OPTIONS", "*", Http11, [("Host", b"a")], BodyKind::None);
    accepts_authority_form_for_connect: b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
        => ("CONNECT", "example.com:443", Http11, [("Host", b"example.com:443")], BodyKind::None);
    accepts_ipv6_literals: b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n"
        => ("CONNECT", "[::1]:443", Http11, [("Host", b"[::1]:443")], BodyKind::None);
    accepts_an_empty_host: b"GET / HTTP/1.1\r\nHost:\r\n\r\n"
        => ("GET", "/", Http11, [("Host", b"")], BodyKind::None);
    accepts_a_host_with_percent_encoding: b"GET / HTTP/1.1\r\nHost: a%2Db:80\r\n\r\n"
        => ("GET", "/", Http11, [("Host", b"a%2Db:80")], BodyKind::None);
    frames_by_content_length: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
        => ("POST", "/", Http11, [("Host", b"a"), ("Content-Length", b"5")], BodyKind::Length(5));
    folds_identical_content_lengths: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\ncontent-length: 05\r\n\r\n"
        => ("POST", "/", Http11, [("Host", b"a"), ("Content-Length", b"5, 5"), ("content-length", b"05")],
            BodyKind::Length(5));
    accepts_content_length_zero: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
        => ("POST", "/", Http11, [("Host", b"a"), ("Content-Length", b"0")], BodyKind::Length(0));
    accepts_content_length_at_max_body: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048576\r\n\r\n"
        => ("POST", "/", Http11, [("Host", b"a"), ("Content-Length", b"1048576")], BodyKind::Length(1 << 20));
    frames_by_chunked_in_any_case: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,Chunked ,\r\n\r\n"
        => ("POST", "/", Http11, [("Host", b"a"), ("Transfer-Encoding", b",Chunked ,")], BodyKind::Chunked);
}

#[test]
fn exposes_the_parts_of_an_absolute_target() {
    let head = parse(b"GET http://example.com:8080/a/b?c=d HTTP/1.1\r\nHost: x\r\n\r\n").value();
    let target = head.target();
    assert_eq!(target.form(), TargetForm::Absolute);
    assert_eq!(target.authority(), Some("example.com:8080"));
    assert_eq!(target.path(), "/a/b");
    assert_eq!(target.query(), Some("c=d"));
}

#[test]
fn exposes_the_parts_of_other_targets() {
    let head = parse(b"GET /a?b?c HTTP/1.1\r\nHost: x\r\n\r\n").value();
    assert_eq!(head.target().form(), TargetForm::Origin);
    assert_eq!(head.target().path(), "/a");
    assert_eq!(head.target().query(), Some("b?c"));
    assert_eq!(head.target().authority(), None);
    let head = parse(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").value();
    assert_eq!(head.target().form(), TargetForm::Asterisk);
    let head = parse(b"CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n").value();
    assert_eq!(head.target().form(), TargetForm::Authority);
    assert_eq!(head.target().authority(), Some("h:1"));
    assert_eq!(head.target().path(), "");
    assert_eq!(head.method_kind(), Method::Connect);
}

#[test]
fn spans_point_at_the_bytes_they_name() {
    let input = b"\r\nGET /p HTTP/1.1\r\nHost: a\r\nX-Long:  v  w \r\n\r\n";
    let head = parse(input).value();
    let at = |r: std::ops::Range<usize>| &input[r];
    assert_eq!(at(head.request_line_span()), b"GET /p HTTP/1.1");
    assert_eq!(at(head.method_span()), b"GET");
    assert_eq!(at(head.target_span()), b"/p");
    assert_eq!(at(head.version_span()), b"HTTP/1.1");
    let spans = head.field_spans();
    assert_eq!(spans.len(), 2);
    assert_eq!(at(spans[1].line()), b"X-Long:  v  w ");
    assert_eq!(at(spans[1].name()), b"X-Long");
    assert_eq!(at(spans[1].value()), b"v  w");
    assert_eq!(head.as_bytes(), input);
}

#[test]
fn finds_fields_without_regard_to_case() {
    let head = parse(b"GET / HTTP/1.1\r\nHost: a\r\nAccept: x\r\naccept: y\r\n\r\n").value();
    assert_eq!(head.field("ACCEPT"), Some(&b"x"[..]));
    assert_eq!(
        head.fields_named("accept").collect::<Vec<_>>(),
        [b"x", b"y"]
    );
    assert_eq!(head.field("missing"), None);
    assert_eq!(head.fields().len(), 3);
}

#[test]
fn keep_alive_follows_version_and_connection() {
    let cases: [(&[u8], bool); 6] = [
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n",
            false,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: x, close\r\n\r\n",
            false,
        ),
        (b"GET / HTTP/1.0\r\n\r\n", false),
        (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
        (
            b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
            false,
        ),
    ];
    for (input, want) in cases {
        assert_eq!(parse(input).value().keep_alive(), want, "{input:?}");
    }
}

#[test]
fn upgrade_needs_the_token_in_connection_and_http11() {
    let ws = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\n";
    let head = parse(ws).value();
    assert!(head.is_upgrade());
    assert!(head.has_token("connection", "UPGRADE"));
    assert!(!head.has_token("connection", "upgrad"));
    let no_connection = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n";
    assert!(!parse(no_connection).value().is_upgrade());
    let http10 = b"GET /ws HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n";
    assert!(!parse(http10).value().is_upgrade());
}

#[test]
fn answers_414_as_soon_as_the_request_line_is_too_long() {
    let limit = Limits::default().max_request_line;
    // Exactly the limit without a line end: still waiting.
    let mut line = b"GET /".to_vec();
    line.resize(limit, b'a');
    assert_eq!(parse(&line), Outcome::Partial);
    // One byte more, and no line end in sight: refused without waiting for the rest.
    line.push(b'a');
    assert_eq!(parse(&line), failed(ErrorKind::RequestLineTooLong, limit));
    assert_eq!(ErrorKind::RequestLineTooLong.status(), 414);
}

#[test]
fn accepts_a_request_line_of_exactly_the_limit() {
    let limits = Limits {
        max_request_line: 16,
        ..Limits::default()
    };
    // "GET /abcdefg HTTP/1.1" is 21 bytes; "GET /ab HTTP/1.1" is 16.
    let ok = b"GET /ab HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(parse_with(&limits, ok).value().target().as_str(), "/ab");
    let long = b"GET /abc HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(
        parse_with(&limits, long),
        failed(ErrorKind::RequestLineTooLong, 16)
    );
}

#[test]
fn answers_431_when_the_head_passes_max_head_bytes() {
    let limits = Limits {
        max_head_bytes: 32,
        ..Limits::default()
    };
    // 27 bytes of head, then a field that never ends: refused at byte 32.
    let input = b"GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789";
    assert_eq!(
        parse_with(&limits, input),
        failed(ErrorKind::HeadTooLarge, 32)
    );
    // A head of exactly 32 bytes is fine.
    let exact = b"GET / HTTP/1.1\r\nHost: a\r\nX:1\r\n\r\n";
    assert_eq!(exact.len(), 32);
    assert!(matches!(
        parse_with(&limits, exact),
        Outcome::Complete { consumed: 32, .. }
    ));
    // One more byte and the final LF falls past the limit.
    let over = b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n";
    assert_eq!(
        parse_with(&limits, over),
        failed(ErrorKind::HeadTooLarge, 32)
    );
}

#[test]
fn answers_431_as_soon_as_a_default_head_cannot_end_within_16_kib() {
    let mut input = b"GET / HTTP/1.1\r\nHost: a\r\nCookie: ".to_vec();
    input.resize(16 * 1024 - 1, b'c');
    assert_eq!(parse(&input), Outcome::Partial, "a CRLF could still end it");
    input.push(b'c');
    assert_eq!(parse(&input), failed(ErrorKind::HeadTooLarge, 16 * 1024));
    assert_eq!(ErrorKind::HeadTooLarge.status(), 431);
}

#[test]
fn counts_empty_lines_before_the_request_line_into_the_head() {
    let limits = Limits {
        max_head_bytes: 8,
        ..Limits::default()
    };
    assert_eq!(
        parse_with(&limits, b"\r\n\r\n\r\n\r\n"),
        failed(ErrorKind::HeadTooLarge, 8)
    );
}

#[test]
fn answers_431_to_one_field_too_many() {
    let limits = Limits {
        max_fields: 2,
        ..Limits::default()
    };
    let ok = b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n";
    assert_eq!(parse_with(&limits, ok).value().fields().len(), 2);
    let over = b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY";
    assert_eq!(
        parse_with(&limits, over),
        failed(ErrorKind::TooManyFields, 31)
    );
    assert_eq!(ErrorKind::TooManyFields.status(), 431);
}

#[test]
fn answers_431_to_101_fields_by_default() {
    let mut input = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..100 {
        input.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
    }
    let at = input.len();
    input.extend_from_slice(b"Host: a\r\n\r\n");
    assert_eq!(parse(&input), failed(ErrorKind::TooManyFields, at));
}

#[test]
fn parses_pipelined_requests_one_after_another() {
    let wire: &[u8] = b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n\
        POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
        POST /three HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    let mut parser = RequestParser::new();
    let mut rest = wire;
    let mut seen = Vec::new();
    while !rest.is_empty() {
        let Ok(Status::Complete {
            value: head,
            consumed,
        }) = parser.parse(rest)
        else {
            panic!("a complete head at {}", wire.len() - rest.len());
        };
        rest = &rest[consumed..];
        let mut decoder = BodyDecoder::new(head.body());
        let mut body = Vec::new();
        loop {
            let progress = decoder.decode(rest).unwrap();
            body.extend_from_slice(&rest[progress.data.clone()]);
            rest = &rest[progress.consumed..];
            if progress.done {
                break;
            }
        }
        seen.push((head.target().path().to_owned(), body));
    }
    assert_eq!(
        seen,
        [
            ("/one".to_owned(), b"".to_vec()),
            ("/two".to_owned(), b"hello".to_vec()),
            ("/three".to_owned(), b"abc".to_vec()),
        ]
    );
}

#[test]
fn resumes_where_it_stopped() {
    // After Partial the scan stands at the end of what it was given (or on a CR waiting for
    // its LF), so feeding byte by byte reads each byte once.
    let input = b"GET /a HTTP/1.1\r\nHost: a\r\nX-Long: abcdefghijklmnop\r\n\r\n";
    let mut parser = RequestParser::new();
    for end in 1..input.len() {
        assert_eq!(parser.parse(&input[..end]), Ok(Status::Partial));
        let pos = parser.scanner.pos();
        let on_cr = input[end - 1] == b'\r';
        assert!(
            pos == end || (on_cr && pos == end - 1),
            "at {end}: pos {pos}"
        );
    }
    assert!(matches!(parser.parse(input), Ok(Status::Complete { .. })));
}

#[test]
fn starts_over_after_complete_and_after_error() {
    let mut parser = RequestParser::new();
    assert_eq!(
        parser.parse(b"GET / HTTP/1.1\r\nHost : a\r\n"),
        Err(Error::new(ErrorKind::WhitespaceBeforeColon, 20))
    );
    assert!(matches!(
        parser.parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        Ok(Status::Complete { consumed: 27, .. })
    ));
    assert!(matches!(
        parser.parse(b"GET /b HTTP/1.0\r\n\r\n"),
        Ok(Status::Complete { consumed: 19, .. })
    ));
}

#[test]
fn survives_a_buffer_that_shrinks() {
    // Not the contract, but hostile callers must not make it panic.
    let mut parser = RequestParser::new();
    assert_eq!(parser.parse(b"GET / HTTP/1.1\r\nHo"), Ok(Status::Partial));
    assert_eq!(parser.parse(b"GE"), Ok(Status::Partial));
    assert!(matches!(
        parser.parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        Ok(Status::Complete { .. })
    ));
}

#[test]
fn every_byte_as_a_method_or_target_byte_is_judged() {
    // Exhaustive over the byte domain: each byte in the method, then in the target.
    for b in 0..=255u8 {
        let mut method = b"G_T / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec();
        method[1] = b;
        let got = drive(RequestParser::new(), &[&method]);
        let token = super::TCHAR[usize::from(b)];
        assert_eq!(
            matches!(got, Outcome::Complete { .. }),
            token,
            "method byte {b:#04x}"
        );

        let mut target = b"GET /_ HTTP/1.1\r\nHost: a\r\n\r\n".to_vec();
        target[5] = b;
        let got = drive(RequestParser::new(), &[&target]);
        let visible = (0x21..=0x7E).contains(&b) && b != b'#';
        // SP makes two spaces before the version; CR and LF end the line early.
        assert_eq!(
            matches!(got, Outcome::Complete { .. }),
            visible,
            "target byte {b:#04x}"
        );
    }
}

#[test]
fn every_byte_in_a_field_value_is_judged() {
    for b in 0..=255u8 {
        let mut input = b"GET / HTTP/1.1\r\nHost: a\r\nX: a_a\r\n\r\n".to_vec();
        input[29] = b;
        let got = check(&input, NEXT_REQUEST, RequestParser::new);
        let allowed = b == b'\t' || b == b' ' || (b >= 0x21 && b != 0x7F);
        match got {
            Outcome::Complete { value, .. } => {
                assert!(allowed, "byte {b:#04x} accepted");
                assert_eq!(value.field("x"), Some(&[b'a', b, b'a'][..]));
            }
            Outcome::Failed(e) => {
                assert!(!allowed, "byte {b:#04x} refused: {e:?}");
                assert_eq!(e.offset, 29);
            }
            Outcome::Partial => panic!("byte {b:#04x}: partial"),
        }
    }
}

#[test]
fn parse_into_reuses_a_head_and_agrees_with_parse() {
    let inputs: [&[u8]; 4] = [
        b"GET /a HTTP/1.1\r\nHost: a\r\nX-Long: 0123456789abcdef0123456789\r\n\r\n",
        b"POST /b HTTP/1.1\r\nHost: b\r\nContent-Length: 2\r\n\r\n",
        b"GET /c HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
    ];
    let mut parser = RequestParser::new();
    let mut head = RequestHead::default();
    for input in inputs {
        let before = head.clone();
        let want = RequestParser::new().parse(input);
        match parser.parse_into(input, &mut head) {
            Ok(Status::Complete { consumed, .. }) => assert_eq!(
                want,
                Ok(Status::Complete {
                    value: head.clone(),
                    consumed
                })
            ),
            // Partial and Err leave the head as it was.
            Ok(Status::Partial) => {
                assert_eq!(want, Ok(Status::Partial));
                assert_eq!(head, before);
            }
            Err(e) => {
                assert_eq!(want, Err(e));
                assert_eq!(head, before);
            }
        }
    }
    assert_eq!(
        parser.parse_into(b"GET / HT", &mut head),
        Ok(Status::Partial)
    );
    assert_eq!(head.target().path(), "/");
}
