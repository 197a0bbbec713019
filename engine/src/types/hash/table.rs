//! The big encoding of hashes: a [`Dict`] from field to value, the same
//! SCAN-stable table as the keyspace's (Redis's `hashtable` encoding).

use super::{Item, Pair};
use crate::db::dict::Dict;
use rand_chacha::rand_core::RngCore;
use std::borrow::Cow;
use std::collections::HashSet;

/// Bytes an entry costs beyond its field and value: the slab entry (field
/// when short, chain link, value).
const ENTRY_OVERHEAD: usize = Dict::<TableValue>::ENTRY_BYTES;
/// Values up to this long are kept inside the entry, without an
/// allocation of their own (the entry is as big as a boxed slice plus a tag).
const INLINE_MAX: usize = 22;

/// A value in the table: short ones inline, longer ones boxed.
#[derive(Clone)]
enum TableValue {
    Inline { len: u8, bytes: [u8; INLINE_MAX] },
    Boxed(Box<[u8]>),
}

impl TableValue {
    fn new(value: &[u8]) -> TableValue {
        if value.len() > INLINE_MAX {
            return TableValue::Boxed(value.into());
        }
        let mut bytes = [0u8; INLINE_MAX];
        bytes[..value.len()].copy_from_slice(value);
        TableValue::Inline {
            len: value.len() as u8,
            bytes,
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            TableValue::Inline { len, bytes } => &bytes[..usize::from(*len)],
            TableValue::Boxed(b) => b,
        }
    }
}

pub struct Table {
    dict: Dict<TableValue>,
    /// The seed the dict was made with, so that a copy hashes alike.
    seed: u64,
    /// Field and value bytes stored, kept current for O(1) memory reports.
    payload: usize,
}

impl Table {
    pub fn new(seed: u64) -> Table {
        Table {
            dict: Dict::new(seed),
            seed,
            payload: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn mem_usage(&self) -> usize {
        self.payload + self.dict.len() * ENTRY_OVERHEAD + self.dict.buckets() * 4
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.dict.get(field).map(TableValue::as_slice)
    }

    /// True if the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(old) = self.dict.get_mut(field) {
            self.payload = self.payload - old.as_slice().len() + value.len();
            *old = TableValue::new(value);
            return false;
        }
        self.payload += field.len() + value.len();
        self.dict.insert(field, TableValue::new(value));
        true
    }

    /// True if the field was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self.dict.remove(field) {
            Some((field, value)) => {
                self.payload -= field.len() + value.as_slice().len();
                true
            }
            None => false,
        }
    }

    /// Removes up to `budget` fields, each in O(1) (lazy freeing in
    /// bounded steps); returns how many.
    pub fn drain_some(&mut self, budget: usize) -> usize {
        let mut freed = 0;
        while freed < budget {
            let Some((field, value)) = self.dict.pop_last() else {
                break;
            };
            self.payload -= field.len() + value.as_slice().len();
            freed += 1;
        }
        freed
    }

    pub fn iter(&self) -> impl Iterator<Item = Pair<'_>> {
        self.dict.iter().map(|(f, v)| pair(f, v.as_slice()))
    }

    /// One step of a SCAN over the table (see [`Dict::scan`]).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(Pair)) -> u64 {
        self.dict
            .scan(cursor, count, |k, v| f(pair(k, v.as_slice())))
    }

    pub fn random_pair(&self, rng: &mut impl RngCore) -> Option<Pair<'_>> {
        self.dict
            .random_entry(rng)
            .map(|(f, v)| pair(f, v.as_slice()))
    }

    /// `count` pairs drawn uniformly, with repetition.
    pub fn random_pairs(&self, count: usize, rng: &mut impl RngCore) -> Vec<Pair<'_>> {
        (0..count).map_while(|_| self.random_pair(rng)).collect()
    }

    /// `count` distinct pairs (all of them if there are fewer), drawn
    /// uniformly: by random draws when few are wanted, by one pass of
    /// selection sampling when they are a sizeable share of the table.
    pub fn distinct_random_pairs(&self, count: usize, rng: &mut impl RngCore) -> Vec<Pair<'_>> {
        let count = count.min(self.len());
        if count.saturating_mul(3) > self.len() {
            return self.select_in_one_pass(count, rng);
        }
        let mut seen = HashSet::with_capacity(count);
        let mut picked = Vec::with_capacity(count);
        while picked.len() < count {
            let Some((field, value)) = self.random_pair(rng) else {
                break;
            };
            if seen.insert(field.clone()) {
                picked.push((field, value));
            }
        }
        picked
    }

    fn select_in_one_pass(&self, count: usize, rng: &mut impl RngCore) -> Vec<Pair<'_>> {
        let (mut needed, mut remaining) = (count, self.len());
        let mut picked = Vec::with_capacity(count);
        for pair in self.iter() {
            if needed == 0 {
                break;
            }
            if rng.next_u64() % (remaining as u64) < needed as u64 {
                picked.push(pair);
                needed -= 1;
            }
            remaining -= 1;
        }
        picked
    }
}

fn pair<'a>(field: &'a [u8], value: &'a [u8]) -> Pair<'a> {
    (Cow::Borrowed(field), Item::Bytes(value))
}

/// A copy holds the same pairs and hashes with the same seed (the dict
/// itself has no `Clone`).
impl Clone for Table {
    fn clone(&self) -> Table {
        let mut copy = Table::new(self.seed);
        for (field, value) in self.dict.iter() {
            copy.set(field, value.as_slice());
        }
        copy
    }
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("len", &self.len())
            .field("payload", &self.payload)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_live_in_the_entry() {
        assert_eq!(std::mem::size_of::<TableValue>(), 24);
        for len in [0, 1, INLINE_MAX, INLINE_MAX + 1, 1000] {
            let value = vec![b'v'; len];
            let stored = TableValue::new(&value);
            assert_eq!(stored.as_slice(), &value[..]);
            assert_eq!(
                matches!(stored, TableValue::Inline { .. }),
                len <= INLINE_MAX
            );
        }
        let mut table = Table::new(1);
        table.set(b"f", b"short");
        table.set(b"g", &[b'x'; 100]);
        table.set(b"f", &[b'y'; 30]);
        assert_eq!(table.get(b"f"), Some(&[b'y'; 30][..]));
        assert_eq!(table.clone().get(b"g"), Some(&[b'x'; 100][..]));
        assert!(table.remove(b"g"));
        assert_eq!(table.payload, 1 + 30);
    }
}
