//! The server room: everything that touches the file system, the clock or a socket.
//!
//! The protocol rooms (`http`, `ws`) are sans-IO; this is where their decisions meet the
//! world:
//!
//! - [`files`]: the static-file decisions (which file a request-target names, its validators,
//!   conditional requests and byte ranges), with no async and no sockets.
//! - `conn`: one task per TCP connection: reads requests with [`crate::http::RequestParser`],
//!   answers them from `www/`, and hands upgrades to `websocket`.
//! - `websocket`: runs a [`crate::ws::Connection`] over the socket for the `/echo` and
//!   `/chat` endpoints (and the inspector's `/api/live`), with idle pings and the closing
//!   handshake.
//! - `inspector`: the JSON API and live feed over the recording folder, for the page in
//!   `www/inspector/`, with its access rule.
//!
//! [`Server`] binds, accepts and shuts down gracefully; [`Config`] holds every limit and
//! timeout with its default.
//!
//! Threads: one `smol` executor runs every connection task on as many threads as the
//! machine has cores. Memory: a connection owns no read buffer while it waits; bytes are
//! read into a per-thread buffer and handed to the sans-IO parsers at once, so an idle
//! WebSocket costs its `ws::Connection` and its task, not a 64 KiB buffer.

mod alarm;
mod conn;
pub mod files;
mod inspector;
mod websocket;
mod wire;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use smol::channel::{Receiver, Sender};
use smol::future::FutureExt as _;
use smol::net::TcpListener;
use smol::Executor;

pub use inspector::{new_token, Access};

use crate::capture::{ConnCapture, Recorder, RecorderConfig, RecorderHandle};
use crate::{http, ws};

/// Every limit and timeout of the server, with the defaults `wiretap serve` uses.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen. Default `127.0.0.1:8080`: loopback, so a first run exposes nothing.
    pub addr: SocketAddr,
    /// The folder served as `/`. Default `www`.
    pub www: PathBuf,
    /// Request-head and body limits (414, 431, 413); see [`http::Limits`].
    pub http: http::Limits,
    /// Frame and message limits (1009) and the close-handshake timeout; see [`ws::Limits`].
    /// The default admits the 16 MiB messages of Autobahn's 9.x cases.
    pub ws: ws::Limits,
    /// Time allowed to receive a whole request head once its first byte arrived: the cure
    /// for slowloris. Default 10 s (nginx `client_header_timeout` 60 s, Apache
    /// `RequestReadTimeout` header=20-40; ours is stricter because heads are small).
    pub header_timeout: Duration,
    /// How long a keep-alive connection may wait for its next request. Default 30 s (nginx
    /// `keepalive_timeout` 75 s, Apache `KeepAliveTimeout` 5 s, node.js 5 s).
    pub keep_alive_timeout: Duration,
    /// Silence after which the server pings a WebSocket peer. Default 30 s (a common NAT
    /// idle window is 60 s or more; browsers answer pings by themselves).
    pub ws_ping_interval: Duration,
    /// Silence after which a WebSocket is closed (1001). Default 75 s: two pings unanswered.
    pub ws_idle_timeout: Duration,
    /// How long one write may stall (a peer that stopped reading) before the connection is
    /// dropped. Default 10 s.
    pub write_timeout: Duration,
    /// Connections served at once; one more gets `503` and is closed. Default 10 000.
    pub max_connections: usize,
    /// Chat messages queued for one `/chat` client; a client that falls this far behind is
    /// closed with 1008 (policy violation: it does not keep up). Default 256.
    pub chat_queue: usize,
    /// How long a graceful shutdown waits for in-flight responses and closing handshakes.
    /// Default 5 s.
    pub shutdown_grace: Duration,
    /// Executor threads. Default: the number of cores.
    pub threads: usize,
    /// Where and how to record every connection; `None` records nothing. Default `None`
    /// for the library (an embedding program or a test opts in); `wiretap serve` records
    /// into `captures/recorded/` unless told `--no-record`.
    pub record: Option<RecorderConfig>,
    /// Who may use the inspector's API and live feed (over the recording folder). Default
    /// [`Access::Loopback`]; `wiretap serve` asks for a token on any other address.
    pub inspector: Access,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            www: PathBuf::from("www"),
            http: http::Limits::default(),
            ws: ws::Limits::default(),
            header_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(30),
            ws_ping_interval: Duration::from_secs(30),
            ws_idle_timeout: Duration::from_secs(75),
            write_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            chat_queue: 256,
            shutdown_grace: Duration::from_secs(5),
            threads: thread::available_parallelism().map_or(2, |n| n.get()),
            record: None,
            inspector: Access::Loopback,
        }
    }
}

