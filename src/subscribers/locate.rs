//! Where the entries an edit is about can be, in a list paperwire has already checked, found
//! without reading the list as TOML.
//!
//! The list is read in *pieces*, cut before every line that is exactly `[[subscriber]]`
//! ([`cuts`]). When the last check of these very bytes (see [`super::fingerprint`]) found that
//! every such line starts an entry (none is inside a multi-line string) and that every address
//! is written as plain ASCII (no escapes), then the entry of an address holds that address's
//! bytes, in some mix of upper and lower case, within its own piece. So an edit reads only
//! the pieces that hold those bytes somewhere (a case-blind substring search finds them, along
//! with any comment or name that happens to contain them), each with the piece before it
//! (where the comments above an entry start), the first piece (the top of the file) and the
//! last one (where new entries go); [`super::splice`] reads these as TOML, and checks them.

use std::collections::BTreeSet;

/// The line that starts an entry.
pub(super) const HEADER: &[u8] = b"[[subscriber]]";

/// Up to this many addresses are searched for one by one; more go through Aho–Corasick.
const FEW_KEYS: usize = 8;

/// The case-blind search lowercases this much of the list at a time.
const CHUNK: usize = 1 << 20;

/// The start of the line around `at` (where [`HEADER`] starts) when that line holds only the
/// header and blanks.
fn header_line_start(bytes: &[u8], at: usize) -> Option<usize> {
    let line_start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
    if !bytes[line_start..at]
        .iter()
        .all(|b| matches!(b, b' ' | b'\t'))
    {
        return None;
    }
    let rest = &bytes[at + HEADER.len()..];
    let line_end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    rest[..line_end]
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r'))
        .then_some(line_start)
}

/// Offsets where a piece starts: 0 and the start of every line that is exactly
/// `[[subscriber]]` (blanks around allowed), then the end of the text.
pub(super) fn cuts(text: &str) -> Vec<usize> {
    cuts_within(text, 0, text.len())
}

/// The [`cuts`] from `start` to `end`, each of them a cut (or the end of the text): `start`,
/// the cuts between them, `end`. (No header line can reach over a cut: a cut starts a line.)
pub(super) fn cuts_within(text: &str, start: usize, end: usize) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut cuts = vec![start];
    cuts.extend(
        memchr::memmem::find_iter(&bytes[start..end], HEADER)
            .filter_map(|at| header_line_start(bytes, start + at))
            .filter(|line| *line > start),
    );
    cuts.push(end);
    cuts.dedup();
    cuts
}

/// The first cut at or after `at` (the end of the text when there is none).
pub(super) fn next_cut(text: &str, at: usize) -> usize {
    match at.checked_sub(1) {
        Some(before) => piece_end(text.as_bytes(), before),
        None => 0,
    }
}

/// The start of the piece that holds `at` (which is not on a header line).
fn piece_start(bytes: &[u8], at: usize) -> usize {
    memchr::memmem::rfind_iter(&bytes[..at], HEADER)
        .filter_map(|h| header_line_start(bytes, h))
        .find(|start| *start > 0 && *start <= at)
        .unwrap_or(0)
}

/// The end of the piece that holds `at` (or starts there).
fn piece_end(bytes: &[u8], at: usize) -> usize {
    memchr::memmem::find_iter(&bytes[at..], HEADER)
        .filter_map(|h| header_line_start(bytes, at + h))
        .find(|start| *start > at)
        .unwrap_or(bytes.len())
}

/// The pieces an edit about the lowercased ASCII addresses `keys` must read, as runs of
/// consecutive pieces: each run is its cuts (piece starts, then where the run ends). The first
/// run starts at 0 and the last ends at the end of the text. `None` when they would be a
/// large part of the list, so that reading all of it costs little more, or when there are too
/// many addresses to search for at once.
pub(super) fn pieces_to_read(text: &str, keys: &[&str]) -> Option<Vec<Vec<usize>>> {
    let bytes = text.as_bytes();
    let mut starts = BTreeSet::from([0, piece_start(bytes, bytes.len())]);
    let mut current = 0..0;
    for hit in hits(bytes, keys)? {
        if current.contains(&hit) {
            continue;
        }
        let start = piece_start(bytes, hit);
        current = start..piece_end(bytes, hit);
        starts.insert(start);
        if start > 0 {
            starts.insert(piece_start(bytes, start - 1));
        }
    }
    let mut runs: Vec<Vec<usize>> = Vec::new();
    let mut read = 0;
    for start in starts {
        let end = piece_end(bytes, start);
        read += end - start;
        match runs.last_mut() {
            Some(run) if run.last() == Some(&start) => run.push(end),
            _ => runs.push(vec![start, end]),
        }
    }
    (read <= (bytes.len() / 4).max(1 << 20)).then_some(runs)
}

