//! `rdb-snapshots`: RDB durability under power loss (issue 5).
//!
//! One server with the AOF off and a short save point (`save 1 1`), a
//! filler dataset saved before any fault, writers appending unique values,
//! and a saver running SAVE and BGSAVE and polling INFO persistence
//! ([`clients`]). The fault schedule, drawn from the seed, mixes:
//!
//! - **power loss** at a tick of the simulation;
//! - **power cut at a disk operation** (1 to 14 operations ahead): inside a
//!   snapshot's file, between its sync and rename, between the rename and
//!   the directory sync ([`crate::fault_disk`]);
//! - **kill** (the page cache survives);
//! - **an fsync error** on the next sync (the next snapshot's file): that
//!   BGSAVE fails, INFO says `rdb_last_bgsave_status:err`, and writes get
//!   `-MISCONF` until a later save succeeds;
//! - **a bit flipped in dump.rdb** while the server is down: the next
//!   start must refuse with a fatal error naming the file and offset; the
//!   operator then puts the bit back (restores the backup) and the server
//!   starts again.
//!
//! After every restart the auditor reads what was loaded before anyone
//! writes; [`check`] says whether it is exactly the data of a snapshot
//! that existed, no older than one known durable.

pub mod check;
pub mod clients;

use super::host::{run_durable_server, DurableHost, Stop, RESTART_DELAY_MS};
use crate::fault::DATA_DIR;
use crate::fault_disk::SimDisk;
use crate::nemesis::{self, between};
use crate::runner::{Finding, LIVENESS_BOUND_MS};
use crate::workload::{now_ms, Recorder};
use check::Recorded;
use clients::{Records, WriterSpec};
use keel_engine::config::SavePoint;
use keel_engine::Config;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;
use turmoil::fs::shim::std::fs as sfs;

/// The scenario's name on the command line.
pub const NAME: &str = "rdb-snapshots";
const SERVER: &str = "server0";
const DUMP: &str = "/data/dump.rdb";
const WIND_DOWN_MS: u64 = 30_000;

/// One fault of the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    PowerLoss {
        down_ms: u64,
    },
    /// The power goes after this many more disk operations.
    CutAtOp {
        ops: u32,
        down_ms: u64,
    },
    Kill,
    FsyncError,
    /// Power loss, and a bit of dump.rdb flips before the next boot.
    FlipAtRest {
        down_ms: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    pub at_ms: u64,
    pub event: Event,
}

/// Every option of one run, drawn from its seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbScenario {
    pub seed: u64,
    pub writers: usize,
    pub op_timeout_ms: u64,
    pub think_max_ms: u64,
    pub latency_ms: (u64, u64),
    pub safety_ms: u64,
    pub block_size: u64,
    pub schedule: Vec<Action>,
}

impl RdbScenario {
    pub fn draw(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_0DB0);
        let writers = between(&mut rng, 2, 4) as usize;
        let op_timeout_ms = between(&mut rng, 300, 1500);
        let think_max_ms = between(&mut rng, 5, 50);
        let lo = between(&mut rng, 0, 2);
        let latency_ms = (lo, lo + between(&mut rng, 1, 30));
        let safety_ms = between(&mut rng, 8_000, 20_000);
        let block_size = [16, 64, 512][between(&mut rng, 0, 2) as usize];
        let schedule = draw_schedule(&mut rng, safety_ms);
        RdbScenario {
            seed,
            writers,
            op_timeout_ms,
            think_max_ms,
            latency_ms,
            safety_ms,
            block_size,
            schedule,
        }
    }

    pub fn banner(&self) -> String {
        let mut b = String::new();
        let _ = writeln!(b, "keel-sim {NAME} seed {}", self.seed);
        let _ = writeln!(
            b,
            "  server    appendonly no, save 1 1, stop-writes-on-bgsave-error yes, torn writes in {}-byte blocks",
            self.block_size
        );
        let _ = writeln!(
            b,
            "  clients   {} writer(s) and a saver, op timeout {} ms, think up to {} ms",
            self.writers, self.op_timeout_ms, self.think_max_ms
        );
        let _ = writeln!(
            b,
            "  latency   {}..{} ms; safety {} ms, then liveness within {} ms",
            self.latency_ms.0, self.latency_ms.1, self.safety_ms, LIVENESS_BOUND_MS
        );
        let _ = write!(b, "  schedule  {} action(s)", self.schedule.len());
        b
    }

    pub fn schedule_lines(&self) -> String {
        self.schedule
            .iter()
            .map(|a| format!("  {:>7} ms  {:?}\n", a.at_ms, a.event))
            .collect()
    }
}

