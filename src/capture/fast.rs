//! The fast path of [`Capture::from_slice`]: a finalized document in exactly the canonical
//! layout the writer produces (see [`write_document_head`], [`push_chunk_line`] and
//! [`write_document_tail`]) is read without a general JSON parser.
//!
//! The head line and the tail are small: they are parsed with serde_json, written back
//! with the writer's own functions and accepted only if that gives the very same bytes.
//! The chunk lines in between are scanned by hand: `{"t":N,"dir":"c2s","hex":"…"}` joined
//! by `,\n`, `N` without leading zeros, the hex lowercase and even. The closing quote of
//! the hex is found with `memchr` (hex never holds a quote or a backslash) and the digits
//! are decoded eight at a time in a `u64` (SWAR), with one validity check per 64 digits:
//! a branch-free loop the compiler vectorizes (3.5x the table decoder on 1 MiB chunks).
//!
//! Anything else, however valid as JSON (another layout, uppercase hex, an escape, a
//! field out of order), returns `None` and the caller parses the document with serde_json,
//! which also gives the errors. So the fast path never changes what loads or how: it only
//! skips the general parser where the bytes are exactly what the writer writes.
//!
//! [`write_document_head`]: super::model::write_document_head
//! [`push_chunk_line`]: super::model::push_chunk_line
//! [`write_document_tail`]: super::model::write_document_tail

use serde::Deserialize;

use super::model::{
    write_document_head, write_document_tail, Capture, Chunk, Direction, End, Header, Recovered,
    Truncation,
};

/// The fields after the chunks.
#[derive(Deserialize)]
struct Tail {
    truncated: Option<Truncation>,
    end: End,
    recovered: Option<Recovered>,
}

const CHUNKS_OPEN: &[u8] = b",\"chunks\":[\n";
const TAIL_OPEN: &[u8] = b"\n],";
const CHUNK_OPEN: &[u8] = b"{\"t\":";
const DIR_OPEN: &[u8] = b",\"dir\":\"";
const HEX_OPEN: &[u8] = b"\",\"hex\":\"";
const CHUNK_CLOSE: &[u8] = b"\"}";
const NEXT_CHUNK: &[u8] = b",\n";

/// The capture, if `bytes` is a document in exactly the canonical layout; `None` for
/// anything else (the caller then parses it in full).
pub(super) fn from_canonical(bytes: &[u8]) -> Option<Capture> {
    // The head: everything up to and including the first newline.
    let head_end = memchr::memchr(b'\n', bytes)? + 1;
    let head = &bytes[..head_end];
    let fields = head.strip_suffix(CHUNKS_OPEN)?;
    let mut object = Vec::with_capacity(fields.len() + 1);
    object.extend_from_slice(fields);
    object.push(b'}');
    let header: Header = serde_json::from_slice(&object).ok()?;
    let mut again = Vec::with_capacity(head.len());
    write_document_head(&mut again, &header).ok()?;
    if again != head {
        return None;
    }

    let mut chunks = Vec::new();
    // `rest` starts at a chunk, or at the newline of the tail when there is none.
    let mut rest = &bytes[head_end..];
    if rest.first() != Some(&b'\n') {
        loop {
            let (chunk, after) = chunk_line(rest)?;
            chunks.push(chunk);
            if let Some(next) = after.strip_prefix(NEXT_CHUNK) {
                rest = next;
            } else {
                rest = after;
                break;
            }
        }
    }

    // The tail: `\n],"truncated":..,"end":..(,"recovered":..)}\n`.
    let fields = rest.strip_prefix(TAIL_OPEN)?;
    let mut object = Vec::with_capacity(fields.len() + 1);
    object.push(b'{');
    object.extend_from_slice(fields);
    let tail: Tail = serde_json::from_slice(&object).ok()?;
    let mut again = Vec::with_capacity(rest.len());
    write_document_tail(
        &mut again,
        tail.truncated.as_ref(),
        &tail.end,
        tail.recovered.as_ref(),
    )
    .ok()?;
    if again != rest {
        return None;
    }

    Some(Capture {
        format: header.format,
        version: header.version,
        id: header.id,
        start: header.start,
        client: header.client,
        server: header.server,
        chunks,
        truncated: tail.truncated,
        end: tail.end,
        recovered: tail.recovered,
    })
}

/// One canonical chunk at the start of `line`, and what follows its closing brace.
fn chunk_line(line: &[u8]) -> Option<(Chunk, &[u8])> {
    let rest = line.strip_prefix(CHUNK_OPEN)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let t = time(&rest[..digits])?;
    let rest = rest[digits..].strip_prefix(DIR_OPEN)?;
    let (dir, rest) = if let Some(rest) = rest.strip_prefix(b"c2s") {
        (Direction::ClientToServer, rest)
    } else {
        (Direction::ServerToClient, rest.strip_prefix(b"s2c")?)
    };
    let rest = rest.strip_prefix(HEX_OPEN)?;
    let quote = memchr::memchr(b'"', rest)?;
    let bytes = decode_lower_hex(&rest[..quote])?;
    let rest = rest[quote..].strip_prefix(CHUNK_CLOSE)?;
    Some((Chunk { t, dir, bytes }, rest))
}

