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
use crate::rdb::loader::{restored_access, Entry, Item, KeyRef, RdbLoader};
use crate::rdb::{Encodings, RdbError};
use crate::server::Server;
use crate::time::Now;
use bytes::Bytes;

/// A step also ends once it has read this much of the file, whatever
/// `max_items` allows: items can be big (a hash of a million fields is
/// one item), and clients are answered between steps. Redis answers
/// them every 2 MB too (`loading-process-events-interval-bytes`).
const BYTES_PER_STEP: u64 = 2 << 20;

/// Keys parsed ahead and warmed together before they are inserted, so
/// that their cache misses in the keyspace overlap (about the number of
/// misses a core keeps in flight).
const WARM_BATCH: usize = 16;

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
        match self.load_items(srv, &mut loader, max_items, &mut current_db) {
            Err(e) => return Some(self.corrupt(&e)),
            Ok(true) => {
                self.loaded_bytes = self.total_bytes;
                return Some(LoadEnd::Loaded);
            }
            Ok(false) => {}
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

    /// Loads up to `max_items` items, fewer once [`BYTES_PER_STEP`] of the
    /// file are read; true at the end of the file. Keys are inserted in
    /// batches, each before whatever item follows it in the file.
    fn load_items(
        &mut self,
        srv: &mut Server,
        loader: &mut RdbLoader,
        max_items: usize,
        current_db: &mut u64,
    ) -> Result<bool, RdbError> {
        let start = loader.offset();
        let mut batch = Vec::with_capacity(WARM_BATCH);
        let mut at_end = false;
        for _ in 0..max_items {
            let Some(item) = loader.next_borrowed()? else {
                at_end = true;
                break;
            };
            let other = match item {
                Item::Entry(entry) => {
                    batch.push((entry, loader.offset()));
                    None
                }
                other => Some(other),
            };
            if other.is_some() || batch.len() == WARM_BATCH {
                self.insert_batch(srv, &mut batch)?;
            }
            if let Some(item) = other {
                self.other_item(srv, loader, current_db, item)?;
            }
            if loader.offset().saturating_sub(start) >= BYTES_PER_STEP {
                break;
            }
        }
        self.insert_batch(srv, &mut batch)?;
        Ok(at_end)
    }

    /// An item other than a key: follows SELECTDB, sizes the database
    /// from RESIZEDB, then applies it.
    fn other_item(
        &mut self,
        srv: &mut Server,
        loader: &RdbLoader,
        current_db: &mut u64,
        item: Item<KeyRef>,
    ) -> Result<(), RdbError> {
        match item {
            Item::SelectDb(n) => *current_db = n,
            Item::ResizeDb { size, expires } => {
                let keys = loader.plausible_count(size);
                reserve(srv, *current_db, keys, loader.plausible_count(expires));
            }
            _ => {}
        }
        self.apply(srv, item)
            .map_err(|message| RdbError::new(loader.offset(), message))
    }

    /// Inserts the keys of `batch` (each with the file offset after it,
    /// for an error), after warming them all (see
    /// [`crate::db::Db::warm_for_load`]).
    fn insert_batch(
        &mut self,
        srv: &mut Server,
        batch: &mut Vec<(Entry<KeyRef>, u64)>,
    ) -> Result<(), RdbError> {
        for (entry, _) in batch.iter() {
            let db = usize::try_from(entry.db).ok().and_then(|i| srv.dbs.get(i));
            if let Some(db) = db {
                db.warm_for_load(&entry.key);
            }
        }
        for (entry, offset) in batch.drain(..) {
            self.insert(srv, entry)
                .map_err(|message| RdbError::new(offset, message))?;
        }
        Ok(())
    }

    fn apply(&mut self, srv: &mut Server, item: Item<KeyRef>) -> Result<(), String> {
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

    fn insert(&mut self, srv: &mut Server, entry: Entry<KeyRef>) -> Result<(), String> {
        let now = srv.now;
        let Some(index) = usize::try_from(entry.db)
            .ok()
            .filter(|&i| i < srv.dbs.len())
        else {
            return Err(too_many_databases(srv.dbs.len()));
        };
        // As Redis's rdbLoad: only a primary drops keys already expired (a
        // replica keeps them until its master's DEL); at start, with a
        // saved history to continue, their deletions are named so the
        // backlog can carry them to the continuing replicas.
        let expired = entry.expire_at_ms.is_some_and(|at| at <= now.unix_ms);
        if expired && !srv.repl.is_replica() {
            self.keys_expired += 1;
            if self.mode == Mode::Startup && self.history.history(srv.dbs.len()).is_some() {
                let key = Bytes::copy_from_slice(&entry.key[..]);
                self.expired_on_load.push((index, key));
            }
            return Ok(());
        }
        let policy = crate::db::access::Policy::of(&srv.config);
        let access = restored_access(now, &srv.config, entry.idle_secs, entry.freq)
            .unwrap_or_else(|| crate::db::access::initial(now, policy, &srv.config));
        let db = &mut srv.dbs[index];
        let (key, at) = (&entry.key[..], entry.expire_at_ms);
        if let Err(obj) = db.insert_loaded(key, Object::new(entry.value, access), at) {
            if self.mode != (Mode::Reload { merge: true }) {
                return Err(duplicated_key(key, index));
            }
            db.remove(key);
            db.insert_loaded(key, obj, at)
                .map_err(|_| duplicated_key(key, index))?;
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

/// Sizes database `db` for the keys a file announces (RESIZEDB), as
/// Redis expands its tables; a database out of range is refused by the
/// first key that names it.
fn reserve(srv: &mut Server, db: u64, keys: usize, expires: usize) {
    let db = usize::try_from(db).ok().and_then(|i| srv.dbs.get_mut(i));
    if let Some(db) = db {
        db.reserve_for_load(keys, expires);
    }
}

fn duplicated_key(key: &[u8], db: usize) -> String {
    format!(
        "RDB has duplicated key '{}' in DB {db}",
        String::from_utf8_lossy(key)
    )
}

fn too_many_databases(databases: usize) -> String {
    format!(
        "the file was created with a server configured to handle more than {databases} databases"
    )
}

/// Micro benchmarks of loading, ignored by default; run one at a time in
/// release under `perf stat` or `valgrind --tool=cachegrind` (see
/// docs/bench_rdbload_notes.md). `build_only` is the set-up cost the
/// others include (making the file), to subtract.
#[cfg(test)]
mod bench {
    use super::*;
    use crate::config::Config;
    use crate::disk::DiskReply;
    use crate::rdb::writer::{RdbWriter, WriteOptions};
    use crate::types::{StrValue, Value};

    const KEYS: u64 = 1_000_000;
    const NOW_UNIX_MS: u64 = 1_700_000_000_000;

    /// The bench's data set: `key:0` .. with 16-byte values; every
    /// `ttl_every`-th key (0: none) has a TTL an hour ahead.
    fn rdb(keys: u64, ttl_every: u64) -> Bytes {
        let now = Now::new(0, NOW_UNIX_MS);
        let config = Config::default();
        let mut w = RdbWriter::new(WriteOptions::from_config(&config, now));
        w.begin(&crate::rdb::writer::standard_aux(NOW_UNIX_MS / 1000, 0));
        let with_ttl = keys.checked_div(ttl_every).unwrap_or(0);
        w.select_db(0, keys, with_ttl);
        let value = Value::Str(StrValue::from_bytes(b"value-0123456789"));
        for i in 0..keys {
            let ttl = (ttl_every != 0 && i % ttl_every == 0).then_some(NOW_UNIX_MS + 3_600_000);
            let obj = Object::new(value.clone(), 0);
            w.write_entry(format!("key:{i}").as_bytes(), &obj, ttl);
        }
        w.finish();
        Bytes::from(w.take_output())
    }

    fn server() -> Server {
        Server::new(Config::default(), Now::new(0, NOW_UNIX_MS))
    }

    /// Loads `data` as at start, in the node's steps.
    fn startup_load(srv: &mut Server, data: Bytes) -> LoadJob {
        let mut job = LoadJob::begin(srv, "dump.rdb".into(), Mode::Startup);
        assert_eq!(job.on_disk_done(srv, Ok(DiskReply::Data(data))), None);
        loop {
            if let Some(end) = job.step(srv, crate::limits::LOAD_ITEMS_PER_STEP) {
                assert_eq!(end, LoadEnd::Loaded);
                return job;
            }
        }
    }

    #[test]
    #[ignore]
    fn build_only() {
        assert!(rdb(KEYS, 0).len() > 20 * KEYS as usize);
    }

    #[test]
    #[ignore]
    fn startup_load_1m() {
        let mut srv = server();
        let job = startup_load(&mut srv, rdb(KEYS, 0));
        assert_eq!((job.keys_loaded, srv.dbs[0].len()), (KEYS, KEYS as usize));
    }

    #[test]
    #[ignore]
    fn startup_load_1m_half_with_ttls() {
        let mut srv = server();
        let job = startup_load(&mut srv, rdb(KEYS, 2));
        assert_eq!(job.keys_loaded, KEYS);
        assert_eq!(srv.dbs[0].expires().len(), KEYS as usize / 2);
    }

    #[test]
    #[ignore]
    fn replica_load_1m() {
        let mut srv = server();
        let loaded = crate::repl::snapshot::load_rdb(&mut srv, &rdb(KEYS, 0));
        assert_eq!(loaded, Ok(KEYS));
        assert_eq!(srv.dbs[0].len(), KEYS as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::disk::DiskReply;
    use crate::rdb::writer::{RdbWriter, WriteOptions};
    use crate::types::{StrValue, Value};

    const NOW_UNIX_MS: u64 = 1_700_000_000_000;

    /// A file holding `entries` (key, value, TTL) in database 0, in order,
    /// with `announced` as its RESIZEDB hint.
    fn file(entries: &[(&str, &str, Option<u64>)], announced: u64) -> Bytes {
        let config = Config::default();
        let mut w = RdbWriter::new(WriteOptions::from_config(&config, Now::new(0, NOW_UNIX_MS)));
        w.begin::<&str, &str>(&[]);
        w.select_db(0, announced, announced);
        for (key, value, ttl) in entries {
            let obj = Object::new(Value::Str(StrValue::from_bytes(value.as_bytes())), 0);
            w.write_entry(key.as_bytes(), &obj, *ttl);
        }
        w.finish();
        Bytes::from(w.take_output())
    }

    fn server() -> Server {
        Server::new(Config::default(), Now::new(0, NOW_UNIX_MS))
    }

    fn load(srv: &mut Server, data: Bytes, mode: Mode) -> LoadEnd {
        load_in_steps(srv, data, mode, 2)
    }

    fn load_in_steps(srv: &mut Server, data: Bytes, mode: Mode, items: usize) -> LoadEnd {
        let mut job = LoadJob::begin(srv, "dump.rdb".into(), mode);
        if let Some(end) = job.on_disk_done(srv, Ok(DiskReply::Data(data))) {
            return end;
        }
        loop {
            if let Some(end) = job.step(srv, items) {
                return end;
            }
        }
    }

    fn value_of(srv: &Server, key: &str) -> Option<Value> {
        srv.dbs[0]
            .keys()
            .get(key.as_bytes())
            .map(|o| o.value.clone())
    }

    #[test]
    fn a_key_twice_refuses_the_file_with_redis_message() {
        let mut srv = server();
        let data = file(&[("a", "1", None), ("b", "2", None), ("a", "3", None)], 3);
        let LoadEnd::Failed(reason) = load(&mut srv, data, Mode::Startup) else {
            panic!("a duplicated key loads");
        };
        assert!(
            reason.contains("RDB has duplicated key 'a' in DB 0"),
            "{reason}"
        );
    }

    #[test]
    fn keys_of_every_batch_load_in_order_and_a_late_duplicate_is_found() {
        let names: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        let mut entries: Vec<(&str, &str, Option<u64>)> =
            names.iter().map(|n| (n.as_str(), "v", None)).collect();
        // Steps longer than a batch, and not a multiple of it.
        for items in [1000, 21] {
            let mut srv = server();
            let data = file(&entries, 40);
            let end = load_in_steps(&mut srv, data, Mode::Startup, items);
            assert_eq!(end, LoadEnd::Loaded);
            assert!(names
                .iter()
                .all(|n| srv.dbs[0].keys().contains_key(n.as_bytes())));
        }
        entries.push(("k3", "again", None));
        let mut srv = server();
        let data = file(&entries, 41);
        let LoadEnd::Failed(reason) = load_in_steps(&mut srv, data, Mode::Startup, 1000) else {
            panic!("a duplicated key loads");
        };
        assert!(reason.contains("duplicated key 'k3' in DB 0"), "{reason}");
    }

    #[test]
    fn a_merge_reload_replaces_existing_keys_with_their_ttl() {
        let mut srv = server();
        let later = NOW_UNIX_MS + 60_000;
        let first = file(&[("a", "old", Some(later)), ("b", "kept", None)], 2);
        assert_eq!(load(&mut srv, first, Mode::Startup), LoadEnd::Loaded);
        let second = file(&[("a", "new", None), ("c", "3", Some(later))], 2);
        let merge = Mode::Reload { merge: true };
        assert_eq!(load(&mut srv, second, merge), LoadEnd::Loaded);
        let db = &srv.dbs[0];
        assert_eq!(
            value_of(&srv, "a"),
            Some(Value::Str(StrValue::from_bytes(b"new")))
        );
        assert_eq!(
            (db.expire_at(b"a"), db.expire_at(b"c")),
            (None, Some(later))
        );
        assert_eq!((db.len(), db.expires().len()), (3, 1));
        assert_eq!(db.dataset_bytes(), db.dataset_bytes_by_walk());
    }

    #[test]
    fn expired_keys_are_skipped_and_ttls_kept() {
        let mut srv = server();
        let later = NOW_UNIX_MS + 1;
        let data = file(
            &[("gone", "x", Some(NOW_UNIX_MS)), ("kept", "y", Some(later))],
            2,
        );
        assert_eq!(load(&mut srv, data, Mode::Startup), LoadEnd::Loaded);
        assert_eq!(value_of(&srv, "gone"), None);
        assert_eq!(srv.dbs[0].expire_at(b"kept"), Some(later));
    }

    #[test]
    fn a_lying_size_hint_sizes_tables_by_the_file() {
        // The file claims 2^40 keys: the tables take what its bytes can
        // hold at most (a few), not terabytes.
        let mut srv = server();
        let data = file(&[("a", "1", None), ("b", "2", None)], 1 << 40);
        assert_eq!(load(&mut srv, data, Mode::Startup), LoadEnd::Loaded);
        assert!(
            srv.dbs[0].keys().buckets() <= 64,
            "{}",
            srv.dbs[0].keys().buckets()
        );
        assert_eq!(srv.dbs[0].len(), 2);
    }

    #[test]
    fn integer_and_plain_strings_load_in_set_encodings() {
        let mut srv = server();
        let long = "z".repeat(100);
        let data = file(
            &[("n", "-12345", None), ("s", "v", None), ("l", &long, None)],
            3,
        );
        assert_eq!(load(&mut srv, data, Mode::Startup), LoadEnd::Loaded);
        for (key, text) in [("n", "-12345"), ("s", "v"), ("l", long.as_str())] {
            let expected = Value::Str(StrValue::from_bytes(text.as_bytes()));
            assert_eq!(value_of(&srv, key), Some(expected), "{key}");
        }
        assert!(matches!(
            value_of(&srv, "n"),
            Some(Value::Str(StrValue::Int(-12345)))
        ));
    }

    #[test]
    fn a_full_sync_payload_replaces_the_dataset_only_when_it_loads_whole() {
        let mut srv = server();
        let old = file(&[("old", "1", None)], 1);
        assert_eq!(load(&mut srv, old, Mode::Startup), LoadEnd::Loaded);
        let twice = file(&[("x", "1", None), ("x", "2", None)], 2);
        let refused = crate::repl::snapshot::load_rdb(&mut srv, &twice);
        assert_eq!(
            refused,
            Err("RDB has duplicated key 'x' in DB 0".to_string())
        );
        let mut truncated = file(&[("y", "1", None)], 1).to_vec();
        truncated.truncate(truncated.len() - 12);
        assert!(crate::repl::snapshot::load_rdb(&mut srv, &truncated).is_err());
        assert!(
            value_of(&srv, "old").is_some(),
            "a refused payload changes nothing"
        );
        let later = NOW_UNIX_MS + 5;
        let good = file(&[("a", "1", Some(later)), ("b", "2", Some(1))], 2);
        assert_eq!(crate::repl::snapshot::load_rdb(&mut srv, &good), Ok(2));
        let db = &srv.dbs[0];
        assert_eq!(value_of(&srv, "old"), None);
        assert_eq!((db.len(), db.expire_at(b"a")), (2, Some(later)));
        assert_eq!(db.expire_at(b"b"), Some(1), "a replica keeps expired keys");
        assert_eq!(db.dataset_bytes(), db.dataset_bytes_by_walk());
    }
}
