//! What the end-to-end tests share: a `www/` fixture built per test, a server started on
//! loopback port 0 with short timeouts, and raw-socket clients that read HTTP responses and
//! WebSocket frames with a deadline on every wait.
//!
//! The responses are parsed with the crate's own sans-IO [`ResponseParser`] and
//! [`BodyDecoder`]: they are unit-tested and fuzzed on their own, and a response the parser
//! refuses fails the test, which is the claim we want (the server speaks valid HTTP). The
//! WebSocket frame reader is a small one of its own, independent of `wiretap::ws`.
//!
//! No helper can hang: every socket gets read and write timeouts of [`IO_TIMEOUT`], and
//! every loop that waits for the server also checks a deadline.

// Each test crate uses its own subset of these helpers, and a test crate exports nothing:
// `pub` here only means "shared between the test files".
#![allow(dead_code, unreachable_pub)]

use std::io::{self, BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wiretap::fuzzing::XorShift;
use wiretap::http::{BodyDecoder, Limits, Method, ResponseHead, ResponseParser, Status};
use wiretap::server::{Config, Running};

/// The longest any single wait on a socket may take before the test fails.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// What `canary.txt`, outside `www/`, holds: no response may ever contain it.
pub const CANARY: &str = "CANARY-7f3a9c1e-outside-www-must-never-be-served";
/// What `www/.secret` holds: dotfiles are not served either.
pub const SECRET: &str = "SECRET-b81e44d2-dotfile-must-never-be-served";
/// `www/index.html`.
pub const INDEX_HTML: &str = "<!doctype html>\n<title>wiretap</title>\n<p>hello from www</p>\n";
/// `www/sub/index.html`.
pub const SUB_INDEX_HTML: &str = "<!doctype html>\n<p>the sub folder</p>\n";
/// The modification time of every fixture file: 2024-01-01T00:00:00Z, so `Last-Modified`
/// is known in advance.
pub const MTIME_SECS: u64 = 1_704_067_200;
/// [`MTIME_SECS`] as an IMF-fixdate.
pub const MTIME_HTTP: &str = "Mon, 01 Jan 2024 00:00:00 GMT";
/// Size of `www/small.bin`.
pub const SMALL_LEN: usize = 1024;
/// Size of `www/big.bin`.
pub const BIG_LEN: usize = 300 * 1024;

/// `len` pseudo-random bytes, the same for the same seed on every run.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = XorShift::new(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A temporary folder holding `canary.txt` and a `www/` beside it; removed on drop.
///
/// ```text
/// canary.txt              CANARY (outside www)
/// www/index.html          INDEX_HTML
/// www/small.bin           1 KiB, seed 1
/// www/big.bin             300 KiB, seed 2
/// www/sub/index.html      SUB_INDEX_HTML
/// www/.secret             SECRET
/// www/escape -> ../canary.txt
/// ```
#[derive(Debug)]
pub struct Www {
    root: PathBuf,
    www: PathBuf,
}

impl Www {
    /// Builds the fixture in a fresh folder under the system temp dir.
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "wiretap-e2e-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        let www = root.join("www");
        std::fs::create_dir_all(www.join("sub")).unwrap();
        let fixture = Self { root, www };
        fixture.write_at(&fixture.root.join("canary.txt"), CANARY.as_bytes());
        fixture.write("index.html", INDEX_HTML.as_bytes());
        fixture.write("small.bin", &pseudo_random(SMALL_LEN, 1));
        fixture.write("big.bin", &pseudo_random(BIG_LEN, 2));
        fixture.write("sub/index.html", SUB_INDEX_HTML.as_bytes());
        fixture.write(".secret", SECRET.as_bytes());
        std::os::unix::fs::symlink("../canary.txt", fixture.www.join("escape")).unwrap();
        fixture
    }

    /// The `www/` folder.
    pub fn path(&self) -> &Path {
        &self.www
    }

    /// Writes `www/<name>` with the fixture's fixed modification time.
    pub fn write(&self, name: &str, bytes: &[u8]) {
        self.write_at(&self.www.join(name), bytes);
    }

    fn write_at(&self, path: &Path, bytes: &[u8]) {
        let mut file = std::fs::File::create(path).unwrap();
        file.write_all(bytes).unwrap();
        file.set_modified(UNIX_EPOCH + Duration::from_secs(MTIME_SECS))
            .unwrap();
    }

    /// The bytes of `www/<name>`.
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.www.join(name)).unwrap()
    }
}

