//! One database of the keyspace: the main dict, the expiry dict, lazy and
//! active expiry.

pub mod access;
mod bulk_load;
pub mod dict;
pub mod snapshot;

use crate::types::Value;
use bytes::Bytes;
pub use dict::StoredKey;
use dict::{Dict, Slot};
use rand_chacha::rand_core::RngCore;

/// A stored value with its access metadata.
#[derive(Debug, Clone)]
pub struct Object {
    pub value: Value,
    /// LRU clock (seconds, 24 bits) under LRU policies, or LFU data
    /// (16-bit minutes << 8 | 8-bit log counter) under LFU policies, as Redis.
    pub access: u32,
    /// True for a value duplicated by COPY. Redis gives a copy an object of
    /// its own, so a small integer copied is not one of Redis's shared
    /// integer objects (OBJECT REFCOUNT tells them apart). Cleared when
    /// the value is replaced.
    pub private_copy: bool,
    /// The last snapshot that covered this entry (see [`snapshot`]); set
    /// by the database, not by callers.
    snap_epoch: u16,
}

/// Objects are equal when their values and metadata are: the snapshot
/// epoch is bookkeeping, not content.
impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
            && self.access == other.access
            && self.private_copy == other.private_copy
    }
}

impl Object {
    pub fn new(value: Value, access: u32) -> Self {
        Object {
            value,
            access,
            private_copy: false,
            snap_epoch: 0,
        }
    }

    /// A duplicate of `value`, as COPY makes.
    pub fn copy_of(value: Value, access: u32) -> Self {
        Object {
            private_copy: true,
            ..Object::new(value, access)
        }
    }
}

/// Values whose [`free_effort`] exceeds this are freed in the background
/// (UNLINK, and DEL under `lazyfree-lazy-user-del`), as Redis's LAZYFREE_THRESHOLD.
pub const LAZYFREE_THRESHOLD: usize = 64;

/// How much work freeing `value` takes: the number of allocations it owns,
/// as Redis's `lazyfreeGetFreeEffort` (a string is one allocation).
pub fn free_effort(value: &Value) -> usize {
    value.free_effort()
}

/// What [`Db::clear`] took out of a database: its main table and the
/// dataset bytes it held.
pub struct Cleared {
    pub keys: Dict<Object>,
    pub bytes: u64,
}

impl Cleared {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Frees up to `budget` elements of a big collection in place, for a value
/// on its way out (the lazy-free queue), and returns how many it freed.
/// The value stays safe to drop and its [`Value::mem_usage`] exact, but a
/// sorted set is torn down rather than kept searchable. Fewer than
/// `budget` means nothing is left that is worth freeing in steps: a string
/// or a compact encoding is one allocation, freed whole with its key.
pub fn drain_some(value: &mut Value, budget: usize) -> usize {
    match value {
        Value::Str(_) => 0,
        Value::List(v) => v.drain_some(budget),
        Value::Hash(v) => v.drain_some(budget),
        Value::Set(v) => v.drain_some(budget),
        Value::ZSet(v) => v.drain_some(budget),
    }
}

/// Result of one active expiry cycle over a database.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExpireCycle {
    pub sampled: usize,
    pub expired: usize,
}

/// The bytes a stored entry accounts for in `used_memory_dataset`: its
/// key and its value ([`Value::mem_usage`], which is O(1)).
fn entry_bytes(key: &[u8], obj: &Object) -> u64 {
    (key.len() + obj.value.mem_usage()) as u64
}

/// What a lookup does with a key whose TTL has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpiryRule {
    /// Deletes it (lazy expiry on a primary).
    #[default]
    Delete,
    /// A replica's rule (Redis's `expireIfNeeded` with a master): a read
    /// finds nothing but leaves the key in place, as the master's `DEL`
    /// removes it; a write lookup deletes it first (Redis forces that for
    /// a writable replica's writes).
    HideOnRead,
    /// The master client's view on a replica (Redis 7.0's `expireIfNeeded`
    /// answers "not expired" to it): a key whose TTL passed by the
    /// replica's clock is still live, as it is on the master until the
    /// master's `DEL` comes; a write from the stream (INCR, APPEND) thus
    /// works on the value the master has.
    Keep,
}

