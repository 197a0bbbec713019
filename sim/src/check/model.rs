//! The sequential specification of one key, as the linearizability
//! checker replays it: GET/SET on a string, INCR, RPUSH and LRANGE 0 -1,
//! with Redis's rules where calls meet the wrong type (an `ok` reply is
//! impossible there; an indeterminate call there has no effect).

use crate::history::{Call, Outcome};
use std::collections::BTreeSet;
use std::ops::RangeInclusive;

/// What a key holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum State {
    Missing,
    Int(i64),
    List(Vec<i64>),
    /// Any state the key could hold at the start of a counterexample
    /// window (see [`Seeds`]), plus this many INCRs since; the first
    /// operation that observes it fixes it.
    Unknown(i64),
}

/// What [`State::Unknown`] may turn out to be.
#[derive(Debug, Clone, Default)]
pub struct Seeds {
    /// The key may not exist.
    pub missing: bool,
    /// Integer values it may hold (values earlier writes wrote).
    pub values: BTreeSet<i64>,
    /// A range of integers it may hold (counts earlier INCRs reached).
    pub range: Option<RangeInclusive<i64>>,
    /// It may hold anything (keys that mix SET with INCR, and lists,
    /// whose reachable values are not worth enumerating).
    pub anything: bool,
}

impl Seeds {
    fn may_hold(&self, value: i64) -> bool {
        self.anything
            || self.values.contains(&value)
            || self
                .range
                .as_ref()
                .is_some_and(|range| range.contains(&value))
    }

    /// Whether a key that started from these seeds and then saw `incrs`
    /// INCRs may read `seen`.
    fn may_read(&self, incrs: i64, seen: Option<i64>) -> bool {
        match seen {
            None => incrs == 0 && self.missing,
            Some(v) => {
                (self.missing && incrs > 0 && v == incrs)
                    || v.checked_sub(incrs).is_some_and(|base| self.may_hold(base))
            }
        }
    }
}

/// The state after `call` takes effect in `state`, or `None` if it cannot
/// have returned `outcome` there. `outcome` is `None` for an
/// indeterminate call: it always can take effect (an error reply, such as
/// INCR on a list, leaves the state as it was).
pub fn step(state: &State, call: &Call, outcome: Option<&Outcome>, seeds: &Seeds) -> Option<State> {
    match outcome {
        None => Some(apply(state, call).unwrap_or_else(|| state.clone())),
        Some(outcome) => observe(state, call, outcome, seeds),
    }
}

/// The effect of a write-like call, `None` if Redis would reply with an
/// error (wrong type, overflow). Reads have no effect.
fn apply(state: &State, call: &Call) -> Option<State> {
    match (call, state) {
        (Call::Read { .. } | Call::ReadList { .. }, _) => Some(state.clone()),
        (Call::Write { value, .. }, _) => Some(State::Int(*value)),
        (Call::Incr { .. }, State::Missing) => Some(State::Int(1)),
        (Call::Incr { .. }, State::Int(n)) => n.checked_add(1).map(State::Int),
        (Call::Append { value, .. }, State::Missing) => Some(State::List(vec![*value])),
        (Call::Append { value, .. }, State::List(items)) => {
            let mut items = items.clone();
            items.push(*value);
            Some(State::List(items))
        }
        (Call::Incr { .. }, State::Unknown(incrs)) => Some(State::Unknown(incrs.saturating_add(1))),
        // Lists start from anything (`Seeds::anything`): still anything.
        (Call::Append { .. }, State::Unknown(_)) => Some(state.clone()),
        (Call::Incr { .. }, State::List(_)) | (Call::Append { .. }, State::Int(_)) => None,
        // Queue keys are not checked against this model (see `check::queue`).
        (Call::Enqueue { .. } | Call::Dequeue { .. } | Call::ReadQueue { .. }, _) => None,
    }
}

fn observe(state: &State, call: &Call, outcome: &Outcome, seeds: &Seeds) -> Option<State> {
    match (call, outcome) {
        (Call::Read { .. }, Outcome::Read(seen)) => read(state, *seen, seeds),
        (Call::Incr { .. }, Outcome::Counter(n)) => incr(state, *n, seeds),
        (Call::ReadList { .. }, Outcome::List(items)) => read_list(state, items),
        (Call::Write { .. } | Call::Append { .. }, _) => apply(state, call),
        _ => None,
    }
}

fn read(state: &State, seen: Option<i64>, seeds: &Seeds) -> Option<State> {
    match (state, seen) {
        (State::Missing, None) => Some(State::Missing),
        (State::Int(n), Some(v)) if *n == v => Some(state.clone()),
        (State::Unknown(incrs), None) if seeds.may_read(*incrs, None) => Some(State::Missing),
        (State::Unknown(incrs), Some(v)) if seeds.may_read(*incrs, Some(v)) => Some(State::Int(v)),
        _ => None,
    }
}

fn incr(state: &State, result: i64, seeds: &Seeds) -> Option<State> {
    let fits = match state {
        State::Missing => result == 1,
        State::Int(n) => n.checked_add(1) == Some(result),
        State::Unknown(incrs) => seeds.may_read(incrs.saturating_add(1), Some(result)),
        State::List(_) => false,
    };
    fits.then_some(State::Int(result))
}

