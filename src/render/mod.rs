//! Rendering: a subscriber's view of the digest → the HTML and plain-text parts of the email.
//!
//! Pure: templates are compiled once (the built-in ones are compiled into the binary; a
//! configured directory overrides them file by file, read at the edge by [`Templates::load`]),
//! and the same input gives the same bytes. Rendering is done once per *variant* — the
//! (topics, cap, format) a group of subscribers share — with opaque slots where the per-person
//! strings go; [`Variant::personalize`] fills the slots by plain substitution. CSS is inlined
//! once per variant, after rendering, never on the `.hbs` source and never per subscriber.
//! [`pages`] renders the pages readers open in a browser and the signup confirmation message.

mod anchor;
mod model;
pub mod pages;
mod personal;
mod splice;
mod web;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
};

pub use anchor::{paper_anchor, section_anchors};
pub use model::{Cap, EditionInfo, LeftOut, PaperModel, anchor};
pub use personal::{Plan, muted_papers, plan};
pub use splice::{Catalog, Piece, Reader, Skeleton, Splicer};
pub use web::{
    ContentSection, EditionContent, ListedEdition, ListedSection, Listing, PageLink, Site,
    WebRenderer,
};

use crate::config::{DigestSettings, SubjectTemplate};
use crate::digest::Digest;

/// The HTML part must stay under this many bytes (Gmail clips at about 102 KB of encoded HTML;
/// quoted-printable adds 5–10 %). A variant over it drops papers until it fits.
pub const HTML_BUDGET_BYTES: usize = 88_000;

/// The templates compiled into the binary, by the file name a template directory overrides.
const BUILTIN: &[(&str, &str)] = &[
    (
        "digest.html.hbs",
        include_str!("../../templates/digest.html.hbs"),
    ),
    (
        "digest.txt.hbs",
        include_str!("../../templates/digest.txt.hbs"),
    ),
    (
        "partials/paper.html.hbs",
        include_str!("../../templates/partials/paper.html.hbs"),
    ),
    (
        "partials/paper.txt.hbs",
        include_str!("../../templates/partials/paper.txt.hbs"),
    ),
    (
        "partials/footer.html.hbs",
        include_str!("../../templates/partials/footer.html.hbs"),
    ),
    (
        "partials/footer.txt.hbs",
        include_str!("../../templates/partials/footer.txt.hbs"),
    ),
    // The web archive's pages (see `web`).
    (
        "web/edition.html.hbs",
        include_str!("../../templates/web/edition.html.hbs"),
    ),
    (
        "web/index.html.hbs",
        include_str!("../../templates/web/index.html.hbs"),
    ),
    (
        "web/feed.xml.hbs",
        include_str!("../../templates/web/feed.xml.hbs"),
    ),
    (
        "web/feed-entry.html.hbs",
        include_str!("../../templates/web/feed-entry.html.hbs"),
    ),
    (
        "web/partials/style.html.hbs",
        include_str!("../../templates/web/partials/style.html.hbs"),
    ),
    (
        "web/partials/paper.html.hbs",
        include_str!("../../templates/web/partials/paper.html.hbs"),
    ),
];

/// Slot markers for the per-person strings: plain ASCII that no escaping, wrapping or CSS
/// inlining changes.
const NAME_SLOT: &str = "PWSLOT0NAME0";
const EMAIL_SLOT: &str = "PWSLOT0EMAIL0";
const UNSUBSCRIBE_SLOT: &str = "PWSLOT0UNSUB0";
const PREFERENCES_SLOT: &str = "PWSLOT0PREFS0";

/// Why a digest could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot read template {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A template that does not compile, or names a field that does not exist.
    #[error("{location}: {message}")]
    Template { location: String, message: String },
    #[error("cannot inline the CSS of the HTML part: {0}")]
    Css(String),
}

/// What [`pages`] reads from a templates directory (it says itself which files in `pages/` it
/// does not use).
const PAGE_FAMILY: &[&str] = &["pages", "confirm.html.hbs", "confirm.txt.hbs"];