/// Faults from 500 ms on, one at a time, each after the previous one's
/// restart and some quiet time.
fn draw_schedule(rng: &mut ChaCha8Rng, until_ms: u64) -> Vec<Action> {
    let mut schedule = Vec::new();
    let mut at = between(rng, 500, 1500);
    while at < until_ms {
        let down_ms = between(rng, 100, 1500);
        let event = match rng.next_u64() % 10 {
            0..=1 => Event::PowerLoss { down_ms },
            2..=4 => Event::CutAtOp {
                ops: between(rng, 1, 14) as u32,
                down_ms,
            },
            5 => Event::Kill,
            6..=7 => Event::FsyncError,
            _ => Event::FlipAtRest { down_ms },
        };
        schedule.push(Action { at_ms: at, event });
        at += down_ms + between(rng, 400, 2500);
    }
    schedule
}

/// The server's config: no AOF, a short save point, files under [`DATA_DIR`].
pub fn rdb_config(seed: u64) -> Config {
    Config {
        appendonly: false,
        save: vec![SavePoint {
            seconds: 1,
            changes: 1,
        }],
        stop_writes_on_bgsave_error: true,
        dir: DATA_DIR.to_string(),
        ..crate::server_config(seed)
    }
}

/// A bit of dump.rdb flipped at rest, and how the start after it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flip {
    pub at_ms: u64,
    pub offset: u64,
    pub bit: u8,
    /// The fatal error the start stopped on (None: it did not refuse).
    pub refused: Option<String>,
}

/// The bit flips of a run: armed by the schedule, applied by the host's
/// software at boot, undone by the operator after a refused start.
#[derive(Debug, Clone)]
struct Flips(Rc<RefCell<FlipState>>);

#[derive(Debug)]
struct FlipState {
    pending: bool,
    in_place: Option<usize>,
    rng: ChaCha8Rng,
    log: Vec<Flip>,
}

impl Flips {
    fn new(seed: u64) -> Self {
        Flips(Rc::new(RefCell::new(FlipState {
            pending: false,
            in_place: None,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0xF11B),
            log: Vec::new(),
        })))
    }

    /// Flips one bit of dump.rdb, durably, if one is pending and the file
    /// exists.
    fn apply_pending(&self, records: &Records) -> std::io::Result<()> {
        let mut st = self.0.borrow_mut();
        if !std::mem::take(&mut st.pending) || st.in_place.is_some() {
            return Ok(());
        }
        let Ok(len) = sfs::metadata(DUMP).map(|m| m.len()) else {
            return Ok(());
        };
        if len == 0 {
            return Ok(());
        }
        let offset = st.rng.next_u64() % len;
        let bit = (st.rng.next_u64() % 8) as u8;
        flip_bit(offset, bit)?;
        st.log.push(Flip {
            at_ms: now_ms(),
            offset,
            bit,
            refused: None,
        });
        st.in_place = Some(st.log.len() - 1);
        records.flip_in_place.set(true);
        Ok(())
    }

    /// The start stopped on `error`: the operator puts the bit back.
    fn refused(&self, error: &str, records: &Records) -> std::io::Result<()> {
        let mut st = self.0.borrow_mut();
        let Some(index) = st.in_place.take() else {
            return Ok(());
        };
        let flip = &mut st.log[index];
        flip.refused = Some(error.to_string());
        flip_bit(flip.offset, flip.bit)?;
        records.flip_in_place.set(false);
        Ok(())
    }
}

fn flip_bit(offset: u64, bit: u8) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let file = sfs::OpenOptions::new().read(true).write(true).open(DUMP)?;
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, offset)?;
    byte[0] ^= 1 << bit;
    file.write_all_at(&byte, offset)?;
    file.sync_all()
}

type Software =
    Box<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = turmoil::Result>>>>;

