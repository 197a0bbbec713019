//! The set type against Redis 7.2's encoding rules, and a model test
//! (BTreeSet) across every conversion.

use super::*;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

fn cfg(intset: usize, entries: usize, value: usize) -> SetConfig {
    SetConfig {
        max_intset_entries: intset,
        max_listpack_entries: entries,
        max_listpack_value: value,
        seed: 7,
    }
}

const DEFAULT: SetConfig = SetConfig {
    max_intset_entries: 512,
    max_listpack_entries: 128,
    max_listpack_value: 64,
    seed: 7,
};

fn set_of(members: &[&str], cfg: &SetConfig) -> SetValue {
    let mut set = SetValue::create(members[0].as_bytes(), members.len(), cfg);
    for m in members {
        set.add(m.as_bytes(), cfg);
    }
    set
}

fn members(set: &SetValue) -> BTreeSet<Vec<u8>> {
    set.to_bytes_vec().into_iter().map(|b| b.to_vec()).collect()
}

#[test]
fn sizes_stay_small() {
    assert_eq!(std::mem::size_of::<SetValue>(), 32);
    assert!(std::mem::size_of::<crate::types::Value>() <= 40);
}

#[test]
fn create_picks_the_encoding_from_the_first_member_and_the_size_hint() {
    let name =
        |first: &str, hint| SetValue::create(first.as_bytes(), hint, &DEFAULT).encoding_name();
    assert_eq!(name("1", 512), "intset");
    assert_eq!(name("1", 513), "hashtable");
    assert_eq!(name("a", 128), "listpack");
    assert_eq!(name("a", 129), "hashtable");
    // "007" and "+1" are not integers to Redis.
    assert_eq!(name("007", 1), "listpack");
    assert_eq!(name("+1", 1), "listpack");
    // The intset limit is checked first: a small integer limit sends an
    // integer to a listpack.
    let small = cfg(2, 128, 64);
    assert_eq!(
        SetValue::create(b"1", 3, &small).encoding_name(),
        "listpack"
    );
}

#[test]
fn intset_grows_into_a_hashtable_past_its_limit() {
    let c = cfg(4, 128, 64);
    let mut set = set_of(&["1", "2", "3", "4"], &c);
    assert_eq!(set.encoding_name(), "intset");
    assert!(!set.add(b"4", &c), "a present member changes nothing");
    assert_eq!(set.encoding_name(), "intset");
    assert!(set.add(b"5", &c));
    assert_eq!(set.encoding_name(), "hashtable");
    assert_eq!(set.len(), 5);
}

#[test]
fn intset_becomes_a_listpack_for_a_string_member_when_everything_fits() {
    let mut set = set_of(&["3", "-10", "200"], &DEFAULT);
    assert!(set.add(b"x", &DEFAULT));
    assert_eq!(set.encoding_name(), "listpack");
    // The integers keep their ascending order, the string comes after.
    let order: Vec<Bytes> = set.to_bytes_vec();
    assert_eq!(order, vec!["-10", "3", "200", "x"]);
}

#[test]
fn intset_becomes_a_hashtable_when_a_listpack_would_not_do() {
    // Too many members for a listpack.
    let c = cfg(512, 3, 64);
    let mut set = set_of(&["1", "2", "3"], &c);
    set.add(b"x", &c);
    assert_eq!(set.encoding_name(), "hashtable");
    // The new member is too long.
    let mut set = set_of(&["1"], &DEFAULT);
    set.add(&[b'x'; 65], &DEFAULT);
    assert_eq!(set.encoding_name(), "hashtable");
    // An integer is too long: -1234 is 5 characters.
    let c = cfg(512, 128, 4);
    let mut set = set_of(&["-1234", "5"], &c);
    set.add(b"ab", &c);
    assert_eq!(set.encoding_name(), "hashtable");
    let mut set = set_of(&["1234", "5"], &c);
    set.add(b"ab", &c);
    assert_eq!(set.encoding_name(), "listpack");
}

#[test]
fn listpack_converts_past_its_limits() {
    let c = cfg(512, 3, 5);
    let mut set = set_of(&["a", "b", "c"], &c);
    assert_eq!(set.encoding_name(), "listpack");
    set.add(b"d", &c);
    assert_eq!(set.encoding_name(), "hashtable");
    let mut set = set_of(&["a"], &c);
    set.add(b"123456", &c);
    assert_eq!(set.encoding_name(), "hashtable");
    // Integers join a listpack as strings, and removals never convert back.
    let mut set = set_of(&["a", "1"], &c);
    set.remove(b"a");
    assert_eq!((set.encoding_name(), set.len()), ("listpack", 1));
    assert!(set.contains(b"1") && !set.contains(b"01"));
}

