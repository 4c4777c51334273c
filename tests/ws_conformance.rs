//! Conformance suite for `ws::Connection` as a server: what the Autobahn|Testsuite
//! fuzzingclient checks in sections 1 to 7 (framing, ping/pong, reserved bits, opcodes,
//! fragmentation, UTF-8 handling, close handling), driven sans-IO.
//!
//! Each test plays the fuzzing client: it writes masked frames by hand (including broken
//! ones the library's encoder refuses to make), feeds them to a server `Connection` running
//! an echo application, and reads what the server sent back with a small frame reader of
//! its own (an oracle independent of the code under test). Every case runs three ways, as
//! Autobahn does: all bytes at once, in 997-byte chunks, and one byte at a time. Autobahn's
//! "fail the connection" means: the server sends Close with the named code (1002 or 1007)
//! and reads nothing more; we demand the Close, not merely a dropped socket.
//!
//! Tests are named after the behaviour; the Autobahn case numbers are in the comments.

use std::time::Duration;

use wiretap::ws::{CloseCode, Connection, Event, Limits, Message, Role, State};

// ---------------------------------------------------------------------------------------
// The fuzzing client.

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// A client frame with every field under the test's control. The mask key varies with the
/// payload so that no two frames in a case share one by accident.
fn frame_with(fin: bool, rsv: u8, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, (payload.len() as u8).wrapping_add(0x3d)];
    let mut out = vec![(u8::from(fin) << 7) | (rsv << 4) | opcode];
    let n = payload.len();
    if n < 126 {
        out.push(0x80 | n as u8);
    } else if n <= 0xFFFF {
        out.push(0x80 | 126);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame_with(fin, 0, opcode, payload)
}

fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    frame(true, CLOSE, &payload)
}

fn concat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

/// What the server sent, as read by the test's own frame reader.
#[derive(Clone, PartialEq, Eq)]
enum Out {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Pong(Vec<u8>),
    Ping(Vec<u8>),
    /// A Close: its code (`None` when the payload is empty) and reason.
    Close(Option<u16>, Vec<u8>),
}

/// Long payloads print as their length and first bytes, so a failure stays readable.
impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (name, data) = match self {
            Self::Text(d) => ("Text", d),
            Self::Binary(d) => ("Binary", d),
            Self::Pong(d) => ("Pong", d),
            Self::Ping(d) => ("Ping", d),
            Self::Close(code, d) => {
                return write!(f, "Close({code:?}, {:?})", String::from_utf8_lossy(d))
            }
        };
        let shown = String::from_utf8_lossy(&data[..data.len().min(24)]);
        let more = if data.len() > 24 { "…" } else { "" };
        write!(f, "{name}[{}]({shown:?}{more})", data.len())
    }
}

fn text(s: impl AsRef<[u8]>) -> Out {
    Out::Text(s.as_ref().to_vec())
}

fn close(code: u16) -> Out {
    Out::Close(Some(code), Vec::new())
}

/// Reads the server's frames: unmasked (RFC 6455 §5.1: "A server MUST NOT mask any frames
/// that it sends to the client"), no RSV bits, control frames unfragmented. The echo server
/// answers each message with one frame, so continuation frames are merged as they come.
fn read_server_frames(mut bytes: &[u8]) -> Vec<Out> {
    let mut out = Vec::new();
    let mut partial: Option<(u8, Vec<u8>)> = None;
    while !bytes.is_empty() {
        assert!(bytes.len() >= 2, "torn server frame header");
        let (b0, b1) = (bytes[0], bytes[1]);
        assert_eq!(b0 & 0x70, 0, "server set RSV bits");
        assert_eq!(b1 & 0x80, 0, "server masked a frame");
        let (len, head) = match b1 & 0x7f {
            126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        let payload = bytes[head..head + len].to_vec();
        bytes = &bytes[head + len..];
        let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0f);
        let whole = match (opcode, partial.take()) {
            (CONTINUATION, Some((op, mut data))) => {
                data.extend_from_slice(&payload);
                (op, data)
            }
            (CONTINUATION, None) => panic!("server sent a stray continuation"),
            (op, None) => (op, payload),
            (op @ (PING | PONG | CLOSE), Some(p)) => {
                partial = Some(p);
                (op, payload)
            }
            (_, Some(_)) => panic!("server interleaved data frames"),
        };
        if !fin {
            assert!(whole.0 < 8, "server fragmented a control frame");
            partial = Some(whole);
            continue;
        }
        out.push(match whole {
            (TEXT, data) => Out::Text(data),
            (BINARY, data) => Out::Binary(data),
            (PING, data) => Out::Ping(data),
            (PONG, data) => Out::Pong(data),
            (CLOSE, data) if data.is_empty() => Out::Close(None, data),
            (CLOSE, data) => Out::Close(
                Some(u16::from_be_bytes([data[0], data[1]])),
                data[2..].to_vec(),
            ),
            (op, _) => panic!("server sent opcode {op}"),
        });
    }
    assert!(partial.is_none(), "server left a message unfinished");
    out
}

