//! BGREWRITEAOF's forkless base under concurrent writes: base + new incr
//! must be the live dataset exactly, whatever the writes between the
//! walk's steps, and a crash at any disk request must leave a loadable
//! AOF holding a prefix of the writes.

use crate::config::Config;
use crate::node::Input;
use crate::resp::frame::Frame;
use crate::testing::{request, Harness};
use proptest::prelude::*;

const MANIFEST: &str = "/data/appendonlydir/appendonly.aof.manifest";
/// More keys than one walk step covers, so the walk takes several steps.
use crate::aof::tests::{restart, run_until_crash, started};
use crate::persist::snapshot::test_support::{
    apply, op_args, op_strategy, populate, populate_requests, Fingerprint, Op, KEYS,
};

fn config(fsync: &str, preamble: bool) -> Config {
    Config {
        appendonly: true,
        appendfsync: fsync.into(),
        aof_use_rdb_preamble: preamble,
        dir: "/data".into(),
        ..Config::default()
    }
}

fn fingerprint(h: &mut Harness) -> Fingerprint {
    crate::persist::snapshot::test_support::fingerprint(h.node.server())
}

fn rewriting(h: &mut Harness) -> bool {
    h.node.server_mut().aof.rewrite_in_progress()
}

fn rewrite_under_writes(preamble: bool, ops: &[Op]) {
    let mut h = started(config("everysec", preamble));
    let c = h.connect();
    populate(&mut h, c);
    assert_eq!(
        h.call(c, &["BGREWRITEAOF"]),
        Frame::Simple("Background append only file rewriting started".into())
    );
    assert!(
        rewriting(&mut h),
        "the walk is under way when the writes start"
    );
    for op in ops {
        apply(&mut h, c, op);
    }
    let mut steps = 0;
    while rewriting(&mut h) {
        h.tick();
        steps += 1;
        assert!(steps < 100, "the rewrite ends");
    }
    let manifest = String::from_utf8_lossy(h.disk.read(MANIFEST).expect("manifest")).into_owned();
    let base = if preamble { "base.rdb" } else { "base.aof" };
    assert!(
        manifest.starts_with(&format!("file appendonly.aof.2.{base} seq 2 type b\n")),
        "{manifest}"
    );
    let live = fingerprint(&mut h);
    let mut after = restart(h, false);
    assert_eq!(after.node.server_mut().aof.load_error(), None);
    assert_eq!(fingerprint(&mut after), live);
}

#[test]
fn the_walk_takes_several_steps_while_writes_go_on() {
    let mut h = started(config("everysec", true));
    let c = h.connect();
    populate(&mut h, c);
    h.call(c, &["BGREWRITEAOF"]);
    h.tick();
    assert!(rewriting(&mut h), "one step does not cover {KEYS} keys");
    let written = h.node.server_mut().persist.walk_busy();
    assert!(written);
    h.call(c, &["INCR", "n0"]);
    h.advance(0);
    assert!(!rewriting(&mut h));
    assert!(!h.node.server_mut().persist.walk_busy());
}

#[test]
fn writes_between_steps_with_and_without_preamble() {
    let ops = [
        Op::Incr(0),
        Op::Set(3),
        Op::Step,
        Op::Del(1400),
        Op::Lpush(2),
        Op::Expire(1200),
        Op::FlushDb1,
        Op::Step,
        Op::Set(1499),
        Op::Incr(0),
    ];
    rewrite_under_writes(true, &ops);
    rewrite_under_writes(false, &ops);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn base_plus_incr_is_the_live_dataset(
        preamble in any::<bool>(),
        ops in proptest::collection::vec(op_strategy(), 0..40),
    ) {
        rewrite_under_writes(preamble, &ops);
    }
}

// ---- crash at every disk request ----

/// The writes interleaved with the rewrite in the crash test.
const CRASH_OPS: &[Op] = &[
    Op::Incr(1),
    Op::Set(2),
    Op::Step,
    Op::Del(1450),
    Op::Lpush(3),
    Op::Step,
    Op::Expire(1300),
    Op::Incr(1),
];

/// Runs the rewrite with [`CRASH_OPS`] until `crash_at` disk requests
/// were applied; returns the harness, the fingerprints after each
/// completed op (the first before any), and whether the crash happened.
fn run_to_crash(crash_at: usize) -> (Harness, Vec<Fingerprint>, bool) {
    let mut h = started(config("always", true));
    let c = h.connect();
    h.send_raw(c, &populate_requests());
    let mut prints = vec![fingerprint(&mut h)];
    let mut limit = crash_at;
    let send = |h: &mut Harness, args: &[&[u8]]| {
        let data = request(args);
        h.node.handle_input(
            h.now,
            Input::ClientData {
                client: c,
                data: &data,
            },
        );
    };
    send(&mut h, &[b"BGREWRITEAOF"]);
    if run_until_crash(&mut h, &mut limit) {
        return (h, prints, true);
    }
    for op in CRASH_OPS {
        match op {
            Op::Step => h.node.handle_timeout(h.now),
            _ => {
                let args = op_args(op);
                let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
                send(&mut h, &args);
            }
        }
        if run_until_crash(&mut h, &mut limit) {
            return (h, prints, true);
        }
        if !matches!(op, Op::Step) {
            prints.push(fingerprint(&mut h));
        }
    }
    while rewriting(&mut h) {
        h.now.mono_ms += 100;
        h.now.unix_ms += 100;
        h.node.handle_timeout(h.now);
        if run_until_crash(&mut h, &mut limit) {
            return (h, prints, true);
        }
    }
    (h, prints, false)
}

#[test]
fn a_crash_at_every_request_of_a_walked_rewrite_keeps_a_prefix() {
    let (_, full, _) = run_to_crash(usize::MAX);
    let mut crash_at = 0;
    loop {
        let (h, prints, crashed) = run_to_crash(crash_at);
        let mut after = restart(h, true);
        assert_eq!(
            after.node.server_mut().aof.load_error(),
            None,
            "crash at request {crash_at}"
        );
        let loaded = fingerprint(&mut after);
        // Under `always` everything acknowledged is there; the write in
        // flight at the crash may be too.
        let last = prints.len() - 1;
        assert_eq!(prints[last], full[last]);
        assert!(
            loaded == full[last] || full.get(last + 1) == Some(&loaded),
            "crash at request {crash_at}: not the dataset after op {last} or the next"
        );
        if !crashed {
            assert_eq!(loaded, prints[last]);
            break;
        }
        crash_at += 1;
    }
    assert!(crash_at > 20, "the rewrite made {crash_at} requests");
}
