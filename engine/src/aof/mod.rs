//! The append-only file, as Redis 7.0 keeps it: a directory
//! (`appenddirname`) holding a base file (an RDB preamble or commands), the
//! incremental files written since, and a manifest naming them in order.
//!
//! The AOF consumes the write effects ([`crate::effects`]): after each
//! client's batch of commands (and after the cron) the finished effects
//! are encoded as RESP commands and appended to the current incr file.
//! The fsync policy decides when they become durable:
//! - `always`: a Sync follows every append, and the replies of that
//!   batch (and every reply after it) are held in the core until the Sync
//!   succeeded ([`hold_or_emit`]); a failed write or fsync stops the
//!   server, as Redis exits;
//! - `everysec`: one Sync per second, from the cron;
//! - `no`: never synced explicitly.
//!
//! A failed append or fsync under `everysec`/`no` makes every write
//! command fail with `-MISCONF` until a later retry (from the cron)
//! succeeds, so no write is acknowledged while the log is known broken.
//! A failed fsync under `everysec` also writes again what it covered
//! (`resync_after_failed_fsync`): after the error the kernel may hold
//! those pages clean and lose them at the next power loss, whatever a
//! later fsync says, so they count as safe only once written again and
//! covered by a later successful fsync.
//!
//! Loading ([`load`]) and rewriting ([`rewrite`]) run in bounded steps
//! driven by disk answers and the cron. All disk work goes through
//! [`Server::disk_request`]; the answers come back through [`on_disk_done`].

pub mod check;
pub mod format;
mod load;
pub mod parse;
pub(crate) mod rewrite;
#[cfg(test)]
mod tests;

use crate::client::ClientId;
use crate::disk::{DiskError, DiskOp, DiskReply, DiskResult, FileId, RequestId};
use crate::node::{Clients, Output};
use crate::resp::Reply;
use crate::server::Server;
use bytes::{Bytes, BytesMut};
use format::{join, Manifest};
use std::collections::VecDeque;

/// The AOF encodes batches into chunks of this size (see `Aof::encoded`).
const ENCODE_CHUNK: usize = 16 * 1024;
/// A new chunk is taken when less than this is left in the current one.
const ENCODE_MIN_SPARE: usize = 1024;

/// Whether the AOF is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    /// `appendonly no` (or not started yet).
    #[default]
    Off,
    /// Reading the files at start; commands get `-LOADING`.
    Loading,
    /// Turned on at run time: writes go to a new incr file while the first
    /// rewrite builds the base; the manifest names them once it finishes.
    WaitRewrite,
    On,
}

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    Always,
    EverySec,
    No,
}

impl FsyncPolicy {
    pub fn of(config: &crate::config::Config) -> FsyncPolicy {
        match config.appendfsync.as_str() {
            "always" => FsyncPolicy::Always,
            "no" => FsyncPolicy::No,
            _ => FsyncPolicy::EverySec,
        }
    }
}

/// The incr file being appended to.
#[derive(Debug, Clone)]
struct OpenIncr {
    file: FileId,
}

/// What a disk request of the AOF was for.
#[derive(Debug)]
enum Job {
    /// Bytes appended to the incr file (kept to write again after a failure).
    Append {
        data: Bytes,
        discarded: bool,
    },
    /// Cutting the incr file back before a retried append.
    TruncateForRetry,
    Sync,
    /// Creating the new incr file and persisting the manifest naming it:
    /// a failure means writes to it would not be found on restart.
    Switch,
    Load(load::LoadJob),
    Rewrite(rewrite::RewriteJob),
    /// Housekeeping whose failure changes nothing (closing an old file,
    /// removing files no manifest names).
    Other,
}

/// Counters INFO persistence reports about rewrites.
#[derive(Debug, Clone)]
struct RewriteStats {
    last_time_sec: i64,
    last_ok: bool,
    rewrites: u64,
    consecutive_failures: u64,
}

