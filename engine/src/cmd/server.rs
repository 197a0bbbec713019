//! Server commands: DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME, SAVE,
//! BGSAVE, LASTSAVE, SHUTDOWN, DEBUG and CONFIG. INFO lives in `info.rs`, COMMAND in `command.rs`.

use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::config::{self, PARAMS};
use crate::node::Output;
use crate::resp::{encode, Protocol, Reply};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

#[rustfmt::skip]
mod docs;

const ADMIN_ACL: &[&str] = &["admin", "slow", "dangerous"];
const FLUSH_TIPS: &[&str] = &["request_policy:all_shards", "response_policy:all_succeeded"];

/// A server-group command with no keys; the rest is filled in per command.
const fn server_cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    acl: &'static [&'static str],
    since: &'static str,
    summary: &'static str,
    handler: Option<super::Handler>,
) -> CommandSpec {
    CommandSpec {
        acl,
        since,
        summary,
        ..CommandSpec::base(name, arity, flags, "server", handler)
    }
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        tips: &["request_policy:all_shards", "response_policy:agg_sum"],
        ..server_cmd(
            "dbsize",
            1,
            READONLY | FAST,
            &["keyspace", "read", "fast"],
            "1.0.0",
            "Return the number of keys in the selected database",
            Some(dbsize),
        )
    },
    CommandSpec {
        tips: FLUSH_TIPS,
        complexity: "O(N) where N is the number of keys in the selected database",
        ..server_cmd(
            "flushdb",
            -1,
            WRITE,
            &["keyspace", "write", "slow", "dangerous"],
            "1.0.0",
            "Remove all keys from the current database",
            Some(flushdb),
        )
    }
    .with_docs(docs::FLUSHDB),
    CommandSpec {
        tips: FLUSH_TIPS,
        complexity: "O(N) where N is the total number of keys in all databases",
        ..server_cmd(
            "flushall",
            -1,
            WRITE,
            &["keyspace", "write", "slow", "dangerous"],
            "1.0.0",
            "Remove all keys from all databases",
            Some(flushall),
        )
    }
    .with_docs(docs::FLUSHALL),
    CommandSpec {
        complexity: SWAPDB_COMPLEXITY,
        ..server_cmd(
            "swapdb",
            3,
            WRITE | FAST,
            &["keyspace", "write", "fast", "dangerous"],
            "4.0.0",
            "Swaps two Redis databases",
            Some(swapdb),
        )
    }
    .with_docs(docs::SWAPDB),
    CommandSpec {
        tips: &["nondeterministic_output"],
        ..server_cmd(
            "time",
            1,
            LOADING | STALE | FAST,
            &["fast"],
            "2.6.0",
            "Return the current server time",
            Some(time),
        )
    },
    CommandSpec {
        complexity: "O(N) where N is the total number of keys in all databases",
        ..server_cmd(
            "save",
            1,
            ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
            ADMIN_ACL,
            "1.0.0",
            "Synchronously save the dataset to disk",
            Some(save),
        )
    },
    CommandSpec {
        complexity: "O(1)",
        ..server_cmd(
            "bgsave",
            -1,
            ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
            ADMIN_ACL,
            "1.0.0",
            "Asynchronously save the dataset to disk",
            Some(bgsave),
        )
    }
    .with_docs(docs::BGSAVE),
    CommandSpec {
        tips: &["nondeterministic_output"],
        complexity: "O(1)",
        ..server_cmd(
            "lastsave",
            1,
            LOADING | STALE | FAST,
            &["admin", "fast", "dangerous"],
            "1.0.0",
            "Get the UNIX time stamp of the last successful save to disk",
            Some(lastsave),
        )
    },
    CommandSpec {
        complexity: SHUTDOWN_COMPLEXITY,
        ..server_cmd(
            "shutdown",
            -1,
            ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
            ADMIN_ACL,
            "1.0.0",
            "Synchronously save the dataset to disk and then shut down the server",
            Some(shutdown),
        )
    }
    .with_docs(docs::SHUTDOWN),
    CommandSpec {
        complexity: CONTAINER_COMPLEXITY,
        ..server_cmd(
            "debug",
            -2,
            ADMIN | NOSCRIPT | LOADING | STALE,
            ADMIN_ACL,
            "1.0.0",
            "A container for debugging commands",
            Some(debug),
        )
    }
    .with_docs(docs::DEBUG),
    server_cmd(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        ADMIN_ACL,
        "1.0.0",
        "Asynchronously rewrite the append-only file",
        Some(bgrewriteaof),
    ),
    CommandSpec {
        subcommands: CONFIG_SUBCOMMANDS,
        complexity: CONTAINER_COMPLEXITY,
        ..server_cmd(
            "config",
            -2,
            0,
            &["slow"],
            "2.0.0",
            "A container for server configuration commands",
            None,
        )
    },
];

