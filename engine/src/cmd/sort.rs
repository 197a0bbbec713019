//! SORT and SORT_RO: the elements of a list, set or sorted set, sorted
//! numerically or (ALPHA) as strings, by themselves or by the values that
//! a BY pattern names, windowed by LIMIT, replaced by the values of GET
//! patterns, and returned or (SORT ... STORE) stored as a list.
//!
//! Redis 7.0.15's behaviour, including its quirks:
//! - a BY pattern without `*` means no sorting at all (and sticks, even if
//!   a later BY has a `*`); lists and sorted sets then keep their order
//!   (DESC reverses it, LIMIT windows it), sets their iteration order;
//!   with STORE a set is sorted as ALPHA anyway, so that the stored list
//!   does not depend on the set's internal order;
//! - numeric sorting reads values as `strtod` does ([`score`]); equal
//!   scores fall back to comparing the elements as binary strings;
//! - ALPHA compares as C strings (`strcoll` in the C locale: bytes up to
//!   the first NUL), except with STORE, which compares whole binary
//!   strings; with BY, a missing value sorts first and ties keep their
//!   load order (glibc's qsort is a stable merge sort);
//! - a listpack-encoded sorted set is converted to a skiplist (Redis
//!   converts it in place before sorting; OBJECT ENCODING shows it).

use super::flags::*;
use super::keys::{delete_key, dispose};
use super::list::push_elements;
use super::{CommandSpec, Ctx, FindKeys, KeySpec};
use crate::resp::Reply;
use crate::types::list::End;
use crate::types::zset::Limits;
use crate::types::{ListValue, SetValue, Value, ZSetValue};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;
use pattern::Pattern;
use score::{c_string, sort_score};
use std::cmp::Ordering;
use std::ops::Range;

#[rustfmt::skip]
mod docs;
mod pattern;
mod score;

// ---- the table ----

/// The key sorted, then the keys BY/GET patterns name, then STORE's.
const SORT_KEY_SPECS: &[KeySpec] = &[
    KeySpec::range(&["RO", "access"], 1, 0, 1),
    PATTERN_KEYS,
    KeySpec {
        notes: Some(
            "For the optional STORE keyword. It is marked 'unknown' because the keyword can \
appear anywhere in the argument array",
        ),
        flags: &["OW", "update"],
        begin_index: 0,
        find: FindKeys::Unknown,
    },
];

const SORT_RO_KEY_SPECS: &[KeySpec] = &[KeySpec::range(&["RO", "access"], 1, 0, 1), PATTERN_KEYS];

const PATTERN_KEYS: KeySpec = KeySpec {
    notes: Some(
        "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive \
from the content of the key we sort",
    ),
    flags: &["RO", "access"],
    begin_index: 0,
    find: FindKeys::Unknown,
};

const COMPLEXITY: &str = "O(N+M*log(M)) where N is the number of elements in the list or set to \
sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).";

/// SORT or SORT_RO: the key at index 1, more keys through the options.
const fn cmd(
    name: &'static str,
    flags: u32,
    acl: &'static [&'static str],
    key_specs: &'static [KeySpec],
    (since, summary): (&'static str, &'static str),
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        complexity: COMPLEXITY,
        ..CommandSpec::keyed(
            "generic",
            name,
            -2,
            flags | MOVABLE_KEYS,
            acl,
            key_specs,
            (since, summary),
            handler,
        )
    }
}

#[rustfmt::skip]
pub const COMMANDS: &[CommandSpec] = &[
    cmd("sort", WRITE | DENYOOM,
        &["write", "set", "sortedset", "list", "slow", "dangerous"], SORT_KEY_SPECS,
        ("1.0.0", "Sort the elements in a list, set or sorted set"), sort)
        .with_docs(docs::SORT)
        .with_getkeys(sort_keys),
    cmd("sort_ro", READONLY,
        &["read", "set", "sortedset", "list", "slow", "dangerous"], SORT_RO_KEY_SPECS,
        ("7.0.0", "Sort the elements in a list, set or sorted set. Read-only variant of SORT."),
        sort_ro)
        .with_docs(docs::SORT_RO),
];

