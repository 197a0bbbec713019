//! The clients of the `rdb-snapshots` scenario, and what they record:
//! a setup client (a filler dataset and a first SAVE), writers appending
//! unique values to a list each, a saver that runs SAVE and BGSAVE and
//! polls INFO persistence, and the auditor that reads what every new
//! server process loaded.
//!
//! Every record carries its epoch: the number of audits done when it
//! started (see [`super::super::host::DurableHost::audits_done`]). Epoch
//! `e` runs from audit `e` (the recovered state, read before anyone
//! writes) to the next death.

use super::super::clients::{call, connect, sleep_ms, wait_for_audit, Link};
use super::super::host::{DurableHost, Stop};
use crate::workload::{now_ms, Recorder};
use keel_engine::resp::frame::Frame;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Keys the setup writes before any fault (so snapshots span several
/// steps and writes of the file), and their value size.
pub const FILLER_KEYS: usize = 2000;
const FILLER_VALUE_BYTES: usize = 120;
const FILLER_PER_MSET: usize = 250;
/// Values are `writer * VALUE_STRIDE + n`: unique across the run.
const VALUE_STRIDE: i64 = 1_000_000_000;
/// Client ids in the trace for the saver, the setup and the auditor.
const SAVER_ID: u64 = 1 << 39;
const SETUP_ID: u64 = (1 << 39) + 1;
const AUDITOR_ID: u64 = 1 << 40;
/// A SAVE of the whole dataset may take a while on a slow link.
const SAVE_TIMEOUT_MS: u64 = 3000;

/// How a writer's RPUSH ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Acked {
        at_ms: u64,
    },
    /// An error reply: the write did not happen.
    Refused {
        misconf: bool,
    },
    /// No reply: it may or may not have happened.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOp {
    pub writer: usize,
    pub value: i64,
    pub epoch: u64,
    pub invoke_ms: u64,
    pub outcome: WriteOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveKind {
    Save,
    Bgsave,
}

/// What a SAVE or BGSAVE replied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveReply {
    /// SAVE's +OK: the snapshot is durable.
    Saved,
    /// BGSAVE's "Background saving started".
    Started,
    /// Any error (a failed SAVE, a save already running).
    Error(String),
    /// No reply.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveCall {
    pub kind: SaveKind,
    pub epoch: u64,
    pub invoke_ms: u64,
    pub reply_ms: u64,
    pub reply: SaveReply,
}

/// One INFO persistence read, within one process's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Poll {
    pub epoch: u64,
    pub invoke_ms: u64,
    pub reply_ms: u64,
    pub saves: u64,
    pub in_progress: bool,
    pub status_ok: bool,
}

/// What an audit read: each writer's list and the key count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbAudit {
    /// When the process died (None: the base of epoch 0 or the final read).
    pub died_ms: Option<u64>,
    pub stop: Option<Stop>,
    pub audited_ms: u64,
    pub lists: BTreeMap<usize, Vec<i64>>,
    pub dbsize: i64,
    /// A bit flipped in dump.rdb was still in place when this was read.
    pub flip_in_place: bool,
}

/// Everything the clients record, shared with the runner.
#[derive(Debug, Clone, Default)]
pub struct Records {
    pub writes: Rc<RefCell<Vec<WriteOp>>>,
    pub saves: Rc<RefCell<Vec<SaveCall>>>,
    pub polls: Rc<RefCell<Vec<Poll>>>,
    pub audits: Rc<RefCell<Vec<RdbAudit>>>,
    /// The setup wrote the filler and saved it.
    pub setup_done: Rc<Cell<bool>>,
    /// Set by the runner once every client stopped: final read, then end.
    pub finish: Rc<Cell<bool>>,
    /// A bit flipped in dump.rdb is in place (set and cleared by the host).
    pub flip_in_place: Rc<Cell<bool>>,
}

