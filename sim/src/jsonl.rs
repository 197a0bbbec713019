//! Histories as JSON lines that Jepsen's tools (Elle, elle-cli, Knossos
//! through elle-cli, adya) can read: one object per event, in history
//! order.
//!
//! # Mapping
//!
//! Every event has:
//!
//! | field | value |
//! | --- | --- |
//! | `index` | the event's position in the history |
//! | `type` | `"invoke"`, `"ok"`, `"fail"` or `"info"` |
//! | `process` | Jepsen's process: the client, renumbered after an `info` (see below) |
//! | `client` | the client as the history recorded it (not a Jepsen field) |
//! | `time` | virtual time in nanoseconds (the history's milliseconds × 10⁶) |
//! | `f`, `value` | the operation, per workload (below) |
//!
//! | call | `f` | `value` on invoke | `value` on `ok` | extra |
//! | --- | --- | --- | --- | --- |
//! | GET (register) | `"read"` | `null` | the integer, `null` if the key was missing | `"key"` |
//! | SET (register) | `"write"` | the integer | the integer | `"key"` |
//! | INCR (counter) | `"add"` | `1` | `1` | `"key"`; on `ok`, `"result"`: INCR's reply |
//! | RPUSH (list) | `"txn"` | `[["append", key, v]]` | the same | |
//! | LRANGE 0 -1 (list) | `"txn"` | `[["r", key, null]]` | `[["r", key, [v1, ...]]]` | |
//!
//! `fail` and `info` completions carry the invoke's `value`. The list
//! workload is Elle's list-append format exactly (single-operation
//! transactions); register and counter events carry their key in `"key"`,
//! so a per-key file for Knossos's register model or Jepsen's counter
//! checker is one filter away (`jq -c 'select(.key == "k1")'`).
//!
//! Jepsen's rule is that a process whose operation ended in `info` never
//! invokes again (it may still be running it). Our clients do go on after
//! a timeout, so the writer gives such a client a fresh `process` number
//! (above every client number) for its next operations; `client` keeps the
//! original.
//!
//! [`parse_jsonl`] reads the format back into a [`History`] (from the
//! `client` field when present, else `process`): a saved history can be
//! checked again without re-running its seed. An `ok` SET or RPUSH reads
//! back with the outcome [`Outcome::Done`].

use crate::history::{Call, Event, EventType, History, Outcome};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt;
use std::io;

const NANOS_PER_MS: u64 = 1_000_000;

/// The history as JSON lines, each ending in a newline.
pub fn to_jsonl(history: &History) -> String {
    let mut out = Vec::new();
    write_jsonl(history, &mut out).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// Writes the history as JSON lines.
pub fn write_jsonl(history: &History, mut out: impl io::Write) -> io::Result<()> {
    let mut processes = Processes::new(history);
    for event in &history.events {
        let process = processes.jepsen(event);
        writeln!(out, "{}", event_json(event, process))?;
    }
    Ok(())
}

/// Maps clients to Jepsen processes: a client gets a fresh process after
/// each `info`.
struct Processes {
    current: HashMap<u64, u64>,
    next_fresh: u64,
}

impl Processes {
    fn new(history: &History) -> Self {
        let highest = history.events.iter().map(|e| e.process).max().unwrap_or(0);
        Processes {
            current: HashMap::new(),
            next_fresh: highest.saturating_add(1),
        }
    }

    fn jepsen(&mut self, event: &Event) -> u64 {
        let process = *self.current.entry(event.process).or_insert(event.process);
        if event.kind == EventType::Info {
            self.current.insert(event.process, self.next_fresh);
            self.next_fresh = self.next_fresh.saturating_add(1);
        }
        process
    }
}

fn type_name(kind: EventType) -> &'static str {
    match kind {
        EventType::Invoke => "invoke",
        EventType::Ok => "ok",
        EventType::Fail => "fail",
        EventType::Info => "info",
    }
}

