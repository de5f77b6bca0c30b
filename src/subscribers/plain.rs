//! A quick reader for the shape a subscriber list nearly always has, so that checking a whole
//! list of a million people costs a fraction of what `toml_parser`'s lexer and parser cost.
//!
//! [`events`] reads a piece of the list line by line and hands the receiver the very events
//! `toml_parser` (its lexer, then `parse_document`) would, with the same spans — as long as
//! every line is one of: blank, a comment, `[[name]]`, or `key = value` with a bare key and a
//! value that is a one-line basic or literal string, a bare scalar (`20`, `true`,
//! `2024-01-02`, `2026-12-01T08:00:00Z`) or a one-line array of such strings; each with
//! spaces or tabs around its parts, a comment after it, and a `\n` or `\r\n` ending. On
//! anything else (escapes, multi-line strings and arrays, dotted or quoted keys, inline tables,
//! a bare carriage return, a byte-order mark, ...) it stops and says so, and the caller reads
//! the piece with `toml_parser` instead: the quick reader only ever takes text it can tell
//! apart for certain, so the two agree by construction (and the tests hold them to it).
//!
//! What the text of a token means (is this comment, this date, this string allowed?) is not
//! judged here: the receiver decodes the tokens as it would have anyway.
//!
//! Most of a list is narrower still — values that need no decoding to be found good, each
//! entry's address a basic string given once — and [`entries`] reads such text straight into
//! its entries, without an event per token; the list's scan (`splice`) takes what it finds
//! as what its events would have told it, and reads with [`events`] (or `toml_parser`) what
//! [`entries`] does not take. The tests hold all three readings to the same results.

use toml_parser::decoder::Encoding;
use toml_parser::parser::EventReceiver;
use toml_parser::{ErrorSink, Span};

/// Emits `piece`'s events to `receiver`. Returns `false`, having emitted some of them, when
/// the piece is not all in the shape this reader takes; the receiver's state is then to be
/// thrown away.
pub(super) fn events<R: EventReceiver>(
    piece: &str,
    receiver: &mut R,
    error: &mut dyn ErrorSink,
) -> bool {
    // The lexer skips a byte-order mark at the start.
    if piece.as_bytes().starts_with(b"\xEF\xBB\xBF") {
        return false;
    }
    let mut reader = Reader {
        bytes: piece.as_bytes(),
        at: 0,
        receiver,
        error,
    };
    while reader.at < reader.bytes.len() {
        if !reader.line() {
            return false;
        }
    }
    true
}

/// An entry [`entries`] found; offsets are in the piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry<'p> {
    /// Where `[[subscriber]]` starts.
    pub(super) header: usize,
    /// The end of its last line that is not blank or a comment (its line ending included).
    pub(super) body_end: usize,
    /// Where its `email` string starts (at the quotation mark), and what it says.
    pub(super) email: Option<(usize, &'p str)>,
}

/// Reads a piece that is wholly in the plain shape — comments, blank lines, `[[subscriber]]`
/// and `key = value` lines whose values need no decoding to be found good: basic strings
/// without escapes, literal strings, arrays of them on one line, and bare scalars that
/// `toml_parser`'s decoder takes — with each entry's `email` a basic string, given once, and
/// no key-value outside an entry. Calls `found` with each entry once it has ended. `false`
/// when the piece holds anything else (the calls made are then to be forgotten): the events
/// of [`events`], or `toml_parser`, are for that.
///
/// This is what the list's scan makes of such a piece (see `splice`), without the cost of an
/// event per token: most of a list of a million people is read here.
pub(super) fn entries<'p>(piece: &'p str, mut found: impl FnMut(Entry<'p>)) -> bool {
    if piece.as_bytes().starts_with(b"\xEF\xBB\xBF") {
        return false;
    }
    let mut current: Option<Entry<'p>> = None;
    let mut at = 0;
    while at < piece.len() {
        let Some((line, end)) = plain_line(piece, at) else {
            return false;
        };
        match line {
            Line::Other => {}
            Line::Header(header) => {
                if let Some(ended) = current.take() {
                    found(ended);
                }
                current = Some(Entry {
                    header,
                    body_end: end,
                    email: None,
                });
            }
            Line::KeyValue(email) => {
                let Some(entry) = current.as_mut() else {
                    return false;
                };
                entry.body_end = end;
                if email.is_some() {
                    if entry.email.is_some() {
                        return false;
                    }
                    entry.email = email;
                }
            }
        }
        at = end;
    }
    if let Some(ended) = current {
        found(ended);
    }
    true
}

