//! Redis's own command-line tools against Keel: `redis-cli` (plain, raw and
//! formatted output, RESP3, pipe mode, authentication) and a functional
//! `redis-benchmark` run. Without the tools these tests print a loud
//! SKIPPED line and pass, except under CI=true, where they fail.

use keel_engine::Config;
use keel_tests::tools::require_tool;
use keel_tests::KeelServer;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn redis_cli(test: &str) -> Option<PathBuf> {
    require_tool("redis-cli", test)
}

/// Runs `redis-cli -h 127.0.0.1 -p PORT <args>` with `stdin` as its input.
fn run_cli(cli: &Path, server: &KeelServer, args: &[&str], stdin: &[u8]) -> Output {
    let port = server.port().to_string();
    let mut child = Command::new(cli)
        .args(["-h", "127.0.0.1", "-p", &port])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn redis-cli");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).expect("write redis-cli's stdin");
    drop(input);
    child.wait_with_output().expect("redis-cli output")
}

/// The stdout of a successful `redis-cli <args>` (stdin is empty).
fn cli_stdout(cli: &Path, server: &KeelServer, args: &[&str]) -> String {
    let out = run_cli(cli, server, args, b"");
    assert!(
        out.status.success(),
        "redis-cli {args:?} failed: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn redis_cli_ping_set_get() {
    let Some(cli) = redis_cli("redis_cli_ping_set_get") else {
        return;
    };
    let server = KeelServer::start();
    assert_eq!(cli_stdout(&cli, &server, &["PING"]), "PONG\n");
    assert_eq!(
        cli_stdout(&cli, &server, &["SET", "k", "hello world"]),
        "OK\n"
    );
    // stdout is not a terminal: raw output by default.
    assert_eq!(cli_stdout(&cli, &server, &["GET", "k"]), "hello world\n");
    assert_eq!(cli_stdout(&cli, &server, &["INCR", "n"]), "1\n");
    assert_eq!(cli_stdout(&cli, &server, &["GET", "missing"]), "\n");
}

#[test]
fn redis_cli_formatted_output() {
    let Some(cli) = redis_cli("redis_cli_formatted_output") else {
        return;
    };
    let server = KeelServer::start();
    let formatted = |args: &[&str]| {
        let mut all = vec!["--no-raw"];
        all.extend_from_slice(args);
        cli_stdout(&cli, &server, &all)
    };
    assert_eq!(formatted(&["SET", "k", "v"]), "OK\n");
    assert_eq!(formatted(&["GET", "k"]), "\"v\"\n");
    assert_eq!(formatted(&["GET", "missing"]), "(nil)\n");
    assert_eq!(formatted(&["INCRBY", "n", "5"]), "(integer) 5\n");
    assert_eq!(
        formatted(&["MGET", "k", "missing", "n"]),
        "1) \"v\"\n2) (nil)\n3) \"5\"\n"
    );
    assert_eq!(
        formatted(&["NOSUCHCOMMAND", "a"]),
        "(error) ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'a' \n"
    );
}

#[test]
fn redis_cli_resp3() {
    let Some(cli) = redis_cli("redis_cli_resp3") else {
        return;
    };
    let server = KeelServer::start();
    assert_eq!(cli_stdout(&cli, &server, &["-3", "PING"]), "PONG\n");
    assert_eq!(
        cli_stdout(&cli, &server, &["-3", "--no-raw", "GET", "missing"]),
        "(nil)\n"
    );
    // HELLO's map is shown as a RESP3 map, keys and values with `=>`.
    let hello = cli_stdout(&cli, &server, &["-3", "--no-raw", "HELLO"]);
    let lines: Vec<&str> = hello.lines().collect();
    assert_eq!(lines[0], "1# \"server\" => \"redis\"", "{hello}");
    assert_eq!(lines[1], "2# \"version\" => \"7.0.15\"", "{hello}");
    assert_eq!(lines[2], "3# \"proto\" => (integer) 3", "{hello}");
    // Without -3 the same reply is a flat array.
    let hello2 = cli_stdout(&cli, &server, &["--no-raw", "HELLO"]);
    // (14 items: redis-cli right-aligns the indexes.)
    assert!(
        hello2.starts_with(" 1) \"server\"\n 2) \"redis\"\n"),
        "{hello2}"
    );
}

#[test]
fn redis_cli_info_server() {
    let Some(cli) = redis_cli("redis_cli_info_server") else {
        return;
    };
    let server = KeelServer::start();
    let info = cli_stdout(&cli, &server, &["INFO", "server"]);
    assert!(info.starts_with("# Server\r\n"), "{info}");
    assert!(info.contains("redis_version:7.0.15\r\n"), "{info}");
    assert!(
        info.contains(&format!("tcp_port:{}\r\n", server.port())),
        "{info}"
    );
    assert!(
        !info.contains("# Clients"),
        "only the server section: {info}"
    );
}

#[test]
fn redis_cli_commands_from_stdin_and_pipe_mode() {
    let Some(cli) = redis_cli("redis_cli_commands_from_stdin_and_pipe_mode") else {
        return;
    };
    let server = KeelServer::start();
    let out = run_cli(&cli, &server, &[], b"SET s 5\nINCR s\nGET s\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\n6\n6\n");

    // --pipe: raw RESP on stdin; redis-cli appends an ECHO of its own and
    // counts replies and errors.
    let mut input = Vec::new();
    for i in 0..1000 {
        let key = format!("pipe:{i}");
        input.extend_from_slice(&keel_engine::testing::request(&[
            b"SET",
            key.as_bytes(),
            b"x",
        ]));
    }
    input.extend_from_slice(&keel_engine::testing::request(&[b"NOSUCHCOMMAND"]));
    let out = run_cli(&cli, &server, &["--pipe"], &input);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("errors: 1, replies: 1001"), "{stdout}");
    // The 1000 keys of the pipe, and "s".
    assert_eq!(cli_stdout(&cli, &server, &["DBSIZE"]), "1001\n");
}

