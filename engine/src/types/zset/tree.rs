//! The order of the big encoding: an order-statistic B+tree of
//! `(score, slot id)` entries, sorted by score then member bytes.
//!
//! Why a B+tree rather than Redis's skiplist with spans: both give
//! O(log n) rank, select and insert, but a skiplist node costs two words
//! per level plus a backward pointer and an allocation per member, while a
//! leaf here keeps 64 entries in two flat arrays (12 bytes per entry, no
//! per-member allocation) and a search touches a few cache lines per level
//! instead of one pointer per step. Branches hold each child's entry count
//! (for ranks) and its smallest entry (to route searches).
//!
//! The tree is shallow (64-way: five levels hold a billion entries), so the
//! recursive insert and remove are bounded by the height, never by input.
//! Inserting at the very end (or very start) of the tree splits a full node
//! unevenly, so a set filled in score order keeps its nodes full.

use super::member::MemberOf;
use std::cmp::Ordering;

const LEAF_CAP: usize = 64;
const BRANCH_CAP: usize = 64;
/// Below these, a node is refilled from or merged with a sibling.
const LEAF_MIN: usize = LEAF_CAP / 4;
const BRANCH_MIN: usize = BRANCH_CAP / 4;

/// Nodes are allocated with room for one entry more than they keep, so
/// the insertion that overflows a node (and splits it) never reallocates.
const LEAF_ROOM: usize = LEAF_CAP + 1;
const BRANCH_ROOM: usize = BRANCH_CAP + 1;

/// Bytes a leaf takes: its two arrays plus its header.
pub(super) const LEAF_BYTES: usize = LEAF_ROOM * 12 + std::mem::size_of::<Node>();
/// Bytes a branch takes.
pub(super) const BRANCH_BYTES: usize =
    BRANCH_ROOM * (std::mem::size_of::<Node>() + 8 + 8 + 4) + std::mem::size_of::<Branch>();

/// An entry's sort key: score, then member bytes (as Redis compares them,
/// with -0 equal to 0; scores are never NaN).
#[derive(Clone, Copy)]
pub(super) struct Key<'a> {
    pub score: f64,
    pub member: &'a [u8],
}

impl Key<'_> {
    fn cmp_entry(&self, score: f64, id: u32, members: &impl MemberOf) -> Ordering {
        match score.partial_cmp(&self.score) {
            Some(Ordering::Equal) | None => members.member_of(id).cmp(self.member),
            Some(order) => order,
        }
    }
}

#[derive(Clone, Default)]
struct Leaf {
    scores: Vec<f64>,
    ids: Vec<u32>,
}

#[derive(Clone)]
struct Branch {
    children: Vec<Node>,
    /// Entries under each child.
    counts: Vec<usize>,
    /// Each child's smallest entry.
    min_scores: Vec<f64>,
    min_ids: Vec<u32>,
}

#[derive(Clone)]
enum Node {
    Leaf(Leaf),
    Branch(Box<Branch>),
}

/// Where a node sits: on the tree's right or left edge, where appends and
/// prepends land (they split unevenly).
#[derive(Clone, Copy)]
struct Edges {
    leftmost: bool,
    rightmost: bool,
}

impl Edges {
    fn of_child(self, i: usize, children: usize) -> Edges {
        Edges {
            leftmost: self.leftmost && i == 0,
            rightmost: self.rightmost && i + 1 == children,
        }
    }

    /// Where to split a node that overflowed with an insertion at `pos`
    /// out of `len` (after the insertion).
    fn split_point(self, pos: usize, len: usize) -> usize {
        if self.rightmost && pos + 1 == len {
            len - 1
        } else if self.leftmost && pos == 0 {
            1
        } else {
            len / 2
        }
    }
}

#[derive(Clone)]
pub(super) struct Tree {
    root: Node,
    len: usize,
    leaves: usize,
    branches: usize,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            root: Node::Leaf(Leaf::default()),
            len: 0,
            leaves: 1,
            branches: 0,
        }
    }
}

