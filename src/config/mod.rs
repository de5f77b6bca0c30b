//! `paperwire.toml` → checked [`Settings`].
//!
//! The file's keys are a contract (the README and `paperwire.example.toml` document every one):
//! unknown keys are errors, relative paths resolve against the config file's own directory, and
//! every value that can be wrong is checked here, with its `file:line:col`, so that later stages
//! never see a bad value. [`Settings`] holds parsed values (compiled keyword rules, the schedule,
//! the Subject template, the SMTP endpoint), so no other module parses config text again.
//! Secrets never live in the file: they come from the environment (or a `*_FILE` twin), are read
//! once by [`load`], and sit in types that never print.
//!
//! - `raw`: the file as written (serde shapes with spans) and a reader that reports every problem;
//! - `check`: raw → [`Settings`], one function per table;
//! - `smtp`: the SMTP endpoint and extra CA certificates;
//! - `secrets`: `PAPERWIRE_SECRET` and `PAPERWIRE_SMTP_PASSWORD`;
//! - `bounce`: the `[bounce]` table;
//! - `serve`: the `[serve]` table;
//! - `for_you`: the `[for_you]` table.

mod bounce;
mod check;
mod for_you;
mod raw;
mod secrets;
mod serve;
mod smtp;

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;

use crate::diag::{Location, Problems};
use crate::digest::Rules;
use crate::schedule::Schedule;

pub use bounce::{BounceSettings, VERP_TAG_CHARS};
pub use for_you::ForYouSettings;
pub use secrets::{Secrets, secret_from_env};
pub use serve::{DEFAULT_LISTEN, ServeSettings};
pub use smtp::{ExtraCas, SmtpEndpoint, TlsMode};

/// The sample config compiled into the binary: `preview` and `check` fall back to it.
pub const BUNDLED_CONFIG: &str = include_str!("../../paperwire.example.toml");
/// The file name the bundled config pretends to have, for messages.
pub const BUNDLED_CONFIG_NAME: &str = "<bundled paperwire.example.toml>";

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Problems),
    #[error(
        "no config: pass --config FILE, set PAPERWIRE_CONFIG, or create ./paperwire.toml (`paperwire init` writes a starter one)"
    )]
    Missing,
    #[error("{name} is not set; {why}")]
    MissingSecret { name: &'static str, why: String },
    #[error("cannot read {name}_FILE {path}")]
    SecretFile {
        name: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where the settings came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOrigin {
    File(PathBuf),
    /// The sample compiled into the binary (preview and check only).
    Bundled,
}

/// How to find the config: the `--config` flag, else `PAPERWIRE_CONFIG`, else `./paperwire.toml`.
/// `allow_bundled` lets `preview` and `check` fall back to the bundled sample when none exists.
pub fn locate(flag: Option<&Path>, allow_bundled: bool) -> Result<ConfigOrigin, ConfigError> {
    if let Some(p) = flag {
        return Ok(ConfigOrigin::File(p.to_owned()));
    }
    if let Some(p) = std::env::var_os("PAPERWIRE_CONFIG").filter(|v| !v.is_empty()) {
        return Ok(ConfigOrigin::File(PathBuf::from(p)));
    }
    let local = PathBuf::from("paperwire.toml");
    if local.exists() {
        return Ok(ConfigOrigin::File(local));
    }
    if allow_bundled {
        Ok(ConfigOrigin::Bundled)
    } else {
        Err(ConfigError::Missing)
    }
}

/// Loads and checks the config from where [`locate`] said, then applies the environment:
/// `PAPERWIRE_SMTP_URL` and the secrets.
pub fn load(origin: &ConfigOrigin) -> Result<Settings, ConfigError> {
    load_salvaging(origin).map_err(|failure| failure.error)
}

/// What a config with problems still says: the parts `paperwire check` needs to go on
/// checking the templates, the file sources and the subscriber list in the same run, so that
/// one run lists every problem rather than the config's alone.
#[derive(Debug, Clone)]
pub struct Salvage {
    pub path: PathBuf,
    pub origin: ConfigOrigin,
    /// The sections whose names could be read (the catch-all last, when enabled).
    pub section_names: Vec<String>,
    /// The sources that could be read.
    pub sources: Vec<SourceSettings>,
    pub templates_dir: Option<PathBuf>,
    pub subscribers_path: PathBuf,
    /// `[digest]` as far as it checked (the web archive's templates render with it).
    pub digest: DigestSettings,
}

impl Salvage {
    /// The same parts of a config that loaded.
    pub fn of(settings: &Settings) -> Self {
        Self {
            path: settings.path.clone(),
            origin: settings.origin.clone(),
            section_names: settings
                .section_names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            sources: settings.sources.clone(),
            templates_dir: settings.templates_dir.clone(),
            subscribers_path: settings.subscribers_path.clone(),
            digest: settings.digest.clone(),
        }
    }

    /// Whether this is the bundled sample rather than a user's file.
    pub fn is_bundled(&self) -> bool {
        self.origin == ConfigOrigin::Bundled
    }
}

/// A config that did not load, and what could still be read of it.
#[derive(Debug)]
pub struct ConfigFailure {
    pub error: ConfigError,
    pub salvage: Option<Salvage>,
}

/// [`load`], keeping on failure what could still be read of the file ([`Salvage`]).
pub fn load_salvaging(origin: &ConfigOrigin) -> Result<Settings, Box<ConfigFailure>> {
    let fail = |error, salvage| Box::new(ConfigFailure { error, salvage });
    let parsed = match origin {
        ConfigOrigin::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| {
                let error = ConfigError::Read {
                    path: path.clone(),
                    source,
                };
                fail(error, None)
            })?;
            let base_dir = path
                .parent()
                .map(Path::to_path_buf)
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| PathBuf::from("."));
            Settings::parse_salvaging(&text, path, &base_dir, origin.clone())
        }
        ConfigOrigin::Bundled => Settings::parse_salvaging(
            BUNDLED_CONFIG,
            Path::new(BUNDLED_CONFIG_NAME),
            Path::new("."),
            ConfigOrigin::Bundled,
        ),
    };
    let mut settings = parsed
        .map_err(|(problems, salvage)| fail(ConfigError::Invalid(problems), salvage.map(|s| *s)))?;
    if let Ok(url) = std::env::var("PAPERWIRE_SMTP_URL")
        && !url.is_empty()
    {
        settings.delivery.smtp = SmtpEndpoint::parse(&url).map_err(|e| {
            let at = Location::file(Path::new("PAPERWIRE_SMTP_URL"));
            let error = ConfigError::Invalid(Problems::one(at, e));
            fail(error, Some(Salvage::of(&settings)))
        })?;
    }
    settings.secrets =
        Secrets::from_env().map_err(|error| fail(error, Some(Salvage::of(&settings))))?;
    Ok(settings)
}

