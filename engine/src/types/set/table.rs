//! The `hashtable` encoding: a chained hash table of members, built for
//! memory (32 bytes a member, members up to 22 bytes kept inline, no
//! allocation per member) with the keyspace dict's guarantees: SSCAN's
//! reverse-binary cursor returns every member present for a whole scan at
//! least once, across resizes, and random draws are uniform.
//!
//! Members live in a slab (`slots`); buckets are chains of slab indices,
//! so a resize relinks `u32`s and moves no member. The table holds at
//! most one member per bucket on average (it doubles past that) and
//! shrinks, and compacts its slab, when mostly empty.

use super::packed::PackedBytes;
use rand_chacha::rand_core::RngCore;

const NIL: u32 = u32::MAX;
const MIN_BUCKETS: usize = 4;
/// Redis's SCAN visits at most this many buckets per member asked for.
const SCAN_BUCKETS_PER_COUNT: usize = 10;
/// Random draws from the slab before falling back to a walk (the slab is
/// at least a quarter full, so the fallback is very rare).
const RANDOM_TRIES: usize = 64;
/// Heap bytes the allocator adds to a member that does not fit inline.
const ALLOCATION_OVERHEAD: usize = 16;

struct Slot {
    /// None for a free slot (then `next` links the free list).
    member: Option<PackedBytes>,
    hash: u32,
    next: u32,
}

pub(super) struct MemberTable {
    buckets: Vec<u32>,
    slots: Vec<Slot>,
    free_head: u32,
    len: usize,
    hasher: ahash::RandomState,
    /// The hash seed, to give a clone the same one.
    seed: u64,
    /// Heap bytes of the members too long to be inline.
    member_heap_bytes: usize,
}

impl MemberTable {
    /// A table whose hash function is keyed from `seed`.
    pub(super) fn new(seed: u64) -> Self {
        let k =
            |i: u64| seed.rotate_left(17 * i as u32) ^ 0x2545_f491_4f6c_dd1du64.wrapping_mul(i + 1);
        MemberTable {
            buckets: vec![NIL; MIN_BUCKETS],
            slots: Vec::new(),
            free_head: NIL,
            len: 0,
            hasher: ahash::RandomState::with_seeds(k(0), k(1), k(2), k(3)),
            seed,
            member_heap_bytes: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn hash(&self, member: &[u8]) -> u32 {
        self.hasher.hash_one(member) as u32
    }

    fn bucket_of(&self, hash: u32) -> usize {
        hash as usize & (self.buckets.len() - 1)
    }

    fn member_at(&self, i: u32) -> Option<&[u8]> {
        self.slots[i as usize]
            .member
            .as_ref()
            .map(PackedBytes::as_slice)
    }

    fn find(&self, member: &[u8], hash: u32) -> Option<u32> {
        let mut i = self.buckets[self.bucket_of(hash)];
        while i != NIL {
            let slot = &self.slots[i as usize];
            if slot.hash == hash && self.member_at(i) == Some(member) {
                return Some(i);
            }
            i = slot.next;
        }
        None
    }

    pub(super) fn contains(&self, member: &[u8]) -> bool {
        self.find(member, self.hash(member)).is_some()
    }

    /// Adds a copy of `member`; false if it was already there.
    pub(super) fn insert(&mut self, member: &[u8]) -> bool {
        let hash = self.hash(member);
        if self.find(member, hash).is_some() {
            return false;
        }
        if self.len >= self.buckets.len() {
            self.resize(self.buckets.len() * 2);
        }
        let packed = PackedBytes::from_slice(member);
        self.member_heap_bytes += heap_cost(&packed);
        let bucket = self.bucket_of(hash);
        let slot = Slot {
            member: Some(packed),
            hash,
            next: self.buckets[bucket],
        };
        self.buckets[bucket] = self.place(slot);
        self.len += 1;
        true
    }

    /// Puts `slot` in a free place of the slab; returns its index.
    fn place(&mut self, slot: Slot) -> u32 {
        if self.free_head != NIL {
            let i = self.free_head;
            self.free_head = self.slots[i as usize].next;
            self.slots[i as usize] = slot;
            return i;
        }
        let i = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i != NIL)
            .expect("a set holds fewer than 2^32 - 1 members");
        self.slots.push(slot);
        i
    }

    /// Removes `member`; false if it was not there.
    pub(super) fn remove(&mut self, member: &[u8]) -> bool {
        let hash = self.hash(member);
        let bucket = self.bucket_of(hash);
        let (mut prev, mut i) = (NIL, self.buckets[bucket]);
        while i != NIL {
            let next = self.slots[i as usize].next;
            if self.slots[i as usize].hash == hash && self.member_at(i) == Some(member) {
                match prev {
                    NIL => self.buckets[bucket] = next,
                    _ => self.slots[prev as usize].next = next,
                }
                self.free(i);
                self.maybe_shrink();
                return true;
            }
            (prev, i) = (i, next);
        }
        false
    }

    fn free(&mut self, i: u32) {
        let slot = &mut self.slots[i as usize];
        if let Some(member) = slot.member.take() {
            self.member_heap_bytes -= heap_cost(&member);
        }
        slot.next = self.free_head;
        self.free_head = i;
        self.len -= 1;
    }

    fn maybe_shrink(&mut self) {
        if self.buckets.len() > MIN_BUCKETS && self.len * 8 < self.buckets.len() {
            self.resize(self.len.next_power_of_two().max(MIN_BUCKETS));
        }
        // A slab of mostly holes is compacted, so memory and random draws
        // follow the live size.
        if self.slots.len() > 64 && self.len * 4 < self.slots.len() {
            self.slots.retain(|s| s.member.is_some());
            self.slots.shrink_to_fit();
            self.free_head = NIL;
            self.resize(self.buckets.len());
        }
    }

    /// Rebuilds the chains over `buckets` buckets (a power of two).
    fn resize(&mut self, buckets: usize) {
        self.buckets = vec![NIL; buckets];
        let mask = buckets - 1;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if slot.member.is_some() {
                let b = slot.hash as usize & mask;
                slot.next = self.buckets[b];
                self.buckets[b] = i as u32;
            }
        }
    }

