//! The sorted set type: members with a score each, ordered by score then
//! member bytes, in one of Redis's two encodings:
//!
//! - `listpack` ([`listpack`]): one byte buffer, for small sets (at most
//!   `zset-max-listpack-entries` members of at most
//!   `zset-max-listpack-value` bytes);
//! - `skiplist` ([`ranked`]): a slab of members, a hash index and an
//!   order-statistic B+tree, so rank operations are O(log n).
//!
//! Conversions follow Redis 7.0: a set starts as a listpack unless its
//! first member already breaks the limits, turns into the big encoding
//! when an insertion would break them, and never turns back, except that
//! the store commands (ZUNIONSTORE, ZRANGESTORE, ...) pick the encoding
//! that fits the result they build.
//!
//! Ranges are spans of ranks: every range query (by rank, score or lex)
//! becomes `first..=last`, which the commands then read or remove.

mod index;
mod listpack;
mod member;
mod ranked;
mod tree;

use crate::config::Config;
use bytes::Bytes;
use listpack::Listpack;
use ranked::Ranked;
use std::cmp::Ordering;

/// The listpack limits, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl Limits {
    pub fn of(config: &Config) -> Limits {
        let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        Limits {
            max_entries: size(config.zset_max_listpack_entries),
            max_value: size(config.zset_max_listpack_value),
        }
    }

    /// Whether a set of `len` members, the longest `max_member` bytes, fits
    /// in a listpack.
    fn fit(&self, len: usize, max_member: usize) -> bool {
        len <= self.max_entries && max_member <= self.max_value
    }
}

/// A score interval, each end inclusive or exclusive (`(` in Redis).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub min_exclusive: bool,
    pub max_exclusive: bool,
}

impl ScoreRange {
    fn above_min(&self, score: f64) -> bool {
        if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        }
    }

    fn below_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }

    fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_exclusive || self.max_exclusive))
    }
}

/// One end of a lex range: `-`, `+`, `[member` or `(member`.
#[derive(Debug, Clone, PartialEq)]
pub enum LexBound {
    /// `-`: before every member.
    Min,
    /// `+`: after every member.
    Max,
    Inclusive(Bytes),
    Exclusive(Bytes),
}

impl LexBound {
    /// Position on the line of members: -1 for `-`, 1 for `+`, 0 with the
    /// bytes for a member; and whether the end is exclusive (`-` and `+`
    /// are, as in Redis).
    fn place(&self) -> ((i8, &[u8]), bool) {
        match self {
            LexBound::Min => ((-1, &[]), true),
            LexBound::Max => ((1, &[]), true),
            LexBound::Inclusive(b) => ((0, b), false),
            LexBound::Exclusive(b) => ((0, b), true),
        }
    }
}

/// A member interval for ZRANGEBYLEX and friends. Meaningful when all
/// scores are equal; otherwise the result is Redis's (a walk of the order
/// that assumes it), not an error.
#[derive(Debug, Clone, PartialEq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    fn gte_min(&self, member: &[u8]) -> bool {
        match &self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Inclusive(b) => member >= &b[..],
            LexBound::Exclusive(b) => member > &b[..],
        }
    }

    fn lte_max(&self, member: &[u8]) -> bool {
        match &self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Inclusive(b) => member <= &b[..],
            LexBound::Exclusive(b) => member < &b[..],
        }
    }

    fn is_empty(&self) -> bool {
        let (min, min_ex) = self.min.place();
        let (max, max_ex) = self.max.place();
        match min.cmp(&max) {
            Ordering::Greater => true,
            Ordering::Equal => min_ex || max_ex,
            Ordering::Less => false,
        }
    }
}

/// A sorted set value.
#[derive(Clone)]
pub struct ZSetValue {
    enc: Encoding,
}

#[derive(Clone)]
enum Encoding {
    Listpack(Listpack),
    Skiplist(Box<Ranked>),
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue {
            enc: Encoding::Listpack(Listpack::default()),
        }
    }
}

