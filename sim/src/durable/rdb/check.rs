//! The verdicts of the `rdb-snapshots` scenario.
//!
//! **The state at an instant.** Epoch `e` starts from the state audit `e`
//! read (its base) and ends at the next death `D_e`. Writers append unique
//! values, one at a time, so the state of epoch `e` at instant `t` is the
//! base plus, per writer, a set of its epoch-`e` values `S` that holds
//! every value acknowledged before `t` and none invoked after `t`: `t`
//! lies in `[max invoke of S, min ack of the acknowledged values not in
//! S]`.
//!
//! **Snapshot instants.** A snapshot holds the state at its start. Starts
//! can only lie in these windows of an epoch: a SAVE or BGSAVE's
//! `[invoke, reply]` (`[invoke, D_e]` with no reply), between two INFO
//! polls whose `rdb_saves` or `rdb_bgsave_in_progress` differ (the
//! cron's save points), before the first poll, and after the last.
//!
//! **Durable snapshots.** A SAVE's +OK, or an INFO showing `rdb_saves`
//! grew, says a snapshot is on disk: its start is at least the invoke of
//! the last poll before it that showed nothing running (or the SAVE's
//! invoke). Call the latest such bound before a death `lo`, in epoch `c`.
//!
//! **The check.** What audit `k` read must be the state of some epoch
//! `j < k` at an instant `t` in one of `j`'s snapshot windows, or `j`'s
//! base, with `j > c`, or `j == c` and `t >= lo`: exactly a snapshot that
//! existed, never half a file, never newer than a snapshot that started,
//! never older than one known durable.

use super::clients::{
    RdbAudit, Records, SaveCall, SaveKind, SaveReply, WriteOp, WriteOutcome, FILLER_KEYS,
};
use crate::runner::Finding;
use std::collections::{BTreeMap, BTreeSet};

/// A closed interval of virtual ms.
pub type Window = (u64, u64);

/// Everything a run recorded, taken out of the shared cells.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub writes: Vec<WriteOp>,
    pub saves: Vec<SaveCall>,
    pub polls: Vec<super::clients::Poll>,
    pub audits: Vec<RdbAudit>,
}

impl Recorded {
    pub fn take(records: &Records) -> Recorded {
        Recorded {
            writes: records.writes.borrow().clone(),
            saves: records.saves.borrow().clone(),
            polls: records.polls.borrow().clone(),
            audits: records.audits.borrow().clone(),
        }
    }

    /// When epoch `e` ended (its death), or `end_ms` for the last one.
    fn end_of(&self, e: usize, end_ms: u64) -> u64 {
        self.audits
            .get(e + 1)
            .and_then(|a| a.died_ms)
            .unwrap_or(end_ms)
    }

    fn start_of(&self, e: usize) -> u64 {
        self.audits.get(e).map_or(0, |a| a.audited_ms)
    }

    fn writes_of(&self, e: usize) -> impl Iterator<Item = &WriteOp> {
        self.writes.iter().filter(move |w| w.epoch == e as u64)
    }

    fn polls_of(&self, e: usize) -> Vec<&super::clients::Poll> {
        self.polls.iter().filter(|p| p.epoch == e as u64).collect()
    }

    fn saves_of(&self, e: usize) -> impl Iterator<Item = &SaveCall> {
        self.saves.iter().filter(move |s| s.epoch == e as u64)
    }
}

/// Where snapshots of epoch `e` may have started (see the module docs).
pub fn snapshot_windows(rec: &Recorded, e: usize, end_ms: u64) -> Vec<Window> {
    let (start, end) = (rec.start_of(e), rec.end_of(e, end_ms));
    let mut windows = Vec::new();
    for s in rec.saves_of(e) {
        match s.reply {
            SaveReply::Saved | SaveReply::Started => windows.push((s.invoke_ms, s.reply_ms)),
            SaveReply::Unknown => windows.push((s.invoke_ms, end)),
            SaveReply::Error(_) => {}
        }
    }
    let polls = rec.polls_of(e);
    match (polls.first(), polls.last()) {
        (Some(first), Some(last)) => {
            windows.push((start, first.reply_ms));
            windows.push((last.invoke_ms, end));
        }
        _ => windows.push((start, end)),
    }
    for pair in polls.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if (a.saves, a.in_progress) != (b.saves, b.in_progress) {
            windows.push((a.invoke_ms, b.reply_ms));
        }
    }
    windows
}

