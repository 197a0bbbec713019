//! Full syncs on the primary side, a raw connection playing the replica:
//! the payload's two forms, the stream held from the snapshot instant,
//! the disk-less delay sharing one transfer, attaching to a disk-backed
//! save, and a slow replica throttling the walk. A "replica" is rebuilt
//! from what the connection received (the payload loaded, the stream run
//! as commands) and compared with the primary.

use super::info_replica_values;
use crate::client::ClientId;
use crate::config::Config;
use crate::node::{Input, LogLevel, Output};
use crate::persist::snapshot::test_support::{
    apply, fingerprint, op_strategy, populate, Fingerprint, Op,
};
use crate::persist::snapshot::REPLICA_PENDING_MAX;
use crate::resp::frame::Frame;
use crate::testing::{request, Harness};
use proptest::prelude::*;
use std::collections::BTreeMap;

const EOF_LOG: &str = "Starting BGSAVE for SYNC with target: replicas sockets";

fn config(delay: u64) -> Config {
    Config {
        repl_diskless_sync_delay: delay,
        ..Config::default()
    }
}

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

/// A connection that asks for a full sync, announcing `capa eof` or not.
fn attach(h: &mut Harness, capa_eof: bool) -> ClientId {
    let r = h.connect();
    if capa_eof {
        assert_eq!(
            h.call(r, &["REPLCONF", "capa", "eof", "capa", "psync2"]),
            ok()
        );
    }
    h.send_raw(r, &request(&[b"PSYNC", b"?", b"-1"]));
    r
}

fn walking(h: &Harness) -> bool {
    h.node.server().persist.walk_busy()
}

/// What a replica connection received: the FULLRESYNC offset, the EOF
/// mark (disk-less) and the RDB, then the bytes after the payload.
#[derive(Debug)]
struct Received {
    offset: u64,
    mark: Option<String>,
    rdb: Vec<u8>,
    rest: Vec<u8>,
}

/// Parses a complete full sync (keepalive newlines first are skipped).
fn parse(bytes: &[u8]) -> Option<Received> {
    let start = bytes.iter().position(|b| *b != b'\n')?;
    let (line, body) = split_line(&bytes[start..])?;
    let offset = line
        .strip_prefix("+FULLRESYNC ")?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()?;
    let (head, payload) = split_line(body)?;
    if let Some(mark) = head.strip_prefix("$EOF:") {
        assert_eq!(mark.len(), 40, "{head}");
        assert!(mark.bytes().all(|b| b.is_ascii_hexdigit()), "{head}");
        // The stream waits for the first ACK: the payload ends the bytes.
        let rdb = payload.strip_suffix(mark.as_bytes())?.to_vec();
        return Some(Received {
            offset,
            mark: Some(mark.to_string()),
            rdb,
            rest: Vec::new(),
        });
    }
    let len: usize = head.strip_prefix('$')?.parse().ok()?;
    (payload.len() >= len).then(|| Received {
        offset,
        mark: None,
        rdb: payload[..len].to_vec(),
        rest: payload[len..].to_vec(),
    })
}

fn split_line(bytes: &[u8]) -> Option<(String, &[u8])> {
    let end = bytes.windows(2).position(|w| w == b"\r\n")?;
    let line = String::from_utf8_lossy(&bytes[..end]).into_owned();
    Some((line, &bytes[end + 2..]))
}

/// The dataset of a replica that loaded `rdb` and applied `stream`.
fn replica_dataset(rdb: &[u8], stream: &[u8]) -> Fingerprint {
    let mut replica = Harness::new(Config::default());
    crate::repl::snapshot::load_rdb(replica.node.server_mut(), rdb).expect("the payload loads");
    let c = replica.connect();
    replica.send_raw(c, stream);
    fingerprint(replica.node.server())
}

