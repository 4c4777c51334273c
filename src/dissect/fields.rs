//! The byte fields of an event, for hex dumps that mark them (`wiretap replay --hex`, and
//! later the inspector page): a frame's header bytes, mask key and payload; a head's start
//! line, each header line and the blank line; a body's or a message's bytes.
//!
//! Computed from the event and its bytes only (the event's `at` range of its direction's
//! stream): frame fields from `header_len` and `mask`, head fields by cutting the head's
//! bytes at each line feed.

use std::fmt::Write as _;
use std::ops::Range;

use super::event::{Event, Kind};

/// One marked span of an event's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// What the bytes are: `fin+opcode`, `mask+len`, `header Host`, `payload`, …
    pub name: String,
    /// The bytes, as offsets in the direction's stream (the coordinates of `Event::at`).
    pub range: Range<u64>,
}

impl Field {
    fn new(name: impl Into<String>, start: u64, end: u64) -> Self {
        Self {
            name: name.into(),
            range: start..end,
        }
    }
}

/// The fields of `event`, in stream order, without gaps or overlaps; `bytes` are the
/// event's bytes (`at[0]..at[1]` of its direction's stream; fewer only when the capture
/// holds fewer, and then the fields stop where the bytes do). Empty for events that cover
/// no bytes (upgrade, eof, truncated).
pub fn fields(event: &Event, bytes: &[u8]) -> Vec<Field> {
    let start = event.at[0];
    let end = event.at[1].min(start + bytes.len() as u64);
    if end <= start {
        return Vec::new();
    }
    let mut out = match &event.kind {
        Kind::Frame(frame) => {
            let mut out = vec![
                Field::new(
                    if frame.rsv != 0 {
                        "fin+rsv+opcode"
                    } else {
                        "fin+opcode"
                    },
                    start,
                    start + 1,
                ),
                Field::new("mask+len", start + 1, start + 2),
            ];
            let header_end = start + u64::from(frame.header_len);
            let mask_len = if frame.mask.is_some() { 4 } else { 0 };
            let ext_end = header_end.saturating_sub(mask_len).max(start + 2);
            match ext_end - (start + 2) {
                0 => {}
                2 => out.push(Field::new("len16", start + 2, ext_end)),
                8 => out.push(Field::new("len64", start + 2, ext_end)),
                _ => out.push(Field::new("len", start + 2, ext_end)),
            }
            if mask_len > 0 {
                out.push(Field::new("mask key", ext_end, header_end));
            }
            out.push(Field::new("payload", header_end, event.at[1]));
            out
        }
        Kind::Request(_) => head(bytes, start, "request line"),
        Kind::Response(_) => head(bytes, start, "status line"),
        Kind::Error(error) if (start..end).contains(&error.offset) => vec![
            Field::new("before the error", start, error.offset),
            Field::new("offending byte", error.offset, error.offset + 1),
            Field::new("after", error.offset + 1, end),
        ],
        // A body (chunked framing included), a message (its frames, and any control frame
        // between them), a ping, pong or close: one span.
        kind => vec![Field::new(kind_name(kind), start, end)],
    };
    // Clip to the bytes there are; drop what became empty.
    for field in &mut out {
        field.range.start = field.range.start.min(end);
        field.range.end = field.range.end.min(end);
    }
    out.retain(|f| !f.range.is_empty());
    out
}

