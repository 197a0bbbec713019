//! The bytes of the append-only file: commands in RESP multibulk form
//! (with a `SELECT` whenever the database changes, as Redis writes them),
//! the manifest of a multi-part AOF, and the file names Redis 7.0 uses.

use crate::effects::Effect;
use bytes::{BufMut, Bytes};

/// Appends `argv` as a RESP multibulk command (`*N\r\n$len\r\narg\r\n...`)
/// to `out` (a `Vec<u8>`, or the AOF's `BytesMut`).
pub fn encode_command(argv: &[Bytes], out: &mut impl BufMut) {
    push_header(out, b'*', argv.len());
    for arg in argv {
        push_header(out, b'$', arg.len());
        out.put_slice(arg);
        out.put_slice(b"\r\n");
    }
}

/// Appends a `<kind><n>\r\n` line. Lengths under 100 (most arguments,
/// every command's count) are written in one copy without formatting:
/// this runs for every argument of every write under the AOF.
fn push_header(out: &mut impl BufMut, kind: u8, n: usize) {
    match u8::try_from(n) {
        Ok(d @ 0..=9) => out.put_slice(&[kind, b'0' + d, b'\r', b'\n']),
        Ok(d @ 10..=99) => out.put_slice(&[kind, b'0' + d / 10, b'0' + d % 10, b'\r', b'\n']),
        _ => {
            out.put_u8(kind);
            out.put_slice(itoa::Buffer::new().format(n).as_bytes());
            out.put_slice(b"\r\n");
        }
    }
}

/// Appends `effect`, preceded by a `SELECT` when it runs in another
/// database than the last one written (`selected`, None at the start of a
/// file, so every file begins with one).
pub fn encode_effect(selected: &mut Option<usize>, effect: &Effect, out: &mut impl BufMut) {
    if *selected != Some(effect.db) {
        let db = Bytes::from(effect.db.to_string());
        encode_command(&[Bytes::from_static(b"SELECT"), db], out);
        *selected = Some(effect.db);
    }
    encode_command(&effect.argv, out);
}

/// What a file listed in the manifest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Base,
    /// A file of a finished rewrite waiting to be deleted.
    History,
    Incr,
}

impl FileKind {
    fn letter(self) -> char {
        match self {
            FileKind::Base => 'b',
            FileKind::History => 'h',
            FileKind::Incr => 'i',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    pub name: String,
    pub seq: u64,
    pub kind: FileKind,
}

/// The manifest: which files make up the AOF, in the order they load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<ManifestEntry>,
    pub incrs: Vec<ManifestEntry>,
    pub history: Vec<ManifestEntry>,
}

/// Longest manifest line Redis accepts.
const MANIFEST_MAX_LINE: usize = 1024;

impl Manifest {
    /// The text Redis 7.0 writes: base, history, then incr files, one
    /// `file <name> seq <n> type <b|h|i>` line each.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let lines = self.base.iter().chain(&self.history).chain(&self.incrs);
        for e in lines {
            let name = quote_name(&e.name);
            text.push_str(&format!(
                "file {name} seq {} type {}\n",
                e.seq,
                e.kind.letter()
            ));
        }
        text
    }

    /// Parses a manifest as Redis does: `#` comments and blank lines are
    /// skipped, each other line holds `file`, `seq` and `type` pairs in
    /// any order, at most one base, and incr sequence numbers increase.
    pub fn parse(data: &[u8]) -> Result<Manifest, String> {
        let text = std::str::from_utf8(data).map_err(|_| "Invalid AOF manifest file format")?;
        let mut m = Manifest::default();
        for line in text.split('\n') {
            if line.len() > MANIFEST_MAX_LINE {
                return Err("The AOF manifest file contains too long line".into());
            }
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let entry = parse_line(line)?;
            match entry.kind {
                FileKind::Base if m.base.is_some() => {
                    return Err("Found duplicate base file information".into())
                }
                FileKind::Base => m.base = Some(entry),
                FileKind::History => m.history.push(entry),
                FileKind::Incr => {
                    if m.incrs.last().is_some_and(|last| last.seq >= entry.seq) {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    m.incrs.push(entry)
                }
            }
        }
        if m.base.is_none() && m.incrs.is_empty() {
            return Err("Found an empty AOF manifest".into());
        }
        Ok(m)
    }

    /// The files to load, in order: the base (if any), then the incr files.
    pub fn load_order(&self) -> Vec<ManifestEntry> {
        self.base.iter().chain(&self.incrs).cloned().collect()
    }

    pub fn next_base_seq(&self) -> u64 {
        self.base.as_ref().map_or(0, |b| b.seq).saturating_add(1)
    }

    pub fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(0, |i| i.seq).saturating_add(1)
    }
}

