//! Durability scenarios for the append-only file (issues 5 and 7):
//! one durable server host ([`host`]), clients that write to it
//! ([`clients`]), a nemesis that cuts its power, kills it and partitions
//! it, and an auditor that reads what every new process recovered.
//!
//! | scenario | fsync | faults | checked ([`check`]) |
//! | --- | --- | --- | --- |
//! | `aof-always` | always | power loss (torn writes), kill, partition | every acknowledged append survives every restart; what is there is a prefix |
//! | `aof-everysec` | everysec | the same | per power loss, the loss window (crash time minus the oldest lost acknowledged append) is at most [`EVERYSEC_BOUND_MS`]; measured and reported |
//! | `aof-fsync-errors` | always | fsync EIO (the server exits, a supervisor restarts it), power loss, kill, partition | no acknowledged append lost across the error, the restart and later power losses |
//! | `aof-everysec-fsync-errors` | everysec | fsync EIO (writes get `-MISCONF` until the covered bytes were written again and synced), power loss, kill, partition | per power loss, the loss window is at most [`EVERYSEC_BOUND_MS`] plus [`FAILED_SYNC_SLACK_MS`] per fsync that failed between the write and the crash: data a failed fsync covered is never lost later |
//! | `exec-crash` | always | power loss, kill, partition | every transaction all or none: a == b == len(log), ids once, every acknowledged EXEC present |
//!
//! **fsyncgate.** After a failed fsync the writes it covered may stay in
//! the page cache, readable, and still be lost at the next power loss
//! (the simulated disk does exactly that). Had the server only exited,
//! the next process would load them and append after them, and a later
//! power loss would cut a hole under acknowledged writes: the server cuts
//! its incr file back to the last good fsync before it exits.
//!
//! [`DurableScenario::broken_syncs`] arms a deliberate bug in the disk
//! (the last successful fsyncs before a power loss did not persist
//! anything: the server acknowledged before its data was durable), which
//! the power-loss scenarios must catch (`sim/tests/durable_broken.rs`).

pub mod check;
pub mod cli;
pub mod clients;
pub mod host;
pub mod rdb;

use crate::nemesis::{
    self, between, Action, Cast, DiskFault, Fault, FaultKind, FaultMix, Nemesis, Step,
};
use crate::runner::{Finding, EPOCH_SECS, LIVENESS_BOUND_MS};
use crate::workload::Recorder;
use clients::{Audit, Auditing, ClientSpec, TxnOutcome, Txns};
use host::{DurableHost, Stop};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

/// Redis's documented bound for `everysec`: a second of writes, two if
/// an fsync is slow.
pub const EVERYSEC_BOUND_MS: u64 = 2000;
/// What each failed fsync adds to the everysec bound: the next attempt
/// comes a second later (after the cron wrote the bytes again).
pub const FAILED_SYNC_SLACK_MS: u64 = 1000;
/// Extra virtual time past the liveness bound before a run counts as stuck.
const WIND_DOWN_MS: u64 = 30_000;
const SERVER: &str = "server0";

/// The durability scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurableKind {
    AofAlways,
    AofEverysec,
    AofFsyncErrors,
    AofEverysecFsyncErrors,
    ExecCrash,
}

impl DurableKind {
    pub const ALL: [DurableKind; 5] = [
        DurableKind::AofAlways,
        DurableKind::AofEverysec,
        DurableKind::AofFsyncErrors,
        DurableKind::AofEverysecFsyncErrors,
        DurableKind::ExecCrash,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DurableKind::AofAlways => "aof-always",
            DurableKind::AofEverysec => "aof-everysec",
            DurableKind::AofFsyncErrors => "aof-fsync-errors",
            DurableKind::AofEverysecFsyncErrors => "aof-everysec-fsync-errors",
            DurableKind::ExecCrash => "exec-crash",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn appendfsync(self) -> &'static str {
        match self {
            DurableKind::AofEverysec | DurableKind::AofEverysecFsyncErrors => "everysec",
            _ => "always",
        }
    }

    /// `everysec`: acknowledged writes may be lost within a bound, so
    /// clients start fresh keys after each restart and each power loss is
    /// judged on its own.
    pub fn everysec(self) -> bool {
        self.appendfsync() == "everysec"
    }

