//! INCRBYFLOAT's arithmetic, exactly as Redis 7.0 does it on x86-64 Linux.
//!
//! Redis parses both operands with glibc `strtold` into an x87 80-bit
//! `long double` (64-bit significand), adds them in that format, and stores
//! the sum printed with `"%.17Lf"`, trailing zeros and dot trimmed. Rust has
//! no `long double`, so this module emulates the format in software with
//! exact big-integer arithmetic and round-to-nearest-even at each of those
//! three steps: results match Redis byte for byte, including cases such as
//! `1000 + 0.1 = 1000.09999999999999998` and values beyond `f64`'s range
//! (`1e308 + 1e308`). Not emulated: Redis builds where `long double` has
//! another format (128-bit on aarch64, 64-bit on some targets), whose last
//! digits differ from x86-64's.

use std::cmp::Ordering;

/// Redis's `MAX_LONG_DOUBLE_CHARS`: longer strings are not valid floats.
pub const MAX_CHARS: usize = 5 * 1024;
const SIGNIFICAND_BITS: i64 = 64;
/// Exponent of the smallest subnormal, 2^-16445.
const MIN_EXPONENT: i64 = -16445;
/// Exponent of the largest value, LDBL_MAX = (2^64 - 1) × 2^16320.
const MAX_EXPONENT: i64 = 16320;
/// Decimal and binary exponents saturate here while being read: far
/// beyond any that could still produce a finite, non-zero value.
const EXPONENT_CAP: i64 = 1_000_000;

/// A finite `long double`: ±significand × 2^exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongDouble {
    negative: bool,
    significand: u64,
    exponent: i64,
}

/// A parsed operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    Finite(LongDouble),
    /// `inf` or `infinity`, either sign: any sum with it is refused.
    Infinite,
}

/// Why INCRBYFLOAT refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrError {
    /// "ERR value is not a valid float"
    NotFloat,
    /// "ERR increment would produce NaN or Infinity"
    NanOrInfinity,
}

/// `current` (None for a missing key, which counts as 0) plus
/// `increment`, as the string Redis stores and replies.
pub fn incr_by(current: Option<&[u8]>, increment: &[u8]) -> Result<String, IncrError> {
    let current = match current {
        None => Parsed::Finite(LongDouble::ZERO),
        Some(text) => parse(text).ok_or(IncrError::NotFloat)?,
    };
    let increment = parse(increment).ok_or(IncrError::NotFloat)?;
    match (current, increment) {
        (Parsed::Finite(a), Parsed::Finite(b)) => {
            add(a, b).map(format_human).ok_or(IncrError::NanOrInfinity)
        }
        _ => Err(IncrError::NanOrInfinity),
    }
}

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble {
        negative: false,
        significand: 0,
        exponent: 0,
    };

    fn zero(negative: bool) -> LongDouble {
        LongDouble {
            negative,
            ..LongDouble::ZERO
        }
    }
}

/// Parses as Redis's `string2ld`: `strtold` must consume the whole
/// string; a leading space, NaN, overflow, underflow to zero, and
/// strings of [`MAX_CHARS`] bytes or more are refused.
pub fn parse(text: &[u8]) -> Option<Parsed> {
    if text.is_empty() || text.len() >= MAX_CHARS || is_c_space(text[0]) {
        return None;
    }
    let (negative, body) = match text[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(Parsed::Infinite);
    }
    let rounded = match body {
        [b'0', x, hex @ ..] if x.eq_ignore_ascii_case(&b'x') => parse_hex(negative, hex)?,
        _ => parse_decimal(negative, body)?,
    };
    match rounded {
        Rounded::Finite(v) => Some(Parsed::Finite(v)),
        Rounded::Underflow | Rounded::Overflow => None,
    }
}

