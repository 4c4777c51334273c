//! What every head shares: the incremental line scanner (start line, then field lines), the
//! spans it records, the field accessors, and the reading of the framing fields
//! (Content-Length, Transfer-Encoding) that the request and response rules then judge.
//!
//! The scanner works in two passes per line, both tight loops over bytes already in cache:
//! pass one ([`token::find_ctl`], 32 bytes at a time) finds the line end and refuses
//! control bytes and bare CR/LF as soon as it meets them; pass two checks the grammar of the
//! complete line (token, colon, OWS). Only pass one can stop mid-line, and it resumes where it
//! stopped, so feeding a head byte by byte costs O(n) in total.

use std::ops::Range;

use super::token::{self, TCHAR};
use super::{Error, ErrorKind};

/// Where one field line sits in the bytes of its head (or trailer section): offsets from the
/// first byte of the head, the CRLF excluded. Handy for highlighting the line in a hex view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldSpan {
    // u32 keeps a span at 20 bytes: heads are capped far below 4 GiB (`Limits`).
    name_start: u32,
    name_end: u32,
    value_start: u32,
    value_end: u32,
    line_end: u32,
}

impl FieldSpan {
    /// The whole field line, from the name's first byte to the CRLF (excluded).
    pub fn line(&self) -> Range<usize> {
        self.name_start as usize..self.line_end as usize
    }

    /// The field name.
    pub fn name(&self) -> Range<usize> {
        self.name_start as usize..self.name_end as usize
    }

    /// The field value, without the OWS around it (possibly empty).
    pub fn value(&self) -> Range<usize> {
        self.value_start as usize..self.value_end as usize
    }
}

/// Iterator over the field lines of a head, in wire order, as `(name, value)`; see
/// [`RequestHead::fields`](super::RequestHead::fields).
#[derive(Debug, Clone)]
pub struct FieldIter<'a> {
    bytes: &'a [u8],
    spans: std::slice::Iter<'a, FieldSpan>,
}

impl<'a> FieldIter<'a> {
    pub(crate) fn new(bytes: &'a [u8], spans: &'a [FieldSpan]) -> Self {
        Self {
            bytes,
            spans: spans.iter(),
        }
    }
}

/// The name and value of one field line. Names are tokens, hence ASCII, hence `str`.
fn pair<'a>(bytes: &'a [u8], span: &FieldSpan) -> (&'a str, &'a [u8]) {
    let name = bytes.get(span.name()).unwrap_or_default();
    let name = std::str::from_utf8(name).unwrap_or_default();
    (name, bytes.get(span.value()).unwrap_or_default())
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = (&'a str, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        self.spans.next().map(|span| pair(self.bytes, span))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl ExactSizeIterator for FieldIter<'_> {}

/// Iterator over the values of every field with one name, in wire order; see
/// [`RequestHead::fields_named`](super::RequestHead::fields_named).
#[derive(Debug, Clone)]
pub struct Values<'a, 'n> {
    fields: FieldIter<'a>,
    name: &'n str,
}

impl<'a, 'n> Values<'a, 'n> {
    pub(crate) fn new(fields: FieldIter<'a>, name: &'n str) -> Self {
        Self { fields, name }
    }
}

impl<'a> Iterator for Values<'a, '_> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let name = self.name;
        self.fields
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// The field accessors shared by [`RequestHead`](super::RequestHead),
/// [`ResponseHead`](super::ResponseHead) and [`Trailers`](super::Trailers); each keeps its
/// bytes in `bytes: Box<[u8]>` and its spans in `fields: Box<[FieldSpan]>`.
macro_rules! field_accessors {
    () => {
        /// The field lines in wire order, as `(name, value)`; values come without the OWS
        /// around them. Names keep the case they were sent in.
        pub fn fields(&self) -> $crate::http::FieldIter<'_> {
            $crate::http::FieldIter::new(&self.bytes, &self.fields)
        }

        /// The value of the first field named `name` (compared without regard to case).
        pub fn field(&self, name: &str) -> Option<&[u8]> {
            self.fields_named(name).next()
        }

        /// The values of every field named `name` (compared without regard to case), in
        /// wire order.
        pub fn fields_named<'n>(&self, name: &'n str) -> $crate::http::Values<'_, 'n> {
            $crate::http::Values::new(self.fields(), name)
        }

        /// Whether a field named `name` lists `token` among its comma-separated elements,
        /// compared without regard to case: `has_token("connection", "close")`.
        pub fn has_token(&self, name: &str, token: &str) -> bool {
            self.fields_named(name).any(|value| {
                $crate::http::list_items(value)
                    .any(|item| item.eq_ignore_ascii_case(token.as_bytes()))
            })
        }

        /// Where each field line sits, in wire order, relative to the first byte of
        /// [`as_bytes`](Self::as_bytes).
        pub fn field_spans(&self) -> &[$crate::http::FieldSpan] {
            &self.fields
        }

        /// The bytes this value was parsed from, exactly as they arrived.
        pub fn as_bytes(&self) -> &[u8] {
            &self.bytes
        }
    };
}
pub(crate) use field_accessors;

