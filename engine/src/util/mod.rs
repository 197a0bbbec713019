//! Number parsing and formatting with Redis's exact rules.

pub mod long_double;

/// Parses a signed 64-bit integer as Redis's `string2ll` does: an optional
/// `-`, then digits with no leading zeros (except `0` itself), no spaces, no `+`.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Parses a double as Redis's `getDoubleFromObject` does (`strtod` over the
/// whole string): no surrounding spaces, no trailing text, NaN refused.
/// Accepts `inf`, `+inf`, `-inf`, `infinity` in any case.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    if text.ends_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.starts_with("nan") {
        return None;
    }
    let v: f64 = lower.parse().ok()?;
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// Formats an i64 into a fresh byte vector.
pub fn fmt_i64(n: i64) -> Vec<u8> {
    itoa::Buffer::new().format(n).as_bytes().to_vec()
}

/// C's `printf("%.17g", d)` for finite doubles: 17 significant digits,
/// fixed notation when the exponent is in [-4, 17), else exponential with at
/// least two exponent digits; trailing zeros removed.
pub fn fmt_double_17g(d: f64) -> String {
    const PRECISION: i32 = 17;
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Round to 17 significant digits first, then read the decimal exponent.
    let sci = format!("{:.*e}", (PRECISION - 1) as usize, d);
    let (mantissa, exp) = sci.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("exponent digits");
    if !(-4..PRECISION).contains(&exp) {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", mantissa, sign, exp.abs())
    } else {
        let decimals = (PRECISION - 1 - exp).max(0) as usize;
        trim_fraction(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Case-insensitive ASCII comparison of an argument with a keyword.
pub fn eq_ic(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_i64_follows_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        for bad in [
            &b""[..],
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"1 ",
            b"1a",
            b"-",
            b"1.0",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn parse_f64_follows_strtod() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        for bad in [&b""[..], b"nan", b"-nan", b" 1", b"1 ", b"abc", b"1.0x"] {
            assert_eq!(parse_f64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn format_matches_printf_17g() {
        assert_eq!(fmt_double_17g(1.5), "1.5");
        assert_eq!(fmt_double_17g(1.1), "1.1000000000000001");
        assert_eq!(fmt_double_17g(100.0), "100");
        assert_eq!(fmt_double_17g(1e17), "1e+17");
        assert_eq!(fmt_double_17g(1e16), "10000000000000000");
        assert_eq!(fmt_double_17g(0.0001), "0.0001");
        assert_eq!(fmt_double_17g(0.00001), "1.0000000000000001e-05");
        assert_eq!(fmt_double_17g(-2.5), "-2.5");
    }
}
