//! Client output buffer limits (`client-output-buffer-limit`): a client
//! whose pending output passes its class's hard limit, or stays over the
//! soft limit for longer than the soft seconds, is closed, as Redis does
//! with slow pub/sub subscribers.
//!
//! Pending output is what the core produced for the client and the
//! driver has not yet reported written (`Input::ClientWritten`): the
//! encoded replies still in [`Client::out`] plus those handed to the
//! driver ([`Client::obuf_unsent`]).

use crate::client::Client;
use crate::config::parse_memory;
use crate::node::LogLevel;
use crate::server::Server;

/// The limits of one client class; 0 disables a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

impl ClassLimit {
    const fn new(hard: u64, soft: u64, soft_seconds: u64) -> Self {
        ClassLimit {
            hard,
            soft,
            soft_seconds,
        }
    }
}

/// The limits of every class, with Redis's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub normal: ClassLimit,
    /// Online replicas (see [`crate::repl::output_limit`]).
    pub replica: ClassLimit,
    pub pubsub: ClassLimit,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            normal: ClassLimit::new(0, 0, 0),
            replica: ClassLimit::new(256 << 20, 64 << 20, 60),
            pubsub: ClassLimit::new(32 << 20, 8 << 20, 60),
        }
    }
}

const WRONG_ARGS: &str = "Wrong number of arguments in buffer limit configuration.";
const BAD_CLASS: &str = "Invalid client class specified in buffer limit configuration.";
const BAD_VALUE: &str =
    "Error in hard, soft or soft_seconds setting in buffer limit configuration.";