/// What a line read by [`plain_line`] is.
enum Line<'p> {
    /// Blank, or a comment.
    Other,
    /// `[[subscriber]]`, starting there.
    Header(usize),
    /// A key-value, with where its value starts and what it says if it is the `email`.
    KeyValue(Option<(usize, &'p str)>),
}

/// The line at `at`, and where the next one starts; `None` when it is not in the plain shape.
fn plain_line(piece: &str, at: usize) -> Option<(Line<'_>, usize)> {
    let bytes = piece.as_bytes();
    let mut at = skip_blanks(bytes, at);
    let line = match bytes.get(at) {
        None | Some(b'#' | b'\r' | b'\n') => Line::Other,
        Some(b'[') => {
            if !bytes[at..].starts_with(b"[[subscriber]]") {
                return None;
            }
            at += b"[[subscriber]]".len();
            Line::Header(at - b"[[subscriber]]".len())
        }
        Some(&b) if bare(b) => {
            let key = at;
            while bytes.get(at).copied().is_some_and(bare) {
                at += 1;
            }
            let is_email = &bytes[key..at] == b"email";
            at = skip_blanks(bytes, at);
            if bytes.get(at) != Some(&b'=') {
                return None;
            }
            at = skip_blanks(bytes, at + 1);
            let value = at;
            at = plain_value(piece, at, is_email)?;
            Line::KeyValue(is_email.then(|| (value, &piece[value + 1..at - 1])))
        }
        Some(_) => return None,
    };
    line_end(bytes, at).map(|end| (line, end))
}

fn skip_blanks(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t')) {
        at += 1;
    }
    at
}

/// A byte allowed in a string or comment as written: no control character but tab, no DEL.
fn printable(b: u8) -> bool {
    (b >= 0x20 && b != 0x7f) || b == b'\t'
}

/// Where the value at `at` ends: a one-line string that needs no decoding (only a basic one
/// when it is an `email`), an array of them on one line, or a bare scalar the decoder takes.
fn plain_value(piece: &str, at: usize, is_email: bool) -> Option<usize> {
    let bytes = piece.as_bytes();
    match bytes.get(at) {
        Some(b'"') => plain_string(bytes, at),
        Some(b'\'') if !is_email => plain_string(bytes, at),
        Some(b'[') if !is_email => {
            let mut at = skip_blanks(bytes, at + 1);
            loop {
                match bytes.get(at) {
                    Some(b']') => return Some(at + 1),
                    Some(b'"' | b'\'') => at = skip_blanks(bytes, plain_string(bytes, at)?),
                    _ => return None,
                }
                match bytes.get(at) {
                    Some(b']') => return Some(at + 1),
                    Some(b',') => at = skip_blanks(bytes, at + 1),
                    _ => return None,
                }
            }
        }
        Some(&b) if scalar_byte(b) && !is_email => {
            let mut end = at;
            while bytes.get(end).copied().is_some_and(scalar_byte) {
                end += 1;
            }
            // Nothing that the lexer or parser would join to it may follow.
            let next = skip_blanks(bytes, end);
            if !matches!(bytes.get(next), None | Some(b'#' | b'\r' | b'\n')) {
                return None;
            }
            let raw = toml_parser::Raw::new_unchecked(
                &piece[at..end],
                None,
                Span::new_unchecked(0, end - at),
            );
            let mut errors: Vec<toml_parser::ParseError> = Vec::new();
            let _ = raw.decode_scalar(&mut (), &mut errors);
            errors.is_empty().then_some(end)
        }
        _ => None,
    }
}

