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

/// Counters reported by INFO (stats section), with Redis's meaning.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub total_connections_received: u64,
    pub rejected_connections: u64,
    pub total_commands_processed: u64,
    pub total_net_input_bytes: u64,
    pub total_net_output_bytes: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub total_error_replies: u64,
    pub unexpected_error_replies: u64,
    pub expired_stale_perc_x100: u64,
    pub expire_cycles: u64,
    pub lazyfreed_objects: u64,
    /// Samples of (mono_ms, total_commands_processed) for instantaneous_ops_per_sec.
    pub ops_samples: VecDeque<(u64, u64)>,
    /// Per-command calls, by full name (`get`, `client|list`).
    pub command_calls: std::collections::BTreeMap<String, u64>,
}

impl Stats {
    /// Operations per second over the sampled window (Redis samples each 100 ms over 1.6 s).
    pub fn instantaneous_ops_per_sec(&self) -> u64 {
        match (self.ops_samples.front(), self.ops_samples.back()) {
            (Some(&(t0, c0)), Some(&(t1, c1))) if t1 > t0 => (c1 - c0) * 1000 / (t1 - t0),
            _ => 0,
        }
    }

    pub fn reset(&mut self) {
        let samples = std::mem::take(&mut self.ops_samples);
        *self = Stats {
            ops_samples: samples,
            ..Stats::default()
        };
    }
}

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
    /// Values waiting to be freed in bounded steps (UNLINK, FLUSHALL ASYNC).
    pub lazyfree: Vec<Vec<(bytes::Bytes, Object)>>,
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
}

impl Server {
    pub fn new(config: Config, now: Now) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let run_id = (0..20)
            .map(|_| format!("{:02x}", rng.next_u32() as u8))
            .collect();
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
            lazyfree: Vec::new(),
            paused_until: None,
            sleeping_client: None,
            next_cron_ms: now.mono_ms,
            next_client_id: 1,
            shutting_down: false,
        }
    }

    pub fn uptime_secs(&self) -> u64 {
        self.now.mono_ms.saturating_sub(self.started.mono_ms) / 1000
    }

    /// Queues values to be freed later, a bounded number per cron step.
    pub fn free_lazily(&mut self, values: Vec<(bytes::Bytes, Object)>) {
        if !values.is_empty() {
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
            batch.truncate(batch.len() - n);
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
}
