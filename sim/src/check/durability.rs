//! Durability and recovery checkers, over a history and a snapshot of
//! what a host holds after recovery (a crash, a restart, a failover).
//!
//! - [`check_acknowledged_present`]: nothing that must survive was lost.
//!   Which acknowledgements must survive depends on the fsync policy:
//!   all of them under `appendfsync always` (or without a crash), those
//!   acknowledged before the crash minus the policy's window of possible
//!   loss under `everysec` ([`MustSurvive::AckedBy`]).
//! - [`check_recovered_prefix`]: the recovered state is the state after
//!   some prefix of the operations: nothing invented, nothing from a
//!   failed operation, and, for lists, no hole (an append is present only
//!   with every append acknowledged before it began, and in the order
//!   reads saw). Give it the history up to the crash
//!   ([`History::up_to`]) and a snapshot taken right after recovery,
//!   before clients write again.
//!
//! Keys are classified by the operations they see: lists (RPUSH/LRANGE),
//! registers (SET/GET) or counters (INCR/GET). A key that mixes SET and
//! INCR is skipped and counted in the summary.

use super::list_append::ListKey;
use super::op::{ops_by_key, Op};
use super::{CheckResult, Snapshot, Stored};
use crate::history::{Call, History};
use std::collections::{BTreeMap, HashSet};

/// Which acknowledged operations must be present after recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MustSurvive {
    /// Every acknowledged operation.
    All,
    /// Operations acknowledged at or before this virtual time, in
    /// milliseconds since the simulation started.
    AckedBy(u64),
}

impl MustSurvive {
    fn covers(self, op: &Op) -> bool {
        let acked_ms = op.acked_at().and(op.complete_ms);
        match self {
            MustSurvive::All => acked_ms.is_some(),
            MustSurvive::AckedBy(limit) => acked_ms.is_some_and(|at| at <= limit),
        }
    }
}

/// What a key is used for, from the operations it sees.
enum Kind {
    Register,
    Counter,
    List,
    Mixed,
}

fn kind(ops: &[Op]) -> Kind {
    let any = |f: fn(&Call) -> bool| ops.iter().any(|op| f(&op.call));
    if any(|c| matches!(c, Call::Append { .. } | Call::ReadList { .. })) {
        Kind::List
    } else if any(|c| matches!(c, Call::Incr { .. })) {
        if any(|c| matches!(c, Call::Write { .. })) {
            Kind::Mixed
        } else {
            Kind::Counter
        }
    } else {
        Kind::Register
    }
}

/// Checks that every acknowledged operation `must_survive` covers is
/// reflected in `state`: a register holds the value of a write no such
/// acknowledged write followed, a counter counts at least that many
/// INCRs, a list holds every such append.
pub fn check_acknowledged_present(
    history: &History,
    state: &Snapshot,
    must_survive: MustSurvive,
) -> CheckResult {
    const NAME: &str = "acknowledged-present";
    let keys = match ops_by_key(NAME, history) {
        Ok(keys) => keys,
        Err(malformed) => return malformed,
    };
    let mut problems = Vec::new();
    let mut skipped = 0;
    for (key, ops) in &keys {
        let stored = state.get(key);
        let required: Vec<&Op> = ops.iter().filter(|op| must_survive.covers(op)).collect();
        match kind(ops) {
            Kind::Register => register_survived(key, ops, &required, stored, &mut problems),
            Kind::Counter => counter_survived(key, &required, stored, &mut problems),
            Kind::List => list_survived(key, &required, stored, &mut problems),
            Kind::Mixed => skipped += 1,
        }
    }
    CheckResult::from_problems(NAME, checked(keys.len(), skipped), problems)
}

fn checked(keys: usize, skipped: usize) -> String {
    if skipped == 0 {
        format!("{keys} key(s)")
    } else {
        format!("{keys} key(s), {skipped} skipped (they mix SET and INCR)")
    }
}

fn register_survived(
    key: &str,
    ops: &[Op],
    required: &[&Op],
    stored: Option<&Stored>,
    problems: &mut Vec<String>,
) {
    let required: Vec<&Op> = required
        .iter()
        .copied()
        .filter(|op| matches!(op.call, Call::Write { .. }))
        .collect();
    let Some(latest) = required.iter().max_by_key(|op| op.complete) else {
        return;
    };
    let value = match stored {
        None => {
            problems.push(format!(
                "key {key:?} is missing, though a write was acknowledged: {latest}"
            ));
            return;
        }
        Some(Stored::List(_)) => {
            problems.push(format!("key {key:?} holds a list, not a register"));
            return;
        }
        Some(Stored::Int(value)) => *value,
    };
    let writers: Vec<&Op> = writers_of(ops, value).collect();
    // The value survives if one of its writes may have come after every
    // acknowledged write that must survive.
    let overwritten_by = |writer: &Op| required.iter().copied().find(|r| writer.precedes(r));
    let lost: Vec<&Op> = writers.iter().filter_map(|w| overwritten_by(w)).collect();
    if writers.is_empty() {
        problems.push(format!(
            "key {key:?} holds {value}, which no write wrote; lost: {latest}"
        ));
    } else if lost.len() == writers.len() {
        problems.push(format!(
            "key {key:?} holds {value}, but a write acknowledged after that value's write is lost: {}",
            lost[0]
        ));
    }
}

