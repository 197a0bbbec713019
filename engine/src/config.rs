//! Server configuration: the parameters that exist, their Redis defaults,
//! and one code path for the config file, command-line flags and
//! `CONFIG GET`/`CONFIG SET`.

use crate::limits;
use crate::util::parse_i64;

/// `maxmemory-policy` values Redis accepts.
pub const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// `loglevel` values Redis 7.0 accepts.
const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];

/// `enable-debug-command` values: DEBUG is refused (`no`, Redis's default),
/// allowed, or allowed from loopback connections only.
pub const ENABLE_DEBUG_COMMAND: &[&str] = &["no", "yes", "local"];

/// `sanitize-dump-payload` values.
pub const SANITIZE_DUMP_PAYLOAD: &[&str] = &["no", "yes", "clients"];

/// One save point: snapshot once `changes` writes happened and more than
/// `seconds` passed since the last successful save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SavePoint {
    pub seconds: u64,
    pub changes: u64,
}

/// Redis 7.0's default save points (`save 3600 1 300 100 60 10000`), which
/// `keel-server` uses; `Config::default()` has none, so tests and the
/// simulation say what they want.
pub const DEFAULT_SAVE_POINTS: &[SavePoint] = &[
    SavePoint {
        seconds: 3600,
        changes: 1,
    },
    SavePoint {
        seconds: 300,
        changes: 100,
    },
    SavePoint {
        seconds: 60,
        changes: 10000,
    },
];

/// Parses `save`'s value: pairs of seconds (at least 1) and changes (at
/// least 0), or nothing at all (`save ""`).
pub fn parse_save_points(v: &str) -> Result<Vec<SavePoint>, String> {
    const INVALID: &str = "Invalid save parameters";
    let words: Vec<&str> = v.split_ascii_whitespace().collect();
    if !words.len().is_multiple_of(2) {
        return Err(INVALID.into());
    }
    words
        .chunks(2)
        .map(|pair| {
            let seconds = parse_i64(pair[0].as_bytes()).filter(|&n| n >= 1);
            let changes = parse_i64(pair[1].as_bytes()).filter(|&n| n >= 0);
            match (seconds, changes) {
                (Some(s), Some(c)) => Ok(SavePoint {
                    seconds: s as u64,
                    changes: c as u64,
                }),
                _ => Err(INVALID.to_string()),
            }
        })
        .collect()
}

