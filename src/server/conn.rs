//! One TCP connection: HTTP/1.1 requests in order (keep-alive and pipelining), static files
//! from `www/`, and the hand-over to a WebSocket endpoint after a valid upgrade.
//!
//! Not for: parsing (the sans-IO [`http`](crate::http) room does that) or deciding which
//! file answers (that is [`files`](super::files)). This module only moves bytes and time.

use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use smol::future::FutureExt as _;
use smol::net::TcpStream;

use super::alarm::{Alarm, Alarms};
use super::files::{self, Plan};
use super::inspector;
use super::websocket::{self, Endpoint};
use super::wire::{Ended, Wire};
use super::{Access, Shared};
use crate::capture::EndBy;
use crate::http::{
    encode_response_head, reason_phrase, BodyDecoder, BodyKind, RequestHead, RequestParser, Status,
    TargetForm, Version,
};
use crate::ws;

/// Files are sent in pieces of this size: a client that reads slowly holds one piece of
/// memory, never the whole file.
const FILE_PIECE: usize = 64 * 1024;

/// The interim response that invites a client to send the body it holds back
/// (RFC 9110 §15.2.1).
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// What a read brought.
pub(super) enum Read {
    /// Bytes were appended.
    Data,
    /// The peer closed its side.
    Eof,
    /// Nothing arrived in time.
    Timeout,
    /// The server is shutting down.
    Shutdown,
}

/// Serves one accepted connection until it closes.
pub(super) async fn serve(stream: TcpStream, peer: SocketAddr, shared: &Arc<Shared>) {
    // Small responses and WebSocket frames must not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(shared.config.addr);
    let wire = Wire::new(stream.into(), shared.open_capture(peer, local));
    log::debug!("{peer}: connected");
    let mut alarms = Alarms::new(shared);
    // The request loop's state (parser, head, buffers, the futures of a response) is boxed
    // and freed once it returns: an upgraded connection then holds only its WebSocket
    // session, which is what an idle WebSocket costs (the task is allocated at the size of
    // its largest state, and the HTTP one is several times the session's).
    let end = match Box::pin(requests(&wire, peer, &mut alarms, shared)).await {
        Ok(Outcome::Closed(end)) => end,
        Ok(Outcome::Upgraded { leftover, endpoint }) => {
            websocket::run(&wire, peer, leftover, endpoint, alarms, shared).await
        }
        Err(e) => {
            log::debug!("{peer}: {e}");
            Ended::io(&e, "i/o error")
        }
    };
    log::debug!("{peer}: closed by {:?} ({})", end.by, end.why);
    wire.finish(end);
}

/// Answers a connection over the limit with 503 and closes it.
pub(super) async fn refuse_busy(stream: TcpStream, peer: SocketAddr, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(shared.config.addr);
    let wire = Wire::new(stream.into(), shared.open_capture(peer, local));
    // A short write timeout: an overloaded server does not wait on a slow reader.
    let extra: [(&str, &[u8]); 1] = [("Retry-After", b"1")];
    let timeout = Duration::from_secs(1);
    let mut alarms = Alarms::new(shared);
    answer_and_close(
        &wire,
        503,
        "too many connections",
        &extra,
        timeout,
        &mut alarms,
    )
    .await;
    wire.finish(Ended::new(EndBy::Server, "503: too many connections"));
}

/// How the request loop ended.
enum Outcome {
    /// The connection is done.
    Closed(Ended),
    /// A valid upgrade was answered with 101: run the endpoint, starting with `leftover`
    /// (bytes that followed the handshake in the same read).
    Upgraded {
        leftover: Vec<u8>,
        endpoint: Endpoint,
    },
}

