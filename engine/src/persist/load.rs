//! Loading an RDB file into the databases: at start (in bounded steps,
//! while clients get `-LOADING`) and for DEBUG RELOAD (at once).
//!
//! The file is read whole through a disk request; each step resumes the
//! RDB loader where the previous one stopped, so only the file and a
//! position are kept between steps. Keys already expired are dropped (a
//! master does so). Corruption anywhere refuses the whole file: at start
//! the node stops with the file and offset named, never half-loaded.

use crate::db::Object;
use crate::disk::{DiskOp, DiskReply, DiskResult, RequestId};
use crate::rdb::loader::{restored_access, Entry, Item, RdbLoader};
use crate::rdb::{Encodings, RdbError};
use crate::server::Server;
use crate::time::Now;
use bytes::Bytes;

/// Why loading is happening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// At start, in steps.
    Startup,
    /// DEBUG RELOAD: at once; `merge` replaces keys that already exist
    /// (NOFLUSH MERGE) instead of refusing the file.
    Reload { merge: bool },
}

/// How loading ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadEnd {
    Loaded,
    /// No file: an empty dataset.
    NotFound,
    Failed(String),
}

#[derive(Debug)]
enum Phase {
    Reading(RequestId),
    Loading { data: Bytes, offset: u64, db: u64 },
}

#[derive(Debug)]
pub struct LoadJob {
    path: String,
    mode: Mode,
    phase: Phase,
    pub started: Now,
    pub total_bytes: u64,
    pub loaded_bytes: u64,
    /// The `used-mem` the file says its writer had.
    pub rdb_used_mem: u64,
    pub keys_loaded: u64,
    pub keys_expired: u64,
    /// The next percentage at which progress is logged.
    next_log_perc: u64,
    /// The replication history fields of the file (`repl-id`, ...).
    history: crate::repl::snapshot::HistoryFields,
    /// The keys dropped as already expired, by database, for the stream
    /// of a primary that continues its saved history (see
    /// [`crate::repl::snapshot::restore_history`]). Filled by `insert`
    /// when it names what it drops; `keys_expired` counts them all.
    pub expired_on_load: Vec<(usize, Bytes)>,
}

impl LoadJob {
    /// Asks for the file at `path`.
    pub fn begin(srv: &mut Server, path: String, mode: Mode) -> LoadJob {
        let request = srv.disk_request(DiskOp::Read { path: path.clone() });
        LoadJob {
            path,
            mode,
            phase: Phase::Reading(request),
            started: srv.now,
            total_bytes: 0,
            loaded_bytes: 0,
            rdb_used_mem: 0,
            keys_loaded: 0,
            keys_expired: 0,
            next_log_perc: super::LOAD_LOG_EVERY_PERCENT,
            history: Default::default(),
            expired_on_load: Vec::new(),
        }
    }

