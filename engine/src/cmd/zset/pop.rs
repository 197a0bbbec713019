//! ZPOPMIN, ZPOPMAX, ZMPOP, ZRANDMEMBER and ZSCAN.
//!
//! The pop cores are for the blocking pops too (BZPOPMIN, BZPOPMAX,
//! BZMPOP): [`zpop`] pops from one key, [`zmpop`] from the first of
//! several keys that exists, with ZMPOP's reply; [`flat_reply`] and
//! [`keyed_reply`] build the other reply shapes.

use super::parse::ranged_i64;
use super::{drop_if_empty, entries_reply, held, read, resp3, scored_reply, write, zset_changed};
use crate::cmd::keys::{parse_scan_cursor, parse_scan_options, scan_reply};
use crate::cmd::Ctx;
use crate::resp::{format_double, Reply};
use crate::util::eq_ic;
use bytes::Bytes;
use rand_chacha::rand_core::RngCore;
use std::collections::HashSet;

/// Which end of the order a pop takes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Min,
    Max,
}

impl End {
    /// The keyspace event of a pop from this end.
    fn pop_event(self) -> &'static str {
        match self {
            End::Min => "zpopmin",
            End::Max => "zpopmax",
        }
    }

    /// The command that pops from this end, as ZMPOP propagates.
    fn pop_command(self) -> &'static [u8] {
        match self {
            End::Min => b"ZPOPMIN",
            End::Max => b"ZPOPMAX",
        }
    }
}

/// Pops up to `count` members from the sorted set at `key`, lowest or
/// highest scores first, in pop order. `Ok(None)` when the key does not
/// exist, WRONGTYPE when it holds another type. The key is deleted once
/// empty; every member popped counts as a change (`dirty`).
pub(crate) fn zpop(
    ctx: &mut Ctx,
    key: &[u8],
    end: End,
    count: usize,
) -> Result<Option<Vec<(Bytes, f64)>>, Reply> {
    if write(ctx, key)?.is_none() {
        return Ok(None);
    }
    Ok(Some(pop_held(ctx, key, end, count)))
}

/// Pops from the sorted set at `key`, already looked up by the caller.
fn pop_held(ctx: &mut Ctx, key: &[u8], end: End, count: usize) -> Vec<(Bytes, f64)> {
    let popped = held(ctx, key).map_or_else(Vec::new, |z| z.pop(end == End::Max, count));
    if !popped.is_empty() {
        let emptied = drop_if_empty(ctx, key);
        ctx.dirty(popped.len() as u64);
        zset_changed(ctx, key, end.pop_event(), emptied);
    }
    popped
}

/// The first of `keys` that exists (checked in order, as Redis does: the
/// keys after it are not looked at); WRONGTYPE if it is not a sorted set.
pub(crate) fn first_existing<'k>(
    ctx: &mut Ctx,
    keys: &'k [Bytes],
) -> Result<Option<&'k Bytes>, Reply> {
    for key in keys {
        if write(ctx, key)?.is_some() {
            return Ok(Some(key));
        }
    }
    Ok(None)
}

/// ZMPOP's work, and BZMPOP's once it has something to pop: pops up to
/// `count` members from the first of `keys` that exists. Replies
/// `[key, [[member, score], ...]]`, or a null array when no key exists.
pub(crate) fn zmpop(ctx: &mut Ctx, keys: &[Bytes], end: End, count: usize) -> Reply {
    let key = match first_existing(ctx, keys) {
        Ok(Some(key)) => key,
        Ok(None) => return Reply::NullArray,
        Err(e) => return e,
    };
    let popped = pop_held(ctx, key, end, count);
    // Replicated as the ZPOPMIN/ZPOPMAX of the one key popped from.
    ctx.propagate_as(vec![
        Bytes::from_static(end.pop_command()),
        key.clone(),
        Bytes::from(popped.len().to_string()),
    ]);
    Reply::Array(vec![Reply::Bulk(key.clone()), nested(popped)])
}

