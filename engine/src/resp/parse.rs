//! The incremental request parser: RESP multibulk and inline commands.
//!
//! The parser keeps its place between calls, so a command split across many
//! reads is never rescanned, and arguments are zero-copy slices of the
//! client's query buffer. Error texts are Redis's, byte for byte.

use crate::limits;
use bytes::{Buf, Bytes, BytesMut};

/// The bounds a parse is checked against (from config and auth state).
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// `proto-max-bulk-len`.
    pub max_bulk_len: u64,
    /// Whether the client has authenticated (stricter limits before it has).
    pub authenticated: bool,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_bulk_len: limits::PROTO_MAX_BULK_LEN,
            authenticated: true,
        }
    }
}

/// A protocol error: the client gets `-ERR Protocol error: <text>` and is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(text: &str) -> Self {
        ProtocolError(text.to_string())
    }

    /// The full error line Redis sends, without the leading `-`.
    /// Newlines in the echoed input become spaces, as Redis does, so the
    /// error line cannot break the protocol.
    pub fn reply_text(&self) -> String {
        format!("ERR Protocol error: {}", self.0).replace(['\r', '\n'], " ")
    }
}

/// Where the parser stands inside a multibulk request.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments still expected in the current multibulk (0: between requests).
    remaining: usize,
    /// Length of the bulk being read, once its `$<len>` line has been seen.
    bulk_len: Option<usize>,
    args: Vec<Bytes>,
}

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// True while a request has started but not completed.
    pub fn in_progress(&self) -> bool {
        self.remaining > 0
    }

    /// Parses the next complete request from `buf`, consuming its bytes.
    /// `Ok(None)`: more bytes are needed. An empty request (blank inline
    /// line, `*0`) is skipped, as Redis does.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        lim: &ParseLimits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if self.remaining == 0 {
                if buf.is_empty() {
                    return Ok(None);
                }
                if buf[0] == b'*' {
                    match self.start_multibulk(buf, lim)? {
                        Start::NeedMore => return Ok(None),
                        Start::Empty => continue,
                        Start::Started => {}
                    }
                } else {
                    match parse_inline(buf)? {
                        None => return Ok(None),
                        Some(args) if args.is_empty() => continue,
                        Some(args) => return Ok(Some(args)),
                    }
                }
            }
            if !self.read_bulks(buf, lim)? {
                return Ok(None);
            }
            return Ok(Some(std::mem::take(&mut self.args)));
        }
    }

    fn start_multibulk(
        &mut self,
        buf: &mut BytesMut,
        lim: &ParseLimits,
    ) -> Result<Start, ProtocolError> {
        let Some(line_end) = find_cr(buf) else {
            if buf.len() > limits::MAX_INLINE_LEN {
                return Err(ProtocolError::new("too big mbulk count string"));
            }
            return Ok(Start::NeedMore);
        };
        if line_end + 1 >= buf.len() {
            return Ok(Start::NeedMore); // the '\n' has not arrived yet
        }
        let count = crate::util::parse_i64(&buf[1..line_end]);
        let count = match count {
            Some(n) if n <= limits::MAX_MULTIBULK_LEN => n,
            _ => return Err(ProtocolError::new("invalid multibulk length")),
        };
        if !lim.authenticated && count > limits::MAX_UNAUTH_MULTIBULK_LEN {
            return Err(ProtocolError::new("unauthenticated multibulk length"));
        }
        buf.advance(line_end + 2);
        if count <= 0 {
            return Ok(Start::Empty);
        }
        self.remaining = count as usize;
        // Reserve for what has been declared, but never more than a small
        // bound: memory follows bytes received, not lengths claimed.
        self.args = Vec::with_capacity(self.remaining.min(1024));
        self.bulk_len = None;
        Ok(Start::Started)
    }

    /// Reads bulk arguments until the request is complete (true) or the
    /// buffer runs out (false).
    fn read_bulks(&mut self, buf: &mut BytesMut, lim: &ParseLimits) -> Result<bool, ProtocolError> {
        while self.remaining > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => match read_bulk_header(buf, lim)? {
                    Some(len) => {
                        self.bulk_len = Some(len);
                        len
                    }
                    None => return Ok(false),
                },
            };
            if buf.len() < len + 2 {
                return Ok(false);
            }
            let arg = buf.split_to(len).freeze();
            // Redis skips the two bytes after the payload without checking
            // that they are CRLF; Keel does the same (documented quirk).
            buf.advance(2);
            self.args.push(arg);
            self.bulk_len = None;
            self.remaining -= 1;
        }
        Ok(true)
    }
}

