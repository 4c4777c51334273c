//! The format, the reader and the recorder, on real files in fresh temporary folders.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::record::Budget;
use super::*;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

/// A fresh folder under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let unique = format!(
            "wiretap-capture-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        let _ = fs::remove_dir_all(&path);
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// File names in the folder, sorted.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.0.is_file() {
            let _ = fs::remove_file(&self.0);
        }
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn config(dir: &TempDir) -> RecorderConfig {
    RecorderConfig {
        // Tests that are not about fsync do not pay for it.
        fsync: false,
        ..RecorderConfig::new(dir.path())
    }
}

fn addrs() -> (SocketAddr, SocketAddr) {
    (
        "127.0.0.1:53122".parse().unwrap(),
        "127.0.0.1:8080".parse().unwrap(),
    )
}

fn load(dir: &TempDir, id: &str) -> Capture {
    let loaded = Capture::load(dir.path().join(format!("{id}.json"))).unwrap();
    assert_eq!(loaded.warnings, []);
    loaded.capture
}

const FIXTURE: &str = include_str!("testdata/v1.json");

#[test]
fn committed_v1_fixture_always_loads() {
    // Every version ever written must keep loading: this file is never regenerated.
    let capture = Capture::from_slice(FIXTURE.as_bytes()).unwrap();
    assert_eq!(capture.version, 1);
    assert_eq!(capture.id, "20261124T191203.123456Z-c000042");
    assert_eq!(capture.start, "2026-11-24T19:12:03.123456Z");
    assert_eq!(capture.chunks.len(), 8);
    assert_eq!(capture.chunks_in(C2S).count(), 5);
    let request = capture.stream(C2S);
    assert!(request.starts_with(b"GET /echo HTTP/1.1\r\n"));
    assert!(capture
        .stream(S2C)
        .starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    assert_eq!(capture.truncated, None);
    assert_eq!(capture.end.by, EndBy::Server);
    assert_eq!(capture.end.detail.as_deref(), Some("websocket closed"));
    // The canonical layout reproduces the file byte for byte.
    let mut out = Vec::new();
    capture.write_to(&mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), FIXTURE);
}

#[test]
fn committed_crashed_partial_loads_with_a_torn_line_warning() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/capture/testdata/v1-crashed.json.partial");
    let loaded = Capture::load(&path).unwrap();
    let capture = loaded.capture;
    assert_eq!(capture.chunks.len(), 3);
    let truncated = capture.truncated.unwrap();
    assert_eq!(truncated.reason, TruncationReason::ConnectionCap);
    assert_eq!((truncated.c2s, truncated.s2c), (157, 129));
    // The end line is torn: skipped, and the capture ends as a crash at the last line.
    assert!(matches!(
        loaded.warnings[..],
        [Warning::TornLastLine { line: 6, .. }, Warning::NoEnd]
    ));
    assert_eq!(capture.end.by, EndBy::Crash);
    assert_eq!(capture.end.t, 1500);
}

#[test]
fn rejects_unknown_format_and_future_versions() {
    let future = FIXTURE.replace("\"version\":1", "\"version\":2");
    assert!(matches!(
        Capture::from_slice(future.as_bytes()),
        Err(LoadError::UnsupportedVersion(2))
    ));
    let other = FIXTURE.replace("wiretap-capture", "pcap-ish");
    let err = Capture::from_slice(other.as_bytes()).unwrap_err();
    assert!(matches!(&err, LoadError::UnknownFormat(Some(name)) if name == "pcap-ish"));
    assert!(err.to_string().contains("not a wiretap capture"));
    assert!(matches!(
        Capture::from_slice(b"{}"),
        Err(LoadError::UnknownFormat(None))
    ));
    assert!(matches!(Capture::from_slice(b" \n"), Err(LoadError::Empty)));
    let partial = "{\"format\":\"wiretap-capture\",\"version\":7,\"id\":\"x\"}\n";
    assert!(matches!(
        Capture::from_partial_slice(partial.as_bytes()),
        Err(LoadError::UnsupportedVersion(7))
    ));
}

const HEADER: &str = r#"{"format":"wiretap-capture","version":1,"id":"i","start":"2026-11-24T19:12:03.123456Z","client":"127.0.0.1:1","server":"127.0.0.1:2"}"#;

#[test]
fn partial_with_torn_last_line_loads_with_a_warning() {
    let text =
        format!("{HEADER}\n{{\"t\":5,\"dir\":\"c2s\",\"hex\":\"6869\"}}\n{{\"t\":9,\"dir\":\"s2");
    let loaded = Capture::from_partial_slice(text.as_bytes()).unwrap();
    assert_eq!(loaded.capture.chunks.len(), 1);
    assert_eq!(loaded.capture.chunks[0].bytes, b"hi");
    assert!(matches!(
        loaded.warnings[..],
        [Warning::TornLastLine { line: 3, .. }, Warning::NoEnd]
    ));
    assert_eq!(
        loaded.capture.end,
        End {
            t: 5,
            by: EndBy::Crash,
            detail: None
        }
    );
}

