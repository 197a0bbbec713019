//! Long-running scripts on the in-process harness: virtual time passes
//! per slice ([`Harness::slice_ms`]), so "a script running for seconds"
//! takes a few slices.

use crate::client::ClientId;
use crate::config::Config;
use crate::lua::running::{BUSY_EVAL, BUSY_FUNCTION};
use crate::lua::sha1::sha1_hex;
use crate::node::Input;
use crate::resp::frame::Frame;
use crate::testing::Harness;
use bytes::Bytes;

const SPIN: &str = "local i = 0 while true do i = i + 1 end";
const SPIN_AFTER_WRITE: &str =
    "redis.call('set', 'w', '1') local i = 0 while true do i = i + 1 end";
const LIB: &str = "#!lua name=lib\n\
    redis.register_function('spin', function(keys, args) local i = 0 while true do i = i + 1 end end)\n\
    redis.register_function('spinw', function(keys, args) redis.call('set', 'w', '1') while true do end end)";
const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";

/// A harness with `busy-reply-threshold` 100 ms and 10 ms slices, and two clients.
fn setup() -> (Harness, ClientId, ClientId) {
    let mut h = Harness::new(Config {
        busy_reply_threshold: 100,
        ..Config::default()
    });
    h.slice_ms = 10;
    let (a, b) = (h.connect(), h.connect());
    (h, a, b)
}

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

fn err(text: &str) -> Frame {
    Frame::Error(text.into())
}

