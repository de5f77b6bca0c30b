//! The web archive: every published edition as a static site, built from the state directory.
//!
//! ```text
//! <archive>/index.html            the newest editions, newest first, and links to older ranges
//! <archive>/pages/<n>.html        editions in ranges of PAGE_SIZE, counted from the oldest
//! <archive>/<edition>/index.html  the edition's whole digest: every paper, an anchor each
//! <archive>/feed.xml              Atom 1.0: the newest FEED_ENTRIES editions with their content
//! <archive>/editions.json         every edition listed (newest first), and how the site was made
//! <archive>/.feed-entries.json    a cache: the HTML of the feed's entries
//! ```
//!
//! An edition is in the archive once it is *published*: its first send completed (see
//! [`crate::state::EditionFiles::is_published`]). [`Archive::build`] writes the whole site;
//! [`Archive::add`] adds or refreshes one edition and rewrites only the pages that show it
//! (its neighbours, the listing pages from its range on, the feed), reading the other editions'
//! listings from `editions.json`. When that file is missing or was made from other templates or
//! settings (its fingerprint differs), `add` builds the whole site instead. Both give the same
//! bytes for the same state, and files whose bytes did not change are not touched.
//!
//! Pages are derived data: they are replaced whole (temp file and rename) but not fsynced one
//! by one, since a rebuild makes them again.

pub mod http;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::config::Settings;
use crate::digest::{Digest, Rules};
use crate::edition::EditionId;
use crate::paper::Paper;
use crate::render::{
    ContentSection, EditionContent, ListedEdition, ListedSection, Listing, PageLink, RenderError,
    Site, Templates, WebRenderer, section_anchors,
};
use crate::state::{EditionFiles, EditionSections, StateDir, StateError};

/// Editions on `index.html` and on each range page.
pub const PAGE_SIZE: usize = 30;
/// Editions in `feed.xml`.
pub const FEED_ENTRIES: usize = 10;
/// The listing of every edition, which [`Archive::add`] reads back.
pub const MANIFEST: &str = "editions.json";
/// The HTML of the feed's entries, kept so that an add renders one entry, not all of them. A
/// cache: when it is missing or was made from other templates, the entries are rendered again.
const FEED_CACHE: &str = ".feed-entries.json";
/// The manifest's format; a change makes the next `add` rebuild everything.
const FORMAT: &str = "archive/1";
/// Names at the archive's root that are the archive's own: an edition with one of these ids is
/// left out (as is one whose id starts with a dot).
const RESERVED: &[&str] = &["index.html", "feed.xml", MANIFEST, "pages"];

/// Why the archive could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The state disagrees with itself (a hand edit): what and where.
    #[error("{0}")]
    Inconsistent(String),
}

/// What a build or an add did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildSummary {
    /// Editions in the archive.
    pub editions: usize,
    /// Files written (files whose bytes did not change are not counted).
    pub written: usize,
    /// Whether the whole site was built.
    pub full: bool,
}

/// `editions.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    paperwire: String,
    /// A hash of the templates and settings the pages were made with.
    fingerprint: String,
    /// Newest first.
    editions: Vec<ListedEdition>,
}

/// `.feed-entries.json`.
#[derive(Debug, Serialize, Deserialize)]
struct FeedCache {
    fingerprint: String,
    /// The feed's entries' HTML, by edition id.
    entries: BTreeMap<String, String>,
}

/// The archive of one state directory, written to one directory.
pub struct Archive<'a> {
    state: StateDir,
    out: PathBuf,
    site: Site,
    web: WebRenderer,
    rules: &'a Rules,
    timezone: chrono_tz::Tz,
    fingerprint: String,
}

impl std::fmt::Debug for Archive<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive").field("out", &self.out).finish()
    }
}

impl<'a> Archive<'a> {
    /// The archive of `settings`' state directory, written to `out`; compiles the templates.
    pub fn new(settings: &'a Settings, out: &Path) -> Result<Self, RenderError> {
        let templates = Templates::load(settings.templates_dir.as_deref())?;
        let web = WebRenderer::new(&templates, &settings.digest)?;
        let base_url = settings.archive.as_ref().map_or_else(
            || format!("{}/archive", settings.newsletter.base_url),
            |a| a.base_url.clone(),
        );
        let site = Site {
            title: settings.newsletter.title.clone(),
            base_url,
        };
        let fingerprint = fingerprint(settings, &site, &templates);
        Ok(Self {
            state: StateDir::new(&settings.state_dir),
            out: out.to_owned(),
            site,
            web,
            rules: &settings.rules,
            timezone: settings.newsletter.timezone,
            fingerprint,
        })
    }

