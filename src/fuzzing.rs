//! Shared machinery for the fuzz targets, the split-invariance tests and the benches.
//!
//! Not part of the public API (hidden from the docs): the fuzz crate, `tests/` and
//! `benches/` can only reach a library, so the bodies of the fuzz targets and the helpers
//! that every parser test shares live here (the rustls and quinn habit).

/// A seeded xorshift64* generator: deterministic, dependency-free randomness for tests that
/// re-chunk inputs at "random" points. The same seed gives the same splits on every machine.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator for `seed`; a zero seed is replaced because xorshift would stay at zero.
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
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

    /// A number in `0..bound` (`bound` must be non-zero).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }
}

/// Ways to cut an input of `len` bytes into consecutive pieces, as lists of piece lengths:
/// whole, byte at a time, every single split point (for inputs up to 4 KiB), and `random`
/// seeded random splits. Every parser test feeds each of these and expects one result.
pub fn splits(len: usize, random: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut out = vec![vec![len], vec![1; len]];
    if len <= 4096 {
        for at in 1..len {
            out.push(vec![at, len - at]);
        }
    }
    let mut rng = XorShift::new(seed);
    for _ in 0..random {
        let mut pieces = Vec::new();
        let mut left = len;
        while left > 0 {
            let n = 1 + rng.below(left.min(64));
            pieces.push(n);
            left -= n;
        }
        out.push(pieces);
    }
    out
}

/// Cuts `input` into the pieces that [`splits`] describes.
pub fn chunks<'a>(input: &'a [u8], pieces: &[usize]) -> Vec<&'a [u8]> {
    let mut at = 0;
    pieces
        .iter()
        .map(|&n| {
            let piece = &input[at..at + n];
            at += n;
            piece
        })
        .collect()
}