#[test]
fn partial_with_an_invalid_middle_line_is_an_error() {
    let text = format!(
        "{HEADER}\n{{\"t\":5,\"dir\":\"c2s\",\"hex\":\"zz\"}}\n{{\"end\":{{\"t\":9,\"by\":\"client\"}}}}\n"
    );
    let err = Capture::from_partial_slice(text.as_bytes()).unwrap_err();
    assert!(
        matches!(err, LoadError::Invalid { line: Some(2), .. }),
        "{err}"
    );
}

#[test]
fn complete_partial_loads_without_warnings() {
    let text = format!(
        "{HEADER}\n{{\"t\":5,\"dir\":\"c2s\",\"hex\":\"6869\"}}\n{{\"end\":{{\"t\":9,\"by\":\"client\"}}}}\n"
    );
    let loaded = Capture::from_partial_slice(text.as_bytes()).unwrap();
    assert_eq!(loaded.warnings, []);
    assert_eq!(loaded.capture.end.by, EndBy::Client);
}

#[test]
fn write_then_read_keeps_chunks_and_boundaries() {
    let dir = TempDir::new("roundtrip");
    let recorder = Recorder::start(config(&dir)).unwrap();
    let (client, server) = addrs();
    let capture = recorder.open(client, server);
    let id = capture.id().to_owned();
    let sent: Vec<(Direction, Vec<u8>)> = vec![
        (C2S, b"GET / HTTP/1.1\r\n".to_vec()),
        (C2S, b"Host: a\r\n\r\n".to_vec()),
        (S2C, (0..=255).collect()),
        (C2S, vec![0]),
        (S2C, vec![0xff; 100_000]),
    ];
    smol::block_on(async {
        for (dir, bytes) in &sent {
            capture.record(*dir, bytes).await;
        }
        // Empty reads are not chunks.
        capture.record(C2S, b"").await;
    });
    capture.finish(EndBy::Client, Some("eof".into()));
    let stats = recorder.shutdown();
    assert_eq!(stats.finalized, 1);
    assert_eq!(stats.bytes_truncated, 0);

    assert_eq!(dir.names(), [format!("{id}.json")]);
    let loaded = load(&dir, &id);
    let got: Vec<(Direction, Vec<u8>)> = loaded
        .chunks
        .iter()
        .map(|c| (c.dir, c.bytes.clone()))
        .collect();
    assert_eq!(got, sent);
    assert!(loaded.chunks.windows(2).all(|w| w[0].t <= w[1].t));
    assert_eq!(loaded.client, "127.0.0.1:53122");
    assert_eq!(loaded.server, "127.0.0.1:8080");
    assert_eq!(loaded.truncated, None);
    assert_eq!(loaded.end.by, EndBy::Client);
    assert_eq!(loaded.end.detail.as_deref(), Some("eof"));
    assert!(loaded.end.t >= loaded.chunks.last().unwrap().t);
    assert!(loaded.id.starts_with(&loaded.start[..4]));
}

#[test]
fn finalized_document_is_fsynced_and_has_the_canonical_layout() {
    let dir = TempDir::new("fsync");
    let recorder = Recorder::start(RecorderConfig::new(dir.path())).unwrap();
    let (client, server) = addrs();
    let capture = recorder.open(client, server);
    let id = capture.id().to_owned();
    capture.try_record(C2S, b"ab").unwrap();
    capture.try_record(S2C, b"cd").unwrap();
    capture.finish(EndBy::Server, None);
    recorder.shutdown();
    let text = fs::read_to_string(dir.path().join(format!("{id}.json"))).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].ends_with(",\"chunks\":["));
    assert!(lines[1].ends_with(",\"dir\":\"c2s\",\"hex\":\"6162\"},"));
    assert!(lines[2].ends_with(",\"dir\":\"s2c\",\"hex\":\"6364\"}"));
    assert!(lines[3].starts_with("],\"truncated\":null,\"end\":{\"t\":"));
}

#[test]
fn dropping_a_capture_without_finish_ends_it_as_dropped() {
    let dir = TempDir::new("dropped");
    let recorder = Recorder::start(config(&dir)).unwrap();
    let (client, server) = addrs();
    let capture = recorder.open(client, server);
    let id = capture.id().to_owned();
    drop(capture);
    recorder.shutdown();
    let end = load(&dir, &id).end;
    assert_eq!(
        (end.by, end.detail.as_deref()),
        (EndBy::Error, Some("dropped"))
    );
}

