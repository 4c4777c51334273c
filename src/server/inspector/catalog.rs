//! The capture folder as the inspector shows it: which captures there are (finalized and
//! live), a summary of each, and a capture's transcript with the bytes and fields of each
//! event, all from [`dissect`](crate::dissect): the page never parses a protocol itself.
//!
//! Blocking file work: call it through `smol::unblock`, never on an executor thread.
//! Memory is bounded: summaries are small and cached per file version; at most
//! [`VIEWS`] dissected captures (and [`VIEW_BYTES`] of their chunks) are kept, and a capture
//! larger than [`MAX_FILE`] is refused (`wiretap replay` reads those).

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::Value;

use crate::capture::{is_capture_name, Capture, Direction, End, RecorderHandle, TruncationReason};
use crate::dissect::{self, Event, Kind, Transcript};

/// Captures listed at most, newest first.
pub(crate) const LIST_MAX: usize = 500;
/// Dissected captures kept for the event views, and their chunk bytes at most.
const VIEWS: usize = 4;
const VIEW_BYTES: usize = 128 << 20;
/// Captures loaded at once, at most: with [`MAX_FILE`], a bound on the memory the API
/// and the feeds take however many pages ask.
const LOADS: usize = 2;
/// Capture files (hex, so about twice the raw bytes) the inspector opens at most.
const MAX_FILE: u64 = 512 << 20;
/// A live capture file larger than this has its summary refreshed at most every
/// [`LIVE_REFRESH`], and every second per [`LIVE_REFRESH_RATE`] bytes of file beyond
/// that: a busy connection grows all the time, and loading it again on every poll
/// would keep a core busy.
const BIG_LIVE: u64 = 64 << 10;
const LIVE_REFRESH: Duration = Duration::from_secs(1);
const LIVE_REFRESH_RATE: u64 = 16 << 20;
/// What one listing may spend refreshing summaries of captures that changed; past it,
/// the older summaries stand until the next listing (new captures are always read).
const LIST_BUDGET: Duration = Duration::from_millis(100);
/// Bytes of one event shown in its hex view; the rest is counted, not sent.
pub(crate) const SHOWN_BYTES: u64 = 64 * 1024;

/// An error for the API: the HTTP status and what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

/// One capture file in the folder, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) id: String,
    pub(crate) path: PathBuf,
    /// Still being recorded (`.json.partial`).
    pub(crate) live: bool,
    /// Which version of the file: a summary or view made from another is stale.
    version: (u64, Option<SystemTime>),
}

/// What the list shows of a capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Summary {
    pub(crate) id: String,
    pub(crate) live: bool,
    pub(crate) start: String,
    pub(crate) client: String,
    pub(crate) server: String,
    /// `websocket` (upgraded), `http`, or `other` (no HTTP request seen).
    pub(crate) kind: &'static str,
    /// The first request, `GET /echo`, or what stands in for it.
    pub(crate) title: String,
    pub(crate) bytes: Bytes,
    pub(crate) chunks: usize,
    pub(crate) duration_us: u64,
    /// `None` while live.
    pub(crate) end: Option<End>,
    pub(crate) truncated: Option<TruncationReason>,
    pub(crate) events: usize,
}

/// Raw bytes per direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Bytes {
    pub(crate) c2s: u64,
    pub(crate) s2c: u64,
}

/// A loaded and dissected capture.
#[derive(Debug)]
pub(crate) struct View {
    pub(crate) capture: Capture,
    pub(crate) transcript: Transcript,
    pub(crate) summary: Summary,
    raw_bytes: usize,
}

/// A summary, the file version it was made from, and when.
#[derive(Debug)]
struct CachedSummary {
    entry: Entry,
    summary: Arc<Summary>,
    made: Instant,
}

/// The folder, with its caches. Shared by every API request and live feed.
#[derive(Debug)]
pub(crate) struct Catalog {
    dir: Option<PathBuf>,
    /// The recorder writing into `dir`: it knows which captures were discarded but are
    /// still on disk for a moment.
    recorder: Option<RecorderHandle>,
    summaries: Mutex<HashMap<String, CachedSummary>>,
    views: Mutex<VecDeque<(Entry, Arc<View>)>>,
    /// Captures being loaded now, at most [`LOADS`]: each may take hundreds of MiB.
    loading: Mutex<usize>,
    loaded: Condvar,
}

