//! DUMP and RESTORE: a value serialized as Redis 7.0 does (RDB version 10
//! encoding, version and CRC64 footer, see [`crate::rdb::dump`]), so that
//! payloads move between Keel and Redis both ways.

use super::docs::*;
use super::flags::*;
use super::keys::delete_key;
use super::{CommandSpec, Ctx, KeySpec};
use crate::db::Object;
use crate::rdb::dump::{dump_payload, load_payload, PayloadError};
use crate::rdb::loader::restored_access;
use crate::rdb::writer::ValueOptions;
use crate::rdb::Encodings;
use crate::resp::Reply;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

/// The largest LFU counter RESTORE's FREQ accepts.
const MAX_FREQ: i64 = 255;

const DUMP_DOCS: Docs = Docs::args(&[key("key", 0)]);

const RESTORE_DOCS: Docs = Docs::args(&[
    key("key", 0),
    integer("ttl"),
    string("serialized-value"),
    pure_token("replace", "REPLACE").since("3.0.0").optional(),
    pure_token("absttl", "ABSTTL").since("5.0.0").optional(),
    integer("seconds")
        .token("IDLETIME")
        .since("5.0.0")
        .optional(),
    integer("frequency").token("FREQ").since("5.0.0").optional(),
])
.history(&[
    ("3.0.0", "Added the `REPLACE` modifier."),
    ("5.0.0", "Added the `ABSTTL` modifier."),
    ("5.0.0", "Added the `IDLETIME` and `FREQ` options."),
]);

const fn one_key(
    name: &'static str,
    arity: i32,
    flags: u32,
    acl: &'static [&'static str],
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        first_key: 1,
        last_key: 1,
        step: 1,
        acl,
        since: "2.6.0",
        ..CommandSpec::base(name, arity, flags, "generic", Some(handler))
    }
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        tips: &["nondeterministic_output"],
        key_specs: &[KeySpec::range(&["RO", "access"], 1, 0, 1)],
        summary: "Return a serialized version of the value stored at the specified key.",
        complexity: "O(1) to access the key and additional O(N*M) to serialize it, where N is \
            the number of Redis objects composing the value and M their average size. For small \
            string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
        ..one_key("dump", 2, READONLY, &["keyspace", "read", "slow"], dump)
    }
    .with_docs(DUMP_DOCS),
    CommandSpec {
        key_specs: &[KeySpec::range(&["OW", "update"], 1, 0, 1)],
        summary: "Create a key using the provided serialized value, previously obtained using DUMP.",
        complexity: "O(1) to create the new key and additional O(N*M) to reconstruct the \
            serialized value, where N is the number of Redis objects composing the value and M \
            their average size. For small string values the time complexity is thus O(1)+O(1*M) \
            where M is small, so simply O(1). However for sorted set values the complexity is \
            O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
        ..one_key(
            "restore",
            -4,
            WRITE | DENYOOM,
            &["keyspace", "write", "slow", "dangerous"],
            restore,
        )
    }
    .with_docs(RESTORE_DOCS),
];

fn dump(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let opts = ValueOptions::from_config(&ctx.srv.config);
    match ctx.lookup_read(&args[1]) {
        Some(obj) => Reply::Bulk(Bytes::from(dump_payload(&obj.value, &opts))),
        None => Reply::Null,
    }
}

/// RESTORE's options after the payload.
#[derive(Default)]
struct RestoreOptions {
    replace: bool,
    absttl: bool,
    idle_secs: Option<u64>,
    freq: Option<u8>,
}

