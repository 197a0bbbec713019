//! proptest generators of Redis commands for the differential test: the
//! string and keyspace commands with their options, valid or not, plus
//! wrong-arity, bad-argument and unknown-command cases.
//!
//! The pools are chosen so that the same command sequence gives the same
//! replies on any correct server, whatever the timing (see the comment at
//! the top of `tests/differential.rs`):
//! - relative expiry times are all whole seconds and at least 1000 s (or
//!   zero/negative, which delete at once), so nothing expires mid-test and
//!   no two relative expiries are within a second of each other;
//! - absolute expiry times are fixed: far future (2100) or far past, and
//!   never past for SET (such a key lingers until active expiry: DBSIZE
//!   would depend on timing);
//! - INCRBYFLOAT increments are dyadic decimals (multiples of 1/4), exact in
//!   binary, so the result does not depend on the float width (the runner
//!   also skips INCRBYFLOAT on keys holding other numbers);
//! - no SETRANGE offset can build a huge string (big offsets are errors).

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};

/// How the replies of Keel and Redis to one command are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Byte for byte.
    Exact,
    /// Integers that are both >= 0 may differ by up to this much (TTL,
    /// PTTL, EXPIRETIME, PEXPIRETIME); anything else byte for byte.
    Within(i64),
    /// An array compared as a sorted list (KEYS: the order is the hash
    /// table's).
    Unordered,
    /// A full SCAN iteration: the set of keys seen is compared, not the
    /// cursors or the batches.
    FullScan,
}

/// One command to send to both servers.
#[derive(Clone)]
pub struct Cmd {
    pub args: Vec<Vec<u8>>,
    pub check: Check,
    /// Wait a few milliseconds before sending: EXPIRE ... GT/LT compares the
    /// new expiry with the old one, and two relative expiries set within the
    /// same millisecond would tie on one server and not on the other.
    pub fresh_clock: bool,
}

/// Shown as text (proptest prints failing inputs with `Debug`).
impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: Vec<String> = self
            .args
            .iter()
            .map(|a| format!("{:?}", String::from_utf8_lossy(a)))
            .collect();
        write!(f, "{}", shown.join(" "))
    }
}

const KEYS: &[&str] = &["a", "b", "c", "n"];

const VALUES: &[&[u8]] = &[
    b"",
    b"v",
    b"hello",
    b"foo bar",
    b"0",
    b"1",
    b"-1",
    b"42",
    b"007",
    b" 5",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"9223372036854775808",
    b"1.5",
    b"-3.75",
    b"1e3",
    b"inf",
    b"abc",
    b"\x00\xff\r\n",
    // Longer than 44 bytes: Redis keeps it "raw" rather than "embstr".
    b"0123456789012345678901234567890123456789012345678",
];

/// Integer arguments: valid, at the limits, and not integers at all.
const INTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "7",
    "100",
    "-25",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "1.5",
    "abc",
    "",
    " 1",
    "+1",
    "01",
];

/// INCRBYFLOAT increments: exact in binary, plus invalid ones.
const FLOATS: &[&str] = &[
    "0.5", "-1.25", "3", "0.75", "-0.25", "1e2", "1.5e1", "+2", "abc", "", "inf", "-inf", "nan",
    "1.", ".5", "0x10",
];

/// Relative expiries in seconds (multiply by 1000 for milliseconds).
const REL_SECONDS: &[&str] = &[
    "1000",
    "2000",
    "100000",
    "0",
    "-1",
    "abc",
    "1.5",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775",
];

const REL_MILLIS: &[&str] = &[
    "1000000",
    "3000000",
    "100000000",
    "0",
    "-1",
    "abc",
    "9223372036854775807",
    "-9223372036854775808",
];

const ABS_SECONDS: &[&str] = &[
    "4102444800",
    "4102448400",
    "1",
    "0",
    "-1",
    "abc",
    "9223372036854775807",
];