fn bulk(text: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

fn killed(name: &str, at: &str) -> Frame {
    err(&format!(
        "ERR Script killed by user with SCRIPT KILL... script: {name}, on {at}."
    ))
}

/// `a` starts an endless `script`; time passes past the threshold.
fn start_busy(h: &mut Harness, a: ClientId, script: &str) {
    h.send(a, &["EVAL", script, "0"]);
    assert!(h.node.is_running_script(), "the script goes on");
    h.advance(150);
    assert_eq!(h.read(a), None, "no reply while it runs");
}

#[test]
fn past_the_threshold_others_get_busy_then_script_kill_ends_it() {
    let (mut h, a, b) = setup();
    h.send(a, &["EVAL", SPIN, "0"]);
    h.advance(50);
    h.send(b, &["PING"]);
    assert_eq!(h.read(b), None, "before the threshold, others wait");
    h.advance(100);
    assert_eq!(h.read(b), Some(err(BUSY_EVAL)), "the waiting PING, past it");
    assert_eq!(h.call(b, &["GET", "x"]), err(BUSY_EVAL));
    assert_eq!(h.call(b, &["SCRIPT", "KILL"]), ok());
    h.advance(10);
    assert_eq!(
        h.read(a),
        Some(killed(&sha1_hex(SPIN.as_bytes()), "@user_script:1"))
    );
    assert!(!h.node.is_running_script());
    assert_eq!(h.call(b, &["PING"]), Frame::Simple("PONG".into()));
    assert_eq!(
        h.call(a, &["SCRIPT", "KILL"]),
        err("NOTBUSY No scripts in execution right now.")
    );
}

#[test]
fn a_busy_function_names_function_kill() {
    let (mut h, a, b) = setup();
    assert_eq!(h.call(a, &["FUNCTION", "LOAD", LIB]), bulk("lib"));
    h.send(a, &["FCALL", "spin", "0"]);
    h.advance(150);
    assert_eq!(h.call(b, &["SET", "k", "v"]), err(BUSY_FUNCTION));
    assert_eq!(h.call(b, &["SCRIPT", "KILL"]), err(BUSY_FUNCTION));
    let Frame::Array(stats) = h.call(b, &["FUNCTION", "STATS"]) else {
        panic!("FUNCTION STATS")
    };
    let Frame::Array(running) = &stats[1] else {
        panic!("running_script: {:?}", stats[1])
    };
    assert_eq!(
        running[..4],
        [
            bulk("name"),
            bulk("spin"),
            bulk("command"),
            Frame::Array(vec![bulk("FCALL"), bulk("spin"), bulk("0")])
        ]
    );
    assert_eq!(running[4], bulk("duration_ms"));
    assert!(
        matches!(running[5], Frame::Int(ms) if ms >= 150),
        "{:?}",
        running[5]
    );
    assert_eq!(h.call(b, &["FUNCTION", "KILL"]), ok());
    h.advance(10);
    assert_eq!(h.read(a), Some(killed("spin", "@user_function:2")));
    let Frame::Array(stats) = h.call(b, &["FUNCTION", "STATS"]) else {
        panic!("FUNCTION STATS")
    };
    assert_eq!(stats[1], Frame::Null);
}

#[test]
fn kills_of_the_other_kind_and_function_stats_during_eval_are_busy() {
    let (mut h, a, b) = setup();
    start_busy(&mut h, a, SPIN);
    assert_eq!(h.call(b, &["FUNCTION", "KILL"]), err(BUSY_EVAL));
    assert_eq!(h.call(b, &["FUNCTION", "STATS"]), err(BUSY_EVAL));
    assert_eq!(h.call(b, &["SCRIPT", "KILL"]), ok());
    h.advance(10);
    assert!(matches!(h.read(a), Some(Frame::Error(_))));
}

#[test]
fn a_script_that_wrote_is_unkillable_and_only_shutdown_nosave_stops_it() {
    let (mut h, a, b) = setup();
    start_busy(&mut h, a, SPIN_AFTER_WRITE);
    assert_eq!(h.call(b, &["SCRIPT", "KILL"]), err(UNKILLABLE));
    assert_eq!(
        h.call(b, &["FUNCTION", "KILL"]),
        err(UNKILLABLE),
        "before the kind check"
    );
    assert_eq!(h.call(b, &["SHUTDOWN"]), err(BUSY_EVAL));
    assert_eq!(h.call(b, &["SHUTDOWN", "SAVE"]), err(BUSY_EVAL));
    assert!(!h.shutdown);
    h.send(b, &["SHUTDOWN", "NOSAVE"]);
    assert!(h.shutdown, "the node stops");
    assert!(h.node.is_shutting_down());
    h.advance(100);
    assert_eq!(h.read(a), None, "the script's caller gets nothing");
}

#[test]
fn a_function_that_wrote_is_unkillable() {
    let (mut h, a, b) = setup();
    assert_eq!(h.call(a, &["FUNCTION", "LOAD", LIB]), bulk("lib"));
    h.send(a, &["FCALL", "spinw", "0"]);
    h.advance(150);
    assert_eq!(h.call(b, &["FUNCTION", "KILL"]), err(UNKILLABLE));
    assert_eq!(h.call(b, &["SCRIPT", "KILL"]), err(UNKILLABLE));
}

#[test]
fn allow_busy_commands_run_meanwhile_and_transactions_abort() {
    let (mut h, a, b) = setup();
    start_busy(&mut h, a, SPIN);
    assert_eq!(h.call(b, &["MULTI"]), ok());
    assert_eq!(h.call(b, &["SET", "x", "1"]), err(BUSY_EVAL));
    assert_eq!(
        h.call(b, &["EXEC"]),
        err(&format!(
            "EXECABORT Transaction discarded because of: {BUSY_EVAL}"
        ))
    );
    assert_eq!(h.call(b, &["DISCARD"]), err("ERR DISCARD without MULTI"));
    assert_eq!(
        h.call(b, &["EXEC"]),
        err(&format!(
            "EXECABORT Transaction discarded because of: {BUSY_EVAL}"
        )),
        "EXEC outside MULTI aborts as well"
    );
    assert_eq!(h.call(b, &["WATCH", "x"]), ok());
    assert_eq!(h.call(b, &["UNWATCH"]), ok());
    assert!(matches!(h.call(b, &["HELLO", "3"]), Frame::Map(_)));
    assert!(matches!(h.call(b, &["HELLO", "2"]), Frame::Array(_)));
    assert_eq!(
        h.call(b, &["AUTH", "x"]),
        err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
    );
    assert_eq!(h.call(b, &["RESET"]), Frame::Simple("RESET".into()));
    assert_eq!(h.call(b, &["CLIENT", "LIST"]), err(BUSY_EVAL));
    assert_eq!(h.call(b, &["EVAL", "return 1", "0"]), err(BUSY_EVAL));
    assert_eq!(
        h.call(b, &["NOSUCH"]),
        err("ERR unknown command 'NOSUCH', with args beginning with: ")
    );
    assert_eq!(
        h.call(b, &["GET"]),
        err("ERR wrong number of arguments for 'get' command")
    );
    assert_eq!(h.call(b, &["SCRIPT", "KILL"]), ok());
}

#[test]
fn the_allow_busy_commands_are_redis_s() {
    let h = Harness::new(Config::default());
    let mut names: Vec<String> = Vec::new();
    for spec in h.node.server().table.sorted() {
        if spec.has(crate::cmd::flags::ALLOW_BUSY) {
            names.push(spec.name.to_string());
        }
        for sub in spec.subcommands {
            if sub.has(crate::cmd::flags::ALLOW_BUSY) {
                names.push(format!("{}|{}", spec.name, sub.name));
            }
        }
    }
    names.sort();
    // `COMMAND INFO` of redis-server 7.0.15, every command with allow_busy.
    let redis = [
        "auth",
        "discard",
        "function|kill",
        "function|stats",
        "hello",
        "multi",
        "quit",
        "replconf",
        "reset",
        "script|kill",
        "shutdown",
        "unwatch",
        "watch",
    ];
    assert_eq!(names, redis);
}

#[test]
fn before_the_threshold_others_are_answered_after_the_script() {
    let mut h = Harness::new(Config::default());
    let (a, b) = (h.connect(), h.connect());
    h.send(
        a,
        &[
            "EVAL",
            "local s = 0 for i = 1, 3000000 do s = s + 1 end redis.call('set', 'x', s) return s",
            "0",
        ],
    );
    h.send(b, &["GET", "x"]);
    assert_eq!((h.read(a), h.read(b)), (None, None));
    let start = h.now.mono_ms;
    h.advance(1000);
    assert_eq!(h.read(a), Some(Frame::Int(3_000_000)));
    assert_eq!(
        h.read(b),
        Some(bulk("3000000")),
        "run after the script: it sees its write"
    );
    assert!(
        h.now.mono_ms - start >= 50,
        "it took some 60 slices of 1 ms"
    );
}

#[test]
fn the_caller_s_pipelined_commands_wait_for_the_script() {
    let (mut h, a, _) = setup();
    let mut batch =
        crate::testing::request(&[b"EVAL", b"for i = 1, 2000000 do end return 'done'", b"0"]);
    batch.extend(crate::testing::request(&[b"SET", b"after", b"1"]));
    h.send_raw(a, &batch);
    assert_eq!(h.read(a), None);
    h.advance(1000);
    assert_eq!(h.read(a), Some(bulk("done")));
    assert_eq!(h.read(a), Some(ok()));
}

#[test]
fn a_pcall_d_busy_loop_completes_correctly() {
    let (mut h, a, _) = setup();
    let script = "local ok, v = pcall(function() local s = 0 for i = 1, 500000 do s = s + i end return s end) \
                  local t = 0 for i = 1, 500000 do t = t + 1 end return {tostring(ok), v, t}";
    assert_eq!(
        h.call(a, &["EVAL", script, "0"]),
        Frame::Array(vec![
            bulk("true"),
            Frame::Int(125_000_250_000),
            Frame::Int(500_000)
        ])
    );
}

#[test]
fn redis_call_kept_in_a_local_works_across_many_slices() {
    let (mut h, a, _) = setup();
    let script = "local call, pcall_ = redis.call, redis.pcall \
                  for i = 1, 40 do \
                    call('incr', 'n') \
                    for j = 1, 50000 do end \
                  end \
                  local e = pcall_('incr', 'h') \
                  return {call('get', 'n'), e}";
    h.call(a, &["HSET", "h", "f", "v"]);
    let start = h.now.mono_ms;
    let reply = h.call(a, &["EVAL", script, "0"]);
    assert!(h.now.mono_ms - start >= 100, "it ran in many slices");
    let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
    assert_eq!(reply, Frame::Array(vec![bulk("40"), err(wrongtype)]));
}

#[test]
fn an_error_after_slices_is_located() {
    let (mut h, a, _) = setup();
    let script = "for i = 1, 1000000 do end\nlocal call = redis.call\nreturn call('nosuch')";
    assert_eq!(
        h.call(a, &["EVAL", script, "0"]),
        err(&format!(
            "ERR Unknown Redis command called from script script: {}, on @user_script:3.",
            sha1_hex(script.as_bytes())
        ))
    );
}

#[test]
fn a_long_write_script_propagates_as_one_unit_at_its_end() {
    let (mut h, a, _) = setup();
    h.record_effects();
    h.send(
        a,
        &[
            "EVAL",
            "redis.call('set', 'a', '1') for i = 1, 3000000 do end redis.call('set', 'b', '2')",
            "0",
        ],
    );
    h.advance(20);
    assert!(h.node.is_running_script());
    assert!(h.effects().is_empty(), "nothing before it ends");
    h.advance(2000);
    assert_eq!(h.read(a), Some(Frame::Null), "it ended");
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        h.effects(),
        vec![
            words(&["db0", "MULTI"]),
            words(&["db0", "set", "a", "1"]),
            words(&["db0", "set", "b", "2"]),
            words(&["db0", "EXEC"]),
        ]
    );
}

