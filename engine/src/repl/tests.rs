//! Primaries and replicas in one process: a tiny network routes the
//! nodes' outputs (peer connections included) under the test's control.

use crate::client::{ClientId, ClientInfo};
use crate::config::Config;
use crate::node::{Input, Node, Output};
use crate::resp::frame::{read_frame, Frame};
use crate::testing::request;
use crate::time::Now;
use bytes::BytesMut;
use std::collections::{BTreeMap, HashMap};

/// Node `i` listens on port `BASE_PORT + i` of 127.0.0.1.
const BASE_PORT: u16 = 7000;

/// One end of a link: (node index, connection id on that node).
type End = (usize, ClientId);

struct Net {
    nodes: Vec<Node>,
    now: Now,
    /// Both directions of each open link between nodes.
    links: BTreeMap<End, End>,
    /// Replies for the test's own clients.
    inbox: HashMap<End, BytesMut>,
    /// Pairs of nodes that cannot reach each other.
    cut: Vec<(usize, usize)>,
    /// Each node's disk (requests are answered at once).
    disks: Vec<crate::testing::mem_disk::MemDisk>,
    /// Every byte each node received on its link to its master.
    wire: BTreeMap<usize, Vec<u8>>,
    /// Bytes on a link to a master arrive in pieces of this many bytes
    /// (None: each write whole), as reads may split them.
    peer_piece: Option<usize>,
}

fn config(i: usize) -> Config {
    Config {
        port: BASE_PORT + i as u16,
        seed: 100 + i as u64,
        // Syncs start at once (Redis's default waits 5 s for more replicas).
        repl_diskless_sync_delay: 0,
        ..Config::default()
    }
}

impl Net {
    fn new(n: usize) -> Net {
        Net::with(n, |_| {})
    }

    fn with(n: usize, tweak: impl Fn(&mut Config)) -> Net {
        let now = Now::new(0, 1_700_000_000_000);
        let nodes = (0..n)
            .map(|i| {
                let mut c = config(i);
                tweak(&mut c);
                Node::new(c, now)
            })
            .collect();
        let disks = (0..n).map(|_| Default::default()).collect();
        let mut net = Net {
            nodes,
            now,
            links: BTreeMap::new(),
            inbox: HashMap::new(),
            cut: Vec::new(),
            disks,
            wire: BTreeMap::new(),
            peer_piece: None,
        };
        net.settle();
        net
    }

    fn reachable(&self, a: usize, b: usize) -> bool {
        !self.cut.contains(&(a, b)) && !self.cut.contains(&(b, a))
    }

    /// Routes outputs until every node is quiet.
    fn settle(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                while let Some(out) = self.nodes[i].poll_output() {
                    moved = true;
                    self.route(i, out);
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn route(&mut self, from: usize, out: Output) {
        let now = self.now;
        match out {
            Output::Write { client, data } => match self.links.get(&(from, client)).copied() {
                Some((to, id)) if self.reachable(from, to) => {
                    self.deliver(from, client, to, id, &data)
                }
                Some(_) => {} // lost in the partition; the link times out
                None => self
                    .inbox
                    .entry((from, client))
                    .or_default()
                    .extend_from_slice(&data),
            },
            Output::Close { client } | Output::Abort { client } => {
                if let Some((to, id)) = self.links.remove(&(from, client)) {
                    self.links.remove(&(to, id));
                    let input = self.closed_input(to, id);
                    self.nodes[to].handle_input(now, input);
                }
                // As the driver: the connection's end is reported back.
                let input = self.closed_input(from, client);
                self.nodes[from].handle_input(now, input);
            }
            Output::Connect { peer, port, .. } => {
                let to = usize::from(port - BASE_PORT);
                if to >= self.nodes.len() || !self.reachable(from, to) {
                    self.nodes[from].handle_input(now, Input::PeerClosed { peer });
                    return;
                }
                let info = ClientInfo {
                    addr: format!("127.0.0.1:{}", 40000 + peer),
                    laddr: format!("127.0.0.1:{port}"),
                    fd: -1,
                };
                let id = self.nodes[to].accept_client(now, info);
                self.links.insert((from, peer), (to, id));
                self.links.insert((to, id), (from, peer));
                self.nodes[from].handle_input(now, Input::PeerConnected { peer });
            }
            Output::Disk(request) => {
                let result = self.disks[from].apply(&request.op);
                let done = Input::DiskDone {
                    id: request.id,
                    result,
                };
                self.nodes[from].handle_input(now, done);
            }
            Output::Shutdown | Output::Log { .. } | Output::Fatal(_) => {}
        }
    }

    /// Which input a closed connection is on node `to`: the side that
    /// opened it sees a peer closing.
    fn closed_input(&self, to: usize, id: ClientId) -> Input<'static> {
        if self.is_peer(to, id) {
            Input::PeerClosed { peer: id }
        } else {
            Input::ClientClosed { client: id }
        }
    }

    fn is_peer(&self, node: usize, id: ClientId) -> bool {
        self.nodes[node]
            .server()
            .repl
            .link
            .as_ref()
            .is_some_and(|l| l.peer() == Some(id))
    }

    fn deliver(&mut self, from: usize, client: ClientId, to: usize, id: ClientId, data: &[u8]) {
        let now = self.now;
        let _ = (from, client);
        if !self.is_peer(to, id) {
            self.nodes[to].handle_input(now, Input::ClientData { client: id, data });
            return;
        }
        self.wire.entry(to).or_default().extend_from_slice(data);
        let piece = self.peer_piece.unwrap_or(data.len()).max(1);
        for data in data.chunks(piece) {
            self.nodes[to].handle_input(now, Input::PeerData { peer: id, data });
        }
    }

    /// Drops every link between `a` and `b` and keeps them apart.
    fn partition(&mut self, a: usize, b: usize) {
        self.cut.push((a, b));
        let doomed: Vec<(End, End)> = self
            .links
            .iter()
            .filter(|((x, _), (y, _))| *x == a && *y == b || *x == b && *y == a)
            .map(|(k, v)| (*k, *v))
            .collect();
        for (end, _) in &doomed {
            self.links.remove(end);
        }
        for ((node, id), _) in doomed {
            let input = self.closed_input(node, id);
            let now = self.now;
            self.nodes[node].handle_input(now, input);
        }
        self.settle();
    }

    fn heal(&mut self) {
        self.cut.clear();
    }

    /// Node `i` restarts with `config` from what its disk holds (its
    /// links must be cut already), as a driver starts a node.
    fn restart(&mut self, i: usize, config: Config) {
        self.wire.remove(&i);
        self.nodes[i] = Node::new(config, self.now);
        self.nodes[i].start(self.now);
        self.settle();
    }

    fn connect(&mut self, node: usize) -> End {
        let info = ClientInfo {
            addr: "127.0.0.1:50000".into(),
            laddr: "127.0.0.1:6379".into(),
            fd: 8,
        };
        let id = self.nodes[node].accept_client(self.now, info);
        self.settle();
        (node, id)
    }

    fn send(&mut self, (node, id): End, args: &[&str]) {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let now = self.now;
        self.nodes[node].handle_input(
            now,
            Input::ClientData {
                client: id,
                data: &request(&args),
            },
        );
        self.settle();
    }

    fn read(&mut self, end: End) -> Option<Frame> {
        read_frame(self.inbox.entry(end).or_default()).expect("well-formed reply")
    }

    fn call(&mut self, end: End, args: &[&str]) -> Frame {
        self.send(end, args);
        self.read(end)
            .unwrap_or_else(|| panic!("a reply to {args:?}"))
    }

    /// Lets `ms` of virtual time pass in steps of 100 ms, timers running.
    fn run(&mut self, ms: u64) {
        let end = self.now.mono_ms + ms;
        while self.now.mono_ms < end {
            let step = 100.min(end - self.now.mono_ms);
            self.now.mono_ms += step;
            self.now.unix_ms += step;
            for i in 0..self.nodes.len() {
                while self.nodes[i]
                    .poll_timeout()
                    .is_some_and(|t| t <= self.now.mono_ms)
                {
                    self.nodes[i].handle_timeout(self.now);
                    self.settle();
                }
            }
        }
    }

    fn info(&mut self, end: End, field: &str) -> String {
        let Frame::Bulk(text) = self.call(end, &["INFO", "everything"]) else {
            panic!("INFO is a bulk")
        };
        let text = String::from_utf8_lossy(&text).into_owned();
        let prefix = format!("{field}:");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
            .unwrap_or_else(|| panic!("no {field} in INFO:\n{text}"))
    }

    /// Every key of every database, with its DUMP (a set: its sorted members) and expiry.
    fn dataset(&mut self, node: usize) -> Vec<(usize, String, Frame, Frame)> {
        let c = self.connect(node);
        let mut all = Vec::new();
        for db in 0..16 {
            self.call(c, &["SELECT", &db.to_string()]);
            let Frame::Array(keys) = self.call(c, &["KEYS", "*"]) else {
                panic!("KEYS is an array")
            };
            let mut keys: Vec<String> = keys.iter().filter_map(Frame::text).collect();
            keys.sort();
            for k in keys {
                let dump = match self.call(c, &["TYPE", &k]) {
                    // Members in any order: the same set.
                    Frame::Simple(t) if t == "set" => {
                        let Frame::Array(mut m) = self.call(c, &["SMEMBERS", &k]) else {
                            panic!("SMEMBERS is an array")
                        };
                        m.sort_by_key(Frame::text);
                        Frame::Array(m)
                    }
                    _ => self.call(c, &["DUMP", &k]),
                };
                let ttl = self.call(c, &["PEXPIRETIME", &k]);
                all.push((db, k, dump, ttl));
            }
        }
        all
    }
}

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

fn int(n: i64) -> Frame {
    Frame::Int(n)
}

/// Writes one key of every type (and a TTL, another database) through `c`.
fn write_every_type(net: &mut Net, c: End, tag: &str) {
    let k = |name: &str| format!("{tag}:{name}");
    net.call(c, &["SET", &k("str"), "value"]);
    net.call(c, &["SET", &k("ttl"), "v", "EX", "1000"]);
    net.call(c, &["INCRBY", &k("n"), "41"]);
    net.call(c, &["RPUSH", &k("list"), "a", "b", "c"]);
    net.call(c, &["HSET", &k("hash"), "f", "1", "g", "2"]);
    net.call(c, &["SADD", &k("set"), "x", "y", "7"]);
    net.call(c, &["ZADD", &k("zset"), "1.5", "m", "-2", "n"]);
    net.call(c, &["SELECT", "3"]);
    net.call(c, &["SET", &k("db3"), "three"]);
    net.call(c, &["SELECT", "0"]);
}

/// Node 1 follows node 0 and is synced.
fn primary_and_replica() -> (Net, End, End) {
    let mut net = Net::new(2);
    let p = net.connect(0);
    let r = net.connect(1);
    (net, p, r)
}

#[test]
fn full_sync_then_stream_of_every_type() {
    let (mut net, p, r) = primary_and_replica();
    write_every_type(&mut net, p, "before");
    assert_eq!(net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]), ok());
    assert_eq!(
        net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]),
        Frame::Simple("OK Already connected to specified master".into())
    );
    assert_eq!(net.info(r, "master_link_status"), "up");
    assert_eq!(net.info(p, "sync_full"), "1");
    write_every_type(&mut net, p, "after");
    net.call(p, &["SPOP", "after:set"]);
    net.call(p, &["INCRBYFLOAT", "after:n", "0.5"]);
    net.call(p, &["MULTI"]);
    net.call(p, &["LPOP", "after:list"]);
    net.call(p, &["HDEL", "after:hash", "f"]);
    net.call(p, &["EXEC"]);
    net.call(p, &["DEL", "before:str"]);
    net.run(1500);
    let primary = net.dataset(0);
    assert_eq!(primary.len(), 15);
    assert_eq!(net.dataset(1), primary);
    let offset = net.info(p, "master_repl_offset");
    assert_eq!(net.info(r, "master_repl_offset"), offset);
    assert_eq!(net.info(r, "slave_repl_offset"), offset);
    assert_eq!(
        net.info(p, "slave0"),
        format!("ip=127.0.0.1,port=7001,state=online,offset={offset},lag=0")
    );
    assert_eq!(net.info(r, "master_replid"), net.info(p, "master_replid"));
}

