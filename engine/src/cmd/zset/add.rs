//! ZADD, ZINCRBY, ZREM, and the single-member reads: ZCARD, ZSCORE,
//! ZMSCORE, ZRANK, ZREVRANK, ZCOUNT, ZLEXCOUNT.

use super::parse::{lex_range, parse_score, score_range};
use super::{create, drop_if_empty, held, limits, read, write, zset_changed};
use crate::cmd::Ctx;
use crate::resp::Reply;
use crate::types::zset::{Limits, ZSetValue};
use crate::util::eq_ic;
use bytes::Bytes;

// ---- ZADD and ZINCRBY ----

#[derive(Debug, Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

impl AddFlags {
    /// Sets the flag `word` names; false if it names none.
    fn take(&mut self, word: &[u8]) -> bool {
        let flag = match () {
            _ if eq_ic(word, "nx") => &mut self.nx,
            _ if eq_ic(word, "xx") => &mut self.xx,
            _ if eq_ic(word, "gt") => &mut self.gt,
            _ if eq_ic(word, "lt") => &mut self.lt,
            _ if eq_ic(word, "ch") => &mut self.ch,
            _ if eq_ic(word, "incr") => &mut self.incr,
            _ => return false,
        };
        *flag = true;
        true
    }

    /// Redis's checks, in its order, once the pairs are counted.
    fn check(&self, pairs: usize) -> Result<(), Reply> {
        if self.nx && self.xx {
            return Err(Reply::err(
                "ERR XX and NX options at the same time are not compatible",
            ));
        }
        if (self.nx && (self.gt || self.lt)) || (self.gt && self.lt) {
            return Err(Reply::err(
                "ERR GT, LT, and/or NX options at the same time are not compatible",
            ));
        }
        if self.incr && pairs > 1 {
            return Err(Reply::err(
                "ERR INCR option supports a single increment-element pair",
            ));
        }
        Ok(())
    }
}

const NAN_ERROR: &str = "ERR resulting score is not a number (NaN)";

/// What one element of ZADD did (Redis's zsetAdd).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Added {
    /// A new member, with its score.
    New(f64),
    /// An existing member moved to a new score.
    Updated(f64),
    /// An existing member whose score came out equal (still "processed":
    /// INCR replies the score).
    Same(f64),
    /// Nothing done (NX, XX, GT or LT said no).
    Skipped,
}

fn add_one(
    z: &mut ZSetValue,
    member: &[u8],
    score: f64,
    flags: AddFlags,
    limits: &Limits,
) -> Result<Added, Reply> {
    let Some(current) = z.score(member) else {
        if flags.xx {
            return Ok(Added::Skipped);
        }
        z.set(member, score, limits);
        return Ok(Added::New(score));
    };
    if flags.nx {
        return Ok(Added::Skipped);
    }
    let new = if flags.incr { current + score } else { score };
    if new.is_nan() {
        return Err(Reply::err(NAN_ERROR));
    }
    if (flags.lt && new >= current) || (flags.gt && new <= current) {
        return Ok(Added::Skipped);
    }
    if new == current {
        return Ok(Added::Same(new));
    }
    z.set(member, new, limits);
    Ok(Added::Updated(new))
}

pub(super) fn zadd(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    add_command(ctx, args, AddFlags::default())
}

/// ZINCRBY key increment member: ZADD's path with INCR set (so, as in
/// Redis, an option word in place of the increment is a syntax error).
pub(super) fn zincrby(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let flags = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    add_command(ctx, args, flags)
}

fn add_command(ctx: &mut Ctx, args: &[Bytes], mut flags: AddFlags) -> Reply {
    let mut first = 2;
    while first < args.len() && flags.take(&args[first]) {
        first += 1;
    }
    let pairs = &args[first..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Reply::syntax_error();
    }
    if let Err(e) = flags.check(pairs.len() / 2) {
        return e;
    }
    let mut elements = Vec::with_capacity(pairs.len() / 2);
    for pair in pairs.chunks_exact(2) {
        match parse_score(&pair[0]) {
            Some(score) => elements.push((score, &pair[1])),
            None => return Reply::not_float(),
        }
    }
    match add_elements(ctx, &args[1], &elements, flags) {
        Ok(reply) | Err(reply) => reply,
    }
}

/// Counters of one ZADD.
#[derive(Default)]
struct Tally {
    added: i64,
    updated: i64,
    /// The last element's score when it was processed (INCR's reply).
    last: Option<f64>,
}

