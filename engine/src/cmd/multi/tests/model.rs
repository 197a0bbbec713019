//! A transaction's results are the results of running its commands one
//! by one: the same replies, in EXEC's array, and the same dataset after.

use super::*;
use proptest::prelude::*;

const KEYS: &[&str] = &["a", "b", "n"];

fn command() -> impl Strategy<Value = Vec<String>> {
    let key = proptest::sample::select(KEYS);
    let value = proptest::sample::select(&["1", "x", "-7", "10"][..]);
    (0..14usize, key, value).prop_map(|(op, key, value)| {
        let words: Vec<&str> = match op {
            0 => vec!["SET", key, value],
            1 => vec!["GET", key],
            2 => vec!["INCR", key],
            3 => vec!["DEL", key],
            4 => vec!["LPUSH", key, value],
            5 => vec!["RPOP", key],
            6 => vec!["APPEND", key, value],
            7 => vec!["EXPIRE", key, "100"],
            8 => vec!["TTL", key],
            9 => vec!["TYPE", key],
            10 => vec!["SADD", key, value],
            11 => vec!["SELECT", if value == "1" { "1" } else { "0" }],
            12 => vec!["INCRBY", key, value],
            _ => vec!["LLEN", key],
        };
        words.into_iter().map(str::to_string).collect()
    })
}

fn call(h: &mut Harness, c: u64, words: &[String]) -> Frame {
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    h.call(c, &args)
}

/// Every key of databases 0 and 1 with its type, TTL and value (a
/// set's members sorted).
fn snapshot(h: &mut Harness, c: u64) -> Vec<String> {
    let mut out = Vec::new();
    for db in ["0", "1"] {
        h.call(c, &["SELECT", db]);
        for key in KEYS {
            let kind = h.call(c, &["TYPE", key]).text().unwrap_or_default();
            let value = match kind.as_str() {
                "list" => format!("{:?}", h.call(c, &["LRANGE", key, "0", "-1"])),
                "set" => {
                    let Frame::Array(members) = h.call(c, &["SMEMBERS", key]) else {
                        panic!("SMEMBERS is an array");
                    };
                    let mut members: Vec<String> = members.iter().filter_map(Frame::text).collect();
                    members.sort();
                    members.join(",")
                }
                _ => format!("{:?}", h.call(c, &["GET", key])),
            };
            let ttl = format!("{:?}", h.call(c, &["TTL", key]));
            out.push(format!("{db}/{key}: {kind} {ttl} {value}"));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn exec_equals_running_the_commands_in_order(
        before in proptest::collection::vec(command(), 0..6),
        body in proptest::collection::vec(command(), 0..12),
    ) {
        let (mut txn, t) = setup();
        let (mut seq, s) = setup();
        for words in &before {
            call(&mut txn, t, words);
            call(&mut seq, s, words);
        }
        prop_assert_eq!(txn.call(t, &["MULTI"]), ok());
        for words in &body {
            prop_assert_eq!(call(&mut txn, t, words), queued());
        }
        let exec = txn.call(t, &["EXEC"]);
        let one_by_one: Vec<Frame> = body.iter().map(|w| call(&mut seq, s, w)).collect();
        prop_assert_eq!(exec, Frame::Array(one_by_one));
        prop_assert_eq!(snapshot(&mut txn, t), snapshot(&mut seq, s));
    }
}
