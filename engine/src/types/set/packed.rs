//! The byte buffer behind the compact encodings (intset and listpack):
//! exactly as long as its contents, and kept inside the value itself while
//! it is short, so that a small set costs no heap allocation at all.

/// Contents up to this many bytes are stored inline. The enum is then 24
/// bytes, the same as a boxed slice with its tag.
const INLINE_CAPACITY: usize = 22;

/// An immutable-length byte buffer, rebuilt whole on every change (as
/// Redis reallocates its intsets and listpacks on every insert).
#[derive(Clone, PartialEq, Eq)]
pub(super) enum PackedBytes {
    Inline {
        len: u8,
        data: [u8; INLINE_CAPACITY],
    },
    Heap(Box<[u8]>),
}

impl Default for PackedBytes {
    fn default() -> Self {
        PackedBytes::Inline {
            len: 0,
            data: [0; INLINE_CAPACITY],
        }
    }
}

impl std::fmt::Debug for PackedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PackedBytes({:?})", self.as_slice())
    }
}

impl PackedBytes {
    /// A buffer holding exactly `bytes`.
    pub(super) fn from_slice(bytes: &[u8]) -> Self {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= INLINE_CAPACITY => {
                let mut data = [0; INLINE_CAPACITY];
                data[..bytes.len()].copy_from_slice(bytes);
                PackedBytes::Inline { len, data }
            }
            _ => PackedBytes::Heap(bytes.into()),
        }
    }

    /// A buffer taking over `bytes` (no copy when it stays on the heap).
    pub(super) fn from_vec(bytes: Vec<u8>) -> Self {
        if bytes.len() <= INLINE_CAPACITY {
            Self::from_slice(&bytes)
        } else {
            PackedBytes::Heap(bytes.into_boxed_slice())
        }
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        match self {
            PackedBytes::Inline { len, data } => &data[..usize::from(*len)],
            PackedBytes::Heap(bytes) => bytes,
        }
    }

    pub(super) fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            PackedBytes::Inline { len, data } => &mut data[..usize::from(*len)],
            PackedBytes::Heap(bytes) => bytes,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Heap bytes held (0 while inline).
    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            PackedBytes::Inline { .. } => 0,
            PackedBytes::Heap(bytes) => bytes.len(),
        }
    }

    /// Replaces `range` with `with`: one allocation of the exact new size.
    pub(super) fn splice(&mut self, range: std::ops::Range<usize>, with: &[u8]) {
        let old = self.as_slice();
        let new_len = old.len() - range.len() + with.len();
        let mut bytes = Vec::with_capacity(new_len);
        bytes.extend_from_slice(&old[..range.start]);
        bytes.extend_from_slice(with);
        bytes.extend_from_slice(&old[range.end..]);
        *self = Self::from_vec(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_contents_stay_inline_and_long_ones_move_to_the_heap() {
        let mut b = PackedBytes::from_slice(b"abc");
        assert_eq!((b.as_slice(), b.heap_bytes()), (&b"abc"[..], 0));
        b.splice(1..2, &[b'x'; 20]);
        assert_eq!(b.len(), 22);
        assert_eq!(b.heap_bytes(), 0, "22 bytes still fit inline");
        b.splice(0..0, b"!");
        assert_eq!((b.len(), b.heap_bytes()), (23, 23));
        assert_eq!(&b.as_slice()[..3], b"!ax");
        b.splice(0..20, b"");
        assert_eq!(b.as_slice(), b"xxc");
        assert_eq!(b.heap_bytes(), 0, "back inline once short");
        assert_eq!(std::mem::size_of::<PackedBytes>(), 24);
    }
}