fn parse_line(line: &str) -> Result<ManifestEntry, String> {
    let words = split_words(line).ok_or("Invalid AOF manifest file format")?;
    if words.len() % 2 != 0 {
        return Err("Invalid AOF manifest file format".into());
    }
    let (mut name, mut seq, mut kind) = (None, None, None);
    for pair in words.chunks(2) {
        match pair[0].as_str() {
            "file" => name = Some(pair[1].clone()),
            "seq" => seq = pair[1].parse::<u64>().ok(),
            "type" => {
                kind = match pair[1].as_str() {
                    "b" => Some(FileKind::Base),
                    "h" => Some(FileKind::History),
                    "i" => Some(FileKind::Incr),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    match (name, seq, kind) {
        (Some(name), Some(seq), Some(kind)) if !name.is_empty() && !name.contains('/') => {
            Ok(ManifestEntry { name, seq, kind })
        }
        _ => Err("Invalid AOF manifest file format".into()),
    }
}

/// Splits a manifest line into words; a word may be double-quoted (with
/// `\"`, `\\`, `\n` escapes), as Redis quotes names with spaces.
fn split_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Some(words);
        };
        let mut word = String::new();
        if first == '"' {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        'n' => word.push('\n'),
                        'r' => word.push('\r'),
                        't' => word.push('\t'),
                        other => word.push(other),
                    },
                    c => word.push(c),
                }
            }
            if chars.peek().is_some_and(|c| !c.is_ascii_whitespace()) {
                return None;
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_ascii_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
}

/// A file name as written in the manifest: quoted when it has spaces or
/// characters that need escaping.
fn quote_name(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
    {
        return name.to_string();
    }
    let mut q = String::from("\"");
    for c in name.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// `<appendfilename>.<seq>.base.rdb` (or `.base.aof` without a preamble).
pub fn base_name(filename: &str, seq: u64, rdb: bool) -> String {
    let ext = if rdb { "rdb" } else { "aof" };
    format!("{filename}.{seq}.base.{ext}")
}

/// `<appendfilename>.<seq>.incr.aof`.
pub fn incr_name(filename: &str, seq: u64) -> String {
    format!("{filename}.{seq}.incr.aof")
}

/// `<appendfilename>.manifest`.
pub fn manifest_name(filename: &str) -> String {
    format!("{filename}.manifest")
}

/// The temporary manifest renamed over the real one.
pub fn temp_manifest_name(filename: &str) -> String {
    format!("temp-{filename}.manifest")
}

/// Joins a directory and a name.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() || dir == "." {
        name.to_string()
    } else if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_multibulk_with_select_on_db_change() {
        let mut out = Vec::new();
        let mut selected = None;
        let set = Effect::new(0, vec!["set".into(), "k".into(), "v".into()]);
        encode_effect(&mut selected, &set, &mut out);
        encode_effect(&mut selected, &set, &mut out);
        let incr = Effect::new(2, vec!["incr".into(), "n".into()]);
        encode_effect(&mut selected, &incr, &mut out);
        let expected = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n\
             *3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n\
             *2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*2\r\n$4\r\nincr\r\n$1\r\nn\r\n";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn lengths_on_both_sides_of_the_short_forms_are_written_in_decimal() {
        for n in [0usize, 9, 10, 99, 100, 255, 256, 1000, 123_456] {
            let mut out = Vec::new();
            encode_command(&[Bytes::from(vec![b'x'; n])], &mut out);
            let expected = format!("*1\r\n${n}\r\n{}\r\n", "x".repeat(n));
            assert_eq!(String::from_utf8(out).unwrap(), expected, "length {n}");
        }
    }

    #[test]
    fn manifest_round_trips_as_redis_writes_it() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";
        let m = Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(m.to_text(), text);
        assert_eq!(m.next_base_seq(), 2);
        assert_eq!(m.next_incr_seq(), 2);
        assert_eq!(
            m.load_order()
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>(),
            ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof"]
        );
    }

    #[test]
    fn manifest_accepts_comments_any_order_and_quoted_names() {
        let text = "# comment\n\ntype i seq 3 file \"my file.aof\"\n";
        let m = Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(m.incrs[0].name, "my file.aof");
        assert_eq!(m.to_text(), "file \"my file.aof\" seq 3 type i\n");
    }

    #[test]
    fn bad_manifests_are_refused() {
        for bad in [
            "",
            "file a seq 1\n",
            "file a seq x type b\n",
            "file a seq 1 type z\n",
            "file a seq 1 type b\nfile b seq 2 type b\n",
            "file a seq 2 type i\nfile b seq 1 type i\n",
            "file ../x seq 1 type i\n",
            "file \"unterminated seq 1 type i\n",
        ] {
            assert!(Manifest::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