/// How the client's bytes reach the server, as Autobahn's fuzzingclient varies it.
#[derive(Debug, Clone, Copy)]
enum Delivery {
    Whole,
    Chunks(usize),
}

const DELIVERIES: [Delivery; 3] = [Delivery::Whole, Delivery::Chunks(997), Delivery::Chunks(1)];

/// The echo application the Autobahn suite expects: every message goes back as it came.
/// Returns what the server sent and its final state.
fn echo_server(input: &[u8], delivery: Delivery, limits: Limits) -> (Vec<Out>, State) {
    let mut conn = Connection::new(Role::Server, limits);
    let mut wire = Vec::new();
    let size = match delivery {
        Delivery::Whole => input.len().max(1),
        Delivery::Chunks(n) => n,
    };
    for piece in input.chunks(size) {
        conn.handle_input(piece, Duration::ZERO);
        while let Some(event) = conn.poll_event() {
            if let Event::Message(message) = event {
                // After a Close or a failure the echo is refused; that is the rule under
                // test, not a problem of the application.
                let _ = conn.send(message);
            }
        }
        conn.poll_transmit(&mut wire);
    }
    // A failing server may explain itself in the Close reason; the suite checks the code,
    // and that the reason is UTF-8 within the 123 bytes a Close payload leaves for it.
    let frames = read_server_frames(&wire)
        .into_iter()
        .map(|out| match out {
            Out::Close(code, reason) => {
                assert!(std::str::from_utf8(&reason).is_ok() && reason.len() <= 123);
                Out::Close(code, Vec::new())
            }
            other => other,
        })
        .collect();
    (frames, conn.state())
}

/// Runs one case every way it can be delivered and checks the server's answer.
#[track_caller]
fn check(input: &[u8], expected: &[Out]) {
    check_with(input, expected, Limits::default());
}

#[track_caller]
fn check_with(input: &[u8], expected: &[Out], limits: Limits) {
    for delivery in DELIVERIES {
        let (sent, state) = echo_server(input, delivery, limits);
        assert_eq!(sent, expected, "delivered {delivery:?}");
        let closes = matches!(expected.last(), Some(Out::Close(..)));
        let want = if closes { State::Closed } else { State::Open };
        assert_eq!(state, want, "delivered {delivery:?}");
    }
}

/// A case that must fail the connection with `code` after the server sent `before`.
#[track_caller]
fn check_fails(input: &[u8], before: &[Out], code: CloseCode) {
    let mut expected = before.to_vec();
    expected.push(close(code.0));
    check(input, &expected);
}

// ---------------------------------------------------------------------------------------
// Section 1: framing.

mod framing {
    use super::*;

    /// 1.1.1-1.1.7 and 1.2.1-1.2.7: every length encoding and its edges.
    const LENGTHS: [usize; 7] = [0, 125, 126, 127, 128, 65535, 65536];

    #[test]
    fn echoes_text_messages_at_every_length_encoding_boundary() {
        for len in LENGTHS {
            let payload = "*".repeat(len);
            check(&frame(true, TEXT, payload.as_bytes()), &[text(&payload)]);
        }
    }

