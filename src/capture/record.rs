//! The caller's side of the recorder: cheap handles that copy bytes into messages for the
//! writer thread, and the byte budget that makes a connection wait when the writer falls
//! behind.
//!
//! Nothing here touches the file system: file I/O is the writer thread's (`writer.rs`).

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use event_listener::Event;

use super::model::{push_chunk_line, Direction, End, EndBy, Header, TruncationReason};
use super::time::Utc;
use super::writer;
use super::{FORMAT, VERSION};

/// Where and how much the [`Recorder`] records, with the defaults `wiretap serve` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecorderConfig {
    /// The folder of captures; created if missing. Default `captures/recorded`.
    pub dir: PathBuf,
    /// Raw bytes (both directions together) recorded per connection before its capture is
    /// truncated with `connection-cap`. Default 64 MiB: a whole Autobahn 9.x session fits,
    /// a file download of a few gigabytes does not fill the disk.
    pub max_connection_bytes: u64,
    /// Bytes of capture files in the folder (finalized and live, as written: hex, so about
    /// twice the raw bytes). Past it the oldest finalized captures are deleted; when only
    /// live ones are left, new chunks are cut with `folder-cap`. Default 1 GiB.
    pub max_folder_bytes: u64,
    /// Longest time recorded data waits in the writer's buffers before it is written to
    /// the OS (not fsynced). Default 100 ms, so a chunk is in its `.partial` within about
    /// 100 ms plus the writer's backlog; the backlog is bounded by `queue_bytes`.
    pub flush_interval: Duration,
    /// Bytes recorded but not yet written to the OS, across all connections. A connection
    /// whose [`ConnCapture::record`] would pass it waits until the writer catches up.
    /// Default 64 MiB.
    pub queue_bytes: usize,
    /// Capture files the writer keeps open at once; the least recently written is closed
    /// and reopened in append mode when needed. Default 256, far below a default
    /// `ulimit -n` of 1024 that the server's 10 000 sockets share.
    pub max_open_files: usize,
    /// Whether a finalized document is fsynced before its rename. Default `true`; `false`
    /// trades crash safety of the last seconds for throughput (and fast tests).
    pub fsync: bool,
}

impl RecorderConfig {
    /// The defaults, recording into `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            max_connection_bytes: 64 << 20,
            max_folder_bytes: 1 << 30,
            flush_interval: Duration::from_millis(100),
            queue_bytes: 64 << 20,
            max_open_files: 256,
            fsync: true,
        }
    }
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self::new("captures/recorded")
    }
}

/// The recorder's counters, a snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Captures opened since start.
    pub opened: u64,
    /// Captures finalized into `<id>.json` since start (crash recoveries not included).
    pub finalized: u64,
    /// `.partial` files left by a crash and finalized at start.
    pub recovered: u64,
    /// Raw bytes accepted into captures.
    pub bytes_recorded: u64,
    /// Raw bytes offered after their capture was cut (or lost to a write error).
    pub bytes_truncated: u64,
    /// Captures truncated, for any reason.
    pub truncated: u64,
    /// Failed file operations (each one, although each cause is logged once).
    pub write_errors: u64,
    /// Finalized captures deleted to keep the folder under its cap.
    pub deleted: u64,
    /// Captures discarded on request (the inspector's own connections).
    pub discarded: u64,
    /// Capture files open right now.
    pub open_files: u64,
    /// Bytes recorded and not yet written to the OS (the budget in use).
    pub in_flight: u64,
    /// Times a connection waited for the writer to catch up (`queue_bytes` in flight):
    /// recording slowed that connection down. Zero while the disk keeps up.
    pub waits: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) opened: AtomicU64,
    pub(crate) finalized: AtomicU64,
    pub(crate) recovered: AtomicU64,
    pub(crate) bytes_recorded: AtomicU64,
    pub(crate) bytes_truncated: AtomicU64,
    pub(crate) truncated: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    pub(crate) deleted: AtomicU64,
    pub(crate) discarded: AtomicU64,
    pub(crate) open_files: AtomicU64,
}

