//! One snapshot being taken: the point-in-time walk of the databases
//! (see [`crate::db::snapshot`]), the encoder turning entries into bytes
//! ([`super::encoder`]), and where the bytes go ([`Target`]):
//!
//! - **a file** (BGSAVE, and the disk-backed full sync that sends the file
//!   afterwards): create `dir/temp-keel.rdb`, append the file in chunks,
//!   sync, close; only once all of that succeeded, rename it over
//!   `dir/dbfilename` and sync the directory. A crash at any step leaves
//!   the old snapshot (the rename was not durable yet) or the new one (it
//!   was), each complete and synced; a failure at any step removes the
//!   temporary file and leaves the old snapshot in place;
//! - **replica connections** (disk-less full sync): `$EOF:<mark>\r\n`,
//!   the RDB bytes as the walk produces them, then the mark. The walk
//!   steps only while every replica's pending output is under
//!   [`REPLICA_PENDING_MAX`], so a slow replica slows the walk instead of
//!   the payload piling up in memory;
//! - **the AOF** (BGREWRITEAOF's new base): the AOF writes the chunks to
//!   its temporary base file and owns that file's protocol.
//!
//! There is one walk at a time (the databases hold one snapshot state),
//! as Redis has one child process.

use super::encoder::Encoder;
use crate::client::{Client, ClientId};
use crate::db::snapshot::{KeyBuf, SnapInfo};
use crate::disk::{DiskOp, DiskResult, FileId, RequestId};
use crate::limits;
use crate::node::Clients;
use crate::server::Server;
use crate::time::Now;
use std::collections::VecDeque;

/// The temporary file's name inside `dir`.
pub const TEMP_FILE_NAME: &str = "temp-keel.rdb";

/// A disk-less payload is produced only while each receiving replica has
/// less than this pending (produced, not yet reported written): the
/// bound on the payload's memory per replica.
pub const REPLICA_PENDING_MAX: u64 = 4 << 20;

/// Keys visited between two checks of a step's byte bound.
const WALK_BATCH_KEYS: usize = 4;

/// Where a snapshot job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Walking the data, handing the bytes on as it goes.
    Writing,
    /// Everything written; the sync and close are in flight.
    Syncing,
    /// Synced and closed; the rename and directory sync are in flight.
    Renaming,
    /// Failed: the cleanup (close, remove) is in flight.
    CleaningUp,
    /// Done without disk work left (replicas, the AOF base).
    Done,
}

/// How a finished job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    Saved,
    Failed(String),
}

/// The file a snapshot is written to.
pub struct FileTarget {
    file: FileId,
    temp_path: String,
    pub final_path: String,
    dir: String,
}

/// Where the snapshot's bytes go.
pub enum Target {
    File(FileTarget),
    /// Disk-less full sync to these replicas, delimited by `mark`.
    Replicas {
        ids: Vec<ClientId>,
        mark: String,
    },
    /// The AOF's new base.
    AofBase,
}

/// The connections a step may write to: the node's clients, plus the
/// client whose command runs now (out of the map meanwhile), if any.
pub struct Conns<'a> {
    pub current: Option<&'a mut Client>,
    pub others: &'a mut Clients,
}

impl Conns<'_> {
    pub fn get_mut(&mut self, id: ClientId) -> Option<&mut Client> {
        match self.current.as_deref_mut() {
            Some(c) if c.id == id => Some(c),
            _ => self.others.get_mut(&id).map(|c| &mut **c),
        }
    }
}

/// The epoch walk: every entry present at the start exactly once, as it
/// was at the start, however the data changes meanwhile.
pub struct Walk {
    /// The database the last select written named.
    current_db: Option<usize>,
    pub keys_total: u64,
    pub keys_written: u64,
    /// The keys the last walk step wrote (scratch space, reused).
    keys: KeyBuf,
}

impl Walk {
    /// Starts a walk of every database as it is now, with epoch `epoch`.
    pub fn begin(srv: &mut Server, epoch: u16) -> Walk {
        for (index, db) in srv.dbs.iter_mut().enumerate() {
            db.begin_snapshot(epoch, index);
        }
        Walk {
            current_db: None,
            keys_total: srv.key_counts().0 as u64,
            keys_written: 0,
            keys: KeyBuf::default(),
        }
    }