/// The sum, rounded to nearest even; None when it overflows to infinity.
pub fn add(a: LongDouble, b: LongDouble) -> Option<LongDouble> {
    if a.significand == 0 {
        return Some(b);
    }
    if b.significand == 0 {
        return Some(a);
    }
    let base = a.exponent.min(b.exponent);
    let x = Big::from_u128(a.significand.into()).shl((a.exponent - base) as u64);
    let y = Big::from_u128(b.significand.into()).shl((b.exponent - base) as u64);
    let (negative, magnitude) = if a.negative == b.negative {
        (a.negative, x.add(&y))
    } else {
        match x.cmp(&y) {
            Ordering::Greater => (a.negative, x.sub(&y)),
            Ordering::Less => (b.negative, y.sub(&x)),
            Ordering::Equal => return Some(LongDouble::ZERO),
        }
    };
    match round(negative, &magnitude, base, false) {
        Rounded::Finite(v) => Some(v),
        Rounded::Underflow => Some(LongDouble::zero(negative)),
        Rounded::Overflow => None,
    }
}

/// `printf("%.17Lf")` with trailing zeros and a trailing dot removed,
/// and `-0` printed as `0` (Redis's `ld2string` in human mode).
pub fn format_human(v: LongDouble) -> String {
    let fixed = if v.exponent >= 0 {
        Big::from_u128(v.significand.into())
            .shl(v.exponent as u64)
            .to_decimal()
    } else {
        fixed_17(v.significand, v.exponent.unsigned_abs())
    };
    let trimmed = match fixed.contains('.') {
        true => fixed.trim_end_matches('0').trim_end_matches('.'),
        false => fixed.as_str(),
    };
    if v.negative && trimmed != "0" {
        format!("-{trimmed}")
    } else {
        trimmed.to_string()
    }
}

/// significand / 2^shift with exactly 17 decimals, rounded to nearest even.
fn fixed_17(significand: u64, shift: u64) -> String {
    const SCALE: u128 = 100_000_000_000_000_000;
    // Below 2^121, so past a 127-bit shift the value rounds to zero.
    let scaled = u128::from(significand) * SCALE;
    let units = if shift >= 128 {
        0
    } else {
        let shift = shift as u32;
        let quotient = scaled >> shift;
        let remainder = scaled & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        let up = remainder > half || (remainder == half && quotient & 1 == 1);
        quotient + u128::from(up)
    };
    format!("{}.{:017}", units / SCALE, units % SCALE)
}

enum Rounded {
    Finite(LongDouble),
    /// A non-zero value that rounds to zero (strtold's ERANGE).
    Underflow,
    Overflow,
}

