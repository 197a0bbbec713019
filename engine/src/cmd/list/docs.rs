//! COMMAND DOCS data for the list group: arguments, history and
//! deprecation, as Redis 7.0.15 reports them.

use crate::cmd::docs::*;

const LEFT_RIGHT: &[Arg] = &[
    pure_token("left", "LEFT"),
    pure_token("right", "RIGHT"),
];

const MULTI_ELEMENT_PUSH: &[(&str, &str)] = &[
    ("2.4.0", "Accepts multiple `element` arguments."),
];

const MULTI_ELEMENT_PUSHX: &[(&str, &str)] = &[
    ("4.0.0", "Accepts multiple `element` arguments."),
];

const PUSH_ARGS: &[Arg] = &[
    key("key", 0),
    string("element").multiple(),
];

pub(super) const LPUSH: Docs = Docs::args(PUSH_ARGS).history(MULTI_ELEMENT_PUSH);

pub(super) const RPUSH: Docs = Docs::args(PUSH_ARGS).history(MULTI_ELEMENT_PUSH);

pub(super) const LPUSHX: Docs = Docs::args(PUSH_ARGS).history(MULTI_ELEMENT_PUSHX);

pub(super) const RPUSHX: Docs = Docs::args(PUSH_ARGS).history(MULTI_ELEMENT_PUSHX);

const POP_ARGS: &[Arg] = &[
    key("key", 0),
    integer("count").since("6.2.0").optional(),
];

const POP_HISTORY: &[(&str, &str)] = &[
    ("6.2.0", "Added the `count` argument."),
];

pub(super) const LPOP: Docs = Docs::args(POP_ARGS).history(POP_HISTORY);

pub(super) const RPOP: Docs = Docs::args(POP_ARGS).history(POP_HISTORY);

const KEY_START_STOP: &[Arg] = &[
    key("key", 0),
    integer("start"),
    integer("stop"),
];

pub(super) const LRANGE: Docs = Docs::args(KEY_START_STOP);

pub(super) const LTRIM: Docs = Docs::args(KEY_START_STOP);

pub(super) const LLEN: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const LINDEX: Docs = Docs::args(&[
    key("key", 0),
    integer("index"),
]);

pub(super) const LSET: Docs = Docs::args(&[
    key("key", 0),
    integer("index"),
    string("element"),
]);

pub(super) const LINSERT: Docs = Docs::args(&[
    key("key", 0),
    oneof("where", &[
        pure_token("before", "BEFORE"),
        pure_token("after", "AFTER"),
    ]),
    string("pivot"),
    string("element"),
]);

pub(super) const LREM: Docs = Docs::args(&[
    key("key", 0),
    integer("count"),
    string("element"),
]);

pub(super) const LPOS: Docs = Docs::args(&[
    key("key", 0),
    string("element"),
    integer("rank").token("RANK").optional(),
    integer("num-matches").token("COUNT").optional(),
    integer("len").token("MAXLEN").optional(),
]);

pub(super) const LMOVE: Docs = Docs::args(&[
    key("source", 0),
    key("destination", 1),
    oneof("wherefrom", LEFT_RIGHT),
    oneof("whereto", LEFT_RIGHT),
]);

pub(super) const RPOPLPUSH: Docs = Docs::args(&[
    key("source", 0),
    key("destination", 1),
])
.deprecated("6.2.0", "`LMOVE` with the `RIGHT` and `LEFT` arguments");

pub(super) const LMPOP: Docs = Docs::args(&[
    integer("numkeys"),
    key("key", 0).multiple(),
    oneof("where", LEFT_RIGHT),
    integer("count").token("COUNT").optional(),
]);