/// `save`'s value as CONFIG GET shows it (`3600 1 300 100`).
pub fn format_save_points(points: &[SavePoint]) -> String {
    points
        .iter()
        .map(|p| format!("{} {}", p.seconds, p.changes))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Seed for every random choice the core makes.
    pub seed: u64,
    pub bind: Vec<String>,
    pub port: u16,
    pub requirepass: Option<String>,
    pub databases: usize,
    pub hz: u64,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    pub maxclients: u64,
    /// Close clients idle for this many seconds (0: never).
    pub timeout: u64,
    pub tcp_keepalive: u64,
    pub tcp_backlog: u64,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub maxmemory_samples: u64,
    pub lfu_log_factor: u64,
    pub lfu_decay_time: u64,
    pub active_expire_effort: u64,
    /// Milliseconds a script runs before other clients get -BUSY
    /// (`busy-reply-threshold`, alias `lua-time-limit`).
    pub busy_reply_threshold: u64,
    pub loglevel: String,
    pub logfile: String,
    pub dir: String,
    pub pidfile: String,
    pub protected_mode: bool,
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,
    pub lazyfree_lazy_expire: bool,
    pub lazyfree_lazy_server_del: bool,
    pub lazyfree_lazy_eviction: bool,
    /// Compact-encoding thresholds, with Redis's names and defaults.
    pub list_max_listpack_size: i64,
    pub list_compress_depth: u64,
    pub hash_max_listpack_entries: u64,
    pub hash_max_listpack_value: u64,
    pub set_max_intset_entries: u64,
    pub set_max_listpack_entries: u64,
    pub set_max_listpack_value: u64,
    pub zset_max_listpack_entries: u64,
    pub zset_max_listpack_value: u64,
    /// `enable-debug-command`: one of [`ENABLE_DEBUG_COMMAND`].
    pub enable_debug_command: String,
    /// `save`: snapshot after `changes` writes within `seconds` (Redis's
    /// save points, in the order given); empty for `save ""`.
    pub save: Vec<SavePoint>,
    /// `dbfilename`: the snapshot's file name inside `dir`.
    pub dbfilename: String,
    pub rdbcompression: bool,
    pub rdbchecksum: bool,
    pub stop_writes_on_bgsave_error: bool,
    /// Accepted for compatibility: Keel has no replication to delete sync files for.
    pub rdb_del_sync_files: bool,
    /// `sanitize-dump-payload`: one of [`SANITIZE_DUMP_PAYLOAD`]; Keel's
    /// loaders always check every length, so the mode only reports.
    pub sanitize_dump_payload: String,
    /// `notify-keyspace-events`: the enabled classes ([`crate::notify::class`]).
    pub notify_keyspace_events: u32,
    /// `client-output-buffer-limit`, per client class.
    pub client_output_buffer_limit: crate::pubsub::obuf::Limits,
    /// The append-only file (see `crate::aof`), with Redis 7.0's names.
    pub appendonly: bool,
    pub appendfilename: String,
    pub appenddirname: String,
    /// `always`, `everysec` or `no`.
    pub appendfsync: String,
    pub no_appendfsync_on_rewrite: bool,
    pub auto_aof_rewrite_percentage: u64,
    pub auto_aof_rewrite_min_size: u64,
    pub aof_load_truncated: bool,
    pub aof_use_rdb_preamble: bool,
    /// Accepted; Keel writes no timestamp annotations (it skips them on load).
    pub aof_timestamp_enabled: bool,
    /// Accepted; the rewrite syncs its base once, at the end.
    pub aof_rewrite_incremental_fsync: bool,
    /// Replication (see [`crate::repl`]): the master to follow from start
    /// (`replicaof host port`; REPLICAOF changes it at run time).
    pub replicaof: Option<(String, u16)>,
    pub masterauth: Option<String>,
    pub masteruser: Option<String>,
    pub replica_read_only: bool,
    pub replica_serve_stale_data: bool,
    pub repl_backlog_size: u64,
    /// Seconds without data from the other side before a link is dropped.
    pub repl_timeout: u64,
    pub repl_ping_replica_period: u64,
    /// Full syncs stream the snapshot to the replica's socket (`$EOF:`)
    /// instead of saving it to disk first; the start waits `delay`
    /// seconds for more replicas, or until `max_replicas` (0: no bound)
    /// are waiting.
    pub repl_diskless_sync: bool,
    pub repl_diskless_sync_delay: u64,
    pub repl_diskless_sync_max_replicas: u64,
    pub replica_announce_ip: String,
    pub replica_announce_port: u64,
    pub replica_announced: bool,
    pub replica_priority: u64,
    pub min_replicas_to_write: u64,
    pub min_replicas_max_lag: u64,
    /// Facts the driver knows, reported by INFO and used by CONFIG REWRITE;
    /// not parameters (CONFIG GET does not list them).
    /// The config file the server was started with, if any (absolute path).
    pub config_file: Option<String>,
    /// The server binary's absolute path ("" when unknown).
    pub executable: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 0,
            bind: vec!["127.0.0.1".into(), "-::1".into()],
            port: 6379,
            requirepass: None,
            databases: limits::DATABASES,
            hz: limits::DEFAULT_HZ,
            proto_max_bulk_len: limits::PROTO_MAX_BULK_LEN,
            client_query_buffer_limit: limits::CLIENT_QUERY_BUFFER_LIMIT,
            maxclients: limits::MAX_CLIENTS,
            timeout: 0,
            tcp_keepalive: 300,
            tcp_backlog: 511,
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            maxmemory_samples: 5,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            active_expire_effort: 1,
            busy_reply_threshold: 5000,
            loglevel: "notice".into(),
            logfile: String::new(),
            dir: ".".into(),
            pidfile: String::new(),
            protected_mode: true,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            lazyfree_lazy_expire: false,
            lazyfree_lazy_server_del: false,
            lazyfree_lazy_eviction: false,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            enable_debug_command: "no".into(),
            save: Vec::new(),
            dbfilename: "dump.rdb".into(),
            rdbcompression: true,
            rdbchecksum: true,
            stop_writes_on_bgsave_error: true,
            rdb_del_sync_files: false,
            sanitize_dump_payload: "no".into(),
            notify_keyspace_events: 0,
            client_output_buffer_limit: Default::default(),
            appendonly: false,
            appendfilename: "appendonly.aof".into(),
            appenddirname: "appendonlydir".into(),
            appendfsync: "everysec".into(),
            no_appendfsync_on_rewrite: false,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 << 20,
            aof_load_truncated: true,
            aof_use_rdb_preamble: true,
            aof_timestamp_enabled: false,
            aof_rewrite_incremental_fsync: true,
            replicaof: None,
            masterauth: None,
            masteruser: None,
            replica_read_only: true,
            replica_serve_stale_data: true,
            repl_backlog_size: 1 << 20,
            repl_timeout: 60,
            repl_ping_replica_period: 10,
            repl_diskless_sync: true,
            repl_diskless_sync_delay: 5,
            repl_diskless_sync_max_replicas: 0,
            replica_announce_ip: String::new(),
            replica_announce_port: 0,
            replica_announced: true,
            replica_priority: 100,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            config_file: None,
            executable: String::new(),
        }
    }
}

/// `appendfsync` values.
pub const APPENDFSYNC: &[&str] = &["always", "everysec", "no"];

