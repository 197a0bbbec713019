//! COMMAND DOCS data for this group: arguments, history and
//! deprecation, as Redis 7.0.15 reports them.

use crate::cmd::docs::*;

pub(super) const EXPIRE: Docs = Docs::args(&[
    key("key", 0),
    integer("seconds"),
    oneof("condition", &[
        pure_token("nx", "NX"),
        pure_token("xx", "XX"),
        pure_token("gt", "GT"),
        pure_token("lt", "LT"),
    ]).since("7.0.0").optional(),
])
.history(&[
    ("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`."),
]);

pub(super) const PEXPIRE: Docs = Docs::args(&[
    key("key", 0),
    integer("milliseconds"),
    oneof("condition", &[
        pure_token("nx", "NX"),
        pure_token("xx", "XX"),
        pure_token("gt", "GT"),
        pure_token("lt", "LT"),
    ]).since("7.0.0").optional(),
])
.history(&[
    ("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`."),
]);

pub(super) const EXPIREAT: Docs = Docs::args(&[
    key("key", 0),
    unix_time("unix-time-seconds"),
    oneof("condition", &[
        pure_token("nx", "NX"),
        pure_token("xx", "XX"),
        pure_token("gt", "GT"),
        pure_token("lt", "LT"),
    ]).since("7.0.0").optional(),
])
.history(&[
    ("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`."),
]);

pub(super) const PEXPIREAT: Docs = Docs::args(&[
    key("key", 0),
    unix_time("unix-time-milliseconds"),
    oneof("condition", &[
        pure_token("nx", "NX"),
        pure_token("xx", "XX"),
        pure_token("gt", "GT"),
        pure_token("lt", "LT"),
    ]).since("7.0.0").optional(),
])
.history(&[
    ("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`."),
]);

pub(super) const TTL: Docs = Docs::args(&[
    key("key", 0),
])
.history(&[
    ("2.8.0", "Added the -2 reply."),
]);

pub(super) const PTTL: Docs = Docs::args(&[
    key("key", 0),
])
.history(&[
    ("2.8.0", "Added the -2 reply."),
]);

pub(super) const EXPIRETIME: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const PEXPIRETIME: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const PERSIST: Docs = Docs::args(&[
    key("key", 0),
]);
