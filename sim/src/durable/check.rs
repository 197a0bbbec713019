//! The verdicts of a durability run, from its history (or transactions)
//! and the audits of what each new server process recovered.

use super::clients::{acked_appends, Audit, State, TxnOutcome, TxnState};
use super::host::Stop;
use super::{DurableKind, DurableScenario, EVERYSEC_BOUND_MS, FAILED_SYNC_SLACK_MS};
use crate::check::durability::{check_acknowledged_present, check_recovered_prefix, MustSurvive};
use crate::check::{check_history, Budget, CheckResult, Snapshot, Stored};
use crate::history::History;
use crate::runner::Finding;
use std::collections::{BTreeMap, BTreeSet};

/// The findings, and what was measured.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    pub findings: Vec<Finding>,
    /// Per power loss audited: crash time minus the acknowledgement time
    /// of the oldest acknowledged append it lost (0: none lost).
    pub loss_windows_ms: Vec<u64>,
}

pub fn check_run(
    scenario: &DurableScenario,
    history: &History,
    txns: &BTreeMap<String, TxnOutcome>,
    audits: &[Audit],
) -> Verdict {
    let mut verdict = Verdict::default();
    verdict.findings.push(audits_taken(audits));
    if scenario.kind == DurableKind::ExecCrash {
        verdict.findings.push(check_txn_audits(txns, audits));
        return verdict;
    }
    let everysec = scenario.kind.everysec();
    let mut present = Vec::new();
    let mut prefix = Vec::new();
    let mut bounds = Vec::new();
    for (i, audit) in audits.iter().enumerate() {
        let State::Lists(snapshot) = &audit.state else {
            continue;
        };
        let died = audit.died_ms.unwrap_or(audit.audited_ms);
        let cutoff = must_survive_cutoff(died, &audit.failed_syncs);
        let bound = died.saturating_sub(cutoff);
        let (h, snap) = scope(history, snapshot, audit, everysec.then_some(i));
        let must = match (everysec, audit.stop, audit.died_ms) {
            (true, Some(Stop::PowerLoss), Some(_)) => MustSurvive::AckedBy(cutoff),
            _ => MustSurvive::All,
        };
        present.push((i, check_acknowledged_present(&h, &snap, must)));
        prefix.push((i, check_recovered_prefix(&h, &snap)));
        if let (Some(Stop::PowerLoss), Some(died)) = (audit.stop, audit.died_ms) {
            verdict.loss_windows_ms.push(loss_window(&h, &snap, died));
            bounds.push(if everysec { bound } else { 0 });
        }
    }
    verdict
        .findings
        .push(fold("acknowledged-present", present, audits));
    verdict
        .findings
        .push(fold("recovered-prefix", prefix, audits));
    verdict
        .findings
        .push(loss_window_finding(&verdict.loss_windows_ms, &bounds));
    for r in check_history(history, Budget::default()).results {
        let detail = first_details(&r);
        verdict
            .findings
            .push(Finding::new(r.checker, r.is_valid(), detail));
    }
    verdict
}

/// Under `everysec`, the latest acknowledgement time from which a write
/// may be lost at a power loss at `died`: [`EVERYSEC_BOUND_MS`] before
/// it, plus [`FAILED_SYNC_SLACK_MS`] for each fsync that failed between
/// the write and the crash (each delays its durability to the next
/// attempt). Data a failed fsync covered that is lost later, after a
/// retry should have saved it, falls before the cutoff.
pub fn must_survive_cutoff(died: u64, failed_syncs: &[u64]) -> u64 {
    let slack = |acked: u64| {
        let fails = failed_syncs
            .iter()
            .filter(|&&t| t >= acked && t <= died)
            .count() as u64;
        EVERYSEC_BOUND_MS + FAILED_SYNC_SLACK_MS * fails
    };
    (0..=died)
        .rev()
        .find(|&acked| died - acked > slack(acked))
        .unwrap_or(0)
}

fn audits_taken(audits: &[Audit]) -> Finding {
    let count = |stop| audits.iter().filter(|a| a.stop == Some(stop)).count();
    let last_is_final = audits.last().is_some_and(|a| a.died_ms.is_none());
    Finding::new(
        "audits",
        last_is_final,
        format!(
            "{} power loss(es), {} kill(s), {} exit(s) audited{}",
            count(Stop::PowerLoss),
            count(Stop::Kill),
            count(Stop::Exit),
            if last_is_final {
                ", and the final state"
            } else {
                "; the final state was never read"
            }
        ),
    )
}

