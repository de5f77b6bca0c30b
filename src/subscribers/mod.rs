//! The subscriber list: a TOML file that people edit by hand and paperwire edits too.
//!
//! Both kinds of editing must be safe, and cheap at a million people. Loading ([`load`])
//! checks every entry and reports every problem with its `file:line:col`; edits
//! ([`SubscriberStore`]) change only the bytes of the entries they are about (`splice`), so
//! comments and formatting survive byte for byte, under a sidecar lock with an atomic replace
//! (see [`store`]). Changes that must not wait for a rewrite — one-click unsubscribes, and the
//! signups, preferences and bounces to come — go to a durable change log ([`log`], [`changes`])
//! that every reader applies and every edit folds in; [`token`] signs and checks the one-click
//! unsubscribe links, [`links`] the links to a reader's own pages
//! (preferences, signup confirmation).

pub mod changes;
pub mod counts;
mod csv_import;
mod fingerprint;
mod folder;
pub mod links;
mod locate;
pub mod log;
mod parse;
pub mod personal;
mod plain;
mod splice;
pub mod store;
pub mod token;
mod unsubscribed;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::diag::{Problem, Problems};
use crate::digest::personal::Profile as PersonalProfile;
use crate::exit::Temporary;

pub use changes::{Change, ChangeKind, Profile};
pub use csv_import::{ImportRow, export_csv, parse_import_csv, table};
pub use folder::FoldPolicy;
pub use log::{ChangeLog, ChangeWriter};
pub use parse::{check_topic, parse};
pub use store::{
    AddOptions, AddOutcome, FoldSummary, ImportSummary, ResumeOutcome, SubscriberStore,
    UnsubscribeOutcome,
};

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

/// A subscriber's section names; empty = every section. Shared by everyone who chose the same
/// ones (a list of a million people holds a few hundred distinct choices).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Topics(std::sync::Arc<[String]>);

