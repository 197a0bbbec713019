//! `keel-sim`: Keel's deterministic simulation harness on turmoil.
//!
//! The server in a simulation is the production driver itself
//! ([`keel_net::serve`]), given turmoil's network ([`SimTransport`]) and
//! turmoil's virtual time ([`SimClock`]) instead of tokio TCP and the OS
//! clocks. Simulated clients ([`SimClient`]) talk RESP to it and fold every
//! reply, with the virtual time it arrived at, into a [`Trace`]: one seed
//! must always give the same trace hash.
//!
//! # `tokio_unstable`
//!
//! Not needed. Runs are deterministic without it: turmoil orders hosts and
//! message delivery from its seed, a `LocalSet` runs tasks first-in
//! first-out, and every `select!` in the driver and here is `biased;`, so
//! tokio's own random branch choice never comes into play. Building with
//! `RUSTFLAGS="--cfg tokio_unstable"` adds one thing: turmoil then makes a
//! panic in any task of a host fail the simulation at once (without it, a
//! panicking server task only ends that task, and the test fails later,
//! when its client waits in vain until the simulation's time limit).
//!
//! # The harness
//!
//! - [`fault`]: what the nemesis can do to a host besides the network
//!   (clock offset, drift and jumps; pause); [`fault_disk`]: the simulated
//!   [`keel_net::Disk`] on turmoil's filesystem with its own faults (fsync
//!   errors, lost writes, disk full, bit flips at rest).
//! - [`nemesis`]: a fault schedule drawn from the seed, applied from the
//!   outer `sim.step()` loop.
//! - [`workload`]: clients with timeouts and reconnects running register,
//!   counter and list-append operations, recorded in a [`history::History`].
//! - [`runner`]: one seed end to end (banner, safety phase, liveness phase,
//!   checks, trace hash); `src/main.rs` is its command line.

pub mod check;
pub mod durable;
pub mod history;
pub mod jsonl;

pub mod fault;
pub mod fault_disk;
pub mod nemesis;
pub mod repl_scenario;
pub mod runner;
pub mod runner_checks;
pub mod watch_scenario;
pub mod workload;

use bytes::BytesMut;
use keel_engine::resp::frame::{read_frame, Frame};
use keel_engine::testing::request;
use keel_engine::{Config, Now};
use keel_net::clock::millis;
use keel_net::{Accepted, Clock, Listener, PauseGate, Transport};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The port simulated servers listen on.
pub const SERVER_PORT: u16 = 6379;

/// turmoil's simulated TCP.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimTransport;

/// A listener on turmoil's network.
pub struct SimListener(turmoil::net::TcpListener);

impl Transport for SimTransport {
    type Listener = SimListener;

    async fn bind(&self, addr: SocketAddr, _backlog: u32) -> io::Result<SimListener> {
        turmoil::net::TcpListener::bind(addr).await.map(SimListener)
    }

    /// A replica's link to its master: `host` is a simulated host name.
    async fn connect(&self, host: &str, port: u16) -> io::Result<turmoil::net::TcpStream> {
        turmoil::net::TcpStream::connect((host, port)).await
    }
}

impl Listener for SimListener {
    type Stream = turmoil::net::TcpStream;

