//! The compact encoding (`listpack`): one byte buffer of entries sorted by
//! score then member, each `varint(member length) member score(8 bytes LE)`.
//! Every operation walks the buffer, as Redis's listpack does: it is only
//! used while the set is small (`zset-max-listpack-entries`).

/// A listpack may not grow past this (Redis's `lpSafeToAdd` limit, 1 GiB).
const SAFETY_SIZE: usize = 1 << 30;

#[derive(Clone, Default)]
pub(crate) struct Listpack {
    buf: Vec<u8>,
    len: usize,
}

/// One decoded entry: where it is in the buffer, its member and score.
#[derive(Clone, Copy)]
pub(crate) struct Entry<'a> {
    start: usize,
    end: usize,
    pub member: &'a [u8],
    pub score: f64,
}

fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

fn push_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The entry starting at `pos` (the buffer is well formed: only this
/// module writes it).
fn read_entry(buf: &[u8], pos: usize) -> Entry<'_> {
    let mut len = 0usize;
    let mut shift = 0;
    let mut at = pos;
    loop {
        let byte = buf[at];
        at += 1;
        len |= usize::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            break;
        }
        shift += 7;
    }
    let member = &buf[at..at + len];
    let score_at = at + len;
    let mut score = [0u8; 8];
    score.copy_from_slice(&buf[score_at..score_at + 8]);
    Entry {
        start: pos,
        end: score_at + 8,
        member,
        score: f64::from_le_bytes(score),
    }
}

/// Entries in order.
pub(crate) struct Iter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let entry = read_entry(self.buf, self.pos);
        self.pos = entry.end;
        Some(entry)
    }
}

/// The score as a listpack keeps it: Redis stores integral scores as
/// integers there, so -0 reads back as 0.
fn stored(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

/// Whether entry `(score, member)` sorts before `(key_score, key_member)`.
fn before(score: f64, member: &[u8], key_score: f64, key_member: &[u8]) -> bool {
    score < key_score || (score == key_score && member < key_member)
}

impl Listpack {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn mem_usage(&self) -> usize {
        self.buf.capacity()
    }

    /// Whether a member of `member_len` bytes may still be added (Redis
    /// converts before its listpack would pass 1 GiB).
    pub(crate) fn safe_to_add(&self, member_len: usize) -> bool {
        self.buf.len() + member_len + 8 + varint_len(member_len) <= SAFETY_SIZE
    }

    pub(crate) fn iter(&self) -> Iter<'_> {
        Iter {
            buf: &self.buf,
            pos: 0,
        }
    }

    /// Every entry, decoded, for access by rank.
    pub(crate) fn entries(&self) -> Vec<Entry<'_>> {
        let mut all = Vec::with_capacity(self.len);
        all.extend(self.iter());
        all
    }

    /// The entry of `member` with its rank.
    pub(crate) fn find(&self, member: &[u8]) -> Option<(usize, Entry<'_>)> {
        self.iter().enumerate().find(|(_, e)| e.member == member)
    }

    /// Adds a member that is not in the listpack.
    pub(crate) fn insert_new(&mut self, member: &[u8], score: f64) {
        let score = stored(score);
        let at = self
            .iter()
            .find(|e| !before(e.score, e.member, score, member))
            .map_or(self.buf.len(), |e| e.start);
        let mut encoded = Vec::with_capacity(varint_len(member.len()) + member.len() + 8);
        push_varint(&mut encoded, member.len());
        encoded.extend_from_slice(member);
        encoded.extend_from_slice(&score.to_le_bytes());
        self.buf.splice(at..at, encoded);
        self.len += 1;
    }

    /// Appends an entry that sorts after every entry already there.
    pub(crate) fn push_back(&mut self, member: &[u8], score: f64) {
        let score = stored(score);
        push_varint(&mut self.buf, member.len());
        self.buf.extend_from_slice(member);
        self.buf.extend_from_slice(&score.to_le_bytes());
        self.len += 1;
    }

    /// Removes `member`; returns its score if it was there.
    pub(crate) fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (_, entry) = self.find(member)?;
        let (range, score) = (entry.start..entry.end, entry.score);
        self.buf.drain(range);
        self.len -= 1;
        Some(score)
    }

    /// Removes the entries of ranks `first..=last` (< len).
    pub(crate) fn remove_ranks(&mut self, first: usize, last: usize) {
        let entries = self.entries();
        let range = entries[first].start..entries[last].end;
        self.buf.drain(range);
        self.len -= last + 1 - first;
    }

    /// Frees spare capacity (after a build of known size).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_entries_sorted_by_score_then_member() {
        let mut lp = Listpack::default();
        let long = vec![b'x'; 300];
        for (m, s) in [
            (&b"b"[..], 2.0),
            (b"a", 2.0),
            (b"c", -1.5),
            (&long, 0.0),
            (b"", 2.0),
        ] {
            lp.insert_new(m, s);
        }
        let order: Vec<(Vec<u8>, f64)> = lp.iter().map(|e| (e.member.to_vec(), e.score)).collect();
        assert_eq!(
            order,
            vec![
                (b"c".to_vec(), -1.5),
                (long.clone(), 0.0),
                (b"".to_vec(), 2.0),
                (b"a".to_vec(), 2.0),
                (b"b".to_vec(), 2.0),
            ]
        );
        assert_eq!(lp.remove(&long), Some(0.0));
        assert_eq!(lp.remove(b"zz"), None);
        lp.remove_ranks(1, 2);
        let left: Vec<&[u8]> = lp.iter().map(|e| e.member).collect();
        assert_eq!(left, vec![&b"c"[..], b"b"]);
        assert_eq!(lp.len(), 2);
        // varint(1) + member + 8 bytes of score, for each entry.
        assert_eq!(lp.buf.len(), 2 * 10);
    }
}
