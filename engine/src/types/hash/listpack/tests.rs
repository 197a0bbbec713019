use super::*;
use proptest::prelude::*;

fn round_trip(text: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    encode(&mut buf, text);
    assert_eq!(buf.len(), encoded_len(text), "{text:?}");
    let (item, end) = decode(&buf, 0);
    assert_eq!(end, buf.len());
    item.to_vec()
}

/// Encodes `field` after `previous` and reads it back.
fn field_round_trip(field: &[u8], previous: &[u8]) -> (Vec<u8>, usize) {
    let mut buf = Vec::new();
    encode_field(&mut buf, field, previous);
    let mut read = FieldRead::default();
    let end = read_field(&buf, 0, previous, &mut read);
    assert_eq!(end, buf.len());
    (read.text, buf.len())
}

fn pairs(lp: &Listpack) -> Vec<(Vec<u8>, Vec<u8>)> {
    lp.iter()
        .map(|(f, v)| (f.into_owned(), v.to_vec()))
        .collect()
}

#[test]
fn items_round_trip_at_every_width() {
    let samples: Vec<Vec<u8>> = [
        "",
        "0",
        "47",
        "48",
        "-1",
        "127",
        "128",
        "-128",
        "-129",
        "32767",
        "32768",
        "8388607",
        "8388608",
        "2147483648",
        "-9223372036854775808",
        "9223372036854775807",
        "007",
        "-0",
        "+1",
        "1.5",
        " 1",
        "abc",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .chain([vec![b'x'; 191], vec![b'y'; 192], vec![b'z'; 20_000]])
    .collect();
    for text in samples {
        assert_eq!(round_trip(&text), text);
    }
}

#[test]
fn small_items_cost_one_byte_of_overhead() {
    assert_eq!(encoded_len(b"field1"), 7);
    assert_eq!(encoded_len(b"7"), 1);
    assert_eq!(encoded_len(b"1000"), 3);
    assert_eq!(encoded_len(b"1234567890"), 5);
    assert_eq!(encoded_len(b"007"), 4, "not canonical: kept as text");
}

#[test]
fn fields_share_prefixes_when_it_pays() {
    assert_eq!(
        field_round_trip(b"field1", b"field0"),
        (b"field1".to_vec(), 3)
    );
    assert_eq!(field_round_trip(b"ab", b"ac"), (b"ab".to_vec(), 3), "whole");
    assert_eq!(field_round_trip(b"name", b""), (b"name".to_vec(), 5));
    assert_eq!(
        field_round_trip(b"12", b"123"),
        (b"12".to_vec(), 1),
        "integer"
    );
    let long = [b'p'; 40].to_vec();
    let mut next = long.clone();
    next.extend_from_slice(b"-suffix-longer-than-fifteen");
    let (text, len) = field_round_trip(&next, &long);
    assert_eq!(text, next);
    assert_eq!(len, 1 + 1 + 1 + 27, "varint lengths past a nibble");
}

#[test]
fn keeps_insertion_order_and_places() {
    let mut lp = Listpack::default();
    assert!(lp.set(b"a", b"1"));
    assert!(lp.set(b"b", b"two"));
    assert!(lp.set(b"1", b"x"));
    assert!(!lp.set(b"a", b"a much longer value"));
    assert!(lp.remove(b"b"));
    assert!(!lp.remove(b"b"));
    assert_eq!(
        pairs(&lp),
        vec![
            (b"a".to_vec(), b"a much longer value".to_vec()),
            (b"1".to_vec(), b"x".to_vec())
        ]
    );
    assert_eq!(lp.get(b"1").map(|v| v.to_vec()), Some(b"x".to_vec()));
    assert_eq!(lp.get(b"01"), None, "text 01 is not the integer 1");
    assert_eq!(lp.len(), 2);
}

#[test]
fn removing_a_prefix_base_recodes_the_next_field() {
    let mut lp = Listpack::default();
    for field in ["user", "user:name", "user:name:first", "other"] {
        lp.set(field.as_bytes(), b"v");
    }
    let before = lp.byte_len();
    assert!(lp.remove(b"user:name"));
    let fields: Vec<Vec<u8>> = pairs(&lp).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, [&b"user"[..], b"user:name:first", b"other"]);
    assert!(lp.byte_len() < before);
    assert_eq!(
        lp.get(b"user:name:first").map(|v| v.to_vec()),
        Some(b"v".to_vec())
    );
    assert!(lp.remove(b"user"));
    assert_eq!(
        lp.get(b"user:name:first").map(|v| v.to_vec()),
        Some(b"v".to_vec())
    );
}

