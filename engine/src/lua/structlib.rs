//! The `struct` library (Roberto Ierusalimschy's `struct`, as Redis
//! embeds it): `pack(fmt, ...)`, `unpack(fmt, data [, pos])`, `size(fmt)`.
//!
//! Format options: `>` big endian, `<` little endian, `=` native (little),
//! `![n]` maximum alignment (default 1: no padding; `!` alone: 8),
//! `x` a zero byte, `b`/`B` char, `h`/`H` short (2), `l`/`L` long (8),
//! `T` size_t (8), `i`/`I[n]` integer of n bytes (default 4, at most 32),
//! `f` float, `d` double, `s` zero-terminated string, `c[n]` n chars
//! (`c0`: the whole string when packing, a length taken from the previous
//! value when unpacking), spaces ignored. Lower case is signed.

use super::args;
use super::raise;
use mlua::{Lua, MultiValue, Result, Table, Value};

const MAX_INT_SIZE: usize = 32;
const MAX_ALIGN: usize = 8;

pub fn library(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(pack)?)?;
    t.raw_set("unpack", lua.create_function(unpack)?)?;
    t.raw_set("size", lua.create_function(size)?)?;
    Ok(t)
}

/// The format's running state: byte order and maximum alignment.
struct Header {
    little: bool,
    align: usize,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            little: true,
            align: 1,
        }
    }
}

/// Reads the format one option at a time.
struct Format<'f> {
    bytes: &'f [u8],
    pos: usize,
}

impl Format<'_> {
    fn next_option(&mut self) -> Option<u8> {
        let opt = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(opt)
    }

    /// The digits after an option, or `default` when there are none.
    fn number(&mut self, default: usize) -> std::result::Result<usize, String> {
        let start = self.pos;
        let mut n: usize = 0;
        while let Some(d) = self.bytes.get(self.pos).filter(|c| c.is_ascii_digit()) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(d - b'0')))
                .filter(|&n| n <= i32::MAX as usize)
                .ok_or("integral size overflow")?;
            self.pos += 1;
        }
        Ok(if self.pos == start { default } else { n })
    }

    /// The size of option `opt` (0 for options without one).
    fn size_of(&mut self, opt: u8) -> std::result::Result<usize, String> {
        Ok(match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let size = self.number(4)?;
                if size > MAX_INT_SIZE {
                    return Err(format!(
                        "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                    ));
                }
                size
            }
            _ => 0,
        })
    }
}

/// Padding before an item of `size` at offset `len`.
fn padding(len: usize, header: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let align = size.min(header.align);
    (align - (len & (align - 1))) & (align - 1)
}

/// Applies a control option (`>`, `<`, `=`, `!`, space); any other
/// character is an invalid option.
fn control(
    fmt: &mut Format,
    opt: u8,
    header: &mut Header,
    fname: &str,
) -> std::result::Result<(), String> {
    match opt {
        b' ' => {}
        b'>' => header.little = false,
        b'<' | b'=' => header.little = true,
        b'!' => {
            let a = fmt.number(MAX_ALIGN)?;
            if !a.is_power_of_two() {
                return Err(format!("alignment {a} is not a power of 2"));
            }
            header.align = a;
        }
        other => {
            let msg = format!("invalid format option '{}'", char::from(other));
            return Err(args::bad_argument(1, fname, &msg));
        }
    }
    Ok(())
}

fn pack(lua: &Lua, args: MultiValue) -> Result<mlua::String> {
    let fail = |e: String| raise::message(lua, e);
    let fmt_bytes = args::check_bytes(&args, 1, "pack").map_err(fail)?;
    let mut fmt = Format {
        bytes: &fmt_bytes,
        pos: 0,
    };
    let mut header = Header::default();
    let mut out = Vec::new();
    let mut arg = 2;
    while let Some(opt) = fmt.next_option() {
        let size = fmt.size_of(opt).map_err(fail)?;
        let pad = padding(out.len(), &header, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = pack_number(&args, arg, "pack").map_err(fail)?;
                arg += 1;
                put_integer(&mut out, n, header.little, size);
            }
            b'x' => out.push(0),
            b'f' => {
                let n = pack_number(&args, arg, "pack").map_err(fail)? as f32;
                arg += 1;
                put_bytes(&mut out, n.to_le_bytes().to_vec(), header.little);
            }
            b'd' => {
                let n = pack_number(&args, arg, "pack").map_err(fail)?;
                arg += 1;
                put_bytes(&mut out, n.to_le_bytes().to_vec(), header.little);
            }
            b'c' | b's' => {
                let s = pack_string(&args, arg).map_err(fail)?;
                arg += 1;
                let take = if size == 0 { s.len() } else { size };
                if s.len() < take {
                    // Reported against the argument after the string, as the original does.
                    return Err(fail(args::bad_argument(arg, "pack", "string too short")));
                }
                out.extend_from_slice(&s[..take]);
                if opt == b's' {
                    out.push(0);
                }
            }
            other => control(&mut fmt, other, &mut header, "pack").map_err(fail)?,
        }
    }
    lua.create_string(&out)
}

/// A number argument of `pack`; a missing one reads as `nil`.
fn pack_number(args: &MultiValue, i: usize, fname: &str) -> std::result::Result<f64, String> {
    match args::arg(args, i) {
        None => Err(args::bad_argument(i, fname, "number expected, got nil")),
        Some(_) => args::check_number(args, i, fname),
    }
}

fn pack_string(args: &MultiValue, i: usize) -> std::result::Result<Vec<u8>, String> {
    match args::arg(args, i) {
        None => Err(args::bad_argument(i, "pack", "string expected, got nil")),
        Some(_) => args::check_bytes(args, i, "pack"),
    }
}

