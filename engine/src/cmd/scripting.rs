//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT
//! LOAD|EXISTS|FLUSH|KILL|HELP, on the Lua runtime of [`crate::lua`].
//!
//! A script runs against the node's state with the calling client's
//! context: the commands it calls ([`call_command`]) run their handlers
//! with the same [`Ctx`], under the checks Redis applies inside scripts.
//! What the script changes reaches the AOF and replicas as the effects of
//! those commands; the EVAL itself never propagates.
//!
//! A script runs in slices ([`crate::lua::ScriptRun`]). When a client's
//! top-level command starts one that does not end in its first slice, the
//! handler leaves it in [`crate::lua::Scripting::running`] and answers
//! nothing yet; the node resumes it ([`resume_running`]) until it ends,
//! answering other clients `-BUSY` once `busy-reply-threshold` has passed
//! (`crate::node::script_run`). Inside EXEC, a replicated stream or an AOF
//! replay the script runs to its end at once.

use super::flags::*;
use super::{CommandSpec, Ctx, FindKeys, KeySpec};
use crate::client::Client;
use crate::lua::running::{ClientContext, Kind, RunningScript};
use crate::lua::{script_flags, CallEnv, Host, PreparedRun, Step};
use crate::node::Clients;
use crate::resp::{Protocol, Reply};
use crate::server::Server;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;
use std::borrow::Cow;

#[rustfmt::skip]
mod docs;
#[cfg(test)]
mod tests;

const SCRIPTING: &[&str] = &["slow", "scripting"];

const fn keynum_spec(flags: &'static [&'static str], notes: Option<&'static str>) -> KeySpec {
    KeySpec {
        notes,
        flags,
        begin_index: 2,
        find: FindKeys::Keynum {
            keynumidx: 0,
            firstkey: 1,
            step: 1,
        },
    }
}

const RW_NOTES: &str =
    "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE";
const RO_NOTES: &str =
    "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS";
// Redis 7.0 spells these key-spec flags in lower case for the EVAL family.
const EVAL_KEYS: &[KeySpec] = &[keynum_spec(&["RW", "access", "update"], Some(RW_NOTES))];
const EVALSHA_KEYS: &[KeySpec] = &[keynum_spec(&["RW", "access", "update"], None)];
const EVAL_RO_KEYS: &[KeySpec] = &[keynum_spec(&["RO", "access"], Some(RO_NOTES))];
const EVALSHA_RO_KEYS: &[KeySpec] = &[keynum_spec(&["RO", "access"], None)];

const EVAL_FLAGS: u32 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLE_KEYS;

const fn eval_like(
    name: &'static str,
    flags: u32,
    key_specs: &'static [KeySpec],
    (since, summary): (&'static str, &'static str),
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        acl: SCRIPTING,
        key_specs,
        since,
        summary,
        complexity: "Depends on the script that is executed.",
        ..CommandSpec::base(name, -3, flags, "scripting", Some(handler))
    }
}

const fn sub(
    name: &'static str,
    arity: i32,
    flags: u32,
    tips: &'static [&'static str],
    summary: &'static str,
    complexity: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        acl: SCRIPTING,
        tips,
        summary,
        complexity,
        ..CommandSpec::base(name, arity, flags, "scripting", Some(handler))
    }
}

const ALL_NODES: &[&str] = &["request_policy:all_nodes", "response_policy:all_succeeded"];

const SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        since: "2.6.0",
        ..sub(
            "exists",
            -3,
            NOSCRIPT,
            &["request_policy:all_shards", "response_policy:agg_logical_and"],
            "Check existence of scripts in the script cache.",
            "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).",
            script_exists,
        )
        .with_docs(docs::SCRIPT_EXISTS)
    },
    CommandSpec {
        since: "3.2.0",
        ..sub(
            "debug",
            3,
            NOSCRIPT,
            &[],
            "Set the debug mode for executed scripts.",
            "O(1)",
            script_debug,
        )
        .with_docs(docs::SCRIPT_DEBUG)
    },
    CommandSpec {
        since: "2.6.0",
        ..sub(
            "flush",
            -2,
            NOSCRIPT,
            ALL_NODES,
            "Remove all the scripts from the script cache.",
            "O(N) with N being the number of scripts in cache",
            script_flush,
        )
        .with_docs(docs::SCRIPT_FLUSH)
    },
    CommandSpec {
        since: "5.0.0",
        ..sub(
            "help",
            2,
            LOADING | STALE,
            &[],
            "Show helpful text about the different subcommands",
            "O(1)",
            script_help,
        )
    },
    CommandSpec {
        since: "2.6.0",
        ..sub(
            "kill",
            2,
            NOSCRIPT | ALLOW_BUSY,
            &["request_policy:all_shards", "response_policy:one_succeeded"],
            "Kill the script currently in execution.",
            "O(1)",
            script_kill,
        )
    },
    CommandSpec {
        since: "2.6.0",
        ..sub(
            "load",
            3,
            NOSCRIPT | STALE,
            ALL_NODES,
            "Load the specified Lua script into the script cache.",
            "O(N) with N being the length in bytes of the script body.",
            script_load,
        )
        .with_docs(docs::SCRIPT_LOAD)
    },
];

