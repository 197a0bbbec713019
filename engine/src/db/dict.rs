//! A hash table with a SCAN cursor that keeps Redis's guarantee: a key that
//! is present for the whole of a scan is returned at least once, even when
//! the table grows or shrinks between calls.
//!
//! Entries live in a slab (`slots`) and buckets are chains of slab indices,
//! so a resize relinks `u32`s and moves no keys. The cursor walks bucket
//! indices in reverse-binary order over a power-of-two table, as Redis's
//! dict does, which is what makes it stable across resizes.

use bytes::Bytes;
use rand_chacha::rand_core::RngCore;

const NIL: u32 = u32::MAX;
const MIN_BUCKETS: usize = 4;

struct Entry<V> {
    hash: u64,
    next: u32,
    entry: Option<(Bytes, V)>,
}

/// Where an entry lives in the slab. Insertions and removals may move
/// entries, so a slot is only meaningful until the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot(u32);

pub struct Dict<V> {
    buckets: Vec<u32>,
    slots: Vec<Entry<V>>,
    free_head: u32,
    len: usize,
    hasher: ahash::RandomState,
}

impl<V> Dict<V> {
    /// A dict whose hash function is keyed from `seed` (deterministic per seed).
    pub fn new(seed: u64) -> Self {
        let k = |i: u64| {
            seed.rotate_left(16 * i as u32) ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i + 1))
        };
        Dict {
            buckets: vec![NIL; MIN_BUCKETS],
            slots: Vec::new(),
            free_head: NIL,
            len: 0,
            hasher: ahash::RandomState::with_seeds(k(0), k(1), k(2), k(3)),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of buckets (for `DEBUG HTSTATS`-style reporting and tests).
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn mask(&self) -> u64 {
        self.buckets.len() as u64 - 1
    }

    fn find(&self, key: &[u8], hash: u64) -> Option<u32> {
        let mut i = self.buckets[(hash & self.mask()) as usize];
        while i != NIL {
            let slot = &self.slots[i as usize];
            if slot.hash == hash {
                if let Some((k, _)) = &slot.entry {
                    if k.as_ref() == key {
                        return Some(i);
                    }
                }
            }
            i = slot.next;
        }
        None
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        let i = self.find(key, self.hash(key))?;
        self.slots[i as usize].entry.as_ref().map(|(_, v)| v)
    }

    pub fn get_key_value(&self, key: &[u8]) -> Option<(&Bytes, &V)> {
        let i = self.find(key, self.hash(key))?;
        self.slots[i as usize].entry.as_ref().map(|(k, v)| (k, v))
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let i = self.find(key, self.hash(key))?;
        self.slots[i as usize].entry.as_mut().map(|(_, v)| v)
    }

    /// Like [`Dict::get_mut`], also giving the entry's slot: a handle that
    /// stays valid until the next insertion or removal.
    pub fn get_mut_with_slot(&mut self, key: &[u8]) -> Option<(Slot, &mut V)> {
        let i = self.find(key, self.hash(key))?;
        let value = self.slots[i as usize].entry.as_mut().map(|(_, v)| v)?;
        Some((Slot(i), value))
    }

    /// The entry in `slot` (from [`Dict::get_mut_with_slot`]), if it is
    /// still live.
    pub fn get_by_slot(&self, slot: Slot) -> Option<(&Bytes, &V)> {
        let slot = self.slots.get(slot.0 as usize)?;
        slot.entry.as_ref().map(|(k, v)| (k, v))
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key, self.hash(key)).is_some()
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: Bytes, value: V) -> Option<V> {
        let hash = self.hash(&key);
        if let Some(i) = self.find(&key, hash) {
            let (_, old) = self.slots[i as usize].entry.as_mut().expect("live slot");
            return Some(std::mem::replace(old, value));
        }
        self.insert_new(key, value, hash);
        None
    }

    fn insert_new(&mut self, key: Bytes, value: V, hash: u64) {
        if self.len >= self.buckets.len() {
            self.resize(self.buckets.len() * 2);
        }
        let bucket = (hash & self.mask()) as usize;
        let slot = Entry {
            hash,
            next: self.buckets[bucket],
            entry: Some((key, value)),
        };
        let index = if self.free_head != NIL {
            let i = self.free_head;
            self.free_head = self.slots[i as usize].next;
            self.slots[i as usize] = slot;
            i
        } else {
            assert!(self.slots.len() < NIL as usize, "dict is full");
            self.slots.push(slot);
            (self.slots.len() - 1) as u32
        };
        self.buckets[bucket] = index;
        self.len += 1;
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<(Bytes, V)> {
        let hash = self.hash(key);
        let bucket = (hash & self.mask()) as usize;
        let mut prev = NIL;
        let mut i = self.buckets[bucket];
        while i != NIL {
            let slot = &self.slots[i as usize];
            let hit =
                slot.hash == hash && slot.entry.as_ref().is_some_and(|(k, _)| k.as_ref() == key);
            if hit {
                let next = slot.next;
                if prev == NIL {
                    self.buckets[bucket] = next;
                } else {
                    self.slots[prev as usize].next = next;
                }
                let slot = &mut self.slots[i as usize];
                let entry = slot.entry.take().expect("live slot");
                slot.next = self.free_head;
                self.free_head = i;
                self.len -= 1;
                self.maybe_shrink();
                return Some(entry);
            }
            prev = i;
            i = slot.next;
        }
        None
    }

    fn maybe_shrink(&mut self) {
        let want = self.len.next_power_of_two().max(MIN_BUCKETS);
        if self.buckets.len() > MIN_BUCKETS && self.len * 8 < self.buckets.len() {
            self.resize(want);
        }
        // Compact the slab when it is mostly holes, so memory and random
        // sampling follow the live size.
        if self.slots.len() > 64 && self.len * 4 < self.slots.len() {
            self.compact();
        }
    }

    fn resize(&mut self, buckets: usize) {
        debug_assert!(buckets.is_power_of_two() && buckets >= self.len.min(1));
        self.buckets = vec![NIL; buckets];
        let mask = buckets as u64 - 1;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if slot.entry.is_some() {
                let b = (slot.hash & mask) as usize;
                slot.next = self.buckets[b];
                self.buckets[b] = i as u32;
            }
        }
    }

    fn compact(&mut self) {
        self.slots.retain(|s| s.entry.is_some());
        self.free_head = NIL;
        let buckets = self.buckets.len();
        self.resize(buckets);
        assert_eq!(self.slots.len(), self.len);
    }

    /// Removes every entry and returns them (the caller may free them lazily).
    pub fn drain_all(&mut self) -> Vec<(Bytes, V)> {
        let slots = std::mem::take(&mut self.slots);
        self.buckets = vec![NIL; MIN_BUCKETS];
        self.free_head = NIL;
        self.len = 0;
        slots.into_iter().filter_map(|s| s.entry).collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &V)> {
        self.slots
            .iter()
            .filter_map(|s| s.entry.as_ref().map(|(k, v)| (k, v)))
    }

    /// Visits one bucket per step, starting at `cursor`, until `f` has been
    /// given at least `count` entries or the table is done. Returns the next
    /// cursor (0 when the scan is complete).
    pub fn scan(&self, mut cursor: u64, count: usize, mut f: impl FnMut(&Bytes, &V)) -> u64 {
        if self.len == 0 {
            return 0;
        }
        let mask = self.mask();
        let mut seen = 0;
        // Bound the buckets visited per call, as Redis does (count * 10).
        let mut budget = count.saturating_mul(10).max(1);
        loop {
            let mut i = self.buckets[(cursor & mask) as usize];
            while i != NIL {
                let slot = &self.slots[i as usize];
                if let Some((k, v)) = &slot.entry {
                    f(k, v);
                    seen += 1;
                }
                i = slot.next;
            }
            cursor = next_cursor(cursor, mask);
            budget -= 1;
            if cursor == 0 || seen >= count || budget == 0 {
                return cursor;
            }
        }
    }

    /// A uniformly chosen live entry, or None if empty.
    pub fn random_entry(&self, rng: &mut impl RngCore) -> Option<(&Bytes, &V)> {
        if self.len == 0 {
            return None;
        }
        // The slab is at least a quarter full (see `maybe_shrink`), so this
        // ends quickly; the loop is bounded anyway and falls back to a scan.
        for _ in 0..64 {
            let i = (rng.next_u64() % self.slots.len() as u64) as usize;
            if let Some((k, v)) = &self.slots[i].entry {
                return Some((k, v));
            }
        }
        let nth = (rng.next_u64() % self.len as u64) as usize;
        self.iter().nth(nth)
    }
}

