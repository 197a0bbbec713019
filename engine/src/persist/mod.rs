//! RDB persistence: SAVE, forkless BGSAVE, save points, loading at start,
//! SHUTDOWN's save and DEBUG RELOAD, as Redis 7.0 behaves.
//!
//! - A **background snapshot** ([`snapshot::SnapshotJob`]) takes a
//!   point-in-time view without fork and without copying the data up
//!   front (see [`crate::db::snapshot`]) and encodes it in bounded steps
//!   ([`limits::BGSAVE_KEYS_PER_STEP`], [`limits::BGSAVE_BYTES_PER_STEP`]),
//!   one per [`step`], which the node runs from its timer: the node asks to
//!   be woken at once while a step is wanted, so clients are served
//!   between steps. One walk serves every consumer, one at a time as
//!   Redis's one child: BGSAVE (a file), a disk-less full sync (replica
//!   connections, see [`crate::repl::master`]) and BGREWRITEAOF's base
//!   (handed to [`crate::aof`]).
//! - A **foreground save** (SAVE, SHUTDOWN, DEBUG RELOAD) writes the whole
//!   file at once and blocks every client until the disk confirmed the
//!   rename and directory sync, as Redis's main thread is busy meanwhile.
//! - **Loading** ([`load::LoadJob`]) reads `dir/dbfilename` at start and
//!   loads it in steps; commands without the `loading` flag get `-LOADING`.
//!
//! Disk answers come in request order; each job keeps the ids of its own
//! requests, so [`on_disk_done`] can tell whose answer it is.

pub mod encoder;
pub mod load;
pub mod snapshot;

#[cfg(test)]
mod tests;

use crate::client::ClientId;
use crate::cmd::{flags, CommandSpec};
use crate::disk::{DiskResult, RequestId};
use crate::limits;
use crate::node::{Clients, LogLevel, Output};
use crate::resp::Reply;
use crate::server::Server;
use crate::time::Now;
use encoder::{Encoder, Header};
use load::{LoadEnd, LoadJob, Mode};
use snapshot::{Conns, Finished, SnapshotJob, Target};
use std::collections::VecDeque;

/// Below this size a file loads without progress lines in the log.
pub const LOAD_LOG_MIN_BYTES: u64 = 16 * 1024 * 1024;
/// Progress is logged each time this many more percent of the file loaded.
pub const LOAD_LOG_EVERY_PERCENT: u64 = 10;

/// Redis 7.0's reply to writes after a failed background save under
/// `stop-writes-on-bgsave-error yes`.
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Redis 7.0's reply to commands not allowed while the dataset loads.
pub const LOADING: &str = "LOADING Redis is loading the dataset in memory";

const IN_PROGRESS: &str = "ERR Background save already in progress";
const SHUTDOWN_FAILED: &str = "ERR Errors trying to SHUTDOWN. Check logs.";
const RELOAD_LOAD_FAILED: &str = "ERR Error trying to load the RDB dump, check server logs.";

/// What a foreground save does once it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Reply OK (SAVE), or the bare `ERR` Redis replies when it failed.
    Reply,
    /// Stop the server; on failure too when `force`.
    Shutdown { force: bool },
    /// DEBUG RELOAD: empty the data unless `!flush`, then load the file.
    Reload { flush: bool, merge: bool },
}

/// A client (or SIGTERM, with no client) waiting on a foreground job.
#[derive(Debug, Clone, Copy)]
struct Waiter {
    client: Option<ClientId>,
    after: After,
}

/// What the node must do when a job finished.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    /// Reply to this client (blocked until now), then serve everyone again.
    Reply { client: ClientId, reply: Reply },
    /// Serve everyone again (nobody to answer).
    Resume,
    /// Stop the server.
    Shutdown,
}

