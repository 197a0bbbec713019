use crate::config::Config;
use crate::resp::frame::Frame;
use crate::testing::{request, Harness};

fn harness() -> Harness {
    Harness::new(Config::default())
}

/// Sends a command without waiting for its reply (it may block).
fn send(h: &mut Harness, c: u64, args: &[&str]) {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    h.send_raw(c, &request(&args));
}

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.to_string().into())
}

fn arr(items: &[&str]) -> Frame {
    Frame::Array(items.iter().map(|s| bulk(s)).collect())
}

fn int(n: i64) -> Frame {
    Frame::Int(n)
}

fn err(text: &str) -> Frame {
    Frame::Error(text.into())
}

/// The raw bytes `c` received and has not read (and reads them).
fn raw(h: &mut Harness, c: u64) -> String {
    let text = String::from_utf8_lossy(&h.pending_bytes(c)).into_owned();
    while h.read(c).is_some() {}
    text
}

fn info_field(h: &mut Harness, c: u64, section: &str, name: &str) -> String {
    let text = h.call(c, &["INFO", section]).text().expect("INFO text");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
        .unwrap_or_default()
}

mod answers_at_once;
mod effects;
mod errors;
mod in_transactions;
mod model;
mod unblock;
mod waits;
mod wake_order;
