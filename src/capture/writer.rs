//! The writer thread: the only code that writes capture files.
//!
//! It owns every live capture's state, hex-encodes chunks into a buffer per capture, writes
//! a buffer when it reaches [`BATCH`] or when the flush interval is up, keeps at most
//! `max_open_files` files open (least recently written closed first), finalizes a capture
//! into its document when it ends, and keeps the folder under its cap. File errors are
//! logged once per cause and truncate the capture they hit; they never stop the thread.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, IoSlice, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::model::{
    write_document_head, write_document_tail, End, EndBy, Header, Truncation, TruncationReason,
};
use super::read::LoadError;
use super::record::{bump, chunk_cost, lock_ids, ConnState, Msg, RecorderConfig, Shared, Staged};
use super::Capture;

/// A capture's buffer is written once it holds this much: few, large writes, and a bound
/// on the memory a busy connection holds between flushes.
const BATCH: usize = 64 * 1024;

/// Whether `name` starts like the names the recorder gives (`20261124T191203.123456Z-`).
/// Only such files are recovered, counted and deleted: the folder may hold other things.
pub(crate) fn is_capture_name(name: &str) -> bool {
    let b = name.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() > 24
        && digits(0..8)
        && b[8] == b'T'
        && digits(9..15)
        && b[15] == b'.'
        && digits(16..22)
        && &b[22..24] == b"Z-"
}

/// The folder as the writer sees it: finalized captures by name (oldest first) and the
/// bytes of finalized and live ones.
#[derive(Debug)]
pub(crate) struct Folder {
    /// Captures finalized at start from `.partial` files a crash left.
    pub(crate) recovered: Vec<PathBuf>,
    dir: PathBuf,
    finalized: BTreeMap<String, u64>,
    finalized_bytes: u64,
    live_bytes: u64,
    cap: u64,
}