    fn fsync_errors(self) -> bool {
        matches!(
            self,
            DurableKind::AofFsyncErrors | DurableKind::AofEverysecFsyncErrors
        )
    }

    /// The nemesis's fault kinds (fsync errors are added on top).
    fn faults(self) -> &'static [FaultKind] {
        &[FaultKind::Crash, FaultKind::Bounce, FaultKind::Partition]
    }
}

/// Every option of one run, drawn from its seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurableScenario {
    pub seed: u64,
    pub kind: DurableKind,
    pub clients: usize,
    pub keys: u32,
    pub op_timeout_ms: u64,
    pub think_max_ms: u64,
    pub latency_ms: (u64, u64),
    pub safety_ms: u64,
    /// turmoil's torn-write granularity: a write pending at a power loss
    /// survives as a whole number of these blocks from its start (or not).
    pub block_size: u64,
    pub mix: FaultMix,
    pub schedule: Vec<Action>,
    /// The deliberate bug (see the module docs): this many of the last
    /// successful fsyncs before each power loss persisted nothing.
    pub broken_syncs: usize,
}

impl DurableScenario {
    pub fn draw(seed: u64, kind: DurableKind) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xA0F5_1AA0);
        let clients = between(&mut rng, 2, 5) as usize;
        let keys = between(&mut rng, 1, 3) as u32;
        let op_timeout_ms = between(&mut rng, 300, 1500);
        let think_max_ms = between(&mut rng, 5, 50);
        let lo = between(&mut rng, 0, 2);
        let latency_ms = (lo, lo + between(&mut rng, 1, 30));
        let safety_ms = between(&mut rng, 5_000, 20_000);
        let block_size = [16, 64, 512][between(&mut rng, 0, 2) as usize];
        let mut mix = FaultMix::draw(&mut rng, kind.faults());
        if !mix.kinds.contains(&FaultKind::Crash) {
            mix.kinds.push(FaultKind::Crash); // power loss is the point
        }
        let cast = Cast {
            servers: vec![SERVER.to_string()],
            clients: (0..clients).map(client_name).collect(),
        };
        let mut schedule = nemesis::schedule(&mut rng, &mix, &cast, safety_ms);
        if kind.fsync_errors() {
            add_fsync_errors(&mut rng, &mut schedule, safety_ms);
        }
        DurableScenario {
            seed,
            kind,
            clients,
            keys,
            op_timeout_ms,
            think_max_ms,
            latency_ms,
            safety_ms,
            block_size,
            mix,
            schedule,
            broken_syncs: 0,
        }
    }

    pub fn banner(&self) -> String {
        let mut b = String::new();
        let _ = writeln!(b, "keel-sim {} seed {}", self.kind.name(), self.seed);
        let _ = writeln!(
            b,
            "  server    appendonly yes, appendfsync {}, torn writes in {}-byte blocks{}",
            self.kind.appendfsync(),
            self.block_size,
            if self.broken_syncs > 0 {
                ", BROKEN fsync"
            } else {
                ""
            }
        );
        let _ = writeln!(
            b,
            "  clients   {} on {} key(s), op timeout {} ms, think up to {} ms",
            self.clients, self.keys, self.op_timeout_ms, self.think_max_ms
        );
        let _ = writeln!(
            b,
            "  latency   {}..{} ms; safety {} ms, then liveness within {} ms",
            self.latency_ms.0, self.latency_ms.1, self.safety_ms, LIVENESS_BOUND_MS
        );
        let _ = writeln!(b, "  faults    {}", self.mix);
        let _ = write!(b, "  schedule  {} action(s)", self.schedule.len());
        b
    }

    pub fn schedule_lines(&self) -> String {
        self.schedule.iter().map(|a| format!("  {a}\n")).collect()
    }
}

