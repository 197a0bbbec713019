//! Per-key linearizability, Wing & Gong's search with Lowe's memoisation
//! (as in Porcupine and Knossos), on one key at a time: Redis commands in
//! the workloads touch one key each, and linearizability is compositional
//! (a history is linearizable if and only if each key's sub-history is).
//!
//! The search walks the key's call and return events in history order. At
//! each step it either linearizes a pending call whose effect fits the
//! model's current state (see `model.rs`) or, on meeting the return of a
//! call it has not linearized, backtracks. A set of (linearized calls,
//! state) pairs already explored cuts every repeated branch.
//!
//! - `fail` operations are left out: they certainly did not happen.
//! - Indeterminate operations (`info`, or never completed) get a return
//!   at the end of the history, so they may take effect at any point
//!   after their invoke; taking effect after everything else is the same
//!   as never taking effect, since nothing observes it. Indeterminate
//!   reads observe nothing and are left out.
//! - A key starts missing: a read returns `None`, a list read `[]`.
//!
//! On failure the checker narrows the history down to a counterexample:
//! the first operation whose completion makes the key's history
//! non-linearizable (the shortest failing prefix), and the latest window
//! before it that is still not linearizable by itself when it starts from
//! *any* state the key could hold there. Windows start at cuts: points
//! that no acknowledged operation straddles, so everything before a cut
//! precedes everything after it.
//!
//! Each search is bounded by a [`Budget`]; a key whose search runs out is
//! reported as unknown, never as valid.

use super::model::{self, Seeds, State};
use super::op::{ops_by_key, Op};
use super::CheckResult;
use crate::history::{Call, History, Outcome};
use std::collections::HashMap;
use std::fmt;

const NAME: &str = "linearizability";

/// Bounds the work of one search: how many steps (linearize or backtrack)
/// it may take before it gives up. The checker runs one search per key,
/// plus a few dozen more per key that fails, to narrow the counterexample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub max_steps: u64,
}

impl Default for Budget {
    /// Enough for thousands of operations per key at the workloads'
    /// concurrency; a fraction of a second of work each.
    fn default() -> Self {
        Budget {
            max_steps: 2_000_000,
        }
    }
}

/// The verdict on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyVerdict {
    Linearizable,
    NotLinearizable(Box<Counterexample>),
    /// The search used up its budget.
    GaveUp {
        steps: u64,
    },
}

/// A window of one key's operations that cannot be linearized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counterexample {
    pub key: String,
    /// The operation whose completion makes the history non-linearizable.
    pub culprit: Op,
    /// The window's operations, in invoke order (the culprit included);
    /// indeterminate ones may take effect anywhere after their invoke.
    /// Those invoked before the cut ([`Counterexample::carried_over`])
    /// are indeterminate operations still free to take effect.
    pub window: Vec<Op>,
    /// Where the window starts: `None` when it starts at the beginning of
    /// the history (the key missing), else the history position of its
    /// cut (the key holding any value it could hold there).
    pub cut: Option<usize>,
}

impl Counterexample {
    /// The window's operations invoked before its cut: indeterminate ones
    /// that may take effect inside it.
    pub fn carried_over(&self) -> impl Iterator<Item = &Op> {
        let start = self.cut.unwrap_or(0);
        self.window.iter().filter(move |op| op.invoke < start)
    }

