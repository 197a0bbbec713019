//! Every bound Keel enforces, named in one place, with Redis 7.0's defaults.
//!
//! Configurable limits have their default here and their live value in
//! [`crate::config::Config`]; fixed limits are used directly.

/// Largest bulk string a client may send (`proto-max-bulk-len`, 512 MiB).
pub const PROTO_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;
/// Largest query buffer of one client (`client-query-buffer-limit`, 1 GiB).
pub const CLIENT_QUERY_BUFFER_LIMIT: u64 = 1024 * 1024 * 1024;
/// Largest number of connected clients (`maxclients`).
pub const MAX_CLIENTS: u64 = 10_000;
/// Largest multibulk count a client may send (Redis: 1024*1024*1024).
pub const MAX_MULTIBULK_LEN: i64 = 1024 * 1024 * 1024;
/// Largest multibulk count before the client has authenticated.
pub const MAX_UNAUTH_MULTIBULK_LEN: i64 = 10;
/// Largest bulk length before the client has authenticated.
pub const MAX_UNAUTH_BULK_LEN: i64 = 16384;
/// Largest query buffer before the client has authenticated (1 MiB).
pub const MAX_UNAUTH_QUERY_BUFFER: usize = 1024 * 1024;
/// Largest inline request, or length line of a multibulk/bulk, without a newline (64 KiB).
pub const MAX_INLINE_LEN: usize = 64 * 1024;
/// Largest string value any command may build (SETRANGE, APPEND): `proto-max-bulk-len`.
pub const MAX_STRING_LEN: u64 = PROTO_MAX_BULK_LEN;
/// Number of databases (`databases`).
pub const DATABASES: usize = 16;
/// Longest command name echoed back in an unknown-command error.
pub const UNKNOWN_COMMAND_ECHO_LEN: usize = 128;
/// Total bytes of arguments echoed back in an unknown-command error.
pub const UNKNOWN_ARGS_ECHO_LEN: usize = 128;
/// Longest client name (no limit in Redis beyond the bulk length; we keep Redis's).
pub const MAX_CLIENT_NAME_LEN: usize = PROTO_MAX_BULK_LEN as usize;
/// Hard output buffer limit for normal clients (`client-output-buffer-limit normal 0 0 0`:
/// unlimited in Redis); Keel keeps it unlimited for normal clients.
pub const CLIENT_OUTPUT_BUFFER_NORMAL_HARD: u64 = 0;
/// Output cap for a client that has not authenticated (CVE-2025-21605 class): 1 MiB.
pub const MAX_UNAUTH_OUTPUT: usize = 1024 * 1024;
/// Active expiry: keys sampled per database per loop (Redis's ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP).
pub const ACTIVE_EXPIRE_KEYS_PER_LOOP: usize = 20;
/// Active expiry: loop again while more than this percent of the sample had expired.
pub const ACTIVE_EXPIRE_ACCEPTABLE_STALE_PERCENT: usize = 10;
/// Active expiry: most keys examined in one cycle, which bounds the cycle's work.
pub const ACTIVE_EXPIRE_MAX_KEYS_PER_CYCLE: usize = 2_000;
/// Server cron frequency (`hz`): timers fire every 1000/hz ms.
pub const DEFAULT_HZ: u64 = 10;
/// Work of one lazy-free step (UNLINK, FLUSHALL ASYNC), run from the cron: each
/// key freed counts one, and so does each element of a big collection, which is
/// freed a bounded part per step, so that no single value stalls the server.
pub const LAZYFREE_EFFORT_PER_STEP: usize = 10_000;
/// Most work units a KEYS/SCAN glob match may spend on one string before giving up.
pub const GLOB_MAX_STEPS: usize = 1_000_000;
/// Longest time DEBUG SLEEP may block the server (Redis has no limit; we keep 1 hour).
pub const DEBUG_SLEEP_MAX_MS: u64 = 3_600_000;
/// Background save: most entries one step writes. A step runs between
/// two turns of client input, so this bounds the latency a BGSAVE adds to
/// a request: about 0.5-1 us per small entry (the walk is bound by memory
/// latency: a bucket, an entry and its value per key), so a step of small
/// entries takes 100-200 us.
pub const BGSAVE_KEYS_PER_STEP: usize = 200;
/// Background save: a step stops once it has encoded this many bytes
/// (big values: copying, compressing and checksumming 32 KiB takes about
/// as long as 200 small entries).
pub const BGSAVE_BYTES_PER_STEP: usize = 32 * 1024;
/// Background save: the encoded bytes are handed to the disk (or the
/// replicas, or the AOF) once this many are pending, so that short steps
/// do not cost one write call each.
pub const BGSAVE_FLUSH_BYTES: usize = 32 * 1024;
/// After a failed background save, save points wait this long before
/// trying again (Redis's CONFIG_BGSAVE_RETRY_DELAY, seconds).
pub const BGSAVE_RETRY_DELAY_SECS: u64 = 5;
/// Loading at start: RDB items (keys, mostly) loaded per step, between
/// which clients are answered (`-LOADING`, INFO).
pub const LOAD_ITEMS_PER_STEP: usize = 1_000;