impl Catalog {
    /// The catalog of what `recorder` writes; `None` when the server does not record
    /// (everything is empty).
    pub(crate) fn new(recorder: Option<(&Path, RecorderHandle)>) -> Self {
        let (dir, recorder) = recorder.map(|(dir, r)| (dir.to_path_buf(), r)).unzip();
        Self {
            dir,
            recorder,
            summaries: Mutex::default(),
            views: Mutex::default(),
            loading: Mutex::new(0),
            loaded: Condvar::new(),
        }
    }

    pub(crate) fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The capture files, newest first (ids sort by start time), at most [`LIST_MAX`]. A
    /// capture being finalized may briefly exist as both files: the finalized one wins.
    /// Discarded captures (the inspector's own connections) are left out even while their
    /// file is still there.
    pub(crate) fn entries(&self) -> io::Result<Vec<Entry>> {
        let Some(dir) = &self.dir else {
            return Ok(Vec::new());
        };
        // Names first (a folder may hold many thousands of captures), then a `stat` for
        // the newest only.
        let mut names: Vec<(String, bool)> = Vec::new();
        for item in fs::read_dir(dir)? {
            let name = item?.file_name();
            let Some(name) = name.to_str() else { continue };
            let (id, live) = if let Some(id) = name.strip_suffix(".json.partial") {
                (id, true)
            } else if let Some(id) = name.strip_suffix(".json") {
                (id, false)
            } else {
                continue;
            };
            if is_capture_name(name) {
                names.push((id.to_owned(), live));
            }
        }
        // Newest first; for one id, the finalized file before the `.partial`.
        names.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        names.dedup_by(|later, first| later.0 == first.0);
        let mut entries = Vec::with_capacity(names.len().min(LIST_MAX));
        for (id, live) in names {
            if entries.len() == LIST_MAX {
                break;
            }
            if self.recorder.as_ref().is_some_and(|r| r.is_discarded(&id)) {
                continue;
            }
            let path = dir.join(format!(
                "{id}{}",
                if live { ".json.partial" } else { ".json" }
            ));
            let Ok(meta) = fs::metadata(&path) else {
                continue;
            };
            if meta.is_file() {
                entries.push(Entry {
                    id,
                    path,
                    live,
                    version: (meta.len(), meta.modified().ok()),
                });
            }
        }
        Ok(entries)
    }