/// The bounds of one head (or trailer section) scan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// No byte at this index or beyond belongs to the head.
    pub(crate) max_bytes: usize,
    /// Most field lines.
    pub(crate) max_fields: usize,
    /// The kind to report when `max_bytes` is passed.
    pub(crate) too_large: ErrorKind,
}

impl Bounds {
    /// The bounds of a head under `limits`, capped so that every offset fits in a `u32`.
    pub(crate) fn head(limits: &super::Limits) -> Self {
        Self {
            max_bytes: limits.max_head_bytes.min(u32::MAX as usize),
            max_fields: limits.max_fields,
            too_large: ErrorKind::HeadTooLarge,
        }
    }
}

/// "Need more bytes": fine below the size limit, an error once the limit is reached (the
/// head cannot end inside the limit any more, whatever comes next).
fn more<T>(len: usize, bounds: &Bounds) -> Result<Option<T>, Error> {
    if len >= bounds.max_bytes {
        Err(Error::new(bounds.too_large, bounds.max_bytes))
    } else {
        Ok(None)
    }
}

/// The resumable scan over one head. All positions index the caller's buffer, which holds the
/// message from its first byte and only ever grows between calls.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scanner {
    /// Where pass one resumes.
    pos: usize,
    /// First byte of the line being scanned.
    line_start: usize,
    /// First byte of the field section.
    fields_start: usize,
    /// Whether a start line precedes the field section (not so for trailers).
    after_start_line: bool,
    /// The field lines found so far; the capacity is kept across messages.
    pub(crate) spans: Vec<FieldSpan>,
    /// The field lines that the framing and Host rules read, in wire order, with their index
    /// in `spans`: noted as each line is scanned, so that those rules need not compare every
    /// name again. The capacity is kept across messages.
    pub(crate) known: Vec<(KnownField, u32)>,
}

/// The fields a head's rules read (RFC 9112 §3.2, §6), recognised once, as their line is
/// scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KnownField {
    /// `Host`.
    Host,
    /// `Content-Length`.
    ContentLength,
    /// `Transfer-Encoding`.
    TransferEncoding,
}

impl KnownField {
    /// Which of the known fields `name` names, without regard to case.
    fn of(name: &[u8]) -> Option<Self> {
        // Length and first letter rule out nearly every other name before any comparison
        // (`Sec-Fetch-Site` is as long as `Content-Length`, but starts with an S).
        let (known, want): (Self, &[u8]) = match (name.len(), name.first().map(|b| b | 0x20)) {
            (4, Some(b'h')) => (Self::Host, b"host"),
            (14, Some(b'c')) => (Self::ContentLength, b"content-length"),
            (17, Some(b't')) => (Self::TransferEncoding, b"transfer-encoding"),
            _ => return None,
        };
        name.eq_ignore_ascii_case(want).then_some(known)
    }
}

