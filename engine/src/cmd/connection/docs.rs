//! COMMAND DOCS data for this group: arguments, history and
//! deprecation, as Redis 7.0.15 reports them.

use crate::cmd::docs::*;

pub(super) const PING: Docs = Docs::args(&[
    string("message").optional(),
]);

pub(super) const ECHO: Docs = Docs::args(&[
    string("message"),
]);

pub(super) const SELECT: Docs = Docs::args(&[
    integer("index"),
]);

pub(super) const AUTH: Docs = Docs::args(&[
    string("username").since("6.0.0").optional(),
    string("password"),
])
.history(&[
    ("6.0.0", "Added ACL style (username and password)."),
]);

pub(super) const HELLO: Docs = Docs::args(&[
    block("arguments", &[
        integer("protover"),
        block("username_password", &[
            string("username"),
            string("password"),
        ]).token("AUTH").optional(),
        string("clientname").token("SETNAME").optional(),
    ]).optional(),
])
.history(&[
    ("6.2.0", "`protover` made optional; when called without arguments the command reports the current connection's context."),
]);
