//! The "replication" scenario: a primary and two replicas (REPLICAOF from
//! their config files) while the nemesis cuts links between the primary
//! and a replica (both ways or one way, shorter or longer than
//! `repl-timeout`), crashes and restarts a replica (it comes back empty
//! and full-syncs), jumps a replica's clock and slows every link.
//!
//! A writer runs SETs, INCRs and RPUSHes on the primary, and now and then
//! writes a marker then `WAIT n`: the moment WAIT returns `m`, it asks each
//! replica whether it holds the marker.
//!
//! Checkers:
//! - **convergence**: once healed and quiet, both replicas hold exactly the
//!   primary's data and offset;
//! - **WAIT**: WAIT returning `m` means at least `m` replicas had the
//!   write (a replica that answered without it and did not restart in
//!   between refutes one acknowledgement);
//! - **partial resync**: the backlog covers every gap of this workload
//!   (checked), so no PSYNC offering our history may be refused
//!   (`sync_partial_err` 0); partial resyncs are counted.

use crate::check::convergence::check_convergence;
use crate::check::{CheckResult, Verdict};
use crate::nemesis::{between, chance};
use crate::{run_server, server_config, ClockSkew, SimClient, Trace, SERVER_PORT};
use keel_engine::resp::frame::Frame;
use keel_engine::Config;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

const PRIMARY: &str = "primary";
const REPLICAS: [&str; 2] = ["replica1", "replica2"];
/// How long a client waits for one reply before giving up on it.
const OP_TIMEOUT_MS: u64 = 1000;
/// Virtual time the whole run may take.
const RUN_LIMIT_MS: u64 = 900_000;
/// `repl-timeout` in the simulation: links that went silent are noticed
/// within seconds, so partitions longer than this break them.
const REPL_TIMEOUT_SECS: u64 = 3;
/// How long the healed system gets to converge before it is read.
const SETTLE_MS: u64 = 30_000;

/// One run's settings, drawn from its seed.
#[derive(Debug, Clone)]
pub struct ReplScenario {
    pub seed: u64,
    pub writes: usize,
    /// Per-step chance (in 1/10000) that a new fault starts.
    pub fault_rate: u64,
}

impl ReplScenario {
    pub fn draw(seed: u64) -> ReplScenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7265_706c);
        ReplScenario {
            seed,
            writes: between(&mut rng, 150, 400) as usize,
            fault_rate: between(&mut rng, 20, 80),
        }
    }
}

/// A fault of the scenario's nemesis, with when it ends (virtual ms).
#[derive(Debug, Clone)]
enum Fault {
    Partition { replica: usize },
    OneWay { from: String, to: String },
    Crash { replica: usize },
    Slow,
}

