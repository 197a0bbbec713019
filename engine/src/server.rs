//! Server-wide state shared by all clients: databases, config, statistics,
//! the seeded RNG and the queue of outputs that are not replies.

use crate::cmd::CommandTable;
use crate::config::Config;
use crate::db::dict::{Dict, WARM_BATCH};
use crate::db::{drain_some, Cleared, Db, Object, StoredKey};
use crate::node::Output;
use crate::time::Now;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// A rate measured as Redis measures its `instantaneous_*` metrics: every
/// [`RateMeter::PERIOD_MS`] the increase of a counter since the previous
/// sample, per second, goes into a ring of [`RateMeter::SAMPLES`]; the rate
/// reported is the mean of the ring (empty slots count as zero).
#[derive(Debug, Clone, Default)]
pub struct RateMeter {
    last: Option<(u64, u64)>,
    ring: [u64; RateMeter::SAMPLES],
    next: usize,
}

impl RateMeter {
    pub const PERIOD_MS: u64 = 100;
    pub const SAMPLES: usize = 16;

    /// Records the counter's `value` at `now_ms`, at most once per period.
    pub fn sample(&mut self, now_ms: u64, value: u64) {
        let Some((t0, v0)) = self.last else {
            self.last = Some((now_ms, value));
            return;
        };
        let elapsed = now_ms.saturating_sub(t0);
        if elapsed < Self::PERIOD_MS {
            return;
        }
        self.ring[self.next] = value.saturating_sub(v0).saturating_mul(1000) / elapsed;
        self.next = (self.next + 1) % Self::SAMPLES;
        self.last = Some((now_ms, value));
    }

    /// The mean per-second rate over the ring.
    pub fn per_sec(&self) -> f64 {
        self.ring.iter().sum::<u64>() as f64 / Self::SAMPLES as f64
    }
}

/// Per-command counters (INFO commandstats), by full name (`get`, `client|list`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CommandStats {
    /// Times the command ran (its handler was called).
    pub calls: u64,
    /// Times it was refused before running (wrong arity, NOAUTH).
    pub rejected_calls: u64,
    /// Times it ran and replied an error.
    pub failed_calls: u64,
}

/// Most distinct error codes INFO errorstats tracks (Redis's ERROR_STATS_NUMBER).
pub const MAX_ERROR_CODES: usize = 128;

/// Counters reported by INFO (stats section), with Redis's meaning.
/// CONFIG RESETSTAT puts them all back to zero.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub total_connections_received: u64,
    pub rejected_connections: u64,
    pub total_commands_processed: u64,
    pub total_net_input_bytes: u64,
    pub total_net_output_bytes: u64,
    /// Batches of input read from clients, and of replies handed to the driver.
    pub total_reads_processed: u64,
    pub total_writes_processed: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub evicted_keys: u64,
    pub total_error_replies: u64,
    pub unexpected_error_replies: u64,
    /// Running estimate of the share of keys with a TTL that are expired,
    /// from active expiry samples (INFO expired_stale_perc).
    pub expired_stale_perc: f64,
    /// Active expiry cycles that stopped at their work bound.
    pub expired_time_cap_reached_count: u64,
    pub expire_cycles: u64,
    pub lazyfreed_objects: u64,
    /// Largest `used_memory` observed (INFO used_memory_peak).
    pub peak_memory: u64,
    pub ops: RateMeter,
    pub net_input: RateMeter,
    pub net_output: RateMeter,
    /// Counters per command name, hashed: counting a call is one short
    /// hash and compare (a sorted map cost ~8 string compares per call).
    /// INFO sorts the names when it prints them.
    pub commands: std::collections::HashMap<String, CommandStats, FixedHasher>,
    /// Error replies by code (the first word: `ERR`, `WRONGTYPE`, ...).
    pub errors: std::collections::BTreeMap<String, u64>,
}

/// Builds [`NameHasher`]s for the commandstats map.
pub type FixedHasher = std::hash::BuildHasherDefault<NameHasher>;

/// A multiply-and-xor hash for command names, run on every counted call.
/// The names are the command table's, a fixed set no client adds to, so
/// a keyed hash (against flooding) buys nothing here and costs several
/// times more on a short name. Deterministic: iteration order never
/// reaches a reply unsorted, and the engine reads no OS randomness.
#[derive(Clone, Copy, Debug, Default)]
pub struct NameHasher(u64);

