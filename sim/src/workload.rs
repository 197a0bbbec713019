//! Simulated clients and the operations they run, recorded in a
//! [`History`].
//!
//! Each client is its own turmoil host (so the nemesis can cut it off
//! alone), bound to one server, with one operation in flight at a time:
//! invoke, then `ok` (a reply that says what happened), `fail` (an error
//! reply: the command certainly did not run) or `info` (no reply within the
//! timeout, or the connection broke: it may have run, at any time after the
//! invoke). turmoil's TCP never retransmits, so a partition can wedge a
//! stream for good: after any `info` the client drops its connection and
//! reconnects, with exponential backoff and jitter.
//!
//! # Keys and server restarts
//!
//! An in-memory server loses everything when its process stops, by design.
//! So that the checkers need not know about restarts, every key name carries
//! the server and its boot number (`r1@server0.3`): a key lives in exactly
//! one server process, and a restart starts fresh keys. The client reads the
//! boot number from the harness right after each connect (the connection
//! belongs to the process that accepted it; a crash kills the connection).

use crate::fault::HostControl;
use crate::history::{Call, EventType, History, Outcome};
use crate::{SimClient, Trace};
use keel_engine::resp::frame::Frame;
use keel_net::clock::millis;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

/// The first pause before a reconnect; it doubles up to the max.
const BACKOFF_MIN_MS: u64 = 10;
const BACKOFF_MAX_MS: u64 = 1000;
/// How long a connect may take before the client gives up on it.
const CONNECT_TIMEOUT_MS: u64 = 1000;
/// Values are `process * VALUE_STRIDE + n`: unique across the run.
const VALUE_STRIDE: i64 = 1_000_000_000;

/// What the clients of a run do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WorkloadKind {
    /// SET and GET of unique integers on a few keys.
    Register,
    /// INCR on a few keys.
    Counter,
    /// RPUSH of unique integers and LRANGE 0 -1 on a few keys.
    ListAppend,
    /// A work queue: LPUSH of unique integers by producers, BRPOP with a
    /// short timeout by consumers, and once the run stops, LRANGE 0 -1 of
    /// what is left.
    Queue,
}

/// A consumer's BRPOP timeout, in seconds (short: consumers often time out).
const DEQUEUE_TIMEOUT: &str = "0.1";

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 4] = [
        WorkloadKind::Register,
        WorkloadKind::Counter,
        WorkloadKind::ListAppend,
        WorkloadKind::Queue,
    ];

    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Register => "register",
            WorkloadKind::Counter => "counter",
            WorkloadKind::ListAppend => "list-append",
            WorkloadKind::Queue => "queue",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }

    fn key_prefix(self) -> &'static str {
        match self {
            WorkloadKind::Register => "r",
            WorkloadKind::Counter => "c",
            WorkloadKind::ListAppend => "l",
            WorkloadKind::Queue => "q",
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One client's settings.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// The client's process number in the history; also its host's name
    /// suffix.
    pub process: u64,
    pub workload: WorkloadKind,
    /// How many keys the client picks from.
    pub keys: u32,
    pub op_timeout_ms: u64,
    /// Pause between operations: up to this many milliseconds.
    pub think_max_ms: u64,
    pub seed: u64,
}

/// What the clients of one run share with the runner.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    pub history: Rc<RefCell<History>>,
    pub trace: Rc<RefCell<Trace>>,
    /// Replies that do not fit their command: a server bug, whatever the
    /// checkers say.
    pub anomalies: Rc<RefCell<Vec<String>>>,
    /// Clients stop starting operations once this is set.
    pub stop: Rc<Cell<bool>>,
}

/// Milliseconds of virtual time since the simulation started.
pub fn now_ms() -> u64 {
    millis(turmoil::sim_elapsed().unwrap_or_default())
}