#[test]
fn maybe_convert_goes_to_hashtable_on_a_big_hint_only() {
    let mut set = set_of(&["1"], &DEFAULT);
    set.maybe_convert(512, &DEFAULT);
    assert_eq!(set.encoding_name(), "intset");
    set.maybe_convert(513, &DEFAULT);
    assert_eq!(set.encoding_name(), "hashtable");
    let mut set = set_of(&["a"], &DEFAULT);
    set.maybe_convert(129, &DEFAULT);
    assert_eq!(set.encoding_name(), "hashtable");
}

#[test]
fn convert_to_intset_if_fits_needs_only_integers_within_the_limit() {
    let mut set = set_of(&["a", "1", "2"], &DEFAULT);
    set.remove(b"a");
    set.convert_to_intset_if_fits(&DEFAULT);
    assert_eq!(set.encoding_name(), "intset");
    let mut set = set_of(&["a", "1"], &DEFAULT);
    set.convert_to_intset_if_fits(&DEFAULT);
    assert_eq!(set.encoding_name(), "listpack");
    let c = cfg(1, 128, 64);
    let mut set = set_of(&["a", "1", "2"], &c);
    set.remove(b"a");
    set.convert_to_intset_if_fits(&c);
    assert_eq!(set.encoding_name(), "listpack");
}

#[test]
fn members_compare_across_encodings() {
    let a = set_of(&["1", "2"], &DEFAULT);
    let mut b = set_of(&["x", "1", "2"], &DEFAULT);
    assert_ne!(a, b);
    b.remove(b"x");
    assert_eq!(a, b);
    assert_eq!(
        (a.encoding_name(), b.encoding_name()),
        ("intset", "listpack")
    );
    assert!(b.contains_member(Member::Int(2)) && a.contains_member(Member::Bytes(b"2")));
}

#[test]
fn random_draws_cover_the_set_and_distinct_draws_are_distinct() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for set in [
        set_of(&["1", "2", "3", "4", "5", "6"], &DEFAULT),
        set_of(&["a", "b", "c", "d", "e", "f"], &DEFAULT),
        set_of(&["a", "b", "c", "d", "e", "f"], &cfg(0, 0, 0)),
    ] {
        let seen: BTreeSet<Bytes> = set
            .random_members(200, &mut rng)
            .into_iter()
            .map(Member::to_bytes)
            .collect();
        assert_eq!(seen.len(), 6, "{}", set.encoding_name());
        for count in 0..=7 {
            let drawn: Vec<Bytes> = set
                .random_distinct(count, &mut rng)
                .into_iter()
                .map(Member::to_bytes)
                .collect();
            let unique: BTreeSet<&Bytes> = drawn.iter().collect();
            assert_eq!((drawn.len(), unique.len()), (count.min(6), count.min(6)));
        }
    }
    let names: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let big = set_of(&refs, &DEFAULT);
    let drawn = big.random_distinct(10, &mut rng);
    let unique: BTreeSet<Bytes> = drawn.into_iter().map(Member::to_bytes).collect();
    assert_eq!(unique.len(), 10, "drawn one by one from the table");
}

#[test]
fn big_pops_rebuild_the_set_in_redis_encoding() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let names: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut set = set_of(&refs, &DEFAULT);
    assert_eq!(set.encoding_name(), "hashtable");
    let before = members(&set);
    let popped = set.pop_random(190, &mut rng, &DEFAULT);
    assert_eq!((popped.len(), set.len()), (190, 10));
    assert_eq!(
        set.encoding_name(),
        "listpack",
        "the 10 kept fit a listpack"
    );
    let mut after = members(&set);
    after.extend(popped.iter().map(|b| b.to_vec()));
    assert_eq!(after, before, "every member is either popped or kept");
    // A small pop removes members one by one: the encoding stays.
    let popped = set_of(&refs, &DEFAULT).pop_random(3, &mut rng, &DEFAULT);
    assert_eq!(popped.len(), 3);
    let mut ints = set_of(&["1", "2", "3", "4", "5", "6"], &DEFAULT);
    ints.pop_random(5, &mut rng, &DEFAULT);
    assert_eq!((ints.encoding_name(), ints.len()), ("intset", 1));
    assert_eq!(ints.pop_random(9, &mut rng, &DEFAULT).len(), 1);
    assert!(ints.is_empty());
}

