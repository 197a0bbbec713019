//! One node of a list: its elements packed back to back in a single byte
//! buffer, in the spirit of Redis's listpack (the layout is Keel's own).
//!
//! Each entry is `head | payload | back`:
//! - `head` says what follows:
//!   - `0x00..=0x7F`: the integer 0..=127 itself, no payload;
//!   - `0x80..=0xBF`: a string of 0..=63 bytes (the low six bits);
//!   - `0xC0..=0xCF` + 1 byte: a string of up to 4095 bytes (12 bits);
//!   - `0xD0`..`0xD3`: a little-endian integer of 2, 3, 4 or 8 bytes;
//!   - `0xE0` + 8 bytes: a string of any length (little-endian u64).
//! - `back` is the length of `head | payload`, written so that it can be
//!   read backwards from the start of the next entry: base-128 digits, the
//!   lowest digit last, every byte but the first flagged with 0x80. It is
//!   one byte for entries under 128 bytes, which is what lets a node be
//!   walked from its tail (RPOP, negative indices) without a forward scan.
//!
//! Only strings that are the canonical text of a 64-bit integer (what
//! Redis's `string2ll` accepts: no sign but `-`, no leading zero) are
//! stored as integers, so an element always reads back byte for byte.

use bytes::Bytes;

const SMALL_INT_MAX: i64 = 0x7F;
const TINY_STR: u8 = 0x80;
const TINY_STR_MAX: usize = 0x3F;
const SHORT_STR: u8 = 0xC0;
const SHORT_STR_MAX: usize = 0x0FFF;
const INT16: u8 = 0xD0;
const INT24: u8 = 0xD1;
const INT32: u8 = 0xD2;
const INT64: u8 = 0xD3;
const LONG_STR: u8 = 0xE0;
/// Longest header: a tag and an 8-byte length or integer.
const MAX_HEAD: usize = 9;
/// Longest back length: 64 bits in base-128 digits.
const MAX_BACK: usize = 10;
const BACK_MORE: u8 = 0x80;

/// An element as stored: an integer, or the bytes of a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    /// The element's text, as a client sent it.
    pub fn to_bytes(self) -> Bytes {
        match self {
            Elem::Int(n) => Bytes::copy_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            Elem::Str(s) => Bytes::copy_from_slice(s),
        }
    }

    /// Appends the element's text to `out`.
    pub fn write_text(self, out: &mut Vec<u8>) {
        match self {
            Elem::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            Elem::Str(s) => out.extend_from_slice(s),
        }
    }

    /// Whether the element's text equals the probe's.
    pub fn matches(self, probe: &Probe) -> bool {
        match self {
            Elem::Int(n) => probe.int == Some(n),
            Elem::Str(s) => probe.int.is_none() && s == probe.bytes,
        }
    }
}

/// A client argument prepared for comparing with many stored elements:
/// an integer-looking argument is parsed once, as it would be stored.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    bytes: &'a [u8],
    int: Option<i64>,
}

impl<'a> Probe<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Probe {
            bytes,
            int: stored_int(bytes),
        }
    }
}

/// The integer `text` is stored as, if it is one (canonical form only).
fn stored_int(text: &[u8]) -> Option<i64> {
    crate::util::parse_i64(text)
}

/// One element encoded (header and back length), ready to be copied into
/// a node next to its payload.
pub struct Entry<'a> {
    head: [u8; MAX_HEAD],
    head_len: usize,
    payload: &'a [u8],
    back: [u8; MAX_BACK],
    back_len: usize,
}

impl<'a> Entry<'a> {
    pub fn new(text: &'a [u8]) -> Self {
        let mut head = [0u8; MAX_HEAD];
        let (head_len, payload): (usize, &[u8]) = match stored_int(text) {
            Some(n) => (encode_int(n, &mut head), &[]),
            None => (encode_str_head(text.len(), &mut head), text),
        };
        let mut back = [0u8; MAX_BACK];
        let back_len = encode_back((head_len + payload.len()) as u64, &mut back);
        Entry {
            head,
            head_len,
            payload,
            back,
            back_len,
        }
    }

    /// The bytes the entry takes once packed.
    pub fn size(&self) -> usize {
        self.head_len + self.payload.len() + self.back_len
    }

    /// Writes the entry into `out`, which is exactly [`Encoded::size`] long.
    fn write_to(&self, out: &mut [u8]) {
        let (head, rest) = out.split_at_mut(self.head_len);
        let (payload, back) = rest.split_at_mut(self.payload.len());
        head.copy_from_slice(&self.head[..self.head_len]);
        payload.copy_from_slice(self.payload);
        back.copy_from_slice(&self.back[..self.back_len]);
    }
}