#[test]
fn role_and_info_on_both_sides() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(p, &["SET", "k", "v"]);
    net.run(1000);
    let offset = net.info(p, "master_repl_offset").parse::<i64>().unwrap();
    assert_eq!(
        net.call(p, &["ROLE"]),
        Frame::Array(vec![
            Frame::Bulk("master".into()),
            int(offset),
            Frame::Array(vec![Frame::Array(vec![
                Frame::Bulk("127.0.0.1".into()),
                Frame::Bulk("7001".into()),
                Frame::Bulk(offset.to_string().into()),
            ])]),
        ])
    );
    assert_eq!(
        net.call(r, &["ROLE"]),
        Frame::Array(vec![
            Frame::Bulk("slave".into()),
            Frame::Bulk("127.0.0.1".into()),
            int(7000),
            Frame::Bulk("connected".into()),
            int(offset),
        ])
    );
    assert_eq!(net.info(r, "role"), "slave");
    assert_eq!(net.info(r, "master_port"), "7000");
    assert_eq!(net.info(r, "slave_read_only"), "1");
    assert_eq!(net.info(p, "connected_slaves"), "1");
    assert_eq!(net.info(p, "repl_backlog_active"), "1");
    assert_eq!(net.info(p, "repl_backlog_first_byte_offset"), "1");
    assert_eq!(net.info(p, "repl_backlog_histlen"), offset.to_string());
}

#[test]
fn a_replica_refuses_writes_and_wait() {
    let (mut net, _p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    assert_eq!(
        net.call(r, &["SET", "k", "v"]),
        Frame::Error("READONLY You can't write against a read only replica.".into())
    );
    assert!(
        matches!(net.call(r, &["WAIT", "1", "0"]), Frame::Error(e) if e.starts_with("ERR WAIT cannot be used with replica instances"))
    );
    assert_eq!(
        net.call(r, &["CONFIG", "SET", "replica-read-only", "no"]),
        ok()
    );
    assert_eq!(net.call(r, &["SET", "local", "v"]), ok());
}

#[test]
fn stale_data_is_refused_when_asked_while_the_link_is_down() {
    let (mut net, _p, r) = primary_and_replica();
    net.call(r, &["CONFIG", "SET", "replica-serve-stale-data", "no"]);
    net.cut.push((0, 1));
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    assert_eq!(
        net.call(r, &["GET", "k"]),
        Frame::Error(
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
                .into()
        )
    );
    assert_eq!(
        net.call(r, &["PING"]),
        Frame::Error(
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
                .into()
        )
    );
    assert_eq!(net.info(r, "master_link_status"), "down");
    net.heal();
    net.run(6000);
    assert_eq!(net.info(r, "master_link_status"), "up");
    assert_eq!(net.call(r, &["GET", "k"]), Frame::Null);
}

#[test]
fn a_cut_link_resumes_with_a_partial_resync() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(p, &["SET", "a", "1"]);
    // The stream is in database 5 when the link drops, and goes on there.
    net.call(p, &["SELECT", "5"]);
    net.call(p, &["SET", "in5", "1"]);
    net.partition(0, 1);
    net.call(p, &["SET", "still-in5", "1"]);
    assert_eq!(net.info(r, "master_link_status"), "down");
    for i in 0..50 {
        net.call(p, &["RPUSH", "l", &i.to_string()]);
    }
    net.heal();
    net.run(6000);
    assert_eq!(net.info(r, "master_link_status"), "up");
    assert_eq!(net.info(p, "sync_full"), "1");
    assert_eq!(net.info(p, "sync_partial_ok"), "1");
    assert_eq!(net.dataset(1), net.dataset(0));
}

#[test]
fn a_gap_beyond_the_backlog_needs_a_full_resync() {
    let mut net = Net::with(2, |c| c.repl_backlog_size = 16 * 1024);
    let (p, r) = (net.connect(0), net.connect(1));
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.partition(0, 1);
    let big = "x".repeat(1000);
    for i in 0..40 {
        net.call(p, &["SET", &format!("k{i}"), &big]);
    }
    net.heal();
    net.run(6000);
    assert_eq!(net.info(p, "sync_full"), "2");
    // The first one too: a node that was a master offers its own history
    // (Redis's replicationCacheMasterUsingMyself), which the primary lacks.
    assert_eq!(net.info(p, "sync_partial_err"), "2");
    assert_eq!(net.info(p, "repl_backlog_histlen"), (16 * 1024).to_string());
    assert_eq!(net.dataset(1), net.dataset(0));
}

#[test]
fn wait_counts_acknowledged_replicas_and_times_out() {
    let mut net = Net::new(3);
    let p = net.connect(0);
    for i in 1..3 {
        let r = net.connect(i);
        net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    }
    assert_eq!(
        net.call(p, &["WAIT", "0", "0"]),
        int(2),
        "nothing written yet"
    );
    net.call(p, &["SET", "k", "v"]);
    assert_eq!(net.call(p, &["WAIT", "2", "1000"]), int(2));
    net.partition(0, 2);
    net.call(p, &["SET", "k", "w"]);
    net.send(p, &["WAIT", "2", "500"]);
    assert_eq!(net.read(p), None, "blocked");
    net.send(p, &["PING"]);
    assert_eq!(net.read(p), None, "pipelined commands wait too");
    net.run(400);
    assert_eq!(net.read(p), None);
    net.run(200);
    assert_eq!(net.read(p), Some(int(1)));
    assert_eq!(net.read(p), Some(Frame::Simple("PONG".into())));
    assert_eq!(
        net.call(p, &["WAIT", "x", "1"]),
        Frame::Error("ERR value is not an integer or out of range".into())
    );
    assert_eq!(
        net.call(p, &["WAIT", "1", "-1"]),
        Frame::Error("ERR timeout is negative".into())
    );
}

