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
        let end = match memchr::memchr3(quote, b'\\', b'\n', rest) {
            Some(i) if rest[i] == quote => start + 1 + i + 1,
            // A backslash only escapes in a basic string.
            Some(i) if rest[i] == b'\\' && quote == b'\'' => {
                match memchr::memchr2(quote, b'\n', &rest[i..]) {
                    Some(j) if rest[i + j] == quote => start + 1 + i + j + 1,
                    _ => return false,
                }
            }
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
    /// reader refuses, then lines of other shapes, good and bad.
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
        // Refused.
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

    /// A small random number generator, so that failures can be replayed.
    pub(crate) struct Rng(pub(crate) u64);

    impl Rng {
        pub(crate) fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        pub(crate) fn ending(&mut self) -> &'static str {
            match self.below(100) {
                0..=79 => "\n",
                80..=98 => "\r\n",
                _ => "\r",
            }
        }
    }

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
