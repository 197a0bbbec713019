//! BGREWRITEAOF without fork: a new base from a point-in-time view of the
//! dataset, a new incr file from the moment the rewrite starts, then an
//! atomic manifest swap and the removal of the files it replaced.
//!
//! The point-in-time view: the base is the persistence side's forkless
//! snapshot walk ([`crate::persist::start_aof_base`], epochs and
//! pre-images, see [`crate::db::snapshot`]), encoded as an RDB preamble or
//! as commands in bounded steps while the server keeps serving; each
//! chunk comes back here ([`base_chunk`]) and is appended to the
//! temporary base file. Every write after the start instant goes to the
//! new incr file, so base + new incr is exactly the dataset. A fuzzy view
//! (iterating the live keyspace while writes go on) would be wrong here:
//! replaying the new incr on top of a base that already saw a write
//! applies non-idempotent effects (INCR, LPUSH) twice; the walk writes
//! each entry as it was at the start instant.
//!
//! Crash safety: the new incr file is created and a manifest naming it
//! (with the old base and incr files) made durable before anything is
//! appended to it; the new base is written to a temporary file, synced,
//! renamed into place, and only then the final manifest (new base, new
//! incr) replaces the old one (temporary manifest, sync, rename, directory
//! sync); the old files are removed after that. A crash at any request
//! leaves a manifest whose files all exist and hold the whole dataset.

use super::format::{self, FileKind, Manifest, ManifestEntry};
use super::{path_in_dir, persist_manifest, request, Job, Status};
use crate::db::Object;
use crate::disk::{DiskOp, DiskResult, FileId};
use crate::server::Server;
use crate::types::Value;
use bytes::Bytes;
/// Elements per command in a base written as commands (Redis's
/// AOF_REWRITE_ITEMS_PER_CMD).
const ITEMS_PER_CMD: usize = 64;
/// After a failed automatic rewrite, wait this long before the next.
const RETRY_AFTER_FAILURE_MS: u64 = 1000;

#[derive(Debug)]
pub enum RewriteJob {
    /// Writing the temporary base file.
    Base,
    /// A request of the final swap; `last` is the directory sync that
    /// makes the new manifest durable.
    Swap { last: bool },
}

#[derive(Debug)]
pub struct Rewrite {
    started_ms: u64,
    temp_path: String,
    file: FileId,
    /// Bytes of the base handed to the disk so far.
    base_bytes: u64,
    swapping: bool,
    failed: bool,
    /// The manifest to install, and the files it no longer names.
    next: Manifest,
    obsolete: Vec<String>,
}

impl Rewrite {
    pub fn started_ms(&self) -> u64 {
        self.started_ms
    }
}

/// Starts a rewrite: switch to a new incr file and start the walk that
/// produces the base, at the same instant. Refused while another
/// snapshot walks the data (a BGSAVE, a full sync): the caller schedules.
pub fn start(srv: &mut Server) -> Result<(), &'static str> {
    if srv.aof.rewrite.is_some() {
        return Err("Background append only file rewriting already in progress");
    }
    if srv.persist.walk_busy() || srv.persist.blocks_commands() {
        return Err("Background save in progress");
    }
    super::write_effects(srv);
    let filename = srv.config.appendfilename.clone();
    let incr_seq = srv.aof.manifest.next_incr_seq();
    super::open_new_incr(srv, incr_seq);
    let incr_entry = ManifestEntry {
        name: format::incr_name(&filename, incr_seq),
        seq: incr_seq,
        kind: FileKind::Incr,
    };
    if srv.aof.status == Status::On {
        // The files so far plus the new incr: durable before any append to it.
        srv.aof.manifest.incrs.push(incr_entry.clone());
        let m = srv.aof.manifest.clone();
        persist_manifest(srv, &m, || Job::Switch);
    }
    let rdb = srv.config.aof_use_rdb_preamble;
    let base_seq = srv.aof.manifest.next_base_seq();
    let base_name = format::base_name(&filename, base_seq, rdb);
    let temp_path = path_in_dir(srv, &format!("temp-rewriteaof-bg-{base_seq}.aof"));
    let file = srv.disk.new_file(&temp_path);
    let create = DiskOp::Create {
        file,
        path: temp_path.clone(),
    };
    request(srv, create, Job::Rewrite(RewriteJob::Base));
    let old = &srv.aof.manifest;
    let obsolete = old
        .base
        .iter()
        .chain(&old.incrs)
        .chain(&old.history)
        .filter(|e| e.name != incr_entry.name && e.name != base_name)
        .map(|e| e.name.clone())
        .collect();
    let next = Manifest {
        base: Some(ManifestEntry {
            name: base_name,
            seq: base_seq,
            kind: FileKind::Base,
        }),
        incrs: vec![incr_entry],
        history: Vec::new(),
    };
    srv.aof.rewrite = Some(Box::new(Rewrite {
        started_ms: srv.now.mono_ms,
        temp_path,
        file,
        base_bytes: 0,
        swapping: false,
        failed: false,
        next,
        obsolete,
    }));
    let started = crate::persist::start_aof_base(srv, rdb);
    debug_assert!(started, "checked the walk was free above");
    Ok(())
}

