//! With data in a key, each command answers at once, as its non-blocking form.

use super::*;

#[test]
fn list_pops_answer_at_once_from_the_first_key_with_data() {
    let mut h = harness();
    let c = h.connect();
    h.call(c, &["RPUSH", "b", "1", "2", "3"]);
    assert_eq!(h.call(c, &["BLPOP", "a", "b", "0"]), arr(&["b", "1"]));
    assert_eq!(h.call(c, &["BRPOP", "a", "b", "0"]), arr(&["b", "3"]));
    assert_eq!(h.call(c, &["BRPOPLPUSH", "b", "d", "0"]), bulk("2"));
    assert_eq!(
        h.call(c, &["BLMOVE", "d", "e", "LEFT", "RIGHT", "0"]),
        bulk("2")
    );
    h.call(c, &["RPUSH", "m", "x", "y", "z"]);
    assert_eq!(
        h.call(c, &["BLMPOP", "0", "2", "nx", "m", "RIGHT", "COUNT", "2"]),
        Frame::Array(vec![bulk("m"), arr(&["z", "y"])])
    );
    assert_eq!(
        h.call(c, &["BLMPOP", "0", "1", "m", "LEFT"]),
        Frame::Array(vec![bulk("m"), arr(&["x"])])
    );
    assert_eq!(h.call(c, &["EXISTS", "m", "b", "d"]), int(0));
}

#[test]
fn zset_pops_answer_at_once_in_both_protocols() {
    let mut h = harness();
    let c = h.connect();
    h.call(c, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    send(&mut h, c, &["BZPOPMIN", "nx", "z", "0"]);
    assert_eq!(raw(&mut h, c), "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n");
    send(&mut h, c, &["BZMPOP", "0", "1", "z", "MAX", "COUNT", "2"]);
    assert_eq!(
        raw(&mut h, c),
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    h.call(c, &["HELLO", "3"]);
    send(&mut h, c, &["BZPOPMAX", "z", "0"]);
    assert_eq!(raw(&mut h, c), "*3\r\n$1\r\nz\r\n$1\r\nb\r\n,2\r\n");
    assert_eq!(h.call(c, &["EXISTS", "z"]), int(0));
}

#[test]
fn wrong_types_are_errors_at_once() {
    let mut h = harness();
    let c = h.connect();
    h.call(c, &["SET", "s", "v"]);
    let wrongtype = err("WRONGTYPE Operation against a key holding the wrong kind of value");
    for cmd in [
        &["BLPOP", "nx", "s", "0"][..],
        &["BRPOP", "s", "0"],
        &["BLMOVE", "s", "d", "LEFT", "LEFT", "0"],
        &["BRPOPLPUSH", "s", "d", "0"],
        &["BLMPOP", "0", "2", "nx", "s", "LEFT"],
        &["BZPOPMIN", "nx", "s", "0"],
        &["BZPOPMAX", "s", "0"],
        &["BZMPOP", "0", "2", "nx", "s", "MIN"],
    ] {
        assert_eq!(h.call(c, cmd), wrongtype, "{cmd:?}");
    }
    // A destination of another type is checked only once the source has data.
    h.call(c, &["RPUSH", "l", "x"]);
    assert_eq!(
        h.call(c, &["BLMOVE", "l", "s", "LEFT", "LEFT", "0"]),
        wrongtype
    );
    assert_eq!(h.call(c, &["LRANGE", "l", "0", "-1"]), arr(&["x"]));
}

#[test]
fn inside_exec_or_a_script_no_data_is_an_immediate_timeout() {
    let mut h = harness();
    let c = h.connect();
    h.node.client_mut(c).expect("connected").deny_blocking = true;
    for (cmd, shape) in [
        (&["BLPOP", "nx", "0"][..], "*-1\r\n"),
        (&["BRPOP", "nx", "0"], "*-1\r\n"),
        (&["BLMOVE", "nx", "d", "LEFT", "LEFT", "0"], "$-1\r\n"),
        (&["BRPOPLPUSH", "nx", "d", "0"], "$-1\r\n"),
        (&["BLMPOP", "0", "1", "nx", "LEFT"], "*-1\r\n"),
        (&["BZPOPMIN", "nx", "0"], "*-1\r\n"),
        (&["BZPOPMAX", "nx", "0"], "*-1\r\n"),
        (&["BZMPOP", "0", "1", "nx", "MAX"], "*-1\r\n"),
    ] {
        send(&mut h, c, cmd);
        assert_eq!(raw(&mut h, c), shape, "{cmd:?}");
    }
    assert_eq!(info_field(&mut h, c, "clients", "blocked_clients"), "0");
    h.call(c, &["RPUSH", "l", "x"]);
    assert_eq!(h.call(c, &["BLPOP", "l", "0"]), arr(&["l", "x"]));
}
