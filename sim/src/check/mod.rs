//! Checkers: pure functions from a [`History`] (and, for recovery and
//! convergence, final states) to a [`CheckResult`]. They know nothing of
//! the server, the network or turmoil, so they can be tested on hand-made
//! histories and run on saved ones (see [`crate::jsonl`]).
//!
//! | checker | proves |
//! | --- | --- |
//! | [`linearizable::check_linearizable`] | every key's operations fit one sequential order that respects real time (registers, counters and lists) |
//! | [`counter::check_counters`] | INCR results are distinct, monotonic in real time and within what acknowledged and indeterminate increments allow |
//! | [`list_append::check_list_append`] | list reads agree on one order of appends, contain nothing invented, failed or duplicated, and miss no append acknowledged before them |
//! | [`queue::check_queues`] | a work queue delivers no value twice, invents none, and loses none acknowledged (beyond what pops of unknown outcome may have taken) |
//! | [`durability::check_acknowledged_present`] | after recovery, no acknowledged write (within the fsync policy's window) is lost |
//! | [`durability::check_recovered_prefix`] | the recovered state is the state after some prefix of the operations |
//! | [`convergence::check_convergence`] | hosts that should hold the same data do |

pub mod convergence;
pub mod counter;
pub mod durability;
pub mod linearizable;
pub mod list_append;
mod model;
pub mod op;
pub mod queue;
#[cfg(test)]
pub(crate) mod testing;
pub mod watch;

use crate::history::History;
use std::collections::BTreeMap;
use std::fmt;

pub use linearizable::Budget;

/// How many problems a checker lists before it only counts the rest.
pub const MAX_LISTED: usize = 20;

/// A checker's conclusion, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// The history satisfies the property.
    Valid,
    /// The checker could not decide (its search budget ran out).
    Unknown,
    /// The history violates the property; the details say how.
    Invalid,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Valid => "valid",
            Verdict::Unknown => "UNKNOWN",
            Verdict::Invalid => "INVALID",
        })
    }
}

/// What one checker concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The checker's name, e.g. "linearizability".
    pub checker: &'static str,
    pub verdict: Verdict,
    /// One line: what was checked, or what went wrong.
    pub summary: String,
    /// The problems found (or why the checker gave up), one per entry;
    /// an entry may span several lines. Empty when valid.
    pub details: Vec<String>,
}

impl CheckResult {
    pub fn valid(checker: &'static str, summary: impl Into<String>) -> Self {
        CheckResult {
            checker,
            verdict: Verdict::Valid,
            summary: summary.into(),
            details: Vec::new(),
        }
    }

    pub fn invalid(
        checker: &'static str,
        summary: impl Into<String>,
        details: Vec<String>,
    ) -> Self {
        CheckResult {
            checker,
            verdict: Verdict::Invalid,
            summary: summary.into(),
            details,
        }
    }

    pub fn unknown(
        checker: &'static str,
        summary: impl Into<String>,
        details: Vec<String>,
    ) -> Self {
        CheckResult {
            checker,
            verdict: Verdict::Unknown,
            summary: summary.into(),
            details,
        }
    }

    /// Valid if `problems` is empty, else invalid with the first
    /// [`MAX_LISTED`] problems listed and the rest counted.
    pub fn from_problems(checker: &'static str, checked: String, problems: Vec<String>) -> Self {
        if problems.is_empty() {
            return CheckResult::valid(checker, checked);
        }
        let summary = format!("{} problem(s); checked {checked}", problems.len());
        CheckResult::invalid(checker, summary, capped(problems))
    }

    pub fn is_valid(&self) -> bool {
        self.verdict == Verdict::Valid
    }

    pub fn is_invalid(&self) -> bool {
        self.verdict == Verdict::Invalid
    }
}

/// Keeps the first [`MAX_LISTED`] lines and says how many were left out.
pub(crate) fn capped(mut lines: Vec<String>) -> Vec<String> {
    if lines.len() > MAX_LISTED {
        let more = lines.len() - MAX_LISTED;
        lines.truncate(MAX_LISTED);
        lines.push(format!("... and {more} more"));
    }
    lines
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.checker, self.verdict, self.summary)?;
        for detail in &self.details {
            let mut lines = detail.lines();
            if let Some(first) = lines.next() {
                write!(f, "\n  - {first}")?;
            }
            for line in lines {
                write!(f, "\n    {line}")?;
            }
        }
        Ok(())
    }
}

/// The results of several checkers over one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub results: Vec<CheckResult>,
}

impl Report {
    pub fn push(&mut self, result: CheckResult) {
        self.results.push(result);
    }

    /// The worst verdict of any checker (valid when there are none).
    pub fn verdict(&self) -> Verdict {
        self.results
            .iter()
            .map(|r| r.verdict)
            .max()
            .unwrap_or(Verdict::Valid)
    }

    pub fn is_valid(&self) -> bool {
        self.verdict() == Verdict::Valid
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for result in &self.results {
            writeln!(f, "{result}")?;
        }
        Ok(())
    }
}

/// A key's value in a final-state snapshot (read from a host after a run
/// or right after it recovered). A key that is absent from the snapshot
/// does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// A string holding an integer (register and counter workloads).
    Int(i64),
    /// A list (list-append workload).
    List(Vec<i64>),
}

/// A host's keys and values, as the workloads' checkers see them.
pub type Snapshot = BTreeMap<String, Stored>;

/// Runs every checker that needs only the history: linearizability per key
/// (bounded by `budget`), counters and list-append.
pub fn check_history(history: &History, budget: Budget) -> Report {
    let mut report = Report::default();
    report.push(linearizable::check_linearizable(history, budget));
    report.push(counter::check_counters(history, None));
    report.push(list_append::check_list_append(history));
    report.push(queue::check_queues(history));
    report
}