/// Rounds ±(magnitude + a fraction below it, non-zero when `sticky`)
/// × 2^exponent to a `long double`, to nearest even, subnormals included.
fn round(negative: bool, magnitude: &Big, exponent: i64, sticky: bool) -> Rounded {
    let len = magnitude.bit_len() as i64;
    if len == 0 {
        return Rounded::Finite(LongDouble::zero(negative));
    }
    let target = (exponent + len - SIGNIFICAND_BITS).max(MIN_EXPONENT);
    let shift = target - exponent;
    let (mut significand, half, below) = if shift <= 0 {
        // The magnitude fits in 64 bits with room to shift left.
        (magnitude.bits_u64(0) << shift.unsigned_abs(), false, sticky)
    } else {
        let shift = shift as u64;
        (
            magnitude.bits_u64(shift),
            magnitude.bit(shift - 1),
            sticky || magnitude.any_bit_below(shift - 1),
        )
    };
    let mut exponent = target;
    if half && (below || significand & 1 == 1) {
        significand = significand.wrapping_add(1);
        if significand == 0 {
            significand = 1 << 63;
            exponent += 1;
        }
    }
    if significand == 0 {
        Rounded::Underflow
    } else if exponent > MAX_EXPONENT {
        Rounded::Overflow
    } else {
        Rounded::Finite(LongDouble {
            negative,
            significand,
            exponent,
        })
    }
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// `digits[.digits][e[±]digits]`, at least one mantissa digit.
fn parse_decimal(negative: bool, body: &[u8]) -> Option<Rounded> {
    let (int, frac, rest) = split_mantissa(body, u8::is_ascii_digit);
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let exp10 = parse_exponent(rest, b'e')?.saturating_sub(frac.len() as i64);
    let mut digits = Big::default();
    for &d in int.iter().chain(frac) {
        digits.mul_add_small(10, u32::from(d - b'0'));
    }
    if digits.is_zero() {
        return Some(Rounded::Finite(LongDouble::zero(negative)));
    }
    Some(round_decimal(negative, &digits, exp10))
}

/// Rounds ±digits × 10^exp10 (digits non-zero, under MAX_CHARS of them).
fn round_decimal(negative: bool, digits: &Big, exp10: i64) -> Rounded {
    // digits ≥ 1 overflows past 10^4933; digits < 10^5120 underflows
    // below 10^-14880 (the smallest subnormal is about 3.6e-4951).
    if exp10 > 10_000 {
        return Rounded::Overflow;
    }
    if exp10 < -20_000 {
        return Rounded::Underflow;
    }
    if exp10 >= 0 {
        let mut value = digits.clone();
        value.mul_pow10(exp10 as u64);
        return round(negative, &value, 0, false);
    }
    let mut divisor = Big::from_u128(1);
    divisor.mul_pow10(exp10.unsigned_abs());
    // Scale so that the quotient has 66 or 67 bits: 64 for the
    // significand, one to round with, one spare; the remainder is sticky.
    let k = 66 + divisor.bit_len() as i64 - digits.bit_len() as i64;
    let (numerator, denominator) = if k >= 0 {
        (digits.shl(k as u64), divisor)
    } else {
        (digits.clone(), divisor.shl(k.unsigned_abs()))
    };
    let (quotient, remainder) = divide_small_quotient(&numerator, &denominator);
    round(negative, &Big::from_u128(quotient), -k, remainder)
}

/// `0x` already consumed: `hex[.hex][p[±]digits]`, at least one hex digit.
fn parse_hex(negative: bool, body: &[u8]) -> Option<Rounded> {
    let (int, frac, rest) = split_mantissa(body, u8::is_ascii_hexdigit);
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let exp2 = parse_exponent(rest, b'p')?.saturating_sub(4 * frac.len() as i64);
    let mut value = Big::default();
    for &d in int.iter().chain(frac) {
        let nibble = (d as char).to_digit(16).expect("a hex digit");
        value.mul_add_small(16, nibble);
    }
    // Under 2^20480 with MAX_CHARS digits: past ±100000 the outcome
    // (overflow or underflow) is the same as at the bound.
    Some(round(
        negative,
        &value,
        exp2.clamp(-100_000, 100_000),
        false,
    ))
}

/// Splits `int[.frac]` off the front of `s`: (int, frac, rest).
fn split_mantissa(s: &[u8], is_digit: fn(&u8) -> bool) -> (&[u8], &[u8], &[u8]) {
    let int_len = s.iter().take_while(|c| is_digit(c)).count();
    let (int, rest) = s.split_at(int_len);
    match rest.split_first() {
        Some((b'.', after)) => {
            let frac_len = after.iter().take_while(|c| is_digit(c)).count();
            let (frac, rest) = after.split_at(frac_len);
            (int, frac, rest)
        }
        _ => (int, &[], rest),
    }
}

/// An exponent suffix (`e-12`, `p+3`) that must end the string: 0 when
/// absent, None when malformed. Saturates at ±EXPONENT_CAP.
fn parse_exponent(rest: &[u8], marker: u8) -> Option<i64> {
    let Some((first, tail)) = rest.split_first() else {
        return Some(0);
    };
    if !first.eq_ignore_ascii_case(&marker) {
        return None;
    }
    let (negative, digits) = match tail.split_first() {
        Some((b'-', d)) => (true, d),
        Some((b'+', d)) => (false, d),
        _ => (false, tail),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |acc, &d| {
        (acc * 10 + i64::from(d - b'0')).min(EXPONENT_CAP)
    });
    Some(if negative { -magnitude } else { magnitude })
}

/// `a / b` for a quotient known to be under 2^68, and whether a
/// remainder is left (shift-and-subtract long division).
fn divide_small_quotient(a: &Big, b: &Big) -> (u128, bool) {
    let mut remainder = a.clone();
    let mut quotient = 0u128;
    let top = a.bit_len().saturating_sub(b.bit_len());
    for shift in (0..=top).rev() {
        let part = b.shl(shift);
        if remainder.cmp(&part) != Ordering::Less {
            remainder = remainder.sub(&part);
            quotient |= 1 << shift;
        }
    }
    (quotient, !remainder.is_zero())
}

/// An unsigned big integer: little-endian 32-bit limbs, no zero limb on top.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Big {
    limbs: Vec<u32>,
}