    /// The window's operations invoked at or after its cut.
    pub fn invoked_inside(&self) -> impl Iterator<Item = &Op> {
        let start = self.cut.unwrap_or(0);
        self.window.iter().filter(move |op| op.invoke >= start)
    }
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// How many carried-over operations are named.
        const NAMED: usize = 8;
        /// How many operations of the window are listed (the latest).
        const LISTED: usize = 40;
        writeln!(
            f,
            "key {:?}: operation #{} cannot be linearized: {}",
            self.key, self.culprit.id, self.culprit
        )?;
        let start = match self.cut {
            None => "the key missing, as at the start".to_owned(),
            Some(cut) => format!("any value the key could hold at event {cut}"),
        };
        let inside: Vec<&Op> = self.invoked_inside().collect();
        write!(
            f,
            "no order of these {} operation(s) respects real time and the command semantics, starting from {start}",
            inside.len()
        )?;
        let carried: Vec<String> = self
            .carried_over()
            .map(|op| format!("#{}", op.id))
            .collect();
        if !carried.is_empty() {
            let more = carried.len().saturating_sub(NAMED);
            let named = carried[..carried.len().min(NAMED)].join(", ");
            let more = if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            };
            write!(
                f,
                ", with {} indeterminate operation(s) invoked earlier free to take effect among them ({named}{more})",
                carried.len()
            )?;
        }
        f.write_str(":")?;
        if inside.len() > LISTED {
            write!(
                f,
                "\n  ... {} earlier operation(s) not shown",
                inside.len() - LISTED
            )?;
        }
        for op in &inside[inside.len().saturating_sub(LISTED)..] {
            let mark = if op.id == self.culprit.id { " <==" } else { "" };
            write!(f, "\n  {op}{mark}")?;
        }
        Ok(())
    }
}

/// Checks every key of `history`. Invalid if any key is not linearizable
/// (with a counterexample per key), unknown if none is but some key's
/// search ran out of budget.
pub fn check_linearizable(history: &History, budget: Budget) -> CheckResult {
    let keys = match ops_by_key(NAME, history) {
        Ok(keys) => keys,
        Err(malformed) => return malformed,
    };
    let mut counterexamples = Vec::new();
    let mut gave_up = Vec::new();
    for (key, ops) in &keys {
        // A queue's pops are checked by `check::queue`, not as a register.
        if ops.iter().any(|op| op.call.is_queue()) {
            continue;
        }
        match check_key(key, ops, budget) {
            KeyVerdict::Linearizable => {}
            KeyVerdict::NotLinearizable(cx) => counterexamples.push(cx.to_string()),
            KeyVerdict::GaveUp { steps } => gave_up.push(format!(
                "key {key:?}: gave up after {steps} search steps ({} operations)",
                ops.len()
            )),
        }
    }
    let ops: usize = keys.values().map(Vec::len).sum();
    let checked = format!("{} key(s), {ops} operation(s)", keys.len());
    if !counterexamples.is_empty() {
        let summary = format!(
            "{} key(s) not linearizable; checked {checked}",
            counterexamples.len()
        );
        counterexamples.extend(gave_up);
        return CheckResult::invalid(NAME, summary, super::capped(counterexamples));
    }
    if !gave_up.is_empty() {
        let summary = format!(
            "search budget exhausted on {} key(s); checked {checked}",
            gave_up.len()
        );
        return CheckResult::unknown(NAME, summary, super::capped(gave_up));
    }
    CheckResult::valid(NAME, format!("{checked}, all linearizable"))
}

/// Checks one key's operations (in invoke order, all on that key).
pub fn check_key(key: &str, ops: &[Op], budget: Budget) -> KeyVerdict {
    let not_linearizable = |cx| KeyVerdict::NotLinearizable(Box::new(cx));
    match search_window(ops, From::Beginning, usize::MAX, budget) {
        Search::Linearizable => KeyVerdict::Linearizable,
        Search::NotLinearizable => not_linearizable(counterexample(
            key,
            ops,
            From::Beginning,
            usize::MAX,
            budget,
        )),
        Search::GaveUp { steps } => match refute_by_windows(key, ops, budget) {
            Some(cx) => not_linearizable(cx),
            None => KeyVerdict::GaveUp { steps },
        },
    }
}

/// An operation as one search sees it.
struct SearchOp<'a> {
    call: &'a Call,
    /// `None`: indeterminate.
    outcome: Option<&'a Outcome>,
    invoke: usize,
    /// `None`: returns after everything else.
    complete: Option<usize>,
}

