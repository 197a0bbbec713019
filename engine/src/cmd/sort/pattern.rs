//! SORT's BY and GET patterns: `#` for the element itself, otherwise the
//! first `*` replaced by the element names a key whose string value is
//! meant, or, with `->field` after the `*`, the field of a hash.
//!
//! Redis reads the pattern's structure as a C string: a `*` or `->` after
//! a NUL byte does not count, and `#` followed by a NUL is `#`. The bytes
//! after a NUL still belong to the key name (or field) it builds.

use super::score::c_string;
use crate::cmd::Ctx;
use bytes::Bytes;

/// A parsed BY or GET pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// `#`: the element itself.
    Element,
    /// No `*`: nothing is looked up, the value is missing.
    Nothing,
    /// `prefix*suffix`, optionally `->field` (a hash field).
    Key {
        prefix: Bytes,
        suffix: Bytes,
        field: Option<Bytes>,
    },
}

impl Pattern {
    pub fn parse(pattern: &Bytes) -> Pattern {
        let structure = c_string(pattern);
        if structure == b"#" {
            return Pattern::Element;
        }
        let Some(star) = structure.iter().position(|&b| b == b'*') else {
            return Pattern::Nothing;
        };
        let after_star = &structure[star + 1..];
        // The first `->` after the `*`, when something follows it.
        let arrow = after_star
            .windows(2)
            .position(|w| w == b"->")
            .filter(|&at| at + 2 < after_star.len())
            .map(|at| star + 1 + at);
        let (suffix_end, field) = match arrow {
            Some(at) => (at, Some(pattern.slice(at + 2..))),
            None => (pattern.len(), None),
        };
        Pattern::Key {
            prefix: pattern.slice(..star),
            suffix: pattern.slice(star + 1..suffix_end),
            field,
        }
    }

    /// Whether the pattern sorts at all when used with BY: a BY pattern
    /// without `*` means "do not sort" (Redis tests for `*` only).
    pub fn has_star(pattern: &[u8]) -> bool {
        c_string(pattern).contains(&b'*')
    }

    /// The value the pattern gives for `element`: the element for `#`; the
    /// string at the built key, or the hash field, looked up in the
    /// client's database as a read (lazy expiry, keyspace hits and misses,
    /// access time); None when missing or of another type.
    pub fn resolve(&self, ctx: &mut Ctx, element: &Bytes) -> Option<Bytes> {
        let (prefix, suffix, field) = match self {
            Pattern::Element => return Some(element.clone()),
            Pattern::Nothing => return None,
            Pattern::Key {
                prefix,
                suffix,
                field,
            } => (prefix, suffix, field),
        };
        let key = [&prefix[..], &element[..], &suffix[..]].concat();
        let value = &ctx.lookup_read(&key)?.value;
        match field {
            None => value.as_str().map(|s| s.to_bytes()),
            Some(field) => value.as_hash()?.get(field).map(|item| item.to_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &[u8]) -> Pattern {
        Pattern::parse(&Bytes::copy_from_slice(text))
    }

    fn key(prefix: &[u8], suffix: &[u8], field: Option<&[u8]>) -> Pattern {
        Pattern::Key {
            prefix: Bytes::copy_from_slice(prefix),
            suffix: Bytes::copy_from_slice(suffix),
            field: field.map(Bytes::copy_from_slice),
        }
    }

    #[test]
    fn splits_at_the_first_star_and_the_first_arrow_after_it() {
        assert_eq!(parse(b"#"), Pattern::Element);
        assert_eq!(parse(b"#\0x"), Pattern::Element);
        assert_eq!(parse(b"##"), Pattern::Nothing);
        assert_eq!(parse(b"nosort"), Pattern::Nothing);
        assert_eq!(parse(b""), Pattern::Nothing);
        assert_eq!(parse(b"a\0*"), Pattern::Nothing);
        assert_eq!(parse(b"w_*"), key(b"w_", b"", None));
        assert_eq!(parse(b"*"), key(b"", b"", None));
        assert_eq!(parse(b"a*b*c"), key(b"a", b"b*c", None));
        assert_eq!(parse(b"h_*->f"), key(b"h_", b"", Some(b"f")));
        assert_eq!(parse(b"h_*x->f->g"), key(b"h_", b"x", Some(b"f->g")));
        // Nothing after the arrow: no field, the arrow is part of the key.
        assert_eq!(parse(b"h_*->"), key(b"h_", b"->", None));
        // An arrow before the star does not count.
        assert_eq!(parse(b"a->b*"), key(b"a->b", b"", None));
        // Past a NUL, the arrow does not count but the bytes stay.
        assert_eq!(parse(b"h*\0->f"), key(b"h", b"\0->f", None));
        assert_eq!(parse(b"h*->f\0g"), key(b"h", b"", Some(b"f\0g")));
        assert_eq!(parse(b"h*->\0g"), key(b"h", b"->\0g", None));
    }

    #[test]
    fn by_sorts_only_with_a_star_before_any_nul() {
        assert!(Pattern::has_star(b"w_*"));
        assert!(Pattern::has_star(b"*"));
        assert!(!Pattern::has_star(b"nosort"));
        assert!(!Pattern::has_star(b"w\0*"));
    }
}
