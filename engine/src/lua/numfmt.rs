//! Number formatting as C's `printf("%.<p>g")`, which Lua 5.1 uses to turn
//! numbers into strings (`%.14g`), and so do Redis's argument conversion
//! and lua-cjson.

/// `x` formatted as `%.<precision>g` (precision at least 1).
pub fn format_g(x: f64, precision: usize) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    let precision = precision.max(1);
    // Scientific form first: it rounds to `precision` significant digits
    // and tells the decimal exponent after rounding, which picks the style.
    let sci = format!("{:.*e}", precision - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= precision as i64 {
        let mantissa = strip_fraction_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    } else {
        let decimals = (precision as i64 - 1 - exp).max(0) as usize;
        strip_fraction_zeros(&format!("{:.*}", decimals, x)).to_string()
    }
}

/// Lua's `tostring` of a number (`%.14g`).
pub fn lua_number(x: f64) -> String {
    format_g(x, 14)
}

fn strip_fraction_zeros(s: &str) -> &str {
    if !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_printf_g() {
        // Values checked against C's printf("%.14g").
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (1.5, "1.5"),
            (100.0, "100"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.33333333333333"),
            (1e15, "1e+15"),
            (123456789012345.0, "1.2345678901234e+14"),
            (12345678901234.0, "12345678901234"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-10, "-2.5e-10"),
            (1e100, "1e+100"),
            (1.234567890123449, "1.2345678901234"),
        ];
        for (x, want) in cases {
            assert_eq!(lua_number(*x), *want, "{x}");
        }
        assert_eq!(lua_number(f64::INFINITY), "inf");
        assert_eq!(lua_number(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_g(0.5, 1), "0.5");
        assert_eq!(format_g(2.0f64.powi(60), 17), "1.152921504606847e+18");
    }
}
