//! The compact encoding of small hashes: every field and value packed, in
//! insertion order, into one exactly-sized byte buffer (Redis's listpack
//! plays the same role).
//!
//! Each item starts with one header byte:
//!
//! | header        | item                                                    |
//! |---------------|---------------------------------------------------------|
//! | `0x00..=0xBF` | a string of that many bytes, which follow               |
//! | `0xC0..=0xEF` | the integer `header - 0xC0` (0 to 47), nothing follows  |
//! | `0xF0..=0xF7` | an integer in `header - 0xEF` little-endian bytes       |
//! | `0xF8`        | a string whose length follows as a LEB128 varint        |
//!
//! A string is stored as an integer exactly when it is the canonical
//! decimal form of an `i64` (what Redis's `string2ll` accepts), so the
//! integer prints back to the same bytes, and a lookup for a canonical
//! integer only needs to look at integer items. Small items cost one byte
//! of overhead (Redis's listpack spends two or three: header and back-length).

use super::Item;
use crate::util::parse_i64;
use rand_chacha::rand_core::RngCore;

const MAX_SHORT_STRING: u8 = 0xBF;
const SMALL_INT: u8 = 0xC0;
const SMALL_INT_MAX: i64 = 0xEF - 0xC0;
const WIDE_INT: u8 = 0xF0;
const WIDE_INT_LAST: u8 = 0xF7;
const LONG_STRING: u8 = 0xF8;

/// Fields and values alternating in one buffer.
#[derive(Debug, Clone, Default)]
pub struct Listpack {
    buf: Box<[u8]>,
    /// Number of field-value pairs.
    pairs: u32,
}

/// Where a pair sits in the buffer.
struct Found {
    field_at: usize,
    value_at: usize,
    end: usize,
}

/// What a lookup compares items with: a canonical integer is only ever
/// stored as an integer item, any other string only as a string item.
enum Probe<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl<'a> Probe<'a> {
    fn of(text: &'a [u8]) -> Probe<'a> {
        match as_int(text) {
            Some(n) => Probe::Int(n),
            None => Probe::Bytes(text),
        }
    }

    fn matches(&self, item: Item) -> bool {
        match (self, item) {
            (Probe::Int(a), Item::Int(b)) => *a == b,
            (Probe::Bytes(a), Item::Bytes(b)) => *a == b,
            _ => false,
        }
    }
}

/// The integer `text` is the canonical decimal form of, if any.
fn as_int(text: &[u8]) -> Option<i64> {
    parse_i64(text)
}

/// Bytes needed to store a signed integer in two's complement.
fn int_width(n: i64) -> usize {
    (1..8)
        .find(|&w| {
            let bits = 8 * w as u32;
            let bound = 1i64 << (bits - 1);
            (-bound..bound).contains(&n)
        })
        .unwrap_or(8)
}

fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7F) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a varint at `pos`: (value, position after it).
fn get_varint(buf: &[u8], mut pos: usize) -> (usize, usize) {
    let (mut value, mut shift) = (0usize, 0u32);
    loop {
        let byte = buf[pos];
        pos += 1;
        value |= usize::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            return (value, pos);
        }
        shift += 7;
    }
}

/// Bytes `text` takes once encoded.
pub fn encoded_len(text: &[u8]) -> usize {
    match as_int(text) {
        Some(n) if (0..=SMALL_INT_MAX).contains(&n) => 1,
        Some(n) => 1 + int_width(n),
        None if text.len() <= usize::from(MAX_SHORT_STRING) => 1 + text.len(),
        None => 1 + varint_len(text.len()) + text.len(),
    }
}

fn encode(out: &mut Vec<u8>, text: &[u8]) {
    match as_int(text) {
        Some(n) if (0..=SMALL_INT_MAX).contains(&n) => out.push(SMALL_INT + n as u8),
        Some(n) => {
            let width = int_width(n);
            out.push(WIDE_INT + (width - 1) as u8);
            out.extend_from_slice(&n.to_le_bytes()[..width]);
        }
        None if text.len() <= usize::from(MAX_SHORT_STRING) => {
            out.push(text.len() as u8);
            out.extend_from_slice(text);
        }
        None => {
            out.push(LONG_STRING);
            put_varint(out, text.len());
            out.extend_from_slice(text);
        }
    }
}

