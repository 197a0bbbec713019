//! The quicklist against a plain `Vec<Vec<u8>>` model, across node sizes
//! that force many nodes (splits, merges, repacks), plus its memory use.

use super::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Push(End, Vec<u8>),
    Pop(End, usize),
    Get(usize),
    Set(usize, Vec<u8>),
    Insert(Vec<u8>, bool, Vec<u8>),
    Remove(i64, Vec<u8>),
    Keep(usize, usize),
    Range(usize, usize),
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![Just(End::Head), Just(End::Tail)]
}

/// Few distinct small values (so LREM and LINSERT find them), integers of
/// every width, and some long strings that overflow a node on their own.
fn text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "c", "1", "-7", "300", "70000", "01", ""])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        1 => (1usize..3000, any::<u8>()).prop_map(|(n, b)| vec![b'a' + b % 3; n]),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (end(), text()).prop_map(|(e, t)| Op::Push(e, t)),
        2 => (end(), 0usize..5).prop_map(|(e, n)| Op::Pop(e, n)),
        1 => (0usize..40).prop_map(Op::Get),
        1 => (0usize..40, text()).prop_map(|(i, t)| Op::Set(i, t)),
        2 => (text(), any::<bool>(), text()).prop_map(|(p, a, t)| Op::Insert(p, a, t)),
        1 => (-3i64..3, text()).prop_map(|(c, t)| Op::Remove(c, t)),
        1 => (0usize..30, 0usize..30).prop_map(|(a, b)| Op::Keep(a, b)),
        1 => (0usize..40, 0usize..40).prop_map(|(a, b)| Op::Range(a, b)),
    ]
}

fn fill() -> impl Strategy<Value = Fill> {
    prop_oneof![
        (1usize..5).prop_map(Fill::Entries),
        Just(Fill::Bytes(4096)),
        Just(Fill::from_config(-2)),
    ]
}

fn contents(list: &ListValue) -> Vec<Vec<u8>> {
    list.iter().map(|e| e.to_bytes().to_vec()).collect()
}

fn model_remove(model: &mut Vec<Vec<u8>>, count: i64, text: &[u8]) -> usize {
    let mut budget = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut hits: Vec<usize> = (0..model.len()).filter(|&i| model[i] == text).collect();
    if count < 0 {
        hits.reverse();
    }
    let mut gone: Vec<usize> = hits
        .into_iter()
        .take_while(|_| {
            let go = budget > 0;
            budget = budget.saturating_sub(1);
            go
        })
        .collect();
    gone.sort_unstable();
    for &i in gone.iter().rev() {
        model.remove(i);
    }
    gone.len()
}