/// A client's whole life: operations until the runner says stop.
pub async fn run_client(spec: ClientSpec, server: HostControl, rec: Recorder) -> turmoil::Result {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut conn: Option<(SimClient, u64)> = None;
    let mut backoff_ms = BACKOFF_MIN_MS;
    let mut sent: i64 = 0;
    while !rec.stop.get() {
        let Some((client, boot)) = conn.as_mut() else {
            match connect(&spec, &server, &rec).await {
                Some(c) => {
                    conn = Some(c);
                    backoff_ms = BACKOFF_MIN_MS;
                }
                None => {
                    sleep_ms(backoff_ms + rng.next_u64() % backoff_ms).await;
                    backoff_ms = (backoff_ms * 2).min(BACKOFF_MAX_MS);
                }
            }
            continue;
        };
        sent += 1;
        let value = i64::try_from(spec.process).unwrap_or(0) * VALUE_STRIDE + sent;
        let key = format!(
            "{}{}@{}.{}",
            spec.workload.key_prefix(),
            rng.next_u64() % u64::from(spec.keys.max(1)),
            server.name,
            boot
        );
        let call = pick_call(spec.workload, key, value, &mut rng);
        if !run_op(&spec, client, call, &rec).await {
            conn = None;
        }
        sleep_ms(rng.next_u64() % (spec.think_max_ms + 1)).await;
    }
    if spec.workload == WorkloadKind::Queue {
        drain_queues(&spec, &server, conn, &rec).await;
    }
    Ok(())
}

/// Once the run stops, a queue client reads what is left in every queue
/// of the server process it is connected to (the queue checker's final
/// state). Other clients may still have a pop in flight: the checker
/// allows for it.
async fn drain_queues(
    spec: &ClientSpec,
    server: &HostControl,
    conn: Option<(SimClient, u64)>,
    rec: &Recorder,
) {
    let conn = match conn {
        Some(conn) => Some(conn),
        None => connect(spec, server, rec).await,
    };
    let Some((mut client, boot)) = conn else {
        return;
    };
    for n in 0..spec.keys.max(1) {
        let key = format!("{}{n}@{}.{boot}", spec.workload.key_prefix(), server.name);
        if !run_op(spec, &mut client, Call::ReadQueue { key }, rec).await {
            return;
        }
    }
}

async fn connect(
    spec: &ClientSpec,
    server: &HostControl,
    rec: &Recorder,
) -> Option<(SimClient, u64)> {
    let attempt = SimClient::connect(&server.name, spec.process, rec.trace.clone());
    match tokio::time::timeout(Duration::from_millis(CONNECT_TIMEOUT_MS), attempt).await {
        // Read at once: this connection belongs to the running process.
        Ok(Ok(client)) => Some((client, server.boots())),
        _ => None,
    }
}

fn pick_call(workload: WorkloadKind, key: String, value: i64, rng: &mut ChaCha8Rng) -> Call {
    let write = rng.next_u64().is_multiple_of(2);
    match (workload, write) {
        (WorkloadKind::Register, true) => Call::Write { key, value },
        (WorkloadKind::Register, false) => Call::Read { key },
        (WorkloadKind::Counter, _) => Call::Incr { key },
        (WorkloadKind::ListAppend, true) => Call::Append { key, value },
        (WorkloadKind::ListAppend, false) => Call::ReadList { key },
        (WorkloadKind::Queue, true) => Call::Enqueue { key, value },
        (WorkloadKind::Queue, false) => Call::Dequeue { key },
    }
}

fn command(call: &Call) -> Vec<String> {
    let owned = |parts: &[&str]| parts.iter().map(|s| s.to_string()).collect();
    match call {
        Call::Read { key } => owned(&["GET", key]),
        Call::Write { key, value } => owned(&["SET", key, &value.to_string()]),
        Call::Incr { key } => owned(&["INCR", key]),
        Call::Append { key, value } => owned(&["RPUSH", key, &value.to_string()]),
        Call::ReadList { key } | Call::ReadQueue { key } => owned(&["LRANGE", key, "0", "-1"]),
        Call::Enqueue { key, value } => owned(&["LPUSH", key, &value.to_string()]),
        Call::Dequeue { key } => owned(&["BRPOP", key, DEQUEUE_TIMEOUT]),
    }
}

/// Runs one operation and records it; false when the connection must go.
async fn run_op(spec: &ClientSpec, client: &mut SimClient, call: Call, rec: &Recorder) -> bool {
    let args = command(&call);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    rec.history
        .borrow_mut()
        .invoke(spec.process, call.clone(), now_ms());
    let timeout = Duration::from_millis(spec.op_timeout_ms);
    let reply = tokio::time::timeout(timeout, client.call(&args)).await;
    let (kind, outcome, keep) = match reply {
        Ok(Ok(Frame::Error(_))) => (EventType::Fail, None, true),
        Ok(Ok(frame)) => match outcome_of(&call, frame) {
            Ok(outcome) => (EventType::Ok, Some(outcome), true),
            Err(why) => {
                let line = format!("process {} at {} ms: {why}", spec.process, now_ms());
                rec.anomalies.borrow_mut().push(line);
                (EventType::Info, None, false)
            }
        },
        // A broken connection or no reply in time: unknown outcome.
        Ok(Err(_)) | Err(_) => (EventType::Info, None, false),
    };
    rec.history
        .borrow_mut()
        .complete(spec.process, kind, outcome, now_ms());
    keep
}

