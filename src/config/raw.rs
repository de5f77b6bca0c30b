//! `paperwire.toml` as written: the serde shapes of its tables, with spans for positions, and
//! a reader that reports every unknown key and wrong value rather than only the first.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::diag::{Location, Problem, Problems};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) newsletter: RawNewsletter,
    #[serde(default, rename = "source")]
    pub(super) sources: Vec<RawSource>,
    #[serde(default, rename = "section")]
    pub(super) sections: Vec<RawSection>,
    #[serde(default)]
    pub(super) catch_all: RawCatchAll,
    #[serde(default)]
    pub(super) digest: RawDigest,
    #[serde(default)]
    pub(super) templates: RawTemplates,
    #[serde(default)]
    pub(super) subscribers: RawSubscribers,
    #[serde(default)]
    pub(super) delivery: RawDelivery,
    #[serde(default)]
    pub(super) state: RawState,
    #[serde(default)]
    pub(super) schedule: Option<RawSchedule>,
    #[serde(default)]
    pub(super) bounce: super::bounce::RawBounce,
    #[serde(default)]
    pub(super) archive: Option<RawArchive>,
    #[serde(default)]
    pub(super) serve: super::serve::RawServe,
    #[serde(default)]
    pub(super) for_you: super::for_you::RawForYou,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNewsletter {
    pub(super) title: Spanned<String>,
    pub(super) from: Spanned<String>,
    #[serde(default)]
    pub(super) reply_to: Option<Spanned<String>>,
    pub(super) list_id: Spanned<String>,
    pub(super) base_url: Spanned<String>,
    #[serde(default = "default_timezone")]
    pub(super) timezone: Spanned<String>,
    /// Added key: the Subject template (Handlebars; `{{title}}`, `{{date}}`, `{{edition}}`).
    #[serde(default)]
    pub(super) subject: Option<Spanned<String>>,
    /// Added key: where "see all papers" links point (default: Hugging Face's papers page).
    #[serde(default)]
    pub(super) more_url: Option<Spanned<String>>,
    /// Added key: the mailbox of the `mailto:` unsubscribe (default: the From address).
    #[serde(default)]
    pub(super) unsubscribe_mailto: Option<Spanned<String>>,
}

