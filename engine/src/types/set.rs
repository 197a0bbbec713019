//! The set type, with Redis 7.2's three encodings and its conversions:
//!
//! - `intset` while every member is an integer (as Redis's `string2ll`
//!   reads it) and there are at most `set-max-intset-entries` of them;
//! - `listpack` for other small sets: at most `set-max-listpack-entries`
//!   members, none longer than `set-max-listpack-value` bytes;
//! - `hashtable` otherwise.
//!
//! A set only ever converts towards `hashtable` as it changes (removals
//! never convert back), except where Redis builds a new set: store
//! commands and SPOP's big pops (see the command group).

mod intset;
mod listpack;
mod packed;
mod table;

use crate::config::Config;
use crate::util::parse_i64;
use bytes::Bytes;
use intset::IntSet;
use listpack::Listpack;
use rand_chacha::rand_core::RngCore;
use std::collections::BTreeSet;
use table::MemberTable;

/// Largest intset, whatever the configuration (Redis's `intsetMaxEntries`).
const INTSET_HARD_MAX: usize = 1 << 30;
/// Largest listpack in bytes (Redis's LISTPACK_MAX_SAFETY_SIZE).
const LISTPACK_MAX_BYTES: usize = 1 << 30;
/// SPOP rebuilds the set from the members it keeps, rather than removing
/// the popped ones, when it pops more than 1/this of the set (Redis's
/// SPOP_MOVE_STRATEGY_MUL).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;
/// Distinct random members are drawn one by one from a hash table while
/// fewer than 1/this of it is asked for; otherwise from a shuffled list
/// (Redis's SRANDMEMBER_SUB_STRATEGY_MUL).
const SRANDMEMBER_SUB_STRATEGY_MUL: usize = 3;

/// The encoding thresholds (from the configuration, read at each write:
/// a CONFIG SET only affects later changes) and the hash seed.
#[derive(Debug, Clone, Copy)]
pub struct SetConfig {
    pub max_intset_entries: usize,
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
    pub seed: u64,
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl SetConfig {
    pub fn from_config(config: &Config) -> Self {
        SetConfig {
            max_intset_entries: to_usize(config.set_max_intset_entries),
            max_listpack_entries: to_usize(config.set_max_listpack_entries),
            max_listpack_value: to_usize(config.set_max_listpack_value),
            seed: config.seed,
        }
    }

    fn intset_max(&self) -> usize {
        self.max_intset_entries.min(INTSET_HARD_MAX)
    }
}

/// One member as an encoding holds it: an intset holds integers, the
/// other encodings bytes. Either way it stands for the same bytes (an
/// intset member is the integer's canonical decimal text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// The member's bytes.
    pub fn to_bytes(self) -> Bytes {
        match self {
            Member::Int(v) => Bytes::copy_from_slice(itoa::Buffer::new().format(v).as_bytes()),
            Member::Bytes(b) => Bytes::copy_from_slice(b),
        }
    }

    /// Runs `f` on the member's bytes (formatting an integer on the stack).
    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(v) => f(itoa::Buffer::new().format(v).as_bytes()),
            Member::Bytes(b) => f(b),
        }
    }

    /// Whether the member reads as an integer (so could be in an intset).
    pub fn is_integer(self) -> bool {
        match self {
            Member::Int(_) => true,
            Member::Bytes(b) => parse_i64(b).is_some(),
        }
    }
}

/// A set value.
#[derive(Debug, Clone)]
pub struct SetValue {
    enc: Encoding,
}

#[derive(Debug, Clone)]
enum Encoding {
    Intset(IntSet),
    Listpack(Listpack),
    Hashtable(Box<MemberTable>),
}

/// The number of characters of `v` in decimal, sign included.
fn decimal_len(v: i64) -> usize {
    itoa::Buffer::new().format(v).len()
}

impl SetValue {
    /// An empty set in the `intset` encoding.
    pub fn new_intset() -> Self {
        SetValue {
            enc: Encoding::Intset(IntSet::default()),
        }
    }

    /// An empty set in the `listpack` encoding.
    pub fn new_listpack() -> Self {
        SetValue {
            enc: Encoding::Listpack(Listpack::default()),
        }
    }

    fn new_hashtable(cfg: &SetConfig) -> Self {
        SetValue {
            enc: Encoding::Hashtable(Box::new(MemberTable::new(cfg.seed))),
        }
    }

