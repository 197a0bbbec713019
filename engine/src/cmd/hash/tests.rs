use crate::client::ClientId;
use crate::cmd::keys::tests::{bulk, err, harness, int, ok, state};
use crate::resp::frame::Frame;
use crate::testing::Harness;
use proptest::prelude::*;
use std::collections::BTreeSet;

mod model;
mod random;
mod scan;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn call(h: &mut Harness, c: ClientId, args: &[&str]) -> Frame {
    h.call(c, args)
}

fn bulks(items: &[&str]) -> Frame {
    Frame::Array(items.iter().map(|s| bulk(s)).collect())
}

fn encoding(h: &mut Harness, c: ClientId, key: &str) -> String {
    h.call(c, &["OBJECT", "ENCODING", key])
        .text()
        .expect("an encoding")
}

fn texts(frame: &Frame) -> Vec<String> {
    let Frame::Array(items) = frame else {
        panic!("an array: {frame:?}")
    };
    items.iter().map(|f| f.text().expect("a bulk")).collect()
}

/// The dirty counter (INFO rdb_changes_since_last_save).
fn dirty(h: &mut Harness, c: ClientId) -> i64 {
    state(h, c)[1]
}

#[test]
fn hset_hget_and_friends() {
    let (mut h, c) = harness();
    assert_eq!(
        call(&mut h, c, &["HSET", "h", "a", "1", "b", "two"]),
        int(2)
    );
    assert_eq!(
        call(&mut h, c, &["HSET", "h", "a", "one", "c", "-123"]),
        int(1)
    );
    assert_eq!(call(&mut h, c, &["HMSET", "h", "d", "4"]), ok());
    assert_eq!(call(&mut h, c, &["HGET", "h", "a"]), bulk("one"));
    assert_eq!(call(&mut h, c, &["HGET", "h", "c"]), bulk("-123"));
    assert_eq!(call(&mut h, c, &["HGET", "h", "zz"]), Frame::Null);
    assert_eq!(call(&mut h, c, &["HGET", "nokey", "a"]), Frame::Null);
    assert_eq!(call(&mut h, c, &["HLEN", "h"]), int(4));
    assert_eq!(call(&mut h, c, &["HLEN", "nokey"]), int(0));
    assert_eq!(call(&mut h, c, &["HEXISTS", "h", "b"]), int(1));
    assert_eq!(call(&mut h, c, &["HEXISTS", "h", "zz"]), int(0));
    assert_eq!(call(&mut h, c, &["HEXISTS", "nokey", "b"]), int(0));
    assert_eq!(call(&mut h, c, &["HSTRLEN", "h", "c"]), int(4));
    assert_eq!(call(&mut h, c, &["HSTRLEN", "h", "b"]), int(3));
    assert_eq!(call(&mut h, c, &["HSTRLEN", "h", "zz"]), int(0));
    assert_eq!(call(&mut h, c, &["HSTRLEN", "nokey", "zz"]), int(0));
    assert_eq!(
        call(&mut h, c, &["HMGET", "h", "a", "zz", "d"]),
        Frame::Array(vec![bulk("one"), Frame::Null, bulk("4")])
    );
    assert_eq!(
        call(&mut h, c, &["HMGET", "nokey", "a", "b"]),
        Frame::Array(vec![Frame::Null, Frame::Null])
    );
    assert_eq!(
        call(&mut h, c, &["TYPE", "h"]),
        Frame::Simple("hash".into())
    );
}

#[test]
fn odd_pairs_are_a_wrong_arity_error() {
    let (mut h, c) = harness();
    assert_eq!(
        call(&mut h, c, &["HSET", "h", "a", "1", "b"]),
        err("ERR wrong number of arguments for 'hset' command")
    );
    assert_eq!(
        call(&mut h, c, &["hmset", "h", "a", "1", "b"]),
        err("ERR wrong number of arguments for 'hmset' command")
    );
    assert_eq!(
        call(&mut h, c, &["HSET", "h", "a"]),
        err("ERR wrong number of arguments for 'hset' command")
    );
    assert_eq!(call(&mut h, c, &["EXISTS", "h"]), int(0));
}

