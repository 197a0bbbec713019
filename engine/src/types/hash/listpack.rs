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
//! | `0xF9`        | a field sharing a prefix with the previous field: one   |
//! |               | byte `shared << 4 \| suffix length`, then the suffix     |
//! | `0xFA`        | the same with both lengths as varints                   |
//!
//! A string is stored as an integer exactly when it is the canonical
//! decimal form of an `i64` (what Redis's `string2ll` accepts), so the
//! integer prints back to the same bytes, and a lookup for a canonical
//! integer only needs to look at integer items.
//!
//! Fields are front-coded: a field that starts like the field before it
//! (`field1` after `field0`) stores only the length of the shared prefix
//! and the rest, when that is shorter. Values are always stored whole, so
//! a value is read (and replaced) in place. Small items cost one byte of
//! overhead, against two or three in Redis's listpack.

use super::{Item, Pair};
use crate::util::parse_i64;
use rand_chacha::rand_core::RngCore;
use std::borrow::Cow;

const MAX_SHORT_STRING: u8 = 0xBF;
const SMALL_INT: u8 = 0xC0;
const SMALL_INT_MAX: i64 = 0xEF - 0xC0;
const WIDE_INT: u8 = 0xF0;
const WIDE_INT_LAST: u8 = 0xF7;
const LONG_STRING: u8 = 0xF8;
const PREFIXED_PACKED: u8 = 0xF9;
const PREFIXED: u8 = 0xFA;
/// Largest shared prefix and suffix of a packed prefixed field (a nibble each).
const NIBBLE_MAX: usize = 0xF;

/// Fields and values alternating in one buffer.
#[derive(Debug, Clone, Default)]
pub struct Listpack {
    buf: Box<[u8]>,
    /// Number of field-value pairs.
    pairs: u32,
}

/// What a lookup compares fields with: a canonical integer is only ever
/// stored as an integer item, any other string only as text.
enum Probe<'a> {
    Int(i64),
    Text(&'a [u8]),
}

