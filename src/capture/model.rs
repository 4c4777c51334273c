//! The capture as values: what a finalized `<id>.json` holds, typed for serde.
//!
//! Also the one place that writes the canonical layout of a finalized document (one chunk
//! per line), so the writer thread, crash recovery and tools all produce the same bytes.

use std::fmt;
use std::io::{self, Write};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{FORMAT, VERSION};

/// Which way a chunk went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// Read from the client: `"c2s"`.
    #[serde(rename = "c2s")]
    ClientToServer,
    /// Written to the client: `"s2c"`.
    #[serde(rename = "s2c")]
    ServerToClient,
}

impl Direction {
    /// The name in the format: `"c2s"` or `"s2c"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientToServer => "c2s",
            Self::ServerToClient => "s2c",
        }
    }

    /// 0 for client to server, 1 for server to client: an index for per-direction arrays.
    pub(crate) fn index(self) -> usize {
        match self {
            Self::ClientToServer => 0,
            Self::ServerToClient => 1,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One read from or write to the socket, exactly as it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Microseconds since the connection started.
    pub t: u64,
    /// Which way the bytes went.
    pub dir: Direction,
    /// The bytes; lowercase hex in the file (`"hex"`), decoded here.
    #[serde(rename = "hex", with = "hex_bytes")]
    pub bytes: Vec<u8>,
}

/// Who or what ended the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndBy {
    /// The peer closed its side (EOF).
    Client,
    /// The server closed the connection (a `Connection: close` answer, a WebSocket close).
    Server,
    /// The connection was reset or the pipe broke (`ECONNRESET`, `EPIPE`, `ECONNABORTED`).
    Reset,
    /// A server timeout cut it (header, keep-alive, idle or write timeout).
    Timeout,
    /// A graceful server shutdown ended it.
    Shutdown,
    /// Another I/O error ended it.
    Error,
    /// The server died: the capture was finalized from its `.partial` at the next start; `t`
    /// is the time of the last line recorded.
    Crash,
}

impl EndBy {
    /// The cause an I/O error on the socket stands for: [`Reset`](Self::Reset) for
    /// resets and broken pipes, [`Timeout`](Self::Timeout) for `TimedOut`, otherwise
    /// [`Error`](Self::Error).
    pub fn from_io_error(error: &io::Error) -> Self {
        use io::ErrorKind::*;
        match error.kind() {
            ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => Self::Reset,
            TimedOut => Self::Timeout,
            _ => Self::Error,
        }
    }
}

/// How and when the connection ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct End {
    /// Microseconds since the connection started.
    pub t: u64,
    /// Who or what ended it.
    pub by: EndBy,
    /// Free text, for people (the error message, the timeout that fired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Why a capture stopped recording chunks before the connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TruncationReason {
    /// The connection recorded `max_connection_bytes`.
    ConnectionCap,
    /// The folder reached `max_folder_bytes` with only live captures left to blame.
    FolderCap,
    /// Writing the capture failed (full disk, file too large, folder gone).
    WriteError,
}

impl fmt::Display for TruncationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ConnectionCap => "connection-cap",
            Self::FolderCap => "folder-cap",
            Self::WriteError => "write-error",
        })
    }
}

/// Where and why a capture stopped recording chunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncation {
    /// Why.
    pub reason: TruncationReason,
    /// Microseconds since the connection started.
    pub t: u64,
    /// Bytes client to server recorded before the cut.
    pub c2s: u64,
    /// Bytes server to client recorded before the cut.
    pub s2c: u64,
    /// Free text, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Present when the capture was finalized from a `.partial` at start-up, after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovered {
    /// Whether a torn (incomplete or invalid) last line was dropped.
    pub torn_line: bool,
    /// Free text, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The first line of a `.partial`, and the first fields of a finalized document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Header {
    pub(crate) format: String,
    pub(crate) version: u32,
    pub(crate) id: String,
    pub(crate) start: String,
    pub(crate) client: String,
    pub(crate) server: String,
}