    /// The directory the archive is written to.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// Builds the whole site from the state directory; removes the pages of editions that are
    /// no longer in it (only those an earlier build listed).
    pub fn build(&self) -> Result<BuildSummary, ArchiveError> {
        let before = self.read_manifest();
        let mut listed = Vec::new();
        for id in self.published() {
            if let Some(l) = self.listed(&id)? {
                listed.push(l);
            }
        }
        sort(&mut listed);
        let mut written = self.write_editions(&listed)?;
        written += self.write_listings(&listed, 1)?;
        written += self.write_feed(&listed, None)?;
        written += self.write_manifest(&listed)?;
        if let Some(before) = before {
            self.remove_stale(&before, &listed)?;
        }
        Ok(BuildSummary {
            editions: listed.len(),
            written,
            full: true,
        })
    }

    /// Adds edition `id` (or refreshes it): its page, its neighbours', the listing pages from
    /// its range on, the feed and `editions.json`. Builds the whole site when `editions.json`
    /// is missing or was made from other templates or settings. An edition that is not
    /// published is left out.
    pub fn add(&self, id: &EditionId) -> Result<BuildSummary, ArchiveError> {
        match self.add_one(id) {
            // The listing disagrees with the state (an edition's state was removed by hand):
            // the whole build goes by the state alone.
            Err(ArchiveError::Inconsistent(why)) => {
                tracing::info!("rebuilding the whole archive: {why}");
                self.build()
            }
            other => other,
        }
    }

    fn add_one(&self, id: &EditionId) -> Result<BuildSummary, ArchiveError> {
        let Some(manifest) = self
            .read_manifest()
            .filter(|m| m.fingerprint == self.fingerprint)
        else {
            return self.build();
        };
        let files = self.state.edition(id);
        if !allowed(id) || !files.is_published() {
            return Ok(BuildSummary {
                editions: manifest.editions.len(),
                written: 0,
                full: false,
            });
        }
        let Some(content) = self.content(id)? else {
            return self.build();
        };
        let mut listed = manifest.editions;
        // One look per edition (a file's existence): the listing must still match the state.
        if let Some(gone) = listed.iter().find(|e| {
            EditionId::parse(&e.id).map_or(true, |i| !self.state.edition(&i).is_published())
        }) {
            return Err(ArchiveError::Inconsistent(format!(
                "edition {} is listed in {MANIFEST} but no longer published in {}",
                gone.id,
                self.state.path().display()
            )));
        }
        listed.retain(|e| e.id != id.as_str());
        listed.push(content.listed());
        sort(&mut listed);
        let pos = listed
            .iter()
            .position(|e| e.id == id.as_str())
            .expect("just added");
        let mut written = 0;
        for i in pos.saturating_sub(1)..(pos + 2).min(listed.len()) {
            written += self.write_edition(&listed, i)?;
        }
        written += self.write_listings(&listed, (range_of(pos) - 1).max(1))?;
        written += self.write_feed(&listed, Some(id))?;
        written += self.write_manifest(&listed)?;
        Ok(BuildSummary {
            editions: listed.len(),
            written,
            full: false,
        })
    }

    /// Published editions with ids the archive can hold, oldest first.
    fn published(&self) -> Vec<EditionId> {
        self.state
            .editions()
            .into_iter()
            .filter(|id| {
                let ok = allowed(id);
                if !ok {
                    tracing::warn!(
                        "edition `{id}` is left out of the archive: its id names one of the archive's own files"
                    );
                }
                ok && self.state.edition(id).is_published()
            })
            .collect()
    }

    /// One edition's contents from its state: its frozen papers in the sections its email
    /// had (grouped with today's rules for an edition sent before those were recorded).
    fn content(&self, id: &EditionId) -> Result<Option<EditionContent>, ArchiveError> {
        let files = self.state.edition(id);
        let Some(papers) = files.frozen_papers()? else {
            return Ok(None);
        };
        let (date, published) = self.when(id, &files)?;
        let recorded = match files.read_sections()? {
            Some(s) => s,
            None => EditionSections::of(&Digest::build(papers.clone(), self.rules)),
        };
        Ok(Some(EditionContent {
            id: id.to_string(),
            date,
            published,
            sections: resolve(&files, recorded.sections, papers)?,
            unmatched: recorded.unmatched,
        }))
    }

