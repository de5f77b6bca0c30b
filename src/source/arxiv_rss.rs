//! arXiv's RSS 2.0 listings (`https://rss.arxiv.org/rss/cs.LG`) as papers.
//!
//! Each `<item>` carries the title, the abs link, a description of the form
//! `arXiv:2405.20000v1 Announce Type: new \nAbstract: …`, authors comma-separated in
//! `<dc:creator>`, one `<category>` per category and `<arxiv:announce_type>`. Read with
//! quick-xml directly (rather than a generic feed parser) to keep the arXiv extension elements
//! and to report malformed or truncated XML with its line and column. A feed with no items is a
//! valid empty list: arXiv announces nothing on weekends.

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;

use super::{Format, PaperList, SourceError, clean_text, malformed_at};
use crate::paper::{HttpUrl, Paper, PaperId};

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
    /// The channel's own `<pubDate>`: the day the listing is for.
    ChannelPubDate,
}

pub(super) fn parse(text: &str, path: &Path) -> Result<PaperList, SourceError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut saw_rss = false;
    let mut items: Vec<Item> = Vec::new();
    let mut current: Option<Item> = None;
    let mut field: Option<Field> = None;
    let mut buf = String::new();
    let mut channel_date = String::new();

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
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if stack.is_empty() {
                    if !local.eq_ignore_ascii_case("rss") && !local.eq_ignore_ascii_case("rdf") {
                        return Err(malformed_at(
                            path,
                            text,
                            start,
                            format!("not an RSS feed: the root element is <{name}>"),
                        ));
                    }
                    saw_rss = true;
                }
                let parent = stack.last().map(|(n, _)| n.as_str());
                if local == "item" {
                    current = Some(Item::default());
                } else if current.is_some() && parent == Some("item") {
                    field = match (name.as_str(), local.as_str()) {
                        ("title", _) => Some(Field::Title),
                        ("link", _) => Some(Field::Link),
                        ("description", _) => Some(Field::Description),
                        ("guid", _) => Some(Field::Guid),
                        ("category", _) => Some(Field::Category),
                        ("pubDate", _) => Some(Field::PubDate),
                        (_, "announce_type") => Some(Field::AnnounceType),
                        (_, "creator") => Some(Field::Creator),
                        _ => None,
                    };
                    buf.clear();
                } else if parent == Some("channel") && name == "pubDate" {
                    field = Some(Field::ChannelPubDate);
                    buf.clear();
                }
                stack.push((local, start));
            }
            Event::End(_) => {
                let Some((local, _)) = stack.pop() else {
                    return Err(malformed_at(path, text, start, "unexpected closing tag"));
                };
                if let Some(f) = field.take() {
                    let value = std::mem::take(&mut buf);
                    if f == Field::ChannelPubDate {
                        channel_date = value;
                    } else if let Some(item) = current.as_mut() {
                        match f {
                            Field::Title => item.title = value,
                            Field::Link => item.link = value,
                            Field::Description => item.description = value,
                            Field::Guid => item.guid = value,
                            Field::Category => item.categories.push(value),
                            Field::PubDate => item.pub_date = value,
                            Field::AnnounceType => item.announce_type = value,
                            Field::Creator => item.creator = value,
                            Field::ChannelPubDate => {}
                        }
                    }
                } else if local == "item"
                    && let Some(item) = current.take()
                {
                    items.push(item);
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
    if !saw_rss {
        return Err(malformed_at(
            path,
            text,
            0,
            "not an RSS feed: no <rss> element",
        ));
    }

    let (papers, skipped) = super::collect_papers(items, paper_from_item);
    Ok(PaperList {
        papers,
        skipped,
        format: Format::ArxivRss,
        date: rfc2822_date(&channel_date),
    })
}

/// The day of an RFC 2822 date as written (in its own offset: arXiv's listing day).
fn rfc2822_date(s: &str) -> Option<NaiveDate> {
    DateTime::parse_from_rfc2822(s.trim())
        .ok()
        .map(|d| d.date_naive())
}

/// What the description says before `Abstract:`: the versioned id and the announce type.
struct Header<'a> {
    id: Option<&'a str>,
    announce_type: Option<&'a str>,
}

fn split_description(d: &str) -> (Header<'_>, &str) {
    let (head, abstract_text) = match d.find("Abstract:") {
        Some(i) => (&d[..i], &d[i + "Abstract:".len()..]),
        // Older listings: the description is the abstract alone.
        None => ("", d),
    };
    let id = head.split_whitespace().find_map(|w| {
        w.strip_prefix("arXiv:")
            .or_else(|| w.strip_prefix("arxiv:"))
    });
    let announce_type = head
        .find("Announce Type:")
        .map(|i| &head[i + "Announce Type:".len()..])
        .and_then(|rest| rest.split_whitespace().next());
    (Header { id, announce_type }, abstract_text)
}

fn paper_from_item(item: Item) -> Option<Paper> {
    let title = clean_text(&item.title);
    let (header, abstract_raw) = split_description(&item.description);
    let abstract_text = clean_text(abstract_raw);
    if title.is_empty() || abstract_text.is_empty() {
        return None;
    }
    let id = header
        .id
        .and_then(|s| PaperId::parse(s).ok())
        .or_else(|| {
            let g = item.guid.trim();
            let g = g.strip_prefix("oai:arXiv.org:").unwrap_or(g);
            PaperId::parse(g).ok()
        })
        .or_else(|| {
            let l = item.link.trim().trim_end_matches('/');
            l.rsplit_once("/abs/")
                .and_then(|(_, id)| PaperId::parse(id).ok())
        })
        .unwrap_or_else(|| PaperId::from_title(&title));
    let mut p = Paper::new(id, title, abstract_text);
    p.links.abs = HttpUrl::parse_opt(Some(&item.link));
    p.authors = item
        .creator
        .split(',')
        .flat_map(|a| a.split(" and "))
        .map(clean_text)
        .filter(|a| !a.is_empty())
        .collect();
    p.categories = item
        .categories
        .iter()
        .map(|c| clean_text(c))
        .filter(|c| !c.is_empty())
        .collect();
    p.announce_type = Some(clean_text(&item.announce_type))
        .filter(|t| !t.is_empty())
        .or_else(|| header.announce_type.map(str::to_owned));
    p.published_at = DateTime::parse_from_rfc2822(item.pub_date.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc));
    Some(p)
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
        assert_eq!(list.papers[1].abstract_text, "Just <b>an</b> abstract");
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
