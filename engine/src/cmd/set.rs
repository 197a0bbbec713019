//! Set commands: SADD, SREM, membership and size, random members (SPOP,
//! SRANDMEMBER), SMOVE, the algebra (SINTER, SUNION, SDIFF, their STORE
//! forms, SINTERCARD) and SSCAN.
//!
//! Behaviour is Redis 7.0's (replies, errors, the order of checks); the
//! encodings are Redis 7.2's (`listpack` for small sets of strings), see
//! [`crate::types::set`]. A set never stays in the keyspace empty.

use super::flags::*;
use super::keys::{delete_key, deletion, parse_scan_cursor, parse_scan_options, scan_reply};
use super::{CommandSpec, Ctx, FindKeys, KeySpec};
use crate::db::Object;
use crate::notify::class;
use crate::resp::Reply;
use crate::types::set::{Member, SetConfig};
use crate::types::{SetValue, Value};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

#[rustfmt::skip]
mod docs;
#[cfg(test)]
mod effects_tests;
#[cfg(test)]
mod tests;

// ---- the table ----

const READ_FAST: &[&str] = &["read", "set", "fast"];
const READ_SLOW: &[&str] = &["read", "set", "slow"];
const WRITE_FAST: &[&str] = &["write", "set", "fast"];
const WRITE_SLOW: &[&str] = &["write", "set", "slow"];

/// Keys from `begin` up to `lastkey` (relative; negative: from the end).
const fn keys_at(flags: &'static [&'static str], begin: i32, lastkey: i32) -> KeySpec {
    KeySpec::range(flags, begin, lastkey, 1)
}

const RO: &[KeySpec] = &[keys_at(&["RO"], 1, 0)];
const RO_ACCESS: &[KeySpec] = &[keys_at(&["RO", "access"], 1, 0)];
const RO_ACCESS_ALL: &[KeySpec] = &[keys_at(&["RO", "access"], 1, -1)];
const RW_INSERT: &[KeySpec] = &[keys_at(&["RW", "insert"], 1, 0)];
const RW_DELETE: &[KeySpec] = &[keys_at(&["RW", "delete"], 1, 0)];
const RW_ACCESS_DELETE: &[KeySpec] = &[keys_at(&["RW", "access", "delete"], 1, 0)];
const SMOVE_KEYS: &[KeySpec] = &[
    keys_at(&["RW", "access", "delete"], 1, 0),
    keys_at(&["RW", "insert"], 2, 0),
];
const SINTERSTORE_KEYS: &[KeySpec] = &[
    keys_at(&["RW", "update"], 1, 0),
    keys_at(&["RO", "access"], 2, -1),
];
const OW_STORE_KEYS: &[KeySpec] = &[
    keys_at(&["OW", "update"], 1, 0),
    keys_at(&["RO", "access"], 2, -1),
];
const SINTERCARD_KEYS: &[KeySpec] = &[KeySpec {
    notes: None,
    flags: &["RO", "access"],
    begin_index: 1,
    find: FindKeys::Keynum {
        keynumidx: 0,
        firstkey: 1,
        step: 1,
    },
}];

const INTER_COMPLEXITY: &str =
    "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.";
const ALL_SETS_COMPLEXITY: &str = "O(N) where N is the total number of elements in all given sets.";
const NONDETERMINISTIC_ORDER: &[&str] = &["nondeterministic_output_order"];
const NONDETERMINISTIC: &[&str] = &["nondeterministic_output"];

/// A set command on the key at index 1; the table overrides the rest.
const fn cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    acl: &'static [&'static str],
    key_specs: &'static [KeySpec],
    doc: (&'static str, &'static str),
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec::keyed("set", name, arity, flags, acl, key_specs, doc, handler)
}

/// A command on the keys from index 1 to the last.
const fn all_keys(spec: CommandSpec) -> CommandSpec {
    CommandSpec {
        last_key: -1,
        ..spec
    }
}

