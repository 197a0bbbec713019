//! SORT and SORT_RO through the whole node, with Redis 7.0.15's replies
//! and error texts (checked against the real server), and a model test.

use crate::client::ClientId;
use crate::cmd::keys::tests::{bulk, err, harness, int, set, state};
use crate::config::Config;
use crate::resp::frame::Frame;
use crate::testing::Harness;
use proptest::prelude::*;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";
const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

fn array(items: &[&str]) -> Frame {
    Frame::Array(items.iter().map(|s| bulk(s)).collect())
}

fn call(h: &mut Harness, c: ClientId, line: &str) -> Frame {
    let args: Vec<&str> = line.split(' ').collect();
    h.call(c, &args)
}

fn rpush(h: &mut Harness, c: ClientId, key: &str, items: &[&str]) {
    let mut args = vec!["RPUSH", key];
    args.extend(items);
    assert_eq!(h.call(c, &args), int(items.len() as i64));
}

fn sadd(h: &mut Harness, c: ClientId, key: &str, items: &[&str]) {
    let mut args = vec!["SADD", key];
    args.extend(items);
    h.call(c, &args);
}

fn field(h: &mut Harness, c: ClientId, section: &str, name: &str) -> i64 {
    let info = h.call(c, &["INFO", section]).text().expect("INFO text");
    info.split("\r\n")
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name}"))
}

// ---- options and errors ----

#[test]
fn option_errors_come_before_the_type_check() {
    let (mut h, c) = harness();
    set(&mut h, c, "s", "x");
    for (line, want) in [
        ("SORT s FOO", SYNTAX),
        ("SORT s LIMIT 1", SYNTAX),
        ("SORT s LIMIT", SYNTAX),
        ("SORT s BY", SYNTAX),
        ("SORT s GET", SYNTAX),
        ("SORT s STORE", SYNTAX),
        ("SORT s LIMIT a 1", NOT_INTEGER),
        ("SORT s LIMIT 1 1.5", NOT_INTEGER),
        ("SORT s LIMIT 0 9223372036854775808", NOT_INTEGER),
        ("SORT_RO s STORE d", SYNTAX),
        ("SORT s", WRONGTYPE),
        (
            "SORT s ALPHA DESC LIMIT 0 1 BY w_* GET # STORE d",
            WRONGTYPE,
        ),
        ("SORT_RO s", WRONGTYPE),
    ] {
        assert_eq!(call(&mut h, c, line), err(want), "{line}");
    }
    h.call(c, &["HSET", "h", "f", "v"]);
    assert_eq!(call(&mut h, c, "SORT h"), err(WRONGTYPE));
    assert_eq!(
        call(&mut h, c, "sort"),
        err("ERR wrong number of arguments for 'sort' command")
    );
    assert_eq!(call(&mut h, c, "EXISTS d"), int(0));
}

#[test]
fn a_missing_key_sorts_as_an_empty_list() {
    let (mut h, c) = harness();
    assert_eq!(call(&mut h, c, "SORT nokey"), array(&[]));
    assert_eq!(call(&mut h, c, "SORT_RO nokey ALPHA LIMIT 0 5"), array(&[]));
    // STORE of nothing deletes the destination, whatever it held.
    set(&mut h, c, "d", "x");
    assert_eq!(call(&mut h, c, "SORT nokey STORE d"), int(0));
    assert_eq!(call(&mut h, c, "EXISTS d"), int(0));
}

// ---- numeric and ALPHA order ----

