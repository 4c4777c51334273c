//! The WebSocket endpoints: a [`ws::Connection`] driven over the socket, with idle pings,
//! the closing handshake, and the `/echo` and `/chat` applications.
//!
//! Not for: framing or protocol rules; [`ws::Connection`] decides everything and this
//! module only moves its bytes, feeds it the time, and acts on its events.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smol::channel::{Receiver, Sender, TrySendError};
use smol::future::FutureExt as _;

use super::alarm::{Alarm, Alarms};
use super::inspector::Feed;
use super::wire::{Ended, Wire};
use super::Shared;
use crate::capture::EndBy;
use crate::ws::{self, CloseCode, Event, Message, Role, State};

/// Bytes taken from the socket per read; the buffer belongs to the executor thread, not to
/// the connection, so an idle WebSocket holds none. Larger than a 64 KiB message and its
/// header, so that such a message usually arrives in one read.
const READ_PIECE: usize = 128 * 1024;

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The applications behind the upgrade paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    /// `/echo`: every message back as it came (the Autobahn conformance target).
    Echo,
    /// `/chat`: every text message to everyone in the room, the sender included.
    Chat,
    /// `/api/live`: the inspector's feed (see [`inspector::feed`]); reached through the
    /// API's access rule, never through [`Endpoint::at`].
    Live,
}

impl Endpoint {
    /// The endpoint served at `path`, if any.
    pub(super) fn at(path: &str) -> Option<Self> {
        match path {
            "/echo" => Some(Self::Echo),
            "/chat" => Some(Self::Chat),
            _ => None,
        }
    }

    pub(super) fn path(self) -> &'static str {
        match self {
            Self::Echo => "/echo",
            Self::Chat => "/chat",
            Self::Live => "/api/live",
        }
    }
}

/// The `/chat` room: one bounded queue per member. Broadcasting never waits: a member whose
/// queue is full has fallen too far behind; its queue is closed, and its task closes the
/// WebSocket with 1008.
#[derive(Debug, Default)]
pub(super) struct ChatRoom {
    members: Mutex<HashMap<u64, Sender<Arc<str>>>>,
    next_id: AtomicU64,
}

impl ChatRoom {
    fn join(&self, queue: usize) -> (u64, Receiver<Arc<str>>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = smol::channel::bounded(queue.max(1));
        self.lock().insert(id, tx);
        (id, rx)
    }

    fn leave(&self, id: u64) {
        self.lock().remove(&id);
    }

    fn broadcast(&self, text: &str) {
        let text: Arc<str> = text.into();
        self.lock()
            .retain(|_, member| match member.try_send(text.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    member.close();
                    false
                }
                Err(TrySendError::Closed(_)) => false,
            });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Sender<Arc<str>>>> {
        // A panic while holding the lock cannot leave the map half-updated.
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Leaves the chat room when the session ends, however it ends.
struct Membership<'a> {
    room: &'a ChatRoom,
    id: u64,
}

impl Drop for Membership<'_> {
    fn drop(&mut self) {
        self.room.leave(self.id);
    }
}

/// What woke the session.
enum Wake {
    Readable(io::Result<()>),
    Chat(Result<Arc<str>, smol::channel::RecvError>),
    Feed,
    Alarm(Alarm),
}

/// How often the inspector's feed looks at the folder: new bytes show within about this
/// plus the recorder's flush interval (100 ms).
const FEED_INTERVAL: Duration = Duration::from_millis(250);

