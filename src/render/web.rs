//! The web archive's pages: an edition's whole digest (every paper, no cap, nobody's name or
//! unsubscribe link), the listing pages, and the Atom feed.
//!
//! Pure, like the email: the archive module reads the state and hands over plain data; the same
//! data always gives the same bytes (no clock, no randomness, stable order). The templates are
//! `templates/web/*` of the same family as the email's, compiled in and overridable file by file
//! from `[templates] dir` (`web/edition.html.hbs`, …). Every link a page holds is relative, so
//! the site works under any path prefix and from `file://`; the feed alone names the public URL
//! (`xml:base`, entry ids), as feed readers need.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use handlebars::Handlebars;
use serde::{Deserialize, Serialize};

use super::anchor::{paper_anchor, section_anchors};
use super::model::{PaperModel, paper_model};
use super::{RenderError, Templates, escape_html, normalize_html, render_error, template_error};
use crate::config::DigestSettings;
use crate::paper::{Paper, PaperId};

/// The web templates, by the registry name each gets (`web/<name>.html.hbs` or `.xml.hbs`).
const PAGES: &[(&str, &str)] = &[
    ("edition", "web/edition.html.hbs"),
    ("index", "web/index.html.hbs"),
    ("feed", "web/feed.xml.hbs"),
    ("feed-entry", "web/feed-entry.html.hbs"),
];

/// The archive's identity, as its pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub title: String,
    /// The archive's public URL without a trailing slash (the feed's base and ids).
    pub base_url: String,
}

/// One archived edition's contents: its sections, each with its papers by rank.
#[derive(Debug, Clone, PartialEq)]
pub struct EditionContent {
    pub id: String,
    pub date: NaiveDate,
    /// When the edition was first complete.
    pub published: DateTime<Utc>,
    pub sections: Vec<ContentSection>,
    /// Papers that matched no section while the catch-all was off (left out).
    pub unmatched: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContentSection {
    pub name: String,
    pub papers: Vec<Paper>,
}

/// An edition as a listing, the feed and the neighbours' links show it; also one record of
/// the archive's `editions.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedEdition {
    pub id: String,
    pub date: NaiveDate,
    pub published: DateTime<Utc>,
    pub papers: usize,
    pub sections: Vec<ListedSection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedSection {
    pub name: String,
    pub anchor: String,
    pub papers: usize,
}

impl EditionContent {
    /// The edition as listings show it.
    pub fn listed(&self) -> ListedEdition {
        let anchors = section_anchors(self.sections.iter().map(|s| s.name.as_str()));
        ListedEdition {
            id: self.id.clone(),
            date: self.date,
            published: self.published,
            papers: self.sections.iter().map(|s| s.papers.len()).sum(),
            sections: self
                .sections
                .iter()
                .zip(anchors)
                .map(|(s, anchor)| ListedSection {
                    name: s.name.clone(),
                    anchor,
                    papers: s.papers.len(),
                })
                .collect(),
        }
    }
}

/// One listing page: `index.html` (the newest editions) or `pages/<n>.html` (a range).
#[derive(Debug, Clone)]
pub struct Listing<'a> {
    /// Newest first.
    pub editions: &'a [ListedEdition],
    /// The way from this page to the archive's root: `""` or `"../"`.
    pub root: &'static str,
    pub heading: String,
    /// On `index.html`: the range pages, newest first.
    pub ranges: Vec<PageLink>,
    pub newer: Option<PageLink>,
    pub older: Option<PageLink>,
}

/// A link to another listing page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageLink {
    pub label: String,
    pub url: String,
}

