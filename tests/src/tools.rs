//! External binaries (`redis-server`, `redis-cli`, `redis-benchmark`) and
//! what a test does when one is missing.
//!
//! Outside CI a missing tool skips the test with a loud line on stderr, so a
//! developer without Redis installed can still run `cargo test`. Under
//! `CI=true` a missing tool fails the test: `.ci/run` installs them, and a
//! CI run that silently skipped the oracle would prove nothing.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// True when running under CI (`CI=true`, as CI systems set it).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The full path of `name` if it is an executable file on `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The path of tool `name`, or `None` after printing a loud SKIPPED line.
/// Panics instead under CI, where every tool must be present.
pub fn require_tool(name: &str, test: &str) -> Option<PathBuf> {
    if let Some(path) = find_on_path(name) {
        return Some(path);
    }
    assert!(
        !under_ci(),
        "{name} not found on PATH and CI=true: .ci/run must install it (test {test})"
    );
    // Written to the stderr stream itself, not with `eprintln!`, which the
    // test harness captures and hides for passing tests.
    let line = format!(
        "\n*** SKIPPED: {name} not found ({test}); \
         install redis-server/redis-tools to run it ***\n"
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    None
}

/// A loopback port that was free a moment ago. Another process may take it
/// before the caller binds it, so callers that start external servers retry.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    listener.local_addr().expect("local address").port()
}

/// Runs `redis-check-rdb` (at `check`) on `file` and fails the test unless
/// it exits 0 and reports `RDB looks OK`.
pub fn assert_check_rdb_accepts(check: &Path, file: &Path) {
    let checked = std::process::Command::new(check)
        .arg(file)
        .output()
        .expect("run redis-check-rdb");
    let report = String::from_utf8_lossy(&checked.stdout).into_owned();
    assert!(
        checked.status.success() && report.contains("RDB looks OK"),
        "redis-check-rdb refused Keel's file:\n{report}"
    );
}
