//! Replay on files: finding the captures in a folder, the blessed transcript beside each
//! (`NAME.json` → `NAME.transcript.json`), checking or blessing it, and keeping a recorded
//! capture in the corpus ([`keep`]).
//!
//! What it is for: the shared file side of the golden tests (`tests/replay.rs`) and of
//! `wiretap replay`/`wiretap diff`, so both find, read and bless the same way. What it is
//! not: it parses nothing itself ([`dissect`] does) and decides no exit codes (the CLI
//! and the harness do).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::capture::{Capture, LoadError, Warning};
use crate::dissect::{diff_transcripts, dissect, Transcript};

/// The ending that marks a blessed transcript (and not a capture) in a folder.
pub const TRANSCRIPT_SUFFIX: &str = ".transcript.json";

/// The environment variable that makes the replay tests write transcripts instead of
/// comparing them.
pub const BLESS_VAR: &str = "WIRETAP_BLESS";

/// What to run to accept new transcripts, after which `git diff` shows the change.
pub const BLESS_HINT: &str =
    "to accept the new output: WIRETAP_BLESS=1 cargo test --test replay (or: wiretap replay --bless DIR), then review with git diff";

/// Why a capture or a transcript could not be read or written; names the file.
#[derive(Debug)]
pub struct Error {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong with a file.
#[derive(Debug)]
pub enum ErrorKind {
    /// The capture did not load.
    Load(LoadError),
    /// Reading or writing failed.
    Io(io::Error),
    /// The transcript is not a valid transcript document.
    Transcript(serde_json::Error),
    /// [`keep`]: no finalized capture has this id (or id prefix).
    NoSuchCapture(String),
    /// [`keep`]: more than one capture starts with this id prefix (the first few named).
    Ambiguous(Vec<String>),
    /// [`keep`]: the corpus already holds a capture of this name.
    Exists,
    /// [`keep`]: the name is not made of `a-z`, `0-9` and `-` (it names a test).
    BadName(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.path.display())?;
        match &self.kind {
            ErrorKind::Load(e) => write!(f, "{e}"),
            ErrorKind::Io(e) => write!(f, "{e}"),
            ErrorKind::Transcript(e) => write!(f, "not a transcript: {e}"),
            ErrorKind::NoSuchCapture(id) => write!(f, "no finalized capture {id}*.json"),
            ErrorKind::Ambiguous(ids) => write!(f, "more than one capture: {}", ids.join(", ")),
            ErrorKind::Exists => f.write_str("already in the corpus (choose another name)"),
            ErrorKind::BadName(name) => write!(
                f,
                "{name:?}: a corpus name is lowercase letters, digits and '-' (it names a test)"
            ),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    fn new(path: &Path, kind: ErrorKind) -> Self {
        Self {
            path: path.to_owned(),
            kind,
        }
    }
}

/// Whether `path` names a blessed transcript (`*.transcript.json`).
pub fn is_transcript(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(TRANSCRIPT_SUFFIX))
}

/// The captures in `dir`: every `*.json` that is not a `*.transcript.json`, sorted by name.
pub fn captures_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") && !is_transcript(&path) && path.is_file()
        {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// The capture's name: its file name without `.json` (`curl-get-root`).
pub fn name_of(capture: &Path) -> String {
    let name = capture
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    name.strip_suffix(".json")
        .map_or(name.clone(), str::to_owned)
}

/// Where the blessed transcript of `capture` lives: `NAME.transcript.json` beside it.
pub fn transcript_path(capture: &Path) -> PathBuf {
    capture.with_file_name(format!("{}{TRANSCRIPT_SUFFIX}", name_of(capture)))
}

/// Loads the capture at `path` (finalized or `.partial`), with the reader's warnings.
pub fn load_capture(path: &Path) -> Result<(Capture, Vec<Warning>), Error> {
    Capture::load(path)
        .map(|loaded| (loaded.capture, loaded.warnings))
        .map_err(|e| Error::new(path, ErrorKind::Load(e)))
}

/// Reads a transcript document (as [`Transcript::to_json`] writes it).
pub fn read_transcript(path: &Path) -> Result<Transcript, Error> {
    let text = std::fs::read(path).map_err(|e| Error::new(path, ErrorKind::Io(e)))?;
    serde_json::from_slice(&text).map_err(|e| Error::new(path, ErrorKind::Transcript(e)))
}

/// The transcript of `path`: read as is when it is a `*.transcript.json`, else the
/// dissection of the capture it holds.
pub fn transcript_of(path: &Path) -> Result<Transcript, Error> {
    if is_transcript(path) {
        read_transcript(path)
    } else {
        load_capture(path).map(|(capture, _)| dissect(&capture))
    }
}

/// How a capture's transcript compares with the blessed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Equal to the blessed transcript.
    Unchanged,
    /// Different: the event-level diff (`-` blessed, `+` now).
    Changed(String),
    /// No blessed transcript yet.
    New,
}

/// Dissects the capture at `capture` and compares the transcript with the blessed one
/// beside it. With `bless`, writes the transcript when it changed or is new (the outcome
/// still says which it was).
pub fn check(capture: &Path, bless: bool) -> Result<Outcome, Error> {
    let (loaded, _) = load_capture(capture)?;
    let actual = dissect(&loaded);
    let blessed = transcript_path(capture);
    let outcome = match std::fs::read(&blessed) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Outcome::New,
        Err(e) => return Err(Error::new(&blessed, ErrorKind::Io(e))),
        Ok(text) => match serde_json::from_slice::<Transcript>(&text) {
            // A blessed file that no longer reads is a change like any other.
            Err(e) => Outcome::Changed(format!(
                "the blessed transcript does not read ({e}); the new one has {} events\n",
                actual.events.len()
            )),
            Ok(expected) => match diff_transcripts(&expected, &actual) {
                None => Outcome::Unchanged,
                Some(diff) => Outcome::Changed(diff),
            },
        },
    };
    if bless && outcome != Outcome::Unchanged {
        std::fs::write(&blessed, actual.to_json())
            .map_err(|e| Error::new(&blessed, ErrorKind::Io(e)))?;
    }
    Ok(outcome)
}