/// The key's history from cut `start` to history position `end`: only
/// operations invoked at or before `end`; acknowledgements after `end`
/// are not yet known (the operation is indeterminate); operations
/// acknowledged before `start` are left out (their effect is the window's
/// starting state).
fn view(ops: &[Op], start: usize, end: usize) -> Vec<SearchOp<'_>> {
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        if op.invoke > end || op.is_fail() {
            continue;
        }
        let acked = op.acked_at().filter(|&at| at <= end);
        if acked.is_some_and(|at| at < start) {
            continue;
        }
        let outcome = acked.and(op.outcome());
        if outcome.is_none() && matches!(op.call, Call::Read { .. } | Call::ReadList { .. }) {
            continue;
        }
        out.push(SearchOp {
            call: &op.call,
            outcome,
            invoke: op.invoke,
            complete: acked,
        });
    }
    out
}

/// Where a window of a key's history starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum From {
    /// The beginning of the history: the key is missing.
    Beginning,
    /// A cut (a history position): the key holds any value it could hold
    /// there ([`seeds_at`]).
    Cut(usize),
}

impl From {
    fn position(self) -> usize {
        match self {
            From::Beginning => 0,
            From::Cut(at) => at,
        }
    }
}

/// Searches the window of `ops` from `from` to history position `end`.
fn search_window(ops: &[Op], from: From, end: usize, budget: Budget) -> Search {
    match from {
        From::Beginning => search(
            &view(ops, 0, end),
            State::Missing,
            &Seeds::default(),
            budget,
        ),
        From::Cut(cut) => search(
            &view(ops, cut, end),
            State::Unknown(0),
            &seeds_at(ops, cut),
            budget,
        ),
    }
}

/// When the whole history is too much for the budget: overlapping
/// windows between cuts, each searched from any state the key could hold
/// at its start. A window that is not linearizable proves that the
/// history is not; windows that pass prove nothing.
fn refute_by_windows(key: &str, ops: &[Op], budget: Budget) -> Option<Counterexample> {
    /// Acknowledged operations per chunk; a window spans two chunks.
    const CHUNK: usize = 64;
    let mut acked: Vec<usize> = ops.iter().filter_map(Op::acked_at).collect();
    acked.sort_unstable();
    let acked_before = |at: usize| acked.partition_point(|&a| a < at);
    let mut bounds = vec![From::Beginning];
    for cut in cuts(ops, usize::MAX, usize::MAX) {
        if acked_before(cut) >= acked_before(bounds[bounds.len() - 1].position()) + CHUNK {
            bounds.push(From::Cut(cut));
        }
    }
    for (k, &from) in bounds.iter().enumerate() {
        let end = bounds.get(k + 2).map_or(usize::MAX, |b| b.position() - 1);
        if let Search::NotLinearizable = search_window(ops, from, end, budget) {
            return Some(counterexample(key, ops, from, end, budget));
        }
    }
    None
}

/// Narrows a window (from `from` to history position `limit`) known not
/// to be linearizable down to a counterexample.
fn counterexample(
    key: &str,
    ops: &[Op],
    from: From,
    limit: usize,
    budget: Budget,
) -> Counterexample {
    let end = shortest_failing_prefix(ops, from, limit, budget);
    let culprit = ops
        .iter()
        .find(|op| op.acked_at() == Some(end))
        .expect("a failing prefix ends with an acknowledgement")
        .clone();
    let from = latest_failing_cut(ops, from, &culprit, end, budget);
    let window = ops
        .iter()
        .filter(|op| in_window(op, from.position(), end))
        .cloned()
        .collect();
    Counterexample {
        key: key.to_owned(),
        culprit,
        window,
        cut: match from {
            From::Beginning => None,
            From::Cut(at) => Some(at),
        },
    }
}

