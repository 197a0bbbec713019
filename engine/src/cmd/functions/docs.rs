//! COMMAND DOCS data for FCALL and FUNCTION: arguments, as Redis 7.0.15
//! reports them.

use crate::cmd::docs::*;

pub(super) const FCALL: Docs = Docs::args(&[
    string("function"),
    integer("numkeys"),
    key("key", 0).optional().multiple(),
    string("arg").optional().multiple(),
]);

pub(super) const DELETE: Docs = Docs::args(&[
    string("library-name"),
]);

pub(super) const LIST: Docs = Docs::args(&[
    string("library-name-pattern").token("LIBRARYNAME").optional(),
    pure_token("withcode", "WITHCODE").optional(),
]);

pub(super) const LOAD: Docs = Docs::args(&[
    pure_token("replace", "REPLACE").optional(),
    string("function-code"),
]);

pub(super) const RESTORE: Docs = Docs::args(&[
    string("serialized-value"),
    oneof("policy", &[
        pure_token("flush", "FLUSH"),
        pure_token("append", "APPEND"),
        pure_token("replace", "REPLACE"),
    ]).optional(),
]);

pub(super) const FLUSH: Docs = Docs::args(&[
    oneof("async", &[
        pure_token("async", "ASYNC"),
        pure_token("sync", "SYNC"),
    ]).optional(),
]);
