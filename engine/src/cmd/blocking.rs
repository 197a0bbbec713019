//! The blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
//! BZPOPMAX and BZMPOP.
//!
//! Each first tries what its non-blocking form does, with the same cores
//! (`cmd::list`, `cmd::zset::pop`); when one of its keys holds data it
//! answers at once and propagates as that non-blocking command, as Redis
//! 7.0 rewrites it (BLPOP → `LPOP key`, BLMPOP → `LPOP key count`, ...).
//! Otherwise the handler records what the client waits for in
//! `client.blocked` and answers nothing: the node puts the client in the
//! wait queues of its keys (`node::blocking`) and later calls [`serve`]
//! when one of them becomes ready, or answers [`TIMEOUT_REPLY`] when the
//! timeout passes. Inside EXEC or a script (`client.deny_blocking`) the
//! command answers as if its timeout had passed at once.

use super::flags::*;
use super::list::{move_element, mpop, parse_mpop, pop_elements};
use super::zset::pop::{keyed_reply, zmpop, zpop, End as ZEnd};
use super::{CommandSpec, Ctx, FindKeys, KeySpec};
use crate::client::{Blocked, BlockedOp};
use crate::resp::Reply;
use crate::types::list::End;
use crate::util::long_double::{self, Parsed};
use crate::util::{eq_ic, parse_f64, parse_i64};
use bytes::Bytes;

#[rustfmt::skip]
mod docs;

// ---- the table ----

const LIST_ACL: &[&str] = &["write", "list", "slow", "blocking"];
const ZSET_FAST_ACL: &[&str] = &["write", "sortedset", "fast", "blocking"];
const ZSET_SLOW_ACL: &[&str] = &["write", "sortedset", "slow", "blocking"];

/// BLPOP, BRPOP, BZPOPMIN, BZPOPMAX: every argument but the last is a key.
const KEYS_BEFORE_TIMEOUT: &[KeySpec] = &[KeySpec::range(&["RW", "access", "delete"], 1, -2, 1)];
/// BLMOVE, BRPOPLPUSH: the source is popped, the destination pushed.
const SOURCE_DESTINATION: &[KeySpec] = &[
    KeySpec::range(&["RW", "access", "delete"], 1, 0, 1),
    KeySpec::range(&["RW", "insert"], 2, 0, 1),
];
/// BLMPOP, BZMPOP: `numkeys` at 2, the keys after it.
const MPOP_KEYS: &[KeySpec] = &[KeySpec {
    notes: None,
    flags: &["RW", "access", "delete"],
    begin_index: 2,
    find: FindKeys::Keynum {
        keynumidx: 0,
        firstkey: 1,
        step: 1,
    },
}];

const KEYS_COMPLEXITY: &str = "O(N) where N is the number of provided keys.";
const ZPOP_COMPLEXITY: &str = "O(log(N)) with N being the number of elements in the sorted set.";

/// A blocking command with its keys from index 1 to `last_key`.
#[allow(clippy::too_many_arguments)]
const fn cmd(
    (name, group): (&'static str, &'static str),
    arity: i32,
    flags: u32,
    last_key: i32,
    acl: &'static [&'static str],
    key_specs: &'static [KeySpec],
    (since, summary, complexity): (&'static str, &'static str, &'static str),
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        last_key,
        complexity,
        ..CommandSpec::keyed(
            group,
            name,
            arity,
            flags,
            acl,
            key_specs,
            (since, summary),
            handler,
        )
    }
}

/// BLMPOP and BZMPOP: keys found through `numkeys`, none by position.
const fn movable(spec: CommandSpec) -> CommandSpec {
    CommandSpec {
        first_key: 0,
        last_key: 0,
        step: 0,
        ..spec
    }
}

const POP_FLAGS: u32 = WRITE | NOSCRIPT | BLOCKING;
const MOVE_FLAGS: u32 = WRITE | DENYOOM | NOSCRIPT | BLOCKING;
const MPOP_FLAGS: u32 = WRITE | BLOCKING | MOVABLE_KEYS;