/// Template sources by file name, with where each came from (for error positions).
#[derive(Debug, Clone)]
pub struct Templates {
    files: BTreeMap<String, (String, PathBuf)>,
    /// Files in the templates directory that are not used (a misspelled override such as
    /// `digest.htm.hbs`), so that callers can say so instead of ignoring them silently.
    ignored: Vec<PathBuf>,
}

impl Templates {
    /// The compiled-in templates.
    pub fn builtin() -> Self {
        Self {
            files: BUILTIN
                .iter()
                .map(|(name, src)| {
                    (
                        (*name).to_owned(),
                        (
                            (*src).to_owned(),
                            PathBuf::from(format!("<built-in templates/{name}>")),
                        ),
                    )
                })
                .collect(),
            ignored: Vec::new(),
        }
    }

    /// Files in the templates directory that are not used: not a template's name, not a
    /// partial (`partials/NAME.html.hbs` or `NAME.txt.hbs`, also under `web/`). Hidden files and
    /// READMEs are not counted.
    pub fn ignored(&self) -> &[PathBuf] {
        &self.ignored
    }

    /// The built-in templates, overridden file by file by those in `dir` (when given); extra
    /// `partials/*.html.hbs` / `partials/*.txt.hbs` files there become partials too (and
    /// `web/partials/*.html.hbs` partials of the web archive's pages).
    pub fn load(dir: Option<&Path>) -> Result<Self, RenderError> {
        let mut t = Self::builtin();
        let Some(dir) = dir else { return Ok(t) };
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| RenderError::Read {
                path: path.to_owned(),
                source,
            })
        };
        if !dir.is_dir() {
            return Err(RenderError::Read {
                path: dir.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "templates.dir is not a directory",
                ),
            });
        }
        for (name, _) in BUILTIN {
            let path = dir.join(name);
            if path.is_file() {
                t.files.insert((*name).to_owned(), (read(&path)?, path));
            }
        }
        for sub in ["", "web/"] {
            t.ignored.extend(unused_entries(&dir.join(sub), |name| {
                name == "partials"
                    || (sub.is_empty() && (name == "web" || PAGE_FAMILY.contains(&name)))
                    || BUILTIN.iter().any(|(b, _)| *b == format!("{sub}{name}"))
            }));
        }
        for partials in ["partials", "web/partials"] {
            let Ok(entries) = std::fs::read_dir(dir.join(partials)) else {
                continue;
            };
            let mut extra: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            extra.sort();
            for path in extra {
                let file = path
                    .file_name()
                    .and_then(|f| f.to_str())
                    .unwrap_or_default();
                if file.ends_with(".html.hbs") || file.ends_with(".txt.hbs") {
                    let name = format!("{partials}/{file}");
                    if let std::collections::btree_map::Entry::Vacant(slot) = t.files.entry(name) {
                        slot.insert((read(&path)?, path));
                    }
                } else if counts_as_unused(file) {
                    t.ignored.push(path);
                }
            }
        }
        Ok(t)
    }
}

impl Templates {
    /// The web archive's templates (`web/…`) by name, with their sources, in name order.
    pub fn web_sources(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files
            .iter()
            .filter(|(name, _)| name.starts_with("web/"))
            .map(|(name, (src, _))| (name.as_str(), src.as_str()))
    }
}

/// The entries of `dir` that `used` does not accept, sorted (hidden files and READMEs left out).
fn unused_entries(dir: &Path, used: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut unused: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            !used(&name) && counts_as_unused(&name)
        })
        .map(|e| e.path())
        .collect();
    unused.sort();
    unused
}

/// Whether an unused file is worth a warning: not hidden, not a README, not an editor's backup.
fn counts_as_unused(name: &str) -> bool {
    !(name.starts_with('.') || name.ends_with('~') || name.to_lowercase().starts_with("readme"))
}

/// Compiled templates: an HTML registry that escapes and a text registry that does not.
pub struct Renderer {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
    css: css_inline::CSSInliner<'static>,
    /// The `paper` partials' sources (HTML, text), for the splices' catalog.
    paper_partials: (String, String),
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Renderer")
    }
}