/// One event as a JSON object, fields in a fixed, readable order.
fn event_json(event: &Event, process: u64) -> String {
    let outcome = match event.kind {
        EventType::Ok => event.outcome.as_ref(),
        _ => None,
    };
    let (f, key, value, result) = operation_json(&event.call, outcome);
    let mut line = format!(
        "{{\"index\":{},\"type\":\"{}\",\"f\":\"{f}\"",
        event.index,
        type_name(event.kind)
    );
    if let Some(key) = key {
        line.push_str(&format!(",\"key\":{}", json!(key)));
    }
    line.push_str(&format!(",\"value\":{value}"));
    if let Some(result) = result {
        line.push_str(&format!(",\"result\":{result}"));
    }
    line.push_str(&format!(
        ",\"process\":{process},\"client\":{},\"time\":{}}}",
        event.process,
        event.time_ms.saturating_mul(NANOS_PER_MS)
    ));
    line
}

/// `f`, the `key` field (registers and counters), `value`, and `result`
/// (INCR's reply).
fn operation_json<'a>(
    call: &'a Call,
    outcome: Option<&Outcome>,
) -> (&'static str, Option<&'a str>, Value, Option<Value>) {
    match call {
        Call::Read { key } => {
            let value = match outcome {
                Some(Outcome::Read(Some(v))) => json!(v),
                _ => Value::Null,
            };
            ("read", Some(key), value, None)
        }
        Call::Write { key, value } => ("write", Some(key), json!(value), None),
        Call::Incr { key } => {
            let result = match outcome {
                Some(Outcome::Counter(n)) => Some(json!(n)),
                _ => None,
            };
            ("add", Some(key), json!(1), result)
        }
        Call::Append { key, value } => ("txn", None, json!([["append", key, value]]), None),
        Call::ReadList { key } => {
            let items = match outcome {
                Some(Outcome::List(items)) => json!(items),
                _ => Value::Null,
            };
            ("txn", None, json!([["r", key, items]]), None)
        }
        Call::Enqueue { key, value } => ("enqueue", Some(key), json!(value), None),
        Call::Dequeue { key } => {
            let value = match outcome {
                Some(Outcome::Dequeued(Some(v))) => json!(v),
                _ => Value::Null,
            };
            ("dequeue", Some(key), value, None)
        }
        Call::ReadQueue { key } => {
            let items = match outcome {
                Some(Outcome::List(items)) => json!(items),
                _ => Value::Null,
            };
            ("drain", Some(key), items, None)
        }
    }
}

/// A line of a JSON-lines history that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Reads a history written by [`write_jsonl`] (or any history in the same
/// format with single-operation list-append transactions). Blank lines
/// are skipped; events are numbered in the order read.
pub fn parse_jsonl(text: &str) -> Result<History, ParseError> {
    let mut history = History::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event = parse_event(line, history.events.len()).map_err(|message| ParseError {
            line: i + 1,
            message,
        })?;
        history.events.push(event);
    }
    Ok(history)
}

fn parse_event(line: &str, index: usize) -> Result<Event, String> {
    let object: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let kind = match field_str(&object, "type")? {
        "invoke" => EventType::Invoke,
        "ok" => EventType::Ok,
        "fail" => EventType::Fail,
        "info" => EventType::Info,
        other => return Err(format!("unknown type {other:?}")),
    };
    let process = match object.get("client") {
        Some(client) => as_u64(client, "client")?,
        None => as_u64(field(&object, "process")?, "process")?,
    };
    let time_ms = as_u64(field(&object, "time")?, "time")? / NANOS_PER_MS;
    let (call, outcome) = parse_operation(&object)?;
    let outcome = match kind {
        EventType::Ok => Some(outcome.ok_or("an ok add has no \"result\"")?),
        _ => None,
    };
    Ok(Event {
        index,
        process,
        kind,
        call,
        outcome,
        time_ms,
    })
}

fn field<'a>(object: &'a Value, name: &str) -> Result<&'a Value, String> {
    object
        .get(name)
        .ok_or_else(|| format!("missing field {name:?}"))
}

fn field_str<'a>(object: &'a Value, name: &str) -> Result<&'a str, String> {
    field(object, name)?
        .as_str()
        .ok_or_else(|| format!("field {name:?} is not a string"))
}