/// "Saturday, 28 November 2026".
fn long_date(date: NaiveDate) -> String {
    date.format("%A, %-d %B %Y").to_string()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "Federated Learning (8) · Graphs (6)".
fn contents_line(sections: &[ListedSection]) -> String {
    sections
        .iter()
        .map(|s| format!("{} ({})", s.name, s.papers))
        .collect::<Vec<_>>()
        .join(" · ")
}

#[derive(Debug, Serialize)]
struct SiteModel {
    title: String,
    base_url: String,
    /// The archive's root from this page: `""` or `"../"`.
    root: String,
}

#[derive(Debug, Serialize)]
struct EditionModel {
    id: String,
    date: String,
    iso_date: String,
    published: String,
    /// "48 papers".
    count: String,
    contents: String,
    /// This edition's page, from the archive's root.
    url: String,
}

impl EditionModel {
    fn of(e: &ListedEdition, root: &str) -> Self {
        Self {
            id: e.id.clone(),
            date: long_date(e.date),
            iso_date: e.date.to_string(),
            published: rfc3339(e.published),
            count: plural(e.papers, "paper", "papers"),
            contents: contents_line(&e.sections),
            url: format!("{root}{}/index.html", e.id),
        }
    }
}

#[derive(Debug, Serialize)]
struct SectionModel {
    name: String,
    anchor: String,
    /// "8 papers".
    count: String,
    /// 8.
    size: usize,
    papers: Vec<WebPaper>,
}

#[derive(Debug, Serialize)]
struct WebPaper {
    #[serde(flatten)]
    paper: PaperModel,
    anchor: String,
}

#[derive(Debug, Serialize)]
struct EditionPageModel {
    site: SiteModel,
    edition: EditionModel,
    sections: Vec<SectionModel>,
    notes: Vec<String>,
    prev: Option<EditionModel>,
    next: Option<EditionModel>,
    /// Whether there is a `prev` or a `next`.
    neighbours: bool,
}

#[derive(Debug, Serialize)]
struct ListingModel {
    site: SiteModel,
    heading: String,
    editions: Vec<EditionModel>,
    ranges: Vec<PageLink>,
    newer: Option<PageLink>,
    older: Option<PageLink>,
    /// Whether there is a `newer` or an `older`.
    pager: bool,
}

#[derive(Debug, Serialize)]
struct FeedModel {
    site: SiteModel,
    /// The newest entry's time (the feed's `updated`).
    updated: String,
    entries: Vec<FeedEntryModel>,
}

#[derive(Debug, Serialize)]
struct FeedEntryModel {
    edition: EditionModel,
    /// The edition page's public URL (the entry's id).
    id: String,
    /// The HTML of the edition's contents (escaped once more by the XML template).
    content: String,
}

/// The compiled web templates.
pub struct WebRenderer {
    reg: Handlebars<'static>,
    digest: DigestSettings,
    /// The web templates' sources and paths, for error positions.
    files: BTreeMap<String, (String, PathBuf)>,
}

impl std::fmt::Debug for WebRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebRenderer")
    }
}

impl WebRenderer {
    /// Compiles the web templates and renders a fixture through each in strict mode, so that a
    /// template naming a field that does not exist fails here with its file, line and column.
    pub fn new(templates: &Templates, digest: &DigestSettings) -> Result<Self, RenderError> {
        let mut reg = Handlebars::new();
        reg.register_escape_fn(escape_html);
        reg.set_prevent_indent(true);
        for (name, (src, _)) in &templates.files {
            let Some(rest) = name.strip_prefix("web/") else {
                continue;
            };
            let result = if let Some(partial) = rest.strip_prefix("partials/") {
                let Some(stem) = partial.strip_suffix(".html.hbs") else {
                    continue;
                };
                reg.register_partial(stem, src.as_str())
            } else if let Some((page, _)) = PAGES.iter().find(|(_, file)| file == name) {
                reg.register_template_string(page, src.as_str())
            } else {
                continue;
            };
            result.map_err(|e| template_error(&templates.files, name, &e))?;
        }
        let renderer = Self {
            reg,
            digest: digest.clone(),
            files: templates
                .files
                .iter()
                .filter(|(name, _)| name.starts_with("web/"))
                .map(|(n, f)| (n.clone(), f.clone()))
                .collect(),
        };
        renderer.check_strict()?;
        Ok(renderer)
    }

    fn check_strict(&self) -> Result<(), RenderError> {
        let mut strict = Self {
            reg: self.reg.clone(),
            digest: self.digest.clone(),
            files: self.files.clone(),
        };
        strict.reg.set_strict_mode(true);
        let site = Site {
            title: "Fixture".into(),
            base_url: "https://digest.example.org/archive".into(),
        };
        let content = fixture();
        let listed = content.listed();
        let all = [listed.clone(), listed.clone()];
        let link = PageLink {
            label: "a range".into(),
            url: "pages/1.html".into(),
        };
        let listing = Listing {
            editions: &all,
            root: "../",
            heading: "Editions".into(),
            ranges: vec![link.clone()],
            newer: Some(link.clone()),
            older: Some(link),
        };
        strict.edition_page(&site, &content, Some(&listed), Some(&listed))?;
        strict.listing(&site, &listing)?;
        let entry = strict.feed_entry(&content)?;
        strict.feed(&site, &[(listed, entry)])?;
        Ok(())
    }

    fn render(&self, name: &str, data: &impl Serialize) -> Result<String, RenderError> {
        let file = PAGES
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(name, |(_, f)| f);
        self.reg
            .render(name, data)
            .map(|s| normalize_html(&s))
            .map_err(|e| render_error(&self.files, file, &e))
    }