/// The number of leading items of `0..n` for which `pred` holds, `pred`
/// being true then false.
fn partition(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

impl Node {
    fn len(&self) -> usize {
        match self {
            Node::Leaf(l) => l.ids.len(),
            Node::Branch(b) => b.children.len(),
        }
    }

    fn count(&self) -> usize {
        match self {
            Node::Leaf(l) => l.ids.len(),
            Node::Branch(b) => b.counts.iter().sum(),
        }
    }

    /// The smallest entry; the node is not empty.
    fn min(&self) -> (f64, u32) {
        match self {
            Node::Leaf(l) => (l.scores[0], l.ids[0]),
            Node::Branch(b) => (b.min_scores[0], b.min_ids[0]),
        }
    }

    fn underfull(&self) -> bool {
        match self {
            Node::Leaf(l) => l.ids.len() < LEAF_MIN,
            Node::Branch(b) => b.children.len() < BRANCH_MIN,
        }
    }

    fn capacity(&self) -> usize {
        match self {
            Node::Leaf(_) => LEAF_CAP,
            Node::Branch(_) => BRANCH_CAP,
        }
    }
}

/// What a teardown step removed: entries, and the nodes it freed.
#[derive(Default)]
struct Drained {
    entries: usize,
    leaves: usize,
    branches: usize,
}

impl Node {
    /// Removes up to `budget` entries from the end of this subtree, freeing
    /// the nodes emptied on the way (the counts of the branches above stay
    /// right; nodes left underfull are not refilled).
    fn drain_back(&mut self, budget: usize) -> Drained {
        let branch = match self {
            Node::Leaf(l) => {
                let keep = l.ids.len().saturating_sub(budget);
                let entries = l.ids.len() - keep;
                l.ids.truncate(keep);
                l.scores.truncate(keep);
                return Drained {
                    entries,
                    ..Drained::default()
                };
            }
            Node::Branch(b) => b,
        };
        let mut done = Drained::default();
        while let Some(child) = branch.children.last_mut() {
            let step = child.drain_back(budget - done.entries);
            done.entries += step.entries;
            done.leaves += step.leaves;
            done.branches += step.branches;
            if let Some(count) = branch.counts.last_mut() {
                *count -= step.entries;
            }
            if child.len() > 0 {
                break;
            }
            match child {
                Node::Leaf(_) => done.leaves += 1,
                Node::Branch(_) => done.branches += 1,
            }
            branch.children.pop();
            branch.counts.pop();
            branch.min_scores.pop();
            branch.min_ids.pop();
            if done.entries == budget {
                break;
            }
        }
        done
    }
}

impl Leaf {
    fn with_room() -> Leaf {
        Leaf {
            scores: Vec::with_capacity(LEAF_ROOM),
            ids: Vec::with_capacity(LEAF_ROOM),
        }
    }

    fn split_off(&mut self, at: usize) -> Leaf {
        let mut right = Leaf::with_room();
        right.scores.extend(self.scores.drain(at..));
        right.ids.extend(self.ids.drain(at..));
        right
    }

    fn append(&mut self, other: &mut Leaf) {
        self.scores.append(&mut other.scores);
        self.ids.append(&mut other.ids);
    }
}

impl Branch {
    fn with_room() -> Branch {
        Branch {
            children: Vec::with_capacity(BRANCH_ROOM),
            counts: Vec::with_capacity(BRANCH_ROOM),
            min_scores: Vec::with_capacity(BRANCH_ROOM),
            min_ids: Vec::with_capacity(BRANCH_ROOM),
        }
    }

    fn with_children(children: Vec<Node>) -> Branch {
        let mut b = Branch::with_room();
        for child in children {
            let at = b.children.len();
            b.insert_child(at, child);
        }
        b
    }

    /// The child whose range holds `key`: the last child whose smallest
    /// entry is not after it (the first child when all are after it).
    fn child_for(&self, key: Key, members: &impl MemberOf) -> usize {
        let p = partition(self.children.len(), |i| {
            key.cmp_entry(self.min_scores[i], self.min_ids[i], members) != Ordering::Greater
        });
        p.saturating_sub(1)
    }

    /// Refreshes child `i`'s count and smallest entry after it changed.
    fn refresh(&mut self, i: usize) {
        self.counts[i] = self.children[i].count();
        if self.counts[i] > 0 {
            let (score, id) = self.children[i].min();
            self.min_scores[i] = score;
            self.min_ids[i] = id;
        }
    }

    fn insert_child(&mut self, at: usize, child: Node) {
        let (score, id) = child.min();
        self.counts.insert(at, child.count());
        self.min_scores.insert(at, score);
        self.min_ids.insert(at, id);
        self.children.insert(at, child);
    }

    fn remove_child(&mut self, at: usize) -> Node {
        self.counts.remove(at);
        self.min_scores.remove(at);
        self.min_ids.remove(at);
        self.children.remove(at)
    }

    fn split_off(&mut self, at: usize) -> Branch {
        let mut right = Branch::with_room();
        right.children.extend(self.children.drain(at..));
        right.counts.extend(self.counts.drain(at..));
        right.min_scores.extend(self.min_scores.drain(at..));
        right.min_ids.extend(self.min_ids.drain(at..));
        right
    }

    fn append(&mut self, other: &mut Branch) {
        self.children.append(&mut other.children);
        self.counts.append(&mut other.counts);
        self.min_scores.append(&mut other.min_scores);
        self.min_ids.append(&mut other.min_ids);
    }
}

/// What a removal below a branch tells it.
struct Removed {
    found: bool,
    /// Nodes freed by merges (for memory accounting): (leaves, branches).
    freed: (usize, usize),
}

impl Tree {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Bytes the nodes take.
    pub(super) fn heap_bytes(&self) -> usize {
        self.leaves * LEAF_BYTES + self.branches * BRANCH_BYTES
    }

    /// Removes up to `budget` entries from the end of the order, a leaf's
    /// worth of work per entry at most, freeing emptied nodes: a teardown
    /// for lazy freeing, after which the tree only holds its first entries
    /// (its nodes may be underfull). Returns how many it removed.
    pub(super) fn drain_back(&mut self, budget: usize) -> usize {
        let done = self.root.drain_back(budget);
        self.len -= done.entries;
        self.leaves -= done.leaves;
        self.branches -= done.branches;
        done.entries
    }

    /// Nodes allocated (Redis's lazy-free effort counts allocations).
    pub(super) fn nodes(&self) -> usize {
        self.leaves + self.branches
    }

    /// The number of leading entries for which `pred(score, id)` holds,
    /// `pred` being true for a prefix of the order and false after it.
    pub(super) fn partition(&self, pred: impl Fn(f64, u32) -> bool) -> usize {
        let mut node = &self.root;
        let mut rank = 0;
        loop {
            match node {
                Node::Leaf(l) => {
                    return rank + partition(l.ids.len(), |i| pred(l.scores[i], l.ids[i]))
                }
                Node::Branch(b) => {
                    let p = partition(b.children.len(), |i| pred(b.min_scores[i], b.min_ids[i]));
                    if p == 0 {
                        return rank;
                    }
                    rank += b.counts[..p - 1].iter().sum::<usize>();
                    node = &b.children[p - 1];
                }
            }
        }
    }

    /// The rank of the entry with `key` (which must be in the tree).
    pub(super) fn rank(&self, key: Key, members: &impl MemberOf) -> usize {
        self.partition(|score, id| key.cmp_entry(score, id, members) == Ordering::Less)
    }

    /// The entry at `rank` (< len).
    pub(super) fn get(&self, mut rank: usize) -> (f64, u32) {
        let mut node = &self.root;
        loop {
            match node {
                Node::Leaf(l) => return (l.scores[rank], l.ids[rank]),
                Node::Branch(b) => {
                    let mut i = 0;
                    while rank >= b.counts[i] {
                        rank -= b.counts[i];
                        i += 1;
                    }
                    node = &b.children[i];
                }
            }
        }
    }

    /// Calls `f` on the entries of ranks `first..=last` (< len), in order
    /// or, with `rev`, from `last` down to `first`.
    pub(super) fn visit(&self, first: usize, last: usize, rev: bool, f: &mut impl FnMut(f64, u32)) {
        if first <= last && last < self.len {
            visit_node(&self.root, first, last, rev, f);
        }
    }

    /// Inserts an entry whose member is not in the tree.
    pub(super) fn insert(&mut self, key: Key, id: u32, members: &impl MemberOf) {
        let edges = Edges {
            leftmost: true,
            rightmost: true,
        };
        if let Some(right) = self.insert_into_root(key, id, members, edges) {
            let left = std::mem::replace(&mut self.root, Node::Leaf(Leaf::default()));
            self.root = Node::Branch(Box::new(Branch::with_children(vec![left, right])));
            self.branches += 1;
        }
        self.len += 1;
    }

    fn insert_into_root(
        &mut self,
        key: Key,
        id: u32,
        members: &impl MemberOf,
        edges: Edges,
    ) -> Option<Node> {
        let mut created = (0, 0);
        let split = insert_node(&mut self.root, key, id, members, edges, &mut created);
        self.leaves += created.0;
        self.branches += created.1;
        split
    }

    /// Removes the entry with `key`; false if it is not there.
    pub(super) fn remove(&mut self, key: Key, id: u32, members: &impl MemberOf) -> bool {
        let removed = remove_node(&mut self.root, key, id, members);
        self.leaves -= removed.freed.0;
        self.branches -= removed.freed.1;
        if !removed.found {
            return false;
        }
        self.len -= 1;
        self.shrink_root();
        true
    }

    /// A root branch left with one child (or none) gives way to it.
    fn shrink_root(&mut self) {
        loop {
            let Node::Branch(b) = &mut self.root else {
                return;
            };
            let next = match b.children.len() {
                0 => {
                    self.leaves += 1;
                    Node::Leaf(Leaf::default())
                }
                1 => b.children.pop().expect("one child"),
                _ => return,
            };
            self.root = next;
            self.branches -= 1;
        }
    }

    /// Checks every invariant (tests only): order, counts, smallest
    /// entries, no empty node below the root.
    #[cfg(test)]
    pub(super) fn check(&self, members: &impl MemberOf) {
        let mut entries = Vec::new();
        self.visit_all(&mut |s, id| entries.push((s, id)));
        assert_eq!(entries.len(), self.len);
        for pair in entries.windows(2) {
            let key = Key {
                score: pair[1].0,
                member: members.member_of(pair[1].1),
            };
            assert_eq!(key.cmp_entry(pair[0].0, pair[0].1, members), Ordering::Less);
        }
        let (leaves, branches) = check_node(&self.root, true);
        assert_eq!((leaves, branches), (self.leaves, self.branches));
    }

    #[cfg(test)]
    fn visit_all(&self, f: &mut impl FnMut(f64, u32)) {
        if self.len > 0 {
            self.visit(0, self.len - 1, false, f);
        }
    }
}

#[cfg(test)]
fn check_node(node: &Node, root: bool) -> (usize, usize) {
    match node {
        Node::Leaf(l) => {
            assert!(root || !l.ids.is_empty(), "empty leaf below the root");
            assert!(l.ids.len() <= LEAF_CAP);
            (1, 0)
        }
        Node::Branch(b) => {
            assert!(!b.children.is_empty());
            assert!(b.children.len() <= BRANCH_CAP);
            let mut total = (0, 1);
            for (i, child) in b.children.iter().enumerate() {
                assert_eq!(b.counts[i], child.count());
                assert_eq!((b.min_scores[i], b.min_ids[i]), child.min());
                let (l, br) = check_node(child, false);
                total = (total.0 + l, total.1 + br);
            }
            total
        }
    }
}

fn visit_node(node: &Node, first: usize, last: usize, rev: bool, f: &mut impl FnMut(f64, u32)) {
    match node {
        Node::Leaf(l) => {
            if rev {
                (first..=last).rev().for_each(|i| f(l.scores[i], l.ids[i]));
            } else {
                (first..=last).for_each(|i| f(l.scores[i], l.ids[i]));
            }
        }
        Node::Branch(b) => {
            let mut spans = Vec::with_capacity(b.children.len());
            let mut start = 0;
            for (i, &count) in b.counts.iter().enumerate() {
                let end = start + count; // exclusive
                if count > 0 && start <= last && end > first {
                    spans.push((i, first.max(start) - start, last.min(end - 1) - start));
                }
                start = end;
            }
            if rev {
                spans.reverse();
            }
            for (i, from, to) in spans {
                visit_node(&b.children[i], from, to, rev, f);
            }
        }
    }
}

/// Inserts below `node`; returns the new right sibling if `node` split.
/// `created` counts the nodes made by splits: (leaves, branches).
fn insert_node(
    node: &mut Node,
    key: Key,
    id: u32,
    members: &impl MemberOf,
    edges: Edges,
    created: &mut (usize, usize),
) -> Option<Node> {
    match node {
        Node::Leaf(l) => {
            let pos = partition(l.ids.len(), |i| {
                key.cmp_entry(l.scores[i], l.ids[i], members) == Ordering::Less
            });
            if l.ids.capacity() == 0 {
                *l = Leaf::with_room();
            }
            l.scores.insert(pos, key.score);
            l.ids.insert(pos, id);
            if l.ids.len() <= LEAF_CAP {
                return None;
            }
            let at = edges.split_point(pos, l.ids.len());
            created.0 += 1;
            Some(Node::Leaf(l.split_off(at)))
        }
        Node::Branch(b) => {
            let i = b.child_for(key, members);
            let child_edges = edges.of_child(i, b.children.len());
            let split = insert_node(&mut b.children[i], key, id, members, child_edges, created);
            b.refresh(i);
            let right = split?;
            b.insert_child(i + 1, right);
            if b.children.len() <= BRANCH_CAP {
                return None;
            }
            let at = edges.split_point(i + 1, b.children.len());
            created.1 += 1;
            Some(Node::Branch(Box::new(b.split_off(at))))
        }
    }
}

fn remove_node(node: &mut Node, key: Key, id: u32, members: &impl MemberOf) -> Removed {
    match node {
        Node::Leaf(l) => {
            let pos = partition(l.ids.len(), |i| {
                key.cmp_entry(l.scores[i], l.ids[i], members) == Ordering::Less
            });
            let found = l.ids.get(pos) == Some(&id);
            if found {
                l.scores.remove(pos);
                l.ids.remove(pos);
            }
            Removed {
                found,
                freed: (0, 0),
            }
        }
        Node::Branch(b) => {
            let i = b.child_for(key, members);
            let mut removed = remove_node(&mut b.children[i], key, id, members);
            if !removed.found {
                return removed;
            }
            b.refresh(i);
            let freed = if b.counts[i] == 0 {
                let child = b.remove_child(i);
                count_nodes(&child)
            } else if b.children[i].underfull() {
                rebalance(b, i)
            } else {
                (0, 0)
            };
            removed.freed = (removed.freed.0 + freed.0, removed.freed.1 + freed.1);
            removed
        }
    }
}

/// Nodes in a subtree that is being dropped: (leaves, branches). Only ever
/// called on empty subtrees, which are a single leaf or a chain of
/// branches whose last child was just removed.
fn count_nodes(node: &Node) -> (usize, usize) {
    match node {
        Node::Leaf(_) => (1, 0),
        Node::Branch(b) => b.children.iter().fold((0, 1), |acc, c| {
            let n = count_nodes(c);
            (acc.0 + n.0, acc.1 + n.1)
        }),
    }
}

/// Child `i` of `b` is underfull: merges it with a sibling when both fit
/// in one node, else moves entries over from the sibling so both are about
/// half full. Returns the nodes freed: (leaves, branches).
fn rebalance(b: &mut Branch, i: usize) -> (usize, usize) {
    if b.children.len() < 2 {
        return (0, 0);
    }
    let left = if i > 0 { i - 1 } else { i };
    let (l_node, r_node) = {
        let (head, tail) = b.children.split_at_mut(left + 1);
        (&mut head[left], &mut tail[0])
    };
    let total = l_node.len() + r_node.len();
    let freed = if total <= l_node.capacity() {
        merge(l_node, r_node);
        match b.remove_child(left + 1) {
            Node::Leaf(_) => (1, 0),
            Node::Branch(_) => (0, 1),
        }
    } else {
        redistribute(l_node, r_node, total / 2);
        b.refresh(left + 1);
        (0, 0)
    };
    b.refresh(left);
    freed
}

fn merge(left: &mut Node, right: &mut Node) {
    match (left, right) {
        (Node::Leaf(l), Node::Leaf(r)) => l.append(r),
        (Node::Branch(l), Node::Branch(r)) => l.append(r),
        _ => unreachable!("siblings are at the same depth"),
    }
}

/// Moves entries between two siblings so that `left` holds `keep`.
fn redistribute(left: &mut Node, right: &mut Node, keep: usize) {
    match (left, right) {
        (Node::Leaf(l), Node::Leaf(r)) => {
            if l.ids.len() > keep {
                let mut moved = l.split_off(keep);
                moved.append(r);
                *r = moved;
            } else {
                let take = keep - l.ids.len();
                l.scores.extend(r.scores.drain(..take));
                l.ids.extend(r.ids.drain(..take));
            }
        }
        (Node::Branch(l), Node::Branch(r)) => {
            if l.children.len() > keep {
                let mut moved = l.split_off(keep);
                moved.append(r);
                **r = moved;
            } else {
                let take = keep - l.children.len();
                for _ in 0..take {
                    let child = r.remove_child(0);
                    let at = l.children.len();
                    l.insert_child(at, child);
                }
            }
        }
        _ => unreachable!("siblings are at the same depth"),
    }
}
