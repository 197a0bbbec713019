//! The `keel-server` command line and config file, in redis-server's forms.
//!
//! ```text
//! keel-server [/path/to/keel.conf | -] [--name value ...] ...
//! ```
//!
//! The file has one directive a line, `name arg arg ...`, with arguments
//! quoted as redis.conf allows (`"..."` with C escapes and `\xHH`, `'...'`
//! with only `\'`), `#` starting a comment line, and `include path` reading
//! another file in place. Flags are directives too: `--name` starts one and
//! the arguments up to the next `--name` are its values. The file comes
//! first and the flags after it, and a later directive wins over an earlier
//! one. Every directive goes through [`Config::set`] (multi-argument ones
//! joined with spaces); a bad one stops the server with Redis's
//! `*** FATAL CONFIG FILE ERROR ***` block.

use keel_engine::cmd::connection::REDIS_VERSION;
use keel_engine::config::param_mutability;
use keel_engine::Config;
use std::fmt;
use std::io;

/// Parameters that take any number of arguments; every other one takes one.
/// `client-output-buffer-limit` takes one class and its three limits per
/// line in redis.conf (`client-output-buffer-limit normal 0 0 0`); each line
/// sets its class and leaves the others.
const MULTI_ARG_PARAMS: &[&str] = &["bind", "save", "replicaof", "client-output-buffer-limit"];

/// How deep `include` may nest (a file including itself stops here).
const MAX_INCLUDE_DEPTH: usize = 16;

/// One configuration directive and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Lower-cased name.
    pub name: String,
    pub args: Vec<String>,
    /// Line number, counted as Redis does: file lines first, then one line
    /// per flag directive after a separating line.
    pub line: usize,
    /// The line as an error message shows it.
    pub text: String,
}

