//! DUMP payloads, as Redis 7.0 builds them: the value's type byte and
//! encoding, the RDB version (2 bytes, little-endian) and a CRC64 of all
//! that (8 bytes, little-endian).

use super::read::Reader;
use super::value::read_value;
use super::writer::{encode_value, ValueOptions};
use super::{crc64, Encodings, RdbError, RDB_VERSION};
use crate::types::Value;

/// Version and checksum bytes at the end of a payload.
const FOOTER_BYTES: usize = 10;

/// Why a payload was refused, as RESTORE tells the two apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadError {
    /// Too short, from a newer RDB version, or a checksum mismatch.
    VersionOrChecksum,
    /// The value itself is corrupt, unsupported or empty.
    BadFormat(RdbError),
}

/// The DUMP payload of `value`.
pub fn dump_payload(value: &Value, opts: &ValueOptions) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(value, opts, &mut out);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The value in `payload`, after checking its version and checksum
/// (Redis's `verifyDumpPayload`). Bytes between the value and the footer
/// are ignored, as Redis ignores them.
pub fn load_payload(payload: &[u8], enc: &Encodings) -> Result<Value, PayloadError> {
    let body = verify(payload)?;
    let mut r = Reader::new(body);
    let kind = r.u8().map_err(PayloadError::BadFormat)?;
    match read_value(&mut r, kind, enc) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(PayloadError::BadFormat(RdbError::new(
            1,
            "empty collection",
        ))),
        Err(e) => Err(PayloadError::BadFormat(e)),
    }
}

/// The payload without its footer, if the footer is right.
fn verify(payload: &[u8]) -> Result<&[u8], PayloadError> {
    let Some(body_len) = payload.len().checked_sub(FOOTER_BYTES) else {
        return Err(PayloadError::VersionOrChecksum);
    };
    let footer = &payload[body_len..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(PayloadError::VersionOrChecksum);
    }
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&footer[2..]);
    if crc64(&payload[..body_len + 2]) != u64::from_le_bytes(crc) {
        return Err(PayloadError::VersionOrChecksum);
    }
    Ok(&payload[..body_len])
}