impl Default for RewriteStats {
    fn default() -> Self {
        RewriteStats {
            last_time_sec: -1,
            last_ok: true,
            rewrites: 0,
            consecutive_failures: 0,
        }
    }
}

/// The AOF's state (one field of [`Server`]).
#[derive(Debug, Default)]
pub struct Aof {
    started: bool,
    status: Status,
    manifest: Manifest,
    incr: Option<OpenIncr>,
    /// The database the last command written to the incr file ran in.
    selected_db: Option<usize>,
    /// Bytes of the incr files (the open one confirmed by the disk), and
    /// of the base.
    incr_size: u64,
    old_incrs_size: u64,
    base_size: u64,
    /// The size after the last rewrite or load (auto-rewrite's reference).
    rewrite_base_size: u64,
    /// Appended since the last Sync was asked.
    unsynced: bool,
    /// Where the effects of each batch are encoded: batches are split off
    /// the same chunk of [`ENCODE_CHUNK`] bytes, so encoding a batch and
    /// sharing its bytes between the disk request and its job allocates
    /// nothing, most of the time.
    encoded: BytesMut,
    /// Bytes of the open incr file the last successful Sync covered.
    synced_size: u64,
    /// Under `everysec`: the bytes the disk confirmed appended to the open
    /// incr file past `synced_size`, to write again if the Sync covering
    /// them fails.
    since_sync: Vec<u8>,
    last_fsync_ms: u64,
    jobs: VecDeque<(RequestId, Job)>,
    /// Outputs held until the Sync request they wait for succeeded.
    held: VecDeque<(RequestId, Output)>,
    /// The newest Sync not answered yet (under `always`).
    sync_in_flight: Option<RequestId>,
    /// A write failed: everything from `good_size` on is rewritten from
    /// `retry` by the cron.
    write_error: Option<String>,
    retry: Vec<u8>,
    /// The manifest naming the open incr file may not be on disk.
    manifest_unsafe: bool,
    fsync_error: Option<String>,
    loading: Option<Box<load::Loading>>,
    rewrite: Option<Box<rewrite::Rewrite>>,
    rewrite_scheduled: bool,
    /// No automatic rewrite before this monotonic time (after a failure).
    rewrite_retry_at_ms: u64,
    stats: RewriteStats,
    /// Why loading refused to start the server.
    load_error: Option<String>,
    /// Syncs skipped because the previous one was still in flight.
    delayed_fsync: u64,
}

impl Aof {
    pub fn status(&self) -> Status {
        self.status
    }

    pub fn is_loading(&self) -> bool {
        self.status == Status::Loading
    }

    /// Whether the AOF was started (and, with `appendonly yes`, its
    /// loading begun) by [`ensure_started`].
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Why loading refused to start the server, naming file and offset.
    pub fn load_error(&self) -> Option<&str> {
        self.load_error.as_deref()
    }

    pub fn rewrite_in_progress(&self) -> bool {
        self.rewrite.is_some()
    }

    /// The manifest as last made durable (or loaded).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn writing(&self) -> bool {
        matches!(self.status, Status::On | Status::WaitRewrite)
    }

    fn current_size(&self) -> u64 {
        self.base_size + self.old_incrs_size + self.incr_size
    }
}

/// The AOF directory (`<dir>/<appenddirname>`).
pub(crate) fn aof_dir(srv: &Server) -> String {
    join(&srv.config.dir, &srv.config.appenddirname)
}

fn path_in_dir(srv: &Server, name: &str) -> String {
    join(&aof_dir(srv), name)
}

/// Emits `op` for the AOF and remembers what it was for.
fn request(srv: &mut Server, op: DiskOp, job: Job) -> RequestId {
    let id = srv.disk_request(op);
    srv.aof.jobs.push_back((id, job));
    id
}

