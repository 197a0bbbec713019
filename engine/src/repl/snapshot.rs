//! The full-sync payload: the whole dataset as an RDB file, built at PSYNC
//! time, and loading one received from a master in place of the dataset.
//!
//! Known gap: the snapshot is serialized at once (not the forkless,
//! incremental snapshot of the persistence work), so a full sync of a big
//! dataset stalls the node for the time it takes to encode it.

use crate::db::Object;
use crate::rdb::loader::{restored_access, Item, RdbLoader};
use crate::rdb::writer::{standard_aux, RdbWriter, WriteOptions};
use crate::rdb::Encodings;
use crate::server::Server;

/// The dataset as an RDB file, with the replication fields Redis adds
/// when it saves for a replica.
pub fn build_rdb(srv: &Server) -> Vec<u8> {
    let mut w = RdbWriter::new(WriteOptions::from_config(&srv.config, srv.now));
    let used = srv.memory_usage(0).total;
    let mut aux = standard_aux(srv.now.unix_ms / 1000, used);
    aux.retain(|(k, _)| *k != "aof-base");
    aux.push(("repl-stream-db", "0".to_string()));
    aux.push(("repl-id", srv.replid.clone()));
    aux.push(("repl-offset", srv.repl.offset.to_string()));
    aux.push(("aof-base", "0".to_string()));
    w.begin(&aux);
    for (index, db) in srv.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        w.select_db(index, db.len() as u64, db.expires().len() as u64);
        for (key, obj) in db.keys().iter() {
            w.write_entry(key, obj, db.expire_at(key));
        }
    }
    w.finish();
    w.take_output()
}

/// Replaces the dataset with the RDB `data` (keys already expired are
/// kept: on a replica the master's DEL removes them). The old values are
/// freed lazily. Function libraries are skipped (no scripting yet).
pub fn load_rdb(srv: &mut Server, data: &[u8]) -> Result<u64, String> {
    let enc = Encodings::from_config(&srv.config);
    let mut loader = RdbLoader::new(data, enc).map_err(|e| format!("{e:?}"))?;
    let mut items = Vec::new();
    while let Some(item) = loader.next_item().map_err(|e| format!("{e:?}"))? {
        items.push(item);
    }
    empty_all(srv);
    let mut keys = 0;
    for item in items {
        let Item::Entry(entry) = item else { continue };
        let Some(index) = usize::try_from(entry.db)
            .ok()
            .filter(|i| *i < srv.dbs.len())
        else {
            continue;
        };
        let fresh = crate::db::access::initial(
            srv.now,
            crate::db::access::Policy::of(&srv.config),
            &srv.config,
        );
        let access =
            restored_access(srv.now, &srv.config, entry.idle_secs, entry.freq).unwrap_or(fresh);
        let obj = Object::new(entry.value, access);
        srv.dbs[index].put(&entry.key, obj, entry.expire_at_ms);
        keys += 1;
    }
    Ok(keys)
}

/// Empties every database (transactions watching keys fail).
fn empty_all(srv: &mut Server) {
    for index in 0..srv.dbs.len() {
        srv.touch_watched_keys_on_flush(index);
        let cleared = srv.dbs[index].clear();
        srv.free_lazily(cleared);
    }
}
