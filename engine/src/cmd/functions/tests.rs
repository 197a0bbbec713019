//! FUNCTION and FCALL: replies (RESP2 and RESP3), Redis 7.0.15's exact
//! errors, flags, DUMP/RESTORE and propagation.

use crate::config::Config;
use crate::resp::frame::Frame;
use crate::testing::{request, Harness};
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

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

const LIB1: &str = "#!lua name=lib1
redis.register_function('w', function(keys, args) return redis.call('set', keys[1], args[1]) end)
redis.register_function{function_name='r', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes','allow-stale'}, description='reads'}
redis.register_function('err', function(keys, args) return redis.call('nosuch') end)
redis.register_function('err2', function(keys, args) error('boom') end)
redis.register_function('err3', function(keys, args) return redis.error_reply('MY bad') end)
redis.register_function('g', function(keys, args) x = 5 end)
redis.register_function('t', function(keys, args) return {#keys, #args, type(KEYS)} end)
redis.register_function{function_name='rw', callback=function(keys, args) return redis.call('set', 'k', 'v') end, flags={'no-writes'}}
redis.register_function('n', function(keys, args) return {#keys, #args, keys[1], args[1]} end)";

fn load(h: &mut Harness, c: u64, code: &str) -> Frame {
    h.call(c, &["FUNCTION", "LOAD", code])
}

#[test]
fn fcall_runs_functions_with_keys_and_args() {
    let (mut h, c) = setup();
    assert_eq!(load(&mut h, c, LIB1), bulk("lib1"));
    assert_eq!(h.call(c, &["FCALL", "w", "1", "k", "v"]), ok());
    assert_eq!(h.call(c, &["FCALL", "r", "1", "k"]), bulk("v"));
    assert_eq!(h.call(c, &["FCALL_RO", "r", "1", "k"]), bulk("v"));
    // Function names are looked up without case.
    assert_eq!(h.call(c, &["FCALL", "W", "1", "k", "v2"]), ok());
    assert_eq!(
        h.call(c, &["FCALL", "n", "1", "a", "b"]),
        Frame::Array(vec![Frame::Int(1), Frame::Int(1), bulk("a"), bulk("b")])
    );
}

#[test]
fn fcall_errors_are_redis_s() {
    let (mut h, c) = setup();
    load(&mut h, c, LIB1);
    let cases: &[(&[&str], &str)] = &[
        (&["FCALL_RO", "w", "1", "k", "v"], "ERR Can not execute a script with write flag using *_ro command."),
        (&["FCALL", "err", "0"], "ERR Unknown Redis command called from script script: err, on @user_function:4."),
        (&["FCALL", "err2", "0"], "ERR user_function:5: boom script: err2, on @user_function:5."),
        (&["FCALL", "err3", "0"], "MY bad"),
        (&["FCALL", "g", "0"], "ERR user_function:7: Attempt to modify a readonly table script: g, on @user_function:7."),
        (&["FCALL", "t", "0"], "ERR user_function:8: Script attempted to access nonexistent global variable 'KEYS' script: t, on @user_function:8."),
        (&["FCALL", "rw", "0"], "ERR Write commands are not allowed from read-only scripts. script: rw, on @user_function:9."),
        (&["FCALL", "nosuch", "0"], "ERR Function not found"),
        (&["FCALL_RO", "nosuch", "0"], "ERR Function not found"),
        (&["FCALL", "w", "-1"], "ERR Number of keys can't be negative"),
        (&["FCALL", "w", "5", "a"], "ERR Number of keys can't be greater than number of args"),
        (&["FCALL", "w", "x"], "ERR Bad number of keys provided"),
        (&["FCALL", "w"], "ERR wrong number of arguments for 'fcall' command"),
    ];
    for (args, expected) in cases {
        assert_eq!(h.call(c, args), err(expected), "{args:?}");
    }
}

#[test]
fn load_errors_are_redis_s() {
    let (mut h, c) = setup();
    load(&mut h, c, LIB1);
    let body = |b: &str| format!("#!lua name=p\n{b}");
    let registering = |m: &str| format!("ERR Error registering functions: {m}");
    let cases: Vec<(String, String)> = vec![
        (LIB1.to_string(), "ERR Library 'lib1' already exists".into()),
        ("#!lua name=x".into(), "ERR Invalid library metadata".into()),
        ("#!lua name=x2\nredis.register_function('w', function() end)".into(), "ERR Function w already exists".into()),
        ("#!lua name=x3\nredis.register_function('W', function() end)".into(), "ERR Function W already exists".into()),
        (body("local s = string.format('%d', 1)"), registering("ERR user_function:2: Script attempted to access nonexistent global variable 'string'")),
        (body("x = 1"), registering("ERR user_function:2: Attempt to modify a readonly table")),
        (body("redis.x = 1"), registering("ERR user_function:2: Attempt to modify a readonly table")),
        (body("local a = redis.call('ping')"), registering("ERR user_function:2: Script attempted to access nonexistent global variable 'call'")),
        (body("redis.setresp(3)"), registering("ERR user_function:2: Script attempted to access nonexistent global variable 'setresp'")),
        (body("error('boom')"), registering("ERR user_function:2: Script attempted to access nonexistent global variable 'error'")),
        (body("return 1"), "ERR No functions registered".into()),
        (body("local x = "), "ERR Error compiling function: user_function:2: unexpected symbol near '<eof>'".into()),
        (body("redis.register_function('f', 'notfunc')"), registering("ERR second argument to redis.register_function must be a function")),
        (body("redis.register_function('bad name', function() end)"), registering("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long")),
        (body("redis.register_function{function_name='f5', callback=function() end, flags={'bogus'}}"), registering("ERR unknown flag given")),
        (body("redis.register_function{function_name='f5', callback=function() end, flags={5}}"), registering("ERR unknown flag given")),
        (body("redis.register_function{function_name='f6', callback=function() end, other=1}"), registering("ERR unknown argument given to redis.register_function")),
        (body("redis.register_function{function_name='f7'}"), registering("ERR redis.register_function must get a callback argument")),
        (body("redis.register_function{callback=function() end}"), registering("ERR redis.register_function must get a function name argument")),
        (body("redis.register_function('a', function() end, 3)"), registering("ERR wrong number of arguments to redis.register_function")),
        (body("redis.register_function()"), registering("ERR wrong number of arguments to redis.register_function")),
        (body("redis.register_function('x')"), registering("ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")),
        (body("redis.register_function({}, function() end)"), registering("ERR first argument to redis.register_function must be a string")),
        (body("redis.register_function{[1]=2}"), registering("ERR unknown argument given to redis.register_function")),
        (body("redis.register_function{function_name={}, callback=function() end}"), registering("ERR function_name argument given to redis.register_function must be a string")),
        (body("redis.register_function{function_name='a', callback=function() end, description={}}"), registering("ERR description argument given to redis.register_function must be a string")),
        (body("redis.register_function{function_name='a', callback=5}"), registering("ERR callback argument given to redis.register_function must be a function")),
        (body("redis.register_function{function_name='x11', callback=function() end, flags='no-writes'}"), registering("ERR flags argument to redis.register_function must be a table representing function flags")),
        (body("redis.register_function('x13', function() end) redis.register_function('x13', function() end)"), registering("ERR Function already exists in the library")),
    ];
    for (code, expected) in &cases {
        assert_eq!(load(&mut h, c, code), err(expected), "{code}");
    }
    assert_eq!(
        h.call(c, &["FUNCTION", "LOAD", "foo", "#!lua name=x"]),
        err("ERR Unknown option given: foo")
    );
    // Nothing of the failed loads stayed.
    assert_eq!(
        h.call(c, &["FCALL", "x13", "0"]),
        err("ERR Function not found")
    );
}

#[test]
fn load_time_api_and_number_names() {
    let (mut h, c) = setup();
    let code = "#!lua name=lib7
redis.log(redis.LOG_WARNING, 'hi')
local t = {1}
redis.register_function('f7', function() return {redis.REDIS_VERSION, table.getn(t), type(redis.register_function)} end)
redis.register_function{function_name=5, callback=function() return 5 end, description=7}";
    assert_eq!(load(&mut h, c, code), bulk("lib7"));
    assert_eq!(
        h.call(c, &["FCALL", "f7", "0"]),
        Frame::Array(vec![
            bulk(crate::cmd::connection::REDIS_VERSION),
            Frame::Int(1),
            bulk("nil")
        ])
    );
    assert_eq!(h.call(c, &["FCALL", "5", "0"]), Frame::Int(5));
    // A register_function kept past the load cannot register at run time.
    let sneaky = "#!lua name=s
local rf = redis.register_function
rf('h1', function() rf('h2', function() end) end)";
    assert_eq!(load(&mut h, c, sneaky), bulk("s"));
    assert_eq!(
        h.call(c, &["FCALL", "h1", "0"]),
        err("ERR redis.register_function can only be called on FUNCTION LOAD command script: h1, on @user_function:3.")
    );
}

#[test]
fn replace_and_delete_and_flush() {
    let (mut h, c) = setup();
    load(
        &mut h,
        c,
        "#!lua name=a\nredis.register_function('fa', function() return 1 end)",
    );
    let v2 = "#!lua name=a\nredis.register_function('fb', function() return 2 end)";
    assert_eq!(h.call(c, &["FUNCTION", "LOAD", "REPLACE", v2]), bulk("a"));
    assert_eq!(
        h.call(c, &["FCALL", "fa", "0"]),
        err("ERR Function not found")
    );
    assert_eq!(h.call(c, &["FCALL", "fb", "0"]), Frame::Int(2));
    // Library names are case-sensitive.
    let upper = "#!lua name=A\nredis.register_function('fc', function() return 3 end)";
    assert_eq!(load(&mut h, c, upper), bulk("A"));
    assert_eq!(
        h.call(c, &["FUNCTION", "DELETE", "nosuch"]),
        err("ERR Library not found")
    );
    assert_eq!(h.call(c, &["FUNCTION", "DELETE", "a"]), ok());
    assert_eq!(
        h.call(c, &["FCALL", "fb", "0"]),
        err("ERR Function not found")
    );
    assert_eq!(h.call(c, &["FCALL", "fc", "0"]), Frame::Int(3));
    assert_eq!(
        h.call(c, &["FUNCTION", "FLUSH", "bogus"]),
        err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    );
    assert_eq!(
        h.call(c, &["FUNCTION", "FLUSH", "async", "x"]),
        err("ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP.")
    );
    assert_eq!(h.call(c, &["FUNCTION", "FLUSH", "SYNC"]), ok());
    assert_eq!(
        h.call(c, &["FCALL", "fc", "0"]),
        err("ERR Function not found")
    );
    assert_eq!(h.call(c, &["FUNCTION", "LIST"]), Frame::Array(vec![]));
}

fn lib_with_flags() -> &'static str {
    "#!lua name=lib1\nredis.register_function{function_name='r', callback=function(keys, args) return 1 end, flags={'no-writes','allow-stale'}, description='reads'}\nredis.register_function('nod', function() return 1 end)"
}

#[test]
fn list_shape_resp2() {
    let (mut h, c) = setup();
    load(&mut h, c, lib_with_flags());
    let function = |name: &str, desc: Frame, flags: Vec<Frame>| {
        Frame::Array(vec![
            bulk("name"),
            bulk(name),
            bulk("description"),
            desc,
            bulk("flags"),
            Frame::Array(flags),
        ])
    };
    let functions = Frame::Array(vec![
        function("nod", Frame::Null, vec![]),
        function(
            "r",
            bulk("reads"),
            vec![
                Frame::Simple("no-writes".into()),
                Frame::Simple("allow-stale".into()),
            ],
        ),
    ]);
    let lib = |with_code: bool| {
        let mut v = vec![
            bulk("library_name"),
            bulk("lib1"),
            bulk("engine"),
            bulk("LUA"),
            bulk("functions"),
            functions.clone(),
        ];
        if with_code {
            v.extend([bulk("library_code"), bulk(lib_with_flags())]);
        }
        Frame::Array(v)
    };
    assert_eq!(
        h.call(c, &["FUNCTION", "LIST"]),
        Frame::Array(vec![lib(false)])
    );
    assert_eq!(
        h.call(c, &["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "LIB*"]),
        Frame::Array(vec![lib(true)])
    );
    assert_eq!(
        h.call(c, &["FUNCTION", "LIST", "LIBRARYNAME", "x*"]),
        Frame::Array(vec![])
    );
    let cases: &[(&[&str], &str)] = &[
        (
            &["FUNCTION", "LIST", "LIBRARYNAME"],
            "ERR library name argument was not given",
        ),
        (
            &["FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"],
            "ERR Unknown argument LIBRARYNAME",
        ),
        (&["FUNCTION", "LIST", "bogus"], "ERR Unknown argument bogus"),
        (
            &["FUNCTION", "LIST", "withcode", "withcode"],
            "ERR Unknown argument withcode",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(h.call(c, args), err(expected), "{args:?}");
    }
}

#[test]
fn list_and_stats_shape_resp3() {
    let (mut h, c) = setup();
    h.call(c, &["HELLO", "3"]);
    load(&mut h, c, lib_with_flags());
    let Frame::Array(libs) = h.call(c, &["FUNCTION", "LIST", "LIBRARYNAME", "lib1"]) else {
        panic!("an array of libraries");
    };
    let Frame::Map(fields) = &libs[0] else {
        panic!("a library is a map");
    };
    assert_eq!(fields[0], (bulk("library_name"), bulk("lib1")));
    let Frame::Array(functions) = &fields[2].1 else {
        panic!("functions is an array");
    };
    assert_eq!(
        functions[1],
        Frame::Map(vec![
            (bulk("name"), bulk("r")),
            (bulk("description"), bulk("reads")),
            (
                bulk("flags"),
                Frame::Set(vec![
                    Frame::Simple("no-writes".into()),
                    Frame::Simple("allow-stale".into())
                ])
            ),
        ])
    );
    assert_eq!(
        h.call(c, &["FUNCTION", "STATS"]),
        Frame::Map(vec![
            (bulk("running_script"), Frame::Null),
            (
                bulk("engines"),
                Frame::Map(vec![(
                    bulk("LUA"),
                    Frame::Map(vec![
                        (bulk("libraries_count"), Frame::Int(1)),
                        (bulk("functions_count"), Frame::Int(2)),
                    ])
                )])
            ),
        ])
    );
}

#[test]
fn kill_and_help() {
    let (mut h, c) = setup();
    assert_eq!(
        h.call(c, &["FUNCTION", "KILL"]),
        err("NOTBUSY No scripts in execution right now.")
    );
    let Frame::Array(lines) = h.call(c, &["FUNCTION", "HELP"]) else {
        panic!("help is an array");
    };
    assert_eq!(
        lines[0],
        Frame::Simple("FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into())
    );
    assert_eq!(lines.len(), 40);
}

fn call_bytes(h: &mut Harness, c: u64, args: &[&[u8]]) -> Frame {
    h.send_raw(c, &request(args));
    h.read(c).expect("a reply")
}

fn dump(h: &mut Harness, c: u64) -> Bytes {
    match h.call(c, &["FUNCTION", "DUMP"]) {
        Frame::Bulk(b) => b,
        other => panic!("DUMP gave {other:?}"),
    }
}

#[test]
fn dump_and_restore_with_policies() {
    let (mut h, c) = setup();
    // An empty registry dumps as version and checksum only, as Redis.
    assert_eq!(
        &dump(&mut h, c)[..],
        b"\x0a\x00\x5d\x9b\x5c\x40\x0f\x7f\xa2\xda"
    );
    load(&mut h, c, LIB1);
    load(
        &mut h,
        c,
        "#!lua name=other\nredis.register_function('o', function() return 'o' end)",
    );
    let payload = dump(&mut h, c);
    let restore = |h: &mut Harness, extra: &[&[u8]]| {
        let mut args: Vec<&[u8]> = vec![b"FUNCTION", b"RESTORE", &payload];
        args.extend_from_slice(extra);
        call_bytes(h, c, &args)
    };
    assert_eq!(restore(&mut h, &[]), err("ERR Library lib1 already exists"));
    assert_eq!(
        restore(&mut h, &[b"APPEND"]),
        err("ERR Library lib1 already exists")
    );
    assert_eq!(restore(&mut h, &[b"REPLACE"]), ok());
    assert_eq!(
        restore(&mut h, &[b"bogus"]),
        err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    );
    h.call(c, &["FUNCTION", "DELETE", "other"]);
    load(
        &mut h,
        c,
        "#!lua name=third\nredis.register_function('o', function() return 3 end)",
    );
    // REPLACE still refuses a function another library holds.
    assert_eq!(
        restore(&mut h, &[b"REPLACE"]),
        err("ERR Function o already exists")
    );
    assert_eq!(h.call(c, &["FCALL", "o", "0"]), Frame::Int(3));
    assert_eq!(restore(&mut h, &[b"FLUSH"]), ok());
    assert_eq!(h.call(c, &["FCALL", "o", "0"]), bulk("o"));
    assert_eq!(
        h.call(c, &["FCALL", "third", "0"]),
        err("ERR Function not found")
    );
    assert_eq!(dump(&mut h, c), payload);
    h.call(c, &["FUNCTION", "FLUSH"]);
    assert_eq!(restore(&mut h, &[]), ok());
    assert_eq!(h.call(c, &["FCALL", "r", "1", "nokey"]), Frame::Null);
}

#[test]
fn restore_refuses_bad_payloads() {
    let (mut h, c) = setup();
    load(&mut h, c, LIB1);
    let payload = dump(&mut h, c);
    let mut corrupt = payload.to_vec();
    corrupt[5] ^= 0xff;
    let wrong = err("ERR DUMP payload version or checksum are wrong");
    assert_eq!(
        call_bytes(&mut h, c, &[b"FUNCTION", b"RESTORE", &corrupt]),
        wrong
    );
    assert_eq!(
        call_bytes(&mut h, c, &[b"FUNCTION", b"RESTORE", b"bad"]),
        wrong
    );
    // A leading zero byte keeps the CRC64 (zero initial value): the type is refused.
    let mut shifted = vec![0u8];
    shifted.extend_from_slice(&payload);
    assert_eq!(
        call_bytes(&mut h, c, &[b"FUNCTION", b"RESTORE", &shifted, b"FLUSH"]),
        err("ERR given type is not a function")
    );
    // A newer RDB version is refused.
    let mut newer = payload[..payload.len() - 10].to_vec();
    newer.extend_from_slice(&11u16.to_le_bytes());
    let crc = crate::rdb::crc64(&newer);
    newer.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(
        call_bytes(&mut h, c, &[b"FUNCTION", b"RESTORE", &newer, b"FLUSH"]),
        wrong
    );
    // Still loaded after every refusal.
    assert_eq!(h.call(c, &["FCALL", "w", "1", "k", "v"]), ok());
}

#[test]
fn function_commands_propagate_and_fcall_as_its_writes() {
    let mut h = Harness::new(Config::default());
    h.record_effects();
    let c = h.connect();
    let w = |words: &[&str]| words.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let code = "#!lua name=p\nredis.register_function('two', function(keys) redis.call('set', keys[1], '1') redis.call('incr', keys[1]) end)";
    load(&mut h, c, code);
    assert_eq!(h.effects(), vec![w(&["db0", "FUNCTION", "LOAD", code])]);
    h.call(c, &["FCALL", "two", "1", "k"]);
    assert_eq!(
        h.effects(),
        vec![
            w(&["db0", "MULTI"]),
            w(&["db0", "set", "k", "1"]),
            w(&["db0", "incr", "k"]),
            w(&["db0", "EXEC"]),
        ]
    );
    // Failed function commands do not propagate.
    load(&mut h, c, code);
    h.call(c, &["FUNCTION", "DELETE", "nosuch"]);
    assert!(h.effects().is_empty());
    h.call(c, &["FUNCTION", "DELETE", "p"]);
    h.call(c, &["FUNCTION", "FLUSH", "ASYNC"]);
    assert_eq!(
        h.effects(),
        vec![
            w(&["db0", "FUNCTION", "DELETE", "p"]),
            w(&["db0", "FUNCTION", "FLUSH", "ASYNC"])
        ]
    );
}

// ---- persistence ----

const PERSISTED: &str =
    "#!lua name=kept\nredis.register_function('kf', function(keys) return redis.call('incr', keys[1]) end)";

fn aof_config(preamble: bool) -> Config {
    Config {
        appendonly: true,
        appendfsync: "always".into(),
        dir: "/data".into(),
        aof_use_rdb_preamble: preamble,
        ..Config::default()
    }
}

fn restart(mut h: Harness) -> Harness {
    let config = h.node.config().clone();
    let mut next = Harness::new(config);
    next.disk = std::mem::take(&mut h.disk);
    next.advance(0);
    next
}

#[test]
fn libraries_round_trip_through_the_rdb_writer_and_loader() {
    use crate::rdb::loader::{Item, RdbLoader};
    use crate::rdb::writer::{standard_aux, RdbWriter, WriteOptions};
    let (mut h, c) = setup();
    load(&mut h, c, PERSISTED);
    load(&mut h, c, lib_with_flags());
    let srv = h.node.server_mut();
    let mut w = RdbWriter::new(WriteOptions::from_config(&srv.config, srv.now));
    w.begin(&standard_aux(0, 0));
    crate::lua::functions::write_libraries(srv, &mut w);
    w.finish();
    let file = w.take_output();
    let listed_before = h.call(c, &["FUNCTION", "LIST", "WITHCODE"]);

    let (mut fresh, c2) = setup();
    let enc = crate::rdb::Encodings::from_config(&Config::default());
    let mut loader = RdbLoader::new(&file, enc).expect("a valid file");
    let mut loaded = 0;
    while let Some(item) = loader.next_item().expect("loads") {
        if let Item::Function { code } = item {
            let srv = fresh.node.server_mut();
            crate::lua::functions::load_library(srv, &code, false).expect("loads");
            loaded += 1;
        }
    }
    assert_eq!(loaded, 2);
    assert_eq!(
        fresh.call(c2, &["FUNCTION", "LIST", "WITHCODE"]),
        listed_before
    );
    assert_eq!(fresh.call(c2, &["FCALL", "kf", "1", "n"]), Frame::Int(1));
}

#[test]
fn libraries_survive_a_restart_through_the_aof_incr_file() {
    let mut h = Harness::new(aof_config(true));
    h.advance(0);
    let c = h.connect();
    load(&mut h, c, PERSISTED);
    load(
        &mut h,
        c,
        "#!lua name=gone\nredis.register_function('g', function() return 1 end)",
    );
    h.call(c, &["FCALL", "kf", "1", "n"]);
    h.call(c, &["FUNCTION", "DELETE", "gone"]);
    let mut h = restart(h);
    let c = h.connect();
    assert_eq!(h.call(c, &["FCALL", "kf", "1", "n"]), Frame::Int(2));
    assert_eq!(
        h.call(c, &["FCALL", "g", "0"]),
        err("ERR Function not found")
    );
}

#[test]
fn a_command_base_carries_the_libraries_as_function_load() {
    let mut h = Harness::new(aof_config(false));
    h.advance(0);
    let c = h.connect();
    load(&mut h, c, PERSISTED);
    h.call(c, &["FCALL", "kf", "1", "n"]);
    h.call(c, &["BGREWRITEAOF"]);
    h.advance_ticking(200);
    let base = h
        .disk
        .read("/data/appendonlydir/appendonly.aof.2.base.aof")
        .expect("a new base")
        .to_vec();
    let base = String::from_utf8_lossy(&base);
    assert!(
        base.starts_with("*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n"),
        "{base}"
    );
    let mut h = restart(h);
    let c = h.connect();
    assert_eq!(h.call(c, &["FCALL", "kf", "1", "n"]), Frame::Int(2));
}

#[test]
fn an_rdb_preamble_base_carries_the_libraries() {
    use crate::rdb::loader::{Item, RdbLoader};
    let mut h = Harness::new(aof_config(true));
    h.advance(0);
    let c = h.connect();
    load(&mut h, c, PERSISTED);
    h.call(c, &["BGREWRITEAOF"]);
    h.advance_ticking(200);
    let base = h
        .disk
        .read("/data/appendonlydir/appendonly.aof.2.base.rdb")
        .expect("a new base")
        .to_vec();
    let enc = crate::rdb::Encodings::from_config(&Config::default());
    let mut loader = RdbLoader::new(&base, enc).expect("an RDB base");
    let mut codes = Vec::new();
    while let Some(item) = loader.next_item().expect("loads") {
        if let Item::Function { code } = item {
            codes.push(code);
        }
    }
    assert_eq!(codes, vec![PERSISTED.as_bytes().to_vec()]);
    // And a restart loads them from the preamble.
    let mut h = restart(h);
    let c = h.connect();
    assert_eq!(h.call(c, &["FCALL", "kf", "1", "n"]), Frame::Int(1));
}

#[test]
fn info_memory_reports_scripts_and_functions_in_redis_order() {
    let (mut h, c) = setup();
    h.call(c, &["SCRIPT", "LOAD", "return 1"]);
    load(&mut h, c, LIB1);
    load(&mut h, c, PERSISTED);
    let Frame::Bulk(info) = h.call(c, &["INFO", "memory"]) else {
        panic!("INFO is a bulk string");
    };
    let info = String::from_utf8_lossy(&info).into_owned();
    let names: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split_once(':').map(|(n, _)| n))
        .filter(|n| {
            n.contains("lua")
                || n.contains("scripts")
                || n.contains("function")
                || n.contains("librar")
                || n.contains("_vm_")
        })
        .collect();
    assert_eq!(
        names,
        [
            "used_memory_lua",
            "used_memory_vm_eval",
            "used_memory_lua_human",
            "used_memory_scripts_eval",
            "number_of_cached_scripts",
            "number_of_functions",
            "number_of_libraries",
            "used_memory_vm_functions",
            "used_memory_vm_total",
            "used_memory_vm_total_human",
            "used_memory_functions",
            "used_memory_scripts",
            "used_memory_scripts_human",
        ]
    );
    let field = |name: &str| -> u64 {
        let prefix = format!("{name}:");
        let line = info
            .lines()
            .find(|l| l.starts_with(&prefix))
            .expect("present");
        line[prefix.len()..].parse().expect("a number")
    };
    assert_eq!(field("number_of_cached_scripts"), 1);
    assert_eq!(field("number_of_functions"), 10);
    assert_eq!(field("number_of_libraries"), 2);
    assert!(field("used_memory_vm_functions") > 0);
    assert_eq!(
        field("used_memory_vm_total"),
        field("used_memory_vm_eval") + field("used_memory_vm_functions")
    );
    assert!(field("used_memory_functions") > LIB1.len() as u64);
    assert_eq!(
        field("used_memory_scripts"),
        field("used_memory_scripts_eval") + field("used_memory_functions")
    );
}
