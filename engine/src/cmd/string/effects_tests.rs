//! What the string commands propagate (checked against Redis 7.0.15's
//! AOF), and a replay test over random sequences of them.

use crate::cmd::keys::replay::{check_replay, effects_of, recording, recording_with, w};
use crate::config::Config;
use proptest::prelude::*;

/// The harness's clock at start, in Unix ms.
const T0: u64 = 1_700_000_000_000;

fn at(ms: u64) -> String {
    (T0 + ms).to_string()
}

#[test]
fn set_with_an_expiry_propagates_as_set_pxat() {
    let (mut h, c) = recording();
    let pxat = |key: &str, ms: &str| w(&["db0", "SET", key, "v", "PXAT", ms]);
    let cases: &[(&[&str], Vec<String>)] = &[
        (&["SET", "k", "v", "EX", "100"], pxat("k", &at(100_000))),
        (
            &["SET", "k", "v", "px", "1500", "GET"],
            pxat("k", &at(1500)),
        ),
        (
            &["SET", "n", "v", "NX", "EXAT", "1800000000"],
            pxat("n", "1800000000000"),
        ),
        (
            &["SET", "k", "v", "XX", "PXAT", "1800000000001"],
            pxat("k", "1800000000001"),
        ),
        (&["SETEX", "k", "10", "v"], pxat("k", &at(10_000))),
        (&["PSETEX", "k", "10", "v"], pxat("k", &at(10))),
    ];
    for (args, effect) in cases {
        assert_eq!(
            &effects_of(&mut h, c, args),
            &vec![effect.clone()],
            "{args:?}"
        );
    }
}

#[test]
fn set_drops_its_get_words_and_a_refused_set_propagates_nothing() {
    let (mut h, c) = recording();
    assert_eq!(
        effects_of(&mut h, c, &["SET", "k", "v", "GET", "KEEPTTL", "get"]),
        vec![w(&["db0", "SET", "k", "v", "KEEPTTL"])]
    );
    assert_eq!(
        effects_of(&mut h, c, &["SET", "k", "w", "xx"]),
        vec![w(&["db0", "SET", "k", "w", "xx"])]
    );
    assert!(effects_of(&mut h, c, &["SET", "k", "v", "NX", "GET"]).is_empty());
    assert!(effects_of(&mut h, c, &["SET", "k", "v", "NX", "EX", "5"]).is_empty());
    assert!(effects_of(&mut h, c, &["SET", "q", "v", "XX"]).is_empty());
    assert!(effects_of(&mut h, c, &["SETNX", "k", "v"]).is_empty());
    assert!(effects_of(&mut h, c, &["MSETNX", "k", "1", "j", "2"]).is_empty());
    assert_eq!(
        effects_of(&mut h, c, &["MSETNX", "i", "1", "j", "2"]),
        vec![w(&["db0", "MSETNX", "i", "1", "j", "2"])]
    );
}

#[test]
fn getset_is_set_and_getdel_is_a_deletion() {
    let (mut h, c) = recording();
    assert_eq!(
        effects_of(&mut h, c, &["GETSET", "k", "v"]),
        vec![w(&["db0", "SET", "k", "v"])]
    );
    assert_eq!(
        effects_of(&mut h, c, &["GETDEL", "k"]),
        vec![w(&["db0", "DEL", "k"])]
    );
    assert!(effects_of(&mut h, c, &["GETDEL", "k"]).is_empty());
    let (mut h, c) = recording_with(Config {
        lazyfree_lazy_user_del: true,
        ..Config::default()
    });
    h.call(c, &["SET", "k", "v"]);
    assert_eq!(
        effects_of(&mut h, c, &["GETDEL", "k"]),
        vec![w(&["db0", "UNLINK", "k"])]
    );
}

#[test]
fn getex_propagates_as_pexpireat_persist_or_a_deletion() {
    let (mut h, c) = recording();
    h.call(c, &["SET", "k", "v"]);
    assert!(effects_of(&mut h, c, &["GETEX", "k"]).is_empty());
    assert!(effects_of(&mut h, c, &["GETEX", "k", "PERSIST"]).is_empty());
    assert_eq!(
        effects_of(&mut h, c, &["GETEX", "k", "EX", "100"]),
        vec![w(&["db0", "PEXPIREAT", "k", &at(100_000)])]
    );
    assert_eq!(
        effects_of(&mut h, c, &["GETEX", "k", "PXAT", "1800000000000"]),
        vec![w(&["db0", "PEXPIREAT", "k", "1800000000000"])]
    );
    assert_eq!(
        effects_of(&mut h, c, &["GETEX", "k", "persist"]),
        vec![w(&["db0", "PERSIST", "k"])]
    );
    assert_eq!(
        effects_of(&mut h, c, &["GETEX", "k", "EXAT", "1"]),
        vec![w(&["db0", "DEL", "k"])]
    );
    assert!(effects_of(&mut h, c, &["GETEX", "k", "EX", "5"]).is_empty());
    let (mut h, c) = recording_with(Config {
        lazyfree_lazy_expire: true,
        ..Config::default()
    });
    h.call(c, &["SET", "k", "v"]);
    assert_eq!(
        effects_of(&mut h, c, &["GETEX", "k", "PXAT", "1"]),
        vec![w(&["db0", "UNLINK", "k"])]
    );
}

