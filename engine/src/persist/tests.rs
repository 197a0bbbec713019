//! SAVE, BGSAVE, save points, SHUTDOWN, loading and DEBUG RELOAD on the
//! in-memory disk.

mod background;
mod crash;
mod loading;

use crate::config::{Config, SavePoint};
use crate::disk::DiskOp;
use crate::rdb::loader::{load_all, Item};
use crate::rdb::Encodings;
use crate::resp::frame::Frame;
use crate::testing::Harness;
use crate::types::Value;
use std::collections::BTreeMap;

/// (database, key) → (value, absolute expiry).
type Dataset = BTreeMap<(u64, Vec<u8>), (Canon, Option<u64>)>;

/// A value's contents, whatever its encoding (a loaded value may be
/// encoded differently from the one saved: a string appended to, a set
/// that shrank back under the listpack limits).
#[derive(Debug, Clone, PartialEq)]
enum Canon {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(std::collections::BTreeSet<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    ZSet(Vec<(Vec<u8>, u64)>),
}

fn canon(value: &Value) -> Canon {
    match value {
        Value::Str(s) => Canon::Str(s.as_cow().to_vec()),
        Value::List(l) => Canon::List(l.range(0, l.len()).iter().map(|b| b.to_vec()).collect()),
        Value::Set(s) => Canon::Set(s.to_bytes_vec().iter().map(|b| b.to_vec()).collect()),
        Value::Hash(h) => Canon::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()),
        Value::ZSet(z) => {
            let mut pairs: Vec<(Vec<u8>, u64)> = z
                .to_vec()
                .into_iter()
                .map(|(m, s)| (m.to_vec(), s.to_bits()))
                .collect();
            pairs.sort();
            Canon::ZSet(pairs)
        }
    }
}

const DUMP: &str = "./dump.rdb";

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

fn err(text: &str) -> Frame {
    Frame::Error(text.into())
}

fn config_with_saves(points: &[(u64, u64)]) -> Config {
    Config {
        save: points
            .iter()
            .map(|&(seconds, changes)| SavePoint { seconds, changes })
            .collect(),
        enable_debug_command: "yes".into(),
        ..Config::default()
    }
}

/// What the node holds now.
fn dataset(h: &mut Harness) -> Dataset {
    let srv = h.node.server_mut();
    let mut out = Dataset::new();
    for (index, db) in srv.dbs.iter().enumerate() {
        for (key, obj) in db.keys().iter() {
            let expire = db.expire_at(key);
            out.insert((index as u64, key.to_vec()), (canon(&obj.value), expire));
        }
    }
    out
}

/// What an RDB file holds (every key, expired or not).
fn file_dataset(data: &[u8]) -> Dataset {
    let items = load_all(data, Encodings::from_config(&Config::default())).expect("a valid file");
    let mut out = Dataset::new();
    for item in items {
        if let Item::Entry(e) = item {
            let prev = out.insert((e.db, e.key.to_vec()), (canon(&e.value), e.expire_at_ms));
            assert!(prev.is_none(), "each key is written once");
        }
    }
    out
}

fn info_field(h: &mut Harness, c: crate::ClientId, name: &str) -> String {
    let text = h
        .call(c, &["INFO", "persistence"])
        .text()
        .expect("INFO text");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
        .unwrap_or_else(|| panic!("no field {name} in {text}"))
}

fn fill(h: &mut Harness, c: crate::ClientId, n: usize) {
    for i in 0..n {
        h.call(c, &["SET", &format!("key:{i}"), &format!("value:{i}")]);
    }
}