/// One database. The tables are private so that every change goes through
/// the methods below, which keep the dataset size current: INFO reads it
/// in O(1) instead of walking every key (clients such as ioredis send INFO
/// on every connection).
pub struct Db {
    keys: Dict<Object>,
    /// Absolute expiry in Unix milliseconds, for keys that have one.
    expires: Dict<u64>,
    /// Keys removed by expiry (lazy or active) since the last reset.
    pub expired_keys: u64,
    /// [`entry_bytes`] summed over every stored key, as of the last settle.
    data_bytes: u64,
    /// The entry last lent out by [`Db::get_mut`], with its size then: the
    /// borrower may have changed the value in place (APPEND, INCR), so it
    /// is measured again ([`Db::settle`]) before the table next changes.
    /// The borrow checker guarantees the borrower is done by then.
    lent: Option<(Slot, u64)>,
    /// Running estimate of the remaining TTL, in ms, of keys that have one,
    /// as Redis keeps it (INFO keyspace avg_ttl): each active expiry pass
    /// over the db folds the mean TTL of the live keys it sampled in with
    /// a 2% weight. Like Redis's, it is only as fresh as the last pass.
    pub avg_ttl: u64,
    /// Keys expired (lazily or actively) since the last take, kept only
    /// while write effects are recorded (so their deletions propagate) or
    /// `expired` keyspace events are on.
    expired_log: Option<Vec<Bytes>>,
    /// The epoch of the running or last snapshot: entries born now get it.
    epoch: u16,
    /// The snapshot in progress, if any (see [`snapshot`]).
    snap: Option<snapshot::SnapState>,
    /// Keys created since the last take, kept only while `new` keyspace
    /// events are on.
    created_log: Option<Vec<Bytes>>,
    expiry_rule: ExpiryRule,
}

impl Db {
    pub fn new(seed: u64) -> Self {
        Db {
            keys: Dict::new(seed),
            expires: Dict::new(seed ^ 0x5bd1_e995),
            expired_keys: 0,
            data_bytes: 0,
            lent: None,
            avg_ttl: 0,
            expired_log: None,
            epoch: 0,
            snap: None,
            created_log: None,
            expiry_rule: ExpiryRule::Delete,
        }
    }

    /// How lookups treat expired keys from now on (the node's role).
    pub fn set_expiry_rule(&mut self, rule: ExpiryRule) {
        self.expiry_rule = rule;
    }

    pub fn expiry_rule(&self) -> ExpiryRule {
        self.expiry_rule
    }

    /// Warms what lookups of `keys` are about to read (see
    /// [`crate::server::Server::warm_keys`]), one step per pass so that
    /// each pass's cache misses overlap: the table's buckets and entries,
    /// then the bytes of the string values found (a SET frees them, a GET
    /// copies them).
    pub fn warm(&self, keys: &[&[u8]]) {
        self.keys.warm_batch(keys);
        let mut values: [&[u8]; dict::WARM_BATCH] = [&[]; dict::WARM_BATCH];
        let mut found = 0;
        for key in keys.iter().take(dict::WARM_BATCH) {
            if let Some(Object {
                value: Value::Str(crate::types::StrValue::Bytes(bytes)),
                ..
            }) = self.keys.get(key)
            {
                values[found] = bytes;
                found += 1;
            }
        }
        for value in &values[..found] {
            std::hint::black_box(value.first().copied());
        }
    }

    /// The main table (read-only: changes go through `Db`'s methods).
    pub fn keys(&self) -> &Dict<Object> {
        &self.keys
    }

