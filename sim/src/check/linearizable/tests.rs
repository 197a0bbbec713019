use super::*;
use crate::check::op::{by_key, pair, Status};
use crate::check::testing::{append, incr, list, read, read_list, write, Hist, Rng};
use crate::check::Verdict;

fn verdict(h: &Hist) -> CheckResult {
    check_linearizable(&h.build(), Budget::default())
}

/// The counterexample for the history's only key.
fn counterexample_of(h: &Hist) -> Counterexample {
    counterexample_within(h, Budget::default())
}

fn counterexample_within(h: &Hist, budget: Budget) -> Counterexample {
    let keys = by_key(pair(&h.build()).unwrap());
    assert_eq!(keys.len(), 1);
    let (key, ops) = keys.into_iter().next().unwrap();
    match check_key(&key, &ops, budget) {
        KeyVerdict::NotLinearizable(cx) => *cx,
        other => panic!("expected a counterexample, got {other:?}"),
    }
}

fn window_ids(cx: &Counterexample) -> Vec<usize> {
    cx.window.iter().map(|op| op.id).collect()
}

#[test]
fn sequential_writes_and_reads_are_linearizable() {
    let mut h = Hist::new();
    h.read(1, "k", None)
        .write(1, "k", 1)
        .read(2, "k", Some(1))
        .write(2, "k", 2)
        .read(1, "k", Some(2));
    let result = verdict(&h);
    assert!(result.is_valid(), "{result}");
    assert_eq!(result.summary, "1 key(s), 5 operation(s), all linearizable");
}

#[test]
fn a_stale_read_after_an_acknowledged_write_is_caught_with_a_small_window() {
    let mut h = Hist::new();
    h.write(1, "k", 1) // #0
        .write(1, "k", 2) // #1
        .read(2, "k", Some(1)); // #2: 2 was acknowledged before this read began
    let result = verdict(&h);
    assert!(result.is_invalid(), "{result}");
    let cx = counterexample_of(&h);
    assert_eq!(cx.culprit.id, 2);
    // Write 1 is not needed to show the problem: from any value the key
    // could hold once write 1 was acknowledged, write 2 then read 1 fails.
    assert_eq!(window_ids(&cx), vec![1, 2]);
    assert_eq!(cx.cut, Some(2));
    let text = cx.to_string();
    assert!(text.contains("operation #2 cannot be linearized"), "{text}");
    assert!(text.contains("#1 p1 write k 2 -> ok"), "{text}");
    assert!(
        text.contains("#2 p2 read k -> 1 [events 4..5, 5..6 ms] <=="),
        "{text}"
    );
}

#[test]
fn a_read_concurrent_with_a_write_may_see_either_value() {
    for value in [Some(1), Some(2)] {
        let mut h = Hist::new();
        h.write(1, "k", 1)
            .invoke(1, write("k", 2))
            .invoke(2, read("k"))
            .ok(2, crate::history::Outcome::Read(value))
            .done(1)
            .read(2, "k", Some(2));
        let result = verdict(&h);
        assert!(result.is_valid(), "{value:?}: {result}");
    }
}

#[test]
fn concurrent_writes_may_be_seen_in_either_order_but_not_both() {
    // Writes 1 and 2 run concurrently. Reader 3 sees 2 then 1: valid
    // (2 took effect first).
    let mut h = Hist::new();
    h.invoke(1, write("k", 1))
        .invoke(2, write("k", 2))
        .read(3, "k", Some(2))
        .read(3, "k", Some(1))
        .done(1)
        .done(2)
        .read(3, "k", Some(1));
    assert!(verdict(&h).is_valid(), "{}", verdict(&h));

    // Reader 3 sees 1 then 2 while reader 4 sees 2 then 1, all during the
    // writes: the two writes cannot be in both orders.
    let mut h = Hist::new();
    h.invoke(1, write("k", 1))
        .invoke(2, write("k", 2))
        .read(3, "k", Some(1))
        .read(3, "k", Some(2))
        .read(4, "k", Some(2))
        .read(4, "k", Some(1))
        .done(1)
        .done(2);
    let result = verdict(&h);
    assert!(result.is_invalid(), "{result}");
    let cx = counterexample_of(&h);
    assert_eq!(cx.culprit.id, 5, "{cx}");
    assert_eq!(window_ids(&cx), vec![0, 1, 2, 3, 4, 5], "{cx}");
    assert_eq!(cx.cut, None);

    // After both complete, the value is settled: reading 1 then 2 with no
    // write in between is not linearizable.
    let mut h = Hist::new();
    h.invoke(1, write("k", 1))
        .invoke(2, write("k", 2))
        .done(1)
        .done(2)
        .read(3, "k", Some(1))
        .read(3, "k", Some(2));
    assert!(verdict(&h).is_invalid());
}

