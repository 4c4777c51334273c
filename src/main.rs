//! The `wiretap` command line. Only argument handling lives here; everything it runs is in
//! the library.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use smol::stream::StreamExt as _;
use wiretap::capture::RecorderConfig;
use wiretap::server::{Config, Server};

/// An HTTP/1.1 + WebSocket server that records every byte it sees.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// `serve`'s flags, when no command is named.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve `www/` and the WebSocket endpoints /echo and /chat (the default).
    Serve(ServeArgs),
}

#[derive(Debug, Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Folder served as `/`.
    #[arg(long, default_value = "www")]
    www: PathBuf,
    /// Time to receive a whole request head once it started (slowloris guard).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    header_timeout: Duration,
    /// How long an idle keep-alive connection is kept.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    keep_alive_timeout: Duration,
    /// Silence after which a WebSocket client is pinged.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    ws_ping_interval: Duration,
    /// Silence after which a WebSocket is closed with 1001.
    #[arg(long, default_value = "75s", value_parser = parse_duration)]
    ws_idle_timeout: Duration,
    /// How long a write may stall on a client that stopped reading.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    write_timeout: Duration,
    /// How long the WebSocket closing handshake may take.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    close_timeout: Duration,
    /// Connections served at once; beyond it new ones get 503.
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,
    /// Largest WebSocket message in bytes (beyond: close 1009).
    #[arg(long, default_value_t = 64 << 20)]
    max_message: usize,
    /// Largest WebSocket frame payload in bytes (beyond: close 1009).
    #[arg(long, default_value_t = 16 << 20)]
    max_frame: usize,
    /// Largest request body in bytes (beyond: 413).
    #[arg(long, default_value_t = 1 << 20)]
    max_body: u64,
    /// Chat messages queued per /chat client before it is closed with 1008.
    #[arg(long, default_value_t = 256)]
    chat_queue: usize,
    /// Executor threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Folder the captures are recorded into (one JSON file per connection).
    #[arg(long, default_value = "captures/recorded", value_name = "DIR")]
    captures: PathBuf,
    /// Record nothing.
    #[arg(long)]
    no_record: bool,
    /// Bytes recorded per connection (both directions); past it the capture is truncated.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    max_capture: u64,
    /// Bytes of capture files in the folder; past it the oldest finalized ones are deleted.
    #[arg(long, default_value_t = 1 << 30, value_name = "BYTES")]
    max_captures_total: u64,
    /// Log level: error, warn, info, debug or trace (`RUST_LOG` works too).
    #[arg(long, default_value = "warn")]
    log_level: log::LevelFilter,
}

/// `10s`, `500ms`, `2m`, or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a duration such as 10s or 500ms"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("{text:?}: the unit must be ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

impl ServeArgs {
    fn config(&self) -> Config {
        let defaults = Config::default();
        let mut config = Config {
            addr: self.addr,
            www: self.www.clone(),
            header_timeout: self.header_timeout,
            keep_alive_timeout: self.keep_alive_timeout,
            ws_ping_interval: self.ws_ping_interval,
            ws_idle_timeout: self.ws_idle_timeout,
            write_timeout: self.write_timeout,
            max_connections: self.max_connections,
            chat_queue: self.chat_queue,
            threads: self.threads.unwrap_or(defaults.threads),
            ..defaults
        };
        config.ws.max_message = self.max_message;
        config.ws.max_frame = self.max_frame;
        config.ws.close_timeout = self.close_timeout;
        config.http.max_body = self.max_body;
        if !self.no_record {
            let mut record = RecorderConfig::new(&self.captures);
            record.max_connection_bytes = self.max_capture;
            record.max_folder_bytes = self.max_captures_total;
            config.record = Some(record);
        }
        config
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        None => cli.serve,
    };
    env_logger::Builder::new()
        .filter_level(args.log_level)
        .parse_default_env()
        .init();
    match serve(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wiretap: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: &ServeArgs) -> std::io::Result<()> {
    let config = args.config();
    let threads = config.threads;
    let server = smol::block_on(Server::bind(config))?;
    // `writeln!`, not `println!`: a closed stdout (a parent that stopped reading) must not
    // kill a running server.
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "wiretap: serving {} at http://{}/ (WebSocket: /echo, /chat); Ctrl-C stops",
        server.root().display(),
        server.local_addr()?
    );
    let _ = match server.capture_dir() {
        Some(dir) => writeln!(
            out,
            "wiretap: recording every connection into {}",
            dir.display()
        ),
        None => writeln!(out, "wiretap: not recording (--no-record)"),
    };
    let _ = out.flush();
    let recovered = server.recovered();
    if !recovered.is_empty() {
        log::warn!(
            "finalized {} capture(s) left unfinished by a crash in {}",
            recovered.len(),
            server
                .capture_dir()
                .map_or(String::new(), |d| d.display().to_string())
        );
    }
    let mut signals =
        async_signal::Signals::new([async_signal::Signal::Int, async_signal::Signal::Term])?;
    server.run_blocking(threads, async move {
        if let Some(Ok(signal)) = signals.next().await {
            log::warn!("{signal:?}: shutting down");
        }
    })
}