/// Adds to a counter; relaxed, the counters order nothing.
pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// The byte budget of data in flight between callers and the writer thread.
///
/// An atomic count and an [`Event`]: reserving is one CAS when there is room, and only a
/// connection over the budget allocates a listener and waits. A single chunk larger than
/// the whole budget still passes when nothing else is in flight, so it cannot wait forever.
#[derive(Debug)]
pub(crate) struct Budget {
    in_flight: AtomicUsize,
    limit: usize,
    freed: Event,
    /// Set when the writer thread is gone: waiting would be forever.
    closed: AtomicBool,
    /// Reservations that had to wait (see [`Stats::waits`]).
    pub(crate) waits: AtomicU64,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            limit: limit.max(1),
            freed: Event::new(),
            closed: AtomicBool::new(false),
            waits: AtomicU64::new(0),
        }
    }

    pub(crate) fn try_reserve(&self, n: usize) -> bool {
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                (cur == 0 || cur.saturating_add(n) <= self.limit).then_some(cur + n)
            })
            .is_ok()
    }

    /// Waits for room for `n` bytes; `false` when the writer is gone.
    pub(crate) async fn reserve(&self, n: usize) -> bool {
        let mut counted = false;
        loop {
            if self.closed.load(Ordering::Acquire) {
                return false;
            }
            if self.try_reserve(n) {
                return true;
            }
            // Listen, then look again: a release between the two is not missed.
            let listener = self.freed.listen();
            if self.closed.load(Ordering::Acquire) {
                return false;
            }
            if self.try_reserve(n) {
                return true;
            }
            if !counted {
                counted = true;
                self.waits.fetch_add(1, Ordering::Relaxed);
            }
            listener.await;
        }
    }

    pub(crate) fn release(&self, n: usize) {
        if n > 0 {
            self.in_flight.fetch_sub(n, Ordering::AcqRel);
            self.freed.notify(usize::MAX);
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.freed.notify(usize::MAX);
    }
}

/// What a chunk of `len` bytes costs in the budget: its bytes plus the message around them,
/// so that a flood of one-byte chunks is bounded too.
pub(crate) fn chunk_cost(len: usize) -> usize {
    len + 64
}

/// What the callers and the writer thread share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: RecorderConfig,
    pub(crate) budget: Budget,
    pub(crate) counters: Counters,
    /// The writer is blocked on its channel: a connection that stages chunks wakes it.
    pub(crate) writer_parked: AtomicBool,
    /// Ids of discarded captures whose files the writer has not deleted yet: readers of
    /// the folder skip them (see [`RecorderHandle::is_discarded`]).
    pub(crate) discarded: Mutex<HashSet<String>>,
}

/// Per-connection state shared with the writer thread: whether, and why, it was cut, and
/// the chunks recorded but not yet taken by the writer.
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    /// 0 while recording, else `1 + reason as u8`.
    cut: AtomicU8,
    /// Chunks waiting for the writer, which takes them all at once (see [`Staged`]).
    pub(crate) stage: Mutex<Staged>,
    /// `stage` holds chunks (set after pushing, cleared by the writer before taking).
    pub(crate) staged: AtomicBool,
    /// A `Drain` message for this connection is on its way.
    pub(crate) drain_asked: AtomicBool,
    /// The capture was discarded: record nothing more, finalize nothing.
    discarded: AtomicBool,
}

