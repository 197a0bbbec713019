//! The `cjson` library (lua-cjson 2.1.0's API and behaviour, as Redis
//! embeds it): `encode`, `decode`, `null`, `new`, and the settings
//! functions, whose values persist in the module (and `new` makes a module
//! with its own).
//!
//! Encoding: numbers as `%.14g` (`encode_number_precision`), NaN and
//! infinities refused unless allowed; strings with `"`, `\`, `/` and
//! control characters escaped (bytes from 0x80 as they are); a table is an
//! array when all its keys are positive integers and it is not
//! excessively sparse, else an object whose keys must be strings or
//! numbers; `{}` is an object. Decoding: RFC 8259 plus what lua-cjson
//! accepts by default (`inf`, `nan`, hex and `+` numbers, leading zeros);
//! `null` decodes to `cjson.null`. Errors use lua-cjson's messages.

use super::args;
use super::numfmt::format_g;
use super::raise;
use mlua::{LightUserData, Lua, MultiValue, Result, Table, Value};
use std::cell::RefCell;
use std::rc::Rc;

const DEFAULT_DEPTH: usize = 1000;
/// The encoder recurses: whatever `encode_max_depth` says, nesting deeper
/// than this is refused the same way (lua-cjson only has the setting).
const ENCODE_DEPTH_LIMIT: usize = 1000;
const DEFAULT_PRECISION: usize = 14;

/// A module's settings.
#[derive(Debug, Clone)]
struct Settings {
    keep_buffer: bool,
    encode_max_depth: usize,
    decode_max_depth: usize,
    precision: usize,
    sparse_convert: bool,
    sparse_ratio: i64,
    sparse_safe: i64,
    /// `false`, `true`, or `null` (encode them as null).
    encode_invalid: InvalidNumbers,
    decode_invalid: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvalidNumbers {
    Refuse,
    Allow,
    AsNull,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            keep_buffer: true,
            encode_max_depth: DEFAULT_DEPTH,
            decode_max_depth: DEFAULT_DEPTH,
            precision: DEFAULT_PRECISION,
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_invalid: InvalidNumbers::Refuse,
            decode_invalid: true,
        }
    }
}

type Shared = Rc<RefCell<Settings>>;

/// `cjson.null`: a light userdata holding NULL, as in lua-cjson.
pub fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

