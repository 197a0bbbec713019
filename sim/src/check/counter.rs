//! The counter checker: cheap, exact bounds on INCR workloads, needing no
//! search (the linearizability checker also covers counters, but can run
//! out of budget; this one cannot).
//!
//! Per key that sees INCR (the key starts missing, i.e. at 0):
//!
//! - every `ok` INCR returned a distinct value;
//! - a value observed by an `ok` INCR or GET at least counts every INCR
//!   acknowledged before that operation was invoked (plus itself, for an
//!   INCR), and at most every INCR invoked before it completed that did
//!   not fail (acknowledged or indeterminate);
//! - observations grow with real time: an INCR returns more, and a GET at
//!   least as much, as any observation completed before it was invoked;
//! - with a final snapshot (taken once every client stopped, with no
//!   crash since), the final value lies between the acknowledged and the
//!   acknowledged-plus-indeterminate counts, and is at least every value
//!   observed.
//!
//! Keys that also see SET are skipped (noted in the summary): a SET
//! resets the count, and the linearizability checker covers them.

use super::op::{ops_by_key, Op};
use super::{CheckResult, Snapshot, Stored};
use crate::history::{Call, History, Outcome};
use std::collections::BTreeMap;

const NAME: &str = "counter";

/// Checks every key of `history` that sees INCR, and, given `final_state`,
/// each such key's final value.
pub fn check_counters(history: &History, final_state: Option<&Snapshot>) -> CheckResult {
    let keys = match ops_by_key(NAME, history) {
        Ok(keys) => keys,
        Err(malformed) => return malformed,
    };
    let mut problems = Vec::new();
    let (mut checked, mut skipped) = (0, 0);
    for (key, ops) in &keys {
        if !ops.iter().any(|op| matches!(op.call, Call::Incr { .. })) {
            continue;
        }
        if ops.iter().any(|op| matches!(op.call, Call::Write { .. })) {
            skipped += 1;
            continue;
        }
        checked += 1;
        let counter = Counter::new(key, ops);
        counter.check_distinct(&mut problems);
        counter.check_bounds(&mut problems);
        if let Some(snapshot) = final_state {
            counter.check_final(snapshot.get(key), &mut problems);
        }
    }
    let mut summary = format!("{checked} counter key(s)");
    if skipped > 0 {
        summary.push_str(&format!(", {skipped} skipped (they also see SET)"));
    }
    CheckResult::from_problems(NAME, summary, problems)
}

/// A value observed, and the operation that observed it.
type Observation<'a> = (i64, &'a Op);

/// One counter key's operations.
struct Counter<'a> {
    key: &'a str,
    ops: &'a [Op],
}

/// What an `ok` operation observed: INCR's result, or GET's value (a
/// missing key reads as 0).
fn observed(op: &Op) -> Option<i64> {
    match op.outcome()? {
        Outcome::Counter(n) => Some(*n),
        Outcome::Read(value) => Some(value.unwrap_or(0)),
        _ => None,
    }
}

fn is_incr(op: &Op) -> bool {
    matches!(op.call, Call::Incr { .. })
}

impl<'a> Counter<'a> {
    fn new(key: &'a str, ops: &'a [Op]) -> Self {
        Counter { key, ops }
    }