/// A finalized capture: one connection, every chunk, and how it ended.
///
/// Load one with [`Capture::load`] or [`Capture::from_slice`]; write the canonical layout
/// with [`Capture::write_to`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version; [`VERSION`] for what this build writes.
    pub version: u32,
    /// The capture's name: its file is `<id>.json`.
    pub id: String,
    /// Wall-clock start of the connection, RFC 3339 UTC with microseconds.
    pub start: String,
    /// The client's address, `ip:port`.
    pub client: String,
    /// The server's (local) address, `ip:port`.
    pub server: String,
    /// Every chunk, in the order it happened, boundaries kept.
    pub chunks: Vec<Chunk>,
    /// `null`, or where and why recording stopped.
    pub truncated: Option<Truncation>,
    /// How the connection ended.
    pub end: End,
    /// Present when finalized from a `.partial` after a crash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<Recovered>,
}

impl Capture {
    /// An empty capture of this build's format and version, without chunks, ended by the
    /// server at `t = 0`: set `chunks` and `end` to taste.
    pub fn new(
        id: impl Into<String>,
        start: impl Into<String>,
        client: impl Into<String>,
        server: impl Into<String>,
    ) -> Self {
        Self {
            format: FORMAT.to_owned(),
            version: VERSION,
            id: id.into(),
            start: start.into(),
            client: client.into(),
            server: server.into(),
            chunks: Vec::new(),
            truncated: None,
            end: End {
                t: 0,
                by: EndBy::Server,
                detail: None,
            },
            recovered: None,
        }
    }

    /// The chunks that went one way, in order.
    pub fn chunks_in(&self, dir: Direction) -> impl Iterator<Item = &Chunk> + '_ {
        self.chunks.iter().filter(move |c| c.dir == dir)
    }

    /// Every byte that went one way, concatenated: the stream a parser of that side reads.
    pub fn stream(&self, dir: Direction) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in self.chunks_in(dir) {
            out.extend_from_slice(&chunk.bytes);
        }
        out
    }

    pub(crate) fn header(&self) -> Header {
        Header {
            format: self.format.clone(),
            version: self.version,
            id: self.id.clone(),
            start: self.start.clone(),
            client: self.client.clone(),
            server: self.server.clone(),
        }
    }

    /// Writes the canonical layout of the finalized document: the header fields on the
    /// first line, one chunk per line, then `truncated`, `end` (and `recovered`). Valid
    /// JSON that `git diff` shows chunk by chunk.
    pub fn write_to(&self, mut out: impl Write) -> io::Result<()> {
        write_document_head(&mut out, &self.header())?;
        for (i, chunk) in self.chunks.iter().enumerate() {
            if i > 0 {
                out.write_all(b",\n")?;
            }
            write_chunk_line(&mut out, chunk.t, chunk.dir, &chunk.bytes)?;
        }
        write_document_tail(
            &mut out,
            self.truncated.as_ref(),
            &self.end,
            self.recovered.as_ref(),
        )
    }
}

/// `{"format":..,"id":..,..,"chunks":[` and a newline.
pub(crate) fn write_document_head(out: &mut impl Write, header: &Header) -> io::Result<()> {
    let head = serde_json::to_vec(header).map_err(io::Error::other)?;
    // The header serializes as an object: drop its closing brace to go on with the fields.
    out.write_all(&head[..head.len() - 1])?;
    out.write_all(b",\"chunks\":[\n")
}

/// The newline, `],"truncated":..,"end":..}` and a final newline.
pub(crate) fn write_document_tail(
    out: &mut impl Write,
    truncated: Option<&Truncation>,
    end: &End,
    recovered: Option<&Recovered>,
) -> io::Result<()> {
    out.write_all(b"\n],\"truncated\":")?;
    serde_json::to_writer(&mut *out, &truncated).map_err(io::Error::other)?;
    out.write_all(b",\"end\":")?;
    serde_json::to_writer(&mut *out, end).map_err(io::Error::other)?;
    if let Some(recovered) = recovered {
        out.write_all(b",\"recovered\":")?;
        serde_json::to_writer(&mut *out, recovered).map_err(io::Error::other)?;
    }
    out.write_all(b"}\n")
}

