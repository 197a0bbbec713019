//! One snapshot being written: the point-in-time walk of the databases
//! (see [`crate::db::snapshot`]), the RDB writer, and the file protocol.
//!
//! File protocol: create `dir/temp-keel.rdb`, append the file in chunks,
//! sync, close; only once all of that succeeded, rename it over
//! `dir/dbfilename` and sync the directory. A crash at any step leaves
//! the old snapshot (the rename was not durable yet) or the new one (it
//! was), each complete and synced; a failure at any step removes the
//! temporary file and leaves the old snapshot in place.

use crate::disk::{DiskOp, DiskResult, FileId, RequestId};
use crate::rdb::writer::{standard_aux, RdbWriter, WriteOptions};
use crate::server::Server;
use crate::time::Now;
use std::collections::VecDeque;

/// The temporary file's name inside `dir`.
pub const TEMP_FILE_NAME: &str = "temp-keel.rdb";

/// Where a snapshot job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Walking the data, appending as it goes.
    Writing,
    /// Everything written; the sync and close are in flight.
    Syncing,
    /// Synced and closed; the rename and directory sync are in flight.
    Renaming,
    /// Failed: the cleanup (close, remove) is in flight.
    CleaningUp,
}

/// How a finished job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    Saved,
    Failed(String),
}

pub struct SnapshotJob {
    writer: RdbWriter,
    file: FileId,
    temp_path: String,
    final_path: String,
    dir: String,
    phase: Phase,
    /// Our requests in flight, oldest first (answers come in this order).
    requests: VecDeque<RequestId>,
    failure: Option<String>,
    /// The database the last SELECTDB written named.
    current_db: Option<usize>,
    pub started: Now,
    /// The server's change counter when the snapshot started.
    pub dirty_at_start: u64,
    pub keys_total: u64,
    pub keys_written: u64,
}

impl SnapshotJob {
    /// Starts a snapshot of every database as it is now, with epoch `epoch`.
    pub fn begin(srv: &mut Server, epoch: u16) -> SnapshotJob {
        for (index, db) in srv.dbs.iter_mut().enumerate() {
            db.begin_snapshot(epoch, index);
        }
        let now = srv.now;
        let mut writer = RdbWriter::new(WriteOptions::from_config(&srv.config, now));
        let used_mem = srv.memory_usage(0).total;
        writer.begin(&standard_aux(now.unix_ms / 1000, used_mem));
        crate::lua::functions::write_libraries(srv, &mut writer);
        let dir = srv.config.dir.clone();
        let temp_path = super::path_in(&dir, TEMP_FILE_NAME);
        let final_path = super::path_in(&dir, &srv.config.dbfilename);
        let file = srv.disk.new_file(&temp_path);
        let mut job = SnapshotJob {
            writer,
            file,
            temp_path: temp_path.clone(),
            final_path,
            dir,
            phase: Phase::Writing,
            requests: VecDeque::new(),
            failure: None,
            current_db: None,
            started: now,
            dirty_at_start: srv.dirty,
            keys_total: srv.key_counts().0 as u64,
            keys_written: 0,
        };
        job.request(
            srv,
            DiskOp::Create {
                file,
                path: temp_path,
            },
        );
        job
    }

    fn request(&mut self, srv: &mut Server, op: DiskOp) {
        let id = srv.disk_request(op);
        self.requests.push_back(id);
    }

    /// True while the walk has data left to write (steps are wanted).
    pub fn is_writing(&self) -> bool {
        self.phase == Phase::Writing
    }

    /// Writes up to about `max_keys` entries or `max_bytes` bytes, handing
    /// what was written to the disk; once the walk is complete, ends the
    /// file and asks for the sync and close.
    pub fn step(&mut self, srv: &mut Server, max_keys: usize, max_bytes: usize) {
        if self.phase != Phase::Writing {
            return;
        }
        let mut budget = max_keys;
        while budget > 0 && self.writer.pending() < max_bytes {
            let written = self.write_preimages(srv, budget) + self.walk(srv, budget);
            if written == 0 && !srv.dbs.iter().any(|db| db.snapshot_pending()) {
                self.end_file(srv);
                return;
            }
            budget = budget.saturating_sub(written.max(1));
        }
        self.flush(srv);
    }

    /// Writes the pre-images the databases saved (entries changed before
    /// the walk reached them), at most about `budget`.
    fn write_preimages(&mut self, srv: &mut Server, budget: usize) -> usize {
        let mut written = 0;
        for db in srv.dbs.iter_mut() {
            if written >= budget {
                break;
            }
            let Some(info) = db.snapshot_info() else {
                continue;
            };
            let preimages = db.take_preimages();
            if preimages.is_empty() {
                continue;
            }
            self.select(info);
            for p in &preimages {
                self.writer.write_entry(&p.key, &p.obj, p.expire_at);
            }
            written += preimages.len();
        }
        self.keys_written += written as u64;
        written
    }

