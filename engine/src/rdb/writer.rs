//! Writing RDB version 10 as Redis 7.0 does: every value in the encoding
//! Redis 7.0 itself would write for it, strings integer-encoded when they
//! fit and LZF-compressed when that saves space.

use super::listpack::ListpackBuilder;
use super::{intset, kind, opcode, RDB_VERSION};
use super::{QUICKLIST_NODE_PACKED, QUICKLIST_NODE_PLAIN};
use crate::config::Config;
use crate::db::{access, Object};
use crate::time::Now;
use crate::types::list::pack::Elem;
use crate::types::list::Fill;
use crate::types::set::Member;
use crate::types::{HashValue, ListValue, SetValue, StrValue, Value, ZSetValue};
use crc::Digest;
use std::borrow::Cow;

/// Strings this short may be written as integers (Redis tries it up to 11
/// characters, the longest 32-bit integer).
const INT_ENCODING_MAX_LEN: usize = 11;
/// Strings are LZF-compressed only when longer than this.
const LZF_MIN_LEN: usize = 20;
/// Compression must save at least this many bytes to be used.
const LZF_MIN_SAVING: usize = 4;
/// A list node under a positive `list-max-listpack-size` still stays under
/// this many bytes (Redis's quicklist safety limit).
const ENTRIES_MODE_NODE_BYTES: usize = 8192;
/// An element this big gets a plain node of its own (Redis's default
/// quicklist packed threshold, 1 GiB).
const PLAIN_NODE_THRESHOLD: usize = 1 << 30;
/// A listpack's terminator byte ([`ListpackBuilder::bytes`] counts the rest).
const LISTPACK_TERMINATOR: usize = 1;

/// How values are written (DUMP payloads and files alike).
#[derive(Debug, Clone, Copy)]
pub struct ValueOptions {
    /// `rdbcompression`: LZF-compress long strings and list nodes.
    pub compression: bool,
    /// How elements are grouped in quicklist nodes (`list-max-listpack-size`).
    pub list_fill: Fill,
}

impl ValueOptions {
    pub fn from_config(config: &Config) -> ValueOptions {
        ValueOptions {
            compression: config.rdbcompression,
            list_fill: Fill::from_config(config.list_max_listpack_size),
        }
    }
}

/// Which access metadata precedes each key: Redis writes the idle time
/// under an LRU eviction policy, the LFU counter under an LFU one.
#[derive(Debug, Clone)]
pub enum AccessSave {
    Nothing,
    Idle { now: Now },
    Freq { now: Now, config: Box<Config> },
}

/// How a file is written.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub value: ValueOptions,
    /// `rdbchecksum`: false writes a zero checksum, which loaders skip.
    pub checksum: bool,
    pub access: AccessSave,
}

impl WriteOptions {
    /// Redis's choices for `config` at time `now`.
    pub fn from_config(config: &Config, now: Now) -> WriteOptions {
        let policy = config.maxmemory_policy.as_str();
        let access = if policy.ends_with("lru") {
            AccessSave::Idle { now }
        } else if policy.ends_with("lfu") {
            AccessSave::Freq {
                now,
                config: Box::new(config.clone()),
            }
        } else {
            AccessSave::Nothing
        };
        WriteOptions {
            value: ValueOptions::from_config(config),
            checksum: config.rdbchecksum,
            access,
        }
    }
}

/// The auxiliary fields Redis 7.0 writes at the top of a file, for a
/// snapshot taken at `ctime_secs` by a server using `used_mem` bytes.
pub fn standard_aux(ctime_secs: u64, used_mem: u64) -> Vec<(&'static str, String)> {
    vec![
        (
            "redis-ver",
            crate::cmd::connection::REDIS_VERSION.to_string(),
        ),
        ("redis-bits", "64".to_string()),
        ("ctime", ctime_secs.to_string()),
        ("used-mem", used_mem.to_string()),
        ("aof-base", "0".to_string()),
    ]
}

