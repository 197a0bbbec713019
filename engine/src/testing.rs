//! A small in-process harness for driving a [`Node`] in tests: one clock
//! under the test's control, clients that send commands and read frames.

use crate::client::{ClientId, ClientInfo};
use crate::config::Config;
use crate::node::{Input, LogLevel, Node, Output};
use crate::resp::frame::{read_frame, Frame};
use crate::time::Now;
use bytes::BytesMut;
use std::collections::HashMap;

pub mod mem_disk;

pub struct Harness {
    pub node: Node,
    pub now: Now,
    inbox: HashMap<ClientId, BytesMut>,
    closed: Vec<ClientId>,
    pub shutdown: bool,
    /// Where the node's disk requests go (performed at once, in order).
    pub disk: mem_disk::MemDisk,
    /// Lines the node logged, oldest first.
    pub log: Vec<(LogLevel, String)>,
    /// The node's fatal error, if it stopped on one.
    pub fatal: Option<String>,
    /// Virtual milliseconds each slice of a running script takes (a slice
    /// is about 100k Lua instructions; 1 ms is close to real time). Set
    /// it higher to run a script "for seconds" in a few slices.
    pub slice_ms: u64,
}

/// Slices [`Harness::call`] runs waiting for a script's reply before it
/// gives up (the script is endless: use [`Harness::send`] and
/// [`Harness::advance`] or [`Harness::step_script`]).
pub const CALL_SLICE_LIMIT: usize = 10_000;

