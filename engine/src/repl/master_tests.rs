//! Full syncs on the primary side, a raw connection playing the replica:
//! the payload's two forms, the stream held from the snapshot instant,
//! the disk-less delay sharing one transfer, attaching to a disk-backed
//! save, and a slow replica throttling the walk. A "replica" is rebuilt
//! from what the connection received (the payload loaded, the stream run
//! as commands) and compared with the primary.

use crate::client::ClientId;
use crate::config::Config;
use crate::node::Input;
use crate::persist::snapshot::test_support::{
    apply, fingerprint, op_strategy, populate, Fingerprint, Op,
};
use crate::persist::snapshot::REPLICA_PENDING_MAX;
use crate::resp::frame::Frame;
use crate::testing::{request, Harness};
use proptest::prelude::*;

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
