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
