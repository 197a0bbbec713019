//! Loading the AOF at start: the manifest, then the base (an RDB preamble
//! or commands), then each incr file, replaying commands through the
//! command table with a client of its own, a bounded number per step.
//!
//! Redis's rules: a file that ends inside a command (a torn write) is
//! accepted when it is the last file and `aof-load-truncated yes`, the
//! torn tail dropped and cut from the file; a MULTI left open at the end
//! is rolled back the same way; anything else that is not a command as
//! Redis writes it refuses to start, naming the file and the offset.
//!
//! **Upgrade.** A pre-7.0 single-file AOF (`dir/appendfilename`, no
//! manifest) is moved into the AOF directory as Redis 7.0 does, keeping
//! its name as the base (`file appendonly.aof seq 1 type b`): the
//! directory is created, the manifest naming the base is made durable,
//! then the file is renamed in and both directories synced. A crash
//! between the manifest and the rename leaves a manifest naming a base
//! that is still outside, with no incr file: the next start sees that
//! and finishes the move ([`Manifest`] base named `appendfilename`, the
//! old file present).

use super::format::{self, FileKind, Manifest, ManifestEntry};
use super::parse::{read_command, Read};
use super::{aof_dir, data_of, path_in_dir, request, Job, OpenIncr, Status};
use crate::client::{Client, ClientInfo};
use crate::cmd::Ctx;
use crate::db::Object;
use crate::disk::{DiskOp, DiskResult};
use crate::node::{Clients, Output};
use crate::rdb::loader::{restored_access, Item, RdbLoader};
use crate::rdb::Encodings;
use crate::server::Server;
use bytes::Bytes;

/// Commands replayed per step.
pub const LOAD_STEP_COMMANDS: usize = 4096;

#[derive(Debug)]
pub enum LoadJob {
    Manifest,
    /// Looking for a pre-7.0 AOF at `dir/appendfilename`.
    OldStyle,
    /// Moving the old-style AOF into the directory.
    Upgrade,
    File(usize),
    /// Cutting a torn tail, syncing, and other finishing requests.
    Finish,
}

/// Loading in progress.
#[derive(Debug)]
pub struct Loading {
    files: Vec<ManifestEntry>,
    /// The file being replayed (index into `files`).
    current: usize,
    data: Option<Bytes>,
    pos: usize,
    client: Client,
    /// Commands of an open MULTI, and where it started.
    multi: Option<(usize, Vec<Vec<Bytes>>)>,
    /// A torn tail was dropped: the file and the length it is cut to.
    truncate: Option<(usize, u64)>,
    sizes: Vec<u64>,
    /// The bytes of the last file, kept to write again under `everysec`
    /// if the first fsync after loading fails.
    last_file: Option<Bytes>,
    /// When loading started (monotonic ms), for the log line at its end.
    started_ms: u64,
}

/// Starts loading: asks for the manifest.
pub fn start(srv: &mut Server) {
    srv.aof.status = Status::Loading;
    srv.record_effects(false);
    let client = Client::new(0, ClientInfo::default(), srv.now.mono_ms, true);
    srv.aof.loading = Some(Box::new(Loading {
        files: Vec::new(),
        current: 0,
        data: None,
        pos: 0,
        client,
        multi: None,
        truncate: None,
        sizes: Vec::new(),
        last_file: None,
        started_ms: srv.now.mono_ms,
    }));
    let path = path_in_dir(srv, &format::manifest_name(&srv.config.appendfilename));
    request(srv, DiskOp::Read { path }, Job::Load(LoadJob::Manifest));
}

/// Whether a load step has work now (data read and not yet replayed).
pub fn has_work(srv: &Server) -> bool {
    srv.aof.loading.as_ref().is_some_and(|l| l.data.is_some())
}

