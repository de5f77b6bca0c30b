//! Atom feeds as papers: the arXiv API (`export.arxiv.org/api/query`), arXiv's Atom listings
//! (`rss.arxiv.org/atom/cs.LG`) and other Atom feeds of papers.
//!
//! An API entry has a versioned abs URL as `<id>`, the abstract in `<summary>`, one
//! `<author><name>` per author, `<link rel="alternate">` (abs page) and `<link rel="related"
//! title="pdf">`, `<arxiv:primary_category>`, `<category term>`s and an optional
//! `<arxiv:comment>`; the feed says how many results the query has in
//! `<opensearch:totalResults>`, which is what paging needs. A listing entry has
//! `oai:arXiv.org:ID` as `<id>`, the `arXiv:… Announce Type: … Abstract: …` summary of the RSS
//! listing, `<dc:creator>` and `<arxiv:announce_type>`. The API reports a bad query as a feed
//! with one entry under `…/api/errors`: that becomes an error, never a paper called "Error".

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::feed_text::{
    arxiv_id_in_text, arxiv_id_in_url, html_to_text, links_from_page, plain,
    split_arxiv_description,
};
use super::rss::split_authors;
use super::{Format, PaperList, SourceError, clean_text, malformed_at};
use crate::paper::{HttpUrl, Paper, PaperId};

/// One parsed Atom document.
#[derive(Debug)]
pub(super) struct AtomFeed {
    pub(super) list: PaperList,
    /// `<opensearch:totalResults>`: present on arXiv API answers.
    pub(super) total_results: Option<usize>,
    /// Entries on this page, papers and skipped alike (paging stops on an empty page).
    pub(super) entries: usize,
}

#[derive(Default)]
struct Entry {
    id: String,
    title: String,
    title_html: bool,
    summary: String,
    summary_html: bool,
    published: String,
    updated: String,
    authors: Vec<String>,
    creator: String,
    alternate: String,
    pdf: String,
    categories: Vec<String>,
    primary_category: String,
    comment: String,
    announce_type: String,
    /// Byte offset of `<entry>`, for errors.
    offset: usize,
}

#[derive(Default)]
struct Feed {
    id: String,
    updated: String,
    total_results: Option<String>,
    entries: Vec<Entry>,
}

/// Which text the reader is collecting.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    FeedId,
    FeedUpdated,
    TotalResults,
    Id,
    Title,
    Summary,
    Published,
    Updated,
    AuthorName,
    Creator,
    Comment,
    AnnounceType,
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name.as_bytes())
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

fn is_html(e: &BytesStart<'_>) -> bool {
    matches!(attr(e, "type").as_deref(), Some("html" | "xhtml"))
}