/// What a successful reply says, or why it does not fit the command.
fn outcome_of(call: &Call, frame: Frame) -> Result<Outcome, String> {
    let frame = frame.without_attributes();
    let unexpected = |frame: &Frame| format!("{call:?} got {frame:?}");
    match (call, frame) {
        (Call::Read { .. }, Frame::Null) => Ok(Outcome::Read(None)),
        (Call::Read { .. }, Frame::Bulk(b)) => int_of(&b)
            .map(|v| Outcome::Read(Some(v)))
            .ok_or_else(|| unexpected(&Frame::Bulk(b.clone()))),
        (Call::Write { .. }, Frame::Simple(s)) if s == "OK" => Ok(Outcome::Done),
        (Call::Incr { .. }, Frame::Int(n)) => Ok(Outcome::Counter(n)),
        (Call::Append { .. }, Frame::Int(n)) if n > 0 => Ok(Outcome::Done),
        (Call::Enqueue { .. }, Frame::Int(n)) if n > 0 => Ok(Outcome::Done),
        (Call::Dequeue { .. }, Frame::Null) => Ok(Outcome::Dequeued(None)),
        (Call::Dequeue { key }, Frame::Array(items)) => match items.as_slice() {
            [Frame::Bulk(k), Frame::Bulk(v)] if k.as_ref() == key.as_bytes() => int_of(v)
                .map(|v| Outcome::Dequeued(Some(v)))
                .ok_or_else(|| unexpected(&Frame::Array(items.clone()))),
            _ => Err(unexpected(&Frame::Array(items.clone()))),
        },
        (Call::ReadList { .. } | Call::ReadQueue { .. }, Frame::Array(items)) => items
            .iter()
            .map(|item| match item {
                Frame::Bulk(b) => int_of(b),
                _ => None,
            })
            .collect::<Option<Vec<i64>>>()
            .map(Outcome::List)
            .ok_or_else(|| unexpected(&Frame::Array(items.clone()))),
        (_, frame) => Err(unexpected(&frame)),
    }
}

fn int_of(bytes: &[u8]) -> Option<i64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_map_to_outcomes() {
        let read = Call::Read { key: "k".into() };
        assert_eq!(outcome_of(&read, Frame::Null), Ok(Outcome::Read(None)));
        assert_eq!(
            outcome_of(&read, Frame::Bulk("42".into())),
            Ok(Outcome::Read(Some(42)))
        );
        assert!(outcome_of(&read, Frame::Simple("OK".into())).is_err());
        assert!(outcome_of(&read, Frame::Bulk("x".into())).is_err());
        let write = Call::Write {
            key: "k".into(),
            value: 1,
        };
        assert_eq!(
            outcome_of(&write, Frame::Simple("OK".into())),
            Ok(Outcome::Done)
        );
        assert!(outcome_of(&write, Frame::Int(1)).is_err());
        let incr = Call::Incr { key: "k".into() };
        assert_eq!(outcome_of(&incr, Frame::Int(7)), Ok(Outcome::Counter(7)));
        let append = Call::Append {
            key: "k".into(),
            value: 3,
        };
        assert_eq!(outcome_of(&append, Frame::Int(2)), Ok(Outcome::Done));
        let lrange = Call::ReadList { key: "k".into() };
        assert_eq!(
            outcome_of(
                &lrange,
                Frame::Array(vec![Frame::Bulk("1".into()), Frame::Bulk("2".into())])
            ),
            Ok(Outcome::List(vec![1, 2]))
        );
        assert!(outcome_of(&lrange, Frame::Array(vec![Frame::Null])).is_err());
    }

    #[test]
    fn commands_match_calls() {
        let call = Call::Append {
            key: "l0".into(),
            value: 5,
        };
        assert_eq!(command(&call), ["RPUSH", "l0", "5"]);
        assert_eq!(
            command(&Call::ReadList { key: "l0".into() }),
            ["LRANGE", "l0", "0", "-1"]
        );
        assert_eq!(
            WorkloadKind::parse("list-append"),
            Some(WorkloadKind::ListAppend)
        );
        assert_eq!(WorkloadKind::parse("nope"), None);
    }
}
