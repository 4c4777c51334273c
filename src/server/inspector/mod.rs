//! The inspector's server side: a JSON API over the capture folder and a WebSocket feed of
//! live changes, for the page in `www/inspector/`. Everything it says about the bytes comes
//! from [`dissect`](crate::dissect); the page only draws.
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/captures[?limit=N]` | `{"dir":…,"captures":[SUMMARY…]}`, newest first, at most 500 |
//! | `GET /api/captures/ID` | `{"capture":SUMMARY,"events":[EVENT…]}` (the transcript) |
//! | `GET /api/captures/ID/events/N` | event N with `start`, `end`, `hex` (≤ 64 KiB) and `fields` |
//! | `GET /api/captures/ID/raw` | the capture file, as a download |
//! | `GET /api/live` (WebSocket) | the [`feed`] |
//!
//! Errors are `{"error":"…"}` with 403 (not allowed), 404, 405 or 413.
//!
//! Two rules keep it safe and honest:
//!
//! - **Access.** Captures hold what other people sent (cookies, tokens, chat). By default
//!   ([`Access::Loopback`]) only loopback clients get answers; `wiretap serve` on another
//!   address switches to [`Access::Token`]: every API request and the feed need the token
//!   it prints (`?token=` or `Authorization: Bearer`); `--no-inspector` is
//!   [`Access::Off`]. The page's static files are not secret and are served to anyone.
//! - **No feedback loop.** A connection whose first request is for `/inspector/…` or
//!   `/api/…` is not recorded: its capture is discarded at that request, so looking at the
//!   list never adds to it. A recorded connection that asks for one of those later (a
//!   browser reusing the keep-alive connection of the demo page) is closed without an
//!   answer; browsers and curl retry such a request on a fresh connection, which then
//!   goes unrecorded. Its capture ends with that request head, which was recorded when it
//!   was read.

mod catalog;
pub(crate) mod feed;

use std::fs::File;
use std::io;
use std::net::IpAddr;

use serde::Serialize;
use serde_json::json;

use crate::dissect::Event;

use catalog::Summary;
pub(crate) use catalog::{ApiError, Catalog};
pub(crate) use feed::Feed;

/// Who may use the inspector's API and live feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// No inspector: `/api/…` answers 404.
    Off,
    /// Loopback clients only. The default, and what `wiretap serve` uses on a loopback
    /// address.
    Loopback,
    /// Any client that presents this token, loopback ones included: what `wiretap serve`
    /// uses on any other address (with a random token it prints).
    Token(String),
}

/// A fresh random token: 128 bits from the kernel, as 32 hex digits.
pub fn new_token() -> io::Result<String> {
    use std::io::Read as _;
    let mut bytes = [0u8; 16];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// Whether `path` belongs to the inspector (its page or its API): such connections are
/// not recorded.
pub(super) fn is_inspector_path(path: &str) -> bool {
    path == "/inspector"
        || path.starts_with("/inspector/")
        || path == "/api"
        || path.starts_with("/api/")
}

/// Whether `path` is the API's (answered by [`route`], not by the static files).
pub(super) fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// What an API request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route {
    List { limit: usize },
    Capture(String),
    Event(String, usize),
    Raw(String),
    Live,
    NotFound,
}

/// The route of an API path (`path` without the query; `query` for the list's limit).
pub(super) fn route(path: &str, query: Option<&str>) -> Route {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api", "captures"] | ["api", "captures", ""] => {
            let limit = query_param(query, "limit")
                .and_then(|v| v.parse().ok())
                .unwrap_or(catalog::LIST_MAX)
                .min(catalog::LIST_MAX);
            Route::List { limit }
        }
        ["api", "captures", id] => Route::Capture((*id).to_owned()),
        ["api", "captures", id, "raw"] => Route::Raw((*id).to_owned()),
        ["api", "captures", id, "events", n] => match n.parse() {
            Ok(n) => Route::Event((*id).to_owned(), n),
            Err(_) => Route::NotFound,
        },
        ["api", "live"] => Route::Live,
        _ => Route::NotFound,
    }
}

/// Whether a client at `peer` that sent `query` and `authorization` may use the API.
pub(super) fn authorize(
    access: &Access,
    peer: IpAddr,
    query: Option<&str>,
    authorization: Option<&[u8]>,
) -> Result<(), ApiError> {
    match access {
        Access::Off => Err(ApiError::new(404, "the inspector is off (--no-inspector)")),
        Access::Loopback if is_loopback(peer) => Ok(()),
        Access::Loopback => Err(ApiError::new(
            403,
            "the inspector answers loopback clients only",
        )),
        Access::Token(token) => {
            let bearer = authorization
                .and_then(|v| v.strip_prefix(b"Bearer "))
                .map(<[u8]>::trim_ascii);
            let given = query_param(query, "token").map(str::as_bytes).or(bearer);
            match given {
                Some(given) if same_secret(given, token.as_bytes()) => Ok(()),
                Some(_) => Err(ApiError::new(403, "wrong inspector token")),
                None => Err(ApiError::new(
                    403,
                    "the inspector needs the token the server printed at start \
                     (?token=… or Authorization: Bearer …)",
                )),
            }
        }
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        // `::ffff:127.0.0.1` on a dual-stack socket is loopback too.
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Compares without an early exit, so the time taken does not say how much of a guess
/// was right.
fn same_secret(given: &[u8], secret: &[u8]) -> bool {
    if given.len() != secret.len() {
        return false;
    }
    given
        .iter()
        .zip(secret)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// The value of `name` in a query string (`a=1&b=2`), undecoded: the API's parameters are
/// numbers and hex tokens.
fn query_param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// An API answer, ready for the connection to write.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) content_type: &'static str,
    pub(super) body: Body,
    /// `Content-Disposition`, for downloads.
    pub(super) disposition: Option<String>,
}

/// An answer's body: in memory, or a file streamed from disk (a finalized capture can be
/// large; it is sent piece by piece like any static file).
#[derive(Debug)]
pub(super) enum Body {
    Bytes(Vec<u8>),
    File { file: File, len: u64 },
}

impl Answer {
    /// `value` as JSON; field order is the types' own (the dissector's for events).
    fn json(status: u16, value: &impl Serialize) -> Self {
        let mut body = serde_json::to_vec(value).unwrap_or_default();
        body.push(b'\n');
        Self {
            status,
            content_type: "application/json",
            body: Body::Bytes(body),
            disposition: None,
        }
    }

    pub(super) fn error(error: &ApiError) -> Self {
        Self::json(error.status, &json!({"error": error.message}))
    }
}

/// Answers an API request (any route but [`Route::Live`]). Blocking: reads and dissects
/// files; run it off the executor.
pub(super) fn answer(catalog: &Catalog, route: &Route) -> Answer {
    match answer_result(catalog, route) {
        Ok(answer) => answer,
        Err(error) => Answer::error(&error),
    }
}

fn answer_result(catalog: &Catalog, route: &Route) -> Result<Answer, ApiError> {
    match route {
        Route::List { limit } => {
            let captures = catalog.list(*limit)?;
            let dir = catalog.dir().map(|d| d.display().to_string());
            let captures: Vec<&Summary> = captures.iter().map(|s| &**s).collect();
            Ok(Answer::json(200, &ListAnswer { dir, captures }))
        }
        Route::Capture(id) => {
            let view = catalog.view_of(id)?;
            Ok(Answer::json(
                200,
                &CaptureAnswer {
                    capture: &view.summary,
                    events: &view.transcript.events,
                },
            ))
        }
        Route::Event(id, n) => Ok(Answer::json(200, &catalog.view_of(id)?.event_detail(*n)?)),
        Route::Raw(id) => {
            let entry = catalog.entry(id)?;
            let disposition = Some(format!("attachment; filename=\"{id}.json\""));
            let body = if entry.live {
                // What finalizing it now would give: one valid document.
                let view = catalog.view(&entry)?;
                let mut out = Vec::new();
                view.capture
                    .write_to(&mut out)
                    .map_err(|e| ApiError::new(500, e.to_string()))?;
                Body::Bytes(out)
            } else {
                let file = File::open(&entry.path)
                    .map_err(|e| ApiError::new(404, format!("{id}: {e}")))?;
                let len = file
                    .metadata()
                    .map_err(|e| ApiError::new(500, e.to_string()))?
                    .len();
                Body::File { file, len }
            };
            Ok(Answer {
                status: 200,
                content_type: "application/json",
                body,
                disposition,
            })
        }
        Route::NotFound => Err(ApiError::new(404, "no such API path")),
        Route::Live => Err(ApiError::new(400, "/api/live is a WebSocket")),
    }
}

/// `GET /api/captures`.
#[derive(Serialize)]
struct ListAnswer<'a> {
    dir: Option<String>,
    captures: Vec<&'a Summary>,
}

/// `GET /api/captures/ID`.
#[derive(Serialize)]
struct CaptureAnswer<'a> {
    capture: &'a Summary,
    events: &'a [Event],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/api/captures", None), Route::List { limit: 500 });
        assert_eq!(
            route("/api/captures", Some("limit=3&x=1")),
            Route::List { limit: 3 }
        );
        assert_eq!(
            route("/api/captures", Some("limit=100000")),
            Route::List { limit: 500 }
        );
        assert_eq!(route("/api/captures/A", None), Route::Capture("A".into()));
        assert_eq!(route("/api/captures/A/raw", None), Route::Raw("A".into()));
        assert_eq!(
            route("/api/captures/A/events/7", None),
            Route::Event("A".into(), 7)
        );
        assert_eq!(route("/api/captures/A/events/x", None), Route::NotFound);
        assert_eq!(route("/api/live", None), Route::Live);
        assert_eq!(route("/api", None), Route::NotFound);
        assert_eq!(route("/api/captures/A/b/c/d", None), Route::NotFound);
    }

    #[test]
    fn inspector_paths() {
        for path in [
            "/inspector",
            "/inspector/",
            "/inspector/x.js",
            "/api",
            "/api/live",
        ] {
            assert!(is_inspector_path(path), "{path}");
        }
        for path in [
            "/",
            "/inspectors",
            "/apis",
            "/echo",
            "/index.html",
            "/x/api/",
        ] {
            assert!(!is_inspector_path(path), "{path}");
        }
    }

    #[test]
    fn loopback_rule() {
        let access = Access::Loopback;
        for ok in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(authorize(&access, ok.parse().unwrap(), None, None), Ok(()));
        }
        for refused in ["10.0.0.1", "192.168.1.2", "::ffff:10.0.0.1", "2001:db8::1"] {
            let e = authorize(&access, refused.parse().unwrap(), None, None).unwrap_err();
            assert_eq!(e.status, 403, "{refused}");
        }
        // A token changes nothing for a remote client in loopback mode.
        let e = authorize(&access, "10.0.0.1".parse().unwrap(), Some("token=x"), None);
        assert_eq!(e.unwrap_err().status, 403);
    }

    #[test]
    fn token_rule() {
        let access = Access::Token("c0ffee".into());
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let remote: IpAddr = "10.1.2.3".parse().unwrap();
        for peer in [local, remote] {
            assert_eq!(authorize(&access, peer, Some("token=c0ffee"), None), Ok(()));
            assert_eq!(
                authorize(&access, peer, Some("a=1&token=c0ffee"), None),
                Ok(())
            );
            assert_eq!(
                authorize(&access, peer, None, Some(b"Bearer c0ffee")),
                Ok(())
            );
            for (query, auth) in [
                (None, None),
                (Some("token=c0ffef"), None),
                (Some("token="), None),
                (Some("token=c0ffee0"), None),
                (Some("xtoken=c0ffee"), None),
                (None, Some(&b"Bearer nope"[..])),
                (None, Some(&b"c0ffee"[..])),
            ] {
                let e = authorize(&access, peer, query, auth).unwrap_err();
                assert_eq!(e.status, 403, "{query:?} {auth:?}");
            }
        }
        let off = authorize(&Access::Off, local, None, None).unwrap_err();
        assert_eq!(off.status, 404);
    }

    #[test]
    fn tokens_are_random_hex() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