/// Where the `keys` occur in `bytes`, ignoring ASCII case, in order (overlapping ones too).
/// `None` when there are too many keys to search for at once.
fn hits(bytes: &[u8], keys: &[&str]) -> Option<Vec<usize>> {
    let longest = keys.iter().map(|k| k.len()).max().unwrap_or(0);
    if longest == 0 {
        return Some(Vec::new());
    }
    let finders: Vec<memchr::memmem::Finder<'_>> = keys
        .iter()
        .take(if keys.len() <= FEW_KEYS { FEW_KEYS } else { 0 })
        .map(|k| memchr::memmem::Finder::new(k.as_bytes()))
        .collect();
    let many = if keys.len() > FEW_KEYS {
        Some(aho_corasick::AhoCorasick::new(keys).ok()?)
    } else {
        None
    };
    let mut found = Vec::new();
    let mut lower = Vec::with_capacity(CHUNK + longest);
    let mut at = 0;
    while at < bytes.len() {
        // Each chunk runs on past its end by enough to hold a match that starts inside it.
        let end = (at + CHUNK).min(bytes.len());
        lower.clear();
        lower.extend_from_slice(&bytes[at..(end + longest - 1).min(bytes.len())]);
        lower.make_ascii_lowercase();
        for finder in &finders {
            found.extend(
                finder
                    .find_iter(&lower)
                    .map(|p| at + p)
                    .filter(|p| *p < end),
            );
        }
        if let Some(ac) = &many {
            let starts = ac.find_overlapping_iter(&lower[..]).map(|m| at + m.start());
            found.extend(starts.filter(|p| *p < end));
        }
        at = end;
    }
    found.sort_unstable();
    found.dedup();
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_fall_before_header_lines_only() {
        let text = "# top\n[[subscriber]]\nemail = \"a@b.org\"\n  [[subscriber]] \r\n# [[subscriber]]\nname = \"[[subscriber]]\"\n[[subscriber]] # note\n[[subscriber]]";
        let second = text.find("  [[").unwrap();
        let last = text.rfind("[[subscriber]]").unwrap();
        assert_eq!(cuts(text), [0, 6, second, last, text.len()]);
        assert_eq!(cuts("[[subscriber]]\n"), [0, 15]);
        assert_eq!(cuts(""), [0]);
    }

    #[test]
    fn hits_ignore_case_and_chunk_edges() {
        let mut text = "x".repeat(CHUNK - 3);
        text.push_str("Ada@Example.org and ada@example.ORG");
        let bytes = text.as_bytes();
        assert_eq!(
            hits(bytes, &["ada@example.org"]).unwrap(),
            [CHUNK - 3, CHUNK + 17]
        );
        let many: Vec<String> = (0..20).map(|i| format!("r{i}@example.org")).collect();
        let mut keys: Vec<&str> = many.iter().map(String::as_str).collect();
        keys.push("ada@example.org");
        assert_eq!(hits(bytes, &keys).unwrap(), [CHUNK - 3, CHUNK + 17]);
        assert_eq!(hits(b"xr1@example.orgx", &keys).unwrap(), [1]);
    }

    #[test]
    fn the_pieces_to_read_hold_the_hits_the_piece_before_and_both_ends() {
        let mut text = String::from("# top\n\n");
        for i in 0..40 {
            text.push_str(&format!("[[subscriber]]\nemail = \"r{i}@example.org\"\n\n"));
        }
        let all = cuts(&text);
        assert_eq!(all.len(), 42);
        let runs = pieces_to_read(&text, &["r10@example.org"]).unwrap();
        assert_eq!(
            runs,
            [
                vec![0, all[1]],
                vec![all[10], all[11], all[12]],
                vec![all[40], all[41]],
            ]
        );
        // Neighbouring pieces make one run.
        let runs = pieces_to_read(&text, &["r1@example.org", "r39@example.org"]).unwrap();
        assert_eq!(
            runs,
            [
                vec![0, all[1], all[2], all[3]],
                vec![all[39], all[40], all[41]]
            ]
        );
        assert_eq!(pieces_to_read(&text, &["example.org"]), Some(vec![all]));
        assert_eq!(pieces_to_read("", &["a@b.org"]), Some(vec![vec![0, 0]]));
    }
}