    /// `<edition>/index.html`: the whole digest, an anchor per section and per paper, and
    /// links to the editions before and after it.
    pub fn edition_page(
        &self,
        site: &Site,
        content: &EditionContent,
        prev: Option<&ListedEdition>,
        next: Option<&ListedEdition>,
    ) -> Result<String, RenderError> {
        let listed = content.listed();
        let model = EditionPageModel {
            site: self.site(site, "../"),
            edition: EditionModel::of(&listed, "../"),
            sections: self.sections(content, &listed),
            notes: notes(content),
            prev: prev.map(|e| EditionModel::of(e, "../")),
            next: next.map(|e| EditionModel::of(e, "../")),
            neighbours: prev.is_some() || next.is_some(),
        };
        self.render("edition", &model)
    }

    /// A listing page: `index.html` or one of `pages/<n>.html`.
    pub fn listing(&self, site: &Site, listing: &Listing<'_>) -> Result<String, RenderError> {
        let model = ListingModel {
            site: self.site(site, listing.root),
            heading: listing.heading.clone(),
            editions: listing
                .editions
                .iter()
                .map(|e| EditionModel::of(e, listing.root))
                .collect(),
            ranges: listing.ranges.clone(),
            newer: listing.newer.clone(),
            older: listing.older.clone(),
            pager: listing.newer.is_some() || listing.older.is_some(),
        };
        self.render("index", &model)
    }

    /// The HTML that goes into an edition's feed entry.
    pub fn feed_entry(&self, content: &EditionContent) -> Result<String, RenderError> {
        let listed = content.listed();
        let model = EditionPageModel {
            site: SiteModel {
                title: String::new(),
                base_url: String::new(),
                root: String::new(),
            },
            edition: EditionModel::of(&listed, ""),
            sections: self.sections(content, &listed),
            notes: notes(content),
            prev: None,
            next: None,
            neighbours: false,
        };
        self.render("feed-entry", &model)
    }

    /// `feed.xml`: Atom 1.0, one entry per edition given (newest first), each with its content.
    pub fn feed(
        &self,
        site: &Site,
        entries: &[(ListedEdition, String)],
    ) -> Result<String, RenderError> {
        let updated = entries
            .iter()
            .map(|(e, _)| e.published)
            .max()
            .unwrap_or(DateTime::UNIX_EPOCH);
        let model = FeedModel {
            site: self.site(site, ""),
            updated: rfc3339(updated),
            entries: entries
                .iter()
                .map(|(e, content)| FeedEntryModel {
                    edition: EditionModel::of(e, ""),
                    id: format!("{}/{}/", site.base_url, e.id),
                    content: content.clone(),
                })
                .collect(),
        };
        self.render("feed", &model)
    }

    fn site(&self, site: &Site, root: &str) -> SiteModel {
        SiteModel {
            title: site.title.clone(),
            base_url: site.base_url.clone(),
            root: root.to_owned(),
        }
    }

    fn sections(&self, content: &EditionContent, listed: &ListedEdition) -> Vec<SectionModel> {
        content
            .sections
            .iter()
            .zip(&listed.sections)
            .map(|(s, l)| SectionModel {
                name: s.name.clone(),
                anchor: l.anchor.clone(),
                count: plural(s.papers.len(), "paper", "papers"),
                size: s.papers.len(),
                papers: s
                    .papers
                    .iter()
                    .map(|p| WebPaper {
                        paper: paper_model(p, &self.digest),
                        anchor: paper_anchor(&p.id),
                    })
                    .collect(),
            })
            .collect()
    }
}

fn notes(content: &EditionContent) -> Vec<String> {
    if content.unmatched == 0 {
        return Vec::new();
    }
    vec![format!(
        "{} matched no section and {} not in this edition.",
        plural(content.unmatched, "paper", "papers"),
        if content.unmatched == 1 { "is" } else { "are" }
    )]
}

/// An edition in which every field has a value, for strict-mode template checks.
fn fixture() -> EditionContent {
    let mut paper = Paper::new(
        PaperId::parse("2405.10000").expect("a valid id"),
        "A fixture paper",
        "An abstract.",
    );
    paper.authors = vec!["Ada Lovelace".into()];
    paper.upvotes = Some(42);
    EditionContent {
        id: "2026-11-28".into(),
        date: NaiveDate::from_ymd_opt(2026, 11, 28).expect("a valid date"),
        published: DateTime::UNIX_EPOCH,
        sections: vec![ContentSection {
            name: "Fixture section".into(),
            papers: vec![paper],
        }],
        unmatched: 1,
    }
}