pub fn library(lua: &Lua) -> Result<Table> {
    let settings: Shared = Rc::default();
    let t = lua.create_table()?;
    let s = settings.clone();
    t.raw_set(
        "encode",
        lua.create_function(move |lua, args: MultiValue| encode(lua, &s.borrow(), &args))?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "decode",
        lua.create_function(move |lua, args: MultiValue| decode(lua, &s.borrow(), &args))?,
    )?;
    add_settings_functions(lua, &t, &settings)?;
    t.raw_set("new", lua.create_function(|lua, ()| library(lua))?)?;
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

fn add_settings_functions(lua: &Lua, t: &Table, settings: &Shared) -> Result<()> {
    let s = settings.clone();
    t.raw_set(
        "encode_keep_buffer",
        lua.create_function(move |lua, args: MultiValue| {
            let mut cfg = s.borrow_mut();
            if let Some(on) = on_off(lua, &args, 1, "encode_keep_buffer")? {
                cfg.keep_buffer = on;
            }
            Ok(cfg.keep_buffer)
        })?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "encode_max_depth",
        lua.create_function(move |lua, args: MultiValue| {
            let mut cfg = s.borrow_mut();
            if let Some(n) = int_option(lua, &args, "encode_max_depth", i32::MAX as i64)? {
                cfg.encode_max_depth = n as usize;
            }
            Ok(cfg.encode_max_depth)
        })?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "decode_max_depth",
        lua.create_function(move |lua, args: MultiValue| {
            let mut cfg = s.borrow_mut();
            if let Some(n) = int_option(lua, &args, "decode_max_depth", i32::MAX as i64)? {
                cfg.decode_max_depth = n as usize;
            }
            Ok(cfg.decode_max_depth)
        })?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "encode_number_precision",
        lua.create_function(move |lua, args: MultiValue| {
            let mut cfg = s.borrow_mut();
            if let Some(n) = int_option(lua, &args, "encode_number_precision", 14)? {
                cfg.precision = n as usize;
            }
            Ok(cfg.precision)
        })?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "encode_sparse_array",
        lua.create_function(move |lua, args: MultiValue| {
            let mut guard = s.borrow_mut();
            let cfg = &mut *guard;
            if let Some(on) = on_off(lua, &args, 1, "encode_sparse_array")? {
                cfg.sparse_convert = on;
            }
            for (i, slot) in [(2, &mut cfg.sparse_ratio), (3, &mut cfg.sparse_safe)] {
                if !matches!(args::arg(&args, i), None | Some(Value::Nil)) {
                    let n = args::check_int(&args, i, "encode_sparse_array")
                        .map_err(|e| raise::message(lua, e))?;
                    if !(0..=i64::from(i32::MAX)).contains(&n) {
                        let msg = "expected integer between 0 and 2147483647";
                        return Err(raise::message(
                            lua,
                            args::bad_argument(i, "encode_sparse_array", msg),
                        ));
                    }
                    *slot = n;
                }
            }
            Ok((cfg.sparse_convert, cfg.sparse_ratio, cfg.sparse_safe))
        })?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "encode_invalid_numbers",
        lua.create_function(move |lua, args: MultiValue| {
            let mut cfg = s.borrow_mut();
            match args::arg(&args, 1) {
                None | Some(Value::Nil) => {}
                Some(Value::String(v)) if &*v.as_bytes() == b"null" => {
                    cfg.encode_invalid = InvalidNumbers::AsNull
                }
                Some(_) => {
                    let on = on_off(lua, &args, 1, "encode_invalid_numbers")?.unwrap_or(false);
                    cfg.encode_invalid = if on {
                        InvalidNumbers::Allow
                    } else {
                        InvalidNumbers::Refuse
                    };
                }
            }
            Ok(match cfg.encode_invalid {
                InvalidNumbers::Refuse => Value::Boolean(false),
                InvalidNumbers::Allow => Value::Boolean(true),
                InvalidNumbers::AsNull => Value::String(lua.create_string("null")?),
            })
        })?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "decode_invalid_numbers",
        lua.create_function(move |lua, args: MultiValue| {
            let mut cfg = s.borrow_mut();
            if let Some(on) = on_off(lua, &args, 1, "decode_invalid_numbers")? {
                cfg.decode_invalid = on;
            }
            Ok(cfg.decode_invalid)
        })?,
    )?;
    Ok(())
}

/// A boolean setting: a boolean or `"on"`/`"off"`; `None` when absent.
fn on_off(lua: &Lua, args: &MultiValue, i: usize, fname: &str) -> Result<Option<bool>> {
    match args::arg(args, i) {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Boolean(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if &*s.as_bytes() == b"on" => Ok(Some(true)),
        Some(Value::String(s)) if &*s.as_bytes() == b"off" => Ok(Some(false)),
        Some(other) => {
            let shown = args::to_bytes(other)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let msg = format!("invalid option '{shown}'");
            Err(raise::message(lua, args::bad_argument(i, fname, &msg)))
        }
    }
}

/// An integer setting in `1..=max`; `None` when absent.
fn int_option(lua: &Lua, args: &MultiValue, fname: &str, max: i64) -> Result<Option<i64>> {
    if matches!(args::arg(args, 1), None | Some(Value::Nil)) {
        return Ok(None);
    }
    let n = args::check_int(args, 1, fname).map_err(|e| raise::message(lua, e))?;
    if !(1..=max).contains(&n) {
        let msg = format!("expected integer between 1 and {max}");
        return Err(raise::message(lua, args::bad_argument(1, fname, &msg)));
    }
    Ok(Some(n))
}

// ---- encode ----

fn encode(lua: &Lua, cfg: &Settings, args: &MultiValue) -> Result<mlua::String> {
    if args.len() != 1 {
        return Err(raise::message(
            lua,
            args::bad_argument(1, "encode", "expected 1 argument"),
        ));
    }
    let mut out = Vec::new();
    let mut encoder = Encoder { cfg, out: &mut out };
    encoder
        .value(&args[0], 0)
        .map_err(|e| raise::message(lua, e))?;
    lua.create_string(&out)
}

struct Encoder<'a> {
    cfg: &'a Settings,
    out: &'a mut Vec<u8>,
}

impl Encoder<'_> {
    fn value(&mut self, v: &Value, depth: usize) -> std::result::Result<(), String> {
        match v {
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::LightUserData(p) if p.0.is_null() => self.out.extend_from_slice(b"null"),
            Value::Boolean(b) => self
                .out
                .extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Integer(n) => self.number(*n as f64)?,
            Value::Number(n) => self.number(*n)?,
            Value::String(s) => escape_string(&s.as_bytes(), self.out),
            Value::Table(t) => self.table(t, depth + 1)?,
            other => {
                let name = args::type_name(Some(other));
                return Err(format!("Cannot serialise {name}: type not supported"));
            }
        }
        Ok(())
    }

    fn number(&mut self, n: f64) -> std::result::Result<(), String> {
        if !n.is_finite() {
            match self.cfg.encode_invalid {
                InvalidNumbers::Refuse => {
                    return Err("Cannot serialise number: must not be NaN or Inf".into())
                }
                InvalidNumbers::AsNull => {
                    self.out.extend_from_slice(b"null");
                    return Ok(());
                }
                InvalidNumbers::Allow => {}
            }
        }
        self.out
            .extend_from_slice(format_g(n, self.cfg.precision).as_bytes());
        Ok(())
    }

    fn table(&mut self, t: &Table, depth: usize) -> std::result::Result<(), String> {
        if depth > self.cfg.encode_max_depth.min(ENCODE_DEPTH_LIMIT) {
            return Err(format!("Cannot serialise, excessive nesting ({depth})"));
        }
        match self.array_length(t)? {
            Some(len) if len > 0 => self.array(t, len, depth),
            _ => self.object(t, depth),
        }
    }

    /// The array length when every key is a positive integer and the
    /// array is not excessively sparse; `None` for an object.
    fn array_length(&self, t: &Table) -> std::result::Result<Option<usize>, String> {
        let (mut max, mut items) = (0f64, 0i64);
        for pair in t.pairs::<Value, Value>() {
            let (k, _) = pair.map_err(|e| e.to_string())?;
            let k = match k {
                Value::Integer(n) => n as f64,
                Value::Number(n) => n,
                _ => return Ok(None),
            };
            if k < 1.0 || k.floor() != k {
                return Ok(None);
            }
            max = max.max(k);
            items += 1;
        }
        let cfg = self.cfg;
        if cfg.sparse_ratio > 0
            && max > (items * cfg.sparse_ratio) as f64
            && max > cfg.sparse_safe as f64
        {
            if !cfg.sparse_convert {
                return Err("Cannot serialise table: excessively sparse array".into());
            }
            return Ok(None);
        }
        Ok(Some(max as usize))
    }

    fn array(&mut self, t: &Table, len: usize, depth: usize) -> std::result::Result<(), String> {
        self.out.push(b'[');
        for i in 1..=len {
            if i > 1 {
                self.out.push(b',');
            }
            let v: Value = t.raw_get(i).map_err(|e| e.to_string())?;
            self.value(&signed_zero(t, i, v), depth)?;
        }
        self.out.push(b']');
        Ok(())
    }

    fn object(&mut self, t: &Table, depth: usize) -> std::result::Result<(), String> {
        self.out.push(b'{');
        let mut first = true;
        for pair in t.pairs::<Value, Value>() {
            let (k, v) = pair.map_err(|e| e.to_string())?;
            if !first {
                self.out.push(b',');
            }
            first = false;
            match &k {
                Value::String(s) => escape_string(&s.as_bytes(), self.out),
                Value::Integer(_) | Value::Number(_) => {
                    self.out.push(b'"');
                    let n = args::to_number(&k).unwrap_or(0.0);
                    self.number(n)?;
                    self.out.push(b'"');
                }
                other => {
                    let name = args::type_name(Some(other));
                    return Err(format!(
                        "Cannot serialise {name}: table key must be a number or string"
                    ));
                }
            }
            self.out.push(b':');
            self.value(&signed_zero(t, k, v), depth)?;
        }
        self.out.push(b'}');
        Ok(())
    }
}

