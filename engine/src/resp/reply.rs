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
