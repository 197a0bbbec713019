//! Waiting: timeouts in virtual time, what a blocked client shows, its
//! pipelined input, and what ends a wait besides data.

use super::*;

#[test]
fn a_wait_times_out_once_its_deadline_has_passed_and_not_before() {
    let mut h = harness();
    let c = h.connect();
    send(&mut h, c, &["BLPOP", "k", "1.5"]);
    h.advance(1500);
    assert_eq!(
        h.read(c),
        None,
        "at the deadline the wait goes on (Redis: timeout < now)"
    );
    h.advance(1);
    assert_eq!(raw(&mut h, c), "*-1\r\n");
    // Each command's timeout reply, RESP3 included.
    h.call(c, &["HELLO", "3"]);
    for cmd in [
        &["BLMOVE", "k", "d", "LEFT", "LEFT", "0.01"][..],
        &["BRPOPLPUSH", "k", "d", "0.01"],
        &["BLMPOP", "0.01", "1", "k", "LEFT"],
        &["BZPOPMIN", "k", "0.01"],
        &["BZMPOP", "0.01", "1", "k", "MIN"],
    ] {
        send(&mut h, c, cmd);
        h.advance(10);
        assert_eq!(h.read(c), None, "{cmd:?} waits 10 ms");
        h.advance(1);
        assert_eq!(raw(&mut h, c), "_\r\n", "{cmd:?}");
    }
}

#[test]
fn the_node_asks_to_be_woken_for_the_next_deadline() {
    let mut h = harness();
    let c = h.connect();
    h.advance(5);
    let cron = h.node.poll_timeout().expect("a cron");
    send(&mut h, c, &["BLPOP", "k", "0.02"]);
    let now = h.now.mono_ms;
    assert_eq!(h.node.poll_timeout(), Some((now + 21).min(cron)));
    h.advance_ticking(21);
    assert_eq!(h.read(c), Some(Frame::Null));
    assert_eq!(h.now.mono_ms, now + 21);
}

#[test]
fn a_blocked_client_shows_in_client_list_and_info() {
    let mut h = harness();
    let (c, d, e) = (h.connect(), h.connect(), h.connect());
    send(&mut h, c, &["BLPOP", "k", "0"]);
    send(&mut h, d, &["BZPOPMIN", "z", "5"]);
    let list = h.call(e, &["CLIENT", "LIST"]).text().expect("text");
    let line = |id: u64| {
        list.lines()
            .find(|l| l.starts_with(&format!("id={id} ")))
            .expect("listed")
            .to_string()
    };
    assert!(line(c).contains(" flags=b ") && line(c).contains(" cmd=blpop "));
    assert!(line(d).contains(" flags=b ") && line(d).contains(" cmd=bzpopmin "));
    assert!(line(e).contains(" flags=N "));
    assert_eq!(info_field(&mut h, e, "clients", "blocked_clients"), "2");
    assert_eq!(
        info_field(&mut h, e, "clients", "clients_in_timeout_table"),
        "1"
    );
    h.call(e, &["RPUSH", "k", "x"]);
    assert_eq!(h.read(c), Some(arr(&["k", "x"])));
    assert_eq!(info_field(&mut h, e, "clients", "blocked_clients"), "1");
    h.advance(5001);
    assert_eq!(h.read(d), Some(Frame::Null));
    assert_eq!(info_field(&mut h, e, "clients", "blocked_clients"), "0");
    assert_eq!(
        info_field(&mut h, e, "clients", "clients_in_timeout_table"),
        "0"
    );
}

#[test]
fn pipelined_commands_wait_behind_the_blocked_one() {
    let mut h = harness();
    let (c, d) = (h.connect(), h.connect());
    let mut pipeline = request(&[b"BLPOP", b"k", b"0"]);
    pipeline.extend(request(&[b"PING"]));
    pipeline.extend(request(&[b"BLPOP", b"k", b"0"]));
    pipeline.extend(request(&[b"ECHO", b"after"]));
    h.send_raw(c, &pipeline);
    h.send_raw(c, &request(&[b"PING"]));
    assert_eq!(h.read(c), None);
    h.call(d, &["RPUSH", "k", "1"]);
    assert_eq!(h.read(c), Some(arr(&["k", "1"])));
    assert_eq!(h.read(c), Some(Frame::Simple("PONG".into())));
    assert_eq!(h.read(c), None, "blocked again by the second BLPOP");
    h.call(d, &["RPUSH", "k", "2"]);
    assert_eq!(h.read(c), Some(arr(&["k", "2"])));
    assert_eq!(h.read(c), Some(bulk("after")));
    assert_eq!(h.read(c), Some(Frame::Simple("PONG".into())));
}

#[test]
fn the_idle_timeout_spares_blocked_clients() {
    let mut h = Harness::new(Config {
        timeout: 1,
        ..Config::default()
    });
    let (c, idle) = (h.connect(), h.connect());
    send(&mut h, c, &["BLPOP", "k", "0"]);
    h.advance_ticking(3000);
    assert!(h.is_closed(idle));
    assert!(!h.is_closed(c), "a blocked client is not idle");
    let d = h.connect();
    h.call(d, &["RPUSH", "k", "v"]);
    assert_eq!(h.read(c), Some(arr(&["k", "v"])));
}

#[test]
fn a_client_gone_while_blocked_takes_no_element() {
    let mut h = harness();
    let (a, b, c, d) = (h.connect(), h.connect(), h.connect(), h.connect());
    send(&mut h, a, &["BLPOP", "k", "0"]);
    send(&mut h, b, &["BLPOP", "k", "other", "0"]);
    send(&mut h, c, &["BLPOP", "k", "0"]);
    h.node
        .handle_input(h.now, crate::node::Input::ClientClosed { client: a });
    assert_eq!(h.call(d, &["CLIENT", "KILL", "ID", &b.to_string()]), int(1));
    assert_eq!(h.node.queued_waiters(), 1, "only c still waits");
    h.call(d, &["RPUSH", "k", "x", "y"]);
    assert_eq!(h.read(c), Some(arr(&["k", "x"])));
    assert_eq!(h.call(d, &["LRANGE", "k", "0", "-1"]), arr(&["y"]));
    assert_eq!(h.node.queued_waiters(), 0);
    assert_eq!(info_field(&mut h, d, "clients", "blocked_clients"), "0");
}

#[test]
fn a_served_call_is_counted_once_when_it_completes() {
    let mut h = harness();
    let (c, d) = (h.connect(), h.connect());
    h.call(d, &["CONFIG", "RESETSTAT"]);
    send(&mut h, c, &["BLPOP", "k", "0"]);
    send(&mut h, c, &["BLMOVE", "k", "s", "LEFT", "LEFT", "0"]);
    let stats = |h: &mut Harness| h.call(d, &["INFO", "commandstats"]).text().expect("text");
    assert!(
        !stats(&mut h).contains("cmdstat_blpop"),
        "not counted while waiting"
    );
    h.call(d, &["SET", "s", "v"]);
    h.call(d, &["RPUSH", "k", "1", "2"]);
    assert_eq!(h.read(c), Some(arr(&["k", "1"])));
    assert_eq!(
        h.read(c),
        Some(err(
            "WRONGTYPE Operation against a key holding the wrong kind of value"
        ))
    );
    let text = stats(&mut h);
    assert!(text.contains("cmdstat_blpop:calls=1,"), "{text}");
    assert!(
        text.contains("cmdstat_blmove:calls=1,") && text.contains("failed_calls=1"),
        "{text}"
    );
    assert_eq!(h.call(d, &["LRANGE", "k", "0", "-1"]), arr(&["2"]));
}
