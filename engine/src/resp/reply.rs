use bytes::Bytes;
use std::borrow::Cow;

/// A reply, independent of the protocol it will be encoded in.
///
/// RESP3-only shapes have a RESP2 fallback, as Redis does: a map becomes a
/// flat array, a set an array, a double a bulk string, a boolean an integer,
/// a verbatim string a bulk string, a push an array.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`: a status line. Must not contain CR or LF.
    Status(Cow<'static, str>),
    /// `-ERR ...`: the full error text including its code (`ERR`, `WRONGTYPE`, ...).
    Error(Cow<'static, str>),
    Int(i64),
    Bulk(Bytes),
    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    Null,
    /// The null array: `*-1` in RESP2, `_` in RESP3.
    NullArray,
    Array(Vec<Reply>),
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Double(f64),
    Bool(bool),
    /// A verbatim string with its three-letter format (`txt`, `mkd`).
    Verbatim(&'static str, Bytes),
    BigNumber(String),
    Push(Vec<Reply>),
    /// An array of bulk strings, already encoded (it is the same in RESP2
    /// and RESP3): long range replies without one `Reply` per element.
    Bulks(BulkArray),
    /// Nothing is sent now: the reply is deferred or suppressed.
    NoReply,
}

impl Reply {
    pub const OK: Reply = Reply::Status(Cow::Borrowed("OK"));

    pub fn ok() -> Reply {
        Reply::OK
    }

    pub fn status(s: &'static str) -> Reply {
        Reply::Status(Cow::Borrowed(s))
    }

    /// An error with a static text, e.g. `Reply::err("ERR syntax error")`.
    pub fn err(s: &'static str) -> Reply {
        Reply::Error(Cow::Borrowed(s))
    }

    /// An error built at run time.
    pub fn error(s: String) -> Reply {
        Reply::Error(Cow::Owned(s))
    }

    pub fn bulk(b: impl Into<Bytes>) -> Reply {
        Reply::Bulk(b.into())
    }

    pub fn bulk_str(s: &str) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Common errors, with Redis's exact text.
    pub fn syntax_error() -> Reply {
        Reply::err("ERR syntax error")
    }

    pub fn wrong_type() -> Reply {
        Reply::err("WRONGTYPE Operation against a key holding the wrong kind of value")
    }

    pub fn not_integer() -> Reply {
        Reply::err("ERR value is not an integer or out of range")
    }

    pub fn not_float() -> Reply {
        Reply::err("ERR value is not a valid float")
    }

    pub fn wrong_arity(name: &str) -> Reply {
        Reply::error(format!(
            "ERR wrong number of arguments for '{}' command",
            name.to_ascii_lowercase()
        ))
    }
}

/// An array of bulk strings encoded as it is built: `$len\r\ntext\r\n`
/// per element, the `*count` header written by the encoder. LRANGE of 100
/// elements is one buffer instead of 100 replies and handles.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BulkArray {
    count: usize,
    body: Vec<u8>,
}

impl BulkArray {
    /// Room for `count` elements of about `typical_len` bytes each.
    pub fn with_capacity(count: usize, typical_len: usize) -> Self {
        let per_element = typical_len.saturating_add(8);
        BulkArray {
            count: 0,
            body: Vec::with_capacity(count.saturating_mul(per_element).min(1 << 20)),
        }
    }

    pub fn push(&mut self, text: &[u8]) {
        let mut digits = itoa::Buffer::new();
        self.body.push(b'$');
        self.body
            .extend_from_slice(digits.format(text.len()).as_bytes());
        self.body.extend_from_slice(b"\r\n");
        self.body.extend_from_slice(text);
        self.body.extend_from_slice(b"\r\n");
        self.count += 1;
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The encoded elements, without the array header.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The elements' texts, in order (for consumers that need them apart,
    /// such as script conversions).
    pub fn texts(&self) -> Vec<&[u8]> {
        let mut texts = Vec::with_capacity(self.count);
        let mut rest = self.body.as_slice();
        while let Some(newline) = rest.iter().position(|&c| c == b'\n') {
            let len: usize = std::str::from_utf8(&rest[1..newline - 1])
                .ok()
                .and_then(|digits| digits.parse().ok())
                .expect("a BulkArray holds only its own encoding");
            let start = newline + 1;
            texts.push(&rest[start..start + len]);
            rest = &rest[start + len + 2..];
        }
        texts
    }

    /// As an ordinary array reply.
    pub fn to_array(&self) -> Reply {
        Reply::Array(
            self.texts()
                .into_iter()
                .map(|t| Reply::Bulk(Bytes::copy_from_slice(t)))
                .collect(),
        )
    }
}

#[cfg(test)]
mod bulk_array_tests {
    use super::*;

    #[test]
    fn texts_read_back_what_was_pushed() {
        let mut a = BulkArray::with_capacity(3, 4);
        for t in [&b"one"[..], b"", b"a\r\nb\n\x00"] {
            a.push(t);
        }
        assert_eq!(a.len(), 3);
        assert_eq!(a.texts(), vec![&b"one"[..], b"", b"a\r\nb\n\x00"]);
        assert_eq!(
            a.to_array(),
            Reply::Array(vec![
                Reply::Bulk(Bytes::from_static(b"one")),
                Reply::Bulk(Bytes::new()),
                Reply::Bulk(Bytes::from_static(b"a\r\nb\n\x00")),
            ])
        );
    }
}
