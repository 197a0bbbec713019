//! The "watch" scenario: clients run check-and-set transactions (WATCH,
//! GET, MULTI, writes, EXEC) on one server while their links fail
//! mid-transaction: a client drops its connection at a random point (as
//! a crashed client would: after WATCH, after MULTI, with commands
//! queued, or right after sending EXEC), and the network cuts a client
//! off from the server for a while (a partition: the server keeps the
//! half-done transaction of a connection it cannot hear from).
//!
//! A reader then reads the final state and [`check_watch`] decides: an
//! EXEC that returned results applied all its writes, one that returned
//! null or was never sent applied none, none is torn, and WATCH kept the
//! counter's compare-and-set serial.

use crate::check::watch::{check_watch, FinalState, TxnOutcome};
use crate::check::CheckResult;
use crate::{run_server, server_config, ClockSkew, SimClient, Trace};
use keel_engine::resp::frame::Frame;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

const SERVER: &str = "server0";
const READER: &str = "reader";
/// How long a client waits for any one reply before giving up on it.
const OP_TIMEOUT_MS: u64 = 500;
/// Virtual time the whole run may take.
const RUN_LIMIT_MS: u64 = 600_000;

/// Where a client's connection is dropped, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    None,
    AfterWatch,
    AfterMulti,
    AfterQueue,
    /// EXEC is sent, its reply never read.
    AfterExecSent,
}

/// One run's settings, drawn from its seed.
#[derive(Debug, Clone)]
pub struct WatchScenario {
    pub seed: u64,
    pub clients: usize,
    pub transactions_per_client: usize,
    /// Whether the clients WATCH at all (off: a control run that must
    /// break isolation, proving the check can fail).
    pub watch: bool,
}

impl WatchScenario {
    pub fn draw(seed: u64) -> WatchScenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        WatchScenario {
            seed,
            clients: 2 + (rng.next_u64() % 3) as usize,
            transactions_per_client: 10 + (rng.next_u64() % 20) as usize,
            watch: true,
        }
    }
}

/// What the run produced, checked.
#[derive(Debug)]
pub struct WatchRun {
    pub txns: BTreeMap<String, TxnOutcome>,
    pub state: FinalState,
    pub result: CheckResult,
    /// Why the simulation stopped early, if it did.
    pub sim_error: Option<String>,
}

/// Shared between the clients, the reader and the driving loop.
#[derive(Default, Clone)]
struct Shared {
    txns: Rc<RefCell<BTreeMap<String, TxnOutcome>>>,
    finished: Rc<Cell<usize>>,
    healed: Rc<Cell<bool>>,
    state: Rc<RefCell<Option<FinalState>>>,
    trace: Rc<RefCell<Trace>>,
}

/// Runs the scenario to its verdict.
pub fn run_watch(scenario: &WatchScenario) -> WatchRun {
    let mut sim = turmoil::Builder::new()
        .rng_seed(scenario.seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(crate::runner::EPOCH_SECS))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(20))
        .simulation_duration(Duration::from_millis(RUN_LIMIT_MS))
        .build();
    let shared = Shared::default();
    let config = server_config(scenario.seed);
    sim.host(SERVER, move || {
        run_server(config.clone(), ClockSkew::default())
    });
    for i in 0..scenario.clients {
        let (shared, scenario) = (shared.clone(), scenario.clone());
        sim.client(client_name(i), async move {
            run_txn_client(i, &scenario, &shared).await;
            shared.finished.set(shared.finished.get() + 1);
            Ok(())
        });
    }
    let reader_shared = shared.clone();
    sim.client(READER, async move {
        read_final_state(&reader_shared).await;
        Ok(())
    });
    let sim_error = drive(&mut sim, scenario, &shared);
    let txns = shared.txns.borrow().clone();
    let state = shared.state.borrow().clone().unwrap_or_default();
    let result = check_watch(&txns, &state, true);
    WatchRun {
        txns,
        state,
        result,
        sim_error,
    }
}

fn client_name(i: usize) -> String {
    format!("client{i}")
}