pub const COMMANDS: &[CommandSpec] = &[
    eval_like(
        "eval",
        EVAL_FLAGS,
        EVAL_KEYS,
        ("2.6.0", "Execute a Lua script server side"),
        eval,
    )
    .with_docs(docs::EVAL),
    eval_like(
        "evalsha",
        EVAL_FLAGS,
        EVALSHA_KEYS,
        ("2.6.0", "Execute a Lua script server side"),
        evalsha,
    )
    .with_docs(docs::EVALSHA),
    eval_like(
        "eval_ro",
        READONLY | EVAL_FLAGS,
        EVAL_RO_KEYS,
        ("7.0.0", "Execute a read-only Lua script server side"),
        eval_ro,
    )
    .with_docs(docs::EVAL),
    eval_like(
        "evalsha_ro",
        READONLY | EVAL_FLAGS,
        EVALSHA_RO_KEYS,
        ("7.0.0", "Execute a read-only Lua script server side"),
        evalsha_ro,
    )
    .with_docs(docs::EVALSHA),
    CommandSpec {
        acl: &["slow"],
        since: "2.6.0",
        summary: "A container for Lua scripts management commands",
        complexity: "Depends on subcommand.",
        subcommands: SCRIPT_SUBCOMMANDS,
        ..CommandSpec::base("script", -2, 0, "scripting", None)
    },
];

/// How a script is named in the command: by body (EVAL) or by sha.
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Body,
    Sha,
}

fn eval(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    eval_generic(ctx, args, By::Body, false)
}

fn evalsha(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    eval_generic(ctx, args, By::Sha, false)
}

fn eval_ro(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    eval_generic(ctx, args, By::Body, true)
}

fn evalsha_ro(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    eval_generic(ctx, args, By::Sha, true)
}

const NOSCRIPT_ERR: &str = "NOSCRIPT No matching script. Please use EVAL.";

fn eval_generic(ctx: &mut Ctx, args: &[Bytes], by: By, ro_command: bool) -> Reply {
    if by == By::Sha && args[1].len() != 40 {
        return Reply::err(NOSCRIPT_ERR);
    }
    let numkeys = match parse_numkeys(&args[2], args.len() - 3) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let (prepared, flags) = match prepare_script(ctx, &args[1], by) {
        Ok(found) => found,
        Err(e) => return e,
    };
    let compat = flags & script_flags::EVAL_COMPAT_MODE != 0;
    if ro_command && !compat && flags & script_flags::NO_WRITES == 0 {
        return Reply::err("ERR Can not execute a script with write flag using *_ro command.");
    }
    let read_only = ro_command || flags & script_flags::NO_WRITES != 0;
    let (keys, argv) = args[3..].split_at(numkeys);
    let run = ScriptCall {
        args,
        keys,
        argv,
        read_only,
        kind: Kind::Eval,
    };
    let reply = run_prepared(ctx, prepared, &run);
    // The script's writes propagated one by one; the EVAL itself does not.
    ctx.prevent_propagation();
    reply
}

pub(crate) fn parse_numkeys(arg: &[u8], available: usize) -> Result<usize, Reply> {
    let n = parse_i64(arg).ok_or_else(Reply::not_integer)?;
    if n < 0 {
        return Err(Reply::err("ERR Number of keys can't be negative"));
    }
    match usize::try_from(n) {
        Ok(n) if n <= available => Ok(n),
        _ => Err(Reply::err(
            "ERR Number of keys can't be greater than number of args",
        )),
    }
}

/// The cached script to run and its flags: EVAL compiles and caches the
/// body first; EVALSHA finds it by sha (in either case).
fn prepare_script(ctx: &mut Ctx, arg: &[u8], by: By) -> Result<(PreparedRun, u32), Reply> {
    let scripting = &mut ctx.srv.scripting;
    let found = match by {
        By::Body => {
            let sha = scripting.load(arg)?;
            scripting.prepare(sha.as_bytes())
        }
        By::Sha => scripting.prepare(arg),
    };
    found.ok_or_else(|| Reply::err(NOSCRIPT_ERR))
}

