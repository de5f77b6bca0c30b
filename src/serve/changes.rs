//! The writes the reader-facing pages make to the subscriber list, behind one small trait.
//!
//! The pages need four things from the list: look one reader up, add a reader who confirmed a
//! signup, apply what a reader set on their preference page, and unsubscribe. They ask
//! [`SubscriberChanges`] for them. [`LogChanges`] answers through the list's change log, with
//! the same [`ChangeWriter`] as the one-click unsubscribe: each change is a typed
//! [`Change`] appended and on disk before the page answers, folded into the file later, and
//! counted by every reader from the moment it is appended — so a page shows a reader's
//! choices as they are, pending changes included ([`crate::subscribers::read`]).
//!
//! An address that unsubscribed comes back only through its own confirmed signup, and only
//! with a confirmation asked for after the unsubscribe: an older confirmation link still in the
//! inbox is [`Confirmed::Stale`] and changes nothing.

use crate::subscribers::counts::MaxPapers;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use crate::exit::Temporary;
use crate::subscribers::links::SignupRequest;
use crate::subscribers::{
    Change, ChangeKind, ChangeWriter, ListView, MailFormat, Profile, Subscriber, SubscriberEmail,
    SubscriberError,
};

/// Why a change could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("the subscriber list could not be read")]
    List(#[from] SubscriberError),
    /// The change log could not be written: nothing was recorded.
    #[error("the change could not be recorded")]
    Log(#[source] std::io::Error),
    /// The blocking task that read the list did not finish (a panic, or a shutdown).
    #[error("the request was interrupted: {reason}")]
    Interrupted {
        reason: String,
        #[source]
        later: Temporary,
    },
}

/// A change in progress.
pub type Pending<T> = Pin<Box<dyn Future<Output = Result<T, ChangeError>> + Send>>;

/// What a confirmed signup did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    /// A new entry.
    Added,
    /// An address that had unsubscribed or bounced is back.
    Resubscribed,
    /// Already subscribed: the signup's topics and format now apply.
    Updated,
    /// Already subscribed with exactly these choices: nothing to record.
    Unchanged,
    /// The address unsubscribed after this signup was asked for: nothing changed.
    Stale,
}

/// What a reader sets on their preference page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    /// Section names; empty = every section.
    pub topics: Vec<String>,
    pub format: MailFormat,
    /// `None`: no cap of their own.
    pub max_papers: Option<MaxPapers>,
    pub paused: bool,
    /// The "For you" fields.
    pub personal: PersonalChoice,
}

/// The personal fields a reader sets on their preference page, checked, each entry as it is
/// written to the list (a liked id without its version or `arXiv:`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonalChoice {
    pub interests: Vec<String>,
    pub authors: Vec<String>,
    pub like: Vec<String>,
    pub mute: Vec<String>,
    /// `None`: the default block size.
    pub for_you: Option<usize>,
}

impl PersonalChoice {
    /// What `subscriber` has now, in the same form.
    pub fn of(subscriber: &Subscriber) -> Self {
        let p = &subscriber.profile;
        Self {
            interests: p.interests.iter().map(|k| k.as_str().to_owned()).collect(),
            authors: p.authors.iter().map(|a| a.as_str().to_owned()).collect(),
            like: p.like.iter().map(|i| i.as_str().to_owned()).collect(),
            mute: p.mute.iter().map(|k| k.as_str().to_owned()).collect(),
            for_you: p.for_you,
        }
    }

    /// Sets on `profile` the fields that differ from `current`.
    fn differences(&self, current: &Self, profile: &mut Profile) {
        let differs =
            |now: &Vec<String>, chosen: &Vec<String>| (now != chosen).then(|| chosen.clone());
        profile.interests = differs(&current.interests, &self.interests);
        profile.authors = differs(&current.authors, &self.authors);
        profile.like = differs(&current.like, &self.like);
        profile.mute = differs(&current.mute, &self.mute);
        profile.for_you = (current.for_you != self.for_you).then_some(self.for_you);
    }
}

/// What an unsubscribe from the preference page did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsubscribed {
    /// Recorded now.
    Now,
    /// The address had already unsubscribed; nothing recorded.
    Already,
}

