//! `keel-sim`: runs deterministic simulations of Keel from seeds.
//!
//! ```text
//! cargo run -p keel-sim --release -- --seed 42
//! cargo run -p keel-sim --release -- --seeds 0..200
//! cargo run -p keel-sim --release -- --seed 42 --check-determinism
//! ```
//!
//! Exit status: 0 when every run passed, 1 when one failed, 2 on bad usage.

use keel_sim::nemesis::FaultKind;
use keel_sim::runner::{self, Finding, Options, RunResult, Scenario};
use keel_sim::workload::WorkloadKind;
use std::ops::Range;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "\
usage: keel-sim (--seed N | --seeds A..B) [options]

  --seed N              run one simulation and print its banner and checks
  --seeds A..B          run seeds A to B-1, one line each; failing seeds are
                        listed with the command that replays them
  --check-determinism   run each seed twice and compare the trace hashes
  --history-out FILE    write the history as JSON lines (with --seed)
  --workloads LIST      workloads a seed may pick, comma-separated, among
                        register, counter, list-append
                        (default: register,counter,list-append)
  --faults LIST         fault kinds a seed may enable, comma-separated, or
                        'none' (default: all): crash, bounce, partition,
                        partition-oneway, hold, latency, clock-jump,
                        clock-drift, pause, disk
  --verbose             also print the fault schedule and what the nemesis did
  --scenario NAME       a durability scenario instead: aof-always,
                        aof-everysec, aof-fsync-errors,
                        aof-everysec-fsync-errors, exec-crash,
                        rdb-snapshots
";

/// A `--scenario` name: an AOF durability scenario or the RDB one.
#[derive(Debug, Clone, Copy)]
enum ScenarioArg {
    Aof(keel_sim::durable::DurableKind),
    Rdb,
}

#[derive(Debug)]
struct Args {
    seeds: Range<u64>,
    single: bool,
    determinism: bool,
    history_out: Option<String>,
    verbose: bool,
    scenario: Option<ScenarioArg>,
    options: Options,
    /// The options as given, for replay commands.
    replay_flags: String,
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&argv) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("keel-sim: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let seeds = args.seeds.clone();
    let ok = if let Some(ScenarioArg::Aof(kind)) = args.scenario {
        keel_sim::durable::cli::run_seeds(kind, seeds, args.single, args.determinism, args.verbose)
    } else if let Some(ScenarioArg::Rdb) = args.scenario {
        keel_sim::durable::rdb::run_seeds(seeds, args.single, args.determinism, args.verbose)
    } else if args.single {
        run_one(&args)
    } else {
        run_many(&args)
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn parse(argv: &[String]) -> Result<Args, String> {
    let mut seeds = None;
    let mut single = false;
    let mut determinism = false;
    let mut history_out = None;
    let mut verbose = false;
    let mut scenario = None;
    let mut options = Options::default();
    let mut replay_flags = String::new();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--seed" => {
                let n = parse_u64(value()?)?;
                seeds = Some(n..n.saturating_add(1));
                single = true;
            }
            "--seeds" => {
                seeds = Some(parse_range(value()?)?);
                single = false;
            }
            "--check-determinism" => determinism = true,
            "--history-out" => history_out = Some(value()?.clone()),
            "--workloads" => {
                let list = value()?;
                options.workloads = parse_list(list, WorkloadKind::parse)?;
                replay_flags.push_str(&format!(" --workloads {list}"));
            }
            "--faults" => {
                let list = value()?;
                options.faults = if list == "none" {
                    Vec::new()
                } else {
                    parse_list(list, FaultKind::parse)?
                };
                replay_flags.push_str(&format!(" --faults {list}"));
            }
            "--verbose" => verbose = true,
            "--scenario" => {
                let name = value()?;
                let kind = keel_sim::durable::DurableKind::parse(name).map(ScenarioArg::Aof);
                let rdb = (name == keel_sim::durable::rdb::NAME).then_some(ScenarioArg::Rdb);
                let known = kind.or(rdb);
                scenario = Some(known.ok_or_else(|| format!("unknown scenario '{name}'"))?);
            }
            "-h" | "--help" => return Err("help".into()),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    let seeds = seeds.ok_or("give --seed N or --seeds A..B")?;
    if options.workloads.is_empty() {
        return Err("--workloads needs at least one workload".into());
    }
    if history_out.is_some() && !single {
        return Err("--history-out goes with --seed".into());
    }
    Ok(Args {
        seeds,
        single,
        determinism,
        history_out,
        verbose,
        scenario,
        options,
        replay_flags,
    })
}

fn parse_u64(text: &str) -> Result<u64, String> {
    text.parse().map_err(|_| format!("'{text}' is not a seed"))
}

fn parse_range(text: &str) -> Result<Range<u64>, String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("'{text}' is not a range A..B"))?;
    let (a, b) = (parse_u64(a)?, parse_u64(b)?);
    if a >= b {
        return Err(format!("the range {text} is empty"));
    }
    Ok(a..b)
}