/// A script or function to run, from the command that asks for it.
pub(crate) struct ScriptCall<'a> {
    /// The command as sent (EVAL ..., FCALL ...).
    pub args: &'a [Bytes],
    pub keys: &'a [Bytes],
    pub argv: &'a [Bytes],
    pub read_only: bool,
    pub kind: Kind,
}

/// Runs a prepared script or function with the client's context: its
/// reply, or [`Reply::NoReply`] when it goes on in the background (see
/// the module documentation).
pub(crate) fn run_prepared(ctx: &mut Ctx, prepared: PreparedRun, call: &ScriptCall) -> Reply {
    let run = match prepared.start() {
        Ok(run) => run,
        Err(e) => return e,
    };
    let suspendable =
        std::mem::take(&mut ctx.srv.scripting.may_suspend) && !ctx.client.deny_blocking;
    let mut script = RunningScript {
        run,
        kind: call.kind,
        client: ctx.client.id,
        // Filled in when it is suspended (most runs end in their first slice).
        command: Vec::new(),
        stats_name: String::new(),
        started: ctx.now(),
        dirty_at_start: ctx.srv.dirty,
        read_only: call.read_only,
        wrote: false,
        kill_requested: false,
        caller: ClientContext::of(ctx.client),
        db: ctx.client.db,
    };
    let mut inputs = Some((call.keys, call.argv));
    loop {
        match run_slice(ctx, &mut script, inputs.take()) {
            Step::Done(reply) => return reply,
            Step::Yielded if suspendable => {
                script.command = call.args.to_vec();
                script.stats_name = String::from_utf8_lossy(&call.args[0]).to_ascii_lowercase();
                ctx.srv.scripting.running = Some(Box::new(script));
                return Reply::NoReply;
            }
            Step::Yielded => {}
        }
    }
}

/// The keys and arguments a run starts with (its first slice).
type Inputs<'a> = (&'a [Bytes], &'a [Bytes]);

/// One slice of `script` (the first one with its `inputs`), with its
/// context applied to its client for the slice (database, no blocking,
/// read-only, the time it started at) and the client's own put back
/// after it.
fn run_slice(ctx: &mut Ctx, script: &mut RunningScript, inputs: Option<Inputs>) -> Step {
    let now = std::mem::replace(&mut ctx.srv.now, script.started);
    ctx.client.db = script.db;
    ctx.client.deny_blocking = true;
    let was_read_only = std::mem::replace(&mut ctx.srv.scripting.read_only_run, script.read_only);
    let step = {
        let mut host = ScriptHost {
            ctx,
            wrote: &mut script.wrote,
        };
        match inputs {
            Some((keys, argv)) => script.run.first_slice(&mut host, keys, argv),
            None => script.run.resume(&mut host),
        }
    };
    ctx.srv.scripting.read_only_run = was_read_only;
    ctx.srv.now = now;
    script.db = ctx.client.db;
    script.caller.restore(ctx.client);
    step
}

/// How a suspended script ended.
pub struct Finished {
    pub reply: Reply,
    pub script: Box<RunningScript>,
}

/// Runs the next slice of the suspended script, as `client` (its caller,
/// or a stand-in when the caller is gone); a kill requested meanwhile
/// ends it instead. What it ended with, when it ended.
pub fn resume_running(
    srv: &mut Server,
    client: &mut Client,
    others: &mut Clients,
) -> Option<Finished> {
    let mut script = srv.scripting.running.take()?;
    if script.kill_requested {
        let reply = script.run.killed_reply();
        return Some(Finished { reply, script });
    }
    let mut ctx = Ctx {
        srv,
        client,
        others,
    };
    match run_slice(&mut ctx, &mut script, None) {
        Step::Done(reply) => Some(Finished { reply, script }),
        Step::Yielded => {
            ctx.srv.scripting.running = Some(script);
            None
        }
    }
}

/// Runs the commands of a script for the Lua runtime.
struct ScriptHost<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    /// Set once the script ran a write command.
    wrote: &'c mut bool,
}

impl Host for ScriptHost<'_, '_> {
    fn call(&mut self, args: &[Bytes], env: CallEnv) -> Reply {
        self.ctx.client.protocol = if env.resp3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        let propagate = env.repl != 0;
        call_command_with(self.ctx, args, propagate, self.wrote)
    }

