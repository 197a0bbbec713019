//! String commands: GET and SET with their variants, multi-key MGET/MSET,
//! counters (INCR family, INCRBYFLOAT), in-place edits (APPEND, SETRANGE),
//! reads of parts (GETRANGE, STRLEN) and LCS.
//!
//! Every handler checks the key's type through `Value::as_str` (or
//! `Value::as_str_mut`), so WRONGTYPE stays right as other types arrive.

use super::flags::*;
use super::keys::deletion;
use super::{CommandSpec, Ctx, KeySpec};
use crate::notify::class;
use crate::resp::Reply;
use crate::types::{StrValue, Value};
use crate::util::long_double::{self, IncrError};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;
use std::ops::Range;

#[rustfmt::skip]
mod docs;
#[cfg(test)]
mod effects_tests;

// ---- the table ----

const READ_FAST: &[&str] = &["read", "string", "fast"];
const READ_SLOW: &[&str] = &["read", "string", "slow"];
const WRITE_FAST: &[&str] = &["write", "string", "fast"];
const WRITE_SLOW: &[&str] = &["write", "string", "slow"];

/// One key at index 1, with these key-spec flags.
const fn key_at_1(flags: &'static [&'static str]) -> KeySpec {
    keys_from_1(flags, 0, 1)
}

/// Keys from index 1 up to `lastkey` (negative: from the end), every `step`.
const fn keys_from_1(flags: &'static [&'static str], lastkey: i32, step: i32) -> KeySpec {
    KeySpec::range(flags, 1, lastkey, step)
}

const RO: &[KeySpec] = &[key_at_1(&["RO"])];
const RO_ACCESS: &[KeySpec] = &[key_at_1(&["RO", "access"])];
const RW_ACCESS_UPDATE: &[KeySpec] = &[key_at_1(&["RW", "access", "update"])];
const RW_ACCESS_DELETE: &[KeySpec] = &[key_at_1(&["RW", "access", "delete"])];
const RW_INSERT: &[KeySpec] = &[key_at_1(&["RW", "insert"])];
const RW_UPDATE: &[KeySpec] = &[key_at_1(&["RW", "update"])];
const OW_UPDATE: &[KeySpec] = &[key_at_1(&["OW", "update"])];
const OW_INSERT: &[KeySpec] = &[key_at_1(&["OW", "insert"])];

const RANGE_COMPLEXITY: &str = "O(N) where N is the length of the returned string. The complexity \
is ultimately determined by the returned length, but because creating a substring from an \
existing string is very cheap, it can be considered O(1) for small strings.";

/// A single-key string command with O(1) complexity; the table overrides the rest.
const fn cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    acl: &'static [&'static str],
    key_specs: &'static [KeySpec],
    doc: (&'static str, &'static str),
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec::keyed("string", name, arity, flags, acl, key_specs, doc, handler)
}

#[rustfmt::skip]
pub const COMMANDS: &[CommandSpec] = &[
    cmd("get", 2, READONLY | FAST, READ_FAST, RO_ACCESS,
        ("1.0.0", "Get the value of a key"), get)
        .with_docs(docs::GET),
    cmd("set", -3, WRITE | DENYOOM, WRITE_SLOW,
        &[key_at_1(&["RW", "access", "update", "variable_flags"])
            .with_notes("RW and ACCESS due to the optional `GET` argument")],
        ("1.0.0", "Set the string value of a key"), set)
        .with_docs(docs::SET),
    CommandSpec {
        last_key: -1,
        tips: &["request_policy:multi_shard"],
        complexity: "O(N) where N is the number of keys to retrieve.",
        ..cmd("mget", -2, READONLY | FAST, READ_FAST, &[keys_from_1(&["RO", "access"], -1, 1)],
            ("1.0.0", "Get the values of all the given keys"), mget)
    }.with_docs(docs::MGET),
    CommandSpec {
        last_key: -1,
        step: 2,
        tips: &["request_policy:multi_shard", "response_policy:all_succeeded"],
        complexity: "O(N) where N is the number of keys to set.",
        ..cmd("mset", -3, WRITE | DENYOOM, WRITE_SLOW, &[keys_from_1(&["OW", "update"], -1, 2)],
            ("1.0.1", "Set multiple keys to multiple values"), mset)
    }.with_docs(docs::MSET),
    CommandSpec {
        last_key: -1,
        step: 2,
        tips: &["request_policy:multi_shard", "response_policy:agg_min"],
        complexity: "O(N) where N is the number of keys to set.",
        ..cmd("msetnx", -3, WRITE | DENYOOM, WRITE_SLOW, &[keys_from_1(&["OW", "insert"], -1, 2)],
            ("1.0.1", "Set multiple keys to multiple values, only if none of the keys exist"),
            msetnx)
    }.with_docs(docs::MSETNX),
    cmd("setnx", 3, WRITE | DENYOOM | FAST, WRITE_FAST, OW_INSERT,
        ("1.0.0", "Set the value of a key, only if the key does not exist"), setnx)
        .with_docs(docs::SETNX),
    cmd("setex", 4, WRITE | DENYOOM, WRITE_SLOW, OW_UPDATE,
        ("2.0.0", "Set the value and expiration of a key"), setex)
        .with_docs(docs::SETEX),
    cmd("psetex", 4, WRITE | DENYOOM, WRITE_SLOW, OW_UPDATE,
        ("2.6.0", "Set the value and expiration in milliseconds of a key"), psetex)
        .with_docs(docs::PSETEX),
    cmd("getset", 3, WRITE | DENYOOM | FAST, WRITE_FAST, RW_ACCESS_UPDATE,
        ("1.0.0", "Set the string value of a key and return its old value"), getset)
        .with_docs(docs::GETSET),
    cmd("getdel", 2, WRITE | FAST, WRITE_FAST, RW_ACCESS_DELETE,
        ("6.2.0", "Get the value of a key and delete the key"), getdel)
        .with_docs(docs::GETDEL),
    cmd("getex", -2, WRITE | FAST, WRITE_FAST,
        &[key_at_1(&["RW", "access", "update"])
            .with_notes("RW and UPDATE because it changes the TTL")],
        ("6.2.0", "Get the value of a key and optionally set its expiration"), getex)
        .with_docs(docs::GETEX),
    cmd("incr", 2, WRITE | DENYOOM | FAST, WRITE_FAST, RW_ACCESS_UPDATE,
        ("1.0.0", "Increment the integer value of a key by one"), incr)
        .with_docs(docs::INCR),
    cmd("decr", 2, WRITE | DENYOOM | FAST, WRITE_FAST, RW_ACCESS_UPDATE,
        ("1.0.0", "Decrement the integer value of a key by one"), decr)
        .with_docs(docs::DECR),
    cmd("incrby", 3, WRITE | DENYOOM | FAST, WRITE_FAST, RW_ACCESS_UPDATE,
        ("1.0.0", "Increment the integer value of a key by the given amount"), incrby)
        .with_docs(docs::INCRBY),
    cmd("decrby", 3, WRITE | DENYOOM | FAST, WRITE_FAST, RW_ACCESS_UPDATE,
        ("1.0.0", "Decrement the integer value of a key by the given number"), decrby)
        .with_docs(docs::DECRBY),
    cmd("incrbyfloat", 3, WRITE | DENYOOM | FAST, WRITE_FAST, RW_ACCESS_UPDATE,
        ("2.6.0", "Increment the float value of a key by the given amount"), incrbyfloat)
        .with_docs(docs::INCRBYFLOAT),
    CommandSpec {
        complexity: "O(1). The amortized time complexity is O(1) assuming the appended value \
is small and the already present value is of any size, since the dynamic string library used by \
Redis will double the free space available on every reallocation.",
        ..cmd("append", 3, WRITE | DENYOOM | FAST, WRITE_FAST, RW_INSERT,
            ("2.0.0", "Append a value to a key"), append)
    }.with_docs(docs::APPEND),
    cmd("strlen", 2, READONLY | FAST, READ_FAST, RO,
        ("2.2.0", "Get the length of the value stored in a key"), strlen)
        .with_docs(docs::STRLEN),
    CommandSpec {
        complexity: RANGE_COMPLEXITY,
        ..cmd("getrange", 4, READONLY, READ_SLOW, RO_ACCESS,
            ("2.4.0", "Get a substring of the string stored at a key"), getrange)
    }.with_docs(docs::GETRANGE),
    CommandSpec {
        complexity: RANGE_COMPLEXITY,
        ..cmd("substr", 4, READONLY, READ_SLOW, RO_ACCESS,
            ("1.0.0", "Get a substring of the string stored at a key"), getrange)
    }.with_docs(docs::SUBSTR),
    CommandSpec {
        complexity: "O(1), not counting the time taken to copy the new string in place. \
Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is \
O(M) with M being the length of the value argument.",
        ..cmd("setrange", 4, WRITE | DENYOOM, WRITE_SLOW, RW_UPDATE,
            ("2.2.0", "Overwrite part of a string at key starting at the specified offset"),
            setrange)
    }.with_docs(docs::SETRANGE),
    CommandSpec {
        last_key: 2,
        complexity: "O(N*M) where N and M are the lengths of s1 and s2, respectively",
        ..cmd("lcs", -3, READONLY, READ_SLOW, &[keys_from_1(&["RO", "access"], 1, 1)],
            ("7.0.0", "Find longest common substring"), lcs)
    }.with_docs(docs::LCS),
];

// ---- shared helpers ----

/// The string under `key` for a read command (keyspace hit/miss counted):
/// `Ok(None)` when missing, `Err(WRONGTYPE)` when it holds another type.
fn read_string(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Bytes>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(obj) => match obj.value.as_str() {
            Some(s) => Ok(Some(s.to_bytes())),
            None => Err(Reply::wrong_type()),
        },
    }
}

fn bulk_or_null(value: Option<Bytes>) -> Reply {
    value.map_or(Reply::Null, Reply::Bulk)
}

/// Looks `key` up for writing (lazy expiry, access tracking) and returns the
/// existing object's access data, which an overwrite keeps.
fn existing_access(ctx: &mut Ctx, key: &[u8]) -> Option<u32> {
    ctx.lookup_write(key).map(|obj| obj.access)
}

/// Stores a string under `key` (Redis's setKey). `access` is the existing
/// object's, from [`existing_access`]: Redis keeps it on overwrite (under
/// LRU it was just refreshed to "now", which a new object would get too).
fn store(ctx: &mut Ctx, key: &[u8], value: StrValue, access: Option<u32>, keep_ttl: bool) {
    let access = access.unwrap_or_else(|| ctx.new_access());
    ctx.db().set(key, Value::Str(value), access, keep_ttl);
}