#[rustfmt::skip]
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        complexity: "O(1) for each element added, so O(N) to add N elements when the command \
is called with multiple arguments.",
        ..cmd("sadd", -3, WRITE | DENYOOM | FAST, WRITE_FAST, RW_INSERT,
            ("1.0.0", "Add one or more members to a set"), sadd)
    }.with_docs(docs::SADD),
    CommandSpec {
        complexity: "O(N) where N is the number of members to be removed.",
        ..cmd("srem", -3, WRITE | FAST, WRITE_FAST, RW_DELETE,
            ("1.0.0", "Remove one or more members from a set"), srem)
    }.with_docs(docs::SREM),
    CommandSpec {
        tips: NONDETERMINISTIC_ORDER,
        complexity: "O(N) where N is the set cardinality.",
        ..cmd("smembers", 2, READONLY, READ_SLOW, RO_ACCESS,
            ("1.0.0", "Get all the members in a set"), smembers)
    }.with_docs(docs::KEY_ONLY),
    cmd("sismember", 3, READONLY | FAST, READ_FAST, RO,
        ("1.0.0", "Determine if a given value is a member of a set"), sismember)
        .with_docs(docs::SISMEMBER),
    CommandSpec {
        complexity: "O(N) where N is the number of elements being checked for membership",
        ..cmd("smismember", -3, READONLY | FAST, READ_FAST, RO_ACCESS,
            ("6.2.0", "Returns the membership associated with the given elements for a set"),
            smismember)
    }.with_docs(docs::SMISMEMBER),
    cmd("scard", 2, READONLY | FAST, READ_FAST, RO,
        ("1.0.0", "Get the number of members in a set"), scard)
        .with_docs(docs::KEY_ONLY),
    CommandSpec {
        tips: NONDETERMINISTIC,
        complexity: "Without the count argument O(1), otherwise O(N) where N is the value of \
the passed count.",
        ..cmd("spop", -2, WRITE | FAST, WRITE_FAST, RW_ACCESS_DELETE,
            ("1.0.0", "Remove and return one or multiple random members from a set"), spop)
    }.with_docs(docs::SPOP),
    CommandSpec {
        tips: NONDETERMINISTIC,
        complexity: "Without the count argument O(1), otherwise O(N) where N is the absolute \
value of the passed count.",
        ..cmd("srandmember", -2, READONLY, READ_SLOW, RO_ACCESS,
            ("1.0.0", "Get one or multiple random members from a set"), srandmember)
    }.with_docs(docs::SRANDMEMBER),
    CommandSpec {
        last_key: 2,
        ..cmd("smove", 4, WRITE | FAST, WRITE_FAST, SMOVE_KEYS,
            ("1.0.0", "Move a member from one set to another"), smove)
    }.with_docs(docs::SMOVE),
    all_keys(CommandSpec {
        tips: NONDETERMINISTIC_ORDER,
        complexity: INTER_COMPLEXITY,
        ..cmd("sinter", -2, READONLY, READ_SLOW, RO_ACCESS_ALL,
            ("1.0.0", "Intersect multiple sets"), sinter)
    }).with_docs(docs::KEYS),
    CommandSpec {
        first_key: 0,
        last_key: 0,
        step: 0,
        complexity: INTER_COMPLEXITY,
        ..cmd("sintercard", -3, READONLY | MOVABLE_KEYS, READ_SLOW, SINTERCARD_KEYS,
            ("7.0.0", "Intersect multiple sets and return the cardinality of the result"),
            sintercard)
    }.with_docs(docs::SINTERCARD),
    all_keys(CommandSpec {
        complexity: INTER_COMPLEXITY,
        ..cmd("sinterstore", -3, WRITE | DENYOOM, WRITE_SLOW, SINTERSTORE_KEYS,
            ("1.0.0", "Intersect multiple sets and store the resulting set in a key"),
            sinterstore)
    }).with_docs(docs::STORE),
    all_keys(CommandSpec {
        tips: NONDETERMINISTIC_ORDER,
        complexity: ALL_SETS_COMPLEXITY,
        ..cmd("sunion", -2, READONLY, READ_SLOW, RO_ACCESS_ALL,
            ("1.0.0", "Add multiple sets"), sunion)
    }).with_docs(docs::KEYS),
    all_keys(CommandSpec {
        complexity: ALL_SETS_COMPLEXITY,
        ..cmd("sunionstore", -3, WRITE | DENYOOM, WRITE_SLOW, OW_STORE_KEYS,
            ("1.0.0", "Add multiple sets and store the resulting set in a key"), sunionstore)
    }).with_docs(docs::STORE),
    all_keys(CommandSpec {
        tips: NONDETERMINISTIC_ORDER,
        complexity: ALL_SETS_COMPLEXITY,
        ..cmd("sdiff", -2, READONLY, READ_SLOW, RO_ACCESS_ALL,
            ("1.0.0", "Subtract multiple sets"), sdiff)
    }).with_docs(docs::KEYS),
    all_keys(CommandSpec {
        complexity: ALL_SETS_COMPLEXITY,
        ..cmd("sdiffstore", -3, WRITE | DENYOOM, WRITE_SLOW, OW_STORE_KEYS,
            ("1.0.0", "Subtract multiple sets and store the resulting set in a key"), sdiffstore)
    }).with_docs(docs::STORE),
    CommandSpec {
        tips: NONDETERMINISTIC,
        complexity: "O(1) for every call. O(N) for a complete iteration, including enough \
command calls for the cursor to return back to 0. N is the number of elements inside the \
collection..",
        ..cmd("sscan", -3, READONLY, READ_SLOW, RO_ACCESS,
            ("2.8.0", "Incrementally iterate Set elements"), sscan)
    }.with_docs(docs::SSCAN),
];