pub fn on_done(srv: &mut Server, clients: &mut Clients, job: LoadJob, result: &DiskResult) {
    match job {
        LoadJob::Manifest => manifest_read(srv, result),
        LoadJob::OldStyle => old_style_read(srv, result),
        LoadJob::Upgrade => {
            if let Err(e) = result {
                refuse(srv, format!("Can't move the old-style AOF file: {e}"));
            }
        }
        LoadJob::File(index) => file_read(srv, clients, index, result),
        LoadJob::Finish => {
            if let Err(e) = result {
                refuse(srv, format!("Can't finish loading the AOF: {e}"));
            }
        }
    }
}

fn manifest_read(srv: &mut Server, result: &DiskResult) {
    let data = match data_of(result) {
        Ok(Some(data)) => data,
        Ok(None) => return look_for_old_style(srv),
        Err(e) => return refuse(srv, format!("Can't read the AOF manifest: {e}")),
    };
    let manifest = match Manifest::parse(&data) {
        Ok(m) => m,
        Err(e) => return refuse(srv, format!("Bad AOF manifest: {e}")),
    };
    let unfinished_upgrade = manifest.incrs.is_empty()
        && manifest
            .base
            .as_ref()
            .is_some_and(|b| b.name == srv.config.appendfilename);
    srv.aof.manifest = manifest;
    if unfinished_upgrade {
        return look_for_old_style(srv);
    }
    load_manifest_files(srv);
}

fn load_manifest_files(srv: &mut Server) {
    let files = srv.aof.manifest.load_order();
    if let Some(l) = srv.aof.loading.as_mut() {
        l.files = files;
    }
    read_next_file(srv);
}

/// `dir/appendfilename`: a pre-7.0 AOF, if it exists.
fn old_style_path(srv: &Server) -> String {
    format::join(&srv.config.dir, &srv.config.appendfilename)
}

/// No manifest (or one an upgrade wrote before its rename): is there a
/// pre-7.0 AOF to move in?
fn look_for_old_style(srv: &mut Server) {
    let path = old_style_path(srv);
    request(srv, DiskOp::Read { path }, Job::Load(LoadJob::OldStyle));
}

fn old_style_read(srv: &mut Server, result: &DiskResult) {
    let found = match data_of(result) {
        Ok(found) => found.is_some(),
        Err(e) => return refuse(srv, format!("Can't read the old-style AOF file: {e}")),
    };
    let have_manifest = srv.aof.manifest.base.is_some();
    match (found, have_manifest) {
        (false, false) => create_fresh(srv),
        (false, true) => load_manifest_files(srv),
        (true, resuming) => {
            upgrade(srv, resuming);
            load_manifest_files(srv);
        }
    }
}

/// Moves the old-style AOF into the AOF directory as the base, in a
/// crash-safe order (see the module docs). The reads of the files come
/// after these requests, so they see the file in its new place.
fn upgrade(srv: &mut Server, manifest_written: bool) {
    let job = || Job::Load(LoadJob::Upgrade);
    let dir = aof_dir(srv);
    let filename = srv.config.appendfilename.clone();
    if !manifest_written {
        request(srv, DiskOp::CreateDir { dir: dir.clone() }, job());
        srv.aof.manifest = Manifest {
            base: Some(ManifestEntry {
                name: filename.clone(),
                seq: 1,
                kind: FileKind::Base,
            }),
            incrs: Vec::new(),
            history: Vec::new(),
        };
        let m = srv.aof.manifest.clone();
        super::persist_manifest(srv, &m, job);
    }
    let from = old_style_path(srv);
    let to = path_in_dir(srv, &filename);
    request(srv, DiskOp::Rename { from, to }, job());
    request(srv, DiskOp::SyncDir { dir }, job());
    let parent = srv.config.dir.clone();
    request(srv, DiskOp::SyncDir { dir: parent }, job());
    let text = format!(
        "Successfully migrated an old-style AOF file ({filename}) into the AOF directory ({}).",
        srv.config.appenddirname
    );
    crate::persist::log(srv, crate::node::LogLevel::Notice, &text);
}