/// The marker a WAIT covered and what the replicas said right after.
#[derive(Debug, Clone)]
pub struct WaitCheck {
    pub marker: String,
    pub claimed: i64,
    /// Per replica: Some(true) holds it, Some(false) does not, None no answer.
    pub seen: Vec<Option<bool>>,
    /// When the marker was written and when the replicas were asked.
    pub from_ms: u64,
    pub to_ms: u64,
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
            "seed {seed}: {status} faults={} full={} partial={} waits_acked={}",
            self.faults, self.full_resyncs, self.partial_resyncs, self.acknowledged_waits
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

/// Final states and counters, read once the system is quiet.
#[derive(Debug, Default, Clone)]
struct FinalRead {
    states: Vec<(String, BTreeMap<String, Vec<u8>>)>,
    offsets: Vec<(String, String)>,
    primary_stats: BTreeMap<String, String>,
}

#[derive(Default, Clone)]
struct Shared {
    writer_done: Rc<Cell<bool>>,
    healed: Rc<Cell<bool>>,
    waits: Rc<RefCell<Vec<WaitCheck>>>,
    /// Per replica: (down from, up again) virtual ms of each crash.
    crashes: Rc<RefCell<Vec<(usize, u64, u64)>>>,
    final_read: Rc<RefCell<Option<FinalRead>>>,
    trace: Rc<RefCell<Trace>>,
}

fn replica_config(seed: u64, i: usize) -> Config {
    Config {
        replicaof: Some((PRIMARY.to_string(), SERVER_PORT)),
        ..sim_config(seed.wrapping_add(1 + i as u64))
    }
}

fn sim_config(seed: u64) -> Config {
    Config {
        repl_timeout: REPL_TIMEOUT_SECS,
        repl_ping_replica_period: 1,
        ..server_config(seed)
    }
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
    let primary = sim_config(scenario.seed);
    sim.host(PRIMARY, move || {
        run_server(primary.clone(), ClockSkew::default())
    });
    let skews: Vec<ClockSkew> = REPLICAS.iter().map(|_| ClockSkew::default()).collect();
    for (i, name) in REPLICAS.iter().enumerate() {
        let (config, skew) = (replica_config(scenario.seed, i), skews[i].clone());
        sim.host(*name, move || run_server(config.clone(), skew.clone()));
    }
    let (writer_shared, writes) = (shared.clone(), scenario.writes);
    let seed = scenario.seed;
    sim.client("writer", async move {
        run_writer(seed, writes, &writer_shared).await;
        writer_shared.writer_done.set(true);
        Ok(())
    });
    let reader_shared = shared.clone();
    sim.client("reader", async move {
        read_final(&reader_shared).await;
        Ok(())
    });
    let (sim_error, faults) = drive(&mut sim, scenario, &shared, &skews);
    verdicts(&shared, sim_error, faults)
}

/// Steps the simulation with the nemesis until the writer is done, then
/// heals everything and lets the reader finish.
fn drive(
    sim: &mut turmoil::Sim<'_>,
    scenario: &ReplScenario,
    shared: &Shared,
    skews: &[ClockSkew],
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
                None if rng_hit(&mut rng, scenario.fault_rate) => {
                    let (fault, lasts) = start_fault(sim, &mut rng, skews, shared, now);
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

fn rng_hit(rng: &mut ChaCha8Rng, per_10000: u64) -> bool {
    between(rng, 0, 9_999) < per_10000
}

/// Starts a fault; returns it and how long it lasts (ms). A clock jump is
/// instant (it returns an empty slot of a few seconds).
fn start_fault(
    sim: &mut turmoil::Sim<'_>,
    rng: &mut ChaCha8Rng,
    skews: &[ClockSkew],
    shared: &Shared,
    now: u64,
) -> (Fault, u64) {
    let replica = between(rng, 0, 1) as usize;
    let name = REPLICAS[replica];
    // Shorter and longer than repl-timeout.
    let lasts = between(rng, 200, 3 * REPL_TIMEOUT_SECS * 1000);
    match between(rng, 0, 4) {
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
        2 => {
            sim.crash(name);
            shared.crashes.borrow_mut().push((replica, now, u64::MAX));
            (Fault::Crash { replica }, lasts)
        }
        3 => {
            let delta = between(rng, 0, 20_000) as i64 - 10_000;
            skews[replica].jump(delta);
            (Fault::Slow, 0)
        }
        _ => {
            sim.set_max_message_latency(Duration::from_millis(between(rng, 50, 400)));
            (Fault::Slow, lasts)
        }
    }
}

fn heal(sim: &mut turmoil::Sim<'_>, fault: &Fault, shared: &Shared, now: u64) {
    match fault {
        Fault::Partition { replica } => sim.repair(PRIMARY, REPLICAS[*replica]),
        Fault::OneWay { from, to } => sim.repair_oneway(from.as_str(), to.as_str()),
        Fault::Crash { replica } => {
            sim.bounce(REPLICAS[*replica]);
            if let Some(c) = shared.crashes.borrow_mut().last_mut() {
                c.2 = now;
            }
        }
        Fault::Slow => sim.set_max_message_latency(Duration::from_millis(10)),
    }
}

fn elapsed_ms() -> u64 {
    turmoil::sim_elapsed().unwrap_or_default().as_millis() as u64
}

async fn connect(host: &str, id: u64, shared: &Shared) -> Option<SimClient> {
    let attempt = SimClient::connect(host, id, shared.trace.clone());
    match tokio::time::timeout(Duration::from_millis(OP_TIMEOUT_MS), attempt).await {
        Ok(Ok(client)) => Some(client),
        _ => None,
    }
}

async fn call(client: &mut SimClient, args: &[&str]) -> Option<Frame> {
    let timeout = Duration::from_millis(OP_TIMEOUT_MS);
    match tokio::time::timeout(timeout, client.call(args)).await {
        Ok(Ok(frame)) => Some(frame),
        _ => None,
    }
}

/// The writer: the primary is never faulted, so its link is kept.
async fn run_writer(seed: u64, writes: usize, shared: &Shared) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.rotate_left(7) ^ 0x77);
    // The replicas start syncing while the writer starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let Some(mut client) = connect(PRIMARY, 0, shared).await else {
        return;
    };
    for i in 0..writes {
        let n = i.to_string();
        let key = format!("r{}", between(&mut rng, 0, 7));
        let op: [&str; 3] = match between(&mut rng, 0, 2) {
            0 => ["SET", &key, &n],
            1 => ["INCR", "cnt", ""],
            _ => ["RPUSH", "log", &n],
        };
        let args: Vec<&str> = op.iter().copied().filter(|a| !a.is_empty()).collect();
        if call(&mut client, &args).await.is_none() {
            return;
        }
        if i % 9 == 8 {
            wait_check(&mut client, i, &mut rng, shared).await;
        }
        tokio::time::sleep(Duration::from_millis(between(&mut rng, 0, 40))).await;
    }
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
            Some(mut c) => match call(&mut c, &["EXISTS", &marker]).await {
                Some(Frame::Int(n)) => Some(n == 1),
                _ => None,
            },
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

/// After the heal: waits until the replicas caught up (or the settle
/// time passed), then reads every host.
async fn read_final(shared: &Shared) {
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
        if let Some(offset) = info.get(field) {
            offsets.push((host.to_string(), offset.clone()));
        }
    }
    offsets
}