#[test]
fn an_info_write_may_take_effect_later() {
    let mut h = Hist::new();
    h.invoke(1, write("k", 1))
        .info(1)
        .read(2, "k", None)
        .write(3, "k", 2)
        .read(2, "k", Some(2))
        .read(2, "k", Some(1)); // the lost-looking write lands late
    assert!(verdict(&h).is_valid(), "{}", verdict(&h));
}

#[test]
fn an_info_write_may_never_take_effect() {
    let mut h = Hist::new();
    h.write(1, "k", 1)
        .invoke(1, write("k", 2))
        .info(1)
        .read(2, "k", Some(1))
        .read(2, "k", Some(1));
    assert!(verdict(&h).is_valid(), "{}", verdict(&h));
    // Never completed at all (the history just ends): the same.
    let mut h = Hist::new();
    h.invoke(1, write("k", 2)).read(2, "k", None);
    assert!(verdict(&h).is_valid(), "{}", verdict(&h));
}

#[test]
fn an_info_write_takes_effect_at_most_once() {
    let mut h = Hist::new();
    h.invoke(1, write("k", 1))
        .info(1)
        .read(2, "k", Some(1)) // #1: the info write took effect
        .write(3, "k", 2)
        .read(2, "k", Some(2))
        .read(2, "k", Some(1)); // #4: it cannot take effect again
    let cx = counterexample_of(&h);
    assert_eq!(cx.culprit.id, 4, "{cx}");
    // Without #1, the info write could have landed late: all are needed.
    assert_eq!(
        (window_ids(&cx), cx.cut),
        (vec![0, 1, 2, 3, 4], None),
        "{cx}"
    );
}

#[test]
fn an_info_write_cannot_take_effect_before_it_was_invoked() {
    let mut h = Hist::new();
    h.read(2, "k", Some(1)).invoke(1, write("k", 1)).info(1);
    assert!(verdict(&h).is_invalid());
}

#[test]
fn a_read_of_a_value_never_written_is_caught() {
    let mut h = Hist::new();
    h.write(1, "k", 1).write(1, "k", 2).read(2, "k", Some(3));
    let cx = counterexample_of(&h);
    assert_eq!(cx.culprit.id, 2);
    assert_eq!(
        window_ids(&cx),
        vec![2],
        "the read alone is impossible: {cx}"
    );
    // At the very start, the window is the read itself, from a missing key.
    let mut h = Hist::new();
    h.read(2, "k", Some(3));
    let cx = counterexample_of(&h);
    assert_eq!((window_ids(&cx), cx.cut), (vec![0], None));
}

#[test]
fn failed_writes_never_take_effect() {
    let mut h = Hist::new();
    h.invoke(1, write("k", 1)).fail(1).read(2, "k", Some(1));
    assert!(verdict(&h).is_invalid());
    let mut h = Hist::new();
    h.invoke(1, write("k", 1)).fail(1).read(2, "k", None);
    assert!(verdict(&h).is_valid());
}

#[test]
fn a_missing_key_after_an_acknowledged_write_is_caught() {
    let mut h = Hist::new();
    h.write(1, "k", 1).read(2, "k", None);
    assert!(verdict(&h).is_invalid());
}

#[test]
fn keys_are_checked_separately() {
    let mut h = Hist::new();
    h.invoke(1, write("a", 1))
        .write(2, "b", 1)
        .done(1)
        .read(3, "a", Some(1))
        .read(3, "b", Some(7));
    let result = verdict(&h);
    assert!(result.is_invalid());
    assert_eq!(result.details.len(), 1, "{result}");
    assert!(result.details[0].starts_with("key \"b\""), "{result}");
}

