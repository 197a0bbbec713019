//! Long-running scripts over real sockets, against a real `redis-server`
//! 7.0: both servers run with `busy-reply-threshold` 100 ms, the same
//! scenario (an endless script, other clients meanwhile, SCRIPT KILL,
//! FUNCTION KILL, UNKILLABLE, SHUTDOWN NOSAVE) runs on each, and every
//! reply must match byte for byte.
//!
//! Outside CI a missing `redis-server` makes the tests print "SKIPPED:
//! redis-server not found" on stderr and pass; with CI=true they fail.

use keel_engine::resp::frame::Frame;
use keel_engine::Config;
use keel_tests::conn::RespConn;
use keel_tests::tools::require_tool;
use keel_tests::{KeelServer, RedisServer};
use std::net::SocketAddr;
use std::thread::sleep;
use std::time::Duration;

const THRESHOLD_MS: u64 = 100;
/// Long enough past the threshold for a loaded machine.
const PAST_THRESHOLD: Duration = Duration::from_millis(400);

const SPIN: &str = "local i = 0 while true do i = i + 1 end";
const SPIN_AFTER_WRITE: &str =
    "redis.call('set', 'w', '1') local i = 0 while true do i = i + 1 end";
const LIB: &str = "#!lua name=busylib
redis.register_function('spin', function(keys, args) local i = 0 while true do i = i + 1 end end)";

/// The two servers, or None when redis-server is missing (outside CI).
fn servers(test: &str) -> Option<(KeelServer, RedisServer)> {
    let binary = require_tool("redis-server", test)?;
    let threshold = THRESHOLD_MS.to_string();
    let redis = RedisServer::start(&binary, &["--busy-reply-threshold", &threshold])
        .expect("redis-server starts");
    let keel = KeelServer::with_config(Config {
        busy_reply_threshold: THRESHOLD_MS,
        ..Config::default()
    });
    Some((keel, redis))
}

/// Every raw reply a scenario saw, with a label, in order.
type Transcript = Vec<(String, String)>;

struct Session {
    a: RespConn,
    b: RespConn,
    seen: Transcript,
}

impl Session {
    fn open(addr: SocketAddr) -> Session {
        Session {
            a: RespConn::connect(addr).expect("connect a"),
            b: RespConn::connect(addr).expect("connect b"),
            seen: Vec::new(),
        }
    }

    /// B sends `args` and records its reply.
    fn b_call(&mut self, args: &[&str]) {
        self.b.send(args).expect("send");
        self.record_b(&args.join(" "));
    }

    fn record_b(&mut self, label: &str) {
        let raw = self.b.read_raw().expect("b's reply");
        self.seen.push((
            format!("b: {label}"),
            String::from_utf8_lossy(&raw).into_owned(),
        ));
    }

    fn record_a(&mut self, label: &str) {
        let raw = self.a.read_raw().expect("a's reply");
        self.seen.push((
            format!("a: {label}"),
            String::from_utf8_lossy(&raw).into_owned(),
        ));
    }
}

/// An endless EVAL: B waits before the threshold, then is refused, runs
/// the allow-busy commands, and kills the script.
fn eval_scenario(addr: SocketAddr) -> Transcript {
    let mut s = Session::open(addr);
    s.a.send(&["EVAL", SPIN, "0"]).expect("send");
    s.a.send(&["PING"]).expect("send");
    // Time for the script to start (on a loaded machine), not for it to
    // pass the threshold: the GET is answered once that has passed.
    sleep(Duration::from_millis(60));
    s.b.send(&["GET", "x"]).expect("send");
    sleep(PAST_THRESHOLD);
    s.record_b("GET x (sent before the threshold)");
    for args in [
        &["SET", "x", "1"][..],
        &["FUNCTION", "KILL"],
        &["FUNCTION", "STATS"],
        &["MULTI"],
        &["SET", "x", "1"],
        &["EXEC"],
        &["DISCARD"],
        &["EXEC"],
        &["WATCH", "x"],
        &["UNWATCH"],
        &["EVAL", "return 1", "0"],
        &["NOSUCH"],
        &["GET"],
        &["SHUTDOWN"],
        &["SHUTDOWN", "SAVE"],
        &["SCRIPT", "KILL"],
    ] {
        s.b_call(args);
    }
    s.record_a("the killed EVAL");
    s.record_a("PING pipelined after it");
    s.b_call(&["SCRIPT", "KILL"]);
    s.b_call(&["PING"]);
    s.seen
}