    /// The expiry table: absolute Unix ms per key that has a TTL.
    pub fn expires(&self) -> &Dict<u64> {
        &self.expires
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Bytes of keys and values stored (INFO used_memory_dataset), in O(1).
    pub fn dataset_bytes(&self) -> u64 {
        match self.lent.and_then(|(slot, before)| {
            let (key, obj) = self.keys.get_by_slot(slot)?;
            Some((entry_bytes(key, obj), before))
        }) {
            Some((now, before)) => (self.data_bytes + now).saturating_sub(before),
            None => self.data_bytes,
        }
    }

    /// Accounts for an in-place change to the entry last lent out.
    fn settle(&mut self) {
        self.data_bytes = self.dataset_bytes();
        self.lent = None;
    }

    fn account(&mut self, added: u64, removed: u64) {
        self.data_bytes = (self.data_bytes + added).saturating_sub(removed);
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn expire_at(&self, key: &[u8]) -> Option<u64> {
        self.expires.get(key).copied()
    }

    /// Whether `key` has a TTL that has passed (the key may still be stored).
    pub fn is_expired(&self, key: &[u8], now_ms: u64) -> bool {
        self.expires.get(key).is_some_and(|&at| at <= now_ms)
    }

    /// Lazy expiry for a read: true if `key`'s time has come, in which
    /// case it is deleted, unless the rule is [`ExpiryRule::HideOnRead`]
    /// (a replica), which leaves it stored.
    pub fn expire_if_needed(&mut self, key: &[u8], now_ms: u64) -> bool {
        match self.expiry_rule {
            ExpiryRule::Delete => self.purge_if_expired(key, now_ms),
            ExpiryRule::HideOnRead => self.is_expired(key, now_ms),
            ExpiryRule::Keep => false,
        }
    }

    /// Lazy expiry for a write: deletes `key` if its time has come (under
    /// any rule but [`ExpiryRule::Keep`]). True if it was deleted.
    fn purge_if_expired(&mut self, key: &[u8], now_ms: u64) -> bool {
        if self.expiry_rule == ExpiryRule::Keep || !self.is_expired(key, now_ms) {
            return false;
        }
        self.purge(key);
        true
    }

    /// Deletes an expired `key`, counting and logging it as expired.
    fn purge(&mut self, key: &[u8]) {
        let (key, _) = self.take(key).expect("an expiring key exists");
        self.expired_keys += 1;
        if let Some(log) = &mut self.expired_log {
            log.push(Bytes::copy_from_slice(&key));
        }
    }

    /// Starts or stops logging expired keys (see [`Db::take_expired_log`]);
    /// a log already on keeps what it holds.
    pub fn log_expired(&mut self, on: bool) {
        if on != self.expired_log.is_some() {
            self.expired_log = on.then(Vec::new);
        }
    }

    /// Starts or stops logging created keys (see [`Db::take_created_log`]);
    /// a log already on keeps what it holds.
    pub fn log_created(&mut self, on: bool) {
        if on != self.created_log.is_some() {
            self.created_log = on.then(Vec::new);
        }
    }

    /// The keys created since the last call, oldest first.
    pub fn take_created_log(&mut self) -> Vec<Bytes> {
        self.created_log
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    fn note_created(&mut self, key: &[u8]) {
        if let Some(log) = &mut self.created_log {
            log.push(Bytes::copy_from_slice(key));
        }
    }

    /// Whether keys expired since the last [`Db::take_expired_log`].
    pub fn has_expired_log(&self) -> bool {
        self.expired_log.as_ref().is_some_and(|log| !log.is_empty())
    }

    /// The keys expired since the last call, oldest first.
    pub fn take_expired_log(&mut self) -> Vec<Bytes> {
        self.expired_log
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The live object under `key`, expiring it first if due (a read).
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&Object> {
        if self.expire_if_needed(key, now_ms) {
            return None;
        }
        self.keys.get(key)
    }

    /// The live object under `key` for changing, expiring it first if due.
    pub fn get_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Object> {
        self.purge_if_expired(key, now_ms);
        self.preserve(key);
        self.settle();
        let (slot, obj) = self.keys.get_mut_with_slot(key)?;
        self.lent = Some((slot, entry_bytes(key, obj)));
        Some(obj)
    }

    /// Whether `key` holds a live value. Writers ask this before they
    /// create a key, so an expired one is deleted whatever the rule.
    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.purge_if_expired(key, now_ms);
        self.keys.contains_key(key)
    }

    /// Stores `value` under `key`, replacing any value. The TTL is cleared
    /// unless `keep_ttl`.
    pub fn set(&mut self, key: &[u8], value: Value, access: u32, keep_ttl: bool) {
        self.settle();
        self.preserve(key);
        let mut new = Object::new(value, access);
        new.snap_epoch = self.epoch;
        let added = entry_bytes(key, &new);
        let removed = match self.keys.get_mut(key) {
            Some(obj) => {
                let removed = entry_bytes(key, obj);
                *obj = new;
                if !keep_ttl {
                    self.expires.remove(key);
                }
                removed
            }
            None => {
                self.note_created(key);
                self.keys.insert(key, new);
                0
            }
        };
        self.account(added, removed);
    }

    /// Inserts a key known to be absent (after a lookup found nothing).
    /// On a replica that lookup may have been a read that hid an expired
    /// key: the write deletes it first.
    pub fn insert_new(&mut self, key: &[u8], mut obj: Object) {
        let hidden = self.keys.contains_key(key) && self.expires.contains_key(key);
        if self.expiry_rule == ExpiryRule::HideOnRead && hidden {
            self.purge(key);
        }
        self.settle();
        obj.snap_epoch = self.epoch;
        let added = entry_bytes(key, &obj);
        self.note_created(key);
        let prev = self.keys.insert(key, obj);
        assert!(prev.is_none(), "insert_new over an existing key");
        self.account(added, 0);
    }

    /// Removes `key` with its TTL. Does not check expiry: callers look up first.
    pub fn remove(&mut self, key: &[u8]) -> Option<Object> {
        self.take(key).map(|(_, obj)| obj)
    }

    /// Removes `key` with its TTL and returns the stored key and object.
    /// Does not check expiry: callers look up first.
    pub fn take(&mut self, key: &[u8]) -> Option<(StoredKey, Object)> {
        self.settle();
        self.preserve(key);
        let (key, obj) = self.keys.remove(key)?;
        self.expires.remove(&key);
        self.account(0, entry_bytes(&key, &obj));
        Some((key, obj))
    }

    /// Stores `obj` under `key` with exactly the TTL `expire_at` (absolute
    /// Unix ms, or none), replacing any value and TTL the key had.
    pub fn put(&mut self, key: impl AsRef<[u8]>, mut obj: Object, expire_at: Option<u64>) {
        let key = key.as_ref();
        self.settle();
        self.preserve(key);
        obj.snap_epoch = self.epoch;
        match expire_at {
            Some(at) => {
                self.expires.insert(key, at);
            }
            None => {
                self.expires.remove(key);
            }
        }
        let added = entry_bytes(key, &obj);
        let removed = match self.keys.insert(key, obj) {
            Some(old) => entry_bytes(key, &old),
            None => {
                self.note_created(key);
                0
            }
        };
        self.account(added, removed);
    }

    /// A uniformly drawn key that is not expired, or None when there is no
    /// live key. Sampled expired keys are deleted, as Redis's RANDOMKEY does.
    /// After `tries` expired samples in a row (the keyspace is then mostly
    /// expired keys that active expiry has not reclaimed yet), the first live
    /// key in table order is returned instead: a read-only walk, so at most
    /// `tries` deletions happen per call, and a live key is found whenever
    /// one exists.
    pub fn random_live_key(
        &mut self,
        now_ms: u64,
        rng: &mut impl RngCore,
        tries: usize,
    ) -> Option<Bytes> {
        for _ in 0..tries {
            let (key, _) = self.keys.random_entry(rng)?;
            let key = Bytes::copy_from_slice(key);
            if !self.expire_if_needed(&key, now_ms) {
                return Some(key);
            }
        }
        self.keys
            .iter()
            .map(|(k, _)| k)
            .find(|k| !self.is_expired(k, now_ms))
            .map(Bytes::copy_from_slice)
    }

    /// Sets an absolute expiry on an existing key.
    pub fn set_expire(&mut self, key: &[u8], at_ms: u64) {
        assert!(self.keys.contains_key(key), "set_expire on a missing key");
        self.preserve(key);
        self.expires.insert(key, at_ms);
    }

    /// Removes the TTL of `key`; true if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        if !self.expires.contains_key(key) {
            return false;
        }
        self.preserve(key);
        self.expires.remove(key).is_some()
    }

    /// Empties the database in O(1), returning the old contents so the
    /// caller can free them at its own pace. During a snapshot, entries
    /// it has not covered yet are kept for it instead (see [`snapshot`]),
    /// which takes O(n).
    pub fn clear(&mut self) -> Cleared {
        let bytes = self.dataset_bytes();
        self.lent = None;
        self.data_bytes = 0;
        self.avg_ttl = 0;
        let expires = self.expires.take_all();
        let keys = self.keys.take_all();
        self.preserve_all(Cleared { keys, bytes }, expires)
    }

    /// One bounded, adaptive active expiry cycle: sample keys with a TTL,
    /// delete the expired ones, and sample again while more than the
    /// acceptable share of the sample had expired, up to `max_sampled` keys.
    /// Each round of samples also updates [`Db::avg_ttl`].
    pub fn active_expire(
        &mut self,
        now_ms: u64,
        rng: &mut impl RngCore,
        max_sampled: usize,
    ) -> ExpireCycle {
        use crate::limits::ACTIVE_EXPIRE_ACCEPTABLE_STALE_PERCENT as STALE;
        let mut cycle = ExpireCycle::default();
        if self.expires.is_empty() {
            self.avg_ttl = 0;
        }
        while !self.expires.is_empty() && cycle.sampled < max_sampled {
            let round = self.expire_round(now_ms, rng);
            cycle.sampled += round.sampled;
            cycle.expired += round.expired;
            if round.expired * 100 <= round.sampled * STALE {
                break;
            }
        }
        cycle
    }

    /// One round of active expiry: up to ACTIVE_EXPIRE_KEYS_PER_LOOP
    /// random keys with a TTL, the expired ones deleted, and the mean TTL
    /// of the live ones folded into `avg_ttl`.
    fn expire_round(&mut self, now_ms: u64, rng: &mut impl RngCore) -> ExpireCycle {
        use crate::limits::ACTIVE_EXPIRE_KEYS_PER_LOOP as PER_LOOP;
        let mut round = ExpireCycle::default();
        let (mut ttl_sum, mut ttl_samples) = (0u128, 0u128);
        // The sampled key, copied out of the table that deletes it.
        let mut scratch = Vec::new();
        for _ in 0..PER_LOOP.min(self.expires.len()) {
            let Some((key, &at)) = self.expires.random_entry(rng) else {
                break;
            };
            round.sampled += 1;
            if at <= now_ms {
                scratch.clear();
                scratch.extend_from_slice(key);
                self.expire_if_needed(&scratch, now_ms);
                round.expired += 1;
            } else {
                ttl_sum += u128::from(at - now_ms);
                ttl_samples += 1;
            }
        }
        if let Some(mean) = ttl_sum.checked_div(ttl_samples) {
            self.fold_avg_ttl(u64::try_from(mean).unwrap_or(u64::MAX));
        }
        round
    }

    /// Redis's running average: the first sample sets it, then each new
    /// mean weighs 2% (with Redis's integer rounding: each part divided by
    /// 50 before weighting).
    fn fold_avg_ttl(&mut self, mean: u64) {
        if self.avg_ttl == 0 {
            self.avg_ttl = mean;
        }
        self.avg_ttl = (self.avg_ttl / 50) * 49 + mean / 50;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::StrValue;
    use rand_chacha::rand_core::SeedableRng;

    fn s(v: &str) -> Value {
        Value::Str(StrValue::from_bytes(v.as_bytes()))
    }

    #[test]
    fn lazy_expiry_on_access() {
        let mut db = Db::new(1);
        db.set(b"k", s("v"), 0, false);
        db.set_expire(b"k", 100);
        assert!(db.get(b"k", 99).is_some());
        assert!(db.get(b"k", 100).is_none());
        assert_eq!(db.expired_keys, 1);
        assert!(db.expires.is_empty());
    }

    #[test]
    fn a_replica_hides_expired_keys_from_reads_and_deletes_them_on_writes() {
        let mut db = Db::new(1);
        db.set_expiry_rule(ExpiryRule::HideOnRead);
        db.log_expired(true);
        for key in [&b"a"[..], b"b", b"c"] {
            db.set(key, s("v"), 0, false);
            db.set_expire(key, 100);
        }
        assert!(db.get(b"a", 100).is_none(), "a read finds nothing");
        assert!(db.get_for_read(b"a", 100).is_none());
        assert!(db.expire_if_needed(b"a", 100));
        assert_eq!(
            db.random_live_key(100, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1), 5),
            None
        );
        assert_eq!((db.len(), db.expired_keys), (3, 0), "nothing deleted");
        assert!(db.take_expired_log().is_empty(), "no deletion to propagate");
        // Writes: a write lookup, an existence check before a create, and
        // a create after a read that found nothing each delete it.
        assert!(db.get_mut(b"a", 100).is_none());
        assert!(!db.contains(b"b", 100));
        assert!(db.get(b"c", 100).is_none());
        db.insert_new(b"c", Object::new(s("new"), 0));
        assert_eq!(db.expire_at(b"c"), None, "the new key has no TTL");
        assert_eq!((db.len(), db.expired_keys), (1, 3));
        assert_eq!(db.take_expired_log(), vec![&b"a"[..], b"b", b"c"]);
        // Back to a primary: reads delete again.
        db.set_expiry_rule(ExpiryRule::Delete);
        db.set_expire(b"c", 100);
        assert!(db.get(b"c", 100).is_none());
        assert_eq!(db.len(), 0);
    }

    #[test]
    fn active_expiry_is_bounded_and_adaptive() {
        let mut db = Db::new(2);
        for i in 0..10_000 {
            let key = format!("k{i}");
            db.set(key.as_bytes(), s("v"), 0, false);
            db.set_expire(key.as_bytes(), if i % 2 == 0 { 10 } else { 1_000_000 });
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let cycle = db.active_expire(50, &mut rng, 2_000);
        assert!(cycle.sampled <= 2_000 + 20, "bounded: {:?}", cycle);
        assert!(
            cycle.expired > 500,
            "adaptive: keeps going while many expire: {:?}",
            cycle
        );
        let mut total = cycle.expired;
        for _ in 0..100 {
            total += db.active_expire(50, &mut rng, 2_000).expired;
        }
        assert!(total > 4_000, "most expired keys are reclaimed: {total}");
        assert_eq!(db.len() + total, 10_000);
    }

    #[test]
    fn take_and_put_carry_the_ttl_exactly() {
        let mut db = Db::new(3);
        db.set(b"a", s("1"), 0, false);
        db.set_expire(b"a", 500);
        let expire = db.expire_at(b"a");
        let (key, obj) = db.take(b"a").expect("present");
        assert_eq!(
            (key.as_ref(), db.len(), db.expires.len()),
            (&b"a"[..], 0, 0)
        );
        db.put(Bytes::from_static(b"b"), obj.clone(), expire);
        assert_eq!(db.expire_at(b"b"), Some(500));
        // Putting over a key with a TTL, without one, clears it.
        db.put(Bytes::from_static(b"b"), obj, None);
        assert_eq!(db.expire_at(b"b"), None);
        assert_eq!(db.len(), 1);
        assert!(db.take(b"missing").is_none());
    }

    #[test]
    fn random_live_key_deletes_expired_samples_and_falls_back() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut db = Db::new(4);
        assert_eq!(db.random_live_key(0, &mut rng, 10), None);
        for i in 0..1_000 {
            let key = format!("gone{i}");
            db.set(key.as_bytes(), s("v"), 0, false);
            db.set_expire(key.as_bytes(), 10);
        }
        db.set(b"live", s("v"), 0, false);
        // Few tries: most samples hit expired keys, then the walk finds "live".
        let key = db.random_live_key(100, &mut rng, 3);
        assert_eq!(key.as_deref(), Some(&b"live"[..]));
        assert!(db.expired_keys <= 3);
        // All expired: nothing is returned; only the sampled keys were deleted
        // (the walk reads, it does not delete).
        db.remove(b"live");
        assert_eq!(db.random_live_key(100, &mut rng, 3), None);
        assert!(db.len() >= 990);
    }

    impl Db {
        /// The dataset size by walking every key, to check the running total.
        pub(crate) fn dataset_bytes_by_walk(&self) -> u64 {
            self.keys.iter().map(|(k, o)| entry_bytes(k, o)).sum()
        }
    }

    #[test]
    fn dataset_bytes_follow_every_change() {
        let mut db = Db::new(6);
        let check = |db: &Db| assert_eq!(db.dataset_bytes(), db.dataset_bytes_by_walk());
        db.set(b"a", s("hello"), 0, false);
        db.set(b"bb", s("12345"), 0, false);
        check(&db);
        assert_eq!(
            db.dataset_bytes(),
            1 + 5 + 2,
            "an integer holds no heap bytes"
        );
        // In place, as APPEND does: seen at once, and settled by the next change.
        let obj = db.get_mut(b"a", 0).expect("present");
        obj.value
            .as_str_mut()
            .unwrap()
            .make_raw()
            .extend_from_slice(&[b'!'; 100]);
        check(&db);
        db.set(b"a", s("short"), 0, true);
        check(&db);
        db.get_mut(b"bb", 0).unwrap().value = s(&"x".repeat(50));
        let (key, obj) = db.take(b"bb").expect("present");
        check(&db);
        db.put(key, obj, Some(10));
        db.put(Bytes::from_static(b"a"), Object::new(s("v"), 0), None);
        check(&db);
        assert!(db.get(b"bb", 10).is_none(), "expired lazily");
        check(&db);
        db.insert_new(b"c", Object::new(s("abc"), 0));
        db.remove(b"missing");
        check(&db);
        assert_eq!(db.dataset_bytes(), 2 + 4);
        db.get_mut(b"c", 0).unwrap().value = s(&"y".repeat(64));
        assert!(!db.clear().is_empty());
        assert_eq!((db.dataset_bytes(), db.dataset_bytes_by_walk()), (0, 0));
    }

    #[test]
    fn avg_ttl_is_redis_running_estimate() {
        let mut db = Db::new(7);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        db.set(b"k", s("v"), 0, false);
        db.set_expire(b"k", 100_000);
        assert_eq!(db.avg_ttl, 0, "nothing sampled yet");
        db.active_expire(0, &mut rng, 100);
        assert_eq!(db.avg_ttl, 100_000, "the first mean is taken whole");
        // Later samples weigh 2%, and the estimate is not aged in between.
        db.active_expire(50_000, &mut rng, 100);
        assert_eq!(db.avg_ttl, 2_000 * 49 + 1_000);
        db.active_expire(50_000, &mut rng, 100);
        assert_eq!(db.avg_ttl, 1_980 * 49 + 1_000);
        // No key with a TTL left: a pass resets it, as FLUSHDB does.
        db.persist(b"k");
        db.active_expire(50_000, &mut rng, 100);
        assert_eq!(db.avg_ttl, 0);
        db.set_expire(b"k", 60_000);
        db.active_expire(50_000, &mut rng, 100);
        assert_eq!(db.avg_ttl, 10_000);
        db.clear();
        assert_eq!(db.avg_ttl, 0);
    }

    #[test]
    fn warming_keys_changes_nothing() {
        let mut db = Db::new(5);
        db.set(b"str", s("a value longer than an integer"), 0, false);
        db.set(b"int", s("42"), 0, false);
        db.set(b"empty", s(""), 0, false);
        let bytes = db.dataset_bytes();
        let absent = vec![b'k'; 100];
        db.warm(&[b"str", b"int", b"empty", &absent, b""]);
        assert_eq!(db.dataset_bytes(), bytes);
        assert_eq!(db.len(), 3);
        assert_eq!(
            db.get(b"str", 0).map(|o| o.value.clone()),
            Some(s("a value longer than an integer"))
        );
    }

    #[test]
    fn is_expired_does_not_delete() {
        let mut db = Db::new(5);
        db.set(b"k", s("v"), 0, false);
        db.set_expire(b"k", 10);
        assert!(!db.is_expired(b"k", 9));
        assert!(db.is_expired(b"k", 10));
        assert_eq!(db.len(), 1);
        assert_eq!(free_effort(&s("v")), 1);
    }
}
