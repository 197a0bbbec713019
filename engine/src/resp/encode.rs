use super::{Protocol, Reply};
use bytes::{BufMut, BytesMut};

/// Appends `reply` to `out` in the client's protocol.
pub fn encode(reply: &Reply, proto: Protocol, out: &mut BytesMut) {
    match reply {
        Reply::Status(s) => line(out, b'+', s.as_bytes()),
        Reply::Error(s) => line(out, b'-', s.as_bytes()),
        Reply::Int(n) => int_line(out, b':', *n),
        Reply::Bulk(b) => bulk(out, b),
        Reply::Null => null(out, proto, b"$-1\r\n"),
        Reply::NullArray => null(out, proto, b"*-1\r\n"),
        Reply::Array(items) => {
            int_line(out, b'*', items.len() as i64);
            items.iter().for_each(|r| encode(r, proto, out));
        }
        Reply::Set(items) => {
            let tag = if proto == Protocol::Resp3 { b'~' } else { b'*' };
            int_line(out, tag, items.len() as i64);
            items.iter().for_each(|r| encode(r, proto, out));
        }
        Reply::Push(items) => {
            let tag = if proto == Protocol::Resp3 { b'>' } else { b'*' };
            int_line(out, tag, items.len() as i64);
            items.iter().for_each(|r| encode(r, proto, out));
        }
        Reply::Map(pairs) => {
            if proto == Protocol::Resp3 {
                int_line(out, b'%', pairs.len() as i64);
            } else {
                int_line(out, b'*', 2 * pairs.len() as i64);
            }
            for (k, v) in pairs {
                encode(k, proto, out);
                encode(v, proto, out);
            }
        }
        Reply::Double(d) => {
            let text = format_double(*d);
            if proto == Protocol::Resp3 {
                line(out, b',', text.as_bytes());
            } else {
                bulk(out, text.as_bytes());
            }
        }
        Reply::Bool(b) => {
            if proto == Protocol::Resp3 {
                out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" });
            } else {
                int_line(out, b':', *b as i64);
            }
        }
        Reply::Verbatim(format, text) => {
            if proto == Protocol::Resp3 {
                int_line(out, b'=', text.len() as i64 + 4);
                out.put_slice(format.as_bytes());
                out.put_u8(b':');
                out.put_slice(text);
                out.put_slice(b"\r\n");
            } else {
                bulk(out, text);
            }
        }
        Reply::BigNumber(n) => {
            if proto == Protocol::Resp3 {
                line(out, b'(', n.as_bytes());
            } else {
                bulk(out, n.as_bytes());
            }
        }
        Reply::Bulks(array) => {
            int_line(out, b'*', array.len() as i64);
            out.extend_from_slice(array.body());
        }
        Reply::NoReply => {}
    }
}

/// Formats a double as Redis does in replies: integers without a fraction
/// when exact, `inf`/`-inf`/`nan`, otherwise the shortest text that reads
/// back to the same double.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".to_string()
    } else if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        crate::util::fmt_double_17g(d)
    }
}

fn line(out: &mut BytesMut, tag: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(tag);
    out.put_slice(text);
    out.put_slice(b"\r\n");
}

fn int_line(out: &mut BytesMut, tag: u8, n: i64) {
    let mut buf = itoa::Buffer::new();
    line(out, tag, buf.format(n).as_bytes());
}

