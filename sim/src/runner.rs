//! One simulation run, from a seed to a verdict.
//!
//! [`Scenario::draw`] turns a seed into every option of the run (workload,
//! hosts, timeouts, latencies, phase lengths, fault mix and schedule), so
//! the seed alone replays it. [`run`] then:
//!
//! 1. builds the world: server hosts from factories (so they can crash and
//!    restart), one client host per client;
//! 2. **safety phase**: steps the simulation, applying the nemesis's
//!    schedule from this outer loop;
//! 3. **liveness phase**: heals everything, then requires every client to
//!    complete an operation within the bound; clients stop as soon as all
//!    have (or at the bound);
//! 4. **checks**: no panic, every reply fits its command, liveness, every
//!    invoke completed, then the history checkers ([`crate::runner_checks`]);
//! 5. a **trace hash** over every reply (bytes, client, virtual time), the
//!    history and the nemesis's log: the same seed must give the same hash.

use crate::fault::HostControl;
use crate::history::{EventType, History};
use crate::nemesis::{self, between, Action, Cast, FaultKind, FaultMix, Nemesis};
use crate::workload::{run_client, ClientSpec, Recorder, WorkloadKind};
use crate::{runner_checks, server_config};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::Cell;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::sync::Once;
use std::time::{Duration, UNIX_EPOCH};

/// 2023-11-14T22:13:20Z: a fixed epoch, so wall-clock time is part of the seed.
pub const EPOCH_SECS: u64 = 1_700_000_000;
/// After every fault is healed, each client must complete an operation
/// within this much virtual time: an op timeout, a reconnect backoff and a
/// connect, with room to spare.
pub const LIVENESS_BOUND_MS: u64 = 10_000;
/// Extra virtual time the simulation may take past the liveness bound
/// (clients finishing their last operation) before it counts as stuck.
const WIND_DOWN_MS: u64 = 30_000;

/// What the command line may restrict; the seed draws the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The workloads a seed may pick from.
    pub workloads: Vec<WorkloadKind>,
    /// The fault kinds a seed may enable.
    pub faults: Vec<FaultKind>,
}

impl Default for Options {
    /// Every workload (register, counter, list-append, queue), every fault.
    fn default() -> Self {
        Options {
            workloads: WorkloadKind::ALL.to_vec(),
            faults: FaultKind::ALL.to_vec(),
        }
    }
}

/// Every option of one run, drawn from its seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub seed: u64,
    pub workload: WorkloadKind,
    pub servers: usize,
    pub clients: usize,
    pub keys: u32,
    pub op_timeout_ms: u64,
    pub think_max_ms: u64,
    /// turmoil's per-message latency range.
    pub latency_ms: (u64, u64),
    pub safety_ms: u64,
    pub liveness_bound_ms: u64,
    pub mix: FaultMix,
    pub schedule: Vec<Action>,
}

