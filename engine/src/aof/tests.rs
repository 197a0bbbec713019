//! The AOF on the in-memory disk: layout and bytes, every fsync policy's
//! acknowledgement timing, failures, rewrite and crash points, loading.

use crate::config::Config;
use crate::disk::DiskReply;
use crate::node::{Input, Output};
use crate::resp::frame::Frame;
use crate::testing::{request, Harness};
use std::collections::BTreeMap;

const DIR: &str = "/data/appendonlydir";
const MANIFEST: &str = "/data/appendonlydir/appendonly.aof.manifest";

fn config(fsync: &str) -> Config {
    Config {
        appendonly: true,
        appendfsync: fsync.into(),
        dir: "/data".into(),
        ..Config::default()
    }
}

pub(super) fn started(config: Config) -> Harness {
    let mut h = Harness::new(config);
    h.advance(0);
    h
}

/// A new node on the same disk (after a crash when `power_loss`).
pub(super) fn restart(mut h: Harness, power_loss: bool) -> Harness {
    if power_loss {
        h.disk.power_loss();
    }
    let config = h.node.config().clone();
    let mut next = Harness::new(config);
    next.disk = std::mem::take(&mut h.disk);
    next.advance(0);
    next
}

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

fn text(h: &Harness, path: &str) -> String {
    String::from_utf8_lossy(h.disk.read(path).unwrap_or_else(|| panic!("{path} exists")))
        .into_owned()
}

/// Every key of every database with its DUMP payload and TTL.
fn dataset(h: &mut Harness) -> BTreeMap<(usize, String), (Frame, Frame)> {
    let c = h.connect();
    let mut all = BTreeMap::new();
    for db in 0..4 {
        h.call(c, &["SELECT", &db.to_string()]);
        let Frame::Array(keys) = h.call(c, &["KEYS", "*"]) else {
            panic!("KEYS replies an array")
        };
        for key in keys {
            let key = key.text().expect("a key");
            let dump = h.call(c, &["DUMP", &key]);
            let ttl = h.call(c, &["PEXPIRETIME", &key]);
            all.insert((db, key), (dump, ttl));
        }
    }
    all
}

