//! CLIENT UNBLOCK.

use super::*;

#[test]
fn unblock_answers_with_the_timeout_reply_or_an_error() {
    let mut h = harness();
    let (c, d) = (h.connect(), h.connect());
    let id = c.to_string();
    send(&mut h, c, &["BLMOVE", "k", "d", "LEFT", "LEFT", "0"]);
    assert_eq!(h.call(d, &["CLIENT", "UNBLOCK", &id]), int(1));
    assert_eq!(raw(&mut h, c), "*-1\r\n");
    assert_eq!(
        h.call(d, &["CLIENT", "UNBLOCK", &id]),
        int(0),
        "no longer blocked"
    );
    send(&mut h, c, &["BLPOP", "k", "0"]);
    assert_eq!(h.call(d, &["CLIENT", "UNBLOCK", &id, "error"]), int(1));
    assert_eq!(
        h.read(c),
        Some(err("UNBLOCKED client unblocked via CLIENT UNBLOCK"))
    );
    h.call(c, &["HELLO", "3"]);
    send(&mut h, c, &["BZPOPMIN", "k", "100"]);
    assert_eq!(h.call(d, &["CLIENT", "UNBLOCK", &id, "TIMEOUT"]), int(1));
    assert_eq!(raw(&mut h, c), "_\r\n");
    assert_eq!(
        info_field(&mut h, d, "clients", "clients_in_timeout_table"),
        "0"
    );
    let stats = h.call(d, &["INFO", "errorstats"]).text().expect("text");
    assert!(stats.contains("errorstat_UNBLOCKED:count=1"), "{stats}");
    h.call(d, &["RPUSH", "k", "x"]);
    assert_eq!(
        h.call(d, &["LLEN", "k"]),
        int(1),
        "the unblocked client took nothing"
    );
}

#[test]
fn unblock_then_the_pipelined_input_runs() {
    let mut h = harness();
    let (c, d) = (h.connect(), h.connect());
    let mut pipeline = request(&[b"BLPOP", b"k", b"0"]);
    pipeline.extend(request(&[b"PING"]));
    h.send_raw(c, &pipeline);
    assert_eq!(h.call(d, &["CLIENT", "UNBLOCK", &c.to_string()]), int(1));
    assert_eq!(h.read(c), Some(Frame::Null));
    assert_eq!(h.read(c), Some(Frame::Simple("PONG".into())));
}

#[test]
fn unblock_refuses_what_redis_refuses() {
    let mut h = harness();
    let (c, d) = (h.connect(), h.connect());
    send(&mut h, c, &["BLPOP", "k", "0"]);
    let id = c.to_string();
    assert_eq!(
        h.call(d, &["CLIENT", "UNBLOCK", &d.to_string()]),
        int(0),
        "not blocked"
    );
    assert_eq!(h.call(d, &["CLIENT", "UNBLOCK", "999"]), int(0));
    assert_eq!(h.call(d, &["CLIENT", "UNBLOCK", "-1"]), int(0));
    assert_eq!(
        h.call(d, &["CLIENT", "UNBLOCK", "abc"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        h.call(d, &["CLIENT", "UNBLOCK", "abc", "foo"]),
        err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    );
    assert_eq!(
        h.call(d, &["CLIENT", "UNBLOCK", &id, "timeout", "x"]),
        err("ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.")
    );
    assert_eq!(
        h.call(d, &["CLIENT", "UNBLOCK"]),
        err("ERR wrong number of arguments for 'client|unblock' command")
    );
    assert_eq!(h.read(c), None, "still blocked");
}
