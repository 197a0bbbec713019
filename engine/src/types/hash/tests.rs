use super::*;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

fn limits(entries: u64, value: u64) -> HashLimits {
    HashLimits {
        max_listpack_entries: entries,
        max_listpack_value: value,
        table_seed: 7,
    }
}

fn pairs(hash: &HashValue) -> Vec<(Vec<u8>, Vec<u8>)> {
    hash.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()
}

fn sorted_pairs(hash: &HashValue) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut all = pairs(hash);
    all.sort();
    all
}

#[test]
fn value_stays_small() {
    // A hash is one word of tag plus a boxed buffer and a count: it must
    // not make `Value` (and so every key of the keyspace) any bigger.
    assert!(std::mem::size_of::<HashValue>() <= 24);
}

#[test]
fn converts_past_the_entry_limit_and_never_back() {
    let lim = limits(3, 64);
    let mut h = HashValue::new();
    for i in 0..3 {
        assert!(h.set(format!("f{i}").as_bytes(), b"v", &lim));
    }
    assert_eq!(h.encoding_name(), "listpack");
    // Updating an existing field does not add an entry.
    assert!(!h.set(b"f0", b"w", &lim));
    assert_eq!(h.encoding_name(), "listpack");
    assert!(h.set(b"f3", b"v", &lim));
    assert_eq!(h.encoding_name(), "hashtable");
    for i in 0..4 {
        assert!(h.remove(format!("f{i}").as_bytes()));
    }
    assert!(h.is_empty());
    assert_eq!(h.encoding_name(), "hashtable");
    assert_eq!(h.free_effort(), 0);
}

#[test]
fn converts_on_a_long_field_or_value_before_storing_it() {
    let lim = limits(128, 4);
    let mut h = HashValue::new();
    h.set(b"abcd", b"1234", &lim);
    assert_eq!(h.encoding_name(), "listpack");
    assert_eq!(h.free_effort(), 1);
    let mut by_value = h.clone();
    by_value.set(b"a", b"12345", &lim);
    assert_eq!(by_value.encoding_name(), "hashtable");
    let mut by_field = h.clone();
    by_field.set(b"abcde", b"1", &lim);
    assert_eq!(by_field.encoding_name(), "hashtable");
    assert_eq!(
        by_field.get(b"abcd").map(|v| v.to_vec()),
        Some(b"1234".to_vec())
    );
    assert_eq!(by_field.free_effort(), 2);
}

#[test]
fn a_lowered_limit_applies_at_the_next_write() {
    let mut h = HashValue::new();
    for i in 0..10 {
        h.set(format!("f{i}").as_bytes(), b"v", &limits(128, 64));
    }
    h.remove(b"f0");
    assert_eq!(h.encoding_name(), "listpack", "a removal never converts");
    h.set(b"f1", b"w", &limits(5, 64));
    assert_eq!(h.encoding_name(), "hashtable", "an update converts");
}

#[test]
fn equality_ignores_encoding_and_order() {
    let mut small = HashValue::new();
    let mut big = HashValue::new();
    small.set(b"a", b"1", &limits(128, 64));
    small.set(b"b", b"x", &limits(128, 64));
    big.set(b"b", b"x", &limits(0, 64));
    big.set(b"a", b"1", &limits(0, 64));
    assert_eq!(big.encoding_name(), "hashtable");
    assert_eq!(small, big);
    big.set(b"a", b"2", &limits(0, 64));
    assert_ne!(small, big);
    assert_eq!(big.clone(), big);
}

#[test]
fn memory_follows_the_contents() {
    let lim = limits(128, 64);
    let mut h = HashValue::new();
    assert_eq!(h.mem_usage(), 0);
    h.set(b"field", b"value", &lim);
    assert_eq!(h.mem_usage(), 12, "one header byte per item");
    h.set(b"n", b"12345678", &lim);
    assert_eq!(h.mem_usage(), 12 + 2 + 5, "an integer in four bytes");
    h.remove(b"field");
    assert_eq!(h.mem_usage(), 7);
    let mut t = HashValue::new();
    t.set(b"field", b"value", &limits(0, 64));
    let one = t.mem_usage();
    t.set(b"field", b"a longer value", &limits(0, 64));
    assert_eq!(t.mem_usage(), one + 9);
}

