//! List commands: pushes (LPUSH, RPUSH and their X forms), pops (LPOP,
//! RPOP with a count, LMPOP), moves (LMOVE, RPOPLPUSH), reads by index or
//! range (LINDEX, LRANGE, LLEN, LPOS) and edits (LSET, LINSERT, LREM,
//! LTRIM).
//!
//! The blocking commands are built on the `pub(crate)` cores here:
//! [`pop_elements`], [`move_element`], [`parse_mpop`] and [`mpop`].
//! Every push goes through `push_into` (behind [`push_elements`]), the one
//! place a list key is created: where blocked clients are to be woken.

use super::flags::*;
use super::{CommandSpec, Ctx, FindKeys, KeySpec};
use crate::db::Object;
use crate::notify::class;
use crate::resp::Reply;
use crate::types::list::{End, Fill};
use crate::types::{ListValue, Value};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;
use std::ops::Range;

#[rustfmt::skip]
mod docs;

// ---- the table ----

const READ_FAST: &[&str] = &["read", "list", "fast"];
const READ_SLOW: &[&str] = &["read", "list", "slow"];
const WRITE_FAST: &[&str] = &["write", "list", "fast"];
const WRITE_SLOW: &[&str] = &["write", "list", "slow"];

/// The key at `index` (a single key), with these key-spec flags.
const fn key_at(index: i32, flags: &'static [&'static str]) -> KeySpec {
    KeySpec::range(flags, index, 0, 1)
}

const RO: &[KeySpec] = &[key_at(1, &["RO"])];
const RO_ACCESS: &[KeySpec] = &[key_at(1, &["RO", "access"])];
const RW_INSERT: &[KeySpec] = &[key_at(1, &["RW", "insert"])];
const RW_UPDATE: &[KeySpec] = &[key_at(1, &["RW", "update"])];
const RW_DELETE: &[KeySpec] = &[key_at(1, &["RW", "delete"])];
const RW_ACCESS_DELETE: &[KeySpec] = &[key_at(1, &["RW", "access", "delete"])];
/// LMOVE, RPOPLPUSH: the source is popped, the destination pushed.
const SOURCE_DESTINATION: &[KeySpec] = &[
    key_at(1, &["RW", "access", "delete"]),
    key_at(2, &["RW", "insert"]),
];
/// LMPOP: `numkeys` at 1, the keys after it.
const MPOP_KEYS: &[KeySpec] = &[KeySpec {
    notes: None,
    flags: &["RW", "access", "delete"],
    begin_index: 1,
    find: FindKeys::Keynum {
        keynumidx: 0,
        firstkey: 1,
        step: 1,
    },
}];

const PUSH_COMPLEXITY: &str = "O(1) for each element added, so O(N) to add N elements when the \
command is called with multiple arguments.";
const POP_COMPLEXITY: &str = "O(N) where N is the number of elements returned";

/// A list command on the key at index 1; the table overrides the rest.
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
            "list",
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