/// SORT's keys for COMMAND GETKEYS: the sorted key, and STORE's
/// destination (the last STORE given), found by skipping options as
/// Redis's `sortGetKeys` does (LIMIT takes 2 arguments, GET and BY 1).
fn sort_keys(argv: &[Bytes]) -> Vec<(usize, &'static [&'static str])> {
    let mut keys: Vec<(usize, &'static [&'static str])> = vec![(1, &["RO", "access"])];
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let arg = &argv[i];
        if eq_ic(arg, "limit") {
            i += 2;
        } else if eq_ic(arg, "get") || eq_ic(arg, "by") {
            i += 1;
        } else if eq_ic(arg, "store") && i + 1 < argv.len() {
            store = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    if let Some(at) = store {
        keys.push((at, &["OW", "update"]));
    }
    keys
}

// ---- options ----

/// SORT's options as given (the last of a repeated ASC/DESC, BY or STORE
/// wins; GETs add up).
#[derive(Debug, Clone, PartialEq)]
struct SortOptions {
    /// The last BY pattern.
    by: Option<Pattern>,
    /// Set by any BY pattern without `*`, for good.
    dont_sort: bool,
    /// LIMIT's offset and count (count -1: no limit).
    offset: i64,
    count: i64,
    gets: Vec<Pattern>,
    desc: bool,
    alpha: bool,
    store: Option<Bytes>,
}

/// Parses the options after the key, with Redis's errors: a syntax error
/// for an unknown word or a missing argument (STORE is unknown to
/// SORT_RO), an integer error for LIMIT's numbers.
fn parse_options(args: &[Bytes], read_only: bool) -> Result<SortOptions, Reply> {
    let mut opts = SortOptions {
        by: None,
        dont_sort: false,
        offset: 0,
        count: -1,
        gets: Vec::new(),
        desc: false,
        alpha: false,
        store: None,
    };
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        let left = args.len() - i - 1;
        if eq_ic(word, "asc") {
            opts.desc = false;
        } else if eq_ic(word, "desc") {
            opts.desc = true;
        } else if eq_ic(word, "alpha") {
            opts.alpha = true;
        } else if eq_ic(word, "limit") && left >= 2 {
            opts.offset = parse_i64(&args[i + 1]).ok_or_else(Reply::not_integer)?;
            opts.count = parse_i64(&args[i + 2]).ok_or_else(Reply::not_integer)?;
            i += 2;
        } else if !read_only && eq_ic(word, "store") && left >= 1 {
            opts.store = Some(args[i + 1].clone());
            i += 1;
        } else if eq_ic(word, "by") && left >= 1 {
            opts.dont_sort |= !Pattern::has_star(&args[i + 1]);
            opts.by = Some(Pattern::parse(&args[i + 1]));
            i += 1;
        } else if eq_ic(word, "get") && left >= 1 {
            opts.gets.push(Pattern::parse(&args[i + 1]));
            i += 1;
        } else {
            return Err(Reply::syntax_error());
        }
        i += 1;
    }
    Ok(opts)
}

// ---- the command ----

fn sort(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    sort_command(ctx, args, false).unwrap_or_else(|e| e)
}

fn sort_ro(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    sort_command(ctx, args, true).unwrap_or_else(|e| e)
}

fn sort_command(ctx: &mut Ctx, args: &[Bytes], read_only: bool) -> Result<Reply, Reply> {
    let mut opts = parse_options(&args[2..], read_only)?;
    let Loaded {
        mut elements,
        window,
    } = load(ctx, &args[1], &mut opts)?;
    if !opts.dont_sort {
        sort_elements(ctx, &mut elements, &opts)?;
    }
    let rows = select(ctx, &elements[window], &opts.gets);
    Ok(match &opts.store {
        None => Reply::Array(rows.into_iter().map(value_reply).collect()),
        Some(destination) => store(ctx, destination, rows)?,
    })
}

// ---- loading ----

/// The elements to sort, and the part of them (after sorting) to output.
struct Loaded {
    elements: Vec<Bytes>,
    window: Range<usize>,
}