#[test]
fn no_expiry_while_a_script_runs_and_its_time_stands_still() {
    let (mut h, a, b) = setup();
    assert_eq!(h.call(a, &["SET", "k", "v", "PX", "100"]), ok());
    let cycles = h.node.server().stats.expire_cycles;
    h.send(a, &["EVAL", "local n = 0 while redis.call('get', 'stop') == false do n = n + 1 end return redis.call('get', 'k')", "0"]);
    h.advance(500);
    assert!(h.node.is_running_script());
    assert_eq!(h.node.server().stats.expire_cycles, cycles, "no cron ran");
    assert_eq!(h.node.server().expired_keys(), 0);
    // Ends the script by setting the key it waits for, directly: no
    // client may write while it runs.
    let one = crate::types::Value::Str(crate::types::string::StrValue::from_bytes(b"1"));
    h.node.server_mut().dbs[0].set(b"stop", one, 0, false);
    h.advance(10);
    assert_eq!(
        h.read(a),
        Some(bulk("v")),
        "the key lives on in the script's time"
    );
    assert_eq!(
        h.call(b, &["GET", "k"]),
        Frame::Null,
        "and expires after it"
    );
}

#[test]
fn a_script_inside_exec_runs_to_its_end_at_once() {
    let (mut h, a, _) = setup();
    assert_eq!(h.call(a, &["MULTI"]), ok());
    h.call(a, &["EVAL", "for i = 1, 3000000 do end return 7", "0"]);
    let start = h.now.mono_ms;
    assert_eq!(h.call(a, &["EXEC"]), Frame::Array(vec![Frame::Int(7)]));
    assert_eq!(h.now.mono_ms, start, "no slice was scheduled");
}