/// After a disk-less payload: the replica's first ACK starts the stream;
/// returns everything the connection received after the payload.
fn ack_and_stream(h: &mut Harness, r: ClientId, got: &Received) -> Vec<u8> {
    let before = h.pending_bytes(r).len();
    let offset = got.offset.to_string();
    h.send_raw(r, &request(&[b"REPLCONF", b"ACK", offset.as_bytes()]));
    h.pending_bytes(r)[before..].to_vec()
}

fn master_offset(h: &Harness) -> u64 {
    h.node.server().repl.offset
}

// ---- writes during the walk ----

fn full_sync_under_writes(ops: &[Op]) {
    let mut h = Harness::new(config(0));
    let c = h.connect();
    populate(&mut h, c);
    let r = attach(&mut h, true);
    assert!(walking(&h), "the payload takes more than the first step");
    for op in ops {
        apply(&mut h, c, op);
    }
    let mut steps = 0;
    while walking(&h) {
        h.tick();
        steps += 1;
        assert!(steps < 100, "the walk ends");
    }
    let payload = h.pending_bytes(r);
    let got = parse(&payload).expect("a complete disk-less payload");
    ack_and_stream(&mut h, r, &got);
    // Online now: a later write is streamed at once.
    h.call(c, &["SET", "after", "1"]);
    let stream = h.pending_bytes(r)[payload.len()..].to_vec();
    assert_eq!(got.offset + stream.len() as u64, master_offset(&h));
    assert_eq!(
        replica_dataset(&got.rdb, &stream),
        fingerprint(h.node.server())
    );
}

