//! CLIENT and its subcommands: ID, GETNAME, SETNAME, SETINFO, LIST, INFO,
//! KILL, UNBLOCK, REPLY, NO-EVICT, NO-TOUCH, HELP. Replies follow Redis 7.0; SETINFO,
//! NO-TOUCH and the lib-name/lib-ver fields follow Redis 7.2, and the
//! MAXAGE filter of KILL follows Redis 7.4.

use super::connection::validate_client_name;
use super::docs::Docs;
use super::flags::*;
use super::server::help_reply;
use super::{CommandSpec, Ctx};
use crate::client::{Client, ClientId, ReplLink, ReplyMode};
use crate::node::Output;
use crate::resp::Reply;
use crate::server::Server;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

#[rustfmt::skip]
mod docs;

const USER_FLAGS: u32 = NOSCRIPT | LOADING | STALE;
const ADMIN_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const CONN_ACL: &[&str] = &["slow", "connection"];
const ADMIN_ACL: &[&str] = &["admin", "slow", "dangerous", "connection"];

const fn sub(
    name: &'static str,
    arity: i32,
    flags: u32,
    acl: &'static [&'static str],
    since: &'static str,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        acl,
        since,
        summary,
        ..CommandSpec::base(name, arity, flags, "connection", Some(handler))
    }
}

const O_CLIENTS: &str = "O(N) where N is the number of client connections";

const SUBCOMMANDS: &[CommandSpec] = &[
    sub(
        "id",
        2,
        USER_FLAGS,
        CONN_ACL,
        "5.0.0",
        "Returns the client ID for the current connection",
        client_id,
    ),
    sub(
        "getname",
        2,
        USER_FLAGS,
        CONN_ACL,
        "2.6.9",
        "Get the current connection name",
        getname,
    ),
    sub(
        "setname",
        3,
        USER_FLAGS,
        CONN_ACL,
        "2.6.9",
        "Set the current connection name",
        setname,
    )
    .with_docs(docs::CLIENT_SETNAME),
    CommandSpec {
        tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
        ..sub(
            "setinfo",
            4,
            USER_FLAGS,
            CONN_ACL,
            "7.2.0",
            "Sets information specific to the client or connection.",
            setinfo,
        )
    }
    .with_docs(docs::CLIENT_SETINFO),
    CommandSpec {
        tips: &["nondeterministic_output"],
        complexity: O_CLIENTS,
        ..sub(
            "list",
            -2,
            ADMIN_FLAGS,
            ADMIN_ACL,
            "2.4.0",
            "Get the list of client connections",
            list,
        )
    }
    .with_docs(docs::CLIENT_LIST),
    CommandSpec {
        tips: &["nondeterministic_output"],
        ..sub(
            "info",
            2,
            USER_FLAGS,
            CONN_ACL,
            "6.2.0",
            "Returns information about the current client connection.",
            info,
        )
    },
    CommandSpec {
        complexity: O_CLIENTS,
        ..sub(
            "kill",
            -3,
            ADMIN_FLAGS,
            ADMIN_ACL,
            "2.4.0",
            "Kill the connection of a client",
            kill,
        )
    }
    .with_docs(docs::CLIENT_KILL),
    CommandSpec {
        complexity: "O(log N) where N is the number of client connections",
        ..sub(
            "unblock",
            -3,
            ADMIN_FLAGS,
            ADMIN_ACL,
            "5.0.0",
            "Unblock a client blocked in a blocking command from a different connection",
            unblock,
        )
    }
    .with_docs(docs::CLIENT_UNBLOCK),
    sub(
        "reply",
        3,
        USER_FLAGS,
        CONN_ACL,
        "3.2.0",
        "Instruct the server whether to reply to commands",
        reply,
    )
    .with_docs(docs::CLIENT_REPLY),
    sub(
        "no-evict",
        3,
        ADMIN_FLAGS,
        ADMIN_ACL,
        "7.0.0",
        "Set client eviction mode for the current connection",
        no_evict,
    )
    .with_docs(docs::CLIENT_NO_EVICT),
    sub(
        "no-touch",
        3,
        USER_FLAGS,
        CONN_ACL,
        "7.2.0",
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
        no_touch,
    )
    .with_docs(docs::CLIENT_NO_TOUCH),
    sub(
        "help",
        2,
        LOADING | STALE,
        CONN_ACL,
        "5.0.0",
        "Show helpful text about the different subcommands",
        help,
    ),
];

