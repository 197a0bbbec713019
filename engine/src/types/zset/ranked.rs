//! The big encoding (`OBJECT ENCODING` says `skiplist`, as Redis): every
//! member once, in a slab of slots (score + member, 32 bytes, short
//! members inline), found by member through a hash index of slot ids and
//! kept in order by an order-statistic B+tree of (score, slot id).
//!
//! ZSCORE is O(1) (index then slot); ZADD, ZREM and ZRANK are O(log n);
//! ranges are O(log n + m). A slot id never changes while its member is in
//! the set, which is what ZSCAN's cursor walks: a member present for a
//! whole scan is returned, however the set changes meanwhile.

use super::index::Index;
use super::member::{Member, MemberOf};
use super::tree::{Key, Tree};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Clone)]
struct Slot {
    /// NaN marks a vacant slot (a stored score is never NaN).
    score: f64,
    member: Member,
}

const SLOT_BYTES: usize = std::mem::size_of::<Slot>();
/// Allocator overhead counted for each heap-allocated member.
const ALLOC_OVERHEAD: usize = 16;

#[derive(Clone, Default)]
struct Slab {
    slots: Vec<Slot>,
    /// Vacant slot ids, smallest first: new members fill the front, so the
    /// vacant tail can be given back.
    vacant: BinaryHeap<Reverse<u32>>,
    /// Bytes of members stored out of line.
    heap_bytes: usize,
}

impl MemberOf for Slab {
    fn member_of(&self, id: u32) -> &[u8] {
        self.slots[id as usize].member.bytes()
    }
}

impl Slab {
    fn score(&self, id: u32) -> f64 {
        self.slots[id as usize].score
    }

    fn is_live(&self, id: usize) -> bool {
        self.slots.get(id).is_some_and(|s| !s.score.is_nan())
    }

    fn add(&mut self, member: &[u8], score: f64) -> u32 {
        let slot = Slot {
            score,
            member: Member::new(member),
        };
        self.heap_bytes += out_of_line(&slot.member);
        while let Some(Reverse(id)) = self.vacant.pop() {
            // Ids past the end were given back with the tail.
            if let Some(vacant) = self.slots.get_mut(id as usize) {
                *vacant = slot;
                return id;
            }
        }
        let id =
            u32::try_from(self.slots.len()).expect("a sorted set holds fewer than 2^32 members");
        self.slots.push(slot);
        id
    }

    fn release(&mut self, id: u32) {
        let slot = &mut self.slots[id as usize];
        self.heap_bytes -= out_of_line(&slot.member);
        *slot = Slot {
            score: f64::NAN,
            member: Member::EMPTY,
        };
        self.vacant.push(Reverse(id));
        self.trim();
    }

    /// Gives back the vacant tail, and memory once mostly unused.
    fn trim(&mut self) {
        while self.slots.last().is_some_and(|s| s.score.is_nan()) {
            self.slots.pop();
        }
        if self.slots.capacity() > 64 && self.slots.len() * 4 < self.slots.capacity() {
            self.slots.shrink_to(self.slots.len() * 2);
            self.vacant
                .retain(|&Reverse(id)| (id as usize) < self.slots.len());
            self.vacant.shrink_to_fit();
        }
    }

    /// Drops every slot from `len` on (a teardown: the ids past it are no
    /// longer looked up), giving their memory back at once.
    fn truncate(&mut self, len: usize) {
        while self.slots.len() > len {
            if let Some(slot) = self.slots.pop() {
                self.heap_bytes -= out_of_line(&slot.member);
            }
        }
        self.slots.shrink_to(len);
    }

    fn bytes(&self) -> usize {
        self.slots.capacity() * SLOT_BYTES + self.vacant.capacity() * 4 + self.heap_bytes
    }
}

fn out_of_line(member: &Member) -> usize {
    match member.heap_bytes() {
        0 => 0,
        n => n + ALLOC_OVERHEAD,
    }
}

#[derive(Clone, Default)]
pub(crate) struct Ranked {
    slab: Slab,
    index: Index,
    tree: Tree,
}

impl Ranked {
    pub(crate) fn len(&self) -> usize {
        self.tree.len()
    }

    /// Bytes held, O(1).
    pub(crate) fn mem_usage(&self) -> usize {
        self.slab.bytes() + self.index.heap_bytes() + self.tree.heap_bytes()
    }

    /// Allocations to free (Redis counts skiplist nodes: one per member).
    pub(crate) fn free_effort(&self) -> usize {
        self.len().max(self.tree.nodes())
    }

