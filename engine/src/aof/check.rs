//! `keel-server --check-aof [--fix]`: finds where an AOF stops being
//! valid and, with `--fix`, how much of the last file to keep. Pure: the
//! caller reads the files and performs the truncation.

use super::format::Manifest;
use super::parse::{scan, Problem};
use crate::rdb::loader::RdbLoader;
use crate::rdb::Encodings;
use bytes::Bytes;

/// What checking one file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    pub name: String,
    pub size: u64,
    pub valid_up_to: u64,
    pub commands: usize,
    /// None when the whole file is valid.
    pub problem: Option<String>,
    /// The problem is a torn tail (or an open MULTI), which `--fix` cuts.
    pub truncated: bool,
}

impl FileCheck {
    pub fn is_valid(&self) -> bool {
        self.problem.is_none()
    }
}

/// Checks one file: an optional RDB preamble, then commands.
pub fn check_file(name: &str, data: &Bytes, enc: Encodings) -> FileCheck {
    let mut check = FileCheck {
        name: name.to_string(),
        size: data.len() as u64,
        valid_up_to: 0,
        commands: 0,
        problem: None,
        truncated: false,
    };
    let mut start = 0;
    if data.starts_with(b"REDIS") {
        match rdb_end(data, enc) {
            Ok(end) => start = end,
            Err(e) => {
                check.problem = Some(format!("RDB preamble is not valid: {e}"));
                return check;
            }
        }
    }
    let s = scan(data, start);
    check.valid_up_to = s.valid_up_to as u64;
    check.commands = s.commands;
    match s.problem {
        None => {}
        Some(Problem::Truncated) => {
            check.truncated = true;
            check.problem = Some(format!(
                "Unexpected end of file (a torn last command or an unfinished MULTI) after offset {}",
                s.valid_up_to
            ));
        }
        Some(Problem::Corrupt { offset, message }) => {
            check.problem = Some(format!("Bad format at offset {offset}: {message}"));
        }
    }
    check
}

/// Where a valid RDB preamble ends.
fn rdb_end(data: &[u8], enc: Encodings) -> Result<usize, crate::rdb::RdbError> {
    let mut loader = RdbLoader::new(data, enc)?;
    while loader.next_item()?.is_some() {}
    Ok(loader.offset() as usize)
}

/// The files of a multi-part AOF, in the order they load.
pub fn manifest_files(manifest_text: &[u8]) -> Result<Vec<String>, String> {
    let m = Manifest::parse(manifest_text)?;
    Ok(m.load_order().into_iter().map(|e| e.name).collect())
}

/// The verdict over all files, in load order: where to cut (file index
/// and length) when the first problem is a torn tail in the last file,
/// which is all `--fix` may repair, as redis-check-aof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    /// Fixable: cut file `index` to `len` bytes.
    Fixable {
        index: usize,
        len: u64,
    },
    /// Not fixable by truncation (corruption, or a torn file that is not the last).
    Broken {
        index: usize,
    },
}

pub fn verdict(checks: &[FileCheck]) -> Verdict {
    let Some(index) = checks.iter().position(|c| !c.is_valid()) else {
        return Verdict::Valid;
    };
    let last = index + 1 == checks.len();
    let c = &checks[index];
    if last
        && (c.truncated || c.problem.is_some())
        && !c.problem.as_deref().unwrap_or("").starts_with("RDB")
    {
        Verdict::Fixable {
            index,
            len: c.valid_up_to,
        }
    } else {
        Verdict::Broken { index }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn enc() -> Encodings {
        Encodings::from_config(&Config::default())
    }

    const SET: &str = "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n";

    #[test]
    fn a_torn_last_file_is_fixable_at_its_last_whole_command() {
        let good = check_file("a.1.incr.aof", &Bytes::from(SET), enc());
        assert!(good.is_valid());
        let torn = check_file(
            "a.2.incr.aof",
            &Bytes::from(format!("{SET}*2\r\n$3")),
            enc(),
        );
        assert!(torn.truncated);
        assert_eq!(torn.valid_up_to, SET.len() as u64);
        assert_eq!(
            verdict(&[good.clone(), torn.clone()]),
            Verdict::Fixable {
                index: 1,
                len: SET.len() as u64
            }
        );
        assert_eq!(verdict(&[torn, good]), Verdict::Broken { index: 0 });
    }

    #[test]
    fn corruption_names_its_offset() {
        let bad = check_file("x", &Bytes::from(format!("{SET}!!")), enc());
        assert!(!bad.truncated);
        assert!(bad
            .problem
            .unwrap()
            .contains(&format!("offset {}", SET.len())));
    }
}
