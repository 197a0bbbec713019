//! Blocking commands end to end, over real TCP:
//! - with the `redis` crate: a client blocked in one thread is served by a
//!   push from another connection, or times out, in RESP2 and RESP3;
//! - against a real `redis-server` (7.0): the same scripted scenarios of
//!   several connections (blocking, pushing, timing out, CLIENT UNBLOCK)
//!   run on both servers, every reply compared byte for byte.
//!
//! Outside CI a missing `redis-server` skips the differential part with a
//! line on stderr; with CI=true it fails.

use keel_tests::tools::require_tool;
use keel_tests::{KeelServer, RedisServer, RespConn};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

const PROTOCOLS: [bool; 2] = [false, true];

// ---- the redis crate ----

fn connect(server: &KeelServer, resp3: bool) -> redis::Connection {
    redis::Client::open(server.url(resp3))
        .and_then(|client| client.get_connection())
        .unwrap_or_else(|e| panic!("connect (resp3: {resp3}): {e}"))
}

#[test]
fn a_push_from_another_connection_serves_a_blocked_client() {
    let server = KeelServer::start();
    for resp3 in PROTOCOLS {
        let mut waiter = connect(&server, resp3);
        let mut pusher = connect(&server, resp3);
        let blocked = thread::spawn(move || {
            let started = Instant::now();
            let reply: Option<(String, String)> = redis::cmd("BLPOP")
                .arg("queue")
                .arg(10)
                .query(&mut waiter)
                .expect("BLPOP");
            (reply, started.elapsed())
        });
        // The push must come after the wait began: wait until INFO shows it.
        wait_for_blocked(&mut pusher, 1);
        let _: i64 = redis::cmd("RPUSH")
            .arg("queue")
            .arg("job")
            .query(&mut pusher)
            .expect("RPUSH");
        let (reply, waited) = blocked.join().expect("waiter thread");
        assert_eq!(
            reply,
            Some(("queue".into(), "job".into())),
            "resp3: {resp3}"
        );
        assert!(waited < Duration::from_secs(10), "served, not timed out");
    }
}

#[test]
fn a_blocked_client_times_out_with_a_null_reply() {
    let server = KeelServer::start();
    for resp3 in PROTOCOLS {
        let mut con = connect(&server, resp3);
        let started = Instant::now();
        let reply: Option<(String, String)> = redis::cmd("BRPOP")
            .arg("nothing")
            .arg(0.2)
            .query(&mut con)
            .expect("BRPOP");
        assert_eq!(reply, None);
        assert!(started.elapsed() >= Duration::from_millis(200));
        let reply: Option<String> = redis::cmd("BLMOVE")
            .arg(&["nothing", "dst", "LEFT", "RIGHT", "0.05"])
            .query(&mut con)
            .expect("BLMOVE");
        assert_eq!(reply, None);
    }
}

/// Polls INFO until `n` clients are blocked (at most 10 s).
fn wait_for_blocked(con: &mut redis::Connection, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let wanted = format!("blocked_clients:{n}\r\n");
    while Instant::now() < deadline {
        let info: String = redis::cmd("INFO").arg("clients").query(con).expect("INFO");
        if info.contains(&wanted) {
            return;
        }
        thread::sleep(Duration::from_millis(5));
    }
    panic!("never saw {wanted:?}");
}

// ---- the same scenarios on Keel and on Redis ----

/// One step of a scenario, on connection `usize`.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Send a command and compare its reply.
    Call(usize, &'static [&'static str]),
    /// Send a command that blocks: its reply is read by a later `Read`.
    Block(usize, &'static [&'static str]),
    /// Read and compare the next reply of a connection.
    Read(usize),
    /// CLIENT UNBLOCK (from the first connection) of this connection's
    /// id, with this reason.
    Unblock(usize, &'static str),
    /// Let real time pass (timeouts on the real server).
    Sleep(u64),
}

use Step::*;

const CONNECTIONS: usize = 4;

/// Runs `steps` on a fresh set of connections to `addr`; returns every
/// reply read, as text, in order.
fn run(addr: SocketAddr, steps: &[Step], resp3: bool) -> Vec<String> {
    let mut conns: Vec<RespConn> = (0..CONNECTIONS)
        .map(|_| RespConn::connect(addr).expect("connect"))
        .collect();
    let mut ids = Vec::new();
    for conn in &mut conns {
        if resp3 {
            conn.call(&["HELLO", "3"]).expect("HELLO 3");
        }
        ids.push(conn.call(&["CLIENT", "ID"]).expect("id"));
    }
    conns[0].call(&["FLUSHALL"]).expect("FLUSHALL");
    let mut replies = Vec::new();
    let mut record = |conn: &mut RespConn| {
        let raw = conn.read_raw().expect("a reply");
        replies.push(String::from_utf8_lossy(&raw).into_owned());
    };
    for step in steps {
        match *step {
            Call(c, args) => {
                conns[c].send(args).expect("send");
                record(&mut conns[c]);
            }
            Block(c, args) => {
                conns[c].send(args).expect("send");
                // Let the server start the wait before anything else happens.
                thread::sleep(Duration::from_millis(30));
            }
            Read(c) => record(&mut conns[c]),
            Unblock(c, reason) => {
                let keel_engine::resp::frame::Frame::Int(id) = ids[c] else {
                    panic!("CLIENT ID is an integer")
                };
                let id = id.to_string();
                conns[0]
                    .send(&["CLIENT", "UNBLOCK", &id, reason])
                    .expect("send");
                record(&mut conns[0]);
            }
            Sleep(ms) => thread::sleep(Duration::from_millis(ms)),
        }
    }
    replies
}

