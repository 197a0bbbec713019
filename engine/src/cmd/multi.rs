//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! While a client is in MULTI, the node queues its commands instead of
//! running them (see [`gate`]), after the checks Redis makes before
//! queueing (unknown command, arity, authentication, `no-multi`): a
//! command that fails them flags the transaction, and EXEC then answers
//! EXECABORT. EXEC itself is run by the node ([`crate::node`]), which owns
//! the dispatch the queued commands go through; the handler here only
//! answers EXEC outside a transaction.

use super::flags::*;
use super::{CommandSpec, Ctx, KeySpec, Resolved};
use crate::client::Client;
use crate::resp::Reply;
use crate::server::Server;
use bytes::Bytes;

#[rustfmt::skip]
mod docs;

const TRANSACTION_FAST: &[&str] = &["fast", "transaction"];

const fn txn_cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    (since, summary): (&'static str, &'static str),
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        acl: TRANSACTION_FAST,
        since,
        summary,
        ..CommandSpec::base(name, arity, flags, "transactions", Some(handler))
    }
}

const WATCH_KEYS: &[KeySpec] = &[KeySpec::range(&["RO"], 1, -1, 1)];

pub const COMMANDS: &[CommandSpec] = &[
    txn_cmd(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        ("1.2.0", "Mark the start of a transaction block"),
        multi,
    ),
    CommandSpec {
        acl: &["slow", "transaction"],
        complexity: "Depends on commands in the transaction",
        ..txn_cmd(
            "exec",
            1,
            NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
            ("1.2.0", "Execute all commands issued after MULTI"),
            exec_without_multi,
        )
    },
    CommandSpec {
        complexity: "O(N), when N is the number of queued commands",
        ..txn_cmd(
            "discard",
            1,
            NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
            ("2.0.0", "Discard all commands issued after MULTI"),
            discard,
        )
    },
    CommandSpec {
        first_key: 1,
        last_key: -1,
        step: 1,
        key_specs: WATCH_KEYS,
        complexity: "O(1) for every key.",
        ..txn_cmd(
            "watch",
            -2,
            NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
            (
                "2.2.0",
                "Watch the given keys to determine execution of the MULTI/EXEC block",
            ),
            watch,
        )
    }
    .with_docs(docs::WATCH),
    txn_cmd(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        ("2.2.0", "Forget about all watched keys"),
        unwatch,
    ),
];

/// Per argument of a queued command, the bytes Redis counts on top of
/// the argument itself (a pointer): CLIENT LIST `multi-mem`.
const QUEUED_ARG_OVERHEAD: usize = std::mem::size_of::<usize>();

/// A command queued in a transaction: what it resolved to when it was
/// queued (so EXEC does not look it up again) and its arguments.
#[derive(Debug, Clone)]
pub struct Queued {
    pub cmd: Resolved,
    pub args: Vec<Bytes>,
}

/// A client's transaction between MULTI and EXEC/DISCARD.
#[derive(Debug, Default, Clone)]
pub struct Transaction {
    /// The commands to run at EXEC, in order.
    queued: Vec<Queued>,
    /// Redis's accounting of what the queue holds (CLIENT LIST multi-mem).
    mem: usize,
    /// A command was refused at queue time: EXEC answers EXECABORT.
    aborted: bool,
}

/// Room the queue starts with: transactions are mostly short, and
/// growing from empty costs an allocation at the 1st, 5th, 9th ... command.
const QUEUE_START_CAPACITY: usize = 16;

impl Transaction {
    /// An empty transaction (MULTI), its queue allocated once up front.
    pub fn new() -> Self {
        Transaction {
            queued: Vec::with_capacity(QUEUE_START_CAPACITY),
            ..Transaction::default()
        }
    }

    /// Commands queued (CLIENT LIST `multi`).
    pub fn len(&self) -> usize {
        self.queued.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }

    /// Bytes the queue holds, as Redis counts them (CLIENT LIST `multi-mem`).
    pub fn mem(&self) -> usize {
        self.mem
    }

    pub fn is_aborted(&self) -> bool {
        self.aborted
    }
}

// ---- the node's side: queueing and running ----

/// What the node does with a command from a client in MULTI.
pub enum Gate {
    /// Run it now (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET, or a client
    /// not in a transaction): its arguments, handed back.
    Run(Vec<Bytes>),
    /// Answer this instead of running it: `+QUEUED` (the transaction
    /// kept the arguments).
    Queued(Reply),
    /// Refused at queue time (`no-multi`): the transaction is flagged.
    Rejected(Reply),
}

