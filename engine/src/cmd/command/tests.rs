use super::{keys_reply, COMMANDS as COMMAND_GROUP};
use crate::cmd::server::tests::{bulk, err};
use crate::cmd::{flags::*, CommandSpec, Ctx, FindKeys, KeySpec};
use crate::config::Config;
use crate::resp::frame::Frame;
use crate::resp::Reply;
use crate::testing::Harness;
use bytes::Bytes;

fn status(s: &str) -> Frame {
    Frame::Simple(s.into())
}

fn names(frame: Frame) -> Vec<String> {
    let Frame::Array(items) = frame else {
        panic!("array")
    };
    items.iter().map(|f| f.text().unwrap()).collect()
}

#[test]
fn count_is_the_number_of_top_level_commands() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let expected: usize = crate::cmd::all_groups().iter().map(|g| g.len()).sum();
    assert_eq!(
        h.call(c, &["COMMAND", "COUNT"]),
        Frame::Int(expected as i64)
    );
    let Frame::Array(all) = h.call(c, &["COMMAND"]) else {
        panic!("array")
    };
    assert_eq!(all.len(), expected);
    assert_eq!(h.call(c, &["COMMAND", "INFO"]), Frame::Array(all));
}

/// COMMAND INFO dbsize, as the real server answers it.
fn dbsize_entry(set: fn(Vec<Frame>) -> Frame) -> Frame {
    Frame::Array(vec![
        bulk("dbsize"),
        Frame::Int(1),
        set(vec![status("readonly"), status("fast")]),
        Frame::Int(0),
        Frame::Int(0),
        Frame::Int(0),
        set(vec![status("@keyspace"), status("@read"), status("@fast")]),
        set(vec![
            bulk("request_policy:all_shards"),
            bulk("response_policy:agg_sum"),
        ]),
        set(vec![]),
        set(vec![]),
    ])
}

#[test]
fn info_entry_matches_redis_in_both_protocols() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    assert_eq!(
        h.call(c, &["COMMAND", "INFO", "DBSIZE", "nosuch"]),
        Frame::Array(vec![dbsize_entry(Frame::Array), Frame::Null])
    );
    h.call(c, &["HELLO", "3"]);
    assert_eq!(
        h.call(c, &["COMMAND", "INFO", "dbsize"]),
        Frame::Array(vec![dbsize_entry(Frame::Set)])
    );
}

#[test]
fn info_of_containers_and_subcommands() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let Frame::Array(entries) = h.call(c, &["COMMAND", "INFO", "config", "config|get"]) else {
        panic!("array")
    };
    let Frame::Array(config) = &entries[0] else {
        panic!("entry")
    };
    assert_eq!(config[0], bulk("config"));
    assert_eq!(config[1], Frame::Int(-2));
    assert_eq!(config[2], Frame::Array(vec![]));
    assert_eq!(config[6], Frame::Array(vec![status("@slow")]));
    let Frame::Array(subs) = &config[9] else {
        panic!("subcommands")
    };
    let sub_names: Vec<String> = subs
        .iter()
        .map(|s| match s {
            Frame::Array(e) => e[0].text().unwrap(),
            _ => panic!("entry"),
        })
        .collect();
    assert_eq!(
        sub_names,
        [
            "config|get",
            "config|set",
            "config|resetstat",
            "config|rewrite",
            "config|help"
        ]
    );
    let get = Frame::Array(vec![
        bulk("config|get"),
        Frame::Int(-3),
        Frame::Array(
            ["admin", "noscript", "loading", "stale"]
                .map(status)
                .to_vec(),
        ),
        Frame::Int(0),
        Frame::Int(0),
        Frame::Int(0),
        Frame::Array(["@admin", "@slow", "@dangerous"].map(status).to_vec()),
        Frame::Array(vec![]),
        Frame::Array(vec![]),
        Frame::Array(vec![]),
    ]);
    assert_eq!(subs[0], get);
    assert_eq!(entries[1], get, "a subcommand by its full name");
}