/// The OS's reason without Rust's ` (os error N)` suffix, as `strerror`.
fn strerror(e: &DiskError) -> String {
    match e.message.find(" (os error") {
        Some(i) => e.message[..i].to_string(),
        None => e.message.clone(),
    }
}

// ---- start and configuration ----

/// One bounded step of loading (the node calls it while loading).
pub fn load_step(srv: &mut Server, clients: &mut Clients) {
    load::step(srv, clients);
}

/// Whether loading has data to replay now (the node then asks to be
/// called again at once).
pub fn load_has_work(srv: &Server) -> bool {
    load::has_work(srv)
}

/// Called by the node before it handles any input: the first call starts
/// the AOF as the configuration says (loading the files when `appendonly
/// yes`). The integrator's startup calls this instead of loading the RDB
/// when `appendonly` is on, as Redis loads only the AOF then.
pub fn ensure_started(srv: &mut Server) {
    if srv.aof.started {
        return;
    }
    srv.aof.started = true;
    if srv.config.appendonly {
        load::start(srv);
    }
}

/// Follows `CONFIG SET appendonly`: `yes` starts the AOF with a rewrite
/// (as Redis), `no` syncs and closes it.
fn follow_config(srv: &mut Server) {
    if !srv.aof.started || srv.aof.status == Status::Loading {
        return;
    }
    let on = srv.aof.status != Status::Off;
    if srv.config.appendonly && !on {
        srv.record_effects(true);
        srv.effects.drain();
        srv.aof.status = Status::WaitRewrite;
        srv.aof.selected_db = None;
        if rewrite::start(srv).is_err() {
            srv.aof.rewrite_scheduled = true;
        }
    } else if !srv.config.appendonly && on {
        stop(srv);
    }
}

/// `appendonly no`: what was written is synced, the file closed, any
/// rewrite abandoned.
fn stop(srv: &mut Server) {
    write_effects(srv);
    rewrite::abandon(srv);
    if let Some(incr) = srv.aof.incr.take() {
        let sync = request(srv, DiskOp::Sync { file: incr.file }, Job::Sync);
        srv.aof.sync_in_flight = Some(sync);
        request(srv, DiskOp::Close { file: incr.file }, Job::Other);
    }
    srv.aof.status = Status::Off;
    srv.aof.write_error = None;
    srv.aof.fsync_error = None;
    srv.aof.retry.clear();
    srv.aof.since_sync.clear();
    srv.record_effects(false);
}

// ---- writing ----

/// Moves the finished write effects into the incr file, then asks the
/// fsync the policy wants. Called after each client's batch and by the cron.
pub fn flush_effects(srv: &mut Server) {
    follow_config(srv);
    write_effects(srv);
}

/// Encodes the finished effects into the incr file (see [`flush_effects`]).
fn write_effects(srv: &mut Server) {
    if !srv.aof.writing() {
        return;
    }
    let aof = &mut srv.aof;
    let encoded = &mut aof.encoded;
    if encoded.capacity() < ENCODE_MIN_SPARE {
        encoded.reserve(ENCODE_CHUNK);
    }
    srv.effects
        .for_each_done(|effect| format::encode_effect(&mut aof.selected_db, effect, encoded));
    if encoded.is_empty() {
        return;
    }
    let data = encoded.split().freeze();
    if data.len() > ENCODE_CHUNK {
        // A huge batch: its buffer is not kept for the next ones.
        *encoded = BytesMut::new();
    }
    append(srv, data);
    if FsyncPolicy::of(&srv.config) == FsyncPolicy::Always {
        sync_now(srv);
    } else {
        maybe_sync_everysec(srv);
    }
}

/// Appends `data` to the incr file, or keeps it for the retry while a
/// write is failing.
fn append(srv: &mut Server, data: Bytes) {
    let Some(incr) = srv.aof.incr.clone() else {
        return;
    };
    if srv.aof.write_error.is_some() {
        srv.aof.retry.extend_from_slice(&data);
        return;
    }
    let op = DiskOp::Append {
        file: incr.file,
        data: data.clone(),
    };
    let job = Job::Append {
        data,
        discarded: false,
    };
    request(srv, op, job);
    srv.aof.unsynced = true;
}