#[test]
fn ten_numbered_fields_pack_tightly() {
    let mut lp = Listpack::default();
    for i in 0..10 {
        lp.set(
            format!("field{i}").as_bytes(),
            format!("value-{i}").as_bytes(),
        );
    }
    // field0 whole (7 bytes), the nine others 3 bytes each; values 8 each.
    assert_eq!(lp.byte_len(), 7 + 9 * 3 + 10 * 8);
}

#[derive(Debug, Clone)]
enum Op {
    Set(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
}

/// Fields from a small alphabet, so that they share prefixes often.
fn field() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(prop::sample::select(&b"ab:1"[..]), 0..6),
        proptest::collection::vec(prop::sample::select(&b"ab"[..]), 14..40),
        (0i64..100).prop_map(|n| n.to_string().into_bytes()),
    ]
}

proptest! {
    #[test]
    fn any_text_round_trips(text in proptest::collection::vec(any::<u8>(), 0..300)) {
        prop_assert_eq!(round_trip(&text), text);
    }

    #[test]
    fn any_integer_round_trips(n in any::<i64>()) {
        let text = n.to_string().into_bytes();
        prop_assert_eq!(round_trip(&text), text);
    }

    #[test]
    fn any_field_round_trips_after_any_other(
        field in proptest::collection::vec(any::<u8>(), 0..300),
        previous in proptest::collection::vec(any::<u8>(), 0..300),
        shared in 0usize..300,
    ) {
        // Often a real shared prefix.
        let mut field = field;
        let cut = shared.min(previous.len());
        field.splice(0..0, previous[..cut].iter().copied());
        let (text, len) = field_round_trip(&field, &previous);
        prop_assert!(len <= encoded_len(&field));
        prop_assert_eq!(text, field);
    }

    /// Sets and removes against a Vec of pairs: same pairs, same order.
    #[test]
    fn behaves_like_a_vec_of_pairs(
        ops in proptest::collection::vec(
            prop_oneof![
                3 => (field(), field()).prop_map(|(f, v)| Op::Set(f, v)),
                1 => field().prop_map(Op::Remove),
            ],
            0..80,
        ),
        probes in proptest::collection::vec(field(), 0..20),
    ) {
        let mut lp = Listpack::default();
        let mut model: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for op in ops {
            match op {
                Op::Set(f, v) => {
                    let at = model.iter().position(|(k, _)| *k == f);
                    prop_assert_eq!(lp.set(&f, &v), at.is_none());
                    match at {
                        Some(at) => model[at].1 = v,
                        None => model.push((f, v)),
                    }
                }
                Op::Remove(f) => {
                    let at = model.iter().position(|(k, _)| *k == f);
                    prop_assert_eq!(lp.remove(&f), at.is_some());
                    if let Some(at) = at {
                        model.remove(at);
                    }
                }
            }
            prop_assert_eq!(pairs(&lp), model.clone());
            prop_assert_eq!(lp.len(), model.len());
        }
        for (f, v) in &model {
            prop_assert_eq!(lp.get(f).map(|x| x.to_vec()), Some(v.clone()));
        }
        for probe in probes {
            let expected = model.iter().find(|(f, _)| *f == probe).map(|(_, v)| v.clone());
            prop_assert_eq!(lp.get(&probe).map(|x| x.to_vec()), expected);
        }
    }
}
