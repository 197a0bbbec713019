//! End-to-end tests over real TCP with the `redis` crate (redis-rs, sync
//! API), each run once in RESP2 and once in RESP3 (the crate sends
//! `HELLO 3` on connect when asked for RESP3).

use keel_engine::Config;
use keel_tests::KeelServer;
use redis::{Connection, RedisError, Value};
use std::collections::HashMap;

const PROTOCOLS: [bool; 2] = [false, true];

fn connect(server: &KeelServer, resp3: bool) -> Connection {
    redis::Client::open(server.url(resp3))
        .and_then(|client| client.get_connection())
        .unwrap_or_else(|e| panic!("connect (resp3: {resp3}): {e}"))
}

/// The full error line the server sent (`ERR ...`, `WRONGPASS ...`).
fn error_text(err: &RedisError) -> String {
    match (err.code(), err.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => panic!("not a server error: {err:?}"),
    }
}

fn query<T: redis::FromRedisValue>(con: &mut Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(con)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

fn query_err(con: &mut Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    match cmd.query::<Value>(con) {
        Err(e) => error_text(&e),
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
    }
}

#[test]
fn ping_and_echo() {
    let server = KeelServer::start();
    for resp3 in PROTOCOLS {
        let mut con = connect(&server, resp3);
        let pong: String = query(&mut con, &["PING"]);
        assert_eq!(pong, "PONG");
        let hello: Vec<u8> = query(&mut con, &["PING", "hello world"]);
        assert_eq!(hello, b"hello world");
        let echoed: Vec<u8> = query(&mut con, &["ECHO", "\r\n\0binary"]);
        assert_eq!(echoed, b"\r\n\0binary");
    }
}

#[test]
fn hello_reports_the_negotiated_protocol() {
    let server = KeelServer::start();
    for resp3 in PROTOCOLS {
        let mut con = connect(&server, resp3);
        let reply: Value = query(&mut con, &["HELLO"]);
        let pairs: Vec<(Value, Value)> = match reply {
            Value::Map(pairs) => {
                assert!(resp3, "a map reply on a RESP2 connection");
                pairs
            }
            Value::Array(flat) => {
                assert!(!resp3, "a flat array on a RESP3 connection");
                flat.chunks(2)
                    .map(|kv| (kv[0].clone(), kv[1].clone()))
                    .collect()
            }
            other => panic!("HELLO reply {other:?}"),
        };
        let fields: HashMap<String, Value> = pairs
            .into_iter()
            .map(|(k, v)| (redis::from_redis_value(k).expect("key"), v))
            .collect();
        assert_eq!(fields["proto"], Value::Int(if resp3 { 3 } else { 2 }));
        assert_eq!(fields["server"], Value::BulkString(b"redis".to_vec()));
        assert_eq!(fields["version"], Value::BulkString(b"7.0.15".to_vec()));
        assert_eq!(fields["mode"], Value::BulkString(b"standalone".to_vec()));
        assert_eq!(fields["role"], Value::BulkString(b"master".to_vec()));
    }
}

#[test]
fn strings_set_get_incr_mset_mget() {
    let server = KeelServer::start();
    for resp3 in PROTOCOLS {
        let mut con = connect(&server, resp3);
        let _: () = query(&mut con, &["FLUSHALL"]);
        let ok: String = query(&mut con, &["SET", "greeting", "hello"]);
        assert_eq!(ok, "OK");
        let got: Option<String> = query(&mut con, &["GET", "greeting"]);
        assert_eq!(got.as_deref(), Some("hello"));
        let missing: Value = query(&mut con, &["GET", "nope"]);
        assert_eq!(missing, Value::Nil);

        let n: i64 = query(&mut con, &["INCR", "counter"]);
        assert_eq!(n, 1);
        let n: i64 = query(&mut con, &["INCRBY", "counter", "41"]);
        assert_eq!(n, 42);
        let n: i64 = query(&mut con, &["DECR", "counter"]);
        assert_eq!(n, 41);
        assert_eq!(
            query_err(&mut con, &["INCR", "greeting"]),
            "ERR value is not an integer or out of range"
        );
        let _: () = query(&mut con, &["SET", "max", &i64::MAX.to_string()]);
        assert_eq!(
            query_err(&mut con, &["INCR", "max"]),
            "ERR increment or decrement would overflow"
        );

        let ok: String = query(&mut con, &["MSET", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(ok, "OK");
        let values: Vec<Option<String>> = query(&mut con, &["MGET", "a", "nope", "c", "b"]);
        assert_eq!(
            values,
            vec![Some("1".into()), None, Some("3".into()), Some("2".into())]
        );
        assert_eq!(
            query_err(&mut con, &["MSET", "a", "1", "b"]),
            "ERR wrong number of arguments for 'mset' command"
        );
    }
}

#[test]
fn expire_and_ttl() {
    let server = KeelServer::start();
    for resp3 in PROTOCOLS {
        let mut con = connect(&server, resp3);
        let _: () = query(&mut con, &["FLUSHALL"]);
        let _: () = query(&mut con, &["SET", "k", "v"]);
        let ttl: i64 = query(&mut con, &["TTL", "k"]);
        assert_eq!(ttl, -1, "no expiry yet");
        let set: i64 = query(&mut con, &["EXPIRE", "k", "100"]);
        assert_eq!(set, 1);
        let ttl: i64 = query(&mut con, &["TTL", "k"]);
        assert!((99..=100).contains(&ttl), "TTL {ttl}");
        let pttl: i64 = query(&mut con, &["PTTL", "k"]);
        assert!((98_000..=100_000).contains(&pttl), "PTTL {pttl}");
        let persisted: i64 = query(&mut con, &["PERSIST", "k"]);
        assert_eq!(persisted, 1);
        let ttl: i64 = query(&mut con, &["TTL", "k"]);
        assert_eq!(ttl, -1);
        let ttl: i64 = query(&mut con, &["TTL", "missing"]);
        assert_eq!(ttl, -2);
        let set: i64 = query(&mut con, &["EXPIRE", "missing", "100"]);
        assert_eq!(set, 0);

        // A past expiry deletes the key at once.
        let set: i64 = query(&mut con, &["EXPIRE", "k", "-1"]);
        assert_eq!(set, 1);
        let exists: i64 = query(&mut con, &["EXISTS", "k"]);
        assert_eq!(exists, 0);
    }
}

#[test]
fn keys_expire_in_real_time() {
    let server = KeelServer::start();
    let mut con = connect(&server, false);
    let _: () = query(&mut con, &["SET", "short", "v", "PX", "50"]);
    let _: () = query(&mut con, &["SET", "long", "v", "EX", "1000"]);
    std::thread::sleep(std::time::Duration::from_millis(150));
    let short: Value = query(&mut con, &["GET", "short"]);
    assert_eq!(short, Value::Nil, "expired after its 50 ms");
    let long: Option<String> = query(&mut con, &["GET", "long"]);
    assert_eq!(long.as_deref(), Some("v"));
}

#[test]
fn pipelines_of_thousands_of_commands() {
    const N: i64 = 5_000;
    let server = KeelServer::start();
    for resp3 in PROTOCOLS {
        let mut con = connect(&server, resp3);
        let _: () = query(&mut con, &["DEL", "pipelined"]);
        let mut pipe = redis::pipe();
        for _ in 0..N {
            pipe.cmd("INCR").arg("pipelined");
        }
        let counts: Vec<i64> = pipe.query(&mut con).expect("INCR pipeline");
        assert_eq!(counts, (1..=N).collect::<Vec<_>>());

        let mut pipe = redis::pipe();
        for i in 0..N {
            pipe.cmd("SET").arg(format!("p:{i}")).arg(i).ignore();
        }
        for i in 0..N {
            pipe.cmd("GET").arg(format!("p:{i}"));
        }
        let values: Vec<i64> = pipe.query(&mut con).expect("SET/GET pipeline");
        assert_eq!(values, (0..N).collect::<Vec<_>>());
    }
}

#[test]
fn select_switches_database_per_connection() {
    let server = KeelServer::start();
    for resp3 in PROTOCOLS {
        let mut con = connect(&server, resp3);
        let mut other = connect(&server, resp3);
        let _: () = query(&mut con, &["FLUSHALL"]);
        let _: () = query(&mut con, &["SET", "k", "in-db0"]);
        let ok: String = query(&mut con, &["SELECT", "1"]);
        assert_eq!(ok, "OK");
        let missing: Value = query(&mut con, &["GET", "k"]);
        assert_eq!(missing, Value::Nil);
        let _: () = query(&mut con, &["SET", "k", "in-db1"]);
        let size: i64 = query(&mut con, &["DBSIZE"]);
        assert_eq!(size, 1);
        // The other connection is still in db 0.
        let got: String = query(&mut other, &["GET", "k"]);
        assert_eq!(got, "in-db0");
        let _: () = query(&mut con, &["SELECT", "0"]);
        let got: String = query(&mut con, &["GET", "k"]);
        assert_eq!(got, "in-db0");
        assert_eq!(
            query_err(&mut con, &["SELECT", "16"]),
            "ERR DB index is out of range"
        );
        assert_eq!(
            query_err(&mut con, &["SELECT", "x"]),
            "ERR value is not an integer or out of range"
        );
    }
}

#[test]
fn client_setname_getname() {
    let server = KeelServer::start();
    for resp3 in PROTOCOLS {
        let mut con = connect(&server, resp3);
        let name: Value = query(&mut con, &["CLIENT", "GETNAME"]);
        assert_eq!(name, Value::Nil);
        let ok: String = query(&mut con, &["CLIENT", "SETNAME", "worker-1"]);
        assert_eq!(ok, "OK");
        let name: String = query(&mut con, &["CLIENT", "GETNAME"]);
        assert_eq!(name, "worker-1");
        assert_eq!(
            query_err(&mut con, &["CLIENT", "SETNAME", "has space"]),
            "ERR Client names cannot contain spaces, newlines or special characters."
        );
        let list: String = query(&mut con, &["CLIENT", "LIST"]);
        assert!(
            list.lines().any(|l| l.contains(" name=worker-1 ")),
            "CLIENT LIST shows the name:\n{list}"
        );
        // An empty name clears it.
        let _: () = query(&mut con, &["CLIENT", "SETNAME", ""]);
        let name: Value = query(&mut con, &["CLIENT", "GETNAME"]);
        assert_eq!(name, Value::Nil);
    }
}

/// INFO's text: `# Section` headers, `field:value` lines, CRLF endings.
fn parse_info(text: &str) -> Vec<(String, HashMap<String, String>)> {
    let mut sections: Vec<(String, HashMap<String, String>)> = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if let Some(title) = line.strip_prefix("# ") {
            sections.push((title.to_string(), HashMap::new()));
            continue;
        }
        let (field, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("INFO line without ':': {line:?}"));
        let (_, fields) = sections
            .last_mut()
            .unwrap_or_else(|| panic!("INFO field before any section: {line:?}"));
        fields.insert(field.to_string(), value.to_string());
    }
    sections
}

#[test]
fn info_parses_and_reports_the_server() {
    let server = KeelServer::start();
    for resp3 in PROTOCOLS {
        let mut con = connect(&server, resp3);
        let _: () = query(&mut con, &["FLUSHALL"]);
        let _: () = query(&mut con, &["MSET", "a", "1", "b", "2"]);
        let _: () = query(&mut con, &["EXPIRE", "a", "1000"]);

        let raw: Value = query(&mut con, &["INFO"]);
        let text = match raw {
            Value::VerbatimString { text, .. } if resp3 => text,
            Value::BulkString(bytes) if !resp3 => String::from_utf8(bytes).expect("UTF-8"),
            other => panic!("INFO reply type (resp3: {resp3}): {other:?}"),
        };
        assert!(!text.contains('\n') || text.contains("\r\n"), "CRLF lines");
        let sections = parse_info(&text);
        let titles: Vec<&str> = sections.iter().map(|(t, _)| t.as_str()).collect();
        for wanted in ["Server", "Clients", "Memory", "Stats", "Keyspace"] {
            assert!(titles.contains(&wanted), "section {wanted} in {titles:?}");
        }
        let section = |name: &str| &sections.iter().find(|(t, _)| t == name).expect(name).1;
        let srv = section("Server");
        assert_eq!(srv["redis_version"], "7.0.15");
        assert_eq!(srv["tcp_port"], server.port().to_string());
        assert_eq!(srv["redis_mode"], "standalone");
        assert_eq!(srv["run_id"].len(), 40);
        let clients = section("Clients");
        let connected: i64 = clients["connected_clients"].parse().expect("a count");
        assert!(connected >= 1);
        let stats = section("Stats");
        let processed: i64 = stats["total_commands_processed"].parse().expect("a count");
        assert!(
            processed >= 3,
            "FLUSHALL, MSET and EXPIRE were counted: {processed}"
        );
        assert!(section("Keyspace")["db0"].starts_with("keys=2,expires=1,avg_ttl="));

        // One section by name, case-insensitive.
        let only: redis::InfoDict = query(&mut con, &["INFO", "SERVER"]);
        assert_eq!(
            only.get::<String>("redis_version").as_deref(),
            Some("7.0.15")
        );
        assert!(only.get::<String>("connected_clients").is_none());
    }
}

#[test]
fn unknown_command_keeps_the_connection_open() {
    let server = KeelServer::start();
    for resp3 in PROTOCOLS {
        let mut con = connect(&server, resp3);
        assert_eq!(
            query_err(&mut con, &["NOSUCHCOMMAND", "a", "b"]),
            "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'a' 'b' "
        );
        assert_eq!(
            query_err(&mut con, &["GET"]),
            "ERR wrong number of arguments for 'get' command"
        );
        let pong: String = query(&mut con, &["PING"]);
        assert_eq!(pong, "PONG");
    }
}

fn auth_config(password: &str) -> Config {
    Config {
        requirepass: Some(password.into()),
        ..Config::default()
    }
}

#[test]
fn auth_with_requirepass() {
    let server = KeelServer::with_config(auth_config("s3cret"));
    for resp3 in PROTOCOLS {
        // Without a password: RESP2 connects and gets NOAUTH on use; the
        // crate's RESP3 handshake (HELLO 3) itself needs authentication.
        let client = redis::Client::open(server.url(resp3)).expect("client");
        match client.get_connection() {
            Ok(mut con) => {
                assert!(!resp3, "HELLO 3 without AUTH must be refused");
                assert_eq!(
                    query_err(&mut con, &["PING"]),
                    "NOAUTH Authentication required."
                );
                assert_eq!(
                    query_err(&mut con, &["AUTH", "wrong"]),
                    "WRONGPASS invalid username-password pair or user is disabled."
                );
                let ok: String = query(&mut con, &["AUTH", "s3cret"]);
                assert_eq!(ok, "OK");
                let pong: String = query(&mut con, &["PING"]);
                assert_eq!(pong, "PONG");
            }
            Err(e) => {
                assert!(resp3, "RESP2 connect needs no auth: {e}");
                assert!(error_text(&e).starts_with("NOAUTH"), "{e}");
            }
        }

        // With the password in the URL: AUTH (RESP2) or HELLO 3 AUTH (RESP3).
        let url = server
            .url(resp3)
            .replacen("redis://", "redis://:s3cret@", 1);
        let mut con = redis::Client::open(url)
            .and_then(|c| c.get_connection())
            .unwrap_or_else(|e| panic!("authenticated connect (resp3: {resp3}): {e}"));
        let _: () = query(&mut con, &["SET", "secret-key", "v"]);
        let got: String = query(&mut con, &["GET", "secret-key"]);
        assert_eq!(got, "v");

        let url = server.url(resp3).replacen("redis://", "redis://:nope@", 1);
        let refused = redis::Client::open(url).and_then(|c| c.get_connection());
        let err = refused.err().expect("a wrong password is refused");
        let wrongpass = err.code() == Some("WRONGPASS");
        let auth_failed = err.kind() == redis::ErrorKind::AuthenticationFailed;
        assert!(wrongpass || auth_failed, "{err}");
    }
}
