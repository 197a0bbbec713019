//! Functions against a real `redis-server` 7.0: FUNCTION DUMP payloads
//! move between Keel and Redis both ways, and a corpus of libraries
//! (typical ones and one per load/call error) gets the same replies, byte
//! for byte, in RESP2 and RESP3.
//!
//! Redis lists libraries and functions in its hash tables' order, so the
//! corpus lists one library of one function at a time.
//!
//! Outside CI a missing `redis-server` makes the tests print "SKIPPED:
//! redis-server not found" on stderr and pass; with CI=true they fail.

use keel_engine::resp::frame::Frame;
use keel_tests::conn::RespConn;
use keel_tests::tools::require_tool;
use keel_tests::{KeelServer, RedisServer};

const COUNTER: &str = "#!lua name=counter
redis.register_function('bump', function(keys, args)
  return redis.call('INCRBY', keys[1], args[1] or 1)
end)
redis.register_function{function_name='peek', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}, description='reads the counter'}";

const LOCKS: &str = "#!lua name=locks
local function acquire(keys, args)
  if redis.call('SET', keys[1], args[1], 'NX', 'PX', args[2]) then return 1 end
  return 0
end
local function release(keys, args)
  if redis.call('GET', keys[1]) == args[1] then return redis.call('DEL', keys[1]) end
  return 0
end
redis.register_function('acquire', acquire)
redis.register_function('release', release)";

fn call(conn: &mut RespConn, args: &[&[u8]]) -> Frame {
    conn.call(args).expect("a reply")
}