/// The request loop.
async fn requests(
    wire: &Wire,
    peer: SocketAddr,
    alarms: &mut Alarms<'_>,
    shared: &Arc<Shared>,
) -> io::Result<Outcome> {
    let config = &shared.config;
    let mut parser = RequestParser::with_limits(config.http.clone());
    // One head for the connection, refilled by `parse_into` for each request so that a
    // keep-alive connection stops allocating once its buffers fit.
    let mut head = RequestHead::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut first = true;
    loop {
        // The head: the keep-alive (or first-byte) wait, then `header_timeout` from the first
        // byte to the last, whatever the client's pace (slowloris).
        let idle = if first {
            config.header_timeout
        } else {
            config.keep_alive_timeout
        };
        let idle_deadline = Instant::now() + idle;
        let mut deadline: Option<Instant> = None;
        loop {
            if !buf.is_empty() {
                match parser.parse_into(&buf, &mut head) {
                    Ok(Status::Complete { consumed, .. }) => {
                        buf.drain(..consumed);
                        break;
                    }
                    Ok(Status::Partial) => {}
                    Err(e) => {
                        log::info!("{peer}: {} ({}) -> {}", e, e.rule(), e.status());
                        respond_error(wire, e.status(), &e.to_string(), alarms, shared).await;
                        return Ok(Outcome::Closed(Ended::new(EndBy::Server, "bad request")));
                    }
                }
                deadline.get_or_insert_with(|| Instant::now() + config.header_timeout);
            }
            let until = deadline.unwrap_or(idle_deadline);
            match read_more(wire, &mut buf, until, alarms, deadline.is_none()).await? {
                Read::Data => {}
                Read::Eof if buf.is_empty() => {
                    return Ok(Outcome::Closed(Ended::new(
                        EndBy::Client,
                        "closed by client",
                    )))
                }
                Read::Eof => {
                    return Ok(Outcome::Closed(Ended::new(
                        EndBy::Client,
                        "client closed inside a request head",
                    )))
                }
                Read::Timeout if deadline.is_some() => {
                    let why = "request head not received in time";
                    respond_error(wire, 408, why, alarms, shared).await;
                    return Ok(Outcome::Closed(Ended::new(
                        EndBy::Timeout,
                        "header timeout",
                    )));
                }
                Read::Timeout => {
                    return Ok(Outcome::Closed(Ended::new(EndBy::Timeout, "idle timeout")))
                }
                Read::Shutdown => {
                    return Ok(Outcome::Closed(Ended::new(
                        EndBy::Shutdown,
                        "server shutdown",
                    )))
                }
            }
        }
        let first_request = std::mem::replace(&mut first, false);

        let target = origin_target(&head);
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target.as_str(), None),
        };
        // The inspector's own traffic is not recorded (see `inspector`).
        let api = inspector::is_api_path(path);
        if inspector::is_inspector_path(path) && shared.config.inspector != Access::Off {
            if first_request {
                wire.discard_capture();
            } else if wire.is_recording() {
                log::debug!("{peer}: {path} on a recorded connection: closed unanswered");
                return Ok(Outcome::Closed(Ended::new(
                    EndBy::Server,
                    "inspector request on a recorded connection (closed unanswered)",
                )));
            }
        }
        if api {
            let authorized = inspector::authorize(
                &shared.config.inspector,
                peer.ip(),
                query,
                head.field("authorization"),
            );
            let route = inspector::route(path, query);
            if let (Ok(()), inspector::Route::Live) = (&authorized, &route) {
                return upgrade(wire, peer, head, buf, Endpoint::Live, alarms, shared).await;
            }
            let answer = match authorized {
                Err(error) => {
                    log::info!("{peer}: {path}: {} {}", error.status, error.message);
                    inspector::Answer::error(&error)
                }
                Ok(()) if !matches!(head.method(), "GET" | "HEAD") => inspector::Answer::error(
                    &inspector::ApiError::new(405, "the inspector API is read-only: GET or HEAD"),
                ),
                Ok(()) => {
                    let catalog = shared.catalog.clone();
                    smol::unblock(move || inspector::answer(&catalog, &route)).await
                }
            };
            if head.body() != BodyKind::None {
                if let Some(ended) = discard_body(wire, &head, &mut buf, alarms, shared).await? {
                    return Ok(Outcome::Closed(ended));
                }
            }
            let shutting_down = shared.shutting_down();
            let keep_alive = head.keep_alive() && !shutting_down;
            respond_api(wire, &head, answer, keep_alive, shared).await?;
            if !keep_alive {
                linger(wire, alarms, shared.config.write_timeout).await;
                return Ok(Outcome::Closed(closed_after_answer(shutting_down)));
            }
            continue;
        }
        if let Some(endpoint) = Endpoint::at(path) {
            return upgrade(wire, peer, head, buf, endpoint, alarms, shared).await;
        }

        // A body (allowed on any method) is read and dropped so the next request parses.
        if head.body() != BodyKind::None {
            // RFC 9110 §10.1.1: a server that receives `Expect: 100-continue` "MUST either
            // send an immediate response with a final status code ... or send an immediate
            // 100 (Continue) response"; the client may hold the body back until then. It
            // "MAY omit" the 100 once some of the content has arrived.
            if head.version() == Version::Http11
                && head.has_token("expect", "100-continue")
                && buf.is_empty()
            {
                wire.write_all(CONTINUE, config.write_timeout).await?;
            }
            if let Some(ended) = discard_body(wire, &head, &mut buf, alarms, shared).await? {
                return Ok(Outcome::Closed(ended));
            }
        }

        // Who ends the connection is decided here, with the answer's `Connection` field: a
        // shutdown that starts while the answer is sent or the connection lingers does not
        // change it.
        let shutting_down = shared.shutting_down();
        let keep_alive = head.keep_alive() && !shutting_down;
        let mut request = files::Request::new(head.method(), target.as_bytes());
        request.if_match = head.field("if-match");
        request.if_none_match = head.field("if-none-match");
        request.if_modified_since = head.field("if-modified-since");
        request.if_unmodified_since = head.field("if-unmodified-since");
        request.range = head.field("range");
        request.if_range = head.field("if-range");
        let plan = files::plan(&shared.root, &request, SystemTime::now());
        log::debug!("{peer}: {} {} -> {}", head.method(), target, plan.status());
        respond(wire, &head, &plan, keep_alive, shared).await?;
        if !keep_alive {
            linger(wire, alarms, shared.config.write_timeout).await;
            return Ok(Outcome::Closed(closed_after_answer(shutting_down)));
        }
        // Between requests an idle connection keeps no buffer.
        if buf.is_empty() {
            buf = Vec::new();
        }
    }
}

