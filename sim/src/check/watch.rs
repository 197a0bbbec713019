//! The "watch" scenario's checker: check-and-set transactions whose
//! clients lose their connection mid-transaction.
//!
//! Each transaction reads `cnt` under WATCH, then in MULTI sets `cnt` to
//! the value read plus one, sets its own marker key, and appends
//! `token:new-value` to `log`. From the final state it checks:
//! - **all or none**: a transaction's log entry exists exactly when its
//!   marker does (no torn transaction);
//! - **outcomes**: an EXEC that returned results is applied; one that
//!   returned null (a watched key changed), and one whose EXEC was never
//!   sent (the connection was lost before), are not; one whose EXEC was
//!   sent but whose reply was lost may be either;
//! - **isolation** (what WATCH is for): the log's values are 1, 2, 3, ...
//!   in order and `cnt` is the last, so no two transactions committed on
//!   the same read.

use super::{CheckResult, MAX_LISTED};
use std::collections::{BTreeMap, BTreeSet};

/// How a transaction ended, as its client saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnOutcome {
    /// EXEC returned its results.
    Committed,
    /// EXEC returned null: a watched key changed.
    Aborted,
    /// The connection was lost (or the reply timed out); `exec_sent`
    /// says whether EXEC had been sent.
    Lost { exec_sent: bool },
}

/// The state read back at the end, after every fault healed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FinalState {
    pub cnt: Option<i64>,
    /// `log`'s entries, in order.
    pub log: Vec<String>,
    /// Tokens whose marker key exists.
    pub markers: BTreeSet<String>,
}

pub const NAME: &str = "watch transactions";

/// Checks every transaction (`token` → outcome) against the final state.
/// `isolation` off skips the CAS property (for runs that do not expect it).
pub fn check_watch(
    txns: &BTreeMap<String, TxnOutcome>,
    state: &FinalState,
    isolation: bool,
) -> CheckResult {
    let mut problems = Vec::new();
    let logged = log_entries(state, &mut problems);
    let in_log: BTreeSet<&str> = logged.iter().map(|(t, _)| t.as_str()).collect();
    check_all_or_none(&in_log, state, &mut problems);
    check_outcomes(txns, &in_log, &mut problems);
    if isolation {
        check_isolation(&logged, state, &mut problems);
    }
    problems.truncate(MAX_LISTED * 4);
    let committed = txns
        .values()
        .filter(|o| **o == TxnOutcome::Committed)
        .count();
    let checked = format!(
        "{} transactions ({committed} committed), {} logged",
        txns.len(),
        logged.len()
    );
    CheckResult::from_problems(NAME, checked, problems)
}

/// `token:value` entries, each token once.
fn log_entries(state: &FinalState, problems: &mut Vec<String>) -> Vec<(String, i64)> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for entry in &state.log {
        let parsed = entry
            .rsplit_once(':')
            .and_then(|(t, v)| Some((t.to_string(), v.parse::<i64>().ok()?)));
        match parsed {
            Some((token, value)) if seen.insert(token.clone()) => out.push((token, value)),
            Some((token, _)) => problems.push(format!("{token} is logged twice")),
            None => problems.push(format!("log entry {entry:?} is not token:value")),
        }
    }
    out
}

fn check_all_or_none(in_log: &BTreeSet<&str>, state: &FinalState, problems: &mut Vec<String>) {
    for token in in_log {
        if !state.markers.contains(*token) {
            problems.push(format!("{token}: logged but its marker is missing (torn)"));
        }
    }
    for token in &state.markers {
        if !in_log.contains(token.as_str()) {
            problems.push(format!("{token}: marker present but not logged (torn)"));
        }
    }
}

