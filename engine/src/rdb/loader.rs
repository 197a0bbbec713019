//! Loading an RDB file item by item. The loader works over the whole file
//! as a slice; each [`RdbLoader::next_item`] call reads one item (an
//! auxiliary field, a database switch, a function library, a key), so a
//! caller loads a big file in steps and reports progress from
//! [`RdbLoader::offset`].

use super::read::Reader;
use super::value::read_value;
use super::{opcode, Encodings, RdbError, MAX_LOAD_VERSION};
use crate::config::Config;
use crate::db::access::{self, Policy};
use crate::time::Now;
use crate::types::Value;
use bytes::Bytes;
use std::borrow::Cow;

/// The first RDB version with a checksum after EOF.
const FIRST_CHECKSUM_VERSION: u16 = 5;
const MAGIC: &[u8] = b"REDIS";
const HEADER_BYTES: usize = 9;
/// The fewest bytes a key takes in a file: its type byte, an empty key's
/// length byte and a value of at least one byte. Bounds the sizing hints
/// a file gives (RESIZEDB) by what it can actually hold.
const MIN_ENTRY_BYTES: u64 = 3;

/// A key as read from the file: borrowed from it when stored plainly,
/// owned when it was an integer or compressed.
pub type KeyRef<'a> = Cow<'a, [u8]>;

/// One thing an RDB file holds; `K` is how a key's name is held (owned
/// [`Bytes`] from [`RdbLoader::next_item`], a [`KeyRef`] borrowing the
/// file from [`RdbLoader::next_borrowed`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Item<K = Bytes> {
    /// An auxiliary field (`redis-ver`, `ctime`, `repl-id`, ...).
    Aux { key: Vec<u8>, value: Vec<u8> },
    /// The keys that follow belong to this database.
    SelectDb(u64),
    /// Sizing hints for the current database.
    ResizeDb { size: u64, expires: u64 },
    /// A function library's source code (Redis 7.0's FUNCTION2 opcode).
    Function { code: Vec<u8> },
    /// A key.
    Entry(Entry<K>),
}

/// A key, its value, and what preceded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<K = Bytes> {
    /// The database it belongs to (the last SELECTDB; 0 before any).
    pub db: u64,
    pub key: K,
    pub value: Value,
    /// Absolute expiry in Unix ms. Keys already expired are returned too:
    /// whether to drop them (a master does, a replica does not) is the
    /// caller's decision.
    pub expire_at_ms: Option<u64>,
    /// Seconds idle when saved (written under LRU policies).
    pub idle_secs: Option<u64>,
    /// LFU counter when saved (written under LFU policies).
    pub freq: Option<u8>,
}

/// What precedes a key: expiry and access metadata.
#[derive(Default)]
struct Pending {
    expire_at_ms: Option<u64>,
    idle_secs: Option<u64>,
    freq: Option<u8>,
}

pub struct RdbLoader<'a> {
    r: Reader<'a>,
    enc: Encodings,
    version: u16,
    db: u64,
    done: bool,
    keys_loaded: u64,
    empty_keys_skipped: u64,
}

impl<'a> RdbLoader<'a> {
    /// A loader for the file `data`, after checking its magic and version.
    pub fn new(data: &'a [u8], enc: Encodings) -> Result<RdbLoader<'a>, RdbError> {
        let version = parse_header(data)?;
        let mut r = Reader::new(data);
        r.take(HEADER_BYTES)?;
        Ok(RdbLoader {
            r,
            enc,
            version,
            db: 0,
            done: false,
            keys_loaded: 0,
            empty_keys_skipped: 0,
        })
    }

    /// A loader over the same whole file `data`, continuing where an
    /// earlier loader over it stood: at `offset` (its [`offset`](Self::offset)
    /// after an item; 0 for the start) in database `db`. A caller that loads in steps keeps
    /// the file and its position, not a loader borrowing the file.
    pub fn resume(
        data: &'a [u8],
        enc: Encodings,
        offset: u64,
        db: u64,
    ) -> Result<RdbLoader<'a>, RdbError> {
        let mut loader = RdbLoader::new(data, enc)?;
        let skip = usize::try_from(offset)
            .ok()
            .map(|o| o.saturating_sub(HEADER_BYTES))
            .ok_or_else(|| RdbError::new(offset, "resume offset outside the file"))?;
        loader.r.take(skip)?;
        loader.db = db;
        Ok(loader)
    }