/// Asks a Sync of the incr file now.
fn sync_now(srv: &mut Server) {
    let Some(incr) = srv.aof.incr.clone() else {
        return;
    };
    if !srv.aof.unsynced && srv.aof.fsync_error.is_none() {
        return;
    }
    let id = request(srv, DiskOp::Sync { file: incr.file }, Job::Sync);
    srv.aof.sync_in_flight = Some(id);
    srv.aof.unsynced = false;
    srv.aof.last_fsync_ms = srv.now.mono_ms;
}

/// `everysec`: a Sync when a second has passed since the last one.
fn maybe_sync_everysec(srv: &mut Server) {
    if FsyncPolicy::of(&srv.config) != FsyncPolicy::EverySec {
        return;
    }
    if srv.config.no_appendfsync_on_rewrite && srv.aof.rewrite.is_some() {
        return;
    }
    let due = srv.now.mono_ms.saturating_sub(srv.aof.last_fsync_ms) >= 1000;
    if due && (srv.aof.unsynced || srv.aof.fsync_error.is_some()) {
        if srv.aof.sync_in_flight.is_some() {
            srv.aof.delayed_fsync += 1;
        }
        sync_now(srv);
    }
}

/// Hands `output` (a client's replies or its close) to the driver, or
/// holds it until the Sync in flight succeeds: under `always`, no reply
/// leaves while a write it may depend on is not durable.
pub fn hold_or_emit(srv: &mut Server, output: Output) {
    match srv.aof.sync_in_flight {
        Some(id) => srv.aof.held.push_back((id, output)),
        None => srv.outputs.push_back(output),
    }
}

/// Whether a client's output must be held now (see [`hold_or_emit`]).
pub fn holding(srv: &Server) -> bool {
    srv.aof.sync_in_flight.is_some()
}

/// The refusal for a command that may not run now: `-LOADING` while the
/// AOF loads (unless the command is allowed then), `-MISCONF` for writes
/// (and PING, as Redis) while the AOF cannot be written.
pub fn refuse_command(srv: &Server, flags: u32, name: &str) -> Option<Reply> {
    use crate::cmd::flags::{LOADING, WRITE};
    if srv.aof.is_loading() && flags & LOADING == 0 {
        return Some(Reply::err("LOADING Redis is loading the dataset in memory"));
    }
    if !srv.aof.writing() || (flags & WRITE == 0 && name != "ping") {
        return None;
    }
    let error = srv
        .aof
        .write_error
        .as_ref()
        .or(srv.aof.fsync_error.as_ref())?;
    Some(Reply::error(format!(
        "MISCONF Errors writing to the AOF file: {error}"
    )))
}

// ---- disk answers ----

/// Takes the answer to request `id` if it was the AOF's; returns whether
/// it was. The node calls this from `on_disk_done`.
pub fn on_disk_done(
    srv: &mut Server,
    clients: &mut Clients,
    id: RequestId,
    result: &DiskResult,
) -> bool {
    let Some((front, _)) = srv.aof.jobs.front() else {
        return false;
    };
    if *front != id {
        return false;
    }
    let (_, job) = srv.aof.jobs.pop_front().expect("checked above");
    match job {
        Job::Append { data, discarded } => appended(srv, data, discarded, result),
        Job::TruncateForRetry => {
            if let Err(e) = result {
                write_failed(srv, e);
            }
        }
        Job::Sync => synced(srv, id, result),
        Job::Switch => {
            if let Err(e) = result {
                srv.aof.manifest_unsafe = true;
                write_failed(srv, e);
            }
        }
        Job::Load(job) => load::on_done(srv, clients, job, result),
        Job::Rewrite(job) => rewrite::on_done(srv, job, result),
        Job::Other => {}
    }
    true
}

