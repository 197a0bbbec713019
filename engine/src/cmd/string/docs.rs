//! COMMAND DOCS data for this group: arguments, history and
//! deprecation, as Redis 7.0.15 reports them.

use crate::cmd::docs::*;

pub(super) const GET: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const SET: Docs = Docs::args(&[
    key("key", 0),
    string("value"),
    oneof("condition", &[
        pure_token("nx", "NX"),
        pure_token("xx", "XX"),
    ]).since("2.6.12").optional(),
    pure_token("get", "GET").since("6.2.0").optional(),
    oneof("expiration", &[
        integer("seconds").token("EX").since("2.6.12"),
        integer("milliseconds").token("PX").since("2.6.12"),
        unix_time("unix-time-seconds").token("EXAT").since("6.2.0"),
        unix_time("unix-time-milliseconds").token("PXAT").since("6.2.0"),
        pure_token("keepttl", "KEEPTTL").since("6.0.0"),
    ]).optional(),
])
.history(&[
    ("2.6.12", "Added the `EX`, `PX`, `NX` and `XX` options."),
    ("6.0.0", "Added the `KEEPTTL` option."),
    ("6.2.0", "Added the `GET`, `EXAT` and `PXAT` option."),
    ("7.0.0", "Allowed the `NX` and `GET` options to be used together."),
]);

pub(super) const MGET: Docs = Docs::args(&[
    key("key", 0).multiple(),
]);

pub(super) const MSET: Docs = Docs::args(&[
    block("key_value", &[
        key("key", 0),
        string("value"),
    ]).multiple(),
]);

pub(super) const MSETNX: Docs = Docs::args(&[
    block("key_value", &[
        key("key", 0),
        string("value"),
    ]).multiple(),
]);

pub(super) const SETNX: Docs = Docs::args(&[
    key("key", 0),
    string("value"),
]);

pub(super) const SETEX: Docs = Docs::args(&[
    key("key", 0),
    integer("seconds"),
    string("value"),
]);

pub(super) const PSETEX: Docs = Docs::args(&[
    key("key", 0),
    integer("milliseconds"),
    string("value"),
]);

pub(super) const GETSET: Docs = Docs::args(&[
    key("key", 0),
    string("value"),
])
.deprecated("6.2.0", "`SET` with the `!GET` argument");

pub(super) const GETDEL: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const GETEX: Docs = Docs::args(&[
    key("key", 0),
    oneof("expiration", &[
        integer("seconds").token("EX"),
        integer("milliseconds").token("PX"),
        unix_time("unix-time-seconds").token("EXAT"),
        unix_time("unix-time-milliseconds").token("PXAT"),
        pure_token("persist", "PERSIST"),
    ]).optional(),
]);

pub(super) const INCR: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const DECR: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const INCRBY: Docs = Docs::args(&[
    key("key", 0),
    integer("increment"),
]);

pub(super) const DECRBY: Docs = Docs::args(&[
    key("key", 0),
    integer("decrement"),
]);

pub(super) const INCRBYFLOAT: Docs = Docs::args(&[
    key("key", 0),
    double("increment"),
]);

pub(super) const APPEND: Docs = Docs::args(&[
    key("key", 0),
    string("value"),
]);

pub(super) const STRLEN: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const GETRANGE: Docs = Docs::args(&[
    key("key", 0),
    integer("start"),
    integer("end"),
]);

pub(super) const SUBSTR: Docs = Docs::args(&[
    key("key", 0),
    integer("start"),
    integer("end"),
])
.deprecated("2.0.0", "`GETRANGE`");

pub(super) const SETRANGE: Docs = Docs::args(&[
    key("key", 0),
    integer("offset"),
    string("value"),
]);

pub(super) const LCS: Docs = Docs::args(&[
    key("key1", 0),
    key("key2", 0),
    pure_token("len", "LEN").optional(),
    pure_token("idx", "IDX").optional(),
    integer("len").token("MINMATCHLEN").optional(),
    pure_token("withmatchlen", "WITHMATCHLEN").optional(),
]);
