//! What the generic keyspace commands propagate (checked against Redis
//! 7.0.15's AOF), and a replay test over random sequences of them.

use super::replay::{check_replay, effects_of, recording, w};
use proptest::prelude::*;

#[test]
fn del_and_unlink_propagate_as_sent_only_when_they_delete() {
    let (mut h, c) = recording();
    h.call(c, &["MSET", "a", "1", "b", "2"]);
    assert_eq!(
        effects_of(&mut h, c, &["DEL", "a", "missing", "b"]),
        vec![w(&["db0", "DEL", "a", "missing", "b"])]
    );
    assert!(effects_of(&mut h, c, &["DEL", "a"]).is_empty());
    assert!(effects_of(&mut h, c, &["UNLINK", "a", "b"]).is_empty());
}

#[test]
fn rename_copy_and_move_propagate_as_sent() {
    let (mut h, c) = recording();
    h.call(c, &["SET", "a", "1"]);
    assert!(
        effects_of(&mut h, c, &["RENAME", "a", "a"]).is_empty(),
        "renaming a key to itself changes nothing"
    );
    assert_eq!(
        effects_of(&mut h, c, &["RENAME", "a", "b"]),
        vec![w(&["db0", "RENAME", "a", "b"])]
    );
    h.call(c, &["SET", "c", "1"]);
    assert!(effects_of(&mut h, c, &["RENAMENX", "b", "c"]).is_empty());
    assert_eq!(
        effects_of(&mut h, c, &["COPY", "b", "d", "DB", "2"]),
        vec![w(&["db0", "COPY", "b", "d", "DB", "2"])]
    );
    assert!(effects_of(&mut h, c, &["COPY", "b", "c"]).is_empty());
    assert_eq!(
        effects_of(&mut h, c, &["MOVE", "b", "1"]),
        vec![w(&["db0", "MOVE", "b", "1"])]
    );
    assert!(effects_of(&mut h, c, &["MOVE", "b", "1"]).is_empty());
}

