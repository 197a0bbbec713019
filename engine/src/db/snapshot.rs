//! The database's side of a forkless snapshot (BGSAVE without fork).
//!
//! A snapshot is a point-in-time view written while the server keeps
//! changing the data. Every stored [`Object`] carries a small epoch; a
//! snapshot with epoch `E` has *covered* an entry once the entry's epoch is
//! `E`. The snapshot writer walks each table with the SCAN-stable cursor
//! and writes the entries it has not covered yet ([`Db::snapshot_visit`]);
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

    /// The pre-images saved since the last call.
    pub fn take_preimages(&mut self) -> Vec<Preimage> {
        self.snap
            .as_mut()
            .map(|s| std::mem::take(&mut s.preimages))
            .unwrap_or_default()
    }

    /// The next keys of the walk (about `count`, a bounded number of
    /// buckets); empty once the walk is done.
    pub fn snapshot_next_keys(&mut self, count: usize) -> Vec<Bytes> {
        let Some(snap) = self.snap.as_mut() else {
            return Vec::new();
        };
        if snap.walked {
            return Vec::new();
        }
        let mut keys = Vec::with_capacity(count.min(1024));
        snap.cursor = self.keys.scan(snap.cursor, count, |k, _| {
            keys.push(Bytes::copy_from_slice(k))
        });
        snap.walked = snap.cursor == 0;
        keys
    }

    /// The entry under `key` with its TTL if the snapshot has not covered
    /// it yet, now marking it covered. The walk may meet a key twice (the
    /// table resized) or after a change saved its pre-image: then `None`.
    pub fn snapshot_visit(&mut self, key: &[u8]) -> Option<(&Object, Option<u64>)> {
        let epoch = self.epoch;
        let obj = self.keys.get_mut(key)?;
        if obj.snap_epoch == epoch {
            return None;
        }
        obj.snap_epoch = epoch;
        Some((obj, self.expires.get(key).copied()))
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