/// The lower bound on the start of the newest snapshot of epoch `e`
/// known durable before its death, if any.
pub fn durable_bound(rec: &Recorded, e: usize) -> Option<u64> {
    let saved = rec
        .saves_of(e)
        .filter(|s| s.kind == SaveKind::Save && s.reply == SaveReply::Saved)
        .map(|s| s.invoke_ms);
    let polls = rec.polls_of(e);
    let start = rec.start_of(e);
    let mut observed = Vec::new();
    for (i, p) in polls.iter().enumerate() {
        let grew = i > 0 && p.saves > polls[i - 1].saves;
        if !grew {
            continue;
        }
        let idle_before = polls[..i]
            .iter()
            .rev()
            .find(|q| !q.in_progress && q.saves < p.saves);
        observed.push(idle_before.map_or(start, |q| q.invoke_ms));
    }
    saved.chain(observed).max()
}

/// The instants `t` at which epoch `e`'s state equals `lists` (beyond the
/// base `base`), as an interval, or why there is none.
pub fn feasible_instants(
    rec: &Recorded,
    e: usize,
    base: &BTreeMap<usize, Vec<i64>>,
    lists: &BTreeMap<usize, Vec<i64>>,
) -> Result<Window, String> {
    let ops: BTreeMap<i64, &WriteOp> = rec.writes_of(e).map(|w| (w.value, w)).collect();
    let (mut lo, mut hi) = (0u64, u64::MAX);
    let writers: BTreeSet<usize> = base.keys().chain(lists.keys()).copied().collect();
    for w in writers {
        let before = base.get(&w).map_or(&[][..], Vec::as_slice);
        let now = lists.get(&w).map_or(&[][..], Vec::as_slice);
        let Some(suffix) = now.strip_prefix(before) else {
            return Err(format!("w{w} does not extend the epoch's base"));
        };
        let mut seen = BTreeSet::new();
        for v in suffix {
            let Some(op) = ops.get(v).filter(|op| op.writer == w) else {
                return Err(format!("w{w} holds {v}, no write of this epoch"));
            };
            if !seen.insert(*v) {
                return Err(format!("w{w} holds {v} twice"));
            }
            if matches!(op.outcome, WriteOutcome::Refused { .. }) {
                return Err(format!("w{w} holds {v}, whose write was refused"));
            }
            lo = lo.max(op.invoke_ms);
        }
        for op in ops.values().filter(|op| op.writer == w) {
            if let WriteOutcome::Acked { at_ms } = op.outcome {
                if !seen.contains(&op.value) {
                    hi = hi.min(at_ms);
                }
            }
        }
    }
    if lo > hi {
        return Err(format!(
            "no instant fits: values invoked up to {lo} ms, acknowledged ones missing from {hi} ms"
        ));
    }
    Ok((lo, hi))
}

fn overlaps(a: Window, b: Window) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

/// Whether audit `k` read a state some snapshot held (see the module docs).
pub fn check_audit(rec: &Recorded, k: usize, end_ms: u64) -> Result<String, String> {
    let audit = &rec.audits[k];
    let filler = audit.dbsize - audit.lists.values().filter(|l| !l.is_empty()).count() as i64;
    if filler != FILLER_KEYS as i64 {
        return Err(format!(
            "{filler} filler keys instead of {FILLER_KEYS}: part of a file"
        ));
    }
    let newest_durable = (0..k)
        .rev()
        .find_map(|e| durable_bound(rec, e).map(|lo| (e, lo)));
    let first = newest_durable.map_or(0, |(e, _)| e);
    let mut reasons = Vec::new();
    for j in (first..k).rev() {
        let bound = match newest_durable {
            Some((c, lo)) if c == j => lo,
            _ => 0,
        };
        let base = &rec.audits[j].lists;
        if bound <= rec.start_of(j) && lists_equal(base, &audit.lists) {
            return Ok(format!("epoch {j}'s base"));
        }
        match feasible_instants(rec, j, base, &audit.lists) {
            Err(why) => reasons.push(format!("epoch {j}: {why}")),
            Ok(fit) => {
                let fit = (fit.0.max(bound), fit.1);
                let windows = snapshot_windows(rec, j, end_ms);
                if fit.0 <= fit.1 && windows.iter().any(|w| overlaps(*w, fit)) {
                    return Ok(format!("epoch {j}, instant in {fit:?}"));
                }
                reasons.push(format!(
                    "epoch {j}: the state of {fit:?} (durable bound {bound}) is in no snapshot window"
                ));
            }
        }
    }
    Err(reasons.join("; "))
}

fn lists_equal(a: &BTreeMap<usize, Vec<i64>>, b: &BTreeMap<usize, Vec<i64>>) -> bool {
    let keys: BTreeSet<&usize> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .all(|k| a.get(k).map_or(&[][..], Vec::as_slice) == b.get(k).map_or(&[][..], Vec::as_slice))
}

