//! The registry on its own: indexes kept in step, touches, flushes and
//! swaps with Redis 7.0's care for keys that were expired when watched.

use super::*;
use crate::db::Object;
use crate::types::{StrValue, Value};

fn db_with(keys: &[(&str, Option<u64>)]) -> Db {
    let mut db = Db::new(1);
    for (key, expires_at) in keys {
        let value = Value::Str(StrValue::from_bytes(b"v"));
        db.put(
            Bytes::copy_from_slice(key.as_bytes()),
            Object::new(value, 0),
            *expires_at,
        );
    }
    db
}

const NOW: u64 = 1_000;

#[test]
fn watch_indexes_both_ways_and_unwatch_all_clears_both() {
    let db = db_with(&[("k", None)]);
    let mut w = Watches::default();
    w.watch(1, 0, b"k", &db, NOW);
    w.watch(1, 0, b"k", &db, NOW);
    w.watch(1, 2, b"k", &db, NOW);
    w.watch(2, 0, b"k", &db, NOW);
    assert_eq!(
        (w.keys_of(1), w.keys_of(2), w.watched_key_count()),
        (2, 1, 2)
    );
    w.unwatch_all(1);
    assert_eq!((w.keys_of(1), w.watched_key_count()), (0, 1));
    w.retain_clients(|id| id != 2);
    assert!(w.is_empty());
    assert_eq!(w.watched_key_count(), 0);
}

#[test]
fn a_touch_fails_every_watcher_of_that_key_only() {
    let db = db_with(&[]);
    let mut w = Watches::default();
    w.watch(1, 0, b"k", &db, NOW);
    w.watch(1, 0, b"j", &db, NOW);
    w.watch(2, 0, b"k", &db, NOW);
    w.watch(3, 0, b"j", &db, NOW);
    w.watch(4, 1, b"k", &db, NOW);
    w.touch(0, b"k", true);
    let failed: Vec<bool> = (1..=4).map(|id| w.cas_failed(id, NOW)).collect();
    assert_eq!(failed, vec![true, true, false, false]);
    assert_eq!(w.keys_of(1), 0, "a failed client's keys are dropped");
    w.touch(0, b"j", true);
    assert!(w.cas_failed(3, NOW));
    assert!(w.flagged(1, &[db_with(&[])], NOW));
    w.unwatch_all(1);
    assert!(!w.cas_failed(1, NOW), "UNWATCH clears the failure");
}

#[test]
fn deadlines_seen_at_watch_time_decide_expiry() {
    let db = db_with(&[
        ("live", Some(NOW + 100)),
        ("gone", Some(NOW)),
        ("forever", None),
    ]);
    let mut w = Watches::default();
    for key in ["live", "gone", "forever"] {
        w.watch(1, 0, key.as_bytes(), &db, NOW);
    }
    assert!(!w.cas_failed(1, NOW + 99));
    assert!(w.cas_failed(1, NOW + 100), "live when watched, expired now");
    // Expired but still stored: not flagged yet (CLIENT LIST), as Redis.
    assert!(!w.flagged(1, std::slice::from_ref(&db), NOW + 100));
    let after = db_with(&[("gone", Some(NOW)), ("forever", None)]);
    assert!(
        w.flagged(1, std::slice::from_ref(&after), NOW + 100),
        "deleted"
    );
    let mut only_expired = Watches::default();
    only_expired.watch(1, 0, b"gone", &db, NOW);
    assert!(!only_expired.cas_failed(1, NOW + 1_000));
}

#[test]
fn touching_a_key_seen_expired_fails_only_if_it_exists_after() {
    let db = db_with(&[("k", Some(NOW))]);
    let mut w = Watches::default();
    w.watch(1, 0, b"k", &db, NOW);
    w.touch(0, b"k", false);
    assert!(!w.cas_failed(1, NOW), "an expired key deleted: no change");
    w.touch(0, b"k", true);
    assert!(w.cas_failed(1, NOW), "then written: a change");
    let mut w = Watches::default();
    w.watch(1, 0, b"k", &db, NOW);
    w.touch(0, b"k", true);
    assert!(w.cas_failed(1, NOW));
}

#[test]
fn flush_and_swap_touch_keys_present_on_either_side() {
    let empty = db_with(&[]);
    let with_k = db_with(&[("k", None)]);
    let expired_k = db_with(&[("k", Some(NOW))]);
    let case = |watched_in: &Db, old: &Db, new: Option<&Db>| {
        let mut w = Watches::default();
        w.watch(1, 0, b"k", watched_in, NOW);
        w.touch_all_in_db(0, old, new, NOW);
        w.cas_failed(1, NOW)
    };
    assert!(case(&with_k, &with_k, None), "flush of a present key");
    assert!(!case(&empty, &empty, None), "flush of an absent key");
    assert!(
        !case(&expired_k, &expired_k, None),
        "flush of a key seen expired"
    );
    assert!(
        case(&empty, &empty, Some(&with_k)),
        "absent replaced by present"
    );
    assert!(
        case(&with_k, &with_k, Some(&empty)),
        "present replaced by absent"
    );
    assert!(!case(&empty, &empty, Some(&empty)));
    assert!(
        case(&expired_k, &expired_k, Some(&with_k)),
        "expired → live"
    );
    assert!(
        !case(&expired_k, &expired_k, Some(&expired_k)),
        "stays expired"
    );
    assert!(!case(&empty, &empty, Some(&expired_k)), "absent → expired");
    // Other databases' watches are left alone.
    let mut w = Watches::default();
    w.watch(1, 1, b"k", &with_k, NOW);
    w.touch_all_in_db(0, &with_k, None, NOW);
    w.touch_all_in_db(2, &with_k, None, NOW);
    assert!(!w.cas_failed(1, NOW));
}

#[test]
fn a_key_absent_then_swapped_in_expired_is_then_seen_expired() {
    let empty = db_with(&[]);
    let expired_k = db_with(&[("k", Some(NOW))]);
    let mut w = Watches::default();
    w.watch(1, 0, b"k", &empty, NOW);
    w.touch_all_in_db(0, &empty, Some(&expired_k), NOW);
    assert!(!w.cas_failed(1, NOW));
    // Its deletion by expiry afterwards is still no change.
    w.touch(0, b"k", false);
    assert!(!w.cas_failed(1, NOW));
}