    fn command_exists(&self, args: &[Bytes]) -> bool {
        lookup(self.ctx, args).is_some()
    }
}

/// The command `args` names, with its full name (`client|list`; only a
/// subcommand's is allocated).
fn lookup(ctx: &Ctx, args: &[Bytes]) -> Option<(&'static CommandSpec, Cow<'static, str>)> {
    let spec = ctx.srv.table.lookup(&args[0])?;
    let name = Cow::Borrowed(spec.name);
    if spec.subcommands.is_empty() {
        return Some((spec, name));
    }
    match args.get(1).and_then(|sub| spec.find_subcommand(sub)) {
        Some(sub) => Some((sub, Cow::Owned(format!("{}|{}", spec.name, sub.name)))),
        None if spec.handler.is_some() => Some((spec, name)),
        None if args.len() < 2 => Some((spec, name)),
        None => None,
    }
}

/// Runs a command from a script (`redis.call`): looks it up, applies the
/// checks Redis applies inside scripts (unknown command, arity, commands
/// refused in scripts, writes from a read-only script), runs the handler
/// with the same context, and records its statistics and its effect.
pub fn call_command(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    call_command_with(ctx, args, true, &mut false)
}

/// [`call_command`]: `propagate` false for `redis.set_repl(REPL_NONE)`;
/// `wrote` is set when a write command runs.
fn call_command_with(ctx: &mut Ctx, args: &[Bytes], propagate: bool, wrote: &mut bool) -> Reply {
    let Some((spec, full_name)) = lookup(ctx, args) else {
        return Reply::err("ERR Unknown Redis command called from script");
    };
    if !spec.arity_ok(args.len()) || spec.handler.is_none() {
        return Reply::err("ERR Wrong number of args calling Redis command from script");
    }
    if spec.has(NOSCRIPT) {
        return Reply::err("ERR This Redis command is not allowed from script");
    }
    if spec.has(WRITE) {
        if ctx.srv.scripting.read_only_run {
            return Reply::err("ERR Write commands are not allowed from read-only scripts.");
        }
        *wrote = true;
    }
    let handler = spec.handler.expect("checked above");
    let (db, dirty_before) = (ctx.client.db, ctx.srv.dirty);
    let reply = handler(ctx, args);
    ctx.srv.propagate_expired();
    let made_dirty = ctx.srv.dirty > dirty_before;
    ctx.srv
        .effects
        .command_done(db, args, made_dirty && propagate);
    count_call(ctx, &full_name, &reply);
    reply
}

/// Commandstats for a command a script ran. Its errors are not counted
/// in errorstats here: the script's own error reply is (once).
fn count_call(ctx: &mut Ctx, full_name: &str, reply: &Reply) {
    let stats = &mut ctx.srv.stats;
    stats.total_commands_processed += 1;
    let entry = stats.command(full_name);
    entry.calls += 1;
    if reply.is_error() {
        entry.failed_calls += 1;
    }
}

fn script_load(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match ctx.srv.scripting.load(&args[2]) {
        Ok(sha) => Reply::bulk(sha.into_bytes()),
        Err(e) => e,
    }
}

fn script_exists(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    Reply::Array(
        args[2..]
            .iter()
            .map(|sha| Reply::Int(i64::from(ctx.srv.scripting.exists(sha))))
            .collect(),
    )
}

fn script_flush(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let valid = match args.len() {
        2 => true,
        3 => eq_ic(&args[2], "sync") || eq_ic(&args[2], "async"),
        _ => false,
    };
    if !valid {
        return Reply::err("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    // Both modes drop the Lua state at once: it is freed in Keel's own
    // time, there is no background thread to hand it to.
    ctx.srv.scripting.flush();
    Reply::OK
}

/// SCRIPT KILL: stops the suspended EVAL script (see
/// [`crate::lua::Scripting::request_kill`]).
fn script_kill(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    ctx.srv.scripting.request_kill(Kind::Eval)
}

/// SCRIPT DEBUG: NO is what every script runs with; the Lua debugger
/// (YES, SYNC) is not built.
fn script_debug(_ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if eq_ic(&args[2], "no") {
        Reply::OK
    } else if eq_ic(&args[2], "yes") || eq_ic(&args[2], "sync") {
        Reply::err("ERR The Lua debugger (SCRIPT DEBUG YES|SYNC) is not available in Keel")
    } else {
        Reply::err("ERR Use SCRIPT DEBUG YES/SYNC/NO")
    }
}

const HELP: &[&str] = &[
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
];

fn script_help(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    super::server::help_reply("SCRIPT", HELP)
}