impl Drop for Www {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The configuration every test starts from: loopback port 0, two executor threads, and
/// timeouts short enough that a test never waits on one by accident.
pub fn config(www: &Www) -> Config {
    Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        www: www.path().to_owned(),
        header_timeout: Duration::from_secs(5),
        keep_alive_timeout: Duration::from_secs(5),
        ws_ping_interval: Duration::from_secs(30),
        ws_idle_timeout: Duration::from_secs(60),
        write_timeout: Duration::from_secs(3),
        shutdown_grace: Duration::from_secs(2),
        threads: 2,
        ..Config::default()
    }
}

/// Starts a server over `www` with [`config`] as changed by `tweak`. Declare it after the
/// `Www` and before the clients, so that it stops before the folder goes and after the
/// clients hung up.
pub fn start(www: &Www, tweak: impl FnOnce(&mut Config)) -> Running {
    let mut config = config(www);
    tweak(&mut config);
    wiretap::server::start(config).expect("server starts")
}

/// A std `TcpStream` to `addr` with read and write timeouts of [`IO_TIMEOUT`].
pub fn tcp(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// `GET <target> HTTP/1.1` with a Host and the `extra` field lines (each ending in CRLF).
pub fn get(target: &str, extra: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: test\r\n{extra}\r\n").into_bytes()
}

/// Whether an I/O error is a read timeout (`WouldBlock` on Unix, `TimedOut` elsewhere).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Whether an I/O error means the peer is gone.
pub fn is_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// At most the first 300 bytes of `bytes` as text, with the total length when cut: failure
/// messages stay readable when a test has megabytes in hand.
pub fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX)]).into_owned();
    if bytes.len() > MAX {
        format!("{text}... ({} bytes in all)", bytes.len())
    } else {
        text
    }
}

/// One HTTP response as it came off the wire.
#[derive(Debug)]
pub struct Response {
    /// The parsed head.
    pub head: ResponseHead,
    /// The decoded body.
    pub body: Vec<u8>,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.head.status()
    }

    /// The first value of field `name` as text; panics when it is absent.
    pub fn field(&self, name: &str) -> &str {
        self.try_field(name)
            .unwrap_or_else(|| panic!("no {name} field in {:?}", self.head_text()))
    }

    /// The first value of field `name` as text, if present.
    pub fn try_field(&self, name: &str) -> Option<&str> {
        self.head
            .field(name)
            .map(|v| std::str::from_utf8(v).expect("field value is text"))
    }

    /// The head as text, for failure messages.
    pub fn head_text(&self) -> String {
        String::from_utf8_lossy(self.head.as_bytes()).into_owned()
    }

    /// The start of the body as text, for failure messages.
    pub fn body_text(&self) -> String {
        excerpt(&self.body)
    }
}

/// A raw client socket with its unread bytes: send anything, read responses and frames.
#[derive(Debug)]
pub struct Client {
    /// The socket, timeouts set.
    pub stream: TcpStream,
    /// Bytes read but not yet parsed.
    pub buf: Vec<u8>,
}

/// What one bounded read brought.
#[derive(Debug, PartialEq, Eq)]
pub enum Got {
    /// This many bytes were appended to the buffer.
    Data(usize),
    /// The server closed the connection (EOF, or a reset).
    Closed,
    /// Nothing before the deadline.
    Nothing,
}

impl Client {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> Self {
        Self::from_stream(tcp(addr))
    }

    /// Wraps a connected socket.
    pub fn from_stream(stream: TcpStream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes all of `bytes`.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the server");
    }