impl Folder {
    /// Makes room for `n` more bytes by deleting the oldest finalized captures (never
    /// `keep`, never a live one); `false` when that is not enough.
    fn make_room(&mut self, n: u64, keep: Option<&str>, errors: &mut Errors<'_>) -> bool {
        while self.finalized_bytes + self.live_bytes + n > self.cap {
            let Some(victim) = self
                .finalized
                .keys()
                .find(|name| Some(name.as_str()) != keep)
                .cloned()
            else {
                return false;
            };
            let size = self.finalized.remove(&victim).unwrap_or(0);
            self.finalized_bytes = self.finalized_bytes.saturating_sub(size);
            let path = self.dir.join(&victim);
            match fs::remove_file(&path) {
                Ok(()) => {
                    log::debug!("capture: deleted {victim} (folder over its cap)");
                    bump(&errors.shared.counters.deleted, 1);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => errors.report("cannot delete", &path, &e),
            }
        }
        true
    }
}

/// Finalizes every `.partial` in the folder (a crash left them), removes temporary files
/// of interrupted finalizations, and measures what is left.
pub(crate) fn recover(config: &RecorderConfig) -> io::Result<Folder> {
    let mut recovered = Vec::new();
    for entry in fs::read_dir(&config.dir)? {
        let entry = entry?;
        // Regular files only: a symlink or a device named like a capture is not ours.
        if !entry.file_type()?.is_file() {
            continue;
        }
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !is_capture_name(name) {
            continue;
        }
        if name.ends_with(".json.tmp") {
            // A finalization the crash interrupted: its `.partial` is still there.
            let _ = fs::remove_file(&path);
        } else if name.ends_with(".json.partial") {
            match recover_one(&path, config.fsync) {
                Ok(Some(done)) => recovered.push(done),
                Ok(None) => {}
                Err(e) => log::warn!("capture: cannot recover {}: {e}", path.display()),
            }
        }
    }
    recovered.sort();
    let mut finalized = BTreeMap::new();
    let mut finalized_bytes = 0;
    let mut live_bytes = 0;
    for entry in fs::read_dir(&config.dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_capture_name(name) {
            continue;
        }
        let size = entry.metadata().map_or(0, |m| m.len());
        if name.ends_with(".json") {
            finalized_bytes += size;
            finalized.insert(name.to_owned(), size);
        } else if name.ends_with(".json.partial") {
            // One recovery could not finalize: it takes room, and is never deleted.
            live_bytes += size;
        }
    }
    Ok(Folder {
        recovered,
        dir: config.dir.clone(),
        finalized,
        finalized_bytes,
        live_bytes,
        cap: config.max_folder_bytes,
    })
}

/// Finalizes one `.partial`: `Some(document)` when it did.
fn recover_one(partial: &Path, fsync: bool) -> io::Result<Option<PathBuf>> {
    // `<id>.json.partial` -> `<id>.json`
    let document = partial.with_extension("");
    if document.exists() {
        // The crash came between the rename and the removal: the document is whole.
        fs::remove_file(partial)?;
        return Ok(None);
    }
    match Capture::load(partial) {
        Ok(loaded) => {
            let mut capture = loaded.capture;
            capture.mark_recovered(&loaded.warnings);
            write_document(&document, fsync, |out| capture.write_to(out))?;
            fs::remove_file(partial)?;
            Ok(Some(document))
        }
        Err(LoadError::Empty) => {
            // The server died before the header reached the disk: nothing was recorded.
            fs::remove_file(partial)?;
            Ok(None)
        }
        Err(LoadError::Io(e)) => Err(e),
        Err(e) => {
            let aside = partial.with_extension("partial.invalid");
            log::warn!(
                "capture: {} cannot be recovered ({e}); moved to {}",
                partial.display(),
                aside.display()
            );
            fs::rename(partial, &aside)?;
            Ok(None)
        }
    }
}

/// Writes a document next to its final name, fsyncs it (if asked), and renames it into
/// place: readers see the whole document or none. Returns its size.
fn write_document(
    path: &Path,
    fsync: bool,
    fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<u64> {
    // `<id>.json` -> `<id>.json.tmp`
    let tmp = path.with_extension("json.tmp");
    let result = (|| {
        let mut out = BufWriter::with_capacity(BATCH, File::create(&tmp)?);
        fill(&mut out)?;
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        if fsync {
            file.sync_all()?;
        }
        let size = file.metadata()?.len();
        fs::rename(&tmp, path)?;
        Ok(size)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Copies the chunk lines of a `.partial` (all lines after the header that are chunks) into
/// a document, comma-separated. The lines are the writer's own, so they are copied as
/// they are, up to the `written` bytes it knows it wrote; a line without its newline (a
/// write that failed half-way) ends the copy.
fn copy_chunks(partial: &Path, written: u64, out: &mut impl Write) -> io::Result<()> {
    let file = File::open(partial)?.take(written);
    let mut reader = BufReader::with_capacity(BATCH, file);
    let mut line = Vec::new();
    let mut header = true;
    let mut first = true;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let Some(text) = line.strip_suffix(b"\n") else {
            return Ok(());
        };
        if std::mem::take(&mut header) {
            continue;
        }
        // Truncation and end lines are written from memory, not copied.
        if text.starts_with(b"{\"t\":") {
            if !std::mem::take(&mut first) {
                out.write_all(b",\n")?;
            }
            out.write_all(text)?;
        }
    }
}

/// Creates `<id>.json.partial`, never over an existing capture: on a collision the id
/// gets a suffix (`-2`, `-3`, ...).
pub(crate) fn create_partial(dir: &Path, header: &mut Header) -> io::Result<File> {
    let base = header.id.clone();
    for n in 1u32.. {
        let id = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let taken = dir.join(format!("{id}.json")).exists();
        let opened = if taken {
            Err(io::ErrorKind::AlreadyExists.into())
        } else {
            OpenOptions::new()
                .append(true)
                .create_new(true)
                .open(dir.join(format!("{id}.json.partial")))
        };
        match opened {
            Ok(file) => {
                if n > 1 {
                    log::warn!("capture: {base} exists, recording as {id}");
                }
                header.id = id;
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => {}
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns by n = 100")
}

/// How long file operations must go without an error before writes count as working
/// again, and a kind of error already logged is logged anew when it comes back.
///
/// Not "at the first success": a full disk (ENOSPC) still lets files be created, and a
/// file-size limit (EFBIG) still lets small files be written, so every connection would
/// bring a success and then the same error, one warning per connection.
const QUIET: Duration = Duration::from_secs(60);

/// File errors: counted each time, logged once per kind until writes have worked for
/// [`QUIET`] without an error.
struct Errors<'a> {
    shared: &'a Shared,
    logged: HashSet<io::ErrorKind>,
    /// When the last error came.
    last: Option<Instant>,
}

impl Errors<'_> {
    fn report(&mut self, what: &str, path: &Path, e: &io::Error) {
        bump(&self.shared.counters.write_errors, 1);
        if self.failed(e.kind(), Instant::now()) {
            log::warn!(
                "capture: {what} {}: {e} (serving goes on; captures hit are marked \
                 truncated, further errors of this kind are counted, not logged)",
                path.display()
            );
        }
    }

    fn ok(&mut self) {
        if self.succeeded(Instant::now()) {
            log::info!("capture: writes work again");
        }
    }

    /// Notes an error of `kind` at `now`; `true` when it is to be logged.
    fn failed(&mut self, kind: io::ErrorKind, now: Instant) -> bool {
        self.last = Some(now);
        self.logged.insert(kind)
    }

    /// Notes a success at `now`; `true` when it ends a run of logged errors (none for
    /// [`QUIET`]): the kinds logged may be logged again.
    fn succeeded(&mut self, now: Instant) -> bool {
        let quiet = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= QUIET);
        if quiet && !self.logged.is_empty() {
            self.logged.clear();
            return true;
        }
        false
    }
}

/// One live capture.
struct Live {
    header: Header,
    partial: PathBuf,
    start: Instant,
    state: Arc<ConnState>,
    /// Whether its `.partial` exists (creating it may have failed).
    created: bool,
    file: Option<File>,
    /// Its place in the open-files LRU.
    stamp: u64,
    /// Whether the connection's stage holds a buffer the writer gave it, and when the
    /// writer last took its chunks.
    stage_held: bool,
    drained_at: Instant,
    /// Lines not yet written to the OS, and their budget.
    pending: Pending,
    pending_cost: usize,
    /// Bytes of the `.partial` written to the OS: the end of its last whole line.
    written: u64,
    /// Bytes counted in the folder's live bytes.
    size: u64,
    /// Raw bytes recorded per direction, buffered ones included, and written ones.
    counts: [u64; 2],
    written_counts: [u64; 2],
    last_t: u64,
    truncated: Option<Truncation>,
}

/// A capture's lines not yet written, as the buffers they came in: a stage's buffer is
/// adopted whole (no copy of lines another core wrote) and they all go out in one
/// `writev`.
#[derive(Debug, Default)]
struct Pending {
    parts: Vec<Vec<u8>>,
    len: usize,
}

impl Pending {
    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a whole buffer of lines.
    fn adopt(&mut self, buffer: Vec<u8>) {
        self.len += buffer.len();
        self.parts.push(buffer);
    }

    /// Appends a copy of `bytes`.
    fn extend(&mut self, bytes: &[u8]) {
        self.push_with(|out| out.extend_from_slice(bytes));
    }

    /// Appends what `write` puts in the last buffer; returns how many bytes that was.
    fn push_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> usize {
        if self.parts.is_empty() {
            self.parts.push(Vec::new());
        }
        let last = self.parts.last_mut().expect("a part was just ensured");
        let before = last.len();
        write(last);
        let added = last.len() - before;
        self.len += added;
        added
    }
}

/// Writes every part, in order, with as few `writev` calls as it takes.
fn write_all_parts(file: &mut File, parts: &[Vec<u8>]) -> io::Result<()> {
    // Linux takes at most 1024 buffers per call (IOV_MAX).
    for group in parts.chunks(512) {
        let mut slices: Vec<IoSlice<'_>> = group
            .iter()
            .filter(|part| !part.is_empty())
            .map(|part| IoSlice::new(part))
            .collect();
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            match file.write_vectored(slices) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut slices, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

struct Writer<'a> {
    shared: &'a Shared,
    live: HashMap<u64, Live>,
    /// Open files by stamp, oldest first: the least recently written is closed first.
    lru: BTreeMap<u64, u64>,
    stamp: u64,
    open_files: usize,
    /// Captures with buffered lines, and when the oldest of them must be written.
    dirty: HashSet<u64>,
    next_flush: Option<Instant>,
    pending_total: usize,
    /// Emptied line buffers, for reuse (see `recycle`).
    spare: Vec<Vec<u8>>,
    /// Emptied stages, handed to connections in exchange for theirs (see `drain`).
    stage_spare: Vec<Staged>,
    /// The capacity held by both kinds of spares.
    spare_bytes: usize,
    folder: Folder,
    errors: Errors<'a>,
}

/// Emptied buffers (lines and stages) kept for reuse: at most this many of each, of this
/// capacity each, and this much capacity in all. Enough for every busy connection of a
/// round to get a stage that needs no growing (64 echo connections grew theirs from
/// nothing every 10 ms with 8 spares), little enough to give memory back.
const SPARE_BUFFERS: usize = 1024;
const MAX_SPARE_CAPACITY: usize = 4 << 20;
const SPARE_BYTES: usize = 16 << 20;

/// The smallest buffer a stage gets back.
const MIN_STAGE: usize = 256;

/// While messages come, the writer looks for more this often (see [`run`]).
const BATCH_PAUSE: Duration = Duration::from_millis(10);

/// Without a message for this long, the writer blocks until the next one.
const IDLE_AFTER: Duration = Duration::from_millis(50);

/// Runs the writer until a shutdown (or a simulated crash).
pub(crate) fn run(shared: &Shared, rx: &Receiver<Msg>, folder: Folder) {
    // Whatever happens, waiting callers must not wait for a thread that is gone.
    let _close = CloseOnDrop(shared);
    let mut w = Writer {
        shared,
        live: HashMap::new(),
        lru: BTreeMap::new(),
        stamp: 0,
        open_files: 0,
        dirty: HashSet::new(),
        next_flush: None,
        pending_total: 0,
        spare: Vec::new(),
        stage_spare: Vec::new(),
        spare_bytes: 0,
        folder,
        errors: Errors {
            shared,
            logged: HashSet::new(),
            last: None,
        },
    };
    // Connections stage their chunks (see `record::Staged`); this thread takes them in
    // rounds. While traffic flows it takes every message and every stage, pauses
    // `BATCH_PAUSE`, and goes again, so that connections never have to wake it. After
    // `IDLE_AFTER` without anything new it parks on its channel; the first connection that
    // stages something then wakes it (`Msg::Wake`).
    let mut quiet_since: Option<Instant> = None;
    loop {
        let mut busy = false;
        loop {
            match rx.try_recv() {
                Ok(msg) => {
                    busy = true;
                    if w.handle(msg) == Flow::Stop {
                        return;
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    w.drain_all();
                    w.shutdown();
                    return;
                }
            }
        }
        busy |= w.drain_all();
        let now = Instant::now();
        // Write when the interval is up, or early when buffered lines hold a good part of
        // the budget that callers may be waiting on.
        if w.next_flush.is_some_and(|d| now >= d)
            || w.pending_total.saturating_mul(4) > shared.config.queue_bytes
        {
            w.flush_all();
        }
        if busy {
            quiet_since = None;
        }
        let quiet = *quiet_since.get_or_insert(now);
        if now.duration_since(quiet) < IDLE_AFTER {
            std::thread::sleep(BATCH_PAUSE);
            continue;
        }
        w.release_idle_stages();
        // Park: say so first, then look at the stages once more (see `ConnCapture::send`).
        shared.writer_parked.store(true, Ordering::SeqCst);
        if w.any_staged() {
            shared.writer_parked.store(false, Ordering::SeqCst);
            continue;
        }
        let received = match w.next_flush {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(deadline) => rx.recv_timeout(deadline.saturating_duration_since(Instant::now())),
        };
        shared.writer_parked.store(false, Ordering::SeqCst);
        quiet_since = None;
        match received {
            Ok(msg) => {
                if w.handle(msg) == Flow::Stop {
                    return;
                }
            }
            Err(RecvTimeoutError::Timeout) => w.flush_all(),
            Err(RecvTimeoutError::Disconnected) => {
                w.drain_all();
                w.shutdown();
                return;
            }
        }
    }
}

/// Whether the writer goes on after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

impl Writer<'_> {
    /// Acts on one message; `Stop` once the writer is done (shut down, or a test's crash).
    fn handle(&mut self, msg: Msg) -> Flow {
        match msg {
            Msg::Open {
                key,
                header,
                start,
                state,
            } => self.open(key, header, start, state),
            Msg::Drain { key } => self.drain(key),
            Msg::Wake => {}
            Msg::Truncate {
                key,
                t,
                reason,
                detail,
            } => {
                // What was staged before the cut comes first.
                self.drain(key);
                if let Some(live) = self.live.get_mut(&key) {
                    let added = truncate(live, reason, t, detail, self.shared);
                    self.folder.live_bytes += added;
                    self.mark_dirty(key);
                }
            }
            Msg::End { key, end } => {
                self.drain(key);
                self.end(key, end);
            }
            Msg::Discard { key, id } => {
                self.discard(key);
                lock_ids(&self.shared.discarded).remove(&id);
            }
            #[cfg(test)]
            Msg::Sync(done) => {
                self.drain_all();
                self.flush_all();
                let _ = done.send(());
            }
            #[cfg(test)]
            Msg::Crash => return Flow::Stop,
            Msg::Shutdown => {
                self.drain_all();
                self.shutdown();
                return Flow::Stop;
            }
        }
        Flow::Go
    }

    /// Takes every connection's staged chunks; `true` when there were any.
    fn drain_all(&mut self) -> bool {
        let keys: Vec<u64> = self
            .live
            .iter()
            .filter(|(_, live)| live.state.staged.load(Ordering::SeqCst))
            .map(|(&key, _)| key)
            .collect();
        for &key in &keys {
            self.drain(key);
        }
        !keys.is_empty()
    }

    fn any_staged(&self) -> bool {
        self.live
            .values()
            .any(|live| live.state.staged.load(Ordering::SeqCst))
    }

    /// Takes a connection's staged lines. The connection gets an emptied stage from the
    /// spares in exchange, so a busy one allocates nothing.
    ///
    /// One pass per stage, not per chunk: the capture is looked up, marked dirty and its
    /// counters bumped once for all the chunks a connection staged in a round (a 125-byte
    /// echo stages two chunks per message). The lines were encoded by the connection (see
    /// `record::Staged`); when the capture has nothing buffered, the stage's buffer
    /// becomes its buffer as it is.
    fn drain(&mut self, key: u64) {
        if !self.live.contains_key(&key) {
            return;
        }
        let mut taken = self.take_stage();
        let Some(live) = self.live.get_mut(&key) else {
            return;
        };
        let state = live.state.clone();
        live.stage_held = true;
        live.drained_at = Instant::now();
        state.staged.store(false, Ordering::SeqCst);
        state.drain_asked.store(false, Ordering::Release);
        std::mem::swap(
            &mut *state.stage.lock().unwrap_or_else(|e| e.into_inner()),
            &mut taken,
        );
        let shared = self.shared;
        let counters = &shared.counters;
        // The chunks that fit: all of them, unless the capture was cut (before, or now
        // by the folder cap).
        let mut kept = 0;
        let mut kept_bytes = 0;
        let mut recorded = 0;
        if live.truncated.is_none() {
            for chunk in &taken.chunks {
                let line = chunk.line as u64;
                if !self.folder.make_room(line, None, &mut self.errors) {
                    let detail = format!(
                        "folder over max_folder_bytes ({}) with only live captures left",
                        self.folder.cap
                    );
                    // The truncation line goes after the lines that fit.
                    live.pending.extend(&taken.bytes[..kept_bytes]);
                    taken.bytes.drain(..kept_bytes);
                    kept_bytes = 0;
                    let added =
                        truncate(live, TruncationReason::FolderCap, chunk.t, detail, shared);
                    self.folder.live_bytes += added;
                    break;
                }
                let cost = chunk_cost(chunk.raw);
                self.folder.live_bytes += line;
                live.size += line;
                live.counts[chunk.dir.index()] += chunk.raw as u64;
                live.last_t = live.last_t.max(chunk.t);
                live.pending_cost += cost;
                self.pending_total += cost;
                recorded += chunk.raw as u64;
                kept += 1;
                kept_bytes += chunk.line;
            }
        }
        let used = taken.bytes.len();
        if kept_bytes > 0 {
            if kept_bytes == taken.bytes.len() {
                live.pending.adopt(std::mem::take(&mut taken.bytes));
            } else {
                live.pending.extend(&taken.bytes[..kept_bytes]);
            }
        }
        // Chunks left out (cut on their way, or by the folder cap): their budget goes back.
        let mut left_raw = 0;
        let mut left_cost = 0;
        for chunk in &taken.chunks[kept..] {
            left_raw += chunk.raw as u64;
            left_cost += chunk_cost(chunk.raw);
        }
        shared.budget.release(left_cost);
        bump(&counters.bytes_truncated, left_raw);
        bump(&counters.bytes_recorded, recorded);
        let full = live.pending.len() >= BATCH;
        if !taken.chunks.is_empty() {
            self.mark_dirty(key);
        }
        if full {
            self.write_out(key);
        }
        // The stage goes back to the spares with a buffer: its own, or an emptied one.
        taken.clear();
        if taken.bytes.capacity() == 0 {
            taken.bytes = self.take_spare(used);
        }
        self.keep_stage(taken);
    }

    /// An emptied stage from the spares, or a new one.
    fn take_stage(&mut self) -> Staged {
        let stage = self.stage_spare.pop().unwrap_or_default();
        self.spare_bytes -= stage.bytes.capacity();
        stage
    }

    /// Keeps an emptied stage for the next connection, within the spares' bounds.
    fn keep_stage(&mut self, stage: Staged) {
        let capacity = stage.bytes.capacity();
        if self.stage_spare.len() < SPARE_BUFFERS
            && capacity <= MAX_SPARE_CAPACITY
            && self.spare_bytes + capacity <= SPARE_BYTES
        {
            self.spare_bytes += capacity;
            self.stage_spare.push(stage);
        }
    }

    /// An emptied line buffer for a stage that held `used` bytes in the last round: one of
    /// the last few spares with room for that much again, or a new one (allocated here).
    ///
    /// Room matters more than reuse: a stage that grows does so on the connection's
    /// thread, and `realloc` of a buffer that another thread allocated takes that thread's
    /// malloc arena lock. Handing out spares of any size made busy connections grow their
    /// stage every round, and the two executor threads then waited on each other's arena
    /// (half the server's futex calls under a 64-connection HTTP load).
    fn take_spare(&mut self, used: usize) -> Vec<u8> {
        let want = used
            .next_power_of_two()
            .clamp(MIN_STAGE, MAX_SPARE_CAPACITY);
        let recent = self.spare.len().saturating_sub(8)..self.spare.len();
        match recent.rev().find(|&i| self.spare[i].capacity() >= want) {
            Some(i) => {
                let buffer = self.spare.swap_remove(i);
                self.spare_bytes -= buffer.capacity();
                buffer
            }
            None => {
                // None fits: let the newest spare go too, or small ones would pile up
                // at the bottom of the spares and hold their places.
                if let Some(small) = self.spare.pop() {
                    self.spare_bytes -= small.capacity();
                }
                Vec::with_capacity(want)
            }
        }
    }

    /// Takes back the stage buffers of connections that staged nothing for a while: an
    /// idle connection holds no recording memory.
    fn release_idle_stages(&mut self) {
        let now = Instant::now();
        for live in self.live.values_mut() {
            if !live.stage_held || now.duration_since(live.drained_at) < STAGE_IDLE {
                continue;
            }
            let mut stage = live.state.stage.lock().unwrap_or_else(|e| e.into_inner());
            if stage.chunks.is_empty() {
                *stage = Default::default();
                live.stage_held = false;
            }
        }
    }
}

/// A connection that staged nothing for this long gives its stage buffer back.
const STAGE_IDLE: Duration = Duration::from_secs(1);

/// Closes the budget when the writer stops, even by a panic.
struct CloseOnDrop<'a>(&'a Shared);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.budget.close();
    }
}

/// Marks a capture truncated and buffers its truncation line; returns the bytes added.
fn truncate(
    live: &mut Live,
    reason: TruncationReason,
    t: u64,
    detail: String,
    shared: &Shared,
) -> u64 {
    if live.truncated.is_some() {
        return 0;
    }
    live.state.cut(reason);
    let truncation = Truncation {
        reason,
        t,
        c2s: live.counts[0],
        s2c: live.counts[1],
        detail: Some(detail),
    };
    bump(&shared.counters.truncated, 1);
    let added = live
        .pending
        .push_with(|out| push_line(out, "truncated", &truncation)) as u64;
    live.truncated = Some(truncation);
    live.size += added;
    added
}

/// Buffers `{"<key>":<value>}` and a newline.
fn push_line(out: &mut Vec<u8>, key: &str, value: &impl serde::Serialize) {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    // Serializing our own plain structs into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
    out.extend_from_slice(b"}\n");
}

impl Writer<'_> {
    fn config(&self) -> &RecorderConfig {
        &self.shared.config
    }

    fn mark_dirty(&mut self, key: u64) {
        if self.dirty.insert(key) && self.next_flush.is_none() {
            self.next_flush = Some(Instant::now() + self.config().flush_interval);
        }
    }

    fn open(&mut self, key: u64, mut header: Header, start: Instant, state: Arc<ConnState>) {
        let created = create_partial(&self.config().dir, &mut header);
        let mut live = Live {
            partial: self
                .config()
                .dir
                .join(format!("{}.json.partial", header.id)),
            header,
            start,
            state,
            created: false,
            file: None,
            stamp: 0,
            stage_held: false,
            drained_at: start,
            pending: Pending::default(),
            pending_cost: 0,
            written: 0,
            size: 0,
            counts: [0; 2],
            written_counts: [0; 2],
            last_t: 0,
            truncated: None,
        };
        match created {
            Ok(file) => {
                live.created = true;
                self.errors.ok();
                let header = &live.header;
                live.size = live.pending.push_with(|out| {
                    serde_json::to_writer(&mut *out, header).expect("a header serializes");
                    out.push(b'\n');
                }) as u64;
                self.folder.live_bytes += live.size;
                self.live.insert(key, live);
                self.adopt_file(key, file);
                self.mark_dirty(key);
            }
            Err(e) => {
                self.errors.report("cannot create", &live.partial, &e);
                truncate(
                    &mut live,
                    TruncationReason::WriteError,
                    0,
                    format!("cannot create the capture: {e}"),
                    self.shared,
                );
                // Nothing to write into: the truncation stays in memory.
                live.pending = Pending::default();
                live.size = 0;
                self.live.insert(key, live);
            }
        }
    }

    /// Registers an open file, closing the least recently written ones over the bound.
    fn adopt_file(&mut self, key: u64, file: File) {
        while self.open_files >= self.config().max_open_files.max(1) {
            let Some((_, victim)) = self.lru.pop_first() else {
                break;
            };
            if let Some(v) = self.live.get_mut(&victim) {
                v.file = None;
            }
            self.open_files -= 1;
        }
        self.stamp += 1;
        let Some(live) = self.live.get_mut(&key) else {
            return;
        };
        live.file = Some(file);
        live.stamp = self.stamp;
        self.lru.insert(self.stamp, key);
        self.open_files += 1;
        self.shared
            .counters
            .open_files
            .store(self.open_files as u64, Ordering::Relaxed);
    }

    fn close_file(&mut self, key: u64) {
        if let Some(live) = self.live.get_mut(&key) {
            if live.file.take().is_some() {
                self.lru.remove(&live.stamp);
                self.open_files -= 1;
                self.shared
                    .counters
                    .open_files
                    .store(self.open_files as u64, Ordering::Relaxed);
            }
        }
    }

    /// Writes a capture's buffered lines to its file and gives their budget back.
    fn write_out(&mut self, key: u64) {
        self.dirty.remove(&key);
        let Some(live) = self.live.get_mut(&key) else {
            return;
        };
        let pending = std::mem::take(&mut live.pending);
        let cost = std::mem::take(&mut live.pending_cost);
        self.pending_total = self.pending_total.saturating_sub(cost);
        self.shared.budget.release(cost);
        if pending.is_empty() || !live.created {
            return;
        }
        let written = pending.len() as u64;
        let result = self
            .file(key)
            .and_then(|file| write_all_parts(file, &pending.parts));
        for part in pending.parts {
            self.recycle(part);
        }
        let Some(live) = self.live.get_mut(&key) else {
            return;
        };
        match result {
            Ok(()) => {
                live.written += written;
                live.written_counts = live.counts;
                self.errors.ok();
            }
            Err(e) => {
                let path = live.partial.clone();
                self.errors.report("cannot write", &path, &e);
                self.write_failed(key, written, &e);
            }
        }
    }

    /// Keeps an emptied line buffer for the next capture that needs one. Only captures
    /// with lines waiting hold a buffer, so idle connections cost none; the few spares
    /// spare the allocator a large buffer per write (a 64 KiB chunk is a 128 KiB line, and
    /// allocating, faulting in and unmapping one per chunk tripled the writer's cost).
    fn recycle(&mut self, mut buffer: Vec<u8>) {
        let capacity = buffer.capacity();
        if self.spare.len() < SPARE_BUFFERS
            && capacity <= MAX_SPARE_CAPACITY
            && self.spare_bytes + capacity <= SPARE_BYTES
        {
            buffer.clear();
            self.spare_bytes += capacity;
            self.spare.push(buffer);
        }
    }

    /// A write failed: what was buffered is lost. Roll the file back to its last whole
    /// line, mark the capture truncated, and try to write that much.
    fn write_failed(&mut self, key: u64, lost: u64, e: &io::Error) {
        let shared = self.shared;
        let Some(live) = self.live.get_mut(&key) else {
            return;
        };
        let lost_raw = (live.counts[0] + live.counts[1])
            .saturating_sub(live.written_counts[0] + live.written_counts[1]);
        bump(&shared.counters.bytes_truncated, lost_raw);
        live.counts = live.written_counts;
        live.size = live.size.saturating_sub(lost);
        self.folder.live_bytes = self.folder.live_bytes.saturating_sub(lost);
        if let Some(file) = &live.file {
            let _ = file.set_len(live.written);
        }
        let added = truncate(
            live,
            TruncationReason::WriteError,
            live.last_t,
            format!("writing the capture failed: {e}"),
            shared,
        );
        self.folder.live_bytes += added;
        // Best effort: the truncation (and later the end) line; the document is written
        // from memory anyway. When the failed write was the first, the header line went
        // with it: put it back first, or a crash before finalizing would leave a
        // `.partial` that no reader (nor the next start) can make sense of.
        let mut line = Vec::new();
        if live.written == 0 && serde_json::to_writer(&mut line, &live.header).is_ok() {
            line.push(b'\n');
            live.size += line.len() as u64;
            self.folder.live_bytes += line.len() as u64;
        }
        for part in std::mem::take(&mut live.pending).parts {
            line.extend_from_slice(&part);
        }
        if let Some(file) = &mut live.file {
            if file.write_all(&line).is_ok() {
                live.written += line.len() as u64;
            } else {
                let _ = file.set_len(live.written);
            }
        }
    }

    /// The open file of a capture, reopened in append mode if it was closed.
    fn file(&mut self, key: u64) -> io::Result<&mut File> {
        let live = self.live.get(&key).ok_or(io::ErrorKind::NotFound)?;
        if live.file.is_none() {
            let file = OpenOptions::new().append(true).open(&live.partial)?;
            self.adopt_file(key, file);
        } else {
            // Most recently written: last to be closed.
            let old = live.stamp;
            self.lru.remove(&old);
            self.stamp += 1;
            self.lru.insert(self.stamp, key);
            if let Some(live) = self.live.get_mut(&key) {
                live.stamp = self.stamp;
            }
        }
        self.live
            .get_mut(&key)
            .and_then(|l| l.file.as_mut())
            .ok_or_else(|| io::ErrorKind::NotFound.into())
    }

    fn flush_all(&mut self) {
        let keys: Vec<u64> = self.dirty.iter().copied().collect();
        for key in keys {
            self.write_out(key);
        }
        self.next_flush = None;
    }

    fn end(&mut self, key: u64, end: End) {
        let Some(live) = self.live.get_mut(&key) else {
            return;
        };
        if live.created {
            let added = live.pending.push_with(|out| push_line(out, "end", &end)) as u64;
            live.size += added;
            self.folder.live_bytes += added;
        }
        self.write_out(key);
        self.close_file(key);
        let Some(live) = self.live.remove(&key) else {
            return;
        };
        self.folder.live_bytes = self.folder.live_bytes.saturating_sub(live.size);
        if !live.created {
            return;
        }
        let name = format!("{}.json", live.header.id);
        let path = self.config().dir.join(&name);
        let written = write_document(&path, self.config().fsync, |out| {
            write_document_head(out, &live.header)?;
            copy_chunks(&live.partial, live.written, out)?;
            write_document_tail(out, live.truncated.as_ref(), &end, None)
        });
        match written {
            Ok(size) => {
                self.errors.ok();
                if let Err(e) = fs::remove_file(&live.partial) {
                    self.errors.report("cannot remove", &live.partial, &e);
                }
                bump(&self.shared.counters.finalized, 1);
                self.folder.finalized_bytes += size;
                self.folder.finalized.insert(name.clone(), size);
                self.folder.make_room(0, Some(&name), &mut self.errors);
            }
            Err(e) => {
                // The `.partial` stays; the next start finalizes it.
                self.errors.report("cannot finalize", &path, &e);
                self.folder.live_bytes += live.size;
            }
        }
    }

    /// Forgets a capture: its staged chunks and buffered lines are dropped (their budget
    /// given back), its file closed and deleted.
    fn discard(&mut self, key: u64) {
        if let Some(live) = self.live.get(&key) {
            let state = live.state.clone();
            state.staged.store(false, Ordering::SeqCst);
            let staged =
                std::mem::take(&mut *state.stage.lock().unwrap_or_else(|e| e.into_inner()));
            let cost: usize = staged.chunks.iter().map(|c| chunk_cost(c.raw)).sum();
            self.shared.budget.release(cost);
        }
        self.dirty.remove(&key);
        self.close_file(key);
        let Some(live) = self.live.remove(&key) else {
            return;
        };
        self.pending_total = self.pending_total.saturating_sub(live.pending_cost);
        self.shared.budget.release(live.pending_cost);
        self.folder.live_bytes = self.folder.live_bytes.saturating_sub(live.size);
        if live.created {
            if let Err(e) = fs::remove_file(&live.partial) {
                self.errors.report("cannot remove", &live.partial, &e);
            }
        }
        bump(&self.shared.counters.discarded, 1);
    }

    /// Finalizes every capture still open with end `shutdown`.
    fn shutdown(&mut self) {
        let mut keys: Vec<u64> = self.live.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let t = self.live.get(&key).map_or(0, |live| {
                u64::try_from(live.start.elapsed().as_micros()).unwrap_or(u64::MAX)
            });
            let end = End {
                t,
                by: EndBy::Shutdown,
                detail: None,
            };
            self.end(key, end);
        }
    }
}

