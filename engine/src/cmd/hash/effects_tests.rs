//! What the hash commands propagate (checked against Redis 7.0.15's AOF),
//! and a replay test over random sequences of them.

use crate::cmd::keys::replay::{check_replay, effects_of, recording, w};
use proptest::prelude::*;

#[test]
fn hincrbyfloat_propagates_as_hset_of_its_result() {
    let (mut h, c) = recording();
    assert_eq!(
        effects_of(&mut h, c, &["HINCRBYFLOAT", "h", "f", "1.5"]),
        vec![w(&["db0", "HSET", "h", "f", "1.5"])]
    );
    assert_eq!(
        effects_of(&mut h, c, &["HINCRBYFLOAT", "h", "f", "1e2"]),
        vec![w(&["db0", "HSET", "h", "f", "101.5"])]
    );
    assert!(effects_of(&mut h, c, &["HINCRBYFLOAT", "h", "f", "x"]).is_empty());
}

#[test]
fn hash_writes_that_change_nothing_propagate_nothing() {
    let (mut h, c) = recording();
    h.call(c, &["HSET", "h", "a", "1"]);
    assert!(effects_of(&mut h, c, &["HDEL", "h", "zz"]).is_empty());
    assert!(effects_of(&mut h, c, &["HDEL", "missing", "a"]).is_empty());
    assert!(effects_of(&mut h, c, &["HSETNX", "h", "a", "2"]).is_empty());
    assert_eq!(
        effects_of(&mut h, c, &["HSET", "h", "a", "1"]),
        vec![w(&["db0", "HSET", "h", "a", "1"])],
        "HSET writes even the same value, as Redis"
    );
    assert_eq!(
        effects_of(&mut h, c, &["HDEL", "h", "a", "zz"]),
        vec![w(&["db0", "HDEL", "h", "a", "zz"])]
    );
}

/// One hash command (or a time step) on a few keys and fields.
fn op() -> impl Strategy<Value = Vec<String>> {
    let key = || prop::sample::select(vec!["a", "b"]);
    let field = || prop::sample::select(vec!["f", "g", "h"]);
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    prop_oneof![
        (key(), field(), 0..9u32).prop_map(move |(k, f, v)| words(&["HSET", k, f, &v.to_string()])),
        (key(), field(), field()).prop_map(move |(k, f, g)| words(&["HMSET", k, f, "1", g, "2"])),
        (key(), field()).prop_map(move |(k, f)| words(&["HSETNX", k, f, "n"])),
        (key(), field(), field()).prop_map(move |(k, f, g)| words(&["HDEL", k, f, g])),
        (key(), field(), -3..3i64).prop_map(move |(k, f, n)| words(&[
            "HINCRBY",
            k,
            f,
            &n.to_string()
        ])),
        (
            key(),
            field(),
            prop::sample::select(vec!["0.1", "-2.5", "1e2", "0.3333"])
        )
            .prop_map(move |(k, f, x)| words(&["HINCRBYFLOAT", k, f, x])),
        (key(), 1..3i32).prop_map(move |(k, s)| words(&["EXPIRE", k, &s.to_string()])),
        key().prop_map(move |k| words(&["PERSIST", k])),
        (0..2500u32).prop_map(move |ms| words(&["advance", &ms.to_string()])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn hash_commands_replay_to_the_same_dataset(script in prop::collection::vec(op(), 1..40)) {
        check_replay(&script);
    }
}