    /// The entry of capture `id`, if it exists.
    pub(crate) fn entry(&self, id: &str) -> Result<Entry, ApiError> {
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| ApiError::new(404, "the server does not record"))?;
        // The id names a file in the folder and nothing else: no separators, no dot-dot.
        let valid = is_capture_name(id)
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        let discarded = self.recorder.as_ref().is_some_and(|r| r.is_discarded(id));
        if !valid || id.contains("..") || discarded {
            return Err(ApiError::new(404, format!("no capture {id:?}")));
        }
        for (suffix, live) in [(".json", false), (".json.partial", true)] {
            let path = dir.join(format!("{id}{suffix}"));
            if let Ok(meta) = fs::metadata(&path) {
                if meta.is_file() {
                    return Ok(Entry {
                        id: id.to_owned(),
                        path,
                        live,
                        version: (meta.len(), meta.modified().ok()),
                    });
                }
            }
        }
        Err(ApiError::new(404, format!("no capture {id:?}")))
    }

    /// The summary of `entry`, from the cache when the file has not changed, or when it
    /// is a large live capture summarized recently (see [`BIG_LIVE`]), or when `stale_ok`
    /// (a listing over its time budget) and there is one.
    pub(crate) fn summary(&self, entry: &Entry, stale_ok: bool) -> Result<Arc<Summary>, ApiError> {
        if let Some(cached) = lock(&self.summaries).get(&entry.id) {
            let size = entry.version.0;
            let refresh_after = LIVE_REFRESH.max(Duration::from_secs(size / LIVE_REFRESH_RATE));
            let fresh_enough = entry.live
                && cached.entry.live
                && size > BIG_LIVE
                && cached.made.elapsed() < refresh_after;
            if cached.entry == *entry || fresh_enough || stale_ok {
                return Ok(cached.summary.clone());
            }
        }
        let cached_view = lock(&self.views)
            .iter()
            .find(|(e, _)| e == entry)
            .map(|(_, view)| view.clone());
        let summary = match cached_view {
            Some(view) => view.summary.clone(),
            // Not through the view cache: listing 500 captures would evict the ones
            // being looked at.
            None => match self.load(entry) {
                Ok(view) => view.summary,
                Err(e) if e.status == 413 => oversize_summary(entry),
                Err(e) => return Err(e),
            },
        };
        let summary = Arc::new(summary);
        let mut summaries = lock(&self.summaries);
        // Forget captures that left the folder (deleted under the folder cap).
        if summaries.len() > 4 * LIST_MAX {
            summaries.clear();
        }
        summaries.insert(
            entry.id.clone(),
            CachedSummary {
                entry: entry.clone(),
                summary: summary.clone(),
                made: Instant::now(),
            },
        );
        Ok(summary)
    }

    /// The summaries of the newest captures. Left out: a capture that cannot be read (it
    /// may be deleted or finalized between the listing and the read), and a live one
    /// without a chunk yet (a connection shows once it has said something: by then the
    /// inspector's own connections have been recognised and discarded).
    pub(crate) fn list(&self, limit: usize) -> Result<Vec<Arc<Summary>>, ApiError> {
        let entries = self
            .entries()
            .map_err(|e| ApiError::new(500, format!("cannot list the captures: {e}")))?;
        let started = Instant::now();
        Ok(entries
            .iter()
            .filter_map(|entry| self.summary(entry, started.elapsed() > LIST_BUDGET).ok())
            .filter(|summary| !(summary.live && summary.chunks == 0))
            .take(limit)
            .collect())
    }

    /// `entry` loaded and dissected, from the cache when the file has not changed.
    pub(crate) fn view(&self, entry: &Entry) -> Result<Arc<View>, ApiError> {
        if let Some((_, view)) = lock(&self.views).iter().find(|(e, _)| e == entry) {
            return Ok(view.clone());
        }
        let view = Arc::new(self.load(entry)?);
        let mut views = lock(&self.views);
        views.retain(|(e, _)| e.id != entry.id);
        views.push_front((entry.clone(), view.clone()));
        let mut total = 0;
        let mut keep = 0;
        for (_, v) in views.iter() {
            total += v.raw_bytes;
            if keep > 0 && (keep >= VIEWS || total > VIEW_BYTES) {
                break;
            }
            keep += 1;
        }
        views.truncate(keep);
        Ok(view)
    }

    /// `entry` loaded and dissected, unless it is larger than [`MAX_FILE`].
    fn load(&self, entry: &Entry) -> Result<View, ApiError> {
        if entry.version.0 > MAX_FILE {
            return Err(ApiError::new(
                413,
                format!(
                    "{} is {} bytes, more than the inspector opens ({MAX_FILE}); \
                     use `wiretap replay` on it",
                    entry.id, entry.version.0
                ),
            ));
        }
        // Blocking threads only (see the module doc): waiting here stalls no connection.
        let mut loading = self
            .loaded
            .wait_while(lock(&self.loading), |n| *n >= LOADS)
            .unwrap_or_else(|e| e.into_inner());
        *loading += 1;
        drop(loading);
        // Given back however the load ends (a panic included).
        struct Permit<'c>(&'c Catalog);
        impl Drop for Permit<'_> {
            fn drop(&mut self) {
                *lock(&self.0.loading) -= 1;
                self.0.loaded.notify_one();
            }
        }
        let _permit = Permit(self);
        Capture::load(&entry.path)
            .map(|loaded| View::new(loaded.capture, entry.live))
            .map_err(|e| {
                // Finalized between the listing and the read: the caller asks again.
                ApiError::new(500, format!("cannot load {}: {e}", entry.id))
            })
    }

    /// The view of capture `id`.
    pub(crate) fn view_of(&self, id: &str) -> Result<Arc<View>, ApiError> {
        self.view(&self.entry(id)?)
    }
}

impl View {
    fn new(capture: Capture, live: bool) -> Self {
        let mut transcript = dissect::dissect(&capture);
        if live {
            // A live capture "ends" where the recording is now: the end events the
            // dissector adds there say nothing yet.
            while transcript
                .events
                .last()
                .is_some_and(|e| matches!(e.kind, Kind::Eof(_)))
            {
                transcript.events.pop();
            }
        }
        let summary = summarize(&capture, &transcript, live);
        let raw_bytes = capture.chunks.iter().map(|c| c.bytes.len()).sum();
        Self {
            capture,
            transcript,
            summary,
            raw_bytes,
        }
    }

