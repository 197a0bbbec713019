//! A member's bytes as the big encoding stores them: short members (most
//! real ones: ids, names, keys) inline in the slot, longer ones in a heap
//! allocation of their exact size. Inline storage saves an allocation and
//! its allocator overhead per member, which is most of the memory a
//! sorted set of short members would otherwise take.

/// Longest member kept inline: what fits beside the length byte in the
/// 24 bytes a boxed slice takes anyway.
pub(super) const INLINE_MAX: usize = 22;

#[derive(Clone)]
pub(super) enum Member {
    Inline(u8, [u8; INLINE_MAX]),
    Heap(Box<[u8]>),
}

impl Member {
    pub(super) fn new(bytes: &[u8]) -> Member {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= INLINE_MAX => {
                let mut buf = [0u8; INLINE_MAX];
                buf[..bytes.len()].copy_from_slice(bytes);
                Member::Inline(len, buf)
            }
            _ => Member::Heap(bytes.into()),
        }
    }

    /// The empty member, also what a vacant slot holds.
    pub(super) const EMPTY: Member = Member::Inline(0, [0; INLINE_MAX]);

    pub(super) fn bytes(&self) -> &[u8] {
        match self {
            Member::Inline(len, buf) => &buf[..usize::from(*len)],
            Member::Heap(b) => b,
        }
    }

    /// Bytes allocated outside the slot (for memory accounting).
    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            Member::Inline(..) => 0,
            Member::Heap(b) => b.len(),
        }
    }
}

/// Where the members of slot ids are read (the slab of the big encoding):
/// the tree and the hash index hold ids, and compare members through this.
pub(super) trait MemberOf {
    fn member_of(&self, id: u32) -> &[u8];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_takes_24_bytes_and_short_ones_stay_inline() {
        assert_eq!(std::mem::size_of::<Member>(), 24);
        for len in [0, 1, INLINE_MAX, INLINE_MAX + 1, 300] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let m = Member::new(&bytes);
            assert_eq!(m.bytes(), &bytes[..]);
            assert_eq!(m.heap_bytes() == 0, len <= INLINE_MAX);
        }
    }
}