#[test]
fn incrbyfloat_propagates_its_result_keeping_the_ttl() {
    let (mut h, c) = recording();
    assert_eq!(
        effects_of(&mut h, c, &["INCRBYFLOAT", "f", "1.5"]),
        vec![w(&["db0", "SET", "f", "1.5", "KEEPTTL"])]
    );
    assert_eq!(
        effects_of(&mut h, c, &["INCRBYFLOAT", "f", "1e3"]),
        vec![w(&["db0", "SET", "f", "1001.5", "KEEPTTL"])]
    );
    assert!(effects_of(&mut h, c, &["INCRBYFLOAT", "f", "x"]).is_empty());
}

#[test]
fn in_place_edits_propagate_as_sent_when_they_write() {
    let (mut h, c) = recording();
    assert_eq!(
        effects_of(&mut h, c, &["APPEND", "k", ""]),
        vec![w(&["db0", "APPEND", "k", ""])],
        "Redis creates the empty string and propagates it"
    );
    assert!(effects_of(&mut h, c, &["SETRANGE", "k", "3", ""]).is_empty());
    assert_eq!(
        effects_of(&mut h, c, &["SETRANGE", "k", "3", "x"]),
        vec![w(&["db0", "SETRANGE", "k", "3", "x"])]
    );
    assert_eq!(
        effects_of(&mut h, c, &["INCRBY", "n", "0"]),
        vec![w(&["db0", "INCRBY", "n", "0"])]
    );
}

/// One string command (or a time step) on a few keys.
fn op() -> impl Strategy<Value = Vec<String>> {
    let key = || prop::sample::select(vec!["a", "b", "c"]);
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let ttl = prop::sample::select(vec!["EX", "PX", "EXAT", "PXAT"]);
    let opt = prop::sample::select(vec!["", "NX", "XX", "GET", "KEEPTTL"]);
    prop_oneof![
        (key(), 0..50u32, opt).prop_map(move |(k, v, o)| {
            let mut cmd = words(&["SET", k, &v.to_string()]);
            cmd.extend(words(&[o]).into_iter().filter(|o| !o.is_empty()));
            cmd
        }),
        (key(), ttl.clone(), 1..3000u64).prop_map(move |(k, unit, n)| {
            let n = match unit {
                "EXAT" => (1_700_000_000 + n).to_string(),
                "PXAT" => (1_700_000_000_000 + n * 10).to_string(),
                _ => n.to_string(),
            };
            words(&["SET", k, "t", unit, &n])
        }),
        (key(), 1..3u32).prop_map(move |(k, s)| words(&["SETEX", k, &s.to_string(), "x"])),
        (key(), 1..3000u32).prop_map(move |(k, ms)| words(&["PSETEX", k, &ms.to_string(), "x"])),
        (key(), ttl).prop_map(move |(k, unit)| {
            let n = if unit.ends_with("AT") { "1" } else { "2" };
            words(&["GETEX", k, unit, n])
        }),
        key().prop_map(move |k| words(&["GETEX", k, "PERSIST"])),
        key().prop_map(move |k| words(&["GETDEL", k])),
        key().prop_map(move |k| words(&["GETSET", k, "g"])),
        (key(), -5..5i64).prop_map(move |(k, n)| words(&["INCRBY", k, &n.to_string()])),
        (
            key(),
            prop::sample::select(vec!["0.1", "-1.5", "3e2", "1.25"])
        )
            .prop_map(move |(k, f)| words(&["INCRBYFLOAT", k, f])),
        (key(), 0..5u32).prop_map(move |(k, off)| words(&["SETRANGE", k, &off.to_string(), "z"])),
        key().prop_map(move |k| words(&["APPEND", k, "+"])),
        (key(), key()).prop_map(move |(a, b)| words(&["MSET", a, "m", b, "n"])),
        (key(), key()).prop_map(move |(a, b)| words(&["MSETNX", a, "m", b, "n"])),
        (key(), 1..4i32).prop_map(move |(k, s)| words(&["EXPIRE", k, &s.to_string()])),
        (0..2500u32).prop_map(move |ms| words(&["advance", &ms.to_string()])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn string_commands_replay_to_the_same_dataset(
        script in prop::collection::vec(op(), 1..40)
    ) {
        check_replay(&script);
    }
}
