//! The list type: a quicklist, that is a deque of nodes, each node a
//! [`pack::Pack`] of elements packed in one byte buffer.
//!
//! A small list is a single node (Redis 7.2 would call that a bare
//! listpack; Redis 7.0, whose behaviour Keel follows, always reports the
//! `quicklist` encoding for lists). Nodes are bounded by
//! `list-max-listpack-size`, read at each write (see [`Fill`]), so that a
//! push or a pop moves at most one node's bytes and a lookup by index skips
//! whole nodes by their counts.

pub mod pack;

use bytes::Bytes;
use pack::{Elem, Entry, Pack, Probe};
use std::collections::VecDeque;

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head: LPUSH, LPOP, `LEFT`.
    Head,
    /// The tail: RPUSH, RPOP, `RIGHT`.
    Tail,
}

/// Bytes a node holding a counted number of entries may still not exceed
/// (Redis's quicklist safety limit for positive `list-max-listpack-size`).
const ENTRIES_MODE_BYTE_LIMIT: usize = 8192;
/// Largest entry count per node (Redis clamps its fill factor the same way).
const MAX_ENTRIES_PER_NODE: i64 = (1 << 15) - 1;
/// Node size of `list-max-listpack-size -1`; each level below doubles it.
const SMALLEST_BYTE_LIMIT: usize = 4096;
/// The lowest byte level (`-5`, 64 KiB); lower values are clamped to it.
const LOWEST_BYTE_LEVEL: i64 = -5;

/// How full a node may get, from `list-max-listpack-size`: a negative value
/// bounds its bytes (-1: 4 KiB, -2: 8 KiB, ..., -5: 64 KiB), a positive one
/// its entries. A node always takes at least one element, however large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    Bytes(usize),
    Entries(usize),
}

impl Fill {
    pub fn from_config(list_max_listpack_size: i64) -> Fill {
        if list_max_listpack_size < 0 {
            let level = list_max_listpack_size.max(LOWEST_BYTE_LEVEL).unsigned_abs() as u32;
            Fill::Bytes(SMALLEST_BYTE_LIMIT << (level - 1))
        } else {
            let entries = list_max_listpack_size.clamp(1, MAX_ENTRIES_PER_NODE);
            Fill::Entries(entries as usize)
        }
    }

    /// (most entries, most bytes) of one node.
    fn limits(self) -> (usize, usize) {
        match self {
            Fill::Bytes(bytes) => (usize::MAX, bytes),
            Fill::Entries(entries) => (entries, ENTRIES_MODE_BYTE_LIMIT),
        }
    }

    /// Whether `node` can take one more entry of `size` bytes.
    fn allows(self, node: &Pack, size: usize) -> bool {
        let (entries, bytes) = self.limits();
        node.is_empty() || (node.len() < entries && node.bytes() + size <= bytes)
    }

    /// Whether two nodes fit in one.
    fn can_merge(self, a: &Pack, b: &Pack) -> bool {
        let (entries, bytes) = self.limits();
        a.len() + b.len() <= entries && a.bytes() + b.bytes() <= bytes
    }

    /// Whether `node` holds more than one node should (an LSET that grew it).
    fn overfull(self, node: &Pack) -> bool {
        let (entries, bytes) = self.limits();
        node.len() > 1 && (node.len() > entries || node.bytes() > bytes)
    }
}

/// A list value. Boxed so that `Value`, and with it every key's slot in the
/// keyspace, stays small whatever the list's bookkeeping needs.
#[derive(Clone, Default)]
pub struct ListValue(Box<ListData>);

/// The list's nodes and counts, behind [`ListValue`]'s box.
#[derive(Clone, Default)]
pub struct ListData {
    nodes: VecDeque<Pack>,
    /// Elements over all nodes.
    len: usize,
    /// Buffer capacity over all nodes, kept so that [`ListValue::mem_usage`] is O(1).
    heap: usize,
}

impl std::ops::Deref for ListValue {
    type Target = ListData;

    fn deref(&self) -> &ListData {
        &self.0
    }
}

impl std::ops::DerefMut for ListValue {
    fn deref_mut(&mut self) -> &mut ListData {
        &mut self.0
    }
}

/// Where an element is: its node, its index in the node, its byte offset.
#[derive(Debug, Clone, Copy)]
struct Spot {
    node: usize,
    index: usize,
    at: usize,
}

impl ListValue {
    pub fn new() -> Self {
        ListValue::default()
    }
}

