//! RDB and DUMP/RESTORE interoperability with a real redis-server 7.0:
//!
//! - DUMP payloads move both ways (Keel RESTOREs Redis's, Redis RESTOREs
//!   Keel's) for every type and size class, so every encoding appears;
//! - a dump.rdb written by Keel's writer passes `redis-check-rdb` and loads
//!   into redis-server with every key equal;
//! - a dump.rdb SAVEd by redis-server is parsed by Keel's loader with every
//!   key equal, function library included.
//!
//! Without redis-server these tests print a loud SKIPPED line and pass,
//! except under CI=true, where they fail (see `keel_tests::tools`).

use keel_engine::db::Object;
use keel_engine::rdb::dump::load_payload;
use keel_engine::rdb::loader::{load_all, Item};
use keel_engine::rdb::writer::{standard_aux, RdbWriter, WriteOptions};
use keel_engine::rdb::Encodings;
use keel_engine::resp::frame::Frame;
use keel_engine::types::Value;
use keel_engine::{Config, Now};
use keel_tests::tools::{assert_check_rdb_accepts, require_tool};
use keel_tests::{KeelServer, RedisServer, RespConn};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A value read back whatever its encoding, to compare across servers.
#[derive(Debug, PartialEq)]
enum Canon {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
    ZSet(Vec<(Vec<u8>, f64)>),
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("keel-rdb-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the temporary directory");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn text(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---- the dataset ----

/// Commands building one key of every type and size class, so that every
/// encoding appears: int, embstr, raw and compressible strings; small,
/// multi-node and huge-element lists; listpack and hashtable hashes;
/// intset, small and big sets; listpack and skiplist sorted sets; a TTL.
fn dataset() -> Vec<Vec<Vec<u8>>> {
    let mut cmds: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut add = |args: Vec<Vec<u8>>| cmds.push(args);
    let b = |s: &str| s.as_bytes().to_vec();
    for (key, value) in [
        ("s:int", b("12345")),
        ("s:neg", b("-42")),
        ("s:i64", b("9223372036854775807")),
        ("s:small", b("hello")),
        ("s:lzf", b(&"abc".repeat(400))),
        ("s:bin", (0..=255u8).collect()),
        ("s:empty", Vec::new()),
    ] {
        add(vec![b("SET"), b(key), value]);
    }
    add(vec![b("SET"), b("s:ttl"), b("v"), b("PX"), b("100000000")]);
    add(["RPUSH", "l:small", "a", "1", "-300", "hello"]
        .map(b)
        .to_vec());
    let mut big_list = vec![b("RPUSH"), b("l:big")];
    big_list.extend((0..3000).map(|i| {
        if i % 3 == 0 {
            (i * 7919).to_string().into_bytes()
        } else {
            format!("item-{i}").into_bytes()
        }
    }));
    add(big_list);
    add(vec![
        b("RPUSH"),
        b("l:huge"),
        b("x"),
        vec![b'y'; 20000],
        b("z"),
    ]);
    add(["HSET", "h:small", "f1", "v1", "f2", "123"].map(b).to_vec());
    let mut big_hash = vec![b("HSET"), b("h:big")];
    for i in 0..300 {
        big_hash.push(format!("field-{i}").into_bytes());
        big_hash.push(format!("{}", i * 31).into_bytes());
    }
    add(big_hash);
    add(vec![b("HSET"), b("h:long"), b("f"), vec![b'v'; 100]]);
    add(["SADD", "set:ints", "1", "2", "3", "-70000"]
        .map(b)
        .to_vec());
    let mut big_ints = vec![b("SADD"), b("set:bigints")];
    big_ints.extend((0..600).map(|i| (i * 3).to_string().into_bytes()));
    add(big_ints);
    add(["SADD", "set:strs", "a", "b", "c"].map(b).to_vec());
    let mut big_set = vec![b("SADD"), b("set:big")];
    big_set.extend((0..200).map(|i| format!("member-{i}").into_bytes()));
    add(big_set);
    add([
        "ZADD", "z:small", "1", "a", "2.5", "b", "-inf", "c", "1e300", "d",
    ]
    .map(b)
    .to_vec());
    let mut big_zset = vec![b("ZADD"), b("z:big")];
    for i in 0..300 {
        big_zset.push(format!("{}", f64::from(i) / 7.0).into_bytes());
        big_zset.push(format!("m{i}").into_bytes());
    }
    add(big_zset);
    add(vec![b("ZADD"), b("z:long"), b("3"), vec![b'm'; 100]]);
    cmds
}

/// Keys the dataset leaves (the empty string is a key too).
fn dataset_keys() -> Vec<Vec<u8>> {
    dataset().into_iter().map(|cmd| cmd[1].clone()).collect()
}

fn populate(conn: &mut RespConn) {
    for cmd in dataset() {
        let reply = conn.call(&cmd).expect("a reply");
        assert!(
            !matches!(reply, Frame::Error(_)),
            "{:?}: {reply:?}",
            String::from_utf8_lossy(&cmd[0])
        );
    }
}

// ---- reading values ----

fn call(conn: &mut RespConn, args: &[&[u8]]) -> Frame {
    conn.call(args).expect("a reply")
}

fn bulk(frame: Frame) -> Vec<u8> {
    match frame {
        Frame::Bulk(b) => b.to_vec(),
        Frame::Simple(s) => s.into_bytes(),
        other => panic!("expected a string, got {other:?}"),
    }
}

fn bulks(frame: Frame) -> Vec<Vec<u8>> {
    match frame {
        Frame::Array(items) => items.into_iter().map(bulk).collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

fn score(text: &[u8]) -> f64 {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("a score: {text:?}"))
}

/// The value under `key` as the server reports it.
fn read_canon(conn: &mut RespConn, key: &[u8]) -> Canon {
    let kind = bulk(call(conn, &[b"TYPE", key]));
    match kind.as_slice() {
        b"string" => Canon::Str(bulk(call(conn, &[b"GET", key]))),
        b"list" => Canon::List(bulks(call(conn, &[b"LRANGE", key, b"0", b"-1"]))),
        b"hash" => {
            let flat = bulks(call(conn, &[b"HGETALL", key]));
            Canon::Hash(
                flat.chunks(2)
                    .map(|p| (p[0].clone(), p[1].clone()))
                    .collect(),
            )
        }
        b"set" => Canon::Set(bulks(call(conn, &[b"SMEMBERS", key])).into_iter().collect()),
        b"zset" => {
            let flat = bulks(call(conn, &[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]));
            Canon::ZSet(
                flat.chunks(2)
                    .map(|p| (p[0].clone(), score(&p[1])))
                    .collect(),
            )
        }
        other => panic!("key {key:?} has type {:?}", String::from_utf8_lossy(other)),
    }
}

/// A loaded Keel value, read the same way.
fn value_canon(value: &Value) -> Canon {
    match value {
        Value::Str(s) => Canon::Str(s.to_bytes().to_vec()),
        Value::List(l) => Canon::List(l.iter().map(|e| e.to_bytes().to_vec()).collect()),
        Value::Hash(h) => Canon::Hash(
            h.iter()
                .map(|(f, v)| (f.into_owned(), v.as_cow().into_owned()))
                .collect(),
        ),
        Value::Set(s) => Canon::Set(s.iter().map(|m| m.to_bytes().to_vec()).collect()),
        Value::ZSet(z) => Canon::ZSet(
            z.to_vec()
                .into_iter()
                .map(|(m, s)| (m.to_vec(), s))
                .collect(),
        ),
    }
}

fn encoding(conn: &mut RespConn, key: &[u8]) -> Vec<u8> {
    bulk(call(conn, &[b"OBJECT", b"ENCODING", key]))
}

fn start_redis(test: &str, extra: &[&str]) -> Option<RedisServer> {
    let binary = require_tool("redis-server", test)?;
    Some(RedisServer::start(&binary, extra).expect("redis-server starts"))
}

fn connect(addr: std::net::SocketAddr) -> RespConn {
    RespConn::connect(addr).expect("connect")
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

// ---- (a) DUMP payloads both ways ----

#[test]
fn dump_payloads_move_both_ways() {
    let Some(redis) = start_redis("dump_payloads_move_both_ways", &[]) else {
        return;
    };
    let keel = KeelServer::start();
    let mut r = connect(redis.addr());
    let mut k = connect(keel.addr());
    populate(&mut r);
    populate(&mut k);
    for key in dataset_keys() {
        let from_redis = [b"from-redis:".as_slice(), &key].concat();
        let payload = bulk(call(&mut r, &[b"DUMP", &key]));
        let reply = call(&mut k, &[b"RESTORE", &from_redis, b"0", &payload]);
        assert_eq!(
            reply,
            Frame::Simple("OK".into()),
            "Keel RESTOREs Redis's {key:?}"
        );
        assert_eq!(
            read_canon(&mut k, &from_redis),
            read_canon(&mut r, &key),
            "{key:?}"
        );
        assert_eq!(
            encoding(&mut k, &from_redis),
            encoding(&mut k, &key),
            "Keel's encoding of Redis's {key:?}"
        );

        let from_keel = [b"from-keel:".as_slice(), &key].concat();
        let payload = bulk(call(&mut k, &[b"DUMP", &key]));
        let reply = call(&mut r, &[b"RESTORE", &from_keel, b"0", &payload]);
        assert_eq!(
            reply,
            Frame::Simple("OK".into()),
            "Redis RESTOREs Keel's {key:?}"
        );
        assert_eq!(
            read_canon(&mut r, &from_keel),
            read_canon(&mut k, &key),
            "{key:?}"
        );
        assert_eq!(
            encoding(&mut r, &from_keel),
            encoding(&mut r, &key),
            "Redis's encoding of Keel's {key:?}"
        );
    }
}

// ---- (b) Redis loads Keel's file ----

/// Every key of database `db` of the Keel server, through DUMP (so the
/// values are Keel's own) and PTTL.
fn keel_entries(conn: &mut RespConn, db: &[u8]) -> Vec<(Vec<u8>, Value, Option<u64>)> {
    call(conn, &[b"SELECT", db]);
    let enc = Encodings::from_config(&Config::default());
    let mut out = Vec::new();
    for key in bulks(call(conn, &[b"KEYS", b"*"])) {
        let payload = bulk(call(conn, &[b"DUMP", &key]));
        let value = load_payload(&payload, &enc).expect("Keel's own payload loads");
        let expire = match call(conn, &[b"PTTL", &key]) {
            Frame::Int(ms) if ms >= 0 => Some(unix_ms() + ms as u64),
            _ => None,
        };
        out.push((key, value, expire));
    }
    out
}

#[test]
fn redis_loads_a_keel_rdb_file() {
    let Some(check) = require_tool("redis-check-rdb", "redis_loads_a_keel_rdb_file") else {
        return;
    };
    let Some(binary) = require_tool("redis-server", "redis_loads_a_keel_rdb_file") else {
        return;
    };
    let keel = KeelServer::start();
    let mut k = connect(keel.addr());
    populate(&mut k);
    call(&mut k, &[b"SELECT", b"3"]);
    call(&mut k, &[b"SET", b"in-db-3", b"x"]);
    let dbs = [
        (0, keel_entries(&mut k, b"0")),
        (3, keel_entries(&mut k, b"3")),
    ];
    assert_eq!(dbs[0].1.len(), dataset_keys().len());

    let now = Now::new(0, unix_ms());
    let mut writer = RdbWriter::new(WriteOptions::from_config(&Config::default(), now));
    writer.begin(&standard_aux(now.unix_ms / 1000, 0));
    let mut file = writer.take_output();
    for (db, entries) in &dbs {
        let expires = entries.iter().filter(|e| e.2.is_some()).count();
        writer.select_db(*db, entries.len() as u64, expires as u64);
        for (key, value, expire) in entries {
            writer.write_entry(key, &Object::new(value.clone(), 0), *expire);
            file.extend(writer.take_output());
        }
    }
    writer.finish();
    file.extend(writer.take_output());
    let dir = TempDir::new("keel-written");
    let path = dir.path().join("dump.rdb");
    std::fs::write(&path, &file).expect("write dump.rdb");

    assert_check_rdb_accepts(&check, &path);

    let dir_text = dir.text();
    let args = ["--dir", dir_text.as_str(), "--dbfilename", "dump.rdb"];
    let redis = RedisServer::start(&binary, &args).expect("redis-server loads Keel's file");
    let mut r = connect(redis.addr());
    for (db, entries) in &dbs {
        call(&mut r, &[b"SELECT", db.to_string().as_bytes()]);
        assert_eq!(call(&mut r, &[b"DBSIZE"]), Frame::Int(entries.len() as i64));
        for (key, value, expire) in entries {
            assert_eq!(read_canon(&mut r, key), value_canon(value), "{key:?}");
            let ttl = call(&mut r, &[b"PTTL", key]);
            assert_eq!(
                matches!(ttl, Frame::Int(ms) if ms > 0),
                expire.is_some(),
                "{key:?}"
            );
        }
    }
}

// ---- (c) Keel loads Redis's file ----

const LIBRARY: &str = "#!lua name=keellib\nredis.register_function('one', function() return 1 end)";

#[test]
fn keel_loads_a_redis_rdb_file() {
    let dir = TempDir::new("redis-saved");
    let dir_text = dir.text();
    let args = ["--dir", dir_text.as_str(), "--dbfilename", "dump.rdb"];
    let Some(redis) = start_redis("keel_loads_a_redis_rdb_file", &args) else {
        return;
    };
    let mut r = connect(redis.addr());
    populate(&mut r);
    call(&mut r, &[b"SELECT", b"2"]);
    call(&mut r, &[b"SET", b"in-db-2", b"y"]);
    call(&mut r, &[b"FUNCTION", b"LOAD", LIBRARY.as_bytes()]);
    assert_eq!(call(&mut r, &[b"SAVE"]), Frame::Simple("OK".into()));
    let data = std::fs::read(dir.path().join("dump.rdb")).expect("Redis saved dump.rdb");

    let items = load_all(&data, Encodings::from_config(&Config::default()))
        .unwrap_or_else(|e| panic!("Keel refused Redis's file: {e}"));
    assert!(items.contains(&Item::Function {
        code: LIBRARY.as_bytes().to_vec()
    }));
    let mut per_db: BTreeMap<u64, i64> = BTreeMap::new();
    for item in items {
        let Item::Entry(entry) = item else {
            continue;
        };
        *per_db.entry(entry.db).or_default() += 1;
        call(&mut r, &[b"SELECT", entry.db.to_string().as_bytes()]);
        assert_eq!(
            value_canon(&entry.value),
            read_canon(&mut r, &entry.key),
            "{:?}",
            entry.key
        );
        let ttl = call(&mut r, &[b"PTTL", &entry.key]);
        let has_ttl = matches!(ttl, Frame::Int(ms) if ms > 0);
        assert_eq!(entry.expire_at_ms.is_some(), has_ttl, "{:?}", entry.key);
    }
    for (db, count) in per_db.iter() {
        call(&mut r, &[b"SELECT", db.to_string().as_bytes()]);
        assert_eq!(call(&mut r, &[b"DBSIZE"]), Frame::Int(*count), "db {db}");
    }
    let expected = BTreeMap::from([(0, dataset_keys().len() as i64), (2, 1)]);
    assert_eq!(per_db, expected);
}
