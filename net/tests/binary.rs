//! The keel-server binary: version, config errors, startup from a config
//! file plus flags, and a clean exit on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_keel-server");

/// A scratch file unique to this test process.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("keel-bin-test-{}-{name}", std::process::id()))
}

#[test]
fn version_line_has_redis_shape_and_names_keel() {
    for flag in ["-v", "--version"] {
        let out = Command::new(BIN).arg(flag).output().unwrap();
        assert!(out.status.success());
        let line = String::from_utf8(out.stdout).unwrap();
        assert!(line.starts_with("Redis server v=7.0.15 "), "{line}");
        assert!(line.contains("Keel"), "{line}");
    }
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("Usage: keel-server"));
}

#[test]
fn bad_directive_exits_with_code_1_and_the_fatal_block() {
    let conf = scratch("bad.conf");
    std::fs::write(&conf, "port 7001\n# comment\nfoo bar\n").unwrap();
    let out = Command::new(BIN).arg(&conf).output().unwrap();
    std::fs::remove_file(&conf).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(
            "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n\
             Reading the configuration file, at line 3\n\
             >>> 'foo bar'\n\
             Bad directive or wrong number of arguments"
        ),
        "{err}"
    );
}

/// Waits for the "Listening on ADDR" log line and returns ADDR. The rest
/// of the output is drained on a thread, so the server's later log lines
/// never hit a closed pipe.
fn listening_addr(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if let Some(at) = line.find("Listening on ") {
                let _ = tx.send(line[at + "Listening on ".len()..].trim().to_string());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the server says where it listens")
}

#[test]
fn serves_from_file_and_flags_and_exits_cleanly_on_sigterm() {
    let conf = scratch("ok.conf");
    let pidfile = scratch("keel.pid");
    std::fs::write(
        &conf,
        format!(
            "bind 127.0.0.1\nport 6379\nrequirepass \"s3cret\"\npidfile {}\n",
            pidfile.display()
        ),
    )
    .unwrap();
    let dir = scratch("dir");
    std::fs::create_dir_all(&dir).unwrap();
    // The flag wins over the file's port: 0 picks a free one.
    let mut child = Command::new(BIN)
        .arg(&conf)
        .args(["--port", "0", "--loglevel", "notice", "--save", ""])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = listening_addr(&mut child);
    assert_ne!(addr, "127.0.0.1:6379");
    let pid_text = std::fs::read_to_string(&pidfile).unwrap();
    assert_eq!(pid_text.trim(), child.id().to_string());

    let mut conn = TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn.write_all(b"PING\r\nAUTH s3cret\r\nPING\r\n").unwrap();
    let expected = "-NOAUTH Authentication required.\r\n+OK\r\n+PONG\r\n";
    let mut got = vec![0u8; expected.len()];
    conn.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8(got).unwrap(), expected);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    std::fs::remove_file(&conf).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(status.success(), "exit status {status}");
    assert!(!pidfile.exists(), "the pid file is removed on exit");
    let mut rest = Vec::new();
    assert_eq!(conn.read_to_end(&mut rest).unwrap(), 0, "connection closed");
}

/// An AOF directory in `dir` whose manifest names one incr file holding
/// `content`.
fn write_one_incr_aof(dir: &std::path::Path, content: &str) {
    let aof_dir = dir.join("appendonlydir");
    std::fs::create_dir_all(&aof_dir).unwrap();
    std::fs::write(
        aof_dir.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    std::fs::write(aof_dir.join("appendonly.aof.1.incr.aof"), content).unwrap();
}

#[test]
fn a_corrupt_aof_stops_the_start_with_the_file_and_offset_in_the_log() {
    let dir = scratch("corrupt-aof");
    let select = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";
    write_one_incr_aof(&dir, &format!("{select}!garbage\r\n{select}"));
    let out = Command::new(BIN)
        .args(["--port", "0", "--bind", "127.0.0.1", "--save", ""])
        .args(["--appendonly", "yes", "--loglevel", "notice"])
        .arg("--dir")
        .arg(&dir)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let log = String::from_utf8_lossy(&out.stdout);
    let expected = format!(
        "Bad file format reading the append only file appendonly.aof.1.incr.aof at offset {}",
        select.len()
    );
    assert!(log.contains(&expected), "{log}");
    assert!(
        !log.contains("bye bye"),
        "a failed start is no clean exit: {log}"
    );
    assert!(
        !log.contains("Ready to accept connections"),
        "a refused start is never ready: {log}"
    );
}

#[test]
fn ready_is_logged_after_the_data_loaded() {
    let dir = scratch("ready-after-load");
    write_one_incr_aof(&dir, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--bind", "127.0.0.1", "--save", ""])
        .args(["--appendonly", "yes", "--loglevel", "notice"])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let ready = line.contains("Ready to accept connections");
        lines.push(line);
        if ready {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let loaded = lines
        .iter()
        .position(|l| l.contains("DB loaded from append only file"));
    let ready = lines
        .iter()
        .position(|l| l.contains("Ready to accept connections"));
    assert!(
        matches!((loaded, ready), (Some(l), Some(r)) if l < r),
        "the ready line follows the load: {lines:#?}"
    );
}