#[test]
fn min_replicas_to_write_refuses_writes_without_fresh_replicas() {
    let (mut net, p, r) = primary_and_replica();
    net.call(p, &["CONFIG", "SET", "min-replicas-to-write", "1"]);
    net.call(p, &["CONFIG", "SET", "min-replicas-max-lag", "3"]);
    let refused = Frame::Error("NOREPLICAS Not enough good replicas to write.".into());
    assert_eq!(net.call(p, &["SET", "k", "v"]), refused);
    assert_eq!(net.call(p, &["GET", "k"]), Frame::Null, "reads are fine");
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    assert_eq!(net.call(p, &["SET", "k", "v"]), ok());
    assert_eq!(net.info(p, "min_slaves_good_slaves"), "1");
    // Cut one way only: the replica's ACKs stop, the link stays open.
    net.cut.push((1, 0));
    net.run(4500);
    assert_eq!(net.call(p, &["SET", "k", "w"]), refused);
    net.call(p, &["MULTI"]);
    assert_eq!(net.call(p, &["SET", "k", "w"]), refused);
    assert!(matches!(net.call(p, &["EXEC"]), Frame::Error(e) if e.starts_with("EXECABORT")));
}

#[test]
fn promotion_keeps_the_old_history_for_the_siblings() {
    let mut net = Net::new(3);
    let p = net.connect(0);
    let (r1, r2) = (net.connect(1), net.connect(2));
    net.call(r1, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(r2, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(p, &["SET", "k", "1"]);
    net.run(1000);
    let old_id = net.info(p, "master_replid");
    let offset: u64 = net.info(p, "master_repl_offset").parse().unwrap();
    // The primary is lost; replica 1 takes over; replica 2 follows it.
    net.partition(0, 1);
    net.partition(0, 2);
    assert_eq!(net.call(r1, &["REPLICAOF", "NO", "ONE"]), ok());
    assert_eq!(net.info(r1, "role"), "master");
    assert_eq!(net.info(r1, "master_replid2"), old_id);
    assert_eq!(net.info(r1, "second_repl_offset"), (offset + 1).to_string());
    assert_ne!(net.info(r1, "master_replid"), old_id);
    assert_eq!(net.call(r1, &["SET", "k", "2"]), ok());
    net.call(r2, &["REPLICAOF", "127.0.0.1", "7001"]);
    net.run(1000);
    assert_eq!(net.info(r1, "sync_partial_ok"), "1");
    assert_eq!(net.info(r1, "sync_full"), "0");
    assert_eq!(net.info(r2, "master_replid"), net.info(r1, "master_replid"));
    assert_eq!(net.info(r2, "master_replid2"), old_id);
    assert_eq!(net.call(r2, &["GET", "k"]), Frame::Bulk("2".into()));
}

#[test]
fn a_chained_replica_receives_its_masters_stream() {
    let mut net = Net::new(3);
    let p = net.connect(0);
    let (r1, r2) = (net.connect(1), net.connect(2));
    net.call(r1, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(r2, &["REPLICAOF", "127.0.0.1", "7001"]);
    write_every_type(&mut net, p, "t");
    net.run(1000);
    assert_eq!(net.dataset(2), net.dataset(0));
    assert_eq!(
        net.info(r2, "master_repl_offset"),
        net.info(p, "master_repl_offset")
    );
}

/// The stream node `i` holds in its backlog from `from` on.
fn backlog_since(net: &Net, i: usize, from: u64) -> Vec<u8> {
    let backlog = net.nodes[i].server().repl.backlog.as_ref();
    backlog
        .and_then(|b| b.since(from))
        .unwrap_or_else(|| panic!("node {i}'s backlog holds offset {from}"))
}

#[test]
fn a_replica_passes_on_its_masters_bytes_however_they_were_split() {
    for piece in [1, 3, 7, 64] {
        let mut net = Net::with(3, |c| c.enable_debug_command = "yes".into());
        let p = net.connect(0);
        let (r1, r2) = (net.connect(1), net.connect(2));
        net.call(r1, &["REPLICAOF", "127.0.0.1", "7000"]);
        net.call(r2, &["REPLICAOF", "127.0.0.1", "7001"]);
        net.run(1000);
        let synced_at = offset_of(&mut net, p) + 1;
        net.peer_piece = Some(piece);
        // The middle replica sleeps through the first writes: its
        // master's stream waits in its query buffer meanwhile.
        net.send(r1, &["DEBUG", "SLEEP", "0.5"]);
        write_every_type(&mut net, p, "t");
        let offset = |net: &Net, i: usize| net.nodes[i].server().repl.offset;
        assert!(offset(&net, 1) < offset(&net, 0), "held while asleep");
        net.run(1000);
        net.call(p, &["MULTI"]);
        net.call(p, &["SET", "in", "a transaction"]);
        net.call(p, &["INCR", "counter"]);
        net.call(p, &["EXEC"]);
        net.call(p, &["SET", "last", "one"]);
        net.run(1000);
        let sent = backlog_since(&net, 0, synced_at);
        assert!(
            sent.windows(5).any(|w| w == b"MULTI"),
            "a transaction went by"
        );
        assert_eq!(backlog_since(&net, 1, synced_at), sent, "piece {piece}");
        assert_eq!(backlog_since(&net, 2, synced_at), sent, "piece {piece}");
        assert_eq!(net.dataset(2), net.dataset(0));
    }
}

#[test]
fn replicas_do_not_expire_keys_themselves() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(p, &["SET", "k", "v", "PX", "500"]);
    // The primary cannot tell the replica in time: its DEL is lost.
    net.cut.push((0, 1));
    net.run(2000);
    assert_eq!(
        net.call(r, &["DBSIZE"]),
        int(1),
        "not expired by the replica"
    );
    net.heal();
    net.partition(0, 1);
    net.heal();
    net.run(6000);
    assert_eq!(
        net.call(r, &["DBSIZE"]),
        int(0),
        "the primary's DEL arrived"
    );
}

#[test]
fn replconf_and_psync_errors() {
    let mut net = Net::new(1);
    let c = net.connect(0);
    assert_eq!(
        net.call(c, &["REPLCONF", "foo", "bar"]),
        Frame::Error("ERR Unrecognized REPLCONF option: foo".into())
    );
    assert_eq!(
        net.call(c, &["REPLCONF", "ack"]),
        Frame::Error("ERR syntax error".into())
    );
    assert_eq!(
        net.call(c, &["REPLCONF", "listening-port", "x"]),
        Frame::Error("ERR value is not an integer or out of range".into())
    );
    assert_eq!(
        net.call(c, &["REPLCONF", "listening-port", "6380", "capa", "eof"]),
        ok()
    );
    assert_eq!(
        net.call(c, &["REPLICAOF", "h", "70000"]),
        Frame::Error("ERR Invalid master port".into())
    );
    assert_eq!(
        net.call(c, &["PSYNC", "?", "x"]),
        Frame::Error("ERR value is not an integer or out of range".into())
    );
    net.call(c, &["MULTI"]);
    assert_eq!(
        net.call(c, &["PSYNC", "?", "-1"]),
        Frame::Error("ERR Command not allowed inside a transaction".into())
    );
}

#[test]
fn psync_answers_fullresync_with_the_snapshot() {
    let mut net = Net::new(1);
    let p = net.connect(0);
    net.call(p, &["SET", "k", "v"]);
    let c = net.connect(0);
    assert_eq!(net.call(c, &["REPLCONF", "capa", "eof"]), ok());
    net.send(c, &["PSYNC", "?", "-1"]);
    let bytes = net.inbox.remove(&c).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let replid = net.info(p, "master_replid");
    let head = format!("+FULLRESYNC {replid} 0\r\n$EOF:");
    assert!(text.starts_with(&head), "{text}");
    let mark = &text[head.len()..head.len() + 40];
    assert!(text.contains("REDIS0010"));
    assert!(text.ends_with(mark), "{text}");
    // The stream waits for the replica's first ACK (it ends the payload).
    net.call(p, &["SET", "k2", "v2"]);
    assert!(net.inbox.remove(&c).unwrap_or_default().is_empty());
    net.send(c, &["REPLCONF", "ACK", "0"]);
    let stream = net.inbox.remove(&c).unwrap_or_default();
    assert_eq!(
        String::from_utf8_lossy(&stream),
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$2\r\nv2\r\n"
    );
    net.run(10_100);
    let ping = net.inbox.remove(&c).unwrap_or_default();
    assert_eq!(String::from_utf8_lossy(&ping), "*1\r\n$4\r\nping\r\n");
}

#[test]
fn config_set_repl_backlog_size_resizes_the_backlog() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    let big = "x".repeat(20_000);
    net.call(p, &["SET", "k", &big]);
    assert_eq!(
        net.call(p, &["CONFIG", "SET", "repl-backlog-size", "16384"]),
        ok()
    );
    net.run(200);
    assert_eq!(net.info(p, "repl_backlog_size"), "16384");
    assert_eq!(net.info(p, "repl_backlog_histlen"), "16384");
    assert_eq!(
        net.call(p, &["CONFIG", "GET", "repl-backlog-size"]),
        Frame::Array(vec![
            Frame::Bulk("repl-backlog-size".into()),
            Frame::Bulk("16384".into()),
        ])
    );
}

#[test]
fn a_promoted_replica_tells_its_own_replicas_the_new_id() {
    let mut net = Net::new(3);
    let p = net.connect(0);
    let (r1, r2) = (net.connect(1), net.connect(2));
    net.call(r1, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(r2, &["REPLICAOF", "127.0.0.1", "7001"]);
    net.call(p, &["SELECT", "2"]);
    net.call(p, &["SET", "k", "1"]);
    net.run(1000);
    let old_id = net.info(p, "master_replid");
    net.partition(0, 1);
    assert_eq!(net.call(r1, &["REPLICAOF", "NO", "ONE"]), ok());
    net.run(2000);
    assert_eq!(net.info(r2, "master_link_status"), "up");
    assert_eq!(net.info(r1, "sync_partial_ok"), "1", "r2 continued");
    assert_eq!(net.info(r2, "master_replid"), net.info(r1, "master_replid"));
    assert_eq!(net.info(r2, "master_replid2"), old_id);
    net.call(r1, &["SELECT", "2"]);
    net.call(r1, &["SET", "k", "2"]);
    net.run(1000);
    assert_eq!(net.dataset(2), net.dataset(1));
}

#[test]
fn a_killed_master_client_resumes_in_its_database() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(p, &["SELECT", "4"]);
    net.call(p, &["SET", "a", "1"]);
    let Frame::Array(role) = net.call(r, &["ROLE"]) else {
        panic!("ROLE is an array")
    };
    assert_eq!(role[3], Frame::Bulk("connected".into()));
    let master_id = net.nodes[1]
        .server()
        .repl
        .link
        .as_ref()
        .and_then(|l| l.peer())
        .expect("linked");
    assert_eq!(
        net.call(r, &["CLIENT", "KILL", "ID", &master_id.to_string()]),
        int(1)
    );
    net.call(p, &["SET", "b", "2"]);
    net.run(3000);
    assert_eq!(net.info(p, "sync_partial_ok"), "1");
    assert_eq!(net.dataset(1), net.dataset(0));
}

#[test]
fn masterauth_and_announced_address_reach_the_primary() {
    let mut net = Net::with(2, |c| {
        c.requirepass = Some("secret".into());
        c.masterauth = Some("secret".into());
        c.replica_announce_ip = "10.9.8.7".into();
        c.replica_announce_port = 6390;
    });
    let (p, r) = (net.connect(0), net.connect(1));
    for end in [p, r] {
        net.call(end, &["AUTH", "secret"]);
    }
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(p, &["SET", "k", "v"]);
    net.run(1000);
    assert_eq!(net.info(r, "master_link_status"), "up");
    let slave0 = net.info(p, "slave0");
    assert!(
        slave0.starts_with("ip=10.9.8.7,port=6390,state=online"),
        "{slave0}"
    );
    assert_eq!(net.call(r, &["GET", "k"]), Frame::Bulk("v".into()));
}

#[test]
fn a_wrong_masterauth_keeps_the_link_down_and_retrying() {
    let mut net = Net::with(2, |c| c.requirepass = Some("secret".into()));
    let (p, r) = (net.connect(0), net.connect(1));
    net.call(r, &["AUTH", "secret"]);
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.run(5000);
    assert_eq!(net.info(r, "master_link_status"), "down");
    let Frame::Array(role) = net.call(r, &["ROLE"]) else {
        panic!("ROLE is an array")
    };
    assert_eq!(role[4], int(-1));
    // Fixed at run time: the next attempt gets through.
    net.call(r, &["CONFIG", "SET", "masterauth", "secret"]);
    net.run(6000);
    assert_eq!(net.info(r, "master_link_status"), "up");
    net.call(p, &["AUTH", "secret"]);
    assert_eq!(net.info(p, "connected_slaves"), "1");
}

mod hostile_master {
    //! A replica fed arbitrary bytes by its "master" (garbage, truncated
    //! or corrupted handshake replies, snapshots and streams) never panics
    //! and keeps answering its clients.

    use super::*;
    use proptest::prelude::*;

    /// A plausible session from a master, as bytes, for corrupting.
    fn plausible_session() -> Vec<u8> {
        let mut h = crate::testing::Harness::new(Config::default());
        let c = h.connect();
        h.call(c, &["SET", "k", "v"]);
        h.call(c, &["RPUSH", "l", "a", "b"]);
        let replica = h.connect();
        h.send_raw(replica, &request(&[b"PSYNC", b"?", b"-1"]));
        // No `capa eof`: a BGSAVE, whose file is sent once saved.
        h.advance(0);
        h.call(c, &["SET", "k2", "v2"]);
        let mut session = b"+PONG\r\n+OK\r\n+OK\r\n".to_vec();
        session.extend(h.pending_bytes(replica));
        session
    }

    /// A node told to follow a master whose connection the test holds:
    /// the node's client, and the peer id of the link (already open).
    fn hand_held_link() -> (Net, End, crate::repl::PeerId) {
        let mut net = Net::new(1);
        let r = net.connect(0);
        let now = net.now;
        let data = request(&[b"REPLICAOF", b"127.0.0.1", b"7999"]);
        net.nodes[0].handle_input(
            now,
            Input::ClientData {
                client: r.1,
                data: &data,
            },
        );
        let mut peer = None;
        while let Some(out) = net.nodes[0].poll_output() {
            if let Output::Connect { peer: p, .. } = out {
                peer = Some(p);
            }
        }
        let peer = peer.expect("REPLICAOF opens a connection");
        net.nodes[0].handle_input(now, Input::PeerConnected { peer });
        (net, r, peer)
    }

    fn feed(chunks: &[Vec<u8>]) {
        let (mut net, r, peer) = hand_held_link();
        let now = net.now;
        for chunk in chunks {
            net.nodes[0].handle_input(now, Input::PeerData { peer, data: chunk });
            while net.nodes[0].poll_output().is_some() {}
        }
        net.run(2000);
        assert_eq!(net.call(r, &["PING"]), Frame::Simple("PONG".into()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn random_bytes(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..20)) {
            feed(&chunks);
        }

        #[test]
        fn corrupted_sessions(cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6), split in 1usize..200) {
            let mut session = plausible_session();
            for (at, byte) in cuts {
                let i = at.index(session.len());
                session[i] = byte;
            }
            let chunks: Vec<Vec<u8>> = session.chunks(split).map(<[u8]>::to_vec).collect();
            feed(&chunks);
        }
    }

    #[test]
    fn the_plausible_session_syncs() {
        let session = plausible_session();
        let (mut net, r, peer) = hand_held_link();
        let now = net.now;
        net.nodes[0].handle_input(
            now,
            Input::PeerData {
                peer,
                data: &session,
            },
        );
        while net.nodes[0].poll_output().is_some() {}
        assert_eq!(net.info(r, "master_link_status"), "up");
        assert_eq!(net.call(r, &["GET", "k2"]), Frame::Bulk("v2".into()));
        assert_eq!(
            net.call(r, &["LRANGE", "l", "0", "-1"]),
            Frame::Array(vec![Frame::Bulk("a".into()), Frame::Bulk("b".into())])
        );
    }
}

#[test]
fn a_restarted_primary_is_a_new_history() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(p, &["SET", "k", "1"]);
    net.run(1000);
    let old_id = net.info(p, "master_replid");
    // The primary restarts empty (same config, later), and gets at least
    // as many bytes of new writes as the replica had.
    net.partition(0, 1);
    net.nodes[0] = Node::new(config(0), net.now);
    net.settle();
    let p = net.connect(0);
    assert_ne!(net.info(p, "master_replid"), old_id);
    for i in 0..20 {
        net.call(p, &["SET", &format!("new{i}"), "x"]);
    }
    net.heal();
    net.run(8000);
    assert_eq!(net.info(p, "sync_partial_ok"), "0");
    assert_eq!(net.info(p, "sync_full"), "1");
    assert_eq!(net.dataset(1), net.dataset(0));
}

