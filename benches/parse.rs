//! Parser benches: wiretap's sans-IO parsers against the reference parsers on the same input.
//!
//! Every group runs `ours` and a reference side by side on one named input and reports
//! `Throughput::Bytes` (the wire bytes of that input), so criterion prints bytes/s:
//!
//! | group | ours | reference |
//! |---|---|---|
//! | `request_head` | [`RequestParser::parse_into`] (parser and head reused): the head's bytes and field spans copied into the head's own buffers, no allocation | `httparse::Request::parse`, 32 stack headers, borrows only |
//! | `frame_decode/frames` | [`FrameDecoder`] + [`FrameHeader::unmask`] into a reused buffer | `tungstenite` `FrameHeader::parse` + the same copy and a port of its unmask |
//! | `frame_decode/messages` | copy into a read buffer, [`Connection::handle_input`], `poll_event` until `None` | `tungstenite::WebSocket::read` over an in-memory stream |
//! | `unmask` | [`apply_mask`] | a byte-at-a-time loop; a safe port of tungstenite's `apply_mask_fast32` |
//!
//! tungstenite 0.30 keeps `apply_mask` in a private module (`protocol::frame::mask`), so the
//! frame-level reference unmasks with [`tungstenite_mask`], a safe port of its algorithm
//! (4-byte words); the message-level reference runs tungstenite's own code unchanged.
//! Every input is checked once with both sides before it is timed.
//!
//! Run: `cargo bench --bench parse` (about two minutes); `cargo bench --bench parse --
//! request_head` runs one group; `cargo bench --bench parse -- --test` runs each bench once.
//! Results and their caveats: `benches/RESULTS.md`.

use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use tungstenite::protocol::frame::FrameHeader as TFrameHeader;
use tungstenite::protocol::{Role as TRole, WebSocket};
use wiretap::http::{RequestHead, RequestParser, Status};
use wiretap::ws::{
    apply_mask, encode_frame, Connection, Event, FrameDecoder, FrameEvent, FrameHeader, Limits,
    Opcode, Role, Status as WsStatus,
};

/// The smallest realistic request: request line, Host and two fields.
const SMALL_REQUEST: &[u8] = b"GET / HTTP/1.1\r\n\
Host: example.com\r\n\
User-Agent: curl/8.5.0\r\n\
Accept: */*\r\n\
\r\n";

/// A navigation request as Chromium 124 on Linux sends it: 14 fields, 693 bytes.
const BROWSER_REQUEST: &[u8] = b"GET /dashboard HTTP/1.1\r\n\
Host: www.example.com\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-Dest: document\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: _ga=GA1.1.1234567890.1712345678; session=8f14e45fceea167a5a36dedd4bea2543\r\n\
\r\n";

/// Frames in [`small_frames`].
const SMALL_FRAME_COUNT: usize = 1000;
/// The payload of each small frame: 16 bytes of ASCII text, a chat message or a tick.
const SMALL_PAYLOAD: &[u8; 16] = b"{\"t\":1,\"v\":4.25}";
/// The payload length of [`big_frame`]: 64 KiB.
const BIG_PAYLOAD_LEN: usize = 64 << 10;
/// A client's masking key (RFC 6455 §5.7).
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
/// Buffer lengths for the `unmask` group: 64 KiB (a frame) and 1 MiB (a large message).
const UNMASK_LENS: [usize; 2] = [64 << 10, 1 << 20];

/// [`SMALL_FRAME_COUNT`] masked text frames of [`SMALL_PAYLOAD`], one after another, each
/// with its own key as a client would send them (22 bytes each).
fn small_frames() -> Vec<u8> {
    let mut wire = Vec::new();
    for i in 0..SMALL_FRAME_COUNT {
        let key = (i as u32).wrapping_mul(0x9E37_79B9).to_be_bytes();
        encode_frame(&mut wire, true, Opcode::Text, SMALL_PAYLOAD, Some(key));
    }
    wire
}

/// One masked binary frame of [`BIG_PAYLOAD_LEN`] bytes.
fn big_frame() -> Vec<u8> {
    let payload: Vec<u8> = (0..BIG_PAYLOAD_LEN).map(|i| (i * 31 + 7) as u8).collect();
    let mut wire = Vec::new();
    encode_frame(&mut wire, true, Opcode::Binary, &payload, Some(KEY));
    wire
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>, bytes: usize) {
    group.throughput(Throughput::Bytes(bytes as u64));
}

// ---------------------------------------------------------------------------------------
// request_head

