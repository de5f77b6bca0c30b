//! Paper sources: where an edition's list of papers comes from.
//!
//! Files (`--papers`, `kind = "file"`) in any of the supported formats, detected from the
//! content; and the live Hugging Face and arXiv endpoints over HTTP. Every source
//! yields the same [`PaperList`] of normalized [`Paper`]s; several sources merge by id.
//!
//! Parsing ([`parse_papers`]) is pure: text in, papers or positioned problems out. The formats
//! live in their own submodules (`page_text`, `hf_json`, `normalized`, `rss`, `atom`, with
//! `feed_text` for what feeds share: ids in links, HTML as text); the HTTP side lives in `http`
//! (client manners: retries, timeouts, body cap, rate limit) and `live` (which day to fetch,
//! merging the configured sources, leaving out stale listings).

mod arxiv_api;
mod arxiv_ids;
mod atom;
mod feed_text;
mod hf_json;
mod http;
mod live;
mod normalized;
mod page_text;
mod rss;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;

use crate::diag::{Location, Problems};
use crate::exit::Temporary;
use crate::paper::Paper;

pub use arxiv_ids::{Lookup, lookup_ids};
pub use http::{HttpOptions, USER_AGENT};
pub use live::{Fetched, LOOKBACK_DAYS, edition_candidates, fetch_all, fetch_all_with};
pub use normalized::{NORMALIZED_VERSION, to_normalized_json};

/// The seed's 90 papers, compiled in: what `preview` shows with no config and no `--papers`.
pub const BUNDLED_SAMPLE: &str = include_str!("../../samples/daily-papers.txt");
/// The name the bundled sample goes by in messages.
pub const BUNDLED_SAMPLE_NAME: &str = "<bundled samples/daily-papers.txt>";

/// The formats a paper list file can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// The Daily Papers page as text: chrome lines, then title / abstract pairs.
    PageText,
    /// `GET https://huggingface.co/api/daily_papers`: an array of `{paper: {...}, ...}` items.
    HuggingFaceJson,
    /// paperwire's own normalized JSON (what `paperwire fetch` writes).
    PaperwireJson,
    /// An RSS 2.0 feed: arXiv's listing (`rss.arxiv.org/rss/…`) or another feed of papers.
    ArxivRss,
    /// An Atom feed: an arXiv API answer, arXiv's Atom listing (`rss.arxiv.org/atom/…`) or
    /// another feed of papers.
    Atom,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::PageText => "Daily Papers page text",
            Format::HuggingFaceJson => "Hugging Face daily papers JSON",
            Format::PaperwireJson => "paperwire papers JSON",
            Format::ArxivRss => "RSS feed",
            Format::Atom => "Atom feed",
        })
    }
}

/// Papers read from one source.
#[derive(Debug, Clone)]
pub struct PaperList {
    /// In source order, duplicates (same id) merged into their first occurrence.
    pub papers: Vec<Paper>,
    /// Items skipped because they lacked a title or an abstract.
    pub skipped: usize,
    pub format: Format,
    /// The day the list is for, when the format says so (`date` of paperwire JSON, the
    /// `pubDate` of an RSS channel, the announcement day of an arXiv Atom listing). A list
    /// with a day is a *listing*: it is only merged into an edition of that day.
    pub date: Option<NaiveDate>,
}

/// Why a source gave no papers.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A body or file that is not what it should be (exit 2).
    #[error("{0}")]
    Malformed(Problems),
    /// The source works but has nothing for that day (a weekend, a holiday): not a failure;
    /// the caller sends nothing and says so (exit 0).
    #[error("no papers for {date} from {source_name}")]
    NoPapers {
        date: NaiveDate,
        source_name: String,
    },
    /// The server could not be reached, timed out, or kept answering 429/5xx (exit 75).
    #[error("{url}: {message}")]
    Unavailable {
        url: String,
        message: String,
        #[source]
        later: Temporary,
    },
    /// The server refused the request for good (4xx other than 429): a wrong URL or
    /// parameter in the config (exit 2).
    #[error("{url}: HTTP {status}{}", if .message.is_empty() { String::new() } else { format!(": {}", .message) })]
    Rejected {
        url: String,
        status: u16,
        message: String,
    },
    /// A body larger than the cap (exit 2).
    #[error("{url}: the response is larger than {limit} bytes; refusing to read it")]
    TooLarge { url: String, limit: usize },
    /// A request the source cannot answer, e.g. a past `--date` from arXiv's RSS (exit 2).
    #[error("{0}")]
    Unsupported(String),
    /// No `[[source]]` in the config.
    #[error("{path}: no [[source]] configured (add one, or pass --papers FILE)")]
    NoSources { path: PathBuf },
}

impl SourceError {
    /// An empty day is an outcome, not a failure: the caller sends nothing and says so
    /// (exit 0).
    pub fn is_empty_day(&self) -> bool {
        matches!(self, Self::NoPapers { .. })
    }
}