impl Scanner {
    /// Forgets the message; keeps the span buffer's capacity.
    pub(crate) fn reset(&mut self) {
        self.pos = 0;
        self.line_start = 0;
        self.fields_start = 0;
        self.after_start_line = false;
        self.spans.clear();
        self.known.clear();
    }

    /// How far the scan has read.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Finds the start line: `Some(span)` (CRLF excluded) once its CRLF arrived, `None` for
    /// more bytes. With `skip_empty`, empty lines before it are consumed first. The content of
    /// the line may be at most `max_line` bytes, else `too_long` at the first byte past it.
    ///
    /// Only CR and LF are judged here: other control bytes are left to the start line's
    /// grammar, which can name the part (method, target, version) they spoil.
    pub(crate) fn start_line(
        &mut self,
        buf: &[u8],
        max_line: usize,
        bounds: &Bounds,
        skip_empty: bool,
        too_long: ErrorKind,
    ) -> Result<Option<Range<usize>>, Error> {
        let window = buf.get(..bounds.max_bytes).unwrap_or(buf);
        // RFC 9112 §2.2: "a server that is expecting to receive and parse a request-line
        // SHOULD ignore at least one empty line (CRLF) received prior to the request-line".
        // They are bounded by `max_bytes` like the rest of the head.
        while skip_empty && self.pos == self.line_start {
            match window.get(self.pos) {
                Some(b'\r') => match window.get(self.pos + 1) {
                    Some(b'\n') => {
                        self.line_start += 2;
                        self.pos = self.line_start;
                    }
                    Some(_) => return Err(Error::new(ErrorKind::BareCr, self.pos)),
                    None => return more(buf.len(), bounds),
                },
                Some(b'\n') => return Err(Error::new(ErrorKind::BareLf, self.pos)),
                Some(_) => break,
                None => return more(buf.len(), bounds),
            }
        }
        // The content may take `max_line` bytes; the byte after them must start the CRLF.
        let cap = self.line_start.saturating_add(max_line).saturating_add(1);
        let end = window.len().min(cap);
        loop {
            let rest = window.get(self.pos..end).unwrap_or_default();
            let Some(found) = token::find_ctl(rest) else {
                self.pos = end;
                if end == cap {
                    return Err(Error::new(too_long, cap - 1));
                }
                return more(buf.len(), bounds);
            };
            let at = self.pos + found;
            match window.get(at) {
                Some(b'\r') => match window.get(at + 1) {
                    Some(b'\n') => {
                        let line = self.line_start..at;
                        self.pos = at + 2;
                        self.line_start = at + 2;
                        self.fields_start = at + 2;
                        self.after_start_line = true;
                        return Ok(Some(line));
                    }
                    Some(_) => return Err(Error::new(ErrorKind::BareCr, at)),
                    None => {
                        self.pos = at;
                        return more(buf.len(), bounds);
                    }
                },
                Some(b'\n') => return Err(Error::new(ErrorKind::BareLf, at)),
                _ => self.pos = at + 1,
            }
        }
    }

