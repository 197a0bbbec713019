//! One database of the keyspace: the main dict, the expiry dict, lazy and
//! active expiry.

pub mod access;
pub mod dict;

use crate::types::Value;
use bytes::Bytes;
use dict::Dict;
use rand_chacha::rand_core::RngCore;

/// A stored value with its access metadata.
#[derive(Debug, Clone, PartialEq)]
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
}

impl Object {
    pub fn new(value: Value, access: u32) -> Self {
        Object {
            value,
            access,
            private_copy: false,
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
    match value {
        Value::Str(_) => 1,
    }
}

/// Result of one active expiry cycle over a database.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExpireCycle {
    pub sampled: usize,
    pub expired: usize,
}

pub struct Db {
    pub keys: Dict<Object>,
    /// Absolute expiry in Unix milliseconds, for keys that have one.
    pub expires: Dict<u64>,
    /// Keys removed by expiry (lazy or active) since the last reset.
    pub expired_keys: u64,
}

impl Db {
    pub fn new(seed: u64) -> Self {
        Db {
            keys: Dict::new(seed),
            expires: Dict::new(seed ^ 0x5bd1_e995),
            expired_keys: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
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

    /// Deletes `key` if its time has come (lazy expiry). True if it was deleted.
    pub fn expire_if_needed(&mut self, key: &[u8], now_ms: u64) -> bool {
        if !self.is_expired(key, now_ms) {
            return false;
        }
        self.keys.remove(key).expect("an expiring key exists");
        self.expires.remove(key);
        self.expired_keys += 1;
        true
    }

    /// The live object under `key`, expiring it first if due.
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&Object> {
        self.expire_if_needed(key, now_ms);
        self.keys.get(key)
    }

    pub fn get_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Object> {
        self.expire_if_needed(key, now_ms);
        self.keys.get_mut(key)
    }

    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.expire_if_needed(key, now_ms);
        self.keys.contains_key(key)
    }

    /// Stores `value` under `key`, replacing any value. The TTL is cleared
    /// unless `keep_ttl`.
    pub fn set(&mut self, key: &[u8], value: Value, access: u32, keep_ttl: bool) {
        if let Some(obj) = self.keys.get_mut(key) {
            *obj = Object::new(value, access);
            if !keep_ttl {
                self.expires.remove(key);
            }
        } else {
            self.keys
                .insert(Bytes::copy_from_slice(key), Object::new(value, access));
        }
    }

    /// Inserts a key known to be absent (after `contains` returned false).
    pub fn insert_new(&mut self, key: &[u8], obj: Object) {
        let prev = self.keys.insert(Bytes::copy_from_slice(key), obj);
        assert!(prev.is_none(), "insert_new over an existing key");
    }

    /// Removes `key` with its TTL. Does not check expiry: callers look up first.
    pub fn remove(&mut self, key: &[u8]) -> Option<Object> {
        let (_, obj) = self.keys.remove(key)?;
        self.expires.remove(key);
        Some(obj)
    }

    /// Removes `key` with its TTL and returns the stored key and object.
    /// Does not check expiry: callers look up first.
    pub fn take(&mut self, key: &[u8]) -> Option<(Bytes, Object)> {
        let entry = self.keys.remove(key)?;
        self.expires.remove(key);
        Some(entry)
    }

    /// Stores `obj` under `key` with exactly the TTL `expire_at` (absolute
    /// Unix ms, or none), replacing any value and TTL the key had.
    pub fn put(&mut self, key: Bytes, obj: Object, expire_at: Option<u64>) {
        match expire_at {
            Some(at) => {
                self.expires.insert(key.clone(), at);
            }
            None => {
                self.expires.remove(&key);
            }
        }
        self.keys.insert(key, obj);
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
            let key = key.clone();
            if !self.expire_if_needed(&key, now_ms) {
                return Some(key);
            }
        }
        self.keys
            .iter()
            .map(|(k, _)| k)
            .find(|k| !self.is_expired(k, now_ms))
            .cloned()
    }

    /// Sets an absolute expiry on an existing key.
    pub fn set_expire(&mut self, key: &[u8], at_ms: u64) {
        let (k, _) = self
            .keys
            .get_key_value(key)
            .expect("set_expire on a missing key");
        let k = k.clone();
        self.expires.insert(k, at_ms);
    }

    /// Removes the TTL of `key`; true if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        self.expires.remove(key).is_some()
    }

    /// Empties the database, returning the old contents so the caller can
    /// free them at its own pace.
    pub fn clear(&mut self) -> Vec<(Bytes, Object)> {
        self.expires.drain_all();
        self.keys.drain_all()
    }

    /// One bounded, adaptive active expiry cycle: sample keys with a TTL,
    /// delete the expired ones, and sample again while more than the
    /// acceptable share of the sample had expired, up to `max_sampled` keys.
    pub fn active_expire(
        &mut self,
        now_ms: u64,
        rng: &mut impl RngCore,
        max_sampled: usize,
    ) -> ExpireCycle {
        use crate::limits::{
            ACTIVE_EXPIRE_ACCEPTABLE_STALE_PERCENT as STALE,
            ACTIVE_EXPIRE_KEYS_PER_LOOP as PER_LOOP,
        };
        let mut cycle = ExpireCycle::default();
        while !self.expires.is_empty() && cycle.sampled < max_sampled {
            let mut expired_now = 0;
            let sample = PER_LOOP.min(self.expires.len());
            for _ in 0..sample {
                let Some((key, &at)) = self.expires.random_entry(rng) else {
                    break;
                };
                cycle.sampled += 1;
                if at <= now_ms {
                    let key = key.clone();
                    self.expire_if_needed(&key, now_ms);
                    expired_now += 1;
                }
            }
            cycle.expired += expired_now;
            if expired_now * 100 <= sample * STALE {
                break;
            }
        }
        cycle
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