/// Writes one RDB file incrementally into a buffer the caller drains with
/// [`RdbWriter::take_output`] as often as it likes (a background save
/// writes a bounded number of entries per step and hands each chunk to
/// the disk). Call [`begin`](RdbWriter::begin), then per database
/// [`select_db`](RdbWriter::select_db) and its entries, then
/// [`finish`](RdbWriter::finish).
pub struct RdbWriter {
    out: Vec<u8>,
    /// `out[..hashed]` is already in `digest`.
    hashed: usize,
    digest: Digest<'static, u64, crc::Table<16>>,
    opts: WriteOptions,
    bytes_written: u64,
}

impl RdbWriter {
    pub fn new(opts: WriteOptions) -> RdbWriter {
        RdbWriter {
            out: Vec::new(),
            hashed: 0,
            digest: super::CRC64.digest(),
            opts,
            bytes_written: 0,
        }
    }

    /// The magic and version, then the auxiliary fields (see [`standard_aux`]).
    pub fn begin<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, aux: &[(K, V)]) {
        self.out.extend_from_slice(b"REDIS");
        self.out
            .extend_from_slice(format!("{RDB_VERSION:04}").as_bytes());
        for (key, value) in aux {
            self.write_aux(key.as_ref(), value.as_ref());
        }
    }

    /// One auxiliary field (`repl-id`, `repl-offset`, ... beyond the standard ones).
    pub fn write_aux(&mut self, key: &[u8], value: &[u8]) {
        self.out.push(opcode::AUX);
        self.string(key);
        self.string(value);
    }

    /// A function library's source (written before the databases).
    pub fn write_function(&mut self, code: &[u8]) {
        self.out.push(opcode::FUNCTION2);
        self.string(code);
    }

    /// Starts database `db`, which holds `size` keys, `expires` with a TTL.
    pub fn select_db(&mut self, db: usize, size: u64, expires: u64) {
        self.out.push(opcode::SELECTDB);
        write_len(&mut self.out, db as u64);
        self.out.push(opcode::RESIZEDB);
        write_len(&mut self.out, size);
        write_len(&mut self.out, expires);
    }

    /// One key with its value, its absolute expiry (Unix ms) if any, and
    /// its access metadata as the options ask.
    pub fn write_entry(&mut self, key: &[u8], obj: &Object, expire_at_ms: Option<u64>) {
        if let Some(at) = expire_at_ms {
            self.out.push(opcode::EXPIRETIME_MS);
            self.out.extend_from_slice(&at.to_le_bytes());
        }
        match &self.opts.access {
            AccessSave::Nothing => {}
            AccessSave::Idle { now } => {
                self.out.push(opcode::IDLE);
                write_len(&mut self.out, access::idle_seconds(obj, *now));
            }
            AccessSave::Freq { now, config } => {
                self.out.push(opcode::FREQ);
                let counter = access::frequency(obj, *now, config).min(255);
                self.out.push(counter as u8);
            }
        }
        // The key goes between the type byte and the value.
        self.out.push(type_byte(&obj.value));
        self.string(key);
        write_payload(&obj.value, &self.opts.value, &mut self.out);
    }

    /// Ends the file: EOF and the checksum (zero when disabled), which is
    /// returned.
    pub fn finish(&mut self) -> u64 {
        self.out.push(opcode::EOF);
        self.hash_pending();
        let crc = std::mem::replace(&mut self.digest, super::CRC64.digest()).finalize();
        let crc = if self.opts.checksum { crc } else { 0 };
        self.out.extend_from_slice(&crc.to_le_bytes());
        self.hashed = self.out.len();
        crc
    }

    /// Bytes written and not yet taken.
    pub fn pending(&self) -> usize {
        self.out.len()
    }

    /// Bytes produced so far, taken or not.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written + self.out.len() as u64
    }

    /// Takes the bytes written since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.hash_pending();
        self.hashed = 0;
        self.bytes_written += self.out.len() as u64;
        std::mem::take(&mut self.out)
    }

    fn hash_pending(&mut self) {
        self.digest.update(&self.out[self.hashed..]);
        self.hashed = self.out.len();
    }

    fn string(&mut self, s: &[u8]) {
        write_string(&mut self.out, s, self.opts.value.compression);
    }
}

// ---- values ----

