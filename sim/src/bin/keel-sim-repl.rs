//! `keel-sim-repl`: the replication scenario (a primary, two replicas with
//! their own persistence, the nemesis on their links, power and clocks)
//! and the timed `min-replicas-to-write` check, from seeds.
//!
//! ```text
//! cargo run -p keel-sim --release --bin keel-sim-repl -- --seeds 0..100
//! cargo run -p keel-sim --release --bin keel-sim-repl -- --seed 42 --check-determinism
//! ```
//!
//! Exit status: 0 when every run passed, 1 when one failed, 2 on bad usage.

use keel_sim::repl_scenario::min_replicas::{self, run_min_replicas};
use keel_sim::repl_scenario::{run_replication, ReplScenario};
use std::ops::Range;
use std::process::ExitCode;

const USAGE: &str = "usage: keel-sim-repl (--seed N | --seeds A..B) [--check-determinism]";

struct Options {
    seeds: Range<u64>,
    /// Run every seed twice and compare the trace hashes.
    check_determinism: bool,
}

fn parse(argv: &[String]) -> Result<Options, String> {
    let check_determinism = argv.iter().any(|a| a == "--check-determinism");
    let rest: Vec<&String> = argv
        .iter()
        .filter(|a| *a != "--check-determinism")
        .collect();
    let seeds = match rest.as_slice() {
        [flag, n] if *flag == "--seed" => {
            let n: u64 = n.parse().map_err(|_| format!("bad seed '{n}'"))?;
            n..n.saturating_add(1)
        }
        [flag, range] if *flag == "--seeds" => {
            let (a, b) = range.split_once("..").ok_or("give --seeds A..B")?;
            let a: u64 = a.parse().map_err(|_| format!("bad seed '{a}'"))?;
            let b: u64 = b.parse().map_err(|_| format!("bad seed '{b}'"))?;
            a..b
        }
        _ => return Err(USAGE.into()),
    };
    Ok(Options {
        seeds,
        check_determinism,
    })
}

/// One seed: the scenario, the min-replicas check, and (if asked) the
/// replays. Returns whether everything passed and the min-replicas latency.
fn run_seed(seed: u64, check_determinism: bool) -> (bool, Option<u64>, u64) {
    let scenario = ReplScenario::draw(seed);
    let run = run_replication(&scenario);
    let timed = run_min_replicas(seed);
    let mut passed = run.passed() && timed.sim_error.is_none() && timed.result.is_valid();
    let mut line = format!(
        "{} primary={} min_replicas: {}",
        run.line(seed),
        scenario.primary.name(),
        timed.result.summary
    );
    if !timed.result.is_valid() {
        line.push_str(" FAIL");
    }
    if check_determinism {
        let again = run_replication(&scenario);
        let timed_again = run_min_replicas(seed);
        let same = again.trace_hash == run.trace_hash && timed_again.trace_hash == timed.trace_hash;
        passed &= same;
        line.push_str(if same {
            " deterministic"
        } else {
            " NOT DETERMINISTIC"
        });
    }
    println!("{line}");
    (passed, timed.latency_ms, run.partial_resyncs)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&argv) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("keel-sim-repl: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut failed, mut partial, mut total) = (Vec::new(), 0, 0);
    let mut latencies = Vec::new();
    for seed in options.seeds {
        let (passed, latency, partials) = run_seed(seed, options.check_determinism);
        partial += partials;
        total += 1;
        latencies.extend(latency);
        if !passed {
            failed.push(seed);
        }
    }
    println!(
        "{total} run(s), {} failed, {partial} partial resync(s) in all",
        failed.len()
    );
    if let (Some(lo), Some(hi)) = (latencies.iter().min(), latencies.iter().max()) {
        println!(
            "min-replicas: NOREPLICAS {lo}..={hi} ms after the cut (asserted {}..={} ms)",
            min_replicas::lower_bound_ms(),
            min_replicas::upper_bound_ms()
        );
    }
    for seed in &failed {
        println!("replay: cargo run -p keel-sim --release --bin keel-sim-repl -- --seed {seed}");
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
