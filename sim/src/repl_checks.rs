//! The replication scenario's checkers: pure functions of what the
//! clients recorded and what the hosts held at the end.

use crate::check::convergence::check_convergence;
use crate::check::{capped, CheckResult};
use std::collections::{BTreeMap, BTreeSet};

/// Host 0 is the primary, 1.. the replicas (in `REPLICAS` order).
pub type HostIndex = usize;
pub const PRIMARY_HOST: HostIndex = 0;

/// One power loss of a host: down at `down_ms`, restarted at `up_ms`
/// (`u64::MAX` while still down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crash {
    pub host: HostIndex,
    pub down_ms: u64,
    pub up_ms: u64,
}

/// The marker a WAIT covered and what the replicas said right after.
#[derive(Debug, Clone)]
pub struct WaitCheck {
    pub marker: String,
    pub claimed: i64,
    /// Per replica: Some(true) holds it, Some(false) does not, None no answer.
    pub seen: Vec<Option<bool>>,
    /// When the marker was written and when the replicas were asked.
    pub from_ms: u64,
    pub to_ms: u64,
}

/// What the writer did to the primary's counter and list, with the
/// outcome it saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// `RPUSH log <value>`; `acked` when it got its reply.
    Push { value: String, acked: bool },
    /// `INCR cnt`.
    Incr { acked: bool },
}

/// WAIT returning m: at least m replicas had the marker. A replica that
/// says it lacks the marker refutes one acknowledgement, unless a crash
/// in between explains it: its own (a replica that lost its power lost
/// what it had not saved) or the primary's (the replicas then follow a
/// restarted primary, which may have come back without it).
pub fn check_waits(waits: &[WaitCheck], crashes: &[Crash]) -> CheckResult {
    const NAME: &str = "wait";
    let mut wrong = Vec::new();
    let mut positive = 0;
    for w in waits {
        let crashed_meanwhile = |host: HostIndex| {
            crashes
                .iter()
                .any(|c| c.host == host && c.down_ms <= w.to_ms && c.up_ms >= w.from_ms)
        };
        let excused = |r: usize| crashed_meanwhile(r + 1) || crashed_meanwhile(PRIMARY_HOST);
        let refuted = w
            .seen
            .iter()
            .enumerate()
            .filter(|(r, s)| **s == Some(false) && !excused(*r))
            .count() as i64;
        if w.claimed > 0 {
            positive += 1;
        }
        if w.claimed > w.seen.len() as i64 - refuted {
            wrong.push(format!(
                "{}: WAIT returned {} but replicas said {:?}",
                w.marker, w.claimed, w.seen
            ));
        }
    }
    let summary = format!("{} WAIT(s), {positive} acknowledged", waits.len());
    if wrong.is_empty() {
        CheckResult::valid(NAME, summary)
    } else {
        CheckResult::invalid(NAME, summary, capped(wrong))
    }
}

/// With the whole stream inside the backlog, every PSYNC that offered the
/// primary's history must have continued. A primary that restarted is a
/// new history: the replicas' offers of the old one are rightly refused
/// (its counters also started again), so the check then does not apply.
pub fn check_partial(
    partial_err: u64,
    offset: u64,
    backlog: u64,
    primary_restarts: usize,
) -> CheckResult {
    const NAME: &str = "partial resync";
    if primary_restarts > 0 {
        return CheckResult::valid(
            NAME,
            format!(
                "the primary restarted {primary_restarts} time(s): a new history, not applicable"
            ),
        );
    }
    if offset >= backlog {
        return CheckResult::valid(NAME, "stream larger than the backlog: not applicable");
    }
    if partial_err == 0 {
        CheckResult::valid(
            NAME,
            format!("stream of {offset} bytes within the backlog, no PSYNC refused"),
        )
    } else {
        CheckResult::invalid(
            NAME,
            format!("{partial_err} PSYNC(s) refused though the backlog ({backlog} bytes) held the whole stream ({offset} bytes)"),
            Vec::new(),
        )
    }
}

