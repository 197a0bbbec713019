//! The replication scenario's clients: the writer on the primary (which
//! reconnects across the primary's restarts), its WAIT probes, and the
//! final reader.

use super::checks::{WaitCheck, WriteOp};
use super::{Shared, PRIMARY, REPLICAS};
use crate::nemesis::between;
use crate::SimClient;
use keel_engine::resp::frame::Frame;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a client waits for one reply before giving up on it.
const OP_TIMEOUT_MS: u64 = 1000;
/// How long the healed system gets to converge before it is read.
const SETTLE_MS: u64 = 30_000;
/// Pause before the writer tries the primary again.
const RECONNECT_MS: u64 = 200;

pub fn elapsed_ms() -> u64 {
    turmoil::sim_elapsed().unwrap_or_default().as_millis() as u64
}

pub async fn connect(host: &str, id: u64, shared: &Shared) -> Option<SimClient> {
    let attempt = SimClient::connect(host, id, shared.trace.clone());
    match tokio::time::timeout(Duration::from_millis(OP_TIMEOUT_MS), attempt).await {
        Ok(Ok(client)) => Some(client),
        _ => None,
    }
}

pub async fn call(client: &mut SimClient, args: &[&str]) -> Option<Frame> {
    let timeout = Duration::from_millis(OP_TIMEOUT_MS);
    match tokio::time::timeout(timeout, client.call(args)).await {
        Ok(Ok(frame)) => Some(frame),
        _ => None,
    }
}

/// A connection to the primary, retried until one opens.
async fn connect_primary(shared: &Shared) -> SimClient {
    loop {
        if let Some(client) = connect(PRIMARY, 0, shared).await {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(RECONNECT_MS)).await;
    }
}

/// The writer: SETs, INCRs and RPUSHes on the primary, and every ninth
/// write a marker and a WAIT. A write without a reply (the primary
/// crashed, a partition) is of unknown outcome; the writer reconnects.
pub async fn run_writer(seed: u64, writes: usize, shared: &Shared) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.rotate_left(7) ^ 0x77);
    // The replicas start syncing while the writer starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut client = connect_primary(shared).await;
    for i in 0..writes {
        let n = i.to_string();
        let acked = match between(&mut rng, 0, 2) {
            0 => {
                let key = format!("r{}", between(&mut rng, 0, 7));
                call(&mut client, &["SET", &key, &n]).await.is_some()
            }
            1 => {
                let acked = is_int(call(&mut client, &["INCR", "cnt"]).await);
                shared.ops.borrow_mut().push(WriteOp::Incr { acked });
                acked
            }
            _ => {
                let acked = is_int(call(&mut client, &["RPUSH", "log", &n]).await);
                shared
                    .ops
                    .borrow_mut()
                    .push(WriteOp::Push { value: n, acked });
                acked
            }
        };
        if !acked {
            tokio::time::sleep(Duration::from_millis(RECONNECT_MS)).await;
            client = connect_primary(shared).await;
            continue;
        }
        if i % 9 == 8 {
            wait_check(&mut client, i, &mut rng, shared).await;
        }
        tokio::time::sleep(Duration::from_millis(between(&mut rng, 0, 40))).await;
    }
}

fn is_int(reply: Option<Frame>) -> bool {
    matches!(reply, Some(Frame::Int(_)))
}

/// Writes a marker, WAITs for replicas, then asks each replica for it.
async fn wait_check(client: &mut SimClient, i: usize, rng: &mut ChaCha8Rng, shared: &Shared) {
    let marker = format!("w{i}");
    let from_ms = elapsed_ms();
    if call(client, &["SET", &marker, "1"]).await.is_none() {
        return;
    }
    let wanted = between(rng, 1, 2).to_string();
    let Some(Frame::Int(claimed)) = call(client, &["WAIT", &wanted, "300"]).await else {
        return;
    };
    let mut seen = Vec::new();
    for (r, name) in REPLICAS.iter().enumerate() {
        let answer = match connect(name, 10 + r as u64, shared).await {
            Some(mut c) => holds_marker(&mut c, &marker).await,
            None => None,
        };
        seen.push(answer);
    }
    let to_ms = elapsed_ms();
    shared.waits.borrow_mut().push(WaitCheck {
        marker,
        claimed,
        seen,
        from_ms,
        to_ms,
    });
}

