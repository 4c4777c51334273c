//! The reference WebSocket echo server of `bench/load.sh`: tokio + tokio-tungstenite, as
//! people write it. Every text or binary message goes back as it came; pings are answered
//! and closes completed by tungstenite itself. Every path is accepted.
//!
//! ```sh
//! ws-echo-reference --addr 127.0.0.1:18083 --threads 2
//! ```
//!
//! Matched to wiretap's setup: a multi-threaded runtime with `--threads` workers (default
//! 2, wiretap runs one executor thread per core), `TCP_NODELAY` on every socket, and
//! tungstenite's default limits (16 MiB frames, 64 MiB messages, like wiretap's) and
//! buffers. Listens on loopback only. Prints one line when it is ready.

use std::process::ExitCode;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpListener, TcpStream};
use wiretap_load::Flags;

fn main() -> ExitCode {
    let run = || -> Result<(), String> {
        let flags = Flags::parse(std::env::args().skip(1), &["addr", "threads"])?;
        let addr = flags.loopback_addr("127.0.0.1:18083")?;
        let threads = flags.bounded("threads", 2usize, 1, 16)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| format!("{addr}: {e}"))?;
            println!(
                "ws-echo-reference: tokio-tungstenite echo at ws://{addr}/ ({threads} worker threads)"
            );
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(echo(stream));
                    }
                    // Out of file descriptors, say: keep serving the others.
                    Err(e) => {
                        eprintln!("ws-echo-reference: accept: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                }
            }
        })
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ws-echo-reference: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn echo(stream: TcpStream) {
    if stream.set_nodelay(true).is_err() {
        return;
    }
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            return;
        }
        // Ping: tungstenite queues the pong and sends it with the next read or write. Close:
        // it queues the reply, and the stream ends after flushing it.
    }
}
