//! Per-connection wake-ups that outlive a single wait: the one timer behind every timeout
//! of a connection, and its view of the shutdown signal.
//!
//! Why not `Timer::after` and `recv()` at each wait: async-io registers every new timer
//! with its reactor (a queue operation, and a wake-up of the thread blocked in
//! `epoll_wait` to reprogram its timerfd), and every new `recv` on the shutdown channel
//! adds a listener to a list that all connections share. Done once per read, that cost a
//! keep-alive request or a WebSocket echo about a third of its system calls
//! (`strace -c`: `timerfd_settime`, eventfd `write`/`read` and `epoll_ctl` per message).
//!
//! Here each connection keeps one timer. A wait asks for a deadline; the timer is moved
//! only when that deadline is earlier than the one it is set for. A timer set too early
//! fires, is found early, and is set again: a keep-alive connection that sends a request
//! every millisecond touches the reactor's timers once per timeout period, not once per
//! request.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use smol::Timer;

use super::Shared;

/// What ended a [`Alarms::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Alarm {
    /// The deadline passed.
    Deadline,
    /// The server is shutting down.
    Shutdown,
}

/// A connection's timer and shutdown listener; see the module doc.
pub(super) struct Alarms<'a> {
    timer: Timer,
    /// When `timer` fires, if it is set (it may have fired unobserved: then this is past).
    armed: Option<Instant>,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
    /// The shutdown signal has been seen (its future is not polled again).
    shut: bool,
}

impl<'a> Alarms<'a> {
    /// Alarms for one connection of the server that `shared` describes.
    pub(super) fn new(shared: &'a Shared) -> Self {
        Self {
            timer: Timer::never(),
            armed: None,
            shutdown: Box::pin(shared.shutdown_signal()),
            shut: false,
        }
    }

    /// Waits until `deadline` passes (never, when `None`) or, when `shutdown` is true, until
    /// the server begins shutting down (at once if it already has). Meant to be raced
    /// against the socket's readiness; dropping it early leaves everything reusable.
    pub(super) async fn wait(&mut self, deadline: Option<Instant>, shutdown: bool) -> Alarm {
        if !self.timer.will_fire() {
            // It fired and that was seen: nothing is set any more.
            self.armed = None;
        }
        if let Some(deadline) = deadline {
            if self.armed.is_none_or(|armed| armed > deadline) {
                self.timer.set_at(deadline);
                self.armed = Some(deadline);
            }
        }
        poll_fn(|cx| {
            if shutdown && (self.shut || self.shutdown.as_mut().poll(cx).is_ready()) {
                self.shut = true;
                return Poll::Ready(Alarm::Shutdown);
            }
            let Some(deadline) = deadline else {
                return Poll::Pending;
            };
            loop {
                if Instant::now() >= deadline {
                    return Poll::Ready(Alarm::Deadline);
                }
                match Pin::new(&mut self.timer).poll(cx) {
                    // Set for an earlier deadline than this one: set it again for ours.
                    Poll::Ready(_) => {
                        self.timer.set_at(deadline);
                        self.armed = Some(deadline);
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
        })
        .await
    }
}
