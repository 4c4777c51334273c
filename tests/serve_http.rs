//! End to end, HTTP: a real server on loopback port 0 serving a per-test `www/` fixture,
//! driven over std sockets with hand-written requests, so that every byte on the wire is the
//! test's choice (malformed requests, pipelining, slowloris drips, traversal targets).
//!
//! Responses are read with the crate's own response parser (see `tests/support`); every
//! read has a deadline, so a server that stops answering fails a test instead of hanging it.

mod support;

use std::collections::HashSet;
use std::io::Write as _;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant, UNIX_EPOCH};

use support::{
    get, start, Client, Got, Response, Www, BIG_LEN, CANARY, INDEX_HTML, MTIME_HTTP, SECRET,
    SMALL_LEN, SUB_INDEX_HTML,
};
use wiretap::http::Method;

/// One request on a fresh connection, and its response.
fn fetch(addr: SocketAddr, request: &[u8], method: Method) -> Response {
    let mut client = Client::connect(addr);
    client.send(request);
    client.response(method)
}

// ---------------------------------------------------------------------------------------
// Files and their fields.

#[test]
fn serves_index_html_with_length_date_and_validators() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let response = fetch(server.addr(), &get("/", ""), Method::Get);

    assert_eq!(response.status(), 200);
    assert_eq!(response.body, INDEX_HTML.as_bytes());
    assert!(
        response.field("content-type").starts_with("text/html"),
        "{}",
        response.head_text()
    );
    assert_eq!(
        response.field("content-length"),
        INDEX_HTML.len().to_string()
    );
    assert_eq!(response.field("last-modified"), MTIME_HTTP);
    let etag = response.field("etag");
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "a strong entity-tag: {etag}"
    );
    let date = httpdate::parse_http_date(response.field("date")).expect("Date is an HTTP-date");
    let date = date.duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert!(date.abs_diff(support::now_secs()) <= 5, "Date is now");
}

#[test]
fn serves_a_folder_index_and_redirects_the_slashless_form() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());

    let response = client.get("/sub/");
    assert_eq!(response.status(), 200);
    assert_eq!(response.body, SUB_INDEX_HTML.as_bytes());

    let response = client.get("/sub");
    assert_eq!(response.status(), 301);
    assert_eq!(response.field("location"), "/sub/");
}

#[test]
fn answers_head_with_the_fields_of_get_and_no_body() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());

    let got = client.get("/small.bin");
    client.send(b"HEAD /small.bin HTTP/1.1\r\nHost: test\r\n\r\n");
    let head = client.response(Method::Head);
    // The HEAD response framed nothing: the next response follows its head directly.
    let after = client.get("/");

    assert_eq!(head.status(), 200);
    assert!(head.body.is_empty());
    for name in ["content-type", "content-length", "etag", "last-modified"] {
        assert_eq!(head.field(name), got.field(name), "{name}");
    }
    assert_eq!(head.field("content-length"), SMALL_LEN.to_string());
    assert!(head.try_field("date").is_some());
    assert_eq!(after.body, INDEX_HTML.as_bytes());
}

#[test]
fn answers_a_matching_if_none_match_with_304() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());
    let etag = client.get("/small.bin").field("etag").to_owned();

    client.send(&get("/small.bin", &format!("If-None-Match: {etag}\r\n")));
    let response = client.response(Method::Get);
    assert_eq!(response.status(), 304);
    assert!(response.body.is_empty());
    assert_eq!(response.field("etag"), etag);

    client.send(&get("/small.bin", "If-None-Match: \"something-else\"\r\n"));
    assert_eq!(client.response(Method::Get).status(), 200);
}

#[test]
fn answers_if_modified_since_with_304_when_not_modified() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());

    client.send(&get("/", &format!("If-Modified-Since: {MTIME_HTTP}\r\n")));
    let response = client.response(Method::Get);
    assert_eq!(response.status(), 304);
    assert!(response.body.is_empty());

    // A date before the file's modification: the file is sent.
    client.send(&get(
        "/",
        "If-Modified-Since: Sun, 31 Dec 2023 23:59:59 GMT\r\n",
    ));
    let response = client.response(Method::Get);
    assert_eq!(response.status(), 200);
    assert_eq!(response.body, INDEX_HTML.as_bytes());
}

