//! What a transaction propagates to the AOF and replicas: its writes as
//! one unit, wrapped in MULTI/EXEC when there are several (Redis 7.0.15
//! does not wrap a single write: checked with `appendonly yes`), never
//! EXEC's own arguments, nothing for a transaction that did not run.

use super::*;

fn w(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

fn recording() -> (Harness, u64) {
    let (mut h, c) = setup();
    h.record_effects();
    (h, c)
}

fn transaction(h: &mut Harness, c: u64, commands: &[&[&str]]) -> Frame {
    h.call(c, &["MULTI"]);
    for command in commands {
        h.call(c, command);
    }
    h.call(c, &["EXEC"])
}

#[test]
fn one_write_propagates_alone_and_reads_propagate_nothing() {
    let (mut h, c) = recording();
    transaction(&mut h, c, &[&["SET", "a", "1"]]);
    assert_eq!(h.effects(), vec![w(&["db0", "SET", "a", "1"])]);
    transaction(&mut h, c, &[&["GET", "a"]]);
    transaction(&mut h, c, &[]);
    assert!(h.effects().is_empty());
    transaction(&mut h, c, &[&["SET", "b", "1"], &["GET", "a"]]);
    assert_eq!(h.effects(), vec![w(&["db0", "SET", "b", "1"])]);
}

#[test]
fn several_writes_are_wrapped_in_multi_exec() {
    let (mut h, c) = recording();
    transaction(
        &mut h,
        c,
        &[
            &["SET", "c", "1"],
            &["INCR", "a"],
            &["SELECT", "3"],
            &["SET", "e", "1"],
        ],
    );
    assert_eq!(
        h.effects(),
        vec![
            w(&["db0", "MULTI"]),
            w(&["db0", "SET", "c", "1"]),
            w(&["db0", "INCR", "a"]),
            w(&["db3", "SET", "e", "1"]),
            w(&["db3", "EXEC"]),
        ]
    );
}

#[test]
fn failed_writes_and_transactions_that_did_not_run_propagate_nothing() {
    let (mut h, c) = recording();
    transaction(&mut h, c, &[&["SET", "a", "x"], &["INCR", "a"]]);
    assert_eq!(h.effects(), vec![w(&["db0", "SET", "a", "x"])]);
    transaction(&mut h, c, &[&["SET", "a", "1"], &["NOSUCH"]]);
    let other = h.connect();
    h.call(c, &["WATCH", "a"]);
    h.call(other, &["FLUSHALL"]);
    h.effects();
    assert_eq!(transaction(&mut h, c, &[&["SET", "a", "2"]]), Frame::Null);
    assert!(h.effects().is_empty());
}

#[test]
fn lazy_expiry_inside_exec_joins_the_unit() {
    let (mut h, c) = recording();
    h.node.server_mut().active_expire_enabled = false;
    h.call(c, &["SET", "old", "1", "PX", "100"]);
    h.effects();
    h.advance(200);
    transaction(&mut h, c, &[&["GET", "old"], &["SET", "k", "1"]]);
    assert_eq!(
        h.effects(),
        vec![
            w(&["db0", "MULTI"]),
            w(&["db0", "DEL", "old"]),
            w(&["db0", "SET", "k", "1"]),
            w(&["db0", "EXEC"]),
        ]
    );
}
