//! The database's side of a forkless snapshot (BGSAVE without fork).
//!
//! A snapshot is a point-in-time view written while the server keeps
//! changing the data. Every stored [`Object`] carries a small epoch; a
//! snapshot with epoch `E` has *covered* an entry once the entry's epoch is
//! `E`. The snapshot writer walks each table with the SCAN-stable cursor
//! and writes the entries it has not covered yet ([`Db::snapshot_walk`]);
//! every change to an entry it has not covered yet first saves the entry's
//! pre-image (value and TTL as at the start) for the writer
//! ([`Db::take_preimages`]); entries born during the snapshot are covered
//! at birth. So each entry present at the start is written exactly once,
//! as it was at the start, and nothing created later is written.
//!
//! Reads never change what a snapshot sees, so they do not save
//! pre-images ([`Db::get_for_read`]).

use super::dict::Dict;
use super::{entry_bytes, Cleared, Db, Object};
use bytes::Bytes;

/// An entry as it was when the snapshot started, saved before a change.
#[derive(Debug, Clone, PartialEq)]
pub struct Preimage {
    pub key: Bytes,
    pub obj: Object,
    /// Absolute expiry (Unix ms) at the start.
    pub expire_at: Option<u64>,
}

/// Keys packed end to end in one buffer: the scratch space of a walk
/// step ([`Db::snapshot_walk`]), reused from step to step.
#[derive(Debug, Default)]
pub struct KeyBuf {
    bytes: Vec<u8>,
    /// Where each key ends in `bytes`.
    ends: Vec<usize>,
}

impl KeyBuf {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    pub fn push(&mut self, key: &[u8]) {
        self.bytes.extend_from_slice(key);
        self.ends.push(self.bytes.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter())
            .map(|(start, &end)| &self.bytes[start..end])
    }
}

/// A snapshot in progress over one database.
#[derive(Debug)]
pub(super) struct SnapState {
    /// The database's index when the snapshot started (SWAPDB moves a
    /// `Db` and its snapshot state together).
    origin: usize,
    /// Keys and keys with a TTL at the start (RESIZEDB hints).
    size_at_start: u64,
    expires_at_start: u64,
    /// Entries changed before the walk reached them, waiting to be written.
    preimages: Vec<Preimage>,
    cursor: u64,
    walked: bool,
}

/// What the snapshot writer needs to know about a database it walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapInfo {
    pub origin: usize,
    pub size_at_start: u64,
    pub expires_at_start: u64,
}

impl Db {
    /// Starts snapshot `epoch` (never the epoch of a previous snapshot
    /// still present on some entry: see [`Db::reset_epochs`]) of this
    /// database, which is number `origin`.
    pub fn begin_snapshot(&mut self, epoch: u16, origin: usize) {
        self.epoch = epoch;
        self.snap = Some(SnapState {
            origin,
            size_at_start: self.keys.len() as u64,
            expires_at_start: self.expires.len() as u64,
            preimages: Vec::new(),
            cursor: 0,
            walked: self.keys.is_empty(),
        });
    }

    /// Stops the snapshot (finished or abandoned): changes no longer save
    /// pre-images, and any not yet taken are dropped.
    pub fn end_snapshot(&mut self) {
        self.snap = None;
    }

    pub fn snapshot_info(&self) -> Option<SnapInfo> {
        self.snap.as_ref().map(|s| SnapInfo {
            origin: s.origin,
            size_at_start: s.size_at_start,
            expires_at_start: s.expires_at_start,
        })
    }

    /// True while the snapshot still has entries of this database to
    /// visit or pre-images to hand over.
    pub fn snapshot_pending(&self) -> bool {
        self.snap
            .as_ref()
            .is_some_and(|s| !s.walked || !s.preimages.is_empty())
    }

    /// True while the walk of this database's table is not done.
    pub fn snapshot_walk_pending(&self) -> bool {
        self.snap.as_ref().is_some_and(|s| !s.walked)
    }

    /// Up to `max` of the pre-images saved and not taken yet (the most
    /// recent first: the order in the file does not matter, and taking
    /// from the end moves nothing).
    pub fn take_preimages(&mut self, max: usize) -> Vec<Preimage> {
        let Some(snap) = self.snap.as_mut() else {
            return Vec::new();
        };
        let keep = snap.preimages.len().saturating_sub(max);
        snap.preimages.split_off(keep)
    }

