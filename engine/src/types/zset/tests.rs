//! The sorted set against a model (a map of member → score, sorted on
//! demand), through both encodings and the conversion between them.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

type Model = BTreeMap<Vec<u8>, f64>;

fn ordered(model: &Model) -> Vec<(Bytes, f64)> {
    let mut v: Vec<(Bytes, f64)> = model
        .iter()
        .map(|(m, s)| (Bytes::copy_from_slice(m), *s))
        .collect();
    v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
    v
}

#[derive(Debug, Clone)]
enum Op {
    Set(u8, i8),
    Remove(u8),
    Pop(bool, u8),
    RemoveRanks(u8, u8),
    RemoveScores(i8, i8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), -8i8..8).prop_map(|(m, s)| Op::Set(m, s)),
        2 => any::<u8>().prop_map(Op::Remove),
        1 => (any::<bool>(), 0u8..5).prop_map(|(max, n)| Op::Pop(max, n)),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::RemoveRanks(a, b)),
        1 => (-8i8..8, -8i8..8).prop_map(|(a, b)| Op::RemoveScores(a, b)),
    ]
}

/// Members of varied lengths, some past the value limit below.
fn member(n: u8) -> Vec<u8> {
    let mut m = format!("m{n}").into_bytes();
    if n.is_multiple_of(37) {
        m.extend_from_slice(&[b'x'; 30]);
    }
    m
}

fn apply(z: &mut ZSetValue, model: &mut Model, op: &Op, limits: &Limits) {
    match *op {
        Op::Set(m, s) => {
            let m = member(m);
            let score = f64::from(s) / 2.0;
            assert_eq!(z.set(&m, score, limits), model.insert(m, score).is_none());
        }
        Op::Remove(m) => {
            let m = member(m);
            assert_eq!(z.remove(&m), model.remove(&m).is_some());
        }
        Op::Pop(max, n) => {
            let mut expected = ordered(model);
            if max {
                expected.reverse();
            }
            expected.truncate(usize::from(n));
            for (m, _) in &expected {
                model.remove(&m[..]);
            }
            assert_eq!(z.pop(max, usize::from(n)), expected);
        }
        Op::RemoveRanks(a, b) => {
            let len = model.len();
            let (a, b) = (usize::from(a.min(b)), usize::from(a.max(b)));
            if len > 0 && b < len {
                for (m, _) in &ordered(model)[a..=b] {
                    model.remove(&m[..]);
                }
                z.remove_ranks(a, b);
            }
        }
        Op::RemoveScores(a, b) => {
            let range = ScoreRange {
                min: f64::from(a) / 2.0,
                max: f64::from(b) / 2.0,
                min_exclusive: a % 2 == 0,
                max_exclusive: false,
            };
            let inside: Vec<_> = ordered(model)
                .into_iter()
                .enumerate()
                .filter(|(_, (_, s))| range.above_min(*s) && range.below_max(*s))
                .collect();
            let span = inside.first().map(|f| (f.0, inside.last().unwrap().0));
            assert_eq!(z.score_span(&range), span);
            if let Some((first, last)) = span {
                z.remove_ranks(first, last);
                for (_, (m, _)) in inside {
                    model.remove(&m[..]);
                }
            }
        }
    }
}

fn check_reads(z: &ZSetValue, model: &Model) {
    let all = ordered(model);
    assert_eq!(z.len(), all.len());
    assert_eq!(z.to_vec(), all);
    for (rank, (m, s)) in all.iter().enumerate() {
        assert_eq!(z.rank(m), Some((rank, *s)));
        assert_eq!(z.score(m), Some(*s));
    }
    if !all.is_empty() {
        let mut rev = all.clone();
        rev.reverse();
        assert_eq!(z.range(0, all.len() - 1, true), rev);
    }
    z.check();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn matches_the_model_across_conversions(
        ops in proptest::collection::vec(op(), 1..200),
        max_entries in 0usize..20,
    ) {
        let limits = Limits { max_entries, max_value: 16 };
        let mut z = ZSetValue::for_first_member(1, &limits);
        let mut model = Model::new();
        for op in &ops {
            apply(&mut z, &mut model, op, &limits);
        }
        check_reads(&z, &model);
        if model.len() > max_entries {
            prop_assert_eq!(z.encoding_name(), "skiplist");
        }
    }
}

fn lex(min: LexBound, max: LexBound) -> LexRange {
    LexRange { min, max }
}

fn incl(s: &str) -> LexBound {
    LexBound::Inclusive(Bytes::copy_from_slice(s.as_bytes()))
}

fn excl(s: &str) -> LexBound {
    LexBound::Exclusive(Bytes::copy_from_slice(s.as_bytes()))
}

