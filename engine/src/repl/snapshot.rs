//! Loading a full-sync payload received from a master in place of the
//! dataset. The payload a primary sends is the forkless snapshot walk of
//! [`crate::persist`] (see [`super::master`]).

use crate::db::Object;
use crate::rdb::loader::{restored_access, Item, RdbLoader};
use crate::rdb::Encodings;
use crate::server::Server;

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