    /// An empty set in the encoding Redis gives a new set whose first
    /// member is `first`, when about `size_hint` members are coming
    /// (Redis's `setTypeCreate`).
    pub fn create(first: &[u8], size_hint: usize, cfg: &SetConfig) -> Self {
        if parse_i64(first).is_some() && size_hint <= cfg.max_intset_entries {
            Self::new_intset()
        } else if size_hint <= cfg.max_listpack_entries {
            Self::new_listpack()
        } else {
            Self::new_hashtable(cfg)
        }
    }

    /// Converts to `hashtable` at once when `size_hint` members are about
    /// to be added and would not fit the compact encoding (Redis's
    /// `setTypeMaybeConvert`, which SADD runs even if the members turn
    /// out to be present already).
    pub fn maybe_convert(&mut self, size_hint: usize, cfg: &SetConfig) {
        let too_big = match &self.enc {
            Encoding::Intset(_) => size_hint > cfg.max_intset_entries,
            Encoding::Listpack(_) => size_hint > cfg.max_listpack_entries,
            Encoding::Hashtable(_) => false,
        };
        if too_big {
            self.convert_to_hashtable(cfg);
        }
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        match self.enc {
            Encoding::Intset(_) => "intset",
            Encoding::Listpack(_) => "listpack",
            Encoding::Hashtable(_) => "hashtable",
        }
    }

    pub fn is_intset(&self) -> bool {
        matches!(self.enc, Encoding::Intset(_))
    }

    /// Heap bytes held, O(1).
    pub fn mem_usage(&self) -> usize {
        match &self.enc {
            Encoding::Intset(s) => s.heap_bytes(),
            Encoding::Listpack(lp) => lp.heap_bytes(),
            Encoding::Hashtable(t) => t.heap_bytes(),
        }
    }

    /// Members held.
    pub fn len(&self) -> usize {
        match &self.enc {
            Encoding::Intset(s) => s.len(),
            Encoding::Listpack(lp) => lp.len(),
            Encoding::Hashtable(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis's lazy-free effort: 1 for a compact encoding (one
    /// allocation), the member count for a hash table.
    pub fn free_effort(&self) -> usize {
        match &self.enc {
            Encoding::Hashtable(t) => t.len(),
            _ => 1,
        }
    }

    /// Frees up to `budget` members of a hash table in place (lazy
    /// freeing in bounded steps); returns how many. A compact encoding is
    /// one allocation, freed whole with the value: nothing to do here.
    pub fn drain_some(&mut self, budget: usize) -> usize {
        match &mut self.enc {
            Encoding::Hashtable(t) => t.drain_some(budget),
            _ => 0,
        }
    }

    // ---- membership ----

    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.enc {
            Encoding::Intset(s) => parse_i64(member).is_some_and(|v| s.contains(v)),
            Encoding::Listpack(lp) => lp.contains(member),
            Encoding::Hashtable(t) => t.contains(member),
        }
    }

    pub fn contains_member(&self, member: Member) -> bool {
        match (&self.enc, member) {
            (Encoding::Intset(s), Member::Int(v)) => s.contains(v),
            (_, member) => member.with_bytes(|b| self.contains(b)),
        }
    }

    // ---- adding ----

    /// Adds `member`, converting the encoding as Redis 7.2 does; false if
    /// it was already a member.
    pub fn add(&mut self, member: &[u8], cfg: &SetConfig) -> bool {
        match &mut self.enc {
            Encoding::Intset(_) => match parse_i64(member) {
                Some(v) => self.add_int(v, cfg),
                None => {
                    self.leave_intset_for(member, cfg);
                    true
                }
            },
            Encoding::Listpack(lp) => {
                if lp.contains(member) {
                    return false;
                }
                if fits_listpack(lp.len(), lp.encoded_bytes(), member.len(), cfg) {
                    lp.push(member);
                } else {
                    self.convert_to_hashtable(cfg);
                    self.add(member, cfg);
                }
                true
            }
            Encoding::Hashtable(t) => t.insert(member),
        }
    }

    /// [`SetValue::add`] for a member as another set's encoding holds it.
    pub fn add_member(&mut self, member: Member, cfg: &SetConfig) -> bool {
        match member {
            Member::Int(v) => self.add_int(v, cfg),
            Member::Bytes(b) => self.add(b, cfg),
        }
    }

    fn add_int(&mut self, v: i64, cfg: &SetConfig) -> bool {
        let Encoding::Intset(s) = &mut self.enc else {
            return self.add(itoa::Buffer::new().format(v).as_bytes(), cfg);
        };
        let added = s.insert(v);
        if added && s.len() > cfg.intset_max() {
            self.convert_to_hashtable(cfg);
        }
        added
    }

    /// Adds a non-integer member to an intset: the set becomes a listpack
    /// if everything would fit one (judging the integers by the longest of
    /// the smallest and the largest), a hash table otherwise.
    fn leave_intset_for(&mut self, member: &[u8], cfg: &SetConfig) {
        let Encoding::Intset(s) = &self.enc else {
            return;
        };
        let widest = match (s.min(), s.max()) {
            (Some(min), Some(max)) => decimal_len(min).max(decimal_len(max)),
            _ => 0,
        };
        let estimate = s.len().saturating_mul(listpack::entry_size(widest));
        let fits = s.len() < cfg.max_listpack_entries
            && widest <= cfg.max_listpack_value
            && fits_listpack(0, estimate, member.len(), cfg);
        if fits {
            self.convert_to_listpack();
        } else {
            self.convert_to_hashtable(cfg);
        }
        self.add(member, cfg);
    }

    // ---- removing ----

    /// Removes `member`; false if it was not there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.enc {
            Encoding::Intset(s) => parse_i64(member).is_some_and(|v| s.remove(v)),
            Encoding::Listpack(lp) => lp.remove(member),
            Encoding::Hashtable(t) => t.remove(member),
        }
    }

