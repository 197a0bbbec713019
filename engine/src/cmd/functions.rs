//! Functions: FCALL, FCALL_RO and FUNCTION LOAD|DELETE|LIST|DUMP|RESTORE|
//! FLUSH|STATS|KILL|HELP, on the libraries of [`crate::lua::functions`].
//!
//! FUNCTION LOAD, DELETE, FLUSH and RESTORE change the dataset's libraries:
//! they mark it dirty and so propagate verbatim to the AOF and replicas,
//! as in Redis. FCALL propagates as the writes its function made (the
//! FCALL itself does not), like EVAL.

use super::flags::*;
use super::scripting::{parse_numkeys, run_prepared, ScriptCall};
use super::{CommandSpec, Ctx, FindKeys, KeySpec};
use crate::lua::functions::{RestorePolicy, ENGINE_NAME};
use crate::lua::running::Kind;
use crate::lua::script_flags;
use crate::rdb::writer::{RdbWriter, WriteOptions};
use crate::rdb::{crc64, opcode, RDB_VERSION};
use crate::resp::Reply;
use crate::server::Server;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

#[rustfmt::skip]
mod docs;
#[cfg(test)]
mod tests;

const SCRIPTING: &[&str] = &["slow", "scripting"];
const WRITE_SCRIPTING: &[&str] = &["write", "slow", "scripting"];

const fn keynum_spec(flags: &'static [&'static str], notes: &'static str) -> KeySpec {
    KeySpec {
        notes: Some(notes),
        flags,
        begin_index: 2,
        find: FindKeys::Keynum {
            keynumidx: 0,
            firstkey: 1,
            step: 1,
        },
    }
}

const FCALL_KEYS: &[KeySpec] = &[keynum_spec(
    &["RW", "access", "update"],
    "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE",
)];
const FCALL_RO_KEYS: &[KeySpec] = &[keynum_spec(
    &["RO", "access"],
    "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS",
)];

const FCALL_FLAGS: u32 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLE_KEYS;

const fn fcall_like(
    name: &'static str,
    flags: u32,
    key_specs: &'static [KeySpec],
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        acl: SCRIPTING,
        key_specs,
        since: "7.0.0",
        summary,
        complexity: "Depends on the function that is executed.",
        ..CommandSpec::base(name, -3, flags, "scripting", Some(handler))
    }
    .with_docs(docs::FCALL)
}

const ALL_SUCCEEDED: &[&str] = &["request_policy:all_shards", "response_policy:all_succeeded"];

#[allow(clippy::too_many_arguments)]
const fn sub(
    name: &'static str,
    arity: i32,
    flags: u32,
    acl: &'static [&'static str],
    tips: &'static [&'static str],
    summary: &'static str,
    complexity: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        acl,
        tips,
        since: "7.0.0",
        summary,
        complexity,
        ..CommandSpec::base(name, arity, flags, "scripting", Some(handler))
    }
}

const FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    sub(
        "delete",
        3,
        WRITE | NOSCRIPT,
        WRITE_SCRIPTING,
        ALL_SUCCEEDED,
        "Delete a function by name",
        "O(1)",
        function_delete,
    )
    .with_docs(docs::DELETE),
    sub(
        "dump",
        2,
        NOSCRIPT,
        SCRIPTING,
        &[],
        "Dump all functions into a serialized binary payload",
        "O(N) where N is the number of functions",
        function_dump,
    ),
    sub(
        "flush",
        -2,
        WRITE | NOSCRIPT,
        WRITE_SCRIPTING,
        ALL_SUCCEEDED,
        "Deleting all functions",
        "O(N) where N is the number of functions deleted",
        function_flush,
    )
    .with_docs(docs::FLUSH),
    sub(
        "help",
        2,
        LOADING | STALE,
        SCRIPTING,
        &[],
        "Show helpful text about the different subcommands",
        "O(1)",
        function_help,
    ),
    sub(
        "kill",
        2,
        NOSCRIPT | ALLOW_BUSY,
        SCRIPTING,
        &["request_policy:all_shards", "response_policy:one_succeeded"],
        "Kill the function currently in execution.",
        "O(1)",
        function_kill,
    ),
    sub(
        "list",
        -2,
        NOSCRIPT,
        SCRIPTING,
        &["nondeterministic_output_order"],
        "List information about all the functions",
        "O(N) where N is the number of functions",
        function_list,
    )
    .with_docs(docs::LIST),
    sub(
        "load",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        WRITE_SCRIPTING,
        ALL_SUCCEEDED,
        "Create a function with the given arguments (name, code, description)",
        "O(1) (considering compilation time is redundant)",
        function_load,
    )
    .with_docs(docs::LOAD),
    sub(
        "restore",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        WRITE_SCRIPTING,
        ALL_SUCCEEDED,
        "Restore all the functions on the given payload",
        "O(N) where N is the number of functions on the payload",
        function_restore,
    )
    .with_docs(docs::RESTORE),
    sub(
        "stats",
        2,
        NOSCRIPT | ALLOW_BUSY,
        SCRIPTING,
        &[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ],
        "Return information about the function currently running (name, description, duration)",
        "O(1)",
        function_stats,
    ),
];