/// Writes of `value` that may have taken effect.
fn writers_of(ops: &[Op], value: i64) -> impl Iterator<Item = &Op> {
    ops.iter().filter(move |op| {
        !op.is_fail() && matches!(op.call, Call::Write { value: v, .. } if v == value)
    })
}

fn counter_survived(
    key: &str,
    required: &[&Op],
    stored: Option<&Stored>,
    problems: &mut Vec<String>,
) {
    let needed = required
        .iter()
        .filter(|op| matches!(op.call, Call::Incr { .. }))
        .count() as i64;
    match stored {
        Some(Stored::List(_)) => problems.push(format!("key {key:?} holds a list, not a counter")),
        Some(Stored::Int(n)) if *n >= needed => {}
        None if needed == 0 => {}
        other => {
            let n = match other {
                Some(Stored::Int(n)) => *n,
                _ => 0,
            };
            problems.push(format!(
                "key {key:?} counts {n}, fewer than the {needed} INCR(s) acknowledged"
            ));
        }
    }
}

fn list_survived(key: &str, required: &[&Op], stored: Option<&Stored>, problems: &mut Vec<String>) {
    let items: &[i64] = match stored {
        None => &[],
        Some(Stored::List(items)) => items,
        Some(Stored::Int(_)) => {
            problems.push(format!("key {key:?} holds an integer, not a list"));
            return;
        }
    };
    let present: HashSet<i64> = items.iter().copied().collect();
    let lost: Vec<&Op> = required
        .iter()
        .copied()
        .filter(|op| matches!(op.call, Call::Append { value, .. } if !present.contains(&value)))
        .collect();
    if let Some(first) = lost.first() {
        let values: Vec<String> = lost
            .iter()
            .filter_map(|op| match op.call {
                Call::Append { value, .. } => Some(value.to_string()),
                _ => None,
            })
            .collect();
        problems.push(format!(
            "key {key:?}: {} acknowledged append(s) lost: {}; first: {first}",
            lost.len(),
            values.join(", ")
        ));
    }
}

/// Checks that `state` is what some prefix of `history`'s operations
/// leaves: registers hold a value some write (not failed) wrote, counters
/// count no more INCRs than did not fail, lists hold only appended values
/// (none from a failed append, none twice), agree with the order every
/// read saw, and hold every append acknowledged before one they hold
/// began. Keys the history never touched must be absent.
pub fn check_recovered_prefix(history: &History, state: &Snapshot) -> CheckResult {
    const NAME: &str = "recovered-prefix";
    let keys = match ops_by_key(NAME, history) {
        Ok(keys) => keys,
        Err(malformed) => return malformed,
    };
    let mut problems = Vec::new();
    let mut skipped = 0;
    for (key, ops) in &keys {
        let stored = state.get(key);
        match kind(ops) {
            Kind::Register => register_prefix(key, ops, stored, &mut problems),
            Kind::Counter => counter_prefix(key, ops, stored, &mut problems),
            Kind::List => list_prefix(key, ops, stored, &mut problems),
            Kind::Mixed => skipped += 1,
        }
    }
    for key in state.keys().filter(|key| !keys.contains_key(*key)) {
        problems.push(format!("key {key:?} exists, but no operation touched it"));
    }
    CheckResult::from_problems(NAME, checked(keys.len(), skipped), problems)
}

fn register_prefix(key: &str, ops: &[Op], stored: Option<&Stored>, problems: &mut Vec<String>) {
    match stored {
        None => {}
        Some(Stored::List(_)) => problems.push(format!("key {key:?} holds a list, not a register")),
        Some(Stored::Int(value)) if writers_of(ops, *value).next().is_none() => {
            problems.push(format!(
                "key {key:?} holds {value}, which no write (that did not fail) wrote"
            ));
        }
        Some(Stored::Int(_)) => {}
    }
}

fn counter_prefix(key: &str, ops: &[Op], stored: Option<&Stored>, problems: &mut Vec<String>) {
    let n = match stored {
        None => return,
        Some(Stored::Int(n)) => *n,
        Some(Stored::List(_)) => {
            problems.push(format!("key {key:?} holds a list, not a counter"));
            return;
        }
    };
    let at_most = ops
        .iter()
        .filter(|op| matches!(op.call, Call::Incr { .. }) && !op.is_fail())
        .count() as i64;
    if !(0..=at_most).contains(&n) {
        problems.push(format!(
            "key {key:?} counts {n}, outside [0, {at_most}] (INCRs that did not fail)"
        ));
    }
}

