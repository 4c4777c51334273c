//! The `wiretap` command line. Only argument handling lives here; everything it runs is in
//! the library.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use smol::stream::StreamExt as _;
use wiretap::capture::{Capture, Direction, RecorderConfig};
use wiretap::dissect::{diff_transcripts, dissect, fields, hex_dump, render_line, Transcript};
use wiretap::replay::{self, Outcome};
use wiretap::server::{Access, Config, Server};

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

// One value, parsed once at start-up: its size does not matter, and boxing `serve`'s
// flags would only make the code around them noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Serve `www/` and the WebSocket endpoints /echo and /chat (the default).
    Serve(ServeArgs),
    /// Print the transcript of each capture: one header line, then one line per event.
    Replay(ReplayArgs),
    /// Compare two captures or transcripts event by event; exit 1 when they differ.
    Diff {
        /// The expected side (`-`): a capture or a `*.transcript.json`.
        a: PathBuf,
        /// The actual side (`+`): a capture or a `*.transcript.json`.
        b: PathBuf,
    },
    /// Copy a recorded capture into the corpus under a stable name and bless its transcript.
    /// Mind that recorded traffic can hold other people's data.
    Keep {
        /// The capture's id (its file name without `.json`), or the start of it.
        id: String,
        /// The corpus name: `NAME.json` and `NAME.transcript.json`; `a-z`, `0-9`, `-`.
        #[arg(long)]
        name: String,
        /// Where the recorded captures are.
        #[arg(long, default_value = "captures/recorded", value_name = "DIR")]
        captures: PathBuf,
        /// The corpus folder.
        #[arg(long, default_value = "captures/corpus", value_name = "DIR")]
        corpus: PathBuf,
    },
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// Capture files, or folders: every `*.json` capture in one (not `*.transcript.json`),
    /// by name.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print each transcript as its JSON document (the blessed form) instead of text.
    #[arg(long, conflicts_with_all = ["check", "bless"])]
    json: bool,
    /// After each event's line, a hex dump of its bytes (at most 256) with its fields
    /// marked: a frame's header bytes, mask key and payload, a head's lines.
    #[arg(long, conflicts_with_all = ["json", "check", "bless"])]
    hex: bool,
    /// Compare each transcript with the blessed `NAME.transcript.json` beside its capture;
    /// exit 1 when any changed or is missing.
    #[arg(long, conflicts_with = "bless")]
    check: bool,
    /// Write each transcript as `NAME.transcript.json` beside its capture (review with
    /// `git diff`).
    #[arg(long)]
    bless: bool,
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
    /// No inspector API or live feed (`/api/...` answers 404).
    #[arg(long)]
    no_inspector: bool,
    /// The token the inspector API and feed require (`?token=` or `Authorization: Bearer`).
    /// Default: none on a loopback address (loopback clients only); a random one, printed
    /// at start, on any other address.
    #[arg(long, value_name = "TOKEN", conflicts_with = "no_inspector")]
    inspector_token: Option<String>,
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
        Some(Command::Replay(args)) => return replay(&args),
        Some(Command::Diff { a, b }) => return diff(&a, &b),
        Some(Command::Keep {
            id,
            name,
            captures,
            corpus,
        }) => return keep(&captures, &id, &corpus, &name),
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
    let mut config = args.config();
    config.inspector = if args.no_inspector {
        Access::Off
    } else if let Some(token) = &args.inspector_token {
        Access::Token(token.clone())
    } else if config.addr.ip().is_loopback() {
        Access::Loopback
    } else {
        // Reachable from elsewhere: captures hold other people's bytes.
        Access::Token(wiretap::server::new_token()?)
    };
    let access = config.inspector.clone();
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
    let addr = server.local_addr()?;
    let _ = match &access {
        Access::Off => writeln!(out, "wiretap: inspector off (--no-inspector)"),
        Access::Loopback => writeln!(
            out,
            "wiretap: inspector at http://{addr}/inspector/ (loopback clients only)"
        ),
        Access::Token(token) => writeln!(
            out,
            "wiretap: inspector at http://{addr}/inspector/?token={token} (token required)"
        ),
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

/// Exit code of `replay` and `diff` when a file could not be read.
const EXIT_UNREADABLE: u8 = 2;

/// `wiretap replay`: prints, checks or blesses transcripts. Exit 0; 1 when `--check` finds
/// a changed or missing transcript; 2 when a file could not be read (the others go on).
fn replay(args: &ReplayArgs) -> ExitCode {
    let mut unreadable = false;
    let mut captures = Vec::new();
    for path in &args.paths {
        if path.is_dir() {
            match replay::captures_in(path) {
                Ok(found) => captures.extend(found),
                Err(e) => {
                    eprintln!("wiretap: {}: {e}", path.display());
                    unreadable = true;
                }
            }
        } else {
            captures.push(path.clone());
        }
    }
    let mut out = std::io::stdout().lock();
    let mut counts = [0usize; 3]; // unchanged, changed, new
    let mut progress = Progress::new(captures.len());
    for (done, path) in captures.iter().enumerate() {
        progress.show(done, path);
        if args.check || args.bless {
            match replay::check(path, args.bless) {
                Ok(outcome) => {
                    if outcome != Outcome::Unchanged {
                        progress.make_room();
                    }
                    let name = path.display();
                    let written = if args.bless { ", blessed" } else { "" };
                    let _ = match outcome {
                        Outcome::Unchanged => {
                            counts[0] += 1;
                            Ok(())
                        }
                        Outcome::Changed(diff) => {
                            counts[1] += 1;
                            write!(out, "changed{written}: {name}\n{diff}")
                        }
                        Outcome::New => {
                            counts[2] += 1;
                            writeln!(out, "new{written}: {name} (no transcript yet)")
                        }
                    };
                }
                Err(e) => {
                    progress.clear();
                    eprintln!("wiretap: {e}");
                    unreadable = true;
                }
            }
            continue;
        }
        progress.make_room();
        let (capture, warnings) = match replay::load_capture(path) {
            Ok(loaded) => loaded,
            Err(e) => {
                progress.clear();
                eprintln!("wiretap: {e}");
                unreadable = true;
                continue;
            }
        };
        if !warnings.is_empty() {
            progress.clear();
        }
        for warning in warnings {
            eprintln!("wiretap: {}: {warning}", path.display());
        }
        let transcript = dissect(&capture);
        let written = if args.json {
            out.write_all(transcript.to_json().as_bytes())
        } else {
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            writeln!(
                out,
                "{name}: client {} start {} ({} events)",
                capture.client,
                capture.start,
                transcript.events.len()
            )
            .and_then(|()| {
                if args.hex {
                    out.write_all(hex_transcript(&capture, &transcript).as_bytes())
                } else {
                    out.write_all(transcript.render().as_bytes())
                }
            })
        };
        // A reader that went away (a pager closed) is not an error worth more output.
        if written.is_err() {
            progress.clear();
            return ExitCode::SUCCESS;
        }
    }
    progress.clear();
    if args.check || args.bless {
        let [unchanged, changed, new] = counts;
        let _ = writeln!(out, "{unchanged} unchanged, {changed} changed, {new} new");
        if !args.bless && (changed > 0 || new > 0) {
            let _ = writeln!(out, "{}", replay::BLESS_HINT);
        }
    }
    let _ = out.flush();
    if unreadable {
        ExitCode::from(EXIT_UNREADABLE)
    } else if args.check && (counts[1] > 0 || counts[2] > 0) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The most bytes of one event `replay --hex` dumps.
const HEX_CAP: usize = 256;

/// `replay --hex`: each event's line, then its bytes as a hex dump with the fields marked.
fn hex_transcript(capture: &Capture, transcript: &Transcript) -> String {
    let streams = [
        capture.stream(Direction::ClientToServer),
        capture.stream(Direction::ServerToClient),
    ];
    let mut out = String::new();
    for event in &transcript.events {
        out.push_str(&render_line(event));
        out.push('\n');
        let stream = match event.dir {
            Direction::ClientToServer => &streams[0],
            Direction::ServerToClient => &streams[1],
        };
        let start = usize::try_from(event.at[0])
            .unwrap_or(usize::MAX)
            .min(stream.len());
        let end = usize::try_from(event.at[1])
            .unwrap_or(usize::MAX)
            .clamp(start, stream.len());
        let bytes = &stream[start..end];
        if !bytes.is_empty() {
            let fields = fields(event, bytes);
            out.push_str(&hex_dump(bytes, event.at[0], &fields, HEX_CAP, "      "));
        }
    }
    out
}

/// Files replayed before `replay` shows progress.
const PROGRESS_FROM: usize = 20;

/// `replay`'s progress line on stderr (`\r[12/345] NAME`): only when stderr is a terminal
/// and more than [`PROGRESS_FROM`] files are replayed; redrawn at most every 100 ms and
/// cleared before anything else is printed. Never writes to stdout.
#[derive(Debug)]
struct Progress {
    total: usize,
    enabled: bool,
    shown: bool,
    stdout_tty: bool,
    last: Option<Instant>,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self {
            total,
            enabled: total > PROGRESS_FROM && std::io::stderr().is_terminal(),
            shown: false,
            stdout_tty: std::io::stdout().is_terminal(),
            last: None,
        }
    }

    /// Clears the line before stdout output when stdout shares the terminal.
    fn make_room(&mut self) {
        if self.stdout_tty {
            self.clear();
        }
    }

    fn show(&mut self, done: usize, path: &Path) {
        if !self.enabled
            || self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(Instant::now());
        let name = replay::name_of(path);
        let name: String = name.chars().take(60).collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K[{done}/{}] {name}", self.total);
        let _ = err.flush();
        self.shown = true;
    }

    fn clear(&mut self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
            self.shown = false;
            self.last = None;
        }
    }
}

