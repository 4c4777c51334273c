//! The socket as the connection tasks use it, and the one place where bytes cross it: every
//! read and every write system call that moved bytes becomes one chunk of the connection's
//! capture, with its time, so the recording shows the chunk boundaries that really
//! happened.
//!
//! Not for: deciding anything about those bytes. Recording never blocks the executor (the
//! capture's writer thread does the file I/O); when that thread falls behind, this
//! connection waits for it (see [`crate::capture`]), never the others, and nothing recorded
//! is dropped. Time spent waiting for the recorder does not count against the write
//! timeout, which is about the peer.

use std::io::{self, IoSlice, Read as _, Write as _};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use std::sync::Arc;

use smol::future::FutureExt as _;
use smol::{Async, Timer};

use crate::capture::{ConnCapture, Direction, EndBy};

/// The socket, readiness-based: a connection waiting for bytes holds no read buffer.
pub(super) type Socket = Arc<Async<TcpStream>>;

/// Why a connection ended: who ended it, for the capture, and why, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ended {
    pub(super) by: EndBy,
    pub(super) why: &'static str,
}

impl Ended {
    pub(super) const fn new(by: EndBy, why: &'static str) -> Self {
        Self { by, why }
    }

    /// The end an I/O error on the socket stands for.
    pub(super) fn io(error: &io::Error, why: &'static str) -> Self {
        Self::new(EndBy::from_io_error(error), why)
    }
}

/// A connection's socket and its capture (none when recording is off).
pub(super) struct Wire {
    socket: Socket,
    capture: Option<ConnCapture>,
}

impl Wire {
    pub(super) fn new(socket: Socket, capture: Option<ConnCapture>) -> Self {
        Self { socket, capture }
    }

    /// Waits until the socket is readable (or closed, or failed).
    pub(super) async fn readable(&self) -> io::Result<()> {
        self.socket.readable().await
    }

    /// One read system call into `buf`, recorded: `Ok(0)` at end of stream, `WouldBlock`
    /// when nothing was there after all. Call after [`readable`](Self::readable).
    pub(super) async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.socket.get_ref().read(buf)?;
        self.record(Direction::ClientToServer, &buf[..n]).await;
        Ok(n)
    }

    /// Writes all of `bytes`, recording each write system call as a chunk; fails with
    /// `TimedOut` when the peer does not take a byte for `timeout`.
    pub(super) async fn write_all(&self, bytes: &[u8], timeout: Duration) -> io::Result<()> {
        self.write_all_vectored(&[], bytes, timeout).await
    }

    /// Writes every buffer of `parts`, then `last`, as one stream, with vectored writes: a
    /// frame header and the payload buffer behind it leave in one system call (and one
    /// segment). Fails like [`write_all`](Self::write_all).
    pub(super) async fn write_all_vectored(
        &self,
        parts: &[Vec<u8>],
        last: &[u8],
        timeout: Duration,
    ) -> io::Result<()> {
        let buffers = parts
            .iter()
            .map(Vec::as_slice)
            .chain(std::iter::once(last))
            .filter(|buffer| !buffer.is_empty());
        // On the stack for the usual one to three buffers: every HTTP response and
        // WebSocket write comes through here.
        let mut inline = [IoSlice::new(&[]); 4];
        let mut spilled: Vec<IoSlice<'_>>;
        let mut slices: &mut [IoSlice<'_>] = if parts.len() < inline.len() {
            let mut n = 0;
            for buffer in buffers {
                inline[n] = IoSlice::new(buffer);
                n += 1;
            }
            &mut inline[..n]
        } else {
            spilled = buffers.map(IoSlice::new).collect();
            &mut spilled[..]
        };
        // Set at the first stall: the peer has `timeout` to take the rest.
        let mut deadline: Option<Instant> = None;
        while !slices.is_empty() {
            let written = match slices {
                [one] => self.socket.get_ref().write(one),
                _ => self.socket.get_ref().write_vectored(slices),
            };
            match written {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    if self.capture.is_some() {
                        self.record_written(slices, n).await;
                    }
                    IoSlice::advance_slices(&mut slices, n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let until = *deadline.get_or_insert_with(|| Instant::now() + timeout);
                    let writable = async { Some(self.socket.writable().await) };
                    let expired = async {
                        Timer::at(until).await;
                        None
                    };
                    match writable.or(expired).await {
                        Some(ready) => ready?,
                        None => {
                            return Err(io::Error::new(
                                io::ErrorKind::TimedOut,
                                "peer stopped reading",
                            ))
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Shuts the sending side: the peer reads end of stream after what was written.
    pub(super) fn shutdown_write(&self) {
        let _ = self.socket.get_ref().shutdown(Shutdown::Write);
    }

    /// Stops recording this connection and deletes what it recorded (see
    /// [`ConnCapture::discard`]).
    pub(super) fn discard_capture(&self) {
        if let Some(capture) = &self.capture {
            capture.discard();
        }
    }

    /// Whether this connection's bytes are being recorded.
    pub(super) fn is_recording(&self) -> bool {
        self.capture.as_ref().is_some_and(|c| !c.is_discarded())
    }

    /// Ends the capture with how the connection ended.
    pub(super) fn finish(self, ended: Ended) {
        if let Some(capture) = self.capture {
            capture.finish(ended.by, Some(ended.why.to_owned()));
        }
    }

    async fn record(&self, dir: Direction, bytes: &[u8]) {
        if let Some(capture) = &self.capture {
            if capture.try_record(dir, bytes).is_err() {
                capture.record(dir, bytes).await;
            }
        }
    }

    /// Records the first `n` bytes of `slices` as one chunk: one write call, one chunk.
    async fn record_written(&self, slices: &[IoSlice<'_>], n: usize) {
        match slices.first() {
            Some(first) if first.len() >= n => {
                self.record(Direction::ServerToClient, &first[..n]).await;
            }
            _ => {
                let mut chunk = Vec::with_capacity(n);
                for slice in slices {
                    let take = (n - chunk.len()).min(slice.len());
                    chunk.extend_from_slice(&slice[..take]);
                    if chunk.len() == n {
                        break;
                    }
                }
                self.record(Direction::ServerToClient, &chunk).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Every buffer arrives whole and in order, with few buffers (on the stack) and with
    /// many (spilled to the heap), and with an empty one among them.
    #[test]
    fn vectored_writes_send_every_buffer_in_order() {
        for count in [0usize, 1, 3, 4, 9] {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, _) = listener.accept().unwrap();
            let wire = Wire::new(Arc::new(Async::new(server).unwrap()), None);
            let parts: Vec<Vec<u8>> = (0..count)
                .map(|i| vec![i as u8; if i == 1 { 0 } else { 1000 * (i + 1) }])
                .collect();
            let last = b"last".to_vec();
            let expected = [parts.concat(), last.clone()].concat();
            let reader = std::thread::spawn(move || {
                let mut got = Vec::new();
                (&client)
                    .take(expected.len() as u64)
                    .read_to_end(&mut got)
                    .unwrap();
                assert_eq!(got, expected, "{count} parts");
            });
            smol::block_on(wire.write_all_vectored(&parts, &last, Duration::from_secs(5))).unwrap();
            reader.join().unwrap();
        }
    }
}