fn appended(srv: &mut Server, data: Bytes, discarded: bool, result: &DiskResult) {
    if discarded {
        return;
    }
    match result {
        Ok(_) => {
            srv.aof.incr_size += data.len() as u64;
            if FsyncPolicy::of(&srv.config) == FsyncPolicy::EverySec {
                srv.aof.since_sync.extend_from_slice(&data);
            }
        }
        Err(e) => {
            srv.aof.retry.splice(0..0, data.iter().copied());
            write_failed(srv, e);
        }
    }
}

/// An append failed. Under `always` the server stops (Redis exits); else
/// later appends in flight are discarded and kept for the retry, so the
/// file never has a hole, and writes are refused until the retry works.
fn write_failed(srv: &mut Server, e: &DiskError) {
    if FsyncPolicy::of(&srv.config) == FsyncPolicy::Always {
        fatal(srv);
        return;
    }
    if srv.aof.write_error.is_none() {
        let mut later = Vec::new();
        for (_, job) in srv.aof.jobs.iter_mut() {
            if let Job::Append { data, discarded } = job {
                if !*discarded {
                    *discarded = true;
                    later.extend_from_slice(data);
                }
            }
        }
        srv.aof.retry.extend_from_slice(&later);
    }
    srv.aof.write_error = Some(strerror(e));
}

fn synced(srv: &mut Server, id: RequestId, result: &DiskResult) {
    if srv.aof.sync_in_flight == Some(id) {
        srv.aof.sync_in_flight = None;
    }
    match result {
        Ok(_) => {
            srv.aof.fsync_error = None;
            srv.aof.synced_size = srv.aof.incr_size;
            srv.aof.since_sync.clear();
            release_held(srv, id);
        }
        Err(e) if FsyncPolicy::of(&srv.config) == FsyncPolicy::Always => {
            let _ = e;
            fatal(srv);
        }
        Err(e) => {
            resync_after_failed_fsync(srv, e);
            srv.aof.fsync_error = Some(strerror(e));
            srv.aof.unsynced = true;
            release_held(srv, id);
        }
    }
}

/// A Sync failed under `everysec`/`no` ("fsyncgate"): the pages it
/// covered may be marked clean yet never reach the disk, so a later
/// successful Sync would not make them durable. Under `everysec` the
/// file is cut back to the last good Sync and the bytes since are queued
/// to be written again, as after a failed write: writes get `-MISCONF`
/// until the cron's retry wrote them and a later Sync covered them.
fn resync_after_failed_fsync(srv: &mut Server, e: &DiskError) {
    if srv.aof.incr.is_none() || FsyncPolicy::of(&srv.config) != FsyncPolicy::EverySec {
        return;
    }
    let unsafe_bytes = std::mem::take(&mut srv.aof.since_sync);
    srv.aof.incr_size = srv.aof.synced_size;
    srv.aof.retry.splice(0..0, unsafe_bytes);
    write_failed(srv, e);
}

/// Sends the outputs that waited for Sync `id` (or an earlier one).
fn release_held(srv: &mut Server, id: RequestId) {
    while srv.aof.held.front().is_some_and(|(wait, _)| *wait <= id) {
        let (_, output) = srv.aof.held.pop_front().expect("checked");
        if let Output::Write { data, .. } = &output {
            srv.stats.total_net_output_bytes += data.len() as u64;
            srv.stats.total_writes_processed += 1;
        }
        srv.outputs.push_back(output);
    }
}

