//! Generic keyspace commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN,
//! RANDOMKEY, RENAME, RENAMENX, COPY, MOVE, TOUCH and OBJECT.
//!
//! The helpers shared with other groups (key lookup without touching, key
//! deletion with lazy freeing, SCAN cursor and option parsing, DB index
//! parsing) are public here.

use super::docs::Docs;
use super::flags::*;
use super::{CommandSpec, Ctx, KeySpec};
use crate::db::access::{self, Policy};
use crate::db::{free_effort, Object, StoredKey, LAZYFREE_THRESHOLD};
use crate::glob::Pattern;
use crate::notify::class;
use crate::resp::Reply;
use crate::types::{StrValue, Value};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

#[rustfmt::skip]
mod docs;
#[cfg(test)]
mod effects_tests;
#[cfg(test)]
pub(crate) mod replay;

/// RANDOMKEY samples this many keys, deleting expired ones, before falling
/// back to a walk of the table (see [`crate::db::Db::random_live_key`]).
pub const RANDOMKEY_MAX_TRIES: usize = 100;
/// SCAN's COUNT when none is given.
pub const SCAN_DEFAULT_COUNT: usize = 10;
/// OBJECT REFCOUNT of a shared integer (Redis's OBJ_SHARED_REFCOUNT, INT_MAX).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// Integers below this are shared objects in Redis (OBJ_SHARED_INTEGERS).
const SHARED_INTEGERS: i64 = 10_000;

// ---- key specs ----

const fn range(flags: &'static [&'static str], begin_index: i32, lastkey: i32) -> KeySpec {
    KeySpec::range(flags, begin_index, lastkey, 1)
}

const DELETE_ALL: &[KeySpec] = &[range(&["RM", "delete"], 1, -1)];
const READ_ALL: &[KeySpec] = &[range(&["RO"], 1, -1)];
const READ_ONE: &[KeySpec] = &[range(&["RO"], 1, 0)];
const OBJECT_KEY: &[KeySpec] = &[range(&["RO"], 2, 0)];

const MULTI_SHARD_SUM: &[&str] = &["request_policy:multi_shard", "response_policy:agg_sum"];

/// A `generic` group command with the fields most of them share.
#[allow(clippy::too_many_arguments)]
const fn generic(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    acl: &'static [&'static str],
    since: &'static str,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
        acl,
        since,
        summary,
        ..CommandSpec::base(name, arity, flags, "generic", Some(handler))
    }
}

const NO_KEYS: (i32, i32, i32) = (0, 0, 0);
const ALL_KEYS: (i32, i32, i32) = (1, -1, 1);
const ONE_KEY: (i32, i32, i32) = (1, 1, 1);
const TWO_KEYS: (i32, i32, i32) = (1, 2, 1);
const OBJECT_KEY_POS: (i32, i32, i32) = (2, 2, 1);

const WRITE_SLOW: &[&str] = &["keyspace", "write", "slow"];
const WRITE_FAST: &[&str] = &["keyspace", "write", "fast"];
const READ_SLOW: &[&str] = &["keyspace", "read", "slow"];
const READ_FAST: &[&str] = &["keyspace", "read", "fast"];

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        tips: MULTI_SHARD_SUM,
        key_specs: DELETE_ALL,
        complexity: "O(N) where N is the number of keys that will be removed. When a key to \
            remove holds a value other than a string, the individual complexity for this key is \
            O(M) where M is the number of elements in the list, set, sorted set or hash. \
            Removing a single key that holds a string value is O(1).",
        ..generic(
            "del",
            -2,
            WRITE,
            ALL_KEYS,
            WRITE_SLOW,
            "1.0.0",
            "Delete a key",
            del,
        )
    }
    .with_docs(docs::DEL),
    CommandSpec {
        tips: MULTI_SHARD_SUM,
        key_specs: DELETE_ALL,
        complexity: "O(1) for each key removed regardless of its size. Then the command does \
            O(N) work in a different thread in order to reclaim memory, where N is the number \
            of allocations the deleted objects where composed of.",
        ..generic(
            "unlink",
            -2,
            WRITE | FAST,
            ALL_KEYS,
            WRITE_FAST,
            "4.0.0",
            "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but \
             non blocking.",
            unlink,
        )
    }
    .with_docs(docs::UNLINK),
    CommandSpec {
        tips: MULTI_SHARD_SUM,
        key_specs: READ_ALL,
        complexity: "O(N) where N is the number of keys to check.",
        ..generic(
            "exists",
            -2,
            READONLY | FAST,
            ALL_KEYS,
            READ_FAST,
            "1.0.0",
            "Determine if a key exists",
            exists,
        )
    }
    .with_docs(docs::EXISTS),
    CommandSpec {
        key_specs: READ_ONE,
        ..generic(
            "type",
            2,
            READONLY | FAST,
            ONE_KEY,
            READ_FAST,
            "1.0.0",
            "Determine the type stored at key",
            type_cmd,
        )
    }
    .with_docs(docs::TYPE),
    CommandSpec {
        tips: &["request_policy:all_shards", "nondeterministic_output_order"],
        complexity: "O(N) with N being the number of keys in the database, under the \
            assumption that the key names in the database and the given pattern have limited \
            length.",
        ..generic(
            "keys",
            2,
            READONLY,
            NO_KEYS,
            &["keyspace", "read", "slow", "dangerous"],
            "1.0.0",
            "Find all keys matching the given pattern",
            keys,
        )
    }
    .with_docs(docs::KEYS),
    CommandSpec {
        tips: &["nondeterministic_output", "request_policy:special"],
        complexity: "O(1) for every call. O(N) for a complete iteration, including enough \
            command calls for the cursor to return back to 0. N is the number of elements \
            inside the collection.",
        ..generic(
            "scan",
            -2,
            READONLY,
            NO_KEYS,
            READ_SLOW,
            "2.8.0",
            "Incrementally iterate the keys space",
            scan,
        )
    }
    .with_docs(docs::SCAN),
    CommandSpec {
        tips: &["request_policy:all_shards", "nondeterministic_output"],
        ..generic(
            "randomkey",
            1,
            READONLY,
            NO_KEYS,
            READ_SLOW,
            "1.0.0",
            "Return a random key from the keyspace",
            randomkey,
        )
    },
    CommandSpec {
        key_specs: &[
            range(&["RW", "access", "delete"], 1, 0),
            range(&["OW", "update"], 2, 0),
        ],
        ..generic(
            "rename",
            3,
            WRITE,
            TWO_KEYS,
            WRITE_SLOW,
            "1.0.0",
            "Rename a key",
            rename,
        )
    }
    .with_docs(docs::RENAME),
    CommandSpec {
        key_specs: &[
            range(&["RW", "access", "delete"], 1, 0),
            range(&["OW", "insert"], 2, 0),
        ],
        ..generic(
            "renamenx",
            3,
            WRITE | FAST,
            TWO_KEYS,
            WRITE_FAST,
            "1.0.0",
            "Rename a key, only if the new key does not exist",
            renamenx,
        )
    }
    .with_docs(docs::RENAMENX),
    CommandSpec {
        key_specs: &[
            range(&["RO", "access"], 1, 0),
            range(&["OW", "update"], 2, 0),
        ],
        complexity: "O(N) worst case for collections, where N is the number of nested items. \
            O(1) for string values.",
        ..generic(
            "copy",
            -3,
            WRITE | DENYOOM,
            TWO_KEYS,
            WRITE_SLOW,
            "6.2.0",
            "Copy a key",
            copy,
        )
    }
    .with_docs(docs::COPY),
    CommandSpec {
        key_specs: &[range(&["RW", "access", "update"], 1, 0)],
        ..generic(
            "move",
            3,
            WRITE | FAST,
            ONE_KEY,
            WRITE_FAST,
            "1.0.0",
            "Move a key to another database",
            move_cmd,
        )
    }
    .with_docs(docs::MOVE),
    CommandSpec {
        tips: MULTI_SHARD_SUM,
        key_specs: READ_ALL,
        complexity: "O(N) where N is the number of keys that will be touched.",
        ..generic(
            "touch",
            -2,
            READONLY | FAST,
            ALL_KEYS,
            READ_FAST,
            "3.2.1",
            "Alters the last access time of a key(s). Returns the number of existing keys \
             specified.",
            touch,
        )
    }
    .with_docs(docs::TOUCH),
    CommandSpec {
        name: "object",
        arity: -2,
        flags: 0,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["slow"],
        tips: &[],
        key_specs: &[],
        group: "generic",
        since: "2.2.3",
        summary: "A container for object introspection commands",
        complexity: "Depends on subcommand.",
        handler: None,
        subcommands: OBJECT_SUBCOMMANDS,
        docs: Docs::NONE,
        getkeys: None,
    },
];

