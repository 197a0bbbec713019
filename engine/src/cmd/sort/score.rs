//! The number SORT sorts a value by, read as Redis 7.0 reads it: C's
//! `strtod` over the value as a C string, accepted only when it consumes
//! everything up to the string's end and reports no range error.
//!
//! That differs from the strict double parsing of other commands
//! ([`crate::util::parse_f64`]): leading white space is skipped, hex floats
//! (`0x1.8p1`) are read, the empty string is 0, bytes from the first NUL
//! on are ignored, and a result that overflows or underflows (a subnormal
//! that is not exact, glibc's ERANGE) is refused. NaN is refused.

/// The value of `text` as SORT's numeric sort reads it, or None when Redis
/// replies "One or more scores can't be converted into double".
pub fn sort_score(text: &[u8]) -> Option<f64> {
    let text = c_string(text);
    let body = skip_c_spaces(text);
    if body.is_empty() {
        // No conversion: strtod leaves the end pointer at the start, which
        // is only the end of the string for the empty string.
        return text.is_empty().then_some(0.0);
    }
    let (negative, unsigned) = match body[0] {
        b'-' => (true, &body[1..]),
        b'+' => (false, &body[1..]),
        _ => (false, body),
    };
    let magnitude = if let Some(digits) = strip_hex_prefix(unsigned) {
        hex_float(digits)?
    } else if let Some(inf) = infinity(unsigned) {
        inf
    } else {
        decimal_float(unsigned)?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// The bytes before the first NUL (what C string functions see).
pub fn c_string(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(end) => &bytes[..end],
        None => bytes,
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn skip_c_spaces(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|&b| !is_c_space(b))
        .unwrap_or(text.len());
    &text[start..]
}

/// `inf` or `infinity` in any case, and nothing after.
fn infinity(text: &[u8]) -> Option<f64> {
    let is = |word: &str| text.eq_ignore_ascii_case(word.as_bytes());
    (is("inf") || is("infinity")).then_some(f64::INFINITY)
}

/// The digits after `0x`/`0X`, when the text is a hex float.
fn strip_hex_prefix(text: &[u8]) -> Option<&[u8]> {
    match text {
        [b'0', b'x' | b'X', rest @ ..] => Some(rest),
        _ => None,
    }
}

/// `digits [. digits] [e|E [+|-] digits]` with at least one mantissa digit,
/// and nothing after: the whole text must be the number.
fn decimal_float(text: &[u8]) -> Option<f64> {
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'e' || b == b'E') {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let (int_part, frac_part) = split_fraction(mantissa)?;
    let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part) {
        return None;
    }
    if let Some(exponent) = exponent {
        let digits = exponent
            .strip_prefix(b"+")
            .or_else(|| exponent.strip_prefix(b"-"));
        let digits = digits.unwrap_or(exponent);
        if digits.is_empty() || !all_digits(digits) {
            return None;
        }
    }
    // The text is plain ASCII now, in a form Rust's parser reads with the
    // same correct rounding as glibc.
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    let nonzero_digits = mantissa.iter().any(|&b| (b'1'..=b'9').contains(&b));
    let out_of_range = value.is_infinite()
        || (value == 0.0 && nonzero_digits)
        || (value != 0.0 && value.abs() < f64::MIN_POSITIVE);
    (!out_of_range).then_some(value)
}

/// The integer and fraction digits of a mantissa (at most one `.`).
fn split_fraction(mantissa: &[u8]) -> Option<(&[u8], &[u8])> {
    match mantissa.iter().position(|&b| b == b'.') {
        Some(dot) => {
            let frac = &mantissa[dot + 1..];
            (!frac.contains(&b'.')).then_some((&mantissa[..dot], frac))
        }
        None => Some((mantissa, &[][..])),
    }
}

/// A hex float after its `0x`: `hexdigits [. hexdigits] [p|P [+|-] digits]`,
/// rounded to nearest even. Refused as strtod's ERANGE when it overflows or
/// when it is a subnormal that is not exact.
fn hex_float(text: &[u8]) -> Option<f64> {
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'p' || b == b'P') {
        Some(at) => (&text[..at], Some(parse_exponent(&text[at + 1..])?)),
        None => (text, None),
    };
    let (int_part, frac_part) = split_fraction(mantissa)?;
    let all_hex = |s: &[u8]| s.iter().all(u8::is_ascii_hexdigit);
    if int_part.len() + frac_part.len() == 0 || !all_hex(int_part) || !all_hex(frac_part) {
        return None;
    }
    let digits = int_part.iter().chain(frac_part).map(|&b| hex_value(b));
    let mut bits = HexBits::default();
    digits.for_each(|d| bits.push(d));
    // The value is bits.value × 2^(exponent - 4 × fraction digits + dropped).
    let frac_bits = i64::try_from(frac_part.len()).ok()?.saturating_mul(4);
    let scale = exponent
        .unwrap_or(0)
        .saturating_sub(frac_bits)
        .saturating_add(bits.dropped_bits);
    round_binary(bits.value, bits.sticky, scale)
}

/// A decimal exponent: optional sign and at least one digit; huge ones
/// saturate (they overflow or underflow anyway).
fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |n, &d| {
        n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    });
    Some(if negative { -magnitude } else { magnitude })
}

fn hex_value(b: u8) -> u64 {
    match b {
        b'0'..=b'9' => u64::from(b - b'0'),
        b'a'..=b'f' => u64::from(b - b'a' + 10),
        _ => u64::from(b - b'A' + 10),
    }
}

/// The leading bits of a hex mantissa: as many digits as fit in 64 bits,
/// the bits of the later digits counted, and whether any of those was set.
#[derive(Default)]
struct HexBits {
    value: u64,
    dropped_bits: i64,
    sticky: bool,
}

