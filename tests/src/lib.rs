//! Shared support for Keel's end-to-end tests (the tests are in `tests/`):
//!
//! - [`keel::KeelServer`]: a Keel server on a free loopback port, shut down on drop;
//! - [`redis_server::RedisServer`]: a real `redis-server` process, killed on drop;
//! - [`conn::RespConn`]: a small blocking RESP client for byte-level tests;
//! - [`tools`]: finding external binaries, and the skip-or-fail rule for them;
//! - [`tempdir::TempDir`]: a test's temporary directory, removed on drop;
//! - [`gen`] and [`differ`]: generated command sequences, run on Keel and on
//!   a real Redis with their replies compared (the differential test).

pub mod conn;
pub mod differ;
pub mod gen;
pub mod keel;
pub mod redis_server;
pub mod replwait;
pub mod tempdir;
pub mod tools;

pub use conn::RespConn;
pub use keel::KeelServer;
pub use redis_server::RedisServer;
pub use tempdir::TempDir;