#[test]
fn save_writes_the_file_with_the_safe_protocol() {
    let mut h = Harness::new(config_with_saves(&[]));
    let c = h.connect();
    fill(&mut h, c, 10);
    h.call(c, &["RPUSH", "list", "a", "b", "c"]);
    h.call(c, &["PEXPIREAT", "key:1", "1800000000000"]);
    h.call(c, &["SELECT", "3"]);
    h.call(c, &["HSET", "h", "f", "v"]);
    h.disk.log.clear();
    assert_eq!(h.call(c, &["SAVE"]), ok());
    let data = h.disk.read(DUMP).expect("dump.rdb written").to_vec();
    assert_eq!(file_dataset(&data), dataset(&mut h));
    let ops: Vec<&str> = h
        .disk
        .log
        .iter()
        .map(|op| match op {
            DiskOp::Create { .. } => "create",
            DiskOp::Append { .. } => "append",
            DiskOp::Sync { .. } => "sync",
            DiskOp::Close { .. } => "close",
            DiskOp::Rename { .. } => "rename",
            DiskOp::SyncDir { .. } => "syncdir",
            _ => "other",
        })
        .collect();
    assert_eq!(
        ops,
        ["create", "append", "sync", "close", "rename", "syncdir"]
    );
    assert_eq!(h.disk.paths(), [DUMP], "no temporary file is left");
    assert_eq!(info_field(&mut h, c, "rdb_saves"), "1");
    assert_eq!(info_field(&mut h, c, "rdb_changes_since_last_save"), "0");
    let lastsave = h.call(c, &["LASTSAVE"]);
    assert_eq!(lastsave, Frame::Int((h.now.unix_ms / 1000) as i64));
}

#[test]
fn commands_pipelined_after_save_run_once_it_is_on_disk() {
    let mut h = Harness::new(config_with_saves(&[]));
    let c = h.connect();
    fill(&mut h, c, 3);
    let mut batch = crate::testing::request(&[b"SAVE"]);
    batch.extend(crate::testing::request(&[b"SET", b"x", b"1"]));
    h.send_raw(c, &batch);
    assert_eq!(h.read(c), Some(ok()));
    assert_eq!(h.read(c), Some(ok()));
    let saved = file_dataset(h.disk.read(DUMP).unwrap());
    assert_eq!(saved.len(), 3, "SET x ran after the save");
    assert_eq!(h.call(c, &["GET", "x"]), Frame::Bulk("1".into()));
}

#[test]
fn failed_save_replies_err_and_keeps_the_old_file() {
    let mut h = Harness::new(config_with_saves(&[]));
    let c = h.connect();
    fill(&mut h, c, 3);
    assert_eq!(h.call(c, &["SAVE"]), ok());
    let old = h.disk.read(DUMP).unwrap().to_vec();
    h.call(c, &["SET", "new", "1"]);
    h.disk.fail_next = 1;
    assert_eq!(h.call(c, &["SAVE"]), err("ERR"));
    assert_eq!(h.disk.read(DUMP).unwrap(), old.as_slice());
    assert_eq!(h.disk.paths(), [DUMP], "the temporary file is removed");
    assert_eq!(h.call(c, &["GET", "new"]), Frame::Bulk("1".into()));
}