    /// Encodes up to about `max_keys` entries, or until this step encoded
    /// `max_bytes`; returns true once everything was encoded (the
    /// databases then stop watching changes).
    pub fn step(
        &mut self,
        srv: &mut Server,
        enc: &mut Encoder,
        max_keys: usize,
        max_bytes: usize,
    ) -> bool {
        let mut budget = max_keys;
        let bytes_at_start = enc.pending();
        while budget > 0 && enc.pending().saturating_sub(bytes_at_start) < max_bytes {
            // Small batches, so that the byte bound is checked often.
            let batch = budget.min(WALK_BATCH_KEYS);
            let preimages = self.write_preimages(srv, enc, batch);
            let written = preimages + self.walk(srv, enc, batch.saturating_sub(preimages));
            if written == 0 && !srv.dbs.iter().any(|db| db.snapshot_pending()) {
                stop_watching(srv);
                return true;
            }
            budget = budget.saturating_sub(written.max(1));
        }
        false
    }

    /// Writes up to `budget` of the pre-images the databases saved
    /// (entries changed before the walk reached them).
    fn write_preimages(&mut self, srv: &mut Server, enc: &mut Encoder, budget: usize) -> usize {
        let mut written = 0;
        for db in srv.dbs.iter_mut() {
            if written >= budget {
                break;
            }
            let Some(info) = db.snapshot_info() else {
                continue;
            };
            let preimages = db.take_preimages(budget - written);
            if preimages.is_empty() {
                continue;
            }
            self.select(enc, info);
            for p in &preimages {
                enc.entry(&p.key, &p.obj, p.expire_at);
            }
            written += preimages.len();
        }
        self.keys_written += written as u64;
        written
    }

    /// Walks the first database with keys left to visit, writing about
    /// `budget` entries the snapshot has not covered yet straight from
    /// the table. Returns the entries written, at least 1 when the walk
    /// met only covered ones (progress all the same).
    fn walk(&mut self, srv: &mut Server, enc: &mut Encoder, budget: usize) -> usize {
        if budget == 0 {
            return 0;
        }
        let Some(db) = srv.dbs.iter_mut().find(|db| db.snapshot_walk_pending()) else {
            return 0;
        };
        let Some(info) = db.snapshot_info() else {
            return 0;
        };
        let current_db = &mut self.current_db;
        let met = db.snapshot_walk(budget, &mut self.keys, |key, obj, expire_at| {
            if *current_db != Some(info.origin) {
                *current_db = Some(info.origin);
                enc.select(info);
            }
            enc.entry(key, obj, expire_at);
        });
        let written = self.keys.len();
        self.keys_written += written as u64;
        written.max(usize::from(met > 0))
    }

    fn select(&mut self, enc: &mut Encoder, info: SnapInfo) {
        if self.current_db != Some(info.origin) {
            self.current_db = Some(info.origin);
            enc.select(info);
        }
    }
}

/// Ends the snapshot in every database: changes stop saving pre-images.
pub fn stop_watching(srv: &mut Server) {
    for db in srv.dbs.iter_mut() {
        db.end_snapshot();
    }
}

pub struct SnapshotJob {
    encoder: Encoder,
    /// None for a foreground save, encoded at once without a walk.
    walk: Option<Walk>,
    pub target: Target,
    phase: Phase,
    /// Our requests in flight, oldest first (answers come in this order).
    requests: VecDeque<RequestId>,
    failure: Option<String>,
    /// A receiving replica had too much pending at the last step.
    pub throttled: bool,
    pub started: Now,
    /// The server's change counter when the snapshot started.
    pub dirty_at_start: u64,
}

impl SnapshotJob {
    /// Starts a background snapshot (walk epoch `epoch`) into `target`.
    pub fn begin(srv: &mut Server, epoch: u16, encoder: Encoder, target: Target) -> SnapshotJob {
        let walk = Walk::begin(srv, epoch);
        let mut job = SnapshotJob::new(srv, encoder, Some(walk), target);
        job.open_file(srv);
        job
    }

