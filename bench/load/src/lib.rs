//! The pieces `ws-load` and `ws-echo-reference` share: a small flag parser, the loopback
//! guard, a raw WebSocket client (RFC 6455 client side over a tokio `TcpStream`) and a
//! latency histogram.
//!
//! Not for: anything wiretap itself runs. This crate is its own workspace so the main build
//! and `cargo test` never compile tokio.
//!
//! The client is raw on purpose: it builds each masked frame once and patches only the
//! sequence stamps per message, and it compares the echo in place in its read buffer, so
//! the load generator spends as little of the two shared cores as it can, and spends the
//! same on every server.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Largest echoed frame the client accepts: wiretap's and tungstenite's default frame limit.
pub const MAX_FRAME: usize = 16 << 20;

/// `--name value` flags, each given at most once; anything else is an error.
#[derive(Debug)]
pub struct Flags {
    values: HashMap<String, String>,
}

impl Flags {
    /// Parses `args` (without the program name and the mode); `known` lists the accepted names.
    pub fn parse(args: impl Iterator<Item = String>, known: &[&str]) -> Result<Self, String> {
        let mut values = HashMap::new();
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let name = arg
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {arg:?}"))?;
            if !known.contains(&name) {
                return Err(format!(
                    "unknown flag --{name} (known: --{})",
                    known.join(", --")
                ));
            }
            let value = match args.peek() {
                Some(next) if !next.starts_with("--") => args.next().unwrap_or_default(),
                _ => "true".to_string(),
            };
            if values.insert(name.to_string(), value).is_some() {
                return Err(format!("--{name} given twice"));
            }
        }
        Ok(Self { values })
    }

    /// The value of `--name` parsed as `T`, or `default`.
    pub fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.values.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| format!("--{name}: cannot parse {text:?}")),
        }
    }

    /// `--name` as a number within `min..=max`.
    pub fn bounded<T>(&self, name: &str, default: T, min: T, max: T) -> Result<T, String>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let value = self.get(name, default)?;
        if value < min || value > max {
            return Err(format!("--{name} {value}: must be within {min}..={max}"));
        }
        Ok(value)
    }

    /// `--addr`, which must be a loopback address: this tool loads only this machine.
    pub fn loopback_addr(&self, default: &str) -> Result<SocketAddr, String> {
        let addr: SocketAddr = self.get("addr", default.parse().map_err(|_| "bad default")?)?;
        if !addr.ip().is_loopback() {
            return Err(format!(
                "--addr {addr}: only loopback addresses (127.0.0.0/8, ::1) are allowed"
            ));
        }
        Ok(addr)
    }
}

/// RFC 6455 §5.2 opcodes the client handles.
pub mod opcode {
    /// Continuation frame.
    pub const CONTINUATION: u8 = 0x0;
    /// Text frame.
    pub const TEXT: u8 = 0x1;
    /// Binary frame.
    pub const BINARY: u8 = 0x2;
    /// Connection close.
    pub const CLOSE: u8 = 0x8;
    /// Ping.
    pub const PING: u8 = 0x9;
    /// Pong.
    pub const PONG: u8 = 0xA;
}

/// A server frame's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN bit.
    pub fin: bool,
    /// The opcode (low 4 bits of byte 0).
    pub opcode: u8,
    /// Payload length.
    pub len: usize,
    /// Header length in bytes (2, 4 or 10; servers do not mask).
    pub header_len: usize,
}