/// Whether a replica holds `marker`: None when it cannot say, which is
/// also the case of a replica without the marker whose link is not up:
/// one still receiving or loading a snapshot answers from its old data,
/// and WAIT counts such a replica for a write made before any replica
/// was attached (offset 0), as Redis 7.0 does (see the module docs of
/// `repl_scenario`).
async fn holds_marker(c: &mut SimClient, marker: &str) -> Option<bool> {
    match call(c, &["EXISTS", marker]).await {
        Some(Frame::Int(1)) => Some(true),
        Some(Frame::Int(_)) => {
            let Some(Frame::Bulk(info)) = call(c, &["INFO", "replication"]).await else {
                return None;
            };
            let up = String::from_utf8_lossy(&info).contains("master_link_status:up");
            up.then_some(false)
        }
        _ => None,
    }
}

/// Final states and counters, read once the system is quiet.
#[derive(Debug, Default, Clone)]
pub struct FinalRead {
    pub states: Vec<(String, BTreeMap<String, Vec<u8>>)>,
    pub offsets: Vec<(String, String)>,
    pub primary_stats: BTreeMap<String, String>,
    /// The primary's list and counter, for the durability check.
    pub log: Vec<String>,
    pub cnt: Option<i64>,
}

/// After the heal: waits until the replicas caught up (or the settle
/// time passed), then reads every host.
pub async fn read_final(shared: &Shared) {
    while !shared.healed.get() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Offsets are read one host after the other while the primary's PING
    // moves them: a round that saw them equal is the one kept.
    let deadline = elapsed_ms() + SETTLE_MS;
    let offsets = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let offsets = read_offsets(shared).await;
        let all_equal = offsets.windows(2).all(|w| w[0].1 == w[1].1);
        if (all_equal && offsets.len() == 3) || elapsed_ms() > deadline {
            break offsets;
        }
    };
    let mut read = FinalRead {
        offsets,
        ..FinalRead::default()
    };
    for host in std::iter::once(PRIMARY).chain(REPLICAS) {
        read.states
            .push((host.to_string(), read_state(host, shared).await));
    }
    read.primary_stats = read_info(PRIMARY, shared).await;
    if let Some(mut c) = connect(PRIMARY, 40, shared).await {
        if let Some(Frame::Array(items)) = call(&mut c, &["LRANGE", "log", "0", "-1"]).await {
            read.log = items.iter().filter_map(Frame::text).collect();
        }
        read.cnt = match call(&mut c, &["GET", "cnt"]).await {
            Some(Frame::Bulk(n)) => String::from_utf8_lossy(&n).parse().ok(),
            _ => None,
        };
    }
    *shared.final_read.borrow_mut() = Some(read);
}

/// Each host's replication offset (the primary's, the replicas' applied).
async fn read_offsets(shared: &Shared) -> Vec<(String, String)> {
    let mut offsets = Vec::new();
    for host in std::iter::once(PRIMARY).chain(REPLICAS) {
        let info = read_info(host, shared).await;
        let field = if host == PRIMARY {
            "master_repl_offset"
        } else {
            "slave_repl_offset"
        };
        // A replica still syncing may show the primary's offset (both
        // 0 after a restart) without having its data: only a replica
        // whose link is up counts.
        let linked =
            host == PRIMARY || info.get("master_link_status").map(String::as_str) == Some("up");
        if let Some(offset) = info.get(field).filter(|_| linked) {
            offsets.push((host.to_string(), offset.clone()));
        }
    }
    offsets
}

pub async fn read_info(host: &str, shared: &Shared) -> BTreeMap<String, String> {
    let Some(mut c) = connect(host, 20, shared).await else {
        return BTreeMap::new();
    };
    let Some(Frame::Bulk(text)) = call(&mut c, &["INFO", "everything"]).await else {
        return BTreeMap::new();
    };
    String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// Every key of database 0 with its value (a list as its elements joined).
async fn read_state(host: &str, shared: &Shared) -> BTreeMap<String, Vec<u8>> {
    let mut state = BTreeMap::new();
    let Some(mut c) = connect(host, 30, shared).await else {
        return state;
    };
    let Some(Frame::Array(keys)) = call(&mut c, &["KEYS", "*"]).await else {
        return state;
    };
    for key in keys.iter().filter_map(Frame::text) {
        let value = match call(&mut c, &["TYPE", &key]).await {
            Some(Frame::Simple(t)) if t == "list" => {
                call(&mut c, &["LRANGE", &key, "0", "-1"]).await
            }
            _ => call(&mut c, &["GET", &key]).await,
        };
        let bytes = match value {
            Some(Frame::Array(items)) => items
                .iter()
                .filter_map(Frame::text)
                .collect::<Vec<_>>()
                .join(",")
                .into_bytes(),
            Some(other) => other.text().unwrap_or_default().into_bytes(),
            None => b"(no answer)".to_vec(),
        };
        state.insert(key, bytes);
    }
    state
}