/// Every recovered state was a snapshot's (audits after deaths).
pub fn snapshots_finding(rec: &Recorded, end_ms: u64) -> Finding {
    let mut problems = Vec::new();
    let mut checked = 0;
    for k in 1..rec.audits.len() {
        if rec.audits[k].died_ms.is_none() {
            continue;
        }
        checked += 1;
        if let Err(why) = check_audit(rec, k, end_ms) {
            let a = &rec.audits[k];
            problems.push(format!(
                "audit {k} ({:?} at {:?} ms): {why}",
                a.stop, a.died_ms
            ));
        }
    }
    let mut detail = format!("{checked} recovered state(s) checked");
    for p in problems.iter().take(3) {
        detail.push_str("\n       ");
        detail.push_str(p);
    }
    Finding::new("recovered-snapshot", problems.is_empty(), detail)
}

/// The final read of the live server holds every value acknowledged in
/// the last epoch and none refused.
pub fn final_finding(rec: &Recorded) -> Finding {
    let Some(last) = rec.audits.last().filter(|a| a.died_ms.is_none()) else {
        return Finding::new("final state", false, "the final state was never read");
    };
    let e = rec.audits.len() - 2;
    let base = &rec.audits[e].lists;
    let result = feasible_instants(rec, e, base, &last.lists);
    let ok = result
        .as_ref()
        .is_ok_and(|(lo, hi)| *hi == u64::MAX || *hi >= *lo);
    let missing_acked = rec.writes_of(e).any(|w| {
        matches!(w.outcome, WriteOutcome::Acked { .. })
            && !last
                .lists
                .get(&w.writer)
                .is_some_and(|l| l.contains(&w.value))
    });
    Finding::new(
        "final state",
        ok && !missing_acked,
        format!("epoch {e}: {result:?}, an acknowledged value missing: {missing_acked}"),
    )
}

/// The cron retries a failed background save no sooner than this after
/// the failed one started (Keel's `limits::BGSAVE_RETRY_DELAY_SECS`,
/// Redis's 5 s).
pub const BGSAVE_RETRY_DELAY_MS: u64 = 5_000;

/// Spans in which the last background save had certainly failed and no
/// save could have succeeded yet: from the reply of a poll showing
/// `rdb_last_bgsave_status:err` and nothing running, to the first of the
/// saver's next SAVE/BGSAVE, the earliest cron retry (5 s after the
/// failed save started, which was after the last poll showing all well)
/// and the epoch's end.
pub fn failed_save_spans(rec: &Recorded, e: usize, end_ms: u64) -> Vec<Window> {
    let polls = rec.polls_of(e);
    let end = rec.end_of(e, end_ms);
    let since = rec.audits.get(e).and_then(|a| a.died_ms).unwrap_or(0);
    let mut spans = Vec::new();
    for (i, a) in polls.iter().enumerate() {
        if a.status_ok || a.in_progress {
            continue;
        }
        let failed_from = polls[..i]
            .iter()
            .rev()
            .find(|q| q.status_ok && !q.in_progress)
            .map_or(since, |q| q.invoke_ms);
        let next_save = rec
            .saves_of(e)
            .map(|s| s.invoke_ms)
            .filter(|&t| t > a.reply_ms)
            .min()
            .unwrap_or(u64::MAX);
        let until = next_save
            .min(failed_from.saturating_add(BGSAVE_RETRY_DELAY_MS))
            .min(end);
        if until > a.reply_ms {
            spans.push((a.reply_ms, until));
        }
    }
    spans
}