/// The setup: the filler in batches, then a SAVE, before any fault.
pub async fn run_setup(host: DurableHost, rec: Recorder, records: Records) {
    let value = "v".repeat(FILLER_VALUE_BYTES);
    loop {
        let Some(mut client) = connect(&host, SETUP_ID, &rec).await else {
            sleep_ms(50).await;
            continue;
        };
        let mut ok = true;
        for start in (0..FILLER_KEYS).step_by(FILLER_PER_MSET) {
            let mut args = vec!["MSET".to_string()];
            for k in start..(start + FILLER_PER_MSET).min(FILLER_KEYS) {
                args.push(format!("f{k}"));
                args.push(value.clone());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            ok &= call(&mut client, &args, SAVE_TIMEOUT_MS).await == Some(ok_frame());
        }
        ok &= call(&mut client, &["SAVE"], SAVE_TIMEOUT_MS).await == Some(ok_frame());
        if ok {
            records.audits.borrow_mut().push(RdbAudit {
                died_ms: None,
                stop: None,
                audited_ms: now_ms(),
                lists: BTreeMap::new(),
                dbsize: FILLER_KEYS as i64,
                flip_in_place: false,
            });
            records.setup_done.set(true);
            return;
        }
        rec.anomalies
            .borrow_mut()
            .push(format!("setup failed at {} ms", now_ms()));
        sleep_ms(100).await;
    }
}

fn ok_frame() -> Frame {
    Frame::Simple("OK".into())
}

async fn wait_for_setup(records: &Records) {
    while !records.setup_done.get() {
        sleep_ms(10).await;
    }
}

/// Settings of one writer.
#[derive(Debug, Clone)]
pub struct WriterSpec {
    pub writer: usize,
    pub op_timeout_ms: u64,
    pub think_max_ms: u64,
    pub seed: u64,
}

/// A writer: `RPUSH w<i> <unique value>`, one at a time, until stopped.
pub async fn run_writer(spec: WriterSpec, host: DurableHost, rec: Recorder, records: Records) {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut link = Link::new();
    let mut sent: i64 = 0;
    wait_for_setup(&records).await;
    while !rec.stop.get() {
        wait_for_audit(&host).await;
        let id = spec.writer as u64;
        let Some(client) = link.get(&host, id, &rec, &mut rng).await else {
            continue;
        };
        if host.pending_audit().is_some() {
            continue;
        }
        sent += 1;
        let value = (spec.writer as i64)
            .saturating_mul(VALUE_STRIDE)
            .saturating_add(sent);
        let key = format!("w{}", spec.writer);
        let (epoch, invoke_ms) = (host.audits_done(), now_ms());
        let args = ["RPUSH", key.as_str(), &value.to_string()];
        let reply = call(client, &args, spec.op_timeout_ms).await;
        let outcome = match reply {
            Some(Frame::Int(n)) if n > 0 => WriteOutcome::Acked { at_ms: now_ms() },
            Some(Frame::Error(e)) => WriteOutcome::Refused {
                misconf: e.starts_with("MISCONF"),
            },
            Some(other) => {
                let line = format!("writer {}: RPUSH replied {other:?}", spec.writer);
                rec.anomalies.borrow_mut().push(line);
                WriteOutcome::Unknown
            }
            None => {
                link.client = None;
                WriteOutcome::Unknown
            }
        };
        if let WriteOutcome::Acked { at_ms } = outcome {
            rec.trace
                .borrow_mut()
                .record(id, at_ms, value.to_string().as_bytes());
        }
        records.writes.borrow_mut().push(WriteOp {
            writer: spec.writer,
            value,
            epoch,
            invoke_ms,
            outcome,
        });
        sleep_ms(rng.next_u64() % (spec.think_max_ms + 1)).await;
    }
}

/// The saver: INFO persistence polls (six in ten), BGSAVE (three) and
/// SAVE (one), until stopped.
pub async fn run_saver(seed: u64, host: DurableHost, rec: Recorder, records: Records) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut link = Link::new();
    wait_for_setup(&records).await;
    while !rec.stop.get() {
        wait_for_audit(&host).await;
        let Some(client) = link.get(&host, SAVER_ID, &rec, &mut rng).await else {
            continue;
        };
        if host.pending_audit().is_some() {
            continue;
        }
        let keep = match rng.next_u64() % 10 {
            0..=5 => poll(client, &host, &records).await,
            6..=8 => save(client, SaveKind::Bgsave, &host, &records).await,
            _ => save(client, SaveKind::Save, &host, &records).await,
        };
        if !keep {
            link.client = None;
        }
        sleep_ms(20 + rng.next_u64() % 80).await;
    }
}

