//! Loading one value (the part after the type byte and, in a file, the
//! key) into Keel's types, in the encodings the configuration asks for.

use super::blob::{BlobResult, Elem};
use super::read::{parse_score, Reader, Stored, PREALLOC_CAP};
use super::{intset, kind, listpack, ziplist, zipmap};
use super::{Encodings, RdbError, QUICKLIST_NODE_PACKED, QUICKLIST_NODE_PLAIN};
use crate::types::list::End;
use crate::types::{HashValue, ListValue, SetValue, StrValue, Value, ZSetValue};
use bytes::Bytes;
use std::collections::HashSet;

/// The value of type `kind` at the reader's position; `None` for an empty
/// collection (Redis skips those keys on load, RESTORE refuses them).
pub(crate) fn read_value(
    r: &mut Reader,
    kind: u8,
    enc: &Encodings,
) -> Result<Option<Value>, RdbError> {
    let at = r.pos() as u64;
    let value = match kind {
        kind::STRING => Some(Value::Str(string_value(r)?)),
        kind::LIST => plain_list(r, enc)?,
        kind::LIST_ZIPLIST => blob(r, "ziplist", |b| list_of(ziplist::decode(b)?, enc))?,
        kind::LIST_QUICKLIST => quicklist(r, enc, false)?,
        kind::LIST_QUICKLIST_2 => quicklist(r, enc, true)?,
        kind::SET => plain_set(r, enc)?,
        kind::SET_INTSET => blob(r, "intset", |b| intset_set(&intset::decode(b)?, enc))?,
        kind::SET_LISTPACK => blob(r, "listpack", |b| listpack_set(listpack::decode(b)?, enc))?,
        kind::HASH => plain_hash(r, enc)?,
        kind::HASH_ZIPMAP => blob(r, "zipmap", |b| {
            let pairs = zipmap::decode(b)?;
            build_hash(
                pairs.into_iter().map(|(f, v)| (f.to_vec(), v.to_vec())),
                enc,
            )
        })?,
        kind::HASH_ZIPLIST => blob(r, "ziplist", |b| packed_hash(ziplist::decode(b)?, enc))?,
        kind::HASH_LISTPACK => blob(r, "listpack", |b| packed_hash(listpack::decode(b)?, enc))?,
        kind::ZSET | kind::ZSET_2 => plain_zset(r, enc, kind == kind::ZSET_2)?,
        kind::ZSET_ZIPLIST => blob(r, "ziplist", |b| packed_zset(ziplist::decode(b)?, enc))?,
        kind::ZSET_LISTPACK => blob(r, "listpack", |b| packed_zset(listpack::decode(b)?, enc))?,
        kind::MODULE | kind::MODULE_2 => {
            return Err(RdbError::new(
                at,
                format!("module value (type {kind}) refused: Keel has no modules"),
            ))
        }
        kind::STREAM_LISTPACKS | kind::STREAM_LISTPACKS_2 | kind::STREAM_LISTPACKS_3 => {
            return Err(RdbError::new(
                at,
                format!("stream value (type {kind}) refused: Keel has no streams yet"),
            ))
        }
        other => return Err(RdbError::new(at, format!("unknown value type {other}"))),
    };
    Ok(value)
}

/// A string value in the encoding SET would give it, straight from the
/// stored form: an integer-encoded string is the integer (the text it
/// stands for always reads back as it), a plain one is copied once.
fn string_value(r: &mut Reader) -> Result<StrValue, RdbError> {
    Ok(match r.stored_string()? {
        Stored::Int(n) => StrValue::Int(n),
        Stored::Bytes(bytes) => StrValue::from_bytes(&bytes),
    })
}

/// Reads a string holding a compact blob and decodes it with `decode`;
/// a decoding error is reported at the blob's offset.
fn blob<T>(
    r: &mut Reader,
    what: &str,
    decode: impl FnOnce(&[u8]) -> BlobResult<T>,
) -> Result<T, RdbError> {
    let at = r.pos() as u64;
    let bytes = r.string_ref()?;
    decode(&bytes).map_err(|e| RdbError::new(at, format!("invalid {what}: {e}")))
}