#[rustfmt::skip]
pub const COMMANDS: &[CommandSpec] = &[
    cmd("lpush", -3, WRITE | DENYOOM | FAST, WRITE_FAST, RW_INSERT,
        ("1.0.0", "Prepend one or multiple elements to a list", PUSH_COMPLEXITY), lpush)
        .with_docs(docs::LPUSH),
    cmd("rpush", -3, WRITE | DENYOOM | FAST, WRITE_FAST, RW_INSERT,
        ("1.0.0", "Append one or multiple elements to a list", PUSH_COMPLEXITY), rpush)
        .with_docs(docs::RPUSH),
    cmd("lpushx", -3, WRITE | DENYOOM | FAST, WRITE_FAST, RW_INSERT,
        ("2.2.0", "Prepend an element to a list, only if the list exists", PUSH_COMPLEXITY),
        lpushx)
        .with_docs(docs::LPUSHX),
    cmd("rpushx", -3, WRITE | DENYOOM | FAST, WRITE_FAST, RW_INSERT,
        ("2.2.0", "Append an element to a list, only if the list exists", PUSH_COMPLEXITY),
        rpushx)
        .with_docs(docs::RPUSHX),
    cmd("lpop", -2, WRITE | FAST, WRITE_FAST, RW_ACCESS_DELETE,
        ("1.0.0", "Remove and get the first elements in a list", POP_COMPLEXITY), lpop)
        .with_docs(docs::LPOP),
    cmd("rpop", -2, WRITE | FAST, WRITE_FAST, RW_ACCESS_DELETE,
        ("1.0.0", "Remove and get the last elements in a list", POP_COMPLEXITY), rpop)
        .with_docs(docs::RPOP),
    cmd("lrange", 4, READONLY, READ_SLOW, RO_ACCESS,
        ("1.0.0", "Get a range of elements from a list",
            "O(S+N) where S is the distance of start offset from HEAD for small lists, from \
nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified \
range."), lrange)
        .with_docs(docs::LRANGE),
    cmd("llen", 2, READONLY | FAST, READ_FAST, RO,
        ("1.0.0", "Get the length of a list", "O(1)"), llen)
        .with_docs(docs::LLEN),
    cmd("lindex", 3, READONLY, READ_SLOW, RO_ACCESS,
        ("1.0.0", "Get an element from a list by its index",
            "O(N) where N is the number of elements to traverse to get to the element at index. \
This makes asking for the first or the last element of the list O(1)."), lindex)
        .with_docs(docs::LINDEX),
    cmd("lset", 4, WRITE | DENYOOM, WRITE_SLOW, RW_UPDATE,
        ("1.0.0", "Set the value of an element in a list by its index",
            "O(N) where N is the length of the list. Setting either the first or the last \
element of the list is O(1)."), lset)
        .with_docs(docs::LSET),
    cmd("linsert", 5, WRITE | DENYOOM, WRITE_SLOW, RW_INSERT,
        ("2.2.0", "Insert an element before or after another element in a list",
            "O(N) where N is the number of elements to traverse before seeing the value pivot. \
This means that inserting somewhere on the left end on the list (head) can be considered O(1) \
and inserting somewhere on the right end (tail) is O(N)."), linsert)
        .with_docs(docs::LINSERT),
    cmd("lrem", 4, WRITE, WRITE_SLOW, RW_DELETE,
        ("1.0.0", "Remove elements from a list",
            "O(N+M) where N is the length of the list and M is the number of elements removed."),
        lrem)
        .with_docs(docs::LREM),
    cmd("ltrim", 4, WRITE, WRITE_SLOW, RW_DELETE,
        ("1.0.0", "Trim a list to the specified range",
            "O(N) where N is the number of elements to be removed by the operation."), ltrim)
        .with_docs(docs::LTRIM),
    cmd("lpos", -3, READONLY, READ_SLOW, RO_ACCESS,
        ("6.0.6", "Return the index of matching elements on a list",
            "O(N) where N is the number of elements in the list, for the average case. When \
searching for elements near the head or the tail of the list, or when the MAXLEN option is \
provided, the command may run in constant time."), lpos)
        .with_docs(docs::LPOS),
    CommandSpec {
        last_key: 2,
        ..cmd("lmove", 5, WRITE | DENYOOM, WRITE_SLOW, SOURCE_DESTINATION,
            ("6.2.0", "Pop an element from a list, push it to another list and return it",
                "O(1)"), lmove)
    }.with_docs(docs::LMOVE),
    CommandSpec {
        last_key: 2,
        ..cmd("rpoplpush", 3, WRITE | DENYOOM, WRITE_SLOW, SOURCE_DESTINATION,
            ("1.2.0",
                "Remove the last element in a list, prepend it to another list and return it",
                "O(1)"), rpoplpush)
    }.with_docs(docs::RPOPLPUSH),
    CommandSpec {
        first_key: 0,
        last_key: 0,
        step: 0,
        ..cmd("lmpop", -4, WRITE | MOVABLE_KEYS, WRITE_SLOW, MPOP_KEYS,
            ("7.0.0", "Pop elements from a list",
                "O(N+M) where N is the number of provided keys and M is the number of elements \
returned."), lmpop)
    }.with_docs(docs::LMPOP),
];

// ---- shared helpers ----

/// The node size for lists written now (`list-max-listpack-size`, read at
/// each write so that CONFIG SET affects later writes only).
fn fill_of(ctx: &Ctx) -> Fill {
    Fill::from_config(ctx.srv.config.list_max_listpack_size)
}

