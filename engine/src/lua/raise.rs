//! Errors raised by Keel's Rust functions inside scripts.
//!
//! mlua carries an error from a Rust function to Lua as a userdata; the
//! Redis forms are recovered from it: the message handler of a run (and
//! the sandbox's `pcall`/`xpcall`) look for a [`Raise`] among its causes.

use mlua::{Lua, Value};
use std::fmt;
use std::sync::Arc;

/// What a Rust function raised, in Redis's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raise {
    /// An `{err=...}` table (the `redis` library's errors, `redis.call`'s
    /// command errors): the text already has its code.
    Table(String),
    /// A string, as `luaL_error` raises it (the position of the calling
    /// script line already prefixed).
    Message(String),
}

impl fmt::Display for Raise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Raise::Table(t) | Raise::Message(t) => f.write_str(t),
        }
    }
}

impl std::error::Error for Raise {}

/// Raises an `{err=text}` table.
pub fn table(text: impl Into<String>) -> mlua::Error {
    mlua::Error::ExternalError(Arc::new(Raise::Table(text.into())))
}

/// Raises `message` as `luaL_error` does: prefixed with `source:line: `
/// of the calling function when that is Lua code (not when it is a C
/// function such as `pcall`).
pub fn message(lua: &Lua, message: impl AsRef<str>) -> mlua::Error {
    let message = with_callee_name(lua, message.as_ref());
    let position = lua.inspect_stack(1).and_then(|caller| {
        let line = caller.curr_line();
        let source = caller.source();
        let short = source.short_src.as_deref()?.to_string();
        (line > 0).then(|| format!("{short}:{line}: "))
    });
    let text = format!("{}{}", position.unwrap_or_default(), message);
    mlua::Error::ExternalError(Arc::new(Raise::Message(text)))
}

/// `bad argument #n to 'f' (...)` names the function as the caller knows
/// it (`luaL_argerror`): the field or variable it was called through, or
/// `?` when the caller is C code (`pcall(bit.band, 'x')`).
fn with_callee_name(lua: &Lua, message: &str) -> String {
    let Some(rest) = message.strip_prefix("bad argument #") else {
        return message.to_string();
    };
    let Some((number, after)) = rest.split_once(" to '") else {
        return message.to_string();
    };
    let Some((_, tail)) = after.split_once("' ") else {
        return message.to_string();
    };
    let name = lua
        .inspect_stack(0)
        .and_then(|callee| callee.names().name.map(|n| n.into_owned()))
        .unwrap_or_else(|| "?".to_string());
    format!("bad argument #{number} to '{name}' {tail}")
}

/// The [`Raise`] among `e`'s causes, if a Keel function raised it.
pub fn find(e: &mlua::Error) -> Option<&Raise> {
    match e {
        mlua::Error::CallbackError { cause, .. } => find(cause),
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<Raise>(),
        mlua::Error::WithContext { cause, .. } => find(cause),
        _ => None,
    }
}

/// The message of the innermost cause of an mlua error.
pub fn root_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => root_message(cause),
        mlua::Error::WithContext { cause, .. } => root_message(cause),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::ExternalError(inner) => inner.to_string(),
        other => other.to_string(),
    }
}

/// `native.error_text`: what Redis's `pcall` returns for an error a
/// Rust function raised (the message; for a table, its `err` text).
pub fn error_text(_lua: &Lua, e: Value) -> mlua::Result<String> {
    Ok(match &e {
        Value::Error(e) => match find(e) {
            Some(raise) => raise.to_string(),
            None => root_message(e),
        },
        other => super::redis_lib::describe(other),
    })
}

/// `native.error_object`: the error value a Lua message handler would
/// have received from Redis (a table for table errors, else a string).
pub fn error_object(lua: &Lua, e: Value) -> mlua::Result<Value> {
    if let Value::Error(inner) = &e {
        if let Some(Raise::Table(text)) = find(inner) {
            return Ok(Value::Table(super::convert::error_table(lua, text)?));
        }
    }
    Ok(Value::String(lua.create_string(error_text(lua, e)?)?))
}