fn read_next_file(srv: &mut Server) {
    let Some(l) = srv.aof.loading.as_ref() else {
        return;
    };
    let index = l.current;
    match l.files.get(index) {
        Some(entry) => {
            let path = path_in_dir(srv, &entry.name);
            request(srv, DiskOp::Read { path }, Job::Load(LoadJob::File(index)));
        }
        None => finish(srv),
    }
}

fn file_read(srv: &mut Server, clients: &mut Clients, index: usize, result: &DiskResult) {
    let name = match srv.aof.loading.as_ref().and_then(|l| l.files.get(index)) {
        Some(e) => e.name.clone(),
        None => return,
    };
    let data = match data_of(result) {
        Ok(Some(data)) => data,
        Ok(None) => return refuse(srv, format!("The AOF file {name} doesn't exist")),
        Err(e) => return refuse(srv, format!("Can't read the AOF file {name}: {e}")),
    };
    let mut pos = 0;
    if data.starts_with(b"REDIS") {
        match load_preamble(srv, &data) {
            Ok(end) => pos = end,
            Err(e) => {
                return refuse(
                    srv,
                    format!("Bad file format reading the append only file {name}: {e}"),
                )
            }
        }
    }
    if let Some(l) = srv.aof.loading.as_mut() {
        l.sizes.push(data.len() as u64);
        l.data = Some(data);
        l.pos = pos;
        l.client.db = 0;
    }
    // Small files load at once; big ones continue from the node's steps.
    step(srv, clients);
}

/// Loads an RDB preamble; returns where the commands after it start.
fn load_preamble(srv: &mut Server, data: &[u8]) -> Result<usize, String> {
    let enc = Encodings::from_config(&srv.config);
    let mut loader = RdbLoader::new(data, enc).map_err(|e| e.to_string())?;
    let now = srv.now;
    while let Some(item) = loader.next_item().map_err(|e| e.to_string())? {
        let entry = match item {
            Item::Entry(entry) => entry,
            Item::Function { code } => {
                crate::lua::functions::load_library(srv, &code, true)
                    .map_err(|e| format!("function library in the preamble: {e:?}"))?;
                continue;
            }
            _ => continue,
        };
        let db = usize::try_from(entry.db).unwrap_or(usize::MAX);
        if db >= srv.dbs.len() {
            return Err(format!("database {} is out of range", entry.db));
        }
        let access =
            restored_access(now, &srv.config, entry.idle_secs, entry.freq).unwrap_or_else(|| {
                crate::db::access::initial(
                    now,
                    crate::db::access::Policy::of(&srv.config),
                    &srv.config,
                )
            });
        srv.dbs[db].put(
            entry.key,
            Object::new(entry.value, access),
            entry.expire_at_ms,
        );
    }
    Ok(loader.offset() as usize)
}

/// Replays up to [`LOAD_STEP_COMMANDS`] commands of the current file;
/// at its end, checks how it ended and moves to the next file.
pub fn step(srv: &mut Server, clients: &mut Clients) {
    let Some(mut l) = srv.aof.loading.take() else {
        return;
    };
    let Some(data) = l.data.clone() else {
        srv.aof.loading = Some(l);
        return;
    };
    for _ in 0..LOAD_STEP_COMMANDS {
        match read_command(&data, l.pos) {
            Read::Command { argv, next } => {
                let at = l.pos;
                if let Err(e) = apply(srv, clients, &mut l, argv, at) {
                    let name = l.files[l.current].name.clone();
                    srv.aof.loading = Some(l);
                    return refuse(srv, format!("{e} reading the append only file {name}"));
                }
                l.pos = next;
            }
            Read::Annotation { next } => l.pos = next,
            Read::End => return file_done(srv, l, None),
            Read::Truncated => return file_done(srv, l, Some("truncated".into())),
            Read::Corrupt(e) => return file_done(srv, l, Some(e)),
        }
    }
    srv.aof.loading = Some(l);
}

