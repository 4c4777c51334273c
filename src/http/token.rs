//! Byte classes of RFC 9110 / RFC 9112 as 256-entry tables, and the small scanners built on
//! them. Everything here is a pure function of its input.

/// RFC 9110 §5.6.2:
/// ```text
/// token = 1*tchar
/// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
///         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
/// ```
pub(crate) static TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    t
};

/// Bytes allowed in a request-target: VCHAR (`%x21-7E`) except `#`.
///
/// RFC 9112 §3.2 builds every form from RFC 3986 parts, none of which holds whitespace,
/// controls or non-ASCII, and a fragment is never sent. Like h11 we do not enforce the finer
/// RFC 3986 classes (`"`, `{`, `|` … pass); they cannot change how the message is framed.
pub(crate) static TARGET: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0x21;
    while i <= 0x7E {
        t[i] = i != b'#' as usize;
        i += 1;
    }
    t
};

/// RFC 3986 §2.3 unreserved + §2.2 sub-delims: the bytes of a `reg-name` besides
/// pct-encoded (`%`, handled apart).
/// ```text
/// unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
/// sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
/// ```
pub(crate) static REG_NAME: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        i += 1;
    }
    t
};

/// Whether `bytes` is a `token` (RFC 9110 §5.6.2): one or more tchar.
///
/// ```
/// assert!(wiretap::http::is_token(b"websocket"));
/// assert!(!wiretap::http::is_token(b"web socket"));
/// assert!(!wiretap::http::is_token(b""));
/// ```
pub fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| TCHAR[usize::from(b)])
}

/// Whether every byte of `bytes` is a tchar (see [`TCHAR`]); true for an empty slice.
///
/// No early exit: the lookups are independent and AND-ed, so a name costs one predictable
/// counted loop instead of a branch per byte that mispredicts where the name ends.
pub(crate) fn all_tchar(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |ok, &b| ok & TCHAR[usize::from(b)])
}

/// Index of the first `:` in `bytes`.
///
/// Eight bytes at a time: `w ^ 0x3A…` turns each colon into a zero byte, and
/// `(x - 0x01…) & !x & 0x80…` sets the high bit of every zero byte of `x` (Bit Twiddling
/// Hacks, "haszero"); as in [`find_ctl`], the lowest set bit is exact.
pub(crate) fn find_colon(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ (ONES * u64::from(b':'));
        let bits = x.wrapping_sub(ONES) & !x & HIGH;
        if bits != 0 {
            return Some(at + (bits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b':')
        .map(|i| at + i)
}

/// Whether `b` may appear in a field value: RFC 9110 §5.5
/// `field-vchar = VCHAR / obs-text`, plus SP and HTAB between them.
pub(crate) fn is_field_value_byte(b: u8) -> bool {
    b == b'\t' || (b >= b' ' && b != 0x7F)
}

/// OWS (RFC 9110 §5.6.3): `*( SP / HTAB )`.
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `bytes` without leading and trailing OWS.
pub(crate) fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_ows(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_ows(b))
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// Whether `b` ends a fast scan over a line: a control (`< 0x20`, HTAB included) or DEL.
fn is_ctl(b: u8) -> bool {
    // `|`, not `||`: no branch, so that LLVM can vectorise the loops that call this.
    (b < 0x20) | (b == 0x7F)
}

/// Index of the first byte in `bytes` that is a control (`< 0x20`, HTAB included) or DEL,
/// which ends every fast scan over a line: CR and LF are among them.
///
/// Thirty-two bytes at a time in safe Rust: the branch-free `fold` of [`is_ctl`] over a
/// 32-byte chunk is what LLVM turns into SSE2 compares and one `pmovmskb` test per chunk on
/// x86-64 (`pminub`, `pcmpeqb` twice and `por` per 16 bytes), so the common case, a chunk
/// with no control, costs a handful of instructions. Only the chunk that holds a stop is
/// looked at again, by [`ctl_bits`], to find which byte it is. The last `< 32` bytes of the
/// buffer go through [`ctl_bits`] eight at a time, then byte by byte.
pub(crate) fn find_ctl(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(32);
    let mut at = 0;
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |any, &b| any | is_ctl(b)) {
            return find_ctl_by_words(chunk).map(|i| at + i);
        }
        at += 32;
    }
    find_ctl_by_words(chunks.remainder()).map(|i| at + i)
}

/// [`find_ctl`] for a short slice: eight bytes at a time through [`ctl_bits`], then the
/// last `< 8` bytes one by one.
fn find_ctl_by_words(bytes: &[u8]) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let bits = ctl_bits(word);
        if bits != 0 {
            return Some(at + (bits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| is_ctl(b))
        .map(|i| at + i)
}

/// For eight bytes, a word whose lowest set bit is the high bit of the first byte (in order)
/// that [`is_ctl`]; zero if there is none.
///
/// For a little-endian word `w`, `(w - 0x20…) & !w & 0x80…` sets the high bit of every byte
/// below 0x20 (Bit Twiddling Hacks, "hasless"), and the same trick on `w ^ 0x7F…` (which
/// turns DEL into zero) finds DEL. A borrow can only set false bits *above* a true one, so
/// the lowest set bit, the first byte in little-endian order, is always exact.
fn ctl_bits(eight: &[u8]) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut word = [0u8; 8];
    word.copy_from_slice(eight);
    let w = u64::from_le_bytes(word);
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let del = w ^ (ONES * 0x7F);
    let del = del.wrapping_sub(ONES) & !del & HIGH;
    below_space | del
}

