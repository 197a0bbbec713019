//! The hash type, with Redis's two encodings: `listpack` (every pair packed
//! in one byte buffer, fields front-coded, see [`listpack`]) while the hash
//! is small, then `hashtable` (see [`table`]) for good.
//!
//! A hash converts when a write leaves it with more than
//! `hash-max-listpack-entries` fields, or is about to store a field or value
//! longer than `hash-max-listpack-value` bytes, as Redis 7.0 does. It never
//! converts back, and a change of those settings only affects later writes.

mod listpack;
mod table;

use crate::config::Config;
use bytes::Bytes;
use listpack::Listpack;
use rand_chacha::rand_core::RngCore;
use std::borrow::Cow;
use table::Table;

/// A listpack converts before it grows past this many bytes, whatever the
/// settings allow (Redis's listpack safety limit, 1 GiB).
const LISTPACK_MAX_BYTES: usize = 1 << 30;

/// A field or value as stored: bytes, or an integer the compact encoding
/// keeps in binary (it prints back to exactly the bytes that were stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

impl Item<'_> {
    pub fn as_cow(&self) -> Cow<'_, [u8]> {
        match *self {
            Item::Bytes(b) => Cow::Borrowed(b),
            Item::Int(n) => Cow::Owned(crate::util::fmt_i64(n)),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.as_cow().into_owned()
    }

    pub fn to_bytes(&self) -> Bytes {
        match *self {
            Item::Bytes(b) => Bytes::copy_from_slice(b),
            Item::Int(n) => Bytes::from(crate::util::fmt_i64(n)),
        }
    }

    /// Length of the text (HSTRLEN).
    pub fn len(&self) -> usize {
        match *self {
            Item::Bytes(b) => b.len(),
            Item::Int(n) => itoa::Buffer::new().format(n).len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as an integer, with Redis's `string2ll` rules.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Item::Bytes(b) => crate::util::parse_i64(b),
            Item::Int(n) => Some(n),
        }
    }
}

/// A field (rebuilt, for the compact encoding, which shares prefixes
/// between fields) and its value.
pub type Pair<'a> = (Cow<'a, [u8]>, Item<'a>);

/// What decides the encoding, read from the configuration at each write.
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    pub max_listpack_entries: u64,
    pub max_listpack_value: u64,
    /// Seed of a table's hash function (derived from the server's seed).
    pub table_seed: u64,
}

impl HashLimits {
    pub fn from_config(config: &Config) -> HashLimits {
        HashLimits {
            max_listpack_entries: config.hash_max_listpack_entries,
            max_listpack_value: config.hash_max_listpack_value,
            table_seed: config.seed ^ 0x6861_7368_7461_626c,
        }
    }

    fn too_long(&self, text: &[u8]) -> bool {
        text.len() as u64 > self.max_listpack_value
    }
}

#[derive(Debug, Clone)]
enum Repr {
    Listpack(Listpack),
    Table(Box<Table>),
}

/// A hash value: fields to values, both binary strings.
#[derive(Debug, Clone)]
pub struct HashValue {
    repr: Repr,
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue::new()
    }
}

/// Two hashes are equal when they hold the same pairs, whatever their
/// encodings and orders.
impl PartialEq for HashValue {
    fn eq(&self, other: &HashValue) -> bool {
        // Compared as text: a table holds as bytes what a listpack holds
        // as an integer.
        self.len() == other.len()
            && self.iter().all(|(field, value)| {
                other
                    .get(&field)
                    .is_some_and(|v| v.as_cow() == value.as_cow())
            })
    }
}