impl NameHasher {
    /// An odd constant with well-spread bits (rustc-hash's).
    const MULTIPLIER: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(Self::MULTIPLIER);
    }
}

impl std::hash::Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let word: [u8; 8] = word.try_into().expect("chunks_exact gives 8 bytes");
            self.add(u64::from_le_bytes(word));
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let word = tail
                .iter()
                .enumerate()
                .fold(0u64, |w, (i, &b)| w | u64::from(b) << (8 * i));
            self.add(word);
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        // The product's high bits are its best mixed: the table indexes
        // with the low ones.
        self.0.rotate_left(26)
    }
}

impl Stats {
    /// Commands per second, as INFO instantaneous_ops_per_sec.
    pub fn instantaneous_ops_per_sec(&self) -> u64 {
        self.ops.per_sec() as u64
    }

    /// Samples the instantaneous meters (from the cron).
    pub fn sample_rates(&mut self, now_ms: u64) {
        self.ops.sample(now_ms, self.total_commands_processed);
        self.net_input.sample(now_ms, self.total_net_input_bytes);
        self.net_output.sample(now_ms, self.total_net_output_bytes);
    }

    /// Counts an error reply under its code.
    pub fn count_error(&mut self, text: &str) {
        self.total_error_replies += 1;
        let code = error_code(text);
        if let Some(n) = self.errors.get_mut(code) {
            *n += 1;
        } else if self.errors.len() < MAX_ERROR_CODES {
            self.errors.insert(code.to_string(), 1);
        }
    }

    pub fn command(&mut self, full_name: &str) -> &mut CommandStats {
        if !self.commands.contains_key(full_name) {
            self.commands
                .insert(full_name.to_string(), CommandStats::default());
        }
        self.commands.get_mut(full_name).expect("just inserted")
    }

    /// Counts a call of `full_name` (a failed one if it replied an error).
    pub fn count_call(&mut self, full_name: &str, failed: bool) {
        self.update_command(full_name, |entry| {
            entry.calls += 1;
            entry.failed_calls += u64::from(failed);
        });
    }

    /// Counts a call of `full_name` refused before it ran.
    pub fn count_rejected(&mut self, full_name: &str) {
        self.update_command(full_name, |entry| entry.rejected_calls += 1);
    }

    /// Applies `update` to the command's counters: one map lookup once
    /// the command has counters (every call but its first), and no
    /// allocation then.
    fn update_command(&mut self, full_name: &str, update: impl FnOnce(&mut CommandStats)) {
        match self.commands.get_mut(full_name) {
            Some(entry) => update(entry),
            None => {
                let mut entry = CommandStats::default();
                update(&mut entry);
                self.commands.insert(full_name.to_string(), entry);
            }
        }
    }

    pub fn reset(&mut self) {
        *self = Stats::default();
    }
}

/// The code an error is counted under: its first word when that is an
/// upper-case code within the first 32 bytes (`WRONGTYPE`, `NOAUTH`),
/// otherwise `ERR`, as Redis counts free-form errors (DEBUG ERROR).
fn error_code(text: &str) -> &str {
    let head = &text.as_bytes()[..text.len().min(32)];
    match head.iter().position(|&c| c == b' ') {
        Some(n) if n > 0 && head[..n].iter().all(u8::is_ascii_uppercase) => &text[..n],
        _ => "ERR",
    }
}

/// Estimated memory use, in bytes (INFO memory). Keel does not measure its
/// allocator: these are sums of the sizes of what the node holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Everything below added up.
    pub total: u64,
    /// The node's fixed structures, present from start.
    pub startup: u64,
    /// Keys and values (their bytes).
    pub dataset: u64,
    /// Per-key bookkeeping: table entries, buckets, expiry entries.
    pub keyspace_overhead: u64,
    /// Client structures and buffers.
    pub clients: u64,
    /// Values waiting to be freed lazily.
    pub lazyfree: u64,
}

impl MemoryUsage {
    /// Everything that is not the dataset (INFO used_memory_overhead).
    pub fn overhead(&self) -> u64 {
        self.total - self.dataset
    }
}