/// What the start of a text says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    Format(Format),
    /// A JSON object: paperwire's own format, or something else (an API error body).
    JsonObject,
    Html,
    /// XML that is neither an RSS nor an Atom feed (an error document, …).
    OtherXml,
    Binary,
}

fn sniff(text: &str) -> Sniffed {
    let body = text.trim_start_matches('\u{feff}').trim_start();
    if text.contains('\0') {
        return Sniffed::Binary;
    }
    let after = |prefix: char| body[prefix.len_utf8()..].trim_start();
    if body.starts_with('[') {
        let rest = after('[');
        if rest.is_empty() || rest.starts_with('{') || rest.starts_with(']') {
            return Sniffed::Format(Format::HuggingFaceJson);
        }
    }
    if body.starts_with('{') {
        let rest = after('{');
        if rest.is_empty() || rest.starts_with('"') || rest.starts_with('}') {
            return Sniffed::JsonObject;
        }
    }
    if body.starts_with('<') {
        let mut end = body.len().min(4096);
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        let head = body[..end].to_ascii_lowercase();
        if head.contains("<rss") || head.contains("<rdf:rdf") {
            return Sniffed::Format(Format::ArxivRss);
        }
        if head.contains("<feed") {
            return Sniffed::Format(Format::Atom);
        }
        if head.contains("<html") || head.contains("<!doctype html") || head.contains("<body") {
            return Sniffed::Html;
        }
        return Sniffed::OtherXml;
    }
    Sniffed::Format(Format::PageText)
}

/// Detects the format of `text` and parses it; `path` names it in errors.
///
/// Empty results: page text with no paper is an error ("no papers in FILE"), since the page
/// always has some; a JSON `[]`, paperwire JSON with `"papers": []` or an RSS feed with no items
/// is a valid empty list (the weekend case), which the caller reports as "no papers".
pub fn parse_papers(text: &str, path: &Path) -> Result<PaperList, SourceError> {
    let list = match sniff(text) {
        Sniffed::Format(Format::PageText) => page_text::parse(text, path)?,
        Sniffed::Format(Format::HuggingFaceJson) => hf_json::parse(text, path)?,
        Sniffed::Format(Format::ArxivRss) => rss::parse(text, path)?,
        Sniffed::Format(Format::Atom) => atom::parse_feed(text, path)?.list,
        Sniffed::Format(Format::PaperwireJson) | Sniffed::JsonObject => {
            normalized::parse_object(text, path)?
        }
        Sniffed::Html => {
            return Err(malformed_at(
                path,
                text,
                0,
                "not a paper list (looks like HTML: an error page or a login page?)",
            ));
        }
        Sniffed::OtherXml => {
            return Err(malformed_at(
                path,
                text,
                0,
                "not a paper list: XML that is neither an RSS 2.0 nor an Atom feed (expected <rss> or <feed>)",
            ));
        }
        Sniffed::Binary => {
            return Err(malformed_at(
                path,
                text,
                0,
                "not a paper list (binary data)",
            ));
        }
    };
    Ok(PaperList {
        papers: crate::paper::merge_papers([list.papers]),
        ..list
    })
}

/// Parses `text` that must be in one of the `expected` formats (a live endpoint's body);
/// anything else is an error naming what was found instead.
pub fn parse_expecting(
    text: &str,
    path: &Path,
    expected: &[Format],
) -> Result<PaperList, SourceError> {
    expect_format(text, path, expected)?;
    parse_papers(text, path)
}