    /// Removes up to `budget` members from the end of the slab, without
    /// resizing or compacting (each removal is O(1)), the slab giving its
    /// memory back as it empties: lazy freeing of a big set in bounded
    /// steps. Holes are no longer reused afterwards. Returns how many.
    pub(super) fn drain_some(&mut self, budget: usize) -> usize {
        self.free_head = NIL;
        let mut freed = 0;
        while freed < budget {
            let Some(slot) = self.slots.pop() else {
                break;
            };
            if let Some(member) = slot.member {
                self.unlink(self.slots.len() as u32, slot.hash, slot.next);
                self.member_heap_bytes -= heap_cost(&member);
                self.len -= 1;
                freed += 1;
            }
        }
        // What this call emptied goes back now (a bounded amount), not
        // half the slab at once later.
        self.slots.shrink_to(self.slots.len());
        freed
    }

    /// Takes slot `i` (with `hash`, followed by `next` in its chain) out
    /// of its bucket's chain.
    fn unlink(&mut self, i: u32, hash: u32, next: u32) {
        let bucket = self.bucket_of(hash);
        if self.buckets[bucket] == i {
            self.buckets[bucket] = next;
            return;
        }
        let mut prev = self.buckets[bucket];
        while prev != NIL {
            let slot = &mut self.slots[prev as usize];
            if slot.next == i {
                slot.next = next;
                return;
            }
            prev = slot.next;
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.slots
            .iter()
            .filter_map(|s| s.member.as_ref().map(PackedBytes::as_slice))
    }

    /// A uniformly drawn member, or None when empty.
    pub(super) fn random(&self, rng: &mut impl RngCore) -> Option<&[u8]> {
        if self.len == 0 {
            return None;
        }
        for _ in 0..RANDOM_TRIES {
            let i = (rng.next_u64() % self.slots.len() as u64) as u32;
            if let Some(member) = self.member_at(i) {
                return Some(member);
            }
        }
        let nth = (rng.next_u64() % self.len as u64) as usize;
        self.iter().nth(nth)
    }

    /// Visits one bucket after another from `cursor` until `f` has been
    /// given at least `count` members, the table is done, or
    /// `count * 10` buckets were visited. Returns the next cursor (0 when
    /// the scan is complete).
    pub(super) fn scan(&self, mut cursor: u64, count: usize, mut f: impl FnMut(&[u8])) -> u64 {
        if self.len == 0 {
            return 0;
        }
        let mask = self.buckets.len() as u64 - 1;
        let mut budget = count.saturating_mul(SCAN_BUCKETS_PER_COUNT).max(1);
        let mut seen = 0;
        loop {
            let mut i = self.buckets[(cursor & mask) as usize];
            while i != NIL {
                if let Some(member) = self.member_at(i) {
                    f(member);
                    seen += 1;
                }
                i = self.slots[i as usize].next;
            }
            cursor = next_cursor(cursor, mask);
            budget -= 1;
            if cursor == 0 || seen >= count || budget == 0 {
                return cursor;
            }
        }
    }

    /// Heap bytes held: the slab, the buckets and the long members.
    pub(super) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.buckets.capacity() * std::mem::size_of::<u32>()
            + self.member_heap_bytes
            + std::mem::size_of::<Self>()
    }
}

