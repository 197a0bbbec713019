//! COMMAND DOCS data for this group: arguments, as Redis 7.0.15 reports them.

use crate::cmd::docs::*;

pub(super) const SUBSCRIBE: Docs = Docs::args(&[
    string("channel").multiple(),
]);

pub(super) const UNSUBSCRIBE: Docs = Docs::args(&[
    string("channel").optional().multiple(),
]);

pub(super) const PSUBSCRIBE: Docs = Docs::args(&[
    block("pattern", &[
        pattern("pattern"),
    ]).multiple(),
]);

pub(super) const PUNSUBSCRIBE: Docs = Docs::args(&[
    pattern("pattern").optional().multiple(),
]);

pub(super) const PUBLISH: Docs = Docs::args(&[
    string("channel"),
    string("message"),
]);

pub(super) const SSUBSCRIBE: Docs = Docs::args(&[
    string("shardchannel").multiple(),
]);

pub(super) const SUNSUBSCRIBE: Docs = Docs::args(&[
    string("shardchannel").optional().multiple(),
]);

pub(super) const SPUBLISH: Docs = Docs::args(&[
    string("shardchannel"),
    string("message"),
]);

pub(super) const PUBSUB_CHANNELS: Docs = Docs::args(&[
    pattern("pattern").optional(),
]);

pub(super) const PUBSUB_NUMSUB: Docs = Docs::args(&[
    string("channel").optional().multiple(),
]);

pub(super) const PUBSUB_SHARDCHANNELS: Docs = Docs::args(&[
    pattern("pattern").optional(),
]);

pub(super) const PUBSUB_SHARDNUMSUB: Docs = Docs::args(&[
    string("shardchannel").optional().multiple(),
]);