/// Whether `op` takes part in [`view`]`(start, end)` (failed operations
/// and unacknowledged reads do not).
fn in_window(op: &Op, start: usize, end: usize) -> bool {
    if op.invoke > end || op.is_fail() {
        return false;
    }
    let acked = op.acked_at().filter(|&at| at <= end);
    if acked.is_some_and(|at| at < start) {
        return false;
    }
    acked.is_some() || !matches!(op.call, Call::Read { .. } | Call::ReadList { .. })
}

/// The first acknowledgement (history position) at which the window from
/// `from` stops being linearizable, given that it is not linearizable up
/// to `limit`. Non-linearizability of prefixes is monotone, so a binary
/// search finds it; if a probe runs out of budget, the shortest prefix
/// known to fail is kept.
fn shortest_failing_prefix(ops: &[Op], from: From, limit: usize, budget: Budget) -> usize {
    let mut ends: Vec<usize> = ops
        .iter()
        .filter_map(Op::acked_at)
        .filter(|&at| at >= from.position() && at <= limit)
        .collect();
    ends.sort_unstable();
    // ends[hi] is known to fail (the whole window does); ends[..lo] pass.
    let (mut lo, mut hi) = (0, ends.len() - 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match search_window(ops, from, ends[mid], budget) {
            Search::NotLinearizable => hi = mid,
            Search::Linearizable => lo = mid + 1,
            Search::GaveUp { .. } => break,
        }
    }
    ends[hi]
}

/// The latest cut, from `from` to `culprit`'s invoke, from which the
/// history up to `end` is still not linearizable; `from` itself if none
/// later is.
fn latest_failing_cut(ops: &[Op], from: From, culprit: &Op, end: usize, budget: Budget) -> From {
    let cuts: Vec<usize> = cuts(ops, culprit.invoke, end)
        .into_iter()
        .filter(|&cut| cut > from.position())
        .collect();
    // Failure is monotone in the cut: an earlier window contains a later
    // one. Counterexamples are usually short, so gallop back from the
    // latest cut, then bisect. cuts[..lo] are known to fail; cuts[hi..]
    // pass or were not tried.
    let fails = |i: usize| search_window(ops, From::Cut(cuts[i]), end, budget);
    let (mut lo, mut hi) = (0, cuts.len());
    let mut stride = 1;
    while stride <= hi {
        match fails(hi - stride) {
            Search::NotLinearizable => {
                lo = hi - stride + 1;
                break;
            }
            Search::Linearizable => hi -= stride,
            Search::GaveUp { .. } => return from,
        }
        stride *= 2;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match fails(mid) {
            Search::NotLinearizable => lo = mid + 1,
            Search::Linearizable => hi = mid,
            Search::GaveUp { .. } => break,
        }
    }
    lo.checked_sub(1).map_or(from, |i| From::Cut(cuts[i]))
}

/// History positions after the start, at or before `latest`, that no
/// operation acknowledged by `end` straddles: each is an invoke position,
/// and every acknowledged operation invoked before it was acknowledged
/// before it.
fn cuts(ops: &[Op], latest: usize, end: usize) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut last_ack = None;
    for op in ops.iter().filter(|op| op.invoke <= latest) {
        if op.invoke > 0 && last_ack.is_none_or(|at| at < op.invoke) {
            cuts.push(op.invoke);
        }
        if let Some(at) = op.acked_at().filter(|&at| at <= end) {
            last_ack = last_ack.max(Some(at));
        }
    }
    cuts.dedup();
    cuts
}