impl std::fmt::Debug for ZSetValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZSetValue")
            .field("encoding", &self.encoding_name())
            .field("entries", &self.to_vec())
            .finish()
    }
}

/// Equal when the encoding and the entries are.
impl PartialEq for ZSetValue {
    fn eq(&self, other: &Self) -> bool {
        self.encoding_name() == other.encoding_name() && self.to_vec() == other.to_vec()
    }
}

impl ZSetValue {
    /// An empty set for ZADD or ZINCRBY on a missing key, encoded as Redis
    /// 7.0 chooses from the first member alone.
    pub fn for_first_member(member_len: usize, limits: &Limits) -> ZSetValue {
        if limits.max_entries == 0 || member_len > limits.max_value {
            ZSetValue {
                enc: Encoding::Skiplist(Box::default()),
            }
        } else {
            ZSetValue::default()
        }
    }

    /// A set holding `entries`, which are sorted by score then member and
    /// have distinct members, in the encoding that fits them (the store
    /// commands' rule).
    pub fn from_sorted(entries: &[(Bytes, f64)], limits: &Limits) -> ZSetValue {
        let longest = entries.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        let total: usize = entries.iter().map(|(m, _)| m.len() + 11).sum();
        if limits.fit(entries.len(), longest) && Listpack::default().safe_to_add(total) {
            let mut lp = Listpack::default();
            entries.iter().for_each(|(m, s)| lp.push_back(m, *s));
            lp.shrink_to_fit();
            return ZSetValue {
                enc: Encoding::Listpack(lp),
            };
        }
        let mut big = Ranked::default();
        entries.iter().for_each(|(m, s)| {
            big.insert(m, *s);
        });
        ZSetValue {
            enc: Encoding::Skiplist(Box::new(big)),
        }
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        match &self.enc {
            Encoding::Listpack(_) => "listpack",
            Encoding::Skiplist(_) => "skiplist",
        }
    }

    /// Heap bytes held, O(1).
    pub fn mem_usage(&self) -> usize {
        match &self.enc {
            Encoding::Listpack(lp) => lp.mem_usage(),
            Encoding::Skiplist(r) => std::mem::size_of::<Ranked>() + r.mem_usage(),
        }
    }

    /// Elements held.
    pub fn len(&self) -> usize {
        match &self.enc {
            Encoding::Listpack(lp) => lp.len(),
            Encoding::Skiplist(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis's lazy-free effort: 1 for a listpack, the member count for
    /// the big encoding.
    pub fn free_effort(&self) -> usize {
        match &self.enc {
            Encoding::Listpack(_) => 1,
            Encoding::Skiplist(r) => r.free_effort(),
        }
    }

    /// Frees up to `budget` members of the big encoding (lazy freeing in
    /// bounded steps); returns how many. The listpack is one buffer, freed
    /// whole with the value: nothing to do here. Only for a set on its
    /// way out: the big encoding is torn down, not kept searchable.
    pub fn drain_some(&mut self, budget: usize) -> usize {
        match &mut self.enc {
            Encoding::Listpack(_) => 0,
            Encoding::Skiplist(r) => r.drain_some(budget),
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.enc {
            Encoding::Listpack(lp) => lp.find(member).map(|(_, e)| e.score),
            Encoding::Skiplist(r) => r.score(member),
        }
    }

    /// Gives `member` the score `score`, adding it if it is new (true).
    /// An equal score changes nothing (-0 and 0 are equal). A listpack
    /// keeps -0 as 0, as Redis's (which stores integral scores as
    /// integers); the big encoding keeps the sign. A new
    /// member that would take a listpack past its limits converts the set
    /// to the big encoding first.
    pub fn set(&mut self, member: &[u8], score: f64, limits: &Limits) -> bool {
        let lp = match &mut self.enc {
            Encoding::Skiplist(r) => return r.insert(member, score),
            Encoding::Listpack(lp) => lp,
        };
        if let Some((_, entry)) = lp.find(member) {
            if entry.score != score {
                lp.remove(member);
                lp.insert_new(member, score);
            }
            return false;
        }
        let fits = lp.len() < limits.max_entries
            && member.len() <= limits.max_value
            && lp.safe_to_add(member.len());
        if fits {
            lp.insert_new(member, score);
        } else {
            let mut big = self.to_big();
            big.insert(member, score);
            self.enc = Encoding::Skiplist(Box::new(big));
        }
        true
    }

    fn to_big(&self) -> Ranked {
        let mut big = Ranked::default();
        self.for_each(|m, s| {
            big.insert(m, s);
        });
        big
    }

    /// Removes `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.enc {
            Encoding::Listpack(lp) => lp.remove(member).is_some(),
            Encoding::Skiplist(r) => r.remove(member).is_some(),
        }
    }

    /// The 0-based rank of `member` in ascending order, with its score.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        match &self.enc {
            Encoding::Listpack(lp) => lp.find(member).map(|(rank, e)| (rank, e.score)),
            Encoding::Skiplist(r) => r.rank(member),
        }
    }