#[test]
fn a_fresh_start_creates_redis_7_layout_and_writes_commands() {
    let mut h = started(config("everysec"));
    assert_eq!(
        text(&h, MANIFEST),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    let base = h
        .disk
        .read(&format!("{DIR}/appendonly.aof.1.base.rdb"))
        .unwrap();
    assert!(base.starts_with(b"REDIS0010"));
    let c = h.connect();
    assert_eq!(h.call(c, &["SET", "k", "v"]), ok());
    h.call(c, &["SELECT", "2"]);
    h.call(c, &["INCR", "n"]);
    h.call(c, &["GET", "n"]);
    assert_eq!(
        text(&h, &format!("{DIR}/appendonly.aof.1.incr.aof")),
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n\
         *2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
    );
    let before = dataset(&mut h);
    let mut h = restart(h, false);
    assert_eq!(dataset(&mut h), before);
    assert_eq!(before.len(), 2);
}

#[test]
fn always_holds_the_reply_until_its_fsync_succeeded() {
    let mut h = started(config("always"));
    let c = h.connect();
    h.node.handle_input(
        h.now,
        Input::ClientData {
            client: c,
            data: &request(&[b"SET", b"k", b"v"]),
        },
    );
    let mut outputs = Vec::new();
    while let Some(out) = h.node.poll_output() {
        outputs.push(out);
    }
    let kinds: Vec<&str> = outputs
        .iter()
        .map(|o| match o {
            Output::Disk(r) if matches!(r.op, crate::disk::DiskOp::Append { .. }) => "append",
            Output::Disk(r) if matches!(r.op, crate::disk::DiskOp::Sync { .. }) => "sync",
            Output::Write { .. } => "write",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["append", "sync"],
        "no reply before the sync is answered"
    );
    for out in outputs {
        let Output::Disk(req) = out else {
            unreachable!()
        };
        let result = h.disk.apply(&req.op);
        h.node
            .handle_input(h.now, Input::DiskDone { id: req.id, result });
    }
    assert!(matches!(h.node.poll_output(), Some(Output::Write { client, .. }) if client == c));
}

#[test]
fn always_stops_the_server_when_fsync_fails_and_never_acknowledges() {
    let mut h = started(config("always"));
    let c = h.connect();
    h.disk.fail_next = 2; // the append and its sync
    h.send_raw(c, &request(&[b"SET", b"k", b"v"]));
    assert_eq!(h.read(c), None, "the write is never acknowledged");
    assert!(h.is_closed(c));
    assert!(h.shutdown);
}

#[test]
fn always_loses_no_acknowledged_write_on_power_loss() {
    let mut h = started(config("always"));
    let c = h.connect();
    for i in 0..50 {
        assert_eq!(h.call(c, &["SET", &format!("k{i}"), "v"]), ok());
    }
    let mut h = restart(h, true);
    assert_eq!(dataset(&mut h).len(), 50);
}

#[test]
fn everysec_syncs_once_a_second_so_at_most_a_second_is_lost() {
    let mut h = started(config("everysec"));
    h.advance_ticking(1000);
    let c = h.connect();
    assert_eq!(h.call(c, &["SET", "early", "1"]), ok());
    h.advance_ticking(1100);
    assert_eq!(h.call(c, &["SET", "late", "1"]), ok());
    h.advance_ticking(100);
    let mut h = restart(h, true);
    let keys: Vec<String> = dataset(&mut h).into_keys().map(|(_, k)| k).collect();
    assert_eq!(
        keys,
        ["early"],
        "synced within a second; the last write was not yet"
    );
}

#[test]
fn no_never_syncs_on_its_own() {
    let mut h = started(config("no"));
    let c = h.connect();
    h.call(c, &["SET", "k", "1"]);
    h.advance_ticking(5000);
    let syncs = h
        .disk
        .log
        .iter()
        .filter(|op| matches!(op, crate::disk::DiskOp::Sync { .. }))
        .count();
    let mut h = restart(h, true);
    assert!(dataset(&mut h).is_empty());
    assert_eq!(syncs, 2, "only the fresh layout's base and manifest");
}

#[test]
fn a_failed_write_refuses_writes_with_misconf_until_the_retry_works() {
    let mut h = started(config("everysec"));
    let c = h.connect();
    h.disk.fail_next = 1;
    assert_eq!(h.call(c, &["SET", "a", "1"]), ok());
    let misconf = Frame::Error("MISCONF Errors writing to the AOF file: Input/output error".into());
    assert_eq!(h.call(c, &["SET", "b", "1"]), misconf);
    assert_eq!(h.call(c, &["PING"]), misconf);
    assert_eq!(h.call(c, &["GET", "a"]), Frame::Bulk("1".into()));
    let Frame::Bulk(info) = h.call(c, &["INFO", "persistence"]) else {
        panic!()
    };
    let _ = info;
    h.advance_ticking(200);
    assert_eq!(h.call(c, &["SET", "b", "2"]), ok());
    let incr = text(&h, &format!("{DIR}/appendonly.aof.1.incr.aof"));
    assert_eq!(
        incr.matches("SET").count(),
        2,
        "the failed append was written again, once: {incr:?}"
    );
    h.advance_ticking(1100);
    let mut h = restart(h, true);
    assert_eq!(dataset(&mut h).len(), 2);
}

#[test]
fn a_failed_fsync_under_everysec_refuses_writes_until_one_succeeds() {
    let mut h = started(config("everysec"));
    let c = h.connect();
    h.call(c, &["SET", "a", "1"]);
    h.advance_ticking(900);
    h.disk.fail_next = 1;
    h.advance_ticking(200);
    let refused = h.call(c, &["SET", "b", "1"]);
    assert!(refused
        .text()
        .unwrap()
        .starts_with("MISCONF Errors writing to the AOF file"));
    h.advance_ticking(1100);
    assert_eq!(h.call(c, &["SET", "b", "1"]), ok());
}

#[test]
fn bgrewriteaof_swaps_in_a_new_base_and_incr_and_removes_the_old() {
    let mut h = started(config("everysec"));
    let c = h.connect();
    h.call(c, &["SET", "k", "v"]);
    h.call(c, &["RPUSH", "l", "a", "b"]);
    h.call(c, &["INCR", "n"]);
    assert_eq!(
        h.call(c, &["BGREWRITEAOF"]),
        Frame::Simple("Background append only file rewriting started".into())
    );
    assert_eq!(
        h.call(c, &["BGREWRITEAOF"]),
        Frame::Error("ERR Background append only file rewriting already in progress".into())
    );
    h.call(c, &["INCR", "n"]);
    h.advance_ticking(200);
    assert_eq!(
        text(&h, MANIFEST),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let mut paths: Vec<&str> = h.disk.paths();
    paths.retain(|p| p.starts_with(DIR));
    assert_eq!(
        paths,
        [
            "/data/appendonlydir/appendonly.aof.2.base.rdb",
            "/data/appendonlydir/appendonly.aof.2.incr.aof",
            MANIFEST
        ]
    );
    let before = dataset(&mut h);
    let mut h = restart(h, false);
    assert_eq!(dataset(&mut h), before);
    let c = h.connect();
    assert_eq!(h.call(c, &["GET", "n"]), Frame::Bulk("2".into()));
}

#[test]
fn a_base_without_preamble_is_commands() {
    let mut h = started(Config {
        aof_use_rdb_preamble: false,
        ..config("everysec")
    });
    let c = h.connect();
    h.call(c, &["ZADD", "z", "1.5", "a", "inf", "b"]);
    h.call(c, &["HSET", "h", "f", "v"]);
    h.call(c, &["SADD", "s", "x"]);
    h.call(c, &["SET", "t", "v", "PXAT", "1800000000000"]);
    h.call(c, &["BGREWRITEAOF"]);
    h.advance_ticking(200);
    assert!(text(&h, MANIFEST).starts_with("file appendonly.aof.2.base.aof seq 2 type b\n"));
    let base = text(&h, &format!("{DIR}/appendonly.aof.2.base.aof"));
    assert!(
        base.contains("PEXPIREAT") && base.contains("ZADD"),
        "{base}"
    );
    let before = dataset(&mut h);
    let mut h = restart(h, false);
    assert_eq!(dataset(&mut h), before);
}

/// Runs the node, applying only the first `limit` disk requests; the
/// machine then loses power. Returns whether the limit was reached.
pub(super) fn run_until_crash(h: &mut Harness, limit: &mut usize) -> bool {
    while let Some(out) = h.node.poll_output() {
        if let Output::Disk(req) = out {
            if *limit == 0 {
                return true;
            }
            *limit -= 1;
            let result = h.disk.apply(&req.op);
            h.node
                .handle_input(h.now, Input::DiskDone { id: req.id, result });
        }
    }
    false
}

#[test]
fn a_crash_at_every_request_of_a_rewrite_leaves_a_loadable_aof() {
    let mut crash_at = 0;
    loop {
        let mut h = started(config("always"));
        let c = h.connect();
        for i in 0..20 {
            h.call(c, &["INCR", &format!("n{}", i % 3)]);
        }
        h.call(c, &["RPUSH", "l", "a", "b", "c"]);
        let expected = dataset(&mut h);
        let mut limit = crash_at;
        h.node.handle_input(
            h.now,
            Input::ClientData {
                client: c,
                data: &request(&[b"BGREWRITEAOF"]),
            },
        );
        let mut crashed = run_until_crash(&mut h, &mut limit);
        while !crashed && h.node.server_mut().aof.rewrite_in_progress() {
            h.now.mono_ms += 100;
            h.now.unix_ms += 100;
            h.node.handle_timeout(h.now);
            crashed = run_until_crash(&mut h, &mut limit);
        }
        let mut h = restart(h, true);
        assert_eq!(
            h.node.server_mut().aof.load_error(),
            None,
            "crash at request {crash_at}"
        );
        assert_eq!(dataset(&mut h), expected, "crash at request {crash_at}");
        if !crashed {
            break;
        }
        crash_at += 1;
    }
    assert!(crash_at > 10, "the rewrite made {crash_at} requests");
}

fn put_layout(h: &mut Harness, incr: &str) {
    h.disk
        .put_durable(MANIFEST, b"file appendonly.aof.1.incr.aof seq 1 type i\n");
    h.disk
        .put_durable(&format!("{DIR}/appendonly.aof.1.incr.aof"), incr.as_bytes());
}

const SET_A: &str = "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
const MULTI: &str = "*1\r\n$5\r\nMULTI\r\n";

#[test]
fn a_torn_tail_is_dropped_and_cut_from_the_file() {
    let torn = format!("{SET_A}*3\r\n$3\r\nSET\r\n$1\r\nb");
    let mut h = Harness::new(config("everysec"));
    put_layout(&mut h, &torn);
    h.advance(0);
    assert_eq!(h.node.server_mut().aof.load_error(), None);
    assert_eq!(dataset(&mut h).len(), 1);
    let c = h.connect();
    h.call(c, &["SET", "c", "1"]);
    let incr = text(&h, &format!("{DIR}/appendonly.aof.1.incr.aof"));
    assert!(
        incr.starts_with(SET_A) && !incr.contains("$1\r\nb"),
        "{incr:?}"
    );
    let mut h = restart(h, false);
    assert_eq!(dataset(&mut h).len(), 2);
}

#[test]
fn an_unfinished_multi_is_rolled_back() {
    let open = format!("{SET_A}{MULTI}*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n1\r\n");
    let mut h = Harness::new(config("everysec"));
    put_layout(&mut h, &open);
    h.advance(0);
    let keys: Vec<String> = dataset(&mut h).into_keys().map(|(_, k)| k).collect();
    assert_eq!(keys, ["a"]);
}

#[test]
fn a_truncated_file_is_refused_when_aof_load_truncated_is_no() {
    let mut h = Harness::new(Config {
        aof_load_truncated: false,
        ..config("everysec")
    });
    put_layout(&mut h, &format!("{SET_A}*3\r\n"));
    h.advance(0);
    let error = h.node.server_mut().aof.load_error().unwrap().to_string();
    assert!(
        error.contains("appendonly.aof.1.incr.aof at offset 27"),
        "{error}"
    );
    assert!(h.shutdown);
}

#[test]
fn corruption_refuses_to_start_naming_file_and_offset() {
    let mut h = Harness::new(config("everysec"));
    put_layout(&mut h, &format!("{SET_A}garbage\r\n{SET_A}"));
    h.advance(0);
    let error = h.node.server_mut().aof.load_error().unwrap().to_string();
    assert!(
        error.contains("appendonly.aof.1.incr.aof at offset 27"),
        "{error}"
    );
    assert!(h.shutdown);
    assert_eq!(dataset_len_without_loading(&mut h), 0);
}

fn dataset_len_without_loading(h: &mut Harness) -> usize {
    h.node.server_mut().dbs.iter().map(|d| d.len()).sum()
}

#[test]
fn commands_get_loading_while_the_aof_loads() {
    let mut body = String::new();
    for i in 0..10_000 {
        body.push_str(&format!("*3\r\n$3\r\nSET\r\n$5\r\nk{i:04}\r\n$1\r\n1\r\n"));
    }
    let mut h = Harness::new(config("everysec"));
    put_layout(&mut h, &body);
    let c = h.connect();
    assert_eq!(
        h.call(c, &["GET", "k"]),
        Frame::Error("LOADING Redis is loading the dataset in memory".into())
    );
    h.advance(0);
    assert_eq!(h.call(c, &["DBSIZE"]), Frame::Int(10_000));
}

#[test]
fn config_set_appendonly_yes_starts_with_a_rewrite_and_no_stops() {
    let mut h = Harness::new(Config {
        dir: "/data".into(),
        ..Config::default()
    });
    h.advance(0);
    let c = h.connect();
    h.call(c, &["SET", "before", "1"]);
    assert_eq!(h.call(c, &["CONFIG", "SET", "appendonly", "yes"]), ok());
    h.call(c, &["SET", "during", "1"]);
    h.advance_ticking(300);
    assert_eq!(
        text(&h, MANIFEST),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    assert_eq!(h.call(c, &["CONFIG", "SET", "appendonly", "no"]), ok());
    h.call(c, &["SET", "after", "1"]);
    let mut reloaded = Harness::new(config("everysec"));
    reloaded.disk = std::mem::take(&mut h.disk);
    reloaded.advance(0);
    let keys: Vec<String> = dataset(&mut reloaded).into_keys().map(|(_, k)| k).collect();
    assert_eq!(keys, ["before", "during"]);
}

#[test]
fn info_reports_the_aof_fields_in_redis_order() {
    let mut h = started(config("everysec"));
    let fields: Vec<&str> = super::info_fields(h.node.server_mut())
        .iter()
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(
        fields,
        [
            "aof_enabled",
            "aof_rewrite_in_progress",
            "aof_rewrite_scheduled",
            "aof_last_rewrite_time_sec",
            "aof_current_rewrite_time_sec",
            "aof_last_bgrewrite_status",
            "aof_rewrites",
            "aof_rewrites_consecutive_failures",
            "aof_last_write_status",
            "aof_last_cow_size",
            "module_fork_in_progress",
            "module_fork_last_cow_size",
            "aof_current_size",
            "aof_base_size",
            "aof_pending_rewrite",
            "aof_buffer_length",
            "aof_pending_bio_fsync",
            "aof_delayed_fsync",
        ]
    );
}

#[test]
fn auto_rewrite_starts_past_min_size_and_percentage() {
    let mut h = started(Config {
        auto_aof_rewrite_min_size: 1000,
        ..config("everysec")
    });
    let c = h.connect();
    for i in 0..40 {
        h.call(c, &["SET", &format!("key:{i}"), "some value"]);
    }
    h.advance_ticking(500);
    assert!(
        text(&h, MANIFEST).contains("seq 2 type b"),
        "{}",
        text(&h, MANIFEST)
    );
    let _ = DiskReply::Done;
}

mod round_trip {
    use super::*;
    use proptest::prelude::*;

    fn op() -> impl Strategy<Value = Vec<String>> {
        let key = prop_oneof!["a", "b", "c", "d"].prop_map(String::from);
        let val = "[a-z0-9]{0,6}";
        prop_oneof![
            (key.clone(), val).prop_map(|(k, v)| vec!["SET".into(), k, v]),
            key.clone()
                .prop_map(|k| vec!["INCR".into(), format!("n{k}")]),
            (key.clone(), val).prop_map(|(k, v)| vec!["RPUSH".into(), format!("l{k}"), v]),
            key.clone()
                .prop_map(|k| vec!["LPOP".into(), format!("l{k}")]),
            (key.clone(), val).prop_map(|(k, v)| vec!["SADD".into(), format!("s{k}"), v]),
            (key.clone(), val, val).prop_map(|(k, f, v)| vec![
                "HSET".into(),
                format!("h{k}"),
                f,
                v
            ]),
            (key.clone(), -5i32..5, val).prop_map(|(k, s, m)| vec![
                "ZADD".into(),
                format!("z{k}"),
                s.to_string(),
                m
            ]),
            key.clone().prop_map(|k| vec!["DEL".into(), k]),
            // Absolute: relative TTLs do not propagate as absolute yet.
            (key.clone(), 1u64..100_000).prop_map(|(k, s)| {
                vec![
                    "PEXPIREAT".into(),
                    k,
                    (1_700_000_000_000 + s * 1000).to_string(),
                ]
            }),
            (0u8..3).prop_map(|db| vec!["SELECT".into(), db.to_string()]),
            Just(vec!["BGREWRITEAOF".to_string()]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn any_writes_reload_to_the_same_dataset(
            ops in proptest::collection::vec(op(), 1..60),
            preamble in any::<bool>(),
        ) {
            let mut h = started(Config { aof_use_rdb_preamble: preamble, ..config("always") });
            let c = h.connect();
            for op in &ops {
                let words: Vec<&str> = op.iter().map(String::as_str).collect();
                h.call(c, &words);
                h.advance(50);
            }
            let before = dataset(&mut h);
            let mut h = restart(h, true);
            prop_assert_eq!(h.node.server_mut().aof.load_error(), None);
            prop_assert_eq!(dataset(&mut h), before);
        }
    }
}