/// mlua reads -0 as the integer 0; a table slot holding 0 is read again
/// as a float so that -0 encodes as `-0`, as lua-cjson writes it. (An
/// argument -0 passed directly to `encode` reaches Rust as 0 already.)
fn signed_zero(t: &Table, key: impl mlua::IntoLua, v: Value) -> Value {
    match v {
        Value::Integer(0) => Value::Number(t.raw_get::<f64>(key).unwrap_or(0.0)),
        other => other,
    }
}

/// A JSON string as lua-cjson writes it.
fn escape_string(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

// ---- decode ----

fn decode(lua: &Lua, cfg: &Settings, args: &MultiValue) -> Result<Value> {
    if args.len() != 1 {
        return Err(raise::message(
            lua,
            args::bad_argument(1, "decode", "expected 1 argument"),
        ));
    }
    let text = args::check_bytes(args, 1, "decode").map_err(|e| raise::message(lua, e))?;
    let mut parser = Parser {
        lua,
        cfg,
        text: &text,
        pos: 0,
        depth: 0,
    };
    let value = parser.value_at_top().map_err(|e| match e {
        DecodeError::Message(m) => raise::message(lua, m),
        DecodeError::Lua(e) => e,
    })?;
    Ok(value)
}

enum DecodeError {
    Message(String),
    Lua(mlua::Error),
}

impl From<mlua::Error> for DecodeError {
    fn from(e: mlua::Error) -> Self {
        DecodeError::Lua(e)
    }
}

type Decoded<T> = std::result::Result<T, DecodeError>;

/// A token: its kind and the byte index where it starts (or, for an
/// invalid one, where scanning failed).
enum Token {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    Invalid(&'static str),
}

impl Token {
    fn name(&self) -> &'static str {
        match self {
            Token::ObjBegin => "T_OBJ_BEGIN",
            Token::ObjEnd => "T_OBJ_END",
            Token::ArrBegin => "T_ARR_BEGIN",
            Token::ArrEnd => "T_ARR_END",
            Token::Str(_) => "T_STRING",
            Token::Number(_) => "T_NUMBER",
            Token::Boolean(_) => "T_BOOLEAN",
            Token::Null => "T_NULL",
            Token::Colon => "T_COLON",
            Token::Comma => "T_COMMA",
            Token::End => "T_END",
            Token::Invalid(why) => why,
        }
    }
}

/// A container being filled: an array and its next index, or an object
/// and the key of the value being read.
enum Open {
    Array(Table, usize),
    Object(Table, Vec<u8>),
}

struct Parser<'a> {
    lua: &'a Lua,
    cfg: &'a Settings,
    text: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn value_at_top(&mut self) -> Decoded<Value> {
        let (token, at) = self.next_token();
        let value = self.value(token, at)?;
        let (token, at) = self.next_token();
        if !matches!(token, Token::End) {
            return Err(unexpected("the end", &token, at));
        }
        Ok(value)
    }

    /// Parses the value that starts with `token`, iteratively (nesting
    /// is bounded by `decode_max_depth`, not by the stack).
    fn value(&mut self, mut token: Token, mut at: usize) -> Decoded<Value> {
        let mut open: Vec<Open> = Vec::new();
        loop {
            let mut value = match token {
                Token::Str(s) => Value::String(self.lua.create_string(&s)?),
                Token::Number(n) => Value::Number(n),
                Token::Boolean(b) => Value::Boolean(b),
                Token::Null => null(),
                Token::ArrBegin | Token::ObjBegin => {
                    let is_array = matches!(token, Token::ArrBegin);
                    self.nest(at)?;
                    let table = self.lua.create_table()?;
                    let (next, next_at) = self.next_token();
                    let empty = if is_array {
                        matches!(next, Token::ArrEnd)
                    } else {
                        matches!(next, Token::ObjEnd)
                    };
                    if empty {
                        self.depth -= 1;
                        Value::Table(table)
                    } else if is_array {
                        open.push(Open::Array(table, 1));
                        (token, at) = (next, next_at);
                        continue;
                    } else {
                        let key = self.key_and_colon(next, next_at)?;
                        open.push(Open::Object(table, key));
                        (token, at) = self.next_token();
                        continue;
                    }
                }
                other => return Err(unexpected("value", &other, at)),
            };
            // Store the value in its container; close the containers that end.
            loop {
                let Some(container) = open.last_mut() else {
                    return Ok(value);
                };
                let (sep, sep_at) = self.next_token();
                let closed = match container {
                    Open::Array(table, index) => {
                        table.raw_set(*index, value)?;
                        *index += 1;
                        match sep {
                            Token::ArrEnd => true,
                            Token::Comma => false,
                            other => return Err(unexpected("comma or array end", &other, sep_at)),
                        }
                    }
                    Open::Object(table, key) => {
                        table.raw_set(self.lua.create_string(&*key)?, value)?;
                        match sep {
                            Token::ObjEnd => true,
                            Token::Comma => {
                                let (next, next_at) = self.next_token();
                                *key = self.key_and_colon(next, next_at)?;
                                false
                            }
                            other => return Err(unexpected("comma or object end", &other, sep_at)),
                        }
                    }
                };
                if !closed {
                    (token, at) = self.next_token();
                    break;
                }
                self.depth -= 1;
                value = match open.pop() {
                    Some(Open::Array(t, _) | Open::Object(t, _)) => Value::Table(t),
                    None => Value::Nil,
                };
            }
        }
    }

    /// An object key (a string token) and the colon after it.
    fn key_and_colon(&mut self, token: Token, at: usize) -> Decoded<Vec<u8>> {
        let Token::Str(key) = token else {
            return Err(unexpected("object key string", &token, at));
        };
        let (colon, colon_at) = self.next_token();
        if !matches!(colon, Token::Colon) {
            return Err(unexpected("colon", &colon, colon_at));
        }
        Ok(key)
    }

    fn nest(&mut self, at: usize) -> Decoded<()> {
        self.depth += 1;
        if self.depth > self.cfg.decode_max_depth {
            return Err(DecodeError::Message(format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth,
                at + 1
            )));
        }
        Ok(())
    }

    fn next_token(&mut self) -> (Token, usize) {
        while self
            .text
            .get(self.pos)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(&c) = self.text.get(start) else {
            return (Token::End, start);
        };
        let single = |t: Token, p: &mut usize| {
            *p += 1;
            t
        };
        let token = match c {
            b'{' => single(Token::ObjBegin, &mut self.pos),
            b'}' => single(Token::ObjEnd, &mut self.pos),
            b'[' => single(Token::ArrBegin, &mut self.pos),
            b']' => single(Token::ArrEnd, &mut self.pos),
            b':' => single(Token::Colon, &mut self.pos),
            b',' => single(Token::Comma, &mut self.pos),
            b'"' => return self.string(),
            _ => {
                if let Some(token) = self.number_token() {
                    token
                } else if let Some(token) = self.word_token() {
                    token
                } else {
                    return (Token::Invalid("invalid token"), start);
                }
            }
        };
        (token, start)
    }

    /// `true`, `false`, `null`.
    fn word_token(&mut self) -> Option<Token> {
        let rest = &self.text[self.pos..];
        let (len, token) = if rest.starts_with(b"true") {
            (4, Token::Boolean(true))
        } else if rest.starts_with(b"false") {
            (5, Token::Boolean(false))
        } else if rest.starts_with(b"null") {
            (4, Token::Null)
        } else {
            return None;
        };
        self.pos += len;
        Some(token)
    }

    /// A number, read as `strtod` reads it; the forms JSON does not allow
    /// (`inf`, `nan`, hex, `+`, leading zeros) only with
    /// `decode_invalid_numbers` on.
    fn number_token(&mut self) -> Option<Token> {
        let rest = &self.text[self.pos..];
        let c = *rest.first()?;
        let starts_number = c == b'-' || c.is_ascii_digit();
        let invalid_form = is_invalid_number(rest);
        if !(starts_number || invalid_form) || (invalid_form && !self.cfg.decode_invalid) {
            return None;
        }
        let Some((len, value)) = strtod_prefix(rest) else {
            return Some(Token::Invalid("invalid number"));
        };
        self.pos += len;
        Some(Token::Number(value))
    }

    fn string(&mut self) -> (Token, usize) {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            // A NUL byte ends the text for lua-cjson, as the end does.
            let Some(&c) = self.text.get(self.pos).filter(|&&c| c != 0) else {
                return (Token::Invalid("unexpected end of string"), self.pos);
            };
            let at = self.pos;
            self.pos += 1;
            match c {
                b'"' => return (Token::Str(out), start),
                // Escape errors are reported at the backslash.
                b'\\' => {
                    if let Err(why) = self.escape(&mut out) {
                        return (Token::Invalid(why), at);
                    }
                }
                _ => out.push(c),
            }
        }
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> std::result::Result<(), &'static str> {
        // A backslash at the very end is an invalid escape, as in lua-cjson.
        let c = self.text.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        let byte = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => return self.unicode_escape(out),
            _ => return Err("invalid escape code"),
        };
        out.push(byte);
        Ok(())
    }

    /// `\uXXXX` (after the `u`), with a surrogate pair when it starts one.
    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> std::result::Result<(), &'static str> {
        const BAD: &str = "invalid unicode escape code";
        let high = self.hex4().ok_or(BAD)?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if self.text.get(self.pos..self.pos + 2) != Some(b"\\u") {
                return Err(BAD);
            }
            self.pos += 2;
            let low = self.hex4().ok_or(BAD)?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(BAD);
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..0xE000).contains(&high) {
            return Err(BAD);
        } else {
            high
        };
        let ch = char::from_u32(code).ok_or(BAD)?;
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        let text = std::str::from_utf8(digits).ok()?;
        let n = u32::from_str_radix(text, 16).ok()?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        self.pos += 4;
        Some(n)
    }
}