#[test]
fn counters_and_lists_follow_their_semantics() {
    let mut h = Hist::new();
    h.incr(1, "c", 1)
        .invoke(1, incr("c"))
        .info(1)
        .incr(2, "c", 3)
        .read(2, "c", Some(3));
    assert!(verdict(&h).is_valid(), "{}", verdict(&h));
    let mut h = Hist::new();
    h.incr(1, "c", 1).incr(2, "c", 1);
    assert!(verdict(&h).is_invalid());

    let mut h = Hist::new();
    h.append(1, "l", 1)
        .invoke(1, append("l", 2))
        .read_list(2, "l", &[1])
        .done(1)
        .read_list(2, "l", &[1, 2]);
    assert!(verdict(&h).is_valid(), "{}", verdict(&h));
    let mut h = Hist::new();
    h.append(1, "l", 1)
        .append(1, "l", 2)
        .invoke(2, read_list("l"))
        .ok(2, list(&[2, 1]));
    assert!(verdict(&h).is_invalid());
}

#[test]
fn a_search_out_of_budget_is_unknown_never_valid() {
    let mut h = Hist::new();
    h.write(1, "k", 1).read(2, "k", Some(1));
    // Two steps: linearize the write, then the read.
    assert!(check_linearizable(&h.build(), Budget { max_steps: 2 }).is_valid());
    let result = check_linearizable(&h.build(), Budget { max_steps: 1 });
    assert_eq!(result.verdict, Verdict::Unknown, "{result}");
    assert!(
        result.details[0].contains("gave up after 1 search steps"),
        "{result}"
    );
}

#[test]
fn a_malformed_history_is_reported() {
    let mut h = Hist::new();
    h.invoke(1, read("k"));
    h.history.events.push(h.history.events[0].clone());
    let result = verdict(&h);
    assert!(result.is_invalid());
    assert_eq!(result.summary, "malformed history");
}

#[test]
fn many_concurrent_indeterminate_writes_stay_within_budget() {
    // 12 processes each leave a write indeterminate, then reads see them
    // one by one: the memoised search handles it quickly.
    let mut h = Hist::new();
    for p in 0..12 {
        h.invoke(p, write("k", p as i64)).info(p);
    }
    for p in 0..12 {
        h.read(100, "k", Some(p as i64));
    }
    let result = check_linearizable(&h.build(), Budget { max_steps: 100_000 });
    assert!(result.is_valid(), "{result}");
}

// ---- cross-check against a brute-force search on random small histories

/// Tries every order (no memoisation): the next operation may be any one
/// no remaining acknowledged operation must precede; indeterminate ones
/// may also be left out.
fn brute_force(ops: &[&Op], state: &State) -> bool {
    if ops.iter().all(|op| !op.is_ok()) {
        return true;
    }
    for (i, op) in ops.iter().enumerate() {
        if ops.iter().any(|other| other.precedes(op)) {
            continue;
        }
        let Some(next) = model::step(state, &op.call, op.outcome(), &Seeds::default()) else {
            continue;
        };
        let mut rest = ops.to_vec();
        rest.remove(i);
        if brute_force(&rest, &next) {
            return true;
        }
    }
    false
}

/// A random history on one key, from a real register whose operations
/// take effect at their invoke or their completion; some outcomes are
/// then corrupted, so both verdicts come up.
/// How random histories look.
#[derive(Clone, Copy)]
struct Shape {
    workload: Workload,
    processes: usize,
    events: usize,
    /// Chance, in tenths, that an operation ends in `info`.
    info: u64,
    /// Whether one `ok` outcome in ten is corrupted.
    corrupt: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    Register,
    Counter,
    List,
}

impl Workload {
    fn cycle(round: usize) -> Workload {
        [Workload::Register, Workload::Counter, Workload::List][round % 3]
    }
}

