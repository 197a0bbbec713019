//! ZRANGE with BYSCORE, BYLEX, REV, LIMIT and WITHSCORES; its older forms
//! (ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX,
//! ZREVRANGEBYLEX), which are the same command with some options fixed;
//! ZRANGESTORE; and ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX.

use super::parse::{lex_range, score_range};
use super::{drop_if_empty, entries_reply, read, resp3, store, write, zset_changed};
use crate::cmd::Ctx;
use crate::resp::Reply;
use crate::types::zset::{LexRange, ScoreRange, ZSetValue};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

/// How the range is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    /// Not fixed by the command name, not given yet (ZRANGE).
    Unset,
    Rank,
    Score,
    Lex,
}

/// The parsed options of a range command.
#[derive(Debug)]
struct Options {
    by: By,
    /// None until REV is given (or the command fixes the direction).
    rev: Option<bool>,
    with_scores: bool,
    offset: i64,
    /// -1: no limit.
    limit: i64,
}

const MIN_MAX_NOT_FLOAT: &str = "ERR min or max is not a float";
const MIN_MAX_NOT_LEX: &str = "ERR min or max not valid string range item";

/// Parses the options after `key min max`, left to right as Redis does:
/// LIMIT's numbers are checked when met, REV, BYSCORE and BYLEX only where
/// the command leaves them open, WITHSCORES only when not storing.
fn parse_options(args: &[Bytes], store: bool, mut opts: Options) -> Result<Options, Reply> {
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let left = args.len() - i - 1;
        if !store && eq_ic(arg, "withscores") {
            opts.with_scores = true;
        } else if eq_ic(arg, "limit") && left >= 2 {
            opts.offset = parse_i64(&args[i + 1]).ok_or_else(Reply::not_integer)?;
            opts.limit = parse_i64(&args[i + 2]).ok_or_else(Reply::not_integer)?;
            i += 2;
        } else if opts.rev.is_none() && eq_ic(arg, "rev") {
            opts.rev = Some(true);
        } else if opts.by == By::Unset && eq_ic(arg, "bylex") {
            opts.by = By::Lex;
        } else if opts.by == By::Unset && eq_ic(arg, "byscore") {
            opts.by = By::Score;
        } else {
            return Err(Reply::syntax_error());
        }
        i += 1;
    }
    if opts.by == By::Unset {
        opts.by = By::Rank;
    }
    if opts.limit != -1 && opts.by == By::Rank {
        return Err(Reply::err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if opts.with_scores && opts.by == By::Lex {
        return Err(Reply::err(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    Ok(opts)
}

/// The range itself.
enum Bounds {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// Parses `start stop` (or `min max`; `max min` for the reverse score and
/// lex forms, which Redis reads swapped).
fn parse_bounds(by: By, rev: bool, a: &[u8], b: &[u8]) -> Result<Bounds, Reply> {
    let (min, max) = if rev && by != By::Rank {
        (b, a)
    } else {
        (a, b)
    };
    match by {
        By::Score => score_range(min, max)
            .map(Bounds::Score)
            .ok_or(Reply::err(MIN_MAX_NOT_FLOAT)),
        By::Lex => lex_range(min, max)
            .map(Bounds::Lex)
            .ok_or(Reply::err(MIN_MAX_NOT_LEX)),
        By::Rank | By::Unset => {
            let start = parse_i64(min).ok_or_else(Reply::not_integer)?;
            let stop = parse_i64(max).ok_or_else(Reply::not_integer)?;
            Ok(Bounds::Rank(start, stop))
        }
    }
}

/// Ranks `start..=stop` (negative from the end) clamped to a set of `len`
/// members, as Redis sanitises them; None when empty.
fn rank_span(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        len.saturating_add(start)
    } else {
        start
    }
    .max(0);
    let stop = if stop < 0 {
        len.saturating_add(stop)
    } else {
        stop
    };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

/// The part of `first..=last` that LIMIT keeps, counting from the end the
/// walk starts at (the top with `rev`). A negative offset skips
/// everything and a negative count keeps everything, as in Redis.
fn limited(
    first: usize,
    last: usize,
    rev: bool,
    offset: i64,
    limit: i64,
) -> Option<(usize, usize)> {
    let offset = usize::try_from(offset).ok()?;
    let count = last - first + 1;
    let left = count.checked_sub(offset).filter(|&n| n > 0)?;
    let take = usize::try_from(limit).map_or(left, |l| l.min(left));
    if take == 0 {
        return None;
    }
    Some(if rev {
        (last - offset + 1 - take, last - offset)
    } else {
        (first + offset, first + offset + take - 1)
    })
}

/// The ranks the range selects, as `(first, last)` in ascending rank
/// order, or None when it selects nothing.
fn select_span(
    z: &ZSetValue,
    bounds: &Bounds,
    rev: bool,
    offset: i64,
    limit: i64,
) -> Option<(usize, usize)> {
    let len = z.len();
    match bounds {
        Bounds::Rank(start, stop) => rank_span(*start, *stop, len).map(|(a, b)| match rev {
            true => (len - 1 - b, len - 1 - a),
            false => (a, b),
        }),
        Bounds::Score(range) => z
            .score_span(range)
            .and_then(|(a, b)| limited(a, b, rev, offset, limit)),
        Bounds::Lex(range) => z
            .lex_span(range, rev)
            .and_then(|(a, b)| limited(a, b, rev, offset, limit)),
    }
}

/// The entries the range selects, in reply order.
fn select(z: &ZSetValue, bounds: &Bounds, rev: bool, offset: i64, limit: i64) -> Vec<(Bytes, f64)> {
    select_span(z, bounds, rev, offset, limit)
        .map_or_else(Vec::new, |(first, last)| z.range(first, last, rev))
}

/// The reply to a range read, encoded straight from the set (no copy of
/// the members) when it is all bulk strings: without scores, or in RESP2.
fn range_reply(
    z: &ZSetValue,
    span: Option<(usize, usize)>,
    rev: bool,
    with_scores: bool,
    resp3: bool,
) -> Reply {
    let Some((first, last)) = span else {
        return entries_reply(Vec::new(), with_scores, resp3);
    };
    if with_scores && resp3 {
        return entries_reply(z.range(first, last, rev), with_scores, resp3);
    }
    let per_entry = if with_scores { 2 } else { 1 };
    let mut array = crate::resp::BulkArray::with_capacity((last - first + 1) * per_entry, 8);
    z.visit_range(first, last, rev, |member, score| {
        array.push(member);
        if with_scores {
            array.push(crate::resp::format_double(score).as_bytes());
        }
    });
    Reply::Bulks(array)
}

/// Every range command: `key_at` is where the source key is (2 for
/// ZRANGESTORE, whose destination is at 1); `by` and `rev` are what the
/// command's name fixes.
fn range_command(ctx: &mut Ctx, args: &[Bytes], key_at: usize, by: By, rev: Option<bool>) -> Reply {
    let storing = key_at == 2;
    let opts = Options {
        by,
        rev,
        with_scores: false,
        offset: 0,
        limit: -1,
    };
    let opts = match parse_options(&args[key_at + 3..], storing, opts) {
        Ok(opts) => opts,
        Err(e) => return e,
    };
    let rev = opts.rev.unwrap_or(false);
    let bounds = match parse_bounds(opts.by, rev, &args[key_at + 1], &args[key_at + 2]) {
        Ok(bounds) => bounds,
        Err(e) => return e,
    };
    let resp3 = resp3(ctx);
    if !storing {
        return match read(ctx, &args[key_at]) {
            Ok(Some(z)) => {
                let span = select_span(z, &bounds, rev, opts.offset, opts.limit);
                range_reply(z, span, rev, opts.with_scores, resp3)
            }
            Ok(None) => entries_reply(Vec::new(), opts.with_scores, resp3),
            Err(e) => e,
        };
    }
    let mut entries = match read(ctx, &args[key_at]) {
        Ok(Some(z)) => select(z, &bounds, rev, opts.offset, opts.limit),
        Ok(None) => Vec::new(),
        Err(e) => return e,
    };
    if rev {
        entries.reverse();
    }
    store(ctx, &args[1], &entries, "zrangestore")
}

pub(super) fn zrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    range_command(ctx, args, 1, By::Unset, None)
}

pub(super) fn zrangestore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    range_command(ctx, args, 2, By::Unset, None)
}

pub(super) fn zrevrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    range_command(ctx, args, 1, By::Rank, Some(true))
}

pub(super) fn zrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    range_command(ctx, args, 1, By::Score, Some(false))
}

pub(super) fn zrevrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    range_command(ctx, args, 1, By::Score, Some(true))
}