#[test]
fn recovery_at_start_finalizes_partials_left_by_a_crash() {
    let dir = TempDir::new("recovery");
    let recorder = Recorder::start(config(&dir)).unwrap();
    let (client, server) = addrs();
    let live = recorder.open(client, server);
    let live_id = live.id().to_owned();
    smol::block_on(live.record(C2S, b"hello"));
    recorder.sync();
    recorder.crash();
    // The task that held it would be gone with the process: no end is sent.
    std::mem::forget(live);

    // A second one written by hand, its last line torn.
    let torn_id = "20261124T191203.123456Z-c999999";
    let text = format!(
        "{}\n{{\"t\":7,\"dir\":\"s2c\",\"hex\":\"6f6b\"}}\n{{\"t\":8,\"di",
        HEADER.replace("\"i\"", &format!("\"{torn_id}\""))
    );
    fs::write(dir.path().join(format!("{torn_id}.json.partial")), text).unwrap();
    // A folder may hold files that are not captures: left alone.
    fs::write(dir.path().join("notes.json.partial"), "not a capture").unwrap();
    // Died before the header reached the disk: nothing to keep.
    let empty_id = "20261124T191203.123456Z-c999997";
    fs::write(dir.path().join(format!("{empty_id}.json.partial")), "").unwrap();
    // Broken in the middle: moved aside, not guessed at.
    let bad_id = "20261124T191203.123456Z-c999998";
    let bad = format!("{HEADER}\n{{\"t\":1,\"dir\":\"up\",\"hex\":\"\"}}\n{{\"end\":{{\"t\":2,\"by\":\"client\"}}}}\n");
    fs::write(dir.path().join(format!("{bad_id}.json.partial")), bad).unwrap();

    let recorder = Recorder::start(config(&dir)).unwrap();
    let mut expected = vec![
        dir.path().join(format!("{live_id}.json")),
        dir.path().join(format!("{torn_id}.json")),
    ];
    expected.sort();
    assert_eq!(recorder.recovered(), expected);
    assert_eq!(recorder.stats().recovered, 2);
    recorder.shutdown();
    let mut names = vec![
        format!("{live_id}.json"),
        format!("{torn_id}.json"),
        format!("{bad_id}.json.partial.invalid"),
        "notes.json.partial".to_owned(),
    ];
    names.sort();
    assert_eq!(dir.names(), names);

    let crashed = load(&dir, &live_id);
    assert_eq!(crashed.chunks.len(), 1);
    assert_eq!(crashed.chunks[0].bytes, b"hello");
    assert_eq!(crashed.end.by, EndBy::Crash);
    assert_eq!(crashed.end.t, crashed.chunks[0].t);
    assert!(!crashed.recovered.unwrap().torn_line);

    let torn = load(&dir, torn_id);
    assert_eq!(torn.chunks.len(), 1);
    assert_eq!(torn.end.by, EndBy::Crash);
    assert_eq!(torn.end.t, 7);
    let recovered = torn.recovered.unwrap();
    assert!(recovered.torn_line);
    assert!(recovered.detail.unwrap().contains("torn last line 3"));
}

#[test]
fn connection_cap_truncates_before_the_chunk_that_would_pass_it() {
    let dir = TempDir::new("conncap");
    let recorder = Recorder::start(RecorderConfig {
        max_connection_bytes: 10,
        ..config(&dir)
    })
    .unwrap();
    let (client, server) = addrs();
    let capture = recorder.open(client, server);
    let id = capture.id().to_owned();
    smol::block_on(async {
        capture.record(C2S, b"abcd").await; // 4
        capture.record(S2C, b"efgh").await; // 8
        capture.record(C2S, b"ijk").await; // 11: over the cap, left out
        capture.record(S2C, b"l").await; // after the cut: left out too
    });
    assert_eq!(capture.truncated(), Some(TruncationReason::ConnectionCap));
    capture.finish(EndBy::Client, None);
    let stats = recorder.shutdown();
    assert_eq!(stats.bytes_recorded, 8);
    assert_eq!(stats.bytes_truncated, 4);
    assert_eq!(stats.truncated, 1);

    let loaded = load(&dir, &id);
    assert_eq!(loaded.chunks.len(), 2);
    let truncated = loaded.truncated.unwrap();
    assert_eq!(truncated.reason, TruncationReason::ConnectionCap);
    assert_eq!((truncated.c2s, truncated.s2c), (4, 4));
    assert!(truncated.t >= loaded.chunks[1].t);
    assert_eq!(loaded.end.by, EndBy::Client);
}