/// Runs one command, or buffers it inside MULTI (applied at EXEC).
fn apply(
    srv: &mut Server,
    clients: &mut Clients,
    l: &mut Loading,
    argv: Vec<Bytes>,
    at: usize,
) -> Result<(), String> {
    let name = &argv[0];
    if name.eq_ignore_ascii_case(b"multi") {
        if l.multi.is_some() {
            return Err("Unexpected MULTI".into());
        }
        l.multi = Some((at, Vec::new()));
        return Ok(());
    }
    if name.eq_ignore_ascii_case(b"exec") {
        let Some((_, commands)) = l.multi.take() else {
            return Err("Unexpected EXEC".into());
        };
        for command in commands {
            replay(srv, clients, &mut l.client, &command)?;
        }
        return Ok(());
    }
    match l.multi.as_mut() {
        Some((_, queued)) => {
            queued.push(argv);
            Ok(())
        }
        None => replay(srv, clients, &mut l.client, &argv),
    }
}

/// Runs one command as the loading client (no reply is kept).
fn replay(
    srv: &mut Server,
    clients: &mut Clients,
    client: &mut Client,
    argv: &[Bytes],
) -> Result<(), String> {
    let unknown = || format!("Unknown command '{}'", String::from_utf8_lossy(&argv[0]));
    let mut spec = srv.table.lookup(&argv[0]).ok_or_else(unknown)?;
    if !spec.subcommands.is_empty() && argv.len() > 1 {
        spec = spec.find_subcommand(&argv[1]).ok_or_else(unknown)?;
    }
    let handler = spec.handler.ok_or_else(unknown)?;
    if !spec.arity_ok(argv.len()) {
        return Err(format!("Wrong number of arguments for '{}'", spec.name));
    }
    let mut ctx = Ctx {
        srv,
        client,
        others: clients,
    };
    handler(&mut ctx, argv);
    Ok(())
}

/// The current file was replayed to its end (`problem` says how it ended).
fn file_done(srv: &mut Server, mut l: Box<Loading>, problem: Option<String>) {
    let name = l.files[l.current].name.clone();
    let last = l.current + 1 == l.files.len();
    let open_multi = l.multi.take().map(|(at, _)| at);
    let zeros =
        problem.is_some() && last && l.data.as_ref().is_some_and(|d| torn_by_zeros(d, l.pos));
    let torn = zeros
        || problem.as_deref() == Some("truncated")
        || (problem.is_none() && open_multi.is_some());
    if let Some(e) = problem.as_ref().filter(|_| !torn) {
        let offset = l.pos;
        srv.aof.loading = Some(l);
        return refuse(
            srv,
            format!("Bad file format reading the append only file {name} at offset {offset}: {e}"),
        );
    }
    if torn {
        let valid = open_multi.unwrap_or(l.pos);
        if !last || !srv.config.aof_load_truncated {
            srv.aof.loading = Some(l);
            return refuse(srv, format!(
                "Unexpected end of file reading the append only file {name} at offset {valid}. \
                 You can: 1) Make a backup of your AOF file, then use ./keel-server --check-aof --fix <filename.manifest>. \
                 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
            ));
        }
        l.truncate = Some((l.current, valid as u64));
        if let Some(size) = l.sizes.last_mut() {
            *size = valid as u64;
        }
    }
    if last {
        l.last_file = l.data.take();
    }
    l.data = None;
    l.current += 1;
    srv.aof.loading = Some(l);
    read_next_file(srv);
}

/// Whether the bad command at `pos` is a torn write followed by zeros:
/// after a power loss, blocks written out of order leave a run of NULs
/// (a lost write) after a prefix of one that made it. Cut at the first
/// NUL, what remains of the command must be a whole-command prefix.
/// Only the unsynced tail can look so (a sync covers everything before
/// it), and a flipped bit cannot: its command stays corrupt once cut.
/// Redis 7.0 refuses such a file until `redis-check-aof --fix`.
fn torn_by_zeros(data: &Bytes, pos: usize) -> bool {
    let Some(zero) = data
        .get(pos..)
        .and_then(|rest| rest.iter().position(|&b| b == 0))
    else {
        return false;
    };
    zero == 0 || read_command(&data.slice(..pos + zero), pos) == Read::Truncated
}

