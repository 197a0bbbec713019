//! Redis's listpack blob: a 4-byte total length, a 2-byte element count
//! (65535: too many to count), the elements, and an 0xFF terminator. Each
//! element is an encoding byte (integer of 7, 13, 16, 24, 32 or 64 bits, or
//! a string of 6-, 12- or 32-bit length), its data, and a "backlen": the
//! size of encoding + data in 1 to 5 bytes, for walking backwards.

use super::blob::{to_usize, BlobResult, Cursor, Elem};

const HEADER_BYTES: usize = 6;
const TERMINATOR: u8 = 0xFF;
/// The count field's "unknown" value.
const COUNT_UNKNOWN: usize = u16::MAX as usize;

/// Builds a listpack element by element.
pub(crate) struct ListpackBuilder {
    buf: Vec<u8>,
    count: usize,
}

impl ListpackBuilder {
    pub(crate) fn new() -> ListpackBuilder {
        ListpackBuilder {
            buf: vec![0; HEADER_BYTES],
            count: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Bytes so far, header included (terminator not).
    pub(crate) fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Appends `text`, as an integer when it reads as one (as Redis does).
    pub(crate) fn push(&mut self, text: &[u8]) {
        match crate::util::parse_i64(text) {
            Some(n) => self.push_int(n),
            None => self.push_str(text),
        }
    }

    pub(crate) fn push_int(&mut self, n: i64) {
        let start = self.buf.len();
        encode_int(&mut self.buf, n);
        self.end_element(start);
    }

    fn push_str(&mut self, text: &[u8]) {
        let start = self.buf.len();
        let len = text.len();
        if len < 64 {
            self.buf.push(0x80 | len as u8);
        } else if len < 4096 {
            self.buf.push(0xE0 | (len >> 8) as u8);
            self.buf.push(len as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(text);
        self.end_element(start);
    }

    fn end_element(&mut self, start: usize) {
        let size = self.buf.len() - start;
        encode_backlen(&mut self.buf, size);
        self.count += 1;
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.buf.push(TERMINATOR);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(COUNT_UNKNOWN) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// Bytes `text` takes in a listpack (encoding, data and backlen), for
/// sizing nodes before building them.
pub(crate) fn element_size(text: &[u8]) -> usize {
    let mut scratch = Vec::with_capacity(16);
    let data = match crate::util::parse_i64(text) {
        Some(n) => {
            encode_int(&mut scratch, n);
            scratch.len()
        }
        None if text.len() < 64 => 1 + text.len(),
        None if text.len() < 4096 => 2 + text.len(),
        None => 5 + text.len(),
    };
    data + backlen_size(data)
}

fn encode_int(buf: &mut Vec<u8>, n: i64) {
    if (0..=127).contains(&n) {
        buf.push(n as u8);
    } else if (-4096..=4095).contains(&n) {
        let v = (n as u16) & 0x1FFF;
        buf.push(0xC0 | (v >> 8) as u8);
        buf.push(v as u8);
    } else if i16::try_from(n).is_ok() {
        buf.push(0xF1);
        buf.extend_from_slice(&(n as i16).to_le_bytes());
    } else if (-(1 << 23)..(1 << 23)).contains(&n) {
        buf.push(0xF2);
        buf.extend_from_slice(&(n as i32).to_le_bytes()[..3]);
    } else if i32::try_from(n).is_ok() {
        buf.push(0xF3);
        buf.extend_from_slice(&(n as i32).to_le_bytes());
    } else {
        buf.push(0xF4);
        buf.extend_from_slice(&n.to_le_bytes());
    }
}

fn backlen_size(size: usize) -> usize {
    match size {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The backlen: 7 bits per byte, most significant group first, every byte
/// but the first flagged with the high bit (so it reads backwards).
fn encode_backlen(buf: &mut Vec<u8>, size: usize) {
    let n = backlen_size(size);
    for i in (0..n).rev() {
        let group = ((size >> (7 * i)) & 0x7F) as u8;
        buf.push(if i == n - 1 { group } else { group | 0x80 });
    }
}

/// Every element of a listpack, fully validated: header length and count,
/// each element's bounds and backlen, the terminator at the very end.
pub(crate) fn decode(blob: &[u8]) -> BlobResult<Vec<Elem<'_>>> {
    let mut cur = Cursor::new(blob);
    let total = to_usize(cur.uint_le(4)?)?;
    let count = to_usize(cur.uint_le(2)?)?;
    if total != blob.len() {
        return Err(format!(
            "listpack header says {total} bytes, blob has {}",
            blob.len()
        ));
    }
    let mut out = Vec::with_capacity(count.min(super::read::PREALLOC_CAP));
    while cur.peek()? != TERMINATOR {
        out.push(element(&mut cur)?);
    }
    cur.u8()?;
    if cur.remaining() != 0 {
        return Err("listpack has bytes after its terminator".into());
    }
    if count != COUNT_UNKNOWN && count != out.len() {
        return Err(format!(
            "listpack header counts {count} elements, found {}",
            out.len()
        ));
    }
    Ok(out)
}

fn element<'a>(cur: &mut Cursor<'a>) -> BlobResult<Elem<'a>> {
    let start = cur.pos();
    let first = cur.u8()?;
    let elem = match first {
        0x00..=0x7F => Elem::Int(i64::from(first)),
        0x80..=0xBF => Elem::Bytes(cur.take(usize::from(first & 0x3F))?),
        0xC0..=0xDF => {
            let v = (u16::from(first & 0x1F) << 8) | u16::from(cur.u8()?);
            // Sign-extend 13 bits.
            Elem::Int(i64::from(((v << 3) as i16) >> 3))
        }
        0xE0..=0xEF => {
            let len = (usize::from(first & 0x0F) << 8) | usize::from(cur.u8()?);
            Elem::Bytes(cur.take(len)?)
        }
        0xF0 => {
            let len = to_usize(cur.uint_le(4)?)?;
            Elem::Bytes(cur.take(len)?)
        }
        0xF1 => Elem::Int(cur.int_le(2)?),
        0xF2 => Elem::Int(cur.int_le(3)?),
        0xF3 => Elem::Int(cur.int_le(4)?),
        0xF4 => Elem::Int(cur.int_le(8)?),
        other => return Err(format!("invalid listpack encoding byte 0x{other:02x}")),
    };
    let size = cur.pos() - start;
    let mut expected = Vec::with_capacity(5);
    encode_backlen(&mut expected, size);
    if cur.take(expected.len())? != expected.as_slice() {
        return Err(format!("listpack element at {start} has a wrong backlen"));
    }
    Ok(elem)
}
