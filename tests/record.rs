//! Recording, end to end: what a client sent and received is, byte for byte, what the
//! capture of its connection holds, and the recorder keeps that promise at its edges.
//!
//! - Byte-exactness: a raw HTTP client (pipelined GETs, a HEAD, a 404) and the tungstenite
//!   WebSocket client (text, binary up to 100 KiB, a ping, a normal close) log every byte
//!   they write and read through the socket; the capture's two streams equal those logs.
//! - Endings: a graceful shutdown finalizes every open capture (`end.by` shutdown); a
//!   `kill -9` leaves a `.partial` that the next start finalizes (`end.by` crash) with
//!   every byte the client wrote more than 200 ms before the kill.
//! - Limits: the connection cap and the folder cap cut or delete captures while serving
//!   goes on; a file-size limit (`ulimit -f`, EFBIG) and a capture folder replaced by a
//!   file mark captures truncated or skip them, and never stop serving.
//! - `--no-record` records nothing.
//!
//! Everything runs on 127.0.0.1, port 0; every wait has a deadline; every capture folder
//! lives inside the test's [`Www`] fixture, which is removed on drop, and spawned servers
//! are killed on drop.

mod support;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{excerpt, get, tcp, ws_connect, Client, Wiretap, Www, BIG_LEN, IO_TIMEOUT};
use tungstenite::Message;
use wiretap::capture::{Capture, Direction, EndBy, Loaded, RecorderConfig, TruncationReason};
use wiretap::http::Method;
use wiretap::server::{Config, Running};

// ---------------------------------------------------------------------------------------
// Helpers.

/// A capture folder inside the fixture's temporary root (removed with it).
fn captures_dir(www: &Www, name: &str) -> PathBuf {
    www.path().parent().expect("www has a parent").join(name)
}

/// Recording into `dir`, without fsync (the tests do not survive power cuts anyway).
fn recording(dir: &Path) -> RecorderConfig {
    RecorderConfig {
        fsync: false,
        ..RecorderConfig::new(dir)
    }
}

/// An in-process server over `www` that records into `dir` as `tweak` says.
fn start_recording(
    www: &Www,
    dir: &Path,
    tweak: impl FnOnce(&mut RecorderConfig, &mut Config),
) -> Running {
    support::start(www, |config| {
        let mut record = recording(dir);
        tweak(&mut record, config);
        config.record = Some(record);
    })
}

/// The names of the files in `dir`, sorted.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Every file in `dir`, which must all be finalized captures (`.json`), loaded and sorted
/// by name (that is by start time).
fn finalized_captures(dir: &Path) -> Vec<(String, Loaded)> {
    file_names(dir)
        .into_iter()
        .map(|name| {
            assert!(
                name.ends_with(".json"),
                "{name}: not a finalized capture; the folder holds {:?}",
                file_names(dir)
            );
            let loaded = Capture::load(dir.join(&name))
                .unwrap_or_else(|e| panic!("{name} does not load: {e}"));
            (name, loaded)
        })
        .collect()
}

/// The one capture in `dir`, which loads without a warning.
fn only_capture(dir: &Path) -> Capture {
    let mut all = finalized_captures(dir);
    assert_eq!(
        all.len(),
        1,
        "expected one capture, found {:?}",
        file_names(dir)
    );
    let (name, loaded) = all.pop().unwrap();
    assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
    loaded.capture
}

/// Asserts that `capture`'s chunk times never decrease.
fn assert_times_non_decreasing(capture: &Capture) {
    for pair in capture.chunks.windows(2) {
        assert!(
            pair[0].t <= pair[1].t,
            "chunk times decrease: {} then {}",
            pair[0].t,
            pair[1].t
        );
    }
}