    /// A foreground save: the whole file encoded now and handed to the disk.
    pub fn foreground(srv: &mut Server, mut encoder: Encoder) -> SnapshotJob {
        super::encoder::encode_all_now(srv, &mut encoder);
        let target = Target::File(file_target(srv));
        let mut job = SnapshotJob::new(srv, encoder, None, target);
        job.open_file(srv);
        job.flush(srv, &mut None);
        job.end_file(srv);
        job
    }

    fn new(srv: &Server, encoder: Encoder, walk: Option<Walk>, target: Target) -> SnapshotJob {
        SnapshotJob {
            encoder,
            walk,
            target,
            phase: Phase::Writing,
            requests: VecDeque::new(),
            failure: None,
            throttled: false,
            started: srv.now,
            dirty_at_start: srv.dirty,
        }
    }

    fn open_file(&mut self, srv: &mut Server) {
        if let Target::File(f) = &self.target {
            let op = DiskOp::Create {
                file: f.file,
                path: f.temp_path.clone(),
            };
            self.request(srv, op);
        }
    }

    fn request(&mut self, srv: &mut Server, op: DiskOp) {
        let id = srv.disk_request(op);
        self.requests.push_back(id);
    }

    /// True while the walk has data left to write (steps are wanted).
    pub fn is_writing(&self) -> bool {
        self.phase == Phase::Writing
    }

    /// Whether the bytes are RDB (a BGSAVE or a full sync), not an AOF base.
    pub fn is_rdb_save(&self) -> bool {
        !matches!(self.target, Target::AofBase)
    }

    pub fn keys_written(&self) -> u64 {
        self.walk.as_ref().map_or(0, |w| w.keys_written)
    }

    pub fn keys_total(&self) -> u64 {
        self.walk.as_ref().map_or(0, |w| w.keys_total)
    }

    /// One bounded step of the walk, the bytes handed to the target;
    /// `conns` reaches the replicas of a disk-less sync. Returns how the
    /// job ended when it ended without disk work left to wait for.
    pub fn step(
        &mut self,
        srv: &mut Server,
        conns: &mut Option<Conns>,
        max_keys: usize,
        max_bytes: usize,
    ) -> Option<Finished> {
        if self.phase != Phase::Writing {
            return None;
        }
        if let Some(end) = self.check_replicas(srv, conns) {
            return Some(end);
        }
        if self.throttled {
            return None;
        }
        let walk = self.walk.as_mut()?;
        let done = walk.step(srv, &mut self.encoder, max_keys, max_bytes);
        if !done {
            // Bytes are handed on in chunks of a few steps: one write per
            // chunk, not per (short) step.
            if self.encoder.pending() >= limits::BGSAVE_FLUSH_BYTES {
                self.flush(srv, conns);
            }
            return None;
        }
        self.encoder.finish();
        self.flush(srv, conns);
        match &self.target {
            Target::File(_) => {
                self.end_file(srv);
                None
            }
            Target::Replicas { ids, mark } => {
                let (ids, mark) = (ids.clone(), mark.clone());
                send(srv, conns, &ids, mark.as_bytes());
                self.phase = Phase::Done;
                Some(Finished::Saved)
            }
            Target::AofBase => {
                self.phase = Phase::Done;
                Some(Finished::Saved)
            }
        }
    }

    /// A disk-less sync: forgets replicas that went away (the job fails
    /// once none is left, as Redis kills a child nobody reads), and
    /// notes whether one has too much pending to go on now.
    fn check_replicas(&mut self, srv: &mut Server, conns: &mut Option<Conns>) -> Option<Finished> {
        let Target::Replicas { ids, .. } = &mut self.target else {
            return None;
        };
        let conns = conns.as_mut()?;
        ids.retain(|id| {
            conns.get_mut(*id).is_some() && crate::repl::master::is_receiving(srv, *id)
        });
        if ids.is_empty() {
            self.walk = None;
            stop_watching(srv);
            self.phase = Phase::Done;
            return Some(Finished::Failed("no replica left to receive it".into()));
        }
        self.throttled = ids.iter().any(|id| {
            conns
                .get_mut(*id)
                .is_some_and(|c| c.obuf_pending() >= REPLICA_PENDING_MAX)
        });
        None
    }

