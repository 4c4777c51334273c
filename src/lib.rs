//! wiretap: an HTTP/1.1 + WebSocket server that records every byte of every connection and
//! replays those recordings through its own parsers.
//!
//! The library holds the rooms described in `DESIGN.md`:
//!
//! - [`http`]: sans-IO RFC 9112 request and response parsers and a response writer.
//! - [`ws`]: sans-IO RFC 6455 handshake, frame codec, message assembly and the server-side
//!   [`ws::Connection`] state machine.
//! - [`capture`]: the capture format (v1) that records every byte of a connection, its
//!   crash-safe writer ([`capture::Recorder`]) and its tolerant reader.
//! - [`dissect`]: capture → transcript: both directions of a capture through the parsers
//!   above, as HTTP, upgrade and WebSocket events with byte offsets.
//! - [`replay`]: dissection on files: the captures of a folder, the blessed transcript
//!   beside each, checking and blessing it (for the golden tests and `wiretap replay`).
//! - [`server`]: the parts that touch the file system, the clock or sockets; so far the
//!   static-file decisions in [`server::files`].
//!
//! The parsers know no sockets and no clock: bytes (and, for the connection, the time) go
//! in, values and events come out. The same code runs in the live server and in replay.

pub mod capture;
pub mod dissect;
pub mod http;
pub mod replay;
pub mod server;
pub mod ws;

#[doc(hidden)]
pub mod fuzzing;