/// Bookkeeping bytes per key in the main table: its slab entry (the key
/// when short, the chain link, the object). Buckets are counted apart.
const KEY_ENTRY_OVERHEAD: u64 = Dict::<Object>::ENTRY_BYTES as u64;
/// Bookkeeping bytes per key with a TTL, in the expiry table.
const EXPIRE_ENTRY_OVERHEAD: u64 = Dict::<u64>::ENTRY_BYTES as u64;
/// Bytes per bucket of a table (a slot index).
const BUCKET_BYTES: u64 = 4;

pub struct Server {
    pub config: Config,
    pub now: Now,
    /// When the node started.
    pub started: Now,
    /// 40 hex characters, drawn from the seed (INFO run_id).
    pub run_id: String,
    pub dbs: Vec<Db>,
    pub rng: ChaCha8Rng,
    pub stats: Stats,
    pub table: CommandTable,
    /// Changes to the dataset since start (Redis's server.dirty).
    pub dirty: u64,
    /// Outputs other than a client's own replies, in order.
    pub outputs: VecDeque<Output>,
    /// Disk requests in flight (snapshots, the append-only log).
    pub disk: crate::disk::DiskQueue,
    /// Whether the databases log expired and created keys (see
    /// [`crate::notify::sync_key_logs`]): checked per command, changed rarely.
    pub key_logs: (bool, bool),
    /// Expired keys whose DEL is in the effects and whose `expired` event
    /// is not published yet (see [`Server::stage_expired`]).
    expired_staged: Vec<(usize, bytes::Bytes)>,
    /// Write effects for the AOF and replicas (recorded only when one is attached).
    pub effects: crate::effects::Effects,
    /// Values waiting to be freed in bounded steps (UNLINK, FLUSHALL ASYNC),
    /// the last one first.
    lazyfree: Vec<Doomed>,
    /// What the queued values hold, by [`lazyfree_bytes`], kept as the
    /// queue changes.
    lazyfree_bytes: u64,
    /// DEBUG SLEEP: the server processes nothing until this monotonic time.
    pub paused_until: Option<u64>,
    /// The client that asked DEBUG SLEEP, to be answered when it ends.
    pub sleeping_client: Option<crate::client::ClientId>,
    /// Next monotonic time the periodic cron runs.
    pub next_cron_ms: u64,
    /// Next client id to hand out.
    pub next_client_id: u64,
    /// Set by SHUTDOWN: the node accepts no more input.
    pub shutting_down: bool,
    /// Replication id (INFO master_replid): 40 hex characters from the seed.
    pub replid: String,
    /// Active expiry runs in the cron (DEBUG SET-ACTIVE-EXPIRE turns it off).
    pub active_expire_enabled: bool,
    /// DEBUG PAUSE-CRON: the periodic cron does nothing while set.
    pub cron_paused: bool,
    /// Pub/sub subscriptions, by channel, pattern and shard channel.
    pub pubsub: crate::pubsub::PubSub,
    /// Who WATCHes which keys, and whose transaction already failed.
    pub watches: crate::watch::Watches,
    /// Lua scripting: the Lua state, the script cache (EVAL, SCRIPT).
    pub scripting: crate::lua::Scripting,
    /// The append-only file (see [`crate::aof`]).
    pub aof: crate::aof::Aof,
    /// Snapshots and loading (see [`crate::persist`]).
    pub persist: crate::persist::Persist,
    /// Replication: backlog, replicas, the link to a master.
    pub repl: crate::repl::Repl,
}

impl Server {
    /// Before a client's next commands run: warms the table entries (and
    /// string values) of the keys the next [`WARM_BATCH`] of them name (in database `db`,
    /// the client's, which a SELECT among them may change: only a hint).
    /// A pipeline's lookups then overlap their cache misses instead of
    /// waiting for each in turn (the keyspace of a large dataset is
    /// mostly out of cache). Returns how many commands it looked at.
    pub fn warm_keys(&self, db: usize, query: &[u8]) -> usize {
        let Some(db) = self.dbs.get(db) else {
            return 0;
        };
        // Every command but the first starts with a `*` header: without
        // one further on, the buffer holds at most one command, whose
        // lone lookup has no other miss to overlap with. Finding that
        // out costs a byte search instead of reading the headers.
        if !query.get(1..).is_some_and(|rest| rest.contains(&b'*')) {
            return 1;
        }
        let mut keys: [&[u8]; WARM_BATCH] = [&[]; WARM_BATCH];
        let mut found = 0;
        let seen = crate::resp::ahead::keys_ahead(query, WARM_BATCH, |key| {
            keys[found] = key;
            found += 1;
        });
        // A lone lookup has no other miss to overlap with: warming it
        // would only read its entry twice.
        if found > 1 {
            db.warm(&keys[..found]);
        }
        seen
    }

