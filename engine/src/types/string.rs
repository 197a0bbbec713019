//! The string type, with Redis's three encodings: `int`, `embstr`, `raw`.

use bytes::Bytes;
use std::borrow::Cow;

/// Strings up to this length report the `embstr` encoding (Redis's
/// OBJ_ENCODING_EMBSTR_SIZE_LIMIT).
pub const EMBSTR_SIZE_LIMIT: usize = 44;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrValue {
    /// A string that reads as a 64-bit integer (`int` encoding).
    Int(i64),
    /// A string set whole: `embstr` when short, `raw` otherwise.
    Bytes(Bytes),
    /// A string changed in place (APPEND, SETRANGE): always `raw`.
    Raw(Vec<u8>),
}

impl StrValue {
    /// The encoding Redis would choose for a string set whole by SET.
    pub fn from_bytes(data: &[u8]) -> StrValue {
        if data.len() <= 20 {
            if let Some(n) = crate::util::parse_i64(data) {
                return StrValue::Int(n);
            }
        }
        StrValue::Bytes(Bytes::copy_from_slice(data))
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            StrValue::Int(_) => "int",
            StrValue::Bytes(b) if b.len() <= EMBSTR_SIZE_LIMIT => "embstr",
            StrValue::Bytes(_) | StrValue::Raw(_) => "raw",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(n) => itoa::Buffer::new().format(*n).len(),
            StrValue::Bytes(b) => b.len(),
            StrValue::Raw(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The string's bytes (formats integers).
    pub fn to_bytes(&self) -> Bytes {
        match self {
            StrValue::Int(n) => Bytes::copy_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            StrValue::Bytes(b) => b.clone(),
            StrValue::Raw(v) => Bytes::copy_from_slice(v),
        }
    }

    /// The string's bytes without copying, unless the value is an integer.
    pub fn as_cow(&self) -> Cow<'_, [u8]> {
        match self {
            StrValue::Int(n) => Cow::Owned(crate::util::fmt_i64(*n)),
            StrValue::Bytes(b) => Cow::Borrowed(b),
            StrValue::Raw(v) => Cow::Borrowed(v),
        }
    }

    /// The string as an integer, if it is one (Redis's `getLongLongFromObject`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StrValue::Int(n) => Some(*n),
            StrValue::Bytes(b) => crate::util::parse_i64(b),
            StrValue::Raw(v) => crate::util::parse_i64(v),
        }
    }

    /// A mutable byte vector, converting to the `raw` encoding.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, StrValue::Raw(_)) {
            *self = StrValue::Raw(self.to_bytes().to_vec());
        }
        match self {
            StrValue::Raw(v) => v,
            _ => unreachable!("just converted to raw"),
        }
    }

    pub fn mem_usage(&self) -> usize {
        match self {
            StrValue::Int(_) => 0,
            StrValue::Bytes(b) => b.len(),
            StrValue::Raw(v) => v.capacity(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(StrValue::from_bytes(b"123").encoding_name(), "int");
        assert_eq!(StrValue::from_bytes(b"0123").encoding_name(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 44]).encoding_name(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 45]).encoding_name(), "raw");
        let mut s = StrValue::from_bytes(b"12");
        s.make_raw().push(b'3');
        assert_eq!(s.encoding_name(), "raw");
        assert_eq!(s.to_bytes(), Bytes::from("123"));
    }
}