/// Reads the document into [`Feed`]; XML errors carry their position.
fn read(text: &str, path: &Path) -> Result<Feed, SourceError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut feed = Feed::default();
    let mut entry: Option<Entry> = None;
    // The field being read and the depth of its element.
    let mut field: Option<(Field, usize)> = None;
    let mut buf = String::new();
    let xml_error = |reader: &Reader<&[u8]>, msg: String| {
        let offset = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
        malformed_at(path, text, offset, format!("malformed XML: {msg}"))
    };
    loop {
        let start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader
            .read_event()
            .map_err(|e| xml_error(&reader, e.to_string()))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if stack.is_empty() && local != "feed" {
                    return Err(malformed_at(
                        path,
                        text,
                        start,
                        format!("not an Atom feed: the root element is <{local}>"),
                    ));
                }
                if field.is_none() {
                    let parent = stack.last().map(|(n, _)| n.as_str());
                    field = match (parent, local.as_str(), entry.as_mut()) {
                        (Some("feed"), "entry", _) => {
                            entry = Some(Entry {
                                offset: start,
                                ..Entry::default()
                            });
                            None
                        }
                        (Some("feed"), "id", None) => Some(Field::FeedId),
                        (Some("feed"), "updated", None) => Some(Field::FeedUpdated),
                        (Some("feed"), "totalResults", None) => Some(Field::TotalResults),
                        (Some("entry"), name, Some(en)) => entry_field(name, e, en),
                        (Some("author"), "name", Some(_)) => Some(Field::AuthorName),
                        _ => None,
                    }
                    .map(|f| (f, stack.len()));
                    if field.is_some() {
                        buf.clear();
                    }
                }
                if empty {
                    if field.is_some_and(|(_, depth)| depth == stack.len()) {
                        field = None;
                    }
                } else {
                    stack.push((local, start));
                }
            }
            Event::End(_) => {
                let Some((local, _)) = stack.pop() else {
                    return Err(malformed_at(path, text, start, "unexpected closing tag"));
                };
                if let Some((f, depth)) = field
                    && depth == stack.len()
                {
                    field = None;
                    store(f, std::mem::take(&mut buf), &mut feed, entry.as_mut());
                } else if local == "entry"
                    && stack.len() == 1
                    && let Some(en) = entry.take()
                {
                    feed.entries.push(en);
                }
            }
            Event::Text(t) if field.is_some() => {
                let s = t
                    .xml10_content()
                    .map_err(|e| xml_error(&reader, e.to_string()))?;
                buf.push_str(&s);
            }
            Event::CData(t) if field.is_some() => {
                let s = t.decode().map_err(|e| xml_error(&reader, e.to_string()))?;
                buf.push_str(&s);
            }
            Event::GeneralRef(r) if field.is_some() => {
                if let Some(c) = r
                    .resolve_char_ref()
                    .map_err(|e| xml_error(&reader, e.to_string()))?
                {
                    buf.push(c);
                } else {
                    let name = r.decode().map_err(|e| xml_error(&reader, e.to_string()))?;
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => buf.push_str(s),
                        None => {
                            buf.push('&');
                            buf.push_str(&name);
                            buf.push(';');
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some((name, offset)) = stack.last() {
        return Err(malformed_at(
            path,
            text,
            text.len(),
            format!(
                "the XML ends inside <{name}> opened at {} (truncated?)",
                crate::diag::Location::at(path, text, *offset)
            ),
        ));
    }
    Ok(feed)
}

/// The field a child element of `<entry>` starts; links and categories are read from their
/// attributes at once.
fn entry_field(name: &str, e: &BytesStart<'_>, en: &mut Entry) -> Option<Field> {
    match name {
        "id" => Some(Field::Id),
        "title" => {
            en.title_html = is_html(e);
            Some(Field::Title)
        }
        "summary" => {
            en.summary_html = is_html(e);
            Some(Field::Summary)
        }
        "content" if en.summary.is_empty() => {
            en.summary_html = is_html(e);
            Some(Field::Summary)
        }
        "published" => Some(Field::Published),
        "updated" => Some(Field::Updated),
        "creator" => Some(Field::Creator),
        "comment" => Some(Field::Comment),
        "announce_type" => Some(Field::AnnounceType),
        "link" => {
            let href = attr(e, "href").unwrap_or_default();
            let rel = attr(e, "rel").unwrap_or_else(|| "alternate".into());
            let title = attr(e, "title").unwrap_or_default();
            let kind = attr(e, "type").unwrap_or_default();
            if rel == "alternate" && en.alternate.is_empty() {
                en.alternate = href;
            } else if title == "pdf" || kind == "application/pdf" {
                en.pdf = href;
            }
            None
        }
        "category" => {
            if let Some(term) = attr(e, "term") {
                en.categories.push(term);
            }
            None
        }
        "primary_category" => {
            en.primary_category = attr(e, "term").unwrap_or_default();
            None
        }
        _ => None,
    }
}

fn store(f: Field, value: String, feed: &mut Feed, entry: Option<&mut Entry>) {
    match (f, entry) {
        (Field::FeedId, _) => feed.id = value,
        (Field::FeedUpdated, _) => feed.updated = value,
        (Field::TotalResults, _) => feed.total_results = Some(value),
        (Field::Id, Some(e)) => e.id = value,
        (Field::Title, Some(e)) => e.title = value,
        (Field::Summary, Some(e)) => e.summary = value,
        (Field::Published, Some(e)) => e.published = value,
        (Field::Updated, Some(e)) => e.updated = value,
        (Field::AuthorName, Some(e)) => e.authors.push(value),
        (Field::Creator, Some(e)) => e.creator = value,
        (Field::Comment, Some(e)) => e.comment = value,
        (Field::AnnounceType, Some(e)) => e.announce_type = value,
        _ => {}
    }
}

/// Whether `text` is the arXiv API's error feed (a query it refuses), not a body that cannot
/// be read.
pub(super) fn is_api_error(text: &str, path: &Path) -> bool {
    read(text, path).is_ok_and(|feed| feed.entries.iter().any(|e| e.id.contains("/api/errors")))
}

/// Parses an Atom document into papers; `path` names it in errors.
pub(super) fn parse_feed(text: &str, path: &Path) -> Result<AtomFeed, SourceError> {
    let feed = read(text, path)?;
    if let Some(error) = feed.entries.iter().find(|e| e.id.contains("/api/errors")) {
        return Err(malformed_at(
            path,
            text,
            error.offset,
            format!(
                "the arXiv API refused the query: {}",
                clean_text(&error.summary)
            ),
        ));
    }
    let total_results = match &feed.total_results {
        Some(raw) => Some(raw.trim().parse::<usize>().map_err(|_| {
            malformed_at(
                path,
                text,
                0,
                format!(
                    "<opensearch:totalResults> is `{}`, not a number",
                    raw.trim()
                ),
            )
        })?),
        None => None,
    };
    let entries = feed.entries.len();
    let date = if total_results.is_some() {
        // A search answer is not a listing: it has no day of its own.
        None
    } else {
        listing_date(&feed)
    };
    let (papers, skipped) = super::collect_papers(feed.entries, paper_from_entry);
    Ok(AtomFeed {
        list: PaperList {
            papers,
            skipped,
            format: Format::Atom,
            date,
        },
        total_results,
        entries,
    })
}

/// The listing's announcement day: the newest entry's `<published>` (arXiv's announcement
/// date), else the feed's `<updated>`, each in its own offset.
fn listing_date(feed: &Feed) -> Option<NaiveDate> {
    let day = |s: &str| {
        DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|d| d.date_naive())
    };
    feed.entries
        .iter()
        .filter_map(|e| day(&e.published))
        .max()
        .or_else(|| day(&feed.updated))
}

/// Links an author comment gives: a GitHub repository as code, a URL after "project page",
/// "website" or "homepage" as the project page.
fn links_from_comment(comment: &str) -> (Option<HttpUrl>, Option<HttpUrl>) {
    let mut code = None;
    let mut project = None;
    let lower = comment.to_lowercase();
    for (i, token) in comment.split_whitespace().enumerate() {
        let token = token.trim_end_matches(['.', ',', ';', ')']);
        if !token.starts_with("http") {
            continue;
        }
        let Some(url) = HttpUrl::parse_opt(Some(token)) else {
            continue;
        };
        if url.as_str().starts_with("https://github.com/") && code.is_none() {
            code = Some(url);
        } else if project.is_none() {
            let before: String = lower
                .split_whitespace()
                .take(i)
                .collect::<Vec<_>>()
                .join(" ");
            if ["project page", "website", "homepage", "project:"]
                .iter()
                .any(|w| before.ends_with(w) || before.ends_with(&format!("{w}:")))
            {
                project = Some(url);
            }
        }
    }
    (code, project)
}

fn paper_from_entry(e: Entry) -> Option<Paper> {
    let title = if e.title_html {
        html_to_text(&e.title)
    } else {
        e.title.clone()
    };
    let title = clean_text(&title);
    let summary = if e.summary_html {
        html_to_text(&e.summary)
    } else {
        plain(&e.summary)
    };
    let (header, abstract_raw) = split_arxiv_description(&summary);
    let abstract_text = clean_text(abstract_raw);
    if title.is_empty() || abstract_text.is_empty() {
        return None;
    }
    let found = arxiv_id_in_url(&e.id)
        .or_else(|| header.id.and_then(|s| PaperId::parse(s).ok()))
        .or_else(|| arxiv_id_in_url(&e.alternate))
        .or_else(|| arxiv_id_in_text(&e.summary));
    let id = found.clone().unwrap_or_else(|| PaperId::from_title(&title));
    let mut p = Paper::new(id, title, abstract_text);
    p.links = links_from_page(&e.alternate, found.as_ref());
    if found.is_none() {
        p.links.pdf = HttpUrl::parse_opt(Some(&e.pdf));
    }
    let (code, project) = links_from_comment(&e.comment);
    p.links.code = code;
    p.links.project = project;
    p.authors = if e.authors.is_empty() {
        split_authors(&e.creator)
    } else {
        e.authors
            .iter()
            .map(|a| clean_text(a))
            .filter(|a| !a.is_empty())
            .collect()
    };
    let mut categories: Vec<String> = Vec::new();
    for c in std::iter::once(&e.primary_category).chain(&e.categories) {
        let c = clean_text(c);
        if !c.is_empty() && !categories.contains(&c) {
            categories.push(c);
        }
    }
    p.categories = categories;
    p.announce_type = Some(clean_text(&e.announce_type))
        .filter(|t| !t.is_empty())
        .or_else(|| header.announce_type.map(str::to_owned));
    let time = |s: &str| {
        DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|d| d.with_timezone(&Utc))
    };
    p.published_at = time(&e.published).or_else(|| time(&e.updated));
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AtomFeed, SourceError> {
        parse_feed(text, Path::new("feed.xml"))
    }

    const API_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<opensearch:totalResults xmlns:opensearch=\"http://a9.com/-/spec/opensearch/1.1/\">2</opensearch:totalResults>\n";

    #[test]
    fn an_api_entry_with_everything() {
        let text = format!(
            "{API_HEAD}<entry><id>http://arxiv.org/abs/2405.10000v2</id>\
             <updated>2024-05-27T10:00:00Z</updated><published>2024-05-20T17:59:59Z</published>\
             <title>Diffusion\n  Models &amp; Friends</title><summary>  We\nshow things.\n</summary>\
             <author><name>Ada Lovelace</name><arxiv:affiliation xmlns:arxiv=\"http://arxiv.org/schemas/atom\">X</arxiv:affiliation></author>\
             <author><name>Alan Turing</name></author>\
             <arxiv:comment xmlns:arxiv=\"http://arxiv.org/schemas/atom\">12 pages. Code: https://github.com/a/b. Project page: https://a.github.io/b</arxiv:comment>\
             <link href=\"http://arxiv.org/abs/2405.10000v2\" rel=\"alternate\" type=\"text/html\"/>\
             <link title=\"pdf\" href=\"http://arxiv.org/pdf/2405.10000v2\" rel=\"related\" type=\"application/pdf\"/>\
             <arxiv:primary_category xmlns:arxiv=\"http://arxiv.org/schemas/atom\" term=\"cs.LG\" scheme=\"http://arxiv.org/schemas/atom\"/>\
             <category term=\"cs.CV\" scheme=\"http://arxiv.org/schemas/atom\"/><category term=\"cs.LG\"/></entry></feed>"
        );
        let feed = parse(&text).unwrap();
        assert_eq!((feed.total_results, feed.entries), (Some(2), 1));
        assert_eq!(feed.list.date, None, "a search answer has no day");
        let p = &feed.list.papers[0];
        assert_eq!(p.id.as_str(), "2405.10000");
        assert_eq!(p.title, "Diffusion Models & Friends");
        assert_eq!(p.abstract_text, "We show things.");
        assert_eq!(p.authors, ["Ada Lovelace", "Alan Turing"]);
        assert_eq!(p.categories, ["cs.LG", "cs.CV"]);
        assert_eq!(
            p.links.abs.as_ref().map(HttpUrl::as_str),
            Some("https://arxiv.org/abs/2405.10000")
        );
        assert_eq!(p.links.pdf, None, "derived from the id, without version");
        assert_eq!(
            p.links.code.as_ref().map(HttpUrl::as_str),
            Some("https://github.com/a/b")
        );
        assert_eq!(
            p.links.project.as_ref().map(HttpUrl::as_str),
            Some("https://a.github.io/b")
        );
        assert_eq!(
            p.published_at.unwrap().to_rfc3339(),
            "2024-05-20T17:59:59+00:00"
        );
    }

    #[test]
    fn an_api_error_is_an_error_with_its_position() {
        let text = format!(
            "{API_HEAD}<entry>\n<id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>\
             <title>Error</title><summary>incorrect id format for 1234.12345</summary></entry></feed>"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert_eq!(
            err,
            "feed.xml:4:1: the arXiv API refused the query: incorrect id format for 1234.12345"
        );
    }

    #[test]
    fn a_listing_has_its_announcement_day_and_html_becomes_text() {
        let text = "<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns:arxiv=\"http://arxiv.org/schemas/atom\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns=\"http://www.w3.org/2005/Atom\">\
            <id>http://rss.arxiv.org/atom/cs.LG</id><updated>2024-05-27T04:00:00.000000+00:00</updated>\
            <entry><id>oai:arXiv.org:2405.14872v2</id><title>T</title>\
            <link href=\"https://arxiv.org/abs/2405.14872\" rel=\"alternate\" type=\"text/html\"/>\
            <summary>arXiv:2405.14872v2 Announce Type: replace \nAbstract: A $x&lt;y$ bound.</summary>\
            <category term=\"cs.LG\"/><published>2024-05-27T00:00:00-04:00</published>\
            <arxiv:announce_type>replace</arxiv:announce_type><dc:creator>A One, B Two and C Three</dc:creator></entry>\
            <entry><id>tag:example.org,2024:1</id><title type=\"html\">&lt;i&gt;Fancy&lt;/i&gt; title</title>\
            <content type=\"html\">&lt;p&gt;See &lt;a href=\"https://arxiv.org/abs/2405.00001\"&gt;arXiv:2405.00001&lt;/a&gt;&lt;/p&gt;</content></entry></feed>";
        let feed = parse(text).unwrap();
        assert_eq!(feed.total_results, None);
        assert_eq!(feed.list.date, NaiveDate::from_ymd_opt(2024, 5, 27));
        let p = &feed.list.papers[0];
        assert_eq!(p.id.as_str(), "2405.14872");
        assert_eq!(p.abstract_text, "A $x<y$ bound.");
        assert_eq!(p.announce_type.as_deref(), Some("replace"));
        assert_eq!(p.authors, ["A One", "B Two", "C Three"]);
        let q = &feed.list.papers[1];
        assert_eq!(q.title, "Fancy title");
        assert_eq!(q.abstract_text, "See arXiv:2405.00001");
        assert_eq!(q.id.as_str(), "2405.00001");
    }

    #[test]
    fn not_atom_and_truncated_atom_are_positioned_errors() {
        let err = parse("<rss version=\"2.0\"></rss>")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an Atom feed"), "{err}");
        let err = parse(&format!("{API_HEAD}<entry><title>T</title>"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ends inside <entry> opened at feed.xml:4:1"),
            "{err}"
        );
    }
}
