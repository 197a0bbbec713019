//! COMMAND DOCS data for the replication commands, as Redis 7.0.15
//! reports them.

use crate::cmd::docs::*;

const REPLICAOF_ARGS: &[Arg] = &[
    oneof("args", &[
        block("host-port", &[
            string("host"),
            integer("port"),
        ]),
        block("no-one", &[
            pure_token("no", "NO"),
            pure_token("one", "ONE"),
        ]),
    ]),
];

pub(super) const REPLICAOF: Docs = Docs::args(REPLICAOF_ARGS);

pub(super) const SLAVEOF: Docs = Docs::args(REPLICAOF_ARGS)
.deprecated("5.0.0", "`REPLICAOF`");

pub(super) const REPLCONF: Docs = Docs::args(&[]).syscmd();

pub(super) const PSYNC: Docs = Docs::args(&[
    string("replicationid"),
    integer("offset"),
]);

pub(super) const WAIT: Docs = Docs::args(&[
    integer("numreplicas"),
    integer("timeout"),
]);
