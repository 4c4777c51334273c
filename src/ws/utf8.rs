//! Incremental UTF-8 validation for text messages that arrive in pieces.
//!
//! For: checking a text message (RFC 3629 UTF-8) as its fragments, or pieces of one frame,
//! arrive, and failing on the first byte after which the text can no longer become valid,
//! not at the end of the message (RFC 6455 §8.1: "When an endpoint is to interpret a byte
//! stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that
//! endpoint MUST _Fail the WebSocket Connection_"). Not for: decoding or storing the text;
//! the caller keeps the bytes.
//!
//! How: `std::str::from_utf8` on each piece, which skips ASCII a word at a time and checks
//! every byte against the RFC 3629 table (overlongs `C0`/`C1`/`E0 80..9F`/`F0 80..8F`,
//! surrogates `ED A0..BF`, above U+10FFFF `F4 90..`/`F5..FF`). Its `Utf8Error::error_len`
//! tells "invalid" (`Some`) from "cut short" (`None`); a cut-short tail of at most 3 bytes is
//! carried into the next piece. `from_utf8` rejects a sequence at its first impossible byte
//! (it checks the second byte's range from the lead byte), so failing early needs no DFA of
//! our own.

use std::fmt;

/// Where a text stopped being valid UTF-8. Offsets count from the first byte fed to the
/// [`Utf8Validator`] since it was created or reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvalidUtf8 {
    /// The first byte of the offending sequence (what `Utf8Error::valid_up_to` reports).
    pub sequence_start: u64,
    /// The byte after which no continuation could make the text valid: in `ED A0` it is the
    /// `A0` (surrogate), in `C0` the `C0` itself. For a text that ended in the middle of a
    /// sequence it is the end of the text.
    pub offset: u64,
}

impl fmt::Display for InvalidUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid utf-8 at byte {}", self.offset)
    }
}

impl std::error::Error for InvalidUtf8 {}

/// Incremental UTF-8 validator: feed the pieces of a text, then [`finish`](Self::finish) at
/// its end. Holds at most 3 bytes of an unfinished sequence; never allocates.
///
/// ```
/// use wiretap::ws::Utf8Validator;
///
/// let mut v = Utf8Validator::new();
/// v.feed(b"caf\xc3").unwrap(); // cut in the middle of "é"
/// v.feed(b"\xa9 ok").unwrap();
/// v.finish().unwrap();
///
/// // A surrogate (ED A0 80) is rejected at its second byte, before the text ends.
/// let mut v = Utf8Validator::new();
/// let err = v.feed(b"ab\xed\xa0").unwrap_err();
/// assert_eq!((err.sequence_start, err.offset), (2, 3));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    /// The bytes of a sequence cut at the end of the previous piece (a valid prefix).
    carry: [u8; 4],
    carry_len: u8,
    /// Bytes fed so far: the offset of the next byte.
    fed: u64,
    /// Sticky verdict: once invalid, always invalid until [`reset`](Self::reset).
    failed: Option<InvalidUtf8>,
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub const fn new() -> Self {
        Self {
            carry: [0; 4],
            carry_len: 0,
            fed: 0,
            failed: None,
        }
    }

    /// Forgets everything: the next byte fed starts a new text at offset 0.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// True when no sequence is cut in the middle (the text so far could end here).
    pub fn is_complete(&self) -> bool {
        self.carry_len == 0 && self.failed.is_none()
    }

    /// Validates the next piece of the text. Fails as soon as a byte makes the text invalid
    /// whatever follows; the error is repeated by every later call until [`reset`](Self::reset).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), InvalidUtf8> {
        if let Some(failed) = self.failed {
            return Err(failed);
        }
        let mut rest = bytes;
        // Finish the sequence cut at the end of the previous piece, one byte at a time: the
        // carry is at most 3 bytes and needs at most 3 more.
        if self.carry_len > 0 {
            let carry_start = self.fed - u64::from(self.carry_len);
            while let Some((&byte, tail)) = rest.split_first() {
                self.carry[usize::from(self.carry_len)] = byte;
                self.carry_len += 1;
                rest = tail;
                match std::str::from_utf8(&self.carry[..usize::from(self.carry_len)]) {
                    Ok(_) => {
                        self.carry_len = 0;
                        break;
                    }
                    Err(e) => {
                        if let Some(len) = e.error_len() {
                            // The carry starts with a valid lead byte, so the offending byte
                            // is the one after the valid prefix.
                            return Err(self.fail(InvalidUtf8 {
                                sequence_start: carry_start,
                                offset: carry_start + len as u64,
                            }));
                        }
                    }
                }
            }
            if self.carry_len > 0 {
                // Still cut short: the whole piece went into the carry.
                self.fed += bytes.len() as u64;
                return Ok(());
            }
        }
        let base = self.fed + (bytes.len() - rest.len()) as u64;
        if let Err(e) = std::str::from_utf8(rest) {
            let start = e.valid_up_to();
            match e.error_len() {
                Some(len) => {
                    let offset = if len == 1 && !is_lead(rest[start]) {
                        start
                    } else {
                        start + len
                    };
                    return Err(self.fail(InvalidUtf8 {
                        sequence_start: base + start as u64,
                        offset: base + offset as u64,
                    }));
                }
                None => {
                    // A valid but unfinished sequence: at most 3 bytes.
                    let tail = &rest[start..];
                    self.carry[..tail.len()].copy_from_slice(tail);
                    self.carry_len = tail.len() as u8;
                }
            }
        }
        self.fed += bytes.len() as u64;
        Ok(())
    }

    /// Declares the end of the text: fails if it stops in the middle of a sequence.
    pub fn finish(&self) -> Result<(), InvalidUtf8> {
        if let Some(failed) = self.failed {
            return Err(failed);
        }
        if self.carry_len > 0 {
            return Err(InvalidUtf8 {
                sequence_start: self.fed - u64::from(self.carry_len),
                offset: self.fed,
            });
        }
        Ok(())
    }

    fn fail(&mut self, error: InvalidUtf8) -> InvalidUtf8 {
        self.failed = Some(error);
        error
    }
}