    /// Reads once, waiting at most `wait` (which must be non-zero).
    pub fn read_some(&mut self, wait: Duration) -> Got {
        self.stream
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
            .unwrap();
        let mut chunk = [0u8; 64 * 1024];
        let got = match self.stream.read(&mut chunk) {
            Ok(0) => Got::Closed,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Got::Data(n)
            }
            Err(e) if is_timeout(&e) => Got::Nothing,
            Err(e) if is_gone(&e) => Got::Closed,
            Err(e) => panic!("read: {e}"),
        };
        self.stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        got
    }

    /// Reads until `ready` says the buffer holds enough, the server closes, or `deadline`.
    /// Returns whether `ready` was satisfied.
    fn fill_until(&mut self, deadline: Instant, mut ready: impl FnMut(&[u8]) -> bool) -> bool {
        loop {
            if ready(&self.buf) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.read_some(left) {
                Got::Data(_) => {}
                Got::Closed | Got::Nothing => return ready(&self.buf),
            }
        }
    }

    /// Takes the next `n` bytes the server sends, or panics when they do not come within
    /// `within`.
    pub fn take(&mut self, n: usize, within: Duration) -> Vec<u8> {
        let deadline = Instant::now() + within;
        assert!(
            self.fill_until(deadline, |buf| buf.len() >= n),
            "expected {n} bytes within {within:?}, got {:?}",
            self.buf_text()
        );
        self.buf.drain(..n).collect()
    }

    /// Sends `GET <target>` and reads its response.
    pub fn get(&mut self, target: &str) -> Response {
        self.send(&get(target, ""));
        self.response(Method::Get)
    }

    /// Reads one whole response to a `method` request; panics when it does not arrive
    /// within [`IO_TIMEOUT`] or is malformed.
    pub fn response(&mut self, method: Method) -> Response {
        self.try_response(method)
            .unwrap_or_else(|e| panic!("reading a response: {e}; got {:?}", self.buf_text()))
    }

    /// Reads one whole response to a `method` request, or says why there is none.
    pub fn try_response(&mut self, method: Method) -> Result<Response, String> {
        self.try_response_within(method, IO_TIMEOUT)
    }

    /// Reads one whole response to a `method` request within `within`, or says why there
    /// is none.
    pub fn try_response_within(
        &mut self,
        method: Method,
        within: Duration,
    ) -> Result<Response, String> {
        let deadline = Instant::now() + within;
        let limits = Limits {
            max_body: u64::MAX,
            ..Limits::default()
        };
        let mut parser = ResponseParser::with_limits(limits.clone());
        let head = loop {
            if !self.buf.is_empty() {
                match parser.parse(&self.buf, method) {
                    Ok(Status::Complete { value, consumed }) => {
                        self.buf.drain(..consumed);
                        if value.is_interim() {
                            continue;
                        }
                        break value;
                    }
                    Ok(Status::Partial) => {}
                    Err(e) => return Err(format!("malformed response head: {e}")),
                }
            }
            if Instant::now() >= deadline {
                return Err("no response head in time".into());
            }
            match self.read_some(deadline.saturating_duration_since(Instant::now())) {
                Got::Data(_) => {}
                Got::Closed => return Err("connection closed before a response head".into()),
                Got::Nothing => return Err("no response head in time".into()),
            }
        };
        let mut decoder = BodyDecoder::with_limits(head.body(), &limits);
        let mut body = Vec::new();
        while !decoder.is_done() {
            let progress = decoder
                .decode(&self.buf)
                .map_err(|e| format!("malformed response body: {e}"))?;
            body.extend_from_slice(&self.buf[progress.data.clone()]);
            self.buf.drain(..progress.consumed);
            if progress.done {
                break;
            }
            if progress.consumed > 0 && !self.buf.is_empty() {
                continue;
            }
            if Instant::now() >= deadline {
                return Err(format!("body incomplete after {} bytes", body.len()));
            }
            match self.read_some(deadline.saturating_duration_since(Instant::now())) {
                Got::Data(_) => {}
                Got::Closed => {
                    decoder
                        .finish()
                        .map_err(|e| format!("after {} body bytes: {e}", body.len()))?;
                    break;
                }
                Got::Nothing => return Err(format!("body incomplete after {} bytes", body.len())),
            }
        }
        Ok(Response { head, body })
    }

    /// Reads until the server closes, within `within`; returns what arrived (the unread
    /// buffer included). Panics if the connection is still open at the end.
    pub fn read_until_closed(&mut self, within: Duration) -> Vec<u8> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the server did not close the connection within {within:?}; got {:?}",
                self.buf_text()
            );
            match self.read_some(left) {
                Got::Data(_) => {}
                Got::Closed => return std::mem::take(&mut self.buf),
                Got::Nothing => {}
            }
        }
    }

    /// Asserts that the server closes the connection within `within` without sending
    /// anything more.
    pub fn expect_closed(&mut self, within: Duration) {
        let rest = self.read_until_closed(within);
        assert!(
            rest.is_empty(),
            "expected the connection to close, got {:?}",
            excerpt(&rest)
        );
    }

    /// Asserts that nothing arrives and the connection stays open for `wait`.
    pub fn expect_silence(&mut self, wait: Duration) {
        match self.read_some(wait) {
            Got::Nothing => {}
            other => panic!("expected silence, got {other:?}: {:?}", self.buf_text()),
        }
    }

    /// The start of the unread buffer as text, for failure messages.
    pub fn buf_text(&self) -> String {
        excerpt(&self.buf)
    }

    /// Closes our sending side.
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