// ---- shared helpers ----

fn set_config(ctx: &Ctx) -> SetConfig {
    SetConfig::from_config(&ctx.srv.config)
}

/// The set under `key` after a read lookup (Redis's `lookupKeyRead`: lazy
/// expiry, hit/miss counting, access tracking); `Ok(None)` when missing.
fn read_set<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut SetValue>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(obj) => obj
            .value
            .as_set_mut()
            .map(Some)
            .ok_or_else(Reply::wrong_type),
    }
}

/// The set under `key` after a write lookup (`lookupKeyWrite`).
fn write_set<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut SetValue>, Reply> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(obj) => obj
            .value
            .as_set_mut()
            .map(Some)
            .ok_or_else(Reply::wrong_type),
    }
}

/// Stores a new set under a key known to be absent.
fn insert_new(ctx: &mut Ctx, key: &[u8], set: SetValue) {
    let access = ctx.new_access();
    ctx.db()
        .insert_new(key, Object::new(Value::Set(set), access));
}

/// Deletes a key whose set has just become empty.
fn delete_emptied(ctx: &mut Ctx, key: &[u8]) {
    let lazy = ctx.srv.config.lazyfree_lazy_server_del;
    delete_key(ctx, key, lazy);
}

/// Signals a change to the set at `key` (WATCH, keyspace events): the
/// command's `event`, then `del` when the change emptied it.
fn set_changed(ctx: &mut Ctx, key: &[u8], event: &str, emptied: bool) {
    ctx.key_modified(key);
    ctx.notify(class::SET, event, key);
    if emptied {
        ctx.notify(class::GENERIC, "del", key);
    }
}