async fn read_info(host: &str, shared: &Shared) -> BTreeMap<String, String> {
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

fn verdicts(shared: &Shared, sim_error: Option<String>, faults: usize) -> ReplRun {
    let read = shared.final_read.borrow().clone().unwrap_or_default();
    let stat = |name: &str| -> u64 {
        read.primary_stats
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let states: Vec<(&str, &BTreeMap<String, Vec<u8>>)> =
        read.states.iter().map(|(h, s)| (h.as_str(), s)).collect();
    let mut results = vec![convergence(&states, &read.offsets)];
    results.push(check_waits(
        &shared.waits.borrow(),
        &shared.crashes.borrow(),
    ));
    results.push(check_partial(
        stat("sync_partial_err"),
        stat("master_repl_offset"),
        stat("repl_backlog_size"),
    ));
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
        sim_error,
        trace_hash: shared.trace.borrow().hash(),
    }
}

fn convergence(
    states: &[(&str, &BTreeMap<String, Vec<u8>>)],
    offsets: &[(String, String)],
) -> CheckResult {
    if states.len() != 3 || offsets.len() != 3 {
        return CheckResult::invalid(
            "convergence",
            format!("could not read every host: {offsets:?}"),
            Vec::new(),
        );
    }
    if offsets.windows(2).any(|w| w[0].1 != w[1].1) {
        return CheckResult::invalid(
            "convergence",
            format!("offsets differ after healing: {offsets:?}"),
            Vec::new(),
        );
    }
    check_convergence(states)
}

/// WAIT returning m: at least m replicas had the marker. A replica that
/// says it lacks the marker refutes one, unless it crashed in between
/// (it lost what it had: replicas here keep nothing on disk).
pub fn check_waits(waits: &[WaitCheck], crashes: &[(usize, u64, u64)]) -> CheckResult {
    const NAME: &str = "wait";
    let mut wrong = Vec::new();
    let mut positive = 0;
    for w in waits {
        let restarted = |r: usize| {
            crashes
                .iter()
                .any(|&(c, down, _)| c == r && down >= w.from_ms && down <= w.to_ms)
        };
        let refuted = w
            .seen
            .iter()
            .enumerate()
            .filter(|(r, s)| **s == Some(false) && !restarted(*r))
            .count() as i64;
        if w.claimed > 0 {
            positive += 1;
        }
        if w.claimed > w.seen.len() as i64 - refuted {
            wrong.push(format!(
                "{}: WAIT returned {} but replicas said {:?}",
                w.marker, w.claimed, w.seen
            ));
        }
    }
    let summary = format!("{} WAIT(s), {positive} acknowledged", waits.len());
    if wrong.is_empty() {
        CheckResult::valid(NAME, summary)
    } else {
        CheckResult::invalid(NAME, summary, wrong)
    }
}

/// With the whole stream inside the backlog, every PSYNC that offered
/// the primary's history must have continued.
fn check_partial(partial_err: u64, offset: u64, backlog: u64) -> CheckResult {
    const NAME: &str = "partial resync";
    if offset >= backlog {
        return CheckResult::valid(NAME, "stream larger than the backlog: not applicable");
    }
    if partial_err == 0 {
        CheckResult::valid(
            NAME,
            format!("stream of {offset} bytes within the backlog, no PSYNC refused"),
        )
    } else {
        CheckResult::invalid(
            NAME,
            format!("{partial_err} PSYNC(s) refused though the backlog ({backlog} bytes) held the whole stream ({offset} bytes)"),
            Vec::new(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_converge_and_wait_holds_under_faults() {
        let mut partial = 0;
        let mut acknowledged_waits = 0;
        for seed in 0..6 {
            let run = run_replication(&ReplScenario::draw(seed));
            assert!(run.passed(), "seed {seed}: {run:#?}");
            assert!(run.full_resyncs >= 2, "seed {seed}: both replicas synced");
            partial += run.partial_resyncs;
            acknowledged_waits += run.acknowledged_waits;
        }
        assert!(partial > 0, "some links were cut and resumed partially");
        assert!(acknowledged_waits > 0);
    }

    #[test]
    fn a_seed_replays_exactly() {
        let scenario = ReplScenario::draw(7);
        let (a, b) = (run_replication(&scenario), run_replication(&scenario));
        assert_eq!(a.trace_hash, b.trace_hash);
        assert_eq!((a.faults, a.partial_resyncs), (b.faults, b.partial_resyncs));
    }

    #[test]
    fn the_wait_checker_can_fail() {
        let w = WaitCheck {
            marker: "w1".into(),
            claimed: 2,
            seen: vec![Some(true), Some(false)],
            from_ms: 10,
            to_ms: 20,
        };
        assert_eq!(
            check_waits(std::slice::from_ref(&w), &[]).verdict,
            Verdict::Invalid
        );
        // The replica that lacks it restarted meanwhile: no refutation.
        assert_eq!(check_waits(&[w], &[(1, 15, 30)]).verdict, Verdict::Valid);
    }
}
