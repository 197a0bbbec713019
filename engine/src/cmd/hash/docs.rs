//! COMMAND DOCS data for this group: arguments, history and
//! deprecation, as Redis 7.0.15 reports them.

use crate::cmd::docs::*;

const FIELD_VALUE: Arg = block("field_value", &[
    string("field"),
    string("value"),
]).multiple();

pub(super) const HSET: Docs = Docs::args(&[
    key("key", 0),
    FIELD_VALUE,
])
.history(&[
    ("4.0.0", "Accepts multiple `field` and `value` arguments."),
]);

pub(super) const HMSET: Docs = Docs::args(&[
    key("key", 0),
    FIELD_VALUE,
])
.deprecated("4.0.0", "`HSET` with multiple field-value pairs");

pub(super) const KEY_FIELD_VALUE: Docs = Docs::args(&[
    key("key", 0),
    string("field"),
    string("value"),
]);

pub(super) const KEY_FIELD: Docs = Docs::args(&[
    key("key", 0),
    string("field"),
]);

pub(super) const KEY: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const HMGET: Docs = Docs::args(&[
    key("key", 0),
    string("field").multiple(),
]);

pub(super) const HDEL: Docs = Docs::args(&[
    key("key", 0),
    string("field").multiple(),
])
.history(&[
    ("2.4.0", "Accepts multiple `field` arguments."),
]);

pub(super) const HINCRBY: Docs = Docs::args(&[
    key("key", 0),
    string("field"),
    integer("increment"),
]);

pub(super) const HINCRBYFLOAT: Docs = Docs::args(&[
    key("key", 0),
    string("field"),
    double("increment"),
]);

pub(super) const HRANDFIELD: Docs = Docs::args(&[
    key("key", 0),
    block("options", &[
        integer("count"),
        pure_token("withvalues", "WITHVALUES").optional(),
    ]).optional(),
]);

pub(super) const HSCAN: Docs = Docs::args(&[
    key("key", 0),
    integer("cursor"),
    pattern("pattern").token("MATCH").optional(),
    integer("count").token("COUNT").optional(),
]);
