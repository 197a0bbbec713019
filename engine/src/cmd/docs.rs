//! The reference part of a command's documentation, as `COMMAND DOCS`
//! reports it beyond the one-line fields of [`super::CommandSpec`]: the
//! argument tree, the history, and the deprecation notes.
//!
//! Arguments are declared with small const builders that read like the
//! command's syntax line:
//!
//! ```
//! use keel_engine::cmd::docs::*;
//!
//! // GETEX key [EX seconds | PX milliseconds | ... | PERSIST]
//! const GETEX: Docs = Docs::args(&[
//!     key("key", 0),
//!     oneof("expiration", &[
//!         integer("seconds").token("EX"),
//!         pure_token("persist", "PERSIST"),
//!     ])
//!     .optional(),
//! ]);
//! assert_eq!(GETEX.arguments[1].flags, OPTIONAL);
//! ```
//!
//! Redis 7.0 reports, for each argument, exactly the fields below (7.2's
//! `display_text` and `summary` do not exist yet), in this order: name,
//! type, key_spec_index, token, since, deprecated_since, flags, arguments.

use crate::resp::Reply;
use bytes::Bytes;

/// An argument's type, with the nested arguments of `oneof` and `block`.
#[derive(Debug, Clone, Copy)]
pub enum ArgType {
    String,
    Integer,
    Double,
    /// A key, described by the key spec at this index of the command's.
    Key(u32),
    Pattern,
    /// A pattern naming keys, described by the key spec at this index
    /// (SORT's BY and GET).
    KeyPattern(u32),
    UnixTime,
    /// A keyword standing alone (`NX`): its token is the argument.
    PureToken,
    /// Exactly one of the nested arguments.
    OneOf(&'static [Arg]),
    /// The nested arguments together, in order.
    Block(&'static [Arg]),
}

impl ArgType {
    fn name(&self) -> &'static str {
        match self {
            ArgType::String => "string",
            ArgType::Integer => "integer",
            ArgType::Double => "double",
            ArgType::Key(_) => "key",
            ArgType::Pattern | ArgType::KeyPattern(_) => "pattern",
            ArgType::UnixTime => "unix-time",
            ArgType::PureToken => "pure-token",
            ArgType::OneOf(_) => "oneof",
            ArgType::Block(_) => "block",
        }
    }
}

/// Argument flags.
pub const OPTIONAL: u8 = 1 << 0;
pub const MULTIPLE: u8 = 1 << 1;
pub const MULTIPLE_TOKEN: u8 = 1 << 2;

/// One argument of a command's syntax.
#[derive(Debug, Clone, Copy)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgType,
    /// The keyword that introduces the argument (`EX` before seconds).
    pub token: Option<&'static str>,
    pub since: Option<&'static str>,
    pub deprecated_since: Option<&'static str>,
    pub flags: u8,
}

const fn arg(name: &'static str, kind: ArgType) -> Arg {
    Arg {
        name,
        kind,
        token: None,
        since: None,
        deprecated_since: None,
        flags: 0,
    }
}

pub const fn string(name: &'static str) -> Arg {
    arg(name, ArgType::String)
}

pub const fn integer(name: &'static str) -> Arg {
    arg(name, ArgType::Integer)
}

pub const fn double(name: &'static str) -> Arg {
    arg(name, ArgType::Double)
}

/// A key argument described by key spec `spec_index`.
pub const fn key(name: &'static str, spec_index: u32) -> Arg {
    arg(name, ArgType::Key(spec_index))
}

pub const fn pattern(name: &'static str) -> Arg {
    arg(name, ArgType::Pattern)
}

/// A pattern whose keys key spec `spec_index` describes.
pub const fn key_pattern(name: &'static str, spec_index: u32) -> Arg {
    arg(name, ArgType::KeyPattern(spec_index))
}

pub const fn unix_time(name: &'static str) -> Arg {
    arg(name, ArgType::UnixTime)
}

/// A keyword on its own, e.g. `pure_token("nx", "NX")`.
pub const fn pure_token(name: &'static str, token: &'static str) -> Arg {
    arg(name, ArgType::PureToken).token(token)
}

pub const fn oneof(name: &'static str, choices: &'static [Arg]) -> Arg {
    arg(name, ArgType::OneOf(choices))
}

pub const fn block(name: &'static str, parts: &'static [Arg]) -> Arg {
    arg(name, ArgType::Block(parts))
}

impl Arg {
    pub const fn token(mut self, token: &'static str) -> Arg {
        self.token = Some(token);
        self
    }

    pub const fn since(mut self, version: &'static str) -> Arg {
        self.since = Some(version);
        self
    }

    pub const fn deprecated_since(mut self, version: &'static str) -> Arg {
        self.deprecated_since = Some(version);
        self
    }

    pub const fn optional(mut self) -> Arg {
        self.flags |= OPTIONAL;
        self
    }

