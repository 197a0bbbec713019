//! Tests of the RDB codec: hand-built encodings of every kind, real Redis
//! 7.0.15 DUMP payloads, refusals, and property tests (round trip across
//! encodings; corrupt input never panics).

use super::dump::{dump_payload, load_payload, PayloadError};
use super::loader::{load_all, Entry, Item, RdbLoader};
use super::read::Reader;
use super::writer::{standard_aux, write_len, AccessSave, RdbWriter, ValueOptions, WriteOptions};
use super::*;
use crate::db::Object;
use crate::types::list::{End, Fill};
use crate::types::{HashValue, ListValue, SetValue, StrValue, Value, ZSetValue};
use bytes::Bytes;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn default_enc() -> Encodings {
    Encodings::from_config(&Config::default())
}

fn opts() -> ValueOptions {
    ValueOptions::from_config(&Config::default())
}

/// A whole RDB file of `version` around `body`, with EOF and checksum.
fn file(version: u16, body: &[u8]) -> Vec<u8> {
    let mut out = format!("REDIS{version:04}").into_bytes();
    out.extend_from_slice(body);
    out.push(opcode::EOF);
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// `kind`, a key and `payload` as one file entry.
fn entry_body(kind: u8, key: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    write_len(&mut out, key.len() as u64);
    out.extend_from_slice(key);
    out.extend_from_slice(payload);
    out
}

/// A raw (length-prefixed) string.
fn raw(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_len(&mut out, s.len() as u64);
    out.extend_from_slice(s);
    out
}

fn entries(items: Vec<Item>) -> Vec<Entry> {
    items
        .into_iter()
        .filter_map(|item| match item {
            Item::Entry(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// The single value of a file holding one key.
fn only_value(data: &[u8]) -> Value {
    let mut found = entries(load_all(data, default_enc()).expect("loads"));
    assert_eq!(found.len(), 1);
    found.remove(0).value
}

fn list_of(items: &[&[u8]]) -> Value {
    let mut list = ListValue::new();
    for item in items {
        list.push(End::Tail, item, Fill::Entries(128));
    }
    Value::List(list)
}

fn hash_of(pairs: &[(&[u8], &[u8])]) -> Value {
    let enc = default_enc();
    let mut hash = HashValue::new();
    for (f, v) in pairs {
        hash.set(f, v, &enc.hash);
    }
    Value::Hash(hash)
}

fn set_of(members: &[&[u8]]) -> Value {
    let enc = default_enc();
    let mut set = SetValue::create(members[0], members.len(), &enc.set);
    for m in members {
        set.add(m, &enc.set);
    }
    Value::Set(set)
}

fn zset_entries(v: &Value) -> Vec<(Bytes, f64)> {
    v.as_zset().expect("a sorted set").to_vec()
}

// ---- primitives ----

#[test]
fn lengths_use_the_four_widths() {
    for (len, bytes) in [
        (5u64, vec![0x05]),
        (300, vec![0x41, 0x2C]),
        (70000, vec![0x80, 0, 1, 0x11, 0x70]),
        (1 << 40, vec![0x81, 0, 0, 1, 0, 0, 0, 0, 0]),
    ] {
        let mut out = Vec::new();
        write_len(&mut out, len);
        assert_eq!(out, bytes, "length {len}");
        assert_eq!(Reader::new(&out).length().unwrap(), len);
    }
}

#[test]
fn strings_read_in_every_encoding() {
    let cases: &[(&[u8], &[u8])] = &[
        (&[0x03, b'a', b'b', b'c'], b"abc"),
        (&[0xC0, 0xF9], b"-7"),
        (&[0xC1, 0x39, 0x30], b"12345"),
        (&[0xC2, 0x00, 0xCA, 0x9A, 0x3B], b"1000000000"),
    ];
    for (bytes, text) in cases {
        assert_eq!(Reader::new(bytes).string().unwrap(), *text);
    }
    // Redis's own LZF encoding of 100 'a's (from a DUMP payload).
    // 0xC3, compressed length 9, raw length 100, the 9 bytes.
    let lzf = hex("c3094064016161e05700016161");
    assert_eq!(Reader::new(&lzf).string().unwrap(), vec![b'a'; 100]);
}

#[test]
fn lzf_with_a_lying_length_is_refused_without_allocating() {
    // 3 compressed bytes claiming to expand to 2^40 bytes.
    let mut data = vec![0xC3, 0x03];
    write_len(&mut data, 1 << 40);
    data.extend_from_slice(&[0, b'a', b'a']);
    let err = Reader::new(&data).string().unwrap_err();
    assert!(err.message.contains("cannot expand"), "{err}");
}

// ---- real Redis 7.0.15 DUMP payloads ----

/// (key, payload) pairs DUMPed by redis-server 7.0.15 with default
/// settings, except the last two (hash/zset limits set to 1).
const REDIS_PAYLOADS: &[(&str, &str)] = &[
    ("int", "00c139300a009d94ea2793fc08b9"),
    ("big", "000a393939393939393939390a00d26ac299df53efd2"),
    ("str", "000b68656c6c6f20776f726c640a000bfc49b9a6c7a034"),
    ("lzf", "00c3094064016161e057000161610a00e8a3b507b06df271"),
    ("neg", "00c0f90a005e26d130d7a242ab"),
    ("list", "120102c33040721b7200000008008161020101c12c02f178ec038568656c6c6f06e04678e03c000648f2a0860104f420664000028009ff0a0088d923e35f26bd0b"),
    ("hash", "10151500000004008266310382763103826632037b01ff0a004ac585b69f9c1e83"),
    ("zset", "11c331391f390000000800816302842d696e6605816102010181620283322e35048164029702312e30e005000731652b33303018ff0a00b1d584616b3f9d5b"),
    ("iset", "0b18040000000400000090eefeff0100000002000000030000000a00a8b63c622cbf2c9c"),
    ("hset", "0202017801790a00ac3a8d681184aa31"),
    ("zbig", "0502016200000000000000400161000000000000f03f0a007b299e12ce9408d4"),
    ("hbig", "04020266320276320266310276310a008b6523ec6bc03cf6"),
];

fn redis_payload(key: &str) -> Vec<u8> {
    let (_, h) = REDIS_PAYLOADS
        .iter()
        .find(|(k, _)| *k == key)
        .expect("known");
    hex(h)
}

#[test]
fn redis_payloads_load_with_their_values() {
    let load = |key| load_payload(&redis_payload(key), &default_enc()).expect(key);
    assert_eq!(load("int"), Value::Str(StrValue::Int(12345)));
    assert_eq!(load("big"), Value::Str(StrValue::Int(9_999_999_999)));
    assert_eq!(
        load("str"),
        Value::Str(StrValue::from_bytes(b"hello world"))
    );
    assert_eq!(load("lzf"), Value::Str(StrValue::from_bytes(&[b'a'; 100])));
    assert_eq!(load("neg"), Value::Str(StrValue::Int(-7)));
    let long_x = vec![b'x'; 70];
    let min = i64::MIN.to_string();
    assert_eq!(
        load("list"),
        list_of(&[
            b"a",
            b"1",
            b"300",
            b"-5000",
            b"hello",
            &long_x,
            b"100000",
            min.as_bytes()
        ])
    );
    assert_eq!(load("hash"), hash_of(&[(b"f1", b"v1"), (b"f2", b"123")]));
    let z = load("zset");
    assert_eq!(z.encoding_name(), "listpack");
    assert_eq!(
        zset_entries(&z),
        vec![
            (Bytes::from("c"), f64::NEG_INFINITY),
            (Bytes::from("a"), 1.0),
            (Bytes::from("b"), 2.5),
            (Bytes::from("d"), 1e300),
        ]
    );
    let iset = load("iset");
    assert_eq!(iset.encoding_name(), "intset");
    assert_eq!(iset, set_of(&[b"-70000", b"1", b"2", b"3"]));
    assert_eq!(load("hset"), set_of(&[b"x", b"y"]));
    let zbig = load("zbig");
    assert_eq!(
        zset_entries(&zbig),
        vec![(Bytes::from("a"), 1.0), (Bytes::from("b"), 2.0)]
    );
    assert_eq!(load("hbig"), hash_of(&[(b"f1", b"v1"), (b"f2", b"v2")]));
}

#[test]
fn keel_payloads_equal_redis_payloads_byte_for_byte() {
    // The values whose encoding has one possible byte form (no LZF, no
    // hash-table order): Keel's DUMP must be exactly Redis's.
    for key in ["int", "big", "str", "neg", "hash", "iset", "zbig"] {
        let payload = redis_payload(key);
        // zbig was saved with zset-max-listpack-entries 1.
        let config = Config {
            zset_max_listpack_entries: 1,
            ..Config::default()
        };
        let value = load_payload(&payload, &Encodings::from_config(&config)).expect(key);
        assert_eq!(dump_payload(&value, &opts()), payload, "DUMP of {key}");
    }
}

#[test]
fn payload_footer_is_checked() {
    let good = redis_payload("str");
    let mut bad_crc = good.clone();
    *bad_crc.last_mut().unwrap() ^= 1;
    let mut newer = good.clone();
    let at = newer.len() - 10;
    newer[at] = 11;
    for bad in [bad_crc, newer, good[..9].to_vec(), Vec::new()] {
        assert_eq!(
            load_payload(&bad, &default_enc()),
            Err(PayloadError::VersionOrChecksum)
        );
    }
}

#[test]
fn payload_with_an_empty_collection_is_bad_format() {
    let mut body = vec![kind::SET, 0];
    body.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    assert!(matches!(
        load_payload(&body, &default_enc()),
        Err(PayloadError::BadFormat(_))
    ));
}

// ---- old and alternative encodings, hand-built ----

/// A ziplist of "ab", 7 (immediate), 300 (int16), -2 (int8), 100000
/// (int24), -100000000 (int32) and 2^40 (int64).
const ZIPLIST_MIXED: &str =
    "2d0000002200000007000002616204f802c02c0104fefe03f0a0860105d0001f0afa06e00000000000010000ff";
/// A ziplist of f, v, f2, 2 (hash pairs).
const ZIPLIST_HASH: &str = "170000001400000004000001660301760302663204f3ff";
/// A ziplist of a, "1.5", b, 0 (sorted-set pairs).
const ZIPLIST_ZSET: &str = "180000001500000004000001610303312e3505016203f1ff";

fn mixed_list() -> Value {
    list_of(&[
        b"ab",
        b"7",
        b"300",
        b"-2",
        b"100000",
        b"-100000000",
        b"1099511627776",
    ])
}

#[test]
fn list_ziplist_and_quicklist_v1_load() {
    let blob = raw(&hex(ZIPLIST_MIXED));
    let v = only_value(&file(9, &entry_body(kind::LIST_ZIPLIST, b"l", &blob)));
    assert_eq!(v, mixed_list());
    // Quicklist v1: two ziplist nodes.
    let mut payload = vec![2];
    payload.extend_from_slice(&blob);
    payload.extend_from_slice(&blob);
    let v = only_value(&file(9, &entry_body(kind::LIST_QUICKLIST, b"l", &payload)));
    assert_eq!(v.as_list().unwrap().len(), 14);
}

#[test]
fn quicklist_v2_reads_plain_and_packed_nodes() {
    let mut lp = listpack::ListpackBuilder::new();
    lp.push(b"a");
    lp.push(b"-4096");
    let mut payload = vec![3];
    write_len(&mut payload, QUICKLIST_NODE_PACKED);
    payload.extend_from_slice(&raw(&lp.finish()));
    write_len(&mut payload, QUICKLIST_NODE_PLAIN);
    payload.extend_from_slice(&raw(b"plain element"));
    // An empty packed node, which Redis skips.
    write_len(&mut payload, QUICKLIST_NODE_PACKED);
    payload.extend_from_slice(&raw(&listpack::ListpackBuilder::new().finish()));
    let v = only_value(&file(
        10,
        &entry_body(kind::LIST_QUICKLIST_2, b"l", &payload),
    ));
    assert_eq!(v, list_of(&[b"a", b"-4096", b"plain element"]));
}

#[test]
fn plain_list_set_hash_and_string_score_zset_load() {
    let mut list = vec![2];
    list.extend(raw(b"x").into_iter().chain(raw(b"y")));
    assert_eq!(
        only_value(&file(6, &entry_body(kind::LIST, b"l", &list))),
        list_of(&[b"x", b"y"])
    );
    let mut set = vec![2];
    set.extend(raw(b"1").into_iter().chain(raw(b"2")));
    let v = only_value(&file(6, &entry_body(kind::SET, b"s", &set)));
    assert_eq!(v.encoding_name(), "intset");
    assert_eq!(v, set_of(&[b"1", b"2"]));
    let mut hash = vec![1];
    hash.extend(raw(b"f").into_iter().chain(raw(b"v")));
    assert_eq!(
        only_value(&file(6, &entry_body(kind::HASH, b"h", &hash))),
        hash_of(&[(b"f", b"v")])
    );
    // Old ZSET: scores as text, 254/255 for the infinities.
    let mut zset = vec![3];
    zset.extend(raw(b"a"));
    zset.extend([3, b'1', b'.', b'5']);
    zset.extend(raw(b"b"));
    zset.push(254);
    zset.extend(raw(b"c"));
    zset.push(255);
    let v = only_value(&file(6, &entry_body(kind::ZSET, b"z", &zset)));
    assert_eq!(
        zset_entries(&v),
        vec![
            (Bytes::from("c"), f64::NEG_INFINITY),
            (Bytes::from("a"), 1.5),
            (Bytes::from("b"), f64::INFINITY)
        ]
    );
}

#[test]
fn ziplist_hash_and_zset_and_zipmap_load() {
    let v = only_value(&file(
        9,
        &entry_body(kind::HASH_ZIPLIST, b"h", &raw(&hex(ZIPLIST_HASH))),
    ));
    assert_eq!(v, hash_of(&[(b"f", b"v"), (b"f2", b"2")]));
    let v = only_value(&file(
        9,
        &entry_body(kind::ZSET_ZIPLIST, b"z", &raw(&hex(ZIPLIST_ZSET))),
    ));
    assert_eq!(
        zset_entries(&v),
        vec![(Bytes::from("b"), 0.0), (Bytes::from("a"), 1.5)]
    );
    // Zipmap: count 2, "f" -> "v" (free 0), "ff" -> "vv" (free 1, one pad byte).
    let zipmap = [
        2, 1, b'f', 1, 0, b'v', 2, b'f', b'f', 2, 1, b'v', b'v', 0, 0xFF,
    ];
    let v = only_value(&file(
        3,
        &entry_body(kind::HASH_ZIPMAP, b"h", &raw(&zipmap)),
    ));
    assert_eq!(v, hash_of(&[(b"f", b"v"), (b"ff", b"vv")]));
}

#[test]
fn intsets_of_every_width_and_set_listpack_load() {
    for (ints, width) in [
        (vec![-5i64, 7], 2),
        (vec![1, 1 << 20], 4),
        (vec![-(1 << 40), 3], 8),
    ] {
        let blob = intset::encode(&ints);
        assert_eq!(blob[0] as usize, width);
        let v = only_value(&file(10, &entry_body(kind::SET_INTSET, b"s", &raw(&blob))));
        let texts: Vec<Vec<u8>> = ints.iter().map(|i| crate::util::fmt_i64(*i)).collect();
        let members: Vec<&[u8]> = texts.iter().map(|t| t.as_slice()).collect();
        assert_eq!(v, set_of(&members));
    }
    let mut lp = listpack::ListpackBuilder::new();
    lp.push(b"m1");
    lp.push(b"42");
    let v = only_value(&file(
        11,
        &entry_body(kind::SET_LISTPACK, b"s", &raw(&lp.finish())),
    ));
    assert_eq!(v, set_of(&[b"m1", b"42"]));
}

#[test]
fn listpack_integers_of_every_width_round_trip() {
    let numbers = [
        0i64,
        127,
        128,
        -1,
        -4096,
        4095,
        4096,
        -32768,
        32767,
        40000,
        -8388608,
        8388607,
        8388608,
        i32::MIN as i64,
        i32::MAX as i64,
        i64::MIN,
        i64::MAX,
    ];
    let mut lp = listpack::ListpackBuilder::new();
    for n in numbers {
        lp.push_int(n);
    }
    let long = vec![b'z'; 5000];
    lp.push(&long);
    lp.push(&[b'y'; 100]);
    let blob = lp.finish();
    let decoded = listpack::decode(&blob).unwrap();
    let ints: Vec<i64> = decoded
        .iter()
        .filter_map(|e| match e {
            blob::Elem::Int(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(ints, numbers);
    assert_eq!(decoded[numbers.len()], blob::Elem::Bytes(&long));
}

// ---- files ----

#[test]
fn file_opcodes_expiry_access_and_functions() {
    let mut body = Vec::new();
    body.push(opcode::AUX);
    body.extend(raw(b"redis-ver").into_iter().chain(raw(b"7.0.15")));
    body.push(opcode::FUNCTION2);
    body.extend(raw(b"#!lua name=lib\n"));
    body.extend([opcode::SELECTDB, 3, opcode::RESIZEDB, 2, 1]);
    body.push(opcode::EXPIRETIME);
    body.extend(1_700_000_000u32.to_le_bytes());
    body.extend([opcode::IDLE, 10]);
    body.extend(entry_body(kind::STRING, b"a", &raw(b"1")));
    body.push(opcode::EXPIRETIME_MS);
    body.extend(1_700_000_000_123u64.to_le_bytes());
    body.extend([opcode::FREQ, 9]);
    body.extend(entry_body(kind::STRING, b"b", &raw(b"2")));
    let items = load_all(&file(10, &body), default_enc()).unwrap();
    assert_eq!(
        items[..4],
        [
            Item::Aux {
                key: b"redis-ver".to_vec(),
                value: b"7.0.15".to_vec()
            },
            Item::Function {
                code: b"#!lua name=lib\n".to_vec()
            },
            Item::SelectDb(3),
            Item::ResizeDb {
                size: 2,
                expires: 1
            },
        ]
    );
    let found = entries(items);
    assert_eq!(found[0].db, 3);
    assert_eq!(found[0].expire_at_ms, Some(1_700_000_000_000));
    assert_eq!((found[0].idle_secs, found[0].freq), (Some(10), None));
    assert_eq!(found[1].expire_at_ms, Some(1_700_000_000_123));
    assert_eq!((found[1].idle_secs, found[1].freq), (None, Some(9)));
}

fn load_error(data: &[u8]) -> RdbError {
    load_all(data, default_enc()).expect_err("refused")
}

#[test]
fn refusals_name_the_offset_and_the_reason() {
    let e = load_error(b"REDIS0012");
    assert_eq!(e.message, "Can't handle RDB format version 12");
    assert_eq!(load_error(b"RUDIS0010").offset, 0);
    let e = load_error(&file(10, &[opcode::MODULE_AUX, 0, 0]));
    assert_eq!(e.offset, 9);
    assert!(e.message.contains("module auxiliary"), "{e}");
    let e = load_error(&file(10, &[opcode::FUNCTION_PRE_GA, 0]));
    assert!(e.message.contains("pre-release function"), "{e}");
    let e = load_error(&file(10, &entry_body(kind::STREAM_LISTPACKS_2, b"s", &[0])));
    assert_eq!(e.offset, 12, "{e}");
    assert!(e.message.contains("stream value (type 19)"), "{e}");
    let e = load_error(&file(10, &entry_body(kind::MODULE_2, b"m", &[0])));
    assert!(e.message.contains("module value (type 7)"), "{e}");
    let e = load_error(&file(10, &entry_body(8, b"x", &[0])));
    assert!(e.message.contains("unknown value type 8"), "{e}");
    // Truncated: no EOF.
    let e = load_error(b"REDIS0010\xfe\x00");
    assert!(e.message.contains("unexpected end"), "{e}");
}

#[test]
fn checksum_is_verified_unless_zero() {
    let good = file(10, &entry_body(kind::STRING, b"k", &raw(b"v")));
    assert_eq!(entries(load_all(&good, default_enc()).unwrap()).len(), 1);
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 1] ^= 0xFF;
    assert!(load_error(&bad).message.contains("wrong RDB checksum"));
    let mut zero = good.clone();
    zero[n - 8..].fill(0);
    assert!(load_all(&zero, default_enc()).is_ok());
}

#[test]
fn corrupt_blobs_and_duplicates_are_refused() {
    let mut zl = hex(ZIPLIST_MIXED);
    zl[0] += 1; // Header length no longer matches.
    let e = load_error(&file(9, &entry_body(kind::LIST_ZIPLIST, b"l", &raw(&zl))));
    assert!(e.message.contains("invalid ziplist"), "{e}");
    assert_eq!(e.offset, 12);
    let mut dup = vec![2];
    dup.extend(raw(b"a").into_iter().chain(raw(b"a")));
    let e = load_error(&file(10, &entry_body(kind::SET, b"s", &dup)));
    assert!(e.message.contains("duplicate set member"), "{e}");
    let unsorted = [2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0];
    let e = load_error(&file(
        10,
        &entry_body(kind::SET_INTSET, b"s", &raw(&unsorted)),
    ));
    assert!(e.message.contains("not sorted"), "{e}");
    let mut nan = vec![1];
    nan.extend(raw(b"m"));
    nan.extend(f64::NAN.to_le_bytes());
    let e = load_error(&file(10, &entry_body(kind::ZSET_2, b"z", &nan)));
    assert!(e.message.contains("NaN"), "{e}");
    // A count far beyond the input.
    let e = load_error(&file(
        10,
        &entry_body(kind::LIST, b"l", &[0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
    ));
    assert!(e.message.contains("exceeds"), "{e}");
}

#[test]
fn empty_collections_are_skipped_and_counted() {
    let mut body = entry_body(kind::LIST, b"empty", &[0]);
    body.extend(entry_body(kind::STRING, b"k", &raw(b"v")));
    let data = file(10, &body);
    let mut loader = RdbLoader::new(&data, default_enc()).unwrap();
    let mut keys = Vec::new();
    while let Some(item) = loader.next_item().unwrap() {
        if let Item::Entry(e) = item {
            keys.push(e.key);
        }
    }
    assert_eq!(keys, vec![Bytes::from("k")]);
    assert_eq!((loader.keys_loaded(), loader.empty_keys_skipped()), (1, 1));
    assert!(loader.is_done());
    assert_eq!(loader.offset(), loader.total_bytes());
}

// ---- the writer ----

fn now() -> crate::time::Now {
    crate::time::Now::new(0, 1_700_000_000_000)
}

#[test]
fn writer_output_is_a_loadable_file_in_chunks() {
    let mut w = RdbWriter::new(WriteOptions::from_config(&Config::default(), now()));
    w.begin(&standard_aux(1_700_000_000, 12345));
    let mut chunks = w.take_output();
    w.select_db(0, 2, 1);
    let obj = Object::new(Value::Str(StrValue::from_bytes(&[b'q'; 300])), 0);
    w.write_entry(b"long", &obj, Some(1_800_000_000_000));
    chunks.extend(w.take_output());
    w.write_entry(b"list", &Object::new(mixed_list(), 0), None);
    let crc = w.finish();
    chunks.extend(w.take_output());
    assert_eq!(crc.to_le_bytes(), chunks[chunks.len() - 8..]);
    assert_eq!(crc, crc64(&chunks[..chunks.len() - 8]));
    let items = load_all(&chunks, default_enc()).unwrap();
    assert!(items.contains(&Item::Aux {
        key: b"redis-ver".to_vec(),
        value: crate::cmd::connection::REDIS_VERSION.as_bytes().to_vec()
    }));
    let found = entries(items);
    assert_eq!(found[0].value, obj.value);
    assert_eq!(found[0].expire_at_ms, Some(1_800_000_000_000));
    assert_eq!(found[1].value, mixed_list());
    assert!(chunks.len() < 300, "the 300-byte string was compressed");
}

#[test]
fn writer_saves_idle_time_or_frequency_by_policy() {
    let config = Config {
        maxmemory_policy: "allkeys-lru".into(),
        ..Config::default()
    };
    let opts = WriteOptions::from_config(&config, now());
    assert!(matches!(opts.access, AccessSave::Idle { .. }));
    let mut w = RdbWriter::new(opts);
    w.begin::<&str, &str>(&[]);
    let access = crate::db::access::lru_clock(now()) - 50;
    w.write_entry(
        b"k",
        &Object::new(Value::Str(StrValue::Int(1)), access),
        None,
    );
    w.finish();
    let found = entries(load_all(&w.take_output(), default_enc()).unwrap());
    assert_eq!(found[0].idle_secs, Some(50));
    let lfu = Config {
        maxmemory_policy: "volatile-lfu".into(),
        ..Config::default()
    };
    let mut w = RdbWriter::new(WriteOptions::from_config(&lfu, now()));
    w.begin::<&str, &str>(&[]);
    let word = crate::db::access::initial(now(), crate::db::access::Policy::Lfu, &lfu);
    w.write_entry(b"k", &Object::new(Value::Str(StrValue::Int(1)), word), None);
    w.finish();
    let found = entries(load_all(&w.take_output(), default_enc()).unwrap());
    assert_eq!(found[0].freq, Some(crate::db::access::LFU_INIT_VAL as u8));
    let mut w = RdbWriter::new(WriteOptions {
        checksum: false,
        ..WriteOptions::from_config(&Config::default(), now())
    });
    w.begin::<&str, &str>(&[]);
    assert_eq!(w.finish(), 0);
}

#[test]
fn restored_access_follows_the_policy() {
    let lru = Config::default();
    let clock = crate::db::access::lru_clock(now());
    assert_eq!(
        loader::restored_access(now(), &lru, Some(10), Some(3)),
        Some(clock - 10)
    );
    assert_eq!(loader::restored_access(now(), &lru, None, Some(3)), None);
    let lfu = Config {
        maxmemory_policy: "allkeys-lfu".into(),
        ..Config::default()
    };
    let word = loader::restored_access(now(), &lfu, Some(10), Some(200)).unwrap();
    assert_eq!(word & 0xFF, 200);
    assert_eq!(loader::restored_access(now(), &lfu, Some(10), None), None);
}

// ---- properties ----

/// A value described independently of encodings, to build with any limits.
#[derive(Debug, Clone)]
enum Spec {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    Set(Vec<Vec<u8>>),
    ZSet(Vec<(Vec<u8>, f64)>),
}

fn element() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        (-5000i64..5000).prop_map(|n| n.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..40),
        (1usize..3, 20usize..80).prop_map(|(c, n)| vec![b'a' + c as u8; n]),
    ]
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1000i64..1000).prop_map(|n| n as f64),
        any::<f64>().prop_filter("no NaN", |f| !f.is_nan()),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    use proptest::collection::vec;
    prop_oneof![
        element().prop_map(Spec::Str),
        vec(element(), 1..30).prop_map(Spec::List),
        vec((element(), element()), 1..30).prop_map(Spec::Hash),
        vec(element(), 1..30).prop_map(Spec::Set),
        vec((element(), score()), 1..30).prop_map(Spec::ZSet),
    ]
}

fn small_limits() -> impl Strategy<Value = Config> {
    (0u64..8, 0u64..24, prop_oneof![-2i64..0, 1i64..5], 0u64..8).prop_map(
        |(entries, value, fill, intset)| Config {
            hash_max_listpack_entries: entries,
            hash_max_listpack_value: value,
            zset_max_listpack_entries: entries,
            zset_max_listpack_value: value,
            set_max_listpack_entries: entries,
            set_max_listpack_value: value,
            set_max_intset_entries: intset,
            list_max_listpack_size: fill,
            ..Config::default()
        },
    )
}

fn build(spec: &Spec, enc: &Encodings) -> Value {
    match spec {
        Spec::Str(s) => Value::Str(StrValue::from_bytes(s)),
        Spec::List(items) => {
            let mut list = ListValue::new();
            items
                .iter()
                .for_each(|i| list.push(End::Tail, i, enc.list_fill));
            Value::List(list)
        }
        Spec::Hash(pairs) => {
            let mut hash = HashValue::new();
            pairs.iter().for_each(|(f, v)| {
                hash.set(f, v, &enc.hash);
            });
            Value::Hash(hash)
        }
        Spec::Set(members) => {
            let mut set = SetValue::create(&members[0], members.len(), &enc.set);
            members.iter().for_each(|m| {
                set.add(m, &enc.set);
            });
            Value::Set(set)
        }
        Spec::ZSet(entries) => {
            let mut z = ZSetValue::for_first_member(entries[0].0.len(), &enc.zset);
            entries.iter().for_each(|(m, s)| {
                z.set(m, *s, &enc.zset);
            });
            Value::ZSet(z)
        }
    }
}

/// Whether the round trip may change the encoding: a set Keel keeps as a
/// listpack is written as a plain set (RDB 10 has no set listpack), and
/// sorted sets and sets are rebuilt in the encoding that fits them.
fn same_encoding_expected(v: &Value) -> bool {
    matches!(v, Value::Str(_) | Value::List(_) | Value::Hash(_))
}

fn dataset_file(values: &[(Value, Option<u64>)], opts: WriteOptions, per_chunk: usize) -> Vec<u8> {
    let mut w = RdbWriter::new(opts);
    w.begin(&standard_aux(1_700_000_000, 0));
    w.select_db(0, values.len() as u64, 0);
    let mut out = w.take_output();
    for (i, (value, expire)) in values.iter().enumerate() {
        let key = format!("key:{i}");
        w.write_entry(key.as_bytes(), &Object::new(value.clone(), 0), *expire);
        if i % per_chunk.max(1) == 0 {
            out.extend(w.take_output());
        }
    }
    w.finish();
    out.extend(w.take_output());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_dataset_round_trips(
        specs in proptest::collection::vec((spec(), proptest::option::of(any::<u64>())), 0..12),
        config in small_limits(),
        compression in any::<bool>(),
        per_chunk in 1usize..4,
    ) {
        let enc = Encodings::from_config(&config);
        let values: Vec<(Value, Option<u64>)> =
            specs.iter().map(|(s, e)| (build(s, &enc), *e)).collect();
        let mut opts = WriteOptions::from_config(&config, now());
        opts.value.compression = compression;
        let data = dataset_file(&values, opts, per_chunk);
        let loaded = entries(load_all(&data, enc).expect("loads"));
        prop_assert_eq!(loaded.len(), values.len());
        for (entry, (value, expire)) in loaded.iter().zip(&values) {
            prop_assert_eq!(&entry.value, value);
            prop_assert_eq!(entry.expire_at_ms, *expire);
            if same_encoding_expected(value) {
                prop_assert_eq!(entry.value.encoding_name(), value.encoding_name());
            }
            // The DUMP payload of the same value round-trips too.
            let payload = dump_payload(value, &ValueOptions { compression, list_fill: enc.list_fill });
            prop_assert_eq!(&load_payload(&payload, &enc).expect("payload loads"), value);
        }
    }

    #[test]
    fn corrupt_files_never_panic(
        specs in proptest::collection::vec((spec(), proptest::option::of(any::<u64>())), 1..6),
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        checksum in any::<bool>(),
    ) {
        let enc = default_enc();
        let values: Vec<(Value, Option<u64>)> =
            specs.iter().map(|(s, e)| (build(s, &enc), *e)).collect();
        let opts = WriteOptions { checksum, ..WriteOptions::from_config(&Config::default(), now()) };
        let mut data = dataset_file(&values, opts, 1);
        for (at, byte) in &flips {
            let i = at.index(data.len());
            data[i] ^= byte;
        }
        // Must return, Ok or Err, never panic.
        let _ = load_all(&data, enc);
        let _ = load_all(&data[..cut.index(data.len())], enc);
        // The value parser on its own, past the footer checks.
        let body = &data[9..];
        let mut r = Reader::new(body);
        if let Ok(k) = r.u8() {
            let _ = value::read_value(&mut r, k, &enc);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), kind in 0u8..22) {
        let enc = default_enc();
        let mut data = b"REDIS0010".to_vec();
        data.extend_from_slice(&bytes);
        let _ = load_all(&data, enc);
        let _ = value::read_value(&mut Reader::new(&bytes), kind, &enc);
        let _ = listpack::decode(&bytes);
        let _ = ziplist::decode(&bytes);
        let _ = intset::decode(&bytes);
        let _ = zipmap::decode(&bytes);
    }
}
