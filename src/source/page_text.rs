//! The Hugging Face Daily Papers page copied as text: the format of the bundled sample.
//!
//! A few lines of page chrome ("new", "Get trending papers in your email inbox!", "Subscribe",
//! "Daily Papers", "by AK and the research community"; any case, each optional), then
//! paragraphs separated by blank lines that alternate title, abstract, title, abstract…
//! A paragraph may span several lines (a wrapped abstract): its lines are joined.
//!
//! Decisions:
//! - A title with no abstract after it is an **error** naming the title's line, not a silent
//!   skip: a one-off slip in a hand-made file would otherwise shift every pair after it.
//! - For the same reason, a "title" paragraph longer than [`MAX_TITLE_CHARS`] is an error
//!   ("expected a title; is a title or an abstract missing above?").
//! - Text with no paper at all (empty, or only chrome) is an error "no papers in FILE".
//!
//! Papers from this format have no id of their own ([`PaperId::from_title`]) and no links
//! (rendering derives an arXiv title search).

use std::path::Path;

use super::{Format, PaperList, SourceError, clean_text, malformed_at};
use crate::paper::{Paper, PaperId};

/// Longer than any real title: such a paragraph is an abstract out of place.
pub(super) const MAX_TITLE_CHARS: usize = 400;

const CHROME: &[&str] = &[
    "new",
    "get trending papers in your email inbox!",
    "get trending papers in your email inbox",
    "subscribe",
    "daily papers",
    "by ak and the research community",
];

/// A paragraph: its byte offset in the text and its lines joined.
struct Paragraph {
    offset: usize,
    text: String,
}

fn is_chrome(line: &str) -> bool {
    let l = line.trim().to_lowercase();
    CHROME.contains(&l.as_str())
}

fn paragraphs(text: &str) -> Vec<Paragraph> {
    let mut out = Vec::new();
    let mut current: Option<Paragraph> = None;
    let mut in_chrome = true;
    let mut offset = 0;
    for raw_line in text.split_inclusive('\n') {
        let line_offset = offset;
        offset += raw_line.len();
        let line = raw_line.trim_end_matches(['\n', '\r']).trim();
        let line = line.trim_start_matches('\u{feff}');
        if line.is_empty() {
            if let Some(p) = current.take() {
                out.push(p);
            }
            continue;
        }
        if in_chrome && current.is_none() && is_chrome(line) {
            continue;
        }
        in_chrome = false;
        match &mut current {
            Some(p) => {
                p.text.push(' ');
                p.text.push_str(line);
            }
            None => {
                let lead = raw_line.len() - raw_line.trim_start().len();
                current = Some(Paragraph {
                    offset: line_offset + lead,
                    text: line.to_owned(),
                })
            }
        }
    }
    out.extend(current);
    out
}

pub(super) fn parse(text: &str, path: &Path) -> Result<PaperList, SourceError> {
    let paras = paragraphs(text);
    if paras.is_empty() {
        return Err(malformed_at(
            path,
            text,
            0,
            format!(
                "no papers in {} (expected a title line, a blank line, then its abstract)",
                path.display()
            ),
        ));
    }
    let mut papers = Vec::with_capacity(paras.len() / 2);
    let mut iter = paras.chunks(2);
    for pair in &mut iter {
        let title_para = &pair[0];
        let title = clean_text(&title_para.text);
        let chars = title.chars().count();
        if chars > MAX_TITLE_CHARS {
            return Err(malformed_at(
                path,
                text,
                title_para.offset,
                format!(
                    "expected a paper title but found a paragraph of {chars} characters; is a title or an abstract missing above?"
                ),
            ));
        }
        let Some(abstract_para) = pair.get(1) else {
            return Err(malformed_at(
                path,
                text,
                title_para.offset,
                format!("the title `{}` has no abstract after it", shorten(&title)),
            ));
        };
        let abstract_text = clean_text(&abstract_para.text);
        papers.push(Paper::new(
            PaperId::from_title(&title),
            title,
            abstract_text,
        ));
    }
    Ok(PaperList {
        papers,
        skipped: 0,
        format: Format::PageText,
        date: None,
    })
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 80 {
        let mut t: String = s.chars().take(77).collect();
        t.push_str("...");
        t
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceError;

    fn p(text: &str) -> Result<PaperList, SourceError> {
        parse(text, Path::new("page.txt"))
    }

    #[test]
    fn chrome_then_pairs() {
        let text = "NEW\n\nGet trending papers in your email inbox!\nSubscribe\n\nDaily papers\n\nBy AK and the research community\n\nTitle One\n\nAbstract one.\n\nTitle Two\n\nAbstract\ntwo wrapped.";
        let list = p(text).unwrap();
        assert_eq!(list.papers.len(), 2);
        assert_eq!(list.papers[0].title, "Title One");
        assert_eq!(list.papers[1].abstract_text, "Abstract two wrapped.");
        assert_eq!(list.papers[0].id, PaperId::from_title("title one"));
    }

    #[test]
    fn crlf_trailing_spaces_and_many_blank_lines() {
        let text = "Daily Papers\r\n\r\nT1   \r\n\r\n\r\n\r\nA1  \r\n\r\nT2\r\n\r\nA2";
        let list = p(text).unwrap();
        let got: Vec<_> = list
            .papers
            .iter()
            .map(|p| (p.title.as_str(), p.abstract_text.as_str()))
            .collect();
        assert_eq!(got, [("T1", "A1"), ("T2", "A2")]);
    }

    #[test]
    fn dangling_title_names_its_line() {
        let err = p("new\n\nT1\n\nA1\n\n  Lonely title\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "page.txt:7:3: the title `Lonely title` has no abstract after it"
        );
    }

    #[test]
    fn an_abstract_in_the_title_slot_is_caught() {
        let long = "word ".repeat(100);
        let err = p(&format!("T1\n\n{long}\n\n{long}\n\nT3\n")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("page.txt:5:1: expected a paper title"),
            "{err}"
        );
    }

    #[test]
    fn empty_or_chrome_only_is_no_papers() {
        for text in ["", "\n\n  \n", "new\nSubscribe\n\nDaily Papers\n"] {
            let err = p(text).unwrap_err();
            assert!(err.to_string().contains("no papers in page.txt"), "{err}");
        }
    }

    #[test]
    fn chrome_words_after_the_first_paper_are_titles() {
        let list = p("T1\n\nA1\n\nSubscribe\n\nA paper called Subscribe.").unwrap();
        assert_eq!(list.papers[1].title, "Subscribe");
    }
}
