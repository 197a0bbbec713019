//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
//! PUBLISH, SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH and PUBSUB with its
//! subcommands. The registry and delivery are in [`crate::pubsub`].
//!
//! A (un)subscribe command answers with one confirmation per name (a push
//! in RESP3, an array in RESP2): all but the last are written at once,
//! the last is the command's reply, so that the order is kept and the
//! node encodes and counts the reply as any other.

use super::flags::*;
use super::server::help_reply;
use super::{CommandSpec, Ctx, KeySpec};
use crate::pubsub::{Delivery, Kind};
use crate::resp::{encode, Reply};
use bytes::Bytes;

#[rustfmt::skip]
mod docs;
#[cfg(test)]
mod tests;

const SUB_FLAGS: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;
const PUBLISH_FLAGS: u32 = PUBSUB | LOADING | STALE | FAST;
const INTROSPECT_FLAGS: u32 = PUBSUB | LOADING | STALE;
const SLOW: &[&str] = &["pubsub", "slow"];
const FAST_ACL: &[&str] = &["pubsub", "fast"];

/// Shard channels are declared as keys (for cluster slot routing) that
/// are not keys.
const SHARD_CHANNELS: &[KeySpec] = &[KeySpec::range(&["not_key"], 1, -1, 1)];
const SHARD_CHANNEL: &[KeySpec] = &[KeySpec::range(&["not_key"], 1, 0, 1)];

#[allow(clippy::too_many_arguments)]
const fn command(
    name: &'static str,
    arity: i32,
    flags: u32,
    acl: &'static [&'static str],
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        acl,
        since,
        summary,
        complexity,
        ..CommandSpec::base(name, arity, flags, "pubsub", Some(handler))
    }
}

const fn shard_keys(spec: CommandSpec, last_key: i32, specs: &'static [KeySpec]) -> CommandSpec {
    CommandSpec {
        first_key: 1,
        last_key,
        step: 1,
        key_specs: specs,
        ..spec
    }
}

pub const COMMANDS: &[CommandSpec] = &[
    command(
        "subscribe",
        -2,
        SUB_FLAGS,
        SLOW,
        "2.0.0",
        "Listen for messages published to the given channels",
        "O(N) where N is the number of channels to subscribe to.",
        subscribe,
    )
    .with_docs(docs::SUBSCRIBE),
    command(
        "unsubscribe",
        -1,
        SUB_FLAGS,
        SLOW,
        "2.0.0",
        "Stop listening for messages posted to the given channels",
        "O(N) where N is the number of clients already subscribed to a channel.",
        unsubscribe,
    )
    .with_docs(docs::UNSUBSCRIBE),
    command(
        "psubscribe",
        -2,
        SUB_FLAGS,
        SLOW,
        "2.0.0",
        "Listen for messages published to channels matching the given patterns",
        "O(N) where N is the number of patterns the client is already subscribed to.",
        psubscribe,
    )
    .with_docs(docs::PSUBSCRIBE),
    command(
        "punsubscribe",
        -1,
        SUB_FLAGS,
        SLOW,
        "2.0.0",
        "Stop listening for messages posted to channels matching the given patterns",
        "O(N+M) where N is the number of patterns the client is already subscribed and M is \
         the number of total patterns subscribed in the system (by any client).",
        punsubscribe,
    )
    .with_docs(docs::PUNSUBSCRIBE),
    command(
        "publish",
        3,
        PUBLISH_FLAGS,
        FAST_ACL,
        "2.0.0",
        "Post a message to a channel",
        "O(N+M) where N is the number of clients subscribed to the receiving channel and M is \
         the total number of subscribed patterns (by any client).",
        publish,
    )
    .with_docs(docs::PUBLISH),
    shard_keys(
        command(
            "ssubscribe",
            -2,
            SUB_FLAGS,
            SLOW,
            "7.0.0",
            "Listen for messages published to the given shard channels",
            "O(N) where N is the number of shard channels to subscribe to.",
            ssubscribe,
        ),
        -1,
        SHARD_CHANNELS,
    )
    .with_docs(docs::SSUBSCRIBE),
    shard_keys(
        command(
            "sunsubscribe",
            -1,
            SUB_FLAGS,
            SLOW,
            "7.0.0",
            "Stop listening for messages posted to the given shard channels",
            "O(N) where N is the number of clients already subscribed to a shard channel.",
            sunsubscribe,
        ),
        -1,
        SHARD_CHANNELS,
    )
    .with_docs(docs::SUNSUBSCRIBE),
    shard_keys(
        command(
            "spublish",
            3,
            PUBLISH_FLAGS,
            FAST_ACL,
            "7.0.0",
            "Post a message to a shard channel",
            "O(N) where N is the number of clients subscribed to the receiving shard channel.",
            spublish,
        ),
        1,
        SHARD_CHANNEL,
    )
    .with_docs(docs::SPUBLISH),
    CommandSpec {
        acl: &["slow"],
        since: "2.8.0",
        summary: "A container for Pub/Sub commands",
        complexity: "Depends on subcommand.",
        subcommands: SUBCOMMANDS,
        ..CommandSpec::base("pubsub", -2, 0, "pubsub", None)
    },
];

