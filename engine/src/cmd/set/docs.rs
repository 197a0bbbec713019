//! COMMAND DOCS data for the set commands: arguments and history, as
//! Redis 7.0.15 reports them.

use crate::cmd::docs::*;

const MEMBERS_HISTORY: &[(&str, &str)] = &[("2.4.0", "Accepts multiple `member` arguments.")];

pub(super) const SADD: Docs = Docs::args(&[
    key("key", 0),
    string("member").multiple(),
])
.history(MEMBERS_HISTORY);

pub(super) const SREM: Docs = Docs::args(&[
    key("key", 0),
    string("member").multiple(),
])
.history(MEMBERS_HISTORY);

pub(super) const KEY_ONLY: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const SISMEMBER: Docs = Docs::args(&[
    key("key", 0),
    string("member"),
]);

pub(super) const SMISMEMBER: Docs = Docs::args(&[
    key("key", 0),
    string("member").multiple(),
]);

pub(super) const SPOP: Docs = Docs::args(&[
    key("key", 0),
    integer("count").since("3.2.0").optional(),
])
.history(&[("3.2.0", "Added the `count` argument.")]);

pub(super) const SRANDMEMBER: Docs = Docs::args(&[
    key("key", 0),
    integer("count").since("2.6.0").optional(),
])
.history(&[("2.6.0", "Added the optional `count` argument.")]);

pub(super) const SMOVE: Docs = Docs::args(&[
    key("source", 0),
    key("destination", 1),
    string("member"),
]);

pub(super) const KEYS: Docs = Docs::args(&[
    key("key", 0).multiple(),
]);

pub(super) const SINTERCARD: Docs = Docs::args(&[
    integer("numkeys"),
    key("key", 0).multiple(),
    integer("limit").token("LIMIT").optional(),
]);

pub(super) const STORE: Docs = Docs::args(&[
    key("destination", 0),
    key("key", 1).multiple(),
]);

pub(super) const SSCAN: Docs = Docs::args(&[
    key("key", 0),
    integer("cursor"),
    pattern("pattern").token("MATCH").optional(),
    integer("count").token("COUNT").optional(),
]);
