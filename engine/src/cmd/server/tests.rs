//! Tests of the server commands, and helpers the other command tests share.

use crate::config::Config;
use crate::resp::frame::Frame;
use crate::testing::Harness;
use crate::types::{StrValue, Value};

// ---- shared helpers ----

pub(crate) fn ok() -> Frame {
    Frame::Simple("OK".into())
}

pub(crate) fn err(text: &str) -> Frame {
    Frame::Error(text.into())
}

pub(crate) fn bulk(text: &str) -> Frame {
    Frame::Bulk(bytes::Bytes::copy_from_slice(text.as_bytes()))
}

/// A harness whose node accepts DEBUG.
pub(crate) fn debug_harness() -> Harness {
    let config = Config {
        enable_debug_command: "yes".into(),
        ..Config::default()
    };
    Harness::new(config)
}

/// Puts `n` string keys `key:<i>` in database `db`, with a TTL if given.
pub(crate) fn fill(h: &mut Harness, db: usize, n: usize, ttl_ms: Option<u64>) {
    let now = h.now;
    let srv = h.node.server_mut();
    for i in 0..n {
        let key = format!("key:{i}");
        let value = Value::Str(StrValue::from_bytes(b"some value"));
        srv.dbs[db].set(key.as_bytes(), value, 0, false);
        if let Some(ttl) = ttl_ms {
            srv.dbs[db].set_expire(key.as_bytes(), now.unix_ms + ttl);
        }
    }
}

/// The value of `field` in INFO `section`, as text.
pub(crate) fn info_field(h: &mut Harness, c: u64, section: &str, field: &str) -> String {
    let text = h
        .call(c, &["INFO", section])
        .text()
        .expect("INFO is a bulk");
    text.split("\r\n")
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}: {text}"))
        .to_string()
}

fn int(n: i64) -> Frame {
    Frame::Int(n)
}

// ---- DBSIZE, FLUSHDB, FLUSHALL ----

#[test]
fn dbsize_counts_the_selected_database() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    fill(&mut h, 0, 3, None);
    fill(&mut h, 1, 5, None);
    assert_eq!(h.call(c, &["DBSIZE"]), int(3));
    assert_eq!(h.call(c, &["SELECT", "1"]), ok());
    assert_eq!(h.call(c, &["DBSIZE"]), int(5));
    assert_eq!(
        h.call(c, &["DBSIZE", "x"]),
        err("ERR wrong number of arguments for 'dbsize' command")
    );
}

#[test]
fn flushdb_empties_only_the_selected_database() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    fill(&mut h, 0, 3, None);
    fill(&mut h, 1, 5, Some(10_000));
    assert_eq!(h.call(c, &["SELECT", "1"]), ok());
    assert_eq!(h.call(c, &["FLUSHDB"]), ok());
    assert_eq!(h.call(c, &["DBSIZE"]), int(0));
    assert!(h.node.server_mut().dbs[1].expires().is_empty());
    assert_eq!(h.call(c, &["SELECT", "0"]), ok());
    assert_eq!(h.call(c, &["DBSIZE"]), int(3));
    assert_eq!(h.call(c, &["flushdb", "Sync"]), ok());
    assert_eq!(h.call(c, &["DBSIZE"]), int(0));
}

#[test]
fn flush_options_are_checked() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    for args in [
        &["FLUSHALL", "foo"][..],
        &["FLUSHALL", "sync", "async"],
        &["FLUSHDB", "sync", "extra"],
    ] {
        assert_eq!(h.call(c, args), err("ERR syntax error"), "{args:?}");
    }
    assert_eq!(h.call(c, &["FLUSHALL", "ASYNC"]), ok());
    assert_eq!(h.call(c, &["FLUSHALL", "sync"]), ok());
}

#[test]
fn flushall_empties_every_database() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    for db in 0..16 {
        fill(&mut h, db, db + 1, None);
    }
    assert_eq!(h.call(c, &["FLUSHALL"]), ok());
    for db in 0..16 {
        assert!(h.node.server_mut().dbs[db].is_empty(), "db {db}");
    }
    assert_eq!(
        info_field(&mut h, c, "memory", "lazyfree_pending_objects"),
        "0"
    );
}