impl Limits {
    /// The CONFIG GET form: `normal 0 0 0 slave ... pubsub ...`.
    pub fn render(&self) -> String {
        [
            ("normal", self.normal),
            ("slave", self.replica),
            ("pubsub", self.pubsub),
        ]
        .iter()
        .map(|(name, l)| format!("{name} {} {} {}", l.hard, l.soft, l.soft_seconds))
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// Applies `<class> <hard> <soft> <soft seconds>` groups, all or none,
    /// as Redis: the text is split on single spaces (so an extra space is
    /// an empty argument), classes are case-insensitive, sizes take memory
    /// units.
    pub fn apply(&mut self, text: &str) -> Result<(), String> {
        let words: Vec<&str> = if text.is_empty() {
            Vec::new()
        } else {
            text.split(' ').collect()
        };
        if !words.len().is_multiple_of(4) {
            return Err(WRONG_ARGS.into());
        }
        let mut updated = *self;
        for group in words.chunks(4) {
            let class = match group[0].to_ascii_lowercase().as_str() {
                "normal" => &mut updated.normal,
                "slave" | "replica" => &mut updated.replica,
                "pubsub" => &mut updated.pubsub,
                _ => return Err(BAD_CLASS.into()),
            };
            let hard = parse_memory(group[1]).ok_or(BAD_VALUE)?;
            let soft = parse_memory(group[2]).ok_or(BAD_VALUE)?;
            let soft_seconds = parse_soft_seconds(group[3]).ok_or(BAD_VALUE)?;
            *class = ClassLimit::new(hard, soft, soft_seconds);
        }
        *self = updated;
        Ok(())
    }

    /// The limits for `client`'s class when it is not a replica (pub/sub
    /// while subscribed).
    pub fn of(&self, client: &Client) -> ClassLimit {
        if client.subs.any() {
            self.pubsub
        } else {
            self.normal
        }
    }
}

/// Redis reads the seconds with `strtoll` into an `int`: optional leading
/// whitespace and sign, digits (none reads as 0), nothing after; the
/// value is then truncated to 32 bits and must not be negative.
fn parse_soft_seconds(text: &str) -> Option<u64> {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if digits.is_empty() && !text.is_empty() {
        return None; // nothing converted: strtoll leaves the end at the start
    }
    let magnitude = digits.bytes().fold(0i64, |n, c| {
        n.saturating_mul(10).saturating_add(i64::from(c - b'0'))
    });
    let value = if negative { -magnitude } else { magnitude };
    // Truncation to a C int, as the assignment in Redis does.
    let as_int = value as i32;
    u64::try_from(as_int).ok()
}

/// Whether `client` must be closed for its pending output, as of
/// `now_ms`. Keeps the time the soft limit was first passed: it resets
/// when the client is back under it, and the soft limit is reached when
/// the client stayed over it for more than the soft seconds (in whole
/// seconds, as Redis counts them).
pub fn over_limit(client: &mut Client, limits: &Limits, now_ms: u64) -> bool {
    over_class_limit(client, limits.of(client), now_ms)
}

/// [`over_limit`] with the limits of a class given (a replica's: the
/// client does not know it is one).
pub fn over_class_limit(client: &mut Client, limit: ClassLimit, now_ms: u64) -> bool {
    let used = client.obuf_pending();
    let hard = limit.hard > 0 && used >= limit.hard;
    if limit.soft == 0 || used < limit.soft {
        client.obuf_soft_since = None;
        return hard;
    }
    let since = *client.obuf_soft_since.get_or_insert(now_ms);
    let soft = now_ms.saturating_sub(since) / 1000 > limit.soft_seconds;
    hard || soft
}

/// Logs Redis's warning for a client closed for its output buffer (any
/// class: normal, pub/sub, replica), with its info line as CLIENT LIST
/// shows it. Called once per client, when it is dropped.
pub fn log_closing(srv: &mut Server, client: &Client) {
    let text = format!(
        "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
        client.info_line(srv, 0)
    );
    crate::persist::log(srv, LogLevel::Warning, &text);
}

#[cfg(test)]
mod log_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_renders_as_redis() {
        assert_eq!(
            Limits::default().render(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
    }

    #[test]
    fn apply_parses_like_redis() {
        let mut l = Limits::default();
        l.apply("Pubsub 1K 2kB 3 replica 1 1 1").unwrap();
        assert_eq!(l.pubsub, ClassLimit::new(1000, 2048, 3));
        assert_eq!(l.replica, ClassLimit::new(1, 1, 1));
        l.apply("").unwrap();
        l.apply("normal 1 2 +3").unwrap();
        assert_eq!(l.normal, ClassLimit::new(1, 2, 3));
        l.apply("normal 1 2 ").unwrap();
        assert_eq!(l.normal, ClassLimit::new(1, 2, 0), "empty seconds read 0");
        l.apply("normal 1 2 4294967296").unwrap();
        assert_eq!(l.normal.soft_seconds, 0, "truncated to 32 bits");
        l.apply("normal 99999999999999999999 mb 5").unwrap();
        assert_eq!(l.normal, ClassLimit::new(u64::MAX, 0, 5));
        let before = l;
        let cases = [
            ("pubsub 1mb 2k", WRONG_ARGS),
            ("normal 1 2 3 ", WRONG_ARGS),
            ("normal 1 2  3", WRONG_ARGS),
            ("foo 1 2 3", BAD_CLASS),
            ("master 1 2 3", BAD_CLASS),
            ("normal 1 2 3 foo 1 2 3", BAD_CLASS),
            ("normal 1x 2 3", BAD_VALUE),
            ("normal -1 2 3", BAD_VALUE),
            ("normal 1.5 2 3", BAD_VALUE),
            ("normal 1 2 -3", BAD_VALUE),
            ("normal 1 2 3x", BAD_VALUE),
            ("normal 1 2 0x3", BAD_VALUE),
            ("normal 1 2 2147483648", BAD_VALUE),
            ("normal 1 2 99999999999999999999", BAD_VALUE),
            ("normal 1 2 +", BAD_VALUE),
        ];
        for (text, error) in cases {
            assert_eq!(l.apply(text), Err(error.to_string()), "{text:?}");
            assert_eq!(l, before, "{text:?} changed nothing");
        }
        l.apply("normal 0 0 0 normal 5 5 5").unwrap();
        assert_eq!(l.normal, ClassLimit::new(5, 5, 5), "the last group wins");
    }
}
