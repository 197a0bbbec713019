//! What the sorted-set commands propagate (checked against Redis
//! 7.0.15's AOF), and a replay test over random sequences of them.

use crate::cmd::keys::replay::{check_replay, effects_of, recording, w};
use proptest::prelude::*;

#[test]
fn zmpop_propagates_as_the_pop_it_made() {
    let (mut h, c) = recording();
    h.call(c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(
        effects_of(
            &mut h,
            c,
            &["ZMPOP", "2", "missing", "z", "MIN", "COUNT", "2"]
        ),
        vec![w(&["db0", "ZPOPMIN", "z", "2"])]
    );
    assert_eq!(
        effects_of(&mut h, c, &["ZMPOP", "1", "z", "MAX", "COUNT", "10"]),
        vec![w(&["db0", "ZPOPMAX", "z", "1"])],
        "the count is what was popped"
    );
    assert!(effects_of(&mut h, c, &["ZMPOP", "1", "z", "MIN"]).is_empty());
}

#[test]
fn zset_writes_that_change_nothing_propagate_nothing() {
    let (mut h, c) = recording();
    h.call(c, &["ZADD", "z", "1", "a"]);
    for args in [
        &["ZADD", "z", "1", "a"][..],
        &["ZADD", "z", "NX", "5", "a"],
        &["ZADD", "z", "GT", "0", "a"],
        &["ZADD", "z", "XX", "INCR", "1", "q"],
        &["ZREM", "z", "zz"],
        &["ZREMRANGEBYSCORE", "z", "5", "6"],
        &["ZPOPMIN", "z", "0"],
        &["ZUNIONSTORE", "d", "1", "missing"],
        &["ZRANGESTORE", "d", "z", "5", "6"],
    ] {
        assert!(effects_of(&mut h, c, args).is_empty(), "{args:?}");
    }
    assert_eq!(
        effects_of(&mut h, c, &["ZADD", "z", "1", "a", "1", "a", "2", "a"]),
        vec![w(&["db0", "ZADD", "z", "1", "a", "1", "a", "2", "a"])]
    );
    assert!(
        effects_of(&mut h, c, &["ZINCRBY", "z", "0", "a"]).is_empty(),
        "a score left as it was is no change, as in Redis"
    );
}

/// One sorted-set command (or a time step) on a few keys and members.
fn op() -> impl Strategy<Value = Vec<String>> {
    let key = || prop::sample::select(vec!["a", "b", "c"]);
    let member = || prop::sample::select(vec!["m", "n", "o", "p"]);
    let score = || prop::sample::select(vec!["0", "1", "-2.5", "3"]);
    let flag = prop::sample::select(vec!["NX", "XX", "GT", "LT", "CH"]);
    let store = prop::sample::select(vec!["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]);
    let end = prop::sample::select(vec!["MIN", "MAX"]);
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    prop_oneof![
        (key(), score(), member()).prop_map(move |(k, s, m)| words(&["ZADD", k, s, m])),
        (key(), flag, score(), member()).prop_map(move |(k, f, s, m)| words(&["ZADD", k, f, s, m])),
        (key(), score(), member()).prop_map(move |(k, s, m)| words(&["ZINCRBY", k, s, m])),
        (key(), member()).prop_map(move |(k, m)| words(&["ZREM", k, m])),
        (key(), 0..3u32).prop_map(move |(k, n)| words(&["ZPOPMIN", k, &n.to_string()])),
        key().prop_map(move |k| words(&["ZPOPMAX", k])),
        (key(), key(), end, 1..3u32).prop_map(move |(a, b, e, n)| words(&[
            "ZMPOP",
            "2",
            a,
            b,
            e,
            "COUNT",
            &n.to_string()
        ])),
        (key(), -1..2i32).prop_map(move |(k, r)| words(&[
            "ZREMRANGEBYRANK",
            k,
            "0",
            &r.to_string()
        ])),
        key().prop_map(move |k| words(&["ZREMRANGEBYSCORE", k, "-inf", "0"])),
        key().prop_map(move |k| words(&["ZREMRANGEBYLEX", k, "[m", "(o"])),
        (store, key(), key(), key()).prop_map(move |(s, d, a, b)| words(&[s, d, "2", a, b])),
        (key(), key()).prop_map(move |(d, s)| words(&["ZRANGESTORE", d, s, "0", "1"])),
        (key(), 1..3i32).prop_map(move |(k, s)| words(&["EXPIRE", k, &s.to_string()])),
        (0..2500u32).prop_map(move |ms| words(&["advance", &ms.to_string()])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn zset_commands_replay_to_the_same_dataset(script in prop::collection::vec(op(), 1..40)) {
        check_replay(&script);
    }
}
