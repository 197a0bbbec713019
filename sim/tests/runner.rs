//! The seed runner end to end: seeds pass, a seed replays to the same trace
//! hash, and the faults the nemesis injects do reach the server.

use keel_engine::resp::frame::Frame;
use keel_sim::fault::HostControl;
use keel_sim::history::{Call, EventType};
use keel_sim::nemesis::FaultKind;
use keel_sim::runner::{run, run_twice, Options, Scenario, EPOCH_SECS};
use keel_sim::workload::WorkloadKind;
use keel_sim::{server_config, SimClient, Trace};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

fn assert_passes(seed: u64, options: &Options) -> keel_sim::runner::RunResult {
    let scenario = Scenario::draw(seed, options);
    let result = run(&scenario);
    assert!(
        result.passed(),
        "{}\n{}\nnemesis:\n{}",
        scenario.banner(),
        result.report(),
        result.nemesis_log.join("\n")
    );
    result
}

#[test]
fn a_few_seeds_pass_with_every_fault() {
    for seed in 0..6 {
        let result = assert_passes(seed, &Options::default());
        assert!(
            result.history.events.len() > 100,
            "seed {seed}: clients made progress"
        );
    }
}

#[test]
fn the_same_seed_replays_to_the_same_trace_hash() {
    for seed in [3, 11] {
        let (result, same) = run_twice(&Scenario::draw(seed, &Options::default()));
        assert!(same.ok, "seed {seed}: {}", same.detail);
        assert!(result.passed(), "{}", result.report());
    }
    let a = run(&Scenario::draw(3, &Options::default()));
    let b = run(&Scenario::draw(4, &Options::default()));
    assert_ne!(a.trace_hash, b.trace_hash, "another seed, another run");
}

#[test]
fn the_banner_names_every_drawn_option() {
    let scenario = Scenario::draw(7, &Options::default());
    assert_eq!(scenario, Scenario::draw(7, &Options::default()));
    let banner = scenario.banner();
    for part in [
        "seed 7",
        scenario.workload.name(),
        "server(s)",
        "client(s)",
        "op timeout",
        "latency",
        "safety",
        "liveness",
        "faults",
        "schedule",
    ] {
        assert!(banner.contains(part), "{part} missing from:\n{banner}");
    }
}

/// Crashes only: every crash is followed by a restart with empty memory,
/// and clients move to the new process's keys.
#[test]
fn crashed_servers_restart_and_clients_follow_them() {
    let options = Options {
        workloads: vec![WorkloadKind::Register],
        faults: vec![FaultKind::Crash],
    };
    let seed = (0..50)
        .find(|&s| Scenario::draw(s, &options).schedule.len() >= 4)
        .expect("a seed with a few crashes");
    let result = assert_passes(seed, &options);
    assert!(result.nemesis_log.iter().any(|l| l.contains("crash")));
    let later_boot = result
        .history
        .events
        .iter()
        .any(|e| e.kind == EventType::Ok && e.call.key().rsplit('.').next() != Some("1"));
    assert!(later_boot, "clients used a restarted server's keys");
}

#[test]
fn the_counter_workload_counts() {
    let options = Options {
        workloads: vec![WorkloadKind::Counter],
        faults: vec![FaultKind::Partition, FaultKind::Pause],
    };
    let result = assert_passes(5, &options);
    assert!(result
        .history
        .events
        .iter()
        .all(|e| matches!(e.call, Call::Incr { .. })));
}

fn sim(seed: u64) -> turmoil::Sim<'static> {
    turmoil::Builder::new()
        .rng_seed(seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(EPOCH_SECS))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(5))
        .simulation_duration(Duration::from_secs(60))
        .build()
}

/// Steps `sim` until its clients are done, calling `at(ms, sim)` before
/// every step.
fn drive(sim: &mut turmoil::Sim<'static>, mut at: impl FnMut(u64, &mut turmoil::Sim<'static>)) {
    loop {
        let now = u64::try_from(sim.elapsed().as_millis()).unwrap();
        at(now, sim);
        if sim.step().expect("the simulation runs") {
            return;
        }
    }
}

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.to_string().into())
}

