//! Time as an input. The core never reads a clock: the driver passes [`Now`]
//! into every handler, taken once per batch of input.

/// The current time, as seen by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Now {
    /// Monotonic milliseconds since an arbitrary origin: for timers and durations.
    pub mono_ms: u64,
    /// Wall-clock milliseconds since the Unix epoch: for expiry and `TIME`.
    pub unix_ms: u64,
}

impl Now {
    pub fn new(mono_ms: u64, unix_ms: u64) -> Self {
        Now { mono_ms, unix_ms }
    }

    /// Wall-clock microseconds since the Unix epoch (for `TIME`).
    pub fn unix_us(&self) -> u64 {
        self.unix_ms.saturating_mul(1000)
    }
}
