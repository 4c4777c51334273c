//! The `wiretap` binary as a user runs it: it prints where it serves, and SIGTERM or SIGINT
//! (Ctrl-C) stop it gracefully: WebSocket clients get close 1001, the process exits 0.
//!
//! The server runs as a child process on a loopback port 0; every wait has a deadline and
//! the child is killed if a test fails, so nothing outlives the test.

mod support;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{ws_connect, Www};
use tungstenite::Message;

/// A running `wiretap serve`, killed on drop.
struct Wiretap {
    child: Child,
    addr: SocketAddr,
    banner: String,
    /// Kept open: the server's stdout stays a live pipe.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Wiretap {
    fn start(www: &Www) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wiretap"))
            .args(["serve", "--addr", "127.0.0.1:0", "--threads", "2", "--www"])
            .arg(www.path())
            .arg("--captures")
            .arg(www.path().with_extension("captures"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn wiretap");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        stdout
            .read_line(&mut banner)
            .expect("read the start-up line");
        let mut recording = String::new();
        stdout
            .read_line(&mut recording)
            .expect("read the recording line");
        assert!(
            recording.contains("recording every connection into"),
            "{recording}"
        );
        // "wiretap: serving <dir> at http://127.0.0.1:PORT/ (...)"
        let addr = banner
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in {banner:?}"));
        Self {
            child,
            addr,
            banner,
            _stdout: stdout,
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the exit, at most `within`.
    fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "wiretap still running after {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Wiretap {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stops_on(signal: &str) {
    let www = Www::new();
    let mut server = Wiretap::start(&www);
    assert!(
        server.banner.contains(&www.path().display().to_string()),
        "{}",
        server.banner
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