fn read_list(state: &State, seen: &[i64]) -> Option<State> {
    match state {
        // LRANGE on a missing key replies with an empty list.
        State::Missing if seen.is_empty() => Some(State::Missing),
        State::List(items) if items == seen => Some(state.clone()),
        // Windows over list keys start from anything (`Seeds::anything`).
        State::Unknown(_) if seen.is_empty() => Some(State::Missing),
        State::Unknown(_) => Some(State::List(seen.to_vec())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k() -> String {
        "k".into()
    }

    #[test]
    fn register_reads_see_the_last_write() {
        let seeds = Seeds::default();
        let s = step(
            &State::Missing,
            &Call::Write { key: k(), value: 3 },
            Some(&Outcome::Done),
            &seeds,
        )
        .unwrap();
        assert_eq!(s, State::Int(3));
        let read = Call::Read { key: k() };
        assert_eq!(
            step(&s, &read, Some(&Outcome::Read(Some(3))), &seeds),
            Some(State::Int(3))
        );
        assert_eq!(step(&s, &read, Some(&Outcome::Read(Some(4))), &seeds), None);
        assert_eq!(step(&s, &read, Some(&Outcome::Read(None)), &seeds), None);
        assert_eq!(
            step(&State::Missing, &read, Some(&Outcome::Read(None)), &seeds),
            Some(State::Missing)
        );
    }

    #[test]
    fn incr_counts_from_zero_and_refuses_lists() {
        let seeds = Seeds::default();
        let incr = Call::Incr { key: k() };
        assert_eq!(
            step(&State::Missing, &incr, Some(&Outcome::Counter(1)), &seeds),
            Some(State::Int(1))
        );
        assert_eq!(
            step(&State::Int(4), &incr, Some(&Outcome::Counter(6)), &seeds),
            None
        );
        assert_eq!(
            step(
                &State::List(vec![1]),
                &incr,
                Some(&Outcome::Counter(1)),
                &seeds
            ),
            None
        );
        // Indeterminate: an INCR that would fail leaves the state alone.
        assert_eq!(
            step(&State::List(vec![1]), &incr, None, &seeds),
            Some(State::List(vec![1]))
        );
        assert_eq!(
            step(&State::Int(i64::MAX), &incr, None, &seeds),
            Some(State::Int(i64::MAX))
        );
    }

    #[test]
    fn lists_append_and_read_back() {
        let seeds = Seeds::default();
        let append = |value| Call::Append { key: k(), value };
        let s = step(&State::Missing, &append(1), Some(&Outcome::Done), &seeds).unwrap();
        let s = step(&s, &append(2), None, &seeds).unwrap();
        let read = Call::ReadList { key: k() };
        assert_eq!(
            step(&s, &read, Some(&Outcome::List(vec![1, 2])), &seeds),
            Some(s.clone())
        );
        assert_eq!(
            step(&s, &read, Some(&Outcome::List(vec![2, 1])), &seeds),
            None
        );
        assert_eq!(
            step(&State::Missing, &read, Some(&Outcome::List(vec![])), &seeds),
            Some(State::Missing)
        );
        assert_eq!(
            step(&State::Int(1), &append(3), Some(&Outcome::Done), &seeds),
            None
        );
    }

    #[test]
    fn unknown_state_takes_only_what_the_seeds_allow() {
        let seeds = Seeds {
            missing: false,
            values: [7].into(),
            range: Some(10..=11),
            anything: false,
        };
        let read = Call::Read { key: k() };
        assert_eq!(
            step(
                &State::Unknown(0),
                &read,
                Some(&Outcome::Read(Some(7))),
                &seeds
            ),
            Some(State::Int(7))
        );
        assert_eq!(
            step(
                &State::Unknown(0),
                &read,
                Some(&Outcome::Read(Some(8))),
                &seeds
            ),
            None
        );
        assert_eq!(
            step(
                &State::Unknown(0),
                &read,
                Some(&Outcome::Read(None)),
                &seeds
            ),
            None
        );
        let incr = Call::Incr { key: k() };
        assert_eq!(
            step(
                &State::Unknown(0),
                &incr,
                Some(&Outcome::Counter(8)),
                &seeds
            ),
            Some(State::Int(8))
        );
        assert_eq!(
            step(
                &State::Unknown(0),
                &incr,
                Some(&Outcome::Counter(1)),
                &seeds
            ),
            None
        );
        assert_eq!(
            step(
                &State::Unknown(0),
                &read,
                Some(&Outcome::Read(Some(11))),
                &seeds
            ),
            Some(State::Int(11))
        );
        assert_eq!(
            step(
                &State::Unknown(0),
                &incr,
                Some(&Outcome::Counter(12)),
                &seeds
            ),
            Some(State::Int(12))
        );
        assert_eq!(
            step(
                &State::Unknown(0),
                &incr,
                Some(&Outcome::Counter(13)),
                &seeds
            ),
            None
        );
        // Two INCRs of unknown outcome since the start: 12 or 13 now.
        let after_two = step(&State::Unknown(0), &incr, None, &seeds)
            .and_then(|s| step(&s, &incr, None, &seeds));
        assert_eq!(after_two, Some(State::Unknown(2)));
        assert_eq!(
            step(
                &State::Unknown(2),
                &read,
                Some(&Outcome::Read(Some(13))),
                &seeds
            ),
            Some(State::Int(13))
        );
        assert_eq!(
            step(
                &State::Unknown(2),
                &read,
                Some(&Outcome::Read(Some(11))),
                &seeds
            ),
            None
        );
    }
}
