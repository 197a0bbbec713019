//! Where the driver gets time from.
//!
//! The core never reads a clock: the driver takes a [`Now`] once per batch of
//! input and hands it in. Production reads the OS; the simulation reads
//! turmoil's virtual time (see `keel-sim`), with a per-host skew.

use keel_engine::Now;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of time for one server.
pub trait Clock: 'static {
    /// The current monotonic and wall-clock time.
    fn now(&self) -> Now;

    /// Completes once [`Clock::now`]'s `mono_ms` has reached `mono_ms`.
    fn sleep_until(&self, mono_ms: u64) -> impl Future<Output = ()>;
}

/// The OS clocks: `Instant` for monotonic time (counted from the moment the
/// clock is made) and `SystemTime` for wall-clock time.
#[derive(Debug, Clone, Copy)]
pub struct OsClock {
    origin: Instant,
}

impl OsClock {
    pub fn new() -> Self {
        OsClock {
            origin: Instant::now(),
        }
    }
}

impl Default for OsClock {
    fn default() -> Self {
        Self::new()
    }
}

/// Milliseconds in `d`, saturating (a u64 of milliseconds outlives us all).
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Clock for OsClock {
    fn now(&self) -> Now {
        // A wall clock set before 1970 reads as the epoch itself.
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Now::new(millis(self.origin.elapsed()), millis(unix))
    }

    fn sleep_until(&self, mono_ms: u64) -> impl Future<Output = ()> {
        let deadline = self.origin + Duration::from_millis(mono_ms);
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_clock_is_monotonic_and_near_the_wall_clock() {
        let clock = OsClock::new();
        let a = clock.now();
        let b = clock.now();
        assert!(b.mono_ms >= a.mono_ms);
        let wall = millis(SystemTime::now().duration_since(UNIX_EPOCH).unwrap());
        assert!(wall.abs_diff(b.unix_ms) < 1000);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn sleep_until_reaches_the_deadline() {
        let clock = OsClock::new();
        let target = clock.now().mono_ms + 20;
        clock.sleep_until(target).await;
        assert!(clock.now().mono_ms >= target);
    }
}
