//! Hash commands: setting and reading fields (HSET family, HGET, HMGET,
//! HGETALL, HKEYS, HVALS), counters (HINCRBY, HINCRBYFLOAT), and the
//! random and incremental readers (HRANDFIELD, HSCAN).
//!
//! Every handler checks the key's type through `Value::as_hash` (or
//! `Value::as_hash_mut`); a write that would create a hash stores it only
//! once it holds a field, and HDEL deletes the key with its last field, so
//! no empty hash ever stays in the keyspace.

use super::flags::*;
use super::keys::{parse_scan_cursor, parse_scan_options, scan_reply};
use super::{CommandSpec, Ctx, KeySpec};
use crate::notify::class;
use crate::resp::{Protocol, Reply};
use crate::server::Server;
use crate::types::hash::{HashLimits, Item, Pair};
use crate::types::{HashValue, Value};
use crate::util::long_double::{self, LongDouble, Parsed};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use std::borrow::Cow;

#[rustfmt::skip]
mod docs;

/// Largest negative HRANDFIELD count served: the reply holds that many
/// fields (twice as many items with WITHVALUES), built in memory before it
/// is sent. Redis has no bound and runs out of memory instead.
pub const RANDFIELD_MAX_REPEATED: u64 = 1 << 24;

// ---- the table ----

const READ_FAST: &[&str] = &["read", "hash", "fast"];
const READ_SLOW: &[&str] = &["read", "hash", "slow"];
const WRITE_FAST: &[&str] = &["write", "hash", "fast"];

const fn key_at_1(flags: &'static [&'static str]) -> KeySpec {
    KeySpec::range(flags, 1, 0, 1)
}

const RO: &[KeySpec] = &[key_at_1(&["RO"])];
const RO_ACCESS: &[KeySpec] = &[key_at_1(&["RO", "access"])];
const RW_UPDATE: &[KeySpec] = &[key_at_1(&["RW", "update"])];
const RW_INSERT: &[KeySpec] = &[key_at_1(&["RW", "insert"])];
const RW_DELETE: &[KeySpec] = &[key_at_1(&["RW", "delete"])];
const RW_ACCESS_UPDATE: &[KeySpec] = &[key_at_1(&["RW", "access", "update"])];

const WHOLE_HASH: &str = "O(N) where N is the size of the hash.";

/// A hash command on the key at index 1, O(1) unless the table says otherwise.
const fn cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    acl: &'static [&'static str],
    key_specs: &'static [KeySpec],
    doc: (&'static str, &'static str),
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec::keyed("hash", name, arity, flags, acl, key_specs, doc, handler)
}