const SUBCOMMANDS: &[CommandSpec] = &[
    command(
        "channels",
        -2,
        INTROSPECT_FLAGS,
        SLOW,
        "2.8.0",
        "List active channels",
        "O(N) where N is the number of active channels, and assuming constant time pattern \
         matching (relatively short channels and patterns)",
        channels,
    )
    .with_docs(docs::PUBSUB_CHANNELS),
    command(
        "numsub",
        -2,
        INTROSPECT_FLAGS,
        SLOW,
        "2.8.0",
        "Get the count of subscribers for channels",
        "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
        numsub,
    )
    .with_docs(docs::PUBSUB_NUMSUB),
    command(
        "numpat",
        2,
        INTROSPECT_FLAGS,
        SLOW,
        "2.8.0",
        "Get the count of unique patterns pattern subscriptions",
        "O(1)",
        numpat,
    ),
    command(
        "shardchannels",
        -2,
        INTROSPECT_FLAGS,
        SLOW,
        "7.0.0",
        "List active shard channels",
        "O(N) where N is the number of active shard channels, and assuming constant time \
         pattern matching (relatively short shard channels).",
        shardchannels,
    )
    .with_docs(docs::PUBSUB_SHARDCHANNELS),
    command(
        "shardnumsub",
        -2,
        INTROSPECT_FLAGS,
        SLOW,
        "7.0.0",
        "Get the count of subscribers for shard channels",
        "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
        shardnumsub,
    )
    .with_docs(docs::PUBSUB_SHARDNUMSUB),
    CommandSpec {
        acl: &["slow"],
        ..command(
            "help",
            2,
            LOADING | STALE,
            SLOW,
            "6.2.0",
            "Show helpful text about the different subcommands",
            "O(1)",
            help,
        )
    },
];

// ---- subscribing ----

/// Writes every reply but the last now (when the client takes replies)
/// and returns the last as the command's reply.
fn reply_each(ctx: &mut Ctx, mut replies: Vec<Reply>) -> Reply {
    let last = replies.pop().unwrap_or(Reply::NoReply);
    if ctx.client.replies_enabled() {
        for reply in &replies {
            encode(reply, ctx.client.protocol, &mut ctx.client.out);
        }
    }
    last
}

fn subscribe_to(ctx: &mut Ctx, kind: Kind, names: &[Bytes]) -> Reply {
    let replies = names
        .iter()
        .map(|name| ctx.srv.pubsub.subscribe(ctx.client, kind, name))
        .collect();
    reply_each(ctx, replies)
}