/// What the key could hold at `cut`: missing if nothing was acknowledged
/// before it (no workload deletes); a value some write invoked before it
/// wrote; on a counter key, a count between the INCRs acknowledged before
/// it and those invoked before it that did not fail; anything at all on
/// keys that mix SET and INCR, or hold lists.
fn seeds_at(ops: &[Op], cut: usize) -> Seeds {
    let before = || ops.iter().filter(|op| op.invoke < cut && !op.is_fail());
    let acked_before = |op: &&Op| op.acked_at().is_some_and(|at| at < cut);
    let has = |f: fn(&Call) -> bool| ops.iter().any(|op| f(&op.call));
    let incrs = has(|c| matches!(c, Call::Incr { .. }));
    let writes_values = has(|c| matches!(c, Call::Write { .. }));
    let lists = has(|c| matches!(c, Call::Append { .. } | Call::ReadList { .. }));
    let is_incr = |op: &&Op| matches!(op.call, Call::Incr { .. });
    let counted = |ops: Vec<&Op>| ops.len() as i64;
    Seeds {
        missing: !before().any(|op| acked_before(&op) && writes(&op.call)),
        values: before()
            .filter_map(|op| match op.call {
                Call::Write { value, .. } => Some(value),
                _ => None,
            })
            .collect(),
        range: (incrs && !writes_values).then(|| {
            let low = counted(before().filter(is_incr).filter(acked_before).collect());
            let high = counted(before().filter(is_incr).collect());
            low..=high
        }),
        anything: lists || (incrs && writes_values),
    }
}

fn writes(call: &Call) -> bool {
    matches!(
        call,
        Call::Write { .. } | Call::Incr { .. } | Call::Append { .. }
    )
}

enum Search {
    Linearizable,
    NotLinearizable,
    GaveUp { steps: u64 },
}

/// Sentinel for "no entry" in the entry list.
const NONE: usize = usize::MAX;
/// Index of the list's head sentinel.
const HEAD: usize = 0;

/// The doubly linked list of the acknowledged operations' call and
/// return entries, in history order, that the search lifts linearized
/// calls out of (and puts back when it backtracks). Entry 0 is the head
/// sentinel.
struct Entries {
    op: Vec<usize>,
    is_call: Vec<bool>,
    /// For a call entry, its return entry.
    partner: Vec<usize>,
    prev: Vec<usize>,
    next: Vec<usize>,
}

impl Entries {
    fn new(ops: &[SearchOp]) -> Self {
        let mut order: Vec<(usize, bool, usize)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            if let Some(complete) = op.complete {
                order.push((op.invoke, true, i));
                order.push((complete, false, i));
            }
        }
        order.sort_unstable();
        let len = order.len() + 1;
        let mut entries = Entries {
            op: vec![NONE; len],
            is_call: vec![false; len],
            partner: vec![NONE; len],
            prev: (0..len).map(|i| i.wrapping_sub(1)).collect(),
            next: (1..=len).map(|i| if i == len { NONE } else { i }).collect(),
        };
        let mut call_entry = vec![NONE; ops.len()];
        for (i, &(_, is_call, op)) in order.iter().enumerate() {
            let entry = i + 1;
            entries.op[entry] = op;
            entries.is_call[entry] = is_call;
            if is_call {
                call_entry[op] = entry;
            } else {
                entries.partner[call_entry[op]] = entry;
            }
        }
        entries
    }

    fn unlink(&mut self, entry: usize) {
        let (prev, next) = (self.prev[entry], self.next[entry]);
        self.next[prev] = next;
        if next != NONE {
            self.prev[next] = prev;
        }
    }

    fn relink(&mut self, entry: usize) {
        let (prev, next) = (self.prev[entry], self.next[entry]);
        self.next[prev] = entry;
        if next != NONE {
            self.prev[next] = entry;
        }
    }

    /// Takes a call and its return out of the list.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.partner[call]);
    }

    /// Undoes the latest [`Entries::lift`].
    fn unlift(&mut self, call: usize) {
        self.relink(self.partner[call]);
        self.relink(call);
    }
}

/// A set of operation indices, as one word per 64 operations.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(len: usize) -> Self {
        Bits(vec![0; len.div_ceil(64)])
    }

    fn flip(&mut self, i: usize) {
        self.0[i / 64] ^= 1 << (i % 64);
    }

    fn is_subset(&self, other: &Bits) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| a & !b == 0)
    }
}

/// Indeterminate operations with the same call (the INCRs of a key, the
/// SETs of one value): interchangeable, so the search uses them in
/// invoke order only.
struct Twins {
    members: Vec<usize>,
    /// How many of `members` are linearized.
    used: usize,
}