#[test]
fn lastsave_starts_at_the_start_and_bgsave_counts() {
    let mut h = Harness::new(config_with_saves(&[]));
    let c = h.connect();
    let start = (h.now.unix_ms / 1000) as i64;
    assert_eq!(h.call(c, &["LASTSAVE"]), Frame::Int(start));
    h.advance(5_000);
    fill(&mut h, c, 5);
    assert_eq!(
        h.call(c, &["BGSAVE"]),
        Frame::Simple("Background saving started".into())
    );
    h.advance(0);
    assert_eq!(h.call(c, &["LASTSAVE"]), Frame::Int(start + 5));
    assert_eq!(info_field(&mut h, c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(info_field(&mut h, c, "rdb_bgsave_in_progress"), "0");
    assert_eq!(info_field(&mut h, c, "rdb_last_bgsave_time_sec"), "0");
}

#[test]
fn bgsave_replies_and_errors_as_redis() {
    let mut h = Harness::new(config_with_saves(&[]));
    let c = h.connect();
    fill(&mut h, c, 5_000);
    assert_eq!(
        h.call(c, &["BGSAVE"]),
        Frame::Simple("Background saving started".into())
    );
    let in_progress = err("ERR Background save already in progress");
    assert_eq!(h.call(c, &["BGSAVE"]), in_progress);
    assert_eq!(h.call(c, &["BGSAVE", "SCHEDULE"]), in_progress);
    assert_eq!(h.call(c, &["SAVE"]), in_progress);
    assert_eq!(h.call(c, &["BGSAVE", "now"]), err("ERR syntax error"));
    assert_eq!(info_field(&mut h, c, "rdb_bgsave_in_progress"), "1");
    assert_eq!(info_field(&mut h, c, "current_save_keys_total"), "5000");
    h.tick();
    let processed: u64 = info_field(&mut h, c, "current_save_keys_processed")
        .parse()
        .unwrap();
    assert!(
        processed > 0 && processed < 5_000,
        "bounded step: {processed}"
    );
    h.advance(0);
    assert_eq!(info_field(&mut h, c, "rdb_bgsave_in_progress"), "0");
    assert_eq!(info_field(&mut h, c, "rdb_saves"), "1");
    let data = h.disk.read(DUMP).unwrap().to_vec();
    assert_eq!(file_dataset(&data).len(), 5_000);
}

#[test]
fn save_points_fire_on_changes_and_time() {
    let mut h = Harness::new(config_with_saves(&[(10, 3), (100, 1)]));
    let c = h.connect();
    h.call(c, &["SET", "a", "1"]);
    h.call(c, &["SET", "b", "1"]);
    h.advance_ticking(11_000);
    assert!(h.disk.read(DUMP).is_none(), "2 changes < 3");
    h.call(c, &["SET", "c", "1"]);
    h.advance_ticking(200);
    assert!(h.disk.read(DUMP).is_some(), "3 changes in more than 10 s");
    assert!(h
        .log
        .iter()
        .any(|(_, l)| l == "3 changes in 10 seconds. Saving..."));
    assert_eq!(info_field(&mut h, c, "rdb_changes_since_last_save"), "0");
    // One change waits for the 100 s point.
    h.call(c, &["SET", "d", "1"]);
    h.advance_ticking(50_000);
    assert_eq!(info_field(&mut h, c, "rdb_saves"), "1");
    h.advance_ticking(51_000);
    assert_eq!(info_field(&mut h, c, "rdb_saves"), "2");
}

#[test]
fn failed_bgsave_stops_writes_with_misconf_and_retries_after_the_delay() {
    let mut h = Harness::new(config_with_saves(&[(1, 1)]));
    let c = h.connect();
    h.call(c, &["SET", "a", "1"]);
    h.disk.fail_next = 1;
    h.advance_ticking(2_100);
    assert_eq!(info_field(&mut h, c, "rdb_last_bgsave_status"), "err");
    let misconf = err(super::MISCONF);
    assert_eq!(h.call(c, &["SET", "b", "1"]), misconf);
    assert_eq!(h.call(c, &["PING"]), misconf);
    assert_eq!(h.call(c, &["GET", "a"]), Frame::Bulk("1".into()));
    // No retry within the delay (5 s), then the retry succeeds.
    h.advance_ticking(4_000);
    assert!(h.disk.read(DUMP).is_none());
    h.advance_ticking(2_000);
    assert!(h.disk.read(DUMP).is_some());
    assert_eq!(h.call(c, &["SET", "b", "1"]), ok());
    // With stop-writes-on-bgsave-error no, a failure does not stop writes.
    h.call(c, &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"]);
    h.disk.fail_next = 1;
    h.advance_ticking(2_100);
    assert_eq!(info_field(&mut h, c, "rdb_last_bgsave_status"), "err");
    assert_eq!(h.call(c, &["SET", "b", "2"]), ok());
}

#[test]
fn shutdown_saves_when_save_points_are_set() {
    let mut h = Harness::new(config_with_saves(&[(3600, 1)]));
    let c = h.connect();
    h.call(c, &["SET", "a", "1"]);
    h.send_raw(c, &crate::testing::request(&[b"SHUTDOWN"]));
    assert!(h.shutdown);
    assert_eq!(file_dataset(h.disk.read(DUMP).unwrap()).len(), 1);
}

#[test]
fn shutdown_nosave_and_no_save_points_do_not_save() {
    let mut h = Harness::new(config_with_saves(&[(3600, 1)]));
    let c = h.connect();
    h.call(c, &["SET", "a", "1"]);
    h.send_raw(c, &crate::testing::request(&[b"SHUTDOWN", b"NOSAVE"]));
    assert!(h.shutdown && h.disk.read(DUMP).is_none());
    let mut h = Harness::new(config_with_saves(&[]));
    let c = h.connect();
    h.send_raw(c, &crate::testing::request(&[b"SHUTDOWN"]));
    assert!(h.shutdown && h.disk.read(DUMP).is_none());
    let mut h = Harness::new(config_with_saves(&[]));
    let c = h.connect();
    h.send_raw(c, &crate::testing::request(&[b"SHUTDOWN", b"SAVE"]));
    assert!(h.shutdown && h.disk.read(DUMP).is_some());
}

#[test]
fn shutdown_whose_save_fails_is_refused_unless_forced() {
    let mut h = Harness::new(config_with_saves(&[(3600, 1)]));
    let c = h.connect();
    h.call(c, &["SET", "a", "1"]);
    h.disk.fail_next = 1;
    assert_eq!(
        h.call(c, &["SHUTDOWN"]),
        err("ERR Errors trying to SHUTDOWN. Check logs.")
    );
    assert!(!h.shutdown);
    assert_eq!(h.call(c, &["GET", "a"]), Frame::Bulk("1".into()));
    h.disk.fail_next = 1;
    h.send_raw(c, &crate::testing::request(&[b"SHUTDOWN", b"FORCE"]));
    assert!(h.shutdown);
}

#[test]
fn sigterm_saves_like_shutdown() {
    let mut h = Harness::new(config_with_saves(&[(3600, 1)]));
    let c = h.connect();
    h.call(c, &["SET", "a", "1"]);
    h.disk.fail_next = 1;
    h.sigterm();
    assert!(!h.shutdown, "the save failed: the server keeps serving");
    assert_eq!(h.call(c, &["GET", "a"]), Frame::Bulk("1".into()));
    h.sigterm();
    assert!(h.shutdown);
    assert_eq!(file_dataset(h.disk.read(DUMP).unwrap()).len(), 1);
}

#[test]
fn shutdown_abandons_a_background_save() {
    let mut h = Harness::new(config_with_saves(&[]));
    let c = h.connect();
    fill(&mut h, c, 5_000);
    h.call(c, &["BGSAVE"]);
    h.tick();
    h.send_raw(c, &crate::testing::request(&[b"SHUTDOWN", b"NOSAVE"]));
    assert!(h.shutdown);
    assert!(h.disk.paths().is_empty(), "temp file removed, no dump");
}

#[test]
fn debug_reload_saves_and_loads_back() {
    let mut h = Harness::new(config_with_saves(&[]));
    let c = h.connect();
    fill(&mut h, c, 100);
    h.call(c, &["SADD", "s", "1", "2", "x"]);
    let before = dataset(&mut h);
    assert_eq!(h.call(c, &["DEBUG", "RELOAD"]), ok());
    assert_eq!(dataset(&mut h), before);
    // NOSAVE reloads the file as it is: later writes are gone.
    h.call(c, &["SET", "later", "1"]);
    assert_eq!(h.call(c, &["DEBUG", "RELOAD", "NOSAVE"]), ok());
    assert_eq!(dataset(&mut h), before);
    // NOFLUSH without MERGE: the file's keys already exist.
    assert_eq!(
        h.call(c, &["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH"]),
        err("ERR Error trying to load the RDB dump, check server logs.")
    );
    h.call(c, &["FLUSHALL"]);
    h.call(c, &["SET", "mine", "1"]);
    assert_eq!(
        h.call(c, &["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"]),
        ok()
    );
    assert_eq!(dataset(&mut h).len(), before.len() + 1);
    assert_eq!(
        h.call(c, &["DEBUG", "RELOAD", "BOGUS"]),
        err("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
    );
}

#[test]
fn config_parameters_read_and_validate_as_redis() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let get = |h: &mut Harness, name: &str| match h.call(c, &["CONFIG", "GET", name]) {
        Frame::Array(v) => v[1].text().unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(get(&mut h, "save"), "");
    assert_eq!(h.call(c, &["CONFIG", "SET", "save", "100 5 10 2"]), ok());
    assert_eq!(get(&mut h, "save"), "100 5 10 2");
    let invalid = err(
        "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters",
    );
    for bad in ["1 2 3", "a 1", "0 1", "-1 1", "1 -1"] {
        assert_eq!(h.call(c, &["CONFIG", "SET", "save", bad]), invalid, "{bad}");
    }
    assert_eq!(get(&mut h, "dbfilename"), "dump.rdb");
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "dbfilename", "x.rdb"]),
        err("ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config")
    );
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "rdbchecksum", "no"]),
        err("ERR CONFIG SET failed (possibly related to argument 'rdbchecksum') - can't set immutable config")
    );
    for (name, value) in [
        ("rdbcompression", "yes"),
        ("rdbchecksum", "yes"),
        ("stop-writes-on-bgsave-error", "yes"),
        ("rdb-del-sync-files", "no"),
        ("sanitize-dump-payload", "no"),
    ] {
        assert_eq!(get(&mut h, name), value, "{name}");
    }
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "sanitize-dump-payload", "foo"]),
        err("ERR CONFIG SET failed (possibly related to argument 'sanitize-dump-payload') - argument(s) must be one of the following: no, yes, clients")
    );
}

