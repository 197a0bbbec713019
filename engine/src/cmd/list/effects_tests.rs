//! What the list commands propagate (checked against Redis 7.0.15's AOF),
//! and a replay test over random sequences of them.

use crate::cmd::keys::replay::{check_replay, effects_of, recording, w};
use proptest::prelude::*;

#[test]
fn lmpop_propagates_as_the_pop_it_made() {
    let (mut h, c) = recording();
    h.call(c, &["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(
        effects_of(
            &mut h,
            c,
            &["LMPOP", "2", "missing", "l", "LEFT", "COUNT", "2"]
        ),
        vec![w(&["db0", "LPOP", "l", "2"])]
    );
    assert_eq!(
        effects_of(&mut h, c, &["LMPOP", "1", "l", "RIGHT", "COUNT", "10"]),
        vec![w(&["db0", "RPOP", "l", "1"])],
        "the count is what was popped"
    );
    assert!(effects_of(&mut h, c, &["LMPOP", "1", "l", "LEFT"]).is_empty());
}

#[test]
fn list_writes_that_change_nothing_propagate_nothing() {
    let (mut h, c) = recording();
    h.call(c, &["RPUSH", "l", "a", "b"]);
    for args in [
        &["LPOP", "l", "0"][..],
        &["RPOP", "missing"],
        &["LPUSHX", "missing", "x"],
        &["LTRIM", "l", "0", "-1"],
        &["LREM", "l", "0", "zz"],
        &["LINSERT", "l", "BEFORE", "zz", "x"],
        &["LMOVE", "missing", "l", "LEFT", "LEFT"],
    ] {
        assert!(effects_of(&mut h, c, args).is_empty(), "{args:?}");
    }
    assert_eq!(
        effects_of(&mut h, c, &["LMOVE", "l", "m", "LEFT", "RIGHT"]),
        vec![w(&["db0", "LMOVE", "l", "m", "LEFT", "RIGHT"])]
    );
    assert_eq!(
        effects_of(&mut h, c, &["LSET", "l", "0", "b"]),
        vec![w(&["db0", "LSET", "l", "0", "b"])],
        "LSET writes even the same value"
    );
}

/// One list command (or a time step) on a few keys.
fn op() -> impl Strategy<Value = Vec<String>> {
    let key = || prop::sample::select(vec!["a", "b", "c"]);
    let end = || prop::sample::select(vec!["LEFT", "RIGHT"]);
    let elem = || prop::sample::select(vec!["x", "y", "z"]);
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    prop_oneof![
        (key(), elem(), elem()).prop_map(move |(k, a, b)| words(&["LPUSH", k, a, b])),
        (key(), elem()).prop_map(move |(k, a)| words(&["RPUSH", k, a])),
        (key(), elem()).prop_map(move |(k, a)| words(&["RPUSHX", k, a])),
        (key(), 0..3u32).prop_map(move |(k, n)| words(&["LPOP", k, &n.to_string()])),
        key().prop_map(move |k| words(&["RPOP", k])),
        (key(), key(), end(), end()).prop_map(move |(a, b, f, t)| words(&["LMOVE", a, b, f, t])),
        (key(), key()).prop_map(move |(a, b)| words(&["RPOPLPUSH", a, b])),
        (key(), key(), end(), 1..4u32).prop_map(move |(a, b, e, n)| {
            words(&["LMPOP", "2", a, b, e, "COUNT", &n.to_string()])
        }),
        (key(), -2..2i32, elem()).prop_map(move |(k, i, e)| words(&["LSET", k, &i.to_string(), e])),
        (key(), elem(), elem()).prop_map(move |(k, p, e)| words(&["LINSERT", k, "AFTER", p, e])),
        (key(), -1..2i32, elem()).prop_map(move |(k, n, e)| words(&["LREM", k, &n.to_string(), e])),
        (key(), 0..2i32, -2..3i32).prop_map(move |(k, a, b)| words(&[
            "LTRIM",
            k,
            &a.to_string(),
            &b.to_string()
        ])),
        (key(), 1..3i32).prop_map(move |(k, s)| words(&["EXPIRE", k, &s.to_string()])),
        (0..2500u32).prop_map(move |ms| words(&["advance", &ms.to_string()])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn list_commands_replay_to_the_same_dataset(script in prop::collection::vec(op(), 1..40)) {
        check_replay(&script);
    }
}
