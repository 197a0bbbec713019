use super::*;
use crate::client::ClientInfo;
use crate::resp::frame::{read_frame, Frame};
use crate::testing::Harness;
use crate::time::Now;
use crate::types::{StrValue, Value};
use bytes::BytesMut;

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.to_string().into())
}

fn pmessage(pattern: &str, channel: &str, payload: &str) -> Frame {
    Frame::Array(vec![
        bulk("pmessage"),
        bulk(pattern),
        bulk(channel),
        bulk(payload),
    ])
}

fn drain(h: &mut Harness, c: crate::client::ClientId) -> Vec<Frame> {
    std::iter::from_fn(|| h.read(c)).collect()
}

/// A harness with `flags` as notify-keyspace-events and a subscriber to
/// every keyspace and keyevent channel; returns (harness, subscriber, other).
fn watching(flags: &str) -> (Harness, u64, u64) {
    let mut h = Harness::new(Config::default());
    let sub = h.connect();
    let c = h.connect();
    let set = h.call(c, &["CONFIG", "SET", "notify-keyspace-events", flags]);
    assert_eq!(set, Frame::Simple("OK".into()));
    h.call(sub, &["PSUBSCRIBE", "__key*__:*"]);
    (h, sub, c)
}

/// Both messages of one event on `key` in db 0, keyspace first.
fn event(name: &str, key: &str, db: usize) -> Vec<Frame> {
    vec![
        pmessage("__key*__:*", &format!("__keyspace@{db}__:{key}"), name),
        pmessage("__key*__:*", &format!("__keyevent@{db}__:{name}"), key),
    ]
}

#[test]
fn flags_parse_and_render_as_redis() {
    let cases = [
        ("", ""),
        ("KEA", "AKE"),
        ("KEAn", "AKE"),
        ("AAg", "A"),
        ("gxmnE$", "g$xnEm"),
        ("g$lshzxetd", "A"),
        ("g$lshzxet", "g$lshzxet"),
        ("Kdn", "dnK"),
        ("nmEKdtexzhsl$g", "AKEm"),
    ];
    for (given, shown) in cases {
        let flags = parse_flags(given).unwrap();
        assert_eq!(render_flags(flags), shown, "{given:?}");
        assert_eq!(parse_flags(shown).map(render_flags), Ok(shown.to_string()));
    }
    assert_eq!(parse_flags("KEQ"), Err(INVALID_CLASS.to_string()));
    assert_eq!(
        parse_flags("k"),
        Err(INVALID_CLASS.to_string()),
        "case matters"
    );
}

#[test]
fn config_set_and_get_normalise() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let get = |h: &mut Harness| h.call(c, &["CONFIG", "GET", "notify-keyspace-events"]);
    let pair = |v: &str| Frame::Array(vec![bulk("notify-keyspace-events"), bulk(v)]);
    assert_eq!(get(&mut h), pair(""));
    h.call(c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    assert_eq!(get(&mut h), pair("AKE"));
    assert_eq!(
        h.call(c, &["CONFIG", "SET", "notify-keyspace-events", "Q"]),
        Frame::Error(
            "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - \
             Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
                .into()
        )
    );
    assert_eq!(get(&mut h), pair("AKE"), "unchanged");
}

#[test]
fn key_misses_publish_keymiss_in_the_clients_db() {
    let (mut h, sub, c) = watching("KEm");
    assert_eq!(h.call(c, &["GET", "nokey"]), Frame::Null);
    assert_eq!(drain(&mut h, sub), event("keymiss", "nokey", 0));
    h.call(c, &["SELECT", "3"]);
    h.call(c, &["GET", "zz"]);
    assert_eq!(drain(&mut h, sub), event("keymiss", "zz", 3));
    // A hit publishes nothing; nor does a write's lookup.
    h.call(c, &["SET", "k", "v"]);
    h.call(c, &["GET", "k"]);
    assert_eq!(drain(&mut h, sub), vec![]);
}

#[test]
fn only_enabled_classes_publish_and_k_or_e_is_needed() {
    let (mut h, sub, c) = watching("m");
    h.call(c, &["GET", "nokey"]);
    assert_eq!(drain(&mut h, sub), vec![], "m without K or E");
    h.call(c, &["CONFIG", "SET", "notify-keyspace-events", "E$"]);
    h.call(c, &["GET", "nokey"]);
    assert_eq!(drain(&mut h, sub), vec![], "m is off");
    h.call(c, &["CONFIG", "SET", "notify-keyspace-events", "Em"]);
    h.call(c, &["GET", "nokey"]);
    assert_eq!(
        drain(&mut h, sub),
        event("keymiss", "nokey", 0)[1..].to_vec()
    );
    h.call(c, &["CONFIG", "SET", "notify-keyspace-events", "Km"]);
    h.call(c, &["GET", "nokey"]);
    assert_eq!(
        drain(&mut h, sub),
        event("keymiss", "nokey", 0)[..1].to_vec()
    );
}

