//! `keel-sim-repl`: the replication scenario (a primary, two replicas, the
//! nemesis on their links, crashes and clocks) from seeds.
//!
//! ```text
//! cargo run -p keel-sim --bin keel-sim-repl -- --seeds 0..200
//! cargo run -p keel-sim --bin keel-sim-repl -- --seed 42
//! ```
//!
//! Exit status: 0 when every run passed, 1 when one failed, 2 on bad usage.

use keel_sim::repl_scenario::{run_replication, ReplScenario};
use std::ops::Range;
use std::process::ExitCode;

const USAGE: &str = "usage: keel-sim-repl (--seed N | --seeds A..B)";

fn parse(argv: &[String]) -> Result<Range<u64>, String> {
    match argv {
        [flag, n] if flag == "--seed" => {
            let n: u64 = n.parse().map_err(|_| format!("bad seed '{n}'"))?;
            Ok(n..n.saturating_add(1))
        }
        [flag, range] if flag == "--seeds" => {
            let (a, b) = range.split_once("..").ok_or("give --seeds A..B")?;
            let a: u64 = a.parse().map_err(|_| format!("bad seed '{a}'"))?;
            let b: u64 = b.parse().map_err(|_| format!("bad seed '{b}'"))?;
            Ok(a..b)
        }
        _ => Err(USAGE.into()),
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let seeds = match parse(&argv) {
        Ok(seeds) => seeds,
        Err(e) => {
            eprintln!("keel-sim-repl: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut failed, mut partial, mut total) = (Vec::new(), 0, 0);
    for seed in seeds {
        let run = run_replication(&ReplScenario::draw(seed));
        println!("{}", run.line(seed));
        partial += run.partial_resyncs;
        total += 1;
        if !run.passed() {
            failed.push(seed);
        }
    }
    println!(
        "{total} run(s), {} failed, {partial} partial resync(s) in all",
        failed.len()
    );
    for seed in &failed {
        println!("replay: cargo run -p keel-sim --bin keel-sim-repl -- --seed {seed}");
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
