//! List commands through the whole node (parsing, dispatch, replies), with
//! Redis 7.0.15's replies and error texts (checked against the real server).

use crate::client::ClientId;
use crate::cmd::keys::tests::{bulk, err, harness, int, ok, set, state};
use crate::resp::frame::Frame;
use crate::testing::{request, Harness};
use proptest::prelude::*;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from \
the second ... or use negative to start from the end of the list";

fn array(items: &[&str]) -> Frame {
    Frame::Array(items.iter().map(|s| bulk(s)).collect())
}

fn ints(items: &[i64]) -> Frame {
    Frame::Array(items.iter().map(|&n| int(n)).collect())
}

fn all(h: &mut Harness, c: ClientId, key: &str) -> Frame {
    h.call(c, &["LRANGE", key, "0", "-1"])
}

/// The reply's exact bytes (to tell `$-1` from `*-1`).
fn raw(h: &mut Harness, c: ClientId, args: &[&str]) -> String {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    h.send_raw(c, &request(&args));
    let bytes = h.pending_bytes(c);
    h.read(c).expect("a reply");
    String::from_utf8_lossy(&bytes).into_owned()
}

fn list_of(h: &mut Harness, c: ClientId, key: &str, items: &[&str]) {
    let mut args = vec!["RPUSH", key];
    args.extend_from_slice(items);
    assert_eq!(h.call(c, &args), int(items.len() as i64));
}

#[test]
fn pushes_return_the_length_and_keep_the_order() {
    let (mut h, c) = harness();
    assert_eq!(h.call(c, &["LPUSH", "l", "a", "b"]), int(2));
    assert_eq!(h.call(c, &["RPUSH", "l", "c", "d"]), int(4));
    assert_eq!(all(&mut h, c, "l"), array(&["b", "a", "c", "d"]));
    assert_eq!(h.call(c, &["LPUSHX", "l", "x", "y"]), int(6));
    assert_eq!(h.call(c, &["RPUSHX", "l", "z"]), int(7));
    assert_eq!(
        all(&mut h, c, "l"),
        array(&["y", "x", "b", "a", "c", "d", "z"])
    );
    assert_eq!(h.call(c, &["LPUSHX", "none", "a"]), int(0));
    assert_eq!(h.call(c, &["RPUSHX", "none", "a", "b"]), int(0));
    assert_eq!(h.call(c, &["EXISTS", "none"]), int(0));
    assert_eq!(
        h.call(c, &["LPUSH", "l"]),
        err("ERR wrong number of arguments for 'lpush' command")
    );
}

#[test]
fn elements_read_back_byte_for_byte() {
    let (mut h, c) = harness();
    let items = [
        "0",
        "-0",
        "007",
        "+1",
        "127",
        "128",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "",
        " 5",
        "1e3",
        "x",
    ];
    list_of(&mut h, c, "l", &items);
    assert_eq!(all(&mut h, c, "l"), array(&items));
    for (i, item) in items.iter().enumerate() {
        assert_eq!(h.call(c, &["LINDEX", "l", &i.to_string()]), bulk(item));
    }
}

#[test]
fn every_list_is_a_quicklist_as_in_redis_7_0() {
    let (mut h, c) = harness();
    list_of(&mut h, c, "small", &["a"]);
    assert_eq!(
        h.call(c, &["OBJECT", "ENCODING", "small"]),
        bulk("quicklist")
    );
    let big: Vec<String> = (0..5000).map(|i| format!("element-{i}")).collect();
    let refs: Vec<&str> = big.iter().map(String::as_str).collect();
    list_of(&mut h, c, "big", &refs);
    assert_eq!(h.call(c, &["OBJECT", "ENCODING", "big"]), bulk("quicklist"));
    assert_eq!(h.call(c, &["LTRIM", "big", "0", "0"]), ok());
    assert_eq!(h.call(c, &["OBJECT", "ENCODING", "big"]), bulk("quicklist"));
    assert_eq!(h.call(c, &["TYPE", "big"]), Frame::Simple("list".into()));
}