#[rustfmt::skip]
pub const COMMANDS: &[CommandSpec] = &[
    cmd(("blpop", "list"), -3, POP_FLAGS, -2, LIST_ACL, KEYS_BEFORE_TIMEOUT,
        ("2.0.0", "Remove and get the first element in a list, or block until one is available",
            KEYS_COMPLEXITY), blpop)
        .with_docs(docs::BLPOP),
    cmd(("brpop", "list"), -3, POP_FLAGS, -2, LIST_ACL, KEYS_BEFORE_TIMEOUT,
        ("2.0.0", "Remove and get the last element in a list, or block until one is available",
            KEYS_COMPLEXITY), brpop)
        .with_docs(docs::BRPOP),
    cmd(("blmove", "list"), 6, MOVE_FLAGS, 2, LIST_ACL, SOURCE_DESTINATION,
        ("6.2.0", "Pop an element from a list, push it to another list and return it; or block \
until one is available", "O(1)"), blmove)
        .with_docs(docs::BLMOVE),
    cmd(("brpoplpush", "list"), 4, MOVE_FLAGS, 2, LIST_ACL, SOURCE_DESTINATION,
        ("2.2.0", "Pop an element from a list, push it to another list and return it; or block \
until one is available", "O(1)"), brpoplpush)
        .with_docs(docs::BRPOPLPUSH),
    movable(cmd(("blmpop", "list"), -5, MPOP_FLAGS, 0, LIST_ACL, MPOP_KEYS,
        ("7.0.0", "Pop elements from a list, or block until one is available",
            "O(N+M) where N is the number of provided keys and M is the number of elements \
returned."), blmpop))
        .with_docs(docs::BLMPOP),
    cmd(("bzpopmin", "sorted-set"), -3, POP_FLAGS | FAST, -2, ZSET_FAST_ACL, KEYS_BEFORE_TIMEOUT,
        ("5.0.0", "Remove and return the member with the lowest score from one or more sorted \
sets, or block until one is available", ZPOP_COMPLEXITY), bzpopmin)
        .with_docs(docs::BZPOPMIN),
    cmd(("bzpopmax", "sorted-set"), -3, POP_FLAGS | FAST, -2, ZSET_FAST_ACL, KEYS_BEFORE_TIMEOUT,
        ("5.0.0", "Remove and return the member with the highest score from one or more sorted \
sets, or block until one is available", ZPOP_COMPLEXITY), bzpopmax)
        .with_docs(docs::BZPOPMAX),
    movable(cmd(("bzmpop", "sorted-set"), -5, MPOP_FLAGS, 0, ZSET_SLOW_ACL, MPOP_KEYS,
        ("7.0.0", "Remove and return members with scores in a sorted set or block until one is \
available", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of \
elements in the sorted set, and M being the number of elements popped."), bzmpop))
        .with_docs(docs::BZMPOP),
];

// ---- timeouts and blocking ----

/// What every blocking command answers when its timeout passes (and on
/// CLIENT UNBLOCK ... TIMEOUT): the null array, `_` in RESP3.
pub const TIMEOUT_REPLY: Reply = Reply::NullArray;

/// The error a client unblocked by `CLIENT UNBLOCK id ERROR` gets.
pub const UNBLOCKED_ERROR: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

/// 2^63: the first double C's conversion to `long long` cannot represent.
const LLONG_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// A timeout in seconds as Redis 7.0 reads it: a `long double` (hex and
/// `inf` included), times 1000, rounded up to whole milliseconds. 0 (or a
/// value that rounds to it, such as `-0.0001`) waits forever: `Ok(None)`.
/// Otherwise the monotonic deadline, `now_ms` plus the timeout.
///
/// The product is computed in `f64` where Redis uses an x87 `long double`:
/// for some timeouts with a millisecond fraction the rounding up can give
/// one millisecond more or less than Redis's. A timeout too large for
/// C's `long long` is "negative", as the conversion makes it on x86-64;
/// one that overflows the clock waits forever.
pub(crate) fn parse_timeout(arg: &[u8], now_ms: u64) -> Result<Option<u64>, Reply> {
    let seconds =
        timeout_seconds(arg).ok_or(Reply::err("ERR timeout is not a float or out of range"))?;
    let ms = (seconds * 1000.0).ceil();
    if !(0.0..LLONG_LIMIT).contains(&ms) && ms != 0.0 {
        return Err(Reply::err("ERR timeout is negative"));
    }
    let ms = ms as u64;
    Ok((ms > 0).then(|| now_ms.saturating_add(ms)))
}

/// The number of seconds `arg` writes, if Redis's `string2ld` accepts it.
fn timeout_seconds(arg: &[u8]) -> Option<f64> {
    match long_double::parse(arg)? {
        Parsed::Infinite if arg.first() == Some(&b'-') => Some(f64::NEG_INFINITY),
        Parsed::Infinite => Some(f64::INFINITY),
        // Decimal text reads directly; hex floats through their decimal form.
        Parsed::Finite(v) => {
            parse_f64(arg).or_else(|| parse_f64(long_double::format_human(v).as_bytes()))
        }
    }
}

/// No key holds data: the client waits for `op` on `keys` (without
/// repeats), unless blocking is denied now (EXEC, scripts), where it gets
/// `denied`, the reply Redis gives there.
fn block(
    ctx: &mut Ctx,
    keys: &[Bytes],
    deadline_ms: Option<u64>,
    op: BlockedOp,
    denied: Reply,
) -> Reply {
    if ctx.client.deny_blocking {
        return denied;
    }
    let mut unique: Vec<Bytes> = Vec::with_capacity(keys.len());
    for key in keys {
        if !unique.contains(key) {
            unique.push(key.clone());
        }
    }
    ctx.client.blocked = Some(Box::new(Blocked {
        db: ctx.client.db,
        keys: unique,
        deadline_ms,
        op,
    }));
    Reply::NoReply
}

fn word(text: &'static str) -> Bytes {
    Bytes::from_static(text.as_bytes())
}

fn count_word(n: usize) -> Bytes {
    Bytes::from(itoa::Buffer::new().format(n).to_owned())
}

fn list_pop_name(end: End) -> Bytes {
    word(match end {
        End::Head => "LPOP",
        End::Tail => "RPOP",
    })
}

fn zpop_name(max: bool) -> Bytes {
    word(if max { "ZPOPMAX" } else { "ZPOPMIN" })
}

fn zend(max: bool) -> ZEnd {
    if max {
        ZEnd::Max
    } else {
        ZEnd::Min
    }
}

/// `LEFT` or `RIGHT`, as Redis parses BLMOVE's ends.
fn parse_end(arg: &[u8]) -> Result<End, Reply> {
    if eq_ic(arg, "left") {
        Ok(End::Head)
    } else if eq_ic(arg, "right") {
        Ok(End::Tail)
    } else {
        Err(Reply::syntax_error())
    }
}

/// How a move propagates: Redis writes the ends in lower case.
fn end_word(end: End) -> Bytes {
    word(match end {
        End::Head => "left",
        End::Tail => "right",
    })
}

fn into_reply(result: Result<Reply, Reply>) -> Reply {
    result.unwrap_or_else(|e| e)
}

// ---- BLPOP, BRPOP ----

fn blpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    into_reply(list_pop(ctx, args, End::Head))
}

fn brpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    into_reply(list_pop(ctx, args, End::Tail))
}

/// BLPOP/BRPOP key [key ...] timeout: `[key, element]` from the first
/// key holding a list; WRONGTYPE from a key of another type met first.
fn list_pop(ctx: &mut Ctx, args: &[Bytes], end: End) -> Result<Reply, Reply> {
    let (keys, timeout) = args[1..].split_at(args.len() - 2);
    let deadline = parse_timeout(&timeout[0], ctx.now().mono_ms)?;
    for key in keys {
        if let Some(reply) = pop_one(ctx, key, end)? {
            return Ok(reply);
        }
    }
    let denied = Reply::NullArray;
    Ok(block(ctx, keys, deadline, BlockedOp::Pop(end), denied))
}

/// Pops one element of the list at `key` for BLPOP/BRPOP: the reply, or
/// None when the key is missing.
fn pop_one(ctx: &mut Ctx, key: &Bytes, end: End) -> Result<Option<Reply>, Reply> {
    let Some(element) = pop_elements(ctx, key, end, 1)?.and_then(|mut e| e.pop()) else {
        return Ok(None);
    };
    ctx.propagate_as(vec![list_pop_name(end), key.clone()]);
    Ok(Some(Reply::Array(vec![
        Reply::Bulk(key.clone()),
        Reply::Bulk(element),
    ])))
}

// ---- BLMOVE, BRPOPLPUSH ----

fn blmove(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let ends = parse_end(&args[3]).and_then(|from| Ok((from, parse_end(&args[4])?)));
    match ends {
        Ok((from, to)) => into_reply(list_move(ctx, args, (from, to), false)),
        Err(e) => e,
    }
}

fn brpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    into_reply(list_move(ctx, args, (End::Tail, End::Head), true))
}