enum Start {
    NeedMore,
    Empty,
    Started,
}

fn find_cr(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&c| c == b'\r')
}

/// Reads a `$<len>\r\n` line. `Ok(None)`: more bytes needed.
fn read_bulk_header(buf: &mut BytesMut, lim: &ParseLimits) -> Result<Option<usize>, ProtocolError> {
    let Some(line_end) = find_cr(buf) else {
        if buf.len() > limits::MAX_INLINE_LEN {
            return Err(ProtocolError::new("too big bulk count string"));
        }
        return Ok(None);
    };
    if line_end + 1 >= buf.len() {
        return Ok(None);
    }
    if buf[0] != b'$' {
        return Err(ProtocolError(format!(
            "expected '$', got '{}'",
            buf[0] as char
        )));
    }
    let len = match crate::util::parse_i64(&buf[1..line_end]) {
        Some(n) if n >= 0 && (n as u64) <= lim.max_bulk_len => n,
        _ => return Err(ProtocolError::new("invalid bulk length")),
    };
    if !lim.authenticated && len > limits::MAX_UNAUTH_BULK_LEN {
        return Err(ProtocolError::new("unauthenticated bulk length"));
    }
    buf.advance(line_end + 2);
    Ok(Some(len as usize))
}

/// Parses one inline (telnet-style) command line. `Ok(None)`: no newline yet.
fn parse_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(nl) = buf.iter().position(|&c| c == b'\n') else {
        if buf.len() > limits::MAX_INLINE_LEN {
            return Err(ProtocolError::new("too big inline request"));
        }
        return Ok(None);
    };
    let line = buf.split_to(nl + 1);
    let mut text = &line[..nl];
    if text.last() == Some(&b'\r') {
        text = &text[..text.len() - 1];
    }
    split_args(text)
        .map(Some)
        .ok_or_else(|| ProtocolError::new("unbalanced quotes in request"))
}

/// Splits an inline line into arguments with Redis's rules: blanks
/// (including `\v` and `\f`) separate arguments, but a token ends only at
/// space, tab, CR or LF; a quote anywhere in a token opens a quoted section:
/// `"..."` with backslash escapes (`\n \r \t \b \a \xHH`, any other
/// escaped byte stands for itself), `'...'` with `\'`. A closing quote must
/// be followed by a blank or the end. `None`: unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_c_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let mut cur = Vec::new();
        while i < line.len() && !ends_token(line[i]) {
            // A closing quote ends the token (what follows it is a blank).
            match line[i] {
                b'"' => {
                    i = read_double_quoted(line, i + 1, &mut cur)?;
                    break;
                }
                b'\'' => {
                    i = read_single_quoted(line, i + 1, &mut cur)?;
                    break;
                }
                c => {
                    cur.push(c);
                    i += 1;
                }
            }
        }
        args.push(Bytes::from(cur));
    }
}

/// C's `isspace`: what is skipped between arguments.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What ends an unquoted token (narrower than `is_c_space`, as in Redis).
fn ends_token(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// After a closing quote: the end of the line or a blank must follow.
fn closes_token(line: &[u8], i: usize) -> bool {
    i >= line.len() || is_c_space(line[i])
}

fn read_double_quoted(line: &[u8], mut i: usize, cur: &mut Vec<u8>) -> Option<usize> {
    loop {
        let c = *line.get(i)?;
        if c == b'\\' && i + 3 < line.len() && line[i + 1] == b'x' {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(line[i + 2]), hex(line[i + 3])) {
                cur.push((h * 16 + l) as u8);
                i += 4;
                continue;
            }
        }
        if c == b'\\' && i + 1 < line.len() {
            cur.push(match line[i + 1] {
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'b' => 8,
                b'a' => 7,
                other => other,
            });
            i += 2;
        } else if c == b'"' {
            return closes_token(line, i + 1).then_some(i + 1);
        } else {
            cur.push(c);
            i += 1;
        }
    }
}

