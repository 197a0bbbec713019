//! The clients of the durability scenarios: list appenders (RPUSH of
//! unique values, LRANGE reads) recorded in a [`History`], transaction
//! clients (`MULTI; INCR a; INCR b; RPUSH log <id>; EXEC`) recorded per
//! transaction, and the auditor that reads what a server recovered.
//!
//! Every client checks the host's audit gate right before it sends an
//! operation (with no `.await` in between), so nothing is written between
//! a process's death and the audit of what the next one recovered.

use super::host::DurableHost;
use crate::check::{Snapshot, Stored};
use crate::history::{Call, EventType, History, Outcome};
use crate::workload::{now_ms, Recorder};
use crate::SimClient;
use keel_engine::resp::frame::Frame;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// How long a connect may take before the client gives up on it.
const CONNECT_TIMEOUT_MS: u64 = 1000;
const BACKOFF_MIN_MS: u64 = 10;
const BACKOFF_MAX_MS: u64 = 1000;
/// Values are `process * VALUE_STRIDE + n`: unique across the run.
const VALUE_STRIDE: i64 = 1_000_000_000;
/// How often a waiting client looks at the audit gate again.
const GATE_POLL_MS: u64 = 10;
/// The auditor's client id in the trace.
const AUDITOR_ID: u64 = 1 << 40;

/// One client's settings.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub process: u64,
    pub keys: u32,
    pub op_timeout_ms: u64,
    pub think_max_ms: u64,
    pub seed: u64,
    /// Name keys after the number of audits so far (`l0.e3`): every
    /// restart starts fresh keys, so a policy that may lose writes
    /// (`everysec`) is judged per crash.
    pub epoch_keys: bool,
}

/// Waits while the host's audit gate is closed.
pub(super) async fn wait_for_audit(host: &DurableHost) {
    while host.pending_audit().is_some() {
        sleep_ms(GATE_POLL_MS).await;
    }
}

pub(super) async fn connect(host: &DurableHost, id: u64, rec: &Recorder) -> Option<SimClient> {
    let attempt = SimClient::connect(host.name(), id, rec.trace.clone());
    match tokio::time::timeout(Duration::from_millis(CONNECT_TIMEOUT_MS), attempt).await {
        Ok(Ok(client)) => Some(client),
        _ => None,
    }
}

/// A connection, made with exponential backoff while the server is away.
pub(super) struct Link {
    pub(super) client: Option<SimClient>,
    backoff_ms: u64,
}

impl Link {
    pub(super) fn new() -> Self {
        Link {
            client: None,
            backoff_ms: BACKOFF_MIN_MS,
        }
    }

    /// The connection, or None after a failed attempt (and its backoff).
    pub(super) async fn get(
        &mut self,
        host: &DurableHost,
        id: u64,
        rec: &Recorder,
        rng: &mut ChaCha8Rng,
    ) -> Option<&mut SimClient> {
        if self.client.is_none() {
            match connect(host, id, rec).await {
                Some(c) => {
                    self.client = Some(c);
                    self.backoff_ms = BACKOFF_MIN_MS;
                }
                None => {
                    sleep_ms(self.backoff_ms + rng.next_u64() % (self.backoff_ms + 1)).await;
                    self.backoff_ms = (self.backoff_ms * 2).min(BACKOFF_MAX_MS);
                    return None;
                }
            }
        }
        self.client.as_mut()
    }
}

/// A list appender's whole life: RPUSH (two in three) and LRANGE on a
/// few keys until the runner says stop.
pub async fn run_list_client(spec: ClientSpec, host: DurableHost, rec: Recorder) {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut link = Link::new();
    let mut sent: i64 = 0;
    while !rec.stop.get() {
        wait_for_audit(&host).await;
        let Some(client) = link.get(&host, spec.process, &rec, &mut rng).await else {
            continue;
        };
        let call = pick_call(&spec, &host, &mut rng, &mut sent);
        if host.pending_audit().is_some() {
            continue; // the process died while we connected
        }
        if !run_op(&spec, client, call, &rec).await {
            link.client = None;
        }
        sleep_ms(rng.next_u64() % (spec.think_max_ms + 1)).await;
    }
}

fn pick_call(spec: &ClientSpec, host: &DurableHost, rng: &mut ChaCha8Rng, sent: &mut i64) -> Call {
    let n = rng.next_u64() % u64::from(spec.keys.max(1));
    let key = if spec.epoch_keys {
        format!("l{n}.e{}", host.audits_done())
    } else {
        format!("l{n}")
    };
    if rng.next_u64().is_multiple_of(3) {
        return Call::ReadList { key };
    }
    *sent += 1;
    let value = (spec.process as i64)
        .saturating_mul(VALUE_STRIDE)
        .saturating_add(*sent);
    Call::Append { key, value }
}