pub const COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "client",
    arity: -2,
    flags: 0,
    first_key: 0,
    last_key: 0,
    step: 0,
    acl: &["slow"],
    tips: &[],
    key_specs: &[],
    group: "connection",
    since: "2.4.0",
    summary: "A container for client connection commands",
    complexity: "Depends on subcommand.",
    handler: None,
    subcommands: SUBCOMMANDS,
    docs: Docs::NONE,
    getkeys: None,
}];

const HELP: &[&str] = &[
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "    * MAXAGE <maxage>",
    "      Kill connections older than the specified age.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "    * ID <client-id> [<client-id> ...]",
    "      Return clients of specified IDs only.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
];

fn help(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    help_reply("CLIENT", HELP)
}

fn client_id(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Int(ctx.client.id as i64)
}

fn getname(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    match &ctx.client.name {
        Some(name) => Reply::Bulk(name.clone()),
        None => Reply::Null,
    }
}

fn setname(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if let Err(e) = validate_client_name(&args[2]) {
        return e;
    }
    ctx.client.name = (!args[2].is_empty()).then(|| args[2].clone());
    Reply::OK
}

/// CLIENT SETINFO LIB-NAME|LIB-VER <value> (Redis 7.2); an empty value clears it.
fn setinfo(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let attr = String::from_utf8_lossy(&args[2]).replace(['\r', '\n'], " ");
    let value = &args[3];
    let slot = if eq_ic(&args[2], "lib-name") {
        &mut ctx.client.lib_name
    } else if eq_ic(&args[2], "lib-ver") {
        &mut ctx.client.lib_ver
    } else {
        return Reply::error(format!("ERR Unrecognized option '{attr}'"));
    };
    if validate_client_name(value).is_err() {
        return Reply::error(format!(
            "ERR {attr} cannot contain spaces, newlines or special characters."
        ));
    }
    *slot = (!value.is_empty()).then(|| value.clone());
    Reply::OK
}

fn on_off(arg: &[u8]) -> Option<bool> {
    if eq_ic(arg, "on") {
        Some(true)
    } else if eq_ic(arg, "off") {
        Some(false)
    } else {
        None
    }
}

fn no_evict(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match on_off(&args[2]) {
        Some(on) => {
            ctx.client.no_evict = on;
            Reply::OK
        }
        None => Reply::syntax_error(),
    }
}

fn no_touch(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match on_off(&args[2]) {
        Some(on) => {
            ctx.client.no_touch = on;
            Reply::OK
        }
        None => Reply::syntax_error(),
    }
}

/// CLIENT REPLY ON|OFF|SKIP. ON answers OK; OFF and SKIP answer nothing
/// (the node sends no reply while the mode is not ON).
fn reply(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let mode = &args[2];
    if eq_ic(mode, "on") {
        ctx.client.reply_mode = ReplyMode::On;
        Reply::OK
    } else if eq_ic(mode, "off") {
        ctx.client.reply_mode = ReplyMode::Off;
        Reply::NoReply
    } else if eq_ic(mode, "skip") {
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
        Reply::NoReply
    } else {
        Reply::syntax_error()
    }
}

// ---- LIST and INFO ----

/// Client classes of CLIENT LIST TYPE and CLIENT KILL TYPE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Master,
    Replica,
    PubSub,
}

impl ClientType {
    fn parse(arg: &[u8]) -> Result<ClientType, Reply> {
        let name = String::from_utf8_lossy(arg).to_ascii_lowercase();
        match name.as_str() {
            "normal" => Ok(ClientType::Normal),
            "master" => Ok(ClientType::Master),
            "replica" | "slave" => Ok(ClientType::Replica),
            "pubsub" => Ok(ClientType::PubSub),
            _ => {
                let shown = String::from_utf8_lossy(arg).replace(['\r', '\n'], " ");
                Err(Reply::error(format!("ERR Unknown client type '{shown}'")))
            }
        }
    }

