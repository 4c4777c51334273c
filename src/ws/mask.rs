//! Payload masking (RFC 6455 §5.3), in safe Rust and a word at a time.
//!
//! For: XOR-ing a payload, or any piece of one, with a frame's 4-byte masking key. The
//! operation is its own inverse, so the same function masks (client side) and unmasks
//! (server side). Not for: choosing masking keys; that is the client's job (see
//! [`Connection`](super::Connection) for the deterministic keys of our test client).
//!
//! RFC 6455 §5.3: "Octet i of the transformed data ("transformed-octet-i") is the XOR of
//! octet i of the original data ("original-octet-i") with octet at index i modulo 4 of the
//! masking key ("masking-key-octet-j")". A payload arrives in pieces, so every call takes the
//! *phase* (the index in the payload of the piece's first byte, modulo 4) and returns the
//! phase of the byte after the piece: a payload split anywhere unmasks identically.

/// XORs `buf` with the masking `key`, starting at key index `phase` (taken modulo 4), and
/// returns the phase for the byte that follows `buf`.
///
/// The key is rotated by the phase and repeated into a `u64`, so the body of the buffer is
/// XOR-ed 8 bytes at a time (which the compiler turns into vector instructions); only the
/// tail shorter than 8 bytes goes byte by byte. No `unsafe`: unaligned `u64` loads through
/// `from_ne_bytes` are what `align_to` would have bought.
///
/// ```
/// use wiretap::ws::apply_mask;
///
/// // RFC 6455 §5.7: "Hello" masked with key 37 fa 21 3d.
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut payload = *b"Hello";
/// assert_eq!(apply_mask(&mut payload, key, 0), 1);
/// assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
///
/// // The same payload unmasked in two pieces: the phase carries across.
/// let (head, tail) = payload.split_at_mut(3);
/// let phase = apply_mask(head, key, 0);
/// apply_mask(tail, key, phase);
/// assert_eq!(&payload, b"Hello");
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], phase: usize) -> usize {
    let phase = phase % 4;
    let next = (phase + buf.len() % 4) % 4;
    let mut key = key;
    key.rotate_left(phase);
    let [a, b, c, d] = key;
    let word = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut words = buf.chunks_exact_mut(8);
    for chunk in &mut words {
        // `chunks_exact_mut(8)` only yields 8-byte chunks, so the conversion cannot fail.
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    // Every chunk was a multiple of 4 bytes long, so the tail starts at key index 0 again.
    for (byte, k) in words.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(buf: &mut [u8], key: [u8; 4], phase: usize) {
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte ^= key[(phase + i) % 4];
        }
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + 7) as u8).collect()
    }

    #[test]
    fn matches_the_byte_loop_for_every_phase_and_short_length() {
        let key = [0x6d, 0xb6, 0xb2, 0x80];
        for phase in 0..8 {
            for len in 0..=70 {
                let mut fast = sample(len);
                let mut slow = fast.clone();
                let next = apply_mask(&mut fast, key, phase);
                naive(&mut slow, key, phase);
                assert_eq!(fast, slow, "phase {phase} len {len}");
                assert_eq!(next, (phase + len) % 4, "phase {phase} len {len}");
            }
        }
    }

    #[test]
    fn matches_the_byte_loop_on_a_long_unaligned_buffer() {
        let key = [1, 2, 3, 0xff];
        let mut fast = sample(100_003);
        let mut slow = fast.clone();
        apply_mask(&mut fast[3..], key, 2);
        naive(&mut slow[3..], key, 2);
        assert_eq!(fast, slow);
    }

    #[test]
    fn masking_twice_restores_the_payload() {
        let key = [0xde, 0xad, 0xbe, 0xef];
        let original = sample(1000);
        let mut buf = original.clone();
        apply_mask(&mut buf, key, 1);
        assert_ne!(buf, original);
        apply_mask(&mut buf, key, 1);
        assert_eq!(buf, original);
    }

    #[test]
    fn any_split_unmasks_like_the_whole() {
        let key = [9, 8, 7, 6];
        let original = sample(40);
        let mut whole = original.clone();
        apply_mask(&mut whole, key, 0);
        for pieces in crate::fuzzing::splits(original.len(), 16, 5) {
            let mut buf = original.clone();
            let mut phase = 0;
            let mut at = 0;
            for n in pieces {
                phase = apply_mask(&mut buf[at..at + n], key, phase);
                at += n;
            }
            assert_eq!(buf, whole);
        }
    }
}
