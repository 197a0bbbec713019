//! What the EXPIRE family and PERSIST propagate (checked against Redis
//! 7.0.15's AOF): absolute times in ms, and a deletion for a time past.

use crate::cmd::keys::replay::{effects_of, recording, recording_with, w};
use crate::config::Config;

/// The harness's clock at start, in Unix ms.
const T0: u64 = 1_700_000_000_000;

fn at(ms: u64) -> String {
    (T0 + ms).to_string()
}

#[test]
fn relative_and_second_times_become_pexpireat_in_ms() {
    let (mut h, c) = recording();
    h.call(c, &["SET", "k", "v"]);
    let cases: &[(&[&str], Vec<String>)] = &[
        (
            &["EXPIRE", "k", "100"],
            w(&["db0", "PEXPIREAT", "k", &at(100_000)]),
        ),
        (
            &["PEXPIRE", "k", "1500"],
            w(&["db0", "PEXPIREAT", "k", &at(1500)]),
        ),
        (
            &["EXPIREAT", "k", "1800000000"],
            w(&["db0", "PEXPIREAT", "k", "1800000000000"]),
        ),
        (
            &["PEXPIREAT", "k", "1800000000001"],
            w(&["db0", "PEXPIREAT", "k", "1800000000001"]),
        ),
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
fn options_are_kept_as_sent_and_refused_updates_propagate_nothing() {
    let (mut h, c) = recording();
    h.call(c, &["SET", "k", "v"]);
    assert!(effects_of(&mut h, c, &["EXPIRE", "k", "10", "xx"]).is_empty());
    assert_eq!(
        effects_of(&mut h, c, &["EXPIRE", "k", "10", "nx"]),
        vec![w(&["db0", "PEXPIREAT", "k", &at(10_000), "nx"])]
    );
    assert!(effects_of(&mut h, c, &["PEXPIRE", "k", "5", "GT"]).is_empty());
    assert!(effects_of(&mut h, c, &["EXPIRE", "missing", "10"]).is_empty());
}

#[test]
fn a_time_already_past_propagates_as_a_deletion() {
    let (mut h, c) = recording();
    for args in [
        &["EXPIRE", "k", "0"][..],
        &["PEXPIRE", "k", "-5"],
        &["EXPIREAT", "k", "1"],
        &["PEXPIREAT", "k", "1"],
    ] {
        h.call(c, &["SET", "k", "v"]);
        assert_eq!(
            effects_of(&mut h, c, args),
            vec![w(&["db0", "DEL", "k"])],
            "{args:?}"
        );
    }
    let (mut h, c) = recording_with(Config {
        lazyfree_lazy_expire: true,
        ..Config::default()
    });
    h.call(c, &["SET", "k", "v"]);
    assert_eq!(
        effects_of(&mut h, c, &["EXPIRE", "k", "0"]),
        vec![w(&["db0", "UNLINK", "k"])]
    );
}

#[test]
fn persist_propagates_as_sent_when_it_removed_a_ttl() {
    let (mut h, c) = recording();
    h.call(c, &["SET", "k", "v", "EX", "100"]);
    assert_eq!(
        effects_of(&mut h, c, &["PERSIST", "k"]),
        vec![w(&["db0", "PERSIST", "k"])]
    );
    assert!(effects_of(&mut h, c, &["PERSIST", "k"]).is_empty());
    assert!(effects_of(&mut h, c, &["PERSIST", "missing"]).is_empty());
}
