//! The "replication" scenario: a primary and two replicas (REPLICAOF from
//! their config files), each with its own persistence on its own
//! simulated disk, while the nemesis:
//!
//! - cuts links between the primary and a replica, both ways or one way,
//!   shorter or longer than `repl-timeout`;
//! - cuts a replica's power: it restarts from its own files (`replica1`
//!   keeps an AOF, `replica2` RDB save points), then reconnects;
//! - cuts the primary's power: with `appendfsync always` (most seeds) it
//!   comes back with every acknowledged write; without persistence (the
//!   other seeds) it comes back empty, and its replicas follow it and
//!   empty themselves, as Redis's do (a new replication id forces a full
//!   sync);
//! - jumps a replica's clock, slows every link.
//!
//! A writer runs SETs, INCRs and RPUSHes on the primary (reconnecting
//! across its restarts), and now and then writes a marker then `WAIT n`:
//! the moment WAIT returns `m`, it asks each replica whether it holds the
//! marker.
//!
//! Checkers ([`checks`]):
//! - **convergence**: once healed and quiet, both replicas hold exactly the
//!   primary's data and offset;
//! - **WAIT**: WAIT returning `m` means at least `m` replicas had the
//!   write (a replica that answered without it, its link up, refutes one
//!   acknowledgement, unless a power loss of its own or of the primary
//!   came in between). A replica whose link is not up is not asked: a
//!   write made while no replica was attached is not in the stream (its
//!   offset is 0), so WAIT counts every attached replica for it, even one
//!   still receiving the snapshot that holds it and answering reads from
//!   its old data meanwhile. Redis 7.0 does the same (checked against
//!   redis-server 7.0.15: `WAIT 1` answers 1 for such a write with a
//!   replica that never acknowledged); the simulation found it;
//! - **partial resync**: the backlog covers every gap of this workload, so
//!   while the primary keeps its history no PSYNC offering it may be
//!   refused (`sync_partial_err` 0); partial resyncs are counted;
//! - **durability** (primary with `appendfsync always`): the primary's
//!   final list holds every acknowledged push in order, its counter every
//!   acknowledged increment, across its power losses.
//!
//! - **RDB restart** ([`rdb_restart`], a small scripted run of its own per
//!   seed): a replica restarted after a power loss from the RDB it saved
//!   resumes with exactly one partial resync and converges.
//!
//! The timed `min-replicas-to-write` check is its own small scenario,
//! [`min_replicas`].

#[path = "repl_checks.rs"]
pub mod checks;
#[path = "repl_clients.rs"]
mod clients;
#[path = "repl_min_replicas.rs"]
pub mod min_replicas;
#[path = "repl_rdb_restart.rs"]
pub mod rdb_restart;

use crate::check::{CheckResult, Verdict};
use crate::fault::HostControl;
use crate::nemesis::{between, chance};
use crate::{server_config, Trace, SERVER_PORT};
use checks::{Crash, HostIndex, WaitCheck, WriteOp, PRIMARY_HOST};
use keel_engine::config::SavePoint;
use keel_engine::Config;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

pub const PRIMARY: &str = "primary";
pub const REPLICAS: [&str; 2] = ["replica1", "replica2"];
/// Virtual time the whole run may take.
const RUN_LIMIT_MS: u64 = 900_000;
/// `repl-timeout` in the simulation: links that went silent are noticed
/// within seconds, so partitions longer than this break them.
const REPL_TIMEOUT_SECS: u64 = 3;

/// How a host keeps its data across a power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing: it restarts empty.
    None,
    /// AOF, fsynced before each write is acknowledged.
    AofAlways,
    /// AOF, fsynced once a second.
    AofEverysec,
    /// RDB snapshots at save points (every second with a change).
    RdbSavePoints,
}

impl Persistence {
    pub fn name(self) -> &'static str {
        match self {
            Persistence::None => "none",
            Persistence::AofAlways => "aof-always",
            Persistence::AofEverysec => "aof-everysec",
            Persistence::RdbSavePoints => "rdb",
        }
    }

    fn configure(self, config: Config) -> Config {
        let aof = |fsync: &str| Config {
            appendonly: true,
            appendfsync: fsync.to_string(),
            ..config.clone()
        };
        match self {
            Persistence::None => config,
            Persistence::AofAlways => aof("always"),
            Persistence::AofEverysec => aof("everysec"),
            Persistence::RdbSavePoints => Config {
                save: vec![SavePoint {
                    seconds: 1,
                    changes: 1,
                }],
                ..config.clone()
            },
        }
    }
}