/// What every connection task shares.
#[derive(Debug)]
struct Shared {
    config: Config,
    root: files::Root,
    /// Open connections, for the 503 limit and to know when a shutdown is done.
    connections: AtomicUsize,
    chat: websocket::ChatRoom,
    /// Closed when the server shuts down: every task waits on it alongside its socket.
    shutdown: Receiver<()>,
    /// When the server started, the zero of every `ws::Connection` clock.
    started: Instant,
    /// Opens each connection's capture, when recording.
    recorder: Option<RecorderHandle>,
    /// The recording folder as the inspector shows it.
    catalog: Arc<inspector::Catalog>,
}

impl Shared {
    /// The capture of a new connection from `peer`, when recording.
    fn open_capture(&self, peer: SocketAddr, local: SocketAddr) -> Option<ConnCapture> {
        self.recorder.as_ref().map(|r| r.open(peer, local))
    }

    fn shutting_down(&self) -> bool {
        self.shutdown.is_closed()
    }

    /// Resolves when the server starts shutting down.
    async fn shutdown_signal(&self) {
        // Nothing is ever sent: the channel closes.
        let _ = self.shutdown.recv().await;
    }
}

/// Counts a connection for as long as it lives.
struct ConnectionGuard(Arc<Shared>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A bound server, ready to [`run`](Self::run).
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: Sender<()>,
    recorder: Option<Recorder>,
}

impl Server {
    /// Binds `config.addr`, checks that `config.www` is a folder, and, when recording,
    /// starts the recorder (which first finalizes the captures a crash left; see
    /// [`recovered`](Self::recovered)).
    pub async fn bind(config: Config) -> io::Result<Self> {
        let root = files::Root::new(&config.www)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", config.www.display())))?;
        let listener = TcpListener::bind(config.addr).await?;
        let recorder =
            match &config.record {
                Some(record) => Some(Recorder::start(record.clone()).map_err(|e| {
                    io::Error::new(e.kind(), format!("{}: {e}", record.dir.display()))
                })?),
                None => None,
            };
        let (stop, shutdown) = smol::channel::bounded(1);
        let shared = Arc::new(Shared {
            chat: websocket::ChatRoom::default(),
            config,
            root,
            connections: AtomicUsize::new(0),
            shutdown,
            started: Instant::now(),
            recorder: recorder.as_ref().map(Recorder::handle),
            catalog: Arc::new(inspector::Catalog::new(
                recorder.as_ref().map(|r| (r.dir(), r.handle())),
            )),
        });
        Ok(Self {
            listener,
            shared,
            stop,
            recorder,
        })
    }

    /// Where it records, when it does.
    pub fn capture_dir(&self) -> Option<&std::path::Path> {
        self.recorder.as_ref().map(Recorder::dir)
    }

    /// The captures finalized at start from the `.partial` files a crash left behind.
    pub fn recovered(&self) -> &[PathBuf] {
        self.recorder.as_ref().map_or(&[], Recorder::recovered)
    }

    /// The address it listens on (with the real port when the configured one was 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The canonical folder it serves.
    pub fn root(&self) -> &std::path::Path {
        self.shared.root.path()
    }

