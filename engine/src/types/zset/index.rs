//! The member → slot hash index of the big encoding: open addressing with
//! linear probing over a power-of-two array of slot ids (4 bytes each, no
//! keys: the member is read from the slab when a probe needs it), and
//! backward-shift deletion, so there are no tombstones to clean up.
//!
//! The load stays between 1/8 and 3/4: growing doubles the array,
//! shrinking halves it, both by re-inserting every id (amortised O(1)).

use super::member::MemberOf;

const EMPTY: u32 = u32::MAX;
const MIN_CAPACITY: usize = 8;

/// Keyed with fixed seeds: the engine has no randomness of its own, and
/// the hash only has to spread members (the table's order is never seen).
static HASHER: ahash::RandomState = ahash::RandomState::with_seeds(
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
);

fn hash(member: &[u8]) -> u64 {
    HASHER.hash_one(member)
}

#[derive(Clone, Default)]
pub(super) struct Index {
    slots: Vec<u32>,
    len: usize,
}

impl Index {
    /// Bytes held (the slot array).
    pub(super) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<u32>()
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    fn home(&self, member: &[u8]) -> usize {
        // Truncation keeps the low bits, which the mask selects anyway.
        hash(member) as usize & self.mask()
    }

    /// The slot id holding `member`.
    pub(super) fn find(&self, member: &[u8], members: &impl MemberOf) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        self.position(member, members).map(|i| self.slots[i])
    }

    fn position(&self, member: &[u8], members: &impl MemberOf) -> Option<usize> {
        let mut i = self.home(member);
        loop {
            let id = self.slots[i];
            if id == EMPTY {
                return None;
            }
            if members.member_of(id) == member {
                return Some(i);
            }
            i = (i + 1) & self.mask();
        }
    }

    /// Adds `id`, whose member is not in the index yet.
    pub(super) fn insert(&mut self, id: u32, members: &impl MemberOf) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            let capacity = (self.slots.len() * 2).max(MIN_CAPACITY);
            self.rebuild(capacity, members);
        }
        self.place(id, members);
        self.len += 1;
    }

    fn place(&mut self, id: u32, members: &impl MemberOf) {
        let mut i = self.home(members.member_of(id));
        while self.slots[i] != EMPTY {
            i = (i + 1) & self.mask();
        }
        self.slots[i] = id;
    }

    /// Removes `member`; returns its slot id.
    pub(super) fn remove(&mut self, member: &[u8], members: &impl MemberOf) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let hole = self.position(member, members)?;
        let id = self.slots[hole];
        self.close_gap(hole, members);
        self.len -= 1;
        if self.slots.len() > MIN_CAPACITY && self.len * 8 < self.slots.len() {
            self.rebuild(self.slots.len() / 2, members);
        }
        Some(id)
    }

    /// Backward-shift deletion: moves later entries of the probe run into
    /// the hole when their home position allows it.
    fn close_gap(&mut self, mut hole: usize, members: &impl MemberOf) {
        let mask = self.mask();
        let mut next = (hole + 1) & mask;
        loop {
            let id = self.slots[next];
            if id == EMPTY {
                break;
            }
            let home = self.home(members.member_of(id));
            // Distance from home along the probe sequence, wrapping around.
            let to_hole = hole.wrapping_sub(home) & mask;
            let to_next = next.wrapping_sub(home) & mask;
            if to_hole < to_next {
                self.slots[hole] = id;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.slots[hole] = EMPTY;
    }

    fn rebuild(&mut self, capacity: usize, members: &impl MemberOf) {
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; capacity]);
        for id in old.into_iter().filter(|&id| id != EMPTY) {
            self.place(id, members);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Names(Vec<Vec<u8>>);

    impl MemberOf for Names {
        fn member_of(&self, id: u32) -> &[u8] {
            &self.0[id as usize]
        }
    }

    #[test]
    fn finds_what_was_inserted_through_growth_removal_and_shrinking() {
        let names = Names((0..2000).map(|i| format!("m{i}").into_bytes()).collect());
        let mut index = Index::default();
        for id in 0..2000u32 {
            index.insert(id, &names);
        }
        for id in (0..2000u32).step_by(3) {
            assert_eq!(index.remove(&names.0[id as usize], &names), Some(id));
        }
        for id in 0..2000u32 {
            let expected = (id % 3 != 0).then_some(id);
            assert_eq!(index.find(&names.0[id as usize], &names), expected);
        }
        for id in 0..2000u32 {
            if id % 3 != 0 {
                assert_eq!(index.remove(&names.0[id as usize], &names), Some(id));
            }
        }
        assert_eq!(index.len, 0);
        assert!(index.slots.len() <= 16, "shrunk to {}", index.slots.len());
        assert_eq!(index.find(b"m1", &names), None);
    }
}