/// Persistence state, in the server.
pub struct Persist {
    /// Unix seconds of the last successful save, or of the start (LASTSAVE).
    pub last_save_secs: u64,
    /// The server's change counter as of the data last saved.
    dirty_at_last_save: u64,
    /// Whether the last background save succeeded (rdb_last_bgsave_status).
    pub last_bgsave_ok: bool,
    /// Unix seconds of the last background save attempt (for the retry delay).
    last_bgsave_try_secs: u64,
    last_bgsave_secs: Option<u64>,
    /// Successful saves (rdb_saves).
    pub saves: u64,
    /// BGSAVE SCHEDULE asked for a save once nothing else runs.
    pub bgsave_scheduled: bool,
    background: Option<SnapshotJob>,
    foreground: Option<SnapshotJob>,
    waiter: Option<Waiter>,
    load: Option<LoadJob>,
    /// Requests of abandoned jobs whose answers are still to come.
    orphans: VecDeque<RequestId>,
    /// The epoch of the last snapshot (see [`crate::db::snapshot`]).
    epoch: u16,
    pub last_load_keys_loaded: u64,
    pub last_load_keys_expired: u64,
    started: bool,
    /// Output drained while a transfer waited for it: step at once.
    pub(crate) wake: bool,
    /// A disk-backed full sync has a file to send as output drains.
    pub(crate) files_sending: bool,
    /// The read of the saved file a disk-backed full sync sends.
    transfer_read: Option<RequestId>,
}

impl Persist {
    pub fn new(now: Now) -> Persist {
        Persist {
            last_save_secs: now.unix_ms / 1000,
            dirty_at_last_save: 0,
            last_bgsave_ok: true,
            last_bgsave_try_secs: 0,
            last_bgsave_secs: None,
            saves: 0,
            bgsave_scheduled: false,
            background: None,
            foreground: None,
            waiter: None,
            load: None,
            orphans: VecDeque::new(),
            epoch: 0,
            last_load_keys_loaded: 0,
            last_load_keys_expired: 0,
            started: false,
            wake: false,
            files_sending: false,
            transfer_read: None,
        }
    }

    /// Whether [`start`] ran (the RDB load at start was begun, or skipped).
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// The dataset is loading at start (INFO loading:1, `-LOADING`).
    pub fn is_loading(&self) -> bool {
        self.load
            .as_ref()
            .is_some_and(|l| l.mode() == Mode::Startup)
    }

    /// A foreground save or reload is under way: no command runs, as in
    /// Redis whose main thread is busy saving.
    pub fn blocks_commands(&self) -> bool {
        self.waiter.is_some()
    }

    /// An RDB snapshot runs (BGSAVE or a full sync's, to disk or to
    /// replicas): Redis's `child_type == CHILD_TYPE_RDB`.
    pub fn bgsave_in_progress(&self) -> bool {
        self.background.as_ref().is_some_and(|j| j.is_rdb_save())
    }

    /// A snapshot walk of any kind runs (the databases hold one).
    pub fn walk_busy(&self) -> bool {
        self.background.is_some()
    }

    /// Whether a step is wanted now (the node then asks to be woken at once).
    pub fn wants_step(&self) -> bool {
        let walking = self
            .background
            .as_ref()
            .is_some_and(|j| j.is_writing() && !j.throttled);
        !self.blocks_commands() && (self.is_loading() || walking || self.wake)
    }

    /// The driver wrote some client's output (`Input::ClientWritten`): a
    /// transfer that waited for a replica's output to drain may go on.
    pub fn on_client_written(&mut self) {
        let throttled = self.background.as_ref().is_some_and(|j| j.throttled);
        if throttled || self.files_sending {
            self.wake = true;
        }
    }

    /// Changes since the last successful save (rdb_changes_since_last_save).
    pub fn changes_since_save(&self, dirty: u64) -> u64 {
        dirty.saturating_sub(self.dirty_at_last_save)
    }

    fn next_epoch(&mut self, srv_dbs: &mut [crate::db::Db]) -> u16 {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            for db in srv_dbs.iter_mut() {
                db.reset_epochs();
            }
            self.epoch = 1;
        }
        self.epoch
    }
}

