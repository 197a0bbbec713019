//! Replication and RDB snapshots: loading a full-sync payload received
//! from a master in place of the dataset (the payload a primary sends is
//! the forkless snapshot walk of [`crate::persist`], see
//! [`super::master`]); the replication history a saved RDB carries
//! ([`history_to_save`]) and what a node restarted from such a file makes
//! of it ([`restore_history`]).

use crate::db::{Db, Object};
use crate::rdb::loader::{restored_access, Entry, Item, KeyRef, RdbLoader};
use crate::rdb::Encodings;
use crate::server::Server;
use bytes::Bytes;

/// Replaces the dataset with the RDB `data` (keys already expired are
/// kept: on a replica the master's DEL removes them). The payload is
/// loaded aside, into empty databases, and put in place only once all of
/// it has loaded: a corrupt payload leaves the dataset as it was. The old
/// values are freed lazily. Function libraries are skipped (no scripting
/// yet).
pub fn load_rdb(srv: &mut Server, data: &[u8]) -> Result<u64, String> {
    let enc = Encodings::from_config(&srv.config);
    let mut loader = RdbLoader::new(data, enc).map_err(|e| format!("{e:?}"))?;
    let mut staged: Vec<Db> = srv.dbs.iter().map(Db::staging).collect();
    let mut keys = 0;
    let mut batch = Vec::with_capacity(WARM_BATCH);
    while let Some(item) = loader.next_borrowed().map_err(|e| format!("{e:?}"))? {
        if let Item::Entry(entry) = item {
            batch.push(entry);
            if batch.len() == WARM_BATCH {
                keys += stage_batch(srv, &mut staged, &mut batch)?;
            }
            continue;
        }
        keys += stage_batch(srv, &mut staged, &mut batch)?;
        if let Item::ResizeDb { size, expires } = item {
            let (size, expires) = (
                loader.plausible_count(size),
                loader.plausible_count(expires),
            );
            let db = usize::try_from(loader.current_db()).ok();
            if let Some(db) = db.and_then(|i| staged.get_mut(i)) {
                db.reserve_for_load(size, expires);
            }
        }
    }
    keys += stage_batch(srv, &mut staged, &mut batch)?;
    install(srv, staged);
    Ok(keys)
}

/// Keys parsed ahead and warmed together before they are staged, so that
/// their cache misses overlap (as the start-up load does).
const WARM_BATCH: usize = 16;

/// Stages the keys of `batch` in order, after warming them all (see
/// [`Db::warm_for_load`]); returns how many were added.
fn stage_batch(
    srv: &Server,
    staged: &mut [Db],
    batch: &mut Vec<Entry<KeyRef>>,
) -> Result<u64, String> {
    for entry in batch.iter() {
        if let Some(db) = usize::try_from(entry.db).ok().and_then(|i| staged.get(i)) {
            db.warm_for_load(&entry.key);
        }
    }
    let mut added = 0;
    for entry in batch.drain(..) {
        added += stage(srv, staged, entry)?;
    }
    Ok(added)
}

/// Adds one key of the payload to its staged database; 1 if it was
/// added, 0 for a database this server does not have (skipped). A key
/// the payload holds twice refuses it, as Redis refuses such a file.
fn stage(srv: &Server, staged: &mut [Db], entry: Entry<KeyRef>) -> Result<u64, String> {
    let Some(db) = usize::try_from(entry.db)
        .ok()
        .and_then(|i| staged.get_mut(i))
    else {
        return Ok(0);
    };
    let policy = crate::db::access::Policy::of(&srv.config);
    let access = restored_access(srv.now, &srv.config, entry.idle_secs, entry.freq)
        .unwrap_or_else(|| crate::db::access::initial(srv.now, policy, &srv.config));
    let obj = Object::new(entry.value, access);
    db.insert_loaded(&entry.key, obj, entry.expire_at_ms)
        .map_err(|_| {
            format!(
                "RDB has duplicated key '{}' in DB {}",
                String::from_utf8_lossy(&entry.key),
                entry.db
            )
        })?;
    Ok(1)
}

/// Puts the staged databases in place of the old ones (transactions
/// watching keys fail), freeing the old contents lazily.
fn install(srv: &mut Server, staged: Vec<Db>) {
    for (index, db) in staged.into_iter().enumerate() {
        srv.touch_watched_keys_on_flush(index);
        let cleared = srv.dbs[index].install_loaded(db);
        srv.free_lazily(cleared);
    }
}

// ---- the replication history a saved RDB carries ----

/// The replication history an RDB file was saved with (Redis's
/// `repl-stream-db`, `repl-id`, `repl-offset` aux fields): the stream's
/// id, the offset of the last byte the data holds, and the database the
/// stream had selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedHistory {
    pub replid: String,
    pub offset: u64,
    pub stream_db: usize,
}

/// The history fields met while an RDB loads, as text, until the load
/// ends ([`HistoryFields::history`] then judges them).
#[derive(Debug, Default, Clone)]
pub struct HistoryFields {
    stream_db: Option<String>,
    replid: Option<String>,
    offset: Option<String>,
}

