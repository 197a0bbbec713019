//! The list-append checker: a simplified, single-key Elle. Each list
//! workload key sees RPUSH of values unique to that key and full reads
//! (LRANGE 0 -1); a read therefore shows the order in which every append
//! it contains took effect.
//!
//! Per key, it checks that:
//!
//! 1. every append's value is unique (the workload's promise; the other
//!    checks rely on it);
//! 2. no `ok` read holds a value twice (Elle: duplicate elements);
//! 3. every value read was appended by some append that did not fail
//!    (Elle: garbage reads), and none comes from a failed append (Elle:
//!    G1a, aborted read);
//! 4. no read holds a value whose append was invoked after the read
//!    completed (a read from the future);
//! 5. all `ok` reads are prefixes of one another: there is one order of
//!    appends (Elle: incompatible orders);
//! 6. every append acknowledged before a read was invoked is in that read
//!    (Elle: lost appends, real-time);
//! 7. a read contains everything a read completed before it was invoked
//!    contained (real-time: no rollback);
//! 8. appends take effect in real-time order: if append A was
//!    acknowledged before append B was invoked and both are in the order,
//!    A comes first.
//!
//! What it does not do, unlike Elle: multi-key transactions and their
//! dependency cycles (G0, G1c, G2); every operation here touches one key.

use super::op::{ops_by_key, Op};
use super::CheckResult;
use crate::history::{Call, History, Outcome};
use std::collections::{BTreeMap, HashMap, HashSet};

const NAME: &str = "list-append";

/// Checks every key of `history` that sees RPUSH or LRANGE.
pub fn check_list_append(history: &History) -> CheckResult {
    let keys = match ops_by_key(NAME, history) {
        Ok(keys) => keys,
        Err(malformed) => return malformed,
    };
    let mut problems = Vec::new();
    let (mut checked, mut reads) = (0, 0);
    for (key, ops) in &keys {
        let Some(list) = ListKey::new(key, ops, &mut problems) else {
            continue;
        };
        checked += 1;
        reads += list.reads.len();
        list.check(&mut problems);
    }
    CheckResult::from_problems(
        NAME,
        format!("{checked} list key(s), {reads} read(s)"),
        problems,
    )
}

/// One list key: its appends by value and its `ok` reads.
pub(crate) struct ListKey<'a> {
    pub key: &'a str,
    pub appends: BTreeMap<i64, &'a Op>,
    pub reads: Vec<(&'a Op, &'a [i64])>,
}

impl<'a> ListKey<'a> {
    /// `None` if the key sees no list operation. Duplicate append values
    /// are reported (check 1); the first append of a value is kept.
    pub fn new(key: &'a str, ops: &'a [Op], problems: &mut Vec<String>) -> Option<Self> {
        let is_list = |op: &Op| matches!(op.call, Call::Append { .. } | Call::ReadList { .. });
        if !ops.iter().any(is_list) {
            return None;
        }
        let mut appends = BTreeMap::new();
        let mut reads = Vec::new();
        for op in ops {
            match (&op.call, op.outcome()) {
                (Call::Append { value, .. }, _) => {
                    if let Some(first) = appends.insert(*value, op) {
                        problems.push(format!(
                            "key {key:?}: value {value} appended twice (values must be unique per key):\n{first}\n{op}"
                        ));
                        appends.insert(*value, first);
                    }
                }
                (Call::ReadList { .. }, Some(Outcome::List(items))) => {
                    reads.push((op, items.as_slice()));
                }
                _ => {}
            }
        }
        Some(ListKey {
            key,
            appends,
            reads,
        })
    }

    fn check(&self, problems: &mut Vec<String>) {
        for &(read, items) in &self.reads {
            self.check_elements(read, items, problems);
        }
        let order = self.check_prefix_order(problems);
        self.check_acknowledged_seen(problems);
        self.check_reads_monotonic(problems);
        if let Some(order) = order {
            self.check_append_order(order, problems);
        }
    }

