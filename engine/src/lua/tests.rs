//! The Lua runtime through EVAL: conversions in both directions (RESP2
//! and RESP3), the sandbox, the `redis` library and the libraries, with
//! the texts redis-server 7.0.15 gives.

use crate::config::Config;
use crate::resp::frame::Frame;
use crate::testing::Harness;
use bytes::Bytes;

fn setup() -> (Harness, u64) {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    (h, c)
}

fn eval(h: &mut Harness, c: u64, script: &str) -> Frame {
    h.call(c, &["EVAL", script, "0"])
}

fn bulk(s: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn ints(v: &[i64]) -> Frame {
    Frame::Array(v.iter().map(|&n| Frame::Int(n)).collect())
}

/// The error text without the ` script: <sha>, on ...` suffix.
fn error_head(frame: Frame) -> String {
    let Frame::Error(text) = frame else {
        panic!("expected an error, got {frame:?}");
    };
    text.split(" script: ")
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn lua_numbers_truncate_to_integers() {
    let (mut h, c) = setup();
    assert_eq!(eval(&mut h, c, "return 3.99"), Frame::Int(3));
    assert_eq!(eval(&mut h, c, "return -3.99"), Frame::Int(-3));
    assert_eq!(eval(&mut h, c, "return 1e20"), Frame::Int(i64::MIN));
    assert_eq!(eval(&mut h, c, "return 0/0"), Frame::Int(i64::MIN));
}

#[test]
fn lua_tables_stop_at_the_first_nil() {
    let (mut h, c) = setup();
    assert_eq!(
        eval(&mut h, c, "return {1, 2, 3.7, 'x', nil, 5}"),
        Frame::Array(vec![Frame::Int(1), Frame::Int(2), Frame::Int(3), bulk("x")])
    );
    assert_eq!(eval(&mut h, c, "return {a=1}"), Frame::Array(vec![]));
}

#[test]
fn lua_booleans_and_nil_in_resp2() {
    let (mut h, c) = setup();
    assert_eq!(eval(&mut h, c, "return true"), Frame::Int(1));
    assert_eq!(eval(&mut h, c, "return false"), Frame::Null);
    assert_eq!(eval(&mut h, c, "return nil"), Frame::Null);
}

#[test]
fn lua_booleans_in_resp3_scripts() {
    let (mut h, c) = setup();
    h.call(c, &["HELLO", "3"]);
    assert_eq!(
        eval(&mut h, c, "redis.setresp(3) return true"),
        Frame::Bool(true)
    );
    assert_eq!(
        eval(&mut h, c, "redis.setresp(3) return false"),
        Frame::Bool(false)
    );
    assert_eq!(eval(&mut h, c, "return false"), Frame::Null);
}

#[test]
fn lua_special_tables() {
    let (mut h, c) = setup();
    assert_eq!(
        eval(&mut h, c, "return {ok='fine'}"),
        Frame::Simple("fine".into())
    );
    assert_eq!(
        eval(&mut h, c, "return {err='BAD thing'}"),
        Frame::Error("BAD thing".into())
    );
    assert_eq!(
        eval(&mut h, c, "return {err='a\\nb'}"),
        Frame::Error("a b".into())
    );
    assert_eq!(eval(&mut h, c, "return {double=1.5}"), bulk("1.5"));
    h.call(c, &["HELLO", "3"]);
    assert_eq!(
        eval(&mut h, c, "return {double=1.5}"),
        Frame::Double("1.5".into())
    );
    assert_eq!(
        eval(&mut h, c, "return {map={a=1}}"),
        Frame::Map(vec![(bulk("a"), Frame::Int(1))])
    );
    assert_eq!(
        eval(&mut h, c, "return {set={a=true}}"),
        Frame::Set(vec![bulk("a")])
    );
    assert_eq!(
        eval(&mut h, c, "return {big_number='123'}"),
        Frame::BigNumber("123".into())
    );
}

#[test]
fn redis_replies_in_lua_resp2() {
    let (mut h, c) = setup();
    h.call(c, &["HSET", "h", "f", "v"]);
    assert_eq!(
        eval(&mut h, c, "return type(redis.call('get', 'nokey'))"),
        bulk("boolean")
    );
    assert_eq!(
        eval(&mut h, c, "return redis.call('set', 'k', 'v').ok"),
        bulk("OK")
    );
    assert_eq!(
        eval(&mut h, c, "return redis.pcall('incr', 'k').err"),
        bulk("ERR value is not an integer or out of range")
    );
    assert_eq!(
        eval(&mut h, c, "return redis.call('hgetall', 'h')"),
        Frame::Array(vec![bulk("f"), bulk("v")])
    );
    assert_eq!(
        eval(&mut h, c, "return type(redis.call('incr', 'n'))"),
        bulk("number")
    );
}

#[test]
fn redis_replies_in_lua_resp3() {
    let (mut h, c) = setup();
    h.call(c, &["HSET", "h", "f", "v"]);
    h.call(c, &["ZADD", "z", "1.5", "m"]);
    let script = "redis.setresp(3) local r = redis.call('hgetall', 'h') return r.map.f";
    assert_eq!(eval(&mut h, c, script), bulk("v"));
    let script = "redis.setresp(3) return type(redis.call('get', 'nokey'))";
    assert_eq!(eval(&mut h, c, script), bulk("nil"));
    let script = "redis.setresp(3) return tostring(redis.call('zscore', 'z', 'm').double)";
    assert_eq!(eval(&mut h, c, script), bulk("1.5"));
}

#[test]
fn reply_nesting_is_bounded() {
    let (mut h, c) = setup();
    let script = "local t = {} t[1] = t return t";
    let request = crate::testing::request(&[b"EVAL", script.as_bytes(), b"0"]);
    h.send_raw(c, &request);
    let raw = String::from_utf8(h.pending_bytes(c)).expect("text");
    let depth = super::convert::MAX_REPLY_DEPTH;
    assert_eq!(
        raw,
        format!("{}-ERR reached lua stack limit\r\n", "*1\r\n".repeat(depth))
    );
}

#[test]
fn globals_are_read_only() {
    let (mut h, c) = setup();
    assert_eq!(
        error_head(eval(&mut h, c, "x = 5")),
        "ERR user_script:1: Attempt to modify a readonly table"
    );
    assert_eq!(
        error_head(eval(&mut h, c, "return x")),
        "ERR user_script:1: Script attempted to access nonexistent global variable 'x'"
    );
    assert_eq!(
        error_head(eval(&mut h, c, "redis.call = nil")),
        "ERR user_script:1: Attempt to modify a readonly table"
    );
    assert_eq!(
        error_head(eval(&mut h, c, "rawset(_G, 'x', 1)")),
        "ERR Attempt to modify a readonly table"
    );
    assert_eq!(
        error_head(eval(&mut h, c, "return loadstring('x = 1')()")),
        "ERR [string \"x = 1\"]:1: Attempt to modify a readonly table"
    );
    assert_eq!(
        eval(&mut h, c, "local t = {} t.x = 1 return t.x"),
        Frame::Int(1)
    );
    assert_eq!(
        eval(&mut h, c, "return rawget(_G, 'nope') == nil"),
        Frame::Int(1)
    );
}

#[test]
fn removed_functions_are_absent() {
    let (mut h, c) = setup();
    for name in [
        "os", "io", "print", "loadfile", "dofile", "require", "package", "module", "debug",
        "setfenv", "getfenv", "newproxy",
    ] {
        let head = error_head(eval(&mut h, c, &format!("return type({name})")));
        assert_eq!(
            head,
            format!("ERR user_script:1: Script attempted to access nonexistent global variable '{name}'")
        );
    }
    let kept = "return {type(loadstring), type(pcall), type(unpack), type(cjson), type(cmsgpack), type(bit), type(struct)}";
    let Frame::Array(types) = eval(&mut h, c, kept) else {
        panic!("an array");
    };
    assert_eq!(types.len(), 7);
}

#[test]
fn pcall_turns_error_tables_into_their_text() {
    let (mut h, c) = setup();
    let script = "local ok, e = pcall(redis.call, 'nosuch') return {tostring(ok), type(e), e}";
    assert_eq!(
        eval(&mut h, c, script),
        Frame::Array(vec![
            bulk("false"),
            bulk("string"),
            bulk("ERR Unknown Redis command called from script")
        ])
    );
    let script = "local ok, e = pcall(function() error({err='x'}) end) return e";
    assert_eq!(eval(&mut h, c, script), bulk("x"));
    let script = "local ok, e = pcall(bit.band, 'x') return e";
    assert_eq!(
        eval(&mut h, c, script),
        bulk("bad argument #1 to '?' (number expected, got string)")
    );
}

#[test]
fn redis_library_functions() {
    let (mut h, c) = setup();
    assert_eq!(
        eval(&mut h, c, "return redis.sha1hex('')"),
        bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
    assert_eq!(
        error_head(eval(&mut h, c, "return redis.sha1hex()")),
        "ERR wrong number of arguments"
    );
    assert_eq!(
        eval(&mut h, c, "return redis.error_reply('my err')"),
        Frame::Error("my err".into())
    );
    assert_eq!(
        eval(&mut h, c, "return redis.error_reply('noSpace')"),
        Frame::Error("ERR noSpace".into())
    );
    assert_eq!(
        eval(&mut h, c, "return redis.status_reply('FINE')"),
        Frame::Simple("FINE".into())
    );
    assert_eq!(
        error_head(eval(&mut h, c, "return redis.setresp(4)")),
        "ERR RESP version must be 2 or 3."
    );
    assert_eq!(
        error_head(eval(&mut h, c, "return redis.log(9, 'x')")),
        "ERR Invalid debug level."
    );
    assert_eq!(
        eval(&mut h, c, "return redis.replicate_commands()"),
        Frame::Int(1)
    );
    assert_eq!(
        eval(
            &mut h,
            c,
            "return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}"
        ),
        Frame::Array(vec![bulk("7.0.15"), Frame::Int(458767)])
    );
    assert_eq!(
        eval(&mut h, c, "return redis.acl_check_cmd('get', 'a')"),
        Frame::Int(1)
    );
}

#[test]
fn redis_log_lines_are_kept() {
    let (mut h, c) = setup();
    eval(&mut h, c, "redis.log(redis.LOG_WARNING, 'hello', 42)");
    let log = h.node.server_mut().scripting.drain_log();
    assert_eq!(
        log,
        vec![super::LogLine {
            level: 3,
            text: "hello 42".into()
        }]
    );
}

#[test]
fn math_random_follows_redis_sequence_across_calls_and_flush() {
    let (mut h, c) = setup();
    let dice = "return {math.random(100), math.random(100), math.random(100)}";
    assert_eq!(eval(&mut h, c, dice), ints(&[40, 85, 36]));
    h.call(c, &["SCRIPT", "FLUSH"]);
    assert_eq!(eval(&mut h, c, dice), ints(&[45, 32, 89]));
    assert_eq!(
        eval(
            &mut h,
            c,
            "math.randomseed(1) return {math.random(100), math.random(100)}"
        ),
        ints(&[5, 46])
    );
    assert_eq!(
        error_head(eval(&mut h, c, "return math.random(0)")),
        "ERR user_script:1: bad argument #1 to 'random' (interval is empty)"
    );
}

#[test]
fn bit_library() {
    let (mut h, c) = setup();
    let script = "return {bit.tobit(0xffffffff), bit.band(0xff, 0x0f, 0x3), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.bswap(0x12345678), bit.tobit(1e300)}";
    assert_eq!(
        eval(&mut h, c, script),
        ints(&[
            -1,
            3,
            -2147483648,
            15,
            -16,
            878082066,
            2018915346,
            -2013235812
        ])
    );
    let script = "return {bit.tohex(-1), bit.tohex(255, -4), bit.tohex(255, 2)}";
    assert_eq!(
        eval(&mut h, c, script),
        Frame::Array(vec![bulk("ffffffff"), bulk("00FF"), bulk("ff")])
    );
    assert_eq!(
        error_head(eval(&mut h, c, "return bit.band()")),
        "ERR user_script:1: bad argument #1 to 'band' (number expected, got no value)"
    );
}

#[test]
fn struct_library() {
    let (mut h, c) = setup();
    assert_eq!(
        eval(&mut h, c, "return struct.pack('>i', 1)"),
        Frame::Bulk(Bytes::from_static(b"\0\0\0\x01"))
    );
    assert_eq!(
        eval(&mut h, c, "return struct.pack('!bi', 1, 2)"),
        Frame::Bulk(Bytes::from_static(b"\x01\0\0\0\x02\0\0\0"))
    );
    assert_eq!(
        eval(
            &mut h,
            c,
            "return {struct.unpack('bBhH', struct.pack('bBhH', -1, 255, -2, 65535))}"
        ),
        ints(&[-1, 255, -2, 65535, 7])
    );
    assert_eq!(
        eval(&mut h, c, "return {struct.unpack('bc0', '\\3abcd')}"),
        Frame::Array(vec![bulk("abc"), Frame::Int(5)])
    );
    assert_eq!(
        eval(&mut h, c, "return struct.size('>!d c3')"),
        Frame::Int(11)
    );
    assert_eq!(
        error_head(eval(&mut h, c, "return struct.pack('c4', 'ab')")),
        "ERR user_script:1: bad argument #3 to 'pack' (string too short)"
    );
    assert_eq!(
        error_head(eval(&mut h, c, "return struct.size('s')")),
        "ERR user_script:1: bad argument #1 to 'size' (option 's' has no fixed size)"
    );
}

/// Deep nesting never exhausts the stack: each library stops at its bound
/// with its own error.
#[test]
fn deep_nesting_is_bounded_in_every_library() {
    let (mut h, c) = setup();
    let cases = [
        (
            "local t = {} t[1] = t return cjson.encode(t)",
            "ERR user_script:1: Cannot serialise, excessive nesting (1001)",
        ),
        (
            "cjson.encode_max_depth(100000) local t = {} t[1] = t return cjson.encode(t)",
            "ERR user_script:1: Cannot serialise, excessive nesting (1001)",
        ),
        (
            "return cjson.decode(string.rep('[', 100000))",
            "ERR user_script:1: Found too many nested data structures (1001) at character 1001",
        ),
        (
            "return cmsgpack.unpack(string.rep('\\145', 100000) .. '\\0')",
            "ERR user_script:1: Bad data format in input.",
        ),
    ];
    for (script, want) in cases {
        assert_eq!(error_head(eval(&mut h, c, script)), want, "{script}");
    }
    let packed = eval(&mut h, c, "local t = {} t[1] = t return cmsgpack.pack(t)");
    let mut want = vec![0x91u8; 16];
    want.push(0xc0);
    assert_eq!(packed, Frame::Bulk(Bytes::from(want)));
}

#[test]
fn cjson_library() {
    let (mut h, c) = setup();
    let cases = [
        ("return cjson.encode({1,2,{a=1}})", "[1,2,{\"a\":1}]"),
        ("return cjson.encode({})", "{}"),
        (
            "return cjson.encode({a=1,b=2,c=3})",
            "{\"a\":1,\"c\":3,\"b\":2}",
        ),
        (
            "return cjson.encode('a\"b\\\\c/d\\n\\1\\127')",
            "\"a\\\"b\\\\c\\/d\\n\\u0001\\u007f\"",
        ),
        ("return cjson.encode({1,nil,3})", "[1,null,3]"),
        ("return cjson.encode(1e15)", "1e+15"),
        ("return cjson.encode({-0, 0.1})", "[-0,0.1]"),
        (
            "return cjson.encode({1, 2, a=3})",
            "{\"1\":1,\"2\":2,\"a\":3}",
        ),
        (
            "return cjson.decode('{\"a\":[1,2,{\"b\":\"c\"}]}').a[3].b",
            "c",
        ),
        (
            "return cjson.decode('\"\\\\u00e9\\\\ud83d\\\\ude00\"')",
            "\u{e9}\u{1f600}",
        ),
        ("return tostring(cjson.decode('0x10'))", "16"),
    ];
    for (script, want) in cases {
        assert_eq!(eval(&mut h, c, script), bulk(want), "{script}");
    }
    let errors = [
        (
            "return cjson.encode({[1]=1,[11]=5})",
            "ERR user_script:1: Cannot serialise table: excessively sparse array",
        ),
        (
            "return cjson.encode(0/0)",
            "ERR user_script:1: Cannot serialise number: must not be NaN or Inf",
        ),
        (
            "return cjson.encode({[true]=1})",
            "ERR user_script:1: Cannot serialise boolean: table key must be a number or string",
        ),
        (
            "return cjson.encode(function() end)",
            "ERR user_script:1: Cannot serialise function: type not supported",
        ),
        (
            "return cjson.encode()",
            "ERR user_script:1: bad argument #1 to 'encode' (expected 1 argument)",
        ),
        (
            "return cjson.decode('{bad')",
            "ERR user_script:1: Expected object key string but found invalid token at character 2",
        ),
        (
            "return cjson.decode('[1 2]')",
            "ERR user_script:1: Expected comma or array end but found T_NUMBER at character 4",
        ),
        (
            "return cjson.decode('[1,2]x')",
            "ERR user_script:1: Expected the end but found invalid token at character 6",
        ),
        (
            "return cjson.decode('\"a')",
            "ERR user_script:1: Expected value but found unexpected end of string at character 3",
        ),
        (
            "return cjson.decode('-')",
            "ERR user_script:1: Expected value but found invalid number at character 1",
        ),
    ];
    for (script, want) in errors {
        assert_eq!(error_head(eval(&mut h, c, script)), want, "{script}");
    }
    let settings = "local c = cjson.new() c.encode_number_precision(3) return {c.encode(1/3), cjson.encode(1/3)}";
    assert_eq!(
        eval(&mut h, c, settings),
        Frame::Array(vec![bulk("0.333"), bulk("0.33333333333333")])
    );
    assert_eq!(
        eval(&mut h, c, "return cjson.decode('null') == cjson.null"),
        Frame::Int(1)
    );
}

#[test]
fn cmsgpack_library() {
    let (mut h, c) = setup();
    let packed = eval(&mut h, c, "return cmsgpack.pack(nil, true, 127, 128, 65536, -1, -33, -129, 1.5, 0.1, 'ab', {1,2}, {a=1})");
    let want: &[u8] = b"\xc0\xc3\x7f\xcc\x80\xce\x00\x01\x00\x00\xff\xd0\xdf\xd1\xff\x7f\xca\x3f\xc0\x00\x00\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a\xa2ab\x92\x01\x02\x81\xa1a\x01";
    assert_eq!(packed, Frame::Bulk(Bytes::from_static(want)));
    let round_trip = "local t = cmsgpack.unpack(cmsgpack.pack({name='keel', list={1,2,3}})) return {t.name, t.list[3]}";
    assert_eq!(
        eval(&mut h, c, round_trip),
        Frame::Array(vec![bulk("keel"), Frame::Int(3)])
    );
    assert_eq!(
        eval(
            &mut h,
            c,
            "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}"
        ),
        ints(&[1, 1])
    );
    assert_eq!(
        eval(
            &mut h,
            c,
            "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 1)}"
        ),
        ints(&[-1, 2, 3])
    );
    let errors = [
        (
            "return cmsgpack.unpack('\\205\\1')",
            "ERR user_script:1: Missing bytes in input.",
        ),
        (
            "return cmsgpack.unpack('\\193')",
            "ERR user_script:1: Bad data format in input.",
        ),
        (
            "return cmsgpack.pack()",
            "ERR user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.)",
        ),
        (
            "return cmsgpack.unpack_one(cmsgpack.pack(1), 5)",
            "ERR user_script:1: Start offset 5 greater than input length 1.",
        ),
    ];
    for (script, want) in errors {
        assert_eq!(error_head(eval(&mut h, c, script)), want, "{script}");
    }
}

#[test]
fn precompiled_chunks_are_refused() {
    let (mut h, c) = setup();
    let script =
        "local f, e = loadstring(string.dump(function() return 1 end)) return {tostring(f), e}";
    let Frame::Array(parts) = eval(&mut h, c, script) else {
        panic!("an array");
    };
    assert_eq!(parts[0], bulk("nil"));
    let Frame::Bulk(message) = &parts[1] else {
        panic!("a message");
    };
    assert!(
        message.ends_with(b"]:1: unexpected symbol near 'char(27)'"),
        "{message:?}"
    );
}

/// `used_memory_lua` from INFO memory.
fn lua_memory(h: &mut Harness, c: u64) -> u64 {
    let Frame::Bulk(info) = h.call(c, &["INFO", "memory"]) else {
        panic!("INFO is a bulk string");
    };
    let text = String::from_utf8_lossy(&info).into_owned();
    text.lines()
        .find_map(|line| line.strip_prefix("used_memory_lua:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("used_memory_lua")
}

#[test]
fn a_hundred_thousand_evalsha_keep_lua_memory_bounded() {
    let (mut h, c) = setup();
    let script = "redis.call('INCR', KEYS[1]); return redis.call('GET', KEYS[1])";
    let Frame::Bulk(sha) = h.call(c, &["SCRIPT", "LOAD", script]) else {
        panic!("a sha");
    };
    let sha = String::from_utf8_lossy(&sha).into_owned();
    let mut baseline = 0;
    for run in 1..=100_000u64 {
        let reply = h.call(c, &["EVALSHA", &sha, "1", "counter", "an-arg"]);
        if run == 1_000 {
            baseline = lua_memory(&mut h, c);
        }
        if run % 10_000 == 0 {
            assert_eq!(reply, bulk(&run.to_string()));
            let now = lua_memory(&mut h, c);
            // The collector keeps up: at most its pause (twice the live
            // heap) above where it stood after the first thousand runs.
            assert!(
                now <= 3 * baseline,
                "run {run}: {now} bytes, {baseline} at run 1000"
            );
        }
    }
}