/// Chunks recorded on a connection and not yet taken by the writer: their finished lines
/// of the `.partial` (`{"t":…,"dir":…,"hex":…}` and a newline each) end to end, and what
/// the writer needs to account for each.
///
/// Why not one message per chunk: a message is an allocation on the connection's thread
/// that the writer frees on its own (glibc then locks the connection thread's arena), and
/// a channel operation; for a 125-byte echo that was most of what recording cost. A
/// connection appends under a lock nobody else holds except the writer for the moment it
/// swaps the whole stage out, every few milliseconds.
///
/// Why lines and not raw bytes: the connection has the bytes in its cache (it just read or
/// wrote them), the writer thread does not; encoding them there saves reading them again
/// on another core and copying them a second time, and the writer hands the stage's
/// buffer to the file as it is. Encoding (SIMD) is a fraction of a nanosecond per byte.
#[derive(Debug, Default)]
pub(crate) struct Staged {
    pub(crate) bytes: Vec<u8>,
    pub(crate) chunks: Vec<StagedChunk>,
}

/// One chunk of a [`Staged`]: its time, direction, raw length and line length.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StagedChunk {
    pub(crate) t: u64,
    pub(crate) dir: Direction,
    pub(crate) raw: usize,
    pub(crate) line: usize,
}

impl Staged {
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.chunks.clear();
    }
}

/// Staged bytes past which a connection asks the writer to take them at once, instead of
/// waiting for its next round.
const STAGE_LIMIT: usize = 256 * 1024;

impl ConnState {
    /// Marks the capture cut; `false` when it already was.
    pub(crate) fn cut(&self, reason: TruncationReason) -> bool {
        let code = 1 + reason as u8;
        self.cut
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn reason(&self) -> Option<TruncationReason> {
        match self.cut.load(Ordering::Acquire) {
            0 => None,
            1 => Some(TruncationReason::ConnectionCap),
            2 => Some(TruncationReason::FolderCap),
            _ => Some(TruncationReason::WriteError),
        }
    }
}

/// A message to the writer thread.
#[derive(Debug)]
pub(crate) enum Msg {
    Open {
        key: u64,
        header: Header,
        start: Instant,
        state: Arc<ConnState>,
    },
    /// This connection staged a lot: take its chunks now.
    Drain {
        key: u64,
    },
    /// Chunks were staged while the writer was parked: wake up and take them.
    Wake,
    /// The caller cut the capture (the connection cap).
    Truncate {
        key: u64,
        t: u64,
        reason: TruncationReason,
        detail: String,
    },
    End {
        key: u64,
        end: End,
    },
    /// Forget this capture: delete its `.partial`, finalize nothing.
    Discard {
        key: u64,
        /// The id as the connection knows it (the file may carry a `-2` suffix).
        id: String,
    },
    /// Write every buffer to the OS, then answer (tests).
    #[cfg(test)]
    Sync(mpsc::Sender<()>),
    /// Stop at once, finalizing nothing: a crash, for tests.
    #[cfg(test)]
    Crash,
    /// Finalize everything with end `shutdown`, then stop.
    Shutdown,
}

/// A per-process counter: with the start time it makes names that never collide within
/// a process, even across several recorders.
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(0);

/// Records every connection into its own capture file, through one writer thread.
///
/// Start it once, give each connection task a [`RecorderHandle`] (or call
/// [`open`](Self::open) directly), and [`shutdown`](Self::shutdown) it last. Dropping it
/// shuts it down too.
#[derive(Debug)]
pub struct Recorder {
    handle: RecorderHandle,
    thread: Option<thread::JoinHandle<()>>,
    recovered: Vec<PathBuf>,
}

/// A clonable handle that opens captures; cheap to clone and to share between tasks.
#[derive(Debug, Clone)]
pub struct RecorderHandle {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Msg>,
}

impl Recorder {
    /// Creates `config.dir`, finalizes every `.partial` a crash left there (see
    /// [`recovered`](Self::recovered)), measures the folder, and starts the writer thread.
    ///
    /// Fails only when the folder cannot be created or listed, or the thread cannot start;
    /// later file errors never fail the server: they truncate the captures they hit.
    pub fn start(config: RecorderConfig) -> io::Result<Self> {
        std::fs::create_dir_all(&config.dir)?;
        let folder = writer::recover(&config)?;
        if !folder.recovered.is_empty() {
            log::info!(
                "finalized {} capture(s) left by a crash in {}",
                folder.recovered.len(),
                config.dir.display()
            );
        }
        let shared = Arc::new(Shared {
            budget: Budget::new(config.queue_bytes),
            counters: Counters::default(),
            writer_parked: AtomicBool::new(false),
            discarded: Mutex::default(),
            config,
        });
        bump(&shared.counters.recovered, folder.recovered.len() as u64);
        let (tx, rx) = mpsc::channel();
        let recovered = folder.recovered.clone();
        let thread = {
            let shared = shared.clone();
            thread::Builder::new()
                .name("wiretap-capture".into())
                .spawn(move || writer::run(&shared, &rx, folder))?
        };
        Ok(Self {
            handle: RecorderHandle { shared, tx },
            thread: Some(thread),
            recovered,
        })
    }

