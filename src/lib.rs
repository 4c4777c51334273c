//! wiretap: an HTTP/1.1 + WebSocket server that records every byte of every connection and
//! replays those recordings through its own parsers.
//!
//! The library holds the rooms described in `DESIGN.md`:
//!
//! - [`http`]: sans-IO RFC 9112 request and response parsers and a response writer.
//! - [`ws`]: sans-IO RFC 6455 handshake, frame codec, message assembly and the server-side
//!   `ws::Connection` state machine.
//!
//! The parsers know no sockets and no clock: bytes (and, for the connection, the time) go
//! in, values and events come out. The same code runs in the live server and in replay.

pub mod http;
pub mod ws;

#[doc(hidden)]
pub mod fuzzing;
