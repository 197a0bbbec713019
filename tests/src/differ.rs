//! Runs the same commands on Keel and on a real Redis, and compares the
//! replies as [`Check`] says (byte for byte unless told otherwise).

use crate::conn::RespConn;
use crate::gen::{Check, Cmd};
use bytes::BytesMut;
use keel_engine::resp::frame::{read_frame, Frame};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

/// Most SCAN calls one full iteration may take before it counts as a loop.
const MAX_SCAN_CALLS: usize = 10_000;
/// The pause before commands that compare expiry times (see [`Cmd::fresh_clock`]).
const FRESH_CLOCK_PAUSE: Duration = Duration::from_millis(3);

/// What one command produced on one server.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// The reply's bytes, and the reply decoded.
    Reply(Vec<u8>, Frame),
    /// A full SCAN iteration: the keys seen (each once).
    Scanned(BTreeSet<Vec<u8>>),
}

/// A connection to each server, fresh for each test case.
pub struct Differ {
    keel: RespConn,
    redis: RespConn,
    /// Every command so far with Redis's reply, for the failure report.
    transcript: Vec<String>,
}

impl Differ {
    /// Connects to both servers, empties them (FLUSHALL), and switches both
    /// connections to RESP3 when asked (HELLO's reply is not compared: it
    /// holds the connection id).
    pub fn start(keel: SocketAddr, redis: SocketAddr, resp3: bool) -> Result<Differ, String> {
        let mut differ = Differ {
            keel: RespConn::connect(keel).map_err(|e| format!("connect to keel: {e}"))?,
            redis: RespConn::connect(redis).map_err(|e| format!("connect to redis: {e}"))?,
            transcript: Vec::new(),
        };
        let mut setup = vec![vec![b"FLUSHALL".to_vec()]];
        if resp3 {
            setup.push(vec![b"HELLO".to_vec(), b"3".to_vec()]);
        }
        for args in setup {
            for (name, conn) in [("keel", &mut differ.keel), ("redis", &mut differ.redis)] {
                let (_, frame) = call(conn, &args).map_err(|e| format!("{name}: {e}"))?;
                if let Frame::Error(e) = frame {
                    return Err(format!("{name} refused {:?}: {e}", args[0]));
                }
            }
            differ
                .transcript
                .push(String::from_utf8_lossy(&args.join(&b' ')).into_owned());
        }
        Ok(differ)
    }

    /// Sends `cmd` to both servers; `Err` describes the first difference.
    pub fn run(&mut self, cmd: &Cmd) -> Result<(), String> {
        if cmd.fresh_clock {
            std::thread::sleep(FRESH_CLOCK_PAUSE);
        }
        if let Some(key) = incrbyfloat_key(cmd) {
            if !self.holds_plain_float(key)? {
                self.transcript
                    .push(format!("{cmd}  ->  (not sent: float width)"));
                return Ok(());
            }
        }
        self.compare(cmd).map(|_| ())
    }

    /// Whether INCRBYFLOAT on `key` gives the same result in `long double`
    /// (Redis) and in a 64-bit double: true unless the key holds a finite
    /// number that is not a multiple of 1/4 or is at least 2^53 in size.
    /// Asks both servers with GET, and compares that reply too.
    fn holds_plain_float(&mut self, key: &[u8]) -> Result<bool, String> {
        let get = Cmd {
            args: vec![b"GET".to_vec(), key.to_vec()],
            check: Check::Exact,
            fresh_clock: false,
        };
        let Outcome::Reply(_, Frame::Bulk(value)) = self.compare(&get)? else {
            return Ok(true);
        };
        let number = std::str::from_utf8(&value)
            .ok()
            .and_then(|t| t.parse::<f64>().ok());
        Ok(match number {
            Some(v) if v.is_finite() => v.abs() < 2f64.powi(53) && (v * 4.0).fract() == 0.0,
            _ => true,
        })
    }

    /// Sends `cmd` to both servers and compares; returns Redis's outcome.
    fn compare(&mut self, cmd: &Cmd) -> Result<Outcome, String> {
        let keel =
            outcome(&mut self.keel, cmd).map_err(|e| self.report(cmd, &format!("keel: {e}")))?;
        let redis =
            outcome(&mut self.redis, cmd).map_err(|e| self.report(cmd, &format!("redis: {e}")))?;
        if !matches(cmd.check, &keel, &redis) {
            let why = format!("keel:  {}\nredis: {}", show(&keel), show(&redis));
            return Err(self.report(cmd, &why));
        }
        self.transcript.push(format!("{cmd}  ->  {}", show(&redis)));
        Ok(redis)
    }

    fn report(&self, cmd: &Cmd, why: &str) -> String {
        format!(
            "replies differ for: {cmd}  (compared: {:?})\n{why}\nafter:\n  {}",
            cmd.check,
            self.transcript.join("\n  ")
        )
    }
}

/// The key of a well-formed INCRBYFLOAT command.
fn incrbyfloat_key(cmd: &Cmd) -> Option<&[u8]> {
    match &cmd.args[..] {
        [name, key, _] if name.eq_ignore_ascii_case(b"incrbyfloat") => Some(key),
        _ => None,
    }
}