#[test]
fn a_full_sync_with_writes_between_the_steps_gives_the_primarys_data() {
    full_sync_under_writes(&[
        Op::Incr(0),
        Op::Set(3),
        Op::Step,
        Op::Del(1400),
        Op::Lpush(2),
        Op::Expire(1200),
        Op::FlushDb1,
        Op::Step,
        Op::Set(1499),
    ]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn replica_equals_primary_whatever_the_writes_during_the_walk(
        ops in proptest::collection::vec(op_strategy(), 0..40),
    ) {
        full_sync_under_writes(&ops);
    }
}

// ---- the payload's forms ----

#[test]
fn eof_form_for_capa_eof_replicas_and_length_form_otherwise() {
    let mut h = Harness::new(config(0));
    let c = h.connect();
    h.call(c, &["SET", "k", "v"]);
    let replid = h.node.server().replid.clone();

    let eof = attach(&mut h, true);
    let bytes = h.pending_bytes(eof);
    let head = format!("+FULLRESYNC {replid} 0\r\n$EOF:");
    assert!(bytes.starts_with(head.as_bytes()));
    let got = parse(&bytes).expect("complete at once: a small dataset");
    assert!(got.rdb.starts_with(b"REDIS0010"));
    let mark = got.mark.clone().expect("the EOF form");
    assert!(bytes.ends_with(mark.as_bytes()));

    // No `capa eof`: a BGSAVE, then the saved file with its length.
    let plain = attach(&mut h, false);
    assert!(h.pending_bytes(plain).starts_with(b"+FULLRESYNC "));
    h.advance(0);
    let got = parse(&h.pending_bytes(plain)).expect("the file was sent");
    assert_eq!(got.mark, None);
    assert_eq!(h.disk.read("./dump.rdb"), Some(&got.rdb[..]));
    assert!(got.rest.is_empty());
    // Online at once (no ACK needed): the stream follows the file.
    h.call(c, &["SET", "k2", "v2"]);
    let got = parse(&h.pending_bytes(plain)).expect("still parses");
    assert_eq!(
        replica_dataset(&got.rdb, &got.rest),
        fingerprint(h.node.server())
    );
}

#[test]
fn repl_diskless_sync_no_sends_the_file_even_to_capa_eof_replicas() {
    let mut h = Harness::new(Config {
        repl_diskless_sync: false,
        ..config(5)
    });
    let c = h.connect();
    h.call(c, &["SET", "k", "v"]);
    let r = attach(&mut h, true);
    h.advance(0);
    let got = parse(&h.pending_bytes(r)).expect("the file was sent without delay");
    assert_eq!(got.mark, None);
    let info = h.call(c, &["INFO", "persistence"]).text().expect("INFO");
    assert!(info.contains("rdb_saves:1\r\n"), "{info}");
}

// ---- sharing one transfer ----

#[test]
fn replicas_arriving_during_the_delay_share_one_transfer() {
    let mut h = Harness::new(config(5));
    let c = h.connect();
    populate(&mut h, c);
    let a = attach(&mut h, true);
    h.advance_ticking(2000);
    let waited = h.pending_bytes(a);
    assert!(!waited.is_empty() && waited.iter().all(|b| *b == b'\n'));
    let b = attach(&mut h, true);
    h.call(c, &["INCR", "n0"]);
    // Until the first replica waited 5 s, nothing starts.
    h.advance_ticking(2800);
    assert!(parse(&h.pending_bytes(a)).is_none() && !walking(&h));
    // The start: both in the same walk, the late one must wait for the next.
    for _ in 0..20 {
        // One timer run at a time: the cron starting the walk takes its
        // first step only, more keys than it covers are left.
        h.now.mono_ms += 100;
        h.now.unix_ms += 100;
        h.tick();
        if walking(&h) {
            break;
        }
    }
    assert!(walking(&h), "the transfer started");
    let late = attach(&mut h, true);
    h.call(c, &["INCR", "n1"]);
    while walking(&h) {
        h.tick();
    }
    let (got_a, got_b) = (parse(&h.pending_bytes(a)), parse(&h.pending_bytes(b)));
    let (got_a, got_b) = (got_a.expect("a's payload"), got_b.expect("b's payload"));
    assert_eq!(got_a.offset, got_b.offset);
    assert_eq!(got_a.mark, got_b.mark);
    assert_eq!(got_a.rdb, got_b.rdb);
    assert!(parse(&h.pending_bytes(late)).is_none());
    let stream = ack_and_stream(&mut h, a, &got_a);
    assert_eq!(
        replica_dataset(&got_a.rdb, &stream),
        fingerprint(h.node.server())
    );
    // The late replica gets its own transfer, 5 s after it arrived.
    h.advance_ticking(5200);
    let got_late = parse(&h.pending_bytes(late)).expect("the next transfer");
    assert_ne!(got_late.mark, got_a.mark);
    assert!(got_late.offset > got_a.offset);
    let starts = h.log.iter().filter(|(_, t)| t == EOF_LOG).count();
    assert_eq!(starts, 2);
    let info = h.call(c, &["INFO", "stats"]).text().expect("INFO");
    assert!(info.contains("sync_full:3\r\n"), "{info}");
}

#[test]
fn enough_waiting_replicas_start_before_the_delay() {
    let mut h = Harness::new(Config {
        repl_diskless_sync_max_replicas: 2,
        ..config(60)
    });
    let c = h.connect();
    h.call(c, &["SET", "k", "v"]);
    let a = attach(&mut h, true);
    h.advance_ticking(1000);
    assert!(parse(&h.pending_bytes(a)).is_none());
    let b = attach(&mut h, true);
    h.advance_ticking(200);
    assert!(parse(&h.pending_bytes(a)).is_some());
    assert!(parse(&h.pending_bytes(b)).is_some());
}

#[test]
fn a_replica_arriving_during_a_disk_save_for_replicas_attaches_to_it() {
    let mut h = Harness::new(Config {
        repl_diskless_sync: false,
        ..config(0)
    });
    let c = h.connect();
    populate(&mut h, c);
    let a = attach(&mut h, false);
    assert!(walking(&h));
    h.call(c, &["SET", "during", "1"]);
    let b = attach(&mut h, false);
    h.call(c, &["INCR", "n2"]);
    h.advance(0);
    let got_a = parse(&h.pending_bytes(a)).expect("a's file");
    let got_b = parse(&h.pending_bytes(b)).expect("b's file");
    assert_eq!(got_a.offset, got_b.offset);
    assert_eq!(got_a.rest, got_b.rest);
    let primary = fingerprint(h.node.server());
    assert_eq!(replica_dataset(&got_a.rdb, &got_a.rest), primary);
    assert_eq!(replica_dataset(&got_b.rdb, &got_b.rest), primary);
    let saves = h
        .log
        .iter()
        .filter(|(_, t)| t == "Background saving started")
        .count();
    assert_eq!(saves, 1);
}

// ---- a slow replica ----

/// `len` letters LZF cannot shrink (the payload's size is the point).
fn incompressible(len: usize, seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

#[test]
fn a_slow_replica_throttles_the_walk() {
    let mut h = Harness::new(config(0));
    let c = h.connect();
    for i in 0..60 {
        h.call(c, &["SET", &format!("big{i}"), &incompressible(200_000, i)]);
    }
    let r = attach(&mut h, true);
    // The driver reports nothing written: the walk stops at the bound.
    for _ in 0..50 {
        h.tick();
    }
    // The bound, plus one step's bytes, plus one batch of keys the walk visits.
    let bound = REPLICA_PENDING_MAX as usize + crate::limits::BGSAVE_BYTES_PER_STEP + 1_000_000;
    assert!(walking(&h), "12 MB cannot be pending");
    let pending = h.pending_bytes(r).len();
    assert!(pending <= bound, "{pending} bytes pending");
    assert!(
        pending as u64 >= REPLICA_PENDING_MAX,
        "it stopped at the bound"
    );
    assert!(
        h.node.poll_timeout() > Some(h.now.mono_ms),
        "a throttled walk does not spin"
    );
    // As the driver writes, the walk goes on, never past the bound.
    let mut reported = 0;
    let mut rounds = 0;
    while walking(&h) {
        let produced = h.pending_bytes(r).len();
        assert!(produced - reported <= bound);
        let input = Input::ClientWritten {
            client: r,
            bytes: produced - reported,
        };
        h.node.handle_input(h.now, input);
        reported = produced;
        h.advance(0);
        rounds += 1;
        assert!(rounds < 100);
    }
    assert!(
        rounds >= 2,
        "several rounds of {} bytes",
        REPLICA_PENDING_MAX
    );
    let got = parse(&h.pending_bytes(r)).expect("the whole payload");
    let stream = ack_and_stream(&mut h, r, &got);
    assert_eq!(
        replica_dataset(&got.rdb, &stream),
        fingerprint(h.node.server())
    );
}

#[test]
fn diskless_settings_have_redis_defaults_and_bounds() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let get = |h: &mut Harness, name: &str| h.call(c, &["CONFIG", "GET", name]);
    let pair = |name: &str, value: &str| {
        let bulk = |text: &str| Frame::Bulk(bytes::Bytes::copy_from_slice(text.as_bytes()));
        Frame::Array(vec![bulk(name), bulk(value)])
    };
    assert_eq!(
        get(&mut h, "repl-diskless-sync"),
        pair("repl-diskless-sync", "yes")
    );
    assert_eq!(
        get(&mut h, "repl-diskless-sync-delay"),
        pair("repl-diskless-sync-delay", "5")
    );
    assert_eq!(
        get(&mut h, "repl-diskless-sync-max-replicas"),
        pair("repl-diskless-sync-max-replicas", "0")
    );
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "repl-diskless-sync-delay", "-1"]),
        Frame::Error("ERR CONFIG SET failed (possibly related to argument 'repl-diskless-sync-delay') - argument must be between 0 and 2147483647 inclusive".into())
    );
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "repl-diskless-sync", "maybe"]),
        Frame::Error("ERR CONFIG SET failed (possibly related to argument 'repl-diskless-sync') - argument must be 'yes' or 'no'".into())
    );
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "repl-diskless-sync", "no"]),
        ok()
    );
    assert!(!h.node.server().config.repl_diskless_sync);
}

