//! Just enough RESP to read replies and pushed messages: an incremental
//! parser over a byte buffer that borrows bulk payloads.

/// One reply frame. Bulk strings borrow from the read buffer.
#[derive(Debug, PartialEq)]
pub enum Frame<'a> {
    Simple(&'a [u8]),
    Error(&'a [u8]),
    Int(i64),
    Bulk(Option<&'a [u8]>),
    Array(Option<Vec<Frame<'a>>>),
}

impl Frame<'_> {
    /// A short description for error messages.
    pub fn describe(&self) -> String {
        match self {
            Frame::Simple(s) => format!("+{}", String::from_utf8_lossy(s)),
            Frame::Error(s) => format!("-{}", String::from_utf8_lossy(s)),
            Frame::Int(n) => format!(":{n}"),
            Frame::Bulk(Some(b)) => format!("${}", String::from_utf8_lossy(b)),
            Frame::Bulk(None) => "$nil".to_string(),
            Frame::Array(Some(items)) => format!("*{} items", items.len()),
            Frame::Array(None) => "*nil".to_string(),
        }
    }
}

/// Parses one frame at the start of `buf`: `Ok(None)` when more bytes are
/// needed, else the frame and the number of bytes it used.
pub fn parse(buf: &[u8]) -> Result<Option<(Frame<'_>, usize)>, String> {
    let Some(line_end) = find_crlf(buf) else {
        return Ok(None);
    };
    let Some((&kind, line)) = buf[..line_end].split_first() else {
        return Err("empty line in reply".into());
    };
    let after_line = line_end + 2;
    match kind {
        b'+' => Ok(Some((Frame::Simple(line), after_line))),
        b'-' => Ok(Some((Frame::Error(line), after_line))),
        b':' => Ok(Some((Frame::Int(parse_int(line)?), after_line))),
        b'$' => parse_bulk(buf, parse_int(line)?, after_line),
        // '>' is RESP3's push; read it as an array.
        b'*' | b'>' => parse_array(buf, parse_int(line)?, after_line),
        other => Err(format!("unexpected reply type byte {other:#04x}")),
    }
}

fn parse_bulk(buf: &[u8], len: i64, start: usize) -> Result<Option<(Frame<'_>, usize)>, String> {
    if len < 0 {
        return Ok(Some((Frame::Bulk(None), start)));
    }
    let len = usize::try_from(len).map_err(|_| "bulk length too large")?;
    let end = start + len;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    if &buf[end..end + 2] != b"\r\n" {
        return Err("bulk string not followed by CRLF".into());
    }
    Ok(Some((Frame::Bulk(Some(&buf[start..end])), end + 2)))
}

fn parse_array(buf: &[u8], len: i64, start: usize) -> Result<Option<(Frame<'_>, usize)>, String> {
    if len < 0 {
        return Ok(Some((Frame::Array(None), start)));
    }
    let len = usize::try_from(len).map_err(|_| "array length too large")?;
    let mut items = Vec::with_capacity(len.min(1024));
    let mut pos = start;
    for _ in 0..len {
        match parse(&buf[pos..])? {
            Some((item, used)) => {
                items.push(item);
                pos += used;
            }
            None => return Ok(None),
        }
    }
    Ok(Some((Frame::Array(Some(items)), pos)))
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

fn parse_int(digits: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad integer {:?}", String::from_utf8_lossy(digits)))
}

/// Appends `args` as a RESP array of bulk strings.
pub fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_and_reports_bytes_used() {
        assert_eq!(
            parse(b"+OK\r\nrest").unwrap(),
            Some((Frame::Simple(b"OK"), 5))
        );
        assert_eq!(
            parse(b"-ERR x\r\n").unwrap(),
            Some((Frame::Error(b"ERR x"), 8))
        );
        assert_eq!(parse(b":-12\r\n").unwrap(), Some((Frame::Int(-12), 6)));
        assert_eq!(
            parse(b"$3\r\nabc\r\n").unwrap(),
            Some((Frame::Bulk(Some(b"abc")), 9))
        );
        assert_eq!(parse(b"$-1\r\n").unwrap(), Some((Frame::Bulk(None), 5)));
        assert_eq!(parse(b"*-1\r\n").unwrap(), Some((Frame::Array(None), 5)));
        let (frame, used) = parse(b"*2\r\n$1\r\na\r\n:1\r\n").unwrap().unwrap();
        assert_eq!(used, 15);
        assert_eq!(
            frame,
            Frame::Array(Some(vec![Frame::Bulk(Some(b"a")), Frame::Int(1)]))
        );
    }

    #[test]
    fn incomplete_input_asks_for_more() {
        for partial in [
            &b""[..],
            b"+OK",
            b"+OK\r",
            b"$3\r\nab",
            b"$3\r\nabc\r",
            b"*2\r\n:1\r\n",
        ] {
            assert_eq!(parse(partial).unwrap(), None, "{partial:?}");
        }
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(parse(b"?x\r\n").is_err());
        assert!(parse(b":abc\r\n").is_err());
        assert!(parse(b"$1\r\nabc\r\n").is_err());
    }

    #[test]
    fn encodes_commands_as_bulk_arrays() {
        let mut out = Vec::new();
        encode_command(&mut out, &[b"SET", b"k", b""]);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
    }
}