/// Looks the key up (a read: hit or miss counted) and takes its elements.
/// A missing key sorts as an empty list. When nothing is to be sorted, a
/// list or sorted set gives only the LIMIT window, in order (reversed by
/// DESC). A set to STORE unsorted is sorted as ALPHA (see the module doc).
fn load(ctx: &mut Ctx, key: &[u8], opts: &mut SortOptions) -> Result<Loaded, Reply> {
    let Some(obj) = ctx.lookup_read(key) else {
        return Ok(Loaded {
            elements: Vec::new(),
            window: 0..0,
        });
    };
    if let Value::ZSet(zset) = &mut obj.value {
        convert_to_skiplist(zset);
    }
    let whole_order = |len| limit_window(opts.offset, opts.count, len);
    match &obj.value {
        Value::List(list) if opts.dont_sort => {
            let window = whole_order(list.len());
            Ok(in_window(list_window(list, &window, opts.desc)))
        }
        Value::ZSet(zset) if opts.dont_sort => {
            let window = whole_order(zset.len());
            Ok(in_window(zset_window(zset, &window, opts.desc)))
        }
        Value::List(list) => Ok(all_of(list.range(0, list.len()), whole_order)),
        Value::ZSet(zset) => Ok(all_of(zset_members(zset), whole_order)),
        Value::Set(set) => {
            if opts.dont_sort && opts.store.is_some() {
                opts.dont_sort = false;
                opts.alpha = true;
                opts.by = None;
            }
            Ok(all_of(set_members(set), whole_order))
        }
        _ => Err(Reply::wrong_type()),
    }
}

/// Elements that are exactly the output window.
fn in_window(elements: Vec<Bytes>) -> Loaded {
    let window = 0..elements.len();
    Loaded { elements, window }
}

/// Every element, with the LIMIT window over all of them.
fn all_of(elements: Vec<Bytes>, window: impl Fn(usize) -> Range<usize>) -> Loaded {
    let window = window(elements.len());
    Loaded { elements, window }
}

/// Redis sorts a sorted set in its big encoding, converting it for good.
fn convert_to_skiplist(zset: &mut ZSetValue) {
    if zset.encoding_name() == "skiplist" {
        return;
    }
    let never_compact = Limits {
        max_entries: 0,
        max_value: 0,
    };
    *zset = ZSetValue::from_sorted(&zset.to_vec(), &never_compact);
}

/// The list's elements at `window` of its order, or of its reverse order.
fn list_window(list: &ListValue, window: &Range<usize>, desc: bool) -> Vec<Bytes> {
    if window.is_empty() {
        return Vec::new();
    }
    if !desc {
        return list.range(window.start, window.len());
    }
    let first = list.len() - window.end;
    let mut elements = list.range(first, window.len());
    elements.reverse();
    elements
}

/// The sorted set's members at `window` of its order, or of its reverse.
fn zset_window(zset: &ZSetValue, window: &Range<usize>, desc: bool) -> Vec<Bytes> {
    if window.is_empty() {
        return Vec::new();
    }
    let (first, last) = if desc {
        (zset.len() - window.end, zset.len() - 1 - window.start)
    } else {
        (window.start, window.end - 1)
    };
    let entries = zset.range(first, last, desc);
    entries.into_iter().map(|(member, _)| member).collect()
}

fn zset_members(zset: &ZSetValue) -> Vec<Bytes> {
    zset.to_vec()
        .into_iter()
        .map(|(member, _)| member)
        .collect()
}

fn set_members(set: &SetValue) -> Vec<Bytes> {
    set.to_bytes_vec()
}

/// Redis's LIMIT rule over `len` elements: a negative offset is 0, a
/// negative count means all, and both are clamped to the elements there
/// are. The positions to output, in sorted order.
fn limit_window(offset: i64, count: i64, len: usize) -> Range<usize> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let start = offset.clamp(0, len);
    let count = count.clamp(-1, len);
    let end = if count < 0 {
        len
    } else {
        start.saturating_add(count).min(len)
    };
    // Both within 0..=len here; `start` may equal `len` (an empty window).
    start as usize..end.max(start) as usize
}

// ---- sorting ----

/// What an element is compared by.
#[derive(Debug, Clone)]
enum SortKey {
    /// Numeric: the score, then the element as a binary string.
    Score(f64),
    /// ALPHA with BY: the pattern's value (missing first).
    Text(Option<Bytes>),
    /// ALPHA without BY: the element itself.
    Element,
}

