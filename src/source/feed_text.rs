//! Text from other people's feeds: where a feed hides a paper's arXiv id, and HTML descriptions
//! turned into plain text.
//!
//! Feeds that are not arXiv's own (Hugging Face paper feeds, mirrors, aggregators) carry the id
//! in a link (`huggingface.co/papers/2506.14965`, `arxiv.org/abs/2412.21055v2`,
//! `arxiv.org/pdf/…`), in a guid (`oai:arXiv.org:…`) or only in the text (`arXiv:2501.00096`).
//! Finding it is what lets the same paper from two sources merge into one. Their descriptions
//! are often HTML; html5ever's tokenizer (already in the tree through css-inline) reads it the
//! way a browser would, entities included, so no tag ever reaches an email as literal text.

use std::cell::{Cell, RefCell};

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use crate::paper::{HttpUrl, Links, PaperId};

/// Tags whose presence (`<p>`, `</b>`, `<br/>`, `<a href=…>`) marks a description as HTML.
const HTML_TAGS: &[&str] = &[
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "td",
    "th",
    "tr",
    "u",
    "ul",
];

/// Whether `s` is HTML rather than plain text: it has a tag of [`HTML_TAGS`] closed by `>`, or
/// an entity reference left after the XML layer was decoded (`&nbsp;`, `&#233;`). Plain
/// abstracts with math (`$a<b$ and $c>d$`) are not taken for HTML unless they look exactly like
/// a tag, which is why the tag names are a closed list.
pub(super) fn looks_like_html(s: &str) -> bool {
    let bytes = s.as_bytes();
    for (i, _) in s.match_indices('<') {
        let rest = &s[i + 1..];
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let name_len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
        let name = rest[..name_len].to_ascii_lowercase();
        if !HTML_TAGS.contains(&name.as_str()) {
            continue;
        }
        let after = &rest[name_len..];
        let boundary = after
            .chars()
            .next()
            .is_some_and(|c| c == '>' || c == '/' || c.is_whitespace());
        let closed = after.find('>').is_some_and(|gt| !after[..gt].contains('<'));
        if boundary && closed {
            return true;
        }
    }
    // An entity reference: `&name;` or `&#NNN;` / `&#xHH;`.
    s.match_indices('&').any(|(i, _)| {
        let rest = &bytes[i + 1..];
        let body = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'#')
            .count();
        (2..=10).contains(&body) && rest.get(body) == Some(&b';')
    })
}

