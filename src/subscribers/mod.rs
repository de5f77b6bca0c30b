//! The subscriber list: a TOML file that people edit by hand and paperwire edits too.
//!
//! Both kinds of editing must be safe. Loading ([`load`]) checks every entry and reports every
//! problem with its `file:line:col`; edits ([`SubscriberStore`]) go through `toml_edit` so that
//! comments and formatting survive byte for byte, under a sidecar lock with an atomic replace
//! (see [`store`]); [`token`] signs and checks the one-click unsubscribe links.

mod csv_import;
mod document;
mod parse;
pub mod pending;
pub mod store;
pub mod token;

use std::fmt;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::diag::Problems;
use crate::exit::Temporary;

pub use csv_import::{ImportRow, export_csv, parse_import_csv, table};
pub use parse::parse;
pub use store::{AddOptions, AddOutcome, ImportSummary, SubscriberStore, UnsubscribeOutcome};

/// Why a string is not a subscriber address.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubscriberEmailError {
    #[error("`{0}` is not a valid email address")]
    Invalid(String),
    #[error(
        "`{0}` has non-ASCII characters: such addresses need SMTPUTF8, which paperwire does not send yet (use the ASCII form, e.g. the punycode domain)"
    )]
    NotAscii(String),
    #[error("`{0}` has a quoted or spaced local part, which mail servers widely refuse")]
    Quoted(String),
    #[error(
        "`{0}` has no dot in its domain, which is almost always a typo (a missing `.com`, `.org`…); public mail domains have one"
    )]
    DotlessDomain(String),
}

/// Why a string is not a subscriber name: it goes into the To header and the greeting.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.chars().any(char::is_control) {
        Err(format!(
            "the name {name:?} has a line break or another control character"
        ))
    } else {
        Ok(())
    }
}

/// A subscriber's address, checked by lettre's `Address` parser.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SubscriberEmail(String);

impl SubscriberEmail {
    /// An address every SMTP envelope can carry: lettre's `Address` syntax, ASCII only (no
    /// SMTPUTF8), no quoted or spaced local part, and a dot in the domain.
    pub fn parse(raw: &str) -> Result<Self, SubscriberEmailError> {
        let trimmed = raw.trim();
        let address = trimmed
            .parse::<lettre::Address>()
            .map_err(|_| SubscriberEmailError::Invalid(raw.to_owned()))?;
        if !trimmed.is_ascii() {
            return Err(SubscriberEmailError::NotAscii(raw.to_owned()));
        }
        if address.user().contains(['"', ' ', '\t', '\\']) {
            return Err(SubscriberEmailError::Quoted(raw.to_owned()));
        }
        // `bob@example`, `ann@gmail`: typos, not intranet hosts (an address literal such as
        // `[192.0.2.1]` is spelled on purpose).
        let domain = address.domain();
        if !domain.contains('.') && !domain.starts_with('[') {
            return Err(SubscriberEmailError::DotlessDomain(raw.to_owned()));
        }
        Ok(Self(trimmed.to_owned()))
    }
    /// An address as it may already stand on the list, to find its entry (`remove`, `pause`,
    /// `resume`): lettre's syntax only, without the checks [`SubscriberEmail::parse`] makes of a
    /// new address, so that an entry the list check flags (`bob@example`, a typo) can still be
    /// taken off the list with the command line.
    pub fn on_the_list(raw: &str) -> Result<Self, SubscriberEmailError> {
        let trimmed = raw.trim();
        trimmed
            .parse::<lettre::Address>()
            .map_err(|_| SubscriberEmailError::Invalid(raw.to_owned()))?;
        Ok(Self(trimmed.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The address for comparisons and tokens: lowercased.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
    pub fn address(&self) -> lettre::Address {
        self.0.parse().expect("checked at parse")
    }
}

impl TryFrom<String> for SubscriberEmail {
    type Error = SubscriberEmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<SubscriberEmail> for String {
    fn from(e: SubscriberEmail) -> Self {
        e.0
    }
}
impl fmt::Display for SubscriberEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of message a subscriber gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailFormat {
    /// multipart/alternative: text, then HTML.
    #[default]
    Html,
    /// text/plain only.
    Text,
}

impl MailFormat {
    /// The spelling used in `subscribers.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Html => "html",
            Self::Text => "text",
        }
    }
}

impl std::str::FromStr for MailFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "html" => Ok(Self::Html),
            "text" => Ok(Self::Text),
            other => Err(format!(
                "unknown format `{other}` (expected \"html\" or \"text\")"
            )),
        }
    }
}