/// The item at `pos` and the position after it. `pos` is always an item
/// boundary of a buffer this module wrote.
fn decode(buf: &[u8], pos: usize) -> (Item<'_>, usize) {
    let header = buf[pos];
    let body = pos + 1;
    match header {
        0..=MAX_SHORT_STRING => {
            let end = body + usize::from(header);
            (Item::Bytes(&buf[body..end]), end)
        }
        SMALL_INT..WIDE_INT => (Item::Int(i64::from(header - SMALL_INT)), body),
        WIDE_INT..=WIDE_INT_LAST => {
            let width = usize::from(header - WIDE_INT) + 1;
            let mut bytes = [0u8; 8];
            bytes[..width].copy_from_slice(&buf[body..body + width]);
            // Sign-extend from the top byte stored.
            let fill = if bytes[width - 1] & 0x80 != 0 {
                0xFF
            } else {
                0
            };
            bytes[width..].fill(fill);
            (Item::Int(i64::from_le_bytes(bytes)), body + width)
        }
        LONG_STRING => {
            let (len, start) = get_varint(buf, body);
            (Item::Bytes(&buf[start..start + len]), start + len)
        }
        _ => unreachable!("listpack header {header:#x} is never written"),
    }
}

impl Listpack {
    pub fn len(&self) -> usize {
        self.pairs as usize
    }

    /// Bytes of the buffer.
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    fn pair_at(&self, pos: usize) -> ((Item<'_>, Item<'_>), usize) {
        let (field, value_at) = decode(&self.buf, pos);
        let (value, end) = decode(&self.buf, value_at);
        ((field, value), end)
    }

    fn find(&self, field: &[u8]) -> Option<Found> {
        let probe = Probe::of(field);
        let mut pos = 0;
        while pos < self.buf.len() {
            let (item, value_at) = decode(&self.buf, pos);
            let (_, end) = decode(&self.buf, value_at);
            if probe.matches(item) {
                return Some(Found {
                    field_at: pos,
                    value_at,
                    end,
                });
            }
            pos = end;
        }
        None
    }

