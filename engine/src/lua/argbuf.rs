//! The arguments of the commands scripts call (`redis.call`), built into
//! a buffer kept across calls and runs.
//!
//! A script calls the same few short arguments again and again (command
//! names, keys): the last [`RECENT`] short ones are kept, and an argument
//! equal to one of them shares its bytes (a reference count) instead of a
//! new copy, so a repeated call allocates nothing for its arguments.

use super::numfmt;
use bytes::Bytes;
use keel_luahook::Arg;

/// How many recent arguments are kept.
const RECENT: usize = 8;
/// Only arguments this short are kept (the memory kept stays tiny, and
/// comparing with them stays cheap).
const MAX_RECENT_LEN: usize = 64;

/// A command's arguments, and the recent short arguments.
#[derive(Debug, Default)]
pub struct ArgBuffer {
    argv: Vec<Bytes>,
    recent: [Bytes; RECENT],
    /// The slot of `recent` the next new argument replaces.
    next: usize,
}

impl ArgBuffer {
    /// The arguments last filled in.
    pub fn argv(&self) -> &[Bytes] {
        &self.argv
    }

    /// Fills the buffer with `args` (cleared first): strings, and numbers
    /// as Lua prints them.
    pub fn fill(&mut self, args: &[Arg<'_>]) -> Result<(), &'static str> {
        self.argv.clear();
        if args.is_empty() {
            return Err("ERR Please specify at least one argument for this redis lib call");
        }
        for arg in args {
            let bytes = match arg {
                Arg::Str(s) => self.shared(s),
                Arg::Number(n) => self.shared(numfmt::lua_number(*n).as_bytes()),
                Arg::Other(_) => {
                    return Err("ERR Lua redis lib command arguments must be strings or integers")
                }
            };
            self.argv.push(bytes);
        }
        Ok(())
    }

    /// `s` as bytes: a recent equal argument shared, or a new copy (kept
    /// as recent when short).
    fn shared(&mut self, s: &[u8]) -> Bytes {
        if s.len() > MAX_RECENT_LEN {
            return Bytes::copy_from_slice(s);
        }
        if let Some(found) = self.recent.iter().find(|b| b.as_ref() == s) {
            return found.clone();
        }
        let bytes = Bytes::copy_from_slice(s);
        self.recent[self.next] = bytes.clone();
        self.next = (self.next + 1) % RECENT;
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs<'a>(items: &[&'a str]) -> Vec<Arg<'a>> {
        items.iter().map(|s| Arg::Str(s.as_bytes())).collect()
    }

    #[test]
    fn fills_strings_and_numbers_as_lua_prints_them() {
        let mut buf = ArgBuffer::default();
        let args = [Arg::Str(b"INCRBY"), Arg::Str(b"k"), Arg::Number(3.0)];
        buf.fill(&args).expect("valid arguments");
        assert_eq!(buf.argv(), &[&b"INCRBY"[..], b"k", b"3"]);
        buf.fill(&[Arg::Str(b"GET"), Arg::Number(0.5)])
            .expect("valid");
        assert_eq!(buf.argv(), &[&b"GET"[..], b"0.5"]);
    }

    #[test]
    fn refuses_no_argument_and_other_types() {
        let mut buf = ArgBuffer::default();
        assert_eq!(
            buf.fill(&[]),
            Err("ERR Please specify at least one argument for this redis lib call")
        );
        assert_eq!(
            buf.fill(&[Arg::Str(b"GET"), Arg::Other("table")]),
            Err("ERR Lua redis lib command arguments must be strings or integers")
        );
    }

    #[test]
    fn a_repeated_short_argument_shares_its_bytes() {
        let mut buf = ArgBuffer::default();
        buf.fill(&strs(&["INCR", "counter"])).expect("valid");
        let first = buf.argv().to_vec();
        buf.fill(&strs(&["GET", "counter"])).expect("valid");
        buf.fill(&strs(&["INCR", "counter"])).expect("valid");
        assert_eq!(buf.argv(), &first[..]);
        // Same bytes in memory: shared, not copied again.
        assert_eq!(buf.argv()[0].as_ptr(), first[0].as_ptr());
        assert_eq!(buf.argv()[1].as_ptr(), first[1].as_ptr());
    }

    #[test]
    fn long_arguments_are_copied_and_recent_ones_stay_bounded() {
        let mut buf = ArgBuffer::default();
        let long = "x".repeat(MAX_RECENT_LEN + 1);
        buf.fill(&strs(&["SET", &long])).expect("valid");
        let first = buf.argv()[1].clone();
        buf.fill(&strs(&["SET", &long])).expect("valid");
        assert_eq!(buf.argv()[1], first);
        assert_ne!(buf.argv()[1].as_ptr(), first.as_ptr());
        let names: Vec<String> = (0..RECENT * 3).map(|i| format!("k{i}")).collect();
        for name in &names {
            buf.fill(&strs(&[name])).expect("valid");
        }
        let kept: Vec<&[u8]> = buf.recent.iter().map(|b| b.as_ref()).collect();
        assert_eq!(kept.len(), RECENT);
        let newest = names[names.len() - RECENT..].iter().map(|n| n.as_bytes());
        for name in newest {
            assert!(kept.contains(&name));
        }
    }
}