#[test]
fn folder_cap_deletes_the_oldest_finalized_captures_first() {
    let dir = TempDir::new("foldercap");
    let recorder = Recorder::start(RecorderConfig {
        max_folder_bytes: 10_000,
        ..config(&dir)
    })
    .unwrap();
    let (client, server) = addrs();
    let mut ids = Vec::new();
    for _ in 0..8 {
        let capture = recorder.open(client, server);
        ids.push(capture.id().to_owned());
        // About 2 KB of hex per capture.
        capture.try_record(C2S, &[7; 1000]).unwrap();
        capture.finish(EndBy::Client, None);
        recorder.sync();
    }
    let stats = recorder.shutdown();
    assert!(stats.deleted >= 3, "{stats:?}");
    assert_eq!(stats.truncated, 0);
    let names = dir.names();
    // The newest survive, the oldest went first.
    let kept: Vec<String> = ids[ids.len() - names.len()..]
        .iter()
        .map(|id| format!("{id}.json"))
        .collect();
    assert_eq!(names, kept);
    let size: u64 = names
        .iter()
        .map(|n| fs::metadata(dir.path().join(n)).unwrap().len())
        .sum();
    assert!(size <= 10_000, "{size}");
}

#[test]
fn folder_cap_truncates_when_only_live_captures_are_left() {
    let dir = TempDir::new("foldercap-live");
    let recorder = Recorder::start(RecorderConfig {
        max_folder_bytes: 3_000,
        ..config(&dir)
    })
    .unwrap();
    let (client, server) = addrs();
    let a = recorder.open(client, server);
    let b = recorder.open(client, server);
    a.try_record(C2S, &[1; 1000]).unwrap(); // about 2 KB: fits
    recorder.sync();
    b.try_record(C2S, &[2; 1000]).unwrap(); // would pass 3 KB: cut
    recorder.sync();
    assert_eq!(a.truncated(), None);
    assert_eq!(b.truncated(), Some(TruncationReason::FolderCap));
    let (a_id, b_id) = (a.id().to_owned(), b.id().to_owned());
    a.finish(EndBy::Client, None);
    b.finish(EndBy::Client, None);
    recorder.shutdown();
    assert_eq!(load(&dir, &a_id).chunks.len(), 1);
    let b = load(&dir, &b_id);
    assert!(b.chunks.is_empty());
    let truncated = b.truncated.unwrap();
    assert_eq!(truncated.reason, TruncationReason::FolderCap);
    assert_eq!((truncated.c2s, truncated.s2c), (0, 0));
}

#[test]
fn unwritable_folder_never_panics_and_marks_write_error() {
    // chmod does not stop root: make the folder a regular file instead, which stops
    // everyone (ENOTDIR).
    let dir = TempDir::new("unwritable");
    let recorder = Recorder::start(RecorderConfig {
        max_open_files: 1,
        ..config(&dir)
    })
    .unwrap();
    let (client, server) = addrs();
    // Opened while the folder works; its file gets closed when `b` opens (one file open).
    let a = recorder.open(client, server);
    smol::block_on(a.record(C2S, b"before"));
    recorder.sync();
    let b = recorder.open(client, server);
    recorder.sync();

    fs::remove_dir_all(dir.path()).unwrap();
    fs::write(dir.path(), "not a folder").unwrap();

    // A new capture cannot be created.
    let c = recorder.open(client, server);
    recorder.sync();
    assert_eq!(c.truncated(), Some(TruncationReason::WriteError));
    smol::block_on(c.record(C2S, b"lost"));
    // An open capture whose file must be reopened fails its next write.
    smol::block_on(a.record(C2S, b"after"));
    recorder.sync();
    assert_eq!(a.truncated(), Some(TruncationReason::WriteError));
    let stats = recorder.stats();
    assert!(stats.write_errors >= 2, "{stats:?}");
    assert!(stats.bytes_truncated >= 4 + 5, "{stats:?}");
    a.finish(EndBy::Client, None);
    b.finish(EndBy::Client, None);
    c.finish(EndBy::Client, None);
    recorder.sync();

    // Space is back: recording resumes for new connections.
    fs::remove_file(dir.path()).unwrap();
    fs::create_dir(dir.path()).unwrap();
    let d = recorder.open(client, server);
    let d_id = d.id().to_owned();
    smol::block_on(d.record(C2S, b"again"));
    d.finish(EndBy::Client, None);
    let stats = recorder.shutdown();
    assert!(stats.truncated >= 2);
    assert_eq!(load(&dir, &d_id).chunks[0].bytes, b"again");
}