const fn object_sub(
    name: &'static str,
    since: &'static str,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        tips: &["nondeterministic_output"],
        key_specs: OBJECT_KEY,
        ..generic(
            name,
            3,
            READONLY,
            OBJECT_KEY_POS,
            READ_SLOW,
            since,
            summary,
            handler,
        )
    }
}

const OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    object_sub(
        "idletime",
        "2.2.3",
        "Get the time since a Redis object was last accessed",
        object_idletime,
    )
    .with_docs(docs::OBJECT_IDLETIME),
    generic(
        "help",
        2,
        LOADING | STALE,
        NO_KEYS,
        &["keyspace", "slow"],
        "6.2.0",
        "Show helpful text about the different subcommands",
        object_help,
    ),
    object_sub(
        "encoding",
        "2.2.3",
        "Inspect the internal encoding of a Redis object",
        object_encoding,
    )
    .with_docs(docs::OBJECT_ENCODING),
    object_sub(
        "freq",
        "4.0.0",
        "Get the logarithmic access frequency counter of a Redis object",
        object_freq,
    )
    .with_docs(docs::OBJECT_FREQ),
    object_sub(
        "refcount",
        "2.2.3",
        "Get the number of references to the value of the key",
        object_refcount,
    )
    .with_docs(docs::OBJECT_REFCOUNT),
];

// ---- shared helpers ----

/// Looks `key` up as Redis's `LOOKUP_NOTOUCH` reads do (EXISTS, TYPE, TTL,
/// OBJECT): lazy expiry and keyspace hit/miss counting, but the access time
/// is left alone.
pub fn peek<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<&'a Object> {
    let now = ctx.now().unix_ms;
    let db = &mut ctx.srv.dbs[ctx.client.db];
    let found = db.get(key, now);
    let stats = &mut ctx.srv.stats;
    if found.is_some() {
        stats.keyspace_hits += 1;
    } else {
        stats.keyspace_misses += 1;
    }
    found
}

/// Deletes `key` from the selected database if it exists (expiring it
/// first if due). With `lazy`, a value that is costly to free is handed to
/// the lazy-free queue instead of being dropped now. True if a key was deleted.
pub fn delete_key(ctx: &mut Ctx, key: &[u8], lazy: bool) -> bool {
    let now = ctx.now().unix_ms;
    let db = ctx.db();
    if !db.contains(key, now) {
        return false;
    }
    match db.take(key) {
        Some(entry) => {
            dispose(ctx, entry, lazy);
            true
        }
        None => false,
    }
}

/// How a deletion propagates: `DEL key`, or `UNLINK key` when Redis would
/// free it lazily (the lazyfree option that governs the command).
pub fn deletion(key: &Bytes, lazy: bool) -> Vec<Bytes> {
    let name: &'static [u8] = if lazy { b"UNLINK" } else { b"DEL" };
    vec![Bytes::from_static(name), key.clone()]
}

/// Frees a removed entry now, or later when `lazy` and it is big enough to
/// be worth it (as Redis's `dbAsyncDelete`).
pub fn dispose(ctx: &mut Ctx, entry: (StoredKey, Object), lazy: bool) {
    if lazy && free_effort(&entry.1.value) > LAZYFREE_THRESHOLD {
        ctx.srv.free_lazily(vec![entry]);
    }
    // Otherwise `entry` is dropped (freed) here.
}

