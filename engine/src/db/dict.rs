//! A hash table with a SCAN cursor that keeps Redis's guarantee: a key that
//! is present for the whole of a scan is returned at least once, even when
//! the table grows or shrinks between calls.
//!
//! Entries live in a slab (`slots`) and buckets are chains of slab indices,
//! so a resize relinks `u32`s and moves no keys. The cursor walks bucket
//! indices in reverse-binary order over a power-of-two table, as Redis's
//! dict does, which is what makes it stable across resizes.
//!
//! Built for memory, since the keyspace has one entry per key: a slot is
//! the key and its chain link in 24 bytes (keys up to [`INLINE_KEY_MAX`]
//! bytes inline, longer ones in one exact-size allocation) followed by the
//! value. No hash is cached: a lookup compares keys directly and a resize
//! hashes every key again with the table's seeded hasher.

use rand_chacha::rand_core::RngCore;

const NIL: u32 = u32::MAX;
const MIN_BUCKETS: usize = 4;
/// Emptied slab entries [`Dict::pop_last`] lets accumulate before it gives
/// their memory back.
const POP_SHRINK_SLACK: usize = 4096;
/// Longest key kept inside its slot: what fits beside the tag, the length
/// and the chain link in the 24 bytes a boxed key would take anyway.
pub const INLINE_KEY_MAX: usize = 18;
/// Most keys [`Dict::warm_batch`] warms at once.
pub const WARM_BATCH: usize = 32;

/// A slot's key together with the link to the next slot of its bucket
/// chain (or, for a free slot, of the free list).
#[derive(Clone)]
enum Link {
    Inline {
        len: u8,
        bytes: [u8; INLINE_KEY_MAX],
        next: u32,
    },
    Boxed {
        bytes: Box<[u8]>,
        next: u32,
    },
}

impl Link {
    fn new(key: &[u8], next: u32) -> Link {
        match u8::try_from(key.len()) {
            Ok(len) if key.len() <= INLINE_KEY_MAX => {
                let mut bytes = [0; INLINE_KEY_MAX];
                bytes[..key.len()].copy_from_slice(key);
                Link::Inline { len, bytes, next }
            }
            _ => Link::Boxed {
                bytes: key.into(),
                next,
            },
        }
    }

    /// What a free slot holds: no key, the next free slot.
    fn free(next: u32) -> Link {
        Link::Inline {
            len: 0,
            bytes: [0; INLINE_KEY_MAX],
            next,
        }
    }

    fn key(&self) -> &[u8] {
        match self {
            Link::Inline { len, bytes, .. } => &bytes[..usize::from(*len)],
            Link::Boxed { bytes, .. } => bytes,
        }
    }

    fn next(&self) -> u32 {
        match self {
            Link::Inline { next, .. } | Link::Boxed { next, .. } => *next,
        }
    }

    fn set_next(&mut self, to: u32) {
        match self {
            Link::Inline { next, .. } | Link::Boxed { next, .. } => *next = to,
        }
    }
}

/// A key taken out of a dict ([`Dict::remove`], [`Dict::pop_last`]): its
/// bytes, without a copy.
#[derive(Clone)]
pub struct StoredKey(Link);

impl std::ops::Deref for StoredKey {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.0.key()
    }
}

impl AsRef<[u8]> for StoredKey {
    fn as_ref(&self) -> &[u8] {
        self.0.key()
    }
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoredKey({:?})", bytes::Bytes::copy_from_slice(self))
    }
}

impl PartialEq for StoredKey {
    fn eq(&self, other: &StoredKey) -> bool {
        self.0.key() == other.0.key()
    }
}

struct Entry<V> {
    link: Link,
    /// None for a free slot.
    value: Option<V>,
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
    /// Bytes one entry takes in the slab (key up to [`INLINE_KEY_MAX`]
    /// bytes, chain link and value), for memory accounting.
    pub const ENTRY_BYTES: usize = std::mem::size_of::<Entry<V>>();