    /// The captures finalized at start from `.partial` files a crash left behind.
    pub fn recovered(&self) -> &[PathBuf] {
        &self.recovered
    }

    /// The folder it records into.
    pub fn dir(&self) -> &Path {
        &self.handle.shared.config.dir
    }

    /// A handle for connection tasks.
    pub fn handle(&self) -> RecorderHandle {
        self.handle.clone()
    }

    /// Opens the capture of a new connection; see [`RecorderHandle::open`].
    pub fn open(&self, client: SocketAddr, server: SocketAddr) -> ConnCapture {
        self.handle.open(client, server)
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        self.handle.stats()
    }

    /// Writes what is queued, finalizes every capture still open with end `shutdown`, and
    /// joins the writer thread. Blocks for as long as that takes: bounded by `queue_bytes`
    /// of backlog plus copying the live captures into their documents. Chunks recorded
    /// after this call are dropped and counted in `bytes_truncated`.
    pub fn shutdown(mut self) -> Stats {
        self.stop(Msg::Shutdown);
        self.stats()
    }

    /// Stops the writer as a crash would: nothing more is written or finalized.
    #[cfg(test)]
    pub(crate) fn crash(mut self) {
        self.stop(Msg::Crash);
    }

    /// Waits until everything recorded so far is written to the OS.
    #[cfg(test)]
    pub(crate) fn sync(&self) {
        let (tx, rx) = mpsc::channel();
        if self.handle.tx.send(Msg::Sync(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    fn stop(&mut self, msg: Msg) {
        if let Some(thread) = self.thread.take() {
            let _ = self.handle.tx.send(msg);
            if thread.join().is_err() {
                log::error!("the capture writer thread panicked");
            }
            self.handle.shared.budget.close();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop(Msg::Shutdown);
    }
}

impl RecorderHandle {
    /// Opens the capture of a new connection: assigns its id and takes its start time.
    /// Cheap: two clock reads, two short strings, one message; the file is created by
    /// the writer thread.
    pub fn open(&self, client: SocketAddr, server: SocketAddr) -> ConnCapture {
        let start = Instant::now();
        let utc = Utc::from_system_time(SystemTime::now());
        let key = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}-c{key:06}", utc.compact());
        let header = Header {
            format: FORMAT.to_owned(),
            version: VERSION,
            id: id.clone(),
            start: utc.rfc3339(),
            client: client.to_string(),
            server: server.to_string(),
        };
        let state = Arc::new(ConnState::default());
        bump(&self.shared.counters.opened, 1);
        let _ = self.tx.send(Msg::Open {
            key,
            header,
            start,
            state: state.clone(),
        });
        ConnCapture {
            key,
            id,
            start,
            recorded: AtomicU64::new(0),
            state,
            handle: self.clone(),
            finished: false,
        }
    }

    /// Whether capture `id` was discarded and its file may still be in the folder for a
    /// moment (until the writer thread deletes it): a reader of the folder skips it.
    pub fn is_discarded(&self, id: &str) -> bool {
        lock_ids(&self.shared.discarded).contains(id)
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            opened: get(&c.opened),
            finalized: get(&c.finalized),
            recovered: get(&c.recovered),
            bytes_recorded: get(&c.bytes_recorded),
            bytes_truncated: get(&c.bytes_truncated),
            truncated: get(&c.truncated),
            write_errors: get(&c.write_errors),
            deleted: get(&c.deleted),
            discarded: get(&c.discarded),
            open_files: get(&c.open_files),
            in_flight: self.shared.budget.in_flight.load(Ordering::Relaxed) as u64,
            waits: self.shared.budget.waits.load(Ordering::Relaxed),
        }
    }
}

pub(crate) fn lock_ids(ids: &Mutex<HashSet<String>>) -> std::sync::MutexGuard<'_, HashSet<String>> {
    // A set of names: a panic while it was held cannot leave it half-updated.
    ids.lock().unwrap_or_else(|e| e.into_inner())
}

/// The recorder is over its byte budget: nothing was recorded. Call
/// [`ConnCapture::record`] and await it instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backpressure;

impl fmt::Display for Backpressure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the capture writer is behind by its whole queue budget")
    }
}