#[rustfmt::skip]
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        complexity: "O(1) for each field/value pair added, so O(N) to add N field/value pairs \
when the command is called with multiple field/value pairs.",
        ..cmd("hset", -4, WRITE | DENYOOM | FAST, WRITE_FAST, RW_UPDATE,
            ("2.0.0", "Set the string value of a hash field"), hset)
    }.with_docs(docs::HSET),
    cmd("hsetnx", 4, WRITE | DENYOOM | FAST, WRITE_FAST, RW_INSERT,
        ("2.0.0", "Set the value of a hash field, only if the field does not exist"), hsetnx)
        .with_docs(docs::KEY_FIELD_VALUE),
    cmd("hget", 3, READONLY | FAST, READ_FAST, RO_ACCESS,
        ("2.0.0", "Get the value of a hash field"), hget)
        .with_docs(docs::KEY_FIELD),
    CommandSpec {
        complexity: "O(N) where N is the number of fields being requested.",
        ..cmd("hmget", -3, READONLY | FAST, READ_FAST, RO_ACCESS,
            ("2.0.0", "Get the values of all the given hash fields"), hmget)
    }.with_docs(docs::HMGET),
    CommandSpec {
        complexity: "O(N) where N is the number of fields being set.",
        ..cmd("hmset", -4, WRITE | DENYOOM | FAST, WRITE_FAST, RW_UPDATE,
            ("2.0.0", "Set multiple hash fields to multiple values"), hmset)
    }.with_docs(docs::HMSET),
    CommandSpec {
        complexity: WHOLE_HASH,
        tips: &["nondeterministic_output_order"],
        ..cmd("hgetall", 2, READONLY, READ_SLOW, RO_ACCESS,
            ("2.0.0", "Get all the fields and values in a hash"), hgetall)
    }.with_docs(docs::KEY),
    CommandSpec {
        complexity: "O(N) where N is the number of fields to be removed.",
        ..cmd("hdel", -3, WRITE | FAST, WRITE_FAST, RW_DELETE,
            ("2.0.0", "Delete one or more hash fields"), hdel)
    }.with_docs(docs::HDEL),
    cmd("hexists", 3, READONLY | FAST, READ_FAST, RO,
        ("2.0.0", "Determine if a hash field exists"), hexists)
        .with_docs(docs::KEY_FIELD),
    cmd("hlen", 2, READONLY | FAST, READ_FAST, RO,
        ("2.0.0", "Get the number of fields in a hash"), hlen)
        .with_docs(docs::KEY),
    cmd("hstrlen", 3, READONLY | FAST, READ_FAST, RO,
        ("3.2.0", "Get the length of the value of a hash field"), hstrlen)
        .with_docs(docs::KEY_FIELD),
    cmd("hincrby", 4, WRITE | DENYOOM | FAST, WRITE_FAST, RW_ACCESS_UPDATE,
        ("2.0.0", "Increment the integer value of a hash field by the given number"), hincrby)
        .with_docs(docs::HINCRBY),
    cmd("hincrbyfloat", 4, WRITE | DENYOOM | FAST, WRITE_FAST, RW_ACCESS_UPDATE,
        ("2.6.0", "Increment the float value of a hash field by the given amount"), hincrbyfloat)
        .with_docs(docs::HINCRBYFLOAT),
    CommandSpec {
        complexity: WHOLE_HASH,
        tips: &["nondeterministic_output_order"],
        ..cmd("hkeys", 2, READONLY, READ_SLOW, RO_ACCESS,
            ("2.0.0", "Get all the fields in a hash"), hkeys)
    }.with_docs(docs::KEY),
    CommandSpec {
        complexity: WHOLE_HASH,
        tips: &["nondeterministic_output_order"],
        ..cmd("hvals", 2, READONLY, READ_SLOW, RO_ACCESS,
            ("2.0.0", "Get all the values in a hash"), hvals)
    }.with_docs(docs::KEY),
    CommandSpec {
        complexity: "O(N) where N is the number of fields returned",
        tips: &["nondeterministic_output"],
        ..cmd("hrandfield", -2, READONLY, READ_SLOW, RO_ACCESS,
            ("6.2.0", "Get one or multiple random fields from a hash"), hrandfield)
    }.with_docs(docs::HRANDFIELD),
    CommandSpec {
        complexity: "O(1) for every call. O(N) for a complete iteration, including enough \
command calls for the cursor to return back to 0. N is the number of elements inside the \
collection..",
        tips: &["nondeterministic_output"],
        ..cmd("hscan", -3, READONLY, READ_SLOW, RO_ACCESS,
            ("2.8.0", "Incrementally iterate hash fields and associated values"), hscan)
    }.with_docs(docs::HSCAN),
];

// ---- shared helpers ----

fn unwrap_reply(result: Result<Reply, Reply>) -> Reply {
    result.unwrap_or_else(|e| e)
}

/// The hash under `key` for a read command (keyspace hit/miss counted):
/// `Ok(None)` when missing, `Err(WRONGTYPE)` when it holds another type.
fn read_hash<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a HashValue>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(obj) => obj.value.as_hash().map(Some).ok_or_else(Reply::wrong_type),
    }
}

/// Runs `change` on the hash under `key`, or on a new empty hash when the
/// key is missing; the new hash is stored only if `change` succeeded and
/// left it with a field. WRONGTYPE when the key holds another type.
fn write_hash<T>(
    ctx: &mut Ctx,
    key: &[u8],
    change: impl FnOnce(&mut HashValue, &HashLimits) -> Result<T, Reply>,
) -> Result<T, Reply> {
    let limits = HashLimits::from_config(&ctx.srv.config);
    if let Some(obj) = ctx.lookup_write(key) {
        let hash = obj.value.as_hash_mut().ok_or_else(Reply::wrong_type)?;
        return change(hash, &limits);
    }
    let mut hash = HashValue::new();
    let out = change(&mut hash, &limits)?;
    if !hash.is_empty() {
        let access = ctx.new_access();
        ctx.db().set(key, Value::Hash(hash), access, false);
    }
    Ok(out)
}

