//! The WATCH registry: which clients watch which keys, and whose
//! transaction has failed its check-and-set (Redis's `CLIENT_DIRTY_CAS`).
//!
//! Redis 7.0's rules, which this follows:
//! - a write that changes a watched key (`signalModifiedKey`), FLUSHDB,
//!   FLUSHALL and SWAPDB on a db where the key exists, and the deletion of
//!   the key by expiry (lazy or active), fail the transaction;
//! - at EXEC, a watched key that was live when WATCHed and is expired
//!   now fails it too, even if nothing deleted it yet;
//! - a key that was already expired (but not yet deleted) when WATCHed
//!   is logically absent: its deletion by expiry changes nothing.
//!
//! Expiry is not signalled by the databases: a key that was live when
//! WATCHed has its deadline recorded, and any later change to that
//! deadline (EXPIRE, PERSIST, SET, ...) is a write that touches the key.
//! So "deleted by expiry since WATCH" is exactly "the recorded deadline
//! has passed", which is what [`Watches::cas_failed`] checks. CLIENT LIST
//! shows `d` as Redis does: once the expired key is actually gone.

use crate::client::ClientId;
use crate::db::Db;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// A watched key: its database and name.
type WatchedKey = (usize, Bytes);

/// What was known of a key when it was WATCHed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Live or absent; `expires_at` is its deadline if it had one.
    Live { expires_at: Option<u64> },
    /// Present but already expired: logically absent, so its deletion by
    /// expiry is no change.
    Expired,
}

/// One client's watches.
#[derive(Debug, Default)]
struct Watcher {
    keys: BTreeMap<WatchedKey, Seen>,
    /// A watched key was touched: EXEC will fail. The keys are dropped
    /// then (nothing they could tell matters any more), the flag stays
    /// until EXEC, DISCARD, UNWATCH or RESET.
    touched: bool,
}

/// Every WATCH of every client, indexed both ways.
#[derive(Debug, Default)]
pub struct Watches {
    by_key: BTreeMap<WatchedKey, BTreeSet<ClientId>>,
    by_client: BTreeMap<ClientId, Watcher>,
}

impl Watches {
    pub fn is_empty(&self) -> bool {
        self.by_client.is_empty()
    }

    /// Keys watched by at least one client.
    pub fn watched_key_count(&self) -> usize {
        self.by_key.len()
    }

    /// Keys `client` watches (0 once its transaction has failed).
    pub fn keys_of(&self, client: ClientId) -> usize {
        self.by_client.get(&client).map_or(0, |w| w.keys.len())
    }

    /// `client` WATCHes `key` of database `db`, as it is in `content` at
    /// `now_ms`. Watching a key twice keeps the first observation; a
    /// client whose transaction already failed does not need more keys.
    pub fn watch(&mut self, client: ClientId, db: usize, key: &[u8], content: &Db, now_ms: u64) {
        let watcher = self.by_client.entry(client).or_default();
        let entry = (db, Bytes::copy_from_slice(key));
        if watcher.touched || watcher.keys.contains_key(&entry) {
            return;
        }
        let seen = if content.is_expired(key, now_ms) {
            Seen::Expired
        } else {
            Seen::Live {
                expires_at: content.expire_at(key),
            }
        };
        watcher.keys.insert(entry.clone(), seen);
        self.by_key.entry(entry).or_default().insert(client);
    }

    /// Forgets every watch of `client` and its failed flag (UNWATCH, EXEC,
    /// DISCARD, RESET, disconnection).
    pub fn unwatch_all(&mut self, client: ClientId) {
        let Some(watcher) = self.by_client.remove(&client) else {
            return;
        };
        for entry in watcher.keys.keys() {
            self.unindex(entry, client);
        }
    }

    fn unindex(&mut self, entry: &WatchedKey, client: ClientId) {
        if let Some(watchers) = self.by_key.get_mut(entry) {
            watchers.remove(&client);
            if watchers.is_empty() {
                self.by_key.remove(entry);
            }
        }
    }

    /// Drops the watches of clients that `alive` says are gone (closed by
    /// a path that did not call [`Watches::unwatch_all`]).
    pub fn retain_clients(&mut self, alive: impl Fn(ClientId) -> bool) {
        let gone: Vec<ClientId> = self
            .by_client
            .keys()
            .copied()
            .filter(|&id| !alive(id))
            .collect();
        for id in gone {
            self.unwatch_all(id);
        }
    }