#[test]
fn an_old_primary_with_divergent_writes_full_syncs_when_it_rejoins() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(p, &["SET", "k", "shared"]);
    net.run(1000);
    net.partition(0, 1);
    assert_eq!(net.call(r, &["REPLICAOF", "NO", "ONE"]), ok());
    // The old primary goes on alone: history the new one never had.
    net.call(p, &["SET", "k", "divergent"]);
    net.call(p, &["SET", "only-old", "1"]);
    net.call(r, &["SET", "k", "new"]);
    net.heal();
    assert_eq!(net.call(p, &["REPLICAOF", "127.0.0.1", "7001"]), ok());
    net.run(3000);
    assert_eq!(net.info(r, "sync_partial_ok"), "0");
    assert_eq!(net.info(r, "sync_full"), "1");
    assert_eq!(net.info(r, "sync_partial_err"), "1");
    assert_eq!(net.dataset(0), net.dataset(1));
    assert_eq!(net.call(p, &["GET", "only-old"]), Frame::Null);
}

#[test]
fn an_old_primary_without_divergent_writes_continues_when_it_rejoins() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(p, &["SET", "k", "shared"]);
    net.run(1000);
    net.partition(0, 1);
    assert_eq!(net.call(r, &["REPLICAOF", "NO", "ONE"]), ok());
    net.call(r, &["SET", "k", "new"]);
    net.heal();
    assert_eq!(net.call(p, &["REPLICAOF", "127.0.0.1", "7001"]), ok());
    net.run(3000);
    assert_eq!(net.info(r, "sync_partial_ok"), "1");
    assert_eq!(net.call(p, &["GET", "k"]), Frame::Bulk("new".into()));
}