/// Asserts that two byte streams are equal, with a readable message when they are not.
fn assert_same_bytes(what: &str, recorded: &[u8], expected: &[u8]) {
    if recorded != expected {
        let first = recorded
            .iter()
            .zip(expected)
            .position(|(a, b)| a != b)
            .unwrap_or(recorded.len().min(expected.len()));
        panic!(
            "{what}: the capture holds {} bytes, the client logged {}; first difference at \
             byte {first}: recorded {:?}, expected {:?}",
            recorded.len(),
            expected.len(),
            excerpt(&recorded[first.min(recorded.len())..]),
            excerpt(&expected[first.min(expected.len())..]),
        );
    }
}

/// What a [`Tap`] saw go through its socket.
#[derive(Debug, Default)]
struct TapLog {
    /// Every byte written, in order.
    sent: Vec<u8>,
    /// Every byte read, in order.
    received: Vec<u8>,
    /// After each write: when it returned and how many bytes had been sent by then.
    writes: Vec<(Instant, usize)>,
}

impl TapLog {
    /// How many bytes had been written when `at` came.
    fn sent_by(&self, at: Instant) -> usize {
        self.writes
            .iter()
            .take_while(|(when, _)| *when <= at)
            .last()
            .map_or(0, |&(_, total)| total)
    }

    /// When the write that brought the total to at least `n` bytes returned.
    fn when_sent(&self, n: usize) -> Option<Instant> {
        self.writes
            .iter()
            .find(|&&(_, total)| total >= n)
            .map(|&(when, _)| when)
    }
}

/// A socket that logs every byte that crosses it: what a client really sent and received,
/// whatever library drives it.
#[derive(Debug)]
struct Tap {
    stream: TcpStream,
    log: Arc<Mutex<TapLog>>,
}

impl Tap {
    fn new(stream: TcpStream) -> (Self, Arc<Mutex<TapLog>>) {
        let log = Arc::new(Mutex::new(TapLog::default()));
        let tap = Self {
            stream,
            log: log.clone(),
        };
        (tap, log)
    }
}