pub const COMMANDS: &[CommandSpec] = &[
    fcall_like("fcall", FCALL_FLAGS, FCALL_KEYS, "Invoke a function", fcall),
    fcall_like(
        "fcall_ro",
        READONLY | FCALL_FLAGS,
        FCALL_RO_KEYS,
        "Invoke a read-only function",
        fcall_ro,
    ),
    CommandSpec {
        acl: &["slow"],
        since: "7.0.0",
        summary: "A container for function commands",
        complexity: "Depends on subcommand.",
        subcommands: FUNCTION_SUBCOMMANDS,
        ..CommandSpec::base("function", -2, 0, "scripting", None)
    },
];

// ---- FCALL, FCALL_RO ----

fn fcall(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    fcall_generic(ctx, args, false)
}

fn fcall_ro(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    fcall_generic(ctx, args, true)
}

fn fcall_generic(ctx: &mut Ctx, args: &[Bytes], ro_command: bool) -> Reply {
    let name = String::from_utf8_lossy(&args[1]).into_owned();
    let (prepared, flags) = match ctx.srv.scripting.functions.prepare(&name) {
        Ok(found) => found,
        Err(e) => return e,
    };
    if parse_i64(&args[2]).is_none() {
        return Reply::err("ERR Bad number of keys provided");
    }
    let numkeys = match parse_numkeys(&args[2], args.len() - 3) {
        Ok(n) => n,
        Err(e) => return e,
    };
    if ro_command && flags & script_flags::NO_WRITES == 0 {
        return Reply::err("ERR Can not execute a script with write flag using *_ro command.");
    }
    let read_only = ro_command || flags & script_flags::NO_WRITES != 0;
    let (keys, argv) = args[3..].split_at(numkeys);
    let call = ScriptCall {
        args,
        keys,
        argv,
        read_only,
        kind: Kind::Function,
    };
    let reply = run_prepared(ctx, prepared, &call);
    // The function's writes propagated one by one; the FCALL itself does not.
    ctx.prevent_propagation();
    reply
}

// ---- FUNCTION LOAD, DELETE, FLUSH ----

fn function_load(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (code, options) = args[2..].split_last().expect("arity is at least 3");
    let mut replace = false;
    for option in options {
        if eq_ic(option, "replace") {
            replace = true;
        } else {
            return Reply::error(format!(
                "ERR Unknown option given: {}",
                String::from_utf8_lossy(option)
            ));
        }
    }
    match ctx.srv.scripting.functions.load(code, replace) {
        Ok(name) => {
            ctx.dirty(1);
            Reply::bulk(name.into_bytes())
        }
        Err(e) => e,
    }
}

fn function_delete(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let name = String::from_utf8_lossy(&args[2]);
    if !ctx.srv.scripting.functions.registry.remove(&name) {
        return Reply::err("ERR Library not found");
    }
    ctx.dirty(1);
    Reply::OK
}

fn function_flush(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match args.len() {
        2 => {}
        3 if eq_ic(&args[2], "sync") || eq_ic(&args[2], "async") => {}
        3 => return Reply::err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"),
        _ => return subcommand_syntax_error(&args[1]),
    }
    // Both modes free the libraries now: no background thread to hand them to.
    ctx.srv.scripting.functions.flush();
    ctx.dirty(1);
    Reply::OK
}