/// Runs `f` on the list at `key` for a read command (keyspace hit/miss
/// counted): `Ok(None)` when the key is missing, WRONGTYPE when it holds
/// another type.
fn with_list<R>(
    ctx: &mut Ctx,
    key: &[u8],
    f: impl FnOnce(&ListValue) -> R,
) -> Result<Option<R>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(obj) => match obj.value.as_list() {
            Some(list) => Ok(Some(f(list))),
            None => Err(Reply::wrong_type()),
        },
    }
}

/// What a write did to a list: the result of the change, and whether it
/// left the list empty (its key is then gone).
struct Edited<R> {
    out: R,
    emptied: bool,
}

/// Runs `f` on the list at `key` for a write command: `Ok(None)` when the
/// key is missing, WRONGTYPE when it holds another type. A list that `f`
/// leaves empty is deleted (no empty list stays in the keyspace).
fn with_list_mut<R>(
    ctx: &mut Ctx,
    key: &[u8],
    f: impl FnOnce(&mut ListValue) -> R,
) -> Result<Option<Edited<R>>, Reply> {
    let (out, emptied) = match ctx.lookup_write(key) {
        None => return Ok(None),
        Some(obj) => {
            let list = obj.value.as_list_mut().ok_or_else(Reply::wrong_type)?;
            let out = f(list);
            (out, list.is_empty())
        }
    };
    if emptied {
        ctx.db().remove(key);
    }
    Ok(Some(Edited { out, emptied }))
}

/// Signals a change to the list at `key` (WATCH, keyspace events): the
/// command's `event`, then `del` when the change emptied it.
fn list_changed(ctx: &mut Ctx, key: &[u8], event: &str, emptied: bool) {
    ctx.key_modified(key);
    ctx.notify(class::LIST, event, key);
    if emptied {
        ctx.notify(class::GENERIC, "del", key);
    }
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

/// WRONGTYPE if `key` holds something other than a list (for commands
/// that check every key before changing any).
fn check_list_or_missing(ctx: &mut Ctx, key: &[u8]) -> Result<bool, Reply> {
    match ctx.lookup_write(key) {
        None => Ok(false),
        Some(obj) if obj.value.as_list().is_some() => Ok(true),
        Some(_) => Err(Reply::wrong_type()),
    }
}

fn into_reply(result: Result<Reply, Reply>) -> Reply {
    result.unwrap_or_else(|e| e)
}

fn bulk_array(items: Vec<Bytes>) -> Reply {
    Reply::Array(items.into_iter().map(Reply::Bulk).collect())
}

/// An integer argument (Redis's `getLongFromObjectOrReply`).
fn parse_integer(arg: &[u8]) -> Result<i64, Reply> {
    parse_i64(arg).ok_or_else(Reply::not_integer)
}

/// A non-negative integer argument, with the error Redis gives for it
/// (`getPositiveLongFromObjectOrReply`: also for text that is no integer).
fn parse_non_negative(arg: &[u8], error: &'static str) -> Result<i64, Reply> {
    parse_i64(arg).filter(|n| *n >= 0).ok_or(Reply::err(error))
}

/// `LEFT` or `RIGHT`.
fn parse_end(arg: &[u8]) -> Result<End, Reply> {
    if eq_ic(arg, "left") {
        Ok(End::Head)
    } else if eq_ic(arg, "right") {
        Ok(End::Tail)
    } else {
        Err(Reply::syntax_error())
    }
}

/// Redis's index rule: negative counts from the tail. None when outside.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let index = if index < 0 { index + len } else { index };
    (0..len).contains(&index).then_some(index as usize)
}

/// Redis's range rule (LRANGE, LTRIM): negative ends count from the tail,
/// the start is clamped to 0 and the stop to the last element. None when
/// the range holds nothing. Otherwise `start..=stop`.
fn resolve_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = i64::try_from(len).ok()?;
    let start = if start < 0 { start + len } else { start }.max(0);
    let stop = if stop < 0 { stop + len } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

// ---- pushes ----

fn lpush(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    into_reply(push_elements(ctx, &args[1], End::Head, &args[2..], true).map(Reply::Int))
}