fn as_u64(value: &Value, name: &str) -> Result<u64, String> {
    value
        .as_u64()
        .ok_or_else(|| format!("{name:?} is not a non-negative integer"))
}

fn as_i64(value: &Value, name: &str) -> Result<i64, String> {
    value
        .as_i64()
        .ok_or_else(|| format!("{name:?} is not an integer"))
}

/// The call, and the outcome it would have if the event is an `ok` (none
/// for an `add` without a `result`).
fn parse_operation(object: &Value) -> Result<(Call, Option<Outcome>), String> {
    let value = field(object, "value")?;
    let key = || field_str(object, "key").map(str::to_owned);
    match field_str(object, "f")? {
        "read" => {
            let seen = if value.is_null() {
                None
            } else {
                Some(as_i64(value, "value")?)
            };
            Ok((Call::Read { key: key()? }, Some(Outcome::Read(seen))))
        }
        "write" => {
            let value = as_i64(value, "value")?;
            Ok((Call::Write { key: key()?, value }, Some(Outcome::Done)))
        }
        "add" => {
            let result = object
                .get("result")
                .map(|r| as_i64(r, "result"))
                .transpose()?;
            Ok((Call::Incr { key: key()? }, result.map(Outcome::Counter)))
        }
        "txn" => parse_micro_op(value).map(|(call, outcome)| (call, Some(outcome))),
        "enqueue" => {
            let value = as_i64(value, "value")?;
            Ok((Call::Enqueue { key: key()?, value }, Some(Outcome::Done)))
        }
        "dequeue" => {
            let seen = match value {
                Value::Null => None,
                v => Some(as_i64(v, "value")?),
            };
            Ok((Call::Dequeue { key: key()? }, Some(Outcome::Dequeued(seen))))
        }
        "drain" => {
            let items = match value {
                Value::Null => Vec::new(),
                Value::Array(items) => items
                    .iter()
                    .map(|v| as_i64(v, "element"))
                    .collect::<Result<_, _>>()?,
                _ => return Err("a drain's value is neither null nor a list".into()),
            };
            Ok((Call::ReadQueue { key: key()? }, Some(Outcome::List(items))))
        }
        other => Err(format!("unknown f {other:?}")),
    }
}