fn bulk_members(members: Vec<Bytes>) -> Vec<Reply> {
    members.into_iter().map(Reply::Bulk).collect()
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn int_reply(n: usize) -> Reply {
    Reply::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

// ---- SADD, SREM ----

fn sadd(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (key, members) = (&args[1], &args[2..]);
    let cfg = set_config(ctx);
    let added = match write_set(ctx, key) {
        Err(e) => return e,
        Ok(Some(set)) => {
            set.maybe_convert(members.len(), &cfg);
            add_all(set, members, &cfg)
        }
        Ok(None) => {
            let mut set = SetValue::create(&members[0], members.len(), &cfg);
            let added = add_all(&mut set, members, &cfg);
            insert_new(ctx, key, set);
            added
        }
    };
    if added > 0 {
        ctx.dirty(to_u64(added));
        set_changed(ctx, key, "sadd", false);
    }
    int_reply(added)
}

fn add_all(set: &mut SetValue, members: &[Bytes], cfg: &SetConfig) -> usize {
    members.iter().filter(|m| set.add(m, cfg)).count()
}

fn srem(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let key = &args[1];
    let set = match write_set(ctx, key) {
        Err(e) => return e,
        Ok(None) => return Reply::Int(0),
        Ok(Some(set)) => set,
    };
    let mut removed = 0;
    for member in &args[2..] {
        if set.remove(member) {
            removed += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    let emptied = set.is_empty();
    if emptied {
        delete_emptied(ctx, key);
    }
    if removed > 0 {
        ctx.dirty(to_u64(removed));
        set_changed(ctx, key, "srem", emptied);
    }
    int_reply(removed)
}

// ---- SMEMBERS, SISMEMBER, SMISMEMBER, SCARD ----

fn smembers(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match read_set(ctx, &args[1]) {
        Err(e) => e,
        Ok(None) => Reply::Set(Vec::new()),
        Ok(Some(set)) => Reply::Set(bulk_members(set.to_bytes_vec())),
    }
}

fn sismember(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match read_set(ctx, &args[1]) {
        Err(e) => e,
        Ok(set) => Reply::Int(set.is_some_and(|s| s.contains(&args[2])).into()),
    }
}

fn smismember(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match read_set(ctx, &args[1]) {
        Err(e) => e,
        Ok(set) => Reply::Array(
            args[2..]
                .iter()
                .map(|m| Reply::Int(set.as_ref().is_some_and(|s| s.contains(m)).into()))
                .collect(),
        ),
    }
}

fn scard(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match read_set(ctx, &args[1]) {
        Err(e) => e,
        Ok(set) => int_reply(set.map_or(0, |s| s.len())),
    }
}

// ---- SPOP, SRANDMEMBER ----

/// What a served SPOP took: enough to write its effect down as the
/// equivalent deterministic commands (Redis propagates a pop of the whole
/// set as DEL, any other as SREM of the members popped).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Popped {
    pub members: Vec<Bytes>,
    /// The set was emptied and its key deleted.
    pub key_deleted: bool,
}

/// Pops up to `count` random members of the set under `key` (drawn from
/// the server's seeded RNG), deleting the key when it empties: SPOP's
/// core, for SPOP itself and for callers that replay or propagate it.
/// `Ok(None)` when the key does not exist; WRONGTYPE as an error.
pub(crate) fn pop_members(
    ctx: &mut Ctx,
    key: &[u8],
    count: usize,
) -> Result<Option<Popped>, Reply> {
    if write_set(ctx, key)?.is_none() {
        return Ok(None);
    }
    let cfg = set_config(ctx);
    let srv = &mut *ctx.srv;
    let now = srv.now.unix_ms;
    let Some(set) = srv.dbs[ctx.client.db]
        .get_mut(key, now)
        .and_then(|obj| obj.value.as_set_mut())
    else {
        return Ok(None);
    };
    let members = set.pop_random(count, &mut srv.rng, &cfg);
    let key_deleted = set.is_empty();
    if key_deleted {
        delete_emptied(ctx, key);
    }
    if !members.is_empty() {
        ctx.dirty(to_u64(members.len()));
        set_changed(ctx, key, "spop", key_deleted);
    }
    Ok(Some(Popped {
        members,
        key_deleted,
    }))
}

fn spop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match args.len() {
        2 => match pop_members(ctx, &args[1], 1) {
            Err(e) => e,
            Ok(popped) => match popped.and_then(|p| p.members.into_iter().next()) {
                Some(member) => {
                    // The member was drawn at random: replicate which.
                    let srem = vec![Bytes::from_static(b"SREM"), args[1].clone(), member.clone()];
                    ctx.propagate_as(srem);
                    Reply::Bulk(member)
                }
                None => Reply::Null,
            },
        },
        3 => spop_count(ctx, args),
        _ => Reply::syntax_error(),
    }
}

fn spop_count(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let count = match parse_i64(&args[2]) {
        Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => return Reply::err("ERR value is out of range, must be positive"),
    };
    match pop_members(ctx, &args[1], count) {
        Err(e) => e,
        Ok(None) => Reply::Set(Vec::new()),
        Ok(Some(popped)) => {
            propagate_spop_count(ctx, &args[1], &popped);
            Reply::Set(bulk_members(popped.members))
        }
    }
}

/// SPOP with a count propagates as Redis 7.0 does: the whole set popped
/// is a deletion (`DEL`, or `UNLINK` under lazyfree-lazy-server-del),
/// anything less one `SREM key member` per member taken.
fn propagate_spop_count(ctx: &mut Ctx, key: &Bytes, popped: &Popped) {
    if popped.key_deleted {
        let lazy = ctx.srv.config.lazyfree_lazy_server_del;
        ctx.propagate_as(deletion(key, lazy));
        return;
    }
    for member in &popped.members {
        let srem = vec![Bytes::from_static(b"SREM"), key.clone(), member.clone()];
        ctx.also_propagate(srem);
    }
    ctx.prevent_propagation();
}

/// Most members a negative SRANDMEMBER count may ask for. Redis has no
/// bound (it would build a reply of up to 2^63 members); Keel refuses
/// beyond this with Redis's range error, naming the range it accepts.
pub const SRANDMEMBER_MAX_REPEATS: i64 = 1 << 24;

fn srandmember(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match args.len() {
        2 => srandmember_one(ctx, &args[1]),
        3 => srandmember_count(ctx, args),
        _ => Reply::syntax_error(),
    }
}

fn srandmember_one(ctx: &mut Ctx, key: &[u8]) -> Reply {
    if let Err(e) = read_set(ctx, key) {
        return e;
    }
    let srv = &mut *ctx.srv;
    let db = &srv.dbs[ctx.client.db];
    let set = db.keys().get(key).and_then(|obj| obj.value.as_set());
    match set.and_then(|s| s.random_member(&mut srv.rng)) {
        Some(member) => Reply::Bulk(member.to_bytes()),
        None => Reply::Null,
    }
}

/// SRANDMEMBER's count: negative asks for repeats. Redis refuses
/// i64::MIN (its negation does not exist) with this exact text.
fn parse_srandmember_count(arg: &[u8]) -> Result<i64, Reply> {
    match parse_i64(arg) {
        None => Err(Reply::not_integer()),
        Some(i64::MIN) => Err(Reply::err(
            "ERR value is out of range, value must between -9223372036854775807 and \
9223372036854775807",
        )),
        Some(n) if n < -SRANDMEMBER_MAX_REPEATS => Err(Reply::error(format!(
            "ERR value is out of range, value must between {} and {}",
            -SRANDMEMBER_MAX_REPEATS,
            i64::MAX
        ))),
        Some(n) => Ok(n),
    }
}

fn srandmember_count(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let key = &args[1];
    let count = match parse_srandmember_count(&args[2]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    if let Err(e) = read_set(ctx, key) {
        return e;
    }
    let srv = &mut *ctx.srv;
    let db = &srv.dbs[ctx.client.db];
    let Some(set) = db.keys().get(key).and_then(|obj| obj.value.as_set()) else {
        return Reply::Array(Vec::new());
    };
    let wanted = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let members = if count < 0 {
        set.random_members(wanted, &mut srv.rng)
    } else {
        set.random_distinct(wanted, &mut srv.rng)
    };
    Reply::Array(
        members
            .into_iter()
            .map(|m| Reply::Bulk(m.to_bytes()))
            .collect(),
    )
}

// ---- SMOVE ----

/// What a write lookup found: nothing, a set, or another type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Missing,
    Set,
    Other,
}

fn find_for_write(ctx: &mut Ctx, key: &[u8]) -> Found {
    match ctx.lookup_write(key) {
        None => Found::Missing,
        Some(obj) if obj.value.as_set().is_some() => Found::Set,
        Some(_) => Found::Other,
    }
}

fn smove(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let found = (find_for_write(ctx, src), find_for_write(ctx, dst));
    match found {
        (Found::Missing, _) => return Reply::Int(0),
        (Found::Other, _) | (_, Found::Other) => return Reply::wrong_type(),
        _ => {}
    }
    if src == dst {
        return match write_set(ctx, src) {
            Ok(Some(set)) => Reply::Int(set.contains(member).into()),
            Ok(None) => Reply::Int(0),
            Err(e) => e,
        };
    }
    match move_member(ctx, src, dst, member) {
        true => Reply::Int(1),
        false => Reply::Int(0),
    }
}

/// Moves `member` from the set `src` to `dst` (both sets or missing, and
/// different keys); false if `src` did not hold it.
fn move_member(ctx: &mut Ctx, src: &[u8], dst: &[u8], member: &[u8]) -> bool {
    let Ok(Some(set)) = write_set(ctx, src) else {
        return false;
    };
    if !set.remove(member) {
        return false;
    }
    let emptied = set.is_empty();
    if emptied {
        delete_emptied(ctx, src);
    }
    ctx.dirty(1);
    set_changed(ctx, src, "srem", emptied);
    let cfg = set_config(ctx);
    let added = match write_set(ctx, dst) {
        Ok(Some(set)) => set.add(member, &cfg),
        _ => {
            let mut set = SetValue::create(member, 1, &cfg);
            set.add(member, &cfg);
            insert_new(ctx, dst, set);
            true
        }
    };
    if added {
        ctx.dirty(1);
        set_changed(ctx, dst, "sadd", false);
    }
    true
}

// ---- SINTER, SINTERCARD, SINTERSTORE, SUNION, SDIFF and their STORE ----

/// Looks every source key up (for reading, or for writing under a STORE
/// command, as Redis does) and checks it holds a set: WRONGTYPE at the
/// first that does not.
fn check_sources(ctx: &mut Ctx, keys: &[Bytes], for_store: bool) -> Result<(), Reply> {
    for key in keys {
        let obj = match for_store {
            true => ctx.lookup_write(key),
            false => ctx.lookup_read(key),
        };
        if obj.is_some_and(|o| o.value.as_set().is_none()) {
            return Err(Reply::wrong_type());
        }
    }
    Ok(())
}

/// The sets under `keys` (after [`check_sources`]), None for a missing key.
fn sources<'a>(ctx: &'a mut Ctx, keys: &[Bytes]) -> Vec<Option<&'a SetValue>> {
    let db = &ctx.srv.dbs[ctx.client.db];
    keys.iter()
        .map(|k| db.keys().get(k).and_then(|o| o.value.as_set()))
        .collect()
}

