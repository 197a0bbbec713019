//! Glob-style pattern matching, as Redis matches KEYS and SCAN MATCH patterns (being built).
//!
//! TEMPORARY (wt-server branch): a minimal `matches` so CONFIG GET and
//! COMMAND LIST FILTERBY PATTERN compile and work before the keys helper's
//! glob module lands. The merge must take the keys helper's glob.rs over
//! this file; only the signature `matches(pattern, text) -> bool` is relied on.

/// Whether `text` matches the glob `pattern` (`*`, `?`, `[...]` with `^`
/// and ranges, `\` escapes), case-sensitively.
pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    // Backtracking over the last `*` only: linear in practice, quadratic at worst.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
            continue;
        }
        if let Some(next) = match_one(pattern, p, text[t]) {
            p = next;
            t += 1;
            continue;
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// Matches one character at pattern position `p`; the next position if it matched.
fn match_one(pattern: &[u8], p: usize, c: u8) -> Option<usize> {
    match *pattern.get(p)? {
        b'?' => Some(p + 1),
        b'[' => match_class(pattern, p + 1, c),
        b'\\' if p + 1 < pattern.len() => (pattern[p + 1] == c).then_some(p + 2),
        b'*' => None,
        other => (other == c).then_some(p + 1),
    }
}

fn match_class(pattern: &[u8], mut p: usize, c: u8) -> Option<usize> {
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut hit = false;
    while p < pattern.len() && pattern[p] != b']' {
        if pattern[p] == b'\\' && p + 1 < pattern.len() {
            hit |= pattern[p + 1] == c;
            p += 2;
        } else if p + 2 < pattern.len() && pattern[p + 1] == b'-' && pattern[p + 2] != b']' {
            let (lo, hi) = (
                pattern[p].min(pattern[p + 2]),
                pattern[p].max(pattern[p + 2]),
            );
            hit |= (lo..=hi).contains(&c);
            p += 3;
        } else {
            hit |= pattern[p] == c;
            p += 1;
        }
    }
    // An unterminated class ends at the pattern's end, as in Redis.
    (hit != negate).then_some((p + 1).min(pattern.len()))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_classes_and_escapes() {
        assert!(matches(b"maxmemory*", b"maxmemory-policy"));
        assert!(matches(b"*", b""));
        assert!(matches(b"h?", b"hz"));
        assert!(!matches(b"h?", b"h"));
        assert!(matches(b"*-lazy-*", b"lazyfree-lazy-user-del"));
        assert!(matches(b"[a-c]x", b"bx"));
        assert!(!matches(b"[^a-c]x", b"bx"));
        assert!(matches(b"a\\*", b"a*"));
        assert!(!matches(b"a\\*", b"ab"));
        assert!(!matches(b"config", b"config|get"));
    }
}