/// An endless function: the FUNCTION KILL flavour of each error.
fn function_scenario(addr: SocketAddr) -> Transcript {
    let mut s = Session::open(addr);
    s.b_call(&["FUNCTION", "LOAD", "REPLACE", LIB]);
    s.a.send(&["FCALL", "spin", "0"]).expect("send");
    sleep(PAST_THRESHOLD);
    s.b_call(&["SET", "x", "1"]);
    s.b_call(&["SCRIPT", "KILL"]);
    s.b.send(&["FUNCTION", "STATS"]).expect("send");
    let stats = s.b.read().expect("FUNCTION STATS");
    s.seen
        .push(("b: FUNCTION STATS".into(), running_script(&stats)));
    s.b_call(&["FUNCTION", "KILL"]);
    s.record_a("the killed FCALL");
    s.b_call(&["FUNCTION", "STATS"]);
    s.seen
}

/// FUNCTION STATS's running_script without its duration (timing).
fn running_script(stats: &Frame) -> String {
    let Frame::Array(fields) = stats else {
        return format!("{stats:?}");
    };
    match fields.get(1) {
        Some(Frame::Array(running)) if running.len() == 6 => format!("{:?}", &running[..5]),
        other => format!("{other:?}"),
    }
}

/// A script that wrote: UNKILLABLE, then SHUTDOWN NOSAVE closes everything.
fn unkillable_scenario(addr: SocketAddr) -> Transcript {
    let mut s = Session::open(addr);
    s.a.send(&["EVAL", SPIN_AFTER_WRITE, "0"]).expect("send");
    sleep(PAST_THRESHOLD);
    s.b_call(&["SCRIPT", "KILL"]);
    s.b_call(&["FUNCTION", "KILL"]);
    s.b_call(&["SHUTDOWN"]);
    s.b.send(&["SHUTDOWN", "NOSAVE"]).expect("send");
    let b_rest = s.b.read_bytes_until_close().expect("b closed");
    let a_rest = s.a.read_bytes_until_close().expect("a closed");
    s.seen.push((
        "b: SHUTDOWN NOSAVE, then closed".into(),
        String::from_utf8_lossy(&b_rest).into_owned(),
    ));
    s.seen.push((
        "a: nothing, then closed".into(),
        String::from_utf8_lossy(&a_rest).into_owned(),
    ));
    s.seen
}

fn compare(test: &str, scenario: fn(SocketAddr) -> Transcript) {
    let Some((keel, redis)) = servers(test) else {
        return;
    };
    let expected = scenario(redis.addr());
    assert!(expected.len() >= 4, "the scenario ran: {expected:?}");
    let got = scenario(keel.addr());
    for (i, (want, have)) in expected.iter().zip(&got).enumerate() {
        assert_eq!(have, want, "step {i}");
    }
    assert_eq!(got.len(), expected.len());
}

#[test]
fn an_endless_eval_is_refused_busy_then_killed_as_in_redis() {
    compare(
        "an_endless_eval_is_refused_busy_then_killed_as_in_redis",
        eval_scenario,
    );
}

#[test]
fn an_endless_function_names_function_kill_as_in_redis() {
    compare(
        "an_endless_function_names_function_kill_as_in_redis",
        function_scenario,
    );
}

#[test]
fn a_script_that_wrote_is_unkillable_and_shutdown_nosave_stops_as_in_redis() {
    compare(
        "a_script_that_wrote_is_unkillable_and_shutdown_nosave_stops_as_in_redis",
        unkillable_scenario,
    );
}