    /// Hands the bytes encoded so far to the target.
    fn flush(&mut self, srv: &mut Server, conns: &mut Option<Conns>) {
        if self.encoder.pending() == 0 {
            return;
        }
        let data = bytes::Bytes::from(self.encoder.take());
        match &self.target {
            Target::File(f) => {
                let file = f.file;
                self.request(srv, DiskOp::Append { file, data });
            }
            Target::Replicas { ids, .. } => {
                let ids = ids.clone();
                send(srv, conns, &ids, &data);
            }
            Target::AofBase => crate::aof::rewrite::base_chunk(srv, data),
        }
    }

    /// The file is complete: sync and close it.
    fn end_file(&mut self, srv: &mut Server) {
        let Target::File(f) = &self.target else {
            return;
        };
        let file = f.file;
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
            Phase::Writing | Phase::Done => None,
            Phase::Syncing => {
                let Target::File(f) = &self.target else {
                    return None;
                };
                let rename = DiskOp::Rename {
                    from: f.temp_path.clone(),
                    to: f.final_path.clone(),
                };
                let dir = f.dir.clone();
                self.request(srv, rename);
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
                if self.walk.take().is_some() {
                    stop_watching(srv);
                }
                if let Target::File(f) = &self.target {
                    let file = f.file;
                    self.request(srv, DiskOp::Close { file });
                }
                self.remove_temp(srv);
            }
            Phase::Syncing => self.remove_temp(srv),
            Phase::Renaming | Phase::CleaningUp | Phase::Done => {}
        }
        self.phase = Phase::CleaningUp;
    }

    fn remove_temp(&mut self, srv: &mut Server) {
        if let Target::File(f) = &self.target {
            let path = f.temp_path.clone();
            self.request(srv, DiskOp::Remove { path });
        }
    }

    /// Abandons the job (SHUTDOWN, the AOF turned off): cleans up and
    /// returns the requests whose answers are still to come, to be ignored.
    pub fn abandon(mut self, srv: &mut Server) -> VecDeque<RequestId> {
        match self.phase {
            Phase::Writing => self.fail(srv, "abandoned".into()),
            Phase::Syncing => {
                // The close is already queued after the sync.
                self.remove_temp(srv);
            }
            Phase::Renaming | Phase::CleaningUp | Phase::Done => {}
        }
        self.requests
    }

    /// Seconds since the job started.
    pub fn elapsed_secs(&self, now: Now) -> u64 {
        now.mono_ms.saturating_sub(self.started.mono_ms) / 1000
    }
}

/// The temporary and final paths of a dump, and a file id for it.
pub fn file_target(srv: &mut Server) -> FileTarget {
    let dir = srv.config.dir.clone();
    let temp_path = super::path_in(&dir, TEMP_FILE_NAME);
    let final_path = super::path_in(&dir, &srv.config.dbfilename);
    let file = srv.disk.new_file(&temp_path);
    FileTarget {
        file,
        temp_path,
        final_path,
        dir,
    }
}