/// BLMOVE source destination from to timeout / BRPOPLPUSH source
/// destination timeout: the element moved. While the source is missing the
/// client waits, whatever the destination holds (a destination of another
/// type is WRONGTYPE when served, as in Redis).
fn list_move(
    ctx: &mut Ctx,
    args: &[Bytes],
    (from, to): (End, End),
    rpoplpush: bool,
) -> Result<Reply, Reply> {
    let deadline = parse_timeout(&args[args.len() - 1], ctx.now().mono_ms)?;
    let op = BlockedOp::Move {
        destination: args[2].clone(),
        from,
        to,
        rpoplpush,
    };
    match move_one(ctx, &args[1], &op)? {
        Some(reply) => Ok(reply),
        // Redis answers a null bulk here, not the null array of a timeout.
        None => Ok(block(ctx, &args[1..2], deadline, op, Reply::Null)),
    }
}

/// Moves one element as `op` (a [`BlockedOp::Move`]) says, from `source`:
/// the reply, or None when the source is missing.
fn move_one(ctx: &mut Ctx, source: &Bytes, op: &BlockedOp) -> Result<Option<Reply>, Reply> {
    let BlockedOp::Move {
        destination,
        from,
        to,
        rpoplpush,
    } = op
    else {
        return Ok(None);
    };
    let Some(element) = move_element(ctx, source, destination, *from, *to)? else {
        return Ok(None);
    };
    let argv = if *rpoplpush {
        vec![word("RPOPLPUSH"), source.clone(), destination.clone()]
    } else {
        vec![
            word("LMOVE"),
            source.clone(),
            destination.clone(),
            end_word(*from),
            end_word(*to),
        ]
    };
    ctx.propagate_as(argv);
    Ok(Some(Reply::Bulk(element)))
}