/// `wiretap diff A B`: exit 0 when the transcripts are equal, 1 when they differ, 2 when a
/// file could not be read.
fn diff(a: &Path, b: &Path) -> ExitCode {
    let read = |path: &Path| {
        replay::transcript_of(path).map_err(|e| {
            eprintln!("wiretap: {e}");
        })
    };
    let (Ok(expected), Ok(actual)) = (read(a), read(b)) else {
        return ExitCode::from(EXIT_UNREADABLE);
    };
    // `write!`, not `print!`: a reader that went away (`| head`) must not make a panic.
    let mut out = std::io::stdout().lock();
    match diff_transcripts(&expected, &actual) {
        None => {
            let _ = writeln!(out, "same {} events", expected.events.len());
            ExitCode::SUCCESS
        }
        Some(report) => {
            let _ = write!(out, "--- {}\n+++ {}\n{report}", a.display(), b.display());
            ExitCode::FAILURE
        }
    }
}

/// `wiretap keep ID --name NAME`: exit 0 when the capture and its transcript are in the
/// corpus, 1 otherwise.
fn keep(recorded: &Path, id: &str, corpus: &Path, name: &str) -> ExitCode {
    match replay::keep(recorded, id, corpus, name) {
        Ok((path, transcript)) => {
            let _ = writeln!(
                std::io::stdout(),
                "kept as {} with its transcript ({} events); review, then git add {}",
                path.display(),
                transcript.events.len(),
                corpus.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wiretap: {e}");
            ExitCode::FAILURE
        }
    }
}