    pub fn get(&self, field: &[u8]) -> Option<Item<'_>> {
        let found = self.find(field)?;
        Some(decode(&self.buf, found.value_at).0)
    }

    /// Sets `field` to `value`: a new field goes at the end, an existing
    /// one keeps its place. True if the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.find(field) {
            Some(found) => {
                let mut encoded = Vec::with_capacity(encoded_len(value));
                encode(&mut encoded, value);
                self.splice(found.value_at..found.end, &encoded);
                false
            }
            None => {
                self.append(field, value);
                true
            }
        }
    }

    fn append(&mut self, field: &[u8], value: &[u8]) {
        let mut buf = std::mem::take(&mut self.buf).into_vec();
        // Exactly the room needed: the buffer never holds spare capacity.
        buf.reserve_exact(encoded_len(field) + encoded_len(value));
        encode(&mut buf, field);
        encode(&mut buf, value);
        self.buf = buf.into_boxed_slice();
        self.pairs += 1;
    }

    /// Replaces the bytes in `range` with `with`, in place when the size
    /// does not change.
    fn splice(&mut self, range: std::ops::Range<usize>, with: &[u8]) {
        if range.len() == with.len() {
            self.buf[range].copy_from_slice(with);
            return;
        }
        let mut buf = Vec::with_capacity(self.buf.len() - range.len() + with.len());
        buf.extend_from_slice(&self.buf[..range.start]);
        buf.extend_from_slice(with);
        buf.extend_from_slice(&self.buf[range.end..]);
        self.buf = buf.into_boxed_slice();
    }

    /// Removes `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let Some(found) = self.find(field) else {
            return false;
        };
        self.splice(found.field_at..found.end, &[]);
        self.pairs -= 1;
        true
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter { lp: self, pos: 0 }
    }

    /// Where each pair starts, for picking pairs by index.
    fn pair_offsets(&self) -> Vec<usize> {
        let mut offsets = Vec::with_capacity(self.len());
        let mut pos = 0;
        while pos < self.buf.len() {
            offsets.push(pos);
            pos = self.pair_at(pos).1;
        }
        offsets
    }

    /// `count` pairs drawn uniformly, with repetition.
    pub fn random_pairs(&self, count: usize, rng: &mut impl RngCore) -> Vec<(Item<'_>, Item<'_>)> {
        let offsets = self.pair_offsets();
        if offsets.is_empty() {
            return Vec::new();
        }
        (0..count)
            .map(|_| {
                let i = (rng.next_u64() % offsets.len() as u64) as usize;
                self.pair_at(offsets[i]).0
            })
            .collect()
    }

    /// `count` distinct pairs (all of them if there are fewer), drawn
    /// uniformly, in the order they are stored (selection sampling).
    pub fn distinct_random_pairs(
        &self,
        count: usize,
        rng: &mut impl RngCore,
    ) -> Vec<(Item<'_>, Item<'_>)> {
        let mut needed = count.min(self.len());
        let mut remaining = self.len();
        let mut picked = Vec::with_capacity(needed);
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

/// The pairs of a listpack, in order.
pub struct Iter<'a> {
    lp: &'a Listpack,
    pos: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (Item<'a>, Item<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.lp.buf.len() {
            return None;
        }
        let (pair, end) = self.lp.pair_at(self.pos);
        self.pos = end;
        Some(pair)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(text: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        encode(&mut buf, text);
        assert_eq!(buf.len(), encoded_len(text), "{text:?}");
        let (item, end) = decode(&buf, 0);
        assert_eq!(end, buf.len());
        item.to_vec()
    }

    #[test]
    fn items_round_trip_at_every_width() {
        let samples: Vec<Vec<u8>> = [
            "",
            "0",
            "47",
            "48",
            "-1",
            "127",
            "128",
            "-128",
            "-129",
            "32767",
            "32768",
            "8388607",
            "8388608",
            "2147483648",
            "-9223372036854775808",
            "9223372036854775807",
            "007",
            "-0",
            "+1",
            "1.5",
            " 1",
            "abc",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain([vec![b'x'; 191], vec![b'y'; 192], vec![b'z'; 20_000]])
        .collect();
        for text in samples {
            assert_eq!(round_trip(&text), text);
        }
    }

    #[test]
    fn small_items_cost_one_byte_of_overhead() {
        assert_eq!(encoded_len(b"field1"), 7);
        assert_eq!(encoded_len(b"7"), 1);
        assert_eq!(encoded_len(b"1000"), 3);
        assert_eq!(encoded_len(b"1234567890"), 5);
        assert_eq!(encoded_len(b"007"), 4, "not canonical: kept as text");
    }

    #[test]
    fn keeps_insertion_order_and_places() {
        let mut lp = Listpack::default();
        assert!(lp.set(b"a", b"1"));
        assert!(lp.set(b"b", b"two"));
        assert!(lp.set(b"1", b"x"));
        assert!(!lp.set(b"a", b"a much longer value"));
        assert!(lp.remove(b"b"));
        assert!(!lp.remove(b"b"));
        let pairs: Vec<_> = lp.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        assert_eq!(
            pairs,
            vec![
                (b"a".to_vec(), b"a much longer value".to_vec()),
                (b"1".to_vec(), b"x".to_vec())
            ]
        );
        assert_eq!(lp.get(b"1").map(|v| v.to_vec()), Some(b"x".to_vec()));
        assert_eq!(lp.get(b"01"), None, "text 01 is not the integer 1");
        assert_eq!(lp.len(), 2);
    }

    proptest! {
        #[test]
        fn any_text_round_trips(text in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(round_trip(&text), text);
        }

        #[test]
        fn any_integer_round_trips(n in any::<i64>()) {
            let text = n.to_string().into_bytes();
            prop_assert_eq!(round_trip(&text), text);
        }
    }
}
