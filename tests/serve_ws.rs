//! End to end, WebSocket: `/echo` and `/chat` on a real server over loopback port 0.
//!
//! Well-behaved traffic goes through the sync `tungstenite` client (a real, independent
//! implementation); protocol violations and stalled peers go through a raw socket with
//! hand-made frames (see `tests/support`), because a good client library refuses to send
//! them. Every socket read has a deadline, so no test can hang.

mod support;

use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use support::{
    client_frame, masked, opcode, pseudo_random, start, ws_connect, ws_request, Client, Www, WS_KEY,
};
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::{Message, WebSocket};
use wiretap::http::Method;

type Ws = WebSocket<TcpStream>;

/// The next message, whatever it is; panics on an error or a timeout.
fn read(ws: &mut Ws) -> Message {
    ws.read().unwrap_or_else(|e| panic!("websocket read: {e}"))
}

/// The code of a Close message; panics on any other message.
fn close_code(message: &Message) -> u16 {
    match message {
        Message::Close(Some(frame)) => frame.code.into(),
        other => panic!("expected a close frame with a code, got {other:?}"),
    }
}

/// Reads until tungstenite reports the connection closed, which also sends its reply to
/// the server's Close.
fn drain_until_closed(ws: &mut Ws) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if ws.read().is_err() {
            return;
        }
    }
    panic!("the websocket did not close");
}

/// Reads text messages until one equal to `wanted`, skipping the others; each wait is
/// bounded by the socket's read timeout.
fn read_until_text(ws: &mut Ws, wanted: &str) {
    loop {
        match ws.read() {
            Ok(Message::Text(text)) if text.as_str() == wanted => return,
            Ok(_) => {}
            Err(e) => panic!("waiting for {wanted:?}: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// /echo

#[test]
fn echoes_text_and_binary_messages_as_they_came() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut ws = ws_connect(server.addr(), "/echo");

    ws.send(Message::text("héllo, wörld ✓")).unwrap();
    assert_eq!(read(&mut ws), Message::text("héllo, wörld ✓"));

    ws.send(Message::binary(vec![0u8, 1, 2, 0xfe, 0xff]))
        .unwrap();
    assert_eq!(read(&mut ws), Message::binary(vec![0u8, 1, 2, 0xfe, 0xff]));

    // Binary that happens to be valid UTF-8 stays binary.
    ws.send(Message::binary(b"plain ascii".to_vec())).unwrap();
    assert_eq!(read(&mut ws), Message::binary(b"plain ascii".to_vec()));

    // Empty messages of both kinds.
    ws.send(Message::text("")).unwrap();
    assert_eq!(read(&mut ws), Message::text(""));
    ws.send(Message::binary(Vec::new())).unwrap();
    assert_eq!(read(&mut ws), Message::binary(Vec::new()));
}

#[test]
fn echoes_a_fragmented_message_whole_and_answers_a_ping_between_fragments() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut ws = ws_connect(server.addr(), "/echo");

    let parts = ["frag", "ment", "ed ✓"];
    ws.send(Message::Frame(Frame::message(
        parts[0],
        OpCode::Data(Data::Text),
        false,
    )))
    .unwrap();
    ws.send(Message::Frame(Frame::message(
        parts[1],
        OpCode::Data(Data::Continue),
        false,
    )))
    .unwrap();
    // RFC 6455 §5.4: control frames may be injected in the middle of a fragmented message.
    ws.send(Message::Ping("between".into())).unwrap();
    ws.send(Message::Frame(Frame::message(
        parts[2],
        OpCode::Data(Data::Continue),
        true,
    )))
    .unwrap();

    assert_eq!(read(&mut ws), Message::Pong("between".into()));
    assert_eq!(read(&mut ws), Message::text(parts.concat()));
}

#[test]
fn answers_a_ping_with_a_pong_carrying_its_payload() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut ws = ws_connect(server.addr(), "/echo");
    ws.send(Message::Ping("are you there?".into())).unwrap();
    assert_eq!(read(&mut ws), Message::Pong("are you there?".into()));
}

#[test]
fn echoes_close_1000_and_then_closes_the_tcp_connection() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::upgrade(server.addr(), "/echo");
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    client.send(&masked(opcode::CLOSE, &payload));

    let frame = client.read_frame().expect("a close frame");
    assert_eq!(frame.close_code(), Some(1000));
    // RFC 6455 §7.1.1: the server closes the TCP connection first.
    client.expect_closed(Duration::from_secs(3));
}