/// Unsubscribes from `names`, or from everything of `kind` when none.
fn unsubscribe_from(ctx: &mut Ctx, kind: Kind, names: &[Bytes]) -> Reply {
    let replies = if names.is_empty() {
        ctx.srv.pubsub.unsubscribe_all(ctx.client, kind)
    } else {
        names
            .iter()
            .map(|name| ctx.srv.pubsub.unsubscribe(ctx.client, kind, name))
            .collect()
    };
    reply_each(ctx, replies)
}

fn subscribe(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    subscribe_to(ctx, Kind::Channel, &args[1..])
}

fn psubscribe(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    subscribe_to(ctx, Kind::Pattern, &args[1..])
}

/// Redis 7.0 refuses SSUBSCRIBE where the client must get one reply per
/// command (inside EXEC, scripts), unlike SUBSCRIBE which it allows in EXEC.
fn ssubscribe(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if ctx.client.deny_blocking {
        return Reply::err("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    }
    subscribe_to(ctx, Kind::Shard, &args[1..])
}

fn unsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    unsubscribe_from(ctx, Kind::Channel, &args[1..])
}

fn punsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    unsubscribe_from(ctx, Kind::Pattern, &args[1..])
}

fn sunsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    unsubscribe_from(ctx, Kind::Shard, &args[1..])
}

// ---- publishing ----

/// Publishes `message` on `channel`; returns the number of deliveries.
fn publish_as(ctx: &mut Ctx, kind: Kind, channel: &Bytes, message: &Bytes) -> Reply {
    let mut delivery = Delivery {
        pubsub: &mut ctx.srv.pubsub,
        limits: &ctx.srv.config.client_output_buffer_limit,
        now_ms: ctx.srv.now.mono_ms,
    };
    let n = delivery.publish(Some(ctx.client), ctx.others, kind, channel, message);
    Reply::Int(n as i64)
}

fn publish(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    publish_as(ctx, Kind::Channel, &args[1], &args[2])
}

fn spublish(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    publish_as(ctx, Kind::Shard, &args[1], &args[2])
}

// ---- PUBSUB ----

/// PUBSUB CHANNELS / SHARDCHANNELS take at most one pattern.
fn list_active(ctx: &mut Ctx, args: &[Bytes], kind: Kind) -> Reply {
    if args.len() > 3 {
        let sub = String::from_utf8_lossy(&args[1]).replace(['\r', '\n'], " ");
        return Reply::error(format!(
            "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try PUBSUB HELP."
        ));
    }
    let pattern = args.get(2).map(|p| p.as_ref());
    let names = ctx.srv.pubsub.active(kind, pattern);
    Reply::Array(names.into_iter().map(Reply::Bulk).collect())
}

/// `[channel, count, ...]`: a flat array in both protocols, as Redis.
fn count_subscribers(ctx: &mut Ctx, args: &[Bytes], kind: Kind) -> Reply {
    let mut out = Vec::with_capacity((args.len() - 2) * 2);
    for channel in &args[2..] {
        let n = ctx.srv.pubsub.subscriber_count(kind, channel);
        out.push(Reply::Bulk(channel.clone()));
        out.push(Reply::Int(n as i64));
    }
    Reply::Array(out)
}

fn channels(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    list_active(ctx, args, Kind::Channel)
}

fn shardchannels(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    list_active(ctx, args, Kind::Shard)
}

fn numsub(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    count_subscribers(ctx, args, Kind::Channel)
}

fn shardnumsub(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    count_subscribers(ctx, args, Kind::Shard)
}

fn numpat(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Int(ctx.srv.pubsub.pattern_count() as i64)
}

const HELP: &[&str] = &[
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
];

fn help(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    help_reply("PUBSUB", HELP)
}

/// PING in RESP2 subscribed mode: `["pong", message or ""]`, shaped as a
/// message so that a subscriber's reader takes it.
pub fn subscribed_ping(_ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match args.len() {
        1 => Reply::Array(vec![Reply::bulk_str("pong"), Reply::bulk_str("")]),
        2 => Reply::Array(vec![Reply::bulk_str("pong"), Reply::Bulk(args[1].clone())]),
        _ => Reply::wrong_arity("ping"),
    }
}
