//! ZUNION, ZINTER, ZDIFF, their STORE forms, and ZINTERCARD.
//!
//! Inputs may be sorted sets or plain sets (whose members all score 1),
//! read through [`PlainSet`]. As Redis does, the keys are all looked up
//! (and type-checked) before the options are parsed, union and
//! intersection visit the inputs from the smallest to the largest (which
//! decides the order floating-point sums are made in), a weighted score
//! that is NaN (`inf * 0`) counts as 0, and so does a NaN sum.

use super::parse::{parse_score, ranged_i64};
use super::{entries_reply, resp3, store};
use crate::cmd::Ctx;
use crate::db::Db;
use crate::resp::Reply;
use crate::types::{SetValue, Value, ZSetValue};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;
use std::collections::HashMap;

/// What the sorted set commands need from a plain set (members score 1;
/// integer members read as their decimal text).
pub(crate) trait PlainSet {
    fn card(&self) -> usize;
    fn has(&self, member: &[u8]) -> bool;
    fn each_member(&self, f: &mut dyn FnMut(&[u8]));
}

impl PlainSet for SetValue {
    fn card(&self) -> usize {
        self.len()
    }

    fn has(&self, member: &[u8]) -> bool {
        self.contains(member)
    }

    fn each_member(&self, f: &mut dyn FnMut(&[u8])) {
        for member in self.iter() {
            member.with_bytes(&mut *f);
        }
    }
}