/// The log cannot be trusted under `always`: as Redis exits, the server
/// stops; held replies are never sent (their clients are closed).
fn fatal(srv: &mut Server) {
    let held: Vec<ClientId> = srv
        .aof
        .held
        .drain(..)
        .filter_map(|(_, output)| match output {
            Output::Write { client, .. } | Output::Close { client } => Some(client),
            _ => None,
        })
        .collect();
    for client in held {
        srv.outputs.push_back(Output::Close { client });
    }
    srv.aof.sync_in_flight = None;
    srv.aof.write_error = Some("Input/output error".into());
    cut_unsynced_tail(srv);
    if !srv.shutting_down {
        srv.shutting_down = true;
        srv.outputs.push_back(Output::Shutdown);
    }
}

/// Before exiting, cuts the incr file back to what the last good fsync
/// covered: after a failed fsync the kernel may keep the pages (readable,
/// marked clean) and still lose them at a power loss, so the next process
/// must not load them and append after them ("fsyncgate").
fn cut_unsynced_tail(srv: &mut Server) {
    let Some(incr) = srv.aof.incr.clone() else {
        return;
    };
    let len = srv.aof.synced_size;
    request(
        srv,
        DiskOp::Truncate {
            file: incr.file,
            len,
        },
        Job::Other,
    );
    request(srv, DiskOp::Sync { file: incr.file }, Job::Other);
}

// ---- cron ----

/// The AOF's periodic work: retrying a failed write, the `everysec`
/// fsync, a step of the rewrite, and starting an automatic or scheduled one.
pub fn cron(srv: &mut Server) {
    flush_effects(srv);
    if !srv.aof.writing() {
        return;
    }
    retry_failed_write(srv);
    maybe_sync_everysec(srv);
    rewrite::step(srv);
    maybe_start_rewrite(srv);
}

/// Writes again what a failed append left out: the file is cut back to
/// what the disk confirmed, then everything since is appended.
fn retry_failed_write(srv: &mut Server) {
    if srv.aof.write_error.is_none()
        || srv.aof.jobs.iter().any(|(_, j)| {
            matches!(
                j,
                Job::Append {
                    discarded: false,
                    ..
                } | Job::TruncateForRetry
            )
        })
    {
        return;
    }
    let Some(incr) = srv.aof.incr.clone() else {
        return;
    };
    srv.aof.write_error = None;
    if srv.aof.manifest_unsafe {
        srv.aof.manifest_unsafe = false;
        let manifest = srv.aof.manifest.clone();
        persist_manifest(srv, &manifest, || Job::Switch);
    }
    let len = srv.aof.incr_size;
    request(
        srv,
        DiskOp::Truncate {
            file: incr.file,
            len,
        },
        Job::TruncateForRetry,
    );
    let data = std::mem::take(&mut srv.aof.retry);
    append(srv, Bytes::from(data));
    srv.aof.unsynced = true;
}

fn maybe_start_rewrite(srv: &mut Server) {
    let walk_busy = srv.persist.walk_busy();
    if walk_busy || srv.aof.rewrite.is_some() || srv.now.mono_ms < srv.aof.rewrite_retry_at_ms {
        return;
    }
    let auto = auto_rewrite_due(srv);
    if srv.aof.rewrite_scheduled || auto {
        srv.aof.rewrite_scheduled = false;
        let _ = rewrite::start(srv);
    }
}

/// `auto-aof-rewrite-percentage` of growth over the size after the last
/// rewrite, once past `auto-aof-rewrite-min-size`.
fn auto_rewrite_due(srv: &Server) -> bool {
    let pct = srv.config.auto_aof_rewrite_percentage;
    let size = srv.aof.current_size();
    if srv.aof.status != Status::On || pct == 0 || size < srv.config.auto_aof_rewrite_min_size {
        return false;
    }
    let base = srv.aof.rewrite_base_size.max(1);
    size.saturating_sub(base).saturating_mul(100) / base >= pct
}

// ---- manifest ----

