//! COMMAND DOCS data for this group: arguments, history and
//! deprecation, as Redis 7.0.15 reports them.

use crate::cmd::docs::*;

pub(super) const FLUSHDB: Docs = Docs::args(&[
    oneof("async", &[
        pure_token("async", "ASYNC").since("4.0.0"),
        pure_token("sync", "SYNC").since("6.2.0"),
    ]).optional(),
])
.history(&[
    ("4.0.0", "Added the `ASYNC` flushing mode modifier."),
    ("6.2.0", "Added the `SYNC` flushing mode modifier."),
]);

pub(super) const FLUSHALL: Docs = Docs::args(&[
    oneof("async", &[
        pure_token("async", "ASYNC").since("4.0.0"),
        pure_token("sync", "SYNC").since("6.2.0"),
    ]).optional(),
])
.history(&[
    ("4.0.0", "Added the `ASYNC` flushing mode modifier."),
    ("6.2.0", "Added the `SYNC` flushing mode modifier."),
]);

pub(super) const SWAPDB: Docs = Docs::args(&[
    integer("index1"),
    integer("index2"),
]);

pub(super) const SHUTDOWN: Docs = Docs::args(&[
    oneof("nosave_save", &[
        pure_token("nosave", "NOSAVE"),
        pure_token("save", "SAVE"),
    ]).optional(),
    pure_token("now", "NOW").since("7.0.0").optional(),
    pure_token("force", "FORCE").since("7.0.0").optional(),
    pure_token("abort", "ABORT").since("7.0.0").optional(),
])
.history(&[
    ("7.0.0", "Added the `NOW`, `FORCE` and `ABORT` modifiers."),
]);

pub(super) const DEBUG: Docs = Docs::NONE.syscmd();

pub(super) const CONFIG_GET: Docs = Docs::args(&[
    block("parameter", &[
        string("parameter"),
    ]).multiple(),
])
.history(&[
    ("7.0.0", "Added the ability to pass multiple pattern parameters in one call"),
]);

pub(super) const CONFIG_SET: Docs = Docs::args(&[
    block("parameter_value", &[
        string("parameter"),
        string("value"),
    ]).multiple(),
])
.history(&[
    ("7.0.0", "Added the ability to set multiple parameters in one call."),
]);

pub(super) const BGSAVE: Docs = Docs::args(&[
    pure_token("schedule", "SCHEDULE").since("3.2.2").optional(),
])
.history(&[
    ("3.2.2", "Added the `SCHEDULE` option."),
]);
