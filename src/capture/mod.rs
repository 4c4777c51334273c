//! The capture: the file format that holds every byte of one connection (v1), its writer
//! and its reader.
//!
//! What it is for: recording each read from and write to a socket, with its time and
//! direction, crash-safely and within bounds, so that the same sans-IO parsers that served
//! the connection can replay it later. What it is not: it knows nothing of HTTP or
//! WebSocket, and it opens no sockets.
//!
//! | piece | role | touches |
//! |---|---|---|
//! | [`Capture`], [`Chunk`], [`End`], [`Truncation`] | the model, serde | nothing |
//! | [`Capture::from_slice`], [`Capture::from_partial_slice`] | the tolerant reader | bytes only |
//! | [`Capture::load`] | the reader on a file | one file |
//! | [`Recorder`], [`RecorderHandle`], [`ConnCapture`] | the writer: cheap handles for connection tasks, one writer thread for all files | the capture folder |
//!
//! `DESIGN.md` keeps this room off the file system; the recorder is here anyway because
//! the format's crash-safety rules (append, flush, rename, recover) are part of the format
//! and are tested with it. The model and the byte readers above stay pure.
//!
//! # Format v1
//!
//! ## Finalized: `<id>.json`
//!
//! One JSON document per connection:
//!
//! ```json
//! {"format":"wiretap-capture","version":1,"id":"20261124T191203.123456Z-c000042","start":"2026-11-24T19:12:03.123456Z","client":"127.0.0.1:53122","server":"127.0.0.1:8080","chunks":[
//! {"t":0,"dir":"c2s","hex":"474554202f20485454502f312e310d0a486f73743a20610d0a0d0a"},
//! {"t":412,"dir":"s2c","hex":"485454502f312e3120323034204e6f20436f6e74656e740d0a0d0a"}
//! ],"truncated":null,"end":{"t":1234,"by":"client"}}
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `format` | always `"wiretap-capture"` |
//! | `version` | `1`; a reader refuses versions it does not know, and reads every version it ever wrote |
//! | `id` | the name: the UTC start time in basic form with microseconds, then a per-process connection counter (`20261124T191203.123456Z-c000042`); names sort by start time; `-2`, `-3`... is added on a collision |
//! | `start` | wall-clock start, RFC 3339 UTC with microseconds |
//! | `client`, `server` | `ip:port` of the peer and of the local socket (`[::1]:8080` for IPv6) |
//! | `chunks[].t` | microseconds since the connection started (a monotonic clock) |
//! | `chunks[].dir` | `"c2s"` (read from the client) or `"s2c"` (written to the client) |
//! | `chunks[].hex` | the bytes, lowercase hex; one chunk is one read or one write: boundaries are what happened |
//! | `truncated` | `null`, or `{"reason","t","c2s","s2c","detail"?}`: no chunk after `t` was recorded; `c2s`/`s2c` are the bytes of each direction recorded before the cut |
//! | `truncated.reason` | `"connection-cap"` (the connection passed `max_connection_bytes`), `"folder-cap"` (the folder passed `max_folder_bytes` with only live captures in it), `"write-error"` (the disk refused: full, file too large, folder gone) |
//! | `end` | `{"t","by","detail"?}`, how the connection ended |
//! | `end.by` | `"client"` (peer closed, EOF), `"server"` (the server closed it), `"reset"` (ECONNRESET, broken pipe), `"timeout"` (a server timeout cut it), `"shutdown"` (graceful server shutdown), `"error"` (another I/O error; also a capture dropped without an end, detail `"dropped"`), `"crash"` (finalized from a `.partial` at the next start; `t` is the time of the last line recorded) |
//! | `recovered` | only when finalized from a `.partial` at start-up: `{"torn_line": bool, "detail"?}`; `torn_line` says an incomplete last line was dropped |
//!
//! The writer puts one chunk per line (so `git diff` shows chunks), but any JSON layout
//! reads. Readers of v1 ignore fields they do not know; a change that a v1 reader must
//! not ignore gets a new version.
//!
//! ## Live: `<id>.json.partial`
//!
//! While the connection is open its capture is appended as JSON Lines:
//!
//! ```text
//! {"format":"wiretap-capture","version":1,"id":"20261124T191203.123456Z-c000042","start":"2026-11-24T19:12:03.123456Z","client":"127.0.0.1:53122","server":"127.0.0.1:8080"}
//! {"t":0,"dir":"c2s","hex":"474554202f20485454502f312e310d0a486f73743a20610d0a0d0a"}
//! {"t":412,"dir":"s2c","hex":"485454502f312e3120323034204e6f20436f6e74656e740d0a0d0a"}
//! {"truncated":{"reason":"connection-cap","t":900,"c2s":27,"s2c":27,"detail":"over max_connection_bytes (64)"}}
//! {"end":{"t":1234,"by":"client"}}
//! ```
//!
//! The header line first, then one line per chunk, at most one truncation line, and the
//! end line last. Lines reach the OS within the flush interval (100 ms by default) of
//! being recorded; they are not fsynced, so a kernel crash may lose the last ones, a
//! server crash does not. At the end the document is written to `<id>.json.tmp`, fsynced,
//! renamed to `<id>.json`, and the `.partial` is removed. (The folder itself is not
//! fsynced after the rename: after a power cut the `.partial` may come back, and the next
//! start finalizes it again.)
//!
//! On start the recorder finalizes every `.partial` it finds (a crash left it): a torn last
//! line is dropped (`recovered.torn_line`), an invalid line elsewhere moves the file aside
//! as `.partial.invalid`, and a file without an end line ends with `"by":"crash"`.
//!
//! # Recording
//!
//! ```no_run
//! use wiretap::capture::{Direction, EndBy, Recorder, RecorderConfig};
//!
//! let recorder = Recorder::start(RecorderConfig::new("captures/recorded"))?;
//! let handle = recorder.handle(); // one per task; clones are cheap
//! let capture = handle.open("127.0.0.1:53122".parse()?, "127.0.0.1:8080".parse()?);
//! smol::block_on(async {
//!     capture.record(Direction::ClientToServer, b"GET / HTTP/1.1\r\n\r\n").await;
//!     capture.record(Direction::ServerToClient, b"HTTP/1.1 204 No Content\r\n\r\n").await;
//! });
//! capture.finish(EndBy::Client, None);
//! recorder.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Decisions, and why:
//!
//! - **One writer thread** does all file I/O (open, writes, fsync, rename, deletes); a
//!   connection task only appends the chunk's finished line (hex-encoded there with SIMD,
//!   while the bytes are in that core's cache) to its own *stage* (a buffer and a list of
//!   chunk lengths, under a lock that only the writer also takes, to swap the whole stage
//!   out; a capture with nothing buffered adopts the stage's buffer without copying it,
//!   and the stage gets back a buffer with room for its last round, so it does not grow
//!   on the connection's thread). The writer takes every stage in rounds of 10 ms while
//!   traffic flows, so connections never wake it; after 50 ms of quiet it parks, and the
//!   first connection that stages something wakes it. A message per chunk cost an
//!   allocation freed on another thread and a channel operation each: most of what
//!   recording a 125-byte echo cost. The executor threads never block on the disk.
//! - **Backpressure, never loss.** Bytes recorded but not yet written to the OS share one
//!   budget (`queue_bytes`, 64 MiB, plus 64 bytes per chunk for its bookkeeping). When it is
//!   spent, [`ConnCapture::record`] makes *that* connection wait until the writer catches
//!   up: a slow disk slows the connections that talk, it does not drop their bytes or
//!   grow memory. [`ConnCapture::try_record`] is the non-waiting form for code that cannot
//!   await. One chunk larger than the whole budget passes when nothing else is in flight.
//!   [`Stats::waits`] counts the waits (logged with the stats at shutdown).
//! - **Flush.** Each capture's lines are buffered and written in one call when the buffer
//!   reaches 64 KiB, when the flush interval is up (every capture with buffered lines is
//!   written then), or early when buffered lines hold a quarter of the budget.
//! - **Open files.** At most `max_open_files` (256) capture files are open; the least
//!   recently written is closed and reopened in append mode when needed, so 10 000 open
//!   connections do not take 10 000 descriptors.
//! - **Connection cap.** Chunks are kept whole: the chunk that would pass
//!   `max_connection_bytes` is the first one left out, and the capture says where.
//! - **Folder cap.** Counted on the files as written (hex, so about twice the raw bytes).
//!   When a chunk or a finalization would pass `max_folder_bytes`, the oldest finalized
//!   captures (by name, that is by start time) are deleted first; live `.partial` files
//!   never are. When only live captures are left, the capture whose chunk does not fit is
//!   truncated with `folder-cap`. A recording server keeps recording the newest traffic.
//! - **Errors.** A failed create or write is counted, logged once per kind of error (and
//!   again only after a minute without errors: a full disk still lets files be created,
//!   so "a success" would re-arm the warning for every connection), and truncates the
//!   capture it hit with `write-error` (in memory always, on disk if possible); other
//!   captures go on, and new ones try again, so recording resumes once space is freed.
//!   Nothing panics and serving never stops.

mod fast;
mod model;
mod read;
mod record;
mod time;
mod writer;

#[cfg(test)]
mod tests;

pub use model::{Capture, Chunk, Direction, End, EndBy, Recovered, Truncation, TruncationReason};
pub use read::{LoadError, Loaded, Warning};
pub use record::{Backpressure, ConnCapture, Recorder, RecorderConfig, RecorderHandle, Stats};
pub(crate) use writer::is_capture_name;

/// The `format` field of every capture.
pub const FORMAT: &str = "wiretap-capture";

/// The format version this build writes. The reader accepts 1 to this.
pub const VERSION: u32 = 1;