/// Inserts a new string under a key known to be absent.
fn insert_new(ctx: &mut Ctx, key: &[u8], value: StrValue) {
    let access = ctx.new_access();
    ctx.db().set(key, Value::Str(value), access, false);
}

/// Gives an existing `key` an absolute expiry. A time already past is kept
/// as is, as Redis 7.0.15 does: every lookup sees the key as gone, DBSIZE
/// still counts it until lazy or active expiry reclaims it (counted then
/// in `expired_keys`).
fn set_expiry(ctx: &mut Ctx, key: &[u8], at_ms: u64) {
    ctx.db().set_expire(key, at_ms);
}

// ---- expiry options (SET, SETEX, PSETEX, GETEX) ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExpireUnit {
    /// EX: relative seconds.
    Ex,
    /// PX: relative milliseconds.
    Px,
    /// EXAT: absolute Unix seconds.
    ExAt,
    /// PXAT: absolute Unix milliseconds.
    PxAt,
}

impl ExpireUnit {
    fn from_keyword(arg: &[u8]) -> Option<ExpireUnit> {
        [
            ("ex", ExpireUnit::Ex),
            ("px", ExpireUnit::Px),
            ("exat", ExpireUnit::ExAt),
            ("pxat", ExpireUnit::PxAt),
        ]
        .into_iter()
        .find(|(word, _)| eq_ic(arg, word))
        .map(|(_, unit)| unit)
    }

    fn in_seconds(self) -> bool {
        matches!(self, ExpireUnit::Ex | ExpireUnit::ExAt)
    }

    fn relative(self) -> bool {
        matches!(self, ExpireUnit::Ex | ExpireUnit::Px)
    }
}

/// Converts an expire argument to absolute Unix milliseconds, with Redis's
/// checks: an integer, positive, and no overflow in the conversion.
fn expire_at_ms(arg: &[u8], unit: ExpireUnit, now_ms: u64, command: &str) -> Result<u64, Reply> {
    let n = parse_i64(arg).ok_or_else(Reply::not_integer)?;
    let invalid = || Reply::error(format!("ERR invalid expire time in '{command}' command"));
    if n <= 0 {
        return Err(invalid());
    }
    let ms = match unit.in_seconds() {
        true => n.checked_mul(1000).ok_or_else(invalid)?,
        false => n,
    };
    let now = i64::try_from(now_ms).map_err(|_| invalid())?;
    let at = match unit.relative() {
        true => ms.checked_add(now).ok_or_else(invalid)?,
        false => ms,
    };
    Ok(at as u64)
}

/// Which command's options are being parsed: SET takes NX/XX/GET/KEEPTTL,
/// GETEX takes PERSIST; both take the four expire forms.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OptionsOf {
    Set,
    GetEx,
}

#[derive(Debug, Default)]
struct StringOptions {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    expire: Option<(ExpireUnit, Bytes)>,
}

/// Parses SET/GETEX options as Redis does: left to right, each option
/// refused (syntax error) when it conflicts with one already seen; a repeated
/// option is accepted, and a repeated expire form keeps its last value.
fn parse_options(args: &[Bytes], of: OptionsOf) -> Result<StringOptions, Reply> {
    let set = of == OptionsOf::Set;
    let mut o = StringOptions::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let expire_unit = o.expire.as_ref().map(|(unit, _)| *unit);
        if set && eq_ic(arg, "nx") && !o.xx {
            o.nx = true;
        } else if set && eq_ic(arg, "xx") && !o.nx {
            o.xx = true;
        } else if set && eq_ic(arg, "get") {
            o.get = true;
        } else if set && eq_ic(arg, "keepttl") && expire_unit.is_none() {
            o.keep_ttl = true;
        } else if !set && eq_ic(arg, "persist") && expire_unit.is_none() {
            o.persist = true;
        } else {
            let unit = ExpireUnit::from_keyword(arg).ok_or_else(Reply::syntax_error)?;
            let compatible = !o.keep_ttl && !o.persist && expire_unit.is_none_or(|u| u == unit);
            match args.get(i + 1) {
                Some(value) if compatible => o.expire = Some((unit, value.clone())),
                _ => return Err(Reply::syntax_error()),
            }
            i += 1;
        }
        i += 1;
    }
    Ok(o)
}

// ---- GET, SET and variants ----

fn get(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    read_string(ctx, &args[1]).map_or_else(|e| e, bulk_or_null)
}

/// When a SET-like write goes ahead.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Condition {
    Always,
    /// NX
    IfAbsent,
    /// XX
    IfPresent,
}

struct SetRequest {
    condition: Condition,
    /// SET ... GET: read the old value first (WRONGTYPE if not a string).
    get_old: bool,
    keep_ttl: bool,
    expire_at: Option<u64>,
}

struct SetOutcome {
    old: Option<Bytes>,
    written: bool,
}

/// Redis's setGenericCommand, once the arguments are parsed.
fn set_generic(
    ctx: &mut Ctx,
    key: &[u8],
    value: &[u8],
    req: SetRequest,
) -> Result<SetOutcome, Reply> {
    let old = match req.get_old {
        true => read_string(ctx, key)?,
        false => None,
    };
    let access = existing_access(ctx, key);
    let blocked = match req.condition {
        Condition::Always => false,
        Condition::IfAbsent => access.is_some(),
        Condition::IfPresent => access.is_none(),
    };
    if blocked {
        return Ok(SetOutcome {
            old,
            written: false,
        });
    }
    store(ctx, key, StrValue::from_bytes(value), access, req.keep_ttl);
    if let Some(at) = req.expire_at {
        set_expiry(ctx, key, at);
    }
    ctx.dirty(1);
    ctx.key_modified(key);
    ctx.notify(class::STRING, "set", key);
    if req.expire_at.is_some() {
        ctx.notify(class::GENERIC, "expire", key);
    }
    Ok(SetOutcome { old, written: true })
}

/// A SET with an expiry propagates as `SET key value PXAT <ms>` (the
/// absolute time, so a replica or a reloaded AOF expires it at the same
/// moment; the NX/XX/GET that decided the write are done with).
fn propagate_set_pxat(ctx: &mut Ctx, key: &Bytes, value: &Bytes, at_ms: u64) {
    ctx.propagate_as(vec![
        Bytes::from_static(b"SET"),
        key.clone(),
        value.clone(),
        Bytes::from_static(b"PXAT"),
        Bytes::from(at_ms.to_string()),
    ]);
}

/// SET ... GET without an expiry propagates without its GET words (the
/// reply is for the caller only).
fn propagate_set_without_get(ctx: &mut Ctx, args: &[Bytes]) {
    let kept = args
        .iter()
        .enumerate()
        .filter(|(i, arg)| *i < 3 || !eq_ic(arg, "get"))
        .map(|(_, arg)| arg.clone())
        .collect();
    ctx.propagate_as(kept);
}

fn set(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match set_with_options(ctx, args) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn set_with_options(ctx: &mut Ctx, args: &[Bytes]) -> Result<Reply, Reply> {
    let opts = parse_options(&args[3..], OptionsOf::Set)?;
    let now = ctx.now().unix_ms;
    let expire_at = match &opts.expire {
        Some((unit, arg)) => Some(expire_at_ms(arg, *unit, now, "set")?),
        None => None,
    };
    let condition = match (opts.nx, opts.xx) {
        (true, _) => Condition::IfAbsent,
        (_, true) => Condition::IfPresent,
        _ => Condition::Always,
    };
    let req = SetRequest {
        condition,
        get_old: opts.get,
        keep_ttl: opts.keep_ttl,
        expire_at,
    };
    let outcome = set_generic(ctx, &args[1], &args[2], req)?;
    match expire_at {
        Some(at) => propagate_set_pxat(ctx, &args[1], &args[2], at),
        None if opts.get => propagate_set_without_get(ctx, args),
        None => {}
    }
    Ok(match (opts.get, outcome.written) {
        (true, _) => bulk_or_null(outcome.old),
        (false, true) => Reply::OK,
        (false, false) => Reply::Null,
    })
}

fn setnx(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let req = SetRequest {
        condition: Condition::IfAbsent,
        get_old: false,
        keep_ttl: false,
        expire_at: None,
    };
    match set_generic(ctx, &args[1], &args[2], req) {
        Ok(outcome) => Reply::Int(i64::from(outcome.written)),
        Err(e) => e,
    }
}

/// SETEX and PSETEX: key, expire, value.
fn set_expiring(ctx: &mut Ctx, args: &[Bytes], unit: ExpireUnit, command: &str) -> Reply {
    let now = ctx.now().unix_ms;
    let expire_at = match expire_at_ms(&args[2], unit, now, command) {
        Ok(at) => at,
        Err(e) => return e,
    };
    let req = SetRequest {
        condition: Condition::Always,
        get_old: false,
        keep_ttl: false,
        expire_at: Some(expire_at),
    };
    match set_generic(ctx, &args[1], &args[3], req) {
        Ok(_) => {
            propagate_set_pxat(ctx, &args[1], &args[3], expire_at);
            Reply::OK
        }
        Err(e) => e,
    }
}

fn setex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    set_expiring(ctx, args, ExpireUnit::Ex, "setex")
}

fn psetex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    set_expiring(ctx, args, ExpireUnit::Px, "psetex")
}

fn getset(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let old = match read_string(ctx, &args[1]) {
        Ok(old) => old,
        Err(e) => return e,
    };
    let access = existing_access(ctx, &args[1]);
    store(ctx, &args[1], StrValue::from_bytes(&args[2]), access, false);
    ctx.dirty(1);
    ctx.key_modified(&args[1]);
    ctx.notify(class::STRING, "set", &args[1]);
    // As Redis 7.0: GETSET is SET for replicas and the AOF.
    ctx.propagate_as(vec![
        Bytes::from_static(b"SET"),
        args[1].clone(),
        args[2].clone(),
    ]);
    bulk_or_null(old)
}

fn getdel(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let old = match read_string(ctx, &args[1]) {
        Ok(old) => old,
        Err(e) => return e,
    };
    if old.is_some() {
        // Strings are always freed at once (Redis's lazy free skips them).
        ctx.db().remove(&args[1]);
        ctx.dirty(1);
        ctx.key_modified(&args[1]);
        ctx.notify(class::GENERIC, "del", &args[1]);
        let lazy = ctx.srv.config.lazyfree_lazy_user_del;
        ctx.propagate_as(deletion(&args[1], lazy));
    }
    bulk_or_null(old)
}

fn getex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match getex_with_options(ctx, args) {
        Ok(reply) | Err(reply) => reply,
    }
}

