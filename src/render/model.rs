//! The data the templates see: a subscriber's view turned into plain strings and numbers.
//!
//! Everything a template can name is built here, so that `paperwire check` can fill every field
//! in [`fixture`] and catch templates that name fields that do not exist. This is also where an
//! email accounts for what it leaves out, once: a line per section ("N more in Graphs") and one
//! closing line naming the causes ([`LeftOut`]) with numbers that add up.

use serde::Serialize;

use super::{EMAIL_SLOT, NAME_SLOT, PREFERENCES_SLOT, UNSUBSCRIBE_SLOT};
use crate::config::DigestSettings;
use crate::digest::{Digest, DigestView};
use crate::edition::EditionId;
use crate::paper::Paper;

/// The edition's identity, as the templates show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditionInfo {
    pub id: EditionId,
    pub date: chrono::NaiveDate,
    pub title: String,
    pub list_id: String,
    pub base_url: String,
    pub more_url: String,
    /// The `Reply-To` address, if the newsletter sets one.
    pub reply_to: Option<String>,
    /// The `From` address (where replies go without a `Reply-To`).
    pub from: String,
    /// The web archive's base URL. When set, each "N more in SECTION" line links to that
    /// section of the edition's archive page, `<archive_url>/<edition>/#<anchor>` (the archive
    /// renders the same sections with the same anchors), and "View in browser" links to the
    /// page. `None` without an `[archive]` table.
    pub archive_url: Option<String>,
}

impl EditionInfo {
    pub fn from_settings(
        settings: &crate::config::Settings,
        id: EditionId,
        date: chrono::NaiveDate,
    ) -> Self {
        Self {
            id,
            date,
            title: settings.newsletter.title.clone(),
            list_id: settings.newsletter.list_id.clone(),
            base_url: settings.newsletter.base_url.clone(),
            more_url: settings.newsletter.more_url.clone(),
            reply_to: settings
                .newsletter
                .reply_to
                .as_ref()
                .map(|m| m.email.to_string()),
            from: settings.newsletter.from.email.to_string(),
            archive_url: settings.archive.as_ref().map(|a| a.base_url.clone()),
        }
    }

    /// The footer's sentence about replies, true for this configuration.
    pub fn replies(&self) -> String {
        match &self.reply_to {
            Some(r) => format!("Replies reach the editors at {r}."),
            None if is_no_reply(&self.from) => {
                "This email comes from an address that takes no replies.".to_owned()
            }
            None => format!("Replies go to {}.", self.from),
        }
    }

    /// "Saturday, 28 November 2026".
    pub fn date_long(&self) -> String {
        self.date.format("%A, %-d %B %Y").to_string()
    }
}

/// Whether an address says it takes no replies (`no-reply@`, `noreply@`, `do-not-reply@`…).
fn is_no_reply(address: &str) -> bool {
    let local: String = address
        .split('@')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    [
        "noreply",
        "donotreply",
        "dontreply",
        "mailerdaemon",
        "bounce",
    ]
    .iter()
    .any(|w| local.contains(w))
}

/// What keeps papers of the edition out of one email, each paper counted once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeftOut {
    /// Over the cap of [`LeftOut::cap`].
    pub over_cap: usize,
    pub cap: Cap,
    /// Dropped to keep the HTML part under [`super::HTML_BUDGET_BYTES`].
    pub over_size: usize,
    /// In sections the reader did not choose.
    pub outside_topics: usize,
    /// In no section (the catch-all is off).
    pub no_section: usize,
}

/// Whose cap limits an email.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Cap {
    /// The reader's own `max_papers`.
    Reader(usize),
    /// The newsletter's `digest.max_papers`.
    Newsletter(usize),
    #[default]
    None,
}

impl LeftOut {
    pub fn total(&self) -> usize {
        self.over_cap + self.over_size + self.outside_topics + self.no_section
    }