#[test]
fn pops_with_and_without_count() {
    let (mut h, c) = harness();
    list_of(&mut h, c, "l", &["a", "b", "c", "d", "e"]);
    assert_eq!(h.call(c, &["LPOP", "l"]), bulk("a"));
    assert_eq!(h.call(c, &["RPOP", "l"]), bulk("e"));
    assert_eq!(h.call(c, &["LPOP", "l", "0"]), array(&[]));
    assert_eq!(h.call(c, &["RPOP", "l", "2"]), array(&["d", "c"]));
    assert_eq!(
        h.call(c, &["LPOP", "l", "9223372036854775807"]),
        array(&["b"])
    );
    assert_eq!(h.call(c, &["EXISTS", "l"]), int(0));
    for bad in ["-1", "abc", "9223372036854775808"] {
        assert_eq!(
            h.call(c, &["LPOP", "l", bad]),
            err("ERR value is out of range, must be positive")
        );
    }
    assert_eq!(
        h.call(c, &["RPOP", "l", "1", "2"]),
        err("ERR wrong number of arguments for 'rpop' command")
    );
}

#[test]
fn missing_keys_reply_redis_null_shapes_in_resp2_and_resp3() {
    let (mut h, c) = harness();
    let resp2 = [
        (&["LPOP", "none"][..], "$-1\r\n"),
        (&["RPOP", "none", "0"][..], "*-1\r\n"),
        (&["LPOP", "none", "3"][..], "*-1\r\n"),
        (&["LINDEX", "none", "0"][..], "$-1\r\n"),
        (&["LINDEX", "none", "abc"][..], "$-1\r\n"),
        (&["LPOS", "none", "a"][..], "$-1\r\n"),
        (&["LPOS", "none", "a", "COUNT", "0"][..], "*0\r\n"),
        (&["LRANGE", "none", "0", "-1"][..], "*0\r\n"),
        (&["LMOVE", "none", "d", "LEFT", "RIGHT"][..], "$-1\r\n"),
        (&["RPOPLPUSH", "none", "d"][..], "$-1\r\n"),
        (&["LMPOP", "2", "none", "other", "LEFT"][..], "*-1\r\n"),
        (&["LLEN", "none"][..], ":0\r\n"),
    ];
    for (args, want) in resp2 {
        assert_eq!(raw(&mut h, c, args), want, "{args:?}");
    }
    h.call(c, &["HELLO", "3"]);
    for (args, want) in resp2 {
        let want = if want.ends_with("-1\r\n") {
            "_\r\n"
        } else {
            want
        };
        assert_eq!(raw(&mut h, c, args), want, "RESP3 {args:?}");
    }
}