impl Read for Tap {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read(buf)?;
        self.log
            .lock()
            .unwrap()
            .received
            .extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl Write for Tap {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.stream.write(buf)?;
        let mut log = self.log.lock().unwrap();
        log.sent.extend_from_slice(&buf[..n]);
        let total = log.sent.len();
        log.writes.push((Instant::now(), total));
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// The tungstenite client over a [`Tap`], after a completed handshake.
fn ws_tapped(addr: SocketAddr, path: &str) -> (tungstenite::WebSocket<Tap>, Arc<Mutex<TapLog>>) {
    let (tap, log) = Tap::new(tcp(addr));
    let (ws, response) = tungstenite::client::client(format!("ws://{addr}{path}"), tap)
        .unwrap_or_else(|e| panic!("websocket handshake to {path}: {e}"));
    assert_eq!(response.status(), 101);
    (ws, log)
}

/// Reads until tungstenite says the closing handshake is over and the server closed the
/// TCP connection; returns the messages read on the way.
fn read_until_closed(ws: &mut tungstenite::WebSocket<Tap>) -> Vec<Message> {
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut messages = Vec::new();
    loop {
        assert!(
            Instant::now() < deadline,
            "the close did not complete in time"
        );
        match ws.read() {
            Ok(message) => messages.push(message),
            Err(tungstenite::Error::ConnectionClosed) => return messages,
            Err(e) => panic!("while closing: {e}"),
        }
    }
}

/// `GET <target>` with `Connection: close`.
fn get_close(target: &str) -> Vec<u8> {
    get(target, "Connection: close\r\n")
}

/// Downloads `target` on a fresh connection that closes after it; returns the body.
fn download(addr: SocketAddr, target: &str) -> (SocketAddr, Vec<u8>) {
    let mut client = Client::connect(addr);
    let local = client.stream.local_addr().unwrap();
    client.send(&get_close(target));
    let response = client.response(Method::Get);
    assert_eq!(response.status(), 200, "{}", response.head_text());
    client.expect_closed(IO_TIMEOUT);
    (local, response.body)
}

// ---------------------------------------------------------------------------------------
// Byte-exactness.

#[test]
fn http_capture_holds_exactly_the_bytes_of_both_directions() {
    let www = Www::new();
    let dir = captures_dir(&www, "captures");
    let server = start_recording(&www, &dir, |_, _| {});

    let server_addr = server.addr();
    let mut client = Client::connect(server_addr);
    let client_addr = client.stream.local_addr().unwrap();
    let mut sent = Vec::new();
    // Two GETs pipelined in one write, then a HEAD and a 404 (which closes) in another.
    let first = [get("/small.bin", ""), get("/index.html", "")].concat();
    let second = [
        b"HEAD /big.bin HTTP/1.1\r\nHost: test\r\n\r\n".to_vec(),
        get_close("/missing"),
    ]
    .concat();
    for bytes in [&first, &second] {
        client.send(bytes);
        sent.extend_from_slice(bytes);
    }
    let received = client.read_until_closed(IO_TIMEOUT);
    drop(client);

    // The four answers came, in order.
    let text = String::from_utf8_lossy(&received);
    let statuses: Vec<&str> = text
        .match_indices("HTTP/1.1 ")
        .map(|(at, _)| &text[at + 9..at + 12])
        .collect();
    assert_eq!(
        statuses,
        ["200", "200", "200", "404"],
        "{}",
        excerpt(&received)
    );
    let small = www.read("small.bin");
    assert!(received.windows(small.len()).any(|w| w == small.as_slice()));

    server.stop().expect("the server stops");
    let capture = only_capture(&dir);
    assert_same_bytes(
        "client to server",
        &capture.stream(Direction::ClientToServer),
        &sent,
    );
    assert_same_bytes(
        "server to client",
        &capture.stream(Direction::ServerToClient),
        &received,
    );
    assert_times_non_decreasing(&capture);
    assert_eq!(capture.truncated, None);
    assert_eq!(capture.end.by, EndBy::Server, "{:?}", capture.end);
    assert!(capture.end.t >= capture.chunks.last().unwrap().t);
    assert_eq!(capture.client, client_addr.to_string());
    assert_eq!(capture.server, server_addr.to_string());
}

#[test]
fn websocket_capture_holds_exactly_the_bytes_of_both_directions() {
    let www = Www::new();
    let dir = captures_dir(&www, "captures");
    let server = start_recording(&www, &dir, |_, _| {});

    let server_addr = server.addr();
    let (mut ws, log) = ws_tapped(server_addr, "/echo");
    let client_addr = ws.get_ref().stream.local_addr().unwrap();
    let big = support::pseudo_random(100 * 1024, 7);
    let messages = [
        Message::text("hello, recorder"),
        Message::binary(vec![0u8, 1, 2, 0xff, 0xfe]),
        Message::binary(big),
        Message::text("after the big one: é ü ✓"),
    ];
    for message in &messages {
        ws.send(message.clone()).unwrap();
        assert_eq!(&ws.read().unwrap(), message);
    }
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .unwrap();
    match ws.read().unwrap() {
        Message::Pong(payload) => assert_eq!(&payload[..], b"are you there"),
        other => panic!("expected a pong, got {other:?}"),
    }
    ws.close(None).unwrap();
    let rest = read_until_closed(&mut ws);
    assert!(
        rest.iter().all(|m| matches!(m, Message::Close(_))),
        "{rest:?}"
    );
    drop(ws);

    server.stop().expect("the server stops");
    let capture = only_capture(&dir);
    let log = log.lock().unwrap();
    assert_same_bytes(
        "client to server",
        &capture.stream(Direction::ClientToServer),
        &log.sent,
    );
    assert_same_bytes(
        "server to client",
        &capture.stream(Direction::ServerToClient),
        &log.received,
    );
    assert_times_non_decreasing(&capture);
    assert_eq!(capture.truncated, None);
    assert_eq!(capture.end.by, EndBy::Client, "{:?}", capture.end);
    assert_eq!(capture.client, client_addr.to_string());
    assert_eq!(capture.server, server_addr.to_string());
}

// ---------------------------------------------------------------------------------------
// Endings.

#[test]
fn graceful_shutdown_finalizes_every_open_capture() {
    let www = Www::new();
    let dir = captures_dir(&www, "captures");
    let server = start_recording(&www, &dir, |_, _| {});
    let addr = server.addr();

    // Three WebSocket clients, each on its own thread: one echo, then they read until the
    // server closes (tungstenite answers the server's Close by itself).
    let (ready_tx, ready_rx) = mpsc::channel();
    let clients: Vec<_> = (0..3)
        .map(|i| {
            let ready = ready_tx.clone();
            thread::spawn(move || {
                let mut ws = ws_connect(addr, "/echo");
                let hello = Message::text(format!("client {i}"));
                ws.send(hello.clone()).unwrap();
                assert_eq!(ws.read().unwrap(), hello);
                ready.send(()).unwrap();
                let deadline = Instant::now() + IO_TIMEOUT;
                let mut code = None;
                loop {
                    assert!(Instant::now() < deadline, "client {i}: no close in time");
                    match ws.read() {
                        Ok(Message::Close(Some(frame))) => code = Some(u16::from(frame.code)),
                        Ok(_) => {}
                        Err(tungstenite::Error::ConnectionClosed) => return code,
                        Err(e) => panic!("client {i}: {e}"),
                    }
                }
            })
        })
        .collect();
    for _ in 0..3 {
        ready_rx
            .recv_timeout(IO_TIMEOUT)
            .expect("a WebSocket client is connected");
    }
    // One idle keep-alive HTTP connection.
    let mut idle = Client::connect(addr);
    let response = idle.get("/index.html");
    assert_eq!(response.status(), 200);

    // All four are live: their `.partial` files are there.
    let deadline = Instant::now() + IO_TIMEOUT;
    while file_names(&dir)
        .iter()
        .filter(|n| n.ends_with(".json.partial"))
        .count()
        < 4
    {
        assert!(
            Instant::now() < deadline,
            "expected 4 live captures, found {:?}",
            file_names(&dir)
        );
        thread::sleep(Duration::from_millis(10));
    }

    server.stop().expect("the server stops");
    for client in clients {
        assert_eq!(client.join().expect("client thread"), Some(1001));
    }
    idle.expect_closed(IO_TIMEOUT);

    let captures = finalized_captures(&dir);
    assert_eq!(captures.len(), 4, "{:?}", file_names(&dir));
    let mut websockets = 0;
    for (name, loaded) in &captures {
        assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
        let capture = &loaded.capture;
        assert_eq!(capture.end.by, EndBy::Shutdown, "{name}: {:?}", capture.end);
        let c2s = capture.stream(Direction::ClientToServer);
        let s2c = capture.stream(Direction::ServerToClient);
        if c2s
            .windows(18)
            .any(|w| w.eq_ignore_ascii_case(b"upgrade: websocket"))
        {
            websockets += 1;
            // The server's Close 1001 (0x03e9) is in the recording.
            assert!(
                s2c.windows(4)
                    .any(|w| w[0] == 0x88 && w[2..4] == [0x03, 0xe9]),
                "{name}: no close 1001 recorded"
            );
        }
    }
    assert_eq!(websockets, 3);
}

// Regression: the end of a `Connection: close` answer was decided after the linger (up to
// 1 s waiting for the client's FIN), so a shutdown during it recorded `shutdown` for a
// connection the server had closed by itself.
#[test]
fn connection_close_answer_ends_by_server_even_when_a_shutdown_follows() {
    let www = Www::new();
    let dir = captures_dir(&www, "captures");
    let server = start_recording(&www, &dir, |_, _| {});
    let mut client = Client::connect(server.addr());
    client.send(&get_close("/index.html"));
    let received = client.read_until_closed(IO_TIMEOUT);
    assert!(
        received.starts_with(b"HTTP/1.1 200 "),
        "{}",
        excerpt(&received)
    );
    // The client keeps its side open: the server lingers for its FIN while it stops.
    server.stop().expect("the server stops");
    drop(client);
    let capture = only_capture(&dir);
    assert_eq!(capture.end.by, EndBy::Server, "{:?}", capture.end);
}

// ---------------------------------------------------------------------------------------
// Limits.

#[test]
fn connection_cap_truncates_the_capture_and_serving_goes_on() {
    const CAP: u64 = 4096;
    let www = Www::new();
    let dir = captures_dir(&www, "captures");
    let server = start_recording(&www, &dir, |record, _| record.max_connection_bytes = CAP);

    let mut client = Client::connect(server.addr());
    let request = get_close("/big.bin");
    client.send(&request);
    let received = client.read_until_closed(IO_TIMEOUT);
    drop(client);
    let big = www.read("big.bin");
    let head_end = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    assert!(
        received.starts_with(b"HTTP/1.1 200 "),
        "{}",
        excerpt(&received)
    );
    assert_eq!(received.len() - head_end, BIG_LEN);
    assert!(
        received[head_end..] == big[..],
        "the body differs from big.bin"
    );

    server.stop().expect("the server stops");
    let capture = only_capture(&dir);
    let truncated = capture
        .truncated
        .as_ref()
        .expect("the capture is truncated");
    assert_eq!(truncated.reason, TruncationReason::ConnectionCap);
    let c2s = capture.stream(Direction::ClientToServer);
    let s2c = capture.stream(Direction::ServerToClient);
    assert_eq!(truncated.c2s, c2s.len() as u64, "{truncated:?}");
    assert_eq!(truncated.s2c, s2c.len() as u64, "{truncated:?}");
    assert!(truncated.c2s + truncated.s2c <= CAP, "{truncated:?}");
    assert_eq!(c2s, request, "the request is recorded whole");
    assert!(
        received.starts_with(&s2c),
        "what was recorded is what the client got first"
    );
    assert!(capture.chunks.iter().all(|c| c.t <= truncated.t));
    assert_times_non_decreasing(&capture);
    assert_eq!(capture.end.by, EndBy::Server, "{:?}", capture.end);
    assert!(capture.end.t >= truncated.t);
}

#[test]
fn folder_cap_deletes_the_oldest_captures_and_keeps_the_newest() {
    const CAP: u64 = 64 * 1024;
    const CONNECTIONS: usize = 40;
    let www = Www::new();
    let dir = captures_dir(&www, "captures");
    let server = start_recording(&www, &dir, |record, _| record.max_folder_bytes = CAP);

    let small = www.read("small.bin");
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, body) = download(server.addr(), "/small.bin");
        assert!(body == small, "small.bin served wrong");
        clients.push(client.to_string());
    }
    server.stop().expect("the server stops");