#[test]
fn flushall_async_frees_in_bounded_steps_over_cron_ticks() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    h.advance(100); // let the first cron tick pass
    fill(&mut h, 0, 15_000, None);
    fill(&mut h, 3, 10_000, Some(60_000));
    assert_eq!(h.call(c, &["FLUSHALL", "ASYNC"]), ok());
    assert_eq!(h.call(c, &["DBSIZE"]), int(0), "keys are gone at once");
    let pending = |h: &mut Harness| -> usize {
        info_field(h, c, "memory", "lazyfree_pending_objects")
            .parse()
            .unwrap()
    };
    assert_eq!(pending(&mut h), 25_000, "freed later, not now");
    let step = crate::limits::LAZYFREE_EFFORT_PER_STEP;
    h.advance(100);
    assert_eq!(pending(&mut h), 25_000 - step);
    h.advance(100);
    assert_eq!(pending(&mut h), 25_000 - 2 * step);
    h.advance(100);
    assert_eq!(pending(&mut h), 0);
    assert_eq!(
        info_field(&mut h, c, "memory", "lazyfreed_objects"),
        "25000"
    );
}

#[test]
fn lazyfree_lazy_user_flush_decides_the_default_mode() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    fill(&mut h, 0, 100, None);
    assert_eq!(h.call(c, &["FLUSHDB"]), ok());
    assert_eq!(
        info_field(&mut h, c, "memory", "lazyfree_pending_objects"),
        "0"
    );
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "lazyfree-lazy-user-flush", "yes"]),
        ok()
    );
    fill(&mut h, 0, 100, None);
    assert_eq!(h.call(c, &["FLUSHDB"]), ok());
    assert_eq!(
        info_field(&mut h, c, "memory", "lazyfree_pending_objects"),
        "100"
    );
    fill(&mut h, 0, 100, None);
    assert_eq!(h.call(c, &["FLUSHALL", "SYNC"]), ok(), "SYNC overrides");
    assert_eq!(
        info_field(&mut h, c, "memory", "lazyfree_pending_objects"),
        "100"
    );
}

// ---- SWAPDB, TIME ----

#[test]
fn swapdb_swaps_and_checks_indexes() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    fill(&mut h, 0, 2, None);
    fill(&mut h, 1, 7, None);
    assert_eq!(h.call(c, &["SWAPDB", "0", "1"]), ok());
    assert_eq!(h.call(c, &["DBSIZE"]), int(7));
    assert_eq!(h.call(c, &["SWAPDB", "0", "0"]), ok());
    assert_eq!(h.call(c, &["DBSIZE"]), int(7));
    let cases = [
        (["a", "1"], "ERR invalid first DB index"),
        (["0", "b"], "ERR invalid second DB index"),
        (["99999999999999999999", "0"], "ERR invalid first DB index"),
        (["3000000000", "0"], "ERR invalid first DB index"),
        (["-1", "0"], "ERR DB index is out of range"),
        (["0", "16"], "ERR DB index is out of range"),
    ];
    for ([a, b], expected) in cases {
        assert_eq!(h.call(c, &["SWAPDB", a, b]), err(expected), "{a} {b}");
    }
}

#[test]
fn time_is_the_wall_clock_in_seconds_and_microseconds() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    h.advance(1234);
    assert_eq!(
        h.call(c, &["TIME"]),
        Frame::Array(vec![bulk("1700000001"), bulk("234000")])
    );
}

// ---- SHUTDOWN ----

#[test]
fn shutdown_stops_the_node_without_a_reply() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let other = h.connect();
    // A reply queued before SHUTDOWN goes out; a command after it never runs.
    let mut batch = crate::testing::request(&[b"PING"]);
    batch.extend(crate::testing::request(&[b"SHUTDOWN"]));
    batch.extend(crate::testing::request(&[b"PING"]));
    h.send_raw(c, &batch);
    assert_eq!(h.read(c), Some(Frame::Simple("PONG".into())));
    assert_eq!(h.read(c), None);
    assert!(h.shutdown);
    assert!(h.node.is_shutting_down());
    h.send_raw(other, &crate::testing::request(&[b"PING"]));
    assert_eq!(h.read(other), None, "nothing runs once shutting down");
}