/// `dir/name`.
pub fn path_in(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Emits a log line for the driver.
pub fn log(srv: &mut Server, level: LogLevel, text: &str) {
    srv.outputs.push_back(Output::Log {
        level,
        text: text.to_string(),
    });
}

// ---- start ----

/// Starts the node's persistence: loads the dataset from the RDB file.
/// With `appendonly yes` the append-only file is the source instead, as
/// in Redis, and `crate::aof` loads it (it starts on its own with the
/// node's first event). Runs once; later calls do nothing.
pub fn start(srv: &mut Server) {
    if std::mem::replace(&mut srv.persist.started, true) || srv.config.appendonly {
        return;
    }
    let path = path_in(&srv.config.dir, &srv.config.dbfilename);
    srv.persist.load = Some(LoadJob::begin(srv, path, Mode::Startup));
}

// ---- gates ----

/// Why `spec` may not run now, if it may not: `-MISCONF` for writes (and
/// PING, as Redis) after a failed background save, `-LOADING` while the
/// dataset loads. Redis checks them in this order.
pub fn refusal(srv: &Server, spec: &CommandSpec) -> Option<Reply> {
    let p = &srv.persist;
    let writes_denied =
        srv.config.stop_writes_on_bgsave_error && !srv.config.save.is_empty() && !p.last_bgsave_ok;
    if writes_denied && (spec.has(flags::WRITE) || spec.name == "ping") {
        return Some(Reply::err(MISCONF));
    }
    if p.is_loading() && !spec.has(flags::LOADING) {
        return Some(Reply::err(LOADING));
    }
    None
}

// ---- steps and cron ----

/// One bounded step of whatever runs in the background: loading, or the
/// background snapshot's walk, and the disk-backed full syncs' sending.
pub fn step(srv: &mut Server, clients: &mut Clients) {
    if srv.persist.blocks_commands() {
        return;
    }
    srv.persist.wake = false;
    if step_load(srv) {
        return;
    }
    let mut conns = Some(Conns {
        current: None,
        others: clients,
    });
    step_background(srv, &mut conns);
    crate::repl::master::send_files(srv, clients);
}

/// One bounded step of loading, if a load runs (then true).
fn step_load(srv: &mut Server) -> bool {
    let Some(mut job) = srv.persist.load.take() else {
        return false;
    };
    match job.step(srv, limits::LOAD_ITEMS_PER_STEP) {
        None => srv.persist.load = Some(job),
        Some(end) => startup_load_done(srv, &job, end),
    }
    true
}

/// One bounded step of the background snapshot, finishing it when it
/// ended without disk work left.
pub fn step_background(srv: &mut Server, conns: &mut Option<Conns>) {
    let Some(mut job) = srv.persist.background.take() else {
        return;
    };
    let end = job.step(
        srv,
        conns,
        limits::BGSAVE_KEYS_PER_STEP,
        limits::BGSAVE_BYTES_PER_STEP,
    );
    match end {
        None => srv.persist.background = Some(job),
        Some(end) => background_done(srv, &job, end),
    }
}

/// The save points and BGSAVE SCHEDULE, checked by the cron as Redis's
/// `serverCron`: a save point fires once it has `changes` changes and
/// more than `seconds` passed since the last save; after a failed
/// background save, the next try waits [`limits::BGSAVE_RETRY_DELAY_SECS`].
pub fn cron(srv: &mut Server) {
    let p = &srv.persist;
    if p.background.is_some() || p.waiter.is_some() || p.load.is_some() || other_job_running(srv) {
        return;
    }
    let now_secs = srv.now.unix_ms / 1000;
    let may_retry = p.last_bgsave_ok
        || now_secs.saturating_sub(p.last_bgsave_try_secs) > limits::BGSAVE_RETRY_DELAY_SECS;
    if !may_retry {
        return;
    }
    let changes = p.changes_since_save(srv.dirty);
    let since_save = now_secs.saturating_sub(p.last_save_secs);
    let due = srv
        .config
        .save
        .iter()
        .find(|sp| changes >= sp.changes && since_save > sp.seconds)
        .copied();
    if let Some(sp) = due {
        let text = format!(
            "{} changes in {} seconds. Saving...",
            sp.changes, sp.seconds
        );
        log(srv, LogLevel::Notice, &text);
        start_background(srv);
    } else if srv.persist.bgsave_scheduled {
        srv.persist.bgsave_scheduled = false;
        start_background(srv);
    }
}

// ---- commands ----

/// BGSAVE [SCHEDULE].
pub fn bgsave(srv: &mut Server, schedule: bool) -> Reply {
    if srv.persist.bgsave_in_progress() {
        return Reply::err(IN_PROGRESS);
    }
    if other_job_running(srv) {
        if schedule {
            srv.persist.bgsave_scheduled = true;
            return Reply::Status("Background saving scheduled".into());
        }
        return Reply::err(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. \
             Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        );
    }
    start_background(srv);
    Reply::Status("Background saving started".into())
}

/// Whether another background job (an AOF rewrite) holds the place a
/// background save needs, as Redis's other fork children do.
fn other_job_running(srv: &Server) -> bool {
    srv.aof.rewrite_in_progress() || srv.persist.walk_busy()
}

fn start_background(srv: &mut Server) {
    start_disk_save(srv, Header::Dump);
}

/// Starts a BGSAVE to the dump file with `header` (the replication
/// fields when replicas wait for the file).
fn start_disk_save(srv: &mut Server, header: Header) {
    srv.persist.last_bgsave_try_secs = srv.now.unix_ms / 1000;
    let encoder = Encoder::rdb(srv, &header);
    let target = Target::File(snapshot::file_target(srv));
    begin_walk(srv, encoder, target);
    log(srv, LogLevel::Notice, "Background saving started");
}

fn begin_walk(srv: &mut Server, encoder: Encoder, target: Target) {
    let epoch = srv.persist.next_epoch(&mut srv.dbs);
    let job = SnapshotJob::begin(srv, epoch, encoder, target);
    srv.persist.background = Some(job);
}

// ---- other consumers of the walk ----

/// Starts the walk for BGREWRITEAOF's new base (an RDB preamble when
/// `rdb`, else commands), its chunks handed to
/// [`crate::aof::rewrite::base_chunk`]. False when a walk already runs.
pub fn start_aof_base(srv: &mut Server, rdb: bool) -> bool {
    if srv.persist.walk_busy() || srv.persist.blocks_commands() {
        return false;
    }
    let encoder = if rdb {
        Encoder::rdb(srv, &Header::AofBase)
    } else {
        Encoder::commands(srv)
    };
    begin_walk(srv, encoder, Target::AofBase);
    true
}

/// The AOF gave up its rewrite: its walk stops.
pub fn abandon_aof_base(srv: &mut Server) {
    if srv
        .persist
        .background
        .as_ref()
        .is_some_and(|j| !j.is_rdb_save())
    {
        if let Some(job) = srv.persist.background.take() {
            let pending = job.abandon(srv);
            srv.persist.orphans.extend(pending);
        }
    }
}

/// Starts a disk-backed save for the replicas waiting for a full sync.
/// False when a walk already runs.
pub fn start_save_for_replicas(srv: &mut Server, header: Header) -> bool {
    if srv.persist.walk_busy() || srv.persist.blocks_commands() {
        return false;
    }
    start_disk_save(srv, header);
    true
}

/// Starts a disk-less full sync to replicas `ids` (whose `$EOF:<mark>`
/// header is already written) and takes its first step at once, so a
/// small dataset is sent before the caller returns. False when a walk
/// already runs.
pub fn start_socket_save(
    srv: &mut Server,
    conns: &mut Option<Conns>,
    ids: Vec<ClientId>,
    mark: String,
    header: Header,
) -> bool {
    if srv.persist.walk_busy() || srv.persist.blocks_commands() {
        return false;
    }
    let encoder = Encoder::rdb(srv, &header);
    begin_walk(srv, encoder, Target::Replicas { ids, mark });
    log(
        srv,
        LogLevel::Notice,
        "Starting BGSAVE for SYNC with target: replicas sockets",
    );
    step_background(srv, conns);
    true
}

/// SAVE: refused while a background save runs; otherwise the whole file
/// is written now and `client` waits (with every other client) until it
/// is on disk. Returns the reply to give now, if any.
pub fn save(srv: &mut Server, client: ClientId) -> Option<Reply> {
    if srv.persist.bgsave_in_progress() {
        return Some(Reply::err(IN_PROGRESS));
    }
    start_foreground(srv, Some(client), After::Reply);
    None
}

/// Writes the whole snapshot now; `waiter` is answered when it is on disk.
fn start_foreground(srv: &mut Server, client: Option<ClientId>, after: After) {
    let encoder = Encoder::rdb(srv, &Header::Dump);
    let job = SnapshotJob::foreground(srv, encoder);
    srv.persist.foreground = Some(job);
    srv.persist.waiter = Some(Waiter { client, after });
}

/// SHUTDOWN (from a client) or SIGTERM (`client` None): a background save
/// is abandoned; the data is saved first when `save` says so, or when
/// save points are set and not `nosave`. Returns true when the server
/// stops now; false when a save runs first (the answer comes with its
/// completion).
pub fn shutdown(
    srv: &mut Server,
    client: Option<ClientId>,
    save: bool,
    nosave: bool,
    force: bool,
) -> bool {
    abandon_background(srv);
    // As Redis: never save while loading, which would replace the good
    // file with part of its data.
    if srv.persist.is_loading() {
        return true;
    }
    let must_save = save || (!nosave && !srv.config.save.is_empty());
    if !must_save {
        return true;
    }
    log(
        srv,
        LogLevel::Notice,
        "Saving the final RDB snapshot before exiting.",
    );
    start_foreground(srv, client, After::Shutdown { force });
    false
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE].
pub fn debug_reload(
    srv: &mut Server,
    client: ClientId,
    save: bool,
    flush: bool,
    merge: bool,
) -> Option<Reply> {
    if srv.persist.bgsave_in_progress() && save {
        return Some(Reply::err(IN_PROGRESS));
    }
    let after = After::Reload { flush, merge };
    if save {
        start_foreground(srv, Some(client), after);
    } else {
        srv.persist.waiter = Some(Waiter {
            client: Some(client),
            after,
        });
        begin_reload(srv, flush, merge);
    }
    None
}

/// Stops a background save (SHUTDOWN): its temporary file is removed.
/// An AOF rewrite's walk is the AOF's to stop.
pub fn abandon_background(srv: &mut Server) {
    if !srv.persist.bgsave_in_progress() {
        return;
    }
    if let Some(job) = srv.persist.background.take() {
        let pending = job.abandon(srv);
        srv.persist.orphans.extend(pending);
        log(
            srv,
            LogLevel::Warning,
            "There is a background save in progress. Abandoning it!",
        );
    }
}

// ---- disk answers ----

/// Routes a disk answer to the job that asked; returns what the node must
/// do if a job finished. Answers for requests that are not ours are left
/// alone (`None`).
pub fn on_disk_done(srv: &mut Server, id: RequestId, result: DiskResult) -> Option<Completion> {
    if srv.persist.orphans.front() == Some(&id) {
        srv.persist.orphans.pop_front();
        return None;
    }
    if srv.persist.transfer_read == Some(id) {
        srv.persist.transfer_read = None;
        crate::repl::master::file_read(srv, result);
        return None;
    }
    if srv.persist.background.as_ref().is_some_and(|j| j.owns(id)) {
        let mut job = srv.persist.background.take()?;
        match job.on_disk_done(srv, &result) {
            None => srv.persist.background = Some(job),
            Some(end) => background_done(srv, &job, end),
        }
        return None;
    }
    if srv.persist.foreground.as_ref().is_some_and(|j| j.owns(id)) {
        let mut job = srv.persist.foreground.take()?;
        return match job.on_disk_done(srv, &result) {
            None => {
                srv.persist.foreground = Some(job);
                None
            }
            Some(end) => foreground_done(srv, &job, end),
        };
    }
    if srv.persist.load.as_ref().is_some_and(|j| j.owns(id)) {
        let mut job = srv.persist.load.take()?;
        return match job.on_disk_done(srv, result) {
            None => {
                srv.persist.load = Some(job);
                // The first step at once: a small file is loaded before
                // any client is served.
                step_load(srv);
                None
            }
            Some(end) if job.mode() == Mode::Startup => {
                startup_load_done(srv, &job, end);
                None
            }
            Some(end) => reload_done(srv, &job, end),
        };
    }
    None
}

/// Records a successful save of the data as of `job`'s start.
fn saved(srv: &mut Server, job: &SnapshotJob) {
    let p = &mut srv.persist;
    p.last_save_secs = srv.now.unix_ms / 1000;
    p.dirty_at_last_save = job.dirty_at_start;
    p.last_bgsave_ok = true;
    p.saves += 1;
}

fn background_done(srv: &mut Server, job: &SnapshotJob, end: Finished) {
    match &job.target {
        Target::File(file) => {
            let path = file.final_path.clone();
            file_save_done(srv, job, end.clone());
            transfer_file(srv, &path, end == Finished::Saved);
        }
        Target::Replicas { ids, .. } => {
            crate::repl::master::payload_sent(srv, ids, end == Finished::Saved)
        }
        Target::AofBase => crate::aof::rewrite::base_complete(srv),
    }
}

fn file_save_done(srv: &mut Server, job: &SnapshotJob, end: Finished) {
    srv.persist.last_bgsave_secs = Some(job.elapsed_secs(srv.now));
    match end {
        Finished::Saved => {
            saved(srv, job);
            log(
                srv,
                LogLevel::Notice,
                "Background saving terminated with success",
            );
        }
        Finished::Failed(reason) => {
            srv.persist.last_bgsave_ok = false;
            let text = format!("Background saving error: {reason}");
            log(srv, LogLevel::Warning, &text);
        }
    }
}

/// A BGSAVE ended: replicas waiting for its file get it read (to be sent
/// with its length), or fail their sync when it failed.
fn transfer_file(srv: &mut Server, path: &str, ok: bool) {
    if !crate::repl::master::waiting_for_file(srv) {
        return;
    }
    if !ok {
        crate::repl::master::file_read(srv, Err(crate::disk::DiskError::new("BGSAVE failed")));
        return;
    }
    let id = srv.disk_request(crate::disk::DiskOp::Read {
        path: path.to_string(),
    });
    srv.persist.transfer_read = Some(id);
}

fn foreground_done(srv: &mut Server, job: &SnapshotJob, end: Finished) -> Option<Completion> {
    let waiter = srv.persist.waiter.take()?;
    let ok = end == Finished::Saved;
    match &end {
        Finished::Saved => {
            saved(srv, job);
            log(srv, LogLevel::Notice, "DB saved on disk");
        }
        Finished::Failed(reason) => {
            let text = format!("Failed saving the DB: {reason}");
            log(srv, LogLevel::Warning, &text);
        }
    }
    match waiter.after {
        After::Reply => answer(waiter, if ok { Reply::OK } else { Reply::err("ERR") }),
        After::Shutdown { force } if ok || force => Some(Completion::Shutdown),
        After::Shutdown { .. } => {
            let text = "Error trying to save the DB, can't exit.";
            log(srv, LogLevel::Warning, text);
            answer(waiter, Reply::err(SHUTDOWN_FAILED))
        }
        After::Reload { .. } if !ok => answer(waiter, Reply::err("ERR")),
        After::Reload { flush, merge } => {
            srv.persist.waiter = Some(waiter);
            begin_reload(srv, flush, merge);
            None
        }
    }
}

/// DEBUG RELOAD after its save: empties the data (unless NOFLUSH) and
/// reads the file back.
fn begin_reload(srv: &mut Server, flush: bool, merge: bool) {
    if flush {
        for db in srv.dbs.iter_mut() {
            drop(db.clear());
        }
    }
    let path = path_in(&srv.config.dir, &srv.config.dbfilename);
    srv.persist.load = Some(LoadJob::begin(srv, path, Mode::Reload { merge }));
}

fn reload_done(srv: &mut Server, job: &LoadJob, end: LoadEnd) -> Option<Completion> {
    let waiter = srv.persist.waiter.take()?;
    record_load(srv, job);
    match end {
        LoadEnd::Loaded => {
            log(srv, LogLevel::Warning, "DB reloaded by DEBUG RELOAD");
            answer(waiter, Reply::OK)
        }
        LoadEnd::NotFound | LoadEnd::Failed(_) => {
            if let LoadEnd::Failed(reason) = end {
                log(srv, LogLevel::Warning, &reason);
            }
            answer(waiter, Reply::err(RELOAD_LOAD_FAILED))
        }
    }
}

fn answer(waiter: Waiter, reply: Reply) -> Option<Completion> {
    Some(match waiter.client {
        Some(client) => Completion::Reply { client, reply },
        None => Completion::Resume,
    })
}

fn record_load(srv: &mut Server, job: &LoadJob) {
    srv.persist.last_load_keys_loaded = job.keys_loaded;
    srv.persist.last_load_keys_expired = job.keys_expired;
}

/// Loading at start ended: serve, or stop with the reason. The
/// replication history the file carries is restored (see
/// [`crate::repl::snapshot::restore_history`]); a replica's PSYNC, held
/// while loading, goes out.
fn startup_load_done(srv: &mut Server, job: &LoadJob, end: LoadEnd) {
    record_load(srv, job);
    match end {
        LoadEnd::Loaded => {
            let history = job.saved_history(srv.dbs.len());
            let expired = &job.expired_on_load;
            crate::repl::snapshot::restore_history(srv, history, expired, job.expired_keys_known());
            let ms = srv.now.mono_ms.saturating_sub(job.started.mono_ms);
            let text = format!(
                "DB loaded from disk: {}.{:03} seconds ({} keys loaded, {} expired keys dropped)",
                ms / 1000,
                ms % 1000,
                job.keys_loaded,
                job.keys_expired
            );
            log(srv, LogLevel::Notice, &text);
            crate::repl::replica::release_held_psync(srv);
        }
        LoadEnd::NotFound => crate::repl::replica::release_held_psync(srv),
        LoadEnd::Failed(reason) => {
            srv.outputs.push_back(Output::Fatal(format!(
                "Fatal error loading the DB: {reason}. Exiting."
            )));
            srv.shutting_down = true;
        }
    }
}

// ---- INFO ----

/// INFO persistence, with Redis 7.0.15's fields in its order. The AOF
/// fields are the AOF's to fill once merged.
pub fn info_fields(srv: &Server) -> Vec<(&'static str, String)> {
    let p = &srv.persist;
    let now = srv.now;
    let bg = p.background.as_ref().filter(|j| j.is_rdb_save());
    let mut f: Vec<(&'static str, String)> = vec![
        (
            "loading",
            u8::from(p.is_loading() || srv.aof.is_loading()).to_string(),
        ),
        ("async_loading", "0".into()),
        ("current_cow_peak", "0".into()),
        ("current_cow_size", "0".into()),
        ("current_cow_size_age", "0".into()),
        ("current_fork_perc", "0.00".into()),
        (
            "current_save_keys_processed",
            bg.map_or(0, |j| j.keys_written()).to_string(),
        ),
        (
            "current_save_keys_total",
            bg.map_or(0, |j| j.keys_total()).to_string(),
        ),
        (
            "rdb_changes_since_last_save",
            p.changes_since_save(srv.dirty).to_string(),
        ),
        ("rdb_bgsave_in_progress", u8::from(bg.is_some()).to_string()),
        ("rdb_last_save_time", p.last_save_secs.to_string()),
        (
            "rdb_last_bgsave_status",
            if p.last_bgsave_ok { "ok" } else { "err" }.into(),
        ),
        (
            "rdb_last_bgsave_time_sec",
            p.last_bgsave_secs.map_or(-1, |s| s as i64).to_string(),
        ),
        (
            "rdb_current_bgsave_time_sec",
            bg.map_or(-1, |j| j.elapsed_secs(now) as i64).to_string(),
        ),
        ("rdb_saves", p.saves.to_string()),
        ("rdb_last_cow_size", "0".into()),
        (
            "rdb_last_load_keys_expired",
            p.last_load_keys_expired.to_string(),
        ),
        (
            "rdb_last_load_keys_loaded",
            p.last_load_keys_loaded.to_string(),
        ),
    ];
    f.extend(crate::aof::info_fields(srv));
    if let Some(job) = p.load.as_ref().filter(|_| p.is_loading()) {
        f.extend(loading_fields(job, now));
    }
    f
}

fn loading_fields(job: &LoadJob, now: Now) -> Vec<(&'static str, String)> {
    vec![
        (
            "loading_start_time",
            (job.started.unix_ms / 1000).to_string(),
        ),
        ("loading_total_bytes", job.total_bytes.to_string()),
        ("loading_rdb_used_mem", job.rdb_used_mem.to_string()),
        ("loading_loaded_bytes", job.loaded_bytes.to_string()),
        ("loading_loaded_perc", format!("{:.2}", job.loaded_perc())),
        ("loading_eta_seconds", job.eta_secs(now).to_string()),
    ]
}