impl HistoryFields {
    /// Keeps `key`'s value if it is one of the history fields.
    pub fn note(&mut self, key: &[u8], value: &[u8]) {
        let slot = match key {
            b"repl-stream-db" => &mut self.stream_db,
            b"repl-id" => &mut self.replid,
            b"repl-offset" => &mut self.offset,
            _ => return,
        };
        *slot = Some(String::from_utf8_lossy(value).into_owned());
    }

    /// The saved history, when all three fields are present and sound: a
    /// 40-character hex id, an offset and a database that exist on this
    /// node (`databases`). Redis takes the fields when the id has its
    /// length and neither number is -1; an unsound field here means no
    /// history (a full resync), never a wrong one.
    pub fn history(&self, databases: usize) -> Option<SavedHistory> {
        let replid = self.replid.as_deref().filter(|id| is_replid(id))?;
        let offset = self.offset.as_deref()?.parse::<u64>().ok()?;
        let stream_db = self.stream_db.as_deref()?.parse::<usize>().ok()?;
        (stream_db < databases).then(|| SavedHistory {
            replid: replid.to_string(),
            offset,
            stream_db,
        })
    }
}

/// 40 hexadecimal digits, as a replication id is.
pub fn is_replid(id: &str) -> bool {
    id.len() == super::NO_REPLID.len() && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The history an RDB saved now carries, as Redis's `rdbPopulateSaveInfo`
/// decides: a primary that has a backlog (it is part of a replication
/// chain) saves its id and offset with the database its stream selected
/// last (0 when none: its next write selects again); a replica saves its
/// master's id and offset while it holds that history (synced, or between
/// links with it), with the master link's database. A replica receiving a
/// full sync, or started with no history, saves none; nor does a primary
/// that never fed a replica.
pub fn history_to_save(srv: &Server) -> Option<SavedHistory> {
    let stream_db = match &srv.repl.link {
        None => {
            srv.repl.backlog.as_ref()?;
            srv.repl.stream_db.unwrap_or(0)
        }
        Some(link) => link.saved_stream_db()?,
    };
    Some(SavedHistory {
        replid: srv.replid.clone(),
        offset: srv.repl.offset,
        stream_db,
    })
}

/// The dataset loaded at start came with `history` (`None`: the file had
/// none, or there was no file). On a replica it becomes the history its
/// first PSYNC offers (Redis's cached master made from itself). On a
/// primary it becomes `replid2`, valid up to the saved offset, and a
/// backlog starts right after it, so the replicas of its previous life
/// continue with `+CONTINUE <new id>` instead of a full sync; a primary
/// without such a file starts a new history with no backlog.
///
/// `expired` are the keys the load dropped as already expired (as a
/// primary does): their deletions enter the stream right after the saved
/// offset, as Redis feeds them to its backlog while it loads, so that the
/// replicas, which hold them, delete them too. `all_expired_known` false
/// means some were dropped without being named: the replicas could not
/// be told, so the history is not offered (they full-sync instead of
/// keeping keys the primary no longer has).
pub fn restore_history(
    srv: &mut Server,
    history: Option<SavedHistory>,
    expired: &[(usize, Bytes)],
    all_expired_known: bool,
) {
    let Some(history) = history else {
        return;
    };
    if srv.repl.is_replica() {
        super::replica::resume_saved_history(srv, &history);
    } else if all_expired_known {
        continue_as_primary(srv, &history, expired);
    }
}

/// A primary restarted with its saved history: see [`restore_history`].
fn continue_as_primary(srv: &mut Server, history: &SavedHistory, expired: &[(usize, Bytes)]) {
    srv.repl.replid2 = history.replid.clone();
    srv.repl.second_offset = i64::try_from(history.offset)
        .unwrap_or(i64::MAX)
        .saturating_add(1);
    srv.repl.offset = history.offset;
    srv.repl.backlog = None;
    let size = srv.config.repl_backlog_size;
    srv.repl.ensure_backlog(size);
    srv.record_effects_for_replicas(true);
    srv.repl.stream_db = None;
    let deletions = expired_deletions(srv, expired);
    if let Some(backlog) = srv.repl.backlog.as_mut() {
        backlog.feed(&deletions);
        srv.repl.offset += deletions.len() as u64;
    }
}

/// The stream bytes deleting `expired` (`SELECT` when the database
/// changes, then `DEL`, or `UNLINK` with `lazyfree-lazy-expire yes`, as
/// Redis propagates expiry).
fn expired_deletions(srv: &mut Server, expired: &[(usize, Bytes)]) -> Vec<u8> {
    let verb: &[u8] = if srv.config.lazyfree_lazy_expire {
        b"UNLINK"
    } else {
        b"DEL"
    };
    let mut out = Vec::new();
    for (db, key) in expired {
        if srv.repl.stream_db != Some(*db) {
            super::encode_command(&mut out, &[b"SELECT".as_slice(), db.to_string().as_bytes()]);
            srv.repl.stream_db = Some(*db);
        }
        super::encode_command(&mut out, &[verb, key.as_ref()]);
    }
    out
}