/// `value` as a DUMP payload starts and an RDB entry ends: its type byte,
/// then the value in the encoding Redis 7.0 writes for it.
pub fn encode_value(value: &Value, opts: &ValueOptions, out: &mut Vec<u8>) {
    out.push(type_byte(value));
    write_payload(value, opts, out);
}

/// The RDB type Redis 7.0 writes `value` as, from its encoding.
fn type_byte(value: &Value) -> u8 {
    match value {
        Value::Str(_) => kind::STRING,
        Value::List(_) => kind::LIST_QUICKLIST_2,
        Value::Hash(h) if h.encoding_name() == "listpack" => kind::HASH_LISTPACK,
        Value::Hash(_) => kind::HASH,
        // RDB 10 has no set listpack: Redis 7.0 keeps such sets as tables.
        Value::Set(s) if s.is_intset() => kind::SET_INTSET,
        Value::Set(_) => kind::SET,
        Value::ZSet(z) if z.encoding_name() == "listpack" => kind::ZSET_LISTPACK,
        Value::ZSet(_) => kind::ZSET_2,
    }
}

/// The value after its type byte, in the encoding [`type_byte`] names.
fn write_payload(value: &Value, opts: &ValueOptions, out: &mut Vec<u8>) {
    match value {
        Value::Str(s) => write_str_value(out, s, opts.compression),
        Value::List(list) => write_list(out, list, opts),
        Value::Hash(hash) => write_hash(out, hash, opts.compression),
        Value::Set(set) => write_set(out, set, opts.compression),
        Value::ZSet(zset) => write_zset(out, zset, opts.compression),
    }
}

fn write_str_value(out: &mut Vec<u8>, s: &StrValue, compress: bool) {
    match s {
        StrValue::Int(n) => write_int_string(out, *n),
        StrValue::Bytes(b) => write_string(out, b, compress),
        StrValue::Raw(v) => write_string(out, v, compress),
    }
}

/// A quicklist of listpack nodes, grouped by `list-max-listpack-size`.
fn write_list(out: &mut Vec<u8>, list: &ListValue, opts: &ValueOptions) {
    let nodes = list_nodes(list, opts.list_fill);
    write_len(out, nodes.len() as u64);
    for node in &nodes {
        match node {
            ListNode::Plain(element) => {
                write_len(out, QUICKLIST_NODE_PLAIN);
                write_string(out, element, opts.compression);
            }
            ListNode::Packed(blob) => {
                write_len(out, QUICKLIST_NODE_PACKED);
                write_string(out, blob, opts.compression);
            }
        }
    }
}

enum ListNode {
    Plain(Vec<u8>),
    Packed(Vec<u8>),
}

fn list_nodes(list: &ListValue, fill: Fill) -> Vec<ListNode> {
    let (max_entries, max_bytes) = match fill {
        Fill::Bytes(bytes) => (usize::MAX, bytes),
        Fill::Entries(entries) => (entries, ENTRIES_MODE_NODE_BYTES),
    };
    let mut nodes = Vec::new();
    let mut node = ListpackBuilder::new();
    for element in list.iter() {
        let element: Cow<[u8]> = match element {
            Elem::Int(n) => Cow::Owned(crate::util::fmt_i64(n)),
            Elem::Str(s) => Cow::Borrowed(s),
        };
        if element.len() >= PLAIN_NODE_THRESHOLD {
            flush_node(&mut nodes, &mut node);
            nodes.push(ListNode::Plain(element.to_vec()));
            continue;
        }
        let size = super::listpack::element_size(&element);
        let full =
            node.len() >= max_entries || node.bytes() + size + LISTPACK_TERMINATOR > max_bytes;
        if node.len() > 0 && full {
            flush_node(&mut nodes, &mut node);
        }
        node.push(&element);
    }
    flush_node(&mut nodes, &mut node);
    nodes
}

fn flush_node(nodes: &mut Vec<ListNode>, node: &mut ListpackBuilder) {
    if node.len() > 0 {
        let full = std::mem::replace(node, ListpackBuilder::new());
        nodes.push(ListNode::Packed(full.finish()));
    }
}

