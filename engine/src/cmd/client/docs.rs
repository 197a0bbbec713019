//! COMMAND DOCS data for this group: arguments, history and
//! deprecation, as Redis 7.0.15 reports them.

use crate::cmd::docs::*;

pub(super) const CLIENT_KILL: Docs = Docs::args(&[
    oneof("filter", &[
        string("ip:port").deprecated_since("2.8.12"),
        oneof("new-format", &[
            integer("client-id").token("ID").since("2.8.12").optional(),
            oneof("normal_master_slave_pubsub", &[
                pure_token("normal", "NORMAL"),
                pure_token("master", "MASTER").since("3.2.0"),
                pure_token("slave", "SLAVE"),
                pure_token("replica", "REPLICA").since("5.0.0"),
                pure_token("pubsub", "PUBSUB"),
            ]).token("TYPE").since("2.8.12").optional(),
            string("username").token("USER").optional(),
            string("ip:port").token("ADDR").optional(),
            string("ip:port").token("LADDR").since("6.2.0").optional(),
            string("yes/no").token("SKIPME").optional(),
        ]).multiple(),
    ]),
])
.history(&[
    ("2.8.12", "Added new filter format."),
    ("2.8.12", "`ID` option."),
    ("3.2.0", "Added `master` type in for `TYPE` option."),
    ("5.0.0", "Replaced `slave` `TYPE` with `replica`. `slave` still supported for backward compatibility."),
    ("6.2.0", "`LADDR` option."),
]);

pub(super) const CLIENT_LIST: Docs = Docs::args(&[
    oneof("normal_master_replica_pubsub", &[
        pure_token("normal", "NORMAL"),
        pure_token("master", "MASTER"),
        pure_token("replica", "REPLICA"),
        pure_token("pubsub", "PUBSUB"),
    ]).token("TYPE").since("5.0.0").optional(),
    block("id", &[
        integer("client-id").multiple(),
    ]).token("ID").since("6.2.0").optional(),
])
.history(&[
    ("2.8.12", "Added unique client `id` field."),
    ("5.0.0", "Added optional `TYPE` filter."),
    ("6.0.0", "Added `user` field."),
    ("6.2.0", "Added `argv-mem`, `tot-mem`, `laddr` and `redir` fields and the optional `ID` filter."),
    ("7.0.0", "Added `resp`, `multi-mem`, `rbs` and `rbp` fields."),
    ("7.0.3", "Added `ssub` field."),
]);

pub(super) const CLIENT_NO_EVICT: Docs = Docs::args(&[
    oneof("enabled", &[
        pure_token("on", "ON"),
        pure_token("off", "OFF"),
    ]),
]);

pub(super) const CLIENT_REPLY: Docs = Docs::args(&[
    oneof("on_off_skip", &[
        pure_token("on", "ON"),
        pure_token("off", "OFF"),
        pure_token("skip", "SKIP"),
    ]),
]);

pub(super) const CLIENT_UNBLOCK: Docs = Docs::args(&[
    integer("client-id"),
    oneof("timeout_error", &[
        pure_token("timeout", "TIMEOUT"),
        pure_token("error", "ERROR"),
    ])
    .optional(),
]);

pub(super) const CLIENT_SETNAME: Docs = Docs::args(&[
    string("connection-name"),
]);

// Redis 7.2 subcommands (Redis 7.0.15 has neither): their arguments as
// Redis 7.2.0 documents them, in Redis 7.0's reply format.

pub(super) const CLIENT_SETINFO: Docs = Docs::args(&[
    oneof("attr", &[
        string("libname").token("lib-name"),
        string("libver").token("lib-ver"),
    ]),
]);

pub(super) const CLIENT_NO_TOUCH: Docs = Docs::args(&[
    oneof("enabled", &[
        pure_token("on", "ON"),
        pure_token("off", "OFF"),
    ]),
]);