impl HashValue {
    /// An empty hash, in the compact encoding.
    pub fn new() -> HashValue {
        HashValue {
            repr: Repr::Listpack(Listpack::default()),
        }
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Heap bytes held, O(1).
    pub fn mem_usage(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.byte_len(),
            Repr::Table(t) => t.mem_usage(),
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.len(),
            Repr::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis's lazy-free effort: 1 for the compact encoding (one buffer),
    /// the number of fields for a table.
    pub fn free_effort(&self) -> usize {
        match &self.repr {
            Repr::Listpack(_) => 1,
            Repr::Table(t) => t.len(),
        }
    }

    /// Frees up to `budget` fields of a table in place (lazy freeing in
    /// bounded steps); returns how many. The compact encoding is one
    /// buffer, freed whole with the value: nothing to do here.
    pub fn drain_some(&mut self, budget: usize) -> usize {
        match &mut self.repr {
            Repr::Listpack(_) => 0,
            Repr::Table(t) => t.drain_some(budget),
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<Item<'_>> {
        match &self.repr {
            Repr::Listpack(lp) => lp.get(field),
            Repr::Table(t) => t.get(field).map(Item::Bytes),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value`, converting to a table first if either is
    /// too long for the compact encoding, and after if there are now too
    /// many fields for it. True if the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &HashLimits) -> bool {
        if let Repr::Listpack(lp) = &self.repr {
            let grown = lp.byte_len() + listpack::encoded_len(field) + listpack::encoded_len(value);
            if limits.too_long(field) || limits.too_long(value) || grown > LISTPACK_MAX_BYTES {
                self.convert_to_table(limits.table_seed);
            }
        }
        let added = match &mut self.repr {
            Repr::Listpack(lp) => lp.set(field, value),
            Repr::Table(t) => t.set(field, value),
        };
        if matches!(self.repr, Repr::Listpack(_)) && self.len() as u64 > limits.max_listpack_entries
        {
            self.convert_to_table(limits.table_seed);
        }
        added
    }

    /// Removes `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(lp) => lp.remove(field),
            Repr::Table(t) => t.remove(field),
        }
    }

    /// Every pair: in insertion order for the compact encoding, in table
    /// order otherwise.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Pair<'_>> + '_> {
        match &self.repr {
            Repr::Listpack(lp) => Box::new(lp.iter()),
            Repr::Table(t) => Box::new(t.iter()),
        }
    }

    fn convert_to_table(&mut self, seed: u64) {
        let Repr::Listpack(lp) = &self.repr else {
            return;
        };
        let mut table = Table::new(seed);
        for (field, value) in lp.iter() {
            table.set(&field, &value.as_cow());
        }
        self.repr = Repr::Table(Box::new(table));
    }

    /// One step of HSCAN: calls `f` with pairs and returns the next cursor.
    /// The compact encoding gives every pair at once and cursor 0, as Redis
    /// does; a table is walked `count` entries at a time from `cursor`.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(Pair)) -> u64 {
        match &self.repr {
            Repr::Listpack(lp) => {
                lp.iter().for_each(&mut f);
                0
            }
            Repr::Table(t) => t.scan(cursor, count, f),
        }
    }

    /// One pair drawn uniformly, or None when empty.
    pub fn random_pair(&self, rng: &mut impl RngCore) -> Option<Pair<'_>> {
        match &self.repr {
            Repr::Listpack(lp) => lp.random_pair(rng),
            Repr::Table(t) => t.random_pair(rng),
        }
    }

    /// `count` pairs drawn uniformly, with repetition (empty when the hash is).
    pub fn random_pairs(&self, count: usize, rng: &mut impl RngCore) -> Vec<Pair<'_>> {
        match &self.repr {
            Repr::Listpack(lp) => lp.random_pairs(count, rng),
            Repr::Table(t) => t.random_pairs(count, rng),
        }
    }

    /// `count` distinct pairs drawn uniformly (every pair when `count` is
    /// the size or more).
    pub fn distinct_random_pairs(&self, count: usize, rng: &mut impl RngCore) -> Vec<Pair<'_>> {
        match &self.repr {
            Repr::Listpack(lp) => lp.distinct_random_pairs(count, rng),
            Repr::Table(t) => t.distinct_random_pairs(count, rng),
        }
    }
}

#[cfg(test)]
mod tests;