/// Escapes text for HTML content and attribute values (`&`, `<`, `>`, `"`, `'`).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `{{wrap text width indent [first-line-prefix]}}`: word-wraps for the text part.
fn wrap_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let text = match h.param(0).map(|p| p.value()) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let width = h
        .param(1)
        .and_then(|p| p.value().as_u64())
        .unwrap_or(78)
        .clamp(20, 998) as usize;
    let indent = h.param(2).and_then(|p| p.value().as_str()).unwrap_or("");
    let first = h
        .param(3)
        .and_then(|p| p.value().as_str())
        .unwrap_or(indent);
    let wrapped = if text.contains(splice::VALUE_PREFIX) {
        // A per-reader value: wrapped once it is known (see `splice`).
        splice::wrap_later(&text, width, indent, first)
    } else {
        wrap_text(&text, width, indent, first)
    };
    out.write(&wrapped)?;
    Ok(())
}

/// `text` word-wrapped at `width`, the first line after `first`, the others after `indent`.
pub(crate) fn wrap_text(text: &str, width: usize, indent: &str, first: &str) -> String {
    if let Some(line) = one_line(text, width, first) {
        return line;
    }
    if let Some(wrapped) = first_fit(text, width, indent, first) {
        return wrapped;
    }
    let options = textwrap::Options::new(width)
        .initial_indent(first)
        .subsequent_indent(indent)
        .break_words(false)
        .word_separator(textwrap::WordSeparator::Custom(text_part_words))
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    textwrap::fill(text, options)
}

/// `first` and `text` when they fit on one line as they are, which is what [`wrap_text`] gives
/// then — without asking textwrap, which a personal email does for every "why" line. `None`
/// for anything textwrap might measure or trim otherwise: a line break, a control character,
/// white space at either end.
fn one_line(text: &str, width: usize, first: &str) -> Option<String> {
    if text.is_empty()
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace)
        || has_control(text)
        || has_control(first)
    {
        return None;
    }
    let fits = if text.is_ascii() && first.is_ascii() {
        first.len() + text.len() <= width
    } else {
        textwrap::core::display_width(first) + textwrap::core::display_width(text) <= width
    };
    fits.then(|| format!("{first}{text}"))
}

/// What [`wrap_text`] gives, without textwrap, for a line whose words [`text_part_words`]
/// takes whole (each run between spaces): textwrap's first fit as textwrap 0.16 does it — a
/// word goes to the next line when it would pass the width and the line has a word already,
/// the spaces after a line's last word are dropped, an empty text gives an empty line. A
/// personal email wraps its contents line and notes this way, which textwrap does slowly
/// (it measures every character for escape sequences). `None` for a text with a line break
/// or a control character, or a word Unicode line breaking might split: textwrap does those.
fn first_fit(text: &str, width: usize, indent: &str, first: &str) -> Option<String> {
    if has_control(text) || has_control(indent) || has_control(first) {
        return None;
    }
    if text.len() < width && first.is_empty() {
        return Some(text.trim_end_matches(' ').to_owned());
    }
    let words = whole_words(text)?;
    let widths = [
        width.saturating_sub(textwrap::core::display_width(first)),
        width.saturating_sub(textwrap::core::display_width(indent)),
    ];
    let mut lines: Vec<std::ops::Range<usize>> = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (k, w) in words.iter().enumerate() {
        if used + w.width > widths[lines.len().min(1)] && k > start {
            lines.push(start..k);
            (start, used) = (k, 0);
        }
        used += w.width + (w.spaces_end - w.end);
    }
    lines.push(start..words.len());
    let mut out = String::with_capacity(text.len() + 8 * lines.len());
    for (i, range) in lines.into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let (Some(a), Some(b)) = (words.get(range.start), range.end.checked_sub(1)) else {
            continue;
        };
        out.push_str(if i == 0 { first } else { indent });
        out.push_str(&text[a.start..words[b].end]);
    }
    Some(out)
}

/// Whether `s` has a control character (a line break, a tab, an escape): textwrap measures
/// and breaks those its own way.
fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A word of a line: where it starts and ends, where the spaces after it end, its width.
struct WholeWord {
    start: usize,
    end: usize,
    spaces_end: usize,
    width: usize,
}