/// The subscriber list as the reader-facing pages change it.
pub trait SubscriberChanges: Send + Sync {
    /// The entry for `email` (ignoring case) as every reader sees it, changes not yet folded
    /// into the file included; unsubscribed or not. `None` when it is not on the list.
    fn lookup(&self, email: &SubscriberEmail) -> Pending<Option<Subscriber>>;
    /// Adds (or takes back) the reader of a confirmed signup; idempotent.
    fn add_confirmed(&self, request: &SignupRequest) -> Pending<Confirmed>;
    /// Applies a preference page's choices to `current` (as [`Self::lookup`] found it);
    /// whether anything changed.
    fn update_preferences(&self, current: &Subscriber, choice: &Preferences) -> Pending<bool>;
    /// Unsubscribes `current` (as [`Self::lookup`] found it); idempotent.
    fn unsubscribe(&self, current: &Subscriber) -> Pending<Unsubscribed>;
}

/// [`SubscriberChanges`] through the list's change log: reads with
/// [`crate::subscribers::read`] on a blocking thread, writes with a [`ChangeWriter`] (give it
/// the server's one, see [`super::router_with`]).
#[derive(Debug, Clone)]
pub struct LogChanges {
    writer: ChangeWriter,
    list: PathBuf,
    /// The config's section names, in order: what topics may name.
    sections: Vec<String>,
    /// One read of the list at a time, shared by the requests waiting for it.
    reads: std::sync::Arc<super::reads::SharedReads<ListView>>,
}

impl LogChanges {
    /// Changes to the list at `list`, appended through `writer` (a writer of that list's log).
    pub fn new(writer: ChangeWriter, list: impl Into<PathBuf>, sections: &[&str]) -> Self {
        Self {
            writer,
            list: list.into(),
            sections: sections.iter().map(|s| (*s).to_owned()).collect(),
            reads: std::sync::Arc::default(),
        }
    }

    /// The list as every reader sees it, read on a blocking thread (one read at a time, shared
    /// by the requests waiting for it: [`super::reads`]); a list that does not exist yet is
    /// empty (the first confirmed signup creates it).
    fn view(&self) -> Pending<std::sync::Arc<ListView>> {
        let (list, sections) = (self.list.clone(), self.sections.clone());
        let reads = std::sync::Arc::clone(&self.reads);
        Box::pin(async move {
            reads
                .view(async || {
                    tokio::task::spawn_blocking(move || {
                        let sections: Vec<&str> = sections.iter().map(String::as_str).collect();
                        crate::subscribers::read_or_empty(&list, &sections)
                    })
                    .await
                    .map_err(|e| ChangeError::Interrupted {
                        reason: e.to_string(),
                        later: Temporary,
                    })?
                    .map_err(ChangeError::from)
                })
                .await
        })
    }

    /// How many times the list was read for the pages (for tests).
    pub fn reads(&self) -> usize {
        self.reads.reads()
    }

    /// Appends `kinds` for `email`, in order, each on disk before the next.
    async fn append(
        writer: &ChangeWriter,
        email: &SubscriberEmail,
        kinds: Vec<ChangeKind>,
    ) -> Result<(), ChangeError> {
        let now = chrono::Utc::now();
        for kind in kinds {
            writer
                .append(Change::new(email.clone(), now, kind))
                .await
                .map_err(ChangeError::Log)?;
        }
        Ok(())
    }
}

impl SubscriberChanges for LogChanges {
    fn lookup(&self, email: &SubscriberEmail) -> Pending<Option<Subscriber>> {
        let view = self.view();
        let key = email.key();
        Box::pin(async move {
            let view = view.await?;
            Ok(view
                .subscribers
                .iter()
                .find(|s| s.email.key() == key)
                .cloned())
        })
    }

    fn add_confirmed(&self, request: &SignupRequest) -> Pending<Confirmed> {
        let view = self.view();
        let (writer, request) = (self.writer.clone(), request.clone());
        let sections = self.sections.clone();
        Box::pin(async move {
            let view = view.await?;
            let sections: Vec<&str> = sections.iter().map(String::as_str).collect();
            match confirmation(&view, &request, &sections) {
                Decision::Record(outcome, profile) => {
                    let kinds = vec![ChangeKind::Subscribe(profile)];
                    Self::append(&writer, request.email(), kinds).await?;
                    Ok(outcome)
                }
                Decision::Nothing(outcome) => Ok(outcome),
            }
        })
    }

    fn update_preferences(&self, current: &Subscriber, choice: &Preferences) -> Pending<bool> {
        let kinds = preference_changes(current, choice);
        let (writer, email) = (self.writer.clone(), current.email.clone());
        Box::pin(async move {
            let changed = !kinds.is_empty();
            Self::append(&writer, &email, kinds).await?;
            Ok(changed)
        })
    }

