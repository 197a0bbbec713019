//! Redis's intset blob: a 4-byte element width (2, 4 or 8), a 4-byte
//! count, then the integers, little-endian, strictly ascending.

use super::blob::{to_usize, BlobResult, Cursor};

/// The intset holding `sorted` (ascending, distinct), in the narrowest
/// width that fits every member, as Redis keeps it.
pub(crate) fn encode(sorted: &[i64]) -> Vec<u8> {
    let width = sorted.iter().map(|&v| width_of(v)).max().unwrap_or(2);
    let mut out = Vec::with_capacity(8 + width * sorted.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    for &v in sorted {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

fn width_of(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

/// The members of an intset, validated: known width, exact size, and
/// strictly ascending (so no duplicates).
pub(crate) fn decode(blob: &[u8]) -> BlobResult<Vec<i64>> {
    let mut cur = Cursor::new(blob);
    let width = to_usize(cur.uint_le(4)?)?;
    let count = to_usize(cur.uint_le(4)?)?;
    if ![2, 4, 8].contains(&width) {
        return Err(format!("intset has an invalid element width {width}"));
    }
    if count.checked_mul(width) != Some(cur.remaining()) {
        return Err(format!(
            "intset of {count} elements of {width} bytes does not fill its {} bytes",
            blob.len()
        ));
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let v = cur.int_le(width)?;
        if out.last().is_some_and(|&last| last >= v) {
            return Err("intset is not sorted or has duplicates".into());
        }
        out.push(v);
    }
    Ok(out)
}
