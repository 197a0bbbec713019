//! COMMAND DOCS data for this group: arguments and history, as Redis
//! 7.0.15 reports them.

use crate::cmd::docs::*;

pub(super) const EVAL: Docs = Docs::args(&[
    string("script"),
    integer("numkeys"),
    key("key", 0).optional().multiple(),
    string("arg").optional().multiple(),
]);

pub(super) const EVALSHA: Docs = Docs::args(&[
    string("sha1"),
    integer("numkeys"),
    key("key", 0).optional().multiple(),
    string("arg").optional().multiple(),
]);

pub(super) const SCRIPT_FLUSH: Docs = Docs::args(&[
    oneof("async", &[
        pure_token("async", "ASYNC"),
        pure_token("sync", "SYNC"),
    ]).since("6.2.0").optional(),
])
.history(&[
    ("6.2.0", "Added the `ASYNC` and `SYNC` flushing mode modifiers."),
]);

pub(super) const SCRIPT_EXISTS: Docs = Docs::args(&[
    string("sha1").multiple(),
]);

pub(super) const SCRIPT_DEBUG: Docs = Docs::args(&[
    oneof("mode", &[
        pure_token("yes", "YES"),
        pure_token("sync", "SYNC"),
        pure_token("no", "NO"),
    ]),
]);

pub(super) const SCRIPT_LOAD: Docs = Docs::args(&[
    string("script"),
]);