    /// How listings show one edition: from its recorded sections when there are some (a
    /// small file), else from its whole contents.
    fn listed(&self, id: &EditionId) -> Result<Option<ListedEdition>, ArchiveError> {
        let files = self.state.edition(id);
        let Some(recorded) = files.read_sections()? else {
            return Ok(self.content(id)?.map(|c| c.listed()));
        };
        if !files.is_frozen() {
            return Ok(None);
        }
        let (date, published) = self.when(id, &files)?;
        let anchors = section_anchors(recorded.sections.iter().map(|s| s.name.as_str()));
        let sections: Vec<ListedSection> = recorded
            .sections
            .into_iter()
            .zip(anchors)
            .map(|(s, anchor)| ListedSection {
                papers: s.papers.len(),
                name: s.name,
                anchor,
            })
            .collect();
        Ok(Some(ListedEdition {
            id: id.to_string(),
            date,
            published,
            papers: sections.iter().map(|s| s.papers).sum(),
            sections,
        }))
    }

    /// The edition's date (its id's, else that of its first complete send in the newsletter's
    /// time zone) and when it was first complete.
    fn when(
        &self,
        id: &EditionId,
        files: &EditionFiles,
    ) -> Result<(NaiveDate, DateTime<Utc>), ArchiveError> {
        let published = files.published_at()?;
        let date = id
            .date()
            .or_else(|| published.map(|p| p.with_timezone(&self.timezone).date_naive()))
            .unwrap_or(DateTime::UNIX_EPOCH.date_naive());
        Ok((
            date,
            published.unwrap_or_else(|| midnight(date, self.timezone)),
        ))
    }