    /// Marks `client`'s transaction as failed and drops its keys.
    fn fail(&mut self, client: ClientId) {
        let Some(watcher) = self.by_client.get_mut(&client) else {
            return;
        };
        watcher.touched = true;
        let keys = std::mem::take(&mut watcher.keys);
        for entry in keys.keys() {
            self.unindex(entry, client);
        }
    }

    /// `key` of database `db` was changed by a write; `exists_now` says
    /// whether it is stored after the change. Its watchers fail, except
    /// those that saw it already expired and now see it gone: for them
    /// nothing changed logically, and the key is now simply absent.
    pub fn touch(&mut self, db: usize, key: &[u8], exists_now: bool) {
        let entry = (db, Bytes::copy_from_slice(key));
        let Some(watchers) = self.by_key.get(&entry) else {
            return;
        };
        for client in watchers.clone() {
            if self.seen(client, &entry) == Some(Seen::Expired) && !exists_now {
                self.set_seen(client, &entry, Seen::Live { expires_at: None });
            } else {
                self.fail(client);
            }
        }
    }

    /// The content of database `db` is replaced: by nothing (FLUSHDB,
    /// FLUSHALL: `new` is None) or by `new` (SWAPDB). Called before the
    /// change, with `old` the content it had. A watched key present in
    /// either content is touched, with Redis's care for expired keys: one
    /// that was expired when watched and is absent or still expired after
    /// is no change, and an absent one replaced by an expired one becomes
    /// "seen expired".
    pub fn touch_all_in_db(&mut self, db: usize, old: &Db, new: Option<&Db>, now_ms: u64) {
        let watched: Vec<WatchedKey> = self
            .by_key
            .range((db, Bytes::new())..)
            .take_while(|((d, _), _)| *d == db)
            .map(|(entry, _)| entry.clone())
            .collect();
        for entry in watched {
            self.touch_replaced(&entry, old, new, now_ms);
        }
    }

    fn touch_replaced(&mut self, entry: &WatchedKey, old: &Db, new: Option<&Db>, now_ms: u64) {
        let key = &entry.1[..];
        let in_old = old.keys().contains_key(key);
        let in_new = new.is_some_and(|n| n.keys().contains_key(key));
        if !in_old && !in_new {
            return;
        }
        let expired_in_new = new.is_some_and(|n| n.is_expired(key, now_ms));
        let watchers = self.by_key.get(entry).cloned().unwrap_or_default();
        for client in watchers {
            match self.seen(client, entry) {
                Some(Seen::Expired) if !in_new => {
                    self.set_seen(client, entry, Seen::Live { expires_at: None })
                }
                Some(Seen::Expired) if expired_in_new => {}
                Some(Seen::Live { .. }) if !in_old && expired_in_new => {
                    self.set_seen(client, entry, Seen::Expired)
                }
                _ => self.fail(client),
            }
        }
    }

    fn seen(&self, client: ClientId, entry: &WatchedKey) -> Option<Seen> {
        self.by_client.get(&client)?.keys.get(entry).copied()
    }

    fn set_seen(&mut self, client: ClientId, entry: &WatchedKey, seen: Seen) {
        if let Some(slot) = self
            .by_client
            .get_mut(&client)
            .and_then(|w| w.keys.get_mut(entry))
        {
            *slot = seen;
        }
    }

    /// Whether `client`'s EXEC must fail: a watched key was touched, or a
    /// key that was live when watched has expired since (deleted or not).
    pub fn cas_failed(&self, client: ClientId, now_ms: u64) -> bool {
        let Some(watcher) = self.by_client.get(&client) else {
            return false;
        };
        watcher.touched
            || watcher
                .keys
                .values()
                .any(|seen| deadline_passed(seen, now_ms))
    }

    /// Whether Redis would have flagged `client` as failed by now (CLIENT
    /// LIST `d`, and whether MULTI still queues commands): touched, or a
    /// key that expired since it was watched has been deleted.
    pub fn flagged(&self, client: ClientId, dbs: &[Db], now_ms: u64) -> bool {
        let Some(watcher) = self.by_client.get(&client) else {
            return false;
        };
        watcher.touched
            || watcher.keys.iter().any(|((db, key), seen)| {
                deadline_passed(seen, now_ms)
                    && dbs.get(*db).is_some_and(|d| !d.keys().contains_key(key))
            })
    }
}

fn deadline_passed(seen: &Seen, now_ms: u64) -> bool {
    matches!(seen, Seen::Live { expires_at: Some(at) } if *at <= now_ms)
}

#[cfg(test)]
mod tests;