/// A collection's element count: at most one element per remaining input
/// byte, so a lying count fails before allocating.
fn count(r: &mut Reader, per_element: usize) -> Result<usize, RdbError> {
    let at = r.pos() as u64;
    let n = r.length()?;
    match usize::try_from(n) {
        Ok(n) if n.saturating_mul(per_element) <= r.remaining() => Ok(n),
        _ => Err(RdbError::new(
            at,
            format!("element count {n} exceeds what the input can hold"),
        )),
    }
}

fn with_offset<T>(at: usize, what: &str, result: BlobResult<T>) -> Result<T, RdbError> {
    result.map_err(|e| RdbError::new(at as u64, format!("invalid {what}: {e}")))
}

// ---- lists ----

fn list_value(list: ListValue) -> Option<Value> {
    (!list.is_empty()).then_some(Value::List(list))
}

fn plain_list(r: &mut Reader, enc: &Encodings) -> Result<Option<Value>, RdbError> {
    let n = count(r, 1)?;
    let mut list = ListValue::new();
    for _ in 0..n {
        list.push(End::Tail, &r.string_ref()?, enc.list_fill);
    }
    Ok(list_value(list))
}

fn list_of(elems: Vec<Elem>, enc: &Encodings) -> BlobResult<Option<Value>> {
    let mut list = ListValue::new();
    append(&mut list, &elems, enc);
    Ok(list_value(list))
}

fn append(list: &mut ListValue, elems: &[Elem], enc: &Encodings) {
    for elem in elems {
        match elem {
            Elem::Bytes(b) => list.push(End::Tail, b, enc.list_fill),
            Elem::Int(n) => list.push(End::Tail, &crate::util::fmt_i64(*n), enc.list_fill),
        }
    }
}

/// A quicklist: nodes of ziplists (v1), or of listpacks or single plain
/// elements, each flagged with its container (v2). Empty nodes are skipped.
fn quicklist(r: &mut Reader, enc: &Encodings, v2: bool) -> Result<Option<Value>, RdbError> {
    let nodes = count(r, 2)?;
    let mut list = ListValue::new();
    for _ in 0..nodes {
        let container = if v2 {
            r.length()?
        } else {
            QUICKLIST_NODE_PACKED
        };
        let at = r.pos();
        let node = r.string_ref()?;
        match container {
            QUICKLIST_NODE_PLAIN => list.push(End::Tail, &node, enc.list_fill),
            QUICKLIST_NODE_PACKED if v2 => append(
                &mut list,
                &with_offset(at, "listpack", listpack::decode(&node))?,
                enc,
            ),
            QUICKLIST_NODE_PACKED => append(
                &mut list,
                &with_offset(at, "ziplist", ziplist::decode(&node))?,
                enc,
            ),
            other => {
                return Err(RdbError::new(
                    at as u64,
                    format!("unknown quicklist node container {other}"),
                ))
            }
        }
    }
    Ok(list_value(list))
}

// ---- sets ----

fn plain_set(r: &mut Reader, enc: &Encodings) -> Result<Option<Value>, RdbError> {
    let at = r.pos();
    let n = count(r, 1)?;
    let mut members = Vec::with_capacity(n.min(PREALLOC_CAP));
    for _ in 0..n {
        members.push(r.string()?);
    }
    with_offset(at, "set", build_set(&members, enc))
}

fn intset_set(ints: &[i64], enc: &Encodings) -> BlobResult<Option<Value>> {
    let members: Vec<Vec<u8>> = ints.iter().map(|&v| crate::util::fmt_i64(v)).collect();
    build_set(&members, enc)
}

