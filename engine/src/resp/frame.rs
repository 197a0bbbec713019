//! A reader for any RESP2 or RESP3 value, for the side that receives
//! replies: test clients, simulated clients and replication peers.

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
        b'*' | b'~' | b'>' | b'%' => {
            let n = number(head)?;
            if n < 0 {
                return Ok(Some(Frame::Null));
            }
            let count = if tag == b'%' {
                2 * n as usize
            } else {
                n as usize
            };
            let mut items = Vec::with_capacity(count.min(1024));
            for _ in 0..count {
                match decode(buf, pos, depth + 1)? {
                    Some(f) => items.push(f),
                    None => return Ok(None),
                }
            }
            match tag {
                b'*' => Frame::Array(items),
                b'~' => Frame::Set(items),
                b'>' => Frame::Push(items),
                _ => {
                    let mut pairs = Vec::with_capacity(items.len() / 2);
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    Frame::Map(pairs)
                }
            }
        }
        other => return Err(FrameError(format!("unknown type byte {:?}", other as char))),
    };
    Ok(Some(frame))
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
}