#[test]
fn lazy_expiry_publishes_expired_before_the_miss() {
    let (mut h, sub, c) = watching("KExm");
    h.node.server_mut().active_expire_enabled = false;
    h.call(c, &["SET", "k", "v", "PX", "100"]);
    h.advance(200);
    assert_eq!(h.call(c, &["GET", "k"]), Frame::Null);
    let mut want = event("expired", "k", 0);
    want.extend(event("keymiss", "k", 0));
    assert_eq!(drain(&mut h, sub), want);
}

#[test]
fn active_expiry_publishes_expired() {
    let (mut h, sub, c) = watching("Ex");
    h.call(c, &["SELECT", "2"]);
    h.call(c, &["SET", "k", "v", "PX", "100"]);
    h.advance_ticking(1_000);
    assert_eq!(drain(&mut h, sub), event("expired", "k", 2)[1..].to_vec());
}

#[test]
fn expired_events_and_effects_share_the_log() {
    let (mut h, sub, c) = watching("KEx");
    h.record_effects();
    h.node.server_mut().active_expire_enabled = false;
    h.call(c, &["SET", "k", "v", "PX", "100"]);
    h.effects();
    h.advance(200);
    h.call(c, &["GET", "k"]);
    assert_eq!(drain(&mut h, sub), event("expired", "k", 0));
    assert_eq!(h.effects(), vec![vec!["db0", "DEL", "k"]]);
    // Effects stop; the events go on.
    h.node.record_effects(false);
    h.call(c, &["SET", "k2", "v", "PX", "100"]);
    h.advance(200);
    h.call(c, &["GET", "k2"]);
    assert_eq!(drain(&mut h, sub), event("expired", "k2", 0));
}

#[test]
fn creating_a_key_publishes_new() {
    let (mut h, sub, c) = watching("KEn");
    h.call(c, &["SET", "k", "v"]);
    assert_eq!(drain(&mut h, sub), event("new", "k", 0));
    h.call(c, &["SET", "k", "v2"]);
    h.call(c, &["APPEND", "k", "x"]);
    assert_eq!(drain(&mut h, sub), vec![], "k exists");
    h.call(c, &["RPUSH", "list", "a"]);
    h.call(c, &["SADD", "set", "a"]);
    let mut want = event("new", "list", 0);
    want.extend(event("new", "set", 0));
    assert_eq!(drain(&mut h, sub), want);
    h.call(c, &["CONFIG", "SET", "notify-keyspace-events", "KE"]);
    h.call(c, &["SET", "other", "v"]);
    assert_eq!(drain(&mut h, sub), vec![], "n is off");
}

#[test]
fn a_resp3_client_hears_its_own_events_before_its_reply() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    h.call(c, &["HELLO", "3"]);
    h.call(c, &["CONFIG", "SET", "notify-keyspace-events", "Em"]);
    h.call(c, &["SUBSCRIBE", "__keyevent@0__:keymiss"]);
    assert_eq!(
        h.call(c, &["GET", "gone"]),
        Frame::Push(vec![
            bulk("message"),
            bulk("__keyevent@0__:keymiss"),
            bulk("gone")
        ])
    );
    assert_eq!(h.read(c), Some(Frame::Null));
}

/// Drives [`keyspace_event`] directly, as a command handler's
/// `ctx.notify` does: the events logged on the way come first.
#[test]
fn command_events_follow_the_logged_ones() {
    let mut srv = Server::new(Config::default(), Now::new(0, 0));
    srv.config.notify_keyspace_events = parse_flags("KA$n").unwrap();
    let mut caller = Client::new(1, ClientInfo::default(), 0, true);
    let mut subscriber = Client::new(2, ClientInfo::default(), 0, true);
    srv.pubsub.subscribe(
        &mut subscriber,
        Kind::Channel,
        &Bytes::from("__keyspace@0__:k"),
    );
    subscriber.out.clear();
    let mut others = Clients::new();
    others.insert(2, Box::new(subscriber));
    sync_key_logs(&mut srv);
    let value = Value::Str(StrValue::from_bytes(b"v"));
    srv.dbs[0].set(b"k", value, 0, false);
    keyspace_event(
        &mut srv,
        &mut caller,
        &mut others,
        class::STRING,
        "set",
        b"k",
        0,
    );
    keyspace_event(
        &mut srv,
        &mut caller,
        &mut others,
        class::LIST,
        "lpush",
        b"k",
        0,
    );
    keyspace_event(
        &mut srv,
        &mut caller,
        &mut others,
        class::KEY_MISS,
        "keymiss",
        b"k",
        0,
    );
    let out = &mut BytesMut::from(&others[&2].out[..]);
    let frames: Vec<Frame> = std::iter::from_fn(|| read_frame(out).unwrap()).collect();
    let message = |payload: &str| {
        Frame::Array(vec![
            bulk("message"),
            bulk("__keyspace@0__:k"),
            bulk(payload),
        ])
    };
    assert_eq!(
        frames,
        vec![message("new"), message("set"), message("lpush")]
    );
    assert_eq!(srv.pubsub.take_pending_flush(), vec![2]);
    assert!(caller.out.is_empty());
}
