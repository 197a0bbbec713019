//! Sorted set commands: adding and scoring (ZADD, ZINCRBY, ZREM, ZSCORE,
//! ranks and counts), ranges (ZRANGE and its older forms, ZRANGESTORE,
//! ZREMRANGEBY*), pops (ZPOPMIN, ZPOPMAX, ZMPOP), set operations (ZUNION,
//! ZINTER, ZDIFF and their STORE forms, ZINTERCARD), ZRANDMEMBER and ZSCAN.
//!
//! The pop cores ([`pop::zpop`], [`pop::zmpop`]) are `pub(crate)` for the
//! blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP), built elsewhere.

use super::flags::*;
use super::{CommandSpec, Ctx, FindKeys, KeySpec};
use crate::db::Object;
use crate::notify::class;
use crate::resp::{Protocol, Reply};
use crate::types::zset::{Limits, ZSetValue};
use crate::types::Value;
use bytes::Bytes;

mod add;
#[rustfmt::skip]
mod docs;
#[cfg(test)]
mod effects_tests;
mod parse;
pub(crate) mod pop;
mod range;
mod setops;
#[cfg(test)]
mod tests;

// ---- the table ----

const READ_FAST: &[&str] = &["read", "sortedset", "fast"];
const READ_SLOW: &[&str] = &["read", "sortedset", "slow"];
const WRITE_FAST: &[&str] = &["write", "sortedset", "fast"];
const WRITE_SLOW: &[&str] = &["write", "sortedset", "slow"];

/// One key at `begin`, with these key-spec flags.
const fn key_at(begin_index: i32, flags: &'static [&'static str]) -> KeySpec {
    KeySpec::range(flags, begin_index, 0, 1)
}

/// `numkeys key [key ...]` starting at `begin`.
const fn keys_counted_at(begin_index: i32, flags: &'static [&'static str]) -> KeySpec {
    KeySpec {
        notes: None,
        flags,
        begin_index,
        find: FindKeys::Keynum {
            keynumidx: 0,
            firstkey: 1,
            step: 1,
        },
    }
}

const RO: &[KeySpec] = &[key_at(1, &["RO"])];
const RO_ACCESS: &[KeySpec] = &[key_at(1, &["RO", "access"])];
const RW_UPDATE: &[KeySpec] = &[key_at(1, &["RW", "update"])];
const RW_ACCESS_UPDATE: &[KeySpec] = &[key_at(1, &["RW", "access", "update"])];
const RW_DELETE: &[KeySpec] = &[key_at(1, &["RW", "delete"])];
const RW_ACCESS_DELETE: &[KeySpec] = &[key_at(1, &["RW", "access", "delete"])];
/// `numkeys key ...` read by ZUNION, ZINTER, ZDIFF, ZINTERCARD.
const COUNTED_RO: &[KeySpec] = &[keys_counted_at(1, &["RO", "access"])];
/// `destination numkeys key ...` of the STORE forms.
const STORE_COUNTED: &[KeySpec] = &[
    key_at(1, &["OW", "update"]),
    keys_counted_at(2, &["RO", "access"]),
];

const RANGE_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted \
set and M the number of elements returned.";
const RANGE_BY_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted \
set and M the number of elements being returned. If M is constant (e.g. always asking for the \
first 10 elements with LIMIT), you can consider it O(log(N)).";
const REMRANGE_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted \
set and M the number of elements removed by the operation.";
const POP_COMPLEXITY: &str = "O(log(N)*M) with N being the number of elements in the sorted set, \
and M being the number of elements popped.";
const MPOP_COMPLEXITY: &str = "O(K) + O(M*log(N)) where K is the number of provided keys, N \
being the number of elements in the sorted set, and M being the number of elements popped.";
const UNION_COMPLEXITY: &str = "O(N)+O(M*log(M)) with N being the sum of the sizes of the input \
sorted sets, and M being the number of elements in the resulting sorted set.";
const INTER_COMPLEXITY: &str = "O(N*K)+O(M*log(M)) worst case with N being the smallest input \
sorted set, K being the number of input sorted sets and M being the number of elements in the \
resulting sorted set.";
const DIFF_COMPLEXITY: &str = "O(L + (N-K)log(N)) worst case where L is the total number of \
elements in all the sets, N is the size of the first set, and K is the size of the result set.";