#[test]
fn a_discarded_capture_leaves_nothing_and_gives_its_budget_back() {
    let dir = TempDir::new("discard");
    let recorder = Recorder::start(config(&dir)).unwrap();
    let (client, server) = addrs();
    let kept = recorder.open(client, server);
    let gone = recorder.open(client, server);
    let kept_id = kept.id().to_owned();
    kept.try_record(C2S, b"kept").unwrap();
    gone.try_record(C2S, b"GET /api/captures HTTP/1.1\r\n\r\n")
        .unwrap();
    recorder.sync();
    assert!(dir
        .path()
        .join(format!("{}.json.partial", gone.id()))
        .exists());
    gone.discard();
    assert!(gone.is_discarded());
    // Staged after the discard, or before the writer got to it: never written.
    gone.try_record(S2C, b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
    gone.finish(EndBy::Client, None);
    kept.finish(EndBy::Client, None);
    let stats = recorder.shutdown();
    assert_eq!((stats.discarded, stats.finalized), (1, 1));
    assert_eq!(stats.in_flight, 0, "the budget went back");
    assert_eq!(dir.names(), [format!("{kept_id}.json")]);
    assert_eq!(load(&dir, &kept_id).chunks[0].bytes, b"kept");
}

#[test]
fn recorded_bytes_reach_the_partial_within_200_ms() {
    let dir = TempDir::new("flush");
    let recorder = Recorder::start(config(&dir)).unwrap();
    let (client, server) = addrs();
    let capture = recorder.open(client, server);
    let partial = dir.path().join(format!("{}.json.partial", capture.id()));
    for round in 0..3 {
        let marker = format!("marker-{round}");
        let started = Instant::now();
        smol::block_on(capture.record(C2S, marker.as_bytes()));
        let hex = hex::encode(&marker);
        loop {
            let text = fs::read_to_string(&partial).unwrap_or_default();
            if text.contains(&hex) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_millis(200),
                "round {round}: not in the partial after 200 ms"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    capture.finish(EndBy::Client, None);
    recorder.shutdown();
}

#[test]
fn shutdown_finalizes_every_open_capture() {
    let dir = TempDir::new("shutdown");
    let recorder = Recorder::start(config(&dir)).unwrap();
    let (client, server) = addrs();
    let captures: Vec<ConnCapture> = (0..5).map(|_| recorder.open(client, server)).collect();
    for capture in &captures {
        capture.try_record(S2C, b"bye").unwrap();
    }
    let stats = recorder.shutdown();
    assert_eq!(stats.finalized, 5);
    for capture in &captures {
        let loaded = load(&dir, capture.id());
        assert_eq!(loaded.end.by, EndBy::Shutdown);
        assert_eq!(loaded.chunks[0].bytes, b"bye");
    }
    // Chunks and ends after the shutdown are dropped, counted, and harmless.
    for capture in captures {
        capture.try_record(C2S, b"late").unwrap();
        capture.finish(EndBy::Client, None);
    }
    assert_eq!(dir.names().len(), 5);
}

#[test]
fn names_sort_by_time_and_never_collide() {
    let dir = TempDir::new("names");
    let recorder = Recorder::start(RecorderConfig {
        max_open_files: 64,
        ..config(&dir)
    })
    .unwrap();
    let (client, server) = addrs();
    // All open at once: far more captures than files the writer may hold open.
    let captures: Vec<ConnCapture> = (0..10_000).map(|_| recorder.open(client, server)).collect();
    for capture in &captures {
        capture.try_record(C2S, b"x").unwrap_or(());
    }
    recorder.sync();
    assert!(recorder.stats().open_files <= 64);
    let ids: Vec<String> = captures.iter().map(|c| c.id().to_owned()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "names sort in opening order");
    sorted.dedup();
    assert_eq!(sorted.len(), 10_000, "no two names alike");
    for capture in captures {
        capture.finish(EndBy::Client, None);
    }
    let stats = recorder.shutdown();
    assert_eq!(stats.finalized, 10_000);
    assert!(stats.open_files == 0);
    let names = dir.names();
    assert_eq!(names.len(), 10_000);
    assert!(names
        .iter()
        .zip(&ids)
        .all(|(n, id)| *n == format!("{id}.json")));
}

#[test]
fn record_waits_for_the_writer_instead_of_dropping() {
    let dir = TempDir::new("backpressure");
    let recorder = Recorder::start(RecorderConfig {
        queue_bytes: 256,
        ..config(&dir)
    })
    .unwrap();
    let (client, server) = addrs();
    let capture = recorder.open(client, server);
    let id = capture.id().to_owned();
    let chunk = [b'z'; 100];
    let mut sent = 0;
    let mut refused = false;
    smol::block_on(async {
        for _ in 0..100_000 {
            match capture.try_record(C2S, &chunk) {
                Ok(()) => sent += 1,
                Err(Backpressure) => {
                    refused = true;
                    // The waiting form gets it through once the writer catches up.
                    capture.record(C2S, &chunk).await;
                    sent += 1;
                    break;
                }
            }
        }
        for _ in 0..200 {
            capture.record(C2S, &chunk).await;
            sent += 1;
        }
    });
    assert!(refused, "a 256-byte budget never filled");
    capture.finish(EndBy::Client, None);
    let stats = recorder.shutdown();
    assert_eq!(stats.bytes_truncated, 0);
    assert_eq!(stats.bytes_recorded, 100 * sent);
    let loaded = load(&dir, &id);
    assert_eq!(loaded.chunks.len() as u64, sent);
    assert!(loaded.chunks.iter().all(|c| c.bytes == chunk));
}

#[test]
fn budget_wakes_a_waiter_when_bytes_are_released() {
    let budget = Budget::new(100);
    assert!(budget.try_reserve(60));
    assert!(!budget.try_reserve(60));
    let mut wait = Box::pin(budget.reserve(60));
    assert_eq!(smol::block_on(smol::future::poll_once(&mut wait)), None);
    budget.release(60);
    assert!(smol::block_on(wait));
    // That reservation waited (once, however often it was polled); one with room did not.
    assert!(smol::block_on(budget.reserve(10)));
    budget.release(10);
    assert_eq!(budget.waits.load(std::sync::atomic::Ordering::Relaxed), 1);
    // A chunk larger than the whole budget passes when nothing else is in flight.
    budget.release(60);
    assert!(budget.try_reserve(1_000));
    budget.release(1_000);
    // A closed budget (the writer is gone) does not wait.
    assert!(budget.try_reserve(100));
    budget.close();
    assert!(!smol::block_on(budget.reserve(1)));
}

#[test]
fn socket_errors_map_to_end_causes() {
    use std::io::{Error, ErrorKind};
    let cases = [
        (ErrorKind::ConnectionReset, EndBy::Reset),
        (ErrorKind::BrokenPipe, EndBy::Reset),
        (ErrorKind::ConnectionAborted, EndBy::Reset),
        (ErrorKind::TimedOut, EndBy::Timeout),
        (ErrorKind::PermissionDenied, EndBy::Error),
    ];
    for (kind, by) in cases {
        assert_eq!(EndBy::from_io_error(&Error::from(kind)), by, "{kind:?}");
    }
}

#[test]
fn a_taken_name_gets_a_suffix() {
    let dir = TempDir::new("collision");
    fs::create_dir_all(dir.path()).unwrap();
    let mut header = Capture::new("20261124T191203.123456Z-c000001", "s", "c", "v").header();
    let ids: Vec<String> = (0..3)
        .map(|_| {
            let mut h = header.clone();
            super::writer::create_partial(dir.path(), &mut h).unwrap();
            h.id
        })
        .collect();
    assert_eq!(
        ids,
        [
            "20261124T191203.123456Z-c000001",
            "20261124T191203.123456Z-c000001-2",
            "20261124T191203.123456Z-c000001-3"
        ]
    );
    // A finalized capture takes its name too.
    header.id = "20261124T191203.123456Z-c000002".into();
    fs::write(dir.path().join(format!("{}.json", header.id)), "{}").unwrap();
    super::writer::create_partial(dir.path(), &mut header).unwrap();
    assert_eq!(header.id, "20261124T191203.123456Z-c000002-2");
}

#[test]
fn a_full_disk_truncates_the_capture_with_write_error() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let dir = TempDir::new("enospc");
    let recorder = Recorder::start(RecorderConfig {
        max_open_files: 1,
        ..config(&dir)
    })
    .unwrap();
    let (client, server) = addrs();
    let a = recorder.open(client, server);
    let a_id = a.id().to_owned();
    smol::block_on(a.record(C2S, b"one"));
    recorder.sync();
    // `b` takes the only open file; `a`'s is reopened on its next write, onto a "disk"
    // that answers every write with ENOSPC.
    let b = recorder.open(client, server);
    recorder.sync();
    let partial = dir.path().join(format!("{a_id}.json.partial"));
    fs::remove_file(&partial).unwrap();
    std::os::unix::fs::symlink("/dev/full", &partial).unwrap();
    smol::block_on(a.record(S2C, b"two"));
    recorder.sync();
    assert_eq!(a.truncated(), Some(TruncationReason::WriteError));
    smol::block_on(a.record(C2S, b"three"));
    a.finish(EndBy::Client, None);
    b.finish(EndBy::Client, None);
    let stats = recorder.shutdown();
    assert_eq!(stats.finalized, 2);
    assert_eq!(stats.bytes_truncated, 3 + 5);
    // The cut and the end come from memory. (`one` itself went with the file the test
    // replaced; on a real full disk it stays in the `.partial` and is copied.)
    let loaded = load(&dir, &a_id);
    let truncated = loaded.truncated.unwrap();
    assert_eq!(truncated.reason, TruncationReason::WriteError);
    assert_eq!((truncated.c2s, truncated.s2c), (3, 0));
    assert!(truncated
        .detail
        .unwrap()
        .contains("writing the capture failed"));
    assert_eq!(loaded.end.by, EndBy::Client);
}

#[test]
fn the_fast_chunk_line_writer_matches_the_general_one() {
    use super::model::{push_chunk_line, write_chunk_line};
    let mut rng = crate::fuzzing::XorShift::new(7);
    for len in [0usize, 1, 2, 15, 16, 125, 1023, 1024, 1025, 5000] {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        for t in [0u64, 9, 10, 412, u64::MAX] {
            for dir in [Direction::ClientToServer, Direction::ServerToClient] {
                let mut general = Vec::new();
                write_chunk_line(&mut general, t, dir, &bytes).unwrap();
                let mut fast = b"prefix".to_vec();
                push_chunk_line(&mut fast, t, dir, &bytes);
                assert_eq!(&fast[6..], &general[..], "len {len}, t {t}");
            }
        }
    }
    // Every byte value in every lane of the SIMD encoder (32-byte blocks at most), and
    // the scalar tail.
    for shift in 0..32 {
        let bytes: Vec<u8> = (0..shift).map(|_| 0).chain(0..=255).collect();
        let mut fast = Vec::new();
        push_chunk_line(&mut fast, 1, Direction::ClientToServer, &bytes);
        let expected = format!(
            "{{\"t\":1,\"dir\":\"c2s\",\"hex\":\"{}\"}}",
            hex::encode(&bytes)
        );
        assert_eq!(String::from_utf8(fast).unwrap(), expected, "shift {shift}");
    }
}

#[test]
fn hex_decoding_matches_the_hex_crate_and_names_the_bad_digit() {
    use super::model::hex_bytes::decode_hex;
    let mut rng = crate::fuzzing::XorShift::new(9);
    for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 1000] {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let lower = hex::encode(&bytes);
        assert_eq!(decode_hex(lower.as_bytes()).unwrap(), bytes);
        assert_eq!(decode_hex(lower.to_uppercase().as_bytes()).unwrap(), bytes);
    }
    assert!(decode_hex(b"abc").unwrap_err().contains("odd"));
    for bad in [0usize, 1, 31, 32, 63] {
        let mut text = "00".repeat(40).into_bytes();
        text[bad] = b'g';
        let error = decode_hex(&text).unwrap_err();
        assert!(error.ends_with(&format!("offset {bad}")), "{error}");
        assert!(hex::decode(&text).is_err());
    }
}

/// Loads `text` through the fast path (it must take it) and through serde_json alone, and
/// checks they agree.
fn loads_fast(text: &[u8]) -> Capture {
    let fast = super::fast::from_canonical(text).expect("the canonical layout takes the fast path");
    let general = Capture::from_slice_general(text).unwrap();
    assert_eq!(fast, general);
    assert_eq!(Capture::from_slice(text).unwrap(), general);
    fast
}

/// `text` is not canonical: the fast path declines and `from_slice` still loads it, the
/// same as serde_json does.
fn loads_by_fallback(text: &[u8]) -> Capture {
    assert!(
        super::fast::from_canonical(text).is_none(),
        "{}",
        String::from_utf8_lossy(text)
    );
    let capture = Capture::from_slice(text).unwrap();
    assert_eq!(capture, Capture::from_slice_general(text).unwrap());
    capture
}

#[test]
fn every_corpus_capture_and_fixture_loads_the_same_both_ways() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("src/capture/testdata/v1.json")];
    for entry in fs::read_dir(root.join("captures/corpus")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.ends_with(".json") && !name.ends_with(".transcript.json") {
            files.push(path);
        }
    }
    assert!(files.len() > 40, "{} files", files.len());
    for path in files {
        let bytes = fs::read(&path).unwrap();
        let capture = loads_fast(&bytes);
        // And what the fast path loaded writes back to the same bytes.
        let mut out = Vec::new();
        capture.write_to(&mut out).unwrap();
        assert!(out == bytes, "{}", path.display());
    }
}