    /// Tears the set down by up to `budget` members (lazy freeing in
    /// bounded steps); returns how many went. The first step drops the
    /// member index and the vacant list, so from then on the set only
    /// serves to be drained further or dropped (lookups by member find
    /// nothing); its size and memory report stay exact throughout.
    pub(crate) fn drain_some(&mut self, budget: usize) -> usize {
        self.index = Index::default();
        self.slab.vacant = BinaryHeap::new();
        let freed = self.tree.drain_back(budget);
        // Slot ids are not in rank order: what the tree no longer holds is
        // torn down by count, from the slab's end.
        self.slab.truncate(self.tree.len());
        freed
    }

    pub(crate) fn score(&self, member: &[u8]) -> Option<f64> {
        let id = self.index.find(member, &self.slab)?;
        Some(self.slab.score(id))
    }

    /// Adds `member` or moves it to `score`; true if it is new.
    pub(crate) fn insert(&mut self, member: &[u8], score: f64) -> bool {
        if let Some(id) = self.index.find(member, &self.slab) {
            let old = self.slab.score(id);
            // As Redis: an equal score (0 for -0 too) changes nothing.
            if old != score {
                let key = Key { score: old, member };
                self.tree.remove(key, id, &self.slab);
                self.slab.slots[id as usize].score = score;
                self.tree.insert(Key { score, member }, id, &self.slab);
            }
            return false;
        }
        let id = self.slab.add(member, score);
        self.index.insert(id, &self.slab);
        self.tree.insert(Key { score, member }, id, &self.slab);
        true
    }

