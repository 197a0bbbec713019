//! COMMAND and its subcommands: COUNT, INFO, DOCS, LIST, GETKEYS,
//! GETKEYSANDFLAGS, HELP, built from the command table's specs.
//!
//! Redis lists commands in its hash table's order, which varies per
//! process; Keel lists them sorted by name, subcommands in table order.

use super::flags::{self, *};
use super::server::help_reply;
use super::{CommandSpec, Ctx, FindKeys, KeySpec};
use crate::resp::Reply;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

#[rustfmt::skip]
mod docs;

const ACL: &[&str] = &["slow", "connection"];

const fn sub(
    name: &'static str,
    arity: i32,
    tips: &'static [&'static str],
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        acl: ACL,
        tips,
        since,
        summary,
        complexity,
        ..CommandSpec::base(name, arity, LOADING | STALE, "server", Some(handler))
    }
}

const ORDER_TIP: &[&str] = &["nondeterministic_output_order"];
const O_ARGS: &str = "O(N) where N is the number of arguments to the command";
const O_LOOKUPS: &str = "O(N) where N is the number of commands to look up";
const O_ALL: &str = "O(N) where N is the total number of Redis commands";

const SUBCOMMANDS: &[CommandSpec] = &[
    sub(
        "count",
        2,
        &[],
        "2.8.13",
        "Get total number of Redis commands",
        "O(1)",
        count,
    ),
    sub(
        "info",
        -2,
        ORDER_TIP,
        "2.8.13",
        "Get array of specific Redis command details, or all when no argument is given.",
        O_LOOKUPS,
        info,
    )
    .with_docs(docs::COMMAND_INFO),
    sub(
        "docs",
        -2,
        ORDER_TIP,
        "7.0.0",
        "Get array of specific Redis command documentation",
        O_LOOKUPS,
        docs,
    )
    .with_docs(docs::COMMAND_DOCS),
    sub(
        "list",
        -2,
        ORDER_TIP,
        "7.0.0",
        "Get an array of Redis command names",
        O_ALL,
        list,
    )
    .with_docs(docs::COMMAND_LIST),
    sub(
        "getkeys",
        -4,
        &[],
        "2.8.13",
        "Extract keys given a full Redis command",
        O_ARGS,
        getkeys,
    ),
    sub(
        "getkeysandflags",
        -4,
        &[],
        "7.0.0",
        "Extract keys and access flags given a full Redis command",
        O_ARGS,
        getkeysandflags,
    ),
    sub(
        "help",
        2,
        &[],
        "5.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
        help,
    ),
];

pub const COMMANDS: &[CommandSpec] = &[CommandSpec {
    subcommands: SUBCOMMANDS,
    ..sub(
        "command",
        -1,
        ORDER_TIP,
        "2.8.13",
        "Get array of Redis command details",
        O_ALL,
        all_info,
    )
}];

const HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
];

fn help(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    help_reply("COMMAND", HELP)
}

fn count(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Int(ctx.srv.table.len() as i64)
}

// ---- looking commands up ----

/// A command by name as COMMAND INFO/DOCS take it: `get`, or `config|get`
/// for a subcommand. Returns the spec and its full name.
fn find_by_full_name(ctx: &Ctx, name: &[u8]) -> Option<(&'static CommandSpec, String)> {
    match name.iter().position(|&c| c == b'|') {
        None => {
            let spec = ctx.srv.table.lookup(name)?;
            Some((spec, spec.name.to_string()))
        }
        Some(bar) => {
            let parent = ctx.srv.table.lookup(&name[..bar])?;
            let child = parent.find_subcommand(&name[bar + 1..])?;
            Some((child, format!("{}|{}", parent.name, child.name)))
        }
    }
}

/// Every command and subcommand, with full names, in listing order.
fn every_command(ctx: &Ctx) -> Vec<(&'static CommandSpec, String)> {
    let mut all = Vec::new();
    for spec in ctx.srv.table.sorted() {
        all.push((spec, spec.name.to_string()));
        for child in spec.subcommands {
            all.push((child, format!("{}|{}", spec.name, child.name)));
        }
    }
    all
}