/// Every file is loaded: cut a torn tail, open the last incr file for
/// appending (or create one), and start writing.
fn finish(srv: &mut Server) {
    let Some(l) = srv.aof.loading.take() else {
        return;
    };
    let ms = srv.now.mono_ms.saturating_sub(l.started_ms);
    let text = format!(
        "DB loaded from append only file: {}.{:03} seconds",
        ms / 1000,
        ms % 1000
    );
    crate::persist::log(srv, crate::node::LogLevel::Notice, &text);
    let manifest = srv.aof.manifest.clone();
    let has_base = manifest.base.is_some();
    let base_size = if has_base {
        l.sizes.first().copied().unwrap_or(0)
    } else {
        0
    };
    let incr_sizes: Vec<u64> = l.sizes[usize::from(has_base)..].to_vec();
    srv.aof.base_size = base_size;
    srv.aof.status = Status::On;
    srv.record_effects(true);
    srv.effects.drain();
    let last_incr = manifest.incrs.last().cloned();
    if let Some((index, len)) = l.truncate {
        let is_last_incr = last_incr.is_some() && index + 1 == l.files.len();
        if !is_last_incr {
            cut_file(srv, &l.files[index].name, len);
        }
    }
    match last_incr {
        Some(entry) => {
            let path = path_in_dir(srv, &entry.name);
            let file = srv.disk.new_file(&path);
            request(
                srv,
                DiskOp::OpenAppend { file, path },
                Job::Load(LoadJob::Finish),
            );
            let size = incr_sizes.last().copied().unwrap_or(0);
            if l.truncate.is_some_and(|(i, _)| i + 1 == l.files.len()) {
                request(
                    srv,
                    DiskOp::Truncate { file, len: size },
                    Job::Load(LoadJob::Finish),
                );
            }
            srv.aof.incr = Some(OpenIncr { file });
            srv.aof.incr_size = size;
            srv.aof.synced_size = size;
            sync_loaded_incr(srv, file, l.last_file.as_ref(), size);
            srv.aof.old_incrs_size = incr_sizes.iter().rev().skip(1).sum();
        }
        None => {
            let seq = manifest.next_incr_seq();
            super::open_new_incr(srv, seq);
            srv.aof.manifest.incrs.push(ManifestEntry {
                name: format::incr_name(&srv.config.appendfilename, seq),
                seq,
                kind: FileKind::Incr,
            });
            let m = srv.aof.manifest.clone();
            super::persist_manifest(srv, &m, || Job::Switch);
        }
    }
    srv.aof.rewrite_base_size = srv.aof.current_size();
    srv.aof.last_fsync_ms = srv.now.mono_ms;
}

/// What was loaded counts as durable from here on, so the last incr
/// file is synced before anything is appended: a process killed before
/// its fsync left pages only the page cache holds. Under `everysec` the
/// sync is the log's own: if it fails, the pages may be marked clean and
/// lost at the next power loss while later appends survive, so the whole
/// file is written again ([`super::resync_after_failed_fsync`]); under
/// `always` and `no` a failure refuses to start.
fn sync_loaded_incr(srv: &mut Server, file: crate::disk::FileId, data: Option<&Bytes>, size: u64) {
    let everysec = super::FsyncPolicy::of(&srv.config) == super::FsyncPolicy::EverySec;
    let loaded = data.and_then(|d| d.get(..usize::try_from(size).ok()?));
    match loaded.filter(|_| everysec) {
        Some(bytes) => {
            srv.aof.synced_size = 0;
            srv.aof.since_sync = bytes.to_vec();
            request(srv, DiskOp::Sync { file }, Job::Sync);
        }
        None => {
            request(srv, DiskOp::Sync { file }, Job::Load(LoadJob::Finish));
        }
    }
}