/// The newsletter's identity.
#[derive(Debug, Clone)]
pub struct Newsletter {
    pub title: String,
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub list_id: String,
    /// Public base URL in front of `paperwire serve`, without a trailing slash.
    pub base_url: String,
    pub timezone: chrono_tz::Tz,
    pub subject: SubjectTemplate,
    pub more_url: String,
    pub unsubscribe_mailto: lettre::Address,
}

/// `newsletter.subject`, compiled once at load (Handlebars; `{{title}}`, `{{date}}`,
/// `{{edition}}`, `{{count}}`).
#[derive(Debug, Clone)]
pub struct SubjectTemplate {
    source: String,
    compiled: handlebars::Template,
}

impl SubjectTemplate {
    /// The default Subject: the title and the edition's long date.
    pub const DEFAULT: &str = "{{title}} — {{date}}";

    pub fn parse(source: &str) -> Result<Self, handlebars::TemplateError> {
        Ok(Self {
            source: source.to_owned(),
            compiled: handlebars::Template::compile(source)?,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn compiled(&self) -> &handlebars::Template {
        &self.compiled
    }
}

/// Where papers come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSettings {
    HuggingFace {
        url: String,
        limit: Option<u32>,
    },
    Arxiv {
        url: String,
        skip_replacements: bool,
        /// The API's `search_query`; `None` reads the listing at `url` (RSS or Atom).
        query: Option<String>,
        /// With `query`: the most papers to take (the newest first).
        limit: Option<u32>,
    },
    File {
        path: PathBuf,
    },
}

pub const DEFAULT_HF_URL: &str = "https://huggingface.co/api/daily_papers";
pub const DEFAULT_ARXIV_URL: &str = "https://rss.arxiv.org/rss/cs.LG";
/// Where an arXiv source with a `query` asks by default.
pub const DEFAULT_ARXIV_API_URL: &str = "https://export.arxiv.org/api/query";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSettings {
    pub max_papers: usize,
    pub teaser_chars: usize,
    pub repeat_after_days: u32,
    pub max_authors: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Outbox,
    Smtp,
    Sendmail,
}

impl std::str::FromStr for TransportKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "outbox" => Ok(Self::Outbox),
            "smtp" => Ok(Self::Smtp),
            "sendmail" => Ok(Self::Sendmail),
            other => Err(format!(
                "unknown transport `{other}` (expected \"outbox\", \"smtp\" or \"sendmail\")"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub transport: TransportKind,
    pub outbox_dir: PathBuf,
    /// `delivery.smtp_url`, or `PAPERWIRE_SMTP_URL` when set.
    pub smtp: SmtpEndpoint,
    pub concurrency: usize,
    pub max_per_second: u32,
    pub retries: u32,
    pub return_path: Option<lettre::Address>,
    pub timeout: Duration,
    pub sendmail_command: Option<String>,
    pub retry_deadline: Duration,
    /// `delivery.tls_ca_file` and the certificates in it (at least one), trusted for the SMTP
    /// server on top of the built-in web PKI roots.
    pub tls_ca: Option<ExtraCas>,
}

/// `[schedule]`: when `paperwire run` sends.
#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    /// `cron`, parsed, in the newsletter's time zone.
    pub schedule: Schedule,
    pub catch_up: Duration,
}

/// `[archive]`: the web archive of past editions (see [`crate::archive`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSettings {
    /// `archive.dir`: where `send` and `run` add each edition after its first complete send.
    pub dir: Option<PathBuf>,
    /// `archive.base_url`, without a trailing slash: where the archive is published, for the
    /// email's links to it.
    pub base_url: String,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub origin: ConfigOrigin,
    pub path: PathBuf,
    pub newsletter: Newsletter,
    pub sources: Vec<SourceSettings>,
    /// The `[[section]]` keyword rules, compiled, and the catch-all.
    pub rules: Rules,
    pub digest: DigestSettings,
    pub templates_dir: Option<PathBuf>,
    pub subscribers_path: PathBuf,
    pub delivery: DeliverySettings,
    pub state_dir: PathBuf,
    pub schedule: Option<ScheduleSettings>,
    /// `[bounce]`: when bounces stop mail to an address, and VERP.
    pub bounce: BounceSettings,
    /// `[archive]`, when the table is there: the email then links to the edition's page.
    pub archive: Option<ArchiveSettings>,
    /// `[serve]`: where `paperwire serve` listens, signup, and its limits.
    pub serve: ServeSettings,
    /// `[for_you]`: where liked papers are looked up.
    pub for_you: ForYouSettings,
    /// From the environment (set by [`load`]; empty when parsed from text alone).
    pub secrets: Secrets,
}

impl Settings {
    /// Whether this is the bundled sample rather than a user's file.
    pub fn is_bundled(&self) -> bool {
        self.origin == ConfigOrigin::Bundled
    }

