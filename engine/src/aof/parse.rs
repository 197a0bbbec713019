//! Reading commands back from an AOF file, telling a torn tail (the file
//! ends inside a command: a write cut short by a crash) from corruption
//! (bytes that are not what Redis writes), each with its byte offset.

use bytes::Bytes;

/// Most arguments one command may have (Redis's `INT_MAX` guard; anything
/// bigger is corruption, and the bound keeps allocations sane).
const MAX_ARGS: usize = 1 << 24;

/// What the reader found at an offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// A whole command; the next one starts at `next`.
    Command { argv: Vec<Bytes>, next: usize },
    /// An annotation line (`#...`, Redis's timestamps); skip to `next`.
    Annotation { next: usize },
    /// The end of the data, exactly at a command boundary.
    End,
    /// The data ends inside a command.
    Truncated,
    /// Not a command as Redis writes it.
    Corrupt(String),
}

/// Reads the command at `pos` of `data` (a whole file held in memory).
pub fn read_command(data: &Bytes, pos: usize) -> Read {
    if pos >= data.len() {
        return Read::End;
    }
    if data[pos] == b'#' {
        return match find_crlf(data, pos) {
            Some(end) => Read::Annotation { next: end + 2 },
            None => Read::Truncated,
        };
    }
    if data[pos] != b'*' {
        return Read::Corrupt(format!("Expected '*', got: '{}'", printable(data[pos])));
    }
    let (argc, mut at) = match read_number(data, pos + 1) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if argc < 1 || argc > MAX_ARGS as u64 {
        return Read::Corrupt(format!("Invalid argument count {argc}"));
    }
    let mut argv = Vec::with_capacity((argc as usize).min(1024));
    for _ in 0..argc {
        if at >= data.len() {
            return Read::Truncated;
        }
        if data[at] != b'$' {
            return Read::Corrupt(format!("Expected '$', got: '{}'", printable(data[at])));
        }
        let (len, start) = match read_number(data, at + 1) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let Some(end) = usize::try_from(len).ok().and_then(|l| start.checked_add(l)) else {
            return Read::Corrupt(format!("Invalid bulk length {len}"));
        };
        if end.saturating_add(2) > data.len() {
            return Read::Truncated;
        }
        if &data[end..end + 2] != b"\r\n" {
            return Read::Corrupt("Expected \\r\\n after a bulk string".into());
        }
        argv.push(data.slice(start..end));
        at = end + 2;
    }
    Read::Command { argv, next: at }
}

/// A decimal number ended by CRLF, starting at `pos`; returns it and the
/// offset after the CRLF.
fn read_number(data: &[u8], pos: usize) -> Result<(u64, usize), Read> {
    let Some(end) = find_crlf(data, pos) else {
        // Digits up to the end (or a lone CR) are a torn header; anything
        // else can never become a number.
        let tail = &data[pos.min(data.len())..];
        let torn = tail
            .iter()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || (*c == b'\r' && i == tail.len() - 1));
        return Err(if torn {
            Read::Truncated
        } else {
            Read::Corrupt("Expected a number followed by \\r\\n".into())
        });
    };
    let digits = &data[pos..end];
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Read::Corrupt(format!(
            "Invalid number '{}'",
            String::from_utf8_lossy(digits)
        )));
    }
    let n = digits.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Ok((n, end + 2))
}

/// The offset of the first CRLF at or after `pos`.
fn find_crlf(data: &[u8], pos: usize) -> Option<usize> {
    let from = data.get(pos..)?;
    from.windows(2).position(|w| w == b"\r\n").map(|i| pos + i)
}

fn printable(c: u8) -> String {
    if c.is_ascii_graphic() {
        (c as char).to_string()
    } else {
        format!("\\x{c:02x}")
    }
}

/// The outcome of scanning a whole file of commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Bytes that hold whole commands (and whole MULTI/EXEC blocks).
    pub valid_up_to: usize,
    pub commands: usize,
    pub problem: Option<Problem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The file ends inside a command, or inside a MULTI without EXEC.
    Truncated,
    /// Corruption at this offset.
    Corrupt { offset: usize, message: String },
}