/// A paused server answers nothing while its peers' time goes on; once
/// resumed it carries on with its data intact.
#[test]
fn a_paused_server_stops_answering_until_resumed() {
    let mut sim = sim(1);
    let host = HostControl::new("server0", 1);
    sim.host("server0", host.software(server_config(1)));
    let trace = Rc::new(RefCell::new(Trace::default()));
    sim.client("client0", async move {
        let mut c = SimClient::connect("server0", 0, trace.clone()).await?;
        assert_eq!(
            c.call(&["SET", "k", "v"]).await?,
            Frame::Simple("OK".into())
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let during = tokio::time::timeout(Duration::from_millis(1000), c.call(&["GET", "k"])).await;
        assert!(during.is_err(), "no reply while paused: {during:?}");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut fresh = SimClient::connect("server0", 1, trace).await?;
        assert_eq!(fresh.call(&["GET", "k"]).await?, bulk("v"));
        Ok(())
    });
    let pause = host.pause.clone();
    drive(&mut sim, |now, sim| {
        if now == 1000 {
            pause.pause();
            sim.hold("server0", "client0");
        }
        if now == 3000 {
            sim.release("server0", "client0");
            pause.resume();
        }
    });
    assert!(!host.pause.is_paused());
}

/// Expiry follows the server's wall clock: a jump forward expires a key
/// early, and jumping back does not bring it back. The monotonic clock,
/// which timers use, does not move.
#[test]
fn wall_clock_jumps_expire_keys_and_never_revive_them() {
    let mut sim = sim(2);
    let host = HostControl::new("server0", 2);
    sim.host("server0", host.software(server_config(2)));
    let trace = Rc::new(RefCell::new(Trace::default()));
    sim.client("client0", async move {
        let mut c = SimClient::connect("server0", 0, trace).await?;
        assert_eq!(
            c.call(&["SET", "k", "v", "EX", "100"]).await?,
            Frame::Simple("OK".into())
        );
        assert_eq!(
            c.call(&["SET", "slow", "v", "EX", "100"]).await?,
            Frame::Simple("OK".into())
        );
        tokio::time::sleep(Duration::from_millis(1000)).await;
        // The clock jumped 200 s ahead meanwhile.
        assert_eq!(c.call(&["GET", "k"]).await?, Frame::Null, "expired early");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        // And 200 s back: the key stays gone.
        assert_eq!(c.call(&["GET", "k"]).await?, Frame::Null, "not revived");
        let Frame::Int(ttl) = c.call(&["TTL", "slow"]).await? else {
            panic!("TTL is an integer")
        };
        assert_eq!(ttl, -2, "every key past its time is gone");
        Ok(())
    });
    let skew = host.skew.clone();
    drive(&mut sim, |now, _| {
        if now == 500 {
            skew.jump(200_000);
        }
        if now == 1500 {
            skew.jump(-200_000);
        }
    });
}

/// A server whose clock drifts sees TTLs run down at its own pace.
#[test]
fn drift_makes_a_server_clock_run_fast() {
    let mut sim = sim(3);
    let host = HostControl::new("server0", 3);
    sim.host("server0", host.software(server_config(3)));
    let trace = Rc::new(RefCell::new(Trace::default()));
    sim.client("client0", async move {
        let mut c = SimClient::connect("server0", 0, trace).await?;
        c.call(&["SET", "k", "v", "PX", "100000"]).await?;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let Frame::Int(pttl) = c.call(&["PTTL", "k"]).await? else {
            panic!("PTTL is an integer")
        };
        // 10 s of true time at +50% is 15 s of server time.
        assert!((84_000..=86_000).contains(&pttl), "pttl {pttl}");
        Ok(())
    });
    let skew = host.skew.clone();
    let mut set = false;
    drive(&mut sim, |_, sim| {
        if !set {
            let true_ms = u64::try_from(sim.since_epoch().as_millis()).unwrap();
            skew.set_drift(500_000, true_ms);
            set = true;
        }
    });
}