    /// Scans field lines until the empty line that ends the section: `Some(end)` (the index
    /// just past that CRLF), or `None` for more bytes. Spans go to `self.spans`.
    pub(crate) fn fields(&mut self, buf: &[u8], bounds: &Bounds) -> Result<Option<usize>, Error> {
        let window = buf.get(..bounds.max_bytes).unwrap_or(buf);
        loop {
            let start = self.line_start;
            if self.pos == start {
                match window.get(start) {
                    None => return more(buf.len(), bounds),
                    // The empty line that ends the section.
                    Some(b'\r') => {
                        return match window.get(start + 1) {
                            Some(b'\n') => Ok(Some(start + 2)),
                            Some(_) => Err(Error::new(ErrorKind::BareCr, start)),
                            None => more(buf.len(), bounds),
                        }
                    }
                    Some(b'\n') => return Err(Error::new(ErrorKind::BareLf, start)),
                    Some(b' ' | b'\t') => {
                        // RFC 9112 §2.2: whitespace before the first field line "MUST either
                        // reject the message as invalid or consume each whitespace-preceded
                        // line without further processing"; §5.2: a server "MAY reject"
                        // obs-fold with 400. Both would let two parsers read different fields.
                        let kind = if self.after_start_line && start == self.fields_start {
                            ErrorKind::WhitespaceAfterStartLine
                        } else {
                            ErrorKind::ObsoleteLineFolding
                        };
                        return Err(Error::new(kind, start));
                    }
                    Some(_) if self.spans.len() >= bounds.max_fields => {
                        return Err(Error::new(ErrorKind::TooManyFields, start));
                    }
                    Some(_) => {}
                }
            }
            let rest = window.get(self.pos..).unwrap_or_default();
            let Some(found) = token::find_ctl(rest) else {
                self.pos = window.len();
                return more(buf.len(), bounds);
            };
            let at = self.pos + found;
            match window.get(at) {
                // HTAB is the one control a field value may hold.
                Some(b'\t') => self.pos = at + 1,
                Some(b'\r') => match window.get(at + 1) {
                    Some(b'\n') => {
                        let span = field_line(window, start, at)?;
                        if let Some(known) =
                            KnownField::of(window.get(span.name()).unwrap_or_default())
                        {
                            // Below `max_fields`, which is checked before a line is scanned.
                            self.known.push((known, self.spans.len() as u32));
                        }
                        self.spans.push(span);
                        self.line_start = at + 2;
                        self.pos = at + 2;
                    }
                    Some(_) => return Err(stopped(window, start, at, ErrorKind::BareCr)),
                    None => {
                        self.pos = at;
                        return more(buf.len(), bounds);
                    }
                },
                Some(b'\n') => return Err(stopped(window, start, at, ErrorKind::BareLf)),
                _ => return Err(stopped(window, start, at, ErrorKind::InvalidFieldValue)),
            }
        }
    }
}

/// Checks `field-name ":"` at the start of the line `start..end`: the colon's index, or `None`
/// when the name (and any whitespace after it) runs to `end` with no colon.
fn colon(window: &[u8], start: usize, end: usize) -> Result<Option<usize>, Error> {
    let line = window.get(start..end).unwrap_or_default();
    // The usual line, a name of tchar up to the first colon, in two branch-light passes;
    // anything else is judged byte by byte below, which finds the same colon or the error.
    if let Some(colon) = token::find_colon(line) {
        if colon > 0 && token::all_tchar(line.get(..colon).unwrap_or_default()) {
            return Ok(Some(start + colon));
        }
    }
    // field-name = token
    let name_len = line
        .iter()
        .position(|&b| !TCHAR[usize::from(b)])
        .unwrap_or(line.len());
    let Some(&stop) = line.get(name_len) else {
        return Ok(None);
    };
    let at = start + name_len;
    match stop {
        b':' if name_len == 0 => Err(Error::new(ErrorKind::InvalidFieldName, at)),
        b':' => Ok(Some(at)),
        // RFC 9112 §5.1: "No whitespace is allowed between the field name and colon. ... A
        // server MUST reject, with a response status code of 400". Whitespace followed by
        // more name is just a bad name.
        b' ' | b'\t' => match line.iter().skip(name_len).find(|&&b| !token::is_ows(b)) {
            Some(b':') => Err(Error::new(ErrorKind::WhitespaceBeforeColon, at)),
            Some(_) => Err(Error::new(ErrorKind::InvalidFieldName, at)),
            None => Ok(None),
        },
        _ => Err(Error::new(ErrorKind::InvalidFieldName, at)),
    }
}

