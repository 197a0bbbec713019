//! Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX, XX, GT,
//! LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME and PERSIST.
//!
//! TTLs are stored as absolute Unix milliseconds. Setting one at or before
//! the current time deletes the key (and the command still replies 1), as
//! Redis does on a primary.

use super::flags::*;
use super::keys::{delete_key, deletion, peek};
use super::{CommandSpec, Ctx, KeySpec};
use crate::notify::class;
use crate::resp::Reply;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

#[rustfmt::skip]
mod docs;
#[cfg(test)]
mod effects_tests;

const fn key_spec(flags: &'static [&'static str]) -> KeySpec {
    KeySpec::range(flags, 1, 0, 1)
}

const UPDATE: &[KeySpec] = &[key_spec(&["RW", "update"])];
const READ: &[KeySpec] = &[key_spec(&["RO", "access"])];

const fn generic(
    name: &'static str,
    arity: i32,
    flags: u32,
    since: &'static str,
    summary: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    let (acl, key_specs): (&'static [&'static str], _) = if flags & WRITE != 0 {
        (&["keyspace", "write", "fast"], UPDATE)
    } else {
        (&["keyspace", "read", "fast"], READ)
    };
    CommandSpec {
        first_key: 1,
        last_key: 1,
        step: 1,
        acl,
        key_specs,
        since,
        summary,
        ..CommandSpec::base(name, arity, flags, "generic", Some(handler))
    }
}

const NONDETERMINISTIC: &[&str] = &["nondeterministic_output"];

pub const COMMANDS: &[CommandSpec] = &[
    generic(
        "expire",
        -3,
        WRITE | FAST,
        "1.0.0",
        "Set a key's time to live in seconds",
        expire,
    )
    .with_docs(docs::EXPIRE),
    generic(
        "pexpire",
        -3,
        WRITE | FAST,
        "2.6.0",
        "Set a key's time to live in milliseconds",
        pexpire,
    )
    .with_docs(docs::PEXPIRE),
    generic(
        "expireat",
        -3,
        WRITE | FAST,
        "1.2.0",
        "Set the expiration for a key as a UNIX timestamp",
        expireat,
    )
    .with_docs(docs::EXPIREAT),
    generic(
        "pexpireat",
        -3,
        WRITE | FAST,
        "2.6.0",
        "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        pexpireat,
    )
    .with_docs(docs::PEXPIREAT),
    CommandSpec {
        tips: NONDETERMINISTIC,
        ..generic(
            "ttl",
            2,
            READONLY | FAST,
            "1.0.0",
            "Get the time to live for a key in seconds",
            ttl,
        )
    }
    .with_docs(docs::TTL),
    CommandSpec {
        tips: NONDETERMINISTIC,
        ..generic(
            "pttl",
            2,
            READONLY | FAST,
            "2.6.0",
            "Get the time to live for a key in milliseconds",
            pttl,
        )
    }
    .with_docs(docs::PTTL),
    generic(
        "expiretime",
        2,
        READONLY | FAST,
        "7.0.0",
        "Get the expiration Unix timestamp for a key",
        expiretime,
    )
    .with_docs(docs::EXPIRETIME),
    generic(
        "pexpiretime",
        2,
        READONLY | FAST,
        "7.0.0",
        "Get the expiration Unix timestamp for a key in milliseconds",
        pexpiretime,
    )
    .with_docs(docs::PEXPIRETIME),
    generic(
        "persist",
        2,
        WRITE | FAST,
        "2.2.0",
        "Remove the expiration from a key",
        persist,
    )
    .with_docs(docs::PERSIST),
];

// ---- EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT ----

/// How the time argument is read.
#[derive(Clone, Copy)]
struct TimeArg {
    /// Milliseconds per unit: 1000 for seconds, 1 for milliseconds.
    unit_ms: i64,
    /// Relative to now (EXPIRE, PEXPIRE) or absolute Unix time (…AT).
    relative: bool,
}

fn expire(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let time = TimeArg {
        unit_ms: 1000,
        relative: true,
    };
    set_expiry(ctx, args, "expire", time)
}

fn pexpire(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let time = TimeArg {
        unit_ms: 1,
        relative: true,
    };
    set_expiry(ctx, args, "pexpire", time)
}

