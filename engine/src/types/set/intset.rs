//! The `intset` encoding: sorted distinct integers packed at one width
//! (2, 4 or 8 bytes), the narrowest that holds every member. The width
//! grows when a wider integer arrives and never shrinks, as Redis's.
//!
//! Layout: one header byte holding the width, then the integers in
//! ascending order, little-endian. An empty intset is an empty buffer.

use super::packed::PackedBytes;

const HEADER: usize = 1;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct IntSet {
    buf: PackedBytes,
}

/// The narrowest width (in bytes) that holds `v`.
fn width_of(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

fn encode(v: i64, width: usize) -> [u8; 8] {
    let mut out = [0; 8];
    out[..width].copy_from_slice(&v.to_le_bytes()[..width]);
    out
}

fn decode(bytes: &[u8]) -> i64 {
    match bytes.len() {
        2 => i64::from(i16::from_le_bytes([bytes[0], bytes[1]])),
        4 => i64::from(i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        _ => {
            let mut raw = [0; 8];
            raw.copy_from_slice(bytes);
            i64::from_le_bytes(raw)
        }
    }
}

impl IntSet {
    fn width(&self) -> usize {
        self.buf.as_slice().first().map_or(2, |&w| usize::from(w))
    }

    fn body(&self) -> &[u8] {
        self.buf.as_slice().get(HEADER..).unwrap_or_default()
    }

    pub(super) fn len(&self) -> usize {
        self.body().len() / self.width()
    }

    /// The member at `index` in ascending order.
    pub(super) fn get(&self, index: usize) -> i64 {
        let width = self.width();
        decode(&self.body()[index * width..(index + 1) * width])
    }

    /// Binary search: `Ok(index)` when present, `Err(insertion point)`.
    fn search(&self, v: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid).cmp(&v) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    pub(super) fn contains(&self, v: i64) -> bool {
        width_of(v) <= self.width() && self.search(v).is_ok()
    }

    /// Adds `v`; false if it was already a member.
    pub(super) fn insert(&mut self, v: i64) -> bool {
        if self.buf.len() == 0 {
            let width = width_of(v);
            let mut bytes = vec![width as u8];
            bytes.extend_from_slice(&encode(v, width)[..width]);
            self.buf = PackedBytes::from_vec(bytes);
            return true;
        }
        if width_of(v) > self.width() {
            self.upgrade_and_insert(v);
            return true;
        }
        match self.search(v) {
            Ok(_) => false,
            Err(index) => {
                let width = self.width();
                let at = HEADER + index * width;
                self.buf.splice(at..at, &encode(v, width)[..width]);
                true
            }
        }
    }

    /// Re-encodes every member at the width `v` needs, and adds `v`. Being
    /// wider than every member, it is either below or above all of them.
    fn upgrade_and_insert(&mut self, v: i64) {
        let width = width_of(v);
        let mut bytes = Vec::with_capacity(HEADER + (self.len() + 1) * width);
        bytes.push(width as u8);
        if v < 0 {
            bytes.extend_from_slice(&encode(v, width)[..width]);
        }
        for member in self.iter() {
            bytes.extend_from_slice(&encode(member, width)[..width]);
        }
        if v >= 0 {
            bytes.extend_from_slice(&encode(v, width)[..width]);
        }
        self.buf = PackedBytes::from_vec(bytes);
    }

    /// Removes `v`; false if it was not a member.
    pub(super) fn remove(&mut self, v: i64) -> bool {
        if width_of(v) > self.width() {
            return false;
        }
        match self.search(v) {
            Ok(index) => {
                let width = self.width();
                let at = HEADER + index * width;
                self.buf.splice(at..at + width, &[]);
                true
            }
            Err(_) => false,
        }
    }

    /// The members in ascending order.
    pub(super) fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.body().chunks_exact(self.width()).map(decode)
    }

    pub(super) fn min(&self) -> Option<i64> {
        (self.len() > 0).then(|| self.get(0))
    }

    pub(super) fn max(&self) -> Option<i64> {
        self.len().checked_sub(1).map(|last| self.get(last))
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.buf.heap_bytes()
    }

    /// Bytes of the encoding itself (header and members).
    #[cfg(test)]
    pub(super) fn encoded_bytes(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn width_grows_with_the_widest_member_and_order_is_kept() {
        let mut s = IntSet::default();
        assert!(s.insert(5) && s.insert(-3) && !s.insert(5));
        assert_eq!((s.width(), s.len()), (2, 2));
        assert!(s.insert(100_000));
        assert_eq!(s.width(), 4);
        assert!(s.insert(i64::MIN));
        assert_eq!(s.width(), 8);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![i64::MIN, -3, 5, 100_000]);
        assert!(!s.contains(1 << 40) && s.contains(i64::MIN));
        assert!(s.remove(i64::MIN) && !s.remove(i64::MIN));
        assert_eq!(s.width(), 8, "the width never shrinks");
        assert_eq!((s.min(), s.max()), (Some(-3), Some(100_000)));
    }

    #[test]
    fn ten_small_members_need_no_heap() {
        let mut s = IntSet::default();
        for v in 0..10 {
            s.insert(v);
        }
        assert_eq!((s.encoded_bytes(), s.heap_bytes()), (21, 0));
        s.insert(10);
        assert_eq!(s.heap_bytes(), 23);
    }

    proptest! {
        #[test]
        fn behaves_as_a_sorted_set(ops in proptest::collection::vec(
            (any::<bool>(), prop_oneof![-300i64..300, any::<i64>(), -70_000i64..70_000]), 0..200)
        ) {
            let mut s = IntSet::default();
            let mut model = BTreeSet::new();
            for (add, v) in ops {
                if add {
                    prop_assert_eq!(s.insert(v), model.insert(v));
                } else {
                    prop_assert_eq!(s.remove(v), model.remove(&v));
                }
                prop_assert_eq!(s.len(), model.len());
            }
            prop_assert!(s.iter().eq(model.iter().copied()));
            for v in &model {
                prop_assert!(s.contains(*v));
            }
        }
    }
}