#[test]
fn random_draws_stay_in_the_hash() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for lim in [limits(128, 64), limits(0, 64)] {
        let mut h = HashValue::new();
        assert!(h.random_pair(&mut rng).is_none());
        assert!(h.random_pairs(5, &mut rng).is_empty());
        for i in 0..40 {
            h.set(format!("f{i}").as_bytes(), format!("{i}").as_bytes(), &lim);
        }
        let fields: BTreeSet<Vec<u8>> = pairs(&h).into_iter().map(|(f, _)| f).collect();
        let drawn = h.random_pairs(500, &mut rng);
        assert_eq!(drawn.len(), 500);
        let seen: BTreeSet<Vec<u8>> = drawn.iter().map(|(f, _)| f.to_vec()).collect();
        assert_eq!(seen, fields, "500 draws from 40 see every field");
        let singles: BTreeSet<Vec<u8>> = (0..500)
            .filter_map(|_| h.random_pair(&mut rng))
            .map(|(f, _)| f.to_vec())
            .collect();
        assert_eq!(singles, fields, "one at a time too");
        for count in [1, 5, 13, 14, 39, 40, 100] {
            let picked = h.distinct_random_pairs(count, &mut rng);
            let distinct: BTreeSet<Vec<u8>> = picked.iter().map(|(f, _)| f.to_vec()).collect();
            assert_eq!(picked.len(), count.min(40));
            assert_eq!(distinct.len(), picked.len());
            assert!(distinct.is_subset(&fields));
            for (f, v) in picked {
                assert_eq!(h.get(&f), Some(v));
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Set(u8, Vec<u8>),
    Remove(u8),
}

fn field_name(i: u8) -> Vec<u8> {
    // Some fields are canonical integers, stored as integers in a listpack.
    match i % 3 {
        0 => i.to_string().into_bytes(),
        1 => format!("f{i}").into_bytes(),
        _ => format!("0{i}").into_bytes(),
    }
}

fn value_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        (0i64..300).prop_map(|n| n.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..12),
        proptest::collection::vec(any::<u8>(), 0..300),
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..24, value_strategy()).prop_map(|(f, v)| Op::Set(f, v)),
        1 => (0u8..24).prop_map(Op::Remove),
    ]
}

proptest! {
    /// The hash against a Vec of pairs in insertion order (what a listpack
    /// keeps), across conversions: the same pairs always, the same order
    /// while compact, and the encoding Redis would have.
    #[test]
    fn behaves_like_an_ordered_model(
        ops in proptest::collection::vec(op_strategy(), 0..120),
        max_entries in 0u64..20,
        max_value in 0u64..200,
    ) {
        let lim = limits(max_entries, max_value);
        let mut hash = HashValue::new();
        let mut model: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut converted = false;
        for op in ops {
            match op {
                Op::Set(i, value) => {
                    let field = field_name(i);
                    let long = field.len() as u64 > max_value || value.len() as u64 > max_value;
                    let at = model.iter().position(|(f, _)| *f == field);
                    let added = hash.set(&field, &value, &lim);
                    prop_assert_eq!(added, at.is_none());
                    match at {
                        Some(at) => model[at].1 = value,
                        None => model.push((field, value)),
                    }
                    converted |= long || model.len() as u64 > max_entries;
                }
                Op::Remove(i) => {
                    let field = field_name(i);
                    let at = model.iter().position(|(f, _)| *f == field);
                    prop_assert_eq!(hash.remove(&field), at.is_some());
                    if let Some(at) = at {
                        model.remove(at);
                    }
                }
            }
            let expected = if converted { "hashtable" } else { "listpack" };
            prop_assert_eq!(hash.encoding_name(), expected);
            prop_assert_eq!(hash.len(), model.len());
        }
        if converted {
            let mut sorted = model.clone();
            sorted.sort();
            prop_assert_eq!(sorted_pairs(&hash), sorted);
        } else {
            prop_assert_eq!(pairs(&hash), model.clone());
        }
        for (field, value) in &model {
            prop_assert_eq!(hash.get(field).map(|v| v.to_vec()), Some(value.clone()));
            prop_assert_eq!(hash.get(field).map(|v| v.len()), Some(value.len()));
        }
        for i in 0..24u8 {
            let field = field_name(i);
            let present = model.iter().any(|(f, _)| *f == field);
            prop_assert_eq!(hash.contains(&field), present);
        }
    }

    /// A table scanned in small steps returns every pair at least once.
    #[test]
    fn a_table_scan_sees_every_pair(n in 1usize..200, count in 1usize..20) {
        let mut hash = HashValue::new();
        for i in 0..n {
            hash.set(format!("f{i}").as_bytes(), b"v", &limits(0, 64));
        }
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        loop {
            cursor = hash.scan(cursor, count, |(f, _)| { seen.insert(f.to_vec()); });
            if cursor == 0 { break; }
        }
        prop_assert_eq!(seen.len(), n);
    }
}