#[test]
fn shutdown_nosave_now_force_stop() {
    for args in [
        &["SHUTDOWN", "NOSAVE"][..],
        &["shutdown", "now", "force"],
        &["SHUTDOWN", "SAVE", "FORCE"],
        &["SHUTDOWN", "NOW", "NOW", "NOSAVE"],
    ] {
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        h.send_raw(c, &crate::testing::request(&raw));
        assert!(h.shutdown, "{args:?}");
        assert_eq!(h.read(c), None);
    }
}

#[test]
fn shutdown_save_that_fails_is_refused_and_abort_finds_nothing() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    h.disk.fail_next = 1;
    assert_eq!(
        h.call(c, &["SHUTDOWN", "SAVE"]),
        err("ERR Errors trying to SHUTDOWN. Check logs.")
    );
    assert_eq!(
        h.call(c, &["SHUTDOWN", "ABORT"]),
        err("ERR No shutdown in progress.")
    );
    for args in [
        &["SHUTDOWN", "SAVE", "NOSAVE"][..],
        &["SHUTDOWN", "foo"],
        &["SHUTDOWN", "ABORT", "NOW"],
        &["SHUTDOWN", "NOSAVE", "ABORT"],
    ] {
        assert_eq!(h.call(c, args), err("ERR syntax error"), "{args:?}");
    }
    assert!(!h.shutdown);
}

// ---- DEBUG ----

const NOT_ALLOWED: &str =
    "ERR DEBUG command not allowed. If the enable-debug-command option is set \
    to \"local\", you can run it from a local connection, otherwise you need to set this option in \
    the configuration file, and then restart the server.";

#[test]
fn debug_is_refused_unless_enabled() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    assert_eq!(h.call(c, &["DEBUG", "SLEEP", "0"]), err(NOT_ALLOWED));
    assert_eq!(
        h.call(c, &["DEBUG"]),
        err("ERR wrong number of arguments for 'debug' command"),
        "arity is checked first"
    );
}

