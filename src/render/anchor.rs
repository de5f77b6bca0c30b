//! Anchors: the ids of sections and papers on the archive's pages, which the email links to.
//! They depend on the names (and order) alone, so an email's links keep pointing at the right
//! place whatever else changes on the page.

use crate::paper::PaperId;

/// The anchors of a page's sections, in order: ASCII letters, digits and `-`, starting with a
/// letter, unique on the page (`graphs`, `graphs-2`). The email links to them, so they depend
/// on the section names and order alone.
pub fn section_anchors<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken: Vec<String> = Vec::new();
    for name in names {
        let base = slug(name);
        let mut anchor = base.clone();
        let mut n = 2;
        while taken.contains(&anchor) {
            anchor = format!("{base}-{n}");
            n += 1;
        }
        taken.push(anchor);
    }
    taken
}

/// A paper's anchor on its edition page: `p-` and its id's letters and digits (`p-2405-10000`).
pub fn paper_anchor(id: &PaperId) -> String {
    format!("p-{}", slug_chars(id.as_str()))
}

pub(super) fn slug(name: &str) -> String {
    let s = slug_chars(&deunicode::deunicode(name));
    if s.starts_with(|c: char| c.is_ascii_lowercase()) {
        s
    } else if s.is_empty() {
        "section".to_owned()
    } else {
        format!("s-{s}")
    }
}

/// Lowercase ASCII letters and digits, every other run of characters as one `-`, none at the ends.
fn slug_chars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_ascii_unique_and_start_with_a_letter() {
        assert_eq!(
            section_anchors([
                "Federated Learning",
                "Pruning & Compression",
                "Données",
                "3D Vision",
                "federated learning",
                "生成模型",
                "!!!",
            ]),
            vec![
                "federated-learning",
                "pruning-compression",
                "donnees",
                "s-3d-vision",
                "federated-learning-2",
                "sheng-cheng-mo-xing",
                "section",
            ]
        );
        assert_eq!(
            paper_anchor(&PaperId::parse("2405.10000v2").unwrap()),
            "p-2405-10000"
        );
        assert_eq!(
            paper_anchor(&PaperId::parse("math.GT/0309136").unwrap()),
            "p-math-gt-0309136"
        );
    }
}