#[test]
fn numbers_sort_as_strtod_reads_them_ties_by_bytes() {
    let (mut h, c) = harness();
    rpush(
        &mut h,
        c,
        "l",
        &[
            "3", "1", "2", "", " 4", "0x10", "inf", "-inf", "1.0", "-0", "0",
        ],
    );
    assert_eq!(
        call(&mut h, c, "SORT l"),
        array(&["-inf", "", "-0", "0", "1", "1.0", "2", "3", " 4", "0x10", "inf"])
    );
    assert_eq!(
        call(&mut h, c, "SORT l DESC"),
        array(&["inf", "0x10", " 4", "3", "2", "1.0", "1", "0", "-0", "", "-inf"])
    );
    for bad in ["4 ", "abc", "nan", "1e400", "1e-310"] {
        rpush(&mut h, c, "bad", &["1", bad]);
        assert_eq!(call(&mut h, c, "SORT bad"), err(NOT_DOUBLE), "{bad:?}");
        assert_eq!(call(&mut h, c, "SORT bad ALPHA"), array(&["1", bad]));
        h.call(c, &["DEL", "bad"]);
    }
}

#[test]
fn alpha_compares_c_strings_but_store_compares_binary() {
    let (mut h, c) = harness();
    let items = ["\u{ff}", "z", "a\0z", "a\0b", "a", "B", "_"];
    rpush(&mut h, c, "l", &items);
    let want = ["B", "_", "a\0z", "a\0b", "a", "z", "\u{ff}"];
    assert_eq!(h.call(c, &["SORT", "l", "ALPHA"]), array(&want));
    // DESC negates the comparison: equal C strings keep their order.
    let want_desc = ["\u{ff}", "z", "a\0z", "a\0b", "a", "_", "B"];
    assert_eq!(
        h.call(c, &["SORT", "l", "ALPHA", "DESC"]),
        array(&want_desc)
    );
    assert_eq!(h.call(c, &["SORT", "l", "ALPHA", "STORE", "d"]), int(7));
    let stored = ["B", "_", "a", "a\0b", "a\0z", "z", "\u{ff}"];
    assert_eq!(h.call(c, &["LRANGE", "d", "0", "-1"]), array(&stored));
}

// ---- BY ----

#[test]
fn by_sorts_by_strings_and_hash_fields_missing_as_zero() {
    let (mut h, c) = harness();
    rpush(&mut h, c, "l", &["a", "b", "c", "d"]);
    for (k, v) in [("w_a", "3"), ("w_b", "1"), ("w_d", "-1")] {
        set(&mut h, c, k, v);
    }
    assert_eq!(
        call(&mut h, c, "SORT l BY w_*"),
        array(&["d", "c", "b", "a"])
    );
    h.call(c, &["HSET", "h_a", "f", "2", "g", "x"]);
    h.call(c, &["HSET", "h_c", "f", "1"]);
    assert_eq!(
        call(&mut h, c, "SORT l BY h_*->f"),
        array(&["b", "d", "c", "a"])
    );
    assert_eq!(call(&mut h, c, "SORT l BY h_*->g"), err(NOT_DOUBLE));
    assert_eq!(
        call(&mut h, c, "SORT l BY h_*->g ALPHA"),
        array(&["b", "c", "d", "a"])
    );
    // A key of the wrong type is a missing value.
    rpush(&mut h, c, "w_c", &["9"]);
    assert_eq!(
        call(&mut h, c, "SORT l BY w_* DESC"),
        array(&["a", "b", "c", "d"])
    );
    // Only the first star is replaced.
    set(&mut h, c, "x_b_*", "-5");
    assert_eq!(
        call(&mut h, c, "SORT l BY x_*_*"),
        array(&["b", "a", "c", "d"])
    );
}