fn default_timezone() -> Spanned<String> {
    Spanned::new(0..0, "UTC".to_owned())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) kind: Spanned<String>,
    #[serde(default)]
    pub(super) url: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) path: Option<Spanned<String>>,
    /// huggingface: how many papers to ask for.
    #[serde(default)]
    pub(super) limit: Option<u32>,
    /// arxiv: leave out `replace` and `replace-cross` announcements.
    #[serde(default)]
    pub(super) skip_replacements: Option<bool>,
    /// Added key — arxiv: an arXiv API `search_query` (`cat:cs.LG AND abs:diffusion`); the
    /// source then asks the API for the day's papers matching it instead of reading a listing.
    #[serde(default)]
    pub(super) query: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSection {
    pub(super) name: Spanned<String>,
    pub(super) keywords: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(super) exclude: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCatchAll {
    #[serde(default = "yes")]
    pub(super) enabled: bool,
    #[serde(default = "default_catch_all_name")]
    pub(super) name: String,
}

impl Default for RawCatchAll {
    fn default() -> Self {
        Self {
            enabled: true,
            name: default_catch_all_name(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_catch_all_name() -> String {
    "More papers".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDigest {
    #[serde(default = "default_max_papers")]
    pub(super) max_papers: Spanned<u32>,
    #[serde(default = "default_teaser_chars")]
    pub(super) teaser_chars: Spanned<u32>,
    #[serde(default)]
    pub(super) repeat_after_days: u32,
    /// Added key: authors shown before "et al.".
    #[serde(default = "default_max_authors")]
    pub(super) max_authors: u32,
}

impl Default for RawDigest {
    fn default() -> Self {
        Self {
            max_papers: default_max_papers(),
            teaser_chars: default_teaser_chars(),
            repeat_after_days: 0,
            max_authors: default_max_authors(),
        }
    }
}

fn default_max_papers() -> Spanned<u32> {
    Spanned::new(0..0, 60)
}
fn default_teaser_chars() -> Spanned<u32> {
    Spanned::new(0..0, 280)
}
fn default_max_authors() -> u32 {
    3
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTemplates {
    #[serde(default)]
    pub(super) dir: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSubscribers {
    #[serde(default = "default_subscribers_path")]
    pub(super) path: String,
}

impl Default for RawSubscribers {
    fn default() -> Self {
        Self {
            path: default_subscribers_path(),
        }
    }
}
fn default_subscribers_path() -> String {
    "subscribers.toml".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    #[serde(default = "default_transport")]
    pub(super) transport: Spanned<String>,
    #[serde(default = "default_outbox")]
    pub(super) outbox_dir: String,
    #[serde(default = "default_smtp_url")]
    pub(super) smtp_url: Spanned<String>,
    #[serde(default = "default_concurrency")]
    pub(super) concurrency: Spanned<u32>,
    #[serde(default)]
    pub(super) max_per_second: u32,
    #[serde(default = "default_retries")]
    pub(super) retries: u32,
    /// Added key: the envelope sender (Return-Path) that receives bounces; default: From.
    #[serde(default)]
    pub(super) return_path: Option<Spanned<String>>,
    /// Added key: seconds to wait for any one SMTP reply or connection.
    #[serde(default = "default_timeout_secs")]
    pub(super) timeout_secs: u32,
    /// Added key: the sendmail binary for `transport = "sendmail"`.
    #[serde(default)]
    pub(super) sendmail_command: Option<String>,
    /// Added key: deferred recipients are retried until this long after the edition's first
    /// send (used by `paperwire run`).
    #[serde(default = "default_retry_deadline")]
    pub(super) retry_deadline: Spanned<String>,
    /// Added key: a PEM file of extra CA certificates to trust for the SMTP server.
    #[serde(default)]
    pub(super) tls_ca_file: Option<Spanned<String>>,
}

impl Default for RawDelivery {
    fn default() -> Self {
        Self {
            transport: default_transport(),
            outbox_dir: default_outbox(),
            smtp_url: default_smtp_url(),
            concurrency: default_concurrency(),
            max_per_second: 0,
            retries: default_retries(),
            return_path: None,
            timeout_secs: default_timeout_secs(),
            sendmail_command: None,
            retry_deadline: default_retry_deadline(),
            tls_ca_file: None,
        }
    }
}

fn default_transport() -> Spanned<String> {
    Spanned::new(0..0, "outbox".to_owned())
}
fn default_outbox() -> String {
    "outbox".to_owned()
}
fn default_smtp_url() -> Spanned<String> {
    Spanned::new(0..0, "smtp://127.0.0.1:25".to_owned())
}
fn default_concurrency() -> Spanned<u32> {
    Spanned::new(0..0, 8)
}
fn default_retries() -> u32 {
    3
}
fn default_timeout_secs() -> u32 {
    30
}
fn default_retry_deadline() -> Spanned<String> {
    Spanned::new(0..0, "12h".to_owned())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    #[serde(default = "default_state_dir")]
    pub(super) dir: String,
}

impl Default for RawState {
    fn default() -> Self {
        Self {
            dir: default_state_dir(),
        }
    }
}
fn default_state_dir() -> String {
    ".paperwire".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    pub(super) cron: Spanned<String>,
    #[serde(default = "default_catch_up")]
    pub(super) catch_up: Spanned<String>,
}

/// `[archive]`: the web archive of past editions.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArchive {
    /// Where `send`/`run` add each edition after its first complete send.
    #[serde(default)]
    pub(super) dir: Option<String>,
    /// The archive's public URL, for links in the email (default `<newsletter.base_url>/archive`).
    #[serde(default)]
    pub(super) base_url: Option<Spanned<String>>,
}

fn default_catch_up() -> Spanned<String> {
    Spanned::new(0..0, "6h".to_owned())
}

/// Deserializes the config, collecting every unknown key and wrong value rather than stopping
/// at the first (serde stops there). Each such `key = value` line is blanked out (with spaces,
/// so that later positions stay true) and the text is read again; what is left unreadable
/// after that is the last problem. Returns the settings read from the remaining keys and the
/// problems found on the way; when nothing usable is left, the problems alone.
pub(super) fn deserialize_all_problems(
    text: &str,
    path: &Path,
) -> Result<(RawConfig, Vec<Problem>), Problems> {
    const MAX_ROUNDS: usize = 50;
    let mut work = text.to_owned();
    let mut problems: Vec<Problem> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let e = match toml::from_str::<RawConfig>(&work) {
            Ok(raw) => return Ok((raw, problems)),
            Err(e) => e,
        };
        let message = e.message().trim().to_owned();
        let offset = e.span().map_or(0, |s| s.start);
        let recoverable = message.starts_with("unknown field")
            || message.starts_with("invalid type")
            || message.starts_with("invalid value");
        // The text parsed as TOML before any blanking (its first problem was a recoverable
        // one), so anything else now — a key missing because it was blanked, a multi-line
        // value cut in half — is our own doing, not news.
        let artifact = !problems.is_empty() && !recoverable;
        if !artifact {
            problems.push(Problem::new(Location::at(path, text, offset), message));
        }
        if !recoverable || artifact {
            break;
        }
        // Blank the offending `key = value` (all its lines), keeping every byte offset.
        let range = key_value_span(&work, offset).unwrap_or_else(|| {
            let start = work[..offset.min(work.len())]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let end = work[offset.min(work.len())..]
                .find('\n')
                .map_or(work.len(), |i| offset + i);
            start..end
        });
        let blank: String = work[range.clone()]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        work.replace_range(range, &blank);
    }
    Err(Problems(problems))
}

/// The byte range of the `key = value` pair whose key or value holds `offset`.
fn key_value_span(text: &str, offset: usize) -> Option<std::ops::Range<usize>> {
    fn search(table: &dyn toml_edit::TableLike, offset: usize) -> Option<std::ops::Range<usize>> {
        for (key, item) in table.iter() {
            let (k, _) = table.get_key_value(key)?;
            if let (Some(ks), Some(vs)) = (k.span(), item.span())
                && item.is_value()
                && (ks.contains(&offset) || vs.contains(&offset))
            {
                return Some(ks.start..vs.end);
            }
            if let Some(t) = item.as_table_like()
                && let Some(r) = search(t, offset)
            {
                return Some(r);
            }
            if let Some(array) = item.as_array_of_tables() {
                for t in array.iter() {
                    if let Some(r) = search(t, offset) {
                        return Some(r);
                    }
                }
            }
        }
        None
    }
    let doc = toml_edit::Document::parse(text).ok()?;
    search(doc.as_table(), offset)
}