/// The history up to the audit, and the snapshot, restricted to the keys
/// of `epoch` when keys are per epoch (`l0.e3`).
fn scope(
    history: &History,
    snapshot: &Snapshot,
    audit: &Audit,
    epoch: Option<usize>,
) -> (History, Snapshot) {
    let mut h = history.up_to(audit.audited_ms);
    let Some(epoch) = epoch else {
        return (h, snapshot.clone());
    };
    let suffix = format!(".e{epoch}");
    h.events.retain(|e| e.call.key().ends_with(&suffix));
    let snap = snapshot
        .iter()
        .filter(|(k, _)| k.ends_with(&suffix))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (h, snap)
}

/// Crash time minus the acknowledgement time of the oldest acknowledged
/// append the recovered state lacks (0 when none is missing).
pub fn loss_window(history: &History, snapshot: &Snapshot, died_ms: u64) -> u64 {
    let present: BTreeSet<(String, i64)> = snapshot
        .iter()
        .flat_map(|(k, v)| match v {
            Stored::List(items) => items.iter().map(|i| (k.clone(), *i)).collect(),
            Stored::Int(_) => Vec::new(),
        })
        .collect();
    acked_appends(history)
        .into_iter()
        .filter(|(value, (key, acked))| {
            *acked <= died_ms && !present.contains(&(key.clone(), *value))
        })
        .map(|(_, (_, acked))| died_ms.saturating_sub(acked))
        .max()
        .unwrap_or(0)
}

/// Every power loss's window against its own bound (0 under `always`;
/// under `everysec` [`EVERYSEC_BOUND_MS`], plus slack per failed fsync).
fn loss_window_finding(windows: &[u64], bounds: &[u64]) -> Finding {
    let max = windows.iter().copied().max().unwrap_or(0);
    let over: Vec<(u64, u64)> = windows
        .iter()
        .zip(bounds)
        .filter(|(w, b)| w > b)
        .map(|(w, b)| (*w, *b))
        .collect();
    let lossy = windows.iter().filter(|w| **w > 0).count();
    Finding::new(
        "loss window",
        over.is_empty(),
        format!(
            "{} power loss(es), {lossy} lost acknowledged appends; max window {max} ms; \
             over their bound (window, bound): {over:?}; windows {windows:?}",
            windows.len()
        ),
    )
}

/// One finding from per-audit results: the first failing audit's details.
fn fold(name: &str, results: Vec<(usize, CheckResult)>, audits: &[Audit]) -> Finding {
    let checked = results.len();
    match results.into_iter().find(|(_, r)| !r.is_valid()) {
        None => Finding::new(name, true, format!("{checked} audit(s) valid")),
        Some((i, r)) => {
            let a = &audits[i];
            Finding::new(
                name,
                false,
                format!(
                    "audit {i} ({:?} at {:?} ms, read at {} ms): {}",
                    a.stop,
                    a.died_ms,
                    a.audited_ms,
                    first_details(&r)
                ),
            )
        }
    }
}

fn first_details(r: &CheckResult) -> String {
    let mut detail = r.summary.clone();
    for line in r.details.iter().take(5) {
        detail.push_str("\n       ");
        detail.push_str(&line.replace('\n', "\n         "));
    }
    detail
}

/// Every audit of the transaction scenario: all or none of each.
fn check_txn_audits(txns: &BTreeMap<String, TxnOutcome>, audits: &[Audit]) -> Finding {
    let mut problems = Vec::new();
    for (i, audit) in audits.iter().enumerate() {
        if let State::Txns(state) = &audit.state {
            for p in txn_problems(txns, state, audit.died_ms) {
                problems.push(format!(
                    "audit {i} ({:?} at {:?} ms): {p}",
                    audit.stop, audit.died_ms
                ));
            }
        }
    }
    let committed = txns
        .values()
        .filter(|o| matches!(o, TxnOutcome::Committed { .. }))
        .count();
    let unknown = txns
        .values()
        .filter(|o| {
            matches!(
                o,
                TxnOutcome::Lost {
                    exec_sent_ms: Some(_)
                }
            )
        })
        .count();
    let applied = audits
        .last()
        .and_then(|a| match &a.state {
            State::Txns(state) => Some(state),
            State::Lists(_) => None,
        })
        .map_or(0, |state| {
            let unknown = |id: &&String| {
                matches!(
                    txns.get(*id),
                    Some(TxnOutcome::Lost {
                        exec_sent_ms: Some(_)
                    })
                )
            };
            state.log.iter().filter(unknown).count()
        });
    let summary = format!(
        "{} transaction(s): {committed} committed, {unknown} with EXEC sent and no reply \
         ({applied} of them applied whole, the rest not at all); {} audit(s)",
        txns.len(),
        audits.len()
    );
    if problems.is_empty() {
        return Finding::new("all-or-none", true, summary);
    }
    let mut detail = format!("{} problem(s); {summary}", problems.len());
    for p in problems.iter().take(5) {
        detail.push_str("\n       ");
        detail.push_str(p);
    }
    Finding::new("all-or-none", false, detail)
}