// ---- feeding the stream ----

/// A replica brought online through a disk-backed full sync, its payload
/// reported written (what is pending for it from then on is the stream).
fn online_replica(h: &mut Harness) -> ClientId {
    let r = attach(h, false);
    h.advance(0);
    assert!(parse(&h.pending_bytes(r)).is_some(), "the file was sent");
    written(h, r);
    r
}

/// The driver wrote everything handed to it for `id`.
fn written(h: &mut Harness, id: ClientId) {
    let input = Input::ClientWritten {
        client: id,
        bytes: usize::MAX,
    };
    h.node.handle_input(h.now, input);
}

/// Runs `data` from client `c` as one batch of input and returns the
/// writes it produced, per connection: how many, and their bytes.
fn batch_writes(h: &mut Harness, c: ClientId, data: &[u8]) -> BTreeMap<ClientId, (usize, Vec<u8>)> {
    h.node
        .handle_input(h.now, Input::ClientData { client: c, data });
    let mut writes: BTreeMap<ClientId, (usize, Vec<u8>)> = BTreeMap::new();
    while let Some(out) = h.node.poll_output() {
        if let Output::Write { client, data } = out {
            let entry = writes.entry(client).or_default();
            entry.0 += 1;
            entry.1.extend_from_slice(&data);
        }
    }
    writes
}

