//! Operations: each invoke paired with its completion, the unit every
//! checker reasons about.
//!
//! Real-time order is the order of events in the history (an event's
//! position), not their virtual timestamps: several events can share a
//! millisecond, but the history records them in the order they happened.

use crate::history::{Call, EventType, History, Outcome};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Completed and took effect, with what the client was told.
    Ok(Outcome),
    /// Certainly did not take effect.
    Fail,
    /// Unknown: an `info` completion, or no completion at all by the end
    /// of the history. It may take effect at any point after its invoke,
    /// or never.
    Indeterminate,
}

/// One operation of a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// Position among the history's operations, in invoke order.
    pub id: usize,
    pub process: u64,
    pub call: Call,
    pub status: Status,
    /// Position of the invoke event in the history.
    pub invoke: usize,
    /// Position of the completion event (`ok`, `fail` or `info`), if any.
    pub complete: Option<usize>,
    pub invoke_ms: u64,
    pub complete_ms: Option<u64>,
}

impl Op {
    pub fn is_ok(&self) -> bool {
        matches!(self.status, Status::Ok(_))
    }

    pub fn is_fail(&self) -> bool {
        self.status == Status::Fail
    }

    /// The outcome, for `ok` operations.
    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.status {
            Status::Ok(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// Position by which the operation had certainly taken effect: its
    /// completion if it is `ok`. Failed and indeterminate operations have
    /// none (an `info` event says nothing about when the effect happens).
    pub fn acked_at(&self) -> Option<usize> {
        if self.is_ok() {
            self.complete
        } else {
            None
        }
    }

    /// True if this operation was acknowledged before `other` was invoked,
    /// so it took effect before `other` did.
    pub fn precedes(&self, other: &Op) -> bool {
        self.acked_at().is_some_and(|at| at < other.invoke)
    }
}

impl fmt::Display for Op {
    /// `#3 p1 write k 5 -> ok [events 6..9, 12..15 ms]`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} p{} {} -> ",
            self.id,
            self.process,
            describe_call(&self.call)
        )?;
        match &self.status {
            Status::Ok(outcome) => write!(f, "{}", describe_outcome(outcome))?,
            Status::Fail => f.write_str("fail")?,
            Status::Indeterminate => f.write_str("info (unknown)")?,
        }
        match (self.complete, self.complete_ms) {
            (Some(end), Some(end_ms)) => write!(
                f,
                " [events {}..{}, {}..{} ms]",
                self.invoke, end, self.invoke_ms, end_ms
            ),
            _ => write!(
                f,
                " [event {}.., {} ms.., never completed]",
                self.invoke, self.invoke_ms
            ),
        }
    }
}

/// `read k`, `write k 5`, `incr k`, `append k 5`, `read-list k`.
pub fn describe_call(call: &Call) -> String {
    match call {
        Call::Read { key } => format!("read {key}"),
        Call::Write { key, value } => format!("write {key} {value}"),
        Call::Incr { key } => format!("incr {key}"),
        Call::Append { key, value } => format!("append {key} {value}"),
        Call::ReadList { key } => format!("read-list {key}"),
        Call::Enqueue { key, value } => format!("enqueue {key} {value}"),
        Call::Dequeue { key } => format!("dequeue {key}"),
        Call::ReadQueue { key } => format!("drain {key}"),
    }
}

/// `5`, `nil`, `ok`, `[1, 2]`.
pub fn describe_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Read(Some(v)) => v.to_string(),
        Outcome::Read(None) => "nil".into(),
        Outcome::Done => "ok".into(),
        Outcome::Counter(n) => n.to_string(),
        Outcome::List(items) => format!("{items:?}"),
        Outcome::Dequeued(Some(v)) => v.to_string(),
        Outcome::Dequeued(None) => "nil".into(),
    }
}

/// Pairs every invoke with its process's next event. An invoke with no
/// completion by the end is indeterminate. Errors describe a malformed
/// history: a process with two operations in flight, a completion with no
/// invoke, a completion for another call, or an `ok` whose outcome does
/// not fit its call.
pub fn pair(history: &History) -> Result<Vec<Op>, String> {
    let mut ops: Vec<Op> = Vec::new();
    let mut in_flight: HashMap<u64, usize> = HashMap::new();
    for (pos, event) in history.events.iter().enumerate() {
        if event.kind == EventType::Invoke {
            if let Some(&open) = in_flight.get(&event.process) {
                return Err(format!(
                    "event {pos}: process {} invokes while its operation from event {} is in flight",
                    event.process, ops[open].invoke
                ));
            }
            in_flight.insert(event.process, ops.len());
            ops.push(Op {
                id: ops.len(),
                process: event.process,
                call: event.call.clone(),
                status: Status::Indeterminate,
                invoke: pos,
                complete: None,
                invoke_ms: event.time_ms,
                complete_ms: None,
            });
            continue;
        }
        let open = in_flight.remove(&event.process).ok_or_else(|| {
            format!(
                "event {pos}: process {} completes an operation it never invoked",
                event.process
            )
        })?;
        let op = &mut ops[open];
        if op.call != event.call {
            return Err(format!(
                "event {pos}: completes `{}` but process {} invoked `{}`",
                describe_call(&event.call),
                event.process,
                describe_call(&op.call)
            ));
        }
        op.status = completion_status(pos, event.kind, &event.call, event.outcome.as_ref())?;
        op.complete = Some(pos);
        op.complete_ms = Some(event.time_ms);
    }
    Ok(ops)
}