/// The replicas' persistence, by index.
pub const REPLICA_PERSISTENCE: [Persistence; 2] =
    [Persistence::AofEverysec, Persistence::RdbSavePoints];
/// The host of the replica with RDB save points (`replica2`).
const RDB_REPLICA_HOST: HostIndex = 2;

/// One run's settings, drawn from its seed.
#[derive(Debug, Clone)]
pub struct ReplScenario {
    pub seed: u64,
    pub writes: usize,
    /// Per-step chance (in 1/10000) that a new fault starts.
    pub fault_rate: u64,
    pub primary: Persistence,
}

impl ReplScenario {
    pub fn draw(seed: u64) -> ReplScenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7265_706c);
        let writes = between(&mut rng, 150, 400) as usize;
        let fault_rate = between(&mut rng, 20, 80);
        let primary = if chance(&mut rng, 25) {
            Persistence::None
        } else {
            Persistence::AofAlways
        };
        ReplScenario {
            seed,
            writes,
            fault_rate,
            primary,
        }
    }
}

/// A fault of the scenario's nemesis, with when it ends (virtual ms).
#[derive(Debug, Clone)]
enum Fault {
    Partition { replica: usize },
    OneWay { from: String, to: String },
    PowerLoss { host: HostIndex },
    Slow,
}

/// What the run produced, checked.
#[derive(Debug)]
pub struct ReplRun {
    pub results: Vec<CheckResult>,
    pub partial_resyncs: u64,
    pub full_resyncs: u64,
    /// WAITs that returned at least one acknowledgement.
    pub acknowledged_waits: usize,
    pub faults: usize,
    /// Power losses of the primary and of the replicas.
    pub primary_crashes: usize,
    pub replica_crashes: usize,
    /// Power losses of the replica that restarts from its RDB (`replica2`).
    pub rdb_replica_crashes: usize,
    pub sim_error: Option<String>,
    /// Every reply the clients got, with when: equal for equal seeds.
    pub trace_hash: u64,
}

impl ReplRun {
    pub fn passed(&self) -> bool {
        self.sim_error.is_none() && self.results.iter().all(|r| r.verdict == Verdict::Valid)
    }

    /// One line: verdict, counters, and each failing check's summary.
    pub fn line(&self, seed: u64) -> String {
        let status = if self.passed() { "ok" } else { "FAIL" };
        let mut line = format!(
            "seed {seed}: {status} faults={} crashes(primary/replicas/of which rdb)={}/{}/{} full={} partial={} waits_acked={}",
            self.faults,
            self.primary_crashes,
            self.replica_crashes,
            self.rdb_replica_crashes,
            self.full_resyncs,
            self.partial_resyncs,
            self.acknowledged_waits
        );
        if let Some(e) = &self.sim_error {
            line.push_str(&format!(" sim error: {e}"));
        }
        for r in self.results.iter().filter(|r| r.verdict != Verdict::Valid) {
            line.push_str(&format!("\n  {}: {} {:?}", r.checker, r.summary, r.details));
        }
        line
    }
}

/// What the clients and the nemesis share with the checkers.
#[derive(Default, Clone)]
pub struct Shared {
    writer_done: Rc<Cell<bool>>,
    healed: Rc<Cell<bool>>,
    waits: Rc<RefCell<Vec<WaitCheck>>>,
    ops: Rc<RefCell<Vec<WriteOp>>>,
    crashes: Rc<RefCell<Vec<Crash>>>,
    final_read: Rc<RefCell<Option<clients::FinalRead>>>,
    trace: Rc<RefCell<Trace>>,
}

fn sim_config(seed: u64) -> Config {
    Config {
        repl_timeout: REPL_TIMEOUT_SECS,
        repl_ping_replica_period: 1,
        ..server_config(seed)
    }
}

fn replica_config(seed: u64, i: usize) -> Config {
    let config = Config {
        replicaof: Some((PRIMARY.to_string(), SERVER_PORT)),
        ..sim_config(seed.wrapping_add(1 + i as u64))
    };
    REPLICA_PERSISTENCE[i].configure(config)
}

/// The hosts' names, the primary first ([`HostIndex`] order).
fn host_names() -> impl Iterator<Item = &'static str> {
    std::iter::once(PRIMARY).chain(REPLICAS)
}

