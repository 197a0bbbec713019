//! RDB, Redis's snapshot format, version 10 (what Redis 7.0 writes), and the
//! DUMP payload built from it. Sans-IO: everything here works on byte
//! slices and vectors; files, fsync and scheduling belong to the callers.
//!
//! - [`writer::RdbWriter`] writes a whole file incrementally (the caller
//!   drains its output in chunks) and [`writer::encode_value`] one value
//!   (type byte + payload, for DUMP);
//! - [`loader::RdbLoader`] parses a file item by item, every encoding Redis
//!   7.0 and older versions write (plus 7.2's set listpack), checking every
//!   length against the input so corrupt data gives an [`RdbError`];
//! - [`dump`] builds and verifies DUMP payloads (value, version, CRC64).
//!
//! The compact blobs Redis embeds as strings (listpack, ziplist, intset,
//! zipmap) have their own codecs in this module: Keel's in-memory encodings
//! are its own and never leak into the file format.

mod blob;
pub mod dump;
mod intset;
mod listpack;
pub mod loader;
mod read;
mod value;
pub mod writer;
mod ziplist;
mod zipmap;

#[cfg(test)]
mod tests;

use crate::config::Config;
use crate::types::hash::HashLimits;
use crate::types::list::Fill;
use crate::types::set::SetConfig;
use crate::types::zset::Limits as ZSetLimits;
use crc::{Crc, Table, CRC_64_REDIS};

/// The RDB version Keel writes (Redis 7.0's), also in DUMP payloads.
pub const RDB_VERSION: u16 = 10;
/// The newest RDB version the file loader accepts: 11 (Redis 7.2) only
/// adds encodings Keel reads (set listpack) besides stream v3.
pub const MAX_LOAD_VERSION: u16 = 11;

/// Value type bytes (Redis's RDB_TYPE_*).
pub mod kind {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;
}

/// Opcodes that precede a key or stand between keys (Redis's RDB_OPCODE_*).
pub mod opcode {
    pub const FUNCTION2: u8 = 245;
    /// The pre-release 7.0 function format, which Redis 7.0 GA refuses too.
    pub const FUNCTION_PRE_GA: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// Quicklist 2 node containers.
pub(crate) const QUICKLIST_NODE_PLAIN: u64 = 1;
pub(crate) const QUICKLIST_NODE_PACKED: u64 = 2;

/// Corrupt, truncated or unsupported input: where (byte offset from the
/// start of the file or payload) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError {
    pub offset: u64,
    pub message: String,
}

impl RdbError {
    pub fn new(offset: u64, message: impl Into<String>) -> RdbError {
        RdbError {
            offset,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at offset {})", self.message, self.offset)
    }
}

impl std::error::Error for RdbError {}

/// With a 16-way table: several times faster than the byte-wise one over a
/// whole file (the byte-wise table cost more than encoding small keys).
static CRC64: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_REDIS);

/// CRC-64/Jones as Redis computes it for RDB files and DUMP payloads.
pub fn crc64(data: &[u8]) -> u64 {
    CRC64.checksum(data)
}

/// The encoding thresholds values are built with on load, as Redis
/// converts loaded values to the encodings its configuration asks for.
#[derive(Debug, Clone, Copy)]
pub struct Encodings {
    pub list_fill: Fill,
    pub hash: HashLimits,
    pub set: SetConfig,
    pub zset: ZSetLimits,
}

impl Encodings {
    pub fn from_config(config: &Config) -> Encodings {
        Encodings {
            list_fill: Fill::from_config(config.list_max_listpack_size),
            hash: HashLimits::from_config(config),
            set: SetConfig::from_config(config),
            zset: ZSetLimits::of(config),
        }
    }
}