/// How a connection ends when the server closes it after an answer: a shutdown, or the
/// answer's `Connection: close`.
fn closed_after_answer(shutting_down: bool) -> Ended {
    if shutting_down {
        Ended::new(EndBy::Shutdown, "server shutdown")
    } else {
        Ended::new(EndBy::Server, "closed by server (Connection: close)")
    }
}

/// The request-target as origin-form: absolute-form (`http://host/p?q`, which RFC 9112
/// §3.2.2 says a server MUST accept) is reduced to its path and query.
///
/// RFC 9110 §4.2.3: in an http(s) URI "an empty path component is equivalent to an
/// absolute path of "/"", so `http://host` and `http://host?q` name `/`.
fn origin_target(head: &RequestHead) -> String {
    let target = head.target();
    match target.form() {
        TargetForm::Absolute => {
            let path = match target.path() {
                "" => "/",
                path => path,
            };
            match target.query() {
                Some(query) => format!("{path}?{query}"),
                None => path.to_owned(),
            }
        }
        _ => target.as_str().to_owned(),
    }
}

/// Validates the WebSocket handshake; on success answers 101 and runs the endpoint.
async fn upgrade(
    wire: &Wire,
    peer: SocketAddr,
    head: RequestHead,
    leftover: Vec<u8>,
    endpoint: Endpoint,
    alarms: &mut Alarms<'_>,
    shared: &Arc<Shared>,
) -> io::Result<Outcome> {
    let fields = head.fields().map(|(name, value)| (name.as_bytes(), value));
    let handshake = ws::validate_request(head.method(), head.version() == Version::Http11, fields);
    let mut out = Vec::new();
    match handshake {
        Ok(handshake) => {
            handshake.encode_response(&mut out, None);
            wire.write_all(&out, shared.config.write_timeout).await?;
            log::info!("{peer}: websocket {}", endpoint.path());
            Ok(Outcome::Upgraded { leftover, endpoint })
        }
        Err(e) => {
            log::info!(
                "{peer}: handshake refused: {e} ({}) -> {}",
                e.rule(),
                e.status()
            );
            let date = files::http_date(SystemTime::now());
            let extra: [(&str, &[u8]); 2] = [("Date", date.as_bytes()), ("Server", b"wiretap")];
            e.encode_response_with(&mut out, &extra);
            wire.write_all(&out, shared.config.write_timeout).await?;
            linger(wire, alarms, shared.config.write_timeout).await;
            Ok(Outcome::Closed(Ended::new(
                EndBy::Server,
                "websocket handshake refused",
            )))
        }
    }
}