/// GETEX: options are checked for syntax first, then the key is read, and
/// only then is the expire value validated (a missing key replies nil even
/// with a bad expire time, as in Redis).
fn getex_with_options(ctx: &mut Ctx, args: &[Bytes]) -> Result<Reply, Reply> {
    let opts = parse_options(&args[2..], OptionsOf::GetEx)?;
    let key = &args[1];
    let Some(value) = read_string(ctx, key)? else {
        return Ok(Reply::Null);
    };
    let now = ctx.now().unix_ms;
    if let Some((unit, arg)) = &opts.expire {
        let at = expire_at_ms(arg, *unit, now, "getex")?;
        if at <= now {
            expire_now(ctx, key);
        } else {
            ctx.db().set_expire(key, at);
            ctx.dirty(1);
            ctx.key_modified(key);
            ctx.notify(class::GENERIC, "expire", key);
            ctx.propagate_as(vec![
                Bytes::from_static(b"PEXPIREAT"),
                key.clone(),
                Bytes::from(at.to_string()),
            ]);
        }
    } else if opts.persist && ctx.db().persist(key) {
        ctx.dirty(1);
        ctx.key_modified(key);
        ctx.notify(class::GENERIC, "persist", key);
        ctx.propagate_as(vec![Bytes::from_static(b"PERSIST"), key.clone()]);
    }
    Ok(Reply::Bulk(value))
}

/// GETEX with a time already past: not an expiry but a deletion, and
/// propagated as one (`UNLINK` under lazyfree-lazy-expire, as Redis).
fn expire_now(ctx: &mut Ctx, key: &Bytes) {
    ctx.db().remove(key);
    ctx.dirty(1);
    ctx.key_modified(key);
    ctx.notify(class::GENERIC, "del", key);
    let lazy = ctx.srv.config.lazyfree_lazy_expire;
    ctx.propagate_as(deletion(key, lazy));
}

// ---- MGET, MSET, MSETNX ----

fn mget(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let values = args[1..]
        .iter()
        // A key of another type reads as nil here, not WRONGTYPE.
        .map(|key| bulk_or_null(read_string(ctx, key).ok().flatten()))
        .collect();
    Reply::Array(values)
}

fn mset(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let pairs = &args[1..];
    if pairs.len() % 2 == 1 {
        return Reply::wrong_arity("mset");
    }
    store_pairs(ctx, pairs);
    Reply::OK
}

fn msetnx(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let pairs = &args[1..];
    if pairs.len() % 2 == 1 {
        return Reply::wrong_arity("msetnx");
    }
    let any_exists = pairs
        .chunks_exact(2)
        .any(|pair| existing_access(ctx, &pair[0]).is_some());
    if any_exists {
        return Reply::Int(0);
    }
    store_pairs(ctx, pairs);
    Reply::Int(1)
}

/// Stores key/value pairs in order (a repeated key keeps its last value).
fn store_pairs(ctx: &mut Ctx, pairs: &[Bytes]) {
    for pair in pairs.chunks_exact(2) {
        let access = existing_access(ctx, &pair[0]);
        store(ctx, &pair[0], StrValue::from_bytes(&pair[1]), access, false);
        ctx.key_modified(&pair[0]);
        ctx.notify(class::STRING, "set", &pair[0]);
    }
    ctx.dirty((pairs.len() / 2) as u64);
}

// ---- counters ----

fn incr(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    incr_by(ctx, &args[1], 1)
}

fn decr(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    incr_by(ctx, &args[1], -1)
}

fn incrby(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match parse_i64(&args[2]) {
        Some(delta) => incr_by(ctx, &args[1], delta),
        None => Reply::not_integer(),
    }
}

fn decrby(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match parse_i64(&args[2]) {
        None => Reply::not_integer(),
        // Its negation does not exist.
        Some(i64::MIN) => Reply::err("ERR decrement would overflow"),
        Some(delta) => incr_by(ctx, &args[1], -delta),
    }
}

/// Adds `delta` to the integer under `key` (0 when missing), keeping its
/// TTL; the new value gets the `int` encoding.
fn incr_by(ctx: &mut Ctx, key: &[u8], delta: i64) -> Reply {
    let new = match ctx.lookup_write(key) {
        Some(obj) => {
            let Some(s) = obj.value.as_str_mut() else {
                return Reply::wrong_type();
            };
            let Some(current) = s.as_i64() else {
                return Reply::not_integer();
            };
            let Some(new) = current.checked_add(delta) else {
                return Reply::err("ERR increment or decrement would overflow");
            };
            *s = StrValue::Int(new);
            new
        }
        None => {
            insert_new(ctx, key, StrValue::Int(delta));
            delta
        }
    };
    ctx.dirty(1);
    ctx.key_modified(key);
    ctx.notify(class::STRING, "incrby", key);
    Reply::Int(new)
}

/// INCRBYFLOAT, with Redis's `long double` arithmetic and formatting (see
/// [`long_double`]). The result is stored as a plain string (`embstr` or
/// `raw`, never `int`), keeping the key's TTL.
fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (key, increment) = (&args[1], &args[2]);
    let result = match ctx.lookup_write(key) {
        Some(obj) => {
            let Some(s) = obj.value.as_str_mut() else {
                return Reply::wrong_type();
            };
            let sum = long_double::incr_by(Some(&s.as_cow()), increment);
            if let Ok(sum) = &sum {
                *s = StrValue::Bytes(Bytes::copy_from_slice(sum.as_bytes()));
            }
            sum
        }
        None => {
            let sum = long_double::incr_by(None, increment);
            if let Ok(sum) = &sum {
                insert_new(
                    ctx,
                    key,
                    StrValue::Bytes(Bytes::copy_from_slice(sum.as_bytes())),
                );
            }
            sum
        }
    };
    match result {
        Ok(sum) => {
            ctx.dirty(1);
            ctx.key_modified(key);
            ctx.notify(class::STRING, "incrbyfloat", key);
            let sum = Bytes::from(sum);
            // The float arithmetic may differ elsewhere: replicate the result.
            ctx.propagate_as(vec![
                Bytes::from_static(b"SET"),
                key.clone(),
                sum.clone(),
                Bytes::from_static(b"KEEPTTL"),
            ]);
            Reply::Bulk(sum)
        }
        Err(IncrError::NotFloat) => Reply::not_float(),
        Err(IncrError::NanOrInfinity) => Reply::err("ERR increment would produce NaN or Infinity"),
    }
}

// ---- APPEND, SETRANGE, GETRANGE, STRLEN ----

/// Refuses a string that would grow past `max` (`proto-max-bulk-len`),
/// before any allocation.
fn check_string_length(max: u64, current: u64, extra: u64) -> Result<(), Reply> {
    let total = u128::from(current) + u128::from(extra);
    if total > u128::from(max) {
        return Err(Reply::err(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    Ok(())
}

fn append(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match append_tail(ctx, &args[1], &args[2]) {
        Ok(len) => {
            ctx.dirty(1);
            ctx.key_modified(&args[1]);
            ctx.notify(class::STRING, "append", &args[1]);
            Reply::Int(len as i64)
        }
        Err(e) => e,
    }
}

/// Appends and returns the new length. A new key gets the encoding SET
/// would give; an existing one becomes `raw`.
fn append_tail(ctx: &mut Ctx, key: &[u8], tail: &[u8]) -> Result<usize, Reply> {
    let max = ctx.srv.config.proto_max_bulk_len;
    match ctx.lookup_write(key) {
        Some(obj) => {
            let s = obj.value.as_str_mut().ok_or_else(Reply::wrong_type)?;
            check_string_length(max, s.len() as u64, tail.len() as u64)?;
            let raw = s.make_raw();
            raw.extend_from_slice(tail);
            Ok(raw.len())
        }
        None => {
            insert_new(ctx, key, StrValue::from_bytes(tail));
            Ok(tail.len())
        }
    }
}

fn setrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let Some(offset) = parse_i64(&args[2]) else {
        return Reply::not_integer();
    };
    let Ok(offset) = u64::try_from(offset) else {
        return Reply::err("ERR offset is out of range");
    };
    match overwrite_at(ctx, &args[1], offset, &args[3]) {
        Ok(len) => Reply::Int(len as i64),
        Err(e) => e,
    }
}

/// SETRANGE's work: returns the string's length afterwards. An empty patch
/// changes nothing (and creates no key); the string becomes `raw`.
fn overwrite_at(ctx: &mut Ctx, key: &[u8], offset: u64, patch: &[u8]) -> Result<usize, Reply> {
    let existing_len = match ctx.lookup_write(key) {
        None => None,
        Some(obj) => Some(obj.value.as_str().ok_or_else(Reply::wrong_type)?.len()),
    };
    if patch.is_empty() {
        return Ok(existing_len.unwrap_or(0));
    }
    check_string_length(
        ctx.srv.config.proto_max_bulk_len,
        offset,
        patch.len() as u64,
    )?;
    // Within proto-max-bulk-len, so it fits in memory's address space.
    let start = usize::try_from(offset).map_err(|_| Reply::err("ERR offset is out of range"))?;
    let end = start + patch.len();
    if existing_len.is_none() {
        insert_new(ctx, key, StrValue::Raw(Vec::new()));
    }
    let now = ctx.now().unix_ms;
    let obj = ctx
        .db()
        .get_mut(key, now)
        .expect("looked up or inserted above");
    let raw = obj
        .value
        .as_str_mut()
        .expect("type checked above")
        .make_raw();
    if raw.len() < end {
        raw.resize(end, 0);
    }
    raw[start..end].copy_from_slice(patch);
    let len = raw.len();
    ctx.dirty(1);
    ctx.key_modified(key);
    ctx.notify(class::STRING, "setrange", key);
    Ok(len)
}

fn getrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (Some(start), Some(end)) = (parse_i64(&args[2]), parse_i64(&args[3])) else {
        return Reply::not_integer();
    };
    let Some(obj) = ctx.lookup_read(&args[1]) else {
        return Reply::Bulk(Bytes::new());
    };
    let Some(s) = obj.value.as_str() else {
        return Reply::wrong_type();
    };
    let bytes = s.as_cow();
    match substring_range(start, end, bytes.len()) {
        Some(range) => Reply::Bulk(Bytes::copy_from_slice(&bytes[range])),
        None => Reply::Bulk(Bytes::new()),
    }
}

/// GETRANGE's inclusive `start..=end` with Redis's rules: negative indices
/// count from the end, then both are clamped into the string. Computed in
/// i128 so that no index (i64::MIN, i64::MAX) can overflow.
fn substring_range(start: i64, end: i64, len: usize) -> Option<Range<usize>> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = len as i128;
    let from_end = |i: i64| if i < 0 { len + i as i128 } else { i as i128 };
    let start = from_end(start).max(0);
    let end = from_end(end).max(0).min(len - 1);
    if len == 0 || start > end {
        return None;
    }
    Some(start as usize..end as usize + 1)
}

