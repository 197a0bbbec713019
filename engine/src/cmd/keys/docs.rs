//! COMMAND DOCS data for this group: arguments, history and
//! deprecation, as Redis 7.0.15 reports them.

use crate::cmd::docs::*;

pub(super) const DEL: Docs = Docs::args(&[
    key("key", 0).multiple(),
]);

pub(super) const UNLINK: Docs = Docs::args(&[
    key("key", 0).multiple(),
]);

pub(super) const EXISTS: Docs = Docs::args(&[
    key("key", 0).multiple(),
])
.history(&[
    ("3.0.3", "Accepts multiple `key` arguments."),
]);

pub(super) const TYPE: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const KEYS: Docs = Docs::args(&[
    pattern("pattern"),
]);

pub(super) const SCAN: Docs = Docs::args(&[
    integer("cursor"),
    pattern("pattern").token("MATCH").optional(),
    integer("count").token("COUNT").optional(),
    string("type").token("TYPE").since("6.0.0").optional(),
])
.history(&[
    ("6.0.0", "Added the `TYPE` subcommand."),
]);

pub(super) const RENAME: Docs = Docs::args(&[
    key("key", 0),
    key("newkey", 1),
]);

pub(super) const RENAMENX: Docs = Docs::args(&[
    key("key", 0),
    key("newkey", 1),
])
.history(&[
    ("3.2.0", "The command no longer returns an error when source and destination names are the same."),
]);

pub(super) const COPY: Docs = Docs::args(&[
    key("source", 0),
    key("destination", 1),
    integer("destination-db").token("DB").optional(),
    pure_token("replace", "REPLACE").optional(),
]);

pub(super) const MOVE: Docs = Docs::args(&[
    key("key", 0),
    integer("db"),
]);

pub(super) const TOUCH: Docs = Docs::args(&[
    key("key", 0).multiple(),
]);

pub(super) const OBJECT_ENCODING: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const OBJECT_FREQ: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const OBJECT_IDLETIME: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const OBJECT_REFCOUNT: Docs = Docs::args(&[
    key("key", 0),
]);
