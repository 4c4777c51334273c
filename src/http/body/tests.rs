//! Body decoder tests, all through `testing::check`: pieces fed, consumed bytes drained, the
//! same payload (or error, offset included) every way, and the next message left alone.

use super::super::testing::{check, Decoding, Outcome, NEXT_REQUEST};
use super::super::*;

type Decoded = (Vec<u8>, Option<Trailers>);

/// Decodes `input` as a body of `kind`; the end of `input` is not the end of the stream.
fn decode(kind: BodyKind, input: &[u8]) -> Outcome<Decoded> {
    decode_with(&Limits::default(), kind, input)
}

fn decode_with(limits: &Limits, kind: BodyKind, input: &[u8]) -> Outcome<Decoded> {
    check(input, NEXT_REQUEST, || {
        Decoding::new(BodyDecoder::with_limits(kind, limits), false)
    })
}

/// Decodes `input` as a whole stream: its end is where the connection closed.
fn decode_to_eof(limits: &Limits, kind: BodyKind, input: &[u8]) -> Outcome<Decoded> {
    check(input, b"", || {
        Decoding::new(BodyDecoder::with_limits(kind, limits), true)
    })
}

fn payload(outcome: Outcome<Decoded>) -> (Vec<u8>, usize) {
    match outcome {
        Outcome::Complete {
            value: (data, _),
            consumed,
        } => (data, consumed),
        other => panic!("expected a body, got {other:?}"),
    }
}

fn failed(kind: ErrorKind, offset: usize) -> Outcome<Decoded> {
    Outcome::Failed(Error::new(kind, offset))
}

/// One test per chunked rule: the smallest body that breaks it, the kind and the offset.
macro_rules! rejects_chunked {
    ($($name:ident: $input:expr => $kind:ident @ $offset:expr;)*) => {$(
        #[test]
        fn $name() {
            assert_eq!(decode(BodyKind::Chunked, $input), failed(ErrorKind::$kind, $offset));
        }
    )*};
}

rejects_chunked! {
    rejects_chunk_size_with_plus: b"+5\r\nhello\r\n" => InvalidChunkSize @ 0;
    rejects_chunk_size_with_0x: b"0x5\r\nhello\r\n" => InvalidChunkSize @ 1;
    rejects_whitespace_before_chunk_size: b" 5\r\nhello\r\n" => InvalidChunkSize @ 0;
    rejects_empty_chunk_size: b"\r\n" => InvalidChunkSize @ 0;
    rejects_negative_chunk_size: b"-1\r\n" => InvalidChunkSize @ 0;
    rejects_chunk_size_overflow: b"10000000000000000\r\n" => ChunkSizeOverflow @ 16;
    rejects_bare_lf_after_chunk_size: b"5\nhello" => BareLf @ 1;
    rejects_bare_cr_after_chunk_size: b"5\rhello" => BareCr @ 1;
    rejects_bare_lf_after_extension: b"5;a\nhello" => BareLf @ 3;
    rejects_data_longer_than_its_size: b"3\r\nabcd\r\n" => MissingChunkCrlf @ 6;
    rejects_cr_without_lf_after_data: b"3\r\nabc\rX" => MissingChunkCrlf @ 7;
    rejects_bare_lf_after_data: b"3\r\nabc\n" => MissingChunkCrlf @ 6;
    rejects_extension_without_name: b"5;\r\nhello\r\n" => InvalidChunkExtension @ 2;
    rejects_extension_name_that_is_not_a_token: b"5;a@b\r\n" => InvalidChunkExtension @ 3;
    rejects_space_inside_extension_name: b"5;a b\r\n" => InvalidChunkExtension @ 4;
    rejects_extension_without_value_after_equals: b"5;a=\r\n" => InvalidChunkExtension @ 4;
    rejects_unterminated_quoted_extension: b"5;a=\"x\r\n" => InvalidChunkExtension @ 6;
    rejects_whitespace_before_crlf: b"5 \r\nhello\r\n" => InvalidChunkExtension @ 2;
    rejects_whitespace_after_extension_name: b"5;a \r\n" => InvalidChunkExtension @ 4;
    rejects_whitespace_in_trailer_field_name: b"0\r\nX : 1\r\n\r\n" => WhitespaceBeforeColon @ 4;
    rejects_obs_fold_in_trailers: b"0\r\nX: 1\r\n y\r\n\r\n" => ObsoleteLineFolding @ 9;
    rejects_whitespace_first_in_trailers: b"0\r\n X: 1\r\n\r\n" => ObsoleteLineFolding @ 3;
    rejects_bare_lf_ending_trailers: b"0\r\nX: 1\r\n\n" => BareLf @ 9;
    rejects_bare_cr_after_last_chunk: b"0\r\n\rX" => BareCr @ 3;
    rejects_nul_in_trailer_value: b"0\r\nX: \x00\r\n\r\n" => InvalidFieldValue @ 6;
    answers_413_to_a_chunk_size_past_max_body: b"ffffffffffffffff\r\n" => BodyTooLarge @ 0;
}

