//! The WebSocket load client of `bench/load.sh`; the same code drives every server.
//!
//! ```sh
//! ws-load echo --addr 127.0.0.1:18081 --path /echo --conns 64 --size 125 --type text \
//!              --duration 10 --warmup 2 --threads 2
//! ws-load idle --addr 127.0.0.1:18081 --path /echo --conns 5000 --hold 120
//! ```
//!
//! **echo**: opens `--conns` WebSocket connections; each sends one message of `--size`
//! bytes and `--type` (`text`: printable ASCII, `binary`: random bytes), waits for the
//! echo, checks its opcode and every payload byte (whatever the server's fragmentation),
//! and repeats. Each message carries its sequence number at both ends, so a stale or
//! reordered echo fails too. Messages completed during the `--duration` seconds after a
//! `--warmup` are counted; prints one `key=value` line: messages per second, MiB/s of
//! payload each way, and p50/p99 round-trip latency (send start to echo checked). Any
//! mismatch, close or 10 s stall stops the run with exit code 1.
//!
//! **idle**: opens `--conns` connections (64 handshakes at a time), sends one 125-byte text
//! message on each and checks its echo (`--no-echo` skips it), then holds them idle,
//! answering pings, prints `READY conns=N` and waits for SIGTERM, Ctrl-C or `--hold`
//! seconds. Then it prints `held=N lost=L` (L: connections the server dropped meanwhile)
//! and exits, 1 if any was lost.
//!
//! Bounds: loopback addresses only, at most 1024 echo / 20 000 idle connections, 300 s
//! runs, 600 s holds, 16 MiB messages.
//!
//! Costs: a raw client (see the crate doc), `--threads` tokio workers (default 2, as
//! `wrk -t2`). On this 2-core machine the client shares the cores with the server under
//! test; it does the same work per message for every server.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::timeout;
use wiretap_load::{encode_masked, opcode, Client, Flags, Histogram, XorShift};

/// No single step may take longer than this: a stuck server fails the run, never hangs it.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in flight at once (keeps the servers' accept backlogs out of the picture).
const CONNECT_PARALLELISM: usize = 64;

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let result = match mode.as_str() {
        "echo" => Flags::parse(
            args,
            &[
                "addr", "path", "conns", "size", "type", "duration", "warmup", "threads",
            ],
        )
        .and_then(echo),
        "idle" => Flags::parse(
            args,
            &["addr", "path", "conns", "hold", "no-echo", "threads"],
        )
        .and_then(idle),
        _ => Err(
            "usage: ws-load echo|idle --addr 127.0.0.1:PORT [flags] (see the source doc)".into(),
        ),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ws-load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// Opens `count` connections, `CONNECT_PARALLELISM` at a time; the first failure is the
/// error.
async fn connect_all(
    addr: SocketAddr,
    path: &str,
    count: usize,
    read_capacity: usize,
) -> Result<Vec<Client>, String> {
    let permits = Arc::new(Semaphore::new(CONNECT_PARALLELISM));
    let mut tasks = JoinSet::new();
    for id in 0..count {
        let (permits, path) = (permits.clone(), path.to_string());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("never closed");
            let mut rng = XorShift::new(id as u64 + 1);
            let client = timeout(
                STEP_TIMEOUT,
                Client::connect(addr, &path, read_capacity, &mut rng),
            )
            .await
            .map_err(|_| format!("connection {id}: handshake timed out"))?
            .map_err(|e| format!("connection {id}: {e}"))?;
            Ok::<_, String>((id, client))
        });
    }
    let mut clients: Vec<Option<Client>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let (id, client) = joined.map_err(|e| e.to_string())??;
        clients[id] = Some(client);
    }
    Ok(clients.into_iter().flatten().collect())
}

/// Fills `payload` with printable ASCII (text) or random bytes (binary).
fn fill_payload(payload: &mut [u8], text: bool, rng: &mut XorShift) {
    for chunk in payload.chunks_mut(8) {
        let bits = rng.next_u64().to_le_bytes();
        for (b, r) in chunk.iter_mut().zip(bits) {
            *b = if text { b' ' + r % 95 } else { r };
        }
    }
}

/// Writes `seq` at both ends of the payload (16 hex digits for text, 8 bytes for binary)
/// and patches the same bytes of the masked frame payload.
fn stamp(payload: &mut [u8], masked: &mut [u8], mask: [u8; 4], seq: u64, text: bool) {
    let hex = format!("{seq:016x}");
    let raw = seq.to_le_bytes();
    let bytes: &[u8] = if text { hex.as_bytes() } else { &raw };
    let n = bytes.len();
    let len = payload.len();
    let at: &[usize] = match len {
        _ if len >= 2 * n => &[0, len - n],
        _ if len >= n => &[0],
        _ => &[],
    };
    for &pos in at {
        for (i, &b) in bytes.iter().enumerate() {
            payload[pos + i] = b;
            masked[pos + i] = b ^ mask[(pos + i) % 4];
        }
    }
}

struct Outcome {
    messages: u64,
    latencies: Histogram,
}

