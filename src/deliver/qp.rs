//! Quoted-printable bodies, byte for byte as lettre encodes them (`Body::new_with_encoding`:
//! CRLF line endings, then the `quoted_printable` crate), without lettre's detour through
//! choosing an encoding and inserting each CR into the string. Every message encodes a few
//! lines of its own (a personal email many), so this is on the send's hot path.

/// `raw` quoted-printable encoded, appended to `out`.
pub(crate) fn encode_into(raw: &str, out: &mut Vec<u8>) {
    if !plain_into(raw, out) {
        out.extend_from_slice(&quoted_printable::encode(crlf(raw)));
    }
}

/// `raw` quoted-printable encoded.
pub(crate) fn encode(raw: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 16 + 2);
    encode_into(raw, &mut out);
    out
}

/// Lines of printable ASCII without `=`, at most 76 bytes long and not ending in a space, are
/// their own encoding but for the line ending: appends them with CRLF and says true; appends
/// nothing and says false when a line is not like that.
fn plain_into(raw: &str, out: &mut Vec<u8>) -> bool {
    let plain = raw.split_inclusive('\n').all(|line| {
        let body = line.strip_suffix('\n').unwrap_or(line).as_bytes();
        body.len() <= 76
            && body.last() != Some(&b' ')
            && body
                .iter()
                .all(|&b| (b' '..=b'~').contains(&b) && b != b'=')
    });
    if plain {
        for line in raw.split_inclusive('\n') {
            match line.strip_suffix('\n') {
                Some(body) => {
                    out.extend_from_slice(body.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                None => out.extend_from_slice(line.as_bytes()),
            }
        }
    }
    plain
}

/// Every `\n` not after a `\r` made `\r\n` (lettre's `encode_crlf`).
fn crlf(raw: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32 + 2);
    let mut after_cr = false;
    for &b in raw.as_bytes() {
        if b == b'\n' && !after_cr {
            out.push(b'\r');
        }
        out.push(b);
        after_cr = b == b'\r';
    }
    out
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

    #[test]
    fn every_kind_of_line_is_encoded_as_lettre_encodes_it() {
        // A small deterministic generator: lines of every length around the limit, from an
        // alphabet with everything the encoder treats specially.
        let alphabet = [
            "a", "Z", " ", "=", "\t", "\r", "\n", "\r\n", "é", "·", "中", "~", "\u{7f}", "\u{1}",
        ];
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next();
        for case in 0..20_000 {
            let len = (next() % 170) as usize;
            let plainish = case % 2 == 0;
            let raw: String = (0..len)
                .map(|_| {
                    let r = next();
                    if plainish && r % 10 != 0 {
                        if r % 7 == 0 { " " } else { "x" }
                    } else {
                        alphabet[(r % alphabet.len() as u64) as usize]
                    }
                })
                .collect();
            assert_eq!(encode(&raw), lettre(&raw), "{raw:?}");
        }
        for len in 70..=80 {
            for end in ["", "\n", " \n", "=\n", "\r\n"] {
                let raw = format!("{}{end}{}\n", "y".repeat(len), "z".repeat(len));
                assert_eq!(encode(&raw), lettre(&raw), "{raw:?}");
            }
        }
        assert_eq!(encode(""), lettre(""));
    }

    #[test]
    fn a_plain_line_is_itself_with_crlf() {
        let mut out = Vec::new();
        assert!(plain_into("Hi Ada,\n\nsee you\n", &mut out));
        assert_eq!(out, b"Hi Ada,\r\n\r\nsee you\r\n");
        assert!(!plain_into("a = b\n", &mut Vec::new()));
        assert!(!plain_into(&"x".repeat(77), &mut Vec::new()));
    }
}
