//! The live feed behind `/api/live`: what changed in the capture folder since the last
//! look, and the new events of the capture the page watches, as JSON messages.
//!
//! It polls (the session calls [`Feed::poll`] a few times a second, through
//! `smol::unblock`): the folder is the truth, whoever writes it, and a poll costs a
//! directory listing plus the summaries of the captures that changed (cached per file
//! version in the [`Catalog`]). Messages:
//!
//! - `{"type":"captures","captures":[SUMMARY...]}`: the first poll, the whole list;
//! - `{"type":"capture","capture":SUMMARY}`: a capture appeared or changed;
//! - `{"type":"removed","id":ID}`: a capture left the folder;
//! - `{"type":"events","id":ID,"from":K,"events":[...]}`: for the watched capture, keep
//!   your first K events and append these. The events of a live capture are re-dissected
//!   as it grows; K is where the new transcript first differs from what was sent (usually
//!   the old length: only new events travel);
//! - `{"type":"error","error":TEXT}`: a command the feed could not follow.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash as _, Hasher as _};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use super::catalog::{Catalog, Entry, Summary, LIST_MAX};
use crate::dissect::Event;

/// A message to the page; `type` first, then the fields, in this order.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Message<'a> {
    Captures {
        captures: Vec<&'a Summary>,
    },
    Capture {
        capture: &'a Summary,
    },
    Removed {
        id: &'a str,
    },
    Events {
        id: &'a str,
        from: usize,
        events: &'a [Event],
    },
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        error: &'a str,
    },
}

impl Message<'_> {
    fn text(&self) -> String {
        // Our own plain types: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
/// One page's feed.
#[derive(Debug)]
pub(crate) struct Feed {
    catalog: Arc<Catalog>,
    /// The summaries the page has, by id; `None` before the first poll.
    known: Option<HashMap<String, Arc<Summary>>>,
    watch: Option<Watch>,
}

/// The capture the page follows, and what it was sent of it.
#[derive(Debug)]
struct Watch {
    id: String,
    /// The file version the events were made from: unchanged, nothing to do.
    entry: Option<Entry>,
    /// A hash of each event sent: enough to find where a new transcript differs.
    sent: Vec<u64>,
    /// Nothing sent yet: the first answer goes out even when it is empty.
    fresh: bool,
    /// Not before: a large live capture is dissected again at most a quarter of the time
    /// (after a dissection that took 100 ms, the next is 400 ms later at the soonest).
    next_at: Instant,
}

impl Feed {
    pub(crate) fn new(catalog: Arc<Catalog>) -> Self {
        Self {
            catalog,
            known: None,
            watch: None,
        }
    }

    /// Follows capture `id` from now on (`None`: none).
    pub(crate) fn watch(&mut self, id: Option<String>) {
        self.watch = id.map(|id| Watch {
            id,
            entry: None,
            sent: Vec::new(),
            fresh: true,
            next_at: Instant::now(),
        });
    }

    /// Handles a text message from the page: `{"watch":"ID"}` or `{"watch":null}`.
    /// Returns an error message to send back when it is not one of those.
    pub(crate) fn command(&mut self, text: &str) -> Option<String> {
        let parsed: Result<Value, _> = serde_json::from_str(text);
        match parsed.as_ref().ok().and_then(|v| v.get("watch")) {
            Some(Value::String(id)) => self.watch(Some(id.clone())),
            Some(Value::Null) => self.watch(None),
            _ => {
                let error = format!("unknown command (expected {{\"watch\":ID}}): {text:.80}");
                return Some(
                    Message::Error {
                        id: None,
                        error: &error,
                    }
                    .text(),
                );
            }
        }
        None
    }

    /// What changed since the last poll, as messages to send, in order.
    pub(crate) fn poll(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let listed = match self.catalog.list(LIST_MAX) {
            Ok(listed) => listed,
            Err(e) => {
                let error = Message::Error {
                    id: None,
                    error: &e.message,
                };
                out.push(error.text());
                return out;
            }
        };
        let now: HashMap<String, Arc<Summary>> =
            listed.iter().map(|s| (s.id.clone(), s.clone())).collect();
        match &self.known {
            None => {
                let captures = listed.iter().map(|s| &**s).collect();
                out.push(Message::Captures { captures }.text());
            }
            Some(known) => {
                // Oldest first, so a page that prepends shows the newest on top.
                for summary in listed.iter().rev() {
                    if known.get(&summary.id) != Some(summary) {
                        out.push(Message::Capture { capture: summary }.text());
                    }
                }
                let mut removed: Vec<&String> =
                    known.keys().filter(|id| !now.contains_key(*id)).collect();
                removed.sort();
                for id in removed {
                    out.push(Message::Removed { id }.text());
                }
            }
        }
        self.known = Some(now);
        if let Some(message) = self.poll_watch() {
            out.push(message);
        }
        out
    }

    fn poll_watch(&mut self) -> Option<String> {
        let watch = self.watch.as_mut()?;
        let entry = match self.catalog.entry(&watch.id) {
            Ok(entry) => entry,
            Err(e) => {
                let error = Message::Error {
                    id: Some(&watch.id),
                    error: &e.message,
                }
                .text();
                self.watch = None;
                return Some(error);
            }
        };
        if watch.entry.as_ref() == Some(&entry) || Instant::now() < watch.next_at {
            return None;
        }
        let started = Instant::now();
        // An error: finalized between the listing and the read; the next poll sees the
        // new file.
        let Ok(view) = self.catalog.view(&entry) else {
            return None;
        };
        watch.entry = Some(entry);
        watch.next_at = Instant::now() + 3 * started.elapsed();
        let events = &view.transcript.events;
        let hashes: Vec<u64> = events.iter().map(hash).collect();
        let from = watch
            .sent
            .iter()
            .zip(&hashes)
            .take_while(|(a, b)| a == b)
            .count();
        if !watch.fresh && from == watch.sent.len() && from == hashes.len() {
            return None;
        }
        watch.fresh = false;
        watch.sent = hashes;
        let message = Message::Events {
            id: &watch.id,
            from,
            events: &events[from..],
        };
        Some(message.text())
    }
}

fn hash(event: &Event) -> u64 {
    let mut hasher = DefaultHasher::new();
    serde_json::to_string(event)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}