/// Steps the simulation, cutting a random client off from the server now
/// and then, until every client is done; then heals so the reader can
/// read. Returns why the simulation stopped, if it failed.
fn drive(sim: &mut turmoil::Sim<'_>, scenario: &WatchScenario, shared: &Shared) -> Option<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(scenario.seed ^ 0x0057_4154_4348);
    let mut cut: Option<(String, u32)> = None;
    loop {
        if shared.finished.get() == scenario.clients && !shared.healed.get() {
            if let Some((name, _)) = cut.take() {
                sim.repair(name.as_str(), SERVER);
            }
            shared.healed.set(true);
        }
        if !shared.healed.get() {
            cut = partition_step(sim, &mut rng, scenario.clients, cut);
        }
        match sim.step() {
            Ok(true) => return None,
            Ok(false) => {}
            Err(e) => return Some(e.to_string()),
        }
    }
}

/// One step of the partition nemesis: a cut lasts a number of steps,
/// and a new one starts with a small chance per step.
fn partition_step(
    sim: &mut turmoil::Sim<'_>,
    rng: &mut ChaCha8Rng,
    clients: usize,
    cut: Option<(String, u32)>,
) -> Option<(String, u32)> {
    match cut {
        Some((name, 0)) => {
            sim.repair(name.as_str(), SERVER);
            None
        }
        Some((name, left)) => Some((name, left - 1)),
        None if rng.next_u64().is_multiple_of(400) => {
            let name = client_name((rng.next_u64() % clients as u64) as usize);
            sim.partition(name.as_str(), SERVER);
            Some((name, 50 + (rng.next_u64() % 500) as u32))
        }
        None => None,
    }
}

async fn run_txn_client(i: usize, scenario: &WatchScenario, shared: &Shared) {
    let mut rng = ChaCha8Rng::seed_from_u64(scenario.seed.rotate_left(13) ^ (i as u64 + 1));
    let mut conn: Option<SimClient> = None;
    for n in 0..scenario.transactions_per_client {
        let token = format!("t{i}.{n}");
        let cut = draw_cut(&mut rng);
        if conn.is_none() {
            conn = connect(i, shared).await;
        }
        let Some(client) = conn.as_mut() else {
            shared
                .txns
                .borrow_mut()
                .insert(token, TxnOutcome::Lost { exec_sent: false });
            continue;
        };
        let (outcome, keep) = transaction(client, &token, cut, scenario.watch).await;
        shared.txns.borrow_mut().insert(token, outcome);
        if !keep {
            conn = None;
        }
        tokio::time::sleep(Duration::from_millis(rng.next_u64() % 20)).await;
    }
}

fn draw_cut(rng: &mut ChaCha8Rng) -> Cut {
    match rng.next_u64() % 12 {
        0 => Cut::AfterWatch,
        1 => Cut::AfterMulti,
        2 => Cut::AfterQueue,
        3 => Cut::AfterExecSent,
        _ => Cut::None,
    }
}

async fn connect(i: usize, shared: &Shared) -> Option<SimClient> {
    let attempt = SimClient::connect(SERVER, i as u64, shared.trace.clone());
    match tokio::time::timeout(Duration::from_millis(OP_TIMEOUT_MS), attempt).await {
        Ok(Ok(client)) => Some(client),
        _ => None,
    }
}

/// One call with the timeout: None when the reply did not come.
async fn call(client: &mut SimClient, args: &[&str]) -> Option<Frame> {
    let timeout = Duration::from_millis(OP_TIMEOUT_MS);
    match tokio::time::timeout(timeout, client.call(args)).await {
        Ok(Ok(frame)) => Some(frame),
        _ => None,
    }
}