fn random_history(rng: &mut Rng, shape: Shape) -> Hist {
    let mut h = Hist::new();
    let mut state = State::Missing;
    // Per process: the outcome its operation in flight will report, if it
    // has one (`Some(None)` for calls that have not taken effect yet).
    let mut in_flight: Vec<Option<(Call, Option<crate::history::Outcome>)>> =
        vec![None; shape.processes];
    for _ in 0..shape.events {
        let p = rng.below(shape.processes as u64) as usize;
        match in_flight[p].take() {
            None => {
                let call = match (shape.workload, rng.below(2)) {
                    (Workload::List, 0) => read_list("k"),
                    (Workload::List, _) => append("k", h.history.events.len() as i64),
                    (_, 0) => read("k"),
                    (Workload::Register, _) => write("k", rng.below(3) as i64 + 1),
                    (Workload::Counter, _) => incr("k"),
                };
                h.invoke(p as u64, call.clone());
                let outcome = (rng.below(2) == 0).then(|| take_effect(&mut state, &call));
                in_flight[p] = Some((call, outcome));
            }
            Some((call, outcome)) => match rng.below(10) {
                // An info op may have taken effect or not.
                roll if roll < shape.info => drop(h.info(p as u64)),
                // A failed one has not.
                9 if outcome.is_none() => drop(h.fail(p as u64)),
                roll => {
                    let outcome = outcome.unwrap_or_else(|| take_effect(&mut state, &call));
                    let outcome = if shape.corrupt && roll == 8 {
                        corrupt(rng, outcome)
                    } else {
                        outcome
                    };
                    h.ok(p as u64, outcome);
                }
            },
        }
    }
    h
}

fn take_effect(state: &mut State, call: &Call) -> crate::history::Outcome {
    use crate::history::Outcome;
    *state = model::step(state, call, None, &Seeds::default()).unwrap();
    match (call, &*state) {
        (Call::Read { .. }, State::Int(v)) => Outcome::Read(Some(*v)),
        (Call::Read { .. }, _) => Outcome::Read(None),
        (Call::Incr { .. }, State::Int(v)) => Outcome::Counter(*v),
        (Call::ReadList { .. }, State::List(items)) => Outcome::List(items.clone()),
        (Call::ReadList { .. }, _) => Outcome::List(Vec::new()),
        _ => Outcome::Done,
    }
}

fn corrupt(rng: &mut Rng, outcome: crate::history::Outcome) -> crate::history::Outcome {
    use crate::history::Outcome;
    let other = rng.below(3) as i64 + 1;
    match outcome {
        Outcome::Read(_) if other == 3 => Outcome::Read(None),
        Outcome::Read(_) => Outcome::Read(Some(other)),
        Outcome::Counter(_) => Outcome::Counter(other),
        Outcome::List(mut items) => {
            match other {
                1 => drop(items.pop()),
                2 => items.reverse(),
                _ => items.push(99_999),
            }
            Outcome::List(items)
        }
        done => done,
    }
}

fn agrees_with_brute_force(seed: u64, rounds: usize, shape: impl Fn(usize) -> Shape) {
    let mut rng = Rng::new(seed);
    let mut verdicts = [0usize; 2];
    for round in 0..rounds {
        let h = random_history(&mut rng, shape(round));
        let ops = pair(&h.build()).unwrap();
        let refs: Vec<&Op> = ops.iter().filter(|op| op.status != Status::Fail).collect();
        let expected = brute_force(&refs, &State::Missing);
        let got = check_key("k", &ops, Budget::default());
        assert_eq!(
            got == KeyVerdict::Linearizable,
            expected,
            "round {round}: checker said {got:?}\n{:#?}",
            h.history
        );
        if let KeyVerdict::NotLinearizable(cx) = got {
            check_counterexample_fails_alone(&cx, &ops);
        }
        verdicts[usize::from(expected)] += 1;
    }
    assert!(
        verdicts[0] > rounds / 10 && verdicts[1] > rounds / 10,
        "both verdicts should come up: {verdicts:?}"
    );
}

#[test]
fn agrees_with_brute_force_on_random_small_histories() {
    agrees_with_brute_force(7, 900, |round| Shape {
        workload: Workload::cycle(round),
        processes: 3,
        events: 14,
        info: 1,
        corrupt: true,
    });
}

#[test]
fn agrees_with_brute_force_when_many_operations_are_indeterminate() {
    agrees_with_brute_force(11, 450, |round| Shape {
        workload: Workload::cycle(round),
        processes: 4,
        events: 16,
        info: 4,
        corrupt: true,
    });
}