    /// Calls `f` on every entry in order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match &self.enc {
            Encoding::Listpack(lp) => lp.iter().for_each(|e| f(e.member, e.score)),
            Encoding::Skiplist(r) if r.len() > 0 => r.visit(0, r.len() - 1, false, &mut f),
            Encoding::Skiplist(_) => {}
        }
    }

    /// Every entry in order.
    pub fn to_vec(&self) -> Vec<(Bytes, f64)> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|m, s| out.push((Bytes::copy_from_slice(m), s)));
        out
    }

    /// The entries of ranks `first..=last` (clamped to the set), ascending
    /// or, with `rev`, from `last` down to `first`.
    pub fn range(&self, first: usize, last: usize, rev: bool) -> Vec<(Bytes, f64)> {
        let last = last.min(self.len().saturating_sub(1));
        if first > last || self.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(last - first + 1);
        let mut push = |m: &[u8], s: f64| out.push((Bytes::copy_from_slice(m), s));
        match &self.enc {
            Encoding::Listpack(lp) => {
                let entries = lp.entries();
                let span = &entries[first..=last];
                if rev {
                    span.iter().rev().for_each(|e| push(e.member, e.score));
                } else {
                    span.iter().for_each(|e| push(e.member, e.score));
                }
            }
            Encoding::Skiplist(r) => r.visit(first, last, rev, &mut push),
        }
        out
    }

    /// Calls `f` on the entries of ranks `first..=last` (clamped to the
    /// set), ascending or, with `rev`, from `last` down to `first`,
    /// without copying them.
    pub fn visit_range(&self, first: usize, last: usize, rev: bool, mut f: impl FnMut(&[u8], f64)) {
        let last = last.min(self.len().saturating_sub(1));
        if first > last || self.is_empty() {
            return;
        }
        match &self.enc {
            Encoding::Listpack(lp) => {
                let span = &lp.entries()[first..=last];
                if rev {
                    span.iter().rev().for_each(|e| f(e.member, e.score));
                } else {
                    span.iter().for_each(|e| f(e.member, e.score));
                }
            }
            Encoding::Skiplist(r) => r.visit(first, last, rev, &mut f),
        }
    }

    /// The entries at `ranks` (each < len), in that order.
    pub fn at_ranks(&self, ranks: &[usize]) -> Vec<(Bytes, f64)> {
        let copy = |m: &[u8], s: f64| (Bytes::copy_from_slice(m), s);
        match &self.enc {
            Encoding::Listpack(lp) => {
                let entries = lp.entries();
                ranks
                    .iter()
                    .map(|&r| copy(entries[r].member, entries[r].score))
                    .collect()
            }
            Encoding::Skiplist(r) => ranks
                .iter()
                .map(|&rank| {
                    let (m, s) = r.at(rank);
                    copy(m, s)
                })
                .collect(),
        }
    }

    /// How many leading entries satisfy `pred`, which holds for a prefix
    /// of the order (a score bound).
    fn count_while(&self, pred: impl Fn(&[u8], f64) -> bool) -> usize {
        match &self.enc {
            Encoding::Listpack(lp) => lp.iter().take_while(|e| pred(e.member, e.score)).count(),
            Encoding::Skiplist(r) => r.partition(pred),
        }
    }

    /// The ranks of the entries whose scores are in `range`.
    pub fn score_span(&self, range: &ScoreRange) -> Option<(usize, usize)> {
        if range.is_empty() {
            return None;
        }
        let first = self.count_while(|_, s| !range.above_min(s));
        let end = self.count_while(|_, s| range.below_max(s));
        (first < end).then(|| (first, end - 1))
    }

    /// The ranks of the entries whose members are in `range`, found as
    /// Redis does: from the first member (in order) at or after the
    /// minimum, forward while members are at or before the maximum; with
    /// `rev`, from the last member at or before the maximum, backward. On
    /// a set whose scores differ the two may disagree, as in Redis.
    pub fn lex_span(&self, range: &LexRange, rev: bool) -> Option<(usize, usize)> {
        let len = self.len();
        if len == 0 || range.is_empty() {
            return None;
        }
        match &self.enc {
            Encoding::Listpack(lp) => {
                let members: Vec<&[u8]> = lp.iter().map(|e| e.member).collect();
                lex_span_by_walk(&members, range, rev)
            }
            Encoding::Skiplist(r) => {
                let (head, tail) = (r.at(0).0, r.at(len - 1).0);
                if !range.gte_min(tail) || !range.lte_max(head) {
                    return None;
                }
                let first = r.partition(|m, _| !range.gte_min(m));
                let end = r.partition(|m, _| range.lte_max(m));
                (first < end).then(|| (first, end - 1))
            }
        }
    }

    /// Removes the entries of ranks `first..=last` (< len).
    pub fn remove_ranks(&mut self, first: usize, last: usize) {
        match &mut self.enc {
            Encoding::Listpack(lp) => lp.remove_ranks(first, last),
            Encoding::Skiplist(r) => r.remove_ranks(first, last),
        }
    }

    /// Removes and returns up to `count` entries from the low end (or,
    /// with `max`, the high end), in the order they are popped.
    pub fn pop(&mut self, max: bool, count: usize) -> Vec<(Bytes, f64)> {
        let len = self.len();
        let n = count.min(len);
        if n == 0 {
            return Vec::new();
        }
        let (first, last) = if max { (len - n, len - 1) } else { (0, n - 1) };
        let popped = self.range(first, last, max);
        self.remove_ranks(first, last);
        popped
    }

    /// ZSCAN: a listpack is returned whole (cursor 0 next, as Redis does);
    /// the big encoding is walked by slot (see [`ranked`]).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match &self.enc {
            Encoding::Listpack(lp) => {
                lp.iter().for_each(|e| f(e.member, e.score));
                0
            }
            Encoding::Skiplist(r) => r.scan(cursor, count, &mut f),
        }
    }

    /// Checks the big encoding's internal invariants (tests only).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        if let Encoding::Skiplist(r) = &self.enc {
            r.check();
        }
    }
}

/// Redis's listpack walk for a lex range (`zzlFirstInLexRange`,
/// `zzlLastInLexRange` and the loops that follow them): the range must
/// reach the set's ends, then a linear scan finds the starting entry and
/// the span extends while the other bound holds.
fn lex_span_by_walk(members: &[&[u8]], range: &LexRange, rev: bool) -> Option<(usize, usize)> {
    let (head, tail) = (members[0], members[members.len() - 1]);
    if !range.gte_min(tail) || !range.lte_max(head) {
        return None;
    }
    if rev {
        let last = members.iter().rposition(|m| range.lte_max(m))?;
        if !range.gte_min(members[last]) {
            return None;
        }
        let below = members[..last]
            .iter()
            .rev()
            .take_while(|m| range.gte_min(m));
        Some((last - below.count(), last))
    } else {
        let first = members.iter().position(|m| range.gte_min(m))?;
        if !range.lte_max(members[first]) {
            return None;
        }
        let above = members[first + 1..].iter().take_while(|m| range.lte_max(m));
        Some((first, first + above.count()))
    }
}

#[cfg(test)]
mod tests;