/// Encodes arguments as a RESP multibulk request.
pub fn request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl Harness {
    /// A node with `config`, at Unix time 1_700_000_000_000 ms, not
    /// started: it begins empty and never reads the disk for its data.
    pub fn new(config: Config) -> Self {
        Harness::with_disk(config, mem_disk::MemDisk::default())
    }

    /// A node with `config` over `disk`, not started yet (see [`Harness::start`]).
    pub fn with_disk(config: Config, disk: mem_disk::MemDisk) -> Self {
        let now = Now::new(0, 1_700_000_000_000);
        Harness {
            node: Node::new(config, now),
            now,
            inbox: HashMap::new(),
            closed: Vec::new(),
            shutdown: false,
            disk,
            log: Vec::new(),
            fatal: None,
            slice_ms: 1,
        }
    }

    /// Starts the node ([`Node::start`]): it reads its data file from the
    /// disk and begins loading it. Loading then goes on in steps as time
    /// passes ([`Harness::advance`] with 0 runs it to the end).
    pub fn start(&mut self) {
        self.node.start(self.now);
        self.drain();
    }

    /// A new node with `config` on this harness's disk, at the same time,
    /// started, as after a restart (clients and replies are forgotten).
    pub fn restart(&mut self, config: Config) {
        let disk = std::mem::take(&mut self.disk);
        let now = self.now;
        *self = Harness::with_disk(config, disk);
        self.now = now;
        self.node = Node::new(self.node.config().clone(), now);
        self.start();
    }

    /// Turns on recording of write effects (as an attached AOF would).
    pub fn record_effects(&mut self) {
        self.node.record_effects(true);
    }

    /// The write effects recorded since the last call, as words.
    pub fn effects(&mut self) -> Vec<Vec<String>> {
        self.node
            .drain_effects()
            .iter()
            .map(|e| {
                let mut words = e.words();
                words.insert(0, format!("db{}", e.db));
                words
            })
            .collect()
    }

    pub fn connect(&mut self) -> ClientId {
        let info = ClientInfo {
            addr: "127.0.0.1:50000".into(),
            laddr: "127.0.0.1:6379".into(),
            fd: 8,
        };
        let id = self.node.accept_client(self.now, info);
        self.drain();
        id
    }

    /// A time jump: moves both clocks forward by `ms` at once, then runs
    /// the timers that are due, at the new time. However long the jump,
    /// the cron runs at most once (and the next one is scheduled a period
    /// after the new time), as in a server whose process was stalled or
    /// whose clock jumped. To let time pass with every cron running at
    /// its own moment, use [`Harness::advance_by_ticks`] or
    /// [`Harness::advance_ticking`].
    ///
    /// While a script runs, time passes [`Harness::slice_ms`] per slice
    /// instead: the script runs until it ends or `ms` have passed, then
    /// the rest of the jump happens (and the script is left running).
    pub fn advance(&mut self, ms: u64) {
        let end = self.now.mono_ms.saturating_add(ms);
        while self.node.is_running_script() && self.now.mono_ms < end {
            let slice = self.slice_ms.max(1).min(end - self.now.mono_ms);
            self.step_script_by(slice);
        }
        let rest = end.saturating_sub(self.now.mono_ms);
        self.now.mono_ms += rest;
        self.now.unix_ms += rest;
        while let Some(t) = self.node.poll_timeout() {
            if t > self.now.mono_ms || self.node.is_running_script() {
                break;
            }
            self.node.handle_timeout(self.now);
            self.drain();
        }
    }

    /// Runs one slice of the running script, [`Harness::slice_ms`] later.
    pub fn step_script(&mut self) {
        self.step_script_by(self.slice_ms);
    }

    fn step_script_by(&mut self, ms: u64) {
        self.now.mono_ms += ms;
        self.now.unix_ms += ms;
        self.node.handle_timeout(self.now);
        self.drain();
    }

    /// Runs the next `n` timers, each at its own time: the clocks move to
    /// the node's next deadline ([`Node::poll_timeout`]), the timer runs,
    /// and so on. With no DEBUG SLEEP under way that is `n` crons, one
    /// cron period (1000 / hz ms) apart.
    pub fn advance_by_ticks(&mut self, n: usize) {
        for _ in 0..n {
            let Some(deadline) = self.node.poll_timeout() else {
                return;
            };
            self.advance(deadline.saturating_sub(self.now.mono_ms));
        }
    }

    /// Moves the clocks forward by `ms` in total, running every timer that
    /// falls due on the way at its own time (so `ms / period` crons or so,
    /// where [`Harness::advance`] would run one).
    pub fn advance_ticking(&mut self, ms: u64) {
        let end = self.now.mono_ms.saturating_add(ms);
        while let Some(deadline) = self.node.poll_timeout() {
            if deadline > end {
                break;
            }
            self.advance(deadline.saturating_sub(self.now.mono_ms));
        }
        self.advance(end.saturating_sub(self.now.mono_ms));
    }

    /// Runs the node's timer once at the current time (one step of a
    /// background save or of loading, if one is wanted), without moving
    /// the clocks.
    pub fn tick(&mut self) {
        self.node.handle_timeout(self.now);
        self.drain();
    }

    /// SIGTERM ([`Node::request_shutdown`]).
    pub fn sigterm(&mut self) {
        self.node.request_shutdown(self.now);
        self.drain();
    }

    pub fn send_raw(&mut self, client: ClientId, data: &[u8]) {
        self.node
            .handle_input(self.now, Input::ClientData { client, data });
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(out) = self.node.poll_output() {
            match out {
                Output::Write { client, data } => self
                    .inbox
                    .entry(client)
                    .or_default()
                    .extend_from_slice(&data),
                Output::Close { client } | Output::Abort { client } => self.closed.push(client),
                Output::Shutdown => self.shutdown = true,
                Output::Log { level, text } => self.log.push((level, text)),
                Output::Fatal(text) => {
                    self.fatal = Some(text);
                    self.shutdown = true;
                }
                Output::Disk(request) => {
                    let result = self.disk.apply(&request.op);
                    let done = Input::DiskDone {
                        id: request.id,
                        result,
                    };
                    self.node.handle_input(self.now, done);
                }
                // No network here: outbound connections fail.
                Output::Connect { peer, .. } => {
                    self.node.handle_input(self.now, Input::PeerClosed { peer })
                }
            }
        }
    }

    /// The next complete reply frame for `client`, if any.
    pub fn read(&mut self, client: ClientId) -> Option<Frame> {
        let buf = self.inbox.entry(client).or_default();
        read_frame(buf).expect("well-formed reply")
    }

    /// Sends one command and returns its reply. A script it starts runs
    /// slice after slice (see [`Harness::slice_ms`]) until it answers.
    pub fn call(&mut self, client: ClientId, args: &[&str]) -> Frame {
        self.send(client, args);
        for _ in 0..CALL_SLICE_LIMIT {
            if let Some(frame) = self.read(client) {
                return frame;
            }
            if !self.node.is_running_script() {
                break;
            }
            self.step_script();
        }
        self.read(client).expect("a reply")
    }

    /// Sends one command without waiting for its reply (read it later
    /// with [`Harness::read`]).
    pub fn send(&mut self, client: ClientId, args: &[&str]) {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send_raw(client, &request(&args));
    }

    pub fn is_closed(&self, client: ClientId) -> bool {
        self.closed.contains(&client)
    }

    /// Bytes received by `client` and not yet read as frames.
    pub fn pending_bytes(&mut self, client: ClientId) -> Vec<u8> {
        self.inbox.entry(client).or_default().to_vec()
    }
}