fn status_set(items: impl IntoIterator<Item = String>) -> Reply {
    Reply::Set(items.into_iter().map(|s| Reply::Status(s.into())).collect())
}

fn pair(key: &'static str, value: Reply) -> (Reply, Reply) {
    (Reply::Bulk(Bytes::from_static(key.as_bytes())), value)
}

// ---- COMMAND, COMMAND INFO ----

fn flag_names(spec: &CommandSpec) -> Vec<String> {
    flags::NAMES
        .iter()
        .filter(|(bit, _)| spec.has(*bit))
        .map(|(_, name)| name.to_string())
        .collect()
}

fn key_spec_reply(ks: &KeySpec) -> Reply {
    let unknown = || {
        Reply::Map(vec![
            pair("type", Reply::bulk_str("unknown")),
            pair("spec", Reply::Map(vec![])),
        ])
    };
    let begin = match ks.find {
        FindKeys::Unknown => unknown(),
        _ => Reply::Map(vec![
            pair("type", Reply::bulk_str("index")),
            pair(
                "spec",
                Reply::Map(vec![pair("index", Reply::Int(ks.begin_index as i64))]),
            ),
        ]),
    };
    let find = match ks.find {
        FindKeys::Unknown => unknown(),
        FindKeys::Range {
            lastkey,
            step,
            limit,
        } => Reply::Map(vec![
            pair("type", Reply::bulk_str("range")),
            pair(
                "spec",
                Reply::Map(vec![
                    pair("lastkey", Reply::Int(lastkey as i64)),
                    pair("keystep", Reply::Int(step as i64)),
                    pair("limit", Reply::Int(limit as i64)),
                ]),
            ),
        ]),
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            step,
        } => Reply::Map(vec![
            pair("type", Reply::bulk_str("keynum")),
            pair(
                "spec",
                Reply::Map(vec![
                    pair("keynumidx", Reply::Int(keynumidx as i64)),
                    pair("firstkey", Reply::Int(firstkey as i64)),
                    pair("keystep", Reply::Int(step as i64)),
                ]),
            ),
        ]),
    };
    let mut fields = Vec::with_capacity(4);
    if let Some(notes) = ks.notes {
        fields.push(pair("notes", Reply::bulk_str(notes)));
    }
    fields.extend([
        pair("flags", status_set(ks.flags.iter().map(|f| f.to_string()))),
        pair("begin_search", begin),
        pair("find_keys", find),
    ]);
    Reply::Map(fields)
}

/// One COMMAND INFO entry: name, arity, flags, first/last/step, ACL
/// categories, tips, key specs, subcommands.
fn info_entry(spec: &CommandSpec, full_name: &str) -> Reply {
    let subcommands = if spec.subcommands.is_empty() {
        Reply::Set(vec![])
    } else {
        Reply::Array(
            spec.subcommands
                .iter()
                .map(|c| info_entry(c, &format!("{full_name}|{}", c.name)))
                .collect(),
        )
    };
    Reply::Array(vec![
        Reply::bulk_str(full_name),
        Reply::Int(spec.arity as i64),
        status_set(flag_names(spec)),
        Reply::Int(spec.first_key as i64),
        Reply::Int(spec.last_key as i64),
        Reply::Int(spec.step as i64),
        status_set(spec.acl.iter().map(|c| format!("@{c}"))),
        Reply::Set(spec.tips.iter().map(|t| Reply::bulk_str(t)).collect()),
        Reply::Set(spec.key_specs.iter().map(key_spec_reply).collect()),
        subcommands,
    ])
}

fn all_info(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    let entries = ctx
        .srv
        .table
        .sorted()
        .into_iter()
        .map(|spec| info_entry(spec, spec.name))
        .collect();
    Reply::Array(entries)
}

fn info(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if args.len() == 2 {
        return all_info(ctx, args);
    }
    let entries = args[2..]
        .iter()
        .map(|name| match find_by_full_name(ctx, name) {
            Some((spec, full)) => info_entry(spec, &full),
            None => Reply::Null,
        })
        .collect();
    Reply::Array(entries)
}