fn apply(list: &mut ListValue, model: &mut Vec<Vec<u8>>, op: Op, fill: Fill) {
    match op {
        Op::Push(End::Head, t) => {
            list.push(End::Head, &t, fill);
            model.insert(0, t);
        }
        Op::Push(End::Tail, t) => {
            list.push(End::Tail, &t, fill);
            model.push(t);
        }
        Op::Pop(end, n) => {
            let got: Vec<Vec<u8>> = list.pop(end, n).iter().map(|b| b.to_vec()).collect();
            let n = n.min(model.len());
            let want: Vec<Vec<u8>> = match end {
                End::Head => model.drain(..n).collect(),
                End::Tail => model.drain(model.len() - n..).rev().collect(),
            };
            assert_eq!(got, want);
        }
        Op::Get(i) => {
            assert_eq!(list.get(i).map(|b| b.to_vec()), model.get(i).cloned());
        }
        Op::Set(i, t) => {
            assert_eq!(list.set(i, &t, fill), i < model.len());
            if let Some(slot) = model.get_mut(i) {
                *slot = t;
            }
        }
        Op::Insert(pivot, after, t) => {
            let at = model.iter().position(|e| *e == pivot);
            assert_eq!(list.insert_at_pivot(&pivot, after, &t, fill), at.is_some());
            if let Some(at) = at {
                model.insert(at + usize::from(after), t);
            }
        }
        Op::Remove(count, t) => {
            let want = model_remove(model, count, &t);
            assert_eq!(list.remove_matches(&t, count, fill), want);
        }
        Op::Keep(start, stop) => {
            if start <= stop && stop < model.len() {
                list.keep_range(start, stop);
                model.truncate(stop + 1);
                model.drain(..start);
            }
        }
        Op::Range(start, count) => {
            let got: Vec<Vec<u8>> = list
                .range(start, count)
                .iter()
                .map(|b| b.to_vec())
                .collect();
            let want: Vec<Vec<u8>> = model.iter().skip(start).take(count).cloned().collect();
            assert_eq!(got, want);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn quicklist_behaves_as_a_vec(fill in fill(), ops in prop::collection::vec(op(), 1..120)) {
        let mut list = ListValue::new();
        let mut model = Vec::new();
        for op in ops {
            apply(&mut list, &mut model, op, fill);
            list.check_invariants();
            prop_assert_eq!(contents(&list), model.clone());
            let mut rev = model.clone();
            rev.reverse();
            let got_rev: Vec<Vec<u8>> = list.iter_rev().map(|e| e.to_bytes().to_vec()).collect();
            prop_assert_eq!(got_rev, rev);
        }
    }
}

#[test]
fn fill_follows_list_max_listpack_size() {
    assert_eq!(Fill::from_config(-1), Fill::Bytes(4096));
    assert_eq!(Fill::from_config(-2), Fill::Bytes(8192));
    assert_eq!(Fill::from_config(-5), Fill::Bytes(65536));
    assert_eq!(Fill::from_config(-100), Fill::Bytes(65536));
    assert_eq!(Fill::from_config(i64::MIN), Fill::Bytes(65536));
    assert_eq!(Fill::from_config(0), Fill::Entries(1));
    assert_eq!(Fill::from_config(128), Fill::Entries(128));
    assert_eq!(Fill::from_config(i64::MAX), Fill::Entries(32767));
}

#[test]
fn nodes_stay_within_their_fill() {
    let mut list = ListValue::new();
    let fill = Fill::from_config(-1);
    for i in 0..10_000 {
        list.push(End::Tail, format!("element:{i}").as_bytes(), fill);
    }
    assert!(list.nodes.iter().all(|n| n.bytes() <= 4096));
    assert!(list.node_count() > 10);
    let fill = Fill::from_config(5);
    let mut list = ListValue::new();
    for i in 0..103 {
        list.push(End::Head, i.to_string().as_bytes(), fill);
    }
    assert_eq!(list.node_count(), 21);
    assert!(list.nodes.iter().all(|n| n.len() <= 5));
}

#[test]
fn lookups_from_either_end_agree_with_iteration() {
    let mut list = ListValue::new();
    let fill = Fill::from_config(3);
    for i in 0..1000 {
        list.push(End::Tail, i.to_string().as_bytes(), fill);
    }
    for i in [0usize, 1, 2, 3, 499, 500, 501, 997, 998, 999] {
        assert_eq!(list.get(i).unwrap(), i.to_string().as_bytes());
    }
    assert_eq!(list.get(1000), None);
}

/// Heap bytes per element of the structure itself, for long lists of small
/// elements under the default fill (8 KiB nodes). Redis's listpack needs 2
/// bytes for 0..127, 4-5 for small integers, 5 for a 3-byte string and 17
/// for a 15-byte one; the bounds leave room for node overhead only.
#[test]
fn long_lists_of_small_elements_are_compact() {
    let fill = Fill::from_config(-2);
    type Make = fn(usize) -> Vec<u8>;
    let cases: [(&str, Make, f64); 4] = [
        (
            "small integers",
            |i| (i % 100).to_string().into_bytes(),
            2.2,
        ),
        ("integers to 1M", |i| i.to_string().into_bytes(), 5.2),
        ("3-byte strings", |_| b"xxx".to_vec(), 5.2),
        // "element:" and 7 digits, 15 bytes: a 17-byte entry.
        (
            "element:N",
            |i| format!("element:{}", 1_000_000 + i).into_bytes(),
            17.2,
        ),
    ];
    for (name, make, bound) in cases {
        let mut list = ListValue::new();
        let n = 1_000_000;
        for i in 0..n {
            list.push(End::Tail, &make(i), fill);
        }
        let per_element = list.mem_usage() as f64 / n as f64;
        eprintln!("{name}: {per_element:.2} heap bytes/element");
        assert!(
            per_element <= bound,
            "{name}: {per_element:.2} bytes/element"
        );
    }
}