impl<'a> Probe<'a> {
    fn of(text: &'a [u8]) -> Probe<'a> {
        match parse_i64(text) {
            Some(n) => Probe::Int(n),
            None => Probe::Text(text),
        }
    }

    fn matches(&self, field: &FieldRead) -> bool {
        match self {
            Probe::Int(n) => field.int == Some(*n),
            Probe::Text(text) => field.int.is_none() && field.text == *text,
        }
    }
}

/// Bytes needed to store a signed integer in two's complement.
fn int_width(n: i64) -> usize {
    (1..8)
        .find(|&w| {
            let bound = 1i64 << (8 * w as u32 - 1);
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

/// Bytes `text` takes once encoded whole (a field may take fewer).
pub fn encoded_len(text: &[u8]) -> usize {
    match parse_i64(text) {
        Some(n) if (0..=SMALL_INT_MAX).contains(&n) => 1,
        Some(n) => 1 + int_width(n),
        None if text.len() <= usize::from(MAX_SHORT_STRING) => 1 + text.len(),
        None => 1 + varint_len(text.len()) + text.len(),
    }
}

/// Encodes `text` whole.
fn encode(out: &mut Vec<u8>, text: &[u8]) {
    match parse_i64(text) {
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

/// Encodes a field that follows a field whose text is `previous`: as a
/// shared prefix and a suffix when that is shorter than the field whole.
fn encode_field(out: &mut Vec<u8>, field: &[u8], previous: &[u8]) {
    let whole = encoded_len(field);
    let shared = field
        .iter()
        .zip(previous)
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = &field[shared..];
    let packed = (shared <= NIBBLE_MAX && suffix.len() <= NIBBLE_MAX).then_some(2 + suffix.len());
    let wide = 1 + varint_len(shared) + varint_len(suffix.len()) + suffix.len();
    let prefixed = packed.unwrap_or(usize::MAX).min(wide);
    if parse_i64(field).is_some() || shared == 0 || whole <= prefixed {
        encode(out, field);
    } else if packed == Some(prefixed) {
        out.push(PREFIXED_PACKED);
        out.push((shared << 4 | suffix.len()) as u8);
        out.extend_from_slice(suffix);
    } else {
        out.push(PREFIXED);
        put_varint(out, shared);
        put_varint(out, suffix.len());
        out.extend_from_slice(suffix);
    }
}

/// The item at `pos` (never a prefixed field) and the position after it.
/// `pos` is always an item boundary of a buffer this module wrote.
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
        _ => unreachable!("header {header:#x} where a whole item was written"),
    }
}

/// A field as coded in the buffer.
enum FieldCode<'a> {
    Whole(Item<'a>),
    /// The first `shared` bytes of the previous field, then `suffix`.
    Prefixed {
        shared: usize,
        suffix: &'a [u8],
    },
}

/// The field at `pos`, as coded, and the position after it.
fn field_code(buf: &[u8], pos: usize) -> (FieldCode<'_>, usize) {
    let (shared, suffix_len, start) = match buf[pos] {
        PREFIXED_PACKED => {
            let lengths = usize::from(buf[pos + 1]);
            (lengths >> 4, lengths & NIBBLE_MAX, pos + 2)
        }
        PREFIXED => {
            let (shared, next) = get_varint(buf, pos + 1);
            let (suffix_len, start) = get_varint(buf, next);
            (shared, suffix_len, start)
        }
        _ => {
            let (item, end) = decode(buf, pos);
            return (FieldCode::Whole(item), end);
        }
    };
    let end = start + suffix_len;
    let suffix = &buf[start..end];
    (FieldCode::Prefixed { shared, suffix }, end)
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// A field as read: its text, and its value when stored as an integer.
#[derive(Default)]
struct FieldRead {
    text: Vec<u8>,
    int: Option<i64>,
}

/// Reads the field at `pos` into `out`, given the previous field's text;
/// returns the position after it.
fn read_field(buf: &[u8], pos: usize, previous: &[u8], out: &mut FieldRead) -> usize {
    let (code, end) = field_code(buf, pos);
    out.text.clear();
    out.int = None;
    match code {
        FieldCode::Whole(Item::Bytes(text)) => out.text.extend_from_slice(text),
        FieldCode::Whole(Item::Int(n)) => {
            out.text
                .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.int = Some(n);
        }
        FieldCode::Prefixed { shared, suffix } => {
            out.text.extend_from_slice(&previous[..shared]);
            out.text.extend_from_slice(suffix);
        }
    }
    end
}

/// Finds the pair of `field` without rebuilding any field: for a text
/// probe it tracks how many leading bytes the field just read shares with
/// the probe, which tells whether a prefixed field can still match.
fn locate<'a>(buf: &'a [u8], field: &[u8]) -> Option<(Span, Item<'a>)> {
    let probe = Probe::of(field);
    // Bytes the previous field shares with the probe (text probes only).
    let mut matched = 0;
    let mut pos = 0;
    while pos < buf.len() {
        let (code, value_at) = field_code(buf, pos);
        let (value, end) = decode(buf, value_at);
        let hit = match (&probe, code) {
            (Probe::Int(n), FieldCode::Whole(Item::Int(m))) => *n == m,
            (Probe::Int(_), _) => false,
            (Probe::Text(text), code) => {
                let (hit, now) = text_match(text, code, matched);
                matched = now;
                hit
            }
        };
        if hit {
            let span = Span {
                field_at: pos,
                value_at,
                end,
            };
            return Some((span, value));
        }
        pos = end;
    }
    None
}

/// Whether a field equals `probe`, and how many leading bytes they share,
/// given the bytes the previous field shared with it (`matched`).
fn text_match(probe: &[u8], code: FieldCode, matched: usize) -> (bool, usize) {
    match code {
        FieldCode::Whole(Item::Bytes(text)) => (text == probe, common_prefix(text, probe)),
        FieldCode::Whole(Item::Int(n)) => {
            let mut digits = itoa::Buffer::new();
            (false, common_prefix(digits.format(n).as_bytes(), probe))
        }
        // The previous field parts from the probe before `shared`: so does
        // this one, at the same place.
        FieldCode::Prefixed { shared, .. } if shared > matched => (false, matched),
        FieldCode::Prefixed { shared, suffix } => {
            let now = shared + common_prefix(suffix, &probe[shared..]);
            (
                now == probe.len() && shared + suffix.len() == probe.len(),
                now,
            )
        }
    }
}

/// Where a pair sits in the buffer.
struct Span {
    field_at: usize,
    value_at: usize,
    end: usize,
}

/// Walks the pairs in order, keeping the text of the field just read and
/// of the one before (a prefixed field needs its predecessor's).
struct Walker<'a> {
    buf: &'a [u8],
    pos: usize,
    field: FieldRead,
    previous: FieldRead,
}

impl<'a> Walker<'a> {
    fn new(buf: &'a [u8]) -> Walker<'a> {
        Walker {
            buf,
            pos: 0,
            field: FieldRead::default(),
            previous: FieldRead::default(),
        }
    }

    /// Reads the next pair: its field is then in `self.field`.
    fn next_pair(&mut self) -> Option<(Span, Item<'a>)> {
        if self.pos >= self.buf.len() {
            return None;
        }
        std::mem::swap(&mut self.field, &mut self.previous);
        let field_at = self.pos;
        let value_at = read_field(self.buf, field_at, &self.previous.text, &mut self.field);
        let (value, end) = decode(self.buf, value_at);
        self.pos = end;
        let span = Span {
            field_at,
            value_at,
            end,
        };
        Some((span, value))
    }

    /// Walks up to the pair of `field`; None (with the last field read in
    /// `self.field`) when it is not there.
    fn find(&mut self, field: &[u8]) -> Option<(Span, Item<'a>)> {
        let probe = Probe::of(field);
        while let Some((span, value)) = self.next_pair() {
            if probe.matches(&self.field) {
                return Some((span, value));
            }
        }
        None
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

    pub fn get(&self, field: &[u8]) -> Option<Item<'_>> {
        locate(&self.buf, field).map(|(_, value)| value)
    }

    /// Sets `field` to `value`: a new field goes at the end, an existing
    /// one keeps its place. True if the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some((span, _)) = locate(&self.buf, field) {
            let mut encoded = Vec::with_capacity(encoded_len(value));
            encode(&mut encoded, value);
            self.splice(span.value_at..span.end, &encoded);
            return false;
        }
        // The new field is coded against the last one.
        let mut walker = Walker::new(&self.buf);
        while walker.next_pair().is_some() {}
        let mut tail = Vec::with_capacity(encoded_len(field) + encoded_len(value));
        encode_field(&mut tail, field, &walker.field.text);
        encode(&mut tail, value);
        self.append(&tail);
        true
    }

    fn append(&mut self, tail: &[u8]) {
        let mut buf = std::mem::take(&mut self.buf).into_vec();
        // Exactly the room needed: the buffer never holds spare capacity.
        buf.reserve_exact(tail.len());
        buf.extend_from_slice(tail);
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

    /// Removes `field`; true if it was there. The field after it, which
    /// may be coded against the removed one, is coded again against the
    /// one before.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let mut walker = Walker::new(&self.buf);
        let Some((span, _)) = walker.find(field) else {
            return false;
        };
        let mut replacement = Vec::new();
        let mut end = span.end;
        if end < self.buf.len() {
            let mut next = FieldRead::default();
            end = read_field(&self.buf, end, &walker.field.text, &mut next);
            encode_field(&mut replacement, &next.text, &walker.previous.text);
        }
        self.splice(span.field_at..end, &replacement);
        self.pairs -= 1;
        true
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            walker: Walker::new(&self.buf),
        }
    }

    /// One pair drawn uniformly, or None when empty.
    pub fn random_pair(&self, rng: &mut impl RngCore) -> Option<Pair<'_>> {
        if self.pairs == 0 {
            return None;
        }
        let nth = rng.next_u64() % u64::from(self.pairs);
        self.iter().nth(nth as usize)
    }

    /// `count` pairs drawn uniformly, with repetition.
    pub fn random_pairs(&self, count: usize, rng: &mut impl RngCore) -> Vec<Pair<'_>> {
        let all: Vec<Pair> = self.iter().collect();
        if all.is_empty() {
            return Vec::new();
        }
        (0..count)
            .map(|_| all[(rng.next_u64() % all.len() as u64) as usize].clone())
            .collect()
    }

    /// `count` distinct pairs (all of them if there are fewer), drawn
    /// uniformly, in the order they are stored (selection sampling).
    pub fn distinct_random_pairs(&self, count: usize, rng: &mut impl RngCore) -> Vec<Pair<'_>> {
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

/// The pairs of a listpack, in order; fields are rebuilt, values borrowed.
pub struct Iter<'a> {
    walker: Walker<'a>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Pair<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let (_, value) = self.walker.next_pair()?;
        Some((Cow::Owned(self.walker.field.text.clone()), value))
    }
}

#[cfg(test)]
mod tests;