/// The line's words as textwrap's ASCII-space separator finds them, when
/// [`text_part_words`] takes every one of them whole; `None` otherwise.
fn whole_words(text: &str) -> Option<Vec<WholeWord>> {
    let b = text.as_bytes();
    let mut words = Vec::with_capacity(text.len() / 6 + 1);
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i] != b' ' {
            i += 1;
        }
        let end = i;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let word = &text[start..end];
        let width = if word.is_ascii() {
            word.len()
        } else if taken_whole(word) {
            textwrap::core::display_width(word)
        } else {
            return None;
        };
        words.push(WholeWord {
            start,
            end,
            spaces_end: i,
            width,
        });
    }
    Some(words)
}

/// The words the text part wraps between: runs between ASCII spaces, as before (English keeps
/// its hyphenated words, URLs and addresses whole), and inside a run of another script the
/// break opportunities of Unicode line breaking (UAX #14), so that Chinese and Japanese, which
/// have no spaces, wrap between characters and never before closing punctuation.
fn text_part_words(line: &str) -> Box<dyn Iterator<Item = textwrap::core::Word<'_>> + '_> {
    use textwrap::WordSeparator;
    Box::new(WordSeparator::AsciiSpace.find_words(line).flat_map(|w| {
        if taken_whole(w.word) {
            return Parts::One(Some(w));
        }
        let mut parts: Vec<_> = WordSeparator::UnicodeBreakProperties
            .find_words(w.word)
            .collect();
        if let Some(last) = parts.last_mut() {
            last.whitespace = w.whitespace;
        }
        Parts::Many(parts.into_iter())
    }))
}

/// Whether a run between spaces is one word as it is: ASCII (English keeps its hyphenated
/// words), a URL or an address, or a word Unicode line breaking would not split anyway.
fn taken_whole(word: &str) -> bool {
    word.is_ascii() || word.contains("://") || word.contains('@') || unbreakable(word)
}

/// Whether Unicode line breaking finds no break inside `word`, known without running it: one
/// character, or Latin letters only (all of class AL, which never break between them).
fn unbreakable(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some() && chars.next().is_none()
        || word.chars().all(|c| {
            c.is_ascii_alphabetic()
                || ('\u{c0}'..'\u{250}').contains(&c)
                    && c.is_alphabetic()
                    && c != '\u{d7}'
                    && c != '\u{f7}'
        })
}

/// The words one run between spaces gives: itself (no allocation, the usual case), or its
/// Unicode parts.
enum Parts<'a> {
    One(Option<textwrap::core::Word<'a>>),
    Many(std::vec::IntoIter<textwrap::core::Word<'a>>),
}

impl<'a> Iterator for Parts<'a> {
    type Item = textwrap::core::Word<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::One(w) => w.take(),
            Self::Many(parts) => parts.next(),
        }
    }
}

handlebars::handlebars_helper!(concat_helper: |a: str, b: str| format!("{a}{b}"));

fn template_error(
    files: &BTreeMap<String, (String, PathBuf)>,
    name: &str,
    e: &handlebars::TemplateError,
) -> RenderError {
    let path = files
        .get(name)
        .map(|(_, p)| p.display().to_string())
        .unwrap_or_else(|| name.to_owned());
    let location = match e.pos() {
        Some((l, c)) => format!("{path}:{l}:{c}"),
        None => format!("{path}:1:1"),
    };
    RenderError::Template {
        location,
        message: format!("template does not compile: {}", e.reason()),
    }
}