/// `size` bytes of the integer value of `n` (negative numbers in two's
/// complement; bytes past the eighth are zero).
fn put_integer(out: &mut Vec<u8>, n: f64, little: bool, size: usize) {
    let value: u64 = if n < 0.0 {
        super::convert::truncate(n) as u64
    } else if n >= 18_446_744_073_709_551_616.0 || n.is_nan() {
        0
    } else {
        n as u64
    };
    let bytes: Vec<u8> = (0..size)
        .map(|i| if i < 8 { (value >> (8 * i)) as u8 } else { 0 })
        .collect();
    put_bytes(out, bytes, little);
}

/// Appends little-endian `bytes` in the wanted order.
fn put_bytes(out: &mut Vec<u8>, mut bytes: Vec<u8>, little: bool) {
    if !little {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

fn unpack(lua: &Lua, args: MultiValue) -> Result<MultiValue> {
    let fail = |e: String| raise::message(lua, e);
    let fmt_bytes = args::check_bytes(&args, 1, "unpack").map_err(fail)?;
    let data = args::check_bytes(&args, 2, "unpack").map_err(fail)?;
    let start = args::opt_number(&args, 3, "unpack", 1.0).map_err(fail)?;
    let start = super::convert::truncate(start);
    if start < 1 {
        return Err(fail(args::bad_argument(
            3,
            "unpack",
            "offset must be 1 or greater",
        )));
    }
    let mut pos = usize::try_from(start - 1).unwrap_or(usize::MAX);
    let mut fmt = Format {
        bytes: &fmt_bytes,
        pos: 0,
    };
    let mut header = Header::default();
    let mut out: Vec<Value> = Vec::new();
    let too_short = || fail(args::bad_argument(2, "unpack", "data string too short"));
    while let Some(opt) = fmt.next_option() {
        let mut size = fmt.size_of(opt).map_err(fail)?;
        pos = pos.saturating_add(padding(pos, &header, opt, size));
        if pos.saturating_add(size) > data.len() {
            return Err(too_short());
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let signed = opt.is_ascii_lowercase();
                out.push(Value::Number(get_integer(
                    &data[pos..pos + size],
                    header.little,
                    signed,
                )));
            }
            b'x' => {}
            b'f' => {
                let b = ordered::<4>(&data[pos..pos + 4], header.little);
                out.push(Value::Number(f64::from(f32::from_le_bytes(b))));
            }
            b'd' => {
                let b = ordered::<8>(&data[pos..pos + 8], header.little);
                out.push(Value::Number(f64::from_le_bytes(b)));
            }
            b'c' => {
                if size == 0 {
                    size = previous_size(&mut out)
                        .ok_or_else(|| fail("format 'c0' needs a previous size".into()))?;
                    if pos.saturating_add(size) > data.len() {
                        return Err(too_short());
                    }
                }
                out.push(Value::String(lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(len) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err(fail("unfinished string in data".into()));
                };
                out.push(Value::String(lua.create_string(&data[pos..pos + len])?));
                size = len + 1;
            }
            other => control(&mut fmt, other, &mut header, "unpack").map_err(fail)?,
        }
        pos = pos.saturating_add(size);
    }
    out.push(Value::Number(pos as f64 + 1.0));
    Ok(MultiValue::from_iter(out))
}

/// For `c0`: the previous value (a number) is the length, and is dropped.
fn previous_size(out: &mut Vec<Value>) -> Option<usize> {
    let n = out.last().and_then(args::to_number)?;
    out.pop();
    Some(if n > 0.0 { n as usize } else { 0 })
}

/// `N` bytes in little-endian order.
fn ordered<const N: usize>(bytes: &[u8], little: bool) -> [u8; N] {
    let mut b = [0u8; N];
    b.copy_from_slice(&bytes[..N]);
    if !little {
        b.reverse();
    }
    b
}

/// An integer of `bytes.len()` bytes (only the low 8 count), sign-extended
/// when `signed`.
fn get_integer(bytes: &[u8], little: bool, signed: bool) -> f64 {
    let mut value: u64 = 0;
    let ordered: Vec<u8> = if little {
        bytes.iter().rev().copied().collect()
    } else {
        bytes.to_vec()
    };
    for b in ordered {
        value = (value << 8) | u64::from(b);
    }
    let size = bytes.len();
    if signed {
        if size < 8 && size > 0 {
            let shift = 64 - 8 * size as u32;
            return (((value << shift) as i64) >> shift) as f64;
        }
        return value as i64 as f64;
    }
    value as f64
}

fn size(lua: &Lua, args: MultiValue) -> Result<f64> {
    let fail = |e: String| raise::message(lua, e);
    let fmt_bytes = args::check_bytes(&args, 1, "size").map_err(fail)?;
    let mut fmt = Format {
        bytes: &fmt_bytes,
        pos: 0,
    };
    let mut header = Header::default();
    let mut pos: usize = 0;
    while let Some(opt) = fmt.next_option() {
        let size = fmt.size_of(opt).map_err(fail)?;
        pos = pos.saturating_add(padding(pos, &header, opt, size));
        if opt == b's' {
            return Err(fail(args::bad_argument(
                1,
                "size",
                "option 's' has no fixed size",
            )));
        }
        if opt == b'c' && size == 0 {
            return Err(fail(args::bad_argument(
                1,
                "size",
                "option 'c0' has no fixed size",
            )));
        }
        // Unknown letters count for nothing here (as in the original).
        if !opt.is_ascii_alphanumeric() {
            control(&mut fmt, opt, &mut header, "size").map_err(fail)?;
        }
        pos = pos.saturating_add(size);
    }
    Ok(pos as f64)
}