#[test]
fn docs_has_summary_since_group_complexity_history_arguments_and_subcommands() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    h.call(c, &["HELLO", "3"]);
    let doc = |summary: &str, since: &str, complexity: &str| {
        vec![
            (bulk("summary"), bulk(summary)),
            (bulk("since"), bulk(since)),
            (bulk("group"), bulk("server")),
            (bulk("complexity"), bulk(complexity)),
        ]
    };
    assert_eq!(
        h.call(c, &["COMMAND", "DOCS", "dbsize", "nosuch"]),
        Frame::Map(vec![(
            bulk("dbsize"),
            Frame::Map(doc(
                "Return the number of keys in the selected database",
                "1.0.0",
                "O(1)"
            ))
        )])
    );
    let Frame::Map(top) = h.call(c, &["COMMAND", "DOCS", "config"]) else {
        panic!("map")
    };
    let Frame::Map(fields) = &top[0].1 else {
        panic!("map")
    };
    assert_eq!(
        fields[0].1,
        bulk("A container for server configuration commands")
    );
    let (key, Frame::Map(subs)) = &fields[4] else {
        panic!("subcommands map")
    };
    assert_eq!(key, &bulk("subcommands"));
    assert_eq!(subs[0].0, bulk("config|get"));
    let mut config_get = doc(
        "Get the values of configuration parameters",
        "2.0.0",
        "O(N) when N is the number of configuration parameters provided",
    );
    let history = Frame::Array(vec![
        bulk("7.0.0"),
        bulk("Added the ability to pass multiple pattern parameters in one call"),
    ]);
    config_get.push((bulk("history"), Frame::Set(vec![history])));
    let parameter = Frame::Map(vec![
        (bulk("name"), bulk("parameter")),
        (bulk("type"), bulk("string")),
    ]);
    let block = Frame::Map(vec![
        (bulk("name"), bulk("parameter")),
        (bulk("type"), bulk("block")),
        (bulk("flags"), Frame::Set(vec![status("multiple")])),
        (bulk("arguments"), Frame::Array(vec![parameter])),
    ]);
    config_get.push((bulk("arguments"), Frame::Array(vec![block])));
    assert_eq!(subs[0].1, Frame::Map(config_get));
    assert_eq!(
        h.call(c, &["COMMAND", "DOCS", "nosuch"]),
        Frame::Map(vec![])
    );
    let Frame::Map(all) = h.call(c, &["COMMAND", "DOCS"]) else {
        panic!("map")
    };
    assert_eq!(all.len(), crate::cmd::CommandTable::new().len());
}

#[test]
fn list_includes_subcommands_and_filters() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let all = names(h.call(c, &["COMMAND", "LIST"]));
    assert!(all.contains(&"config".to_string()));
    assert!(all.contains(&"config|get".to_string()));
    assert!(all.contains(&"client|kill".to_string()));
    assert_eq!(
        names(h.call(c, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "CONFIG*"])),
        [
            "config",
            "config|get",
            "config|set",
            "config|resetstat",
            "config|rewrite",
            "config|help"
        ]
    );
    let dangerous = names(h.call(c, &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "Dangerous"]));
    for name in ["flushall", "config|set", "client|kill", "debug", "info"] {
        assert!(dangerous.contains(&name.to_string()), "{name}");
    }
    assert!(!dangerous.contains(&"config".to_string()));
    assert!(!dangerous.contains(&"ping".to_string()));
    for empty in [
        &["FILTERBY", "ACLCAT", "@dangerous"][..],
        &["FILTERBY", "ACLCAT", "nosuch"],
        &["FILTERBY", "MODULE", "foo"],
    ] {
        let mut args = vec!["COMMAND", "LIST"];
        args.extend(empty);
        assert_eq!(h.call(c, &args), Frame::Array(vec![]), "{empty:?}");
    }
    for bad in [
        &["foo"][..],
        &["FILTERBY"],
        &["FILTERBY", "foo", "x"],
        &["FILTERBY", "ACLCAT"],
        &["FILTERBY", "PATTERN", "a", "b"],
    ] {
        let mut args = vec!["COMMAND", "LIST"];
        args.extend(bad);
        assert_eq!(h.call(c, &args), err("ERR syntax error"), "{bad:?}");
    }
}

#[test]
fn getkeys_errors_through_the_node() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    assert_eq!(
        h.call(c, &["COMMAND", "GETKEYS", "nosuch", "a"]),
        err("ERR Invalid command specified")
    );
    assert_eq!(
        h.call(c, &["COMMAND", "GETKEYS", "config", "nosuch", "x"]),
        err("ERR Invalid command specified")
    );
    assert_eq!(
        h.call(c, &["COMMAND", "GETKEYS", "config|get", "x"]),
        err("ERR Invalid command specified")
    );
    assert_eq!(
        h.call(c, &["COMMAND", "GETKEYS", "client", "list"]),
        err("ERR The command has no key arguments")
    );
    assert_eq!(
        h.call(c, &["COMMAND", "GETKEYSANDFLAGS", "echo", "x"]),
        err("ERR The command has no key arguments")
    );
    assert_eq!(
        h.call(c, &["COMMAND", "GETKEYS", "ping"]),
        err("ERR wrong number of arguments for 'command|getkeys' command")
    );
}

fn noop(_: &mut Ctx, _: &[Bytes]) -> Reply {
    Reply::OK
}

const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    key_specs: &'static [KeySpec],
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &[],
        tips: &[],
        key_specs,
        group: "test",
        since: "1.0.0",
        summary: "",
        complexity: "",
        handler: Some(noop),
        subcommands: &[],
        docs: crate::cmd::docs::Docs::NONE,
        getkeys: None,
    }
}