/// Every list operation; [`ListValue`] reaches them through `Deref`.
impl ListData {
    /// The name `OBJECT ENCODING` reports: Redis 7.0 reports `quicklist`
    /// for every list, small or large.
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }

    /// Heap bytes held, O(1).
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<ListData>()
            + self.heap
            + self.nodes.capacity() * std::mem::size_of::<Pack>()
    }

    /// Elements held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Nodes of the quicklist.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Redis's lazy-free effort for a quicklist: its number of nodes.
    pub fn free_effort(&self) -> usize {
        self.nodes.len()
    }

    /// Frees up to `budget` elements from the tail, whole nodes while they
    /// fit in what is left of the budget (lazy freeing of a big list in
    /// bounded steps); returns how many.
    pub fn drain_some(&mut self, budget: usize) -> usize {
        let mut freed = 0;
        while let Some(last) = self.nodes.len().checked_sub(1) {
            let (left, node_len) = (budget - freed, self.nodes[last].len());
            if node_len <= left {
                self.remove_node(last);
                freed += node_len;
                continue;
            }
            if left > 0 {
                self.edit(last, |node| {
                    let from = node.offset_of(node_len - left);
                    node.remove_span(from, node.end(), left);
                });
                freed += left;
            }
            break;
        }
        freed
    }

    // ---- keeping the counts ----

    /// Changes node `i` through `f`, keeping `len` and `heap` in step.
    fn edit<R>(&mut self, i: usize, f: impl FnOnce(&mut Pack) -> R) -> R {
        let node = &mut self.nodes[i];
        let (len, cap) = (node.len(), node.capacity());
        let out = f(node);
        self.len = self.len + node.len() - len;
        self.heap = self.heap + node.capacity() - cap;
        out
    }

    fn insert_node(&mut self, i: usize, node: Pack) {
        self.len += node.len();
        self.heap += node.capacity();
        self.nodes.insert(i, node);
    }

    fn remove_node(&mut self, i: usize) -> Pack {
        let node = self.nodes.remove(i).expect("a node to remove");
        self.len -= node.len();
        self.heap -= node.capacity();
        node
    }

    fn drop_empty_nodes(&mut self) {
        let mut i = 0;
        while i < self.nodes.len() {
            if self.nodes[i].is_empty() {
                self.remove_node(i);
            } else {
                i += 1;
            }
        }
    }

    // ---- finding ----

    /// The node and in-node index of element `index` (< len), skipping
    /// whole nodes by their counts from the nearer end of the list.
    fn locate(&self, index: usize) -> (usize, usize) {
        debug_assert!(index < self.len);
        if index < self.len / 2 {
            let mut rest = index;
            for (i, node) in self.nodes.iter().enumerate() {
                if rest < node.len() {
                    return (i, rest);
                }
                rest -= node.len();
            }
        } else {
            let mut rest = self.len - 1 - index;
            for (i, node) in self.nodes.iter().enumerate().rev() {
                if rest < node.len() {
                    return (i, node.len() - 1 - rest);
                }
                rest -= node.len();
            }
        }
        unreachable!("index {index} below len {} is in some node", self.len)
    }

    fn spot(&self, index: usize) -> Spot {
        let (node, index) = self.locate(index);
        let at = self.nodes[node].offset_of(index);
        Spot { node, index, at }
    }

    /// The element at `index`, if the list has one.
    pub fn get(&self, index: usize) -> Option<Bytes> {
        if index >= self.len {
            return None;
        }
        let spot = self.spot(index);
        Some(self.nodes[spot.node].get(spot.at).to_bytes())
    }

    /// Every element from the head.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_at(0, 0)
    }

    /// Elements from offset `at` of node `node` towards the tail.
    fn iter_at(&self, node: usize, at: usize) -> Iter<'_> {
        let mut rest = self.nodes.range(node.min(self.nodes.len())..);
        let current = rest.next();
        Iter { rest, current, at }
    }

    /// Every element from `index` (<= len) towards the tail.
    pub fn iter_from(&self, index: usize) -> Iter<'_> {
        if index >= self.len {
            return self.iter_at(self.nodes.len(), 0);
        }
        let spot = self.spot(index);
        self.iter_at(spot.node, spot.at)
    }

    /// Every element from the tail towards the head.
    pub fn iter_rev(&self) -> IterRev<'_> {
        let node = self.nodes.len().saturating_sub(1);
        let at = self.nodes.back().map_or(0, Pack::end);
        IterRev {
            list: self,
            node,
            at,
        }
    }

    /// `count` elements from `start` (clamped to the list), as bytes.
    pub fn range(&self, start: usize, count: usize) -> Vec<Bytes> {
        self.range_with(start, count, |text| text)
    }

    /// `count` elements from `start` (clamped to the list), each text
    /// passed through `wrap` (LRANGE builds its reply items directly).
    pub fn range_with<T>(
        &self,
        start: usize,
        count: usize,
        wrap: impl FnMut(Bytes) -> T,
    ) -> Vec<T> {
        let count = count.min(self.len.saturating_sub(start));
        texts_of(self.iter_from(start).take(count), count, wrap)
    }

    /// `count` elements from `start` (clamped to the list), encoded as a
    /// bulk-string array reply (LRANGE).
    pub fn range_reply(&self, start: usize, count: usize) -> crate::resp::BulkArray {
        /// A guess of the average text length, to size the buffer once.
        const TYPICAL_TEXT: usize = 8;
        let count = count.min(self.len.saturating_sub(start));
        let mut out = crate::resp::BulkArray::with_capacity(count, TYPICAL_TEXT);
        let mut digits = itoa::Buffer::new();
        for elem in self.iter_from(start).take(count) {
            match elem {
                Elem::Int(n) => out.push(digits.format(n).as_bytes()),
                Elem::Str(text) => out.push(text),
            }
        }
        out
    }

    /// The first element from the head equal to `text`, if any.
    fn find(&self, text: &[u8]) -> Option<Spot> {
        let probe = Probe::new(text);
        self.nodes.iter().enumerate().find_map(|(node, pack)| {
            pack.iter()
                .enumerate()
                .find(|(_, (_, e))| e.matches(&probe))
                .map(|(index, (at, _))| Spot { node, index, at })
        })
    }

    // ---- adding ----

    /// Adds `text` at `end`.
    pub fn push(&mut self, end: End, text: &[u8], fill: Fill) {
        let entry = Entry::new(text);
        let i = match end {
            End::Head => 0,
            End::Tail => self.nodes.len().saturating_sub(1),
        };
        let room = self
            .nodes
            .get(i)
            .is_some_and(|node| fill.allows(node, entry.size()));
        let i = match (room, end) {
            (true, _) => i,
            (false, End::Head) => {
                self.insert_node(0, Pack::new());
                0
            }
            (false, End::Tail) => {
                self.insert_node(self.nodes.len(), Pack::new());
                self.nodes.len() - 1
            }
        };
        self.edit(i, |node| match end {
            End::Head => node.push_front(&entry),
            End::Tail => node.push_back(&entry),
        });
    }

    /// Inserts `text` before or after the first element equal to `pivot`
    /// (LINSERT). False when there is no such element.
    pub fn insert_at_pivot(&mut self, pivot: &[u8], after: bool, text: &[u8], fill: Fill) -> bool {
        let Some(mut spot) = self.find(pivot) else {
            return false;
        };
        if after {
            spot.at = self.nodes[spot.node].next(spot.at);
            spot.index += 1;
        }
        self.insert_at(spot, &Entry::new(text), fill);
        true
    }

    /// Inserts `entry` at `spot`, which may be just past a node's last entry.
    fn insert_at(&mut self, spot: Spot, entry: &Entry, fill: Fill) {
        let Spot { node: i, index, at } = spot;
        if fill.allows(&self.nodes[i], entry.size()) {
            self.edit(i, |node| node.insert(at, entry));
            return;
        }
        let node_len = self.nodes[i].len();
        if index == 0 {
            self.insert_before_node(i, entry, fill);
        } else if index == node_len {
            self.insert_after_node(i, entry, fill);
        } else {
            let tail = self.edit(i, |node| node.split_off(at, index));
            self.insert_node(i + 1, tail);
            self.insert_after_node(i, entry, fill);
        }
    }

    /// Puts `entry` at the tail of the node before `i` if it has room, else
    /// in a new node of its own just before `i`.
    fn insert_before_node(&mut self, i: usize, entry: &Entry, fill: Fill) {
        if i > 0 && fill.allows(&self.nodes[i - 1], entry.size()) {
            self.edit(i - 1, |node| node.push_back(entry));
        } else {
            let mut node = Pack::new();
            node.push_back(entry);
            self.insert_node(i, node);
        }
    }

    /// Puts `entry` at the tail of node `i` if it has room, else at the
    /// head of the next node if that has room, else in a new node between.
    fn insert_after_node(&mut self, i: usize, entry: &Entry, fill: Fill) {
        if fill.allows(&self.nodes[i], entry.size()) {
            self.edit(i, |node| node.push_back(entry));
        } else if i + 1 < self.nodes.len() && fill.allows(&self.nodes[i + 1], entry.size()) {
            self.edit(i + 1, |node| node.push_front(entry));
        } else {
            let mut node = Pack::new();
            node.push_back(entry);
            self.insert_node(i + 1, node);
        }
    }

    /// Replaces the element at `index` (LSET). False when out of range.
    pub fn set(&mut self, index: usize, text: &[u8], fill: Fill) -> bool {
        if index >= self.len {
            return false;
        }
        let spot = self.spot(index);
        self.edit(spot.node, |node| node.replace(spot.at, &Entry::new(text)));
        if fill.overfull(&self.nodes[spot.node]) {
            self.repack(spot.node, fill);
        }
        true
    }

    /// Splits node `i` into as many nodes as `fill` needs.
    fn repack(&mut self, i: usize, fill: Fill) {
        let whole = self.remove_node(i);
        let mut pieces = vec![Pack::new()];
        for (_, elem) in whole.iter() {
            let text = elem.to_bytes();
            let entry = Entry::new(&text);
            let last = pieces.last_mut().expect("at least one piece");
            if fill.allows(last, entry.size()) {
                last.push_back(&entry);
            } else {
                let mut node = Pack::new();
                node.push_back(&entry);
                pieces.push(node);
            }
        }
        for (k, piece) in pieces.into_iter().enumerate() {
            self.insert_node(i + k, piece);
        }
    }

    // ---- removing ----

    /// Removes up to `count` elements from `end` and returns them in the
    /// order they were taken (from the tail: last element first).
    pub fn pop(&mut self, end: End, count: usize) -> Vec<Bytes> {
        let count = count.min(self.len);
        let taken: Vec<Bytes> = match end {
            End::Head => texts_of(self.iter().take(count), count, |text| text),
            End::Tail => texts_of(self.iter_rev().take(count), count, |text| text),
        };
        match end {
            End::Head => self.remove_front(count),
            End::Tail => self.remove_back(count),
        }
        taken
    }

    /// Removes one element from `end`.
    pub fn pop_one(&mut self, end: End) -> Option<Bytes> {
        self.pop(end, 1).pop()
    }

    /// Removes the first `n` elements.
    pub fn remove_front(&mut self, mut n: usize) {
        while n > 0 && !self.nodes.is_empty() {
            let node_len = self.nodes[0].len();
            if node_len <= n {
                self.remove_node(0);
                n -= node_len;
            } else {
                let to = self.nodes[0].offset_of(n);
                self.edit(0, |node| node.remove_span(0, to, n));
                n = 0;
            }
        }
    }

    /// Removes the last `n` elements.
    pub fn remove_back(&mut self, mut n: usize) {
        while n > 0 && !self.nodes.is_empty() {
            let last = self.nodes.len() - 1;
            let node_len = self.nodes[last].len();
            if node_len <= n {
                self.remove_node(last);
                n -= node_len;
            } else {
                let node = &self.nodes[last];
                let (from, to) = (node.offset_of(node_len - n), node.end());
                self.edit(last, |node| node.remove_span(from, to, n));
                n = 0;
            }
        }
    }

    /// Keeps only the elements `start..=stop` (LTRIM), with `start <= stop < len`.
    pub fn keep_range(&mut self, start: usize, stop: usize) {
        self.remove_back(self.len.saturating_sub(stop + 1));
        self.remove_front(start);
    }

    /// Removes elements equal to `text` (LREM): all of them when `count` is
    /// 0, the first `count` from the head when positive, the first
    /// `|count|` from the tail when negative. Returns how many went.
    pub fn remove_matches(&mut self, text: &[u8], count: i64, fill: Fill) -> usize {
        let probe = Probe::new(text);
        let mut budget = match count {
            0 => usize::MAX,
            n => usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX),
        };
        let order: Vec<usize> = if count < 0 {
            (0..self.nodes.len()).rev().collect()
        } else {
            (0..self.nodes.len()).collect()
        };
        let mut removed = 0;
        for i in order {
            if budget == 0 {
                break;
            }
            let gone = self.remove_in_node(i, &probe, budget, count < 0);
            budget -= gone;
            removed += gone;
        }
        if removed > 0 {
            self.drop_empty_nodes();
            self.merge_neighbours(fill);
        }
        removed
    }

    /// Removes up to `budget` matches of `probe` from node `i`, the last
    /// ones of the node when `from_tail`. Returns how many went.
    fn remove_in_node(&mut self, i: usize, probe: &Probe, budget: usize, from_tail: bool) -> usize {
        let matches = self.nodes[i]
            .iter()
            .filter(|(_, e)| e.matches(probe))
            .count();
        let mut skip = if from_tail {
            matches.saturating_sub(budget)
        } else {
            0
        };
        if matches == skip {
            return 0; // nothing to remove here: leave the node untouched
        }
        let mut left = budget;
        self.edit(i, |node| {
            node.retain(|elem| {
                if left == 0 || !elem.matches(probe) {
                    return true;
                }
                if skip > 0 {
                    skip -= 1;
                    return true;
                }
                left -= 1;
                false
            })
        })
    }

    /// Merges neighbouring nodes that fit in one, after removals left
    /// nodes part-empty (keeps a list that shrank lean).
    fn merge_neighbours(&mut self, fill: Fill) {
        let mut i = 0;
        while i + 1 < self.nodes.len() {
            if fill.can_merge(&self.nodes[i], &self.nodes[i + 1]) {
                let next = self.remove_node(i + 1);
                self.edit(i, |node| node.append(next));
            } else {
                i += 1;
            }
        }
    }

    /// Asserts the counts kept alongside the nodes (for tests).
    #[cfg(test)]
    fn check_invariants(&self) {
        let len: usize = self.nodes.iter().map(Pack::len).sum();
        let heap: usize = self.nodes.iter().map(Pack::capacity).sum();
        assert_eq!(len, self.len, "element count");
        assert_eq!(heap, self.heap, "heap bytes");
        assert!(self.nodes.iter().all(|n| !n.is_empty()), "no empty node");
        assert_eq!(self.iter().count(), self.len);
        assert_eq!(self.iter_rev().count(), self.len);
    }
}

