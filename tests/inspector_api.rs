//! The inspector's server side over real sockets: the JSON API (list, transcript, one
//! event's bytes and fields, download), the live feed, the access rules (loopback only,
//! token, off), and the rule that the inspector's own traffic is never recorded.
//!
//! Each test runs an in-process server on 127.0.0.1 port 0 recording into a folder inside
//! its [`Www`] fixture; clients are the raw [`Client`] (HTTP) and tungstenite (WebSocket),
//! with a deadline on every wait.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{get, tcp, ws_connect, Client, Www, IO_TIMEOUT};
use tungstenite::Message;
use wiretap::capture::{Capture, RecorderConfig};
use wiretap::http::Method;
use wiretap::server::{Access, Running};

/// A recording server over `www` with inspector access `access`; returns it and its folder.
fn start(www: &Www, access: Access) -> (Running, PathBuf) {
    let dir = www.path().parent().unwrap().join("recorded");
    let record = RecorderConfig {
        fsync: false,
        ..RecorderConfig::new(&dir)
    };
    let server = support::start(www, |config| {
        config.record = Some(record);
        config.inspector = access;
    });
    (server, dir)
}

/// `GET target` on a fresh connection: status and JSON body.
fn api(addr: SocketAddr, target: &str, extra: &str) -> (u16, Value) {
    let mut client = Client::connect(addr);
    client.send(&get(target, extra));
    let response = client.response(Method::Get);
    let body = serde_json::from_slice(&response.body).unwrap_or_else(|e| {
        panic!("{target}: not JSON ({e}): {}", response.body_text());
    });
    if response.status() == 200 {
        assert_eq!(response.field("cache-control"), "no-store");
        assert_eq!(response.field("content-type"), "application/json");
    }
    (response.status(), body)
}