impl Renderer {
    /// Compiles every template and renders the full fixture in strict mode (see
    /// [`Renderer::check_strict`]); errors name the file, line and column.
    pub fn new(templates: &Templates) -> Result<Self, RenderError> {
        let mut html = Handlebars::new();
        html.register_escape_fn(escape_html);
        let mut text = Handlebars::new();
        text.register_escape_fn(handlebars::no_escape);
        for reg in [&mut html, &mut text] {
            reg.register_helper("wrap", Box::new(wrap_helper));
            reg.register_helper("concat", Box::new(concat_helper));
            reg.set_prevent_indent(true);
        }
        // The web archive's templates (`web/…`) compile in their own registry (see `web`).
        for (name, (src, _)) in templates
            .files
            .iter()
            .filter(|(n, _)| !n.starts_with("web/"))
        {
            let (reg, reg_name) = if let Some(p) = name.strip_prefix("partials/") {
                if let Some(stem) = p.strip_suffix(".html.hbs") {
                    (&mut html, Some(stem.to_owned()))
                } else if let Some(stem) = p.strip_suffix(".txt.hbs") {
                    (&mut text, Some(stem.to_owned()))
                } else {
                    continue;
                }
            } else if name == "digest.html.hbs" {
                (&mut html, None)
            } else {
                (&mut text, None)
            };
            let result = match reg_name {
                Some(partial) => reg.register_partial(&partial, src.as_str()),
                None => reg.register_template_string("digest", src.as_str()),
            };
            result.map_err(|e| template_error(&templates.files, name, &e))?;
        }
        let css = css_inline::CSSInliner::options()
            .keep_at_rules(true)
            .load_remote_stylesheets(false)
            .build();
        let source = |name: &str| {
            templates
                .files
                .get(name)
                .map(|(src, _)| src.clone())
                .unwrap_or_default()
        };
        let paper_partials = (
            source("partials/paper.html.hbs"),
            source("partials/paper.txt.hbs"),
        );
        let renderer = Self {
            html,
            text,
            css,
            paper_partials,
        };
        renderer.check_strict(templates)?;
        Ok(renderer)
    }

    /// Renders a fixture that fills every field, in strict mode: a template that names a field
    /// that does not exist fails here (Handlebars reports a missing field only on the path it
    /// actually renders, so a normal render could hide it).
    pub fn check_strict(&self, templates: &Templates) -> Result<(), RenderError> {
        let model = model::fixture();
        for (reg, name) in [
            (&self.html, "digest.html.hbs"),
            (&self.text, "digest.txt.hbs"),
        ] {
            let mut strict = reg.clone();
            strict.set_strict_mode(true);
            let out = strict
                .render("digest", &model)
                .map_err(|e| render_error(&templates.files, name, &e))?;
            // Every message must carry a visible unsubscribe link, in both parts.
            if !out.contains(model::FIXTURE_UNSUBSCRIBE_URL) {
                let path = templates
                    .files
                    .get(name)
                    .map_or_else(|| name.to_owned(), |(_, p)| p.display().to_string());
                return Err(RenderError::Template {
                    location: format!("{path}:1:1"),
                    message: "the rendered part has no unsubscribe link: show {{subscriber.unsubscribe_url}} (in the footer partial by default)".into(),
                });
            }
        }
        Ok(())
    }

    /// Renders one variant: the view of `digest` for `spec`, with slots for per-person strings.
    /// If the HTML would exceed [`HTML_BUDGET_BYTES`], papers are dropped until it fits; every
    /// paper not shown is counted once, under its cause ([`LeftOut`]).
    pub fn render_variant(
        &self,
        digest: &Digest,
        spec: &VariantSpec,
        edition: &EditionInfo,
        settings: &DigestSettings,
    ) -> Result<Variant, RenderError> {
        let limit = spec.cap.min(settings.max_papers);
        let whose = if spec.cap < settings.max_papers {
            Cap::Reader(spec.cap)
        } else {
            Cap::Newsletter(settings.max_papers)
        };
        let mut cap = limit;
        loop {
            let view = digest.view(&spec.topics, cap);
            let left = left_out(&view, limit, whose, digest.unmatched_left_out);
            let model = model::build(digest, &view, edition, settings, &spec.topics, &left);
            let (text, html) = self.render_model(&model, spec.text_only)?;
            let size = html.as_ref().map_or(0, String::len);
            if size > HTML_BUDGET_BYTES && view.shown > 1 {
                // Shrink in proportion, with a margin, and try again.
                let next = (view.shown * HTML_BUDGET_BYTES * 95 / 100 / size).max(1);
                cap = next.min(view.shown - 1);
                continue;
            }
            return Ok(Variant {
                html,
                text,
                shown: view.shown,
                paper_ids: view
                    .sections
                    .iter()
                    .flat_map(|s| s.papers.iter().map(|&i| digest.papers[i].id.clone()))
                    .collect(),
            });
        }
    }
}