const SWAPDB_COMPLEXITY: &str =
    "O(N) where N is the count of clients watching or blocking on keys from both databases.";
const SHUTDOWN_COMPLEXITY: &str = "O(N) when saving, where N is the total number of keys in all \
    databases when saving data, otherwise O(1)";
const CONTAINER_COMPLEXITY: &str = "Depends on subcommand.";
const O_PARAMS: &str = "O(N) when N is the number of configuration parameters provided";

const CONFIG_ADMIN: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

const CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        complexity: O_PARAMS,
        ..server_cmd(
            "get",
            -3,
            CONFIG_ADMIN,
            ADMIN_ACL,
            "2.0.0",
            "Get the values of configuration parameters",
            Some(config_get),
        )
    }
    .with_docs(docs::CONFIG_GET),
    CommandSpec {
        tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
        complexity: O_PARAMS,
        ..server_cmd(
            "set",
            -4,
            CONFIG_ADMIN,
            ADMIN_ACL,
            "2.0.0",
            "Set configuration parameters to the given values",
            Some(config_set),
        )
    }
    .with_docs(docs::CONFIG_SET),
    server_cmd(
        "resetstat",
        2,
        CONFIG_ADMIN,
        ADMIN_ACL,
        "2.0.0",
        "Reset the stats returned by INFO",
        Some(config_resetstat),
    ),
    server_cmd(
        "rewrite",
        2,
        CONFIG_ADMIN,
        ADMIN_ACL,
        "2.8.0",
        "Rewrite the configuration file with the in memory configuration",
        Some(config_rewrite),
    ),
    server_cmd(
        "help",
        2,
        LOADING | STALE,
        &["slow"],
        "5.0.0",
        "Show helpful text about the different subcommands",
        Some(config_help),
    ),
];

/// A HELP reply: Redis's header line, the given lines, and the HELP entry.
pub fn help_reply(command: &str, lines: &[&'static str]) -> Reply {
    let mut out = vec![Reply::Status(
        format!("{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:").into(),
    )];
    out.extend(lines.iter().map(|l| Reply::status(l)));
    out.push(Reply::status("HELP"));
    out.push(Reply::status("    Prints this help."));
    Reply::Array(out)
}

// ---- DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME ----

fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Int(ctx.db().len() as i64)
}

/// Parses the optional SYNC|ASYNC of FLUSHDB/FLUSHALL: true for ASYNC.
/// Without it, `lazyfree-lazy-user-flush` decides.
fn flush_mode(ctx: &Ctx, args: &[Bytes]) -> Result<bool, Reply> {
    match args {
        [_] => Ok(ctx.srv.config.lazyfree_lazy_user_flush),
        [_, mode] if eq_ic(mode, "sync") => Ok(false),
        [_, mode] if eq_ic(mode, "async") => Ok(true),
        _ => Err(Reply::syntax_error()),
    }
}

/// Empties database `index`: at once, or handing the contents to the lazy
/// freer that releases them a bounded number per cron step. Returns the
/// number of keys removed.
fn empty_db(ctx: &mut Ctx, index: usize, lazily: bool) -> usize {
    ctx.srv.touch_watched_keys_on_flush(index);
    let contents = ctx.srv.dbs[index].clear();
    let removed = contents.len();
    if lazily {
        ctx.srv.free_lazily(contents);
    }
    removed
}

fn flushdb(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let lazily = match flush_mode(ctx, args) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let selected = ctx.client.db;
    let removed = empty_db(ctx, selected, lazily);
    ctx.dirty(removed as u64 + 1);
    Reply::OK
}

fn flushall(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let lazily = match flush_mode(ctx, args) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let removed: usize = (0..ctx.srv.dbs.len())
        .map(|i| empty_db(ctx, i, lazily))
        .sum();
    ctx.dirty(removed as u64 + 1);
    Reply::OK
}

/// A DB index as Redis's `getIntFromObjectOrReply` reads it (a C int).
fn db_index(arg: &[u8]) -> Option<i64> {
    parse_i64(arg).filter(|n| i32::try_from(*n).is_ok())
}