    /// May be repeated.
    pub const fn multiple(mut self) -> Arg {
        self.flags |= MULTIPLE;
        self
    }

    /// When repeated, the token is repeated too (`GET p1 GET p2`).
    pub const fn multiple_token(mut self) -> Arg {
        self.flags |= MULTIPLE_TOKEN;
        self
    }

    /// The argument's COMMAND DOCS map.
    pub fn reply(&self) -> Reply {
        let mut fields = vec![
            field("name", bulk(self.name)),
            field("type", bulk(self.kind.name())),
        ];
        if let ArgType::Key(index) | ArgType::KeyPattern(index) = self.kind {
            fields.push(field("key_spec_index", Reply::Int(index.into())));
        }
        let optional = [
            ("token", self.token),
            ("since", self.since),
            ("deprecated_since", self.deprecated_since),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                fields.push(field(name, bulk(value)));
            }
        }
        if self.flags != 0 {
            fields.push(field("flags", self.flag_names()));
        }
        if let ArgType::OneOf(nested) | ArgType::Block(nested) = self.kind {
            fields.push(field("arguments", args_reply(nested)));
        }
        Reply::Map(fields)
    }

    fn flag_names(&self) -> Reply {
        let names = [
            (OPTIONAL, "optional"),
            (MULTIPLE, "multiple"),
            (MULTIPLE_TOKEN, "multiple_token"),
        ];
        Reply::Set(
            names
                .iter()
                .filter(|(bit, _)| self.flags & bit != 0)
                .map(|(_, name)| Reply::status(name))
                .collect(),
        )
    }
}

/// An argument list's COMMAND DOCS array.
pub fn args_reply(args: &[Arg]) -> Reply {
    Reply::Array(args.iter().map(Arg::reply).collect())
}

fn bulk(text: &'static str) -> Reply {
    Reply::Bulk(Bytes::from_static(text.as_bytes()))
}

fn field(name: &'static str, value: Reply) -> (Reply, Reply) {
    (bulk(name), value)
}

/// Documentation flags (Redis's `doc_flags`).
pub const DEPRECATED: u8 = 1 << 0;
/// A command meant for servers talking to each other (PSYNC, REPLCONF).
pub const SYSCMD: u8 = 1 << 1;

/// What COMMAND DOCS tells about a command beyond its summary, since,
/// group and complexity.
#[derive(Debug, Clone, Copy)]
pub struct Docs {
    pub arguments: &'static [Arg],
    /// (version, what changed), oldest first.
    pub history: &'static [(&'static str, &'static str)],
    pub doc_flags: u8,
    pub deprecated_since: Option<&'static str>,
    /// What to use instead of a deprecated command, in Redis's words.
    pub replaced_by: Option<&'static str>,
}

impl Docs {
    /// A command that takes no arguments and has no history.
    pub const NONE: Docs = Docs {
        arguments: &[],
        history: &[],
        doc_flags: 0,
        deprecated_since: None,
        replaced_by: None,
    };

    pub const fn args(arguments: &'static [Arg]) -> Docs {
        Docs {
            arguments,
            ..Docs::NONE
        }
    }

    pub const fn history(mut self, history: &'static [(&'static str, &'static str)]) -> Docs {
        self.history = history;
        self
    }

    /// Deprecated since `version`, to be replaced by `replaced_by`.
    pub const fn deprecated(mut self, version: &'static str, replaced_by: &'static str) -> Docs {
        self.doc_flags |= DEPRECATED;
        self.deprecated_since = Some(version);
        self.replaced_by = Some(replaced_by);
        self
    }

    pub const fn syscmd(mut self) -> Docs {
        self.doc_flags |= SYSCMD;
        self
    }

    /// The COMMAND DOCS fields this adds, in Redis's order, after complexity.
    pub fn fields(&self) -> Vec<(Reply, Reply)> {
        let mut fields = Vec::new();
        if self.doc_flags != 0 {
            let names = [(DEPRECATED, "deprecated"), (SYSCMD, "syscmd")];
            let flags = names
                .iter()
                .filter(|(bit, _)| self.doc_flags & bit != 0)
                .map(|(_, name)| Reply::status(name))
                .collect();
            fields.push(field("doc_flags", Reply::Set(flags)));
        }
        if let Some(version) = self.deprecated_since {
            fields.push(field("deprecated_since", bulk(version)));
        }
        if let Some(text) = self.replaced_by {
            fields.push(field("replaced_by", bulk(text)));
        }
        if !self.history.is_empty() {
            let entries = self
                .history
                .iter()
                .map(|&(version, change)| Reply::Array(vec![bulk(version), bulk(change)]))
                .collect();
            fields.push(field("history", Reply::Set(entries)));
        }
        if !self.arguments.is_empty() {
            fields.push(field("arguments", args_reply(self.arguments)));
        }
        fields
    }
}
