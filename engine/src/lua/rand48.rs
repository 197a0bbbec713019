//! The generator behind `math.random` in scripts: the 48-bit linear
//! congruential generator of POSIX `lrand48` (x' = a·x + c mod 2^48,
//! output = the top 31 bits), started from the state `drand48` has before
//! any seeding. Redis uses the same generator, so a fresh server gives
//! scripts the same sequence Redis does. The state lives as long as the
//! node (SCRIPT FLUSH does not reset it, as in Redis).

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const INCREMENT: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;
/// The state before any `srand48` call.
const INITIAL: u64 = 0x1234_ABCD_330E;
/// The largest output plus one that `math.random` divides by (INT32_MAX).
pub const MAX: u64 = 0x7FFF_FFFF;

#[derive(Debug, Clone)]
pub struct Rand48 {
    state: u64,
}

impl Default for Rand48 {
    fn default() -> Self {
        Rand48 { state: INITIAL }
    }
}

impl Rand48 {
    /// `srand48(seed)`: the seed's 32 bits above the fixed low word 0x330E.
    pub fn seed(&mut self, seed: i32) {
        self.state = ((u64::from(seed as u32)) << 16) | 0x330E;
    }

    /// `lrand48()`: the next 31-bit output.
    pub fn next_output(&mut self) -> u64 {
        self.state = self.state.wrapping_mul(MULTIPLIER).wrapping_add(INCREMENT) & MASK;
        self.state >> 17
    }

    /// A float in [0, 1), as Lua's `math.random()` computes it from the
    /// generator.
    pub fn next_unit(&mut self) -> f64 {
        (self.next_output() % MAX) as f64 / MAX as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dice(r: &mut Rand48, n: usize) -> Vec<i64> {
        (0..n)
            .map(|_| (r.next_unit() * 100.0).floor() as i64 + 1)
            .collect()
    }

    #[test]
    fn a_fresh_generator_gives_redis_first_numbers() {
        // `EVAL "return {math.random(100), ...}" 0` on a fresh redis-server 7.0.
        assert_eq!(
            dice(&mut Rand48::default(), 6),
            vec![40, 85, 36, 45, 32, 89]
        );
    }

    #[test]
    fn seeding_restarts_the_sequence() {
        let mut r = Rand48::default();
        r.seed(1);
        // `math.randomseed(1) return {math.random(100), math.random(100)}`.
        assert_eq!(dice(&mut r, 2), vec![5, 46]);
    }
}
