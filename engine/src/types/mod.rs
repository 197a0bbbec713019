//! Value types. One file per type, as Redis keeps one file per type.

pub mod hash;
pub mod list;
pub mod set;
pub mod string;
pub mod zset;

pub use hash::HashValue;
pub use list::ListValue;
pub use set::SetValue;
pub use string::StrValue;
pub use zset::ZSetValue;

/// A value stored under a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(StrValue),
    List(ListValue),
    Hash(HashValue),
    Set(SetValue),
    ZSet(ZSetValue),
}

impl Value {
    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding_name(),
            Value::List(v) => v.encoding_name(),
            Value::Hash(v) => v.encoding_name(),
            Value::Set(v) => v.encoding_name(),
            Value::ZSet(v) => v.encoding_name(),
        }
    }

    /// An estimate of the heap bytes this value holds (for INFO memory).
    /// Must be O(1): the keyspace measures a value again after every write
    /// access to keep its running total (a type that grows in place keeps
    /// its own byte count).
    pub fn mem_usage(&self) -> usize {
        match self {
            Value::Str(s) => s.mem_usage(),
            Value::List(v) => v.mem_usage(),
            Value::Hash(v) => v.mem_usage(),
            Value::Set(v) => v.mem_usage(),
            Value::ZSet(v) => v.mem_usage(),
        }
    }

    /// Redis's lazy-free effort: 1 for strings and compact encodings, the
    /// number of allocations to free otherwise.
    pub fn free_effort(&self) -> usize {
        match self {
            Value::Str(_) => 1,
            Value::List(v) => v.free_effort(),
            Value::Hash(v) => v.free_effort(),
            Value::Set(v) => v.free_effort(),
            Value::ZSet(v) => v.free_effort(),
        }
    }

    pub fn as_str(&self) -> Option<&StrValue> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The string this value holds, for changing it in place; `None` when
    /// the value is of another type (the caller replies WRONGTYPE).
    pub fn as_str_mut(&mut self) -> Option<&mut StrValue> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_set(&self) -> Option<&SetValue> {
        match self {
            Value::Set(v) => Some(v),
            _ => None,
        }
    }

    /// The set this value holds, for changing it in place; `None` when
    /// the value is of another type (the caller replies WRONGTYPE).
    pub fn as_set_mut(&mut self) -> Option<&mut SetValue> {
        match self {
            Value::Set(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&ListValue> {
        match self {
            Value::List(v) => Some(v),
            _ => None,
        }
    }

    /// The list this value holds, for changing it in place; `None` when
    /// the value is of another type (the caller replies WRONGTYPE).
    pub fn as_list_mut(&mut self) -> Option<&mut ListValue> {
        match self {
            Value::List(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_zset(&self) -> Option<&ZSetValue> {
        match self {
            Value::ZSet(v) => Some(v),
            _ => None,
        }
    }

    /// The sorted set this value holds, for changing it in place; `None` when
    /// the value is of another type (the caller replies WRONGTYPE).
    pub fn as_zset_mut(&mut self) -> Option<&mut ZSetValue> {
        match self {
            Value::ZSet(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_hash(&self) -> Option<&HashValue> {
        match self {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }

    /// The hash this value holds, for changing it in place; `None` when
    /// the value is of another type (the caller replies WRONGTYPE).
    pub fn as_hash_mut(&mut self) -> Option<&mut HashValue> {
        match self {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }
}