/// One input of an operation.
#[derive(Clone, Copy)]
enum Input<'a> {
    Missing,
    Sorted(&'a ZSetValue),
    Plain(&'a dyn PlainSet),
}

impl Input<'_> {
    fn len(&self) -> usize {
        match self {
            Input::Missing => 0,
            Input::Sorted(z) => z.len(),
            Input::Plain(s) => s.card(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Missing => None,
            Input::Sorted(z) => z.score(member),
            Input::Plain(s) => s.has(member).then_some(1.0),
        }
    }

    fn each(&self, f: &mut dyn FnMut(&[u8], f64)) {
        match self {
            Input::Missing => {}
            Input::Sorted(z) => z.for_each(|m, s| f(m, s)),
            Input::Plain(s) => s.each_member(&mut |m| f(m, 1.0)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's zunionInterAggregate: a NaN sum becomes 0; MIN and MAX keep
    /// the current score against a NaN.
    fn fold(self, target: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *target += value;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min if value < *target => *target = value,
            Aggregate::Max if value > *target => *target = value,
            Aggregate::Min | Aggregate::Max => {}
        }
    }
}

/// Which command runs.
#[derive(Clone, Copy)]
struct Command {
    op: Op,
    /// The STORE form: destination at 1, numkeys at 2.
    store: bool,
    /// ZINTERCARD: only the size of the intersection.
    cardinality: bool,
    name: &'static str,
}

struct Options {
    weights: Vec<f64>,
    aggregate: Aggregate,
    with_scores: bool,
    /// ZINTERCARD's LIMIT (0: none).
    limit: usize,
}

/// `numkeys`: an integer, at least 1, and no more than the arguments left.
fn parse_numkeys(args: &[Bytes], at: usize, name: &str) -> Result<usize, Reply> {
    let n = parse_i64(&args[at]).ok_or_else(Reply::not_integer)?;
    if n < 1 {
        return Err(Reply::error(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    usize::try_from(n)
        .ok()
        .filter(|&n| n < args.len() - at)
        .ok_or_else(Reply::syntax_error)
}

fn parse_options(args: &[Bytes], keys: usize, cmd: Command) -> Result<Options, Reply> {
    let mut opts = Options {
        weights: vec![1.0; keys],
        aggregate: Aggregate::Sum,
        with_scores: false,
        limit: 0,
    };
    let scored = cmd.op != Op::Diff && !cmd.cardinality;
    let mut i = 0;
    while i < args.len() {
        let (arg, left) = (&args[i], args.len() - i);
        if scored && left > keys && eq_ic(arg, "weights") {
            for (w, text) in opts.weights.iter_mut().zip(&args[i + 1..=i + keys]) {
                *w = parse_score(text).ok_or(Reply::err("ERR weight value is not a float"))?;
            }
            i += 1 + keys;
        } else if scored && left >= 2 && eq_ic(arg, "aggregate") {
            opts.aggregate = match &args[i + 1] {
                a if eq_ic(a, "sum") => Aggregate::Sum,
                a if eq_ic(a, "min") => Aggregate::Min,
                a if eq_ic(a, "max") => Aggregate::Max,
                _ => return Err(Reply::syntax_error()),
            };
            i += 2;
        } else if !cmd.store && !cmd.cardinality && eq_ic(arg, "withscores") {
            opts.with_scores = true;
            i += 1;
        } else if cmd.cardinality && left >= 2 && eq_ic(arg, "limit") {
            let limit = ranged_i64(
                &args[i + 1],
                0,
                i64::MAX,
                Some("ERR LIMIT can't be negative"),
            )?;
            opts.limit = usize::try_from(limit).unwrap_or(usize::MAX);
            i += 2;
        } else {
            return Err(Reply::syntax_error());
        }
    }
    Ok(opts)
}

/// Looks every key up as a read (lazy expiry, hit/miss counting, access
/// time), in order; WRONGTYPE for a key that is neither kind of set.
fn check_inputs(ctx: &mut Ctx, keys: &[Bytes]) -> Result<(), Reply> {
    for key in keys {
        if let Some(obj) = ctx.lookup_read(key) {
            if !matches!(obj.value, Value::ZSet(_) | Value::Set(_)) {
                return Err(Reply::wrong_type());
            }
        }
    }
    Ok(())
}

/// The inputs, borrowed together once the lookups are done.
fn inputs<'a>(db: &'a Db, keys: &[Bytes]) -> Vec<Input<'a>> {
    keys.iter()
        .map(|key| match db.keys().get(key).map(|obj| &obj.value) {
            Some(Value::ZSet(z)) => Input::Sorted(z),
            Some(Value::Set(s)) => Input::Plain(s),
            _ => Input::Missing,
        })
        .collect()
}

/// Indices of the inputs from the smallest to the largest (stable).
fn smallest_first(inputs: &[Input]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&i| inputs[i].len());
    order
}

/// A weighted score, 0 when NaN (`inf * 0`).
fn weighted(score: f64, weight: f64) -> f64 {
    let value = score * weight;
    if value.is_nan() {
        0.0
    } else {
        value
    }
}

fn union(inputs: &[Input], opts: &Options) -> Vec<(Bytes, f64)> {
    let mut scores: HashMap<Bytes, f64> = HashMap::new();
    for i in smallest_first(inputs) {
        inputs[i].each(&mut |member, score| {
            let value = weighted(score, opts.weights[i]);
            match scores.get_mut(member) {
                Some(target) => opts.aggregate.fold(target, value),
                None => {
                    scores.insert(Bytes::copy_from_slice(member), value);
                }
            }
        });
    }
    sorted(scores.into_iter().collect())
}

/// The intersection, stopping once `limit` members are found (0: none).
fn inter(inputs: &[Input], opts: &Options, limit: usize) -> Vec<(Bytes, f64)> {
    let order = smallest_first(inputs);
    let (first, rest) = order.split_first().expect("at least one input");
    let mut found = Vec::new();
    inputs[*first].each(&mut |member, score| {
        if limit > 0 && found.len() >= limit {
            return;
        }
        let mut total = weighted(score, opts.weights[*first]);
        for &j in rest {
            match inputs[j].score(member) {
                Some(s) => opts.aggregate.fold(&mut total, s * opts.weights[j]),
                None => return,
            }
        }
        found.push((Bytes::copy_from_slice(member), total));
    });
    sorted(found)
}

/// The members of the first input that no other input has, with their
/// scores there.
fn diff(inputs: &[Input]) -> Vec<(Bytes, f64)> {
    let (first, rest) = inputs.split_first().expect("at least one input");
    let mut kept = Vec::new();
    first.each(&mut |member, score| {
        if rest.iter().all(|other| other.score(member).is_none()) {
            kept.push((Bytes::copy_from_slice(member), score));
        }
    });
    sorted(kept)
}

/// In sorted set order: score, then member bytes.
fn sorted(mut entries: Vec<(Bytes, f64)>) -> Vec<(Bytes, f64)> {
    entries.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    entries
}

fn run(ctx: &mut Ctx, args: &[Bytes], cmd: Command) -> Result<Reply, Reply> {
    let numkeys_at = if cmd.store { 2 } else { 1 };
    let n = parse_numkeys(args, numkeys_at, cmd.name)?;
    let keys = &args[numkeys_at + 1..numkeys_at + 1 + n];
    check_inputs(ctx, keys)?;
    let opts = parse_options(&args[numkeys_at + 1 + n..], n, cmd)?;
    let resp3 = resp3(ctx);
    let result = {
        let inputs = inputs(&ctx.srv.dbs[ctx.client.db], keys);
        match cmd.op {
            Op::Union => union(&inputs, &opts),
            Op::Inter => inter(&inputs, &opts, opts.limit),
            Op::Diff => diff(&inputs),
        }
    };
    Ok(if cmd.cardinality {
        Reply::Int(result.len() as i64)
    } else if cmd.store {
        store(ctx, &args[1], &result, cmd.name)
    } else {
        entries_reply(result, opts.with_scores, resp3)
    })
}

fn command(ctx: &mut Ctx, args: &[Bytes], cmd: Command) -> Reply {
    match run(ctx, args, cmd) {
        Ok(reply) | Err(reply) => reply,
    }
}

const fn cmd(op: Op, store: bool, name: &'static str) -> Command {
    Command {
        op,
        store,
        cardinality: false,
        name,
    }
}

pub(super) fn zunion(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    command(ctx, args, cmd(Op::Union, false, "zunion"))
}

pub(super) fn zinter(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    command(ctx, args, cmd(Op::Inter, false, "zinter"))
}

pub(super) fn zdiff(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    command(ctx, args, cmd(Op::Diff, false, "zdiff"))
}

pub(super) fn zunionstore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    command(ctx, args, cmd(Op::Union, true, "zunionstore"))
}

pub(super) fn zinterstore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    command(ctx, args, cmd(Op::Inter, true, "zinterstore"))
}

pub(super) fn zdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    command(ctx, args, cmd(Op::Diff, true, "zdiffstore"))
}