/// Reads and drops a request body. Returns how the connection ended when the body did not
/// arrive whole.
async fn discard_body(
    wire: &Wire,
    head: &RequestHead,
    buf: &mut Vec<u8>,
    alarms: &mut Alarms<'_>,
    shared: &Arc<Shared>,
) -> io::Result<Option<Ended>> {
    let mut decoder = BodyDecoder::with_limits(head.body(), &shared.config.http);
    loop {
        match decoder.decode(buf) {
            Ok(progress) => {
                buf.drain(..progress.consumed);
                if progress.done {
                    return Ok(None);
                }
                // The decoder returns after each stretch of payload: what is left may hold
                // more chunks, so only wait for the socket once it makes no progress.
                if progress.consumed > 0 && !buf.is_empty() {
                    continue;
                }
            }
            Err(e) => {
                respond_error(wire, e.status(), &e.to_string(), alarms, shared).await;
                return Ok(Some(Ended::new(EndBy::Server, "bad request body")));
            }
        }
        // Keep what is buffered small: the body is dropped as it arrives.
        let until = Instant::now() + shared.config.header_timeout;
        match read_more(wire, buf, until, alarms, false).await? {
            Read::Data => {}
            Read::Timeout => {
                let why = "request body not received in time";
                respond_error(wire, 408, why, alarms, shared).await;
                return Ok(Some(Ended::new(EndBy::Timeout, why)));
            }
            Read::Eof => {
                return Ok(Some(Ended::new(
                    EndBy::Client,
                    "client closed inside a body",
                )))
            }
            Read::Shutdown => return Ok(Some(Ended::new(EndBy::Shutdown, "server shutdown"))),
        }
    }
}

/// Writes the head that `plan` describes and, for 200/206, the file's bytes.
async fn respond(
    wire: &Wire,
    head: &RequestHead,
    plan: &Plan,
    keep_alive: bool,
    shared: &Shared,
) -> io::Result<()> {
    let mut fields: Vec<(&str, &[u8])> = plan
        .headers()
        .iter()
        .map(|(name, value)| (*name, value.as_bytes()))
        .collect();
    fields.push(("Server", b"wiretap"));
    fields.extend(connection_field(head, keep_alive));
    // Error pages carry a short text body; 304 and HEAD carry none (RFC 9110 §9.3.2, §15.4.5).
    let error_body = match plan {
        Plan::Refuse { refusal, .. } => {
            let status = plan.status();
            format!("{status} {}: {refusal}\n", reason_phrase(status))
        }
        _ => String::new(),
    };
    let error_len = error_body.len().to_string();
    if matches!(plan, Plan::Refuse { .. } | Plan::Redirect { .. }) {
        fields.push(("Content-Type", b"text/plain; charset=utf-8"));
        fields.push(("Content-Length", error_len.as_bytes()));
    }
    let mut out = Vec::with_capacity(512);
    encode_response_head(&mut out, plan.status(), &fields)
        .map_err(|e| io::Error::other(format!("response head: {e}")))?;
    let is_head = head.method() == "HEAD";
    let timeout = shared.config.write_timeout;
    match plan {
        Plan::Serve {
            path,
            file,
            range,
            body: true,
            ..
        } => {
            let reopened;
            let file = match file {
                Some(file) => file.file(),
                None => {
                    reopened = std::fs::File::open(path)?;
                    &reopened
                }
            };
            write_head_and_file(wire, out, file, range.clone(), timeout).await
        }
        _ => {
            if !is_head {
                out.extend_from_slice(error_body.as_bytes());
            }
            wire.write_all(&out, timeout).await
        }
    }
}

