//! Keyspace notifications (`notify-keyspace-events`): the event classes
//! and the delivery of `__keyspace@<db>__:<key>` / `__keyevent@<db>__:<event>`
//! messages to pub/sub subscribers.

use crate::client::Client;
use crate::config::Config;
use crate::node::Clients;
use crate::pubsub::{Delivery, Kind};
use crate::server::Server;
use bytes::Bytes;

/// Event classes, as the letters of `notify-keyspace-events`.
pub mod class {
    /// `K`: publish on `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: publish on `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: u32 = 1 << 2;
    /// `$`: string commands.
    pub const STRING: u32 = 1 << 3;
    /// `l`: list commands.
    pub const LIST: u32 = 1 << 4;
    /// `s`: set commands.
    pub const SET: u32 = 1 << 5;
    /// `h`: hash commands.
    pub const HASH: u32 = 1 << 6;
    /// `z`: sorted set commands.
    pub const ZSET: u32 = 1 << 7;
    /// `x`: expired events (a key deleted because its TTL passed).
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: evicted events (maxmemory).
    pub const EVICTED: u32 = 1 << 9;
    /// `t`: stream commands.
    pub const STREAM: u32 = 1 << 10;
    /// `m`: key-miss events (a read found no key).
    pub const KEY_MISS: u32 = 1 << 11;
    /// `d`: module key type events.
    pub const MODULE: u32 = 1 << 12;
    /// `n`: new key events.
    pub const NEW: u32 = 1 << 13;
    /// `A`: every class of events but key-miss and new-key ones.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// The class letters, in the order CONFIG GET lists them (after `A`,
/// which stands for [`class::ALL`]). `K`, `E` and `m` come last.
const CLASS_LETTERS: &[(char, u32)] = &[
    ('g', class::GENERIC),
    ('$', class::STRING),
    ('l', class::LIST),
    ('s', class::SET),
    ('h', class::HASH),
    ('z', class::ZSET),
    ('x', class::EXPIRED),
    ('e', class::EVICTED),
    ('t', class::STREAM),
    ('d', class::MODULE),
    ('n', class::NEW),
];

const TRAILING_LETTERS: &[(char, u32)] = &[
    ('K', class::KEYSPACE),
    ('E', class::KEYEVENT),
    ('m', class::KEY_MISS),
];

/// CONFIG SET's refusal of an unknown letter.
pub const INVALID_CLASS: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/// Parses a `notify-keyspace-events` value: any letters of
/// `Ag$lshzxeKEtmdn`, in any order, repeated or not.
pub fn parse_flags(text: &str) -> Result<u32, String> {
    text.chars().try_fold(0, |flags, c| {
        let bit = match c {
            'A' => class::ALL,
            _ => CLASS_LETTERS
                .iter()
                .chain(TRAILING_LETTERS)
                .find(|(letter, _)| *letter == c)
                .map(|(_, bit)| *bit)
                .ok_or_else(|| INVALID_CLASS.to_string())?,
        };
        Ok(flags | bit)
    })
}

/// The normalised text CONFIG GET shows: `A` when every class of it is
/// on (then, as Redis, `n` is not shown even when set), else the class
/// letters; then `K`, `E`, `m`.
pub fn render_flags(flags: u32) -> String {
    let mut text = String::new();
    if flags & class::ALL == class::ALL {
        text.push('A');
    } else {
        text.extend(
            CLASS_LETTERS
                .iter()
                .filter(|(_, b)| flags & b != 0)
                .map(|(c, _)| c),
        );
    }
    text.extend(
        TRAILING_LETTERS
            .iter()
            .filter(|(_, b)| flags & b != 0)
            .map(|(c, _)| c),
    );
    text
}

/// Publishes the keyspace event `event` of class `class` on `key` in
/// database `db`, if `notify-keyspace-events` enables it.
///
/// Command handlers call it through [`crate::cmd::Ctx::notify`] after each
/// change, with Redis's event name for the command (`set`, `lpush`,
/// `expire`, `del`, ...). The events logged earlier in the command (keys
/// expired, missed or created on the way) are published first, so the
/// order is Redis's.
pub fn keyspace_event(
    srv: &mut Server,
    client: &mut Client,
    others: &mut Clients,
    class: u32,
    event: &str,
    key: &[u8],
    db: usize,
) {
    if !enabled(srv, class) {
        return;
    }
    publish_logged(srv, Some(&mut *client), others);
    publish(srv, Some(client), others, event, key, db);
}

/// Whether events of `class` are published: the class is on, and so is
/// at least one of `K` and `E`.
fn enabled(srv: &Server, class: u32) -> bool {
    let flags = srv.config.notify_keyspace_events;
    flags & class != 0 && flags & (self::class::KEYSPACE | self::class::KEYEVENT) != 0
}

/// Publishes `__keyspace@<db>__:<key>` → `event` and/or
/// `__keyevent@<db>__:<event>` → `key`, as `K` and `E` say.
fn publish(
    srv: &mut Server,
    mut caller: Option<&mut Client>,
    others: &mut Clients,
    event: &str,
    key: &[u8],
    db: usize,
) {
    let flags = srv.config.notify_keyspace_events;
    let mut delivery = Delivery {
        pubsub: &mut srv.pubsub,
        limits: &srv.config.client_output_buffer_limit,
        now_ms: srv.now.mono_ms,
    };
    let event_bytes = Bytes::copy_from_slice(event.as_bytes());
    if flags & class::KEYSPACE != 0 {
        let mut channel = format!("__keyspace@{db}__:").into_bytes();
        channel.extend_from_slice(key);
        let channel = Bytes::from(channel);
        delivery.publish(
            caller.as_deref_mut(),
            others,
            Kind::Channel,
            &channel,
            &event_bytes,
        );
    }
    if flags & class::KEYEVENT != 0 {
        let channel = Bytes::from(format!("__keyevent@{db}__:{event}"));
        let key = Bytes::copy_from_slice(key);
        delivery.publish(caller, others, Kind::Channel, &channel, &key);
    }
}

/// Publishes what the databases and lookups logged since the last call:
/// `expired` for each key expired (whose deletion also propagates, see
/// [`Server::propagate_expired`]), then `keymiss` for each read of a
/// missing key, then `new` for each key created. The node calls it after
/// every command; [`keyspace_event`] before each event.
pub fn publish_logged(srv: &mut Server, mut caller: Option<&mut Client>, others: &mut Clients) {
    if nothing_logged(srv) {
        return;
    }
    for (db, key) in srv.propagate_expired() {
        if enabled(srv, class::EXPIRED) {
            publish(srv, caller.as_deref_mut(), others, "expired", &key, db);
        }
    }
    for (db, key) in srv.pubsub.take_key_misses() {
        publish(srv, caller.as_deref_mut(), others, "keymiss", &key, db);
    }
    if !enabled(srv, class::NEW) {
        return;
    }
    for db in 0..srv.dbs.len() {
        for key in srv.dbs[db].take_created_log() {
            publish(srv, caller.as_deref_mut(), others, "new", &key, db);
        }
    }
}

/// The usual case after a command, told by flags alone: no key log is
/// on and nothing is staged, and key-miss events are off (a miss is only
/// logged while they are on, and published at the end of the same
/// command, which cannot turn them off on the way).
fn nothing_logged(srv: &Server) -> bool {
    srv.key_logs == (false, false) && !srv.has_expired_staged() && !enabled(srv, class::KEY_MISS)
}

/// Publishes `expired` for a key the active expiry cycle deleted (no
/// client is running a command).
pub fn key_expired_in_background(srv: &mut Server, clients: &mut Clients, db: usize, key: &[u8]) {
    if enabled(srv, class::EXPIRED) {
        publish(srv, None, clients, "expired", key, db);
    }
}

/// A read found no key: logged for [`publish_logged`] when `m` events
/// are on (the lookup cannot publish while it lends the object out).
pub fn key_missed(srv: &mut crate::pubsub::PubSub, config: &Config, db: usize, key: &[u8]) {
    let flags = config.notify_keyspace_events;
    if flags & class::KEY_MISS != 0 && flags & (class::KEYSPACE | class::KEYEVENT) != 0 {
        srv.note_key_miss(db, key);
    }
}

/// Turns the databases' logs of expired and created keys on or off: the
/// expired log while effects are recorded or `expired` events are on,
/// the created log while `new` events are on. Cheap when nothing changed;
/// the node calls it before every command, as CONFIG SET may have
/// changed the classes.
pub fn sync_key_logs(srv: &mut Server) {
    let log_expired = srv.effects.is_recording() || enabled(srv, class::EXPIRED);
    let log_created = enabled(srv, class::NEW);
    let wanted = (log_expired, log_created);
    if srv.key_logs == wanted {
        return;
    }
    srv.key_logs = wanted;
    for db in &mut srv.dbs {
        db.log_expired(log_expired);
        db.log_created(log_created);
    }
}

#[cfg(test)]
mod tests;