/// Parses a server-to-client frame header from the start of `buf`: `Ok(None)` when more
/// bytes are needed. Rejects what a server must not send: RSV bits without an extension,
/// a masked frame (RFC 6455 §5.1 "A server MUST NOT mask any frames"), a frame over
/// [`MAX_FRAME`].
pub fn parse_header(buf: &[u8]) -> Result<Option<FrameHeader>, String> {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(format!("RSV bits set in a server frame: {b0:#04x}"));
    }
    if b1 & 0x80 != 0 {
        return Err("masked server frame (RFC 6455 §5.1)".into());
    }
    let (len, header_len) = match b1 & 0x7f {
        126 => match buf.get(2..4) {
            Some(b) => (u16::from_be_bytes([b[0], b[1]]) as u64, 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => (u64::from_be_bytes(b.try_into().expect("8 bytes")), 10),
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if len > MAX_FRAME as u64 {
        return Err(format!("server frame of {len} bytes (limit {MAX_FRAME})"));
    }
    Ok(Some(FrameHeader {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0f,
        len: len as usize,
        header_len,
    }))
}

/// Appends a masked client frame (FIN set) carrying `payload` to `out`; returns where the
/// payload starts in `out`.
pub fn encode_masked(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) -> usize {
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    let start = out.len();
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    start
}

/// A tiny xorshift64* generator: payloads, masks and keys need variety, not secrecy.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (any value; 0 is remapped).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// One echoed message that did not come back as sent.
fn mismatch(expected: &[u8], got: &[u8], at: usize) -> String {
    let off = expected
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(0);
    format!(
        "echo differs at payload byte {}: sent {:#04x}, got {:#04x}",
        at + off,
        expected[off],
        got[off]
    )
}

/// A client WebSocket on a raw tokio socket. Reads into one reusable buffer; never
/// allocates per message in the steady state.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Pongs (already framed) owed to the server's pings, sent before the next message.
    pending: Vec<u8>,
    mask: [u8; 4],
}

impl Client {
    /// Connects to `addr`, sets `TCP_NODELAY` and completes the opening handshake on `path`
    /// (checking the 101 and `Sec-WebSocket-Accept`); `read_capacity` is the initial read
    /// buffer (it grows to the largest echoed frame).
    pub async fn connect(
        addr: SocketAddr,
        path: &str,
        read_capacity: usize,
        rng: &mut XorShift,
    ) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let key = generate_key();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        let mut client = Self {
            stream,
            buf: vec![0; read_capacity.max(4096)],
            start: 0,
            end: 0,
            pending: Vec::new(),
            mask: rng.next_u64().to_le_bytes()[..4]
                .try_into()
                .expect("4 bytes"),
        };
        client.stream.write_all(request.as_bytes()).await?;
        // Read the response head (bounded by the buffer).
        let head_end = loop {
            if let Some(at) = client.buf[..client.end]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
            {
                break at + 4;
            }
            if client.end == client.buf.len() {
                return Err(invalid("handshake response head too large"));
            }
            let n = client.stream.read(&mut client.buf[client.end..]).await?;
            if n == 0 {
                return Err(invalid("connection closed during the handshake"));
            }
            client.end += n;
        };
        let head = String::from_utf8_lossy(&client.buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap_or_default();
        if !status.starts_with("HTTP/1.1 101") {
            return Err(invalid(&format!("handshake answered {status:?}")));
        }
        let accept = lines
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-accept"))
            .map(|(_, value)| value.trim().to_string());
        if accept.as_deref() != Some(derive_accept_key(key.as_bytes()).as_str()) {
            return Err(invalid(&format!("bad Sec-WebSocket-Accept: {accept:?}")));
        }
        client.start = head_end;
        Ok(client)
    }

    /// This connection's masking key. RFC 6455 §5.3 asks for a fresh key per frame; a key
    /// per connection keeps the client cheap, and servers unmask every byte either way.
    pub fn mask(&self) -> [u8; 4] {
        self.mask
    }

    /// Writes a complete frame (built with [`encode_masked`] and [`Self::mask`]), after any
    /// pongs owed.
    pub async fn send_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.stream.write_all(&self.pending).await?;
            self.pending.clear();
        }
        self.stream.write_all(frame).await
    }

    /// Reads one data message and checks it is `expected` (opcode and every payload byte),
    /// whatever its fragmentation; answers pings on the way. A close frame, a short read or
    /// any difference is an error.
    pub async fn expect_message(&mut self, op: u8, expected: &[u8]) -> io::Result<()> {
        let mut got = 0;
        let mut first = true;
        loop {
            let header = loop {
                if let Some(h) =
                    parse_header(&self.buf[self.start..self.end]).map_err(|e| invalid(&e))?
                {
                    break h;
                }
                self.fill_more().await?;
            };
            let frame_len = header.header_len + header.len;
            self.fill(frame_len).await?;
            let payload = self.start + header.header_len..self.start + frame_len;
            match header.opcode {
                opcode::PING => {
                    let body = self.buf[payload.clone()].to_vec();
                    let mask = self.mask;
                    encode_masked(&mut self.pending, opcode::PONG, &body, mask);
                }
                opcode::PONG => {}
                opcode::CLOSE => {
                    let code = self.buf[payload.clone()]
                        .get(..2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]));
                    return Err(invalid(&format!("server sent close {code:?} mid-run")));
                }
                data => {
                    let want = if first { op } else { opcode::CONTINUATION };
                    if data != want {
                        return Err(invalid(&format!(
                            "frame opcode {data:#x}, expected {want:#x}"
                        )));
                    }
                    first = false;
                    let body = &self.buf[payload.clone()];
                    let Some(sent) = expected.get(got..got + body.len()) else {
                        return Err(invalid(&format!(
                            "echo longer than the {} bytes sent",
                            expected.len()
                        )));
                    };
                    if sent != body {
                        return Err(invalid(&mismatch(sent, body, got)));
                    }
                    got += body.len();
                    if header.fin {
                        self.start += frame_len;
                        if got != expected.len() {
                            return Err(invalid(&format!(
                                "echo of {got} bytes, {} sent",
                                expected.len()
                            )));
                        }
                        return Ok(());
                    }
                }
            }
            self.start += frame_len;
        }
    }

    /// Waits until the server closes or sends anything but a ping or pong; answers pings.
    /// Returns what ended the wait.
    pub async fn hold(&mut self) -> String {
        loop {
            let header = loop {
                match parse_header(&self.buf[self.start..self.end]) {
                    Ok(Some(h)) => break h,
                    Ok(None) => {}
                    Err(e) => return e,
                }
                if let Err(e) = self.fill_more().await {
                    return e.to_string();
                }
            };
            let frame_len = header.header_len + header.len;
            if let Err(e) = self.fill(frame_len).await {
                return e.to_string();
            }
            let payload = self.start + header.header_len..self.start + frame_len;
            match header.opcode {
                opcode::PING => {
                    let body = self.buf[payload].to_vec();
                    let mut pong = Vec::new();
                    encode_masked(&mut pong, opcode::PONG, &body, self.mask);
                    if let Err(e) = self.stream.write_all(&pong).await {
                        return e.to_string();
                    }
                }
                opcode::PONG => {}
                other => return format!("server sent opcode {other:#x} to an idle client"),
            }
            self.start += frame_len;
        }
    }

    /// Sends a close frame (1000) and shuts down the write side; best effort.
    pub async fn close(mut self) {
        let mut frame = Vec::new();
        encode_masked(&mut frame, opcode::CLOSE, &1000u16.to_be_bytes(), self.mask);
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let _ = self.stream.write_all(&frame).await;
            let _ = self.stream.shutdown().await;
        })
        .await;
    }

    /// Reads until at least `want` bytes are buffered from `start` (compacting or growing the
    /// buffer first when they would not fit).
    async fn fill(&mut self, want: usize) -> io::Result<()> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        if self.start + want > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if want > self.buf.len() {
                self.buf.resize(want.next_power_of_two(), 0);
            }
        }
        while self.end - self.start < want {
            let n = self.stream.read(&mut self.buf[self.end..]).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed the connection",
                ));
            }
            self.end += n;
        }
        Ok(())
    }

    /// Reads at least one byte more than is buffered.
    async fn fill_more(&mut self) -> io::Result<()> {
        self.fill(self.end - self.start + 1).await
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

/// Latencies in nanoseconds, log-linear: exact below 128 ns, then 64 buckets per power of
/// two (1.6 % resolution). 3.8 K buckets, so one per connection is cheap to keep and merge.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; 128 + 57 * 64],
        }
    }
}