fn request_head(c: &mut Criterion) {
    let mut group = c.benchmark_group("request_head");
    for (name, input) in [("small", SMALL_REQUEST), ("browser", BROWSER_REQUEST)] {
        check_request(input);
        configure(&mut group, input.len());

        // The steady state of a connection: one parser and one head, reused for every
        // request, so the head's buffers keep their capacity (see `parse_into`).
        let mut parser = RequestParser::new();
        let mut head = RequestHead::default();
        group.bench_with_input(format!("ours/{name}"), input, |b, input| {
            b.iter(|| match parser.parse_into(black_box(input), &mut head) {
                Ok(Status::Complete { consumed, .. }) => {
                    black_box(&head);
                    consumed
                }
                other => panic!("{other:?}"),
            });
        });

        group.bench_with_input(format!("httparse/{name}"), input, |b, input| {
            b.iter(|| {
                let mut headers = [httparse::EMPTY_HEADER; 32];
                let mut req = httparse::Request::new(&mut headers);
                match req.parse(black_box(input)) {
                    Ok(httparse::Status::Complete(consumed)) => {
                        black_box(&req);
                        consumed
                    }
                    other => panic!("{other:?}"),
                }
            });
        });
    }
    group.finish();
}

/// Both parsers take the whole input as one head with the same fields.
fn check_request(input: &[u8]) {
    let Ok(Status::Complete { value, consumed }) = RequestParser::new().parse(input) else {
        panic!("ours rejects the input");
    };
    assert_eq!(consumed, input.len());
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    assert_eq!(
        req.parse(input),
        Ok(httparse::Status::Complete(input.len()))
    );
    assert_eq!(value.fields().count(), req.headers.len());
    // The path the bench times gives the same head as `parse`.
    let mut head = RequestHead::default();
    let Ok(Status::Complete { consumed, .. }) = RequestParser::new().parse_into(input, &mut head)
    else {
        panic!("ours rejects the input");
    };
    assert_eq!((head, consumed), (value, input.len()));
}

// ---------------------------------------------------------------------------------------
// frame_decode

fn frame_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_decode");
    let inputs = [
        ("1000x16B", small_frames(), SMALL_FRAME_COUNT),
        ("64KiB", big_frame(), 1),
    ];
    for (name, wire, frames) in &inputs {
        let (wire, frames) = (wire.as_slice(), *frames);
        configure(&mut group, wire.len());

        // Frame level: headers decoded and every payload unmasked into a reused buffer.
        let expected = frames_ours(
            &mut FrameDecoder::new(Role::Server, &Limits::default()),
            wire,
            &mut Vec::new(),
        );
        assert_eq!(expected, frames_tungstenite(wire, &mut Vec::new()));
        assert_eq!(expected.0, frames);

        let mut decoder = FrameDecoder::new(Role::Server, &Limits::default());
        let mut payload = Vec::with_capacity(BIG_PAYLOAD_LEN);
        group.bench_function(format!("frames/ours/{name}"), |b| {
            b.iter(|| frames_ours(&mut decoder, black_box(wire), &mut payload));
        });
        let mut payload = Vec::with_capacity(BIG_PAYLOAD_LEN);
        group.bench_function(format!("frames/tungstenite/{name}"), |b| {
            b.iter(|| frames_tungstenite(black_box(wire), &mut payload));
        });

        // Message level: the whole endpoint, one long-lived connection each.
        let mut conn = Connection::new(Role::Server, Limits::default());
        let mut ws = WebSocket::from_raw_socket(MemoryStream::new(wire), TRole::Server, None);
        let mut read_buf = Vec::with_capacity(wire.len());
        assert_eq!(messages_ours(&mut conn, wire, &mut read_buf), frames);
        assert_eq!(messages_tungstenite(&mut ws, frames), wire.len());

        group.bench_function(format!("messages/ours/{name}"), |b| {
            b.iter(|| messages_ours(&mut conn, black_box(wire), &mut read_buf));
        });
        group.bench_function(format!("messages/tungstenite/{name}"), |b| {
            b.iter(|| messages_tungstenite(&mut ws, frames));
        });
    }
    group.finish();
}

/// Decodes every frame of `wire` and unmasks each payload into `payload` (cleared per frame,
/// as a server hands each payload on). Returns the frame count and a checksum of the
/// unmasked payloads.
fn frames_ours(decoder: &mut FrameDecoder, wire: &[u8], payload: &mut Vec<u8>) -> (usize, u64) {
    let (mut frames, mut sum) = (0, 0u64);
    let mut header = None;
    let mut buf = wire;
    while let Ok(WsStatus::Complete { value, consumed }) = decoder.decode(buf) {
        match value {
            FrameEvent::Header(h) => {
                header = Some(h);
                payload.clear();
            }
            FrameEvent::Payload { len, offset, last } => {
                let start = payload.len();
                payload.extend_from_slice(&buf[..len]);
                if let Some(h) = &header {
                    FrameHeader::unmask(h, &mut payload[start..], offset);
                }
                if last {
                    frames += 1;
                    sum = sum.wrapping_add(checksum(payload));
                }
            }
        }
        buf = &buf[consumed..];
        if buf.is_empty() && decoder.is_between_frames() {
            break;
        }
    }
    (frames, sum)
}