#[test]
fn serves_byte_ranges_with_206() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let big = www.read("big.bin");
    let mut client = Client::connect(server.addr());

    client.send(&get("/big.bin", "Range: bytes=0-99\r\n"));
    let response = client.response(Method::Get);
    assert_eq!(response.status(), 206);
    assert_eq!(
        response.field("content-range"),
        format!("bytes 0-99/{BIG_LEN}")
    );
    assert_eq!(response.field("content-length"), "100");
    assert_eq!(response.body, &big[..100]);

    // A suffix range, on the same connection.
    client.send(&get("/big.bin", "Range: bytes=-10\r\n"));
    let response = client.response(Method::Get);
    assert_eq!(response.status(), 206);
    assert_eq!(
        response.field("content-range"),
        format!("bytes {}-{}/{BIG_LEN}", BIG_LEN - 10, BIG_LEN - 1)
    );
    assert_eq!(response.body, &big[BIG_LEN - 10..]);
}

#[test]
fn refuses_an_unsatisfiable_range_with_416() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let response = fetch(
        server.addr(),
        &get("/small.bin", "Range: bytes=5000-6000\r\n"),
        Method::Get,
    );
    assert_eq!(response.status(), 416);
    assert_eq!(
        response.field("content-range"),
        format!("bytes */{SMALL_LEN}")
    );
}

#[test]
fn answers_a_missing_file_with_404() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());
    let response = client.get("/no-such-file.html");
    assert_eq!(response.status(), 404);
    // An error is not a reason to hang up.
    assert_eq!(client.get("/").status(), 200);
}

#[test]
fn serves_a_300_kib_file_byte_identical() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let response = fetch(server.addr(), &get("/big.bin", ""), Method::Get);
    assert_eq!(response.status(), 200);
    assert_eq!(response.field("content-length"), BIG_LEN.to_string());
    assert_eq!(response.body.len(), BIG_LEN);
    assert!(
        response.body == www.read("big.bin"),
        "the body differs from the file"
    );
}

// ---------------------------------------------------------------------------------------
// Methods and connection management.

#[test]
fn refuses_post_with_405_and_keeps_the_connection() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());

    client
        .send(b"POST /index.html HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello=world");
    let response = client.response(Method::Post);
    assert_eq!(response.status(), 405);
    assert_eq!(response.field("allow"), "GET, HEAD");

    // The body was consumed, not mistaken for the next request.
    let response = client.get("/");
    assert_eq!(response.status(), 200);
    assert_eq!(response.body, INDEX_HTML.as_bytes());

    // A chunked body too, whole in one write.
    // Regression: the body was decoded one chunk per socket read, so the last chunk of a
    // body that had already arrived waited for bytes that never came: 408, not 405.
    client.send(
        b"PUT /index.html HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n0\r\n\r\n",
    );
    assert_eq!(client.response(Method::Put).status(), 405);
    assert_eq!(client.get("/").status(), 200);
}

#[test]
fn sends_100_continue_to_a_client_that_holds_its_body_back() {
    // Regression: the server waited for a body the client would only send after a 100
    // (Continue), and answered 408 once `header_timeout` ran out (RFC 9110 §10.1.1).
    let www = Www::new();
    let server = start(&www, |c| c.header_timeout = Duration::from_secs(2));
    let mut client = Client::connect(server.addr());
    client.send(
        b"POST /index.html HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n\
          Content-Length: 5\r\n\r\n",
    );
    let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
    assert_eq!(
        client.take(interim.len(), Duration::from_secs(1)),
        interim,
        "an immediate 100 (Continue)"
    );
    client.send(b"hello");
    assert_eq!(client.response(Method::Post).status(), 405);
    assert_eq!(client.get("/").status(), 200);
}

#[test]
fn serves_absolute_form_targets_an_empty_path_included() {
    // Regression: `GET http://test HTTP/1.1` was refused with 400 as "not origin-form";
    // RFC 9110 §4.2.3 makes an empty path `/`.
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());
    for (target, body) in [
        ("http://test/small.bin", www.read("small.bin")),
        ("http://test", INDEX_HTML.as_bytes().to_vec()),
        ("http://test?x=1", INDEX_HTML.as_bytes().to_vec()),
    ] {
        let response = client.get(target);
        assert_eq!(response.status(), 200, "{target}: {}", response.body_text());
        assert!(response.body == body, "{target}");
    }
}