#[test]
fn debug_local_allows_loopback_peers_only() {
    let config = Config {
        enable_debug_command: "local".into(),
        protected_mode: false,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let local = h.connect();
    assert_eq!(h.call(local, &["DEBUG", "SLEEP", "0"]), ok());
    let info = crate::client::ClientInfo {
        addr: "10.1.2.3:4000".into(),
        laddr: "10.1.2.1:6379".into(),
        fd: 9,
    };
    let remote = h.node.accept_client(h.now, info);
    assert_eq!(h.call(remote, &["DEBUG", "SLEEP", "0"]), err(NOT_ALLOWED));
}

#[test]
fn debug_sleep_blocks_every_client_in_virtual_time() {
    let mut h = debug_harness();
    let sleeper = h.connect();
    let other = h.connect();
    h.send_raw(
        sleeper,
        &crate::testing::request(&[b"DEBUG", b"SLEEP", b"2"]),
    );
    h.send_raw(sleeper, &crate::testing::request(&[b"ECHO", b"after"]));
    h.send_raw(other, &crate::testing::request(&[b"PING"]));
    h.advance(1999);
    assert_eq!(h.read(sleeper), None);
    assert_eq!(h.read(other), None, "the whole server sleeps");
    h.advance(1);
    assert_eq!(h.read(sleeper), Some(ok()));
    assert_eq!(h.read(sleeper), Some(bulk("after")));
    assert_eq!(h.read(other), Some(Frame::Simple("PONG".into())));
}

#[test]
fn debug_sleep_stops_the_cron_too() {
    let mut h = debug_harness();
    let c = h.connect();
    fill(&mut h, 0, 50, Some(10));
    h.send_raw(c, &crate::testing::request(&[b"DEBUG", b"SLEEP", b"1"]));
    h.advance(900);
    assert_eq!(h.node.server_mut().dbs[0].len(), 50, "no active expiry");
    h.advance(300);
    assert_eq!(h.read(c), Some(ok()));
    assert_eq!(
        h.node.server_mut().dbs[0].len(),
        0,
        "expired after the sleep"
    );
}

#[test]
fn debug_sleep_reads_seconds_like_atof() {
    let mut h = debug_harness();
    let c = h.connect();
    for instant in ["0", "-1", "abc", "nan", ""] {
        assert_eq!(h.call(c, &["DEBUG", "SLEEP", instant]), ok(), "{instant:?}");
    }
    h.send_raw(
        c,
        &crate::testing::request(&[b"DEBUG", b"SLEEP", b"0.25xyz"]),
    );
    h.advance(249);
    assert_eq!(h.read(c), None);
    h.advance(1);
    assert_eq!(h.read(c), Some(ok()));
    h.send_raw(c, &crate::testing::request(&[b"debug", b"sleep", b"1e-2"]));
    h.advance(10);
    assert_eq!(h.read(c), Some(ok()));
}

#[test]
fn debug_sleep_under_client_reply_skip_answers_nothing() {
    let mut h = debug_harness();
    let c = h.connect();
    h.send_raw(c, &crate::testing::request(&[b"CLIENT", b"REPLY", b"SKIP"]));
    h.send_raw(c, &crate::testing::request(&[b"DEBUG", b"SLEEP", b"0.1"]));
    h.advance(100);
    assert_eq!(h.call(c, &["PING"]), Frame::Simple("PONG".into()));
    assert_eq!(h.read(c), None);
}

#[test]
fn debug_set_active_expire_turns_the_cron_expiry_off_and_on() {
    let mut h = debug_harness();
    let c = h.connect();
    assert_eq!(h.call(c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), ok());
    fill(&mut h, 0, 40, Some(10));
    h.advance(1000);
    assert_eq!(h.call(c, &["DBSIZE"]), int(40));
    assert_eq!(h.call(c, &["debug", "set-active-expire", "1"]), ok());
    h.advance(1000);
    assert_eq!(h.call(c, &["DBSIZE"]), int(0));
}

#[test]
fn debug_pause_cron_stops_the_cron() {
    let mut h = debug_harness();
    let c = h.connect();
    assert_eq!(h.call(c, &["DEBUG", "PAUSE-CRON", "1"]), ok());
    fill(&mut h, 0, 40, Some(10));
    h.advance(1000);
    assert_eq!(h.call(c, &["DBSIZE"]), int(40));
    assert_eq!(h.call(c, &["DEBUG", "PAUSE-CRON", "0"]), ok());
    h.advance(1000);
    assert_eq!(h.call(c, &["DBSIZE"]), int(0));
}

#[test]
fn debug_error_replies_the_given_error() {
    let mut h = debug_harness();
    let c = h.connect();
    assert_eq!(h.call(c, &["DEBUG", "ERROR", "hello"]), err("hello"));
    assert_eq!(h.call(c, &["DEBUG", "ERROR", "a\r\nb"]), err("a  b"));
    assert_eq!(
        h.call(c, &["DEBUG", "ERROR", "WRONGTYPE x"]),
        err("WRONGTYPE x")
    );
}

#[test]
fn debug_change_repl_id_draws_a_new_id() {
    let mut h = debug_harness();
    let c = h.connect();
    let before = info_field(&mut h, c, "replication", "master_replid");
    assert_eq!(h.call(c, &["DEBUG", "CHANGE-REPL-ID"]), ok());
    let after = info_field(&mut h, c, "replication", "master_replid");
    assert_ne!(before, after);
    assert_eq!(after.len(), 40);
    assert!(after.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn debug_unknown_subcommands_and_wrong_counts() {
    let mut h = debug_harness();
    let c = h.connect();
    for (args, name) in [
        (&["DEBUG", "nosuch"][..], "nosuch"),
        (&["DEBUG", "sleep"], "sleep"),
        (&["DEBUG", "SLEEP", "1", "2"], "SLEEP"),
        (&["DEBUG", "help", "x"], "help"),
        (&["DEBUG", "object", "k"], "object"),
    ] {
        let expected = format!(
            "ERR unknown subcommand or wrong number of arguments for '{name}'. Try DEBUG HELP."
        );
        assert_eq!(h.call(c, args), err(&expected), "{args:?}");
    }
    let Frame::Array(help) = h.call(c, &["DEBUG", "HELP"]) else {
        panic!("help is an array")
    };
    assert_eq!(
        help[0],
        Frame::Simple("DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into())
    );
    assert!(help.contains(&Frame::Simple("SLEEP <seconds>".into())));
    assert_eq!(
        help.last(),
        Some(&Frame::Simple("    Prints this help.".into()))
    );
}

/// Sends one command from a new client speaking `protocol` and returns
/// the raw reply bytes, to compare byte for byte with Redis's.
pub(crate) fn raw_reply(h: &mut Harness, protocol: u8, args: &[&str]) -> String {
    let c = h.connect();
    if protocol == 3 {
        h.call(c, &["HELLO", "3"]);
    }
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    h.send_raw(c, &crate::testing::request(&args));
    String::from_utf8(h.pending_bytes(c)).unwrap()
}

#[test]
fn debug_protocol_matches_redis_bytes_in_resp2_and_resp3() {
    let cases = [
        ("string", "$11\r\nHello World\r\n", "$11\r\nHello World\r\n"),
        ("integer", ":12345\r\n", ":12345\r\n"),
        ("double", "$5\r\n3.141\r\n", ",3.141\r\n"),
        (
            "bignum",
            "$37\r\n1234567999999999999999999999999999999\r\n",
            "(1234567999999999999999999999999999999\r\n",
        ),
        ("null", "$-1\r\n", "_\r\n"),
        (
            "array",
            "*3\r\n:0\r\n:1\r\n:2\r\n",
            "*3\r\n:0\r\n:1\r\n:2\r\n",
        ),
        (
            "set",
            "*3\r\n:0\r\n:1\r\n:2\r\n",
            "~3\r\n:0\r\n:1\r\n:2\r\n",
        ),
        (
            "map",
            "*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n",
            "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n",
        ),
        (
            "attrib",
            "$39\r\nSome real reply following the attribute\r\n",
            "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n\
             $39\r\nSome real reply following the attribute\r\n",
        ),
        (
            "push",
            "-ERR RESP2 is not supported by this command\r\n",
            ">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n\
             $40\r\nSome real reply following the push reply\r\n",
        ),
        (
            "verbatim",
            "$25\r\nThis is a verbatim\nstring\r\n",
            "=29\r\ntxt:This is a verbatim\nstring\r\n",
        ),
        ("true", ":1\r\n", "#t\r\n"),
        ("false", ":0\r\n", "#f\r\n"),
    ];
    let mut h = debug_harness();
    for (kind, resp2, resp3) in cases {
        let args = ["DEBUG", "PROTOCOL", kind];
        assert_eq!(raw_reply(&mut h, 2, &args), resp2, "{kind}");
        assert_eq!(raw_reply(&mut h, 3, &args), resp3, "{kind}");
    }
    // Through the frame reader, the attribute comes attached to the reply.
    let c = h.connect();
    h.call(c, &["HELLO", "3"]);
    let popularity = Frame::Array(vec![bulk("key:123"), Frame::Int(90)]);
    assert_eq!(
        h.call(c, &["DEBUG", "PROTOCOL", "attrib"]),
        Frame::Attributed {
            attributes: vec![(bulk("key-popularity"), popularity)],
            value: Box::new(bulk("Some real reply following the attribute")),
        }
    );
    assert_eq!(
        h.call(c, &["DEBUG", "PROTOCOL", "attrib"])
            .without_attributes(),
        bulk("Some real reply following the attribute")
    );
    assert_eq!(
        h.call(c, &["DEBUG", "PROTOCOL", "xx"]),
        err(
            "ERR Wrong protocol type name. Please use one of the following: \
             string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"
        )
    );
}

// ---- CONFIG ----

fn pairs(frame: Frame) -> Vec<(String, String)> {
    let items = match frame {
        Frame::Array(items) => items,
        other => panic!("expected a flat array, got {other:?}"),
    };
    items
        .chunks(2)
        .map(|p| (p[0].text().unwrap(), p[1].text().unwrap()))
        .collect()
}

#[test]
fn config_get_patterns_names_and_shapes() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    assert_eq!(
        pairs(h.call(c, &["CONFIG", "GET", "maxmemory*"])),
        [
            ("maxmemory".to_string(), "0".to_string()),
            ("maxmemory-policy".into(), "noeviction".into()),
            ("maxmemory-samples".into(), "5".into()),
        ]
    );
    // Exact names are echoed as given; a parameter is listed once.
    assert_eq!(
        pairs(h.call(c, &["CONFIG", "GET", "MAXMEMORY", "hz", "maxmemory*"])),
        [
            ("MAXMEMORY".to_string(), "0".to_string()),
            ("hz".into(), "10".into()),
            ("maxmemory-policy".into(), "noeviction".into()),
            ("maxmemory-samples".into(), "5".into()),
        ]
    );
    assert_eq!(
        pairs(h.call(c, &["CONFIG", "GET", "HZ*"])),
        [("hz".to_string(), "10".to_string())],
        "globs match case-insensitively"
    );
    assert_eq!(
        h.call(c, &["CONFIG", "GET", "nosuch"]),
        Frame::Array(vec![])
    );
    assert_eq!(
        h.call(c, &["CONFIG", "GET"]),
        err("ERR wrong number of arguments for 'config|get' command")
    );
    let all = pairs(h.call(c, &["CONFIG", "GET", "*"]));
    assert_eq!(all.len(), crate::config::PARAMS.len());
    h.call(c, &["HELLO", "3"]);
    assert_eq!(
        h.call(c, &["CONFIG", "GET", "hz"]),
        Frame::Map(vec![(bulk("hz"), bulk("10"))])
    );
}

#[test]
fn config_set_applies_several_and_is_all_or_nothing() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "hz", "50", "timeout", "7"]),
        ok()
    );
    assert_eq!(
        pairs(h.call(c, &["CONFIG", "GET", "hz", "timeout"])),
        [
            ("hz".to_string(), "50".to_string()),
            ("timeout".into(), "7".into())
        ]
    );
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "hz", "5", "maxmemory-policy", "xx"]),
        err("ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) \
             must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, \
             allkeys-lru, allkeys-lfu, allkeys-random, noeviction")
    );
    assert_eq!(
        pairs(h.call(c, &["CONFIG", "GET", "hz"])),
        [("hz".to_string(), "50".to_string())],
        "the good half was rolled back"
    );
    assert_eq!(
        h.call(
            c,
            &[
                "CONFIG",
                "SET",
                "maxmemory-policy",
                "ALLKEYS-LRU",
                "maxmemory-samples",
                "7"
            ]
        ),
        ok()
    );
    assert_eq!(
        pairs(h.call(
            c,
            &["CONFIG", "GET", "maxmemory-policy", "maxmemory-samples"]
        )),
        [
            ("maxmemory-policy".to_string(), "allkeys-lru".to_string()),
            ("maxmemory-samples".into(), "7".into())
        ]
    );
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "maxmemory", "1GB"]),
        err(
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - maxmemory is not \
             enforced yet (eviction is not built); only 0 is accepted"
        )
    );
}