fn expireat(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let time = TimeArg {
        unit_ms: 1000,
        relative: false,
    };
    set_expiry(ctx, args, "expireat", time)
}

fn pexpireat(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let time = TimeArg {
        unit_ms: 1,
        relative: false,
    };
    set_expiry(ctx, args, "pexpireat", time)
}

/// The NX / XX / GT / LT conditions.
#[derive(Default)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl Conditions {
    fn parse(args: &[Bytes]) -> Result<Conditions, Reply> {
        let mut c = Conditions::default();
        for arg in args {
            if eq_ic(arg, "nx") {
                c.nx = true;
            } else if eq_ic(arg, "xx") {
                c.xx = true;
            } else if eq_ic(arg, "gt") {
                c.gt = true;
            } else if eq_ic(arg, "lt") {
                c.lt = true;
            } else {
                return Err(unsupported_option(arg));
            }
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err(Reply::err(
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if c.gt && c.lt {
            return Err(Reply::err(
                "ERR GT and LT options at the same time are not compatible",
            ));
        }
        Ok(c)
    }

    /// Whether a key whose TTL is `current` (None: no TTL, which counts as
    /// infinite for GT and LT) may take the new expiry `at`.
    fn allow(&self, current: Option<i64>, at: i64) -> bool {
        match current {
            None => !self.xx && !self.gt,
            Some(current) => {
                let refused = self.nx || (self.gt && at <= current) || (self.lt && at >= current);
                !refused
            }
        }
    }
}

/// Redis formats this error with `%s`, so the option ends at a NUL byte;
/// newlines are replaced so the error stays on one line.
fn unsupported_option(arg: &[u8]) -> Reply {
    let shown = arg.split(|&b| b == 0).next().unwrap_or_default();
    let shown = String::from_utf8_lossy(shown).replace(['\r', '\n'], " ");
    Reply::error(format!("ERR Unsupported option {shown}"))
}

/// The absolute expiry in Unix ms, or None if it does not fit in 64 bits.
fn absolute_ms(when: i64, time: TimeArg, now_ms: u64) -> Option<i64> {
    let base = if time.relative {
        i64::try_from(now_ms).ok()?
    } else {
        0
    };
    when.checked_mul(time.unit_ms)?.checked_add(base)
}

fn set_expiry(ctx: &mut Ctx, args: &[Bytes], name: &str, time: TimeArg) -> Reply {
    let key = &args[1];
    let conditions = match Conditions::parse(&args[3..]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let Some(when) = parse_i64(&args[2]) else {
        return Reply::not_integer();
    };
    let now = ctx.now().unix_ms;
    let Some(at) = absolute_ms(when, time, now) else {
        return Reply::error(format!("ERR invalid expire time in '{name}' command"));
    };
    if ctx.lookup_write(key).is_none() {
        return Reply::Int(0);
    }
    let current = ctx
        .db()
        .expire_at(key)
        .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX));
    if !conditions.allow(current, at) {
        return Reply::Int(0);
    }
    match u64::try_from(at) {
        Ok(at) if at > now => {
            ctx.db().set_expire(key, at);
            ctx.notify(class::GENERIC, "expire", key);
            if time.relative || time.unit_ms != 1 {
                propagate_as_pexpireat(ctx, args, at);
            }
        }
        _ => {
            // Already in the past: the key goes now, and propagates as gone.
            let lazy = ctx.srv.config.lazyfree_lazy_expire;
            delete_key(ctx, key, lazy);
            ctx.notify(class::GENERIC, "del", key);
            ctx.propagate_as(deletion(key, lazy));
        }
    }
    ctx.key_modified(key);
    ctx.dirty(1);
    Reply::Int(1)
}

/// EXPIRE, PEXPIRE and EXPIREAT propagate as `PEXPIREAT key <ms> [options]`:
/// an absolute time in ms means the same thing whenever it is replayed.
fn propagate_as_pexpireat(ctx: &mut Ctx, args: &[Bytes], at_ms: u64) {
    let mut argv = vec![
        Bytes::from_static(b"PEXPIREAT"),
        args[1].clone(),
        Bytes::from(at_ms.to_string()),
    ];
    argv.extend_from_slice(&args[3..]);
    ctx.propagate_as(argv);
}

// ---- TTL, PTTL, EXPIRETIME, PEXPIRETIME ----

fn ttl(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    report_expiry(ctx, &args[1], false, false)
}

fn pttl(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    report_expiry(ctx, &args[1], true, false)
}

fn expiretime(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    report_expiry(ctx, &args[1], false, true)
}

fn pexpiretime(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    report_expiry(ctx, &args[1], true, true)
}

/// -2 for a missing key, -1 for a key without TTL, else the remaining time
/// (or, with `absolute`, the expiry time), in ms or rounded to seconds.
fn report_expiry(ctx: &mut Ctx, key: &[u8], in_ms: bool, absolute: bool) -> Reply {
    if peek(ctx, key).is_none() {
        return Reply::Int(-2);
    }
    let now = ctx.now().unix_ms;
    let Some(at) = ctx.db().expire_at(key) else {
        return Reply::Int(-1);
    };
    let ms = if absolute { at } else { at.saturating_sub(now) };
    let value = if in_ms {
        ms
    } else {
        ms.saturating_add(500) / 1000
    };
    Reply::Int(i64::try_from(value).unwrap_or(i64::MAX))
}

// ---- PERSIST ----

fn persist(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let key = &args[1];
    if ctx.lookup_write(key).is_none() {
        return Reply::Int(0);
    }
    if ctx.db().persist(key) {
        ctx.dirty(1);
        ctx.key_modified(key);
        ctx.notify(class::GENERIC, "persist", key);
        Reply::Int(1)
    } else {
        Reply::Int(0)
    }
}

#[cfg(test)]
mod tests {
    use crate::client::ClientId;
    use crate::cmd::keys::tests::{bulk, err, harness, int, ok, quiet_harness, set, state};
    use crate::resp::frame::Frame;
    use crate::testing::Harness;

    fn now_ms(h: &Harness) -> i64 {
        h.now.unix_ms as i64
    }

    fn call(h: &mut Harness, c: ClientId, args: &[&str]) -> Frame {
        h.call(c, args)
    }

    #[test]
    fn expire_counts_down_in_virtual_time() {
        let (mut h, c) = harness();
        set(&mut h, c, "k", "v");
        assert_eq!(call(&mut h, c, &["EXPIRE", "k", "10"]), int(1));
        assert_eq!(call(&mut h, c, &["TTL", "k"]), int(10));
        assert_eq!(call(&mut h, c, &["PTTL", "k"]), int(10_000));
        h.advance(9_999);
        assert_eq!(call(&mut h, c, &["PTTL", "k"]), int(1));
        assert_eq!(
            call(&mut h, c, &["TTL", "k"]),
            int(0),
            "rounded to the nearest second"
        );
        h.advance(1);
        assert_eq!(call(&mut h, c, &["TTL", "k"]), int(-2));
        assert_eq!(call(&mut h, c, &["PTTL", "k"]), int(-2));
        assert_eq!(call(&mut h, c, &["EXISTS", "k"]), int(0));
    }

    #[test]
    fn ttl_rounds_half_up() {
        let (mut h, c) = harness();
        set(&mut h, c, "k", "v");
        call(&mut h, c, &["PEXPIRE", "k", "1500"]);
        assert_eq!(call(&mut h, c, &["TTL", "k"]), int(2));
        call(&mut h, c, &["PEXPIRE", "k", "1499"]);
        assert_eq!(call(&mut h, c, &["TTL", "k"]), int(1));
        set(&mut h, c, "plain", "v");
        assert_eq!(call(&mut h, c, &["TTL", "plain"]), int(-1));
        assert_eq!(call(&mut h, c, &["PTTL", "plain"]), int(-1));
    }

    #[test]
    fn absolute_times_and_expiretime() {
        let (mut h, c) = harness();
        set(&mut h, c, "k", "v");
        let at = now_ms(&h) + 12_345;
        assert_eq!(
            call(&mut h, c, &["PEXPIREAT", "k", &at.to_string()]),
            int(1)
        );
        assert_eq!(call(&mut h, c, &["PEXPIRETIME", "k"]), int(at));
        assert_eq!(
            call(&mut h, c, &["EXPIRETIME", "k"]),
            int((at + 500) / 1000)
        );
        assert_eq!(call(&mut h, c, &["PTTL", "k"]), int(12_345));
        let secs = now_ms(&h) / 1000 + 100;
        assert_eq!(
            call(&mut h, c, &["EXPIREAT", "k", &secs.to_string()]),
            int(1)
        );
        assert_eq!(call(&mut h, c, &["EXPIRETIME", "k"]), int(secs));
        assert_eq!(call(&mut h, c, &["PEXPIRETIME", "k"]), int(secs * 1000));
        assert_eq!(call(&mut h, c, &["EXPIRETIME", "missing"]), int(-2));
        assert_eq!(call(&mut h, c, &["PEXPIRETIME", "missing"]), int(-2));
        assert_eq!(call(&mut h, c, &["PERSIST", "k"]), int(1));
        assert_eq!(call(&mut h, c, &["EXPIRETIME", "k"]), int(-1));
        assert_eq!(call(&mut h, c, &["PEXPIRETIME", "k"]), int(-1));
    }

    #[test]
    fn a_time_in_the_past_deletes_the_key() {
        let (mut h, c) = harness();
        for (cmd, when) in [
            ("EXPIRE", "-1".to_string()),
            ("PEXPIRE", "0".to_string()),
            ("EXPIREAT", "1".to_string()),
            ("PEXPIREAT", now_ms(&h).to_string()),
            ("PEXPIREAT", i64::MIN.to_string()),
            ("EXPIRE", (i64::MIN / 1000).to_string()),
        ] {
            set(&mut h, c, "k", "v");
            let [_, dirty, _, _] = state(&mut h, c);
            assert_eq!(call(&mut h, c, &[cmd, "k", &when]), int(1), "{cmd} {when}");
            assert_eq!(call(&mut h, c, &["EXISTS", "k"]), int(0), "{cmd} {when}");
            let [len, dirty_after, expired, _] = state(&mut h, c);
            assert_eq!((len, dirty_after - dirty, expired), (0, 1, 0));
        }
    }

    #[test]
    fn missing_keys_reply_zero() {
        let (mut h, c) = harness();
        for cmd in ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"] {
            assert_eq!(call(&mut h, c, &[cmd, "missing", "100"]), int(0));
        }
        assert_eq!(call(&mut h, c, &["PERSIST", "missing"]), int(0));
        assert_eq!(state(&mut h, c)[1], 0, "nothing changed");
    }

    #[test]
    fn nx_xx_gt_lt_follow_redis_7() {
        let (mut h, c) = harness();
        set(&mut h, c, "k", "v");
        // No TTL: XX and GT refuse (no TTL counts as infinite), LT accepts.
        assert_eq!(call(&mut h, c, &["EXPIRE", "k", "10", "XX"]), int(0));
        assert_eq!(call(&mut h, c, &["EXPIRE", "k", "10", "GT"]), int(0));
        assert_eq!(call(&mut h, c, &["TTL", "k"]), int(-1));
        assert_eq!(call(&mut h, c, &["EXPIRE", "k", "10", "lt"]), int(1));
        assert_eq!(call(&mut h, c, &["TTL", "k"]), int(10));
        assert_eq!(call(&mut h, c, &["EXPIRE", "k", "20", "LT"]), int(0));
        assert_eq!(
            call(&mut h, c, &["EXPIRE", "k", "10", "GT"]),
            int(0),
            "equal is not greater"
        );
        assert_eq!(call(&mut h, c, &["EXPIRE", "k", "20", "GT"]), int(1));
        assert_eq!(call(&mut h, c, &["TTL", "k"]), int(20));
        assert_eq!(call(&mut h, c, &["EXPIRE", "k", "30", "NX"]), int(0));
        assert_eq!(call(&mut h, c, &["EXPIRE", "k", "30", "XX"]), int(1));
        assert_eq!(call(&mut h, c, &["EXPIRE", "k", "40", "XX", "GT"]), int(1));
        assert_eq!(call(&mut h, c, &["EXPIRE", "k", "5", "XX", "GT"]), int(0));
        assert_eq!(call(&mut h, c, &["TTL", "k"]), int(40));
        assert_eq!(call(&mut h, c, &["PERSIST", "k"]), int(1));
        assert_eq!(call(&mut h, c, &["EXPIRE", "k", "30", "nx", "nx"]), int(1));
        // LT into the past deletes.
        assert_eq!(call(&mut h, c, &["PEXPIRE", "k", "-5", "LT"]), int(1));
        assert_eq!(call(&mut h, c, &["EXISTS", "k"]), int(0));
    }

    #[test]
    fn option_and_range_errors() {
        let (mut h, c) = harness();
        set(&mut h, c, "k", "v");
        let nx = err("ERR NX and XX, GT or LT options at the same time are not compatible");
        let gtlt = err("ERR GT and LT options at the same time are not compatible");
        assert_eq!(call(&mut h, c, &["EXPIRE", "k", "10", "NX", "XX"]), nx);
        assert_eq!(call(&mut h, c, &["EXPIRE", "k", "10", "gt", "nx"]), nx);
        assert_eq!(
            call(&mut h, c, &["EXPIRE", "k", "10", "NX", "GT", "LT"]),
            nx
        );
        assert_eq!(call(&mut h, c, &["PEXPIRE", "k", "10", "GT", "LT"]), gtlt);
        assert_eq!(
            call(&mut h, c, &["EXPIRE", "k", "10", "foo", "bar"]),
            err("ERR Unsupported option foo")
        );
        assert_eq!(
            call(&mut h, c, &["EXPIRE", "k", "abc", "foo"]),
            err("ERR Unsupported option foo"),
            "options are checked before the time"
        );
        assert_eq!(
            call(&mut h, c, &["EXPIRE", "k", "10", "a\r\nb"]),
            err("ERR Unsupported option a  b")
        );
        assert_eq!(
            call(&mut h, c, &["EXPIRE", "k", "1.5"]),
            err("ERR value is not an integer or out of range")
        );
        let max = i64::MAX.to_string();
        for cmd in ["expire", "pexpire", "expireat"] {
            assert_eq!(
                call(&mut h, c, &[&cmd.to_uppercase(), "missing", &max]),
                err(&format!("ERR invalid expire time in '{cmd}' command")),
                "checked before the key"
            );
        }
        assert_eq!(
            call(&mut h, c, &["EXPIRE", "k", &i64::MIN.to_string()]),
            err("ERR invalid expire time in 'expire' command")
        );
        assert_eq!(
            call(&mut h, c, &["EXPIRE", "k", &(i64::MAX / 1000).to_string()]),
            err("ERR invalid expire time in 'expire' command"),
            "fits in ms but not once now is added"
        );
        // The largest absolute time is accepted.
        assert_eq!(call(&mut h, c, &["PEXPIREAT", "k", &max]), int(1));
        assert_eq!(call(&mut h, c, &["PEXPIRETIME", "k"]), int(i64::MAX));
        assert_eq!(
            call(&mut h, c, &["EXPIRETIME", "k"]),
            int(i64::MAX / 1000 + 1)
        );
        assert_eq!(call(&mut h, c, &["PTTL", "k"]), int(i64::MAX - now_ms(&h)));
        assert_eq!(
            call(&mut h, c, &["EXPIRE", "k"]),
            err("ERR wrong number of arguments for 'expire' command")
        );
        assert_eq!(
            call(&mut h, c, &["TTL"]),
            err("ERR wrong number of arguments for 'ttl' command")
        );
    }

    #[test]
    fn persist_removes_the_ttl() {
        let (mut h, c) = harness();
        set(&mut h, c, "k", "v");
        assert_eq!(call(&mut h, c, &["PERSIST", "k"]), int(0));
        call(&mut h, c, &["EXPIRE", "k", "100"]);
        let dirty = state(&mut h, c)[1];
        assert_eq!(call(&mut h, c, &["PERSIST", "k"]), int(1));
        assert_eq!(state(&mut h, c)[1], dirty + 1);
        assert_eq!(call(&mut h, c, &["TTL", "k"]), int(-1));
        h.advance(200_000);
        assert_eq!(call(&mut h, c, &["GET", "k"]), bulk("v"));
    }

    #[test]
    fn active_expiry_reclaims_keys_nobody_reads() {
        let (mut h, c) = harness();
        for i in 0..1_000 {
            let k = format!("k{i}");
            set(&mut h, c, &k, "v");
            if i % 2 == 0 {
                call(&mut h, c, &["PEXPIRE", &k, "1000"]);
            }
        }
        assert_eq!(state(&mut h, c)[0], 1_000);
        h.advance(999);
        assert_eq!(state(&mut h, c)[0], 1_000, "nothing is due yet");
        // A few cron cycles (hz 10: one every 100 ms) without touching the keys.
        h.advance_by_ticks(10);
        let [len, _, expired, _] = state(&mut h, c);
        assert_eq!((len, expired), (500, 500));
    }

    #[test]
    fn ttl_survives_writes_to_other_keys_and_resets_on_set() {
        let (mut h, c) = quiet_harness();
        set(&mut h, c, "k", "v");
        call(&mut h, c, &["EXPIRE", "k", "100"]);
        set(&mut h, c, "other", "v");
        assert_eq!(call(&mut h, c, &["TTL", "k"]), int(100));
        set(&mut h, c, "k", "new");
        assert_eq!(call(&mut h, c, &["TTL", "k"]), int(-1));
        assert_eq!(call(&mut h, c, &["EXPIRE", "k", "100"]), int(1));
    }

    mod model {
        use super::*;
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        const KEYS: &[&str] = &["a", "b", "c"];

        #[derive(Debug, Clone)]
        enum Op {
            Set(usize, u8),
            Del(Vec<usize>),
            Exists(Vec<usize>),
            /// Command index into EXPIRES, key, amount (relative to now for
            /// the *AT forms), options.
            Expire(usize, usize, i64, Vec<&'static str>),
            Ttl(usize),
            Pttl(usize),
            Persist(usize),
            Rename(usize, usize, bool),
            Advance(u64),
        }

        const EXPIRES: &[&str] = &["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"];

        fn op() -> impl Strategy<Value = Op> {
            let key = 0..KEYS.len();
            let keys = proptest::collection::vec(0..KEYS.len(), 1..4);
            let opts = proptest::collection::vec(
                proptest::sample::select(vec!["NX", "XX", "GT", "LT", "gt"]),
                0..3,
            );
            prop_oneof![
                (key.clone(), any::<u8>()).prop_map(|(k, v)| Op::Set(k, v)),
                keys.clone().prop_map(Op::Del),
                keys.prop_map(Op::Exists),
                (0..4usize, key.clone(), -3i64..8, opts)
                    .prop_map(|(cmd, k, n, o)| Op::Expire(cmd, k, n, o)),
                key.clone().prop_map(Op::Ttl),
                key.clone().prop_map(Op::Pttl),
                key.clone().prop_map(Op::Persist),
                (key.clone(), key, any::<bool>()).prop_map(|(a, b, nx)| Op::Rename(a, b, nx)),
                (0u64..4_000).prop_map(Op::Advance),
            ]
        }

        /// The reference: key -> (value, absolute expiry in ms).
        struct Model {
            now: i64,
            keys: BTreeMap<usize, (String, Option<i64>)>,
        }

        impl Model {
            fn live(&mut self, k: usize) -> Option<&mut (String, Option<i64>)> {
                let now = self.now;
                if self
                    .keys
                    .get(&k)
                    .is_some_and(|(_, at)| at.is_some_and(|at| at <= now))
                {
                    self.keys.remove(&k);
                }
                self.keys.get_mut(&k)
            }

            fn expire(&mut self, cmd: usize, k: usize, n: i64, opts: &[&str]) -> (String, Frame) {
                let has = |o: &str| opts.iter().any(|x| x.eq_ignore_ascii_case(o));
                let (nx, xx, gt, lt) = (has("NX"), has("XX"), has("GT"), has("LT"));
                // The argument sent: relative, or absolute from the model's now.
                let (unit, absolute) = [(1000, false), (1, false), (1000, true), (1, true)][cmd];
                // Milliseconds are scaled to span about as long as seconds.
                let amount = if unit == 1 { n * 700 } else { n };
                let arg = if absolute {
                    self.now / unit + amount
                } else {
                    amount
                };
                let at = if absolute {
                    arg * unit
                } else {
                    self.now + arg * unit
                };
                let reply = if nx && (xx || gt || lt) {
                    err("ERR NX and XX, GT or LT options at the same time are not compatible")
                } else if gt && lt {
                    err("ERR GT and LT options at the same time are not compatible")
                } else {
                    let now = self.now;
                    match self.live(k) {
                        None => int(0),
                        Some((_, current)) => {
                            let allowed = match *current {
                                None => !xx && !gt,
                                Some(cur) => !(nx || (gt && at <= cur) || (lt && at >= cur)),
                            };
                            if !allowed {
                                int(0)
                            } else if at <= now {
                                self.keys.remove(&k);
                                int(1)
                            } else {
                                *current = Some(at);
                                int(1)
                            }
                        }
                    }
                };
                (arg.to_string(), reply)
            }

            fn ttl(&mut self, k: usize, ms: bool) -> Frame {
                let now = self.now;
                match self.live(k) {
                    None => int(-2),
                    Some((_, None)) => int(-1),
                    Some((_, Some(at))) => {
                        let left = (*at - now).max(0);
                        int(if ms { left } else { (left + 500) / 1000 })
                    }
                }
            }

            fn rename(&mut self, a: usize, b: usize, nx: bool) -> Frame {
                if self.live(a).is_none() {
                    return err("ERR no such key");
                }
                if a == b {
                    return if nx { int(0) } else { ok() };
                }
                if nx && self.live(b).is_some() {
                    return int(0);
                }
                let entry = self.keys.remove(&a).expect("live");
                self.keys.insert(b, entry);
                if nx {
                    int(1)
                } else {
                    ok()
                }
            }
        }

        fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
            let (mut h, c) = harness();
            let mut m = Model {
                now: now_ms(&h),
                keys: BTreeMap::new(),
            };
            for op in ops {
                match op {
                    Op::Set(k, v) => {
                        set(&mut h, c, KEYS[k], &v.to_string());
                        m.keys.insert(k, (v.to_string(), None));
                    }
                    Op::Del(ks) => {
                        let mut args = vec!["DEL"];
                        args.extend(ks.iter().map(|&k| KEYS[k]));
                        let mut n = 0;
                        for k in ks {
                            if m.live(k).is_some() {
                                m.keys.remove(&k);
                                n += 1;
                            }
                        }
                        prop_assert_eq!(h.call(c, &args), int(n));
                    }
                    Op::Exists(ks) => {
                        let mut args = vec!["EXISTS"];
                        args.extend(ks.iter().map(|&k| KEYS[k]));
                        let n = ks.iter().filter(|&&k| m.live(k).is_some()).count();
                        prop_assert_eq!(h.call(c, &args), int(n as i64));
                    }
                    Op::Expire(cmd, k, n, opts) => {
                        let (arg, want) = m.expire(cmd, k, n, &opts);
                        let mut args = vec![EXPIRES[cmd], KEYS[k], &arg];
                        args.extend(opts.iter().copied());
                        prop_assert_eq!(h.call(c, &args), want, "{:?}", args);
                    }
                    Op::Ttl(k) => prop_assert_eq!(h.call(c, &["TTL", KEYS[k]]), m.ttl(k, false)),
                    Op::Pttl(k) => prop_assert_eq!(h.call(c, &["PTTL", KEYS[k]]), m.ttl(k, true)),
                    Op::Persist(k) => {
                        let want = match m.live(k) {
                            Some((_, at)) if at.is_some() => {
                                *at = None;
                                int(1)
                            }
                            _ => int(0),
                        };
                        prop_assert_eq!(h.call(c, &["PERSIST", KEYS[k]]), want);
                    }
                    Op::Rename(a, b, nx) => {
                        let cmd = if nx { "RENAMENX" } else { "RENAME" };
                        let want = m.rename(a, b, nx);
                        prop_assert_eq!(h.call(c, &[cmd, KEYS[a], KEYS[b]]), want);
                    }
                    Op::Advance(ms) => {
                        h.advance(ms);
                        m.now += ms as i64;
                    }
                }
            }
            // Every key's value and TTL agree at the end.
            for (k, name) in KEYS.iter().enumerate() {
                let want = m.live(k).map(|(v, _)| v.clone());
                let got = h.call(c, &["GET", name]);
                prop_assert_eq!(got, want.map_or(Frame::Null, |v| bulk(&v)));
                prop_assert_eq!(h.call(c, &["PTTL", name]), m.ttl(k, true));
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]
            #[test]
            fn commands_agree_with_a_model(ops in proptest::collection::vec(op(), 1..60)) {
                run(ops)?;
            }
        }
    }
}