#[test]
fn serves_three_requests_on_one_keep_alive_connection() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());
    for target in ["/", "/small.bin", "/sub/"] {
        let response = client.get(target);
        assert_eq!(response.status(), 200, "{target}");
        assert!(response.head.keep_alive(), "{}", response.head_text());
    }
}

#[test]
fn closes_after_a_response_to_connection_close() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());
    client.send(&get("/", "Connection: close\r\n"));
    let response = client.response(Method::Get);
    assert_eq!(response.status(), 200);
    assert_eq!(response.field("connection"), "close");
    client.expect_closed(Duration::from_secs(2));
}

#[test]
fn closes_http_1_0_unless_asked_to_keep_alive() {
    let www = Www::new();
    let server = start(&www, |_| {});

    let mut client = Client::connect(server.addr());
    client.send(b"GET / HTTP/1.0\r\n\r\n");
    let response = client.response(Method::Get);
    assert_eq!(response.status(), 200);
    assert_eq!(response.body, INDEX_HTML.as_bytes());
    client.expect_closed(Duration::from_secs(2));

    let mut client = Client::connect(server.addr());
    for _ in 0..2 {
        client.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let response = client.response(Method::Get);
        assert_eq!(response.status(), 200);
        assert!(
            response.head.keep_alive(),
            "an HTTP/1.0 keep-alive answer says so: {}",
            response.head_text()
        );
    }
}

#[test]
fn answers_pipelined_requests_in_order() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());
    let mut burst = get("/small.bin", "");
    burst.extend_from_slice(b"HEAD /sub/ HTTP/1.1\r\nHost: test\r\n\r\n");
    burst.extend_from_slice(&get("/", ""));
    client.send(&burst);

    let first = client.response(Method::Get);
    let second = client.response(Method::Head);
    let third = client.response(Method::Get);
    assert_eq!(first.body, www.read("small.bin"));
    assert_eq!(second.status(), 200);
    assert_eq!(
        second.field("content-length"),
        SUB_INDEX_HTML.len().to_string()
    );
    assert_eq!(third.body, INDEX_HTML.as_bytes());
}

#[test]
fn stops_a_pipeline_at_the_request_that_asks_to_close() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());
    let mut burst = get("/", "");
    burst.extend_from_slice(&get("/small.bin", "Connection: close\r\n"));
    burst.extend_from_slice(&get("/sub/", ""));
    client.send(&burst);

    assert_eq!(client.response(Method::Get).status(), 200);
    let second = client.response(Method::Get);
    assert_eq!(second.field("connection"), "close");
    // The third request is never answered.
    client.expect_closed(Duration::from_secs(3));
}

#[test]
fn closes_an_idle_keep_alive_connection_after_the_timeout() {
    let www = Www::new();
    let server = start(&www, |c| c.keep_alive_timeout = Duration::from_millis(500));
    let mut client = Client::connect(server.addr());
    assert_eq!(client.get("/").status(), 200);
    let idle = Instant::now();
    client.expect_closed(Duration::from_secs(3));
    assert!(idle.elapsed() >= Duration::from_millis(400));
}

// ---------------------------------------------------------------------------------------
// Malformed requests: each answered with its status, then the connection is closed.

/// Sends `request`, expects `status`, then expects the server to hang up.
fn assert_refused(request: &[u8], status: u16) {
    let www = Www::new();
    let server = start(&www, |_| {});
    let mut client = Client::connect(server.addr());
    client.send(request);
    let response = client.response(Method::Get);
    assert_eq!(
        response.status(),
        status,
        "{} {}",
        response.head_text(),
        response.body_text()
    );
    assert_eq!(response.field("connection"), "close");
    client.expect_closed(Duration::from_secs(3));
}

#[test]
fn rejects_a_bare_lf_with_400() {
    assert_refused(b"GET / HTTP/1.1\nHost: test\n\n", 400);
}