/// `appendfilename` and `appenddirname` are plain names inside `dir`,
/// as Redis requires.
fn aof_file_name(v: &str, param: &str, what: &str) -> Result<String, String> {
    if v.is_empty() || v.contains('/') || v == "." || v == ".." {
        return Err(format!("{param} can't be a path, just a {what}"));
    }
    Ok(v.to_string())
}

/// Whether a parameter can change while the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    Runtime,
    StartupOnly,
    /// Settable at startup only while `enable-protected-configs` is `no`
    /// (Redis's default, and the only mode Keel has).
    Protected,
}

/// The names of every parameter, in the order CONFIG GET * lists them,
/// with whether CONFIG SET may change them.
pub const PARAMS: &[(&str, Mutability)] = &[
    // Redis rebinds on CONFIG SET bind/port; the engine has no sockets and
    // the driver binds once, so both are fixed at startup.
    ("bind", Mutability::StartupOnly),
    ("port", Mutability::StartupOnly),
    ("requirepass", Mutability::Runtime),
    ("databases", Mutability::StartupOnly),
    ("hz", Mutability::Runtime),
    ("proto-max-bulk-len", Mutability::Runtime),
    ("client-query-buffer-limit", Mutability::Runtime),
    ("maxclients", Mutability::Runtime),
    ("timeout", Mutability::Runtime),
    ("tcp-keepalive", Mutability::Runtime),
    ("tcp-backlog", Mutability::StartupOnly),
    ("maxmemory", Mutability::Runtime),
    ("maxmemory-policy", Mutability::Runtime),
    ("maxmemory-samples", Mutability::Runtime),
    ("lfu-log-factor", Mutability::Runtime),
    ("lfu-decay-time", Mutability::Runtime),
    ("active-expire-effort", Mutability::Runtime),
    ("busy-reply-threshold", Mutability::Runtime),
    ("loglevel", Mutability::Runtime),
    ("logfile", Mutability::StartupOnly),
    ("dir", Mutability::Protected),
    ("pidfile", Mutability::StartupOnly),
    ("protected-mode", Mutability::Runtime),
    ("lazyfree-lazy-user-del", Mutability::Runtime),
    ("lazyfree-lazy-user-flush", Mutability::Runtime),
    ("lazyfree-lazy-expire", Mutability::Runtime),
    ("lazyfree-lazy-server-del", Mutability::Runtime),
    ("lazyfree-lazy-eviction", Mutability::Runtime),
    ("list-max-listpack-size", Mutability::Runtime),
    ("list-compress-depth", Mutability::Runtime),
    ("hash-max-listpack-entries", Mutability::Runtime),
    ("hash-max-listpack-value", Mutability::Runtime),
    ("set-max-intset-entries", Mutability::Runtime),
    ("set-max-listpack-entries", Mutability::Runtime),
    ("set-max-listpack-value", Mutability::Runtime),
    ("zset-max-listpack-entries", Mutability::Runtime),
    ("zset-max-listpack-value", Mutability::Runtime),
    ("save", Mutability::Runtime),
    ("dbfilename", Mutability::Protected),
    ("rdbcompression", Mutability::Runtime),
    ("rdbchecksum", Mutability::StartupOnly),
    ("stop-writes-on-bgsave-error", Mutability::Runtime),
    ("rdb-del-sync-files", Mutability::Runtime),
    ("sanitize-dump-payload", Mutability::Runtime),
    ("appendonly", Mutability::Runtime),
    ("appendfilename", Mutability::StartupOnly),
    ("appenddirname", Mutability::StartupOnly),
    ("appendfsync", Mutability::Runtime),
    ("no-appendfsync-on-rewrite", Mutability::Runtime),
    ("auto-aof-rewrite-percentage", Mutability::Runtime),
    ("auto-aof-rewrite-min-size", Mutability::Runtime),
    ("aof-load-truncated", Mutability::Runtime),
    ("aof-use-rdb-preamble", Mutability::Runtime),
    ("aof-timestamp-enabled", Mutability::Runtime),
    ("aof-rewrite-incremental-fsync", Mutability::Runtime),
    ("daemonize", Mutability::StartupOnly),
    ("enable-debug-command", Mutability::StartupOnly),
    ("notify-keyspace-events", Mutability::Runtime),
    ("client-output-buffer-limit", Mutability::Runtime),
    // Replication. REPLICAOF changes the master at run time, not CONFIG SET.
    ("replicaof", Mutability::StartupOnly),
    ("masterauth", Mutability::Runtime),
    ("masteruser", Mutability::Runtime),
    ("replica-read-only", Mutability::Runtime),
    ("replica-serve-stale-data", Mutability::Runtime),
    ("repl-backlog-size", Mutability::Runtime),
    ("repl-timeout", Mutability::Runtime),
    ("repl-ping-replica-period", Mutability::Runtime),
    ("repl-diskless-sync", Mutability::Runtime),
    ("repl-diskless-sync-delay", Mutability::Runtime),
    ("repl-diskless-sync-max-replicas", Mutability::Runtime),
    ("replica-announce-ip", Mutability::Runtime),
    ("replica-announce-port", Mutability::Runtime),
    ("replica-announced", Mutability::Runtime),
    ("replica-priority", Mutability::Runtime),
    ("min-replicas-to-write", Mutability::Runtime),
    ("min-replicas-max-lag", Mutability::Runtime),
];

