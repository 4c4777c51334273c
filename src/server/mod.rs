//! The server room: everything that touches the file system, the clock or a socket.
//!
//! The protocol rooms (`http`, `ws`) are sans-IO; this is where their decisions meet the
//! world. So far it holds:
//!
//! - [`files`]: the static-file decisions (which file a request-target names, its validators,
//!   conditional requests and byte ranges), with no async and no sockets. The async shell
//!   that writes the head and streams the file arrives with the listener.

pub mod files;