/// Redis's reply to a subcommand given the wrong arguments by its
/// handler: the subcommand as the client spelled it.
fn subcommand_syntax_error(sub: &[u8]) -> Reply {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]).replace(['\r', '\n'], " ");
    Reply::error(format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try FUNCTION HELP."
    ))
}

// ---- FUNCTION LIST, STATS ----

fn function_list(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (pattern, with_code) = match list_options(&args[2..]) {
        Ok(options) => options,
        Err(e) => return e,
    };
    let libraries = ctx.srv.scripting.functions.registry.libraries();
    let matching = libraries.filter(|lib| {
        pattern
            .as_ref()
            .is_none_or(|p| crate::glob::glob_match(p, lib.name.to_ascii_lowercase().as_bytes()))
    });
    Reply::Array(matching.map(|lib| library_reply(lib, with_code)).collect())
}

/// `[LIBRARYNAME pattern] [WITHCODE]`: the pattern (lower-cased: Redis
/// matches library names without case) and whether to show the code.
fn list_options(args: &[Bytes]) -> Result<(Option<Vec<u8>>, bool), Reply> {
    let (mut pattern, mut with_code) = (None, false);
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if eq_ic(arg, "withcode") && !with_code {
            with_code = true;
        } else if eq_ic(arg, "libraryname") && pattern.is_none() {
            let Some(p) = args.get(i + 1) else {
                return Err(Reply::err("ERR library name argument was not given"));
            };
            pattern = Some(p.to_ascii_lowercase());
            i += 1;
        } else {
            return Err(Reply::error(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(arg)
            )));
        }
        i += 1;
    }
    Ok((pattern, with_code))
}

fn text(s: &str) -> Reply {
    Reply::bulk(s.as_bytes().to_vec())
}

fn library_reply(lib: &crate::lua::functions::Library, with_code: bool) -> Reply {
    let functions = lib.functions.values().map(|f| {
        let flags = script_flags::NAMES
            .iter()
            .filter(|(_, bit)| f.flags & bit != 0)
            .map(|(name, _)| Reply::status(name))
            .collect();
        Reply::Map(vec![
            (text("name"), text(&f.name)),
            (
                text("description"),
                f.description.clone().map_or(Reply::Null, Reply::Bulk),
            ),
            (text("flags"), Reply::Set(flags)),
        ])
    });
    let mut fields = vec![
        (text("library_name"), text(&lib.name)),
        (text("engine"), text(ENGINE_NAME)),
        (text("functions"), Reply::Array(functions.collect())),
    ];
    if with_code {
        fields.push((text("library_code"), Reply::Bulk(lib.code.clone())));
    }
    Reply::Map(fields)
}

/// FUNCTION STATS: the running function (its name, command and
/// duration), null when none runs; while an EVAL script runs, the -BUSY
/// error naming SCRIPT KILL, as Redis.
fn function_stats(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    let running = match ctx.srv.scripting.running.as_deref() {
        Some(script) if script.kind == Kind::Eval => return Kind::Eval.busy_error(),
        Some(script) => running_script_reply(script, ctx.now().mono_ms),
        None => Reply::Null,
    };
    let registry = &ctx.srv.scripting.functions.registry;
    let engine = Reply::Map(vec![
        (
            text("libraries_count"),
            Reply::Int(registry.library_count() as i64),
        ),
        (
            text("functions_count"),
            Reply::Int(registry.function_count() as i64),
        ),
    ]);
    Reply::Map(vec![
        (text("running_script"), running),
        (
            text("engines"),
            Reply::Map(vec![(text(ENGINE_NAME), engine)]),
        ),
    ])
}

/// FUNCTION STATS's `running_script`: name, command, duration_ms.
fn running_script_reply(script: &crate::lua::running::RunningScript, now_ms: u64) -> Reply {
    let command = script.command.iter().cloned().map(Reply::Bulk).collect();
    let duration = i64::try_from(script.elapsed_ms(now_ms)).unwrap_or(i64::MAX);
    Reply::Map(vec![
        (text("name"), text(script.run.name())),
        (text("command"), Reply::Array(command)),
        (text("duration_ms"), Reply::Int(duration)),
    ])
}