/// The intersection, walking the smallest set and keeping the members
/// every other set holds. Stops after `limit` members (0: no limit).
fn intersection<'a>(sets: &[Option<&'a SetValue>], limit: usize) -> Vec<Member<'a>> {
    let Some(mut sets) = sets.iter().copied().collect::<Option<Vec<&SetValue>>>() else {
        return Vec::new(); // A missing key is an empty set.
    };
    sets.sort_by_key(|s| s.len());
    let Some((smallest, others)) = sets.split_first() else {
        return Vec::new();
    };
    let limit = if limit == 0 { usize::MAX } else { limit };
    smallest
        .iter()
        .filter(|m| others.iter().all(|s| s.contains_member(*m)))
        .take(limit)
        .collect()
}

fn sinter(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let keys = &args[1..];
    if let Err(e) = check_sources(ctx, keys, false) {
        return e;
    }
    let sets = sources(ctx, keys);
    let members = intersection(&sets, 0);
    Reply::Set(
        members
            .into_iter()
            .map(|m| Reply::Bulk(m.to_bytes()))
            .collect(),
    )
}

fn sintercard(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (keys, limit) = match parse_sintercard(args) {
        Ok(parsed) => parsed,
        Err(e) => return e,
    };
    if let Err(e) = check_sources(ctx, keys, false) {
        return e;
    }
    let sets = sources(ctx, keys);
    int_reply(intersection(&sets, limit).len())
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`: the keys and the limit.
fn parse_sintercard(args: &[Bytes]) -> Result<(&[Bytes], usize), Reply> {
    let numkeys = parse_i64(&args[1])
        .filter(|&n| n > 0)
        .ok_or_else(|| Reply::err("ERR numkeys should be greater than 0"))?;
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > args.len() - 2 {
        return Err(Reply::err(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let (keys, options) = args[2..].split_at(numkeys);
    let mut limit = 0;
    let mut i = 0;
    while i < options.len() {
        match options.get(i + 1) {
            Some(value) if eq_ic(&options[i], "limit") => {
                limit = parse_i64(value)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| Reply::err("ERR LIMIT can't be negative"))?;
                i += 2;
            }
            _ => return Err(Reply::syntax_error()),
        }
    }
    Ok((keys, limit))
}

fn sinterstore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (dst, keys) = (&args[1], &args[2..]);
    if let Err(e) = check_sources(ctx, keys, true) {
        return e;
    }
    let cfg = set_config(ctx);
    let sets = sources(ctx, keys);
    let result = intersection_to_store(&sets, &cfg);
    store_result(ctx, dst, result, "sinterstore")
}

/// The intersection as the set SINTERSTORE stores, encoded as Redis 7.2
/// builds it: an intset when the smallest set is one, a listpack
/// otherwise, growing by adds, and made an intset at the end when every
/// member turned out to be an integer.
fn intersection_to_store(sets: &[Option<&SetValue>], cfg: &SetConfig) -> SetValue {
    let members = intersection(sets, 0);
    let smallest_is_intset = sets
        .iter()
        .flatten()
        .min_by_key(|s| s.len())
        .is_some_and(|s| s.is_intset());
    let mut result = match smallest_is_intset {
        true => SetValue::new_intset(),
        false => SetValue::new_listpack(),
    };
    let only_integers = members.iter().all(|m| m.is_integer());
    for member in members {
        result.add_member(member, cfg);
    }
    if only_integers {
        result.convert_to_intset_if_fits(cfg);
    }
    result
}

fn sunion(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    union_or_diff(ctx, &args[1..], None, Op::Union)
}

fn sunionstore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    union_or_diff(ctx, &args[2..], Some(&args[1]), Op::Union)
}

fn sdiff(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    union_or_diff(ctx, &args[1..], None, Op::Diff)
}

fn sdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    union_or_diff(ctx, &args[2..], Some(&args[1]), Op::Diff)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Diff,
}

/// SUNION, SDIFF and their STORE forms: the result is built as a new set
/// (an intset growing by adds, as Redis), then replied or stored.
fn union_or_diff(ctx: &mut Ctx, keys: &[Bytes], dst: Option<&Bytes>, op: Op) -> Reply {
    if let Err(e) = check_sources(ctx, keys, dst.is_some()) {
        return e;
    }
    let cfg = set_config(ctx);
    let sets = sources(ctx, keys);
    let result = match op {
        Op::Union => union(&sets, &cfg),
        Op::Diff => difference(keys, &sets, &cfg),
    };
    match dst {
        Some(dst) => {
            let event = match op {
                Op::Union => "sunionstore",
                Op::Diff => "sdiffstore",
            };
            store_result(ctx, dst, result, event)
        }
        None => Reply::Set(bulk_members(result.to_bytes_vec())),
    }
}

fn union(sets: &[Option<&SetValue>], cfg: &SetConfig) -> SetValue {
    let mut result = SetValue::new_intset();
    for set in sets.iter().flatten() {
        for member in set.iter() {
            result.add_member(member, cfg);
        }
    }
    result
}

/// The first set less every other, by whichever of Redis's two methods
/// it would pick (the method decides the order members are added in, so
/// the result's encoding).
fn difference(keys: &[Bytes], sets: &[Option<&SetValue>], cfg: &SetConfig) -> SetValue {
    let mut result = SetValue::new_intset();
    let Some(Some(first)) = sets.first() else {
        return result;
    };
    // A key given again after the first: the difference is empty.
    if keys[1..]
        .iter()
        .zip(&sets[1..])
        .any(|(k, s)| s.is_some() && *k == keys[0])
    {
        return result;
    }
    let mut others: Vec<&SetValue> = sets[1..].iter().flatten().copied().collect();
    if diff_by_walking_first(first, &others) {
        // Bigger sets first: a member is more likely found early.
        others.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for member in first.iter() {
            if !others.iter().any(|s| s.contains_member(member)) {
                result.add_member(member, cfg);
            }
        }
    } else {
        for member in first.iter() {
            result.add_member(member, cfg);
        }
        for set in others {
            if result.is_empty() {
                break;
            }
            for member in set.iter() {
                result.remove_member(member);
            }
        }
    }
    result
}

/// Redis's choice between walking the first set testing each member
/// against the others (the first set's size times the number of sets,
/// halved for its better constants), and adding the first set then
/// removing every other (the sum of the sizes).
fn diff_by_walking_first(first: &SetValue, others: &[&SetValue]) -> bool {
    let sets = others.len() + 1;
    let walk_work = first.len().saturating_mul(sets) / 2;
    let remove_work = others
        .iter()
        .fold(first.len(), |sum, s| sum.saturating_add(s.len()));
    walk_work <= remove_work
}

/// Stores a STORE command's result under `dst` (replacing any value and
/// its TTL), or deletes `dst` when the result is empty. Replies with the
/// result's size. `event` is the command's keyspace event.
fn store_result(ctx: &mut Ctx, dst: &[u8], result: SetValue, event: &str) -> Reply {
    let len = result.len();
    if len == 0 {
        let lazy = ctx.srv.config.lazyfree_lazy_server_del;
        if delete_key(ctx, dst, lazy) {
            ctx.dirty(1);
            ctx.key_modified(dst);
            ctx.notify(class::GENERIC, "del", dst);
        }
        return Reply::Int(0);
    }
    let access = ctx.lookup_write(dst).map(|obj| obj.access);
    let access = access.unwrap_or_else(|| ctx.new_access());
    ctx.db().set(dst, Value::Set(result), access, false);
    ctx.dirty(1);
    set_changed(ctx, dst, event, false);
    int_reply(len)
}

// ---- SSCAN ----

fn sscan(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let cursor = match parse_scan_cursor(&args[2]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let set = match read_set(ctx, &args[1]) {
        Err(e) => return e,
        Ok(None) => return scan_reply(0, Vec::new()),
        Ok(Some(set)) => set,
    };
    let opts = match parse_scan_options(&args[3..], false) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let mut batch = Vec::new();
    let next = set.scan(cursor, opts.count, |m| batch.push(m.to_bytes()));
    let items = batch
        .into_iter()
        .filter(|m| opts.pattern.as_ref().is_none_or(|p| p.matches(m)))
        .map(Reply::Bulk)
        .collect();
    scan_reply(next, items)
}