#[test]
fn a_script_whose_caller_left_still_runs_to_its_end() {
    let (mut h, a, b) = setup();
    h.send(
        a,
        &[
            "EVAL",
            "for i = 1, 2000000 do end redis.call('set', 'left', 'yes')",
            "0",
        ],
    );
    h.node
        .handle_input(h.now, Input::ClientClosed { client: a });
    h.advance(1000);
    assert!(!h.node.is_running_script());
    assert_eq!(h.call(b, &["GET", "left"]), bulk("yes"));
}

#[test]
fn the_threshold_is_a_config_parameter_with_its_old_name() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let pair = |name: &str, value: &str| Frame::Array(vec![bulk(name), bulk(value)]);
    assert_eq!(
        h.call(c, &["CONFIG", "GET", "busy-reply-threshold"]),
        pair("busy-reply-threshold", "5000")
    );
    assert_eq!(h.call(c, &["CONFIG", "SET", "lua-time-limit", "200"]), ok());
    assert_eq!(
        h.call(c, &["CONFIG", "GET", "busy-reply-threshold"]),
        pair("busy-reply-threshold", "200")
    );
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "busy-reply-threshold", "-1"]),
        err("ERR CONFIG SET failed (possibly related to argument 'busy-reply-threshold') - argument must be between 0 and 9223372036854775807 inclusive")
    );
}

#[test]
fn sigterm_during_a_script_stops_the_node_once_it_ends() {
    let (mut h, a, _) = setup();
    h.send(
        a,
        &[
            "EVAL",
            "for i = 1, 3000000 do end redis.call('set', 'k', 'v') return 1",
            "0",
        ],
    );
    h.advance(20);
    h.sigterm();
    assert!(!h.shutdown, "not in the middle of the script");
    h.advance(2000);
    assert_eq!(h.read(a), Some(Frame::Int(1)));
    assert!(h.shutdown, "once it ended");
}

#[test]
fn a_client_blocked_on_a_key_the_script_writes_is_served_after_it() {
    let (mut h, a, b) = setup();
    let c = h.connect();
    h.send(c, &["BLPOP", "list", "0"]);
    h.send(
        a,
        &[
            "EVAL",
            "redis.call('lpush', 'list', 'x') for i = 1, 3000000 do end return 1",
            "0",
        ],
    );
    h.advance(150);
    assert!(h.node.is_running_script());
    assert_eq!(
        h.call(b, &["PING"]),
        err(BUSY_EVAL),
        "a command after the threshold"
    );
    assert_eq!(h.read(c), None, "not served in the middle of the script");
    h.advance(2000);
    assert_eq!(h.read(a), Some(Frame::Int(1)));
    assert_eq!(h.read(c), Some(Frame::Array(vec![bulk("list"), bulk("x")])));
}

#[test]
fn a_short_script_serves_a_client_blocked_on_a_key_it_wrote() {
    let (mut h, a, _) = setup();
    let c = h.connect();
    h.send(c, &["BLPOP", "list", "0"]);
    let script = "redis.call('lpush', 'list', 'x') return 1";
    assert_eq!(h.call(a, &["EVAL", script, "0"]), Frame::Int(1));
    assert_eq!(h.read(c), Some(Frame::Array(vec![bulk("list"), bulk("x")])));
}

#[test]
fn a_runaway_library_load_times_out_as_in_redis() {
    let (mut h, a, _) = setup();
    let start = h.now.mono_ms;
    assert_eq!(
        h.call(a, &["FUNCTION", "LOAD", "#!lua name=t\nwhile true do end"]),
        err("ERR Error registering functions: ERR FUNCTION LOAD timeout")
    );
    assert_eq!(h.now.mono_ms, start, "loading is never suspended");
    assert!(!h.node.is_running_script());
    assert_eq!(h.call(a, &["FUNCTION", "LIST"]), Frame::Array(vec![]));
}