/// Keeps the recorded capture `id` (its file `<id>.json` in `recorded`, or the one whose
/// name starts with `id`) in `corpus` as `NAME.json`, byte for byte, and blesses its
/// transcript beside it. Refuses a capture that does not load, a name taken, and a name
/// that would make an awkward test name. Returns the new capture's path and its transcript.
pub fn keep(
    recorded: &Path,
    id: &str,
    corpus: &Path,
    name: &str,
) -> Result<(PathBuf, Transcript), Error> {
    let valid = !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        return Err(Error::new(corpus, ErrorKind::BadName(name.to_owned())));
    }
    let exact = recorded.join(format!("{id}.json"));
    let source = if exact.is_file() {
        exact
    } else {
        let found: Vec<PathBuf> = captures_in(recorded)
            .map_err(|e| Error::new(recorded, ErrorKind::Io(e)))?
            .into_iter()
            .filter(|p| name_of(p).starts_with(id))
            .collect();
        match found.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(Error::new(
                    recorded,
                    ErrorKind::NoSuchCapture(id.to_owned()),
                ))
            }
            many => {
                let ids = many.iter().take(5).map(|p| name_of(p)).collect();
                return Err(Error::new(recorded, ErrorKind::Ambiguous(ids)));
            }
        }
    };
    let (capture, _) = load_capture(&source)?;
    let target = corpus.join(format!("{name}.json"));
    if target.exists() || transcript_path(&target).exists() {
        return Err(Error::new(&target, ErrorKind::Exists));
    }
    std::fs::create_dir_all(corpus).map_err(|e| Error::new(corpus, ErrorKind::Io(e)))?;
    std::fs::copy(&source, &target).map_err(|e| Error::new(&target, ErrorKind::Io(e)))?;
    let transcript = dissect(&capture);
    let blessed = transcript_path(&target);
    std::fs::write(&blessed, transcript.to_json())
        .map_err(|e| Error::new(&blessed, ErrorKind::Io(e)))?;
    Ok((target, transcript))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_transcript_beside_the_capture() {
        let capture = Path::new("captures/corpus/curl-get-root.json");
        assert_eq!(name_of(capture), "curl-get-root");
        assert_eq!(
            transcript_path(capture),
            Path::new("captures/corpus/curl-get-root.transcript.json")
        );
        assert!(is_transcript(&transcript_path(capture)));
        assert!(!is_transcript(capture));
    }
}