    /// Event `n` with its bytes (at most [`SHOWN_BYTES`], hex) and its fields.
    pub(crate) fn event_detail(&self, n: usize) -> Result<EventDetail<'_>, ApiError> {
        let event = self.transcript.events.get(n).ok_or_else(|| {
            ApiError::new(
                404,
                format!(
                    "no event {n}: the capture has {}",
                    self.transcript.events.len()
                ),
            )
        })?;
        let [start, end] = event.at;
        let shown_end = end.min(start.saturating_add(SHOWN_BYTES));
        let bytes = stream_range(&self.capture, event.dir, start, shown_end);
        let shown_end = start + bytes.len() as u64;
        let fields = dissect::fields(event, &bytes)
            .into_iter()
            // A field past what is shown stops where the bytes do.
            .map(|f| FieldSpan {
                start: f.range.start,
                end: f.range.end.min(shown_end),
                name: f.name,
            })
            .filter(|f| f.start < f.end)
            .collect();
        Ok(EventDetail {
            index: n,
            event,
            dir: event.dir,
            start,
            end,
            hex: hex::encode(&bytes),
            fields,
        })
    }
}

/// `GET /api/captures/ID/events/N`: one event, its bytes (hex, at most [`SHOWN_BYTES`]) and
/// the dissector's fields over them.
#[derive(Debug, Serialize)]
pub(crate) struct EventDetail<'v> {
    index: usize,
    event: &'v Event,
    dir: Direction,
    start: u64,
    end: u64,
    hex: String,
    fields: Vec<FieldSpan>,
}

/// A field's name and its bytes, in stream offsets.
#[derive(Debug, Serialize)]
struct FieldSpan {
    name: String,
    start: u64,
    end: u64,
}

/// Bytes `start..end` of one direction's stream.
fn stream_range(capture: &Capture, dir: Direction, start: u64, end: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0u64;
    for chunk in capture.chunks_in(dir) {
        let len = chunk.bytes.len() as u64;
        let (from, to) = (start.max(at), end.min(at + len));
        if from < to {
            out.extend_from_slice(&chunk.bytes[(from - at) as usize..(to - at) as usize]);
        }
        at += len;
        if at >= end {
            break;
        }
    }
    out
}

fn summarize(capture: &Capture, transcript: &Transcript, live: bool) -> Summary {
    let mut bytes = Bytes { c2s: 0, s2c: 0 };
    for chunk in &capture.chunks {
        match chunk.dir {
            Direction::ClientToServer => bytes.c2s += chunk.bytes.len() as u64,
            Direction::ServerToClient => bytes.s2c += chunk.bytes.len() as u64,
        }
    }
    let first_request = transcript.events.iter().find_map(|e| match &e.kind {
        Kind::Request(request) => Some(request),
        _ => None,
    });
    let upgraded = transcript
        .events
        .iter()
        .any(|e| matches!(&e.kind, Kind::Upgrade(u) if u.to == "websocket"));
    let kind = match (upgraded, first_request) {
        (true, _) => "websocket",
        (false, Some(_)) => "http",
        (false, None) => "other",
    };
    let title = match first_request {
        Some(request) => format!("{} {}", request.method, request.target),
        None if bytes.c2s == 0 => "(nothing received)".to_owned(),
        None => first_error(transcript).unwrap_or_else(|| "(no request)".to_owned()),
    };
    let last_t = capture.chunks.last().map_or(0, |c| c.t);
    Summary {
        id: capture.id.clone(),
        live,
        start: capture.start.clone(),
        client: capture.client.clone(),
        server: capture.server.clone(),
        kind,
        title,
        bytes,
        chunks: capture.chunks.len(),
        duration_us: if live {
            last_t
        } else {
            capture.end.t.max(last_t)
        },
        end: (!live).then(|| capture.end.clone()),
        truncated: capture.truncated.as_ref().map(|t| t.reason),
        events: transcript.events.len(),
    }
}

/// What the list says of a capture too large to dissect here: its header fields (read
/// from the file's first line), and a title saying so.
fn oversize_summary(entry: &Entry) -> Summary {
    let header = first_line(&entry.path).unwrap_or_default();
    // A `.partial`'s first line is the header object; a finalized document's first line is
    // the header fields followed by `"chunks":[`.
    let closed = if entry.live {
        header.clone()
    } else {
        format!("{header}]}}")
    };
    let fields: Value = serde_json::from_str(&closed).unwrap_or(Value::Null);
    let text = |key: &str| fields[key].as_str().unwrap_or("?").to_owned();
    Summary {
        id: entry.id.clone(),
        live: entry.live,
        start: text("start"),
        client: text("client"),
        server: text("server"),
        kind: "other",
        title: format!(
            "({} MiB: too large for the inspector, use `wiretap replay`)",
            entry.version.0 >> 20
        ),
        // Not known without reading the whole file.
        bytes: Bytes { c2s: 0, s2c: 0 },
        chunks: 0,
        duration_us: 0,
        end: None,
        truncated: None,
        events: 0,
    }
}