/// The `Connection` field an answer needs: `close` when the server closes after it,
/// `keep-alive` for an HTTP/1.0 client it keeps (1.0 closes by default), none otherwise.
fn connection_field(head: &RequestHead, keep_alive: bool) -> Option<(&'static str, &'static [u8])> {
    if !keep_alive {
        Some(("Connection", b"close"))
    } else if head.version() == Version::Http10 {
        Some(("Connection", b"keep-alive"))
    } else {
        None
    }
}

/// Writes an inspector API answer; its body streams from disk when it is a file.
async fn respond_api(
    wire: &Wire,
    head: &RequestHead,
    answer: inspector::Answer,
    keep_alive: bool,
    shared: &Shared,
) -> io::Result<()> {
    let date = files::http_date(SystemTime::now());
    let len = match &answer.body {
        inspector::Body::Bytes(bytes) => bytes.len() as u64,
        inspector::Body::File { len, .. } => *len,
    }
    .to_string();
    let mut fields: Vec<(&str, &[u8])> = vec![
        ("Date", date.as_bytes()),
        ("Server", b"wiretap"),
        ("Content-Type", answer.content_type.as_bytes()),
        ("Content-Length", len.as_bytes()),
        // Captures change while they are looked at, and hold other people's bytes.
        ("Cache-Control", b"no-store"),
        ("X-Content-Type-Options", b"nosniff"),
    ];
    if let Some(disposition) = &answer.disposition {
        fields.push(("Content-Disposition", disposition.as_bytes()));
    }
    if answer.status == 405 {
        fields.push(("Allow", b"GET, HEAD"));
    }
    fields.extend(connection_field(head, keep_alive));
    let mut out = Vec::with_capacity(512);
    encode_response_head(&mut out, answer.status, &fields)
        .map_err(|e| io::Error::other(format!("response head: {e}")))?;
    let timeout = shared.config.write_timeout;
    if head.method() == "HEAD" {
        return wire.write_all(&out, timeout).await;
    }
    match answer.body {
        inspector::Body::Bytes(body) => wire.write_all_vectored(&[out], &body, timeout).await,
        inspector::Body::File { file, len } => {
            write_head_and_file(wire, out, &file, 0..len, timeout).await
        }
    }
}

/// Writes `out` (a response head) and then bytes `range` of `file`, in [`FILE_PIECE`]s.
///
/// Files are read synchronously: from the page cache a 64 KiB read costs microseconds,
/// less than a hop to a blocking pool; a cold disk stalls one executor thread, a trade a
/// small static server accepts. Positioned reads: no seek, and a shared file handle stays
/// shareable. The head and the first piece go out in one write: one system call for a
/// small file.
async fn write_head_and_file(
    wire: &Wire,
    mut out: Vec<u8>,
    file: &std::fs::File,
    range: std::ops::Range<u64>,
    timeout: Duration,
) -> io::Result<()> {
    let mut at = range.start;
    let mut head = out.len();
    loop {
        let piece = FILE_PIECE.min(usize::try_from(range.end - at).unwrap_or(FILE_PIECE));
        out.resize(head + piece, 0);
        file.read_exact_at(&mut out[head..], at)?;
        at += piece as u64;
        wire.write_all(&out, timeout).await?;
        if at >= range.end {
            return Ok(());
        }
        head = 0;
    }
}