/// No write was acknowledged while the last background save had
/// certainly failed ([`failed_save_spans`]): `stop-writes-on-bgsave-error`
/// refuses them with MISCONF.
pub fn misconf_finding(rec: &Recorded, end_ms: u64) -> Finding {
    let mut violations = Vec::new();
    let mut spans = 0;
    let epochs: BTreeSet<u64> = rec.polls.iter().map(|p| p.epoch).collect();
    for e in epochs {
        for (from, until) in failed_save_spans(rec, e as usize, end_ms) {
            spans += 1;
            for w in rec.writes_of(e as usize) {
                if let WriteOutcome::Acked { at_ms } = w.outcome {
                    if w.invoke_ms > from && at_ms < until {
                        violations.push(format!("{} acknowledged at {at_ms} ms", w.value));
                    }
                }
            }
        }
    }
    let refused = rec
        .writes
        .iter()
        .filter(|w| w.outcome == WriteOutcome::Refused { misconf: true })
        .count();
    Finding::new(
        "misconf",
        violations.is_empty(),
        format!(
            "{spans} span(s) after a failed background save, {refused} write(s) refused with MISCONF; \
             acknowledged meanwhile: {:?}",
            violations.iter().take(3).collect::<Vec<_>>()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::clients::Poll;
    use super::*;

    fn write(writer: usize, value: i64, invoke_ms: u64, acked: Option<u64>) -> WriteOp {
        WriteOp {
            writer,
            value,
            epoch: 0,
            invoke_ms,
            outcome: acked.map_or(WriteOutcome::Unknown, |at_ms| WriteOutcome::Acked { at_ms }),
        }
    }

    fn audit(died_ms: Option<u64>, audited_ms: u64, w0: &[i64]) -> RdbAudit {
        RdbAudit {
            died_ms,
            stop: None,
            audited_ms,
            lists: [(0, w0.to_vec())].into_iter().collect(),
            dbsize: FILLER_KEYS as i64 + i64::from(!w0.is_empty()),
            flip_in_place: false,
        }
    }

    fn poll(invoke_ms: u64, saves: u64, in_progress: bool) -> Poll {
        Poll {
            epoch: 0,
            invoke_ms,
            reply_ms: invoke_ms + 2,
            saves,
            in_progress,
            status_ok: true,
        }
    }

    /// Writes at 10, 20, 30, 40 (acknowledged 5 ms later); polls every
    /// 10 ms from 12 show one save completing between 32 and 42.
    fn recorded(recovered: &[i64]) -> Recorded {
        let writes = (1..=4)
            .map(|i| write(0, i, i as u64 * 10, Some(i as u64 * 10 + 5)))
            .collect();
        Recorded {
            writes,
            saves: Vec::new(),
            polls: vec![
                poll(12, 0, false),
                poll(22, 0, false),
                poll(32, 0, false),
                poll(42, 1, false),
            ],
            audits: vec![audit(None, 0, &[]), audit(Some(50), 60, recovered)],
        }
    }

    #[test]
    fn a_state_inside_a_snapshot_window_passes() {
        assert!(check_audit(&recorded(&[1, 2]), 1, 100).is_ok());
        assert!(check_audit(&recorded(&[1, 2, 3]), 1, 100).is_ok());
        assert!(check_audit(&recorded(&[1, 2, 3, 4]), 1, 100).is_ok());
    }

    #[test]
    fn an_older_state_than_a_durable_snapshot_fails() {
        let why = check_audit(&recorded(&[1]), 1, 100).unwrap_err();
        assert!(why.contains("no snapshot window"), "{why}");
        assert!(
            check_audit(&recorded(&[]), 1, 100).is_err(),
            "the base is older too"
        );
    }

    #[test]
    fn a_newer_state_than_any_snapshot_start_fails() {
        let mut rec = recorded(&[1, 2, 3, 4, 5]);
        rec.writes.push(write(0, 5, 53, Some(56)));
        rec.writes.push(write(0, 6, 57, Some(58)));
        rec.polls.push(poll(52, 1, false));
        rec.polls.push(poll(62, 1, false));
        rec.audits[1].died_ms = Some(70);
        let why = check_audit(&rec, 1, 100).unwrap_err();
        assert!(why.contains("no snapshot window"), "{why}");
        rec.audits[1].lists.insert(0, vec![1, 2, 3, 4, 5, 6]);
        assert!(
            check_audit(&rec, 1, 100).is_ok(),
            "a save may start after 62"
        );
    }

    #[test]
    fn half_a_file_or_a_mixed_state_fails() {
        let mut rec = recorded(&[1, 2]);
        rec.audits[1].dbsize = 1000;
        assert!(check_audit(&rec, 1, 100).unwrap_err().contains("filler"));
        let why = check_audit(&recorded(&[2]), 1, 100).unwrap_err();
        assert!(
            why.contains("no instant fits"),
            "1 acknowledged before 2 was sent: {why}"
        );
        let why = check_audit(&recorded(&[1, 1]), 1, 100).unwrap_err();
        assert!(why.contains("twice"), "{why}");
    }

    #[test]
    fn writes_acknowledged_while_bgsave_is_failed_are_caught() {
        let mut rec = recorded(&[1, 2]);
        rec.polls[1].status_ok = false; // at 22: failed, nothing running
        assert_eq!(failed_save_spans(&rec, 0, 100), vec![(24, 50)]);
        assert!(!misconf_finding(&rec, 100).ok, "3 and 4 were acknowledged");
        rec.saves.push(SaveCall {
            kind: SaveKind::Bgsave,
            epoch: 0,
            invoke_ms: 26,
            reply_ms: 27,
            reply: SaveReply::Started,
        });
        assert_eq!(failed_save_spans(&rec, 0, 100), vec![(24, 26)]);
        assert!(
            misconf_finding(&rec, 100).ok,
            "a save may have worked at 26"
        );
    }
}