/// Cuts file `name` to `len` bytes, durably.
fn cut_file(srv: &mut Server, name: &str, len: u64) {
    let path = path_in_dir(srv, name);
    let file = srv.disk.new_file(&path);
    let job = || Job::Load(LoadJob::Finish);
    request(srv, DiskOp::OpenAppend { file, path }, job());
    request(srv, DiskOp::Truncate { file, len }, job());
    request(srv, DiskOp::Sync { file }, job());
    request(srv, DiskOp::Close { file }, job());
}

/// No AOF yet: the layout Redis creates on start, an empty base, incr
/// file 1 and the manifest naming both. Every request is queued before
/// any append, so no write lands in a file the manifest does not name.
fn create_fresh(srv: &mut Server) {
    srv.aof.loading = None;
    let dir = aof_dir(srv);
    let job = || Job::Load(LoadJob::Finish);
    request(srv, DiskOp::CreateDir { dir }, job());
    let (data, rdb) = super::rewrite::serialize_base(srv);
    let name = format::base_name(&srv.config.appendfilename, 1, rdb);
    let path = path_in_dir(srv, &name);
    let file = srv.disk.new_file(&path);
    srv.aof.base_size = data.len() as u64;
    request(srv, DiskOp::Create { file, path }, job());
    request(
        srv,
        DiskOp::Append {
            file,
            data: Bytes::from(data),
        },
        job(),
    );
    request(srv, DiskOp::Sync { file }, job());
    request(srv, DiskOp::Close { file }, job());
    super::open_new_incr(srv, 1);
    let filename = srv.config.appendfilename.clone();
    srv.aof.manifest = Manifest {
        base: Some(ManifestEntry {
            name,
            seq: 1,
            kind: FileKind::Base,
        }),
        incrs: vec![ManifestEntry {
            name: format::incr_name(&filename, 1),
            seq: 1,
            kind: FileKind::Incr,
        }],
        history: Vec::new(),
    };
    let m = srv.aof.manifest.clone();
    super::persist_manifest(srv, &m, job);
    srv.aof.status = Status::On;
    srv.record_effects(true);
    srv.effects.drain();
    srv.aof.rewrite_base_size = srv.aof.current_size();
    srv.aof.last_fsync_ms = srv.now.mono_ms;
}

/// Loading failed: the server refuses to start. The error names the file
/// and offset; it stays in [`super::Aof::load_error`] and goes to the
/// driver as [`Output::Fatal`], which logs it and exits with a failure
/// status, as Redis exits.
fn refuse(srv: &mut Server, message: String) {
    srv.aof.loading = None;
    // Never half-loaded: what was replayed before the error goes.
    for db in &mut srv.dbs {
        db.clear();
    }
    srv.aof.load_error = Some(message.clone());
    srv.aof.status = Status::Off;
    if !srv.shutting_down {
        srv.shutting_down = true;
        srv.outputs.push_back(Output::Fatal(message));
    }
}

#[cfg(test)]
mod zero_tail_tests {
    use super::torn_by_zeros;
    use bytes::Bytes;

    const SET: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";

    fn with(tail: &[u8]) -> Bytes {
        Bytes::from([SET, tail].concat())
    }

    #[test]
    fn zeros_after_a_whole_or_partial_command_are_a_torn_tail() {
        assert!(torn_by_zeros(&with(&[0; 8]), SET.len()));
        let partial = [&SET[..10], &[0u8; 8], SET].concat();
        assert!(torn_by_zeros(&with(&partial), SET.len()));
    }

    #[test]
    fn corruption_before_any_zero_is_not() {
        let mut flipped = SET.to_vec();
        flipped[0] ^= 0x01;
        assert!(!torn_by_zeros(&with(&flipped), SET.len()), "no NUL at all");
        flipped.extend_from_slice(&[0; 4]);
        assert!(
            !torn_by_zeros(&with(&flipped), SET.len()),
            "bad before the NUL"
        );
    }
}

#[cfg(test)]
mod upgrade_tests {
    use crate::aof::tests::run_until_crash;
    use crate::config::Config;
    use crate::resp::frame::Frame;
    use crate::testing::Harness;