#[test]
fn wrong_type_for_every_command() {
    let (mut h, c) = harness();
    set(&mut h, c, "s", "x");
    list_of(&mut h, c, "l", &["a"]);
    let cases: &[&[&str]] = &[
        &["LPUSH", "s", "a"],
        &["RPUSH", "s", "a"],
        &["LPUSHX", "s", "a"],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s", "2"],
        &["LRANGE", "s", "0", "-1"],
        &["LLEN", "s"],
        &["LINDEX", "s", "0"],
        &["LINDEX", "s", "abc"],
        &["LSET", "s", "0", "x"],
        &["LSET", "s", "abc", "x"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LREM", "s", "0", "a"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "a"],
        &["LMOVE", "s", "l", "LEFT", "LEFT"],
        &["LMOVE", "l", "s", "LEFT", "LEFT"],
        &["RPOPLPUSH", "s", "l"],
        &["RPOPLPUSH", "l", "s"],
        &["LMPOP", "1", "s", "LEFT"],
        &["LMPOP", "2", "none", "s", "RIGHT", "COUNT", "2"],
    ];
    for args in cases {
        assert_eq!(h.call(c, args), err(WRONGTYPE), "{args:?}");
    }
    // Nothing moved: the checks come before any change.
    assert_eq!(all(&mut h, c, "l"), array(&["a"]));
    assert_eq!(h.call(c, &["GET", "s"]), bulk("x"));
    // A list met before the wrong type is popped from: the later key is not looked at.
    assert_eq!(
        h.call(c, &["LMPOP", "2", "l", "s", "LEFT"]),
        Frame::Array(vec![bulk("l"), array(&["a"])])
    );
}

#[test]
fn lrange_follows_redis_index_rules() {
    let (mut h, c) = harness();
    list_of(&mut h, c, "l", &["a", "b", "c", "d"]);
    let cases: &[(&str, &str, &[&str])] = &[
        ("0", "-1", &["a", "b", "c", "d"]),
        ("1", "2", &["b", "c"]),
        ("-2", "-1", &["c", "d"]),
        ("-100", "1", &["a", "b"]),
        ("2", "100", &["c", "d"]),
        ("3", "1", &[]),
        ("4", "10", &[]),
        (
            "-9223372036854775808",
            "9223372036854775807",
            &["a", "b", "c", "d"],
        ),
        ("0", "-9223372036854775808", &[]),
    ];
    for (start, stop, want) in cases {
        assert_eq!(
            h.call(c, &["LRANGE", "l", start, stop]),
            array(want),
            "{start} {stop}"
        );
    }
    assert_eq!(h.call(c, &["LRANGE", "l", "a", "1"]), err(NOT_INTEGER));
    assert_eq!(h.call(c, &["LRANGE", "none", "0", "x"]), err(NOT_INTEGER));
}

#[test]
fn lindex_and_lset() {
    let (mut h, c) = harness();
    list_of(&mut h, c, "l", &["a", "b", "c"]);
    assert_eq!(h.call(c, &["LINDEX", "l", "-1"]), bulk("c"));
    assert_eq!(h.call(c, &["LINDEX", "l", "-3"]), bulk("a"));
    assert_eq!(h.call(c, &["LINDEX", "l", "-4"]), Frame::Null);
    assert_eq!(h.call(c, &["LINDEX", "l", "3"]), Frame::Null);
    assert_eq!(
        h.call(c, &["LINDEX", "l", "-9223372036854775808"]),
        Frame::Null
    );
    assert_eq!(h.call(c, &["LINDEX", "l", "x"]), err(NOT_INTEGER));
    assert_eq!(h.call(c, &["LSET", "l", "1", "B"]), ok());
    assert_eq!(h.call(c, &["LSET", "l", "-1", "C"]), ok());
    assert_eq!(all(&mut h, c, "l"), array(&["a", "B", "C"]));
    assert_eq!(
        h.call(c, &["LSET", "l", "3", "x"]),
        err("ERR index out of range")
    );
    assert_eq!(
        h.call(c, &["LSET", "l", "-4", "x"]),
        err("ERR index out of range")
    );
    assert_eq!(h.call(c, &["LSET", "l", "x", "x"]), err(NOT_INTEGER));
    assert_eq!(
        h.call(c, &["LSET", "none", "0", "x"]),
        err("ERR no such key")
    );
    assert_eq!(
        h.call(c, &["LSET", "none", "x", "x"]),
        err("ERR no such key")
    );
}

#[test]
fn linsert_before_after_and_missing_pivot() {
    let (mut h, c) = harness();
    list_of(&mut h, c, "l", &["a", "b", "a"]);
    assert_eq!(h.call(c, &["LINSERT", "l", "before", "a", "x"]), int(4));
    assert_eq!(h.call(c, &["LINSERT", "l", "AFTER", "b", "y"]), int(5));
    assert_eq!(all(&mut h, c, "l"), array(&["x", "a", "b", "y", "a"]));
    assert_eq!(h.call(c, &["LINSERT", "l", "AFTER", "zz", "y"]), int(-1));
    assert_eq!(h.call(c, &["LINSERT", "none", "AFTER", "a", "y"]), int(0));
    assert_eq!(
        h.call(c, &["LINSERT", "l", "middle", "a", "y"]),
        err("ERR syntax error")
    );
    assert_eq!(
        h.call(c, &["LINSERT", "none", "middle", "a", "y"]),
        err("ERR syntax error")
    );
}

#[test]
fn lrem_by_count_direction() {
    let (mut h, c) = harness();
    list_of(&mut h, c, "l", &["a", "b", "a", "c", "a", "b", "a"]);
    assert_eq!(h.call(c, &["LREM", "l", "2", "a"]), int(2));
    assert_eq!(all(&mut h, c, "l"), array(&["b", "c", "a", "b", "a"]));
    assert_eq!(h.call(c, &["LREM", "l", "-1", "b"]), int(1));
    assert_eq!(all(&mut h, c, "l"), array(&["b", "c", "a", "a"]));
    assert_eq!(h.call(c, &["LREM", "l", "0", "a"]), int(2));
    assert_eq!(h.call(c, &["LREM", "l", "0", "zz"]), int(0));
    assert_eq!(h.call(c, &["LREM", "none", "0", "a"]), int(0));
    assert_eq!(h.call(c, &["LREM", "l", "x", "a"]), err(NOT_INTEGER));
    assert_eq!(
        h.call(c, &["LREM", "l", "-9223372036854775808", "b"]),
        int(1)
    );
    assert_eq!(h.call(c, &["LREM", "l", "1", "c"]), int(1));
    assert_eq!(h.call(c, &["EXISTS", "l"]), int(0));
}

#[test]
fn ltrim_keeps_a_range_and_deletes_an_emptied_list() {
    let (mut h, c) = harness();
    list_of(&mut h, c, "l", &["a", "b", "c", "d", "e"]);
    assert_eq!(h.call(c, &["LTRIM", "l", "1", "-2"]), ok());
    assert_eq!(all(&mut h, c, "l"), array(&["b", "c", "d"]));
    assert_eq!(h.call(c, &["LTRIM", "l", "-100", "100"]), ok());
    assert_eq!(all(&mut h, c, "l"), array(&["b", "c", "d"]));
    assert_eq!(h.call(c, &["LTRIM", "l", "2", "1"]), ok());
    assert_eq!(h.call(c, &["EXISTS", "l"]), int(0));
    assert_eq!(h.call(c, &["LTRIM", "none", "0", "1"]), ok());
    assert_eq!(h.call(c, &["LTRIM", "none", "0", "x"]), err(NOT_INTEGER));
}

#[test]
fn lpos_options_as_redis() {
    let (mut h, c) = harness();
    list_of(&mut h, c, "l", &["a", "b", "c", "a", "b", "a"]);
    let cases: &[(&[&str], Frame)] = &[
        (&["a"], int(0)),
        (&["z"], Frame::Null),
        (&["a", "RANK", "-1"], int(5)),
        (&["a", "RANK", "2"], int(3)),
        (&["a", "RANK", "1", "RANK", "2"], int(3)),
        (&["a", "RANK", "4"], Frame::Null),
        (&["a", "COUNT", "0"], ints(&[0, 3, 5])),
        (&["a", "COUNT", "2"], ints(&[0, 3])),
        (&["z", "COUNT", "2"], ints(&[])),
        (&["a", "RANK", "-2", "COUNT", "0"], ints(&[3, 0])),
        (&["a", "RANK", "2", "COUNT", "5", "MAXLEN", "4"], ints(&[3])),
        (
            &["a", "RANK", "-1", "COUNT", "2", "MAXLEN", "3"],
            ints(&[5, 3]),
        ),
        (&["a", "RANK", "2", "MAXLEN", "3"], Frame::Null),
        (&["a", "MAXLEN", "0", "COUNT", "0"], ints(&[0, 3, 5])),
        (&["a", "RANK", "3", "COUNT", "0"], ints(&[5])),
        (&["a", "RANK", "9223372036854775807"], Frame::Null),
        (
            &["a", "RANK", "-9223372036854775807", "COUNT", "0"],
            ints(&[]),
        ),
        // Redis 7.0's overflow of -RANK: every match from the tail, COUNT ignored.
        (&["a", "RANK", "-9223372036854775808"], int(5)),
        (
            &["a", "RANK", "-9223372036854775808", "COUNT", "1"],
            ints(&[5, 3, 0]),
        ),
        (
            &["a", "RANK", "-9223372036854775808", "MAXLEN", "1"],
            int(5),
        ),
        (&["a", "rank", "0"], err(RANK_ZERO)),
        (&["a", "RANK", "0", "COUNT", "-1"], err(RANK_ZERO)),
        (
            &["a", "COUNT", "-1", "RANK", "0"],
            err("ERR COUNT can't be negative"),
        ),
        (&["a", "COUNT", "abc"], err("ERR COUNT can't be negative")),
        (&["a", "MAXLEN", "-1"], err("ERR MAXLEN can't be negative")),
        (
            &["a", "MAXLEN", "99999999999999999999"],
            err("ERR MAXLEN can't be negative"),
        ),
        (&["a", "RANK", "x"], err(NOT_INTEGER)),
        (&["a", "RANK", "9223372036854775808"], err(NOT_INTEGER)),
        (&["a", "RANK"], err("ERR syntax error")),
        (&["a", "FOO", "1"], err("ERR syntax error")),
    ];
    for (options, want) in cases {
        let mut args = vec!["LPOS", "l"];
        args.extend_from_slice(options);
        assert_eq!(&h.call(c, &args), want, "{options:?}");
    }
    assert_eq!(
        h.call(c, &["LPOS", "none", "a", "RANK", "0"]),
        err(RANK_ZERO)
    );
}

#[test]
fn lmove_and_rpoplpush() {
    let (mut h, c) = harness();
    list_of(&mut h, c, "src", &["a", "b", "c"]);
    assert_eq!(
        h.call(c, &["LMOVE", "src", "dst", "LEFT", "RIGHT"]),
        bulk("a")
    );
    assert_eq!(
        h.call(c, &["LMOVE", "src", "dst", "right", "left"]),
        bulk("c")
    );
    assert_eq!(all(&mut h, c, "dst"), array(&["c", "a"]));
    assert_eq!(h.call(c, &["RPOPLPUSH", "src", "dst"]), bulk("b"));
    assert_eq!(h.call(c, &["EXISTS", "src"]), int(0));
    assert_eq!(all(&mut h, c, "dst"), array(&["b", "c", "a"]));
    assert_eq!(h.call(c, &["RPOPLPUSH", "dst", "dst"]), bulk("a"));
    assert_eq!(all(&mut h, c, "dst"), array(&["a", "b", "c"]));
    assert_eq!(
        h.call(c, &["LMOVE", "dst", "dst", "LEFT", "LEFT"]),
        bulk("a")
    );
    assert_eq!(
        h.call(c, &["LMOVE", "dst", "x", "UP", "LEFT"]),
        err("ERR syntax error")
    );
    assert_eq!(
        h.call(c, &["LMOVE", "none", "x", "LEFT", "DOWN"]),
        err("ERR syntax error")
    );
}

#[test]
fn rotating_a_single_element_list_keeps_its_ttl() {
    let (mut h, c) = harness();
    list_of(&mut h, c, "l", &["only"]);
    assert_eq!(h.call(c, &["EXPIRE", "l", "100"]), int(1));
    assert_eq!(h.call(c, &["RPOPLPUSH", "l", "l"]), bulk("only"));
    assert_eq!(
        h.call(c, &["LMOVE", "l", "l", "LEFT", "RIGHT"]),
        bulk("only")
    );
    assert_eq!(h.call(c, &["TTL", "l"]), int(100));
}

#[test]
fn lmpop_parses_as_redis_7_0() {
    let (mut h, c) = harness();
    list_of(&mut h, c, "l", &["a", "b", "c"]);
    let numkeys = "ERR numkeys should be greater than 0";
    let count = "ERR count should be greater than 0";
    let cases: &[(&[&str], &str)] = &[
        (&["0", "l", "LEFT"], numkeys),
        (&["-1", "l", "LEFT"], numkeys),
        (&["abc", "l", "LEFT"], numkeys),
        (&["3.0", "l", "LEFT"], numkeys),
        (&["5", "l", "LEFT"], "ERR syntax error"),
        (&["9223372036854775807", "l", "LEFT"], "ERR syntax error"),
        (&["2", "l", "x"], "ERR syntax error"),
        (&["1", "l", "middle"], "ERR syntax error"),
        (&["1", "l", "LEFT", "COUNT", "0"], count),
        (&["1", "l", "LEFT", "COUNT", "-1"], count),
        (&["1", "l", "LEFT", "COUNT", "abc"], count),
        (
            &["1", "l", "LEFT", "COUNT", "1", "COUNT", "2"],
            "ERR syntax error",
        ),
        (&["1", "l", "LEFT", "COUNT"], "ERR syntax error"),
        (&["1", "l", "LEFT", "FOO"], "ERR syntax error"),
    ];
    for (rest, want) in cases {
        let mut args = vec!["LMPOP"];
        args.extend_from_slice(rest);
        assert_eq!(&h.call(c, &args), &err(want), "{rest:?}");
    }
    assert_eq!(
        h.call(c, &["LMPOP", "1", "l"]),
        err("ERR wrong number of arguments for 'lmpop' command")
    );
    assert_eq!(
        h.call(c, &["LMPOP", "2", "none", "l", "right", "count", "2"]),
        Frame::Array(vec![bulk("l"), array(&["c", "b"])])
    );
    assert_eq!(
        h.call(
            c,
            &["LMPOP", "1", "l", "LEFT", "COUNT", "9223372036854775807"]
        ),
        Frame::Array(vec![bulk("l"), array(&["a"])])
    );
    assert_eq!(h.call(c, &["EXISTS", "l"]), int(0));
}

#[test]
fn lmpop_keys_for_command_getkeys() {
    let (mut h, c) = harness();
    assert_eq!(
        h.call(c, &["COMMAND", "GETKEYS", "LMPOP", "2", "a", "b", "LEFT"]),
        array(&["a", "b"])
    );
    assert_eq!(
        h.call(
            c,
            &["COMMAND", "GETKEYS", "LMOVE", "a", "b", "LEFT", "LEFT"]
        ),
        array(&["a", "b"])
    );
}

#[test]
fn writes_count_as_dirty_and_reads_as_keyspace_hits() {
    let (mut h, c) = harness();
    let [_, dirty0, _, _] = state(&mut h, c);
    list_of(&mut h, c, "l", &["a", "b", "c"]);
    assert_eq!(h.call(c, &["RPOP", "l", "2"]), array(&["c", "b"]));
    let [keys, dirty, _, _] = state(&mut h, c);
    assert_eq!((keys, dirty - dirty0), (1, 5));
    let hits = |h: &mut Harness| {
        let info = h.call(c, &["INFO", "stats"]).text().unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("keyspace_hits:"))
            .unwrap()
            .trim()
            .parse::<i64>()
            .unwrap()
    };
    // A move counts one change, as in Redis (not one for the pop and one for the push).
    let [_, dirty_before_move, _, _] = state(&mut h, c);
    assert_eq!(
        h.call(c, &["LMOVE", "l", "other", "LEFT", "LEFT"]),
        bulk("a")
    );
    assert_eq!(
        h.call(c, &["LMOVE", "other", "l", "LEFT", "LEFT"]),
        bulk("a")
    );
    let [_, dirty_after_move, _, _] = state(&mut h, c);
    assert_eq!(dirty_after_move - dirty_before_move, 2);
    let before = hits(&mut h);
    h.call(c, &["LINDEX", "l", "0"]);
    h.call(c, &["LLEN", "l"]);
    h.call(c, &["LPOP", "l", "0"]);
    assert_eq!(hits(&mut h) - before, 2);
}