/// `[["append", key, v]]` or `[["r", key, null | [..]]]`.
fn parse_micro_op(value: &Value) -> Result<(Call, Outcome), String> {
    let ops = value.as_array().ok_or("txn value is not an array")?;
    let [op] = ops.as_slice() else {
        return Err(format!(
            "txn has {} operations; only one is supported",
            ops.len()
        ));
    };
    let parts = op.as_array().map(Vec::as_slice);
    let Some([f, key, argument]) = parts else {
        return Err("a txn operation is not [f, key, value]".into());
    };
    let key = key.as_str().ok_or("txn key is not a string")?.to_owned();
    match f.as_str() {
        Some("append") => {
            let value = as_i64(argument, "append value")?;
            Ok((Call::Append { key, value }, Outcome::Done))
        }
        Some("r") => {
            let items = match argument {
                Value::Null => Vec::new(),
                Value::Array(items) => items
                    .iter()
                    .map(|v| as_i64(v, "read element"))
                    .collect::<Result<_, _>>()?,
                _ => return Err("a read's value is neither null nor a list".into()),
            };
            Ok((Call::ReadList { key }, Outcome::List(items)))
        }
        _ => Err(format!("unknown txn operation {f}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{append, incr, read, read_list, write, Hist};

    fn sample() -> History {
        let mut h = Hist::new();
        h.invoke(0, write("r\"1", 5))
            .done(0)
            .invoke(1, read("r\"1"))
            .ok(1, Outcome::Read(None))
            .invoke(0, incr("c"))
            .info(0)
            .invoke(0, incr("c"))
            .ok(0, Outcome::Counter(2))
            .invoke(1, append("l", 7))
            .fail(1)
            .invoke(1, read_list("l"))
            .ok(1, Outcome::List(vec![3, 4]));
        h.build()
    }

    #[test]
    fn writes_one_jepsen_event_per_line() {
        let text = to_jsonl(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 12);
        assert_eq!(
            lines[0],
            r#"{"index":0,"type":"invoke","f":"write","key":"r\"1","value":5,"process":0,"client":0,"time":1000000}"#
        );
        assert_eq!(
            lines[3],
            r#"{"index":3,"type":"ok","f":"read","key":"r\"1","value":null,"process":1,"client":1,"time":4000000}"#
        );
        assert_eq!(
            lines[5],
            r#"{"index":5,"type":"info","f":"add","key":"c","value":1,"process":0,"client":0,"time":6000000}"#
        );
        // After its info, client 0 is a new Jepsen process.
        assert_eq!(
            lines[7],
            r#"{"index":7,"type":"ok","f":"add","key":"c","value":1,"result":2,"process":2,"client":0,"time":8000000}"#
        );
        assert_eq!(
            lines[9],
            r#"{"index":9,"type":"fail","f":"txn","value":[["append","l",7]],"process":1,"client":1,"time":10000000}"#
        );
        assert_eq!(
            lines[10],
            r#"{"index":10,"type":"invoke","f":"txn","value":[["r","l",null]],"process":1,"client":1,"time":11000000}"#
        );
        assert_eq!(
            lines[11],
            r#"{"index":11,"type":"ok","f":"txn","value":[["r","l",[3,4]]],"process":1,"client":1,"time":12000000}"#
        );
        for line in lines {
            let object: Value = serde_json::from_str(line).unwrap();
            for field in ["index", "type", "process", "time", "f", "value"] {
                assert!(object.get(field).is_some(), "{field} missing in {line}");
            }
        }
    }

    #[test]
    fn reads_back_what_it_wrote() {
        let history = sample();
        assert_eq!(parse_jsonl(&to_jsonl(&history)).unwrap(), history);
    }

    #[test]
    fn reads_elle_list_append_without_our_extra_fields() {
        let text = r#"
{"index":0,"type":"invoke","f":"txn","value":[["append","x",1]],"process":3,"time":5}
{"index":1,"type":"ok","f":"txn","value":[["append","x",1]],"process":3,"time":2000000}
"#;
        let history = parse_jsonl(text).unwrap();
        assert_eq!(history.events.len(), 2);
        assert_eq!(history.events[1].process, 3);
        assert_eq!(history.events[1].time_ms, 2);
        assert_eq!(history.events[1].outcome, Some(Outcome::Done));
    }

    #[test]
    fn reports_the_line_of_a_bad_event() {
        let good = r#"{"type":"invoke","f":"read","key":"k","value":null,"process":1,"time":0}"#;
        let cases = [
            ("not json", "expected"),
            (
                r#"{"type":"done","f":"read","key":"k","value":null,"process":1,"time":0}"#,
                "unknown type",
            ),
            (
                r#"{"type":"ok","f":"cas","key":"k","value":1,"process":1,"time":0}"#,
                "unknown f",
            ),
            (
                r#"{"type":"ok","f":"read","value":1,"process":1,"time":0}"#,
                "missing field \"key\"",
            ),
            (
                r#"{"type":"ok","f":"txn","value":[["append","k",1],["r","k",null]],"process":1,"time":0}"#,
                "only one is supported",
            ),
            (
                r#"{"type":"ok","f":"txn","value":[["r","k",7]],"process":1,"time":0}"#,
                "neither null nor a list",
            ),
            (
                r#"{"type":"ok","f":"read","key":"k","value":1,"process":-1,"time":0}"#,
                "not a non-negative integer",
            ),
            (
                r#"{"type":"ok","f":"add","key":"k","value":1,"process":1,"time":0}"#,
                "has no \"result\"",
            ),
        ];
        for (bad, needle) in cases {
            let err = parse_jsonl(&format!("{good}\n\n{bad}\n")).unwrap_err();
            assert_eq!(err.line, 3, "{bad}");
            assert!(err.to_string().contains(needle), "{bad}: {err}");
        }
    }
}
