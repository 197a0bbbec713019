//! What the compact-blob codecs (listpack, ziplist, intset, zipmap) share:
//! the element type they decode to and a bounds-checked cursor. Their
//! errors are plain messages; the caller adds the blob's offset.

/// A blob codec's error message.
pub(crate) type BlobResult<T> = Result<T, String>;

/// One element of a compact blob: packed as an integer or as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Elem<'_> {
    pub(crate) fn to_vec(self) -> Vec<u8> {
        match self {
            Elem::Int(n) => crate::util::fmt_i64(n),
            Elem::Bytes(b) => b.to_vec(),
        }
    }
}

/// Reads a blob front to back, failing instead of reading past its end.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Cursor<'a> {
        Cursor { data, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(crate) fn take(&mut self, n: usize) -> BlobResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(format!(
                "needs {n} bytes at {} but only {} remain",
                self.pos,
                self.remaining()
            ));
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> BlobResult<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn peek(&self) -> BlobResult<u8> {
        self.data
            .get(self.pos)
            .copied()
            .ok_or_else(|| format!("unexpected end at {}", self.pos))
    }

    /// An unsigned little-endian integer of `n` (at most 8) bytes.
    pub(crate) fn uint_le(&mut self, n: usize) -> BlobResult<u64> {
        let bytes = self.take(n)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// A signed little-endian integer of `n` (1 to 8) bytes, sign-extended.
    pub(crate) fn int_le(&mut self, n: usize) -> BlobResult<i64> {
        let raw = self.uint_le(n)?;
        let shift = 64 - 8 * n as u32;
        Ok(((raw << shift) as i64) >> shift)
    }
}

/// A length from a blob header as usize, refusing what cannot fit.
pub(crate) fn to_usize(n: u64) -> BlobResult<usize> {
    usize::try_from(n).map_err(|_| format!("length {n} out of range"))
}