    /// Checks 2, 3 and 4 on one read.
    fn check_elements(&self, read: &Op, items: &[i64], problems: &mut Vec<String>) {
        let key = self.key;
        let mut seen = HashSet::new();
        for &value in items {
            if !seen.insert(value) {
                problems.push(format!(
                    "key {key:?}: value {value} appears twice in {read}"
                ));
            }
            match self.appends.get(&value) {
                None => problems.push(format!(
                    "key {key:?}: value {value} was never appended, yet read by {read}"
                )),
                Some(append) if append.is_fail() => problems.push(format!(
                    "key {key:?}: value {value} comes from a failed append:\n{append}\n{read}"
                )),
                Some(append) if read.complete.is_some_and(|end| append.invoke > end) => {
                    problems.push(format!(
                        "key {key:?}: value {value} was read before its append began:\n{read}\n{append}"
                    ))
                }
                Some(_) => {}
            }
        }
    }

    /// Check 5. Returns the longest read (the order of appends) if all
    /// reads are prefixes of it.
    fn check_prefix_order(&self, problems: &mut Vec<String>) -> Option<&'a [i64]> {
        let mut by_length = self.reads.clone();
        by_length.sort_by_key(|&(op, items)| (items.len(), op.id));
        let mut consistent = true;
        for pair in by_length.windows(2) {
            let ((short_op, short), (long_op, long)) = (pair[0], pair[1]);
            if !long.starts_with(short) {
                consistent = false;
                problems.push(format!(
                    "key {:?}: reads disagree on the order of appends (neither is a prefix of the other):\n{short_op}\n{long_op}",
                    self.key
                ));
            }
        }
        let longest = by_length.last().map_or(&[][..], |&(_, items)| items);
        consistent.then_some(longest)
    }

    /// Check 6.
    fn check_acknowledged_seen(&self, problems: &mut Vec<String>) {
        for &(read, items) in &self.reads {
            let present: HashSet<i64> = items.iter().copied().collect();
            for (&value, append) in &self.appends {
                if append.precedes(read) && !present.contains(&value) {
                    problems.push(format!(
                        "key {:?}: append of {value} was acknowledged before a read began, but the read misses it:\n{append}\n{read}",
                        self.key
                    ));
                }
            }
        }
    }

    /// Check 7: each read against the longest read completed before it
    /// began (enough when reads are prefixes of one another; check 5
    /// reports when they are not).
    fn check_reads_monotonic(&self, problems: &mut Vec<String>) {
        for &(read, items) in &self.reads {
            let earlier = self
                .reads
                .iter()
                .filter(|(other, _)| other.precedes(read))
                .max_by_key(|(other, items)| (items.len(), other.id));
            let Some(&(earlier, earlier_items)) = earlier else {
                continue;
            };
            let present: HashSet<i64> = items.iter().copied().collect();
            if let Some(lost) = earlier_items.iter().find(|v| !present.contains(v)) {
                problems.push(format!(
                    "key {:?}: value {lost} disappeared between two reads (real time):\n{earlier}\n{read}",
                    self.key
                ));
            }
        }
    }

    /// Check 8, against the order of appends.
    fn check_append_order(&self, order: &[i64], problems: &mut Vec<String>) {
        let position: HashMap<i64, usize> =
            order.iter().enumerate().map(|(i, &v)| (v, i)).collect();
        for (&later_value, &later) in &self.appends {
            let Some(&later_pos) = position.get(&later_value) else {
                continue;
            };
            for (&value, &earlier) in &self.appends {
                let after = position.get(&value).is_some_and(|&pos| pos > later_pos);
                if after && earlier.precedes(later) {
                    problems.push(format!(
                        "key {:?}: value {value} is ordered after {later_value}, though its append was acknowledged before {later_value}'s began:\n{earlier}\n{later}",
                        self.key
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{append, list, read_list, Hist};

    fn check(h: &Hist) -> CheckResult {
        check_list_append(&h.build())
    }

    fn assert_one_problem(h: &Hist, needle: &str) {
        let result = check(h);
        assert!(result.is_invalid(), "{result}");
        assert!(
            result.details.iter().any(|d| d.contains(needle)),
            "expected {needle:?} in:\n{result}"
        );
    }

    #[test]
    fn a_consistent_history_passes() {
        let mut h = Hist::new();
        h.read_list(3, "l", &[])
            .append(1, "l", 1)
            .invoke(1, append("l", 2))
            .invoke(2, append("l", 3))
            .read_list(3, "l", &[1, 3])
            .done(2)
            .done(1)
            .read_list(3, "l", &[1, 3, 2])
            .invoke(1, append("l", 4))
            .info(1)
            .invoke(2, append("l", 5))
            .fail(2)
            .read_list(3, "l", &[1, 3, 2, 4]);
        let result = check(&h);
        assert!(result.is_valid(), "{result}");
        assert_eq!(result.summary, "1 list key(s), 4 read(s)");
    }

    #[test]
    fn duplicate_appends_in_the_history_are_reported() {
        let mut h = Hist::new();
        h.append(1, "l", 1).append(1, "l", 1);
        assert_one_problem(&h, "value 1 appended twice");
    }

    #[test]
    fn a_value_read_twice_fails() {
        let mut h = Hist::new();
        h.append(1, "l", 1).read_list(2, "l", &[1, 1]);
        assert_one_problem(&h, "value 1 appears twice");
    }

    #[test]
    fn a_value_never_appended_fails() {
        let mut h = Hist::new();
        h.append(1, "l", 1).read_list(2, "l", &[1, 9]);
        assert_one_problem(&h, "value 9 was never appended");
    }

    #[test]
    fn a_value_from_a_failed_append_fails() {
        let mut h = Hist::new();
        h.invoke(1, append("l", 1)).fail(1).read_list(2, "l", &[1]);
        assert_one_problem(&h, "value 1 comes from a failed append");
    }

    #[test]
    fn a_read_from_the_future_fails() {
        let mut h = Hist::new();
        h.read_list(2, "l", &[1]).invoke(1, append("l", 1)).info(1);
        assert_one_problem(&h, "value 1 was read before its append began");
    }

    #[test]
    fn reads_in_incompatible_orders_fail() {
        let mut h = Hist::new();
        h.invoke(1, append("l", 1))
            .invoke(2, append("l", 2))
            .read_list(3, "l", &[1, 2])
            .read_list(4, "l", &[2, 1])
            .done(1)
            .done(2);
        assert_one_problem(&h, "reads disagree on the order of appends");
    }

    #[test]
    fn a_read_missing_an_acknowledged_append_fails() {
        let mut h = Hist::new();
        h.append(1, "l", 1)
            .append(1, "l", 2)
            .read_list(2, "l", &[1]);
        assert_one_problem(&h, "append of 2 was acknowledged before a read began");
    }

    #[test]
    fn a_read_may_miss_an_append_still_in_flight() {
        let mut h = Hist::new();
        h.append(1, "l", 1)
            .invoke(1, append("l", 2))
            .read_list(2, "l", &[1])
            .done(1);
        assert!(check(&h).is_valid());
    }

    #[test]
    fn a_rollback_between_reads_fails() {
        // Append 2 is indeterminate, so only the reads show the rollback.
        let mut h = Hist::new();
        h.append(1, "l", 1)
            .invoke(1, append("l", 2))
            .info(1)
            .read_list(2, "l", &[1, 2])
            .read_list(2, "l", &[1]);
        assert_one_problem(&h, "value 2 disappeared between two reads");
    }

    #[test]
    fn appends_out_of_real_time_order_fail() {
        // Both appends are acknowledged before the read, so the read holds
        // both; only the order shows that 2 took effect before 1, though 1
        // was acknowledged before 2 began.
        let mut h = Hist::new();
        h.append(1, "l", 1)
            .append(2, "l", 2)
            .invoke(3, read_list("l"))
            .ok(3, list(&[2, 1]));
        assert_one_problem(&h, "value 1 is ordered after 2");
        // An indeterminate append may land late: valid.
        let mut h = Hist::new();
        h.invoke(1, append("l", 1))
            .info(1)
            .append(2, "l", 2)
            .read_list(3, "l", &[2, 1]);
        assert!(check(&h).is_valid(), "{}", check(&h));
    }
}