#[test]
fn written_captures_of_every_shape_take_the_fast_path() {
    let mut rng = crate::fuzzing::XorShift::new(21);
    let mut capture = Capture::new(
        "a\"b\\c\u{e9}\n",
        "2026-11-24T19:12:03.123456Z",
        "[::1]:1",
        "x:2",
    );
    loads_fast(&{
        let mut out = Vec::new();
        capture.write_to(&mut out).unwrap();
        out
    });
    for (i, len) in [0usize, 1, 7, 8, 15, 16, 17, 100, 4096, 70_001]
        .into_iter()
        .enumerate()
    {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let t = [0, 1, 10, u64::MAX][i % 4];
        let dir = if i % 3 == 0 { C2S } else { S2C };
        capture.chunks.push(Chunk { t, dir, bytes });
        capture.truncated = (i % 2 == 1).then(|| Truncation {
            reason: TruncationReason::FolderCap,
            t: 5,
            c2s: 1,
            s2c: 2,
            detail: (i % 4 == 1).then(|| "cap \"x\"\u{1}\t".to_owned()),
        });
        capture.end = End {
            t: i as u64,
            by: [EndBy::Client, EndBy::Reset, EndBy::Crash][i % 3],
            detail: (i % 2 == 0).then(|| format!("detail </{i}>\u{2028}")),
        };
        capture.recovered = (i % 3 == 2).then(|| Recovered {
            torn_line: i % 2 == 0,
            detail: Some("r".into()),
        });
        let mut out = Vec::new();
        capture.write_to(&mut out).unwrap();
        assert_eq!(loads_fast(&out), capture);
    }
}

