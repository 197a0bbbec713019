//! The `cmsgpack` library (lua-cmsgpack 0.4.0's API and encoding, as
//! Redis embeds it): `pack(...)`, `unpack(data)`, `unpack_one(data [,
//! offset])`, `unpack_limit(data, limit [, offset])`.
//!
//! Encoding: integral numbers that fit 64 bits use the smallest integer
//! form (unsigned forms for non-negative values), other numbers float32
//! when exact, else float64; strings use fixstr/str8/str16/str32; a table
//! whose keys are exactly 1..n is an array, any other a map; tables nested
//! deeper than 16 levels, functions and userdata encode as nil.
//! Decoding accepts those forms (not bin or ext, as 0.4.0).

use super::args;
use super::raise;
use mlua::{Lua, MultiValue, Result, Table, Value};

/// Tables deeper than this encode as nil (LUACMSGPACK_MAX_NESTING).
const MAX_NESTING: usize = 16;
/// Deepest nesting decoded before the input counts as bad data (lua-cmsgpack
/// has no such bound; Keel needs one to keep its stack).
const MAX_DECODE_DEPTH: usize = 128;

pub fn library(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(pack)?)?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| unpack_with(lua, &args, "unpack", 0, 0))?,
    )?;
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| {
            let offset = optional_int(lua, &args, 2, "unpack_one")?;
            unpack_with(lua, &args, "unpack_one", 1, offset)
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| {
            let limit =
                args::check_int(&args, 2, "unpack_limit").map_err(|e| raise::message(lua, e))?;
            let offset = optional_int(lua, &args, 3, "unpack_limit")?;
            unpack_with(lua, &args, "unpack_limit", limit, offset)
        })?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

fn optional_int(lua: &Lua, args: &MultiValue, i: usize, fname: &str) -> Result<i64> {
    match args::arg(args, i) {
        None | Some(Value::Nil) => Ok(0),
        Some(_) => args::check_int(args, i, fname).map_err(|e| raise::message(lua, e)),
    }
}

// ---- pack ----

fn pack(lua: &Lua, args: MultiValue) -> Result<mlua::String> {
    if args.is_empty() {
        let msg = args::bad_argument(0, "pack", "MessagePack pack needs input.");
        return Err(raise::message(lua, msg));
    }
    let mut out = Vec::new();
    for v in args.iter() {
        encode(v, 0, &mut out)?;
    }
    lua.create_string(&out)
}