pub fn param_mutability(name: &str) -> Option<Mutability> {
    PARAMS.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
}

/// Old names Redis 7 still accepts for a parameter (ziplist became listpack).
pub const ALIASES: &[(&str, &str)] = &[
    ("list-max-ziplist-size", "list-max-listpack-size"),
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
    ("slaveof", "replicaof"),
    ("lua-time-limit", "busy-reply-threshold"),
    ("slave-read-only", "replica-read-only"),
    ("slave-serve-stale-data", "replica-serve-stale-data"),
    ("repl-ping-slave-period", "repl-ping-replica-period"),
    ("slave-announce-ip", "replica-announce-ip"),
    ("slave-announce-port", "replica-announce-port"),
    ("slave-priority", "replica-priority"),
    ("min-slaves-to-write", "min-replicas-to-write"),
    ("min-slaves-max-lag", "min-replicas-max-lag"),
];

/// The canonical name of a parameter or alias, looked up case-insensitively.
pub fn canonical_param(name: &[u8]) -> Option<&'static str> {
    let by_name = PARAMS
        .iter()
        .map(|(n, _)| *n)
        .find(|n| n.as_bytes().eq_ignore_ascii_case(name));
    by_name.or_else(|| {
        ALIASES
            .iter()
            .find(|(alias, _)| alias.as_bytes().eq_ignore_ascii_case(name))
            .map(|(_, canonical)| *canonical)
    })
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

/// Parses a memory amount as Redis's `memtoull`: decimal digits with an
/// optional unit (`k`=1000, `kb`=1024, `m`, `mb`, `g`, `gb`), case-insensitive.
/// As in Redis, no digits at all reads as 0 and a value too big saturates.
pub fn parse_memory(v: &str) -> Option<u64> {
    let lower = v.to_ascii_lowercase();
    let units: [(&str, u64); 6] = [
        ("kb", 1024),
        ("mb", 1 << 20),
        ("gb", 1 << 30),
        ("k", 1000),
        ("m", 1_000_000),
        ("g", 1_000_000_000),
    ];
    let (digits, mul) = units
        .iter()
        .find(|(u, _)| lower.ends_with(u))
        .map(|(u, m)| (&lower[..lower.len() - u.len()], *m))
        .unwrap_or((lower.as_str(), 1));
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n = digits.bytes().fold(0u64, |n, c| {
        n.saturating_mul(10).saturating_add((c - b'0') as u64)
    });
    Some(n.saturating_mul(mul))
}

/// Parses an integer parameter with Redis's strict rules (`string2ll`: no
/// sign, spaces or leading zeros) and checks its range.
fn parse_int(v: &str, min: u64, max: u64) -> Result<u64, String> {
    let n = parse_i64(v.as_bytes())
        .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
    if n < 0 || (n as u64) < min || n as u64 > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n as u64)
}