/// The lines of a CLIENT LIST/INFO reply.
fn client_lines(reply: Frame) -> Vec<String> {
    let text = reply.text().expect("CLIENT LIST is text");
    text.lines().map(str::to_string).collect()
}

/// One `name=value` field of a CLIENT LIST line.
fn client_field(line: &str, name: &str) -> String {
    let prefix = format!("{name}=");
    line.split(' ')
        .find_map(|f| f.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
        .to_string()
}

#[test]
fn client_list_marks_replicas_and_the_master_link() {
    let (mut net, p, r) = primary_and_replica();
    // A client that only sent REPLCONF is no replica yet (as Redis).
    assert_eq!(net.call(p, &["REPLCONF", "listening-port", "1"]), ok());
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(p, &["SET", "k", "v"]);
    net.run(1500);
    for kind in ["replica", "slave", "REPLICA"] {
        let lines = client_lines(net.call(p, &["CLIENT", "LIST", "TYPE", kind]));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(client_field(&lines[0], "flags"), "S");
        assert_eq!(client_field(&lines[0], "cmd"), "replconf");
        assert_eq!(client_field(&lines[0], "user"), "default");
    }
    let normal = client_lines(net.call(p, &["CLIENT", "LIST", "TYPE", "normal"]));
    assert_eq!(normal.len(), 1, "only the test's client: {normal:?}");
    assert_eq!(client_field(&normal[0], "flags"), "N");
    assert!(client_lines(net.call(p, &["CLIENT", "LIST", "TYPE", "master"])).is_empty());

    let masters = client_lines(net.call(r, &["CLIENT", "LIST", "TYPE", "master"]));
    assert_eq!(masters.len(), 1, "{masters:?}");
    let m = &masters[0];
    assert_eq!(client_field(m, "flags"), "M");
    assert_eq!(client_field(m, "addr"), "127.0.0.1:7000");
    assert_eq!(client_field(m, "user"), "(superuser)");
    assert!(client_lines(net.call(r, &["CLIENT", "LIST", "TYPE", "replica"])).is_empty());
    let me = client_lines(net.call(r, &["CLIENT", "INFO"]));
    assert_eq!(client_field(&me[0], "flags"), "N");
    let all = client_lines(net.call(r, &["CLIENT", "LIST"]));
    assert_eq!(all.len(), 2, "the master link is listed with the rest");
}

#[test]
fn client_kill_type_master_and_replica_drop_the_links_which_resume() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(p, &["SET", "k", "1"]);
    net.run(1000);
    assert_eq!(net.call(p, &["CLIENT", "KILL", "TYPE", "master"]), int(0));
    assert_eq!(net.call(r, &["CLIENT", "KILL", "TYPE", "replica"]), int(0));
    assert_eq!(net.call(r, &["CLIENT", "KILL", "TYPE", "master"]), int(1));
    assert_eq!(net.info(r, "master_link_status"), "down");
    net.call(p, &["SET", "k", "2"]);
    net.run(3000);
    assert_eq!(net.info(r, "master_link_status"), "up");
    assert_eq!(net.call(p, &["CLIENT", "KILL", "TYPE", "slave"]), int(1));
    assert_eq!(net.info(p, "connected_slaves"), "0");
    net.call(p, &["SET", "k", "3"]);
    net.run(3000);
    assert_eq!(net.info(p, "connected_slaves"), "1");
    assert_eq!(net.info(p, "sync_partial_ok"), "2", "both links continued");
    assert_eq!(net.call(r, &["GET", "k"]), Frame::Bulk("3".into()));
}

#[test]
fn a_replica_read_of_an_expired_key_finds_nothing_and_deletes_nothing() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(r, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let events = net.connect(1);
    net.call(events, &["PSUBSCRIBE", "__keyevent@0__:*"]);
    net.call(p, &["SET", "k", "v", "PX", "500"]);
    net.call(p, &["SET", "other", "v"]);
    net.run(200);
    while net.read(events).is_some() {} // the SETs' events
    let offset = net.info(r, "master_repl_offset");
    // The primary's DEL cannot arrive: the key outlives its TTL here.
    net.cut.push((0, 1));
    net.run(1000);
    assert_eq!(net.call(r, &["GET", "k"]), Frame::Null);
    assert_eq!(net.call(r, &["EXISTS", "k"]), int(0));
    assert_eq!(net.call(r, &["TTL", "k"]), int(-2));
    assert_eq!(net.call(r, &["TYPE", "k"]), Frame::Simple("none".into()));
    assert_eq!(
        net.call(r, &["KEYS", "*"]),
        Frame::Array(vec![Frame::Bulk("other".into())])
    );
    let Frame::Array(scan) = net.call(r, &["SCAN", "0", "COUNT", "100"]) else {
        panic!("SCAN is an array")
    };
    assert_eq!(scan[1], Frame::Array(vec![Frame::Bulk("other".into())]));
    for _ in 0..20 {
        assert_eq!(net.call(r, &["RANDOMKEY"]), Frame::Bulk("other".into()));
    }
    // Still stored, and no effect of any kind: no expiry counted, no
    // `expired` event, nothing propagated.
    assert_eq!(net.call(r, &["DBSIZE"]), int(2));
    assert_eq!(net.info(r, "expired_keys"), "0");
    assert_eq!(net.info(r, "master_repl_offset"), offset);
    assert_eq!(net.read(events), None, "no event published");
    // Healed: the primary's DEL removes it.
    net.heal();
    net.partition(0, 1);
    net.heal();
    net.run(6000);
    assert_eq!(net.call(r, &["DBSIZE"]), int(1));
    assert_eq!(net.call(r, &["KEYS", "*"]), net.call(p, &["KEYS", "*"]));
}

#[test]
fn a_writable_replica_writes_over_an_expired_key() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(r, &["CONFIG", "SET", "replica-read-only", "no"]);
    for key in ["a", "b", "c", "d"] {
        net.call(p, &["SET", key, "old", "PX", "500"]);
    }
    net.call(p, &["SET", "src", "s"]);
    net.run(200);
    net.cut.push((0, 1));
    net.run(1000);
    assert_eq!(net.call(r, &["DBSIZE"]), int(5));
    assert_eq!(net.call(r, &["SETNX", "a", "new"]), int(1));
    assert_eq!(net.call(r, &["RPUSH", "b", "x"]), int(1));
    assert_eq!(net.call(r, &["COPY", "src", "c"]), int(1));
    assert_eq!(net.call(r, &["RENAME", "src", "d"]), ok());
    assert_eq!(net.call(r, &["GET", "a"]), Frame::Bulk("new".into()));
    assert_eq!(net.call(r, &["TTL", "a"]), int(-1));
    assert_eq!(net.call(r, &["GET", "c"]), Frame::Bulk("s".into()));
    assert_eq!(net.call(r, &["GET", "d"]), Frame::Bulk("s".into()));
    assert_eq!(net.call(r, &["DBSIZE"]), int(4));
    assert_eq!(net.info(r, "expired_keys"), "4");
}

#[test]
fn a_promoted_replica_expires_keys_again() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(p, &["SET", "k", "v", "PX", "500"]);
    net.run(200);
    net.partition(0, 1);
    assert_eq!(net.call(r, &["REPLICAOF", "NO", "ONE"]), ok());
    net.run(1000);
    assert_eq!(net.call(r, &["GET", "k"]), Frame::Null);
    assert_eq!(net.info(r, "expired_keys"), "1");
    assert_eq!(net.call(r, &["DBSIZE"]), int(0));
}