/// `[member, score, member, score, ...]`: ZPOPMIN/ZPOPMAX in RESP2 or
/// without a count.
pub(crate) fn flat_reply(popped: Vec<(Bytes, f64)>) -> Reply {
    scored_reply(popped, false)
}

/// `[key, member, score]`: BZPOPMIN and BZPOPMAX (both protocols).
#[allow(dead_code)] // For the blocking pops, built on this module elsewhere.
pub(crate) fn keyed_reply(key: Bytes, popped: Vec<(Bytes, f64)>) -> Reply {
    let Reply::Array(mut items) = flat_reply(popped) else {
        unreachable!("flat_reply builds an array")
    };
    items.insert(0, Reply::Bulk(key));
    Reply::Array(items)
}

/// `[[member, score], ...]` in both protocols.
fn nested(popped: Vec<(Bytes, f64)>) -> Reply {
    scored_reply(popped, true)
}

pub(super) fn zpopmin(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    pop_command(ctx, args, End::Min)
}

pub(super) fn zpopmax(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    pop_command(ctx, args, End::Max)
}

/// ZPOPMIN/ZPOPMAX key [count]: a flat array, except in RESP3 with a
/// count, where the pairs are nested.
fn pop_command(ctx: &mut Ctx, args: &[Bytes], end: End) -> Reply {
    if args.len() > 3 {
        return Reply::syntax_error();
    }
    let count = match args.get(2) {
        None => None,
        Some(arg) => match ranged_i64(arg, 0, i64::MAX, Some(MUST_BE_POSITIVE)) {
            Ok(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            Err(e) => return e,
        },
    };
    let nested_pairs = resp3(ctx) && count.is_some();
    match zpop(ctx, &args[1], end, count.unwrap_or(1)) {
        Err(e) => e,
        Ok(None) => Reply::Array(Vec::new()),
        Ok(Some(popped)) if nested_pairs => nested(popped),
        Ok(Some(popped)) => flat_reply(popped),
    }
}

const MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
pub(super) fn zmpop_command(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match parse_mpop(args) {
        Ok((keys, end, count)) => zmpop(ctx, keys, end, count),
        Err(e) => e,
    }
}

fn parse_mpop(args: &[Bytes]) -> Result<(&[Bytes], End, usize), Reply> {
    let numkeys = ranged_i64(
        &args[1],
        1,
        i64::MAX,
        Some("ERR numkeys should be greater than 0"),
    )?;
    let where_at = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(2))
        .filter(|&at| at < args.len())
        .ok_or_else(Reply::syntax_error)?;
    let end = match &args[where_at] {
        w if eq_ic(w, "min") => End::Min,
        w if eq_ic(w, "max") => End::Max,
        _ => return Err(Reply::syntax_error()),
    };
    let mut count = None;
    let mut i = where_at + 1;
    while i < args.len() {
        if count.is_none() && eq_ic(&args[i], "count") && i + 1 < args.len() {
            let n = ranged_i64(
                &args[i + 1],
                1,
                i64::MAX,
                Some("ERR count should be greater than 0"),
            )?;
            count = Some(usize::try_from(n).unwrap_or(usize::MAX));
            i += 2;
        } else {
            return Err(Reply::syntax_error());
        }
    }
    Ok((&args[2..where_at], end, count.unwrap_or(1)))
}

// ---- ZRANDMEMBER ----

/// Most members one ZRANDMEMBER with a negative count returns. Redis has
/// no bound (it builds the reply until the client's output limit, by
/// default none); Keel builds replies in memory, so a count beyond this
/// is refused rather than allowed to exhaust memory.
const RANDOM_REPLY_MAX: u64 = 1 << 24;

/// ZRANDMEMBER key [count [WITHSCORES]]
pub(super) fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if args.len() < 3 {
        return random_one(ctx, &args[1]);
    }
    let count = match ranged_i64(&args[2], -i64::MAX, i64::MAX, None) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let with_scores = match args.len() {
        3 => false,
        4 if eq_ic(&args[3], "withscores") => true,
        _ => return Reply::syntax_error(),
    };
    let too_many = count.unsigned_abs() > RANDOM_REPLY_MAX && count < 0;
    let doubled_fits = (-i64::MAX / 2..=i64::MAX / 2).contains(&count);
    if (with_scores && !doubled_fits) || too_many {
        return Reply::err("ERR value is out of range");
    }
    random_many(ctx, &args[1], count, with_scores)
}