    /// Removes `member`; returns its score if it was there.
    pub(crate) fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let id = self.index.remove(member, &self.slab)?;
        let score = self.slab.score(id);
        self.tree.remove(Key { score, member }, id, &self.slab);
        self.slab.release(id);
        Some(score)
    }

    /// Removes the members of ranks `first..=last` (< len).
    pub(crate) fn remove_ranks(&mut self, first: usize, last: usize) {
        let mut doomed = Vec::with_capacity(last.saturating_sub(first) + 1);
        self.tree.visit(first, last, false, &mut |score, id| {
            doomed.push((score, id))
        });
        for (score, id) in doomed {
            let member = self.slab.member_of(id);
            self.index.remove(member, &self.slab);
            self.tree.remove(Key { score, member }, id, &self.slab);
            self.slab.release(id);
        }
    }

    /// The 0-based rank of `member` in ascending order, with its score.
    pub(crate) fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        let id = self.index.find(member, &self.slab)?;
        let score = self.slab.score(id);
        Some((self.tree.rank(Key { score, member }, &self.slab), score))
    }

    /// The member and score at `rank` (< len).
    pub(crate) fn at(&self, rank: usize) -> (&[u8], f64) {
        let (score, id) = self.tree.get(rank);
        (self.slab.member_of(id), score)
    }

    /// Calls `f` on ranks `first..=last` (< len), ascending or, with `rev`,
    /// descending.
    pub(crate) fn visit(
        &self,
        first: usize,
        last: usize,
        rev: bool,
        f: &mut impl FnMut(&[u8], f64),
    ) {
        self.tree.visit(first, last, rev, &mut |score, id| {
            f(self.slab.member_of(id), score)
        });
    }

    /// The number of leading members (in order) for which `pred(member,
    /// score)` holds, `pred` being true then false along the order.
    pub(crate) fn partition(&self, pred: impl Fn(&[u8], f64) -> bool) -> usize {
        self.tree
            .partition(|score, id| pred(self.slab.member_of(id), score))
    }

    /// Visits up to about `count` members from slot `cursor` on; returns
    /// the next cursor, 0 when the walk is over. At most `10 * count` slots
    /// are looked at per call (vacant ones included), as Redis bounds its
    /// own scan work.
    pub(crate) fn scan(&self, cursor: u64, count: usize, f: &mut impl FnMut(&[u8], f64)) -> u64 {
        let mut id = usize::try_from(cursor).unwrap_or(usize::MAX);
        let mut found = 0;
        let mut budget = count.saturating_mul(10).max(1);
        while id < self.slab.slots.len() && found < count && budget > 0 {
            if self.slab.is_live(id) {
                let slot = &self.slab.slots[id];
                f(slot.member.bytes(), slot.score);
                found += 1;
            }
            id += 1;
            budget -= 1;
        }
        if id >= self.slab.slots.len() {
            0
        } else {
            id as u64
        }
    }

    #[cfg(test)]
    pub(crate) fn check(&self) {
        self.tree.check(&self.slab);
        let live = (0..self.slab.slots.len())
            .filter(|&id| self.slab.is_live(id))
            .count();
        assert_eq!(live, self.len());
        for id in 0..self.slab.slots.len() {
            if self.slab.is_live(id) {
                let member = self.slab.member_of(id as u32);
                assert_eq!(self.index.find(member, &self.slab), Some(id as u32));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A tiny deterministic generator for the shuffles below.
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *state >> 33
    }

    fn model_order(model: &BTreeMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
        let mut v: Vec<_> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
        v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
        v
    }

    fn contents(r: &Ranked) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::new();
        if r.len() > 0 {
            r.visit(0, r.len() - 1, false, &mut |m, s| out.push((m.to_vec(), s)));
        }
        out
    }

    #[test]
    fn random_inserts_updates_and_removals_keep_order_ranks_and_index() {
        let mut r = Ranked::default();
        let mut model = BTreeMap::new();
        let mut state = 7;
        // 30000 members: about 700 leaves under a branch level, so
        // branches split, merge and lend children too.
        for step in 0..150_000 {
            let member = format!("m{}", lcg(&mut state) % 30_000).into_bytes();
            let score = (lcg(&mut state) % 50) as f64;
            if lcg(&mut state).is_multiple_of(3) {
                assert_eq!(r.remove(&member), model.remove(&member));
            } else {
                assert_eq!(
                    r.insert(&member, score),
                    model.insert(member, score).is_none()
                );
            }
            if step % 25_000 == 0 {
                r.check();
            }
        }
        r.check();
        let ordered = model_order(&model);
        assert_eq!(contents(&r), ordered);
        for (rank, (member, score)) in ordered.iter().enumerate() {
            assert_eq!(r.rank(member), Some((rank, *score)));
            assert_eq!(r.at(rank), (&member[..], *score));
        }
    }

    #[test]
    fn ascending_inserts_fill_nodes_and_draining_frees_them() {
        let mut r = Ranked::default();
        for i in 0..100_000u32 {
            r.insert(format!("{i:08}").as_bytes(), f64::from(i));
        }
        r.check();
        // Full leaves: 13 bytes per entry in the tree (half-full ones: 26).
        assert!(
            r.tree.heap_bytes() < 100_000 * 15,
            "{}",
            r.tree.heap_bytes()
        );
        let mut reversed = Vec::new();
        r.visit(10, 20, true, &mut |m, _| reversed.push(m.to_vec()));
        assert_eq!(reversed[0], b"00000020");
        assert_eq!(reversed[10], b"00000010");
        for i in (0..100_000u32).rev() {
            assert_eq!(r.remove(format!("{i:08}").as_bytes()), Some(f64::from(i)));
        }
        r.check();
        assert_eq!(r.len(), 0);
        assert!(r.mem_usage() < 4096, "{}", r.mem_usage());
    }

    #[test]
    fn descending_and_interleaved_inserts() {
        let mut r = Ranked::default();
        for i in (0..20_000u32).rev() {
            r.insert(format!("d{i}").as_bytes(), f64::from(i));
        }
        for i in 0..20_000u32 {
            r.insert(format!("e{i}").as_bytes(), 0.5);
        }
        r.check();
        assert_eq!(r.len(), 40_000);
        for i in (0..20_000u32).step_by(2) {
            r.remove(format!("d{i}").as_bytes());
        }
        r.check();
        assert_eq!(r.partition(|_, s| s < 1.0), 20_000);
    }

    #[test]
    fn scan_returns_every_member_present_throughout() {
        let mut r = Ranked::default();
        for i in 0..1000u32 {
            r.insert(format!("s{i}").as_bytes(), f64::from(i));
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut cursor = 0;
        let mut round = 0u32;
        loop {
            cursor = r.scan(cursor, 10, &mut |m, _| {
                seen.insert(m.to_vec());
            });
            // Churn between calls: remove members below 500, add others.
            round += 1;
            r.remove(format!("s{}", round % 500).as_bytes());
            r.insert(format!("new{round}").as_bytes(), 1.0);
            if cursor == 0 {
                break;
            }
        }
        for i in 500..1000u32 {
            assert!(seen.contains(format!("s{i}").as_bytes()), "s{i}");
        }
    }
}