// ---- COMMAND DOCS ----

/// A command's documentation map, with Redis 7.0's fields in its order:
/// summary, since, group, complexity, doc_flags, deprecated_since,
/// replaced_by, history, arguments, subcommands (those without a value
/// are left out, as Redis does).
fn docs_entry(spec: &CommandSpec, full_name: &str) -> Reply {
    let mut fields = vec![
        pair("summary", Reply::bulk_str(spec.summary)),
        pair("since", Reply::bulk_str(spec.since)),
        pair("group", Reply::bulk_str(spec.group)),
    ];
    // PSYNC and SYNC have none.
    if !spec.complexity.is_empty() {
        fields.push(pair("complexity", Reply::bulk_str(spec.complexity)));
    }
    fields.extend(spec.docs.fields());
    if !spec.subcommands.is_empty() {
        let subs = spec
            .subcommands
            .iter()
            .map(|c| {
                let full = format!("{full_name}|{}", c.name);
                (Reply::bulk_str(&full), docs_entry(c, &full))
            })
            .collect();
        fields.push(pair("subcommands", Reply::Map(subs)));
    }
    Reply::Map(fields)
}

fn docs(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let found: Vec<(&'static CommandSpec, String)> = if args.len() == 2 {
        ctx.srv
            .table
            .sorted()
            .into_iter()
            .map(|s| (s, s.name.to_string()))
            .collect()
    } else {
        args[2..]
            .iter()
            .filter_map(|name| find_by_full_name(ctx, name))
            .collect()
    };
    let pairs = found
        .into_iter()
        .map(|(spec, full)| (Reply::bulk_str(&full), docs_entry(spec, &full)))
        .collect();
    Reply::Map(pairs)
}

// ---- COMMAND LIST ----

enum ListFilter {
    All,
    Module,
    AclCat(String),
    Pattern(Vec<u8>),
}

fn parse_list_filter(args: &[Bytes]) -> Result<ListFilter, Reply> {
    match args {
        [_, _] => Ok(ListFilter::All),
        [_, _, by, kind, value] if eq_ic(by, "filterby") => {
            if eq_ic(kind, "module") {
                Ok(ListFilter::Module)
            } else if eq_ic(kind, "aclcat") {
                Ok(ListFilter::AclCat(
                    String::from_utf8_lossy(value).to_ascii_lowercase(),
                ))
            } else if eq_ic(kind, "pattern") {
                Ok(ListFilter::Pattern(value.to_ascii_lowercase()))
            } else {
                Err(Reply::syntax_error())
            }
        }
        _ => Err(Reply::syntax_error()),
    }
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN glob]:
/// names of commands and subcommands (`config|get`). Keel has no modules,
/// so the MODULE filter matches nothing.
fn list(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let filter = match parse_list_filter(args) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let names = every_command(ctx)
        .into_iter()
        .filter(|(spec, full)| match &filter {
            ListFilter::All => true,
            ListFilter::Module => false,
            ListFilter::AclCat(cat) => spec.acl.iter().any(|c| c == cat),
            ListFilter::Pattern(p) => crate::glob::glob_match(p, full.as_bytes()),
        })
        .map(|(_, full)| Reply::bulk_str(&full))
        .collect();
    Reply::Array(names)
}

// ---- COMMAND GETKEYS, GETKEYSANDFLAGS ----

/// The command `argv` names, descending into a container's subcommand.
fn find_target(ctx: &Ctx, argv: &[Bytes]) -> Option<&'static CommandSpec> {
    let spec = ctx.srv.table.lookup(&argv[0])?;
    if spec.subcommands.is_empty() || argv.len() < 2 {
        return Some(spec);
    }
    spec.find_subcommand(&argv[1])
}

fn has_key_arguments(spec: &CommandSpec) -> bool {
    !spec.key_specs.is_empty() || spec.first_key > 0 || spec.has(MOVABLE_KEYS)
}