impl Scenario {
    /// Draws every option from `seed` (ChaCha8, seeded with it).
    pub fn draw(seed: u64, options: &Options) -> Scenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let workloads = &options.workloads;
        let workload = workloads[usize::try_from(rng.next_u64() % workloads.len().max(1) as u64)
            .unwrap_or(0)
            .min(workloads.len().saturating_sub(1))];
        let servers = usize::try_from(between(&mut rng, 1, 2)).unwrap_or(1);
        let clients = usize::try_from(between(&mut rng, 2, 5)).unwrap_or(2);
        let keys = u32::try_from(between(&mut rng, 1, 3)).unwrap_or(1);
        let op_timeout_ms = between(&mut rng, 300, 1500);
        let think_max_ms = between(&mut rng, 5, 50);
        let latency_lo = between(&mut rng, 0, 2);
        let latency_ms = (latency_lo, latency_lo + between(&mut rng, 1, 50));
        let safety_ms = between(&mut rng, 5_000, 20_000);
        let mix = FaultMix::draw(&mut rng, &options.faults);
        let cast = cast(servers, clients);
        let schedule = nemesis::schedule(&mut rng, &mix, &cast, safety_ms);
        Scenario {
            seed,
            workload,
            servers,
            clients,
            keys,
            op_timeout_ms,
            think_max_ms,
            latency_ms,
            safety_ms,
            liveness_bound_ms: LIVENESS_BOUND_MS,
            mix,
            schedule,
        }
    }

    /// The seed and every option drawn from it.
    pub fn banner(&self) -> String {
        let mut b = String::new();
        let _ = writeln!(b, "keel-sim seed {}", self.seed);
        let _ = writeln!(
            b,
            "  workload  {} on {} key(s) per server",
            self.workload, self.keys
        );
        let _ = writeln!(
            b,
            "  hosts     {} server(s), {} client(s)",
            self.servers, self.clients
        );
        let _ = writeln!(
            b,
            "  clients   op timeout {} ms, think up to {} ms",
            self.op_timeout_ms, self.think_max_ms
        );
        let _ = writeln!(
            b,
            "  latency   {}..{} ms",
            self.latency_ms.0, self.latency_ms.1
        );
        let _ = writeln!(
            b,
            "  phases    safety {} ms, then liveness: every client progresses within {} ms",
            self.safety_ms, self.liveness_bound_ms
        );
        let _ = writeln!(b, "  faults    {}", self.mix);
        let _ = write!(b, "  schedule  {} action(s)", self.schedule.len());
        b
    }

    /// The schedule, one action per line.
    pub fn schedule_lines(&self) -> String {
        self.schedule.iter().map(|a| format!("  {a}\n")).collect()
    }
}

fn server_name(i: usize) -> String {
    format!("server{i}")
}

fn client_name(i: usize) -> String {
    format!("client{i}")
}

fn cast(servers: usize, clients: usize) -> Cast {
    Cast {
        servers: (0..servers).map(server_name).collect(),
        clients: (0..clients).map(client_name).collect(),
    }
}

/// One check of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: String,
    pub ok: bool,
    pub detail: String,
}

impl Finding {
    /// `check: first line of detail` for each failed finding, in order: what
    /// the CLIs print under a failed seed.
    pub fn failure_lines(findings: &[Finding]) -> Vec<String> {
        findings
            .iter()
            .filter(|f| !f.ok)
            .map(|f| format!("{}: {}", f.check, f.detail.lines().next().unwrap_or("")))
            .collect()
    }

    pub fn new(check: &str, ok: bool, detail: impl Into<String>) -> Self {
        Finding {
            check: check.to_string(),
            ok,
            detail: detail.into(),
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub scenario: Scenario,
    pub trace_hash: u64,
    pub history: History,
    pub findings: Vec<Finding>,
    /// The nemesis's actions as applied, with their times.
    pub nemesis_log: Vec<String>,
    /// Virtual time when the run ended.
    pub ended_ms: u64,
}

/// Runs one step of the simulation; true once it has finished, or has
/// stopped (the stop is recorded as a failed finding).
pub fn step_sim(sim: &mut turmoil::Sim<'_>, findings: &mut Vec<Finding>) -> bool {
    match sim.step() {
        Ok(done) => done,
        Err(e) => {
            findings.push(Finding::new("simulation", false, format!("stopped: {e}")));
            true
        }
    }
}

/// One line per check: `ok` or `FAIL`, its name and what it found.
pub fn findings_report(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let mark = if f.ok { "ok  " } else { "FAIL" };
        let _ = writeln!(out, "  {mark} {}: {}", f.check, f.detail);
    }
    out
}

impl RunResult {
    pub fn passed(&self) -> bool {
        self.findings.iter().all(|f| f.ok)
    }

    /// One line per check, and the verdict.
    pub fn report(&self) -> String {
        let mut out = findings_report(&self.findings);
        let (ok, fail, info) = count_completions(&self.history);
        let _ = writeln!(
            out,
            "  ops: {ok} ok, {fail} fail, {info} info; {} ms of virtual time",
            self.ended_ms
        );
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        let _ = write!(
            out,
            "verdict: {verdict} (seed {}, trace hash {:016x})",
            self.scenario.seed, self.trace_hash
        );
        out
    }
}

fn count_completions(history: &History) -> (usize, usize, usize) {
    let count = |kind| history.events.iter().filter(|e| e.kind == kind).count();
    (
        count(EventType::Ok),
        count(EventType::Fail),
        count(EventType::Info),
    )
}

thread_local! {
    /// Panics seen on this thread (a simulation runs on one thread).
    static PANICS: Cell<u64> = const { Cell::new(0) };
}

/// Counts every panic, including those tokio catches inside a server task
/// (without `--cfg tokio_unstable` turmoil would not see them).
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            previous(info);
        }));
    });
}

