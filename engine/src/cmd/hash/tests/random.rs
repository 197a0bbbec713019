//! HRANDFIELD: argument errors, reply shapes, distinct and repeated draws.

use super::*;

#[test]
fn hrandfield_argument_errors() {
    let (mut h, c) = harness();
    call(&mut h, c, &["HSET", "h", "a", "1"]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["HRANDFIELD", "h", "x"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["HRANDFIELD", "nokey", "x"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["HRANDFIELD", "h", "-9223372036854775808"],
            "ERR value is out of range, value must between -9223372036854775807 and \
9223372036854775807",
        ),
        (&["HRANDFIELD", "h", "1", "withvalue"], "ERR syntax error"),
        (
            &["HRANDFIELD", "h", "1", "WITHVALUES", "x"],
            "ERR syntax error",
        ),
        (&["HRANDFIELD", "nokey", "1", "x"], "ERR syntax error"),
        (
            &["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"],
            "ERR value is out of range",
        ),
        (
            &["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"],
            "ERR value is out of range",
        ),
    ];
    for (args, text) in cases {
        assert_eq!(call(&mut h, c, args), err(text), "{args:?}");
    }
    // A huge positive count is bounded by the hash.
    assert_eq!(
        call(&mut h, c, &["HRANDFIELD", "h", "9223372036854775807"]),
        bulks(&["a"])
    );
    assert_eq!(
        call(
            &mut h,
            c,
            &["HRANDFIELD", "h", "4611686018427387903", "withvalues"]
        ),
        bulks(&["a", "1"])
    );
}

#[test]
fn hrandfield_shapes_in_both_protocols() {
    let (mut h, c) = harness();
    call(&mut h, c, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(call(&mut h, c, &["HRANDFIELD", "nokey"]), Frame::Null);
    assert_eq!(
        call(&mut h, c, &["HRANDFIELD", "nokey", "3"]),
        Frame::Array(vec![])
    );
    assert_eq!(
        call(&mut h, c, &["HRANDFIELD", "h", "0"]),
        Frame::Array(vec![])
    );
    assert_eq!(
        call(&mut h, c, &["HRANDFIELD", "h", "0", "WITHVALUES"]),
        Frame::Array(vec![])
    );
    let one = call(&mut h, c, &["HRANDFIELD", "h"])
        .text()
        .expect("a field");
    assert!(["a", "b", "c"].contains(&one.as_str()));
    // A count at least the size: the whole hash, in its order.
    assert_eq!(
        call(&mut h, c, &["HRANDFIELD", "h", "3", "WITHVALUES"]),
        bulks(&["a", "1", "b", "2", "c", "3"])
    );
    let value_of = |field: &str| ((field.as_bytes()[0] - b'a' + b'1') as char).to_string();
    let flat = texts(&call(&mut h, c, &["HRANDFIELD", "h", "-5", "WITHVALUES"]));
    assert_eq!(flat.len(), 10);
    for pair in flat.chunks(2) {
        assert_eq!(pair[1], value_of(&pair[0]), "a value goes with its field");
    }
    h.call(c, &["HELLO", "3"]);
    for args in [
        ["HRANDFIELD", "h", "-4", "WITHVALUES"],
        ["HRANDFIELD", "h", "2", "WITHVALUES"],
    ] {
        let Frame::Array(pairs) = call(&mut h, c, &args) else {
            panic!("an array")
        };
        let wanted = if args[2] == "-4" { 4 } else { 2 };
        assert_eq!(pairs.len(), wanted);
        for pair in pairs {
            let texts = texts(&pair);
            assert_eq!(texts.len(), 2, "RESP3 gives [field, value] pairs");
            assert_eq!(texts[1], value_of(&texts[0]));
        }
    }
    assert_eq!(call(&mut h, c, &["HRANDFIELD", "nokey"]), Frame::Null);
    assert_eq!(
        call(&mut h, c, &["HRANDFIELD", "nokey", "1"]),
        Frame::Array(vec![])
    );
}

/// Distinct fields for a positive count, from both encodings, covering
/// the hash over many draws; repetition for a negative one.
#[test]
fn hrandfield_draws_are_distinct_or_repeated_as_asked() {
    let (mut h, c) = harness();
    let mut fields = BTreeSet::new();
    for i in 0..200 {
        let f = format!("f{i}");
        call(&mut h, c, &["HSET", "big", &f, &i.to_string()]);
        if i < 20 {
            call(&mut h, c, &["HSET", "small", &f, &i.to_string()]);
        }
        fields.insert(f);
    }
    assert_eq!(encoding(&mut h, c, "big"), "hashtable");
    assert_eq!(encoding(&mut h, c, "small"), "listpack");
    for (key, size) in [("big", 200), ("small", 20)] {
        let mut seen = BTreeSet::new();
        for count in [1usize, 5, 19, 60, 150] {
            let got = texts(&call(&mut h, c, &["HRANDFIELD", key, &count.to_string()]));
            let distinct: BTreeSet<String> = got.iter().cloned().collect();
            assert_eq!(got.len(), count.min(size), "{key} {count}");
            assert_eq!(distinct.len(), got.len(), "{key} {count}: distinct");
            assert!(distinct.is_subset(&fields));
            seen.extend(distinct);
        }
        for _ in 0..20 {
            seen.extend(texts(&call(&mut h, c, &["HRANDFIELD", key, "-50"])));
        }
        assert_eq!(seen.len(), size, "{key}: every field drawn at some point");
        let repeated = texts(&call(&mut h, c, &["HRANDFIELD", key, "-500"]));
        assert_eq!(repeated.len(), 500);
        let distinct: BTreeSet<&String> = repeated.iter().collect();
        assert!(distinct.len() < 500, "{key}: repetitions");
    }
}

#[test]
fn hrandfield_draws_come_from_the_seeded_rng() {
    let (mut h2, c2) = harness();
    let (mut h3, c3) = harness();
    for (h, c) in [(&mut h2, c2), (&mut h3, c3)] {
        for i in 0..50 {
            call(h, c, &["HSET", "k", &format!("f{i}"), "v"]);
        }
    }
    let draw = |h: &mut Harness, c| call(h, c, &["HRANDFIELD", "k", "-10"]);
    let first = draw(&mut h2, c2);
    assert_eq!(first, draw(&mut h3, c3));
    assert_ne!(first, draw(&mut h2, c2), "the next draw differs");
}

#[test]
fn hrandfield_huge_negative_counts_are_bounded() {
    let (mut h, c) = harness();
    call(&mut h, c, &["HSET", "h", "a", "1"]);
    let max = super::super::RANDFIELD_MAX_REPEATED;
    assert_eq!(
        call(&mut h, c, &["HRANDFIELD", "h", &format!("-{}", max + 1)]),
        err("ERR value is out of range")
    );
    assert_eq!(
        call(&mut h, c, &["HRANDFIELD", "h", "-9223372036854775807"]),
        err("ERR value is out of range")
    );
    assert_eq!(
        call(&mut h, c, &["HRANDFIELD", "h", "-1000000000", "WITHVALUES"]),
        err("ERR value is out of range")
    );
    // Within the bound, served in full.
    let got = call(&mut h, c, &["HRANDFIELD", "h", "-100000"]);
    assert_eq!(texts(&got).len(), 100_000);
    // A missing key needs no bound.
    assert_eq!(
        call(&mut h, c, &["HRANDFIELD", "nokey", "-9223372036854775807"]),
        Frame::Array(vec![])
    );
}
