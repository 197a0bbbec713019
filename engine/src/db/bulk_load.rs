//! Adding keys in bulk, as loading does (an RDB file at start, DEBUG
//! RELOAD, a replica's full sync): the tables are sized once from the
//! file's hint, and each key costs one lookup that also inserts it.

use super::{entry_bytes, Cleared, Db, Object};

impl Db {
    /// Sizes the tables for `keys` more keys, `expires` of them with a
    /// TTL (RDB_OPCODE_RESIZEDB), so that loading them rehashes nothing.
    /// The caller bounds the hints by what its input can hold.
    pub fn reserve_for_load(&mut self, keys: usize, expires: usize) {
        self.keys.reserve(keys);
        self.expires.reserve(expires.min(keys));
    }

    /// Brings into cache what [`Db::insert_loaded`] of `key` reads first
    /// (see [`super::dict::Dict::warm`]): a loader warms a batch of keys,
    /// then inserts them.
    pub fn warm_for_load(&self, key: &[u8]) {
        self.keys.warm(key);
    }

    /// Adds a loaded key with its TTL, looking it up once. A key already
    /// present is left as it is and `obj` handed back. No `new` keyspace
    /// event is logged: Redis adds loaded keys silently too.
    pub fn insert_loaded(
        &mut self,
        key: &[u8],
        mut obj: Object,
        expire_at: Option<u64>,
    ) -> Result<(), Object> {
        self.settle();
        obj.snap_epoch = self.epoch;
        let added = entry_bytes(key, &obj);
        self.keys.try_insert(key, obj)?;
        if let Some(at) = expire_at {
            // The key was in neither table a moment ago: every key with a
            // TTL is in the main table.
            self.expires.insert_absent(key, at);
        }
        self.account(added, 0);
        Ok(())
    }

    /// An empty database to load a whole new dataset into while this one
    /// stays as it is (a full sync keeps the old data if the payload turns
    /// out corrupt): the same hash functions, snapshot epoch and expiry
    /// rule. [`Db::install_loaded`] puts its contents in this one's place.
    pub fn staging(&self) -> Db {
        let mut staged = Db::new(0);
        staged.keys = self.keys.empty_like();
        staged.expires = self.expires.empty_like();
        staged.epoch = self.epoch;
        staged.expiry_rule = self.expiry_rule;
        staged
    }

    /// Replaces the contents with those of `staged` (from
    /// [`Db::staging`] on this database, with no snapshot begun since),
    /// returning the old contents as [`Db::clear`] does.
    pub fn install_loaded(&mut self, staged: Db) -> Cleared {
        let cleared = self.clear();
        self.keys = staged.keys;
        self.expires = staged.expires;
        self.data_bytes = staged.data_bytes;
        cleared
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{StrValue, Value};

    fn obj(text: &str) -> Object {
        Object::new(Value::Str(StrValue::from_bytes(text.as_bytes())), 0)
    }

    #[test]
    fn insert_loaded_adds_once_with_the_ttl_and_refuses_a_duplicate() {
        let mut db = Db::new(1);
        db.reserve_for_load(100, 10);
        assert_eq!(db.insert_loaded(b"a", obj("1"), Some(500)), Ok(()));
        assert_eq!(db.insert_loaded(b"b", obj("two"), None), Ok(()));
        let refused = db.insert_loaded(b"a", obj("other"), None);
        assert_eq!(refused, Err(obj("other")));
        assert_eq!(db.expire_at(b"a"), Some(500), "the first one stays");
        assert_eq!(db.expire_at(b"b"), None);
        assert_eq!((db.len(), db.expires().len()), (2, 1));
        assert_eq!(db.dataset_bytes(), db.dataset_bytes_by_walk());
        assert!(db.get(b"a", 500).is_none(), "the TTL works");
    }

    #[test]
    fn a_staged_load_replaces_the_contents_at_once() {
        let mut db = Db::new(2);
        db.set(b"old", Value::Str(StrValue::from_bytes(b"x")), 0, false);
        let mut staged = db.staging();
        staged.reserve_for_load(2, 1);
        staged.insert_loaded(b"new", obj("y"), Some(9)).unwrap();
        staged.insert_loaded(b"other", obj("z"), None).unwrap();
        assert_eq!(db.len(), 1, "untouched until installed");
        let cleared = db.install_loaded(staged);
        assert_eq!(cleared.len(), 1);
        assert!(db.keys().get(b"old").is_none());
        assert_eq!((db.len(), db.expire_at(b"new")), (2, Some(9)));
        assert_eq!(db.dataset_bytes(), db.dataset_bytes_by_walk());
        // The tables hash as the database's own did.
        db.set(b"old", Value::Str(StrValue::from_bytes(b"x")), 0, false);
        assert!(db.keys().get(b"old").is_some());
    }
}