/// Where the string at `at` ends: one that stays on its line, holds only printable
/// characters, and, if basic, no escape.
fn plain_string(bytes: &[u8], at: usize) -> Option<usize> {
    let quote = bytes[at];
    if bytes[at..].starts_with(&[quote; 3]) {
        return None;
    }
    let rest = &bytes[at + 1..];
    let len = memchr::memchr(quote, rest)?;
    // A backslash escapes only in a basic string (and no string holds a NUL as it is).
    let escape = if quote == b'"' { b'\\' } else { 0 };
    // Without an early exit or a branch, so that the compiler checks many bytes at once.
    let bad = rest[..len].iter().fold(false, |bad, &b| {
        bad | ((b < 0x20) & (b != b'\t')) | (b == 0x7f) | (b == escape)
    });
    (!bad).then_some(at + 1 + len + 1)
}

/// Where the line ends after what was read up to `at`: blanks, a comment, then the line
/// ending (included) or the end of the piece.
fn line_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut at = skip_blanks(bytes, at);
    if bytes.get(at) == Some(&b'#') {
        let rest = &bytes[at..];
        let len = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
        if !rest[..len].iter().all(|&b| printable(b)) {
            return None;
        }
        at += len;
    }
    match (bytes.get(at), bytes.get(at + 1)) {
        (None, _) => Some(at),
        (Some(b'\n'), _) => Some(at + 1),
        (Some(b'\r'), Some(b'\n')) => Some(at + 2),
        _ => None,
    }
}