/// Parses the options as Redis does: IDLETIME and FREQ exclude each other
/// (either after the other is a syntax error), each may repeat.
fn parse_options(args: &[Bytes]) -> Result<RestoreOptions, Reply> {
    let mut opts = RestoreOptions::default();
    let mut i = 0;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if eq_ic(&args[i], "replace") {
            opts.replace = true;
        } else if eq_ic(&args[i], "absttl") {
            opts.absttl = true;
        } else if eq_ic(&args[i], "idletime") && has_value && opts.freq.is_none() {
            let idle = parse_i64(&args[i + 1]).ok_or_else(Reply::not_integer)?;
            let idle = u64::try_from(idle)
                .map_err(|_| Reply::err("ERR Invalid IDLETIME value, must be >= 0"))?;
            opts.idle_secs = Some(idle);
            i += 1;
        } else if eq_ic(&args[i], "freq") && has_value && opts.idle_secs.is_none() {
            let freq = parse_i64(&args[i + 1]).ok_or_else(Reply::not_integer)?;
            if !(0..=MAX_FREQ).contains(&freq) {
                return Err(Reply::err(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            opts.freq = Some(freq as u8);
            i += 1;
        } else {
            return Err(Reply::syntax_error());
        }
        i += 1;
    }
    Ok(opts)
}

fn restore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let opts = match parse_options(&args[4..]) {
        Ok(opts) => opts,
        Err(e) => return e,
    };
    let key = &args[1];
    let now = ctx.now();
    if !opts.replace && ctx.db().contains(key, now.unix_ms) {
        return Reply::err("BUSYKEY Target key name already exists.");
    }
    let Some(ttl) = parse_i64(&args[2]) else {
        return Reply::not_integer();
    };
    if ttl < 0 {
        return Reply::err("ERR Invalid TTL value, must be >= 0");
    }
    let value = match load_payload(&args[3], &Encodings::from_config(&ctx.srv.config)) {
        Ok(value) => value,
        Err(PayloadError::VersionOrChecksum) => {
            return Reply::err("ERR DUMP payload version or checksum are wrong")
        }
        Err(PayloadError::BadFormat(_)) => return Reply::err("ERR Bad data format"),
    };
    let deleted = opts.replace && delete_key(ctx, key, ctx.srv.config.lazyfree_lazy_server_del);
    // Redis adds the relative TTL to the clock in two's complement: a sum
    // that overflows comes out in the past and the key is not created.
    let expire_at = match ttl {
        0 => None,
        ttl if opts.absttl => Some(ttl),
        ttl => Some(ttl.wrapping_add(now.unix_ms as i64)),
    };
    if expire_at.is_some_and(|at| at <= now.unix_ms as i64) {
        if deleted {
            ctx.dirty(1);
        }
        return Reply::OK;
    }
    let access = restored_access(now, &ctx.srv.config, opts.idle_secs, opts.freq)
        .unwrap_or_else(|| ctx.new_access());
    let expire_at = expire_at.map(|at| at as u64);
    ctx.db()
        .put(key.clone(), Object::new(value, access), expire_at);
    ctx.dirty(1);
    Reply::OK
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::resp::frame::Frame;
    use crate::testing::{request, Harness};
    use crate::ClientId;
    use bytes::Bytes;

    fn ok() -> Frame {
        Frame::Simple("OK".into())
    }

    fn err(text: &str) -> Frame {
        Frame::Error(text.into())
    }

    /// Sends a command with binary arguments.
    fn call(h: &mut Harness, c: ClientId, args: &[&[u8]]) -> Frame {
        h.send_raw(c, &request(args));
        h.read(c).expect("a reply")
    }

    fn dump(h: &mut Harness, c: ClientId, key: &str) -> Bytes {
        match h.call(c, &["DUMP", key]) {
            Frame::Bulk(b) => b,
            other => panic!("DUMP {key}: {other:?}"),
        }
    }

    /// Redis 7.0.15's DUMP of the string "hello".
    const REDIS_HELLO: &[u8] = b"\x00\x05hello\x0a\x00\x63\x72\xdf\x76\x65\x34\x20\x0a";

    #[test]
    fn dump_and_restore_every_type() {
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        h.call(c, &["SET", "s", "value"]);
        h.call(c, &["RPUSH", "l", "a", "b", "3"]);
        h.call(c, &["HSET", "h", "f", "v"]);
        h.call(c, &["SADD", "st", "1", "x"]);
        h.call(c, &["ZADD", "z", "1.5", "m"]);
        for (key, read) in [
            ("s", vec!["GET"]),
            ("l", vec!["LRANGE", "0", "-1"]),
            ("h", vec!["HGETALL"]),
            ("st", vec!["SMEMBERS"]),
            ("z", vec!["ZRANGE", "0", "-1", "WITHSCORES"]),
        ] {
            let payload = dump(&mut h, c, key);
            let copy = format!("{key}-copy");
            assert_eq!(
                call(&mut h, c, &[b"RESTORE", copy.as_bytes(), b"0", &payload]),
                ok()
            );
            let mut original = read.clone();
            original.insert(1, key);
            let mut restored = read.clone();
            restored.insert(1, &copy);
            assert_eq!(h.call(c, &original), h.call(c, &restored), "{key}");
            assert_eq!(h.call(c, &["TTL", &copy]), Frame::Int(-1));
        }
        assert_eq!(h.call(c, &["DUMP", "missing"]), Frame::Null);
    }

    #[test]
    fn restore_a_redis_payload() {
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        assert_eq!(
            call(&mut h, c, &[b"RESTORE", b"k", b"0", REDIS_HELLO]),
            ok()
        );
        assert_eq!(h.call(c, &["GET", "k"]), Frame::Bulk(Bytes::from("hello")));
        assert_eq!(dump(&mut h, c, "k"), Bytes::from_static(REDIS_HELLO));
    }

    #[test]
    fn restore_errors_as_redis() {
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        h.call(c, &["SET", "taken", "x"]);
        let p = REDIS_HELLO;
        let cases: &[(&[&[u8]], &str)] = &[
            (
                &[b"RESTORE", b"taken", b"0", p],
                "BUSYKEY Target key name already exists.",
            ),
            (
                &[b"RESTORE", b"taken", b"-1", b"x"],
                "BUSYKEY Target key name already exists.",
            ),
            (
                &[b"RESTORE", b"k", b"-1", p],
                "ERR Invalid TTL value, must be >= 0",
            ),
            (
                &[b"RESTORE", b"k", b"abc", p],
                "ERR value is not an integer or out of range",
            ),
            (
                &[b"RESTORE", b"k", b"0", b"x"],
                "ERR DUMP payload version or checksum are wrong",
            ),
            (&[b"RESTORE", b"k", b"0", p, b"FOO"], "ERR syntax error"),
            (
                &[b"RESTORE", b"k", b"0", p, b"IDLETIME"],
                "ERR syntax error",
            ),
            (
                &[b"RESTORE", b"k", b"0", p, b"IDLETIME", b"-1"],
                "ERR Invalid IDLETIME value, must be >= 0",
            ),
            (
                &[b"RESTORE", b"k", b"0", p, b"IDLETIME", b"x"],
                "ERR value is not an integer or out of range",
            ),
            (
                &[b"RESTORE", b"k", b"0", p, b"FREQ", b"256"],
                "ERR Invalid FREQ value, must be >= 0 and <= 255",
            ),
            (
                &[b"RESTORE", b"k", b"0", p, b"FREQ", b"1", b"IDLETIME", b"1"],
                "ERR syntax error",
            ),
            (
                &[b"RESTORE", b"k", b"0", p, b"IDLETIME", b"1", b"FREQ", b"1"],
                "ERR syntax error",
            ),
            (
                &[b"RESTORE", b"k"],
                "ERR wrong number of arguments for 'restore' command",
            ),
        ];
        for (args, want) in cases {
            assert_eq!(call(&mut h, c, args), err(want), "{args:?}");
        }
        // A right footer around a corrupt value: bad format.
        let mut body = vec![0u8, 0x30, b'x'];
        body.extend_from_slice(&10u16.to_le_bytes());
        let crc = crate::rdb::crc64(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            call(&mut h, c, &[b"RESTORE", b"k", b"0", &body]),
            err("ERR Bad data format")
        );
        assert_eq!(h.call(c, &["EXISTS", "k"]), Frame::Int(0));
    }

    #[test]
    fn restore_ttl_replace_absttl_and_past_expiry() {
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        let p = REDIS_HELLO;
        assert_eq!(call(&mut h, c, &[b"RESTORE", b"a", b"5000", p]), ok());
        assert_eq!(h.call(c, &["PTTL", "a"]), Frame::Int(5000));
        let at = b"1700000009000"; // The harness starts at 1_700_000_000_000.
        assert_eq!(call(&mut h, c, &[b"RESTORE", b"b", at, p, b"ABSTTL"]), ok());
        assert_eq!(h.call(c, &["PTTL", "b"]), Frame::Int(9000));
        // In the past: OK, nothing created; with REPLACE the old key goes.
        assert_eq!(
            call(&mut h, c, &[b"RESTORE", b"c", b"1", p, b"ABSTTL"]),
            ok()
        );
        assert_eq!(h.call(c, &["EXISTS", "c"]), Frame::Int(0));
        h.call(c, &["SET", "d", "old"]);
        let args: &[&[u8]] = &[b"RESTORE", b"d", b"1", p, b"ABSTTL", b"REPLACE"];
        assert_eq!(call(&mut h, c, args), ok());
        assert_eq!(h.call(c, &["EXISTS", "d"]), Frame::Int(0));
        // A relative TTL that overflows lands in the past, as in Redis.
        let huge = i64::MAX.to_string();
        assert_eq!(
            call(&mut h, c, &[b"RESTORE", b"e", huge.as_bytes(), p]),
            ok()
        );
        assert_eq!(h.call(c, &["EXISTS", "e"]), Frame::Int(0));
        // REPLACE over a live key, and the TTL is the new one.
        h.call(c, &["SET", "f", "old", "EX", "100"]);
        assert_eq!(
            call(&mut h, c, &[b"RESTORE", b"f", b"0", p, b"REPLACE"]),
            ok()
        );
        assert_eq!(h.call(c, &["GET", "f"]), Frame::Bulk(Bytes::from("hello")));
        assert_eq!(h.call(c, &["TTL", "f"]), Frame::Int(-1));
    }

    #[test]
    fn restore_sets_idle_time_or_frequency() {
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        let p = REDIS_HELLO;
        let args: &[&[u8]] = &[
            b"RESTORE",
            b"a",
            b"0",
            p,
            b"IDLETIME",
            b"1000",
            b"IDLETIME",
            b"20",
        ];
        assert_eq!(call(&mut h, c, args), ok());
        assert_eq!(h.call(c, &["OBJECT", "IDLETIME", "a"]), Frame::Int(20));
        // FREQ is ignored without an LFU policy.
        assert_eq!(
            call(&mut h, c, &[b"RESTORE", b"b", b"0", p, b"FREQ", b"100"]),
            ok()
        );
        assert_eq!(h.call(c, &["OBJECT", "IDLETIME", "b"]), Frame::Int(0));
        h.call(c, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
        assert_eq!(
            call(&mut h, c, &[b"RESTORE", b"l", b"0", p, b"FREQ", b"100"]),
            ok()
        );
        assert_eq!(h.call(c, &["OBJECT", "FREQ", "l"]), Frame::Int(100));
    }
}