/// Redis's reverse-binary cursor increment: set the bits above the mask,
/// reverse, add one, reverse back.
fn next_cursor(cursor: u64, mask: u64) -> u64 {
    let mut v = cursor | !mask;
    v = v.reverse_bits();
    v = v.wrapping_add(1);
    v.reverse_bits()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use std::collections::{BTreeMap, BTreeSet};

    fn key(i: u32) -> Bytes {
        Bytes::from(format!("key:{i}"))
    }

    #[test]
    fn insert_get_remove() {
        let mut d = Dict::new(7);
        for i in 0..1000 {
            assert!(d.insert(key(i), i).is_none());
        }
        assert_eq!(d.len(), 1000);
        assert_eq!(d.insert(key(5), 55), Some(5));
        assert_eq!(d.get(&key(5)), Some(&55));
        for i in 0..990 {
            assert!(d.remove(&key(i)).is_some());
        }
        assert_eq!(d.len(), 10);
        assert!(d.buckets() <= 16, "table shrank: {}", d.buckets());
        assert_eq!(d.get(&key(995)), Some(&995));
    }

    #[test]
    fn random_entry_covers_all() {
        let mut d = Dict::new(1);
        for i in 0..8 {
            d.insert(key(i), i);
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let seen: BTreeSet<u32> = (0..500)
            .map(|_| *d.random_entry(&mut rng).unwrap().1)
            .collect();
        assert_eq!(seen.len(), 8);
    }

    proptest! {
        /// Keys present for a whole scan are returned, while other keys are
        /// added and removed between calls (forcing growth and shrinking).
        #[test]
        fn scan_returns_stable_keys(
            stable in 1u32..200,
            churn in proptest::collection::vec((any::<bool>(), 1000u32..3000), 0..400),
            count in 1usize..20,
        ) {
            let mut d = Dict::new(42);
            for i in 0..stable { d.insert(key(i), i); }
            let mut model: BTreeMap<u32, ()> = BTreeMap::new();
            let mut seen = BTreeSet::new();
            let mut cursor = 0;
            let mut ops = churn.into_iter();
            loop {
                cursor = d.scan(cursor, count, |_, v| { seen.insert(*v); });
                for (add, k) in ops.by_ref().take(25) {
                    if add { d.insert(key(k), k); model.insert(k, ()); }
                    else { d.remove(&key(k)); model.remove(&k); }
                }
                if cursor == 0 { break; }
            }
            for i in 0..stable { prop_assert!(seen.contains(&i), "missed {}", i); }
        }
    }
}