/// Whether the command runs at once inside MULTI instead of being queued.
fn runs_inside_multi(cmd: Resolved) -> bool {
    cmd.parent.is_none()
        && matches!(
            cmd.spec.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
}

/// Decides, for a command that passed the pre-queue checks, whether it
/// runs now or is queued (taking its arguments, as sent: nothing is
/// copied).
pub fn gate(srv: &Server, client: &mut Client, cmd: Resolved, args: Vec<Bytes>) -> Gate {
    if client.multi.is_none() || runs_inside_multi(cmd) {
        return Gate::Run(args);
    }
    if cmd.spec.has(NO_MULTI) {
        flag_aborted(client);
        return Gate::Rejected(Reply::err("ERR Command not allowed inside a transaction"));
    }
    // Redis stops storing commands once the transaction cannot succeed,
    // but still answers QUEUED.
    let doomed = srv.watches.flagged(client.id, &srv.dbs, srv.now.unix_ms);
    if let Some(txn) = client.multi.as_mut() {
        if !txn.aborted && !doomed {
            txn.mem += args
                .iter()
                .map(|a| a.len() + QUEUED_ARG_OVERHEAD)
                .sum::<usize>();
            txn.queued.push(Queued { cmd, args });
        }
    }
    Gate::Queued(Reply::status("QUEUED"))
}

/// A command from a client in MULTI was refused before it could be
/// queued (`reply`, an error). The transaction is flagged; a refused EXEC
/// discards it at once, with the reason.
pub fn refused_in_multi(
    srv: &mut Server,
    client: &mut Client,
    full_name: &str,
    reply: Reply,
) -> Reply {
    if client.multi.is_none() || !reply.is_error() {
        return reply;
    }
    if full_name != "exec" {
        flag_aborted(client);
        return reply;
    }
    discard_transaction(srv, client);
    let Reply::Error(text) = reply else {
        return reply;
    };
    let reason = text.strip_prefix("ERR ").unwrap_or(&text);
    Reply::error(format!(
        "EXECABORT Transaction discarded because of: {reason}"
    ))
}

fn flag_aborted(client: &mut Client) {
    if let Some(txn) = client.multi.as_mut() {
        txn.aborted = true;
    }
}

/// EXEC in a transaction: ends it and hands back the commands to run, or
/// the reply when it must not run (EXECABORT after a queue-time error,
/// a null array when a watched key changed).
pub fn begin_exec(srv: &mut Server, client: &mut Client) -> Result<Vec<Queued>, Reply> {
    let txn = client.multi.take().unwrap_or_default();
    let cas_failed = srv.watches.cas_failed(client.id, srv.now.unix_ms);
    srv.watches.unwatch_all(client.id);
    if txn.aborted {
        return Err(Reply::err(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if cas_failed {
        return Err(Reply::NullArray);
    }
    Ok(txn.queued)
}

/// Ends the client's transaction, if any, and forgets its watches
/// (DISCARD, RESET).
pub fn discard_transaction(srv: &mut Server, client: &mut Client) {
    client.multi = None;
    srv.watches.unwatch_all(client.id);
}

// ---- handlers ----

fn multi(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    if ctx.client.multi.is_some() {
        return Reply::err("ERR MULTI calls can not be nested");
    }
    ctx.client.multi = Some(Transaction::new());
    Reply::OK
}

/// EXEC inside a transaction never gets here: the node runs it.
fn exec_without_multi(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::err("ERR EXEC without MULTI")
}

fn discard(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    if ctx.client.multi.is_none() {
        return Reply::err("ERR DISCARD without MULTI");
    }
    discard_transaction(ctx.srv, ctx.client);
    Reply::OK
}

fn watch(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if ctx.client.multi.is_some() {
        return Reply::err("ERR WATCH inside MULTI is not allowed");
    }
    let (id, db, now) = (ctx.client.id, ctx.client.db, ctx.now().unix_ms);
    let srv = &mut *ctx.srv;
    for key in &args[1..] {
        srv.watches.watch(id, db, key, &srv.dbs[db], now);
    }
    Reply::OK
}

fn unwatch(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    ctx.srv.watches.unwatch_all(ctx.client.id);
    Reply::OK
}

#[cfg(test)]
mod tests;
