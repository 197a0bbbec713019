//! Blocking commands inside MULTI/EXEC, and pushes made by a transaction.

use super::*;

#[test]
fn inside_exec_a_blocking_command_answers_its_timeout_reply_at_once() {
    let mut h = harness();
    let c = h.connect();
    h.call(c, &["MULTI"]);
    for cmd in [
        &["BLPOP", "k", "0"][..],
        &["BRPOPLPUSH", "k", "d", "0"],
        &["BZPOPMIN", "z", "0"],
    ] {
        h.call(c, cmd);
    }
    send(&mut h, c, &["EXEC"]);
    // Redis 7.0: the list pops answer a null array, BRPOPLPUSH a null bulk.
    assert_eq!(raw(&mut h, c), "*3\r\n*-1\r\n$-1\r\n*-1\r\n");
    // The client is not left blocked: the next command runs.
    assert_eq!(h.call(c, &["PING"]).text().as_deref(), Some("PONG"));
}

#[test]
fn a_push_inside_exec_serves_a_waiting_client_after_the_transaction() {
    let mut h = harness();
    let waiter = h.connect();
    let writer = h.connect();
    send(&mut h, waiter, &["BLPOP", "k", "0"]);
    assert_eq!(h.read(waiter), None);
    h.call(writer, &["MULTI"]);
    h.call(writer, &["RPUSH", "k", "a", "b"]);
    h.call(writer, &["LLEN", "k"]);
    send(&mut h, writer, &["EXEC"]);
    // Inside the transaction the list still held both elements.
    assert_eq!(raw(&mut h, writer), "*2\r\n:2\r\n:2\r\n");
    assert_eq!(raw(&mut h, waiter), "*2\r\n$1\r\nk\r\n$1\r\na\r\n");
    send(&mut h, writer, &["LRANGE", "k", "0", "-1"]);
    assert_eq!(raw(&mut h, writer), "*1\r\n$1\r\nb\r\n");
}