const SCENARIOS: &[(&str, &[Step])] = &[
    (
        "first blocked first served; one push serves several",
        &[
            Block(1, &["BRPOP", "q", "0"]),
            Block(2, &["BLMPOP", "0", "2", "x", "q", "LEFT", "COUNT", "2"]),
            Block(3, &["BLPOP", "q", "0"]),
            Call(0, &["RPUSH", "q", "1", "2", "3", "4", "5"]),
            Read(1),
            Read(2),
            Read(3),
            Call(0, &["LRANGE", "q", "0", "-1"]),
        ],
    ),
    (
        "several keys: served by the first ready, removed from the others",
        &[
            Block(1, &["BLPOP", "a", "b", "c", "0"]),
            Block(2, &["BLPOP", "a", "0"]),
            Call(0, &["RPUSH", "c", "x"]),
            Read(1),
            Call(0, &["RPUSH", "a", "y"]),
            Read(2),
        ],
    ),
    (
        "timeouts of every command",
        &[
            Block(1, &["BLPOP", "n", "0.05"]),
            Block(2, &["BLMOVE", "n", "d", "LEFT", "LEFT", "0.05"]),
            Block(3, &["BZMPOP", "0.05", "1", "n", "MIN"]),
            Sleep(150),
            Read(1),
            Read(2),
            Read(3),
            Block(1, &["BRPOPLPUSH", "n", "d", "0.05"]),
            Block(2, &["BZPOPMAX", "n", "0.05"]),
            Block(3, &["BLMPOP", "0.05", "1", "n", "RIGHT"]),
            Sleep(150),
            Read(1),
            Read(2),
            Read(3),
        ],
    ),
    (
        "sorted sets: ZADD serves BZPOPMIN, BZPOPMAX and BZMPOP",
        &[
            Block(1, &["BZPOPMIN", "z", "0"]),
            Block(2, &["BZMPOP", "0", "1", "z", "MAX", "COUNT", "10"]),
            Block(3, &["BZPOPMAX", "z", "0"]),
            Call(0, &["ZADD", "z", "1", "a", "2.5", "b", "3", "c"]),
            Read(1),
            Read(2),
            Call(0, &["ZADD", "z", "-1", "d"]),
            Read(3),
        ],
    ),
    (
        "BLMOVE chains and a destination of another type",
        &[
            Call(0, &["SET", "str", "v"]),
            Block(1, &["BLMOVE", "src", "str", "LEFT", "RIGHT", "0"]),
            Block(2, &["BLMOVE", "src", "mid", "RIGHT", "LEFT", "0"]),
            Block(3, &["BLPOP", "mid", "0"]),
            Call(0, &["RPUSH", "src", "e1", "e2"]),
            Read(1),
            Read(2),
            Read(3),
            Call(0, &["LRANGE", "src", "0", "-1"]),
        ],
    ),
    (
        "CLIENT UNBLOCK and pipelined input behind a wait",
        &[
            Block(1, &["BLPOP", "k", "0"]),
            Block(1, &["PING"]),
            Unblock(1, "TIMEOUT"),
            Read(1),
            Read(1),
            Block(2, &["BZPOPMIN", "k", "0"]),
            Unblock(2, "ERROR"),
            Read(2),
            Unblock(2, "TIMEOUT"),
            Call(0, &["CLIENT", "UNBLOCK", "1", "bogus"]),
        ],
    ),
    (
        "answers at once and errors",
        &[
            Call(0, &["RPUSH", "l", "a", "b", "c"]),
            Call(0, &["ZADD", "z", "1", "m", "2", "n"]),
            Call(0, &["SET", "s", "v"]),
            Call(1, &["BLPOP", "nx", "l", "0"]),
            Call(1, &["BRPOPLPUSH", "l", "l2", "0"]),
            Call(1, &["BLMPOP", "0", "1", "l", "RIGHT", "COUNT", "9"]),
            Call(1, &["BZPOPMIN", "z", "0"]),
            Call(1, &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "9"]),
            Call(1, &["BLPOP", "s", "0"]),
            Call(1, &["BLPOP", "k", "-1"]),
            Call(1, &["BLPOP", "k", "x"]),
            Call(1, &["BLMPOP", "x", "0", "k", "LEFT"]),
            Call(1, &["BZMPOP", "0", "1", "k", "MIN", "COUNT", "0"]),
            Call(1, &["BLMOVE", "a", "b", "UP", "LEFT", "0"]),
        ],
    ),
];

#[test]
fn blocking_scenarios_match_redis_byte_for_byte() {
    let Some(binary) = require_tool(
        "redis-server",
        "blocking::blocking_scenarios_match_redis_byte_for_byte",
    ) else {
        return;
    };
    let redis = RedisServer::start(&binary, &[]).expect("redis-server starts");
    let keel = KeelServer::start();
    for resp3 in PROTOCOLS {
        for (name, steps) in SCENARIOS {
            let theirs = run(redis.addr(), steps, resp3);
            let ours = run(keel.addr(), steps, resp3);
            assert_eq!(ours, theirs, "{name} (resp3: {resp3})");
        }
    }
}