    /// Redis's `getClientType`: the master link, then a replica (an
    /// online one: a connection that only sent REPLCONF is normal), then
    /// a subscriber; every other connection is normal.
    fn of(client: &Client, srv: &Server) -> ClientType {
        match srv.repl.link_role(client.id) {
            ReplLink::Master => ClientType::Master,
            ReplLink::Replica => ClientType::Replica,
            ReplLink::None if client.subs.any() => ClientType::PubSub,
            ReplLink::None => ClientType::Normal,
        }
    }
}

fn args_size(args: &[Bytes]) -> usize {
    args.iter().map(Bytes::len).sum()
}

/// CLIENT LIST [TYPE type | ID id [id ...]] (Redis 7.0: one filter).
fn list(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let mut wanted_type = None;
    let mut wanted_ids: Option<Vec<i64>> = None;
    if args.len() == 4 && eq_ic(&args[2], "type") {
        match ClientType::parse(&args[3]) {
            Ok(t) => wanted_type = Some(t),
            Err(e) => return e,
        }
    } else if args.len() >= 4 && eq_ic(&args[2], "id") {
        let ids: Option<Vec<i64>> = args[3..].iter().map(|a| parse_i64(a)).collect();
        match ids {
            Some(ids) => wanted_ids = Some(ids),
            None => return Reply::err("ERR Invalid client ID"),
        }
    } else if args.len() != 2 {
        return Reply::syntax_error();
    }
    let caller_id = ctx.client.id;
    let mut all: Vec<&Client> = ctx.others.values().map(|c| &**c).collect();
    all.push(ctx.client);
    all.sort_by_key(|c| c.id);
    let mut text = String::new();
    for c in all {
        if wanted_type.is_some_and(|t| t != ClientType::of(c, ctx.srv)) {
            continue;
        }
        if wanted_ids
            .as_ref()
            .is_some_and(|ids| !ids.contains(&(c.id as i64)))
        {
            continue;
        }
        let argv_mem = if c.id == caller_id {
            args_size(args)
        } else {
            0
        };
        text.push_str(&c.info_line(ctx.srv, argv_mem));
        text.push('\n');
    }
    Reply::Verbatim("txt", Bytes::from(text))
}

fn info(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let mut line = ctx.client.info_line(ctx.srv, args_size(args));
    line.push('\n');
    Reply::Verbatim("txt", Bytes::from(line))
}

// ---- KILL ----

/// The filters of CLIENT KILL's new form, combined with AND.
struct KillFilter {
    id: Option<ClientId>,
    client_type: Option<ClientType>,
    addr: Option<Bytes>,
    laddr: Option<Bytes>,
    user: Option<Bytes>,
    skip_me: bool,
    /// Seconds: only connections at least this old (Redis 7.4).
    max_age: Option<u64>,
}

impl KillFilter {
    fn matches(&self, c: &Client, srv: &Server) -> bool {
        let now_ms = srv.now.mono_ms;
        self.id.is_none_or(|id| c.id == id)
            && self.client_type.is_none_or(|t| t == ClientType::of(c, srv))
            && self
                .addr
                .as_ref()
                .is_none_or(|a| a == c.info.addr.as_bytes())
            && self
                .laddr
                .as_ref()
                .is_none_or(|a| a == c.info.laddr.as_bytes())
            && self.user.as_ref().is_none_or(|u| u == c.user.as_bytes())
            && self
                .max_age
                .is_none_or(|age| now_ms.saturating_sub(c.created_ms) / 1000 >= age)
    }
}

/// Only the `default` user exists until ACLs are built.
fn user_exists(name: &[u8]) -> bool {
    name == b"default"
}