/// Answers a request that cannot be served (a parser error, a timeout) and ends the
/// connection: RFC 9112 §9.6, a server that cannot trust the framing any more closes.
async fn respond_error(
    wire: &Wire,
    status: u16,
    why: &str,
    alarms: &mut Alarms<'_>,
    shared: &Shared,
) {
    let timeout = shared.config.write_timeout;
    answer_and_close(wire, status, why, &[], timeout, alarms).await;
}

/// Writes `status` with a one-line text body saying `why` (plus `extra` fields), then
/// closes our side and lingers.
async fn answer_and_close(
    wire: &Wire,
    status: u16,
    why: &str,
    extra: &[(&str, &[u8])],
    timeout: Duration,
    alarms: &mut Alarms<'_>,
) {
    let body = format!("{status} {}: {why}\n", reason_phrase(status));
    let len = body.len().to_string();
    let date = files::http_date(SystemTime::now());
    let mut fields: Vec<(&str, &[u8])> = vec![
        ("Date", date.as_bytes()),
        ("Server", b"wiretap"),
        ("Content-Type", b"text/plain; charset=utf-8"),
        ("Content-Length", len.as_bytes()),
        ("Connection", b"close"),
    ];
    fields.extend_from_slice(extra);
    let mut out = Vec::with_capacity(256);
    if encode_response_head(&mut out, status, &fields).is_ok() {
        out.extend_from_slice(body.as_bytes());
        let _ = wire.write_all(&out, timeout).await;
    }
    linger(wire, alarms, timeout).await;
}

/// Waits until `deadline` for bytes and appends them to `buf`. `idle` says whether a server
/// shutdown may interrupt the wait (only between requests; a started request finishes).
pub(super) async fn read_more(
    wire: &Wire,
    buf: &mut Vec<u8>,
    deadline: Instant,
    alarms: &mut Alarms<'_>,
    idle: bool,
) -> io::Result<Read> {
    enum Wake {
        Ready(io::Result<()>),
        Alarm(Alarm),
    }
    let ready = async { Wake::Ready(wire.readable().await) };
    let alarm = async { Wake::Alarm(alarms.wait(Some(deadline), idle).await) };
    match ready.or(alarm).await {
        Wake::Ready(result) => result?,
        Wake::Alarm(Alarm::Deadline) => return Ok(Read::Timeout),
        Wake::Alarm(Alarm::Shutdown) => return Ok(Read::Shutdown),
    }
    let start = buf.len();
    buf.resize(start + 16 * 1024, 0);
    let result = wire.read(&mut buf[start..]).await;
    match result {
        Ok(0) => {
            buf.truncate(start);
            Ok(Read::Eof)
        }
        Ok(n) => {
            buf.truncate(start + n);
            Ok(Read::Data)
        }
        // A spurious wake-up: nothing was there after all.
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            buf.truncate(start);
            Ok(Read::Data)
        }
        Err(e) => {
            buf.truncate(start);
            Err(e)
        }
    }
}

/// Closes our side and drains what the peer still sends for a moment, so that our last
/// response is not destroyed by a reset (closing a socket with unread input sends RST,
/// which can discard data the peer has not read yet).
pub(super) async fn linger(wire: &Wire, alarms: &mut Alarms<'_>, wait: Duration) {
    wire.shutdown_write();
    let deadline = Instant::now() + Duration::from_secs(1).min(wait);
    let mut sink = Vec::new();
    let mut drained = 0usize;
    while drained < 256 * 1024 {
        sink.clear();
        match read_more(wire, &mut sink, deadline, alarms, false).await {
            Ok(Read::Data) => drained += sink.len(),
            _ => break,
        }
    }
}