/// A single-key sorted set command; the table overrides the rest.
const fn cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    acl: &'static [&'static str],
    key_specs: &'static [KeySpec],
    (since, summary, complexity): (&'static str, &'static str, &'static str),
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        complexity,
        ..CommandSpec::keyed(
            "sorted-set",
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

/// A command whose keys follow a `numkeys` argument (no fixed positions).
const fn counted(
    name: &'static str,
    arity: i32,
    flags: u32,
    acl: &'static [&'static str],
    key_specs: &'static [KeySpec],
    info: (&'static str, &'static str, &'static str),
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        first_key: 0,
        last_key: 0,
        step: 0,
        ..cmd(
            name,
            arity,
            flags | MOVABLE_KEYS,
            acl,
            key_specs,
            info,
            handler,
        )
    }
}

/// A STORE form: the destination at 1, then `numkeys key ...`.
const fn storing(
    name: &'static str,
    info: (&'static str, &'static str, &'static str),
    handler: super::Handler,
) -> CommandSpec {
    cmd(
        name,
        -4,
        WRITE | DENYOOM | MOVABLE_KEYS,
        WRITE_SLOW,
        STORE_COUNTED,
        info,
        handler,
    )
}

#[rustfmt::skip]
pub const COMMANDS: &[CommandSpec] = &[
    cmd("zadd", -4, WRITE | DENYOOM | FAST, WRITE_FAST, RW_UPDATE,
        ("1.2.0", "Add one or more members to a sorted set, or update its score if it already exists",
         "O(log(N)) for each item added, where N is the number of elements in the sorted set."),
        add::zadd).with_docs(docs::ZADD),
    cmd("zincrby", 4, WRITE | DENYOOM | FAST, WRITE_FAST, RW_ACCESS_UPDATE,
        ("1.2.0", "Increment the score of a member in a sorted set",
         "O(log(N)) where N is the number of elements in the sorted set."),
        add::zincrby).with_docs(docs::ZINCRBY),
    cmd("zrem", -3, WRITE | FAST, WRITE_FAST, RW_DELETE,
        ("1.2.0", "Remove one or more members from a sorted set",
         "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed."),
        add::zrem).with_docs(docs::ZREM),
    cmd("zcard", 2, READONLY | FAST, READ_FAST, RO,
        ("1.2.0", "Get the number of members in a sorted set", "O(1)"),
        add::zcard).with_docs(docs::ZCARD),
    cmd("zscore", 3, READONLY | FAST, READ_FAST, RO_ACCESS,
        ("1.2.0", "Get the score associated with the given member in a sorted set", "O(1)"),
        add::zscore).with_docs(docs::ZSCORE),
    cmd("zmscore", -3, READONLY | FAST, READ_FAST, RO_ACCESS,
        ("6.2.0", "Get the score associated with the given members in a sorted set",
         "O(N) where N is the number of members being requested."),
        add::zmscore).with_docs(docs::ZMSCORE),
    // Arity -3: Redis 7.2's WITHSCORE option (7.0.15 has arity 3).
    cmd("zrank", -3, READONLY | FAST, READ_FAST, RO_ACCESS,
        ("2.0.0", "Determine the index of a member in a sorted set", "O(log(N))"),
        add::zrank).with_docs(docs::ZRANK),
    cmd("zrevrank", -3, READONLY | FAST, READ_FAST, RO_ACCESS,
        ("2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low",
         "O(log(N))"),
        add::zrevrank).with_docs(docs::ZREVRANK),
    cmd("zcount", 4, READONLY | FAST, READ_FAST, RO_ACCESS,
        ("2.0.0", "Count the members in a sorted set with scores within the given values",
         "O(log(N)) with N being the number of elements in the sorted set."),
        add::zcount).with_docs(docs::ZCOUNT),
    cmd("zlexcount", 4, READONLY | FAST, READ_FAST, RO_ACCESS,
        ("2.8.9", "Count the number of members in a sorted set between a given lexicographical range",
         "O(log(N)) with N being the number of elements in the sorted set."),
        add::zlexcount).with_docs(docs::ZLEXCOUNT),
    cmd("zrange", -4, READONLY, READ_SLOW, RO_ACCESS,
        ("1.2.0", "Return a range of members in a sorted set", RANGE_COMPLEXITY),
        range::zrange).with_docs(docs::ZRANGE),
    CommandSpec {
        last_key: 2,
        ..cmd("zrangestore", -5, WRITE | DENYOOM, WRITE_SLOW,
            &[key_at(1, &["OW", "update"]), key_at(2, &["RO", "access"])],
            ("6.2.0", "Store a range of members from sorted set into another key",
             "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key."),
            range::zrangestore)
    }.with_docs(docs::ZRANGESTORE),
    cmd("zrevrange", -4, READONLY, READ_SLOW, RO_ACCESS,
        ("1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low",
         RANGE_COMPLEXITY),
        range::zrevrange).with_docs(docs::ZREVRANGE),
    cmd("zrangebyscore", -4, READONLY, READ_SLOW, RO_ACCESS,
        ("1.0.5", "Return a range of members in a sorted set, by score", RANGE_BY_COMPLEXITY),
        range::zrangebyscore).with_docs(docs::ZRANGEBYSCORE),
    cmd("zrevrangebyscore", -4, READONLY, READ_SLOW, RO_ACCESS,
        ("2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low",
         RANGE_BY_COMPLEXITY),
        range::zrevrangebyscore).with_docs(docs::ZREVRANGEBYSCORE),
    cmd("zrangebylex", -4, READONLY, READ_SLOW, RO_ACCESS,
        ("2.8.9", "Return a range of members in a sorted set, by lexicographical range", RANGE_BY_COMPLEXITY),
        range::zrangebylex).with_docs(docs::ZRANGEBYLEX),
    cmd("zrevrangebylex", -4, READONLY, READ_SLOW, RO_ACCESS,
        ("2.8.9", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
         RANGE_BY_COMPLEXITY),
        range::zrevrangebylex).with_docs(docs::ZREVRANGEBYLEX),
    cmd("zremrangebyrank", 4, WRITE, WRITE_SLOW, RW_DELETE,
        ("2.0.0", "Remove all members in a sorted set within the given indexes", REMRANGE_COMPLEXITY),
        range::zremrangebyrank).with_docs(docs::ZREMRANGEBYRANK),
    cmd("zremrangebyscore", 4, WRITE, WRITE_SLOW, RW_DELETE,
        ("1.2.0", "Remove all members in a sorted set within the given scores", REMRANGE_COMPLEXITY),
        range::zremrangebyscore).with_docs(docs::ZREMRANGEBYSCORE),
    cmd("zremrangebylex", 4, WRITE, WRITE_SLOW, RW_DELETE,
        ("2.8.9", "Remove all members in a sorted set between the given lexicographical range",
         REMRANGE_COMPLEXITY),
        range::zremrangebylex).with_docs(docs::ZREMRANGEBYLEX),
    cmd("zpopmin", -2, WRITE | FAST, WRITE_FAST, RW_ACCESS_DELETE,
        ("5.0.0", "Remove and return members with the lowest scores in a sorted set", POP_COMPLEXITY),
        pop::zpopmin).with_docs(docs::ZPOPMIN),
    cmd("zpopmax", -2, WRITE | FAST, WRITE_FAST, RW_ACCESS_DELETE,
        ("5.0.0", "Remove and return members with the highest scores in a sorted set", POP_COMPLEXITY),
        pop::zpopmax).with_docs(docs::ZPOPMAX),
    counted("zmpop", -4, WRITE, WRITE_SLOW, &[keys_counted_at(1, &["RW", "access", "delete"])],
        ("7.0.0", "Remove and return members with scores in a sorted set", MPOP_COMPLEXITY),
        pop::zmpop_command).with_docs(docs::ZMPOP),
    CommandSpec {
        tips: &["nondeterministic_output"],
        ..cmd("zrandmember", -2, READONLY, READ_SLOW, RO_ACCESS,
            ("6.2.0", "Get one or multiple random elements from a sorted set",
             "O(N) where N is the number of elements returned"),
            pop::zrandmember)
    }.with_docs(docs::ZRANDMEMBER),
    CommandSpec {
        tips: &["nondeterministic_output"],
        ..cmd("zscan", -3, READONLY, READ_SLOW, RO_ACCESS,
            ("2.8.0", "Incrementally iterate sorted sets elements and associated scores",
             "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."),
            pop::zscan)
    }.with_docs(docs::ZSCAN),
    counted("zunion", -3, READONLY, READ_SLOW, COUNTED_RO,
        ("6.2.0", "Add multiple sorted sets", UNION_COMPLEXITY), setops::zunion)
        .with_docs(docs::ZUNION),
    counted("zinter", -3, READONLY, READ_SLOW, COUNTED_RO,
        ("6.2.0", "Intersect multiple sorted sets", INTER_COMPLEXITY), setops::zinter)
        .with_docs(docs::ZINTER),
    counted("zdiff", -3, READONLY, READ_SLOW, COUNTED_RO,
        ("6.2.0", "Subtract multiple sorted sets", DIFF_COMPLEXITY), setops::zdiff)
        .with_docs(docs::ZDIFF),
    counted("zintercard", -3, READONLY, READ_SLOW, COUNTED_RO,
        ("7.0.0", "Intersect multiple sorted sets and return the cardinality of the result",
         "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets."),
        setops::zintercard).with_docs(docs::ZINTERCARD),
    storing("zunionstore",
        ("2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key",
         "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
        setops::zunionstore).with_docs(docs::ZUNIONSTORE),
    storing("zinterstore",
        ("2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key",
         INTER_COMPLEXITY),
        setops::zinterstore).with_docs(docs::ZINTERSTORE),
    storing("zdiffstore",
        ("6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key",
         DIFF_COMPLEXITY),
        setops::zdiffstore).with_docs(docs::ZDIFFSTORE),
];

// ---- shared helpers ----

/// The sorted set under `key` for a read (keyspace hit/miss counted):
/// `Ok(None)` when missing, `Err(WRONGTYPE)` for another type.
fn read<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a ZSetValue>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(obj) => obj.value.as_zset().map(Some).ok_or_else(Reply::wrong_type),
    }
}

/// The sorted set under `key` for a change (no hit/miss counting).
fn write<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut ZSetValue>, Reply> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(obj) => obj
            .value
            .as_zset_mut()
            .map(Some)
            .ok_or_else(Reply::wrong_type),
    }
}