/// The host's software: boot the disk, apply a pending flip, serve until
/// the process exits; a supervisor starts it again (after a refused start,
/// once the operator restored the file).
fn software(host: DurableHost, config: Config, records: Records, flips: Flips) -> Software {
    Box::new(move || {
        let (host, config) = (host.clone(), config.clone());
        let (records, flips) = (records.clone(), flips.clone());
        Box::pin(async move {
            loop {
                host.booted();
                let disk = SimDisk::new(PathBuf::from(DATA_DIR), host.control.disk.clone());
                disk.boot()?;
                flips.apply_pending(&records)?;
                let ended = run_durable_server(config.clone(), &host.control, disk).await;
                let now = now_ms();
                host.exits.borrow_mut().push(now);
                if let Err(e) = ended {
                    let error = e.to_string();
                    host.fatal.borrow_mut().push((now, error.clone()));
                    flips.refused(&error, &records)?;
                }
                host.died(now, Stop::Exit);
                tokio::time::sleep(Duration::from_millis(RESTART_DELAY_MS)).await;
            }
        })
    })
}

/// What a run produced, checked.
#[derive(Debug, Clone)]
pub struct RdbRun {
    pub scenario: RdbScenario,
    pub findings: Vec<Finding>,
    pub trace_hash: u64,
    pub recorded: Recorded,
    pub flips: Vec<Flip>,
    pub fatal: Vec<(u64, String)>,
    pub boots: u64,
    pub log: Vec<String>,
    pub disk_log: Vec<String>,
    pub ended_ms: u64,
}

impl RdbRun {
    pub fn passed(&self) -> bool {
        self.findings.iter().all(|f| f.ok)
    }

    /// Snapshots known to have completed: SAVE's +OK and growths of
    /// `rdb_saves` between polls.
    pub fn snapshots_completed(&self) -> usize {
        let saved = self
            .recorded
            .saves
            .iter()
            .filter(|s| s.reply == clients::SaveReply::Saved)
            .count();
        let grown: u64 = self
            .recorded
            .polls
            .windows(2)
            .filter(|p| p[0].epoch == p[1].epoch)
            .map(|p| p[1].saves.saturating_sub(p[0].saves))
            .sum();
        saved + grown as usize
    }

    /// Failed background saves seen (INFO status turning to err).
    pub fn snapshots_failed(&self) -> usize {
        let polls = &self.recorded.polls;
        polls
            .windows(2)
            .filter(|p| p[0].epoch == p[1].epoch && p[0].status_ok && !p[1].status_ok)
            .count()
            + polls.first().map_or(0, |p| usize::from(!p.status_ok))
    }

    pub fn power_cuts(&self) -> usize {
        self.disk_log
            .iter()
            .filter(|l| l.starts_with("power cut"))
            .count()
    }

    pub fn counts(&self) -> String {
        format!(
            "{} restart(s), {} audit(s), {} snapshot(s) completed, {} failed, {} power cut(s) at a disk operation, {} refused start(s)",
            self.boots.saturating_sub(1),
            self.recorded.audits.len(),
            self.snapshots_completed(),
            self.snapshots_failed(),
            self.power_cuts(),
            self.fatal.len()
        )
    }

    pub fn report(&self) -> String {
        let mut out = crate::runner::findings_report(&self.findings);
        let _ = writeln!(
            out,
            "  {}, {} ms of virtual time",
            self.counts(),
            self.ended_ms
        );
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        let _ = write!(
            out,
            "verdict: {verdict} ({NAME} seed {}, trace hash {:016x})",
            self.scenario.seed, self.trace_hash
        );
        out
    }
}

/// Runs one scenario to its verdict; a panic anywhere is a finding.
pub fn run(scenario: &RdbScenario) -> RdbRun {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| simulate(scenario)));
    result.unwrap_or_else(|_| RdbRun {
        scenario: scenario.clone(),
        findings: vec![Finding::new("no panic", false, "the simulation panicked")],
        trace_hash: 0,
        recorded: Recorded::default(),
        flips: Vec::new(),
        fatal: Vec::new(),
        boots: 0,
        log: Vec::new(),
        disk_log: Vec::new(),
        ended_ms: 0,
    })
}

fn build_sim(scenario: &RdbScenario) -> turmoil::Sim<'static> {
    super::durable_sim(
        scenario.seed,
        scenario.safety_ms + WIND_DOWN_MS,
        scenario.latency_ms,
        scenario.block_size,
    )
}