    /// A dict whose hash function is keyed from `seed` (deterministic per seed).
    pub fn new(seed: u64) -> Self {
        let k = |i: u64| {
            seed.rotate_left(16 * i as u32) ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i + 1))
        };
        Self::with_hasher(ahash::RandomState::with_seeds(k(0), k(1), k(2), k(3)))
    }

    fn with_hasher(hasher: ahash::RandomState) -> Self {
        Dict {
            buckets: vec![NIL; MIN_BUCKETS],
            slots: Vec::new(),
            free_head: NIL,
            len: 0,
            hasher,
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

    fn hash_of(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The bucket of a key whose hash is `hash`, in the table as it is.
    fn bucket_at(&self, hash: u64) -> usize {
        // Truncation keeps the low bits, which the mask selects anyway.
        hash as usize & (self.buckets.len() - 1)
    }

    fn bucket_of(&self, key: &[u8]) -> usize {
        self.bucket_at(self.hash_of(key))
    }

    fn find(&self, key: &[u8]) -> Option<u32> {
        self.find_hashed(key, self.hash_of(key))
    }

    fn find_hashed(&self, key: &[u8], hash: u64) -> Option<u32> {
        let mut i = self.buckets[self.bucket_at(hash)];
        while i != NIL {
            let entry = &self.slots[i as usize];
            if entry.link.key() == key {
                return Some(i);
            }
            i = entry.link.next();
        }
        None
    }

    fn live(&self, i: u32) -> Option<(&[u8], &V)> {
        let entry = self.slots.get(i as usize)?;
        entry.value.as_ref().map(|v| (entry.link.key(), v))
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.get_key_value(key).map(|(_, v)| v)
    }

    pub fn get_key_value(&self, key: &[u8]) -> Option<(&[u8], &V)> {
        self.live(self.find(key)?)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.get_mut_with_slot(key).map(|(_, v)| v)
    }

    /// Like [`Dict::get_mut`], also giving the entry's slot: a handle that
    /// stays valid until the next insertion or removal.
    pub fn get_mut_with_slot(&mut self, key: &[u8]) -> Option<(Slot, &mut V)> {
        let i = self.find(key)?;
        let value = self.slots[i as usize].value.as_mut()?;
        Some((Slot(i), value))
    }

    /// The entry in `slot` (from [`Dict::get_mut_with_slot`]), if it is
    /// still live.
    pub fn get_by_slot(&self, slot: Slot) -> Option<(&[u8], &V)> {
        self.live(slot.0)
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        if let Some(i) = self.find(key) {
            return self.slots[i as usize].value.replace(value);
        }
        self.insert_new(key, value);
        None
    }

    /// Inserts `key` if it is absent, hashing it once and walking its
    /// chain once (a lookup then an insertion would do both twice). A key
    /// already present keeps its value and `value` is handed back.
    pub fn try_insert(&mut self, key: &[u8], value: V) -> Result<(), V> {
        let hash = self.hash_of(key);
        if self.find_hashed(key, hash).is_some() {
            return Err(value);
        }
        self.insert_hashed(key, hash, value);
        Ok(())
    }

    /// Reads what a lookup of `key` reads first (its bucket and the entry
    /// at the head of that bucket's chain) and drops it. Done for several
    /// keys before looking them up, their cache misses overlap instead of
    /// each waiting for the one before: a prefetch, without `unsafe`.
    pub fn warm(&self, key: &[u8]) {
        let head = self.buckets[self.bucket_of(key)];
        if let Some(entry) = self.slots.get(head as usize) {
            std::hint::black_box(entry.link.next());
        }
    }

    /// [`Dict::warm`] for several keys at once, in two passes: every
    /// key's bucket, then the entries at the heads of those chains. The
    /// loads of a pass do not wait for one another, so a batch of lookups
    /// pays about two cache misses' wait instead of two per key. At most
    /// [`WARM_BATCH`] keys; the rest are left cold.
    pub fn warm_batch(&self, keys: &[&[u8]]) {
        let mut heads = [NIL; WARM_BATCH];
        for (head, key) in heads.iter_mut().zip(keys) {
            *head = self.buckets[self.bucket_of(key)];
        }
        for &head in &heads[..keys.len().min(WARM_BATCH)] {
            if let Some(entry) = self.slots.get(head as usize) {
                std::hint::black_box(entry.link.next());
            }
        }
    }

    /// Inserts a key the caller knows is absent, without looking for it
    /// (the expiry table of a key just added to the main table).
    pub fn insert_absent(&mut self, key: &[u8], value: V) {
        debug_assert!(!self.contains_key(key), "insert_absent over a present key");
        self.insert_new(key, value);
    }

    /// Makes room for `additional` more entries: the table takes the size
    /// it would have grown to and the slab its exact capacity, so the next
    /// `additional` insertions neither rehash the keys nor move the slab
    /// (Redis's `dictExpand` with RDB_OPCODE_RESIZEDB's hint). The caller
    /// bounds `additional`: the memory is taken at once.
    pub fn reserve(&mut self, additional: usize) {
        let want = self.len.saturating_add(additional);
        self.slots.reserve_exact(additional);
        match want.checked_next_power_of_two() {
            Some(buckets) if buckets > self.buckets.len() => self.resize(buckets),
            _ => {}
        }
    }

    fn insert_new(&mut self, key: &[u8], value: V) {
        let hash = self.hash_of(key);
        self.insert_hashed(key, hash, value);
    }

    fn insert_hashed(&mut self, key: &[u8], hash: u64, value: V) {
        if self.len >= self.buckets.len() {
            self.resize(self.buckets.len() * 2);
        }
        let bucket = self.bucket_at(hash);
        let entry = Entry {
            link: Link::new(key, self.buckets[bucket]),
            value: Some(value),
        };
        let index = if self.free_head != NIL {
            let i = self.free_head;
            self.free_head = self.slots[i as usize].link.next();
            self.slots[i as usize] = entry;
            i
        } else {
            assert!(self.slots.len() < NIL as usize, "dict is full");
            self.slots.push(entry);
            (self.slots.len() - 1) as u32
        };
        self.buckets[bucket] = index;
        self.len += 1;
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<(StoredKey, V)> {
        let i = self.find(key)?;
        self.unlink(i);
        let free = Entry {
            link: Link::free(self.free_head),
            value: None,
        };
        let entry = std::mem::replace(&mut self.slots[i as usize], free);
        self.free_head = i;
        self.len -= 1;
        self.maybe_shrink();
        Some((StoredKey(entry.link), entry.value?))
    }

    /// Takes live slot `i` out of its bucket chain.
    fn unlink(&mut self, i: u32) {
        let entry = &self.slots[i as usize];
        let (bucket, next) = (self.bucket_of(entry.link.key()), entry.link.next());
        if self.buckets[bucket] == i {
            self.buckets[bucket] = next;
            return;
        }
        let mut prev = self.buckets[bucket];
        while prev != NIL {
            let link = &mut self.slots[prev as usize].link;
            if link.next() == i {
                link.set_next(next);
                return;
            }
            prev = link.next();
        }
        unreachable!("a live slot is in its bucket's chain");
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

    /// Rebuilds the chains over `buckets` buckets, hashing every key again.
    fn resize(&mut self, buckets: usize) {
        debug_assert!(buckets.is_power_of_two() && buckets >= self.len.min(1));
        self.buckets = vec![NIL; buckets];
        for i in 0..self.slots.len() {
            if self.slots[i].value.is_some() {
                let b = self.bucket_of(self.slots[i].link.key());
                self.slots[i].link.set_next(self.buckets[b]);
                self.buckets[b] = i as u32;
            }
        }
    }

    fn compact(&mut self) {
        self.slots.retain(|s| s.value.is_some());
        self.slots.shrink_to_fit();
        self.free_head = NIL;
        let buckets = self.buckets.len();
        self.resize(buckets);
        assert_eq!(self.slots.len(), self.len);
    }

    /// Takes every entry out at once (O(1)), leaving this dict empty with
    /// the same hash function: the caller may free the old contents at its
    /// own pace ([`Dict::pop_last`]).
    pub fn take_all(&mut self) -> Dict<V> {
        let empty = Dict::with_hasher(self.hasher.clone());
        std::mem::replace(self, empty)
    }

    /// An empty dict with the same hash function (to fill aside, then put
    /// in this one's place).
    pub fn empty_like(&self) -> Dict<V> {
        Dict::with_hasher(self.hasher.clone())
    }

    /// Drops the free list, and with it the holes at the slab's end, so
    /// that entries can be taken from the end. Later insertions append.
    fn forget_holes(&mut self) {
        self.free_head = NIL;
        while self.slots.last().is_some_and(|s| s.value.is_none()) {
            self.slots.pop();
        }
    }

    /// The value of the entry at the end of the slab: the next one
    /// [`Dict::pop_last`] takes, for a caller that frees it in steps.
    pub fn last_mut(&mut self) -> Option<&mut V> {
        self.forget_holes();
        self.slots.last_mut()?.value.as_mut()
    }

    /// Removes the entry at the end of the slab, in O(1) and without
    /// resizing the table, so that a big dict can be emptied in bounded
    /// steps. The slab gives its memory back as it empties.
    pub fn pop_last(&mut self) -> Option<(StoredKey, V)> {
        self.forget_holes();
        let last = u32::try_from(self.slots.len().checked_sub(1)?).ok()?;
        self.unlink(last);
        let entry = self.slots.pop()?;
        self.len -= 1;
        // Give memory back a little at a time: releasing half of a huge
        // slab at once would be the very stall this avoids.
        if self.slots.capacity() - self.slots.len() >= POP_SHRINK_SLACK {
            self.slots.shrink_to(self.slots.len());
        }
        Some((StoredKey(entry.link), entry.value?))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.slots
            .iter()
            .filter_map(|s| s.value.as_ref().map(|v| (s.link.key(), v)))
    }

    /// Visits one bucket per step, starting at `cursor`, until `f` has been
    /// given at least `count` entries or the table is done. Returns the next
    /// cursor (0 when the scan is complete).
    pub fn scan(&self, mut cursor: u64, count: usize, mut f: impl FnMut(&[u8], &V)) -> u64 {
        if self.len == 0 {
            return 0;
        }
        let mask = self.buckets.len() as u64 - 1;
        let mut seen = 0;
        // Bound the buckets visited per call, as Redis does (count * 10).
        let mut budget = count.saturating_mul(10).max(1);
        loop {
            let mut i = self.buckets[(cursor & mask) as usize];
            while i != NIL {
                let entry = &self.slots[i as usize];
                if let Some(v) = &entry.value {
                    f(entry.link.key(), v);
                    seen += 1;
                }
                i = entry.link.next();
            }
            cursor = next_cursor(cursor, mask);
            budget -= 1;
            if cursor == 0 || seen >= count || budget == 0 {
                return cursor;
            }
        }
    }

    /// A uniformly chosen live entry, or None if empty.
    pub fn random_entry(&self, rng: &mut impl RngCore) -> Option<(&[u8], &V)> {
        if self.len == 0 {
            return None;
        }
        // The slab is at least a quarter full (see `maybe_shrink`), so this
        // ends quickly; the loop is bounded anyway and falls back to a scan.
        for _ in 0..64 {
            let i = rng.next_u64() % self.slots.len() as u64;
            if let Some(entry) = self.live(i as u32) {
                return Some(entry);
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

    fn key(i: u32) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    #[test]
    fn warming_keys_changes_nothing_whatever_the_keys() {
        let mut d = Dict::new(7);
        let empty: Dict<u32> = Dict::new(7);
        for i in 0..100 {
            d.insert(&key(i), i);
        }
        // Present, absent, empty and long keys, more than one batch holds.
        let long = vec![b'x'; 300];
        let owned: Vec<Vec<u8>> = (0..WARM_BATCH as u32 * 2).map(|i| key(i * 3)).collect();
        let mut keys: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        keys.extend([&b""[..], &long]);
        d.warm_batch(&keys);
        empty.warm_batch(&keys);
        assert_eq!(d.len(), 100);
        assert!((0..100).all(|i| d.get(&key(i)) == Some(&i)));
        assert!(empty.is_empty());
    }

    #[test]
    fn insert_get_remove() {
        let mut d = Dict::new(7);
        for i in 0..1000 {
            assert!(d.insert(&key(i), i).is_none());
        }
        assert_eq!(d.len(), 1000);
        assert_eq!(d.insert(&key(5), 55), Some(5));
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
            d.insert(&key(i), i);
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let seen: BTreeSet<u32> = (0..500)
            .map(|_| *d.random_entry(&mut rng).unwrap().1)
            .collect();
        assert_eq!(seen.len(), 8);
    }

    #[test]
    fn an_entry_is_its_key_link_and_value() {
        assert_eq!(std::mem::size_of::<Link>(), 24);
        assert_eq!(Dict::<u64>::ENTRY_BYTES, 24 + 16);
        assert_eq!(
            Dict::<crate::db::Object>::ENTRY_BYTES,
            24 + std::mem::size_of::<crate::db::Object>()
        );
    }

    #[test]
    fn short_and_long_keys_alike() {
        let mut d = Dict::new(9);
        let keys: Vec<Vec<u8>> = (0..200).map(|n| vec![b'k'; n]).collect();
        for (i, k) in keys.iter().enumerate() {
            assert!(d.insert(k, i).is_none());
            let inline = matches!(Link::new(k, NIL), Link::Inline { .. });
            assert_eq!(
                inline,
                k.len() <= INLINE_KEY_MAX,
                "key of {} bytes",
                k.len()
            );
        }
        for (i, k) in keys.iter().enumerate() {
            let (stored, v) = d.get_key_value(k).expect("present");
            assert_eq!((stored, *v), (&k[..], i));
        }
        let (taken, v) = d.remove(&keys[150]).expect("present");
        assert_eq!((&*taken, v), (&keys[150][..], 150));
        assert_eq!(d.get(&keys[150]), None);
        assert_eq!(d.len(), 199);
    }

    #[test]
    fn pop_last_empties_in_steps_and_keeps_lookups_right() {
        let mut d = Dict::new(3);
        for i in 0..1000 {
            d.insert(&key(i), i);
        }
        for i in (0..1000).step_by(3) {
            d.remove(&key(i));
        }
        let mut model: BTreeSet<u32> = d.iter().map(|(_, v)| *v).collect();
        while let Some(v) = d.last_mut().map(|v| *v) {
            let (k, popped) = d.pop_last().expect("an entry");
            assert_eq!((&*k, popped), (&key(v)[..], v));
            assert!(model.remove(&v));
            assert_eq!(d.len(), model.len());
            if v % 7 == 0 {
                // Still a working table: lookups, inserts and removals.
                assert!(model.iter().take(5).all(|m| d.get(&key(*m)) == Some(m)));
                let fresh = 5000 + v;
                d.insert(&key(fresh), fresh);
                assert_eq!(d.remove(&key(fresh)).map(|(_, v)| v), Some(fresh));
            }
        }
        assert!(model.is_empty() && d.is_empty());
        assert!(d.pop_last().is_none());
    }

    #[test]
    fn take_all_leaves_an_empty_dict_that_hashes_alike() {
        let mut d = Dict::new(11);
        for i in 0..100 {
            d.insert(&key(i), i);
        }
        let old = d.take_all();
        assert_eq!((old.len(), d.len()), (100, 0));
        assert_eq!(old.get(&key(42)), Some(&42));
        d.insert(&key(42), 1);
        assert_eq!(d.bucket_of(&key(42)) & 3, old.bucket_of(&key(42)) & 3);
    }

    #[test]
    fn try_insert_adds_once_and_hands_back_a_duplicate() {
        let mut d = Dict::new(13);
        for i in 0..1000 {
            assert_eq!(d.try_insert(&key(i), i), Ok(()));
        }
        assert_eq!(d.try_insert(&key(7), 70), Err(70));
        assert_eq!((d.get(&key(7)), d.len()), (Some(&7), 1000));
        d.insert_absent(b"fresh", 1);
        assert_eq!(d.get(b"fresh"), Some(&1));
    }

    #[test]
    fn reserve_sizes_the_table_once_for_what_follows() {
        let mut d = Dict::new(17);
        d.insert(&key(0), 0);
        d.reserve(3000);
        let (buckets, capacity) = (d.buckets(), d.slots.capacity());
        assert_eq!(buckets, 4096, "the power of two above 3001 entries");
        assert!(capacity >= 3001);
        for i in 1..=3000 {
            assert_eq!(d.try_insert(&key(i), i), Ok(()));
        }
        assert_eq!((d.buckets(), d.slots.capacity()), (buckets, capacity));
        assert!((0..=3000).all(|i| d.get(&key(i)) == Some(&i)));
        // A hint below the current size changes nothing.
        d.reserve(10);
        assert_eq!(d.buckets(), buckets);
    }

    proptest! {
        /// Against a BTreeMap: inserts, removals and pops from the end, on
        /// keys short (inline) and long (boxed), through growth and shrinking.
        #[test]
        fn behaves_as_a_map(ops in proptest::collection::vec((0u8..5, 0u32..300, 0usize..40), 0..800)) {
            let mut d = Dict::new(5);
            let mut model: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
            let long_key = |k: u32, pad: usize| {
                let mut key = key(k);
                key.resize(key.len() + pad * usize::from(k.is_multiple_of(2)), b'.');
                key
            };
            for (op, k, pad) in ops {
                let key = long_key(k, pad.min(30));
                match op {
                    0 => prop_assert_eq!(d.insert(&key, k), model.insert(key, k)),
                    1 => prop_assert_eq!(d.remove(&key).map(|(_, v)| v), model.remove(&key)),
                    2 => {
                        let present = model.contains_key(&key);
                        prop_assert_eq!(d.try_insert(&key, k).is_err(), present);
                        model.entry(key).or_insert(k);
                    }
                    3 => d.reserve(usize::try_from(k % 64).unwrap_or(0)),
                    _ => {
                        if let Some((stored, v)) = d.pop_last() {
                            prop_assert_eq!(model.remove(&stored[..]), Some(v));
                        } else {
                            prop_assert!(model.is_empty());
                        }
                    }
                }
                prop_assert_eq!(d.len(), model.len());
            }
            for (key, v) in &model {
                prop_assert_eq!(d.get(key), Some(v));
            }
            let walked: BTreeMap<Vec<u8>, u32> = d.iter().map(|(k, v)| (k.to_vec(), *v)).collect();
            prop_assert_eq!(walked, model);
        }

        /// Keys present for a whole scan are returned, while other keys are
        /// added and removed between calls (forcing growth and shrinking).
        #[test]
        fn scan_returns_stable_keys(
            stable in 1u32..200,
            churn in proptest::collection::vec((any::<bool>(), 1000u32..3000), 0..400),
            count in 1usize..20,
        ) {
            let mut d = Dict::new(42);
            for i in 0..stable { d.insert(&key(i), i); }
            let mut model: BTreeMap<u32, ()> = BTreeMap::new();
            let mut seen = BTreeSet::new();
            let mut cursor = 0;
            let mut ops = churn.into_iter();
            loop {
                cursor = d.scan(cursor, count, |_, v| { seen.insert(*v); });
                for (add, k) in ops.by_ref().take(25) {
                    if add { d.insert(&key(k), k); model.insert(k, ()); }
                    else { d.remove(&key(k)); model.remove(&k); }
                }
                if cursor == 0 { break; }
            }
            for i in 0..stable { prop_assert!(seen.contains(&i), "missed {}", i); }
        }
    }
}