    pub fn new(config: Config, now: Now) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let run_id = hex_id(&mut rng);
        // Drawn from its own stream so the main RNG's sequence stays as it was.
        let replid = hex_id(&mut ChaCha8Rng::seed_from_u64(config.seed ^ REPLID_STREAM));
        let dbs = (0..config.databases)
            .map(|i| Db::new(config.seed.wrapping_add(i as u64)))
            .collect();
        Server {
            config,
            now,
            started: now,
            run_id,
            dbs,
            rng,
            stats: Stats::default(),
            table: CommandTable::new(),
            dirty: 0,
            outputs: VecDeque::new(),
            disk: crate::disk::DiskQueue::default(),
            key_logs: (false, false),
            expired_staged: Vec::new(),
            effects: crate::effects::Effects::default(),
            lazyfree: Vec::new(),
            lazyfree_bytes: 0,
            paused_until: None,
            sleeping_client: None,
            next_cron_ms: now.mono_ms,
            next_client_id: 1,
            shutting_down: false,
            replid,
            active_expire_enabled: true,
            cron_paused: false,
            pubsub: Default::default(),
            watches: crate::watch::Watches::default(),
            scripting: crate::lua::Scripting::default(),
            aof: crate::aof::Aof::default(),
            persist: crate::persist::Persist::new(now),
            repl: crate::repl::Repl::default(),
        }
    }

    /// Emits disk operation `op` (performed after every one emitted
    /// before); its answer arrives as `Input::DiskDone` with the returned id.
    pub fn disk_request(&mut self, op: crate::disk::DiskOp) -> crate::disk::RequestId {
        let request = self.disk.request(op);
        let id = request.id;
        self.outputs.push_back(Output::Disk(request));
        id
    }

    /// Turns effect recording on or off (an AOF or a replica is attached,
    /// or the last one went away). The databases then log the keys they
    /// expire so their deletions propagate (see [`crate::notify::sync_key_logs`]).
    pub fn record_effects(&mut self, on: bool) {
        self.effects.set_recording(on);
        crate::notify::sync_key_logs(self);
    }

    /// Attaches or detaches the replication stream as a consumer of the
    /// effects (the AOF is the other, with [`Server::record_effects`]).
    pub fn record_effects_for_replicas(&mut self, on: bool) {
        self.effects.set_replicas(on);
        crate::notify::sync_key_logs(self);
    }

    /// Takes the keys the databases expired, by database, and moves them
    /// into the running unit's effects as `DEL`s if effects are recorded
    /// (Redis propagates expiry as a deletion). The caller publishes their
    /// `expired` events.
    pub fn propagate_expired(&mut self) -> Vec<(usize, bytes::Bytes)> {
        self.stage_expired();
        std::mem::take(&mut self.expired_staged)
    }

    /// Whether expired keys wait for their `expired` events.
    pub fn has_expired_staged(&self) -> bool {
        !self.expired_staged.is_empty()
    }

    /// Moves the keys the databases expired so far into the running
    /// unit's effects, as `DEL`s, keeping them for their `expired` events.
    /// Called before a command adds an effect of its own, so deletions
    /// come first, as in Redis.
    pub fn stage_expired(&mut self) {
        if !self.key_logs.0 {
            return;
        }
        for (index, db) in self.dbs.iter_mut().enumerate() {
            if !db.has_expired_log() {
                continue;
            }
            for key in db.take_expired_log() {
                if self.effects.is_recording() {
                    let del = vec![bytes::Bytes::from_static(b"DEL"), key.clone()];
                    self.effects.push(index, del);
                }
                self.expired_staged.push((index, key));
            }
        }
    }

    /// Marks the transactions that WATCH `key` in `db` as failed (Redis's
    /// `touchWatchedKey`).
    pub fn touch_watched_key(&mut self, db: usize, key: &[u8]) {
        if self.watches.is_empty() {
            return;
        }
        let exists = self.dbs.get(db).is_some_and(|d| d.keys().contains_key(key));
        self.watches.touch(db, key, exists);
    }

    /// Database `db` is about to be emptied (FLUSHDB, FLUSHALL): the
    /// watched keys it holds are touched.
    pub fn touch_watched_keys_on_flush(&mut self, db: usize) {
        if self.watches.is_empty() {
            return;
        }
        let now = self.now.unix_ms;
        self.watches.touch_all_in_db(db, &self.dbs[db], None, now);
    }

    /// Databases `a` and `b` are about to swap contents (SWAPDB): the
    /// watched keys of each that exist in either are touched.
    pub fn touch_watched_keys_on_swap(&mut self, a: usize, b: usize) {
        if self.watches.is_empty() || a == b {
            return;
        }
        let now = self.now.unix_ms;
        let (db_a, db_b) = (&self.dbs[a], &self.dbs[b]);
        self.watches.touch_all_in_db(a, db_a, Some(db_b), now);
        self.watches.touch_all_in_db(b, db_b, Some(db_a), now);
    }

    /// DEBUG CHANGE-REPL-ID: a fresh replication id, drawn from the seeded RNG.
    pub fn change_replid(&mut self) {
        self.replid = hex_id(&mut self.rng);
    }

    pub fn uptime_secs(&self) -> u64 {
        self.now.mono_ms.saturating_sub(self.started.mono_ms) / 1000
    }

    /// Queues keys and their values (deleted ones, or a whole emptied
    /// database) to be freed later, in bounded steps from the cron.
    pub fn free_lazily(&mut self, doomed: impl Into<Doomed>) {
        let doomed = doomed.into();
        if doomed.len() > 0 {
            self.lazyfree_bytes += doomed.bytes();
            self.lazyfree.push(doomed);
        }
    }

    /// One step of lazy freeing, worth at most `budget` units of work: each
    /// key freed costs one, and so does each element of a big collection,
    /// which is emptied a bounded part per step (so one huge value never
    /// stalls the server). Returns the number of keys still queued.
    pub fn lazyfree_step(&mut self, budget: usize) -> usize {
        let mut left = budget;
        while left > 0 {
            let Some(doomed) = self.lazyfree.last_mut() else {
                break;
            };
            let Some(obj) = doomed.last_mut() else {
                self.lazyfree.pop();
                continue;
            };
            let before = obj.value.mem_usage();
            let drained = drain_some(&mut obj.value, left);
            let shrunk = before.saturating_sub(obj.value.mem_usage()) as u64;
            self.lazyfree_bytes = self.lazyfree_bytes.saturating_sub(shrunk);
            left -= drained;
            if left == 0 {
                // The value may hold more: the next step goes on with it.
                break;
            }
            if let Some(entry) = doomed.pop() {
                self.lazyfree_bytes = self.lazyfree_bytes.saturating_sub(lazyfree_bytes(&entry));
                self.stats.lazyfreed_objects += 1;
                left -= 1;
            }
        }
        self.lazyfree_pending()
    }

    pub fn expired_keys(&self) -> u64 {
        self.dbs.iter().map(|d| d.expired_keys).sum()
    }

    /// Keys queued for lazy freeing (INFO lazyfree_pending_objects).
    pub fn lazyfree_pending(&self) -> usize {
        self.lazyfree.iter().map(Doomed::len).sum()
    }

    /// Total keys with a TTL and total keys, over all databases.
    pub fn key_counts(&self) -> (usize, usize) {
        let keys = self.dbs.iter().map(Db::len).sum();
        let expires = self.dbs.iter().map(|d| d.expires().len()).sum();
        (keys, expires)
    }

    /// Estimates the memory the node holds; `clients` is what the clients
    /// hold (the server does not own them). O(databases): the databases
    /// and the lazy-free queue keep their sizes as they change.
    pub fn memory_usage(&self, clients: u64) -> MemoryUsage {
        let startup = (std::mem::size_of::<Server>()
            + self.dbs.len() * std::mem::size_of::<Db>()
            + self.table.len() * std::mem::size_of::<usize>() * 4) as u64;
        let mut dataset = 0u64;
        let mut keyspace_overhead = 0u64;
        for db in &self.dbs {
            let (keys, expires) = (db.keys(), db.expires());
            dataset += db.dataset_bytes();
            keyspace_overhead += keys.len() as u64 * KEY_ENTRY_OVERHEAD
                + expires.len() as u64 * EXPIRE_ENTRY_OVERHEAD
                + (keys.buckets() + expires.buckets()) as u64 * BUCKET_BYTES;
        }
        let lazyfree = self.lazyfree_bytes;
        let total = startup + dataset + keyspace_overhead + clients + lazyfree;
        MemoryUsage {
            total,
            startup,
            dataset,
            keyspace_overhead,
            clients,
            lazyfree,
        }
    }

    /// The memory estimate, also recording it as the peak if it is one.
    pub fn observe_memory(&mut self, clients: u64) -> MemoryUsage {
        let usage = self.memory_usage(clients);
        self.stats.peak_memory = self.stats.peak_memory.max(usage.total);
        usage
    }
}

