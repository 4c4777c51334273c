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