#[test]
fn by_without_star_does_not_sort_and_sticks() {
    let (mut h, c) = harness();
    rpush(&mut h, c, "l", &["3", "1", "4", "2"]);
    assert_eq!(
        call(&mut h, c, "SORT l BY nosort"),
        array(&["3", "1", "4", "2"])
    );
    assert_eq!(
        call(&mut h, c, "SORT l BY nosort DESC"),
        array(&["2", "4", "1", "3"])
    );
    assert_eq!(
        call(&mut h, c, "SORT l BY nosort DESC LIMIT 1 2"),
        array(&["4", "1"])
    );
    assert_eq!(
        call(&mut h, c, "SORT l BY nosort LIMIT 1 2"),
        array(&["1", "4"])
    );
    assert_eq!(
        call(&mut h, c, "SORT l BY nosort BY w_*"),
        array(&["3", "1", "4", "2"])
    );
    h.call(c, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(
        call(&mut h, c, "SORT z BY nosort"),
        array(&["a", "b", "c", "d"])
    );
    assert_eq!(
        call(&mut h, c, "SORT z BY nosort DESC LIMIT 1 2"),
        array(&["c", "b"])
    );
    assert_eq!(call(&mut h, c, "SORT z BY nosort LIMIT 3 5"), array(&["d"]));
    assert_eq!(call(&mut h, c, "SORT z BY nosort LIMIT 4 5"), array(&[]));
}

#[test]
fn an_unsorted_set_is_sorted_as_alpha_when_stored() {
    let (mut h, c) = harness();
    sadd(&mut h, c, "s", &["10", "9", "b", "a"]);
    assert_eq!(call(&mut h, c, "SORT s BY nosort DESC STORE d"), int(4));
    assert_eq!(
        call(&mut h, c, "LRANGE d 0 -1"),
        array(&["b", "a", "9", "10"])
    );
    // The sort ignores the BY pattern: the set's elements are compared.
    set(&mut h, c, "w_a", "1");
    assert_eq!(
        call(&mut h, c, "SORT s BY nosort BY w_* GET # STORE d"),
        int(4)
    );
    assert_eq!(
        call(&mut h, c, "LRANGE d 0 -1"),
        array(&["10", "9", "a", "b"])
    );
    // Without STORE the set's own order is kept (an intset: ascending).
    sadd(&mut h, c, "i", &["5", "-3", "20"]);
    assert_eq!(
        call(&mut h, c, "SORT i BY nosort DESC"),
        array(&["-3", "5", "20"])
    );
}

#[test]
fn alpha_by_puts_missing_values_first_and_keeps_ties_in_order() {
    let (mut h, c) = harness();
    rpush(&mut h, c, "l", &["a", "b", "c", "d", "e"]);
    set(&mut h, c, "w_b", "y");
    set(&mut h, c, "w_d", "x");
    set(&mut h, c, "w_e", "x");
    assert_eq!(
        call(&mut h, c, "SORT l BY w_* ALPHA"),
        array(&["a", "c", "d", "e", "b"])
    );
    assert_eq!(
        call(&mut h, c, "SORT l BY w_* ALPHA DESC"),
        array(&["b", "d", "e", "a", "c"])
    );
}

// ---- GET, LIMIT, STORE ----

#[test]
fn get_returns_pattern_values_in_order_null_when_missing() {
    let (mut h, c) = harness();
    rpush(&mut h, c, "l", &["2", "1"]);
    set(&mut h, c, "g_1", "one");
    h.call(c, &["HSET", "h_2", "name", "two"]);
    let want = Frame::Array(vec![
        bulk("1"),
        bulk("one"),
        Frame::Null,
        Frame::Null,
        bulk("2"),
        Frame::Null,
        bulk("two"),
        Frame::Null,
    ]);
    assert_eq!(
        call(&mut h, c, "SORT l GET # GET g_* GET h_*->name GET nostar"),
        want
    );
    h.call(c, &["HELLO", "3"]);
    assert_eq!(
        call(&mut h, c, "SORT_RO l GET g_* LIMIT 0 1"),
        Frame::Array(vec![bulk("one")])
    );
    assert_eq!(
        call(&mut h, c, "SORT l GET g_* LIMIT 1 1"),
        Frame::Array(vec![Frame::Null])
    );
    // STORE writes missing values as empty strings.
    assert_eq!(call(&mut h, c, "SORT l GET # GET g_* STORE d"), int(4));
    assert_eq!(
        call(&mut h, c, "LRANGE d 0 -1"),
        array(&["1", "one", "2", ""])
    );
}

#[test]
fn limit_clamps_as_redis() {
    let (mut h, c) = harness();
    rpush(&mut h, c, "l", &["1", "2", "3", "4", "5"]);
    let all = ["1", "2", "3", "4", "5"];
    let all_reversed = ["5", "4", "3", "2", "1"];
    for (limit, want, want_reversed) in [
        ("0 2", &["1", "2"][..], &["5", "4"][..]),
        ("-5 2", &["1", "2"], &["5", "4"]),
        ("3 -1", &["4", "5"], &["2", "1"]),
        ("3 -100", &["4", "5"], &["2", "1"]),
        ("2 0", &[], &[]),
        ("5 1", &[], &[]),
        ("4 9223372036854775807", &["5"], &["1"]),
        (
            "-9223372036854775808 9223372036854775807",
            &all,
            &all_reversed,
        ),
        ("9223372036854775807 1", &[], &[]),
    ] {
        let line = format!("SORT l LIMIT {limit}");
        assert_eq!(call(&mut h, c, &line), array(want), "{line}");
        let line = format!("SORT l BY nosort DESC LIMIT {limit}");
        assert_eq!(call(&mut h, c, &line), array(want_reversed), "{line}");
    }
    // The last LIMIT wins.
    assert_eq!(call(&mut h, c, "SORT l LIMIT 0 1 LIMIT 4 1"), array(&["5"]));
}

#[test]
fn store_replaces_the_destination_and_counts_changes() {
    let mut h = Harness::new(Config::default());
    h.advance(0);
    let c = h.connect();
    rpush(&mut h, c, "l", &["b", "a"]);
    set(&mut h, c, "d", "x");
    assert_eq!(call(&mut h, c, "EXPIRE d 100"), int(1));
    let [_, dirty0, _, _] = state(&mut h, c);
    assert_eq!(call(&mut h, c, "SORT l ALPHA STORE d"), int(2));
    assert_eq!(call(&mut h, c, "TTL d"), int(-1));
    assert_eq!(call(&mut h, c, "TYPE d"), Frame::Simple("list".into()));
    assert_eq!(call(&mut h, c, "LRANGE d 0 -1"), array(&["a", "b"]));
    let [_, dirty1, _, _] = state(&mut h, c);
    assert_eq!(dirty1 - dirty0, 2);
    // The source itself may be the destination.
    assert_eq!(call(&mut h, c, "SORT l ALPHA DESC STORE l"), int(2));
    assert_eq!(call(&mut h, c, "LRANGE l 0 -1"), array(&["b", "a"]));
    // An empty result deletes: one change; nothing to delete: none.
    let [_, dirty2, _, _] = state(&mut h, c);
    assert_eq!(call(&mut h, c, "SORT l ALPHA LIMIT 5 5 STORE d"), int(0));
    assert_eq!(call(&mut h, c, "EXISTS d"), int(0));
    assert_eq!(call(&mut h, c, "SORT l ALPHA LIMIT 5 5 STORE d"), int(0));
    let [_, dirty3, _, _] = state(&mut h, c);
    assert_eq!(dirty3 - dirty2, 1);
    // Without STORE nothing changes.
    assert_eq!(call(&mut h, c, "SORT l ALPHA"), array(&["a", "b"]));
    let [_, dirty4, _, _] = state(&mut h, c);
    assert_eq!(dirty4, dirty3);
}

// ---- side effects ----

#[test]
fn lookups_count_keyspace_hits_and_misses_as_redis() {
    let (mut h, c) = harness();
    rpush(&mut h, c, "k", &["a", "b", "c"]);
    for (k, v) in [("w_a", "3"), ("w_b", "1"), ("g_a", "x"), ("g_b", "y")] {
        set(&mut h, c, k, v);
    }
    let counts = |h: &mut Harness| {
        [
            field(h, c, "stats", "keyspace_hits"),
            field(h, c, "stats", "keyspace_misses"),
        ]
    };
    for (line, delta) in [
        ("SORT k BY w_* GET g_*", [5, 2]),
        ("SORT k BY w_* GET g_* STORE d", [5, 2]),
        ("SORT nokey STORE d", [0, 1]),
        ("SORT k BY nosort GET # GET g_* GET nopat LIMIT 0 2", [3, 0]),
        ("SORT k LIMIT 1 1 BY w_*", [3, 1]),
        ("SORT k BY w_* GET g_* LIMIT 0 1 ALPHA", [3, 2]),
    ] {
        let before = counts(&mut h);
        call(&mut h, c, line);
        let after = counts(&mut h);
        assert_eq!(
            [after[0] - before[0], after[1] - before[1]],
            delta,
            "{line}"
        );
    }
}

#[test]
fn pattern_keys_expire_lazily() {
    let (mut h, c) = harness();
    rpush(&mut h, c, "l", &["a", "b"]);
    set(&mut h, c, "w_a", "5");
    set(&mut h, c, "w_b", "1");
    assert_eq!(call(&mut h, c, "PEXPIRE w_b 10"), int(1));
    assert_eq!(call(&mut h, c, "SORT l BY w_*"), array(&["b", "a"]));
    h.advance(20);
    assert_eq!(call(&mut h, c, "SORT l BY w_*"), array(&["b", "a"]));
    assert_eq!(
        call(&mut h, c, "SORT l BY w_* GET w_*"),
        Frame::Array(vec![Frame::Null, bulk("5")])
    );
}

#[test]
fn a_compact_sorted_set_is_converted_by_sort() {
    let (mut h, c) = harness();
    h.call(c, &["ZADD", "z", "2", "a", "1", "b"]);
    assert_eq!(call(&mut h, c, "OBJECT ENCODING z"), bulk("listpack"));
    assert_eq!(call(&mut h, c, "SORT_RO z ALPHA"), array(&["a", "b"]));
    assert_eq!(call(&mut h, c, "OBJECT ENCODING z"), bulk("skiplist"));
    assert_eq!(
        call(&mut h, c, "ZRANGE z 0 -1 WITHSCORES"),
        array(&["b", "1", "a", "2"])
    );
}

#[test]
fn command_getkeys_finds_the_sorted_key() {
    let (mut h, c) = harness();
    assert_eq!(
        call(&mut h, c, "COMMAND GETKEYS SORT k BY w_* GET g_*"),
        array(&["k"])
    );
    assert_eq!(call(&mut h, c, "COMMAND GETKEYS SORT_RO k"), array(&["k"]));
    // STORE's destination too, the last one, skipping option arguments as
    // Redis does (a key named "store" after GET is not the keyword).
    assert_eq!(
        call(
            &mut h,
            c,
            "COMMAND GETKEYS SORT k BY w_* LIMIT 0 1 STORE d1 GET store STORE d2"
        ),
        array(&["k", "d2"])
    );
    assert_eq!(
        call(&mut h, c, "COMMAND GETKEYS SORT k STORE"),
        array(&["k"])
    );
}

// ---- the model ----

/// The model of a numeric or ALPHA sort without BY: Redis's order over
/// plain values (no NULs, numbers Rust and strtod read alike).
fn model_sort(mut items: Vec<String>, alpha: bool, desc: bool) -> Vec<String> {
    items.sort_by(|a, b| {
        let order = if alpha {
            a.as_bytes().cmp(b.as_bytes())
        } else {
            let (x, y): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
            x.partial_cmp(&y).unwrap().then_with(|| a.cmp(b))
        };
        if desc {
            order.reverse()
        } else {
            order
        }
    });
    items
}

fn model_window(items: Vec<String>, offset: i64, count: i64) -> Vec<String> {
    let start = offset.max(0) as usize;
    let take = if count < 0 {
        usize::MAX
    } else {
        count as usize
    };
    items.into_iter().skip(start).take(take).collect()
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (-50i64..50).prop_map(|n| n.to_string()),
        (-2000i64..2000).prop_map(|n| format!("{}.{}", n / 10, (n % 10).abs())),
        Just("007".to_string()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![number(), "[a-zA-Z _]{0,6}"]
}

/// Writes the items under `key` as a list, set or sorted set; the
/// distinct elements the set types keep.
fn write_source(h: &mut Harness, c: ClientId, kind: u8, items: &[String]) -> Vec<String> {
    let mut distinct = items.to_vec();
    distinct.sort();
    distinct.dedup();
    match kind {
        0 => {
            let mut args = vec!["RPUSH", "src"];
            args.extend(items.iter().map(String::as_str));
            h.call(c, &args);
            items.to_vec()
        }
        1 => {
            let mut args = vec!["SADD", "src"];
            args.extend(items.iter().map(String::as_str));
            h.call(c, &args);
            distinct
        }
        _ => {
            let scored: Vec<(String, String)> = items
                .iter()
                .enumerate()
                .map(|(i, m)| ((i % 3).to_string(), m.clone()))
                .collect();
            let mut args = vec!["ZADD", "src"];
            for (score, member) in &scored {
                args.push(score);
                args.push(member);
            }
            h.call(c, &args);
            distinct
        }
    }
}

fn bulks(frame: Frame) -> Vec<String> {
    let Frame::Array(items) = frame else {
        panic!("an array: {frame:?}")
    };
    items.iter().map(|f| f.text().expect("a bulk")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn sort_matches_the_model(
        kind in 0u8..3,
        alpha in any::<bool>(),
        numeric_items in prop::collection::vec(number(), 1..40),
        text_items in prop::collection::vec(text(), 1..40),
        desc in any::<bool>(),
        limit in prop::option::of((-3i64..45, -2i64..45)),
        store in any::<bool>(),
        weights in any::<bool>(),
    ) {
        let (mut h, c) = harness();
        let items = if alpha { text_items } else { numeric_items };
        let elements = write_source(&mut h, c, kind, &items);
        // BY w_*: each element's weight is itself, so the order is the same.
        if weights {
            for e in &elements {
                h.call(c, &["SET", &format!("w_{e}"), e]);
            }
        }
        let mut args: Vec<String> = vec!["SORT".into(), "src".into()];
        if weights {
            args.extend(["BY".into(), "w_*".into()]);
        }
        if alpha {
            args.push("ALPHA".into());
        }
        if desc {
            args.push("DESC".into());
        }
        if let Some((offset, count)) = limit {
            args.extend(["LIMIT".into(), offset.to_string(), count.to_string()]);
        }
        if store {
            args.extend(["STORE".into(), "dst".into()]);
        }
        let (offset, count) = limit.unwrap_or((0, -1));
        let want = model_window(model_sort(elements, alpha, desc), offset, count);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let reply = h.call(c, &args);
        if store {
            prop_assert_eq!(reply, int(want.len() as i64));
            let stored = h.call(c, &["LRANGE", "dst", "0", "-1"]);
            prop_assert_eq!(bulks(stored), want);
        } else {
            prop_assert_eq!(bulks(reply), want);
        }
    }

    #[test]
    fn get_maps_each_sorted_element(
        items in prop::collection::vec(-20i64..20, 1..30),
        present in prop::collection::vec(any::<bool>(), 40),
    ) {
        let (mut h, c) = harness();
        let items: Vec<String> = items.iter().map(i64::to_string).collect();
        write_source(&mut h, c, 0, &items);
        let mut values = std::collections::HashMap::new();
        for (i, e) in items.iter().enumerate() {
            if present[i] {
                h.call(c, &["SET", &format!("g_{e}"), &format!("v{e}")]);
                values.insert(e.clone(), format!("v{e}"));
            }
        }
        let reply = h.call(c, &["SORT", "src", "GET", "g_*", "GET", "#"]);
        let mut want = Vec::new();
        for e in model_sort(items, false, false) {
            want.push(values.get(&e).map_or(Frame::Null, |v| bulk(v)));
            want.push(bulk(&e));
        }
        prop_assert_eq!(reply, Frame::Array(want));
    }
}
