//! The "RDB restart" check: a replica with RDB save points loses its
//! power after it saved a snapshot of its master's stream, the primary
//! writes on meanwhile, and the replica restarts from that snapshot. Its
//! dump carries the replication history (`repl-id`, `repl-offset`), so
//! its first PSYNC offers it and the primary, whose backlog covers the
//! gap, must continue: exactly one partial resync and no second full
//! sync, then both hold the same data at the same offset. This runs on
//! the production driver with the simulated disk and a real power loss
//! (only what was synced survives), which the in-process tests do not.

use super::clients::{call, connect, elapsed_ms};
use super::Shared;
use crate::check::CheckResult;
use crate::fault::HostControl;
use crate::nemesis::between;
use crate::{run_server, server_config, ClockSkew, SERVER_PORT};
use keel_engine::config::SavePoint;
use keel_engine::resp::frame::Frame;
use keel_engine::Config;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

const PRIMARY: &str = "primary";
const REPLICA: &str = "replica";
/// How long the run may take in virtual time.
const RUN_LIMIT_MS: u64 = 120_000;
/// How long the script waits for one state before it gives up.
const PATIENCE_MS: u64 = 30_000;
const POLL_MS: u64 = 50;

/// What one run produced, checked.
#[derive(Debug)]
pub struct RdbRestartRun {
    pub result: CheckResult,
    pub trace_hash: u64,
    pub sim_error: Option<String>,
}

/// The script's requests to the driver, and what it found.
#[derive(Default, Clone)]
struct Script {
    shared: Shared,
    /// Cut the replica's power now / power it on again.
    crash: Rc<Cell<bool>>,
    bounce: Rc<Cell<bool>>,
    /// Why the run failed, if it did (set once by the script).
    failure: Rc<std::cell::RefCell<Option<String>>>,
    /// The primary's `sync_full` and `sync_partial_ok` at the end.
    syncs: Rc<Cell<Option<(u64, u64)>>>,
}

fn replica_config(seed: u64) -> Config {
    Config {
        replicaof: Some((PRIMARY.to_string(), SERVER_PORT)),
        save: vec![SavePoint {
            seconds: 1,
            changes: 1,
        }],
        ..server_config(seed.wrapping_add(1))
    }
}

/// Runs the check for `seed` (which draws how much is written before the
/// save and while the replica is down).
pub fn run_rdb_restart(seed: u64) -> RdbRestartRun {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7264_6272);
    let writes = (between(&mut rng, 10, 200), between(&mut rng, 1, 200));
    let mut sim = turmoil::Builder::new()
        .rng_seed(seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(crate::runner::EPOCH_SECS))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(10))
        .simulation_duration(Duration::from_millis(RUN_LIMIT_MS))
        .build();
    let primary = Config {
        repl_diskless_sync_delay: 0,
        ..server_config(seed)
    };
    sim.host(PRIMARY, move || {
        run_server(primary.clone(), ClockSkew::default())
    });
    let replica = HostControl::new(REPLICA, seed ^ 0xd15c);
    sim.host(REPLICA, replica.software(replica_config(seed)));
    let script = Script::default();
    let runner = script.clone();
    sim.client("script", async move {
        if let Err(why) = run_script(&runner, writes).await {
            runner.failure.borrow_mut().get_or_insert(why);
        }
        Ok(())
    });
    let sim_error = drive(&mut sim, &script, &replica);
    verdict(&script, sim_error)
}

/// Steps the simulation, cutting and restoring the replica's power when
/// the script asks.
fn drive(sim: &mut turmoil::Sim<'_>, script: &Script, replica: &HostControl) -> Option<String> {
    loop {
        if script.crash.take() {
            sim.crash(REPLICA);
            replica.disk.power_loss();
        }
        if script.bounce.take() {
            sim.bounce(REPLICA);
        }
        match sim.step() {
            Ok(true) => return None,
            Ok(false) => {}
            Err(e) => return Some(e.to_string()),
        }
    }
}

/// Writes, waits for the replica to have saved them, cuts its power,
/// writes more, restores it, and waits for it to catch up.
async fn run_script(script: &Script, (before, during): (u64, u64)) -> Result<(), String> {
    write(script, "before", before).await?;
    wait_caught_up(script, "the replica to save what it applied", true).await?;
    script.crash.set(true);
    tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
    write(script, "during", during).await?;
    script.bounce.set(true);
    wait_caught_up(script, "the replica to catch up", false).await?;
    let stats = info(script, PRIMARY)
        .await
        .ok_or("no INFO from the primary")?;
    let field = |name: &str| field(&stats, name).and_then(|v| v.parse().ok());
    let syncs = field("sync_full").zip(field("sync_partial_ok"));
    script.syncs.set(syncs);
    let (primary, replica) = (
        dataset(script, PRIMARY).await,
        dataset(script, REPLICA).await,
    );
    if primary.is_none() || primary != replica {
        return Err(format!("datasets differ: {primary:?} vs {replica:?}"));
    }
    Ok(())
}