fn unexpected(expected: &str, found: &Token, at: usize) -> DecodeError {
    DecodeError::Message(format!(
        "Expected {expected} but found {} at character {}",
        found.name(),
        at + 1
    ))
}

/// The number forms lua-cjson calls invalid JSON: hex, `inf`, `nan`, a
/// leading `+`, a leading zero followed by a digit.
fn is_invalid_number(rest: &[u8]) -> bool {
    let lower: Vec<u8> = rest.iter().take(4).map(u8::to_ascii_lowercase).collect();
    let unsigned = match lower.first() {
        Some(b'-') => &lower[1..],
        Some(b'+') => return true,
        _ => &lower[..],
    };
    unsigned.starts_with(b"0x")
        || unsigned.starts_with(b"inf")
        || unsigned.starts_with(b"nan")
        || (unsigned.first() == Some(&b'0') && unsigned.get(1).is_some_and(u8::is_ascii_digit))
}

/// The longest prefix of `text` that C's `strtod` reads, and its value.
fn strtod_prefix(text: &[u8]) -> Option<(usize, f64)> {
    let mut i = 0;
    let negative = match text.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = if negative { -1.0 } else { 1.0 };
    let rest = &text[i..];
    let lower: Vec<u8> = rest.iter().take(8).map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"infinity") {
        return Some((i + 8, sign * f64::INFINITY));
    }
    if lower.starts_with(b"inf") {
        return Some((i + 3, sign * f64::INFINITY));
    }
    if lower.starts_with(b"nan") {
        return Some((i + 3, f64::NAN));
    }
    if lower.starts_with(b"0x") {
        let digits = rest[2..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if digits > 0 {
            let value = rest[2..2 + digits].iter().fold(0f64, |acc, &d| {
                acc * 16.0 + f64::from((d as char).to_digit(16).unwrap_or(0))
            });
            return Some((i + 2 + digits, sign * value));
        }
    }
    let int_digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut len = int_digits;
    let mut frac_digits = 0;
    if rest.get(len) == Some(&b'.') {
        frac_digits = rest[len + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if int_digits + frac_digits > 0 {
            len += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(rest.get(len), Some(b'e' | b'E')) {
        let mut e = len + 1;
        if matches!(rest.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let exp_digits = rest[e.min(rest.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if exp_digits > 0 {
            len = e + exp_digits;
        }
    }
    let text = std::str::from_utf8(&rest[..len]).ok()?;
    let value: f64 = text.parse().ok()?;
    Some((i + len, sign * value))
}
