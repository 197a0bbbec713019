//! Conversions between replies and Lua values, by the rules of Redis 7.0's
//! Lua API.
//!
//! Reply → Lua (what `redis.call` returns), with the protocol the script
//! chose with `redis.setresp` (2 by default):
//! - integer → number; bulk string → string; array → table;
//! - status → `{ok=...}`; error → `{err=...}`;
//! - RESP2: null bulk and null array → `false`; RESP3 shapes fall back as
//!   a RESP2 client would see them (map → flat array, set → array,
//!   double → string, boolean → 1 or 0, big number and verbatim → string);
//! - RESP3: null → `nil`; boolean → boolean; double → `{double=n}`;
//!   map → `{map={k=v}}`; set → `{set={m=true}}`; big number →
//!   `{big_number=s}`; verbatim → `{verbatim_string={format=f, string=s}}`.
//!
//! Lua → reply (what the script returns):
//! - number → integer (truncated toward zero; out of range → i64::MIN);
//!   string → bulk; `nil` → null;
//! - boolean → RESP2 script: `true` → 1, `false` → null; RESP3 script: boolean;
//! - table with a string `err` → error; with a string `ok` → status; with a
//!   number `double` → double; `big_number`, `verbatim_string`, `map`,
//!   `set` → those shapes; otherwise an array of the elements 1, 2, ...
//!   up to the first `nil`;
//! - anything else (function, userdata, ...) → null.

use crate::resp::{format_double, Reply};
use bytes::Bytes;
use mlua::{Lua, Result, Table, Value};

/// Deepest nesting of tables a script's reply may have; deeper tables
/// become an error element (Redis's limit is the Lua stack, ~8000 levels).
pub const MAX_REPLY_DEPTH: usize = 1000;

const STACK_LIMIT: &str = "ERR reached lua stack limit";

/// A command's reply as a Lua value (`resp3`: the script's protocol).
pub fn reply_to_lua(lua: &Lua, reply: &Reply, resp3: bool) -> Result<Value> {
    Ok(match reply {
        Reply::Status(s) => Value::Table(single(
            lua,
            "ok",
            Value::String(lua.create_string(s.as_bytes())?),
        )?),
        Reply::Error(e) => Value::Table(error_table(lua, e)?),
        Reply::Int(n) => Value::Number(*n as f64),
        Reply::Bulk(b) => Value::String(lua.create_string(b)?),
        Reply::Null | Reply::NullArray | Reply::NoReply => {
            if resp3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        Reply::Array(items) | Reply::Push(items) => array(lua, items, resp3)?,
        Reply::Bulks(bulks) => {
            let texts = bulks.texts();
            let table = lua.create_table_with_capacity(texts.len(), 0)?;
            for (i, text) in texts.into_iter().enumerate() {
                table.raw_set(i + 1, lua.create_string(text)?)?;
            }
            Value::Table(table)
        }
        Reply::Set(items) if !resp3 => array(lua, items, resp3)?,
        Reply::Set(items) => {
            let set = lua.create_table()?;
            for item in items {
                set.raw_set(reply_to_lua(lua, item, resp3)?, true)?;
            }
            Value::Table(single(lua, "set", Value::Table(set))?)
        }
        Reply::Map(pairs) if !resp3 => {
            let flat = lua.create_table_with_capacity(pairs.len() * 2, 0)?;
            for (i, (k, v)) in pairs.iter().enumerate() {
                flat.raw_set(2 * i + 1, reply_to_lua(lua, k, resp3)?)?;
                flat.raw_set(2 * i + 2, reply_to_lua(lua, v, resp3)?)?;
            }
            Value::Table(flat)
        }
        Reply::Map(pairs) => {
            let map = lua.create_table()?;
            for (k, v) in pairs {
                map.raw_set(reply_to_lua(lua, k, resp3)?, reply_to_lua(lua, v, resp3)?)?;
            }
            Value::Table(single(lua, "map", Value::Table(map))?)
        }
        Reply::Double(d) if !resp3 => Value::String(lua.create_string(format_double(*d))?),
        Reply::Double(d) => Value::Table(single(lua, "double", Value::Number(*d))?),
        Reply::Bool(b) if !resp3 => Value::Number(if *b { 1.0 } else { 0.0 }),
        Reply::Bool(b) => Value::Boolean(*b),
        Reply::BigNumber(n) if !resp3 => Value::String(lua.create_string(n)?),
        Reply::BigNumber(n) => Value::Table(single(
            lua,
            "big_number",
            Value::String(lua.create_string(n)?),
        )?),
        Reply::Verbatim(_, text) if !resp3 => Value::String(lua.create_string(text)?),
        Reply::Verbatim(format, text) => {
            let inner = lua.create_table()?;
            inner.raw_set("format", *format)?;
            inner.raw_set("string", lua.create_string(text)?)?;
            Value::Table(single(lua, "verbatim_string", Value::Table(inner))?)
        }
    })
}

fn array(lua: &Lua, items: &[Reply], resp3: bool) -> Result<Value> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, reply_to_lua(lua, item, resp3)?)?;
    }
    Ok(Value::Table(t))
}