/// A draw in `0..n` (n > 0) from the server's seeded generator.
fn draw(ctx: &mut Ctx, n: usize) -> usize {
    ((u128::from(ctx.srv.rng.next_u64()) * n as u128) >> 64) as usize
}

fn random_one(ctx: &mut Ctx, key: &[u8]) -> Reply {
    let len = match read(ctx, key) {
        Ok(Some(z)) => z.len(),
        Ok(None) => return Reply::Null,
        Err(e) => return e,
    };
    let rank = draw(ctx, len);
    match held(ctx, key) {
        Some(z) => Reply::Bulk(z.at_ranks(&[rank]).remove(0).0),
        None => Reply::Null,
    }
}

fn random_many(ctx: &mut Ctx, key: &[u8], count: i64, with_scores: bool) -> Reply {
    let resp3 = resp3(ctx);
    let len = match read(ctx, key) {
        Ok(Some(z)) => z.len(),
        Ok(None) => return Reply::Array(Vec::new()),
        Err(e) => return e,
    };
    let n = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let ranks: Vec<usize> = match count {
        0 => Vec::new(),
        c if c < 0 => (0..n).map(|_| draw(ctx, len)).collect(),
        _ if n >= len => (0..len).collect(),
        _ => distinct_ranks(ctx, n, len),
    };
    let entries = held(ctx, key).map_or_else(Vec::new, |z| z.at_ranks(&ranks));
    entries_reply(entries, with_scores, resp3)
}

/// `n` distinct ranks out of `len` (n < len), by Floyd's sampling.
fn distinct_ranks(ctx: &mut Ctx, n: usize, len: usize) -> Vec<usize> {
    let mut chosen = HashSet::with_capacity(n);
    let mut order = Vec::with_capacity(n);
    for j in len - n..len {
        let t = draw(ctx, j + 1);
        let pick = if chosen.contains(&t) { j } else { t };
        chosen.insert(pick);
        order.push(pick);
    }
    order
}

// ---- ZSCAN ----

/// ZSCAN key cursor [MATCH pattern] [COUNT count]: the cursor is checked
/// first, then the key, then the options (Redis's order). Scores are
/// strings, as `%.17g` prints them.
pub(super) fn zscan(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let cursor = match parse_scan_cursor(&args[2]) {
        Ok(cursor) => cursor,
        Err(e) => return e,
    };
    let z = match read(ctx, &args[1]) {
        Ok(Some(z)) => z,
        Ok(None) => return scan_reply(0, Vec::new()),
        Err(e) => return e,
    };
    let opts = match parse_scan_options(&args[3..], false) {
        Ok(opts) => opts,
        Err(e) => return e,
    };
    let listpack = z.encoding_name() == "listpack";
    let mut items = Vec::new();
    let next = z.scan(cursor, opts.count, |member, score| {
        if opts.pattern.as_ref().is_none_or(|p| p.matches(member)) {
            items.push(Reply::Bulk(Bytes::copy_from_slice(member)));
            items.push(Reply::Bulk(scan_score(score, listpack)));
        }
    });
    scan_reply(next, items)
}

/// A score as ZSCAN shows it: the text Redis keeps in its listpack (an
/// integral score within +-2^62 is stored, and so printed, as an
/// integer), else `%.17g`.
fn scan_score(score: f64, listpack: bool) -> Bytes {
    const SAFE: f64 = (i64::MAX / 2) as f64;
    let integral = listpack && (-SAFE..=SAFE).contains(&score) && score.fract() == 0.0;
    if integral {
        Bytes::from(itoa::Buffer::new().format(score as i64).to_owned())
    } else {
        Bytes::from(format_double(score))
    }
}