async fn echo_loop(
    id: usize,
    mut client: Client,
    size: usize,
    text: bool,
    phase: Arc<AtomicU8>,
) -> Result<Outcome, String> {
    let op = if text { opcode::TEXT } else { opcode::BINARY };
    let mut rng = XorShift::new(0x5eed ^ (id as u64) << 20);
    let mut payload = vec![0; size];
    fill_payload(&mut payload, text, &mut rng);
    let mask = client.mask();
    let mut frame = Vec::with_capacity(size + 14);
    let start = encode_masked(&mut frame, op, &payload, mask);
    let mut outcome = Outcome {
        messages: 0,
        latencies: Histogram::default(),
    };
    for seq in 1.. {
        stamp(&mut payload, &mut frame[start..], mask, seq, text);
        let sent_at = Instant::now();
        let round_trip = async {
            client.send_frame(&frame).await?;
            client.expect_message(op, &payload).await
        };
        timeout(STEP_TIMEOUT, round_trip)
            .await
            .map_err(|_| format!("connection {id}, message {seq}: no echo within 10 s"))?
            .map_err(|e| format!("connection {id}, message {seq}: {e}"))?;
        match phase.load(Ordering::Relaxed) {
            MEASURE => {
                outcome.latencies.record(sent_at.elapsed());
                outcome.messages += 1;
            }
            STOP => break,
            _ => {}
        }
    }
    client.close().await;
    Ok(outcome)
}

fn echo(flags: Flags) -> Result<ExitCode, String> {
    let addr = flags.loopback_addr("127.0.0.1:18081")?;
    let path: String = flags.get("path", "/echo".to_string())?;
    let conns = flags.bounded("conns", 64usize, 1, 1024)?;
    let size = flags.bounded("size", 125usize, 0, 16 << 20)?;
    let text = match flags.get("type", "text".to_string())?.as_str() {
        "text" => true,
        "binary" => false,
        other => return Err(format!("--type {other:?}: text or binary")),
    };
    let duration = flags.bounded("duration", 10.0f64, 0.1, 300.0)?;
    let warmup = flags.bounded("warmup", 2.0f64, 0.0, 60.0)?;
    let threads = flags.bounded("threads", 2usize, 1, 16)?;

    runtime(threads)?.block_on(async {
        let clients = connect_all(addr, &path, conns, (2 * size + 64).max(4096)).await?;
        let phase = Arc::new(AtomicU8::new(WARMUP));
        let mut tasks = JoinSet::new();
        for (id, client) in clients.into_iter().enumerate() {
            tasks.spawn(echo_loop(id, client, size, text, phase.clone()));
        }
        tokio::time::sleep(Duration::from_secs_f64(warmup)).await;
        phase.store(MEASURE, Ordering::Relaxed);
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs_f64(duration)).await;
        phase.store(STOP, Ordering::Relaxed);
        let measured = started.elapsed().as_secs_f64();

        let mut messages = 0;
        let mut latencies = Histogram::default();
        let mut errors = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined.map_err(|e| e.to_string()).and_then(|r| r) {
                Ok(outcome) => {
                    messages += outcome.messages;
                    latencies.merge(&outcome.latencies);
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(format!(
                "{} of {conns} connections failed; first: {}",
                errors.len(),
                errors[0]
            ));
        }
        let per_sec = messages as f64 / measured;
        println!(
            "ws-load echo: conns={conns} size={size} type={} duration={measured:.2}s \
             messages={messages} msgs_per_sec={per_sec:.1} mib_per_sec={:.1} p50_us={:.1} \
             p99_us={:.1} checked_bytes={}",
            if text { "text" } else { "binary" },
            per_sec * size as f64 / f64::from(1 << 20),
            latencies.quantile(0.50).as_secs_f64() * 1e6,
            latencies.quantile(0.99).as_secs_f64() * 1e6,
            messages * size as u64,
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn idle(flags: Flags) -> Result<ExitCode, String> {
    let addr = flags.loopback_addr("127.0.0.1:18081")?;
    let path: String = flags.get("path", "/echo".to_string())?;
    let conns = flags.bounded("conns", 5000usize, 1, 20_000)?;
    let hold = flags.bounded("hold", 120.0f64, 0.0, 600.0)?;
    let first_echo = !flags.get("no-echo", false)?;
    let threads = flags.bounded("threads", 1usize, 1, 16)?;

    runtime(threads)?.block_on(async {
        let started = Instant::now();
        let clients = connect_all(addr, &path, conns, 4096).await?;
        let lost = Arc::new(AtomicU64::new(0));
        let mut tasks = JoinSet::new();
        for (id, mut client) in clients.into_iter().enumerate() {
            let lost = lost.clone();
            tasks.spawn(async move {
                if first_echo {
                    let mut rng = XorShift::new(id as u64 + 7);
                    let mut payload = vec![0; 125];
                    fill_payload(&mut payload, true, &mut rng);
                    let mut frame = Vec::new();
                    encode_masked(&mut frame, opcode::TEXT, &payload, client.mask());
                    let round_trip = async {
                        client.send_frame(&frame).await?;
                        client.expect_message(opcode::TEXT, &payload).await
                    };
                    match timeout(STEP_TIMEOUT, round_trip).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => return Err(format!("connection {id}: {e}")),
                        Err(_) => return Err(format!("connection {id}: no echo within 10 s")),
                    }
                }
                // Ready: hold it in a task of its own from here on.
                tokio::spawn(async move {
                    let why = client.hold().await;
                    if lost.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("ws-load idle: connection {id} lost: {why}");
                    }
                });
                Ok(())
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.map_err(|e| e.to_string())??;
        }
        println!(
            "READY conns={conns} in {:.2}s",
            started.elapsed().as_secs_f64()
        );
        let _ = std::io::stdout().flush();

        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| e.to_string())?;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs_f64(hold)) => {}
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        let lost = lost.load(Ordering::Relaxed);
        println!("held={} lost={lost}", conns as u64 - lost);
        let _ = std::io::stdout().flush();
        // Exit without 5000 closing handshakes: the kernel closes the sockets at once.
        std::process::exit(i32::from(lost > 0));
    })
}