/// One choice the search can make: linearize an acknowledged operation
/// (its call entry) or the next unused operation of a twin group.
#[derive(Clone, Copy)]
enum Choice {
    Acked(usize),
    Indeterminate(usize),
}

/// A level of the depth-first search: the choices available there, how
/// many were tried, and how it was entered (the choice and the state
/// before it).
struct Frame {
    choices: Vec<Choice>,
    tried: usize,
    entered_by: Option<(Choice, State)>,
}

/// The configurations explored: per (acknowledged operations linearized,
/// state, whether the last one linearized is a blind write), the minimal
/// sets of indeterminate operations used to get there.
#[derive(Default)]
struct Seen {
    configurations: HashMap<(Bits, State, bool), Vec<Bits>>,
}

impl Seen {
    /// Records a configuration; false if it, or one that used fewer
    /// indeterminate operations, was seen.
    fn insert(&mut self, acked: &Bits, used: &Bits, state: &State, blind: bool) -> bool {
        let minimal = self
            .configurations
            .entry((acked.clone(), state.clone(), blind))
            .or_default();
        if minimal.iter().any(|seen| seen.is_subset(used)) {
            return false;
        }
        minimal.retain(|seen| !used.is_subset(seen));
        minimal.push(used.clone());
        true
    }
}

/// Wing & Gong with Lowe's cache: is there an order of `ops`, starting
/// from `initial`, that respects both the model and real time?
///
/// Acknowledged operations live in the list of call and return entries;
/// a call can be linearized while no return comes before it. The
/// indeterminate ones have no return (their effect may come at any time
/// after their invoke, or never), so under a long fault they pile up;
/// they are kept out of the list and pruned, soundly by an exchange
/// argument each:
///
/// - twins ([`Twins`]) are used in invoke order only;
/// - blind writes: an indeterminate SET matters only to the operation
///   linearized right after it, so that one must not be a SET, and on a
///   key with only GET and SET it must be a GET that returns its value;
/// - list order: a list read shows where each value it holds was
///   appended, so an RPUSH of such a value is tried only when the list
///   ends with the element the read shows before it; an indeterminate
///   RPUSH of a value no read holds is never tried (it could only come
///   after every read, which is the same as never);
/// - the search succeeds once every acknowledged operation is
///   linearized: the indeterminate ones left never took effect. For the
///   same reason the cache ([`Seen`]) prunes a configuration that used
///   more indeterminate operations than one already explored.
fn search(ops: &[SearchOp], initial: State, seeds: &Seeds, budget: Budget) -> Search {
    Searcher::new(ops, seeds).run(initial, budget)
}

struct Searcher<'a> {
    ops: &'a [SearchOp<'a>],
    seeds: &'a Seeds,
    entries: Entries,
    twins: Vec<Twins>,
    /// Twin group of each indeterminate operation.
    group_of: Vec<usize>,
    /// The key sees only GET and SET.
    plain_register: bool,
    /// Twin groups of SETs, by value.
    write_groups: HashMap<i64, usize>,
    /// For each value some list read holds, the element before it there
    /// (`None`: the first).
    list_predecessor: HashMap<i64, Option<i64>>,
    /// Twin groups of indeterminate RPUSHes of values some read holds, by
    /// the element they must follow.
    appends_after: HashMap<Option<i64>, Vec<usize>>,
    /// The other twin groups (INCRs, and SETs on keys that also see INCR).
    other_groups: Vec<usize>,
    acked: Bits,
    used: Bits,
    acked_left: usize,
    seen: Seen,
}

