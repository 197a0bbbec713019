//! Restarting from a saved RDB, with a real redis-server 7.0 on the other
//! end of the link: the replication history the dump carries
//! (`repl-id`, `repl-offset`, `repl-stream-db`) lets the link continue
//! with a partial resync instead of a whole snapshot.
//!
//! - a Keel replica of a Redis primary, SAVEd and restarted: the primary's
//!   `sync_partial_ok` rises, `sync_full` does not;
//! - a Redis replica of a Keel primary, SAVEd and restarted: the same on
//!   Keel's side (Keel answers a cached-master PSYNC from Redis);
//! - a Keel primary SAVEd and restarted: its Redis replica continues with
//!   `+CONTINUE <new id>` (the old id is Keel's `master_replid2`).
//!
//! Without redis-server these tests print a loud SKIPPED line and pass,
//! except under CI=true, where they fail (see `keel_tests::tools`).

use keel_engine::resp::frame::Frame;
use keel_engine::Config;
use keel_tests::replwait::{info_field, wait_caught_up, wait_for};
use keel_tests::tools::{free_port, require_tool};
use keel_tests::{KeelServer, RedisServer, RespConn, TempDir};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn call(addr: SocketAddr, args: &[&str]) -> Frame {
    let mut conn = RespConn::connect(addr).expect("connect");
    conn.call(args).expect("server answers")
}

/// Strings, a list and a hash in databases 0 and 3 (the stream ends in 3).
fn write_some(addr: SocketAddr, tag: &str) {
    let mut c = RespConn::connect(addr).expect("connect");
    for db in ["0", "3"] {
        let script: [&[&str]; 4] = [
            &["SELECT", db],
            &["SET", &format!("{tag}:s"), "v"],
            &["RPUSH", &format!("{tag}:l"), "a", "b"],
            &["HSET", &format!("{tag}:h"), "f", "1"],
        ];
        for args in script {
            c.call(args).expect("a reply");
        }
    }
}

/// A value read back whatever its encoding (DUMP payloads differ
/// between Keel and Redis for the same value).
#[derive(Debug, PartialEq)]
enum Canon {
    Str(String),
    List(Vec<String>),
    Hash(BTreeMap<String, String>),
}

