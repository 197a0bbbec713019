//! HSCAN: a listpack whole, a table in steps, errors in Redis's order.

use super::*;

/// Every item an HSCAN iteration returns, and the number of calls.
fn full_hscan(h: &mut Harness, c: ClientId, key: &str, opts: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut items = Vec::new();
    for calls in 1..10_000 {
        let mut args = vec!["HSCAN", key, cursor.as_str()];
        args.extend_from_slice(opts);
        let Frame::Array(parts) = h.call(c, &args) else {
            panic!("HSCAN replies an array")
        };
        let next = parts[0].text().expect("a cursor");
        items.extend(texts(&parts[1]));
        if next == "0" {
            return (items, calls);
        }
        cursor = next;
    }
    panic!("HSCAN never finished")
}

#[test]
fn hscan_returns_a_listpack_whole() {
    let (mut h, c) = harness();
    call(&mut h, c, &["HSET", "h", "a", "1", "b", "2", "ab", "3"]);
    let all = Frame::Array(vec![bulk("0"), bulks(&["a", "1", "b", "2", "ab", "3"])]);
    assert_eq!(call(&mut h, c, &["HSCAN", "h", "0"]), all);
    assert_eq!(call(&mut h, c, &["HSCAN", "h", "12345", "COUNT", "1"]), all);
    assert_eq!(
        call(&mut h, c, &["HSCAN", "h", "0", "MATCH", "a*"]),
        Frame::Array(vec![bulk("0"), bulks(&["a", "1", "ab", "3"])])
    );
    assert_eq!(
        call(&mut h, c, &["HSCAN", "h", "0", "MATCH", "*", "MATCH", "b"]),
        Frame::Array(vec![bulk("0"), bulks(&["b", "2"])])
    );
    assert_eq!(
        call(&mut h, c, &["HSCAN", "nokey", "0"]),
        Frame::Array(vec![bulk("0"), Frame::Array(vec![])])
    );
}

#[test]
fn hscan_walks_a_table_in_steps() {
    let (mut h, c) = harness();
    let mut expected = Vec::new();
    for i in 0..300 {
        let (f, v) = (format!("field:{i}"), format!("v{i}"));
        call(&mut h, c, &["HSET", "h", &f, &v]);
        expected.push(format!("{f}={v}"));
    }
    expected.sort();
    assert_eq!(encoding(&mut h, c, "h"), "hashtable");
    let (items, calls) = full_hscan(&mut h, c, "h", &["COUNT", "20"]);
    assert!(calls > 10, "several calls: {calls}");
    let mut got: Vec<String> = items
        .chunks(2)
        .map(|p| format!("{}={}", p[0], p[1]))
        .collect();
    got.sort();
    got.dedup();
    assert_eq!(got, expected);
    let (items, _) = full_hscan(&mut h, c, "h", &["MATCH", "field:1?", "COUNT", "7"]);
    let mut fields: Vec<String> = items.chunks(2).map(|p| p[0].clone()).collect();
    fields.sort();
    fields.dedup();
    let want: Vec<String> = (10..20).map(|i| format!("field:{i}")).collect();
    assert_eq!(fields, want);
}

#[test]
fn hscan_errors_come_in_redis_order() {
    let (mut h, c) = harness();
    call(&mut h, c, &["HSET", "h", "a", "1"]);
    call(&mut h, c, &["SET", "s", "v"]);
    let empty = Frame::Array(vec![bulk("0"), Frame::Array(vec![])]);
    assert_eq!(
        call(&mut h, c, &["HSCAN", "h", "x"]),
        err("ERR invalid cursor")
    );
    assert_eq!(
        call(&mut h, c, &["HSCAN", "s", "x"]),
        err("ERR invalid cursor")
    );
    assert_eq!(
        call(&mut h, c, &["HSCAN", "nokey", "0", "COUNT", "0"]),
        empty
    );
    assert_eq!(
        call(&mut h, c, &["HSCAN", "s", "0", "COUNT", "0"]),
        err(WRONGTYPE)
    );
    let cases: [(&[&str], &str); 5] = [
        (&["COUNT", "0"], "ERR syntax error"),
        (&["COUNT"], "ERR syntax error"),
        (
            &["COUNT", "x"],
            "ERR value is not an integer or out of range",
        ),
        (&["TYPE", "string"], "ERR syntax error"),
        (&["NOVALUES"], "ERR syntax error"),
    ];
    for (opts, text) in cases {
        let mut args = vec!["HSCAN", "h", "0"];
        args.extend_from_slice(opts);
        assert_eq!(call(&mut h, c, &args), err(text), "{opts:?}");
    }
}