impl Histogram {
    fn index(ns: u64) -> usize {
        if ns < 128 {
            return ns as usize;
        }
        let shift = 63 - ns.leading_zeros() - 6;
        128 + (shift as usize - 1) * 64 + ((ns >> shift) - 64) as usize
    }

    fn value(index: usize) -> u64 {
        if index < 128 {
            return index as u64;
        }
        let shift = (index - 128) / 64 + 1;
        let mantissa = ((index - 128) % 64 + 64) as u64;
        // The middle of the bucket.
        (mantissa << shift) + (1 << (shift - 1))
    }

    /// Counts one latency.
    pub fn record(&mut self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.counts[Self::index(ns)] += 1;
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// How many latencies were recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The latency at quantile `q` (0..=1), or zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.count();
        if total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_nanos(Self::value(i));
            }
        }
        Duration::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_length_forms() {
        let h = |b: &[u8]| parse_header(b).unwrap();
        assert_eq!(h(&[0x81]), None);
        assert_eq!(
            h(&[0x81, 125]),
            Some(FrameHeader {
                fin: true,
                opcode: 1,
                len: 125,
                header_len: 2
            })
        );
        assert_eq!(h(&[0x02, 126, 0x01]), None);
        assert_eq!(
            h(&[0x02, 126, 0xff, 0xff]),
            Some(FrameHeader {
                fin: false,
                opcode: 2,
                len: 65535,
                header_len: 4
            })
        );
        assert_eq!(
            h(&[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
            Some(FrameHeader {
                fin: true,
                opcode: 2,
                len: 65536,
                header_len: 10
            })
        );
    }

    #[test]
    fn rejects_masked_server_frames_and_rsv_bits() {
        assert!(parse_header(&[0x81, 0x85]).is_err());
        assert!(parse_header(&[0xC1, 0x05]).is_err());
        assert!(parse_header(&[0x82, 127, 0, 0, 0, 0, 2, 0, 0, 0]).is_err());
    }

    #[test]
    fn masked_frames_unmask_to_the_payload() {
        for len in [0usize, 1, 125, 126, 65535, 65536] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mask = [1, 2, 3, 4];
            let mut out = Vec::new();
            let start = encode_masked(&mut out, opcode::BINARY, &payload, mask);
            assert_eq!(out[1] & 0x80, 0x80);
            assert_eq!(&out[start - 4..start], &mask);
            let unmasked: Vec<u8> = out[start..]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[i % 4])
                .collect();
            assert_eq!(unmasked, payload);
        }
    }

    #[test]
    fn histogram_buckets_are_within_two_percent() {
        for ns in [
            0u64,
            1,
            127,
            128,
            129,
            1000,
            12_345,
            1_000_000,
            987_654_321,
            1 << 40,
        ] {
            let back = Histogram::value(Histogram::index(ns));
            let error = back.abs_diff(ns) as f64 / ns.max(1) as f64;
            assert!(error < 0.02, "{ns} -> {back}");
        }
        let mut h = Histogram::default();
        for us in 1..=100 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile(0.5).as_micros();
        let p99 = h.quantile(0.99).as_micros();
        assert!((49..=51).contains(&p50), "{p50}");
        assert!((98..=100).contains(&p99), "{p99}");
    }
}
