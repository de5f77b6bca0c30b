//! RSS 2.0 feeds as papers: arXiv's listings (`https://rss.arxiv.org/rss/cs.LG`) and anyone
//! else's feed of papers (Hugging Face paper feeds, mirrors, aggregators).
//!
//! An arXiv `<item>` carries the title, the abs link, a description of the form
//! `arXiv:2405.20000v1 Announce Type: new \nAbstract: …`, authors comma-separated in
//! `<dc:creator>`, one `<category>` per category and `<arxiv:announce_type>`. Other feeds put
//! the arXiv id in the link or guid (`huggingface.co/papers/2506.14965`) or only in the text,
//! and their descriptions are often HTML: the id is looked for everywhere ([`feed_text`]) so
//! the paper merges with the same paper from another source, and HTML becomes text. Read with
//! quick-xml directly (rather than a generic feed parser) to keep the arXiv extension elements
//! and to report malformed or truncated XML with its line and column. A feed with no items is a
//! valid empty list: arXiv announces nothing on weekends.
//!
//! [`feed_text`]: super::feed_text

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;

use super::feed_text::{arxiv_id_in_text, arxiv_id_in_url, plain, split_arxiv_description};
use super::{Format, PaperList, SourceError, clean_text, malformed_at};
use crate::paper::{Paper, PaperId};

#[derive(Default)]
struct Item {
    title: String,
    link: String,
    description: String,
    guid: String,
    categories: Vec<String>,
    pub_date: String,
    announce_type: String,
    creator: String,
    author: String,
    content: String,
}

/// Which field of an item the current text belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Title,
    Link,
    Description,
    Guid,
    Category,
    PubDate,
    AnnounceType,
    Creator,
    Author,
    Content,
    /// The channel's own `<pubDate>`: the day the listing is for.
    ChannelPubDate,
}

pub(super) fn parse(text: &str, path: &Path) -> Result<PaperList, SourceError> {
    let mut reader = Reader::from_str(text);
    let mut feed = Feed {
        path,
        text,
        stack: Vec::new(),
        saw_rss: false,
        items: Vec::new(),
        current: None,
        field: None,
        buf: String::new(),
        channel_date: String::new(),
    };
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
            Event::Start(e) => feed.start(&e, start)?,
            Event::End(_) => feed.end(start)?,
            Event::Eof => break,
            other if feed.field.is_some() => {
                append_text(&other, &mut feed.buf).map_err(|e| xml_error(&reader, e))?;
            }
            _ => {}
        }
    }
    feed.finish()
}

/// The feed read so far.
struct Feed<'a> {
    path: &'a Path,
    text: &'a str,
    /// Open elements (local names) and where each started.
    stack: Vec<(String, usize)>,
    saw_rss: bool,
    items: Vec<Item>,
    current: Option<Item>,
    /// The field whose text is being read into `buf`.
    field: Option<Field>,
    buf: String,
    channel_date: String,
}

impl Feed<'_> {
    fn start(
        &mut self,
        e: &quick_xml::events::BytesStart<'_>,
        start: usize,
    ) -> Result<(), SourceError> {
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        if self.stack.is_empty() {
            if !local.eq_ignore_ascii_case("rss") && !local.eq_ignore_ascii_case("rdf") {
                return Err(malformed_at(
                    self.path,
                    self.text,
                    start,
                    format!("not an RSS feed: the root element is <{name}>"),
                ));
            }
            self.saw_rss = true;
        }
        let parent = self.stack.last().map(|(n, _)| n.as_str());
        if local == "item" {
            self.current = Some(Item::default());
        } else if self.current.is_some() && parent == Some("item") {
            self.field = match (name.as_str(), local.as_str()) {
                ("title", _) => Some(Field::Title),
                ("link", _) => Some(Field::Link),
                ("description", _) => Some(Field::Description),
                ("guid", _) => Some(Field::Guid),
                ("category", _) => Some(Field::Category),
                ("pubDate", _) => Some(Field::PubDate),
                ("author", _) => Some(Field::Author),
                ("content:encoded", _) => Some(Field::Content),
                (_, "announce_type") => Some(Field::AnnounceType),
                (_, "creator") => Some(Field::Creator),
                _ => None,
            };
            self.buf.clear();
        } else if parent == Some("channel") && name == "pubDate" {
            self.field = Some(Field::ChannelPubDate);
            self.buf.clear();
        }
        self.stack.push((local, start));
        Ok(())
    }

    fn end(&mut self, start: usize) -> Result<(), SourceError> {
        let Some((local, _)) = self.stack.pop() else {
            return Err(malformed_at(
                self.path,
                self.text,
                start,
                "unexpected closing tag",
            ));
        };
        if let Some(f) = self.field.take() {
            let value = std::mem::take(&mut self.buf);
            if f == Field::ChannelPubDate {
                self.channel_date = value;
            } else if let Some(item) = self.current.as_mut() {
                item.set(f, value);
            }
        } else if local == "item"
            && let Some(item) = self.current.take()
        {
            self.items.push(item);
        }
        Ok(())
    }

    /// The papers, once the whole text is read: a feed that stops inside an element was cut.
    fn finish(self) -> Result<PaperList, SourceError> {
        let (path, text) = (self.path, self.text);
        if let Some((name, offset)) = self.stack.last() {
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
        if !self.saw_rss {
            return Err(malformed_at(
                path,
                text,
                0,
                "not an RSS feed: no <rss> element",
            ));
        }
        let (papers, skipped) = super::collect_papers(self.items, paper_from_item);
        Ok(PaperList {
            papers,
            skipped,
            format: Format::ArxivRss,
            date: rfc2822_date(&self.channel_date),
        })
    }
}