/// Runs one operation and records it; false when the connection must go.
async fn run_op(spec: &ClientSpec, client: &mut SimClient, call: Call, rec: &Recorder) -> bool {
    let args: Vec<String> = match &call {
        Call::Append { key, value } => vec!["RPUSH".into(), key.clone(), value.to_string()],
        Call::ReadList { key } => vec!["LRANGE".into(), key.clone(), "0".into(), "-1".into()],
        other => unreachable!("list clients send no {other:?}"),
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    rec.history
        .borrow_mut()
        .invoke(spec.process, call.clone(), now_ms());
    let timeout = Duration::from_millis(spec.op_timeout_ms);
    let reply = tokio::time::timeout(timeout, client.call(&args)).await;
    let (kind, outcome, keep) = match reply {
        // An error reply (-LOADING, -MISCONF): the command did not run.
        Ok(Ok(Frame::Error(_))) => (EventType::Fail, None, true),
        Ok(Ok(frame)) => match outcome_of(&call, frame) {
            Some(outcome) => (EventType::Ok, Some(outcome), true),
            None => {
                let line = format!("process {} at {} ms: bad reply", spec.process, now_ms());
                rec.anomalies.borrow_mut().push(line);
                (EventType::Info, None, false)
            }
        },
        Ok(Err(_)) | Err(_) => (EventType::Info, None, false),
    };
    rec.history
        .borrow_mut()
        .complete(spec.process, kind, outcome, now_ms());
    keep
}

fn outcome_of(call: &Call, frame: Frame) -> Option<Outcome> {
    match (call, frame.without_attributes()) {
        (Call::Append { .. }, Frame::Int(n)) if n > 0 => Some(Outcome::Done),
        (Call::ReadList { .. }, Frame::Array(items)) => ints(&items).map(Outcome::List),
        _ => None,
    }
}

fn ints(items: &[Frame]) -> Option<Vec<i64>> {
    items
        .iter()
        .map(|item| match item {
            Frame::Bulk(b) => std::str::from_utf8(b).ok()?.parse().ok(),
            _ => None,
        })
        .collect()
}

/// How one transaction ended, as its client saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnOutcome {
    /// EXEC replied with its results at this time.
    Committed { acked_ms: u64 },
    /// An error reply before or at EXEC: certainly not applied.
    Refused,
    /// The connection broke or a reply did not come: EXEC was sent at
    /// this time, if it was sent at all.
    Lost { exec_sent_ms: Option<u64> },
}

/// Every transaction of a run, by id (`t<process>.<n>`).
pub type Txns = Rc<RefCell<BTreeMap<String, TxnOutcome>>>;

/// A transaction client's life: `MULTI; INCR a; INCR b; RPUSH log <id>;
/// EXEC`, one after another, until the runner says stop.
pub async fn run_txn_client(spec: ClientSpec, host: DurableHost, rec: Recorder, txns: Txns) {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut link = Link::new();
    let mut n = 0u64;
    while !rec.stop.get() {
        wait_for_audit(&host).await;
        let Some(client) = link.get(&host, spec.process, &rec, &mut rng).await else {
            continue;
        };
        if host.pending_audit().is_some() {
            continue;
        }
        n += 1;
        let id = format!("t{}.{n}", spec.process);
        let outcome = transaction(client, &id, spec.op_timeout_ms).await;
        if matches!(outcome, TxnOutcome::Lost { .. }) {
            link.client = None;
        }
        if let TxnOutcome::Committed { acked_ms } = outcome {
            rec.trace
                .borrow_mut()
                .record(spec.process, acked_ms, id.as_bytes());
        }
        txns.borrow_mut().insert(id, outcome);
        sleep_ms(rng.next_u64() % (spec.think_max_ms + 1)).await;
    }
}

/// One transaction, each command awaited before the next.
async fn transaction(client: &mut SimClient, id: &str, timeout_ms: u64) -> TxnOutcome {
    let queued: [&[&str]; 4] = [
        &["MULTI"],
        &["INCR", "a"],
        &["INCR", "b"],
        &["RPUSH", "log", id],
    ];
    for args in queued {
        match call(client, args, timeout_ms).await {
            Some(Frame::Error(_)) => return TxnOutcome::Refused,
            Some(_) => {}
            None => return TxnOutcome::Lost { exec_sent_ms: None },
        }
    }
    let sent = now_ms();
    match call(client, &["EXEC"], timeout_ms).await {
        Some(Frame::Array(results)) if results.len() == 3 => {
            TxnOutcome::Committed { acked_ms: now_ms() }
        }
        Some(Frame::Error(_)) | Some(Frame::Null) => TxnOutcome::Refused,
        _ => TxnOutcome::Lost {
            exec_sent_ms: Some(sent),
        },
    }
}

