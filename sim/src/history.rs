//! Operation histories: what each simulated client asked, and what it was
//! told, with virtual timestamps. Checkers (`crate::check`) read them; the
//! runner writes them as JSON lines that Jepsen's tools can read.

/// Jepsen's four event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// The operation was sent.
    Invoke,
    /// It completed and took effect.
    Ok,
    /// It completed and certainly did not take effect.
    Fail,
    /// Its outcome is unknown (timeout, connection lost): it may or may not
    /// have taken effect, at any time after the invoke.
    Info,
}

/// What a client asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Call {
    /// GET key (register workload).
    Read { key: String },
    /// SET key value (register workload).
    Write { key: String, value: i64 },
    /// INCR key (counter workload).
    Incr { key: String },
    /// RPUSH key value (list-append workload).
    Append { key: String, value: i64 },
    /// LRANGE key 0 -1 (list-append workload).
    ReadList { key: String },
    /// LPUSH key value (queue workload: a producer).
    Enqueue { key: String, value: i64 },
    /// BRPOP key timeout (queue workload: a consumer).
    Dequeue { key: String },
    /// LRANGE key 0 -1 (queue workload: what is left, read at the end).
    ReadQueue { key: String },
}

impl Call {
    /// Whether the call belongs to the queue workload (its keys are
    /// checked by the queue checker only).
    pub fn is_queue(&self) -> bool {
        matches!(
            self,
            Call::Enqueue { .. } | Call::Dequeue { .. } | Call::ReadQueue { .. }
        )
    }
}

impl Call {
    pub fn key(&self) -> &str {
        match self {
            Call::Read { key }
            | Call::Write { key, .. }
            | Call::Incr { key }
            | Call::Append { key, .. }
            | Call::ReadList { key }
            | Call::Enqueue { key, .. }
            | Call::Dequeue { key }
            | Call::ReadQueue { key } => key,
        }
    }
}

/// What a client was told, for completed operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// GET's value (None: the key did not exist).
    Read(Option<i64>),
    /// SET or RPUSH acknowledged.
    Done,
    /// INCR's new value.
    Counter(i64),
    /// LRANGE's elements.
    List(Vec<i64>),
    /// BRPOP's element, None when it timed out.
    Dequeued(Option<i64>),
}

/// One line of a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Position in the history.
    pub index: usize,
    /// The client (Jepsen's "process") that did it; a process has at most
    /// one operation in flight.
    pub process: u64,
    pub kind: EventType,
    pub call: Call,
    /// Set on `Ok` completions (and `Fail` where an error text is useful, as None).
    pub outcome: Option<Outcome>,
    /// Virtual time, in milliseconds since the simulation started.
    pub time_ms: u64,
}

/// A whole history, in the order events happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub events: Vec<Event>,
}

impl History {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `process` sent `call`.
    pub fn invoke(&mut self, process: u64, call: Call, time_ms: u64) {
        self.push(process, EventType::Invoke, call, None, time_ms);
    }

    /// Records how `process`'s operation in flight ended.
    pub fn complete(
        &mut self,
        process: u64,
        kind: EventType,
        outcome: Option<Outcome>,
        time_ms: u64,
    ) {
        assert_ne!(kind, EventType::Invoke, "a completion cannot be an invoke");
        let call = self
            .events
            .iter()
            .rev()
            .find(|e| e.process == process)
            .filter(|e| e.kind == EventType::Invoke)
            .map(|e| e.call.clone())
            .expect("a completion follows its process's invoke");
        self.push(process, kind, call, outcome, time_ms);
    }

    /// The history as it stood at virtual time `time_ms`: its events up
    /// to that time. Operations in flight then have no completion, so the
    /// checkers treat them as indeterminate. For recovery checks, the
    /// history up to a crash.
    pub fn up_to(&self, time_ms: u64) -> History {
        History {
            events: self
                .events
                .iter()
                .take_while(|e| e.time_ms <= time_ms)
                .cloned()
                .collect(),
        }
    }

    fn push(
        &mut self,
        process: u64,
        kind: EventType,
        call: Call,
        outcome: Option<Outcome>,
        time_ms: u64,
    ) {
        let index = self.events.len();
        self.events.push(Event {
            index,
            process,
            kind,
            call,
            outcome,
            time_ms,
        });
    }
}