#[test]
fn scan_gives_compact_sets_whole_and_walks_a_table() {
    let set = set_of(&["a", "b"], &DEFAULT);
    let mut seen = Vec::new();
    assert_eq!(set.scan(99, 1, |m| seen.push(m.to_bytes())), 0);
    assert_eq!(seen.len(), 2);
    let names: Vec<String> = (0..500).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let set = set_of(&refs, &DEFAULT);
    let (mut cursor, mut calls, mut seen) = (0, 0, BTreeSet::new());
    loop {
        cursor = set.scan(cursor, 10, |m| {
            seen.insert(m.to_bytes());
        });
        calls += 1;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
    assert!(calls > 10, "a batch at a time: {calls} calls");
}

#[test]
fn memory_is_accounted_per_encoding() {
    let ten = set_of(
        &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        &DEFAULT,
    );
    assert_eq!((ten.mem_usage(), ten.free_effort()), (0, 1), "kept inline");
    let names: Vec<String> = (0..100).map(|i| format!("member:{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let lp = set_of(&refs, &DEFAULT);
    assert_eq!(lp.encoding_name(), "listpack");
    assert!(lp.mem_usage() > 100 * 8 && lp.mem_usage() < 100 * 12);
    let table = set_of(&refs, &cfg(0, 0, 0));
    assert_eq!(table.free_effort(), 100);
    assert!(table.mem_usage() > lp.mem_usage());
}

/// A member for the model test: small integers, big ones, and strings
/// of a few lengths (some just past the listpack value limit of 8 used).
fn member() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (-20i64..20).prop_map(|v| v.to_string().into_bytes()),
        prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(70_000),
            Just(-3_000_000_000)
        ]
        .prop_map(|v| v.to_string().into_bytes()),
        "[a-d]{1,2}".prop_map(String::into_bytes),
        "[a-z]{7,10}".prop_map(String::into_bytes),
        Just(b"007".to_vec()),
        Just(Vec::new()),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Add(Vec<u8>),
    Remove(Vec<u8>),
    Pop(usize),
    MaybeConvert(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => member().prop_map(Op::Add),
        3 => member().prop_map(Op::Remove),
        1 => (0usize..6).prop_map(Op::Pop),
        1 => (0usize..20).prop_map(Op::MaybeConvert),
    ]
}

/// The encoding a set may have given its members, under `c`: an intset
/// only holds integers within its limit, a listpack only what fits one.
fn encoding_is_consistent(set: &SetValue, model: &BTreeSet<Vec<u8>>, c: &SetConfig) -> bool {
    match set.encoding_name() {
        "intset" => {
            model.len() <= c.max_intset_entries
                && model.iter().all(|m| crate::util::parse_i64(m).is_some())
        }
        "listpack" => {
            model.len() <= c.max_listpack_entries
                && model.iter().all(|m| m.len() <= c.max_listpack_value)
        }
        _ => true,
    }
}

proptest! {
    #[test]
    fn behaves_as_a_btreeset_across_conversions(
        limits in (0usize..12, 0usize..12, 0usize..12),
        ops in proptest::collection::vec(op(), 1..120),
        seed in any::<u64>(),
    ) {
        let c = cfg(limits.0, limits.1, limits.2);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut set = SetValue::new_intset();
        let mut model = BTreeSet::new();
        for op in ops {
            match op {
                Op::Add(m) => prop_assert_eq!(set.add(&m, &c), model.insert(m)),
                Op::Remove(m) => prop_assert_eq!(set.remove(&m), model.remove(&m)),
                Op::Pop(n) => {
                    for m in set.pop_random(n, &mut rng, &c) {
                        prop_assert!(model.remove(m.as_ref()), "popped a non-member");
                    }
                }
                Op::MaybeConvert(hint) => set.maybe_convert(hint, &c),
            }
            prop_assert_eq!(set.len(), model.len());
            prop_assert!(encoding_is_consistent(&set, &model, &c), "{}", set.encoding_name());
        }
        prop_assert_eq!(&members(&set), &model);
        for m in &model {
            prop_assert!(set.contains(m));
        }
        let clone = set.clone();
        prop_assert!(clone == set);
    }
}