    /// The closing line: how many papers are not in this email and why, or `None` when all
    /// are in it. With one cause the cause is named; with several, each with its number, so
    /// the numbers add up to the total.
    pub fn sentence(&self) -> Option<String> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let cap_phrase = match self.cap {
            Cap::Reader(n) => format!(
                "over your limit of {n} {} per email",
                plural(n, "paper", "papers")
            ),
            Cap::Newsletter(n) => format!(
                "over this newsletter's limit of {n} {} per email",
                plural(n, "paper", "papers")
            ),
            // `over_cap` is 0 without a cap: this phrase is never shown.
            Cap::None => String::new(),
        };
        let parts: Vec<(usize, String)> = [
            (self.over_cap, cap_phrase),
            (
                self.over_size,
                "to keep this email within the size mail apps show in full".to_owned(),
            ),
            (self.outside_topics, "outside your topics".to_owned()),
            (self.no_section, "matching no section".to_owned()),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .collect();
        let why = if parts.len() == 1 {
            parts[0].1.clone()
        } else {
            let items: Vec<String> = parts.iter().map(|(n, p)| format!("{n} {p}")).collect();
            let (last, rest) = items.split_last().expect("two or more");
            format!("{} and {last}", rest.join(", "))
        };
        Some(format!(
            "{total} more {} {} not in this email — {why}.",
            plural(total, "paper", "papers"),
            plural(total, "is", "are")
        ))
    }
}

/// A section name as an HTML id: ASCII letters and digits (accents and other scripts
/// transliterated), other runs as one `-`, starting with a letter. A page with two sections of
/// the same id numbers the later ones: see [`super::anchor::section_anchors`].
pub fn anchor(name: &str) -> String {
    super::anchor::slug(name)
}

#[derive(Debug, Serialize)]
pub struct Model {
    newsletter: NewsletterModel,
    edition: EditionModel,
    preheader: String,
    /// "Federated Learning (8) · Graphs (6)": the sections shown, with their paper counts.
    contents: String,
    count: CountModel,
    /// The reader's "For you" block: papers with a `why` line; empty for shared variants.
    for_you: Vec<PaperModel>,
    sections: Vec<SectionModel>,
    notes: Vec<String>,
    subscriber: SubscriberModel,
}

#[derive(Debug, Serialize)]
struct NewsletterModel {
    title: String,
    list_id: String,
    base_url: String,
    more_url: String,
    /// The `Reply-To` address, or empty.
    reply_to: String,
    /// What happens to a reply, for the footer ([`EditionInfo::replies`]).
    replies: String,
}

#[derive(Debug, Serialize)]
struct EditionModel {
    id: String,
    date: String,
    iso_date: String,
    /// The edition's page in the web archive ("View in browser"), or empty.
    archive_url: String,
}

#[derive(Debug, Serialize)]
struct CountModel {
    shown: usize,
    one: bool,
    /// Papers in any section today.
    total: usize,
    /// Papers of the reader's sections not shown: `over_cap + over_size`.
    left_out: usize,
    over_cap: usize,
    over_size: usize,
    other_topics: usize,
    unmatched: usize,
    left_out_total: usize,
}

#[derive(Debug, Serialize)]
struct SectionModel {
    name: String,
    /// The section's HTML id, the same in the email and the web archive.
    anchor: String,
    is_catch_all: bool,
    /// Papers of the section not in this email ("N more in NAME").
    left_out: usize,
    /// Where "N more in NAME" links: the section in the web archive, or empty.
    more_url: String,
    /// The section's papers today, shown or not.
    total: usize,
    papers: Vec<PaperModel>,
}

/// One paper as the templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct PaperModel {
    pub id: String,
    pub title: String,
    pub url: String,
    pub authors: String,
    pub upvotes: Option<u32>,
    pub comments: Option<u32>,
    /// "A, B, C et al. · 42 upvotes", or empty.
    pub meta: String,
    pub teaser: String,
    pub links: Vec<LinkModel>,
    /// Whether `url` is also one of `links` (the text part then need not print it twice).
    pub url_listed: bool,
    /// The shortest canonical link, for the text part: the arXiv abstract page when the id is
    /// known, else `url`.
    pub short_url: String,
    /// `links` without `short_url`, for the text part's lines after it.
    pub text_links: Vec<LinkModel>,
    /// Why the paper is in the reader's "For you" block; empty elsewhere.
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkModel {
    pub label: String,
    pub url: String,
}

