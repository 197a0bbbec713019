//! A node following a fake master, fed the fuzzer's bytes as everything
//! that master sends: handshake replies, `+FULLRESYNC`/`+CONTINUE`, the
//! `$<len>`/`$EOF:` snapshot, then the command stream, in arbitrary
//! chunks. The node must never panic and must end in a valid state: it
//! answers its clients, reports a coherent replication state, and keeps
//! running (and retrying its link) as time passes, unless the stream told
//! it to SHUTDOWN.
//!
//! Input layout: byte 0 picks how much of a well-formed session comes
//! before the fuzzer's bytes (none, the handshake replies, those and a
//! `+FULLRESYNC` line, or a whole snapshot too, so that the fuzzer's bytes
//! are the stream); byte 1 the chunk size; the rest is sent.

#![no_main]

use keel_engine::rdb::writer::{RdbWriter, WriteOptions};
use keel_engine::resp::frame::{read_frame, Frame};
use keel_engine::testing::request;
use keel_engine::{ClientId, ClientInfo, Config, Input, Node, Now, Output};
use libfuzzer_sys::fuzz_target;

const REPLID: &str = "0123456789abcdef0123456789abcdef01234567";
const REPL_TIMEOUT_SECS: u64 = 2;
/// The offset the fake master's `+FULLRESYNC` names.
const FULL_SYNC_OFFSET: u64 = 1000;

/// The well-formed session prefix for scenario `which` (0..=3).
fn prefix(which: u8, now: Now) -> Vec<u8> {
    let mut out = Vec::new();
    if which >= 1 {
        // PING, REPLCONF listening-port, REPLCONF capa.
        out.extend_from_slice(b"+PONG\r\n+OK\r\n+OK\r\n");
    }
    if which >= 2 {
        out.extend_from_slice(format!("+FULLRESYNC {REPLID} {FULL_SYNC_OFFSET}\r\n").as_bytes());
    }
    if which >= 3 {
        let mut w = RdbWriter::new(WriteOptions::from_config(&Config::default(), now));
        w.begin::<&str, &str>(&[]);
        w.finish();
        let rdb = w.take_output();
        out.extend_from_slice(format!("${}\r\n", rdb.len()).as_bytes());
        out.extend_from_slice(&rdb);
    }
    out
}

struct Replica {
    node: Node,
    now: Now,
    /// The open link to the fake master, if any.
    peer: Option<ClientId>,
    client: ClientId,
    replies: Vec<u8>,
}

impl Replica {
    fn new() -> Replica {
        let config = Config {
            replicaof: Some(("master.invalid".into(), 6379)),
            // A silent master is given up on within the run's time.
            repl_timeout: REPL_TIMEOUT_SECS,
            ..Config::default()
        };
        let now = Now::new(0, 1_700_000_000_000);
        let mut node = Node::new(config, now);
        let info = ClientInfo {
            addr: "127.0.0.1:40000".into(),
            laddr: "127.0.0.1:6379".into(),
            fd: 5,
        };
        let client = node.accept_client(now, info);
        let mut r = Replica {
            node,
            now,
            peer: None,
            client,
            replies: Vec::new(),
        };
        r.node.handle_timeout(now);
        r.drain();
        r
    }

    /// Routes outputs: the first connection attempt succeeds, later ones
    /// are refused (the fake master is gone once its bytes are sent).
    fn drain(&mut self) {
        while let Some(out) = self.node.poll_output() {
            match out {
                Output::Connect { peer, .. } if self.peer.is_none() => {
                    self.peer = Some(peer);
                    self.node
                        .handle_input(self.now, Input::PeerConnected { peer });
                }
                Output::Connect { peer, .. } => {
                    self.node.handle_input(self.now, Input::PeerClosed { peer });
                }
                Output::Write { client, data } if client == self.client => {
                    self.replies.extend_from_slice(&data);
                }
                Output::Close { client } | Output::Abort { client } => {
                    let input = if Some(client) == self.peer {
                        Input::PeerClosed { peer: client }
                    } else {
                        Input::ClientClosed { client }
                    };
                    self.node.handle_input(self.now, input);
                }
                _ => {}
            }
        }
    }

    fn feed(&mut self, data: &[u8]) {
        if let Some(peer) = self.peer {
            self.node
                .handle_input(self.now, Input::PeerData { peer, data });
            self.drain();
        }
    }

    fn call(&mut self, args: &[&[u8]]) -> Frame {
        let data = request(args);
        let client = self.client;
        self.node.handle_input(
            self.now,
            Input::ClientData {
                client,
                data: &data,
            },
        );
        self.drain();
        let mut buf = bytes::BytesMut::from(&self.replies[..]);
        let frame = read_frame(&mut buf)
            .expect("a well-formed reply")
            .expect("a reply");
        self.replies = buf.to_vec();
        frame
    }

    fn advance(&mut self, ms: u64) {
        let end = self.now.mono_ms + ms;
        while self.now.mono_ms < end {
            let next = self
                .node
                .poll_timeout()
                .unwrap_or(end)
                .clamp(self.now.mono_ms + 1, end);
            self.now.unix_ms += next - self.now.mono_ms;
            self.now.mono_ms = next;
            self.node.handle_timeout(self.now);
            self.drain();
        }
    }

    fn info_field(&mut self, name: &str) -> Option<String> {
        let text = self.call(&[b"INFO", b"replication"]).text()?;
        let prefix = format!("{name}:");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(str::to_string)
    }

    /// The node serves its client and its replication state is coherent.
    /// A node told to SHUTDOWN by its master (as Redis, the master
    /// client's commands all run) has legitimately stopped serving.
    fn check_valid(&mut self) {
        if self.node.is_shutting_down() {
            return;
        }
        assert_eq!(self.call(&[b"PING"]), Frame::Simple("PONG".into()));
        let Frame::Array(role) = self.call(&[b"ROLE"]) else {
            panic!("ROLE is an array");
        };
        assert_eq!(role[0], Frame::Bulk("slave".into()));
        let status = self
            .info_field("master_link_status")
            .expect("a link status");
        assert!(status == "up" || status == "down", "{status}");
        if status == "up" {
            // What was applied was read first.
            let mut offset = |name| -> u64 {
                self.info_field(name)
                    .and_then(|o| o.parse().ok())
                    .expect("an offset")
            };
            let (applied, read) = (
                offset("slave_repl_offset"),
                offset("slave_read_repl_offset"),
            );
            assert!(applied <= read, "applied {applied} > read {read}");
        }
        assert!(matches!(self.call(&[b"DBSIZE"]), Frame::Int(n) if n >= 0));
    }
}

fuzz_target!(|data: &[u8]| {
    let [which, chunk, rest @ ..] = data else {
        return;
    };
    let mut replica = Replica::new();
    let mut session = prefix(which % 4, replica.now);
    session.extend_from_slice(rest);
    for part in session.chunks(usize::from(*chunk).max(1)) {
        replica.feed(part);
    }
    replica.check_valid();
    // The master goes away: the link drops, retries, and the node stays up.
    replica.advance(REPL_TIMEOUT_SECS * 1000 * 5);
    replica.check_valid();
});