#[test]
fn a_pipeline_reaches_each_replica_in_one_write_in_order() {
    let mut h = Harness::new(config(0));
    let c = h.connect();
    h.call(c, &["SET", "k", "v"]);
    let (a, b) = (online_replica(&mut h), online_replica(&mut h));
    h.call(c, &["SET", "first", "1"]); // the stream selects its db here
    let before = master_offset(&h);
    let mut pipeline = Vec::new();
    let mut expected = Vec::new();
    for i in 0..16 {
        let key = format!("key:{i}");
        pipeline.extend(request(&[b"SET", key.as_bytes(), b"xxx"]));
        crate::repl::encode_command(&mut expected, &["SET", key.as_str(), "xxx"]);
    }
    pipeline.extend(request(&[b"INCR", b"n"]));
    crate::repl::encode_command(&mut expected, &["INCR", "n"]);
    pipeline.extend(request(&[b"GET", b"n"]));
    let writes = batch_writes(&mut h, c, &pipeline);
    assert_eq!(
        writes[&a],
        (1, expected.clone()),
        "one write, the writes in order"
    );
    assert_eq!(writes[&b], (1, expected.clone()));
    assert_eq!(writes[&c].0, 1, "the writer's replies: one write too");
    assert_eq!(master_offset(&h), before + expected.len() as u64);
    // What the replicas got, from the payload on, rebuilds the primary.
    for r in [a, b] {
        let got = parse(&h.pending_bytes(r)).expect("the payload");
        let mut stream = got.rest.clone();
        stream.extend_from_slice(&writes[&r].1);
        assert_eq!(
            replica_dataset(&got.rdb, &stream),
            fingerprint(h.node.server())
        );
    }
}

#[test]
fn a_replica_is_held_to_the_replica_hard_limit_not_the_normal_one() {
    let mut h = Harness::new(config(0));
    let c = h.connect();
    let r = online_replica(&mut h);
    let limits = "normal 1kb 0 0 replica 4kb 0 0";
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "client-output-buffer-limit", limits]),
        ok()
    );
    written(&mut h, c);
    // 2 kB pending for the replica: over the normal limit, under its own,
    // through a cron too.
    h.call(c, &["SET", "a", &"x".repeat(2000)]);
    written(&mut h, c);
    h.advance_ticking(1500);
    assert!(!h.is_closed(r));
    assert_eq!(info_replica_values(h.node.server()).len(), 1);
    // Past 4 kB: closed at once, with Redis's warning.
    h.call(c, &["SET", "b", &"x".repeat(2500)]);
    assert!(h.is_closed(r), "over the replica hard limit");
    assert!(!h.is_closed(c));
    let warned = h.log.iter().any(|(level, text)| {
        *level == LogLevel::Warning && text.contains("overcoming of output buffer limits")
    });
    assert!(warned, "{:?}", h.log);
    let info = h.call(c, &["INFO", "replication"]).text().expect("INFO");
    assert!(info.contains("connected_slaves:0\r\n"), "{info}");
}