fn completion_status(
    pos: usize,
    kind: EventType,
    call: &Call,
    outcome: Option<&Outcome>,
) -> Result<Status, String> {
    match kind {
        EventType::Fail => Ok(Status::Fail),
        EventType::Info => Ok(Status::Indeterminate),
        EventType::Invoke => unreachable!("invokes are handled by the caller"),
        EventType::Ok => {
            let fits = matches!(
                (call, outcome),
                (Call::Read { .. }, Some(Outcome::Read(_)))
                    | (Call::Write { .. }, Some(Outcome::Done) | None)
                    | (Call::Append { .. }, Some(Outcome::Done) | None)
                    | (Call::Incr { .. }, Some(Outcome::Counter(_)))
                    | (Call::ReadList { .. }, Some(Outcome::List(_)))
                    | (Call::Enqueue { .. }, Some(Outcome::Done) | None)
                    | (Call::Dequeue { .. }, Some(Outcome::Dequeued(_)))
                    | (Call::ReadQueue { .. }, Some(Outcome::List(_)))
            );
            if !fits {
                return Err(format!(
                    "event {pos}: `{}` completed ok with outcome {outcome:?}",
                    describe_call(call)
                ));
            }
            Ok(Status::Ok(outcome.cloned().unwrap_or(Outcome::Done)))
        }
    }
}

/// The operations of each key, in invoke order.
pub fn by_key(ops: Vec<Op>) -> BTreeMap<String, Vec<Op>> {
    let mut keys: BTreeMap<String, Vec<Op>> = BTreeMap::new();
    for op in ops {
        keys.entry(op.call.key().to_owned()).or_default().push(op);
    }
    keys
}

/// [`pair`] then [`by_key`]; on a malformed history, the invalid result
/// the checker named `checker` should return.
pub(crate) fn ops_by_key(
    checker: &'static str,
    history: &History,
) -> Result<BTreeMap<String, Vec<Op>>, super::CheckResult> {
    pair(history)
        .map(by_key)
        .map_err(|e| super::CheckResult::invalid(checker, "malformed history", vec![e]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(key: &str) -> Call {
        Call::Read { key: key.into() }
    }

    #[test]
    fn pairs_invokes_with_completions_and_leaves_open_ones_indeterminate() {
        let mut h = History::new();
        h.invoke(1, read("a"), 0);
        h.invoke(2, read("b"), 1);
        h.complete(1, EventType::Ok, Some(Outcome::Read(Some(3))), 2);
        h.complete(2, EventType::Info, None, 3);
        h.invoke(2, read("b"), 4);
        let ops = pair(&h).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[0].status, Status::Ok(Outcome::Read(Some(3))));
        assert_eq!((ops[0].invoke, ops[0].complete), (0, Some(2)));
        assert_eq!(ops[1].status, Status::Indeterminate);
        assert_eq!(ops[1].complete, Some(3));
        assert_eq!(ops[2].status, Status::Indeterminate);
        assert_eq!(ops[2].complete, None);
        assert!(ops[0].precedes(&ops[2]));
        assert!(
            !ops[1].precedes(&ops[2]),
            "an info op is never acknowledged"
        );
    }

    #[test]
    fn rejects_a_second_invoke_in_flight() {
        let mut h = History::new();
        h.invoke(1, read("a"), 0);
        h.invoke(1, read("a"), 1);
        let err = pair(&h).unwrap_err();
        assert!(err.contains("in flight"), "{err}");
    }

    #[test]
    fn rejects_an_outcome_that_does_not_fit_the_call() {
        let mut h = History::new();
        h.invoke(1, read("a"), 0);
        h.complete(1, EventType::Ok, Some(Outcome::List(vec![])), 1);
        let err = pair(&h).unwrap_err();
        assert!(err.contains("completed ok with outcome"), "{err}");
    }

    #[test]
    fn displays_an_op_with_its_interval() {
        let mut h = History::new();
        h.invoke(
            4,
            Call::Write {
                key: "k".into(),
                value: 5,
            },
            12,
        );
        h.complete(4, EventType::Ok, Some(Outcome::Done), 15);
        let ops = pair(&h).unwrap();
        assert_eq!(
            ops[0].to_string(),
            "#0 p4 write k 5 -> ok [events 0..1, 12..15 ms]"
        );
    }
}