#[test]
fn rdbcompression_and_rdbchecksum_shape_the_file() {
    let long = "a".repeat(200);
    let mut sizes = Vec::new();
    for compression in [true, false] {
        let mut config = config_with_saves(&[]);
        config.rdbcompression = compression;
        config.rdbchecksum = false;
        let mut h = Harness::new(config);
        let c = h.connect();
        h.call(c, &["SET", "k", &long]);
        h.call(c, &["SAVE"]);
        let data = h.disk.read(DUMP).unwrap().to_vec();
        assert_eq!(&data[data.len() - 8..], &[0; 8], "no checksum");
        assert_eq!(file_dataset(&data).len(), 1);
        sizes.push(data.len());
    }
    assert!(sizes[0] + 100 < sizes[1], "compressed {sizes:?}");
}

#[test]
fn info_persistence_lists_redis_fields_in_order() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let text = h.call(c, &["INFO", "persistence"]).text().unwrap();
    let names: Vec<&str> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(':').next())
        .filter(|n| !n.is_empty())
        .collect();
    assert_eq!(
        names,
        [
            "loading",
            "async_loading",
            "current_cow_peak",
            "current_cow_size",
            "current_cow_size_age",
            "current_fork_perc",
            "current_save_keys_processed",
            "current_save_keys_total",
            "rdb_changes_since_last_save",
            "rdb_bgsave_in_progress",
            "rdb_last_save_time",
            "rdb_last_bgsave_status",
            "rdb_last_bgsave_time_sec",
            "rdb_current_bgsave_time_sec",
            "rdb_saves",
            "rdb_last_cow_size",
            "rdb_last_load_keys_expired",
            "rdb_last_load_keys_loaded",
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
        ]
    );
}