fn populate(
    sim: &mut turmoil::Sim<'static>,
    scenario: &RdbScenario,
    rec: &Recorder,
    records: &Records,
    flips: &Flips,
) -> DurableHost {
    let host = DurableHost::new(SERVER, scenario.seed ^ 1);
    let config = rdb_config(scenario.seed);
    sim.host(
        SERVER,
        software(host.clone(), config, records.clone(), flips.clone()),
    );
    let (h, r, rs) = (host.clone(), rec.clone(), records.clone());
    sim.client("setup", async move {
        clients::run_setup(h, r, rs).await;
        Ok(())
    });
    for writer in 0..scenario.writers {
        let spec = WriterSpec {
            writer,
            op_timeout_ms: scenario.op_timeout_ms,
            think_max_ms: scenario.think_max_ms,
            seed: scenario.seed.rotate_left(13) ^ (writer as u64 + 1),
        };
        let (h, r, rs) = (host.clone(), rec.clone(), records.clone());
        sim.client(format!("writer{writer}").as_str(), async move {
            clients::run_writer(spec, h, r, rs).await;
            Ok(())
        });
    }
    let seed = scenario.seed ^ 0x5A7E;
    let (h, r, rs) = (host.clone(), rec.clone(), records.clone());
    sim.client("saver", async move {
        clients::run_saver(seed, h, r, rs).await;
        Ok(())
    });
    let (h, r, rs, n) = (host.clone(), rec.clone(), records.clone(), scenario.writers);
    sim.client("auditor", async move {
        clients::run_auditor(h, n, r, rs).await;
        Ok(())
    });
    host
}

/// The process faults as they unfold: at most one at a time.
struct Faults {
    next: usize,
    restart_at: Option<u64>,
    /// A power cut armed, and how long the host stays down after it.
    cut: Option<u64>,
    log: Vec<String>,
}

impl Faults {
    fn power_off(
        &mut self,
        sim: &mut turmoil::Sim<'_>,
        host: &DurableHost,
        now: u64,
        down_ms: u64,
    ) {
        sim.crash(SERVER);
        host.control.disk.power_loss();
        host.died(now, Stop::PowerLoss);
        self.restart_at = Some(now + down_ms);
    }

    /// Applies what is due at `now`; faults that come while the host is
    /// down or a cut is armed are skipped.
    fn tick(
        &mut self,
        sim: &mut turmoil::Sim<'_>,
        schedule: &[Action],
        host: &DurableHost,
        flips: &Flips,
        now: u64,
    ) {
        if self.restart_at.is_some_and(|at| now >= at) {
            self.restart_at = None;
            sim.bounce(SERVER);
            self.log.push(format!("{now:>7} ms  power back on"));
        }
        if let Some(down_ms) = self.cut.filter(|_| host.control.disk.power_cut_reached()) {
            self.cut = None;
            self.log.push(format!("{now:>7} ms  power cut reached"));
            self.power_off(sim, host, now, down_ms);
        }
        while let Some(action) = schedule.get(self.next).filter(|a| a.at_ms <= now) {
            self.next += 1;
            if self.restart_at.is_some() || self.cut.is_some() {
                self.log.push(format!(
                    "{now:>7} ms  skipped {:?} (host busy)",
                    action.event
                ));
                continue;
            }
            self.log.push(format!("{now:>7} ms  {:?}", action.event));
            match action.event {
                Event::PowerLoss { down_ms } => self.power_off(sim, host, now, down_ms),
                Event::CutAtOp { ops, down_ms } => {
                    host.control.disk.cut_power_after(ops);
                    self.cut = Some(down_ms);
                }
                Event::Kill => {
                    sim.bounce(SERVER);
                    host.died(now, Stop::Kill);
                }
                Event::FsyncError => host.control.disk.fail_next_syncs(1),
                Event::FlipAtRest { down_ms } => {
                    flips.0.borrow_mut().pending = true;
                    self.power_off(sim, host, now, down_ms);
                }
            }
        }
    }

    /// The safety phase is over: no more cuts.
    fn heal(&mut self, host: &DurableHost, now: u64) {
        if self.cut.take().is_some() && !host.control.disk.power_cut_reached() {
            host.control.disk.disarm_power_cut();
            self.log.push(format!("{now:>7} ms  power cut disarmed"));
        } else if host.control.disk.power_cut_reached() {
            self.cut = Some(100);
        }
        self.log.push(format!("{now:>7} ms  heal"));
    }
}