/// fsync errors (1 to 3 failing syncs) every 1..4 s of the safety phase.
fn add_fsync_errors(rng: &mut ChaCha8Rng, schedule: &mut Vec<Action>, until_ms: u64) {
    let mut at = between(rng, 500, 2000);
    while at < until_ms {
        let n = between(rng, 1, 3) as u32;
        schedule.push(Action {
            at_ms: at,
            step: Step::Start(Fault::Disk {
                host: SERVER.to_string(),
                fault: DiskFault::FsyncErrors(n),
            }),
        });
        at += between(rng, 1000, 4000);
    }
    schedule.sort_by_key(|a| a.at_ms);
}

fn client_name(i: usize) -> String {
    format!("client{i}")
}

/// What a run produced, checked.
#[derive(Debug, Clone)]
pub struct DurableRun {
    pub scenario: DurableScenario,
    pub findings: Vec<Finding>,
    pub trace_hash: u64,
    pub history: crate::history::History,
    pub txns: BTreeMap<String, TxnOutcome>,
    pub audits: Vec<Audit>,
    /// Per power loss audited: the loss window in ms (0: nothing lost).
    pub loss_windows_ms: Vec<u64>,
    /// When the server exited on its own.
    pub exits_ms: Vec<u64>,
    pub nemesis_log: Vec<String>,
    pub disk_log: Vec<String>,
    pub ended_ms: u64,
}

impl DurableRun {
    pub fn passed(&self) -> bool {
        self.findings.iter().all(|f| f.ok)
    }

    pub fn report(&self) -> String {
        let mut out = crate::runner::findings_report(&self.findings);
        let _ = writeln!(
            out,
            "  {} audit(s), {} exit(s), {} ms of virtual time",
            self.audits.len(),
            self.exits_ms.len(),
            self.ended_ms
        );
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        let _ = write!(
            out,
            "verdict: {verdict} ({} seed {}, trace hash {:016x})",
            self.scenario.kind.name(),
            self.scenario.seed,
            self.trace_hash
        );
        out
    }
}

/// Runs one scenario to its verdict; a panic anywhere is a finding.
pub fn run(scenario: &DurableScenario) -> DurableRun {
    let panics_before = panics::count();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| simulate(scenario)));
    let panics = panics::count() - panics_before;
    let mut run = result.unwrap_or_else(|_| DurableRun {
        scenario: scenario.clone(),
        findings: vec![Finding::new("simulation", false, "the simulation panicked")],
        trace_hash: 0,
        history: Default::default(),
        txns: BTreeMap::new(),
        audits: Vec::new(),
        loss_windows_ms: Vec::new(),
        exits_ms: Vec::new(),
        nemesis_log: Vec::new(),
        disk_log: Vec::new(),
        ended_ms: 0,
    });
    run.findings.insert(
        0,
        Finding::new("no panic", panics == 0, format!("{panics} panic(s)")),
    );
    run
}

/// Runs `scenario` twice: the first run, and whether both hashed the same.
pub fn run_twice(scenario: &DurableScenario) -> (DurableRun, Finding) {
    let first = run(scenario);
    let second = run(scenario);
    let finding = Finding::new(
        "determinism",
        first.trace_hash == second.trace_hash,
        format!(
            "trace hashes {:016x} and {:016x}",
            first.trace_hash, second.trace_hash
        ),
    );
    (first, finding)
}

fn build_sim(scenario: &DurableScenario) -> turmoil::Sim<'static> {
    durable_sim(
        scenario.seed,
        scenario.safety_ms + WIND_DOWN_MS,
        scenario.latency_ms,
        scenario.block_size,
    )
}

/// A simulation for a durability scenario: seeded, link latencies in
/// `latency_ms`, a simulated disk of `block_size` blocks, running at most
/// `run_ms` plus the liveness bound.
pub(crate) fn durable_sim(
    seed: u64,
    run_ms: u64,
    latency_ms: (u64, u64),
    block_size: u64,
) -> turmoil::Sim<'static> {
    let limit = run_ms + LIVENESS_BOUND_MS;
    let mut builder = turmoil::Builder::new();
    builder
        .rng_seed(seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(EPOCH_SECS))
        .min_message_latency(Duration::from_millis(latency_ms.0))
        .max_message_latency(Duration::from_millis(latency_ms.1))
        .simulation_duration(Duration::from_millis(limit));
    builder.fs().block_size(block_size);
    builder.build()
}