impl<'a> Searcher<'a> {
    fn new(ops: &'a [SearchOp<'a>], seeds: &'a Seeds) -> Self {
        let mut twins: Vec<Twins> = Vec::new();
        let mut by_call: HashMap<&Call, usize> = HashMap::new();
        let mut group_of = vec![NONE; ops.len()];
        for (i, op) in ops
            .iter()
            .enumerate()
            .filter(|(_, op)| op.outcome.is_none())
        {
            let group = *by_call.entry(op.call).or_insert_with(|| {
                twins.push(Twins {
                    members: Vec::new(),
                    used: 0,
                });
                twins.len() - 1
            });
            twins[group].members.push(i);
            group_of[i] = group;
        }
        let write_groups = by_call
            .iter()
            .filter_map(|(call, &group)| match call {
                Call::Write { value, .. } => Some((*value, group)),
                _ => None,
            })
            .collect();
        let list_predecessor = list_predecessors(ops);
        let mut appends_after: HashMap<Option<i64>, Vec<usize>> = HashMap::new();
        let mut other_groups = Vec::new();
        for (call, &group) in &by_call {
            match call {
                // An indeterminate append no read holds is as good as
                // never applied.
                Call::Append { value, .. } => {
                    if let Some(&before) = list_predecessor.get(value) {
                        appends_after.entry(before).or_default().push(group);
                    }
                }
                _ => other_groups.push(group),
            }
        }
        other_groups.sort_unstable();
        Searcher {
            ops,
            seeds,
            entries: Entries::new(ops),
            twins,
            group_of,
            plain_register: ops
                .iter()
                .all(|op| matches!(op.call, Call::Read { .. } | Call::Write { .. })),
            write_groups,
            list_predecessor,
            appends_after,
            other_groups,
            acked: Bits::new(ops.len()),
            used: Bits::new(ops.len()),
            acked_left: ops.iter().filter(|op| op.outcome.is_some()).count(),
            seen: Seen::default(),
        }
    }

    fn op_of(&self, choice: Choice) -> usize {
        match choice {
            Choice::Acked(entry) => self.entries.op[entry],
            Choice::Indeterminate(op) => op,
        }
    }

    fn is_blind_write(&self, choice: Choice) -> bool {
        matches!(choice, Choice::Indeterminate(op) if matches!(self.ops[op].call, Call::Write { .. }))
    }

    fn run(mut self, initial: State, budget: Budget) -> Search {
        let mut state = initial;
        let mut stack = vec![Frame {
            choices: self.choices(false, &state),
            tried: 0,
            entered_by: None,
        }];
        let mut steps = 0u64;
        while self.acked_left > 0 {
            steps += 1;
            if steps > budget.max_steps {
                return Search::GaveUp {
                    steps: budget.max_steps,
                };
            }
            let frame = stack.last_mut().expect("the root frame stays");
            let Some(&choice) = frame.choices.get(frame.tried) else {
                let frame = stack.pop().expect("checked above");
                let Some((choice, before)) = frame.entered_by else {
                    return Search::NotLinearizable;
                };
                self.undo(choice);
                state = before;
                continue;
            };
            frame.tried += 1;
            let op = &self.ops[self.op_of(choice)];
            let Some(next_state) = model::step(&state, op.call, op.outcome, self.seeds) else {
                continue;
            };
            self.apply(choice);
            let blind = self.is_blind_write(choice);
            if !self
                .seen
                .insert(&self.acked, &self.used, &next_state, blind)
            {
                self.undo(choice);
                continue;
            }
            stack.push(Frame {
                choices: self.choices(blind, &next_state),
                tried: 0,
                entered_by: Some((choice, std::mem::replace(&mut state, next_state))),
            });
        }
        Search::Linearizable
    }

    fn apply(&mut self, choice: Choice) {
        match choice {
            Choice::Acked(entry) => {
                self.acked.flip(self.entries.op[entry]);
                self.entries.lift(entry);
                self.acked_left -= 1;
            }
            Choice::Indeterminate(op) => {
                self.used.flip(op);
                self.twins[self.group_of[op]].used += 1;
            }
        }
    }

    /// Undoes the latest [`Searcher::apply`].
    fn undo(&mut self, choice: Choice) {
        match choice {
            Choice::Acked(entry) => {
                self.acked.flip(self.entries.op[entry]);
                self.entries.unlift(entry);
                self.acked_left += 1;
            }
            Choice::Indeterminate(op) => {
                self.used.flip(op);
                self.twins[self.group_of[op]].used -= 1;
            }
        }
    }

    /// What may be linearized next in `state`: every acknowledged call
    /// before the first return, then the next unused operation of each
    /// twin group invoked before that return (pruned as [`search`]
    /// explains).
    fn choices(&self, after_blind: bool, state: &State) -> Vec<Choice> {
        let mut choices = Vec::new();
        let mut entry = self.entries.next[HEAD];
        while entry != NONE && self.entries.is_call[entry] {
            choices.push(Choice::Acked(entry));
            entry = self.entries.next[entry];
        }
        let frontier = match entry {
            NONE => NONE,
            _ => self.ops[self.entries.op[entry]].complete.unwrap_or(NONE),
        };
        let next_twin = |group: &usize| {
            let twins = &self.twins[*group];
            let op = *twins.members.get(twins.used)?;
            (self.ops[op].invoke < frontier).then_some(Choice::Indeterminate(op))
        };
        if self.plain_register {
            if !after_blind {
                let groups = self
                    .observed_values(&choices)
                    .filter_map(|v| self.write_groups.get(&v));
                let blind_writes: Vec<Choice> = groups.filter_map(next_twin).collect();
                choices.extend(blind_writes);
            }
        } else {
            choices.extend(self.other_groups.iter().filter_map(next_twin));
            choices.extend(self.appends_now(state).filter_map(next_twin));
        }
        choices.retain(|&choice| {
            let call = self.ops[self.op_of(choice)].call;
            !(after_blind && matches!(call, Call::Write { .. }))
                && self.fits_list_order(call, state)
        });
        choices
    }

    /// Values that acknowledged GETs among `choices` returned.
    fn observed_values<'c>(&'c self, choices: &'c [Choice]) -> impl Iterator<Item = i64> + 'c {
        let mut values: Vec<i64> = choices
            .iter()
            .filter_map(|&choice| match self.ops[self.op_of(choice)].outcome {
                Some(Outcome::Read(Some(value))) => Some(*value),
                _ => None,
            })
            .collect();
        values.sort_unstable();
        values.dedup();
        values.into_iter()
    }

    /// Twin groups of indeterminate RPUSHes that may apply in `state`.
    fn appends_now<'c>(&'c self, state: &State) -> Box<dyn Iterator<Item = &'c usize> + 'c> {
        let last = match state {
            State::Missing => None,
            State::List(items) => items.last().copied(),
            State::Unknown(_) => return Box::new(self.appends_after.values().flatten()),
            State::Int(_) => return Box::new(std::iter::empty()),
        };
        Box::new(self.appends_after.get(&last).into_iter().flatten())
    }

    /// A list read fixes where each value it holds was appended: right
    /// after the element before it there. An RPUSH of such a value fits
    /// only a list ending with that element.
    fn fits_list_order(&self, call: &Call, state: &State) -> bool {
        let Call::Append { value, .. } = call else {
            return true;
        };
        let Some(&before) = self.list_predecessor.get(value) else {
            return true;
        };
        match state {
            State::Missing => before.is_none(),
            State::List(items) => items.last().copied() == before,
            State::Unknown(_) => true,
            State::Int(_) => false,
        }
    }
}

/// For each value some acknowledged list read holds, the element before
/// it in the first such read.
fn list_predecessors(ops: &[SearchOp]) -> HashMap<i64, Option<i64>> {
    let mut before = HashMap::new();
    for op in ops {
        if let Some(Outcome::List(items)) = op.outcome {
            for (i, &value) in items.iter().enumerate() {
                let previous = i.checked_sub(1).map(|p| items[p]);
                before.entry(value).or_insert(previous);
            }
        }
    }
    before
}

#[cfg(test)]
mod tests;
