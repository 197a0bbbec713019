//! The `listpack` encoding of a small set: its members one after the
//! other in one buffer, in insertion order, found by a linear scan.
//!
//! Layout: the member count (4 bytes, little-endian), then each member as
//! its length (LEB128 varint) followed by its bytes. An empty listpack is
//! an empty buffer.

use super::packed::PackedBytes;
use std::ops::Range;

const HEADER: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Listpack {
    buf: PackedBytes,
}

fn push_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a varint at the front of `bytes`: (value, bytes it took). The
/// buffer is only ever written by [`Listpack::push`], so it is complete.
fn read_varint(bytes: &[u8]) -> (usize, usize) {
    let mut value = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        value |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (value, i + 1);
        }
    }
    (value, bytes.len())
}

/// The bytes one member takes in the buffer.
pub(super) fn entry_size(member_len: usize) -> usize {
    let mut header = Vec::with_capacity(10);
    push_varint(&mut header, member_len);
    header.len() + member_len
}

/// Walks the entries: each member with the byte range of its entry.
struct Entries<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = (&'a [u8], Range<usize>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.body.len() {
            return None;
        }
        let start = self.at;
        let (len, took) = read_varint(&self.body[start..]);
        let data = (start + took).min(self.body.len());
        self.at = data.saturating_add(len).min(self.body.len());
        Some((&self.body[data..self.at], start..self.at))
    }
}

impl Listpack {
    fn body(&self) -> &[u8] {
        self.buf.as_slice().get(HEADER..).unwrap_or_default()
    }

    fn entries(&self) -> Entries<'_> {
        Entries {
            body: self.body(),
            at: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        match self.buf.as_slice().get(..HEADER) {
            Some(count) => u32::from_le_bytes([count[0], count[1], count[2], count[3]]) as usize,
            None => 0,
        }
    }

    fn set_len(&mut self, len: usize) {
        let count = u32::try_from(len).expect("listpack sizes are bounded far below 2^32");
        self.buf.as_mut_slice()[..HEADER].copy_from_slice(&count.to_le_bytes());
    }

    /// The members in insertion order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.entries().map(|(member, _)| member)
    }

    fn find(&self, member: &[u8]) -> Option<Range<usize>> {
        self.entries()
            .find(|(m, _)| *m == member)
            .map(|(_, range)| range)
    }

    pub(super) fn contains(&self, member: &[u8]) -> bool {
        self.find(member).is_some()
    }

    /// Appends a member known to be absent.
    pub(super) fn push(&mut self, member: &[u8]) {
        let len = self.len();
        let mut entry = Vec::with_capacity(entry_size(member.len()));
        push_varint(&mut entry, member.len());
        entry.extend_from_slice(member);
        if self.buf.len() == 0 {
            let mut bytes = vec![0; HEADER];
            bytes.extend_from_slice(&entry);
            self.buf = PackedBytes::from_vec(bytes);
        } else {
            let end = self.buf.len();
            self.buf.splice(end..end, &entry);
        }
        self.set_len(len + 1);
    }

    /// Removes `member`; false if it was not there.
    pub(super) fn remove(&mut self, member: &[u8]) -> bool {
        let Some(range) = self.find(member) else {
            return false;
        };
        let len = self.len();
        self.buf
            .splice(HEADER + range.start..HEADER + range.end, &[]);
        self.set_len(len - 1);
        true
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.buf.heap_bytes()
    }

    /// Bytes of the encoding itself (header and entries).
    pub(super) fn encoded_bytes(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_insertion_order_and_removes_anywhere() {
        let mut lp = Listpack::default();
        for m in [&b"b"[..], b"", b"a", &[b'x'; 300]] {
            assert!(!lp.contains(m));
            lp.push(m);
        }
        assert_eq!(lp.len(), 4);
        assert!(lp.contains(b"") && lp.contains(&[b'x'; 300]));
        assert!(lp.remove(b"") && !lp.remove(b""));
        let members: Vec<&[u8]> = lp.iter().collect();
        assert_eq!(members, vec![&b"b"[..], b"a", &[b'x'; 300]]);
        assert_eq!(lp.encoded_bytes(), 4 + 2 + 2 + 302);
        assert_eq!(entry_size(127), 128);
        assert_eq!(entry_size(128), 130);
    }

    proptest! {
        #[test]
        fn behaves_as_an_ordered_list_of_distinct_members(ops in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..3)), 0..100)
        ) {
            let mut lp = Listpack::default();
            let mut model: Vec<Vec<u8>> = Vec::new();
            for (add, m) in ops {
                let at = model.iter().position(|x| *x == m);
                if add && at.is_none() {
                    lp.push(&m);
                    model.push(m);
                } else if !add {
                    prop_assert_eq!(lp.remove(&m), at.is_some());
                    if let Some(i) = at { model.remove(i); }
                }
                prop_assert_eq!(lp.len(), model.len());
            }
            prop_assert!(lp.iter().eq(model.iter().map(Vec::as_slice)));
        }
    }
}