    async fn accept(&self, _keepalive_secs: u64) -> io::Result<Accepted<Self::Stream>> {
        let (stream, peer) = self.0.accept().await?;
        let local = stream.local_addr()?;
        Ok(Accepted {
            stream,
            peer,
            local,
            fd: -1,
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// How far a host's wall clock is from the simulation's true time: an
/// offset plus a drift. Shared between the host's [`SimClock`] and whoever
/// injects clock faults (the nemesis, a test); it outlives restarts, as a
/// machine's clock does.
#[derive(Debug, Clone, Default)]
pub struct ClockSkew(Rc<Cell<Skew>>);

#[derive(Debug, Clone, Copy, Default)]
struct Skew {
    offset_ms: i64,
    /// Extra milliseconds per million of true time: positive runs fast.
    drift_ppm: i64,
    /// The true time (unix ms) the drift counts from.
    drift_from_ms: u64,
}

impl ClockSkew {
    /// Sets the offset (any drift accrued so far is dropped with it).
    pub fn set(&self, offset_ms: i64) {
        self.update(|s| s.offset_ms = offset_ms);
    }

    /// The offset, not counting drift.
    pub fn get(&self) -> i64 {
        self.0.get().offset_ms
    }

    /// Moves the wall clock by `delta_ms`, forward or back, at once.
    pub fn jump(&self, delta_ms: i64) {
        self.update(|s| s.offset_ms = s.offset_ms.saturating_add(delta_ms));
    }

    /// From `true_now_ms` on, the clock gains `ppm` milliseconds per
    /// million (loses, if negative). What drifted so far becomes offset.
    pub fn set_drift(&self, ppm: i64, true_now_ms: u64) {
        let offset_ms = self.offset_at(true_now_ms);
        self.update(|s| {
            s.offset_ms = offset_ms;
            s.drift_ppm = ppm;
            s.drift_from_ms = true_now_ms;
        });
    }

    pub fn drift_ppm(&self) -> i64 {
        self.0.get().drift_ppm
    }

    /// The whole skew (offset plus drift) at true time `true_ms`.
    pub fn offset_at(&self, true_ms: u64) -> i64 {
        let s = self.0.get();
        let since = i128::from(true_ms.saturating_sub(s.drift_from_ms));
        let drifted = since * i128::from(s.drift_ppm) / 1_000_000;
        let total = i128::from(s.offset_ms) + drifted;
        i64::try_from(total).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX })
    }

    fn update(&self, f: impl FnOnce(&mut Skew)) {
        let mut s = self.0.get();
        f(&mut s);
        self.0.set(s);
    }
}

/// turmoil's virtual time, as seen by one host: monotonic time is how long
/// the host has run (it survives restarts, as a machine's would, and never
/// goes back), and wall time is the simulation's epoch plus elapsed time
/// plus the host's skew (offset, drift, jumps: it may go back).
#[derive(Debug, Clone, Default)]
pub struct SimClock {
    skew: ClockSkew,
}

impl SimClock {
    pub fn new(skew: ClockSkew) -> Self {
        SimClock { skew }
    }
}

impl Clock for SimClock {
    fn now(&self) -> Now {
        let mono = millis(turmoil::elapsed());
        let true_unix = turmoil::since_epoch().map_or(0, millis);
        let unix = true_unix.saturating_add_signed(self.skew.offset_at(true_unix));
        Now::new(mono, unix)
    }

    fn sleep_until(&self, mono_ms: u64) -> impl Future<Output = ()> {
        let wait = mono_ms.saturating_sub(self.now().mono_ms);
        tokio::time::sleep(Duration::from_millis(wait))
    }
}

/// A server config for a simulated host: every address, [`SERVER_PORT`],
/// and the run's seed for the core's randomness.
pub fn server_config(seed: u64) -> Config {
    Config {
        seed,
        bind: vec!["0.0.0.0".into()],
        port: SERVER_PORT,
        // Simulated clients connect from other hosts' addresses, as remote
        // clients do: protected mode would refuse them.
        protected_mode: false,
        // Files live on the host's simulated disk (see `fault::HostControl`).
        dir: fault::DATA_DIR.into(),
        ..Default::default()
    }
}

/// A host's software: the production driver on turmoil, serving until the
/// host is stopped or a client runs SHUTDOWN.
pub async fn run_server(config: Config, skew: ClockSkew) -> turmoil::Result {
    run_server_paused_by(config, skew, PauseGate::new()).await
}

/// [`run_server`], obeying `pause` (the nemesis's pause fault).
pub async fn run_server_paused_by(
    config: Config,
    skew: ClockSkew,
    pause: PauseGate,
) -> turmoil::Result {
    keel_net::Server::bind(config, &SimTransport, SimClock::new(skew))
        .await?
        .with_pause_gate(pause)
        .run(std::future::pending())
        .await?;
    Ok(())
}

/// [`run_server_paused_by`] keeping its files on `disk` (the host's
/// simulated disk, with the nemesis's faults) under `config.dir`: the
/// snapshot it loads at start and the ones it saves.
pub async fn run_server_on_disk(
    config: Config,
    skew: ClockSkew,
    pause: PauseGate,
    disk: fault_disk::SimDisk,
) -> turmoil::Result {
    keel_net::Server::bind(config, &SimTransport, SimClock::new(skew))
        .await?
        .with_pause_gate(pause)
        .with_disk(disk)
        .run(std::future::pending())
        .await?;
    Ok(())
}

/// 64-bit FNV-1a: what every trace of a run is folded into, so two runs
/// of one seed can be compared by a single number.
#[derive(Debug, Clone)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    pub fn mix(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub fn value(&self) -> u64 {
        self.0
    }
}

