//! Loading at start: bounded steps, `-LOADING` meanwhile, expired keys
//! dropped, corrupt files refused with their offset.

use super::*;
use crate::testing::mem_disk::MemDisk;

/// A dump of `n` keys (and one list), as SAVE writes it.
fn saved_file(n: usize, extra: &[&[&str]]) -> Vec<u8> {
    let mut h = Harness::new(config_with_saves(&[]));
    let c = h.connect();
    fill(&mut h, c, n);
    for command in extra {
        h.call(c, command);
    }
    assert_eq!(h.call(c, &["SAVE"]), ok());
    h.disk.read(DUMP).unwrap().to_vec()
}

fn harness_on(file: &[u8]) -> Harness {
    let mut disk = MemDisk::default();
    disk.put_durable(DUMP, file);
    Harness::with_disk(config_with_saves(&[]), disk)
}

#[test]
fn start_loads_the_file_in_steps_answering_loading_meanwhile() {
    let file = saved_file(5_000, &[&["RPUSH", "list", "a", "b"]]);
    let mut h = harness_on(&file);
    let c = h.connect();
    h.start();
    let loading = err(super::super::LOADING);
    assert_eq!(h.call(c, &["GET", "key:1"]), loading);
    assert_eq!(h.call(c, &["PING"]), loading);
    assert_eq!(info_field(&mut h, c, "loading"), "1");
    assert_eq!(
        info_field(&mut h, c, "loading_total_bytes"),
        file.len().to_string()
    );
    h.tick();
    let loaded: u64 = info_field(&mut h, c, "loading_loaded_bytes")
        .parse()
        .unwrap();
    assert!(
        loaded > 0 && loaded < file.len() as u64,
        "one bounded step: {loaded}"
    );
    assert!(info_field(&mut h, c, "loading_loaded_perc").contains('.'));
    assert!(
        matches!(h.call(c, &["LASTSAVE"]), Frame::Int(_)),
        "LASTSAVE runs while loading"
    );
    h.advance(0);
    assert_eq!(info_field(&mut h, c, "loading"), "0");
    assert_eq!(h.call(c, &["GET", "key:1"]), Frame::Bulk("value:1".into()));
    assert_eq!(h.call(c, &["DBSIZE"]), Frame::Int(5_001));
    assert_eq!(info_field(&mut h, c, "rdb_last_load_keys_loaded"), "5001");
    assert!(h
        .log
        .iter()
        .any(|(_, l)| l.starts_with("DB loaded from disk")));
}

#[test]
fn a_missing_file_starts_empty() {
    let mut h = Harness::new(config_with_saves(&[]));
    h.start();
    let c = h.connect();
    assert_eq!(h.call(c, &["DBSIZE"]), Frame::Int(0));
    assert!(h.fatal.is_none());
}

#[test]
fn keys_expired_by_the_time_of_loading_are_dropped() {
    let at = (1_700_000_000_000u64 + 1_000).to_string();
    let file = saved_file(
        3,
        &[
            &["PEXPIREAT", "key:0", &at],
            &["PEXPIREAT", "key:1", "1900000000000"],
        ],
    );
    let mut h = harness_on(&file);
    h.now.unix_ms += 2_000;
    h.start();
    h.advance(0);
    let c = h.connect();
    assert_eq!(h.call(c, &["EXISTS", "key:0"]), Frame::Int(0));
    assert_eq!(
        h.call(c, &["PEXPIRETIME", "key:1"]),
        Frame::Int(1_900_000_000_000)
    );
    assert_eq!(info_field(&mut h, c, "rdb_last_load_keys_expired"), "1");
    assert_eq!(info_field(&mut h, c, "rdb_last_load_keys_loaded"), "2");
}

#[test]
fn a_corrupt_file_stops_the_node_naming_file_and_offset() {
    let mut file = saved_file(2_000, &[]);
    let at = file.len() / 2;
    file[at] ^= 0x40;
    let mut h = harness_on(&file);
    let c = h.connect();
    h.start();
    h.advance(0);
    let fatal = h.fatal.clone().expect("refused");
    assert!(
        fatal.contains("./dump.rdb") && fatal.contains("at offset"),
        "{fatal}"
    );
    assert!(h.shutdown);
    // Never half-loaded: the node serves nothing more.
    assert!(h.node.is_shutting_down());
    let _ = c;
}

#[test]
fn a_truncated_file_is_refused() {
    let file = saved_file(100, &[]);
    let mut h = harness_on(&file[..file.len() - 20]);
    h.start();
    h.advance(0);
    assert!(h.fatal.clone().expect("refused").contains("offset"));
}

#[test]
fn restart_after_save_serves_the_same_data() {
    let mut h = Harness::new(config_with_saves(&[]));
    let c = h.connect();
    fill(&mut h, c, 50);
    h.call(c, &["ZADD", "z", "1", "a", "2", "b"]);
    h.call(c, &["SELECT", "9"]);
    h.call(c, &["HSET", "h", "f", "v"]);
    h.call(c, &["SAVE"]);
    let before = dataset(&mut h);
    h.restart(config_with_saves(&[]));
    h.advance(0);
    assert_eq!(dataset(&mut h), before);
}

#[test]
fn shutdown_while_loading_does_not_save_over_the_file() {
    let file = saved_file(5_000, &[]);
    let mut disk = MemDisk::default();
    disk.put_durable(DUMP, &file);
    let mut h = Harness::with_disk(config_with_saves(&[(1, 1)]), disk);
    let c = h.connect();
    h.start();
    assert_eq!(info_field(&mut h, c, "loading"), "1");
    h.send_raw(c, &crate::testing::request(&[b"SHUTDOWN", b"SAVE"]));
    assert!(h.shutdown);
    assert_eq!(
        h.disk.read(DUMP),
        Some(file.as_slice()),
        "the file is untouched"
    );
}

#[test]
fn function_libraries_survive_save_and_restart() {
    let lib = "#!lua name=keep\nredis.register_function('keep_get', function(keys) return redis.call('GET', keys[1]) end)";
    let mut h = Harness::new(config_with_saves(&[]));
    let c = h.connect();
    h.call(c, &["SET", "k", "v"]);
    assert_eq!(
        h.call(c, &["FUNCTION", "LOAD", lib]),
        Frame::Bulk("keep".into())
    );
    h.call(c, &["SAVE"]);
    h.restart(config_with_saves(&[]));
    h.advance(0);
    let c = h.connect();
    assert_eq!(
        h.call(c, &["FCALL", "keep_get", "1", "k"]),
        Frame::Bulk("v".into())
    );
}