#[test]
fn other_valid_layouts_load_the_same_through_serde_json() {
    let canonical = Capture::from_slice(FIXTURE.as_bytes()).unwrap();
    let value: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    let variants = [
        // Pretty-printed, and keys in alphabetical order (serde_json's map sorts them).
        serde_json::to_string_pretty(&canonical).unwrap(),
        serde_json::to_string(&value).unwrap(),
        // Whitespace where the writer puts none, or other line endings, or no final newline.
        FIXTURE.replace(",\"dir\"", " , \"dir\""),
        FIXTURE.replace('\n', "\r\n"),
        FIXTURE.trim_end().to_owned(),
        format!(" {FIXTURE}\n\n"),
        FIXTURE.replace("},\n{", "},{"),
        FIXTURE.replace("[\n{", "[{"),
        // Fields reordered, unknown fields.
        FIXTURE.replace(
            r#"{"t":1530,"dir":"c2s","hex":"818537"}"#,
            r#"{"hex":"818537","dir":"c2s","t":1530}"#,
        ),
        FIXTURE.replace(r#""t":0,"#, r#""t":0,"note":[1,{"a":"\""}],"#),
        FIXTURE.replace(r#""version":1,"#, r#""version":1,"x":null,"#),
        FIXTURE.replace(r#""end":{"#, r#""extra":"}\n],","end":{"#),
        // Escapes that mean the same characters, numbers written otherwise.
        FIXTURE.replace("websocket closed", "websocket\\u0020closed"),
        FIXTURE.replace("\"c2s\"", "\"\\u00632s\""),
        FIXTURE.replace(r#""hex":"818537""#, r#""hex":"\u0038\u00318537""#),
        FIXTURE.replace(r#""id":"#, r#""id" :"#),
        // Uppercase hex (the reader always took it).
        FIXTURE.replace("fa213d7f9f4d5158", "FA213D7F9F4D5158"),
    ];
    for text in variants {
        assert_eq!(loads_by_fallback(text.as_bytes()), canonical, "{text}");
    }
    // Same values in another layout, different values: still through serde_json.
    let other = FIXTURE.replace(r#""t":1530"#, r#""t":1.53e3"#);
    assert!(super::fast::from_canonical(other.as_bytes()).is_none());
    let escaped = FIXTURE.replace("websocket closed", "web\\\"socket\\\\closed");
    // Escapes as serde_json writes them are canonical: the fast path takes them.
    let loaded = loads_fast(escaped.as_bytes());
    assert_eq!(loaded.end.detail.as_deref(), Some("web\"socket\\closed"));
}

#[test]
fn broken_canonical_documents_are_errors_from_serde_json() {
    let bad_digit = FIXTURE.replace("fa213d7f9f4d5158", "fa213d7f9f4d515g");
    let odd = FIXTURE.replace(r#""hex":"818537""#, r#""hex":"81853""#);
    let leading_zero = FIXTURE.replace(r#""t":35,"#, r#""t":035,"#);
    let bad_dir = FIXTURE.replace(r#""dir":"s2c""#, r#""dir":"s2x""#);
    let duplicate = FIXTURE.replace(r#""id":"#, r#""chunks":[],"id":"#);
    let trailing = format!("{FIXTURE}x");
    for text in [bad_digit, odd, leading_zero, bad_dir, duplicate, trailing] {
        assert!(super::fast::from_canonical(text.as_bytes()).is_none());
        let err = Capture::from_slice(text.as_bytes()).unwrap_err();
        assert!(
            matches!(err, LoadError::Invalid { line: None, .. }),
            "{err}"
        );
        let general = Capture::from_slice_general(text.as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), general.to_string());
    }
    let bad = FIXTURE.replace("fa213d7f9f4d5158", "fa213d7f9f4d515g");
    assert!(Capture::from_slice(bad.as_bytes())
        .unwrap_err()
        .to_string()
        .contains("invalid hex digit"));
    // Cut anywhere: never loads, never panics.
    for cut in 0..FIXTURE.len() - 1 {
        let text = &FIXTURE.as_bytes()[..cut];
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        assert!(super::fast::from_canonical(text).is_none(), "cut at {cut}");
        assert!(Capture::from_slice(text).is_err(), "cut at {cut}");
    }
}