fn texts(frame: Frame) -> Vec<String> {
    match frame {
        Frame::Array(items) => items.iter().filter_map(Frame::text).collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

/// Every key of databases 0 and 3, read back by type.
fn dataset(addr: SocketAddr) -> BTreeMap<(u8, String), Canon> {
    let mut conn = RespConn::connect(addr).expect("connect");
    let mut call = |args: &[&str]| conn.call(args).expect("a reply");
    let mut all = BTreeMap::new();
    for db in [0u8, 3] {
        call(&["SELECT", &db.to_string()]);
        for key in texts(call(&["KEYS", "*"])) {
            let kind = call(&["TYPE", &key]).text().unwrap_or_default();
            let value = match kind.as_str() {
                "string" => Canon::Str(call(&["GET", &key]).text().unwrap_or_default()),
                "list" => Canon::List(texts(call(&["LRANGE", &key, "0", "-1"]))),
                "hash" => {
                    let flat = texts(call(&["HGETALL", &key]));
                    Canon::Hash(
                        flat.chunks(2)
                            .map(|p| (p[0].clone(), p[1].clone()))
                            .collect(),
                    )
                }
                other => panic!("{key}: a {other} this test never wrote"),
            };
            all.insert((db, key), value);
        }
    }
    all
}

fn stat(addr: SocketAddr, field: &str) -> String {
    info_field(addr, field).unwrap_or_default()
}

/// A temporary directory, removed on drop.
/// A Keel node keeping its files in `dir`, following `replicaof` if set.
fn keel_in(dir: &TempDir, replicaof: Option<u16>) -> KeelServer {
    KeelServer::with_config(Config {
        dir: dir.text(),
        save: Vec::new(),
        replicaof: replicaof.map(|port| ("127.0.0.1".to_string(), port)),
        // A full sync starts at once (Redis's default waits 5 s).
        repl_diskless_sync_delay: 0,
        ..Config::default()
    })
}

/// A redis-server replica with its own directory, killed on drop. Its
/// port stays the same across restarts ([`RedisReplica::restart`]).
struct RedisReplica {
    binary: PathBuf,
    dir: TempDir,
    port: u16,
    child: Option<Child>,
}

impl RedisReplica {
    fn start(binary: &Path, primary_port: u16) -> RedisReplica {
        let mut replica = RedisReplica {
            binary: binary.to_path_buf(),
            dir: TempDir::new("replrestart-redis-replica"),
            port: free_port(),
            child: None,
        };
        replica.spawn(primary_port);
        replica
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn spawn(&mut self, primary_port: u16) {
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--dir", &self.dir.text()])
            .args(["--replicaof", "127.0.0.1", &primary_port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let addr = self.addr();
        wait_for("the redis replica to listen", || {
            RespConn::connect(addr).is_ok()
        });
    }

    /// SHUTDOWN NOSAVE (the dump is the one SAVE wrote), then start again.
    fn restart(&mut self, primary_port: u16) {
        let _ = RespConn::connect(self.addr()).and_then(|mut c| c.send(&["SHUTDOWN", "NOSAVE"]));
        if let Some(mut child) = self.child.take() {
            child.wait().expect("redis-server exits");
        }
        self.spawn(primary_port);
    }
}

impl Drop for RedisReplica {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn a_keel_replica_restarted_from_its_dump_resyncs_partially_with_redis() {
    let Some(redis_bin) = require_tool("redis-server", "repl_restart") else {
        return;
    };
    // A directory of its own: no dump.rdb of another test is loaded.
    let redis_dir = TempDir::new("replrestart-redis-primary");
    let redis_args = [
        "--repl-diskless-sync-delay",
        "0",
        "--dir",
        &redis_dir.text(),
    ];
    let redis = RedisServer::start(&redis_bin, &redis_args).expect("redis-server starts");
    write_some(redis.addr(), "before");
    let dir = TempDir::new("replrestart-keel-replica");
    let keel = keel_in(&dir, Some(redis.port()));
    wait_caught_up(redis.addr(), keel.addr());
    assert_eq!(call(keel.addr(), &["SAVE"]), Frame::Simple("OK".into()));
    drop(keel);
    // Written while the replica is down: in database 3, which the stream
    // had selected, then in 0.
    write_some(redis.addr(), "during");
    let keel = keel_in(&dir, Some(redis.port()));
    wait_caught_up(redis.addr(), keel.addr());
    assert_eq!(stat(redis.addr(), "sync_full"), "1");
    assert_eq!(stat(redis.addr(), "sync_partial_ok"), "1");
    assert_eq!(dataset(keel.addr()), dataset(redis.addr()));
}

#[test]
fn a_redis_replica_restarted_from_its_dump_resyncs_partially_with_keel() {
    let Some(redis_bin) = require_tool("redis-server", "repl_restart") else {
        return;
    };
    let dir = TempDir::new("replrestart-keel-primary");
    let keel = keel_in(&dir, None);
    write_some(keel.addr(), "before");
    let mut replica = RedisReplica::start(&redis_bin, keel.port());
    wait_caught_up(keel.addr(), replica.addr());
    assert_eq!(call(replica.addr(), &["SAVE"]), Frame::Simple("OK".into()));
    write_some(keel.addr(), "during");
    replica.restart(keel.port());
    wait_caught_up(keel.addr(), replica.addr());
    assert_eq!(stat(keel.addr(), "sync_full"), "1");
    assert_eq!(stat(keel.addr(), "sync_partial_ok"), "1");
    assert_eq!(dataset(replica.addr()), dataset(keel.addr()));
}

#[test]
fn a_keel_primary_restarted_from_its_dump_lets_a_redis_replica_continue() {
    let Some(redis_bin) = require_tool("redis-server", "repl_restart") else {
        return;
    };
    let dir = TempDir::new("replrestart-keel-primary-restart");
    let keel = keel_in(&dir, None);
    write_some(keel.addr(), "before");
    let replica = RedisReplica::start(&redis_bin, keel.port());
    wait_caught_up(keel.addr(), replica.addr());
    assert_eq!(call(keel.addr(), &["SAVE"]), Frame::Simple("OK".into()));
    let old_id = stat(keel.addr(), "master_replid");
    drop(keel);
    let keel = keel_in(&dir, None);
    wait_for("the saved history to load", || {
        stat(keel.addr(), "master_replid2") == old_id
    });
    // The restarted primary listens elsewhere; Redis keeps its history
    // (its cached master) across REPLICAOF.
    let port = keel.port().to_string();
    let moved = call(replica.addr(), &["REPLICAOF", "127.0.0.1", &port]);
    assert_eq!(moved, Frame::Simple("OK".into()));
    write_some(keel.addr(), "after");
    wait_caught_up(keel.addr(), replica.addr());
    assert_eq!(stat(keel.addr(), "sync_full"), "0");
    assert_eq!(stat(keel.addr(), "sync_partial_ok"), "1");
    let new_id = stat(keel.addr(), "master_replid");
    assert_eq!(stat(replica.addr(), "master_replid"), new_id);
    assert_eq!(dataset(replica.addr()), dataset(keel.addr()));
}
