//! Arbitrary bytes, cut into arbitrary chunks, through the request parser
//! and through a whole node. Checks that nothing panics, and that the
//! chunking changes nothing: the same commands and the same protocol error
//! as the bytes parsed whole, the same replies from the node.

#![no_main]

use bytes::BytesMut;
use keel_engine::resp::{ParseLimits, RequestParser};
use keel_engine::testing::Harness;
use keel_engine::Config;
use libfuzzer_sys::fuzz_target;

/// The commands parsed, then the protocol error if one ended the input.
type Parsed = (Vec<Vec<bytes::Bytes>>, Option<String>);

fn parse(chunks: &[&[u8]], lim: &ParseLimits) -> Parsed {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut commands = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buf, lim) {
                Ok(Some(cmd)) => commands.push(cmd),
                Ok(None) => break,
                Err(e) => return (commands, Some(e.reply_text())),
            }
        }
    }
    (commands, None)
}

/// `data` cut at the lengths in `cuts` (cycled, each at least 1).
fn cut<'a>(data: &'a [u8], cuts: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut sizes = cuts.iter().cycle();
    while !rest.is_empty() {
        let size = sizes
            .next()
            .map_or(rest.len(), |&s| s as usize)
            .clamp(1, rest.len());
        let (head, tail) = rest.split_at(size);
        out.push(head);
        rest = tail;
    }
    out
}

/// The bytes a client receives for `chunks`, and whether it was closed.
fn node_output(chunks: &[&[u8]]) -> (Vec<u8>, bool) {
    let mut harness = Harness::new(Config::default());
    let client = harness.connect();
    for chunk in chunks {
        harness.send_raw(client, chunk);
    }
    (harness.pending_bytes(client), harness.is_closed(client))
}

fuzz_target!(|input: (bool, Vec<u8>, Vec<u8>)| {
    let (authenticated, cuts, data) = input;
    let lim = ParseLimits {
        authenticated,
        ..ParseLimits::default()
    };
    let chunks = cut(&data, &cuts);
    assert_eq!(parse(&chunks, &lim), parse(&[&data[..]], &lim));
    assert_eq!(node_output(&chunks), node_output(&[&data[..]]));
});
