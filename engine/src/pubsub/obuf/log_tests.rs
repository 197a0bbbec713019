//! The warning logged for a client closed for its output buffer, for every
//! way one is closed: a publish to it, its own reply, a script's reply, and
//! the soft limit seen by the cron.

use crate::client::ClientId;
use crate::config::Config;
use crate::node::LogLevel;
use crate::resp::frame::Frame;
use crate::testing::{request, Harness};

const SUFFIX: &str = " scheduled to be closed ASAP for overcoming of output buffer limits.";

fn with_limit(h: &mut Harness, c: ClientId, limit: &str) {
    let reply = h.call(c, &["CONFIG", "SET", "client-output-buffer-limit", limit]);
    assert_eq!(reply, Frame::Simple("OK".into()));
}

/// The output-limit warnings logged so far, with the client info between
/// `Client ` and the suffix.
fn warnings(h: &Harness) -> Vec<String> {
    h.log
        .iter()
        .filter(|(level, text)| *level == LogLevel::Warning && text.ends_with(SUFFIX))
        .map(|(_, text)| {
            let info = text.strip_prefix("Client ").expect("Redis's text");
            info.strip_suffix(SUFFIX).expect("Redis's text").to_string()
        })
        .collect()
}

/// The one output-limit warning logged so far (see [`warnings`]).
fn the_only_warning(h: &Harness) -> String {
    let logged = warnings(h);
    assert_eq!(logged.len(), 1, "{logged:?}");
    logged.into_iter().next().expect("one warning")
}

/// The value of `field` in a client info line.
fn field<'a>(info: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}=");
    info.split(' ')
        .find_map(|f| f.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
}

#[test]
fn a_subscriber_closed_at_its_hard_limit_is_logged_once_with_its_info() {
    let mut h = Harness::new(Config::default());
    let sub = h.connect();
    let publisher = h.connect();
    with_limit(&mut h, publisher, "pubsub 1000 0 0");
    h.call(sub, &["SUBSCRIBE", "ch"]);
    let message = "x".repeat(400);
    h.call(publisher, &["PUBLISH", "ch", &message]);
    assert!(warnings(&h).is_empty(), "under the limit: {:?}", h.log);
    // Never reported written: three messages pass 1000 bytes.
    h.call(publisher, &["PUBLISH", "ch", &message]);
    h.call(publisher, &["PUBLISH", "ch", &message]);
    assert!(h.is_closed(sub));
    let logged = the_only_warning(&h);
    let prefix = format!(
        "id={sub} addr=127.0.0.1:50000 laddr=127.0.0.1:6379 fd=8 name= age=0 idle=0 flags=P db=0 \
         sub=1 psub=0 ssub=0 multi=-1 "
    );
    assert!(logged.starts_with(&prefix), "{logged}");
    assert_eq!(field(&logged, "cmd"), "subscribe");
    assert_eq!(field(&logged, "user"), "default");
    assert_eq!(field(&logged, "resp"), "2");
    // Nothing more is logged for it afterwards.
    h.call(publisher, &["PUBLISH", "ch", &message]);
    h.advance_ticking(2_000);
    assert_eq!(warnings(&h).len(), 1);
}

#[test]
fn a_subscriber_closed_by_the_cron_at_its_soft_limit_is_logged() {
    let mut h = Harness::new(Config::default());
    let sub = h.connect();
    let publisher = h.connect();
    with_limit(&mut h, publisher, "pubsub 0 1000 1");
    h.call(sub, &["PSUBSCRIBE", "c*"]);
    let message = "x".repeat(600);
    h.call(publisher, &["PUBLISH", "ch", &message]);
    h.call(publisher, &["PUBLISH", "ch", &message]);
    assert!(warnings(&h).is_empty());
    h.advance_ticking(2_100);
    assert!(h.is_closed(sub));
    let logged = the_only_warning(&h);
    assert_eq!(field(&logged, "id"), sub.to_string());
    assert_eq!(field(&logged, "flags"), "P");
    assert_eq!(field(&logged, "psub"), "1");
    assert_eq!(field(&logged, "cmd"), "psubscribe");
}

#[test]
fn a_resp3_client_over_its_limit_from_its_own_publish_is_logged() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    h.call(c, &["HELLO", "3"]);
    with_limit(&mut h, c, "pubsub 1000 0 0");
    h.call(c, &["SUBSCRIBE", "ch"]);
    h.send_raw(
        c,
        &request(&[b"PUBLISH", b"ch", "x".repeat(2000).as_bytes()]),
    );
    assert!(h.is_closed(c));
    let logged = the_only_warning(&h);
    assert_eq!(field(&logged, "id"), c.to_string());
    assert_eq!(field(&logged, "cmd"), "publish");
    assert_eq!(field(&logged, "resp"), "3");
}

#[test]
fn a_normal_client_over_its_limit_from_its_own_reply_is_logged() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    with_limit(&mut h, c, "normal 100 0 0");
    h.call(c, &["SET", "big", &"x".repeat(200)]);
    assert!(warnings(&h).is_empty());
    h.send_raw(c, &request(&[b"GET", b"big"]));
    assert!(h.is_closed(c));
    let logged = the_only_warning(&h);
    assert_eq!(field(&logged, "id"), c.to_string());
    assert_eq!(field(&logged, "flags"), "N");
    assert_eq!(field(&logged, "cmd"), "get");
}

#[test]
fn a_script_caller_over_its_limit_is_logged() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    with_limit(&mut h, c, "normal 100 0 0");
    h.send_raw(
        c,
        &request(&[b"EVAL", b"return string.rep('x', 500)", b"0"]),
    );
    assert!(h.is_closed(c));
    let logged = the_only_warning(&h);
    assert_eq!(field(&logged, "id"), c.to_string());
    assert_eq!(field(&logged, "cmd"), "eval");
}