const ABS_MILLIS: &[&str] = &[
    "4102444800000",
    "4102448400000",
    "1",
    "0",
    "-1",
    "abc",
    "9223372036854775807",
];

/// SET's absolute expiries: no past time. Redis 7.0 keeps a key SET with a
/// past EXAT/PXAT until lazy or active expiry removes it, so DBSIZE would
/// depend on when the active expiry cycle ran (EXPIREAT and GETEX with a
/// past time delete at once, and keep the past times).
const SET_ABS_SECONDS: &[&str] = &[
    "4102444800",
    "4102448400",
    "0",
    "-1",
    "abc",
    "9223372036854775807",
];

const SET_ABS_MILLIS: &[&str] = &[
    "4102444800000",
    "4102448400000",
    "0",
    "-1",
    "abc",
    "9223372036854775807",
];

/// Offsets and ranges for GETRANGE/SETRANGE/SUBSTR.
const OFFSETS: &[&str] = &[
    "0",
    "1",
    "3",
    "10",
    "-1",
    "-3",
    "-100",
    "100",
    "abc",
    "9223372036854775807",
    "-9223372036854775808",
];

/// SETRANGE offsets: small, negative, or past the 512 MB limit (an error,
/// nothing allocated).
const SETRANGE_OFFSETS: &[&str] = &[
    "0",
    "1",
    "3",
    "12",
    "-1",
    "abc",
    "536870912",
    "9223372036854775807",
];

const DB_INDEXES: &[&str] = &["0", "1", "2", "15", "16", "-1", "abc"];

const PATTERNS: &[&str] = &["*", "a*", "?", "[ab]", "[^a]", "n", "*\\*", "x*", "[a-c]"];

/// Names of every command the generic (random arguments) case may call.
/// Not SETRANGE: random offsets could allocate huge strings. Not SCAN: a
/// random cursor's batch depends on the hash table's layout (SCAN's own
/// case covers its errors).
const NAMES: &[&str] = &[
    "get",
    "set",
    "mget",
    "mset",
    "msetnx",
    "setnx",
    "getset",
    "getdel",
    "getex",
    "incr",
    "decr",
    "incrby",
    "decrby",
    "incrbyfloat",
    "append",
    "strlen",
    "getrange",
    "substr",
    "lcs",
    "setex",
    "psetex",
    "del",
    "unlink",
    "exists",
    "type",
    "rename",
    "renamenx",
    "copy",
    "touch",
    "persist",
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "ttl",
    "pttl",
    "expiretime",
    "pexpiretime",
    "select",
    "dbsize",
    "move",
    "keys",
    "object",
];

/// Arguments for the generic case: keys, option words, and numbers that
/// never set a short expiry nor a past one through SET (4102444800000 is far
/// in the future read as seconds or milliseconds, relative or absolute).
const TOKENS: &[&str] = &[
    "a",
    "b",
    "n",
    "v",
    "0",
    "-1",
    "4102444800000",
    "x",
    "1.5",
    "EX",
    "PX",
    "EXAT",
    "PXAT",
    "NX",
    "XX",
    "GT",
    "LT",
    "GET",
    "KEEPTTL",
    "PERSIST",
    "LEN",
    "IDX",
    "MINMATCHLEN",
    "WITHMATCHLEN",
    "REPLACE",
    "DB",
    "MATCH",
    "COUNT",
    "TYPE",
    "ENCODING",
    "FREQ",
    "ASYNC",
];

const UNKNOWN: &[&str] = &["foo", "GETT", "sets", "", "x y", "get\r\nx", "SETRANGEX"];

fn pick(pool: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    prop::sample::select(pool)
        .prop_map(|s| s.as_bytes().to_vec())
        .boxed()
}

fn key() -> BoxedStrategy<Vec<u8>> {
    pick(KEYS)
}

fn value() -> BoxedStrategy<Vec<u8>> {
    prop::sample::select(VALUES)
        .prop_map(|v| v.to_vec())
        .boxed()
}