fn swapdb(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let Some(a) = db_index(&args[1]) else {
        return Reply::err("ERR invalid first DB index");
    };
    let Some(b) = db_index(&args[2]) else {
        return Reply::err("ERR invalid second DB index");
    };
    let count = ctx.srv.dbs.len() as i64;
    if !(0..count).contains(&a) || !(0..count).contains(&b) {
        return Reply::err("ERR DB index is out of range");
    }
    ctx.srv.touch_watched_keys_on_swap(a as usize, b as usize);
    ctx.srv.dbs.swap(a as usize, b as usize);
    ctx.dirty(1);
    Reply::OK
}

fn time(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    let unix_us = ctx.now().unix_us();
    let secs = unix_us / 1_000_000;
    let micros = unix_us % 1_000_000;
    Reply::Array(vec![
        Reply::bulk_str(&secs.to_string()),
        Reply::bulk_str(&micros.to_string()),
    ])
}

// ---- SAVE, BGSAVE, LASTSAVE ----

/// SAVE: writes the snapshot now; the reply (and every other client)
/// waits until it is on disk (see [`crate::persist`]).
fn save(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    crate::persist::save(ctx.srv, ctx.client.id).unwrap_or(Reply::NoReply)
}

fn bgsave(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match args {
        [_] => crate::persist::bgsave(ctx.srv, false),
        [_, word] if eq_ic(word, "schedule") => crate::persist::bgsave(ctx.srv, true),
        _ => Reply::syntax_error(),
    }
}

fn lastsave(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Int(ctx.srv.persist.last_save_secs as i64)
}

// ---- SHUTDOWN ----

#[derive(Default)]
struct ShutdownOptions {
    save: bool,
    nosave: bool,
    force: bool,
    abort: bool,
}

fn parse_shutdown(args: &[Bytes]) -> Result<ShutdownOptions, Reply> {
    let mut opts = ShutdownOptions::default();
    for arg in &args[1..] {
        if eq_ic(arg, "save") {
            opts.save = true;
        } else if eq_ic(arg, "nosave") {
            opts.nosave = true;
        } else if eq_ic(arg, "now") {
            // Skips waiting for lagging replicas; there are none to wait for.
        } else if eq_ic(arg, "force") {
            opts.force = true;
        } else if eq_ic(arg, "abort") {
            opts.abort = true;
        } else {
            return Err(Reply::syntax_error());
        }
    }
    if (opts.save && opts.nosave) || (opts.abort && args.len() != 2) {
        return Err(Reply::syntax_error());
    }
    Ok(opts)
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. A background save is
/// abandoned; the data is saved first with SAVE, or when save points are
/// set and NOSAVE is not given. The server then stops, unless that save
/// failed: the client gets Redis's error (FORCE stops anyway). With no
/// replicas to wait for, a shutdown is never left in progress for ABORT.
fn shutdown(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let opts = match parse_shutdown(args) {
        Ok(o) => o,
        Err(e) => return e,
    };
    if opts.abort {
        return Reply::err("ERR No shutdown in progress.");
    }
    // Replies already queued for this client go out before the stop.
    crate::node::flush_output(ctx.srv, ctx.client);
    let id = Some(ctx.client.id);
    if crate::persist::shutdown(ctx.srv, id, opts.save, opts.nosave, opts.force) {
        ctx.srv.shutting_down = true;
        ctx.srv.outputs.push_back(Output::Shutdown);
    }
    Reply::NoReply
}

/// BGREWRITEAOF: a forkless rewrite of the AOF (see `crate::aof::rewrite`).
fn bgrewriteaof(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    // A rewrite waits for a running BGSAVE (scheduled), as in Redis.
    let bgsave_running = ctx.srv.persist.bgsave_in_progress();
    crate::aof::bgrewriteaof(ctx.srv, bgsave_running)
}

// ---- DEBUG ----

const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is \
    set to \"local\", you can run it from a local connection, otherwise you need to set this option \
    in the configuration file, and then restart the server.";

const DEBUG_HELP: &[&str] = &[
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Available options:",
    "    * MERGE: Merge the content of the RDB with the current data.",
    "    * NOFLUSH: Do not flush the current data before loading.",
    "    * NOSAVE: Do not save the current data before loading.",
];

fn debug_allowed(ctx: &Ctx) -> bool {
    match ctx.srv.config.enable_debug_command.as_str() {
        "yes" => true,
        "local" => ctx.client.is_local(),
        _ => false,
    }
}

fn debug(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if !debug_allowed(ctx) {
        return Reply::err(DEBUG_NOT_ALLOWED);
    }
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match (sub.as_str(), args.len()) {
        ("help", 2) => help_reply("DEBUG", DEBUG_HELP),
        ("sleep", 3) => debug_sleep(ctx, &args[2]),
        ("set-active-expire", 3) => {
            ctx.srv.active_expire_enabled = atoi(&args[2]) != 0;
            Reply::OK
        }
        ("pause-cron", 3) => {
            ctx.srv.cron_paused = atoi(&args[2]) != 0;
            Reply::OK
        }
        ("change-repl-id", 2) => {
            ctx.srv.change_replid();
            Reply::OK
        }
        ("error", 3) => Reply::error(scrub(&args[2])),
        ("reload", _) => debug_reload(ctx, &args[2..]),
        ("protocol", 3) => debug_protocol(ctx, &args[2]),
        _ => Reply::error(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            scrub(&args[1][..args[1].len().min(crate::limits::UNKNOWN_COMMAND_ECHO_LEN)])
        )),
    }
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: saves (unless NOSAVE), empties
/// the data (unless NOFLUSH), loads the file back; every client waits.
fn debug_reload(ctx: &mut Ctx, options: &[Bytes]) -> Reply {
    let (mut save, mut flush, mut merge) = (true, true, false);
    for option in options {
        if eq_ic(option, "merge") {
            merge = true;
        } else if eq_ic(option, "noflush") {
            flush = false;
        } else if eq_ic(option, "nosave") {
            save = false;
        } else {
            return Reply::err(
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            );
        }
    }
    let id = ctx.client.id;
    crate::persist::debug_reload(ctx.srv, id, save, flush, merge).unwrap_or(Reply::NoReply)
}

/// Error texts echo client input; newlines would break the protocol.
fn scrub(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).replace(['\r', '\n'], " ")
}