    let captures = finalized_captures(&dir);
    let mut total = 0;
    let mut largest = 0;
    let mut kept = Vec::new();
    for (name, loaded) in &captures {
        assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
        assert_eq!(loaded.capture.truncated, None, "{name}");
        let size = std::fs::metadata(dir.join(name)).unwrap().len();
        total += size;
        largest = largest.max(size);
        let index = clients
            .iter()
            .position(|c| *c == loaded.capture.client)
            .unwrap_or_else(|| panic!("{name}: unknown client {}", loaded.capture.client));
        kept.push(index);
    }
    // Each finalization deletes the oldest finalized captures until finalized + live
    // bytes are within the cap (only the capture just finalized may stay over it alone).
    // At rest nothing is live, so the files on disk sum to at most the cap itself, not
    // the cap plus one capture.
    assert!(
        total <= CAP,
        "{total} bytes of captures, cap {CAP}: {:?}",
        file_names(&dir)
    );
    // Deleting stops once under the cap: one more capture of about the same size would
    // not fit (a margin of two for the few bytes that differ between captures).
    assert!(
        total + 2 * largest > CAP,
        "{total} bytes kept, largest capture {largest}: more deleted than needed"
    );
    // Names sort by start time, and the connections were made one after the other: what
    // is kept is the newest ones, in order, and the oldest went.
    let k = kept.len();
    assert!(k > 0 && k < CONNECTIONS, "{k} captures kept");
    assert_eq!(
        kept,
        (CONNECTIONS - k..CONNECTIONS).collect::<Vec<_>>(),
        "the kept captures are not the newest ones"
    );
}