/// The first line of a file, read 4 KiB at most.
fn first_line(path: &Path) -> Option<String> {
    use std::io::Read as _;
    let mut head = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(4096)
        .read_to_end(&mut head)
        .ok()?;
    let line = head.split(|&b| b == b'\n').next()?;
    String::from_utf8(line.to_vec()).ok()
}

fn first_error(transcript: &Transcript) -> Option<String> {
    transcript.events.iter().find_map(|e| match &e.kind {
        Kind::Error(error) => Some(format!("error: {}", error.message)),
        _ => None,
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A cache: a panic elsewhere while it was held cannot leave it inconsistent.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Chunk, EndBy};

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("wiretap-catalog-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn capture(id: &str) -> Capture {
        let mut capture = Capture::new(
            id,
            "2026-11-24T10:00:00.000000Z",
            "127.0.0.1:1",
            "127.0.0.1:2",
        );
        capture.chunks = vec![
            Chunk {
                t: 5,
                dir: Direction::ClientToServer,
                bytes: b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            },
            Chunk {
                t: 9,
                dir: Direction::ServerToClient,
                bytes: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".to_vec(),
            },
        ];
        capture.end.by = EndBy::Client;
        capture
    }

    fn write(dir: &Path, name: &str, capture: &Capture) {
        let mut out = Vec::new();
        capture.write_to(&mut out).unwrap();
        fs::write(dir.join(name), out).unwrap();
    }

    #[test]
    fn entries_are_newest_first_finalized_over_partial_and_skip_other_files() {
        let dir = temp_dir("entries");
        let (a, b) = (
            "20261124T100000.000000Z-c000001",
            "20261124T100001.000000Z-c000002",
        );
        write(&dir, &format!("{a}.json"), &capture(a));
        write(&dir, &format!("{b}.json"), &capture(b));
        // Both files for `b`, as during its finalization; other files are not captures.
        fs::write(dir.join(format!("{b}.json.partial")), "{}\n").unwrap();
        fs::write(dir.join("notes.json"), "{}").unwrap();
        fs::write(dir.join(format!("{a}.json.tmp")), "{}").unwrap();
        let catalog = Catalog {
            dir: Some(dir.clone()),
            ..Catalog::new(None)
        };
        let entries = catalog.entries().unwrap();
        let ids: Vec<(&str, bool)> = entries.iter().map(|e| (e.id.as_str(), e.live)).collect();
        assert_eq!(ids, [(b, false), (a, false)]);
        let summary = catalog.summary(&entries[1], false).unwrap();
        assert_eq!(
            (
                summary.kind,
                summary.title.as_str(),
                summary.bytes,
                summary.chunks
            ),
            ("http", "GET /a", Bytes { c2s: 28, s2c: 40 }, 2)
        );
        assert!(catalog.entry("../etc/passwd").is_err());
        assert!(catalog.entry(a).is_ok());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_oversize_capture_is_summarized_from_its_first_line() {
        let dir = temp_dir("oversize");
        let id = "20261124T100000.000000Z-c000007";
        write(&dir, &format!("{id}.json"), &capture(id));
        let partial = dir.join(format!("{id}.json.partial"));
        fs::write(
            &partial,
            format!("{{\"format\":\"wiretap-capture\",\"version\":1,\"id\":\"{id}\",\"start\":\"S\",\"client\":\"C\",\"server\":\"V\"}}\n"),
        )
        .unwrap();
        for (path, live) in [(dir.join(format!("{id}.json")), false), (partial, true)] {
            let entry = Entry {
                id: id.into(),
                path,
                live,
                version: (MAX_FILE + 1, None),
            };
            let summary = oversize_summary(&entry);
            assert!(summary.title.contains("too large"), "{summary:?}");
            if live {
                assert_eq!(
                    (summary.start.as_str(), summary.client.as_str()),
                    ("S", "C")
                );
            } else {
                assert_eq!(summary.client, "127.0.0.1:1");
            }
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stream_range_cuts_across_chunks() {
        let mut c = capture("20261124T100000.000000Z-c000001");
        c.chunks.push(Chunk {
            t: 10,
            dir: Direction::ClientToServer,
            bytes: b"XYZ".to_vec(),
        });
        assert_eq!(
            stream_range(&c, Direction::ClientToServer, 26, 30),
            b"\r\nXY"
        );
        assert_eq!(stream_range(&c, Direction::ServerToClient, 38, 99), b"hi");
        assert_eq!(stream_range(&c, Direction::ServerToClient, 50, 60), b"");
    }
}
