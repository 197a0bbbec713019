//! Access tracking for `OBJECT IDLETIME` / `OBJECT FREQ` and eviction:
//! an LRU clock in seconds, or Redis's logarithmic LFU counter with decay.
//!
//! Both live in the object's 24-bit `access` word, as in Redis: under LRU it
//! is the LRU clock (seconds); under LFU it is the last decrement time in
//! minutes (16 bits) shifted left by 8, and an 8-bit logarithmic counter.

use super::Object;
use crate::config::Config;
use crate::time::Now;
use rand_chacha::rand_core::RngCore;

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
/// The LFU counter saturates here (8 bits).
const LFU_COUNTER_MAX: u32 = 255;
/// The LFU minutes clock wraps at 16 bits.
const LFU_MINUTES_MAX: u32 = 0xFFFF;

pub fn lru_clock(now: Now) -> u32 {
    ((now.unix_ms / 1000) & LRU_CLOCK_MAX) as u32
}

/// The LFU clock: minutes, 16 bits.
fn lfu_minutes(now: Now) -> u32 {
    ((now.unix_ms / 60_000) & LFU_MINUTES_MAX as u64) as u32
}

pub fn initial(now: Now, policy: Policy, _config: &Config) -> u32 {
    match policy {
        Policy::Lru => lru_clock(now),
        Policy::Lfu => (lfu_minutes(now) << 8) | LFU_INIT_VAL,
    }
}

/// Records an access to `obj`. Under LFU, the chance for the counter to
/// grow is decided by a hash of the access word and the time (see
/// [`hashed_draw`]); prefer [`touch_with_rng`] where the server's RNG is at hand.
pub fn touch(obj: &mut Object, now: Now, policy: Policy, config: &Config) {
    let draw = hashed_draw(obj.access, now);
    touch_with_draw(obj, now, policy, config, draw);
}

/// Records an access to `obj`, drawing the LFU increment's chance from `rng`
/// (the server's seeded RNG), as Redis draws it from `rand()`.
pub fn touch_with_rng(
    obj: &mut Object,
    now: Now,
    policy: Policy,
    config: &Config,
    rng: &mut impl RngCore,
) {
    let draw = unit_draw(rng.next_u64());
    touch_with_draw(obj, now, policy, config, draw);
}

