//! The big encoding of hashes: a [`Dict`] from field to value, the same
//! SCAN-stable table as the keyspace's (Redis's `hashtable` encoding).

use super::{Item, Pair};
use crate::db::dict::Dict;
use bytes::Bytes;
use rand_chacha::rand_core::RngCore;
use std::borrow::Cow;
use std::collections::HashSet;

/// Bytes an entry costs beyond its field and value: the slab entry (hash,
/// chain link, field handle, value pointer and length) and its bucket.
const ENTRY_OVERHEAD: usize = 64 + 4;

pub struct Table {
    dict: Dict<Box<[u8]>>,
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
        self.dict.get(field).map(|v| &v[..])
    }

    /// True if the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(old) = self.dict.get_mut(field) {
            self.payload = self.payload - old.len() + value.len();
            *old = value.into();
            return false;
        }
        self.payload += field.len() + value.len();
        self.dict
            .insert(Bytes::copy_from_slice(field), value.into());
        true
    }

    /// True if the field was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self.dict.remove(field) {
            Some((field, value)) => {
                self.payload -= field.len() + value.len();
                true
            }
            None => false,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Pair<'_>> {
        self.dict.iter().map(|(f, v)| pair(f, v))
    }

    /// One step of a SCAN over the table (see [`Dict::scan`]).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(Pair)) -> u64 {
        self.dict.scan(cursor, count, |k, v| f(pair(k, v)))
    }

    fn random_pair(&self, rng: &mut impl RngCore) -> Option<Pair<'_>> {
        self.dict.random_entry(rng).map(|(f, v)| pair(f, v))
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
            copy.set(field, value);
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