/// One subscriber, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscriber {
    pub email: SubscriberEmail,
    pub name: Option<String>,
    /// Section names; empty = every section.
    pub topics: Vec<String>,
    pub format: MailFormat,
    pub max_papers: Option<usize>,
    pub paused: bool,
    pub since: Option<chrono::NaiveDate>,
    pub unsubscribed_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Subscriber {
    /// Gets mail: neither paused nor unsubscribed.
    pub fn is_active(&self) -> bool {
        !self.paused && self.unsubscribed_at.is_none()
    }
}

/// A person to add, as given on the command line or in an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscriber {
    pub email: SubscriberEmail,
    pub name: Option<String>,
    /// Section names; empty = every section.
    pub topics: Vec<String>,
    /// Written only when given.
    pub format: Option<MailFormat>,
    pub max_papers: Option<NonZeroUsize>,
    /// Written only when true (an import of an exported paused subscriber).
    pub paused: bool,
}

impl NewSubscriber {
    pub fn new(email: SubscriberEmail) -> Self {
        Self {
            email,
            name: None,
            topics: Vec::new(),
            format: None,
            max_papers: None,
            paused: false,
        }
    }
}

/// Why the subscriber list could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum SubscriberError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the subscriber list {path} does not exist (create it, or add someone with `paperwire subscribers add EMAIL`)"
    )]
    Missing { path: PathBuf },
    #[error("{0}")]
    Invalid(Problems),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{lock_path} is held by another paperwire process; gave up after {:.0?}",
        waited
    )]
    LockTimeout {
        lock_path: PathBuf,
        waited: Duration,
        #[source]
        later: Temporary,
    },
    #[error("{path} kept changing while paperwire tried to update it; nothing was written")]
    KeptChanging {
        path: PathBuf,
        #[source]
        later: Temporary,
    },
    #[error("{email} is already subscribed ({path}:{line})")]
    AlreadySubscribed {
        email: SubscriberEmail,
        path: PathBuf,
        line: usize,
    },
    #[error(
        "{email} unsubscribed at {at}; they are not added back unless they ask to (pass --resubscribe)"
    )]
    Unsubscribed { email: SubscriberEmail, at: String },
    #[error(
        "{email} unsubscribed at {at}; the entry stays so that no import adds them back (pass --forget to erase it anyway)"
    )]
    KeepUnsubscribed { email: SubscriberEmail, at: String },
    #[error("{0}")]
    BadName(String),
    #[error("{email} is not in {path}")]
    NotFound {
        email: SubscriberEmail,
        path: PathBuf,
    },
    #[error("unknown topic `{topic}`; the sections are: {}", known.join(", "))]
    UnknownTopic { topic: String, known: Vec<String> },
    #[error("{path}: {message}")]
    Unsupported { path: PathBuf, message: String },
}

/// Loads and checks the list: every problem (bad address, duplicate ignoring case, a topic that
/// is not one of `sections`, wrong type, unknown key) with its file:line:col.
pub fn load(path: &Path, sections: &[&str]) -> Result<Vec<Subscriber>, SubscriberError> {
    let text = read_list(path)?.ok_or_else(|| SubscriberError::Missing {
        path: path.to_owned(),
    })?;
    let mut list = parse(&text, path, sections).map_err(SubscriberError::Invalid)?;
    // Unsubscribes that could not be written into the file yet still count.
    let pending = pending::read(path);
    if !pending.is_empty() {
        for s in &mut list {
            if s.unsubscribed_at.is_none()
                && let Some(at) = pending.get(&s.email.key())
            {
                s.unsubscribed_at = Some(*at);
            }
        }
    }
    Ok(list)
}

/// The list's text, `None` when the file does not exist.
fn read_list(path: &Path) -> Result<Option<String>, SubscriberError> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| SubscriberError::Read {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SubscriberError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}
