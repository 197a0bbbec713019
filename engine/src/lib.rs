//! `keel-engine`: the sans-IO core of Keel, a Redis-compatible data store.
//!
//! No sockets, files, clocks, threads or OS randomness: time and a seed are
//! inputs, and everything the outside world must do is polled as output.
//! See [`node::Node`] for the API and the order to drive it.

pub mod aof;
pub mod client;
pub mod cmd;
pub mod config;
pub mod db;
pub mod disk;
pub mod effects;
pub mod glob;
pub mod limits;
pub mod lua;
pub mod node;
pub mod notify;
pub mod persist;
pub mod pubsub;
pub mod rdb;
pub mod repl;
pub mod resp;
pub mod server;
pub mod testing;
pub mod time;
pub mod types;
pub mod util;
pub mod watch;

pub use client::{ClientId, ClientInfo};
pub use config::Config;
pub use node::{Input, Node, Output};
pub use time::Now;