/// `{"t":..,"dir":"..","hex":".."}` without a newline: a chunk line of a `.partial` and a
/// chunk of a finalized document alike. Hex-encodes without an intermediate `String`.
/// [`write_chunk_line`] into a `Vec`, recording's hot path (every connection encodes its own
/// chunks, see `record::Staged`): the hex goes straight into the vector's tail, with no
/// formatting machinery and no staging buffer.
pub(crate) fn push_chunk_line(out: &mut Vec<u8>, t: u64, dir: Direction, bytes: &[u8]) {
    out.reserve(40 + 2 * bytes.len());
    out.extend_from_slice(b"{\"t\":");
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut t = t;
    loop {
        at -= 1;
        digits[at] = b'0' + (t % 10) as u8;
        t /= 10;
        if t == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
    out.extend_from_slice(b",\"dir\":\"");
    out.extend_from_slice(dir.as_str().as_bytes());
    out.extend_from_slice(b"\",\"hex\":\"");
    let start = out.len();
    out.resize(start + 2 * bytes.len(), 0);
    faster_hex::hex_encode(bytes, &mut out[start..]).expect("two digits of room a byte");
    out.extend_from_slice(b"\"}");
}

pub(crate) fn write_chunk_line(
    out: &mut impl Write,
    t: u64,
    dir: Direction,
    bytes: &[u8],
) -> io::Result<()> {
    write!(out, "{{\"t\":{t},\"dir\":\"{dir}\",\"hex\":\"")?;
    let mut buf = [0u8; 2 * 1024];
    for piece in bytes.chunks(buf.len() / 2) {
        let hex = &mut buf[..2 * piece.len()];
        hex::encode_to_slice(piece, hex).map_err(io::Error::other)?;
        out.write_all(hex)?;
    }
    out.write_all(b"\"}")
}

/// Chunk bytes as lowercase hex in JSON.
pub(crate) mod hex_bytes {
    use super::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_str(HexVisitor)
    }

    /// Decodes straight from the input: no intermediate `String` per chunk.
    struct HexVisitor;

    impl serde::de::Visitor<'_> for HexVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string of hex digits")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Vec<u8>, E> {
            decode_hex(text.as_bytes()).map_err(E::custom)
        }
    }

    /// Hex digit values, 0xff for anything else (both cases accepted, as `hex` does).
    const VALUES: [u8; 256] = {
        let mut table = [0xffu8; 256];
        let mut i = 0;
        while i < 10 {
            table[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            table[b'a' as usize + i] = 10 + i as u8;
            table[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        table
    };

    /// Decodes hex: lowercase (what the writer writes) with the fast path's word-at-a-time
    /// decoder, anything else (uppercase, or an error to report) with a table lookup per
    /// digit, whose invalid digits are found by OR-ing every looked-up value.
    pub(crate) fn decode_hex(text: &[u8]) -> Result<Vec<u8>, String> {
        if let Some(bytes) = crate::capture::fast::decode_lower_hex(text) {
            return Ok(bytes);
        }
        if text.len() % 2 != 0 {
            return Err(format!("odd number of hex digits ({})", text.len()));
        }
        let mut out = vec![0u8; text.len() / 2];
        for (bytes, digits) in out.chunks_mut(16).zip(text.chunks(32)) {
            let mut bad = 0u8;
            for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
                let (high, low) = (VALUES[usize::from(pair[0])], VALUES[usize::from(pair[1])]);
                bad |= high | low;
                *byte = (high << 4) | (low & 15);
            }
            if bad & 0xf0 != 0 {
                let at = digits
                    .iter()
                    .position(|&d| VALUES[usize::from(d)] == 0xff)
                    .unwrap_or(0);
                let offset = (digits.as_ptr() as usize - text.as_ptr() as usize) + at;
                return Err(format!("invalid hex digit at offset {offset}"));
            }
        }
        Ok(out)
    }
}