/// Runs one check-and-set transaction; returns its outcome and whether
/// the connection can be kept.
async fn transaction(
    client: &mut SimClient,
    token: &str,
    cut: Cut,
    watch: bool,
) -> (TxnOutcome, bool) {
    let lost = |exec_sent| (TxnOutcome::Lost { exec_sent }, false);
    if watch && call(client, &["WATCH", "cnt"]).await.is_none() {
        return lost(false);
    }
    if cut == Cut::AfterWatch {
        return lost(false);
    }
    let current = match call(client, &["GET", "cnt"]).await {
        Some(Frame::Null) => 0,
        Some(Frame::Bulk(b)) => std::str::from_utf8(&b)
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(0),
        _ => return lost(false),
    };
    let next = (current + 1).to_string();
    let marker = format!("mark:{token}");
    let entry = format!("{token}:{next}");
    let steps: [&[&str]; 4] = [
        &["MULTI"],
        &["SET", "cnt", &next],
        &["SET", &marker, "1"],
        &["RPUSH", "log", &entry],
    ];
    for (k, args) in steps.iter().enumerate() {
        if call(client, args).await.is_none() {
            return lost(false);
        }
        if (k == 0 && cut == Cut::AfterMulti) || (k == 2 && cut == Cut::AfterQueue) {
            return lost(false);
        }
    }
    if cut == Cut::AfterExecSent {
        let exec = client.call(&["EXEC"]);
        // Sent, then the client goes away without waiting for the reply.
        let _ = tokio::time::timeout(Duration::from_millis(0), exec).await;
        return lost(true);
    }
    match call(client, &["EXEC"]).await {
        Some(Frame::Array(_)) => (TxnOutcome::Committed, true),
        Some(Frame::Null) => (TxnOutcome::Aborted, true),
        _ => lost(true),
    }
}

/// Waits for the clients and the heal, then reads the final state.
async fn read_final_state(shared: &Shared) {
    while !shared.healed.get() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let replies and closes in flight settle.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let Some(mut client) = connect(usize::MAX >> 1, shared).await else {
        return;
    };
    let cnt = match call(&mut client, &["GET", "cnt"]).await {
        Some(Frame::Bulk(b)) => std::str::from_utf8(&b).ok().and_then(|t| t.parse().ok()),
        _ => None,
    };
    let log = match call(&mut client, &["LRANGE", "log", "0", "-1"]).await {
        Some(Frame::Array(items)) => items.iter().filter_map(Frame::text).collect(),
        _ => Vec::new(),
    };
    let mut markers = std::collections::BTreeSet::new();
    let tokens: Vec<String> = shared.txns.borrow().keys().cloned().collect();
    for token in tokens {
        let key = format!("mark:{token}");
        if call(&mut client, &["EXISTS", &key]).await == Some(Frame::Int(1)) {
            markers.insert(token);
        }
    }
    *shared.state.borrow_mut() = Some(FinalState { cnt, log, markers });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Verdict;

    fn run(seed: u64, watch: bool) -> WatchRun {
        let scenario = WatchScenario {
            watch,
            ..WatchScenario::draw(seed)
        };
        run_watch(&scenario)
    }

    /// Atomicity and outcomes (isolation off): hold with Keel as it is.
    #[test]
    fn transactions_are_all_or_none_under_lost_links() {
        for seed in 0..8 {
            let r = run(seed, true);
            assert_eq!(r.sim_error, None, "seed {seed}");
            let atomic = check_watch(&r.txns, &r.state, false);
            assert_eq!(atomic.verdict, Verdict::Valid, "seed {seed}: {atomic:?}");
            let lost = r
                .txns
                .values()
                .filter(|o| matches!(o, TxnOutcome::Lost { .. }))
                .count();
            assert!(lost > 0, "seed {seed}: some links must fail");
            assert!(!r.state.log.is_empty(), "seed {seed}: some commit");
        }
    }

    #[test]
    fn watch_keeps_check_and_set_serial() {
        for seed in 0..8 {
            let r = run(seed, true);
            assert_eq!(
                r.result.verdict,
                Verdict::Valid,
                "seed {seed}: {:?}",
                r.result
            );
            assert!(
                r.txns.values().any(|o| *o == TxnOutcome::Aborted),
                "seed {seed}"
            );
        }
    }

    /// Without WATCH, concurrent clients commit on the same read: the
    /// isolation check must see it (it can fail).
    #[test]
    fn without_watch_the_isolation_check_fails() {
        let failed = (0..8).filter(|&seed| run(seed, false).result.verdict == Verdict::Invalid);
        assert!(failed.count() > 0);
    }
}