/// Signals a change to the hash at `key` (WATCH, keyspace events).
fn hash_changed(ctx: &mut Ctx, key: &[u8], event: &str) {
    ctx.key_modified(key);
    ctx.notify(class::HASH, event, key);
}

fn bulk(item: Item) -> Reply {
    Reply::Bulk(item.to_bytes())
}

fn field_bulk(field: Cow<[u8]>) -> Reply {
    Reply::Bulk(match field {
        Cow::Borrowed(b) => Bytes::copy_from_slice(b),
        Cow::Owned(v) => Bytes::from(v),
    })
}

fn count_reply(n: usize) -> Reply {
    Reply::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

// ---- HSET, HMSET, HSETNX ----

/// Sets every field-value pair of `args[2..]`; the number of new fields.
fn set_pairs(ctx: &mut Ctx, args: &[Bytes]) -> Result<usize, Reply> {
    if args.len() % 2 == 1 {
        return Err(Reply::wrong_arity(&String::from_utf8_lossy(&args[0])));
    }
    let pairs = &args[2..];
    let added = write_hash(ctx, &args[1], |hash, limits| {
        Ok(pairs
            .chunks_exact(2)
            .filter(|pair| hash.set(&pair[0], &pair[1], limits))
            .count())
    })?;
    ctx.dirty((pairs.len() / 2) as u64);
    hash_changed(ctx, &args[1], "hset");
    Ok(added)
}

fn hset(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    unwrap_reply(set_pairs(ctx, args).map(count_reply))
}

fn hmset(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    unwrap_reply(set_pairs(ctx, args).map(|_| Reply::OK))
}

fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (field, value) = (&args[2], &args[3]);
    let set = write_hash(ctx, &args[1], |hash, limits| {
        Ok(!hash.contains(field) && hash.set(field, value, limits))
    });
    match set {
        Ok(true) => {
            ctx.dirty(1);
            hash_changed(ctx, &args[1], "hset");
            Reply::Int(1)
        }
        Ok(false) => Reply::Int(0),
        Err(e) => e,
    }
}

// ---- reads ----

fn hget(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match read_hash(ctx, &args[1]) {
        Ok(hash) => hash.and_then(|h| h.get(&args[2])).map_or(Reply::Null, bulk),
        Err(e) => e,
    }
}

fn hmget(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let hash = match read_hash(ctx, &args[1]) {
        Ok(hash) => hash,
        Err(e) => return e,
    };
    let values = args[2..]
        .iter()
        .map(|field| hash.and_then(|h| h.get(field)).map_or(Reply::Null, bulk))
        .collect();
    Reply::Array(values)
}

fn hexists(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match read_hash(ctx, &args[1]) {
        Ok(hash) => Reply::Int(hash.is_some_and(|h| h.contains(&args[2])).into()),
        Err(e) => e,
    }
}

fn hlen(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match read_hash(ctx, &args[1]) {
        Ok(hash) => count_reply(hash.map_or(0, HashValue::len)),
        Err(e) => e,
    }
}

fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match read_hash(ctx, &args[1]) {
        Ok(hash) => count_reply(hash.and_then(|h| h.get(&args[2])).map_or(0, |v| v.len())),
        Err(e) => e,
    }
}

/// Which parts of each pair a whole-hash read returns.
#[derive(Clone, Copy)]
enum Parts {
    Fields,
    Values,
    Both,
}

/// HGETALL (a map; a flat array in RESP2), HKEYS, HVALS.
fn read_all(ctx: &mut Ctx, key: &[u8], parts: Parts) -> Reply {
    let hash = match read_hash(ctx, key) {
        Ok(hash) => hash,
        Err(e) => return e,
    };
    let pairs = hash.into_iter().flat_map(|h| h.iter());
    match parts {
        Parts::Fields => Reply::Array(pairs.map(|(f, _)| field_bulk(f)).collect()),
        Parts::Values => Reply::Array(pairs.map(|(_, v)| bulk(v)).collect()),
        Parts::Both => Reply::Map(pairs.map(|(f, v)| (field_bulk(f), bulk(v))).collect()),
    }
}

fn hgetall(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    read_all(ctx, &args[1], Parts::Both)
}

