//! A reader for any RESP2 or RESP3 value, for the side that receives
//! replies: test clients, simulated clients and replication peers.
//!
//! RESP3 attributes (`|`) are kept, not dropped: an attribute map is read
//! together with the value that follows it and the two come back as one
//! [`Frame::Attributed`], wherever the attribute appears (at top level or
//! before an element of an aggregate, whose count does not include it).
//! A reader that does not care calls [`Frame::without_attributes`].

use bytes::{Buf, Bytes, BytesMut};

/// One decoded RESP value.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Bytes),
    Null,
    Array(Vec<Frame>),
    Map(Vec<(Frame, Frame)>),
    Set(Vec<Frame>),
    Push(Vec<Frame>),
    Double(String),
    Bool(bool),
    Verbatim(String, Bytes),
    BigNumber(String),
    /// A value preceded by a RESP3 attribute map (`|`): out-of-band
    /// information about the reply (key popularity, ...).
    Attributed {
        attributes: Vec<(Frame, Frame)>,
        value: Box<Frame>,
    },
}

impl Frame {
    /// The frame with every attribute removed, at any depth.
    pub fn without_attributes(self) -> Frame {
        let strip = |items: Vec<Frame>| items.into_iter().map(Frame::without_attributes).collect();
        match self {
            Frame::Attributed { value, .. } => value.without_attributes(),
            Frame::Array(items) => Frame::Array(strip(items)),
            Frame::Set(items) => Frame::Set(strip(items)),
            Frame::Push(items) => Frame::Push(strip(items)),
            Frame::Map(pairs) => Frame::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.without_attributes(), v.without_attributes()))
                    .collect(),
            ),
            other => other,
        }
    }
}

/// A malformed reply stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError(pub String);

/// Decodes one complete frame from the front of `buf`, consuming it.
/// `Ok(None)` when the frame is not complete yet (nothing is consumed).
pub fn read_frame(buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
    let mut pos = 0;
    match decode(buf, &mut pos, 0)? {
        Some(frame) => {
            buf.advance(pos);
            Ok(Some(frame))
        }
        None => Ok(None),
    }
}

/// Deepest nesting accepted: protects the reader's stack from hostile peers.
const MAX_DEPTH: usize = 64;

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let start = *pos;
    let rel = buf[start..].windows(2).position(|w| w == b"\r\n")?;
    *pos = start + rel + 2;
    Some(&buf[start..start + rel])
}

fn text(bytes: &[u8]) -> Result<String, FrameError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| FrameError("non-UTF-8 line".into()))
}

fn number(bytes: &[u8]) -> Result<i64, FrameError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| FrameError(format!("bad number {:?}", String::from_utf8_lossy(bytes))))
}

fn decode(buf: &[u8], pos: &mut usize, depth: usize) -> Result<Option<Frame>, FrameError> {
    if depth > MAX_DEPTH {
        return Err(FrameError("nesting too deep".into()));
    }
    let Some(&tag) = buf.get(*pos) else {
        return Ok(None);
    };
    *pos += 1;
    let Some(head) = line(buf, pos) else {
        return Ok(None);
    };
    let frame = match tag {
        b'+' => Frame::Simple(text(head)?),
        b'-' => Frame::Error(text(head)?),
        b':' => Frame::Int(number(head)?),
        b',' => Frame::Double(text(head)?),
        b'(' => Frame::BigNumber(text(head)?),
        b'_' => Frame::Null,
        b'#' => Frame::Bool(head == b"t"),
        b'$' | b'=' | b'!' => {
            let len = number(head)?;
            if len < 0 {
                return Ok(Some(Frame::Null));
            }
            let len = len as usize;
            if buf.len() < *pos + len + 2 {
                return Ok(None);
            }
            let data = Bytes::copy_from_slice(&buf[*pos..*pos + len]);
            *pos += len + 2;
            match tag {
                b'$' => Frame::Bulk(data),
                b'!' => Frame::Error(text(&data)?),
                _ if data.len() >= 4 => Frame::Verbatim(text(&data[..3])?, data.slice(4..)),
                _ => return Err(FrameError("short verbatim string".into())),
            }
        }
        b'*' | b'~' | b'>' => {
            let n = number(head)?;
            if n < 0 {
                return Ok(Some(Frame::Null));
            }
            let Some(items) = decode_items(buf, pos, depth, n as usize)? else {
                return Ok(None);
            };
            match tag {
                b'*' => Frame::Array(items),
                b'~' => Frame::Set(items),
                _ => Frame::Push(items),
            }
        }
        b'%' | b'|' => {
            let n = number(head)?;
            match (n < 0, tag) {
                (true, b'%') => return Ok(Some(Frame::Null)),
                (true, _) => return Err(FrameError("negative attribute size".into())),
                _ => {}
            }
            let Some(pairs) = decode_pairs(buf, pos, depth, n as usize)? else {
                return Ok(None);
            };
            if tag == b'%' {
                Frame::Map(pairs)
            } else {
                // The attribute describes the value that follows it.
                let Some(value) = decode(buf, pos, depth + 1)? else {
                    return Ok(None);
                };
                Frame::Attributed {
                    attributes: pairs,
                    value: Box::new(value),
                }
            }
        }
        other => return Err(FrameError(format!("unknown type byte {:?}", other as char))),
    };
    Ok(Some(frame))
}

