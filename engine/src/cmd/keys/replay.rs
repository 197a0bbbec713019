//! Test support for write effects: a harness that records them, and the
//! check every group's replay test makes: the effects of a run, replayed
//! on a fresh node, rebuild the same dataset (keys, values, TTLs).
//!
//! The replica applies each effect 1 ms *before* the moment the original
//! produced it: an effect that still depends on when it runs (a relative
//! TTL not rewritten as an absolute one) then leaves a different TTL,
//! while a key alive in the original is alive in the replica too (what
//! the original expired on the way reaches the replica as a `DEL`).

use crate::client::ClientId;
use crate::config::Config;
use crate::resp::frame::Frame;
use crate::testing::Harness;

/// Databases the replay tests write to (MOVE and COPY ... DB use db 1).
pub const DBS: usize = 3;

/// A harness recording effects, with a client.
pub fn recording() -> (Harness, ClientId) {
    recording_with(Config::default())
}

pub fn recording_with(config: Config) -> (Harness, ClientId) {
    let mut h = Harness::new(config);
    h.record_effects();
    let c = h.connect();
    (h, c)
}

/// An expected effect: `w(&["db0", "SET", "k", "v"])`.
pub fn w(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

/// Runs `args` and returns the effects it produced.
pub fn effects_of(h: &mut Harness, c: ClientId, args: &[&str]) -> Vec<Vec<String>> {
    h.effects();
    h.call(c, args);
    h.effects()
}

/// An effect (as [`Harness::effects`] words: `db<n>` first) and the Unix
/// time in ms at which the original produced it.
pub type Timed = (u64, Vec<String>);

/// Replays `effects` on a fresh node, each 1 ms before its time, then
/// moves the clock to `end_ms`. The node's RNG is seeded differently from
/// the original's: nothing random may be drawn again.
pub fn replay(effects: &[Timed], end_ms: u64) -> Harness {
    let mut h = Harness::new(Config {
        seed: 1,
        ..Config::default()
    });
    h.node.server_mut().active_expire_enabled = false;
    let c = h.connect();
    for (at, effect) in effects {
        h.advance(at.saturating_sub(1).saturating_sub(h.now.unix_ms));
        let (db, argv) = effect.split_first().expect("db and argv");
        let db = db.strip_prefix("db").expect("a db<n> prefix");
        if matches!(argv[0].as_str(), "MULTI" | "EXEC") {
            continue;
        }
        h.call(c, &["SELECT", db]);
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let reply = h.call(c, &args);
        assert!(
            !matches!(reply, Frame::Error(_)),
            "replaying {effect:?}: {reply:?}"
        );
    }
    h.advance(end_ms.saturating_sub(h.now.unix_ms));
    h
}

/// Every live key of the first [`DBS`] databases, as text: db, key, type,
/// value (collections in a canonical order) and absolute expiry in ms.
/// Read through commands, so expired keys not yet reclaimed are absent.
pub fn dump(h: &mut Harness) -> Vec<String> {
    let c = h.connect();
    let mut lines = Vec::new();
    for db in 0..DBS {
        h.call(c, &["SELECT", &db.to_string()]);
        let mut keys = texts(h.call(c, &["KEYS", "*"]));
        keys.sort();
        for key in keys {
            let kind = h.call(c, &["TYPE", &key]).text().unwrap_or_default();
            let value = value_text(h, c, &key, &kind);
            let at = h.call(c, &["PEXPIRETIME", &key]);
            lines.push(format!("db{db} {key} {kind} {value} {at:?}"));
        }
    }
    lines
}

fn value_text(h: &mut Harness, c: ClientId, key: &str, kind: &str) -> String {
    match kind {
        "string" => format!("{:?}", h.call(c, &["GET", key]).text()),
        "list" => texts(h.call(c, &["LRANGE", key, "0", "-1"])).join(","),
        "set" => sorted(texts(h.call(c, &["SMEMBERS", key]))).join(","),
        "hash" => {
            let flat = texts(h.call(c, &["HGETALL", key]));
            let pairs = flat.chunks(2).map(|p| p.join("=")).collect();
            sorted(pairs).join(",")
        }
        "zset" => texts(h.call(c, &["ZRANGE", key, "0", "-1", "WITHSCORES"])).join(","),
        other => format!("<{other}>"),
    }
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

/// The texts of an array (or set, or map flattened) reply.
fn texts(frame: Frame) -> Vec<String> {
    match frame {
        Frame::Array(items) | Frame::Set(items) => {
            items.iter().map(|f| f.text().unwrap_or_default()).collect()
        }
        Frame::Map(pairs) => pairs
            .iter()
            .flat_map(|(k, v)| [k.text().unwrap_or_default(), v.text().unwrap_or_default()])
            .collect(),
        other => panic!("an array reply, not {other:?}"),
    }
}

/// Runs `script` (commands, with `advance <ms>` steps between them) on a
/// recording node, then checks that its effects replayed on a fresh node
/// give the same dataset. Returns the effects, for further checks.
pub fn check_replay(script: &[Vec<String>]) -> Vec<Timed> {
    let (mut h, c) = recording();
    // The replica runs 1 ms behind: leave it room.
    h.advance(1000);
    let mut effects = Vec::new();
    for step in script {
        if step[0] == "advance" {
            let ms = step[1].parse().expect("advance <ms>");
            h.advance(ms);
        } else {
            let args: Vec<&str> = step.iter().map(String::as_str).collect();
            h.call(c, &args);
        }
        let now = h.now.unix_ms;
        effects.extend(h.effects().into_iter().map(|e| (now, e)));
    }
    let now = h.now.unix_ms;
    let original = dump(&mut h);
    let mut copy = replay(&effects, now);
    assert_eq!(dump(&mut copy), original, "effects: {effects:?}");
    effects
}