/// Writes `manifest` to a temporary file, syncs it and renames it over
/// the manifest, then syncs the directory; the last request's job comes
/// from `last_job`.
fn persist_manifest(srv: &mut Server, manifest: &Manifest, mut last_job: impl FnMut() -> Job) {
    let filename = srv.config.appendfilename.clone();
    let temp = path_in_dir(srv, &format::temp_manifest_name(&filename));
    let path = path_in_dir(srv, &format::manifest_name(&filename));
    let file = srv.disk.new_file(&temp);
    let text = Bytes::from(manifest.to_text());
    request(
        srv,
        DiskOp::Create {
            file,
            path: temp.clone(),
        },
        last_job(),
    );
    request(srv, DiskOp::Append { file, data: text }, last_job());
    request(srv, DiskOp::Sync { file }, last_job());
    request(srv, DiskOp::Close { file }, last_job());
    request(
        srv,
        DiskOp::Rename {
            from: temp,
            to: path,
        },
        last_job(),
    );
    let dir = aof_dir(srv);
    request(srv, DiskOp::SyncDir { dir }, last_job());
}

/// Creates incr file `seq` and makes it the one appended to.
fn open_new_incr(srv: &mut Server, seq: u64) {
    let name = format::incr_name(&srv.config.appendfilename, seq);
    let path = path_in_dir(srv, &name);
    let file = srv.disk.new_file(&path);
    request(srv, DiskOp::Create { file, path }, Job::Switch);
    if let Some(old) = srv.aof.incr.take() {
        srv.aof.old_incrs_size += srv.aof.incr_size;
        request(srv, DiskOp::Sync { file: old.file }, Job::Other);
        request(srv, DiskOp::Close { file: old.file }, Job::Other);
    }
    srv.aof.incr = Some(OpenIncr { file });
    srv.aof.incr_size = 0;
    srv.aof.synced_size = 0;
    srv.aof.since_sync.clear();
    srv.aof.selected_db = None;
    srv.aof.unsynced = true;
}

// ---- INFO ----

/// The `aof_*` fields of INFO persistence, in Redis 7.0's order (from
/// `aof_enabled` to `aof_delayed_fsync`, `module_fork_*` included). The
/// persistence section prints them after `rdb_last_load_keys_loaded`.
pub fn info_fields(srv: &Server) -> Vec<(&'static str, String)> {
    let aof = &srv.aof;
    let on = aof.status != Status::Off;
    let current_rewrite = match &aof.rewrite {
        Some(r) => (srv.now.mono_ms.saturating_sub(r.started_ms()) / 1000) as i64,
        None => -1,
    };
    let write_ok = aof.write_error.is_none() && aof.fsync_error.is_none();
    let mut fields = vec![
        ("aof_enabled", u8::from(on).to_string()),
        (
            "aof_rewrite_in_progress",
            u8::from(aof.rewrite.is_some()).to_string(),
        ),
        (
            "aof_rewrite_scheduled",
            u8::from(aof.rewrite_scheduled).to_string(),
        ),
        (
            "aof_last_rewrite_time_sec",
            aof.stats.last_time_sec.to_string(),
        ),
        ("aof_current_rewrite_time_sec", current_rewrite.to_string()),
        ("aof_last_bgrewrite_status", ok_err(aof.stats.last_ok)),
        ("aof_rewrites", aof.stats.rewrites.to_string()),
        (
            "aof_rewrites_consecutive_failures",
            aof.stats.consecutive_failures.to_string(),
        ),
        ("aof_last_write_status", ok_err(write_ok)),
        ("aof_last_cow_size", "0".into()),
        ("module_fork_in_progress", "0".into()),
        ("module_fork_last_cow_size", "0".into()),
    ];
    if on {
        fields.extend([
            ("aof_current_size", aof.current_size().to_string()),
            ("aof_base_size", aof.base_size.to_string()),
            (
                "aof_pending_rewrite",
                u8::from(aof.rewrite_scheduled).to_string(),
            ),
            ("aof_buffer_length", aof.retry.len().to_string()),
            ("aof_pending_bio_fsync", "0".into()),
            ("aof_delayed_fsync", aof.delayed_fsync.to_string()),
        ]);
    }
    fields
}

