//! Server-wide state shared by all clients: databases, config, statistics,
//! the seeded RNG and the queue of outputs that are not replies.

use crate::cmd::CommandTable;
use crate::config::Config;
use crate::db::{Db, Object};
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
    pub commands: std::collections::BTreeMap<String, CommandStats>,
    /// Error replies by code (the first word: `ERR`, `WRONGTYPE`, ...).
    pub errors: std::collections::BTreeMap<String, u64>,
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

/// Bookkeeping bytes per key in the main table: the slot (key handle,
/// object, hash, chain link) and a share of the bucket array.
const KEY_ENTRY_OVERHEAD: u64 = (std::mem::size_of::<(bytes::Bytes, Object)>() + 16) as u64;
/// Bookkeeping bytes per key with a TTL, in the expiry table.
const EXPIRE_ENTRY_OVERHEAD: u64 = (std::mem::size_of::<(bytes::Bytes, u64)>() + 16) as u64;
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
    /// Write effects for the AOF and replicas (recorded only when one is attached).
    pub effects: crate::effects::Effects,
    /// Values waiting to be freed in bounded steps (UNLINK, FLUSHALL ASYNC).
    lazyfree: Vec<Vec<(bytes::Bytes, Object)>>,
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
    /// Snapshots and loading (see [`crate::persist`]).
    pub persist: crate::persist::Persist,
}

impl Server {
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
            persist: crate::persist::Persist::new(now),
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
    /// expire so their deletions propagate.
    pub fn record_effects(&mut self, on: bool) {
        self.effects.set_recording(on);
        for db in &mut self.dbs {
            db.log_expired(on);
        }
    }

    /// Moves the keys the databases expired into the running unit's
    /// effects, as `DEL`s (Redis propagates expiry as a deletion).
    pub fn propagate_expired(&mut self) {
        if !self.effects.is_recording() {
            return;
        }
        for (index, db) in self.dbs.iter_mut().enumerate() {
            for key in db.take_expired_log() {
                self.effects
                    .push(index, vec![bytes::Bytes::from_static(b"DEL"), key]);
            }
        }
    }

    /// Marks the transactions that WATCH `key` in `db` as failed (Redis's
    /// `touchWatchedKey`).
    pub fn touch_watched_key(&mut self, _db: usize, _key: &[u8]) {
        // WATCH arrives with MULTI/EXEC; until then nobody watches.
    }

    /// DEBUG CHANGE-REPL-ID: a fresh replication id, drawn from the seeded RNG.
    pub fn change_replid(&mut self) {
        self.replid = hex_id(&mut self.rng);
    }

    pub fn uptime_secs(&self) -> u64 {
        self.now.mono_ms.saturating_sub(self.started.mono_ms) / 1000
    }

    /// Queues values to be freed later, a bounded number per cron step.
    pub fn free_lazily(&mut self, values: Vec<(bytes::Bytes, Object)>) {
        if !values.is_empty() {
            self.lazyfree_bytes += values.iter().map(lazyfree_bytes).sum::<u64>();
            self.lazyfree.push(values);
        }
    }

    /// Frees up to `budget` queued values; returns how many remain.
    pub fn lazyfree_step(&mut self, mut budget: usize) -> usize {
        while budget > 0 {
            let Some(batch) = self.lazyfree.last_mut() else {
                break;
            };
            let n = budget.min(batch.len());
            let freed: u64 = batch
                .drain(batch.len() - n..)
                .map(|e| lazyfree_bytes(&e))
                .sum();
            self.lazyfree_bytes = self.lazyfree_bytes.saturating_sub(freed);
            self.stats.lazyfreed_objects += n as u64;
            budget -= n;
            if batch.is_empty() {
                self.lazyfree.pop();
            }
        }
        self.lazyfree.iter().map(Vec::len).sum()
    }

    pub fn expired_keys(&self) -> u64 {
        self.dbs.iter().map(|d| d.expired_keys).sum()
    }

    /// Values queued for lazy freeing (INFO lazyfree_pending_objects).
    pub fn lazyfree_pending(&self) -> usize {
        self.lazyfree.iter().map(Vec::len).sum()
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
fn lazyfree_bytes((key, obj): &(bytes::Bytes, Object)) -> u64 {
    (key.len() + obj.value.mem_usage()) as u64 + KEY_ENTRY_OVERHEAD
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
    use crate::types::{StrValue, Value};
    use bytes::Bytes;

    fn entries(n: usize) -> Vec<(Bytes, Object)> {
        (0..n)
            .map(|i| {
                let value = Value::Str(StrValue::from_bytes(format!("value {i}").as_bytes()));
                (Bytes::from(format!("key:{i}")), Object::new(value, 0))
            })
            .collect()
    }

    #[test]
    fn lazyfree_bytes_follow_the_queue() {
        let mut srv = Server::new(Config::default(), Now::new(0, 0));
        let walk = |srv: &Server| {
            srv.lazyfree
                .iter()
                .flatten()
                .map(lazyfree_bytes)
                .sum::<u64>()
        };
        srv.free_lazily(entries(25));
        srv.free_lazily(Vec::new());
        srv.free_lazily(entries(7));
        assert_eq!(srv.memory_usage(0).lazyfree, walk(&srv));
        assert!(walk(&srv) > 32 * KEY_ENTRY_OVERHEAD);
        for budget in [3, 10, 0, 12] {
            srv.lazyfree_step(budget);
            assert_eq!(srv.memory_usage(0).lazyfree, walk(&srv), "budget {budget}");
        }
        assert_eq!(srv.lazyfree_step(100), 0);
        assert_eq!(srv.memory_usage(0).lazyfree, 0);
        assert_eq!(srv.stats.lazyfreed_objects, 32);
    }
}