#[cfg(test)]
mod errors_tests {
    use super::*;
    use crate::capture::record::{Budget, Counters};

    // Regression: under `ulimit -f 64` every big capture failed with EFBIG while the
    // small operations between them (creating the next `.partial`, a short finalized
    // document) succeeded; each success re-armed the warning, so it was logged once per
    // connection. (`tests/record.rs`: 5 downloads of big.bin, 5 warnings.)
    #[test]
    fn an_error_kind_is_logged_again_only_after_a_quiet_period() {
        let shared = Shared {
            config: RecorderConfig::new("unused"),
            budget: Budget::new(1),
            counters: Counters::default(),
            writer_parked: std::sync::atomic::AtomicBool::new(false),
            discarded: std::sync::Mutex::default(),
        };
        let mut errors = Errors {
            shared: &shared,
            logged: HashSet::new(),
            last: None,
        };
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert!(!errors.succeeded(at(0)), "nothing to recover from");
        assert!(errors.failed(io::ErrorKind::FileTooLarge, at(1)));
        // Small writes in between work, the next big one fails again: not logged.
        assert!(!errors.succeeded(at(2)));
        assert!(!errors.failed(io::ErrorKind::FileTooLarge, at(3)));
        // Another kind is another cause.
        assert!(errors.failed(io::ErrorKind::StorageFull, at(4)));
        assert!(!errors.succeeded(at(4) + QUIET - Duration::from_millis(1)));
        // Writes worked for QUIET: the next error is news again.
        assert!(errors.succeeded(at(4) + QUIET));
        assert!(!errors.succeeded(at(5) + QUIET), "said once");
        assert!(errors.failed(io::ErrorKind::FileTooLarge, at(6) + QUIET));
    }
}