// ---------------------------------------------------------------------------------------
// WebSocket over a raw socket.

/// RFC 6455 opcodes.
pub mod opcode {
    /// Continuation frame.
    pub const CONTINUATION: u8 = 0x0;
    /// Text frame.
    pub const TEXT: u8 = 0x1;
    /// Binary frame.
    pub const BINARY: u8 = 0x2;
    /// Close frame.
    pub const CLOSE: u8 = 0x8;
    /// Ping frame.
    pub const PING: u8 = 0x9;
    /// Pong frame.
    pub const PONG: u8 = 0xA;
}

/// The key of RFC 6455 §1.3's example, and its accept value.
pub const WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// `base64(sha1(WS_KEY + GUID))`, from RFC 6455 §1.3.
pub const WS_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// An opening handshake for `path`; `fields` are extra field lines (each ending in CRLF).
pub fn ws_request(path: &str, fields: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         {fields}\r\n"
    )
    .into_bytes()
}

/// One frame as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The FIN bit.
    pub fin: bool,
    /// The opcode.
    pub opcode: u8,
    /// The (unmasked) payload.
    pub payload: Vec<u8>,
}

impl Frame {
    /// The status code of a Close frame (`None` when its payload is empty).
    pub fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, opcode::CLOSE, "not a close frame: {self:?}");
        (self.payload.len() >= 2).then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// A frame as a client sends it: `mask` is `None` for the unmasked frames that servers must
/// refuse.
pub fn client_frame(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    let masked = if mask.is_some() { 0x80 } else { 0 };
    let n = payload.len();
    if n < 126 {
        out.push(masked | n as u8);
    } else if n <= 0xFFFF {
        out.push(masked | 126);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(masked | 127);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A masked, final client frame.
pub fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
    client_frame(true, opcode, payload, Some([0x5a, 0x17, 0xc3, 0x9e]))
}

/// Parses one server frame from the front of `buf`: the frame and its length, or `None`
/// when more bytes are needed. Server frames are never masked (RFC 6455 §5.1).
pub fn parse_frame(buf: &[u8]) -> Option<(Frame, usize)> {
    if buf.len() < 2 {
        return None;
    }
    assert_eq!(buf[1] & 0x80, 0, "the server masked a frame");
    let (len, at) = match buf[1] & 0x7f {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().unwrap()) as usize,
            4,
        ),
        127 => (
            usize::try_from(u64::from_be_bytes(buf.get(2..10)?.try_into().unwrap())).unwrap(),
            10,
        ),
        n => (n as usize, 2),
    };
    let payload = buf.get(at..at + len)?.to_vec();
    let frame = Frame {
        fin: buf[0] & 0x80 != 0,
        opcode: buf[0] & 0x0f,
        payload,
    };
    Some((frame, at + len))
}

impl Client {
    /// Opens `path` with a valid handshake and checks the 101.
    pub fn upgrade(addr: SocketAddr, path: &str) -> Self {
        let mut client = Self::connect(addr);
        client.send(&ws_request(
            path,
            &format!("Sec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 13\r\n"),
        ));
        let response = client.response(Method::Get);
        assert_eq!(response.status(), 101, "{}", response.head_text());
        assert_eq!(response.field("sec-websocket-accept"), WS_ACCEPT);
        client
    }