fn list_prefix(key: &str, ops: &[Op], stored: Option<&Stored>, problems: &mut Vec<String>) {
    let items: &[i64] = match stored {
        None => &[],
        Some(Stored::List(items)) => items,
        Some(Stored::Int(_)) => {
            problems.push(format!("key {key:?} holds an integer, not a list"));
            return;
        }
    };
    // Duplicate appends are the list-append checker's to report.
    let Some(list) = ListKey::new(key, ops, &mut Vec::new()) else {
        return;
    };
    let mut seen = HashSet::new();
    for &value in items {
        if !seen.insert(value) {
            problems.push(format!("key {key:?} holds {value} twice"));
        }
        match list.appends.get(&value) {
            None => problems.push(format!(
                "key {key:?} holds {value}, which was never appended"
            )),
            Some(op) if op.is_fail() => problems.push(format!(
                "key {key:?} holds {value}, from a failed append: {op}"
            )),
            Some(_) => {}
        }
    }
    for &(read, read_items) in &list.reads {
        if !read_items.starts_with(items) && !items.starts_with(read_items) {
            problems.push(format!(
                "key {key:?}: recovered list {items:?} and a read disagree on the order of appends: {read}"
            ));
        }
    }
    list_has_no_hole(key, &list.appends, items, problems);
}