/// The walk encoded the next part of the base: appended to the temporary
/// base file (dropped once the rewrite failed).
pub fn base_chunk(srv: &mut Server, data: Bytes) {
    let Some(r) = srv.aof.rewrite.as_mut().filter(|r| !r.failed) else {
        return;
    };
    r.base_bytes += data.len() as u64;
    let file = r.file;
    request(
        srv,
        DiskOp::Append { file, data },
        Job::Rewrite(RewriteJob::Base),
    );
}

/// The walk is complete: the base is synced, renamed into place and the
/// new manifest installed.
pub fn base_complete(srv: &mut Server) {
    let Some(mut r) = srv.aof.rewrite.take() else {
        return;
    };
    if !r.failed {
        swap(srv, &mut r);
    }
    srv.aof.rewrite = Some(r);
}

/// The cron's look at the rewrite: a failed one is cleaned up.
pub fn step(srv: &mut Server) {
    let Some(r) = srv.aof.rewrite.take() else {
        return;
    };
    if r.failed {
        return fail(srv, *r);
    }
    srv.aof.rewrite = Some(r);
}

/// The base is written: sync it, rename it into place, install the manifest.
fn swap(srv: &mut Server, r: &mut Rewrite) {
    r.swapping = true;
    let job = |last| Job::Rewrite(RewriteJob::Swap { last });
    request(srv, DiskOp::Sync { file: r.file }, job(false));
    request(srv, DiskOp::Close { file: r.file }, job(false));
    let base = r.next.base.as_ref().expect("a rewrite makes a base");
    let to = path_in_dir(srv, &base.name);
    let rename = DiskOp::Rename {
        from: r.temp_path.clone(),
        to,
    };
    request(srv, rename, job(false));
    let next = r.next.clone();
    let mut count = 0;
    persist_manifest(srv, &next, || {
        count += 1;
        Job::Rewrite(RewriteJob::Swap { last: count == 6 })
    });
}

pub fn on_done(srv: &mut Server, job: RewriteJob, result: &DiskResult) {
    let Some(r) = srv.aof.rewrite.as_mut() else {
        return;
    };
    if result.is_err() {
        r.failed = true;
        return;
    }
    if let RewriteJob::Swap { last: true } = job {
        if !r.failed {
            let r = srv.aof.rewrite.take().expect("checked");
            finished(srv, *r);
        }
    }
}

/// The new manifest is durable: it is the AOF now; old files go.
fn finished(srv: &mut Server, r: Rewrite) {
    srv.aof.manifest = r.next;
    srv.aof.base_size = r.base_bytes;
    srv.aof.old_incrs_size = 0;
    if srv.aof.status == Status::WaitRewrite {
        srv.aof.status = Status::On;
    }
    for name in r.obsolete {
        let path = path_in_dir(srv, &name);
        request(srv, DiskOp::Remove { path }, Job::Other);
    }
    srv.aof.rewrite_base_size = srv.aof.current_size();
    let stats = &mut srv.aof.stats;
    stats.last_ok = true;
    stats.rewrites += 1;
    stats.consecutive_failures = 0;
    stats.last_time_sec = (srv.now.mono_ms.saturating_sub(r.started_ms) / 1000) as i64;
}