fn simulate(scenario: &RdbScenario) -> RdbRun {
    let mut sim = build_sim(scenario);
    let rec = Recorder::default();
    let records = Records::default();
    let flips = Flips::new(scenario.seed);
    let host = populate(&mut sim, scenario, &rec, &records, &flips);
    let mut faults = Faults {
        next: 0,
        restart_at: None,
        cut: None,
        log: Vec::new(),
    };
    let mut findings = Vec::new();
    let mut healed_at = None;
    let deadline = scenario.safety_ms + LIVENESS_BOUND_MS;
    loop {
        let now = nemesis::sim_ms(&sim);
        // After the heal, restarts (and a cut already reached) still happen.
        let schedule = if healed_at.is_none() {
            &scenario.schedule[..]
        } else {
            &[]
        };
        faults.tick(&mut sim, schedule, &host, &flips, now);
        if healed_at.is_none() && now >= scenario.safety_ms {
            faults.heal(&host, now);
            healed_at = Some(now);
        }
        if let Some(healed) = healed_at {
            if writers_progressed(&records, scenario.writers, healed) || now >= deadline {
                rec.stop.set(true);
                records.finish.set(true);
            }
        }
        if crate::runner::step_sim(&mut sim, &mut findings) {
            break;
        }
    }
    let ended_ms = nemesis::sim_ms(&sim);
    drop(sim);
    finish(
        scenario, &rec, &records, &flips, &host, faults.log, findings, healed_at, ended_ms,
    )
}

/// Whether every writer had a write acknowledged after `since`.
fn writers_progressed(records: &Records, writers: usize, since: u64) -> bool {
    let writes = records.writes.borrow();
    let done: BTreeSet<usize> = writes
        .iter()
        .filter(|w| matches!(w.outcome, clients::WriteOutcome::Acked { at_ms } if at_ms > since))
        .map(|w| w.writer)
        .collect();
    done.len() == writers
}

#[allow(clippy::too_many_arguments)]
fn finish(
    scenario: &RdbScenario,
    rec: &Recorder,
    records: &Records,
    flips: &Flips,
    host: &DurableHost,
    log: Vec<String>,
    mut findings: Vec<Finding>,
    healed_at: Option<u64>,
    ended_ms: u64,
) -> RdbRun {
    let recorded = Recorded::take(records);
    let flip_log = flips.0.borrow().log.clone();
    let fatal = host.fatal.borrow().clone();
    findings.push(liveness(records, scenario.writers, healed_at));
    findings.push(Finding::new(
        "replies fit commands",
        rec.anomalies.borrow().is_empty(),
        format!(
            "{:?}",
            rec.anomalies.borrow().iter().take(3).collect::<Vec<_>>()
        ),
    ));
    findings.push(check::snapshots_finding(&recorded, ended_ms));
    findings.push(check::final_finding(&recorded));
    findings.push(check::misconf_finding(&recorded, ended_ms));
    findings.push(refused_starts_finding(&flip_log, &fatal, &recorded));
    let disk_log = host.control.disk.log();
    let trace_hash = trace_hash(rec.trace.borrow().hash(), &recorded, &log, &disk_log);
    RdbRun {
        scenario: scenario.clone(),
        findings,
        trace_hash,
        recorded,
        flips: flip_log,
        fatal,
        boots: host.boots(),
        log,
        disk_log,
        ended_ms,
    }
}

fn liveness(records: &Records, writers: usize, healed_at: Option<u64>) -> Finding {
    let Some(healed) = healed_at else {
        return Finding::new("liveness", false, "the safety phase never ended");
    };
    let ok = writers_progressed(records, writers, healed);
    Finding::new(
        "liveness",
        ok,
        if ok {
            "every writer had a write acknowledged after the heal".to_string()
        } else {
            format!("a writer had no write acknowledged within {LIVENESS_BOUND_MS} ms of the heal")
        },
    )
}