/// Collects the text of an HTML fragment, skipping what a reader never sees.
struct TextSink {
    out: RefCell<String>,
    /// Inside `<script>`, `<style>` or `<title>`.
    hidden: Cell<bool>,
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::CharacterTokens(t) if !self.hidden.get() => self.out.borrow_mut().push_str(&t),
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                let start = tag.kind == TagKind::StartTag;
                match name {
                    "script" | "style" | "title" | "template" => {
                        self.hidden.set(start && !tag.self_closing);
                        if start {
                            return TokenSinkResult::RawData(if name == "script" {
                                RawKind::ScriptData
                            } else {
                                RawKind::Rawtext
                            });
                        }
                    }
                    // Inline elements join their neighbours; everything else separates words.
                    "a" | "abbr" | "b" | "code" | "em" | "font" | "i" | "small" | "span"
                    | "strong" | "sub" | "sup" | "u" | "q" | "s" | "mark" | "cite" => {}
                    _ => self.out.borrow_mut().push(' '),
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// The text an HTML fragment shows, with entities decoded and tags dropped. Whitespace is left
/// for the caller's `clean_text` to collapse.
pub(super) fn html_to_text(html: &str) -> String {
    let sink = TextSink {
        out: RefCell::new(String::with_capacity(html.len())),
        hidden: Cell::new(false),
    };
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.out.take()
}

/// `text`, as HTML when it looks like HTML.
pub(super) fn plain(text: &str) -> String {
    if looks_like_html(text) {
        html_to_text(text)
    } else {
        text.to_owned()
    }
}

/// A new-style id (`2506.14965`) with a real month, or an old-style one (`cs/0112017`); any
/// version suffix and a `.pdf`/`.html` extension are dropped.
fn id_from_segment(segment: &str, allow_old_style: bool) -> Option<PaperId> {
    let s = segment
        .trim_end_matches(".pdf")
        .trim_end_matches(".html")
        .trim_end_matches(".abs");
    let id = PaperId::parse(s).ok()?;
    let text = id.as_str();
    if let Some((yymm, _)) = text.split_once('.') {
        let month: u32 = yymm[2..].parse().ok()?;
        return (1..=12).contains(&month).then_some(id);
    }
    (allow_old_style && text.contains('/')).then_some(id)
}

/// The arXiv id in a link or guid URL: any path segment that is a new-style id
/// (`huggingface.co/papers/2506.14965`, `arxiv.org/pdf/2412.21055v2`, mirrors), or on an
/// arXiv host an old-style `archive/NNNNNNN` pair.
pub(super) fn arxiv_id_in_url(raw: &str) -> Option<PaperId> {
    let raw = raw.trim();
    if let Some(rest) = strip_prefix_ci(raw, "oai:arxiv.org:") {
        return id_from_segment(rest, true);
    }
    let url = url::Url::parse(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let arxiv_host = url.host_str().is_some_and(|h| h.contains("arxiv"));
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    for (i, segment) in segments.iter().enumerate() {
        if let Some(id) = id_from_segment(segment, false) {
            return Some(id);
        }
        if arxiv_host
            && let Some(next) = segments.get(i + 1)
            && let Some(id) = id_from_segment(&format!("{segment}/{next}"), true)
        {
            return Some(id);
        }
    }
    // `?id=2506.14965` and the like.
    url.query_pairs()
        .find_map(|(_, v)| id_from_segment(&v, arxiv_host))
}

/// The arXiv id mentioned in free text: `arXiv:2501.00096v2`, `oai:arXiv.org:…`, or a link to
/// an arXiv host or a Hugging Face paper page. Bare numbers are not taken: `1205.1001` in an
/// abstract may be anything.
pub(super) fn arxiv_id_in_text(text: &str) -> Option<PaperId> {
    let is_separator = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '[' | ']' | '(' | ')' | '<' | '>' | '"' | '\'' | ',' | ';'
            )
    };
    text.split(is_separator).find_map(|token| {
        let token = token.trim_end_matches(['.', ':']);
        if let Some(rest) = strip_prefix_ci(token, "arxiv:") {
            return id_from_segment(rest, true);
        }
        if strip_prefix_ci(token, "oai:arxiv.org:").is_some() {
            return arxiv_id_in_url(token);
        }
        if token.starts_with("http://") || token.starts_with("https://") {
            let url = url::Url::parse(token).ok()?;
            let host = url.host_str()?;
            let paper_page =
                (host == "huggingface.co" || host == "hf.co") && url.path().starts_with("/papers/");
            if host.contains("arxiv") || paper_page {
                return arxiv_id_in_url(token);
            }
        }
        None
    })
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix))
    .then(|| &s[prefix.len()..])
}

/// The links a feed's item link gives: a Hugging Face paper page as `hf`, an arXiv abstract
/// page as `abs` (canonical: `https://arxiv.org/abs/ID`, no version), any other page as `abs`
/// only when the paper has no arXiv id (so its title links to the feed's page rather than to a
/// search). With an id, arXiv's own links are derived from it and a mirror's page is not kept.
pub(crate) fn links_from_page(link: &str, id: Option<&PaperId>) -> Links {
    let mut links = Links::default();
    let Some(page) = HttpUrl::parse_opt(Some(link)) else {
        return links;
    };
    let Ok(url) = url::Url::parse(page.as_str()) else {
        return links;
    };
    let host = url.host_str().unwrap_or_default();
    let arxiv_id = id.filter(|i| i.is_arxiv());
    if matches!(host, "huggingface.co" | "hf.co") && url.path().starts_with("/papers/") {
        links.hf = match arxiv_id {
            Some(i) => HttpUrl::parse(&format!("https://huggingface.co/papers/{i}")).ok(),
            None => Some(page),
        };
    } else if matches!(host, "arxiv.org" | "www.arxiv.org" | "export.arxiv.org") {
        if let Some(i) = arxiv_id {
            links.abs = HttpUrl::parse(&format!("https://arxiv.org/abs/{i}")).ok();
        } else {
            links.abs = Some(page);
        }
    } else if arxiv_id.is_none() {
        links.abs = Some(page);
    }
    links
}

/// What an arXiv description says before `Abstract:` — the versioned id and the announce
/// type — and the abstract after it.
pub(super) struct ArxivHeader<'a> {
    pub(super) id: Option<&'a str>,
    pub(super) announce_type: Option<&'a str>,
}