fn parse_signed(v: &str, min: i64, max: i64) -> Result<i64, String> {
    let n: i64 = v
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

/// A size-type parameter: a memory amount up to `LONG_MAX`, as Redis's
/// `createSizeTConfig` accepts (`512`, `1kb`).
fn parse_size(v: &str) -> Result<u64, String> {
    parse_mem_in(v, 0, i64::MAX as u64)
}

fn parse_mem_in(v: &str, min: u64, max: u64) -> Result<u64, String> {
    let n = parse_memory(v).ok_or_else(|| "argument must be a memory value".to_string())?;
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

/// `dbfilename` is a plain file name inside `dir`, never a path.
fn parse_file_name(v: &str) -> Result<String, String> {
    if v.contains('/') {
        return Err("dbfilename can't be a path, just a filename".into());
    }
    Ok(v.to_string())
}

fn parse_enum(v: &str, allowed: &[&str]) -> Result<String, String> {
    let lower = v.to_ascii_lowercase();
    if allowed.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err("argument(s) must be one of the following: ".to_string() + &allowed.join(", "))
    }
}

impl Config {
    /// The value CONFIG GET reports for `name` (a canonical name from [`PARAMS`]).
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "bind" => self.bind.join(" "),
            "port" => self.port.to_string(),
            "requirepass" => self.requirepass.clone().unwrap_or_default(),
            "databases" => self.databases.to_string(),
            "hz" => self.hz.to_string(),
            "proto-max-bulk-len" => self.proto_max_bulk_len.to_string(),
            "client-query-buffer-limit" => self.client_query_buffer_limit.to_string(),
            "maxclients" => self.maxclients.to_string(),
            "timeout" => self.timeout.to_string(),
            "tcp-keepalive" => self.tcp_keepalive.to_string(),
            "tcp-backlog" => self.tcp_backlog.to_string(),
            "maxmemory" => self.maxmemory.to_string(),
            "maxmemory-policy" => self.maxmemory_policy.clone(),
            "maxmemory-samples" => self.maxmemory_samples.to_string(),
            "lfu-log-factor" => self.lfu_log_factor.to_string(),
            "lfu-decay-time" => self.lfu_decay_time.to_string(),
            "active-expire-effort" => self.active_expire_effort.to_string(),
            "busy-reply-threshold" => self.busy_reply_threshold.to_string(),
            "loglevel" => self.loglevel.clone(),
            "logfile" => self.logfile.clone(),
            "dir" => self.dir.clone(),
            "pidfile" => self.pidfile.clone(),
            "protected-mode" => yes_no(self.protected_mode),
            "lazyfree-lazy-user-del" => yes_no(self.lazyfree_lazy_user_del),
            "lazyfree-lazy-user-flush" => yes_no(self.lazyfree_lazy_user_flush),
            "lazyfree-lazy-expire" => yes_no(self.lazyfree_lazy_expire),
            "lazyfree-lazy-server-del" => yes_no(self.lazyfree_lazy_server_del),
            "lazyfree-lazy-eviction" => yes_no(self.lazyfree_lazy_eviction),
            "list-max-listpack-size" => self.list_max_listpack_size.to_string(),
            "list-compress-depth" => self.list_compress_depth.to_string(),
            "hash-max-listpack-entries" => self.hash_max_listpack_entries.to_string(),
            "hash-max-listpack-value" => self.hash_max_listpack_value.to_string(),
            "set-max-intset-entries" => self.set_max_intset_entries.to_string(),
            "set-max-listpack-entries" => self.set_max_listpack_entries.to_string(),
            "set-max-listpack-value" => self.set_max_listpack_value.to_string(),
            "zset-max-listpack-entries" => self.zset_max_listpack_entries.to_string(),
            "zset-max-listpack-value" => self.zset_max_listpack_value.to_string(),
            "enable-debug-command" => self.enable_debug_command.clone(),
            "save" => format_save_points(&self.save),
            "dbfilename" => self.dbfilename.clone(),
            "rdbcompression" => yes_no(self.rdbcompression),
            "rdbchecksum" => yes_no(self.rdbchecksum),
            "stop-writes-on-bgsave-error" => yes_no(self.stop_writes_on_bgsave_error),
            "rdb-del-sync-files" => yes_no(self.rdb_del_sync_files),
            "sanitize-dump-payload" => self.sanitize_dump_payload.clone(),
            "notify-keyspace-events" => crate::notify::render_flags(self.notify_keyspace_events),
            "client-output-buffer-limit" => self.client_output_buffer_limit.render(),
            "appendonly" => yes_no(self.appendonly),
            "appendfilename" => self.appendfilename.clone(),
            "appenddirname" => self.appenddirname.clone(),
            "appendfsync" => self.appendfsync.clone(),
            "no-appendfsync-on-rewrite" => yes_no(self.no_appendfsync_on_rewrite),
            "auto-aof-rewrite-percentage" => self.auto_aof_rewrite_percentage.to_string(),
            "auto-aof-rewrite-min-size" => self.auto_aof_rewrite_min_size.to_string(),
            "aof-load-truncated" => yes_no(self.aof_load_truncated),
            "aof-use-rdb-preamble" => yes_no(self.aof_use_rdb_preamble),
            "aof-timestamp-enabled" => yes_no(self.aof_timestamp_enabled),
            "aof-rewrite-incremental-fsync" => yes_no(self.aof_rewrite_incremental_fsync),
            "daemonize" => yes_no(false),
            _ => return self.get_replication(name),
        })
    }

    /// Sets `name` (canonical, lower-case) from its text form, as given in
    /// the config file (arguments joined by spaces) or to CONFIG SET.
    /// The error is the reason Redis gives, without the surrounding text.
    pub fn set(&mut self, name: &str, v: &str) -> Result<(), String> {
        match name {
            "bind" => {
                let addrs: Vec<String> = v.split_ascii_whitespace().map(String::from).collect();
                if addrs.is_empty() {
                    return Err("Too many bind addresses specified.".into());
                }
                self.bind = addrs;
            }
            "port" => self.port = parse_int(v, 0, 65535)? as u16,
            "requirepass" => self.requirepass = (!v.is_empty()).then(|| v.to_string()),
            "databases" => self.databases = parse_int(v, 1, i32::MAX as u64)? as usize,
            "hz" => self.hz = parse_int(v, 0, i32::MAX as u64)?.clamp(1, 500),
            "proto-max-bulk-len" => {
                self.proto_max_bulk_len = parse_mem_in(v, 1024 * 1024, i64::MAX as u64)?
            }
            "client-query-buffer-limit" => {
                self.client_query_buffer_limit = parse_mem_in(v, 1024 * 1024, i64::MAX as u64)?
            }
            "maxclients" => self.maxclients = parse_int(v, 1, u32::MAX as u64)?,
            "timeout" => self.timeout = parse_int(v, 0, i32::MAX as u64)?,
            "tcp-keepalive" => self.tcp_keepalive = parse_int(v, 0, i32::MAX as u64)?,
            "tcp-backlog" => self.tcp_backlog = parse_int(v, 0, i32::MAX as u64)?,
            // Eviction is not built: a limit that would not be enforced is refused.
            "maxmemory" if parse_mem_in(v, 0, u64::MAX)? == 0 => self.maxmemory = 0,
            "maxmemory" => {
                return Err(
                    "maxmemory is not enforced yet (eviction is not built); only 0 is accepted"
                        .into(),
                )
            }
            "maxmemory-policy" => self.maxmemory_policy = parse_enum(v, MAXMEMORY_POLICIES)?,
            "maxmemory-samples" => self.maxmemory_samples = parse_int(v, 1, i32::MAX as u64)?,
            "lfu-log-factor" => self.lfu_log_factor = parse_int(v, 0, i32::MAX as u64)?,
            "lfu-decay-time" => self.lfu_decay_time = parse_int(v, 0, i32::MAX as u64)?,
            "active-expire-effort" => self.active_expire_effort = parse_int(v, 1, 10)?,
            "busy-reply-threshold" => self.busy_reply_threshold = parse_int(v, 0, i64::MAX as u64)?,
            "loglevel" => self.loglevel = parse_enum(v, LOGLEVELS)?,
            "logfile" => self.logfile = v.to_string(),
            "dir" => self.dir = v.to_string(),
            "pidfile" => self.pidfile = v.to_string(),
            "protected-mode" => self.protected_mode = parse_bool(v)?,
            "lazyfree-lazy-user-del" => self.lazyfree_lazy_user_del = parse_bool(v)?,
            "lazyfree-lazy-user-flush" => self.lazyfree_lazy_user_flush = parse_bool(v)?,
            "lazyfree-lazy-expire" => self.lazyfree_lazy_expire = parse_bool(v)?,
            "lazyfree-lazy-server-del" => self.lazyfree_lazy_server_del = parse_bool(v)?,
            "lazyfree-lazy-eviction" => self.lazyfree_lazy_eviction = parse_bool(v)?,
            "list-max-listpack-size" => {
                self.list_max_listpack_size = parse_signed(v, i32::MIN as i64, i32::MAX as i64)?
            }
            "list-compress-depth" => self.list_compress_depth = parse_int(v, 0, i32::MAX as u64)?,
            "hash-max-listpack-entries" => self.hash_max_listpack_entries = parse_size(v)?,
            "hash-max-listpack-value" => self.hash_max_listpack_value = parse_size(v)?,
            "set-max-intset-entries" => self.set_max_intset_entries = parse_size(v)?,
            "set-max-listpack-entries" => self.set_max_listpack_entries = parse_size(v)?,
            "set-max-listpack-value" => self.set_max_listpack_value = parse_size(v)?,
            "zset-max-listpack-entries" => self.zset_max_listpack_entries = parse_size(v)?,
            "zset-max-listpack-value" => self.zset_max_listpack_value = parse_size(v)?,
            "enable-debug-command" => {
                self.enable_debug_command = parse_enum(v, ENABLE_DEBUG_COMMAND)?
            }
            "save" => self.save = parse_save_points(v)?,
            "dbfilename" => self.dbfilename = parse_file_name(v)?,
            "rdbcompression" => self.rdbcompression = parse_bool(v)?,
            "rdbchecksum" => self.rdbchecksum = parse_bool(v)?,
            "stop-writes-on-bgsave-error" => self.stop_writes_on_bgsave_error = parse_bool(v)?,
            "rdb-del-sync-files" => self.rdb_del_sync_files = parse_bool(v)?,
            "sanitize-dump-payload" => {
                self.sanitize_dump_payload = parse_enum(v, SANITIZE_DUMP_PAYLOAD)?
            }
            "notify-keyspace-events" => {
                self.notify_keyspace_events = crate::notify::parse_flags(v)?
            }
            "client-output-buffer-limit" => self.client_output_buffer_limit.apply(v)?,
            "appendonly" => self.appendonly = parse_bool(v)?,
            "appendfilename" => {
                self.appendfilename = aof_file_name(v, "appendfilename", "filename")?
            }
            "appenddirname" => self.appenddirname = aof_file_name(v, "appenddirname", "dirname")?,
            "appendfsync" => self.appendfsync = parse_enum(v, APPENDFSYNC)?,
            "no-appendfsync-on-rewrite" => self.no_appendfsync_on_rewrite = parse_bool(v)?,
            "auto-aof-rewrite-percentage" => {
                self.auto_aof_rewrite_percentage = parse_int(v, 0, i32::MAX as u64)?
            }
            "auto-aof-rewrite-min-size" => {
                self.auto_aof_rewrite_min_size = parse_mem_in(v, 0, i64::MAX as u64)?
            }
            "aof-load-truncated" => self.aof_load_truncated = parse_bool(v)?,
            "aof-use-rdb-preamble" => self.aof_use_rdb_preamble = parse_bool(v)?,
            "aof-timestamp-enabled" => self.aof_timestamp_enabled = parse_bool(v)?,
            "aof-rewrite-incremental-fsync" => self.aof_rewrite_incremental_fsync = parse_bool(v)?,
            "daemonize" if !parse_bool(v)? => {}
            "daemonize" => {
                return Err("daemonize is not supported; run keel-server under a supervisor".into())
            }
            _ => return self.set_replication(name, v),
        }
        Ok(())
    }

    fn get_replication(&self, name: &str) -> Option<String> {
        Some(match name {
            "replicaof" => self
                .replicaof
                .as_ref()
                .map_or(String::new(), |(h, p)| format!("{h} {p}")),
            "masterauth" => self.masterauth.clone().unwrap_or_default(),
            "masteruser" => self.masteruser.clone().unwrap_or_default(),
            "replica-read-only" => yes_no(self.replica_read_only),
            "replica-serve-stale-data" => yes_no(self.replica_serve_stale_data),
            "repl-backlog-size" => self.repl_backlog_size.to_string(),
            "repl-timeout" => self.repl_timeout.to_string(),
            "repl-ping-replica-period" => self.repl_ping_replica_period.to_string(),
            "repl-diskless-sync" => yes_no(self.repl_diskless_sync),
            "repl-diskless-sync-delay" => self.repl_diskless_sync_delay.to_string(),
            "repl-diskless-sync-max-replicas" => self.repl_diskless_sync_max_replicas.to_string(),
            "replica-announce-ip" => self.replica_announce_ip.clone(),
            "replica-announce-port" => self.replica_announce_port.to_string(),
            "replica-announced" => yes_no(self.replica_announced),
            "replica-priority" => self.replica_priority.to_string(),
            "min-replicas-to-write" => self.min_replicas_to_write.to_string(),
            "min-replicas-max-lag" => self.min_replicas_max_lag.to_string(),
            _ => return None,
        })
    }

    fn set_replication(&mut self, name: &str, v: &str) -> Result<(), String> {
        let max_int = i32::MAX as u64;
        match name {
            "replicaof" => self.replicaof = parse_replicaof(v)?,
            "masterauth" => self.masterauth = (!v.is_empty()).then(|| v.to_string()),
            "masteruser" => self.masteruser = (!v.is_empty()).then(|| v.to_string()),
            "replica-read-only" => self.replica_read_only = parse_bool(v)?,
            "replica-serve-stale-data" => self.replica_serve_stale_data = parse_bool(v)?,
            // Redis's minimum backlog is 16 kB (smaller values are raised).
            "repl-backlog-size" => {
                self.repl_backlog_size = parse_mem_in(v, 1, i64::MAX as u64)?.max(16 * 1024)
            }
            "repl-timeout" => self.repl_timeout = parse_int(v, 1, max_int)?,
            "repl-ping-replica-period" => self.repl_ping_replica_period = parse_int(v, 1, max_int)?,
            "repl-diskless-sync" => self.repl_diskless_sync = parse_bool(v)?,
            "repl-diskless-sync-delay" => self.repl_diskless_sync_delay = parse_int(v, 0, max_int)?,
            "repl-diskless-sync-max-replicas" => {
                self.repl_diskless_sync_max_replicas = parse_int(v, 0, max_int)?
            }
            "replica-announce-ip" => self.replica_announce_ip = v.to_string(),
            "replica-announce-port" => self.replica_announce_port = parse_int(v, 0, 65535)?,
            "replica-announced" => self.replica_announced = parse_bool(v)?,
            "replica-priority" => self.replica_priority = parse_int(v, 0, max_int)?,
            "min-replicas-to-write" => self.min_replicas_to_write = parse_int(v, 0, max_int)?,
            "min-replicas-max-lag" => self.min_replicas_max_lag = parse_int(v, 0, max_int)?,
            _ => return Err(format!("Unknown option '{name}'")),
        }
        Ok(())
    }
}

