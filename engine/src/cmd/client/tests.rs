use crate::client::{ClientId, ClientInfo};
use crate::cmd::server::tests::{bulk, err, ok};
use crate::config::Config;
use crate::resp::frame::Frame;
use crate::testing::{request, Harness};

/// A client connected from `addr` to `laddr`.
fn connect_from(h: &mut Harness, addr: &str, laddr: &str) -> ClientId {
    let info = ClientInfo {
        addr: addr.into(),
        laddr: laddr.into(),
        fd: 10,
    };
    h.node.accept_client(h.now, info)
}

/// CLIENT LIST / CLIENT INFO lines as ordered (field, value) pairs.
fn parse_lines(frame: Frame) -> Vec<Vec<(String, String)>> {
    let text = frame.text().expect("a bulk string");
    assert!(text.is_empty() || text.ends_with('\n'));
    text.lines()
        .map(|line| {
            line.split(' ')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').expect("field=value");
                    (k.to_string(), v.to_string())
                })
                .collect()
        })
        .collect()
}

fn field<'a>(line: &'a [(String, String)], name: &str) -> &'a str {
    line.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no field {name}"))
}

fn ids(frame: Frame) -> Vec<u64> {
    parse_lines(frame)
        .iter()
        .map(|l| field(l, "id").parse().unwrap())
        .collect()
}