    pub fn remove_member(&mut self, member: Member) -> bool {
        match (&mut self.enc, member) {
            (Encoding::Intset(s), Member::Int(v)) => s.remove(v),
            (_, member) => member.with_bytes(|b| self.remove(b)),
        }
    }

    // ---- reading ----

    /// Every member, in the encoding's order: ascending for an intset,
    /// insertion order for a listpack, table order for a hash table.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Member<'_>> + '_> {
        match &self.enc {
            Encoding::Intset(s) => Box::new(s.iter().map(Member::Int)),
            Encoding::Listpack(lp) => Box::new(lp.iter().map(Member::Bytes)),
            Encoding::Hashtable(t) => Box::new(t.iter().map(Member::Bytes)),
        }
    }

    /// Every member's bytes, in [`SetValue::iter`]'s order.
    pub fn to_bytes_vec(&self) -> Vec<Bytes> {
        self.iter().map(Member::to_bytes).collect()
    }

    /// One SSCAN step: the compact encodings give everything at once and
    /// cursor 0, as Redis; a hash table a batch of about `count` members
    /// from `cursor`. Returns the next cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(Member)) -> u64 {
        match &self.enc {
            Encoding::Hashtable(t) => t.scan(cursor, count, |m| f(Member::Bytes(m))),
            _ => {
                self.iter().for_each(f);
                0
            }
        }
    }

    // ---- random members ----

    /// A uniformly drawn member, or None when empty.
    pub fn random_member(&self, rng: &mut impl RngCore) -> Option<Member<'_>> {
        let len = self.len();
        if len == 0 {
            return None;
        }
        match &self.enc {
            Encoding::Intset(s) => Some(Member::Int(s.get(random_index(rng, len)))),
            Encoding::Listpack(lp) => lp.iter().nth(random_index(rng, len)).map(Member::Bytes),
            Encoding::Hashtable(t) => t.random(rng).map(Member::Bytes),
        }
    }

    /// `count` members drawn independently (repeats possible).
    pub fn random_members(&self, count: usize, rng: &mut impl RngCore) -> Vec<Member<'_>> {
        match &self.enc {
            Encoding::Hashtable(t) => (0..count)
                .filter_map(|_| t.random(rng).map(Member::Bytes))
                .collect(),
            _ => {
                // One walk of the encoding, then direct picks.
                let all: Vec<Member> = self.iter().collect();
                if all.is_empty() {
                    return Vec::new();
                }
                (0..count)
                    .map(|_| all[random_index(rng, all.len())])
                    .collect()
            }
        }
    }

    /// `count` distinct members drawn at random (all of them, in the
    /// encoding's order, when `count` is at least the size).
    pub fn random_distinct(&self, count: usize, rng: &mut impl RngCore) -> Vec<Member<'_>> {
        let len = self.len();
        if count >= len {
            return self.iter().collect();
        }
        if let Encoding::Hashtable(t) = &self.enc {
            if count.saturating_mul(SRANDMEMBER_SUB_STRATEGY_MUL) <= len {
                return distinct_draws(t, count, rng);
            }
        }
        let mut all: Vec<Member> = self.iter().collect();
        partial_shuffle(&mut all, count, rng);
        all.truncate(count);
        all
    }

    /// Removes `count` random members and returns them (every member when
    /// `count` is at least the size: the caller then deletes the key).
    /// Popping most of the set rebuilds it from the members kept, in the
    /// encoding Redis would give that new set.
    pub fn pop_random(
        &mut self,
        count: usize,
        rng: &mut impl RngCore,
        cfg: &SetConfig,
    ) -> Vec<Bytes> {
        let len = self.len();
        if count >= len {
            let all = self.to_bytes_vec();
            *self = Self::new_intset();
            return all;
        }
        if count.saturating_mul(SPOP_MOVE_STRATEGY_MUL) > len {
            return self.pop_by_keeping(len - count, rng, cfg);
        }
        let popped: Vec<Bytes> = self
            .random_distinct(count, rng)
            .into_iter()
            .map(Member::to_bytes)
            .collect();
        for member in &popped {
            self.remove(member);
        }
        popped
    }

    /// SPOP of most of the set: draws the `keep` members that stay into a
    /// new set (an intset when this is one, a listpack otherwise, growing
    /// from there), and returns the others.
    fn pop_by_keeping(
        &mut self,
        keep: usize,
        rng: &mut impl RngCore,
        cfg: &SetConfig,
    ) -> Vec<Bytes> {
        let mut kept = match self.enc {
            Encoding::Intset(_) => Self::new_intset(),
            _ => Self::new_listpack(),
        };
        for member in self.random_distinct(keep, rng) {
            kept.add_member(member, cfg);
        }
        let popped = self
            .iter()
            .filter(|m| !kept.contains_member(*m))
            .map(Member::to_bytes)
            .collect();
        *self = kept;
        popped
    }

    // ---- conversions ----

    fn convert_to_hashtable(&mut self, cfg: &SetConfig) {
        if matches!(self.enc, Encoding::Hashtable(_)) {
            return;
        }
        let mut table = MemberTable::new(cfg.seed);
        for member in self.iter() {
            member.with_bytes(|b| table.insert(b));
        }
        self.enc = Encoding::Hashtable(Box::new(table));
    }

    fn convert_to_listpack(&mut self) {
        let mut lp = Listpack::default();
        for member in self.iter() {
            member.with_bytes(|b| lp.push(b));
        }
        self.enc = Encoding::Listpack(lp);
    }

    /// Becomes an intset if every member is an integer and there are few
    /// enough of them (Redis's `maybeConvertToIntset`, which SINTERSTORE
    /// runs on its result).
    pub fn convert_to_intset_if_fits(&mut self, cfg: &SetConfig) {
        if matches!(self.enc, Encoding::Intset(_)) || self.len() > cfg.intset_max() {
            return;
        }
        let mut ints = IntSet::default();
        for member in self.iter() {
            let value = match member {
                Member::Int(v) => Some(v),
                Member::Bytes(b) => parse_i64(b),
            };
            let Some(v) = value else {
                return;
            };
            ints.insert(v);
        }
        self.enc = Encoding::Intset(ints);
    }
}

