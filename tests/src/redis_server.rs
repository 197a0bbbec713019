//! A real `redis-server` child process on a free loopback port: the oracle
//! for differential tests and the reference for protocol details.

use crate::conn::RespConn;
use crate::tools::free_port;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a fresh redis-server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts with a new port when the chosen one was taken meanwhile.
const START_ATTEMPTS: usize = 5;

/// A running redis-server; killed (SIGKILL) and reaped on drop, so a
/// panicking test never leaves one behind.
pub struct RedisServer {
    child: Child,
    port: u16,
    /// Its own working directory (removed on drop), so that a dump one
    /// test's server writes is never loaded by the next test's server.
    dir: PathBuf,
}

impl RedisServer {
    /// Starts `binary` with no persistence (`--save "" --appendonly no`),
    /// bound to 127.0.0.1, plus `extra_args`.
    pub fn start(binary: &Path, extra_args: &[&str]) -> io::Result<RedisServer> {
        let mut last_error = io::Error::other("redis-server never started");
        for _ in 0..START_ATTEMPTS {
            match Self::start_on(binary, free_port(), extra_args) {
                Ok(server) => return Ok(server),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    fn start_on(binary: &Path, port: u16, extra_args: &[&str]) -> io::Result<RedisServer> {
        // `--port 0` is refused by redis-server, hence the pre-picked port.
        let port_text = port.to_string();
        let dir = crate::keel::scratch_dir();
        let child = Command::new(binary)
            .args(["--port", &port_text, "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--dir", &dir.to_string_lossy()])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .inspect_err(|_| {
                let _ = std::fs::remove_dir_all(&dir);
            })?;
        let mut server = RedisServer { child, port, dir };
        server.wait_until_listening()?;
        Ok(server)
    }

    /// Waits for the port to accept connections; fails if the process exits
    /// first (typically: the port was taken by someone else).
    fn wait_until_listening(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "redis-server on port {} exited at start: {status}",
                    self.port
                )));
            }
            if TcpStream::connect(self.addr()).is_ok() {
                return self.check_identity();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(io::Error::other(format!(
            "redis-server on port {} did not listen within {START_TIMEOUT:?}",
            self.port
        )))
    }

    /// Makes sure the server on the port is this child, not another
    /// process that took the port first (ours then fails to bind and exits).
    fn check_identity(&self) -> io::Result<()> {
        let mut conn = RespConn::connect(self.addr())?;
        let info = conn.call(&["INFO", "server"])?.text().unwrap_or_default();
        let expected = format!("process_id:{}\r\n", self.child.id());
        if info.contains(&expected) {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "port {} is served by another process",
                self.port
            )))
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