#[test]
fn node_size_follows_config_set_for_later_writes() {
    let (mut h, c) = harness();
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "list-max-listpack-size", "2"]),
        ok()
    );
    let items: Vec<String> = (0..50).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    list_of(&mut h, c, "l", &refs);
    assert_eq!(h.call(c, &["LINSERT", "l", "AFTER", "10", "x"]), int(51));
    assert_eq!(h.call(c, &["LSET", "l", "20", &"y".repeat(10_000)]), ok());
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "list-max-ziplist-size", "-1"]),
        ok()
    );
    assert_eq!(h.call(c, &["LREM", "l", "0", "x"]), int(1));
    assert_eq!(h.call(c, &["LINDEX", "l", "11"]), bulk("11"));
    // LSET 20 replaced "19" (the inserted x shifted it), now back at 19.
    let long = bulk(&"y".repeat(10_000));
    assert!(
        h.call(c, &["LINDEX", "l", "19"]) == long,
        "the long element moved"
    );
    assert_eq!(h.call(c, &["LINDEX", "l", "20"]), bulk("20"));
    assert_eq!(h.call(c, &["LLEN", "l"]), int(50));
    assert_eq!(h.call(c, &["OBJECT", "ENCODING", "l"]), bulk("quicklist"));
}

// ---- model test: the commands against a Vec, across node sizes ----

