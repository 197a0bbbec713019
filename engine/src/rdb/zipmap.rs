//! Redis's zipmap blob (hashes before Redis 2.6; read only): a count byte
//! (254 or more: count unknown), then pairs of field and value, each
//! preceded by its length (1 byte, or 254 and 4 bytes), the value also by
//! a "free" byte of unused trailing space, and an 0xFF terminator.

use super::blob::{to_usize, BlobResult, Cursor};

const TERMINATOR: u8 = 0xFF;
const BIG_LEN: u8 = 254;

/// The field-value pairs of a zipmap, validated to the terminator.
pub(crate) fn decode(blob: &[u8]) -> BlobResult<Vec<(&[u8], &[u8])>> {
    let mut cur = Cursor::new(blob);
    cur.u8()?; // The count, unreliable past 253: the pairs are counted instead.
    let mut pairs = Vec::new();
    while cur.peek()? != TERMINATOR {
        let field_len = length(&mut cur)?;
        let field = cur.take(field_len)?;
        let value_len = length(&mut cur)?;
        let free = usize::from(cur.u8()?);
        let value = cur.take(value_len)?;
        cur.take(free)?;
        pairs.push((field, value));
    }
    cur.u8()?;
    if cur.remaining() != 0 {
        return Err("zipmap has bytes after its terminator".into());
    }
    Ok(pairs)
}

fn length(cur: &mut Cursor) -> BlobResult<usize> {
    match cur.u8()? {
        BIG_LEN => to_usize(cur.uint_le(4)?),
        TERMINATOR => Err("zipmap ends inside a pair".into()),
        n => Ok(usize::from(n)),
    }
}
