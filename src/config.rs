//! `paperwire.toml` → checked [`Settings`].
//!
//! The file's keys are a contract (see the README and `paperwire.example.toml`): unknown keys are
//! errors, relative paths resolve against the config file's own directory, and every value that
//! can be wrong is checked here, with its `file:line:col`, so that later stages never see a bad
//! value. Secrets never live in the file: they come from the environment (or a `*_FILE` twin).

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;
use serde::Deserialize;
use toml::Spanned;

use crate::diag::{Location, Problem, Problems};

/// The sample config compiled into the binary: `preview` and `check` fall back to it.
pub const BUNDLED_CONFIG: &str = include_str!("../paperwire.example.toml");
/// The file name the bundled config pretends to have, for messages.
pub const BUNDLED_CONFIG_NAME: &str = "<bundled paperwire.example.toml>";

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Problems),
    #[error(
        "no config: pass --config FILE, set PAPERWIRE_CONFIG, or create ./paperwire.toml (see paperwire.example.toml)"
    )]
    Missing,
    #[error("{name} is not set; {why}")]
    MissingSecret { name: &'static str, why: String },
    #[error("cannot read {name}_FILE {path}: {source}")]
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

/// Loads and checks the config from where [`locate`] said.
pub fn load(origin: &ConfigOrigin) -> Result<Settings, ConfigError> {
    match origin {
        ConfigOrigin::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let base_dir = path
                .parent()
                .map(Path::to_path_buf)
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| PathBuf::from("."));
            Settings::parse(&text, path, &base_dir, origin.clone()).map_err(ConfigError::Invalid)
        }
        ConfigOrigin::Bundled => Settings::parse(
            BUNDLED_CONFIG,
            Path::new(BUNDLED_CONFIG_NAME),
            Path::new("."),
            ConfigOrigin::Bundled,
        )
        .map_err(ConfigError::Invalid),
    }
}

// ---------------------------------------------------------------------------------------------
// The file as written.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    newsletter: RawNewsletter,
    #[serde(default, rename = "source")]
    sources: Vec<RawSource>,
    #[serde(default, rename = "section")]
    sections: Vec<RawSection>,
    #[serde(default)]
    catch_all: RawCatchAll,
    #[serde(default)]
    digest: RawDigest,
    #[serde(default)]
    templates: RawTemplates,
    #[serde(default)]
    subscribers: RawSubscribers,
    #[serde(default)]
    delivery: RawDelivery,
    #[serde(default)]
    state: RawState,
    #[serde(default)]
    schedule: Option<RawSchedule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNewsletter {
    title: Spanned<String>,
    from: Spanned<String>,
    #[serde(default)]
    reply_to: Option<Spanned<String>>,
    list_id: Spanned<String>,
    base_url: Spanned<String>,
    #[serde(default = "default_timezone")]
    timezone: Spanned<String>,
    /// Added key: the Subject template (Handlebars; `{{title}}`, `{{date}}`, `{{edition}}`).
    #[serde(default)]
    subject: Option<Spanned<String>>,
    /// Added key: where "see all papers" links point (default: Hugging Face's papers page).
    #[serde(default)]
    more_url: Option<Spanned<String>>,
    /// Added key: the mailbox of the `mailto:` unsubscribe (default: the From address).
    #[serde(default)]
    unsubscribe_mailto: Option<Spanned<String>>,
}

