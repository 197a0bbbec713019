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