/// Runs the scenario to its verdicts.
pub fn run_replication(scenario: &ReplScenario) -> ReplRun {
    let mut sim = turmoil::Builder::new()
        .rng_seed(scenario.seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(crate::runner::EPOCH_SECS))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(10))
        .simulation_duration(Duration::from_millis(RUN_LIMIT_MS))
        .build();
    let shared = Shared::default();
    let hosts: Vec<HostControl> = host_names()
        .enumerate()
        .map(|(i, name)| HostControl::new(name, scenario.seed ^ (0xd15c + i as u64)))
        .collect();
    let primary = scenario.primary.configure(sim_config(scenario.seed));
    sim.host(PRIMARY, hosts[PRIMARY_HOST].software(primary));
    for (i, name) in REPLICAS.iter().enumerate() {
        let config = replica_config(scenario.seed, i);
        sim.host(*name, hosts[i + 1].software(config));
    }
    let (writer_shared, writes) = (shared.clone(), scenario.writes);
    let seed = scenario.seed;
    sim.client("writer", async move {
        clients::run_writer(seed, writes, &writer_shared).await;
        writer_shared.writer_done.set(true);
        Ok(())
    });
    let reader_shared = shared.clone();
    sim.client("reader", async move {
        clients::read_final(&reader_shared).await;
        Ok(())
    });
    let (sim_error, faults) = drive(&mut sim, scenario, &shared, &hosts);
    let mut run = verdicts(scenario, &shared, sim_error, faults);
    add_rdb_restart(&mut run, scenario.seed);
    run
}

/// Runs the seed's [`rdb_restart`] check and adds it to `run`.
fn add_rdb_restart(run: &mut ReplRun, seed: u64) {
    let restart = rdb_restart::run_rdb_restart(seed);
    run.results.push(restart.result);
    if run.sim_error.is_none() {
        run.sim_error = restart.sim_error;
    }
    let mut hash = crate::Fnv1a::default();
    hash.mix(&run.trace_hash.to_le_bytes());
    hash.mix(&restart.trace_hash.to_le_bytes());
    run.trace_hash = hash.value();
}

/// Steps the simulation with the nemesis until the writer is done, then
/// heals everything and lets the reader finish.
fn drive(
    sim: &mut turmoil::Sim<'_>,
    scenario: &ReplScenario,
    shared: &Shared,
    hosts: &[HostControl],
) -> (Option<String>, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(scenario.seed ^ 0x006e_656d);
    let mut active: Option<(Fault, u64)> = None;
    let mut faults = 0;
    loop {
        let now = sim.elapsed().as_millis() as u64;
        if shared.writer_done.get() && !shared.healed.get() {
            if let Some((fault, _)) = active.take() {
                heal(sim, &fault, shared, now);
            }
            shared.healed.set(true);
        }
        if !shared.healed.get() {
            match &active {
                Some((fault, until)) if now >= *until => {
                    heal(sim, fault, shared, now);
                    active = None;
                }
                Some(_) => {}
                None if between(&mut rng, 0, 9_999) < scenario.fault_rate => {
                    let (fault, lasts) = start_fault(sim, &mut rng, hosts, shared, now);
                    faults += 1;
                    active = Some((fault, now + lasts));
                }
                None => {}
            }
        }
        match sim.step() {
            Ok(true) => return (None, faults),
            Ok(false) => {}
            Err(e) => return (Some(e.to_string()), faults),
        }
    }
}

/// Starts a fault; returns it and how long it lasts (ms). A clock jump is
/// instant (it returns an empty slot of a few seconds).
fn start_fault(
    sim: &mut turmoil::Sim<'_>,
    rng: &mut ChaCha8Rng,
    hosts: &[HostControl],
    shared: &Shared,
    now: u64,
) -> (Fault, u64) {
    let replica = between(rng, 0, 1) as usize;
    let name = REPLICAS[replica];
    // Shorter and longer than repl-timeout.
    let lasts = between(rng, 200, 3 * REPL_TIMEOUT_SECS * 1000);
    match between(rng, 0, 5) {
        0 => {
            sim.partition(PRIMARY, name);
            (Fault::Partition { replica }, lasts)
        }
        1 => {
            let (from, to) = if chance(rng, 50) {
                (PRIMARY, name)
            } else {
                (name, PRIMARY)
            };
            sim.partition_oneway(from, to);
            let fault = Fault::OneWay {
                from: from.into(),
                to: to.into(),
            };
            (fault, lasts)
        }
        2 => (power_loss(sim, hosts, shared, replica + 1, now), lasts),
        3 => (power_loss(sim, hosts, shared, PRIMARY_HOST, now), lasts),
        4 => {
            let delta = between(rng, 0, 20_000) as i64 - 10_000;
            hosts[replica + 1].skew.jump(delta);
            (Fault::Slow, 0)
        }
        _ => {
            sim.set_max_message_latency(Duration::from_millis(between(rng, 50, 400)));
            (Fault::Slow, lasts)
        }
    }
}