impl Renderer {
    /// The text part and (unless `text_only`) the CSS-inlined HTML part of one model.
    fn render_model(
        &self,
        model: &model::Model,
        text_only: bool,
    ) -> Result<(String, Option<String>), RenderError> {
        let text = self
            .text
            .render("digest", model)
            .map_err(|e| render_error(&BTreeMap::new(), "digest.txt.hbs", &e))?;
        let text = normalize_text(&text);
        let html = if text_only {
            None
        } else {
            let raw = self
                .html
                .render("digest", model)
                .map_err(|e| render_error(&BTreeMap::new(), "digest.html.hbs", &e))?;
            let inlined = self
                .css
                .inline(&raw)
                .map_err(|e| RenderError::Css(e.to_string()))?;
            Some(normalize_html(&inlined))
        };
        Ok((text, html))
    }
}

/// Each paper of the edition not in `view`, counted once: over the cap `limit` (whose it is),
/// dropped for size (the view was rendered with a smaller cap than `limit`), outside the
/// reader's topics, or in no section.
fn left_out(
    view: &crate::digest::DigestView,
    limit: usize,
    whose: Cap,
    unmatched: usize,
) -> LeftOut {
    let available = view.shown + view.left_out;
    let over_cap = available.saturating_sub(limit);
    LeftOut {
        over_cap,
        cap: if over_cap > 0 { whose } else { Cap::None },
        over_size: view.left_out - over_cap,
        outside_topics: view.other_topics,
        no_section: unmatched,
    }
}

fn render_error(
    files: &BTreeMap<String, (String, PathBuf)>,
    name: &str,
    e: &handlebars::RenderError,
) -> RenderError {
    let template = e.template_name.clone().unwrap_or_else(|| name.to_owned());
    let path = files
        .iter()
        .find(|(n, _)| {
            template == **n
                || n.ends_with(&format!("/{template}.html.hbs"))
                || n.ends_with(&format!("/{template}.txt.hbs"))
        })
        .map(|(_, (_, p))| p.display().to_string())
        .unwrap_or_else(|| {
            files
                .get(name)
                .map(|(_, p)| p.display().to_string())
                .unwrap_or(template)
        });
    let location = match (e.line_no, e.column_no) {
        (Some(l), Some(c)) => format!("{path}:{l}:{c}"),
        _ => format!("{path}:1:1"),
    };
    let message = match e.reason() {
        RenderErrorReason::MissingVariable(Some(v)) => {
            format!("the template names a field that does not exist: `{v}`")
        }
        other => other.to_string(),
    };
    RenderError::Template { location, message }
}

/// The signature separator of RFC 3676 (4.3): dash, dash, space, alone on its line.
const SIGNATURE_SEPARATOR: &str = "-- ";

/// Text part: no trailing spaces (but the one of the signature separator), no runs of blank
/// lines, CRLF-free, one final newline.
fn normalize_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank_run = 0;
    for line in s.lines() {
        let line = match line.trim_end() {
            "--" => SIGNATURE_SEPARATOR,
            trimmed => trimmed,
        };
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    let trimmed = out.trim_matches('\n');
    format!("{trimmed}\n")
}

/// HTML part: drop blank lines and trailing spaces that templates leave behind.
fn normalize_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.lines() {
        let line = line.trim_end();
        if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// What distinguishes one rendered variant from another. Subscribers with equal specs share
/// the whole rendering but their slots.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VariantSpec {
    /// Canonical section names in config order; empty = every section.
    pub topics: Vec<String>,
    pub cap: usize,
    pub text_only: bool,
}

impl VariantSpec {
    /// Canonicalizes a subscriber's topics against the digest's section names (config order,
    /// config spelling, duplicates dropped).
    pub fn new(topics: &[String], section_names: &[&str], cap: usize, text_only: bool) -> Self {
        let topics = section_names
            .iter()
            .filter(|name| topics.iter().any(|t| t.trim().eq_ignore_ascii_case(name)))
            .map(|s| (*s).to_owned())
            .collect();
        Self {
            topics,
            cap,
            text_only,
        }
    }
}

