//! Loading a full-sync payload received from a master in place of the
//! dataset. The payload a primary sends is the forkless snapshot walk of
//! [`crate::persist`] (see [`super::master`]).

use crate::db::{Db, Object};
use crate::rdb::loader::{restored_access, Entry, Item, KeyRef, RdbLoader};
use crate::rdb::Encodings;
use crate::server::Server;

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