    /// Accepts and serves connections on `executor` until `shutdown` resolves; then stops
    /// accepting, sends close 1001 to every WebSocket client, lets in-flight responses
    /// finish, and returns once every connection is gone or the grace period is over.
    pub async fn run(
        self,
        executor: &Executor<'static>,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let accepting = async {
            loop {
                let (stream, peer) = match self.listener.accept().await {
                    Ok(accepted) => accepted,
                    // Out of file descriptors, or a connection reset before accept: log it,
                    // breathe, and keep serving the others.
                    Err(e) => {
                        log::warn!("accept failed: {e}");
                        smol::Timer::after(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let shared = self.shared.clone();
                let count = shared.connections.fetch_add(1, Ordering::AcqRel) + 1;
                let guard = ConnectionGuard(shared.clone());
                if count > shared.config.max_connections {
                    log::warn!(
                        "{peer}: over {} connections, 503",
                        shared.config.max_connections
                    );
                    executor
                        .spawn(async move {
                            conn::refuse_busy(stream, peer, &shared).await;
                            drop(guard);
                        })
                        .detach();
                    continue;
                }
                executor
                    .spawn(async move {
                        conn::serve(stream, peer, &shared).await;
                        drop(guard);
                    })
                    .detach();
            }
        };
        accepting.or(shutdown).await;

        log::info!(
            "shutting down: {} connection(s) open",
            self.shared.connections.load(Ordering::Acquire)
        );
        drop(self.listener);
        self.stop.close();
        let deadline = Instant::now() + self.shared.config.shutdown_grace;
        while self.shared.connections.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            smol::Timer::after(Duration::from_millis(10)).await;
        }
        let left = self.shared.connections.load(Ordering::Acquire);
        if left > 0 {
            log::warn!("{left} connection(s) still open after the grace period; leaving them");
        }
        if let Some(recorder) = self.recorder {
            // Blocking file work (finalizing every open capture): off the executor.
            let stats = smol::unblock(move || recorder.shutdown()).await;
            log::info!("recording stopped: {stats:?}");
        }
        Ok(())
    }
}

impl Server {
    /// Runs on `threads` executor threads (this one and `threads - 1` more) until
    /// `shutdown` resolves and the graceful shutdown is over.
    pub fn run_blocking(
        self,
        threads: usize,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let executor = Arc::new(Executor::new());
        // The helper threads run until the main one is done and drops `done`.
        let (done, finished) = smol::channel::bounded::<()>(1);
        let mut helpers = Vec::new();
        for i in 1..threads.max(1) {
            let (executor, finished) = (executor.clone(), finished.clone());
            helpers.push(
                thread::Builder::new()
                    .name(format!("wiretap-{i}"))
                    .spawn(move || smol::block_on(executor.run(finished.recv())))?,
            );
        }
        let result = smol::block_on(executor.run(self.run(&executor, shutdown)));
        drop(done);
        for helper in helpers {
            let _ = helper.join();
        }
        result
    }
}

/// A server running on its own threads, for tests and embedding: [`start`] it, talk to
/// [`addr`](Self::addr), then [`stop`](Self::stop) it.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Sender<()>,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

/// Binds and runs a server on background threads.
pub fn start(config: Config) -> io::Result<Running> {
    let threads = config.threads;
    let server = smol::block_on(Server::bind(config))?;
    let addr = server.local_addr()?;
    let (stop, stopped) = smol::channel::bounded::<()>(1);
    let thread = thread::Builder::new()
        .name("wiretap".into())
        .spawn(move || {
            server.run_blocking(threads, async {
                let _ = stopped.recv().await;
            })
        })?;
    Ok(Running {
        addr,
        stop,
        thread: Some(thread),
    })
}

impl Running {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shuts it down gracefully and waits until it has.
    pub fn stop(mut self) -> io::Result<()> {
        self.stop.close();
        match self.thread.take().map(thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