impl Big {
    fn from_u128(mut v: u128) -> Big {
        let mut limbs = Vec::new();
        while v != 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        Big { limbs }
    }

    fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    fn bit_len(&self) -> u64 {
        match self.limbs.last() {
            None => 0,
            Some(top) => (self.limbs.len() as u64 - 1) * 32 + u64::from(32 - top.leading_zeros()),
        }
    }

    fn bit(&self, i: u64) -> bool {
        let limb = (i / 32) as usize;
        limb < self.limbs.len() && (self.limbs[limb] >> (i % 32)) & 1 == 1
    }

    fn any_bit_below(&self, i: u64) -> bool {
        let whole = ((i / 32) as usize).min(self.limbs.len());
        let partial = whole < self.limbs.len() && self.limbs[whole] & ((1u32 << (i % 32)) - 1) != 0;
        partial || self.limbs[..whole].iter().any(|&l| l != 0)
    }

    /// The 64 bits starting at bit `start`.
    fn bits_u64(&self, start: u64) -> u64 {
        (0..64)
            .filter(|&k| self.bit(start + k))
            .fold(0, |acc, k| acc | 1 << k)
    }

    fn mul_add_small(&mut self, mul: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.limbs {
            let v = u64::from(*limb) * u64::from(mul) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut n: u64) {
        while n >= 9 {
            self.mul_add_small(1_000_000_000, 0);
            n -= 9;
        }
        self.mul_add_small(10u32.pow(n as u32), 0);
    }

    fn shl(&self, n: u64) -> Big {
        if self.is_zero() {
            return Big::default();
        }
        let bits = (n % 32) as u32;
        let mut limbs = vec![0u32; (n / 32) as usize];
        if bits == 0 {
            limbs.extend_from_slice(&self.limbs);
        } else {
            let mut carry = 0u32;
            for &l in &self.limbs {
                limbs.push((l << bits) | carry);
                carry = l >> (32 - bits);
            }
            limbs.push(carry);
        }
        let mut out = Big { limbs };
        out.trim();
        out
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }

    fn add(&self, other: &Big) -> Big {
        let (long, short) = match self.limbs.len() >= other.limbs.len() {
            true => (self, other),
            false => (other, self),
        };
        let mut limbs = Vec::with_capacity(long.limbs.len() + 1);
        let mut carry = 0u64;
        for (i, &l) in long.limbs.iter().enumerate() {
            let v = u64::from(l) + u64::from(*short.limbs.get(i).unwrap_or(&0)) + carry;
            limbs.push(v as u32);
            carry = v >> 32;
        }
        limbs.push(carry as u32);
        let mut out = Big { limbs };
        out.trim();
        out
    }

    /// self - other, for self ≥ other.
    fn sub(&self, other: &Big) -> Big {
        let mut limbs = Vec::with_capacity(self.limbs.len());
        let mut borrow = 0i64;
        for (i, &l) in self.limbs.iter().enumerate() {
            let mut v = i64::from(l) - i64::from(*other.limbs.get(i).unwrap_or(&0)) - borrow;
            borrow = i64::from(v < 0);
            if v < 0 {
                v += 1 << 32;
            }
            limbs.push(v as u32);
        }
        let mut out = Big { limbs };
        out.trim();
        out
    }

    fn div_rem_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.limbs.iter_mut().rev() {
            let cur = (rem << 32) | u64::from(*limb);
            *limb = (cur / u64::from(d)) as u32;
            rem = cur % u64::from(d);
        }
        self.trim();
        rem as u32
    }