/// Scans commands from `start` to the end: where the valid prefix ends
/// and why (for the check tool and for loading's first pass).
pub fn scan(data: &Bytes, start: usize) -> Scan {
    let mut pos = start;
    let mut commands = 0;
    let mut valid_up_to = start;
    let mut in_multi = false;
    loop {
        match read_command(data, pos) {
            Read::Command { argv, next } => {
                commands += 1;
                pos = next;
                if argv[0].eq_ignore_ascii_case(b"multi") {
                    if in_multi {
                        let message = "Unexpected MULTI".to_string();
                        return corrupt(valid_up_to, pos, commands, message);
                    }
                    in_multi = true;
                } else if argv[0].eq_ignore_ascii_case(b"exec") {
                    if !in_multi {
                        let message = "Unexpected EXEC".to_string();
                        return corrupt(valid_up_to, pos, commands, message);
                    }
                    in_multi = false;
                }
                if !in_multi {
                    valid_up_to = pos;
                }
            }
            Read::Annotation { next } => {
                pos = next;
                if !in_multi {
                    valid_up_to = pos;
                }
            }
            Read::End if in_multi => return truncated(valid_up_to, commands),
            Read::End => {
                return Scan {
                    valid_up_to,
                    commands,
                    problem: None,
                }
            }
            Read::Truncated => return truncated(valid_up_to, commands),
            Read::Corrupt(message) => return corrupt(valid_up_to, pos, commands, message),
        }
    }
}

fn truncated(valid_up_to: usize, commands: usize) -> Scan {
    Scan {
        valid_up_to,
        commands,
        problem: Some(Problem::Truncated),
    }
}

fn corrupt(valid_up_to: usize, offset: usize, commands: usize, message: String) -> Scan {
    Scan {
        valid_up_to,
        commands,
        problem: Some(Problem::Corrupt { offset, message }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    const SET: &str = "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n";

    #[test]
    fn reads_whole_commands_and_annotations() {
        let data = b(&format!("#TS:1\r\n{SET}"));
        assert_eq!(read_command(&data, 0), Read::Annotation { next: 7 });
        let Read::Command { argv, next } = read_command(&data, 7) else {
            panic!("a command")
        };
        assert_eq!(argv, vec![b("set"), b("k"), b("v")]);
        assert_eq!(next, data.len());
        assert_eq!(read_command(&data, next), Read::End);
    }

    #[test]
    fn every_cut_of_a_command_is_truncated_not_corrupt() {
        for cut in 1..SET.len() {
            let data = b(&SET[..cut]);
            assert_eq!(read_command(&data, 0), Read::Truncated, "cut at {cut}");
        }
    }

    #[test]
    fn garbage_is_corrupt() {
        for bad in ["x\r\n", "*a\r\n", "*1\r\nx", "*1\r\n$1\r\nab\r\n", "*0\r\n"] {
            assert!(
                matches!(read_command(&b(bad), 0), Read::Corrupt(_)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn scan_stops_before_a_torn_tail_or_an_open_multi() {
        let data = b(&format!("{SET}{}", &SET[..10]));
        let s = scan(&data, 0);
        assert_eq!(
            (s.valid_up_to, s.problem),
            (SET.len(), Some(Problem::Truncated))
        );
        let multi = "*1\r\n$5\r\nMULTI\r\n";
        let data = b(&format!("{SET}{multi}{SET}"));
        let s = scan(&data, 0);
        assert_eq!(
            (s.valid_up_to, s.problem),
            (SET.len(), Some(Problem::Truncated))
        );
        let data = b(&format!("{SET}{multi}{SET}*1\r\n$4\r\nEXEC\r\n"));
        assert_eq!(scan(&data, 0).problem, None);
    }

    #[test]
    fn scan_names_the_offset_of_corruption() {
        let data = b(&format!("{SET}??{SET}"));
        let s = scan(&data, 0);
        assert_eq!(s.valid_up_to, SET.len());
        assert!(matches!(s.problem, Some(Problem::Corrupt { offset, .. }) if offset == SET.len()));
    }
}