#[test]
fn a_replica_over_the_soft_limit_is_dropped_after_the_soft_seconds() {
    let mut h = Harness::new(config(0));
    let c = h.connect();
    let limits = "replica 0 1kb 2";
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "client-output-buffer-limit", limits]),
        ok()
    );
    let (slow, fast) = (online_replica(&mut h), online_replica(&mut h));
    h.call(c, &["SET", "a", &"x".repeat(1500)]);
    // The fast one's driver writes; the slow one's does not.
    written(&mut h, fast);
    h.advance_ticking(2500);
    written(&mut h, fast);
    assert!(
        !h.is_closed(slow),
        "2 s over the soft limit: not more than 2"
    );
    h.advance_ticking(1000);
    assert!(h.is_closed(slow), "over the soft limit for more than 2 s");
    assert!(!h.is_closed(fast));
    h.call(c, &["SET", "b", "1"]);
    assert_eq!(info_replica_values(h.node.server()).len(), 1);
}

#[test]
fn info_lists_replicas_in_their_full_sync_as_redis() {
    let mut h = Harness::new(config(5));
    let c = h.connect();
    h.call(c, &["SET", "k", "v"]);
    let r = h.connect();
    assert_eq!(h.call(r, &["REPLCONF", "listening-port", "7001"]), ok());
    // REPLCONF alone does not make a replica.
    assert!(info_replica_values(h.node.server()).is_empty());
    assert_eq!(
        h.call(r, &["REPLCONF", "capa", "eof", "capa", "psync2"]),
        ok()
    );
    h.send_raw(r, &request(&[b"PSYNC", b"?", b"-1"]));
    h.advance_ticking(2000);
    let waiting = "ip=127.0.0.1,port=7001,state=wait_bgsave,offset=0,lag=0";
    assert_eq!(info_replica_values(h.node.server()), vec![waiting]);
    let list = h
        .call(c, &["CLIENT", "LIST", "TYPE", "replica"])
        .text()
        .expect("a list");
    assert!(list.contains(" flags=S "), "{list}");
    // ROLE lists online replicas only, as Redis.
    let Frame::Array(role) = h.call(c, &["ROLE"]) else {
        panic!("ROLE is an array")
    };
    assert_eq!(role[2], Frame::Array(vec![]));
    h.advance_ticking(4000);
    while walking(&h) {
        h.tick();
    }
    let got = parse(&h.pending_bytes(r)).expect("the payload");
    // Sent, waiting for the first ACK: online for INFO, as in Redis.
    let values = info_replica_values(h.node.server());
    assert!(
        values[0].starts_with("ip=127.0.0.1,port=7001,state=online,offset=0,lag="),
        "{values:?}"
    );
    ack_and_stream(&mut h, r, &got);
    h.advance_ticking(2000);
    let offset = got.offset;
    assert_eq!(
        info_replica_values(h.node.server()),
        vec![format!(
            "ip=127.0.0.1,port=7001,state=online,offset={offset},lag=2"
        )]
    );
}

#[test]
fn info_says_send_bulk_while_a_saved_file_is_sent() {
    let mut h = Harness::new(config(0));
    let c = h.connect();
    for i in 0..40 {
        h.call(c, &["SET", &format!("big{i}"), &incompressible(200_000, i)]);
    }
    let r = attach(&mut h, false);
    // The driver reports nothing written: the file waits past the bound.
    for _ in 0..200 {
        if !walking(&h) {
            break;
        }
        h.tick();
    }
    h.advance(0);
    let values = info_replica_values(h.node.server());
    assert_eq!(values.len(), 1);
    assert!(values[0].contains(",state=send_bulk,"), "{values:?}");
    assert!(!h.is_closed(r));
}

