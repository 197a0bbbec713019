//! Interop: Keel upgrades a pre-7.0 single-file AOF written by a real
//! redis-server (with and without the RDB preamble) as Redis 7.0 does,
//! moving it into `appendonlydir/` as the base, and serves its data; the
//! upgraded directory then loads in redis-server too.

use bytes::BytesMut;
use keel_engine::resp::frame::{read_frame, Frame};
use keel_engine::testing::request;
use keel_engine::Config;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("keel-aof-upgrade-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Client {
    stream: TcpStream,
    buf: BytesMut,
}

impl Client {
    /// Connects, retrying while the server comes up.
    fn connect(addr: SocketAddr) -> Client {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match TcpStream::connect(addr) {
                Ok(stream) => {
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    return Client {
                        stream,
                        buf: BytesMut::new(),
                    };
                }
                Err(e) if Instant::now() > deadline => panic!("connect {addr}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    fn call(&mut self, args: &[&str]) -> Frame {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.stream.write_all(&request(&args)).unwrap();
        loop {
            if let Some(frame) = read_frame(&mut self.buf).expect("well-formed reply") {
                return frame;
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("the server closed the connection"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// `call`, retried while the server answers -LOADING.
    fn call_when_loaded(&mut self, args: &[&str]) -> Frame {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let reply = self.call(args);
            let loading = matches!(&reply, Frame::Error(e) if e.starts_with("LOADING"));
            if !loading || Instant::now() > deadline {
                return reply;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A redis-server child with the AOF on in `dir`; killed on drop.
struct Redis {
    child: Child,
    addr: SocketAddr,
}

impl Redis {
    /// Starts redis-server and checks that the server answering on its
    /// port is this child: a port picked free may be taken before the child
    /// binds it (by the other test of this file, running in parallel),
    /// and the client then talked to that test's server, which went away
    /// under it. Another port is tried then.
    fn start(dir: &Path, preamble: &str) -> Redis {
        for _ in 0..5 {
            let mut redis = Redis::spawn(dir, preamble);
            if redis.answers_as_itself() {
                return redis;
            }
            let _ = redis.child.kill();
            let _ = redis.child.wait();
        }
        panic!("redis-server did not start on a port of its own");
    }

    fn answers_as_itself(&mut self) -> bool {
        let mut c = Client::connect(self.addr);
        let info = c
            .call_when_loaded(&["INFO", "server"])
            .text()
            .unwrap_or_default();
        let pid = format!("process_id:{}\r\n", self.child.id());
        info.contains(&pid) && self.child.try_wait().is_ok_and(|exited| exited.is_none())
    }

    fn spawn(dir: &Path, preamble: &str) -> Redis {
        let port = free_port();
        let child = Command::new(REDIS_SERVER)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "yes", "--daemonize", "no"])
            .args(["--aof-use-rdb-preamble", preamble])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        Redis {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_dataset(c: &mut Client) {
    c.call_when_loaded(&["SET", "s", "hello"]);
    c.call(&["SET", "n", "42"]);
    c.call(&["PEXPIRE", "n", "600000"]);
    c.call(&["RPUSH", "l", "a", "b", "c"]);
    c.call(&["HSET", "h", "f1", "v1", "f2", "v2"]);
    c.call(&["SADD", "set", "x", "y", "z"]);
    c.call(&["ZADD", "z", "1.5", "m1", "2", "m2"]);
    c.call(&["SELECT", "3"]);
    c.call(&["SET", "in3", "three"]);
    c.call(&["SELECT", "0"]);
}

/// What a server holds, read type by type (sets and hashes sorted).
fn read_dataset(c: &mut Client) -> Vec<String> {
    let mut out = Vec::new();
    let mut sorted = |frame: Frame| {
        let mut items = match frame {
            Frame::Array(items) => items.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>(),
            other => vec![format!("{other:?}")],
        };
        items.sort();
        out.push(items.join(","));
    };
    sorted(c.call_when_loaded(&["GET", "s"]));
    sorted(c.call(&["GET", "n"]));
    let ttl = c.call(&["PTTL", "n"]);
    assert!(
        matches!(ttl, Frame::Int(ms) if ms > 500_000),
        "the TTL survives: {ttl:?}"
    );
    sorted(c.call(&["LRANGE", "l", "0", "-1"]));
    sorted(c.call(&["HGETALL", "h"]));
    sorted(c.call(&["SMEMBERS", "set"]));
    sorted(c.call(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]));
    sorted(c.call(&["DBSIZE"]));
    c.call(&["SELECT", "3"]);
    sorted(c.call(&["GET", "in3"]));
    c.call(&["SELECT", "0"]);
    out
}

fn wait_for_rewrite(c: &mut Client) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let info = c.call(&["INFO", "persistence"]).text().unwrap_or_default();
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the rewrite never finished");
}

/// The base file redis-server wrote (the manifest's `type b` entry): a
/// single-file AOF as Redis before 7.0 wrote it.
fn redis_base_file(dir: &Path) -> Vec<u8> {
    let manifest =
        std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    let base = manifest
        .lines()
        .find(|l| l.ends_with("type b"))
        .and_then(|l| l.split(' ').nth(1))
        .expect("a base file in the manifest");
    std::fs::read(dir.join("appendonlydir").join(base)).unwrap()
}

fn upgrade_round_trip(preamble: &str) {
    if !Path::new(REDIS_SERVER).exists() {
        eprintln!("skipped: {REDIS_SERVER} is not installed");
        return;
    }
    let from = Scratch::new(&format!("redis-{preamble}"));
    let redis = Redis::start(&from.0, preamble);
    let mut c = Client::connect(redis.addr);
    write_dataset(&mut c);
    let expected = read_dataset(&mut c);
    c.call(&["BGREWRITEAOF"]);
    wait_for_rewrite(&mut c);
    let old_style = redis_base_file(&from.0);
    assert_eq!(
        old_style.starts_with(b"REDIS"),
        preamble == "yes",
        "the preamble is as configured"
    );
    drop(redis);

    let dir = Scratch::new(&format!("keel-{preamble}"));
    std::fs::write(dir.0.join("appendonly.aof"), &old_style).unwrap();
    let keel = keel_net::spawn_server(Config {
        port: 0,
        bind: vec!["127.0.0.1".into()],
        appendonly: true,
        dir: dir.0.display().to_string(),
        ..Config::default()
    })
    .expect("keel starts");
    let mut k = Client::connect(keel.addr());
    assert_eq!(read_dataset(&mut k), expected);
    keel.shutdown();
    assert!(!dir.0.join("appendonly.aof").exists(), "moved in");
    let aof_dir = dir.0.join("appendonlydir");
    assert_eq!(
        std::fs::read(aof_dir.join("appendonly.aof")).unwrap(),
        old_style
    );
    assert_eq!(
        std::fs::read_to_string(aof_dir.join("appendonly.aof.manifest")).unwrap(),
        "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );

    let redis = Redis::start(&dir.0, preamble);
    let mut c = Client::connect(redis.addr);
    assert_eq!(read_dataset(&mut c), expected, "redis-server loads it too");
}

#[test]
fn keel_upgrades_an_old_style_aof_with_an_rdb_preamble() {
    upgrade_round_trip("yes");
}

#[test]
fn keel_upgrades_an_old_style_aof_of_commands() {
    upgrade_round_trip("no");
}