fn keys(min: usize, max: usize) -> BoxedStrategy<Vec<Vec<u8>>> {
    prop::collection::vec(key(), min..=max).boxed()
}

/// A command name in lower, upper or mixed case (commands are case-insensitive;
/// errors that echo the name must echo it as sent).
fn name(name: &'static str) -> BoxedStrategy<Vec<u8>> {
    (0..3u8)
        .prop_map(move |style| match style {
            0 => name.to_ascii_lowercase().into_bytes(),
            1 => name.to_ascii_uppercase().into_bytes(),
            _ => name
                .bytes()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
        })
        .boxed()
}

fn exact(args: Vec<Vec<u8>>) -> Cmd {
    Cmd {
        args,
        check: Check::Exact,
        fresh_clock: false,
    }
}

/// `name` followed by the generated argument groups, flattened.
fn command<S>(cmd: &'static str, rest: S) -> BoxedStrategy<Cmd>
where
    S: Strategy<Value = Vec<Vec<u8>>> + 'static,
{
    (name(cmd), rest)
        .prop_map(|(name, rest)| {
            let mut args = vec![name];
            args.extend(rest);
            exact(args)
        })
        .boxed()
}

fn with_check(s: BoxedStrategy<Cmd>, check: Check) -> BoxedStrategy<Cmd> {
    s.prop_map(move |mut c| {
        c.check = check;
        c
    })
    .boxed()
}

fn word(w: &'static str) -> Vec<u8> {
    w.as_bytes().to_vec()
}

/// One option of SET: a flag, or an expiry with its argument.
fn set_option() -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        prop::sample::select(&["NX", "XX", "GET", "KEEPTTL", "nx", "get"][..])
            .prop_map(|w| vec![word(w)]),
        pick(REL_SECONDS).prop_map(|n| vec![word("EX"), n]),
        pick(REL_MILLIS).prop_map(|n| vec![word("PX"), n]),
        pick(SET_ABS_SECONDS).prop_map(|n| vec![word("EXAT"), n]),
        pick(SET_ABS_MILLIS).prop_map(|n| vec![word("PXAT"), n]),
        Just(vec![word("EX")]),
        Just(vec![word("BOGUS")]),
    ]
    .boxed()
}

/// The expiry option of GETEX.
fn getex_option() -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        Just(vec![]),
        Just(vec![word("PERSIST")]),
        pick(REL_SECONDS).prop_map(|n| vec![word("EX"), n]),
        pick(REL_MILLIS).prop_map(|n| vec![word("PX"), n]),
        pick(ABS_SECONDS).prop_map(|n| vec![word("EXAT"), n]),
        pick(ABS_MILLIS).prop_map(|n| vec![word("PXAT"), n]),
        Just(vec![word("PERSIST"), word("EX"), word("1000")]),
        Just(vec![word("EX")]),
    ]
    .boxed()
}

fn expire_flags() -> BoxedStrategy<Vec<Vec<u8>>> {
    prop::collection::vec(
        prop::sample::select(&["NX", "XX", "GT", "LT", "gt", "BAD"][..]),
        0..=2,
    )
    .prop_map(|flags| flags.into_iter().map(word).collect())
    .boxed()
}