/// tungstenite's frame layer: `FrameHeader::parse` on a cursor over `wire`, then the payload
/// copied into `payload` and unmasked, as `FrameCodec::read_frame` does.
fn frames_tungstenite(wire: &[u8], payload: &mut Vec<u8>) -> (usize, u64) {
    let (mut frames, mut sum) = (0, 0u64);
    let mut cursor = Cursor::new(wire);
    while let Ok(Some((header, len))) = TFrameHeader::parse(&mut cursor) {
        let start = cursor.position() as usize;
        let end = start + len as usize;
        payload.clear();
        payload.extend_from_slice(&wire[start..end]);
        if let Some(mask) = header.mask {
            tungstenite_mask(payload, mask);
        }
        cursor.set_position(end as u64);
        frames += 1;
        sum = sum.wrapping_add(checksum(payload));
    }
    (frames, sum)
}

/// A cheap function of every byte, so neither side can skip unmasking.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.first().map_or(0, |&b| u64::from(b)) + bytes.last().map_or(0, |&b| u64::from(b))
}

/// Copies `wire` into `read_buf` (the socket read that tungstenite's `Read::read` from
/// [`MemoryStream`] also pays), feeds it to `conn` in one call and drains its events; returns
/// the message count.
fn messages_ours(conn: &mut Connection, wire: &[u8], read_buf: &mut Vec<u8>) -> usize {
    read_buf.clear();
    read_buf.extend_from_slice(wire);
    conn.handle_input(read_buf, Duration::ZERO);
    let mut messages = 0;
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Message(message) => {
                black_box(message);
                messages += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    messages
}

/// Rewinds the stream under `ws` and reads `messages` messages; returns the bytes read.
fn messages_tungstenite(ws: &mut WebSocket<MemoryStream<'_>>, messages: usize) -> usize {
    ws.get_mut().pos = 0;
    for _ in 0..messages {
        black_box(ws.read().expect("a message"));
    }
    ws.get_ref().pos
}

/// The peer's bytes for tungstenite to read; what it writes is discarded.
struct MemoryStream<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> MemoryStream<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }
}

impl Read for MemoryStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.data[self.pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for MemoryStream<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// unmask

fn unmask(c: &mut Criterion) {
    let mut group = c.benchmark_group("unmask");
    for len in UNMASK_LENS {
        configure(&mut group, len);
        let size = if len >= 1 << 20 {
            format!("{}MiB", len >> 20)
        } else {
            format!("{}KiB", len >> 10)
        };
        let mut buf: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
        for phase in [0, 1] {
            let mut fast = buf.clone();
            apply_mask(&mut fast, KEY, phase);
            let mut slow = buf.clone();
            naive_mask(&mut slow, KEY, phase);
            let mut port = buf.clone();
            tungstenite_mask(&mut port, rotated(KEY, phase));
            assert!(fast == slow && slow == port, "phase {phase}");

            group.bench_function(format!("ours/{size}/phase{phase}"), |b| {
                b.iter(|| apply_mask(black_box(&mut buf), KEY, phase));
            });
            group.bench_function(format!("naive/{size}/phase{phase}"), |b| {
                b.iter(|| naive_mask(black_box(&mut buf), KEY, phase));
            });
            group.bench_function(format!("tungstenite_port/{size}/phase{phase}"), |b| {
                let key = rotated(KEY, phase);
                b.iter(|| tungstenite_mask(black_box(&mut buf), key));
            });
        }
    }
    group.finish();
}

/// RFC 6455 §5.3 as written: octet i XOR key octet (i mod 4), one byte at a time.
fn naive_mask(buf: &mut [u8], key: [u8; 4], phase: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(phase + i) % 4];
    }
}

/// tungstenite 0.30's `apply_mask_fast32` (private in `protocol::frame::mask`), in safe Rust:
/// XOR by `u32` words, then the tail byte by byte. The original takes aligned words through
/// `align_to_mut` (unsafe); this crate forbids `unsafe`, so words come from
/// `chunks_exact_mut(4)`, which compiles to the same unaligned-load loop on x86-64.
fn tungstenite_mask(buf: &mut [u8], mask: [u8; 4]) {
    let word = u32::from_ne_bytes(mask);
    let mut words = buf.chunks_exact_mut(4);
    for chunk in &mut words {
        let mut bytes = [0; 4];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u32::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    for (byte, k) in words.into_remainder().iter_mut().zip(mask) {
        *byte ^= k;
    }
}

/// The key as seen from payload index `phase`: what a phase-less unmask needs.
fn rotated(mut key: [u8; 4], phase: usize) -> [u8; 4] {
    key.rotate_left(phase % 4);
    key
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = request_head, frame_decode, unmask
}
criterion_main!(benches);