/// A byte of a bare key (and so of a key token the lexer ends at a blank, `=` or `]`).
fn bare(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// A byte of the bare scalars taken here: integers, booleans, dates, times and date-times
/// without fractions (no `.`, which the parser joins into the scalar, nor blanks between a
/// date and a time).
fn scalar_byte(b: u8) -> bool {
    bare(b) || b == b':' || b == b'+'
}

struct Reader<'b, 'r, R> {
    bytes: &'b [u8],
    at: usize,
    receiver: &'r mut R,
    error: &'r mut dyn ErrorSink,
}

impl<R: EventReceiver> Reader<'_, '_, R> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn span(start: usize, end: usize) -> Span {
        Span::new_unchecked(start, end)
    }

    /// A run of spaces and tabs, if there is one: one whitespace token.
    fn blanks(&mut self) {
        let start = self.at;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
        if self.at > start {
            self.receiver
                .whitespace(Self::span(start, self.at), self.error);
        }
    }

    /// One line, with its line ending (if it has one).
    fn line(&mut self) -> bool {
        self.blanks();
        let read = match self.peek() {
            None | Some(b'#' | b'\r' | b'\n') => true,
            Some(b'[') => self.header(),
            Some(b) if bare(b) => self.key_value(),
            Some(_) => false,
        };
        read && self.end_of_line()
    }

    /// Blanks, a comment, and the line ending or the end of the piece.
    fn end_of_line(&mut self) -> bool {
        self.blanks();
        if self.peek() == Some(b'#') {
            let start = self.at;
            let rest = &self.bytes[start..];
            self.at = start + memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
            self.receiver
                .comment(Self::span(start, self.at), self.error);
        }
        let len = match (self.peek(), self.bytes.get(self.at + 1)) {
            (None, _) => return true,
            (Some(b'\n'), _) => 1,
            (Some(b'\r'), Some(b'\n')) => 2,
            _ => return false,
        };
        self.receiver
            .newline(Self::span(self.at, self.at + len), self.error);
        self.at += len;
        true
    }

    /// `[[key]]`, with a bare key and no blanks inside.
    fn header(&mut self) -> bool {
        let open = self.at;
        if self.bytes.get(open + 1) != Some(&b'[') {
            return false;
        }
        let start = open + 2;
        let mut end = start;
        while self.bytes.get(end).copied().is_some_and(bare) {
            end += 1;
        }
        if end == start || !self.bytes[end..].starts_with(b"]]") {
            return false;
        }
        self.receiver
            .array_table_open(Self::span(open, start), self.error);
        self.receiver
            .simple_key(Self::span(start, end), None, self.error);
        self.receiver
            .array_table_close(Self::span(end, end + 2), self.error);
        self.at = end + 2;
        true
    }

    /// `key = value`, with a bare key.
    fn key_value(&mut self) -> bool {
        let start = self.at;
        while self.peek().is_some_and(bare) {
            self.at += 1;
        }
        if !matches!(self.peek(), Some(b' ' | b'\t' | b'=')) {
            return false;
        }
        self.receiver
            .simple_key(Self::span(start, self.at), None, self.error);
        self.blanks();
        if self.peek() != Some(b'=') {
            return false;
        }
        self.receiver
            .key_val_sep(Self::span(self.at, self.at + 1), self.error);
        self.at += 1;
        self.blanks();
        match self.peek() {
            Some(b'"' | b'\'') => self.string(),
            Some(b'[') => self.array(),
            Some(b) if scalar_byte(b) => self.bare_scalar(),
            _ => false,
        }
    }

    /// A one-line basic string without escapes, or a one-line literal string.
    fn string(&mut self) -> bool {
        let start = self.at;
        let quote = self.bytes[start];
        if self.bytes[start..].starts_with(&[quote; 3]) {
            return false;
        }
        let rest = &self.bytes[start + 1..];
        // A backslash escapes only in a basic string. (Strings are short: a loop beats memchr.)
        let escape = if quote == b'"' { b'\\' } else { b'\n' };
        let end = match rest
            .iter()
            .position(|&b| b == quote || b == escape || b == b'\n')
        {
            Some(i) if rest[i] == quote => start + 1 + i + 1,
            _ => return false,
        };
        let encoding = if quote == b'"' {
            Encoding::BasicString
        } else {
            Encoding::LiteralString
        };
        self.receiver
            .scalar(Self::span(start, end), Some(encoding), self.error);
        self.at = end;
        true
    }

    /// A bare scalar that nothing after it on the line can join.
    fn bare_scalar(&mut self) -> bool {
        let start = self.at;
        while self.peek().is_some_and(scalar_byte) {
            self.at += 1;
        }
        let mut next = self.at;
        while matches!(self.bytes.get(next), Some(b' ' | b'\t')) {
            next += 1;
        }
        // Only blanks, a comment or the line's end may follow; right after it, also nothing
        // that the lexer would take into the same token.
        let ends = match self.bytes.get(next) {
            None | Some(b'#' | b'\r' | b'\n') => true,
            Some(_) => false,
        };
        if !ends {
            return false;
        }
        self.receiver
            .scalar(Self::span(start, self.at), None, self.error);
        true
    }

    /// `[` strings separated by commas `]`, on one line, a comma after the last allowed.
    fn array(&mut self) -> bool {
        let open = self.at;
        if !self
            .receiver
            .array_open(Self::span(open, open + 1), self.error)
        {
            return false;
        }
        self.at += 1;
        let mut needs_value = true;
        loop {
            self.blanks();
            match self.peek() {
                Some(b']') => {
                    self.receiver
                        .array_close(Self::span(self.at, self.at + 1), self.error);
                    self.at += 1;
                    return true;
                }
                Some(b',') if !needs_value => {
                    self.receiver
                        .value_sep(Self::span(self.at, self.at + 1), self.error);
                    self.at += 1;
                    needs_value = true;
                }
                Some(b'"' | b'\'') if needs_value => {
                    if !self.string() {
                        return false;
                    }
                    needs_value = false;
                }
                _ => return false,
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use toml_parser::parser::{Event, parse_document};
    use toml_parser::{ParseError, Source};

    use super::*;

    /// Lines of every kind a list may hold: first [`FINE`] lines in the shape [`events`] takes
    /// that a list may hold, then up to [`PLAIN_SHAPE`] lines in that shape that the list's
    /// reader refuses or that are odd (a date that does not exist), then lines of other
    /// shapes, good and bad.
    pub(crate) const LINES: &[&str] = &[
        "[[subscriber]]",
        "  [[subscriber]]  # noted",
        "[[subscriber]]\t",
        "[[subscriber]]#x",
        "email = \"A@B.org\"",
        "email='a@b.org'",
        "email = \"jos\u{e9}@b.org\"",
        "email = 3",
        "email = [\"a@b.org\"]",
        "\temail  =  \"x@y.z\"\t # c",
        "email = \"\"",
        "email = \" a@b.org \"",
        "name = \"Jos\u{e9} Turing\"",
        "name = \"Frances O'Brien\"",
        "name = 'lit \\ back'",
        "name = \"tab\there\"",
        "name = \"\u{feff}bom\"",
        "name = ''",
        "topics = [\"A\", \"B\"]",
        "topics = []",
        "topics = [ ]",
        "topics = [\"A\",]",
        "topics = [ \"A\" , 'B' ]#c",
        "subscribed_at = 2024-01-02",
        "subscribed_at = 2024-02-29",
        "unsubscribed_at = 2024-01-02T08:00:00Z",
        "at = 07:32:00",
        "at = 1979-05-27T00:32:00-07:00",
        "at = 1979-05-27T00:32:00+07:00",
        "max_papers = 20",
        "max_papers = -0",
        "max_papers = +5",
        "max_papers = 1_000",
        "max_papers = 0x1f",
        "max_papers = inf",
        "paused = true",
        "-_ = 1",
        "1 = 2",
        "# plain",
        "#",
        "# non-ascii \u{e9}",
        "# tab\there",
        "  # indented",
        "# [[subscriber]]",
        "",
        "   ",
        "\t",
        // Refused, or odd.
        "[[other]]",
        "name = \"ctl\u{1}\"",
        "name = \"del\u{7f}\"",
        "name = \"cr\rinside\"",
        "subscribed_at = 2024-02-30",
        "subscribed_at = 2024-13-01",
        "max_papers = 020",
        "max_papers = 99999999999999999999",
        "max_papers = nan1",
        "paused = tru",
        "# ctl \u{1}",
        "# del \u{7f}",
        "subscriber = 1",
        // Other shapes.
        "[[ subscriber ]]",
        "[subscriber]",
        "[[subscriber.x]]",
        "[[subscriber]]x",
        "[[subscriber]",
        "[[]]",
        "email = \"\\u0061@b.org\"",
        "\"email\" = \"a@b.org\"",
        "email = \"a@b.org",
        "name = 'lit \\'",
        "name = \"esc \\\" q\"",
        "name = \"\"\"",
        "\"\"\"",
        "name = \"\"\"one line\"\"\"",
        "name = '''x'''",
        "name = \"a\" \"b\"",
        "name = \"a\"b",
        "topics = [,\"A\"]",
        "topics = [\"A\" \"B\"]",
        "topics = [",
        "  \"A\",",
        "]",
        "topics = [\"A\", 1]",
        "topics = [[\"A\"]]",
        "topics = {a = 1}",
        "topics = [\"A\" # c",
        "unsubscribed_at = 2024-01-02 08:00:00Z",
        "unsubscribed_at = 2024-01-02T08:00:00.5Z",
        "max_papers = 1.5",
        "max_papers = 1e5",
        "paused = true false",
        "paused = true,",
        "paused = true]",
        "a.b = 1",
        "a . b = 1",
        "'lit' = 1",
        "k\u{e9} = 1",
        "= 1",
        "key",
        "key =",
        "key = ",
        "key = = 1",
        "key = {}",
        "key = \"a\"\"",
        "}",
        "]",
        "[[",
        "=",
        ".",
        "\"",
    ];

    /// See [`LINES`].
    pub(crate) const FINE: usize = 47;
    /// See [`LINES`].
    pub(crate) const PLAIN_SHAPE: usize = 60;

    pub(crate) use crate::test_rng::Rng;

    /// A piece of random lines: mostly plain ones, sometimes anything.
    fn piece(rng: &mut Rng) -> String {
        let mut text = String::new();
        if rng.below(30) == 0 {
            text.push('\u{feff}');
        }
        for _ in 0..=rng.below(8) {
            let line = if rng.below(4) == 0 {
                LINES[rng.below(LINES.len())]
            } else {
                LINES[rng.below(PLAIN_SHAPE)]
            };
            text.push_str(line);
            text.push_str(rng.ending());
        }
        if rng.below(4) == 0 {
            let end = text.trim_end_matches(['\r', '\n']).len();
            text.truncate(end);
        }
        text
    }

    fn parser_events(piece: &str) -> (Vec<Event>, Vec<ParseError>) {
        let tokens: Vec<_> = Source::new(piece).lex().collect();
        let (mut events, mut errors) = (Vec::new(), Vec::new());
        parse_document(&tokens, &mut events, &mut errors);
        (events, errors)
    }

    fn quick_events(piece: &str) -> Option<Vec<Event>> {
        let (mut seen, mut errors) = (Vec::new(), Vec::<ParseError>::new());
        let took = events(piece, &mut seen, &mut errors);
        assert!(errors.is_empty(), "the reader reports nothing itself");
        took.then_some(seen)
    }

    /// Whatever the quick reader takes, `toml_parser` parses without an error into the very
    /// same events.
    #[test]
    fn what_the_quick_reader_takes_the_parser_reads_the_same() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut taken, mut left) = (0, 0);
        for _ in 0..40_000 {
            let piece = piece(&mut rng);
            let Some(quick) = quick_events(&piece) else {
                left += 1;
                continue;
            };
            taken += 1;
            let (events, errors) = parser_events(&piece);
            assert!(errors.is_empty(), "{piece:?}: {errors:?}");
            assert_eq!(quick, events, "{piece:?}");
        }
        // Both ways are well exercised.
        assert!(
            taken > 10_000 && left > 10_000,
            "{taken} taken, {left} left"
        );
    }

    #[test]
    fn entries_are_found_in_the_plain_shape_only() {
        fn all(piece: &str) -> Option<Vec<Entry<'_>>> {
            let mut found = Vec::new();
            entries(piece, |e| found.push(e)).then_some(found)
        }
        let piece = "# top\n\n[[subscriber]]\nemail = \"A@b.org\"\ntopics = [\"X\", 'Y',] # t\n\n# about b\n  [[subscriber]] # b\r\nname = \"B\"\nmax_papers = 3";
        assert_eq!(
            all(piece),
            Some(vec![
                Entry {
                    header: 7,
                    body_end: 65,
                    email: Some((30, "A@b.org")),
                },
                Entry {
                    header: 78,
                    body_end: piece.len(),
                    email: None,
                },
            ])
        );
        for piece in [
            "top = 1\n[[subscriber]]\n",
            "[[subscriber]]\nemail = 'a@b.org'\n",
            "[[subscriber]]\nemail = \"a@b.org\"\nemail = \"a@b.org\"\n",
            "[[subscriber]]\nname = \"a\\tb\"\n",
            "[[subscriber]]\nname = \"a\u{1}b\"\n",
            "[[subscriber]]\n# a\u{7f}b\n",
            "[[subscriber]]\nsince = tru\n",
            "[[subscriber]]\nsince = 2024-02-03 # ok\nx = 1.5\n",
            "[[other]]\n",
            "[[subscriber]]\rname = \"x\"\n",
        ] {
            assert_eq!(all(piece), None, "{piece:?}");
        }
    }

    #[test]
    fn the_plain_shape_is_taken_and_others_are_left() {
        for piece in [
            "",
            "\n",
            "# list\r\n\r\n",
            "[[subscriber]]\nemail = \"a@b.org\"\nname = \"Jos\u{e9}\"\ntopics = [\"A\", \"B\"]\nsubscribed_at = 2024-01-02\nmax_papers = 20 # at most\n",
            "[[subscriber]] # b\r\nemail = 'b@b.org'\r\npaused = true",
            "  [[subscriber]]\n\temail\t=\t\"c@b.org\"\t# c\n  \n",
        ] {
            assert_eq!(
                quick_events(piece),
                Some(parser_events(piece).0),
                "{piece:?}"
            );
        }
        for piece in [
            "\u{feff}# bom\n",
            "[[subscriber]]\nemail = \"\\u0061@b.org\"\n",
            "[[subscriber]]\nname = \"\"\"\n[[subscriber]]\n\"\"\"\n",
            "[[subscriber]]\ntopics = [\n  \"A\",\n]\n",
            "[[subscriber]]\nemail = \"a@b.org\"\rname = \"x\"\n",
            "[[subscriber]]\na.b = 1\n",
            "[[subscriber]]\n\"email\" = \"a@b.org\"\n",
            "[[subscriber]]\nx = { a = 1 }\n",
            "[[subscriber]]\nat = 2024-01-02 08:00:00\n",
            "[[subscriber]]\nx = 1.5\n",
            "[ [subscriber]]\n",
        ] {
            assert_eq!(quick_events(piece), None, "{piece:?}");
        }
    }
}