/// What a value queued for lazy freeing holds: its key, its value and
/// the table entry it had.
fn lazyfree_bytes((key, obj): &(StoredKey, Object)) -> u64 {
    entry_bytes(key, obj)
}

fn entry_bytes(key: &[u8], obj: &Object) -> u64 {
    (key.len() + obj.value.mem_usage()) as u64 + KEY_ENTRY_OVERHEAD
}

/// Keys waiting in the lazy-free queue, freed from the end.
pub enum Doomed {
    /// Deleted keys (UNLINK, DEL under lazyfree-lazy-user-del).
    Entries(Vec<(StoredKey, Object)>),
    /// The main table of an emptied database (FLUSHALL ASYNC), with the
    /// dataset bytes it held.
    Table(Cleared),
}

impl From<Vec<(StoredKey, Object)>> for Doomed {
    fn from(entries: Vec<(StoredKey, Object)>) -> Doomed {
        Doomed::Entries(entries)
    }
}

impl From<Cleared> for Doomed {
    fn from(cleared: Cleared) -> Doomed {
        Doomed::Table(cleared)
    }
}

impl Doomed {
    fn len(&self) -> usize {
        match self {
            Doomed::Entries(entries) => entries.len(),
            Doomed::Table(cleared) => cleared.len(),
        }
    }