fn ok_err(ok: bool) -> String {
    if ok { "ok" } else { "err" }.to_string()
}

/// BGREWRITEAOF: starts a rewrite now, or schedules it while a BGSAVE runs
/// (`bgsave_running`, which the persistence side knows).
pub fn bgrewriteaof(srv: &mut Server, bgsave_running: bool) -> Reply {
    if srv.aof.rewrite.is_some() {
        return Reply::err("ERR Background append only file rewriting already in progress");
    }
    if bgsave_running {
        srv.aof.rewrite_scheduled = true;
        return Reply::Status("Background append only file rewriting scheduled".into());
    }
    if srv.aof.status == Status::Off {
        // Redis rewrites even with the AOF off (a one-off file); Keel's
        // rewrite feeds a running AOF, so it starts one only when on.
        return Reply::err("ERR Background append only file rewriting error");
    }
    match rewrite::start(srv) {
        Ok(()) => Reply::Status("Background append only file rewriting started".into()),
        Err(e) => Reply::error(format!("ERR {e}")),
    }
}

/// Disk data for a load job: the file's bytes or its absence.
fn data_of(result: &DiskResult) -> Result<Option<Bytes>, DiskError> {
    match result {
        Ok(DiskReply::Data(data)) => Ok(Some(data.clone())),
        Ok(_) => Ok(None),
        Err(e) if e.not_found => Ok(None),
        Err(e) => Err(e.clone()),
    }
}

#[cfg(test)]
mod fsyncgate_tests {
    use crate::config::Config;
    use crate::disk::DiskOp;
    use crate::resp::frame::Frame;
    use crate::testing::Harness;

    const INCR: &str = "/data/appendonlydir/appendonly.aof.1.incr.aof";

    fn everysec() -> Harness {
        let mut h = Harness::new(Config {
            appendonly: true,
            appendfsync: "everysec".into(),
            dir: "/data".into(),
            ..Config::default()
        });
        h.advance(0);
        h
    }

    fn incr_len(h: &Harness) -> usize {
        h.disk.read(INCR).map_or(0, <[u8]>::len)
    }

    #[test]
    fn a_failed_everysec_fsync_writes_its_bytes_again_before_they_count_as_safe() {
        let mut h = everysec();
        let c = h.connect();
        h.call(c, &["SET", "a", "1"]);
        h.advance_ticking(1100);
        let synced = incr_len(&h) as u64;
        assert_eq!(h.call(c, &["SET", "b", "2"]), Frame::Simple("OK".into()));
        let unsafe_bytes = h.disk.read(INCR).unwrap()[synced as usize..].to_vec();
        h.disk.log.clear();
        h.disk.fail_next = 1; // the everysec Sync covering b
        h.advance_ticking(1100);
        let refused = h.call(c, &["SET", "c", "3"]);
        assert!(
            refused
                .text()
                .unwrap()
                .starts_with("MISCONF Errors writing to the AOF file: Input/output error"),
            "{refused:?}"
        );
        let log = std::mem::take(&mut h.disk.log);
        let cut = log
            .iter()
            .position(|op| matches!(op, DiskOp::Truncate { len, .. } if *len == synced))
            .expect("the file is cut back to the last good fsync");
        let rewritten = log[cut..]
            .iter()
            .any(|op| matches!(op, DiskOp::Append { data, .. } if data.starts_with(&unsafe_bytes)));
        assert!(rewritten, "b's bytes are written again: {log:?}");
        h.advance_ticking(1100);
        assert_eq!(h.call(c, &["SET", "c", "3"]), Frame::Simple("OK".into()));
        let text = String::from_utf8_lossy(h.disk.read(INCR).unwrap()).into_owned();
        assert_eq!(text.matches("$1\r\nb\r\n").count(), 1, "b once: {text:?}");
    }
}