/// A complete field line `start..end` (CRLF excluded):
/// ```text
/// field-line  = field-name ":" OWS field-value OWS
/// field-value = *field-content      ; its bytes were checked by pass one
/// ```
fn field_line(window: &[u8], start: usize, end: usize) -> Result<FieldSpan, Error> {
    let Some(colon) = colon(window, start, end)? else {
        return Err(Error::new(ErrorKind::MissingColon, end));
    };
    let value = window.get(colon + 1..end).unwrap_or_default();
    let lead = match value {
        // The usual `name: value`, decided without a loop.
        [b' ', next, ..] if !token::is_ows(*next) => 1,
        _ => value
            .iter()
            .position(|&b| !token::is_ows(b))
            .unwrap_or(value.len()),
    };
    let trail = value
        .iter()
        .rev()
        .take_while(|&&b| token::is_ows(b))
        .count();
    let value_start = colon + 1 + lead;
    let value_end = end.saturating_sub(trail).max(value_start);
    // Every index is below `Bounds::max_bytes`, itself at most `u32::MAX`.
    Ok(FieldSpan {
        name_start: start as u32,
        name_end: colon as u32,
        value_start: value_start as u32,
        value_end: value_end as u32,
        line_end: end as u32,
    })
}

/// The error for pass one stopping at `at` (a control byte, or CR/LF out of place) inside the
/// line that starts at `start`. What precedes it is judged first, so that a bad name is
/// reported as such; a stray control is a bad name or a bad value depending on where it is.
fn stopped(window: &[u8], start: usize, at: usize, kind: ErrorKind) -> Error {
    match colon(window, start, at) {
        Err(e) => e,
        Ok(Some(_)) => Error::new(kind, at),
        Ok(None) if kind == ErrorKind::InvalidFieldValue => {
            Error::new(ErrorKind::InvalidFieldName, at)
        }
        Ok(None) => Error::new(kind, at),
    }
}

/// The elements of a comma-separated value with their absolute offsets, OWS trimmed, empty
/// elements included (Content-Length needs to see them).
fn elements(value: &[u8], base: usize) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = base;
    value.split(|&b| b == b',').map(move |raw| {
        let lead = raw
            .iter()
            .position(|&b| !token::is_ows(b))
            .unwrap_or(raw.len());
        let item = (at + lead, token::trim_ows(raw));
        at += raw.len() + 1;
        item
    })
}

/// What the framing fields of a head say, before the request or response rules judge it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Framing {
    /// The Content-Length value, and the offset of the first such field line.
    pub(crate) content_length: Option<(u64, usize)>,
    /// The offset of the first Transfer-Encoding field line.
    pub(crate) transfer_encoding: Option<usize>,
    /// chunked is listed (once: twice is an error).
    pub(crate) chunked: bool,
    /// The last transfer coding listed is chunked.
    pub(crate) chunked_last: bool,
    /// Where the last transfer coding (or the last, empty, Transfer-Encoding value) starts.
    pub(crate) last_coding: usize,
    /// Where the first coding other than chunked starts.
    pub(crate) other_coding: Option<usize>,
}

impl Framing {
    /// Reads Content-Length and Transfer-Encoding from the field lines of a complete head,
    /// rejecting what no rule can make sense of. `known` is [`Scanner::known`]: only those
    /// lines are looked at, in wire order.
    pub(crate) fn read(
        bytes: &[u8],
        spans: &[FieldSpan],
        known: &[(KnownField, u32)],
    ) -> Result<Self, Error> {
        let mut framing = Self::default();
        for &(kind, index) in known {
            let Some(span) = spans.get(index as usize) else {
                continue;
            };
            let value = bytes.get(span.value()).unwrap_or_default();
            match kind {
                KnownField::ContentLength => framing.content_length(value, span)?,
                KnownField::TransferEncoding => framing.transfer_encoding(value, span)?,
                KnownField::Host => {}
            }
        }
        Ok(framing)
    }