fn rpush(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    into_reply(push_elements(ctx, &args[1], End::Tail, &args[2..], true).map(Reply::Int))
}

fn lpushx(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    into_reply(push_elements(ctx, &args[1], End::Head, &args[2..], false).map(Reply::Int))
}

fn rpushx(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    into_reply(push_elements(ctx, &args[1], End::Tail, &args[2..], false).map(Reply::Int))
}

/// Pushes `elements` one by one at `end` of the list at `key`, creating
/// it when missing if `create`. Returns the new length (0 when the key is
/// missing and not created). Counts one change per element (`dirty`).
pub(crate) fn push_elements(
    ctx: &mut Ctx,
    key: &[u8],
    end: End,
    elements: &[Bytes],
    create: bool,
) -> Result<i64, Reply> {
    let len = push_into(ctx, key, end, elements, create)?;
    // LPUSHX/RPUSHX on a missing key push nothing.
    if len > 0 {
        ctx.dirty(elements.len() as u64);
    }
    Ok(len)
}

/// [`push_elements`] without counting changes (LMOVE counts one for the
/// whole move, as Redis). Every push of every command goes through here,
/// and it is the only place a list key is created.
fn push_into(
    ctx: &mut Ctx,
    key: &[u8],
    end: End,
    elements: &[Bytes],
    create: bool,
) -> Result<i64, Reply> {
    let fill = fill_of(ctx);
    let push_all = |list: &mut ListValue| {
        for element in elements {
            list.push(end, element, fill);
        }
        list.len()
    };
    let len = match with_list_mut(ctx, key, push_all)? {
        Some(edited) => edited.out,
        None if !create || elements.is_empty() => return Ok(0),
        None => {
            let mut list = ListValue::new();
            let len = push_all(&mut list);
            let obj = Object::new(Value::List(list), ctx.new_access());
            ctx.db().insert_new(key, obj);
            len
        }
    };
    list_changed(ctx, key, push_event(end), false);
    Ok(len as i64)
}

// ---- pops ----

fn lpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    pop_command(ctx, args, End::Head)
}

fn rpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    pop_command(ctx, args, End::Tail)
}

/// LPOP/RPOP key [count]: without a count one element (null bulk when the
/// key is missing); with one an array (null array when missing).
fn pop_command(ctx: &mut Ctx, args: &[Bytes], end: End) -> Reply {
    if args.len() > 3 {
        return Reply::wrong_arity(&String::from_utf8_lossy(&args[0]));
    }
    let count = match args.get(2) {
        None => None,
        Some(arg) => match parse_non_negative(arg, "ERR value is out of range, must be positive") {
            Ok(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            Err(e) => return e,
        },
    };
    let popped = pop_elements(ctx, &args[1], end, count.unwrap_or(1));
    match (popped, count) {
        (Err(e), _) => e,
        (Ok(None), None) => Reply::Null,
        (Ok(None), Some(_)) => Reply::NullArray,
        (Ok(Some(mut items)), None) => items.pop().map_or(Reply::Null, Reply::Bulk),
        (Ok(Some(items)), Some(_)) => bulk_array(items),
    }
}

/// Pops up to `count` elements from `end` of the list at `key`, in the
/// order taken, deleting the key when it empties. `Ok(None)` when the key
/// is missing; WRONGTYPE when it is not a list. A count of 0 pops nothing
/// (after the type check).
pub(crate) fn pop_elements(
    ctx: &mut Ctx,
    key: &[u8],
    end: End,
    count: usize,
) -> Result<Option<Vec<Bytes>>, Reply> {
    let Some(popped) = with_list_mut(ctx, key, |list| list.pop(end, count))? else {
        return Ok(None);
    };
    if !popped.out.is_empty() {
        ctx.dirty(popped.out.len() as u64);
        list_changed(ctx, key, pop_event(end), popped.emptied);
    }
    Ok(Some(popped.out))
}

fn lmove(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let ends = parse_end(&args[3]).and_then(|from| Ok((from, parse_end(&args[4])?)));
    let (from, to) = match ends {
        Ok(ends) => ends,
        Err(e) => return e,
    };
    move_reply(move_element(ctx, &args[1], &args[2], from, to))
}

fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    move_reply(move_element(ctx, &args[1], &args[2], End::Tail, End::Head))
}