fn parse_kill_filter(args: &[Bytes]) -> Result<KillFilter, Reply> {
    let mut f = KillFilter {
        id: None,
        client_type: None,
        addr: None,
        laddr: None,
        user: None,
        skip_me: true,
        max_age: None,
    };
    let mut i = 2;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else {
            return Err(Reply::syntax_error());
        };
        let option = &args[i];
        if eq_ic(option, "id") {
            match parse_i64(value) {
                Some(id) if id > 0 => f.id = Some(id as ClientId),
                _ => return Err(Reply::err("ERR client-id should be greater than 0")),
            }
        } else if eq_ic(option, "type") {
            f.client_type = Some(ClientType::parse(value)?);
        } else if eq_ic(option, "addr") {
            f.addr = Some(value.clone());
        } else if eq_ic(option, "laddr") {
            f.laddr = Some(value.clone());
        } else if eq_ic(option, "user") {
            if !user_exists(value) {
                let shown = String::from_utf8_lossy(value).replace(['\r', '\n'], " ");
                return Err(Reply::error(format!("ERR No such user '{shown}'")));
            }
            f.user = Some(value.clone());
        } else if eq_ic(option, "skipme") {
            f.skip_me = match value {
                v if eq_ic(v, "yes") => true,
                v if eq_ic(v, "no") => false,
                _ => return Err(Reply::syntax_error()),
            };
        } else if eq_ic(option, "maxage") {
            let Some(age) = parse_i64(value) else {
                return Err(Reply::err("ERR maxage is not an integer or out of range"));
            };
            if age <= 0 {
                return Err(Reply::err("ERR maxage should be greater than 0"));
            }
            f.max_age = Some(age as u64);
        } else {
            return Err(Reply::syntax_error());
        }
        i += 2;
    }
    Ok(f)
}

/// Closes `id`: another client is dropped and its connection closed;
/// the caller is closed once this reply is written.
fn kill_one(ctx: &mut Ctx, id: ClientId) {
    if id == ctx.client.id {
        ctx.client.close_after_reply = true;
    } else if ctx.others.remove(&id).is_some() {
        ctx.srv.outputs.push_back(Output::Close { client: id });
    }
}

/// CLIENT KILL ip:port (old form: OK or an error) or CLIENT KILL <filter>
/// <value> ... (new form: the number of clients killed).
fn kill(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if args.len() == 3 {
        let addr = &args[2];
        let found = std::iter::once(&*ctx.client)
            .chain(ctx.others.values().map(|c| &**c))
            .find(|c| c.info.addr.as_bytes() == &addr[..])
            .map(|c| c.id);
        return match found {
            Some(id) => {
                kill_one(ctx, id);
                Reply::OK
            }
            None => Reply::err("ERR No such client"),
        };
    }
    let filter = match parse_kill_filter(args) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let caller = ctx.client.id;
    let victims: Vec<ClientId> = std::iter::once(&*ctx.client)
        .chain(ctx.others.values().map(|c| &**c))
        .filter(|c| !(filter.skip_me && c.id == caller))
        .filter(|c| filter.matches(c, ctx.srv))
        .map(|c| c.id)
        .collect();
    for &id in &victims {
        kill_one(ctx, id);
    }
    Reply::Int(victims.len() as i64)
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 when `id` is a client blocked in
/// a blocking command, which the node then answers as if its timeout
/// passed (TIMEOUT, the default) or with an UNBLOCKED error; else 0. The
/// reason is checked before the id, as Redis does.
fn unblock(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    use crate::client::UnblockReason;
    let reason =
        match args.get(3) {
            _ if args.len() > 4 => return Reply::err(
                "ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT \
HELP.",
            ),
            None => UnblockReason::Timeout,
            Some(arg) if eq_ic(arg, "timeout") => UnblockReason::Timeout,
            Some(arg) if eq_ic(arg, "error") => UnblockReason::Error,
            Some(_) => return Reply::err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
        };
    let Some(id) = parse_i64(&args[2]) else {
        return Reply::not_integer();
    };
    let target = ClientId::try_from(id).ok();
    let blocked = target
        .and_then(|id| ctx.others.get(&id))
        .is_some_and(|c| c.blocked.is_some());
    let requested = |t: &(ClientId, UnblockReason)| Some(t.0) == target;
    if !blocked || ctx.client.unblock_requests.iter().any(requested) {
        return Reply::Int(0);
    }
    if let Some(id) = target {
        ctx.client.unblock_requests.push((id, reason));
    }
    Reply::Int(1)
}

#[cfg(test)]
mod tests;