/// A counterexample's window, from any state the seeds allow there (or
/// from a missing key), really has no linearization; and the prefix
/// before the culprit's completion has one.
fn check_counterexample_fails_alone(cx: &Counterexample, ops: &[Op]) {
    let end = cx.culprit.complete.unwrap();
    let before = view(ops, 0, end - 1);
    assert!(matches!(
        search(
            &before,
            State::Missing,
            &Seeds::default(),
            Budget::default()
        ),
        Search::Linearizable
    ));
    let starts: Vec<State> = match cx.cut {
        None => vec![State::Missing],
        Some(cut) => {
            let seeds = seeds_at(ops, cut);
            let mut states: Vec<State> = seeds.values.iter().map(|&v| State::Int(v)).collect();
            if seeds.missing {
                states.push(State::Missing);
            }
            if let Some(range) = &seeds.range {
                states.extend(range.clone().map(State::Int));
            }
            if seeds.anything {
                // Lists: too many starting states to try.
                return;
            }
            states
        }
    };
    let window: Vec<&Op> = cx.window.iter().collect();
    for start in starts {
        assert!(
            !brute_force_window(&window, end, &start),
            "window passes from {start:?}: {cx}"
        );
    }
}

/// [`brute_force`] over a window that ends at history position `end`:
/// acknowledgements after `end` do not count.
fn brute_force_window(window: &[&Op], end: usize, state: &State) -> bool {
    let clipped: Vec<Op> = window
        .iter()
        .map(|op| {
            let mut op = (*op).clone();
            if op.complete.is_some_and(|at| at > end) {
                op.status = Status::Indeterminate;
            }
            op
        })
        .collect();
    let refs: Vec<&Op> = clipped.iter().collect();
    brute_force(&refs, state)
}

#[test]
fn long_histories_with_many_indeterminate_operations_stay_within_budget() {
    // A tenth of the default budget keeps the test quick; the failing
    // register history exhausts it, and windows find the problem anyway.
    let budget = Budget { max_steps: 200_000 };
    for workload in [Workload::Register, Workload::Counter] {
        let shape = Shape {
            workload,
            processes: 6,
            events: 3000,
            info: 2,
            corrupt: false,
        };
        let mut h = random_history(&mut Rng::new(3), shape);
        let result = check_linearizable(&h.build(), budget);
        assert!(result.is_valid(), "{result}");

        // One read in the middle returns a value nobody wrote: the
        // counterexample is that read and a few operations around it.
        let middle = h.history.events.len() / 2;
        let read = (middle..h.history.events.len())
            .find(|&i| {
                let e = &h.history.events[i];
                e.kind == crate::history::EventType::Ok && matches!(e.call, Call::Read { .. })
            })
            .unwrap();
        h.history.events[read].outcome = Some(crate::history::Outcome::Read(Some(999_999)));
        let cx = counterexample_within(&h, budget);
        assert_eq!(cx.culprit.complete, Some(read));
        assert!(cx.invoked_inside().count() < 10, "{cx}");
        assert!(cx
            .carried_over()
            .all(|op| op.status == Status::Indeterminate));
    }
}

#[test]
fn long_list_histories_with_many_indeterminate_appends_are_quick() {
    let shape = Shape {
        workload: Workload::List,
        processes: 6,
        events: 4000,
        info: 2,
        corrupt: false,
    };
    let mut h = random_history(&mut Rng::new(5), shape);
    // Without the list-order pruning this took minutes and gave up.
    let result = check_linearizable(&h.build(), Budget { max_steps: 100_000 });
    assert!(result.is_valid(), "{result}");

    // A read in the middle misses its list's first element.
    let read = (h.history.events.len() / 2..h.history.events.len())
        .find(|&i| {
            let e = &h.history.events[i];
            matches!(&e.outcome, Some(crate::history::Outcome::List(items)) if items.len() > 2)
        })
        .unwrap();
    if let Some(crate::history::Outcome::List(items)) = &mut h.history.events[read].outcome {
        items.remove(0);
    }
    let cx = counterexample_within(&h, Budget { max_steps: 100_000 });
    assert_eq!(cx.culprit.complete, Some(read), "{cx}");
}