    /// Writes every edition's page, on as many threads as there are cores; how many changed.
    fn write_editions(&self, listed: &[ListedEdition]) -> Result<usize, ArchiveError> {
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .clamp(1, 8);
        let per_thread = listed.len().div_ceil(threads).max(1);
        let indices: Vec<usize> = (0..listed.len()).collect();
        std::thread::scope(|scope| {
            let workers: Vec<_> = indices
                .chunks(per_thread)
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|&i| self.write_edition(listed, i))
                            .sum::<Result<usize, ArchiveError>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .sum()
        })
    }

    /// Writes the page of `listed[i]`; 1 when its bytes changed.
    fn write_edition(&self, listed: &[ListedEdition], i: usize) -> Result<usize, ArchiveError> {
        let e = &listed[i];
        let id = EditionId::parse(&e.id)
            .map_err(|err| ArchiveError::Inconsistent(format!("{MANIFEST}: {err}")))?;
        let Some(content) = self.content(&id)? else {
            return Err(ArchiveError::Inconsistent(format!(
                "edition {id} is listed but has no frozen paper list in {}",
                self.state.path().display()
            )));
        };
        let prev = i.checked_sub(1).map(|p| &listed[p]);
        let next = listed.get(i + 1);
        let html = self.web.edition_page(&self.site, &content, prev, next)?;
        self.write(&Path::new(&e.id).join("index.html"), html.as_bytes())
    }

    /// `index.html` and the range pages from range `first` on (1-based).
    fn write_listings(
        &self,
        listed: &[ListedEdition],
        first: usize,
    ) -> Result<usize, ArchiveError> {
        let newest_first: Vec<ListedEdition> = listed.iter().rev().cloned().collect();
        let ranges = ranges(listed.len());
        let range_links: Vec<PageLink> = ranges
            .iter()
            .enumerate()
            .rev()
            .map(|(k, r)| PageLink {
                label: range_label(&listed[r.clone()]),
                url: format!("pages/{}.html", k + 1),
            })
            .collect();
        let shown = listed.len().min(PAGE_SIZE);
        let index = Listing {
            editions: &newest_first[..shown],
            root: "",
            heading: if ranges.is_empty() {
                "Every edition, newest first.".to_owned()
            } else {
                format!("The latest {shown} editions, newest first.")
            },
            ranges: range_links,
            newer: None,
            older: (listed.len() > PAGE_SIZE).then(|| PageLink {
                label: "Older editions".into(),
                url: format!("pages/{}.html", range_of(listed.len() - PAGE_SIZE - 1)),
            }),
        };
        let mut written = self.write(
            Path::new("index.html"),
            self.web.listing(&self.site, &index)?.as_bytes(),
        )?;
        for (k, r) in ranges.iter().enumerate().skip(first.saturating_sub(1)) {
            let n = k + 1;
            let editions: Vec<ListedEdition> = listed[r.clone()].iter().rev().cloned().collect();
            let page = Listing {
                editions: &editions,
                root: "../",
                heading: format!("Editions from {}.", range_label(&listed[r.clone()])),
                ranges: Vec::new(),
                newer: (n < ranges.len()).then(|| PageLink {
                    label: "Newer editions".into(),
                    url: format!("{}.html", n + 1),
                }),
                older: (n > 1).then(|| PageLink {
                    label: "Older editions".into(),
                    url: format!("{}.html", n - 1),
                }),
            };
            let html = self.web.listing(&self.site, &page)?;
            written += self.write(
                &Path::new("pages").join(format!("{n}.html")),
                html.as_bytes(),
            )?;
        }
        Ok(written)
    }

    /// `feed.xml`, and the cache of its entries' HTML. With `fresh`, the entries of the other
    /// editions come from the cache when it was made by the same templates and settings (an
    /// edition's contents never change once it is frozen), so an add renders one entry.
    fn write_feed(
        &self,
        listed: &[ListedEdition],
        fresh: Option<&EditionId>,
    ) -> Result<usize, ArchiveError> {
        let mut cache = match fresh {
            Some(_) => std::fs::read(self.out.join(FEED_CACHE))
                .ok()
                .and_then(|b| serde_json::from_slice::<FeedCache>(&b).ok())
                .filter(|c| c.fingerprint == self.fingerprint)
                .map(|c| c.entries)
                .unwrap_or_default(),
            None => BTreeMap::new(),
        };
        let mut entries = Vec::new();
        let mut kept = BTreeMap::new();
        for e in listed.iter().rev().take(FEED_ENTRIES) {
            let id = EditionId::parse(&e.id)
                .map_err(|err| ArchiveError::Inconsistent(format!("{MANIFEST}: {err}")))?;
            let cached = cache.remove(&e.id).filter(|_| fresh != Some(&id));
            let html = match cached {
                Some(html) => html,
                None => match self.content(&id)? {
                    Some(content) => self.web.feed_entry(&content)?,
                    None => continue,
                },
            };
            kept.insert(e.id.clone(), html.clone());
            entries.push((e.clone(), html));
        }
        let xml = self.web.feed(&self.site, &entries)?;
        let mut written = self.write(Path::new("feed.xml"), xml.as_bytes())?;
        let cache = FeedCache {
            fingerprint: self.fingerprint.clone(),
            entries: kept,
        };
        let json = serde_json::to_vec(&cache).expect("a cache serializes");
        written += self.write(Path::new(FEED_CACHE), &json)?;
        Ok(written)
    }

    fn write_manifest(&self, listed: &[ListedEdition]) -> Result<usize, ArchiveError> {
        let manifest = Manifest {
            paperwire: FORMAT.to_owned(),
            fingerprint: self.fingerprint.clone(),
            editions: listed.iter().rev().cloned().collect(),
        };
        let mut json = serde_json::to_string_pretty(&manifest).expect("a manifest serializes");
        json.push('\n');
        self.write(Path::new(MANIFEST), json.as_bytes())
    }

    fn read_manifest(&self) -> Option<Manifest> {
        let bytes = std::fs::read(self.out.join(MANIFEST)).ok()?;
        serde_json::from_slice::<Manifest>(&bytes)
            .ok()
            .filter(|m| m.paperwire == FORMAT)
    }

    /// Removes the pages of editions and ranges an earlier build listed that are gone now.
    fn remove_stale(&self, before: &Manifest, now: &[ListedEdition]) -> Result<(), ArchiveError> {
        for old in &before.editions {
            let still = now.iter().any(|e| e.id == old.id);
            let Ok(id) = EditionId::parse(&old.id) else {
                continue;
            };
            if still || !allowed(&id) {
                continue;
            }
            let dir = self.out.join(id.as_str());
            remove_file(&dir.join("index.html"))?;
            // Only when nothing else is left in it.
            let _ = std::fs::remove_dir(&dir);
        }
        for n in ranges(now.len()).len() + 1..=ranges(before.editions.len()).len() {
            remove_file(&self.out.join("pages").join(format!("{n}.html")))?;
        }
        Ok(())
    }

    /// Writes `rel` under the archive unless it already holds these bytes; 1 when written.
    fn write(&self, rel: &Path, bytes: &[u8]) -> Result<usize, ArchiveError> {
        let path = self.out.join(rel);
        replace_if_changed(&path, bytes)
            .map(usize::from)
            .map_err(|source| ArchiveError::Write { path, source })
    }
}