/// Writes `data` to each replica in `ids` that is still connected.
fn send(srv: &mut Server, conns: &mut Option<Conns>, ids: &[ClientId], data: &[u8]) {
    let Some(conns) = conns.as_mut() else {
        return;
    };
    for id in ids {
        if let Some(client) = conns.get_mut(*id) {
            client.out.extend_from_slice(data);
            // Held behind earlier replies under `appendfsync always`.
            crate::node::hand_over_replies(srv, client);
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! What the snapshot consumers' tests share: a dataset, the writes
    //! that run between the walk's steps, and a fingerprint to compare.

    use crate::client::ClientId;
    use crate::rdb::writer::{encode_value, ValueOptions};
    use crate::server::Server;
    use crate::testing::{request, Harness};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Keys [`populate`] writes as strings (beside lists, counters and hashes).
    pub const KEYS: usize = 1500;

    /// Strings (some with a TTL), lists and counters in databases 0 and 1,
    /// sent as one pipeline.
    pub fn populate_requests() -> Vec<u8> {
        let mut data = Vec::new();
        for i in 0..KEYS {
            let key = format!("k{i}");
            let value = format!("v{i}");
            data.extend(request(&[b"SET", key.as_bytes(), value.as_bytes()]));
            if i % 7 == 0 {
                data.extend(request(&[b"EXPIRE", key.as_bytes(), b"5000"]));
            }
        }
        for i in 0..8 {
            let list = format!("l{i}");
            data.extend(request(&[b"RPUSH", list.as_bytes(), b"a", b"b"]));
            data.extend(request(&[b"INCRBY", format!("n{i}").as_bytes(), b"10"]));
        }
        data.extend(request(&[b"SELECT", b"1"]));
        for i in 0..300 {
            let key = format!("d1:{i}");
            data.extend(request(&[b"HSET", key.as_bytes(), b"f", b"1"]));
        }
        data.extend(request(&[b"SELECT", b"0"]));
        data
    }

    /// Sends [`populate_requests`] and consumes the replies.
    pub fn populate(h: &mut Harness, c: ClientId) {
        h.send_raw(c, &populate_requests());
        while h.read(c).is_some() {}
        assert_eq!(h.node.server_mut().key_counts().0, KEYS + 16 + 300);
    }

    /// A write between two steps of the walk, or one step.
    #[derive(Debug, Clone)]
    pub enum Op {
        Incr(u8),
        Lpush(u8),
        Set(u16),
        Del(u16),
        Expire(u16),
        /// FLUSHDB of database 1 (every entry not walked yet is pre-imaged).
        FlushDb1,
        Step,
    }

    pub fn op_strategy() -> impl Strategy<Value = Op> {
        let key = 0..(KEYS as u16 + 50);
        prop_oneof![
            (0u8..8).prop_map(Op::Incr),
            (0u8..8).prop_map(Op::Lpush),
            key.clone().prop_map(Op::Set),
            key.clone().prop_map(Op::Del),
            key.prop_map(Op::Expire),
            Just(Op::FlushDb1),
            Just(Op::Step),
            Just(Op::Step),
        ]
    }

    pub fn op_args(op: &Op) -> Vec<String> {
        let words: Vec<String> = match op {
            Op::Incr(i) => vec!["INCR".into(), format!("n{i}")],
            Op::Lpush(i) => vec!["LPUSH".into(), format!("l{i}"), "x".into()],
            Op::Set(i) => vec!["SET".into(), format!("k{i}"), "new".into()],
            Op::Del(i) => vec!["DEL".into(), format!("k{i}")],
            Op::Expire(i) => vec!["EXPIRE".into(), format!("k{i}"), "900".into()],
            // Several commands: see [`apply`].
            Op::FlushDb1 | Op::Step => vec![],
        };
        words
    }

    /// Runs `op` on client `c` (a step runs the node's timer once).
    pub fn apply(h: &mut Harness, c: ClientId, op: &Op) {
        match op {
            Op::Step => h.tick(),
            Op::FlushDb1 => {
                h.call(c, &["SELECT", "1"]);
                h.call(c, &["FLUSHDB"]);
                h.call(c, &["SELECT", "0"]);
            }
            _ => {
                let args = op_args(op);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                h.call(c, &args);
            }
        }
    }

    /// Every entry: (database, key) → (serialized value, expiry).
    pub type Fingerprint = BTreeMap<(usize, Vec<u8>), (Vec<u8>, Option<u64>)>;

    /// Every entry of every database, its value serialized, with its expiry.
    pub fn fingerprint(srv: &Server) -> Fingerprint {
        let opts = ValueOptions::from_config(&srv.config);
        let mut all = BTreeMap::new();
        for (index, db) in srv.dbs.iter().enumerate() {
            for (key, obj) in db.keys().iter() {
                let mut value = Vec::new();
                encode_value(&obj.value, &opts, &mut value);
                all.insert((index, key.to_vec()), (value, db.expire_at(key)));
            }
        }
        all
    }
}