/// A primary under `appendfsync always` acknowledges a write once it is
/// on disk: after any number of power losses its final list holds every
/// acknowledged push, in acknowledgement order, nothing never pushed and
/// nothing twice; its counter is at least the acknowledged increments and
/// at most the attempted ones. `log` is the primary's final list, `cnt`
/// its final counter (None: missing).
pub fn check_durability(ops: &[WriteOp], log: &[String], cnt: Option<i64>) -> CheckResult {
    const NAME: &str = "durability";
    let mut wrong = Vec::new();
    let attempted: BTreeSet<&str> = ops
        .iter()
        .filter_map(|op| match op {
            WriteOp::Push { value, .. } => Some(value.as_str()),
            WriteOp::Incr { .. } => None,
        })
        .collect();
    let position: BTreeMap<&str, usize> = log
        .iter()
        .enumerate()
        .map(|(i, v)| (v.as_str(), i))
        .collect();
    if position.len() != log.len() {
        wrong.push("a value appears twice in the list".to_string());
    }
    for value in log.iter().filter(|v| !attempted.contains(v.as_str())) {
        wrong.push(format!("{value:?} in the list was never pushed"));
    }
    let mut last = None;
    for op in ops {
        let WriteOp::Push { value, acked: true } = op else {
            continue;
        };
        match position.get(value.as_str()) {
            None => wrong.push(format!("acknowledged push {value:?} lost")),
            Some(&at) if last.is_some_and(|l| at < l) => {
                wrong.push(format!("acknowledged push {value:?} out of order"))
            }
            Some(&at) => last = Some(at),
        }
    }
    let incrs = |only_acked: bool| {
        ops.iter()
            .filter(|op| matches!(op, WriteOp::Incr { acked } if *acked || !only_acked))
            .count() as i64
    };
    let (low, high) = (incrs(true), incrs(false));
    let counted = cnt.unwrap_or(0);
    if counted < low || counted > high {
        wrong.push(format!(
            "counter {counted}: {low} increment(s) acknowledged, {high} attempted"
        ));
    }
    let acked = ops
        .iter()
        .filter(|op| matches!(op, WriteOp::Push { acked: true, .. }))
        .count();
    let summary = format!(
        "{acked} acknowledged push(es) and {low} increment(s) checked against the primary's final state"
    );
    if wrong.is_empty() {
        CheckResult::valid(NAME, summary)
    } else {
        CheckResult::invalid(NAME, summary, capped(wrong))
    }
}

/// Once healed and quiet, every host holds the primary's data and offset.
pub fn check_replicas_converged(
    states: &[(&str, &BTreeMap<String, Vec<u8>>)],
    offsets: &[(String, String)],
    hosts: usize,
) -> CheckResult {
    if states.len() != hosts || offsets.len() != hosts {
        return CheckResult::invalid(
            "convergence",
            format!("could not read every host: {offsets:?}"),
            Vec::new(),
        );
    }
    if offsets.windows(2).any(|w| w[0].1 != w[1].1) {
        return CheckResult::invalid(
            "convergence",
            format!("offsets differ after healing: {offsets:?}"),
            Vec::new(),
        );
    }
    check_convergence(states)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Verdict;

    #[test]
    fn the_wait_checker_can_fail_and_crashes_excuse() {
        let w = WaitCheck {
            marker: "w1".into(),
            claimed: 2,
            seen: vec![Some(true), Some(false)],
            from_ms: 10,
            to_ms: 20,
        };
        let check = |crashes: &[Crash]| check_waits(std::slice::from_ref(&w), crashes).verdict;
        assert_eq!(check(&[]), Verdict::Invalid);
        let crash = |host, down_ms, up_ms| Crash {
            host,
            down_ms,
            up_ms,
        };
        // The replica that lacks it (host 2) lost power meanwhile.
        assert_eq!(check(&[crash(2, 15, 30)]), Verdict::Valid);
        // So did the primary: the replicas may have followed it.
        assert_eq!(check(&[crash(PRIMARY_HOST, 5, 12)]), Verdict::Valid);
        // The other replica's crash, or one long before, excuses nothing.
        assert_eq!(check(&[crash(1, 15, 30)]), Verdict::Invalid);
        assert_eq!(check(&[crash(2, 1, 5)]), Verdict::Invalid);
    }

    fn push(value: &str, acked: bool) -> WriteOp {
        WriteOp::Push {
            value: value.into(),
            acked,
        }
    }

    #[test]
    fn the_durability_checker_catches_loss_order_invention_and_counts() {
        let ops = vec![
            push("1", true),
            push("2", false),
            push("3", true),
            WriteOp::Incr { acked: true },
            WriteOp::Incr { acked: false },
        ];
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let verdict = |log: &[&str], cnt| check_durability(&ops, &list(log), cnt).verdict;
        assert_eq!(verdict(&["1", "3"], Some(1)), Verdict::Valid);
        assert_eq!(verdict(&["1", "2", "3"], Some(2)), Verdict::Valid);
        assert_eq!(verdict(&["1"], Some(1)), Verdict::Invalid, "3 lost");
        assert_eq!(verdict(&["3", "1"], Some(1)), Verdict::Invalid, "order");
        assert_eq!(verdict(&["1", "3", "9"], Some(1)), Verdict::Invalid);
        assert_eq!(verdict(&["1", "1", "3"], Some(1)), Verdict::Invalid);
        assert_eq!(verdict(&["1", "3"], Some(0)), Verdict::Invalid, "incr lost");
        assert_eq!(verdict(&["1", "3"], Some(3)), Verdict::Invalid);
        assert_eq!(verdict(&["1", "3"], None), Verdict::Invalid);
    }

    #[test]
    fn the_partial_checker_applies_only_to_one_history_within_the_backlog() {
        assert_eq!(check_partial(0, 100, 1000, 0).verdict, Verdict::Valid);
        assert_eq!(check_partial(1, 100, 1000, 0).verdict, Verdict::Invalid);
        assert_eq!(check_partial(1, 2000, 1000, 0).verdict, Verdict::Valid);
        assert_eq!(check_partial(2, 100, 1000, 1).verdict, Verdict::Valid);
    }
}
