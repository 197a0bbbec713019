//! The `bit` library (LuaBitOp's API): bitwise operations on 32-bit
//! integers. Arguments are normalised to signed 32-bit the way LuaBitOp
//! specifies: 2^52 + 2^51 is added to the number, which rounds it to an
//! integer (ties to even) in the low bits of the double, and those low 32
//! bits are the result (so huge values and NaN give what LuaBitOp gives).
//! Results are signed 32-bit numbers. Shift and rotate counts use their
//! low 5 bits.

use super::args;
use super::raise;
use mlua::{Lua, MultiValue, Result, Table, Value};

type Native = fn(&Lua, MultiValue) -> Result<Value>;

pub fn library(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    let funcs: &[(&str, Native)] = &[
        ("tobit", tobit),
        ("tohex", tohex),
        ("bnot", bnot),
        ("band", band),
        ("bor", bor),
        ("bxor", bxor),
        ("lshift", lshift),
        ("rshift", rshift),
        ("arshift", arshift),
        ("rol", rol),
        ("ror", ror),
        ("bswap", bswap),
    ];
    for (name, f) in funcs {
        t.raw_set(*name, lua.create_function(*f)?)?;
    }
    Ok(t)
}

/// A number normalised to 32 bits.
pub fn normalize(x: f64) -> i32 {
    const ROUNDING_BIAS: f64 = 6_755_399_441_055_744.0; // 2^52 + 2^51
    (x + ROUNDING_BIAS).to_bits() as u32 as i32
}

fn arg32(lua: &Lua, args: &MultiValue, i: usize, fname: &str) -> Result<i32> {
    args::check_number(args, i, fname)
        .map(normalize)
        .map_err(|e| raise::message(lua, e))
}

fn number(x: i32) -> Result<Value> {
    Ok(Value::Number(f64::from(x)))
}

fn unary(lua: &Lua, args: &MultiValue, fname: &str, op: fn(i32) -> i32) -> Result<Value> {
    number(op(arg32(lua, args, 1, fname)?))
}

/// `x, n`: a value and a shift or rotate count (its low 5 bits).
fn shift(lua: &Lua, args: &MultiValue, fname: &str, op: fn(i32, u32) -> i32) -> Result<Value> {
    let x = arg32(lua, args, 1, fname)?;
    let n = arg32(lua, args, 2, fname)?;
    number(op(x, (n & 31) as u32))
}

/// Folds all arguments (at least one) with `op`.
fn fold(lua: &Lua, args: &MultiValue, fname: &str, op: fn(i32, i32) -> i32) -> Result<Value> {
    let mut acc = arg32(lua, args, 1, fname)?;
    for i in 2..=args.len() {
        acc = op(acc, arg32(lua, args, i, fname)?);
    }
    number(acc)
}

fn tobit(lua: &Lua, args: MultiValue) -> Result<Value> {
    unary(lua, &args, "tobit", |x| x)
}

fn bnot(lua: &Lua, args: MultiValue) -> Result<Value> {
    unary(lua, &args, "bnot", |x| !x)
}

fn bswap(lua: &Lua, args: MultiValue) -> Result<Value> {
    unary(lua, &args, "bswap", i32::swap_bytes)
}

fn band(lua: &Lua, args: MultiValue) -> Result<Value> {
    fold(lua, &args, "band", |a, b| a & b)
}

fn bor(lua: &Lua, args: MultiValue) -> Result<Value> {
    fold(lua, &args, "bor", |a, b| a | b)
}

fn bxor(lua: &Lua, args: MultiValue) -> Result<Value> {
    fold(lua, &args, "bxor", |a, b| a ^ b)
}

fn lshift(lua: &Lua, args: MultiValue) -> Result<Value> {
    shift(lua, &args, "lshift", |x, n| ((x as u32) << n) as i32)
}

fn rshift(lua: &Lua, args: MultiValue) -> Result<Value> {
    shift(lua, &args, "rshift", |x, n| ((x as u32) >> n) as i32)
}

fn arshift(lua: &Lua, args: MultiValue) -> Result<Value> {
    shift(lua, &args, "arshift", |x, n| x >> n)
}

fn rol(lua: &Lua, args: MultiValue) -> Result<Value> {
    shift(lua, &args, "rol", |x, n| (x as u32).rotate_left(n) as i32)
}

fn ror(lua: &Lua, args: MultiValue) -> Result<Value> {
    shift(lua, &args, "ror", |x, n| (x as u32).rotate_right(n) as i32)
}

/// `tohex(x [, n])`: the low `|n|` hex digits of `x` (8 by default),
/// upper-case when `n` is negative.
fn tohex(lua: &Lua, args: MultiValue) -> Result<Value> {
    let x = arg32(lua, &args, 1, "tohex")? as u32;
    let n = match args::arg(&args, 2) {
        None | Some(Value::Nil) => 8,
        Some(_) => arg32(lua, &args, 2, "tohex")?,
    };
    let upper = n < 0;
    let digits = n.unsigned_abs().min(8) as usize;
    let full = if upper {
        format!("{x:08X}")
    } else {
        format!("{x:08x}")
    };
    Ok(Value::String(lua.create_string(&full[8 - digits..])?))
}
