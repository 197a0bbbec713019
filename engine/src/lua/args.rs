//! Argument checks for the functions Keel gives scripts, with the messages
//! of Lua 5.1's `luaL_check*` (`bad argument #1 to 'band' (number
//! expected, got string)`), which the libraries Redis embeds use.

use super::numfmt::lua_number;
use mlua::{MultiValue, Value};

/// The `i`-th (1-based) argument, or `None` when absent.
pub fn arg(args: &MultiValue, i: usize) -> Option<&Value> {
    args.get(i.checked_sub(1)?)
}

/// Lua's name for a value's type; `no value` for a missing argument.
pub fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(Value::LightUserData(_)) => "userdata",
        Some(_) => "userdata",
    }
}

pub fn bad_argument(i: usize, fname: &str, msg: &str) -> String {
    format!("bad argument #{i} to '{fname}' ({msg})")
}

fn type_error(args: &MultiValue, i: usize, fname: &str, expected: &str) -> String {
    let got = type_name(arg(args, i));
    bad_argument(i, fname, &format!("{expected} expected, got {got}"))
}

/// A number as Lua's `lua_tonumber` sees it: numbers, and strings that
/// read as numbers (decimal, or hexadecimal with `0x`).
pub fn to_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => str_to_number(&s.as_bytes()),
        _ => None,
    }
}

/// Lua 5.1's string-to-number rule: surrounding white space allowed,
/// `strtod` syntax, or a hexadecimal integer.
pub fn str_to_number(bytes: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(bytes)
        .ok()?
        .trim_matches(|c: char| c.is_ascii_whitespace());
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        let n = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if negative { -n } else { n });
    }
    // Rust's float syntax is strtod's (inf and nan included), less hex floats.
    text.parse::<f64>().ok()
}

pub fn check_number(args: &MultiValue, i: usize, fname: &str) -> Result<f64, String> {
    arg(args, i)
        .and_then(to_number)
        .ok_or_else(|| type_error(args, i, fname, "number"))
}

pub fn opt_number(args: &MultiValue, i: usize, fname: &str, default: f64) -> Result<f64, String> {
    match arg(args, i) {
        None | Some(Value::Nil) => Ok(default),
        Some(_) => check_number(args, i, fname),
    }
}

/// `luaL_checkint`: the number truncated toward zero, as a C cast.
pub fn check_int(args: &MultiValue, i: usize, fname: &str) -> Result<i64, String> {
    check_number(args, i, fname).map(super::convert::truncate)
}

/// A string argument; numbers are accepted and converted as Lua does.
pub fn check_bytes(args: &MultiValue, i: usize, fname: &str) -> Result<Vec<u8>, String> {
    arg(args, i)
        .and_then(to_bytes)
        .ok_or_else(|| type_error(args, i, fname, "string"))
}

/// A value as `lua_tolstring` gives it: strings, and numbers as `%.14g`.
pub fn to_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(n) => Some(lua_number(*n as f64).into_bytes()),
        Value::Number(n) => Some(lua_number(*n).into_bytes()),
        _ => None,
    }
}
