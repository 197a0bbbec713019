use crate::client::ClientId;
use crate::config::Config;
use crate::node::Input;
use crate::resp::frame::Frame;
use crate::testing::Harness;

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.to_string().into())
}

fn arr(items: &[Frame]) -> Frame {
    Frame::Array(items.to_vec())
}

/// `[kind, name, count]` as RESP2 sends it.
fn conf(kind: &str, name: &str, count: i64) -> Frame {
    arr(&[bulk(kind), bulk(name), Frame::Int(count)])
}

fn message(channel: &str, payload: &str) -> Frame {
    arr(&[bulk("message"), bulk(channel), bulk(payload)])
}

fn pmessage(pattern: &str, channel: &str, payload: &str) -> Frame {
    arr(&[
        bulk("pmessage"),
        bulk(pattern),
        bulk(channel),
        bulk(payload),
    ])
}

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

/// Every frame waiting for `c`.
fn drain(h: &mut Harness, c: ClientId) -> Vec<Frame> {
    std::iter::from_fn(|| h.read(c)).collect()
}

/// Sends a command whose replies are several frames; returns them all.
fn call_all(h: &mut Harness, c: ClientId, args: &[&str]) -> Vec<Frame> {
    let first = h.call(c, args);
    let mut all = vec![first];
    all.extend(drain(h, c));
    all
}