#[derive(Debug, Serialize)]
struct SubscriberModel {
    name: String,
    email: String,
    unsubscribe_url: String,
    /// The reader's preference page.
    preferences_url: String,
    topics: String,
}

/// What a personalized email adds to a view: the block, and the edition's size for this
/// reader (without the papers their mutes remove).
#[derive(Debug, Clone, Default)]
pub(crate) struct Personal<'a> {
    /// Block papers (indices into the digest) and their "why" lines.
    pub for_you: &'a [(usize, String)],
    /// Papers in any section today, for this reader; `None`: the digest's count.
    pub total: Option<usize>,
}

pub(crate) fn build(
    digest: &Digest,
    view: &DigestView,
    edition: &EditionInfo,
    settings: &DigestSettings,
    topics: &[String],
    left: &LeftOut,
) -> Model {
    build_personal(
        digest,
        view,
        edition,
        settings,
        topics,
        left,
        &Personal::default(),
    )
}

/// [`build`] for a reader with a block: `view.shown` counts the block's papers too.
pub(crate) fn build_personal(
    digest: &Digest,
    view: &DigestView,
    edition: &EditionInfo,
    settings: &DigestSettings,
    topics: &[String],
    left: &LeftOut,
    personal: &Personal<'_>,
) -> Model {
    // Anchors over all of the digest's sections, as the edition's archive page numbers them
    // (a reader's view may leave some out).
    let anchors = super::anchor::section_anchors(digest.sections.iter().map(|s| s.name.as_str()));
    let page_url = edition
        .archive_url
        .as_ref()
        .map(|a| format!("{}/{}/", a.trim_end_matches('/'), edition.id));
    let sections: Vec<SectionModel> = view
        .sections
        .iter()
        .map(|s| {
            let id = digest
                .sections
                .iter()
                .zip(&anchors)
                .find(|(d, _)| d.name == s.name)
                .map_or_else(|| anchor(&s.name), |(_, a)| a.clone());
            SectionModel {
                more_url: page_url
                    .as_ref()
                    .map(|url| format!("{url}#{id}"))
                    .unwrap_or_default(),
                anchor: id,
                name: s.name.clone(),
                is_catch_all: s.is_catch_all,
                left_out: s.left_out,
                total: s.papers.len() + s.left_out,
                papers: s
                    .papers
                    .iter()
                    .map(|&i| paper_model(&digest.papers[i], settings))
                    .collect(),
            }
        })
        .collect();
    let block = personal.for_you.len();
    let preheader = preheader(view, block);
    let contents = contents(view, block);
    let for_you = personal
        .for_you
        .iter()
        .map(|(i, why)| PaperModel {
            why: defuse(why.clone()),
            ..paper_model(&digest.papers[*i], settings)
        })
        .collect();
    Model {
        newsletter: NewsletterModel {
            title: edition.title.clone(),
            list_id: edition.list_id.clone(),
            base_url: edition.base_url.clone(),
            more_url: edition.more_url.clone(),
            reply_to: edition.reply_to.clone().unwrap_or_default(),
            replies: edition.replies(),
        },
        edition: EditionModel {
            id: edition.id.to_string(),
            date: edition.date_long(),
            iso_date: edition.date.to_string(),
            archive_url: page_url.unwrap_or_default(),
        },
        preheader,
        contents,
        count: CountModel {
            shown: view.shown,
            one: view.shown == 1,
            total: personal.total.unwrap_or_else(|| digest.paper_count()),
            left_out: view.left_out,
            over_cap: left.over_cap,
            over_size: left.over_size,
            other_topics: view.other_topics,
            unmatched: left.no_section,
            left_out_total: left.total(),
        },
        for_you,
        sections,
        notes: left.sentence().into_iter().collect(),
        subscriber: SubscriberModel {
            name: NAME_SLOT.to_owned(),
            email: EMAIL_SLOT.to_owned(),
            unsubscribe_url: UNSUBSCRIBE_SLOT.to_owned(),
            preferences_url: PREFERENCES_SLOT.to_owned(),
            topics: topics.join(", "),
        },
    }
}