#[test]
fn decodes_a_content_length_body() {
    let (data, consumed) = payload(decode(BodyKind::Length(5), b"hello"));
    assert_eq!((data.as_slice(), consumed), (&b"hello"[..], 5));
}

#[test]
fn a_body_of_length_zero_is_done_at_once() {
    let mut decoder = BodyDecoder::new(BodyKind::Length(0));
    assert!(decoder.is_done());
    let progress = decoder.decode(b"GET").unwrap();
    assert_eq!(
        progress,
        BodyProgress {
            consumed: 0,
            data: 0..0,
            done: true
        }
    );
}

#[test]
fn bodiless_kinds_consume_nothing() {
    for kind in [BodyKind::None, BodyKind::Upgrade, BodyKind::Tunnel] {
        let mut decoder = BodyDecoder::new(kind);
        assert_eq!(decoder.decode(b"\x81\x05hello").unwrap().consumed, 0);
        assert!(decoder.is_done());
        assert_eq!(decoder.finish(), Ok(()));
    }
}

#[test]
fn decodes_chunks_in_every_hex_case() {
    let input = b"5\r\nhello\r\nA\r\n0123456789\r\nb\r\n, world and\r\n0\r\n\r\n";
    let (data, consumed) = payload(decode(BodyKind::Chunked, input));
    assert_eq!(data, b"hello0123456789, world and");
    assert_eq!(consumed, input.len());
}

#[test]
fn accepts_leading_zeros_in_chunk_sizes() {
    let input = b"0005\r\nhello\r\n000\r\n\r\n";
    assert_eq!(payload(decode(BodyKind::Chunked, input)).0, b"hello");
}

#[test]
fn accepts_well_formed_chunk_extensions() {
    let input = b"5;a=b;c=\"q\\\"x;y\" ; d\t=\te\r\nhello\r\n0;last\r\n\r\n";
    let (data, consumed) = payload(decode(BodyKind::Chunked, input));
    assert_eq!(data, b"hello");
    assert_eq!(consumed, input.len());
}

#[test]
fn keeps_trailers_without_trusting_them() {
    let input = b"3\r\nabc\r\n0\r\nX-Sum: 9\r\nContent-Length: 99\r\n\r\n";
    let Outcome::Complete {
        value: (data, trailers),
        consumed,
    } = decode(BodyKind::Chunked, input)
    else {
        panic!()
    };
    assert_eq!((data.as_slice(), consumed), (&b"abc"[..], input.len()));
    let trailers = trailers.expect("trailers");
    assert_eq!(trailers.offset(), 11);
    assert_eq!(
        trailers.fields().collect::<Vec<_>>(),
        [("X-Sum", &b"9"[..]), ("Content-Length", b"99")]
    );
    let span = trailers.field_spans()[0];
    assert_eq!(&trailers.as_bytes()[span.line()], b"X-Sum: 9");
}

#[test]
fn an_empty_trailer_section_is_no_trailers() {
    let Outcome::Complete {
        value: (_, trailers),
        ..
    } = decode(BodyKind::Chunked, b"0\r\n\r\n")
    else {
        panic!()
    };
    assert_eq!(trailers, None);
}

#[test]
fn answers_413_when_chunks_grow_past_max_body() {
    let limits = Limits {
        max_body: 5,
        ..Limits::default()
    };
    let ok = b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    assert_eq!(
        payload(decode_with(&limits, BodyKind::Chunked, ok)).0,
        b"abcde"
    );
    let over = b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
    assert_eq!(
        decode_with(&limits, BodyKind::Chunked, over),
        failed(ErrorKind::BodyTooLarge, 8)
    );
}

#[test]
fn answers_413_to_a_declared_length_past_max_body() {
    let limits = Limits {
        max_body: 4,
        ..Limits::default()
    };
    assert_eq!(
        decode_with(&limits, BodyKind::Length(5), b"hello"),
        failed(ErrorKind::BodyTooLarge, 0)
    );
}