/// `n` writes of `tag` keys on the primary (strings and one list).
async fn write(script: &Script, tag: &str, n: u64) -> Result<(), String> {
    let mut client = connect(PRIMARY, 1, &script.shared)
        .await
        .ok_or("cannot reach the primary")?;
    for i in 0..n {
        let key = format!("{tag}:{}", i % 17);
        let value = i.to_string();
        let args: [&str; 3] = if i % 3 == 0 {
            ["RPUSH", "log", &value]
        } else {
            ["SET", &key, &value]
        };
        match call(&mut client, &args).await {
            Some(Frame::Error(e)) => return Err(format!("{args:?}: {e}")),
            Some(_) => {}
            None => return Err(format!("{args:?}: no reply")),
        }
    }
    Ok(())
}

/// Whether the replica's link is up at the primary's offset and, when
/// `saved`, it saved everything it applied since.
async fn caught_up(script: &Script, saved: bool) -> bool {
    let (Some(primary), Some(replica)) = (info(script, PRIMARY).await, info(script, REPLICA).await)
    else {
        return false;
    };
    let offset = field(&primary, "master_repl_offset");
    let unsaved = field(&replica, "rdb_changes_since_last_save");
    field(&replica, "master_link_status").as_deref() == Some("up")
        && offset.is_some()
        && field(&replica, "master_repl_offset") == offset
        && (!saved || unsaved.as_deref() == Some("0"))
}

/// Polls [`caught_up`] until it holds, for [`PATIENCE_MS`] at most.
async fn wait_caught_up(script: &Script, what: &str, saved: bool) -> Result<(), String> {
    let deadline = elapsed_ms() + PATIENCE_MS;
    while !caught_up(script, saved).await {
        if elapsed_ms() > deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
    }
    Ok(())
}

async fn info(script: &Script, host: &str) -> Option<String> {
    let mut client = connect(host, 2, &script.shared).await?;
    call(&mut client, &["INFO", "everything"]).await?.text()
}

fn field(info: &str, name: &str) -> Option<String> {
    let prefix = format!("{name}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
}

/// Every key with its value (strings by GET, the list by LRANGE).
async fn dataset(script: &Script, host: &str) -> Option<Vec<(String, String)>> {
    let mut client = connect(host, 3, &script.shared).await?;
    let Frame::Array(keys) = call(&mut client, &["KEYS", "*"]).await? else {
        return None;
    };
    let mut keys: Vec<String> = keys.iter().filter_map(Frame::text).collect();
    keys.sort();
    let mut all = Vec::new();
    for key in keys {
        let value = match call(&mut client, &["TYPE", &key]).await?.text()?.as_str() {
            "list" => format!(
                "{:?}",
                call(&mut client, &["LRANGE", &key, "0", "-1"]).await?
            ),
            _ => format!("{:?}", call(&mut client, &["GET", &key]).await?),
        };
        all.push((key, value));
    }
    Some(all)
}

fn verdict(script: &Script, sim_error: Option<String>) -> RdbRestartRun {
    const NAME: &str = "rdb restart";
    let result = match (script.failure.borrow().clone(), script.syncs.get()) {
        (Some(why), _) => CheckResult::invalid(NAME, why, Vec::new()),
        (None, Some((1, 1))) => CheckResult::valid(
            NAME,
            "restarted from its RDB, the replica resumed with a partial resync".to_string(),
        ),
        (None, Some((full, partial))) => CheckResult::invalid(
            NAME,
            format!("{full} full and {partial} partial sync(s): the restart should have continued"),
            Vec::new(),
        ),
        (None, None) => CheckResult::invalid(NAME, "the run did not finish", Vec::new()),
    };
    RdbRestartRun {
        result,
        trace_hash: script.shared.trace.borrow().hash(),
        sim_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Verdict;

    #[test]
    fn a_replica_restarted_from_its_rdb_resyncs_partially() {
        for seed in 0..3 {
            let run = run_rdb_restart(seed);
            assert_eq!(run.sim_error, None);
            assert_eq!(run.result.verdict, Verdict::Valid, "seed {seed}: {run:?}");
        }
    }

    #[test]
    fn a_seed_replays_exactly() {
        assert_eq!(run_rdb_restart(5).trace_hash, run_rdb_restart(5).trace_hash);
    }
}
