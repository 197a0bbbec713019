//! Value types. One file per type, as Redis keeps one file per type.

pub mod string;

pub use string::StrValue;

/// A value stored under a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(StrValue),
}

impl Value {
    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding_name(),
        }
    }

    /// An estimate of the heap bytes this value holds (for INFO memory).
    /// Must be O(1): the keyspace measures a value again after every write
    /// access to keep its running total (a type that grows in place keeps
    /// its own byte count).
    pub fn mem_usage(&self) -> usize {
        match self {
            Value::Str(s) => s.mem_usage(),
        }
    }

    pub fn as_str(&self) -> Option<&StrValue> {
        match self {
            Value::Str(s) => Some(s),
        }
    }

    /// The string this value holds, for changing it in place; `None` when
    /// the value is of another type (the caller replies WRONGTYPE).
    pub fn as_str_mut(&mut self) -> Option<&mut StrValue> {
        match self {
            Value::Str(s) => Some(s),
        }
    }
}