impl PartialEq for ListValue {
    /// Two lists are equal when they hold the same elements in the same
    /// order, however their nodes are cut.
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl std::fmt::Debug for ListValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListValue")
            .field("len", &self.len)
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

/// The texts of `count` `elements`, each passed through `wrap`, copied
/// into one shared buffer first (one allocation for a whole LRANGE or
/// counted pop, each element a slice of it).
fn texts_of<'a, T>(
    elements: impl Iterator<Item = Elem<'a>>,
    count: usize,
    mut wrap: impl FnMut(Bytes) -> T,
) -> Vec<T> {
    /// A guess of the average text length, to size the buffer once.
    const TYPICAL_TEXT: usize = 8;
    let mut buf = Vec::with_capacity(count.saturating_mul(TYPICAL_TEXT));
    let mut ends = Vec::with_capacity(count);
    for elem in elements {
        elem.write_text(&mut buf);
        ends.push(buf.len());
    }
    let buf = Bytes::from(buf);
    let mut start = 0;
    let mut out = Vec::with_capacity(ends.len());
    for end in ends {
        out.push(wrap(buf.slice(start..end)));
        start = end;
    }
    out
}

/// Elements from the head towards the tail.
pub struct Iter<'a> {
    /// The nodes after the current one.
    rest: std::collections::vec_deque::Iter<'a, Pack>,
    current: Option<&'a Pack>,
    /// Offset of the next entry in the current node.
    at: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        loop {
            let pack = self.current?;
            if self.at < pack.end() {
                let (elem, next) = pack.read(self.at);
                self.at = next;
                return Some(elem);
            }
            self.current = self.rest.next();
            self.at = 0;
        }
    }
}

/// Elements from the tail towards the head.
pub struct IterRev<'a> {
    list: &'a ListData,
    node: usize,
    at: usize,
}

impl<'a> Iterator for IterRev<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        loop {
            let pack = self.list.nodes.get(self.node)?;
            if let Some(prev) = pack.prev(self.at) {
                self.at = prev;
                return Some(pack.get(prev));
            }
            if self.node == 0 {
                return None;
            }
            self.node -= 1;
            self.at = self.list.nodes[self.node].end();
        }
    }
}

#[cfg(test)]
mod tests;