/// Runs one scenario to its verdict. Never panics: a panic is a finding.
pub fn run(scenario: &Scenario) -> RunResult {
    count_panics();
    let before = PANICS.with(Cell::get);
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| simulate(scenario)));
    let panics = PANICS.with(Cell::get) - before;
    let mut result = result.unwrap_or_else(|_| RunResult {
        scenario: scenario.clone(),
        trace_hash: 0,
        history: History::new(),
        findings: vec![Finding::new(
            "simulation",
            false,
            "the simulation itself panicked",
        )],
        nemesis_log: Vec::new(),
        ended_ms: 0,
    });
    result.findings.insert(
        0,
        Finding::new(
            "no panic",
            panics == 0,
            format!("{panics} panic(s) in servers or clients"),
        ),
    );
    result
}

fn build_sim(scenario: &Scenario) -> turmoil::Sim<'static> {
    let limit = scenario.safety_ms + scenario.liveness_bound_ms + WIND_DOWN_MS;
    turmoil::Builder::new()
        .rng_seed(scenario.seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(EPOCH_SECS))
        .min_message_latency(Duration::from_millis(scenario.latency_ms.0))
        .max_message_latency(Duration::from_millis(scenario.latency_ms.1))
        .simulation_duration(Duration::from_millis(limit))
        .build()
}

/// The world of a scenario: server hosts and client hosts, not yet run.
fn populate(
    sim: &mut turmoil::Sim<'static>,
    scenario: &Scenario,
    rec: &Recorder,
) -> Vec<HostControl> {
    let servers: Vec<HostControl> = (0..scenario.servers)
        .map(|i| HostControl::new(&server_name(i), scenario.seed ^ (i as u64 + 1)))
        .collect();
    for (i, host) in servers.iter().enumerate() {
        let config = server_config(scenario.seed.wrapping_add(i as u64));
        sim.host(host.name.as_str(), host.software(config));
    }
    for i in 0..scenario.clients {
        let spec = ClientSpec {
            process: i as u64,
            workload: scenario.workload,
            keys: scenario.keys,
            op_timeout_ms: scenario.op_timeout_ms,
            think_max_ms: scenario.think_max_ms,
            seed: scenario.seed.rotate_left(17) ^ (i as u64 + 1),
        };
        let server = servers[i % servers.len()].clone();
        sim.client(
            client_name(i).as_str(),
            run_client(spec, server, rec.clone()),
        );
    }
    servers
}

/// Which clients completed an operation after the heal, and when the last
/// of them did; reads only the events added since the last call.
struct Progress {
    healed_at: u64,
    seen: usize,
    progressed: BTreeSet<u64>,
    last_first_ok: u64,
}

impl Progress {
    fn update(&mut self, history: &History) {
        for e in &history.events[self.seen..] {
            if e.kind == EventType::Ok
                && e.time_ms > self.healed_at
                && self.progressed.insert(e.process)
            {
                self.last_first_ok = e.time_ms;
            }
        }
        self.seen = history.events.len();
    }
}

