//! A Keel server for tests, run in-process by the real driver
//! (`keel_net::spawn_server`) on a free loopback port.

use keel_engine::Config;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// A running Keel server; shut down on drop (also when a test panics).
pub struct KeelServer {
    /// Stops the server and waits for it (the handle's `shutdown`).
    stop: Option<Box<dyn FnOnce()>>,
    addr: SocketAddr,
    /// The scratch directory made for a config that kept `dir "."`,
    /// removed on drop, so no test leaves a dump.rdb in the repository.
    scratch: Option<PathBuf>,
}

/// A new empty directory under the system's temporary directory.
pub(crate) fn scratch_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("keel-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

impl KeelServer {
    /// A server with the default configuration.
    pub fn start() -> KeelServer {
        Self::with_config(Config::default())
    }

    /// A server with `config`, except that it always listens on a free
    /// port of 127.0.0.1 (tests run in parallel), and that the default
    /// `dir "."` becomes a scratch directory of its own.
    pub fn with_config(mut config: Config) -> KeelServer {
        config.port = 0;
        config.bind = vec!["127.0.0.1".into()];
        let scratch = (config.dir == ".").then(scratch_dir);
        if let Some(dir) = &scratch {
            config.dir = dir.display().to_string();
        }
        let handle = keel_net::spawn_server(config).expect("keel server starts");
        let addr = handle.addr();
        KeelServer {
            stop: Some(Box::new(move || handle.shutdown())),
            addr,
            scratch,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A `redis://` URL for this server, with `?protocol=resp3` when asked.
    pub fn url(&self, resp3: bool) -> String {
        let query = if resp3 { "?protocol=resp3" } else { "" };
        format!("redis://{}/{query}", self.addr)
    }
}

impl Drop for KeelServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
        if let Some(dir) = self.scratch.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