    #[test]
    fn echoes_binary_messages_at_every_length_encoding_boundary() {
        for len in LENGTHS {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8 ^ 0xfe).collect();
            check(
                &frame(true, BINARY, &payload),
                &[Out::Binary(payload.clone())],
            );
        }
    }

    #[test]
    fn echoes_a_64_kib_message_sent_in_997_byte_chunks() {
        // 1.1.8 / 1.2.8: the chunked delivery is part of `check`.
        let payload = vec![b'x'; 65535];
        check(&frame(true, TEXT, &payload), &[Out::Text(payload.clone())]);
    }

    #[test]
    fn echoes_many_messages_in_order() {
        let input: Vec<u8> = (0..50)
            .flat_map(|i| frame(true, TEXT, format!("message {i}").as_bytes()))
            .collect();
        let expected: Vec<Out> = (0..50).map(|i| text(format!("message {i}"))).collect();
        check(&input, &expected);
    }

    #[test]
    fn fails_on_an_unmasked_client_frame() {
        // RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that
        // is not masked."
        check_fails(b"\x81\x05Hello", &[], CloseCode::PROTOCOL_ERROR);
    }

    #[test]
    fn fails_on_a_64_bit_length_with_the_top_bit_set() {
        let mut input = vec![0x82, 0x80 | 127];
        input.extend_from_slice(&(1u64 << 63).to_be_bytes());
        input.extend_from_slice(&[1, 2, 3, 4]);
        check_fails(&input, &[], CloseCode::PROTOCOL_ERROR);
    }

    #[test]
    fn fails_with_1009_on_a_frame_over_the_limit() {
        let limits = Limits {
            max_frame: 1000,
            ..Limits::default()
        };
        let input = frame(true, BINARY, &[0; 1001]);
        check_with(&input, &[close(1009)], limits);
    }

    #[test]
    fn fails_with_1009_on_a_fragmented_message_over_the_limit() {
        let limits = Limits {
            max_message: 1000,
            ..Limits::default()
        };
        let input = concat(&[
            frame(false, BINARY, &[0; 600]),
            frame(true, CONTINUATION, &[0; 600]),
        ]);
        check_with(&input, &[close(1009)], limits);
    }
}

// ---------------------------------------------------------------------------------------
// Section 2: pings and pongs.

mod ping_pong {
    use super::*;

    #[test]
    fn answers_a_ping_without_payload() {
        // 2.1
        check(&frame(true, PING, b""), &[Out::Pong(vec![])]);
    }

    #[test]
    fn answers_a_ping_with_its_text_or_binary_payload() {
        // 2.2, 2.3
        check(
            &frame(true, PING, b"Hello, world!"),
            &[Out::Pong(b"Hello, world!".to_vec())],
        );
        let binary = [0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff];
        check(&frame(true, PING, &binary), &[Out::Pong(binary.to_vec())]);
    }

    #[test]
    fn answers_a_ping_with_the_largest_control_payload() {
        // 2.4, and 2.6 (the same frame one byte at a time is part of `check`).
        let payload = [0xfe; 125];
        check(&frame(true, PING, &payload), &[Out::Pong(payload.to_vec())]);
    }

    #[test]
    fn fails_on_a_ping_with_126_bytes_of_payload() {
        // 2.5: RFC 6455 §5.5 "All control frames MUST have a payload length of 125 bytes
        // or less".
        check_fails(
            &frame(true, PING, &[0xfe; 126]),
            &[],
            CloseCode::PROTOCOL_ERROR,
        );
    }

    #[test]
    fn ignores_unsolicited_pongs() {
        // 2.7, 2.8
        check(&frame(true, PONG, b""), &[]);
        check(&frame(true, PONG, b"unsolicited pong payload"), &[]);
    }

    #[test]
    fn answers_a_ping_that_follows_an_unsolicited_pong() {
        // 2.9
        let input = concat(&[
            frame(true, PONG, b"unsolicited pong payload"),
            frame(true, PING, b"ping payload"),
        ]);
        check(&input, &[Out::Pong(b"ping payload".to_vec())]);
    }

    #[test]
    fn answers_ten_pings_in_a_row_in_order() {
        // 2.10, 2.11
        let input: Vec<u8> = (0..10)
            .flat_map(|i| frame(true, PING, format!("payload-{i}").as_bytes()))
            .collect();
        let expected: Vec<Out> = (0..10)
            .map(|i| Out::Pong(format!("payload-{i}").into_bytes()))
            .collect();
        check(&input, &expected);
    }
}