fn move_reply(moved: Result<Option<Bytes>, Reply>) -> Reply {
    match moved {
        Ok(Some(element)) => Reply::Bulk(element),
        Ok(None) => Reply::Null,
        Err(e) => e,
    }
}

/// Moves one element from `from` of `source` to `to` of `destination`
/// (LMOVE, RPOPLPUSH). `Ok(None)` when the source is missing. Both keys are
/// type-checked before anything changes. The same key rotates in place
/// (its TTL stays).
pub(crate) fn move_element(
    ctx: &mut Ctx,
    source: &[u8],
    destination: &[u8],
    from: End,
    to: End,
) -> Result<Option<Bytes>, Reply> {
    if !check_list_or_missing(ctx, source)? {
        return Ok(None);
    }
    check_list_or_missing(ctx, destination)?;
    if source == destination {
        return rotate(ctx, source, from, to);
    }
    let Some(popped) = with_list_mut(ctx, source, |list| list.pop_one(from))? else {
        return Ok(None);
    };
    let Some(element) = popped.out else {
        return Ok(None);
    };
    push_into(ctx, destination, to, std::slice::from_ref(&element), true)?;
    // Redis signals the push before the pop.
    list_changed(ctx, source, pop_event(from), popped.emptied);
    ctx.dirty(1);
    Ok(Some(element))
}

/// LMOVE of a list onto itself: one element from `from` goes to `to`.
fn rotate(ctx: &mut Ctx, key: &[u8], from: End, to: End) -> Result<Option<Bytes>, Reply> {
    let fill = fill_of(ctx);
    let rotated = with_list_mut(ctx, key, |list| {
        let element = list.pop_one(from);
        if let Some(element) = &element {
            list.push(to, element, fill);
        }
        element
    })?;
    let Some(element) = rotated.and_then(|edited| edited.out) else {
        return Ok(None);
    };
    ctx.key_modified(key);
    ctx.notify(class::LIST, push_event(to), key);
    ctx.notify(class::LIST, pop_event(from), key);
    ctx.dirty(1);
    Ok(Some(element))
}

fn lmpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match parse_mpop(args, 1) {
        Ok(mpop_args) => mpop(
            ctx,
            &args[mpop_args.keys.clone()],
            mpop_args.end,
            mpop_args.count,
        ),
        Err(e) => e,
    }
}

/// The arguments of LMPOP (and BLMPOP): where the keys are in argv, which
/// end to pop from, how many elements at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MpopArgs {
    pub keys: Range<usize>,
    pub end: End,
    pub count: usize,
}

/// Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` starting at
/// `numkeys_at` in `args`, with Redis 7.0's errors.
pub(crate) fn parse_mpop(args: &[Bytes], numkeys_at: usize) -> Result<MpopArgs, Reply> {
    let numkeys = parse_i64(&args[numkeys_at])
        .filter(|n| *n >= 1)
        .ok_or(Reply::err("ERR numkeys should be greater than 0"))?;
    let first_key = numkeys_at + 1;
    let where_at = usize::try_from(numkeys)
        .ok()
        .and_then(|n| first_key.checked_add(n))
        .filter(|at| *at < args.len())
        .ok_or_else(Reply::syntax_error)?;
    let end = parse_end(&args[where_at])?;
    let mut count = None;
    let mut i = where_at + 1;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if count.is_none() && eq_ic(&args[i], "count") && has_value {
            let n = parse_i64(&args[i + 1])
                .filter(|n| *n >= 1)
                .ok_or(Reply::err("ERR count should be greater than 0"))?;
            count = Some(usize::try_from(n).unwrap_or(usize::MAX));
            i += 2;
        } else {
            return Err(Reply::syntax_error());
        }
    }
    Ok(MpopArgs {
        keys: first_key..where_at,
        end,
        count: count.unwrap_or(1),
    })
}

