//! Replication commands: REPLICAOF/SLAVEOF, ROLE, REPLCONF, PSYNC, SYNC,
//! WAIT. The protocol itself lives in [`crate::repl`].

use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::repl::{master, replica};
use crate::resp::Reply;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

#[rustfmt::skip]
mod docs;

const ADMIN_SLOW: &[&str] = &["admin", "slow", "dangerous"];

const fn server_cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    since: &'static str,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        acl: ADMIN_SLOW,
        since,
        summary,
        ..CommandSpec::base(name, arity, flags, "server", Some(handler))
    }
}

const REPLICAOF_SUMMARY: &str =
    "Make the server a replica of another instance, or promote it as master.";

pub const COMMANDS: &[CommandSpec] = &[
    server_cmd(
        "replicaof",
        3,
        ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING,
        "5.0.0",
        REPLICAOF_SUMMARY,
        replicaof,
    )
    .with_docs(docs::REPLICAOF),
    server_cmd(
        "slaveof",
        3,
        ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING,
        "1.0.0",
        REPLICAOF_SUMMARY,
        replicaof,
    )
    .with_docs(docs::SLAVEOF),
    CommandSpec {
        acl: &["admin", "fast", "dangerous"],
        ..server_cmd(
            "role",
            1,
            NOSCRIPT | LOADING | STALE | FAST,
            "2.8.12",
            "Return the role of the instance in the context of replication",
            role,
        )
    },
    server_cmd(
        "replconf",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        "3.0.0",
        "An internal command for configuring the replication stream",
        master::replconf,
    )
    .with_docs(docs::REPLCONF),
    CommandSpec {
        complexity: "",
        ..server_cmd(
            "psync",
            -3,
            ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
            "2.8.0",
            "Internal command used for replication",
            master::psync,
        )
    }
    .with_docs(docs::PSYNC),
    CommandSpec {
        complexity: "",
        ..server_cmd(
            "sync",
            1,
            ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
            "1.0.0",
            "Internal command used for replication",
            master::sync,
        )
    },
    CommandSpec {
        acl: &["slow", "connection"],
        tips: &["request_policy:all_shards", "response_policy:agg_min"],
        since: "3.0.0",
        summary: "Wait for the synchronous replication of all the write commands sent in the context of the current connection",
        ..CommandSpec::base("wait", 3, NOSCRIPT, "generic", Some(master::wait))
    }
    .with_docs(docs::WAIT),
];

/// REPLICAOF host port | NO ONE.
fn replicaof(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if eq_ic(&args[1], "no") && eq_ic(&args[2], "one") {
        replica::promote(ctx.srv, ctx.others);
        return Reply::OK;
    }
    if ctx
        .srv
        .repl
        .replicas
        .get(&ctx.client.id)
        .is_some_and(|l| l.online)
    {
        return Reply::err("ERR Command is not valid when client is a replica.");
    }
    let port = match parse_i64(&args[2]) {
        Some(p) if (0..=65535).contains(&p) => p as u16,
        _ => return Reply::err("ERR Invalid master port"),
    };
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    if replica::follow(ctx.srv, ctx.others, &host, port) {
        Reply::OK
    } else {
        Reply::status("OK Already connected to specified master")
    }
}

/// ROLE: `master offset [[ip port offset] ...]`, or for a replica
/// `slave host port state offset`.
fn role(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    let repl = &ctx.srv.repl;
    match &repl.link {
        None => {
            let replicas = repl
                .online_replicas()
                .map(|(_, l)| {
                    Reply::Array(vec![
                        Reply::bulk_str(&l.ip),
                        Reply::bulk_str(&l.listening_port.to_string()),
                        Reply::bulk_str(&l.ack_offset.to_string()),
                    ])
                })
                .collect();
            Reply::Array(vec![
                Reply::bulk_str("master"),
                Reply::Int(repl.offset as i64),
                Reply::Array(replicas),
            ])
        }
        Some(link) => {
            let offset = if link.is_connected() {
                repl.offset as i64
            } else {
                -1
            };
            Reply::Array(vec![
                Reply::bulk_str("slave"),
                Reply::bulk_str(&link.host),
                Reply::Int(i64::from(link.port)),
                Reply::bulk_str(link.role_state()),
                Reply::Int(offset),
            ])
        }
    }
}