    pub fn version(&self) -> u16 {
        self.version
    }

    /// The database the next keys belong to (the last SELECTDB read).
    pub fn current_db(&self) -> u64 {
        self.db
    }

    /// Bytes parsed so far (for progress reports).
    pub fn offset(&self) -> u64 {
        self.r.pos() as u64
    }

    /// Size of the whole file.
    pub fn total_bytes(&self) -> u64 {
        self.r.data().len() as u64
    }

    pub fn keys_loaded(&self) -> u64 {
        self.keys_loaded
    }

    /// Keys holding an empty collection, skipped as Redis skips them.
    pub fn empty_keys_skipped(&self) -> u64 {
        self.empty_keys_skipped
    }

    /// True once EOF was read and the checksum verified.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// A count the file announces (RESIZEDB), bounded by what the rest of
    /// the file can hold, for sizing tables before they fill: a corrupt or
    /// hostile hint cannot make a caller take more memory than the file
    /// justifies.
    pub fn plausible_count(&self, announced: u64) -> usize {
        let most = self.r.remaining() as u64 / MIN_ENTRY_BYTES;
        usize::try_from(announced.min(most)).unwrap_or(0)
    }

    /// The next item, or `None` at the end of the file (after the checksum
    /// was verified). An error leaves the loader where it failed.
    pub fn next_item(&mut self) -> Result<Option<Item>, RdbError> {
        Ok(self.next_borrowed()?.map(owned_item))
    }

    /// As [`RdbLoader::next_item`], with a key's name borrowed from the
    /// file when it can be: a loader that copies the name into its own
    /// table anyway saves an allocation and a copy per key.
    pub fn next_borrowed(&mut self) -> Result<Option<Item<KeyRef<'a>>>, RdbError> {
        if self.done {
            return Ok(None);
        }
        let mut pending = Pending::default();
        loop {
            let at = self.r.pos() as u64;
            let op = self.r.u8()?;
            match op {
                opcode::EXPIRETIME_MS => pending.expire_at_ms = Some(self.r.u64_le()?),
                opcode::EXPIRETIME => {
                    pending.expire_at_ms = Some(u64::from(self.r.u32_le()?) * 1000)
                }
                opcode::IDLE => pending.idle_secs = Some(self.r.length()?),
                opcode::FREQ => pending.freq = Some(self.r.u8()?),
                opcode::SELECTDB => {
                    self.db = self.r.length()?;
                    return Ok(Some(Item::SelectDb(self.db)));
                }
                opcode::RESIZEDB => {
                    let size = self.r.length()?;
                    let expires = self.r.length()?;
                    return Ok(Some(Item::ResizeDb { size, expires }));
                }
                opcode::AUX => {
                    let key = self.r.string()?;
                    let value = self.r.string()?;
                    return Ok(Some(Item::Aux { key, value }));
                }
                opcode::FUNCTION2 => {
                    let code = self.r.string()?;
                    return Ok(Some(Item::Function { code }));
                }
                opcode::FUNCTION_PRE_GA => {
                    return Err(RdbError::new(
                        at,
                        "pre-release function format (opcode 246) refused: \
                         save it again with Redis 7.0 GA or later",
                    ))
                }
                opcode::MODULE_AUX => {
                    return Err(RdbError::new(
                        at,
                        "module auxiliary data (opcode 247) refused: Keel has no modules",
                    ))
                }
                opcode::EOF => {
                    self.verify_checksum()?;
                    self.done = true;
                    return Ok(None);
                }
                kind => {
                    if let Some(entry) = self.entry(kind, pending)? {
                        return Ok(Some(Item::Entry(entry)));
                    }
                    pending = Pending::default();
                }
            }
        }
    }

    /// The key and value after type byte `kind`; `None` for an empty
    /// collection, which is skipped.
    fn entry(&mut self, kind: u8, pending: Pending) -> Result<Option<Entry<KeyRef<'a>>>, RdbError> {
        let key = self.r.string_ref()?;
        let Some(value) = read_value(&mut self.r, kind, &self.enc)? else {
            self.empty_keys_skipped += 1;
            return Ok(None);
        };
        self.keys_loaded += 1;
        Ok(Some(Entry {
            db: self.db,
            key,
            value,
            expire_at_ms: pending.expire_at_ms,
            idle_secs: pending.idle_secs,
            freq: pending.freq,
        }))
    }

    /// Checks the CRC64 after EOF, when the version has one and it is not
    /// zero (written with `rdbchecksum no`).
    fn verify_checksum(&mut self) -> Result<(), RdbError> {
        if self.version < FIRST_CHECKSUM_VERSION {
            return Ok(());
        }
        let covered = self.r.pos();
        let expected = self.r.u64_le()?;
        if expected == 0 {
            return Ok(());
        }
        let actual = super::crc64(&self.r.data()[..covered]);
        if actual != expected {
            return Err(RdbError::new(
                covered as u64,
                format!("wrong RDB checksum: expected {expected:016x}, computed {actual:016x}"),
            ));
        }
        Ok(())
    }
}