/// Pops up to `count` elements from the first non-empty list among `keys`
/// (LMPOP's core): `[key, [elements]]`, or the null array when every key is
/// missing. A key of another type met before a list is WRONGTYPE.
/// It propagates as the LPOP or RPOP of what it took (`[L|R]POP key n`),
/// naming the one key it popped from.
pub(crate) fn mpop(ctx: &mut Ctx, keys: &[Bytes], end: End, count: usize) -> Reply {
    for key in keys {
        match pop_elements(ctx, key, end, count) {
            Err(e) => return e,
            Ok(None) => continue,
            Ok(Some(items)) => {
                let name: &'static [u8] = match end {
                    End::Head => b"LPOP",
                    End::Tail => b"RPOP",
                };
                ctx.propagate_as(vec![
                    Bytes::from_static(name),
                    key.clone(),
                    Bytes::from(items.len().to_string()),
                ]);
                return Reply::Array(vec![Reply::Bulk(key.clone()), bulk_array(items)]);
            }
        }
    }
    Reply::NullArray
}

// ---- reads ----

fn llen(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match with_list(ctx, &args[1], |l: &ListValue| l.len()) {
        Ok(len) => Reply::Int(len.unwrap_or(0) as i64),
        Err(e) => e,
    }
}

fn lindex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let found = with_list(ctx, &args[1], |list| {
        let index = parse_integer(&args[2])?;
        Ok(resolve_index(index, list.len()).and_then(|i| list.get(i)))
    });
    match found {
        Ok(None) | Ok(Some(Ok(None))) => Reply::Null,
        Ok(Some(Ok(Some(element)))) => Reply::Bulk(element),
        Ok(Some(Err(e))) | Err(e) => e,
    }
}

fn lrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let bounds = parse_integer(&args[2]).and_then(|start| Ok((start, parse_integer(&args[3])?)));
    let (start, stop) = match bounds {
        Ok(bounds) => bounds,
        Err(e) => return e,
    };
    let items = with_list(ctx, &args[1], |list| {
        match resolve_range(start, stop, list.len()) {
            Some((first, last)) => list.range_reply(first, last - first + 1),
            None => Default::default(),
        }
    });
    match items {
        Ok(items) => Reply::Bulks(items.unwrap_or_default()),
        Err(e) => e,
    }
}

/// LPOS's options, as Redis parses them (the last of a repeated option wins).
struct LposOptions {
    rank: i64,
    /// None without COUNT; Some(0) for every match.
    count: Option<u64>,
    /// 0 for no limit.
    maxlen: u64,
}

fn parse_lpos_options(args: &[Bytes]) -> Result<LposOptions, Reply> {
    let mut options = LposOptions {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut i = 0;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else {
            return Err(Reply::syntax_error());
        };
        if eq_ic(&args[i], "rank") {
            options.rank = parse_integer(value)?;
            if options.rank == 0 {
                return Err(Reply::err(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
second ... or use negative to start from the end of the list",
                ));
            }
        } else if eq_ic(&args[i], "count") {
            let n = parse_non_negative(value, "ERR COUNT can't be negative")?;
            options.count = Some(n as u64);
        } else if eq_ic(&args[i], "maxlen") {
            options.maxlen = parse_non_negative(value, "ERR MAXLEN can't be negative")? as u64;
        } else {
            return Err(Reply::syntax_error());
        }
        i += 2;
    }
    Ok(options)
}

fn lpos(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let options = match parse_lpos_options(&args[3..]) {
        Ok(options) => options,
        Err(e) => return e,
    };
    let found = with_list(ctx, &args[1], |list| positions(list, &args[2], &options));
    match (found, options.count) {
        (Err(e), _) => e,
        (Ok(None), None) => Reply::Null,
        (Ok(None), Some(_)) => Reply::Array(Vec::new()),
        (Ok(Some(found)), None) => found.first().map_or(Reply::Null, |&i| Reply::Int(i)),
        (Ok(Some(found)), Some(_)) => Reply::Array(found.into_iter().map(Reply::Int).collect()),
    }
}

