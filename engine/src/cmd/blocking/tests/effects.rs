//! What served and immediate blocking pops propagate (Redis 7.0's AOF).

use super::*;

fn w(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

#[test]
fn immediate_answers_propagate_as_the_non_blocking_pops() {
    let mut h = harness();
    h.record_effects();
    let c = h.connect();
    h.call(c, &["RPUSH", "l", "a", "b", "c", "d", "e", "f"]);
    h.call(c, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    h.effects();
    h.call(c, &["BLPOP", "l", "0"]);
    h.call(c, &["BRPOP", "l", "0"]);
    h.call(c, &["BLMOVE", "l", "l2", "LEFT", "RIGHT", "0"]);
    h.call(c, &["BRPOPLPUSH", "l", "l2", "0"]);
    h.call(c, &["BLMPOP", "0", "2", "nx", "l", "LEFT", "COUNT", "5"]);
    h.call(c, &["BZPOPMIN", "z", "0"]);
    h.call(c, &["BZPOPMAX", "z", "0"]);
    h.call(c, &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "1"]);
    send(&mut h, c, &["BLPOP", "nx", "0.01"]);
    h.advance(20);
    assert_eq!(h.read(c), Some(Frame::Null), "a timeout propagates nothing");
    assert_eq!(
        h.effects(),
        vec![
            w(&["db0", "LPOP", "l"]),
            w(&["db0", "RPOP", "l"]),
            w(&["db0", "LMOVE", "l", "l2", "left", "right"]),
            w(&["db0", "RPOPLPUSH", "l", "l2"]),
            w(&["db0", "LPOP", "l", "2"]),
            w(&["db0", "ZPOPMIN", "z"]),
            w(&["db0", "ZPOPMAX", "z"]),
            w(&["db0", "ZPOPMIN", "z", "1"]),
        ]
    );
}

#[test]
fn a_served_client_propagates_after_the_push_as_a_unit_of_its_own() {
    let mut h = harness();
    h.record_effects();
    let (a, b, c, d, p) = (
        h.connect(),
        h.connect(),
        h.connect(),
        h.connect(),
        h.connect(),
    );
    h.call(a, &["SELECT", "4"]);
    send(
        &mut h,
        a,
        &["BLMPOP", "0", "2", "x", "q", "RIGHT", "COUNT", "3"],
    );
    h.call(b, &["SELECT", "4"]);
    send(&mut h, b, &["BLMOVE", "q", "dst", "RIGHT", "LEFT", "0"]);
    h.call(c, &["SELECT", "4"]);
    send(&mut h, c, &["BZMPOP", "0", "1", "z", "MAX", "COUNT", "9"]);
    h.call(d, &["SELECT", "4"]);
    send(&mut h, d, &["BZPOPMIN", "z", "0"]);
    h.call(p, &["SELECT", "4"]);
    h.call(p, &["RPUSH", "q", "1", "2", "3", "4"]);
    h.call(p, &["ZADD", "z", "1", "m", "2", "n"]);
    h.call(p, &["ZADD", "z", "3", "o"]);
    assert_eq!(
        h.effects(),
        vec![
            w(&["db4", "RPUSH", "q", "1", "2", "3", "4"]),
            w(&["db4", "RPOP", "q", "3"]),
            w(&["db4", "LMOVE", "q", "dst", "right", "left"]),
            w(&["db4", "ZADD", "z", "1", "m", "2", "n"]),
            w(&["db4", "ZPOPMAX", "z", "2"]),
            w(&["db4", "ZADD", "z", "3", "o"]),
            w(&["db4", "ZPOPMIN", "z"]),
        ]
    );
    assert_eq!(h.read(b), Some(bulk("1")));
}