fn parse_list<T>(text: &str, parse: fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    text.split(',')
        .map(|name| parse(name.trim()).ok_or_else(|| format!("unknown name '{name}'")))
        .collect()
}

/// The command that replays `seed` with the same build and options.
fn replay_command(seed: u64, args: &Args) -> String {
    let features = if cfg!(feature = "broken-stale-read") {
        " --features broken-stale-read"
    } else {
        ""
    };
    format!(
        "cargo run -p keel-sim --release{features} -- --seed {seed}{}",
        args.replay_flags
    )
}

fn run_one(args: &Args) -> bool {
    let seed = args.seeds.start;
    let scenario = Scenario::draw(seed, &args.options);
    println!("{}", scenario.banner());
    if args.verbose {
        print!("{}", scenario.schedule_lines());
    }
    let (result, determinism) = if args.determinism {
        let (result, same) = runner::run_twice(&scenario);
        (result, Some(same))
    } else {
        (runner::run(&scenario), None)
    };
    if args.verbose {
        println!("nemesis:");
        for line in &result.nemesis_log {
            println!("  {line}");
        }
    }
    println!("checks:");
    println!("{}", result.report());
    let mut ok = result.passed();
    if let Some(same) = determinism {
        println!("{}: {}", same.check, same.detail);
        ok &= same.ok;
    }
    if let Some(path) = &args.history_out {
        if let Err(e) = write_history(&result, path) {
            eprintln!("keel-sim: writing {path}: {e}");
            ok = false;
        }
    }
    if !ok {
        println!("replay: {}", replay_command(seed, args));
    }
    ok
}

fn write_history(result: &RunResult, path: &str) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    keel_sim::jsonl::write_jsonl(&result.history, &mut out)?;
    std::io::Write::flush(&mut out)
}

fn run_many(args: &Args) -> bool {
    let started = Instant::now();
    let mut failed = Vec::new();
    for seed in args.seeds.clone() {
        let scenario = Scenario::draw(seed, &args.options);
        let (result, same) = if args.determinism {
            let (result, same) = runner::run_twice(&scenario);
            (result, Some(same))
        } else {
            (runner::run(&scenario), None)
        };
        let deterministic = same.as_ref().is_none_or(|s| s.ok);
        let passed = result.passed() && deterministic;
        println!(
            "seed {seed:>6}  {}  {:<11} {:>4} ops  hash {:016x}",
            if passed { "ok  " } else { "FAIL" },
            scenario.workload.name(),
            result.history.events.len() / 2,
            result.trace_hash
        );
        if !passed {
            let mut reasons = Finding::failure_lines(&result.findings);
            if let Some(s) = same.filter(|s| !s.ok) {
                reasons.push(format!("{}: {}", s.check, s.detail));
            }
            failed.push((seed, reasons));
        }
    }
    let runs = args.seeds.end - args.seeds.start;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} of {runs} seed(s) passed in {secs:.1} s ({:.0} seeds/minute)",
        runs - failed.len() as u64,
        runs as f64 * 60.0 / secs.max(1e-9)
    );
    for (seed, reasons) in &failed {
        println!("FAILED seed {seed}:");
        for reason in reasons {
            println!("  {reason}");
        }
        println!("  replay: {}", replay_command(*seed, args));
    }
    failed.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Result<Args, String> {
        let argv: Vec<String> = text.split_whitespace().map(String::from).collect();
        parse(&argv)
    }

    #[test]
    fn seeds_and_ranges() {
        let one = args("--seed 42").unwrap();
        assert!(one.single);
        assert_eq!(one.seeds, 42..43);
        let many = args("--seeds 0..200 --check-determinism").unwrap();
        assert!(!many.single && many.determinism);
        assert_eq!(many.seeds, 0..200);
        assert!(args("--seeds 5..5").is_err(), "empty range");
        assert!(args("--seeds 5").is_err());
        assert!(args("--seed x").is_err());
        assert!(args("").is_err(), "a seed is required");
        assert!(args("--seeds 0..3 --history-out h.jsonl").is_err());
    }

    #[test]
    fn workloads_and_faults_restrict_the_draw_and_replay() {
        let a = args("--seed 1 --workloads list-append,counter --faults crash,pause").unwrap();
        assert_eq!(
            a.options.workloads,
            [WorkloadKind::ListAppend, WorkloadKind::Counter]
        );
        assert_eq!(a.options.faults, [FaultKind::Crash, FaultKind::Pause]);
        assert!(replay_command(9, &a)
            .ends_with("-- --seed 9 --workloads list-append,counter --faults crash,pause"));
        assert!(args("--seed 1 --faults none")
            .unwrap()
            .options
            .faults
            .is_empty());
        assert!(args("--seed 1 --workloads bogus").is_err());
        assert!(args("--seed 1 --frobnicate").is_err());
    }
}
