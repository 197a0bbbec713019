//! Snapshots through the real driver and file system, against a real
//! redis-server 7.0:
//!
//! - a dump.rdb written by Keel's forkless BGSAVE passes `redis-check-rdb`
//!   and loads into redis-server with every key equal;
//! - Keel started on a dump.rdb SAVEd by redis-server serves its keys;
//! - Keel started on its own SAVEd file serves the same data.
//!
//! Without redis-server the Redis parts print a loud SKIPPED line and
//! pass, except under CI=true, where they fail (see `keel_tests::tools`).

use keel_engine::resp::frame::Frame;
use keel_engine::Config;
use keel_tests::tools::{assert_check_rdb_accepts, require_tool};
use keel_tests::{KeelServer, RedisServer, RespConn, TempDir};
use std::time::{Duration, Instant};

/// A temporary directory, removed on drop.
fn call(conn: &mut RespConn, args: &[&str]) -> Frame {
    conn.call(args).expect("a reply")
}

/// Keys of every type, with enough of them that the background save
/// takes many steps (and big values for the compressed encodings).
fn populate(conn: &mut RespConn) {
    for i in 0..5_000 {
        let (key, value) = (format!("k:{i}"), format!("value-{i}"));
        call(conn, &["SET", &key, &value]);
    }
    call(conn, &["SET", "big", &"x".repeat(10_000)]);
    call(conn, &["SET", "n", "12345"]);
    call(conn, &["RPUSH", "list", "a", "b", "3", "d"]);
    call(conn, &["HSET", "hash", "f1", "v1", "f2", "2"]);
    call(conn, &["SADD", "ints", "1", "2", "3"]);
    call(conn, &["SADD", "set", "a", "b", "c"]);
    call(conn, &["ZADD", "zset", "1", "a", "2.5", "b"]);
    call(conn, &["SET", "ttl", "v", "EX", "1000"]);
    call(conn, &["SELECT", "5"]);
    call(conn, &["SET", "in5", "five"]);
    call(conn, &["SELECT", "0"]);
}

/// The checks every server holding [`populate`]'s data passes.
fn check_populated(conn: &mut RespConn) {
    let bulk = |s: &str| Frame::Bulk(s.as_bytes().to_vec().into());
    assert_eq!(call(conn, &["DBSIZE"]), Frame::Int(5_008));
    assert_eq!(call(conn, &["GET", "k:4321"]), bulk("value-4321"));
    assert_eq!(call(conn, &["STRLEN", "big"]), Frame::Int(10_000));
    assert_eq!(call(conn, &["GET", "n"]), bulk("12345"));
    assert_eq!(
        call(conn, &["LRANGE", "list", "0", "-1"]),
        Frame::Array(vec![bulk("a"), bulk("b"), bulk("3"), bulk("d")])
    );
    assert_eq!(call(conn, &["HGET", "hash", "f2"]), bulk("2"));
    assert_eq!(call(conn, &["SCARD", "ints"]), Frame::Int(3));
    assert_eq!(call(conn, &["SISMEMBER", "set", "c"]), Frame::Int(1));
    assert_eq!(call(conn, &["ZSCORE", "zset", "b"]), bulk("2.5"));
    assert!(matches!(call(conn, &["TTL", "ttl"]), Frame::Int(t) if t > 900));
    call(conn, &["SELECT", "5"]);
    assert_eq!(call(conn, &["GET", "in5"]), bulk("five"));
    call(conn, &["SELECT", "0"]);
}

fn info_field(conn: &mut RespConn, name: &str) -> String {
    let Frame::Bulk(text) = call(conn, &["INFO", "persistence"]) else {
        panic!("INFO is a bulk string");
    };
    let text = String::from_utf8_lossy(&text).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
}

fn keel_in(dir: &TempDir) -> KeelServer {
    KeelServer::with_config(Config {
        dir: dir.text(),
        ..Config::default()
    })
}

#[test]
fn keel_bgsave_file_passes_redis_check_rdb_and_loads_into_redis() {
    let Some(check) = require_tool("redis-check-rdb", "keel_bgsave_file_passes_redis_check_rdb")
    else {
        return;
    };
    let Some(binary) = require_tool("redis-server", "keel_bgsave_file_loads_into_redis") else {
        return;
    };
    let dir = TempDir::new("persist-bgsave");
    let keel = keel_in(&dir);
    let mut k = RespConn::connect(keel.addr()).expect("connect");
    populate(&mut k);
    assert_eq!(
        call(&mut k, &["BGSAVE"]),
        Frame::Simple("Background saving started".into())
    );
    // Writes while it runs are not in the file.
    call(&mut k, &["SET", "k:1", "changed"]);
    call(&mut k, &["SET", "late", "1"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut k, "rdb_bgsave_in_progress") == "1" {
        assert!(Instant::now() < deadline, "BGSAVE finishes");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(info_field(&mut k, "rdb_last_bgsave_status"), "ok");
    let path = dir.path().join("dump.rdb");
    assert_check_rdb_accepts(&check, &path);
    let dir_text = dir.text();
    let args = ["--dir", dir_text.as_str(), "--dbfilename", "dump.rdb"];
    let redis = RedisServer::start(&binary, &args).expect("redis-server loads Keel's file");
    let mut r = RespConn::connect(redis.addr()).expect("connect");
    check_populated(&mut r);
    assert_eq!(
        call(&mut r, &["GET", "k:1"]),
        Frame::Bulk(b"value-1".to_vec().into())
    );
    assert_eq!(call(&mut r, &["EXISTS", "late"]), Frame::Int(0));
}

#[test]
fn keel_started_on_a_redis_dump_serves_its_keys() {
    let Some(binary) = require_tool("redis-server", "keel_started_on_a_redis_dump") else {
        return;
    };
    let dir = TempDir::new("persist-redis-dump");
    let dir_text = dir.text();
    {
        let args = ["--dir", dir_text.as_str(), "--dbfilename", "dump.rdb"];
        let redis = RedisServer::start(&binary, &args).expect("redis-server starts");
        let mut r = RespConn::connect(redis.addr()).expect("connect");
        populate(&mut r);
        assert_eq!(call(&mut r, &["SAVE"]), Frame::Simple("OK".into()));
    }
    let keel = keel_in(&dir);
    let mut k = RespConn::connect(keel.addr()).expect("connect");
    // A file this size loads in a few steps; wait for them.
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut k, "loading") == "1" {
        assert!(Instant::now() < deadline, "loading finishes");
        std::thread::sleep(Duration::from_millis(5));
    }
    check_populated(&mut k);
    assert_eq!(info_field(&mut k, "rdb_last_load_keys_loaded"), "5009");
}

#[test]
fn keel_restarted_on_its_own_save_serves_the_same_data() {
    let dir = TempDir::new("persist-restart");
    {
        let keel = keel_in(&dir);
        let mut k = RespConn::connect(keel.addr()).expect("connect");
        populate(&mut k);
        assert_eq!(call(&mut k, &["SAVE"]), Frame::Simple("OK".into()));
        let lastsave = call(&mut k, &["LASTSAVE"]);
        assert!(matches!(lastsave, Frame::Int(t) if t > 1_700_000_000));
    }
    let keel = keel_in(&dir);
    let mut k = RespConn::connect(keel.addr()).expect("connect");
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut k, "loading") == "1" {
        assert!(Instant::now() < deadline, "loading finishes");
        std::thread::sleep(Duration::from_millis(5));
    }
    check_populated(&mut k);
}
