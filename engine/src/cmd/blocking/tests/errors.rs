//! Argument errors, in the order Redis checks them.

use super::*;

fn assert_error(h: &mut Harness, c: u64, cmd: &[&str], text: &str) {
    assert_eq!(h.call(c, cmd), err(text), "{cmd:?}");
}

#[test]
fn timeouts_are_read_as_redis_reads_them() {
    let mut h = harness();
    let c = h.connect();
    let not_float = "ERR timeout is not a float or out of range";
    let negative = "ERR timeout is negative";
    for bad in [
        "abc", "", " 1", "1 ", "nan", "1e", "0x", "1.5e3x", "1e-5000", "1e5000",
    ] {
        assert_error(&mut h, c, &["BLPOP", "k", bad], not_float);
    }
    for neg in ["-1", "-0.5", "-inf", "inf", "1e300", "9223372036854775808"] {
        assert_error(&mut h, c, &["BRPOP", "k", neg], negative);
    }
    // Rounded up to whole milliseconds: these wait 1 ms, not forever.
    for tiny in ["0.0001", "1e-320", "0x1p-20"] {
        send(&mut h, c, &["BLPOP", "k", tiny]);
        assert_eq!(h.read(c), None, "{tiny} waits");
        h.advance(2);
        assert_eq!(h.read(c), Some(Frame::Null), "{tiny} has timed out");
    }
    // Zero, and what rounds up to zero, waits forever.
    for forever in ["0", "-0", "-0.0001", "+0.0"] {
        send(&mut h, c, &["BLPOP", "k", forever]);
        h.advance(100_000);
        assert_eq!(h.read(c), None, "{forever} waits forever");
        let d = h.connect();
        assert_eq!(h.call(d, &["CLIENT", "UNBLOCK", &c.to_string()]), int(1));
        assert_eq!(h.read(c), Some(Frame::Null));
    }
}

#[test]
fn argument_errors_come_in_redis_order() {
    let mut h = harness();
    let c = h.connect();
    let numkeys = "ERR numkeys should be greater than 0";
    let count = "ERR count should be greater than 0";
    let syntax = "ERR syntax error";
    let not_float = "ERR timeout is not a float or out of range";
    // The MPOP arguments are checked before the timeout.
    assert_error(&mut h, c, &["BLMPOP", "abc", "0", "k", "LEFT"], numkeys);
    assert_error(&mut h, c, &["BLMPOP", "0", "abc", "k", "LEFT"], numkeys);
    assert_error(&mut h, c, &["BLMPOP", "abc", "1", "k", "bad"], syntax);
    assert_error(
        &mut h,
        c,
        &["BLMPOP", "-1", "1", "k", "LEFT", "COUNT", "x"],
        count,
    );
    assert_error(&mut h, c, &["BLMPOP", "0", "2", "k", "LEFT"], syntax);
    assert_error(&mut h, c, &["BLMPOP", "abc", "1", "k", "LEFT"], not_float);
    assert_error(
        &mut h,
        c,
        &["BLMPOP", "0", "1", "k", "LEFT", "COUNT", "1", "COUNT", "2"],
        syntax,
    );
    assert_error(&mut h, c, &["BZMPOP", "abc", "0", "k", "MIN"], numkeys);
    assert_error(
        &mut h,
        c,
        &["BZMPOP", "0", "1", "k", "MIN", "COUNT", "0"],
        count,
    );
    assert_error(
        &mut h,
        c,
        &["BZMPOP", "0", "1", "k", "MIN", "COUNT"],
        syntax,
    );
    assert_error(&mut h, c, &["BZMPOP", "0", "1", "k", "LEFT"], syntax);
    assert_error(
        &mut h,
        c,
        &["BZMPOP", "-1", "1", "k", "MAX"],
        "ERR timeout is negative",
    );
    // BLMOVE's ends before its timeout.
    assert_error(
        &mut h,
        c,
        &["BLMOVE", "a", "b", "bad", "LEFT", "abc"],
        syntax,
    );
    assert_error(
        &mut h,
        c,
        &["BLMOVE", "a", "b", "LEFT", "LEFT", "abc"],
        not_float,
    );
    assert_error(&mut h, c, &["BZPOPMIN", "k", "0", "x"], not_float);
    assert_error(
        &mut h,
        c,
        &["BLPOP", "k"],
        "ERR wrong number of arguments for 'blpop' command",
    );
    assert_eq!(info_field(&mut h, c, "clients", "blocked_clients"), "0");
}