/// The world: the server host, the clients and the auditor.
fn populate(
    sim: &mut turmoil::Sim<'static>,
    scenario: &DurableScenario,
    rec: &Recorder,
    txns: &Txns,
    auditing: &Auditing,
) -> DurableHost {
    let host = DurableHost::new(SERVER, scenario.seed ^ 1);
    host.control.disk.set_broken_syncs(scenario.broken_syncs);
    let config = host::durable_config(scenario.seed, scenario.kind.appendfsync());
    sim.host(SERVER, host.software(config));
    let exec = scenario.kind == DurableKind::ExecCrash;
    for i in 0..scenario.clients {
        let spec = ClientSpec {
            process: i as u64,
            keys: scenario.keys,
            op_timeout_ms: scenario.op_timeout_ms,
            think_max_ms: scenario.think_max_ms,
            seed: scenario.seed.rotate_left(17) ^ (i as u64 + 1),
            epoch_keys: scenario.kind.everysec(),
        };
        let (host, rec, txns) = (host.clone(), rec.clone(), txns.clone());
        sim.client(client_name(i).as_str(), async move {
            if exec {
                clients::run_txn_client(spec, host, rec, txns).await;
            } else {
                clients::run_list_client(spec, host, rec).await;
            }
            Ok(())
        });
    }
    let (h, r, a) = (host.clone(), rec.clone(), auditing.clone());
    sim.client("auditor", async move {
        clients::run_auditor(h, exec, r, a).await;
        Ok(())
    });
    host
}

/// Which clients completed an operation since the heal.
struct Progress {
    healed_at: u64,
    seen: usize,
    txns_seen: usize,
    done: BTreeSet<u64>,
}

impl Progress {
    fn update(&mut self, rec: &Recorder, txns: &Txns) {
        let history = rec.history.borrow();
        for e in &history.events[self.seen..] {
            if e.kind == crate::history::EventType::Ok && e.time_ms > self.healed_at {
                self.done.insert(e.process);
            }
        }
        self.seen = history.events.len();
        let txns = txns.borrow();
        if txns.len() != self.txns_seen {
            self.txns_seen = txns.len();
            for (id, outcome) in txns.iter() {
                if let TxnOutcome::Committed { acked_ms } = outcome {
                    if *acked_ms > self.healed_at {
                        self.done.insert(txn_process(id));
                    }
                }
            }
        }
    }
}

/// `t3.17` → 3.
fn txn_process(id: &str) -> u64 {
    id.trim_start_matches('t')
        .split('.')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(u64::MAX)
}

fn simulate(scenario: &DurableScenario) -> DurableRun {
    let mut sim = build_sim(scenario);
    let rec = Recorder::default();
    let txns = Txns::default();
    let auditing = Auditing::default();
    let host = populate(&mut sim, scenario, &rec, &txns, &auditing);
    let names: Vec<String> = (0..scenario.clients).map(client_name).collect();
    let mut nemesis = Nemesis::new(
        std::slice::from_ref(&host.control),
        &names,
        scenario.latency_ms.1,
    );
    let mut findings = Vec::new();
    let mut next_action = 0;
    let mut progress: Option<Progress> = None;
    let deadline = scenario.safety_ms + LIVENESS_BOUND_MS;
    loop {
        let now = nemesis::sim_ms(&sim);
        while let Some(action) = scenario
            .schedule
            .get(next_action)
            .filter(|a| a.at_ms <= now)
        {
            note_death(&host, action, now);
            nemesis.apply(&mut sim, action);
            next_action += 1;
        }
        if progress.is_none() && now >= scenario.safety_ms {
            nemesis.heal_everything(&mut sim);
            progress = Some(Progress {
                healed_at: now,
                seen: 0,
                txns_seen: 0,
                done: BTreeSet::new(),
            });
        }
        if let Some(p) = progress.as_mut() {
            p.update(&rec, &txns);
            if p.done.len() == scenario.clients || now >= deadline {
                rec.stop.set(true);
                auditing.finish.set(true);
            }
        }
        if crate::runner::step_sim(&mut sim, &mut findings) {
            break;
        }
    }
    let ended_ms = nemesis::sim_ms(&sim);
    drop(sim);
    finish(
        scenario,
        FinishInput {
            rec,
            txns,
            auditing,
            host,
            nemesis_log: nemesis.log,
            progress,
            findings,
            ended_ms,
        },
    )
}

