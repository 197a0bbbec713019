//! Set commands through the node: replies (RESP2 and RESP3), Redis's exact
//! errors, the dirty counter, encodings, and a model test of the whole
//! group against BTreeSets with small encoding thresholds.

use crate::client::ClientId;
use crate::cmd::keys::tests::{bulk, err, harness, int, ok};
use crate::resp::frame::Frame;
use crate::testing::Harness;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn call(h: &mut Harness, c: ClientId, line: &str) -> Frame {
    let args: Vec<&str> = line.split(' ').collect();
    h.call(c, &args)
}

/// The members of an array or set reply, sorted.
fn sorted(frame: Frame) -> Vec<String> {
    let (Frame::Array(items) | Frame::Set(items)) = frame else {
        panic!("an array or a set: {frame:?}")
    };
    let mut out: Vec<String> = items.iter().map(|f| f.text().expect("bulk")).collect();
    out.sort();
    out
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn dirty(h: &mut Harness, c: ClientId) -> i64 {
    let info = h.call(c, &["INFO", "persistence"]).text().expect("bulk");
    info.split("\r\n")
        .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
        .and_then(|v| v.parse().ok())
        .expect("a dirty counter")
}

fn encoding(h: &mut Harness, c: ClientId, key: &str) -> String {
    h.call(c, &["OBJECT", "ENCODING", key])
        .text()
        .unwrap_or_default()
}

fn resp3() -> (Harness, ClientId) {
    let (mut h, c) = harness();
    h.call(c, &["HELLO", "3"]);
    (h, c)
}

#[test]
fn sadd_srem_scard_sismember() {
    let (mut h, c) = harness();
    assert_eq!(call(&mut h, c, "SADD s a b a c"), int(3));
    assert_eq!(call(&mut h, c, "SADD s a d"), int(1));
    assert_eq!(call(&mut h, c, "SCARD s"), int(4));
    assert_eq!(call(&mut h, c, "SCARD nokey"), int(0));
    assert_eq!(call(&mut h, c, "SISMEMBER s a"), int(1));
    assert_eq!(call(&mut h, c, "SISMEMBER s z"), int(0));
    assert_eq!(call(&mut h, c, "SISMEMBER nokey a"), int(0));
    assert_eq!(call(&mut h, c, "SREM s a z a"), int(1));
    assert_eq!(call(&mut h, c, "SREM nokey a"), int(0));
    assert_eq!(
        sorted(call(&mut h, c, "SMEMBERS s")),
        strs(&["b", "c", "d"])
    );
    assert_eq!(call(&mut h, c, "SREM s b c d e"), int(3));
    assert_eq!(
        call(&mut h, c, "EXISTS s"),
        int(0),
        "an emptied set is deleted"
    );
    assert_eq!(
        call(&mut h, c, "SADD s"),
        err("ERR wrong number of arguments for 'sadd' command")
    );
}

#[test]
fn every_command_refuses_another_type() {
    let (mut h, c) = harness();
    assert_eq!(call(&mut h, c, "SET str x"), ok());
    call(&mut h, c, "SADD s 1");
    for line in [
        "SADD str a",
        "SREM str a",
        "SMEMBERS str",
        "SISMEMBER str a",
        "SMISMEMBER str a",
        "SCARD str",
        "SPOP str",
        "SPOP str 0",
        "SRANDMEMBER str",
        "SRANDMEMBER str 1",
        "SMOVE str s a",
        "SMOVE s str 1",
        "SMOVE s str 9",
        "SINTER nokey str",
        "SINTERCARD 2 nokey str",
        "SINTERSTORE d nokey str",
        "SUNION s str",
        "SUNIONSTORE d str",
        "SDIFF nokey str",
        "SDIFFSTORE d nokey str",
        "SSCAN str 0",
        "SSCAN str 0 COUNT 0",
    ] {
        assert_eq!(call(&mut h, c, line), err(WRONGTYPE), "{line}");
    }
    assert_eq!(call(&mut h, c, "GET str"), bulk("x"));
    assert_eq!(call(&mut h, c, "SMEMBERS s"), Frame::Array(vec![bulk("1")]));
    assert_eq!(call(&mut h, c, "EXISTS d"), int(0));
}

#[test]
fn resp3_shapes() {
    let (mut h, c) = resp3();
    call(&mut h, c, "SADD s 1 2");
    let set = |items: &[&str]| Frame::Set(items.iter().map(|s| bulk(s)).collect());
    assert_eq!(call(&mut h, c, "SMEMBERS s"), set(&["1", "2"]));
    assert_eq!(call(&mut h, c, "SMEMBERS nokey"), set(&[]));
    assert_eq!(call(&mut h, c, "SINTER s"), set(&["1", "2"]));
    assert_eq!(call(&mut h, c, "SUNION nokey"), set(&[]));
    assert_eq!(call(&mut h, c, "SDIFF s nokey"), set(&["1", "2"]));
    assert_eq!(call(&mut h, c, "SPOP nokey 2"), set(&[]));
    assert_eq!(call(&mut h, c, "SPOP s 0"), set(&[]));
    assert_eq!(call(&mut h, c, "SPOP nokey"), Frame::Null);
    assert_eq!(call(&mut h, c, "SRANDMEMBER nokey"), Frame::Null);
    assert_eq!(call(&mut h, c, "SRANDMEMBER nokey 2"), Frame::Array(vec![]));
    assert_eq!(call(&mut h, c, "SRANDMEMBER s 0"), Frame::Array(vec![]));
    assert!(matches!(call(&mut h, c, "SRANDMEMBER s 5"), Frame::Array(v) if v.len() == 2));
    assert_eq!(
        call(&mut h, c, "SMISMEMBER s 1 3"),
        Frame::Array(vec![int(1), int(0)])
    );
    assert_eq!(
        call(&mut h, c, "SSCAN s 0"),
        Frame::Array(vec![bulk("0"), Frame::Array(vec![bulk("1"), bulk("2")])])
    );
    assert_eq!(call(&mut h, c, "SPOP s 5"), set(&["1", "2"]));
}

#[test]
fn smismember_missing_key_is_all_zeros() {
    let (mut h, c) = harness();
    assert_eq!(
        call(&mut h, c, "SMISMEMBER nokey a b"),
        Frame::Array(vec![int(0), int(0)])
    );
    assert_eq!(
        call(&mut h, c, "SMISMEMBER k"),
        err("ERR wrong number of arguments for 'smismember' command")
    );
}

#[test]
fn spop_errors_and_counts() {
    let (mut h, c) = harness();
    call(&mut h, c, "SADD s 1 2 3");
    let positive = err("ERR value is out of range, must be positive");
    assert_eq!(call(&mut h, c, "SPOP s -1"), positive);
    assert_eq!(call(&mut h, c, "SPOP s abc"), positive);
    assert_eq!(
        call(&mut h, c, "SPOP nokey -1"),
        positive,
        "checked before the key"
    );
    assert_eq!(call(&mut h, c, "SPOP s 1 2"), err("ERR syntax error"));
    assert_eq!(call(&mut h, c, "SPOP s 0"), Frame::Array(vec![]));
    let before = dirty(&mut h, c);
    assert_eq!(
        sorted(call(&mut h, c, "SPOP s 100")),
        strs(&["1", "2", "3"])
    );
    assert_eq!(
        dirty(&mut h, c) - before,
        3,
        "dirty counts the members popped"
    );
    assert_eq!(call(&mut h, c, "EXISTS s"), int(0));
    call(&mut h, c, "SADD s a b c d e f g h i j");
    assert_eq!(sorted(call(&mut h, c, "SPOP s 2")).len(), 2);
    assert_eq!(sorted(call(&mut h, c, "SPOP s 7")).len(), 7);
    assert_eq!(call(&mut h, c, "SCARD s"), int(1));
    let Frame::Bulk(last) = call(&mut h, c, "SPOP s") else {
        panic!("SPOP replies a member")
    };
    assert_eq!(last.len(), 1);
    assert_eq!(call(&mut h, c, "EXISTS s"), int(0));
    assert_eq!(call(&mut h, c, "SPOP s"), Frame::Null);
}

#[test]
fn spop_and_srandmember_follow_the_seed() {
    let run = || {
        let (mut h, c) = harness();
        call(&mut h, c, "SADD s a b c d e f g h i j k l");
        let mut replies = Vec::new();
        for line in [
            "SRANDMEMBER s",
            "SRANDMEMBER s -5",
            "SRANDMEMBER s 3",
            "SPOP s 2",
            "SPOP s",
        ] {
            replies.push(call(&mut h, c, line));
        }
        replies
    };
    assert_eq!(run(), run());
}

#[test]
fn srandmember_counts_and_bounds() {
    let (mut h, c) = harness();
    call(&mut h, c, "SADD s a b c");
    assert_eq!(
        call(&mut h, c, "SRANDMEMBER s -9223372036854775808"),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        call(&mut h, c, "SRANDMEMBER s -9223372036854775807"),
        err("ERR value is out of range, value must between -16777216 and 9223372036854775807")
    );
    assert_eq!(
        call(&mut h, c, "SRANDMEMBER nokey 9223372036854775808"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        call(&mut h, c, "SRANDMEMBER s 1 2"),
        err("ERR syntax error")
    );
    assert_eq!(
        sorted(call(&mut h, c, "SRANDMEMBER s 9223372036854775807")),
        strs(&["a", "b", "c"])
    );
    let Frame::Array(repeats) = call(&mut h, c, "SRANDMEMBER s -10") else {
        panic!("an array")
    };
    assert_eq!(repeats.len(), 10);
    let distinct = sorted(call(&mut h, c, "SRANDMEMBER s 2"));
    assert!(distinct.len() == 2 && distinct[0] != distinct[1]);
    assert_eq!(call(&mut h, c, "SRANDMEMBER s 0"), Frame::Array(vec![]));
    assert_eq!(
        call(&mut h, c, "SCARD s"),
        int(3),
        "SRANDMEMBER removes nothing"
    );
}

#[test]
fn smove_cases() {
    let (mut h, c) = harness();
    call(&mut h, c, "SADD src a b");
    call(&mut h, c, "SADD dst b");
    let before = dirty(&mut h, c);
    assert_eq!(call(&mut h, c, "SMOVE src dst a"), int(1));
    assert_eq!(dirty(&mut h, c) - before, 2, "removed and added");
    assert_eq!(call(&mut h, c, "SMOVE src dst b"), int(1));
    assert_eq!(
        call(&mut h, c, "EXISTS src"),
        int(0),
        "the emptied source is deleted"
    );
    assert_eq!(sorted(call(&mut h, c, "SMEMBERS dst")), strs(&["a", "b"]));
    assert_eq!(call(&mut h, c, "SMOVE src dst a"), int(0), "no source");
    assert_eq!(
        call(&mut h, c, "SMOVE dst dst a"),
        int(1),
        "same key: membership"
    );
    assert_eq!(call(&mut h, c, "SMOVE dst dst z"), int(0));
    assert_eq!(call(&mut h, c, "SMOVE dst new z"), int(0), "not a member");
    assert_eq!(call(&mut h, c, "EXISTS new"), int(0));
    call(&mut h, c, "SADD dst 5");
    assert_eq!(call(&mut h, c, "SMOVE dst new 5"), int(1));
    assert_eq!(
        encoding(&mut h, c, "new"),
        "intset",
        "created for its member"
    );
    call(&mut h, c, "SET str x");
    assert_eq!(
        call(&mut h, c, "SMOVE nokey str a"),
        int(0),
        "a missing source wins"
    );
}

#[test]
fn sinter_family() {
    let (mut h, c) = harness();
    call(&mut h, c, "SADD a 1 2 3 x");
    call(&mut h, c, "SADD b 2 3 4 x y");
    call(&mut h, c, "SADD c 3 x z");
    assert_eq!(sorted(call(&mut h, c, "SINTER a b c")), strs(&["3", "x"]));
    assert_eq!(
        sorted(call(&mut h, c, "SINTER a a")),
        strs(&["1", "2", "3", "x"])
    );
    assert_eq!(call(&mut h, c, "SINTER a nokey"), Frame::Array(vec![]));
    assert_eq!(call(&mut h, c, "SINTERCARD 2 a b"), int(3));
    assert_eq!(call(&mut h, c, "SINTERCARD 2 a b LIMIT 2"), int(2));
    assert_eq!(call(&mut h, c, "SINTERCARD 2 a b limit 0"), int(3));
    assert_eq!(call(&mut h, c, "SINTERCARD 1 a LIMIT 1 LIMIT 9"), int(4));
    assert_eq!(call(&mut h, c, "SINTERCARD 2 a nokey"), int(0));
    assert_eq!(call(&mut h, c, "SINTERSTORE d a b c"), int(2));
    assert_eq!(sorted(call(&mut h, c, "SMEMBERS d")), strs(&["3", "x"]));
    call(&mut h, c, "EXPIRE d 100");
    assert_eq!(call(&mut h, c, "SINTERSTORE d a b"), int(3));
    assert_eq!(
        call(&mut h, c, "TTL d"),
        int(-1),
        "a store replaces the TTL"
    );
    let before = dirty(&mut h, c);
    assert_eq!(call(&mut h, c, "SINTERSTORE d a nokey"), int(0));
    assert_eq!(
        call(&mut h, c, "EXISTS d"),
        int(0),
        "an empty result deletes"
    );
    assert_eq!(dirty(&mut h, c) - before, 1);
    assert_eq!(call(&mut h, c, "SINTERSTORE d a nokey"), int(0));
    assert_eq!(dirty(&mut h, c) - before, 1, "nothing to delete: not dirty");
}

#[test]
fn sintercard_errors() {
    let (mut h, c) = harness();
    call(&mut h, c, "SADD s 1");
    let numkeys = err("ERR numkeys should be greater than 0");
    assert_eq!(call(&mut h, c, "SINTERCARD 0 s"), numkeys);
    assert_eq!(call(&mut h, c, "SINTERCARD -1 s"), numkeys);
    assert_eq!(call(&mut h, c, "SINTERCARD abc s"), numkeys);
    let too_many = err("ERR Number of keys can't be greater than number of args");
    assert_eq!(call(&mut h, c, "SINTERCARD 2 s"), too_many);
    assert_eq!(
        call(&mut h, c, "SINTERCARD 9223372036854775807 s"),
        too_many
    );
    let negative = err("ERR LIMIT can't be negative");
    assert_eq!(call(&mut h, c, "SINTERCARD 1 s LIMIT -1"), negative);
    assert_eq!(call(&mut h, c, "SINTERCARD 1 s LIMIT abc"), negative);
    assert_eq!(
        call(&mut h, c, "SINTERCARD 1 s LIMIT"),
        err("ERR syntax error")
    );
    assert_eq!(
        call(&mut h, c, "SINTERCARD 1 s foo"),
        err("ERR syntax error")
    );
    assert_eq!(
        call(&mut h, c, "SINTERCARD 1"),
        err("ERR wrong number of arguments for 'sintercard' command")
    );
}

#[test]
fn sunion_and_sdiff_with_their_stores() {
    let (mut h, c) = harness();
    call(&mut h, c, "SADD a 1 2 3 x");
    call(&mut h, c, "SADD b 2 y");
    assert_eq!(
        sorted(call(&mut h, c, "SUNION a b nokey")),
        strs(&["1", "2", "3", "x", "y"])
    );
    assert_eq!(
        sorted(call(&mut h, c, "SDIFF a b nokey")),
        strs(&["1", "3", "x"])
    );
    assert_eq!(call(&mut h, c, "SDIFF nokey a"), Frame::Array(vec![]));
    assert_eq!(
        call(&mut h, c, "SDIFF a b a"),
        Frame::Array(vec![]),
        "a key given twice"
    );
    assert_eq!(call(&mut h, c, "SUNIONSTORE u a b"), int(5));
    assert_eq!(call(&mut h, c, "SDIFFSTORE d a b"), int(3));
    assert_eq!(
        sorted(call(&mut h, c, "SMEMBERS d")),
        strs(&["1", "3", "x"])
    );
    assert_eq!(call(&mut h, c, "SDIFFSTORE d a a"), int(0));
    assert_eq!(call(&mut h, c, "EXISTS d"), int(0));
    assert_eq!(call(&mut h, c, "SUNIONSTORE u nokey"), int(0));
    assert_eq!(call(&mut h, c, "EXISTS u"), int(0));
    // The destination may be a source.
    assert_eq!(call(&mut h, c, "SUNIONSTORE a a b"), int(5));
    call(&mut h, c, "SET str x");
    assert_eq!(
        call(&mut h, c, "SUNIONSTORE str a"),
        int(5),
        "overwrites another type"
    );
    assert_eq!(call(&mut h, c, "TYPE str"), Frame::Simple("set".into()));
}

#[test]
fn both_diff_methods_give_the_difference() {
    let (mut h, c) = harness();
    // A small first set against a big other: walk the first set.
    call(&mut h, c, "SADD small 1 2 3");
    let big: Vec<String> = (2..200).map(|i| i.to_string()).collect();
    let mut args = vec!["SADD", "big"];
    args.extend(big.iter().map(String::as_str));
    h.call(c, &args);
    assert_eq!(sorted(call(&mut h, c, "SDIFF small big")), strs(&["1"]));
    // A big first set against a small other: add all, remove the other.
    assert_eq!(call(&mut h, c, "SDIFFSTORE d big small"), int(196));
    assert_eq!(call(&mut h, c, "SISMEMBER d 3"), int(0));
    assert_eq!(call(&mut h, c, "SISMEMBER d 4"), int(1));
}

#[test]
fn store_results_get_redis_encodings() {
    let (mut h, c) = harness();
    call(&mut h, c, "SADD ints 1 2 3");
    call(&mut h, c, "SADD mixed 1 2 3 a");
    call(&mut h, c, "SADD strs a b");
    let long: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "table", "1", "2"];
    args.extend(long.iter().map(String::as_str));
    h.call(c, &args);
    assert_eq!(encoding(&mut h, c, "table"), "hashtable");
    for (line, want) in [
        ("SINTERSTORE d ints mixed", "intset"),
        ("SINTERSTORE d mixed table", "intset"),
        ("SINTERSTORE d strs mixed", "listpack"),
        ("SINTERSTORE d table table", "hashtable"),
        ("SUNIONSTORE d ints ints", "intset"),
        ("SUNIONSTORE d ints strs", "listpack"),
        ("SUNIONSTORE d strs table", "hashtable"),
        ("SDIFFSTORE d mixed strs", "intset"),
        ("SDIFFSTORE d mixed ints", "listpack"),
        ("SDIFFSTORE d table ints", "hashtable"),
    ] {
        call(&mut h, c, line);
        assert_eq!(encoding(&mut h, c, "d"), want, "{line}");
    }
}

#[test]
fn encodings_follow_config_set() {
    let (mut h, c) = harness();
    call(&mut h, c, "CONFIG SET set-max-intset-entries 3");
    call(&mut h, c, "SADD s 1 2 3");
    assert_eq!(encoding(&mut h, c, "s"), "intset");
    call(&mut h, c, "SADD s 4");
    assert_eq!(encoding(&mut h, c, "s"), "hashtable");
    call(&mut h, c, "SADD t 1 2 3 4");
    assert_eq!(
        encoding(&mut h, c, "t"),
        "listpack",
        "over the intset hint, within a listpack"
    );
    call(&mut h, c, "CONFIG SET set-max-listpack-entries 2");
    call(&mut h, c, "CONFIG SET set-max-listpack-value 3");
    assert_eq!(
        encoding(&mut h, c, "t"),
        "listpack",
        "existing sets are left alone"
    );
    call(&mut h, c, "SADD u ab cd");
    assert_eq!(encoding(&mut h, c, "u"), "listpack");
    call(&mut h, c, "SADD u ef");
    assert_eq!(encoding(&mut h, c, "u"), "hashtable");
    call(&mut h, c, "SADD v abcd");
    assert_eq!(encoding(&mut h, c, "v"), "hashtable");
    call(&mut h, c, "SADD w 1");
    call(&mut h, c, "SADD w x y z");
    assert_eq!(
        encoding(&mut h, c, "w"),
        "hashtable",
        "the SADD hint converts first"
    );
}

#[test]
fn sscan_cases() {
    let (mut h, c) = harness();
    assert_eq!(
        call(&mut h, c, "SSCAN nokey abc"),
        err("ERR invalid cursor")
    );
    assert_eq!(
        call(&mut h, c, "SSCAN nokey 0 COUNT 0"),
        Frame::Array(vec![bulk("0"), Frame::Array(vec![])]),
        "options are not read for a missing key"
    );
    call(&mut h, c, "SADD s a1 a2 b1");
    assert_eq!(
        call(&mut h, c, "SSCAN s 0 COUNT 0"),
        err("ERR syntax error")
    );
    assert_eq!(
        call(&mut h, c, "SSCAN s 0 TYPE string"),
        err("ERR syntax error")
    );
    assert_eq!(
        call(&mut h, c, "SSCAN s 0 COUNT abc"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        call(&mut h, c, "SSCAN s 7 MATCH a* COUNT 1"),
        Frame::Array(vec![bulk("0"), Frame::Array(vec![bulk("a1"), bulk("a2")])]),
        "a listpack is returned whole"
    );
    let names: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "big"];
    args.extend(names.iter().map(String::as_str));
    h.call(c, &args);
    let (mut cursor, mut seen, mut calls) = ("0".to_string(), BTreeSet::new(), 0);
    loop {
        let Frame::Array(parts) = h.call(c, &["SSCAN", "big", &cursor, "MATCH", "m1*"]) else {
            panic!("an array")
        };
        let (Some(next), Frame::Array(items)) = (parts[0].text(), &parts[1]) else {
            panic!("cursor and items")
        };
        seen.extend(items.iter().map(|f| f.text().expect("bulk")));
        calls += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    let want: BTreeSet<String> = names.into_iter().filter(|n| n.starts_with("m1")).collect();
    assert_eq!(seen, want);
    assert!(calls > 1);
}

#[test]
fn reads_count_hits_and_misses() {
    let (mut h, c) = harness();
    call(&mut h, c, "SADD s a");
    let stats = |h: &mut Harness| {
        let info = h.call(c, &["INFO", "stats"]).text().expect("bulk");
        let field = |name: &str| -> i64 {
            info.split("\r\n")
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .and_then(|v| v.parse().ok())
                .expect("a field")
        };
        (field("keyspace_hits"), field("keyspace_misses"))
    };
    let (hits, misses) = stats(&mut h);
    call(&mut h, c, "SINTER s nokey s");
    assert_eq!(stats(&mut h), (hits + 2, misses + 1));
}

// ---- the model test ----

const KEYS: &[&str] = &["a", "b", "c"];
const MEMBERS: &[&str] = &["1", "2", "-7", "300000", "x", "yy", "longer", "007", ""];

#[derive(Debug, Clone)]
enum Op {
    Sadd(usize, Vec<usize>),
    Srem(usize, Vec<usize>),
    Spop(usize, usize),
    Smove(usize, usize, usize),
    Store(&'static str, usize, Vec<usize>),
    Config(&'static str, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS.len();
    let members = proptest::collection::vec(0..MEMBERS.len(), 1..5);
    prop_oneof![
        6 => (key.clone(), members.clone()).prop_map(|(k, m)| Op::Sadd(k, m)),
        3 => (key.clone(), members).prop_map(|(k, m)| Op::Srem(k, m)),
        1 => (key.clone(), 0usize..4).prop_map(|(k, n)| Op::Spop(k, n)),
        2 => (key.clone(), key.clone(), 0..MEMBERS.len())
            .prop_map(|(s, d, m)| Op::Smove(s, d, m)),
        2 => (
            prop::sample::select(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"][..]),
            key.clone(),
            proptest::collection::vec(key, 1..4),
        )
            .prop_map(|(cmd, d, s)| Op::Store(cmd, d, s)),
        1 => (
            prop::sample::select(
                &[
                    "set-max-intset-entries",
                    "set-max-listpack-entries",
                    "set-max-listpack-value",
                ][..]
            ),
            0usize..6,
        )
            .prop_map(|(name, n)| Op::Config(name, n)),
    ]
}

type Model = BTreeMap<&'static str, BTreeSet<String>>;

fn with_members<'a>(head: &[&'a str], members: &[usize]) -> Vec<&'a str> {
    let mut args = head.to_vec();
    args.extend(members.iter().map(|&m| MEMBERS[m]));
    args
}

/// Runs `op` on the node and on the model; the replies must agree.
fn apply(h: &mut Harness, c: ClientId, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    match op {
        Op::Sadd(k, ms) => {
            let set = model.entry(KEYS[*k]).or_default();
            let added = ms
                .iter()
                .filter(|&&m| set.insert(MEMBERS[m].into()))
                .count();
            let reply = h.call(c, &with_members(&["SADD", KEYS[*k]], ms));
            prop_assert_eq!(reply, int(added as i64));
        }
        Op::Srem(k, ms) => {
            let set = model.entry(KEYS[*k]).or_default();
            let removed = ms.iter().filter(|&&m| set.remove(MEMBERS[m])).count();
            let reply = h.call(c, &with_members(&["SREM", KEYS[*k]], ms));
            prop_assert_eq!(reply, int(removed as i64));
        }
        Op::Spop(k, n) => {
            let reply = h.call(c, &["SPOP", KEYS[*k], &n.to_string()]);
            let set = model.entry(KEYS[*k]).or_default();
            let popped = sorted(reply);
            prop_assert_eq!(popped.len(), (*n).min(set.len()));
            for m in &popped {
                prop_assert!(set.remove(m), "popped a non-member {}", m);
            }
        }
        Op::Smove(s, d, m) => {
            let member = MEMBERS[*m];
            let reply = h.call(c, &["SMOVE", KEYS[*s], KEYS[*d], member]);
            let moved = model.entry(KEYS[*s]).or_default().contains(member);
            if moved && s != d {
                model.entry(KEYS[*s]).or_default().remove(member);
                model.entry(KEYS[*d]).or_default().insert(member.into());
            }
            prop_assert_eq!(reply, int(moved as i64));
        }
        Op::Store(cmd, d, srcs) => {
            let mut args = vec![*cmd, KEYS[*d]];
            args.extend(srcs.iter().map(|&s| KEYS[s]));
            let sets: Vec<BTreeSet<String>> = srcs
                .iter()
                .map(|&s| model.get(KEYS[s]).cloned().unwrap_or_default())
                .collect();
            let result = combine(cmd, &sets);
            prop_assert_eq!(h.call(c, &args), int(result.len() as i64));
            model.insert(KEYS[*d], result);
        }
        Op::Config(name, n) => {
            let reply = h.call(c, &["CONFIG", "SET", name, &n.to_string()]);
            prop_assert_eq!(reply, ok());
        }
    }
    Ok(())
}

fn combine(cmd: &str, sets: &[BTreeSet<String>]) -> BTreeSet<String> {
    let (first, rest) = sets.split_first().expect("one source at least");
    match cmd {
        "SINTERSTORE" => first
            .iter()
            .filter(|m| rest.iter().all(|s| s.contains(*m)))
            .cloned()
            .collect(),
        "SUNIONSTORE" => sets.iter().flatten().cloned().collect(),
        _ => first
            .iter()
            .filter(|m| rest.iter().all(|s| !s.contains(*m)))
            .cloned()
            .collect(),
    }
}

/// Every key matches the model: members, size, existence (an empty set
/// is no key), and an intset only ever holds integers.
fn check(h: &mut Harness, c: ClientId, model: &Model) -> Result<(), TestCaseError> {
    for key in KEYS {
        let want = model.get(key).cloned().unwrap_or_default();
        let got: BTreeSet<String> = sorted(h.call(c, &["SMEMBERS", key])).into_iter().collect();
        prop_assert_eq!(&got, &want, "key {}", key);
        prop_assert_eq!(h.call(c, &["SCARD", key]), int(want.len() as i64));
        prop_assert_eq!(h.call(c, &["EXISTS", key]), int(!want.is_empty() as i64));
        let all_ints = want
            .iter()
            .all(|m| crate::util::parse_i64(m.as_bytes()).is_some());
        if encoding(h, c, key) == "intset" {
            prop_assert!(all_ints, "an intset holding {:?}", want);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn commands_agree_with_a_model_across_conversions(
        ops in proptest::collection::vec(op(), 1..60)
    ) {
        let (mut h, c) = harness();
        for (name, value) in [
            ("set-max-intset-entries", "4"),
            ("set-max-listpack-entries", "3"),
            ("set-max-listpack-value", "4"),
        ] {
            prop_assert_eq!(h.call(c, &["CONFIG", "SET", name, value]), ok());
        }
        let mut model = Model::new();
        for op in &ops {
            apply(&mut h, c, &mut model, op)?;
            check(&mut h, c, &model)?;
        }
    }
}