/// What is wrong with one recovered state: counters and log disagree
/// (a torn transaction), an id twice or from a transaction whose EXEC
/// never ran, or an acknowledged EXEC (before `died_ms`; all of them for
/// the final read) missing.
pub fn txn_problems(
    txns: &BTreeMap<String, TxnOutcome>,
    state: &TxnState,
    died_ms: Option<u64>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let len = state.log.len() as i64;
    if state.a != state.b || state.a != len {
        problems.push(format!(
            "torn: a = {}, b = {}, len(log) = {len}",
            state.a, state.b
        ));
    }
    let mut seen = BTreeSet::new();
    for id in &state.log {
        if !seen.insert(id.as_str()) {
            problems.push(format!("{id} is in the log twice"));
        }
        match txns.get(id) {
            Some(TxnOutcome::Committed { .. })
            | Some(TxnOutcome::Lost {
                exec_sent_ms: Some(_),
            }) => {}
            other => problems.push(format!(
                "{id} is in the log, but its EXEC never ran: {other:?}"
            )),
        }
    }
    for (id, outcome) in txns {
        if let TxnOutcome::Committed { acked_ms } = outcome {
            let must = died_ms.is_none_or(|died| *acked_ms <= died);
            if must && !seen.contains(id.as_str()) {
                problems.push(format!(
                    "{id}'s EXEC was acknowledged at {acked_ms} ms but is lost"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txns(entries: &[(&str, TxnOutcome)]) -> BTreeMap<String, TxnOutcome> {
        entries.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn state(a: i64, b: i64, log: &[&str]) -> TxnState {
        TxnState {
            a,
            b,
            log: log.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn transactions_must_be_whole_unique_and_durable_once_acknowledged() {
        let t = txns(&[
            ("t0.1", TxnOutcome::Committed { acked_ms: 10 }),
            (
                "t0.2",
                TxnOutcome::Lost {
                    exec_sent_ms: Some(20),
                },
            ),
            ("t1.1", TxnOutcome::Lost { exec_sent_ms: None }),
            ("t1.2", TxnOutcome::Committed { acked_ms: 50 }),
        ]);
        assert!(txn_problems(&t, &state(1, 1, &["t0.1"]), Some(30)).is_empty());
        assert!(txn_problems(&t, &state(2, 2, &["t0.1", "t0.2"]), Some(30)).is_empty());
        let torn = txn_problems(&t, &state(2, 1, &["t0.1"]), Some(30));
        assert!(torn[0].starts_with("torn"), "{torn:?}");
        let lost = txn_problems(&t, &state(0, 0, &[]), Some(30));
        assert!(lost[0].contains("t0.1's EXEC was acknowledged"), "{lost:?}");
        let never = txn_problems(&t, &state(2, 2, &["t0.1", "t1.1"]), Some(30));
        assert!(never[0].contains("never ran"), "{never:?}");
        let twice = txn_problems(&t, &state(2, 2, &["t0.1", "t0.1"]), Some(30));
        assert!(twice[0].contains("twice"), "{twice:?}");
        let final_read = txn_problems(&t, &state(1, 1, &["t0.1"]), None);
        assert!(final_read[0].contains("t1.2"), "{final_read:?}");
    }

    #[test]
    fn each_failed_fsync_after_a_write_extends_how_long_it_may_be_lost() {
        assert_eq!(must_survive_cutoff(10_000, &[]), 7_999);
        assert_eq!(must_survive_cutoff(10_000, &[9_000]), 6_999);
        assert_eq!(
            must_survive_cutoff(10_000, &[1_000]),
            7_999,
            "a failure before the write does not excuse its loss"
        );
        assert_eq!(must_survive_cutoff(1_500, &[]), 0);
    }

    #[test]
    fn the_loss_window_runs_from_the_oldest_lost_acknowledgement_to_the_crash() {
        use crate::history::{Call, EventType, Outcome};
        let mut h = History::new();
        for (t, value) in [(100, 1), (300, 2), (900, 3)] {
            let call = Call::Append {
                key: "l0".into(),
                value,
            };
            h.invoke(0, call, t - 5);
            h.complete(0, EventType::Ok, Some(Outcome::Done), t);
        }
        let snap = |items: Vec<i64>| -> Snapshot {
            [("l0".to_string(), Stored::List(items))]
                .into_iter()
                .collect()
        };
        assert_eq!(loss_window(&h, &snap(vec![1, 2, 3]), 1000), 0);
        assert_eq!(loss_window(&h, &snap(vec![1]), 1000), 700);
        assert_eq!(loss_window(&h, &Snapshot::new(), 1000), 900);
        assert_eq!(loss_window(&h, &snap(vec![1, 2]), 800), 0, "3 came after");
    }
}