#[test]
fn redis_cli_with_password() {
    let Some(cli) = redis_cli("redis_cli_with_password") else {
        return;
    };
    let server = KeelServer::with_config(Config {
        requirepass: Some("s3cret".into()),
        ..Config::default()
    });
    assert_eq!(
        cli_stdout(&cli, &server, &["PING"]),
        "NOAUTH Authentication required.\n\n",
        "raw mode prints an error and a blank line"
    );
    assert_eq!(
        cli_stdout(
            &cli,
            &server,
            &["-a", "s3cret", "--no-auth-warning", "PING"]
        ),
        "PONG\n"
    );
}

/// Functional only: the run completes and reports every test; no timing
/// assertion (the machine is shared).
#[test]
fn redis_benchmark_smoke() {
    let Some(bench) = require_tool("redis-benchmark", "redis_benchmark_smoke") else {
        return;
    };
    let server = KeelServer::start();
    let port = server.port().to_string();
    let out = Command::new(bench)
        .args(["-h", "127.0.0.1", "-p", &port])
        .args(["-n", "2000", "-c", "10", "-P", "4", "--csv"])
        .args(["-t", "ping,set,get,incr,mset"])
        .stdin(Stdio::null())
        .output()
        .expect("run redis-benchmark");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "redis-benchmark failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for test in [
        "PING_INLINE",
        "PING_MBULK",
        "SET",
        "GET",
        "INCR",
        "MSET (10 keys)",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("\"{test}\",")))
            .unwrap_or_else(|| panic!("no CSV line for {test}:\n{stdout}"));
        let rps: f64 = line
            .split(',')
            .nth(1)
            .map(|f| f.trim_matches('"'))
            .and_then(|f| f.parse().ok())
            .unwrap_or_else(|| panic!("no requests/s in {line:?}"));
        assert!(rps > 0.0, "{line}");
    }
    // The benchmark's INCRs really ran: its counter key holds their count.
    let mut conn = keel_tests::RespConn::connect(server.addr()).expect("connect");
    let counter = conn.call(&["GET", "counter:__rand_int__"]).expect("reply");
    assert_eq!(counter.text().as_deref(), Some("2000"));
}