fn default_timezone() -> Spanned<String> {
    Spanned::new(0..0, "UTC".to_owned())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    kind: Spanned<String>,
    #[serde(default)]
    url: Option<Spanned<String>>,
    #[serde(default)]
    path: Option<Spanned<String>>,
    /// huggingface: how many papers to ask for.
    #[serde(default)]
    limit: Option<u32>,
    /// arxiv: leave out `replace` and `replace-cross` announcements.
    #[serde(default)]
    skip_replacements: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    name: Spanned<String>,
    keywords: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatchAll {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "default_catch_all_name")]
    name: String,
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
struct RawDigest {
    #[serde(default = "default_max_papers")]
    max_papers: Spanned<u32>,
    #[serde(default = "default_teaser_chars")]
    teaser_chars: Spanned<u32>,
    #[serde(default)]
    repeat_after_days: u32,
    /// Added key: authors shown before "et al.".
    #[serde(default = "default_max_authors")]
    max_authors: u32,
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
struct RawTemplates {
    #[serde(default)]
    dir: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubscribers {
    #[serde(default = "default_subscribers_path")]
    path: String,
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
struct RawDelivery {
    #[serde(default = "default_transport")]
    transport: Spanned<String>,
    #[serde(default = "default_outbox")]
    outbox_dir: String,
    #[serde(default = "default_smtp_url")]
    smtp_url: Spanned<String>,
    #[serde(default = "default_concurrency")]
    concurrency: Spanned<u32>,
    #[serde(default)]
    max_per_second: u32,
    #[serde(default = "default_retries")]
    retries: u32,
    /// Added key: the envelope sender (Return-Path) that receives bounces; default: From.
    #[serde(default)]
    return_path: Option<Spanned<String>>,
    /// Added key: seconds to wait for any one SMTP reply or connection.
    #[serde(default = "default_timeout_secs")]
    timeout_secs: u32,
    /// Added key: the sendmail binary for `transport = "sendmail"`.
    #[serde(default)]
    sendmail_command: Option<String>,
    /// Added key: deferred recipients are retried until this long after the edition's first
    /// send (used by `paperwire run`).
    #[serde(default = "default_retry_deadline")]
    retry_deadline: Spanned<String>,
    /// Added key: a PEM file of extra CA certificates to trust for the SMTP server.
    #[serde(default)]
    tls_ca_file: Option<Spanned<String>>,
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
struct RawState {
    #[serde(default = "default_state_dir")]
    dir: String,
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
struct RawSchedule {
    cron: Spanned<String>,
    #[serde(default = "default_catch_up")]
    catch_up: Spanned<String>,
}

fn default_catch_up() -> Spanned<String> {
    Spanned::new(0..0, "6h".to_owned())
}

// ---------------------------------------------------------------------------------------------
// The checked settings.

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
    pub subject: String,
    pub more_url: String,
    pub unsubscribe_mailto: lettre::Address,
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
    },
    File {
        path: PathBuf,
    },
}

pub const DEFAULT_HF_URL: &str = "https://huggingface.co/api/daily_papers";
pub const DEFAULT_ARXIV_URL: &str = "https://rss.arxiv.org/rss/cs.LG";

/// One `[[section]]`: its keyword rules as written (the digest module compiles them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionSettings {
    pub name: String,
    pub keywords: Vec<String>,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchAll {
    pub enabled: bool,
    pub name: String,
}

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

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `smtp://host:port`: plain text (AUTH refused unless the host is loopback).
    None,
    /// `smtp://host:port?tls=opportunistic`: STARTTLS when offered.
    Opportunistic,
    /// `smtp://host:587?tls=required`: STARTTLS or fail.
    StartTls,
    /// `smtps://host:465`: TLS from the first byte.
    Implicit,
}

/// A parsed `smtp_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpEndpoint {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: Option<String>,
}

impl SmtpEndpoint {
    /// `smtp://[user@]host[:port][?tls=required|opportunistic|none]` or `smtps://[user@]host[:port]`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("`{raw}` is not a URL: {e}"))?;
        if !url.password().unwrap_or("").is_empty() {
            return Err(
                "the SMTP password must not be in the URL; set PAPERWIRE_SMTP_PASSWORD".to_owned(),
            );
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("`{raw}` has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let mut tls_param = None;
        for (k, v) in url.query_pairs() {
            match &*k {
                "tls" => tls_param = Some(v.into_owned()),
                other => return Err(format!("unknown SMTP URL parameter `{other}` (only `tls`)")),
            }
        }
        let (tls, default_port) = match (url.scheme(), tls_param.as_deref()) {
            ("smtps", None | Some("implicit")) => (TlsMode::Implicit, 465),
            ("smtps", Some(other)) => {
                return Err(format!(
                    "smtps:// is implicit TLS; `tls={other}` does not apply (use smtp://host:587?tls=required for STARTTLS)"
                ));
            }
            ("smtp", None | Some("none")) => (TlsMode::None, 25),
            ("smtp", Some("required" | "starttls")) => (TlsMode::StartTls, 587),
            ("smtp", Some("opportunistic")) => (TlsMode::Opportunistic, 25),
            ("smtp", Some("implicit")) => (TlsMode::Implicit, 465),
            ("smtp", Some(other)) => {
                return Err(format!(
                    "unknown tls mode `{other}` (expected required, opportunistic or none; or use smtps:// for implicit TLS)"
                ));
            }
            (other, _) => {
                return Err(format!(
                    "unknown SMTP URL scheme `{other}` (expected smtp:// or smtps://)"
                ));
            }
        };
        let user = Some(url.username()).filter(|u| !u.is_empty()).map(|u| {
            percent_encoding::percent_decode_str(u)
                .decode_utf8_lossy()
                .into_owned()
        });
        Ok(Self {
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            user,
        })
    }

    /// `host:port`, with an IPv6 host in brackets (as in a URL).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub transport: TransportKind,
    pub outbox_dir: PathBuf,
    /// As configured (before the `PAPERWIRE_SMTP_URL` override); see [`Settings::smtp_endpoint`].
    pub smtp_url: String,
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

/// CA certificates from `delivery.tls_ca_file`, checked at load.
#[derive(Debug, Clone)]
pub struct ExtraCas {
    pub path: PathBuf,
    /// DER, in file order.
    pub certs: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl ExtraCas {
    /// Reads `path`: a PEM file with at least one `CERTIFICATE` block, each usable as a trust
    /// anchor. Other PEM blocks (a key, say) are ignored.
    pub fn load(path: &Path) -> Result<Self, String> {
        use rustls::pki_types::pem::{self, PemObject as _};
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let certs = rustls::pki_types::CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, pem::Error>>()
            .map_err(|e| format!("{} is not a PEM file: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ));
        }
        let mut store = rustls::RootCertStore::empty();
        for (i, cert) in certs.iter().enumerate() {
            store.add(cert.clone()).map_err(|e| {
                format!(
                    "certificate {} in {} is not a usable CA certificate: {e}",
                    i + 1,
                    path.display()
                )
            })?;
        }
        Ok(Self {
            path: path.to_owned(),
            certs,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSettings {
    pub cron: String,
    pub catch_up: Duration,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub origin: ConfigOrigin,
    pub path: PathBuf,
    pub newsletter: Newsletter,
    pub sources: Vec<SourceSettings>,
    pub sections: Vec<SectionSettings>,
    pub catch_all: CatchAll,
    pub digest: DigestSettings,
    pub templates_dir: Option<PathBuf>,
    pub subscribers_path: PathBuf,
    pub delivery: DeliverySettings,
    pub state_dir: PathBuf,
    pub schedule: Option<ScheduleSettings>,
}

impl Settings {
    /// Parses and checks config text; `path` names it in messages, `base_dir` anchors relative
    /// paths. Returns every problem found, not just the first.
    pub fn parse(
        text: &str,
        path: &Path,
        base_dir: &Path,
        origin: ConfigOrigin,
    ) -> Result<Self, Problems> {
        let (raw, mut problems) = deserialize_all_problems(text, path)?;
        let at = |offset: usize| Location::at(path, text, offset);
        let mut bad = |offset: usize, msg: String| problems.push(Problem::new(at(offset), msg));

        // [newsletter]
        let n = &raw.newsletter;
        if n.title.get_ref().trim().is_empty() {
            bad(n.title.span().start, "newsletter.title is empty".into());
        }
        let from = n
            .from
            .get_ref()
            .parse::<Mailbox>()
            .map_err(|e| {
                bad(
                    n.from.span().start,
                    format!(
                        "newsletter.from `{}` is not a mailbox: {e}",
                        n.from.get_ref()
                    ),
                )
            })
            .ok();
        let reply_to = n.reply_to.as_ref().and_then(|r| {
            r.get_ref()
                .parse::<Mailbox>()
                .map_err(|e| {
                    bad(
                        r.span().start,
                        format!(
                            "newsletter.reply_to `{}` is not a mailbox: {e}",
                            r.get_ref()
                        ),
                    )
                })
                .ok()
        });
        let list_id = n.list_id.get_ref().trim().to_owned();
        if list_id.is_empty()
            || !list_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b))
        {
            bad(
                n.list_id.span().start,
                format!(
                    "newsletter.list_id `{list_id}` must be a dotted name like trending.example.org"
                ),
            );
        }
        let base_url = match url::Url::parse(n.base_url.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                Some(u.as_str().trim_end_matches('/').to_owned())
            }
            _ => {
                bad(
                    n.base_url.span().start,
                    format!(
                        "newsletter.base_url `{}` is not an http(s) URL",
                        n.base_url.get_ref()
                    ),
                );
                None
            }
        };
        let timezone = n
            .timezone
            .get_ref()
            .parse::<chrono_tz::Tz>()
            .map_err(|_| {
                bad(
                    n.timezone.span().start,
                    format!(
                        "newsletter.timezone `{}` is not an IANA time zone (like Europe/Paris)",
                        n.timezone.get_ref()
                    ),
                )
            })
            .ok();
        let subject = n
            .subject
            .as_ref()
            .map(|s| s.get_ref().clone())
            .unwrap_or_else(|| "{{title}} — {{date}}".to_owned());
        if let Some(s) = &n.subject
            && let Err(e) = handlebars::Template::compile(s.get_ref())
        {
            bad(
                s.span().start,
                format!("newsletter.subject is not a valid template: {e}"),
            );
        }
        let more_url = match &n.more_url {
            Some(u) => match crate::paper::HttpUrl::parse(u.get_ref()) {
                Ok(u) => u.as_str().to_owned(),
                Err(e) => {
                    bad(u.span().start, format!("newsletter.more_url: {e}"));
                    String::new()
                }
            },
            None => "https://huggingface.co/papers".to_owned(),
        };
        let unsubscribe_mailto = match &n.unsubscribe_mailto {
            Some(m) => m
                .get_ref()
                .parse::<lettre::Address>()
                .map_err(|e| {
                    bad(
                        m.span().start,
                        format!(
                            "newsletter.unsubscribe_mailto `{}` is not an address: {e}",
                            m.get_ref()
                        ),
                    )
                })
                .ok(),
            None => from.as_ref().map(|f| f.email.clone()),
        };

        // [[source]]
        let mut sources = Vec::new();
        for s in &raw.sources {
            let url = s.url.as_ref().map(|u| u.get_ref().clone());
            if let Some(u) = &s.url
                && crate::paper::HttpUrl::parse(u.get_ref()).is_err()
            {
                bad(
                    u.span().start,
                    format!("source url `{}` is not an http(s) URL", u.get_ref()),
                );
            }
            match s.kind.get_ref().as_str() {
                "huggingface" => sources.push(SourceSettings::HuggingFace {
                    url: url.unwrap_or_else(|| DEFAULT_HF_URL.to_owned()),
                    limit: s.limit,
                }),
                "arxiv" => sources.push(SourceSettings::Arxiv {
                    url: url.unwrap_or_else(|| DEFAULT_ARXIV_URL.to_owned()),
                    skip_replacements: s.skip_replacements.unwrap_or(false),
                }),
                "file" => match &s.path {
                    Some(p) => sources.push(SourceSettings::File {
                        path: base_dir.join(p.get_ref()),
                    }),
                    None => bad(
                        s.kind.span().start,
                        "a source of kind \"file\" needs `path`".into(),
                    ),
                },
                other => bad(
                    s.kind.span().start,
                    format!(
                        "unknown source kind `{other}` (expected \"huggingface\", \"arxiv\" or \"file\")"
                    ),
                ),
            }
        }

        // [[section]]
        let mut sections: Vec<SectionSettings> = Vec::new();
        for s in &raw.sections {
            let name = s.name.get_ref().trim().to_owned();
            if name.is_empty() {
                bad(s.name.span().start, "a section name is empty".into());
            } else if sections.iter().any(|o| o.name.eq_ignore_ascii_case(&name))
                || (raw.catch_all.enabled && raw.catch_all.name.eq_ignore_ascii_case(&name))
            {
                bad(
                    s.name.span().start,
                    format!("two sections are named `{name}`"),
                );
            }
            if s.keywords.get_ref().is_empty() {
                bad(
                    s.keywords.span().start,
                    format!("section `{name}` has no keywords"),
                );
            }
            for k in s.keywords.get_ref().iter().chain(&s.exclude) {
                if let Err(e) = crate::digest::Keyword::parse(k.get_ref()) {
                    bad(k.span().start, format!("section `{name}`: {e}"));
                }
            }
            sections.push(SectionSettings {
                name,
                keywords: s
                    .keywords
                    .get_ref()
                    .iter()
                    .map(|k| k.get_ref().clone())
                    .collect(),
                exclude: s.exclude.iter().map(|k| k.get_ref().clone()).collect(),
            });
        }

        // [digest]
        if *raw.digest.max_papers.get_ref() == 0 {
            bad(
                raw.digest.max_papers.span().start,
                "digest.max_papers must be at least 1".into(),
            );
        }
        if *raw.digest.teaser_chars.get_ref() < 40 {
            bad(
                raw.digest.teaser_chars.span().start,
                "digest.teaser_chars must be at least 40".into(),
            );
        }

        // [delivery]
        let d = &raw.delivery;
        let transport = d
            .transport
            .get_ref()
            .parse::<TransportKind>()
            .map_err(|e| bad(d.transport.span().start, format!("delivery.transport: {e}")))
            .ok();
        if let Err(e) = SmtpEndpoint::parse(d.smtp_url.get_ref()) {
            bad(d.smtp_url.span().start, format!("delivery.smtp_url: {e}"));
        }
        if *d.concurrency.get_ref() == 0 || *d.concurrency.get_ref() > 256 {
            bad(
                d.concurrency.span().start,
                "delivery.concurrency must be between 1 and 256".into(),
            );
        }
        let return_path = d.return_path.as_ref().and_then(|r| {
            r.get_ref()
                .parse::<lettre::Address>()
                .map_err(|e| {
                    bad(
                        r.span().start,
                        format!(
                            "delivery.return_path `{}` is not an address: {e}",
                            r.get_ref()
                        ),
                    )
                })
                .ok()
        });
        let retry_deadline = parse_duration(d.retry_deadline.get_ref())
            .map_err(|e| {
                bad(
                    d.retry_deadline.span().start,
                    format!("delivery.retry_deadline: {e}"),
                )
            })
            .unwrap_or_default();
        let tls_ca = d.tls_ca_file.as_ref().and_then(|f| {
            ExtraCas::load(&base_dir.join(f.get_ref()))
                .map_err(|e| bad(f.span().start, format!("delivery.tls_ca_file: {e}")))
                .ok()
        });

        // [schedule]
        let schedule = raw.schedule.as_ref().and_then(|s| {
            let mut ok = true;
            if let Err(e) = crate::schedule::Schedule::parse(s.cron.get_ref(), chrono_tz::UTC) {
                bad(s.cron.span().start, e.to_string());
                ok = false;
            }
            let catch_up = parse_duration(s.catch_up.get_ref())
                .map_err(|e| bad(s.catch_up.span().start, format!("schedule.catch_up: {e}")))
                .ok();
            Some(ScheduleSettings {
                cron: s.cron.get_ref().clone(),
                catch_up: catch_up?,
            })
            .filter(|_| ok)
        });

        if !problems.is_empty() {
            return Err(Problems(problems));
        }
        let (Some(from), Some(base_url), Some(timezone), Some(transport), Some(unsubscribe_mailto)) =
            (from, base_url, timezone, transport, unsubscribe_mailto)
        else {
            unreachable!("every None above recorded a problem");
        };
        Ok(Settings {
            origin,
            path: path.to_owned(),
            newsletter: Newsletter {
                title: n.title.get_ref().trim().to_owned(),
                from,
                reply_to,
                list_id,
                base_url,
                timezone,
                subject,
                more_url,
                unsubscribe_mailto,
            },
            sources,
            sections,
            catch_all: CatchAll {
                enabled: raw.catch_all.enabled,
                name: raw.catch_all.name.clone(),
            },
            digest: DigestSettings {
                max_papers: *raw.digest.max_papers.get_ref() as usize,
                teaser_chars: *raw.digest.teaser_chars.get_ref() as usize,
                repeat_after_days: raw.digest.repeat_after_days,
                max_authors: raw.digest.max_authors.max(1) as usize,
            },
            templates_dir: raw.templates.dir.as_ref().map(|d| base_dir.join(d)),
            subscribers_path: base_dir.join(&raw.subscribers.path),
            delivery: DeliverySettings {
                transport,
                outbox_dir: base_dir.join(&d.outbox_dir),
                smtp_url: d.smtp_url.get_ref().clone(),
                concurrency: *d.concurrency.get_ref() as usize,
                max_per_second: d.max_per_second,
                retries: d.retries,
                return_path,
                timeout: Duration::from_secs(u64::from(d.timeout_secs.max(1))),
                sendmail_command: d.sendmail_command.clone(),
                retry_deadline,
                tls_ca,
            },
            state_dir: base_dir.join(&raw.state.dir),
            schedule,
        })
    }

    /// The SMTP endpoint: `PAPERWIRE_SMTP_URL` overrides `delivery.smtp_url`.
    pub fn smtp_endpoint(&self) -> Result<SmtpEndpoint, ConfigError> {
        let (raw, from_env) = match std::env::var("PAPERWIRE_SMTP_URL") {
            Ok(v) if !v.is_empty() => (v, true),
            _ => (self.delivery.smtp_url.clone(), false),
        };
        SmtpEndpoint::parse(&raw).map_err(|e| {
            let path = if from_env {
                PathBuf::from("PAPERWIRE_SMTP_URL")
            } else {
                self.path.clone()
            };
            ConfigError::Invalid(Problems::one(Location::file(&path), e))
        })
    }

    /// Whether this is the bundled sample rather than a user's file.
    pub fn is_bundled(&self) -> bool {
        self.origin == ConfigOrigin::Bundled
    }

    /// Section names in config order, with the catch-all last when enabled.
    pub fn section_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.sections.iter().map(|s| s.name.as_str()).collect();
        if self.catch_all.enabled {
            names.push(&self.catch_all.name);
        }
        names
    }
}

/// Deserializes the config, collecting every unknown key and wrong value rather than stopping
/// at the first (serde stops there). Each such `key = value` line is blanked out (with spaces,
/// so that later positions stay true) and the text is read again; what is left unreadable
/// after that is the last problem. Returns the settings read from the remaining keys and the
/// problems found on the way; when nothing usable is left, the problems alone.
fn deserialize_all_problems(
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

/// Reads a secret from `NAME`, or from the file named by `NAME_FILE` (systemd credentials).
pub fn secret_from_env(name: &'static str) -> Result<Option<String>, ConfigError> {
    if let Ok(v) = std::env::var(name)
        && !v.is_empty()
    {
        return Ok(Some(v));
    }
    if let Some(path) = std::env::var_os(format!("{name}_FILE")).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        let v = std::fs::read_to_string(&path).map_err(|source| ConfigError::SecretFile {
            name,
            path,
            source,
        })?;
        let v = v.trim_end_matches(['\r', '\n']).to_owned();
        return Ok(Some(v).filter(|v| !v.is_empty()));
    }
    Ok(None)
}

/// `90s`, `30m`, `6h`, `2d` (or a combination like `1h30m`).
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let s = raw.trim();
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
            _ => {
                return Err(format!(
                    "`{raw}` is not a duration (expected e.g. 30m, 6h, 2d)"
                ));
            }
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("`{raw}` is not a duration (expected e.g. 30m, 6h, 2d)"))?;
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
        assert!(s.sections.len() >= 6);
        assert!(s.is_bundled());
    }
}
