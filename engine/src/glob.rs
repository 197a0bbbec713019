//! Glob-style pattern matching, as Redis matches KEYS and SCAN MATCH patterns.
//!
//! The syntax is Redis's `stringmatchlen`: `*` matches any run of bytes, `?`
//! any one byte, `[...]` one byte of a set (`a-z` ranges, either order;
//! `^` first negates; `\x` is a literal `x`; an unterminated set runs to the
//! end of the pattern), and `\x` outside a set is a literal `x` (a trailing
//! lone `\` is a literal backslash). Matching is byte-wise and case-sensitive.
//!
//! Two quirks of Redis are kept on purpose: the empty string matches only the
//! empty pattern (so `*` does not match it; KEYS and SCAN special-case a bare
//! `*` before matching), and a range's end may be the `]` that would
//! otherwise close the set (`[a-]` is an unterminated set holding `]`..`a`).
//!
//! The pattern is compiled once into tokens that each consume exactly one
//! byte, except `*`. Matching is the greedy algorithm that backtracks only
//! to the most recent `*`, which is O(len(string) * tokens) rather than the
//! exponential time naive recursion takes on `a*a*a*...b` (CVE-2022-36021).
//! On top of that, each match spends at most [`GLOB_MAX_STEPS`] steps and
//! reports "no match" past it, so one huge key and pattern cannot stall the
//! server.

use crate::limits::GLOB_MAX_STEPS;

/// A set of bytes, one bit per byte value.
#[derive(Clone, PartialEq, Eq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn empty() -> Self {
        ByteSet([0; 4])
    }

    fn insert(&mut self, b: u8) {
        self.0[(b >> 6) as usize] |= 1 << (b & 63);
    }

    fn insert_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.insert(b);
        }
    }

    fn negate(&mut self) {
        for word in &mut self.0 {
            *word = !*word;
        }
    }

    fn contains(&self, b: u8) -> bool {
        self.0[(b >> 6) as usize] & (1 << (b & 63)) != 0
    }
}

impl std::fmt::Debug for ByteSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let members: Vec<u8> = (0..=255u8).filter(|&b| self.contains(b)).collect();
        write!(f, "ByteSet({:?})", String::from_utf8_lossy(&members))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// `*`: any run of bytes, possibly empty.
    Star,
    /// `?`: any one byte.
    Any,
    /// One exact byte (plain or `\`-escaped).
    Byte(u8),
    /// `[...]`: one byte of the set (negation already applied).
    Set(ByteSet),
}

impl Token {
    fn accepts(&self, b: u8) -> bool {
        match self {
            Token::Star | Token::Any => true,
            Token::Byte(x) => *x == b,
            Token::Set(set) => set.contains(b),
        }
    }
}

/// A compiled glob pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    tokens: Vec<Token>,
    /// True for a pattern made only of `*`: it matches every non-empty string.
    only_stars: bool,
}

impl Pattern {
    pub fn new(pattern: &[u8]) -> Self {
        let tokens = compile(pattern);
        let only_stars = !tokens.is_empty() && tokens.iter().all(|t| *t == Token::Star);
        Pattern { tokens, only_stars }
    }

    /// Whether `text` matches, within [`GLOB_MAX_STEPS`] steps (else false).
    pub fn matches(&self, text: &[u8]) -> bool {
        self.matches_within(text, GLOB_MAX_STEPS)
    }

    /// Whether `text` matches, giving up (false) after `budget` steps.
    pub fn matches_within(&self, text: &[u8], budget: usize) -> bool {
        if text.is_empty() {
            // Redis's quirk: the empty string matches only the empty pattern.
            return self.tokens.is_empty();
        }
        if self.only_stars {
            return true;
        }
        greedy_match(&self.tokens, text, budget)
    }
}

/// One-shot helper: whether `text` matches `pattern`.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    Pattern::new(pattern).matches(text)
}

/// Splits a pattern into tokens, following Redis's parsing byte for byte.
fn compile(p: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let token = match p[i] {
            b'*' => {
                i += 1;
                // Consecutive stars are one star.
                if tokens.last() == Some(&Token::Star) {
                    continue;
                }
                Token::Star
            }
            b'?' => {
                i += 1;
                Token::Any
            }
            b'[' => {
                let (set, next) = compile_set(p, i + 1);
                i = next;
                Token::Set(set)
            }
            b'\\' if i + 1 < p.len() => {
                i += 2;
                Token::Byte(p[i - 1])
            }
            b => {
                i += 1;
                Token::Byte(b)
            }
        };
        tokens.push(token);
    }
    tokens
}

/// Parses a set whose body starts at `i` (just after `[`). Returns the set
/// and the index just past it (past `]`, or the pattern's end if unterminated).
fn compile_set(p: &[u8], mut i: usize) -> (ByteSet, usize) {
    let mut set = ByteSet::empty();
    let negated = p.get(i) == Some(&b'^');
    if negated {
        i += 1;
    }
    loop {
        let rest = p.len() - i;
        if rest == 0 {
            break;
        }
        match p[i] {
            b'\\' if rest >= 2 => {
                set.insert(p[i + 1]);
                i += 2;
            }
            b']' => {
                i += 1;
                break;
            }
            lo if rest >= 3 && p[i + 1] == b'-' => {
                let hi = p[i + 2];
                set.insert_range(lo.min(hi), lo.max(hi));
                i += 3;
            }
            b => {
                set.insert(b);
                i += 1;
            }
        }
    }
    if negated {
        set.negate();
    }
    (set, i)
}