#[test]
fn bounds_chunk_extensions_over_the_whole_body() {
    let limits = Limits {
        max_chunk_extensions: 4,
        ..Limits::default()
    };
    // Three bytes of extension per chunk: fine once, too much the second time.
    let input = b"1;ab\r\nx\r\n1;cd\r\ny\r\n0\r\n\r\n";
    assert_eq!(
        decode_with(&limits, BodyKind::Chunked, input),
        failed(ErrorKind::ChunkExtensionsTooLong, 11)
    );
}

#[test]
fn bounds_the_trailer_section() {
    let limits = Limits {
        max_trailer_bytes: 8,
        ..Limits::default()
    };
    let ok = b"0\r\nX: 1\r\n\r\n";
    assert!(matches!(
        decode_with(&limits, BodyKind::Chunked, ok),
        Outcome::Complete { .. }
    ));
    let over = b"0\r\nX: 12\r\n\r\n";
    assert_eq!(
        decode_with(&limits, BodyKind::Chunked, over),
        failed(ErrorKind::TrailersTooLarge, 11)
    );
    let limits = Limits {
        max_fields: 1,
        ..Limits::default()
    };
    assert_eq!(
        decode_with(&limits, BodyKind::Chunked, b"0\r\nX: 1\r\nY: 2\r\n\r\n"),
        failed(ErrorKind::TooManyFields, 9)
    );
}

#[test]
fn reports_a_truncated_length_body() {
    let limits = Limits::default();
    assert_eq!(
        decode_to_eof(&limits, BodyKind::Length(5), b"hel"),
        failed(ErrorKind::TruncatedBody, 3)
    );
}

#[test]
fn reports_a_truncated_chunked_body() {
    let limits = Limits::default();
    for input in [
        &b"5\r\nhel"[..],
        b"5\r\nhello\r\n",
        b"0\r\n",
        b"0\r\nX: 1\r\n",
    ] {
        assert_eq!(
            decode_to_eof(&limits, BodyKind::Chunked, input),
            failed(ErrorKind::TruncatedBody, input.len()),
            "{input:?}"
        );
    }
}

#[test]
fn an_until_close_body_ends_with_the_stream() {
    let limits = Limits::default();
    let (data, consumed) = payload(decode_to_eof(&limits, BodyKind::UntilClose, b"all of it"));
    assert_eq!((data.as_slice(), consumed), (&b"all of it"[..], 9));
    let limits = Limits {
        max_body: 4,
        ..Limits::default()
    };
    assert_eq!(
        decode_to_eof(&limits, BodyKind::UntilClose, b"hello"),
        failed(ErrorKind::BodyTooLarge, 4)
    );
}

#[test]
fn repeats_the_error_after_failing() {
    let mut decoder = BodyDecoder::new(BodyKind::Chunked);
    let e = decoder.decode(b"x").unwrap_err();
    assert_eq!(decoder.decode(b"5\r\n"), Err(e));
    assert_eq!(decoder.finish(), Err(e));
}

#[test]
fn hands_out_one_range_per_call_without_copying() {
    let buf = b"2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n";
    let mut decoder = BodyDecoder::new(BodyKind::Chunked);
    let first = decoder.decode(buf).unwrap();
    assert_eq!(
        (first.data.clone(), first.consumed, first.done),
        (3..5, 5, false)
    );
    let rest = &buf[first.consumed..];
    let second = decoder.decode(rest).unwrap();
    assert_eq!(&rest[second.data], b"cd");
    assert_eq!(decoder.received(), 4);
}

#[test]
fn every_byte_after_a_chunk_size_is_judged() {
    // Exhaustive over the byte that follows "5" in "5?\r\n": a hex digit leaves a longer
    // size waiting for its data; anything else breaks the line by its CR at offset 2.
    for b in 0..=255u8 {
        let input = [b'5', b, b'\r', b'\n'];
        let got = check(&input, b"", || {
            Decoding::new(BodyDecoder::new(BodyKind::Chunked), false)
        });
        let fine = b.is_ascii_hexdigit();
        match got {
            Outcome::Failed(e) => assert!(!fine && e.offset <= 2, "{b:#04x}: {e:?}"),
            Outcome::Partial => assert!(fine, "{b:#04x}"),
            Outcome::Complete { .. } => panic!("{b:#04x}: complete"),
        }
    }
}