fn single(lua: &Lua, key: &str, value: Value) -> Result<Table> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set(key, value)?;
    Ok(t)
}

/// The `{err=...}` table for an error reply, with the text normalised as
/// Redis does: a text without a space after its code gets the code `ERR`
/// (`"NOSPACE"` → `"ERR NOSPACE"`), and trailing CR/LF are trimmed.
pub fn error_table(lua: &Lua, text: &str) -> Result<Table> {
    single(
        lua,
        "err",
        Value::String(lua.create_string(normalize_error(text))?),
    )
}

/// Redis's normal form of an error message pushed to Lua: `-CODE message`
/// → `CODE message`; a message without a code → `ERR message`.
pub fn normalize_error(text: &str) -> String {
    let text = text.strip_prefix('-').unwrap_or(text);
    let (code, msg) = match text.split_once(' ') {
        Some((code, msg)) => (code, msg),
        None => ("ERR", text),
    };
    format!("{code} {}", msg.trim_matches(|c| c == '\r' || c == '\n'))
}

/// A script's return value as a reply (`resp3`: the script's protocol).
pub fn lua_to_reply(value: &Value, resp3: bool) -> Reply {
    to_reply(value, resp3, 0)
}

fn to_reply(value: &Value, resp3: bool, depth: usize) -> Reply {
    match value {
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Integer(n) => Reply::Int(*n),
        Value::Number(n) => Reply::Int(truncate(*n)),
        Value::Boolean(b) if resp3 => Reply::Bool(*b),
        Value::Boolean(true) => Reply::Int(1),
        Value::Table(t) if depth >= MAX_REPLY_DEPTH => {
            let _ = t;
            Reply::err(STACK_LIMIT)
        }
        Value::Table(t) => table_to_reply(t, resp3, depth + 1),
        _ => Reply::Null,
    }
}

/// A Lua number as Redis turns it into an integer: a C cast, which on the
/// machines Redis runs on gives i64::MIN for NaN and out-of-range values.
pub fn truncate(n: f64) -> i64 {
    if n.is_finite() && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) {
        n as i64
    } else {
        i64::MIN
    }
}

/// Text for a status or error line: CR and LF become spaces.
fn line_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace(['\r', '\n'], " ")
}

fn table_to_reply(t: &Table, resp3: bool, depth: usize) -> Reply {
    let field = |name: &str| t.raw_get::<Value>(name).unwrap_or(Value::Nil);
    if let Value::String(e) = field("err") {
        return Reply::error(line_text(&e.as_bytes()));
    }
    if let Value::String(s) = field("ok") {
        return Reply::Status(line_text(&s.as_bytes()).into());
    }
    match field("double") {
        Value::Number(d) => return Reply::Double(d),
        Value::Integer(d) => return Reply::Double(d as f64),
        _ => {}
    }
    if let Value::String(s) = field("big_number") {
        return Reply::BigNumber(line_text(&s.as_bytes()));
    }
    if let Value::Table(v) = field("verbatim_string") {
        if let Some(reply) = verbatim(&v) {
            return reply;
        }
    }
    if let Value::Table(m) = field("map") {
        let pairs = m
            .pairs::<Value, Value>()
            .filter_map(|kv| kv.ok())
            .map(|(k, v)| (to_reply(&k, resp3, depth), to_reply(&v, resp3, depth)))
            .collect();
        return Reply::Map(pairs);
    }
    if let Value::Table(s) = field("set") {
        let members = s
            .pairs::<Value, Value>()
            .filter_map(|kv| kv.ok())
            .map(|(k, _)| to_reply(&k, resp3, depth))
            .collect();
        return Reply::Set(members);
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(to_reply(&v, resp3, depth)),
        }
    }
    Reply::Array(items)
}

/// `{format="txt", string="..."}`: Keel's replies name their format
/// statically, so a format other than `txt` or `mkd` is sent as `txt`.
fn verbatim(v: &Table) -> Option<Reply> {
    let Ok(Value::String(format)) = v.raw_get::<Value>("format") else {
        return None;
    };
    let Ok(Value::String(text)) = v.raw_get::<Value>("string") else {
        return None;
    };
    let format = if &*format.as_bytes() == b"mkd" {
        "mkd"
    } else {
        "txt"
    };
    Some(Reply::Verbatim(
        format,
        Bytes::copy_from_slice(&text.as_bytes()),
    ))
}