#[derive(Debug, Clone)]
enum Op {
    Push(bool, Vec<&'static str>),
    Pop(bool, Option<u8>),
    Range(i8, i8),
    Index(i8),
    Set(i8, &'static str),
    Insert(bool, &'static str, &'static str),
    Rem(i8, &'static str),
    Trim(i8, i8),
    Pos(&'static str, i8, u8, u8),
    Move(bool, bool),
}

const ELEMS: &[&str] = &[
    "a",
    "b",
    "1",
    "-20",
    "300",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

fn elem() -> impl Strategy<Value = &'static str> {
    prop::sample::select(ELEMS)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), prop::collection::vec(elem(), 1..6)).prop_map(|(l, v)| Op::Push(l, v)),
        2 => (any::<bool>(), prop::option::of(0u8..4)).prop_map(|(l, n)| Op::Pop(l, n)),
        1 => (-12i8..12, -12i8..12).prop_map(|(a, b)| Op::Range(a, b)),
        1 => (-12i8..12).prop_map(Op::Index),
        1 => (-12i8..12, elem()).prop_map(|(i, e)| Op::Set(i, e)),
        1 => (any::<bool>(), elem(), elem()).prop_map(|(a, p, e)| Op::Insert(a, p, e)),
        1 => (-3i8..3, elem()).prop_map(|(n, e)| Op::Rem(n, e)),
        1 => (-12i8..12, -12i8..12).prop_map(|(a, b)| Op::Trim(a, b)),
        1 => (elem(), -3i8..3, 0u8..3, 0u8..6).prop_map(|(e, r, c, m)| Op::Pos(e, r, c, m)),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(f, t)| Op::Move(f, t)),
    ]
}

