//! The tolerant reader: a finalized document or a `.partial` (JSON Lines), from bytes or a
//! file, for every version ever written.

use std::fmt;
use std::io;
use std::path::Path;

use serde::Deserialize;

use super::model::{Capture, Chunk, Direction, End, EndBy, Header, Recovered, Truncation};
use super::{FORMAT, VERSION};

/// A capture and what the reader had to forgive to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The capture. From a `.partial` it is finalized as recovery would do it.
    pub capture: Capture,
    /// What was skipped or made up; empty for a clean finalized document.
    pub warnings: Vec<Warning>,
}

/// Something the reader forgave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The last line of a `.partial` was incomplete or not valid, and was skipped: the
    /// server died while writing it.
    TornLastLine {
        /// 1-based line number.
        line: usize,
        /// Why it did not parse.
        error: String,
    },
    /// The `.partial` has no end line: the connection was live or the server died. The
    /// capture ends with [`EndBy::Crash`] at the time of the last line.
    NoEnd,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TornLastLine { line, error } => {
                write!(f, "torn last line {line} skipped: {error}")
            }
            Self::NoEnd => f.write_str("no end line: ended as a crash at the last line"),
        }
    }
}

/// Why a capture could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// Reading the file failed.
    Io(io::Error),
    /// The input is empty: not even a header.
    Empty,
    /// The `format` field is missing or is not [`FORMAT`].
    UnknownFormat(Option<String>),
    /// A version this build does not know: written by a newer wiretap, or 0.
    UnsupportedVersion(u64),
    /// The document, or a line of a `.partial` other than the last, is not valid.
    Invalid {
        /// 1-based line of a `.partial`; `None` for a finalized document.
        line: Option<usize>,
        /// What is wrong.
        error: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot read capture: {e}"),
            Self::Empty => f.write_str("empty capture"),
            Self::UnknownFormat(Some(name)) => {
                write!(
                    f,
                    "not a wiretap capture: format {name:?}, expected {FORMAT:?}"
                )
            }
            Self::UnknownFormat(None) => {
                write!(f, "not a wiretap capture: no \"format\": {FORMAT:?}")
            }
            Self::UnsupportedVersion(v) => write!(
                f,
                "capture format version {v} is not supported (this build reads 1 to {VERSION}; \
                 a newer wiretap wrote it?)"
            ),
            Self::Invalid {
                line: Some(line),
                error,
            } => write!(f, "invalid capture line {line}: {error}"),
            Self::Invalid { line: None, error } => write!(f, "invalid capture: {error}"),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for LoadError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// Just enough of a document or header line to decide whether we can read the rest.
#[derive(Deserialize)]
struct Probe {
    format: Option<String>,
    version: Option<u64>,
}

fn check_format(probe: &Probe) -> Result<(), LoadError> {
    if probe.format.as_deref() != Some(FORMAT) {
        return Err(LoadError::UnknownFormat(probe.format.clone()));
    }
    match probe.version {
        // Every version ever written: only 1 so far. A v2 reader converts older versions
        // here, so the rest of the code sees one model.
        Some(v) if (1..=u64::from(VERSION)).contains(&v) => Ok(()),
        Some(v) => Err(LoadError::UnsupportedVersion(v)),
        None => Err(LoadError::Invalid {
            line: None,
            error: "no \"version\"".into(),
        }),
    }
}

/// A line of a `.partial` after the header: a chunk, the truncation or the end.
#[derive(Deserialize)]
struct Line {
    t: Option<u64>,
    dir: Option<Direction>,
    #[serde(default, with = "opt_hex")]
    hex: Option<Vec<u8>>,
    truncated: Option<Truncation>,
    end: Option<End>,
}

mod opt_hex {
    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        #[derive(Deserialize)]
        struct Hex(#[serde(with = "super::super::model::hex_bytes")] Vec<u8>);
        Ok(Some(Hex::deserialize(d)?.0))
    }
}

impl Capture {
    /// Loads `<id>.json` or `<id>.json.partial` (told apart by the name ending in
    /// `.partial`).
    pub fn load(path: impl AsRef<Path>) -> Result<Loaded, LoadError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)?;
        if path.extension().is_some_and(|e| e == "partial") {
            Self::from_partial_slice(&bytes)
        } else {
            Self::from_slice(&bytes).map(|capture| Loaded {
                capture,
                warnings: Vec::new(),
            })
        }
    }

    /// Parses a finalized document.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, LoadError> {
        // The canonical layout the writer produces, without a general JSON parser; any
        // other layout, and every error, goes through serde_json below.
        if let Some(capture) = super::fast::from_canonical(bytes) {
            if check_format(&Probe {
                format: Some(capture.format.clone()),
                version: Some(u64::from(capture.version)),
            })
            .is_ok()
            {
                return Ok(capture);
            }
        }
        Self::from_slice_general(bytes)
    }

    /// [`Self::from_slice`] with serde_json only: any valid layout, and the errors.
    pub(crate) fn from_slice_general(bytes: &[u8]) -> Result<Self, LoadError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(LoadError::Empty);
        }
        let invalid = |e: serde_json::Error| LoadError::Invalid {
            line: None,
            error: e.to_string(),
        };
        // Format and version first: a future version may not fit today's model, and
        // "version 2 is not supported" beats "missing field".
        // One pass when the document is good; the probe (format and version only) runs
        // when it is not, so that "version 2 is not supported" beats "missing field".
        match serde_json::from_slice::<Self>(bytes) {
            Ok(capture) => {
                check_format(&Probe {
                    format: Some(capture.format.clone()),
                    version: Some(u64::from(capture.version)),
                })?;
                Ok(capture)
            }
            Err(e) => {
                check_format(&serde_json::from_slice::<Probe>(bytes).map_err(invalid)?)?;
                Err(invalid(e))
            }
        }
    }

    /// Parses a `.partial` (JSON Lines) into the capture that finalizing it would give:
    /// a torn or invalid last line is skipped with a warning; no end line ends it as a
    /// crash at the time of the last line; any other invalid line is an error.
    pub fn from_partial_slice(bytes: &[u8]) -> Result<Loaded, LoadError> {
        let mut warnings = Vec::new();
        let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        // A file that ends with a newline splits into a last empty piece: not a line.
        if lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let Some((first, rest)) = lines.split_first() else {
            return Err(LoadError::Empty);
        };
        // A torn header is an error even as the last line: without it there is no id,
        // no start and no addresses to finalize.
        let header = parse_header(first)?;
        let mut capture = Self::new(header.id, header.start, header.client, header.server);
        capture.version = header.version;
        let mut end = None;
        let mut last_t = 0;
        for (i, raw) in rest.iter().enumerate() {
            let number = i + 2;
            let is_last = i + 1 == rest.len();
            let line = match parse_line(raw) {
                Ok(line) => line,
                Err(error) if is_last => {
                    warnings.push(Warning::TornLastLine {
                        line: number,
                        error,
                    });
                    break;
                }
                Err(error) => {
                    return Err(LoadError::Invalid {
                        line: Some(number),
                        error,
                    })
                }
            };
            let invalid = |error: &str| LoadError::Invalid {
                line: Some(number),
                error: error.to_owned(),
            };
            if end.is_some() {
                return Err(invalid("line after the end line"));
            }
            match line {
                Line {
                    t: Some(t),
                    dir: Some(dir),
                    hex: Some(bytes),
                    truncated: None,
                    end: None,
                } => {
                    last_t = last_t.max(t);
                    capture.chunks.push(Chunk { t, dir, bytes });
                }
                Line {
                    t: None,
                    dir: None,
                    hex: None,
                    truncated: Some(truncated),
                    end: None,
                } => {
                    if capture.truncated.is_some() {
                        return Err(invalid("second truncation line"));
                    }
                    last_t = last_t.max(truncated.t);
                    capture.truncated = Some(truncated);
                }
                Line {
                    t: None,
                    dir: None,
                    hex: None,
                    truncated: None,
                    end: Some(e),
                } => end = Some(e),
                _ => return Err(invalid("neither a chunk, a truncation nor an end")),
            }
        }
        capture.end = match end {
            Some(end) => end,
            None => {
                warnings.push(Warning::NoEnd);
                End {
                    t: last_t,
                    by: EndBy::Crash,
                    detail: None,
                }
            }
        };
        Ok(Loaded { capture, warnings })
    }

    /// Marks a capture loaded from a `.partial` as recovered, saying what was forgiven.
    pub(crate) fn mark_recovered(&mut self, warnings: &[Warning]) {
        let torn_line = warnings
            .iter()
            .any(|w| matches!(w, Warning::TornLastLine { .. }));
        let detail = if warnings.is_empty() {
            "finalized at start-up: the end was recorded, the rename was not".to_owned()
        } else {
            let texts: Vec<String> = warnings.iter().map(ToString::to_string).collect();
            format!("finalized at start-up: {}", texts.join("; "))
        };
        self.recovered = Some(Recovered {
            torn_line,
            detail: Some(detail),
        });
    }
}

fn parse_header(line: &[u8]) -> Result<Header, LoadError> {
    let invalid = |e: serde_json::Error| LoadError::Invalid {
        line: Some(1),
        error: e.to_string(),
    };
    check_format(&serde_json::from_slice::<Probe>(line).map_err(invalid)?)?;
    serde_json::from_slice(line).map_err(invalid)
}

fn parse_line(line: &[u8]) -> Result<Line, String> {
    serde_json::from_slice(line).map_err(|e| e.to_string())
}
