//! Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET.

use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::resp::{Protocol, Reply};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

#[rustfmt::skip]
mod docs;

/// The Redis version Keel is compatible with (INFO, HELLO).
pub const REDIS_VERSION: &str = "7.0.15";

const CONN: &[&str] = &["fast", "connection"];

const fn conn(
    name: &'static str,
    arity: i32,
    flags: u32,
    since: &'static str,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        acl: CONN,
        since,
        summary,
        ..CommandSpec::base(name, arity, flags, "connection", Some(handler))
    }
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
        ..conn("ping", -1, FAST, "1.0.0", "Ping the server", ping)
    }
    .with_docs(docs::PING),
    conn(
        "echo",
        2,
        LOADING | STALE | FAST,
        "1.0.0",
        "Echo the given string",
        echo,
    )
    .with_docs(docs::ECHO),
    conn(
        "quit",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        "1.0.0",
        "Close the connection",
        quit,
    ),
    conn(
        "select",
        2,
        LOADING | STALE | FAST,
        "1.0.0",
        "Change the selected database for the current connection",
        select,
    )
    .with_docs(docs::SELECT),
    CommandSpec {
        complexity: "O(N) where N is the number of passwords defined for the user",
        ..conn(
            "auth",
            -2,
            NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
            "1.0.0",
            "Authenticate to the server",
            auth,
        )
    }
    .with_docs(docs::AUTH),
    conn(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        "6.0.0",
        "Handshake with Redis",
        hello,
    )
    .with_docs(docs::HELLO),
    conn(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        "6.2.0",
        "Reset the connection",
        reset,
    ),
];

fn ping(_ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match args.len() {
        1 => Reply::status("PONG"),
        2 => Reply::Bulk(args[1].clone()),
        _ => Reply::wrong_arity("ping"),
    }
}

fn echo(_ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    Reply::Bulk(args[1].clone())
}

fn quit(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    ctx.client.close_after_reply = true;
    Reply::OK
}

fn select(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match super::keys::parse_db_index(&args[1], ctx.srv.dbs.len()) {
        Ok(index) => {
            ctx.client.db = index;
            Reply::OK
        }
        Err(e) => e,
    }
}

/// Checks credentials against the default user (the only user until ACLs exist).
fn check_credentials(ctx: &Ctx, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match &ctx.srv.config.requirepass {
        None => true, // the default user has `nopass`: any password works
        Some(p) => p.as_bytes() == pass,
    }
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn auth(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (user, pass) = match args.len() {
        2 => {
            if ctx.srv.config.requirepass.is_none() {
                return Reply::err(
                    "ERR AUTH <password> called without any password configured for the default user. \
                     Are you sure your configuration is correct?",
                );
            }
            (&b"default"[..], &args[1][..])
        }
        3 => (&args[1][..], &args[2][..]),
        _ => return Reply::syntax_error(),
    };
    if check_credentials(ctx, user, pass) {
        ctx.client.authenticated = true;
        Reply::OK
    } else {
        Reply::err(WRONGPASS)
    }
}

/// Redis's rule for client names: printable ASCII without spaces.
pub fn validate_client_name(name: &[u8]) -> Result<(), Reply> {
    if name.iter().all(|&c| (b'!'..=b'~').contains(&c)) {
        Ok(())
    } else {
        Err(Reply::err(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ))
    }
}

fn hello(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let mut protocol = None;
    if args.len() >= 2 {
        match parse_i64(&args[1]) {
            None => return Reply::err("ERR Protocol version is not an integer or out of range"),
            Some(2) => protocol = Some(Protocol::Resp2),
            Some(3) => protocol = Some(Protocol::Resp3),
            Some(_) => return Reply::err("NOPROTO unsupported protocol version"),
        }
    }
    let mut credentials = None;
    let mut name = None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if eq_ic(&args[i], "auth") && more >= 2 {
            credentials = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 3;
        } else if eq_ic(&args[i], "setname") && more >= 1 {
            if let Err(e) = validate_client_name(&args[i + 1]) {
                return e;
            }
            name = Some(args[i + 1].clone());
            i += 2;
        } else {
            let opt = String::from_utf8_lossy(&args[i]).replace(['\r', '\n'], " ");
            return Reply::error(format!("ERR Syntax error in HELLO option '{opt}'"));
        }
    }
    if let Some((user, pass)) = credentials {
        if !check_credentials(ctx, &user, &pass) {
            return Reply::err(WRONGPASS);
        }
        ctx.client.authenticated = true;
    }
    if !ctx.client.authenticated {
        return Reply::err(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and \
             select the RESP protocol version at the same time",
        );
    }
    if let Some(name) = name {
        ctx.client.name = (!name.is_empty()).then_some(name);
    }
    if let Some(p) = protocol {
        ctx.client.protocol = p;
    }
    let pair = |k: &'static str, v: Reply| (Reply::bulk(Bytes::from_static(k.as_bytes())), v);
    Reply::Map(vec![
        pair("server", Reply::bulk_str("redis")),
        pair("version", Reply::bulk_str(REDIS_VERSION)),
        pair("proto", Reply::Int(ctx.client.protocol.version())),
        pair("id", Reply::Int(ctx.client.id as i64)),
        pair("mode", Reply::bulk_str("standalone")),
        pair("role", Reply::bulk_str("master")),
        pair("modules", Reply::Array(vec![])),
    ])
}

fn reset(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    let authenticated = ctx.srv.config.requirepass.is_none();
    ctx.client.reset(authenticated);
    Reply::status("RESET")
}