    fn unsubscribe(&self, current: &Subscriber) -> Pending<Unsubscribed> {
        let (writer, email) = (self.writer.clone(), current.email.clone());
        let already = current.unsubscribed_at.is_some();
        Box::pin(async move {
            if already {
                return Ok(Unsubscribed::Already);
            }
            Self::append(&writer, &email, vec![ChangeKind::Unsubscribe]).await?;
            Ok(Unsubscribed::Now)
        })
    }
}

/// What a confirmed signup comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    /// Append a `Subscribe` with this profile.
    Record(Confirmed, Profile),
    /// Append nothing.
    Nothing(Confirmed),
}

/// What confirming `request` does to the list as `view` shows it.
fn confirmation(view: &ListView, request: &SignupRequest, sections: &[&str]) -> Decision {
    let key = request.email().key();
    let asked = request.asked_at();
    let current = view.subscribers.iter().find(|s| s.email.key() == key);
    // An unsubscribe of an address not on the list is kept as a suppression; it counts too.
    let unsubscribed = match current {
        Some(s) => s.unsubscribed_at,
        None => view
            .suppressed
            .iter()
            .find(|c| c.email.key() == key && c.kind == ChangeKind::Unsubscribe)
            .map(|c| c.at),
    };
    if unsubscribed.is_some_and(|at| at > asked) {
        return Decision::Nothing(Confirmed::Stale);
    }
    // Sections may have been renamed since the link was sent: keep those that exist.
    let topics: Vec<String> = request
        .topics()
        .iter()
        .filter(|t| sections.contains(&t.as_str()))
        .cloned()
        .collect();
    let profile = Profile {
        name: request.name().map(str::to_owned),
        topics: Some(topics.clone()),
        format: Some(request.format()),
        ..Profile::default()
    };
    let outcome = match current {
        None if view.suppressed.iter().any(|c| c.email.key() == key) => Confirmed::Resubscribed,
        None => Confirmed::Added,
        Some(s) if s.unsubscribed_at.is_some() || s.bounced_at.is_some() => Confirmed::Resubscribed,
        Some(s) => {
            let same = *s.topics == topics[..]
                && s.format == request.format()
                && request.name().is_none_or(|n| s.name.as_deref() == Some(n));
            if same {
                return Decision::Nothing(Confirmed::Unchanged);
            }
            Confirmed::Updated
        }
    };
    Decision::Record(outcome, profile)
}

