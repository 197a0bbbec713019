//! Arbitrary bytes as an RDB file and as a DUMP payload: the loader and the
//! payload reader must return a value or an error, never panic, never
//! allocate what the input only claims. A file the loader accepts must
//! load to values that write back to a file it accepts again.

#![no_main]

use keel_engine::rdb::loader::{load_all, Item};
use keel_engine::rdb::{dump, writer, Encodings};
use keel_engine::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = Config::default();
    let enc = Encodings::from_config(&config);
    if let Ok(items) = load_all(data, enc.clone()) {
        rewrite_and_reload(&items, &config);
    }
    if let Ok(value) = dump::load_payload(data, &enc) {
        let opts = writer::ValueOptions::from_config(&config);
        let payload = dump::dump_payload(&value, &opts);
        let again = dump::load_payload(&payload, &enc).expect("a payload we wrote loads");
        assert_eq!(again, value, "DUMP of a loaded payload round-trips");
    }
});

/// Writes the loaded entries to a new file and loads it: same entries.
fn rewrite_and_reload(items: &[Item], config: &Config) {
    let now = keel_engine::Now::new(0, 1_700_000_000_000);
    let mut w = writer::RdbWriter::new(writer::WriteOptions::from_config(config, now));
    w.begin::<&str, &str>(&[]);
    let mut current_db = None;
    let mut written = Vec::new();
    for item in items {
        if let Item::Entry(e) = item {
            if current_db != Some(e.db) {
                w.select_db(e.db as usize, 0, 0);
                current_db = Some(e.db);
            }
            let obj = keel_engine::db::Object::new(e.value.clone(), 0);
            w.write_entry(&e.key, &obj, e.expire_at_ms);
            written.push((e.db, e.key.clone(), e.value.clone()));
        }
    }
    w.finish();
    let file = w.take_output();
    let enc = Encodings::from_config(config);
    let reloaded: Vec<_> = load_all(&file, enc)
        .expect("a file we wrote loads")
        .into_iter()
        .filter_map(|item| match item {
            Item::Entry(e) => Some((e.db, e.key, e.value)),
            _ => None,
        })
        .collect();
    assert_eq!(reloaded, written, "entries survive a rewrite");
}