#[test]
fn rejects_content_length_with_transfer_encoding_with_400() {
    assert_refused(
        b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\
          Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
}

#[test]
fn rejects_a_9_kib_request_line_with_414() {
    let mut request = b"GET /".to_vec();
    request.extend(std::iter::repeat_n(b'a', 9 * 1024));
    request.extend_from_slice(b" HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_refused(&request, 414);
}

#[test]
fn rejects_20_kib_of_header_fields_with_431() {
    let mut request = b"GET / HTTP/1.1\r\nHost: test\r\n".to_vec();
    for i in 0..20 {
        request.extend_from_slice(format!("X-Pad-{i}: ").as_bytes());
        request.extend(std::iter::repeat_n(b'p', 1024));
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    assert_refused(&request, 431);
}

#[test]
fn refuses_a_body_over_max_body_with_413_before_it_arrives() {
    assert_refused(
        b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 2000000\r\n\r\n",
        413,
    );
}

#[test]
fn rejects_http_2_0_with_505() {
    assert_refused(b"GET / HTTP/2.0\r\nHost: test\r\n\r\n", 505);
}

// ---------------------------------------------------------------------------------------
// Traversal.

/// Request-targets that try to reach `canary.txt` beside `www/`, a dotfile, or a system
/// file, sent byte for byte as written.
const HOSTILE_TARGETS: &[&str] = &[
    "/../canary.txt",
    "/../../../../../../etc/passwd",
    "/%2e%2e/canary.txt",
    "/%2E%2E/canary.txt",
    "/.%2e/canary.txt",
    "/..%2fcanary.txt",
    "/..%2Fcanary.txt",
    "/sub/../../canary.txt",
    "/sub/%2e%2e/%2e%2e/canary.txt",
    "/./../canary.txt",
    "//../canary.txt",
    "/index.html/../../canary.txt",
    "/escape",
    "/escape/",
    "/sub/../escape",
    "/%65scape",
    "/%2e%2e%2f%2e%2e%2fetc/passwd",
    "/%252e%252e/canary.txt",
    "/.secret",
    "/%2esecret",
    "/sub/../.secret",
    "http://x/../canary.txt",
    "http://x/%2e%2e/canary.txt",
    "http://x/escape",
    "/%00",
    "/canary.txt%00.html",
    "/..\\canary.txt",
    "/..%5ccanary.txt",
    "/%2e%2e%5ccanary.txt",
    "/%c0%ae%c0%ae/canary.txt",
    "/%c0%ae%c0%ae%c0%afcanary.txt",
    "/%e0%80%ae%e0%80%ae/canary.txt",
    "/canary.txt",
    "/../www/../canary.txt",
];

#[test]
fn never_leaks_a_file_outside_www() {
    let www = Www::new();
    let server = start(&www, |_| {});
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let passwd_line = passwd.lines().next().unwrap_or("root:x:0:0");
    let mut failures = Vec::new();
    for target in HOSTILE_TARGETS {
        let mut client = Client::connect(server.addr());
        let mut request = format!("GET {target} HTTP/1.1\r\nHost: test\r\n").into_bytes();
        request.extend_from_slice(b"Connection: close\r\n\r\n");
        client.send(&request);
        let wire = client.read_until_closed(Duration::from_secs(5));
        let text = String::from_utf8_lossy(&wire);
        let status = text.get(9..12).unwrap_or("");
        if text.contains(CANARY) || text.contains(SECRET) || text.contains(passwd_line) {
            failures.push(format!("{target}: LEAKED: {}", support::excerpt(&wire)));
        } else if !text.starts_with("HTTP/1.1 4") {
            failures.push(format!("{target}: expected a 4xx, got {status:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Timeouts.

#[test]
fn cuts_off_a_slowloris_client() {
    let www = Www::new();
    let server = start(&www, |c| c.header_timeout = Duration::from_secs(1));
    let mut client = Client::connect(server.addr());
    let started = Instant::now();
    client.send(b"GET / HTTP/1.1\r\nHo");
    // A drip that would take 60 s to finish the head.
    let drip = b"st: test\r\nX-Drip: ".iter().chain([b'a'; 300].iter());
    let mut closed = false;
    for &byte in drip {
        match client.read_some(Duration::from_millis(200)) {
            Got::Nothing => {}
            Got::Data(_) => {}
            Got::Closed => {
                closed = true;
                break;
            }
        }
        if started.elapsed() > Duration::from_secs(5) {
            break;
        }
        // The server may already have hung up; the write error then says so.
        if client.stream.write(&[byte]).is_err() {
            closed = true;
            break;
        }
    }
    let elapsed = started.elapsed();
    assert!(closed, "still open after {elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(2500),
        "closed only after {elapsed:?}"
    );
    let wire = client.buf_text();
    assert!(
        wire.is_empty() || wire.starts_with("HTTP/1.1 408 "),
        "either a 408 or nothing: {wire:?}"
    );
}

#[test]
fn closes_a_silent_connection_after_the_header_timeout() {
    let www = Www::new();
    let server = start(&www, |c| c.header_timeout = Duration::from_secs(1));
    let mut client = Client::connect(server.addr());
    let started = Instant::now();
    client.expect_closed(Duration::from_secs(3));
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(800),
        "closed too early: {elapsed:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Load and limits.

#[test]
fn serves_1000_concurrent_connections() {
    const WANTED: usize = 1000;
    const THREADS: usize = 4;
    // Each connection costs two descriptors in this process (client and server side); leave
    // room for the other tests running beside this one.
    let fit = support::open_files_limit().map_or(WANTED, |n| (n as usize).saturating_sub(300) / 2);
    let total = WANTED.min(fit);
    if total < WANTED {
        eprintln!("open file limit allows only {total} concurrent connections, not {WANTED}");
    }
    let www = Www::new();
    let server = start(&www, |c| {
        c.header_timeout = Duration::from_secs(30);
        c.keep_alive_timeout = Duration::from_secs(30);
    });
    let addr = server.addr();
    let started = Instant::now();

    // Every connection is opened and sends its request before any response is read, so all
    // of them are open at once.
    let per_thread = total / THREADS;
    let clients: Vec<Vec<Client>> = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(move || {
                    (0..per_thread)
                        .map(|_| {
                            let mut client = Client::connect(addr);
                            client.send(&get("/small.bin", ""));
                            client
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let opened = started.elapsed();
    let statuses: Vec<u16> = thread::scope(|s| {
        let handles: Vec<_> = clients
            .into_iter()
            .map(|mut group| {
                s.spawn(move || {
                    let statuses: Vec<u16> = group
                        .iter_mut()
                        .map(|c| c.response(Method::Get).status())
                        .collect();
                    // Still open: each connection holds its slot until here.
                    drop(group);
                    statuses
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(statuses.len(), per_thread * THREADS);
    let distinct: HashSet<u16> = statuses.iter().copied().collect();
    assert_eq!(distinct, HashSet::from([200]));
    eprintln!(
        "{} connections opened in {opened:?}, all answered in {:?}",
        statuses.len(),
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn drops_a_client_that_stops_reading_after_the_write_timeout() {
    let www = Www::new();
    // Far more than the socket buffers hold.
    let huge_len = 8 << 20;
    www.write("huge.bin", &support::pseudo_random(huge_len, 8));
    let server = start(&www, |c| {
        c.write_timeout = Duration::from_millis(500);
        c.max_connections = 1;
    });
    let mut stalled = Client::connect(server.addr());
    stalled.send(&get("/huge.bin", ""));

    // The stalled client holds the only slot until the server gives up on it; then a new
    // connection is served instead of refused.
    let started = Instant::now();
    loop {
        let mut probe = Client::connect(server.addr());
        match probe.get("/").status() {
            200 => break,
            503 => {}
            other => panic!("unexpected {other}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the stalled connection still holds its slot"
        );
        drop(probe);
        thread::sleep(Duration::from_millis(100));
    }
    // What the stalled client finally reads ends short of the file.
    let wire = stalled.read_until_closed(Duration::from_secs(5));
    assert!(wire.len() < huge_len, "{} bytes", wire.len());
}

#[test]
fn refuses_a_connection_beyond_max_connections_with_503() {
    let www = Www::new();
    let server = start(&www, |c| c.max_connections = 5);
    let mut first: Vec<Client> = (0..5).map(|_| Client::connect(server.addr())).collect();
    // Each of the five is accepted and served, and stays open (keep-alive).
    for client in &mut first {
        assert_eq!(client.get("/").status(), 200);
    }

    let mut sixth = Client::connect(server.addr());
    let response = sixth.response(Method::Get);
    assert_eq!(response.status(), 503, "{}", response.body_text());
    assert_eq!(response.field("connection"), "close");
    sixth.expect_closed(Duration::from_secs(3));
    drop(sixth);

    for client in &mut first {
        assert_eq!(client.get("/small.bin").status(), 200);
    }
}