impl Item {
    fn set(&mut self, field: Field, value: String) {
        match field {
            Field::Title => self.title = value,
            Field::Link => self.link = value,
            Field::Description => self.description = value,
            Field::Guid => self.guid = value,
            Field::Category => self.categories.push(value),
            Field::PubDate => self.pub_date = value,
            Field::AnnounceType => self.announce_type = value,
            Field::Creator => self.creator = value,
            Field::Author => self.author = value,
            Field::Content => self.content = value,
            Field::ChannelPubDate => {}
        }
    }
}

/// Adds the text an event carries (text, CDATA, a character or entity reference) to `buf`.
pub(super) fn append_text(event: &Event<'_>, buf: &mut String) -> Result<(), String> {
    match event {
        Event::Text(t) => buf.push_str(&t.xml10_content().map_err(|e| e.to_string())?),
        Event::CData(t) => buf.push_str(&t.decode().map_err(|e| e.to_string())?),
        Event::GeneralRef(r) => {
            if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
                buf.push(c);
            } else {
                let name = r.decode().map_err(|e| e.to_string())?;
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
        _ => {}
    }
    Ok(())
}

/// The day of an RFC 2822 date as written (in its own offset: arXiv's listing day).
fn rfc2822_date(s: &str) -> Option<NaiveDate> {
    DateTime::parse_from_rfc2822(s.trim())
        .ok()
        .map(|d| d.date_naive())
}

/// `Name` from RSS's `<author>email (Name)</author>`, else the text as it is.
fn rss_author(raw: &str) -> &str {
    let raw = raw.trim();
    match (raw.find('('), raw.rfind(')')) {
        (Some(open), Some(close)) if open < close && raw[..open].contains('@') => {
            raw[open + 1..close].trim()
        }
        _ => raw,
    }
}

/// `ai summary  AI-generated summary  abstract` (the Hugging Face paper page as text, which
/// some feeds copy): the AI summary and the abstract, apart.
fn split_ai_summary(text: &str) -> (Option<String>, &str) {
    const MARK: &str = "AI-generated summary";
    match text.find(MARK) {
        Some(i) if i > 0 => {
            let summary = clean_text(&text[..i]);
            (
                Some(summary).filter(|s| !s.is_empty()),
                &text[i + MARK.len()..],
            )
        }
        _ => (None, text),
    }
}

/// Whether the item is from arXiv's own listing (its description is text, never HTML).
fn is_arxiv_item(item: &Item) -> bool {
    !item.announce_type.trim().is_empty() || item.description.contains("Announce Type:")
}

fn paper_from_item(item: Item) -> Option<Paper> {
    let arxiv = is_arxiv_item(&item);
    let description = if item.description.trim().is_empty() {
        &item.content
    } else {
        &item.description
    };
    let (title, text) = if arxiv {
        (clean_text(&item.title), description.clone())
    } else {
        (clean_text(&plain(&item.title)), plain(description))
    };
    let (header, rest) = split_arxiv_description(&text);
    let (ai_summary, abstract_raw) = if arxiv {
        (None, rest)
    } else {
        split_ai_summary(rest)
    };
    let abstract_text = clean_text(abstract_raw);
    if title.is_empty() || abstract_text.is_empty() {
        return None;
    }
    let found = header
        .id
        .and_then(|s| PaperId::parse(s).ok())
        .or_else(|| arxiv_id_in_url(&item.guid))
        .or_else(|| arxiv_id_in_url(&item.link))
        .or_else(|| arxiv_id_in_text(description))
        .or_else(|| arxiv_id_in_text(&item.title));
    let id = found.clone().unwrap_or_else(|| PaperId::from_title(&title));
    let mut p = Paper::new(id, title, abstract_text);
    p.links = super::feed_text::links_from_page(&item.link, found.as_ref());
    let creators = if item.creator.trim().is_empty() {
        rss_author(&item.author)
    } else {
        &item.creator
    };
    p.authors = split_authors(creators);
    p.categories = item
        .categories
        .iter()
        .map(|c| clean_text(c))
        .filter(|c| !c.is_empty())
        .collect();
    p.announce_type = Some(clean_text(&item.announce_type))
        .filter(|t| !t.is_empty())
        .or_else(|| header.announce_type.map(str::to_owned));
    p.ai_summary = ai_summary;
    p.published_at = DateTime::parse_from_rfc2822(item.pub_date.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc));
    Some(p)
}