fn encode_int(n: i64, head: &mut [u8; MAX_HEAD]) -> usize {
    let bytes = n.to_le_bytes();
    let (tag, width) = if (0..=SMALL_INT_MAX).contains(&n) {
        head[0] = n as u8;
        return 1;
    } else if i16::try_from(n).is_ok() {
        (INT16, 2)
    } else if (-(1 << 23)..(1 << 23)).contains(&n) {
        (INT24, 3)
    } else if i32::try_from(n).is_ok() {
        (INT32, 4)
    } else {
        (INT64, 8)
    };
    head[0] = tag;
    head[1..=width].copy_from_slice(&bytes[..width]);
    1 + width
}

fn encode_str_head(len: usize, head: &mut [u8; MAX_HEAD]) -> usize {
    if len <= TINY_STR_MAX {
        head[0] = TINY_STR | len as u8;
        1
    } else if len <= SHORT_STR_MAX {
        head[0] = SHORT_STR | (len >> 8) as u8;
        head[1] = (len & 0xFF) as u8;
        2
    } else {
        head[0] = LONG_STR;
        head[1..9].copy_from_slice(&(len as u64).to_le_bytes());
        9
    }
}

/// Writes `len` as a back length; returns how many bytes it took.
fn encode_back(mut len: u64, out: &mut [u8; MAX_BACK]) -> usize {
    let mut digits = [0u8; MAX_BACK];
    let mut n = 0;
    loop {
        digits[n] = (len & 0x7F) as u8;
        n += 1;
        len >>= 7;
        if len == 0 {
            break;
        }
    }
    // Highest digit first, unflagged; every later byte flagged "more before".
    for i in 0..n {
        let digit = digits[n - 1 - i];
        out[i] = if i == 0 { digit } else { digit | BACK_MORE };
    }
    n
}

