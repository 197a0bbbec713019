//! WATCH: which changes make EXEC fail, as Redis 7.0.15 decides (each
//! case checked against the real server).

use super::*;

/// A node with active expiry off (each test turns it on if it needs it),
/// a watcher and another client.
fn two_clients() -> (Harness, u64, u64) {
    let (mut h, c) = setup();
    h.node.server_mut().active_expire_enabled = false;
    let other = h.connect();
    (h, c, other)
}

/// Sends `commands` from `client`, waiting `ms` for a `("SLEEP", ms)`.
fn run(h: &mut Harness, client: u64, commands: &[&[&str]]) {
    for command in commands {
        match command {
            ["SLEEP", ms] => h.advance(ms.parse().expect("ms")),
            _ => {
                h.call(client, command);
            }
        }
    }
}

/// `setup` by the other client, WATCH k, `between` by the other client,
/// then MULTI/PING/EXEC: whether EXEC ran.
fn exec_runs(setup: &[&[&str]], between: &[&[&str]]) -> bool {
    let (mut h, c, other) = two_clients();
    run(&mut h, other, setup);
    assert_eq!(h.call(c, &["WATCH", "k"]), ok());
    run(&mut h, other, between);
    h.call(c, &["MULTI"]);
    h.call(c, &["PING"]);
    match h.call(c, &["EXEC"]) {
        Frame::Array(replies) => {
            assert_eq!(replies, vec![Frame::Simple("PONG".into())]);
            true
        }
        Frame::Null => false,
        other => panic!("unexpected EXEC reply {other:?}"),
    }
}

#[test]
fn untouched_keys_let_exec_run() {
    assert!(exec_runs(&[], &[]));
    assert!(exec_runs(
        &[&["SET", "k", "1"]],
        &[&["GET", "k"], &["TOUCH", "k"]]
    ));
    assert!(exec_runs(&[], &[&["SELECT", "1"], &["FLUSHDB"]]));
}

#[test]
fn a_key_live_when_watched_that_expires_fails_exec() {
    // Not deleted yet: EXEC sees it expired.
    assert!(!exec_runs(
        &[&["SET", "k", "v", "PX", "200"]],
        &[&["SLEEP", "300"]]
    ));
    // Deleted lazily by another client's read.
    assert!(!exec_runs(
        &[&["SET", "k", "v", "PX", "200"]],
        &[&["SLEEP", "300"], &["GET", "k"]]
    ));
}

#[test]
fn a_key_deleted_by_active_expiry_fails_exec() {
    let (mut h, c, other) = two_clients();
    h.call(other, &["SET", "k", "v", "PX", "200"]);
    h.call(c, &["WATCH", "k"]);
    h.node.server_mut().active_expire_enabled = true;
    h.advance_ticking(1000);
    assert_eq!(
        h.call(other, &["DBSIZE"]),
        Frame::Int(0),
        "actively expired"
    );
    let line = client_line(&mut h, other, c);
    assert_eq!(field(&line, "flags"), "d");
    h.call(c, &["MULTI"]);
    assert_eq!(h.call(c, &["EXEC"]), Frame::Null);
}

#[test]
fn a_key_already_expired_when_watched_is_logically_absent() {
    let expired = &[&["SET", "k", "v", "PX", "50"][..], &["SLEEP", "100"]][..];
    assert!(exec_runs(expired, &[]));
    assert!(exec_runs(expired, &[&["GET", "k"]]));
    assert!(exec_runs(expired, &[&["EXISTS", "k"]]));
    assert!(exec_runs(expired, &[&["FLUSHDB"]]));
    let (mut h, c, other) = two_clients();
    run(&mut h, other, expired);
    h.call(c, &["WATCH", "k"]);
    h.node.server_mut().active_expire_enabled = true;
    h.advance_ticking(1000);
    assert_eq!(h.call(other, &["DBSIZE"]), Frame::Int(0));
    assert_eq!(field(&client_line(&mut h, other, c), "flags"), "N");
    h.call(c, &["MULTI"]);
    assert_eq!(h.call(c, &["EXEC"]), Frame::Array(vec![]));
}

#[test]
fn flushdb_and_flushall_touch_the_watched_keys_that_exist() {
    assert!(exec_runs(&[], &[&["FLUSHDB"]]));
    assert!(!exec_runs(&[&["SET", "k", "1"]], &[&["FLUSHDB"]]));
    assert!(!exec_runs(&[&["SET", "k", "1"]], &[&["FLUSHDB", "ASYNC"]]));
    assert!(!exec_runs(&[&["SET", "k", "1"]], &[&["FLUSHALL"]]));
    let elsewhere = &[&["SELECT", "1"][..], &["SET", "k", "1"], &["SELECT", "0"]][..];
    assert!(exec_runs(elsewhere, &[&["FLUSHALL"]]));
}

