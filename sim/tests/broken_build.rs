//! Proof that the harness can fail: built with keel-net's deliberate bug
//! (`--features broken-stale-read`: one reply in 200 is the connection's
//! previous reply), the runner must fail within a few seeds.
//!
//! `cargo test -p keel-sim --release --features broken-stale-read --test broken_build`
#![cfg(feature = "broken-stale-read")]

use keel_sim::runner::{run, Options, Scenario};

#[test]
fn the_harness_catches_the_stale_read_bug_within_a_few_seeds() {
    let caught = (0..5u64).find_map(|seed| {
        let result = run(&Scenario::draw(seed, &Options::default()));
        (!result.passed()).then_some((seed, result))
    });
    let (seed, result) = caught.expect("a broken build must fail one of seeds 0..5");
    let failed: Vec<&str> = result
        .findings
        .iter()
        .filter(|f| !f.ok)
        .map(|f| f.check.as_str())
        .collect();
    assert!(
        failed
            .iter()
            .any(|c| *c == "linearizability" || *c == "replies fit commands"),
        "seed {seed} failed for the wrong reason: {failed:?}"
    );
}