/// A head's lines: the start line, `header NAME` for each field line (`header (folded)`
/// for an obs-fold continuation), `end of head` for the blank line.
fn head(bytes: &[u8], start: u64, first: &str) -> Vec<Field> {
    let mut out = Vec::new();
    let mut at = 0usize;
    let mut started = false;
    while at < bytes.len() {
        let line_end = bytes[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| at + i + 1);
        let line = &bytes[at..line_end];
        let content = line
            .strip_suffix(b"\n")
            .map_or(line, |l| l.strip_suffix(b"\r").unwrap_or(l));
        let name = if !started && content.is_empty() {
            // An empty line before a request line (RFC 9112 §2.2 lets a server ignore it).
            "empty line (ignored)".to_owned()
        } else if !started {
            first.to_owned()
        } else if content.is_empty() {
            "end of head".to_owned()
        } else if matches!(content[0], b' ' | b'\t') {
            "header (folded)".to_owned()
        } else {
            let name = content
                .iter()
                .position(|&b| b == b':')
                .map_or(content, |i| &content[..i]);
            format!("header {}", String::from_utf8_lossy(name))
        };
        out.push(Field::new(name, start + at as u64, start + line_end as u64));
        if started && content.is_empty() {
            // Anything after the blank line is not the head's (never in a dissected head).
            if line_end < bytes.len() {
                out.push(Field::new(
                    "after the head",
                    start + line_end as u64,
                    start + bytes.len() as u64,
                ));
            }
            break;
        }
        started |= !content.is_empty();
        at = line_end;
    }
    out
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Request(_) => "request",
        Kind::Response(_) => "response",
        Kind::Body(_) => "body",
        Kind::Upgrade(_) => "upgrade",
        Kind::Frame(_) => "frame",
        Kind::Message(_) => "message",
        Kind::Ping(_) => "ping",
        Kind::Pong(_) => "pong",
        Kind::Close(_) => "close",
        Kind::Error(_) => "error",
        Kind::Eof(_) => "eof",
        Kind::Truncated(_) => "truncated",
    }
}

/// Bytes per hex dump row.
pub const ROW_BYTES: usize = 16;

/// A classic hex dump of `bytes` (which start at stream offset `start`) with `fields`
/// marked: each row (offset, 16 bytes in hex, ASCII gutter) is followed by a marker line
/// that draws each field's bytes in that row as `a------` (its letter, then dashes) and
/// names the letters at the end. At most `cap` bytes are shown, then `… N more bytes`.
/// Every line starts with `indent`.
///
/// ```text
/// 0000010d  82 fe 01 00 63 7f 27 7a  63 7e 25 79 67 7a 21 7d  |....c.'zc~%ygz!}|
///           a- b- c---- d----------  e----------------------  a fin+opcode, b mask+len, c len16, d mask key, e payload
/// ```
pub fn hex_dump(bytes: &[u8], start: u64, fields: &[Field], cap: usize, indent: &str) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let shown = &bytes[..bytes.len().min(cap)];
    let mut out = String::new();
    for (row, chunk) in shown.chunks(ROW_BYTES).enumerate() {
        let row_start = start + (row * ROW_BYTES) as u64;
        let _ = write!(out, "{indent}{row_start:08x}  ");
        let mut marks = String::new();
        let mut legend: Vec<String> = Vec::new();
        let mut last_field = None;
        for i in 0..ROW_BYTES {
            let gap = if i == 8 {
                "  "
            } else if i > 0 {
                " "
            } else {
                ""
            };
            out.push_str(gap);
            let Some(&byte) = chunk.get(i) else {
                out.push_str("  ");
                marks.push_str(gap);
                marks.push_str("  ");
                last_field = None;
                continue;
            };
            let _ = write!(out, "{byte:02x}");
            let offset = row_start + i as u64;
            let field = fields.iter().position(|f| f.range.contains(&offset));
            let same = field.is_some() && field == last_field;
            // The gap before this byte joins it to the previous one when both are one field.
            let fill = if same { '-' } else { ' ' };
            marks.extend(std::iter::repeat_n(fill, gap.len()));
            match field {
                Some(_) if same => marks.push_str("--"),
                Some(index) => {
                    let letter = LETTERS[index % LETTERS.len()] as char;
                    marks.push(letter);
                    marks.push('-');
                    legend.push(format!("{letter} {}", fields[index].name));
                }
                None => marks.push_str("  "),
            }
            last_field = field;
        }
        out.push_str("  |");
        out.extend(chunk.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }));
        out.push_str("|\n");
        if !legend.is_empty() {
            let marks = marks.trim_end();
            let pad = ROW_BYTES * 3 - marks.len();
            let _ = writeln!(
                out,
                "{indent}          {marks}{:pad$}  {}",
                "",
                legend.join(", ")
            );
        }
    }
    if bytes.len() > shown.len() {
        let _ = writeln!(out, "{indent}… {} more bytes", bytes.len() - shown.len());
    }
    out
}