/// FUNCTION KILL: stops the suspended function (see
/// [`crate::lua::Scripting::request_kill`]).
fn function_kill(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    ctx.srv.scripting.request_kill(Kind::Function)
}

// ---- FUNCTION DUMP, RESTORE ----

/// The payload of FUNCTION DUMP: each library as RDB's FUNCTION2 opcode
/// and its code (an RDB string), then the RDB version and a CRC64, as
/// Redis 7.0 builds it.
pub fn dump_payload(srv: &Server) -> Vec<u8> {
    let mut w = RdbWriter::new(WriteOptions::from_config(&srv.config, srv.now));
    crate::lua::functions::write_libraries(srv, &mut w);
    let mut out = w.take_output();
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn function_dump(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::bulk(dump_payload(ctx.srv))
}

fn function_restore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let policy =
        match args.get(3) {
            None => RestorePolicy::Append,
            Some(_) if args.len() > 4 => return subcommand_syntax_error(&args[1]),
            Some(p) if eq_ic(p, "flush") => RestorePolicy::Flush,
            Some(p) if eq_ic(p, "append") => RestorePolicy::Append,
            Some(p) if eq_ic(p, "replace") => RestorePolicy::Replace,
            Some(_) => return Reply::err(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ),
        };
    let codes = match payload_libraries(&args[2], &ctx.srv.config) {
        Ok(codes) => codes,
        Err(e) => return e,
    };
    let functions = &mut ctx.srv.scripting.functions;
    let incoming = match functions.compile_all(&codes) {
        Ok(registry) => registry,
        Err(e) => return e,
    };
    match functions.registry.join(incoming, policy) {
        Ok(()) => {
            ctx.dirty(1);
            Reply::OK
        }
        Err(e) => e,
    }
}

/// Bytes of the version and checksum footer of a payload.
const FOOTER_BYTES: usize = 10;

/// The library codes of a FUNCTION DUMP payload, after checking its
/// footer. The body is read with the RDB file loader, framed as a file
/// (header, body, EOF, no checksum), one opcode at a time so anything but
/// a library is refused as Redis refuses it.
fn payload_libraries(
    payload: &[u8],
    config: &crate::config::Config,
) -> Result<Vec<Vec<u8>>, Reply> {
    let body = verify_footer(payload)?;
    let mut file = format!("REDIS{RDB_VERSION:04}").into_bytes();
    let start = file.len();
    file.extend_from_slice(body);
    let end = file.len();
    file.push(opcode::EOF);
    file.extend_from_slice(&[0; 8]);
    let enc = crate::rdb::Encodings::from_config(config);
    let mut loader = crate::rdb::loader::RdbLoader::new(&file, enc)
        .map_err(|_| Reply::err("ERR payload version or checksum are wrong"))?;
    let mut codes = Vec::new();
    while (loader.offset() as usize) < end {
        let at = loader.offset() as usize;
        debug_assert!(at >= start);
        match file[at] {
            opcode::FUNCTION2 => {}
            opcode::FUNCTION_PRE_GA => {
                return Err(Reply::err("ERR Pre-GA function format not supported"))
            }
            _ => return Err(Reply::err("ERR given type is not a function")),
        }
        match loader.next_item() {
            Ok(Some(crate::rdb::loader::Item::Function { code })) => codes.push(code),
            _ => return Err(Reply::err("ERR Failed loading library")),
        }
    }
    if loader.offset() as usize != end {
        return Err(Reply::err("ERR Failed loading library"));
    }
    Ok(codes)
}

fn verify_footer(payload: &[u8]) -> Result<&[u8], Reply> {
    let wrong = || Reply::err("ERR DUMP payload version or checksum are wrong");
    let body_len = payload.len().checked_sub(FOOTER_BYTES).ok_or_else(wrong)?;
    let footer = &payload[body_len..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&footer[2..]);
    if version > RDB_VERSION || crc64(&payload[..body_len + 2]) != u64::from_le_bytes(crc) {
        return Err(wrong());
    }
    Ok(&payload[..body_len])
}

// ---- FUNCTION HELP ----

const HELP: &[&str] = &[
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
];

fn function_help(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    super::server::help_reply("FUNCTION", HELP)
}
