//! The queue checker: producers LPUSH values unique across the run,
//! consumers BRPOP them, and once the run stops every client reads what
//! is left (LRANGE 0 -1, a "drain"). Per key (a key lives in one server
//! process: see [`crate::workload`]), it checks that:
//!
//! 1. no value is delivered (by an `ok` BRPOP) twice;
//! 2. every value delivered or left was pushed by an enqueue that did not
//!    fail (nothing invented);
//! 3. no value is both delivered by a pop that completed before a drain
//!    was invoked and still in that drain (popped, yet still there);
//! 4. no acknowledged value is lost: for each `ok` drain, the values
//!    acknowledged as pushed before it was invoked that are neither in it
//!    nor delivered are at most the pops with an unknown outcome (`info`,
//!    a reply lost with its connection: each takes at most one value)
//!    invoked before the drain completed.
//!
//! A pop concurrent with a drain may take a value before or after the
//! drain read it, so only pops that completed before the drain count in 3.

use super::op::{ops_by_key, Op};
use super::CheckResult;
use crate::history::{Call, History, Outcome};
use std::collections::{BTreeMap, BTreeSet};

const NAME: &str = "queue";

/// Checks every key of `history` used as a queue.
pub fn check_queues(history: &History) -> CheckResult {
    let keys = match ops_by_key(NAME, history) {
        Ok(keys) => keys,
        Err(malformed) => return malformed,
    };
    let mut problems = Vec::new();
    let (mut checked, mut delivered, mut drains) = (0, 0, 0);
    for (key, ops) in &keys {
        if !ops.iter().any(|op| op.call.is_queue()) {
            continue;
        }
        let queue = Queue::new(key, ops, &mut problems);
        checked += 1;
        delivered += queue.delivered.len();
        drains += queue.drains.len();
        queue.check(&mut problems);
    }
    CheckResult::from_problems(
        NAME,
        format!("{checked} queue key(s), {delivered} value(s) delivered, {drains} drain(s)"),
        problems,
    )
}

struct Queue<'a> {
    key: &'a str,
    /// Enqueues that did not fail, by value.
    pushed: BTreeMap<i64, &'a Op>,
    /// `ok` pops that returned a value, by value.
    delivered: BTreeMap<i64, &'a Op>,
    /// Pops with an unknown outcome.
    unknown_pops: Vec<&'a Op>,
    drains: Vec<(&'a Op, &'a [i64])>,
}

impl<'a> Queue<'a> {
    /// Sorts the key's operations; reports values delivered twice (check 1).
    fn new(key: &'a str, ops: &'a [Op], problems: &mut Vec<String>) -> Self {
        let mut queue = Queue {
            key,
            pushed: BTreeMap::new(),
            delivered: BTreeMap::new(),
            unknown_pops: Vec::new(),
            drains: Vec::new(),
        };
        for op in ops {
            match (&op.call, op.outcome()) {
                (Call::Enqueue { value, .. }, _) if !op.is_fail() => {
                    queue.pushed.insert(*value, op);
                }
                (Call::Dequeue { .. }, Some(Outcome::Dequeued(Some(value)))) => {
                    if let Some(first) = queue.delivered.insert(*value, op) {
                        problems.push(format!(
                            "key {key:?}: value {value} delivered twice:\n{first}\n{op}"
                        ));
                    }
                }
                (Call::Dequeue { .. }, None) if !op.is_fail() => queue.unknown_pops.push(op),
                (Call::ReadQueue { .. }, Some(Outcome::List(items))) => {
                    queue.drains.push((op, items.as_slice()));
                }
                _ => {}
            }
        }
        queue
    }

    fn check(&self, problems: &mut Vec<String>) {
        self.check_nothing_invented(problems);
        for &(drain, left) in &self.drains {
            self.check_drain(drain, left, problems);
        }
    }

    /// Check 2.
    fn check_nothing_invented(&self, problems: &mut Vec<String>) {
        let key = self.key;
        for (value, op) in &self.delivered {
            if !self.pushed.contains_key(value) {
                problems.push(format!("key {key:?}: {op} delivered {value}, never pushed"));
            }
        }
        for &(drain, left) in &self.drains {
            for value in left.iter().filter(|v| !self.pushed.contains_key(v)) {
                problems.push(format!("key {key:?}: {drain} holds {value}, never pushed"));
            }
        }
    }