#[test]
fn every_command_refuses_another_type() {
    let (mut h, c) = harness();
    assert_eq!(call(&mut h, c, &["SET", "s", "v"]), ok());
    let commands: &[&[&str]] = &[
        &["HSET", "s", "f", "v"],
        &["HMSET", "s", "f", "v"],
        &["HSETNX", "s", "f", "v"],
        &["HGET", "s", "f"],
        &["HMGET", "s", "f"],
        &["HGETALL", "s"],
        &["HDEL", "s", "f"],
        &["HEXISTS", "s", "f"],
        &["HLEN", "s"],
        &["HSTRLEN", "s", "f"],
        &["HINCRBY", "s", "f", "1"],
        &["HINCRBYFLOAT", "s", "f", "1"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "2"],
        &["HRANDFIELD", "s", "0", "WITHVALUES"],
        &["HSCAN", "s", "0"],
        &["HSCAN", "s", "0", "COUNT", "0"],
    ];
    for args in commands {
        assert_eq!(call(&mut h, c, args), err(WRONGTYPE), "{args:?}");
    }
    assert_eq!(call(&mut h, c, &["GET", "s"]), bulk("v"));
}

#[test]
fn whole_hash_reads_in_both_protocols() {
    let (mut h, c) = harness();
    call(&mut h, c, &["HSET", "h", "b", "1", "a", "2", "c", "3"]);
    call(&mut h, c, &["HDEL", "h", "a"]);
    call(&mut h, c, &["HSET", "h", "a", "4", "b", "5"]);
    // The compact encoding keeps insertion order; an update keeps its place.
    assert_eq!(
        call(&mut h, c, &["HGETALL", "h"]),
        bulks(&["b", "5", "c", "3", "a", "4"])
    );
    assert_eq!(call(&mut h, c, &["HKEYS", "h"]), bulks(&["b", "c", "a"]));
    assert_eq!(call(&mut h, c, &["HVALS", "h"]), bulks(&["5", "3", "4"]));
    assert_eq!(call(&mut h, c, &["HGETALL", "nokey"]), Frame::Array(vec![]));
    assert_eq!(call(&mut h, c, &["HKEYS", "nokey"]), Frame::Array(vec![]));
    assert_eq!(call(&mut h, c, &["HVALS", "nokey"]), Frame::Array(vec![]));
    h.call(c, &["HELLO", "3"]);
    assert_eq!(
        call(&mut h, c, &["HGETALL", "h"]),
        Frame::Map(vec![
            (bulk("b"), bulk("5")),
            (bulk("c"), bulk("3")),
            (bulk("a"), bulk("4")),
        ])
    );
    assert_eq!(call(&mut h, c, &["HGETALL", "nokey"]), Frame::Map(vec![]));
    assert_eq!(call(&mut h, c, &["HKEYS", "nokey"]), Frame::Array(vec![]));
}