fn strlen(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match ctx.lookup_read(&args[1]) {
        None => Reply::Int(0),
        Some(obj) => match obj.value.as_str() {
            Some(s) => Reply::Int(s.len() as i64),
            None => Reply::wrong_type(),
        },
    }
}

// ---- LCS ----

#[derive(Debug, Default)]
struct LcsOptions {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: usize,
}

fn parse_lcs_options(args: &[Bytes]) -> Result<LcsOptions, Reply> {
    let mut o = LcsOptions::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if eq_ic(arg, "idx") {
            o.idx = true;
        } else if eq_ic(arg, "len") {
            o.len = true;
        } else if eq_ic(arg, "withmatchlen") {
            o.with_match_len = true;
        } else if eq_ic(arg, "minmatchlen") && i + 1 < args.len() {
            let n = parse_i64(&args[i + 1]).ok_or_else(Reply::not_integer)?;
            // Negative means no minimum.
            o.min_match_len = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
            i += 1;
        } else {
            return Err(Reply::syntax_error());
        }
        i += 1;
    }
    if o.idx && o.len {
        return Err(Reply::err(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    Ok(o)
}

fn lcs(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match lcs_reply(ctx, args) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn lcs_reply(ctx: &mut Ctx, args: &[Bytes]) -> Result<Reply, Reply> {
    // Both keys are read before either is type-checked, as in Redis.
    let a = read_string(ctx, &args[1]);
    let b = read_string(ctx, &args[2]);
    let (Ok(a), Ok(b)) = (a, b) else {
        return Err(Reply::err(
            "ERR The specified keys must contain string values",
        ));
    };
    let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
    let opts = parse_lcs_options(&args[3..])?;
    let table = LcsTable::build(&a, &b, ctx.srv.config.proto_max_bulk_len)?;
    if opts.len {
        return Ok(Reply::Int(table.length() as i64));
    }
    let (common, matches) = table.backtrack(&a, &b);
    if !opts.idx {
        return Ok(Reply::Bulk(Bytes::from(common)));
    }
    let matches = matches
        .iter()
        .filter(|m| m.len() >= opts.min_match_len)
        .map(|m| m.reply(opts.with_match_len))
        .collect();
    Ok(Reply::Map(vec![
        (Reply::bulk_str("matches"), Reply::Array(matches)),
        (Reply::bulk_str("len"), Reply::Int(common.len() as i64)),
    ]))
}

/// The dynamic-programming table of LCS lengths: cell (i, j) holds the
/// length of the LCS of `a[..i]` and `b[..j]`. Its size is bounded exactly
/// as Redis bounds it, by `proto-max-bulk-len` bytes of u32 cells.
struct LcsTable {
    cells: Vec<u32>,
    width: usize,
    rows: usize,
}

impl LcsTable {
    fn build(a: &[u8], b: &[u8], max_bytes: u64) -> Result<LcsTable, Reply> {
        // Lengths are stored in u32 cells.
        if a.len() as u64 >= u64::from(u32::MAX) - 1 || b.len() as u64 >= u64::from(u32::MAX) - 1 {
            return Err(Reply::err("ERR String too long for LCS"));
        }
        let (rows, width) = (a.len() + 1, b.len() + 1);
        let cell_count = rows as u128 * width as u128;
        let bytes = cell_count * std::mem::size_of::<u32>() as u128;
        let failed =
            || Reply::err("ERR Insufficient memory, failed allocating transient memory for LCS");
        if bytes > u128::from(u64::MAX) {
            return Err(failed());
        }
        if bytes > u128::from(max_bytes) {
            return Err(Reply::err(
                "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
            ));
        }
        let cell_count = usize::try_from(cell_count).map_err(|_| failed())?;
        let mut cells = Vec::new();
        cells.try_reserve_exact(cell_count).map_err(|_| failed())?;
        cells.resize(cell_count, 0);
        let mut table = LcsTable { cells, width, rows };
        table.fill(a, b);
        Ok(table)
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.width + j]
    }

    fn fill(&mut self, a: &[u8], b: &[u8]) {
        for i in 1..self.rows {
            for j in 1..self.width {
                let value = if a[i - 1] == b[j - 1] {
                    self.at(i - 1, j - 1) + 1
                } else {
                    self.at(i - 1, j).max(self.at(i, j - 1))
                };
                self.cells[i * self.width + j] = value;
            }
        }
    }

    fn length(&self) -> u32 {
        self.at(self.rows - 1, self.width - 1)
    }

    /// Walks back from the end, preferring to drop a byte of `b` on ties as
    /// Redis does, so the common string and the ranges are Redis's. Ranges
    /// are runs of consecutive matching steps, listed from the end.
    fn backtrack(&self, a: &[u8], b: &[u8]) -> (Vec<u8>, Vec<LcsMatch>) {
        let mut common = Vec::with_capacity(self.length() as usize);
        let mut matches = Vec::new();
        let mut run: Option<LcsMatch> = None;
        let (mut i, mut j) = (a.len(), b.len());
        while i > 0 && j > 0 {
            if a[i - 1] == b[j - 1] {
                common.push(a[i - 1]);
                i -= 1;
                j -= 1;
                run = Some(match run {
                    Some(m) => LcsMatch {
                        a: i..m.a.end,
                        b: j..m.b.end,
                    },
                    None => LcsMatch {
                        a: i..i + 1,
                        b: j..j + 1,
                    },
                });
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                matches.extend(run.take());
            }
        }
        matches.extend(run);
        common.reverse();
        (common, matches)
    }
}

/// One matching run: the same bytes at `a` in the first string and `b` in the second.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LcsMatch {
    a: Range<usize>,
    b: Range<usize>,
}

impl LcsMatch {
    fn len(&self) -> usize {
        self.a.len()
    }

    /// `[[a_start, a_end], [b_start, b_end]]` (inclusive), plus the length
    /// with WITHMATCHLEN.
    fn reply(&self, with_len: bool) -> Reply {
        let bounds = |r: &Range<usize>| {
            Reply::Array(vec![
                Reply::Int(r.start as i64),
                Reply::Int(r.end as i64 - 1),
            ])
        };
        let mut items = vec![bounds(&self.a), bounds(&self.b)];
        if with_len {
            items.push(Reply::Int(self.len() as i64));
        }
        Reply::Array(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Client, ClientId, ClientInfo};
    use crate::cmd::FindKeys;
    use crate::config::Config;
    use crate::node::Clients;
    use crate::resp::frame::Frame;
    use crate::server::Server;
    use crate::testing::Harness;
    use crate::time::Now;

    const T0: u64 = 1_700_000_000_000;

    fn start() -> (Harness, ClientId) {
        start_with(Config::default())
    }

    fn start_with(config: Config) -> (Harness, ClientId) {
        let mut h = Harness::new(config);
        let c = h.connect();
        (h, c)
    }

    fn ok() -> Frame {
        Frame::Simple("OK".into())
    }

    fn bulk(s: &str) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn err(s: &str) -> Frame {
        Frame::Error(s.into())
    }

    fn int(n: i64) -> Frame {
        Frame::Int(n)
    }

    fn array(items: Vec<Frame>) -> Frame {
        Frame::Array(items)
    }

    const SYNTAX: &str = "ERR syntax error";
    const NOT_INT: &str = "ERR value is not an integer or out of range";
    const NOT_FLOAT: &str = "ERR value is not a valid float";

    /// Runs `cases` of (command, expected reply) in order on one client.
    fn expect_all(h: &mut Harness, c: ClientId, cases: &[(&[&str], Frame)]) {
        for (args, want) in cases {
            assert_eq!(&h.call(c, args), want, "{args:?}");
        }
    }

    /// Calls handlers directly on a server, to look at what clients cannot
    /// see yet through this group's commands: encodings, TTLs, counters.
    struct Direct {
        srv: Server,
        client: Client,
        others: Clients,
    }

    impl Direct {
        fn new() -> Direct {
            let now = Now::new(0, T0);
            Direct {
                srv: Server::new(Config::default(), now),
                client: Client::new(1, ClientInfo::default(), 0, true),
                others: Clients::new(),
            }
        }

        fn run(&mut self, args: &[&str]) -> Reply {
            let spec = self
                .srv
                .table
                .lookup(args[0].as_bytes())
                .expect("a command");
            assert!(spec.arity_ok(args.len()), "arity of {args:?}");
            let args: Vec<Bytes> = args
                .iter()
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect();
            let mut ctx = Ctx {
                srv: &mut self.srv,
                client: &mut self.client,
                others: &mut self.others,
            };
            (spec.handler.expect("a handler"))(&mut ctx, &args)
        }

        fn encoding(&mut self, key: &str) -> &'static str {
            let obj = self.srv.dbs[0].get(key.as_bytes(), T0).expect("key exists");
            obj.value.encoding_name()
        }

        fn expire_at(&self, key: &str) -> Option<u64> {
            self.srv.dbs[0].expire_at(key.as_bytes())
        }
    }

    // ---- GET / SET ----

    #[test]
    fn get_and_set() {
        let (mut h, c) = start();
        expect_all(
            &mut h,
            c,
            &[
                (&["GET", "k"], Frame::Null),
                (&["SET", "k", "v"], ok()),
                (&["GET", "k"], bulk("v")),
                (&["set", "k", "12"], ok()),
                (&["get", "k"], bulk("12")),
                (&["SET", "k", ""], ok()),
                (&["GET", "k"], bulk("")),
            ],
        );
    }

    #[test]
    fn set_option_syntax_matches_redis() {
        let (mut h, c) = start();
        let invalid = "ERR invalid expire time in 'set' command";
        let cases: &[(&[&str], &str)] = &[
            (&["SET", "k", "v", "NX", "XX"], SYNTAX),
            (&["SET", "k", "v", "XX", "NX"], SYNTAX),
            (&["SET", "k", "v", "EX", "10", "PX", "100"], SYNTAX),
            (&["SET", "k", "v", "KEEPTTL", "EX", "10"], SYNTAX),
            (&["SET", "k", "v", "EX", "10", "KEEPTTL"], SYNTAX),
            (&["SET", "k", "v", "PXAT", "10", "EXAT", "1"], SYNTAX),
            (&["SET", "k", "v", "EX"], SYNTAX),
            (&["SET", "k", "v", "PERSIST"], SYNTAX),
            (&["SET", "k", "v", "bogus"], SYNTAX),
            (&["SET", "k", "v", "EX", "10", "NX", "abc"], SYNTAX),
            (&["SET", "k", "v", "bogus", "EX", "abc"], SYNTAX),
            (&["SET", "k", "v", "EX", "abc", "bogus"], SYNTAX),
            (&["SET", "k", "v", "EX", "abc"], NOT_INT),
            (&["SET", "k", "v", "NX", "EX", "abc"], NOT_INT),
            (&["SET", "k", "v", "EX", "1.5"], NOT_INT),
            (&["SET", "k", "v", "EX", "0"], invalid),
            (&["SET", "k", "v", "EX", "-1"], invalid),
            (&["SET", "k", "v", "PXAT", "0"], invalid),
            (&["SET", "k", "v", "EX", "9223372036854775807"], invalid),
            (&["SET", "k", "v", "PX", "9223372036854775807"], invalid),
            // Fits once multiplied by 1000, overflows once "now" is added.
            (&["SET", "k", "v", "EX", "9223372036854774"], invalid),
            (&["SET", "k", "v", "EXAT", "9223372036854776"], invalid),
        ];
        for (args, want) in cases {
            assert_eq!(h.call(c, args), err(want), "{args:?}");
        }
        assert_eq!(h.call(c, &["GET", "k"]), Frame::Null, "no failed SET wrote");
        expect_all(
            &mut h,
            c,
            &[
                (&["SET", "k", "v", "PXAT", "9223372036854775807"], ok()),
                (&["SET", "k", "v", "EXAT", "9223372036854775"], ok()),
                (&["SET", "k", "v", "ex", "10", "EX", "20"], ok()),
                (&["SET", "k", "v", "nx", "NX"], Frame::Null),
                (&["SET", "k", "v", "GET", "get"], bulk("v")),
                (&["SET", "k", "v", "KEEPTTL", "keepttl", "XX"], ok()),
            ],
        );
    }

    #[test]
    fn set_nx_xx_and_get() {
        let (mut h, c) = start();
        expect_all(
            &mut h,
            c,
            &[
                (&["SET", "k", "v1", "XX"], Frame::Null),
                (&["GET", "k"], Frame::Null),
                (&["SET", "k", "v1", "NX"], ok()),
                (&["SET", "k", "v2", "NX"], Frame::Null),
                (&["GET", "k"], bulk("v1")),
                (&["SET", "k", "v2", "XX"], ok()),
                (&["SET", "k", "v3", "GET"], bulk("v2")),
                // GET replies the old value even when NX blocks the write.
                (&["SET", "k", "v4", "NX", "GET"], bulk("v3")),
                (&["GET", "k"], bulk("v3")),
                (&["SET", "new", "x", "XX", "GET"], Frame::Null),
                (&["GET", "new"], Frame::Null),
                (&["SET", "new", "x", "GET"], Frame::Null),
                (&["GET", "new"], bulk("x")),
            ],
        );
    }

    #[test]
    fn set_expiry_runs_on_virtual_time() {
        let (mut h, c) = start();
        expect_all(
            &mut h,
            c,
            &[
                (&["SET", "ex", "v", "EX", "10"], ok()),
                (&["SET", "px", "v", "PX", "1500"], ok()),
                (&["SET", "exat", "v", "EXAT", "1700000005"], ok()),
                (&["SET", "pxat", "v", "PXAT", "1700000002500"], ok()),
            ],
        );
        h.advance(1499);
        assert_eq!(h.call(c, &["GET", "px"]), bulk("v"));
        h.advance(1);
        assert_eq!(h.call(c, &["GET", "px"]), Frame::Null);
        h.advance(999);
        assert_eq!(h.call(c, &["GET", "pxat"]), bulk("v"));
        h.advance(1);
        assert_eq!(h.call(c, &["GET", "pxat"]), Frame::Null);
        h.advance(2499);
        assert_eq!(h.call(c, &["GET", "exat"]), bulk("v"));
        h.advance(1);
        assert_eq!(h.call(c, &["GET", "exat"]), Frame::Null);
        h.advance(4999);
        assert_eq!(h.call(c, &["GET", "ex"]), bulk("v"));
        h.advance(1);
        assert_eq!(h.call(c, &["GET", "ex"]), Frame::Null);
    }

    #[test]
    fn set_keepttl_keeps_and_plain_set_clears() {
        let (mut h, c) = start();
        expect_all(
            &mut h,
            c,
            &[
                (&["SET", "keep", "v", "PX", "100"], ok()),
                (&["SET", "keep", "w", "KEEPTTL"], ok()),
                (&["SET", "clear", "v", "PX", "100"], ok()),
                (&["SET", "clear", "w"], ok()),
            ],
        );
        h.advance(100);
        assert_eq!(h.call(c, &["GET", "keep"]), Frame::Null);
        assert_eq!(h.call(c, &["GET", "clear"]), bulk("w"));
    }

    #[test]
    fn set_with_a_past_expiry_replies_ok_and_reads_as_gone() {
        let (mut h, c) = start();
        expect_all(
            &mut h,
            c,
            &[
                (&["SET", "k", "v", "EXAT", "1"], ok()),
                (&["GET", "k"], Frame::Null),
                (&["SET", "k", "v"], ok()),
                (&["SET", "k", "w", "PXAT", "1", "GET"], bulk("v")),
                (&["GET", "k"], Frame::Null),
                (&["SET", "k", "v", "PXAT", "1", "XX"], Frame::Null),
                (&["SET", "k", "v", "PXAT", "1"], ok()),
                (&["SET", "k", "w", "KEEPTTL"], ok()),
                (&["GET", "k"], bulk("w")),
            ],
        );
        // As in Redis 7.0.15: counted by DBSIZE until a lookup reclaims it.
        let mut d = Direct::new();
        assert_eq!(d.run(&["SET", "k", "v", "PXAT", "5"]), Reply::OK);
        assert_eq!(d.srv.dirty, 1);
        assert_eq!(d.srv.dbs[0].len(), 1);
        assert_eq!(d.run(&["GET", "k"]), Reply::Null);
        assert_eq!(d.srv.dbs[0].len(), 0);
        assert_eq!(d.srv.dbs[0].expired_keys, 1);
    }

    #[test]
    fn setnx_setex_psetex() {
        let (mut h, c) = start();
        expect_all(
            &mut h,
            c,
            &[
                (&["SETNX", "k", "a"], int(1)),
                (&["SETNX", "k", "b"], int(0)),
                (&["GET", "k"], bulk("a")),
                (
                    &["SETEX", "k", "0", "v"],
                    err("ERR invalid expire time in 'setex' command"),
                ),
                (&["SETEX", "k", "abc", "v"], err(NOT_INT)),
                (
                    &["SETEX", "k", "9223372036854775", "v"],
                    err("ERR invalid expire time in 'setex' command"),
                ),
                (
                    &["PSETEX", "k", "-1", "v"],
                    err("ERR invalid expire time in 'psetex' command"),
                ),
                (
                    &["PSETEX", "k", "9223372036854775807", "v"],
                    err("ERR invalid expire time in 'psetex' command"),
                ),
                (&["GET", "k"], bulk("a")),
                (&["SETEX", "s", "2", "v"], ok()),
                (&["PSETEX", "p", "1500", "v"], ok()),
                (
                    &["SETEX", "k"],
                    err("ERR wrong number of arguments for 'setex' command"),
                ),
            ],
        );
        h.advance(1500);
        assert_eq!(h.call(c, &["GET", "p"]), Frame::Null);
        assert_eq!(h.call(c, &["GET", "s"]), bulk("v"));
        h.advance(500);
        assert_eq!(h.call(c, &["GET", "s"]), Frame::Null);
    }

    #[test]
    fn getset_and_getdel() {
        let (mut h, c) = start();
        expect_all(
            &mut h,
            c,
            &[
                (&["GETSET", "k", "a"], Frame::Null),
                (&["GETSET", "k", "b"], bulk("a")),
                (&["GET", "k"], bulk("b")),
                (&["GETDEL", "k"], bulk("b")),
                (&["GETDEL", "k"], Frame::Null),
                (&["GET", "k"], Frame::Null),
                (&["SET", "t", "v", "PX", "100"], ok()),
                (&["GETSET", "t", "w"], bulk("v")),
            ],
        );
        h.advance(100);
        assert_eq!(h.call(c, &["GET", "t"]), bulk("w"), "GETSET clears the TTL");
    }

    #[test]
    fn getex_options_and_expiry() {
        let (mut h, c) = start();
        let invalid = "ERR invalid expire time in 'getex' command";
        expect_all(
            &mut h,
            c,
            &[
                (&["GETEX", "k", "PERSIST", "EX", "10"], err(SYNTAX)),
                (&["GETEX", "k", "EX", "10", "PERSIST"], err(SYNTAX)),
                (&["GETEX", "k", "NX"], err(SYNTAX)),
                (&["GETEX", "k", "KEEPTTL"], err(SYNTAX)),
                (&["GETEX", "k", "GET"], err(SYNTAX)),
                (&["GETEX", "k", "EX"], err(SYNTAX)),
                // A missing key replies nil before the expire is validated.
                (&["GETEX", "k", "EX", "abc"], Frame::Null),
                (&["GETEX", "k", "EX", "-5"], Frame::Null),
                (&["SET", "k", "v"], ok()),
                (&["GETEX", "k", "EX", "abc"], err(NOT_INT)),
                (&["GETEX", "k", "EX", "0"], err(invalid)),
                (&["GETEX", "k", "PX", "9223372036854775807"], err(invalid)),
                (&["GETEX", "k"], bulk("v")),
                (&["GETEX", "k", "PERSIST", "persist"], bulk("v")),
                (&["GETEX", "k", "EX", "10", "EX", "1"], bulk("v")),
            ],
        );
        h.advance(999);
        assert_eq!(h.call(c, &["GETEX", "k", "PERSIST"]), bulk("v"));
        h.advance(10_000);
        assert_eq!(
            h.call(c, &["GET", "k"]),
            bulk("v"),
            "PERSIST removed the TTL"
        );
        assert_eq!(h.call(c, &["GETEX", "k", "PX", "20"]), bulk("v"));
        h.advance(20);
        assert_eq!(h.call(c, &["GET", "k"]), Frame::Null);
        expect_all(
            &mut h,
            c,
            &[
                (&["SET", "k", "v"], ok()),
                (&["GETEX", "k", "EXAT", "1"], bulk("v")),
                (&["GET", "k"], Frame::Null),
                (&["SET", "k", "v"], ok()),
                (&["GETEX", "k", "PXAT", "1700000100000"], bulk("v")),
            ],
        );
        h.advance(100_000);
        assert_eq!(h.call(c, &["GET", "k"]), Frame::Null);
    }

    #[test]
    fn getex_counts_changes_only() {
        let mut d = Direct::new();
        d.run(&["SET", "k", "v"]);
        assert_eq!(d.srv.dirty, 1);
        d.run(&["GETEX", "k", "PERSIST"]);
        assert_eq!(d.srv.dirty, 1, "no TTL to remove");
        d.run(&["GETEX", "k", "EX", "100"]);
        assert_eq!(d.expire_at("k"), Some(T0 + 100_000));
        assert_eq!(d.srv.dirty, 2);
        d.run(&["GETEX", "k", "PERSIST"]);
        assert_eq!(d.expire_at("k"), None);
        assert_eq!(d.srv.dirty, 3);
        d.run(&["GETEX", "k", "EXAT", "1"]);
        assert_eq!(d.srv.dirty, 4);
        assert_eq!(d.srv.dbs[0].len(), 0);
        assert_eq!(d.srv.dbs[0].expired_keys, 0, "a deletion, not an expiry");
    }

    // ---- MGET / MSET / MSETNX ----

    #[test]
    fn mget_mset_msetnx() {
        let (mut h, c) = start();
        expect_all(
            &mut h,
            c,
            &[
                (
                    &["MSET", "a", "1", "b"],
                    err("ERR wrong number of arguments for 'mset' command"),
                ),
                (
                    &["MSET", "a"],
                    err("ERR wrong number of arguments for 'mset' command"),
                ),
                (
                    &["MSETNX", "a", "1", "b"],
                    err("ERR wrong number of arguments for 'msetnx' command"),
                ),
                (
                    &["MGET"],
                    err("ERR wrong number of arguments for 'mget' command"),
                ),
                (&["MGET", "a", "b"], array(vec![Frame::Null, Frame::Null])),
                (&["MSET", "a", "1", "b", "2", "a", "3"], ok()),
                (
                    &["MGET", "a", "b", "c"],
                    array(vec![bulk("3"), bulk("2"), Frame::Null]),
                ),
                (&["MSETNX", "c", "x", "a", "y"], int(0)),
                (&["GET", "c"], Frame::Null),
                (&["MSETNX", "c", "x", "d", "y"], int(1)),
                (&["MGET", "c", "d"], array(vec![bulk("x"), bulk("y")])),
            ],
        );
        let mut d = Direct::new();
        d.run(&["SET", "a", "v", "EX", "10"]);
        d.run(&["MSET", "a", "1", "b", "2"]);
        assert_eq!(d.expire_at("a"), None, "MSET clears TTLs");
        assert_eq!(d.srv.dirty, 3);
    }

    // ---- counters ----

    #[test]
    fn incr_family() {
        let (mut h, c) = start();
        let overflow = "ERR increment or decrement would overflow";
        expect_all(
            &mut h,
            c,
            &[
                (&["INCR", "n"], int(1)),
                (&["INCRBY", "n", "41"], int(42)),
                (&["DECR", "n"], int(41)),
                (&["DECRBY", "n", "50"], int(-9)),
                (&["GET", "n"], bulk("-9")),
                (&["DECR", "m"], int(-1)),
                (&["DECRBY", "o", "-5"], int(5)),
                (&["INCRBY", "n", "abc"], err(NOT_INT)),
                (&["INCRBY", "n", "1.5"], err(NOT_INT)),
                (
                    &["DECRBY", "n", "-9223372036854775808"],
                    err("ERR decrement would overflow"),
                ),
                (&["SET", "n", "9223372036854775807"], ok()),
                (&["INCR", "n"], err(overflow)),
                (&["SET", "n", "-9223372036854775808"], ok()),
                (&["DECR", "n"], err(overflow)),
                (&["INCRBY", "n", "-1"], err(overflow)),
                (&["INCRBY", "n", "9223372036854775807"], int(-1)),
                (&["SET", "s", " 1"], ok()),
                (&["INCR", "s"], err(NOT_INT)),
                (&["SET", "s", "1.0"], ok()),
                (&["INCR", "s"], err(NOT_INT)),
                (&["SET", "s", "007"], ok()),
                (&["INCR", "s"], err(NOT_INT)),
                (&["SET", "s", ""], ok()),
                (&["DECR", "s"], err(NOT_INT)),
                (&["GET", "s"], bulk("")),
            ],
        );
    }

    #[test]
    fn counters_keep_the_ttl() {
        let (mut h, c) = start();
        expect_all(
            &mut h,
            c,
            &[
                (&["SET", "n", "1", "PX", "100"], ok()),
                (&["INCR", "n"], int(2)),
                (&["SET", "f", "1", "PX", "100"], ok()),
                (&["INCRBYFLOAT", "f", "0.5"], bulk("1.5")),
            ],
        );
        h.advance(100);
        assert_eq!(h.call(c, &["GET", "n"]), Frame::Null);
        assert_eq!(h.call(c, &["GET", "f"]), Frame::Null);
    }

    #[test]
    fn incrbyfloat_replies_as_redis() {
        let (mut h, c) = start();
        expect_all(
            &mut h,
            c,
            &[
                (&["INCRBYFLOAT", "f", "10.5"], bulk("10.5")),
                (&["INCRBYFLOAT", "f", "0.1"], bulk("10.6")),
                (
                    &["INCRBYFLOAT", "f", "-5.0e3"],
                    bulk("-4989.39999999999999991"),
                ),
                (&["SET", "a", "0.1"], ok()),
                (&["INCRBYFLOAT", "a", "0.2"], bulk("0.3")),
                (&["SET", "a", "1000"], ok()),
                (&["INCRBYFLOAT", "a", "0.1"], bulk("1000.09999999999999998")),
                (&["INCRBYFLOAT", "b", "1e20"], bulk("100000000000000000000")),
                (
                    &["INCRBYFLOAT", "b", "5.0e3"],
                    bulk("100000000000000005000"),
                ),
                (&["INCRBYFLOAT", "c", "0x10"], bulk("16")),
                (&["INCRBYFLOAT", "c", "abc"], err(NOT_FLOAT)),
                (&["INCRBYFLOAT", "c", " 1"], err(NOT_FLOAT)),
                (&["INCRBYFLOAT", "c", "1e-5000"], err(NOT_FLOAT)),
                (
                    &["INCRBYFLOAT", "c", "inf"],
                    err("ERR increment would produce NaN or Infinity"),
                ),
                (&["SET", "s", "hello"], ok()),
                (&["INCRBYFLOAT", "s", "1"], err(NOT_FLOAT)),
                (&["SET", "s", "1e4932"], ok()),
                (
                    &["INCRBYFLOAT", "s", "1e4932"],
                    err("ERR increment would produce NaN or Infinity"),
                ),
                (&["INCRBYFLOAT", "nokey", "nan"], err(NOT_FLOAT)),
                (&["GET", "nokey"], Frame::Null),
            ],
        );
    }

    // ---- APPEND / SETRANGE / GETRANGE / STRLEN ----

    #[test]
    fn append_and_strlen() {
        let (mut h, c) = start();
        expect_all(
            &mut h,
            c,
            &[
                (&["STRLEN", "k"], int(0)),
                (&["APPEND", "k", "Hello"], int(5)),
                (&["APPEND", "k", " World"], int(11)),
                (&["GET", "k"], bulk("Hello World")),
                (&["STRLEN", "k"], int(11)),
                (&["SET", "n", "-123"], ok()),
                (&["STRLEN", "n"], int(4)),
                (&["APPEND", "n", "4"], int(5)),
                (&["GET", "n"], bulk("-1234")),
                (&["APPEND", "n", ""], int(5)),
            ],
        );
    }

    #[test]
    fn growth_is_bounded_by_proto_max_bulk_len() {
        // Also the longest argument a client may send: 20 bytes.
        let config = Config {
            proto_max_bulk_len: 20,
            ..Config::default()
        };
        let (mut h, c) = start_with(config);
        let too_big = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
        expect_all(
            &mut h,
            c,
            &[
                (&["APPEND", "k", "1234567890"], int(10)),
                (&["APPEND", "k", "abcdefghij"], int(20)),
                (&["APPEND", "k", "x"], err(too_big)),
                (&["APPEND", "k", ""], int(20)),
                (&["SETRANGE", "k", "20", "x"], err(too_big)),
                (&["SETRANGE", "k", "9223372036854775807", "x"], err(too_big)),
                (&["SETRANGE", "k", "19", "x"], int(20)),
                (&["GET", "k"], bulk("1234567890abcdefghix")),
                (&["SETRANGE", "new", "20", "x"], err(too_big)),
                (&["GET", "new"], Frame::Null),
                // An empty patch is never checked: nothing grows.
                (&["SETRANGE", "new", "9223372036854775807", ""], int(0)),
                (&["SETRANGE", "k", "9223372036854775807", ""], int(20)),
            ],
        );
    }

    #[test]
    fn setrange_patches_and_pads() {
        let (mut h, c) = start();
        expect_all(
            &mut h,
            c,
            &[
                (&["SET", "k", "Hello World"], ok()),
                (&["SETRANGE", "k", "6", "Redis"], int(11)),
                (&["GET", "k"], bulk("Hello Redis")),
                (
                    &["SETRANGE", "k", "-1", "x"],
                    err("ERR offset is out of range"),
                ),
                (&["SETRANGE", "k", "abc", "x"], err(NOT_INT)),
                (&["SETRANGE", "k", "0", ""], int(11)),
                (&["SETRANGE", "p", "3", "ab"], int(5)),
                (&["GET", "p"], bulk("\0\0\0ab")),
                (&["SETRANGE", "p", "7", "z"], int(8)),
                (&["GET", "p"], bulk("\0\0\0ab\0\0z")),
                (&["SETRANGE", "e", "5", ""], int(0)),
                (&["GET", "e"], Frame::Null),
                (&["SET", "n", "1234"], ok()),
                (&["SETRANGE", "n", "1", "x"], int(4)),
                (&["GET", "n"], bulk("1x34")),
            ],
        );
    }

    #[test]
    fn getrange_clamps_every_index() {
        let (mut h, c) = start();
        assert_eq!(h.call(c, &["SET", "s", "Hello World"]), ok());
        let min = "-9223372036854775808";
        let max = "9223372036854775807";
        for (start, end, want) in [
            ("0", "3", "Hell"),
            ("-3", "-1", "rld"),
            ("0", "-1", "Hello World"),
            ("10", "100", "d"),
            ("5", "3", ""),
            ("-100", "-50", "H"),
            ("0", "-100", "H"),
            ("-1", "-100", ""),
            ("11", "11", ""),
            (min, max, "Hello World"),
            (max, min, ""),
            (min, min, "H"),
            (max, max, ""),
        ] {
            assert_eq!(
                h.call(c, &["GETRANGE", "s", start, end]),
                bulk(want),
                "{start} {end}"
            );
            assert_eq!(
                h.call(c, &["SUBSTR", "s", start, end]),
                bulk(want),
                "{start} {end}"
            );
        }
        expect_all(
            &mut h,
            c,
            &[
                (&["GETRANGE", "s", "abc", "1"], err(NOT_INT)),
                (&["GETRANGE", "s", "0", "1.5"], err(NOT_INT)),
                (&["GETRANGE", "none", "0", "-1"], bulk("")),
                (&["SET", "e", ""], ok()),
                (&["GETRANGE", "e", "0", "-1"], bulk("")),
                (&["GETRANGE", "e", "0", "0"], bulk("")),
                (&["SET", "n", "-1234"], ok()),
                (&["GETRANGE", "n", "1", "2"], bulk("12")),
            ],
        );
    }

    // ---- LCS ----

    fn pair(a: i64, b: i64) -> Frame {
        array(vec![int(a), int(b)])
    }

    #[test]
    fn lcs_string_len_and_idx_in_resp2() {
        let (mut h, c) = start();
        assert_eq!(
            h.call(c, &["MSET", "key1", "ohmytext", "key2", "mynewtext"]),
            ok()
        );
        let all = array(vec![
            array(vec![pair(4, 7), pair(5, 8)]),
            array(vec![pair(2, 3), pair(0, 1)]),
        ]);
        expect_all(
            &mut h,
            c,
            &[
                (&["LCS", "key1", "key2"], bulk("mytext")),
                (&["LCS", "key1", "key2", "LEN"], int(6)),
                (
                    &["LCS", "key1", "key2", "IDX"],
                    array(vec![bulk("matches"), all, bulk("len"), int(6)]),
                ),
                (
                    &[
                        "LCS",
                        "key1",
                        "key2",
                        "IDX",
                        "MINMATCHLEN",
                        "4",
                        "WITHMATCHLEN",
                    ],
                    array(vec![
                        bulk("matches"),
                        array(vec![array(vec![pair(4, 7), pair(5, 8), int(4)])]),
                        bulk("len"),
                        int(6),
                    ]),
                ),
                (
                    &["LCS", "key1", "nokey", "IDX"],
                    array(vec![bulk("matches"), array(vec![]), bulk("len"), int(0)]),
                ),
                (&["LCS", "none1", "none2"], bulk("")),
                (&["LCS", "key1", "key2", "LEN", "MINMATCHLEN", "-5"], int(6)),
            ],
        );
    }

    #[test]
    fn lcs_idx_is_a_map_in_resp3() {
        let (mut h, c) = start();
        assert_eq!(
            h.call(c, &["MSET", "key1", "ohmytext", "key2", "mynewtext"]),
            ok()
        );
        assert!(matches!(h.call(c, &["HELLO", "3"]), Frame::Map(_)));
        let reply = h.call(c, &["LCS", "key1", "key2", "IDX", "WITHMATCHLEN"]);
        let want = Frame::Map(vec![
            (
                bulk("matches"),
                array(vec![
                    array(vec![pair(4, 7), pair(5, 8), int(4)]),
                    array(vec![pair(2, 3), pair(0, 1), int(2)]),
                ]),
            ),
            (bulk("len"), int(6)),
        ]);
        assert_eq!(reply, want);
    }

    #[test]
    fn lcs_errors() {
        let (mut h, c) = start();
        assert_eq!(h.call(c, &["MSET", "a", "abc", "b", "bcd"]), ok());
        expect_all(
            &mut h,
            c,
            &[
                (
                    &["LCS", "a", "b", "IDX", "LEN"],
                    err("ERR If you want both the length and indexes, please just use IDX."),
                ),
                (
                    &["LCS", "a", "b", "LEN", "MINMATCHLEN", "-5", "IDX"],
                    err("ERR If you want both the length and indexes, please just use IDX."),
                ),
                (&["LCS", "a", "b", "MINMATCHLEN"], err(SYNTAX)),
                (&["LCS", "a", "b", "MINMATCHLEN", "x"], err(NOT_INT)),
                (&["LCS", "a", "b", "foo"], err(SYNTAX)),
                (
                    &["LCS", "a"],
                    err("ERR wrong number of arguments for 'lcs' command"),
                ),
            ],
        );
    }

    #[test]
    fn lcs_table_is_bounded_by_proto_max_bulk_len() {
        let mut d = Direct::new();
        // Redis's rule: (len_a + 1) * (len_b + 1) u32 cells must fit.
        d.srv.config.proto_max_bulk_len = 4 * 11 * 11;
        d.run(&["MSET", "ten", "abcdefghij", "eleven", "abcdefghijk"]);
        assert_eq!(d.run(&["LCS", "ten", "ten", "LEN"]), Reply::Int(10));
        assert_eq!(
            d.run(&["LCS", "ten", "eleven", "LEN"]),
            Reply::err(
                "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
            )
        );
        assert_eq!(d.run(&["LCS", "eleven", "missing", "LEN"]), Reply::Int(0));
    }

    #[test]
    fn lcs_matches_a_naive_definition() {
        // The length is the longest common subsequence's, and the string is one.
        for (a, b) in [
            ("", "abc"),
            ("abc", "abc"),
            ("abcbdab", "bdcaba"),
            ("aaaa", "aa"),
            ("xyz", "abc"),
        ] {
            let table = LcsTable::build(a.as_bytes(), b.as_bytes(), u64::MAX).expect("small");
            let (common, matches) = table.backtrack(a.as_bytes(), b.as_bytes());
            assert_eq!(common.len() as u32, table.length());
            assert!(is_subsequence(&common, a.as_bytes()) && is_subsequence(&common, b.as_bytes()));
            let total: usize = matches.iter().map(LcsMatch::len).sum();
            assert_eq!(total, common.len(), "the ranges cover the common string");
            for m in &matches {
                assert_eq!(a.as_bytes()[m.a.clone()], b.as_bytes()[m.b.clone()]);
            }
        }
    }

    fn is_subsequence(needle: &[u8], hay: &[u8]) -> bool {
        let mut rest = hay.iter();
        needle.iter().all(|n| rest.any(|h| h == n))
    }

    // ---- encodings, counters, statistics ----

    #[test]
    fn encodings_follow_redis() {
        let mut d = Direct::new();
        d.run(&["SET", "int", "123"]);
        assert_eq!(d.encoding("int"), "int");
        d.run(&["SET", "emb", "0123"]);
        assert_eq!(d.encoding("emb"), "embstr");
        d.run(&["SET", "raw", &"x".repeat(45)]);
        assert_eq!(d.encoding("raw"), "raw");
        d.run(&["APPEND", "int", "4"]);
        assert_eq!(d.encoding("int"), "raw");
        d.run(&["APPEND", "new", "77"]);
        assert_eq!(d.encoding("new"), "int");
        d.run(&["SET", "sr", "1234"]);
        d.run(&["SETRANGE", "sr", "0", ""]);
        assert_eq!(d.encoding("sr"), "int", "an empty patch changes nothing");
        d.run(&["SETRANGE", "sr", "0", "9"]);
        assert_eq!(d.encoding("sr"), "raw");
        d.run(&["SETRANGE", "fresh", "0", "1"]);
        assert_eq!(d.encoding("fresh"), "raw");
        d.run(&["INCR", "fresh"]);
        assert_eq!(d.encoding("fresh"), "int");
        d.run(&["INCRBYFLOAT", "fresh", "1"]);
        assert_eq!(
            d.encoding("fresh"),
            "embstr",
            "INCRBYFLOAT stores a plain string"
        );
        d.run(&["MSET", "m", "5", "g", "x"]);
        assert_eq!(d.encoding("m"), "int");
        d.run(&["GETSET", "g", "6"]);
        assert_eq!(d.encoding("g"), "int");
    }

    #[test]
    fn dirty_counts_changes() {
        let mut d = Direct::new();
        let steps: &[(&[&str], u64)] = &[
            (&["SET", "k", "v"], 1),
            (&["SET", "k", "v", "NX"], 1),
            (&["SETNX", "k", "v"], 1),
            (&["MSET", "a", "1", "b", "2"], 3),
            (&["MSETNX", "a", "1", "c", "2"], 3),
            (&["MSETNX", "c", "1", "d", "2"], 5),
            (&["INCR", "a"], 6),
            (&["INCR", "k"], 6),
            (&["INCRBYFLOAT", "a", "1"], 7),
            (&["APPEND", "k", ""], 8),
            (&["SETRANGE", "k", "0", ""], 8),
            (&["SETRANGE", "k", "0", "x"], 9),
            (&["GETDEL", "none"], 9),
            (&["GETDEL", "k"], 10),
            (&["GETSET", "k", "v"], 11),
            (&["GET", "k"], 11),
        ];
        for (args, dirty) in steps {
            d.run(args);
            assert_eq!(d.srv.dirty, *dirty, "after {args:?}");
        }
    }

    #[test]
    fn reads_count_keyspace_hits_and_misses() {
        let mut d = Direct::new();
        d.run(&["SET", "k", "v"]);
        let steps: &[(&[&str], u64, u64)] = &[
            (&["GET", "k"], 1, 0),
            (&["GET", "x"], 1, 1),
            (&["MGET", "k", "x", "k"], 3, 2),
            (&["STRLEN", "k"], 4, 2),
            (&["GETRANGE", "x", "0", "1"], 4, 3),
            (&["LCS", "k", "x"], 5, 4),
            (&["SET", "k", "w", "GET"], 6, 4),
            (&["GETEX", "k"], 7, 4),
            (&["INCR", "n"], 7, 4),
            (&["APPEND", "k", "x"], 7, 4),
            (&["GETDEL", "k"], 8, 4),
        ];
        for (args, hits, misses) in steps {
            d.run(args);
            let stats = &d.srv.stats;
            assert_eq!(
                (stats.keyspace_hits, stats.keyspace_misses),
                (*hits, *misses),
                "after {args:?}"
            );
        }
    }

    #[test]
    fn table_metadata_matches_redis() {
        let spec = |name: &str| COMMANDS.iter().find(|s| s.name == name).expect(name);
        assert_eq!(COMMANDS.len(), 22);
        let lcs = spec("lcs");
        assert_eq!(
            (lcs.arity, lcs.first_key, lcs.last_key, lcs.step),
            (-3, 1, 2, 1)
        );
        assert!(matches!(
            lcs.key_specs[0].find,
            FindKeys::Range {
                lastkey: 1,
                step: 1,
                limit: 0
            }
        ));
        let mset = spec("mset");
        assert_eq!(
            (mset.arity, mset.first_key, mset.last_key, mset.step),
            (-3, 1, -1, 2)
        );
        assert_eq!(mset.key_positions(5), vec![1, 3]);
        assert_eq!(
            spec("msetnx").tips,
            ["request_policy:multi_shard", "response_policy:agg_min"]
        );
        assert_eq!(
            spec("set").key_specs[0].flags,
            ["RW", "access", "update", "variable_flags"]
        );
        assert_eq!(spec("getrange").acl, ["read", "string", "slow"]);
        assert!(spec("getdel").has(WRITE | FAST) && !spec("getdel").has(DENYOOM));
        for s in COMMANDS {
            assert_eq!(s.group, "string");
            let fast = s.has(FAST);
            assert_eq!(s.acl.contains(&"fast"), fast, "{}", s.name);
            assert_eq!(s.acl.contains(&"slow"), !fast, "{}", s.name);
            assert_eq!(s.acl.contains(&"write"), s.has(WRITE), "{}", s.name);
            assert_eq!(s.acl.contains(&"read"), s.has(READONLY), "{}", s.name);
        }
    }

    // ---- model test ----

    mod model {
        use super::*;
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        const KEYS: [&str; 3] = ["a", "b", "c"];

        #[derive(Debug, Clone)]
        enum Op {
            Set {
                key: usize,
                value: String,
                px: Option<u64>,
                /// None, Some(true) = NX, Some(false) = XX.
                nx: Option<bool>,
                get: bool,
                keep_ttl: bool,
            },
            Get(usize),
            Append(usize, String),
            IncrBy(usize, i64),
            GetDel(usize),
            SetRange(usize, u8, String),
            GetRange(usize, i64, i64),
            Strlen(usize),
            MSet(Vec<(usize, String)>),
            MGet(Vec<usize>),
            Advance(u64),
        }

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-c0-9-]{0,4}",
                Just("9223372036854775807".to_string()),
                Just("-9223372036854775808".to_string()),
            ]
        }

        fn index() -> impl Strategy<Value = i64> {
            prop_oneof![-12i64..12, Just(i64::MIN), Just(i64::MAX)]
        }

        fn op() -> impl Strategy<Value = Op> {
            let key = 0..KEYS.len();
            prop_oneof![
                4 => (key.clone(), value(), prop::option::of(1u64..3000),
                      prop::option::of(any::<bool>()), any::<bool>(), prop::bool::weighted(0.2))
                    .prop_map(|(key, value, px, nx, get, keep_ttl)| {
                        Op::Set { key, value, px, nx, get, keep_ttl }
                    }),
                2 => key.clone().prop_map(Op::Get),
                1 => (key.clone(), value()).prop_map(|(k, v)| Op::Append(k, v)),
                2 => (key.clone(), prop_oneof![-5i64..5, Just(i64::MAX), Just(i64::MIN)])
                    .prop_map(|(k, n)| Op::IncrBy(k, n)),
                1 => key.clone().prop_map(Op::GetDel),
                1 => (key.clone(), 0u8..8, value()).prop_map(|(k, o, v)| Op::SetRange(k, o, v)),
                1 => (key.clone(), index(), index()).prop_map(|(k, s, e)| Op::GetRange(k, s, e)),
                1 => key.clone().prop_map(Op::Strlen),
                1 => prop::collection::vec((key.clone(), value()), 1..4).prop_map(Op::MSet),
                1 => prop::collection::vec(key, 1..4).prop_map(Op::MGet),
                2 => prop_oneof![0u64..50, 500u64..2500].prop_map(Op::Advance),
            ]
        }

        /// Key → (value, absolute expiry in ms).
        struct Model {
            now: u64,
            data: BTreeMap<&'static str, (Vec<u8>, Option<u64>)>,
        }

        impl Model {
            fn purge(&mut self) {
                let now = self.now;
                self.data.retain(|_, (_, at)| at.is_none_or(|at| at > now));
            }

            fn value(&self, key: &str) -> Option<&Vec<u8>> {
                self.data.get(key).map(|(v, _)| v)
            }

            fn bulk_of(&self, key: &str) -> Frame {
                self.value(key)
                    .map_or(Frame::Null, |v| Frame::Bulk(Bytes::copy_from_slice(v)))
            }

            /// The command for `op` and the reply the model expects.
            fn apply(&mut self, op: &Op) -> (Vec<String>, Frame) {
                self.purge();
                match op {
                    Op::Set {
                        key,
                        value,
                        px,
                        nx,
                        get,
                        keep_ttl,
                    } => self.set(KEYS[*key], value, *px, *nx, *get, *keep_ttl),
                    Op::Get(k) => (cmd(&["GET", KEYS[*k]]), self.bulk_of(KEYS[*k])),
                    Op::Append(k, tail) => {
                        let key = KEYS[*k];
                        let entry = self.data.entry(key).or_insert((Vec::new(), None));
                        entry.0.extend_from_slice(tail.as_bytes());
                        (cmd(&["APPEND", key, tail]), int(entry.0.len() as i64))
                    }
                    Op::IncrBy(k, n) => self.incr_by(KEYS[*k], *n),
                    Op::GetDel(k) => {
                        let key = KEYS[*k];
                        let reply = self.bulk_of(key);
                        self.data.remove(key);
                        (cmd(&["GETDEL", key]), reply)
                    }
                    Op::SetRange(k, offset, patch) => {
                        self.set_range(KEYS[*k], *offset as usize, patch)
                    }
                    Op::GetRange(k, start, end) => {
                        let key = KEYS[*k];
                        let value = self.value(key).cloned().unwrap_or_default();
                        let want = Frame::Bulk(Bytes::from(substring(&value, *start, *end)));
                        (
                            cmd(&["GETRANGE", key, &start.to_string(), &end.to_string()]),
                            want,
                        )
                    }
                    Op::Strlen(k) => {
                        let len = self.value(KEYS[*k]).map_or(0, Vec::len);
                        (cmd(&["STRLEN", KEYS[*k]]), int(len as i64))
                    }
                    Op::MSet(pairs) => {
                        let mut args = vec!["MSET".to_string()];
                        for (k, v) in pairs {
                            self.data.insert(KEYS[*k], (v.clone().into_bytes(), None));
                            args.extend([KEYS[*k].to_string(), v.clone()]);
                        }
                        (args, ok())
                    }
                    Op::MGet(keys) => {
                        let mut args = vec!["MGET".to_string()];
                        args.extend(keys.iter().map(|k| KEYS[*k].to_string()));
                        let replies = keys.iter().map(|k| self.bulk_of(KEYS[*k])).collect();
                        (args, Frame::Array(replies))
                    }
                    Op::Advance(_) => unreachable!("handled by the runner"),
                }
            }

            fn set(
                &mut self,
                key: &'static str,
                value: &str,
                px: Option<u64>,
                nx: Option<bool>,
                get: bool,
                keep_ttl: bool,
            ) -> (Vec<String>, Frame) {
                let mut args = cmd(&["SET", key, value]);
                if let Some(ms) = px {
                    args.extend(["PX".to_string(), ms.to_string()]);
                }
                match nx {
                    Some(true) => args.push("NX".into()),
                    Some(false) => args.push("XX".into()),
                    None => {}
                }
                if get {
                    args.push("GET".into());
                }
                if keep_ttl {
                    args.push("KEEPTTL".into());
                }
                if keep_ttl && px.is_some() {
                    return (args, err(SYNTAX));
                }
                let old = self.data.get(key).cloned();
                let blocked = match nx {
                    Some(true) => old.is_some(),
                    Some(false) => old.is_none(),
                    None => false,
                };
                if !blocked {
                    let ttl = match (px, keep_ttl) {
                        (Some(ms), _) => Some(self.now + ms),
                        (None, true) => old.as_ref().and_then(|(_, at)| *at),
                        (None, false) => None,
                    };
                    self.data.insert(key, (value.as_bytes().to_vec(), ttl));
                }
                let reply = match (get, blocked) {
                    (true, _) => old.map_or(Frame::Null, |(v, _)| Frame::Bulk(Bytes::from(v))),
                    (false, false) => ok(),
                    (false, true) => Frame::Null,
                };
                (args, reply)
            }

            fn incr_by(&mut self, key: &'static str, n: i64) -> (Vec<String>, Frame) {
                let args = cmd(&["INCRBY", key, &n.to_string()]);
                let current = match self.value(key) {
                    None => Some(0),
                    Some(v) => std::str::from_utf8(v).ok().and_then(canonical_i64),
                };
                let Some(current) = current else {
                    return (args, err(NOT_INT));
                };
                let Some(new) = current.checked_add(n) else {
                    return (args, err("ERR increment or decrement would overflow"));
                };
                let entry = self.data.entry(key).or_insert((Vec::new(), None));
                entry.0 = new.to_string().into_bytes();
                (args, int(new))
            }

            fn set_range(
                &mut self,
                key: &'static str,
                offset: usize,
                patch: &str,
            ) -> (Vec<String>, Frame) {
                let args = cmd(&["SETRANGE", key, &offset.to_string(), patch]);
                if patch.is_empty() {
                    return (args, int(self.value(key).map_or(0, Vec::len) as i64));
                }
                let entry = self.data.entry(key).or_insert((Vec::new(), None));
                let end = offset + patch.len();
                if entry.0.len() < end {
                    entry.0.resize(end, 0);
                }
                entry.0[offset..end].copy_from_slice(patch.as_bytes());
                (args, int(entry.0.len() as i64))
            }
        }

        fn cmd(parts: &[&str]) -> Vec<String> {
            parts.iter().map(|p| p.to_string()).collect()
        }

        /// An integer in canonical form: what prints back the same.
        fn canonical_i64(text: &str) -> Option<i64> {
            text.parse::<i64>().ok().filter(|n| n.to_string() == text)
        }

        /// GETRANGE by filtering indices, a formulation independent of the
        /// handler's: negative indices count from the end; an end before
        /// the start of the string still includes byte 0.
        fn substring(value: &[u8], start: i64, end: i64) -> Vec<u8> {
            if start < 0 && end < 0 && start > end {
                return Vec::new();
            }
            let len = value.len() as i128;
            let resolve = |i: i64| {
                if i < 0 {
                    len + i128::from(i)
                } else {
                    i128::from(i)
                }
            };
            let (first, last) = (resolve(start), resolve(end).max(0));
            value
                .iter()
                .enumerate()
                .filter(|(i, _)| (*i as i128) >= first && (*i as i128) <= last)
                .map(|(_, b)| *b)
                .collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]

            #[test]
            fn string_commands_match_a_map_model(ops in prop::collection::vec(op(), 1..60)) {
                let (mut h, c) = start();
                let mut model = Model { now: T0, data: BTreeMap::new() };
                for op in &ops {
                    if let Op::Advance(ms) = op {
                        h.advance(*ms);
                        model.now += ms;
                        continue;
                    }
                    let (args, want) = model.apply(op);
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    prop_assert_eq!(h.call(c, &args), want, "{:?}", args);
                }
                // Every key the model holds is there with its value, and no other.
                model.purge();
                let all = KEYS.map(|k| model.bulk_of(k)).to_vec();
                prop_assert_eq!(h.call(c, &["MGET", "a", "b", "c"]), Frame::Array(all));
            }
        }
    }
}