    fn to_decimal(&self) -> String {
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_rem_small(1_000_000_000));
        }
        let mut out = chunks.pop().unwrap_or(0).to_string();
        for chunk in chunks.iter().rev() {
            out.push_str(&format!("{chunk:09}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{incr_by, parse, IncrError, Parsed};

    fn incr(current: &str, increment: &str) -> Result<String, IncrError> {
        incr_by(Some(current.as_bytes()), increment.as_bytes())
    }

    /// Replies of a real Redis 7.0.15 on x86-64 Linux.
    #[test]
    fn sums_print_as_redis_long_double() {
        for (current, increment, want) in [
            ("0.1", "0.2", "0.3"),
            ("1000", "0.1", "1000.09999999999999998"),
            ("10.5", "0.1", "10.6"),
            ("0", "1e20", "100000000000000000000"),
            ("100000000000000000000", "5.0e3", "100000000000000005000"),
            ("0", "3.0e-3", "0.003"),
            ("0", "-0.0", "0"),
            ("0", "1.23456789012345678901234", "1.23456789012345679"),
            ("0", "0x1p-3", "0.125"),
            ("0", "1e-18", "0"),
            ("0", ".5", "0.5"),
            ("0", "5.", "5"),
            ("0", "+.5e1", "5"),
            ("0", "0X1A", "26"),
            ("0", "00012", "12"),
            ("-3.14159e-26", "1527169275425311224", "1527169275425311224"),
            ("-0.0445", "-1E-27", "-0.0445"),
            (
                "6766730261175167285",
                "9.999999999999999999E5",
                "6766730261176167285",
            ),
            (
                "-5757763313810287289",
                "713669474309506484.786579",
                "-5044093839500780804",
            ),
            ("0.00000000024127885", "-0x9fap34", "-43877385895936"),
            ("16", "1e-4940", "16"),
            ("0", "0x1.8p-16446", "0"),
        ] {
            assert_eq!(
                incr(current, increment).as_deref(),
                Ok(want),
                "{current} + {increment}"
            );
        }
    }

    #[test]
    fn beyond_double_range_like_long_double() {
        let sum = incr("1e308", "1e308").expect("finite in long double");
        assert!(sum.starts_with("199999999999999999993371759311691291321120199694831134415594095989843469737676123744200253843777078640893494450108026446304269499187921167194841628860392837535918200039206381557326219209014213335878306791577877829121087126122536729803237260434173178506889763247582601711514636284849020905456510092687857156096"));
        assert_eq!(sum.len(), 309);
        let big = incr("0", "1e4932").expect("below LDBL_MAX");
        assert!(big.starts_with(
            "10000000000000000000060189493879638913238377742545331147737850413525330194866087"
        ));
        assert_eq!(big.len(), 4933);
        let max = incr("0", "0x1p16383").expect("a power of two in range");
        assert!(max.starts_with(
            "59486574767861588254287966331400356538172234354825511873633741061663067909024184"
        ));
    }

    #[test]
    fn invalid_and_infinite_operands() {
        use IncrError::*;
        for bad in [
            "0x",
            "0x1p",
            "1e",
            "1e+",
            ".",
            "infinit",
            "nan",
            "-nan",
            " 1",
            "1 ",
            "1_0",
            "1e-99999999999999999999",
            "1.2e4932",
            "0x1p16384",
            "0x1p-16446",
            "1e-5000",
            "",
        ] {
            assert_eq!(incr("0", bad), Err(NotFloat), "increment {bad:?}");
            assert_eq!(incr(bad, "1"), Err(NotFloat), "current {bad:?}");
        }
        for inf in ["inf", "INF", "-Infinity", "+inf"] {
            assert_eq!(incr("0", inf), Err(NanOrInfinity), "{inf}");
        }
        assert_eq!(incr("1e4932", "1e4932"), Err(NanOrInfinity));
        assert_eq!(incr_by(None, b"2.5").as_deref(), Ok("2.5"));
        assert_eq!(incr("0", "0e999999999999999999999").as_deref(), Ok("0"));
    }

    #[test]
    fn length_limit_is_redis_max_long_double_chars() {
        let long = format!("1.{}", "0".repeat(5117));
        assert_eq!(long.len(), 5119);
        assert!(matches!(parse(long.as_bytes()), Some(Parsed::Finite(_))));
        let too_long = format!("{long}0");
        assert_eq!(parse(too_long.as_bytes()), None);
    }
}