/// Whether a listpack of `len` members taking `bytes` can take one more
/// member of `member_len` bytes.
fn fits_listpack(len: usize, bytes: usize, member_len: usize, cfg: &SetConfig) -> bool {
    len < cfg.max_listpack_entries
        && member_len <= cfg.max_listpack_value
        && bytes.saturating_add(listpack::entry_size(member_len)) <= LISTPACK_MAX_BYTES
}

fn random_index(rng: &mut impl RngCore, len: usize) -> usize {
    (rng.next_u64() % len as u64) as usize
}

/// Moves `count` uniformly chosen items to the front (Fisher-Yates, stopped early).
fn partial_shuffle<T>(items: &mut [T], count: usize, rng: &mut impl RngCore) {
    let len = items.len();
    for i in 0..count.min(len) {
        let j = i + random_index(rng, len - i);
        items.swap(i, j);
    }
}

/// `count` distinct members of a table much bigger than `count`, drawn
/// one at a time (repeated draws are skipped).
fn distinct_draws<'a>(t: &'a MemberTable, count: usize, rng: &mut impl RngCore) -> Vec<Member<'a>> {
    let mut seen: BTreeSet<&[u8]> = BTreeSet::new();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let Some(member) = t.random(rng) else {
            break;
        };
        if seen.insert(member) {
            out.push(Member::Bytes(member));
        }
    }
    out
}

/// Two sets are equal when they hold the same members, whatever their
/// encodings.
impl PartialEq for SetValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains_member(m))
    }
}

#[cfg(test)]
mod tests;
