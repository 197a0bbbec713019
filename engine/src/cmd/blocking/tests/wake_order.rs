//! Who is served, in which order, from which key.

use super::*;

#[test]
fn first_blocked_first_served_and_one_push_serves_several() {
    let mut h = harness();
    let clients: Vec<u64> = (0..4).map(|_| h.connect()).collect();
    let pusher = h.connect();
    for &c in &clients {
        send(&mut h, c, &["BRPOP", "q", "0"]);
    }
    assert_eq!(h.call(pusher, &["LPUSH", "q", "a", "b", "c"]), int(3));
    // LPUSH a b c leaves c b a: BRPOP takes a, then b, then c.
    assert_eq!(h.read(clients[0]), Some(arr(&["q", "a"])));
    assert_eq!(h.read(clients[1]), Some(arr(&["q", "b"])));
    assert_eq!(h.read(clients[2]), Some(arr(&["q", "c"])));
    assert_eq!(h.read(clients[3]), None);
    assert_eq!(h.call(pusher, &["EXISTS", "q"]), int(0));
    h.call(pusher, &["RPUSH", "q", "d"]);
    assert_eq!(h.read(clients[3]), Some(arr(&["q", "d"])));
}

#[test]
fn blmpop_takes_its_count_and_leaves_the_rest_to_the_next() {
    let mut h = harness();
    let (a, b, p) = (h.connect(), h.connect(), h.connect());
    send(&mut h, a, &["BLMPOP", "0", "1", "q", "LEFT", "COUNT", "2"]);
    send(&mut h, b, &["BLMPOP", "0", "1", "q", "LEFT", "COUNT", "5"]);
    h.call(p, &["RPUSH", "q", "1", "2", "3"]);
    assert_eq!(
        h.read(a),
        Some(Frame::Array(vec![bulk("q"), arr(&["1", "2"])]))
    );
    assert_eq!(h.read(b), Some(Frame::Array(vec![bulk("q"), arr(&["3"])])));
}

#[test]
fn a_client_on_several_keys_is_served_by_the_first_ready_and_leaves_the_others() {
    let mut h = harness();
    let (a, b, p) = (h.connect(), h.connect(), h.connect());
    send(&mut h, a, &["BLPOP", "k1", "k2", "k3", "0"]);
    send(&mut h, b, &["BLPOP", "k1", "0"]);
    h.call(p, &["RPUSH", "k3", "x"]);
    assert_eq!(h.read(a), Some(arr(&["k3", "x"])));
    h.call(p, &["RPUSH", "k1", "y"]);
    assert_eq!(h.read(b), Some(arr(&["k1", "y"])), "a left k1's queue");
    assert_eq!(h.node.queued_waiters(), 0);
}

#[test]
fn keys_of_one_command_are_served_in_argument_order() {
    let mut h = harness();
    let (a, p) = (h.connect(), h.connect());
    send(&mut h, a, &["BLPOP", "x", "y", "0"]);
    // RENAME signals its destination only: y becomes ready, then y.
    h.call(p, &["RPUSH", "src", "1"]);
    h.call(p, &["RENAME", "src", "y"]);
    assert_eq!(h.read(a), Some(arr(&["y", "1"])));
}

#[test]
fn a_served_blmove_makes_its_destination_ready_in_turn() {
    let mut h = harness();
    let (a, b, c, p) = (h.connect(), h.connect(), h.connect(), h.connect());
    send(&mut h, a, &["BLMOVE", "src", "mid", "LEFT", "RIGHT", "0"]);
    send(&mut h, b, &["BRPOPLPUSH", "mid", "dst", "0"]);
    send(&mut h, c, &["BLPOP", "dst", "0"]);
    h.call(p, &["RPUSH", "src", "v"]);
    assert_eq!(h.read(a), Some(bulk("v")));
    assert_eq!(h.read(b), Some(bulk("v")));
    assert_eq!(h.read(c), Some(arr(&["dst", "v"])));
    assert_eq!(h.call(p, &["DBSIZE"]), int(0));
}

#[test]
fn a_blmove_to_a_key_of_another_type_gets_wrongtype_and_the_element_stays() {
    let mut h = harness();
    let (a, b, p) = (h.connect(), h.connect(), h.connect());
    h.call(p, &["SET", "str", "v"]);
    send(&mut h, a, &["BLMOVE", "l", "str", "LEFT", "RIGHT", "0"]);
    send(&mut h, b, &["BLPOP", "l", "0"]);
    h.call(p, &["RPUSH", "l", "1"]);
    assert_eq!(
        h.read(a),
        Some(err(
            "WRONGTYPE Operation against a key holding the wrong kind of value"
        ))
    );
    assert_eq!(h.read(b), Some(arr(&["l", "1"])));
}

#[test]
fn a_key_of_the_other_type_leaves_the_client_waiting() {
    let mut h = harness();
    let (a, b, p) = (h.connect(), h.connect(), h.connect());
    send(&mut h, a, &["BZPOPMIN", "k", "0"]);
    send(&mut h, b, &["BLPOP", "k", "0"]);
    h.call(p, &["RPUSH", "k", "1", "2"]);
    assert_eq!(h.read(a), None, "a list does not serve BZPOPMIN");
    assert_eq!(h.read(b), Some(arr(&["k", "1"])));
    h.call(p, &["DEL", "k"]);
    h.call(p, &["ZADD", "k", "5", "m"]);
    assert_eq!(h.read(a), Some(arr(&["k", "m", "5"])));
    send(&mut h, b, &["BLPOP", "k", "0"]);
    h.call(p, &["SET", "k", "string"]);
    assert_eq!(h.read(b), None, "a string serves no one");
}

#[test]
fn data_moved_in_from_another_database_wakes_the_waiter_there() {
    let mut h = harness();
    let (a, b, p) = (h.connect(), h.connect(), h.connect());
    h.call(a, &["SELECT", "1"]);
    send(&mut h, a, &["BLPOP", "k", "0"]);
    h.call(b, &["SELECT", "2"]);
    send(&mut h, b, &["BZPOPMAX", "z", "0"]);
    h.call(p, &["RPUSH", "k", "x"]);
    h.call(p, &["MOVE", "k", "1"]);
    assert_eq!(h.read(a), Some(arr(&["k", "x"])));
    h.call(p, &["SELECT", "3"]);
    h.call(p, &["ZADD", "z", "1", "m"]);
    h.call(p, &["SWAPDB", "3", "2"]);
    assert_eq!(h.read(b), Some(arr(&["z", "m", "1"])));
}