fn listpack_set(elems: Vec<Elem>, enc: &Encodings) -> BlobResult<Option<Value>> {
    let members: Vec<Vec<u8>> = elems.into_iter().map(Elem::to_vec).collect();
    build_set(&members, enc)
}

fn build_set(members: &[Vec<u8>], enc: &Encodings) -> BlobResult<Option<Value>> {
    let Some(first) = members.first() else {
        return Ok(None);
    };
    let mut set = SetValue::create(first, members.len(), &enc.set);
    for member in members {
        if !set.add(member, &enc.set) {
            return Err("duplicate set member".into());
        }
    }
    Ok(Some(Value::Set(set)))
}

// ---- hashes ----

fn plain_hash(r: &mut Reader, enc: &Encodings) -> Result<Option<Value>, RdbError> {
    let at = r.pos();
    let n = count(r, 2)?;
    let mut pairs = Vec::with_capacity(n.min(PREALLOC_CAP));
    for _ in 0..n {
        pairs.push((r.string()?, r.string()?));
    }
    with_offset(at, "hash", build_hash(pairs.into_iter(), enc))
}

fn packed_hash(elems: Vec<Elem>, enc: &Encodings) -> BlobResult<Option<Value>> {
    if elems.len() & 1 == 1 {
        return Err("odd number of elements for field-value pairs".into());
    }
    let pairs = elems
        .chunks_exact(2)
        .map(|pair| (pair[0].to_vec(), pair[1].to_vec()));
    build_hash(pairs, enc)
}

fn build_hash(
    pairs: impl Iterator<Item = (Vec<u8>, Vec<u8>)>,
    enc: &Encodings,
) -> BlobResult<Option<Value>> {
    let mut hash = HashValue::new();
    for (field, value) in pairs {
        if !hash.set(&field, &value, &enc.hash) {
            return Err("duplicate hash field".into());
        }
    }
    Ok((!hash.is_empty()).then_some(Value::Hash(hash)))
}

// ---- sorted sets ----

fn plain_zset(r: &mut Reader, enc: &Encodings, binary: bool) -> Result<Option<Value>, RdbError> {
    let at = r.pos();
    let n = count(r, if binary { 9 } else { 2 })?;
    let mut entries = Vec::with_capacity(n.min(PREALLOC_CAP));
    for _ in 0..n {
        let member = r.string()?;
        let score = if binary {
            r.binary_double()?
        } else {
            r.string_double()?
        };
        entries.push((member, score));
    }
    with_offset(at, "sorted set", build_zset(entries, enc))
}

fn packed_zset(elems: Vec<Elem>, enc: &Encodings) -> BlobResult<Option<Value>> {
    if elems.len() & 1 == 1 {
        return Err("odd number of elements for member-score pairs".into());
    }
    let mut entries = Vec::with_capacity(elems.len() / 2);
    for pair in elems.chunks_exact(2) {
        let score = match pair[1] {
            Elem::Int(n) => n as f64,
            Elem::Bytes(text) => parse_score(text).ok_or("invalid score")?,
        };
        entries.push((pair[0].to_vec(), score));
    }
    build_zset(entries, enc)
}

fn build_zset(entries: Vec<(Vec<u8>, f64)>, enc: &Encodings) -> BlobResult<Option<Value>> {
    if entries.is_empty() {
        return Ok(None);
    }
    let mut seen = HashSet::with_capacity(entries.len());
    let mut sorted = Vec::with_capacity(entries.len());
    for (member, score) in entries {
        if score.is_nan() {
            return Err("sorted set with a NaN score".into());
        }
        let member = Bytes::from(member);
        if !seen.insert(member.clone()) {
            return Err("duplicate sorted set member".into());
        }
        sorted.push((member, score));
    }
    // No NaN is left, so scores compare totally (-0 and 0 as equal, as Redis).
    sorted.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    Ok(Some(Value::ZSet(ZSetValue::from_sorted(
        &sorted, &enc.zset,
    ))))
}
