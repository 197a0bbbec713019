//! Redis's ziplist blob (read only: Redis 7.0 no longer writes it): a
//! 4-byte total length, a 4-byte tail offset, a 2-byte count (65535: too
//! many to count), the entries and an 0xFF terminator. Each entry is the
//! previous entry's size (1 byte, or 0xFE and 4 bytes), an encoding (string
//! of 6-, 14- or 32-bit length, or integer of 8, 16, 24, 32 or 64 bits, or
//! 0 to 12 in the encoding byte itself) and the data.

use super::blob::{to_usize, BlobResult, Cursor, Elem};

const TERMINATOR: u8 = 0xFF;
const BIG_PREVLEN: u8 = 0xFE;
const COUNT_UNKNOWN: usize = u16::MAX as usize;

/// Every entry of a ziplist, validated: header length, tail offset, each
/// entry's bounds and previous-entry size, the terminator at the end.
pub(crate) fn decode(blob: &[u8]) -> BlobResult<Vec<Elem<'_>>> {
    let mut cur = Cursor::new(blob);
    let total = to_usize(cur.uint_le(4)?)?;
    let tail = to_usize(cur.uint_le(4)?)?;
    let count = to_usize(cur.uint_le(2)?)?;
    if total != blob.len() {
        return Err(format!(
            "ziplist header says {total} bytes, blob has {}",
            blob.len()
        ));
    }
    let mut out = Vec::with_capacity(count.min(super::read::PREALLOC_CAP));
    let mut prev_size = 0;
    let mut last_start = cur.pos();
    while cur.peek()? != TERMINATOR {
        let start = cur.pos();
        out.push(entry(&mut cur, prev_size)?);
        prev_size = cur.pos() - start;
        last_start = start;
    }
    cur.u8()?;
    if cur.remaining() != 0 {
        return Err("ziplist has bytes after its terminator".into());
    }
    if tail != last_start {
        return Err(format!(
            "ziplist tail offset {tail} does not point at the last entry"
        ));
    }
    if count != COUNT_UNKNOWN && count != out.len() {
        return Err(format!(
            "ziplist header counts {count} entries, found {}",
            out.len()
        ));
    }
    Ok(out)
}

fn entry<'a>(cur: &mut Cursor<'a>, prev_size: usize) -> BlobResult<Elem<'a>> {
    let start = cur.pos();
    let prevlen = match cur.u8()? {
        BIG_PREVLEN => to_usize(cur.uint_le(4)?)?,
        n => usize::from(n),
    };
    if prevlen != prev_size {
        return Err(format!(
            "ziplist entry at {start} has a wrong previous size"
        ));
    }
    let first = cur.u8()?;
    let elem = match first >> 6 {
        0 => Elem::Bytes(cur.take(usize::from(first & 0x3F))?),
        1 => {
            let len = (usize::from(first & 0x3F) << 8) | usize::from(cur.u8()?);
            Elem::Bytes(cur.take(len)?)
        }
        2 => {
            let len = u32::from_be_bytes([cur.u8()?, cur.u8()?, cur.u8()?, cur.u8()?]);
            Elem::Bytes(cur.take(to_usize(u64::from(len))?)?)
        }
        _ => Elem::Int(integer(cur, first)?),
    };
    Ok(elem)
}

fn integer(cur: &mut Cursor, encoding: u8) -> BlobResult<i64> {
    match encoding {
        0xC0 => cur.int_le(2),
        0xD0 => cur.int_le(4),
        0xE0 => cur.int_le(8),
        0xF0 => cur.int_le(3),
        0xFE => cur.int_le(1),
        0xF1..=0xFD => Ok(i64::from(encoding & 0x0F) - 1),
        other => Err(format!("invalid ziplist encoding byte 0x{other:02x}")),
    }
}