    /// RFC 9110 §8.6: `Content-Length = 1*DIGIT`. "a recipient MAY either reject the message
    /// as invalid or replace that invalid field value with a single instance of the decimal
    /// value" when a list repeats one value, so `5, 5` is 5 and `5, 6` is an error.
    fn content_length(&mut self, value: &[u8], span: &FieldSpan) -> Result<(), Error> {
        for (at, item) in elements(value, span.value().start) {
            let n = decimal(item, at)?;
            match self.content_length {
                None => self.content_length = Some((n, span.name().start)),
                Some((seen, _)) if seen != n => {
                    return Err(Error::new(ErrorKind::ConflictingContentLength, at));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// RFC 9112 §6.1:
    /// ```text
    /// Transfer-Encoding = #transfer-coding
    /// transfer-coding   = token *( OWS ";" OWS transfer-parameter )
    /// ```
    /// Parameters of codings other than chunked are not examined: such a coding is refused
    /// (requests) or passed through (responses) whatever they say.
    fn transfer_encoding(&mut self, value: &[u8], span: &FieldSpan) -> Result<(), Error> {
        self.transfer_encoding.get_or_insert(span.name().start);
        self.last_coding = span.value().start;
        for (at, item) in elements(value, span.value().start) {
            if item.is_empty() {
                continue;
            }
            let (coding, has_params) = match item.iter().position(|&b| b == b';') {
                Some(semi) => (token::trim_ows(item.get(..semi).unwrap_or_default()), true),
                None => (item, false),
            };
            if !token::is_token(coding) {
                return Err(Error::new(ErrorKind::InvalidTransferEncoding, at));
            }
            self.last_coding = at;
            if coding.eq_ignore_ascii_case(b"chunked") {
                // The chunked coding is registered without parameters (RFC 9112 §7).
                if has_params {
                    return Err(Error::new(ErrorKind::InvalidTransferEncoding, at));
                }
                if self.chunked {
                    return Err(Error::new(ErrorKind::ChunkedTwice, at));
                }
                self.chunked = true;
                self.chunked_last = true;
            } else {
                self.chunked_last = false;
                self.other_coding.get_or_insert(at);
            }
        }
        Ok(())
    }
}

/// `1*DIGIT` as a `u64`, for Content-Length; `at` is the offset of `item`'s first byte.
fn decimal(item: &[u8], at: usize) -> Result<u64, Error> {
    if item.is_empty() {
        return Err(Error::new(ErrorKind::InvalidContentLength, at));
    }
    let mut n: u64 = 0;
    for (i, &b) in item.iter().enumerate() {
        if !b.is_ascii_digit() {
            return Err(Error::new(ErrorKind::InvalidContentLength, at + i));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(Error::new(ErrorKind::ContentLengthOverflow, at + i))?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span_of(start: usize, end: usize) -> FieldSpan {
        FieldSpan {
            name_start: 0,
            name_end: 0,
            value_start: start as u32,
            value_end: end as u32,
            line_end: end as u32,
        }
    }

    #[test]
    fn elements_report_absolute_offsets() {
        let got: Vec<(usize, &[u8])> = elements(b" 5 ,, 6", 10).collect();
        assert_eq!(got, [(11, &b"5"[..]), (14, b""), (16, b"6")]);
    }

    #[test]
    fn decimal_rejects_signs_and_overflow() {
        assert_eq!(decimal(b"0", 0), Ok(0));
        assert_eq!(decimal(b"007", 0), Ok(7));
        assert_eq!(decimal(b"18446744073709551615", 0), Ok(u64::MAX));
        assert_eq!(
            decimal(b"18446744073709551616", 3),
            Err(Error::new(ErrorKind::ContentLengthOverflow, 22))
        );
        assert_eq!(
            decimal(b"+1", 0),
            Err(Error::new(ErrorKind::InvalidContentLength, 0))
        );
    }

    #[test]
    fn identical_content_lengths_fold_into_one() {
        let mut f = Framing::default();
        f.content_length(b"5, 5", &span_of(0, 4)).unwrap();
        assert_eq!(f.content_length.map(|(n, _)| n), Some(5));
        let err = f.content_length(b"6", &span_of(7, 8)).unwrap_err();
        assert_eq!(err, Error::new(ErrorKind::ConflictingContentLength, 7));
    }
}