/// DEBUG SLEEP: the whole server stops for that long (virtual time: the
/// node processes nothing until the pause ends), then the sleeper gets OK.
fn debug_sleep(ctx: &mut Ctx, arg: &[u8]) -> Reply {
    let ms = (atof(arg) * 1000.0).ceil();
    if ms.is_nan() || ms <= 0.0 {
        return Reply::OK;
    }
    let ms = (ms as u64).min(crate::limits::DEBUG_SLEEP_MAX_MS);
    ctx.srv.paused_until = Some(ctx.now().mono_ms.saturating_add(ms));
    ctx.srv.sleeping_client = ctx.client.replies_enabled().then_some(ctx.client.id);
    Reply::NoReply
}

/// C's `atoi`: leading spaces, optional sign, digits; anything else ends it.
fn atoi(arg: &[u8]) -> i64 {
    let text = std::str::from_utf8(arg).unwrap_or("").trim_start();
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).take(18);
    sign * digits.fold(0i64, |n, d| n * 10 + (d - b'0') as i64)
}

/// C's `atof` for decimal input: the longest numeric prefix, 0 if none.
fn atof(arg: &[u8]) -> f64 {
    let text = std::str::from_utf8(arg).unwrap_or("").trim_start();
    let bytes = text.as_bytes();
    let lower = text
        .get(..text.len().min(9))
        .unwrap_or("")
        .to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if unsigned.starts_with("inf") {
        return if text.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let mut end = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    end += digits(end);
    if bytes.get(end) == Some(&b'.') {
        end += 1 + digits(end + 1);
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
        let exp = digits(end + 1 + sign);
        if exp > 0 {
            end += 1 + sign + exp;
        }
    }
    text[..end].parse().unwrap_or(0.0)
}

const PROTOCOL_TYPES: &str =
    "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false";

fn debug_protocol(ctx: &mut Ctx, kind: &[u8]) -> Reply {
    let ints = |n: i64| (0..n).map(Reply::Int).collect::<Vec<_>>();
    let kind = String::from_utf8_lossy(kind).to_ascii_lowercase();
    match kind.as_str() {
        "string" => Reply::bulk_str("Hello World"),
        "integer" => Reply::Int(12345),
        // Redis's fixed test value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        "double" => Reply::Double(3.141),
        "bignum" => Reply::BigNumber("1234567999999999999999999999999999999".into()),
        "null" => Reply::Null,
        "array" => Reply::Array(ints(3)),
        "set" => Reply::Set(ints(3)),
        "map" => Reply::Map(
            (0..3)
                .map(|i| (Reply::Int(i), Reply::Bool(i == 1)))
                .collect(),
        ),
        "attrib" => {
            write_attribute(ctx);
            Reply::bulk_str("Some real reply following the attribute")
        }
        "push" => {
            if ctx.client.protocol == Protocol::Resp2 {
                return Reply::err("ERR RESP2 is not supported by this command");
            }
            let push = Reply::Push(vec![Reply::bulk_str("server-cpu-usage"), Reply::Int(42)]);
            if ctx.client.replies_enabled() {
                encode(&push, ctx.client.protocol, &mut ctx.client.out);
            }
            Reply::bulk_str("Some real reply following the push reply")
        }
        "verbatim" => Reply::Verbatim("txt", Bytes::from_static(b"This is a verbatim\nstring")),
        "true" => Reply::Bool(true),
        "false" => Reply::Bool(false),
        _ => Reply::error(format!(
            "ERR Wrong protocol type name. Please use one of the following: {PROTOCOL_TYPES}"
        )),
    }
}

/// The RESP3 attribute DEBUG PROTOCOL attrib sends before its reply
/// (nothing in RESP2, which has no attributes).
fn write_attribute(ctx: &mut Ctx) {
    if ctx.client.protocol != Protocol::Resp3 || !ctx.client.replies_enabled() {
        return;
    }
    let out = &mut ctx.client.out;
    out.extend_from_slice(b"|1\r\n");
    encode(&Reply::bulk_str("key-popularity"), Protocol::Resp3, out);
    let value = Reply::Array(vec![Reply::bulk_str("key:123"), Reply::Int(90)]);
    encode(&value, Protocol::Resp3, out);
}

// ---- CONFIG ----

const CONFIG_HELP: &[&str] = &[
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
];

fn config_help(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    help_reply("CONFIG", CONFIG_HELP)
}

fn is_glob(pattern: &[u8]) -> bool {
    pattern.iter().any(|c| matches!(c, b'*' | b'?' | b'['))
}

/// The parameters `pattern` selects, each with the name to show: an exact
/// name is echoed as given, glob matches (case-insensitive) by their own name.
fn matching_params(pattern: &[u8]) -> Vec<(String, &'static str)> {
    if !is_glob(pattern) {
        return config::canonical_param(pattern)
            .map(|name| (String::from_utf8_lossy(pattern).into_owned(), name))
            .into_iter()
            .collect();
    }
    let pattern = pattern.to_ascii_lowercase();
    PARAMS
        .iter()
        .filter(|(name, _)| crate::glob::glob_match(&pattern, name.as_bytes()))
        .map(|(name, _)| (name.to_string(), *name))
        .collect()
}

fn config_get(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let mut found: Vec<(String, &'static str)> = Vec::new();
    for pattern in &args[2..] {
        for (shown, name) in matching_params(pattern) {
            if !found.iter().any(|(_, n)| *n == name) {
                found.push((shown, name));
            }
        }
    }
    let pairs = found
        .into_iter()
        .filter_map(|(shown, name)| {
            let value = ctx.srv.config.get(name)?;
            Some((Reply::bulk_str(&shown), Reply::bulk_str(&value)))
        })
        .collect();
    Reply::Map(pairs)
}

fn config_set(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let rest = &args[2..];
    if !rest.len().is_multiple_of(2) {
        return Reply::syntax_error();
    }
    let texts: Vec<String> = rest
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let pairs: Vec<(&str, &str)> = texts
        .chunks(2)
        .map(|p| (p[0].as_str(), p[1].as_str()))
        .collect();
    match ctx.srv.config.set_many(&pairs) {
        Ok(()) => Reply::OK,
        Err(e) => Reply::error(e.message().replace(['\r', '\n'], " ")),
    }
}

fn config_resetstat(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    ctx.srv.stats.reset();
    for db in &mut ctx.srv.dbs {
        db.expired_keys = 0;
    }
    Reply::OK
}

/// CONFIG REWRITE needs file IO, which the engine does not do. Without a
/// config file Redis refuses it; with one, Keel cannot rewrite it yet and
/// says so in Redis's failure format.
fn config_rewrite(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    match ctx.srv.config.config_file {
        None => Reply::err("ERR The server is running without a config file"),
        Some(_) => Reply::err("ERR Rewriting config file: Operation not supported"),
    }
}

#[cfg(test)]
pub(crate) mod tests;
