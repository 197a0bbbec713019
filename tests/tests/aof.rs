//! AOF interoperability with Redis 7.0: a directory Keel wrote (base with
//! RDB preamble, a rewrite, incr files, manifest) passes `redis-check-aof`
//! and a real redis-server 7.0 started on it with `appendonly yes` loads
//! the same dataset; Keel's own check agrees.
//!
//! Without redis-server these tests print a loud SKIPPED line and pass,
//! except under CI=true, where they fail (see `keel_tests::tools`).

use bytes::Bytes;
use keel_engine::aof::check::{check_file, manifest_files, verdict, Verdict};
use keel_engine::rdb::Encodings;
use keel_engine::resp::frame::Frame;
use keel_engine::Config;
use keel_tests::tools::require_tool;
use keel_tests::{KeelServer, RedisServer, RespConn, TempDir};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn call(conn: &mut RespConn, args: &[&str]) -> Frame {
    conn.call(args).expect("the server answers")
}

/// Connects once the server has loaded its dataset: until then every
/// command but a few answers `-LOADING` (both servers load in steps).
fn connect_loaded(addr: std::net::SocketAddr) -> RespConn {
    let mut conn = RespConn::connect(addr).expect("connect");
    for _ in 0..1000 {
        match call(&mut conn, &["PING"]) {
            Frame::Error(e) if e.starts_with("LOADING") => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            _ => return conn,
        }
    }
    panic!("the server at {addr} is still loading after 20 s");
}

/// A varied dataset over two databases, with a rewrite in the middle so
/// the directory has a rewritten base and writes after it.
fn write_dataset(conn: &mut RespConn, dir: &TempDir) {
    call(conn, &["SET", "s", "hello"]);
    call(conn, &["SET", "n", "41"]);
    call(conn, &["RPUSH", "l", "a", "b", "c"]);
    call(conn, &["HSET", "h", "f1", "v1", "f2", "v2"]);
    call(conn, &["SADD", "set", "x", "y", "3"]);
    call(conn, &["ZADD", "z", "1.5", "m1", "-2", "m2"]);
    call(conn, &["PEXPIREAT", "s", "4102444800000"]);
    assert_eq!(
        call(conn, &["BGREWRITEAOF"]),
        Frame::Simple("Background append only file rewriting started".into())
    );
    wait_for_rewrite(&dir.path().join("appendonlydir/appendonly.aof.manifest"));
    call(conn, &["INCR", "n"]);
    call(conn, &["LPUSH", "l", "z"]);
    call(conn, &["SELECT", "3"]);
    call(conn, &["SET", "other", "db3"]);
    for i in 0..200 {
        call(
            conn,
            &["HSET", "big", &format!("field{i}"), &"v".repeat(i % 70)],
        );
    }
    call(conn, &["SELECT", "0"]);
}

/// Waits until the manifest names the rewritten base (INFO persistence
/// shows the AOF fields once the persistence section includes them).
fn wait_for_rewrite(manifest: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(manifest).unwrap_or_default();
        if text.contains("seq 2 type b") {
            return;
        }
        assert!(Instant::now() < deadline, "the rewrite finishes: {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What the dataset looks like through commands, whatever the encoding.
fn observe(conn: &mut RespConn) -> Vec<Frame> {
    let mut seen = Vec::new();
    for (db, reads) in [
        (
            "0",
            vec![
                vec!["GET", "s"],
                vec!["PEXPIRETIME", "s"],
                vec!["GET", "n"],
                vec!["LRANGE", "l", "0", "-1"],
                vec!["HGET", "h", "f2"],
                vec!["HLEN", "h"],
                vec!["SISMEMBER", "set", "3"],
                vec!["SCARD", "set"],
                vec!["ZRANGE", "z", "0", "-1", "WITHSCORES"],
                vec!["DBSIZE"],
            ],
        ),
        (
            "3",
            vec![
                vec!["GET", "other"],
                vec!["HGET", "big", "field69"],
                vec!["HLEN", "big"],
                vec!["DBSIZE"],
            ],
        ),
    ] {
        call(conn, &["SELECT", db]);
        for read in reads {
            seen.push(call(conn, &read));
        }
    }
    seen
}

fn keel_with_aof(dir: &TempDir) -> KeelServer {
    KeelServer::with_config(Config {
        appendonly: true,
        dir: dir.text(),
        ..Config::default()
    })
}

#[test]
fn redis_check_aof_accepts_keels_directory_and_redis_loads_it() {
    let Some(redis) = require_tool("redis-server", "aof interop") else {
        return;
    };
    let Some(check) = require_tool("redis-check-aof", "aof interop") else {
        return;
    };
    let dir = TempDir::new("aof-interop");
    let expected = {
        let keel = keel_with_aof(&dir);
        let mut conn = connect_loaded(keel.addr());
        write_dataset(&mut conn, &dir);
        observe(&mut conn)
    };
    let manifest = dir.path().join("appendonlydir/appendonly.aof.manifest");
    let text = std::fs::read_to_string(&manifest).expect("a manifest");
    assert_eq!(
        text,
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let out = Command::new(&check)
        .arg(&manifest)
        .output()
        .expect("run redis-check-aof");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "redis-check-aof: {report}");
    assert!(
        report.contains("All AOF files and manifest are valid"),
        "{report}"
    );
    assert!(keel_check(&manifest), "Keel's own check agrees");

    let server = RedisServer::start(&redis, &["--appendonly", "yes", "--dir", &dir.text()])
        .expect("redis-server starts on Keel's AOF");
    let mut conn = connect_loaded(server.addr());
    assert_eq!(observe(&mut conn), expected);

    // And back: Keel loads the directory again (Redis may have added to it).
    drop(conn);
    drop(server);
    let keel = keel_with_aof(&dir);
    let mut conn = connect_loaded(keel.addr());
    assert_eq!(observe(&mut conn), expected);
}

/// Keel's check over a multi-part AOF: every file valid.
fn keel_check(manifest: &Path) -> bool {
    let dir = manifest.parent().expect("a directory");
    let names = manifest_files(&std::fs::read(manifest).expect("read")).expect("parse");
    let enc = Encodings::from_config(&Config::default());
    let checks: Vec<_> = names
        .iter()
        .map(|n| {
            check_file(
                n,
                &Bytes::from(std::fs::read(dir.join(n)).expect("read")),
                enc,
            )
        })
        .collect();
    verdict(&checks) == Verdict::Valid
}

#[test]
fn keel_loads_an_aof_directory_written_by_redis() {
    let Some(redis) = require_tool("redis-server", "aof interop") else {
        return;
    };
    let dir = TempDir::new("aof-from-redis");
    let expected = {
        let server = RedisServer::start(&redis, &["--appendonly", "yes", "--dir", &dir.text()])
            .expect("redis-server starts");
        let mut conn = connect_loaded(server.addr());
        write_dataset(&mut conn, &dir);
        let seen = observe(&mut conn);
        let _ = conn.call(&["SHUTDOWN", "NOSAVE"]);
        seen
    };
    let keel = keel_with_aof(&dir);
    let mut conn = connect_loaded(keel.addr());
    assert_eq!(observe(&mut conn), expected);
}
