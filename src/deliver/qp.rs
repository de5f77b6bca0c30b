//! Quoted-printable bodies, byte for byte as lettre encodes them (`Body::new_with_encoding`:
//! CRLF line endings, then the `quoted_printable` crate), written straight into the message's
//! buffer: no CRLF copy of the input, no intermediate string. Every message encodes a few lines
//! of its own (a personal email many, with names and dots that are not ASCII), so this is on
//! the send's hot path.
//!
//! The rules, as `quoted_printable` 0.5 applies them to lettre's CRLF text:
//! - printable ASCII (`' '..='~'`) and tab stay as they are, but `=`; every other byte is
//!   `=XX` (upper-case hex), a CR not followed by LF included;
//! - every `\n` (lettre makes a lone one `\r\n`) ends the line with CRLF; a space or tab just
//!   before it, or at the very end of the input, is escaped (`=20`, `=09`);
//! - a line may hold 76 bytes: a piece (one byte or one `=XX`) that would go past it starts a
//!   new line after a soft break `=`; when the line is already full, the soft break goes in
//!   before the line's last piece, which moves down.

/// The longest encoded line, soft break included.
const LIMIT: usize = 76;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Bytes that stand for themselves.
const LITERAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = b' ';
    while b <= b'~' {
        table[b as usize] = b != b'=';
        b += 1;
    }
    table[b'\t' as usize] = true;
    table
};

fn literal(b: u8) -> bool {
    LITERAL[usize::from(b)]
}

/// `raw` quoted-printable encoded, appended to `out`.
pub fn encode_into(raw: &str, out: &mut Vec<u8>) {
    out.reserve(raw.len() + raw.len() / 16 + 2);
    let mut line = Line {
        start: out.len(),
        out,
        len: 0,
        last: 0,
    };
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => line.hard_break(),
            // lettre's CRLF pass leaves `\r\n` alone: one line break.
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                line.hard_break();
                i += 1;
            }
            _ if literal(b) => {
                let run = bytes[i..].iter().take_while(|&&b| literal(b)).count();
                line.literal_run(&bytes[i..i + run]);
                i += run;
                continue;
            }
            _ => line.piece(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]),
        }
        i += 1;
    }
    line.escape_trailing_blank();
}

/// `raw` quoted-printable encoded.
pub fn encode(raw: &str) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(raw, &mut out);
    out
}

/// The encoder's place in the output: the current line's length and the length of the piece
/// appended last (the one a soft break may have to move down).
struct Line<'a> {
    out: &'a mut Vec<u8>,
    /// Where this encoding began in `out` (what came before is not ours to escape).
    start: usize,
    len: usize,
    last: usize,
}

impl Line<'_> {
    /// Appends one piece (a byte or an `=XX`), breaking the line first if it would not fit.
    fn piece(&mut self, piece: &[u8]) {
        if self.len + piece.len() > LIMIT {
            if self.len == LIMIT {
                let at = self.out.len() - self.last;
                self.out.splice(at..at, *b"=\r\n");
                self.len = self.last;
            } else {
                self.out.extend_from_slice(b"=\r\n");
                self.len = 0;
            }
        }
        self.out.extend_from_slice(piece);
        self.len += piece.len();
        self.last = piece.len();
    }

    /// Appends bytes that stand for themselves: as many pieces of one byte, copied a line's
    /// room at a time.
    fn literal_run(&mut self, mut run: &[u8]) {
        while let Some((&first, rest)) = run.split_first() {
            if self.len == LIMIT {
                self.piece(&[first]);
                run = rest;
                continue;
            }
            let n = run.len().min(LIMIT - self.len);
            self.out.extend_from_slice(&run[..n]);
            self.len += n;
            self.last = 1;
            run = &run[n..];
        }
    }

    /// Ends the line with CRLF (escaping a space or tab before it).
    fn hard_break(&mut self) {
        self.escape_trailing_blank();
        self.out.extend_from_slice(b"\r\n");
        self.len = 0;
    }

    /// A space or tab may not end an encoded line: the last one written becomes `=20`/`=09`.
    fn escape_trailing_blank(&mut self) {
        if self.out.len() == self.start {
            return;
        }
        let escaped: &[u8] = match self.out.last() {
            Some(b' ') => b"=20",
            Some(b'\t') => b"=09",
            _ => return,
        };
        self.out.pop();
        self.len -= 1;
        self.piece(escaped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lettre(raw: &str) -> Vec<u8> {
        lettre::message::Body::new_with_encoding(
            raw.to_owned(),
            lettre::message::header::ContentTransferEncoding::QuotedPrintable,
        )
        .map(lettre::message::Body::into_vec)
        .unwrap()
    }

    /// `raw` encoded alone and after text already in the buffer (which the encoder must leave
    /// alone: a space there is not this encoding's trailing space) is what lettre makes of it.
    fn assert_like_lettre(raw: &str) {
        let expected = lettre(raw);
        assert_eq!(encode(raw), expected, "{raw:?}");
        let mut out = b"before ".to_vec();
        encode_into(raw, &mut out);
        assert_eq!(&out[..7], b"before ", "{raw:?}");
        assert_eq!(&out[7..], expected, "{raw:?} after other text");
    }

    #[test]
    fn every_kind_of_line_is_encoded_as_lettre_encodes_it() {
        // A small deterministic generator: lines of every length around the limit, from an
        // alphabet with everything the encoder treats specially: `=`, the first and last bytes
        // that stand for themselves, tab and space (escaped at a line's end), CR alone, CRLF,
        // CR CR LF, LF CR, control bytes, DEL, and characters of two, three and four bytes.
        let alphabet = [
            "a", "Z", " ", "=", "\t", "\r", "\n", "\r\n", "\r\r\n", "\n\r", " \n", "\t\n", " \r",
            "é", "·", "—", "中", "😀", "~", "!", "\u{7f}", "\u{1}", "\0", "\u{80}", "\u{ff}",
        ];
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..100_000 {
            let len = rng.below(240);
            let raw: String = (0..len)
                .map(|_| match case % 3 {
                    // Mostly text that stands for itself, so that lines reach the limit.
                    0 | 1 if rng.below(10) != 0 => {
                        if rng.below(7) == 0 {
                            " "
                        } else {
                            "x"
                        }
                    }
                    _ => alphabet[rng.below(alphabet.len())],
                })
                .collect();
            assert_like_lettre(&raw);
        }
        for len in 70..=80 {
            for end in ["", "\n", " \n", "\t\n", "=\n", "\r\n", "é\n", " ", "\r"] {
                for first in ["y", "=", "é"] {
                    let raw = format!("{}{end}{}\n", first.repeat(len), "z".repeat(len));
                    assert_like_lettre(&raw);
                    assert_like_lettre(&format!("{}{end}", first.repeat(len)));
                }
            }
        }
        assert_like_lettre("");
        assert_like_lettre(" ");
        assert_like_lettre("\n");
    }

    #[test]
    fn plain_lines_are_themselves_with_crlf() {
        assert_eq!(
            encode("Hi Ada,\n\nsee you\n"),
            b"Hi Ada,\r\n\r\nsee you\r\n"
        );
        assert_eq!(encode("a = b \n"), b"a =3D b=20\r\n");
        assert_eq!(encode("José"), b"Jos=C3=A9");
    }
}
