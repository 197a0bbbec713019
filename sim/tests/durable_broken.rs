//! Proof that the durability checkers can fail: with the simulated disk's
//! deliberate bug (the last fsyncs before a power loss persisted nothing,
//! as if the server acknowledged before its data was durable), each
//! power-loss scenario must fail within a few seeds, for the right reason,
//! while the same seeds pass on a correct disk.

use keel_sim::durable::{run, DurableKind, DurableRun, DurableScenario};

fn broken(seed: u64, kind: DurableKind, syncs: usize) -> DurableRun {
    let scenario = DurableScenario {
        broken_syncs: syncs,
        ..DurableScenario::draw(seed, kind)
    };
    run(&scenario)
}

/// The first of seeds 0..8 that fails with the bug, and why it failed.
fn caught(kind: DurableKind, syncs: usize) -> (u64, Vec<String>) {
    let (seed, result) = (0..8u64)
        .map(|seed| (seed, broken(seed, kind, syncs)))
        .find(|(_, r)| !r.passed())
        .unwrap_or_else(|| {
            panic!(
                "{}: a broken fsync must fail one of seeds 0..8",
                kind.name()
            )
        });
    let failed = result
        .findings
        .iter()
        .filter(|f| !f.ok)
        .map(|f| f.check.clone())
        .collect();
    assert!(
        run(&DurableScenario::draw(seed, kind)).passed(),
        "{} seed {seed} must pass without the bug",
        kind.name()
    );
    (seed, failed)
}

#[test]
fn aof_always_catches_an_acknowledgement_before_fsync() {
    let (seed, failed) = caught(DurableKind::AofAlways, 1);
    assert!(
        failed.iter().any(|c| c == "acknowledged-present"),
        "seed {seed} failed for the wrong reason: {failed:?}"
    );
}

#[test]
fn exec_crash_catches_a_lost_acknowledged_exec() {
    let (seed, failed) = caught(DurableKind::ExecCrash, 1);
    assert!(
        failed.iter().any(|c| c == "all-or-none"),
        "seed {seed} failed for the wrong reason: {failed:?}"
    );
}

#[test]
fn aof_everysec_catches_a_loss_beyond_the_window() {
    // Four seconds of syncs that did nothing: more than the 2 s allowed.
    let (seed, failed) = caught(DurableKind::AofEverysec, 4);
    assert!(
        failed.iter().any(|c| c == "loss window"),
        "seed {seed} failed for the wrong reason: {failed:?}"
    );
}

#[test]
fn aof_fsync_errors_catches_an_acknowledgement_before_fsync() {
    let (seed, failed) = caught(DurableKind::AofFsyncErrors, 1);
    assert!(
        failed.iter().any(|c| c == "acknowledged-present"),
        "seed {seed} failed for the wrong reason: {failed:?}"
    );
}
