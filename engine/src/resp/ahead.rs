//! A look ahead at the commands waiting in a query buffer, without
//! parsing them: the node warms the keys they name before running them
//! (see [`crate::server::Server::warm_keys`]). Only a hint: anything
//! unusual (an inline command, a header that does not read as a length,
//! an incomplete command) ends the look, and the parser proper decides.

/// Calls `key` with the second argument (the key, for most commands) of
/// each complete multibulk command at the start of `buf`, up to `max`
/// commands. Returns how many commands it looked at.
pub fn keys_ahead<'a>(buf: &'a [u8], max: usize, mut key: impl FnMut(&'a [u8])) -> usize {
    let mut at = 0;
    let mut seen = 0;
    while seen < max {
        let Some((count, mut next)) = header(buf, at, b'*') else {
            return seen;
        };
        for i in 0..count {
            let Some((len, start)) = header(buf, next, b'$') else {
                return seen;
            };
            let end = match start.checked_add(len) {
                Some(end) if end.saturating_add(2) <= buf.len() => end,
                _ => return seen,
            };
            if i == 1 {
                key(&buf[start..end]);
            }
            next = end + 2;
        }
        at = next;
        seen += 1;
    }
    seen
}

/// Longest header line looked at (`*<count>` or `$<len>`).
const MAX_HEADER: usize = 24;

/// A `<kind><n>\r\n` line at `at`: `n` and where the line ends.
fn header(buf: &[u8], at: usize, kind: u8) -> Option<(usize, usize)> {
    if buf.get(at) != Some(&kind) {
        return None;
    }
    let rest = buf.get(at + 1..)?;
    let line = &rest[..rest.len().min(MAX_HEADER)];
    let cr = line.iter().position(|&c| c == b'\r')?;
    if rest.get(cr + 1) != Some(&b'\n') {
        return None;
    }
    let n = crate::util::parse_i64(&line[..cr])?;
    let n = usize::try_from(n).ok()?;
    Some((n, at + 1 + cr + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(buf: &[u8], max: usize) -> (Vec<&[u8]>, usize) {
        let mut found = Vec::new();
        let seen = keys_ahead(buf, max, |k| found.push(k));
        (found, seen)
    }

    #[test]
    fn finds_the_second_argument_of_each_complete_command() {
        let buf = b"*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$1\r\nv\r\n*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$2\r\nk2\r\n*2\r\n$3\r\nGET";
        let (found, seen) = keys(buf, 10);
        assert_eq!(found, vec![&b"k1"[..], &b"k2"[..]]);
        assert_eq!(seen, 3, "the incomplete fourth is not counted");
        assert_eq!(keys(buf, 1), (vec![&b"k1"[..]], 1));
    }

    #[test]
    fn stops_at_anything_it_does_not_expect() {
        for buf in [
            &b"GET k\r\n"[..],
            b"*2\r\n$3\r\nGET\r\n$-1\r\n",
            b"*2\r\n$3\r\nGET\r\n$99999999999999999999999\r\n",
            b"*2\r\n$3\r\nGET\r\n$18446744073709551615\r\nk\r\n",
            b"*2\r\n+3\r\nGET\r\n",
            b"*2\r",
            b"*x\r\n",
            b"",
        ] {
            assert_eq!(keys(buf, 10), (vec![], 0), "{buf:?}");
        }
    }
}
