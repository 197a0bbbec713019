//! Access tracking for `OBJECT IDLETIME` / `OBJECT FREQ` and eviction:
//! an LRU clock in seconds, or Redis's logarithmic LFU counter with decay.

use super::Object;
use crate::config::Config;
use crate::time::Now;

/// Which kind of access data objects carry, from `maxmemory-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Lru,
    Lfu,
}

impl Policy {
    pub fn of(config: &Config) -> Policy {
        if config.maxmemory_policy.ends_with("lfu") {
            Policy::Lfu
        } else {
            Policy::Lru
        }
    }
}

/// 24-bit LRU clock with one-second resolution (Redis's LRU_CLOCK_MAX).
const LRU_CLOCK_MAX: u64 = (1 << 24) - 1;
/// A new key's LFU counter (Redis's LFU_INIT_VAL).
pub const LFU_INIT_VAL: u32 = 5;

pub fn lru_clock(now: Now) -> u32 {
    ((now.unix_ms / 1000) & LRU_CLOCK_MAX) as u32
}

/// The LFU clock: minutes, 16 bits.
fn lfu_minutes(now: Now) -> u32 {
    ((now.unix_ms / 60_000) & 0xFFFF) as u32
}

pub fn initial(now: Now, policy: Policy, _config: &Config) -> u32 {
    match policy {
        Policy::Lru => lru_clock(now),
        Policy::Lfu => (lfu_minutes(now) << 8) | LFU_INIT_VAL,
    }
}

/// Records an access to `obj`.
pub fn touch(obj: &mut Object, now: Now, policy: Policy, config: &Config) {
    obj.access = match policy {
        Policy::Lru => lru_clock(now),
        Policy::Lfu => {
            let counter = decayed_counter(obj.access, now, config);
            let counter = log_increment(counter, obj.access, now, config);
            (lfu_minutes(now) << 8) | counter
        }
    };
}

/// Seconds since the last access (OBJECT IDLETIME), under LRU.
pub fn idle_seconds(obj: &Object, now: Now) -> u64 {
    let clock = lru_clock(now) as u64;
    let last = obj.access as u64 & LRU_CLOCK_MAX;
    if clock >= last {
        clock - last
    } else {
        clock + (LRU_CLOCK_MAX - last)
    }
}

/// The LFU counter after decay (OBJECT FREQ), under LFU.
pub fn frequency(obj: &Object, now: Now, config: &Config) -> u32 {
    decayed_counter(obj.access, now, config)
}

fn decayed_counter(access: u32, now: Now, config: &Config) -> u32 {
    let last = access >> 8;
    let counter = access & 0xFF;
    let now_min = lfu_minutes(now);
    let elapsed = if now_min >= last {
        now_min - last
    } else {
        65535 - last + now_min
    };
    let periods = if config.lfu_decay_time > 0 {
        elapsed as u64 / config.lfu_decay_time
    } else {
        0
    };
    counter.saturating_sub(periods.min(255) as u32)
}

/// Redis's probabilistic logarithmic increment, made deterministic: the
/// "random" draw is a hash of the access word and the time, so the core
/// needs no RNG here and replays identically.
fn log_increment(counter: u32, access: u32, now: Now, config: &Config) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * config.lfu_log_factor as f64 + 1.0);
    let mix = (access as u64 ^ now.unix_ms).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let r = (mix >> 11) as f64 / (1u64 << 53) as f64;
    if r < p {
        counter + 1
    } else {
        counter
    }
}