    /// What it holds, by [`lazyfree_bytes`]: a walk of a few deleted keys,
    /// O(1) for a table (its database kept the count).
    fn bytes(&self) -> u64 {
        match self {
            Doomed::Entries(entries) => entries.iter().map(lazyfree_bytes).sum(),
            Doomed::Table(cleared) => cleared.bytes + cleared.len() as u64 * KEY_ENTRY_OVERHEAD,
        }
    }

    /// The object freed next.
    fn last_mut(&mut self) -> Option<&mut Object> {
        match self {
            Doomed::Entries(entries) => entries.last_mut().map(|(_, obj)| obj),
            Doomed::Table(cleared) => cleared.keys.last_mut(),
        }
    }

    fn pop(&mut self) -> Option<(StoredKey, Object)> {
        match self {
            Doomed::Entries(entries) => entries.pop(),
            Doomed::Table(cleared) => cleared.keys.pop_last(),
        }
    }
}

/// Seed mix for the replication id's own random stream.
const REPLID_STREAM: u64 = 0x7265_706c_6964_0001;

/// 40 hex characters, as Redis's run and replication ids.
fn hex_id(rng: &mut ChaCha8Rng) -> String {
    (0..20)
        .map(|_| format!("{:02x}", rng.next_u32() as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::frame::Frame;
    use crate::testing::Harness;
    use crate::types::{StrValue, Value};

    fn string_entries(srv: &mut Server, n: usize) -> Vec<(StoredKey, Object)> {
        let db = &mut srv.dbs[0];
        (0..n)
            .map(|i| {
                let key = format!("key:{i}:{}", "k".repeat(i % 40));
                let value = Value::Str(StrValue::from_bytes(format!("value {i}").as_bytes()));
                db.set(key.as_bytes(), value, 0, false);
                db.take(key.as_bytes()).expect("just set")
            })
            .collect()
    }

    impl Doomed {
        /// What the queued keys hold, by walking them.
        fn walk_bytes(&self) -> u64 {
            match self {
                Doomed::Entries(entries) => entries.iter().map(lazyfree_bytes).sum(),
                Doomed::Table(cleared) => cleared.keys.iter().map(|(k, o)| entry_bytes(k, o)).sum(),
            }
        }

        /// Elements of the value freed next (1 for a string).
        fn next_len(&mut self) -> Option<usize> {
            Some(value_len(&self.last_mut()?.value))
        }
    }

    fn value_len(value: &Value) -> usize {
        match value {
            Value::Str(_) => 1,
            Value::List(v) => v.len(),
            Value::Hash(v) => v.len(),
            Value::Set(v) => v.len(),
            Value::ZSet(v) => v.len(),
        }
    }

    fn walk(srv: &Server) -> u64 {
        srv.lazyfree.iter().map(Doomed::walk_bytes).sum()
    }

    /// Fills `key` with `n` elements of `kind` (big encodings), one
    /// command at a time so the arguments stay few.
    fn fill(h: &mut Harness, kind: &str, key: &str, n: usize) {
        let c = h.connect();
        for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
            let mut args = vec![kind.to_string(), key.to_string()];
            for &i in chunk {
                match kind {
                    "RPUSH" | "SADD" => args.push(format!("member:{i}")),
                    "HSET" => args.extend([format!("field:{i}"), format!("{i}")]),
                    _ => args.extend([format!("{i}"), format!("member:{i}")]),
                }
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert!(matches!(h.call(c, &args), Frame::Int(_)), "{kind}");
        }
    }

    #[test]
    fn lazyfree_bytes_follow_the_queue() {
        let mut h = Harness::new(Config::default());
        fill(&mut h, "RPUSH", "list", 3000);
        fill(&mut h, "HSET", "hash", 700);
        fill(&mut h, "ZADD", "zset", 900);
        fill(&mut h, "SADD", "set", 800);
        let srv = h.node.server_mut();
        let big: Vec<_> = ["list", "hash", "zset", "set"]
            .iter()
            .map(|k| srv.dbs[0].take(k.as_bytes()).expect("filled"))
            .collect();
        let strings = string_entries(srv, 25);
        srv.free_lazily(strings);
        srv.free_lazily(Vec::new());
        srv.free_lazily(big);
        let more = string_entries(srv, 7);
        for (key, obj) in more {
            srv.dbs[1].put(key, obj, None);
        }
        let cleared = srv.dbs[1].clear();
        srv.free_lazily(cleared);
        assert_eq!(srv.lazyfree_pending(), 25 + 4 + 7);
        assert_eq!(srv.memory_usage(0).lazyfree, walk(srv));
        assert!(walk(srv) > 36 * KEY_ENTRY_OVERHEAD);
        let mut budgets = [3, 10, 0, 12, 1, 700, 64, 999].into_iter().cycle();
        while srv.lazyfree_pending() > 0 {
            let budget = budgets.next().expect("cycles");
            srv.lazyfree_step(budget);
            assert_eq!(srv.memory_usage(0).lazyfree, walk(srv), "budget {budget}");
        }
        assert_eq!(srv.memory_usage(0).lazyfree, 0);
        assert_eq!(srv.stats.lazyfreed_objects, 36);
        assert!(srv.lazyfree.is_empty());
    }

    /// UNLINK of a collection of `n` elements: every step frees at most
    /// its budget, the value goes in about n / budget steps, and the
    /// memory estimate comes back to what it was before the key existed.
    fn unlink_frees_in_bounded_steps(kind: &str, n: usize, encoding: &str) {
        const BUDGET: usize = 1000;
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        let baseline = h.node.server_mut().memory_usage(0).total;
        fill(&mut h, kind, "big", n);
        let encoded = h.call(c, &["OBJECT", "ENCODING", "big"]);
        assert_eq!(
            encoded,
            Frame::Bulk(bytes::Bytes::copy_from_slice(encoding.as_bytes())),
            "{kind}"
        );
        assert_eq!(h.call(c, &["UNLINK", "big"]), Frame::Int(1));
        let srv = h.node.server_mut();
        assert_eq!(srv.lazyfree_pending(), 1, "{kind}: queued, not freed");
        let mut steps = 0;
        while let Some(before) = srv.lazyfree.last_mut().and_then(Doomed::next_len) {
            srv.lazyfree_step(BUDGET);
            steps += 1;
            let after = srv.lazyfree.last_mut().and_then(Doomed::next_len);
            let freed = before - after.unwrap_or(0);
            assert!(freed <= BUDGET, "{kind}: step {steps} freed {freed}");
            assert_eq!(srv.memory_usage(0).lazyfree, walk(srv), "{kind}");
        }
        // n elements, then the key: one more unit.
        assert_eq!(steps, (n + 1).div_ceil(BUDGET), "{kind}");
        assert_eq!(srv.lazyfree_pending(), 0);
        assert_eq!(
            srv.stats.lazyfreed_objects, 1,
            "{kind}: objects, not elements"
        );
        assert_eq!(
            srv.memory_usage(0).total,
            baseline,
            "{kind}: nothing left over"
        );
    }

    #[test]
    fn flushall_async_frees_a_huge_value_among_small_ones_in_bounded_steps() {
        const BUDGET: usize = 1000;
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        let baseline = h.node.server_mut().memory_usage(0).total;
        for i in 0..5 {
            h.call(c, &["SET", &format!("before:{i}"), "v"]);
        }
        fill(&mut h, "RPUSH", "big", 50_000);
        for i in 0..5 {
            h.call(c, &["SET", &format!("after:{i}"), "v"]);
        }
        assert_eq!(
            h.call(c, &["FLUSHALL", "ASYNC"]),
            Frame::Simple("OK".into())
        );
        let srv = h.node.server_mut();
        assert_eq!(srv.lazyfree_pending(), 11);
        let mut steps = 0;
        while srv.lazyfree_step(BUDGET) > 0 {
            steps += 1;
            assert_eq!(srv.memory_usage(0).lazyfree, walk(srv));
        }
        // Every step but the last spends its whole budget: the ten strings
        // and the list's key cost one each, its elements one each.
        assert_eq!(steps + 1, (50_000 + 11usize).div_ceil(BUDGET));
        assert_eq!(srv.stats.lazyfreed_objects, 11);
        assert_eq!(srv.memory_usage(0).total, baseline);
    }

    #[test]
    fn a_huge_list_is_freed_in_bounded_steps() {
        unlink_frees_in_bounded_steps("RPUSH", 50_000, "quicklist");
    }

    #[test]
    fn a_huge_hash_is_freed_in_bounded_steps() {
        unlink_frees_in_bounded_steps("HSET", 20_500, "hashtable");
    }

    #[test]
    fn a_huge_set_is_freed_in_bounded_steps() {
        unlink_frees_in_bounded_steps("SADD", 20_999, "hashtable");
    }

    #[test]
    fn a_huge_sorted_set_is_freed_in_bounded_steps() {
        unlink_frees_in_bounded_steps("ZADD", 30_000, "skiplist");
    }

    #[test]
    fn every_command_name_counts_apart() {
        use std::hash::BuildHasher;
        let names = [
            "set",
            "get",
            "getset",
            "sadd",
            "zadd",
            "client|list",
            "client|kill",
            "config|get",
            "config|set",
            "object|encoding",
            "object|freq",
            "xinfo|stream",
            "xinfo|groups",
            "",
        ];
        let mut stats = Stats::default();
        for (i, name) in names.iter().enumerate() {
            for _ in 0..=i {
                stats.count_call(name, false);
            }
        }
        stats.count_rejected("set");
        for (i, name) in names.iter().enumerate() {
            assert_eq!(stats.commands[*name].calls, i as u64 + 1, "{name}");
        }
        assert_eq!(stats.commands["set"].rejected_calls, 1);
        let hashes: std::collections::BTreeSet<u64> = names
            .iter()
            .map(|n| FixedHasher::default().hash_one(n))
            .collect();
        assert_eq!(hashes.len(), names.len(), "no two of these names collide");
    }
}