#[test]
fn echoes_a_frame_sent_in_the_same_write_as_the_handshake() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());
    let mut burst = ws_request(
        "/echo",
        &format!("Sec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 13\r\n"),
    );
    burst.extend_from_slice(&masked(opcode::TEXT, b"early"));
    client.send(&burst);
    assert_eq!(client.response(Method::Get).status(), 101);
    let frame = client.read_frame().expect("the echo");
    assert_eq!(
        (frame.opcode, &frame.payload[..]),
        (opcode::TEXT, &b"early"[..])
    );
}

#[test]
fn echoes_a_16_mib_binary_message_intact() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut ws = ws_connect(server.addr(), "/echo");
    let data = pseudo_random(16 << 20, 16);
    let started = Instant::now();
    ws.send(Message::binary(data.clone())).unwrap();
    let Message::Binary(echoed) = read(&mut ws) else {
        panic!("expected a binary message");
    };
    assert_eq!(echoed.len(), data.len());
    assert!(echoed == data, "the echo differs from what was sent");
    eprintln!("16 MiB round trip: {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------
// Handshake refusals.

#[test]
fn refuses_a_handshake_without_a_key_with_400() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());
    client.send(&ws_request("/echo", "Sec-WebSocket-Version: 13\r\n"));
    let response = client.response(Method::Get);
    assert_eq!(response.status(), 400, "{}", response.body_text());
    // RFC 9110 §6.6.1: an origin server with a clock sends Date in 4xx answers too.
    assert!(response.field("date").ends_with(" GMT"), "{response:?}");
    client.expect_closed(Duration::from_secs(3));
}

#[test]
fn refuses_version_8_with_426_naming_version_13() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());
    client.send(&ws_request(
        "/echo",
        &format!("Sec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 8\r\n"),
    ));
    let response = client.response(Method::Get);
    assert_eq!(response.status(), 426, "{}", response.body_text());
    assert_eq!(response.field("sec-websocket-version"), "13");
    assert!(response.field("date").ends_with(" GMT"), "{response:?}");
    client.expect_closed(Duration::from_secs(3));
}

#[test]
fn refuses_a_plain_get_of_a_websocket_endpoint_with_400() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());
    let response = client.get("/chat");
    assert_eq!(response.status(), 400, "{}", response.body_text());
}

// ---------------------------------------------------------------------------------------
// Protocol errors fail the connection with the code of the rule.

#[test]
fn closes_with_1002_on_an_unmasked_client_frame() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::upgrade(server.addr(), "/echo");
    client.send(&client_frame(true, opcode::TEXT, b"hello", None));
    assert_eq!(client.read_close_code(), Some(1002));
    client.expect_closed(Duration::from_secs(3));
}

#[test]
fn closes_with_1007_on_invalid_utf8_text() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::upgrade(server.addr(), "/echo");
    // "κ" then two bytes that never occur in UTF-8.
    client.send(&masked(opcode::TEXT, &[0xce, 0xba, 0xff, 0xfe]));
    assert_eq!(client.read_close_code(), Some(1007));
    client.expect_closed(Duration::from_secs(3));
}

#[test]
fn closes_with_1009_on_a_message_over_max_message() {
    let www = Www::new();
    let server = start(&www, |c| c.ws.max_message = 1024);

    // One frame over the limit.
    let mut client = Client::upgrade(server.addr(), "/echo");
    client.send(&masked(opcode::BINARY, &[7; 2048]));
    assert_eq!(client.read_close_code(), Some(1009));

    // Fragments under the limit whose sum is over it.
    let mut client = Client::upgrade(server.addr(), "/echo");
    let key = Some([1, 2, 3, 4]);
    client.send(&client_frame(false, opcode::BINARY, &[7; 600], key));
    client.send(&client_frame(true, opcode::CONTINUATION, &[7; 600], key));
    assert_eq!(client.read_close_code(), Some(1009));

    // At the limit is fine.
    let mut ws = ws_connect(server.addr(), "/echo");
    ws.send(Message::binary(vec![7u8; 1024])).unwrap();
    assert_eq!(read(&mut ws), Message::binary(vec![7u8; 1024]));
}