/// The indexes LPOS reports: matches of `element`, scanning from the head
/// (positive rank) or the tail (negative), skipping the first |rank|-1
/// matches, at most `count` of them (all for 0; one without COUNT), looking
/// at no more than `maxlen` elements (0: all).
///
/// RANK -9223372036854775808 is accepted as Redis 7.0 accepts it: its
/// negation overflows there, which makes every match from the tail count,
/// and COUNT never stop the scan (Redis 7.2 rejects that rank instead).
fn positions(list: &ListValue, element: &[u8], options: &LposOptions) -> Vec<i64> {
    let probe = crate::types::list::pack::Probe::new(element);
    let from_tail = options.rank < 0;
    let (skip, limit) = if options.rank == i64::MIN {
        (0, 0)
    } else {
        (options.rank.unsigned_abs() - 1, options.count.unwrap_or(1))
    };
    let scanned = if options.maxlen == 0 {
        list.len()
    } else {
        usize::try_from(options.maxlen)
            .unwrap_or(usize::MAX)
            .min(list.len())
    };
    let last = list.len() as i64 - 1;
    let elements: Box<dyn Iterator<Item = _>> = if from_tail {
        Box::new(list.iter_rev())
    } else {
        Box::new(list.iter())
    };
    let mut found = Vec::new();
    let hits = elements
        .take(scanned)
        .enumerate()
        .filter(|(_, e)| e.matches(&probe))
        .skip(usize::try_from(skip).unwrap_or(usize::MAX));
    for (i, _) in hits {
        found.push(if from_tail { last - i as i64 } else { i as i64 });
        if limit != 0 && found.len() as u64 >= limit {
            break;
        }
    }
    found
}

// ---- edits ----

fn lset(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let fill = fill_of(ctx);
    let done = with_list_mut(ctx, &args[1], |list| {
        let index = parse_integer(&args[2])?;
        match resolve_index(index, list.len()) {
            Some(i) if list.set(i, &args[3], fill) => Ok(()),
            _ => Err(Reply::err("ERR index out of range")),
        }
    });
    match done.map(|edited| edited.map(|e| e.out)) {
        Ok(None) => Reply::err("ERR no such key"),
        Ok(Some(Ok(()))) => {
            ctx.dirty(1);
            list_changed(ctx, &args[1], "lset", false);
            Reply::OK
        }
        Ok(Some(Err(e))) | Err(e) => e,
    }
}

fn linsert(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let after = if eq_ic(&args[2], "after") {
        true
    } else if eq_ic(&args[2], "before") {
        false
    } else {
        return Reply::syntax_error();
    };
    let fill = fill_of(ctx);
    let inserted = with_list_mut(ctx, &args[1], |list| {
        list.insert_at_pivot(&args[3], after, &args[4], fill)
            .then(|| list.len())
    });
    match inserted.map(|edited| edited.map(|e| e.out)) {
        Ok(None) => Reply::Int(0),
        Ok(Some(None)) => Reply::Int(-1),
        Ok(Some(Some(len))) => {
            ctx.dirty(1);
            list_changed(ctx, &args[1], "linsert", false);
            Reply::Int(len as i64)
        }
        Err(e) => e,
    }
}

fn lrem(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let count = match parse_integer(&args[2]) {
        Ok(count) => count,
        Err(e) => return e,
    };
    let fill = fill_of(ctx);
    match with_list_mut(ctx, &args[1], |list| {
        list.remove_matches(&args[3], count, fill)
    }) {
        Ok(None) => Reply::Int(0),
        Ok(Some(Edited { out: 0, .. })) => Reply::Int(0),
        Ok(Some(Edited { out, emptied })) => {
            ctx.dirty(out as u64);
            list_changed(ctx, &args[1], "lrem", emptied);
            Reply::Int(out as i64)
        }
        Err(e) => e,
    }
}

fn ltrim(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let bounds = parse_integer(&args[2]).and_then(|start| Ok((start, parse_integer(&args[3])?)));
    let (start, stop) = match bounds {
        Ok(bounds) => bounds,
        Err(e) => return e,
    };
    let trimmed = with_list_mut(ctx, &args[1], |list| {
        let before = list.len();
        match resolve_range(start, stop, before) {
            Some((first, last)) => list.keep_range(first, last),
            None => list.remove_front(before),
        }
        before - list.len()
    });
    match trimmed {
        Ok(None) => Reply::OK,
        Ok(Some(Edited { out, emptied })) => {
            ctx.dirty(out as u64);
            // Redis signals LTRIM even when it removed nothing (it
            // propagates only what it removed).
            list_changed(ctx, &args[1], "ltrim", emptied);
            Reply::OK
        }
        Err(e) => e,
    }
}

#[cfg(test)]
mod effects_tests;
#[cfg(test)]
mod tests;