/// The outer loop tells the host a process died as the nemesis kills it.
fn note_death(host: &DurableHost, action: &Action, now: u64) {
    match &action.step {
        Step::Start(Fault::Crash { .. }) => host.died(now, Stop::PowerLoss),
        Step::Start(Fault::Bounce { .. }) => host.died(now, Stop::Kill),
        _ => {}
    }
}

struct FinishInput {
    rec: Recorder,
    txns: Txns,
    auditing: Auditing,
    host: DurableHost,
    nemesis_log: Vec<String>,
    progress: Option<Progress>,
    findings: Vec<Finding>,
    ended_ms: u64,
}

fn finish(scenario: &DurableScenario, input: FinishInput) -> DurableRun {
    let FinishInput {
        rec,
        txns,
        auditing,
        host,
        nemesis_log,
        progress,
        mut findings,
        ended_ms,
    } = input;
    let history = rec.history.borrow().clone();
    let txns = txns.borrow().clone();
    let audits = auditing.audits.borrow().clone();
    findings.push(liveness(scenario, progress.as_ref()));
    findings.push(Finding::new(
        "replies fit commands",
        rec.anomalies.borrow().is_empty(),
        format!(
            "{} reply(ies) of the wrong shape",
            rec.anomalies.borrow().len()
        ),
    ));
    let verdict = check::check_run(scenario, &history, &txns, &audits);
    findings.extend(verdict.findings);
    let exits_ms = host.exits.borrow().clone();
    let mut disk_log = host.control.disk.log();
    disk_log.extend(host.exit_notes.borrow().iter().cloned());
    let trace_hash = trace_hash(
        rec.trace.borrow().hash(),
        &history,
        &audits,
        &nemesis_log,
        &disk_log,
    );
    DurableRun {
        scenario: scenario.clone(),
        findings,
        trace_hash,
        history,
        txns,
        audits,
        loss_windows_ms: verdict.loss_windows_ms,
        exits_ms,
        nemesis_log,
        disk_log,
        ended_ms,
    }
}

fn liveness(scenario: &DurableScenario, progress: Option<&Progress>) -> Finding {
    let Some(p) = progress else {
        return Finding::new("liveness", false, "the safety phase never ended");
    };
    let stalled: Vec<String> = (0..scenario.clients as u64)
        .filter(|c| !p.done.contains(c))
        .map(|c| client_name(c as usize))
        .collect();
    Finding::new(
        "liveness",
        stalled.is_empty(),
        if stalled.is_empty() {
            "every client completed an operation after the heal".to_string()
        } else {
            format!(
                "no operation completed within {LIVENESS_BOUND_MS} ms of the heal by: {}",
                stalled.join(", ")
            )
        },
    )
}

/// FNV-1a over the replies' hash, the history, the audits and both logs.
fn trace_hash(
    replies: u64,
    history: &crate::history::History,
    audits: &[Audit],
    nemesis_log: &[String],
    disk_log: &[String],
) -> u64 {
    let mut hash = crate::Fnv1a::default();
    let mut mix = |bytes: &[u8]| hash.mix(bytes);
    mix(&replies.to_le_bytes());
    for e in &history.events {
        mix(format!("{e:?}").as_bytes());
    }
    for a in audits {
        mix(format!("{a:?}").as_bytes());
    }
    for line in nemesis_log.iter().chain(disk_log) {
        mix(line.as_bytes());
    }
    hash.value()
}

/// Counts panics on this thread (server tasks' panics are caught by
/// tokio; the hook still sees them).
mod panics {
    use std::cell::Cell;
    use std::sync::Once;

    thread_local! {
        static PANICS: Cell<u64> = const { Cell::new(0) };
    }

    pub fn count() -> u64 {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                PANICS.with(|p| p.set(p.get() + 1));
                previous(info);
            }));
        });
        PANICS.with(Cell::get)
    }
}
