//! The Rust half of the `redis` library and of `math.random`.
//!
//! Redis's own library raises `{err=...}` tables with an `ERR` code and no
//! position ([`raise::table`]); Lua-style argument errors carry the
//! caller's position ([`raise::message`]).

use super::args;
use super::convert::error_table;
use super::numfmt::lua_number;
use super::raise;
use super::sha1::sha1_hex;
use super::{LogLine, RunState};
use mlua::{Lua, MultiValue, Result, Table, Value};

/// Most log lines kept for [`super::Scripting::drain_log`].
pub const LOG_CAPACITY: usize = 1024;

/// The table of native `redis` functions handed to the prelude.
pub fn redis_functions(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("sha1hex", lua.create_function(sha1hex)?)?;
    t.raw_set("error_reply", lua.create_function(error_reply)?)?;
    t.raw_set("status_reply", lua.create_function(status_reply)?)?;
    t.raw_set("log", lua.create_function(log)?)?;
    t.raw_set("setresp", lua.create_function(setresp)?)?;
    t.raw_set("set_repl", lua.create_function(set_repl)?)?;
    // Effects replication is the only mode since Redis 7.0: always true.
    t.raw_set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    // The Lua debugger is not built: no breakpoint is ever reached, and
    // its output function does nothing.
    t.raw_set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
    t.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    Ok(t)
}

/// `math.random` and `math.randomseed`.
pub fn math_functions(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("random", lua.create_function(random)?)?;
    t.raw_set("randomseed", lua.create_function(randomseed)?)?;
    Ok(t)
}

fn sha1hex(_lua: &Lua, args: MultiValue) -> Result<String> {
    if args.len() != 1 {
        return Err(raise::table("ERR wrong number of arguments"));
    }
    Ok(sha1_hex(&args::to_bytes(&args[0]).unwrap_or_default()))
}

const WRONG_ARGS: &str = "ERR wrong number or type of arguments";

/// `redis.error_reply(msg)` → `{err=msg}`, with Redis's normalisation
/// (`"my err"` → code `my`; a message without a space gets `ERR`).
/// Bad arguments give an error table, not an error.
fn error_reply(lua: &Lua, args: MultiValue) -> Result<Table> {
    let Some(msg) = string_only(&args) else {
        return error_table(lua, WRONG_ARGS);
    };
    let text = String::from_utf8_lossy(&msg.as_bytes()).into_owned();
    let text = if text.starts_with('-') {
        text
    } else {
        format!("-{text}")
    };
    error_table(lua, &text)
}

fn status_reply(lua: &Lua, args: MultiValue) -> Result<Table> {
    let Some(msg) = string_only(&args) else {
        return error_table(lua, WRONG_ARGS);
    };
    let t = lua.create_table()?;
    t.raw_set("ok", msg)?;
    Ok(t)
}

/// The one argument when it is a string (numbers are refused, as Redis's
/// `lua_type(...) == LUA_TSTRING` check does).
fn string_only(args: &MultiValue) -> Option<mlua::String> {
    match (args.len(), args.front()) {
        (1, Some(Value::String(s))) => Some(s.clone()),
        _ => None,
    }
}

fn log(lua: &Lua, args: MultiValue) -> Result<()> {
    if args.len() < 2 {
        return Err(raise::table(
            "ERR redis.log() requires two arguments or more.",
        ));
    }
    let level = match args::to_number(&args[0]) {
        Some(n) if (0.0..=3.0).contains(&n) => n as u8,
        Some(_) => return Err(raise::table("ERR Invalid debug level.")),
        None => {
            return Err(raise::table(
                "ERR First argument must be a number (log level).",
            ))
        }
    };
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .filter_map(args::to_bytes)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    if let Some(mut state) = lua.app_data_mut::<RunState>() {
        if state.log.len() >= LOG_CAPACITY {
            state.log.pop_front();
        }
        state.log.push_back(LogLine {
            level,
            text: words.join(" "),
        });
    }
    Ok(())
}

fn setresp(lua: &Lua, args: MultiValue) -> Result<()> {
    if args.len() != 1 {
        return Err(raise::table("ERR redis.setresp() requires one argument."));
    }
    let resp3 = match args::to_number(&args[0]) {
        Some(2.0) => false,
        Some(3.0) => true,
        _ => return Err(raise::table("ERR RESP version must be 2 or 3.")),
    };
    if let Some(state) = lua.app_data_ref::<RunState>() {
        state.shared.resp3.set(resp3);
    }
    Ok(())
}

fn set_repl(lua: &Lua, args: MultiValue) -> Result<()> {
    if args.len() != 1 {
        return Err(raise::table("ERR redis.set_repl() requires two arguments."));
    }
    let flags =
        match args::to_number(&args[0]) {
            Some(n) if n.fract() == 0.0 && (0.0..=3.0).contains(&n) => n as u8,
            _ => return Err(raise::table(
                "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
            )),
        };
    if let Some(state) = lua.app_data_ref::<RunState>() {
        state.shared.repl.set(flags);
    }
    Ok(())
}

/// Lua 5.1's `math.random` on the [`super::rand48`] generator.
fn random(lua: &Lua, args: MultiValue) -> Result<f64> {
    let r = match lua.app_data_mut::<RunState>() {
        Some(mut state) => state.rand.next_unit(),
        None => 0.0,
    };
    let int_arg = |i| args::check_int(&args, i, "random").map_err(|e| raise::message(lua, e));
    match args.len() {
        0 => Ok(r),
        1 => {
            let upper = int_arg(1)? as f64;
            if upper < 1.0 {
                return Err(empty_interval(lua, 1));
            }
            Ok((r * upper).floor() + 1.0)
        }
        2 => {
            let (lower, upper) = (int_arg(1)? as f64, int_arg(2)? as f64);
            if lower > upper {
                return Err(empty_interval(lua, 2));
            }
            Ok((r * (upper - lower + 1.0)).floor() + lower)
        }
        _ => Err(raise::message(lua, "wrong number of arguments")),
    }
}

fn empty_interval(lua: &Lua, arg: usize) -> mlua::Error {
    raise::message(lua, args::bad_argument(arg, "random", "interval is empty"))
}

fn randomseed(lua: &Lua, args: MultiValue) -> Result<()> {
    let seed = args::check_int(&args, 1, "randomseed").map_err(|e| raise::message(lua, e))?;
    if let Some(mut state) = lua.app_data_mut::<RunState>() {
        state.rand.seed(seed as i32);
    }
    Ok(())
}

/// A value as text for messages (`tostring` for the simple types).
pub fn describe(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(n) => lua_number(*n as f64),
        Value::Number(n) => lua_number(*n),
        Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
        Value::Error(e) => match raise::find(e) {
            Some(r) => r.to_string(),
            None => raise::root_message(e),
        },
        other => args::type_name(Some(other)).to_string(),
    }
}