/// The elements of a comma-separated list value (RFC 9110 §5.6.1 `#element`), each without
/// surrounding OWS; empty elements are skipped, as the RFC requires of recipients.
///
/// Quoted strings are not understood: a comma inside quotes splits too. That is fine for the
/// token lists this serves (Connection, Upgrade, Transfer-Encoding, Sec-WebSocket-*).
///
/// ```
/// let items: Vec<&[u8]> = wiretap::http::list_items(b"keep-alive, ,Upgrade ").collect();
/// assert_eq!(items, [&b"keep-alive"[..], &b"Upgrade"[..]]);
/// ```
pub fn list_items(value: &[u8]) -> ListItems<'_> {
    ListItems { rest: value }
}

/// Iterator over the elements of a list value; see [`list_items`].
#[derive(Debug, Clone)]
pub struct ListItems<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for ListItems<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.rest.is_empty() {
            let (item, rest) = match self.rest.iter().position(|&b| b == b',') {
                Some(comma) => self.rest.split_at(comma),
                None => (self.rest, &b""[..]),
            };
            // Skip the comma itself (absent at the end of the value).
            self.rest = rest.get(1..).unwrap_or_default();
            let item = trim_ows(item);
            if !item.is_empty() {
                return Some(item);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tchar_table_matches_the_abnf() {
        let listed =
            b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        for b in 0..=255u8 {
            assert_eq!(TCHAR[usize::from(b)], listed.contains(&b), "byte {b:#04x}");
        }
    }

    #[test]
    fn target_table_is_vchar_without_hash() {
        for b in 0..=255u8 {
            let want = (0x21..=0x7E).contains(&b) && b != b'#';
            assert_eq!(TARGET[usize::from(b)], want, "byte {b:#04x}");
        }
    }

    #[test]
    fn find_ctl_agrees_with_a_plain_loop_at_every_position() {
        // Every stop byte at every position of a 0..=72 byte line (both halves of the 32-byte
        // chunks, the 8-byte words and the bytes of the tail), among text that is not a stop
        // (including obs-text, which must not trip the high-bit trick).
        for len in 0..=72 {
            for stop in [0x00u8, 0x09, 0x0A, 0x0D, 0x1F, 0x7F] {
                for at in 0..len {
                    let mut line: Vec<u8> = (0..len)
                        .map(|i| [b'a', 0x80, 0xFF, b' ', 0x7E][i % 5])
                        .collect();
                    line[at] = stop;
                    assert_eq!(
                        find_ctl(&line),
                        Some(at),
                        "len {len} stop {stop:#x} at {at}"
                    );
                }
            }
            let clean: Vec<u8> = (0..len).map(|i| 0x20 + (i * 7 % 0x5F) as u8).collect();
            assert_eq!(find_ctl(&clean), None);
        }
    }

    #[test]
    fn find_ctl_takes_the_first_of_two_stops() {
        // A borrow out of the first hit must not make a later byte look like the first.
        let line = b"ab\x01\x00cdefgh";
        assert_eq!(find_ctl(line), Some(2));
        let line = b"abcdefg\x7F\x00";
        assert_eq!(find_ctl(line), Some(7));
        // The same across the two halves of a 16-byte chunk.
        let line = b"abcdefg\x01\x00bcdefghijklmnop";
        assert_eq!(find_ctl(line), Some(7));
        let line = b"abcdefghijklmno\x7F\x00bcdefghijklmnop";
        assert_eq!(find_ctl(line), Some(15));
    }

    #[test]
    fn find_colon_and_all_tchar_agree_with_plain_loops() {
        for len in 0..=20 {
            let name: Vec<u8> = (0..len).map(|i| b"Ab-9!~_."[i % 8]).collect();
            assert!(all_tchar(&name));
            assert_eq!(find_colon(&name), None);
            for at in 0..len {
                for stop in [b':', b';', b' ', b'@', 0x80, 0xBA, 0x00] {
                    let mut line = name.clone();
                    line[at] = stop;
                    line.push(b':');
                    let want = line.iter().position(|&b| b == b':');
                    assert_eq!(find_colon(&line), want, "len {len} stop {stop:#x} at {at}");
                    assert_eq!(all_tchar(&line[..len]), TCHAR[usize::from(stop)]);
                }
            }
        }
    }

    #[test]
    fn trim_ows_strips_both_sides() {
        assert_eq!(trim_ows(b" \ta b\t "), b"a b");
        assert_eq!(trim_ows(b" \t "), b"");
        assert_eq!(trim_ows(b""), b"");
    }

    #[test]
    fn list_items_skip_empty_elements() {
        let items: Vec<&[u8]> = list_items(b",a,,  b ,\tc\t,").collect();
        assert_eq!(items, [&b"a"[..], b"b", b"c"]);
        assert_eq!(list_items(b" , ,").count(), 0);
    }
}