fn idx(i: i8, len: usize) -> Option<usize> {
    let i = if i < 0 {
        i as i64 + len as i64
    } else {
        i as i64
    };
    (0..len as i64).contains(&i).then_some(i as usize)
}

fn range(a: i8, b: i8, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let a = (if a < 0 { a as i64 + len } else { a as i64 }).max(0);
    let b = if b < 0 { b as i64 + len } else { b as i64 };
    (a <= b && a < len).then(|| (a as usize, b.min(len - 1) as usize))
}

fn frames(items: &[&str]) -> Frame {
    array(items)
}

/// The reply the model gives, applying `op` to `m` (the list "l"; "o" is
/// the other list of LMOVE).
fn model(op: &Op, m: &mut Vec<&'static str>, o: &mut Vec<&'static str>) -> (Vec<String>, Frame) {
    let s = |x: &dyn ToString| x.to_string();
    let end = |left: bool| if left { "LEFT" } else { "RIGHT" };
    match op {
        Op::Push(left, items) => {
            for &e in items {
                if *left {
                    m.insert(0, e)
                } else {
                    m.push(e)
                }
            }
            let mut args = vec![s(&if *left { "LPUSH" } else { "RPUSH" }), s(&"l")];
            args.extend(items.iter().map(|e| s(e)));
            (args, int(m.len() as i64))
        }
        Op::Pop(left, count) => {
            let name = s(&if *left { "LPOP" } else { "RPOP" });
            let was_empty = m.is_empty();
            let n = count.map_or(1, |n| n as usize).min(m.len());
            let taken: Vec<&str> = if *left {
                m.drain(..n).collect()
            } else {
                m.drain(m.len() - n..).rev().collect()
            };
            match count {
                None => (
                    vec![name, s(&"l")],
                    taken.first().map_or(Frame::Null, |e| bulk(e)),
                ),
                Some(c) => {
                    let reply = if was_empty {
                        Frame::Null
                    } else {
                        frames(&taken)
                    };
                    (vec![name, s(&"l"), s(c)], reply)
                }
            }
        }
        Op::Range(a, b) => {
            let items: Vec<&str> =
                range(*a, *b, m.len()).map_or(vec![], |(x, y)| m[x..=y].to_vec());
            (vec![s(&"LRANGE"), s(&"l"), s(a), s(b)], frames(&items))
        }
        Op::Index(i) => (
            vec![s(&"LINDEX"), s(&"l"), s(i)],
            idx(*i, m.len()).map_or(Frame::Null, |i| bulk(m[i])),
        ),
        Op::Set(i, e) => {
            let reply = match (m.is_empty(), idx(*i, m.len())) {
                (true, _) => err("ERR no such key"),
                (false, None) => err("ERR index out of range"),
                (false, Some(i)) => {
                    m[i] = e;
                    ok()
                }
            };
            (vec![s(&"LSET"), s(&"l"), s(i), s(e)], reply)
        }
        Op::Insert(after, pivot, e) => {
            let args = vec![
                s(&"LINSERT"),
                s(&"l"),
                s(&if *after { "AFTER" } else { "BEFORE" }),
                s(pivot),
                s(e),
            ];
            let reply = match m.iter().position(|x| x == pivot) {
                _ if m.is_empty() => int(0),
                None => int(-1),
                Some(p) => {
                    m.insert(p + usize::from(*after), e);
                    int(m.len() as i64)
                }
            };
            (args, reply)
        }
        Op::Rem(count, e) => {
            let mut hits: Vec<usize> = (0..m.len()).filter(|&i| m[i] == *e).collect();
            if *count < 0 {
                hits.reverse();
            }
            if *count != 0 {
                hits.truncate(count.unsigned_abs() as usize);
            }
            hits.sort_unstable();
            for &i in hits.iter().rev() {
                m.remove(i);
            }
            (
                vec![s(&"LREM"), s(&"l"), s(count), s(e)],
                int(hits.len() as i64),
            )
        }
        Op::Trim(a, b) => {
            match range(*a, *b, m.len()) {
                Some((x, y)) => {
                    m.truncate(y + 1);
                    m.drain(..x);
                }
                None => m.clear(),
            }
            (vec![s(&"LTRIM"), s(&"l"), s(a), s(b)], ok())
        }
        Op::Pos(e, rank, count, maxlen) => {
            let rank = if *rank == 0 { 1 } else { *rank as i64 };
            let scan: Vec<(usize, &&str)> = if rank > 0 {
                m.iter()
                    .enumerate()
                    .take(if *maxlen == 0 {
                        usize::MAX
                    } else {
                        *maxlen as usize
                    })
                    .collect()
            } else {
                m.iter()
                    .enumerate()
                    .rev()
                    .take(if *maxlen == 0 {
                        usize::MAX
                    } else {
                        *maxlen as usize
                    })
                    .collect()
            };
            let found: Vec<i64> = scan
                .into_iter()
                .filter(|(_, x)| **x == *e)
                .skip(rank.unsigned_abs() as usize - 1)
                .map(|(i, _)| i as i64)
                .take(if *count == 0 {
                    usize::MAX
                } else {
                    *count as usize
                })
                .collect();
            let args = vec![
                s(&"LPOS"),
                s(&"l"),
                s(e),
                s(&"RANK"),
                s(&rank),
                s(&"COUNT"),
                s(count),
                s(&"MAXLEN"),
                s(maxlen),
            ];
            (args, ints(&found))
        }
        Op::Move(from_left, to_left) => {
            let args = vec![
                s(&"LMOVE"),
                s(&"l"),
                s(&"o"),
                s(&end(*from_left)),
                s(&end(*to_left)),
            ];
            if m.is_empty() {
                return (args, Frame::Null);
            }
            let e = if *from_left {
                m.remove(0)
            } else {
                m.pop().unwrap()
            };
            if *to_left {
                o.insert(0, e)
            } else {
                o.push(e)
            }
            (args, bulk(e))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn commands_match_a_vec_model(
        fill in prop::sample::select(vec!["1", "2", "3", "-1", "-2"]),
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let (mut h, c) = harness();
        prop_assert_eq!(h.call(c, &["CONFIG", "SET", "list-max-listpack-size", fill]), ok());
        let mut m: Vec<&'static str> = Vec::new();
        let mut o: Vec<&'static str> = Vec::new();
        for op in &ops {
            let (args, want) = model(op, &mut m, &mut o);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            prop_assert_eq!(h.call(c, &args), want, "{:?}", args);
            prop_assert_eq!(all(&mut h, c, "l"), frames(&m));
            prop_assert_eq!(all(&mut h, c, "o"), frames(&o));
            prop_assert_eq!(h.call(c, &["EXISTS", "l"]), int(i64::from(!m.is_empty())));
            prop_assert_eq!(h.call(c, &["LLEN", "l"]), int(m.len() as i64));
        }
    }
}

#[test]
fn a_long_list_is_unlinked_in_the_background_and_a_short_one_at_once() {
    let (mut h, c) = harness();
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "list-max-listpack-size", "4"]),
        ok()
    );
    let items: Vec<String> = (0..400).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    list_of(&mut h, c, "long", &refs);
    list_of(&mut h, c, "short", &refs[..200]);
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "list-max-listpack-size", "-2"]),
        ok()
    );
    // 100 nodes: more than the lazy-free threshold of 64.
    assert_eq!(h.call(c, &["UNLINK", "long"]), int(1));
    let [keys, _, _, pending] = state(&mut h, c);
    assert_eq!((keys, pending), (1, 1));
    // 50 nodes: freed at once.
    assert_eq!(h.call(c, &["UNLINK", "short"]), int(1));
    let [keys, _, _, pending] = state(&mut h, c);
    assert_eq!((keys, pending), (0, 1));
}