fn heap_cost(member: &PackedBytes) -> usize {
    match member.heap_bytes() {
        0 => 0,
        n => n + ALLOCATION_OVERHEAD,
    }
}

/// Redis's reverse-binary cursor increment: set the bits above the mask,
/// reverse, add one, reverse back. Buckets are visited so that a scan
/// started before a resize stays valid after it.
fn next_cursor(cursor: u64, mask: u64) -> u64 {
    (cursor | !mask)
        .reverse_bits()
        .wrapping_add(1)
        .reverse_bits()
}

impl Clone for MemberTable {
    fn clone(&self) -> Self {
        let mut copy = MemberTable::new(self.seed);
        for member in self.iter() {
            copy.insert(member);
        }
        copy
    }
}

impl std::fmt::Debug for MemberTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use std::collections::BTreeSet;

    fn member(i: u32) -> Vec<u8> {
        format!("member:{i}").into_bytes()
    }

    #[test]
    fn grows_shrinks_and_compacts() {
        let mut t = MemberTable::new(1);
        for i in 0..1000 {
            assert!(t.insert(&member(i)));
        }
        assert!(!t.insert(&member(5)));
        assert_eq!((t.len(), t.buckets.len()), (1000, 1024));
        assert_eq!(std::mem::size_of::<Slot>(), 32);
        let long = vec![b'x'; 100];
        t.insert(&long);
        assert_eq!(t.member_heap_bytes, 100 + ALLOCATION_OVERHEAD);
        assert!(t.remove(&long) && !t.remove(&long));
        assert_eq!(t.member_heap_bytes, 0);
        for i in 0..990 {
            assert!(t.remove(&member(i)));
        }
        assert_eq!(t.len(), 10);
        assert!(t.buckets.len() <= 16, "buckets shrank: {}", t.buckets.len());
        assert!(t.slots.len() < 100, "slab compacted: {}", t.slots.len());
        assert!(t.contains(&member(995)) && !t.contains(&member(5)));
    }

    #[test]
    fn random_draws_reach_every_member() {
        let mut t = MemberTable::new(2);
        for i in 0..8 {
            t.insert(&member(i));
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let seen: BTreeSet<Vec<u8>> = (0..500)
            .map(|_| t.random(&mut rng).expect("not empty").to_vec())
            .collect();
        assert_eq!(seen.len(), 8);
        assert!(MemberTable::new(0).random(&mut rng).is_none());
    }

    proptest! {
        /// Members present for a whole scan are returned, while others are
        /// added and removed between calls (forcing growth and shrinking).
        #[test]
        fn scan_returns_members_present_throughout(
            stable in 1u32..200,
            churn in proptest::collection::vec((any::<bool>(), 1000u32..3000), 0..400),
            count in 1usize..20,
        ) {
            let mut t = MemberTable::new(42);
            for i in 0..stable { t.insert(&member(i)); }
            let mut seen = BTreeSet::new();
            let mut cursor = 0;
            let mut ops = churn.into_iter();
            loop {
                cursor = t.scan(cursor, count, |m| { seen.insert(m.to_vec()); });
                for (add, k) in ops.by_ref().take(25) {
                    if add { t.insert(&member(k)); } else { t.remove(&member(k)); }
                }
                if cursor == 0 { break; }
            }
            for i in 0..stable { prop_assert!(seen.contains(&member(i)), "missed {}", i); }
        }

        #[test]
        fn behaves_as_a_set(ops in proptest::collection::vec((any::<bool>(), 0u32..300), 0..600)) {
            let mut t = MemberTable::new(9);
            let mut model = BTreeSet::new();
            for (add, k) in ops {
                let m = member(k);
                if add {
                    prop_assert_eq!(t.insert(&m), model.insert(m));
                } else {
                    prop_assert_eq!(t.remove(&m), model.remove(&m));
                }
                prop_assert_eq!(t.len(), model.len());
            }
            let members: BTreeSet<Vec<u8>> = t.iter().map(<[u8]>::to_vec).collect();
            prop_assert_eq!(members, model);
        }
    }
}