/// Records an access; `draw`, uniform in [0, 1), decides whether the LFU
/// counter grows.
fn touch_with_draw(obj: &mut Object, now: Now, policy: Policy, config: &Config, draw: f64) {
    obj.access = match policy {
        Policy::Lru => lru_clock(now),
        Policy::Lfu => {
            let counter = decayed_counter(obj.access, now, config);
            let counter = log_increment(counter, draw, config);
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
        // The 24-bit clock wrapped since the last access.
        clock + (LRU_CLOCK_MAX - last)
    }
}

/// The LFU counter after decay (OBJECT FREQ), under LFU. Reading it
/// changes nothing, as in Redis.
pub fn frequency(obj: &Object, now: Now, config: &Config) -> u32 {
    lfu_counter(obj.access, now, config)
}

/// [`frequency`] from an object's access word alone.
pub fn lfu_counter(access: u32, now: Now, config: &Config) -> u32 {
    decayed_counter(access, now, config)
}

/// Minutes since the LFU word was last updated, across the 16-bit wrap.
fn lfu_elapsed_minutes(access: u32, now: Now) -> u32 {
    let last = (access >> 8) & LFU_MINUTES_MAX;
    let now_min = lfu_minutes(now);
    if now_min >= last {
        now_min - last
    } else {
        LFU_MINUTES_MAX - last + now_min
    }
}

/// The counter less one for every `lfu-decay-time` minutes elapsed
/// (no decay when `lfu-decay-time` is 0), floored at 0.
fn decayed_counter(access: u32, now: Now, config: &Config) -> u32 {
    let counter = access & 0xFF;
    let periods = match config.lfu_decay_time {
        0 => 0,
        decay => lfu_elapsed_minutes(access, now) as u64 / decay,
    };
    counter.saturating_sub(periods.min(LFU_COUNTER_MAX as u64) as u32)
}

/// Redis's probabilistic logarithmic increment: the counter grows with
/// probability 1 / ((counter - LFU_INIT_VAL) * lfu-log-factor + 1), so each
/// step up needs more hits than the last; it saturates at 255.
fn log_increment(counter: u32, draw: f64, config: &Config) -> u32 {
    if counter >= LFU_COUNTER_MAX {
        return LFU_COUNTER_MAX;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * config.lfu_log_factor as f64 + 1.0);
    if draw < p {
        counter + 1
    } else {
        counter
    }
}

/// A deterministic stand-in for a random draw when no RNG is at hand: a hash
/// of the access word and the time. It repeats for accesses within one
/// millisecond that left the counter unchanged, so it under-counts bursts.
fn hashed_draw(access: u32, now: Now) -> f64 {
    unit_draw((access as u64 ^ now.unix_ms).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Maps 64 random bits to a uniform f64 in [0, 1).
fn unit_draw(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{StrValue, Value};
    use rand_chacha::rand_core::SeedableRng;

    fn lfu_config(log_factor: u64, decay: u64) -> Config {
        Config {
            maxmemory_policy: "allkeys-lfu".into(),
            lfu_log_factor: log_factor,
            lfu_decay_time: decay,
            ..Config::default()
        }
    }

    fn object(now: Now, config: &Config) -> Object {
        let value = Value::Str(StrValue::from_bytes(b"v"));
        Object::new(value, initial(now, Policy::of(config), config))
    }

    fn hits(obj: &mut Object, n: usize, now: Now, config: &Config, seed: u64) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for _ in 0..n {
            touch_with_rng(obj, now, Policy::Lfu, config, &mut rng);
        }
    }

    #[test]
    fn new_objects_start_at_lfu_init_val() {
        let cfg = lfu_config(10, 1);
        let now = Now::new(0, 1_700_000_000_000);
        assert_eq!(frequency(&object(now, &cfg), now, &cfg), LFU_INIT_VAL);
    }

    #[test]
    fn counter_grows_logarithmically() {
        let cfg = lfu_config(10, 1);
        let now = Now::new(0, 1_700_000_000_000);
        let mut obj = object(now, &cfg);
        hits(&mut obj, 100, now, &cfg, 1);
        let after_100 = frequency(&obj, now, &cfg);
        hits(&mut obj, 900, now, &cfg, 2);
        let after_1k = frequency(&obj, now, &cfg);
        hits(&mut obj, 99_000, now, &cfg, 3);
        let after_100k = frequency(&obj, now, &cfg);
        // Redis's documented table for lfu-log-factor 10:
        // 100 hits -> 10, 1K hits -> 18, 100K hits -> 142.
        assert!((8..=12).contains(&after_100), "after 100 hits: {after_100}");
        assert!((16..=21).contains(&after_1k), "after 1K hits: {after_1k}");
        assert!(
            (130..=155).contains(&after_100k),
            "after 100K hits: {after_100k}"
        );
    }

    #[test]
    fn log_factor_zero_counts_every_hit_and_saturates() {
        let cfg = lfu_config(0, 1);
        let now = Now::new(0, 1_700_000_000_000);
        let mut obj = object(now, &cfg);
        hits(&mut obj, 10, now, &cfg, 3);
        assert_eq!(frequency(&obj, now, &cfg), LFU_INIT_VAL + 10);
        hits(&mut obj, 1_000, now, &cfg, 4);
        assert_eq!(frequency(&obj, now, &cfg), 255);
    }

    #[test]
    fn counter_decays_per_decay_time_minutes() {
        let cfg = lfu_config(0, 2);
        let t0 = Now::new(0, 1_700_000_000_000);
        let mut obj = object(t0, &cfg);
        hits(&mut obj, 20, t0, &cfg, 5);
        assert_eq!(frequency(&obj, t0, &cfg), 25);
        let later = |min: u64| Now::new(0, t0.unix_ms + min * 60_000);
        assert_eq!(frequency(&obj, later(1), &cfg), 25);
        assert_eq!(frequency(&obj, later(4), &cfg), 23);
        assert_eq!(frequency(&obj, later(1_000), &cfg), 0);
        let no_decay = lfu_config(0, 0);
        assert_eq!(frequency(&obj, later(1_000), &no_decay), 25);
    }

    #[test]
    fn lfu_clock_wraps_at_16_bits() {
        let cfg = lfu_config(0, 1);
        // Last update at minute 0xFFFE; now at minute 1 after the wrap.
        let access = (0xFFFE << 8) | 30;
        let now = Now::new(0, (0x1_0000 + 1) * 60_000);
        let obj = Object::new(Value::Str(StrValue::from_bytes(b"v")), access);
        assert_eq!(frequency(&obj, now, &cfg), 28);
    }

    #[test]
    fn idle_time_follows_the_lru_clock() {
        let cfg = Config::default();
        let t0 = Now::new(0, 1_700_000_000_000);
        let mut obj = object(t0, &cfg);
        let t1 = Now::new(0, t0.unix_ms + 42_500);
        assert_eq!(idle_seconds(&obj, t1), 42);
        touch(&mut obj, t1, Policy::Lru, &cfg);
        assert_eq!(idle_seconds(&obj, t1), 0);
    }

    #[test]
    fn hashed_touch_is_deterministic() {
        let cfg = lfu_config(10, 1);
        let now = Now::new(0, 1_700_000_000_000);
        let (mut a, mut b) = (object(now, &cfg), object(now, &cfg));
        for i in 0..50 {
            let t = Now::new(0, now.unix_ms + i);
            touch(&mut a, t, Policy::Lfu, &cfg);
            touch(&mut b, t, Policy::Lfu, &cfg);
        }
        assert_eq!(a.access, b.access);
        assert!(frequency(&a, now, &cfg) > LFU_INIT_VAL);
    }
}