#[test]
fn hdel_deletes_the_key_with_its_last_field() {
    let (mut h, c) = harness();
    call(&mut h, c, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    let before = dirty(&mut h, c);
    assert_eq!(call(&mut h, c, &["HDEL", "h", "a", "zz", "a"]), int(1));
    assert_eq!(dirty(&mut h, c), before + 1);
    assert_eq!(call(&mut h, c, &["HDEL", "nokey", "a"]), int(0));
    assert_eq!(call(&mut h, c, &["HDEL", "h", "zz"]), int(0));
    assert_eq!(dirty(&mut h, c), before + 1);
    assert_eq!(call(&mut h, c, &["EXPIRE", "h", "100"]), int(1));
    assert_eq!(call(&mut h, c, &["HDEL", "h", "b", "c", "d"]), int(2));
    assert_eq!(call(&mut h, c, &["EXISTS", "h"]), int(0));
    // A new hash under the name has no TTL left over.
    call(&mut h, c, &["HSET", "h", "a", "1"]);
    assert_eq!(call(&mut h, c, &["TTL", "h"]), int(-1));
}

#[test]
fn hsetnx_sets_only_new_fields() {
    let (mut h, c) = harness();
    let before = dirty(&mut h, c);
    assert_eq!(call(&mut h, c, &["HSETNX", "h", "f", "1"]), int(1));
    assert_eq!(call(&mut h, c, &["HSETNX", "h", "f", "2"]), int(0));
    assert_eq!(call(&mut h, c, &["HGET", "h", "f"]), bulk("1"));
    assert_eq!(dirty(&mut h, c), before + 1);
}

#[test]
fn writes_count_in_the_dirty_counter_as_redis() {
    let (mut h, c) = harness();
    let before = dirty(&mut h, c);
    // HSET counts every pair, updates and unchanged values included.
    call(&mut h, c, &["HSET", "h", "a", "1", "b", "2"]);
    call(&mut h, c, &["HSET", "h", "a", "1"]);
    call(&mut h, c, &["HMSET", "h", "a", "1", "c", "3"]);
    assert_eq!(dirty(&mut h, c), before + 5);
    call(&mut h, c, &["HINCRBY", "h", "a", "1"]);
    call(&mut h, c, &["HINCRBYFLOAT", "h", "a", "1.5"]);
    call(&mut h, c, &["HINCRBY", "h", "zz", "x"]);
    assert_eq!(dirty(&mut h, c), before + 7);
}

#[test]
fn hincrby_counts_and_refuses_as_redis() {
    let (mut h, c) = harness();
    assert_eq!(call(&mut h, c, &["HINCRBY", "h", "n", "5"]), int(5));
    assert_eq!(call(&mut h, c, &["HINCRBY", "h", "n", "-7"]), int(-2));
    assert_eq!(call(&mut h, c, &["HGET", "h", "n"]), bulk("-2"));
    call(
        &mut h,
        c,
        &["HSET", "h", "s", "foo", "sp", " 1", "z", "007"],
    );
    for field in ["s", "sp", "z"] {
        assert_eq!(
            call(&mut h, c, &["HINCRBY", "h", field, "1"]),
            err("ERR hash value is not an integer"),
            "{field}"
        );
    }
    assert_eq!(
        call(&mut h, c, &["HINCRBY", "h", "n", "x"]),
        err("ERR value is not an integer or out of range")
    );
    call(&mut h, c, &["HSET", "h", "max", "9223372036854775807"]);
    assert_eq!(
        call(&mut h, c, &["HINCRBY", "h", "max", "1"]),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(
        call(&mut h, c, &["HINCRBY", "h", "n", "-9223372036854775807"]),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(call(&mut h, c, &["HGET", "h", "n"]), bulk("-2"));
    // The increment is checked before the key: no WRONGTYPE for a bad one.
    call(&mut h, c, &["SET", "s", "v"]);
    assert_eq!(
        call(&mut h, c, &["HINCRBY", "s", "f", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        call(&mut h, c, &["HINCRBY", "nokey", "f", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(call(&mut h, c, &["EXISTS", "nokey"]), int(0));
}

#[test]
fn hincrbyfloat_computes_as_redis() {
    let (mut h, c) = harness();
    call(&mut h, c, &["HSET", "h", "f", "10.50"]);
    assert_eq!(
        call(&mut h, c, &["HINCRBYFLOAT", "h", "f", "0.1"]),
        bulk("10.6")
    );
    assert_eq!(
        call(&mut h, c, &["HINCRBYFLOAT", "h", "f", "-5"]),
        bulk("5.6")
    );
    call(&mut h, c, &["HSET", "h", "f", "5.0e3"]);
    assert_eq!(
        call(&mut h, c, &["HINCRBYFLOAT", "h", "f", "2.0e2"]),
        bulk("5200")
    );
    assert_eq!(
        call(&mut h, c, &["HINCRBYFLOAT", "h", "g", "1000"]),
        bulk("1000")
    );
    // long double arithmetic, exactly as INCRBYFLOAT.
    assert_eq!(
        call(&mut h, c, &["HINCRBYFLOAT", "h", "g", "0.1"]),
        bulk("1000.09999999999999998")
    );
    call(&mut h, c, &["HSET", "h", "i", "17"]);
    assert_eq!(
        call(&mut h, c, &["HINCRBYFLOAT", "h", "i", "0x10"]),
        bulk("33")
    );
    assert_eq!(call(&mut h, c, &["HGET", "h", "i"]), bulk("33"));
}

#[test]
fn hincrbyfloat_errors_are_redis_texts() {
    let (mut h, c) = harness();
    call(
        &mut h,
        c,
        &["HSET", "h", "s", "foo", "inf", "inf", "sp", "1 ", "n", "1"],
    );
    assert_eq!(
        call(&mut h, c, &["HINCRBYFLOAT", "h", "s", "1"]),
        err("ERR hash value is not a float")
    );
    assert_eq!(
        call(&mut h, c, &["HINCRBYFLOAT", "h", "sp", "1"]),
        err("ERR hash value is not a float")
    );
    assert_eq!(
        call(&mut h, c, &["HINCRBYFLOAT", "h", "inf", "1"]),
        err("ERR increment would produce NaN or Infinity")
    );
    for bad in ["abc", "nan", "1 ", ""] {
        assert_eq!(
            call(&mut h, c, &["HINCRBYFLOAT", "h", "n", bad]),
            err("ERR value is not a valid float"),
            "{bad:?}"
        );
    }
    for infinite in ["inf", "-inf", "+infinity"] {
        assert_eq!(
            call(&mut h, c, &["HINCRBYFLOAT", "h", "n", infinite]),
            err("ERR value is NaN or Infinity")
        );
    }
    call(&mut h, c, &["HINCRBYFLOAT", "h", "big", "1e4932"]);
    assert_eq!(
        call(&mut h, c, &["HINCRBYFLOAT", "h", "big", "1e4932"]),
        err("ERR increment would produce NaN or Infinity")
    );
    call(&mut h, c, &["SET", "str", "v"]);
    assert_eq!(
        call(&mut h, c, &["HINCRBYFLOAT", "str", "f", "abc"]),
        err("ERR value is not a valid float")
    );
    assert_eq!(
        call(&mut h, c, &["HINCRBYFLOAT", "nokey", "f", "inf"]),
        err("ERR value is NaN or Infinity")
    );
    assert_eq!(call(&mut h, c, &["EXISTS", "nokey"]), int(0));
    assert_eq!(call(&mut h, c, &["HGET", "h", "n"]), bulk("1"));
}

#[test]
fn encodings_follow_the_thresholds() {
    let (mut h, c) = harness();
    call(
        &mut h,
        c,
        &["CONFIG", "SET", "hash-max-listpack-entries", "3"],
    );
    call(&mut h, c, &["CONFIG", "SET", "hash-max-ziplist-value", "5"]);
    call(&mut h, c, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(encoding(&mut h, c, "h"), "listpack");
    call(&mut h, c, &["HSET", "h", "d", "4"]);
    assert_eq!(encoding(&mut h, c, "h"), "hashtable");
    call(&mut h, c, &["HDEL", "h", "a", "b", "c"]);
    assert_eq!(encoding(&mut h, c, "h"), "hashtable", "never converts back");

    // A long field or value, from any write.
    let long = "x".repeat(6);
    let writes: [&[&str]; 7] = [
        &["HSET", "v1", "f", &long],
        &["HSET", "v2", &long, "v"],
        &["HSETNX", "v3", &long, "v"],
        &["HINCRBY", "v4", &long, "1"],
        &["HINCRBYFLOAT", "v5", &long, "1"],
        &["HINCRBY", "v6", "f", "123456"],
        &["HINCRBYFLOAT", "v7", "f", "1.2345"],
    ];
    for args in writes {
        h.call(c, args);
        assert_eq!(encoding(&mut h, c, args[1]), "hashtable", "{args:?}");
    }
    // HSETNX on an existing field stores nothing, so nothing converts.
    call(&mut h, c, &["HSET", "k", "f", "v"]);
    assert_eq!(call(&mut h, c, &["HSETNX", "k", "f", &long]), int(0));
    assert_eq!(encoding(&mut h, c, "k"), "listpack");
    // A zero entry limit makes every hash a table at once.
    call(
        &mut h,
        c,
        &["CONFIG", "SET", "hash-max-listpack-entries", "0"],
    );
    call(&mut h, c, &["HSET", "z", "f", "v"]);
    assert_eq!(encoding(&mut h, c, "z"), "hashtable");
    // A raised limit only affects later writes, and tables stay tables.
    call(
        &mut h,
        c,
        &["CONFIG", "SET", "hash-max-listpack-entries", "128"],
    );
    call(&mut h, c, &["HSET", "z", "g", "v"]);
    assert_eq!(encoding(&mut h, c, "z"), "hashtable");
}

#[test]
fn copy_and_rename_carry_hashes() {
    let (mut h, c) = harness();
    call(&mut h, c, &["HSET", "h", "a", "1", "b", "x"]);
    assert_eq!(call(&mut h, c, &["COPY", "h", "h2"]), int(1));
    call(&mut h, c, &["HSET", "h2", "a", "2"]);
    assert_eq!(call(&mut h, c, &["HGET", "h", "a"]), bulk("1"));
    assert_eq!(call(&mut h, c, &["RENAME", "h2", "h3"]), ok());
    assert_eq!(
        call(&mut h, c, &["HGETALL", "h3"]),
        bulks(&["a", "2", "b", "x"])
    );
}