fn add_elements(
    ctx: &mut Ctx,
    key: &[u8],
    elements: &[(f64, &Bytes)],
    flags: AddFlags,
) -> Result<Reply, Reply> {
    let limits = limits(ctx);
    let mut tally = Tally::default();
    let existing = write(ctx, key)?.is_some();
    if !existing && !flags.xx {
        let z = ZSetValue::for_first_member(elements[0].1.len(), &limits);
        create(ctx, key, z);
    }
    if let Some(z) = held(ctx, key) {
        let outcome = tally_elements(z, elements, flags, &limits, &mut tally);
        let changed = tally.added + tally.updated;
        ctx.dirty(changed as u64);
        drop_if_empty(ctx, key);
        if changed > 0 {
            let event = if flags.incr { "zincr" } else { "zadd" };
            zset_changed(ctx, key, event, false);
        }
        outcome?;
    }
    Ok(match (flags.incr, tally.last) {
        (true, Some(score)) => Reply::Double(score),
        (true, None) => Reply::Null,
        (false, _) if flags.ch => Reply::Int(tally.added + tally.updated),
        (false, _) => Reply::Int(tally.added),
    })
}

fn tally_elements(
    z: &mut ZSetValue,
    elements: &[(f64, &Bytes)],
    flags: AddFlags,
    limits: &Limits,
    tally: &mut Tally,
) -> Result<(), Reply> {
    for &(score, member) in elements {
        tally.last = match add_one(z, member, score, flags, limits)? {
            Added::New(s) => {
                tally.added += 1;
                Some(s)
            }
            Added::Updated(s) => {
                tally.updated += 1;
                Some(s)
            }
            Added::Same(s) => Some(s),
            Added::Skipped => None,
        };
    }
    Ok(())
}

// ---- ZREM ----

pub(super) fn zrem(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let key = &args[1];
    let removed = match write(ctx, key) {
        Err(e) => return e,
        Ok(None) => 0,
        Ok(Some(z)) => {
            let mut removed = 0;
            for member in &args[2..] {
                removed += i64::from(z.remove(member));
                if z.is_empty() {
                    break;
                }
            }
            removed
        }
    };
    if removed > 0 {
        let emptied = drop_if_empty(ctx, key);
        ctx.dirty(removed as u64);
        zset_changed(ctx, key, "zrem", emptied);
    }
    Reply::Int(removed)
}

// ---- reads ----

pub(super) fn zcard(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match read(ctx, &args[1]) {
        Ok(z) => Reply::Int(z.map_or(0, |z| z.len() as i64)),
        Err(e) => e,
    }
}

pub(super) fn zscore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match read(ctx, &args[1]) {
        Ok(z) => z
            .and_then(|z| z.score(&args[2]))
            .map_or(Reply::Null, Reply::Double),
        Err(e) => e,
    }
}

pub(super) fn zmscore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match read(ctx, &args[1]) {
        Ok(z) => Reply::Array(
            args[2..]
                .iter()
                .map(|m| {
                    z.and_then(|z| z.score(m))
                        .map_or(Reply::Null, Reply::Double)
                })
                .collect(),
        ),
        Err(e) => e,
    }
}

pub(super) fn zrank(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    rank_command(ctx, args, false)
}

pub(super) fn zrevrank(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    rank_command(ctx, args, true)
}

/// ZRANK and ZREVRANK, with Redis 7.2's WITHSCORE: `[rank, score]`, and a
/// null array (rather than a null) for a missing member or key.
fn rank_command(ctx: &mut Ctx, args: &[Bytes], rev: bool) -> Reply {
    let name = if rev { "zrevrank" } else { "zrank" };
    if args.len() > 4 {
        return Reply::wrong_arity(name);
    }
    let with_score = match args.get(3) {
        Some(arg) if eq_ic(arg, "withscore") => true,
        Some(_) => return Reply::syntax_error(),
        None => false,
    };
    let missing = if with_score {
        Reply::NullArray
    } else {
        Reply::Null
    };
    let z = match read(ctx, &args[1]) {
        Ok(Some(z)) => z,
        Ok(None) => return missing,
        Err(e) => return e,
    };
    let Some((rank, score)) = z.rank(&args[2]) else {
        return missing;
    };
    let rank = if rev { z.len() - 1 - rank } else { rank };
    match with_score {
        true => Reply::Array(vec![Reply::Int(rank as i64), Reply::Double(score)]),
        false => Reply::Int(rank as i64),
    }
}

pub(super) fn zcount(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let Some(range) = score_range(&args[2], &args[3]) else {
        return Reply::err("ERR min or max is not a float");
    };
    match read(ctx, &args[1]) {
        Ok(z) => Reply::Int(z.and_then(|z| z.score_span(&range)).map_or(0, span_len)),
        Err(e) => e,
    }
}

pub(super) fn zlexcount(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let Some(range) = lex_range(&args[2], &args[3]) else {
        return Reply::err("ERR min or max not valid string range item");
    };
    match read(ctx, &args[1]) {
        Ok(z) => Reply::Int(
            z.and_then(|z| z.lex_span(&range, false))
                .map_or(0, span_len),
        ),
        Err(e) => e,
    }
}

fn span_len((first, last): (usize, usize)) -> i64 {
    (last - first + 1) as i64
}