/// Every append acknowledged before a present append began is present,
/// and earlier in the list.
fn list_has_no_hole(
    key: &str,
    appends: &BTreeMap<i64, &Op>,
    items: &[i64],
    problems: &mut Vec<String>,
) {
    let position: BTreeMap<i64, usize> = items.iter().enumerate().map(|(i, &v)| (v, i)).collect();
    for (&value, &pos) in &position {
        let Some(&later) = appends.get(&value) else {
            continue;
        };
        for (&before_value, &before) in appends {
            if !before.precedes(later) {
                continue;
            }
            match position.get(&before_value) {
                Some(&before_pos) if before_pos < pos => {}
                Some(_) => problems.push(format!(
                    "key {key:?}: {before_value} comes after {value}, though its append was acknowledged before {value}'s began"
                )),
                None => problems.push(format!(
                    "key {key:?} holds {value} but not {before_value}, acknowledged before {value}'s append began: {before}"
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{append, incr, write, Hist};

    fn snapshot(entries: &[(&str, Stored)]) -> Snapshot {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn present(h: &Hist, state: &Snapshot) -> CheckResult {
        check_acknowledged_present(&h.build(), state, MustSurvive::All)
    }

    #[test]
    fn a_register_keeps_its_last_acknowledged_write() {
        let mut h = Hist::new();
        h.write(1, "r", 1).write(1, "r", 2);
        assert!(present(&h, &snapshot(&[("r", Stored::Int(2))])).is_valid());
        let result = present(&h, &snapshot(&[("r", Stored::Int(1))]));
        assert!(result.is_invalid());
        assert!(
            result.details[0].contains("write acknowledged after that value's write is lost"),
            "{result}"
        );
        let result = present(&h, &Snapshot::new());
        assert!(result.details[0].contains("is missing"), "{result}");
        let result = present(&h, &snapshot(&[("r", Stored::Int(5))]));
        assert!(
            result.details[0].contains("which no write wrote"),
            "{result}"
        );
    }

    #[test]
    fn a_register_may_hold_a_later_indeterminate_or_concurrent_write() {
        let mut h = Hist::new();
        h.write(1, "r", 1)
            .invoke(1, write("r", 2))
            .info(1)
            .invoke(2, write("r", 3))
            .invoke(3, write("r", 4))
            .done(3)
            .done(2);
        for value in [2, 3, 4] {
            let result = present(&h, &snapshot(&[("r", Stored::Int(value))]));
            assert!(result.is_valid(), "{value}: {result}");
        }
        assert!(present(&h, &snapshot(&[("r", Stored::Int(1))])).is_invalid());
    }

    #[test]
    fn the_window_of_possible_loss_is_respected() {
        let mut h = Hist::new(); // events at 1, 2, 3, 4 ms
        h.write(1, "r", 1).write(1, "r", 2);
        let state = snapshot(&[("r", Stored::Int(1))]);
        let by = |ms| check_acknowledged_present(&h.build(), &state, MustSurvive::AckedBy(ms));
        assert!(
            by(3).is_valid(),
            "write 2 was acknowledged at 4 ms: it may be lost"
        );
        assert!(by(4).is_invalid());
    }

    #[test]
    fn counters_keep_every_acknowledged_increment() {
        let mut h = Hist::new();
        h.incr(1, "c", 1)
            .incr(1, "c", 2)
            .invoke(2, incr("c"))
            .info(2);
        assert!(present(&h, &snapshot(&[("c", Stored::Int(2))])).is_valid());
        assert!(present(&h, &snapshot(&[("c", Stored::Int(3))])).is_valid());
        let result = present(&h, &snapshot(&[("c", Stored::Int(1))]));
        assert!(
            result.details[0].contains("counts 1, fewer than the 2"),
            "{result}"
        );
    }

    #[test]
    fn lists_keep_every_acknowledged_append() {
        let mut h = Hist::new();
        h.append(1, "l", 1)
            .append(1, "l", 2)
            .invoke(2, append("l", 3))
            .info(2);
        assert!(present(&h, &snapshot(&[("l", Stored::List(vec![1, 2]))])).is_valid());
        let result = present(&h, &snapshot(&[("l", Stored::List(vec![1]))]));
        assert!(
            result.details[0].contains("1 acknowledged append(s) lost: 2"),
            "{result}"
        );
        assert!(present(&h, &Snapshot::new()).is_invalid());
    }

    fn prefix(h: &Hist, state: &Snapshot) -> CheckResult {
        check_recovered_prefix(&h.build(), state)
    }

    #[test]
    fn a_recovered_register_holds_a_written_value_or_nothing() {
        let mut h = Hist::new();
        h.write(1, "r", 1)
            .write(1, "r", 2)
            .invoke(1, write("r", 3))
            .fail(1);
        assert!(prefix(&h, &Snapshot::new()).is_valid());
        assert!(prefix(&h, &snapshot(&[("r", Stored::Int(1))])).is_valid());
        assert!(prefix(&h, &snapshot(&[("r", Stored::Int(3))])).is_invalid());
        assert!(prefix(&h, &snapshot(&[("r", Stored::Int(9))])).is_invalid());
        let result = prefix(&h, &snapshot(&[("other", Stored::Int(1))]));
        assert!(
            result.details[0].contains("no operation touched it"),
            "{result}"
        );
    }

    #[test]
    fn a_recovered_counter_counts_no_more_than_could_have_happened() {
        let mut h = Hist::new();
        h.incr(1, "c", 1).invoke(1, incr("c")).fail(1);
        assert!(prefix(&h, &snapshot(&[("c", Stored::Int(0))])).is_valid());
        assert!(prefix(&h, &snapshot(&[("c", Stored::Int(1))])).is_valid());
        assert!(prefix(&h, &snapshot(&[("c", Stored::Int(2))])).is_invalid());
    }

    #[test]
    fn a_recovered_list_is_a_prefix_of_the_appends() {
        let mut h = Hist::new();
        h.append(1, "l", 1)
            .append(1, "l", 2)
            .append(1, "l", 3)
            .read_list(2, "l", &[1, 2, 3])
            .invoke(1, append("l", 4))
            .fail(1);
        for items in [vec![], vec![1], vec![1, 2], vec![1, 2, 3]] {
            let result = prefix(&h, &snapshot(&[("l", Stored::List(items.clone()))]));
            assert!(result.is_valid(), "{items:?}: {result}");
        }
        let check = |items: Vec<i64>| prefix(&h, &snapshot(&[("l", Stored::List(items))]));
        let hole = check(vec![1, 3]);
        assert!(
            hole.details.iter().any(|d| d.contains("holds 3 but not 2")),
            "{hole}"
        );
        let reordered = check(vec![2, 1]);
        assert!(reordered.is_invalid(), "{reordered}");
        let failed = check(vec![1, 2, 3, 4]);
        assert!(
            failed
                .details
                .iter()
                .any(|d| d.contains("from a failed append")),
            "{failed}"
        );
        let twice = check(vec![1, 1]);
        assert!(
            twice.details.iter().any(|d| d.contains("holds 1 twice")),
            "{twice}"
        );
        let invented = check(vec![1, 2, 3, 9]);
        assert!(
            invented
                .details
                .iter()
                .any(|d| d.contains("never appended")),
            "{invented}"
        );
    }

    #[test]
    fn a_recovered_list_with_an_order_no_read_saw_fails_even_without_a_hole() {
        // Two concurrent appends; a read saw [1, 2]; recovery gives [2].
        let mut h = Hist::new();
        h.invoke(1, append("l", 1))
            .invoke(2, append("l", 2))
            .done(1)
            .done(2)
            .read_list(3, "l", &[1, 2]);
        let result = prefix(&h, &snapshot(&[("l", Stored::List(vec![2]))]));
        assert!(
            result
                .details
                .iter()
                .any(|d| d.contains("disagree on the order")),
            "{result}"
        );
    }
}