/// Cuts a host's power: its process dies and its disk keeps only what was
/// synced. It restarts when the fault heals.
fn power_loss(
    sim: &mut turmoil::Sim<'_>,
    hosts: &[HostControl],
    shared: &Shared,
    host: HostIndex,
    now: u64,
) -> Fault {
    sim.crash(hosts[host].name.as_str());
    hosts[host].disk.power_loss();
    shared.crashes.borrow_mut().push(Crash {
        host,
        down_ms: now,
        up_ms: u64::MAX,
    });
    Fault::PowerLoss { host }
}

fn heal(sim: &mut turmoil::Sim<'_>, fault: &Fault, shared: &Shared, now: u64) {
    match fault {
        Fault::Partition { replica } => sim.repair(PRIMARY, REPLICAS[*replica]),
        Fault::OneWay { from, to } => sim.repair_oneway(from.as_str(), to.as_str()),
        Fault::PowerLoss { host } => {
            let name = host_names().nth(*host).unwrap_or(PRIMARY);
            sim.bounce(name);
            if let Some(c) = shared.crashes.borrow_mut().last_mut() {
                c.up_ms = now;
            }
        }
        Fault::Slow => sim.set_max_message_latency(Duration::from_millis(10)),
    }
}

fn verdicts(
    scenario: &ReplScenario,
    shared: &Shared,
    sim_error: Option<String>,
    faults: usize,
) -> ReplRun {
    let read = shared.final_read.borrow().clone().unwrap_or_default();
    let stat = |name: &str| -> u64 {
        read.primary_stats
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let crashes = shared.crashes.borrow();
    let primary_crashes = crashes.iter().filter(|c| c.host == PRIMARY_HOST).count();
    let states: Vec<(&str, &std::collections::BTreeMap<String, Vec<u8>>)> =
        read.states.iter().map(|(h, s)| (h.as_str(), s)).collect();
    let mut results = vec![checks::check_replicas_converged(
        &states,
        &read.offsets,
        1 + REPLICAS.len(),
    )];
    results.push(checks::check_waits(&shared.waits.borrow(), &crashes));
    results.push(checks::check_partial(
        stat("sync_partial_err"),
        stat("master_repl_offset"),
        stat("repl_backlog_size"),
        primary_crashes,
    ));
    if scenario.primary == Persistence::AofAlways {
        results.push(checks::check_durability(
            &shared.ops.borrow(),
            &read.log,
            read.cnt,
        ));
    }
    let acknowledged_waits = shared
        .waits
        .borrow()
        .iter()
        .filter(|w| w.claimed > 0)
        .count();
    ReplRun {
        results,
        acknowledged_waits,
        partial_resyncs: stat("sync_partial_ok"),
        full_resyncs: stat("sync_full"),
        faults,
        primary_crashes,
        replica_crashes: crashes.len() - primary_crashes,
        rdb_replica_crashes: crashes
            .iter()
            .filter(|c| c.host == RDB_REPLICA_HOST)
            .count(),
        sim_error,
        trace_hash: shared.trace.borrow().hash(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_converge_and_wait_holds_under_faults() {
        let mut partial = 0;
        let mut acknowledged_waits = 0;
        let mut crashes = (0, 0);
        for seed in 0..6 {
            let run = run_replication(&ReplScenario::draw(seed));
            assert!(run.passed(), "seed {seed}: {run:#?}");
            assert!(run.full_resyncs >= 2, "seed {seed}: both replicas synced");
            partial += run.partial_resyncs;
            acknowledged_waits += run.acknowledged_waits;
            crashes.0 += run.primary_crashes;
            crashes.1 += run.replica_crashes;
        }
        assert!(partial > 0, "some links were cut and resumed partially");
        assert!(acknowledged_waits > 0);
        assert!(crashes.0 > 0 && crashes.1 > 0, "{crashes:?}");
    }

    #[test]
    fn a_seed_replays_exactly() {
        let scenario = ReplScenario::draw(7);
        let (a, b) = (run_replication(&scenario), run_replication(&scenario));
        assert_eq!(a.trace_hash, b.trace_hash);
        assert_eq!((a.faults, a.partial_resyncs), (b.faults, b.partial_resyncs));
    }
}