/// Checks that `text` is in one of the `expected` formats.
fn expect_format(text: &str, path: &Path, expected: &[Format]) -> Result<(), SourceError> {
    let found = sniff(text);
    let what = match found {
        Sniffed::Format(f) if expected.contains(&f) => return Ok(()),
        Sniffed::JsonObject
            if expected
                .iter()
                .any(|f| matches!(f, Format::HuggingFaceJson | Format::PaperwireJson)) =>
        {
            return Ok(());
        }
        Sniffed::Html => "looks like HTML".to_owned(),
        Sniffed::Binary => "binary data".to_owned(),
        Sniffed::OtherXml => "XML that is neither RSS nor Atom".to_owned(),
        Sniffed::JsonObject => "a JSON object".to_owned(),
        Sniffed::Format(Format::PageText) if text.trim().is_empty() => "an empty body".to_owned(),
        Sniffed::Format(Format::PageText) => "plain text".to_owned(),
        Sniffed::Format(f) => f.to_string(),
    };
    let expected = expected
        .iter()
        .map(Format::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    Err(malformed_at(
        path,
        text,
        0,
        format!("not a paper list ({what}; expected {expected})"),
    ))
}

/// Reads and parses a paper list file.
pub fn read_papers_file(path: &Path) -> Result<PaperList, SourceError> {
    let text = std::fs::read_to_string(path).map_err(|source| SourceError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_papers(&text, path)
}

fn malformed_at(path: &Path, text: &str, offset: usize, msg: impl Into<String>) -> SourceError {
    SourceError::Malformed(Problems::one(Location::at(path, text, offset), msg))
}

/// Text from a source as it goes into a paper: control characters dropped, whitespace runs
/// (including line breaks of wrapped abstracts) collapsed to one space, ends trimmed. Markup is
/// kept as text: escaping is the renderer's job.
fn clean_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            pending_space = true;
        } else if c.is_control() || c == '\u{feff}' {
            continue;
        } else {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_tells_formats_apart() {
        assert_eq!(sniff("[]"), Sniffed::Format(Format::HuggingFaceJson));
        assert_eq!(
            sniff("\u{feff} [\n {"),
            Sniffed::Format(Format::HuggingFaceJson)
        );
        assert_eq!(sniff("{\"paperwire\":1}"), Sniffed::JsonObject);
        assert_eq!(
            sniff("<?xml version='1.0'?>\n<rss>"),
            Sniffed::Format(Format::ArxivRss)
        );
        assert_eq!(sniff("<!DOCTYPE html><html>"), Sniffed::Html);
        assert_eq!(
            sniff("<feed xmlns='http://www.w3.org/2005/Atom'>"),
            Sniffed::Format(Format::Atom)
        );
        assert_eq!(sniff("<?xml version='1.0'?><error/>"), Sniffed::OtherXml);
        // A title that starts with a bracket is still page text.
        assert_eq!(
            sniff("[Re] Attention\n\nAbstract"),
            Sniffed::Format(Format::PageText)
        );
        assert_eq!(
            sniff("{Braces} in a title"),
            Sniffed::Format(Format::PageText)
        );
    }

    #[test]
    fn clean_text_collapses_and_drops_controls() {
        assert_eq!(clean_text("  a\r\n b\t\u{7}c  "), "a b c");
        assert_eq!(clean_text("<script>x</script>"), "<script>x</script>");
    }

    #[test]
    fn exit_classes() {
        use crate::exit::Exit;
        let d = NaiveDate::from_ymd_opt(2024, 5, 25).unwrap();
        let no = SourceError::NoPapers {
            date: d,
            source_name: "x".into(),
        };
        assert!(no.is_empty_day());
        let un = SourceError::Unavailable {
            url: "u".into(),
            message: "m".into(),
            later: Temporary,
        };
        assert_eq!(Exit::of(&un), Exit::TryLater);
        let rej = SourceError::Rejected {
            url: "u".into(),
            status: 404,
            message: String::new(),
        };
        assert_eq!(Exit::of(&rej), Exit::Usage);
        assert_eq!(rej.to_string(), "u: HTTP 404");
    }
}

/// "no papers for DAY, DAY; using DAY" when the lookback skipped empty days.
pub(crate) fn warn_empty_days(
    name: &str,
    empty_days: &[NaiveDate],
    day: NaiveDate,
    warnings: &mut Vec<String>,
) {
    if !empty_days.is_empty() {
        warnings.push(format!(
            "{name}: no papers for {}; using {day}",
            empty_days
                .iter()
                .map(NaiveDate::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

/// Papers from a source's items, and how many items were skipped (no title or abstract).
pub(crate) fn collect_papers<T>(
    items: impl IntoIterator<Item = T>,
    paper_from_item: impl Fn(T) -> Option<Paper>,
) -> (Vec<Paper>, usize) {
    let mut papers = Vec::new();
    let mut skipped = 0;
    for item in items {
        match paper_from_item(item) {
            Some(p) => papers.push(p),
            None => skipped += 1,
        }
    }
    (papers, skipped)
}

/// What an edition's sources gave.
#[derive(Debug, Clone)]
pub enum Loaded {
    Papers(Vec<Paper>),
    /// The sources answered and there are no papers (a weekend, a holiday): why, in words.
    EmptyDay(String),
}

/// The paper list for an edition: `papers_file` when given, else every configured source (the
/// bundled sample for the bundled config), fetched and merged. Warnings go to the log.
pub async fn load(
    settings: &crate::config::Settings,
    papers_file: Option<&Path>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Loaded, SourceError> {
    if let Some(path) = papers_file {
        let list = read_papers_file(path)?;
        if list.skipped > 0 {
            tracing::warn!(
                "{}: skipped {} item(s) without a title or an abstract",
                path.display(),
                list.skipped
            );
        }
        return Ok(if list.papers.is_empty() {
            Loaded::EmptyDay(format!("no papers in {}", path.display()))
        } else {
            Loaded::Papers(list.papers)
        });
    }
    match fetch_all(settings, None, now).await {
        Ok(fetched) => {
            for w in &fetched.warnings {
                tracing::warn!("{w}");
            }
            if fetched.skipped > 0 {
                tracing::warn!(
                    "the sources: skipped {} item(s) without a title or an abstract",
                    fetched.skipped
                );
            }
            Ok(Loaded::Papers(fetched.papers))
        }
        Err(e @ SourceError::NoPapers { .. }) => Ok(Loaded::EmptyDay(e.to_string())),
        Err(e) => Err(e),
    }
}