/// Matches `text` (non-empty) against `tokens`, backtracking only to the
/// latest star: on a mismatch, that star absorbs one more byte and matching
/// resumes after it. Earlier stars never need revisiting, because whatever
/// the later star can match it can match from any later start too.
fn greedy_match(tokens: &[Token], text: &[u8], budget: usize) -> bool {
    let (mut t, mut s) = (0, 0);
    // (token index after the latest star, text index that star's match ends at)
    let mut resume: Option<(usize, usize)> = None;
    let mut steps = 0usize;
    while s < text.len() {
        steps += 1;
        if steps > budget {
            return false;
        }
        match tokens.get(t) {
            Some(Token::Star) => {
                t += 1;
                resume = Some((t, s));
            }
            Some(token) if token.accepts(text[s]) => {
                t += 1;
                s += 1;
            }
            _ => match resume {
                Some((after_star, star_end)) => {
                    t = after_star;
                    s = star_end + 1;
                    resume = Some((after_star, s));
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(|tok| *tok == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes())
    }

    #[test]
    fn literals_and_wildcards() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
        assert!(m("h?llo", "hallo"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("*", "x"));
        assert!(m("***", "anything"));
        assert!(m("a*", "a"));
        assert!(m("a**", "a"));
        assert!(m("*a", "a"));
        assert!(m("*b*", "abc"));
        assert!(!m("*b*", "ac"));
        assert!(m("a*b*c", "aXbYc"));
        assert!(!m("a*b*c", "aXbY"));
        assert!(m("*.txt", "a.b.txt"));
        assert!(!m("*.txt", "a.txt.gz"));
    }

    #[test]
    fn empty_string_matches_only_empty_pattern() {
        assert!(m("", ""));
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(!m("", "a"));
        assert!(!m("?", ""));
    }

    #[test]
    fn sets_ranges_and_negation() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("[z-a]", "m"), "reversed range");
        assert!(m("[0-9][0-9]", "42"));
        assert!(!m("[]", "]"), "[] is an empty set");
        assert!(!m("[]", "a"));
        assert!(m("[^]", "a"), "[^] is every byte");
        assert!(m("[\\]]", "]"), "escaped ] in a set");
        assert!(m("[\\-]", "-"));
        assert!(!m("[\\-]", "\\"));
        assert!(m("[a-]", "]"), "the range runs a..] (reversed: ]..a)");
        assert!(m("[a-]", "_"));
        assert!(!m("[a-]", "-"));
    }

    #[test]
    fn unterminated_sets_run_to_the_end() {
        assert!(!m("[", "a"), "a lone [ is an empty set");
        assert!(m("[^", "a"), "a lone [^ is every byte");
        assert!(m("[abc", "b"));
        assert!(!m("[abc", "bc"), "the set ends the pattern");
        assert!(m("x[\\]", "x]"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("a\\?", "a?"));
        assert!(!m("a\\?", "ab"));
        assert!(m("\\[x]", "[x]"));
        assert!(m("\\", "\\"), "a trailing backslash is literal");
        assert!(m("a\\", "a\\"));
    }

    #[test]
    fn binary_safe() {
        let p = Pattern::new(b"a\x00*\xff");
        assert!(p.matches(b"a\x00zz\xff"));
        assert!(!p.matches(b"a\x01zz\xff"));
        assert!(Pattern::new(b"[\x00-\x05]").matches(b"\x03"));
    }

    #[test]
    fn pathological_patterns_are_fast() {
        // Exponential under naive backtracking; linear-ish here.
        let pattern = format!("{}b", "a*".repeat(30));
        let text = "a".repeat(10_000);
        let p = Pattern::new(pattern.as_bytes());
        assert!(!p.matches(text.as_bytes()));
        // Work is counted in steps, not timed: a match found within an
        // O(n*m) budget (10,001 bytes x 61 tokens) shows no blow-up, since
        // an exceeded budget reports no match.
        let with_b = format!("{text}b");
        assert!(p.matches_within(with_b.as_bytes(), 10_001 * 61 * 2));
    }

    #[test]
    fn budget_bounds_the_work() {
        // len 1000 text x 500 tokens could need ~500k steps: cut off early.
        let pattern = format!("*{}b", "a?".repeat(250));
        let text = "a".repeat(1_000);
        let p = Pattern::new(pattern.as_bytes());
        assert!(!p.matches_within(text.as_bytes(), 100));
        // The same match with enough budget succeeds when the text fits.
        let fits = format!("{}ab", "a".repeat(999));
        assert!(p.matches(fits.as_bytes()));
        assert!(!p.matches_within(fits.as_bytes(), 10));
    }

    /// Reference matcher: exhaustive recursion over the same tokens (only
    /// for short inputs), with Redis's empty-string rule.
    fn reference(tokens: &[Token], text: &[u8]) -> bool {
        match tokens.split_first() {
            None => text.is_empty(),
            Some((Token::Star, rest)) => (0..=text.len()).any(|k| reference(rest, &text[k..])),
            Some((tok, rest)) => {
                !text.is_empty() && tok.accepts(text[0]) && reference(rest, &text[1..])
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn greedy_agrees_with_exhaustive_search(
            pattern in proptest::collection::vec(proptest::sample::select(
                b"ab*?[]^-\\".to_vec()), 0..10),
            text in proptest::collection::vec(proptest::sample::select(
                b"ab]-^\\".to_vec()), 1..10),
        ) {
            let p = Pattern::new(&pattern);
            proptest::prop_assert_eq!(p.matches(&text), reference(&p.tokens, &text));
        }
    }
}