// ---- BLMPOP ----

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]: the
/// arguments after the timeout are checked before it, as Redis does.
fn blmpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let parsed = parse_mpop(args, 2).and_then(|mpop_args| {
        let deadline = parse_timeout(&args[1], ctx.now().mono_ms)?;
        Ok((mpop_args, deadline))
    });
    let (mpop_args, deadline) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return e,
    };
    let keys = &args[mpop_args.keys.clone()];
    let (end, count) = (mpop_args.end, mpop_args.count);
    let reply = mpop(ctx, keys, end, count);
    match mpop_propagation(&reply) {
        Some((key, n)) => ctx.propagate_as(vec![list_pop_name(end), key, count_word(n)]),
        None if reply == Reply::NullArray => {
            let op = BlockedOp::MultiPop { end, count };
            return block(ctx, keys, deadline, op, Reply::NullArray);
        }
        None => {}
    }
    reply
}

/// The key and the number of items of an `[key, [items]]` reply (LMPOP's
/// and ZMPOP's), for the pop they propagate as.
fn mpop_propagation(reply: &Reply) -> Option<(Bytes, usize)> {
    match reply {
        Reply::Array(parts) => match parts.as_slice() {
            [Reply::Bulk(key), Reply::Array(items)] => Some((key.clone(), items.len())),
            _ => None,
        },
        _ => None,
    }
}

// ---- BZPOPMIN, BZPOPMAX ----

fn bzpopmin(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    into_reply(zset_pop(ctx, args, false))
}

fn bzpopmax(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    into_reply(zset_pop(ctx, args, true))
}

/// BZPOPMIN/BZPOPMAX key [key ...] timeout: `[key, member, score]` from
/// the first key holding a sorted set.
fn zset_pop(ctx: &mut Ctx, args: &[Bytes], max: bool) -> Result<Reply, Reply> {
    let (keys, timeout) = args[1..].split_at(args.len() - 2);
    let deadline = parse_timeout(&timeout[0], ctx.now().mono_ms)?;
    for key in keys {
        if let Some(reply) = zpop_one(ctx, key, max)? {
            return Ok(reply);
        }
    }
    let denied = Reply::NullArray;
    Ok(block(ctx, keys, deadline, BlockedOp::ZPop { max }, denied))
}

/// Pops one member of the sorted set at `key`: the reply, or None when
/// the key is missing.
fn zpop_one(ctx: &mut Ctx, key: &Bytes, max: bool) -> Result<Option<Reply>, Reply> {
    let popped = match zpop(ctx, key, zend(max), 1)? {
        Some(popped) if !popped.is_empty() => popped,
        _ => return Ok(None),
    };
    ctx.propagate_as(vec![zpop_name(max), key.clone()]);
    Ok(Some(keyed_reply(key.clone(), popped)))
}