#[test]
fn id_getname_setname() {
    let mut h = Harness::new(Config::default());
    let a = h.connect();
    let b = h.connect();
    assert_eq!(h.call(a, &["CLIENT", "ID"]), Frame::Int(a as i64));
    assert_eq!(h.call(b, &["client", "id"]), Frame::Int(b as i64));
    assert_eq!(h.call(a, &["CLIENT", "GETNAME"]), Frame::Null);
    assert_eq!(h.call(a, &["CLIENT", "SETNAME", "worker-1"]), ok());
    assert_eq!(h.call(a, &["CLIENT", "GETNAME"]), bulk("worker-1"));
    assert_eq!(
        h.call(a, &["CLIENT", "SETNAME", "a b"]),
        err("ERR Client names cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(h.call(a, &["CLIENT", "GETNAME"]), bulk("worker-1"));
    assert_eq!(h.call(a, &["CLIENT", "SETNAME", ""]), ok());
    assert_eq!(h.call(a, &["CLIENT", "GETNAME"]), Frame::Null);
    assert_eq!(
        h.call(a, &["CLIENT", "ID", "x"]),
        err("ERR wrong number of arguments for 'client|id' command")
    );
    assert_eq!(
        h.call(a, &["CLIENT", "nosuch"]),
        err("ERR unknown subcommand 'nosuch'. Try CLIENT HELP.")
    );
}

#[test]
fn setinfo_sets_lib_name_and_version() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    assert_eq!(
        h.call(c, &["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]),
        ok()
    );
    assert_eq!(h.call(c, &["CLIENT", "SETINFO", "lib-ver", "5.0.1"]), ok());
    let line = &parse_lines(h.call(c, &["CLIENT", "INFO"]))[0];
    assert_eq!(field(line, "lib-name"), "redis-py");
    assert_eq!(field(line, "lib-ver"), "5.0.1");
    assert_eq!(
        h.call(c, &["CLIENT", "SETINFO", "lib-name", "a b"]),
        err("ERR lib-name cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(
        h.call(c, &["CLIENT", "SETINFO", "Lib-Foo", "x"]),
        err("ERR Unrecognized option 'Lib-Foo'")
    );
    assert_eq!(h.call(c, &["CLIENT", "SETINFO", "lib-ver", ""]), ok());
    let line = &parse_lines(h.call(c, &["CLIENT", "INFO"]))[0];
    assert_eq!(field(line, "lib-ver"), "");
    assert_eq!(field(line, "lib-name"), "redis-py");
}

#[test]
fn list_fields_are_redis_fields_in_order() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    h.advance(5_000);
    h.call(c, &["CLIENT", "SETNAME", "me"]);
    h.call(c, &["SELECT", "3"]);
    h.advance(2_000);
    let lines = parse_lines(h.call(c, &["CLIENT", "LIST"]));
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    let names: Vec<&str> = line.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "addr",
            "laddr",
            "fd",
            "name",
            "age",
            "idle",
            "flags",
            "db",
            "sub",
            "psub",
            "ssub",
            "multi",
            "qbuf",
            "qbuf-free",
            "argv-mem",
            "multi-mem",
            "rbs",
            "rbp",
            "obl",
            "oll",
            "omem",
            "tot-mem",
            "events",
            "cmd",
            "user",
            "redir",
            "resp",
            "lib-name",
            "lib-ver",
        ]
    );
    let expect = [
        ("id", c.to_string()),
        ("addr", "127.0.0.1:50000".into()),
        ("laddr", "127.0.0.1:6379".into()),
        ("fd", "8".into()),
        ("name", "me".into()),
        ("age", "7".into()),
        ("idle", "0".into()),
        ("flags", "N".into()),
        ("db", "3".into()),
        ("multi", "-1".into()),
        ("argv-mem", "10".into()),
        ("events", "r".into()),
        ("cmd", "client|list".into()),
        ("user", "default".into()),
        ("redir", "-1".into()),
        ("resp", "2".into()),
    ];
    for (name, value) in expect {
        assert_eq!(field(line, name), value, "{name}");
    }
    let tot: u64 = field(line, "tot-mem").parse().unwrap();
    assert!(tot > 0);
}

#[test]
fn list_shows_every_client_in_id_order_with_idle_and_flags() {
    let mut h = Harness::new(Config::default());
    let a = h.connect();
    let b = h.connect();
    let c = h.connect();
    h.call(c, &["CLIENT", "NO-EVICT", "on"]);
    h.call(c, &["CLIENT", "NO-TOUCH", "ON"]);
    h.call(a, &["PING"]);
    h.advance(3_000);
    let lines = parse_lines(h.call(b, &["CLIENT", "LIST"]));
    assert_eq!(
        lines
            .iter()
            .map(|l| field(l, "id").parse().unwrap())
            .collect::<Vec<u64>>(),
        [a, b, c]
    );
    assert_eq!(field(&lines[0], "cmd"), "ping");
    assert_eq!(field(&lines[0], "idle"), "3");
    assert_eq!(field(&lines[0], "argv-mem"), "0");
    assert_eq!(field(&lines[1], "idle"), "0");
    assert_eq!(field(&lines[2], "flags"), "eT");
    assert_eq!(field(&lines[2], "cmd"), "client|no-touch");
    h.call(c, &["CLIENT", "NO-EVICT", "off"]);
    h.call(c, &["CLIENT", "NO-TOUCH", "off"]);
    let line = &parse_lines(h.call(c, &["CLIENT", "INFO"]))[0];
    assert_eq!(field(line, "flags"), "N");
}

#[test]
fn list_filters_by_type_or_ids() {
    let mut h = Harness::new(Config::default());
    let a = h.connect();
    let b = h.connect();
    let c = h.connect();
    assert_eq!(
        ids(h.call(a, &["CLIENT", "LIST", "TYPE", "Normal"])),
        [a, b, c]
    );
    for kind in ["master", "replica", "slave", "pubsub"] {
        assert_eq!(
            h.call(a, &["CLIENT", "LIST", "TYPE", kind]),
            bulk(""),
            "{kind}"
        );
    }
    let id_args = [a.to_string(), c.to_string(), "999".into(), "-1".into()];
    let mut args = vec!["CLIENT", "LIST", "ID"];
    args.extend(id_args.iter().map(String::as_str));
    assert_eq!(ids(h.call(b, &args)), [a, c]);
    let cases: [(&[&str], &str); 5] = [
        (&["TYPE", "foo"], "ERR Unknown client type 'foo'"),
        (&["ID", "3", "x"], "ERR Invalid client ID"),
        (&["ID", "3", "TYPE", "normal"], "ERR Invalid client ID"),
        (&["ID"], "ERR syntax error"),
        (&["TYPE", "normal", "ID", "3"], "ERR syntax error"),
    ];
    for (rest, expected) in cases {
        let mut args = vec!["CLIENT", "LIST"];
        args.extend(rest);
        assert_eq!(h.call(a, &args), err(expected), "{rest:?}");
    }
}

#[test]
fn list_and_info_are_verbatim_in_resp3() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    h.call(c, &["HELLO", "3"]);
    let Frame::Verbatim(format, text) = h.call(c, &["CLIENT", "INFO"]) else {
        panic!("verbatim string")
    };
    assert_eq!(format, "txt");
    assert!(text.ends_with(b"resp=3 lib-name= lib-ver=\n"));
    assert!(matches!(
        h.call(c, &["CLIENT", "LIST"]),
        Frame::Verbatim(_, _)
    ));
}