/// Sorts `elements` in place as the options say; the error Redis gives
/// when a numeric sort meets a value that is not a number (after looking
/// every BY value up, as Redis does).
fn sort_elements(
    ctx: &mut Ctx,
    elements: &mut Vec<Bytes>,
    opts: &SortOptions,
) -> Result<(), Reply> {
    let by = opts.by.as_ref();
    let mut keyed = Vec::with_capacity(elements.len());
    let mut not_a_number = false;
    for element in elements.drain(..) {
        let key = match (opts.alpha, by) {
            (true, None) => SortKey::Element,
            (true, Some(by)) => SortKey::Text(by.resolve(ctx, &element)),
            (false, _) => {
                let value = match by {
                    Some(by) => by.resolve(ctx, &element),
                    None => Some(element.clone()),
                };
                // A missing BY value scores 0.
                let score = value.map_or(Some(0.0), |v| sort_score(&v));
                not_a_number |= score.is_none();
                SortKey::Score(score.unwrap_or(0.0))
            }
        };
        keyed.push((element, key));
    }
    if not_a_number {
        return Err(Reply::err(
            "ERR One or more scores can't be converted into double",
        ));
    }
    let binary = opts.store.is_some();
    keyed.sort_by(|a, b| {
        let order = compare(a, b, binary);
        if opts.desc {
            order.reverse()
        } else {
            order
        }
    });
    elements.extend(keyed.into_iter().map(|(element, _)| element));
    Ok(())
}

/// Redis's comparison of two keyed elements (ascending).
fn compare((a, key_a): &(Bytes, SortKey), (b, key_b): &(Bytes, SortKey), binary: bool) -> Ordering {
    match (key_a, key_b) {
        (SortKey::Score(x), SortKey::Score(y)) => x
            .partial_cmp(y)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.cmp(b)),
        (SortKey::Text(x), SortKey::Text(y)) => match (x, y) {
            (Some(x), Some(y)) => compare_text(x, y, binary),
            (x, y) => x.is_some().cmp(&y.is_some()),
        },
        _ => compare_text(a, b, binary),
    }
}

/// ALPHA's string order: whole binary strings with STORE, C strings
/// (up to the first NUL, as `strcoll` in the C locale sees them) without.
fn compare_text(a: &[u8], b: &[u8], binary: bool) -> Ordering {
    if binary {
        a.cmp(b)
    } else {
        c_string(a).cmp(c_string(b))
    }
}

// ---- output ----

/// For each element of the window: the element itself without GET, else
/// each GET pattern's value (None when missing).
fn select(ctx: &mut Ctx, window: &[Bytes], gets: &[Pattern]) -> Vec<Option<Bytes>> {
    if gets.is_empty() {
        return window.iter().cloned().map(Some).collect();
    }
    let mut rows = Vec::with_capacity(window.len().saturating_mul(gets.len()));
    for element in window {
        for get in gets {
            rows.push(get.resolve(ctx, element));
        }
    }
    rows
}

fn value_reply(value: Option<Bytes>) -> Reply {
    value.map_or(Reply::Null, Reply::Bulk)
}

/// STORE: the values as a new list under `destination` (missing GET values
/// as empty strings), replacing any value and TTL there (Redis's setKey;
/// an LFU counter carries over), or, when there are none, deleting it
/// (Redis's dbDelete: an expired key still there is deleted and counted).
/// One change per value stored, or one for the deletion.
fn store(ctx: &mut Ctx, destination: &[u8], rows: Vec<Option<Bytes>>) -> Result<Reply, Reply> {
    let lazy = ctx.srv.config.lazyfree_lazy_server_del;
    let count = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    if rows.is_empty() {
        if let Some(old) = ctx.db().take(destination) {
            dispose(ctx, old, lazy);
            ctx.key_modified(destination);
            ctx.notify(crate::notify::class::GENERIC, "del", destination);
            ctx.dirty(1);
        }
        return Ok(Reply::Int(0));
    }
    let kept_access = ctx.lookup_write(destination).map(|obj| obj.access);
    delete_key(ctx, destination, lazy);
    let values: Vec<Bytes> = rows.into_iter().map(Option::unwrap_or_default).collect();
    push_elements(ctx, destination, End::Tail, &values, true)?;
    if let Some(access) = kept_access {
        let now = ctx.now().unix_ms;
        if let Some(obj) = ctx.db().get_mut(destination, now) {
            obj.access = access;
        }
    }
    ctx.key_modified(destination);
    ctx.notify(crate::notify::class::LIST, "sortstore", destination);
    Ok(Reply::Int(count))
}

#[cfg(test)]
mod tests;