impl std::ops::Deref for Topics {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl From<Vec<String>> for Topics {
    fn from(topics: Vec<String>) -> Self {
        Self(topics.into())
    }
}

impl<T: AsRef<str>, const N: usize> PartialEq<[T; N]> for Topics {
    fn eq(&self, other: &[T; N]) -> bool {
        self.len() == N && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl Serialize for Topics {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// One subscriber, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscriber {
    pub email: SubscriberEmail,
    pub name: Option<String>,
    /// Section names; empty = every section.
    pub topics: Topics,
    pub format: MailFormat,
    pub max_papers: Option<usize>,
    pub paused: bool,
    pub since: Option<chrono::NaiveDate>,
    pub unsubscribed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Set by bounce handling: no mail while set.
    pub bounced_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `interests`, `authors`, `like`, `mute`, `for_you`.
    #[serde(flatten)]
    pub profile: Personal,
}

/// A reader's personal fields ([`PersonalProfile`]), held out of line: most readers have none,
/// and a million entries that each carried five empty fields inline would hold a hundred
/// megabytes of nothing. Reads as the profile (empty when none); the first write makes room.
#[derive(Debug, Clone, Default)]
pub struct Personal(Option<Box<PersonalProfile>>);

static NO_PROFILE: PersonalProfile = PersonalProfile {
    interests: Vec::new(),
    authors: Vec::new(),
    like: Vec::new(),
    mute: Vec::new(),
    for_you: None,
};

impl Personal {
    pub fn new(profile: PersonalProfile) -> Self {
        Self((!profile.is_empty()).then(|| Box::new(profile)))
    }
}

impl From<PersonalProfile> for Personal {
    fn from(profile: PersonalProfile) -> Self {
        Self::new(profile)
    }
}

impl std::ops::Deref for Personal {
    type Target = PersonalProfile;

    fn deref(&self) -> &PersonalProfile {
        self.0.as_deref().unwrap_or(&NO_PROFILE)
    }
}

impl std::ops::DerefMut for Personal {
    fn deref_mut(&mut self) -> &mut PersonalProfile {
        self.0.get_or_insert_default()
    }
}

impl PartialEq for Personal {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Personal {}

impl Serialize for Personal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl Subscriber {
    /// An entry with nothing but its address.
    pub fn new(email: SubscriberEmail) -> Self {
        Self {
            email,
            name: None,
            topics: Topics::default(),
            format: MailFormat::default(),
            max_papers: None,
            paused: false,
            since: None,
            unsubscribed_at: None,
            bounced_at: None,
            profile: Personal::default(),
        }
    }

    /// Gets mail: not paused, unsubscribed or bounced.
    pub fn is_active(&self) -> bool {
        !self.paused && self.unsubscribed_at.is_none() && self.bounced_at.is_none()
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
    pub max_papers: Option<counts::MaxPapers>,
    /// Written only when true (an import of an exported paused subscriber).
    pub paused: bool,
    /// Written only when set.
    pub profile: PersonalProfile,
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
            profile: PersonalProfile::default(),
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
        "{email} bounced at {at} (mail to it failed too often); after checking the address, pass --resubscribe, or run `paperwire subscribers resume {email}`"
    )]
    Bounced { email: SubscriberEmail, at: String },
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

/// The list as every reader sees it: the file, with the change log's pending changes applied.
#[derive(Debug)]
pub struct ListView {
    pub subscribers: Vec<Subscriber>,
    /// Changes in the log that are not in the file yet (they count already).
    pub pending: usize,
    /// Unsubscribes and bounces of addresses that are not on the list, kept so that no mail
    /// goes there and no import brings them back.
    pub suppressed: Vec<Change>,
    /// Change-log lines that could not be read, and were skipped.
    pub skipped: Vec<Problem>,
}

/// How long a reader waits before reading again a list that did not parse and changed just
/// now (an editor may be writing it in place).
const REREAD_AFTER: Duration = Duration::from_millis(300);

/// Whether the file changed in the last two seconds.
fn recently_modified(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < Duration::from_secs(2))
}

/// Loads and checks the list: every problem (bad address, duplicate ignoring case, a topic that
/// is not one of `sections`, wrong type, unknown key) with its file:line:col. Changes still in
/// the change log count (unreadable log lines are skipped with a warning).
pub fn load(path: &Path, sections: &[&str]) -> Result<Vec<Subscriber>, SubscriberError> {
    let view = read(path, sections)?;
    for problem in &view.skipped {
        tracing::warn!("{problem}");
    }
    Ok(view.subscribers)
}

/// [`load`], with what the change log holds besides.
pub fn read(path: &Path, sections: &[&str]) -> Result<ListView, SubscriberError> {
    read_view(path, sections, false)
}

/// [`read`], reading a list that does not exist yet as an empty one: a server's first
/// confirmed signup is in the change log before a fold creates the file.
pub fn read_or_empty(path: &Path, sections: &[&str]) -> Result<ListView, SubscriberError> {
    read_view(path, sections, true)
}

fn read_view(
    path: &Path,
    sections: &[&str],
    missing_is_empty: bool,
) -> Result<ListView, SubscriberError> {
    let log = ChangeLog::beside(path);
    let mut reread_once = true;
    loop {
        let snapshot = log.snapshot().map_err(|source| SubscriberError::Read {
            path: log.path().to_owned(),
            source,
        })?;
        let record = unsubscribed::Unsubscribed::beside(path);
        let records = record.read().map_err(|source| SubscriberError::Read {
            path: record.path().to_owned(),
            source,
        })?;
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && missing_is_empty => {
                return Ok(pending_view(Vec::new(), snapshot, records, None, sections));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SubscriberError::Missing {
                    path: path.to_owned(),
                });
            }
            Err(source) => {
                return Err(SubscriberError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let meta = file.metadata().map_err(|source| SubscriberError::Read {
            path: path.to_owned(),
            source,
        })?;
        let id = Some(log::FileId::of(&meta));
        let subscribers = match parse::parse_file(&mut file, meta.len(), path, sections) {
            Ok(list) => list,
            Err(SubscriberError::Invalid(_)) if reread_once && recently_modified(path) => {
                reread_once = false;
                std::thread::sleep(REREAD_AFTER);
                continue;
            }
            Err(e) => return Err(e),
        };
        return Ok(pending_view(subscribers, snapshot, records, id, sections));
    }
}

/// The list read from the file whose id is `id` (`None`: no file), with the log's pending
/// changes applied.
fn pending_view(
    mut subscribers: Vec<Subscriber>,
    snapshot: log::Snapshot,
    records: unsubscribed::Records,
    id: Option<log::FileId>,
    sections: &[&str],
) -> ListView {
    unsubscribed::apply(&mut subscribers, &records);
    let pending = snapshot.pending(id);
    let changes: Vec<&Change> = pending.iter().map(|l| &l.change).collect();
    let suppressed = changes::apply_to_list(&mut subscribers, &changes, sections);
    let pending = pending.len();
    ListView {
        subscribers,
        pending,
        suppressed,
        skipped: snapshot.skipped,
    }
}

/// The list's bytes and which file they were read from; `None` when it does not exist. See
/// [`list_text`].
fn read_list_with_id(
    path: &Path,
) -> Result<(Option<Vec<u8>>, Option<log::FileId>), SubscriberError> {
    use std::io::Read;
    let read_error = |source| SubscriberError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((None, None)),
        Err(e) => return Err(read_error(e)),
    };
    let meta = file.metadata().map_err(read_error)?;
    let id = log::FileId::of(&meta);
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(read_error)?;
    Ok((Some(bytes), Some(id)))
}

/// The list's bytes as text: checked with SIMD (`std`'s check takes several times as long
/// over a list of a million people, and an edit waits for it before anything else).
fn list_text<'b>(path: &Path, bytes: &'b [u8]) -> Result<&'b str, SubscriberError> {
    simdutf8::basic::from_utf8(bytes).map_err(|_| SubscriberError::Read {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader without personal fields pays one pointer for them; reading them gives empty
    /// fields, writing makes room, and an emptied profile equals none.
    #[test]
    fn personal_fields_are_held_out_of_line() {
        assert_eq!(
            std::mem::size_of::<Personal>(),
            std::mem::size_of::<usize>()
        );
        let mut s = Subscriber::new(SubscriberEmail::parse("ada@example.org").unwrap());
        assert!(s.profile.is_empty() && !s.profile.is_personal());
        assert_eq!(serde_json::to_value(&s).unwrap().get("interests"), None);
        s.profile.for_you = Some(3);
        assert_eq!(serde_json::to_value(&s).unwrap()["for_you"], 3);
        s.profile.for_you = None;
        assert_eq!(s, Subscriber::new(s.email.clone()));
        assert_eq!(Personal::new(PersonalProfile::default()).0, None);
    }
}