#[test]
fn config_set_errors_match_redis() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let failed = |name: &str, reason: &str| {
        err(&format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"
        ))
    };
    let cases: Vec<(Vec<&str>, Frame)> = vec![
        (
            vec!["foo", "bar"],
            err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
        ),
        (vec!["hz", "10", "foo"], err("ERR syntax error")),
        (
            vec!["hz", "abc"],
            failed("hz", "argument couldn't be parsed into an integer"),
        ),
        (
            vec!["hz", "10", "HZ", "11"],
            failed("HZ", "duplicate parameter"),
        ),
        (
            vec!["hz", "abc", "daemonize", "yes"],
            failed("daemonize", "can't set immutable config"),
        ),
        (
            vec!["databases", "3"],
            failed("databases", "can't set immutable config"),
        ),
        (
            vec!["dir", "/tmp"],
            failed("dir", "can't set protected config"),
        ),
        (
            vec!["timeout", "-1"],
            failed(
                "timeout",
                "argument must be between 0 and 2147483647 inclusive",
            ),
        ),
        (
            vec!["maxmemory", "10q"],
            failed("maxmemory", "argument must be a memory value"),
        ),
        (
            vec!["maxclients", "0"],
            failed(
                "maxclients",
                "argument must be between 1 and 4294967295 inclusive",
            ),
        ),
        (
            vec!["appendonly", "maybe"],
            failed("appendonly", "argument must be 'yes' or 'no'"),
        ),
        (
            vec!["enable-debug-command", "yes"],
            failed("enable-debug-command", "can't set immutable config"),
        ),
    ];
    for (pairs, expected) in cases {
        let mut args = vec!["CONFIG", "SET"];
        args.extend(&pairs);
        assert_eq!(h.call(c, &args), expected, "{pairs:?}");
    }
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "hz"]),
        err("ERR wrong number of arguments for 'config|set' command")
    );
    assert_eq!(h.call(c, &["CONFIG", "SET", "save", ""]), ok());
    assert_eq!(h.call(c, &["CONFIG", "SET", "appendonly", "no"]), ok());
}

