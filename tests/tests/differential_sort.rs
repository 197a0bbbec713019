//! Differential test of SORT and SORT_RO: Keel against a real
//! `redis-server` (7.0), the same generated sequences sent to both and
//! the replies compared byte for byte, in RESP2 or RESP3.
//!
//! Each case fills a list, a set and a sorted set (small ones in compact
//! encodings, sometimes hundreds of elements) from a pool of numbers,
//! words and values `strtod` refuses, and the keys BY and GET patterns
//! name: strings `w_*` (repeated values: ties), `u_*` (a distinct value per
//! element), `g_*`, and hashes `h_*` with fields `f` and `g`. Then random
//! SORT / SORT_RO calls with every option, valid or not, interleaved with
//! writes; each STORE is followed by LRANGE, TYPE and TTL of the
//! destination.
//!
//! Where Redis's order is its hash table's, the reply is compared as a
//! multiset (`Check::Unordered`): a set sorted BY a constant (no sorting)
//! without STORE, and ALPHA BY a pattern with ties over a set or a sorted
//! set (ties keep the load order, the table's order in Redis). ALPHA BY a
//! pattern with ties and LIMIT is generated with `u_*` only: Redis then
//! uses its own partial quicksort, whose order among ties is its own.
//!
//! Outside CI a missing `redis-server` makes the test print "SKIPPED:
//! redis-server not found" on stderr and pass; with CI=true it fails.

use keel_tests::differ::Differ;
use keel_tests::gen::{Check, Cmd};
use keel_tests::{KeelServer, RedisServer};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};
use proptest::test_runner::TestCaseError;

/// Cases of generated sequences. `KEEL_DIFF_CASES=n` runs more.
const CASES: u32 = 96;
const MAX_SEQUENCE_LEN: usize = 30;

/// Numbers as `strtod` reads them (and Rust's parser alike).
const NUMBERS: &[&str] = &[
    "1", "2", "3", "10", "-1", "-3", "0", "-0", "1.5", "3.5", "007", " 4", "0x10", "0x1.8p1",
    "1e3", "inf", "-inf", "", "+5", ".5",
];

/// Words: sorted with ALPHA, refused by a numeric sort.
///
/// Not "1e400" nor "1e-310": Redis 7.0 tests `errno` after `strtod`
/// without clearing it first, so once a SORT met a value out of range,
/// later numeric SORTs of non-integer strings fail too, until some other
/// command happens to clear `errno` (ZADD does). Keel refuses out-of-range
/// values only where they are (the engine's tests cover them).
const WORDS: &[&str] = &[
    "a", "b", "B", "ab", "a b", "_", "z", "\u{e9}", "1a", "4 ", "nan",
];

const LIMITS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-5",
    "100",
    "9223372036854775807",
    "-9223372036854775808",
    "abc",
    "1.5",
];

/// BY patterns: with ties, unique, hash fields, missing keys, constants.
const BY_PATTERNS: &[&str] = &[
    "w_*",
    "w_*",
    "u_*",
    "h_*->f",
    "h_*->g",
    "h_*->none",
    "w_*->f",
    "*",
    "nosort",
    "#",
    "x_*",
];

const GET_PATTERNS: &[&str] = &[
    "#",
    "g_*",
    "h_*->f",
    "h_*->g",
    "h_*->none",
    "nostar",
    "w_*",
    "u_*",
    "g_*x",
    "*",
];

/// Keys sorted: the list, the set, the sorted set, a string, a missing key.
const SOURCES: &[&str] = &[
    "src_l", "src_s", "src_z", "src_l", "src_s", "src_z", "str", "none",
];
const DESTINATIONS: &[&str] = &["dst", "dst", "str", "none2"];

fn word(w: &str) -> Vec<u8> {
    w.as_bytes().to_vec()
}

fn cmd_with(args: Vec<Vec<u8>>, check: Check) -> Cmd {
    Cmd {
        args,
        check,
        fresh_clock: false,
    }
}

fn cmd(args: Vec<Vec<u8>>) -> Cmd {
    cmd_with(args, Check::Exact)
}

fn pick(pool: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    prop::sample::select(pool).prop_map(word).boxed()
}

fn all_elements() -> Vec<&'static str> {
    NUMBERS.iter().chain(WORDS).copied().collect()
}

/// An element: mostly a number, so that numeric sorts often succeed.
fn element() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![4 => pick(NUMBERS), 1 => pick(WORDS)].boxed()
}

// ---- data ----

/// The `u_*` keys: one distinct value per element of the pools and per
/// element [`bulk_fill`] writes (numbers and, as strings, in the same
/// order).
fn unique_weights() -> Cmd {
    let mut args = vec![word("MSET")];
    for (i, e) in all_elements().iter().enumerate() {
        args.push(format!("u_{e}").into_bytes());
        args.push(format!("{:03}", (i * 7) % 100).into_bytes());
    }
    for n in 0..BULK_RANGE {
        args.push(format!("u_{n}").into_bytes());
        args.push((BULK_RANGE + (n * 7) % BULK_RANGE).to_string().into_bytes());
    }
    cmd(args)
}