fn limits(ctx: &Ctx) -> Limits {
    Limits::of(&ctx.srv.config)
}

fn resp3(ctx: &Ctx) -> bool {
    ctx.client.protocol == Protocol::Resp3
}

/// Deletes `key` if the sorted set there was emptied: an empty collection
/// never stays in the keyspace. True if it was.
fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) -> bool {
    let now = ctx.now().unix_ms;
    let emptied = ctx
        .db()
        .get(key, now)
        .and_then(|obj| obj.value.as_zset())
        .is_some_and(ZSetValue::is_empty);
    if emptied {
        ctx.db().remove(key);
    }
    emptied
}

/// Signals a change to the sorted set at `key` (WATCH, keyspace events):
/// the command's `event`, then `del` when the change emptied it.
fn zset_changed(ctx: &mut Ctx, key: &[u8], event: &str, emptied: bool) {
    ctx.key_modified(key);
    ctx.notify(class::ZSET, event, key);
    if emptied {
        ctx.notify(class::GENERIC, "del", key);
    }
}

/// Stores `entries` (sorted, distinct members) under `dst` as a new sorted
/// set, replacing any value and TTL there (Redis's setKey), or deletes
/// `dst` when there are none. Replies the number stored. `event` is the
/// command's keyspace event.
fn store(ctx: &mut Ctx, dst: &[u8], entries: &[(Bytes, f64)], event: &str) -> Reply {
    let existing = ctx.lookup_write(dst).map(|obj| obj.access);
    if entries.is_empty() {
        if existing.is_some() {
            ctx.db().remove(dst);
            ctx.dirty(1);
            ctx.key_modified(dst);
            ctx.notify(class::GENERIC, "del", dst);
        }
        return Reply::Int(0);
    }
    let value = ZSetValue::from_sorted(entries, &limits(ctx));
    let access = existing.unwrap_or_else(|| ctx.new_access());
    ctx.db().set(dst, Value::ZSet(value), access, false);
    ctx.dirty(1);
    zset_changed(ctx, dst, event, false);
    Reply::Int(entries.len() as i64)
}

