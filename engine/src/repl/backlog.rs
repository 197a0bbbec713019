//! The replication backlog: the last `size` bytes of the replication
//! stream, so a replica that lost its link can resume from its offset
//! (`+CONTINUE`) instead of loading a whole snapshot again.
//!
//! Offsets are Redis's: byte `n` of the stream is at offset `n`, the first
//! byte ever at offset 1; `master_repl_offset` is the offset of the last
//! byte written (0 before any).

use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct Backlog {
    buf: VecDeque<u8>,
    size: usize,
    /// Offset of `buf[0]` (or of the next byte, when `buf` is empty).
    first_offset: u64,
}

impl Backlog {
    /// An empty backlog of `size` bytes whose next byte is at `next_offset`.
    pub fn new(size: usize, next_offset: u64) -> Backlog {
        Backlog {
            buf: VecDeque::new(),
            size: size.max(1),
            first_offset: next_offset,
        }
    }

    /// Appends stream bytes, dropping the oldest beyond the size.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend(data);
        let excess = self.buf.len().saturating_sub(self.size);
        if excess > 0 {
            self.buf.drain(..excess);
            self.first_offset += excess as u64;
        }
    }

    /// CONFIG SET repl-backlog-size: keeps the newest bytes that fit.
    pub fn resize(&mut self, size: usize) {
        self.size = size.max(1);
        self.feed(&[]);
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// INFO repl_backlog_first_byte_offset.
    pub fn first_offset(&self) -> u64 {
        self.first_offset
    }

    /// INFO repl_backlog_histlen: bytes held.
    pub fn histlen(&self) -> u64 {
        self.buf.len() as u64
    }

    /// The stream from offset `from` (the first byte the replica lacks) to
    /// the end, or None when the backlog does not hold all of it.
    pub fn since(&self, from: u64) -> Option<Vec<u8>> {
        let end = self.first_offset + self.buf.len() as u64;
        if from < self.first_offset || from > end {
            return None;
        }
        let skip = (from - self.first_offset) as usize;
        Some(self.buf.iter().skip(skip).copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_what_it_holds_and_nothing_older() {
        let mut b = Backlog::new(8, 1);
        assert_eq!(b.since(1), Some(vec![]));
        b.feed(b"abcdef");
        assert_eq!(b.since(1), Some(b"abcdef".to_vec()));
        assert_eq!(b.since(4), Some(b"def".to_vec()));
        assert_eq!(b.since(7), Some(vec![]), "up to date");
        assert_eq!(b.since(8), None, "ahead of the stream");
        b.feed(b"ghij");
        assert_eq!((b.first_offset(), b.histlen()), (3, 8));
        assert_eq!(b.since(2), None, "dropped");
        assert_eq!(b.since(3), Some(b"cdefghij".to_vec()));
        b.resize(3);
        assert_eq!(b.since(8), Some(b"hij".to_vec()));
        assert_eq!(b.since(7), None);
    }

    #[test]
    fn a_big_write_keeps_its_tail() {
        let mut b = Backlog::new(4, 101);
        b.feed(b"0123456789");
        assert_eq!(b.first_offset(), 107);
        assert_eq!(b.since(107), Some(b"6789".to_vec()));
    }
}