/// `A, B and C` (arXiv's `dc:creator`) as names.
pub(super) fn split_authors(s: &str) -> Vec<String> {
    s.split(',')
        .flat_map(|a| a.split(" and "))
        .map(clean_text)
        .filter(|a| !a.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "<?xml version='1.0' encoding='UTF-8'?>\n<rss xmlns:arxiv=\"http://arxiv.org/schemas/atom\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" version=\"2.0\"><channel><title>x</title><pubDate>Mon, 27 May 2024 00:00:00 -0400</pubDate>\n";

    fn p(text: &str) -> Result<PaperList, SourceError> {
        parse(text, Path::new("feed.xml"))
    }

    #[test]
    fn an_item_with_everything() {
        let text = format!(
            "{HEAD}<item><title>Fast &amp; Small &lt;script&gt;</title><link>https://arxiv.org/abs/2405.20000</link>\
             <description>arXiv:2405.20000v3 Announce Type: replace-cross \nAbstract: We &#8220;show&#8221;\n things.</description>\
             <guid isPermaLink=\"false\">oai:arXiv.org:2405.20000v3</guid><category>cs.LG</category><category>cs.CV</category>\
             <pubDate>Mon, 27 May 2024 00:00:00 -0400</pubDate><arxiv:announce_type>replace-cross</arxiv:announce_type>\
             <dc:creator>Ada Lovelace, Alan Turing and Grace Hopper</dc:creator></item></channel></rss>"
        );
        let list = p(&text).unwrap();
        assert_eq!(list.date, NaiveDate::from_ymd_opt(2024, 5, 27));
        let paper = &list.papers[0];
        assert_eq!(paper.id.as_str(), "2405.20000");
        assert_eq!(paper.title, "Fast & Small <script>");
        assert_eq!(paper.abstract_text, "We \u{201c}show\u{201d} things.");
        assert_eq!(
            paper.authors,
            ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
        );
        assert_eq!(paper.categories, ["cs.LG", "cs.CV"]);
        assert_eq!(paper.announce_type.as_deref(), Some("replace-cross"));
        assert_eq!(
            paper.links.abs.as_ref().unwrap().as_str(),
            "https://arxiv.org/abs/2405.20000"
        );
        assert_eq!(
            paper.published_at.unwrap().to_rfc3339(),
            "2024-05-27T04:00:00+00:00"
        );
    }

    #[test]
    fn id_and_type_fall_back_to_description_and_guid() {
        let text = format!(
            "{HEAD}<item><title>T</title><link>javascript:alert(1)</link>\
             <description>arXiv:2405.20001v1 Announce Type: cross\nAbstract: A</description></item>\
             <item><title>T2</title><description><![CDATA[Just <b>an</b> abstract]]></description>\
             <guid>oai:arXiv.org:2405.20002v2</guid></item></channel></rss>"
        );
        let list = p(&text).unwrap();
        assert_eq!(list.papers[0].id.as_str(), "2405.20001");
        assert_eq!(list.papers[0].announce_type.as_deref(), Some("cross"));
        assert_eq!(list.papers[0].links.abs, None);
        assert_eq!(list.papers[1].id.as_str(), "2405.20002");
        // Not arXiv's own listing (no announce type): its HTML becomes text.
        assert_eq!(list.papers[1].abstract_text, "Just an abstract");
    }

    #[test]
    fn no_items_is_an_empty_list_and_bad_items_are_counted() {
        let list = p(&format!("{HEAD}</channel></rss>")).unwrap();
        assert!(list.papers.is_empty());
        let list = p(&format!(
            "{HEAD}<item><title></title><description>Abstract: A</description></item></channel></rss>"
        ))
        .unwrap();
        assert_eq!((list.papers.len(), list.skipped), (0, 1));
    }

    #[test]
    fn truncated_and_mismatched_xml_have_positions() {
        let err = p(&format!("{HEAD}<item><title>T</title>")).unwrap_err();
        let s = err.to_string();
        assert!(
            s.contains("ends inside <item> opened at feed.xml:3:1"),
            "{s}"
        );
        let err = p(&format!(
            "{HEAD}<item><title>T</link></item></channel></rss>"
        ))
        .unwrap_err();
        assert!(err.to_string().starts_with("feed.xml:3:"), "{err}");
        assert!(err.to_string().contains("malformed XML"), "{err}");
    }
}