fn check_outcomes(
    txns: &BTreeMap<String, TxnOutcome>,
    in_log: &BTreeSet<&str>,
    problems: &mut Vec<String>,
) {
    for (token, outcome) in txns {
        let applied = in_log.contains(token.as_str());
        match outcome {
            TxnOutcome::Committed if !applied => problems.push(format!(
                "{token}: EXEC returned results but nothing applied"
            )),
            TxnOutcome::Aborted if applied => {
                problems.push(format!("{token}: EXEC returned null but it applied"))
            }
            TxnOutcome::Lost { exec_sent: false } if applied => problems.push(format!(
                "{token}: the connection was lost before EXEC, yet it applied"
            )),
            _ => {}
        }
    }
    for token in in_log {
        if !txns.contains_key(*token) {
            problems.push(format!("{token}: logged by no transaction"));
        }
    }
}

fn check_isolation(logged: &[(String, i64)], state: &FinalState, problems: &mut Vec<String>) {
    for (position, (token, value)) in logged.iter().enumerate() {
        let expected = position as i64 + 1;
        if *value != expected {
            problems.push(format!(
                "{token} wrote cnt={value} as the {expected}th commit: two transactions committed on one read"
            ));
        }
    }
    let expected_cnt = (!logged.is_empty()).then_some(logged.len() as i64);
    if state.cnt != expected_cnt {
        problems.push(format!(
            "cnt is {:?}, the log has {} commits",
            state.cnt,
            logged.len()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Verdict;

    fn state(log: &[&str], markers: &[&str]) -> FinalState {
        FinalState {
            cnt: (!log.is_empty()).then_some(log.len() as i64),
            log: log.iter().map(|s| s.to_string()).collect(),
            markers: markers.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn txns(list: &[(&str, TxnOutcome)]) -> BTreeMap<String, TxnOutcome> {
        list.iter().map(|(t, o)| (t.to_string(), *o)).collect()
    }

    const LOST_EXEC: TxnOutcome = TxnOutcome::Lost { exec_sent: true };
    const LOST_BEFORE: TxnOutcome = TxnOutcome::Lost { exec_sent: false };

    #[test]
    fn a_consistent_run_is_valid() {
        let t = txns(&[
            ("a", TxnOutcome::Committed),
            ("b", TxnOutcome::Aborted),
            ("c", LOST_EXEC),
            ("d", LOST_BEFORE),
            ("e", LOST_EXEC),
        ]);
        let s = state(&["a:1", "c:2"], &["a", "c"]);
        assert_eq!(check_watch(&t, &s, true).verdict, Verdict::Valid);
    }

    #[test]
    fn each_violation_is_found() {
        let t = txns(&[
            ("a", TxnOutcome::Committed),
            ("b", TxnOutcome::Aborted),
            ("c", LOST_BEFORE),
        ]);
        let cases: &[(&[&str], &[&str], &str)] = &[
            (&[], &[], "nothing applied"),
            (&["a:1", "b:2"], &["a", "b"], "returned null"),
            (&["a:1", "c:2"], &["a", "c"], "lost before EXEC"),
            (&["a:1"], &[], "torn"),
            (&["a:1"], &["a", "b"], "torn"),
            (&["a:1", "x:2"], &["a", "x"], "no transaction"),
            (&["a:1", "a:2"], &["a"], "twice"),
            (&["a:oops"], &["a"], "not token:value"),
        ];
        for (log, markers, why) in cases {
            let result = check_watch(&t, &state(log, markers), true);
            assert_eq!(result.verdict, Verdict::Invalid, "{why}");
            assert!(
                result.details.iter().any(|d| d.contains(why)),
                "{why}: {:?}",
                result.details
            );
        }
    }

    #[test]
    fn isolation_needs_consecutive_values_and_the_final_count() {
        let t = txns(&[("a", TxnOutcome::Committed), ("b", TxnOutcome::Committed)]);
        let same_read = state(&["a:1", "b:1"], &["a", "b"]);
        assert_eq!(check_watch(&t, &same_read, true).verdict, Verdict::Invalid);
        assert_eq!(check_watch(&t, &same_read, false).verdict, Verdict::Valid);
        let mut wrong_cnt = state(&["a:1", "b:2"], &["a", "b"]);
        wrong_cnt.cnt = Some(3);
        assert_eq!(check_watch(&t, &wrong_cnt, true).verdict, Verdict::Invalid);
    }
}