    const OLD: &str = "/data/appendonly.aof";
    const BASE: &str = "/data/appendonlydir/appendonly.aof";
    const MANIFEST: &str = "/data/appendonlydir/appendonly.aof.manifest";
    const COMMANDS: &[u8] =
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n\
*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n";

    fn config() -> Config {
        Config {
            appendonly: true,
            appendfsync: "always".into(),
            dir: "/data".into(),
            ..Config::default()
        }
    }

    fn with_old_style_file() -> Harness {
        let mut h = Harness::new(config());
        h.disk.put_durable(OLD, COMMANDS);
        h
    }

    fn text(h: &Harness, path: &str) -> String {
        String::from_utf8_lossy(h.disk.read(path).expect("the file exists")).into_owned()
    }

    /// The keys the node serves, checked with a client.
    fn served(h: &mut Harness) -> (Frame, Frame) {
        let c = h.connect();
        (
            h.call(c, &["GET", "k"]),
            h.call(c, &["LRANGE", "l", "0", "-1"]),
        )
    }

    fn expected() -> (Frame, Frame) {
        (
            Frame::Bulk("v".into()),
            Frame::Array(vec![Frame::Bulk("a".into())]),
        )
    }

    #[test]
    fn an_old_style_aof_moves_into_the_directory_as_the_base_and_loads() {
        let mut h = with_old_style_file();
        h.advance(0);
        assert_eq!(h.fatal, None);
        assert_eq!(served(&mut h), expected());
        assert_eq!(h.disk.read(OLD), None, "moved, not copied");
        assert_eq!(h.disk.read(BASE), Some(COMMANDS));
        assert_eq!(
            text(&h, MANIFEST),
            "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        );
        let notices: Vec<&str> = h.log.iter().map(|(_, text)| text.as_str()).collect();
        assert!(
            notices.contains(&"Successfully migrated an old-style AOF file (appendonly.aof) into the AOF directory (appendonlydir)."),
            "{notices:?}"
        );
        assert!(notices.contains(&"DB loaded from append only file: 0.000 seconds"));
        let c = h.connect();
        h.call(c, &["SET", "after", "1"]);
        h.restart(config());
        h.advance(0);
        let c = h.connect();
        assert_eq!(h.call(c, &["GET", "after"]), Frame::Bulk("1".into()));
        assert_eq!(served(&mut h), expected());
    }

    #[test]
    fn a_manifest_wins_over_a_stray_old_style_file() {
        let mut h = with_old_style_file();
        h.disk
            .put_durable(MANIFEST, b"file appendonly.aof.1.incr.aof seq 1 type i\n");
        h.disk
            .put_durable("/data/appendonlydir/appendonly.aof.1.incr.aof", b"");
        h.advance(0);
        let c = h.connect();
        assert_eq!(h.call(c, &["DBSIZE"]), Frame::Int(0));
        assert_eq!(h.disk.read(OLD), Some(COMMANDS), "left alone");
    }

    #[test]
    fn a_power_loss_at_every_request_of_the_upgrade_loses_nothing() {
        let mut crash_at = 0;
        loop {
            let mut h = with_old_style_file();
            let mut limit = crash_at;
            h.node.handle_timeout(h.now);
            let mut crashed = run_until_crash(&mut h, &mut limit);
            for _ in 0..10 {
                if crashed {
                    break;
                }
                h.now.mono_ms += 100;
                h.node.handle_timeout(h.now);
                crashed = run_until_crash(&mut h, &mut limit);
            }
            h.disk.power_loss();
            h.restart(config());
            h.advance(0);
            assert_eq!(h.fatal, None, "crash at request {crash_at}");
            assert_eq!(served(&mut h), expected(), "crash at request {crash_at}");
            assert_eq!(h.disk.read(BASE), Some(COMMANDS), "crash at {crash_at}");
            if !crashed {
                break;
            }
            crash_at += 1;
        }
        assert!(crash_at > 8, "the upgrade made {crash_at} requests");
    }
}