#[test]
fn kill_by_address_old_form() {
    let mut h = Harness::new(Config {
        protected_mode: false,
        ..Config::default()
    });
    let admin = connect_from(&mut h, "127.0.0.1:1000", "127.0.0.1:6379");
    let victim = connect_from(&mut h, "10.0.0.7:5555", "10.0.0.1:6379");
    assert_eq!(h.call(admin, &["CLIENT", "KILL", "10.0.0.7:5555"]), ok());
    assert!(h.is_closed(victim));
    assert_eq!(h.node.client_count(), 1);
    assert_eq!(ids(h.call(admin, &["CLIENT", "LIST"])), [admin]);
    assert_eq!(
        h.call(admin, &["CLIENT", "KILL", "10.0.0.7:5555"]),
        err("ERR No such client")
    );
    // The old form may name the caller itself: OK, then the connection closes.
    assert_eq!(h.call(admin, &["CLIENT", "KILL", "127.0.0.1:1000"]), ok());
    assert!(h.is_closed(admin));
}

#[test]
fn kill_of_another_client_closes_it_and_drops_its_pending_input() {
    let mut h = Harness::new(Config::default());
    let admin = h.connect();
    let victim = h.connect();
    // Half a command waits in the victim's buffer.
    h.send_raw(victim, b"*1\r\n$4\r\nPI");
    let id = victim.to_string();
    assert_eq!(h.call(admin, &["CLIENT", "KILL", "ID", &id]), Frame::Int(1));
    assert!(h.is_closed(victim));
    h.send_raw(victim, b"NG\r\n");
    assert_eq!(h.read(victim), None, "a killed client gets nothing");
    assert_eq!(h.call(admin, &["CLIENT", "KILL", "ID", &id]), Frame::Int(0));
}

#[test]
fn kill_filters_combine_and_skip_the_caller_by_default() {
    let mut h = Harness::new(Config {
        protected_mode: false,
        ..Config::default()
    });
    let admin = connect_from(&mut h, "127.0.0.1:1000", "127.0.0.1:6379");
    let a = connect_from(&mut h, "10.0.0.1:1", "10.0.0.100:6379");
    let b = connect_from(&mut h, "10.0.0.2:2", "10.0.0.100:6380");
    let c = connect_from(&mut h, "10.0.0.3:3", "10.0.0.100:6379");
    assert_eq!(
        h.call(
            admin,
            &[
                "CLIENT",
                "KILL",
                "LADDR",
                "10.0.0.100:6379",
                "ADDR",
                "10.0.0.3:3"
            ]
        ),
        Frame::Int(1)
    );
    assert!(h.is_closed(c) && !h.is_closed(a));
    assert_eq!(
        h.call(admin, &["CLIENT", "KILL", "laddr", "10.0.0.100:6380"]),
        Frame::Int(1)
    );
    assert!(h.is_closed(b));
    assert_eq!(
        h.call(
            admin,
            &["CLIENT", "KILL", "USER", "default", "TYPE", "normal"]
        ),
        Frame::Int(1),
        "the caller is skipped"
    );
    assert!(h.is_closed(a) && !h.is_closed(admin));
    assert_eq!(
        h.call(admin, &["CLIENT", "KILL", "TYPE", "pubsub", "SKIPME", "no"]),
        Frame::Int(0)
    );
    assert_eq!(
        h.call(admin, &["CLIENT", "KILL", "SKIPME", "no"]),
        Frame::Int(1),
        "killing itself still answers"
    );
    assert!(h.is_closed(admin));
}

#[test]
fn kill_maxage_kills_connections_at_least_that_old() {
    let mut h = Harness::new(Config::default());
    let old = h.connect();
    h.advance(10_000);
    let young = h.connect();
    h.advance(2_000);
    assert_eq!(
        h.call(young, &["CLIENT", "KILL", "MAXAGE", "20"]),
        Frame::Int(0)
    );
    assert_eq!(
        h.call(young, &["CLIENT", "KILL", "MAXAGE", "12"]),
        Frame::Int(1)
    );
    assert!(h.is_closed(old) && !h.is_closed(young));
}

#[test]
fn kill_errors_match_redis() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let cases: [(&[&str], &str); 12] = [
        (&["nosuch:1"], "ERR No such client"),
        (&["foo"], "ERR No such client"),
        (&["foo", "bar"], "ERR syntax error"),
        (&["ID", "abc"], "ERR client-id should be greater than 0"),
        (&["ID", "0"], "ERR client-id should be greater than 0"),
        (&["ID", "1", "ID"], "ERR syntax error"),
        (&["TYPE", "foo"], "ERR Unknown client type 'foo'"),
        (&["USER", "nouser"], "ERR No such user 'nouser'"),
        (&["SKIPME", "maybe"], "ERR syntax error"),
        (
            &["MAXAGE", "abc"],
            "ERR maxage is not an integer or out of range",
        ),
        (&["MAXAGE", "0"], "ERR maxage should be greater than 0"),
        (&["ADDR", "1.1.1.1:1", "LADDR"], "ERR syntax error"),
    ];
    for (rest, expected) in cases {
        let mut args = vec!["CLIENT", "KILL"];
        args.extend(rest);
        assert_eq!(h.call(c, &args), err(expected), "{rest:?}");
    }
    assert!(!h.is_closed(c));
}