fn read_single_quoted(line: &[u8], mut i: usize, cur: &mut Vec<u8>) -> Option<usize> {
    loop {
        let c = *line.get(i)?;
        if c == b'\\' && line.get(i + 1) == Some(&b'\'') {
            cur.push(b'\'');
            i += 2;
        } else if c == b'\'' {
            return closes_token(line, i + 1).then_some(i + 1);
        } else {
            cur.push(c);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(cmd) = p.parse(&mut buf, &ParseLimits::default())? {
            out.push(cmd);
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_inline() {
        let cmds = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n\r\nset a \"b c\"\n").unwrap();
        assert_eq!(cmds.len(), 3);
        assert_eq!(cmds[0], vec![Bytes::from("GET"), Bytes::from("k")]);
        assert_eq!(cmds[1], vec![Bytes::from("PING")]);
        assert_eq!(
            cmds[2],
            vec![Bytes::from("set"), Bytes::from("a"), Bytes::from("b c")]
        );
    }

    #[test]
    fn partial_input_waits() {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPI"[..]);
        assert_eq!(p.parse(&mut buf, &ParseLimits::default()).unwrap(), None);
        buf.extend_from_slice(b"NG\r\n");
        assert_eq!(
            p.parse(&mut buf, &ParseLimits::default()).unwrap(),
            Some(vec![Bytes::from("PING")])
        );
    }

    #[test]
    fn protocol_errors_have_redis_text() {
        let err = |input: &[u8]| parse_all(input).unwrap_err().0;
        assert_eq!(err(b"*abc\r\n"), "invalid multibulk length");
        assert_eq!(err(b"*1\r\nfoo\r\n"), "expected '$', got 'f'");
        assert_eq!(err(b"*1\r\n$-5\r\n"), "invalid bulk length");
        assert_eq!(err(b"set a \"b\n"), "unbalanced quotes in request");
        assert_eq!(err(b"set a \"b\"c\n"), "unbalanced quotes in request");
        assert_eq!(err(&vec![b'a'; 70_000]), "too big inline request");
        let mut big = b"*".to_vec();
        big.extend(vec![b'1'; 70_000]);
        assert_eq!(err(&big), "too big mbulk count string");
    }

    #[test]
    fn unauthenticated_limits() {
        let lim = ParseLimits {
            authenticated: false,
            ..Default::default()
        };
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*11\r\n"[..]);
        assert_eq!(
            p.parse(&mut buf, &lim).unwrap_err().0,
            "unauthenticated multibulk length"
        );
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*1\r\n$16385\r\n"[..]);
        assert_eq!(
            p.parse(&mut buf, &lim).unwrap_err().0,
            "unauthenticated bulk length"
        );
    }

    #[test]
    fn inline_quotes_follow_redis() {
        let args =
            |l: &[u8]| split_args(l).map(|v| v.iter().map(|b| b.to_vec()).collect::<Vec<_>>());
        assert_eq!(
            args(b"ECHO a\"b c\""),
            Some(vec![b"ECHO".to_vec(), b"ab c".to_vec()])
        );
        assert_eq!(args(b"ECHO a'b c'd"), None);
        assert_eq!(args(b"\x0c$\x0c"), Some(vec![b"$\x0c".to_vec()]));
        assert_eq!(args(b"a\x0bb"), Some(vec![b"a\x0bb".to_vec()]));
        assert_eq!(args(b"\"\"\x0b"), Some(vec![b"".to_vec()]));
    }

    #[test]
    fn protocol_error_text_has_no_newlines() {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*1\r\n\r\n"[..]);
        let e = p.parse(&mut buf, &ParseLimits::default()).unwrap_err();
        assert_eq!(e.reply_text(), "ERR Protocol error: expected '$', got ' '");
    }

    #[test]
    fn inline_escapes() {
        let args = split_args(br#"a "\x41\n" 'it\'s'"#).unwrap();
        assert_eq!(
            args,
            vec![Bytes::from("a"), Bytes::from("A\n"), Bytes::from("it's")]
        );
    }
}