/// One INFO read; false when no reply came (the connection must go).
async fn poll(client: &mut crate::SimClient, host: &DurableHost, records: &Records) -> bool {
    let (epoch, invoke_ms) = (host.audits_done(), now_ms());
    let Some(reply) = call(client, &["INFO", "persistence"], 1000).await else {
        return false;
    };
    // A read across a death belongs to no single process.
    if host.pending_audit().is_some() || host.audits_done() != epoch {
        return true;
    }
    let Some(text) = reply.text() else {
        return true;
    };
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
            .map(str::to_string)
    };
    let (Some(saves), Some(in_progress), Some(status)) = (
        field("rdb_saves").and_then(|v| v.parse().ok()),
        field("rdb_bgsave_in_progress"),
        field("rdb_last_bgsave_status"),
    ) else {
        return true;
    };
    records.polls.borrow_mut().push(Poll {
        epoch,
        invoke_ms,
        reply_ms: now_ms(),
        saves,
        in_progress: in_progress == "1",
        status_ok: status == "ok",
    });
    true
}

/// One SAVE or BGSAVE; false when no reply came.
async fn save(
    client: &mut crate::SimClient,
    kind: SaveKind,
    host: &DurableHost,
    records: &Records,
) -> bool {
    let (epoch, invoke_ms) = (host.audits_done(), now_ms());
    let name = match kind {
        SaveKind::Save => "SAVE",
        SaveKind::Bgsave => "BGSAVE",
    };
    let reply = match call(client, &[name], SAVE_TIMEOUT_MS).await {
        Some(Frame::Simple(s)) if s == "OK" => SaveReply::Saved,
        Some(Frame::Simple(s)) if s == "Background saving started" => SaveReply::Started,
        Some(Frame::Error(e)) => SaveReply::Error(e),
        Some(other) => SaveReply::Error(format!("{other:?}")),
        None => SaveReply::Unknown,
    };
    let answered = reply != SaveReply::Unknown;
    records.saves.borrow_mut().push(SaveCall {
        kind,
        epoch,
        invoke_ms,
        reply_ms: now_ms(),
        reply,
    });
    answered
}

/// The auditor: after every death it reads what the next process
/// loaded, before anyone writes again; at the end, the final state.
pub async fn run_auditor(host: DurableHost, writers: usize, rec: Recorder, records: Records) {
    loop {
        if let Some(pending) = host.pending_audit() {
            let state = read_state(&host, writers, &rec).await;
            let same = host
                .pending_audit()
                .is_some_and(|p| p.generation == pending.generation);
            match state {
                Some((lists, dbsize)) if same => {
                    records.audits.borrow_mut().push(RdbAudit {
                        died_ms: Some(pending.died_ms),
                        stop: Some(pending.stop),
                        audited_ms: now_ms(),
                        lists,
                        dbsize,
                        flip_in_place: records.flip_in_place.get(),
                    });
                    host.audited(pending.generation);
                }
                _ => sleep_ms(50).await,
            }
            continue;
        }
        if records.finish.get() {
            sleep_ms(1000).await;
            if host.pending_audit().is_some() {
                continue;
            }
            if let Some((lists, dbsize)) = read_state(&host, writers, &rec).await {
                records.audits.borrow_mut().push(RdbAudit {
                    died_ms: None,
                    stop: None,
                    audited_ms: now_ms(),
                    lists,
                    dbsize,
                    flip_in_place: records.flip_in_place.get(),
                });
                return;
            }
        }
        sleep_ms(20).await;
    }
}

/// Every writer's list and DBSIZE, on a new connection; None if any read
/// failed (the server is down, loading, or died meanwhile).
async fn read_state(
    host: &DurableHost,
    writers: usize,
    rec: &Recorder,
) -> Option<(BTreeMap<usize, Vec<i64>>, i64)> {
    let mut client = connect(host, AUDITOR_ID, rec).await?;
    let Frame::Int(dbsize) = call(&mut client, &["DBSIZE"], 1000).await? else {
        return None;
    };
    let mut lists = BTreeMap::new();
    for w in 0..writers {
        let key = format!("w{w}");
        let Frame::Array(items) = call(&mut client, &["LRANGE", &key, "0", "-1"], 1000).await?
        else {
            return None;
        };
        let values: Option<Vec<i64>> = items
            .iter()
            .map(|i| i.text().and_then(|t| t.parse().ok()))
            .collect();
        lists.insert(w, values?);
    }
    Some((lists, dbsize))
}