mod fsync_order {
    //! `appendfsync always` and the replication stream: as Redis, the
    //! replicas are sent a write in the event-loop turn that ran it,
    //! without waiting for the fsync that the writer's reply waits for.
    //! A replica may hold a write the primary loses at a power cut.

    use super::*;
    use crate::disk::{DiskOp, DiskRequest};
    use crate::testing::mem_disk::MemDisk;

    /// One primary whose fsyncs the test answers when it chooses.
    struct Primary {
        node: Node,
        disk: MemDisk,
        now: Now,
        received: HashMap<ClientId, Vec<u8>>,
        held_syncs: Vec<DiskRequest>,
    }

    impl Primary {
        fn new() -> Primary {
            let config = Config {
                appendonly: true,
                appendfsync: "always".into(),
                dir: "/data".into(),
                ..config(0)
            };
            let now = Now::new(0, 1_700_000_000_000);
            let mut p = Primary {
                node: Node::new(config, now),
                disk: MemDisk::default(),
                now,
                received: HashMap::new(),
                held_syncs: Vec::new(),
            };
            p.node.start(now);
            p.node.handle_timeout(now);
            p.pump(false);
            p
        }

        /// Routes outputs; fsyncs wait in `held_syncs` when `hold`.
        fn pump(&mut self, hold: bool) {
            while let Some(out) = self.node.poll_output() {
                match out {
                    Output::Write { client, data } => {
                        self.received.entry(client).or_default().extend(&data[..])
                    }
                    Output::Disk(req) if hold && matches!(req.op, DiskOp::Sync { .. }) => {
                        self.held_syncs.push(req)
                    }
                    Output::Disk(req) => self.answer(req),
                    _ => {}
                }
            }
        }

        fn answer(&mut self, req: DiskRequest) {
            let result = self.disk.apply(&req.op);
            let now = self.now;
            self.node
                .handle_input(now, Input::DiskDone { id: req.id, result });
        }

        fn connect(&mut self) -> ClientId {
            let info = ClientInfo {
                addr: "127.0.0.1:50001".into(),
                laddr: "127.0.0.1:7000".into(),
                fd: 9,
            };
            let id = self.node.accept_client(self.now, info);
            self.pump(false);
            id
        }

        fn send(&mut self, client: ClientId, args: &[&[u8]], hold: bool) {
            let data = request(args);
            let now = self.now;
            self.node.handle_input(
                now,
                Input::ClientData {
                    client,
                    data: &data,
                },
            );
            self.pump(hold);
        }

        /// Runs the timers `steps` times, 10 ms apart (the snapshot for
        /// the full sync is written and sent from them).
        fn run_timers(&mut self, steps: usize) {
            for _ in 0..steps {
                self.now = Now::new(self.now.mono_ms + 10, self.now.unix_ms + 10);
                let now = self.now;
                self.node.handle_timeout(now);
                self.pump(false);
            }
        }

        fn take(&mut self, client: ClientId) -> String {
            let bytes = self.received.remove(&client).unwrap_or_default();
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }

    #[test]
    fn replicas_get_a_write_before_its_fsync_and_the_writer_after() {
        let mut p = Primary::new();
        let writer = p.connect();
        let replica = p.connect();
        p.send(replica, &[b"PSYNC", b"?", b"-1"], false);
        p.run_timers(20);
        assert!(p.take(replica).starts_with("+FULLRESYNC "));
        p.send(writer, &[b"SET", b"k", b"v"], true);
        assert_eq!(p.held_syncs.len(), 1, "the write waits for its fsync");
        assert_eq!(p.take(writer), "", "the writer is answered after it");
        assert!(
            p.take(replica)
                .ends_with("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"),
            "the replica already has the write"
        );
        let sync = p.held_syncs.remove(0);
        p.answer(sync);
        p.pump(false);
        assert_eq!(p.take(writer), "+OK\r\n");
        assert_eq!(p.take(replica), "", "nothing more for the replica");
    }
}

#[test]
fn a_replica_with_an_aof_applies_the_stream() {
    let mut net = Net::with(2, |c| {
        if c.port == BASE_PORT + 1 {
            c.appendonly = true;
            c.dir = "/data".into();
            c.replicaof = Some(("127.0.0.1".into(), BASE_PORT));
        }
    });
    let p = net.connect(0);
    net.run(2000);
    net.call(p, &["SET", "k", "v"]);
    net.run(1000);
    let r = net.connect(1);
    assert_eq!(net.info(r, "master_link_status"), "up");
    assert_eq!(net.call(r, &["GET", "k"]), Frame::Bulk("v".into()));
}

/// A write made before any replica attached is not in the stream (its
/// offset stays 0): WAIT counts every attached replica for it, even one
/// that never acknowledged, as redis-server 7.0.15 does (checked: `WAIT 1
/// 100` answers 1 there too). The replica's snapshot holds the write.
#[test]
fn wait_for_a_write_before_any_replica_counts_attached_replicas_as_redis() {
    let mut net = Net::new(1);
    let w = net.connect(0);
    net.call(w, &["SET", "k", "v"]);
    let silent = net.connect(0);
    net.send(silent, &["REPLCONF", "capa", "eof"]);
    net.send(silent, &["PSYNC", "?", "-1"]);
    net.run(100); // the disk-less payload is sent from the timer
    net.send(silent, &["REPLCONF", "ACK", "0"]); // online from its first ACK
    assert_eq!(net.call(w, &["WAIT", "1", "100"]), int(1));
    // A write in the stream needs a real acknowledgement.
    net.call(w, &["SET", "k2", "v"]);
    net.send(w, &["WAIT", "1", "100"]);
    net.run(200);
    assert_eq!(net.read(w), Some(int(0)));
}

#[test]
fn a_replica_aof_holds_the_snapshot_it_loaded() {
    let aof_on_node_1 = |c: &mut Config| {
        if c.port == BASE_PORT + 1 {
            c.appendonly = true;
            c.dir = "/data".into();
        }
    };
    let mut net = Net::with(2, aof_on_node_1);
    net.run(100); // the AOF loads (-LOADING meanwhile)
    let p = net.connect(0);
    write_every_type(&mut net, p, "before");
    let r = net.connect(1);
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(p, &["SET", "after", "1"]);
    net.run(2000);
    let synced = net.dataset(1);
    assert_eq!(synced, net.dataset(0));
    // The replica restarts from its AOF alone (no master to sync from).
    let mut config = config(1);
    aof_on_node_1(&mut config);
    net.partition(0, 1);
    net.nodes[1] = Node::new(config, net.now);
    net.run(1000);
    assert_eq!(net.dataset(1), synced);
}

// ---- restarting from a saved RDB (its replication history) ----

/// Node `i`'s config when its config file says `replicaof` node `of`.
fn replica_config(i: usize, of: usize) -> Config {
    Config {
        replicaof: Some(("127.0.0.1".into(), BASE_PORT + of as u16)),
        ..config(i)
    }
}

/// `n` keys `prefix:<i>` in the current database of `c`, by MSETs.
fn fill(net: &mut Net, c: End, prefix: &str, n: usize) {
    let keys: Vec<String> = (0..n).map(|i| format!("{prefix}:{i}")).collect();
    for chunk in keys.chunks(500) {
        let mut args = vec!["MSET"];
        for k in chunk {
            args.extend([k.as_str(), "v"]);
        }
        assert_eq!(net.call(c, &args), ok());
    }
}

/// The aux fields of the RDB file `path` on node `i`'s disk, in file order.
fn rdb_aux_in_order(net: &Net, i: usize, path: &str) -> Vec<(String, String)> {
    use crate::rdb::loader::{Item, RdbLoader};
    let data = net.disks[i].read(path).expect("the file exists").to_vec();
    let enc = crate::rdb::Encodings::from_config(&Config::default());
    let mut loader = RdbLoader::new(&data, enc).expect("an RDB file");
    let mut aux = Vec::new();
    while let Some(item) = loader.next_item().expect("a sound file") {
        if let Item::Aux { key, value } = item {
            let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
            aux.push((text(key), text(value)));
        }
    }
    aux
}

fn rdb_aux(net: &Net, i: usize, path: &str) -> BTreeMap<String, String> {
    rdb_aux_in_order(net, i, path).into_iter().collect()
}

/// What node `i` received on its master link after the `+CONTINUE` line.
fn after_continue(net: &Net, i: usize) -> Vec<u8> {
    let wire = net.wire.get(&i).cloned().unwrap_or_default();
    let at = wire
        .windows(10)
        .position(|w| w == b"+CONTINUE ")
        .expect("a +CONTINUE");
    let end = at
        + wire[at..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("its line end");
    wire[end + 2..].to_vec()
}

fn offset_of(net: &mut Net, end: End) -> u64 {
    net.info(end, "master_repl_offset")
        .parse()
        .expect("an offset")
}

/// A synced replica saved its dataset (SAVE) while its master's stream
/// had database 3 selected, then went down while the primary wrote on
/// in that database (no `SELECT` in the stream). `keys` keys make the
/// file load in several steps. Returns the net (replica down, links
/// healed), the primary's end, the saved offset and the missing stream.
fn replica_saved_then_down(keys: usize) -> (Net, End, u64, Vec<u8>) {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    fill(&mut net, p, "bulk", keys);
    write_every_type(&mut net, p, "a");
    net.run(1500);
    assert_eq!(net.call(r, &["SAVE"]), ok());
    let saved = offset_of(&mut net, r);
    assert_eq!(saved, offset_of(&mut net, p), "the replica was caught up");
    let aux = rdb_aux(&net, 1, "./dump.rdb");
    assert_eq!(aux["repl-id"], net.info(p, "master_replid"));
    assert_eq!(aux["repl-offset"], saved.to_string());
    assert_eq!(aux["repl-stream-db"], "3", "the stream's last SELECT");
    net.partition(0, 1);
    net.call(p, &["SELECT", "3"]);
    net.call(p, &["SET", "during", "1"]);
    net.call(p, &["SELECT", "0"]);
    net.call(p, &["RPUSH", "a:list", "d"]);
    let missing = net.nodes[0]
        .server()
        .repl
        .backlog
        .as_ref()
        .and_then(|b| b.since(saved + 1))
        .expect("the backlog holds the gap");
    net.heal();
    (net, p, saved, missing)
}

/// Redis 7.0 (checked with redis-server 7.0.15: SAVE on a replica,
/// restart it) restores the history from the RDB and its first PSYNC
/// continues; here the link connects while the file still loads, and the
/// PSYNC waits for the load.
#[test]
fn a_replica_restarted_from_its_rdb_continues_with_exactly_the_missing_stream() {
    let (mut net, p, saved, missing) = replica_saved_then_down(2500);
    net.restart(1, replica_config(1, 0));
    {
        let srv = net.nodes[1].server();
        assert!(srv.persist.is_loading(), "2500 keys load in steps");
        let link = srv.repl.link.as_ref().expect("a replica");
        assert_eq!(link.state, crate::repl::replica::LinkState::Capa);
        assert!(link.psync_held(), "no PSYNC before the data is loaded");
    }
    net.run(2000);
    assert_eq!(net.info(p, "sync_partial_ok"), "1");
    assert_eq!(net.info(p, "sync_full"), "1", "only the first sync");
    assert_eq!(after_continue(&net, 1), missing);
    let r = net.connect(1);
    assert_eq!(offset_of(&mut net, r), offset_of(&mut net, p));
    assert!(offset_of(&mut net, r) > saved);
    net.call(r, &["SELECT", "3"]);
    assert_eq!(net.call(r, &["GET", "during"]), Frame::Bulk("1".into()));
    assert_eq!(net.dataset(1), net.dataset(0));
}

/// Before it reaches its master, a restarted replica already reports the
/// saved history, as Redis's does.
#[test]
fn a_restarted_replica_reports_its_saved_history() {
    let (mut net, p, saved, _) = replica_saved_then_down(10);
    let replid = net.info(p, "master_replid");
    net.partition(0, 1);
    net.restart(1, replica_config(1, 0));
    let r = net.connect(1);
    assert_eq!(net.info(r, "master_replid"), replid);
    assert_eq!(offset_of(&mut net, r), saved);
    assert_eq!(net.info(r, "master_link_status"), "down");
}

#[test]
fn a_stale_rdb_outside_the_backlog_falls_back_to_a_full_sync() {
    let mut net = Net::with(2, |c| c.repl_backlog_size = 64);
    let (p, r) = (net.connect(0), net.connect(1));
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    write_every_type(&mut net, p, "a");
    net.run(1500);
    assert_eq!(net.call(r, &["SAVE"]), ok());
    // REPLICAOF offered the replica's own (empty) history: refused once.
    assert_eq!(net.info(p, "sync_partial_err"), "1");
    net.partition(0, 1);
    // More than the 64 bytes of backlog since the save.
    fill(&mut net, p, "later", 20);
    net.heal();
    let mut config = replica_config(1, 0);
    config.repl_backlog_size = 64;
    net.restart(1, config);
    net.run(3000);
    assert_eq!(net.info(p, "sync_partial_ok"), "0");
    assert_eq!(
        net.info(p, "sync_partial_err"),
        "2",
        "the history was offered"
    );
    assert_eq!(net.info(p, "sync_full"), "2");
    assert_eq!(net.dataset(1), net.dataset(0));
}

#[test]
fn a_replica_whose_rdb_holds_another_primarys_history_full_syncs() {
    let mut net = Net::new(3);
    let (p, other, r) = (net.connect(0), net.connect(2), net.connect(1));
    write_every_type(&mut net, p, "mine");
    write_every_type(&mut net, other, "other");
    net.call(r, &["REPLICAOF", "127.0.0.1", "7002"]);
    net.run(1500);
    assert_eq!(net.call(r, &["SAVE"]), ok());
    net.partition(1, 2);
    net.restart(1, replica_config(1, 0));
    net.run(3000);
    assert_eq!(net.info(p, "sync_partial_ok"), "0");
    assert_eq!(net.info(p, "sync_partial_err"), "1");
    assert_eq!(net.info(p, "sync_full"), "1");
    assert_eq!(net.dataset(1), net.dataset(0));
    let r = net.connect(1);
    assert_eq!(net.call(r, &["GET", "other:str"]), Frame::Null);
}

/// Redis 7.0 restores no history from an AOF (its RDB preamble has no
/// replication fields, and the RDB file is not read when `appendonly` is
/// on): the replica asks `PSYNC ? -1` and full-syncs (checked with
/// redis-server 7.0.15: "Partial resynchronization not possible (no
/// cached master)"), though a dump.rdb with a history lies next to it.
#[test]
fn a_replica_restarted_from_its_aof_full_syncs() {
    let aof = |mut c: Config| {
        c.appendonly = true;
        c.dir = "/data".into();
        c
    };
    let mut net = Net::with(2, |c| {
        if c.port == BASE_PORT + 1 {
            *c = aof(replica_config(1, 0));
        }
    });
    let p = net.connect(0);
    net.run(2000);
    write_every_type(&mut net, p, "a");
    net.run(1500);
    let r = net.connect(1);
    assert_eq!(net.info(r, "master_link_status"), "up");
    assert_eq!(net.call(r, &["SAVE"]), ok());
    assert!(rdb_aux(&net, 1, "/data/dump.rdb").contains_key("repl-id"));
    net.partition(0, 1);
    net.call(p, &["SET", "during", "1"]);
    net.heal();
    net.restart(1, aof(replica_config(1, 0)));
    net.run(3000);
    assert_eq!(net.info(p, "sync_full"), "2");
    assert_eq!(net.info(p, "sync_partial_ok"), "0");
    assert_eq!(net.info(p, "sync_partial_err"), "0", "PSYNC ? -1");
    assert_eq!(net.dataset(1), net.dataset(0));
}

/// A primary with a backlog saves its history; restarted from that file
/// it keeps it as `replid2` up to the saved offset, with a backlog from
/// there, and its replica continues (as redis-server 7.0.15 does:
/// master_replid2 the old id, second_repl_offset the saved offset + 1).
#[test]
fn a_primary_restarted_from_its_rdb_lets_its_replicas_continue() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    write_every_type(&mut net, p, "a");
    net.run(1500);
    assert_eq!(net.call(p, &["SAVE"]), ok());
    let old_id = net.info(p, "master_replid");
    let saved = offset_of(&mut net, p);
    net.partition(0, 1);
    net.restart(0, config(0));
    let p = net.connect(0);
    let new_id = net.info(p, "master_replid");
    assert_ne!(new_id, old_id);
    assert_eq!(net.info(p, "master_replid2"), old_id);
    assert_eq!(net.info(p, "second_repl_offset"), (saved + 1).to_string());
    assert_eq!(offset_of(&mut net, p), saved);
    assert_eq!(net.info(p, "repl_backlog_active"), "1");
    let first = (saved + 1).to_string();
    assert_eq!(net.info(p, "repl_backlog_first_byte_offset"), first);
    net.heal();
    net.run(3000);
    assert_eq!(net.info(p, "sync_partial_ok"), "1");
    assert_eq!(net.info(p, "sync_full"), "0");
    net.call(p, &["SET", "after", "1"]);
    net.run(500);
    let r = net.connect(1);
    assert_eq!(net.info(r, "master_replid"), new_id);
    assert_eq!(net.info(r, "master_replid2"), old_id);
    assert_eq!(net.dataset(1), net.dataset(0));
}

/// The restarted primary lost writes its replica had (they were after its
/// save): the replica's offset is beyond the restored history, a full sync.
#[test]
fn a_primary_restarted_behind_its_replica_full_syncs_it() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    write_every_type(&mut net, p, "a");
    net.run(1500);
    assert_eq!(net.call(p, &["SAVE"]), ok());
    net.call(p, &["SET", "lost", "1"]);
    net.run(500);
    net.partition(0, 1);
    net.restart(0, config(0));
    net.heal();
    net.run(3000);
    let p = net.connect(0);
    assert_eq!(net.info(p, "sync_partial_ok"), "0");
    assert_eq!(net.info(p, "sync_partial_err"), "1");
    assert_eq!(net.info(p, "sync_full"), "1");
    assert_eq!(net.dataset(1), net.dataset(0));
    let r = net.connect(1);
    assert_eq!(net.call(r, &["GET", "lost"]), Frame::Null);
}