/// Whether an edition's id can name a directory at the archive's root.
fn allowed(id: &EditionId) -> bool {
    !id.as_str().starts_with('.') && !RESERVED.contains(&id.as_str())
}

/// Oldest first, by date and then id.
fn sort(listed: &mut [ListedEdition]) {
    listed.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
}

/// The range pages, counted from the oldest edition: none while `index.html` shows everything.
fn ranges(n: usize) -> Vec<std::ops::Range<usize>> {
    if n <= PAGE_SIZE {
        return Vec::new();
    }
    (0..n)
        .step_by(PAGE_SIZE)
        .map(|start| start..(start + PAGE_SIZE).min(n))
        .collect()
}

/// The range page (1-based) that holds the edition at `pos` (oldest first).
fn range_of(pos: usize) -> usize {
    pos / PAGE_SIZE + 1
}

/// "1 Jan 2026 – 30 Jan 2026" for editions listed oldest first.
fn range_label(editions: &[ListedEdition]) -> String {
    let short = |d: NaiveDate| d.format("%-d %b %Y").to_string();
    match (editions.first(), editions.last()) {
        (Some(a), Some(b)) if a.date != b.date => format!("{} to {}", short(a.date), short(b.date)),
        (Some(a), _) => short(a.date),
        _ => String::new(),
    }
}

/// Local midnight of `date`, for an edition with no recorded time at all.
fn midnight(date: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    use chrono::TimeZone;
    tz.from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map_or_else(
            || date.and_time(chrono::NaiveTime::MIN).and_utc(),
            |t| t.with_timezone(&Utc),
        )
}

/// The recorded sections with the frozen papers in them.
fn resolve(
    files: &EditionFiles,
    sections: Vec<crate::state::SectionRecord>,
    papers: Vec<Paper>,
) -> Result<Vec<ContentSection>, ArchiveError> {
    let mut by_id: std::collections::HashMap<_, _> =
        papers.into_iter().map(|p| (p.id.clone(), p)).collect();
    sections
        .into_iter()
        .map(|s| {
            let papers = s
                .papers
                .iter()
                .map(|id| {
                    by_id.remove(id).ok_or_else(|| {
                        ArchiveError::Inconsistent(format!(
                            "{} names paper {id} in section `{}`, but {} does not hold it (or names it twice)",
                            files.sections_path().display(),
                            s.name,
                            files.papers_path().display()
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ContentSection {
                name: s.name,
                papers,
            })
        })
        .collect()
}

/// What the pages are made from besides the state: paperwire's version, the web templates and
/// the settings they show. A different fingerprint makes the next `add` rebuild everything.
fn fingerprint(settings: &Settings, site: &Site, templates: &Templates) -> String {
    let mut h = Sha256::new();
    let mut put = |s: &str| {
        h.update(s.len().to_le_bytes());
        h.update(s.as_bytes());
    };
    put(FORMAT);
    // A new paperwire may render the same templates differently.
    put(env!("CARGO_PKG_VERSION"));
    put(&site.title);
    put(&site.base_url);
    put(&settings.digest.teaser_chars.to_string());
    put(&settings.digest.max_authors.to_string());
    put(settings.newsletter.timezone.name());
    for rule in &settings.rules.sections {
        put(&rule.name);
        for k in rule.keywords.iter().chain(&rule.exclude) {
            put(k.as_str());
        }
    }
    put(settings.rules.catch_all.as_deref().unwrap_or(""));
    for (name, src) in templates.web_sources() {
        put(name);
        put(src);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Replaces `path` with `bytes` (temp file and rename, mode 0644) unless it holds them already;
/// whether it wrote. Creates the parent directories.
fn replace_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(true)
}

fn remove_file(path: &Path) -> Result<(), ArchiveError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ArchiveError::Write {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