/// Key specs shaped like Redis's MSET, LMOVE, ZINTER and EVAL.
const MSET: CommandSpec = spec(
    "mset",
    -3,
    WRITE,
    &[KeySpec {
        notes: None,
        flags: &["OW", "update"],
        begin_index: 1,
        find: FindKeys::Range {
            lastkey: -1,
            step: 2,
            limit: 0,
        },
    }],
);
const LMOVE: CommandSpec = spec(
    "lmove",
    5,
    WRITE,
    &[
        KeySpec {
            notes: None,
            flags: &["RW", "access", "delete"],
            begin_index: 1,
            find: FindKeys::Range {
                lastkey: 0,
                step: 1,
                limit: 0,
            },
        },
        KeySpec {
            notes: None,
            flags: &["RW", "insert"],
            begin_index: 2,
            find: FindKeys::Range {
                lastkey: 0,
                step: 1,
                limit: 0,
            },
        },
    ],
);
const KEYNUM: FindKeys = FindKeys::Keynum {
    keynumidx: 0,
    firstkey: 1,
    step: 1,
};
const ZINTER: CommandSpec = spec(
    "zinter",
    -3,
    READONLY | MOVABLE_KEYS,
    &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin_index: 1,
        find: KEYNUM,
    }],
);
const EVAL: CommandSpec = spec(
    "eval",
    -3,
    NO_MANDATORY_KEYS | MOVABLE_KEYS,
    &[KeySpec {
        notes: None,
        flags: &["RW", "access", "update"],
        begin_index: 2,
        find: KEYNUM,
    }],
);

fn keys_of(spec: &CommandSpec, argv: &[&str], with_flags: bool) -> Reply {
    let argv: Vec<Bytes> = argv
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    keys_reply(spec, &argv, with_flags)
}

fn key_list(keys: &[&str]) -> Reply {
    Reply::Array(keys.iter().map(|k| Reply::bulk_str(k)).collect())
}

#[test]
fn getkeys_follows_range_key_specs() {
    assert_eq!(
        keys_of(&MSET, &["mset", "a", "1", "b", "2"], false),
        key_list(&["a", "b"])
    );
    // An odd count still yields the keys in place, as Redis does.
    assert_eq!(
        keys_of(&MSET, &["mset", "a", "b", "c"], false),
        key_list(&["a", "c"])
    );
    assert_eq!(
        keys_of(&MSET, &["mset", "a"], false),
        Reply::err("ERR Invalid number of arguments specified for command")
    );
    let flagged = |key: &str, flags: &[&str]| {
        Reply::Array(vec![
            Reply::bulk_str(key),
            Reply::Set(
                flags
                    .iter()
                    .map(|f| Reply::Status(f.to_string().into()))
                    .collect(),
            ),
        ])
    };
    assert_eq!(
        keys_of(&LMOVE, &["lmove", "a", "b", "left", "right"], true),
        Reply::Array(vec![
            flagged("a", &["RW", "access", "delete"]),
            flagged("b", &["RW", "insert"]),
        ])
    );
}

#[test]
fn getkeys_follows_keynum_key_specs() {
    assert_eq!(
        keys_of(
            &ZINTER,
            &["zinter", "2", "a", "b", "WEIGHTS", "1", "2"],
            false
        ),
        key_list(&["a", "b"])
    );
    let invalid = Reply::err("ERR Invalid arguments specified for command");
    for bad in [
        &["zinter", "0", "a"][..],
        &["zinter", "x", "a"],
        &["zinter", "5", "a"],
        &["zinter", "-1", "a"],
    ] {
        assert_eq!(keys_of(&ZINTER, bad, false), invalid, "{bad:?}");
    }
    // EVAL may have no keys: an empty list rather than an error.
    assert_eq!(keys_of(&EVAL, &["eval", "s", "0"], false), key_list(&[]));
    assert_eq!(
        keys_of(&EVAL, &["eval", "s", "5", "a"], false),
        key_list(&[])
    );
    assert_eq!(
        keys_of(&EVAL, &["eval", "s", "2", "k1", "k2", "arg"], false),
        key_list(&["k1", "k2"])
    );
}

#[test]
fn command_container_is_registered_with_redis_metadata() {
    let command = &COMMAND_GROUP[0];
    assert_eq!(command.name, "command");
    assert_eq!(command.arity, -1);
    assert_eq!(command.acl, ["slow", "connection"]);
    assert_eq!(command.tips, ["nondeterministic_output_order"]);
    let getkeys = command.find_subcommand(b"GETKEYS").expect("getkeys");
    assert_eq!(getkeys.arity, -4);
}

#[test]
fn help_lines() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let lines = names(h.call(c, &["COMMAND", "HELP"]));
    assert_eq!(
        lines[0],
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert_eq!(lines[1], "(no subcommand)");
    assert_eq!(lines.last().unwrap(), "    Prints this help.");
}