pub(super) fn zrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    range_command(ctx, args, 1, By::Lex, Some(false))
}

pub(super) fn zrevrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    range_command(ctx, args, 1, By::Lex, Some(true))
}

// ---- ZREMRANGEBY* ----

/// Removes what `bounds` selects (in ascending order) from `key`.
fn remove_range(ctx: &mut Ctx, key: &[u8], bounds: Result<Bounds, Reply>) -> Reply {
    let bounds = match bounds {
        Ok(bounds) => bounds,
        Err(e) => return e,
    };
    let removed = match write(ctx, key) {
        Err(e) => return e,
        Ok(None) => 0,
        Ok(Some(z)) => {
            let span = match &bounds {
                Bounds::Rank(start, stop) => rank_span(*start, *stop, z.len()),
                Bounds::Score(range) => z.score_span(range),
                Bounds::Lex(range) => z.lex_span(range, false),
            };
            span.map_or(0, |(first, last)| {
                z.remove_ranks(first, last);
                last - first + 1
            })
        }
    };
    if removed > 0 {
        let emptied = drop_if_empty(ctx, key);
        ctx.dirty(removed as u64);
        let event = match bounds {
            Bounds::Rank(..) => "zremrangebyrank",
            Bounds::Score(_) => "zremrangebyscore",
            Bounds::Lex(_) => "zremrangebylex",
        };
        zset_changed(ctx, key, event, emptied);
    }
    Reply::Int(removed as i64)
}