/// `replicaof <host> <port>` (or `no one`) from the config file.
fn parse_replicaof(v: &str) -> Result<Option<(String, u16)>, String> {
    let words: Vec<&str> = v.split_ascii_whitespace().collect();
    match words.as_slice() {
        [] => Ok(None),
        [no, one] if no.eq_ignore_ascii_case("no") && one.eq_ignore_ascii_case("one") => Ok(None),
        [host, port] => {
            let port = parse_int(port, 0, 65535).map_err(|_| "Invalid master port".to_string())?;
            Ok(Some((host.to_string(), port as u16)))
        }
        _ => Err("wrong number of arguments".into()),
    }
}

/// Why a CONFIG SET was refused; the parameter is named as the client spelled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError {
    /// No such parameter: `ERR Unknown option or number of arguments for CONFIG SET - '<name>'`.
    Unknown(String),
    /// `ERR CONFIG SET failed (possibly related to argument '<name>') - <reason>`.
    Failed { name: String, reason: String },
}

impl SetError {
    /// The full error text Redis 7.0 replies.
    pub fn message(&self) -> String {
        match self {
            SetError::Unknown(name) => {
                format!("ERR Unknown option or number of arguments for CONFIG SET - '{name}'")
            }
            SetError::Failed { name, reason } => {
                format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}")
            }
        }
    }
}

