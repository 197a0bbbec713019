//! Waiting on servers over the wire in replication tests: INFO fields,
//! polling with a deadline, a replica caught up with its primary.

use crate::conn::RespConn;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long a replication test waits for a state before it fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The value of `field` in the server's `INFO everything`, if it answers.
pub fn info_field(addr: SocketAddr, field: &str) -> Option<String> {
    let mut conn = RespConn::connect(addr).ok()?;
    let info = conn.call(&["INFO", "everything"]).ok()?.text()?;
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
}

/// Polls until `check` holds, or fails the test after [`PATIENCE`].
pub fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The replica's link is up and it applied everything the primary produced.
pub fn wait_caught_up(primary: SocketAddr, replica: SocketAddr) {
    wait_for("the replica to catch up", || {
        let up = info_field(replica, "master_link_status").as_deref() == Some("up");
        let wanted = info_field(primary, "master_repl_offset");
        up && wanted.is_some() && info_field(replica, "slave_repl_offset") == wanted
    });
}
