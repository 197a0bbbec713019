//! Arbitrary bytes as part of an append-only file at start: the manifest,
//! a base file (commands or an RDB preamble) or an incr file. The node
//! must either refuse to start (a fatal error naming the file) or load and
//! serve; it never panics, and a refused start never serves data.

#![no_main]

use keel_engine::resp::frame::Frame;
use keel_engine::testing::mem_disk::MemDisk;
use keel_engine::testing::Harness;
use keel_engine::Config;
use libfuzzer_sys::fuzz_target;

const DIR: &str = "/data/appendonlydir";

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let mut disk = MemDisk::default();
    let manifest = format!("{DIR}/appendonly.aof.manifest");
    match which % 4 {
        // The fuzzer writes the manifest (its files may or may not exist).
        0 => {
            disk.put_durable(&manifest, bytes);
            disk.put_durable(&format!("{DIR}/appendonly.aof.1.incr.aof"), b"*1\r\n$4\r\nPING\r\n");
        }
        // A base of commands.
        1 => {
            disk.put_durable(&manifest, b"file appendonly.aof.1.base.aof seq 1 type b\n");
            disk.put_durable(&format!("{DIR}/appendonly.aof.1.base.aof"), bytes);
        }
        // An RDB preamble as the base.
        2 => {
            disk.put_durable(&manifest, b"file appendonly.aof.1.base.rdb seq 1 type b\n");
            disk.put_durable(&format!("{DIR}/appendonly.aof.1.base.rdb"), bytes);
        }
        // An incr file (the last one: a torn tail may be dropped).
        _ => {
            disk.put_durable(&manifest, b"file appendonly.aof.1.incr.aof seq 1 type i\n");
            disk.put_durable(&format!("{DIR}/appendonly.aof.1.incr.aof"), bytes);
        }
    }
    let config = Config {
        appendonly: true,
        dir: "/data".into(),
        save: Vec::new(),
        ..Config::default()
    };
    let mut h = Harness::with_disk(config, disk);
    h.start();
    h.advance(0);
    if h.fatal.is_some() {
        return;
    }
    let client = h.connect();
    match h.call(client, &["DBSIZE"]) {
        Frame::Int(_) => {}
        // Still loading a big file is an answer too; anything else is not.
        Frame::Error(e) => assert!(e.starts_with("LOADING"), "unexpected error {e}"),
        other => panic!("DBSIZE answered {other:?}"),
    }
});