    /// Checks 3 and 4 against one drain.
    fn check_drain(&self, drain: &Op, left: &[i64], problems: &mut Vec<String>) {
        let key = self.key;
        let left: BTreeSet<i64> = left.iter().copied().collect();
        for (value, pop) in &self.delivered {
            if left.contains(value) && pop.precedes(drain) {
                problems.push(format!(
                    "key {key:?}: {value} was delivered, then still queued:\n{pop}\n{drain}"
                ));
            }
        }
        let lost: Vec<i64> = self
            .pushed
            .iter()
            .filter(|(_, push)| push.is_ok() && push.precedes(drain))
            .map(|(value, _)| *value)
            .filter(|v| !left.contains(v) && !self.delivered.contains_key(v))
            .collect();
        let drain_done = drain.complete_ms.unwrap_or(u64::MAX);
        let may_have_taken = self
            .unknown_pops
            .iter()
            .filter(|pop| pop.invoke_ms <= drain_done)
            .count();
        if lost.len() > may_have_taken {
            problems.push(format!(
                "key {key:?}: {} acknowledged value(s) neither delivered nor left by {drain}, \
                 and only {may_have_taken} pop(s) of unknown outcome could have taken them: \
                 {lost:?}",
                lost.len()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::EventType;

    /// A history from (process, call, how it ended) triples, one at a time.
    fn history(ops: &[(u64, Call, EventType, Option<Outcome>)]) -> History {
        let mut h = History::new();
        for (t, (process, call, kind, outcome)) in ops.iter().enumerate() {
            let t = t as u64 * 10;
            h.invoke(*process, call.clone(), t);
            h.complete(*process, *kind, outcome.clone(), t + 5);
        }
        h
    }

    fn enqueue(v: i64) -> Call {
        Call::Enqueue {
            key: "q".into(),
            value: v,
        }
    }

    fn dequeue() -> Call {
        Call::Dequeue { key: "q".into() }
    }

    fn drain() -> Call {
        Call::ReadQueue { key: "q".into() }
    }

    use EventType::{Info, Ok};

    #[test]
    fn delivered_once_or_left_is_valid() {
        let h = history(&[
            (1, enqueue(1), Ok, Some(Outcome::Done)),
            (1, enqueue(2), Ok, Some(Outcome::Done)),
            (2, dequeue(), Ok, Some(Outcome::Dequeued(Some(1)))),
            (2, dequeue(), Ok, Some(Outcome::Dequeued(None))),
            (1, drain(), Ok, Some(Outcome::List(vec![2]))),
        ]);
        assert!(check_queues(&h).is_valid(), "{}", check_queues(&h));
    }

    #[test]
    fn a_value_delivered_twice_or_lost_is_invalid() {
        let twice = history(&[
            (1, enqueue(1), Ok, Some(Outcome::Done)),
            (2, dequeue(), Ok, Some(Outcome::Dequeued(Some(1)))),
            (3, dequeue(), Ok, Some(Outcome::Dequeued(Some(1)))),
        ]);
        assert!(check_queues(&twice).is_invalid());
        let lost = history(&[
            (1, enqueue(1), Ok, Some(Outcome::Done)),
            (1, drain(), Ok, Some(Outcome::List(vec![]))),
        ]);
        assert!(check_queues(&lost).is_invalid());
        let still_there = history(&[
            (1, enqueue(1), Ok, Some(Outcome::Done)),
            (2, dequeue(), Ok, Some(Outcome::Dequeued(Some(1)))),
            (1, drain(), Ok, Some(Outcome::List(vec![1]))),
        ]);
        assert!(check_queues(&still_there).is_invalid());
        let invented = history(&[(2, dequeue(), Ok, Some(Outcome::Dequeued(Some(7))))]);
        assert!(check_queues(&invented).is_invalid());
    }

    #[test]
    fn a_pop_of_unknown_outcome_may_take_one_value() {
        let one = history(&[
            (1, enqueue(1), Ok, Some(Outcome::Done)),
            (2, dequeue(), Info, None),
            (1, drain(), Ok, Some(Outcome::List(vec![]))),
        ]);
        assert!(check_queues(&one).is_valid());
        let two = history(&[
            (1, enqueue(1), Ok, Some(Outcome::Done)),
            (1, enqueue(2), Ok, Some(Outcome::Done)),
            (2, dequeue(), Info, None),
            (1, drain(), Ok, Some(Outcome::List(vec![]))),
        ]);
        assert!(check_queues(&two).is_invalid(), "one pop takes one value");
    }
}