fn not_allowed(cmd: &str) -> Frame {
    Frame::Error(format!(
        "ERR Can't execute '{cmd}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    ))
}

fn setup() -> (Harness, ClientId, ClientId) {
    let mut h = Harness::new(Config::default());
    let sub = h.connect();
    let publisher = h.connect();
    (h, sub, publisher)
}

#[test]
fn subscribe_confirms_each_channel_with_the_running_count() {
    let (mut h, c, _) = setup();
    assert_eq!(
        call_all(&mut h, c, &["SUBSCRIBE", "a", "b", "a"]),
        vec![
            conf("subscribe", "a", 1),
            conf("subscribe", "b", 2),
            conf("subscribe", "a", 2)
        ]
    );
    assert_eq!(
        call_all(&mut h, c, &["PSUBSCRIBE", "p*"]),
        vec![conf("psubscribe", "p*", 3)]
    );
    // Shard channels are counted on their own.
    assert_eq!(
        call_all(&mut h, c, &["SSUBSCRIBE", "s1", "s2"]),
        vec![conf("ssubscribe", "s1", 1), conf("ssubscribe", "s2", 2)]
    );
    assert_eq!(
        call_all(&mut h, c, &["UNSUBSCRIBE", "b", "zz"]),
        vec![conf("unsubscribe", "b", 2), conf("unsubscribe", "zz", 2)]
    );
    assert_eq!(
        call_all(&mut h, c, &["UNSUBSCRIBE"]),
        vec![conf("unsubscribe", "a", 1)]
    );
    assert_eq!(
        call_all(&mut h, c, &["PUNSUBSCRIBE"]),
        vec![conf("punsubscribe", "p*", 0)]
    );
    assert_eq!(
        call_all(&mut h, c, &["SUNSUBSCRIBE"]),
        vec![conf("sunsubscribe", "s1", 1), conf("sunsubscribe", "s2", 0)]
    );
}

#[test]
fn unsubscribe_with_nothing_subscribed_answers_a_null_name() {
    let (mut h, c, _) = setup();
    for name in ["unsubscribe", "punsubscribe", "sunsubscribe"] {
        assert_eq!(
            call_all(&mut h, c, &[name]),
            vec![arr(&[bulk(name), Frame::Null, Frame::Int(0)])]
        );
    }
    // Still a normal client.
    assert_eq!(h.call(c, &["SET", "k", "v"]), ok());
}

#[test]
fn punsubscribe_all_answers_in_subscription_order() {
    let (mut h, c, _) = setup();
    call_all(&mut h, c, &["PSUBSCRIBE", "z*", "a*", "m*"]);
    assert_eq!(
        call_all(&mut h, c, &["PUNSUBSCRIBE"]),
        vec![
            conf("punsubscribe", "z*", 2),
            conf("punsubscribe", "a*", 1),
            conf("punsubscribe", "m*", 0)
        ]
    );
}

#[test]
fn publish_delivers_messages_in_resp2() {
    let (mut h, sub, publisher) = setup();
    call_all(&mut h, sub, &["SUBSCRIBE", "news"]);
    call_all(&mut h, sub, &["PSUBSCRIBE", "n*"]);
    call_all(&mut h, sub, &["SSUBSCRIBE", "shard"]);
    assert_eq!(h.call(publisher, &["PUBLISH", "news", "hi"]), Frame::Int(2));
    assert_eq!(
        drain(&mut h, sub),
        vec![message("news", "hi"), pmessage("n*", "news", "hi")]
    );
    assert_eq!(h.call(publisher, &["PUBLISH", "nope", "x"]), Frame::Int(1));
    assert_eq!(h.call(publisher, &["PUBLISH", "other", "x"]), Frame::Int(0));
    assert_eq!(h.call(publisher, &["PUBLISH", "shard", "x"]), Frame::Int(0));
    assert_eq!(
        h.call(publisher, &["SPUBLISH", "shard", "s"]),
        Frame::Int(1)
    );
    assert_eq!(h.call(publisher, &["SPUBLISH", "news", "s"]), Frame::Int(0));
    assert_eq!(
        drain(&mut h, sub),
        vec![
            pmessage("n*", "nope", "x"),
            arr(&[bulk("smessage"), bulk("shard"), bulk("s")])
        ]
    );
}

#[test]
fn each_matching_pattern_delivers_once() {
    let (mut h, sub, publisher) = setup();
    let other = h.connect();
    call_all(&mut h, sub, &["PSUBSCRIBE", "a?c", "a[b-d]c", "a\\*c", "*"]);
    call_all(&mut h, other, &["PSUBSCRIBE", "a*"]);
    assert_eq!(h.call(publisher, &["PUBLISH", "abc", "1"]), Frame::Int(4));
    let mut got = drain(&mut h, sub);
    got.sort_by_key(|f| format!("{f:?}"));
    let mut want = vec![
        pmessage("a?c", "abc", "1"),
        pmessage("a[b-d]c", "abc", "1"),
        pmessage("*", "abc", "1"),
    ];
    want.sort_by_key(|f| format!("{f:?}"));
    assert_eq!(got, want);
    assert_eq!(drain(&mut h, other), vec![pmessage("a*", "abc", "1")]);
    assert_eq!(h.call(publisher, &["PUBLISH", "a*c", "2"]), Frame::Int(4));
    assert_eq!(drain(&mut h, sub).len(), 3, "a?c, a\\*c and *");
    // As Redis, the empty channel matches no pattern, not even `*`.
    assert_eq!(h.call(publisher, &["PUBLISH", "", "3"]), Frame::Int(0));
}

#[test]
fn resp2_subscribed_mode_allows_only_a_few_commands() {
    let (mut h, c, _) = setup();
    call_all(&mut h, c, &["SUBSCRIBE", "a"]);
    assert_eq!(h.call(c, &["GET", "k"]), not_allowed("get"));
    assert_eq!(h.call(c, &["CLIENT", "LIST"]), not_allowed("client|list"));
    assert_eq!(h.call(c, &["PUBLISH", "a", "x"]), not_allowed("publish"));
    // Arity and unknown commands are checked first.
    assert_eq!(
        h.call(c, &["GET"]),
        Frame::Error("ERR wrong number of arguments for 'get' command".into())
    );
    assert_eq!(
        h.call(c, &["NOSUCH"]),
        Frame::Error("ERR unknown command 'NOSUCH', with args beginning with: ".into())
    );
    assert_eq!(h.call(c, &["PING"]), arr(&[bulk("pong"), bulk("")]));
    assert_eq!(h.call(c, &["PING", "hi"]), arr(&[bulk("pong"), bulk("hi")]));
    assert_eq!(
        h.call(c, &["PING", "a", "b"]),
        Frame::Error("ERR wrong number of arguments for 'ping' command".into())
    );
    // A shard subscription alone keeps the mode.
    call_all(&mut h, c, &["SSUBSCRIBE", "s"]);
    call_all(&mut h, c, &["UNSUBSCRIBE"]);
    assert_eq!(h.call(c, &["GET", "k"]), not_allowed("get"));
    call_all(&mut h, c, &["SUNSUBSCRIBE"]);
    assert_eq!(h.call(c, &["GET", "k"]), Frame::Null);
    assert_eq!(h.call(c, &["PING"]), Frame::Simple("PONG".into()));
}

#[test]
fn subscribed_mode_refusals_count_as_rejected_calls() {
    let (mut h, c, other) = setup();
    call_all(&mut h, c, &["SUBSCRIBE", "a"]);
    h.call(c, &["GET", "k"]);
    let Frame::Bulk(info) = h.call(other, &["INFO", "commandstats"]) else {
        panic!("INFO replies a bulk")
    };
    let info = String::from_utf8_lossy(&info).into_owned();
    assert!(
        info.contains(
            "cmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"
        ),
        "{info}"
    );
}

#[test]
fn quit_works_in_subscribed_mode_and_cleans_up() {
    let (mut h, c, other) = setup();
    call_all(&mut h, c, &["SUBSCRIBE", "a"]);
    assert_eq!(h.call(c, &["QUIT"]), ok());
    assert!(h.is_closed(c));
    assert_eq!(
        h.call(other, &["PUBSUB", "NUMSUB", "a"]),
        arr(&[bulk("a"), Frame::Int(0)])
    );
}

#[test]
fn resp3_subscribers_get_pushes_and_run_any_command() {
    let (mut h, c, publisher) = setup();
    h.call(c, &["HELLO", "3"]);
    assert_eq!(
        h.call(c, &["SUBSCRIBE", "a"]),
        Frame::Push(vec![bulk("subscribe"), bulk("a"), Frame::Int(1)])
    );
    assert_eq!(h.call(c, &["SET", "k", "v"]), ok());
    assert_eq!(h.call(c, &["PING"]), Frame::Simple("PONG".into()));
    assert_eq!(h.call(publisher, &["PUBLISH", "a", "m"]), Frame::Int(1));
    assert_eq!(
        h.read(c),
        Some(Frame::Push(vec![bulk("message"), bulk("a"), bulk("m")]))
    );
    // Publishing to itself: the message comes before the reply.
    assert_eq!(
        h.call(c, &["PUBLISH", "a", "me"]),
        Frame::Push(vec![bulk("message"), bulk("a"), bulk("me")])
    );
    assert_eq!(h.read(c), Some(Frame::Int(1)));
    assert_eq!(
        h.call(c, &["UNSUBSCRIBE", "zz"]),
        Frame::Push(vec![bulk("unsubscribe"), bulk("zz"), Frame::Int(1)])
    );
    call_all(&mut h, c, &["UNSUBSCRIBE"]);
    assert_eq!(
        h.call(c, &["PUNSUBSCRIBE"]),
        Frame::Push(vec![bulk("punsubscribe"), Frame::Null, Frame::Int(0)])
    );
}

#[test]
fn reply_off_clients_get_no_messages() {
    let (mut h, c, publisher) = setup();
    h.call(c, &["HELLO", "3"]);
    h.call(c, &["SUBSCRIBE", "a"]);
    h.send_raw(c, &crate::testing::request(&[b"CLIENT", b"REPLY", b"OFF"]));
    assert_eq!(h.call(publisher, &["PUBLISH", "a", "m"]), Frame::Int(1));
    assert_eq!(h.read(c), None);
}

#[test]
fn reset_drops_every_subscription() {
    let (mut h, c, other) = setup();
    call_all(&mut h, c, &["SUBSCRIBE", "a"]);
    call_all(&mut h, c, &["PSUBSCRIBE", "p*"]);
    call_all(&mut h, c, &["SSUBSCRIBE", "s"]);
    assert_eq!(h.call(c, &["RESET"]), Frame::Simple("RESET".into()));
    assert_eq!(h.call(c, &["GET", "k"]), Frame::Null);
    assert_eq!(h.call(other, &["PUBSUB", "NUMPAT"]), Frame::Int(0));
    assert_eq!(h.call(other, &["PUBSUB", "CHANNELS"]), arr(&[]));
    assert_eq!(h.call(other, &["PUBSUB", "SHARDCHANNELS"]), arr(&[]));
    assert_eq!(h.call(other, &["PUBLISH", "a", "x"]), Frame::Int(0));
}

#[test]
fn every_way_of_leaving_drops_subscriptions() {
    let mut h = Harness::new(Config::default());
    let admin = h.connect();
    let closed = h.connect();
    let killed = h.connect();
    for c in [closed, killed] {
        call_all(&mut h, c, &["SUBSCRIBE", "a"]);
        call_all(&mut h, c, &["PSUBSCRIBE", "p*"]);
        call_all(&mut h, c, &["SSUBSCRIBE", "s"]);
    }
    assert_eq!(h.call(admin, &["PUBSUB", "NUMPAT"]), Frame::Int(1));
    h.node
        .handle_input(h.now, Input::ClientClosed { client: closed });
    assert_eq!(
        h.call(admin, &["PUBSUB", "NUMSUB", "a"]),
        arr(&[bulk("a"), Frame::Int(1)])
    );
    let id = killed.to_string();
    assert_eq!(h.call(admin, &["CLIENT", "KILL", "ID", &id]), Frame::Int(1));
    assert_eq!(
        h.call(admin, &["PUBSUB", "NUMSUB", "a"]),
        arr(&[bulk("a"), Frame::Int(0)])
    );
    assert_eq!(
        h.call(admin, &["PUBSUB", "SHARDNUMSUB", "s"]),
        arr(&[bulk("s"), Frame::Int(0)])
    );
    assert_eq!(h.call(admin, &["PUBSUB", "NUMPAT"]), Frame::Int(0));
    assert_eq!(h.call(admin, &["PUBLISH", "pa", "x"]), Frame::Int(0));
}

#[test]
fn pubsub_introspection() {
    let (mut h, c, other) = setup();
    let c2 = h.connect();
    call_all(&mut h, c, &["SUBSCRIBE", "news.a", "news.b", "x"]);
    call_all(&mut h, c2, &["SUBSCRIBE", "news.a"]);
    call_all(&mut h, c, &["PSUBSCRIBE", "p*", "q*"]);
    call_all(&mut h, c2, &["PSUBSCRIBE", "p*"]);
    call_all(&mut h, c, &["SSUBSCRIBE", "s1", "s2"]);
    assert_eq!(
        h.call(other, &["PUBSUB", "CHANNELS"]),
        arr(&[bulk("news.a"), bulk("news.b"), bulk("x")])
    );
    assert_eq!(
        h.call(other, &["PUBSUB", "CHANNELS", "news.*"]),
        arr(&[bulk("news.a"), bulk("news.b")])
    );
    assert_eq!(
        h.call(other, &["pubsub", "numsub", "news.a", "x", "none"]),
        arr(&[
            bulk("news.a"),
            Frame::Int(2),
            bulk("x"),
            Frame::Int(1),
            bulk("none"),
            Frame::Int(0)
        ])
    );
    assert_eq!(h.call(other, &["PUBSUB", "NUMSUB"]), arr(&[]));
    assert_eq!(h.call(other, &["PUBSUB", "NUMPAT"]), Frame::Int(2));
    assert_eq!(
        h.call(other, &["PUBSUB", "SHARDCHANNELS", "*2"]),
        arr(&[bulk("s2")])
    );
    assert_eq!(
        h.call(other, &["PUBSUB", "SHARDNUMSUB", "s1", "x"]),
        arr(&[bulk("s1"), Frame::Int(1), bulk("x"), Frame::Int(0)])
    );
    assert_eq!(
        h.call(other, &["PUBSUB", "CHANNELS", "a", "b"]),
        Frame::Error(
            "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."
                .into()
        )
    );
    assert_eq!(
        h.call(other, &["PUBSUB", "NUMPAT", "x"]),
        Frame::Error("ERR wrong number of arguments for 'pubsub|numpat' command".into())
    );
    assert_eq!(
        h.call(other, &["PUBSUB", "FOO"]),
        Frame::Error("ERR unknown subcommand 'FOO'. Try PUBSUB HELP.".into())
    );
    let Frame::Array(help) = h.call(other, &["PUBSUB", "HELP"]) else {
        panic!("HELP replies an array")
    };
    assert_eq!(help.len(), 14);
    assert_eq!(
        help[0],
        Frame::Simple("PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into())
    );
}

#[test]
fn client_list_and_info_show_subscriptions() {
    let (mut h, c, other) = setup();
    call_all(&mut h, c, &["SUBSCRIBE", "a"]);
    call_all(&mut h, c, &["PSUBSCRIBE", "p*", "q*"]);
    call_all(&mut h, c, &["SSUBSCRIBE", "s1", "s2", "s3"]);
    let Frame::Bulk(list) = h.call(other, &["CLIENT", "LIST", "TYPE", "pubsub"]) else {
        panic!("CLIENT LIST replies a bulk")
    };
    let list = String::from_utf8_lossy(&list).into_owned();
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(
        list.contains(&format!("id={c} ")) && list.contains(" flags=P db=0 sub=1 psub=2 ssub=3 "),
        "{list}"
    );
    let Frame::Bulk(normal) = h.call(other, &["CLIENT", "LIST", "TYPE", "normal"]) else {
        panic!("CLIENT LIST replies a bulk")
    };
    assert!(!String::from_utf8_lossy(&normal).contains(&format!("id={c} ")));
    let Frame::Bulk(info) = h.call(other, &["INFO", "stats"]) else {
        panic!("INFO replies a bulk")
    };
    let info = String::from_utf8_lossy(&info).into_owned();
    assert!(
        info.contains("pubsub_channels:1\r\npubsub_patterns:2\r\npubsubshard_channels:3\r\n"),
        "{info}"
    );
}

#[test]
fn subscribers_are_never_idle() {
    let mut h = Harness::new(Config {
        timeout: 1,
        ..Config::default()
    });
    let sub = h.connect();
    let plain = h.connect();
    call_all(&mut h, sub, &["SUBSCRIBE", "a"]);
    h.advance_ticking(3_000);
    assert!(h.is_closed(plain));
    assert!(!h.is_closed(sub));
}

// ---- output buffer limits ----

fn with_limit(h: &mut Harness, admin: ClientId, limit: &str) {
    assert_eq!(
        h.call(
            admin,
            &["CONFIG", "SET", "client-output-buffer-limit", limit]
        ),
        ok()
    );
}

/// A message of `n` payload bytes on channel `a` (its frame is n + 28 bytes).
fn payload(n: usize) -> String {
    "x".repeat(n)
}

#[test]
fn the_hard_limit_closes_a_slow_subscriber_at_once() {
    let (mut h, sub, publisher) = setup();
    with_limit(&mut h, publisher, "pubsub 1000 0 0");
    call_all(&mut h, sub, &["SUBSCRIBE", "a"]);
    let small = payload(400);
    assert_eq!(h.call(publisher, &["PUBLISH", "a", &small]), Frame::Int(1));
    assert!(!h.is_closed(sub));
    // Never reported written: 2 × 428 bytes + the confirmation pass 1000.
    h.send_raw(
        publisher,
        &crate::testing::request(&[b"PUBLISH", b"a", small.as_bytes()]).repeat(2),
    );
    assert_eq!(drain(&mut h, publisher), vec![Frame::Int(1), Frame::Int(1)]);
    assert!(h.is_closed(sub));
    // What was flushed before stays delivered; the rest is dropped.
    assert_eq!(drain(&mut h, sub), vec![message("a", &small)]);
    assert_eq!(
        h.call(publisher, &["PUBSUB", "NUMSUB", "a"]),
        arr(&[bulk("a"), Frame::Int(0)])
    );
}

/// A fan-out whose middle subscriber passes its limit: it is closed, and
/// the subscribers before and after it in the flush still get each
/// message as it is published.
#[test]
fn a_subscriber_closed_mid_fan_out_leaves_the_others_their_messages() {
    let (mut h, a, publisher) = setup();
    let b = h.connect();
    let c = h.connect();
    with_limit(&mut h, publisher, "pubsub 1000 0 0");
    for s in [a, b, c] {
        call_all(&mut h, s, &["SUBSCRIBE", "x"]);
    }
    let msg = payload(400);
    for round in 0..4 {
        h.call(publisher, &["PUBLISH", "x", &msg]);
        for s in [a, c] {
            let bytes = h.pending_bytes(s).len();
            assert_eq!(drain(&mut h, s), vec![message("x", &msg)], "round {round}");
            h.node
                .handle_input(h.now, Input::ClientWritten { client: s, bytes });
        }
        // b never reports a write: the confirmation and three messages pass 1000.
        assert_eq!(h.is_closed(b), round >= 2, "round {round}");
    }
    assert!(!h.is_closed(a) && !h.is_closed(c));
}

#[test]
fn a_subscriber_that_keeps_up_is_not_closed() {
    let (mut h, sub, publisher) = setup();
    with_limit(&mut h, publisher, "pubsub 1000 500 1");
    call_all(&mut h, sub, &["SUBSCRIBE", "a"]);
    let msg = payload(400);
    for _ in 0..20 {
        assert_eq!(h.call(publisher, &["PUBLISH", "a", &msg]), Frame::Int(1));
        let bytes = h.pending_bytes(sub).len();
        drain(&mut h, sub);
        h.node
            .handle_input(h.now, Input::ClientWritten { client: sub, bytes });
        h.advance_ticking(500);
    }
    assert!(!h.is_closed(sub));
}

#[test]
fn the_soft_limit_closes_after_its_seconds_over_it() {
    let (mut h, sub, publisher) = setup();
    with_limit(&mut h, publisher, "pubsub 0 1000 2");
    call_all(&mut h, sub, &["SUBSCRIBE", "a"]);
    let msg = payload(600);
    h.call(publisher, &["PUBLISH", "a", &msg]);
    h.call(publisher, &["PUBLISH", "a", &msg]);
    h.advance_ticking(2_000);
    assert!(!h.is_closed(sub), "over the soft limit for 2 s only");
    h.advance_ticking(1_000);
    assert!(h.is_closed(sub), "over it for more than 2 s");
}

#[test]
fn going_back_under_the_soft_limit_restarts_its_clock() {
    let (mut h, sub, publisher) = setup();
    with_limit(&mut h, publisher, "pubsub 0 1000 2");
    call_all(&mut h, sub, &["SUBSCRIBE", "a"]);
    let msg = payload(600);
    h.call(publisher, &["PUBLISH", "a", &msg]);
    h.call(publisher, &["PUBLISH", "a", &msg]);
    h.advance_ticking(2_000);
    let bytes = h.pending_bytes(sub).len();
    h.node
        .handle_input(h.now, Input::ClientWritten { client: sub, bytes });
    h.advance_ticking(200);
    h.call(publisher, &["PUBLISH", "a", &msg]);
    h.call(publisher, &["PUBLISH", "a", &msg]);
    h.advance_ticking(2_000);
    assert!(!h.is_closed(sub), "2 s over the limit since it came back");
    h.advance_ticking(1_000);
    assert!(h.is_closed(sub));
}

#[test]
fn the_normal_class_limits_big_replies() {
    let (mut h, c, admin) = setup();
    with_limit(&mut h, admin, "normal 100 0 0");
    assert_eq!(h.call(c, &["SET", "big", &payload(200)]), ok());
    h.send_raw(c, &crate::testing::request(&[b"GET", b"big"]));
    assert_eq!(h.read(c), None, "the reply is dropped");
    assert!(h.is_closed(c));
}

#[test]
fn client_output_buffer_limit_config() {
    let (mut h, c, _) = setup();
    let get = |h: &mut Harness| h.call(c, &["CONFIG", "GET", "client-output-buffer-limit"]);
    assert_eq!(
        get(&mut h),
        arr(&[
            bulk("client-output-buffer-limit"),
            bulk("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
        ])
    );
    with_limit(&mut h, c, "pubsub 1mb 2k 5");
    assert_eq!(
        get(&mut h),
        arr(&[
            bulk("client-output-buffer-limit"),
            bulk("normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2000 5")
        ])
    );
    assert_eq!(
        h.call(
            c,
            &["CONFIG", "SET", "client-output-buffer-limit", "foo 1 2 3"]
        ),
        Frame::Error(
            "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - \
             Invalid client class specified in buffer limit configuration."
                .into()
        )
    );
}

#[test]
fn a_subscriber_closed_for_an_oversized_query_leaves_no_subscription_behind() {
    let mut h = Harness::new(Config {
        client_query_buffer_limit: 1024 * 1024,
        ..Config::default()
    });
    let subscriber = h.connect();
    let other = h.connect();
    h.call(subscriber, &["SUBSCRIBE", "ch"]);
    // A bulk header promising more than the limit, then the limit's worth.
    h.send_raw(subscriber, b"*2\r\n$7\r\nPUBLISH\r\n$2000000\r\n");
    h.send_raw(subscriber, &vec![b'x'; 1024 * 1024 + 1]);
    assert!(h.is_closed(subscriber));
    assert_eq!(
        h.call(other, &["PUBSUB", "NUMSUB", "ch"]),
        arr(&[bulk("ch"), Frame::Int(0)])
    );
    assert_eq!(h.call(other, &["PUBLISH", "ch", "hi"]), Frame::Int(0));
}