/// [`bulk_fill`]'s elements are the numbers below this.
const BULK_RANGE: usize = 1000;

fn fill(name: &'static str, key: &'static str, items: Vec<Vec<u8>>) -> Cmd {
    cmd([vec![word(name), word(key)], items].concat())
}

fn zadd(items: Vec<(i8, Vec<u8>)>) -> Cmd {
    let mut args = vec![word("ZADD"), word("src_z")];
    for (score, member) in items {
        args.push(score.to_string().into_bytes());
        args.push(member);
    }
    cmd(args)
}

/// Many elements at once: big encodings on both sides.
fn bulk_fill() -> BoxedStrategy<Cmd> {
    (0u8..3, 100usize..300)
        .prop_map(|(kind, n)| {
            let items = (0..n).map(|i| (i * 37 % BULK_RANGE).to_string().into_bytes());
            match kind {
                0 => fill("RPUSH", "src_l", items.collect()),
                1 => fill("SADD", "src_s", items.collect()),
                _ => zadd(items.map(|m| ((m.len() % 3) as i8, m)).collect()),
            }
        })
        .boxed()
}

fn writes() -> Vec<(u32, BoxedStrategy<Cmd>)> {
    let items = || prop::collection::vec(element(), 1..8);
    let rpush = items().prop_map(|v| fill("RPUSH", "src_l", v));
    let sadd = items().prop_map(|v| fill("SADD", "src_s", v));
    let zadd = prop::collection::vec((-2i8..3, element()), 1..8).prop_map(zadd);
    let srem = items().prop_map(|v| fill("SREM", "src_s", v));
    let weight = |prefix: &'static str| {
        (element(), prop_oneof![pick(NUMBERS), pick(WORDS)]).prop_map(move |(e, v)| {
            let key = [prefix.as_bytes(), &e].concat();
            cmd(vec![word("SET"), key, v])
        })
    };
    let hset = (element(), element(), element()).prop_map(|(e, f, g)| {
        let key = [b"h_".as_slice(), &e].concat();
        cmd(vec![word("HSET"), key, word("f"), f, word("g"), g])
    });
    let wrong_type = element().prop_map(|e| {
        let key = [b"w_".as_slice(), &e].concat();
        cmd(vec![word("RPUSH"), key, word("1")])
    });
    let del = pick(&["src_l", "src_s", "src_z", "dst"]).prop_map(|k| cmd(vec![word("DEL"), k]));
    let set_str = pick(&["x", "5"]).prop_map(|v| cmd(vec![word("SET"), word("str"), v]));
    let expire = cmd(vec![word("EXPIRE"), word("dst"), word("1000")]);
    vec![
        (4, rpush.boxed()),
        (4, sadd.boxed()),
        (4, zadd.boxed()),
        (1, srem.boxed()),
        (4, weight("w_").boxed()),
        (2, weight("g_").boxed()),
        (2, hset.boxed()),
        (1, wrong_type.boxed()),
        (1, del.boxed()),
        (1, set_str.boxed()),
        (1, Just(expire).boxed()),
        (1, bulk_fill()),
    ]
}

// ---- SORT ----

/// One option of SORT, as arguments.
fn option() -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        3 => pick(&["ASC", "DESC", "desc", "ALPHA", "alpha"]).prop_map(|w| vec![w]),
        3 => (pick(LIMITS), pick(LIMITS)).prop_map(|(o, c)| vec![word("LIMIT"), o, c]),
        4 => pick(BY_PATTERNS).prop_map(|p| vec![word("BY"), p]),
        4 => pick(GET_PATTERNS).prop_map(|p| vec![word("GET"), p]),
        2 => pick(DESTINATIONS).prop_map(|d| vec![word("STORE"), d]),
        1 => pick(&["FOO", "LIMIT", "BY", "GET", "STORE"]).prop_map(|w| vec![w]),
    ]
    .boxed()
}

/// What the comparison needs to know of a SORT call's options.
#[derive(Default)]
struct Shape {
    alpha: bool,
    dont_sort: bool,
    by: Option<Vec<u8>>,
    limit: bool,
    store: Option<Vec<u8>>,
}

impl Shape {
    /// As SORT reads the options (errors do not matter: they are exact).
    fn of(options: &[Vec<u8>]) -> Shape {
        let mut shape = Shape::default();
        let mut i = 0;
        while i < options.len() {
            let w = options[i].to_ascii_uppercase();
            let next = options.get(i + 1).cloned();
            match (w.as_slice(), next) {
                (b"ALPHA", _) => shape.alpha = true,
                (b"LIMIT", _) => {
                    shape.limit = true;
                    i += 2;
                }
                (b"BY", Some(p)) => {
                    shape.dont_sort |= !p.contains(&b'*');
                    shape.by = Some(p);
                    i += 1;
                }
                (b"STORE", Some(d)) => {
                    shape.store = Some(d);
                    i += 1;
                }
                (b"GET", _) => i += 1,
                _ => {}
            }
            i += 1;
        }
        shape
    }