// ---- the master client's view of expired keys (replica side) ----

/// A replica whose master is this test: the node's client, and the peer
/// id of its link, synced with `session` (the master's replies to the
/// handshake, then its payload).
fn replica_fed(session: &[u8]) -> (Harness, ClientId, ClientId) {
    let mut replica = Harness::new(Config::default());
    let c = replica.connect();
    let now = replica.now;
    let data = request(&[b"REPLICAOF", b"127.0.0.1", b"7999"]);
    replica.node.handle_input(
        now,
        Input::ClientData {
            client: c,
            data: &data,
        },
    );
    let mut peer = None;
    while let Some(out) = replica.node.poll_output() {
        if let Output::Connect { peer: p, .. } = out {
            peer = Some(p);
        }
    }
    let peer = peer.expect("REPLICAOF opens a connection");
    replica
        .node
        .handle_input(now, Input::PeerConnected { peer });
    replica.node.handle_input(
        now,
        Input::PeerData {
            peer,
            data: session,
        },
    );
    while replica.node.poll_output().is_some() {}
    (replica, c, peer)
}

fn stream_data(h: &mut Harness, peer: ClientId, commands: &[&[&str]]) {
    let mut data = Vec::new();
    for argv in commands {
        crate::repl::encode_command(&mut data, argv);
    }
    h.node
        .handle_input(h.now, Input::PeerData { peer, data: &data });
    while h.node.poll_output().is_some() {}
}

#[test]
fn the_master_stream_writes_over_keys_expired_by_the_replicas_clock() {
    let mut primary = Harness::new(config(0));
    let pc = primary.connect();
    primary.call(pc, &["SET", "n", "10", "PX", "1000"]);
    primary.call(pc, &["SET", "s", "abc", "PX", "1000"]);
    primary.call(pc, &["SET", "t", "gone", "PX", "1000"]);
    let link = attach(&mut primary, false);
    primary.advance(0);
    let mut session = b"+PONG\r\n+OK\r\n+OK\r\n".to_vec();
    session.extend(primary.pending_bytes(link));
    let (mut replica, c, peer) = replica_fed(&session);
    assert_eq!(replica.call(c, &["GET", "n"]), Frame::Bulk("10".into()));
    // The replica's clock passes the TTLs; the master's (whose DELs would
    // remove the keys) is behind: its stream still writes to them.
    replica.advance(2000);
    assert_eq!(
        replica.call(c, &["GET", "n"]),
        Frame::Null,
        "hidden from reads"
    );
    stream_data(
        &mut replica,
        peer,
        &[
            &["SELECT", "0"],
            &["INCR", "n"],
            &["APPEND", "s", "def"],
            &["PERSIST", "n"],
            &["PERSIST", "s"],
        ],
    );
    assert_eq!(replica.call(c, &["GET", "n"]), Frame::Bulk("11".into()));
    assert_eq!(replica.call(c, &["GET", "s"]), Frame::Bulk("abcdef".into()));
    // The replica's own clients still see the third key as expired, and
    // the replica kept it for the master's DEL.
    assert_eq!(replica.call(c, &["GET", "t"]), Frame::Null);
    assert_eq!(replica.call(c, &["DBSIZE"]), Frame::Int(3));
    assert_eq!(
        replica
            .call(c, &["INFO", "stats"])
            .text()
            .map(|t| t.contains("expired_keys:0\r\n")),
        Some(true)
    );
    stream_data(&mut replica, peer, &[&["DEL", "t"]]);
    assert_eq!(replica.call(c, &["DBSIZE"]), Frame::Int(2));
}