/// Inserts a new, empty sorted set under a missing `key`.
fn create(ctx: &mut Ctx, key: &[u8], value: ZSetValue) {
    let access = ctx.new_access();
    ctx.db()
        .insert_new(key, Object::new(Value::ZSet(value), access));
}

/// The sorted set under `key`, already looked up (and type-checked) by
/// this command: no second access-time touch or hit count, which Redis's
/// single lookup would not make.
fn held<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<&'a mut ZSetValue> {
    let now = ctx.now().unix_ms;
    ctx.db()
        .get_mut(key, now)
        .and_then(|obj| obj.value.as_zset_mut())
}

/// Members as bulk strings.
fn members_reply(entries: Vec<(Bytes, f64)>) -> Reply {
    let mut array = crate::resp::BulkArray::with_capacity(entries.len(), 8);
    for (member, _) in &entries {
        array.push(member);
    }
    Reply::Bulks(array)
}

/// Members with their scores: a flat array in RESP2, an array of
/// `[member, score]` pairs in RESP3 (as Redis 7.0).
fn scored_reply(entries: Vec<(Bytes, f64)>, resp3: bool) -> Reply {
    if resp3 {
        let pairs = entries
            .into_iter()
            .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]));
        Reply::Array(pairs.collect())
    } else {
        let mut flat = Vec::with_capacity(entries.len() * 2);
        for (m, s) in entries {
            flat.push(Reply::Bulk(m));
            flat.push(Reply::Double(s));
        }
        Reply::Array(flat)
    }
}

/// A range reply: with or without scores.
fn entries_reply(entries: Vec<(Bytes, f64)>, with_scores: bool, resp3: bool) -> Reply {
    if with_scores && !resp3 {
        // RESP2 sends a score as a bulk string: the whole reply is bulks.
        let mut flat = crate::resp::BulkArray::with_capacity(entries.len() * 2, 8);
        for (member, score) in &entries {
            flat.push(member);
            flat.push(crate::resp::format_double(*score).as_bytes());
        }
        Reply::Bulks(flat)
    } else if with_scores {
        scored_reply(entries, resp3)
    } else {
        members_reply(entries)
    }
}