// ---------------------------------------------------------------------------------------
// Section 3: reserved bits. RFC 6455 §5.2: "If a nonzero value is received and none of the
// negotiated extensions defines the meaning of such a nonzero value, the receiving endpoint
// MUST _Fail the WebSocket Connection_."

mod reserved_bits {
    use super::*;

    #[test]
    fn fails_on_rsv1_in_a_text_frame() {
        // 3.1
        check_fails(
            &frame_with(true, 4, TEXT, b"Hello, world!"),
            &[],
            CloseCode::PROTOCOL_ERROR,
        );
    }

    #[test]
    fn echoes_the_message_before_a_frame_with_rsv2_then_fails() {
        // 3.2
        let input = concat(&[
            frame(true, TEXT, b"Hello, world!"),
            frame_with(true, 2, TEXT, b"Hello, world!"),
            frame(true, PING, b""),
        ]);
        check_fails(&input, &[text("Hello, world!")], CloseCode::PROTOCOL_ERROR);
    }

    #[test]
    fn fails_on_rsv3_and_answers_nothing_after_it() {
        // 3.3, 3.4 (3.4 is the same exchange byte by byte, part of `check`)
        let input = concat(&[
            frame(true, TEXT, b"Hello, world!"),
            frame_with(true, 1, TEXT, b"Hello, world!"),
            frame(true, PING, b""),
        ]);
        check_fails(&input, &[text("Hello, world!")], CloseCode::PROTOCOL_ERROR);
        let input = concat(&[
            frame(true, TEXT, b"Hello, world!"),
            frame_with(true, 6, TEXT, b"Hello, world!"),
            frame(true, PING, b""),
        ]);
        check_fails(&input, &[text("Hello, world!")], CloseCode::PROTOCOL_ERROR);
    }