pub(super) fn zremrangebyrank(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let bounds = parse_bounds(By::Rank, false, &args[2], &args[3]);
    remove_range(ctx, &args[1], bounds)
}

pub(super) fn zremrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let bounds = parse_bounds(By::Score, false, &args[2], &args[3]);
    remove_range(ctx, &args[1], bounds)
}

pub(super) fn zremrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let bounds = parse_bounds(By::Lex, false, &args[2], &args[3]);
    remove_range(ctx, &args[1], bounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_spans_are_sanitised_as_redis() {
        assert_eq!(rank_span(0, -1, 3), Some((0, 2)));
        assert_eq!(rank_span(-100, 100, 3), Some((0, 2)));
        assert_eq!(rank_span(2, 1, 3), None);
        assert_eq!(rank_span(3, 5, 3), None);
        assert_eq!(rank_span(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(rank_span(0, -4, 3), None);
        assert_eq!(rank_span(0, 0, 0), None);
    }

    #[test]
    fn limit_counts_from_where_the_walk_starts() {
        assert_eq!(limited(2, 9, false, 0, -1), Some((2, 9)));
        assert_eq!(limited(2, 9, false, 3, 2), Some((5, 6)));
        assert_eq!(limited(2, 9, true, 3, 2), Some((5, 6)));
        assert_eq!(limited(2, 9, true, 0, 1), Some((9, 9)));
        assert_eq!(limited(2, 9, false, 8, -1), None);
        assert_eq!(limited(2, 9, false, 7, 100), Some((9, 9)));
        assert_eq!(limited(2, 9, false, -1, 5), None);
        assert_eq!(limited(2, 9, false, 0, 0), None);
        assert_eq!(limited(2, 9, false, i64::MAX, i64::MAX), None);
    }
}