// ---------------------------------------------------------------------------------------
// /chat

/// Joins `/chat` and waits until the server has made the client a member: its own
/// greeting comes back to it.
fn join_chat(addr: std::net::SocketAddr, name: &str) -> Ws {
    let mut ws = ws_connect(addr, "/chat");
    let hello = format!("{name} joined");
    ws.send(Message::text(hello.clone())).unwrap();
    read_until_text(&mut ws, &hello);
    ws
}

#[test]
fn broadcasts_a_chat_message_to_every_member() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut members: Vec<Ws> = ["ann", "bob", "cy"]
        .iter()
        .map(|name| join_chat(server.addr(), name))
        .collect();

    members[1].send(Message::text("hello, room")).unwrap();
    for ws in &mut members {
        read_until_text(ws, "hello, room");
    }
}

#[test]
fn closes_chat_with_1003_on_a_binary_message() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut ws = ws_connect(server.addr(), "/chat");
    ws.send(Message::binary(vec![1u8, 2, 3])).unwrap();
    let message = loop {
        match read(&mut ws) {
            Message::Text(_) => {}
            other => break other,
        }
    };
    assert_eq!(close_code(&message), 1003);
}

#[test]
fn keeps_chat_prompt_while_one_member_never_reads_and_drops_that_member() {
    const MESSAGES: usize = 200;
    // Large enough that 200 of them overflow what the kernel buffers for a reader that
    // never reads (about 4.5 MB on a Linux loopback), so the queue really fills.
    const SIZE: usize = 64 * 1024;
    const PROMPT: Duration = Duration::from_secs(2);
    let www = Www::new();
    let server = start(&www, |c| {
        c.chat_queue = 8;
        c.write_timeout = Duration::from_secs(1);
        // It will never answer the server's Close either.
        c.ws.close_timeout = Duration::from_secs(1);
    });
    let addr = server.addr();

    // `ann` first; then the stuck member, whose greeting `ann` must see (so it is in the
    // room); then `bob`.
    let mut ann = join_chat(addr, "ann");
    let mut stuck = Client::upgrade(addr, "/chat");
    stuck.send(&masked(opcode::TEXT, b"stuck joined"));
    read_until_text(&mut ann, "stuck joined");
    let mut bob = join_chat(addr, "bob");
    read_until_text(&mut ann, "bob joined");
    for ws in [&mut ann, &mut bob] {
        ws.get_mut().set_read_timeout(Some(PROMPT)).unwrap();
    }

    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let padding = "x".repeat(SIZE);
    for i in 0..MESSAGES {
        let text = format!("message {i} {padding}");
        let sent = Instant::now();
        ann.send(Message::text(text.clone())).unwrap();
        for (name, ws) in [("ann", &mut ann), ("bob", &mut bob)] {
            match ws.read() {
                Ok(Message::Text(got)) => assert!(got.as_str() == text, "{name}: message {i}"),
                Ok(other) => panic!("{name}: message {i}: got {other:?}"),
                Err(e) => panic!("{name}: message {i} not received within {PROMPT:?}: {e}"),
            }
        }
        slowest = slowest.max(sent.elapsed());
    }
    eprintln!(
        "{MESSAGES} messages of {SIZE} bytes in {:?}, slowest {slowest:?}",
        started.elapsed()
    );

    // The stuck member was dropped: what the kernel buffered for it ends, either with a
    // Close 1008 or simply with the end of the stream.
    let wire = stuck.read_until_closed(Duration::from_secs(5));
    let mut rest = &wire[..];
    let mut texts = 0;
    let mut close = None;
    while let Some((frame, len)) = support::parse_frame(rest) {
        match frame.opcode {
            opcode::TEXT => texts += 1,
            opcode::CLOSE => close = frame.close_code(),
            _ => {}
        }
        rest = &rest[len..];
    }
    eprintln!(
        "the stuck member got {} bytes ({texts} whole messages) before it was dropped, close {close:?}",
        wire.len()
    );
    assert!(texts < MESSAGES, "the stuck member was never held back");
    assert!(matches!(close, None | Some(1008)), "close {close:?}");
}