pub(super) fn zintercard(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let card = Command {
        cardinality: true,
        ..cmd(Op::Inter, false, "zintercard")
    };
    command(ctx, args, card)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// A plain set for the tests (the set type is built elsewhere).
    struct Members(BTreeSet<Vec<u8>>);

    impl PlainSet for Members {
        fn card(&self) -> usize {
            self.0.len()
        }

        fn has(&self, member: &[u8]) -> bool {
            self.0.contains(member)
        }

        fn each_member(&self, f: &mut dyn FnMut(&[u8])) {
            self.0.iter().for_each(|m| f(m));
        }
    }

    fn zset(entries: &[(&str, f64)]) -> ZSetValue {
        let limits = crate::types::zset::Limits {
            max_entries: 128,
            max_value: 64,
        };
        let mut z = ZSetValue::default();
        for (m, s) in entries {
            z.set(m.as_bytes(), *s, &limits);
        }
        z
    }

    fn plain(members: &[&str]) -> Members {
        Members(members.iter().map(|m| m.as_bytes().to_vec()).collect())
    }

    fn opts(weights: &[f64], aggregate: Aggregate) -> Options {
        Options {
            weights: weights.to_vec(),
            aggregate,
            with_scores: true,
            limit: 0,
        }
    }

    fn shown(entries: Vec<(Bytes, f64)>) -> Vec<(String, f64)> {
        entries
            .into_iter()
            .map(|(m, s)| (String::from_utf8(m.to_vec()).unwrap(), s))
            .collect()
    }

    #[test]
    fn plain_sets_count_as_scores_of_one() {
        let z = zset(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]);
        let s = plain(&["a", "b", "x"]);
        let inputs = [Input::Sorted(&z), Input::Plain(&s)];
        assert_eq!(
            shown(union(&inputs, &opts(&[1.0, 1.0], Aggregate::Sum))),
            vec![
                ("x".into(), 1.0),
                ("a".into(), 2.0),
                ("b".into(), 3.0),
                ("c".into(), 3.0)
            ]
        );
        assert_eq!(
            shown(inter(&inputs, &opts(&[2.0, 3.0], Aggregate::Sum), 0)),
            vec![("a".into(), 5.0), ("b".into(), 7.0)]
        );
        assert_eq!(shown(diff(&inputs)), vec![("c".into(), 3.0)]);
        let reversed = [Input::Plain(&s), Input::Sorted(&z)];
        assert_eq!(shown(diff(&reversed)), vec![("x".into(), 1.0)]);
        assert_eq!(
            inter(&inputs, &opts(&[1.0, 1.0], Aggregate::Sum), 1).len(),
            1
        );
    }

    #[test]
    fn nan_weighted_scores_and_sums_become_zero() {
        let z = zset(&[("a", 1.0), ("b", 0.0)]);
        let inputs = [Input::Sorted(&z), Input::Sorted(&z)];
        let inf = f64::INFINITY;
        assert_eq!(
            shown(union(&inputs, &opts(&[inf, -inf], Aggregate::Sum))),
            vec![("a".into(), 0.0), ("b".into(), 0.0)]
        );
        // MIN keeps the first score against a NaN from a later input.
        assert_eq!(
            shown(inter(&inputs, &opts(&[1.0, inf], Aggregate::Min), 0)),
            vec![("b".into(), 0.0), ("a".into(), 1.0)]
        );
    }

    #[test]
    fn sums_are_made_smallest_input_first() {
        let big = zset(&[("x", 1.0), ("y", 1.0)]);
        let plus = zset(&[("x", 1e16)]);
        let minus = zset(&[("x", -1e16)]);
        // In argument order the sum would be (1 + 1e16) - 1e16 = 0.
        let inputs = [
            Input::Sorted(&big),
            Input::Sorted(&plus),
            Input::Sorted(&minus),
        ];
        let result = shown(union(&inputs, &opts(&[1.0; 3], Aggregate::Sum)));
        assert_eq!(result, vec![("x".into(), 1.0), ("y".into(), 1.0)]);
    }
}
