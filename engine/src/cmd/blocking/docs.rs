//! COMMAND DOCS data for the blocking commands: arguments, history and
//! deprecation, as Redis 7.0.15 reports them.

use crate::cmd::docs::*;

const LEFT_RIGHT: &[Arg] = &[
    pure_token("left", "LEFT"),
    pure_token("right", "RIGHT"),
];

const MIN_MAX: &[Arg] = &[
    pure_token("min", "MIN"),
    pure_token("max", "MAX"),
];

const TIMEOUT_IS_A_DOUBLE: &[(&str, &str)] = &[
    ("6.0.0", "`timeout` is interpreted as a double instead of an integer."),
];

/// BLPOP, BRPOP, BZPOPMIN, BZPOPMAX: `key [key ...] timeout`.
const KEYS_THEN_TIMEOUT: &[Arg] = &[
    key("key", 0).multiple(),
    double("timeout"),
];

pub(super) const BLPOP: Docs = Docs::args(KEYS_THEN_TIMEOUT).history(TIMEOUT_IS_A_DOUBLE);

pub(super) const BRPOP: Docs = Docs::args(KEYS_THEN_TIMEOUT).history(TIMEOUT_IS_A_DOUBLE);

pub(super) const BZPOPMIN: Docs = Docs::args(KEYS_THEN_TIMEOUT).history(TIMEOUT_IS_A_DOUBLE);

pub(super) const BZPOPMAX: Docs = Docs::args(KEYS_THEN_TIMEOUT).history(TIMEOUT_IS_A_DOUBLE);

pub(super) const BLMOVE: Docs = Docs::args(&[
    key("source", 0),
    key("destination", 1),
    oneof("wherefrom", LEFT_RIGHT),
    oneof("whereto", LEFT_RIGHT),
    double("timeout"),
]);

pub(super) const BRPOPLPUSH: Docs = Docs::args(&[
    key("source", 0),
    key("destination", 1),
    double("timeout"),
])
.history(TIMEOUT_IS_A_DOUBLE)
.deprecated("6.2.0", "`BLMOVE` with the `RIGHT` and `LEFT` arguments");

pub(super) const BLMPOP: Docs = Docs::args(&[
    double("timeout"),
    integer("numkeys"),
    key("key", 0).multiple(),
    oneof("where", LEFT_RIGHT),
    integer("count").token("COUNT").optional(),
]);

pub(super) const BZMPOP: Docs = Docs::args(&[
    double("timeout"),
    integer("numkeys"),
    key("key", 0).multiple(),
    oneof("where", MIN_MAX),
    integer("count").token("COUNT").optional(),
]);