// ---- BZMPOP ----

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count].
fn bzmpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let parsed = parse_zmpop(args).and_then(|(keys, max, count)| {
        let deadline = parse_timeout(&args[1], ctx.now().mono_ms)?;
        Ok((keys, max, count, deadline))
    });
    let (keys, max, count, deadline) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return e,
    };
    let reply = zmpop(ctx, keys, zend(max), count);
    match mpop_propagation(&reply) {
        Some((key, n)) => ctx.propagate_as(vec![zpop_name(max), key, count_word(n)]),
        None if reply == Reply::NullArray => {
            let op = BlockedOp::ZMultiPop { max, count };
            return block(ctx, keys, deadline, op, Reply::NullArray);
        }
        None => {}
    }
    reply
}

/// `numkeys key [key ...] MIN|MAX [COUNT count]` from index 2, with
/// ZMPOP's errors: the keys, whether MAX, and the count (1 without COUNT).
fn parse_zmpop(args: &[Bytes]) -> Result<(&[Bytes], bool, usize), Reply> {
    let numkeys = parse_i64(&args[2])
        .filter(|n| *n >= 1)
        .ok_or(Reply::err("ERR numkeys should be greater than 0"))?;
    let where_at = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(3))
        .filter(|at| *at < args.len())
        .ok_or_else(Reply::syntax_error)?;
    let max = match &args[where_at] {
        w if eq_ic(w, "min") => false,
        w if eq_ic(w, "max") => true,
        _ => return Err(Reply::syntax_error()),
    };
    let count = match &args[where_at + 1..] {
        [] => 1,
        [token, n] if eq_ic(token, "count") => parse_i64(n)
            .filter(|n| *n >= 1)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .ok_or(Reply::err("ERR count should be greater than 0"))?,
        _ => return Err(Reply::syntax_error()),
    };
    Ok((&args[3..where_at], max, count))
}

// ---- serving a blocked client ----

/// Serves the blocked client of `ctx` from `key`, which may have become
/// ready: pops (or moves) what its command asks and returns its reply,
/// having set what it propagates as. None when `key` holds nothing of the
/// type the command pops: the client keeps waiting.
///
/// A BLMOVE whose destination holds another type is answered WRONGTYPE
/// and the element stays in the source (Redis 7.0 does the same).
pub(crate) fn serve(ctx: &mut Ctx, key: &Bytes, op: &BlockedOp) -> Option<Reply> {
    let served = match op {
        BlockedOp::Pop(end) => pop_one(ctx, key, *end),
        BlockedOp::Move { .. } => move_one(ctx, key, op),
        BlockedOp::MultiPop { end, count } => Ok(serve_multi_pop(ctx, key, *end, *count)),
        BlockedOp::ZPop { max } => zpop_one(ctx, key, *max),
        BlockedOp::ZMultiPop { max, count } => Ok(serve_zmulti_pop(ctx, key, *max, *count)),
    };
    served.unwrap_or_else(Some)
}

/// Whether `key` holds the type `op` pops (checked before serving: a key
/// of another type leaves the client waiting, it is no error).
pub(crate) fn holds_type_for(ctx: &mut Ctx, key: &[u8], op: &BlockedOp) -> bool {
    let now = ctx.now().unix_ms;
    match ctx.db().get(key, now) {
        Some(obj) if op.wants_zset() => obj.value.as_zset().is_some(),
        Some(obj) => obj.value.as_list().is_some(),
        None => false,
    }
}

fn serve_multi_pop(ctx: &mut Ctx, key: &Bytes, end: End, count: usize) -> Option<Reply> {
    let reply = mpop(ctx, std::slice::from_ref(key), end, count);
    let (key, n) = mpop_propagation(&reply)?;
    ctx.propagate_as(vec![list_pop_name(end), key, count_word(n)]);
    Some(reply)
}

fn serve_zmulti_pop(ctx: &mut Ctx, key: &Bytes, max: bool, count: usize) -> Option<Reply> {
    let reply = zmpop(ctx, std::slice::from_ref(key), zend(max), count);
    let (key, n) = mpop_propagation(&reply)?;
    ctx.propagate_as(vec![zpop_name(max), key, count_word(n)]);
    Some(reply)
}

#[cfg(test)]
mod tests;
