//! A Keel server for tests, run in-process by the real driver
//! (`keel_net::spawn_server`) on a free loopback port.

use keel_engine::Config;
use std::net::SocketAddr;

/// A running Keel server; shut down on drop (also when a test panics).
pub struct KeelServer {
    /// Stops the server and waits for it (the handle's `shutdown`).
    stop: Option<Box<dyn FnOnce()>>,
    addr: SocketAddr,
}

impl KeelServer {
    /// A server with the default configuration.
    pub fn start() -> KeelServer {
        Self::with_config(Config::default())
    }

    /// A server with `config`, except that it always listens on a free
    /// port of 127.0.0.1 (tests run in parallel).
    pub fn with_config(mut config: Config) -> KeelServer {
        config.port = 0;
        config.bind = vec!["127.0.0.1".into()];
        let handle = keel_net::spawn_server(config).expect("keel server starts");
        let addr = handle.addr();
        KeelServer {
            stop: Some(Box::new(move || handle.shutdown())),
            addr,
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
    }
}