#[test]
fn config_set_hz_clamps_like_redis() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    assert_eq!(h.call(c, &["CONFIG", "SET", "hz", "501"]), ok());
    assert_eq!(pairs(h.call(c, &["CONFIG", "GET", "hz"]))[0].1, "500");
    assert_eq!(h.call(c, &["CONFIG", "SET", "hz", "0"]), ok());
    assert_eq!(pairs(h.call(c, &["CONFIG", "GET", "hz"]))[0].1, "1");
}

#[test]
fn config_resetstat_zeroes_the_counters() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    fill(&mut h, 0, 5, Some(10));
    h.advance(2000);
    h.call(c, &["NOPE"]);
    assert_ne!(info_field(&mut h, c, "stats", "expired_keys"), "0");
    assert_eq!(h.call(c, &["CONFIG", "RESETSTAT"]), ok());
    // CONFIG RESETSTAT itself is counted once it has run.
    assert_eq!(
        info_field(&mut h, c, "stats", "total_commands_processed"),
        "1"
    );
    for field in [
        "expired_keys",
        "total_error_replies",
        "total_connections_received",
        "keyspace_misses",
    ] {
        assert_eq!(info_field(&mut h, c, "stats", field), "0", "{field}");
    }
}

#[test]
fn config_rewrite_needs_a_config_file() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    assert_eq!(
        h.call(c, &["CONFIG", "REWRITE"]),
        err("ERR The server is running without a config file")
    );
    let config = Config {
        config_file: Some("/etc/keel.conf".into()),
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let c = h.connect();
    assert_eq!(
        h.call(c, &["CONFIG", "REWRITE"]),
        err("ERR Rewriting config file: Operation not supported")
    );
}

#[test]
fn config_help_and_unknown_subcommand() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let Frame::Array(help) = h.call(c, &["CONFIG", "HELP"]) else {
        panic!("help is an array")
    };
    let lines: Vec<String> = help.iter().map(|f| f.text().unwrap()).collect();
    assert_eq!(
        lines,
        [
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help.",
        ]
    );
    assert_eq!(
        h.call(c, &["CONFIG", "nosuch"]),
        err("ERR unknown subcommand 'nosuch'. Try CONFIG HELP.")
    );
    assert_eq!(
        h.call(c, &["CONFIG"]),
        err("ERR wrong number of arguments for 'config' command")
    );
}