/// Files in `dir` (finalized and live captures).
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Waits until `dir` holds `n` finalized captures and nothing else.
fn wait_for_captures(dir: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let names = files(dir);
        if names.len() == n && names.iter().all(|n| n.ends_with(".json")) {
            return names;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} finalized captures, found {names:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One echo session: sends `text`, reads it back, closes normally.
fn echo(addr: SocketAddr, text: &str) {
    let mut ws = ws_connect(addr, "/echo");
    ws.send(Message::text(text)).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text(text));
    ws.close(None).unwrap();
    while ws.read().is_ok() {}
}

/// The next text message of a feed, as JSON, within `within`.
fn next_message(feed: &mut tungstenite::WebSocket<std::net::TcpStream>, within: Duration) -> Value {
    feed.get_ref().set_read_timeout(Some(within)).unwrap();
    loop {
        match feed.read() {
            Ok(Message::Text(text)) => return serde_json::from_str(text.as_str()).unwrap(),
            Ok(_) => {}
            Err(e) => panic!("no feed message within {within:?}: {e}"),
        }
    }
}

#[test]
fn list_fetch_event_and_download_show_what_the_dissector_says() {
    let www = Www::new();
    let (server, dir) = start(&www, Access::Loopback);
    let addr = server.addr();
    let mut client = Client::connect(addr);
    client.send(&get("/index.html", "Connection: close\r\n"));
    assert_eq!(client.response(Method::Get).status(), 200);
    client.expect_closed(IO_TIMEOUT);
    echo(addr, "hello inspector");
    let names = wait_for_captures(&dir, 2);

    let (status, list) = api(addr, "/api/captures", "");
    assert_eq!(status, 200, "{list}");
    assert!(
        list["dir"].as_str().unwrap().ends_with("recorded"),
        "{list}"
    );
    let captures = list["captures"].as_array().unwrap();
    // The API's own connections are not in the list, nor in the folder.
    assert_eq!(captures.len(), 2, "{list:#}");
    assert_eq!(files(&dir), names);
    let (ws, http) = (&captures[0], &captures[1]);
    assert_eq!(
        (
            ws["kind"].as_str(),
            ws["title"].as_str(),
            ws["live"].as_bool()
        ),
        (Some("websocket"), Some("GET /echo"), Some(false))
    );
    assert_eq!(
        (http["kind"].as_str(), http["title"].as_str()),
        (Some("http"), Some("GET /index.html"))
    );
    assert_eq!(ws["end"]["by"], "client");
    // Byte counts are the capture's.
    let id = ws["id"].as_str().unwrap();
    let capture = Capture::load(dir.join(format!("{id}.json")))
        .unwrap()
        .capture;
    let count = |dir| -> u64 { capture.chunks_in(dir).map(|c| c.bytes.len() as u64).sum() };
    assert_eq!(
        ws["bytes"]["c2s"],
        count(wiretap::capture::Direction::ClientToServer)
    );
    assert_eq!(
        ws["bytes"]["s2c"],
        count(wiretap::capture::Direction::ServerToClient)
    );
    assert_eq!(
        api(addr, "/api/captures?limit=1", "").1["captures"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The transcript is the dissector's, event for event.
    let (status, fetched) = api(addr, &format!("/api/captures/{id}"), "");
    assert_eq!(status, 200);
    let expected = serde_json::to_value(wiretap::dissect::dissect(&capture).events).unwrap();
    assert_eq!(fetched["events"], expected);
    assert_eq!(fetched["capture"], *ws);
    // In the dissector's own field order (the blessed transcripts' form), not sorted.
    let mut client = Client::connect(addr);
    client.send(&get(&format!("/api/captures/{id}"), ""));
    let body = String::from_utf8(client.response(Method::Get).body).unwrap();
    assert!(
        body.contains(r#""events":[{"t":"#) && body.contains(r#","dir":"c2s","at":[0,"#),
        "{body:.300}"
    );

    // The client's frame: its bytes and fields.
    let events = fetched["events"].as_array().unwrap();
    let n = events
        .iter()
        .position(|e| e["dir"] == "c2s" && e["frame"]["text"] == "hello inspector")
        .expect("the client's text frame");
    let (status, detail) = api(addr, &format!("/api/captures/{id}/events/{n}"), "");
    assert_eq!(status, 200, "{detail}");
    let bytes = hex::decode(detail["hex"].as_str().unwrap()).unwrap();
    let start = detail["start"].as_u64().unwrap();
    assert_eq!(detail["end"].as_u64().unwrap() - start, bytes.len() as u64);
    let field = |name: &str| -> &[u8] {
        let f = detail["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no field {name}: {detail}"));
        let (a, b) = (f["start"].as_u64().unwrap(), f["end"].as_u64().unwrap());
        &bytes[(a - start) as usize..(b - start) as usize]
    };
    assert_eq!(field("fin+opcode"), [0x81]);
    assert_eq!(field("mask+len"), [0x80 | 15]);
    let key = field("mask key").to_vec();
    let payload: Vec<u8> = field("payload")
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect();
    assert_eq!(payload, b"hello inspector");

    // Errors are JSON too.
    let (status, body) = api(addr, &format!("/api/captures/{id}/events/99999"), "");
    assert_eq!(status, 404, "{body}");
    for target in [
        "/api/captures/nope",
        "/api/captures/..%2f..%2fetc",
        "/api/captures/20261124T000000.000000Z-c000000",
        "/api/nothing",
    ] {
        let (status, body) = api(addr, target, "");
        assert_eq!(status, 404, "{target}: {body}");
        assert!(body["error"].is_string(), "{target}: {body}");
    }
    let mut client = Client::connect(addr);
    client.send(b"DELETE /api/captures HTTP/1.1\r\nHost: t\r\n\r\n");
    let refused = client.response(Method::Delete);
    assert_eq!(
        (refused.status(), refused.field("allow")),
        (405, "GET, HEAD")
    );

    // The download is the file itself.
    let mut client = Client::connect(addr);
    client.send(&get(&format!("/api/captures/{id}/raw"), ""));
    let raw = client.response(Method::Get);
    assert_eq!(raw.status(), 200);
    assert_eq!(
        raw.field("content-disposition"),
        format!("attachment; filename=\"{id}.json\"")
    );
    assert_eq!(
        raw.body,
        std::fs::read(dir.join(format!("{id}.json"))).unwrap()
    );
    drop(client);
    server.stop().unwrap();
    assert_eq!(files(&dir), names, "no inspector connection was recorded");
}

#[test]
fn live_feed_lists_then_streams_new_captures_and_the_watched_events() {
    let www = Www::new();
    let (server, dir) = start(&www, Access::Loopback);
    let addr = server.addr();
    echo(addr, "before the feed");
    wait_for_captures(&dir, 1);

    let mut feed = ws_connect(addr, "/api/live");
    let first = next_message(&mut feed, Duration::from_secs(2));
    assert_eq!(first["type"], "captures", "{first}");
    assert_eq!(first["captures"].as_array().unwrap().len(), 1, "{first}");

    // A new connection, kept open: it appears live, within a second.
    let mut ws = ws_connect(addr, "/echo");
    ws.send(Message::text("first")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("first"));
    let started = Instant::now();
    let id = loop {
        let message = next_message(&mut feed, Duration::from_secs(1));
        let capture = &message["capture"];
        if message["type"] == "capture"
            && capture["title"] == "GET /echo"
            && capture["live"] == true
        {
            break capture["id"].as_str().unwrap().to_owned();
        }
        assert!(started.elapsed() < Duration::from_secs(2), "{message}");
    };
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // Watching it: all its events so far, then only the new ones.
    feed.send(Message::text(format!("{{\"watch\":\"{id}\"}}")))
        .unwrap();
    let events = next_message(&mut feed, Duration::from_secs(2));
    assert_eq!(
        (events["type"].as_str(), events["from"].as_u64()),
        (Some("events"), Some(0)),
        "{events}"
    );
    let mut seen: Vec<Value> = events["events"].as_array().unwrap().clone();
    let has = |seen: &[Value], text: &str| {
        seen.iter()
            .any(|e| e["dir"] == "s2c" && e["frame"]["text"] == text)
    };
    assert!(has(&seen, "first"), "{seen:?}");
    assert!(
        !seen.iter().any(|e| e.get("eof").is_some()),
        "a live capture has no end yet"
    );

    ws.send(Message::text("second")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("second"));
    let started = Instant::now();
    while !has(&seen, "second") {
        assert!(started.elapsed() < Duration::from_secs(1), "{seen:?}");
        let message = next_message(&mut feed, Duration::from_secs(1));
        if message["type"] == "events" {
            let from = message["from"].as_u64().unwrap() as usize;
            assert!(from <= seen.len());
            seen.truncate(from);
            seen.extend(message["events"].as_array().unwrap().iter().cloned());
        }
    }
    // Once it ends, the page's copy equals the transcript of the finalized file.
    ws.close(None).unwrap();
    while ws.read().is_ok() {}
    let started = Instant::now();
    while !seen.iter().any(|e| e.get("eof").is_some()) {
        assert!(started.elapsed() < Duration::from_secs(2), "{seen:?}");
        let message = next_message(&mut feed, Duration::from_secs(2));
        if message["type"] == "events" {
            let from = message["from"].as_u64().unwrap() as usize;
            seen.truncate(from);
            seen.extend(message["events"].as_array().unwrap().iter().cloned());
        }
    }
    let capture = Capture::load(dir.join(format!("{id}.json")))
        .unwrap()
        .capture;
    let expected = serde_json::to_value(wiretap::dissect::dissect(&capture).events).unwrap();
    assert_eq!(Value::Array(seen), expected);

    // Commands it does not know get an error, and the feed goes on.
    feed.send(Message::text("{\"look\":1}")).unwrap();
    let error = next_message(&mut feed, Duration::from_secs(2));
    assert_eq!(error["type"], "error", "{error}");
    feed.close(None).unwrap();
    drop(server);
    let names = files(&dir);
    assert_eq!(
        names.len(),
        2,
        "only the two echo sessions were recorded: {names:?}"
    );
}

#[test]
fn token_rule_guards_the_api_and_the_feed() {
    let www = Www::new();
    let token = "5ecre7-70ken";
    let (server, _dir) = start(&www, Access::Token(token.into()));
    let addr = server.addr();
    // Loopback or not, no token, no answer.
    for (target, extra) in [
        ("/api/captures".to_owned(), String::new()),
        ("/api/captures?token=wrong".to_owned(), String::new()),
        (
            "/api/captures".to_owned(),
            "Authorization: Bearer wrong\r\n".to_owned(),
        ),
        ("/api/captures/x/raw".to_owned(), String::new()),
    ] {
        let (status, body) = api(addr, &target, &extra);
        assert_eq!(status, 403, "{target}: {body}");
        assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
    }
    assert_eq!(
        api(addr, &format!("/api/captures?token={token}"), "").0,
        200
    );
    let bearer = format!("Authorization: Bearer {token}\r\n");
    assert_eq!(api(addr, "/api/captures", &bearer).0, 200);

    // The feed: refused without the token (no upgrade), accepted with it.
    let refused = tungstenite::client::client(format!("ws://{addr}/api/live"), tcp(addr));
    match refused {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {:?}", other.map(|(_, r)| r.status())),
    }
    let mut feed = ws_connect(addr, &format!("/api/live?token={token}"));
    assert_eq!(
        next_message(&mut feed, Duration::from_secs(2))["type"],
        "captures"
    );
    // The page itself is a static file: served to anyone, it holds no capture.
    let mut client = Client::connect(addr);
    client.send(&get("/index.html", ""));
    assert_eq!(client.response(Method::Get).status(), 200);
}

#[test]
fn loopback_rule_answers_loopback_clients_and_off_answers_nobody() {
    let www = Www::new();
    let (server, _dir) = start(&www, Access::Loopback);
    // Our client is on 127.0.0.1: answered without a token (the refusal of other
    // addresses is a unit test of `authorize`: this test only touches loopback).
    assert_eq!(api(server.addr(), "/api/captures", "").0, 200);
    drop(server);

    let (server, dir) = start(&www, Access::Off);
    let (status, body) = api(server.addr(), "/api/captures", "");
    assert_eq!(status, 404, "{body}");
    // With the inspector off, `/api/...` is an ordinary (recorded) request.
    drop(server);
    assert_eq!(files(&dir).len(), 1, "{:?}", files(&dir));
}

#[test]
fn an_inspector_request_on_a_recorded_connection_is_closed_unanswered() {
    let www = Www::new();
    let (server, dir) = start(&www, Access::Loopback);
    let addr = server.addr();
    let mut client = Client::connect(addr);
    client.send(&get("/index.html", ""));
    assert_eq!(client.response(Method::Get).status(), 200);
    // The same keep-alive connection now asks for the inspector: no answer, closed (a
    // browser retries on a fresh connection, which is not recorded).
    client.send(&get("/api/captures", ""));
    assert_eq!(client.read_until_closed(IO_TIMEOUT), b"");
    // The fresh connection gets its answer: the first connection, ended by the server.
    let names = wait_for_captures(&dir, 1);
    let (status, list) = api(addr, "/api/captures", "");
    assert_eq!(status, 200);
    let capture = &list["captures"][0];
    assert_eq!(capture["end"]["by"], "server", "{capture}");
    assert!(
        capture["end"]["detail"]
            .as_str()
            .unwrap()
            .contains("inspector"),
        "{capture}"
    );
    // A connection that starts with the inspector page stays unrecorded after it.
    let mut client = Client::connect(addr);
    client.send(&get("/inspector/", ""));
    let _ = client.response(Method::Get);
    client.send(&get("/index.html", ""));
    assert_eq!(client.response(Method::Get).status(), 200);
    drop(client);
    drop(server);
    assert_eq!(files(&dir), names);
}