/// Why the configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A directive is wrong: printed as Redis's FATAL CONFIG FILE ERROR block.
    Line {
        line: usize,
        text: String,
        reason: String,
    },
    /// A config file could not be read.
    Open { path: String, reason: String },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Line { line, text, reason } => write!(
                f,
                "\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n\
                 Reading the configuration file, at line {line}\n\
                 >>> '{text}'\n\
                 {reason}"
            ),
            ConfigError::Open { path, reason } => {
                write!(f, "Fatal error, can't open config file '{path}': {reason}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub enum Invocation {
    Version,
    Help,
    Serve {
        config: Box<Config>,
        /// The config file given, if any (`-` for standard input).
        config_file: Option<String>,
    },
}

/// Reads a config file by path (`-` is standard input in the binary).
pub type Loader<'a> = &'a dyn Fn(&str) -> io::Result<String>;

/// Interprets redis-server-style arguments (without the program name).
pub fn parse_command_line(args: &[String], load: Loader<'_>) -> Result<Invocation, ConfigError> {
    match args.first().map(String::as_str) {
        Some("-v" | "--version") => return Ok(Invocation::Version),
        Some("-h" | "--help") => return Ok(Invocation::Help),
        _ => {}
    }
    let (config_file, flags) = match args.first() {
        Some(first) if first == "-" || !first.starts_with('-') => (Some(first.clone()), &args[1..]),
        _ => (None, args),
    };
    let mut directives = Vec::new();
    let mut file_newlines = 0;
    if let Some(path) = &config_file {
        let text = read_file(path, load)?;
        file_newlines = text.matches('\n').count();
        directives = parse_text(&text, load, 0)?;
    }
    // Redis appends the flags after the file's text and a newline.
    directives.extend(flag_directives(flags, file_newlines + 2));
    let mut config = Config::default();
    apply(&mut config, &directives)?;
    Ok(Invocation::Serve {
        config: Box::new(config),
        config_file,
    })
}

fn read_file(path: &str, load: Loader<'_>) -> Result<String, ConfigError> {
    load(path).map_err(|e| ConfigError::Open {
        path: path.to_string(),
        reason: os_error_text(&e),
    })
}

/// An IO error as `strerror` words it, without Rust's "(os error N)".
fn os_error_text(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Parses config-file text into directives, expanding `include`s.
pub fn parse_text(
    text: &str,
    load: Loader<'_>,
    depth: usize,
) -> Result<Vec<Directive>, ConfigError> {
    let mut out = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let trimmed = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fail = |reason: &str| ConfigError::Line {
            line,
            text: trimmed.to_string(),
            reason: reason.to_string(),
        };
        let mut words =
            split_args(trimmed).ok_or_else(|| fail("Unbalanced quotes in configuration line"))?;
        if words.is_empty() {
            continue;
        }
        let name = words.remove(0).to_ascii_lowercase();
        if name == "include" {
            if words.len() != 1 {
                return Err(fail("wrong number of arguments"));
            }
            if depth >= MAX_INCLUDE_DEPTH {
                return Err(fail("include nesting too deep"));
            }
            let included = read_file(&words[0], load)?;
            out.extend(parse_text(&included, load, depth + 1)?);
            continue;
        }
        out.push(Directive {
            name,
            args: words,
            line,
            text: trimmed.to_string(),
        });
    }
    Ok(out)
}

/// Turns `--name value ...` flags into directives numbered from `first_line`.
///
/// As redis-server: `--name` starts a directive (also `"--port 6380"` as one
/// argument); a bare `--` right after a name is a value; `--save` with no
/// value before the next flag or at the end means `save ""`.
pub fn flag_directives(flags: &[String], first_line: usize) -> Vec<Directive> {
    let mut out: Vec<Directive> = Vec::new();
    for arg in flags {
        let awaiting_value = out.last().is_some_and(|d| d.args.is_empty());
        match arg.strip_prefix("--") {
            Some(rest) if !rest.is_empty() || awaiting_value => {
                finish_flag(out.last_mut());
                let mut words = split_args(rest).unwrap_or_else(|| vec![rest.to_string()]);
                let name = if words.is_empty() {
                    String::new()
                } else {
                    words.remove(0).to_ascii_lowercase()
                };
                out.push(Directive {
                    name,
                    args: words,
                    line: first_line + out.len(),
                    text: rest.trim().to_string(),
                });
            }
            _ => match out.last_mut() {
                Some(d) => {
                    d.text.push(' ');
                    d.text.push_str(&quote(arg));
                    d.args.push(arg.clone());
                }
                // A value before any name reads as a directive of that name.
                None => out.push(Directive {
                    name: arg.to_ascii_lowercase(),
                    args: Vec::new(),
                    line: first_line,
                    text: quote(arg),
                }),
            },
        }
    }
    finish_flag(out.last_mut());
    out
}

/// `--save` with no value means `save ""` (no snapshots), as in Redis.
fn finish_flag(last: Option<&mut Directive>) {
    if let Some(d) = last {
        if d.name == "save" && d.args.is_empty() {
            d.args.push(String::new());
            d.text.push_str(" \"\"");
        }
    }
}

/// Applies directives in order to `config`: a later one wins.
pub fn apply(config: &mut Config, directives: &[Directive]) -> Result<(), ConfigError> {
    for d in directives {
        let fail = |reason: String| ConfigError::Line {
            line: d.line,
            text: d.text.clone(),
            reason,
        };
        // Names are case-insensitive and old names (aliases) are accepted,
        // as in redis.conf: `slave-read-only`, `lua-time-limit`, ...
        let Some(name) = keel_engine::config::canonical_param(d.name.as_bytes())
            .filter(|name| param_mutability(name).is_some())
        else {
            return Err(fail("Bad directive or wrong number of arguments".into()));
        };
        if !MULTI_ARG_PARAMS.contains(&name) && d.args.len() != 1 {
            return Err(fail("wrong number of arguments".into()));
        }
        config.set(name, &d.args.join(" ")).map_err(fail)?;
    }
    Ok(())
}

/// Splits a line into arguments with redis.conf's quoting rules; `None`
/// when quotes are unbalanced or a closing quote is not followed by a space.
pub fn split_args(line: &str) -> Option<Vec<String>> {
    let bytes = line.as_bytes();
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        while pos < bytes.len() && is_space(bytes[pos]) {
            pos += 1;
        }
        if pos == bytes.len() {
            return Some(out);
        }
        let token = read_token(bytes, &mut pos)?;
        out.push(String::from_utf8_lossy(&token).into_owned());
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Reads one argument starting at `pos`. A quote may open mid-argument
/// (`ab"c d"` is `abc d`); a closing quote ends it.
fn read_token(bytes: &[u8], pos: &mut usize) -> Option<Vec<u8>> {
    let mut token = Vec::new();
    while *pos < bytes.len() {
        let c = bytes[*pos];
        if is_space(c) {
            break;
        }
        *pos += 1;
        match c {
            b'"' => return read_double_quoted(bytes, pos, token),
            b'\'' => return read_single_quoted(bytes, pos, token),
            _ => token.push(c),
        }
    }
    Some(token)
}

fn read_double_quoted(bytes: &[u8], pos: &mut usize, mut token: Vec<u8>) -> Option<Vec<u8>> {
    loop {
        let c = *bytes.get(*pos)?;
        match c {
            b'\\' if bytes.get(*pos + 1) == Some(&b'x') => {
                let hex = bytes.get(*pos + 2..*pos + 4).and_then(hex_byte);
                match hex {
                    Some(b) => {
                        token.push(b);
                        *pos += 4;
                    }
                    None => {
                        token.push(b'x');
                        *pos += 2;
                    }
                }
            }
            b'\\' if *pos + 1 < bytes.len() => {
                token.push(unescape(bytes[*pos + 1]));
                *pos += 2;
            }
            b'"' => return close_quote(bytes, pos, token),
            _ => {
                token.push(c);
                *pos += 1;
            }
        }
    }
}

fn read_single_quoted(bytes: &[u8], pos: &mut usize, mut token: Vec<u8>) -> Option<Vec<u8>> {
    loop {
        let c = *bytes.get(*pos)?;
        match c {
            b'\\' if bytes.get(*pos + 1) == Some(&b'\'') => {
                token.push(b'\'');
                *pos += 2;
            }
            b'\'' => return close_quote(bytes, pos, token),
            _ => {
                token.push(c);
                *pos += 1;
            }
        }
    }
}

/// A closing quote must be followed by a space or the end of the line.
fn close_quote(bytes: &[u8], pos: &mut usize, token: Vec<u8>) -> Option<Vec<u8>> {
    *pos += 1;
    match bytes.get(*pos) {
        Some(&c) if !is_space(c) => None,
        _ => Some(token),
    }
}

fn unescape(c: u8) -> u8 {
    match c {
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'b' => 0x08,
        b'a' => 0x07,
        other => other,
    }
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(pair).ok()?;
    if text.len() != 2 || !text.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(text, 16).ok()
}

/// Quotes a flag value the way Redis shows it in a config error.
fn quote(arg: &str) -> String {
    let mut out = String::from("\"");
    for &c in arg.as_bytes() {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn no_files(path: &str) -> io::Result<String> {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no file {path}"),
        ))
    }

    /// Runs the command line against an in-memory set of files.
    fn run(files: &[(&str, &str)], argv: &[&str]) -> Result<Config, ConfigError> {
        let files: HashMap<String, String> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        let load = move |path: &str| -> io::Result<String> {
            files
                .get(path)
                .cloned()
                .ok_or_else(|| io::Error::from_raw_os_error(2))
        };
        match parse_command_line(&args(argv), &load)? {
            Invocation::Serve { config, .. } => Ok(*config),
            other => panic!("expected a config, got {other:?}"),
        }
    }

    fn line_error(line: usize, text: &str, reason: &str) -> ConfigError {
        ConfigError::Line {
            line,
            text: text.into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn quoting_rules() {
        assert_eq!(split_args("  a  b\tc "), Some(args(&["a", "b", "c"])));
        assert_eq!(
            split_args(r#"requirepass "a b\n\x41\"" 'it\'s' """#),
            Some(args(&["requirepass", "a b\nA\"", "it's", ""]))
        );
        // A backslash is literal inside single quotes, and outside quotes.
        assert_eq!(split_args(r"'a\nb' c\d"), Some(args(&[r"a\nb", r"c\d"])));
        // A quote may open inside an argument.
        assert_eq!(split_args(r#"ab"c d" e"#), Some(args(&["abc d", "e"])));
        // A bad \x escape keeps the x.
        assert_eq!(split_args(r#""\xZZ""#), Some(args(&["xZZ"])));
        assert_eq!(split_args(""), Some(vec![]));
        assert_eq!(split_args(r#"bind "127.0.0.1"#), None);
        assert_eq!(split_args(r#""a"b"#), None);
        assert_eq!(split_args("'a b"), None);
        assert_eq!(split_args(r"'a b'\x"), None);
    }

    #[test]
    fn file_with_comments_quotes_and_blank_lines() {
        let text = "# a comment\n\n   port 7001\r\n  # indented comment\nrequirepass \"s e c\"\nTIMEOUT 5\n";
        let config = run(&[("k.conf", text)], &["k.conf"]).unwrap();
        assert_eq!(config.port, 7001);
        assert_eq!(config.requirepass.as_deref(), Some("s e c"));
        assert_eq!(config.timeout, 5);
    }

    #[test]
    fn old_names_are_accepted_in_files_and_flags() {
        let config = run(
            &[(
                "k.conf",
                "slave-read-only no\nhash-max-ziplist-entries 64\n",
            )],
            &["k.conf", "--lua-time-limit", "250"],
        )
        .unwrap();
        assert!(!config.replica_read_only);
        assert_eq!(config.hash_max_listpack_entries, 64);
        assert_eq!(config.busy_reply_threshold, 250);
    }

    #[test]
    fn flags_override_the_file_and_later_wins() {
        let config = run(
            &[("k.conf", "port 7001\ntimeout 5\n")],
            &[
                "k.conf",
                "--port",
                "7002",
                "--timeout",
                "9",
                "--port",
                "7003",
            ],
        )
        .unwrap();
        assert_eq!(config.port, 7003);
        assert_eq!(config.timeout, 9);
        let config = run(&[("k.conf", "port 1\nport 2\n")], &["k.conf"]).unwrap();
        assert_eq!(config.port, 2);
    }

    #[test]
    fn multi_argument_directives_are_joined() {
        let config = run(&[], &["--bind", "127.0.0.1", "-::1", "--save", ""]).unwrap();
        assert_eq!(config.bind, args(&["127.0.0.1", "-::1"]));
        let config = run(
            &[("k.conf", "bind 127.0.0.2 ::1\nsave \"\"\n")],
            &["k.conf"],
        )
        .unwrap();
        assert_eq!(config.bind, args(&["127.0.0.2", "::1"]));
        // One argument holding name and value, as "--port 6380".
        let config = run(&[], &["--port 6380", "--bind 10.0.0.1 10.0.0.2"]).unwrap();
        assert_eq!(config.port, 6380);
        assert_eq!(config.bind, args(&["10.0.0.1", "10.0.0.2"]));
    }

    #[test]
    fn output_buffer_limits_take_one_class_per_line_as_in_redis_conf() {
        let file = "client-output-buffer-limit normal 0 0 0\n\
                    client-output-buffer-limit replica 256mb 64mb 60\n\
                    client-output-buffer-limit pubsub 1mb 512kb 5\n";
        let config = run(&[("k.conf", file)], &["k.conf"]).unwrap();
        assert_eq!(
            config.client_output_buffer_limit.render(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 5"
        );
        let err = run(
            &[("k.conf", "client-output-buffer-limit pubsub 1mb 2mb\n")],
            &["k.conf"],
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::Line { line: 1, .. }), "{err:?}");
    }

    #[test]
    fn save_without_value_means_no_snapshots() {
        assert!(run(&[], &["--save", "--port", "7001"]).is_ok());
        assert!(run(&[], &["--port", "7001", "--save"]).is_ok());
        let d = flag_directives(&args(&["--save", "--port", "1"]), 2);
        assert_eq!(d[0].args, args(&[""]));
        assert_eq!(d[1].line, 3);
    }

    #[test]
    fn unknown_directive_in_file_names_the_line() {
        let err = run(
            &[("a.conf", "port 7001\n# comment\nfoo bar\n")],
            &["a.conf"],
        )
        .unwrap_err();
        assert_eq!(
            err,
            line_error(3, "foo bar", "Bad directive or wrong number of arguments")
        );
        assert_eq!(
            err.to_string(),
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n\
             Reading the configuration file, at line 3\n\
             >>> 'foo bar'\n\
             Bad directive or wrong number of arguments"
        );
    }

    #[test]
    fn flag_errors_are_numbered_after_the_file() {
        // As redis-server: the flags follow the file's text and a newline.
        let err = run(&[("c.conf", "port 7001\n")], &["c.conf", "--bogus", "1"]).unwrap_err();
        assert_eq!(
            err,
            line_error(
                3,
                "bogus \"1\"",
                "Bad directive or wrong number of arguments"
            )
        );
        let err = run(&[], &["--port", "1", "2"]).unwrap_err();
        assert_eq!(
            err,
            line_error(2, "port \"1\" \"2\"", "wrong number of arguments")
        );
        let err = run(&[], &["--timeout", "1", "--port"]).unwrap_err();
        assert_eq!(err, line_error(3, "port", "wrong number of arguments"));
    }

    #[test]
    fn engine_reasons_are_reported() {
        let err = run(&[("b.conf", "port abc\n")], &["b.conf"]).unwrap_err();
        assert_eq!(
            err,
            line_error(1, "port abc", "argument couldn't be parsed into an integer")
        );
        let err = run(&[("d.conf", "bind \"127.0.0.1 \n")], &["d.conf"]).unwrap_err();
        assert_eq!(
            err,
            line_error(
                1,
                "bind \"127.0.0.1",
                "Unbalanced quotes in configuration line"
            )
        );
        // Comments only start lines: this is `port` with three arguments.
        let err = run(&[("e.conf", "port 1 # x\n")], &["e.conf"]).unwrap_err();
        assert_eq!(
            err,
            line_error(1, "port 1 # x", "wrong number of arguments")
        );
    }

    #[test]
    fn include_reads_files_in_place() {
        let files = [
            ("main.conf", "port 1\ninclude extra.conf\ntimeout 3\n"),
            ("extra.conf", "port 2\ntimeout 4\n"),
        ];
        let config = run(&files, &["main.conf"]).unwrap();
        assert_eq!(config.port, 2);
        assert_eq!(config.timeout, 3);
        let err = run(&[("loop.conf", "include loop.conf\n")], &["loop.conf"]).unwrap_err();
        assert_eq!(
            err,
            line_error(1, "include loop.conf", "include nesting too deep")
        );
        let err = run(&[], &["missing.conf"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Fatal error, can't open config file 'missing.conf': No such file or directory"
        );
    }

    #[test]
    fn version_help_and_stdin() {
        assert!(matches!(
            parse_command_line(&args(&["-v"]), &no_files),
            Ok(Invocation::Version)
        ));
        assert!(matches!(
            parse_command_line(&args(&["--version"]), &no_files),
            Ok(Invocation::Version)
        ));
        assert!(matches!(
            parse_command_line(&args(&["-h"]), &no_files),
            Ok(Invocation::Help)
        ));
        let config = run(&[("-", "port 4242\n")], &["-"]).unwrap();
        assert_eq!(config.port, 4242);
    }

    #[test]
    fn values_may_start_with_a_dash_and_be_quoted_in_errors() {
        let config = run(&[], &["--bind", "-::1", "127.0.0.1"]).unwrap();
        assert_eq!(config.bind, args(&["-::1", "127.0.0.1"]));
        let err = run(&[], &["--maxmemory-policy", "a\"b\n"]).unwrap_err();
        let ConfigError::Line { text, .. } = err else {
            panic!("a line error")
        };
        assert_eq!(text, r#"maxmemory-policy "a\"b\n""#);
        // A value before any name is read as a name, as redis-server does.
        let err = run(&[], &["--", "x"]).unwrap_err();
        assert!(matches!(err, ConfigError::Line { .. }));
    }
}