    /// Walks the next buckets (about `count` entries) in place: hands
    /// every entry the snapshot has not covered yet to `write` with its
    /// TTL, then marks those covered. The walk may meet an entry twice
    /// (the table resized) or after a change saved its pre-image: it is
    /// covered then and skipped. `keys` is scratch space kept by the
    /// caller, so that a step allocates nothing per key. Returns how many
    /// entries the step met, covered or not (0 once the walk is done).
    pub fn snapshot_walk(
        &mut self,
        count: usize,
        keys: &mut KeyBuf,
        mut write: impl FnMut(&[u8], &Object, Option<u64>),
    ) -> usize {
        let Some(snap) = self.snap.as_mut() else {
            return 0;
        };
        if snap.walked {
            return 0;
        }
        let epoch = self.epoch;
        let expires = &self.expires;
        // Most datasets have no TTLs: skip the lookup then.
        let with_ttls = !expires.is_empty();
        let mut met = 0;
        keys.clear();
        snap.cursor = self.keys.scan(snap.cursor, count, |key, obj| {
            met += 1;
            if obj.snap_epoch == epoch {
                return;
            }
            let expire_at = if with_ttls {
                expires.get(key).copied()
            } else {
                None
            };
            write(key, obj, expire_at);
            keys.push(key);
        });
        snap.walked = snap.cursor == 0;
        for key in keys.iter() {
            if let Some(obj) = self.keys.get_mut(key) {
                obj.snap_epoch = epoch;
            }
        }
        met
    }

    /// Before `key`'s entry changes: saves its pre-image if a snapshot is
    /// running and has not covered it yet.
    pub(super) fn preserve(&mut self, key: &[u8]) {
        let Some(snap) = self.snap.as_mut() else {
            return;
        };
        let epoch = self.epoch;
        let Some(obj) = self.keys.get_mut(key) else {
            return;
        };
        if obj.snap_epoch == epoch {
            return;
        }
        obj.snap_epoch = epoch;
        snap.preimages.push(Preimage {
            key: Bytes::copy_from_slice(key),
            obj: obj.clone(),
            expire_at: self.expires.get(key).copied(),
        });
    }

    /// Before the whole table goes (FLUSHDB, FLUSHALL): the entries the
    /// snapshot has not covered become pre-images (moved, not copied);
    /// the rest is returned to be freed. O(n) during a snapshot, O(1)
    /// otherwise.
    pub(super) fn preserve_all(&mut self, mut cleared: Cleared, expires: Dict<u64>) -> Cleared {
        let epoch = self.epoch;
        let Some(snap) = self.snap.as_mut() else {
            return cleared;
        };
        let uncovered: Vec<Bytes> = cleared
            .keys
            .iter()
            .filter(|(_, obj)| obj.snap_epoch != epoch)
            .map(|(key, _)| Bytes::copy_from_slice(key))
            .collect();
        for key in uncovered {
            if let Some((_, obj)) = cleared.keys.remove(&key) {
                cleared.bytes = cleared.bytes.saturating_sub(entry_bytes(&key, &obj));
                let expire_at = expires.get(&key).copied();
                snap.preimages.push(Preimage {
                    key,
                    obj,
                    expire_at,
                });
            }
        }
        // Nothing is left to walk: the table is empty from now on.
        snap.walked = true;
        cleared
    }

    /// Puts every entry back to epoch 0, so that epochs can be handed out
    /// again from 1 (the counter wrapped: once per 65535 snapshots, O(n)).
    pub fn reset_epochs(&mut self) {
        self.epoch = 0;
        let keys: Vec<Vec<u8>> = self.keys.iter().map(|(k, _)| k.to_vec()).collect();
        for key in keys {
            if let Some(obj) = self.keys.get_mut(&key) {
                obj.snap_epoch = 0;
            }
        }
    }

