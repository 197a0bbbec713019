//! The production driver inside turmoil: a server host and client hosts on
//! a simulated network with random latencies, in virtual time.

use keel_engine::resp::frame::Frame;
use keel_net::Clock;
use keel_sim::{run_server, server_config, ClockSkew, SimClient, SimClock, Trace};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

/// 2023-11-14T22:13:20Z: a fixed epoch, so wall-clock time is part of the seed.
const EPOCH_SECS: u64 = 1_700_000_000;

fn sim(seed: u64) -> turmoil::Sim<'static> {
    turmoil::Builder::new()
        .rng_seed(seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(EPOCH_SECS))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(20))
        .simulation_duration(Duration::from_secs(120))
        .build()
}

fn add_server(sim: &mut turmoil::Sim<'static>, seed: u64) {
    sim.host("server", move || {
        run_server(server_config(seed), ClockSkew::default())
    });
}

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.to_string().into())
}

fn simple(s: &str) -> Frame {
    Frame::Simple(s.into())
}

/// Looks a field up in a HELLO reply (a map in RESP3, a flat array in RESP2).
fn field(reply: &Frame, name: &str) -> Option<Frame> {
    match reply {
        Frame::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| *k == bulk(name))
            .map(|(_, v)| v.clone()),
        Frame::Array(items) => items
            .chunks(2)
            .find(|kv| kv[0] == bulk(name))
            .map(|kv| kv[1].clone()),
        _ => None,
    }
}

/// Connection commands, from two clients at once.
async fn connection_workload(trace: Rc<RefCell<Trace>>) -> turmoil::Result {
    let mut a = SimClient::connect("server", 1, trace.clone()).await?;
    let mut b = SimClient::connect("server", 2, trace.clone()).await?;
    assert_eq!(a.call(&["PING"]).await?, simple("PONG"));
    assert_eq!(b.call(&["ECHO", "from b"]).await?, bulk("from b"));
    assert_eq!(a.call(&["PING", "hi"]).await?, bulk("hi"));

    let hello = a.call(&["HELLO", "3"]).await?;
    assert_eq!(field(&hello, "proto"), Some(Frame::Int(3)));
    assert_eq!(field(&hello, "version"), Some(bulk("7.0.15")));
    let a_id = field(&hello, "id");
    let hello_b = b.call(&["HELLO", "2"]).await?;
    assert!(
        matches!(hello_b, Frame::Array(_)),
        "RESP2 HELLO is an array"
    );
    assert_eq!(field(&hello_b, "proto"), Some(Frame::Int(2)));
    assert_ne!(
        field(&hello_b, "id"),
        a_id,
        "each connection has its own id"
    );

    assert_eq!(a.call(&["SELECT", "1"]).await?, simple("OK"));
    assert_eq!(
        b.call(&["SELECT", "16"]).await?,
        Frame::Error("ERR DB index is out of range".into())
    );
    // Virtual time passes; connections stay up and the server's timers run.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(a.call(&["PING"]).await?, simple("PONG"));
    assert_eq!(b.call(&["PING"]).await?, simple("PONG"));
    assert_eq!(a.call(&["QUIT"]).await?, simple("OK"));
    assert_eq!(a.read().await?, None, "QUIT closes the connection");
    assert_eq!(b.call(&["ECHO", "still here"]).await?, bulk("still here"));
    Ok(())
}

/// Runs the connection workload and returns what the clients saw.
fn run_connection_workload(seed: u64) -> Trace {
    let mut sim = sim(seed);
    add_server(&mut sim, seed);
    let trace = Rc::new(RefCell::new(Trace::default()));
    sim.client("client", connection_workload(trace.clone()));
    sim.run().expect("the simulation succeeds");
    let trace = trace.borrow().clone();
    trace
}

#[test]
fn connection_commands_over_the_simulated_network() {
    let trace = run_connection_workload(7);
    assert_eq!(trace.replies(), 11);
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    let first = run_connection_workload(42);
    let second = run_connection_workload(42);
    assert_eq!(first.hash(), second.hash());
    assert_eq!(first.replies(), second.replies());
    // The trace does depend on the run: reply times follow the seeded
    // latencies, so another seed gives another trace.
    let other = run_connection_workload(43);
    assert_ne!(first.hash(), other.hash());
}

/// SET with expiry in virtual time: the key lives 500 ms of simulated time.
#[test]
fn set_with_px_expires_in_virtual_time() {
    let mut sim = sim(11);
    add_server(&mut sim, 11);
    let trace = Rc::new(RefCell::new(Trace::default()));
    sim.client("client", async move {
        let mut c = SimClient::connect("server", 1, trace).await?;
        assert_eq!(c.call(&["SET", "k", "v", "PX", "500"]).await?, simple("OK"));
        assert_eq!(c.call(&["GET", "k"]).await?, bulk("v"));
        let Frame::Int(pttl) = c.call(&["PTTL", "k"]).await? else {
            panic!("PTTL is an integer")
        };
        assert!((400..=500).contains(&pttl), "pttl {pttl}");
        assert_eq!(
            c.call(&["SET", "long", "v", "EX", "10"]).await?,
            simple("OK")
        );
        assert_eq!(c.call(&["TTL", "long"]).await?, Frame::Int(10));

        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(c.call(&["GET", "k"]).await?, bulk("v"), "still alive");
        let Frame::Int(pttl) = c.call(&["PTTL", "k"]).await? else {
            panic!("PTTL is an integer")
        };
        assert!((1..=200).contains(&pttl), "pttl {pttl}");

        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(c.call(&["GET", "k"]).await?, Frame::Null, "expired");
        assert_eq!(c.call(&["TTL", "k"]).await?, Frame::Int(-2));
        assert_eq!(c.call(&["EXISTS", "k"]).await?, Frame::Int(0));

        tokio::time::sleep(Duration::from_secs(5)).await;
        let Frame::Int(ttl) = c.call(&["TTL", "long"]).await? else {
            panic!("TTL is an integer")
        };
        assert!((4..=5).contains(&ttl), "ttl {ttl}");
        Ok(())
    });
    sim.run().expect("the simulation succeeds");
}

#[test]
fn the_sim_clock_follows_virtual_time_and_skew() {
    let mut sim = sim(3);
    sim.client("client", async {
        let skew = ClockSkew::default();
        let clock = SimClock::new(skew.clone());
        let start = clock.now();
        let epoch_ms = EPOCH_SECS * 1000;
        assert!(start.unix_ms >= epoch_ms && start.unix_ms < epoch_ms + 100);
        clock.sleep_until(start.mono_ms + 250).await;
        let later = clock.now();
        assert_eq!(later.mono_ms, start.mono_ms + 250);
        assert_eq!(later.unix_ms, start.unix_ms + 250);
        skew.set(-5000);
        let skewed = clock.now();
        assert_eq!(skewed.unix_ms, later.unix_ms - 5000);
        assert_eq!(
            skewed.mono_ms, later.mono_ms,
            "skew moves only the wall clock"
        );
        Ok(())
    });
    sim.run().expect("the simulation succeeds");
}