impl std::error::Error for Backpressure {}

/// The capture of one connection. Record each read and write with
/// [`record`](Self::record), then [`finish`](Self::finish) it with the cause of the end.
///
/// Dropping it without `finish` ends the capture with [`EndBy::Error`] and the detail
/// `dropped`. It is `Send` and `Sync`: the reading and writing halves of a connection may
/// record through a shared reference.
#[derive(Debug)]
pub struct ConnCapture {
    key: u64,
    id: String,
    start: Instant,
    /// Raw bytes handed to the writer, both directions: the connection cap.
    recorded: AtomicU64,
    state: Arc<ConnState>,
    handle: RecorderHandle,
    finished: bool,
}

impl ConnCapture {
    /// The capture's id; its file is `<id>.json`. (In the unlikely case that the name is
    /// taken, by another process recording into the same folder, the writer adds `-2`,
    /// `-3`, ... and logs it.)
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Microseconds since the connection started: the `t` a chunk recorded now gets.
    pub fn elapsed_micros(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Why the capture stopped recording chunks, if it did.
    pub fn truncated(&self) -> Option<TruncationReason> {
        self.state.reason()
    }

    /// Records one read (`ClientToServer`) or write (`ServerToClient`), exactly as it
    /// happened: one call, one chunk. Copies the bytes and hands them to the writer
    /// thread; when the writer is behind by `queue_bytes`, waits until it catches up
    /// (never drops). Empty `bytes` record nothing.
    ///
    /// Chunks keep the order in which their calls got through; `t` is taken then, so it
    /// never decreases for calls made one after the other. Two halves of a connection
    /// recording at once may interleave, as their bytes did on the wire.
    pub async fn record(&self, dir: Direction, bytes: &[u8]) {
        if !self.admit(bytes.len()) {
            return;
        }
        if self
            .handle
            .shared
            .budget
            .reserve(chunk_cost(bytes.len()))
            .await
        {
            self.send(dir, bytes);
        } else {
            bump(
                &self.handle.shared.counters.bytes_truncated,
                bytes.len() as u64,
            );
        }
    }

    /// [`record`](Self::record) without waiting: `Err(Backpressure)` (and nothing
    /// recorded) when the writer is behind by `queue_bytes`.
    pub fn try_record(&self, dir: Direction, bytes: &[u8]) -> Result<(), Backpressure> {
        if !self.admit(bytes.len()) {
            return Ok(());
        }
        if self
            .handle
            .shared
            .budget
            .try_reserve(chunk_cost(bytes.len()))
        {
            self.send(dir, bytes);
            Ok(())
        } else {
            Err(Backpressure)
        }
    }

    /// Ends the capture; the writer appends the end and finalizes it into `<id>.json`.
    pub fn finish(mut self, by: EndBy, detail: Option<String>) {
        self.end(by, detail);
    }

    /// Stops recording and forgets the capture: what was recorded is deleted, nothing is
    /// finalized, and later calls record nothing. For connections that must not be
    /// recorded, known only once their first request is read (the inspector's own: its
    /// list would otherwise grow each time it is looked at).
    pub fn discard(&self) {
        if !self.state.discarded.swap(true, Ordering::AcqRel) {
            lock_ids(&self.handle.shared.discarded).insert(self.id.clone());
            let _ = self.handle.tx.send(Msg::Discard {
                key: self.key,
                id: self.id.clone(),
            });
        }
    }

    /// Whether [`discard`](Self::discard) was called.
    pub fn is_discarded(&self) -> bool {
        self.state.discarded.load(Ordering::Acquire)
    }

    /// Whether a chunk of `n` bytes may be recorded at all (not empty, not cut).
    fn admit(&self, n: usize) -> bool {
        if n == 0 || self.is_discarded() {
            return false;
        }
        if self.state.reason().is_some() {
            bump(&self.handle.shared.counters.bytes_truncated, n as u64);
            return false;
        }
        true
    }

    /// Sends a chunk whose budget is reserved, or cuts the capture at the connection cap.
    fn send(&self, dir: Direction, bytes: &[u8]) {
        let shared = &self.handle.shared;
        let n = bytes.len() as u64;
        let before = self.recorded.fetch_add(n, Ordering::Relaxed);
        let cap = shared.config.max_connection_bytes;
        let t = self.elapsed_micros();
        if before + n > cap {
            // The chunk that would cross the cap is the first one left out: a capture holds
            // whole chunks only, so every boundary in it is one that happened.
            shared.budget.release(chunk_cost(bytes.len()));
            bump(&shared.counters.bytes_truncated, n);
            if self.state.cut(TruncationReason::ConnectionCap) {
                let _ = self.handle.tx.send(Msg::Truncate {
                    key: self.key,
                    t,
                    reason: TruncationReason::ConnectionCap,
                    detail: format!("over max_connection_bytes ({cap})"),
                });
            }
            return;
        }
        if shared.budget.is_closed() {
            // The writer is gone (after shutdown): give the budget back.
            shared.budget.release(chunk_cost(bytes.len()));
            bump(&shared.counters.bytes_truncated, n);
            return;
        }
        let staged = {
            let mut stage = self.state.stage.lock().unwrap_or_else(|e| e.into_inner());
            let before = stage.bytes.len();
            push_chunk_line(&mut stage.bytes, t, dir, bytes);
            stage.bytes.push(b'\n');
            let line = stage.bytes.len() - before;
            stage.chunks.push(StagedChunk {
                t,
                dir,
                raw: bytes.len(),
                line,
            });
            stage.bytes.len()
        };
        let was_empty = !self.state.staged.swap(true, Ordering::SeqCst);
        if staged >= STAGE_LIMIT {
            if !self.state.drain_asked.swap(true, Ordering::AcqRel) {
                let _ = self.handle.tx.send(Msg::Drain { key: self.key });
            }
        } else if was_empty
            // A load first: while the writer runs (most of the time under load) this
            // line is only read, and stays in every core's cache.
            && shared.writer_parked.load(Ordering::SeqCst)
            && shared.writer_parked.swap(false, Ordering::SeqCst)
        {
            // The writer checks the stages after it says it parks, and this side says it
            // staged before it checks the writer: one of the two sees the other.
            let _ = self.handle.tx.send(Msg::Wake);
        }
    }

    fn end(&mut self, by: EndBy, detail: Option<String>) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.is_discarded() {
            return;
        }
        let end = End {
            t: self.elapsed_micros(),
            by,
            detail,
        };
        let _ = self.handle.tx.send(Msg::End { key: self.key, end });
    }
}

impl Drop for ConnCapture {
    fn drop(&mut self) {
        self.end(EndBy::Error, Some("dropped".to_owned()));
    }
}