    /// Section names in config order, with the catch-all last when enabled.
    pub fn section_names(&self) -> Vec<&str> {
        self.rules.section_names()
    }
}

/// `90s`, `30m`, `6h`, `2d` (or a combination like `1h30m`).
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let s = raw.trim();
    let bad = || format!("`{raw}` is not a duration (expected e.g. 30m, 6h, 2d)");
    if s.is_empty() {
        return Err("empty duration (expected e.g. 30m, 6h, 2d)".into());
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return Err(bad()),
        };
        let n: u64 = num.parse().map_err(|_| bad())?;
        total = total.saturating_add(n.saturating_mul(unit));
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!("`{raw}` needs a unit (s, m, h or d)"));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_name_their_tls_mode() {
        let e = SmtpEndpoint::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((e.port, e.tls), (2525, TlsMode::None));
        let e = SmtpEndpoint::parse("smtp://me@mail.example.org?tls=required").unwrap();
        assert_eq!(
            (e.port, e.tls, e.user.as_deref()),
            (587, TlsMode::StartTls, Some("me"))
        );
        let e = SmtpEndpoint::parse("smtps://mail.example.org").unwrap();
        assert_eq!((e.port, e.tls), (465, TlsMode::Implicit));
        assert!(SmtpEndpoint::parse("smtp://u:pw@host").is_err());
        assert!(SmtpEndpoint::parse("http://host").is_err());
        assert!(SmtpEndpoint::parse("smtps://host?tls=required").is_err());
        assert_eq!(
            SmtpEndpoint::parse("smtps://[::1]:2465")
                .unwrap()
                .authority(),
            "[::1]:2465"
        );
        assert_eq!(e.authority(), "mail.example.org:465");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("6h").unwrap(), Duration::from_secs(21600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("6").is_err());
        assert!(parse_duration("six hours").is_err());
    }

    #[test]
    fn the_bundled_sample_loads() {
        let s = load(&ConfigOrigin::Bundled).unwrap();
        assert!(s.rules.sections.len() >= 6);
        assert!(s.is_bundled());
    }

    #[test]
    fn secrets_never_print() {
        let mut s = load(&ConfigOrigin::Bundled).unwrap();
        s.secrets = Secrets::for_tests("hunter2-signing", Some("hunter2-smtp"));
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
