//! Reading RDB primitives from a byte slice: lengths, strings (raw,
//! integer-encoded, LZF-compressed), doubles. Every read checks the bytes
//! are there and reports the offset where it failed.

use super::RdbError;
use std::borrow::Cow;

/// Special string encodings (a length whose top two bits are `11`).
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// LZF expands at most 264 bytes out of a 3-byte back reference; a raw
/// length beyond this ratio is a lie and is refused before allocating.
const LZF_MAX_RATIO: u64 = 90;

/// Collections preallocate at most this many elements whatever the file
/// says; they grow as elements actually arrive.
pub(crate) const PREALLOC_CAP: usize = 1024;

/// A string as the file stores it: an integer encoding gives the integer
/// (no text is made only to be parsed back), a plain string borrows the
/// input, a compressed one is expanded.
pub(crate) enum Stored<'a> {
    Int(i64),
    Bytes(Cow<'a, [u8]>),
}

/// A length or, with the `11` prefix, a special string encoding.
pub(crate) enum Len {
    Plain(u64),
    Special(u8),
}

pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn data(&self) -> &'a [u8] {
        self.data
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(crate) fn err(&self, message: impl Into<String>) -> RdbError {
        RdbError::new(self.pos as u64, message)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        if n > self.remaining() {
            return Err(self.short_of(n));
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// The error for `n` bytes needed past the end: kept out of line, so
    /// the reads every key makes stay small.
    #[cold]
    #[inline(never)]
    fn short_of(&self, n: usize) -> RdbError {
        self.err(format!(
            "unexpected end of data: {n} bytes needed, {} left",
            self.remaining()
        ))
    }

    pub(crate) fn u8(&mut self) -> Result<u8, RdbError> {
        let Some(&byte) = self.data.get(self.pos) else {
            return Err(self.short_of(1));
        };
        self.pos += 1;
        Ok(byte)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u32_le(&mut self) -> Result<u32, RdbError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64_le(&mut self) -> Result<u64, RdbError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn len_or_special(&mut self) -> Result<Len, RdbError> {
        let first = self.u8()?;
        let low = first & 0x3F;
        match first >> 6 {
            0 => Ok(Len::Plain(u64::from(low))),
            1 => Ok(Len::Plain((u64::from(low) << 8) | u64::from(self.u8()?))),
            3 => Ok(Len::Special(low)),
            _ => match first {
                0x80 => Ok(Len::Plain(u64::from(u32::from_be_bytes(self.array()?)))),
                0x81 => Ok(Len::Plain(u64::from_be_bytes(self.array()?))),
                _ => Err(RdbError::new(
                    self.pos as u64 - 1,
                    format!("unknown length encoding 0x{first:02x}"),
                )),
            },
        }
    }

    pub(crate) fn length(&mut self) -> Result<u64, RdbError> {
        let at = self.pos;
        match self.len_or_special()? {
            Len::Plain(n) => Ok(n),
            Len::Special(_) => Err(RdbError::new(
                at as u64,
                "a string encoding where a length was expected",
            )),
        }
    }

    /// A length that counts bytes still to read: larger than the rest of
    /// the input is corrupt, so it is refused before any allocation.
    pub(crate) fn byte_length(&mut self) -> Result<usize, RdbError> {
        let at = self.pos;
        let n = self.length()?;
        self.within_rest(at, n)
    }

    /// `n`, a length read at `at`, if that many bytes are left.
    fn within_rest(&self, at: usize, n: u64) -> Result<usize, RdbError> {
        match usize::try_from(n) {
            Ok(n) if n <= self.remaining() => Ok(n),
            _ => Err(self.beyond_rest(at, n)),
        }
    }

    #[cold]
    #[inline(never)]
    fn beyond_rest(&self, at: usize, n: u64) -> RdbError {
        RdbError::new(
            at as u64,
            format!(
                "length {n} exceeds the {} bytes left in the input",
                self.remaining()
            ),
        )
    }

    pub(crate) fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        Ok(self.string_ref()?.into_owned())
    }

    /// A string, borrowed from the input when it is stored plainly.
    pub(crate) fn string_ref(&mut self) -> Result<Cow<'a, [u8]>, RdbError> {
        Ok(match self.stored_string()? {
            Stored::Int(n) => Cow::Owned(crate::util::fmt_i64(n)),
            Stored::Bytes(bytes) => bytes,
        })
    }

    pub(crate) fn stored_string(&mut self) -> Result<Stored<'a>, RdbError> {
        let at = self.pos;
        match self.len_or_special()? {
            Len::Plain(n) => {
                let n = self.within_rest(at, n)?;
                Ok(Stored::Bytes(Cow::Borrowed(self.take(n)?)))
            }
            Len::Special(ENC_INT8) => Ok(Stored::Int(i64::from(self.u8()? as i8))),
            Len::Special(ENC_INT16) => {
                Ok(Stored::Int(i64::from(i16::from_le_bytes(self.array()?))))
            }
            Len::Special(ENC_INT32) => {
                Ok(Stored::Int(i64::from(i32::from_le_bytes(self.array()?))))
            }
            Len::Special(ENC_LZF) => Ok(Stored::Bytes(Cow::Owned(self.lzf_string()?))),
            Len::Special(other) => Err(RdbError::new(
                at as u64,
                format!("unknown string encoding {other}"),
            )),
        }
    }

    fn lzf_string(&mut self) -> Result<Vec<u8>, RdbError> {
        let compressed_len = self.byte_length()?;
        let at = self.pos;
        let raw_len = self.length()?;
        if compressed_len == 0 || raw_len > (compressed_len as u64).saturating_mul(LZF_MAX_RATIO) {
            return Err(RdbError::new(
                at as u64,
                format!("LZF string of {compressed_len} bytes cannot expand to {raw_len}"),
            ));
        }
        let data = self.take(compressed_len)?;
        // Bounded by the ratio check above, so this fits in memory.
        let raw_len = raw_len as usize;
        match lzf::decompress(data, raw_len) {
            Ok(out) if out.len() == raw_len => Ok(out),
            _ => Err(RdbError::new(at as u64, "invalid LZF-compressed string")),
        }
    }

    /// ZSET_2's score: 8 bytes, little-endian IEEE 754.
    pub(crate) fn binary_double(&mut self) -> Result<f64, RdbError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// The old ZSET's score: a length byte (253 NaN, 254 +inf, 255 -inf)
    /// then that many ASCII characters.
    pub(crate) fn string_double(&mut self) -> Result<f64, RdbError> {
        let at = self.pos;
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.take(usize::from(n))?;
                parse_score(text).ok_or_else(|| RdbError::new(at as u64, "invalid score"))
            }
        }
    }
}

/// A score written as text (old ZSET type, ziplist and listpack members):
/// C's strtod, infinities included; NaN comes back as NaN for the caller
/// to refuse with its own message.
pub(crate) fn parse_score(text: &[u8]) -> Option<f64> {
    if text.eq_ignore_ascii_case(b"nan") || text.eq_ignore_ascii_case(b"-nan") {
        return Some(f64::NAN);
    }
    crate::util::parse_f64(text)
}
