//! The timed `min-replicas-to-write` check: a primary with
//! `min-replicas-to-write 1` and `min-replicas-max-lag 2`, two replicas,
//! and a prober writing every few milliseconds. At a time drawn from the
//! seed the primary is cut off from both replicas (both ways); from then
//! on no acknowledgement reaches it, and it must start refusing writes
//! with `NOREPLICAS` within max-lag plus one acknowledgement period (the
//! last acknowledgement may be that old when the cut starts), give or
//! take one link latency and one probe interval. It must not refuse
//! earlier than max-lag minus one acknowledgement period either: until
//! then its freshest acknowledgement is younger than max-lag.
//!
//! A replica is good while its last acknowledgement is at most max-lag
//! whole seconds old, as Redis counts it (a lag of 2.9 s is "2"): the
//! refusal comes when the last acknowledgement is 3 s old.

use crate::check::CheckResult;
use crate::nemesis::between;
use crate::{run_server, server_config, ClockSkew, SimClient, Trace, SERVER_PORT};
use keel_engine::repl::replica::ACK_PERIOD_MS;
use keel_engine::resp::frame::Frame;
use keel_engine::Config;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

const PRIMARY: &str = "primary";
const REPLICAS: [&str; 2] = ["replica1", "replica2"];
pub const MAX_LAG_SECS: u64 = 2;
/// Time between two probe writes.
const PROBE_MS: u64 = 5;
/// The links' latency range.
const LATENCY_MS: (u64, u64) = (1, 10);
/// How long the run may take in virtual time.
const RUN_LIMIT_MS: u64 = 60_000;

/// The bound asserted: refusal no later than this after the cut starts.
pub fn upper_bound_ms() -> u64 {
    MAX_LAG_SECS * 1000 + ACK_PERIOD_MS + LATENCY_MS.1 + PROBE_MS
}

/// And no earlier than this.
pub fn lower_bound_ms() -> u64 {
    (MAX_LAG_SECS * 1000).saturating_sub(ACK_PERIOD_MS + LATENCY_MS.1)
}

#[derive(Debug)]
pub struct MinReplicasRun {
    /// How long after the cut the first NOREPLICAS came (None: never).
    pub latency_ms: Option<u64>,
    /// Probe writes acknowledged before the cut.
    pub acked_before_cut: u64,
    pub result: CheckResult,
    pub trace_hash: u64,
    pub sim_error: Option<String>,
}

#[derive(Default, Clone)]
struct Probe {
    cut_ms: Rc<Cell<Option<u64>>>,
    refused_ms: Rc<Cell<Option<u64>>>,
    acked_before_cut: Rc<Cell<u64>>,
    /// A write refused before the cut (with the replicas in sync).
    early_refusal: Rc<Cell<Option<u64>>>,
    trace: Rc<RefCell<Trace>>,
}

fn primary_config(seed: u64) -> Config {
    Config {
        min_replicas_to_write: 1,
        min_replicas_max_lag: MAX_LAG_SECS,
        repl_ping_replica_period: 1,
        // The check is about acknowledgement lag, not about batching
        // replicas into one disk-less transfer: sync them at once.
        repl_diskless_sync_delay: 0,
        ..server_config(seed)
    }
}

fn replica_config(seed: u64) -> Config {
    Config {
        replicaof: Some((PRIMARY.to_string(), SERVER_PORT)),
        ..server_config(seed)
    }
}

/// Runs the timed check for `seed`.
pub fn run_min_replicas(seed: u64) -> MinReplicasRun {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6d69_6e72);
    let cut_at_ms = between(&mut rng, 4_000, 9_000);
    let mut sim = turmoil::Builder::new()
        .rng_seed(seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(crate::runner::EPOCH_SECS))
        .min_message_latency(Duration::from_millis(LATENCY_MS.0))
        .max_message_latency(Duration::from_millis(LATENCY_MS.1))
        .simulation_duration(Duration::from_millis(RUN_LIMIT_MS))
        .build();
    let config = primary_config(seed);
    sim.host(PRIMARY, move || {
        run_server(config.clone(), ClockSkew::default())
    });
    for (i, name) in REPLICAS.iter().enumerate() {
        let config = replica_config(seed.wrapping_add(1 + i as u64));
        sim.host(*name, move || {
            run_server(config.clone(), ClockSkew::default())
        });
    }
    let probe = Probe::default();
    let prober = probe.clone();
    sim.client("prober", async move {
        run_prober(&prober).await;
        Ok(())
    });
    let sim_error = drive(&mut sim, &probe, cut_at_ms);
    verdict(&probe, sim_error)
}

