//! keel-loadgen: throughput of pipelined MULTI/EXEC transactions and of
//! PUBLISH fan-out against one server, measured the same way for Keel and
//! Redis (bench/compare.sh drives it).
//!
//! Usage:
//!   keel-loadgen multi   --port P [--clients 50] [--requests N] [--pipeline 1] [--sets 10]
//!   keel-loadgen publish --port P [--clients 50] [--requests N] [--pipeline 1] [--subscribers 1]
//!
//! `multi` sends `MULTI, SET×sets, EXEC` per transaction, `pipeline`
//! transactions per write, from `clients` connections; every reply is
//! checked (OK, QUEUED×sets, an array of sets OKs).
//!
//! `publish` connects `subscribers` connections that SUBSCRIBE to one
//! channel, then `clients` connections publish `requests` messages in all
//! (`pipeline` per write), each reply must count every subscriber. The
//! timed window runs from the first publish until every subscriber has
//! read every message; each subscriber checks it got each publisher's
//! messages exactly once and in order.
//!
//! Output: one line on stdout, `<ops per second> <deliveries per second>`
//! (ops are transactions or publishes; deliveries are `-` for multi); a
//! human summary goes to stderr. Exit status 1 on any failed check.

mod conn;
mod resp;

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use conn::Conn;
use resp::{encode_command, Frame};

const CHANNEL: &[u8] = b"keel-bench-channel";

#[derive(Debug)]
struct Options {
    mode: String,
    port: u16,
    clients: u64,
    requests: u64,
    pipeline: u64,
    sets: u64,
    subscribers: u64,
}