fn encode(v: &Value, depth: usize, out: &mut Vec<u8>) -> Result<()> {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(n) => encode_int(*n, out),
        Value::Number(n) => encode_number(*n, out),
        Value::String(s) => encode_str(&s.as_bytes(), out),
        Value::Table(t) if depth < MAX_NESTING => encode_table(t, depth + 1, out)?,
        _ => out.push(0xc0),
    }
    Ok(())
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    let fits =
        n.is_finite() && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n);
    if fits && n.trunc() == n {
        return encode_int(n as i64, out);
    }
    let single = n as f32;
    if f64::from(single) == n {
        out.push(0xca);
        out.extend_from_slice(&single.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        let u = n as u64;
        match u {
            0..=0x7f => out.push(u as u8),
            0x80..=0xff => out.extend_from_slice(&[0xcc, u as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend_from_slice(&(u as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend_from_slice(&(u as u32).to_be_bytes());
            }
            _ => {
                out.push(0xcf);
                out.extend_from_slice(&u.to_be_bytes());
            }
        }
        return;
    }
    match n {
        -32..=-1 => out.push(n as i8 as u8),
        -128..=-33 => out.extend_from_slice(&[0xd0, n as i8 as u8]),
        -32768..=-129 => {
            out.push(0xd1);
            out.extend_from_slice(&(n as i16).to_be_bytes());
        }
        -2_147_483_648..=-32769 => {
            out.push(0xd2);
            out.extend_from_slice(&(n as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn encode_str(s: &[u8], out: &mut Vec<u8>) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

/// A length header: the fix form (`fix | n`) below 16, else 16 or 32 bits.
fn encode_len(n: usize, fix: u8, code16: u8, out: &mut Vec<u8>) {
    if n < 16 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(code16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(code16 + 1);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn encode_table(t: &Table, depth: usize, out: &mut Vec<u8>) -> Result<()> {
    let pairs: Vec<(Value, Value)> = t.pairs::<Value, Value>().collect::<Result<_>>()?;
    if let Some(len) = array_length(&pairs) {
        encode_len(len, 0x90, 0xdc, out);
        for i in 1..=len {
            encode(&t.raw_get::<Value>(i)?, depth, out)?;
        }
        return Ok(());
    }
    encode_len(pairs.len(), 0x80, 0xde, out);
    for (k, v) in &pairs {
        encode(k, depth, out)?;
        encode(v, depth, out)?;
    }
    Ok(())
}

/// `Some(n)` when the keys are exactly the integers 1..n.
fn array_length(pairs: &[(Value, Value)]) -> Option<usize> {
    let mut max = 0f64;
    for (k, _) in pairs {
        let k = match k {
            Value::Integer(n) => *n as f64,
            Value::Number(n) => *n,
            _ => return None,
        };
        if k < 1.0 || k.trunc() != k {
            return None;
        }
        max = max.max(k);
    }
    (max == pairs.len() as f64).then_some(pairs.len())
}

// ---- unpack ----

/// Decodes up to `limit` objects (0: all) from byte `offset`; with a
/// limit or an offset the next offset (or -1 at the end) comes first.
fn unpack_with(
    lua: &Lua,
    args: &MultiValue,
    fname: &str,
    limit: i64,
    offset: i64,
) -> Result<MultiValue> {
    let data = args::check_bytes(args, 1, fname).map_err(|e| raise::message(lua, e))?;
    if offset < 0 || limit < 0 {
        let msg =
            format!("Invalid request to unpack with offset of {offset} and limit of {limit}.");
        return Err(raise::message(lua, msg));
    }
    let len = data.len();
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    if start > len {
        return Err(raise::message(
            lua,
            format!("Start offset {offset} greater than input length {len}."),
        ));
    }
    let mut decoder = Decoder {
        lua,
        data: &data,
        pos: start,
    };
    let mut values = Vec::new();
    while decoder.pos < len && (limit == 0 || (values.len() as i64) < limit) {
        match decoder.value(0)? {
            Ok(v) => values.push(v),
            Err(message) => return Err(raise::message(lua, message)),
        }
    }
    if limit != 0 || offset != 0 {
        let next = if decoder.pos >= len {
            -1
        } else {
            decoder.pos as i64
        };
        values.insert(0, Value::Number(next as f64));
    }
    Ok(MultiValue::from_iter(values))
}

const MISSING: &str = "Missing bytes in input.";
const BAD: &str = "Bad data format in input.";

struct Decoder<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    pos: usize,
}

/// A decoded value, or the message of a decoding failure.
type Decoded = Result<std::result::Result<Value, &'static str>>;

impl Decoder<'_> {
    fn take(&mut self, n: usize) -> std::result::Result<&[u8], &'static str> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(MISSING)?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn uint(&mut self, n: usize) -> std::result::Result<u64, &'static str> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn value(&mut self, depth: usize) -> Decoded {
        if depth > MAX_DECODE_DEPTH {
            return Ok(Err(BAD));
        }
        let tag = match self.take(1) {
            Ok(b) => b[0],
            Err(e) => return Ok(Err(e)),
        };
        let scalar = |v: std::result::Result<f64, &'static str>| Ok(v.map(Value::Number));
        match tag {
            0x00..=0x7f => scalar(Ok(f64::from(tag))),
            0xe0..=0xff => scalar(Ok(f64::from(tag as i8))),
            0xc0 => Ok(Ok(Value::Nil)),
            0xc2 => Ok(Ok(Value::Boolean(false))),
            0xc3 => Ok(Ok(Value::Boolean(true))),
            0xcc..=0xcf => {
                let size = 1 << (tag - 0xcc);
                scalar(self.uint(size).map(|u| u as f64))
            }
            0xd0..=0xd3 => {
                let size = 1usize << (tag - 0xd0);
                scalar(self.uint(size).map(|u| {
                    let shift = 64 - 8 * size as u32;
                    (((u << shift) as i64) >> shift) as f64
                }))
            }
            0xca => scalar(self.uint(4).map(|u| f64::from(f32::from_bits(u as u32)))),
            0xcb => scalar(self.uint(8).map(f64::from_bits)),
            0xa0..=0xbf => self.string(usize::from(tag & 0x1f)),
            0xd9..=0xdb => match self.uint(1 << (tag - 0xd9)) {
                Ok(n) => self.string(n as usize),
                Err(e) => Ok(Err(e)),
            },
            0x90..=0x9f => self.array(usize::from(tag & 0x0f), depth),
            0xdc | 0xdd => match self.uint(if tag == 0xdc { 2 } else { 4 }) {
                Ok(n) => self.array(n as usize, depth),
                Err(e) => Ok(Err(e)),
            },
            0x80..=0x8f => self.map(usize::from(tag & 0x0f), depth),
            0xde | 0xdf => match self.uint(if tag == 0xde { 2 } else { 4 }) {
                Ok(n) => self.map(n as usize, depth),
                Err(e) => Ok(Err(e)),
            },
            _ => Ok(Err(BAD)),
        }
    }

    fn string(&mut self, n: usize) -> Decoded {
        match self.take(n) {
            Ok(bytes) => {
                let bytes = bytes.to_vec();
                Ok(Ok(Value::String(self.lua.create_string(&bytes)?)))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    fn array(&mut self, n: usize, depth: usize) -> Decoded {
        let t = self.lua.create_table()?;
        for i in 1..=n {
            match self.value(depth + 1)? {
                Ok(v) => t.raw_set(i, v)?,
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Ok(Value::Table(t)))
    }

    fn map(&mut self, n: usize, depth: usize) -> Decoded {
        let t = self.lua.create_table()?;
        for _ in 0..n {
            let k = match self.value(depth + 1)? {
                Ok(k) => k,
                Err(e) => return Ok(Err(e)),
            };
            let v = match self.value(depth + 1)? {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            };
            // A nil (or NaN) key cannot index a Lua table: the pair is dropped.
            let usable = match &k {
                Value::Nil => false,
                Value::Number(x) => !x.is_nan(),
                _ => true,
            };
            if usable {
                t.raw_set(k, v)?;
            }
        }
        Ok(Ok(Value::Table(t)))
    }
}
