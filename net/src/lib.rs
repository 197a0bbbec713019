//! `keel-net`: the tokio driver around the sans-IO core, and the pieces of
//! the `keel-server` binary (config file and flags, listeners, signals).
//!
//! The driver ([`serve`], [`Server`]) is generic over a [`Transport`] and a
//! [`Clock`], so the same code runs in production (tokio TCP, the OS
//! clocks) and in the turmoil simulation of `keel-sim` (simulated network,
//! virtual time). The third seam is a [`Disk`] ([`FsDisk`] for real files,
//! the default; [`Server::with_disk`] for another): the driver performs the
//! core's disk requests on it, in order. A [`PauseGate`] lets the
//! simulation stop a server as SIGSTOP would.
//!
//! The cargo feature `broken-stale-read` compiles in a deliberate bug (one
//! reply in 200 is replaced by the connection's previous reply) so that the
//! simulation can prove it catches bugs; never enable it otherwise.
//!
//! Contract used by the end-to-end tests:
//!
//! ```no_run
//! let handle = keel_net::spawn_server(keel_engine::Config {
//!     port: 0,
//!     ..Default::default()
//! })?;
//! let addr: std::net::SocketAddr = handle.addr();
//! // ... talk to `addr` ...
//! handle.shutdown();
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod clock;
pub mod conf;
pub mod disk;
mod driver;
mod group_commit;
pub mod pause;
pub mod transport;

pub use clock::{Clock, OsClock};
pub use disk::{Disk, DiskExecutor, DiskFile, Executor, FsDisk, OpenMode};
pub use driver::{serve, Server};
pub use pause::PauseGate;
pub use transport::{Accepted, Listener, TcpTransport, Transport};

use keel_engine::Config;
use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread;
use tokio::sync::oneshot;

/// A server started by [`spawn_server`], running on its own thread.
/// Dropping the handle stops the server too.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

/// Starts a server with `config` on its own thread, with its own
/// current-thread runtime, and returns once it is listening. Port 0 picks a
/// free port ([`ServerHandle::addr`] tells which).
pub fn spawn_server(config: Config) -> io::Result<ServerHandle> {
    let (ready_tx, ready_rx) = mpsc::channel::<io::Result<SocketAddr>>();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let thread = thread::Builder::new()
        .name("keel-server".into())
        .spawn(move || run_on_this_thread(config, ready_tx, stop_rx))?;
    let addr = match ready_rx.recv() {
        Ok(ready) => ready?,
        // The thread ended before saying whether it listens: report why.
        Err(_) => {
            return Err(match thread.join() {
                Ok(Err(e)) => e,
                _ => io::Error::other("server thread ended before listening"),
            })
        }
    };
    Ok(ServerHandle {
        addr,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

fn run_on_this_thread(
    config: Config,
    ready: mpsc::Sender<io::Result<SocketAddr>>,
    stop: oneshot::Receiver<()>,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let server = match Server::bind(config, &TcpTransport, OsClock::new()).await {
            Ok(server) => server,
            Err(e) => {
                let _ = ready.send(Err(io::Error::new(e.kind(), e.to_string())));
                return Err(e);
            }
        };
        let Some(&addr) = server.local_addrs().first() else {
            return Err(io::Error::other("no listening address"));
        };
        let _ = ready.send(Ok(addr));
        server
            .run(async move {
                // A dropped sender stops the server as well.
                let _ = stop.await;
            })
            .await
    })
}

impl ServerHandle {
    /// The first address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether the server has stopped on its own (a client ran SHUTDOWN).
    pub fn is_stopped(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            match thread.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("server ended with an error: {e}"),
                Err(_) => tracing::error!("server thread panicked"),
            }
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