fn simulate(scenario: &Scenario) -> RunResult {
    let mut sim = build_sim(scenario);
    let rec = Recorder::default();
    let servers = populate(&mut sim, scenario, &rec);
    let client_names: Vec<String> = (0..scenario.clients).map(client_name).collect();
    let mut nemesis = Nemesis::new(&servers, &client_names, scenario.latency_ms.1);
    let mut findings = Vec::new();
    let mut next_action = 0;
    let mut progress: Option<Progress> = None;
    let deadline = scenario.safety_ms + scenario.liveness_bound_ms;
    loop {
        let now = nemesis::sim_ms(&sim);
        while let Some(action) = scenario
            .schedule
            .get(next_action)
            .filter(|a| a.at_ms <= now)
        {
            nemesis.apply(&mut sim, action);
            next_action += 1;
        }
        if progress.is_none() && now >= scenario.safety_ms {
            nemesis.heal_everything(&mut sim);
            progress = Some(Progress {
                healed_at: now,
                seen: 0,
                progressed: BTreeSet::new(),
                last_first_ok: now,
            });
        }
        if let Some(p) = progress.as_mut() {
            p.update(&rec.history.borrow());
            if p.progressed.len() == scenario.clients || now >= deadline {
                rec.stop.set(true);
            }
        }
        if step_sim(&mut sim, &mut findings) {
            break;
        }
    }
    let ended_ms = nemesis::sim_ms(&sim);
    drop(sim);
    let history = rec.history.borrow().clone();
    findings.push(liveness(scenario, progress.as_ref()));
    findings.push(replies_fit(&rec.anomalies.borrow()));
    findings.push(every_invoke_completed(&history));
    findings.extend(runner_checks::check_history(scenario, &history));
    let trace_hash = trace_hash(rec.trace.borrow().hash(), &history, &nemesis.log);
    RunResult {
        scenario: scenario.clone(),
        trace_hash,
        history,
        findings,
        nemesis_log: nemesis.log,
        ended_ms,
    }
}

fn liveness(scenario: &Scenario, progress: Option<&Progress>) -> Finding {
    let Some(p) = progress else {
        return Finding::new("liveness", false, "the safety phase never ended");
    };
    let waited = p.last_first_ok.saturating_sub(p.healed_at);
    let stalled: Vec<String> = (0..scenario.clients as u64)
        .filter(|c| !p.progressed.contains(c))
        .map(|c| client_name(c as usize))
        .collect();
    if stalled.is_empty() && waited <= scenario.liveness_bound_ms {
        Finding::new(
            "liveness",
            true,
            format!("every client completed an operation within {waited} ms of the heal"),
        )
    } else {
        Finding::new(
            "liveness",
            false,
            format!(
                "no operation completed within {} ms of the heal by: {}",
                scenario.liveness_bound_ms,
                stalled.join(", ")
            ),
        )
    }
}

fn replies_fit(anomalies: &[String]) -> Finding {
    if anomalies.is_empty() {
        return Finding::new(
            "replies fit commands",
            true,
            "every reply had its command's shape",
        );
    }
    let mut detail = format!("{} reply(ies) of the wrong shape", anomalies.len());
    for line in anomalies.iter().take(5) {
        let _ = write!(detail, "\n       {line}");
    }
    Finding::new("replies fit commands", false, detail)
}

/// Each client ends its last operation before it stops, so every invoke has
/// a completion: otherwise a client hung, or the harness lost an event.
fn every_invoke_completed(history: &History) -> Finding {
    let mut open = BTreeSet::new();
    for e in &history.events {
        if e.kind == EventType::Invoke {
            open.insert(e.process);
        } else {
            open.remove(&e.process);
        }
    }
    Finding::new(
        "history complete",
        open.is_empty(),
        if open.is_empty() {
            format!("{} events, every invoke completed", history.events.len())
        } else {
            format!("processes with an operation never completed: {open:?}")
        },
    )
}

/// FNV-1a over the replies' hash, every history event and the nemesis log.
fn trace_hash(replies: u64, history: &History, log: &[String]) -> u64 {
    let mut hash = crate::Fnv1a::default();
    let mut mix = |bytes: &[u8]| hash.mix(bytes);
    mix(&replies.to_le_bytes());
    for e in &history.events {
        mix(format!("{e:?}").as_bytes());
    }
    for line in log {
        mix(line.as_bytes());
    }
    hash.value()
}

/// Runs `scenario` twice; the verdict of the first run, plus whether the
/// second gave the same trace hash.
pub fn run_twice(scenario: &Scenario) -> (RunResult, Finding) {
    let first = run(scenario);
    let second = run(scenario);
    let same = first.trace_hash == second.trace_hash;
    let finding = Finding::new(
        "determinism",
        same,
        format!(
            "trace hashes {:016x} and {:016x}",
            first.trace_hash, second.trace_hash
        ),
    );
    (first, finding)
}