/// Runs one WebSocket session after the 101; `leftover` holds the bytes that followed the
/// handshake in the same read. Returns why it ended.
pub(super) async fn run(
    wire: &Wire,
    peer: SocketAddr,
    leftover: Vec<u8>,
    endpoint: Endpoint,
    mut alarms: Alarms<'_>,
    shared: &Arc<Shared>,
) -> Ended {
    let config = &shared.config;
    let clock = || shared.started.elapsed();
    let mut conn = ws::Connection::new(Role::Server, config.ws);
    conn.handle_input(&leftover, clock());
    drop(leftover);

    let (membership, inbox) = match endpoint {
        Endpoint::Chat => {
            let (id, inbox) = shared.chat.join(config.chat_queue);
            (
                Some(Membership {
                    room: &shared.chat,
                    id,
                }),
                Some(inbox),
            )
        }
        Endpoint::Echo | Endpoint::Live => (None, None),
    };
    // The feed, and when it looks next; it is taken out while a poll runs off the executor.
    let mut feed = (endpoint == Endpoint::Live).then(|| Feed::new(shared.catalog.clone()));
    let mut feed_at = Instant::now();
    let mut out = Vec::new();
    let mut parts = Vec::new();
    let mut last_input = Instant::now();
    let mut pinged = false;
    let mut eof = false;
    // The last read filled the buffer: more is probably waiting, so read again before
    // asking the reactor (each readiness wait re-arms the socket with `epoll_ctl`).
    let mut read_again = false;
    // Why the server sent its Close, when it started the closing handshake.
    let mut initiated: Option<Ended> = None;
    let end = loop {
        // React to everything the peer did.
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Message(message) => match (endpoint, message) {
                    (Endpoint::Echo, message) => {
                        let _ = conn.send(message);
                    }
                    (Endpoint::Chat, Message::Text(text)) => shared.chat.broadcast(&text),
                    (Endpoint::Live, Message::Text(text)) => {
                        if let Some(feed) = feed.as_mut() {
                            if let Some(error) = feed.command(&text) {
                                let _ = conn.send(Message::Text(error));
                            }
                        }
                        feed_at = Instant::now();
                    }
                    // RFC 6455 §7.4.1, 1003: "an endpoint that understands only text data
                    // MAY send this if it receives a binary message".
                    (Endpoint::Chat | Endpoint::Live, Message::Binary(_)) => {
                        let (reason, why) = if endpoint == Endpoint::Chat {
                            ("chat is text only", "binary message on /chat")
                        } else {
                            (
                                "the feed takes text commands",
                                "binary message on /api/live",
                            )
                        };
                        let _ = conn.close(CloseCode::UNSUPPORTED, reason, clock());
                        initiated.get_or_insert(Ended::new(EndBy::Server, why));
                    }
                },
                Event::ProtocolError(e) => {
                    log::info!("{peer}: {e} ({}) -> close {}", e.rule(), e.close_code().0);
                }
                Event::Close { code, .. } => {
                    log::debug!("{peer}: close {:?} from the client", code.map(|c| c.0));
                }
                Event::Ping(_) | Event::Pong(_) => {}
            }
        }
        // Send what it queued.
        if conn.poll_transmit_vectored(&mut parts, &mut out) > 0 {
            let written = wire
                .write_all_vectored(&parts, &out, config.write_timeout)
                .await;
            if let Err(e) = written {
                log::debug!("{peer}: write failed: {e}");
                break Ended::io(&e, "write failed or timed out");
            }
            parts.clear();
            out.clear();
            if out.capacity() > 64 * 1024 {
                out = Vec::new();
            }
        }
        if conn.state() == State::Closed {
            break if conn.error().is_some() {
                Ended::new(EndBy::Server, "protocol error")
            } else {
                initiated.unwrap_or(Ended::new(EndBy::Client, "closing handshake"))
            };
        }
        if eof {
            break Ended::new(
                EndBy::Client,
                "client closed the TCP connection without a close frame",
            );
        }

        // Wait for the next thing to do.
        let now = Instant::now();
        // Idle pings and the idle close only apply to an open session. Once closing, the
        // idle deadline is usually past and would fire on every turn: a busy loop inside
        // one poll until `close_timeout`, holding the executor thread.
        let idle_deadline = (conn.state() == State::Open).then(|| {
            last_input
                + if pinged {
                    config.ws_idle_timeout
                } else {
                    config.ws_ping_interval.min(config.ws_idle_timeout)
                }
        });
        let close_deadline = conn
            .poll_timeout()
            .map(|at| now + at.saturating_sub(clock()));
        let deadline = match (idle_deadline, close_deadline) {
            (Some(idle), Some(close)) => Some(idle.min(close)),
            (idle, close) => idle.or(close),
        };
        let closing = conn.state() == State::Closing;
        let readable = async {
            if read_again {
                Wake::Readable(Ok(()))
            } else {
                Wake::Readable(wire.readable().await)
            }
        };
        let chat = async {
            match &inbox {
                // Once closing, nothing more is sent: stop taking chat messages.
                Some(inbox) if !closing => Wake::Chat(inbox.recv().await),
                _ => std::future::pending().await,
            }
        };
        let feed_tick = async {
            match &feed {
                Some(_) if !closing => {
                    smol::Timer::at(feed_at).await;
                    Wake::Feed
                }
                _ => std::future::pending().await,
            }
        };
        // Once closing, a shutdown changes nothing: our Close is already out.
        let alarm = async { Wake::Alarm(alarms.wait(deadline, !closing).await) };
        match readable.or(chat).or(feed_tick).or(alarm).await {
            Wake::Readable(Err(e)) => {
                log::debug!("{peer}: {e}");
                break Ended::io(&e, "read failed");
            }
            Wake::Readable(Ok(())) => {
                read_again = false;
                // The thread's buffer is taken for the read (the recorder may make it wait)
                // and put back after: another task of this thread meanwhile reads into a
                // buffer of its own.
                let mut buf = READ_BUF.with(|buf| buf.take());
                if buf.len() < READ_PIECE {
                    buf = vec![0; READ_PIECE];
                }
                let read = wire.read(&mut buf).await;
                if let Ok(n) = read {
                    conn.handle_input(&buf[..n], clock());
                }
                READ_BUF.with(|cell| {
                    cell.replace(buf);
                });
                match read {
                    Ok(0) => eof = true,
                    Ok(n) => {
                        read_again = n == READ_PIECE;
                        last_input = Instant::now();
                        pinged = false;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => {
                        log::debug!("{peer}: {e}");
                        break Ended::io(&e, "read failed");
                    }
                }
            }
            Wake::Feed => {
                if let Some(mut polled) = feed.take() {
                    // Directory listing, file reads and dissection: off the executor.
                    let (polled, messages) = smol::unblock(move || {
                        let messages = polled.poll();
                        (polled, messages)
                    })
                    .await;
                    feed = Some(polled);
                    for message in messages {
                        let _ = conn.send(Message::Text(message));
                    }
                }
                feed_at = Instant::now() + FEED_INTERVAL;
            }
            Wake::Chat(Ok(text)) => {
                let _ = conn.send(Message::Text(text.to_string()));
            }
            Wake::Chat(Err(_)) => {
                log::info!("{peer}: chat queue overflowed, closing with 1008");
                initiated.get_or_insert(Ended::new(EndBy::Server, "chat queue overflowed"));
                let _ = conn.close(
                    CloseCode::POLICY,
                    "too slow: chat queue overflowed",
                    clock(),
                );
            }
            Wake::Alarm(Alarm::Deadline) => {
                conn.handle_timeout(clock());
                let silent = last_input.elapsed();
                if conn.state() == State::Open {
                    if silent >= config.ws_idle_timeout {
                        let _ = conn.close(CloseCode::GOING_AWAY, "idle timeout", clock());
                        initiated.get_or_insert(Ended::new(EndBy::Timeout, "idle timeout"));
                    } else if silent >= config.ws_ping_interval && !pinged {
                        let _ = conn.send_ping(b"wiretap");
                        pinged = true;
                    }
                }
            }
            Wake::Alarm(Alarm::Shutdown) => {
                let _ = conn.close(CloseCode::GOING_AWAY, "server shutting down", clock());
                initiated.get_or_insert(Ended::new(EndBy::Shutdown, "server shutdown"));
            }
        }
    };
    drop(membership);
    // RFC 6455 §7.1.1: the server closes the TCP connection first. Half-close, then give the
    // client a moment to see our Close before the socket goes.
    wire.shutdown_write();
    let until = Instant::now() + Duration::from_secs(1);
    async {
        let _ = wire.readable().await;
    }
    .or(async {
        alarms.wait(Some(until), false).await;
    })
    .await;
    end
}