    /// Looks `key` up for a read: lazy expiry, then the object, which the
    /// caller may touch (access metadata, or an internal re-encoding that
    /// keeps its contents) but must not change: a running snapshot saves
    /// no pre-image for it.
    pub fn get_for_read(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Object> {
        if self.expire_if_needed(key, now_ms) {
            return None;
        }
        self.settle();
        let (slot, obj) = self.keys.get_mut_with_slot(key)?;
        self.lent = Some((slot, super::entry_bytes(key, obj)));
        Some(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{StrValue, Value};
    use std::collections::BTreeMap;

    fn s(v: &str) -> Value {
        Value::Str(StrValue::from_bytes(v.as_bytes()))
    }

    fn text(obj: &Object) -> String {
        match &obj.value {
            Value::Str(v) => String::from_utf8_lossy(&v.to_bytes()).into_owned(),
            _ => panic!("only strings here"),
        }
    }

    /// One walk step: every entry it wrote, key → (value, TTL).
    fn step(
        db: &mut Db,
        count: usize,
        keys: &mut KeyBuf,
    ) -> BTreeMap<String, (String, Option<u64>)> {
        let mut out = BTreeMap::new();
        db.snapshot_walk(count, keys, |k, obj, ttl| {
            let key = String::from_utf8_lossy(k).into_owned();
            assert!(
                out.insert(key, (text(obj), ttl)).is_none(),
                "twice in a step"
            );
        });
        out
    }

    #[test]
    fn key_buf_gives_back_the_keys_it_was_given() {
        let mut buf = KeyBuf::default();
        assert!(buf.is_empty());
        for key in [&b"a"[..], b"", b"longer key", b""] {
            buf.push(key);
        }
        let keys: Vec<&[u8]> = buf.iter().collect();
        assert_eq!(keys, vec![&b"a"[..], b"", b"longer key", b""]);
        assert_eq!(buf.len(), 4);
        buf.clear();
        assert_eq!(buf.iter().count(), 0);
    }

    /// Every entry present at the start is written once, as it was, by
    /// the walk or as a pre-image, while the table grows (and so is
    /// rehashed) under the walk, values change, keys go and come.
    #[test]
    fn the_walk_writes_each_entry_once_as_at_the_start_while_the_table_grows() {
        let mut db = Db::new(9);
        for i in 0..500 {
            db.set(format!("k{i}").as_bytes(), s(&format!("v{i}")), 0, false);
        }
        db.set_expire(b"k7", 123_456);
        db.begin_snapshot(1, 0);
        let mut keys = KeyBuf::default();
        let mut seen: BTreeMap<String, (String, Option<u64>)> = BTreeMap::new();
        let mut round = 0;
        while db.snapshot_pending() {
            for (k, v) in step(&mut db, 7, &mut keys) {
                assert!(seen.insert(k.clone(), v).is_none(), "{k} written twice");
            }
            for p in db.take_preimages(3) {
                let key = String::from_utf8_lossy(&p.key).into_owned();
                let v = (text(&p.obj), p.expire_at);
                assert!(seen.insert(key.clone(), v).is_none(), "{key} written twice");
            }
            // Writes between steps: new keys (the table grows), changes
            // and deletions of keys walked or not.
            for j in 0..20 {
                db.set(format!("new{round}:{j}").as_bytes(), s("new"), 0, false);
            }
            db.set(
                format!("k{}", (round * 37) % 500).as_bytes(),
                s("changed"),
                0,
                false,
            );
            db.remove(format!("k{}", (round * 53 + 1) % 500).as_bytes());
            if db.keys.contains_key(b"k7") {
                db.set_expire(b"k7", 999);
            }
            round += 1;
            assert!(round < 10_000, "the walk ends");
        }
        let expected: BTreeMap<String, (String, Option<u64>)> = (0..500)
            .map(|i| {
                let ttl = (i == 7).then_some(123_456);
                (format!("k{i}"), (format!("v{i}"), ttl))
            })
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn pre_images_are_taken_a_bounded_number_at_a_time() {
        let mut db = Db::new(3);
        for i in 0..10 {
            db.set(format!("k{i}").as_bytes(), s("v"), 0, false);
        }
        db.begin_snapshot(1, 0);
        for i in 0..10 {
            db.remove(format!("k{i}").as_bytes());
        }
        assert_eq!(db.take_preimages(4).len(), 4);
        assert_eq!(db.take_preimages(4).len(), 4);
        assert_eq!(db.take_preimages(4).len(), 2);
        assert!(db.take_preimages(4).is_empty());
        // The table is empty: the walk writes nothing and ends.
        let mut keys = KeyBuf::default();
        assert!(step(&mut db, 10, &mut keys).is_empty());
        assert!(!db.snapshot_pending());
    }

    #[test]
    fn a_walk_with_nothing_uncovered_writes_nothing_and_ends() {
        let mut db = Db::new(4);
        db.set(b"a", s("1"), 0, false);
        db.begin_snapshot(1, 0);
        db.set(b"a", s("2"), 0, false);
        let mut keys = KeyBuf::default();
        let mut rounds = 0;
        while db.snapshot_walk_pending() {
            assert!(step(&mut db, 10, &mut keys).is_empty());
            rounds += 1;
            assert!(rounds < 100);
        }
        let pre = db.take_preimages(10);
        assert_eq!(pre.len(), 1);
        assert_eq!(text(&pre[0].obj), "1");
        assert!(!db.snapshot_pending());
    }
}