    /// Reads one frame within [`IO_TIMEOUT`]; `None` when the server closed the connection
    /// first.
    pub fn read_frame(&mut self) -> Option<Frame> {
        self.read_frame_within(IO_TIMEOUT)
    }

    /// Reads one frame within `within`; `None` when the server closed the connection or
    /// nothing came in time.
    pub fn read_frame_within(&mut self, within: Duration) -> Option<Frame> {
        let deadline = Instant::now() + within;
        self.fill_until(deadline, |buf| parse_frame(buf).is_some());
        let (frame, len) = parse_frame(&self.buf)?;
        self.buf.drain(..len);
        Some(frame)
    }

    /// Reads frames until a Close and returns its code; panics if the connection ends (or
    /// the time runs out) first.
    pub fn read_close_code(&mut self) -> Option<u16> {
        loop {
            match self.read_frame() {
                Some(frame) if frame.opcode == opcode::CLOSE => return frame.close_code(),
                Some(_) => {}
                None => panic!(
                    "the connection ended without a close frame; unread {:?}",
                    self.buf_text()
                ),
            }
        }
    }
}

/// A tungstenite client over a std socket with timeouts, after a completed handshake.
pub fn ws_connect(addr: SocketAddr, path: &str) -> tungstenite::WebSocket<TcpStream> {
    let (ws, response) = tungstenite::client::client(format!("ws://{addr}{path}"), tcp(addr))
        .unwrap_or_else(|e| panic!("websocket handshake to {path}: {e}"));
    assert_eq!(response.status(), 101);
    ws
}

/// The soft limit on open file descriptors, from `/proc/self/limits` (Linux), if known.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Seconds since 1970 of `SystemTime::now()`.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---------------------------------------------------------------------------------------
// The binary as a child process (tests/cli.rs, tests/record.rs).

/// A `wiretap serve` child process, killed on drop.
pub struct Wiretap {
    pub child: Child,
    pub addr: SocketAddr,
    /// The first two lines of its stdout: the banner and the recording line.
    pub banner: String,
    pub recording: String,
    /// Where its stderr (the log) goes.
    pub log: PathBuf,
}

impl Wiretap {
    /// The binary itself.
    pub fn command() -> Command {
        Command::new(env!("CARGO_BIN_EXE_wiretap"))
    }

    /// `serve` on a loopback port 0 over `www`, with `args` after.
    pub fn serve_args(www: &Www, args: &[&str]) -> Vec<String> {
        let mut all: Vec<String> = ["serve", "--addr", "127.0.0.1:0", "--threads", "2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        all.push("--www".into());
        all.push(www.path().display().to_string());
        all.extend(args.iter().map(|s| s.to_string()));
        all
    }

    /// Spawns `command` (which runs the binary, perhaps through `sh`), its stderr into
    /// the file `log`, and reads the first two lines of its stdout. The stdout pipe stays
    /// open for as long as the child lives: a thread keeps reading it.
    pub fn spawn(mut command: Command, log: &Path) -> Self {
        let stderr = std::fs::File::create(log).expect("create the log file");
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn wiretap");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Nobody listens any more: keep draining so the pipe stays open.
                    continue;
                }
            }
        });
        let next_line = || {
            rx.recv_timeout(IO_TIMEOUT).unwrap_or_else(|e| {
                panic!(
                    "no start-up line from wiretap ({e}); its log: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                )
            })
        };
        let banner = next_line();
        let recording = next_line();
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
            recording,
            log: log.to_owned(),
        }
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the exit, at most `within`.
    pub fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
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

    /// SIGTERM, then the exit, which must be 0.
    pub fn stop(&mut self) {
        self.signal("TERM");
        let status = self.wait(IO_TIMEOUT);
        assert_eq!(
            status.code(),
            Some(0),
            "{status:?}; log: {}",
            self.log_text()
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has a line containing `needle`, at most `within`.
    pub fn wait_for_log(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self.log_text();
            if let Some(line) = text.lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?} within {within:?}; log: {text}"
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