fn hkeys(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    read_all(ctx, &args[1], Parts::Fields)
}

fn hvals(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    read_all(ctx, &args[1], Parts::Values)
}

// ---- HDEL ----

fn hdel(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let key = &args[1];
    let Some(obj) = ctx.lookup_write(key) else {
        return Reply::Int(0);
    };
    let Some(hash) = obj.value.as_hash_mut() else {
        return Reply::wrong_type();
    };
    let deleted = args[2..].iter().filter(|f| hash.remove(f)).count();
    let emptied = hash.is_empty();
    if emptied {
        ctx.db().remove(key);
    }
    if deleted > 0 {
        ctx.dirty(deleted as u64);
        hash_changed(ctx, key, "hdel");
        if emptied {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    count_reply(deleted)
}

// ---- HINCRBY, HINCRBYFLOAT ----

fn hincrby(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let Some(delta) = parse_i64(&args[3]) else {
        return Reply::not_integer();
    };
    let field = &args[2];
    let result = write_hash(ctx, &args[1], |hash, limits| {
        let current = match hash.get(field) {
            None => 0,
            Some(value) => value
                .as_i64()
                .ok_or_else(|| Reply::err("ERR hash value is not an integer"))?,
        };
        let new = current
            .checked_add(delta)
            .ok_or_else(|| Reply::err("ERR increment or decrement would overflow"))?;
        hash.set(field, itoa::Buffer::new().format(new).as_bytes(), limits);
        Ok(new)
    });
    match result {
        Ok(new) => {
            ctx.dirty(1);
            hash_changed(ctx, &args[1], "hincrby");
            Reply::Int(new)
        }
        Err(e) => e,
    }
}

fn nan_or_infinity() -> Reply {
    Reply::err("ERR increment would produce NaN or Infinity")
}

/// The number a field holds, for HINCRBYFLOAT (0 when missing).
fn field_as_long_double(value: Option<Item>) -> Result<LongDouble, Reply> {
    let Some(value) = value else {
        return Ok(LongDouble::ZERO);
    };
    match long_double::parse(&value.as_cow()) {
        Some(Parsed::Finite(n)) => Ok(n),
        // inf plus any finite increment is still infinite.
        Some(Parsed::Infinite) => Err(nan_or_infinity()),
        None => Err(Reply::err("ERR hash value is not a float")),
    }
}

/// HINCRBYFLOAT, with Redis's `long double` arithmetic and formatting, as
/// INCRBYFLOAT (see [`long_double`]). The increment is checked before the
/// key is looked at.
fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let increment = match long_double::parse(&args[3]) {
        Some(Parsed::Finite(n)) => n,
        Some(Parsed::Infinite) => return Reply::err("ERR value is NaN or Infinity"),
        None => return Reply::not_float(),
    };
    let field = &args[2];
    let result = write_hash(ctx, &args[1], |hash, limits| {
        let current = field_as_long_double(hash.get(field))?;
        let sum = long_double::add(current, increment).ok_or_else(nan_or_infinity)?;
        let text = long_double::format_human(sum);
        hash.set(field, text.as_bytes(), limits);
        Ok(text)
    });
    match result {
        Ok(text) => {
            ctx.dirty(1);
            hash_changed(ctx, &args[1], "hincrbyfloat");
            let value = Bytes::from(text);
            // The float arithmetic may differ elsewhere: replicate the result.
            ctx.propagate_as(vec![
                Bytes::from_static(b"HSET"),
                args[1].clone(),
                field.clone(),
                value.clone(),
            ]);
            Reply::Bulk(value)
        }
        Err(e) => e,
    }
}

// ---- HRANDFIELD ----

/// The hash under `key`, looked up again without side effects (after a
/// counted `lookup_read`), with the server's RNG borrowed alongside.
fn hash_with_rng<'a>(
    srv: &'a mut Server,
    db: usize,
    key: &[u8],
) -> Option<(&'a HashValue, &'a mut ChaCha8Rng)> {
    let hash = srv.dbs[db].keys().get(key)?.value.as_hash()?;
    Some((hash, &mut srv.rng))
}

