//! What the set commands propagate (checked against Redis 7.0.15's AOF),
//! and a replay test over random sequences of them.

use crate::cmd::keys::replay::{check_replay, effects_of, recording, recording_with, w};
use crate::config::Config;
use crate::resp::frame::Frame;
use proptest::prelude::*;

/// The member a one-member reply names.
fn member(frame: Frame) -> String {
    match frame {
        Frame::Bulk(_) => frame.text().expect("a bulk"),
        Frame::Array(items) | Frame::Set(items) if items.len() == 1 => {
            items[0].text().expect("a bulk")
        }
        other => panic!("one member, not {other:?}"),
    }
}

#[test]
fn spop_propagates_as_srem_of_the_member_drawn() {
    let (mut h, c) = recording();
    h.call(c, &["SADD", "s", "a", "b"]);
    h.effects();
    let first = member(h.call(c, &["SPOP", "s"]));
    assert_eq!(h.effects(), vec![w(&["db0", "SREM", "s", &first])]);
    let last = member(h.call(c, &["SPOP", "s"]));
    assert_eq!(
        h.effects(),
        vec![w(&["db0", "SREM", "s", &last])],
        "emptying the set by SPOP without a count is still an SREM"
    );
    assert!(effects_of(&mut h, c, &["SPOP", "s"]).is_empty());
}

#[test]
fn spop_with_a_count_propagates_one_srem_per_member_in_a_transaction() {
    let (mut h, c) = recording();
    h.call(c, &["SADD", "s", "a", "b", "c", "d", "e"]);
    h.effects();
    let (Frame::Set(popped) | Frame::Array(popped)) = h.call(c, &["SPOP", "s", "3"]) else {
        panic!("a set reply")
    };
    assert_eq!(popped.len(), 3);
    let mut effects = vec![w(&["db0", "MULTI"])];
    for m in &popped {
        effects.push(w(&["db0", "SREM", "s", &m.text().expect("a bulk")]));
    }
    effects.push(w(&["db0", "EXEC"]));
    assert_eq!(h.effects(), effects);
    let one = member(h.call(c, &["SPOP", "s", "1"]));
    assert_eq!(h.effects(), vec![w(&["db0", "SREM", "s", &one])]);
    assert!(effects_of(&mut h, c, &["SPOP", "s", "0"]).is_empty());
    assert!(effects_of(&mut h, c, &["SPOP", "missing", "2"]).is_empty());
}

#[test]
fn spop_of_the_whole_set_propagates_as_a_deletion() {
    let (mut h, c) = recording();
    h.call(c, &["SADD", "s", "a", "b"]);
    assert_eq!(
        effects_of(&mut h, c, &["SPOP", "s", "2"]),
        vec![w(&["db0", "DEL", "s"])]
    );
    let (mut h, c) = recording_with(Config {
        lazyfree_lazy_server_del: true,
        ..Config::default()
    });
    h.call(c, &["SADD", "s", "a", "b"]);
    assert_eq!(
        effects_of(&mut h, c, &["SPOP", "s", "5"]),
        vec![w(&["db0", "UNLINK", "s"])]
    );
}

#[test]
fn set_writes_that_change_nothing_propagate_nothing() {
    let (mut h, c) = recording();
    h.call(c, &["SADD", "s", "a"]);
    h.call(c, &["SADD", "t", "a"]);
    for args in [
        &["SADD", "s", "a"][..],
        &["SREM", "s", "zz"],
        &["SMOVE", "s", "t", "zz"],
        &["SMOVE", "s", "s", "a"],
        &["SDIFFSTORE", "missing", "s", "s"],
    ] {
        assert!(effects_of(&mut h, c, args).is_empty(), "{args:?}");
    }
    assert_eq!(
        effects_of(&mut h, c, &["SMOVE", "s", "t", "a"]),
        vec![w(&["db0", "SMOVE", "s", "t", "a"])],
        "the source changed, even with the member already in the destination"
    );
    assert_eq!(
        effects_of(&mut h, c, &["SDIFFSTORE", "t", "t", "t"]),
        vec![w(&["db0", "SDIFFSTORE", "t", "t", "t"])],
        "an empty result deletes the destination"
    );
}

/// One set command (or a time step) on a few keys and members.
fn op() -> impl Strategy<Value = Vec<String>> {
    let key = || prop::sample::select(vec!["a", "b", "c"]);
    let member = || prop::sample::select(vec!["1", "2", "x", "y", "z"]);
    let store = prop::sample::select(vec!["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]);
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    prop_oneof![
        (key(), member(), member()).prop_map(move |(k, a, b)| words(&["SADD", k, a, b])),
        (key(), member()).prop_map(move |(k, m)| words(&["SREM", k, m])),
        key().prop_map(move |k| words(&["SPOP", k])),
        (key(), 0..4u32).prop_map(move |(k, n)| words(&["SPOP", k, &n.to_string()])),
        (key(), key(), member()).prop_map(move |(a, b, m)| words(&["SMOVE", a, b, m])),
        (store, key(), key(), key()).prop_map(move |(s, d, a, b)| words(&[s, d, a, b])),
        (key(), 1..3i32).prop_map(move |(k, s)| words(&["EXPIRE", k, &s.to_string()])),
        (0..2500u32).prop_map(move |ms| words(&["advance", &ms.to_string()])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn set_commands_replay_to_the_same_dataset(script in prop::collection::vec(op(), 1..40)) {
        check_replay(&script);
    }
}