    fn incrs(&self) -> impl Iterator<Item = &'a Op> {
        self.ops.iter().filter(|op| is_incr(op))
    }

    fn check_distinct(&self, problems: &mut Vec<String>) {
        let mut by_result: BTreeMap<i64, &Op> = BTreeMap::new();
        for op in self.incrs() {
            let Some(n) = observed(op) else { continue };
            if let Some(first) = by_result.insert(n, op) {
                problems.push(format!(
                    "key {:?}: two INCRs returned {n}:\n{first}\n{op}",
                    self.key
                ));
            }
        }
    }

    /// The bounds and real-time order of every observation, in one sweep
    /// over the operations' invoke and completion positions.
    fn check_bounds(&self, problems: &mut Vec<String>) {
        let mut events: Vec<(usize, bool, &Op)> = Vec::new();
        for op in self.ops.iter().filter(|op| !op.is_fail()) {
            events.push((op.invoke, true, op));
            if let Some(at) = op.acked_at() {
                events.push((at, false, op));
            }
        }
        events.sort_by_key(|&(at, _, _)| at);
        let mut acked = 0i64;
        let mut maybe = 0i64;
        let mut highest: Option<Observation> = None;
        // Per operation id: INCRs acknowledged, and the highest
        // observation completed, when it was invoked.
        let mut at_invoke: BTreeMap<usize, (i64, Option<Observation>)> = BTreeMap::new();
        for (_, is_invoke, op) in events {
            if is_invoke {
                maybe += i64::from(is_incr(op));
                at_invoke.insert(op.id, (acked, highest));
                continue;
            }
            let Some(value) = observed(op) else { continue };
            let (acked_before, highest_before) = at_invoke[&op.id];
            let own = i64::from(is_incr(op));
            self.check_one(
                op,
                value,
                acked_before + own,
                maybe,
                highest_before,
                problems,
            );
            acked += own;
            if highest.is_none_or(|(h, _)| value > h) {
                highest = Some((value, op));
            }
        }
    }

    fn check_one(
        &self,
        op: &Op,
        value: i64,
        low: i64,
        high: i64,
        highest_before: Option<Observation>,
        problems: &mut Vec<String>,
    ) {
        let key = self.key;
        if value < low || value > high {
            problems.push(format!(
                "key {key:?}: observed {value}, outside [{low}, {high}] (acknowledged before it began .. not failed by its end): {op}"
            ));
        }
        if let Some((before, earlier)) = highest_before {
            let went_back = if is_incr(op) {
                value <= before
            } else {
                value < before
            };
            if went_back {
                problems.push(format!(
                    "key {key:?}: observed {value} after {before} had been observed (real time):\n{earlier}\n{op}"
                ));
            }
        }
    }

    fn check_final(&self, stored: Option<&Stored>, problems: &mut Vec<String>) {
        let key = self.key;
        let value = match stored {
            None => 0,
            Some(Stored::Int(n)) => *n,
            Some(Stored::List(_)) => {
                problems.push(format!("key {key:?}: final state holds a list"));
                return;
            }
        };
        let acked = self.incrs().filter(|op| op.is_ok()).count() as i64;
        let maybe = self.incrs().filter(|op| !op.is_fail()).count() as i64;
        if value < acked || value > maybe {
            problems.push(format!(
                "key {key:?}: final value {value}, outside [{acked}, {maybe}] (acknowledged INCRs .. not failed INCRs)"
            ));
        }
        let highest = self.ops.iter().filter_map(observed).max();
        if let Some(highest) = highest.filter(|&h| value < h) {
            problems.push(format!(
                "key {key:?}: final value {value} is below the {highest} already observed"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{incr, read, Hist};

    fn check(h: &Hist) -> CheckResult {
        check_counters(&h.build(), None)
    }

    #[test]
    fn sequential_and_concurrent_increments_pass() {
        let mut h = Hist::new();
        h.read(1, "c", None)
            .incr(1, "c", 1)
            .invoke(1, incr("c"))
            .invoke(2, incr("c"))
            .ok(2, Outcome::Counter(2))
            .ok(1, Outcome::Counter(3))
            .read(2, "c", Some(3));
        let result = check(&h);
        assert!(result.is_valid(), "{result}");
        assert_eq!(result.summary, "1 counter key(s)");
    }

    #[test]
    fn duplicate_results_fail() {
        let mut h = Hist::new();
        h.invoke(1, incr("c"))
            .invoke(2, incr("c"))
            .ok(1, Outcome::Counter(1))
            .ok(2, Outcome::Counter(1));
        let result = check(&h);
        assert!(result.is_invalid());
        assert!(
            result.details[0].contains("two INCRs returned 1"),
            "{result}"
        );
    }

    #[test]
    fn a_result_that_misses_an_acknowledged_increment_fails() {
        let mut h = Hist::new();
        h.incr(1, "c", 1).incr(1, "c", 2).read(2, "c", Some(1));
        let result = check(&h);
        assert!(result.is_invalid());
        assert!(
            result.details[0].contains("observed 1, outside [2, 2]"),
            "{result}"
        );
    }

    #[test]
    fn a_result_beyond_what_was_invoked_fails() {
        let mut h = Hist::new();
        h.incr(1, "c", 2);
        let result = check(&h);
        assert!(
            result.details[0].contains("observed 2, outside [1, 1]"),
            "{result}"
        );
        // Failed increments do not count towards the upper bound.
        let mut h = Hist::new();
        h.invoke(2, incr("c")).fail(2).incr(1, "c", 2);
        assert!(check(&h).is_invalid());
        // Indeterminate ones do.
        let mut h = Hist::new();
        h.invoke(2, incr("c")).info(2).incr(1, "c", 2);
        assert!(check(&h).is_valid(), "{}", check(&h));
    }

    #[test]
    fn observations_go_back_in_real_time_fail() {
        // An indeterminate INCR makes both 1 and 2 possible for the reads,
        // but not 2 then 1.
        let mut h = Hist::new();
        h.invoke(3, incr("c"))
            .info(3)
            .incr(1, "c", 1)
            .read(2, "c", Some(2))
            .read(2, "c", Some(1));
        let result = check(&h);
        assert!(result.is_invalid());
        assert!(result.details[0].contains("observed 1 after 2"), "{result}");
    }

    #[test]
    fn the_final_value_is_bounded() {
        let mut h = Hist::new();
        h.incr(1, "c", 1).invoke(2, incr("c")).info(2);
        let good: Snapshot = [("c".to_owned(), Stored::Int(2))].into();
        assert!(check_counters(&h.build(), Some(&good)).is_valid());
        let lost: Snapshot = Snapshot::new();
        let result = check_counters(&h.build(), Some(&lost));
        assert!(
            result.details[0].contains("final value 0, outside [1, 2]"),
            "{result}"
        );
        let invented: Snapshot = [("c".to_owned(), Stored::Int(3))].into();
        assert!(check_counters(&h.build(), Some(&invented)).is_invalid());
    }

    #[test]
    fn keys_with_set_are_skipped_and_said_so() {
        let mut h = Hist::new();
        h.incr(1, "c", 1).write(1, "c", 7).read(1, "c", Some(7));
        h.invoke(1, read("other")).ok(1, Outcome::Read(None));
        let result = check(&h);
        assert!(result.is_valid());
        assert_eq!(
            result.summary,
            "0 counter key(s), 1 skipped (they also see SET)"
        );
    }
}