impl HexBits {
    fn push(&mut self, digit: u64) {
        if self.value >> 60 == 0 {
            self.value = self.value << 4 | digit;
        } else {
            self.dropped_bits = self.dropped_bits.saturating_add(4);
            self.sticky |= digit != 0;
        }
    }
}

/// `(value + sticky fraction) × 2^scale` as a double, rounded to nearest
/// even; None on overflow and on an inexact subnormal (glibc's ERANGE).
fn round_binary(value: u64, sticky: bool, scale: i64) -> Option<f64> {
    if value == 0 {
        return Some(0.0);
    }
    const MANTISSA_BITS: i64 = 53;
    const MIN_EXPONENT: i64 = -1022;
    const MAX_EXPONENT: i64 = 1023;
    let width = i64::from(64 - value.leading_zeros());
    let top_exponent = scale.saturating_add(width - 1);
    // Normal numbers keep 53 bits; subnormals fewer, down to 2^-1074.
    let kept = if top_exponent >= MIN_EXPONENT {
        MANTISSA_BITS
    } else {
        MANTISSA_BITS - (MIN_EXPONENT - top_exponent)
    };
    let drop = (width - kept).max(0);
    let (mut rounded, inexact) = round_shift(value, drop, sticky);
    let mut unit_exponent = scale.saturating_add(drop);
    if rounded >> MANTISSA_BITS != 0 {
        rounded >>= 1;
        unit_exponent = unit_exponent.saturating_add(1);
    }
    let subnormal = top_exponent < MIN_EXPONENT;
    if (subnormal && inexact) || rounded == 0 {
        return None;
    }
    let top = unit_exponent.saturating_add(i64::from(63 - rounded.leading_zeros()));
    if top > MAX_EXPONENT {
        return None;
    }
    Some(rounded as f64 * pow2(unit_exponent))
}

/// `value >> drop` rounded to nearest even (`sticky`: set bits below the
/// value), and whether anything was lost.
fn round_shift(value: u64, drop: i64, sticky: bool) -> (u64, bool) {
    if drop == 0 {
        return (value, sticky);
    }
    if drop >= 64 {
        // Everything is below half of the last kept bit's unit, unless the
        // value's top bit lands exactly on the half (drop == 64 only).
        let half = drop == 64 && value >> 63 == 1;
        let above_half = half && (value << 1 != 0 || sticky);
        return (u64::from(above_half), true);
    }
    let kept = value >> drop;
    let rest = value & ((1u64 << drop) - 1);
    let half = 1u64 << (drop - 1);
    let round_up = rest > half || (rest == half && (sticky || kept & 1 == 1));
    (kept + u64::from(round_up), rest != 0 || sticky)
}

/// 2^e as a double, exact for the exponents a finite result can have
/// (scaled in two steps so that subnormal units stay exact).
fn pow2(e: i64) -> f64 {
    let half = e / 2;
    let one = |e: i64| f64::from_bits(((e + 1023) as u64) << 52);
    one(half.clamp(-1022, 1023)) * one((e - half).clamp(-1022, 1023))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_strtod_reads_over_the_whole_string() {
        let cases: &[(&str, Option<f64>)] = &[
            ("", Some(0.0)),
            ("1", Some(1.0)),
            (" 4", Some(4.0)),
            ("\t\n-2.5", Some(-2.5)),
            ("+.5", Some(0.5)),
            ("5.", Some(5.0)),
            ("-.5e-1", Some(-0.05)),
            ("1E2", Some(100.0)),
            ("0e-999", Some(0.0)),
            ("0.0000e-400", Some(0.0)),
            ("INF", Some(f64::INFINITY)),
            ("-Infinity", Some(f64::NEG_INFINITY)),
            ("0x10", Some(16.0)),
            ("0x.8", Some(0.5)),
            ("0x1.8p1", Some(3.0)),
            ("0X1P+1", Some(2.0)),
            ("0x1.fffffffffffffp1023", Some(f64::MAX)),
            ("0x1p-1022", Some(f64::MIN_POSITIVE)),
            ("0x1p-1074", Some(f64::from_bits(1))),
            ("4 ", None),
            ("   ", None),
            ("abc", None),
            ("1e", None),
            ("5e+", None),
            (".e1", None),
            (".", None),
            ("+", None),
            ("-", None),
            ("0x", None),
            ("0x1p", None),
            ("infinit", None),
            ("nan", None),
            ("nan(123)", None),
            ("1e400", None),
            ("1e-400", None),
            ("1e-310", None),
            ("0x1p1024", None),
            ("0x1.fffffffffffffp-1023", None),
            ("1..2", None),
            ("1_000", None),
        ];
        for (text, want) in cases {
            assert_eq!(sort_score(text.as_bytes()), *want, "{text:?}");
        }
    }

    #[test]
    fn stops_at_the_first_nul() {
        assert_eq!(sort_score(b"5\0abc"), Some(5.0));
        assert_eq!(sort_score(b"\0x"), Some(0.0));
        assert_eq!(sort_score(b" \0"), None);
    }

    #[test]
    fn hex_rounds_to_nearest_even() {
        // 2^53 + 1 is a tie between 2^53 and 2^53 + 2: even wins.
        assert_eq!(sort_score(b"0x20000000000001"), Some(9007199254740992.0));
        assert_eq!(sort_score(b"0x20000000000003"), Some(9007199254740996.0));
        // Digits past 64 bits still break a tie upwards.
        assert_eq!(
            sort_score(b"0x200000000000010000000001"),
            Some(9007199254740994.0 * 2f64.powi(40))
        );
        assert_eq!(sort_score(b"0x0000000000000000000001"), Some(1.0));
        assert_eq!(sort_score(b"0x0.000"), Some(0.0));
    }
}
