//! The `hashtable` encoding: members as keys of the keyspace's own hash
//! table ([`Dict`]), which gives SSCAN Redis's guarantee (a member present
//! for a whole scan is returned at least once, across resizes) and
//! uniform random sampling.

use crate::db::dict::Dict;
use bytes::Bytes;
use rand_chacha::rand_core::RngCore;

/// Bookkeeping bytes per member besides its own bytes: the table slot
/// (hash, chain link, key handle) and the allocator's share of the
/// member's allocation.
const PER_MEMBER_OVERHEAD: usize = 48 + 16;
const BUCKET_BYTES: usize = 4;

pub(super) struct MemberTable {
    dict: Dict<()>,
    /// The hash seed, to give a clone the same one.
    seed: u64,
    /// Bytes of all members, kept as they come and go (for an O(1)
    /// memory estimate).
    member_bytes: usize,
}

impl MemberTable {
    pub(super) fn new(seed: u64) -> Self {
        MemberTable {
            dict: Dict::new(seed),
            seed,
            member_bytes: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.dict.len()
    }

    pub(super) fn contains(&self, member: &[u8]) -> bool {
        self.dict.contains_key(member)
    }

    /// Adds a copy of `member`; false if it was already there.
    pub(super) fn insert(&mut self, member: &[u8]) -> bool {
        if self.dict.contains_key(member) {
            return false;
        }
        self.dict.insert(Bytes::copy_from_slice(member), ());
        self.member_bytes += member.len();
        true
    }

    pub(super) fn remove(&mut self, member: &[u8]) -> bool {
        let removed = self.dict.remove(member).is_some();
        if removed {
            self.member_bytes -= member.len();
        }
        removed
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Bytes> + '_ {
        self.dict.iter().map(|(member, _)| member)
    }

    /// A uniformly drawn member, or None when empty.
    pub(super) fn random(&self, rng: &mut impl RngCore) -> Option<&Bytes> {
        self.dict.random_entry(rng).map(|(member, _)| member)
    }

    /// One SSCAN step (see [`Dict::scan`]).
    pub(super) fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&Bytes)) -> u64 {
        self.dict.scan(cursor, count, |member, _| f(member))
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.member_bytes
            + self.len() * PER_MEMBER_OVERHEAD
            + self.dict.buckets() * BUCKET_BYTES
            + std::mem::size_of::<Self>()
    }
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

impl PartialEq for MemberTable {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains(m))
    }
}

impl std::fmt::Debug for MemberTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}