    pub fn owns(&self, id: RequestId) -> bool {
        matches!(self.phase, Phase::Reading(r) if r == id)
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The replication history the file was saved with, if it has a sound one.
    pub fn saved_history(&self, databases: usize) -> Option<crate::repl::snapshot::SavedHistory> {
        self.history.history(databases)
    }

    /// Whether every key dropped as expired is named in `expired_on_load`.
    pub fn expired_keys_known(&self) -> bool {
        self.keys_expired == self.expired_on_load.len() as u64
    }

    /// The file arrived (or did not). A reload loads it at once; a start
    /// waits for [`LoadJob::step`]s.
    pub fn on_disk_done(&mut self, srv: &mut Server, result: DiskResult) -> Option<LoadEnd> {
        let data = match result {
            Ok(DiskReply::Data(data)) => data,
            Ok(_) => return Some(self.failed("the disk answered a read with no data")),
            Err(e) if e.not_found => return Some(LoadEnd::NotFound),
            Err(e) => return Some(self.failed(&e.to_string())),
        };
        if let Err(e) = RdbLoader::new(&data, Encodings::from_config(&srv.config)) {
            return Some(self.corrupt(&e));
        }
        self.total_bytes = data.len() as u64;
        self.phase = Phase::Loading {
            data,
            offset: 0,
            db: 0,
        };
        match self.mode {
            Mode::Startup => None,
            Mode::Reload { .. } => loop {
                if let Some(end) = self.step(srv, usize::MAX) {
                    return Some(end);
                }
            },
        }
    }

    /// Loads up to `max_items` items; returns how loading ended once it has.
    pub fn step(&mut self, srv: &mut Server, max_items: usize) -> Option<LoadEnd> {
        let Phase::Loading { data, offset, db } = &self.phase else {
            return None;
        };
        let (data, start, mut current_db) = (data.clone(), *offset, *db);
        let enc = Encodings::from_config(&srv.config);
        let mut loader = match RdbLoader::resume(&data, enc, start, current_db) {
            Ok(loader) => loader,
            Err(e) => return Some(self.corrupt(&e)),
        };
        for _ in 0..max_items {
            let item = match loader.next_item() {
                Ok(Some(item)) => item,
                Ok(None) => {
                    self.loaded_bytes = self.total_bytes;
                    return Some(LoadEnd::Loaded);
                }
                Err(e) => return Some(self.corrupt(&e)),
            };
            if let Item::SelectDb(n) = item {
                current_db = n;
            }
            if let Err(message) = self.apply(srv, item) {
                return Some(self.corrupt(&RdbError::new(loader.offset(), message)));
            }
        }
        let offset = loader.offset();
        self.loaded_bytes = offset;
        self.phase = Phase::Loading {
            data,
            offset,
            db: current_db,
        };
        self.log_progress(srv);
        None
    }

    fn apply(&mut self, srv: &mut Server, item: Item) -> Result<(), String> {
        match item {
            Item::Aux { key, value } if key == b"used-mem" => {
                self.rdb_used_mem = std::str::from_utf8(&value)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
            }
            Item::Aux { key, value } => self.history.note(&key, &value),
            Item::SelectDb(n) if n >= srv.dbs.len() as u64 => {
                return Err(too_many_databases(srv.dbs.len()));
            }
            Item::Function { code } => {
                crate::lua::functions::load_library(srv, &code, true)
                    .map_err(|e| format!("function library: {e:?}"))?;
            }
            Item::Entry(entry) => self.insert(srv, entry)?,
            Item::SelectDb(_) | Item::ResizeDb { .. } => {}
        }
        Ok(())
    }

    fn insert(&mut self, srv: &mut Server, entry: Entry) -> Result<(), String> {
        let now = srv.now;
        let Some(index) = usize::try_from(entry.db)
            .ok()
            .filter(|&i| i < srv.dbs.len())
        else {
            return Err(too_many_databases(srv.dbs.len()));
        };
        if entry.expire_at_ms.is_some_and(|at| at <= now.unix_ms) {
            self.keys_expired += 1;
            return Ok(());
        }
        let policy = crate::db::access::Policy::of(&srv.config);
        let access = restored_access(now, &srv.config, entry.idle_secs, entry.freq)
            .unwrap_or_else(|| crate::db::access::initial(now, policy, &srv.config));
        let db = &mut srv.dbs[index];
        if db.keys().contains_key(&entry.key) {
            if self.mode != (Mode::Reload { merge: true }) {
                return Err(format!(
                    "RDB has duplicated key '{}' in DB {index}",
                    String::from_utf8_lossy(&entry.key)
                ));
            }
            db.remove(&entry.key);
        }
        db.insert_new(&entry.key, Object::new(entry.value, access));
        if let Some(at) = entry.expire_at_ms {
            db.set_expire(&entry.key, at);
        }
        self.keys_loaded += 1;
        Ok(())
    }

    /// Logs progress at each tenth of a large file: percent, keys, rate.
    fn log_progress(&mut self, srv: &mut Server) {
        if self.total_bytes < super::LOAD_LOG_MIN_BYTES {
            return;
        }
        let perc = self.loaded_bytes * 100 / self.total_bytes.max(1);
        if perc < self.next_log_perc {
            return;
        }
        self.next_log_perc =
            (perc / super::LOAD_LOG_EVERY_PERCENT + 1) * super::LOAD_LOG_EVERY_PERCENT;
        let elapsed_ms = srv.now.mono_ms.saturating_sub(self.started.mono_ms).max(1);
        let rate = self.keys_loaded * 1000 / elapsed_ms;
        let text = format!(
            "Loading RDB: {perc}% ({} of {} bytes), {} keys loaded, {rate} keys/sec",
            self.loaded_bytes, self.total_bytes, self.keys_loaded
        );
        super::log(srv, crate::node::LogLevel::Notice, &text);
    }

    /// Percent of the file loaded (INFO loading_loaded_perc).
    pub fn loaded_perc(&self) -> f64 {
        if self.total_bytes == 0 {
            return 0.0;
        }
        self.loaded_bytes as f64 * 100.0 / self.total_bytes as f64
    }

    /// Redis's estimate of the seconds left: elapsed time scaled by the
    /// bytes left over the bytes done.
    pub fn eta_secs(&self, now: Now) -> u64 {
        let elapsed = now.mono_ms.saturating_sub(self.started.mono_ms) / 1000;
        let remaining = self.total_bytes.saturating_sub(self.loaded_bytes);
        elapsed.saturating_mul(remaining) / (self.loaded_bytes + 1)
    }

    fn failed(&self, reason: &str) -> LoadEnd {
        LoadEnd::Failed(format!("Can't read the RDB file {}: {reason}", self.path))
    }

    fn corrupt(&self, e: &RdbError) -> LoadEnd {
        LoadEnd::Failed(format!(
            "Corrupt RDB file {}: {} at offset {}",
            self.path, e.message, e.offset
        ))
    }
}

fn too_many_databases(databases: usize) -> String {
    format!(
        "the file was created with a server configured to handle more than {databases} databases"
    )
}