fn back_size(len: u64) -> usize {
    let bits = 64 - len.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

fn sign_extend(raw: &[u8]) -> i64 {
    let mut bytes = [0u8; 8];
    bytes[..raw.len()].copy_from_slice(raw);
    let shift = 64 - 8 * raw.len() as u32;
    (i64::from_le_bytes(bytes) << shift) >> shift
}

/// A node: packed entries and their count.
#[derive(Debug, Clone, Default)]
pub struct Pack {
    buf: Vec<u8>,
    count: u32,
}

impl Pack {
    pub fn new() -> Self {
        Pack::default()
    }

    /// Elements held.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of packed entries.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Bytes allocated for the buffer.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The offset just past the last entry.
    pub fn end(&self) -> usize {
        self.buf.len()
    }

    /// The element at `at` and the offset of the next entry.
    #[inline]
    pub fn read(&self, at: usize) -> (Elem<'_>, usize) {
        let (elem, body_end) = self.read_head(at);
        let body = (body_end - at) as u64;
        (elem, body_end + back_size(body))
    }

    pub fn get(&self, at: usize) -> Elem<'_> {
        self.read(at).0
    }

    /// The offset of the entry after the one at `at`.
    pub fn next(&self, at: usize) -> usize {
        self.read(at).1
    }

    /// The offset of the entry that ends at `at`, or None at the start.
    pub fn prev(&self, at: usize) -> Option<usize> {
        if at == 0 {
            return None;
        }
        let mut pos = at;
        let mut body: u64 = 0;
        let mut shift = 0;
        loop {
            pos -= 1;
            let byte = self.buf[pos];
            body |= u64::from(byte & 0x7F) << shift;
            shift += 7;
            if byte & BACK_MORE == 0 {
                break;
            }
        }
        Some(pos - body as usize)
    }

    /// Decodes the head at `at`: the element and where its back length starts.
    #[inline]
    fn read_head(&self, at: usize) -> (Elem<'_>, usize) {
        let tag = self.buf[at];
        let int_at = |width: usize| {
            let raw = &self.buf[at + 1..at + 1 + width];
            (Elem::Int(sign_extend(raw)), at + 1 + width)
        };
        let str_at =
            |start: usize, len: usize| (Elem::Str(&self.buf[start..start + len]), start + len);
        match tag {
            0x00..=0x7F => (Elem::Int(i64::from(tag)), at + 1),
            0x80..=0xBF => str_at(at + 1, usize::from(tag & 0x3F)),
            0xC0..=0xCF => {
                let len = usize::from(tag & 0x0F) << 8 | usize::from(self.buf[at + 1]);
                str_at(at + 2, len)
            }
            INT16 => int_at(2),
            INT24 => int_at(3),
            INT32 => int_at(4),
            INT64 => int_at(8),
            LONG_STR => {
                let mut len = [0u8; 8];
                len.copy_from_slice(&self.buf[at + 1..at + 9]);
                str_at(at + 9, u64::from_le_bytes(len) as usize)
            }
            _ => unreachable!("pack: tag {tag:#x} is never written"),
        }
    }

    /// The offset of the element at `index` (< len), walking from the
    /// nearer end of the node.
    pub fn offset_of(&self, index: usize) -> usize {
        debug_assert!(index < self.len());
        if index <= self.len() / 2 {
            (0..index).fold(0, |at, _| self.next(at))
        } else {
            let mut at = self.end();
            for _ in index..self.len() {
                at = self.prev(at).expect("an entry before the end");
            }
            at
        }
    }

    /// Inserts `entry` at offset `at` (an entry boundary).
    pub fn insert(&mut self, at: usize, entry: &Entry) {
        let size = entry.size();
        let old_len = self.buf.len();
        self.grow_for(size);
        self.buf.resize(old_len + size, 0);
        self.buf.copy_within(at..old_len, at + size);
        entry.write_to(&mut self.buf[at..at + size]);
        self.count += 1;
    }

    /// Makes room for `extra` more bytes, growing the buffer to a power of
    /// two: a node filled to its byte limit (4, 8, ... 64 KiB) then has no
    /// spare capacity at all, where doubling from an odd first size would
    /// overshoot the limit by up to half of it.
    fn grow_for(&mut self, extra: usize) {
        let needed = self.buf.len() + extra;
        if needed > self.buf.capacity() {
            let target = needed.checked_next_power_of_two().unwrap_or(needed);
            self.buf.reserve_exact(target - self.buf.len());
        }
    }

    pub fn push_front(&mut self, entry: &Entry) {
        self.insert(0, entry);
    }

    pub fn push_back(&mut self, entry: &Entry) {
        self.insert(self.end(), entry);
    }

    /// Removes the `n` entries that span the bytes `from..to`.
    pub fn remove_span(&mut self, from: usize, to: usize, n: usize) {
        self.buf.drain(from..to);
        self.count -= n as u32;
        self.release_spare();
    }

    /// Removes the entry at `at`.
    pub fn remove(&mut self, at: usize) {
        let to = self.next(at);
        self.remove_span(at, to, 1);
    }

    /// Replaces the entry at `at` with `entry`.
    pub fn replace(&mut self, at: usize, entry: &Entry) {
        let to = self.next(at);
        let mut bytes = vec![0u8; entry.size()];
        entry.write_to(&mut bytes);
        self.buf.splice(at..to, bytes);
    }

    /// Splits the node at offset `at`, where `before` entries precede it:
    /// this node keeps those, the returned node has the rest.
    pub fn split_off(&mut self, at: usize, before: usize) -> Pack {
        let tail = Pack {
            buf: self.buf[at..].to_vec(),
            count: self.count - before as u32,
        };
        self.buf.truncate(at);
        self.count = before as u32;
        self.release_spare();
        tail
    }

    /// Moves every entry of `other` to the end of this node.
    pub fn append(&mut self, other: Pack) {
        self.buf.reserve_exact(other.buf.len());
        self.buf.extend_from_slice(&other.buf);
        self.count += other.count;
    }

    /// Keeps the entries for which `keep` says true; returns how many went.
    pub fn retain(&mut self, mut keep: impl FnMut(Elem<'_>) -> bool) -> usize {
        let mut kept = Vec::with_capacity(self.buf.len());
        let mut removed = 0;
        let mut at = 0;
        while at < self.end() {
            let (elem, next) = self.read(at);
            if keep(elem) {
                kept.extend_from_slice(&self.buf[at..next]);
            } else {
                removed += 1;
            }
            at = next;
        }
        if removed > 0 {
            self.buf = kept;
            self.count -= removed as u32;
            self.release_spare();
        }
        removed as usize
    }

    /// Iterates over the entries: (offset, element).
    pub fn iter(&self) -> impl Iterator<Item = (usize, Elem<'_>)> + '_ {
        let mut at = 0;
        std::iter::from_fn(move || {
            (at < self.end()).then(|| {
                let (elem, next) = self.read(at);
                let here = at;
                at = next;
                (here, elem)
            })
        })
    }

    /// Iterates over the entries from the last: (offset, element).
    pub fn iter_rev(&self) -> impl Iterator<Item = (usize, Elem<'_>)> + '_ {
        let mut at = self.end();
        std::iter::from_fn(move || {
            let here = self.prev(at)?;
            at = here;
            Some((here, self.get(here)))
        })
    }

    /// Gives back memory once the node has shrunk well below what it holds,
    /// so that a list popped down does not keep its peak allocation.
    fn release_spare(&mut self) {
        const MIN_CAPACITY: usize = 64;
        let cap = self.buf.capacity();
        if cap > MIN_CAPACITY && self.buf.len() * 4 < cap {
            self.buf.shrink_to((self.buf.len() * 2).max(MIN_CAPACITY));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(pack: &Pack) -> Vec<Vec<u8>> {
        pack.iter().map(|(_, e)| e.to_bytes().to_vec()).collect()
    }

    fn texts_rev(pack: &Pack) -> Vec<Vec<u8>> {
        pack.iter_rev()
            .map(|(_, e)| e.to_bytes().to_vec())
            .collect()
    }

    const SAMPLES: &[&[u8]] = &[
        b"",
        b"0",
        b"127",
        b"128",
        b"-1",
        b"-0",
        b"007",
        b"+5",
        b"32767",
        b"-32768",
        b"8388607",
        b"-8388608",
        b"8388608",
        b"2147483647",
        b"-2147483649",
        b"9223372036854775807",
        b"-9223372036854775808",
        b"9223372036854775808",
        b"hello",
    ];

    #[test]
    fn every_kind_of_element_reads_back_both_ways() {
        let mut pack = Pack::new();
        let long = vec![b'x'; 5000];
        let medium = vec![b'y'; 200];
        let mut all: Vec<Vec<u8>> = SAMPLES.iter().map(|s| s.to_vec()).collect();
        all.push(long);
        all.push(medium);
        all.push(vec![b'z'; 63]);
        all.push(vec![b'w'; 64]);
        all.push(vec![b'v'; 4095]);
        all.push(vec![b'u'; 4096]);
        for text in &all {
            pack.push_back(&Entry::new(text));
        }
        assert_eq!(texts(&pack), all);
        let mut reversed = all.clone();
        reversed.reverse();
        assert_eq!(texts_rev(&pack), reversed);
        assert_eq!(pack.len(), all.len());
        for (i, text) in all.iter().enumerate() {
            assert_eq!(pack.get(pack.offset_of(i)).to_bytes().as_ref(), &text[..]);
        }
    }

    #[test]
    fn integers_are_stored_only_in_canonical_form() {
        assert_eq!(Entry::new(b"5").size(), 2);
        assert_eq!(Entry::new(b"05").size(), 4);
        assert_eq!(Entry::new(b"-5").size(), 4);
        assert_eq!(Entry::new(b"100000").size(), 5);
        assert_eq!(Entry::new(b"xxx").size(), 5);
        let probe = Probe::new(b"05");
        let mut pack = Pack::new();
        pack.push_back(&Entry::new(b"5"));
        pack.push_back(&Entry::new(b"05"));
        let hits: Vec<bool> = pack.iter().map(|(_, e)| e.matches(&probe)).collect();
        assert_eq!(hits, [false, true]);
    }

    #[test]
    fn back_lengths_of_every_width_walk_backwards() {
        for len in [0usize, 1, 126, 127, 128, 16383, 16384, 70000] {
            let text = vec![b'a'; len];
            let mut pack = Pack::new();
            pack.push_back(&Entry::new(b"1"));
            pack.push_back(&Entry::new(&text));
            pack.push_back(&Entry::new(b"2"));
            assert_eq!(
                texts_rev(&pack),
                [b"2".to_vec(), text.clone(), b"1".to_vec()]
            );
            let size = Entry::new(&text).size();
            assert_eq!(pack.bytes(), size + 4);
        }
    }

    #[test]
    fn edits_keep_the_node_consistent() {
        let mut pack = Pack::new();
        for t in [&b"a"[..], b"b", b"c", b"d"] {
            pack.push_back(&Entry::new(t));
        }
        pack.push_front(&Entry::new(b"z"));
        let at = pack.offset_of(2);
        pack.replace(at, &Entry::new(&[b'q'; 300]));
        let at = pack.offset_of(1);
        pack.remove(at);
        assert_eq!(
            texts(&pack),
            [b"z".to_vec(), vec![b'q'; 300], b"c".to_vec(), b"d".to_vec()]
        );
        let at = pack.offset_of(2);
        let tail = pack.split_off(at, 2);
        assert_eq!(texts(&tail), [b"c".to_vec(), b"d".to_vec()]);
        assert_eq!(pack.len(), 2);
        pack.append(tail);
        assert_eq!(pack.retain(|e| e != Elem::Str(b"c")), 1);
        assert_eq!(
            texts(&pack),
            [b"z".to_vec(), vec![b'q'; 300], b"d".to_vec()]
        );
    }
}