#[test]
fn file_size_limit_truncates_captures_with_write_error_and_serving_goes_on() {
    // `ulimit -f 64`: no file of the process may pass 64 blocks of 512 bytes (32 KiB); a
    // write beyond gets EFBIG ("File too large") instead of the fatal SIGXFSZ, which the
    // trap ignores (an ignored signal stays ignored across exec). A big.bin capture is
    // about 600 KiB of hex, so its writes fail; small files (the log, truncated
    // documents) still fit.
    let www = Www::new();
    let dir = captures_dir(&www, "captures");
    let log = captures_dir(&www, "wiretap.log");
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_wiretap"))
        .args(Wiretap::serve_args(
            &www,
            &["--captures", dir.to_str().unwrap(), "--log-level", "warn"],
        ));
    let mut server = Wiretap::spawn(command, &log);
    assert!(
        server.recording.contains("recording every connection into"),
        "{}",
        server.recording
    );

    let big = www.read("big.bin");
    let mut big_clients = Vec::new();
    for i in 0..5 {
        let (client, body) = download(server.addr, "/big.bin");
        big_clients.push(client.to_string());
        assert_eq!(body.len(), BIG_LEN, "download {i}");
        assert!(body == big, "download {i}: the body differs from big.bin");
    }
    // Small connections are still served, and recorded.
    let (small_client, small) = download(server.addr, "/small.bin");
    assert!(small == www.read("small.bin"));
    server.stop();

    let log_text = server.log_text();
    let mut big_captures = 0;
    let mut small_recorded = false;
    for (name, loaded) in finalized_captures(&dir) {
        assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
        let capture = loaded.capture;
        let c2s = capture.stream(Direction::ClientToServer);
        if big_clients.contains(&capture.client) {
            big_captures += 1;
            let truncated = capture
                .truncated
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: not truncated"));
            assert_eq!(truncated.reason, TruncationReason::WriteError, "{name}");
            assert!(
                truncated
                    .detail
                    .as_deref()
                    .is_some_and(|d| d.contains("File too large")),
                "{name}: {truncated:?}"
            );
            assert_eq!(truncated.c2s, c2s.len() as u64, "{name}");
            assert_eq!(
                truncated.s2c,
                capture.stream(Direction::ServerToClient).len() as u64,
                "{name}"
            );
            assert_eq!(capture.end.by, EndBy::Server, "{name}: {:?}", capture.end);
        } else if capture.client == small_client.to_string() {
            small_recorded = true;
            assert_eq!(capture.truncated, None, "{name}");
        }
    }
    assert_eq!(big_captures, 5, "{:?}", file_names(&dir));
    assert!(small_recorded, "the small download was not recorded");
    // Logged once per cause, not once per chunk or per capture. Regression: it was once
    // per capture (see `errors_tests` in src/capture/writer.rs).
    let mentions = log_text
        .lines()
        .filter(|l| l.contains("File too large"))
        .count();
    assert!(
        (1..=2).contains(&mentions),
        "the write error is logged {mentions} times:\n{log_text}"
    );
}