/// What clients observed, folded into one hash: every reply's bytes,
/// which client got it and at what virtual time.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    hash: Fnv1a,
    replies: u64,
}

impl Trace {
    fn mix(&mut self, bytes: &[u8]) {
        self.hash.mix(bytes);
    }

    /// Records one reply received by client `client` at virtual time `at_ms`.
    pub fn record(&mut self, client: u64, at_ms: u64, reply: &[u8]) {
        self.mix(&client.to_le_bytes());
        self.mix(&at_ms.to_le_bytes());
        self.mix(&(reply.len() as u64).to_le_bytes());
        self.mix(reply);
        self.replies += 1;
    }

    pub fn hash(&self) -> u64 {
        self.hash.value()
    }

    /// How many replies were recorded.
    pub fn replies(&self) -> u64 {
        self.replies
    }
}

/// A RESP client on turmoil's network that records what it receives.
pub struct SimClient {
    id: u64,
    stream: turmoil::net::TcpStream,
    buf: BytesMut,
    trace: Rc<RefCell<Trace>>,
}

impl SimClient {
    /// Connects to `host` (a simulated host name) on [`SERVER_PORT`].
    /// `id` names the client in the trace.
    pub async fn connect(host: &str, id: u64, trace: Rc<RefCell<Trace>>) -> io::Result<Self> {
        let stream = turmoil::net::TcpStream::connect((host, SERVER_PORT)).await?;
        Ok(SimClient {
            id,
            stream,
            buf: BytesMut::new(),
            trace,
        })
    }

    /// Sends one command and returns its reply.
    pub async fn call(&mut self, args: &[&str]) -> io::Result<Frame> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.stream.write_all(&request(&args)).await?;
        self.read().await?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::UnexpectedEof, "server closed the connection")
        })
    }

    /// The next reply, or `None` once the server has closed the connection.
    pub async fn read(&mut self) -> io::Result<Option<Frame>> {
        loop {
            let before = self.buf.clone();
            match read_frame(&mut self.buf) {
                Ok(Some(frame)) => {
                    let used = before.len() - self.buf.len();
                    let at = millis(turmoil::sim_elapsed().unwrap_or_default());
                    self.trace.borrow_mut().record(self.id, at, &before[..used]);
                    return Ok(Some(frame));
                }
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.0)),
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_adds_offset_jumps_and_drift() {
        let skew = ClockSkew::default();
        assert_eq!(skew.offset_at(5_000), 0);
        skew.set(-300);
        skew.jump(1_000);
        assert_eq!(skew.get(), 700);
        // +10% from true time 10 s on.
        skew.set_drift(100_000, 10_000);
        assert_eq!(skew.offset_at(10_000), 700);
        assert_eq!(skew.offset_at(20_000), 1_700);
        // A new rate keeps what drifted so far.
        skew.set_drift(-50_000, 20_000);
        assert_eq!(skew.offset_at(20_000), 1_700);
        assert_eq!(skew.offset_at(40_000), 700);
        skew.set_drift(0, 40_000);
        assert_eq!(skew.offset_at(1_000_000), 700);
        assert_eq!(skew.drift_ppm(), 0);
        skew.jump(-10_000);
        assert_eq!(skew.offset_at(1_000_000), -9_300, "jumps go back too");
    }
}
