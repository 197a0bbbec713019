//! Argument parsing with Redis's exact rules: scores read as C's `strtod`
//! reads them (hexadecimal floats, `inf`/`infinity`, leading spaces where
//! Redis allows them), and the score and lex range items.

use crate::types::zset::{LexBound, LexRange, ScoreRange};
use crate::util::parse_i64;
use bytes::Bytes;

/// What `strtod` made of the start of a string.
struct Strtod {
    value: f64,
    /// Bytes read (0: no number at all).
    consumed: usize,
    /// The number was out of range (`ERANGE`): it overflowed to infinity,
    /// or a non-zero number underflowed to zero.
    out_of_range: bool,
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn starts_with_ic(s: &[u8], word: &[u8]) -> bool {
    s.len() >= word.len() && s[..word.len()].eq_ignore_ascii_case(word)
}

fn count_digits(s: &[u8], radix: u32) -> usize {
    s.iter()
        .take_while(|b| char::from(**b).is_digit(radix))
        .count()
}

/// C's `strtod` in the C locale, over bytes.
fn strtod(s: &[u8]) -> Strtod {
    let spaces = s.iter().take_while(|b| is_c_space(**b)).count();
    let mut at = spaces;
    let negative = s.get(at) == Some(&b'-');
    if matches!(s.get(at), Some(b'+' | b'-')) {
        at += 1;
    }
    let rest = &s[at..];
    let parsed = if starts_with_ic(rest, b"inf") {
        let len = if starts_with_ic(rest, b"infinity") {
            8
        } else {
            3
        };
        Some((f64::INFINITY, len, false))
    } else if starts_with_ic(rest, b"nan") {
        Some((f64::NAN, 3 + nan_payload_len(&rest[3..]), false))
    } else if starts_with_ic(rest, b"0x") && hex_mantissa_len(&rest[2..]) > 0 {
        Some(hex_float(&rest[2..]))
    } else {
        decimal(rest)
    };
    match parsed {
        Some((magnitude, len, out_of_range)) => Strtod {
            value: if negative { -magnitude } else { magnitude },
            consumed: at + len,
            out_of_range,
        },
        None => Strtod {
            value: 0.0,
            consumed: 0,
            out_of_range: false,
        },
    }
}

/// `nan(chars)`: the parenthesised part, if well formed.
fn nan_payload_len(s: &[u8]) -> usize {
    if s.first() != Some(&b'(') {
        return 0;
    }
    let inner = s[1..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    if s.get(1 + inner) == Some(&b')') {
        inner + 2
    } else {
        0
    }
}

/// Length of `digits[.digits]` in `radix` (0 when there is no digit).
fn mantissa_len(s: &[u8], radix: u32) -> usize {
    let int = count_digits(s, radix);
    if s.get(int) == Some(&b'.') {
        let frac = count_digits(&s[int + 1..], radix);
        if int + frac > 0 {
            return int + 1 + frac;
        }
    }
    int
}

fn hex_mantissa_len(s: &[u8]) -> usize {
    mantissa_len(s, 16)
}

/// Length of an exponent `e[sign]digits` (`p` for hex) at the start of
/// `s`, or 0 when there is none.
fn exponent_len(s: &[u8], marker: u8) -> usize {
    if !s.first().is_some_and(|b| b.eq_ignore_ascii_case(&marker)) {
        return 0;
    }
    let sign = usize::from(matches!(s.get(1), Some(b'+' | b'-')));
    match count_digits(&s[1 + sign..], 10) {
        0 => 0,
        digits => 1 + sign + digits,
    }
}

/// A decimal number: `(magnitude, length, out of range)`.
fn decimal(s: &[u8]) -> Option<(f64, usize, bool)> {
    let mantissa = mantissa_len(s, 10);
    if mantissa == 0 {
        return None;
    }
    let len = mantissa + exponent_len(&s[mantissa..], b'e');
    let text = std::str::from_utf8(&s[..len]).ok()?;
    let value: f64 = text.parse().ok()?;
    let nonzero = s[..mantissa].iter().any(|b| (b'1'..=b'9').contains(b));
    let out_of_range = value.is_infinite() || (value == 0.0 && nonzero);
    Some((value, len, out_of_range))
}

/// A hexadecimal float after its `0x`: `(magnitude, length with the 0x,
/// out of range)`. The first 16 significant digits are kept (64 bits),
/// later non-zero digits only set the lowest bit, so the conversion to a
/// double rounds once, correctly, for normal results.
fn hex_float(s: &[u8]) -> (f64, usize, bool) {
    let mantissa = hex_mantissa_len(s);
    let exp_len = exponent_len(&s[mantissa..], b'p');
    let (mut bits, mut scale, mut digits, mut sticky) = (0u64, 0i64, 0, false);
    let mut after_point = false;
    for &b in &s[..mantissa] {
        if b == b'.' {
            after_point = true;
            continue;
        }
        let d = u64::from(char::from(b).to_digit(16).unwrap_or(0));
        if digits < 16 {
            if bits != 0 || d != 0 {
                bits = bits << 4 | d;
                digits += 1;
            }
            if after_point {
                scale -= 4;
            }
        } else {
            sticky |= d != 0;
            if !after_point {
                scale += 4;
            }
        }
    }
    if sticky {
        bits |= 1;
    }
    let exponent = if exp_len > 0 {
        parse_exponent(&s[mantissa + 1..mantissa + exp_len])
    } else {
        0
    };
    let value = scale_by_power_of_two(bits as f64, scale.saturating_add(exponent));
    let out_of_range = value.is_infinite() || (value == 0.0 && bits != 0);
    (value, 2 + mantissa + exp_len, out_of_range)
}

/// A decimal exponent, saturated far beyond any double's range.
fn parse_exponent(s: &[u8]) -> i64 {
    let (negative, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = digits.iter().fold(0i64, |n, d| {
        n.saturating_mul(10)
            .saturating_add(i64::from(d - b'0'))
            .min(1 << 20)
    });
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// `value * 2^exp`, in steps that never overflow or underflow early.
fn scale_by_power_of_two(mut value: f64, mut exp: i64) -> f64 {
    while exp != 0 && value != 0.0 && value.is_finite() {
        let step = exp.clamp(-1000, 1000);
        // 2^step is a normal double for |step| <= 1000.
        value *= 2f64.powi(step as i32);
        exp -= step;
    }
    value
}

/// A score argument, as Redis's `getDoubleFromObject`: the whole argument
/// is a number, with no leading space, not NaN, not out of range.
pub(super) fn parse_score(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || is_c_space(arg[0]) {
        return None;
    }
    let parsed = strtod(arg);
    let whole = parsed.consumed == arg.len();
    (whole && !parsed.out_of_range && !parsed.value.is_nan()).then_some(parsed.value)
}

/// One end of a score range, as Redis's `zslParseRange`: an optional `(`
/// (exclusive), then what `strtod` reads, followed by nothing (or a NUL
/// byte, where C stops reading), and not NaN. Like Redis, this accepts
/// leading spaces, an empty number (0) and values out of range.
fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (text, exclusive) = match arg.first() {
        Some(b'(') => (&arg[1..], true),
        _ => (arg, false),
    };
    let parsed = strtod(text);
    let ends = matches!(text.get(parsed.consumed), None | Some(0));
    (ends && !parsed.value.is_nan()).then_some((parsed.value, exclusive))
}

pub(super) fn score_range(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
    let (min, min_exclusive) = parse_score_bound(min)?;
    let (max, max_exclusive) = parse_score_bound(max)?;
    Some(ScoreRange {
        min,
        max,
        min_exclusive,
        max_exclusive,
    })
}

/// One end of a lex range: `-`, `+`, `[member` or `(member`. As in Redis,
/// `-` and `+` may be followed by a NUL byte (C stops reading there).
fn parse_lex_bound(arg: &[u8]) -> Option<LexBound> {
    let alone = matches!(arg.get(1), None | Some(0));
    match arg.first()? {
        b'-' if alone => Some(LexBound::Min),
        b'+' if alone => Some(LexBound::Max),
        b'[' => Some(LexBound::Inclusive(Bytes::copy_from_slice(&arg[1..]))),
        b'(' => Some(LexBound::Exclusive(Bytes::copy_from_slice(&arg[1..]))),
        _ => None,
    }
}

pub(super) fn lex_range(min: &[u8], max: &[u8]) -> Option<LexRange> {
    Some(LexRange {
        min: parse_lex_bound(min)?,
        max: parse_lex_bound(max)?,
    })
}

/// A `long` argument that must lie in `min..=max`; `msg` (a full error
/// text) replaces Redis's default errors when given, as
/// `getRangeLongFromObjectOrReply` does.
pub(super) fn ranged_i64(
    arg: &[u8],
    min: i64,
    max: i64,
    msg: Option<&'static str>,
) -> Result<i64, crate::resp::Reply> {
    use crate::resp::Reply;
    let fail = |default: Reply| msg.map_or(default, Reply::err);
    let n = parse_i64(arg).ok_or_else(|| fail(Reply::not_integer()))?;
    if n < min || n > max {
        return Err(fail(Reply::error(format!(
            "ERR value is out of range, value must between {min} and {max}"
        ))));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_read_as_strtod_with_redis_checks() {
        let ok = [
            ("1.5", 1.5),
            ("-2", -2.0),
            ("+3", 3.0),
            (".5", 0.5),
            ("1.", 1.0),
            ("1e3", 1000.0),
            ("1E-2", 0.01),
            ("inf", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("0x11", 17.0),
            ("0x1p3", 8.0),
            ("0X.8", 0.5),
            ("-0x1.8p1", -3.0),
            ("4.9e-324", 4.9e-324),
            ("-0", -0.0),
            ("1e308", 1e308),
        ];
        for (text, value) in ok {
            assert_eq!(parse_score(text.as_bytes()), Some(value), "{text}");
        }
        let bad = [
            "", " 1", "1 ", "abc", "nan", "-nan", "nan(1)", "1e400", "-1e400", "1e-400",
            "0x1p5000", "1e", "0x", "1_0", "1\0", "inf1", "--1", ".",
        ];
        for text in bad {
            assert_eq!(parse_score(text.as_bytes()), None, "{text:?}");
        }
        assert!(parse_score(b"-0").unwrap().is_sign_negative());
    }

    #[test]
    fn hex_floats_keep_precision_past_16_digits() {
        assert_eq!(parse_score(b"0x1.fffffffffffff"), Some(2.0 - f64::EPSILON));
        // 0x1.00000000000008 is halfway: rounds to even (1.0); a non-zero
        // digit further on breaks the tie upwards.
        assert_eq!(parse_score(b"0x1.00000000000008"), Some(1.0));
        assert_eq!(
            parse_score(b"0x1.000000000000080001"),
            Some(1.0 + f64::EPSILON)
        );
        assert_eq!(parse_score(b"0x100000000000000000"), Some(2f64.powi(68)));
    }

    #[test]
    fn score_range_items_as_zsl_parse_range() {
        let item = |t: &str| parse_score_bound(t.as_bytes());
        assert_eq!(item("(1.5"), Some((1.5, true)));
        assert_eq!(item("-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(item("(+inf"), Some((f64::INFINITY, true)));
        assert_eq!(item(""), Some((0.0, false)));
        assert_eq!(item("("), Some((0.0, true)));
        assert_eq!(item(" 1"), Some((1.0, false)));
        assert_eq!(item("1e400"), Some((f64::INFINITY, false)));
        assert_eq!(item("2\0junk"), Some((2.0, false)));
        assert_eq!(item("1 "), None);
        assert_eq!(item("nan"), None);
        assert_eq!(item("[1"), None);
        assert_eq!(item("((1"), None);
    }

    #[test]
    fn lex_range_items() {
        let item = |t: &[u8]| parse_lex_bound(t);
        assert_eq!(item(b"-"), Some(LexBound::Min));
        assert_eq!(item(b"+\0x"), Some(LexBound::Max));
        assert_eq!(
            item(b"[a"),
            Some(LexBound::Inclusive(Bytes::from_static(b"a")))
        );
        assert_eq!(item(b"("), Some(LexBound::Exclusive(Bytes::new())));
        for bad in [&b""[..], b"a", b"-a", b"+a", b"]"] {
            assert_eq!(item(bad), None, "{bad:?}");
        }
    }
}
