//! A model test: random command sequences on one key, against a map of
//! member → score, with the listpack limits set small so that sets move
//! between the encodings mid-sequence.

use super::call;
use crate::config::Config;
use crate::resp::frame::Frame;
use crate::testing::Harness;
use proptest::prelude::*;
use std::collections::BTreeMap;

type Model = BTreeMap<String, f64>;

#[derive(Debug, Clone)]
enum Op {
    Add {
        flags: &'static str,
        pairs: Vec<(i8, u8)>,
    },
    IncrBy(i8, u8),
    Rem(Vec<u8>),
    Pop {
        max: bool,
        count: u8,
    },
    RemRangeByRank(i8, i8),
    RemRangeByScore(i8, i8),
    Config(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let pairs = proptest::collection::vec((-6i8..6, 0u8..40), 1..6);
    let flags = prop_oneof![
        Just(""),
        Just("NX"),
        Just("XX"),
        Just("GT"),
        Just("LT"),
        Just("XX GT"),
        Just("CH"),
    ];
    prop_oneof![
        5 => (flags, pairs).prop_map(|(flags, pairs)| Op::Add { flags, pairs }),
        2 => (-6i8..6, 0u8..40).prop_map(|(s, m)| Op::IncrBy(s, m)),
        2 => proptest::collection::vec(0u8..40, 1..4).prop_map(Op::Rem),
        1 => (any::<bool>(), 0u8..4).prop_map(|(max, count)| Op::Pop { max, count }),
        1 => (-8i8..8, -8i8..8).prop_map(|(a, b)| Op::RemRangeByRank(a, b)),
        1 => (-6i8..6, -6i8..6).prop_map(|(a, b)| Op::RemRangeByScore(a, b)),
        1 => (0u8..12).prop_map(Op::Config),
    ]
}

/// Members of two lengths, so the value limit matters too.
fn member(n: u8) -> String {
    if n.is_multiple_of(9) {
        format!("long-member-{n:02}")
    } else {
        format!("m{n:02}")
    }
}

fn score(s: i8) -> f64 {
    f64::from(s) / 2.0
}

fn ordered(model: &Model) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
    v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
    v
}

/// Applies `op` to the model; returns the reply Redis would give.
fn apply(model: &mut Model, op: &Op) -> Frame {
    match op {
        Op::Add { flags, pairs } => {
            let has = |f: &str| flags.split(' ').any(|w| w == f);
            let mut counted = 0;
            for &(s, m) in pairs {
                let (m, s) = (member(m), score(s));
                let current = model.get(&m).copied();
                let allowed = match current {
                    None => !has("XX"),
                    Some(cur) => {
                        let refused =
                            has("NX") || (has("GT") && s <= cur) || (has("LT") && s >= cur);
                        !refused
                    }
                };
                if allowed {
                    let changed = current.is_some_and(|cur| cur != s);
                    counted += i64::from(current.is_none() || (has("CH") && changed));
                    model.insert(m, s);
                }
            }
            Frame::Int(counted)
        }
        Op::IncrBy(s, m) => {
            let total = model.get(&member(*m)).copied().unwrap_or(0.0) + score(*s);
            model.insert(member(*m), total);
            Frame::Bulk(crate::resp::format_double(total).into())
        }
        Op::Rem(ms) => {
            let removed = ms.iter().filter(|m| model.remove(&member(**m)).is_some());
            Frame::Int(removed.count() as i64)
        }
        Op::Pop { max, count } => {
            let mut order = ordered(model);
            if *max {
                order.reverse();
            }
            let mut flat = Vec::new();
            for (m, s) in order.into_iter().take(usize::from(*count)) {
                model.remove(&m);
                flat.push(Frame::Bulk(m.into()));
                flat.push(Frame::Bulk(crate::resp::format_double(s).into()));
            }
            Frame::Array(flat)
        }
        Op::RemRangeByRank(a, b) => {
            let len = model.len() as i64;
            let fix = |i: i8| {
                if i < 0 {
                    len + i64::from(i)
                } else {
                    i64::from(i)
                }
            };
            let (start, stop) = (fix(*a).max(0), fix(*b).min(len - 1));
            let doomed: Vec<String> = ordered(model)
                .into_iter()
                .enumerate()
                .filter(|(i, _)| (start..=stop).contains(&(*i as i64)))
                .map(|(_, (m, _))| m)
                .collect();
            doomed.iter().for_each(|m| {
                model.remove(m);
            });
            Frame::Int(doomed.len() as i64)
        }
        Op::RemRangeByScore(a, b) => {
            let (min, max) = (score(*a), score(*b));
            let before = model.len();
            model.retain(|_, s| !(min <= *s && *s <= max));
            Frame::Int((before - model.len()) as i64)
        }
        Op::Config(_) => Frame::Simple("OK".into()),
    }
}

fn command(op: &Op) -> String {
    match op {
        Op::Add { flags, pairs } => {
            let pairs: Vec<String> = pairs
                .iter()
                .map(|&(s, m)| format!("{} {}", score(s), member(m)))
                .collect();
            format!("ZADD k {flags} {}", pairs.join(" "))
        }
        Op::IncrBy(s, m) => format!("ZINCRBY k {} {}", score(*s), member(*m)),
        Op::Rem(ms) => {
            let ms: Vec<String> = ms.iter().map(|m| member(*m)).collect();
            format!("ZREM k {}", ms.join(" "))
        }
        Op::Pop { max, count } => {
            let name = if *max { "ZPOPMAX" } else { "ZPOPMIN" };
            format!("{name} k {count}")
        }
        Op::RemRangeByRank(a, b) => format!("ZREMRANGEBYRANK k {a} {b}"),
        Op::RemRangeByScore(a, b) => format!("ZREMRANGEBYSCORE k {} {}", score(*a), score(*b)),
        Op::Config(n) => format!("CONFIG SET zset-max-listpack-entries {n}"),
    }
}

fn check_state(h: &mut Harness, c: u64, model: &Model) -> Result<(), TestCaseError> {
    let Frame::Array(items) = call(h, c, "ZRANGE k 0 -1 WITHSCORES") else {
        return Err(TestCaseError::fail("ZRANGE replies an array"));
    };
    let got: Vec<(String, f64)> = items
        .chunks(2)
        .map(|p| (p[0].text().unwrap(), p[1].text().unwrap().parse().unwrap()))
        .collect();
    prop_assert_eq!(&got, &ordered(model));
    prop_assert_eq!(call(h, c, "ZCARD k"), Frame::Int(model.len() as i64));
    prop_assert_eq!(
        call(h, c, "EXISTS k"),
        Frame::Int(i64::from(!model.is_empty()))
    );
    for (rank, (m, _)) in got.iter().enumerate() {
        prop_assert_eq!(call(h, c, &format!("ZRANK k {m}")), Frame::Int(rank as i64));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn commands_match_the_model_across_encodings(ops in proptest::collection::vec(op(), 1..60)) {
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        call(&mut h, c, "CONFIG SET zset-max-listpack-value 10");
        call(&mut h, c, "CONFIG SET zset-max-listpack-entries 4");
        let mut model = Model::new();
        for op in &ops {
            let expected = apply(&mut model, op);
            let line = command(op);
            prop_assert_eq!(call(&mut h, c, &line), expected, "{}", line);
            check_state(&mut h, c, &model)?;
        }
    }
}