/// Which dumps carry a history, as Redis's `rdbPopulateSaveInfo`: a
/// primary that never had a replica saves none (and restarts without a
/// backlog, as redis-server 7.0.15 does), an AOF base never does.
#[test]
fn only_nodes_in_a_replication_chain_save_their_history() {
    let mut net = Net::with(2, |c| c.dir = "/d".into());
    let p = net.connect(0);
    net.call(p, &["SET", "k", "v"]);
    assert_eq!(net.call(p, &["SAVE"]), ok());
    assert!(!rdb_aux(&net, 0, "/d/dump.rdb").contains_key("repl-id"));
    net.restart(
        0,
        Config {
            dir: "/d".into(),
            ..config(0)
        },
    );
    let p = net.connect(0);
    assert_eq!(net.info(p, "repl_backlog_active"), "0");
    assert_eq!(net.info(p, "master_replid2"), super::NO_REPLID);
    // A replica started from its config with no history saves none either.
    let mut replica = replica_config(1, 0);
    replica.dir = "/d".into();
    net.partition(0, 1);
    net.restart(1, replica);
    let r = net.connect(1);
    assert_eq!(net.call(r, &["SAVE"]), ok());
    let aux = rdb_aux(&net, 1, "/d/dump.rdb");
    assert!(!aux.contains_key("repl-id"), "{aux:?}");
    // A primary that fed a replica does; its AOF base does not.
    net.heal();
    net.run(3000);
    assert_eq!(net.call(p, &["SAVE"]), ok());
    let aux = rdb_aux(&net, 0, "/d/dump.rdb");
    assert_eq!(aux["repl-id"], net.info(p, "master_replid"));
    assert_eq!(aux["repl-stream-db"], "0");
    assert_eq!(aux["aof-base"], "0");
    // In Redis's order (redis-server 7.0.15's dump of a replica, checked).
    let names: Vec<String> = rdb_aux_in_order(&net, 0, "/d/dump.rdb")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let redis_order = [
        "redis-ver",
        "redis-bits",
        "ctime",
        "used-mem",
        "repl-stream-db",
        "repl-id",
        "repl-offset",
        "aof-base",
    ];
    assert_eq!(names, redis_order);
    let srv = net.nodes[0].server();
    let mut base =
        crate::persist::encoder::Encoder::rdb(srv, &crate::persist::encoder::Header::AofBase);
    base.finish();
    let bytes = base.take();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("repl-id") && text.contains("aof-base"));
}

/// A primary's load dropped keys already expired: the deletions enter
/// the stream right after the saved history, as Redis feeds them while
/// it loads, so a continuing replica deletes them too.
#[test]
fn a_restored_primary_streams_the_deletion_of_keys_expired_while_down() {
    use crate::repl::snapshot::{restore_history, SavedHistory};
    let mut net = Net::new(1);
    let srv = net.nodes[0].server_mut();
    let history = SavedHistory {
        replid: "ab".repeat(20),
        offset: 500,
        stream_db: 2,
    };
    let expired = [
        (0, bytes::Bytes::from_static(b"k1")),
        (0, bytes::Bytes::from_static(b"k2")),
        (4, bytes::Bytes::from_static(b"k3")),
    ];
    restore_history(srv, Some(history.clone()), &expired, true);
    let mut expected = Vec::new();
    super::encode_command(&mut expected, &["SELECT", "0"]);
    super::encode_command(&mut expected, &["DEL", "k1"]);
    super::encode_command(&mut expected, &["DEL", "k2"]);
    super::encode_command(&mut expected, &["SELECT", "4"]);
    super::encode_command(&mut expected, &["DEL", "k3"]);
    let backlog = srv.repl.backlog.as_ref().expect("a backlog");
    assert_eq!(backlog.since(501), Some(expected.clone()));
    assert_eq!(srv.repl.offset, 500 + expected.len() as u64);
    assert_eq!(srv.repl.second_offset, 501);
    assert_eq!(srv.repl.stream_db, Some(4));
    // Some dropped keys unnamed: the replicas could not be told, so no
    // history is offered (they full-sync).
    let mut net = Net::new(1);
    let srv = net.nodes[0].server_mut();
    restore_history(srv, Some(history), &[], false);
    assert!(srv.repl.backlog.is_none());
    assert_eq!(srv.repl.replid2, super::NO_REPLID);
}

#[test]
fn unsound_history_fields_are_no_history() {
    use crate::repl::snapshot::{HistoryFields, SavedHistory};
    let fields = |db: &str, id: &str, offset: &str| {
        let mut f = HistoryFields::default();
        f.note(b"repl-stream-db", db.as_bytes());
        f.note(b"repl-id", id.as_bytes());
        f.note(b"repl-offset", offset.as_bytes());
        f.note(b"used-mem", b"12");
        f.history(16)
    };
    let id = "0123456789abcdef0123456789abcdef01234567";
    let good = SavedHistory {
        replid: id.into(),
        offset: 241,
        stream_db: 3,
    };
    assert_eq!(fields("3", id, "241"), Some(good));
    assert_eq!(fields("3", id, "-1"), None, "Redis's 'no offset'");
    assert_eq!(fields("-1", id, "241"), None, "Redis's 'no database'");
    assert_eq!(fields("16", id, "241"), None, "a database this node lacks");
    assert_eq!(fields("3", &id[1..], "241"), None);
    assert_eq!(fields("3", &id.replace('a', "z"), "241"), None);
    assert_eq!(fields("3", id, "x"), None);
    assert_eq!(HistoryFields::default().history(16), None);
}

/// A key in the dump expired while the primary was down: the restarted
/// primary drops it and, as Redis's rdbLoad, puts its DEL in the backlog
/// right after the saved offset, so the continuing replica (which kept
/// the key, waiting for its master's DEL) deletes it too.
#[test]
fn a_restarted_primary_tells_its_continuing_replica_of_keys_expired_while_down() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    write_every_type(&mut net, p, "a");
    net.call(p, &["SET", "short", "v", "PX", "2000"]);
    net.run(1000);
    assert_eq!(net.call(p, &["SAVE"]), ok());
    net.partition(0, 1);
    net.run(3000);
    net.restart(0, config(0));
    let holds = |net: &Net, i: usize| net.nodes[i].server().dbs[0].keys().contains_key(b"short");
    assert!(
        !holds(&net, 0),
        "the primary dropped the expired key at load"
    );
    assert!(
        holds(&net, 1),
        "the replica keeps it until its master's DEL"
    );
    net.heal();
    // The replica's reconnection backs off during the 3 s cut.
    net.run(15000);
    let p = net.connect(0);
    assert_eq!(net.info(p, "sync_partial_ok"), "1");
    assert_eq!(net.info(p, "sync_full"), "0");
    assert!(!holds(&net, 1), "the DEL reached the replica");
    assert_eq!(net.dataset(1), net.dataset(0));
}

/// A replica restarted from its dump keeps the keys whose time passed
/// (Redis drops expired keys at load only on a primary): its master's DEL
/// deletes them, so the two never diverge by the replica's clock.
#[test]
fn a_replica_keeps_expired_keys_of_its_dump_at_load() {
    let (mut net, p, r) = primary_and_replica();
    net.call(r, &["REPLICAOF", "127.0.0.1", "7000"]);
    net.call(p, &["SET", "short", "v", "PX", "1500"]);
    net.run(1000);
    assert_eq!(net.call(r, &["SAVE"]), ok());
    net.partition(0, 1);
    net.run(1000);
    net.restart(1, replica_config(1, 0));
    net.run(100);
    assert!(net.nodes[1].server().dbs[0].keys().contains_key(b"short"));
    let r = net.connect(1);
    assert_eq!(
        net.call(r, &["GET", "short"]),
        Frame::Null,
        "logically expired"
    );
    net.heal();
    net.run(3000);
    assert!(!net.nodes[1].server().dbs[0].keys().contains_key(b"short"));
}