/// Sends `args` and reads one reply: its bytes and its decoded frame.
fn call(conn: &mut RespConn, args: &[Vec<u8>]) -> Result<(Vec<u8>, Frame), String> {
    conn.send(args).map_err(|e| format!("send: {e}"))?;
    let raw = conn.read_raw().map_err(|e| format!("read: {e}"))?;
    let frame = read_frame(&mut BytesMut::from(&raw[..]))
        .map_err(|e| format!("decode: {}", e.0))?
        .ok_or("a frame read whole does not decode")?;
    Ok((raw, frame))
}

fn outcome(conn: &mut RespConn, cmd: &Cmd) -> Result<Outcome, String> {
    if cmd.check == Check::FullScan {
        return full_scan(conn, &cmd.args);
    }
    let (raw, frame) = call(conn, &cmd.args)?;
    Ok(Outcome::Reply(raw, frame))
}

/// Iterates `SCAN <cursor> <options>` from `args` (whose cursor is "0")
/// until the cursor comes back to 0. An error reply ends it as the outcome.
fn full_scan(conn: &mut RespConn, args: &[Vec<u8>]) -> Result<Outcome, String> {
    let mut args = args.to_vec();
    let mut seen = BTreeSet::new();
    for _ in 0..MAX_SCAN_CALLS {
        let (raw, frame) = call(conn, &args)?;
        let Frame::Array(parts) = &frame else {
            return Ok(Outcome::Reply(raw, frame));
        };
        let [Frame::Bulk(cursor), Frame::Array(keys)] = &parts[..] else {
            return Err(format!("malformed SCAN reply {frame:?}"));
        };
        for key in keys {
            let Frame::Bulk(key) = key else {
                return Err(format!("SCAN returned a non-bulk key {key:?}"));
            };
            seen.insert(key.to_vec());
        }
        if &cursor[..] == b"0" {
            return Ok(Outcome::Scanned(seen));
        }
        args[1] = cursor.to_vec();
    }
    Err(format!("SCAN did not finish in {MAX_SCAN_CALLS} calls"))
}

fn matches(check: Check, keel: &Outcome, redis: &Outcome) -> bool {
    use Outcome::Reply;
    match (check, keel, redis) {
        (Check::Within(tolerance), Reply(_, Frame::Int(a)), Reply(_, Frame::Int(b)))
            if *a >= 0 && *b >= 0 =>
        {
            a.abs_diff(*b) <= tolerance.unsigned_abs()
        }
        (Check::Unordered, Reply(_, Frame::Array(a)), Reply(_, Frame::Array(b))) => {
            sorted(a) == sorted(b)
        }
        (_, Reply(a, _), Reply(b, _)) => a == b,
        (_, a, b) => a == b,
    }
}

fn sorted(frames: &[Frame]) -> Vec<String> {
    let mut items: Vec<String> = frames.iter().map(|f| format!("{f:?}")).collect();
    items.sort();
    items
}

/// A reply for a report: the bytes as an escaped string, shortened.
fn show(outcome: &Outcome) -> String {
    const MAX: usize = 300;
    let text = match outcome {
        Outcome::Reply(raw, _) => format!("{:?}", String::from_utf8_lossy(raw)),
        Outcome::Scanned(keys) => {
            let keys: Vec<_> = keys
                .iter()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .collect();
            format!("full SCAN saw {keys:?}")
        }
    };
    if text.len() > MAX {
        let cut = (0..=MAX)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}... ({} bytes)", &text[..cut], text.len())
    } else {
        text
    }
}

/// Keel and a real `redis-server` to compare, or None when redis-server is
/// not installed (then [`crate::tools::require_tool`]'s rule applies: a
/// printed notice locally, a failure under CI).
pub fn servers(test: &str) -> Option<(crate::KeelServer, crate::RedisServer)> {
    let binary = crate::tools::require_tool("redis-server", test)?;
    let redis = crate::RedisServer::start(&binary, &[]).expect("start redis-server");
    Some((crate::KeelServer::start(), redis))
}

/// A proptest runner for a differential test: `default_cases` cases, or
/// as many as `KEEL_DIFF_CASES` says.
pub fn runner(default_cases: u32, max_shrink_iters: u32) -> proptest::test_runner::TestRunner {
    let cases = std::env::var("KEEL_DIFF_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default_cases);
    proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases,
        max_shrink_iters,
        ..proptest::test_runner::Config::default()
    })
}

/// A named case of a corpus: command lines run in order on one connection
/// to each server.
pub type CorpusCase = (&'static str, &'static [&'static [&'static str]]);

/// Runs every case of `corpus` on Keel and a real `redis-server`, in RESP2
/// and in RESP3, each case on fresh connections after the `reset` command
/// lines, replies compared exactly; panics listing every difference. Does
/// nothing (after [`servers`]' notice) when redis-server is missing.
pub fn check_corpus(test: &str, corpus: &[CorpusCase], reset: &[&[&str]]) {
    let Some((keel, redis)) = servers(test) else {
        return;
    };
    let mut failures = Vec::new();
    for resp3 in [false, true] {
        for (name, commands) in corpus {
            let mut differ = match Differ::start(keel.addr(), redis.addr(), resp3) {
                Ok(d) => d,
                Err(e) => {
                    failures.push(format!("{name}: {e}"));
                    continue;
                }
            };
            for args in reset.iter().chain(commands.iter()) {
                if let Err(e) = differ.run(&exact(args)) {
                    failures.push(format!("[{name}, resp3={resp3}] {e}"));
                    break;
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// A command line whose replies must match exactly.
fn exact(args: &[&str]) -> Cmd {
    Cmd {
        args: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        check: Check::Exact,
        fresh_clock: false,
    }
}