#[test]
fn swapdb_touches_watched_keys_present_on_either_side() {
    let in_db1 = &[&["SELECT", "1"][..], &["SET", "k", "1"], &["SELECT", "0"]][..];
    assert!(!exec_runs(in_db1, &[&["SWAPDB", "0", "1"]]));
    assert!(exec_runs(&[], &[&["SWAPDB", "0", "1"]]));
    assert!(!exec_runs(&[&["SET", "k", "1"]], &[&["SWAPDB", "0", "1"]]));
    assert!(!exec_runs(&[&["SET", "k", "1"]], &[&["SWAPDB", "1", "0"]]));
    assert!(exec_runs(&[&["SET", "k", "1"]], &[&["SWAPDB", "0", "0"]]));
    assert!(exec_runs(&[&["SET", "k", "1"]], &[&["SWAPDB", "1", "2"]]));
}

#[test]
fn swapdb_with_expired_keys_follows_redis() {
    let expired_here = &[&["SET", "k", "v", "PX", "50"][..], &["SLEEP", "100"]][..];
    let live_there = &[&["SELECT", "1"][..], &["SET", "k", "1"], &["SELECT", "0"]][..];
    let both: Vec<&[&str]> = expired_here.iter().chain(live_there).copied().collect();
    assert!(
        !exec_runs(&both, &[&["SWAPDB", "0", "1"]]),
        "expired replaced by live"
    );
    let expired_both = &[
        &["SET", "k", "v", "PX", "50"][..],
        &["SELECT", "1"],
        &["SET", "k", "1", "PX", "50"],
        &["SELECT", "0"],
        &["SLEEP", "100"],
    ][..];
    assert!(
        exec_runs(expired_both, &[&["SWAPDB", "0", "1"]]),
        "stays expired"
    );
    let expired_there = &[
        &["SELECT", "1"][..],
        &["SET", "k", "1", "PX", "50"],
        &["SELECT", "0"],
        &["SLEEP", "100"],
    ][..];
    assert!(
        exec_runs(expired_there, &[&["SWAPDB", "0", "1"]]),
        "absent → expired"
    );
    let expiring_there = &[
        &["SELECT", "1"][..],
        &["SET", "k", "1", "PX", "200"],
        &["SELECT", "0"],
    ][..];
    assert!(!exec_runs(
        expiring_there,
        &[&["SWAPDB", "0", "1"], &["SLEEP", "300"]]
    ));
}

#[test]
fn a_watch_in_one_db_ignores_the_same_key_in_another() {
    let (mut h, c, other) = two_clients();
    h.call(c, &["SELECT", "3"]);
    h.call(c, &["WATCH", "k"]);
    h.call(c, &["SELECT", "0"]);
    h.call(other, &["SET", "k", "1"]);
    h.call(other, &["FLUSHDB"]);
    h.call(c, &["MULTI"]);
    assert_eq!(h.call(c, &["EXEC"]), Frame::Array(vec![]));
}

// ---- writes by other clients: need `ctx.key_modified` in the write
// commands (added by the hooks helper, branch wt-hooks). ----

#[test]
fn writes_by_another_client_fail_exec() {
    let live = &[&["SET", "k", "1"][..]][..];
    assert!(!exec_runs(&[], &[&["SET", "k", "2"]]));
    assert!(!exec_runs(live, &[&["SET", "k", "1"]]), "same value counts");
    assert!(!exec_runs(live, &[&["DEL", "k"]]));
    assert!(!exec_runs(live, &[&["INCR", "k"]]));
    assert!(!exec_runs(live, &[&["EXPIRE", "k", "100"]]));
    assert!(!exec_runs(&[], &[&["LPUSH", "k", "a"]]));
    assert!(!exec_runs(&[&["SET", "j", "1"]], &[&["RENAME", "j", "k"]]));
    assert!(
        exec_runs(&[], &[&["DEL", "k"]]),
        "deleting nothing is no change"
    );
    let expired = &[&["SET", "k", "v", "PX", "50"][..], &["SLEEP", "100"]][..];
    assert!(!exec_runs(expired, &[&["SET", "k", "2"]]));
    assert!(!exec_runs(expired, &[&["GET", "k"], &["SET", "k", "1"]]));
}

#[test]
fn the_transactions_own_writes_touch_other_watchers() {
    let (mut h, c, other) = two_clients();
    h.call(other, &["WATCH", "k"]);
    h.call(c, &["MULTI"]);
    h.call(c, &["SET", "k", "1"]);
    h.call(c, &["EXEC"]);
    h.call(other, &["MULTI"]);
    assert_eq!(h.call(other, &["EXEC"]), Frame::Null);
}