/// One command with a timeout: None when no reply came.
pub(super) async fn call(client: &mut SimClient, args: &[&str], timeout_ms: u64) -> Option<Frame> {
    let timeout = Duration::from_millis(timeout_ms);
    match tokio::time::timeout(timeout, client.call(args)).await {
        Ok(Ok(frame)) => Some(frame.without_attributes()),
        _ => None,
    }
}

/// What a transaction scenario's audit reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnState {
    pub a: i64,
    pub b: i64,
    pub log: Vec<String>,
}

/// What an audit read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Lists(Snapshot),
    Txns(TxnState),
}

/// One look at what a server process recovered (or, for the last one,
/// held at the end).
#[derive(Debug, Clone)]
pub struct Audit {
    /// When the process died (None: the final read of a live server).
    pub died_ms: Option<u64>,
    pub stop: Option<super::host::Stop>,
    pub audited_ms: u64,
    pub state: State,
    /// When the disk failed an fsync (virtual ms), up to the audit.
    pub failed_syncs: Vec<u64>,
}

/// What the auditor shares with the runner.
#[derive(Debug, Clone, Default)]
pub struct Auditing {
    pub audits: Rc<RefCell<Vec<Audit>>>,
    /// Set by the runner once every client has stopped: the auditor then
    /// takes the final read and ends.
    pub finish: Rc<Cell<bool>>,
}

/// The auditor: after every process death it reads what the next
/// process recovered (before any client writes again); at the end it
/// reads the final state.
pub async fn run_auditor(host: DurableHost, txns: bool, rec: Recorder, auditing: Auditing) {
    loop {
        if let Some(pending) = host.pending_audit() {
            let state = read_state(&host, txns, &rec).await;
            let same = host
                .pending_audit()
                .is_some_and(|p| p.generation == pending.generation);
            match state {
                Some(state) if same => {
                    auditing.audits.borrow_mut().push(Audit {
                        died_ms: Some(pending.died_ms),
                        stop: Some(pending.stop),
                        audited_ms: now_ms(),
                        state,
                        failed_syncs: host.failed_syncs(),
                    });
                    host.audited(pending.generation);
                }
                _ => sleep_ms(50).await,
            }
            continue;
        }
        if auditing.finish.get() {
            // Let late replies and closes settle first.
            sleep_ms(1000).await;
            if host.pending_audit().is_some() {
                continue;
            }
            if let Some(state) = read_state(&host, txns, &rec).await {
                auditing.audits.borrow_mut().push(Audit {
                    died_ms: None,
                    stop: None,
                    audited_ms: now_ms(),
                    state,
                    failed_syncs: host.failed_syncs(),
                });
                return;
            }
        }
        sleep_ms(20).await;
    }
}

/// Reads the whole state on a new connection; None if any read failed
/// (the server is down, loading, or died meanwhile).
async fn read_state(host: &DurableHost, txns: bool, rec: &Recorder) -> Option<State> {
    let mut client = connect(host, AUDITOR_ID, rec).await?;
    if txns {
        return read_txn_state(&mut client).await.map(State::Txns);
    }
    let keys = match call(&mut client, &["KEYS", "*"], 1000).await? {
        Frame::Array(keys) => keys,
        _ => return None,
    };
    let mut snapshot = Snapshot::new();
    for key in keys.iter().filter_map(Frame::text) {
        match call(&mut client, &["LRANGE", &key, "0", "-1"], 1000).await? {
            Frame::Array(items) => snapshot.insert(key, Stored::List(ints(&items)?)),
            _ => return None,
        };
    }
    Some(State::Lists(snapshot))
}

async fn read_txn_state(client: &mut SimClient) -> Option<TxnState> {
    let counter = |frame: Frame| match frame {
        Frame::Null => Some(0),
        Frame::Bulk(b) => std::str::from_utf8(&b).ok()?.parse().ok(),
        _ => None,
    };
    let a = counter(call(client, &["GET", "a"], 1000).await?)?;
    let b = counter(call(client, &["GET", "b"], 1000).await?)?;
    let log = match call(client, &["LRANGE", "log", "0", "-1"], 1000).await? {
        Frame::Array(items) => items.iter().filter_map(Frame::text).collect(),
        _ => return None,
    };
    Some(TxnState { a, b, log })
}

pub(super) async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The history's appends that were acknowledged, by value, with the key
/// and the acknowledgement time.
pub fn acked_appends(history: &History) -> BTreeMap<i64, (String, u64)> {
    let mut in_flight: BTreeMap<u64, &Call> = BTreeMap::new();
    let mut acked = BTreeMap::new();
    for e in &history.events {
        match e.kind {
            EventType::Invoke => {
                in_flight.insert(e.process, &e.call);
            }
            EventType::Ok => {
                if let Some(Call::Append { key, value }) = in_flight.remove(&e.process) {
                    acked.insert(*value, (key.clone(), e.time_ms));
                }
            }
            EventType::Fail | EventType::Info => {
                in_flight.remove(&e.process);
            }
        }
    }
    acked
}