/// A `u64` in canonical decimal: digits only, no leading zero, no overflow.
fn time(digits: &[u8]) -> Option<u64> {
    match digits {
        [] => None,
        [b'0', _, ..] => None,
        _ => digits.iter().try_fold(0u64, |t, &d| {
            t.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        }),
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Eight lowercase hex digits (in memory order) as their four bytes, and a mask that is
/// not zero if any is not one of `0-9a-f` (checked by the caller, once per block, so that
/// the loop has no branch and the compiler can run several of these side by side).
#[inline(always)]
fn octet_unchecked(digits: [u8; 8]) -> (u32, u64) {
    let v = u64::from_le_bytes(digits);
    // Every lane below 0x80 (checked), adding a constant below 0x80 never carries into
    // the next lane, and the lane's top bit says whether it reached the threshold.
    let at_least = |low: u8| v.wrapping_add(ONES * u64::from(0x80 - low)) & HIGH;
    let digit = at_least(b'0') & !at_least(b'9' + 1);
    let letter = at_least(b'a') & !at_least(b'f' + 1);
    let bad = (v & HIGH) | ((digit | letter) ^ HIGH);
    // '0'..'9' is 0..9 in the low nibble, 'a'..'f' is 1..6: add 9 to letters.
    let nibbles = (v & (ONES * 0x0f)) + (letter >> 7) * 9;
    // Each 16-bit lane holds the high nibble in its first byte and the low one in its
    // second: make the byte, then pack the four bytes together.
    let pairs = ((nibbles << 4) | (nibbles >> 8)) & 0x00ff_00ff_00ff_00ff;
    let pairs = (pairs | (pairs >> 8)) & 0x0000_ffff_0000_ffff;
    ((pairs | (pairs >> 16)) as u32, bad)
}

/// [`octet_unchecked`], `None` if a digit is not one of `0-9a-f`.
#[cfg(test)]
fn octet(digits: [u8; 8]) -> Option<u32> {
    let (value, bad) = octet_unchecked(digits);
    (bad == 0).then_some(value)
}

/// Digits decoded between two validity checks.
const BLOCK: usize = 64;

/// Decodes `digits` (a multiple of 8 long) into `bytes` (half as long); `false` if a digit
/// is not one of `0-9a-f`.
#[inline(always)]
fn decode_block(digits: &[u8], bytes: &mut [u8]) -> bool {
    let mut bad = 0;
    for (eight, four) in digits.chunks_exact(8).zip(bytes.chunks_exact_mut(4)) {
        let mut group = [0u8; 8];
        group.copy_from_slice(eight);
        let (value, wrong) = octet_unchecked(group);
        bad |= wrong;
        four.copy_from_slice(&value.to_le_bytes());
    }
    bad == 0
}

/// Lowercase hex to bytes; `None` for an odd length or anything but `0-9a-f`.
pub(crate) fn decode_lower_hex(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    let mut out = vec![0u8; text.len() / 2];
    let mut digits = text.chunks_exact(BLOCK);
    let mut bytes = out.chunks_exact_mut(BLOCK / 2);
    for (block, half) in (&mut digits).zip(&mut bytes) {
        if !decode_block(block, half) {
            return None;
        }
    }
    // Fewer than a block left: pad with '0' to a full block and keep what is real.
    let left = digits.remainder();
    if !left.is_empty() {
        let mut padded = [b'0'; BLOCK];
        padded[..left.len()].copy_from_slice(left);
        let mut half = [0u8; BLOCK / 2];
        if !decode_block(&padded, &mut half) {
            return None;
        }
        let tail = bytes.into_remainder();
        tail.copy_from_slice(&half[..tail.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octets_decode_every_lowercase_pair_and_refuse_everything_else() {
        for byte in 0..=255u8 {
            let pair = hex::encode([byte]).into_bytes();
            let digits = [pair[0], pair[1], b'0', b'0', b'0', b'0', pair[0], pair[1]];
            assert_eq!(octet(digits), Some(u32::from_le_bytes([byte, 0, 0, byte])));
        }
        for bad in 0..=255u8 {
            if bad.is_ascii_digit() || (b'a'..=b'f').contains(&bad) {
                continue;
            }
            for at in 0..8 {
                let mut digits = [b'0'; 8];
                digits[at] = bad;
                assert_eq!(octet(digits), None, "{bad:#x} at {at}");
            }
        }
    }

    #[test]
    fn lowercase_hex_decodes_like_the_hex_crate() {
        let mut rng = crate::fuzzing::XorShift::new(11);
        for len in 0..70usize {
            let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            let text = hex::encode(&bytes);
            assert_eq!(decode_lower_hex(text.as_bytes()), Some(bytes.clone()));
            assert_eq!(
                decode_lower_hex(&text.as_bytes()[..text.len().saturating_sub(1)]).is_none(),
                len > 0
            );
            for at in 0..text.len() {
                for bad in [b'g', b'A', b'F', b'"', b'\\', b'/', b':', b'`', 0x80, 0xff] {
                    let mut wrong = text.clone().into_bytes();
                    wrong[at] = bad;
                    assert_eq!(decode_lower_hex(&wrong), None, "len {len} at {at}");
                }
            }
        }
    }

    #[test]
    fn times_are_canonical_decimals() {
        assert_eq!(time(b"0"), Some(0));
        assert_eq!(time(b"412"), Some(412));
        assert_eq!(time(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(time(b"18446744073709551616"), None);
        assert_eq!(time(b""), None);
        assert_eq!(time(b"01"), None);
    }
}