/// A stable hash of the fuzz input (FNV-1a), the seed of the splits it is fed in, so that a
/// crash replays exactly.
fn seed_of(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The ways a fuzz input is fed: whole, byte at a time (short inputs), cut where its first
/// byte says, and a few seeded random cuttings.
fn fuzz_splits(data: &[u8]) -> Vec<Vec<usize>> {
    let len = data.len();
    let mut ways = vec![vec![len]];
    if len <= 512 {
        ways.push(vec![1; len]);
    }
    if let Some(&first) = data.first() {
        let at = usize::from(first) % (len + 1);
        ways.push([at, len - at].into_iter().filter(|&n| n > 0).collect());
    }
    // The random cuttings are the last ones `splits` makes.
    let mut all = splits(len, 3, seed_of(data));
    ways.extend(all.split_off(all.len().saturating_sub(3)));
    ways
}

/// How parsing one head from a fuzz input ended.
#[derive(Debug, PartialEq)]
enum HeadOutcome<T> {
    Complete(T, usize),
    Partial,
    Failed(crate::http::Error),
}

/// Feeds `data` in `pieces` to a head parser the way a connection does (the buffer grows,
/// each call sees all of it) and checks what every answer promises.
fn feed_head<T>(
    data: &[u8],
    pieces: &[usize],
    mut parse: impl FnMut(&[u8]) -> Result<crate::http::Status<T>, crate::http::Error>,
) -> HeadOutcome<T> {
    use crate::http::Status;
    let mut end = 0;
    for &n in pieces {
        end += n;
        match parse(&data[..end]) {
            Ok(Status::Partial) => {}
            Ok(Status::Complete { value, consumed }) => {
                assert!(consumed <= end, "consumed {consumed} of {end}");
                return HeadOutcome::Complete(value, consumed);
            }
            Err(e) => {
                assert!(e.offset <= end, "error offset {} past {end}", e.offset);
                return HeadOutcome::Failed(e);
            }
        }
    }
    HeadOutcome::Partial
}

/// How decoding one body from a fuzz input ended: payload, bytes consumed, done, error.
type BodyOutcome = (Vec<u8>, usize, bool, Option<crate::http::Error>);

/// Feeds `data` in `pieces` to a body decoder the way a connection does (consumed bytes are
/// drained) and checks what every answer promises.
fn feed_body(
    kind: crate::http::BodyKind,
    limits: &crate::http::Limits,
    data: &[u8],
    pieces: &[usize],
) -> BodyOutcome {
    let mut decoder = crate::http::BodyDecoder::with_limits(kind, limits);
    let mut payload = Vec::new();
    let mut buf = Vec::new();
    let mut consumed = 0;
    // A connection offers what it has as soon as the head ends, maybe nothing.
    for piece in std::iter::once(&b""[..]).chain(chunks(data, pieces)) {
        buf.extend_from_slice(piece);
        loop {
            let progress = match decoder.decode(&buf) {
                Ok(progress) => progress,
                Err(e) => {
                    assert!(
                        e.offset <= consumed + buf.len(),
                        "body error past the input"
                    );
                    // How much was handed out before the error depends on the cutting.
                    return (Vec::new(), 0, false, Some(e));
                }
            };
            assert!(progress.consumed <= buf.len(), "consumed past the buffer");
            assert!(progress.data.start <= progress.data.end);
            assert!(
                progress.data.end <= progress.consumed,
                "data outside consumed"
            );
            payload.extend_from_slice(&buf[progress.data.clone()]);
            buf.drain(..progress.consumed);
            consumed += progress.consumed;
            if progress.done {
                assert!(decoder.is_done());
                return (payload, consumed, true, None);
            }
            if progress.consumed == 0 {
                assert!(buf.is_empty(), "no progress on {} bytes", buf.len());
                break;
            }
        }
    }
    (payload, consumed, false, None)
}

/// Parses the body of kind `kind` at the start of `rest` every way and returns how many bytes
/// it took, if it completed.
fn fuzz_body(
    kind: crate::http::BodyKind,
    limits: &crate::http::Limits,
    rest: &[u8],
) -> Option<usize> {
    let ways = fuzz_splits(rest);
    let whole = feed_body(kind, limits, rest, &[rest.len()]);
    for pieces in &ways {
        assert_eq!(
            feed_body(kind, limits, rest, pieces),
            whole,
            "body fed as {pieces:?}"
        );
    }
    assert!(whole.1 <= rest.len());
    whole.2.then_some(whole.1)
}

/// Fuzz target body: `data` as a client's byte stream. Parses pipelined requests (head,
/// then body) whole and split several ways; every way must agree, and nothing may panic.
pub fn fuzz_request(data: &[u8]) {
    use crate::http::{Limits, RequestParser};
    let limits = Limits {
        max_request_line: 256,
        max_head_bytes: 1024,
        max_fields: 16,
        max_body: 4096,
        max_chunk_extensions: 64,
        max_trailer_bytes: 256,
    };
    let mut rest = data;
    // A handful of pipelined messages is plenty; each costs a few full passes.
    for _ in 0..4 {
        let mut parser = RequestParser::with_limits(limits.clone());
        let whole = feed_head(rest, &[rest.len()], |buf| parser.parse(buf));
        for pieces in fuzz_splits(rest) {
            let got = feed_head(rest, &pieces, |buf| parser.parse(buf));
            assert_eq!(got, whole, "request head fed as {pieces:?}");
        }
        let HeadOutcome::Complete(head, consumed) = whole else {
            return;
        };
        assert_eq!(head.head_len(), consumed);
        assert!(head.request_line_span().end <= consumed);
        assert!(head.field_spans().iter().all(|s| s.line().end <= consumed));
        rest = &rest[consumed..];
        let Some(used) = fuzz_body(head.body(), &limits, rest) else {
            return;
        };
        rest = &rest[used..];
    }
}

/// Fuzz target body: `data[1..]` as a server's byte stream answering a request whose method
/// `data[0]` picks. Parses interim and final heads and the body, whole and split.
pub fn fuzz_response(data: &[u8]) {
    use crate::http::{BodyKind, Limits, Method, ResponseParser};
    let Some((&pick, mut rest)) = data.split_first() else {
        return;
    };
    let method = [Method::Get, Method::Head, Method::Connect, Method::Post][usize::from(pick % 4)];
    let limits = Limits {
        max_head_bytes: 1024,
        max_fields: 16,
        max_body: u64::MAX,
        max_chunk_extensions: 64,
        max_trailer_bytes: 256,
        ..Limits::default()
    };
    for _ in 0..4 {
        let mut parser = ResponseParser::with_limits(limits.clone());
        let whole = feed_head(rest, &[rest.len()], |buf| parser.parse(buf, method));
        for pieces in fuzz_splits(rest) {
            let got = feed_head(rest, &pieces, |buf| parser.parse(buf, method));
            assert_eq!(got, whole, "response head fed as {pieces:?}");
        }
        let HeadOutcome::Complete(head, consumed) = whole else {
            return;
        };
        assert_eq!(head.head_len(), consumed);
        assert!((100..=599).contains(&head.status()));
        rest = &rest[consumed..];
        if head.is_interim() {
            continue;
        }
        if matches!(head.body(), BodyKind::Upgrade | BodyKind::Tunnel) {
            return;
        }
        let Some(used) = fuzz_body(head.body(), &limits, rest) else {
            return;
        };
        rest = &rest[used..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_the_input_exactly() {
        for len in [0, 1, 2, 7, 100, 5000] {
            for pieces in splits(len, 8, 42) {
                assert_eq!(pieces.iter().sum::<usize>(), len);
                assert!(pieces.iter().all(|&n| n > 0) || len == 0);
            }
        }
    }

    #[test]
    fn same_seed_same_splits() {
        assert_eq!(splits(300, 5, 7), splits(300, 5, 7));
        assert_ne!(splits(300, 5, 7), splits(300, 5, 8));
    }

    /// Seeds for the HTTP fuzz targets: valid traffic, each rule broken once, limits.
    const REQUEST_SEEDS: &[&[u8]] = &[
        b"",
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"\r\nGET /a?b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: b\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=\"y\"\r\nhello\r\n0\r\nT: 1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
        b"GET / HTTP/1.1\nHost: a\n\n",
        b"GET / HTTP/2.0\r\n\r\n",
        b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
        b"GET http://h/p HTTP/1.1\r\nHost: h\r\n\r\n\x00\xff\r\r\n",
    ];

    const RESPONSE_SEEDS: &[&[u8]] = &[
        b"",
        b"\x00HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 \r\n\r\n",
        b"\x00HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        b"\x01HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
        b"\x02HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01",
        b"\x00HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00",
        b"\x00HTTP/1.0 200 OK\r\n\r\nuntil close",
        b"\x00HTTP/1.1 200\r\n\r\n",
        b"\x00HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    ];

    #[test]
    fn fuzz_request_holds_on_the_seeds() {
        for seed in REQUEST_SEEDS {
            fuzz_request(seed);
        }
    }

    #[test]
    fn fuzz_response_holds_on_the_seeds() {
        for seed in RESPONSE_SEEDS {
            fuzz_response(seed);
        }
    }

    #[test]
    fn fuzz_targets_hold_on_mutated_seeds() {
        // A poor man's fuzzer: flip, drop and duplicate bytes of the seeds at seeded points.
        let mut rng = XorShift::new(2024);
        for round in 0..200 {
            let seeds = if round % 2 == 0 {
                REQUEST_SEEDS
            } else {
                RESPONSE_SEEDS
            };
            let mut data = seeds[rng.below(seeds.len())].to_vec();
            for _ in 0..1 + rng.below(4) {
                if data.is_empty() {
                    break;
                }
                let at = rng.below(data.len());
                match rng.below(3) {
                    0 => data[at] = rng.next_u64() as u8,
                    1 => {
                        data.remove(at);
                    }
                    _ => data.insert(at, data[at]),
                }
            }
            fuzz_request(&data);
            fuzz_response(&data);
        }
    }
}

// WebSocket: the split-invariance helpers that every `ws` decoder and connection test uses,
// and the bodies of the `ws` fuzz targets built on them.

use crate::ws::{
    Connection, Error as WsError, Event, FrameDecoder, FrameEvent, FrameHeader, Limits, Opcode,
    Role, State, Status,
};

/// What a stream of frames decodes to, whatever the chunking: each frame's header with its
/// unmasked payload, the error with its stream offset, and whether the stream stopped in the
/// middle of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedFrames {
    /// Every header seen, with its payload so far (unmasked).
    pub frames: Vec<(FrameHeader, Vec<u8>)>,
    /// The error that stopped decoding, and the stream offset of the offending byte.
    pub error: Option<(WsError, u64)>,
    /// The input ended inside a frame (header or payload).
    pub mid_frame: bool,
}

/// Decodes `pieces` in order with a fresh [`FrameDecoder`], asserting the decoder's
/// invariants on the way: consumed ≤ buffer length, positions add up, payload pieces are
/// contiguous and `last` comes exactly at the end of each payload, errors are sticky.
pub fn decode_frames(role: Role, limits: &Limits, pieces: &[&[u8]]) -> DecodedFrames {
    let mut decoder = FrameDecoder::new(role, limits);
    let mut frames: Vec<(FrameHeader, Vec<u8>)> = Vec::new();
    let mut error = None;
    'pieces: for piece in pieces {
        let mut buf = *piece;
        loop {
            let before = decoder.position();
            match decoder.decode(buf) {
                Ok(Status::Complete { value, consumed }) => {
                    assert!(consumed <= buf.len(), "consumed more than given");
                    assert_eq!(decoder.position(), before + consumed as u64);
                    match value {
                        FrameEvent::Header(header) => {
                            if let Some((h, p)) = frames.last() {
                                assert_eq!(p.len() as u64, h.payload_len, "header mid-payload");
                            }
                            frames.push((header, Vec::new()));
                        }
                        FrameEvent::Payload { len, offset, last } => {
                            assert_eq!(len, consumed);
                            let (header, payload) = frames.last_mut().expect("payload first");
                            assert_eq!(offset, payload.len() as u64, "pieces not contiguous");
                            let start = payload.len();
                            payload.extend_from_slice(&buf[..len]);
                            header.unmask(&mut payload[start..], offset);
                            assert_eq!(last, payload.len() as u64 == header.payload_len);
                        }
                    }
                    buf = &buf[consumed..];
                }
                Ok(Status::Partial) => {
                    assert_eq!(decoder.position(), before + buf.len() as u64);
                    break;
                }
                Err(e) => {
                    assert_eq!(decoder.decode(&[]), Err(e), "errors are sticky");
                    let offset = decoder.error_offset().expect("an error has an offset");
                    assert_eq!(decoder.position(), offset);
                    error = Some((e, offset));
                    break 'pieces;
                }
            }
        }
    }
    let mid_frame = error.is_none() && !decoder.is_between_frames();
    DecodedFrames {
        frames,
        error,
        mid_frame,
    }
}

/// Decodes `input` whole, byte at a time, at every split point (inputs up to 4 KiB) and in
/// `random` seeded random splits, asserts that every way gives the same result, and returns
/// it. THE helper of the frame decoder tests.
pub fn decode_frames_every_way(
    role: Role,
    limits: &Limits,
    input: &[u8],
    random: usize,
    seed: u64,
) -> DecodedFrames {
    let whole = decode_frames(role, limits, &[input]);
    for pieces in splits(input.len(), random, seed) {
        let got = decode_frames(role, limits, &chunks(input, &pieces));
        assert_eq!(got, whole, "split {pieces:?}");
    }
    whole
}

/// Everything a [`Connection`] did with one input stream: events, bytes it transmitted,
/// where it ended and the error (with offset) if the peer broke a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRun {
    /// The events, in order.
    pub events: Vec<Event>,
    /// Everything `poll_transmit` gave.
    pub transmitted: Vec<u8>,
    /// The state at the end.
    pub state: State,
    /// The peer's violation and its stream offset.
    pub error: Option<(WsError, u64)>,
}

/// Feeds `pieces` to a fresh connection (time standing still), draining events and transmit
/// after each piece, and returns what it did.
pub fn run_connection(role: Role, limits: Limits, pieces: &[&[u8]]) -> ConnectionRun {
    let mut conn = Connection::new(role, limits);
    let mut events = Vec::new();
    let mut transmitted = Vec::new();
    let mut out = Vec::new();
    for piece in pieces {
        conn.handle_input(piece, std::time::Duration::ZERO);
        while let Some(event) = conn.poll_event() {
            events.push(event);
        }
        out.clear();
        let n = conn.poll_transmit(&mut out);
        assert_eq!(n, out.len());
        transmitted.extend_from_slice(&out);
    }
    ConnectionRun {
        events,
        transmitted,
        state: conn.state(),
        error: conn.error(),
    }
}

/// [`run_connection`] on `input` cut every way [`splits`] offers; all must agree. THE helper
/// of the connection tests.
pub fn run_connection_every_way(
    role: Role,
    limits: Limits,
    input: &[u8],
    random: usize,
    seed: u64,
) -> ConnectionRun {
    let whole = run_connection(role, limits, &[input]);
    for pieces in splits(input.len(), random, seed) {
        let got = run_connection(role, limits, &chunks(input, &pieces));
        assert_eq!(got, whole, "split {pieces:?}");
    }
    whole
}

/// The ways a fuzz input is cut: whole, byte at a time and 4 random splits (every split
/// point would make a fuzz run quadratic).
fn fuzz_ways(len: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut ways = splits(len, 4, seed);
    let random = ways.split_off(ways.len() - 4);
    ways.truncate(2);
    ways.extend(random);
    ways
}

/// Limits small enough that a fuzzer reaches them with short inputs.
fn fuzz_limits() -> Limits {
    Limits {
        max_frame: 1024,
        max_message: 2048,
        ..Limits::default()
    }
}

/// Fuzz target body: the first byte picks the role, the rest is a frame stream. Decoding
/// whole and in pieces must agree (the invariants of [`decode_frames`] hold in every way).
pub fn fuzz_frames(data: &[u8]) {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let role = if first & 1 == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let limits = fuzz_limits();
    let whole = decode_frames(role, &limits, &[input]);
    for pieces in fuzz_ways(input.len(), u64::from(first)) {
        assert_eq!(decode_frames(role, &limits, &chunks(input, &pieces)), whole);
    }
}

/// Fuzz target body: `data` is what a client sent to a server [`Connection`]. Whole and
/// split runs must agree, and what the server sent back must decode as valid server frames
/// (unmasked, well formed), with nothing after its Close.
pub fn fuzz_connection(data: &[u8]) {
    let limits = fuzz_limits();
    let whole = run_connection(Role::Server, limits, &[data]);
    let seed = data
        .iter()
        .fold(0u64, |h, &b| h.rotate_left(5) ^ u64::from(b));
    for pieces in fuzz_ways(data.len(), seed) {
        assert_eq!(
            run_connection(Role::Server, limits, &chunks(data, &pieces)),
            whole
        );
    }
    let sent = decode_frames(Role::Client, &Limits::default(), &[&whole.transmitted]);
    assert_eq!(sent.error, None, "the server sent an invalid frame");
    assert!(!sent.mid_frame, "the server sent a partial frame");
    let closes = sent
        .frames
        .iter()
        .position(|(h, _)| h.opcode == Opcode::Close);
    if let Some(at) = closes {
        assert_eq!(at + 1, sent.frames.len(), "frames after the server's close");
    }
    if whole.error.is_some() {
        assert_eq!(whole.state, State::Closed);
        assert!(closes.is_some(), "a failed connection sends a close");
    }
}

#[cfg(test)]
mod ws_tests {
    use super::*;
    use crate::ws::encode_frame;

    /// Seeds: valid traffic, each kind of violation, and noise.
    fn seeds() -> Vec<Vec<u8>> {
        let key = Some([1, 2, 3, 4]);
        let mut valid = Vec::new();
        encode_frame(&mut valid, false, Opcode::Text, "κό".as_bytes(), key);
        encode_frame(&mut valid, true, Opcode::Ping, b"ping", key);
        encode_frame(&mut valid, true, Opcode::Continuation, b"sme", key);
        encode_frame(&mut valid, true, Opcode::Binary, &[0; 300], key);
        encode_frame(&mut valid, true, Opcode::Close, b"\x03\xe8bye", key);
        let mut bad_utf8 = Vec::new();
        encode_frame(&mut bad_utf8, false, Opcode::Text, b"a\xed\xa0\x80", key);
        let mut too_big = Vec::new();
        encode_frame(&mut too_big, true, Opcode::Binary, &[7; 1500], key);
        let mut noise = Vec::new();
        let mut rng = XorShift::new(3);
        for _ in 0..200 {
            noise.push(rng.next_u64() as u8);
        }
        vec![
            Vec::new(),
            valid,
            bad_utf8,
            too_big,
            vec![0x81, 0x05, b'H', b'e', b'l', b'l', b'o'],
            vec![0x88, 0x81, 0, 0, 0, 0, 3],
            noise,
        ]
    }

    #[test]
    fn fuzz_frames_holds_on_the_seeds() {
        for seed in seeds() {
            for role_byte in [0u8, 1] {
                let mut data = vec![role_byte];
                data.extend_from_slice(&seed);
                fuzz_frames(&data);
            }
        }
    }

    #[test]
    fn fuzz_connection_holds_on_the_seeds() {
        for seed in seeds() {
            fuzz_connection(&seed);
        }
    }

    #[test]
    fn fuzz_connection_holds_on_random_frame_soup() {
        // Random sequences of plausible frames: enough structure to get past the header
        // checks and exercise the assembler and the closing handshake.
        let mut rng = XorShift::new(99);
        let opcodes = [0x0, 0x1, 0x2, 0x8, 0x9, 0xA, 0x3];
        for _ in 0..300 {
            let mut data = Vec::new();
            for _ in 0..rng.below(6) {
                let fin = rng.below(4) != 0;
                let opcode = opcodes[rng.below(opcodes.len())];
                let len = rng.below(20);
                let masked = rng.below(10) != 0;
                data.push(u8::from(fin) << 7 | opcode);
                data.push(u8::from(masked) << 7 | len as u8);
                if masked {
                    data.extend_from_slice(&(rng.next_u64() as u32).to_ne_bytes());
                }
                for _ in 0..len {
                    data.push(if rng.below(3) == 0 {
                        rng.next_u64() as u8
                    } else {
                        b'a'
                    });
                }
            }
            fuzz_connection(&data);
        }
    }
}

// Dissection: the chunking helpers of the transcript tests and the bodies of the `capture`
// fuzz targets.

use crate::capture::{Capture, Chunk, Direction};
use crate::dissect::{dissect_with, Kind, Limits as DissectLimits, Transcript};

/// The same streams as `capture`, chunked other ways: each direction whole (client first,
/// then server first), byte at a time (up to 64 KiB in all), and `random` times cut at
/// seeded random points, pieces merged again at random, and the two directions interleaved
/// at random. Each direction's bytes, in order, are the same in every one.
pub fn rechunkings(capture: &Capture, random: usize, seed: u64) -> Vec<Capture> {
    let with = |chunks: Vec<Chunk>| Capture {
        chunks,
        ..capture.clone()
    };
    let streams = [
        capture.stream(Direction::ClientToServer),
        capture.stream(Direction::ServerToClient),
    ];
    let whole = |dir: Direction, t: u64| Chunk {
        t,
        dir,
        bytes: streams[usize::from(dir == Direction::ServerToClient)].clone(),
    };
    let mut out = vec![
        with(vec![
            whole(Direction::ClientToServer, 0),
            whole(Direction::ServerToClient, 1),
        ]),
        with(vec![
            whole(Direction::ServerToClient, 0),
            whole(Direction::ClientToServer, 1),
        ]),
    ];
    if streams[0].len() + streams[1].len() <= 64 * 1024 {
        let mut bytes = Vec::new();
        for chunk in &capture.chunks {
            for &b in &chunk.bytes {
                bytes.push(Chunk {
                    t: chunk.t,
                    dir: chunk.dir,
                    bytes: vec![b],
                });
            }
        }
        out.push(with(bytes));
    }
    let mut rng = XorShift::new(seed);
    for _ in 0..random {
        // Cut each direction's stream into pieces of 1 to 64 bytes, then interleave.
        let mut pieces: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
        for (side, stream) in streams.iter().enumerate() {
            let mut rest = &stream[..];
            while !rest.is_empty() {
                let n = 1 + rng.below(rest.len().min(64));
                pieces[side].push(rest[..n].to_vec());
                rest = &rest[n..];
            }
        }
        let mut chunks = Vec::new();
        let mut next = [0, 0];
        let mut t = 0;
        while next[0] < pieces[0].len() || next[1] < pieces[1].len() {
            let side = if next[0] == pieces[0].len() {
                1
            } else if next[1] == pieces[1].len() {
                0
            } else {
                rng.below(2)
            };
            let dir = [Direction::ClientToServer, Direction::ServerToClient][side];
            chunks.push(Chunk {
                t,
                dir,
                bytes: std::mem::take(&mut pieces[side][next[side]]),
            });
            next[side] += 1;
            t += rng.below(1000) as u64;
        }
        out.push(with(chunks));
    }
    out
}

/// Checks what every transcript promises, for `capture`: ranges inside their stream and in
/// stream order, one end event per direction and last, nothing but the end after an error,
/// at most a few events per byte, and a JSON form that reads back equal.
pub fn check_transcript(capture: &Capture, transcript: &Transcript) {
    for dir in [Direction::ClientToServer, Direction::ServerToClient] {
        let total = capture.stream(dir).len() as u64;
        let events: Vec<_> = transcript.events.iter().filter(|e| e.dir == dir).collect();
        let mut last_end = 0;
        let mut failed = false;
        for (i, event) in events.iter().enumerate() {
            let [start, end] = event.at;
            assert!(start <= end && end <= total, "{event:?} outside 0..{total}");
            if let Kind::Error(error) = &event.kind {
                // An error may sit inside the frame just reported (a Close payload).
                assert!(
                    error.offset <= total && end <= error.offset + 1,
                    "{event:?}"
                );
            } else {
                assert!(end >= last_end, "{event:?} before {last_end}");
                last_end = end;
            }
            let is_end = matches!(event.kind, Kind::Eof(_) | Kind::Truncated(_));
            assert_eq!(
                is_end,
                i + 1 == events.len(),
                "end events come last: {event:?}"
            );
            assert!(!failed || is_end, "{event:?} after an error");
            failed |= matches!(event.kind, Kind::Error(_));
        }
        assert!(!events.is_empty(), "no end event for {dir}");
        // A request or frame takes at least 2 bytes and makes at most 3 events.
        assert!(
            events.len() as u64 <= 2 * total + 4,
            "{} events",
            events.len()
        );
    }
    let json = transcript.to_json();
    let back: Transcript = serde_json::from_str(&json).expect("a transcript reads back");
    assert_eq!(&back, transcript);
}

/// Dissects `capture` chunked every way [`rechunkings`] makes; every transcript must hold
/// [`check_transcript`] and equal the original's once times are dropped.
pub fn assert_chunking_invariant(capture: &Capture, limits: &DissectLimits, random: usize) {
    let original = dissect_with(capture, limits);
    check_transcript(capture, &original);
    let expected = original.untimed();
    let seed = seed_of(&capture.stream(Direction::ClientToServer));
    for (i, other) in rechunkings(capture, random, seed).iter().enumerate() {
        let got = dissect_with(other, limits);
        check_transcript(other, &got);
        assert_eq!(got.untimed(), expected, "rechunking {i}");
    }
}

/// Fuzz target body: `data` as a capture file, finalized (when it starts with `{` and
/// parses) or `.partial`. A capture that loads must dissect under the transcript's
/// promises, the same way however it is chunked.
pub fn fuzz_capture(data: &[u8]) {
    let capture = match Capture::from_slice(data) {
        Ok(capture) => capture,
        Err(_) => match Capture::from_partial_slice(data) {
            Ok(loaded) => loaded.capture,
            Err(_) => return,
        },
    };
    assert_chunking_invariant(&capture, &fuzz_dissect_limits(), 2);
}

/// Limits small enough that a fuzzer reaches them.
fn fuzz_dissect_limits() -> DissectLimits {
    let mut limits = DissectLimits::default();
    limits.http.max_head_bytes = 1024;
    limits.http.max_request_line = 256;
    limits.http.max_fields = 16;
    limits.max_events = 64;
    limits
}

/// The opening handshake the structured target can put in front of its streams.
const FUZZ_UPGRADE: &[u8] = b"GET /echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const FUZZ_SWITCH: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

/// Fuzz target body, structured: `data[0]` picks the prefix (bit 0: a WebSocket handshake
/// on both sides, so the fuzzer starts among frames; bit 1: the capture is truncated) and
/// `data[1]` where the rest is cut into the client's and the server's streams. Chunked at
/// points the input picks, and every other way [`rechunkings`] makes, the transcript must
/// not change.
pub fn fuzz_capture_streams(data: &[u8]) {
    let [flags, cut, rest @ ..] = data else {
        return;
    };
    let at = rest.len() * usize::from(*cut) / 256;
    let (mut c2s, mut s2c) = (Vec::new(), Vec::new());
    if flags & 1 != 0 {
        c2s.extend_from_slice(FUZZ_UPGRADE);
        s2c.extend_from_slice(FUZZ_SWITCH);
    }
    c2s.extend_from_slice(&rest[..at]);
    s2c.extend_from_slice(&rest[at..]);
    let mut capture = Capture::new("fuzz", "2026-01-01T00:00:00.000000Z", "a:1", "b:2");
    // Chunks as the recorder would make them: alternating, sizes from the input.
    let mut rng = XorShift::new(seed_of(data));
    let (mut a, mut b) = (&c2s[..], &s2c[..]);
    let mut t = 0;
    while !a.is_empty() || !b.is_empty() {
        for (side, dir) in [
            (&mut a, Direction::ClientToServer),
            (&mut b, Direction::ServerToClient),
        ] {
            if side.is_empty() {
                continue;
            }
            let n = 1 + rng.below(side.len().min(200));
            capture.chunks.push(Chunk {
                t,
                dir,
                bytes: side[..n].to_vec(),
            });
            *side = &side[n..];
            t += 10;
        }
    }
    if flags & 2 != 0 {
        capture.truncated = Some(crate::capture::Truncation {
            reason: crate::capture::TruncationReason::ConnectionCap,
            t,
            c2s: c2s.len() as u64,
            s2c: s2c.len() as u64,
            detail: None,
        });
    }
    assert_chunking_invariant(&capture, &fuzz_dissect_limits(), 3);
}
