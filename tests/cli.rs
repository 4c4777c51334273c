//! The `wiretap` binary as a user runs it: it prints where it serves, and SIGTERM or SIGINT
//! (Ctrl-C) stop it gracefully: WebSocket clients get close 1001, the process exits 0.
//!
//! The server runs as a child process on a loopback port 0; every wait has a deadline and
//! the child is killed if a test fails, so nothing outlives the test.

mod support;

use std::time::Duration;

use support::{ws_connect, Wiretap, Www};
use tungstenite::Message;

/// `wiretap serve` over `www`, recording into a folder beside it, its log in another.
fn start(www: &Www) -> Wiretap {
    let captures = www.path().with_extension("captures");
    let log = www.path().with_extension("log");
    let args = Wiretap::serve_args(www, &["--captures", &captures.display().to_string()]);
    let mut command = Wiretap::command();
    command.args(args);
    Wiretap::spawn(command, &log)
}

fn stops_on(signal: &str) {
    let www = Www::new();
    let mut server = start(&www);
    assert!(
        server.banner.contains(&www.path().display().to_string()),
        "{}",
        server.banner
    );
    assert!(
        server.recording.contains("recording every connection into"),
        "{}",
        server.recording
    );

    let mut ws = ws_connect(server.addr, "/echo");
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    ws.send(Message::text("hello")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("hello"));

    server.signal(signal);
    match ws.read().expect("a close frame") {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected close 1001, got {other:?}"),
    }
    let status = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        std::net::TcpStream::connect_timeout(&server.addr, Duration::from_secs(1)).is_err(),
        "still accepting after exit"
    );
}

#[test]
fn sigterm_closes_websockets_with_1001_and_exits_0() {
    stops_on("TERM");
}

#[test]
fn sigint_stops_it_like_ctrl_c() {
    stops_on("INT");
}