/// Parses a DB index as Redis's `getIntFromObjectOrReply` then `selectDb`:
/// an integer, within `int`, naming an existing database.
pub fn parse_db_index(arg: &[u8], databases: usize) -> Result<usize, Reply> {
    let n = parse_i64(arg).ok_or_else(Reply::not_integer)?;
    if i32::try_from(n).is_err() {
        return Err(Reply::err(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    usize::try_from(n)
        .ok()
        .filter(|&i| i < databases)
        .ok_or_else(|| Reply::err("ERR DB index is out of range"))
}

/// Parses a SCAN-family cursor as Redis does with `strtoul`: an unsigned
/// 64-bit decimal with an optional sign (`-N` wraps modulo 2^64), no leading
/// space, nothing after the digits. As in C, the text ends at a NUL byte,
/// and an empty text is cursor 0.
pub fn parse_scan_cursor(arg: &[u8]) -> Result<u64, Reply> {
    let invalid = || Reply::err("ERR invalid cursor");
    let text = arg.split(|&b| b == 0).next().unwrap_or_default();
    if text.is_empty() {
        return Ok(0);
    }
    let (negative, digits) = match text[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut value: u64 = 0;
    for &d in digits {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or_else(invalid)?;
    }
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// SCAN-family options: COUNT, MATCH and (for SCAN only) TYPE.
pub struct ScanOptions {
    pub count: usize,
    /// None when there is no pattern, or it is `*` (which matches everything).
    pub pattern: Option<Pattern>,
    pub type_name: Option<Bytes>,
}

/// Parses the options after the cursor. Later options override earlier ones.
pub fn parse_scan_options(args: &[Bytes], allow_type: bool) -> Result<ScanOptions, Reply> {
    let mut opts = ScanOptions {
        count: SCAN_DEFAULT_COUNT,
        pattern: None,
        type_name: None,
    };
    let mut i = 0;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else {
            return Err(Reply::syntax_error());
        };
        if eq_ic(&args[i], "count") {
            let n = parse_i64(value).ok_or_else(Reply::not_integer)?;
            if n < 1 {
                return Err(Reply::syntax_error());
            }
            opts.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if eq_ic(&args[i], "match") {
            opts.pattern = (value.as_ref() != b"*").then(|| Pattern::new(value));
        } else if allow_type && eq_ic(&args[i], "type") {
            opts.type_name = Some(value.clone());
        } else {
            return Err(Reply::syntax_error());
        }
        i += 2;
    }
    Ok(opts)
}

/// Builds a SCAN-family reply: the next cursor as a bulk string, then the items.
pub fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    let cursor = itoa::Buffer::new().format(cursor).as_bytes().to_vec();
    Reply::Array(vec![Reply::Bulk(Bytes::from(cursor)), Reply::Array(items)])
}

// ---- DEL, UNLINK, EXISTS, TYPE, TOUCH ----

fn del(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let lazy = ctx.srv.config.lazyfree_lazy_user_del;
    delete_keys(ctx, &args[1..], lazy)
}

fn unlink(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    delete_keys(ctx, &args[1..], true)
}

fn delete_keys(ctx: &mut Ctx, keys: &[Bytes], lazy: bool) -> Reply {
    let mut deleted = 0;
    for key in keys {
        if delete_key(ctx, key, lazy) {
            deleted += 1;
            ctx.key_modified(key);
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.dirty(deleted);
    Reply::Int(deleted as i64)
}

fn exists(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let mut found = 0;
    for key in &args[1..] {
        if peek(ctx, key).is_some() {
            found += 1;
        }
    }
    Reply::Int(found)
}

fn type_cmd(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match peek(ctx, &args[1]) {
        Some(obj) => Reply::status(obj.value.type_name()),
        None => Reply::status("none"),
    }
}

/// TOUCH always updates the access time (even under CLIENT NO-TOUCH, as
/// Redis 7.2 specifies), and draws LFU increments from the server's RNG.
fn touch(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now();
    let policy = Policy::of(&ctx.srv.config);
    let mut found = 0;
    for key in &args[1..] {
        let srv = &mut *ctx.srv;
        match srv.dbs[ctx.client.db].get_mut(key, now.unix_ms) {
            Some(obj) => {
                srv.stats.keyspace_hits += 1;
                access::touch_with_rng(obj, now, policy, &srv.config, &mut srv.rng);
                found += 1;
            }
            None => srv.stats.keyspace_misses += 1,
        }
    }
    Reply::Int(found)
}

// ---- KEYS, SCAN, RANDOMKEY ----

fn keys(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let every = args[1].as_ref() == b"*";
    let pattern = Pattern::new(&args[1]);
    let now = ctx.now().unix_ms;
    let db = ctx.db();
    let found = db
        .keys()
        .iter()
        .filter(|(key, _)| (every || pattern.matches(key)) && !db.is_expired(key, now))
        .map(|(key, _)| Reply::Bulk(Bytes::copy_from_slice(key)))
        .collect();
    Reply::Array(found)
}

fn scan(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let cursor = match parse_scan_cursor(&args[1]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let opts = match parse_scan_options(&args[2..], true) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let mut batch = Vec::new();
    let next = ctx.db().keys().scan(cursor, opts.count, |key, _| {
        batch.push(Bytes::copy_from_slice(key))
    });
    let keys = batch
        .into_iter()
        .filter(|key| scan_keeps(ctx, key, &opts))
        .map(Reply::Bulk)
        .collect();
    scan_reply(next, keys)
}

/// SCAN's filters, in Redis's order: pattern, type (a counted lookup), expiry.
fn scan_keeps(ctx: &mut Ctx, key: &[u8], opts: &ScanOptions) -> bool {
    if let Some(pattern) = &opts.pattern {
        if !pattern.matches(key) {
            return false;
        }
    }
    if let Some(wanted) = &opts.type_name {
        return peek(ctx, key).is_some_and(|obj| eq_ic(wanted, obj.value.type_name()));
    }
    let now = ctx.now().unix_ms;
    !ctx.db().expire_if_needed(key, now)
}

fn randomkey(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    let now = ctx.now().unix_ms;
    let srv = &mut *ctx.srv;
    let db = &mut srv.dbs[ctx.client.db];
    match db.random_live_key(now, &mut srv.rng, RANDOMKEY_MAX_TRIES) {
        Some(key) => Reply::Bulk(key),
        None => Reply::Null,
    }
}

// ---- RENAME, RENAMENX, COPY, MOVE ----

fn rename(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match rename_key(ctx, &args[1], &args[2], false) {
        Ok(_) => Reply::OK,
        Err(e) => e,
    }
}

fn renamenx(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match rename_key(ctx, &args[1], &args[2], true) {
        Ok(renamed) => Reply::Int(renamed as i64),
        Err(e) => e,
    }
}

/// Moves the value and TTL of `src` to `dst`. With `nx`, an existing `dst`
/// is left alone (Ok(false)); otherwise it is replaced. Renaming a key to
/// itself succeeds without change (RENAMENX then says 0).
fn rename_key(ctx: &mut Ctx, src: &[u8], dst: &[u8], nx: bool) -> Result<bool, Reply> {
    if ctx.lookup_write(src).is_none() {
        return Err(Reply::err("ERR no such key"));
    }
    if src == dst {
        return Ok(!nx);
    }
    let now = ctx.now().unix_ms;
    let lazy = ctx.srv.config.lazyfree_lazy_server_del;
    let db = ctx.db();
    if db.contains(dst, now) {
        if nx {
            return Ok(false);
        }
        if let Some(old) = db.take(dst) {
            dispose(ctx, old, lazy);
        }
    }
    let db = ctx.db();
    let expire = db.expire_at(src);
    let Some((_, obj)) = db.take(src) else {
        return Err(Reply::err("ERR no such key"));
    };
    db.put(Bytes::copy_from_slice(dst), obj, expire);
    ctx.dirty(1);
    ctx.key_modified(src);
    ctx.key_modified(dst);
    ctx.notify(class::GENERIC, "rename_from", src);
    ctx.notify(class::GENERIC, "rename_to", dst);
    Ok(true)
}

fn copy(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (src, dst) = (&args[1], &args[2]);
    let mut target = ctx.client.db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if eq_ic(&args[i], "replace") {
            replace = true;
            i += 1;
        } else if eq_ic(&args[i], "db") && i + 1 < args.len() {
            target = match parse_db_index(&args[i + 1], ctx.srv.dbs.len()) {
                Ok(t) => t,
                Err(e) => return e,
            };
            i += 2;
        } else {
            return Reply::syntax_error();
        }
    }
    if target == ctx.client.db && src == dst {
        return Reply::err("ERR source and destination objects are the same");
    }
    let Some(value) = ctx.lookup_read(src).map(|obj| obj.value.clone()) else {
        return Reply::Int(0);
    };
    let expire = ctx.db().expire_at(src);
    let now = ctx.now().unix_ms;
    let lazy = ctx.srv.config.lazyfree_lazy_server_del;
    let target_db = &mut ctx.srv.dbs[target];
    if target_db.contains(dst, now) {
        if !replace {
            return Reply::Int(0);
        }
        if let Some(old) = target_db.take(dst) {
            dispose(ctx, old, lazy);
        }
    }
    let copied = Object::copy_of(value, ctx.new_access());
    ctx.srv.dbs[target].put(Bytes::copy_from_slice(dst), copied, expire);
    ctx.dirty(1);
    // The destination may be in another database: signal it there.
    ctx.srv.touch_watched_key(target, dst);
    notify_in(ctx, target, "copy_to", dst);
    Reply::Int(1)
}

fn move_cmd(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let key = &args[1];
    let target = match parse_db_index(&args[2], ctx.srv.dbs.len()) {
        Ok(t) => t,
        Err(e) => return e,
    };
    if target == ctx.client.db {
        return Reply::err("ERR source and destination objects are the same");
    }
    if ctx.lookup_write(key).is_none() {
        return Reply::Int(0);
    }
    let now = ctx.now().unix_ms;
    if ctx.srv.dbs[target].contains(key, now) {
        return Reply::Int(0);
    }
    let db = ctx.db();
    let expire = db.expire_at(key);
    let Some((stored_key, obj)) = db.take(key) else {
        return Reply::Int(0);
    };
    ctx.srv.dbs[target].put(stored_key, obj, expire);
    ctx.dirty(1);
    ctx.key_modified(key);
    ctx.srv.touch_watched_key(target, key);
    ctx.notify(class::GENERIC, "move_from", key);
    notify_in(ctx, target, "move_to", key);
    Reply::Int(1)
}

/// A generic keyspace event on `key` in database `db`, which need not be
/// the client's (COPY ... DB, MOVE).
fn notify_in(ctx: &mut Ctx, db: usize, event: &str, key: &[u8]) {
    crate::notify::keyspace_event(
        ctx.srv,
        ctx.client,
        ctx.others,
        class::GENERIC,
        event,
        key,
        db,
    );
}

// ---- OBJECT ----

const POLICY_SWITCH_NOTE: &str = "Please note that when switching between policies at \
    runtime LRU and LFU data will take some time to adjust.";

fn object_encoding(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match peek(ctx, &args[2]) {
        Some(obj) => Reply::bulk_str(obj.value.encoding_name()),
        None => Reply::Null,
    }
}

fn object_idletime(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now();
    let lfu = Policy::of(&ctx.srv.config) == Policy::Lfu;
    let Some(obj) = peek(ctx, &args[2]) else {
        return Reply::Null;
    };
    if lfu {
        return Reply::error(format!(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. {POLICY_SWITCH_NOTE}"
        ));
    }
    Reply::Int(access::idle_seconds(obj, now) as i64)
}

fn object_freq(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now();
    let Some(access_word) = peek(ctx, &args[2]).map(|obj| obj.access) else {
        return Reply::Null;
    };
    let config = &ctx.srv.config;
    if Policy::of(config) != Policy::Lfu {
        return Reply::error(format!(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. \
             {POLICY_SWITCH_NOTE}"
        ));
    }
    Reply::Int(access::lfu_counter(access_word, now, config) as i64)
}

/// Redis shares the objects of small non-negative integers (unless an
/// LRU/LFU eviction policy needs per-key access data): those report
/// INT_MAX; every other value, COPY's duplicates included, has one reference.
fn object_refcount(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let config = &ctx.srv.config;
    let evicts_by_access =
        matches!(Policy::of(config), Policy::Lfu) || config.maxmemory_policy.ends_with("lru");
    let sharing = config.maxmemory == 0 || !evicts_by_access;
    let Some(obj) = peek(ctx, &args[2]) else {
        return Reply::Null;
    };
    let small_int =
        matches!(obj.value, Value::Str(StrValue::Int(n)) if (0..SHARED_INTEGERS).contains(&n));
    let shared = small_int && !obj.private_copy;
    Reply::Int(if sharing && shared {
        SHARED_REFCOUNT
    } else {
        1
    })
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

fn object_help(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Array(
        OBJECT_HELP
            .iter()
            .map(|&line| Reply::status(line))
            .collect(),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::client::ClientId;
    use crate::config::Config;
    use crate::resp::frame::Frame;
    use crate::testing::{request, Harness};
    use std::collections::BTreeSet;

    pub fn ok() -> Frame {
        Frame::Simple("OK".into())
    }

    pub fn int(n: i64) -> Frame {
        Frame::Int(n)
    }

    pub fn err(text: &str) -> Frame {
        Frame::Error(text.into())
    }

    pub fn bulk(text: &str) -> Frame {
        Frame::Bulk(text.to_string().into())
    }

    /// A harness whose first cron has already run, so that with `hz` 1 no
    /// further active expiry happens during sub-second advances.
    pub fn harness_with(config: Config) -> (Harness, ClientId) {
        let mut h = Harness::new(config);
        h.advance(0);
        let c = h.connect();
        (h, c)
    }

    pub fn harness() -> (Harness, ClientId) {
        harness_with(Config::default())
    }

    /// A harness without active expiry during sub-second advances.
    pub fn quiet_harness() -> (Harness, ClientId) {
        harness_with(Config {
            hz: 1,
            ..Config::default()
        })
    }

    pub fn set(h: &mut Harness, c: ClientId, key: &str, value: &str) {
        assert_eq!(h.call(c, &["SET", key, value]), ok());
    }

    /// [DBSIZE (the raw size of the selected db: expired keys not yet
    /// reclaimed count, as in Redis), INFO's rdb_changes_since_last_save
    /// (the dirty counter), expired_keys (server-wide), and
    /// lazyfree_pending_objects].
    pub fn state(h: &mut Harness, c: ClientId) -> [i64; 4] {
        let Frame::Int(len) = h.call(c, &["DBSIZE"]) else {
            panic!("DBSIZE replies an integer")
        };
        let info = h
            .call(c, &["INFO", "persistence", "stats", "memory"])
            .text()
            .expect("INFO is a bulk string");
        let field = |name: &str| -> i64 {
            info.split("\r\n")
                .find_map(|line| line.strip_prefix(&format!("{name}:")))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no integer {name} in INFO"))
        };
        [
            len,
            field("rdb_changes_since_last_save"),
            field("expired_keys"),
            field("lazyfree_pending_objects"),
        ]
    }

    fn sorted_bulks(frame: Frame) -> Vec<String> {
        let Frame::Array(items) = frame else {
            panic!("an array: {frame:?}")
        };
        let mut out: Vec<String> = items.iter().map(|f| f.text().expect("bulk")).collect();
        out.sort();
        out
    }

    /// One SCAN call: (next cursor, keys).
    fn scan_once(h: &mut Harness, c: ClientId, args: &[&str]) -> (String, Vec<String>) {
        let mut full = vec!["SCAN"];
        full.extend_from_slice(args);
        let Frame::Array(mut parts) = h.call(c, &full) else {
            panic!("SCAN replies an array")
        };
        assert_eq!(parts.len(), 2);
        let keys = sorted_bulks(parts.pop().unwrap());
        (parts[0].text().expect("cursor bulk"), keys)
    }

    /// Runs a full SCAN with `options`, returning every key seen (with repeats).
    fn scan_all(h: &mut Harness, c: ClientId, options: &[&str]) -> Vec<String> {
        let mut cursor = "0".to_string();
        let mut seen = Vec::new();
        loop {
            let mut args = vec![cursor.as_str()];
            args.extend_from_slice(options);
            let (next, keys) = scan_once(h, c, &args);
            seen.extend(keys);
            if next == "0" {
                return seen;
            }
            cursor = next;
        }
    }

    fn raw(h: &mut Harness, c: ClientId, args: &[&str]) -> Vec<u8> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        h.send_raw(c, &request(&args));
        let bytes = h.pending_bytes(c);
        while h.read(c).is_some() {}
        bytes
    }

    #[test]
    fn del_and_unlink_count_deleted_keys() {
        let (mut h, c) = harness();
        for k in ["a", "b", "c"] {
            set(&mut h, c, k, "v");
        }
        let dirty = state(&mut h, c)[1];
        assert_eq!(h.call(c, &["DEL", "a", "a", "missing"]), int(1));
        assert_eq!(h.call(c, &["UNLINK", "b", "c", "missing"]), int(2));
        assert_eq!(h.call(c, &["DEL", "a"]), int(0));
        assert_eq!(h.call(c, &["EXISTS", "a", "b", "c"]), int(0));
        let [len, dirty_after, _, queued] = state(&mut h, c);
        assert_eq!(len, 0);
        assert_eq!(dirty_after - dirty, 3, "one dirty per deleted key");
        assert_eq!(
            queued, 0,
            "a string is one allocation: freed at once, as Redis"
        );
        assert_eq!(
            h.call(c, &["DEL"]),
            err("ERR wrong number of arguments for 'del' command")
        );
        assert_eq!(
            h.call(c, &["unlink"]),
            err("ERR wrong number of arguments for 'unlink' command")
        );
    }

    #[test]
    fn del_of_an_expired_key_counts_nothing() {
        let (mut h, c) = quiet_harness();
        set(&mut h, c, "k", "v");
        assert_eq!(h.call(c, &["PEXPIRE", "k", "10"]), int(1));
        h.advance(20);
        assert_eq!(state(&mut h, c)[0], 1, "still stored, not yet reclaimed");
        assert_eq!(h.call(c, &["DEL", "k"]), int(0));
        let [len, _, expired, _] = state(&mut h, c);
        assert_eq!((len, expired), (0, 1));
    }

    #[test]
    fn exists_counts_repeats() {
        let (mut h, c) = harness();
        set(&mut h, c, "a", "1");
        set(&mut h, c, "b", "2");
        assert_eq!(
            h.call(c, &["EXISTS", "a", "a", "b", "missing", "a"]),
            int(4)
        );
        assert_eq!(h.call(c, &["EXISTS", "missing"]), int(0));
    }

    #[test]
    fn type_reports_string_or_none_as_status() {
        let (mut h, c) = harness();
        set(&mut h, c, "s", "hello");
        set(&mut h, c, "n", "42");
        assert_eq!(raw(&mut h, c, &["TYPE", "s"]), b"+string\r\n");
        assert_eq!(raw(&mut h, c, &["TYPE", "n"]), b"+string\r\n");
        assert_eq!(raw(&mut h, c, &["TYPE", "missing"]), b"+none\r\n");
        h.call(c, &["HELLO", "3"]);
        assert_eq!(raw(&mut h, c, &["TYPE", "missing"]), b"+none\r\n");
    }

    #[test]
    fn keys_matches_patterns_and_hides_expired_keys() {
        let (mut h, c) = quiet_harness();
        for k in ["hello", "hallo", "hxllo", "hllo", "heeello", "foo", ""] {
            set(&mut h, c, k, "v");
        }
        assert_eq!(
            sorted_bulks(h.call(c, &["KEYS", "h?llo"])),
            ["hallo", "hello", "hxllo"]
        );
        assert_eq!(
            sorted_bulks(h.call(c, &["KEYS", "h*llo"])),
            ["hallo", "heeello", "hello", "hllo", "hxllo"]
        );
        assert_eq!(
            sorted_bulks(h.call(c, &["KEYS", "h[ae]llo"])),
            ["hallo", "hello"]
        );
        assert_eq!(
            sorted_bulks(h.call(c, &["KEYS", "h[^e]llo"])),
            ["hallo", "hxllo"]
        );
        assert_eq!(sorted_bulks(h.call(c, &["KEYS", "nothing*"])).len(), 0);
        // `*` alone lists the empty key too; `**` does not (Redis's matcher).
        assert_eq!(sorted_bulks(h.call(c, &["KEYS", "*"])).len(), 7);
        assert_eq!(sorted_bulks(h.call(c, &["KEYS", "**"])).len(), 6);
        assert_eq!(h.call(c, &["PEXPIRE", "foo", "10"]), int(1));
        h.advance(20);
        assert!(!sorted_bulks(h.call(c, &["KEYS", "*"])).contains(&"foo".to_string()));
        assert_eq!(h.call(c, &["KEYS", "f*"]), Frame::Array(vec![]));
    }

    #[test]
    fn keys_survives_pathological_patterns() {
        let (mut h, c) = harness();
        set(&mut h, c, &"a".repeat(5_000), "v");
        let pattern = format!("{}b", "a*".repeat(50));
        assert_eq!(h.call(c, &["KEYS", &pattern]), Frame::Array(vec![]));
    }

    #[test]
    fn scan_cursor_parsing_follows_strtoul() {
        use super::parse_scan_cursor as parse;
        assert_eq!(parse(b"0"), Ok(0));
        assert_eq!(parse(b""), Ok(0));
        assert_eq!(parse(b"+7"), Ok(7));
        assert_eq!(parse(b"007"), Ok(7));
        assert_eq!(parse(b"-0"), Ok(0));
        assert_eq!(parse(b"-1"), Ok(u64::MAX));
        assert_eq!(parse(b"-18446744073709551615"), Ok(1));
        assert_eq!(parse(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse(b"5\0junk"), Ok(5), "C strings end at NUL");
        let invalid = Err(crate::resp::Reply::err("ERR invalid cursor"));
        for bad in [
            &b"18446744073709551616"[..],
            b"-18446744073709551616",
            b" 5",
            b"5 ",
            b"+",
            b"-",
            b"0x1",
            b"abc",
            b"1.5",
        ] {
            assert_eq!(parse(bad), invalid, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn scan_option_errors() {
        let (mut h, c) = harness();
        set(&mut h, c, "k", "v");
        let syntax = err("ERR syntax error");
        assert_eq!(h.call(c, &["SCAN", "abc"]), err("ERR invalid cursor"));
        assert_eq!(
            h.call(c, &["SCAN", "18446744073709551616"]),
            err("ERR invalid cursor")
        );
        assert_eq!(h.call(c, &["SCAN", "0", "COUNT", "0"]), syntax);
        assert_eq!(h.call(c, &["SCAN", "0", "COUNT", "-1"]), syntax);
        assert_eq!(
            h.call(c, &["SCAN", "0", "COUNT", "abc"]),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            h.call(c, &["SCAN", "0", "COUNT", "9223372036854775808"]),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(h.call(c, &["SCAN", "0", "MATCH"]), syntax);
        assert_eq!(h.call(c, &["SCAN", "0", "TYPE"]), syntax);
        assert_eq!(h.call(c, &["SCAN", "0", "FOO", "bar"]), syntax);
        assert_eq!(
            h.call(c, &["SCAN"]),
            err("ERR wrong number of arguments for 'scan' command")
        );
        assert_eq!(
            scan_once(&mut h, c, &["0", "COUNT", "9223372036854775807"]),
            ("0".to_string(), vec!["k".to_string()])
        );
    }

    #[test]
    fn scan_returns_every_key_once_with_filters() {
        let (mut h, c) = harness();
        let all: BTreeSet<String> = (0..300).map(|i| format!("key:{i}")).collect();
        for k in &all {
            set(&mut h, c, k, "v");
        }
        let seen = scan_all(&mut h, c, &["COUNT", "7"]);
        assert_eq!(seen.len(), 300, "no repeats without resizing");
        assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), all);

        let matched = scan_all(&mut h, c, &["MATCH", "key:1?", "COUNT", "50"]);
        let want: BTreeSet<String> = (10..20).map(|i| format!("key:{i}")).collect();
        assert_eq!(matched.into_iter().collect::<BTreeSet<_>>(), want);

        let typed = scan_all(&mut h, c, &["TYPE", "STRING", "MATCH", "*"]);
        assert_eq!(typed.len(), 300);
        assert!(scan_all(&mut h, c, &["TYPE", "list"]).is_empty());
        assert!(scan_all(&mut h, c, &["TYPE", "nosuchtype"]).is_empty());
    }

    #[test]
    fn scan_default_count_is_small() {
        let (mut h, c) = harness();
        for i in 0..1000 {
            set(&mut h, c, &format!("k{i}"), "v");
        }
        let (cursor, keys) = scan_once(&mut h, c, &["0"]);
        assert_ne!(cursor, "0");
        assert!(
            (10..40).contains(&keys.len()),
            "about COUNT 10: {}",
            keys.len()
        );
    }

    #[test]
    fn scan_keeps_its_guarantee_across_table_growth_and_shrinking() {
        let (mut h, c) = harness();
        let stable: BTreeSet<String> = (0..64).map(|i| format!("stable:{i}")).collect();
        for k in &stable {
            set(&mut h, c, k, "v");
        }
        let mut cursor = "0".to_string();
        let mut seen = BTreeSet::new();
        let mut round = 0;
        loop {
            let (next, keys) = scan_once(&mut h, c, &[&cursor, "COUNT", "5"]);
            seen.extend(keys);
            // Grow the table a lot for a while, then shrink it again.
            for i in 0..200 {
                let k = format!("churn:{round}:{i}");
                if round < 5 {
                    set(&mut h, c, &k, "v");
                } else {
                    h.call(c, &["DEL", &format!("churn:{}:{i}", round - 5)]);
                }
            }
            round += 1;
            if next == "0" {
                break;
            }
            cursor = next;
        }
        assert!(round > 5, "the scan spanned growth and shrinking: {round}");
        let missed: Vec<_> = stable.difference(&seen).collect();
        assert!(missed.is_empty(), "missed {missed:?}");
    }

    #[test]
    fn scan_skips_and_reclaims_expired_keys() {
        let (mut h, c) = quiet_harness();
        for i in 0..20 {
            set(&mut h, c, &format!("k{i}"), "v");
        }
        for i in 0..5 {
            assert_eq!(h.call(c, &["PEXPIRE", &format!("k{i}"), "10"]), int(1));
        }
        h.advance(50);
        assert_eq!(state(&mut h, c)[0], 20, "no active expiry ran");
        let seen = scan_all(&mut h, c, &["COUNT", "100"]);
        assert_eq!(seen.len(), 15);
        assert!(seen.iter().all(|k| k[1..].parse::<u32>().unwrap() >= 5));
        assert_eq!(state(&mut h, c)[0], 15, "SCAN deleted what it met expired");
    }

    #[test]
    fn scan_reply_shape_in_both_protocols() {
        let (mut h, c) = harness();
        set(&mut h, c, "k", "v");
        let want = b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n".to_vec();
        assert_eq!(raw(&mut h, c, &["SCAN", "0"]), want);
        h.call(c, &["HELLO", "3"]);
        assert_eq!(raw(&mut h, c, &["SCAN", "0"]), want);
    }

    #[test]
    fn randomkey_returns_live_keys_only() {
        let (mut h, c) = quiet_harness();
        assert_eq!(raw(&mut h, c, &["RANDOMKEY"]), b"$-1\r\n");
        for k in ["a", "b", "c", "d"] {
            set(&mut h, c, k, "v");
        }
        let drawn: BTreeSet<String> = (0..200)
            .map(|_| h.call(c, &["RANDOMKEY"]).text().unwrap())
            .collect();
        assert_eq!(drawn.len(), 4, "every key comes up: {drawn:?}");

        // Many expired keys and one live one: the live one is found, and
        // the expired keys sampled on the way are deleted.
        for i in 0..500 {
            let k = format!("gone:{i}");
            set(&mut h, c, &k, "v");
            h.call(c, &["PEXPIRE", &k, "10"]);
        }
        for k in ["a", "b", "c"] {
            h.call(c, &["DEL", k]);
        }
        h.advance(20);
        assert_eq!(h.call(c, &["RANDOMKEY"]), bulk("d"));
        assert!(
            state(&mut h, c)[0] < 501,
            "sampled expired keys were deleted"
        );
        h.call(c, &["DEL", "d"]);
        assert_eq!(h.call(c, &["RANDOMKEY"]), Frame::Null);
    }

    #[test]
    fn randomkey_is_deterministic_for_a_seed() {
        let draws = || {
            let (mut h, c) = harness();
            for i in 0..50 {
                set(&mut h, c, &format!("k{i}"), "v");
            }
            (0..20)
                .map(|_| h.call(c, &["RANDOMKEY"]).text().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(), draws());
    }

    #[test]
    fn rename_moves_value_and_ttl() {
        let (mut h, c) = harness();
        assert_eq!(
            h.call(c, &["RENAME", "missing", "x"]),
            err("ERR no such key")
        );
        assert_eq!(
            h.call(c, &["RENAME", "missing", "missing"]),
            err("ERR no such key")
        );
        assert_eq!(
            h.call(c, &["RENAMENX", "missing", "missing"]),
            err("ERR no such key")
        );
        set(&mut h, c, "src", "v1");
        assert_eq!(h.call(c, &["RENAME", "src", "src"]), ok());
        assert_eq!(h.call(c, &["RENAMENX", "src", "src"]), int(0));
        assert_eq!(h.call(c, &["PEXPIRE", "src", "50000"]), int(1));
        let dirty = state(&mut h, c)[1];
        assert_eq!(h.call(c, &["RENAME", "src", "dst"]), ok());
        assert_eq!(state(&mut h, c)[1], dirty + 1);
        assert_eq!(h.call(c, &["EXISTS", "src"]), int(0));
        assert_eq!(h.call(c, &["GET", "dst"]), bulk("v1"));
        assert_eq!(h.call(c, &["PTTL", "dst"]), int(50000), "the TTL moved");

        // Overwriting a key that had a TTL: the new value has the source's (none).
        set(&mut h, c, "plain", "v2");
        assert_eq!(h.call(c, &["RENAME", "plain", "dst"]), ok());
        assert_eq!(h.call(c, &["GET", "dst"]), bulk("v2"));
        assert_eq!(h.call(c, &["TTL", "dst"]), int(-1));
        assert_eq!(state(&mut h, c)[0], 1);
    }

    #[test]
    fn renamenx_only_when_destination_is_free() {
        let (mut h, c) = harness();
        set(&mut h, c, "a", "1");
        set(&mut h, c, "b", "2");
        assert_eq!(h.call(c, &["RENAMENX", "a", "b"]), int(0));
        assert_eq!(h.call(c, &["GET", "b"]), bulk("2"));
        assert_eq!(h.call(c, &["RENAMENX", "a", "c"]), int(1));
        assert_eq!(h.call(c, &["EXISTS", "a", "c"]), int(1));
        assert_eq!(h.call(c, &["GET", "c"]), bulk("1"));
    }

    #[test]
    fn rename_over_an_expired_destination() {
        let (mut h, c) = quiet_harness();
        set(&mut h, c, "a", "1");
        set(&mut h, c, "b", "2");
        h.call(c, &["PEXPIRE", "b", "5"]);
        h.advance(10);
        assert_eq!(h.call(c, &["RENAMENX", "a", "b"]), int(1));
        assert_eq!(h.call(c, &["TTL", "b"]), int(-1));
    }

    #[test]
    fn copy_within_and_across_databases() {
        let (mut h, c) = harness();
        set(&mut h, c, "src", "v1");
        assert_eq!(
            h.call(c, &["COPY", "src", "src"]),
            err("ERR source and destination objects are the same")
        );
        assert_eq!(
            h.call(c, &["COPY", "src", "src", "DB", "0"]),
            err("ERR source and destination objects are the same")
        );
        assert_eq!(h.call(c, &["COPY", "missing", "dst"]), int(0));
        assert_eq!(h.call(c, &["PEXPIRE", "src", "70000"]), int(1));
        assert_eq!(h.call(c, &["COPY", "src", "dst"]), int(1));
        assert_eq!(h.call(c, &["PTTL", "dst"]), int(70000), "the TTL is copied");
        set(&mut h, c, "src", "v2");
        assert_eq!(h.call(c, &["GET", "dst"]), bulk("v1"), "independent");
        assert_eq!(h.call(c, &["COPY", "src", "dst"]), int(0), "dst exists");
        assert_eq!(h.call(c, &["COPY", "src", "dst", "replace"]), int(1));
        assert_eq!(h.call(c, &["GET", "dst"]), bulk("v2"));
        assert_eq!(h.call(c, &["TTL", "dst"]), int(-1), "src has no TTL now");

        // Another database; the last DB option wins.
        assert_eq!(
            h.call(c, &["COPY", "src", "src", "DB", "3", "DB", "1"]),
            int(1)
        );
        assert_eq!(h.call(c, &["SELECT", "1"]), ok());
        assert_eq!(h.call(c, &["GET", "src"]), bulk("v2"));
        assert_eq!(h.call(c, &["SELECT", "3"]), ok());
        assert_eq!(h.call(c, &["EXISTS", "src"]), int(0));
    }

    #[test]
    fn copy_option_errors() {
        let (mut h, c) = harness();
        set(&mut h, c, "k", "v");
        let range = err("ERR DB index is out of range");
        assert_eq!(h.call(c, &["COPY", "k", "k2", "DB", "16"]), range);
        assert_eq!(h.call(c, &["COPY", "k", "k2", "db", "-1"]), range);
        assert_eq!(h.call(c, &["COPY", "k", "k2", "DB", "99", "foo"]), range);
        assert_eq!(
            h.call(c, &["COPY", "k", "k2", "DB", "abc"]),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            h.call(c, &["COPY", "k", "k2", "DB", "9999999999"]),
            err("ERR value is out of range, value must between -2147483648 and 2147483647")
        );
        assert_eq!(
            h.call(c, &["COPY", "k", "k2", "DB"]),
            err("ERR syntax error")
        );
        assert_eq!(
            h.call(c, &["COPY", "k", "k2", "foo"]),
            err("ERR syntax error")
        );
        assert_eq!(
            h.call(c, &["COPY", "k", "k2", "REPLACE", "REPLACE"]),
            int(1)
        );
        assert_eq!(
            h.call(c, &["COPY", "k"]),
            err("ERR wrong number of arguments for 'copy' command")
        );
    }

    #[test]
    fn move_between_databases() {
        let (mut h, c) = harness();
        set(&mut h, c, "k", "v");
        assert_eq!(
            h.call(c, &["MOVE", "k", "0"]),
            err("ERR source and destination objects are the same")
        );
        assert_eq!(
            h.call(c, &["MOVE", "missing", "0"]),
            err("ERR source and destination objects are the same")
        );
        assert_eq!(
            h.call(c, &["MOVE", "k", "16"]),
            err("ERR DB index is out of range")
        );
        assert_eq!(
            h.call(c, &["MOVE", "k", "-1"]),
            err("ERR DB index is out of range")
        );
        assert_eq!(
            h.call(c, &["MOVE", "k", "x"]),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            h.call(c, &["MOVE", "k", "9999999999"]),
            err("ERR value is out of range, value must between -2147483648 and 2147483647")
        );
        assert_eq!(h.call(c, &["MOVE", "missing", "1"]), int(0));
        assert_eq!(h.call(c, &["PEXPIRE", "k", "90000"]), int(1));
        assert_eq!(h.call(c, &["MOVE", "k", "1"]), int(1));
        assert_eq!(h.call(c, &["EXISTS", "k"]), int(0));
        set(&mut h, c, "k", "again");
        assert_eq!(h.call(c, &["SELECT", "1"]), ok());
        assert_eq!(h.call(c, &["PTTL", "k"]), int(90000), "the TTL moved");
        assert_eq!(h.call(c, &["MOVE", "k", "0"]), int(0), "exists in db 0");
        assert_eq!(h.call(c, &["GET", "k"]), bulk("v"));
    }

    #[test]
    fn touch_counts_and_resets_idle_time() {
        let (mut h, c) = harness();
        set(&mut h, c, "k", "v");
        h.advance(5_000);
        assert_eq!(h.call(c, &["OBJECT", "IDLETIME", "k"]), int(5));
        assert_eq!(h.call(c, &["TOUCH", "k", "missing", "k"]), int(2));
        assert_eq!(h.call(c, &["OBJECT", "IDLETIME", "k"]), int(0));
    }

    #[test]
    fn object_and_read_only_lookups_do_not_touch() {
        let (mut h, c) = harness();
        set(&mut h, c, "k", "v");
        h.advance(3_000);
        for cmd in [
            &["OBJECT", "ENCODING", "k"][..],
            &["OBJECT", "REFCOUNT", "k"],
            &["EXISTS", "k"],
            &["TYPE", "k"],
            &["TTL", "k"],
            &["PTTL", "k"],
            &["EXPIRETIME", "k"],
            &["SCAN", "0", "TYPE", "string"],
            &["KEYS", "*"],
        ] {
            h.call(c, cmd);
        }
        assert_eq!(h.call(c, &["OBJECT", "IDLETIME", "k"]), int(3));
        h.call(c, &["GET", "k"]);
        assert_eq!(h.call(c, &["OBJECT", "IDLETIME", "k"]), int(0));
    }

    #[test]
    fn object_encoding_and_refcount() {
        let (mut h, c) = harness();
        set(&mut h, c, "int", "123");
        set(&mut h, c, "bigint", "123456");
        set(&mut h, c, "emb", "hello");
        set(&mut h, c, "raw", &"x".repeat(45));
        assert_eq!(h.call(c, &["OBJECT", "ENCODING", "int"]), bulk("int"));
        assert_eq!(h.call(c, &["object", "encoding", "emb"]), bulk("embstr"));
        assert_eq!(h.call(c, &["OBJECT", "ENCODING", "raw"]), bulk("raw"));
        assert_eq!(h.call(c, &["OBJECT", "REFCOUNT", "int"]), int(2147483647));
        assert_eq!(h.call(c, &["OBJECT", "REFCOUNT", "bigint"]), int(1));
        assert_eq!(h.call(c, &["OBJECT", "REFCOUNT", "emb"]), int(1));
        // A copy is an object of its own; renaming keeps the object.
        assert_eq!(h.call(c, &["COPY", "int", "copied"]), int(1));
        assert_eq!(h.call(c, &["OBJECT", "REFCOUNT", "copied"]), int(1));
        assert_eq!(h.call(c, &["OBJECT", "ENCODING", "copied"]), bulk("int"));
        assert_eq!(h.call(c, &["RENAME", "copied", "renamed"]), ok());
        assert_eq!(h.call(c, &["OBJECT", "REFCOUNT", "renamed"]), int(1));
        set(&mut h, c, "renamed", "7");
        assert_eq!(
            h.call(c, &["OBJECT", "REFCOUNT", "renamed"]),
            int(2147483647)
        );
        for sub in ["ENCODING", "REFCOUNT", "IDLETIME", "FREQ"] {
            assert_eq!(raw(&mut h, c, &["OBJECT", sub, "missing"]), b"$-1\r\n");
        }
        h.call(c, &["HELLO", "3"]);
        assert_eq!(raw(&mut h, c, &["OBJECT", "ENCODING", "missing"]), b"_\r\n");
    }

    #[test]
    fn refcount_without_shared_integers_under_lru_eviction() {
        let (mut h, c) = harness_with(Config {
            maxmemory: 1 << 30,
            maxmemory_policy: "allkeys-lru".into(),
            ..Config::default()
        });
        set(&mut h, c, "int", "123");
        assert_eq!(h.call(c, &["OBJECT", "REFCOUNT", "int"]), int(1));
    }

    #[test]
    fn object_freq_and_idletime_depend_on_the_policy() {
        let note = "Please note that when switching between policies at runtime LRU and \
                    LFU data will take some time to adjust.";
        let (mut h, c) = harness();
        set(&mut h, c, "k", "v");
        assert_eq!(
            h.call(c, &["OBJECT", "FREQ", "k"]),
            err(&format!(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. {note}"
            ))
        );
        let (mut h, c) = harness_with(Config {
            maxmemory_policy: "allkeys-lfu".into(),
            ..Config::default()
        });
        set(&mut h, c, "k", "v");
        assert_eq!(
            h.call(c, &["OBJECT", "IDLETIME", "k"]),
            err(&format!(
                "ERR An LFU maxmemory policy is selected, idle time not tracked. {note}"
            ))
        );
        assert_eq!(h.call(c, &["OBJECT", "FREQ", "k"]), int(5), "LFU_INIT_VAL");
        for _ in 0..200 {
            h.call(c, &["TOUCH", "k"]);
        }
        let Frame::Int(freq) = h.call(c, &["OBJECT", "FREQ", "k"]) else {
            panic!("an integer")
        };
        assert!((9..=15).contains(&freq), "logarithmic growth: {freq}");
        // Decay: one step per lfu-decay-time (1) minute, without access.
        h.advance(3 * 60_000);
        assert_eq!(h.call(c, &["OBJECT", "FREQ", "k"]), int(freq - 3));
    }

    #[test]
    fn object_help_and_errors() {
        let (mut h, c) = harness();
        let Frame::Array(lines) = h.call(c, &["OBJECT", "HELP"]) else {
            panic!("an array")
        };
        assert_eq!(lines.len(), 15);
        assert_eq!(
            lines[0],
            Frame::Simple("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into())
        );
        assert_eq!(lines[14], Frame::Simple("    Prints this help.".into()));
        assert_eq!(
            h.call(c, &["OBJECT", "FOO", "k"]),
            err("ERR unknown subcommand 'FOO'. Try OBJECT HELP.")
        );
        assert_eq!(
            h.call(c, &["OBJECT"]),
            err("ERR wrong number of arguments for 'object' command")
        );
        assert_eq!(
            h.call(c, &["OBJECT", "HELP", "x"]),
            err("ERR wrong number of arguments for 'object|help' command")
        );
        assert_eq!(
            h.call(c, &["OBJECT", "ENCODING"]),
            err("ERR wrong number of arguments for 'object|encoding' command")
        );
    }

    #[test]
    fn command_table_entries_follow_redis() {
        use crate::cmd::flags::*;
        let table = crate::cmd::CommandTable::new();
        let del = table.lookup(b"DEL").unwrap();
        assert_eq!(
            (del.arity, del.flags, del.acl),
            (-2, WRITE, &["keyspace", "write", "slow"][..])
        );
        assert_eq!(del.key_positions(4), vec![1, 2, 3]);
        let copy = table.lookup(b"copy").unwrap();
        assert_eq!(copy.flags, WRITE | DENYOOM);
        assert_eq!(copy.key_specs[0].flags, &["RO", "access"]);
        assert_eq!(copy.key_specs[1].flags, &["OW", "update"]);
        let keys = table.lookup(b"keys").unwrap();
        assert_eq!(keys.acl, &["keyspace", "read", "slow", "dangerous"]);
        let object = table.lookup(b"object").unwrap();
        assert!(object.handler.is_none());
        assert_eq!(
            (object.arity, object.flags, object.acl),
            (-2, 0, &["slow"][..])
        );
        assert_eq!(object.subcommands.len(), 5);
        for sub in object.subcommands {
            assert!(sub.handler.is_some(), "{}", sub.name);
            assert_eq!(sub.group, "generic");
        }
        let help = object.find_subcommand(b"HELP").unwrap();
        assert_eq!((help.arity, help.flags), (2, LOADING | STALE));
        let freq = object.find_subcommand(b"freq").unwrap();
        assert_eq!((freq.first_key, freq.last_key, freq.step), (2, 2, 1));
        assert_eq!(freq.key_positions(3), vec![2]);
    }
}