fn bulk(out: &mut BytesMut, data: &[u8]) {
    int_line(out, b'$', data.len() as i64);
    out.reserve(data.len() + 2);
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

fn null(out: &mut BytesMut, proto: Protocol, resp2: &[u8]) {
    if proto == Protocol::Resp3 {
        out.put_slice(b"_\r\n");
    } else {
        out.put_slice(resp2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    /// One example or more of every reply shape.
    fn samples() -> Vec<(&'static str, Reply)> {
        let b = |s: &'static str| Reply::Bulk(Bytes::from_static(s.as_bytes()));
        vec![
            ("status", Reply::OK),
            ("error", Reply::err("ERR syntax error")),
            ("int zero", Reply::Int(0)),
            ("int negative", Reply::Int(-42)),
            ("int max", Reply::Int(i64::MAX)),
            ("int min", Reply::Int(i64::MIN)),
            ("bulk", b("hello")),
            ("bulk empty", b("")),
            (
                "bulk binary",
                Reply::Bulk(Bytes::from_static(b"a\r\nb\x00\xff")),
            ),
            ("null", Reply::Null),
            ("null array", Reply::NullArray),
            ("array empty", Reply::Array(vec![])),
            (
                "array nested",
                Reply::Array(vec![
                    Reply::Int(1),
                    Reply::Array(vec![b("x"), Reply::Null]),
                    Reply::NullArray,
                ]),
            ),
            ("map empty", Reply::Map(vec![])),
            (
                "map nested",
                Reply::Map(vec![
                    (b("a"), Reply::Int(1)),
                    (b("b"), Reply::Map(vec![(b("c"), Reply::Bool(true))])),
                ]),
            ),
            ("set", Reply::Set(vec![b("x"), b("y")])),
            ("set empty", Reply::Set(vec![])),
            ("double", Reply::Double(1.5)),
            ("double integral", Reply::Double(3.0)),
            ("double negative zero", Reply::Double(-0.0)),
            ("double small", Reply::Double(0.00001)),
            ("double big", Reply::Double(1e17)),
            ("double inf", Reply::Double(f64::INFINITY)),
            ("double -inf", Reply::Double(f64::NEG_INFINITY)),
            ("double nan", Reply::Double(f64::NAN)),
            ("bool true", Reply::Bool(true)),
            ("bool false", Reply::Bool(false)),
            (
                "verbatim txt",
                Reply::Verbatim("txt", Bytes::from_static(b"line\r\nnext")),
            ),
            ("verbatim mkd empty", Reply::Verbatim("mkd", Bytes::new())),
            (
                "big number",
                Reply::BigNumber("-3492890328409238509324850943850943825024385".into()),
            ),
            ("push", Reply::Push(vec![b("message"), b("chan"), b("hi")])),
            ("bulk array", {
                let mut array = crate::resp::BulkArray::default();
                array.push(b"a");
                array.push(b"bc");
                Reply::Bulks(array)
            }),
            ("no reply", Reply::NoReply),
        ]
    }

    /// Names every variant, so a new one cannot be left out of `samples`.
    fn variant(reply: &Reply) -> &'static str {
        match reply {
            Reply::Status(_) => "Status",
            Reply::Error(_) => "Error",
            Reply::Int(_) => "Int",
            Reply::Bulk(_) => "Bulk",
            Reply::Null => "Null",
            Reply::NullArray => "NullArray",
            Reply::Array(_) => "Array",
            Reply::Map(_) => "Map",
            Reply::Set(_) => "Set",
            Reply::Double(_) => "Double",
            Reply::Bool(_) => "Bool",
            Reply::Verbatim(..) => "Verbatim",
            Reply::BigNumber(_) => "BigNumber",
            Reply::Push(_) => "Push",
            Reply::Bulks(_) => "Bulks",
            Reply::NoReply => "NoReply",
        }
    }

    fn table(proto: Protocol) -> String {
        let mut out = String::new();
        for (name, reply) in samples() {
            let mut buf = BytesMut::new();
            encode(&reply, proto, &mut buf);
            out.push_str(&format!("{name}: {}\n", buf.escape_ascii()));
        }
        out
    }

    #[test]
    fn every_variant_has_samples() {
        let mut seen: Vec<&str> = samples().iter().map(|(_, r)| variant(r)).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 16);
    }

    #[test]
    fn resp2_encoding() {
        insta::assert_snapshot!(table(Protocol::Resp2));
    }

    #[test]
    fn resp3_encoding() {
        insta::assert_snapshot!(table(Protocol::Resp3));
    }

    #[test]
    fn a_bulk_array_encodes_as_the_array_of_its_bulks() {
        let mut array = crate::resp::BulkArray::with_capacity(2, 3);
        array.push(b"abc");
        array.push(b"");
        for proto in [Protocol::Resp2, Protocol::Resp3] {
            let (mut fast, mut plain) = (BytesMut::new(), BytesMut::new());
            encode(&Reply::Bulks(array.clone()), proto, &mut fast);
            encode(&array.to_array(), proto, &mut plain);
            assert_eq!(fast, plain);
        }
        let mut empty = BytesMut::new();
        encode(
            &Reply::Bulks(Default::default()),
            Protocol::Resp2,
            &mut empty,
        );
        assert_eq!(&empty[..], b"*0\r\n");
    }

    #[test]
    fn encoded_frames_read_back() {
        use crate::resp::frame::{read_frame, Frame};
        for proto in [Protocol::Resp2, Protocol::Resp3] {
            for (name, reply) in samples() {
                let mut buf = BytesMut::new();
                encode(&reply, proto, &mut buf);
                let frame = read_frame(&mut buf).expect("well-formed");
                match reply {
                    Reply::NoReply => assert_eq!(frame, None, "{name}"),
                    _ => assert!(frame.is_some() && buf.is_empty(), "{name} {proto:?}"),
                }
                if let (Reply::Null | Reply::NullArray, Some(f)) = (&reply, frame) {
                    assert_eq!(f, Frame::Null, "{name}");
                }
            }
        }
    }
}
