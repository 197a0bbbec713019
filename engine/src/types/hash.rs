//! The hash type (being built: this placeholder is replaced by the real type).

/// A hash value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HashValue {
    len: usize,
}

impl HashValue {
    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        "listpack"
    }

    /// Heap bytes held, O(1).
    pub fn mem_usage(&self) -> usize {
        0
    }

    /// Elements held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Redis's lazy-free effort: how much work freeing this value is.
    pub fn free_effort(&self) -> usize {
        1
    }
}