impl Frame {
    /// Shorthand for assertions: a bulk or simple string's text.
    pub fn text(&self) -> Option<String> {
        match self {
            Frame::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Frame::Simple(s) | Frame::Error(s) => Some(s.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_hello_and_unknown_command() {
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        assert_eq!(h.call(c, &["PING"]), Frame::Simple("PONG".into()));
        assert_eq!(h.call(c, &["ping", "hi"]), Frame::Bulk("hi".into()));
        assert_eq!(
            h.call(c, &["NOPE", "a", "b"]),
            Frame::Error("ERR unknown command 'NOPE', with args beginning with: 'a' 'b' ".into())
        );
        let Frame::Map(m) = h.call(c, &["HELLO", "3"]) else {
            panic!("RESP3 map")
        };
        assert_eq!(m[2], (Frame::Bulk("proto".into()), Frame::Int(3)));
        assert_eq!(
            h.call(c, &["HELLO", "4"]),
            Frame::Error("NOPROTO unsupported protocol version".into())
        );
        assert_eq!(
            h.call(c, &["echo"]),
            Frame::Error("ERR wrong number of arguments for 'echo' command".into())
        );
        assert!(!h.is_closed(c));
    }

    #[test]
    fn auth_gates_commands() {
        let mut h = Harness::new(Config {
            requirepass: Some("secret".into()),
            ..Config::default()
        });
        let c = h.connect();
        assert_eq!(
            h.call(c, &["PING"]),
            Frame::Error("NOAUTH Authentication required.".into())
        );
        assert_eq!(
            h.call(c, &["AUTH", "wrong"]),
            Frame::Error("WRONGPASS invalid username-password pair or user is disabled.".into())
        );
        assert_eq!(h.call(c, &["AUTH", "secret"]), Frame::Simple("OK".into()));
        assert_eq!(h.call(c, &["PING"]), Frame::Simple("PONG".into()));
    }

    #[test]
    fn protocol_error_closes_after_reply() {
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        h.send_raw(c, b"*1\r\nxx\r\n");
        assert_eq!(
            h.read(c),
            Some(Frame::Error(
                "ERR Protocol error: expected '$', got 'x'".into()
            ))
        );
        assert!(h.is_closed(c));
    }

    /// Active expiry cycles run so far (INFO's `expire_cycles` counter).
    fn cycles(h: &mut Harness) -> u64 {
        h.node.server_mut().stats.expire_cycles
    }

    #[test]
    fn advance_jumps_while_ticks_step_one_cron_at_a_time() {
        // hz 10: a cron every 100 ms, the first one due at start.
        let mut h = Harness::new(Config::default());
        h.advance(10_000);
        assert_eq!(cycles(&mut h), 1, "a jump runs the cron once");
        assert_eq!(h.node.poll_timeout(), Some(h.now.mono_ms + 100));
        let start = h.now.mono_ms;
        h.advance_by_ticks(5);
        assert_eq!(cycles(&mut h), 6);
        assert_eq!(h.now.mono_ms, start + 500, "each tick is one period");
        h.advance(30);
        h.advance_by_ticks(1);
        assert_eq!((cycles(&mut h), h.now.mono_ms), (7, start + 600));
        // 1 s in steps: every cron on the way, then the remainder.
        h.advance_ticking(1_050);
        assert_eq!((cycles(&mut h), h.now.mono_ms), (17, start + 1_650));
        assert_eq!(h.now.unix_ms - h.now.mono_ms, 1_700_000_000_000);
    }

    #[test]
    fn ticks_follow_hz() {
        let mut h = Harness::new(Config {
            hz: 4,
            ..Config::default()
        });
        h.advance_by_ticks(3);
        assert_eq!((cycles(&mut h), h.now.mono_ms), (3, 500));
    }

    #[test]
    fn pipelines_of_thousands_in_one_read() {
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        let mut batch = Vec::new();
        for _ in 0..5000 {
            batch.extend_from_slice(&request(&[b"PING"]));
        }
        h.send_raw(c, &batch);
        for _ in 0..5000 {
            assert_eq!(h.read(c), Some(Frame::Simple("PONG".into())));
        }
        assert_eq!(h.read(c), None);
    }
}

#[cfg(test)]
mod protected_mode_tests {
    use super::*;
    use crate::node::PROTECTED_MODE_DENIED;

    fn connect_from(h: &mut Harness, addr: &str) -> ClientId {
        let info = ClientInfo {
            addr: addr.into(),
            laddr: "0.0.0.0:6379".into(),
            fd: 9,
        };
        let id = h.node.accept_client(h.now, info);
        h.drain();
        id
    }

    #[test]
    fn protected_mode_refuses_remote_clients_without_a_password() {
        let mut h = Harness::new(Config::default());
        let remote = connect_from(&mut h, "10.1.2.3:4000");
        assert_eq!(
            h.read(remote),
            Some(Frame::Error(PROTECTED_MODE_DENIED.into()))
        );
        assert!(h.is_closed(remote));
        let local = connect_from(&mut h, "[::1]:4000");
        assert_eq!(h.call(local, &["PING"]), Frame::Simple("PONG".into()));
    }

    #[test]
    fn a_password_or_protected_mode_no_lets_remote_clients_in() {
        for config in [
            Config {
                protected_mode: false,
                ..Config::default()
            },
            Config {
                requirepass: Some("pw".into()),
                ..Config::default()
            },
        ] {
            let mut h = Harness::new(config);
            let remote = connect_from(&mut h, "10.1.2.3:4000");
            assert!(!h.is_closed(remote));
            assert_eq!(h.read(remote), None);
        }
    }
}

#[cfg(test)]
mod idle_timeout_tests {
    use super::*;

    #[test]
    fn idle_clients_close_after_timeout_seconds_of_virtual_time() {
        let mut h = Harness::new(Config {
            timeout: 2,
            ..Config::default()
        });
        let idle = h.connect();
        let busy = h.connect();
        assert_eq!(h.call(idle, &["PING"]), Frame::Simple("PONG".into()));
        for _ in 0..19 {
            h.advance(100);
            assert_eq!(h.call(busy, &["PING"]), Frame::Simple("PONG".into()));
        }
        assert!(!h.is_closed(idle), "1.9 s idle is within the 2 s timeout");
        h.advance_ticking(300);
        assert!(h.is_closed(idle), "closed once idle for more than 2 s");
        assert!(!h.is_closed(busy), "a client that keeps talking stays");
    }
}
