//! The command line's side of the durability scenarios:
//! `keel-sim --scenario aof-always --seeds 0..200` and friends.

use super::{run, run_twice, DurableKind, DurableRun, DurableScenario};
use std::ops::Range;
use std::time::Instant;

/// Runs `seeds` of scenario `kind`: one seed in full (banner, checks,
/// with `verbose` the schedule, the nemesis's and the disk's logs), or a
/// line per seed and a summary. Returns whether every run passed.
pub fn run_seeds(
    kind: DurableKind,
    seeds: Range<u64>,
    single: bool,
    determinism: bool,
    verbose: bool,
) -> bool {
    if single {
        return run_one(kind, seeds.start, determinism, verbose);
    }
    let started = Instant::now();
    let mut failed = Vec::new();
    let mut windows = Vec::new();
    let mut power_losses = 0;
    for seed in seeds.clone() {
        let scenario = DurableScenario::draw(seed, kind);
        let (result, same) = run_maybe_twice(&scenario, determinism);
        let passed = result.passed() && same.is_none_or(|s| s);
        power_losses += result
            .audits
            .iter()
            .filter(|a| a.stop == Some(super::host::Stop::PowerLoss))
            .count();
        windows.extend(result.loss_windows_ms.iter().copied());
        println!(
            "seed {seed:>6}  {}  {:>4} audits {:>5} ops  hash {:016x}",
            if passed { "ok  " } else { "FAIL" },
            result.audits.len(),
            result.history.events.len() / 2 + result.txns.len(),
            result.trace_hash
        );
        if !passed {
            failed.push((seed, failures(&result, same)));
        }
    }
    let runs = seeds.end - seeds.start;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} of {runs} seed(s) of {} passed in {secs:.1} s ({:.0} seeds/minute); {power_losses} power loss(es) audited",
        runs - failed.len() as u64,
        kind.name(),
        runs as f64 * 60.0 / secs.max(1e-9)
    );
    if kind.everysec() {
        println!("{}", window_summary(&mut windows));
    }
    for (seed, reasons) in &failed {
        println!("FAILED seed {seed}:");
        for reason in reasons {
            println!("  {reason}");
        }
        println!(
            "  replay: cargo run -p keel-sim --release -- --scenario {} --seed {seed} --verbose",
            kind.name()
        );
    }
    failed.is_empty()
}

fn run_maybe_twice(scenario: &DurableScenario, determinism: bool) -> (DurableRun, Option<bool>) {
    if determinism {
        let (result, same) = run_twice(scenario);
        (result, Some(same.ok))
    } else {
        (run(scenario), None)
    }
}

fn failures(result: &DurableRun, same: Option<bool>) -> Vec<String> {
    let mut reasons = crate::runner::Finding::failure_lines(&result.findings);
    if same == Some(false) {
        reasons.push("determinism: two runs gave different trace hashes".into());
    }
    reasons
}

fn run_one(kind: DurableKind, seed: u64, determinism: bool, verbose: bool) -> bool {
    let scenario = DurableScenario::draw(seed, kind);
    println!("{}", scenario.banner());
    if verbose {
        print!("{}", scenario.schedule_lines());
    }
    let (result, same) = run_maybe_twice(&scenario, determinism);
    if verbose {
        println!("nemesis:");
        for line in &result.nemesis_log {
            println!("  {line}");
        }
        println!("disk:");
        for line in &result.disk_log {
            println!("  {line}");
        }
        println!("server exits at (ms): {:?}", result.exits_ms);
    }
    println!("checks:");
    println!("{}", result.report());
    verdict(result.passed(), same)
}

/// Prints the determinism check's outcome (when it ran) and whether the
/// seed passed: its checks, and the same trace hash twice.
pub(crate) fn verdict(passed: bool, same: Option<bool>) -> bool {
    if let Some(same) = same {
        let outcome = if same {
            "same trace hash"
        } else {
            "DIFFERENT trace hashes"
        };
        println!("determinism: {outcome}");
    }
    passed && same != Some(false)
}

/// The everysec loss windows: how many, the distribution and the maximum.
pub fn window_summary(windows: &mut [u64]) -> String {
    windows.sort_unstable();
    let n = windows.len();
    if n == 0 {
        return "loss window: no power loss audited".into();
    }
    let pct = |p: usize| windows[(n - 1) * p / 100];
    let lossy = windows.iter().filter(|w| **w > 0).count();
    let buckets = [0, 250, 500, 750, 1000, 1250, 1500, 2000];
    let mut hist = String::new();
    let mut lower = None::<u64>;
    for &upper in &buckets {
        let count = windows
            .iter()
            .filter(|&&w| lower.is_none_or(|l| w > l) && w <= upper)
            .count();
        let label = match lower {
            None => "0".to_string(),
            Some(l) => format!("{}..{upper}", l + 1),
        };
        hist.push_str(&format!(" {label}: {count};"));
        lower = Some(upper);
    }
    let over = windows.iter().filter(|&&w| w > 2000).count();
    format!(
        "loss window (ms) over {n} power loss(es), {lossy} losing acknowledged writes: \
         p50 {} p90 {} p99 {} max {}\n  distribution:{hist} >2000: {over}",
        pct(50),
        pct(90),
        pct(99),
        windows[n - 1]
    )
}