/// A compact hash as one listpack blob, otherwise field, value, ...
fn write_hash(out: &mut Vec<u8>, hash: &HashValue, compress: bool) {
    if hash.encoding_name() == "listpack" {
        let mut lp = ListpackBuilder::new();
        for (field, value) in hash.iter() {
            lp.push(&field);
            lp.push(&value.as_cow());
        }
        write_string(out, &lp.finish(), compress);
        return;
    }
    write_len(out, hash.len() as u64);
    for (field, value) in hash.iter() {
        write_string(out, &field, compress);
        write_string(out, &value.as_cow(), compress);
    }
}

/// An intset blob, otherwise every member as a string.
fn write_set(out: &mut Vec<u8>, set: &SetValue, compress: bool) {
    if set.is_intset() {
        let mut ints: Vec<i64> = set
            .iter()
            .filter_map(|m| match m {
                Member::Int(v) => Some(v),
                Member::Bytes(b) => crate::util::parse_i64(b),
            })
            .collect();
        ints.sort_unstable();
        write_string(out, &intset::encode(&ints), compress);
        return;
    }
    write_len(out, set.len() as u64);
    for member in set.iter() {
        member.with_bytes(|b| write_string(out, b, compress));
    }
}

/// A compact sorted set as one listpack blob (member, score text, ...),
/// otherwise member and binary score, greatest first.
fn write_zset(out: &mut Vec<u8>, zset: &ZSetValue, compress: bool) {
    if zset.encoding_name() == "listpack" {
        let mut lp = ListpackBuilder::new();
        zset.for_each(|member, score| {
            lp.push(member);
            lp.push(score_text(score).as_bytes());
        });
        write_string(out, &lp.finish(), compress);
        return;
    }
    write_len(out, zset.len() as u64);
    // Greatest first, as Redis writes it (it loads fastest that way).
    for (member, score) in zset.to_vec().iter().rev() {
        write_string(out, member, compress);
        out.extend_from_slice(&score.to_le_bytes());
    }
}

/// A score as a sorted-set listpack holds it (Redis's `d2string`).
fn score_text(score: f64) -> String {
    // Integers of magnitude below 2^52 print exactly as integers.
    const SAFE: f64 = 4503599627370496.0;
    if score.is_infinite() {
        return if score > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if score == 0.0 {
        return if score.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    if score > -SAFE && score < SAFE && score.fract() == 0.0 {
        return (score as i64).to_string();
    }
    crate::util::fmt_double_17g(score)
}

// ---- primitives ----

/// A length: 6 bits, 14 bits, 32 or 64 bits big-endian.
pub(crate) fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if let Ok(len) = u32::try_from(len) {
        out.push(0x80);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// Writes `n` in the special INT8/16/32 string encodings if it fits one
/// (then true; nothing written otherwise).
fn write_encoded_int(out: &mut Vec<u8>, n: i64) -> bool {
    if let Ok(v) = i8::try_from(n) {
        out.extend_from_slice(&[0xC0, v as u8]);
    } else if let Ok(v) = i16::try_from(n) {
        out.push(0xC1);
        out.extend_from_slice(&v.to_le_bytes());
    } else if let Ok(v) = i32::try_from(n) {
        out.push(0xC2);
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// An integer string: encoded when it fits 32 bits, as digits otherwise.
fn write_int_string(out: &mut Vec<u8>, n: i64) {
    if !write_encoded_int(out, n) {
        let digits = crate::util::fmt_i64(n);
        write_len(out, digits.len() as u64);
        out.extend_from_slice(&digits);
    }
}

/// A string as Redis writes it: as an integer when it is the canonical
/// text of a 32-bit one, LZF-compressed when long and compressible,
/// raw otherwise.
pub(crate) fn write_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= INT_ENCODING_MAX_LEN
        && crate::util::parse_i64(s).is_some_and(|n| write_encoded_int(out, n))
    {
        return;
    }
    if compress && s.len() > LZF_MIN_LEN && write_lzf(out, s) {
        return;
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn write_lzf(out: &mut Vec<u8>, s: &[u8]) -> bool {
    match lzf::compress(s) {
        Ok(packed) if packed.len() + LZF_MIN_SAVING <= s.len() => {
            out.push(0xC3);
            write_len(out, packed.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&packed);
            true
        }
        _ => false,
    }
}