#[test]
fn lex_spans_agree_between_encodings_on_equal_scores() {
    let members = ["a", "b", "bb", "c", "d", "e"];
    let small = Limits {
        max_entries: 128,
        max_value: 64,
    };
    let big = Limits {
        max_entries: 0,
        max_value: 64,
    };
    let mut sets = [
        ZSetValue::for_first_member(1, &small),
        ZSetValue::for_first_member(1, &big),
    ];
    for z in &mut sets {
        for m in members {
            z.set(m.as_bytes(), 0.0, &small);
        }
    }
    assert_eq!(sets[0].encoding_name(), "listpack");
    assert_eq!(sets[1].encoding_name(), "skiplist");
    let cases = [
        (lex(LexBound::Min, LexBound::Max), Some((0, 5))),
        (lex(incl("b"), excl("c")), Some((1, 2))),
        (lex(excl("b"), incl("c")), Some((2, 3))),
        (lex(incl("bz"), incl("bzz")), None),
        (lex(LexBound::Max, LexBound::Min), None),
        (lex(LexBound::Min, LexBound::Min), None),
        (lex(incl("c"), incl("c")), Some((3, 3))),
        (lex(excl("c"), incl("c")), None),
        (lex(incl("e"), LexBound::Max), Some((5, 5))),
        (lex(incl("f"), LexBound::Max), None),
    ];
    for (range, span) in cases {
        for z in &sets {
            assert_eq!(z.lex_span(&range, false), span, "{range:?} {z:?}");
            assert_eq!(z.lex_span(&range, true), span, "{range:?} rev {z:?}");
        }
    }
}

#[test]
fn listpack_lex_walk_on_mixed_scores_is_redis_walk() {
    // Order by score: c(1) a(2) b(3): members are not in lex order.
    let limits = Limits {
        max_entries: 128,
        max_value: 64,
    };
    let mut z = ZSetValue::for_first_member(1, &limits);
    for (m, s) in [("c", 1.0), ("a", 2.0), ("b", 3.0)] {
        z.set(m.as_bytes(), s, &limits);
    }
    // Forward: first member >= "b" is "c" (rank 0), then "a" is <= "c",
    // then "b" too.
    assert_eq!(z.lex_span(&lex(incl("b"), incl("c")), false), Some((0, 2)));
    // Backward: last member <= "c" is "b" (rank 2), then "a" is not >= "b".
    assert_eq!(z.lex_span(&lex(incl("b"), incl("c")), true), Some((2, 2)));
    // The first member must be <= the maximum: "c" is not <= "b".
    assert_eq!(z.lex_span(&lex(incl("a"), incl("b")), false), None);
}

#[test]
fn score_ranges_with_infinities_and_exclusive_ends() {
    let limits = Limits {
        max_entries: 0,
        max_value: 64,
    };
    let mut z = ZSetValue::for_first_member(1, &limits);
    for (i, s) in [f64::NEG_INFINITY, -1.0, 0.0, 1.0, f64::INFINITY]
        .iter()
        .enumerate()
    {
        z.set(format!("m{i}").as_bytes(), *s, &limits);
    }
    let range = |min, max, min_exclusive, max_exclusive| ScoreRange {
        min,
        max,
        min_exclusive,
        max_exclusive,
    };
    let inf = f64::INFINITY;
    assert_eq!(z.score_span(&range(-inf, inf, false, false)), Some((0, 4)));
    assert_eq!(z.score_span(&range(-inf, inf, true, true)), Some((1, 3)));
    assert_eq!(z.score_span(&range(0.0, 0.0, false, false)), Some((2, 2)));
    assert_eq!(z.score_span(&range(0.0, 0.0, true, false)), None);
    assert_eq!(z.score_span(&range(2.0, 1.0, false, false)), None);
    assert_eq!(z.score_span(&range(-0.5, 0.5, false, false)), Some((2, 2)));
}

#[test]
fn negative_zero_is_zero_in_a_listpack_and_kept_in_the_big_encoding() {
    for (max_entries, negative) in [(0, true), (128, false)] {
        let limits = Limits {
            max_entries,
            max_value: 64,
        };
        let mut z = ZSetValue::for_first_member(1, &limits);
        z.set(b"a", -0.0, &limits);
        // Setting 0 changes nothing: equal scores.
        z.set(b"a", 0.0, &limits);
        let score = z.score(b"a").unwrap();
        assert_eq!(score, 0.0);
        assert_eq!(score.is_sign_negative(), negative, "{}", z.encoding_name());
    }
}

#[test]
fn store_results_pick_the_encoding_that_fits() {
    let limits = Limits {
        max_entries: 2,
        max_value: 3,
    };
    let entries = |ms: &[&str]| -> Vec<(Bytes, f64)> {
        ms.iter()
            .enumerate()
            .map(|(i, m)| (Bytes::copy_from_slice(m.as_bytes()), i as f64))
            .collect()
    };
    assert_eq!(
        ZSetValue::from_sorted(&entries(&["a", "b"]), &limits).encoding_name(),
        "listpack"
    );
    assert_eq!(
        ZSetValue::from_sorted(&entries(&["a", "b", "c"]), &limits).encoding_name(),
        "skiplist"
    );
    assert_eq!(
        ZSetValue::from_sorted(&entries(&["abcd"]), &limits).encoding_name(),
        "skiplist"
    );
    let z = ZSetValue::from_sorted(&entries(&["a", "b", "c"]), &limits);
    assert_eq!(z.to_vec(), entries(&["a", "b", "c"]));
}