/// Steps the simulation; cuts the primary off once the time has come.
fn drive(sim: &mut turmoil::Sim<'_>, probe: &Probe, cut_at_ms: u64) -> Option<String> {
    loop {
        let now = sim.elapsed().as_millis() as u64;
        if probe.cut_ms.get().is_none() && now >= cut_at_ms {
            for replica in REPLICAS {
                sim.partition(PRIMARY, replica);
            }
            probe.cut_ms.set(Some(now));
        }
        match sim.step() {
            Ok(true) => return None,
            Ok(false) => {}
            Err(e) => return Some(e.to_string()),
        }
    }
}

/// Writes every [`PROBE_MS`] until the primary refuses one after the cut.
async fn run_prober(probe: &Probe) {
    // The replicas sync first.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let Ok(mut client) = SimClient::connect(PRIMARY, 0, probe.trace.clone()).await else {
        return;
    };
    let mut i = 0u64;
    loop {
        i += 1;
        let sent_ms = super::clients::elapsed_ms();
        let reply = client.call(&["SET", "probe", &i.to_string()]).await;
        let cut = probe.cut_ms.get().filter(|&c| sent_ms >= c);
        match reply {
            Ok(Frame::Simple(_)) if cut.is_none() => {
                probe.acked_before_cut.set(probe.acked_before_cut.get() + 1)
            }
            Ok(Frame::Simple(_)) => {}
            Ok(Frame::Error(e)) if e.starts_with("NOREPLICAS") => {
                if cut.is_none() {
                    probe.early_refusal.set(Some(sent_ms));
                }
                probe.refused_ms.set(Some(sent_ms));
                return;
            }
            _ => return,
        }
        tokio::time::sleep(Duration::from_millis(PROBE_MS)).await;
    }
}

fn verdict(probe: &Probe, sim_error: Option<String>) -> MinReplicasRun {
    const NAME: &str = "min-replicas";
    let latency_ms = match (probe.cut_ms.get(), probe.refused_ms.get()) {
        (Some(cut), Some(refused)) => Some(refused.saturating_sub(cut)),
        _ => None,
    };
    let (low, high) = (lower_bound_ms(), upper_bound_ms());
    let result = match (probe.early_refusal.get(), latency_ms) {
        (Some(at), _) => CheckResult::invalid(
            NAME,
            format!("a write was refused at {at} ms, before the cut, with both replicas in sync"),
            Vec::new(),
        ),
        (None, None) => CheckResult::invalid(
            NAME,
            "the cut-off primary never refused a write".to_string(),
            Vec::new(),
        ),
        (None, Some(ms)) if ms > high || ms < low => CheckResult::invalid(
            NAME,
            format!("NOREPLICAS {ms} ms after the cut, outside {low}..={high} ms"),
            Vec::new(),
        ),
        (None, Some(ms)) => CheckResult::valid(
            NAME,
            format!("NOREPLICAS {ms} ms after the cut (bounds {low}..={high} ms)"),
        ),
    };
    MinReplicasRun {
        latency_ms,
        acked_before_cut: probe.acked_before_cut.get(),
        result,
        trace_hash: probe.trace.borrow().hash(),
        sim_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Verdict;

    #[test]
    fn a_cut_off_primary_refuses_writes_in_time() {
        for seed in 0..3 {
            let run = run_min_replicas(seed);
            assert_eq!(run.sim_error, None);
            assert_eq!(run.result.verdict, Verdict::Valid, "seed {seed}: {run:?}");
            assert!(run.acked_before_cut > 100, "writes went through before");
        }
    }
}