/// Where [`Utf8Validator`] reports `text` invalid when it is fed whole and finished, or
/// `None` if it is valid. For a text that arrived in one piece and failed
/// `String::from_utf8`: the same verdict and offset as the per-piece check, computed only
/// on the (rare) failure.
pub(crate) fn first_invalid(text: &[u8]) -> Option<InvalidUtf8> {
    let mut validator = Utf8Validator::new();
    validator.feed(text).and_then(|()| validator.finish()).err()
}

/// RFC 3629 §4: the bytes that may start a multi-byte sequence (`C2..DF`, `E0..EF`,
/// `F0..F4`). Any other non-ASCII byte is wrong in itself.
fn is_lead(byte: u8) -> bool {
    (0xC2..=0xF4).contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::{chunks, splits};

    /// The verdict for `input` fed in every way `splits` offers; all must agree.
    fn check(input: &[u8]) -> Result<(), InvalidUtf8> {
        let mut verdict = None;
        for pieces in splits(input.len(), 8, input.len() as u64) {
            let mut v = Utf8Validator::new();
            let mut result = Ok(());
            for piece in chunks(input, &pieces) {
                result = v.feed(piece);
                if result.is_err() {
                    break;
                }
            }
            let result = result.and_then(|()| v.finish());
            match verdict {
                None => verdict = Some(result),
                Some(first) => assert_eq!(first, result, "{input:02x?} split {pieces:?}"),
            }
        }
        verdict.unwrap_or(Ok(()))
    }

    /// The first offset at which the prefix up to and including it is invalid, by brute
    /// force with std: the definition of "fails fast".
    fn first_hopeless_byte(input: &[u8]) -> Option<usize> {
        (0..input.len())
            .find(|&i| std::str::from_utf8(&input[..=i]).is_err_and(|e| e.error_len().is_some()))
    }

    #[test]
    fn accepts_valid_text_in_any_split() {
        let texts: &[&str] = &[
            "",
            "hello",
            "κόσμε",
            "\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}",
            "\u{d7ff}\u{e000}\u{fffd}",
            "a long ascii run that crosses a few words of the fast path, 0123456789",
        ];
        for text in texts {
            assert_eq!(check(text.as_bytes()), Ok(()), "{text:?}");
        }
    }

    #[test]
    fn fails_at_the_surrogate_not_at_the_end() {
        // Autobahn 6.3.1: "κόσμε" then ED A0 80 (U+D800) then "edited".
        let input = [
            0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80,
            0x65, 0x64, 0x69, 0x74, 0x65, 0x64,
        ];
        assert_eq!(
            check(&input),
            Err(InvalidUtf8 {
                sequence_start: 11,
                offset: 12
            })
        );
        // Byte by byte, the byte that fails is the A0: nothing after it is needed.
        let mut v = Utf8Validator::new();
        for (i, &byte) in input.iter().enumerate() {
            let result = v.feed(&[byte]);
            assert_eq!(result.is_err(), i >= 12, "byte {i}");
        }
    }

    #[test]
    fn rejects_each_classic_invalid_sequence_at_its_first_hopeless_byte() {
        // The Autobahn 6.x / Markus Kuhn catalogue: each entry is (input, offending offset).
        let cases: &[(&[u8], u64)] = &[
            (b"\x80", 0),                        // lone continuation
            (b"\xbf", 0),                        // lone continuation
            (b"\xc0\xaf", 0),                    // overlong lead C0
            (b"\xc1\xbf", 0),                    // overlong lead C1
            (b"\xe0\x80\xaf", 1),                // overlong 3-byte
            (b"\xe0\x9f\xbf", 1),                // overlong 3-byte, largest
            (b"\xf0\x80\x80\xaf", 1),            // overlong 4-byte
            (b"\xf0\x8f\xbf\xbf", 1),            // overlong 4-byte, largest
            (b"\xed\xa0\x80", 1),                // U+D800
            (b"\xed\xbf\xbf", 1),                // U+DFFF
            (b"\xf4\x90\x80\x80", 1),            // U+110000
            (b"\xf5\x80\x80\x80", 0),            // F5 never valid
            (b"\xfe", 0),                        // FE never valid
            (b"\xff", 0),                        // FF never valid
            (b"\xc2\x41", 1),                    // missing continuation
            (b"\xe1\x80\x41", 2),                // missing third byte
            (b"\xf1\x80\x80\x41", 3),            // missing fourth byte
            (b"a\xce\xbaz\xf4\x90\x80\x80z", 5), // Autobahn 6.4.1's U+110000 mid-text
            (b"\xc2", 1),                        // cut short: fails at the end of text
            (b"\xf0\x90\x80", 3),                // cut short 4-byte sequence
        ];
        for &(input, offset) in cases {
            let err = check(input).expect_err("must fail");
            assert_eq!(err.offset, offset, "{input:02x?}");
            if let Some(hopeless) = first_hopeless_byte(input) {
                assert_eq!(err.offset, hopeless as u64, "{input:02x?}");
            }
        }
    }

    #[test]
    fn agrees_with_std_on_every_two_byte_input() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let input = [a, b];
                let mut v = Utf8Validator::new();
                let result = v.feed(&input[..1]).and_then(|()| v.feed(&input[1..]));
                let result = result.and_then(|()| v.finish());
                assert_eq!(result.is_ok(), std::str::from_utf8(&input).is_ok());
                if let Err(e) = result {
                    let expected = first_hopeless_byte(&input).unwrap_or(2);
                    assert_eq!(e.offset, expected as u64, "{input:02x?}");
                }
            }
        }
    }

    #[test]
    fn agrees_with_std_on_random_inputs_in_random_splits() {
        let mut rng = crate::fuzzing::XorShift::new(11);
        // A byte alphabet biased towards the interesting boundaries.
        let alphabet = [
            0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0,
            0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff,
        ];
        for _ in 0..3000 {
            let len = rng.below(9);
            let input: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            let result = check(&input);
            assert_eq!(result.is_ok(), std::str::from_utf8(&input).is_ok());
            if let Err(e) = result {
                let expected = first_hopeless_byte(&input).unwrap_or(input.len());
                assert_eq!(e.offset, expected as u64, "{input:02x?}");
            }
        }
    }

    #[test]
    fn stays_failed_until_reset() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(b"\xff").is_err());
        assert!(v.feed(b"fine").is_err());
        assert!(!v.is_complete());
        v.reset();
        assert_eq!(v.feed(b"fine"), Ok(()));
        assert!(v.is_complete());
    }
}
