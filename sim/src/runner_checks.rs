//! The runner's calls into the history checkers ([`crate::check`]): the
//! one place that knows their names.

use crate::check::{check_history as check_all, Budget, Verdict};
use crate::history::History;
use crate::runner::{Finding, Scenario};

/// Every history checker that applies to the scenario's workload.
/// Linearizability is per key, and key names carry the server process
/// (see [`crate::workload`]), so restarts need no special case here.
pub fn check_history(_scenario: &Scenario, history: &History) -> Vec<Finding> {
    check_all(history, Budget::default())
        .results
        .into_iter()
        .map(|r| {
            let mut detail = r.summary.clone();
            for line in r.details.iter().take(5) {
                detail.push_str("\n       ");
                detail.push_str(&line.replace('\n', "\n         "));
            }
            Finding::new(r.checker, r.verdict == Verdict::Valid, detail)
        })
        .collect()
}