    #[test]
    fn fails_on_reserved_bits_in_binary_ping_and_close_frames() {
        // 3.5, 3.6, 3.7
        for (rsv, opcode, payload) in [
            (5u8, BINARY, &[0u8, 1, 2][..]),
            (6, PING, b"Hello"),
            (7, CLOSE, b"\x03\xe8"),
        ] {
            check_fails(
                &frame_with(true, rsv, opcode, payload),
                &[],
                CloseCode::PROTOCOL_ERROR,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Section 4: opcodes. RFC 6455 §5.2: "If an unknown opcode is received, the receiving
// endpoint MUST _Fail the WebSocket Connection_."

mod opcodes {
    use super::*;

    #[test]
    fn fails_on_every_reserved_non_control_opcode() {
        // 4.1.1, 4.1.2
        for opcode in 3..=7 {
            check_fails(&frame(true, opcode, b""), &[], CloseCode::PROTOCOL_ERROR);
            check_fails(
                &frame(true, opcode, b"reserved"),
                &[],
                CloseCode::PROTOCOL_ERROR,
            );
        }
    }

    #[test]
    fn fails_on_every_reserved_control_opcode() {
        // 4.2.1, 4.2.2
        for opcode in 0xB..=0xF {
            check_fails(&frame(true, opcode, b""), &[], CloseCode::PROTOCOL_ERROR);
            check_fails(
                &frame(true, opcode, b"reserved"),
                &[],
                CloseCode::PROTOCOL_ERROR,
            );
        }
    }

    #[test]
    fn echoes_what_came_before_a_reserved_opcode_and_nothing_after() {
        // 4.1.3-4.1.5, 4.2.3-4.2.5
        for opcode in [5, 6, 7, 0xC, 0xD, 0xF] {
            let input = concat(&[
                frame(true, TEXT, b"Hello, world!"),
                frame(true, opcode, b"\x00\x01"),
                frame(true, PING, b""),
            ]);
            check_fails(&input, &[text("Hello, world!")], CloseCode::PROTOCOL_ERROR);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Section 5: fragmentation. RFC 6455 §5.4.

mod fragmentation {
    use super::*;

    #[test]
    fn fails_on_a_fragmented_ping_or_pong() {
        // 5.1, 5.2: "Control frames themselves MUST NOT be fragmented."
        for opcode in [PING, PONG] {
            let input = concat(&[
                frame(false, opcode, b"fragment1"),
                frame(true, CONTINUATION, b"fragment2"),
            ]);
            check_fails(&input, &[], CloseCode::PROTOCOL_ERROR);
        }
    }

    #[test]
    fn assembles_a_text_message_in_two_fragments() {
        // 5.3, 5.4, 5.5
        let input = concat(&[
            frame(false, TEXT, b"fragment1"),
            frame(true, CONTINUATION, b"fragment2"),
        ]);
        check(&input, &[text("fragment1fragment2")]);
    }

    #[test]
    fn answers_a_ping_between_fragments_and_then_echoes_the_message() {
        // 5.6, 5.7, 5.8: "control frames MAY be injected in the middle of a fragmented
        // message"
        let input = concat(&[
            frame(false, TEXT, b"fragment1"),
            frame(true, PING, b"ping payload"),
            frame(true, CONTINUATION, b"fragment2"),
        ]);
        check(
            &input,
            &[
                Out::Pong(b"ping payload".to_vec()),
                text("fragment1fragment2"),
            ],
        );
    }

    #[test]
    fn fails_on_a_continuation_with_nothing_to_continue() {
        // 5.9-5.14, with and without FIN, whole, chopped and byte by byte.
        for fin in [true, false] {
            let input = concat(&[
                frame(fin, CONTINUATION, b"non-continuation payload"),
                frame(true, TEXT, b"Hello, world!"),
            ]);
            check_fails(&input, &[], CloseCode::PROTOCOL_ERROR);
        }
    }

    #[test]
    fn fails_on_a_continuation_after_the_message_ended() {
        // 5.15, 5.16, 5.17
        let input = concat(&[
            frame(false, TEXT, b"fragment1"),
            frame(true, CONTINUATION, b"fragment2"),
            frame(false, CONTINUATION, b"fragment3"),
            frame(true, CONTINUATION, b"fragment4"),
        ]);
        check_fails(
            &input,
            &[text("fragment1fragment2")],
            CloseCode::PROTOCOL_ERROR,
        );
    }

    #[test]
    fn fails_on_a_new_message_inside_a_fragmented_one() {
        // 5.18: "the fragments of one message MUST NOT be interleaved"
        let input = concat(&[
            frame(false, TEXT, b"fragment1"),
            frame(true, TEXT, b"fragment2"),
        ]);
        check_fails(&input, &[], CloseCode::PROTOCOL_ERROR);
    }

    #[test]
    fn answers_several_pings_inside_a_five_fragment_message() {
        // 5.19, 5.20
        let input = concat(&[
            frame(false, TEXT, b"fragment1"),
            frame(false, CONTINUATION, b"fragment2"),
            frame(true, PING, b"pongme 1!"),
            frame(false, CONTINUATION, b"fragment3"),
            frame(true, PING, b"pongme 2!"),
            frame(false, CONTINUATION, b"fragment4"),
            frame(true, CONTINUATION, b"fragment5"),
        ]);
        check(
            &input,
            &[
                Out::Pong(b"pongme 1!".to_vec()),
                Out::Pong(b"pongme 2!".to_vec()),
                text("fragment1fragment2fragment3fragment4fragment5"),
            ],
        );
    }

    #[test]
    fn assembles_a_binary_message_of_many_empty_and_full_fragments() {
        let input = concat(&[
            frame(false, BINARY, b""),
            frame(false, CONTINUATION, b"\x00\x01"),
            frame(false, CONTINUATION, b""),
            frame(true, CONTINUATION, b"\x02"),
        ]);
        check(&input, &[Out::Binary(vec![0, 1, 2])]);
    }
}

// ---------------------------------------------------------------------------------------
// Section 6: UTF-8. RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as
// UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint
// MUST _Fail the WebSocket Connection_." Code 1007 (§7.4.1).

mod utf8 {
    use super::*;

    /// "κόσμε": the valid text of the Autobahn cases (Markus Kuhn's UTF-8 test file).
    const KOSME: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";

    /// Valid sequences, from Kuhn's decoder stress test: boundaries, non-characters and
    /// specials are valid UTF-8 by RFC 3629.
    const VALID: &[&[u8]] = &[
        b"hello\x24world",
        b"hello\xc2\xa2world",
        b"hello\xe2\x82\xacworld",
        b"hello\xf0\xa4\xad\xa2world",
        KOSME,
        b"\x00",
        b"\xc2\x80",
        b"\xe0\xa0\x80",
        b"\xf0\x90\x80\x80",
        b"\x7f",
        b"\xdf\xbf",
        b"\xef\xbf\xbf",
        b"\xf4\x8f\xbf\xbf",
        b"\xed\x9f\xbf",
        b"\xee\x80\x80",
        b"\xef\xbf\xbd",
        b"\xef\xbf\xbe",
        b"\xf1\x8f\xbf\xbe",
        b"\xf3\xbf\xbf\xbf",
        b"\xef\xbf\xb9",
    ];

    /// Invalid sequences, from the same file: code points past U+10FFFF, stray and missing
    /// continuation bytes, impossible bytes, overlong forms and UTF-16 surrogates.
    const INVALID: &[&[u8]] = &[
        b"\xf8\x88\x80\x80\x80",
        b"\xfc\x84\x80\x80\x80\x80",
        b"\xf7\xbf\xbf\xbf",
        b"\xf4\x90\x80\x80",
        b"\x80",
        b"\xbf",
        b"\x80\xbf\x80\xbf",
        b"\xc0 \xc1 ",
        b"\xe0 \xef ",
        b"\xc0",
        b"\xe0\x80",
        b"\xf0\x80\x80",
        b"\xdf",
        b"\xef\xbf",
        b"\xf7\xbf\xbf",
        b"\xfe",
        b"\xff",
        b"\xfe\xfe\xff\xff",
        b"\xc0\xaf",
        b"\xe0\x80\xaf",
        b"\xf0\x80\x80\xaf",
        b"\xc1\xbf",
        b"\xe0\x9f\xbf",
        b"\xf0\x8f\xbf\xbf",
        b"\xc0\x80",
        b"\xe0\x80\x80",
        b"\xed\xa0\x80",
        b"\xed\xbf\xbf",
        b"\xed\xa0\x80\xed\xb0\x80",
        b"\xed\xaf\xbf\xed\xbf\xbf",
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
    ];

    #[test]
    fn echoes_empty_text_messages_of_empty_fragments() {
        // 6.1.1-6.1.3
        check(&frame(true, TEXT, b""), &[text("")]);
        let input = concat(&[
            frame(false, TEXT, b""),
            frame(false, CONTINUATION, b""),
            frame(true, CONTINUATION, b""),
        ]);
        check(&input, &[text("")]);
        let input = concat(&[
            frame(false, TEXT, b""),
            frame(false, CONTINUATION, b"middle frame payload"),
            frame(true, CONTINUATION, b""),
        ]);
        check(&input, &[text("middle frame payload")]);
    }

    #[test]
    fn echoes_valid_text_in_one_frame_and_in_one_byte_fragments() {
        // 6.2.x, 6.5.x-6.23.x (valid rows)
        for &payload in VALID {
            check(&frame(true, TEXT, payload), &[text(payload)]);
            check(&fragment_every_byte(payload), &[text(payload)]);
        }
    }

    #[test]
    fn echoes_valid_text_split_inside_code_points() {
        // 6.2.2-6.2.4: fragment boundaries anywhere, also mid code point.
        for at in 1..KOSME.len() {
            let input = concat(&[
                frame(false, TEXT, &KOSME[..at]),
                frame(true, CONTINUATION, &KOSME[at..]),
            ]);
            check(&input, &[text(KOSME)]);
        }
    }

    #[test]
    fn fails_with_1007_on_invalid_text_in_one_frame_and_in_fragments() {
        // 6.3.x, 6.5.x-6.21.x (invalid rows)
        for &payload in INVALID {
            check_fails(&frame(true, TEXT, payload), &[], CloseCode::INVALID_PAYLOAD);
            check_fails(
                &fragment_every_byte(payload),
                &[],
                CloseCode::INVALID_PAYLOAD,
            );
        }
    }

    #[test]
    fn fails_fast_on_invalid_text_before_the_message_is_complete() {
        // 6.4.1-6.4.4: the first fragment breaks UTF-8; the server must fail at once, not
        // wait for the rest of the message, which never comes.
        let first = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80";
        for delivery in DELIVERIES {
            let (sent, state) =
                echo_server(&frame(false, TEXT, first), delivery, Limits::default());
            assert_eq!(sent, [close(1007)], "delivered {delivery:?}");
            assert_eq!(state, State::Closed);
        }
        // The same, where the breaking byte is alone in its fragment.
        let input = concat(&[
            frame(false, TEXT, KOSME),
            frame(false, CONTINUATION, b"\xf4"),
            frame(false, CONTINUATION, b"\x90"),
        ]);
        check_fails(&input, &[], CloseCode::INVALID_PAYLOAD);
    }

    #[test]
    fn fails_fast_inside_a_single_frame_before_its_payload_has_arrived() {
        // 6.4.3 / 6.4.4 send one frame whose payload is valid up to a byte, then the rest
        // of the frame later: the server answers 1007 without waiting for the frame's end.
        let whole = frame(
            true,
            TEXT,
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
        );
        // Header (2) + key (4) + 11 valid bytes + the 0xED 0xA0 that can no longer be valid.
        let prefix = &whole[..2 + 4 + 11 + 2];
        let mut conn = Connection::new(Role::Server, Limits::default());
        conn.handle_input(prefix, Duration::ZERO);
        while conn.poll_event().is_some() {}
        let mut wire = Vec::new();
        conn.poll_transmit(&mut wire);
        assert_eq!(
            read_server_frames(&wire),
            [Out::Close(
                Some(1007),
                b"invalid utf-8 in a text message".to_vec()
            )]
        );
        assert_eq!(conn.state(), State::Closed);
    }

    #[test]
    fn accepts_every_scalar_value_and_rejects_every_surrogate() {
        // 6.x "All Unicode code points": valid one by one; a surrogate encoded as UTF-8 is not.
        let mut all = String::new();
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32).step_by(97) {
            all.push(c);
        }
        check(&frame(true, TEXT, all.as_bytes()), &[text(all.as_bytes())]);
        for surrogate in (0xD800u32..=0xDFFF).step_by(61) {
            let bytes = [
                0xE0 | (surrogate >> 12) as u8,
                0x80 | ((surrogate >> 6) & 0x3F) as u8,
                0x80 | (surrogate & 0x3F) as u8,
            ];
            check_fails(&frame(true, TEXT, &bytes), &[], CloseCode::INVALID_PAYLOAD);
        }
    }

    fn fragment_every_byte(payload: &[u8]) -> Vec<u8> {
        if payload.is_empty() {
            return frame(true, TEXT, b"");
        }
        let last = payload.len() - 1;
        payload
            .iter()
            .enumerate()
            .flat_map(|(i, b)| {
                let opcode = if i == 0 { TEXT } else { CONTINUATION };
                frame(i == last, opcode, &[*b])
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Section 7: close handling. RFC 6455 §5.5.1 and §7.

mod close {
    use super::*;

    #[test]
    fn echoes_a_message_then_the_close() {
        // 7.1.1
        let input = concat(&[frame(true, TEXT, b"Hello World!"), close_frame(1000, b"")]);
        check(&input, &[text("Hello World!"), close(1000)]);
    }

    #[test]
    fn ignores_everything_after_the_peer_closed() {
        // 7.1.2 (a second close), 7.1.3 (a ping), 7.1.4 (a text message)
        for after in [
            close_frame(1000, b""),
            frame(true, PING, b""),
            frame(true, TEXT, b"Hello World!"),
        ] {
            let input = concat(&[close_frame(1000, b""), after]);
            check(&input, &[close(1000)]);
        }
    }

    #[test]
    fn closes_in_the_middle_of_a_fragmented_message() {
        // 7.1.5
        let input = concat(&[
            frame(false, TEXT, b"fragment1"),
            close_frame(1000, b""),
            frame(true, CONTINUATION, b"fragment2"),
        ]);
        check(&input, &[close(1000)]);
    }

    #[test]
    fn echoes_a_large_message_then_the_close() {
        // 7.1.6
        let big = vec![b'B'; 256 * 1024];
        let input = concat(&[
            frame(true, TEXT, &big),
            frame(true, TEXT, b"Hello World!"),
            close_frame(1000, b""),
        ]);
        check(
            &input,
            &[Out::Text(big.clone()), text("Hello World!"), close(1000)],
        );
    }

    #[test]
    fn answers_an_empty_close_with_an_empty_close() {
        // 7.3.1: RFC 6455 §5.5.1 "If an endpoint receives a Close frame and did not
        // previously send a Close frame, the endpoint MUST send a Close frame in response."
        check(&frame(true, CLOSE, b""), &[Out::Close(None, vec![])]);
    }

    #[test]
    fn fails_on_a_close_with_a_one_byte_payload() {
        // 7.3.2: the body "MUST start with a two-byte unsigned integer"
        check_fails(&frame(true, CLOSE, b"\x03"), &[], CloseCode::PROTOCOL_ERROR);
    }

    #[test]
    fn echoes_the_close_code_with_or_without_a_reason() {
        // 7.3.3, 7.3.4, 7.3.5 (a 123-byte reason fills the 125-byte limit)
        check(&close_frame(1000, b""), &[close(1000)]);
        check(&close_frame(1000, b"Hello World!"), &[close(1000)]);
        check(&close_frame(1000, &[b'*'; 123]), &[close(1000)]);
    }

    #[test]
    fn fails_on_a_close_with_a_126_byte_payload() {
        // 7.3.6
        check_fails(
            &close_frame(1000, &[b'*'; 124]),
            &[],
            CloseCode::PROTOCOL_ERROR,
        );
    }

    #[test]
    fn fails_with_1007_on_a_close_reason_that_is_not_utf8() {
        // 7.5.1
        let reason =
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64";
        check_fails(&close_frame(1000, reason), &[], CloseCode::INVALID_PAYLOAD);
    }

    #[test]
    fn echoes_every_valid_close_code() {
        // 7.7.1-7.7.13, plus the IANA-registered 1012-1014 that §7.4 leaves open.
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ] {
            check(&close_frame(code, b""), &[close(code)]);
        }
    }

    #[test]
    fn fails_on_every_close_code_that_may_not_be_sent() {
        // 7.9.1-7.9.9 and 7.13.x: 1004 is reserved, 1005/1006/1015 "MUST NOT be set as a
        // status code in a Close control frame", 1016-2999 are unassigned, and codes under
        // 1000 or over 4999 are not used.
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            check_fails(&close_frame(code, b""), &[], CloseCode::PROTOCOL_ERROR);
        }
    }

    #[test]
    fn waits_for_the_peers_close_after_sending_its_own_then_gives_up() {
        // The server side of 7.x: a server going away sends 1001, still delivers what the
        // client sends meanwhile, and is closed once the client answers or time runs out.
        let mut conn = Connection::new(Role::Server, Limits::default());
        conn.close(CloseCode::GOING_AWAY, "shutting down", Duration::ZERO)
            .unwrap();
        assert_eq!(conn.state(), State::Closing);
        let mut wire = Vec::new();
        conn.poll_transmit(&mut wire);
        assert_eq!(
            read_server_frames(&wire),
            [Out::Close(Some(1001), b"shutting down".to_vec())]
        );
        assert!(conn.send(Message::Text("late".into())).is_err());

        conn.handle_input(&frame(true, TEXT, b"in flight"), Duration::from_secs(1));
        assert_eq!(
            conn.poll_event(),
            Some(Event::Message(Message::Text("in flight".into())))
        );
        assert_eq!(conn.state(), State::Closing);
        let deadline = conn.poll_timeout().expect("a close deadline");
        conn.handle_timeout(deadline);
        assert_eq!(conn.state(), State::Closed);

        // And when the client does answer, the handshake completes without a second Close.
        let mut conn = Connection::new(Role::Server, Limits::default());
        conn.close(CloseCode::GOING_AWAY, "", Duration::ZERO)
            .unwrap();
        conn.poll_transmit(&mut Vec::new());
        conn.handle_input(&close_frame(1001, b""), Duration::from_secs(1));
        assert_eq!(conn.state(), State::Closed);
        let mut wire = Vec::new();
        conn.poll_transmit(&mut wire);
        assert!(wire.is_empty(), "a second Close was sent");
    }
}