fn getkeys(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    getkeys_reply(ctx, args, false)
}

fn getkeysandflags(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    getkeys_reply(ctx, args, true)
}

fn getkeys_reply(ctx: &mut Ctx, args: &[Bytes], with_flags: bool) -> Reply {
    let argv = &args[2..];
    match find_target(ctx, argv) {
        Some(spec) => keys_reply(spec, argv, with_flags),
        None => Reply::err("ERR Invalid command specified"),
    }
}

/// The keys of `argv`, a full command line for `spec`, with their flags
/// if asked, or the error Redis gives for it.
fn keys_reply(spec: &CommandSpec, argv: &[Bytes], with_flags: bool) -> Reply {
    if !has_key_arguments(spec) {
        return Reply::err("ERR The command has no key arguments");
    }
    if !spec.arity_ok(argv.len()) {
        return Reply::err("ERR Invalid number of arguments specified for command");
    }
    let keys = match extract_keys(spec, argv) {
        Some(keys) if !keys.is_empty() => keys,
        _ if spec.has(NO_MANDATORY_KEYS) => Vec::new(),
        _ => return Reply::err("ERR Invalid arguments specified for command"),
    };
    let entries = keys
        .into_iter()
        .map(|(pos, flags)| {
            let key = Reply::Bulk(argv[pos].clone());
            if with_flags {
                let flags = status_set(flags.iter().map(|f| f.to_string()));
                Reply::Array(vec![key, flags])
            } else {
                key
            }
        })
        .collect();
    Reply::Array(entries)
}

type KeyFlags = &'static [&'static str];

/// The key positions of `argv` with their key spec's flags, from the key
/// specs, or from first/last/step when the spec has none. None when the
/// arguments do not fit a key spec.
pub(crate) fn extract_keys(spec: &CommandSpec, argv: &[Bytes]) -> Option<Vec<(usize, KeyFlags)>> {
    if let Some(getkeys) = spec.getkeys {
        return Some(getkeys(argv));
    }
    if spec.key_specs.is_empty() {
        let legacy = spec.key_positions(argv.len());
        return Some(legacy.into_iter().map(|p| (p, &[][..])).collect());
    }
    let mut keys = Vec::new();
    for ks in spec.key_specs {
        for pos in key_spec_positions(ks, argv)? {
            keys.push((pos, ks.flags));
        }
    }
    Some(keys)
}

/// The argument positions one key spec selects, or None when `argv` does
/// not fit it (a key count that is not a non-negative integer, or more
/// keys than arguments).
fn key_spec_positions(ks: &KeySpec, argv: &[Bytes]) -> Option<Vec<usize>> {
    let argc = argv.len() as i64;
    let begin = ks.begin_index as i64;
    if begin < 1 || begin >= argc {
        return Some(Vec::new());
    }
    let (first, last, step) = match ks.find {
        FindKeys::Range {
            lastkey,
            step,
            limit,
        } => {
            let last = if lastkey >= 0 {
                begin + lastkey as i64
            } else if limit <= 1 {
                argc + lastkey as i64
            } else {
                begin + (argc - begin) / limit as i64 + lastkey as i64
            };
            (begin, last, step as i64)
        }
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            step,
        } => {
            let idx = begin + keynumidx as i64;
            let count_arg = argv.get(usize::try_from(idx).ok()?)?;
            let count = parse_i64(count_arg).filter(|n| *n >= 0)?;
            let first = begin + firstkey as i64;
            let step = (step as i64).max(1);
            let last = first + (count - 1).checked_mul(step)?;
            if count > 0 && last >= argc {
                return None;
            }
            (first, last, step)
        }
        FindKeys::Unknown => return Some(Vec::new()),
    };
    let step = usize::try_from(step).ok().filter(|s| *s > 0)?;
    if last < first {
        return Some(Vec::new());
    }
    // Positions past the end are skipped: variadic commands check their
    // own arguments, as Redis leaves it to them.
    Some(
        (first..=last.min(argc - 1))
            .step_by(step)
            .map(|i| i as usize)
            .collect(),
    )
}

#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;