/// "12 papers today: For you (5), Graphs (4), …": the papers shown, by part.
pub(crate) fn preheader(view: &DigestView, block: usize) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "{} {} today: ",
        view.shown,
        plural(view.shown, "paper", "papers")
    );
    let mut sep = "";
    if block > 0 {
        let _ = write!(out, "For you ({block})");
        sep = ", ";
    }
    for s in view.sections.iter().filter(|s| !s.papers.is_empty()) {
        let _ = write!(out, "{sep}{} ({})", s.name, s.papers.len());
        sep = ", ";
    }
    out
}

/// "For you (5) · Federated Learning (8) · Graphs (3 of 6)": each part with its papers.
pub(crate) fn contents(view: &DigestView, block: usize) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(32 * (view.sections.len() + 1));
    let mut sep = "";
    if block > 0 {
        let _ = write!(out, "For you ({block})");
        sep = " · ";
    }
    for s in &view.sections {
        let _ = match s.left_out {
            0 => write!(out, "{sep}{} ({})", s.name, s.papers.len()),
            n => write!(
                out,
                "{sep}{} ({} of {})",
                s.name,
                s.papers.len(),
                s.papers.len() + n
            ),
        };
        sep = " · ";
    }
    out
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The paper as shown: links resolved, authors shortened, teaser cut.
pub fn paper_model(paper: &Paper, settings: &DigestSettings) -> PaperModel {
    let links = paper.resolved_links();
    let mut link_models = Vec::new();
    let mut push = |label: &str, url: &Option<crate::paper::HttpUrl>| {
        if let Some(u) = url {
            link_models.push(LinkModel {
                label: label.to_owned(),
                url: defuse_url(u.as_str()),
            });
        }
    };
    if paper.id.is_arxiv() {
        push("Abstract on arXiv", &links.abs);
        push("PDF", &links.pdf);
    }
    // A paper known only by its title has no page of its own: its title already links to an
    // arXiv title search, and repeating that link would only cost bytes.
    push("Hugging Face page", &links.hf);
    push("Code", &links.code);
    push("Project page", &links.project);

    let authors = shorten_authors(&paper.authors, settings.max_authors);
    let mut meta_parts = Vec::new();
    if !authors.is_empty() {
        meta_parts.push(authors.clone());
    }
    if let Some(u) = paper.upvotes {
        meta_parts.push(format!("{u} {}", plural(u as usize, "upvote", "upvotes")));
    }
    let url = defuse_url(paper.primary_url().as_str());
    let short_url = match (paper.id.is_arxiv(), &links.abs) {
        (true, Some(abs)) => defuse_url(abs.as_str()),
        _ => url.clone(),
    };
    let text_links = link_models
        .iter()
        .filter(|l| l.url != short_url)
        .cloned()
        .collect();
    PaperModel {
        id: paper.id.to_string(),
        title: defuse(one_line(&paper.title)),
        url_listed: link_models.iter().any(|l| l.url == url),
        short_url,
        text_links,
        url,
        authors: defuse(authors),
        upvotes: paper.upvotes,
        comments: paper.comments,
        meta: defuse(meta_parts.join(" · ")),
        teaser: defuse(teaser(paper, settings.teaser_chars)),
        links: link_models,
        why: String::new(),
    }
}

/// Whitespace folded to single spaces, and TeX quotes (``…'') as typographic ones.
fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("``", "“")
        .replace("''", "”")
}

/// Text from a source can never contain a per-person slot marker: otherwise a paper could
/// make each subscriber's email carry their address or unsubscribe link wherever it likes.
pub(crate) fn defuse(s: String) -> String {
    if s.contains(super::SLOT_PREFIX) {
        s.replace(super::SLOT_PREFIX, "PWSLOT\u{2060}0")
    } else {
        s
    }
}

/// The same for URLs: the marker's last character is percent-encoded (`0` → `%30`).
fn defuse_url(s: &str) -> String {
    s.replace(super::SLOT_PREFIX, "PWSLOT%30")
}

/// "A, B, C et al." after `max` authors.
pub fn shorten_authors(authors: &[String], max: usize) -> String {
    let names: Vec<String> = authors
        .iter()
        .map(|a| one_line(a))
        .filter(|a| !a.is_empty())
        .collect();
    if names.len() <= max {
        names.join(", ")
    } else {
        format!("{} et al.", names[..max].join(", "))
    }
}

