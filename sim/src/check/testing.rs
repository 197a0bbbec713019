//! Hand-made histories for the checkers' tests: each event gets the next
//! millisecond.

use crate::history::{Call, EventType, History, Outcome};

#[derive(Default)]
pub struct Hist {
    pub history: History,
    clock: u64,
}

impl Hist {
    pub fn new() -> Self {
        Self::default()
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    pub fn invoke(&mut self, process: u64, call: Call) -> &mut Self {
        let at = self.tick();
        self.history.invoke(process, call, at);
        self
    }

    pub fn ok(&mut self, process: u64, outcome: Outcome) -> &mut Self {
        let at = self.tick();
        self.history
            .complete(process, EventType::Ok, Some(outcome), at);
        self
    }

    pub fn done(&mut self, process: u64) -> &mut Self {
        self.ok(process, Outcome::Done)
    }

    pub fn fail(&mut self, process: u64) -> &mut Self {
        let at = self.tick();
        self.history.complete(process, EventType::Fail, None, at);
        self
    }

    pub fn info(&mut self, process: u64) -> &mut Self {
        let at = self.tick();
        self.history.complete(process, EventType::Info, None, at);
        self
    }

    /// A write acknowledged right away.
    pub fn write(&mut self, process: u64, key: &str, value: i64) -> &mut Self {
        self.invoke(process, write(key, value)).done(process)
    }

    /// A read that returned right away.
    pub fn read(&mut self, process: u64, key: &str, seen: Option<i64>) -> &mut Self {
        self.invoke(process, read(key))
            .ok(process, Outcome::Read(seen))
    }

    pub fn incr(&mut self, process: u64, key: &str, result: i64) -> &mut Self {
        self.invoke(process, incr(key))
            .ok(process, Outcome::Counter(result))
    }

    pub fn append(&mut self, process: u64, key: &str, value: i64) -> &mut Self {
        self.invoke(process, append(key, value)).done(process)
    }

    pub fn read_list(&mut self, process: u64, key: &str, seen: &[i64]) -> &mut Self {
        self.invoke(process, read_list(key))
            .ok(process, Outcome::List(seen.to_vec()))
    }

    pub fn build(&self) -> History {
        self.history.clone()
    }
}

pub fn read(key: &str) -> Call {
    Call::Read { key: key.into() }
}

pub fn write(key: &str, value: i64) -> Call {
    Call::Write {
        key: key.into(),
        value,
    }
}

pub fn incr(key: &str) -> Call {
    Call::Incr { key: key.into() }
}

pub fn append(key: &str, value: i64) -> Call {
    Call::Append {
        key: key.into(),
        value,
    }
}

pub fn read_list(key: &str) -> Call {
    Call::ReadList { key: key.into() }
}

pub fn list(items: &[i64]) -> Outcome {
    Outcome::List(items.to_vec())
}

/// A small deterministic generator (xorshift64*), so tests need no
/// randomness crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