/// Splits `arXiv:2405.20000v1 Announce Type: new \nAbstract: …` (arXiv's RSS and Atom
/// listings). Text without `Abstract:` is the abstract alone.
pub(super) fn split_arxiv_description(d: &str) -> (ArxivHeader<'_>, &str) {
    let (head, abstract_text) = match d.find("Abstract:") {
        Some(i) => (&d[..i], &d[i + "Abstract:".len()..]),
        None => ("", d),
    };
    let id = head
        .split_whitespace()
        .find_map(|w| strip_prefix_ci(w, "arxiv:"));
    let announce_type = head
        .find("Announce Type:")
        .map(|i| &head[i + "Announce Type:".len()..])
        .and_then(|rest| rest.split_whitespace().next());
    (ArxivHeader { id, announce_type }, abstract_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Option<String> {
        arxiv_id_in_url(s).map(|i| i.to_string())
    }

    #[test]
    fn ids_in_links_and_guids() {
        assert_eq!(
            id("https://huggingface.co/papers/2608.19880").as_deref(),
            Some("2608.19880")
        );
        assert_eq!(
            id("http://arxiv.org/abs/2412.21055v3").as_deref(),
            Some("2412.21055")
        );
        assert_eq!(
            id("https://arxiv.org/pdf/2501.00096v1.pdf").as_deref(),
            Some("2501.00096")
        );
        assert_eq!(
            id("https://www.alphaxiv.org/abs/2506.14965?utm=x").as_deref(),
            Some("2506.14965")
        );
        assert_eq!(
            id("https://arxiv.org/abs/hep-ex/0307015v1").as_deref(),
            Some("hep-ex/0307015")
        );
        assert_eq!(
            id("oai:arXiv.org:2405.20000v1").as_deref(),
            Some("2405.20000")
        );
        // Not ids: a month 24, a blog path, an old-style pair off arXiv, other schemes.
        assert_eq!(id("https://example.org/posts/2024.10001"), None);
        assert_eq!(id("https://example.org/blog/1234567"), None);
        assert_eq!(id("https://example.org/cs/0112017"), None);
        assert_eq!(id("javascript:2405.20000"), None);
    }

    #[test]
    fn ids_in_text_need_a_marker() {
        let t = |s: &str| arxiv_id_in_text(s).map(|i| i.to_string());
        assert_eq!(
            t("[arXiv:2501.01098] Published Thu").as_deref(),
            Some("2501.01098")
        );
        assert_eq!(
            t("see https://arxiv.org/abs/2501.00227v2.").as_deref(),
            Some("2501.00227")
        );
        assert_eq!(
            t("on https://huggingface.co/papers/2506.15154, with code").as_deref(),
            Some("2506.15154")
        );
        assert_eq!(t("version 1205.1001 of the dataset"), None);
        assert_eq!(t("code at https://github.com/a/2405.20000"), None);
    }

    #[test]
    fn html_is_told_from_text_with_math() {
        assert!(looks_like_html("<b>Author(s):</b> A<br><br>"));
        assert!(looks_like_html("<p class=\"x\">Hi</p>"));
        assert!(looks_like_html("Caf&eacute; au lait"));
        assert!(!looks_like_html("for $a<b$ and $c>d$ we show"));
        assert!(!looks_like_html("x < y and Q&A"));
        // A double-escaped `&amp;amp;` in the XML is HTML's `&amp;`.
        assert!(looks_like_html("Q&amp;A"));
    }

    #[test]
    fn html_becomes_its_visible_text() {
        let html = "<b>Author(s):</b> Jan B&eacute;ri<br><br><b>Abstract:</b> We <i>consider</i> \
                    codes.<script>alert(1)</script><style>p{}</style>[<a href='x'>arXiv:1</a>]";
        let text = html_to_text(html);
        let text = super::super::clean_text(&text);
        assert_eq!(
            text,
            "Author(s): Jan Béri Abstract: We consider codes.[arXiv:1]"
        );
        assert_eq!(plain("a < b"), "a < b");
    }

    #[test]
    fn arxiv_descriptions_split() {
        let (h, a) = split_arxiv_description(
            "arXiv:2405.20000v3 Announce Type: replace-cross \nAbstract: We show.",
        );
        assert_eq!(h.id, Some("2405.20000v3"));
        assert_eq!(h.announce_type, Some("replace-cross"));
        assert_eq!(a, " We show.");
    }
}