/// `count` values, one after another; `None` if the input ends first.
fn decode_items(
    buf: &[u8],
    pos: &mut usize,
    depth: usize,
    count: usize,
) -> Result<Option<Vec<Frame>>, FrameError> {
    let mut items = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        match decode(buf, pos, depth + 1)? {
            Some(f) => items.push(f),
            None => return Ok(None),
        }
    }
    Ok(Some(items))
}

/// `count` key-value pairs (a map's or an attribute's body).
fn decode_pairs(
    buf: &[u8],
    pos: &mut usize,
    depth: usize,
    count: usize,
) -> Result<Option<Vec<(Frame, Frame)>>, FrameError> {
    let Some(items) = decode_items(buf, pos, depth, count.saturating_mul(2))? else {
        return Ok(None);
    };
    let mut pairs = Vec::with_capacity(count.min(1024));
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        pairs.push((k, v));
    }
    Ok(Some(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_resp3() {
        let mut buf = BytesMut::from(&b"%1\r\n+a\r\n*2\r\n:1\r\n_\r\n,1.5\r\n"[..]);
        let f = read_frame(&mut buf).unwrap().unwrap();
        assert_eq!(
            f,
            Frame::Map(vec![(
                Frame::Simple("a".into()),
                Frame::Array(vec![Frame::Int(1), Frame::Null])
            )])
        );
        assert_eq!(
            read_frame(&mut buf).unwrap(),
            Some(Frame::Double("1.5".into()))
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn incomplete_consumes_nothing() {
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nfoo\r\n"[..]);
        assert_eq!(read_frame(&mut buf).unwrap(), None);
        assert_eq!(buf.len(), 13);
    }

    fn bulk(text: &str) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(text.as_bytes()))
    }

    #[test]
    fn attributes_attach_to_the_value_that_follows() {
        let wire = b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n\
                     *2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n+next\r\n";
        let mut buf = BytesMut::from(&wire[..]);
        let frame = read_frame(&mut buf).unwrap().unwrap();
        let inner = Frame::Attributed {
            attributes: vec![(Frame::Simple("ttl".into()), Frame::Int(3600))],
            value: Box::new(bulk("v")),
        };
        assert_eq!(
            frame,
            Frame::Attributed {
                attributes: vec![(
                    Frame::Simple("key-popularity".into()),
                    Frame::Map(vec![(bulk("a"), Frame::Double("0.19".into()))]),
                )],
                value: Box::new(Frame::Array(vec![Frame::Int(1), inner])),
            }
        );
        assert_eq!(
            frame.without_attributes(),
            Frame::Array(vec![Frame::Int(1), bulk("v")])
        );
        assert_eq!(
            read_frame(&mut buf).unwrap(),
            Some(Frame::Simple("next".into()))
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn an_attribute_without_its_value_is_incomplete() {
        let wire = b"|1\r\n+a\r\n:1\r\n";
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(read_frame(&mut buf).unwrap(), None);
        assert_eq!(buf.len(), wire.len(), "nothing consumed");
        buf.extend_from_slice(b"_\r\n");
        assert!(matches!(
            read_frame(&mut buf).unwrap(),
            Some(Frame::Attributed { value, .. }) if *value == Frame::Null
        ));
        let mut negative = BytesMut::from(&b"|-1\r\n"[..]);
        assert!(read_frame(&mut negative).is_err());
    }
}