#[test]
fn reply_off_on_and_skip() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    h.send_raw(c, &request(&[b"CLIENT", b"REPLY", b"OFF"]));
    h.send_raw(c, &request(&[b"PING"]));
    h.send_raw(c, &request(&[b"NOSUCH"]));
    assert!(
        h.pending_bytes(c).is_empty(),
        "nothing while OFF, errors included"
    );
    assert_eq!(h.call(c, &["CLIENT", "REPLY", "ON"]), ok());
    h.send_raw(c, &request(&[b"CLIENT", b"REPLY", b"SKIP"]));
    h.send_raw(c, &request(&[b"ECHO", b"skipped"]));
    assert!(h.pending_bytes(c).is_empty());
    assert_eq!(h.call(c, &["ECHO", "seen"]), bulk("seen"));
    // SKIP while OFF leaves it OFF.
    h.send_raw(c, &request(&[b"CLIENT", b"REPLY", b"OFF"]));
    h.send_raw(c, &request(&[b"CLIENT", b"REPLY", b"SKIP"]));
    h.send_raw(c, &request(&[b"ECHO", b"a"]));
    h.send_raw(c, &request(&[b"ECHO", b"b"]));
    assert!(h.pending_bytes(c).is_empty());
    assert_eq!(h.call(c, &["CLIENT", "REPLY", "on"]), ok());
    assert_eq!(
        h.call(c, &["CLIENT", "REPLY", "foo"]),
        err("ERR syntax error")
    );
    assert_eq!(
        h.call(c, &["CLIENT", "REPLY"]),
        err("ERR wrong number of arguments for 'client|reply' command")
    );
}

#[test]
fn no_evict_and_no_touch_take_on_or_off() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    assert_eq!(h.call(c, &["CLIENT", "NO-EVICT", "ON"]), ok());
    assert_eq!(h.call(c, &["CLIENT", "NO-TOUCH", "on"]), ok());
    assert_eq!(
        h.call(c, &["CLIENT", "NO-EVICT", "maybe"]),
        err("ERR syntax error")
    );
    assert_eq!(
        h.call(c, &["CLIENT", "NO-TOUCH", "yes"]),
        err("ERR syntax error")
    );
}

#[test]
fn help_lists_the_subcommands() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let Frame::Array(lines) = h.call(c, &["CLIENT", "HELP"]) else {
        panic!("array")
    };
    let lines: Vec<String> = lines.iter().map(|l| l.text().unwrap()).collect();
    assert_eq!(
        lines[0],
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    for entry in [
        "KILL <ip:port>",
        "REPLY (ON|OFF|SKIP)",
        "NO-TOUCH (ON|OFF)",
        "HELP",
    ] {
        assert!(lines.iter().any(|l| l == entry), "{entry}");
    }
}

#[test]
fn list_shows_output_handed_over_and_not_yet_written_as_omem() {
    let mut h = Harness::new(Config::default());
    let subscriber = h.connect();
    let publisher = h.connect();
    h.call(subscriber, &["SUBSCRIBE", "ch"]);
    let payload = "x".repeat(40_000);
    h.call(publisher, &["PUBLISH", "ch", &payload]);
    let output = |h: &mut Harness| {
        let lines = parse_lines(h.call(publisher, &["CLIENT", "LIST"]));
        let line = lines
            .iter()
            .find(|l| field(l, "id") == subscriber.to_string())
            .expect("the subscriber is listed")
            .clone();
        (
            field(&line, "oll").to_string(),
            field(&line, "omem").to_string(),
        )
    };
    // The harness never reports a write: all the subscriber got is
    // pending, its SUBSCRIBE reply and the message.
    let message = h.pending_bytes(subscriber).len();
    assert!(message > 40_000);
    let (oll, omem) = output(&mut h);
    let omem: usize = omem.parse().unwrap();
    assert!(omem > message && omem < message + 100, "{omem}");
    assert_eq!(oll, "3", "40 KB in blocks of 16 KiB");
    h.node.handle_input(
        h.now,
        crate::node::Input::ClientWritten {
            client: subscriber,
            bytes: omem - 100,
        },
    );
    assert_eq!(output(&mut h), ("1".to_string(), "100".to_string()));
}