/// Every flipped bit made the next start refuse, naming dump.rdb and an
/// offset; no other start was refused; nothing was read while a flip was
/// in place.
fn refused_starts_finding(flips: &[Flip], fatal: &[(u64, String)], rec: &Recorded) -> Finding {
    let mut problems = Vec::new();
    for f in flips {
        match &f.refused {
            None => problems.push(format!(
                "the flip of bit {} at {} was never refused",
                f.bit, f.offset
            )),
            Some(e) if !(e.contains(DUMP) && e.contains("offset")) => problems.push(format!(
                "the refusal does not name the file and offset: {e}"
            )),
            Some(_) => {}
        }
    }
    let refusals = flips.iter().filter(|f| f.refused.is_some()).count();
    if fatal.len() != refusals {
        problems.push(format!(
            "{} fatal exit(s) for {refusals} flip(s): {:?}",
            fatal.len(),
            fatal.iter().take(3).collect::<Vec<_>>()
        ));
    }
    if rec.audits.iter().any(|a| a.flip_in_place) {
        problems.push("a state was read while dump.rdb was corrupt".into());
    }
    let example = fatal
        .first()
        .map_or(String::new(), |(_, e)| format!("; e.g. {e}"));
    Finding::new(
        "refused starts",
        problems.is_empty(),
        format!(
            "{} bit flip(s) at rest, {refusals} refused start(s){example}{}",
            flips.len(),
            problems
                .iter()
                .take(3)
                .map(|p| format!("\n       {p}"))
                .collect::<String>()
        ),
    )
}

/// FNV-1a over the replies' hash, the records and both logs.
fn trace_hash(replies: u64, rec: &Recorded, log: &[String], disk_log: &[String]) -> u64 {
    let mut hash = crate::Fnv1a::default();
    let mut mix = |bytes: &[u8]| hash.mix(bytes);
    mix(&replies.to_le_bytes());
    mix(format!("{rec:?}").as_bytes());
    for line in log.iter().chain(disk_log) {
        mix(line.as_bytes());
    }
    hash.value()
}

/// `keel-sim --scenario rdb-snapshots`: one seed in full, or a line per
/// seed and a summary. Returns whether every run passed.
pub fn run_seeds(
    seeds: std::ops::Range<u64>,
    single: bool,
    determinism: bool,
    verbose: bool,
) -> bool {
    if single {
        return run_one(seeds.start, determinism, verbose);
    }
    let started = std::time::Instant::now();
    let mut failed = Vec::new();
    let mut totals = [0usize; 6];
    for seed in seeds.clone() {
        let scenario = RdbScenario::draw(seed);
        let result = run(&scenario);
        let same = determinism.then(|| run(&scenario).trace_hash == result.trace_hash);
        let passed = result.passed() && same != Some(false);
        let counts = [
            result.boots.saturating_sub(1) as usize,
            result.recorded.audits.len(),
            result.snapshots_completed(),
            result.snapshots_failed(),
            result.power_cuts(),
            result.fatal.len(),
        ];
        for (t, c) in totals.iter_mut().zip(counts) {
            *t += c;
        }
        println!(
            "seed {seed:>6}  {}  {}  hash {:016x}",
            if passed { "ok  " } else { "FAIL" },
            result.counts(),
            result.trace_hash
        );
        if !passed {
            let mut reasons = Finding::failure_lines(&result.findings);
            if same == Some(false) {
                reasons.push("determinism: two runs gave different trace hashes".into());
            }
            failed.push((seed, reasons));
        }
    }
    let runs = seeds.end - seeds.start;
    println!(
        "{} of {runs} seed(s) of {NAME} passed in {:.1} s; {} restart(s), {} audit(s), {} snapshot(s) completed, {} failed, {} power cut(s) at a disk operation, {} refused start(s)",
        runs - failed.len() as u64,
        started.elapsed().as_secs_f64(),
        totals[0], totals[1], totals[2], totals[3], totals[4], totals[5]
    );
    for (seed, reasons) in &failed {
        println!("FAILED seed {seed}:");
        for reason in reasons {
            println!("  {reason}");
        }
        println!("  replay: cargo run -p keel-sim --release -- --scenario {NAME} --seed {seed} --verbose");
    }
    failed.is_empty()
}

fn run_one(seed: u64, determinism: bool, verbose: bool) -> bool {
    let scenario = RdbScenario::draw(seed);
    println!("{}", scenario.banner());
    if verbose {
        print!("{}", scenario.schedule_lines());
    }
    let result = run(&scenario);
    if verbose {
        println!("faults:");
        for line in &result.log {
            println!("  {line}");
        }
        println!("disk:");
        for line in &result.disk_log {
            println!("  {line}");
        }
        println!("flips: {:?}", result.flips);
        println!("fatal exits: {:?}", result.fatal);
    }
    println!("checks:");
    println!("{}", result.report());
    let same = determinism.then(|| run(&scenario).trace_hash == result.trace_hash);
    super::cli::verdict(result.passed(), same)
}