/// The AI summary when present, else the abstract's first sentences; at most `max` chars, cut
/// at a word boundary with an ellipsis.
pub fn teaser(paper: &Paper, max: usize) -> String {
    let source = paper
        .ai_summary
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| one_line(&paper.abstract_text));
    if source.chars().count() <= max {
        return source;
    }
    // Whole sentences that fit, if at least one does.
    let mut end = 0;
    // `n` counts the characters before `i` (one pass: no recounting from the start).
    for (n, (i, c)) in source.char_indices().enumerate() {
        if n >= max {
            break;
        }
        if matches!(c, '.' | '!' | '?') && source[i + c.len_utf8()..].starts_with(' ') {
            end = i + c.len_utf8();
        }
    }
    if end > max / 3 {
        return source[..end].to_owned();
    }
    let limit = source
        .char_indices()
        .nth(max.saturating_sub(1))
        .map_or(source.len(), |(i, _)| i);
    let cut = source[..limit].rfind(' ').unwrap_or(limit);
    format!("{}…", source[..cut].trim_end_matches([',', ';', ':', ' ']))
}

/// The unsubscribe URL of [`fixture`]: every rendered part must show it.
pub(crate) const FIXTURE_UNSUBSCRIBE_URL: &str =
    "https://digest.example.org/unsubscribe?token=fixture";

/// A model in which every field has a value, for strict-mode template checks.
pub(crate) fn fixture() -> Model {
    let paper = PaperModel {
        id: "2405.10000".into(),
        title: "A fixture paper".into(),
        url: "https://huggingface.co/papers/2405.10000".into(),
        authors: "Ada Lovelace, Alan Turing et al.".into(),
        upvotes: Some(42),
        comments: Some(3),
        meta: "Ada Lovelace, Alan Turing et al. · 42 upvotes".into(),
        teaser: "A teaser.".into(),
        links: vec![LinkModel {
            label: "PDF".into(),
            url: "https://arxiv.org/pdf/2405.10000".into(),
        }],
        url_listed: false,
        short_url: "https://arxiv.org/abs/2405.10000".into(),
        text_links: vec![LinkModel {
            label: "PDF".into(),
            url: "https://arxiv.org/pdf/2405.10000".into(),
        }],
        why: String::new(),
    };
    let for_you = PaperModel {
        why: "matches speculative decoding · by Tri Dao · like 2411.01234".into(),
        ..paper.clone()
    };
    Model {
        newsletter: NewsletterModel {
            title: "Fixture".into(),
            list_id: "fixture.example.org".into(),
            base_url: "https://digest.example.org".into(),
            more_url: "https://huggingface.co/papers".into(),
            reply_to: "editor@example.org".into(),
            replies: "Replies reach the editors at editor@example.org.".into(),
        },
        edition: EditionModel {
            id: "2026-11-28".into(),
            date: "Saturday, 28 November 2026".into(),
            iso_date: "2026-11-28".into(),
            archive_url: "https://digest.example.org/archive/2026-11-28/".into(),
        },
        preheader: "1 paper today".into(),
        contents: "Fixture section (1)".into(),
        count: CountModel {
            shown: 1,
            one: true,
            total: 3,
            left_out: 1,
            over_cap: 1,
            over_size: 0,
            other_topics: 1,
            unmatched: 1,
            left_out_total: 3,
        },
        for_you: vec![for_you],
        sections: vec![SectionModel {
            name: "Fixture section".into(),
            anchor: "fixture-section".into(),
            is_catch_all: false,
            left_out: 1,
            more_url: "https://digest.example.org/archive/2026-11-28/#fixture-section".into(),
            total: 2,
            papers: vec![paper],
        }],
        notes: vec!["A note.".into()],
        subscriber: SubscriberModel {
            name: "Ada".into(),
            email: "ada@example.org".into(),
            unsubscribe_url: FIXTURE_UNSUBSCRIBE_URL.into(),
            preferences_url: "https://digest.example.org/preferences?token=fixture".into(),
            topics: "Fixture section".into(),
        },
    }
}