    /// Walks the first database with keys left to visit, writing about
    /// `budget` entries the snapshot has not covered yet.
    fn walk(&mut self, srv: &mut Server, budget: usize) -> usize {
        let Some(db) = srv.dbs.iter_mut().find(|db| db.snapshot_pending()) else {
            return 0;
        };
        let Some(info) = db.snapshot_info() else {
            return 0;
        };
        let keys = db.snapshot_next_keys(budget);
        let mut written = 0;
        for key in &keys {
            if let Some((obj, expire_at)) = db.snapshot_visit(key) {
                self.select(info);
                self.writer.write_entry(key, obj, expire_at);
                written += 1;
            }
        }
        self.keys_written += written as u64;
        // A walk step that met only covered keys still made progress.
        written.max(usize::from(!keys.is_empty()))
    }

    fn select(&mut self, info: crate::db::snapshot::SnapInfo) {
        if self.current_db != Some(info.origin) {
            self.current_db = Some(info.origin);
            self.writer
                .select_db(info.origin, info.size_at_start, info.expires_at_start);
        }
    }

    /// Hands the bytes written so far to the disk.
    fn flush(&mut self, srv: &mut Server) {
        if self.writer.pending() == 0 {
            return;
        }
        let data = bytes::Bytes::from(self.writer.take_output());
        let file = self.file;
        self.request(srv, DiskOp::Append { file, data });
    }

    /// The walk is done: the snapshot stops watching changes, the file
    /// ends (EOF, checksum) and is synced and closed.
    fn end_file(&mut self, srv: &mut Server) {
        stop_watching(srv);
        self.writer.finish();
        self.flush(srv);
        let file = self.file;
        self.request(srv, DiskOp::Sync { file });
        self.request(srv, DiskOp::Close { file });
        self.phase = Phase::Syncing;
    }

    /// Whether request `id` is the next answer this job waits for.
    pub fn owns(&self, id: RequestId) -> bool {
        self.requests.front() == Some(&id)
    }

    /// Takes the answer to our oldest request; returns how the job ended
    /// once it has.
    pub fn on_disk_done(&mut self, srv: &mut Server, result: &DiskResult) -> Option<Finished> {
        self.requests.pop_front();
        if let Err(e) = result {
            self.fail(srv, e.to_string());
        }
        if !self.requests.is_empty() {
            return None;
        }
        match self.phase {
            Phase::Writing => None,
            Phase::Syncing => {
                let from = self.temp_path.clone();
                let to = self.final_path.clone();
                self.request(srv, DiskOp::Rename { from, to });
                let dir = self.dir.clone();
                self.request(srv, DiskOp::SyncDir { dir });
                self.phase = Phase::Renaming;
                None
            }
            Phase::Renaming => Some(Finished::Saved),
            Phase::CleaningUp => Some(Finished::Failed(self.failure.clone().unwrap_or_default())),
        }
    }

    /// A request failed: stop writing, and remove the temporary file
    /// unless the rename already happened (then the new file stays: its
    /// data was synced, only the directory entry may not be durable).
    fn fail(&mut self, srv: &mut Server, message: String) {
        if self.failure.is_none() {
            self.failure = Some(message);
        }
        match self.phase {
            Phase::Writing => {
                stop_watching(srv);
                let file = self.file;
                self.request(srv, DiskOp::Close { file });
                self.remove_temp(srv);
            }
            Phase::Syncing => self.remove_temp(srv),
            Phase::Renaming | Phase::CleaningUp => {}
        }
        self.phase = Phase::CleaningUp;
    }

    fn remove_temp(&mut self, srv: &mut Server) {
        let path = self.temp_path.clone();
        self.request(srv, DiskOp::Remove { path });
    }

    /// Abandons the job (SHUTDOWN, FLUSHALL): cleans up and returns the
    /// requests whose answers are still to come, to be ignored.
    pub fn abandon(mut self, srv: &mut Server) -> VecDeque<RequestId> {
        match self.phase {
            Phase::Writing => self.fail(srv, "abandoned".into()),
            Phase::Syncing => {
                // The close is already queued after the sync.
                self.remove_temp(srv);
            }
            Phase::Renaming | Phase::CleaningUp => {}
        }
        self.requests
    }

    /// Seconds since the job started.
    pub fn elapsed_secs(&self, now: Now) -> u64 {
        now.mono_ms.saturating_sub(self.started.mono_ms) / 1000
    }
}

/// Ends the snapshot in every database: changes stop saving pre-images.
fn stop_watching(srv: &mut Server) {
    for db in srv.dbs.iter_mut() {
        db.end_snapshot();
    }
}