impl Config {
    /// Sets several parameters at once, all or nothing, as CONFIG SET does:
    /// names are checked first (unknown, not settable at run time,
    /// duplicates), in order; then values are applied in order, and if one
    /// is refused every change is rolled back.
    pub fn set_many(&mut self, pairs: &[(&str, &str)]) -> Result<(), SetError> {
        let mut names: Vec<&'static str> = Vec::with_capacity(pairs.len());
        for (given, _) in pairs {
            let failed = |reason: &str| SetError::Failed {
                name: given.to_string(),
                reason: reason.to_string(),
            };
            let Some(name) = canonical_param(given.as_bytes()) else {
                return Err(SetError::Unknown(given.to_string()));
            };
            match param_mutability(name) {
                Some(Mutability::StartupOnly) => return Err(failed("can't set immutable config")),
                Some(Mutability::Protected) => return Err(failed("can't set protected config")),
                _ => {}
            }
            if names.contains(&name) {
                return Err(failed("duplicate parameter"));
            }
            names.push(name);
        }
        let before = self.clone();
        for ((given, value), name) in pairs.iter().zip(names) {
            if let Err(reason) = self.set(name, value) {
                *self = before;
                return Err(SetError::Failed {
                    name: given.to_string(),
                    reason,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_param_round_trips() {
        let mut c = Config::default();
        for (name, _) in PARAMS {
            let v = c
                .get(name)
                .unwrap_or_else(|| panic!("{name} has no getter"));
            c.set(name, &v)
                .unwrap_or_else(|e| panic!("{name}={v:?}: {e}"));
            assert_eq!(c.get(name).unwrap(), v);
        }
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("512mb"), Some(512 << 20));
        assert_eq!(parse_memory("1GB"), Some(1 << 30));
        assert_eq!(parse_memory("10k"), Some(10_000));
        assert_eq!(parse_memory("12"), Some(12));
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory("+1"), None);
        assert_eq!(parse_memory(" 1"), None);
        assert_eq!(parse_memory("1.5mb"), None);
        // As Redis's memtoull: no digits reads as 0, overflow saturates.
        assert_eq!(parse_memory("mb"), Some(0));
        assert_eq!(parse_memory(""), Some(0));
        assert_eq!(parse_memory("99999999999999999999"), Some(u64::MAX));
    }

    #[test]
    fn bad_values_are_refused() {
        let mut c = Config::default();
        assert!(c.set("maxmemory-policy", "sometimes").is_err());
        assert!(c.set("timeout", "abc").is_err());
        assert!(c.set("appendonly", "maybe").is_err());
        assert!(c.set("appendfsync", "sometimes").is_err());
        assert!(c.set("appendfilename", "a/b").is_err());
        assert!(c.set("nonsense", "1").is_err());
        for strict in ["05", "+5", " 5", "5 ", "1.5"] {
            assert_eq!(
                c.set("timeout", strict),
                Err("argument couldn't be parsed into an integer".into()),
                "{strict:?}"
            );
        }
        assert_eq!(
            c.set("loglevel", "nothing"),
            Err("argument(s) must be one of the following: debug, verbose, notice, warning".into())
        );
    }

    #[test]
    fn set_many_is_all_or_nothing() {
        let mut c = Config::default();
        let err = c
            .set_many(&[("hz", "50"), ("timeout", "7"), ("maxmemory-policy", "xx")])
            .unwrap_err();
        assert!(err.message().starts_with(
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of"
        ));
        assert_eq!(c.hz, limits::DEFAULT_HZ, "rolled back");
        assert_eq!(c.timeout, 0, "rolled back");
        c.set_many(&[("HZ", "50"), ("timeout", "7")]).unwrap();
        assert_eq!((c.hz, c.timeout), (50, 7));
    }

    #[test]
    fn set_many_checks_names_first_in_order() {
        let mut c = Config::default();
        let unknown = c.set_many(&[("hz", "abc"), ("foo", "bar")]).unwrap_err();
        assert_eq!(
            unknown.message(),
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
        );
        let immutable = c
            .set_many(&[("hz", "abc"), ("daemonize", "yes")])
            .unwrap_err();
        assert_eq!(
            immutable.message(),
            "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"
        );
        let dup = c
            .set_many(&[("hz", "1"), ("HZ", "abc"), ("foo", "2")])
            .unwrap_err();
        assert_eq!(
            dup.message(),
            "ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"
        );
        let protected = c.set_many(&[("dir", "/tmp")]).unwrap_err();
        assert_eq!(
            protected.message(),
            "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
        );
    }
}