/// EXPIRE-family command `cmd` with times from `times`; GT/LT get a fresh clock.
fn expire(cmd: &'static str, times: &'static [&'static str]) -> BoxedStrategy<Cmd> {
    command(
        cmd,
        (key(), pick(times), expire_flags()).prop_map(|(k, t, flags)| {
            let mut args = vec![k, t];
            args.extend(flags);
            args
        }),
    )
    .prop_map(|mut c| {
        c.fresh_clock = c
            .args
            .iter()
            .any(|a| a.eq_ignore_ascii_case(b"GT") || a.eq_ignore_ascii_case(b"LT"));
        c
    })
    .boxed()
}

fn lcs_options() -> BoxedStrategy<Vec<Vec<u8>>> {
    prop::collection::vec(
        prop_oneof![
            Just(vec![word("LEN")]),
            Just(vec![word("IDX")]),
            Just(vec![word("WITHMATCHLEN")]),
            pick(&["0", "1", "2", "-1", "abc"]).prop_map(|n| vec![word("MINMATCHLEN"), n]),
            Just(vec![word("NOPE")]),
        ],
        0..=3,
    )
    .prop_map(|groups| groups.concat())
    .boxed()
}

fn copy_options() -> BoxedStrategy<Vec<Vec<u8>>> {
    (prop::option::of(pick(DB_INDEXES)), any::<bool>())
        .prop_map(|(db, replace)| {
            let mut args = Vec::new();
            if let Some(db) = db {
                args.push(word("DB"));
                args.push(db);
            }
            if replace {
                args.push(word("REPLACE"));
            }
            args
        })
        .boxed()
}

fn string_commands() -> Vec<(u32, BoxedStrategy<Cmd>)> {
    let kv = || (key(), value()).prop_map(|(k, v)| vec![k, v]);
    let pairs = || {
        prop::collection::vec((key(), value()), 1..=3)
            .prop_map(|ps| ps.into_iter().flat_map(|(k, v)| [k, v]).collect::<Vec<_>>())
    };
    let k = || key().prop_map(|k| vec![k]);
    let k_int = || (key(), pick(INTS)).prop_map(|(k, n)| vec![k, n]);
    vec![
        (
            6,
            command(
                "set",
                (key(), value(), prop::collection::vec(set_option(), 0..=2)).prop_map(
                    |(k, v, opts)| {
                        let mut args = vec![k, v];
                        args.extend(opts.concat());
                        args
                    },
                ),
            ),
        ),
        (5, command("get", k())),
        (2, command("mget", keys(1, 4))),
        (2, command("mset", pairs())),
        (1, command("msetnx", pairs())),
        (1, command("setnx", kv())),
        (1, command("getset", kv())),
        (1, command("getdel", k())),
        (
            2,
            command(
                "getex",
                (key(), getex_option()).prop_map(|(k, opt)| [vec![k], opt].concat()),
            ),
        ),
        (3, command("incr", k())),
        (1, command("decr", k())),
        (2, command("incrby", k_int())),
        (1, command("decrby", k_int())),
        (
            2,
            command(
                "incrbyfloat",
                (key(), pick(FLOATS)).prop_map(|(k, f)| vec![k, f]),
            ),
        ),
        (2, command("append", kv())),
        (2, command("strlen", k())),
        (
            2,
            command(
                "getrange",
                (key(), pick(OFFSETS), pick(OFFSETS)).prop_map(|(k, a, b)| vec![k, a, b]),
            ),
        ),
        (
            1,
            command(
                "substr",
                (key(), pick(OFFSETS), pick(OFFSETS)).prop_map(|(k, a, b)| vec![k, a, b]),
            ),
        ),
        (
            2,
            command(
                "setrange",
                (key(), pick(SETRANGE_OFFSETS), value()).prop_map(|(k, o, v)| vec![k, o, v]),
            ),
        ),
        (
            2,
            command(
                "lcs",
                (key(), key(), lcs_options()).prop_map(|(a, b, opts)| [vec![a, b], opts].concat()),
            ),
        ),
        (
            1,
            command(
                "setex",
                (key(), pick(REL_SECONDS), value()).prop_map(|(k, t, v)| vec![k, t, v]),
            ),
        ),
        (
            1,
            command(
                "psetex",
                (key(), pick(REL_MILLIS), value()).prop_map(|(k, t, v)| vec![k, t, v]),
            ),
        ),
    ]
}

fn key_commands() -> Vec<(u32, BoxedStrategy<Cmd>)> {
    let k = || key().prop_map(|k| vec![k]);
    let two = || (key(), key()).prop_map(|(a, b)| vec![a, b]);
    vec![
        (3, command("del", keys(1, 3))),
        (1, command("unlink", keys(1, 3))),
        (3, command("exists", keys(1, 4))),
        (2, command("type", k())),
        (2, command("rename", two())),
        (1, command("renamenx", two())),
        (
            2,
            command(
                "copy",
                (key(), key(), copy_options()).prop_map(|(a, b, opts)| [vec![a, b], opts].concat()),
            ),
        ),
        (1, command("touch", keys(1, 3))),
        (2, command("persist", k())),
        (3, expire("expire", REL_SECONDS)),
        (2, expire("pexpire", REL_MILLIS)),
        (2, expire("expireat", ABS_SECONDS)),
        (1, expire("pexpireat", ABS_MILLIS)),
        (3, with_check(command("ttl", k()), Check::Within(2))),
        (2, with_check(command("pttl", k()), Check::Within(2000))),
        (1, with_check(command("expiretime", k()), Check::Within(2))),
        (
            1,
            with_check(command("pexpiretime", k()), Check::Within(2000)),
        ),
        (
            2,
            command("select", pick(DB_INDEXES).prop_map(|db| vec![db])),
        ),
        (2, command("dbsize", Just(vec![]))),
        (
            1,
            command(
                "flushdb",
                prop_oneof![
                    Just(vec![]),
                    Just(vec![word("ASYNC")]),
                    Just(vec![word("SYNC")]),
                    Just(vec![word("NOW")])
                ],
            ),
        ),
        (
            1,
            command(
                "move",
                (key(), pick(DB_INDEXES)).prop_map(|(k, db)| vec![k, db]),
            ),
        ),
        (
            2,
            with_check(
                command("keys", pick(PATTERNS).prop_map(|p| vec![p])),
                Check::Unordered,
            ),
        ),
        (2, full_scan()),
        (
            2,
            command("object", key().prop_map(|k| vec![word("ENCODING"), k])),
        ),
    ]
}

/// `SCAN 0 [MATCH p] [COUNT n] [TYPE t]`, iterated to the end by the runner
/// (or with an invalid cursor: an error).
fn full_scan() -> BoxedStrategy<Cmd> {
    let options = (
        // An invalid cursor now and then; iteration always starts at 0.
        pick(&["0", "0", "0", "abc", "1.5"]),
        prop::option::of(pick(PATTERNS)),
        prop::option::of(pick(&["1", "2", "10", "0", "-1", "abc"])),
        prop::option::of(pick(&["string", "list", "STRING"])),
    );
    with_check(
        command(
            "scan",
            options.prop_map(|(cursor, pattern, count, kind)| {
                let mut args = vec![cursor];
                for (opt, arg) in [("MATCH", pattern), ("COUNT", count), ("TYPE", kind)] {
                    if let Some(arg) = arg {
                        args.push(word(opt));
                        args.push(arg);
                    }
                }
                args
            }),
        ),
        Check::FullScan,
    )
}

fn error_commands() -> Vec<(u32, BoxedStrategy<Cmd>)> {
    let generic = (
        prop::sample::select(NAMES),
        prop::collection::vec(pick(TOKENS), 0..=5),
    )
        .prop_flat_map(|(cmd, args)| {
            // KEYS lists keys in hash table order.
            let check = if cmd == "keys" {
                Check::Unordered
            } else {
                Check::Exact
            };
            with_check(command(cmd, Just(args)), check)
        });
    let unknown = (pick(UNKNOWN), prop::collection::vec(pick(TOKENS), 0..=3))
        .prop_map(|(name, args)| exact([vec![name], args].concat()));
    vec![(6, generic.boxed()), (1, unknown.boxed())]
}

/// Any one command of the differential test.
pub fn any_command() -> BoxedStrategy<Cmd> {
    let mut arms = string_commands();
    arms.extend(key_commands());
    arms.extend(error_commands());
    Union::new_weighted(arms).boxed()
}

/// A sequence of commands for one test case.
pub fn command_sequence(max_len: usize) -> BoxedStrategy<Vec<Cmd>> {
    prop::collection::vec(any_command(), 1..=max_len).boxed()
}