/// The changes that take `current` to `choice`: an `Update` of what differs, and a `Pause` or
/// `Unpause` when the box changed (never a `Resume`: only an operator undoes a bounce). None
/// when nothing differs.
fn preference_changes(current: &Subscriber, choice: &Preferences) -> Vec<ChangeKind> {
    let mut profile = Profile::default();
    if *current.topics != choice.topics[..] {
        profile.topics = Some(choice.topics.clone());
    }
    if current.format != choice.format {
        profile.format = Some(choice.format);
    }
    let cap = choice.max_papers.map(MaxPapers::get);
    if current.max_papers != cap {
        // 0 removes the cap.
        profile.max_papers = Some(cap.unwrap_or(0));
    }
    choice
        .personal
        .differences(&PersonalChoice::of(current), &mut profile);
    let mut kinds = Vec::new();
    if profile != Profile::default() {
        kinds.push(ChangeKind::Update(profile));
    }
    match (current.paused, choice.paused) {
        (false, true) => kinds.push(ChangeKind::Pause),
        (true, false) => kinds.push(ChangeKind::Unpause),
        _ => {}
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn email(s: &str) -> SubscriberEmail {
        SubscriberEmail::parse(s).unwrap()
    }

    fn subscriber(address: &str) -> Subscriber {
        Subscriber {
            name: Some("Ada".into()),
            topics: vec!["Graphs".to_owned()].into(),
            format: MailFormat::Html,
            ..Subscriber::new(email(address))
        }
    }

    fn view(subscribers: Vec<Subscriber>, suppressed: Vec<Change>) -> ListView {
        ListView {
            subscribers,
            pending: 0,
            suppressed,
            skipped: Vec::new(),
        }
    }

    fn request(address: &str, topics: &[&str], asked: &str) -> SignupRequest {
        SignupRequest::new(
            email(address),
            None,
            topics.iter().map(|t| (*t).to_owned()).collect(),
            MailFormat::Html,
            at(asked),
        )
    }

    const SECTIONS: &[&str] = &["Graphs", "Vision"];

    #[test]
    fn a_confirmation_asked_for_before_an_unsubscribe_is_stale_a_later_one_comes_back() {
        let mut gone = subscriber("ada@example.org");
        gone.unsubscribed_at = Some(at("2026-12-01T08:00:00Z"));
        let list = view(vec![gone], Vec::new());
        let before = request("Ada@Example.org", &[], "2026-12-01T07:59:59Z");
        assert_eq!(
            confirmation(&list, &before, SECTIONS),
            Decision::Nothing(Confirmed::Stale)
        );
        let after = request(
            "ada@example.org",
            &["Vision", "Cooking"],
            "2026-12-01T08:00:00Z",
        );
        let Decision::Record(Confirmed::Resubscribed, profile) =
            confirmation(&list, &after, SECTIONS)
        else {
            panic!("comes back")
        };
        assert_eq!(profile.topics, Some(vec!["Vision".to_owned()]));
        assert_eq!(profile.name, None, "no name given: the entry's stays");

        // The same for a suppression (an unsubscribe of an address not on the list).
        let suppressed = view(
            Vec::new(),
            vec![Change::new(
                email("ada@example.org"),
                at("2026-12-01T08:00:00Z"),
                ChangeKind::Unsubscribe,
            )],
        );
        assert_eq!(
            confirmation(&suppressed, &before, SECTIONS),
            Decision::Nothing(Confirmed::Stale)
        );
        assert!(matches!(
            confirmation(&suppressed, &after, SECTIONS),
            Decision::Record(Confirmed::Resubscribed, _)
        ));
    }

    #[test]
    fn a_confirmation_adds_updates_or_changes_nothing() {
        let list = view(vec![subscriber("ada@example.org")], Vec::new());
        let new = request("grace@example.org", &[], "2026-12-01T08:00:00Z");
        assert!(matches!(
            confirmation(&list, &new, SECTIONS),
            Decision::Record(Confirmed::Added, _)
        ));
        let same = request("ada@example.org", &["Graphs"], "2026-12-01T08:00:00Z");
        assert_eq!(
            confirmation(&list, &same, SECTIONS),
            Decision::Nothing(Confirmed::Unchanged)
        );
        let other = request("ada@example.org", &["Vision"], "2026-12-01T08:00:00Z");
        assert!(matches!(
            confirmation(&list, &other, SECTIONS),
            Decision::Record(Confirmed::Updated, _)
        ));
        let mut bounced = subscriber("ada@example.org");
        bounced.bounced_at = Some(at("2026-11-01T08:00:00Z"));
        assert!(matches!(
            confirmation(&view(vec![bounced], Vec::new()), &same, SECTIONS),
            Decision::Record(Confirmed::Resubscribed, _)
        ));
    }

    #[test]
    fn preferences_become_an_update_of_what_differs_and_a_pause_or_unpause() {
        let ada = subscriber("ada@example.org");
        let same = Preferences {
            topics: vec!["Graphs".into()],
            format: MailFormat::Html,
            max_papers: None,
            paused: false,
            personal: PersonalChoice::default(),
        };
        assert!(preference_changes(&ada, &same).is_empty());
        let changed = Preferences {
            topics: Vec::new(),
            format: MailFormat::Text,
            max_papers: MaxPapers::new(5).ok(),
            paused: true,
            personal: PersonalChoice::default(),
        };
        assert_eq!(
            preference_changes(&ada, &changed),
            [
                ChangeKind::Update(Profile {
                    name: None,
                    topics: Some(Vec::new()),
                    format: Some(MailFormat::Text),
                    max_papers: Some(5),
                    ..Profile::default()
                }),
                ChangeKind::Pause,
            ]
        );
        let personal = Preferences {
            personal: PersonalChoice {
                interests: vec!["KV cache*".into()],
                for_you: Some(0),
                ..PersonalChoice::default()
            },
            ..same.clone()
        };
        assert_eq!(
            preference_changes(&ada, &personal),
            [ChangeKind::Update(Profile {
                interests: Some(vec!["KV cache*".into()]),
                for_you: Some(Some(0)),
                ..Profile::default()
            })],
            "only what differs"
        );
        let paused = Subscriber {
            paused: true,
            max_papers: Some(5),
            ..ada
        };
        let resumed = Preferences {
            max_papers: None,
            ..same
        };
        assert_eq!(
            preference_changes(&paused, &resumed),
            [
                ChangeKind::Update(Profile {
                    max_papers: Some(0),
                    ..Profile::default()
                }),
                ChangeKind::Unpause,
            ]
        );
    }
}
