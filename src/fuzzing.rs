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
}