#[test]
fn capture_folder_replaced_by_a_file_does_not_stop_serving() {
    let www = Www::new();
    let dir = captures_dir(&www, "captures");
    let server = start_recording(&www, &dir, |_, _| {});
    let addr = server.addr();
    let small = www.read("small.bin");

    let (_, body) = download(addr, "/small.bin");
    assert!(body == small);
    // A keep-alive connection whose `.partial` goes with the folder.
    let mut live = Client::connect(addr);
    assert_eq!(live.get("/index.html").status(), 200);

    // Root ignores permissions, so the folder is made unusable by replacing it. The
    // writer may be creating or renaming a file in it meanwhile (ENOTEMPTY): try again.
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Err(e) = std::fs::remove_dir_all(&dir) {
        assert!(
            Instant::now() < deadline,
            "cannot remove {}: {e}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::fs::write(&dir, b"not a folder").unwrap();
    for _ in 0..3 {
        let (_, body) = download(addr, "/small.bin");
        assert!(body == small, "served wrong while the folder is a file");
    }
    let response = live.get("/small.bin");
    assert_eq!(response.status(), 200);
    assert!(response.body == small);

    // The folder comes back: new connections are recorded again.
    std::fs::remove_file(&dir).unwrap();
    std::fs::create_dir(&dir).unwrap();
    let (after, body) = download(addr, "/small.bin");
    assert!(body == small);
    drop(live);

    server.stop().expect("the server stops, without a panic");
    let captures = finalized_captures(&dir);
    let recorded = captures
        .iter()
        .find(|(_, loaded)| loaded.capture.client == after.to_string())
        .unwrap_or_else(|| panic!("no capture of the last download: {:?}", file_names(&dir)));
    assert_eq!(
        recorded.1.capture.stream(Direction::ClientToServer),
        get_close("/small.bin")
    );
    assert_eq!(recorded.1.capture.truncated, None);
}

// ---------------------------------------------------------------------------------------
// The binary: kill -9, and --no-record.

#[test]
fn kill_9_leaves_a_capture_the_next_start_finalizes() {
    let www = Www::new();
    let dir = captures_dir(&www, "captures");
    let args = Wiretap::serve_args(
        &www,
        &["--captures", dir.to_str().unwrap(), "--log-level", "warn"],
    );
    let mut first = {
        let mut command = Wiretap::command();
        command.args(&args);
        Wiretap::spawn(command, &captures_dir(&www, "first.log"))
    };

    let (mut ws, log) = ws_tapped(first.addr, "/echo");
    ws.get_ref()
        .stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    // The client: a text message every 5 ms carrying its sequence number and send time,
    // each echo read before the next, until the server is gone (or 10 s, a bound).
    let client = thread::spawn(move || {
        let started = Instant::now();
        let mut sent = 0u64;
        let mut echoed = 0u64;
        let mut wrong = Vec::new();
        while started.elapsed() < Duration::from_secs(10) {
            let text = format!("seq {sent:06} sent at {} us", started.elapsed().as_micros());
            if ws.send(Message::text(text.clone())).is_err() {
                break;
            }
            sent += 1;
            match ws.read() {
                Ok(Message::Text(echo)) if echo.as_str() == text => echoed += 1,
                Ok(other) => wrong.push(format!("{other:?}")),
                Err(_) => break,
            }
            thread::sleep(Duration::from_millis(5));
        }
        // Whatever the server wrote and we did not read yet.
        let tap = ws.get_mut();
        let mut buf = [0u8; 4096];
        while let Ok(n) = tap.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
        (sent, echoed, wrong)
    });

    thread::sleep(Duration::from_millis(1500));
    let sent_before_kill = log.lock().unwrap().sent.len();
    assert!(sent_before_kill > 0);
    // The instant is taken before the signal is sent: the real kill comes later, so the
    // 200 ms window below is, if anything, wider than 200 ms.
    let kill_at = Instant::now();
    first.signal("9");
    let status = first.wait(IO_TIMEOUT);
    assert_eq!(status.code(), None, "killed by a signal: {status:?}");
    let (messages, echoed, wrong) = client.join().expect("client thread");
    assert!(wrong.is_empty(), "unexpected messages: {wrong:?}");
    assert!(messages >= 50, "only {messages} messages sent");
    assert!(echoed + 1 >= messages, "{echoed} echoes of {messages}");
    let partials: Vec<String> = file_names(&dir)
        .into_iter()
        .filter(|n| n.ends_with(".json.partial"))
        .collect();
    assert_eq!(partials.len(), 1, "{:?}", file_names(&dir));

    // The restart finalizes what the crash left, and says so.
    let mut second = {
        let mut command = Wiretap::command();
        command.args(&args);
        Wiretap::spawn(command, &captures_dir(&www, "second.log"))
    };
    assert_ne!(second.addr, first.addr);
    let line = second.wait_for_log("left unfinished by a crash", IO_TIMEOUT);
    assert!(line.contains("finalized 1 capture(s)"), "{line}");
    assert!(line.contains("WARN"), "{line}");
    second.stop();

    let captures = finalized_captures(&dir);
    assert_eq!(captures.len(), 1, "{:?}", file_names(&dir));
    let (name, loaded) = &captures[0];
    assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
    let capture = &loaded.capture;
    assert_eq!(capture.end.by, EndBy::Crash, "{name}: {:?}", capture.end);
    assert!(capture.recovered.is_some(), "{name}: not marked recovered");
    assert_eq!(capture.truncated, None);
    assert_times_non_decreasing(capture);

    let log = log.lock().unwrap();
    let c2s = capture.stream(Direction::ClientToServer);
    let s2c = capture.stream(Direction::ServerToClient);
    // What the server read is what the client wrote, from the first byte on.
    assert!(
        log.sent.starts_with(&c2s),
        "the recovered c2s stream ({} bytes) is not a prefix of what the client sent",
        c2s.len()
    );
    // Lines reach the OS within the flush interval (100 ms): everything written 200 ms
    // before the kill is in the file.
    let due = log.sent_by(kill_at - Duration::from_millis(200));
    assert!(
        c2s.len() >= due,
        "recovered {} bytes client to server, but the client had written {due} bytes 200 ms \
         before the kill",
        c2s.len()
    );
    // Both the recorded s2c stream and what the client read are prefixes of what the
    // server wrote (it records each write after it returns; the client may not have read
    // everything, and a reset may discard what it had not read): so one is a prefix of
    // the other.
    let common = s2c.len().min(log.received.len());
    assert_eq!(
        s2c[..common],
        log.received[..common],
        "server to client: the capture and the client disagree within their first \
         {common} bytes"
    );
    assert!(
        s2c.windows(10).any(|w| w == b"seq 000000"),
        "the recorded s2c stream holds no echo"
    );
    let last_recorded = log
        .when_sent(c2s.len())
        .expect("a write reached that total");
    eprintln!(
        "kill -9: client sent {} bytes ({messages} messages, {} bytes by kill - 200 ms, {} \
         when the kill was decided); recovered c2s {} bytes, the last of them written {:?} \
         before the kill; s2c recovered {} bytes, client read {}",
        log.sent.len(),
        due,
        sent_before_kill,
        c2s.len(),
        kill_at.saturating_duration_since(last_recorded),
        s2c.len(),
        log.received.len(),
    );
}

#[test]
fn no_record_records_nothing() {
    let www = Www::new();
    let dir = captures_dir(&www, "never");
    let mut command = Wiretap::command();
    command.args(Wiretap::serve_args(
        &www,
        &["--no-record", "--captures", dir.to_str().unwrap()],
    ));
    let mut server = Wiretap::spawn(command, &captures_dir(&www, "wiretap.log"));
    assert!(
        server.banner.starts_with("wiretap: serving "),
        "{}",
        server.banner
    );
    assert!(
        server.recording.contains("not recording"),
        "{}",
        server.recording
    );
    let (_, body) = download(server.addr, "/small.bin");
    assert!(body == www.read("small.bin"));
    server.stop();
    assert!(!dir.exists(), "{} was created", dir.display());
}