/// A request of the rewrite failed: the old manifest stays (it names the
/// new incr file already, so nothing written since is lost), the
/// temporary base is removed, and an automatic rewrite is retried later.
fn fail(srv: &mut Server, r: Rewrite) {
    crate::persist::abandon_aof_base(srv);
    if !r.swapping {
        request(srv, DiskOp::Close { file: r.file }, Job::Other);
    }
    request(srv, DiskOp::Remove { path: r.temp_path }, Job::Other);
    let stats = &mut srv.aof.stats;
    stats.last_ok = false;
    stats.consecutive_failures += 1;
    srv.aof.rewrite_retry_at_ms = srv.now.mono_ms + RETRY_AFTER_FAILURE_MS;
    if srv.aof.status == Status::WaitRewrite {
        srv.aof.rewrite_scheduled = true;
    }
}

/// `appendonly no` during a rewrite: the temporary base is dropped.
pub fn abandon(srv: &mut Server) {
    crate::persist::abandon_aof_base(srv);
    if let Some(r) = srv.aof.rewrite.take() {
        if !r.swapping {
            request(srv, DiskOp::Close { file: r.file }, Job::Other);
            request(srv, DiskOp::Remove { path: r.temp_path }, Job::Other);
        }
    }
}

/// The dataset as a base file, in one pass: an RDB (with `aof-base 1`)
/// when `aof-use-rdb-preamble yes`, else commands. Returns the bytes and
/// whether they are RDB. Only for the first base at start (nothing runs
/// yet); a rewrite walks instead ([`start`]).
pub fn serialize_base(srv: &Server) -> (Vec<u8>, bool) {
    use crate::persist::encoder::{encode_all_now, Encoder, Header};
    let rdb = srv.config.aof_use_rdb_preamble;
    let mut enc = if rdb {
        Encoder::rdb(srv, &Header::AofBase)
    } else {
        Encoder::commands(srv)
    };
    encode_all_now(srv, &mut enc);
    (enc.take(), rdb)
}

/// The commands that rebuild `key` in a base written as commands: its
/// value, then PEXPIREAT for a TTL.
pub fn entry_commands(key: &[u8], obj: &Object, expire_at: Option<u64>, out: &mut Vec<u8>) {
    let key = Bytes::copy_from_slice(key);
    value_commands(&key, &obj.value, out);
    if let Some(at) = expire_at {
        let argv = [
            Bytes::from_static(b"PEXPIREAT"),
            key,
            Bytes::from(at.to_string()),
        ];
        format::encode_command(&argv, out);
    }
}

/// The commands that rebuild `value` under `key`, at most
/// [`ITEMS_PER_CMD`] elements each.
fn value_commands(key: &Bytes, value: &Value, out: &mut Vec<u8>) {
    let (verb, items): (&'static [u8], Vec<Bytes>) = match value {
        Value::Str(s) => {
            format::encode_command(
                &[Bytes::from_static(b"SET"), key.clone(), s.to_bytes()],
                out,
            );
            return;
        }
        Value::List(l) => (b"RPUSH", l.range(0, l.len())),
        Value::Set(s) => (b"SADD", s.to_bytes_vec()),
        Value::Hash(h) => (
            b"HMSET",
            h.iter()
                .flat_map(|(f, v)| [Bytes::copy_from_slice(&f), v.to_bytes()])
                .collect(),
        ),
        Value::ZSet(z) => (
            b"ZADD",
            z.to_vec()
                .into_iter()
                .flat_map(|(m, score)| [score_text(score), m])
                .collect(),
        ),
    };
    let per_item = if matches!(value, Value::Hash(_) | Value::ZSet(_)) {
        2
    } else {
        1
    };
    for chunk in items.chunks(ITEMS_PER_CMD * per_item) {
        let mut argv = Vec::with_capacity(chunk.len() + 2);
        argv.push(Bytes::from_static(verb));
        argv.push(key.clone());
        argv.extend_from_slice(chunk);
        format::encode_command(&argv, out);
    }
}

/// A score as Redis writes it in commands: `%.17g`, or `inf`/`-inf`.
fn score_text(score: f64) -> Bytes {
    if score.is_infinite() {
        Bytes::from_static(if score > 0.0 { b"inf" } else { b"-inf" })
    } else {
        Bytes::from(crate::util::fmt_double_17g(score))
    }
}

#[cfg(test)]
#[path = "rewrite_tests.rs"]
mod tests;
