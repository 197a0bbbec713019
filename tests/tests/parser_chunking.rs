//! The request parser does not care how input is cut: any byte string fed
//! in arbitrary chunks gives the same commands, and the same protocol error
//! at the same point, as the same bytes fed whole; and it never panics.
//! The same holds one level up, for a whole node (replies and closing).

use bytes::{Bytes, BytesMut};
use keel_engine::resp::{ParseLimits, ProtocolError, RequestParser};
use keel_engine::testing::{request, Harness};
use keel_engine::Config;
use proptest::prelude::*;

/// Everything the parser produced: the commands, then the error if any.
#[derive(Debug, PartialEq)]
struct Parsed {
    commands: Vec<Vec<Bytes>>,
    error: Option<ProtocolError>,
}

/// Feeds `input` cut at `cuts` (chunk lengths, cycled; 0 is read as 1),
/// parsing after every chunk as a server does after every read.
fn parse_in_chunks(input: &[u8], cuts: &[usize], lim: &ParseLimits) -> Parsed {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut parsed = Parsed {
        commands: Vec::new(),
        error: None,
    };
    for chunk in chunks(input, cuts) {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buf, lim) {
                Ok(Some(cmd)) => parsed.commands.push(cmd),
                Ok(None) => break,
                Err(e) => {
                    // The connection is closed: nothing after it is parsed.
                    parsed.error = Some(e);
                    return parsed;
                }
            }
        }
    }
    parsed
}

fn chunks<'a>(input: &'a [u8], cuts: &'a [usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = input;
    let mut sizes = cuts.iter().cycle();
    while !rest.is_empty() {
        let size = sizes
            .next()
            .copied()
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        let (head, tail) = rest.split_at(size);
        out.push(head);
        rest = tail;
    }
    out
}

/// Pieces of protocol: protocol syntax, quoting, names, and numbers that
/// are bulk or multibulk lengths when they follow `*` or `$`.
const FRAGMENTS: &[&[u8]] = &[
    b"*",
    b"$",
    b"0",
    b"1",
    b"2",
    b"3",
    b"10",
    b"-1",
    b"\r\n",
    b"\r",
    b"\n",
    b" ",
    b"\t",
    b"\"",
    b"'",
    b"\\",
    b"\\x4",
    b"1",
    b"PING",
    b"ECHO",
    b"GET",
    b"k",
    b"\x00",
    b"\xff",
    b"+",
    b"99999999999999999999",
];

/// Inputs that mix well-formed requests, protocol fragments and raw bytes.
fn input() -> impl Strategy<Value = Vec<u8>> {
    let args = prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 1..4);
    let piece = prop_oneof![
        3 => args.prop_map(|args| {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            request(&args)
        }),
        4 => prop::sample::select(FRAGMENTS).prop_map(|f| f.to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..16),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..12usize, 1..16)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn chunked_parse_equals_whole_parse(input in input(), cuts in cuts(), authenticated: bool) {
        let lim = ParseLimits { authenticated, ..ParseLimits::default() };
        let whole = parse_in_chunks(&input, &[input.len().max(1)], &lim);
        let chunked = parse_in_chunks(&input, &cuts, &lim);
        prop_assert_eq!(chunked, whole);
    }

    #[test]
    fn chunked_parse_of_random_bytes_equals_whole(
        input in prop::collection::vec(any::<u8>(), 0..256),
        cuts in cuts(),
    ) {
        let lim = ParseLimits::default();
        let whole = parse_in_chunks(&input, &[input.len().max(1)], &lim);
        prop_assert_eq!(parse_in_chunks(&input, &cuts, &lim), whole);
    }

    /// A node answers the same bytes, and closes the connection or not,
    /// however its input is cut.
    #[test]
    fn node_replies_do_not_depend_on_chunking(input in input(), cuts in cuts()) {
        let whole = node_output(&[&input[..]]);
        let chunked = node_output(&chunks(&input, &cuts));
        prop_assert_eq!(
            (String::from_utf8_lossy(&chunked.0), chunked.1),
            (String::from_utf8_lossy(&whole.0), whole.1)
        );
    }
}

/// What one client receives for `chunks`, and whether it was closed.
fn node_output(chunks: &[&[u8]]) -> (Vec<u8>, bool) {
    let mut harness = Harness::new(Config::default());
    let client = harness.connect();
    for chunk in chunks {
        harness.send_raw(client, chunk);
    }
    (harness.pending_bytes(client), harness.is_closed(client))
}

#[test]
fn chunks_cover_the_input_in_order() {
    let input = b"abcdefghij";
    let parts = chunks(input, &[3, 0, 20]);
    assert_eq!(parts, vec![&b"abc"[..], b"d", b"efghij"]);
    assert_eq!(chunks(b"", &[1]), Vec::<&[u8]>::new());
}

#[test]
fn a_request_split_everywhere_parses_the_same() {
    let input = [
        request(&[b"SET", b"key", b"a\r\nvalue"]),
        b"PING\r\n".to_vec(),
    ]
    .concat();
    let lim = ParseLimits::default();
    let whole = parse_in_chunks(&input, &[input.len()], &lim);
    assert_eq!(whole.commands.len(), 2);
    assert_eq!(whole.error, None);
    for size in 1..input.len() {
        assert_eq!(
            parse_in_chunks(&input, &[size], &lim),
            whole,
            "chunks of {size}"
        );
    }
}