fn main() -> ExitCode {
    let result = parse_options(std::env::args().skip(1).collect()).and_then(|opts| {
        match opts.mode.as_str() {
            "multi" => run_multi(&opts),
            "publish" => run_publish(&opts),
            other => Err(format!("unknown mode {other:?} (multi or publish)")),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keel-loadgen: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_options(args: Vec<String>) -> Result<Options, String> {
    let mut args = args.into_iter();
    let mode = args.next().ok_or("missing mode (multi or publish)")?;
    let mut opts = Options {
        mode,
        port: 0,
        clients: 50,
        requests: 100_000,
        pipeline: 1,
        sets: 10,
        subscribers: 1,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number: u64 = value
            .parse()
            .map_err(|_| format!("{flag}: not a number: {value:?}"))?;
        match flag.as_str() {
            "--port" => opts.port = u16::try_from(number).map_err(|_| "--port out of range")?,
            "--clients" => opts.clients = number,
            "--requests" => opts.requests = number,
            "--pipeline" => opts.pipeline = number,
            "--sets" => opts.sets = number,
            "--subscribers" => opts.subscribers = number,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if opts.port == 0 || opts.clients == 0 || opts.pipeline == 0 || opts.requests == 0 {
        return Err("--port, --clients, --pipeline and --requests must be positive".into());
    }
    Ok(opts)
}

/// Joins worker threads, keeping the first error.
fn join_all<T>(handles: Vec<thread::JoinHandle<Result<T, String>>>) -> Result<Vec<T>, String> {
    let mut results = Vec::with_capacity(handles.len());
    let mut first_error = None;
    for handle in handles {
        match handle.join() {
            Ok(Ok(value)) => results.push(value),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(_) => {
                first_error.get_or_insert_with(|| "a worker thread panicked".to_string());
            }
        }
    }
    first_error.map_or(Ok(results), Err)
}

fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

// ---- multi ----

/// One transaction's bytes: MULTI, `sets` SETs of distinct keys, EXEC.
fn transaction_bytes(sets: u64) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command(&mut out, &[b"MULTI"]);
    for i in 0..sets {
        let key = format!("tx:key:{i}");
        encode_command(&mut out, &[b"SET", key.as_bytes(), b"xxx"]);
    }
    encode_command(&mut out, &[b"EXEC"]);
    out
}

/// Checks the replies of one transaction, frame by frame (`index` counts
/// frames from the transaction's MULTI).
fn check_transaction_reply(index: u64, sets: u64, frame: &Frame<'_>) -> Result<(), String> {
    let ok = match (index, frame) {
        (0, Frame::Simple(b"OK")) => true,
        (i, Frame::Simple(b"QUEUED")) if i >= 1 && i <= sets => true,
        (i, Frame::Array(Some(items))) if i == sets + 1 => {
            items.len() as u64 == sets && items.iter().all(|f| *f == Frame::Simple(b"OK"))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "unexpected reply {} at position {index} of a transaction",
            frame.describe()
        ))
    }
}

fn run_multi(opts: &Options) -> Result<(), String> {
    let one = transaction_bytes(opts.sets);
    let batch = Arc::new(one.repeat(opts.pipeline as usize));
    let claimed = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(opts.clients as usize + 1));
    let mut handles = Vec::new();
    for _ in 0..opts.clients {
        let mut conn = Conn::connect(opts.port).map_err(|e| format!("connect: {e}"))?;
        let (batch, claimed, start) = (batch.clone(), claimed.clone(), start.clone());
        let (requests, pipeline, sets, one_len) =
            (opts.requests, opts.pipeline, opts.sets, one.len());
        handles.push(thread::spawn(move || {
            start.wait();
            multi_worker(
                &mut conn,
                &batch[..],
                one_len,
                &claimed,
                requests,
                pipeline,
                sets,
            )
        }));
    }
    start.wait();
    let began = Instant::now();
    let done: u64 = join_all(handles)?.into_iter().sum();
    let elapsed = began.elapsed();
    if done != opts.requests {
        return Err(format!("{done} transactions ran, {} asked", opts.requests));
    }
    let rate = per_second(done, elapsed);
    eprintln!(
        "multi: {done} transactions of {} SETs in {:.3}s, {rate:.0} tx/s, every reply checked",
        opts.sets,
        elapsed.as_secs_f64()
    );
    println!("{rate:.2} -");
    Ok(())
}

/// Claims batches of up to `pipeline` transactions until `requests` are
/// claimed; sends each batch in one write and checks every reply.
fn multi_worker(
    conn: &mut Conn,
    batch: &[u8],
    one_len: usize,
    claimed: &AtomicU64,
    requests: u64,
    pipeline: u64,
    sets: u64,
) -> Result<u64, String> {
    let frames_per_tx = sets + 2;
    let mut done = 0;
    loop {
        let first = claimed.fetch_add(pipeline, Ordering::Relaxed);
        if first >= requests {
            return Ok(done);
        }
        let count = pipeline.min(requests - first);
        conn.send(&batch[..one_len * count as usize])
            .map_err(|e| format!("send: {e}"))?;
        let mut index = 0;
        conn.read_frames(count * frames_per_tx, |frame| {
            let result = check_transaction_reply(index % frames_per_tx, sets, &frame);
            index += 1;
            result
        })?;
        done += count;
    }
}

// ---- publish ----

/// How many messages publisher `id` sends: `requests` split evenly.
fn publisher_quota(id: u64, publishers: u64, requests: u64) -> u64 {
    requests / publishers + u64::from(id < requests % publishers)
}

fn run_publish(opts: &Options) -> Result<(), String> {
    let parties = (opts.subscribers + opts.clients + 1) as usize;
    let start = Arc::new(Barrier::new(parties));
    let quotas: Arc<Vec<u64>> = Arc::new(
        (0..opts.clients)
            .map(|id| publisher_quota(id, opts.clients, opts.requests))
            .collect(),
    );
    let subscribers = spawn_subscribers(opts, &start, &quotas)?;
    let publishers = spawn_publishers(opts, &start, &quotas)?;
    start.wait();
    let began = Instant::now();
    join_all(publishers)?;
    let finished = join_all(subscribers)?;
    let last = finished.into_iter().max().unwrap_or(began);
    let elapsed = last.saturating_duration_since(began);
    let publishes = per_second(opts.requests, elapsed);
    let deliveries = per_second(opts.requests * opts.subscribers, elapsed);
    eprintln!(
        "publish: {} messages to {} subscribers from {} publishers in {:.3}s: {publishes:.0} publishes/s, \
         {deliveries:.0} deliveries/s; every subscriber got every message once, in order",
        opts.requests,
        opts.subscribers,
        opts.clients,
        elapsed.as_secs_f64()
    );
    println!("{publishes:.2} {deliveries:.2}");
    Ok(())
}

type Worker<T> = thread::JoinHandle<Result<T, String>>;

/// Subscribes every subscriber before returning, so no message can be
/// published before all of them listen.
fn spawn_subscribers(
    opts: &Options,
    start: &Arc<Barrier>,
    quotas: &Arc<Vec<u64>>,
) -> Result<Vec<Worker<Instant>>, String> {
    let mut handles = Vec::new();
    for id in 0..opts.subscribers {
        let mut conn = Conn::connect(opts.port).map_err(|e| format!("connect: {e}"))?;
        let mut subscribe = Vec::new();
        encode_command(&mut subscribe, &[b"SUBSCRIBE", CHANNEL]);
        conn.send(&subscribe).map_err(|e| format!("send: {e}"))?;
        conn.read_frames(1, check_subscribed)?;
        let (start, quotas) = (start.clone(), quotas.clone());
        handles.push(thread::spawn(move || {
            start.wait();
            receive_all(&mut conn, &quotas).map_err(|e| format!("subscriber {id}: {e}"))?;
            Ok(Instant::now())
        }));
    }
    Ok(handles)
}

fn check_subscribed(frame: Frame<'_>) -> Result<(), String> {
    match &frame {
        Frame::Array(Some(items)) if items.first() == Some(&Frame::Bulk(Some(b"subscribe"))) => {
            Ok(())
        }
        _ => Err(format!("SUBSCRIBE replied {}", frame.describe())),
    }
}

/// Reads every message: each publisher's sequence numbers must arrive as
/// 0, 1, 2, ... up to its quota.
fn receive_all(conn: &mut Conn, quotas: &[u64]) -> Result<(), String> {
    let total: u64 = quotas.iter().sum();
    let mut next_seq = vec![0u64; quotas.len()];
    conn.read_frames(total, |frame| {
        let (publisher, seq) = message_origin(&frame)?;
        let expected = next_seq
            .get_mut(publisher)
            .ok_or_else(|| format!("message from unknown publisher {publisher}"))?;
        if seq != *expected {
            return Err(format!(
                "publisher {publisher}: got message {seq}, expected {expected}"
            ));
        }
        *expected += 1;
        Ok(())
    })?;
    match next_seq
        .iter()
        .zip(quotas)
        .position(|(got, quota)| got != quota)
    {
        None => Ok(()),
        Some(p) => Err(format!(
            "publisher {p}: got {} of {} messages",
            next_seq[p], quotas[p]
        )),
    }
}

/// The (publisher, sequence) of a pushed `message` frame.
fn message_origin(frame: &Frame<'_>) -> Result<(usize, u64), String> {
    let payload = match frame {
        Frame::Array(Some(items)) => match items.as_slice() {
            [Frame::Bulk(Some(b"message")), Frame::Bulk(Some(CHANNEL)), Frame::Bulk(Some(p))] => *p,
            _ => return Err(format!("not a message: {}", frame.describe())),
        },
        _ => return Err(format!("not a message: {}", frame.describe())),
    };
    let text = std::str::from_utf8(payload).map_err(|_| "payload not UTF-8")?;
    let (publisher, seq) = text.split_once(':').ok_or("payload without ':'")?;
    match (publisher.parse(), seq.parse()) {
        (Ok(p), Ok(s)) => Ok((p, s)),
        _ => Err(format!("bad payload {text:?}")),
    }
}

fn spawn_publishers(
    opts: &Options,
    start: &Arc<Barrier>,
    quotas: &Arc<Vec<u64>>,
) -> Result<Vec<Worker<()>>, String> {
    let mut handles = Vec::new();
    for id in 0..opts.clients {
        let mut conn = Conn::connect(opts.port).map_err(|e| format!("connect: {e}"))?;
        let (start, quota) = (start.clone(), quotas[id as usize]);
        let (pipeline, receivers) = (opts.pipeline, opts.subscribers);
        handles.push(thread::spawn(move || {
            start.wait();
            publish_all(&mut conn, id, quota, pipeline, receivers)
                .map_err(|e| format!("publisher {id}: {e}"))
        }));
    }
    Ok(handles)
}

/// Publishes `quota` messages `id:0`, `id:1`, ... in batches of
/// `pipeline`; every reply must count all `receivers`.
fn publish_all(
    conn: &mut Conn,
    id: u64,
    quota: u64,
    pipeline: u64,
    receivers: u64,
) -> Result<(), String> {
    let mut seq = 0;
    let mut batch = Vec::new();
    while seq < quota {
        let count = pipeline.min(quota - seq);
        batch.clear();
        for s in seq..seq + count {
            let payload = format!("{id}:{s}");
            encode_command(&mut batch, &[b"PUBLISH", CHANNEL, payload.as_bytes()]);
        }
        conn.send(&batch).map_err(|e| format!("send: {e}"))?;
        conn.read_frames(count, |frame| match frame {
            Frame::Int(n) if n as u64 == receivers => Ok(()),
            other => Err(format!(
                "PUBLISH replied {}, expected :{receivers}",
                other.describe()
            )),
        })?;
        seq += count;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_split_requests_exactly() {
        let quotas: Vec<u64> = (0..7).map(|id| publisher_quota(id, 7, 100)).collect();
        assert_eq!(quotas.iter().sum::<u64>(), 100);
        assert_eq!(quotas, vec![15, 15, 14, 14, 14, 14, 14]);
    }

    #[test]
    fn transaction_replies_are_checked_in_order() {
        assert!(check_transaction_reply(0, 2, &Frame::Simple(b"OK")).is_ok());
        assert!(check_transaction_reply(1, 2, &Frame::Simple(b"QUEUED")).is_ok());
        assert!(check_transaction_reply(2, 2, &Frame::Simple(b"QUEUED")).is_ok());
        let exec = Frame::Array(Some(vec![Frame::Simple(b"OK"), Frame::Simple(b"OK")]));
        assert!(check_transaction_reply(3, 2, &exec).is_ok());
        assert!(check_transaction_reply(3, 2, &Frame::Array(None)).is_err());
        assert!(check_transaction_reply(1, 2, &Frame::Error(b"ERR x")).is_err());
        assert!(check_transaction_reply(0, 2, &Frame::Simple(b"QUEUED")).is_err());
    }

    #[test]
    fn message_origin_reads_publisher_and_sequence() {
        let message = |payload: &'static [u8]| {
            Frame::Array(Some(vec![
                Frame::Bulk(Some(b"message")),
                Frame::Bulk(Some(CHANNEL)),
                Frame::Bulk(Some(payload)),
            ]))
        };
        assert_eq!(message_origin(&message(b"3:41")), Ok((3, 41)));
        assert!(message_origin(&message(b"341")).is_err());
        assert!(message_origin(&Frame::Int(1)).is_err());
    }

    #[test]
    fn options_need_a_port() {
        let args = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(parse_options(args("multi --clients 5")).is_err());
        let opts = parse_options(args("publish --port 7 --subscribers 100")).unwrap();
        assert_eq!((opts.port, opts.subscribers, opts.clients), (7, 100, 50));
        assert!(parse_options(args("multi --port 7 --bogus 1")).is_err());
    }
}