/// One generic command (or a time step) on a few keys.
fn op() -> impl Strategy<Value = Vec<String>> {
    let key = || prop::sample::select(vec!["a", "b", "c", "d"]);
    let db = prop::sample::select(vec!["1", "2"]);
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    prop_oneof![
        (key(), 0..100u32).prop_map(move |(k, v)| words(&["SET", k, &v.to_string()])),
        (key(), 1..3000u32).prop_map(move |(k, ms)| words(&["PSETEX", k, &ms.to_string(), "v"])),
        (key(), key()).prop_map(move |(a, b)| words(&["DEL", a, b])),
        key().prop_map(move |k| words(&["UNLINK", k])),
        (key(), key()).prop_map(move |(a, b)| words(&["RENAME", a, b])),
        (key(), key()).prop_map(move |(a, b)| words(&["RENAMENX", a, b])),
        (key(), key(), db.clone()).prop_map(move |(a, b, d)| words(&["COPY", a, b, "DB", d])),
        (key(), key()).prop_map(move |(a, b)| words(&["COPY", a, b, "REPLACE"])),
        (key(), db).prop_map(move |(k, d)| words(&["MOVE", k, d])),
        (key(), -1..5i32).prop_map(move |(k, s)| words(&["EXPIRE", k, &s.to_string()])),
        (key(), 1..5i32).prop_map(move |(k, s)| words(&["EXPIRE", k, &s.to_string(), "GT"])),
        key().prop_map(move |k| words(&["PERSIST", k])),
        (0..2500u32).prop_map(move |ms| words(&["advance", &ms.to_string()])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generic_commands_replay_to_the_same_dataset(
        script in prop::collection::vec(op(), 1..40)
    ) {
        check_replay(&script);
    }
}

/// A script of writes of every group (`golden/script.txt`), and what a
/// real Redis 7.0.15 appended to its AOF for each (`golden/aof-7.0.15.txt`,
/// recorded with `appendfsync always`; absolute times in ms shown as
/// `<ms>`). `golden/events-7.0.15.txt` holds the keyspace events the same
/// server published (`notify-keyspace-events KEA`), for the test of the
/// event calls once their delivery lands.
const SCRIPT: &str = include_str!("golden/script.txt");
const REDIS_AOF: &str = include_str!("golden/aof-7.0.15.txt");
const REDIS_EVENTS: &str = include_str!("golden/events-7.0.15.txt");

/// A number that reads as a Unix time in ms (13 digits), shown as `<ms>`.
fn masked_time(word: &str) -> String {
    let is_ms = word.len() == 13 && word.bytes().all(|b| b.is_ascii_digit());
    if is_ms {
        "<ms>".to_string()
    } else {
        word.to_string()
    }
}

/// SPOP draws at random: the members its SREMs name are masked.
fn masked_members(line: &str) -> String {
    if !line.starts_with("spop ") {
        return line.to_string();
    }
    let (command, effects) = line.split_once(" => ").expect("a golden line");
    let effects: Vec<String> = effects
        .split(" | ")
        .map(|e| match e.strip_prefix("SREM ") {
            Some(rest) => format!("SREM {} <m>", rest.split(' ').next().unwrap_or("")),
            None => e.to_string(),
        })
        .collect();
    format!("{command} => {}", effects.join(" | "))
}

/// The script's command line as arguments (`""` is the empty string).
fn arguments(line: &str) -> Vec<String> {
    line.split_whitespace()
        .map(|w| {
            if w == "\"\"" {
                String::new()
            } else {
                w.to_string()
            }
        })
        .collect()
}

#[test]
fn effects_match_what_redis_7_0_appends_to_its_aof() {
    let (mut h, c) = recording();
    for (line, redis) in SCRIPT.lines().zip(REDIS_AOF.lines()) {
        let args = arguments(line);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        h.call(c, &["SELECT", "0"]);
        let effects: Vec<String> = effects_of(&mut h, c, &args)
            .iter()
            .map(|e| {
                e[1..]
                    .iter()
                    .map(|w| masked_time(w))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let keel = format!("{line} => {}", effects.join(" | "));
        assert_eq!(masked_members(&keel), masked_members(redis));
    }
    assert_eq!(SCRIPT.lines().count(), REDIS_AOF.lines().count());
}

/// The keyevent messages a subscriber has received, as `db:event:key`.
fn events_received(h: &mut crate::testing::Harness, subscriber: u64) -> Vec<String> {
    use crate::resp::frame::Frame;
    let mut events = Vec::new();
    while let Some(frame) = h.read(subscriber) {
        let Frame::Array(parts) = frame else {
            panic!("a pmessage array, got {frame:?}");
        };
        let text = |f: &Frame| f.text().expect("a bulk string");
        let (channel, key) = (text(&parts[2]), text(&parts[3]));
        let rest = channel
            .strip_prefix("__keyevent@")
            .expect("a keyevent channel");
        let (db, event) = rest.split_once("__:").expect("db and event");
        events.push(format!("{db}:{event}:{key}"));
    }
    events
}

#[test]
fn keyspace_events_match_what_redis_7_0_publishes() {
    let (mut h, c) = recording();
    let subscriber = h.connect();
    h.call(c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    h.call(subscriber, &["PSUBSCRIBE", "__keyevent@*__:*"]);
    for (line, redis) in SCRIPT.lines().zip(REDIS_EVENTS.lines()) {
        let args = arguments(line);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        h.call(c, &["SELECT", "0"]);
        h.call(c, &args);
        let keel = format!(
            "{line} => {}",
            events_received(&mut h, subscriber).join(" ")
        );
        assert_eq!(keel.trim_end(), redis.trim_end(), "events of `{line}`");
    }
    assert_eq!(SCRIPT.lines().count(), REDIS_EVENTS.lines().count());
}