    /// ALPHA by a pattern whose values may tie (or be missing).
    fn alpha_ties(&self) -> bool {
        let unique = self.by.as_deref() == Some(b"u_*".as_slice());
        self.alpha && !self.dont_sort && self.by.is_some() && !unique
    }
}

/// SORT or SORT_RO on a source with options, then (after STORE) the
/// destination's contents, type and TTL.
fn sort_call() -> BoxedStrategy<Vec<Cmd>> {
    (
        pick(&["SORT", "SORT", "SORT", "SORT_RO"]),
        pick(SOURCES),
        prop::collection::vec(option(), 0..5),
    )
        .prop_map(|(name, source, options)| {
            let mut options: Vec<Vec<u8>> = options.concat();
            if Shape::of(&options).alpha_ties() && Shape::of(&options).limit {
                // Redis's partial quicksort orders ties its own way.
                for i in 1..options.len() {
                    if options[i - 1].eq_ignore_ascii_case(b"BY") && options[i].contains(&b'*') {
                        options[i] = word("u_*");
                    }
                }
            }
            let shape = Shape::of(&options);
            if source == b"src_s" && shape.dont_sort && shape.store.is_none() {
                // The window would be over the hash table's order.
                options = without_limit(options);
            }
            let shape = Shape::of(&options);
            let unordered = match source.as_slice() {
                b"src_s" => (shape.dont_sort && shape.store.is_none()) || shape.alpha_ties(),
                b"src_z" => shape.alpha_ties(),
                _ => false,
            };
            let check = if unordered {
                Check::Unordered
            } else {
                Check::Exact
            };
            let mut cmds = vec![cmd_with(
                [vec![name.clone(), source], options].concat(),
                check,
            )];
            if let Some(dst) = shape.store.filter(|_| name == b"SORT") {
                cmds.push(cmd_with(
                    vec![word("LRANGE"), dst.clone(), word("0"), word("-1")],
                    check,
                ));
                cmds.push(cmd(vec![word("TYPE"), dst.clone()]));
                cmds.push(cmd(vec![word("TTL"), dst.clone()]));
                if unordered {
                    // Its order is not comparable: later commands must not see it.
                    cmds.push(cmd(vec![word("DEL"), dst]));
                }
            }
            cmds
        })
        .boxed()
}

/// The options without their LIMIT clauses.
fn without_limit(options: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut kept = Vec::new();
    let mut i = 0;
    while i < options.len() {
        if options[i].eq_ignore_ascii_case(b"LIMIT") && i + 2 < options.len() {
            i += 3;
        } else {
            kept.push(options[i].clone());
            i += 1;
        }
    }
    kept
}

fn step() -> BoxedStrategy<Vec<Cmd>> {
    let mut arms: Vec<(u32, BoxedStrategy<Vec<Cmd>>)> = writes()
        .into_iter()
        .map(|(w, s)| (w, s.prop_map(|c| vec![c]).boxed()))
        .collect();
    arms.push((30, sort_call()));
    Union::new_weighted(arms).boxed()
}

/// A case: the initial data, then steps.
fn case() -> impl Strategy<Value = (bool, Vec<Cmd>, Vec<Cmd>)> {
    let items = || prop::collection::vec(element(), 1..12);
    let setup = (
        items(),
        items(),
        prop::collection::vec((-2i8..3, element()), 1..12),
        prop::collection::vec((element(), prop_oneof![pick(NUMBERS), pick(WORDS)]), 0..12),
    )
        .prop_map(|(list, set, zset, weights)| {
            let mut cmds = vec![
                unique_weights(),
                fill("RPUSH", "src_l", list),
                fill("SADD", "src_s", set),
                zadd(zset),
                cmd(vec![word("SET"), word("str"), word("x")]),
            ];
            for (e, v) in weights {
                cmds.push(cmd(vec![[b"w_".as_slice(), &e].concat(), v]));
                let last = cmds.last_mut().expect("just pushed");
                last.args.insert(0, word("SET"));
            }
            cmds
        });
    (
        any::<bool>(),
        setup,
        prop::collection::vec(step(), 1..=MAX_SEQUENCE_LEN).prop_map(|s| s.concat()),
    )
}

fn run_case(
    keel: &KeelServer,
    redis: &RedisServer,
    resp3: bool,
    setup: &[Cmd],
    cmds: &[Cmd],
) -> Result<(), TestCaseError> {
    let mut differ =
        Differ::start(keel.addr(), redis.addr(), resp3).map_err(TestCaseError::fail)?;
    for cmd in setup.iter().chain(cmds) {
        differ.run(cmd).map_err(TestCaseError::fail)?;
    }
    Ok(())
}

#[test]
fn sort_sequences_match_redis() {
    let test = "sort_sequences_match_redis";
    let Some((keel, redis)) = keel_tests::differ::servers(test) else {
        return;
    };
    let mut runner = keel_tests::differ::runner(CASES, 2_000);
    let result = runner.run(&case(), |(resp3, setup, cmds)| {
        run_case(&keel, &redis, resp3, &setup, &cmds)
    });
    if let Err(e) = result {
        panic!("Keel and Redis differ:\n{e}");
    }
}
