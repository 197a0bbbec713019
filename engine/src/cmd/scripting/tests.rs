//! EVAL family and SCRIPT: replies, exact errors, the checks on commands
//! called from scripts, effects, and what a script may change of its client.

use crate::config::Config;
use crate::resp::frame::Frame;
use crate::testing::Harness;
use bytes::Bytes;

fn setup() -> (Harness, u64) {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    (h, c)
}

fn bulk(s: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn err(s: &str) -> Frame {
    Frame::Error(s.to_string())
}

fn eval(h: &mut Harness, c: u64, script: &str) -> Frame {
    h.call(c, &["EVAL", script, "0"])
}

const SHA_RETURN_1: &str = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";

#[test]
fn eval_sees_keys_and_argv() {
    let (mut h, c) = setup();
    let reply = h.call(
        c,
        &[
            "EVAL",
            "return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}",
            "2",
            "k1",
            "k2",
            "a1",
        ],
    );
    assert_eq!(
        reply,
        Frame::Array(vec![
            bulk("k1"),
            bulk("k2"),
            bulk("a1"),
            Frame::Int(2),
            Frame::Int(1)
        ])
    );
}

#[test]
fn numkeys_errors() {
    let (mut h, c) = setup();
    assert_eq!(
        h.call(c, &["EVAL", "return 1", "-1"]),
        err("ERR Number of keys can't be negative")
    );
    assert_eq!(
        h.call(c, &["EVAL", "return 1", "2", "a"]),
        err("ERR Number of keys can't be greater than number of args")
    );
    assert_eq!(
        h.call(c, &["EVAL", "return 1", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        h.call(c, &["EVAL", "return 1"]),
        err("ERR wrong number of arguments for 'eval' command")
    );
}

#[test]
fn evalsha_runs_cached_scripts_case_insensitively() {
    let (mut h, c) = setup();
    assert_eq!(
        h.call(c, &["SCRIPT", "LOAD", "return 1"]),
        bulk(SHA_RETURN_1)
    );
    assert_eq!(h.call(c, &["EVALSHA", SHA_RETURN_1, "0"]), Frame::Int(1));
    let upper = SHA_RETURN_1.to_ascii_uppercase();
    assert_eq!(h.call(c, &["EVALSHA", &upper, "0"]), Frame::Int(1));
    assert_eq!(h.call(c, &["EVALSHA_RO", SHA_RETURN_1, "0"]), Frame::Int(1));
    let noscript = err("NOSCRIPT No matching script. Please use EVAL.");
    assert_eq!(h.call(c, &["EVALSHA", "abc", "0"]), noscript);
    assert_eq!(h.call(c, &["EVALSHA", &"f".repeat(40), "0"]), noscript);
}

#[test]
fn eval_caches_its_script_and_flush_forgets_it() {
    let (mut h, c) = setup();
    eval(&mut h, c, "return 1");
    let exists = |h: &mut Harness| h.call(c, &["SCRIPT", "EXISTS", SHA_RETURN_1, "nope"]);
    assert_eq!(
        exists(&mut h),
        Frame::Array(vec![Frame::Int(1), Frame::Int(0)])
    );
    assert_eq!(
        h.call(c, &["SCRIPT", "FLUSH", "ASYNC"]),
        Frame::Simple("OK".into())
    );
    assert_eq!(
        exists(&mut h),
        Frame::Array(vec![Frame::Int(0), Frame::Int(0)])
    );
    assert_eq!(
        h.call(c, &["SCRIPT", "FLUSH", "LATER"]),
        err("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    );
}

#[test]
fn script_kill_and_help() {
    let (mut h, c) = setup();
    assert_eq!(
        h.call(c, &["SCRIPT", "KILL"]),
        err("NOTBUSY No scripts in execution right now.")
    );
    let Frame::Array(lines) = h.call(c, &["SCRIPT", "HELP"]) else {
        panic!("HELP is an array");
    };
    assert_eq!(lines.len(), 17);
    assert_eq!(
        lines[0],
        Frame::Simple("SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into())
    );
}

#[test]
fn compile_errors() {
    let (mut h, c) = setup();
    assert_eq!(
        h.call(c, &["SCRIPT", "LOAD", "syntax error here"]),
        err("ERR Error compiling script (new function): user_script:1: '=' expected near 'error'")
    );
}

#[test]
fn errors_name_the_script_and_the_line() {
    let (mut h, c) = setup();
    assert_eq!(
        eval(&mut h, c, "error('boom')"),
        err("ERR user_script:1: boom script: 82903a0434f1503e152f89c03c9acd881a0e8150, on @user_script:1.")
    );
    assert_eq!(
        eval(&mut h, c, "error({err='My Error'})"),
        err("My Error script: e115b36aa4ca34249363168860134d6f8b667d30, on @user_script:1.")
    );
    assert_eq!(
        eval(&mut h, c, "return redis.call('nosuch')"),
        err("ERR Unknown Redis command called from script script: 206396248e12c6e742fd7296250433c8d7343b74, on @user_script:1.")
    );
}

#[test]
fn commands_called_from_scripts_are_checked() {
    let (mut h, c) = setup();
    let pcall = |h: &mut Harness, call: &str| eval(h, c, &format!("return redis.pcall({call})"));
    assert_eq!(
        pcall(&mut h, "'nosuch'"),
        err("ERR Unknown Redis command called from script")
    );
    assert_eq!(
        pcall(&mut h, "'client', 'nosuch'"),
        err("ERR Unknown Redis command called from script")
    );
    assert_eq!(
        pcall(&mut h, "'get'"),
        err("ERR Wrong number of args calling Redis command from script")
    );
    assert_eq!(
        pcall(&mut h, "'eval', 'return 1', 0"),
        err("ERR This Redis command is not allowed from script")
    );
    assert_eq!(
        pcall(&mut h, "'client', 'list'"),
        err("ERR This Redis command is not allowed from script")
    );
    assert_eq!(
        pcall(&mut h, ""),
        err("ERR Please specify at least one argument for this redis lib call")
    );
    assert_eq!(
        pcall(&mut h, "'get', {}"),
        err("ERR Lua redis lib command arguments must be strings or integers")
    );
    let write = h.call(c, &["EVAL_RO", "return redis.pcall('set', 'k', 'v')", "0"]);
    assert_eq!(
        write,
        err("ERR Write commands are not allowed from read-only scripts.")
    );
    let no_writes = eval(
        &mut h,
        c,
        "#!lua flags=no-writes\nreturn redis.pcall('set', 'k', 'v')",
    );
    assert_eq!(
        no_writes,
        err("ERR Write commands are not allowed from read-only scripts.")
    );
    assert_eq!(h.call(c, &["EXISTS", "k"]), Frame::Int(0));
}

#[test]
fn shebang_flags() {
    let (mut h, c) = setup();
    assert_eq!(
        h.call(c, &["EVAL_RO", "#!lua\nreturn 1", "0"]),
        err("ERR Can not execute a script with write flag using *_ro command.")
    );
    assert_eq!(
        h.call(c, &["EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"]),
        Frame::Int(1)
    );
    assert_eq!(
        eval(&mut h, c, "#!lua flags=no-writes,bogus\nreturn 1"),
        err("ERR Unexpected flag in script shebang: bogus")
    );
    assert_eq!(
        eval(&mut h, c, "#!python\nreturn 1"),
        err("ERR Unexpected engine in script shebang: #!python")
    );
    assert_eq!(
        eval(&mut h, c, "#!lua name=x\nreturn 1"),
        err("ERR Unknown lua shebang option: name=x")
    );
    assert_eq!(eval(&mut h, c, "#!lua"), err("ERR Invalid script shebang"));
    // Line numbers count the shebang line.
    let body = "#!lua\nerror('x')";
    let sha = crate::lua::sha1::sha1_hex(body.as_bytes());
    assert_eq!(
        eval(&mut h, c, body),
        err(&format!(
            "ERR user_script:2: x script: {sha}, on @user_script:2."
        ))
    );
}

#[test]
fn select_in_a_script_stays_in_the_script() {
    let (mut h, c) = setup();
    let reply = eval(
        &mut h,
        c,
        "redis.call('select', 3) redis.call('set', 'k', 'v') return redis.call('dbsize')",
    );
    assert_eq!(reply, Frame::Int(1));
    assert_eq!(h.call(c, &["DBSIZE"]), Frame::Int(0));
    h.call(c, &["SELECT", "3"]);
    assert_eq!(h.call(c, &["GET", "k"]), bulk("v"));
}

#[test]
fn setresp_in_a_script_does_not_change_the_client() {
    let (mut h, c) = setup();
    h.call(c, &["HSET", "h", "f", "v"]);
    eval(
        &mut h,
        c,
        "redis.setresp(3) return redis.call('hgetall', 'h')",
    );
    assert_eq!(
        h.call(c, &["HGETALL", "h"]),
        Frame::Array(vec![bulk("f"), bulk("v")])
    );
}

#[test]
fn writes_propagate_as_effects_and_the_eval_does_not() {
    let mut h = Harness::new(Config::default());
    h.record_effects();
    let c = h.connect();
    let w = |words: &[&str]| words.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    eval(
        &mut h,
        c,
        "redis.call('set', 'a', '1') redis.call('get', 'a') redis.call('incr', 'a')",
    );
    assert_eq!(
        h.effects(),
        vec![
            w(&["db0", "MULTI"]),
            w(&["db0", "set", "a", "1"]),
            w(&["db0", "incr", "a"]),
            w(&["db0", "EXEC"]),
        ]
    );
    eval(&mut h, c, "redis.call('set', 'b', '1')");
    assert_eq!(h.effects(), vec![w(&["db0", "set", "b", "1"])]);
    eval(&mut h, c, "return redis.call('get', 'b')");
    assert!(h.effects().is_empty());
    eval(
        &mut h,
        c,
        "redis.set_repl(redis.REPL_NONE) redis.call('set', 'c', '1')",
    );
    assert!(h.effects().is_empty());
}

#[test]
fn script_commands_count_in_commandstats() {
    let (mut h, c) = setup();
    eval(
        &mut h,
        c,
        "redis.call('set', 'a', '1') redis.pcall('incr', 'nope', 'x')",
    );
    let Frame::Bulk(info) = h.call(c, &["INFO", "commandstats"]) else {
        panic!("INFO is a bulk string");
    };
    let info = String::from_utf8_lossy(&info);
    assert!(info.contains("cmdstat_set:calls=1,"), "{info}");
    assert!(info.contains("cmdstat_eval:calls=1,"), "{info}");
}