/// HRANDFIELD's count argument, as Redis reads it: any integer but
/// `i64::MIN`, within half that range with WITHVALUES.
fn parse_count(args: &[Bytes]) -> Result<(i64, bool), Reply> {
    let count = parse_i64(&args[2]).ok_or_else(Reply::not_integer)?;
    if count == i64::MIN {
        return Err(Reply::err(
            "ERR value is out of range, value must between -9223372036854775807 and \
9223372036854775807",
        ));
    }
    let with_values = match args.get(3) {
        None => false,
        Some(word) if args.len() == 4 && eq_ic(word, "withvalues") => true,
        Some(_) => return Err(Reply::syntax_error()),
    };
    let half = i64::MAX / 2;
    if with_values && !(-half..=half).contains(&count) {
        return Err(Reply::err("ERR value is out of range"));
    }
    Ok((count, with_values))
}

fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if args.len() == 2 {
        return unwrap_reply(random_field(ctx, &args[1]));
    }
    let with_count = parse_count(args)
        .and_then(|(count, with_values)| random_fields(ctx, &args[1], count, with_values));
    unwrap_reply(with_count)
}

/// HRANDFIELD key: one field, or null when the key is missing.
fn random_field(ctx: &mut Ctx, key: &[u8]) -> Result<Reply, Reply> {
    if read_hash(ctx, key)?.is_none() {
        return Ok(Reply::Null);
    }
    let db = ctx.client.db;
    let Some((hash, rng)) = hash_with_rng(ctx.srv, db, key) else {
        return Ok(Reply::Null);
    };
    Ok(hash
        .random_pair(rng)
        .map_or(Reply::Null, |(f, _)| field_bulk(f)))
}

/// HRANDFIELD key count [WITHVALUES]: distinct fields for a positive
/// count (the whole hash when it has no more), fields drawn with
/// repetition for a negative one.
fn random_fields(ctx: &mut Ctx, key: &[u8], count: i64, with_values: bool) -> Result<Reply, Reply> {
    if read_hash(ctx, key)?.is_none() || count == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    if count < 0 && count.unsigned_abs() > RANDFIELD_MAX_REPEATED {
        return Err(Reply::err("ERR value is out of range"));
    }
    let (db, protocol) = (ctx.client.db, ctx.client.protocol);
    let Some((hash, rng)) = hash_with_rng(ctx.srv, db, key) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let wanted = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let pairs = match count > 0 {
        true if wanted >= hash.len() => hash.iter().collect(),
        true => hash.distinct_random_pairs(wanted, rng),
        false => hash.random_pairs(wanted, rng),
    };
    Ok(pairs_reply(pairs, with_values, protocol))
}

/// Fields, or with values: `[field, value]` pairs in RESP3, a flat array
/// in RESP2, as Redis 7.0 replies.
fn pairs_reply(pairs: Vec<Pair>, with_values: bool, protocol: Protocol) -> Reply {
    let items = pairs.into_iter();
    let replies = match (with_values, protocol) {
        (false, _) => items.map(|(f, _)| field_bulk(f)).collect(),
        (true, Protocol::Resp3) => items
            .map(|(f, v)| Reply::Array(vec![field_bulk(f), bulk(v)]))
            .collect(),
        (true, Protocol::Resp2) => items.flat_map(|(f, v)| [field_bulk(f), bulk(v)]).collect(),
    };
    Reply::Array(replies)
}

// ---- HSCAN ----

/// HSCAN key cursor [MATCH pattern] [COUNT count]. Errors come in Redis's
/// order: the cursor, then the key's type, then the options (a missing
/// key replies an empty scan whatever the options).
fn hscan(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    unwrap_reply(hscan_reply(ctx, args))
}

fn hscan_reply(ctx: &mut Ctx, args: &[Bytes]) -> Result<Reply, Reply> {
    let cursor = parse_scan_cursor(&args[2])?;
    let Some(hash) = read_hash(ctx, &args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let opts = parse_scan_options(&args[3..], false)?;
    let mut items = Vec::new();
    // COUNT counts reply items as Redis does, and each pair is two.
    let next = hash.scan(cursor, opts.count.div_ceil(2), |(field, value)| {
        if opts.pattern.as_ref().is_none_or(|p| p.matches(&field)) {
            items.push(field_bulk(field));
            items.push(bulk(value));
        }
    });
    Ok(scan_reply(next, items))
}

#[cfg(test)]
mod effects_tests;
#[cfg(test)]
mod tests;