// ---------------------------------------------------------------------------------------
// Idle connections and shutdown.

#[test]
fn pings_an_idle_client() {
    let www = Www::new();
    let server = start(&www, |c| c.ws_ping_interval = Duration::from_millis(300));
    let mut ws = ws_connect(server.addr(), "/echo");
    let started = Instant::now();
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    assert!(matches!(read(&mut ws), Message::Ping(_)));
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250),
        "pinged after only {elapsed:?}"
    );
    // The pong tungstenite sent counts as life: the session goes on.
    ws.send(Message::text("still here")).unwrap();
    let message = loop {
        match read(&mut ws) {
            Message::Ping(_) => {}
            other => break other,
        }
    };
    assert_eq!(message, Message::text("still here"));
}

#[test]
fn closes_a_silent_websocket_with_1001_after_the_idle_timeout() {
    let www = Www::new();
    let server = start(&www, |c| {
        c.ws_ping_interval = Duration::from_millis(200);
        c.ws_idle_timeout = Duration::from_millis(700);
    });
    let mut client = Client::upgrade(server.addr(), "/echo");
    let started = Instant::now();
    let ping = client.read_frame().expect("a ping");
    assert_eq!(ping.opcode, opcode::PING);
    // Never answered.
    assert_eq!(client.read_close_code(), Some(1001));
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(600),
        "closed after only {elapsed:?}"
    );
}

#[test]
fn keeps_serving_while_a_silent_websocket_is_closing() {
    // Regression: once the server had sent its Close, the idle deadline (already past) kept
    // firing, so the session task looped inside a single poll until `close_timeout` ran out:
    // one core at 100 % and an executor thread taken from every other connection. With one
    // executor thread, nothing else was served for 10 s.
    let www = Www::new();
    let server = start(&www, |c| {
        c.threads = 1;
        c.ws_ping_interval = Duration::from_millis(100);
        c.ws_idle_timeout = Duration::from_millis(300);
    });
    let mut silent = Client::upgrade(server.addr(), "/echo");
    // Never answered, so the server waits in the closing handshake for `close_timeout`.
    assert_eq!(silent.read_close_code(), Some(1001));

    let mut http = Client::connect(server.addr());
    http.send(&support::get("/", ""));
    let started = Instant::now();
    let response = http
        .try_response_within(Method::Get, Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("no answer while a websocket is closing: {e}"));
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn stops_gracefully_closing_websockets_with_1001_and_finishing_responses() {
    const GRACE: Duration = Duration::from_secs(3);
    let www = Www::new();
    // Larger than what the socket buffers hold, so the response is still being written when
    // the shutdown starts.
    let huge = pseudo_random(8 << 20, 8);
    www.write("huge.bin", &huge);
    let server = start(&www, |c| {
        c.shutdown_grace = GRACE;
        c.write_timeout = GRACE;
    });
    let addr = server.addr();

    let mut ws = ws_connect(addr, "/echo");
    ws.send(Message::text("before")).unwrap();
    assert_eq!(read(&mut ws), Message::text("before"));

    // A keep-alive connection between requests: closed at once, nothing in flight.
    let mut idle = Client::connect(addr);
    assert_eq!(idle.get("/").status(), 200);

    let mut http = Client::connect(addr);
    http.send(&support::get("/huge.bin", ""));
    // The response has started, and the server is blocked on the full socket.
    let got = http.read_some(Duration::from_secs(5));
    assert!(matches!(got, support::Got::Data(_)), "{got:?}");
    thread::sleep(Duration::from_millis(200));

    let stopping = thread::spawn(move || {
        let started = Instant::now();
        let result = server.stop();
        (result, started.elapsed())
    });

    idle.expect_closed(Duration::from_secs(1));
    let message = read(&mut ws);
    assert_eq!(close_code(&message), 1001);
    drain_until_closed(&mut ws);

    let response = http.response(Method::Get);
    assert_eq!(response.status(), 200);
    assert_eq!(response.body.len(), huge.len());
    assert!(response.body == huge, "the in-flight body differs");
    http.expect_closed(Duration::from_secs(3));

    let (result, took) = stopping.join().unwrap();
    result.expect("stop succeeds");
    assert!(took < GRACE, "stop took {took:?}, the whole grace period");
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "still accepting after stop"
    );
}