/// One rendered variant, with slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub html: Option<String>,
    pub text: String,
    pub shown: usize,
    pub paper_ids: Vec<crate::paper::PaperId>,
}

/// The per-person strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person<'a> {
    pub name: Option<&'a str>,
    pub email: &'a str,
    pub unsubscribe_url: &'a str,
    /// The reader's preference page ("Manage your subscription").
    pub preferences_url: &'a str,
}

/// A variant with its slots filled for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Personalized {
    pub html: Option<String>,
    pub text: String,
}

impl Variant {
    pub fn personalize(&self, person: &Person<'_>) -> Personalized {
        Personalized {
            html: self.html.as_deref().map(|h| fill_slots(h, person, true)),
            text: fill_slots(&self.text, person, false),
        }
    }
}

/// The prefix every slot marker starts with: a line without it has no per-person string.
pub(crate) const SLOT_PREFIX: &str = "PWSLOT0";

/// Whether `s` holds a slot (a per-person string goes there).
pub fn has_slot(s: &str) -> bool {
    find_slot(s).is_some()
}

/// Where the first slot marker of `s` starts (a searcher built once: this runs on every line a
/// message fills).
pub(crate) fn find_slot(s: &str) -> Option<usize> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(SLOT_PREFIX));
    FINDER.find(s.as_bytes())
}

/// Fills the slots of `s` with `person`'s strings (HTML-escaped when `escape`), in one pass.
pub fn fill_slots(s: &str, person: &Person<'_>, escape: bool) -> String {
    let mut out = String::with_capacity(s.len() + 64);
    fill_slots_into(s, person, escape, &mut out);
    out
}

/// [`fill_slots`], appending to `out`.
pub fn fill_slots_into(s: &str, person: &Person<'_>, escape: bool, out: &mut String) {
    let name = person
        .name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("there");
    let mut rest = s;
    while let Some(at) = find_slot(rest) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let (value, marker) = if tail.starts_with(NAME_SLOT) {
            (name, NAME_SLOT)
        } else if tail.starts_with(EMAIL_SLOT) {
            (person.email, EMAIL_SLOT)
        } else if tail.starts_with(UNSUBSCRIBE_SLOT) {
            (person.unsubscribe_url, UNSUBSCRIBE_SLOT)
        } else if tail.starts_with(PREFERENCES_SLOT) {
            (person.preferences_url, PREFERENCES_SLOT)
        } else {
            // Not one of ours: keep the text as it is.
            out.push_str(SLOT_PREFIX);
            rest = &tail[SLOT_PREFIX.len()..];
            continue;
        };
        if escape {
            out.push_str(&escape_html(value));
        } else {
            out.push_str(value);
        }
        rest = &tail[marker.len()..];
    }
    out.push_str(rest);
}

/// Renders the Subject line from `newsletter.subject` (no HTML escaping; lettre encodes it).
pub fn render_subject(
    template: &SubjectTemplate,
    edition: &EditionInfo,
    count: usize,
) -> Result<String, RenderError> {
    let mut reg = Handlebars::new();
    reg.register_escape_fn(handlebars::no_escape);
    // A misspelt field would silently drop out of every Subject line.
    reg.set_strict_mode(true);
    reg.register_template("subject", template.compiled().clone());
    let data = serde_json::json!({
        "title": edition.title,
        "date": edition.date_long(),
        "edition": edition.id.as_str(),
        "count": count,
    });
    reg.render("subject", &data)
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .map_err(|e| RenderError::Template {
            location: "newsletter.subject".into(),
            message: match e.reason() {
                RenderErrorReason::MissingVariable(Some(v)) => format!(
                    "names `{v}`, which does not exist (use {{{{title}}}}, {{{{date}}}}, {{{{edition}}}} or {{{{count}}}})"
                ),
                other => other.to_string(),
            },
        })
}

#[cfg(test)]
mod tests;