/// `item` with its key's name (if it is a key) owned.
fn owned_item(item: Item<KeyRef<'_>>) -> Item {
    match item {
        Item::Entry(e) => Item::Entry(Entry {
            db: e.db,
            key: match e.key {
                Cow::Borrowed(name) => Bytes::copy_from_slice(name),
                Cow::Owned(name) => Bytes::from(name),
            },
            value: e.value,
            expire_at_ms: e.expire_at_ms,
            idle_secs: e.idle_secs,
            freq: e.freq,
        }),
        Item::Aux { key, value } => Item::Aux { key, value },
        Item::SelectDb(n) => Item::SelectDb(n),
        Item::ResizeDb { size, expires } => Item::ResizeDb { size, expires },
        Item::Function { code } => Item::Function { code },
    }
}

/// The version in the `REDISnnnn` header.
fn parse_header(data: &[u8]) -> Result<u16, RdbError> {
    if data.len() < HEADER_BYTES || !data.starts_with(MAGIC) {
        return Err(RdbError::new(
            0,
            "wrong signature trying to load DB from file",
        ));
    }
    let digits = &data[MAGIC.len()..HEADER_BYTES];
    let version = std::str::from_utf8(digits)
        .ok()
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse::<u16>().ok())
        .ok_or_else(|| RdbError::new(5, "invalid RDB version field"))?;
    if version == 0 || version > MAX_LOAD_VERSION {
        return Err(RdbError::new(
            5,
            format!("Can't handle RDB format version {version}"),
        ));
    }
    Ok(version)
}

/// Every item of a whole file, for callers that load in one go.
pub fn load_all(data: &[u8], enc: Encodings) -> Result<Vec<Item>, RdbError> {
    let mut loader = RdbLoader::new(data, enc)?;
    let mut items = Vec::new();
    while let Some(item) = loader.next_item()? {
        items.push(item);
    }
    Ok(items)
}

/// The access word of a loaded or restored key given the idle time or LFU
/// counter that came with it (Redis's `objectSetLRUOrLFU`): under an LFU
/// policy only `freq` counts, under any other only `idle_secs`; `None`
/// when the one that counts is absent (the caller keeps a fresh word).
pub fn restored_access(
    now: Now,
    config: &Config,
    idle_secs: Option<u64>,
    freq: Option<u8>,
) -> Option<u32> {
    /// The LRU clock's range (24 bits).
    const LRU_CLOCK_MAX: i64 = (1 << 24) - 1;
    match Policy::of(config) {
        Policy::Lfu => {
            let minutes = access::initial(now, Policy::Lfu, config) & !0xFF;
            freq.map(|f| minutes | u32::from(f))
        }
        Policy::Lru => idle_secs.map(|idle| {
            let clock = i64::from(access::lru_clock(now));
            // Redis scales the idle time by its clock resolution (1000 ms
            // per tick) in 64-bit arithmetic, wrapping as C does.
            let idle = (idle as i64).wrapping_mul(1000) / 1000;
            let mut last = clock.wrapping_sub(idle);
            if last < 0 {
                // The clock wraps: an access before its last wrap is far up.
                last = last.wrapping_add(LRU_CLOCK_MAX);
            }
            // The access word keeps 24 bits, as Redis's `lru` field.
            (last & LRU_CLOCK_MAX) as u32
        }),
    }
}
