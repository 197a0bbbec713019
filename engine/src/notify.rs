//! Keyspace notifications (`notify-keyspace-events`): the event classes
//! and the delivery of `__keyspace@<db>__:<key>` / `__keyevent@<db>__:<event>`
//! messages to pub/sub subscribers.

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
}

/// Publishes the keyspace event `event` of class `class` on `key` in
/// database `db`, if `notify-keyspace-events` enables it.
///
/// Command handlers call it through [`crate::cmd::Ctx::notify`] after each
/// change, with Redis's event name for the command (`set`, `lpush`,
/// `expire`, `del`, ...).
pub fn keyspace_event(
    _srv: &mut crate::server::Server,
    _client: &mut crate::client::Client,
    _others: &mut crate::node::Clients,
    _class: u32,
    _event: &str,
    _key: &[u8],
    _db: usize,
) {
    // Delivery arrives with pub/sub (notify-keyspace-events is then a
    // config parameter); until then no class is enabled.
}