fn bulk(frame: Frame) -> Vec<u8> {
    match frame {
        Frame::Bulk(b) => b.to_vec(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

/// Loads the libraries on `from`, restores its dump on `to`, and checks
/// that `to` runs them and dumps what `from` dumped.
fn move_libraries(from: &mut RespConn, to: &mut RespConn) {
    for conn in [&mut *from, &mut *to] {
        call(conn, &[b"FUNCTION", b"FLUSH"]);
        call(conn, &[b"FLUSHALL"]);
    }
    for code in [COUNTER, LOCKS] {
        call(from, &[b"FUNCTION", b"LOAD", code.as_bytes()]);
    }
    let payload = bulk(call(from, &[b"FUNCTION", b"DUMP"]));
    assert_eq!(
        call(to, &[b"FUNCTION", b"RESTORE", &payload]),
        Frame::Simple("OK".into())
    );
    assert_eq!(
        call(to, &[b"FCALL", b"bump", b"1", b"n", b"5"]),
        Frame::Int(5)
    );
    assert_eq!(
        call(to, &[b"FCALL_RO", b"peek", b"1", b"n"]),
        Frame::Bulk("5".into())
    );
    assert_eq!(
        call(to, &[b"FCALL", b"acquire", b"1", b"l", b"me", b"1000"]),
        Frame::Int(1)
    );
    for lib in ["counter", "locks"] {
        let list = |c: &mut RespConn| {
            let args: [&[u8]; 5] = [
                b"FUNCTION",
                b"LIST",
                b"WITHCODE",
                b"LIBRARYNAME",
                lib.as_bytes(),
            ];
            sorted_functions(call(c, &args))
        };
        assert_eq!(list(from), list(to), "library {lib}");
    }
    // The payload restores back where it came from, replacing.
    let back = bulk(call(to, &[b"FUNCTION", b"DUMP"]));
    assert_eq!(
        call(from, &[b"FUNCTION", b"RESTORE", &back, b"REPLACE"]),
        Frame::Simple("OK".into())
    );
}

/// FUNCTION LIST with each library's functions sorted (Redis's order is
/// its hash table's).
fn sorted_functions(list: Frame) -> Frame {
    let Frame::Array(libs) = list else {
        panic!("FUNCTION LIST replies an array");
    };
    let libs = libs
        .into_iter()
        .map(|lib| {
            let Frame::Array(mut fields) = lib else {
                panic!("a library is an array in RESP2");
            };
            if let Some(Frame::Array(functions)) = fields.get_mut(5) {
                functions.sort_by_key(|f| format!("{f:?}"));
            }
            Frame::Array(fields)
        })
        .collect();
    Frame::Array(libs)
}

#[test]
fn dump_payloads_move_between_keel_and_redis_both_ways() {
    let Some(binary) = require_tool(
        "redis-server",
        "dump_payloads_move_between_keel_and_redis_both_ways",
    ) else {
        return;
    };
    let redis = RedisServer::start(&binary, &[]).expect("start redis-server");
    let keel = KeelServer::start();
    let mut r = RespConn::connect(redis.addr()).expect("connect to redis");
    let mut k = RespConn::connect(keel.addr()).expect("connect to keel");
    move_libraries(&mut r, &mut k);
    move_libraries(&mut k, &mut r);
}

/// One case: a name and the commands sent, in order, on one connection.
type Case = keel_tests::differ::CorpusCase;

const CORPUS: &[Case] = &[
    ("counter", &[
        &["FUNCTION", "LOAD", COUNTER],
        &["FUNCTION", "LOAD", COUNTER],
        &["FCALL", "bump", "1", "n"],
        &["FCALL", "BUMP", "1", "n", "10"],
        &["FCALL_RO", "peek", "1", "n"],
        &["FCALL_RO", "bump", "1", "n"],
        &["FCALL", "bump", "x"],
        &["FCALL", "bump", "-1"],
        &["FCALL", "bump", "3", "a"],
        &["FCALL", "nosuch", "0"],
        &["FUNCTION", "STATS"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "nomatch"],
        &["FUNCTION", "DELETE", "counter"],
        &["FUNCTION", "DELETE", "counter"],
        &["FCALL", "bump", "1", "n"],
    ]),
    ("locks", &[
        &["FUNCTION", "LOAD", LOCKS],
        &["FCALL", "acquire", "1", "lock", "a", "10000"],
        &["FCALL", "acquire", "1", "lock", "b", "10000"],
        &["FCALL", "release", "1", "lock", "b"],
        &["FCALL", "release", "1", "lock", "a"],
        &["EXISTS", "lock"],
    ]),
    ("one function listed", &[
        &["FUNCTION", "LOAD", "#!lua name=one\nredis.register_function{function_name='f', callback=function() return {1, 'two', {3}} end, flags={'no-writes', 'allow-oom'}, description='d'}"],
        &["FUNCTION", "LIST"],
        &["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "O*"],
        &["FCALL", "f", "0"],
        &["FUNCTION", "LOAD", "REPLACE", "#!lua name=one\nredis.register_function('g', function() return redis.status_reply('FINE') end)"],
        &["FUNCTION", "LIST"],
        &["FCALL", "g", "0"],
        &["FCALL", "f", "0"],
    ]),
    ("load errors", &[
        &["FUNCTION", "LOAD", "return 1"],
        &["FUNCTION", "LOAD", "#!lua name=x"],
        &["FUNCTION", "LOAD", "#!lua\nreturn 1"],
        &["FUNCTION", "LOAD", "#!lua name=a name=b\n"],
        &["FUNCTION", "LOAD", "#!lua foo=bar\n"],
        &["FUNCTION", "LOAD", "#!python name=x\n"],
        &["FUNCTION", "LOAD", "#!lua name=bad-name\n"],
        &["FUNCTION", "LOAD", "#!lua name=e\n"],
        &["FUNCTION", "LOAD", "#!lua name=e\nlocal x ="],
        &["FUNCTION", "LOAD", "#!lua name=e\nlocal s = string.rep('a', 2)"],
        &["FUNCTION", "LOAD", "#!lua name=e\nx = 1"],
        &["FUNCTION", "LOAD", "#!lua name=e\nredis.call('ping')"],
        &["FUNCTION", "LOAD", "#!lua name=e\nredis.register_function('f')"],
        &["FUNCTION", "LOAD", "#!lua name=e\nredis.register_function('f', 1)"],
        &["FUNCTION", "LOAD", "#!lua name=e\nredis.register_function(nil, function() end)"],
        &["FUNCTION", "LOAD", "#!lua name=e\nredis.register_function{function_name='f', callback=function() end, flags={'nope'}}"],
        &["FUNCTION", "LOAD", "#!lua name=e\nredis.register_function{function_name='f', callback=function() end, bogus=1}"],
        &["FUNCTION", "LOAD", "#!lua name=e\nredis.register_function{function_name='f'}"],
        &["FUNCTION", "LOAD", "#!lua name=e\nredis.register_function('a b', function() end)"],
        &["FUNCTION", "LOAD", "#!lua name=e\nredis.register_function('f', function() end) redis.register_function('f', function() end)"],
        &["FUNCTION", "LOAD", "BOGUS", "#!lua name=e\n"],
        &["FUNCTION", "LIST"],
    ]),
    ("call errors", &[
        &["FUNCTION", "LOAD", "#!lua name=errs
redis.register_function('unknown', function() return redis.call('nosuch') end)
redis.register_function('raise', function() error('boom') end)
redis.register_function('table', function() error({err='MY table'}) end)
redis.register_function('reply', function() return redis.error_reply('MY reply') end)
redis.register_function('global', function() y = 1 end)
redis.register_function('keys', function() return KEYS end)
redis.register_function('pcall', function() return redis.pcall('incr', 'nosuch', 'x') end)
redis.register_function{function_name='ro', callback=function() return redis.call('set', 'k', 'v') end, flags={'no-writes'}}"],
        &["FCALL", "unknown", "0"],
        &["FCALL", "raise", "0"],
        &["FCALL", "table", "0"],
        &["FCALL", "reply", "0"],
        &["FCALL", "global", "0"],
        &["FCALL", "keys", "0"],
        &["FCALL", "pcall", "0"],
        &["FCALL", "ro", "0"],
        &["FCALL_RO", "ro", "0"],
    ]),
    ("admin", &[
        &["FUNCTION", "KILL"],
        &["FUNCTION", "FLUSH", "bogus"],
        &["FUNCTION", "FLUSH", "ASYNC", "x"],
        &["FUNCTION", "RESTORE", "bad"],
        &["FUNCTION", "RESTORE", "x", "bogus"],
        &["FUNCTION", "LIST", "bogus"],
        &["FUNCTION", "LIST", "LIBRARYNAME"],
        &["FUNCTION", "LIST", "WITHCODE", "WITHCODE"],
        &["FUNCTION", "DUMP"],
        &["FUNCTION", "STATS"],
        &["FUNCTION", "HELP"],
        &["FUNCTION", "FLUSH", "SYNC"],
    ]),
];

#[test]
fn function_libraries_match_redis() {
    keel_tests::differ::check_corpus(
        "function_libraries_match_redis",
        CORPUS,
        &[&["FUNCTION", "FLUSH"], &["FLUSHALL"]],
    );
}
